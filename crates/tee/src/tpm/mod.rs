//! TPM 2.0 quotes (trustee `tpm` evidence).
//!
//! Evidence JSON: `{"ak_public": "<base64 SubjectPublicKeyInfo DER>", "tpm_quote": {"signature":
//! "<base64 TPMT_SIGNATURE>", "message": "<base64 TPMS_ATTEST>", "pcrs": ["<hex sha256 PCR>"; 24]}}`.
//!
//! Checks: the AK signature (RSASSA-PKCS1-v1_5 SHA-256) over the TPMS_ATTEST, that it is a quote,
//! that the PCR values hash to its pcrDigest, the nonce (extraData) vs the expected report data, and
//! PCR 8 vs the init-data digest (`SHA-256(0^32 || digest)`, trustee's rule). The AK itself is not
//! endorsed here (no EK certificate chain): its SHA-256 is a claim (`ak_sha256`) that policy must pin.

pub mod attest;
pub mod attester;
pub mod cmd;
pub mod transport;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{report_data, Claims, Error, Expected, Tee, Verifier};
pub use attest::{parse_quote_info, parse_signature, QuoteInfo};

pub const INITDATA_PCR: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TpmQuoteJson {
    pub signature: String,
    pub message: String,
    pub pcrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TpmEvidence {
    pub ak_public: String,
    pub tpm_quote: TpmQuoteJson,
}

/// An RSA public key (modulus, exponent; big-endian) the quote must be signed with.
#[derive(Debug, Clone)]
pub struct RsaKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

impl RsaKey {
    /// From a SubjectPublicKeyInfo (DER).
    pub fn from_spki_der(tee: Tee, der: &[u8]) -> Result<Self, Error> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
            .map_err(|e| Error::malformed(tee, format!("AK public key: {e}")))?;
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(k)) => Ok(RsaKey { n: strip(k.modulus), e: strip(k.exponent) }),
            _ => Err(Error::Unsupported { tee, reason: "AK public key is not RSA".into() }),
        }
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest([self.n.as_slice(), self.e.as_slice()].concat()))
    }
}

fn strip(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

/// A quote with everything a verifier needs, already decoded.
#[derive(Debug, Clone)]
pub struct RawQuote {
    pub message: Vec<u8>,
    /// Raw RSASSA signature bytes, or a marshalled TPMT_SIGNATURE.
    pub signature: Vec<u8>,
    pub pcrs: Vec<Vec<u8>>,
}

/// Verifies a TPM quote: signature, PCR digest; returns the parsed TPMS_ATTEST.
pub fn verify_quote(tee: Tee, q: &RawQuote, ak: &RsaKey) -> Result<QuoteInfo, Error> {
    let info = parse_quote_info(tee, &q.message)?;
    let sig = if q.signature.len() == ak.n.len() {
        q.signature.clone()
    } else {
        let s = parse_signature(tee, &q.signature)?;
        if s.sig_alg != attest::TPM_ALG_RSASSA || s.hash_alg != attest::TPM_ALG_SHA256 {
            return Err(Error::Unsupported { tee, reason: format!("TPM signature alg {:#x} hash {:#x}", s.sig_alg, s.hash_alg) });
        }
        s.sig
    };
    let key = ring::signature::RsaPublicKeyComponents { n: &ak.n, e: &ak.e };
    key.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &q.message, &sig).map_err(|_| Error::BadSignature {
        tee,
        what: "TPM quote (TPMS_ATTEST)".into(),
        reason: "RSASSA-PKCS1-v1_5 SHA-256 signature does not verify with the AK".into(),
    })?;
    // PCR digest over the selected PCRs, in selection order.
    let mut h = Sha256::new();
    for sel in &info.selections {
        if sel.hash_alg != attest::TPM_ALG_SHA256 {
            return Err(Error::Unsupported { tee, reason: format!("PCR bank {:#x}", sel.hash_alg) });
        }
        for i in &sel.pcrs {
            let v = q.pcrs.get(*i as usize).ok_or_else(|| Error::malformed(tee, format!("PCR {i} selected but not supplied")))?;
            h.update(v);
        }
    }
    if h.finalize().as_slice() != info.pcr_digest.as_slice() {
        return Err(Error::BindingMismatch { tee, reason: "supplied PCR values do not hash to the quote's pcrDigest".into() });
    }
    Ok(info)
}

/// Size of the report data a TPM quote binds in guest-components / trustee `tpm` evidence.
pub const REPORT_DATA_SIZE: usize = 32;

/// The quote's extraData vs the expected report data. Up to 32 bytes: the crate's rule (prefix,
/// rest zero). Longer (e.g. the 48-byte SHA-384 runtime-data digest of the KBS protocol):
/// trustee's rule - guest-components' TPM attester binds the first 32 bytes, so extraData must be
/// exactly those 32 bytes (256 bits of the digest still bind the nonce and key).
pub fn check_report_data(expected: &[u8], extra_data: &[u8]) -> Result<(), Error> {
    if expected.len() > REPORT_DATA_SIZE && extra_data.len() == REPORT_DATA_SIZE {
        return report_data::check(&expected[..REPORT_DATA_SIZE], extra_data);
    }
    report_data::check(expected, extra_data)
}

/// PCR 8 == SHA-256(0^32 || digest) (trustee's init-data binding for TPM-based TEEs).
pub fn check_init_data(tee: Tee, pcrs: &[Vec<u8>], digest: &[u8]) -> Result<(), Error> {
    let pcr = pcrs.get(INITDATA_PCR).ok_or_else(|| Error::malformed(tee, "no PCR 8"))?;
    let mut input = [0u8; 64];
    if digest.len() != 32 {
        return Err(Error::InitDataMismatch { expected: hex::encode(digest), found: "a 32-byte digest extended into PCR 8".into() });
    }
    input[32..].copy_from_slice(digest);
    let want = Sha256::digest(input);
    if want.as_slice() != pcr.as_slice() {
        return Err(Error::InitDataMismatch { expected: hex::encode(want), found: hex::encode(pcr) });
    }
    Ok(())
}

pub fn pcr_fields(pcrs: &[Vec<u8>], m: &mut std::collections::BTreeMap<String, serde_json::Value>) {
    for (i, p) in pcrs.iter().enumerate() {
        m.insert(format!("pcr{i:02}"), serde_json::json!(hex::encode(p)));
    }
}

fn decode_pcrs(tee: Tee, pcrs: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    pcrs.iter()
        .map(|p| {
            let v = hex::decode(p).map_err(|e| Error::malformed(tee, format!("PCR is not hex: {e}")))?;
            if v.len() != 32 {
                return Err(Error::malformed(tee, format!("PCR is {} bytes, expected 32", v.len())));
            }
            Ok(v)
        })
        .collect()
}

/// Decodes trustee `tpm` evidence.
pub fn decode_evidence(evidence: &[u8]) -> Result<(RawQuote, RsaKey), Error> {
    let tee = Tee::Tpm;
    let ev: TpmEvidence = serde_json::from_slice(evidence).map_err(|e| Error::malformed(tee, format!("not TPM evidence JSON: {e}")))?;
    let b64 = |s: &str, w: &str| STANDARD.decode(s.as_bytes()).map_err(|e| Error::malformed(tee, format!("{w} is not base64: {e}")));
    let ak = RsaKey::from_spki_der(tee, &b64(&ev.ak_public, "ak_public")?)?;
    let q = RawQuote {
        message: b64(&ev.tpm_quote.message, "message")?,
        signature: b64(&ev.tpm_quote.signature, "signature")?,
        pcrs: decode_pcrs(tee, &ev.tpm_quote.pcrs)?,
    };
    Ok((q, ak))
}

pub(crate) fn decode_pcrs_pub(tee: Tee, pcrs: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    decode_pcrs(tee, pcrs)
}

/// Verifies decoded TPM evidence.
pub fn verify_decoded(q: &RawQuote, ak: &RsaKey, expected: &Expected<'_>) -> Result<Claims, Error> {
    let tee = Tee::Tpm;
    let info = verify_quote(tee, q, ak)?;
    if let Some(exp) = expected.report_data {
        check_report_data(exp, &info.extra_data)?;
    }
    if let Some(d) = expected.init_data_digest {
        check_init_data(tee, &q.pcrs, d)?;
    }
    let mut fields = std::collections::BTreeMap::new();
    pcr_fields(&q.pcrs, &mut fields);
    fields.insert("ak_sha256".into(), serde_json::json!(ak.sha256()));
    fields.insert("ak_endorsed".into(), serde_json::json!(false));
    fields.insert("clock".into(), serde_json::json!(info.clock));
    fields.insert("reset_count".into(), serde_json::json!(info.reset_count));
    fields.insert("restart_count".into(), serde_json::json!(info.restart_count));
    fields.insert("firmware_version".into(), serde_json::json!(format!("{:#x}", info.firmware_version)));
    Ok(Claims {
        tee,
        hardware: true,
        report_data: info.extra_data.clone(),
        init_data: q.pcrs.get(INITDATA_PCR).cloned(),
        fields,
    })
}

/// TPM verifier (trustee `tpm` evidence).
#[derive(Debug, Default)]
pub struct TpmVerifier;

impl Verifier for TpmVerifier {
    fn tee(&self) -> Tee {
        Tee::Tpm
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let (q, ak) = decode_evidence(evidence)?;
        verify_decoded(&q, &ak, expected)
    }
}
