//! `tee-cli parse`: decode evidence without verifying it (Hygon CSV, which is parse-only).

use std::path::PathBuf;

use anyhow::{bail, Result};
use tee::Tee;

#[derive(clap::Args)]
pub struct Args {
    /// TEE of the evidence (only `csv`; the others are verified with `verify`).
    #[arg(long)]
    tee: String,
    /// Evidence file: trustee-shaped JSON, or `{"tee","evidence"}` as printed by `evidence`.
    #[arg(long)]
    evidence: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let tee: Tee = a.tee.parse()?;
    if tee != Tee::Csv {
        bail!("parse supports only csv (use `verify` for {tee})");
    }
    // The same unwrapping of `{"tee","evidence"}` files as `verify`.
    let bytes = match super::verify::read_input(tee, &a.evidence)? {
        super::verify::Input::Json(b) | super::verify::Input::Raw(b) => b,
    };
    let ev = tee::csv::parse_evidence(&bytes)?;
    let sig = match tee::csv::verify_report_signature(&ev.report, &ev.pek) {
        Ok(()) => "valid (by cert_chain.pek; the PEK itself is not verified)".to_string(),
        Err(e) => format!("INVALID: {e}"),
    };
    let out = serde_json::json!({
        "tee": tee,
        "verified": false,
        "note": tee::csv::PARSE_ONLY,
        "report_signature_by_pek": sig,
        "fields": tee::csv::fields(&ev),
    });
    // A closed pipe (`| head`) ends the command quietly instead of panicking in println!.
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&out)?) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
