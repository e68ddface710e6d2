#!/usr/bin/env bash
# Runs every benchmark script under bench/ (each measures ours and the peer in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in bench/*.sh; do
  [ "$(basename "$b")" = run-all.sh ] && continue
  echo "=== $b"; bash "$b"
done
