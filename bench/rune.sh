#!/usr/bin/env bash
# rune vs runc vs crun, same machine, same run (hyperfine medians):
#   run:    `<rt> run` of a busybox bundle whose process is /bin/true
#   cycle:  `<rt> create` + `start` + `delete --force`
# Prints medians and the ratios rune/crun and rune/runc. Goal: rune/crun <= 1.0 on both.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/e2e/lib.sh
RUNS=${RUNS:-40}
W=$(mktemp -d /tmp/rune-bench.XXXXXX)
trap 'host_restore; rm -rf "$W"' EXIT
host_prepare   # crun needs every v1 controller mounted on this hybrid host
bash scripts/mk-busybox-bundle.sh "$W/b" /bin/true >/dev/null
jq '.root.readonly = true' "$W/b/config.json" > "$W/c" && mv "$W/c" "$W/b/config.json"
RUNE=$BIN/rune
cat > "$W/cycle.sh" <<'S'
rt=$1; root=$2; b=$3; id=c$$
"$rt" --root "$root" create --bundle "$b" "$id" && "$rt" --root "$root" start "$id" && "$rt" --root "$root" delete --force "$id"
S
declare -A RT=([rune]=$RUNE [runc]=$(command -v runc) [crun]=$(command -v crun))
for n in rune runc crun; do mkdir -p "$W/root-$n"; done
# `run` deletes the container when it exits, so one id per runtime is enough.
run_cmd() { echo "${RT[$1]} --root $W/root-$1 run --bundle $W/b r"; }
hyperfine -N -w 5 -r "$RUNS" --export-json "$W/run.json" --style basic \
  -n rune "$(run_cmd rune)" -n runc "$(run_cmd runc)" -n crun "$(run_cmd crun)" 2>&1 | grep -E "^(Benchmark|  Time)" || true
hyperfine -N -w 5 -r "$RUNS" --export-json "$W/cycle.json" --style basic \
  -n rune "bash $W/cycle.sh ${RT[rune]} $W/root-rune $W/b" \
  -n runc "bash $W/cycle.sh ${RT[runc]} $W/root-runc $W/b" \
  -n crun "bash $W/cycle.sh ${RT[crun]} $W/root-crun $W/b" 2>&1 | grep -E "^(Benchmark|  Time)" || true
python3 - "$W/run.json" "$W/cycle.json" <<'P'
import json, sys
for label, path in (("run /bin/true", sys.argv[1]), ("create+start+delete", sys.argv[2])):
    r = {x["command"]: x["median"] * 1000 for x in json.load(open(path))["results"]}
    print(f"{label:22s} median ms: rune {r['rune']:.1f}  runc {r['runc']:.1f}  crun {r['crun']:.1f}"
          f"   rune/crun {r['rune']/r['crun']:.2f}  rune/runc {r['rune']/r['runc']:.2f}")
P
