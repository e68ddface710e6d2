//! Admin JWTs (Ed25519 `EdDSA` or P-256 `ES256`) for the KBS admin API: key generation, PEM
//! encoding and signing. The KBS verifies them (`kbs::admin`).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

use crate::{b64, Error};

pub const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
pub const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// `aud` of admin JWTs. The KBS refuses admin tokens without it, so a token minted for another
/// service (or a trustee admin token, which has no `aud`) is not an admin credential here.
pub const ADMIN_AUDIENCE: &str = "kbs-admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminKeyKind {
    Ed25519,
    Es256,
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let b = b64::std(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

pub fn spki_pem(kind: &AdminKeyKind, public: &[u8]) -> String {
    let mut der = match kind {
        AdminKeyKind::Ed25519 => ED25519_SPKI_PREFIX.to_vec(),
        AdminKeyKind::Es256 => P256_SPKI_PREFIX.to_vec(),
    };
    der.extend_from_slice(public);
    pem("PUBLIC KEY", &der)
}

pub enum AdminSigner {
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair),
}

impl AdminSigner {
    /// New key: returns the signer, its PKCS#8 PEM and its public key PEM.
    pub fn generate(kind: AdminKeyKind) -> Result<(Self, String, String), Error> {
        let c = |_| Error::Crypto("admin key generation");
        match kind {
            AdminKeyKind::Ed25519 => {
                let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(c)?;
                let s = Self::from_pkcs8(doc.as_ref())?;
                let pubpem = spki_pem(&kind, &s.public());
                Ok((s, pem("PRIVATE KEY", doc.as_ref()), pubpem))
            }
            AdminKeyKind::Es256 => {
                let doc =
                    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).map_err(c)?;
                let s = Self::from_pkcs8(doc.as_ref())?;
                let pubpem = spki_pem(&kind, &s.public());
                Ok((s, pem("PRIVATE KEY", doc.as_ref()), pubpem))
            }
        }
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        if let Ok(k) = Ed25519KeyPair::from_pkcs8(der) {
            return Ok(AdminSigner::Ed25519(k));
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map(AdminSigner::Es256)
            .map_err(|_| Error::Jwk("admin private key must be an Ed25519 or P-256 PKCS#8 key".into()))
    }

    pub fn from_pem(s: &str) -> Result<Self, Error> {
        let body: String = s.lines().filter(|l| !l.starts_with("-----")).collect();
        Self::from_pkcs8(&b64::std_decode("admin private key PEM", body.trim())?)
    }

    pub fn public(&self) -> Vec<u8> {
        match self {
            AdminSigner::Ed25519(k) => k.public_key().as_ref().to_vec(),
            AdminSigner::Es256(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// A token for `role`, valid `lifetime` seconds from `now`, for the KBS admin API
    /// (`aud` = [`ADMIN_AUDIENCE`]).
    pub fn token(&self, role: &str, now: u64, lifetime: u64) -> Result<String, Error> {
        let alg = match self {
            AdminSigner::Ed25519(_) => "EdDSA",
            AdminSigner::Es256(_) => "ES256",
        };
        let h = b64::url(json!({"alg": alg, "typ": "JWT"}).to_string());
        let c = b64::url(json!({"role": role, "iat": now, "exp": now + lifetime, "aud": ADMIN_AUDIENCE}).to_string());
        let msg = format!("{h}.{c}");
        let sig = match self {
            AdminSigner::Ed25519(k) => k.sign(msg.as_bytes()).as_ref().to_vec(),
            AdminSigner::Es256(k) => {
                k.sign(&SystemRandom::new(), msg.as_bytes()).map_err(|_| Error::Crypto("ES256 sign"))?.as_ref().to_vec()
            }
        };
        Ok(format!("{msg}.{}", b64::url(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_carries_the_admin_audience() {
        for kind in [AdminKeyKind::Ed25519, AdminKeyKind::Es256] {
            let (s, _, _) = AdminSigner::generate(kind).unwrap();
            let t = s.token("admin", 100, 60).unwrap();
            let c = t.split('.').nth(1).unwrap();
            let claims: serde_json::Value = serde_json::from_slice(&b64::url_decode("claims", c).unwrap()).unwrap();
            assert_eq!(claims, json!({"role": "admin", "iat": 100, "exp": 160, "aud": "kbs-admin"}));
        }
    }
}
