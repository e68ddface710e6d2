//! `shelter`: `remoteattestation` (attest an RA-TLS server, print verified measurements) and
//! `mrverify` (software MRENCLAVE vs SIGSTRUCT).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use eaa::flags::VerifierFlags;
use eaa::mrenclave;
use eaa::net::Addr;
use rats_tls::KeyAlgorithm;

#[derive(Parser, Debug)]
#[command(name = "shelter", about = "EAA verifier client")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Attest an inclavared / RA-TLS server and print the verified measurements.
    Remoteattestation {
        #[arg(long, default_value = "tcp://127.0.0.1:1234")]
        addr: String,
        /// A hardware verifier name (default: the hardware verifiers), sample (needs
        /// --danger-accept-software-tee) or nullverifier (needs --danger-accept-without-evidence).
        #[arg(long, default_value = "")]
        verifier: String,
        #[command(flatten)]
        hw: VerifierFlags,
        /// Our own attester when the server wants mutual attestation.
        #[arg(long, default_value = "")]
        attester: String,
        #[arg(long = "timeout-ms", default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Send one JSON request over RA-TLS (e.g. verdictd commands) and print the reply.
    Request {
        #[arg(long, default_value = "tcp://127.0.0.1:1111")]
        addr: String,
        #[arg(long, default_value = "")]
        verifier: String,
        #[command(flatten)]
        hw: VerifierFlags,
        #[arg(long, default_value = "")]
        attester: String,
        /// The JSON request.
        #[arg(long)]
        json: String,
        #[arg(long = "timeout-ms", default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Compute MRENCLAVE in software and compare it with a SIGSTRUCT's ENCLAVEHASH.
    Mrverify {
        /// SGXS measurement stream of the enclave.
        #[arg(long, conflicts_with_all = ["image", "layout"])]
        sgxs: Option<String>,
        /// Flat enclave image (with --layout).
        #[arg(long, requires = "layout")]
        image: Option<String>,
        /// Layout JSON: {"ssa_frame_size","enclave_size","pages":[{"offset","flags","image_offset","measure_mask"}]}.
        #[arg(long, requires = "image")]
        layout: Option<String>,
        /// SIGSTRUCT (1808 bytes).
        #[arg(long)]
        sigstruct: String,
    },
}

fn main() -> Result<()> {
    rats_tls_tools::init_tracing("warn");
    match Args::parse().cmd {
        Cmd::Remoteattestation { addr, verifier, hw, attester, timeout_ms } => {
            let addr = Addr::parse(&addr)?;
            let v = hw.verifier(&verifier)?;
            let cert = rats_tls::RatsCertificate::generate(&rats_tls_tools::attester_from_name(
                &attester,
                KeyAlgorithm::EcdsaP256,
            )?)?;
            let cfg = std::sync::Arc::new(rats_tls::tls::client_config(&cert, v.clone())?);
            let r = eaa::shelter::remote_attestation(&addr, cfg, &v, Duration::from_millis(timeout_ms))
                .with_context(|| format!("remote attestation of {addr}"))?;
            if let Some(m) = &r.peer {
                println!(
                    "verified peer: tee={} hardware={} mrenclave={} mrsigner={}",
                    m.tee, m.hardware, m.mr_enclave, m.mr_signer
                );
            } else {
                println!("verified peer: no evidence (null verifier)");
            }
            if let Some(u) = &r.unverified_upstream {
                // what the forwarder's upstream said about itself or its own upstream: nobody we
                // attested checked it
                println!("UNVERIFIED upstream claims (checked by no attested peer, not part of this verdict): {u}");
            }
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Cmd::Request { addr, verifier, hw, attester, json, timeout_ms } => {
            let addr = Addr::parse(&addr)?;
            let req: serde_json::Value = serde_json::from_str(&json).context("--json is not JSON")?;
            let v = hw.verifier(&verifier)?;
            let cert = rats_tls::RatsCertificate::generate(&rats_tls_tools::attester_from_name(
                &attester,
                KeyAlgorithm::EcdsaP256,
            )?)?;
            let cfg = std::sync::Arc::new(rats_tls::tls::client_config(&cert, v.clone())?);
            let (_, reply) =
                eaa::inclavared::fetch_enclave_info(&addr, cfg, &v, Duration::from_millis(timeout_ms), &req)
                    .with_context(|| format!("request to {addr}"))?;
            println!("{reply}");
            Ok(())
        }
        Cmd::Mrverify { sgxs, image, layout, sigstruct } => {
            let (img, lay) = match (sgxs, image, layout) {
                (Some(s), _, _) => mrenclave::layout_from_sgxs(&std::fs::read(&s).with_context(|| s.clone())?)?,
                (None, Some(i), Some(l)) => {
                    let lay: mrenclave::Layout = serde_json::from_slice(&std::fs::read(&l).with_context(|| l.clone())?)
                        .with_context(|| format!("layout {l}"))?;
                    (std::fs::read(&i).with_context(|| i.clone())?, lay)
                }
                _ => bail!("give --sgxs, or --image with --layout"),
            };
            let mr = mrenclave::from_image(&img, &lay)?;
            let want =
                mrenclave::sigstruct_enclave_hash(&std::fs::read(&sigstruct).with_context(|| sigstruct.clone())?)?;
            println!("computed MRENCLAVE:     {}", hex::encode(mr));
            println!("SIGSTRUCT ENCLAVEHASH:  {}", hex::encode(want));
            if mr != want {
                bail!("MRENCLAVE mismatch");
            }
            println!("MRENCLAVE matches");
            Ok(())
        }
    }
}
