//! Arm CCA attestation tokens (stretch goal).
//!
//! A CCA token is CBOR tag 399 holding a map {44234: platform token, 44241: realm token}; each is a
//! COSE_Sign1. Checks: the realm token is signed by the RAK it carries (claim 44237); the platform
//! token's challenge is the hash of that RAK (algorithm in claim 44240), binding the two; the
//! platform token is signed by a CPAK the verifier trusts (supplied as a JWK, e.g. from the
//! platform's endorsement); the realm challenge is the expected report data; the personalization
//! value is the init data. Reference values (RIM/REMs, platform software components) are reported
//! as claims for policy; they are not appraised here.
//!
//! Evidence JSON (trustee `cca`): `{"token": [bytes]}`.

pub mod attester;
pub mod cose;

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;

use cose::{decode_sign1, decode_value, map_get, untag};

use crate::{report_data, Claims, Error, Expected, Tee, Verifier};

const TEE: Tee = Tee::Cca;
const PLATFORM: i128 = 44234;
const REALM: i128 = 44241;

#[derive(Debug, Deserialize)]
struct Jwk {
    x: String,
    y: String,
}

/// A trusted CPAK (platform attestation key) from a JWK (`{"kty":"EC","crv":"P-384","x","y"}`).
pub fn cpak_from_jwk(json: &[u8]) -> Result<Vec<u8>, Error> {
    let j: Jwk = serde_json::from_slice(json).map_err(|e| Error::malformed(TEE, format!("CPAK JWK: {e}")))?;
    let d = |s: &str| {
        URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|e| Error::malformed(TEE, format!("CPAK JWK: {e}")))
    };
    Ok([vec![0x04], d(&j.x)?, d(&j.y)?].concat())
}

fn bytes_claim(m: &[(Value, Value)], k: i128) -> Option<Vec<u8>> {
    match map_get(m, k) {
        Some(Value::Bytes(b)) => Some(b.clone()),
        _ => None,
    }
}

fn text_claim(m: &[(Value, Value)], k: i128) -> Option<String> {
    match map_get(m, k) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

fn claims_map(payload: &[u8], what: &str) -> Result<Vec<(Value, Value)>, Error> {
    match decode_value(payload, what)? {
        Value::Map(m) => Ok(m),
        _ => Err(Error::malformed(TEE, format!("{what} claims are not a map"))),
    }
}

/// Parsed, not yet verified token parts.
pub struct Token {
    pub platform: cose::Sign1,
    pub realm: cose::Sign1,
}

pub fn parse_token(b: &[u8]) -> Result<Token, Error> {
    let v = untag(decode_value(b, "CCA token")?);
    let Value::Map(m) = v else { return Err(Error::malformed(TEE, "CCA token is not a map")) };
    let p = bytes_claim(&m, PLATFORM).ok_or_else(|| Error::malformed(TEE, "no platform token (44234)"))?;
    let r = bytes_claim(&m, REALM).ok_or_else(|| Error::malformed(TEE, "no realm token (44241)"))?;
    Ok(Token { platform: decode_sign1(&p, "platform token")?, realm: decode_sign1(&r, "realm token")? })
}

/// Verifies a raw CCA token against trusted CPAKs (SEC1 points).
pub fn verify_token(b: &[u8], expected: &Expected<'_>, cpaks: &[Vec<u8>]) -> Result<Claims, Error> {
    let t = parse_token(b)?;
    let realm = claims_map(&t.realm.payload, "realm token")?;
    let rak_raw = bytes_claim(&realm, 44237).ok_or_else(|| Error::malformed(TEE, "realm token has no RAK (44237)"))?;
    let rak = cose::ec_key(&rak_raw)?;
    cose::verify(&t.realm, &rak, "realm token (RAK)")?;
    let platform = claims_map(&t.platform.payload, "platform token")?;
    // Binding: platform challenge = H(RAK).
    let pch = bytes_claim(&platform, 10).ok_or_else(|| Error::malformed(TEE, "platform token has no challenge"))?;
    let algo = text_claim(&realm, 44240).unwrap_or_else(|| "sha-256".into());
    let h = match algo.as_str() {
        "sha-256" => sha2::Sha256::digest(&rak_raw).to_vec(),
        "sha-384" => sha2::Sha384::digest(&rak_raw).to_vec(),
        "sha-512" => sha2::Sha512::digest(&rak_raw).to_vec(),
        a => return Err(Error::Unsupported { tee: TEE, reason: format!("RAK hash algorithm {a:?}") }),
    };
    if h != pch {
        return Err(Error::BindingMismatch {
            tee: TEE,
            reason: "platform challenge is not the hash of the realm's RAK".into(),
        });
    }
    if cpaks.is_empty() {
        return Err(Error::CollateralMissing { tee: TEE, key: "a trusted CPAK".into() });
    }
    let mut last = None;
    let mut ok = false;
    for k in cpaks {
        match cose::verify(&t.platform, k, "platform token (CPAK)") {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    if !ok {
        return Err(match last {
            Some(Error::BadSignature { .. }) | None => {
                Error::UntrustedChain { tee: TEE, reason: "platform token is not signed by a trusted CPAK".into() }
            }
            Some(e) => e,
        });
    }
    let challenge = bytes_claim(&realm, 10).ok_or_else(|| Error::malformed(TEE, "realm token has no challenge"))?;
    let rpv = bytes_claim(&realm, 44235).unwrap_or_default();
    if let Some(exp) = expected.bound_report_data() {
        report_data::check(exp, &challenge)?;
    }
    if let Some(exp) = expected.init_data_digest {
        report_data::check(exp, &rpv)
            .map_err(|_| Error::InitDataMismatch { expected: hex::encode(exp), found: hex::encode(&rpv) })?;
    }
    let mut f = BTreeMap::new();
    f.insert("realm_initial_measurement".into(), json!(hex::encode(bytes_claim(&realm, 44238).unwrap_or_default())));
    if let Some(Value::Array(rems)) = map_get(&realm, 44239) {
        for (i, r) in rems.iter().enumerate() {
            if let Value::Bytes(b) = r {
                f.insert(format!("rem{i}"), json!(hex::encode(b)));
            }
        }
    }
    f.insert("realm_hash_algo".into(), json!(text_claim(&realm, 44236)));
    f.insert("realm_personalization_value".into(), json!(hex::encode(&rpv)));
    f.insert("rak_sha256".into(), json!(hex::encode(sha2::Sha256::digest(&rak))));
    f.insert(
        "platform_implementation_id".into(),
        json!(hex::encode(bytes_claim(&platform, 2396).or_else(|| bytes_claim(&platform, 2393)).unwrap_or_default())),
    );
    f.insert("platform_instance_id".into(), json!(hex::encode(bytes_claim(&platform, 256).unwrap_or_default())));
    if let Some(Value::Integer(l)) = map_get(&platform, 2395) {
        f.insert("platform_lifecycle".into(), json!(format!("{:#06x}", i128::from(*l))));
    }
    f.insert("platform_profile".into(), json!(text_claim(&platform, 265)));
    if let Some(Value::Array(sw)) = map_get(&platform, 2399) {
        let comps: Vec<_> = sw
            .iter()
            .filter_map(|c| match c {
                Value::Map(m) => Some(json!({
                    "type": text_claim(m, 1),
                    "measurement": bytes_claim(m, 2).map(hex::encode),
                    "version": text_claim(m, 4),
                    "signer_id": bytes_claim(m, 5).map(hex::encode),
                })),
                _ => None,
            })
            .collect();
        f.insert("platform_sw_components".into(), json!(comps));
    }
    Ok(Claims { tee: TEE, hardware: true, report_data: challenge, init_data: Some(rpv), fields: f })
}

#[derive(Debug, Deserialize)]
struct CcaEvidence {
    token: Vec<u8>,
}

pub fn decode_evidence(evidence: &[u8]) -> Result<Vec<u8>, Error> {
    let e: CcaEvidence =
        serde_json::from_slice(evidence).map_err(|e| Error::malformed(TEE, format!("not CCA evidence JSON: {e}")))?;
    Ok(e.token)
}

/// CCA verifier with a set of trusted CPAKs.
pub struct CcaVerifier {
    cpaks: Vec<Vec<u8>>,
}

impl CcaVerifier {
    pub fn new(cpaks: Vec<Vec<u8>>) -> Self {
        CcaVerifier { cpaks }
    }
}

impl Verifier for CcaVerifier {
    fn tee(&self) -> Tee {
        TEE
    }
    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        verify_token(&decode_evidence(evidence)?, expected, &self.cpaks)
    }
}
