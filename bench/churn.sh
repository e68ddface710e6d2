#!/usr/bin/env bash
# The churn and leak test at full length: 10,000 cycles of each kind (create/start/delete, run,
# bad config, create killed mid-way + delete --force), then the host compared with before
# (mounts, cgroups, fds, keyrings, state root, processes). `make test` runs the same suite with
# 100 cycles. CHURN_CYCLES overrides the count.
set -euo pipefail
cd "$(dirname "$0")/.."
CHURN_CYCLES=${CHURN_CYCLES:-10000} bash tests/e2e/churn.sh
