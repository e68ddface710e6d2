#!/usr/bin/env bash
# Demo: start the KBS with embedded defaults on a temp data dir, admin-set a secret, allow the
# software TEE through an explicit resource policy (the KBS itself was started with the explicit
# --danger-accept-software-tee opt-in), fetch the secret with the client through the full RCAR flow,
# print it, stop the server.
set -eu
BIN=${CARGO_TARGET_DIR:-target}/release
[ -x "$BIN/kbs" ] && [ -x "$BIN/kbs-client" ] || cargo build --release -p kbs -p kbs-client
export RUST_BACKTRACE=0
D=$(mktemp -d /tmp/kbs-demo.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
PORT=${KBS_DEMO_PORT:-18443}
"$BIN/kbs-client" gen-admin-key --out "$D/admin" >/dev/null
"$BIN/kbs" --data-dir "$D/data" --listen 127.0.0.1:$PORT --danger-accept-software-tee --admin-key "admin=$D/admin.pub" 2>"$D/kbs.log" &
PID=$!
for _ in $(seq 1 100); do curl -sk --max-time 1 https://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.05; done
C=(--url https://127.0.0.1:$PORT --cert "$D/data/tls-cert.pem")
echo "+ kbs-client set-resource default/key/1"
"$BIN/kbs-client" set-resource "${C[@]}" --admin-key "$D/admin.key" default/key/1 --value "demo secret: $(date -u +%FT%TZ)"
cat >"$D/allow-sample.rego" <<'REGO'
package policy
import rego.v1
# Development only: release resources to the software TEE (no hardware isolation).
default allow := false
allow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample
REGO
echo "+ kbs-client set-resource-policy (allow the sample TEE)"
"$BIN/kbs-client" set-resource-policy "${C[@]}" --admin-key "$D/admin.key" "$D/allow-sample.rego"
echo "+ kbs-client get-resource --danger-software-tee kbs:///default/key/1 (no TEE here: the software TEE, development only)"
SECRET=$("$BIN/kbs-client" get-resource "${C[@]}" --danger-software-tee kbs:///default/key/1)
echo "secret: $SECRET"
