//! `inclavared`: RA-TLS server/forwarder (GETENCLAVEINFO), or with `--connect` a client that fetches
//! the enclave info from another inclavared.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use eaa::flags::{ServeFlags, VerifierFlags};
use eaa::inclavared::{fetch_enclave_info, Inclavared, RatsSetup};
use eaa::net::{Addr, Listener};
use rats_tls::KeyAlgorithm;

#[derive(Parser, Debug)]
#[command(name = "inclavared", about = "RA-TLS forwarder answering GETENCLAVEINFO")]
struct Args {
    /// Listen address: host:port, tcp://host:port, unix:///path or a socket path containing '/'.
    #[arg(short = 'l', long)]
    listen: Option<String>,
    /// Upstream RA-TLS server whose verified measurements are reported.
    #[arg(short = 'x', long)]
    xfer: Option<String>,
    /// Client mode: fetch GETENCLAVEINFO from this inclavared and print it.
    #[arg(short = 'c', long)]
    connect: Option<String>,
    #[arg(long, default_value = "")]
    tls: String,
    #[arg(long, default_value = "")]
    crypto: String,
    /// nullattester (default) or sample.
    #[arg(long, default_value = "")]
    attester: String,
    /// A hardware verifier name (default: the hardware verifiers), sample (needs
    /// --danger-accept-software-tee) or nullverifier (needs --danger-accept-without-evidence).
    #[arg(long, default_value = "")]
    verifier: String,
    #[command(flatten)]
    hw: VerifierFlags,
    #[command(flatten)]
    serve: ServeFlags,
    /// Require and verify client evidence.
    #[arg(short = 'm', long)]
    mutual: bool,
    /// Per-connection deadline in milliseconds: handshake and request (and each socket operation).
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    timeout_ms: u64,
    #[arg(long = "log-level", default_value = "info")]
    log_level: String,
}

fn main() -> Result<()> {
    let a = Args::parse();
    rats_tls_tools::init_tracing(&a.log_level);
    rats_tls_tools::check_wrappers(&a.tls, &a.crypto)?;
    let setup = RatsSetup {
        attester: rats_tls_tools::attester_from_name(&a.attester, KeyAlgorithm::EcdsaP256)?,
        verifier: a.hw.verifier(&a.verifier)?,
        mutual: a.mutual,
        timeout: Duration::from_millis(a.timeout_ms),
    };
    match (&a.listen, &a.connect) {
        (Some(l), None) => {
            let addr = Addr::parse(l)?;
            let xfer = a.xfer.as_deref().map(Addr::parse).transpose()?;
            let d = Arc::new(Inclavared::new(setup, xfer)?);
            let listener = Listener::bind(&addr)?;
            tracing::info!("inclavared listening on {addr}");
            d.serve(listener, a.serve.options(Duration::from_millis(a.timeout_ms)))?;
            Ok(())
        }
        (None, Some(c)) => {
            let addr = Addr::parse(c)?;
            let (_, reply) = fetch_enclave_info(
                &addr,
                setup.client_config()?,
                &setup.verifier,
                setup.timeout,
                &serde_json::json!({"type": "GETENCLAVEINFO"}),
            )
            .with_context(|| format!("GETENCLAVEINFO from {addr}"))?;
            println!("{}", serde_json::to_string_pretty(&reply)?);
            Ok(())
        }
        _ => bail!("give exactly one of --listen or --connect"),
    }
}
