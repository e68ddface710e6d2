//! `rats-tls-server`: the C rats-tls sample server's flags and echo behaviour, on rustls.
use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use rats_tls::app::{self, ServerOptions};

#[derive(Parser, Debug)]
#[command(name = "rats-tls-server", about = "RA-TLS sample echo server (C rats-tls compatible flags)")]
struct Args {
    #[command(flatten)]
    common: app::SampleFlags,
    /// Interop testing only: write the evidence under this CBOR tag (e.g. 0x1a7504) so a C client with
    /// `-v nullverifier` parses our claims buffer and checks the key binding.
    #[arg(long = "danger-interop-dice-tag", value_parser = parse_u64)]
    danger_interop_dice_tag: Option<u64>,
    /// Exit after serving this many connections (0: forever).
    #[arg(long = "max-accepts", default_value_t = 0)]
    max_accepts: usize,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).map_err(|e| e.to_string()),
        None => s.parse().map_err(|e: std::num::ParseIntError| e.to_string()),
    }
}

fn main() -> Result<()> {
    let a = Args::parse();
    app::init_log(&a.common.log_level);
    println!("    \x1b[94mWelcome to RATS-TLS sample server (Rust)\x1b[0m");
    app::check_wrappers(&a.common.tls, &a.common.crypto)?;
    if a.common.endorsements {
        log::warn!("-e/--endorsements: endorsements are not produced by this implementation");
    }
    let mut att = app::attester_from_name(&a.common.attester, a.common.key_algorithm()?)?;
    // the C sample server's custom claims (value sizes include the NUL, as sizeof() in C)
    att = att.claim("key_0", b"value_0\0".to_vec()).claim("key_1", b"value_1\0".to_vec());
    if let Some(t) = a.danger_interop_dice_tag {
        log::warn!("--danger-interop-dice-tag: evidence mislabelled with CBOR tag {t:#x}; no real verifier accepts it");
        att = att.tag_override(t, rats_tls::danger::InteropTagOverride);
    }
    let mutual = if a.common.mutual {
        Some(
            app::verifier_from_name(
                &a.common.verifier,
                app::hardware_verifiers(a.common.collateral.as_deref(), a.common.at.as_deref())?,
                a.common.danger,
            )?
            .with_policy(std::sync::Arc::new(|p: &rats_tls::PeerAttestation| {
                app::print_claims(p);
                Ok(())
            })),
        )
    } else {
        None
    };
    let config = app::server_setup(&att, mutual).context("building the RA-TLS server identity")?;
    let addr = a.common.addr();
    let listener = TcpListener::bind(&addr).with_context(|| format!("binding {addr}"))?;
    log::info!("Waiting for connections on {addr} ...");
    let opts = ServerOptions {
        timeout: Duration::from_millis(a.common.timeout_ms),
        max_accepts: (a.max_accepts > 0).then_some(a.max_accepts),
        ..Default::default()
    };
    app::serve_echo(listener, config, opts)?;
    Ok(())
}
