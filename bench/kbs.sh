#!/usr/bin/env bash
# Benchmark: concurrent clients doing the complete RCAR handshake (auth, software-TEE evidence,
# attest, EAR issue) plus a resource fetch and JWE decryption, against the real `kbs` over HTTPS
# on loopback. The load generator is `kbs-client bench` (Rust, one kept-alive connection per worker).
# Goal on a 2-core machine: >= 2000 complete attest+fetch per second with p99 <= 5 ms.
# Runs each concurrency in KBS_BENCH_CONCURRENCY (default "2 4") KBS_BENCH_RUNS times (default 1)
# and prints throughput, p50/p99, CPU per operation (server and client) and the ratio to the goal.
# Client and server share the machine's CPUs, so ops/s <= CPUs / (server + client CPU per op).
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
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
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
        "$CLI" bench "${C[@]}" --concurrency "$CONC" --duration "$DUR" --server-pid "$PID" --expect bench-secret \
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
echo "peer: none measured. trustee's KBS was tried from source (docs/kbs.md, 'Peer'); it did not finish building on this shared machine within the time box, so no ratio is printed"
exit $fail
