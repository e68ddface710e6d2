//! TPM 2.0 quotes (trustee `tpm` evidence).
//!
//! Evidence JSON: `{"ak_public": "<base64 SubjectPublicKeyInfo DER>", "tpm_quote": {"signature":
//! "<base64 TPMT_SIGNATURE>", "message": "<base64 TPMS_ATTEST>", "pcrs": ["<hex sha256 PCR>"; 24]},
//! "ak_cert_chain": ["<base64 DER>", ...]?}`. `pcrs` is positional: entry `i` is PCR `i`.
//!
//! Checks: the AK signature (RSASSA-PKCS1-v1_5 SHA-256) over the TPMS_ATTEST, that it is a quote,
//! that the PCR values hash to its pcrDigest, the nonce (extraData) vs the expected report data, and
//! PCR 8 vs the init-data digest (`SHA-256(0^32 || digest)`, trustee's rule).
//!
//! **Only quoted PCRs count.** The signature covers the PCRs the quote's selection names, nothing
//! else: a supplied PCR value outside the selection is refused ([`Error::UnquotedPcr`], not
//! dropped: no real evidence carries such extras, and a guest that sends them is either broken or
//! hoping one is read), the claims hold exactly the selected PCRs, and init-data binding needs
//! PCR 8 in the selection ([`Error::InitDataPcrNotQuoted`]). A bank has at most 24 PCRs.
//!
//! **AK endorsement.** A quote proves only that the holder of the AK signed it. The evidence is
//! hardware evidence (`hardware: true`, `ak_endorsed: true`) only when its `ak_cert_chain`
//! certifies the AK and leads to a root the [`TpmVerifier`] is configured with ([`certs`]).
//! Otherwise it is refused ([`Error::UnendorsedAk`]) unless the verifier was built with
//! [`danger::AcceptUnendorsedTpm`]; then its claims say `hardware: false`, `ak_endorsed: false`
//! and carry [`UNENDORSED_NOTICE`], and `ak_sha256` is what a policy can pin. (The Azure vTPM AKs
//! are endorsed by the SNP/TDX report through the HCL report: see [`crate::azure_vtpm`].)
//!
//! Every evidence field is bounded ([`limits`]); too large is [`Error::FieldTooLarge`] naming it.

pub mod attest;
pub mod attester;
pub mod certs;
pub mod cmd;
pub mod transport;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::{danger, report_data, Claims, Error, Expected, Tee, Verifier};
pub use attest::{parse_quote_info, parse_signature, QuoteInfo};

pub const INITDATA_PCR: usize = 8;
/// PCRs per bank (TCG PC Client: 24).
pub const MAX_PCRS: usize = 24;

/// Size limits for TPM and Azure vTPM evidence fields (decoded bytes unless noted). Each is
/// generous for real evidence and small enough that a hostile client cannot make a verifier
/// decode, hash or keep megabytes.
pub mod limits {
    /// The whole evidence JSON (the Azure v0 shape, integer arrays, is about 40 kB).
    pub const EVIDENCE_JSON: usize = 256 * 1024;
    /// TPMS_ATTEST (a quote is about 150 bytes; the structure is bounded by its TPM2B fields).
    pub const QUOTE_MESSAGE: usize = 1024;
    /// TPMT_SIGNATURE or raw RSA signature (RSA-8192: 1024 bytes + 6 bytes of header).
    pub const QUOTE_SIGNATURE: usize = 1030;
    /// AK SubjectPublicKeyInfo DER (RSA-8192 is about 1.1 kB).
    pub const AK_PUBLIC: usize = 2048;
    /// Azure HCL report (2600 bytes in every capture: header, hardware report, variable data).
    pub const HCL_REPORT: usize = 16 * 1024;
    /// Azure VCEK certificate (DER; PEM in evidence v0).
    pub const VCEK: usize = 16 * 1024;
    /// Azure TDX quote with its embedded PCK certificate chain (about 5 kB).
    pub const TD_QUOTE: usize = 64 * 1024;
}

/// `Err(FieldTooLarge)` when `len > max`.
pub(crate) fn bound(tee: Tee, field: &'static str, len: usize, max: usize, unit: &'static str) -> Result<(), Error> {
    if len > max {
        return Err(Error::FieldTooLarge { tee, field, len, max, unit });
    }
    Ok(())
}

/// Notice carried in the claims of TPM evidence accepted with an unendorsed AK.
pub const UNENDORSED_NOTICE: &str =
    "TPM attestation key not endorsed: any RSA key can sign such a quote; no hardware root of trust (danger::AcceptUnendorsedTpm)";

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
    /// AK certificate first, then issuing CAs (base64 DER). Not in trustee's shape: absent there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ak_cert_chain: Option<Vec<String>>,
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

/// Verifies a TPM quote: signature, PCR digest over the selected PCRs, and that no PCR value is
/// supplied beyond the selection; returns the parsed TPMS_ATTEST.
pub fn verify_quote(tee: Tee, q: &RawQuote, ak: &RsaKey) -> Result<QuoteInfo, Error> {
    bound(tee, "tpm_quote.message", q.message.len(), limits::QUOTE_MESSAGE, "bytes")?;
    bound(tee, "tpm_quote.signature", q.signature.len(), limits::QUOTE_SIGNATURE, "bytes")?;
    bound(tee, "tpm_quote.pcrs", q.pcrs.len(), MAX_PCRS, "entries")?;
    let info = parse_quote_info(tee, &q.message)?;
    let sig = if q.signature.len() == ak.n.len() {
        q.signature.clone()
    } else {
        let s = parse_signature(tee, &q.signature)?;
        if s.sig_alg != attest::TPM_ALG_RSASSA || s.hash_alg != attest::TPM_ALG_SHA256 {
            return Err(Error::Unsupported {
                tee,
                reason: format!("TPM signature alg {:#x} hash {:#x}", s.sig_alg, s.hash_alg),
            });
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
            let v = q
                .pcrs
                .get(*i as usize)
                .ok_or_else(|| Error::malformed(tee, format!("PCR {i} selected but not supplied")))?;
            h.update(v);
        }
    }
    if h.finalize().as_slice() != info.pcr_digest.as_slice() {
        return Err(Error::BindingMismatch {
            tee,
            reason: "supplied PCR values do not hash to the quote's pcrDigest".into(),
        });
    }
    // Values the signature does not cover are refused, never reported.
    if let Some(i) = (0..q.pcrs.len()).find(|i| !is_quoted(&info, *i)) {
        return Err(Error::UnquotedPcr { tee, pcr: i as u32 });
    }
    Ok(info)
}

/// True if the quote's selection covers PCR `index` (SHA-256 bank).
pub fn is_quoted(info: &QuoteInfo, index: usize) -> bool {
    info.selections.iter().any(|s| s.hash_alg == attest::TPM_ALG_SHA256 && s.pcrs.iter().any(|p| *p as usize == index))
}

/// PCR `index` if the quote covers it.
pub fn quoted_pcr<'a>(info: &QuoteInfo, pcrs: &'a [Vec<u8>], index: usize) -> Option<&'a Vec<u8>> {
    if is_quoted(info, index) {
        pcrs.get(index)
    } else {
        None
    }
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

/// PCR 8 == SHA-256(0^32 || digest) (trustee's init-data binding for TPM-based TEEs). PCR 8
/// must be in the quote's selection.
pub fn check_init_data(tee: Tee, info: &QuoteInfo, pcrs: &[Vec<u8>], digest: &[u8]) -> Result<(), Error> {
    if !is_quoted(info, INITDATA_PCR) {
        return Err(Error::InitDataPcrNotQuoted { tee, pcr: INITDATA_PCR as u32 });
    }
    let pcr = pcrs.get(INITDATA_PCR).ok_or_else(|| Error::malformed(tee, "no PCR 8"))?;
    let mut input = [0u8; 64];
    if digest.len() != 32 {
        return Err(Error::InitDataMismatch {
            expected: hex::encode(digest),
            found: "a 32-byte digest extended into PCR 8".into(),
        });
    }
    input[32..].copy_from_slice(digest);
    let want = Sha256::digest(input);
    if want.as_slice() != pcr.as_slice() {
        return Err(Error::InitDataMismatch { expected: hex::encode(want), found: hex::encode(pcr) });
    }
    Ok(())
}

/// Claims `pcrNN` for exactly the PCRs the quote covers.
pub fn pcr_fields(info: &QuoteInfo, pcrs: &[Vec<u8>], m: &mut std::collections::BTreeMap<String, serde_json::Value>) {
    for (i, p) in pcrs.iter().enumerate() {
        if is_quoted(info, i) {
            m.insert(format!("pcr{i:02}"), serde_json::json!(hex::encode(p)));
        }
    }
}

/// The `init_data` claim: PCR 8, only if the quote covers it.
pub fn init_data_claim(info: &QuoteInfo, pcrs: &[Vec<u8>]) -> Option<Vec<u8>> {
    quoted_pcr(info, pcrs, INITDATA_PCR).cloned()
}

fn decode_pcrs(tee: Tee, pcrs: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    bound(tee, "tpm_quote.pcrs", pcrs.len(), MAX_PCRS, "entries")?;
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

/// Decoded trustee `tpm` evidence.
#[derive(Debug, Clone)]
pub struct DecodedTpmEvidence {
    pub quote: RawQuote,
    pub ak: RsaKey,
    /// AK certificate first (DER); empty when the evidence carries none.
    pub ak_cert_chain: Vec<Vec<u8>>,
}

/// Decodes trustee `tpm` evidence (sizes bounded, base64 and the AK parsed; nothing verified).
pub fn decode_evidence(evidence: &[u8]) -> Result<DecodedTpmEvidence, Error> {
    let tee = Tee::Tpm;
    bound(tee, "evidence", evidence.len(), limits::EVIDENCE_JSON, "bytes")?;
    let ev: TpmEvidence =
        serde_json::from_slice(evidence).map_err(|e| Error::malformed(tee, format!("not TPM evidence JSON: {e}")))?;
    let b64 = |s: &str, w: &'static str, max: usize| {
        // Base64 is 4/3 of the decoded size: refuse before decoding.
        bound(tee, w, s.len() / 4 * 3, max, "bytes")?;
        STANDARD.decode(s.as_bytes()).map_err(|e| Error::malformed(tee, format!("{w} is not base64: {e}")))
    };
    let ak = RsaKey::from_spki_der(tee, &b64(&ev.ak_public, "ak_public", limits::AK_PUBLIC)?)?;
    let quote = RawQuote {
        message: b64(&ev.tpm_quote.message, "tpm_quote.message", limits::QUOTE_MESSAGE)?,
        signature: b64(&ev.tpm_quote.signature, "tpm_quote.signature", limits::QUOTE_SIGNATURE)?,
        pcrs: decode_pcrs(tee, &ev.tpm_quote.pcrs)?,
    };
    let chain = ev.ak_cert_chain.unwrap_or_default();
    bound(tee, "ak_cert_chain", chain.len(), certs::MAX_CHAIN, "certificates")?;
    let ak_cert_chain =
        chain.iter().map(|c| b64(c, "ak_cert_chain[]", certs::MAX_CERT)).collect::<Result<Vec<_>, _>>()?;
    Ok(DecodedTpmEvidence { quote, ak, ak_cert_chain })
}

/// PCR values decoded as [`decode_pcrs`] (for the Azure vTPM evidence).
#[cfg(any(feature = "az-snp-vtpm", feature = "az-tdx-vtpm"))]
pub(crate) fn decode_pcrs_pub(tee: Tee, pcrs: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    decode_pcrs(tee, pcrs)
}

/// TPM verifier (trustee `tpm` evidence). Hardware evidence needs an AK certificate chain to one
/// of its roots; unendorsed AKs only with [`danger::AcceptUnendorsedTpm`].
pub struct TpmVerifier {
    ak_roots: Vec<Vec<u8>>,
    clock: Arc<dyn Clock>,
    unendorsed: Option<danger::AcceptUnendorsedTpm>,
}

impl TpmVerifier {
    /// Accepts evidence whose `ak_cert_chain` leads to one of `ak_roots` (DER; the EK/AK CA),
    /// checked at the clock's time. With no roots, every evidence is refused (`UnendorsedAk`).
    pub fn new(ak_roots: Vec<Vec<u8>>, clock: Arc<dyn Clock>) -> Self {
        TpmVerifier { ak_roots, clock, unendorsed: None }
    }

    /// Also accepts evidence whose AK is not endorsed; its claims say `hardware: false`.
    pub fn accept_unendorsed(mut self, opt_in: danger::AcceptUnendorsedTpm) -> Self {
        self.unendorsed = Some(opt_in);
        self
    }

    /// Verifies decoded TPM evidence.
    pub fn verify_decoded(&self, ev: &DecodedTpmEvidence, expected: &Expected<'_>) -> Result<Claims, Error> {
        let tee = Tee::Tpm;
        let q = &ev.quote;
        let info = verify_quote(tee, q, &ev.ak)?;
        if let Some(exp) = expected.bound_report_data() {
            check_report_data(exp, &info.extra_data)?;
        }
        if let Some(d) = expected.init_data_digest {
            check_init_data(tee, &info, &q.pcrs, d)?;
        }
        // Endorsement: a chain is checked whenever roots are configured (a chain that fails is an
        // error, never "unendorsed"); without roots or chain only the opt-in accepts.
        let chain = if !ev.ak_cert_chain.is_empty() && !self.ak_roots.is_empty() {
            Some(certs::verify_ak_chain(tee, &ev.ak_cert_chain, &self.ak_roots, &ev.ak, self.clock.now_unix())?)
        } else {
            None
        };
        if chain.is_none() && self.unendorsed.is_none() {
            return Err(Error::UnendorsedAk { tee });
        }
        let mut fields = std::collections::BTreeMap::new();
        pcr_fields(&info, &q.pcrs, &mut fields);
        fields.insert("ak_sha256".into(), serde_json::json!(ev.ak.sha256()));
        fields.insert("ak_endorsed".into(), serde_json::json!(chain.is_some()));
        match &chain {
            Some(names) => {
                fields.insert("ak_cert_chain".into(), serde_json::json!(names));
            }
            None => {
                fields.insert("notice".into(), serde_json::json!(UNENDORSED_NOTICE));
            }
        }
        fields.insert("clock".into(), serde_json::json!(info.clock));
        fields.insert("reset_count".into(), serde_json::json!(info.reset_count));
        fields.insert("restart_count".into(), serde_json::json!(info.restart_count));
        fields.insert("firmware_version".into(), serde_json::json!(format!("{:#x}", info.firmware_version)));
        Ok(Claims {
            tee,
            hardware: chain.is_some(),
            report_data: info.extra_data.clone(),
            init_data: init_data_claim(&info, &q.pcrs),
            fields,
        })
    }
}

impl Verifier for TpmVerifier {
    fn tee(&self) -> Tee {
        Tee::Tpm
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let ev = decode_evidence(evidence)?;
        self.verify_decoded(&ev, expected)
    }
}
