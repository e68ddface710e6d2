//! Intel TDX: ECDSA (DCAP) TD quotes v4 and v5.
//!
//! Evidence JSON (trustee / guest-components `tdx`): `{"cc_eventlog": "<base64 CCEL>" | null,
//! "quote": "<base64 quote>"}`. The event log is carried through (its length and SHA-384 appear in
//! the claims) but not replayed against RTMRs here. Raw quotes: [`verify_raw_quote`].

pub mod attester;
pub mod claims;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::clock::Clock;
use crate::dcap::{self, CollateralStore, QuoteKind};
use crate::{report_data, Claims, Error, Expected, Tee, Verifier};

/// Wire form of TDX evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TdxEvidence {
    /// Base64 of the CC event log ACPI table data, if the attester read it.
    #[serde(default)]
    pub cc_eventlog: Option<String>,
    /// Base64 of the TD quote.
    pub quote: String,
}

/// Verifies a raw TDX quote at time `now` against `store`.
pub fn verify_raw_quote(
    raw: &[u8],
    expected: &Expected<'_>,
    store: &CollateralStore,
    now: u64,
) -> Result<Claims, Error> {
    let v = dcap::verify_quote(Tee::Tdx, QuoteKind::Tdx, raw, store, now)?;
    let base = v.report.as_td10().ok_or_else(|| Error::malformed(Tee::Tdx, "quote does not carry a TD report"))?;
    if let Some(exp) = expected.bound_report_data() {
        report_data::check(exp, &base.report_data)?;
    }
    if let Some(exp) = expected.init_data_digest {
        report_data::check(exp, &base.mr_config_id).map_err(|_| Error::InitDataMismatch {
            expected: hex::encode(exp),
            found: hex::encode(base.mr_config_id),
        })?;
    }
    let fields = claims::fields(&v.report, base, Some(&v));
    Ok(Claims {
        tee: Tee::Tdx,
        hardware: true,
        report_data: base.report_data.to_vec(),
        init_data: Some(base.mr_config_id.to_vec()),
        fields,
    })
}

/// Decodes trustee-shaped TDX evidence to (raw quote, raw event log).
pub fn decode_evidence(evidence: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), Error> {
    let ev: TdxEvidence = serde_json::from_slice(evidence)
        .map_err(|e| Error::malformed(Tee::Tdx, format!("not TDX evidence JSON: {e}")))?;
    if ev.quote.is_empty() {
        return Err(Error::malformed(Tee::Tdx, "quote is empty"));
    }
    let q = STANDARD
        .decode(ev.quote.as_bytes())
        .map_err(|e| Error::malformed(Tee::Tdx, format!("quote is not base64: {e}")))?;
    let el = match ev.cc_eventlog.as_deref() {
        Some(s) if !s.is_empty() => Some(
            STANDARD
                .decode(s.as_bytes())
                .map_err(|e| Error::malformed(Tee::Tdx, format!("cc_eventlog is not base64: {e}")))?,
        ),
        _ => None,
    };
    Ok((q, el))
}

/// TDX verifier: collateral from `store`, time from `clock`.
pub struct TdxVerifier {
    store: Arc<CollateralStore>,
    clock: Arc<dyn Clock>,
}

impl TdxVerifier {
    pub fn new(store: Arc<CollateralStore>, clock: Arc<dyn Clock>) -> Self {
        TdxVerifier { store, clock }
    }
}

impl Verifier for TdxVerifier {
    fn tee(&self) -> Tee {
        Tee::Tdx
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let (raw, el) = decode_evidence(evidence)?;
        let mut c = verify_raw_quote(&raw, expected, &self.store, self.clock.now_unix())?;
        if let Some(el) = el {
            c.fields.insert("cc_eventlog_len".into(), serde_json::json!(el.len()));
            c.fields.insert("cc_eventlog_sha384".into(), serde_json::json!(hex::encode(sha2::Sha384::digest(&el))));
            c.fields.insert("cc_eventlog_replayed".into(), serde_json::json!(false));
        }
        Ok(c)
    }
}
