#!/usr/bin/env bash
# Runs the opencontainers/runtime-tools validation suite against rune, runc and crun and prints
# ok / not ok / skip counts per runtime. Not part of `make test` (the suite is not vendored and
# takes a while). Usage:
#   RUNTIME_TOOLS=/path/to/runtime-tools scripts/conformance.sh [rune runc crun]
# The checkout must be built first (Debian's Go 1.19; commit 260e151 is the last that builds):
#   cd $RUNTIME_TOOLS && GOFLAGS=-mod=vendor GOPROXY=off make runtimetest validation-executables
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/e2e/lib.sh
RT_DIR=${RUNTIME_TOOLS:?set RUNTIME_TOOLS to a built runtime-tools checkout}
RUNTIMES=("$@"); [ ${#RUNTIMES[@]} -gt 0 ] || RUNTIMES=(rune runc crun)
OUT=${OUT:-/tmp/conformance}; mkdir -p "$OUT"
trap host_restore EXIT
host_prepare
cd "$RT_DIR"
for rt in "${RUNTIMES[@]}"; do
  case $rt in rune) bin=$BIN/rune ;; *) bin=$(command -v "$rt") ;; esac
  : > "$OUT/$rt.tap"
  for t in $(find validation -name '*.t' | sort); do
    echo "# $t" >> "$OUT/$rt.tap"
    RUNTIME=$bin timeout 120 "$t" >> "$OUT/$rt.tap" 2>>"$OUT/$rt.err" || echo "not ok - $t exited $?" >> "$OUT/$rt.tap"
  done
  okn=$(grep -E '^ok ' "$OUT/$rt.tap" | grep -vc '# SKIP')
  skip=$(grep -E '^ok ' "$OUT/$rt.tap" | grep -c '# SKIP')
  nok=$(grep -cE '^not ok' "$OUT/$rt.tap")
  echo "$rt: $okn ok, $nok not ok, $skip skipped   (details: $OUT/$rt.tap)"
done
