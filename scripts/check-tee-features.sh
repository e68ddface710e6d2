#!/usr/bin/env bash
# Each TEE family of the `tee` crate builds on its own: `tee` with no features, with each single
# feature, and with all of them, lib and tests, clippy-clean (-D warnings). Run by `make lint`.
# A feature that leans on code gated by another one fails here instead of in a downstream crate
# (runtimes/sample-libos, rats-tls) that enables only what it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
PROFILE=${PROFILE:-release}
# The features are read from crates/tee/Cargo.toml, so a new family is checked without editing this.
features=$(sed -n '/^\[features\]/,/^\[/p' crates/tee/Cargo.toml | sed -n 's/^\([a-z0-9-]*\) = \[.*/\1/p' | grep -v '^default$')
[ -n "$features" ] || { echo "check-tee-features: no features found in crates/tee/Cargo.toml" >&2; exit 1; }
fail=0
for f in "" $features; do
    if $CARGO clippy --quiet --profile "$PROFILE" -p tee --no-default-features --features "$f" --all-targets -- -D warnings; then
        echo "tee --features '${f:-(none)}': ok"
    else
        echo "tee --features '${f:-(none)}': FAILED"
        fail=1
    fi
done
exit $fail
