//! Load generator: `--concurrency` workers, each on its own kept-alive connection, each doing a
//! complete RCAR handshake (auth + software-TEE evidence + attest) and a resource fetch + JWE
//! decryption per operation. Prints throughput, p50/p99 latency and CPU (client, and server if
//! `--server-pid` is given).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use attestation_agent::rcar::{HttpClient, RcarClient};
use clap::Args;
use kbs_protocol::jwk::KeyKind;
use kbs_protocol::uri::ResourceUri;

use super::{Conn, TeeOpts};

#[derive(Args, Debug)]
pub struct Bench {
    #[command(flatten)]
    conn: Conn,
    // The load is software-TEE evidence: --danger-software-tee is required.
    #[command(flatten)]
    tee: TeeOpts,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds to run (after a 1 s warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Generate a new TEE key for every operation (default: one per worker, like an AA).
    #[arg(long)]
    fresh_key: bool,
    /// PID of the KBS, to report its CPU use.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Expected resource content (checked on every fetch).
    #[arg(long)]
    expect: Option<String>,
    /// Label printed in the result line.
    #[arg(long, default_value = "kbs")]
    label: String,
    uri: String,
    /// Write a machine-readable summary here.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Flood mode: each operation is a bare `POST /kbs/v0/auth` that never attests (what an
    /// unauthenticated caller can do to the session table); non-200 answers count as errors.
    #[arg(long)]
    auth_flood: bool,
}

/// One bare RCAR auth on the worker's connection; Ok(true) if the KBS answered 200.
async fn bare_auth(http: &mut HttpClient) -> Result<bool> {
    const BODY: &[u8] = br#"{"version":"0.4.0","tee":"sample","extra-params":""}"#;
    let r =
        http.send(hyper::Method::POST, "/kbs/v0/auth", &[("content-type", "application/json")], BODY.to_vec()).await?;
    Ok(r.status == 200)
}

/// utime + stime of a process in seconds (from /proc/<pid>/stat).
fn cpu_secs(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

pub async fn run(a: Bench) -> Result<()> {
    let uri = ResourceUri::parse(&a.uri)?;
    let attester = a.tee.software_attester("bench")?;
    let warmup = Duration::from_secs(1);
    let run_for = Duration::from_secs_f64(a.duration);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + run_for;
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency {
        let http = a.conn.http()?;
        let uri = uri.clone();
        let fresh = a.fresh_key;
        let expect = a.expect.clone();
        let flood = a.auth_flood;
        let attester = attester.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = RcarClient::new(http, attester, KeyKind::EcP256)?;
            if flood {
                let mut lat = Vec::with_capacity(100_000);
                let mut errors = 0u64;
                while Instant::now() < end {
                    let t0 = Instant::now();
                    match bare_auth(c.http()).await {
                        Ok(true) if t0 >= measure_from => lat.push(t0.elapsed().as_micros() as u64),
                        Ok(true) => {}
                        _ => errors += 1,
                    }
                }
                return anyhow::Ok((lat, errors));
            }
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                if fresh {
                    c.rotate_key(KeyKind::EcP256)?;
                }
                let r = async {
                    c.handshake().await?;
                    c.get_resource(&uri).await
                }
                .await;
                match r {
                    Ok(data) => {
                        if let Some(e) = &expect {
                            if data != e.as_bytes() {
                                errors += 1;
                                continue;
                            }
                        }
                        if t0 >= measure_from {
                            lat.push(t0.elapsed().as_micros() as u64);
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    tokio::time::sleep_until((measure_from).into()).await;
    let server_cpu0 = a.server_pid.and_then(|p| cpu_secs(&p.to_string()));
    let client_cpu0 = cpu_secs("self");
    let t_measure = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        all.extend(l);
        errors += e;
    }
    let wall = t_measure.elapsed().as_secs_f64().max(0.001);
    let server_secs = server_cpu0.and_then(|c0| a.server_pid.and_then(|p| cpu_secs(&p.to_string())).map(|c1| c1 - c0));
    let client_secs = client_cpu0.and_then(|c0| cpu_secs("self").map(|c1| c1 - c0));
    if all.is_empty() {
        bail!("no successful operation ({errors} errors)");
    }
    // CPU over the measured window (from the end of the warm-up until the last worker stopped):
    // as a share of one CPU, and per complete operation.
    let server_cpu = server_secs.map(|s| s / wall * 100.0);
    let client_cpu = client_secs.map(|s| s / wall * 100.0);
    let server_us = server_secs.map(|s| s * 1e6 / all.len() as f64);
    let client_us = client_secs.map(|s| s * 1e6 / all.len() as f64);
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    let ops = all.len() as f64 / run_for.as_secs_f64();
    let (p50, p99) = (pct(0.50), pct(0.99));
    let what = if a.auth_flood { "bare auth (flood)" } else { "complete attest+fetch" };
    println!(
        "{}: {} {what} in {:.1} s = {:.0} ops/s; latency p50 {:.2} ms p99 {:.2} ms; errors {}; cpu server {} client {}; cpu per op server {} client {}",
        a.label,
        all.len(),
        run_for.as_secs_f64(),
        ops,
        p50,
        p99,
        errors,
        server_cpu.map(|c| format!("{c:.0}%")).unwrap_or_else(|| "n/a".into()),
        client_cpu.map(|c| format!("{c:.0}%")).unwrap_or_else(|| "n/a".into()),
        server_us.map(|c| format!("{c:.0} us")).unwrap_or_else(|| "n/a".into()),
        client_us.map(|c| format!("{c:.0} us")).unwrap_or_else(|| "n/a".into()),
    );
    if let Some(p) = &a.json_out {
        let j = serde_json::json!({"ops_per_sec": ops, "p50_ms": p50, "p99_ms": p99, "errors": errors,
            "server_cpu_pct": server_cpu, "client_cpu_pct": client_cpu, "server_cpu_us_per_op": server_us,
            "client_cpu_us_per_op": client_us, "count": all.len(), "concurrency": a.concurrency});
        std::fs::write(p, j.to_string())?;
    }
    Ok(())
}
