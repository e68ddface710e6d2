//! `rats-tls-client`: the C rats-tls sample client's flags and behaviour, on rustls.
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rats_tls::app;
use rats_tls::{KeyAlgorithm, PeerAttestation, RatsCertificate};

#[derive(Parser, Debug)]
#[command(name = "rats-tls-client", about = "RA-TLS sample client (C rats-tls compatible flags)")]
struct Args {
    /// Hardware verifiers' collateral: DCAP `*.json`, SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    at: Option<String>,
    /// Attester for mutual attestation: nullattester (default), sample, or a hardware name.
    #[arg(short = 'a', long = "attester", default_value = "")]
    attester: String,
    /// Verifier of the server's evidence: nullverifier, sample, or a hardware name (default: hardware).
    #[arg(short = 'v', long = "verifier", default_value = "")]
    verifier: String,
    #[arg(short = 't', long = "tls", default_value = "")]
    tls: String,
    #[arg(short = 'c', long = "crypto", default_value = "")]
    crypto: String,
    /// Mutual attestation (the client always presents its certificate when asked).
    #[arg(short = 'm', long = "mutual")]
    mutual: bool,
    #[arg(short = 'e', long = "endorsements")]
    endorsements: bool,
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    log_level: String,
    #[arg(short = 'i', long = "ip", default_value = "127.0.0.1")]
    ip: String,
    #[arg(short = 'p', long = "port", default_value_t = 1234)]
    port: u16,
    #[arg(short = 'D', long = "debug-enclave")]
    debug_enclave: bool,
    /// Talk to verdictd: send its JSON echo command.
    #[arg(short = 'E', long = "verdictd")]
    verdictd: bool,
    #[arg(long = "key-algo", default_value = "p256")]
    key_algo: String,
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    timeout_ms: u64,
}

fn main() -> Result<()> {
    let a = Args::parse();
    app::init_log(&a.log_level);
    app::check_wrappers(&a.tls, &a.crypto)?;
    let key = if a.key_algo == "rsa3072" { KeyAlgorithm::Rsa3072 } else { KeyAlgorithm::EcdsaP256 };
    let att = app::attester_from_name(&a.attester, key)?;
    let verifier = app::verifier_from_name(&a.verifier, app::hardware_verifiers(a.collateral.as_deref(), a.at.as_deref())?)?
        .with_policy(Arc::new(|p: &PeerAttestation| {
            app::print_claims(p);
            Ok(())
        }));
    let cert = RatsCertificate::generate(&att)?;
    let config = Arc::new(rats_tls::tls::client_config(&cert, verifier)?);
    let addr = format!("{}:{}", a.ip, a.port);
    let msg = if a.verdictd { app::VERDICTD_ECHO } else { app::HELLO };
    let reply = app::client_exchange(&addr, config, msg.as_bytes(), Duration::from_millis(a.timeout_ms))
        .with_context(|| format!("RA-TLS exchange with {addr}"))?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    println!("Server: {reply}");
    if reply != app::HELLO {
        bail!("Invalid response retrieved from rats-tls server");
    }
    Ok(())
}
