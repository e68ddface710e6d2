#!/usr/bin/env bash
# Enclave container launch cost: `rune create` + `rune start` + `rune delete -f` of the same busybox
# bundle as a plain container, as an enclave container on the skeleton v3 PAL, and on the
# sample-libos software TEE (payload /bin/true), measured with hyperfine in one run.
# Goal: enclave <= 1.2x plain (median). This machine is shared: the load average is printed before
# and after, and (with perf) the CPU time of each cycle including the container's processes, which
# load disturbs much less than wall-clock time.
set -euo pipefail
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release
RUNE=$BIN/rune
source "$ROOT_DIR/tests/e2e/lib.sh"   # need_bins
need_bins rune libpal_skeleton_v3.so libpal_sample_libos.so
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 1; }
RUNS=${RUNS:-30}
W=$(mktemp -d /tmp/enclave-bench.XXXXXX)
trap 'for id in $(ls "$W/root" 2>/dev/null); do "$RUNE" --root "$W/root" delete -f "$id" >/dev/null 2>&1; done; rm -rf "$W"' EXIT
bash "$ROOT_DIR/scripts/mk-busybox-bundle.sh" "$W/base" /bin/true >/dev/null
mk() { # NAME ENV_JSON
  mkdir -p "$W/$1"
  jq --argjson e "$2" --arg rf "$W/base/rootfs" '.process.env += $e | .root.path = $rf' "$W/base/config.json" > "$W/$1/config.json"
}
mk plain '[]'
mk skeleton "[\"ENCLAVE_TYPE=sample\",\"ENCLAVE_RUNTIME_PATH=$BIN/libpal_skeleton_v3.so\"]"
mk libos "[\"ENCLAVE_TYPE=sample\",\"ENCLAVE_RUNTIME_PATH=$BIN/libpal_sample_libos.so\"]"
# The PALs stay in the cargo target dir: rune is told to allow it (its default allowlist is
# /usr/lib/rune/pal and /usr/local/lib/rune/pal).
cycle() { echo "$RUNE --root $W/root --pal-dir $BIN create --bundle $W/$1 b-$1 >/dev/null </dev/null && $RUNE --root $W/root start b-$1 && $RUNE --root $W/root delete -f b-$1"; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$W/r.json" \
  -n plain "sh -c '$(cycle plain)'" -n skeleton-v3 "sh -c '$(cycle skeleton)'" -n sample-libos "sh -c '$(cycle libos)'" >&2
jq -r '
  (.results | map({(.command): .median}) | add) as $m
  | "create+start+delete median: plain \($m.plain*1000|floor/1|tostring) ms, skeleton-v3 \($m["skeleton-v3"]*1000|floor) ms, sample-libos \($m["sample-libos"]*1000|floor) ms",
    "ratio skeleton-v3/plain: \(($m["skeleton-v3"]/$m.plain*100|round)/100)  (goal <= 1.2)",
    "ratio sample-libos/plain: \(($m["sample-libos"]/$m.plain*100|round)/100)  (goal <= 1.2)"' "$W/r.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v perf >/dev/null; then
  for n in plain skeleton libos; do
    ms=$(perf stat -x, -e task-clock -r "${CPU_RUNS:-20}" sh -c "$(cycle $n)" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    printf 'cpu time (task-clock, all processes) %s: %s ms\n' "$n" "$ms"
  done
fi
