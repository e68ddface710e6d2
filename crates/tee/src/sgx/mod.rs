//! Intel SGX: ECDSA (DCAP) quotes v3.
//!
//! Evidence JSON (trustee / guest-components `sgx`): `{"quote": "<base64 quote>"}`. The raw quote
//! (as RA-TLS carries it) is verified with [`verify_raw_quote`].

pub mod attester;
pub mod claims;
pub mod occlum;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::dcap::{self, CollateralStore, QuoteKind};
use crate::{report_data, Claims, Error, Expected, Tee, Verifier};

/// Wire form of SGX evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SgxEvidence {
    /// Base64 (standard) of the DCAP quote.
    pub quote: String,
}

/// Verifies a raw SGX DCAP quote at time `now` against `store`.
pub fn verify_raw_quote(
    raw: &[u8],
    expected: &Expected<'_>,
    store: &CollateralStore,
    now: u64,
) -> Result<Claims, Error> {
    let v = dcap::verify_quote(Tee::Sgx, QuoteKind::Sgx, raw, store, now)?;
    let r =
        v.report.as_sgx().ok_or_else(|| Error::malformed(Tee::Sgx, "quote does not carry an SGX enclave report"))?;
    if let Some(exp) = expected.bound_report_data() {
        report_data::check(exp, &r.report_data)?;
    }
    if let Some(exp) = expected.init_data_digest {
        report_data::check(exp, claims::config_id(r)).map_err(|_| Error::InitDataMismatch {
            expected: hex::encode(exp),
            found: hex::encode(claims::config_id(r)),
        })?;
    }
    let fields = claims::fields(r, Some(&v));
    Ok(Claims {
        tee: Tee::Sgx,
        hardware: true,
        report_data: r.report_data.to_vec(),
        init_data: Some(claims::config_id(r).to_vec()),
        fields,
    })
}

/// Decodes trustee-shaped SGX evidence to the raw quote.
pub fn quote_from_evidence(evidence: &[u8]) -> Result<Vec<u8>, Error> {
    let ev: SgxEvidence = serde_json::from_slice(evidence)
        .map_err(|e| Error::malformed(Tee::Sgx, format!("not SGX evidence JSON: {e}")))?;
    if ev.quote.is_empty() {
        return Err(Error::malformed(Tee::Sgx, "quote is empty"));
    }
    STANDARD.decode(ev.quote.as_bytes()).map_err(|e| Error::malformed(Tee::Sgx, format!("quote is not base64: {e}")))
}

/// SGX verifier: collateral from `store`, time from `clock`.
pub struct SgxVerifier {
    store: Arc<CollateralStore>,
    clock: Arc<dyn Clock>,
}

impl SgxVerifier {
    pub fn new(store: Arc<CollateralStore>, clock: Arc<dyn Clock>) -> Self {
        SgxVerifier { store, clock }
    }
}

impl Verifier for SgxVerifier {
    fn tee(&self) -> Tee {
        Tee::Sgx
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let raw = quote_from_evidence(evidence)?;
        verify_raw_quote(&raw, expected, &self.store, self.clock.now_unix())
    }
}
