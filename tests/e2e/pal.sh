#!/usr/bin/env bash
# End-to-end check of the enclave runtimes as shipped: the release .so files from
# `cargo build --release --workspace` are driven by a C caller (tests/c-pal/caller.c) exactly as a
# C runtime would call them, and their exported symbol sets are checked per PAL API version.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
REL="${CARGO_TARGET_DIR:-$ROOT/target}/release"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }

for so in libpal_skeleton_v1.so libpal_skeleton_v2.so libpal_skeleton_v3.so libpal_sample_libos.so; do
    if [ ! -f "$REL/$so" ]; then
        echo "missing $REL/$so: run cargo build --release --workspace first"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

if ! ${CC:-cc} -O2 -Wall -Werror -o "$WORK/caller" "$ROOT/tests/c-pal/caller.c" -ldl; then
    echo "0 passed, 1 failed"
    exit 1
fi

expect_syms() { # so expected-symbols...
    local so="$1"; shift
    local got want
    got="$(nm -D --defined-only "$REL/$so" | awk '$3 ~ /^pal_/ {print $3}' | sort | tr '\n' ' ')"
    want="$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
    if [ "$got" = "$want" ]; then ok "$so exports: $want"; else bad "$so exports" "got:  $got
want: $want"; fi
}
expect_syms libpal_skeleton_v1.so pal_init pal_exec pal_destroy
expect_syms libpal_skeleton_v2.so pal_get_version pal_init pal_create_process pal_exec pal_kill pal_destroy
expect_syms libpal_skeleton_v3.so pal_get_version pal_init pal_create_process pal_exec pal_kill pal_destroy pal_get_local_report
expect_syms libpal_sample_libos.so pal_get_version pal_init pal_create_process pal_exec pal_kill pal_destroy pal_get_local_report

for v in 1 2 3; do
    out="$("$WORK/caller" "$REL/libpal_skeleton_v$v.so" "" /bin/payload </dev/null 2>&1)"
    if printf '%s\n' "$out" | grep -qx "version=$v" && printf '%s\n' "$out" | grep -qx "Hello Inclavare Containers!" \
        && printf '%s\n' "$out" | grep -qx "exit=0"; then
        ok "skeleton v$v says hello through the C caller"
    else
        bad "skeleton v$v through the C caller" "$out"
    fi
    out="$("$WORK/caller" "$REL/libpal_skeleton_v$v.so" "bogus-option" /bin/payload </dev/null 2>&1)"
    if printf '%s\n' "$out" | grep -qx "error: pal_init -22"; then ok "skeleton v$v: bad runtime args fail pal_init with -EINVAL"; else bad "skeleton v$v bad args" "$out"; fi
done

out="$("$WORK/caller" "$REL/libpal_sample_libos.so" "" /bin/sh -c 'echo "[$1] [$CALLER_ENV]"; exit 6' sh "two words" </dev/null 2>&1)"
if printf '%s\n' "$out" | grep -qx "\[two words\] \[from c caller\]" && printf '%s\n' "$out" | grep -qx "exit=6" \
    && printf '%s\n' "$out" | grep -q "^report_len=[0-9]"; then
    ok "sample-libos runs /bin/sh with args/env, propagates exit 6, reports evidence"
else
    bad "sample-libos through the C caller" "$out"
fi

out="$("$WORK/caller" "$REL/libpal_sample_libos.so" "" /no/such/binary </dev/null 2>&1)"
if printf '%s\n' "$out" | grep -qx "error: pal_create_process -2"; then ok "sample-libos: missing payload is -ENOENT"; else bad "sample-libos missing payload" "$out"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
