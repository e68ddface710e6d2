#!/usr/bin/env bash
# Live interop against the C rats-tls sample tools (inclavare-containers/rats-tls, host mode), both
# directions, one-way and mutual: without evidence (null attester/verifier), and with evidence both ways
# through the peer build's test-only `fakeev` plugins, which our test-only rats-tls-danger-fakeev tool
# speaks (an unsigned SGX-quote-shaped blob in a real TCG DICE certificate; it proves nothing, so the
# shipped rats-tls-server/-client must refuse it, which is checked too). The C
# build comes from $RATLS_C_BUILD (samples/rats-tls-{server,client}/ under it, plugins installed where
# that build expects them, the fakeev plugins among them, or those checks fail), else from the shared peer build (../shared/peers/build.sh rats-tls, next
# to the repository; bin/rats-tls-{server,client}). Without either the suite fails: a missing peer is
# a failure, not a skip.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${CARGO_TARGET_DIR:-target}/release"
PEERS_BUILD="${PEERS_DIR:-$(pwd)/../shared/peers}/build.sh"
if [ -n "${RATLS_C_BUILD:-}" ]; then
  CB=$RATLS_C_BUILD; CS="$CB/samples/rats-tls-server/rats-tls-server"; CC="$CB/samples/rats-tls-client/rats-tls-client"
elif [ -x "$PEERS_BUILD" ] && CB=$(bash "$PEERS_BUILD" rats-tls 2>/dev/null | tail -n 1) && [ -x "$CB/bin/rats-tls-server" ]; then
  CS="$CB/bin/rats-tls-server"; CC="$CB/bin/rats-tls-client"
else
  echo "no C rats-tls peer: $PEERS_BUILD rats-tls failed or is missing (or set RATLS_C_BUILD to a host-mode build)"
  echo "0 passed, 1 failed"; exit 1
fi
FK="$BIN/rats-tls-danger-fakeev"
for b in "$BIN/rats-tls-server" "$BIN/rats-tls-client" "$FK" "$CS" "$CC"; do
  [ -x "$b" ] || { echo "missing $b (make build)"; echo "0 passed, 1 failed"; exit 1; }
done
T=$(mktemp -d /tmp/ratls-interop.XXXXXX); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0; k=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | tail -12; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Wait for the listening socket without connecting (the C sample server exits after one failed
# handshake), or for the server to have exited (a refused option).
wait_tcp() { # port, server-pid
  for _ in $(seq 100); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
C_OPTS=(-t openssl -c openssl)
S="$BIN/rats-tls-server"; C="$BIN/rats-tls-client"; FS="$FK server"; FC="$FK client"

# One check: start the server, run the client, then judge. expect: 0 = the exchange works, 1 = it is
# refused. grep-client / grep-server (optional): a pattern that must be in that side's output.
check() { # name, server-cmd, client-cmd, expect, grep-client, grep-server
  local P; P=$(port); k=$((k + 1)); local f="$T/$k"
  # Line-buffered so the C server's log survives its kill below.
  stdbuf -oL -eL $2 -p "$P" >"$f.s" 2>&1 & local sp=$!; PIDS+=($sp); wait_tcp "$P" "$sp"
  timeout 10 $3 -p "$P" >"$f.c" 2>&1; local rc=$?
  # The server has answered (or refused) by now; give its log a moment to be written.
  sleep 0.2; kill "$sp" 2>/dev/null
  if { [ "$4" = 0 ] && [ $rc = 0 ]; } || { [ "$4" = 1 ] && [ $rc != 0 ]; }; then
    if [ -n "${5:-}" ] && ! grep -q -- "$5" "$f.c"; then ko "$1 (client output lacks: $5)" "$f.c"; return; fi
    if [ -n "${6:-}" ] && ! grep -q -- "$6" "$f.s"; then ko "$1 (server output lacks: $6)" "$f.s"; return; fi
    ok "$1"; return
  fi
  ko "$1 (rc=$rc)" "$f.c"; sed 's/^/    server: /' "$f.s" | tail -6
}
# our server, C client / C server, our client
ours_c() { check "$1" "$S $2" "$CC ${C_OPTS[*]} $3" "$4" "${5:-}" "${6:-}"; }
c_ours() { check "$1" "$CS ${C_OPTS[*]} $2" "$C $3" "$4" "${5:-}" "${6:-}"; }

# --- without evidence (null attester / null verifier) ---
ours_c "C client -> our server, null/null" "-a nullattester" "-a nullattester -v nullverifier" 0 "Hello and welcome"
ours_c "C client -> our server, null/null, mutual" "-a nullattester -v nullverifier --danger-accept-without-evidence -m" "-a nullattester -v nullverifier -m" 0 "Hello and welcome"
ours_c "C client -> our server, RSA-3072 key" "-a nullattester --key-algo rsa3072" "-a nullattester -v nullverifier" 0 "Hello and welcome"
# Our DICE evidence parsed by C: with the evidence relabelled under an SNP tag the C null verifier
# decodes the CBOR, checks pubkey-hash against our SPKI and hands our custom claims to its callback.
ours_c "C client parses our DICE claims buffer and pubkey-hash" "-a sample --danger-interop-dice-tag 0x1a7504" "-a nullattester -v nullverifier" 0 "name: 'key_1' value_size: 8 value: 'value_1'"
# Software-TEE evidence under our own tag: the C side has no such TEE and refuses it.
ours_c "C client refuses software-TEE tag 0x1a75ff" "-a sample" "-a nullattester -v nullverifier" 1 "invalid cbor tag got: 0x1a75ff"

c_ours "our client -> C server, null/null" "-a nullattester -v nullverifier" "-a nullattester -v nullverifier --danger-accept-without-evidence" 0 "Server:"
c_ours "our client -> C server, null/null, mutual" "-a nullattester -v nullverifier -m" "-a nullattester -v nullverifier --danger-accept-without-evidence -m" 0 "Server:"
c_ours "our client (evidence required) refuses C null attester" "-a nullattester -v nullverifier" "-v sample --danger-accept-software-tee" 1 "carries no evidence"
c_ours "our client with software-TEE evidence -> C mutual server (C refuses our tag)" "-a nullattester -v nullverifier -m" "-a sample -v nullverifier --danger-accept-without-evidence -m" 1 "" "invalid cbor tag got: 0x1a75ff"

# --- with evidence both ways: fakeev (tag 60000, SGX quote v3 layout, report data = SHA-256(claims)) ---
FAKE_CLAIMS='tee=sgx hardware=false fields={"fakeev":true'
check "C client verifies our fakeev evidence" "$FS -a fakeev" "$CC ${C_OPTS[*]} -a nullattester -v fakeev" 0 "fakeev: ACCEPT"
check "our client verifies C fakeev evidence and its claims" "$CS ${C_OPTS[*]} -a fakeev -v nullverifier" "$FC -a nullattester -v fakeev" 0 "$FAKE_CLAIMS"
check "our client verifies C fakeev evidence: custom claims" "$CS ${C_OPTS[*]} -a fakeev -v nullverifier" "$FC -a nullattester -v fakeev" 0 "name: 'key_1' value_size: 8 value: 'value_1"
check "mutual, C client -> our server, fakeev both ways" "$FS -a fakeev -v fakeev -m" "$CC ${C_OPTS[*]} -a fakeev -v fakeev -m" 0 "fakeev: ACCEPT" "$FAKE_CLAIMS"
check "mutual, our client -> C server, fakeev both ways" "$CS ${C_OPTS[*]} -a fakeev -v fakeev -m" "$FC -a fakeev -v fakeev -m" 0 "$FAKE_CLAIMS" "fakeev: ACCEPT"
# Negative: our quote bound to report data with one bit flipped (the claims no longer hash to it).
check "C client refuses our fakeev evidence with wrong report data" "$FS -a fakeev --tamper-report-data" "$CC ${C_OPTS[*]} -a nullattester -v fakeev" 1 "fakeev: REJECT"
check "mutual C server refuses our client's wrong report data" "$CS ${C_OPTS[*]} -a fakeev -v fakeev -m" "$FC -a fakeev --tamper-report-data -v fakeev -m" 1 "" "fakeev: REJECT"
check "our fakeev verifier refuses wrong report data" "$FS -a fakeev --tamper-report-data" "$FC -a nullattester -v fakeev" 1 "report data mismatch"
check "our fakeev verifier refuses C null attester" "$CS ${C_OPTS[*]} -a nullattester -v nullverifier" "$FC -a nullattester -v fakeev" 1 "carries no evidence"
# The shipped tools have no fakeev: C's fakeev evidence fails their hardware SGX verifier, and the
# name is unknown to them.
c_ours "shipped client refuses C fakeev evidence" "-a fakeev -v nullverifier" "-a nullattester" 1 "evidence rejected: malformed sgx evidence"
check "shipped client: -v fakeev is an unknown verifier" "$CS ${C_OPTS[*]} -a fakeev -v nullverifier" "$C -v fakeev" 1 'unknown verifier "fakeev"'
check "shipped server: -a fakeev is an unknown attester" "$S -a fakeev" "$CC ${C_OPTS[*]} -a nullattester -v nullverifier" 1 "" 'unknown attester "fakeev"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
