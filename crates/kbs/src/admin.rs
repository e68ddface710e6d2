//! Admin authentication (JWT signed with Ed25519 or ES256, `aud` = `kbs-admin`) and role ACLs
//! (anchored regexes over method and path). Without keys, every admin call is refused, unless the
//! operator passed `--danger-open-admin` ([`AdminAuth::danger_insecure`]).

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519};
use kbs_protocol::b64;
use regex::Regex;
use serde_json::Value;

use crate::Error;

use kbs_protocol::admin_token::{ADMIN_AUDIENCE, ED25519_SPKI_PREFIX, P256_SPKI_PREFIX};

pub use kbs_protocol::admin_token::AdminKeyKind;

/// A trusted admin public key and the role it may claim.
#[derive(Debug, Clone)]
pub struct AdminKey {
    pub role: String,
    pub kind: AdminKeyKind,
    pub public: Vec<u8>,
}

impl AdminKey {
    /// From a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) for Ed25519 or P-256.
    pub fn from_pem(role: &str, pem: &str) -> Result<Self, Error> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = b64::std_decode("admin public key PEM", body.trim()).map_err(|e| Error::Config(e.to_string()))?;
        let (kind, public) = if der.len() == 44 && der.starts_with(&ED25519_SPKI_PREFIX) {
            (AdminKeyKind::Ed25519, der[12..].to_vec())
        } else if der.len() == 91 && der.starts_with(&P256_SPKI_PREFIX) {
            (AdminKeyKind::Es256, der[26..].to_vec())
        } else {
            return Err(Error::Config("admin key must be an Ed25519 or P-256 SubjectPublicKeyInfo PEM".into()));
        };
        Ok(AdminKey { role: role.to_string(), kind, public })
    }
}

/// One ACL rule: `role` may call `method` (or any) on paths matching `^regex$`.
#[derive(Debug, Clone)]
pub struct AclRule {
    pub role: String,
    pub method: Option<String>,
    pub path: Regex,
}

impl AclRule {
    /// `ROLE=METHOD:REGEX` or `ROLE=*:REGEX`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::Config(format!("ACL rule {s:?} is not ROLE=METHOD:REGEX"));
        let (role, rest) = s.split_once('=').ok_or_else(bad)?;
        let (method, re) = rest.split_once(':').ok_or_else(bad)?;
        let path = Regex::new(&format!("^(?:{re})$")).map_err(|e| Error::Config(format!("ACL regex {re:?}: {e}")))?;
        Ok(AclRule { role: role.into(), method: (method != "*").then(|| method.to_ascii_uppercase()), path })
    }
}

pub struct AdminAuth {
    keys: Vec<AdminKey>,
    acl: Vec<AclRule>,
    insecure: bool,
    /// Longest accepted token lifetime (exp - now), seconds.
    pub max_lifetime: u64,
}

/// The identity an admin request was authorised as.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminIdentity {
    pub role: String,
}

impl AdminAuth {
    /// Built-in ACL: `admin` may do everything under /kbs/v0; `resource-writer` may set/delete
    /// resources; `rv-provider` may register and query reference values.
    pub fn new(keys: Vec<AdminKey>, mut extra_acl: Vec<AclRule>) -> Self {
        let mut acl = vec![
            AclRule::parse("admin=*:/kbs/v0/.*"),
            AclRule::parse("admin=*:/attestation/v0/.*"),
            AclRule::parse("resource-writer=POST:/kbs/v0/resource/.*"),
            AclRule::parse("resource-writer=DELETE:/kbs/v0/resource/.*"),
            AclRule::parse("rv-provider=*:/kbs/v0/reference-value(/.*)?"),
        ]
        .into_iter()
        .filter_map(Result::ok)
        .collect::<Vec<_>>();
        acl.append(&mut extra_acl);
        AdminAuth { keys, acl, insecure: false, max_lifetime: 3600 }
    }

    /// Accepts admin calls without a token. Development only.
    pub fn danger_insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// Checks `Authorization: Bearer <jwt>` for `method path`.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        method: &str,
        path: &str,
        now: u64,
    ) -> Result<AdminIdentity, Error> {
        if self.insecure {
            return Ok(AdminIdentity { role: "insecure-admin".into() });
        }
        let a = |s: &str| Error::AdminAuth(s.to_string());
        if self.keys.is_empty() {
            return Err(a("no admin key is configured (admin API disabled)"));
        }
        let token = authorization.and_then(|h| h.strip_prefix("Bearer ")).ok_or_else(|| a("missing Bearer token"))?;
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(a("token is not a compact JWS"));
        }
        let header: Value =
            serde_json::from_slice(&b64::url_decode("jwt header", parts[0]).map_err(|e| a(&e.to_string()))?)
                .map_err(|_| a("header is not JSON"))?;
        let kind = match header.get("alg").and_then(Value::as_str) {
            Some("EdDSA") => AdminKeyKind::Ed25519,
            Some("ES256") => AdminKeyKind::Es256,
            other => return Err(a(&format!("alg {other:?} not accepted (EdDSA, ES256)"))),
        };
        let sig = b64::url_decode("jwt signature", parts[2]).map_err(|e| a(&e.to_string()))?;
        let msg = format!("{}.{}", parts[0], parts[1]);
        let key = self
            .keys
            .iter()
            .filter(|k| k.kind == kind)
            .find(|k| match kind {
                AdminKeyKind::Ed25519 => {
                    UnparsedPublicKey::new(&ED25519, &k.public).verify(msg.as_bytes(), &sig).is_ok()
                }
                AdminKeyKind::Es256 => {
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &k.public).verify(msg.as_bytes(), &sig).is_ok()
                }
            })
            .ok_or_else(|| a("signature does not verify with any admin key"))?;
        let claims: Value =
            serde_json::from_slice(&b64::url_decode("jwt claims", parts[1]).map_err(|e| a(&e.to_string()))?)
                .map_err(|_| a("claims are not JSON"))?;
        let exp = claims.get("exp").and_then(Value::as_u64).ok_or_else(|| a("token has no exp"))?;
        if exp <= now {
            return Err(a("token expired"));
        }
        if exp > now + self.max_lifetime {
            return Err(a("token lifetime exceeds the allowed maximum"));
        }
        if claims.get("nbf").and_then(Value::as_u64).is_some_and(|n| n > now) {
            return Err(a("token not yet valid"));
        }
        // RFC 7519 4.1.3: a string or an array of strings, one of which must be ours.
        let for_us = match claims.get("aud") {
            Some(Value::String(s)) => s == ADMIN_AUDIENCE,
            Some(Value::Array(v)) => v.iter().any(|x| x.as_str() == Some(ADMIN_AUDIENCE)),
            _ => false,
        };
        if !for_us {
            return Err(a(&format!("token aud must be (or contain) {ADMIN_AUDIENCE:?}")));
        }
        let role = claims.get("role").and_then(Value::as_str).unwrap_or(&key.role);
        if role != key.role {
            return Err(a(&format!("token claims role {role:?} but its key is registered for {:?}", key.role)));
        }
        let allowed = self
            .acl
            .iter()
            .any(|r| r.role == role && r.method.as_deref().is_none_or(|m| m == method) && r.path.is_match(path));
        if !allowed {
            return Err(Error::AdminAccessDenied { role: role.into(), method: method.into(), path: path.into() });
        }
        Ok(AdminIdentity { role: role.into() })
    }
}

pub use kbs_protocol::admin_token as signer;

#[cfg(test)]
mod tests {
    use super::signer::AdminSigner;
    use super::*;

    #[test]
    fn jwt_roles_and_keys() {
        let now = 1_000_000;
        let (ed, _, ed_pub) = AdminSigner::generate(AdminKeyKind::Ed25519).unwrap();
        let (es, _, es_pub) = AdminSigner::generate(AdminKeyKind::Es256).unwrap();
        let auth = AdminAuth::new(
            vec![
                AdminKey::from_pem("admin", &ed_pub).unwrap(),
                AdminKey::from_pem("resource-writer", &es_pub).unwrap(),
            ],
            vec![],
        );
        let bearer = |t: String| format!("Bearer {t}");
        let t = bearer(ed.token("admin", now, 60).unwrap());
        assert!(auth.authorize(Some(&t), "POST", "/kbs/v0/resource-policy", now).is_ok());
        let w = bearer(es.token("resource-writer", now, 60).unwrap());
        assert!(auth.authorize(Some(&w), "POST", "/kbs/v0/resource/a/b/c", now).is_ok());
        assert!(matches!(
            auth.authorize(Some(&w), "POST", "/kbs/v0/resource-policy", now),
            Err(Error::AdminAccessDenied { .. })
        ));
        // the writer key cannot claim admin
        let w2 = bearer(es.token("admin", now, 60).unwrap());
        assert!(matches!(auth.authorize(Some(&w2), "POST", "/kbs/v0/resource-policy", now), Err(Error::AdminAuth(_))));
        assert!(matches!(auth.authorize(None, "POST", "/kbs/v0/resource-policy", now), Err(Error::AdminAuth(_))));
        assert!(matches!(
            auth.authorize(Some(&t), "POST", "/kbs/v0/resource-policy", now + 61),
            Err(Error::AdminAuth(_))
        ));
        let (other, _, _) = AdminSigner::generate(AdminKeyKind::Ed25519).unwrap();
        let o = bearer(other.token("admin", now, 60).unwrap());
        assert!(matches!(auth.authorize(Some(&o), "POST", "/kbs/v0/resource-policy", now), Err(Error::AdminAuth(_))));
        // no keys: disabled; insecure: allowed
        assert!(AdminAuth::new(vec![], vec![]).authorize(Some(&t), "POST", "/kbs/v0/x", now).is_err());
        assert!(AdminAuth::new(vec![], vec![]).danger_insecure().authorize(None, "POST", "/kbs/v0/x", now).is_ok());
    }

    /// A token with exactly these claims, signed by `s` (Ed25519).
    fn signed(s: &AdminSigner, claims: Value) -> String {
        let AdminSigner::Ed25519(k) = s else { panic!("Ed25519 signer expected") };
        let msg = format!("{}.{}", b64::url(r#"{"alg":"EdDSA","typ":"JWT"}"#), b64::url(claims.to_string()));
        format!("Bearer {msg}.{}", b64::url(k.sign(msg.as_bytes()).as_ref()))
    }

    #[test]
    fn admin_jwt_audience_required() {
        let now = 1_000_000;
        let (ed, _, ed_pub) = AdminSigner::generate(AdminKeyKind::Ed25519).unwrap();
        let auth = AdminAuth::new(vec![AdminKey::from_pem("admin", &ed_pub).unwrap()], vec![]);
        let ok = |t: &str| auth.authorize(Some(t), "POST", "/kbs/v0/resource-policy", now);
        // what kbs-client mints
        let minted = format!("Bearer {}", ed.token("admin", now, 60).unwrap());
        assert!(ok(&minted).is_ok());
        let claims: Value =
            serde_json::from_slice(&b64::url_decode("c", minted.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(claims["aud"], kbs_protocol::admin_token::ADMIN_AUDIENCE);
        // no aud (a trustee-style admin token), another aud, aud of the wrong type: refused
        let base = serde_json::json!({"role": "admin", "iat": now, "exp": now + 60});
        let with = |aud: Value| {
            let mut c = base.clone();
            c["aud"] = aud;
            signed(&ed, c)
        };
        let r = ok(&signed(&ed, base.clone()));
        assert!(matches!(&r, Err(Error::AdminAuth(m)) if m.contains("aud")), "{r:?}");
        assert!(matches!(ok(&with(serde_json::json!("kbs-resource"))), Err(Error::AdminAuth(_))));
        assert!(matches!(ok(&with(serde_json::json!(["kbs", "other"]))), Err(Error::AdminAuth(_))));
        assert!(matches!(ok(&with(serde_json::json!(7))), Err(Error::AdminAuth(_))));
        // RFC 7519: aud may be an array that contains ours
        assert!(ok(&with(serde_json::json!("kbs-admin"))).is_ok());
        assert!(ok(&with(serde_json::json!(["other", "kbs-admin"]))).is_ok());
    }
}
