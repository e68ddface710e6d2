//! `attestation-token` (hidden): ask the standalone Attestation Service (`POST
//! /attestation/v0/attest`) for an EAR token over software-TEE evidence bound to a nonce the
//! caller chooses, and print it. For relying parties and tests; such tokens never unlock KBS
//! resources (the resource endpoint only takes the tokens of its own RCAR flow).

use super::{Conn, TeeOpts};
use anyhow::{bail, Result};
use clap::Args;
use hyper::Method;
use kbs_protocol::b64;
use kbs_protocol::binding::{runtime_data_digest, HashAlg};
use kbs_protocol::jwk::{KeyKind, TeeKeyPair};
use serde_json::json;

#[derive(Args, Debug)]
pub struct AttestationToken {
    #[command(flatten)]
    conn: Conn,
    // Only software-TEE evidence is sent: --danger-software-tee is required.
    #[command(flatten)]
    tee: TeeOpts,
    /// Attestation policy to appraise under (default: the service's `default`).
    #[arg(long)]
    policy_id: Option<String>,
    /// Nonce to bind (any string; the AS does not issue it).
    #[arg(long, default_value = "bm9uY2U=")]
    nonce: String,
}

pub async fn run(a: AttestationToken) -> Result<()> {
    let attester = a.tee.software_attester("attestation-token")?;
    eprintln!("kbs-client: using the software TEE (sample): no confidentiality");
    let key = TeeKeyPair::generate(KeyKind::EcP256)?;
    let pk = key.public()?;
    let digest = runtime_data_digest(HashAlg::Sha384, &a.nonce, &pk, "")?;
    let evidence = attester.evidence(&digest)?;
    let mut body = json!({"tee": "sample", "evidence": b64::url(&evidence.bytes), "runtime_data": {"nonce": a.nonce, "tee-pubkey": pk}});
    if let Some(p) = &a.policy_id {
        body["policy_id"] = json!(p);
    }
    let mut http = a.conn.http()?;
    let r = http
        .send(
            Method::POST,
            "/attestation/v0/attest",
            &[("content-type", "application/json")],
            serde_json::to_vec(&body)?,
        )
        .await?;
    if r.status != 200 {
        bail!("attestation service answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
    }
    println!("{}", String::from_utf8_lossy(&r.body));
    Ok(())
}
