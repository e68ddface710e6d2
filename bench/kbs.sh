#!/usr/bin/env bash
# Benchmark: concurrent clients doing the complete RCAR handshake (auth, software-TEE evidence,
# attest, EAR issue) plus a resource fetch and JWE decryption, against the real `kbs` over HTTPS
# on loopback. The load generator is `kbs-client bench` (Rust, one kept-alive connection per worker).
# Goal on a 2-core machine: >= 2000 complete attest+fetch per second with p99 <= 5 ms.
# Runs each concurrency in KBS_BENCH_CONCURRENCY (default "2 4") KBS_BENCH_RUNS times (default 1)
# and prints throughput, p50/p99, CPU per operation (server and client) and the ratio to the goal.
# Client and server share the machine's CPUs, so ops/s <= CPUs / (server + client CPU per op).
#
# Peer, same run, same load generator and flow: trustee's KBS (confidential-containers/trustee
# 78962cd4, built-in AS, sample verifier; ../shared/peers/build.sh trustee-kbs, started by the peer's
# trustee-kbs-start.sh with RUST_LOG=warn). Its start script serves plain HTTP, so for the ratio our KBS
# is measured a second time with --danger-plain-http; each concurrency runs ours then trustee's back
# to back. Goal: >= 3x trustee's flows/s and <= 0.15x its server CPU per flow. KBS_BENCH_PEER=0 skips
# the peer (the run then fails: a missing peer is not a result).
set -u
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release
KBS=$BIN/kbs
CLI=$BIN/kbs-client
DUR=${KBS_BENCH_SECONDS:-10}
CONCS=${KBS_BENCH_CONCURRENCY:-2 4}
RUNS=${KBS_BENCH_RUNS:-1}
export RUST_BACKTRACE=0
for b in "$KBS" "$CLI"; do [ -x "$b" ] || { echo "missing $b (cargo build --release -p kbs -p kbs-client)"; exit 1; }; done
T=$(mktemp -d /tmp/kbs-bench.XXXXXX)
PID=
HPID=
TPID=
trap 'for p in $PID $HPID $TPID; do kill -9 $p 2>/dev/null; done; rm -rf "$T"' EXIT
PORT=$((20000 + RANDOM % 20000))
"$CLI" gen-admin-key --out "$T/admin" >/dev/null
"$KBS" --data-dir "$T/d" --listen 127.0.0.1:$PORT --danger-accept-software-tee --admin-key "admin=$T/admin.pub" ${KBS_SERVER_ARGS:-} >"$T/log" 2>&1 &
PID=$!
disown "$PID"
for _ in $(seq 1 100); do curl -sk --max-time 1 https://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.05; done
C=(--url https://127.0.0.1:$PORT --cert "$T/d/tls-cert.pem")
"$CLI" set-resource "${C[@]}" --admin-key "$T/admin.key" default/key/1 --value bench-secret >/dev/null
cat >"$T/p.rego" <<'REGO'
package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample
REGO
"$CLI" set-resource-policy "${C[@]}" --admin-key "$T/admin.key" "$T/p.rego" >/dev/null
echo "machine: $(nproc) CPUs; other load matters: wall-clock figures are only comparable at a low load average"
fail=0
for CONC in $CONCS; do
    for run in $(seq 1 "$RUNS"); do
        echo "--- c=$CONC run $run: load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
        "$CLI" bench --danger-software-tee "${C[@]}" --concurrency "$CONC" --duration "$DUR" --server-pid "$PID" --expect bench-secret \
            --json-out "$T/r.json" --label "kbs (ours, HTTPS, c=$CONC)" kbs:///default/key/1 || { fail=1; continue; }
        python3 - "$T/r.json" "$(nproc)" <<'PY2'
import json, sys
r = json.load(open(sys.argv[1])); cpus = int(sys.argv[2])
ok = r["ops_per_sec"] >= 2000 and r["p99_ms"] <= 5.0
s, c = r.get("server_cpu_us_per_op"), r.get("client_cpu_us_per_op")
cap = f"; CPU bound on {cpus} idle CPUs ~ {cpus * 1e6 / (s + c):.0f} ops/s" if s and c else ""
print(f"goal (>= 2000 ops/s, p99 <= 5 ms): {'met' if ok else 'NOT met'}: "
      f"throughput {r['ops_per_sec'] / 2000:.2f}x of goal, p99 {r['p99_ms']:.2f} ms ({5.0 / max(r['p99_ms'], 1e-9):.2f}x of budget); "
      + (f"CPU per op server {s:.0f} us + client {c:.0f} us{cap}" if s and c else "CPU per op n/a"))
PY2
    done
done
# Hardware evidence cannot be bound to a fresh RCAR nonce here, so its cost is shown by replaying
# real vectors through the verifier-only path: `tee-cli verify --bench-loop` runs the same
# `tee::VerifierSet` the KBS's Attestation Service calls (warm collateral/VCEK caches, as a running
# KBS has them). The projection adds that cost to the measured server+client CPU per operation.
TEECLI=$BIN/tee-cli
if [ -x "$TEECLI" ] && [ -f "$T/r.json" ]; then
    D=tests/data/tee; AT=2025-06-25T00:00:00Z
    cp "$D/snp/test-vcek.der" "$T/"
    echo "--- hardware evidence, verifier-only path (real vectors, warm caches, N=1000)"
    for spec in "sgx:--tee sgx --evidence $D/dcap/sgx_quote_v3.bin --collateral $D/dcap" \
                "tdx:--tee tdx --evidence $D/dcap/tdx_quote_v4.bin --collateral $D/dcap" \
                "snp:--tee snp --evidence $D/snp/test-report.bin --collateral $T"; do
        name=${spec%%:*}
        # shellcheck disable=SC2086
        j=$("$TEECLI" verify ${spec#*:} --at "$AT" --danger-skip-report-data --bench-loop 1000 2>/dev/null) || { echo "$name: tee-cli failed"; fail=1; continue; }
        python3 - "$name" "$j" "$T/r.json" "$(nproc)" <<'PY3'
import json, sys
name, j, r, cpus = sys.argv[1], json.loads(sys.argv[2]), json.load(open(sys.argv[3])), int(sys.argv[4])
v = j["warm_us"]; s, c = r.get("server_cpu_us_per_op") or 0, r.get("client_cpu_us_per_op") or 0
print(f"{name}: verification {v:.0f} us/op warm; projected attest+fetch with {name} evidence on {cpus} idle CPUs "
      f"~ {cpus * 1e6 / (s + c + v):.0f} ops/s (server {s:.0f} + client {c:.0f} + verify {v:.0f} us)")
PY3
    done
fi
# --- peer: trustee's KBS against ours over plain HTTP, same flow, same load generator
if [ "${KBS_BENCH_PEER:-1}" = 0 ]; then echo "peer: skipped (KBS_BENCH_PEER=0)"; exit 1; fi
PEERS=${PEERS_DIR:-../shared/peers}
[ -x "$PEERS/build.sh" ] || { echo "peer: no $PEERS/build.sh next to the repository: cannot measure trustee's KBS"; exit 1; }
TK=$("$PEERS/build.sh" trustee-kbs 2>"$T/peer-build.log" | tail -n 1)
[ -x "$TK/bin/kbs" ] || { echo "peer: build.sh trustee-kbs failed:"; tail -20 "$T/peer-build.log"; exit 1; }
TPORT=$((20000 + RANDOM % 20000))
TRUSTEE_KBS_DIR=$TK RUST_LOG=warn bash "$PEERS/trustee-kbs-start.sh" "$TPORT" "$T/trustee" bench-secret >"$T/trustee-start.log" 2>&1 \
    || { echo "peer: trustee's KBS did not start:"; tail -20 "$T/trustee-start.log"; exit 1; }
TPID=$(cat "$T/trustee/kbs.pid")
HPORT=$((20000 + RANDOM % 20000))
"$KBS" --data-dir "$T/h" --listen 127.0.0.1:$HPORT --danger-plain-http --danger-accept-software-tee --admin-key "admin=$T/admin.pub" ${KBS_SERVER_ARGS:-} >"$T/hlog" 2>&1 &
HPID=$!
disown "$HPID"
for _ in $(seq 1 100); do curl -s --max-time 1 http://127.0.0.1:$HPORT/healthz >/dev/null 2>&1 && break; sleep 0.05; done
H=(--url http://127.0.0.1:$HPORT)
"$CLI" set-resource "${H[@]}" --admin-key "$T/admin.key" default/key/1 --value bench-secret >/dev/null
"$CLI" set-resource-policy "${H[@]}" --admin-key "$T/admin.key" "$T/p.rego" >/dev/null
echo "--- peer: trustee's KBS $(basename "$TK") (built-in AS, sample verifier, RUST_LOG=warn) vs ours, both plain HTTP"
for CONC in $CONCS; do
    for run in $(seq 1 "$RUNS"); do
        echo "--- c=$CONC run $run: load average $(cut -d' ' -f1-3 /proc/loadavg) before the pair"
        "$CLI" bench --danger-software-tee "${H[@]}" --concurrency "$CONC" --duration "$DUR" --server-pid "$HPID" --expect bench-secret \
            --json-out "$T/o.json" --label "kbs (ours, HTTP, c=$CONC)" kbs:///default/key/1 || { fail=1; continue; }
        "$CLI" bench --danger-software-tee --url "http://127.0.0.1:$TPORT" --concurrency "$CONC" --duration "$DUR" --server-pid "$TPID" --expect bench-secret \
            --json-out "$T/t.json" --label "trustee kbs (HTTP, c=$CONC)" kbs:///default/key/1 || { fail=1; continue; }
        python3 - "$T/o.json" "$T/t.json" <<'PY4' || fail=1
import json, sys
o, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
fr = o["ops_per_sec"] / max(t["ops_per_sec"], 1e-9)
so, st = o.get("server_cpu_us_per_op"), t.get("server_cpu_us_per_op")
cr = so / st if so and st else None
ok = fr >= 3.0 and cr is not None and cr <= 0.15
print(f"ratio ours/trustee: flows/s {o['ops_per_sec']:.0f}/{t['ops_per_sec']:.0f} = {fr:.2f}x (goal >= 3x); "
      + (f"server CPU per flow {so:.0f}/{st:.0f} us = {cr:.2f}x (goal <= 0.15x)" if cr is not None else "server CPU per flow n/a")
      + f"; p99 {o['p99_ms']:.2f}/{t['p99_ms']:.2f} ms; goal {'met' if ok else 'NOT met'}")
PY4
    done
done
exit $fail
