//! `tee-cli verify`: verify evidence offline with collateral from files at a given time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tee::clock::{Clock, FixedClock, SystemClock};
use tee::dcap::CollateralStore;
use tee::snp::SnpContext;
use tee::{danger, Claims, Expected, Tee};

#[derive(clap::Args)]
pub struct Args {
    /// TEE of the evidence (sgx, tdx, snp, tpm, az-snp-vtpm, az-tdx-vtpm, cca, nvidia, csv, sample).
    #[arg(long)]
    tee: String,
    /// Evidence file: trustee-shaped JSON, `{"tee","evidence"}` as printed by `evidence`, or a raw
    /// binary quote (sgx/tdx) / report (snp).
    #[arg(long)]
    evidence: PathBuf,
    /// Expected report data (hex prefix of the field; the rest must be zero). Required unless
    /// --danger-skip-report-data.
    #[arg(long)]
    report_data: Option<String>,
    /// Do not check what the evidence is bound to (a replayed report passes): for inspecting
    /// evidence only. The claims then say `"report_data_checked": false`.
    #[arg(long, conflicts_with = "report_data")]
    danger_skip_report_data: bool,
    /// Expected init-data digest (hex).
    #[arg(long)]
    init_data: Option<String>,
    /// Directory (or file) with DCAP collateral JSON and SNP VCEK/VLEK certificates (.der/.pem).
    #[arg(long)]
    collateral: Option<PathBuf>,
    /// Verification time: unix seconds or YYYY-MM-DDTHH:MM:SSZ (default: now).
    #[arg(long)]
    at: Option<String>,
    /// SNP: required VMPL (default 0), or `any`.
    #[arg(long, default_value = "0")]
    snp_vmpl: String,
    /// Accept software-TEE evidence (no hardware protection).
    #[arg(long)]
    danger_accept_software_tee: bool,
    /// TPM: trusted root of AK certificate chains (PEM or DER; repeatable). Evidence whose
    /// `ak_cert_chain` leads to one is hardware evidence.
    #[arg(long)]
    tpm_ak_root: Vec<PathBuf>,
    /// TPM: accept evidence whose AK is not endorsed (any RSA key can sign it); its claims say
    /// `hardware: false`.
    #[arg(long)]
    danger_accept_unendorsed_tpm: bool,
    /// Benchmark: verify N times with a warm cache, then N times cold; print rates.
    #[arg(long, hide = true)]
    bench_loop: Option<u64>,
    /// Benchmark: DCAP without the verified-signature cache (dcap-qvl's one-shot path, for comparison).
    #[arg(long, hide = true)]
    bench_dcap_one_shot: bool,
}

fn parse_time(s: &str) -> Result<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    tee::dcap::collateral_time(s).with_context(|| format!("--at {s:?}: want unix seconds or YYYY-MM-DDTHH:MM:SSZ"))
}

/// Everything verification needs, loaded from --collateral.
struct Ctx {
    dcap: Arc<CollateralStore>,
    snp: Arc<SnpContext>,
    /// Trusted Arm CCA platform keys (JWK files in --collateral).
    cpaks: Vec<Vec<u8>>,
    /// Verified NVIDIA device chains (the NVIDIA root is built in).
    nvidia: Arc<tee::nvidia::ChainCache>,
}

/// The opt-ins and TPM roots of one `verify` invocation.
struct Trust {
    software_tee: Option<danger::AcceptSoftwareTee>,
    unendorsed_tpm: Option<danger::AcceptUnendorsedTpm>,
    tpm_ak_roots: Vec<Vec<u8>>,
}

fn load_tpm_roots(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    let mut roots = Vec::new();
    for p in paths {
        let b = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        roots.extend(
            tee::tpm::certs::roots_from_certs(Tee::Tpm, &b)
                .with_context(|| format!("--tpm-ak-root {}", p.display()))?,
        );
    }
    Ok(roots)
}

fn load(tee: Tee, dir: Option<&Path>, vmpl: Option<u32>, one_shot: bool) -> Result<Ctx> {
    let dcap = if one_shot { CollateralStore::new().without_sig_cache() } else { CollateralStore::new() };
    let mut snp = SnpContext::default();
    snp.policy.vmpl = vmpl;
    let mut cpaks = Vec::new();
    if let Some(d) = dir {
        dcap.load_path(tee, d)?;
        let files: Vec<PathBuf> = if d.is_dir() {
            std::fs::read_dir(d)?.filter_map(|e| e.ok().map(|e| e.path())).collect()
        } else {
            vec![d.to_path_buf()]
        };
        for f in files {
            let ext = f.extension().and_then(|x| x.to_str()).unwrap_or("");
            if ext == "json" {
                if let Ok(k) = std::fs::read(&f)
                    .map_err(|e| e.to_string())
                    .and_then(|b| tee::cca::cpak_from_jwk(&b).map_err(|e| e.to_string()))
                {
                    cpaks.push(k);
                }
            }
            if ext == "der" || ext == "pem" {
                let b = std::fs::read(&f)?;
                let der = if ext == "pem" { pem_first(&b) } else { Some(b) };
                if let Some(der) = der {
                    let _ = snp.store.insert_der(&der);
                }
            }
        }
    }
    Ok(Ctx { dcap: Arc::new(dcap), snp: Arc::new(snp), cpaks, nvidia: Arc::new(tee::nvidia::ChainCache::new()) })
}

fn pem_first(b: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let s = std::str::from_utf8(b).ok()?;
    let first = s.split("-----END CERTIFICATE-----").next()?;
    let body: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

pub(crate) enum Input {
    Json(Vec<u8>),
    Raw(Vec<u8>),
}

pub(crate) fn read_input(tee: Tee, path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) => {
            if let (Some(t), Some(ev)) = (v.get("tee").and_then(|t| t.as_str()), v.get("evidence")) {
                if t != tee.as_str() {
                    bail!("evidence file is for TEE {t}, not {tee}");
                }
                return Ok(Input::Json(serde_json::to_vec(ev)?));
            }
            Ok(Input::Json(bytes))
        }
        Err(_) => Ok(Input::Raw(bytes)),
    }
}

fn verify_once(
    tee: Tee,
    input: &Input,
    exp: &Expected<'_>,
    ctx: &Ctx,
    now: u64,
    trust: &Trust,
) -> Result<Claims, tee::Error> {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now));
    match input {
        Input::Raw(raw) => match tee {
            Tee::Sgx => tee::sgx::verify_raw_quote(raw, exp, &ctx.dcap, now),
            Tee::Tdx => tee::tdx::verify_raw_quote(raw, exp, &ctx.dcap, now),
            Tee::Snp => tee::snp::verify_raw_report(raw, None, exp, &ctx.snp, now),
            Tee::Cca => tee::cca::verify_token(raw, exp, &ctx.cpaks),
            other => {
                Err(tee::Error::malformed(other, "raw binary evidence is only accepted for sgx, tdx, snp and cca"))
            }
        },
        Input::Json(j) => {
            // CSV is parse-only: its verifier parses and then always refuses (a specific error
            // rather than "not enabled").
            // TPM: always present, so unendorsed evidence is refused with `UnendorsedAk` (not "no
            // verifier"); hardware only with an AK chain to a --tpm-ak-root.
            let mut tpm = tee::tpm::TpmVerifier::new(trust.tpm_ak_roots.clone(), clock.clone());
            if let Some(o) = trust.unendorsed_tpm {
                tpm = tpm.accept_unendorsed(o);
            }
            let mut set =
                tee::VerifierSet::all_hardware(ctx.dcap.clone(), ctx.snp.clone(), ctx.cpaks.clone(), clock.clone())
                    .with(Box::new(tee::csv::CsvVerifier))
                    .with(Box::new(tee::nvidia::NvidiaVerifier::new(clock).with_cache(ctx.nvidia.clone())))
                    .with(Box::new(tpm));
            if let Some(o) = trust.software_tee {
                set = set.accept_software_tee(o);
            }
            set.verify(tee, j, exp)
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let tee: Tee = a.tee.parse()?;
    let rd = a.report_data.as_deref().map(hex::decode).transpose().context("--report-data is not hex")?;
    let idd = a.init_data.as_deref().map(hex::decode).transpose().context("--init-data is not hex")?;
    let now = match a.at.as_deref() {
        Some(s) => parse_time(s)?,
        None => SystemClock.now_unix(),
    };
    let vmpl = match a.snp_vmpl.as_str() {
        "any" => None,
        n => Some(n.parse::<u32>().context("--snp-vmpl: a number or `any`")?),
    };
    let exp = match (rd.as_deref(), a.danger_skip_report_data) {
        (Some(rd), _) => Expected::new(rd),
        (None, true) => {
            tracing::warn!("--danger-skip-report-data: not checking what the evidence is bound to");
            Expected::unbound(danger::SkipReportDataCheck)
        }
        (None, false) => bail!("--report-data HEX is required (or --danger-skip-report-data to not check the binding)"),
    }
    .with_init_data(idd.as_deref());
    if a.danger_accept_software_tee {
        tracing::warn!("--danger-accept-software-tee: software-TEE evidence accepted (no hardware isolation)");
    }
    if a.danger_accept_unendorsed_tpm {
        tracing::warn!("--danger-accept-unendorsed-tpm: TPM evidence with an unendorsed AK accepted (hardware: false)");
    }
    let trust = Trust {
        software_tee: a.danger_accept_software_tee.then_some(danger::AcceptSoftwareTee),
        unendorsed_tpm: a.danger_accept_unendorsed_tpm.then_some(danger::AcceptUnendorsedTpm),
        tpm_ak_roots: load_tpm_roots(&a.tpm_ak_root)?,
    };
    let input = read_input(tee, &a.evidence)?;
    let ctx = load(tee, a.collateral.as_deref(), vmpl, a.bench_dcap_one_shot)?;
    if let Some(n) = a.bench_loop {
        return bench(tee, &input, &exp, &ctx, now, &trust, n, a.collateral.as_deref(), vmpl, a.bench_dcap_one_shot);
    }
    match verify_once(tee, &input, &exp, &ctx, now, &trust) {
        Ok(c) => {
            let mut out = serde_json::to_value(&c)?;
            if let (Some(m), None) = (out.as_object_mut(), exp.bound_report_data()) {
                m.insert("report_data_checked".into(), serde_json::Value::Bool(false));
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"verified": false, "tee": tee, "error": format!("{e:?}"), "reason": e.to_string()})
            );
            bail!("rejected: {e}")
        }
    }
}

/// CPU time of this thread in seconds (Linux schedstat, ns precision), so the rate is per core
/// even on a shared machine.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

#[allow(clippy::too_many_arguments)]
fn bench(
    tee: Tee,
    input: &Input,
    exp: &Expected<'_>,
    ctx: &Ctx,
    now: u64,
    trust: &Trust,
    n: u64,
    dir: Option<&Path>,
    vmpl: Option<u32>,
    one_shot: bool,
) -> Result<()> {
    verify_once(tee, input, exp, ctx, now, trust)
        .map_err(|e| anyhow::anyhow!("benchmark input does not verify: {e}"))?;
    let t = Instant::now();
    let c0 = cpu_secs();
    for _ in 0..n {
        verify_once(tee, input, exp, ctx, now, trust)?;
    }
    let warm_wall = t.elapsed().as_secs_f64();
    let warm = match (c0, cpu_secs()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => warm_wall,
    };
    // Cold: collateral re-read from disk and parsed, no cached VEK chain.
    let cold_n = n.div_ceil(10).max(1);
    let t = Instant::now();
    let c0 = cpu_secs();
    for _ in 0..cold_n {
        let c = load(tee, dir, vmpl, one_shot)?;
        verify_once(tee, input, exp, &c, now, trust)?;
    }
    let cold_wall = t.elapsed().as_secs_f64();
    let cold = match (c0, cpu_secs()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => cold_wall,
    };
    println!(
        "{}",
        serde_json::json!({
            "tee": tee, "warm_iterations": n, "warm_per_sec": n as f64 / warm, "warm_us": warm * 1e6 / n as f64,
            "cold_iterations": cold_n, "cold_per_sec": cold_n as f64 / cold, "cold_us": cold * 1e6 / cold_n as f64,
            "warm_per_sec_wall": n as f64 / warm_wall, "cold_per_sec_wall": cold_n as f64 / cold_wall,
            "time_base": if c0.is_some() { "thread cpu time" } else { "wall clock" },
        })
    );
    Ok(())
}
