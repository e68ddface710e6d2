#!/usr/bin/env bash
# Live interop against the C rats-tls sample tools (inclavare-containers/rats-tls, host mode). The C
# build comes from $RATLS_C_BUILD (samples/rats-tls-{server,client}/ under it, plugins installed where
# that build expects them), else from the shared peer build (../shared/peers/build.sh rats-tls, next
# to the repository; bin/rats-tls-{server,client}). Without either the suite fails: a missing peer is
# a failure, not a skip.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN="${CARGO_TARGET_DIR:-target}/release"
PEERS_BUILD="$(pwd)/../shared/peers/build.sh"
if [ -n "${RATLS_C_BUILD:-}" ]; then
  CB=$RATLS_C_BUILD; CS="$CB/samples/rats-tls-server/rats-tls-server"; CC="$CB/samples/rats-tls-client/rats-tls-client"
elif [ -x "$PEERS_BUILD" ] && CB=$(bash "$PEERS_BUILD" rats-tls 2>/dev/null | tail -n 1) && [ -x "$CB/bin/rats-tls-server" ]; then
  CS="$CB/bin/rats-tls-server"; CC="$CB/bin/rats-tls-client"
else
  echo "no C rats-tls peer: ../shared/peers/build.sh rats-tls failed or is missing (or set RATLS_C_BUILD to a host-mode build)"
  echo "0 passed, 1 failed"; exit 1
fi
for b in "$BIN/rats-tls-server" "$BIN/rats-tls-client" "$CS" "$CC"; do
  [ -x "$b" ] || { echo "missing $b"; echo "0 passed, 1 failed"; exit 1; }
done
T=$(mktemp -d /tmp/ratls-interop.XXXXXX); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0; k=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | tail -12; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Wait for the listening socket without connecting: the C sample server exits after one failed handshake.
wait_tcp() { for _ in $(seq 100); do ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0; sleep 0.05; done; return 1; }
C_OPTS=(-t openssl -c openssl)

# our server, C client
ours_c() { # name, our-server-args, c-client-args, expect(0 ok / 1 refused), grep-in-client-log
  local P; P=$(port); k=$((k + 1)); local f="$T/$k"
  "$BIN/rats-tls-server" -p "$P" $2 >"$f.s" 2>&1 & PIDS+=($!); wait_tcp "$P"
  timeout 10 "$CC" "${C_OPTS[@]}" -p "$P" $3 >"$f.c" 2>&1; local rc=$?
  if { [ "$4" = 0 ] && [ $rc = 0 ]; } || { [ "$4" = 1 ] && [ $rc != 0 ]; }; then
    if [ -z "${5:-}" ] || grep -q -- "$5" "$f.c"; then ok "$1"; return; fi
  fi
  ko "$1 (rc=$rc)" "$f.c"
}
# C server, our client
c_ours() { # name, c-server-args, our-client-args, expect, grep-in-our-log
  local P; P=$(port); k=$((k + 1)); local f="$T/$k"
  "$CS" "${C_OPTS[@]}" -p "$P" $2 >"$f.s" 2>&1 & PIDS+=($!); wait_tcp "$P"
  timeout 10 "$BIN/rats-tls-client" -p "$P" $3 >"$f.c" 2>&1; local rc=$?
  if { [ "$4" = 0 ] && [ $rc = 0 ]; } || { [ "$4" = 1 ] && [ $rc != 0 ]; }; then
    if [ -z "${5:-}" ] || grep -q -- "$5" "$f.c"; then ok "$1"; return; fi
  fi
  ko "$1 (rc=$rc)" "$f.c"
}

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
# C server requiring client evidence (mutual, sgx_ecdsa verifier not built here -> it uses what it has):
c_ours "our client with software-TEE evidence -> C mutual server (C refuses our tag)" "-a nullattester -v nullverifier -m" "-a sample -v nullverifier --danger-accept-without-evidence -m" 1 ""

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
