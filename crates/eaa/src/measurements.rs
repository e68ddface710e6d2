//! The measurements EAA reports and decides on, read from verified claims of any TEE.

use rats_tls::PeerAttestation;
use serde::{Deserialize, Serialize};

/// Identity of an attested peer in the SGX vocabulary of the original EAA. For other TEEs the
/// closest fields are used: the launch measurement as `mr_enclave` (for the software TEE its
/// SHA-384 measurement, 48 bytes), no signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Measurements {
    pub tee: String,
    pub hardware: bool,
    pub mr_enclave: String,
    pub mr_signer: String,
    pub product_id: u64,
    pub svn: u64,
}

fn field_str(c: &tee::Claims, names: &[&str]) -> String {
    names.iter().find_map(|n| c.fields.get(*n).and_then(|v| v.as_str().map(str::to_string))).unwrap_or_default()
}

fn field_u64(c: &tee::Claims, names: &[&str]) -> u64 {
    names
        .iter()
        .find_map(|n| c.fields.get(*n).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))))
        .unwrap_or(0)
}

impl Measurements {
    /// `None` when the peer presented no verified evidence.
    pub fn from_attestation(p: &PeerAttestation) -> Option<Measurements> {
        let c = p.tee_claims.as_ref()?;
        Some(Measurements {
            tee: c.tee.to_string(),
            hardware: c.hardware,
            mr_enclave: field_str(c, &["mr_enclave", "mrenclave", "mr_td", "measurement"]),
            mr_signer: field_str(c, &["mr_signer", "mrsigner"]),
            product_id: field_u64(c, &["isv_prod_id", "product_id", "productId"]),
            svn: field_u64(c, &["isv_svn", "svn"]),
        })
    }
}
