#!/usr/bin/env bash
# PAL launch latency: ours (crates/pal/examples/pal_run.rs: PalFile open → dlopen via
# /proc/self/fd → pal_init → create_process/exec → pal_destroy) versus the peer, a C caller doing
# the same calls with plain dlopen (tests/c-pal/caller.c; stand-in for the original rune's cgo
# glue, which is not available here). Same PALs, same payload, fresh process per launch, measured
# in the same run. Prints per-launch times and the ratio ours/peer (lower is better; goal <= 1.5).
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
REL="$CARGO_TARGET_DIR/release"
N="${N:-200}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && cargo build --release -q -p pal --examples -p pal-skeleton-v3 -p pal-skeleton-v2)
${CC:-cc} -O2 -o "$WORK/caller" "$ROOT/tests/c-pal/caller.c" -ldl
${CC:-cc} -O2 -shared -fPIC -pthread -DPAL_VERSION=3 -o "$WORK/libtest_pal_v3.so" "$ROOT/tests/c-pal/test_pal.c"

ms_per() { # command... ; prints milliseconds per run over N runs
    local s e
    s=$(date +%s%N)
    for _ in $(seq "$N"); do "$@" >/dev/null 2>&1 </dev/null || true; done
    e=$(date +%s%N)
    echo "scale=3; ($e - $s) / 1000000 / $N" | bc
}

printf '%-28s %10s %10s %7s\n' "PAL" "ours ms" "peer ms" "ratio"
for so in "$REL/libpal_skeleton_v3.so" "$REL/libpal_skeleton_v2.so" "$WORK/libtest_pal_v3.so"; do
    case "$so" in *test_pal*) payload=(c-pal echo hi) ;; *) payload=(/bin/hello) ;; esac
    # Both sides must actually work before they are timed.
    "$REL/examples/pal_run" "$so" -- "${payload[@]}" >/dev/null </dev/null || { echo "ours fails on $so"; exit 1; }
    "$WORK/caller" "$so" "" "${payload[@]}" | grep -q '^exit=0$' || { echo "peer fails on $so"; exit 1; }
    ours=$(ms_per "$REL/examples/pal_run" "$so" -- "${payload[@]}")
    peer=$(ms_per "$WORK/caller" "$so" "" "${payload[@]}")
    ratio=$(echo "scale=2; $ours / $peer" | bc)
    printf '%-28s %10s %10s %7s\n' "$(basename "$so")" "$ours" "$peer" "$ratio"
done
