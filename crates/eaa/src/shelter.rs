//! shelter: the verifier client. `remoteattestation` attests an inclavared (or any RA-TLS server)
//! and prints the measurements it verified itself; `mrverify` is in [`crate::mrenclave`].

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use serde::Serialize;
use serde_json::{json, Value};

use crate::measurements::Measurements;
use crate::net::Addr;
use crate::Error;

/// Result of `remoteattestation`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Measurements of the RA-TLS peer, from evidence this process verified.
    pub peer: Option<Measurements>,
    /// What the peer answered to GETENCLAVEINFO: for an inclavared with `--xfer`, the upstream's
    /// measurements as *that inclavared* verified them (`"verified": true`).
    pub enclave_info: Value,
    /// What the upstream of a forwarding inclavared said in turn: verified by nobody we attested.
    /// Never part of a verdict; printed as UNVERIFIED.
    pub unverified_upstream: Option<Value>,
}

pub fn remote_attestation(
    addr: &Addr,
    client: Arc<ClientConfig>,
    verifier: &rats_tls::PeerVerifier,
    timeout: Duration,
) -> Result<Report, Error> {
    let (att, reply) =
        crate::inclavared::fetch_enclave_info(addr, client, verifier, timeout, &json!({"type": "GETENCLAVEINFO"}))?;
    let unverified_upstream = reply.get("unverified_upstream").cloned();
    Ok(Report { peer: Measurements::from_attestation(&att), enclave_info: reply, unverified_upstream })
}
