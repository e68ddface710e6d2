//! What Azure confidential VMs with a paravisor vTPM share, whatever the hardware TEE
//! ([`crate::az_snp_vtpm`], [`crate::az_tdx_vtpm`]): the HCL report ([`hcl`]), its variable
//! (runtime) data carrying the vTPM attestation key, the TPM quote in trustee's evidence JSON, and
//! the checks binding that quote to the expected report data.
//!
//! Chain, once the hardware report is verified by the TEE-specific module and found to bind
//! SHA-256(variable data): the variable data's JWK `HCLAkPub` is the AK; the TPM quote is signed by
//! it and its PCR values hash to the quote's pcrDigest ([`tpm::verify_quote`]); its extraData is
//! the expected report data; from evidence version 2 the variable data's `user-data` starts with
//! it too; PCR 8 binds the init-data digest.
//!
//! The AK here is endorsed by hardware (the SNP / TD report binds the variable data that names
//! it), so this evidence is hardware evidence without an AK certificate, unlike plain
//! [`crate::tpm`]. The PCR rules are plain TPM's: claims hold exactly the quoted PCRs, a PCR value
//! outside the selection is refused, init data needs PCR 8 quoted. Field sizes are bounded
//! ([`tpm::limits`]).

pub mod hcl;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;

use crate::tpm::{self, QuoteInfo, RawQuote, RsaKey};
use crate::{report_data, Error, Expected, Tee};

/// TPM quote in evidence v1/v2: hex strings.
#[derive(Debug, Deserialize)]
pub(crate) struct TpmQuoteHex {
    signature: String,
    message: String,
    pcrs: Vec<String>,
}

impl TpmQuoteHex {
    pub(crate) fn decode(&self, tee: Tee) -> Result<RawQuote, Error> {
        let hx = |s: &str, w: &'static str, max: usize| {
            // Hex is twice the decoded size: refuse before decoding.
            tpm::bound(tee, w, s.len() / 2, max, "bytes")?;
            hex::decode(s).map_err(|e| Error::malformed(tee, format!("{w} is not hex: {e}")))
        };
        Ok(RawQuote {
            signature: hx(&self.signature, "tpm_quote.signature", tpm::limits::QUOTE_SIGNATURE)?,
            message: hx(&self.message, "tpm_quote.message", tpm::limits::QUOTE_MESSAGE)?,
            pcrs: tpm::decode_pcrs_pub(tee, &self.pcrs)?,
        })
    }
}

/// TPM quote in evidence v0 (the az-*-vtpm crates' own serde shape): byte arrays.
#[derive(Debug, Deserialize)]
pub(crate) struct TpmQuoteBytes {
    signature: Vec<u8>,
    message: Vec<u8>,
    pcrs: Vec<Vec<u8>>,
}

impl TpmQuoteBytes {
    pub(crate) fn into_raw(self, tee: Tee) -> Result<RawQuote, Error> {
        tpm::bound(tee, "tpm_quote.signature", self.signature.len(), tpm::limits::QUOTE_SIGNATURE, "bytes")?;
        tpm::bound(tee, "tpm_quote.message", self.message.len(), tpm::limits::QUOTE_MESSAGE, "bytes")?;
        tpm::bound(tee, "tpm_quote.pcrs", self.pcrs.len(), tpm::MAX_PCRS, "entries")?;
        if let Some(p) = self.pcrs.iter().find(|p| p.len() != 32) {
            return Err(Error::malformed(tee, format!("PCR is {} bytes, expected 32", p.len())));
        }
        Ok(RawQuote { signature: self.signature, message: self.message, pcrs: self.pcrs })
    }
}

#[derive(Debug, Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    kty: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// The HCL variable (runtime) data: a JSON document.
#[derive(Debug, Deserialize)]
struct VarData {
    #[serde(default)]
    keys: Vec<Jwk>,
    #[serde(rename = "user-data", default)]
    user_data: Option<String>,
}

/// Base64url with or without padding, at most `max` decoded bytes (checked before decoding).
pub(crate) fn b64url_bounded(tee: Tee, s: &str, what: &'static str, max: usize) -> Result<Vec<u8>, Error> {
    tpm::bound(tee, what, s.len() / 4 * 3, max, "bytes")?;
    b64url(tee, s, what)
}

/// Base64url with or without padding.
pub(crate) fn b64url(tee: Tee, s: &str, what: &str) -> Result<Vec<u8>, Error> {
    let t = s.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(t.as_bytes())
        .or_else(|_| URL_SAFE.decode(s.as_bytes()))
        .map_err(|e| Error::malformed(tee, format!("{what} is not base64url: {e}")))
}

/// The vTPM attestation key the HCL variable data names (`HCLAkPub`, RSA).
pub fn ak_from_var_data(tee: Tee, var_data: &[u8]) -> Result<RsaKey, Error> {
    let var: VarData =
        serde_json::from_slice(var_data).map_err(|e| Error::malformed(tee, format!("HCL variable data JSON: {e}")))?;
    ak_of(tee, &var)
}

fn ak_of(tee: Tee, var: &VarData) -> Result<RsaKey, Error> {
    let jwk = var
        .keys
        .iter()
        .find(|k| k.kid.as_deref() == Some("HCLAkPub"))
        .ok_or_else(|| Error::malformed(tee, "HCL variable data has no HCLAkPub key"))?;
    if jwk.kty.as_deref() != Some("RSA") {
        return Err(Error::Unsupported { tee, reason: "HCLAkPub is not an RSA key".into() });
    }
    Ok(RsaKey {
        n: b64url(tee, jwk.n.as_deref().unwrap_or(""), "HCLAkPub.n")?,
        e: b64url(tee, jwk.e.as_deref().unwrap_or(""), "HCLAkPub.e")?,
    })
}

/// Checks the vTPM side of Azure evidence whose hardware report has already been verified and
/// found to bind SHA-256(`var_data`): the TPM quote is signed by the variable data's AK, its PCR
/// values hash to its pcrDigest, its extraData is the expected report data, (evidence version
/// >= 2) `user-data` starts with the expected report data, and PCR 8 binds the init-data digest.
pub fn verify_vtpm_quote(
    tee: Tee,
    version: u32,
    q: &RawQuote,
    var_data: &[u8],
    expected: &Expected<'_>,
) -> Result<QuoteInfo, Error> {
    let var: VarData =
        serde_json::from_slice(var_data).map_err(|e| Error::malformed(tee, format!("HCL variable data JSON: {e}")))?;
    let ak = ak_of(tee, &var)?;
    let info = tpm::verify_quote(tee, q, &ak)?;
    if let Some(exp) = expected.bound_report_data() {
        report_data::check(exp, &info.extra_data)?;
        if version >= 2 {
            let ud = hex::decode(var.user_data.as_deref().unwrap_or(""))
                .map_err(|e| Error::malformed(tee, format!("user-data is not hex: {e}")))?;
            if !ud.starts_with(exp) {
                return Err(Error::ReportDataMismatch {
                    expected: hex::encode(exp),
                    expected_len: exp.len(),
                    found: hex::encode(&ud),
                    found_len: ud.len(),
                });
            }
        }
    }
    if let Some(d) = expected.init_data_digest {
        tpm::check_init_data(tee, &info, &q.pcrs, d)?;
    }
    Ok(info)
}
