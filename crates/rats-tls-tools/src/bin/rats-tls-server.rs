//! `rats-tls-server`: the C rats-tls sample server's flags and echo behaviour, on rustls.
use anyhow::Result;
use clap::Parser;
use rats_tls_tools::echo::{self, ServerOptions};
use rats_tls_tools::{output, SampleFlags};

#[derive(Parser, Debug)]
#[command(name = "rats-tls-server", about = "RA-TLS sample echo server (C rats-tls compatible flags)")]
struct Args {
    #[command(flatten)]
    common: SampleFlags,
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
    output::init_tracing(&a.common.log_level);
    println!("    \x1b[94mWelcome to RATS-TLS sample server (Rust)\x1b[0m");
    a.common.check_wrappers()?;
    if a.common.endorsements {
        tracing::warn!("-e/--endorsements: endorsements are not produced by this implementation");
    }
    let mut att = echo::with_sample_server_claims(a.common.attester_config()?);
    if let Some(t) = a.danger_interop_dice_tag {
        tracing::warn!(
            "--danger-interop-dice-tag: evidence mislabelled with CBOR tag {t:#x}; no real verifier accepts it"
        );
        att = att.tag_override(t, rats_tls::danger::InteropTagOverride);
    }
    let mutual =
        if a.common.mutual { Some(a.common.peer_verifier()?.with_policy(output::printing_policy())) } else { None };
    let opts = ServerOptions {
        timeout: a.common.timeout(),
        max_accepts: (a.max_accepts > 0).then_some(a.max_accepts),
        ..Default::default()
    };
    echo::run_server(&att, mutual, &a.common.addr(), opts)?;
    Ok(())
}
