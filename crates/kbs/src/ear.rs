//! EAR attestation results (draft-ietf-rats-ear) as ES256 JWS, plus AR4SI status derivation.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use kbs_protocol::b64;
use kbs_protocol::jwk::TeePubKey;
use serde_json::{json, Map, Value};

use crate::Error;

pub const EAT_PROFILE: &str = "tag:github.com,2023:veraison/ear";
const HEADER: &str = r#"{"alg":"ES256","typ":"JWT"}"#;
/// JSON pointer to the TEE key inside the token (what the KBS encrypts resources to).
pub const TEE_PUBKEY_POINTER: &str = "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey";

/// `aud` of the tokens the KBS issues at the end of its own RCAR flow, the only tokens
/// `/kbs/v0/resource` accepts as `Authorization: Bearer`. Tokens of the standalone Attestation
/// Service endpoint carry no `aud`: they are appraised under a policy and a nonce the caller
/// chose, so they must not unlock resources (issue 13 item 8).
pub const KBS_RESOURCE_AUDIENCE: &str = "kbs-resource";

/// AR4SI tier of one trust-vector value: 0/1 none, 2..31 affirming, 32..95 warning, 96+
/// contraindicated (draft-ietf-rats-ar4si; 96 is e.g. `unsupportable_config` and
/// `contraindicated_hardware`). Negative values are refused as contraindicated.
pub fn tier(v: i64) -> u8 {
    match v {
        i64::MIN..=-1 => 3,
        0..=1 => 0,
        2..=31 => 1,
        32..=95 => 2,
        _ => 3,
    }
}

/// Worst tier across the vector: `none`, `affirming`, `warning` or `contraindicated`.
pub fn status(vector: &Map<String, Value>) -> &'static str {
    let worst = vector.values().filter_map(Value::as_i64).map(tier).max().unwrap_or(0);
    ["none", "affirming", "warning", "contraindicated"][worst as usize]
}

/// Signs EAR tokens (and verifies the ones it signed).
pub struct EarSigner {
    key: EcdsaKeyPair,
    public: Vec<u8>,
    rng: SystemRandom,
    pub issuer: String,
    pub lifetime_secs: u64,
}

impl EarSigner {
    /// From a PKCS#8 P-256 key (`None`: an ephemeral key, tokens die with the process).
    pub fn new(pkcs8: Option<&[u8]>, issuer: String, lifetime_secs: u64) -> Result<Self, Error> {
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = SystemRandom::new();
        let key = match pkcs8 {
            Some(k) => {
                EcdsaKeyPair::from_pkcs8(alg, k).map_err(|e| Error::Config(format!("token signing key: {e}")))?
            }
            None => EcdsaKeyPair::generate(alg).map_err(|_| Error::Crypto("token key generation".into()))?,
        };
        let public = key.public_key().as_ref().to_vec();
        Ok(EarSigner { key, public, rng, issuer, lifetime_secs })
    }

    /// Uncompressed P-256 point of the signing key.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// JWK of the verification key (for `/attestation/v0/jwks` and external KBSes).
    pub fn jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64::url(&self.public[1..33]), "y": b64::url(&self.public[33..65])})
    }

    /// Builds and signs the EAR for one appraisal, without an audience (the standalone AS).
    pub fn issue(
        &self,
        now: u64,
        vector: Map<String, Value>,
        policy_id: &str,
        annotated: Value,
    ) -> Result<(String, Value), Error> {
        self.issue_with_audience(now, vector, policy_id, annotated, None)
    }

    /// [`EarSigner::issue`] with an `aud` claim ([`KBS_RESOURCE_AUDIENCE`] for RCAR tokens).
    pub fn issue_with_audience(
        &self,
        now: u64,
        vector: Map<String, Value>,
        policy_id: &str,
        annotated: Value,
        audience: Option<&str>,
    ) -> Result<(String, Value), Error> {
        let mut claims = json!({
            "eat_profile": EAT_PROFILE,
            "iat": now,
            "exp": now + self.lifetime_secs,
            "iss": self.issuer,
            "ear.verifier-id": {"developer": "https://github.com/rune-project/kbs", "build": concat!("kbs ", env!("CARGO_PKG_VERSION"))},
            "submods": {"cpu0": {
                "ear.status": status(&vector),
                "ear.trustworthiness-vector": vector,
                "ear.appraisal-policy-id": policy_id,
                "ear.veraison.annotated-evidence": annotated,
            }},
        });
        if let (Some(aud), Some(m)) = (audience, claims.as_object_mut()) {
            m.insert("aud".into(), json!(aud));
        }
        let payload = serde_json::to_vec(&claims).map_err(|e| Error::Crypto(e.to_string()))?;
        let signing_input = format!("{}.{}", b64::url(HEADER), b64::url(payload));
        let sig = self.key.sign(&self.rng, signing_input.as_bytes()).map_err(|_| Error::Crypto("ES256 sign".into()))?;
        Ok((format!("{signing_input}.{}", b64::url(sig.as_ref())), claims))
    }

    /// Verifies a token signed by this key; returns its claims and TEE key.
    pub fn verify(&self, token: &str, now: u64) -> Result<(Value, TeePubKey), Error> {
        verify_es256(token, &self.public, now)
    }

    /// Verifies a Bearer token presented to the resource endpoint: signed by this key, not
    /// expired, issued by the KBS's RCAR flow (`aud` = [`KBS_RESOURCE_AUDIENCE`]) and appraised
    /// under the KBS's own attestation policy `policy_id`. RCAR tokens are fresh by construction
    /// (the nonce came from the KBS, the lifetime is the token lifetime).
    pub fn verify_for_resources(&self, token: &str, now: u64, policy_id: &str) -> Result<(Value, TeePubKey), Error> {
        let (claims, pk) = self.verify(token, now)?;
        let audience = claims.get("aud").and_then(Value::as_str);
        let policy = claims.pointer("/submods/cpu0/ear.appraisal-policy-id").and_then(Value::as_str);
        if audience != Some(KBS_RESOURCE_AUDIENCE) || policy != Some(policy_id) {
            return Err(Error::TokenNotForResources {
                audience: audience.map(str::to_string),
                policy_id: policy.map(str::to_string),
            });
        }
        Ok((claims, pk))
    }
}

/// Verifies an ES256 EAR: signature, `exp`, and the presence of the TEE key.
pub fn verify_es256(token: &str, public: &[u8], now: u64) -> Result<(Value, TeePubKey), Error> {
    let bad = |s: &str| Error::TokenInvalid(s.to_string());
    let mut parts = token.split('.');
    let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(bad("not a compact JWS")),
    };
    let header: Value = serde_json::from_slice(&b64::url_decode("token header", h).map_err(|e| bad(&e.to_string()))?)
        .map_err(|_| bad("header is not JSON"))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad("alg must be ES256"));
    }
    let sig = b64::url_decode("token signature", s).map_err(|e| bad(&e.to_string()))?;
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public)
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| bad("signature does not verify"))?;
    let claims: Value = serde_json::from_slice(&b64::url_decode("token payload", p).map_err(|e| bad(&e.to_string()))?)
        .map_err(|_| bad("payload is not JSON"))?;
    let exp = claims.get("exp").and_then(Value::as_u64).ok_or_else(|| bad("no exp"))?;
    if exp <= now {
        return Err(Error::TokenExpired);
    }
    let pk = claims.pointer(TEE_PUBKEY_POINTER).ok_or_else(|| bad("no tee-pubkey"))?;
    let pk = TeePubKey::from_value(pk).map_err(|e| bad(&e.to_string()))?;
    Ok((claims, pk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_tiers() {
        let v = |x: i64| {
            let mut m = Map::new();
            m.insert("executables".into(), json!(x));
            m.insert("hardware".into(), json!(2));
            m
        };
        assert_eq!(status(&v(3)), "affirming");
        assert_eq!(status(&v(33)), "warning");
        assert_eq!(status(&v(95)), "warning");
        assert_eq!(status(&v(96)), "contraindicated");
        assert_eq!(status(&v(97)), "contraindicated");
        assert_eq!(status(&Map::new()), "none");
    }

    #[test]
    fn sign_verify_tamper_expire() {
        let s = EarSigner::new(None, "test".into(), 300).unwrap();
        let pk = json!({"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":b64::url([1u8;32]),"y":b64::url([2u8;32])});
        let (t, _) = s.issue(1000, Map::new(), "default", json!({"runtime_data_claims": {"tee-pubkey": pk}})).unwrap();
        assert!(s.verify(&t, 1001).is_ok());
        assert_eq!(s.verify(&t, 1300).err(), Some(Error::TokenExpired));
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let mut claims: Value = serde_json::from_slice(&b64::url_decode("p", &parts[1]).unwrap()).unwrap();
        claims["exp"] = json!(99999999999u64);
        parts[1] = b64::url(serde_json::to_vec(&claims).unwrap());
        assert!(matches!(s.verify(&parts.join("."), 1001), Err(Error::TokenInvalid(_))));
        let other = EarSigner::new(None, "test".into(), 300).unwrap();
        assert!(matches!(other.verify(&t, 1001), Err(Error::TokenInvalid(_))));
    }
}
