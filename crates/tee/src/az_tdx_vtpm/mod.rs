//! Azure confidential VMs on Intel TDX with a paravisor vTPM (`az-tdx-vtpm`).
//!
//! Evidence JSON (trustee / guest-components `az-tdx-vtpm` attester):
//! v1/v2 `{"version": 1|2, "tpm_quote": {"signature": hex, "message": hex, "pcrs": [hex; 24]},
//! "hcl_report": base64url, "td_quote": base64url}`; v0 (no `version`) the same keys with byte
//! arrays (`tpm_quote.{signature,message,pcrs}`, `hcl_report`, `td_quote`).
//!
//! Chain of trust, every link checked:
//! 1. The TD quote (v4/v5) verifies as in [`crate::tdx`] (dcap-qvl: quote signature by the
//!    attestation key, QE report signed by the PCK, PCK chain to the Intel root, CRLs, TCB info and
//!    QE identity signatures and validity at the verification time, TCB level). Collateral comes
//!    from the [`CollateralStore`]; none for the quote's FMSPC is [`Error::CollateralMissing`], as
//!    for `tdx` (there is no opt-in to accept an unappraised TCB).
//!    Azure's TDs run under a paravisor and never set SEPT_VE_DISABLE, which dcap-qvl refuses as
//!    its last step; this verifier accepts that one attribute (the claims say
//!    `sept_ve_disable: false`), and then dcap-qvl does not report the TCB status:
//!    `tcb_status: "Unknown"` (a non-revoked TCB level was matched).
//! 2. The HCL report's hardware report is a TD report (type 4) and is the one the quote covers:
//!    its report data, TEE_TCB_INFO fields (TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAM attributes)
//!    and TDINFO fields (attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3) equal
//!    the quote's. (Trustee checks the report data only.)
//! 3. The TD report data's first 32 bytes are SHA-256 of the HCL variable (runtime) data.
//! 4. The vTPM side as for `az-snp-vtpm` ([`azure_vtpm::verify_vtpm_quote`]): the AK is the
//!    variable data's `HCLAkPub`; the TPM quote is signed by it; PCR values hash to its
//!    pcrDigest; extraData is the expected report data; v2 `user-data`; PCR 8 init data.

use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::azure_vtpm::{self, hcl, TpmQuoteBytes, TpmQuoteHex};
use crate::clock::Clock;
use crate::dcap::{self, CollateralStore, QuoteKind, TdAttributePolicy};
use crate::tpm::{self, RawQuote};
use crate::{Claims, Error, Expected, Tee, Verifier};

const TEE: Tee = Tee::AzTdxVtpm;

#[derive(Debug, Deserialize)]
struct EvidenceV1 {
    version: u32,
    tpm_quote: TpmQuoteHex,
    hcl_report: String,
    td_quote: String,
}

#[derive(Debug, Deserialize)]
struct VersionProbe {
    #[serde(default)]
    version: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct EvidenceV0 {
    tpm_quote: TpmQuoteBytes,
    hcl_report: Vec<u8>,
    td_quote: Vec<u8>,
}

/// Decoded evidence.
#[derive(Debug, Clone)]
pub struct AzTdxEvidence {
    /// 0 (byte-array shape), 1 or 2.
    pub version: u32,
    pub tpm_quote: RawQuote,
    pub hcl_report: Vec<u8>,
    pub td_quote: Vec<u8>,
}

/// Decodes trustee-shaped az-tdx-vtpm evidence (v0, v1, v2). No signature is checked here.
pub fn decode_evidence(evidence: &[u8]) -> Result<AzTdxEvidence, Error> {
    tpm::bound(TEE, "evidence", evidence.len(), tpm::limits::EVIDENCE_JSON, "bytes")?;
    // Typed parses only (v0 is tens of kB of integer arrays: no intermediate `Value`).
    let probe: VersionProbe = serde_json::from_slice(evidence)
        .map_err(|e| Error::malformed(TEE, format!("not az-tdx-vtpm evidence JSON: {e}")))?;
    if probe.version.is_none() {
        let ev: EvidenceV0 = serde_json::from_slice(evidence)
            .map_err(|e| Error::malformed(TEE, format!("az-tdx-vtpm evidence v0: {e}")))?;
        tpm::bound(TEE, "hcl_report", ev.hcl_report.len(), tpm::limits::HCL_REPORT, "bytes")?;
        tpm::bound(TEE, "td_quote", ev.td_quote.len(), tpm::limits::TD_QUOTE, "bytes")?;
        return Ok(AzTdxEvidence {
            version: 0,
            tpm_quote: ev.tpm_quote.into_raw(TEE)?,
            hcl_report: ev.hcl_report,
            td_quote: ev.td_quote,
        });
    }
    let ev: EvidenceV1 =
        serde_json::from_slice(evidence).map_err(|e| Error::malformed(TEE, format!("az-tdx-vtpm evidence: {e}")))?;
    if !(1..=2).contains(&ev.version) {
        return Err(Error::Unsupported { tee: TEE, reason: format!("evidence version {}", ev.version) });
    }
    Ok(AzTdxEvidence {
        version: ev.version,
        tpm_quote: ev.tpm_quote.decode(TEE)?,
        hcl_report: azure_vtpm::b64url_bounded(TEE, &ev.hcl_report, "hcl_report", tpm::limits::HCL_REPORT)?,
        td_quote: azure_vtpm::b64url_bounded(TEE, &ev.td_quote, "td_quote", tpm::limits::TD_QUOTE)?,
    })
}

/// The HCL report of a TDX CVM: parsed, a TD report, SHA-256 variable-data hash type.
pub fn parse_hcl(b: &[u8]) -> Result<hcl::HclReport<'_>, Error> {
    let h = hcl::parse(TEE, b)?;
    if h.report_type != hcl::REPORT_TYPE_TDX {
        return Err(Error::malformed(
            TEE,
            format!("HCL report holds hardware report type {}, not a TD report", h.report_type),
        ));
    }
    if h.hash_type != hcl::HASH_SHA256 {
        return Err(Error::Unsupported { tee: TEE, reason: format!("HCL report-data hash type {}", h.hash_type) });
    }
    Ok(h)
}

/// Checks that the HCL's TD report is the one the quote body covers, field by field.
fn check_td_report_binding(td_report: &[u8], quote_body: &[u8]) -> Result<(), Error> {
    use hcl::tdreport as o;
    let pairs = [
        ("report data", o::REPORT_DATA, o::BODY_REPORT_DATA),
        ("TEE_TCB_INFO (TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAM attributes)", o::TEE_TCB_INFO, o::BODY_TEE_TCB_INFO),
        ("TDINFO (attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMRs)", o::TDINFO, o::BODY_TDINFO),
    ];
    for (what, hcl_r, body_r) in pairs {
        let a = td_report.get(hcl_r);
        let b = quote_body.get(body_r);
        if a.is_none() || a != b {
            return Err(Error::BindingMismatch {
                tee: TEE,
                reason: format!("the HCL TD report's {what} differs from the TD quote's"),
            });
        }
    }
    Ok(())
}

/// Verifies decoded evidence against `store` at `now`.
pub fn verify_decoded(
    ev: &AzTdxEvidence,
    expected: &Expected<'_>,
    store: &CollateralStore,
    now: u64,
) -> Result<Claims, Error> {
    let h = parse_hcl(&ev.hcl_report)?;
    // 1. The TD quote: signatures, PCK chain, collateral (SEPT_VE_DISABLE not required).
    let v = dcap::verify_quote_with(
        TEE,
        QuoteKind::Tdx,
        &ev.td_quote,
        store,
        now,
        TdAttributePolicy { allow_sept_ve_enabled: true },
    )
    .map_err(retag)?;
    let base = v.report.as_td10().ok_or_else(|| Error::malformed(TEE, "TD quote does not carry a TD report"))?;
    // The TD report body follows the 48-byte header (v4), or the header and a 6-byte body
    // descriptor (v5: type, size); TD report 1.5 bodies start with the same 584 bytes.
    let off = if v.version >= 5 { 54 } else { 48 };
    let body =
        ev.td_quote.get(off..off + 584).ok_or_else(|| Error::malformed(TEE, "TD quote shorter than its TD report"))?;
    if body.get(hcl::tdreport::BODY_REPORT_DATA) != Some(&base.report_data[..]) {
        return Err(Error::malformed(TEE, "TD quote body layout not recognised"));
    }
    // 2. The HCL's TD report is the quote's.
    check_td_report_binding(h.hw_report, body)?;
    // 3. The TD report data binds the HCL variable data.
    let var_hash = Sha256::digest(h.var_data);
    if base.report_data.get(..32) != Some(var_hash.as_slice()) {
        return Err(Error::BindingMismatch {
            tee: TEE,
            reason: "SHA-256 of the HCL variable data is not the TD report data".into(),
        });
    }
    // 4. The vTPM quote: AK from the variable data, signature, PCR digest, nonce, user-data, init data.
    let info = azure_vtpm::verify_vtpm_quote(TEE, ev.version, &ev.tpm_quote, h.var_data, expected)?;
    let mut fields = crate::tdx::claims::fields(&v.report, base, Some(&v));
    fields.insert("td_report_data".into(), serde_json::json!(hex::encode(base.report_data)));
    let reported = v.tcb_status != dcap::TCB_STATUS_UNKNOWN;
    fields.insert("tcb_status_reported".into(), serde_json::json!(reported));
    if !reported {
        // Not "no advisories": unknown, like the status.
        fields.insert("advisory_ids".into(), serde_json::Value::Null);
    }
    fields.insert("evidence_version".into(), serde_json::json!(ev.version));
    tpm::pcr_fields(&info, &ev.tpm_quote.pcrs, &mut fields);
    Ok(Claims {
        tee: TEE,
        hardware: true,
        init_data: tpm::init_data_claim(&info, &ev.tpm_quote.pcrs),
        report_data: info.extra_data,
        fields,
    })
}

/// Errors from the embedded TDX check name the composite TEE (they already do: `dcap` is called
/// with [`Tee::AzTdxVtpm`]); kept as a seam for reasons that need a prefix.
fn retag(e: Error) -> Error {
    match e {
        Error::Malformed { reason, .. } => Error::Malformed { tee: TEE, reason: format!("TD quote: {reason}") },
        other => other,
    }
}

/// Azure TDX vTPM verifier: DCAP collateral from `store`, time from `clock`.
pub struct AzTdxVtpmVerifier {
    store: Arc<CollateralStore>,
    clock: Arc<dyn Clock>,
}

impl AzTdxVtpmVerifier {
    pub fn new(store: Arc<CollateralStore>, clock: Arc<dyn Clock>) -> Self {
        AzTdxVtpmVerifier { store, clock }
    }
}

impl Verifier for AzTdxVtpmVerifier {
    fn tee(&self) -> Tee {
        TEE
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let ev = decode_evidence(evidence)?;
        verify_decoded(&ev, expected, &self.store, self.clock.now_unix())
    }
}
