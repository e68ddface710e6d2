#!/usr/bin/env bash
# RA-TLS end to end: the real rats-tls-server/-client, inclavared, shelter and verdictd over loopback
# TCP and unix sockets. Evidence comes from the software TEE, opted in explicitly on every verifier
# (-v sample / --verifier sample, each with --danger-accept-software-tee): it has no hardware root of trust.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${CARGO_TARGET_DIR:-target}/release"
for b in rats-tls-server rats-tls-client inclavared shelter verdictd; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make build, or cargo build --profile release -p rats-tls-tools -p eaa)"; echo "0 passed, 1 failed"; exit 1; }
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
if "$BIN/rats-tls-client" -v sample --danger-accept-software-tee -p "$P" >"$T/c1.log" 2>&1 && grep -q "custom_claims\[0\] -> name: 'key_0'" "$T/c1.log" \
   && grep -q 'tee=sample hardware=false' "$T/c1.log"; then ok "sample evidence verified, claims and echo"; else ko "sample evidence verified" "$T/c1.log"; fi

# 2. the same server refused by a client that did not opt in to the software TEE
if "$BIN/rats-tls-client" -p "$P" >"$T/c2.log" 2>&1; then ko "software TEE refused by default" "$T/c2.log"
elif grep -q 'no verifier enabled for evidence with CBOR tag 0x1a75ff' "$T/c2.log"; then ok "software TEE refused by default"; else ko "software TEE refused by default (wrong error)" "$T/c2.log"; fi

# 3. null attester server: refused by an evidence-requiring client, accepted by nullverifier
P3=$(port); start "$T/s3.log" "$BIN/rats-tls-server" -a nullattester -p "$P3"; wait_tcp "$P3"
if ! "$BIN/rats-tls-client" -v sample --danger-accept-software-tee -p "$P3" >"$T/c3.log" 2>&1 && grep -q 'carries no evidence' "$T/c3.log"; then ok "no evidence -> NoEvidence"; else ko "no evidence -> NoEvidence" "$T/c3.log"; fi
if "$BIN/rats-tls-client" -v nullverifier --danger-accept-without-evidence -p "$P3" >"$T/c3b.log" 2>&1; then ok "null attester + nullverifier"; else ko "null attester + nullverifier" "$T/c3b.log"; fi

# 4. mutual: client with evidence accepted; client without evidence refused; server keeps serving
P4=$(port); start "$T/s4.log" "$BIN/rats-tls-server" -a sample -v sample --danger-accept-software-tee -m -p "$P4"; wait_tcp "$P4"
if "$BIN/rats-tls-client" -a sample -v sample --danger-accept-software-tee -m -p "$P4" >"$T/c4.log" 2>&1 && grep -q 'tee=sample' "$T/s4.log"; then ok "mutual attestation"; else ko "mutual attestation" "$T/s4.log"; fi
if ! "$BIN/rats-tls-client" -a nullattester -v sample --danger-accept-software-tee -m -p "$P4" >"$T/c4b.log" 2>&1 && grep -q 'carries no evidence' "$T/s4.log"; then ok "mutual required, client without evidence refused"; else ko "mutual required, client without evidence refused" "$T/s4.log"; fi
if "$BIN/rats-tls-client" -a sample -v sample --danger-accept-software-tee -m -p "$P4" >"$T/c4c.log" 2>&1; then ok "server still serving after a refused client"; else ko "server still serving after a refused client" "$T/c4c.log"; fi

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
if "$BIN/rats-tls-client" -v sample --danger-accept-software-tee -p "$P5" >"$T/c5.log" 2>&1; then
  ms=$(( ($(date +%s%N) - t0) / 1000000 )); ok "garbage and a stalled client do not block others (${ms} ms)"
else ko "garbage and a stalled client do not block others" "$T/c5.log"; fi
sleep 1.8
if grep -qi 'timed out\|would block\|Resource temporarily' "$T/s5.log"; then ok "stalled client dropped after the timeout"; else ko "stalled client dropped after the timeout" "$T/s5.log"; fi
if kill -0 "${PIDS[-2]}" 2>/dev/null && "$BIN/rats-tls-client" -v sample --danger-accept-software-tee -p "$P5" >"$T/c5b.log" 2>&1; then ok "server alive after garbage"; else ko "server alive after garbage" "$T/s5.log"; fi

# 6. RSA-3072 ephemeral key
P6=$(port); start "$T/s6.log" "$BIN/rats-tls-server" -a sample --key-algo rsa3072 -p "$P6"; wait_tcp "$P6"
if "$BIN/rats-tls-client" -v sample --danger-accept-software-tee -p "$P6" >"$T/c6.log" 2>&1; then ok "RSA-3072 certificate"; else ko "RSA-3072 certificate" "$T/c6.log"; fi

# 7. inclavared over a unix socket forwarding to an upstream inclavared on another unix socket; shelter over tcp
start "$T/up.log" "$BIN/inclavared" --listen "unix://$T/up.sock" --attester sample; wait_unix "$T/up.sock"
P7=$(port); start "$T/fw.log" "$BIN/inclavared" --listen "127.0.0.1:$P7" --xfer "unix://$T/up.sock" --attester sample --verifier sample --danger-accept-software-tee; wait_tcp "$P7"
if "$BIN/shelter" remoteattestation --addr "tcp://127.0.0.1:$P7" --verifier sample --danger-accept-software-tee >"$T/sh.log" 2>&1 \
   && grep -q '"msgtype": "ENCLAVEINFO"' "$T/sh.log" && grep -Eq '"mrenclave": "[0-9a-f]{96}"' "$T/sh.log"; then ok "shelter -> inclavared(tcp) -> inclavared(unix)"; else ko "shelter -> inclavared -> upstream" "$T/sh.log"; fi
# the forwarder reports what it verified of the upstream; the upstream's own answer is marked unverified
if python3 - "$T/sh.log" <<'EOF'
import json, sys
t = open(sys.argv[1]).read()
r = json.loads(t[t.index("\n{") + 1:])
info = r["enclave_info"]
assert info["verified"] is True and info["tee"] == "sample", info
assert "mrenclave" in info["unverified_upstream"], info
assert r["unverified_upstream"] == info["unverified_upstream"], r
EOF
then ok "forwarded upstream claims are marked unverified"; else ko "forwarded upstream claims are marked unverified" "$T/sh.log"; fi
if grep -q '^UNVERIFIED upstream claims' "$T/sh.log"; then ok "shelter prints upstream claims as UNVERIFIED"; else ko "shelter prints upstream claims as UNVERIFIED" "$T/sh.log"; fi
if "$BIN/inclavared" --connect "unix://$T/up.sock" --verifier sample --danger-accept-software-tee >"$T/ic.log" 2>&1 && grep -q ENCLAVEINFO "$T/ic.log"; then ok "inclavared client mode over unix"; else ko "inclavared client mode" "$T/ic.log"; fi
# forwarder whose upstream is the rats-tls echo server (non-JSON upstream)
P7b=$(port); start "$T/fw2.log" "$BIN/inclavared" --listen "unix://$T/fw2.sock" --xfer "127.0.0.1:$P" --attester sample --verifier sample --danger-accept-software-tee; wait_unix "$T/fw2.sock"
if "$BIN/shelter" remoteattestation --addr "unix://$T/fw2.sock" --verifier sample --danger-accept-software-tee >"$T/sh2.log" 2>&1 && grep -q GETENCLAVEINFO "$T/sh2.log"; then ok "inclavared forwarding to an RA-TLS echo server"; else ko "inclavared forwarding to echo server" "$T/sh2.log"; fi
# a forwarder that does not accept the software TEE reports the upstream refusal
P7c=$(port); start "$T/fw3.log" "$BIN/inclavared" --listen "127.0.0.1:$P7c" --xfer "unix://$T/up.sock" --attester sample; wait_tcp "$P7c"
if "$BIN/shelter" remoteattestation --addr "tcp://127.0.0.1:$P7c" --verifier sample --danger-accept-software-tee >"$T/sh3.log" 2>&1 && grep -q '"msgtype": "ERROR"' "$T/sh3.log" && grep -q '0x1a75ff' "$T/sh3.log"; then ok "forwarder refuses unverifiable upstream"; else ko "forwarder refuses unverifiable upstream" "$T/sh3.log"; fi

# 8. verdictd: policy allow / deny, commands, key provider. Reference values name the client: the
# software TEE measures the executable (SHA-384 of shelter), so that is what the operator registers.
"$BIN/verdictd" --store "$T/keys.redb" set-key k1 "$(head -c 32 /dev/zero | tr '\0' '\1' | base64)" >/dev/null
"$BIN/verdictd" --store "$T/keys.redb" set-key k2 "$(head -c 32 /dev/zero | tr '\0' '\2' | base64)" >/dev/null
MS=$(sha384sum "$BIN/shelter" | cut -d' ' -f1)
SH_VD=(--attester sample --verifier sample --danger-accept-software-tee)
# k1 follows the default set (shelter), k2 is bound to another enclave
printf '{"mrEnclave":["%s"],"softwareTee":true,"keys":{"k2":{"mrEnclave":["%s"],"softwareTee":true}}}\n' "$MS" "$(printf '0%.0s' $(seq 96))" > "$T/ref-allow.json"
start "$T/vd.log" "$BIN/verdictd" --store "$T/keys.redb" serve --listen "unix://$T/vd.sock" "${SH_VD[@]}" --reference "$T/ref-allow.json"; wait_unix "$T/vd.sock"
if "$BIN/shelter" request --addr "unix://$T/vd.sock" "${SH_VD[@]}" --json '{"command":"version"}' 2>"$T/r1.err" | grep -q '"version":"v1"'; then ok "verdictd version (reference values name the client, softwareTee:true)"; else ko "verdictd version" "$T/r1.err"; fi
if "$BIN/shelter" request --addr "unix://$T/vd.sock" "${SH_VD[@]}" --json '{"command":"Get KEK","kids":["k1"]}' 2>/dev/null | grep -q "\"k1\":\"$(head -c 32 /dev/zero | tr '\0' '\1' | base64)\""; then ok "verdictd Get KEK"; else ko "verdictd Get KEK" "$T/vd.log"; fi
"$BIN/shelter" request --addr "unix://$T/vd.sock" "${SH_VD[@]}" --json '{"command":"Get KEK","kids":["k2"]}' >"$T/r1b.log" 2>&1
if grep -q '"status":"Fail"' "$T/r1b.log" && grep -q 'k2' "$T/r1b.log" && ! grep -q "$(head -c 32 /dev/zero | tr '\0' '\2' | base64)" "$T/r1b.log"; then ok "verdictd Get KEK refuses a key bound to another enclave"; else ko "verdictd per-key reference" "$T/r1b.log"; fi
W=$("$BIN/shelter" request --addr "unix://$T/vd.sock" "${SH_VD[@]}" --json "{\"command\":\"WrapKey\",\"data\":{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"verdictd\":[\"$(printf k1 | base64)\"]}},\"optsdata\":\"$(printf layer-secret | base64)\"}}}" 2>/dev/null)
ANN=$(printf '%s' "$W" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["keywrapresults"]["annotation"])' 2>/dev/null)
U=$("$BIN/shelter" request --addr "unix://$T/vd.sock" "${SH_VD[@]}" --json "{\"command\":\"UnWrapKey\",\"data\":{\"op\":\"keyunwrap\",\"keyunwrapparams\":{\"dc\":{},\"annotation\":\"$ANN\"}}}" 2>/dev/null)
if printf '%s' "$U" | grep -q "\"optsdata\":\"$(printf layer-secret | base64)\""; then ok "verdictd WrapKey/UnWrapKey"; else ko "verdictd WrapKey/UnWrapKey: $W $U"; fi
if "$BIN/shelter" request --addr "unix://$T/vd.sock" --attester nullattester --verifier sample --danger-accept-software-tee --json '{"command":"version"}' >"$T/r2.log" 2>&1; then ko "verdictd refuses client without evidence" "$T/r2.log"; else ok "verdictd refuses client without evidence"; fi
# no reference values: serve warns on stderr naming --reference, and every client is refused
start "$T/vd2.log" "$BIN/verdictd" --store "$T/keys2.redb" serve --listen "unix://$T/vd2.sock" "${SH_VD[@]}"; wait_unix "$T/vd2.sock"
if grep -q 'WARN.*no reference values.*--reference' "$T/vd2.log"; then ok "verdictd serve without --reference warns naming the flag"; else ko "verdictd serve warns without --reference" "$T/vd2.log"; fi
if ! "$BIN/shelter" request --addr "unix://$T/vd2.sock" "${SH_VD[@]}" --json '{"command":"Get KEK","kids":["k1"]}' >"$T/r3.log" 2>&1 \
   && grep -qi 'AccessDenied' "$T/r3.log" && grep -q 'policy denied' "$T/vd2.log"; then ok "verdictd without reference values refuses Get KEK"; else ko "verdictd without reference values refuses Get KEK" "$T/r3.log"; fi
# empty reference lists match nothing (they used to mean "any measurement")
echo '{"mrEnclave":[],"mrSigner":[],"productId":0,"svn":0,"softwareTee":true}' > "$T/ref-empty.json"
start "$T/vd3.log" "$BIN/verdictd" --store "$T/keys3.redb" serve --listen "unix://$T/vd3.sock" "${SH_VD[@]}" --reference "$T/ref-empty.json"; wait_unix "$T/vd3.sock"
if ! "$BIN/shelter" request --addr "unix://$T/vd3.sock" "${SH_VD[@]}" --json '{"command":"Get KEK","kids":["k1"]}' >"$T/r4.log" 2>&1 \
   && grep -qi 'AccessDenied' "$T/r4.log"; then ok "verdictd: empty reference lists match nothing"; else ko "verdictd: empty reference lists match nothing" "$T/r4.log"; fi
# the key store and its directory are private to verdictd's user
"$BIN/verdictd" --store "$T/vdstore/keys.redb" gen-key k9 >/dev/null 2>&1
expect_mode() { if [ "$(stat -c %a "$2" 2>/dev/null)" = "$3" ]; then ok "$1 ($3)"; else ko "$1: want $3, got $(stat -c %a "$2" 2>&1)"; fi; }
expect_mode "verdictd key store directory mode" "$T/vdstore" 700
expect_mode "verdictd key store file mode" "$T/vdstore/keys.redb" 600

# 9. mrverify on the recorded enclave (and a tampered copy)
if "$BIN/shelter" mrverify --sgxs tests/data/ratls/sgx/test_enclave.sgxs --sigstruct tests/data/ratls/sgx/test_enclave.sig >"$T/mr.log" 2>&1 && grep -q 'MRENCLAVE matches' "$T/mr.log"; then ok "mrverify recorded enclave"; else ko "mrverify recorded enclave" "$T/mr.log"; fi
cp tests/data/ratls/sgx/test_enclave.sgxs "$T/bad.sgxs"; printf '\x01' | dd of="$T/bad.sgxs" bs=1 seek=400 conv=notrunc 2>/dev/null
if ! "$BIN/shelter" mrverify --sgxs "$T/bad.sgxs" --sigstruct tests/data/ratls/sgx/test_enclave.sig >"$T/mr2.log" 2>&1 && grep -q mismatch "$T/mr2.log"; then ok "mrverify tampered enclave"; else ko "mrverify tampered enclave" "$T/mr2.log"; fi

# 10. hardware-verifier flags of the eaa binaries: --collateral DIR and --at TIME (as tee-cli verify)
unset RUST_BACKTRACE RUST_LIB_BACKTRACE   # the errors are checked to be one line
C=tests/data/tee/dcap
start "$T/upc.log" "$BIN/inclavared" --listen "unix://$T/upc.sock" --attester sample --collateral "$C" --at 2025-06-25T00:00:00Z; wait_unix "$T/upc.sock"
if "$BIN/shelter" remoteattestation --addr "unix://$T/upc.sock" --verifier sample --danger-accept-software-tee --collateral "$C" --at 1750809600 >"$T/fl1.log" 2>&1 && grep -q ENCLAVEINFO "$T/fl1.log"; then ok "inclavared/shelter accept --collateral and --at (software TEE still needs --verifier sample --danger-accept-software-tee)"; else ko "--collateral/--at accepted" "$T/fl1.log"; fi
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

# 11. one spelling for insecure opt-ins: the software TEE and the null verifier need their --danger- flag
for b in "rats-tls-client -v sample -p 1" "rats-tls-server -v sample -m -p 1" "inclavared --connect unix://$T/up.sock --verifier sample" \
         "shelter remoteattestation --addr unix://$T/up.sock --verifier sample" "verdictd --store $T/k10.redb serve --listen unix://$T/never4.sock --verifier sample"; do
  if timeout 5 $BIN/$b >"$T/d1.log" 2>&1; then ko "${b%% *} refused without --danger-accept-software-tee" "$T/d1.log"
  elif grep -q -- '--danger-accept-software-tee' "$T/d1.log"; then ok "${b%% *}: sample verifier needs --danger-accept-software-tee"; else ko "${b%% *}: error names --danger-accept-software-tee" "$T/d1.log"; fi
done
if timeout 5 "$BIN/rats-tls-client" -v nullverifier -p "$P3" >"$T/d2.log" 2>&1; then ko "nullverifier refused without --danger-accept-without-evidence" "$T/d2.log"
elif grep -q -- '--danger-accept-without-evidence' "$T/d2.log"; then ok "nullverifier needs --danger-accept-without-evidence"; else ko "nullverifier error names the flag" "$T/d2.log"; fi
for old in "rats-tls-server --insecure-interop-dice-tag 0x1a7504 -p 1" "verdictd --store $T/k11.redb keyprovider-grpc --insecure-keyprovider-grpc-remote"; do
  if timeout 5 $BIN/$old >"$T/d3.log" 2>&1; then ko "old spelling ${old%% *} refused" "$T/d3.log"
  elif grep -q "unexpected argument '--insecure" "$T/d3.log"; then ok "old --insecure- spelling is gone (${old%% *})"; else ko "old --insecure- spelling is gone (${old%% *})" "$T/d3.log"; fi
done

# 12. listen addresses: host:port is never a socket path; only a stale socket is replaced
echo precious > "$T/file.sock"
if "$BIN/inclavared" --listen "$T/file.sock" >"$T/b1.log" 2>&1; then ko "bind refuses a regular file" "$T/b1.log"
elif grep -q 'not a stale socket' "$T/b1.log" && [ "$(cat "$T/file.sock")" = precious ]; then ok "bind refuses to replace a regular file (kept)"; else ko "bind refuses a regular file" "$T/b1.log"; fi
(cd "$T" && exec "$BIN/inclavared" --listen "localhost:$(port)" --attester sample >"$T/b2.log" 2>&1) & B2=$!; sleep 0.5; kill $B2 2>/dev/null; wait $B2 2>/dev/null
if ! ls "$T" | grep -q '^localhost:'; then ok "localhost:PORT is a TCP address, not a socket file"; else ko "localhost:PORT is a TCP address" "$T/b2.log"; fi
if "$BIN/inclavared" --listen "never.sock" >"$T/b3.log" 2>&1; then ko "a bare name without '/' is refused" "$T/b3.log"
elif grep -q 'bad address' "$T/b3.log"; then ok "a bare name without '/' is refused"; else ko "a bare name without '/' is refused" "$T/b3.log"; fi

# 13. slow-loris and fd exhaustion: with RLIMIT_NOFILE=64, 64 connections that trickle a TLS record
# one byte at a time are dropped at the request deadline, accept backs off on EMFILE instead of
# spinning, and a new client is served.
loris() { # PORT-or-PATH SECONDS: 64 sockets sending a 16 kB record header then one byte per 200 ms
python3 - "$1" "$2" <<'EOF' &
import socket, sys, time
addr, secs = sys.argv[1], float(sys.argv[2])
socks = []
for _ in range(64):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX); s.connect(addr)
    else:
        s = socket.create_connection(("127.0.0.1", int(addr)))
    s.setblocking(False)
    try: s.send(b"\x16\x03\x01\x3e\x80")
    except OSError: pass
    socks.append(s)
end = time.time() + secs
while time.time() < end:
    for s in socks:
        try: s.send(b"\x00")
        except OSError: pass
    time.sleep(0.2)
EOF
LORIS=$!
}
P13=$(port)
prlimit --nofile=64:64 "$BIN/inclavared" --listen "127.0.0.1:$P13" --attester sample --timeout-ms 1000 >"$T/l1.log" 2>&1 & PIDS+=($!)
wait_tcp "$P13"; loris "$P13" 20; sleep 3
t0=$(date +%s%N)
if timeout 6 "$BIN/shelter" remoteattestation --addr "tcp://127.0.0.1:$P13" --verifier sample --danger-accept-software-tee >"$T/l1c.log" 2>&1; then
  ok "inclavared (RLIMIT_NOFILE=64) serves a new client while 64 slow clients trickle ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else ko "inclavared (RLIMIT_NOFILE=64) serves a new client under slow-loris" "$T/l1.log"; fi
n=$(grep -c 'accept' "$T/l1.log"); if [ "$n" -lt 50 ]; then ok "accept backs off on EMFILE ($n accept log lines)"; else ko "accept backs off on EMFILE ($n accept log lines)"; fi
if grep -q 'deadline' "$T/l1.log"; then ok "slow clients dropped at the request deadline"; else ko "slow clients dropped at the request deadline" "$T/l1.log"; fi
kill "$LORIS" 2>/dev/null; wait "$LORIS" 2>/dev/null
# the same for verdictd (key store open: fewer fds left), with a connection cap of 16
printf '{"mrEnclave":["%s"],"softwareTee":true}\n' "$MS" > "$T/ref-l.json"
prlimit --nofile=64:64 "$BIN/verdictd" --store "$T/keys-l.redb" serve --listen "unix://$T/vdl.sock" "${SH_VD[@]}" --reference "$T/ref-l.json" --timeout-ms 1000 --max-connections 16 >"$T/l2.log" 2>&1 & PIDS+=($!)
wait_unix "$T/vdl.sock"; loris "$T/vdl.sock" 20; sleep 3
if timeout 8 "$BIN/shelter" request --addr "unix://$T/vdl.sock" "${SH_VD[@]}" --json '{"command":"version"}' 2>"$T/l2c.log" | grep -q '"version":"v1"'; then ok "verdictd (RLIMIT_NOFILE=64, --max-connections 16) serves a new client under slow-loris"; else ko "verdictd serves a new client under slow-loris" "$T/l2.log"; fi
kill "$LORIS" 2>/dev/null; wait "$LORIS" 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
