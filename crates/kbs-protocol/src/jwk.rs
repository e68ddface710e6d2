//! TEE public keys as JWK (the `tee-pubkey` of the Attestation message) and the client's key pair.
//!
//! The KBS re-serialises the key before hashing it, so a key with members other than exactly
//! `kty, crv, alg, x, y` (EC) or `kty, alg, n, e` (RSA) is refused instead of silently dropped.

use aws_lc_rs::agreement;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{b64, der, jwe, Error};

pub const ALG_ECDH_ES_A256KW: &str = "ECDH-ES+A256KW";
pub const ALG_RSA_OAEP_256: &str = "RSA-OAEP-256";

/// A TEE public key as JWK (kbs-types `TeePubKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kty")]
pub enum TeePubKey {
    #[serde(rename = "EC")]
    Ec { crv: String, alg: String, x: String, y: String },
    #[serde(rename = "RSA")]
    Rsa { alg: String, n: String, e: String },
}

impl TeePubKey {
    /// Parses a JWK object, refusing unknown or missing members.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        let m = v.as_object().ok_or_else(|| Error::Jwk("tee-pubkey is not a JSON object".into()))?;
        let kty = str_member(m, "kty")?;
        let allowed: &[&str] = match kty {
            "EC" => &["kty", "crv", "alg", "x", "y"],
            "RSA" => &["kty", "alg", "n", "e"],
            other => return Err(Error::Jwk(format!("unsupported kty {other:?}"))),
        };
        if let Some(extra) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::Jwk(format!("unexpected member {extra:?} in {kty} key (send exactly {allowed:?})")));
        }
        let k = match kty {
            "EC" => TeePubKey::Ec {
                crv: str_member(m, "crv")?.into(),
                alg: str_member(m, "alg")?.into(),
                x: str_member(m, "x")?.into(),
                y: str_member(m, "y")?.into(),
            },
            _ => TeePubKey::Rsa {
                alg: str_member(m, "alg")?.into(),
                n: str_member(m, "n")?.into(),
                e: str_member(m, "e")?.into(),
            },
        };
        k.check()?;
        Ok(k)
    }

    /// Checks algorithm, curve and encodings.
    pub fn check(&self) -> Result<(), Error> {
        match self {
            TeePubKey::Ec { crv, alg, x, y } => {
                if alg != ALG_ECDH_ES_A256KW {
                    return Err(Error::Jwk(format!("EC key alg {alg:?}, expected {ALG_ECDH_ES_A256KW}")));
                }
                let len = ec_coord_len(crv)?;
                let (x, y) = (b64::url_decode("jwk x", x)?, b64::url_decode("jwk y", y)?);
                if x.len() != len || y.len() != len {
                    return Err(Error::Jwk(format!("{crv} coordinates must be {len} bytes")));
                }
            }
            TeePubKey::Rsa { alg, n, e } => {
                if alg != ALG_RSA_OAEP_256 {
                    return Err(Error::Jwk(format!("RSA key alg {alg:?}, expected {ALG_RSA_OAEP_256}")));
                }
                let n = b64::url_decode("jwk n", n)?;
                b64::url_decode("jwk e", e)?;
                if n.len() < 256 || n.len() > 512 {
                    return Err(Error::Jwk(format!("RSA modulus of {} bits (2048..4096 accepted)", n.len() * 8)));
                }
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for TeePubKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        TeePubKey::from_value(&v).map_err(serde::de::Error::custom)
    }
}

fn str_member<'a>(m: &'a Map<String, Value>, k: &str) -> Result<&'a str, Error> {
    m.get(k)
        .ok_or_else(|| Error::Jwk(format!("missing member {k:?}")))?
        .as_str()
        .ok_or_else(|| Error::Jwk(format!("member {k:?} is not a string")))
}

pub(crate) fn ec_coord_len(crv: &str) -> Result<usize, Error> {
    match crv {
        "P-256" => Ok(32),
        "P-384" => Ok(48),
        "P-521" => Ok(66),
        other => Err(Error::Jwk(format!("unsupported curve {other:?}"))),
    }
}

pub(crate) fn ecdh_alg(crv: &str) -> Result<&'static agreement::Algorithm, Error> {
    match crv {
        "P-256" => Ok(&agreement::ECDH_P256),
        "P-384" => Ok(&agreement::ECDH_P384),
        "P-521" => Ok(&agreement::ECDH_P521),
        other => Err(Error::Jwk(format!("unsupported curve {other:?}"))),
    }
}

/// Which kind of key a client generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcP256,
    EcP521,
    Rsa2048,
}

/// The client's TEE key pair: the private half never leaves the TEE.
pub enum TeeKeyPair {
    Ec { crv: &'static str, key: agreement::PrivateKey },
    Rsa { key: OaepPrivateDecryptingKey, public: TeePubKey },
}

impl std::fmt::Debug for TeeKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TeeKeyPair::Ec { crv, .. } => write!(f, "TeeKeyPair::Ec({crv})"),
            TeeKeyPair::Rsa { .. } => write!(f, "TeeKeyPair::Rsa"),
        }
    }
}

impl TeeKeyPair {
    pub fn generate(kind: KeyKind) -> Result<Self, Error> {
        match kind {
            KeyKind::EcP256 | KeyKind::EcP521 => {
                let crv = if kind == KeyKind::EcP256 { "P-256" } else { "P-521" };
                let key =
                    agreement::PrivateKey::generate(ecdh_alg(crv)?).map_err(|_| Error::Crypto("EC key generation"))?;
                Ok(TeeKeyPair::Ec { crv, key })
            }
            KeyKind::Rsa2048 => {
                let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
                    .map_err(|_| Error::Crypto("RSA key generation"))?;
                let spki = key.public_key().as_der().map_err(|_| Error::Crypto("RSA public key export"))?;
                let (n, e) = der::rsa_from_spki(spki.as_ref())?;
                let public = TeePubKey::Rsa { alg: ALG_RSA_OAEP_256.into(), n: b64::url(n), e: b64::url(e) };
                let key = OaepPrivateDecryptingKey::new(key).map_err(|_| Error::Crypto("RSA OAEP key"))?;
                Ok(TeeKeyPair::Rsa { key, public })
            }
        }
    }

    pub fn public(&self) -> Result<TeePubKey, Error> {
        match self {
            TeeKeyPair::Ec { crv, key } => {
                let pk = key.compute_public_key().map_err(|_| Error::Crypto("EC public key"))?;
                let pt = pk.as_ref();
                let len = ec_coord_len(crv)?;
                if pt.len() != 1 + 2 * len || pt[0] != 4 {
                    return Err(Error::Crypto("unexpected EC point encoding"));
                }
                Ok(TeePubKey::Ec {
                    crv: (*crv).into(),
                    alg: ALG_ECDH_ES_A256KW.into(),
                    x: b64::url(&pt[1..1 + len]),
                    y: b64::url(&pt[1 + len..]),
                })
            }
            TeeKeyPair::Rsa { public, .. } => Ok(public.clone()),
        }
    }

    /// The private key as PKCS#8 DER, for an Attestation Agent that hands the TEE key to its
    /// caller (guest-components' `tee_keypair`). EC keys only: an RSA key is not exportable
    /// once wrapped for OAEP.
    pub fn private_key_pkcs8_der(&self) -> Result<Vec<u8>, Error> {
        use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
        match self {
            TeeKeyPair::Ec { key, .. } => {
                let der: Pkcs8V1Der<'static> = key.as_der().map_err(|_| Error::Crypto("EC private key export"))?;
                Ok(der.as_ref().to_vec())
            }
            TeeKeyPair::Rsa { .. } => Err(Error::Crypto("exporting an RSA TEE private key is not supported")),
        }
    }

    /// Decrypts a resource response addressed to this key.
    pub fn decrypt(&self, resp: &crate::types::JweResponse) -> Result<Vec<u8>, Error> {
        jwe::decrypt(self, resp)
    }
}
