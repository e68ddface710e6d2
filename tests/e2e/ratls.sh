#!/usr/bin/env bash
# RA-TLS end to end: the real rats-tls-server/-client, inclavared, shelter and verdictd over loopback
# TCP and unix sockets. Evidence comes from the software TEE, opted in explicitly on every verifier
# (-v sample / --verifier sample): it has no hardware root of trust.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${CARGO_TARGET_DIR:-target}/release"
for b in rats-tls-server rats-tls-client inclavared shelter verdictd; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b (cargo build --release -p rats-tls -p eaa)"; echo "0 passed, 1 failed"; exit 1; }
done
T=$(mktemp -d /tmp/ratls-e2e.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | tail -15; }
# A free port in a range unlikely to collide with other suites.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_tcp() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_unix() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
start() { local log=$1; shift; "$@" >"$log" 2>&1 & PIDS+=($!); }

# 1. software-TEE server, client verifying it (echo checked by the client)
P=$(port); start "$T/s1.log" "$BIN/rats-tls-server" -a sample -p "$P"; wait_tcp "$P"
if "$BIN/rats-tls-client" -v sample -p "$P" >"$T/c1.log" 2>&1 && grep -q "custom_claims\[0\] -> name: 'key_0'" "$T/c1.log" \
   && grep -q 'tee=sample hardware=false' "$T/c1.log"; then ok "sample evidence verified, claims and echo"; else ko "sample evidence verified" "$T/c1.log"; fi

# 2. the same server refused by a client that did not opt in to the software TEE
if "$BIN/rats-tls-client" -p "$P" >"$T/c2.log" 2>&1; then ko "software TEE refused by default" "$T/c2.log"
elif grep -q 'no verifier enabled for evidence with CBOR tag 0x1a75ff' "$T/c2.log"; then ok "software TEE refused by default"; else ko "software TEE refused by default (wrong error)" "$T/c2.log"; fi

# 3. null attester server: refused by an evidence-requiring client, accepted by nullverifier
P3=$(port); start "$T/s3.log" "$BIN/rats-tls-server" -a nullattester -p "$P3"; wait_tcp "$P3"
if ! "$BIN/rats-tls-client" -v sample -p "$P3" >"$T/c3.log" 2>&1 && grep -q 'carries no evidence' "$T/c3.log"; then ok "no evidence -> NoEvidence"; else ko "no evidence -> NoEvidence" "$T/c3.log"; fi
if "$BIN/rats-tls-client" -v nullverifier -p "$P3" >"$T/c3b.log" 2>&1; then ok "null attester + nullverifier"; else ko "null attester + nullverifier" "$T/c3b.log"; fi

# 4. mutual: client with evidence accepted; client without evidence refused; server keeps serving
P4=$(port); start "$T/s4.log" "$BIN/rats-tls-server" -a sample -v sample -m -p "$P4"; wait_tcp "$P4"
if "$BIN/rats-tls-client" -a sample -v sample -m -p "$P4" >"$T/c4.log" 2>&1 && grep -q 'tee=sample' "$T/s4.log"; then ok "mutual attestation"; else ko "mutual attestation" "$T/s4.log"; fi
if ! "$BIN/rats-tls-client" -a nullattester -v sample -m -p "$P4" >"$T/c4b.log" 2>&1 && grep -q 'carries no evidence' "$T/s4.log"; then ok "mutual required, client without evidence refused"; else ko "mutual required, client without evidence refused" "$T/s4.log"; fi
if "$BIN/rats-tls-client" -a sample -v sample -m -p "$P4" >"$T/c4c.log" 2>&1; then ok "server still serving after a refused client"; else ko "server still serving after a refused client" "$T/c4c.log"; fi

# 5. garbage instead of a handshake, then a slow client that never speaks; others still served
P5=$(port); start "$T/s5.log" "$BIN/rats-tls-server" -a sample -p "$P5" --timeout-ms 1500; wait_tcp "$P5"
head -c 600 /dev/urandom > "$T/garbage"
python3 - "$P5" "$T/garbage" <<'EOF' >"$T/g.log" 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(open(sys.argv[2], "rb").read())
try:
    print("server answered", len(s.recv(100)), "bytes and closed")
except Exception as e:
    print("closed:", e)
EOF
python3 -c "import socket,time,sys; s=socket.create_connection(('127.0.0.1',$P5)); time.sleep(6)" & SLOW=$!; PIDS+=($SLOW)
sleep 0.3
t0=$(date +%s%N)
if "$BIN/rats-tls-client" -v sample -p "$P5" >"$T/c5.log" 2>&1; then
  ms=$(( ($(date +%s%N) - t0) / 1000000 )); ok "garbage and a stalled client do not block others (${ms} ms)"
else ko "garbage and a stalled client do not block others" "$T/c5.log"; fi
sleep 1.8
if grep -qi 'timed out\|would block\|Resource temporarily' "$T/s5.log"; then ok "stalled client dropped after the timeout"; else ko "stalled client dropped after the timeout" "$T/s5.log"; fi
if kill -0 "${PIDS[-2]}" 2>/dev/null && "$BIN/rats-tls-client" -v sample -p "$P5" >"$T/c5b.log" 2>&1; then ok "server alive after garbage"; else ko "server alive after garbage" "$T/s5.log"; fi

# 6. RSA-3072 ephemeral key
P6=$(port); start "$T/s6.log" "$BIN/rats-tls-server" -a sample --key-algo rsa3072 -p "$P6"; wait_tcp "$P6"
if "$BIN/rats-tls-client" -v sample -p "$P6" >"$T/c6.log" 2>&1; then ok "RSA-3072 certificate"; else ko "RSA-3072 certificate" "$T/c6.log"; fi

# 7. inclavared over a unix socket forwarding to an upstream inclavared on another unix socket; shelter over tcp
start "$T/up.log" "$BIN/inclavared" --listen "unix://$T/up.sock" --attester sample; wait_unix "$T/up.sock"
P7=$(port); start "$T/fw.log" "$BIN/inclavared" --listen "127.0.0.1:$P7" --xfer "unix://$T/up.sock" --attester sample --verifier sample; wait_tcp "$P7"
if "$BIN/shelter" remoteattestation --addr "tcp://127.0.0.1:$P7" --verifier sample >"$T/sh.log" 2>&1 \
   && grep -q '"msgtype": "ENCLAVEINFO"' "$T/sh.log" && grep -Eq '"mrenclave": "[0-9a-f]{96}"' "$T/sh.log"; then ok "shelter -> inclavared(tcp) -> inclavared(unix)"; else ko "shelter -> inclavared -> upstream" "$T/sh.log"; fi
if "$BIN/inclavared" --connect "unix://$T/up.sock" --verifier sample >"$T/ic.log" 2>&1 && grep -q ENCLAVEINFO "$T/ic.log"; then ok "inclavared client mode over unix"; else ko "inclavared client mode" "$T/ic.log"; fi
# forwarder whose upstream is the rats-tls echo server (non-JSON upstream)
P7b=$(port); start "$T/fw2.log" "$BIN/inclavared" --listen "unix://$T/fw2.sock" --xfer "127.0.0.1:$P" --attester sample --verifier sample; wait_unix "$T/fw2.sock"
if "$BIN/shelter" remoteattestation --addr "unix://$T/fw2.sock" --verifier sample >"$T/sh2.log" 2>&1 && grep -q GETENCLAVEINFO "$T/sh2.log"; then ok "inclavared forwarding to an RA-TLS echo server"; else ko "inclavared forwarding to echo server" "$T/sh2.log"; fi
# a forwarder that does not accept the software TEE reports the upstream refusal
P7c=$(port); start "$T/fw3.log" "$BIN/inclavared" --listen "127.0.0.1:$P7c" --xfer "unix://$T/up.sock" --attester sample; wait_tcp "$P7c"
if "$BIN/shelter" remoteattestation --addr "tcp://127.0.0.1:$P7c" --verifier sample >"$T/sh3.log" 2>&1 && grep -q '"msgtype": "ERROR"' "$T/sh3.log" && grep -q '0x1a75ff' "$T/sh3.log"; then ok "forwarder refuses unverifiable upstream"; else ko "forwarder refuses unverifiable upstream" "$T/sh3.log"; fi

# 8. verdictd: policy allow / deny, commands, key provider
"$BIN/verdictd" --store "$T/keys.redb" set-key k1 "$(head -c 32 /dev/zero | tr '\0' '\1' | base64)" >/dev/null
echo '{"mrEnclave":[],"mrSigner":[],"productId":0,"svn":0,"softwareTee":true}' > "$T/ref-allow.json"
start "$T/vd.log" "$BIN/verdictd" --store "$T/keys.redb" serve --listen "unix://$T/vd.sock" --attester sample --verifier sample --reference "$T/ref-allow.json"; wait_unix "$T/vd.sock"
if "$BIN/shelter" request --addr "unix://$T/vd.sock" --attester sample --verifier sample --json '{"command":"version"}' 2>"$T/r1.err" | grep -q '"version":"v1"'; then ok "verdictd version (policy allows sample with softwareTee:true)"; else ko "verdictd version" "$T/r1.err"; fi
if "$BIN/shelter" request --addr "unix://$T/vd.sock" --attester sample --verifier sample --json '{"command":"Get KEK","kids":["k1"]}' 2>/dev/null | grep -q "\"k1\":\"$(head -c 32 /dev/zero | tr '\0' '\1' | base64)\""; then ok "verdictd Get KEK"; else ko "verdictd Get KEK" "$T/vd.log"; fi
W=$("$BIN/shelter" request --addr "unix://$T/vd.sock" --attester sample --verifier sample --json "{\"command\":\"WrapKey\",\"data\":{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"verdictd\":[\"$(printf k1 | base64)\"]}},\"optsdata\":\"$(printf layer-secret | base64)\"}}}" 2>/dev/null)
ANN=$(printf '%s' "$W" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["keywrapresults"]["annotation"])' 2>/dev/null)
U=$("$BIN/shelter" request --addr "unix://$T/vd.sock" --attester sample --verifier sample --json "{\"command\":\"UnWrapKey\",\"data\":{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{},\"annotation\":\"$ANN\"}}}" 2>/dev/null)
if printf '%s' "$U" | grep -q "\"optsdata\":\"$(printf layer-secret | base64)\""; then ok "verdictd WrapKey/UnWrapKey"; else ko "verdictd WrapKey/UnWrapKey: $W $U"; fi
if "$BIN/shelter" request --addr "unix://$T/vd.sock" --attester nullattester --verifier sample --json '{"command":"version"}' >"$T/r2.log" 2>&1; then ko "verdictd refuses client without evidence" "$T/r2.log"; else ok "verdictd refuses client without evidence"; fi
# default reference values (softwareTee false): Rego denies the software TEE -> access_denied
start "$T/vd2.log" "$BIN/verdictd" --store "$T/keys2.redb" serve --listen "unix://$T/vd2.sock" --attester sample --verifier sample; wait_unix "$T/vd2.sock"
if ! "$BIN/shelter" request --addr "unix://$T/vd2.sock" --attester sample --verifier sample --json '{"command":"version"}' >"$T/r3.log" 2>&1 \
   && grep -qi 'AccessDenied' "$T/r3.log" && grep -q 'policy denied' "$T/vd2.log"; then ok "verdictd default policy denies the software TEE"; else ko "verdictd default policy deny" "$T/r3.log"; fi

# 9. mrverify on the recorded enclave (and a tampered copy)
if "$BIN/shelter" mrverify --sgxs tests/data/ratls/sgx/test_enclave.sgxs --sigstruct tests/data/ratls/sgx/test_enclave.sig >"$T/mr.log" 2>&1 && grep -q 'MRENCLAVE matches' "$T/mr.log"; then ok "mrverify recorded enclave"; else ko "mrverify recorded enclave" "$T/mr.log"; fi
cp tests/data/ratls/sgx/test_enclave.sgxs "$T/bad.sgxs"; printf '\x01' | dd of="$T/bad.sgxs" bs=1 seek=400 conv=notrunc 2>/dev/null
if ! "$BIN/shelter" mrverify --sgxs "$T/bad.sgxs" --sigstruct tests/data/ratls/sgx/test_enclave.sig >"$T/mr2.log" 2>&1 && grep -q mismatch "$T/mr2.log"; then ok "mrverify tampered enclave"; else ko "mrverify tampered enclave" "$T/mr2.log"; fi

# 10. hardware-verifier flags of the eaa binaries: --collateral DIR and --at TIME (as tee-cli verify)
unset RUST_BACKTRACE RUST_LIB_BACKTRACE   # the errors are checked to be one line
C=tests/data/tee/dcap
start "$T/upc.log" "$BIN/inclavared" --listen "unix://$T/upc.sock" --attester sample --collateral "$C" --at 2025-06-25T00:00:00Z; wait_unix "$T/upc.sock"
if "$BIN/shelter" remoteattestation --addr "unix://$T/upc.sock" --verifier sample --collateral "$C" --at 1750809600 >"$T/fl1.log" 2>&1 && grep -q ENCLAVEINFO "$T/fl1.log"; then ok "inclavared/shelter accept --collateral and --at (software TEE still needs --verifier sample)"; else ko "--collateral/--at accepted" "$T/fl1.log"; fi
if ! "$BIN/shelter" remoteattestation --addr "unix://$T/upc.sock" --collateral "$C" --at 1750809600 >"$T/fl2.log" 2>&1 && grep -q '0x1a75ff' "$T/fl2.log"; then ok "with collateral but no opt-in the software TEE is refused"; else ko "software TEE refused with --collateral" "$T/fl2.log"; fi
for b in "inclavared --listen unix://$T/never.sock" "shelter remoteattestation --addr unix://$T/upc.sock" "verdictd --store $T/k9.redb serve --listen unix://$T/never2.sock --attester sample"; do
  name=${b%% *}
  if $BIN/$b --collateral "$T/no-such-dir" >"$T/fl3.log" 2>&1; then ko "$name: bad --collateral refused" "$T/fl3.log"
  elif [ "$(wc -l < "$T/fl3.log")" -eq 1 ] && grep -q -- "--collateral: $T/no-such-dir" "$T/fl3.log"; then ok "$name: bad --collateral is a one-line error"; else ko "$name: bad --collateral one-line error" "$T/fl3.log"; fi
  if $BIN/$b --at yesterday >"$T/fl4.log" 2>&1; then ko "$name: bad --at refused" "$T/fl4.log"
  elif [ "$(wc -l < "$T/fl4.log")" -eq 1 ] && grep -q -- '--at "yesterday"' "$T/fl4.log"; then ok "$name: bad --at is a one-line error"; else ko "$name: bad --at one-line error" "$T/fl4.log"; fi
done
mkdir -p "$T/empty-collateral"
if ! "$BIN/inclavared" --listen "unix://$T/never3.sock" --collateral "$T/empty-collateral" >"$T/fl5.log" 2>&1 && [ "$(wc -l < "$T/fl5.log")" -eq 1 ] \
   && grep -q 'no DCAP collateral' "$T/fl5.log"; then ok "a collateral dir without collateral is refused"; else ko "empty collateral dir refused" "$T/fl5.log"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
