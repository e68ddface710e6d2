//! `rats-tls-client`: the C rats-tls sample client's flags and behaviour, on rustls.
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rats_tls::app;
use rats_tls::{PeerAttestation, RatsCertificate};

#[derive(Parser, Debug)]
#[command(name = "rats-tls-client", about = "RA-TLS sample client (C rats-tls compatible flags)")]
struct Args {
    #[command(flatten)]
    common: app::SampleFlags,
    /// Talk to verdictd: send its JSON echo command.
    #[arg(short = 'E', long = "verdictd")]
    verdictd: bool,
}

fn main() -> Result<()> {
    let a = Args::parse();
    app::init_log(&a.common.log_level);
    app::check_wrappers(&a.common.tls, &a.common.crypto)?;
    let key = a.common.key_algorithm()?;
    let att = app::attester_from_name(&a.common.attester, key)?;
    let verifier = app::verifier_from_name(
        &a.common.verifier,
        app::hardware_verifiers(a.common.collateral.as_deref(), a.common.at.as_deref())?,
        a.common.danger,
    )?
    .with_policy(Arc::new(|p: &PeerAttestation| {
        app::print_claims(p);
        Ok(())
    }));
    let cert = RatsCertificate::generate(&att)?;
    let config = Arc::new(rats_tls::tls::client_config(&cert, verifier)?);
    let addr = a.common.addr();
    let msg = if a.verdictd { app::VERDICTD_ECHO } else { app::HELLO };
    let reply = app::client_exchange(&addr, config, msg.as_bytes(), Duration::from_millis(a.common.timeout_ms))
        .with_context(|| format!("RA-TLS exchange with {addr}"))?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    println!("Server: {reply}");
    if reply != app::HELLO {
        bail!("Invalid response retrieved from rats-tls server");
    }
    Ok(())
}
