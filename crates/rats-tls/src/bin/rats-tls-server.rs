//! `rats-tls-server`: the C rats-tls sample server's flags and echo behaviour, on rustls.
use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use rats_tls::app::{self, ServerOptions};
use rats_tls::KeyAlgorithm;

#[derive(Parser, Debug)]
#[command(name = "rats-tls-server", about = "RA-TLS sample echo server (C rats-tls compatible flags)")]
struct Args {
    /// Hardware verifiers' collateral: DCAP `*.json`, SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    at: Option<String>,
    /// Attester: nullattester (default), sample (software TEE), or a hardware name.
    #[arg(short = 'a', long = "attester", default_value = "")]
    attester: String,
    /// Verifier for client evidence with -m: nullverifier, sample, or a hardware name.
    #[arg(short = 'v', long = "verifier", default_value = "")]
    verifier: String,
    /// TLS wrapper (openssl/rustls: both mean rustls here).
    #[arg(short = 't', long = "tls", default_value = "")]
    tls: String,
    /// Crypto wrapper (openssl/aws-lc-rs: both mean aws-lc-rs here).
    #[arg(short = 'c', long = "crypto", default_value = "")]
    crypto: String,
    /// Require and verify the client's evidence (mutual attestation).
    #[arg(short = 'm', long = "mutual")]
    mutual: bool,
    /// Provide endorsements (not supported: accepted and ignored, as many C builds crash on it).
    #[arg(short = 'e', long = "endorsements")]
    endorsements: bool,
    /// Log level: debug, info, warn, error, fatal, off.
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    log_level: String,
    #[arg(short = 'i', long = "ip", default_value = "127.0.0.1")]
    ip: String,
    #[arg(short = 'p', long = "port", default_value_t = 1234)]
    port: u16,
    /// Debug enclave (no effect without SGX).
    #[arg(short = 'D', long = "debug-enclave")]
    debug_enclave: bool,
    /// Key algorithm of the ephemeral TLS key: p256 or rsa3072.
    #[arg(long = "key-algo", default_value = "p256")]
    key_algo: String,
    /// Per-connection handshake/I-O timeout in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    timeout_ms: u64,
    /// Interop testing only: write the evidence under this CBOR tag (e.g. 0x1a7504) so a C client with
    /// `-v nullverifier` parses our claims buffer and checks the key binding.
    #[arg(long = "insecure-interop-dice-tag", value_parser = parse_u64)]
    insecure_interop_dice_tag: Option<u64>,
    /// Exit after serving this many connections (0: forever).
    #[arg(long = "max-accepts", default_value_t = 0)]
    max_accepts: usize,
}

fn key_algo(s: &str) -> Result<KeyAlgorithm> {
    match s {
        "p256" | "ecdsa" => Ok(KeyAlgorithm::EcdsaP256),
        "rsa3072" | "rsa" => Ok(KeyAlgorithm::Rsa3072),
        o => anyhow::bail!("unknown --key-algo {o:?} (p256, rsa3072)"),
    }
}

fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).map_err(|e| e.to_string()),
        None => s.parse().map_err(|e: std::num::ParseIntError| e.to_string()),
    }
}

fn main() -> Result<()> {
    let a = Args::parse();
    app::init_log(&a.log_level);
    println!("    \x1b[94mWelcome to RATS-TLS sample server (Rust)\x1b[0m");
    app::check_wrappers(&a.tls, &a.crypto)?;
    if a.endorsements {
        log::warn!("-e/--endorsements: endorsements are not produced by this implementation");
    }
    let mut att = app::attester_from_name(&a.attester, key_algo(&a.key_algo)?)?;
    // the C sample server's custom claims (value sizes include the NUL, as sizeof() in C)
    att = att.claim("key_0", b"value_0\0".to_vec()).claim("key_1", b"value_1\0".to_vec());
    if let Some(t) = a.insecure_interop_dice_tag {
        log::warn!("--insecure-interop-dice-tag: evidence mislabelled with CBOR tag {t:#x}; no real verifier accepts it");
        att = att.tag_override(t, rats_tls::danger::InteropTagOverride);
    }
    let mutual = if a.mutual { Some(app::verifier_from_name(&a.verifier, app::hardware_verifiers(a.collateral.as_deref(), a.at.as_deref())?)?.with_policy(std::sync::Arc::new(|p: &rats_tls::PeerAttestation| { app::print_claims(p); Ok(()) }))) } else { None };
    let config = app::server_setup(&att, mutual).context("building the RA-TLS server identity")?;
    let addr = format!("{}:{}", a.ip, a.port);
    let listener = TcpListener::bind(&addr).with_context(|| format!("binding {addr}"))?;
    log::info!("Waiting for connections on {addr} ...");
    let opts = ServerOptions {
        timeout: Duration::from_millis(a.timeout_ms),
        max_accepts: (a.max_accepts > 0).then_some(a.max_accepts),
        ..Default::default()
    };
    app::serve_echo(listener, config, opts)?;
    Ok(())
}
