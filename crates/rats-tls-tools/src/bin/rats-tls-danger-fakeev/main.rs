//! `rats-tls-danger-fakeev`: **TEST ONLY**. The sample server and client (`rats-tls-server` /
//! `rats-tls-client` flags) with one more attester and verifier name, `fakeev`: the unsigned
//! SGX-quote-shaped evidence of the C rats-tls peer build's test plugins ([`fakeev`]). The interop
//! suite uses it to exchange DICE evidence with the C peer in both directions, and mutually, without
//! TEE hardware. Such evidence proves nothing; the shipped tools have no name for it and refuse it.
mod fakeev;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rats_tls::{AttesterConfig, EvidenceVerifiers, PeerVerifier};
use rats_tls_tools::echo::{self, ServerOptions};
use rats_tls_tools::{output, SampleFlags};

#[derive(Parser, Debug)]
#[command(
    name = "rats-tls-danger-fakeev",
    about = "TEST ONLY: the sample server/client, also speaking the C peer's unsigned fakeev evidence (-a fakeev, -v fakeev)"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The sample echo server.
    Server {
        #[command(flatten)]
        common: SampleFlags,
        #[command(flatten)]
        test: TestFlags,
        /// Exit after serving this many connections (0: forever).
        #[arg(long = "max-accepts", default_value_t = 0)]
        max_accepts: usize,
    },
    /// The sample client.
    Client {
        #[command(flatten)]
        common: SampleFlags,
        #[command(flatten)]
        test: TestFlags,
    },
}

#[derive(clap::Args, Debug)]
struct TestFlags {
    /// Negative tests: the fakeev attester binds its quote to report data with one bit flipped, so
    /// every fakeev verifier must refuse it. Needs `-a fakeev`.
    #[arg(long = "tamper-report-data")]
    tamper_report_data: bool,
}

/// `-a fakeev`, else the shipped names.
fn attester(common: &SampleFlags, test: &TestFlags) -> Result<AttesterConfig> {
    if common.attester == "fakeev" {
        let a = fakeev::FakeevAttester { tamper_report_data: test.tamper_report_data };
        return Ok(AttesterConfig::with_attester(Arc::new(a)).key(common.key_algorithm()?));
    }
    if test.tamper_report_data {
        bail!("--tamper-report-data needs -a fakeev");
    }
    Ok(common.attester_config()?)
}

/// `-v fakeev` (plus the software TEE with `--danger-accept-software-tee`), else the shipped names.
fn verifier(common: &SampleFlags) -> Result<PeerVerifier> {
    let v = if common.verifier == "fakeev" {
        let mut ev = EvidenceVerifiers::empty().with(Box::new(fakeev::FakeevVerifier));
        if common.danger.accept_software_tee {
            ev = ev.accept_software_tee(tee::danger::AcceptSoftwareTee);
        }
        PeerVerifier::new(ev)
    } else {
        common.peer_verifier()?
    };
    Ok(v.with_policy(output::printing_policy()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (Cmd::Server { common, .. } | Cmd::Client { common, .. }) = &args.cmd;
    output::init_tracing(&common.log_level);
    common.check_wrappers()?;
    tracing::warn!("rats-tls-danger-fakeev: TEST ONLY; fakeev evidence is unsigned and proves nothing");
    match &args.cmd {
        Cmd::Server { common, test, max_accepts } => {
            let att = echo::with_sample_server_claims(attester(common, test)?);
            let mutual = if common.mutual { Some(verifier(common)?) } else { None };
            let opts = ServerOptions {
                timeout: common.timeout(),
                max_accepts: (*max_accepts > 0).then_some(*max_accepts),
                ..Default::default()
            };
            echo::run_server(&att, mutual, &common.addr(), opts)?;
        }
        Cmd::Client { common, test } => {
            let addr = common.addr();
            let (att, v) = (attester(common, test)?, verifier(common)?);
            let reply = echo::run_client(&att, v, &addr, echo::HELLO.as_bytes(), common.timeout())
                .with_context(|| format!("RA-TLS exchange with {addr}"))?;
            println!("Server: {reply}");
        }
    }
    Ok(())
}
