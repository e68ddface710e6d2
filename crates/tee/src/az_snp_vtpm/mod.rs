//! Azure confidential VMs on SEV-SNP with a paravisor vTPM (`az-snp-vtpm`).
//!
//! Evidence JSON (trustee; versions 1 and 2): `{"version": 1|2, "tpm_quote": {"signature": hex,
//! "message": hex, "pcrs": [hex; 24]}, "hcl_report": base64url, "vcek": base64url DER}`.
//!
//! Chain of trust: VCEK -> AMD root (as [`crate::snp`]); SNP report signed by the VCEK, at VMPL 0;
//! SNP `report_data[..32]` = SHA-256(HCL variable data); the variable data carries the vTPM AK
//! (JWK `HCLAkPub`); the TPM quote is signed by that AK; its nonce is the expected report data;
//! (v2) the variable data's `user-data` starts with the expected report data; PCR 8 binds init data.

/// The HCL report parser, shared with [`crate::az_tdx_vtpm`] (lives in [`crate::azure_vtpm`]).
pub use crate::azure_vtpm::hcl;

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::azure_vtpm::{self, TpmQuoteBytes, TpmQuoteHex};
use crate::clock::Clock;
use crate::snp::{self, SnpContext};
use crate::tpm::{self, RawQuote};
use crate::{Claims, Error, Expected, Tee, Verifier};

const TEE: Tee = Tee::AzSnpVtpm;

#[derive(Debug, Deserialize)]
struct EvidenceV1 {
    version: u32,
    tpm_quote: TpmQuoteHex,
    hcl_report: String,
    vcek: String,
}

/// Version 0 (az-snp-vtpm crate's own serde shape): byte arrays and a PEM VCEK.
#[derive(Debug, Deserialize)]
struct EvidenceV0 {
    quote: TpmQuoteBytes,
    report: Vec<u8>,
    vcek: String,
}

fn pem_der(pem: &str) -> Result<Vec<u8>, Error> {
    let first = pem.split("-----END CERTIFICATE-----").next().unwrap_or("");
    let body: String = first.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| Error::malformed(TEE, format!("vcek PEM: {e}")))
}

/// Decoded evidence: (version, TPM quote, HCL report bytes, VCEK DER).
pub fn decode_evidence(evidence: &[u8]) -> Result<(u32, RawQuote, Vec<u8>, Vec<u8>), Error> {
    tpm::bound(TEE, "evidence", evidence.len(), tpm::limits::EVIDENCE_JSON, "bytes")?;
    let v: serde_json::Value = serde_json::from_slice(evidence)
        .map_err(|e| Error::malformed(TEE, format!("not az-snp-vtpm evidence JSON: {e}")))?;
    if v.get("version").is_none() && v.get("quote").is_some() {
        let ev: EvidenceV0 =
            serde_json::from_value(v).map_err(|e| Error::malformed(TEE, format!("az-snp-vtpm evidence v0: {e}")))?;
        tpm::bound(TEE, "report", ev.report.len(), tpm::limits::HCL_REPORT, "bytes")?;
        tpm::bound(TEE, "vcek", ev.vcek.len() / 4 * 3, tpm::limits::VCEK, "bytes")?;
        let vcek = pem_der(&ev.vcek)?;
        return Ok((0, ev.quote.into_raw(TEE)?, ev.report, vcek));
    }
    let ev: EvidenceV1 =
        serde_json::from_value(v).map_err(|e| Error::malformed(TEE, format!("not az-snp-vtpm evidence JSON: {e}")))?;
    if !(1..=2).contains(&ev.version) {
        return Err(Error::Unsupported { tee: TEE, reason: format!("evidence version {}", ev.version) });
    }
    let q = ev.tpm_quote.decode(TEE)?;
    Ok((
        ev.version,
        q,
        azure_vtpm::b64url_bounded(TEE, &ev.hcl_report, "hcl_report", tpm::limits::HCL_REPORT)?,
        azure_vtpm::b64url_bounded(TEE, &ev.vcek, "vcek", tpm::limits::VCEK)?,
    ))
}

/// Verifies decoded Azure SNP vTPM evidence.
pub fn verify_decoded(
    version: u32,
    q: &RawQuote,
    hcl_bytes: &[u8],
    vcek_der: &[u8],
    expected: &Expected<'_>,
    ctx: &SnpContext,
    now: u64,
) -> Result<Claims, Error> {
    let h = hcl::parse(TEE, hcl_bytes)?;
    if h.report_type != hcl::REPORT_TYPE_SNP {
        return Err(Error::malformed(TEE, "HCL report does not hold an SNP report"));
    }
    if h.hash_type != hcl::HASH_SHA256 {
        return Err(Error::Unsupported { tee: TEE, reason: format!("HCL report-data hash type {}", h.hash_type) });
    }
    // SNP report (chain, TCB, signature, VMPL 0). Its report data is not the relying party's: it
    // binds the HCL variable data, checked right below; the relying party's report data is
    // checked against the vTPM quote.
    let hw_expected = Expected::unbound(crate::danger::SkipReportDataCheck);
    let mut snp_claims = snp::verify_raw_report(h.hw_report, Some(vcek_der), &hw_expected, ctx, now).map_err(retag)?;
    let var_hash = Sha256::digest(h.var_data);
    if snp_claims.report_data.get(..32) != Some(var_hash.as_slice()) {
        return Err(Error::BindingMismatch {
            tee: TEE,
            reason: "SHA-256 of the HCL variable data is not the SNP report data".into(),
        });
    }
    let info = azure_vtpm::verify_vtpm_quote(TEE, version, q, h.var_data, expected)?;
    let mut fields = std::mem::take(&mut snp_claims.fields);
    tpm::pcr_fields(&info, &q.pcrs, &mut fields);
    fields.insert("evidence_version".into(), serde_json::json!(version));
    fields.insert("snp_report_data".into(), serde_json::json!(hex::encode(&snp_claims.report_data)));
    Ok(Claims {
        tee: TEE,
        hardware: true,
        init_data: tpm::init_data_claim(&info, &q.pcrs),
        report_data: info.extra_data,
        fields,
    })
}

/// Errors from the embedded SNP check name the composite TEE.
fn retag(e: Error) -> Error {
    match e {
        Error::Malformed { reason, .. } => Error::Malformed { tee: TEE, reason: format!("SNP report: {reason}") },
        Error::BadSignature { what, reason, .. } => {
            Error::BadSignature { tee: TEE, what: format!("SNP {what}"), reason }
        }
        Error::UntrustedChain { reason, .. } => Error::UntrustedChain { tee: TEE, reason },
        Error::CollateralExpired { at, reason, .. } => Error::CollateralExpired { tee: TEE, at, reason },
        Error::TcbMismatch { field, report, cert, .. } => Error::TcbMismatch { tee: TEE, field, report, cert },
        Error::WrongVmpl { expected, found, .. } => Error::WrongVmpl { tee: TEE, expected, found },
        other => other,
    }
}

pub struct AzSnpVtpmVerifier {
    ctx: Arc<SnpContext>,
    clock: Arc<dyn Clock>,
}

impl AzSnpVtpmVerifier {
    pub fn new(ctx: Arc<SnpContext>, clock: Arc<dyn Clock>) -> Self {
        AzSnpVtpmVerifier { ctx, clock }
    }
}

impl Verifier for AzSnpVtpmVerifier {
    fn tee(&self) -> Tee {
        TEE
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let (v, q, h, vcek) = decode_evidence(evidence)?;
        verify_decoded(v, &q, &h, &vcek, expected, &self.ctx, self.clock.now_unix())
    }
}
