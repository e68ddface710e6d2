//! Runtime-data binding: `report_data = H(JCS({"additional-evidence", "nonce", "tee-pubkey"}))`.

use aws_lc_rs::digest;
use serde_json::json;

use crate::jwk::TeePubKey;
use crate::{jcs, Error};

/// Hash algorithms a client may offer in `supported-hash-algorithms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "sha256" => Ok(HashAlg::Sha256),
            "sha384" => Ok(HashAlg::Sha384),
            "sha512" => Ok(HashAlg::Sha512),
            _ => Err(Error::UnsupportedHash(s.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    /// The default for a TEE: SHA-512 for IBM SE, SHA-384 for every other TEE.
    pub fn for_tee(tee: &str) -> Self {
        if tee == "se" {
            HashAlg::Sha512
        } else {
            HashAlg::Sha384
        }
    }
}

/// The canonical JSON the evidence is bound to.
pub fn runtime_data_json(nonce: &str, tee_pubkey: &TeePubKey, additional_evidence: &str) -> Result<Vec<u8>, Error> {
    let pk = serde_json::to_value(tee_pubkey).map_err(|e| Error::json("tee-pubkey", e))?;
    jcs::to_vec(&json!({"tee-pubkey": pk, "nonce": nonce, "additional-evidence": additional_evidence}))
}

/// The digest placed (zero-padded) in the TEE's report-data field.
pub fn runtime_data_digest(
    alg: HashAlg,
    nonce: &str,
    tee_pubkey: &TeePubKey,
    additional_evidence: &str,
) -> Result<Vec<u8>, Error> {
    Ok(alg.digest(&runtime_data_json(nonce, tee_pubkey, additional_evidence)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64;

    /// The worked vector of the compatibility spec (shared/specs/kbs-and-guest.md, RCAR step 3).
    #[test]
    fn worked_sha384_vector() {
        let nonce = b64::std((0u8..32).collect::<Vec<_>>());
        assert_eq!(nonce, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let k = TeePubKey::Ec {
            crv: "P-256".into(),
            alg: "ECDH-ES+A256KW".into(),
            x: b64::url([1u8; 32]),
            y: b64::url([2u8; 32]),
        };
        let d = runtime_data_digest(HashAlg::Sha384, &nonce, &k, "").unwrap();
        assert_eq!(
            hex::encode(d),
            "d934ba73c76ad6ce42e80746cefb42b74c7e0af0f0d30ace51557c3da2a8fe7608b3c6856f09e1f101fd459a86b1c846"
        );
    }
}
