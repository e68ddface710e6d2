#!/usr/bin/env bash
# Interop with the real upstream peers, both directions, software TEE (`sample`):
#   - OUR kbs-client against trustee's KBS (confidential-containers/trustee 78962cd4, built-in AS with
#     its sample verifier, plain HTTP on loopback, started by the peer's trustee-kbs-start.sh);
#   - OUR Attestation Agent daemon (unchanged, same flags as tests/e2e/aa.sh) getting a token from
#     trustee's KBS over ttRPC and REST, and that token releasing a resource there;
#   - guest-components' unchanged RCAR client `trustee-attester` (da8d93f2) against OUR kbs.
# Both peers come from ../shared/peers/build.sh (next to the repository; cached per machine after the
# first build). A missing peer is a failure, not a skip.
# make-target: test-peers
source "$(dirname "$0")/lib.sh"
kbs_suite_init kbs-interop
cleanup() {
  kill_pids
  [ -f "$T/trustee/kbs.pid" ] && kill -9 "$(cat "$T/trustee/kbs.pid")" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

PEERS=$PEERS_DIR
if [ ! -x "$PEERS/build.sh" ]; then
  fail "peers available" "no $PEERS/build.sh: the peer sources (shared/peers) must sit next to the repository"
  finish; exit 1
fi
# peer NAME: builds (or reuses) one peer; prints its install directory, or nothing on failure.
peer() {
  local d
  if d=$("$PEERS/build.sh" "$1" 2>"$T/build-$1.log" | tail -n 1) && [ -d "$d" ]; then echo "$d"
  else echo "build.sh $1 failed:" >&2; tail -20 "$T/build-$1.log" >&2; fi
}
TK=$(peer trustee-kbs)
TA_DIR=$(peer trustee-attester)
TA=${TA_DIR:+$TA_DIR/bin/trustee-attester}
[ -n "$TK" ] && [ -x "$TK/bin/kbs" ] && ok "peer trustee-kbs built ($TK)" || fail "peer trustee-kbs built" "see the build.sh output above"
[ -n "$TA" ] && [ -x "$TA" ] && ok "peer trustee-attester built ($TA_DIR)" || fail "peer trustee-attester built" "see the build.sh output above"

free_port() { echo $((20000 + RANDOM % 20000)); }
no_panic() { ! grep -q 'panicked' "$1"; }

# --- 1. our kbs-client against trustee's KBS
if [ -n "$TK" ] && [ -x "$TK/bin/kbs" ]; then
  SECRET="trustee-secret-$RANDOM$RANDOM"
  P=$(free_port)
  if TRUSTEE_KBS_DIR=$TK RUST_LOG=warn bash "$PEERS/trustee-kbs-start.sh" "$P" "$T/trustee" "$SECRET" >"$T/trustee-start.log" 2>&1 \
     && grep -q 'set resource default/key/1 .* HTTP 200' "$T/trustee-start.log"; then
    ok "trustee KBS started (plain HTTP, sample verifier, allow-all resource policy)"
    U="http://127.0.0.1:$P"
    out=$("$CLI" get-resource --danger-software-tee --url "$U" kbs:///default/key/1 2>"$T/err")
    expect_eq "our kbs-client fetches default/key/1 from trustee's KBS (sample TEE, unpadded report data)" "$SECRET" "$out"
    [ "$out" = "$SECRET" ] || sed 's/^/     /' "$T/err" | tail -3
    for kt in ec-p521 rsa; do
      out=$("$CLI" get-resource --danger-software-tee --url "$U" --key-type $kt kbs:///default/key/1 2>"$T/err")
      expect_eq "our kbs-client ($kt TEE key) against trustee's KBS" "$SECRET" "$out"
    done
    out=$("$CLI" get-resource --danger-software-tee --url "$U" --bearer kbs:///default/key/1 2>"$T/err")
    expect_eq "our kbs-client with trustee's EAR token as Bearer" "$SECRET" "$out"
    if "$CLI" get-resource --danger-software-tee --url "$U" kbs:///default/key/absent >"$T/out" 2>"$T/err"; then
      fail "unknown resource on trustee's KBS is refused" "succeeded: $(cat "$T/out")"
    elif no_panic "$T/err" && [ -s "$T/err" ]; then ok "unknown resource on trustee's KBS: clean error ($(tail -1 "$T/err" | cut -c1-120))"
    else fail "unknown resource on trustee's KBS: clean error" "$(tail -2 "$T/err")"; fi

    # --- 1b. our Attestation Agent against trustee's KBS: GetToken over ttRPC and REST
    RP=$(free_port)
    "$AA" --danger-software-tee --kbs-url "$U" --attestation_sock "$T/aa.sock" --rest-addr "127.0.0.1:$RP" >"$T/aa.log" 2>&1 &
    AA_PID=$!
    PIDS+=("$AA_PID")
    if wait_for 10 test -S "$T/aa.sock" && wait_for 10 curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$RP/"; then
      ok "our attestation-agent started against trustee's KBS"
      if "$AC" --socket "$T/aa.sock" get-token >"$T/aa-token.json" 2>"$T/err"; then
        ok "our AA: ttRPC GetToken(kbs) from trustee's KBS"
      else fail "our AA: ttRPC GetToken(kbs) from trustee's KBS" "$(tail -2 "$T/err")"; fi
      tok=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "PRIVATE KEY" in d["tee_keypair"]; print(d["token"])' "$T/aa-token.json" 2>/dev/null)
      code=$(curl -s -o "$T/jwe" -w '%{http_code}' -H "Authorization: Bearer $tok" "$U/kbs/v0/resource/default/key/1")
      if [ -n "$tok" ] && [ "$code" = 200 ] && grep -q '"ciphertext"' "$T/jwe"; then
        ok "trustee's KBS releases default/key/1 (JWE) to the AA's token as Bearer"
      else fail "trustee's KBS releases default/key/1 to the AA's token" "HTTP $code $(head -c 200 "$T/jwe")"; fi
      code=$(curl -s -o "$T/rest-token" -w '%{http_code}' "http://127.0.0.1:$RP/aa/token?token_type=kbs")
      if [ "$code" = 200 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["token"].count(".")==2' "$T/rest-token" 2>/dev/null; then
        ok "our AA: REST /aa/token?token_type=kbs from trustee's KBS"
      else fail "our AA: REST /aa/token from trustee's KBS" "HTTP $code $(head -c 200 "$T/rest-token")"; fi
    else
      fail "our attestation-agent started against trustee's KBS" "$(tail -5 "$T/aa.log")"
    fi
    kill -TERM "$AA_PID" 2>/dev/null; wait_gone "$AA_PID" 5
  else
    fail "trustee KBS started" "$(tail -20 "$T/trustee-start.log")"
  fi
fi

# --- 2. guest-components' trustee-attester against our KBS
"$CLI" gen-admin-key --type ed25519 --out "$T/admin" >/dev/null
cat >"$T/allow-sample.rego" <<'REGO'
package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample
REGO
# start_ours NAME PORT ARGS...: our KBS over HTTPS with its generated certificate.
start_ours() {
  local name=$1 port=$2; shift 2
  "$KBS" --data-dir "$T/$name" --listen "127.0.0.1:$port" --admin-key "admin=$T/admin.pub" "$@" >>"$T/$name.log" 2>&1 &
  PIDS+=("$!"); disown "$!"
  wait_for 10 curl -sf --max-time 1 --cacert "$T/$name/tls-cert.pem" "https://127.0.0.1:$port/healthz" -o /dev/null \
    || { echo "our kbs $name did not start:"; tail -20 "$T/$name.log"; return 1; }
}
# setup_ours NAME PORT: the resource and a resource policy that allows the sample TEE.
setup_ours() {
  local c=(--url "https://127.0.0.1:$2" --cert "$T/$1/tls-cert.pem" --admin-key "$T/admin.key")
  "$CLI" set-resource "${c[@]}" default/key/1 --value "$OUR_SECRET" >/dev/null \
    && "$CLI" set-resource-policy "${c[@]}" "$T/allow-sample.rego" >/dev/null
}
OUR_SECRET="our-secret-$RANDOM$RANDOM"
if [ -n "$TA" ] && [ -x "$TA" ]; then
  P=$(free_port)
  if start_ours ours "$P" --danger-accept-software-tee && setup_ours ours "$P"; then
    ok "our KBS started (--danger-accept-software-tee, policy allows sample)"
    for form in default/key/1 kbs:///default/key/1; do
      out=$(RUST_LOG=error "$TA" --url "https://127.0.0.1:$P" --cert-file "$T/ours/tls-cert.pem" get-resource --path "$form" 2>"$T/err")
      got=$(printf '%s\n' "$out" | tail -1 | base64 -d 2>/dev/null)
      expect_eq "trustee-attester (unchanged) fetches $form from our KBS (sample TEE)" "$OUR_SECRET" "$got"
      [ "$got" = "$OUR_SECRET" ] || sed 's/^/     /' "$T/err" | tail -3
    done
    if RUST_LOG=error "$TA" --url "https://127.0.0.1:$P" --cert-file "$T/ours/tls-cert.pem" get-resource --path default/key/absent >"$T/out" 2>"$T/err"; then
      fail "trustee-attester: unknown resource on our KBS is refused" "succeeded: $(cat "$T/out")"
    else ok "trustee-attester: unknown resource on our KBS is refused"; fi
  else
    fail "our KBS started with the sample TEE opted in"
  fi
  # our KBS without the danger flag: the same client and policy are refused (sample is not trusted).
  P=$(free_port)
  if start_ours strict "$P" && setup_ours strict "$P"; then
    if RUST_LOG=error "$TA" --url "https://127.0.0.1:$P" --cert-file "$T/strict/tls-cert.pem" get-resource --path default/key/1 >"$T/out" 2>"$T/err"; then
      fail "our KBS without --danger-accept-software-tee refuses trustee-attester" "got: $(cat "$T/out")"
    elif grep -q 'no verifier enabled for TEE sample' "$T/err"; then
      ok "our KBS without --danger-accept-software-tee refuses trustee-attester (RcarAttestFailed: no verifier for sample)"
    else fail "our KBS without the danger flag refuses trustee-attester for the right reason" "$(tail -2 "$T/err")"; fi
  else
    fail "our KBS started without the danger flag"
  fi
fi

finish
