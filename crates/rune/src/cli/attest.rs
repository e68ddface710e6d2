use std::path::PathBuf;

use anyhow::Context;
use rune::Runtime;

/// get evidence from a running enclave container's runtime, bound to report data (rune only)
#[derive(clap::Args, Debug)]
pub struct Args {
    /// report data to bind into the evidence, hex (at most 64 bytes)
    #[arg(long, default_value = "")]
    pub report_data: String,
    /// target info for pal_get_local_report (file; default: the report data, the software TEE's convention)
    #[arg(long)]
    pub target_info: Option<PathBuf>,
    /// file to write the evidence to
    #[arg(short, long)]
    pub output: PathBuf,
    pub container_id: String,
}

pub fn run(a: Args, rt: &Runtime) -> anyhow::Result<()> {
    let rd = rune::enclave_container::parse_hex(&a.report_data).context("--report-data")?;
    let ti = a.target_info.as_deref().map(rune::enclave_container::read_file).transpose()?;
    let evidence = rt.attest(&a.container_id, &rd, ti.as_deref())?;
    std::fs::write(&a.output, evidence).with_context(|| format!("write {}", a.output.display()))?;
    Ok(())
}
