#!/usr/bin/env bash
# Runs every end-to-end suite under tests/e2e/*.sh against the release binaries.
# Each suite prints "N passed, N failed"; this script sums them and fails if any failed.
# Suites marked with a line "# make-target: test-peers" build large upstream peers (trustee's KBS,
# about 10 minutes cold on 2 cores): `make test` leaves them to `make test-peers`, which runs
# `tests/run-all.sh --peers` (only those suites). CI runs both targets.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=default
[ "${1:-}" = --peers ] && MODE=peers
total_pass=0; total_fail=0; failed_suites=(); skipped=(); elsewhere=()
for s in tests/e2e/*.sh; do
  [ -e "$s" ] || continue
  [ "$(basename "$s")" = lib.sh ] && continue
  if grep -q '^# make-target: test-peers$' "$s"; then
    [ "$MODE" = peers ] || { elsewhere+=("$(basename "$s")"); continue; }
  else
    [ "$MODE" = peers ] && continue
  fi
  echo "=== $s"
  out=$(mktemp)
  bash "$s" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  p=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | awk '{print $1}')
  f=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | awk '{print $3}')
  while IFS= read -r l; do skipped+=("$(basename "$s"): $l"); done < <(grep -E '^SKIPPED' "$out")
  rm -f "$out"
  total_pass=$((total_pass + ${p:-0})); total_fail=$((total_fail + ${f:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$p" ]; then failed_suites+=("$s"); [ "${f:-0}" -eq 0 ] && total_fail=$((total_fail + 1)); fi
done
echo "e2e: $total_pass passed, $total_fail failed"
for l in "${skipped[@]}"; do echo "skipped: $l"; done
[ "${#elsewhere[@]}" -eq 0 ] || echo "run by make test-peers (not this target): ${elsewhere[*]}"
[ "${#failed_suites[@]}" -eq 0 ] || { echo "failed suites: ${failed_suites[*]}"; exit 1; }
