//! `tee-cli evidence`: detect the TEE and print its evidence.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use tee::attest::detect::Probe;
use tee::attest::tsm::Tsm;
use tee::{Attester, Tee};

#[derive(clap::Args)]
pub struct Args {
    /// Report data to bind (hex, at most 64 bytes; zero-padded, never truncated).
    #[arg(long)]
    report_data: String,
    /// Use this TEE instead of auto-detection.
    #[arg(long)]
    tee: Option<String>,
    /// Produce software-TEE evidence when no hardware TEE is found (development only).
    #[arg(long)]
    insecure_software_tee: bool,
    /// Root of the file system to probe (tests use a faked tree).
    #[arg(long, default_value = "/", hide = true)]
    sys_root: PathBuf,
    /// Use this pre-existing configfs-tsm entry name (tests with a faked tree).
    #[arg(long, hide = true)]
    tsm_entry: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    let rd = hex::decode(a.report_data.trim()).context("--report-data is not hex")?;
    let probe = Probe::new(&a.sys_root);
    let tee = match a.tee.as_deref() {
        Some(t) => t.parse::<Tee>()?,
        None => match probe.detect() {
            Some(t) => t,
            None if a.insecure_software_tee => Tee::Sample,
            None => bail!("{}", tee::Error::NoTeeDetected),
        },
    };
    let mut tsm = Tsm::new(probe.path("/sys/kernel/config/tsm/report"));
    if let Some(e) = a.tsm_entry {
        tsm = tsm.with_entry(e);
    }
    let attester: Box<dyn Attester> = match tee {
        Tee::Tdx => Box::new(tee::tdx::attester::TdxAttester::new(tsm, Some(probe.path("/sys/firmware/acpi/tables/data/CCEL")))),
        Tee::Snp => Box::new(tee::snp::attester::SnpAttester::new(tsm.with_privlevel(0))),
        Tee::Sgx => Box::new(tee::sgx::attester::GramineAttester::new(probe.path("/dev/attestation"))),
        Tee::Sample if a.insecure_software_tee => Box::new(tee::sample::SampleAttester::new()),
        Tee::Sample => bail!("the software TEE gives no protection; pass --insecure-software-tee to use it"),
        other => bail!("{}", tee::Error::NotAvailable { tee: other, reason: "no attester for this TEE in tee-cli".into() }),
    };
    let ev = attester.evidence(&rd)?;
    let evidence: serde_json::Value = serde_json::from_slice(&ev.bytes).context("evidence is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"tee": ev.tee, "evidence": evidence}))?);
    Ok(())
}
