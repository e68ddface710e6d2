#!/usr/bin/env bash
# End-to-end suite for the Attestation Agent: our `kbs` (HTTPS, software TEE accepted) and the real
# `attestation-agent` daemon, called over ttRPC with guest-components' protos (`aa-client`) and over
# the REST facade with curl. GetToken("kbs") runs RCAR against our KBS, and the token it returns is
# accepted by the KBS as a Bearer token for a resource; the returned TEE private key is the one
# the token names. Also: the software-TEE opt-in, config errors naming the key, event log entries,
# refusals (KBS without the software-TEE opt-in, KBS down), a clean shutdown, and init-data checked
# against SNP HOST_DATA / TDX MRCONFIGID on faked configfs-tsm trees before start-up.
# The same agent against trustee's KBS is in kbs-interop.sh (peer suite).
source "$(dirname "$0")/lib.sh"
kbs_suite_init aa-e2e
cleanup() {
  kill_pids
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

free_port() { echo $((20000 + RANDOM % 20000)); }
# start_kbs NAME PORT ARGS...
start_kbs() {
  local name=$1 port=$2; shift 2
  "$KBS" --data-dir "$T/$name" --listen "127.0.0.1:$port" "$@" >>"$T/$name.log" 2>&1 &
  PIDS+=("$!")
  wait_for 10 curl -sf --max-time 1 --cacert "$T/$name/tls-cert.pem" "https://127.0.0.1:$port/healthz" >/dev/null
}
# start_aa NAME ARGS...: the daemon with its socket at $T/NAME.sock; sets AA_PID
start_aa() {
  local name=$1; shift
  "$AA" --attestation_sock "$T/$name.sock" "$@" >>"$T/$name.log" 2>&1 &
  AA_PID=$!
  PIDS+=("$AA_PID")
  wait_for 10 test -S "$T/$name.sock"
}
b64url_decode() { python3 -c 'import base64,sys; s=sys.argv[1]; print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())' "$1"; }

"$CLI" gen-admin-key --type ed25519 --out "$T/admin" >/dev/null
cat >"$T/allow-sample.rego" <<'REGO'
package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample
REGO
SECRET="aa-secret-$RANDOM$RANDOM"
KP=$(free_port)
start_kbs kbs "$KP" --danger-accept-software-tee --admin-key "admin=$T/admin.pub" || { fail "KBS started" "$(tail -5 "$T/kbs.log")"; finish; exit 1; }
KU="https://127.0.0.1:$KP"
C=(--url "$KU" --cert "$T/kbs/tls-cert.pem" --admin-key "$T/admin.key")
"$CLI" set-resource "${C[@]}" default/key/1 --value "$SECRET" >/dev/null && "$CLI" set-resource-policy "${C[@]}" "$T/allow-sample.rego" >/dev/null \
  && ok "KBS started and provisioned (software TEE accepted, allow-sample resource policy)" || fail "KBS provisioned"

# --- start-up refusals
if "$AA" --attestation_sock "$T/x.sock" --rest-addr none --kbs-url "$KU" --kbs-cert "$T/kbs/tls-cert.pem" >"$T/out" 2>"$T/err"; then
  fail "no hardware TEE and no --danger-software-tee: the agent refuses to start" "it started"
else
  expect_match "no hardware TEE and no --danger-software-tee: the agent refuses to start, naming the flag" "danger-software-tee" "$(cat "$T/err")"
fi
printf '[token_configs.kbs]\nurl = "%s"\n' "$KU" >"$T/nocert.toml"
"$AA" --danger-software-tee --config "$T/nocert.toml" --attestation_sock "$T/x.sock" --rest-addr none >"$T/out" 2>"$T/err"
expect_match "https KBS without a certificate: error names token_configs.kbs.cert" "config key token_configs\.kbs\.cert" "$(cat "$T/err")"
printf '[token_configs.kbs]\nurl = "http://127.0.0.1:1"\ntee_key_algorithm = "ECDH-ES+A128KW"\n' >"$T/badalg.toml"
"$AA" --danger-software-tee --config "$T/badalg.toml" --attestation_sock "$T/x.sock" --rest-addr none >"$T/out" 2>"$T/err"
expect_match "unknown tee_key_algorithm: error names the key" "token_configs\.kbs\.tee_key_algorithm" "$(cat "$T/err")"
printf '[eventlog_config]\nenable_eventlogg = true\n' >"$T/typo.toml"
"$AA" --danger-software-tee --config "$T/typo.toml" --attestation_sock "$T/x.sock" --rest-addr none >"$T/out" 2>"$T/err"
expect_match "misspelt key: error names it" "enable_eventlogg" "$(cat "$T/err")"
[ ! -e "$T/x.sock" ] && ok "no socket left by the refused starts" || fail "no socket left by the refused starts"

# --- hardware path: TDX detected on a faked tree (configfs-tsm entry holding a recorded TDX quote)
R="$T/root"; E="$R/sys/kernel/config/tsm/report/fixed"
mkdir -p "$R/dev" "$E" && : >"$R/dev/tdx_guest"
echo tdx_guest >"$E/provider"; echo 1 >"$E/generation"; : >"$E/inblob"; : >"$E/auxblob"
cp "$E2E_ROOT/tests/data/tee/dcap/tdx_quote_v4.bin" "$E/outblob"
if start_aa tdx --sys-root "$R" --tsm-entry fixed --rest-addr none; then
  expect_eq "faked TDX tree: GetTeeType is tdx (tee::attest::detect, no software-TEE flag needed)" "tdx" "$("$AC" --socket "$T/tdx.sock" get-tee-type 2>"$T/err")"
  if "$AC" --socket "$T/tdx.sock" get-evidence --runtime-data ab >"$T/tdx-ev.json" 2>"$T/err" && [ -s "$T/tdx-ev.json" ] \
     && [ "$(od -An -tx1 -N2 "$E/inblob" | tr -d ' \n')" = 6162 ] && [ "$(stat -c %s "$E/inblob")" = 64 ]; then
    ok "faked TDX tree: GetEvidence writes the runtime data (zero-padded to 64 bytes) to inblob and returns the quote"
  else fail "faked TDX tree: GetEvidence" "$(tail -2 "$T/err")"; fi
  kill -TERM "$AA_PID"; wait_gone "$AA_PID" 5
else fail "agent on a faked TDX tree started" "$(tail -3 "$T/tdx.log")"; fi

# --- init-data: checked against the TEE's host-data field before start-up (faked SNP and TDX trees
# whose recorded report/quote has HOST_DATA / MRCONFIGID patched; the agent does not verify its own
# report, so the broken signature does not matter here)
# fake_tree ROOT DEVICE PROVIDER OUTBLOB: a configfs-tsm entry "fixed" holding OUTBLOB
fake_tree() {
  local e="$1/sys/kernel/config/tsm/report/fixed"
  mkdir -p "$1/dev" "$e" && : >"$1/dev/$2"
  echo "$3" >"$e/provider"; echo 1 >"$e/generation"; : >"$e/inblob"; : >"$e/privlevel"; cp "$4" "$e/outblob"
}
# set_field FILE OFFSET LEN HEX: HEX zero-padded to LEN bytes at OFFSET
set_field() {
  python3 -c 'import sys
f,off,ln,v=sys.argv[1],int(sys.argv[2],0),int(sys.argv[3]),bytes.fromhex(sys.argv[4])
b=bytearray(open(f,"rb").read()); b[off:off+ln]=v+bytes(ln-len(v)); open(f,"wb").write(bytes(b))' "$@"
}
# SNP ATTESTATION_REPORT: HOST_DATA at 0xC0 (32 B); TDX v4 quote: MRCONFIGID at 232 (48-byte header,
# then the TD report's fields before it); the agent's unit tests check both offsets by parsing.
printf 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "socket = \\"unix:///run/cdh.sock\\""\n' >"$T/init.toml"
printf 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"cdh.toml" = "socket = \\"unix:///run/other.sock\\""\n' >"$T/init-other.toml"
sed 's/sha256/sha384/' "$T/init.toml" >"$T/init384.toml"
D256=$(sha256sum <"$T/init.toml" | cut -c1-64)
DOTHER=$(sha256sum <"$T/init-other.toml" | cut -c1-64)
D384=$(sha384sum <"$T/init384.toml" | cut -c1-96)
cp "$E2E_ROOT/tests/data/tee/snp/test-report.bin" "$T/snp-report.bin" && set_field "$T/snp-report.bin" 0xC0 32 "$D256"
fake_tree "$T/snp" sev-guest sev_guest "$T/snp-report.bin"
cp "$E2E_ROOT/tests/data/tee/dcap/tdx_quote_v4.bin" "$T/tdx-quote.bin" && set_field "$T/tdx-quote.bin" 232 48 "$D384"
fake_tree "$T/tdxi" tdx_guest tdx_guest "$T/tdx-quote.bin"
cp "$E2E_ROOT/tests/data/tee/dcap/tdx_quote_v4.bin" "$T/tdx-zero.bin" && set_field "$T/tdx-zero.bin" 232 48 ""
fake_tree "$T/tdx0" tdx_guest tdx_guest "$T/tdx-zero.bin"
# GetToken after the check sends the file's exact bytes in RCAR init-data: a stub KBS (hardware
# evidence from a faked tree cannot pass a real verifier) records the Attestation message
cat >"$T/stub-kbs.py" <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, body, cookie=None):
        b = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(b)))
        if cookie: self.send_header("set-cookie", cookie)
        self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/kbs/v0/auth":
            self.answer({"nonce": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "extra-params": {}}, "kbs-session-id=stub; Path=/kbs")
        else:
            open(sys.argv[2], "wb").write(body)
            self.answer({"token": "stub.token.sig"})
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
STUB=$(free_port)
python3 "$T/stub-kbs.py" "$STUB" "$T/stub-attest.json" >>"$T/stub.log" 2>&1 &
PIDS+=("$!")
wait_for 10 curl -s --max-time 1 -o /dev/null -X POST "http://127.0.0.1:$STUB/kbs/v0/auth"
if start_aa snp-init --sys-root "$T/snp" --tsm-entry fixed --rest-addr none --init-data "$T/init.toml" \
   --kbs-url "http://127.0.0.1:$STUB" \
   && [ "$("$AC" --socket "$T/snp-init.sock" get-tee-type 2>/dev/null)" = snp ]; then
  expect_match "init-data matching SNP HOST_DATA: the agent starts and logs the match" "init-data matches.*SNP HOST_DATA.*$D256" "$(cat "$T/snp-init.log")"
  if "$AC" --socket "$T/snp-init.sock" get-token >"$T/out" 2>"$T/err" \
     && python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["init-data"]; assert a["format"]=="toml"; assert a["body"]==open(sys.argv[2]).read()' \
        "$T/stub-attest.json" "$T/init.toml" 2>"$T/py-err"; then
    ok "GetToken after the check sends the file's exact bytes in RCAR init-data (format toml)"
  else fail "GetToken sends the checked init-data in RCAR" "$(tail -2 "$T/err") $(tail -1 "$T/py-err")"; fi
  kill -TERM "$AA_PID"; wait_gone "$AA_PID" 5
else fail "init-data matching SNP HOST_DATA: the agent starts" "$(tail -3 "$T/snp-init.log")"; fi
if start_aa tdx-init --sys-root "$T/tdxi" --tsm-entry fixed --rest-addr none --init-data "$T/init384.toml"; then
  expect_match "init-data (sha384) matching TDX MRCONFIGID: the agent starts" "init-data matches.*TDX MRCONFIGID.*$D384" "$(cat "$T/tdx-init.log")"
  kill -TERM "$AA_PID"; wait_gone "$AA_PID" 5
else fail "init-data matching TDX MRCONFIGID: the agent starts" "$(tail -3 "$T/tdx-init.log")"; fi
# refused starts: run in the foreground, the exit status and stderr are the test
refused() { # refused NAME ROOT INIT-FILE [ARGS...]
  local name=$1 root=$2 init=$3; shift 3
  "$AA" --attestation_sock "$T/$name.sock" --rest-addr none --init-data "$init" "$@" \
    ${root:+--sys-root "$root" --tsm-entry fixed} >"$T/out" 2>"$T/err"
}
if refused tdx-init256 "$T/tdxi" "$T/init.toml"; then
  fail "init-data (sha256) against a TDX MRCONFIGID holding another digest is refused" "it started"
else
  expect_match "init-data against another TDX MRCONFIGID: refused, naming the field and both digests" \
    "TDX MRCONFIGID is $D384.*digest is $D256" "$(cat "$T/err")"
fi
if refused snp-other "$T/snp" "$T/init-other.toml"; then
  fail "init-data other than the launched one (SNP) is refused" "it started"
else
  expect_match "init-data other than the launched one (SNP): refused, naming HOST_DATA and both digests" \
    "SNP HOST_DATA is $D256.*digest is $DOTHER" "$(cat "$T/err")"
fi
if refused tdx-zero "$T/tdx0" "$T/init384.toml"; then
  fail "init-data on a TDX guest launched without any (MRCONFIGID zero) is refused" "it started"
else
  expect_match "init-data on a TDX guest launched without any: refused, naming MRCONFIGID (zero) and the digest" \
    "TDX MRCONFIGID is 0{96}, but the file's digest is $D384" "$(cat "$T/err")"
fi
printf 'version = "0.1.0"\nalgorithm = "md5"\n' >"$T/init-md5.toml"
printf 'version = "0.1.0"\nalgorithm = "sha256"\n[data\n' >"$T/init-syntax.toml"
printf 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\nn = 1\n' >"$T/init-type.toml"
refused bad "$T/snp" "$T/init-md5.toml"
expect_match "malformed init-data (algorithm md5): refused, naming the file and the algorithm" "init-md5\.toml.*algorithm \"md5\"" "$(cat "$T/err")"
refused bad "$T/snp" "$T/init-syntax.toml"
expect_match "malformed init-data (TOML syntax): refused, naming the file and the position" "init-syntax\.toml.*line 3" "$(cat "$T/err")"
refused bad "$T/snp" "$T/init-type.toml"
expect_match "malformed init-data ([data] value not a string): refused, naming the file" "init-type\.toml.*not a valid document.*expected a string" "$(tr '\n' ' ' <"$T/err")"
refused bad "$T/snp" "$T/absent.toml"
expect_match "missing init-data file: refused, naming it" "absent\.toml" "$(cat "$T/err")"
if refused sample "" "$T/init.toml" --danger-software-tee; then
  fail "init-data on the software TEE is refused (no host-data field binds it)" "it started"
else
  expect_match "init-data on the software TEE is refused (no host-data field binds it)" "sample TEE has no host-data field" "$(cat "$T/err")"
fi
ls "$T"/snp-other.sock "$T"/tdx-init256.sock "$T"/tdx-zero.sock "$T"/bad.sock "$T"/sample.sock >/dev/null 2>&1 \
  && fail "no socket left by the refused init-data starts" || ok "no socket left by the refused init-data starts"

# --- kbs-client follows the same rule
if "$CLI" get-resource --url "$KU" --cert "$T/kbs/tls-cert.pem" kbs:///default/key/1 >"$T/out" 2>"$T/err"; then
  fail "kbs-client get-resource without a TEE and without --danger-software-tee is refused" "it got: $(cat "$T/out")"
else
  expect_match "kbs-client get-resource without a TEE and without --danger-software-tee is refused, naming the flag" "danger-software-tee" "$(cat "$T/err")"
fi
expect_eq "kbs-client get-resource --danger-software-tee fetches the secret" "$SECRET" \
  "$("$CLI" get-resource --danger-software-tee --url "$KU" --cert "$T/kbs/tls-cert.pem" kbs:///default/key/1 2>/dev/null)"

# --- the agent against our KBS
RP=$(free_port)
cat >"$T/aa.toml" <<EOF2
[token_configs.kbs]
url = "$KU"
[eventlog_config]
enable_eventlog = true
path = "$T/eventlog"
EOF2
if start_aa aa --danger-software-tee --config "$T/aa.toml" --kbs-cert "$T/kbs/tls-cert.pem" --rest-addr "127.0.0.1:$RP" \
   && wait_for 10 curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$RP/"; then
  ok "agent started (ttRPC socket + REST facade)"
else
  fail "agent started" "$(tail -5 "$T/aa.log")"; finish; exit 1
fi
expect_eq "the ttRPC socket is 0600 (GetToken hands out the TEE private key)" "600" "$(stat -c %a "$T/aa.sock")"
grep -q "software TEE" "$T/aa.log" && ok "agent logs that it uses the software TEE" || fail "agent logs that it uses the software TEE"

expect_eq "ttRPC GetTeeType" "sample" "$("$AC" --socket "$T/aa.sock" get-tee-type 2>"$T/err")"
ev=$("$AC" --socket "$T/aa.sock" get-evidence --runtime-data hello 2>"$T/err")
expect_eq "ttRPC GetEvidence binds the runtime data (sample evidence report_data)" "aGVsbG8=" \
  "$(printf '%s' "$ev" | python3 -c 'import json,sys; print(json.load(sys.stdin)["report_data"])' 2>/dev/null)"
"$AC" --socket "$T/aa.sock" get-evidence --runtime-data "$(printf 'x%.0s' $(seq 65))" >"$T/out" 2>"$T/err"
expect_match "ttRPC GetEvidence: 65 bytes of runtime data is INVALID_ARGUMENT" "INVALID_ARGUMENT.*(65|too long)" "$(cat "$T/err")"

if "$AC" --socket "$T/aa.sock" get-token >"$T/token.json" 2>"$T/err"; then ok "ttRPC GetToken(kbs) against our KBS"; else fail "ttRPC GetToken(kbs)" "$(tail -2 "$T/err")"; fi
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/token.json" 2>/dev/null)
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tee_keypair"], end="")' "$T/token.json" >"$T/tee.pem" 2>/dev/null
expect_match "GetToken answer carries the token (JWS) and tee_keypair (PKCS#8 PEM)" "^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+ BEGIN PRIVATE KEY$" \
  "$TOKEN $(head -1 "$T/tee.pem" | tr -d '-')"
# the key in the token (runtime_data_claims.tee-pubkey) is the public half of tee_keypair
CLAIMS=$(b64url_decode "$(printf '%s' "$TOKEN" | cut -d. -f2)" 2>/dev/null)
TOKEN_XY=$(printf '%s' "$CLAIMS" | python3 -c '
import base64,json,sys
k=json.load(sys.stdin)["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["runtime_data_claims"]["tee-pubkey"]
d=lambda s: base64.urlsafe_b64decode(s+"="*(-len(s)%4)).hex()
print(d(k["x"])+d(k["y"]))' 2>/dev/null)
KEY_XY=$(openssl pkey -in "$T/tee.pem" -pubout -outform DER 2>/dev/null | tail -c 64 | od -An -tx1 | tr -d ' \n')
if [ -n "$TOKEN_XY" ] && [ "$TOKEN_XY" = "$KEY_XY" ]; then ok "tee_keypair is the key the token's tee-pubkey names"; else fail "tee_keypair matches the token's tee-pubkey" "token $TOKEN_XY key $KEY_XY"; fi
code=$(curl -s -o "$T/jwe" -w '%{http_code}' --cacert "$T/kbs/tls-cert.pem" -H "Authorization: Bearer $TOKEN" "$KU/kbs/v0/resource/default/key/1")
if [ "$code" = 200 ] && grep -q '"ciphertext"' "$T/jwe"; then ok "the KBS releases default/key/1 (JWE) to the agent's token as Bearer"; else fail "resource with the agent's token" "HTTP $code $(head -c 200 "$T/jwe")"; fi
"$AC" --socket "$T/aa.sock" get-token --token-type coco_as >"$T/out" 2>"$T/err"
expect_match "ttRPC GetToken(coco_as): INVALID_ARGUMENT naming the type" "INVALID_ARGUMENT.*coco_as" "$(cat "$T/err")"

# --- REST facade
code=$(curl -s -o "$T/rest-token" -w '%{http_code}' "http://127.0.0.1:$RP/aa/token?token_type=kbs")
if [ "$code" = 200 ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["token"].count(".")==2 and "PRIVATE KEY" in d["tee_keypair"]' "$T/rest-token" 2>/dev/null; then
  ok "REST GET /aa/token?token_type=kbs"
else fail "REST GET /aa/token?token_type=kbs" "HTTP $code $(head -c 200 "$T/rest-token")"; fi
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$RP/aa/evidence?runtime_data=hello")
expect_eq "REST /aa/evidence answers application/octet-stream" "application/octet-stream" "$ctype"
rd=$(curl -sf "http://127.0.0.1:$RP/aa/evidence?runtime_data=hello" | python3 -c 'import json,sys; print(json.load(sys.stdin)["report_data"])' 2>/dev/null)
expect_eq "REST GET /aa/evidence?runtime_data=hello" "aGVsbG8=" "$rd"
rd=$(curl -sf "http://127.0.0.1:$RP/aa/evidence?runtime_data=AAEC&encoding=base64" | python3 -c 'import json,sys; print(json.load(sys.stdin)["report_data"])' 2>/dev/null)
expect_eq "REST /aa/evidence with encoding=base64 (URL-safe, unpadded)" "AAEC" "$rd"
expect_eq "REST /aa/token without token_type: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RP/aa/token")"
expect_eq "REST /aa/evidence with a bad encoding: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RP/aa/evidence?runtime_data=a&encoding=hex")"
expect_eq "REST /aa/token?token_type=nope: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RP/aa/token?token_type=nope")"
expect_eq "REST unknown path: 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RP/cdh/resource/default/key/1")"
expect_eq "REST POST /aa/token: 405" "405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$RP/aa/token?token_type=kbs")"

# --- ExtendRuntimeMeasurement: CoCo event log (AAEL in TCG2 entries) with a software register
expect_eq "ttRPC ExtendRuntimeMeasurement on the software TEE" "OK" \
  "$("$AC" --socket "$T/aa.sock" extend-runtime-measurement github.com/confidential-containers PullImage "busybox@sha256:0123" 2>"$T/err")"
expect_eq "ttRPC ExtendRuntimeMeasurement with RegisterIndex" "OK" \
  "$("$AC" --socket "$T/aa.sock" extend-runtime-measurement d op c --register-index 3 2>"$T/err")"
if grep -qa "LEAA.*github.com/confidential-containers PullImage busybox@sha256:0123" "$T/eventlog"; then ok "event log holds the AAEL-tagged entry"; else fail "event log holds the AAEL-tagged entry"; fi
"$AC" --socket "$T/aa.sock" extend-runtime-measurement "two words" op c >"$T/out" 2>"$T/err"
expect_match "malformed event (domain with a space): INVALID_ARGUMENT" "INVALID_ARGUMENT.*domain" "$(cat "$T/err")"

# --- refusals reach the caller with a code and the KBS's reason
SP=$(free_port)
start_kbs strict "$SP" --admin-key "admin=$T/admin.pub" || fail "strict KBS started"
if start_aa strict --danger-software-tee --kbs-url "https://127.0.0.1:$SP" --kbs-cert "$T/strict/tls-cert.pem" --rest-addr none; then
  "$AC" --socket "$T/strict.sock" get-token >"$T/out" 2>"$T/err"
  expect_match "KBS without --danger-accept-software-tee: GetToken is PERMISSION_DENIED with the KBS's reason" "PERMISSION_DENIED.*401.*sample" "$(cat "$T/err")"
else fail "agent for the strict KBS started"; fi
DP=$(free_port)
# (KBS from guest-components' AA_KBC_PARAMS, as with no config file and no --kbs-url)
if AA_KBC_PARAMS="cc_kbc::http://127.0.0.1:$DP" start_aa down --danger-software-tee --rest-addr none; then
  "$AC" --socket "$T/down.sock" get-token >"$T/out" 2>"$T/err"
  expect_match "KBS (from AA_KBC_PARAMS) down: GetToken is UNAVAILABLE naming the address" "UNAVAILABLE.*127\.0\.0\.1:$DP" "$(cat "$T/err")"
  DOWN_PID=$AA_PID
  kill -TERM "$DOWN_PID"; wait_gone "$DOWN_PID" 5
  [ ! -e "$T/down.sock" ] && ok "SIGTERM: the agent exits and removes its socket" || fail "SIGTERM removes the socket"
else fail "agent for a KBS that is down started"; fi
if "$AA" --danger-software-tee --attestation_sock "$T/y.sock" --rest-addr "127.0.0.1:$RP" >"$T/out" 2>"$T/err"; then
  fail "REST port taken: the agent refuses to start" "it started"
else
  expect_match "REST port taken: start fails naming the address" "127\.0\.0\.1:$RP" "$(cat "$T/err")"
fi
if "$AA" --danger-software-tee --attestation_sock "$T/aa.sock" --rest-addr none >"$T/out" 2>"$T/err"; then
  fail "a second agent on a live socket refuses to start" "it started"
else
  expect_match "a second agent on a live socket refuses to start" "another process is listening" "$(cat "$T/err")"
fi
expect_eq "the first agent still answers after the refused second start" "sample" "$("$AC" --socket "$T/aa.sock" get-tee-type 2>/dev/null)"
grep -q panicked "$T"/*.log "$T/err" 2>/dev/null && fail "no panic in any log" || ok "no panic in any log"

finish
