//! `rats-tls-client`: the C rats-tls sample client's flags and behaviour, on rustls.
use anyhow::{Context, Result};
use clap::Parser;
use rats_tls_tools::{echo, output, SampleFlags};

#[derive(Parser, Debug)]
#[command(name = "rats-tls-client", about = "RA-TLS sample client (C rats-tls compatible flags)")]
struct Args {
    #[command(flatten)]
    common: SampleFlags,
    /// Talk to verdictd: send its JSON echo command.
    #[arg(short = 'E', long = "verdictd")]
    verdictd: bool,
}

fn main() -> Result<()> {
    let a = Args::parse();
    output::init_tracing(&a.common.log_level);
    a.common.check_wrappers()?;
    let att = a.common.attester_config()?;
    let verifier = a.common.peer_verifier()?.with_policy(output::printing_policy());
    let addr = a.common.addr();
    let msg = if a.verdictd { echo::VERDICTD_ECHO } else { echo::HELLO };
    let reply = echo::run_client(&att, verifier, &addr, msg.as_bytes(), a.common.timeout())
        .with_context(|| format!("RA-TLS exchange with {addr}"))?;
    println!("Server: {reply}");
    Ok(())
}
