//! The verifier side: checks a peer's RA-TLS certificate and hands the claims to a policy.
//!
//! Order (as the C peer): tolerate the self-signed leaf (but check its self-signature and validity);
//! decode the extension; verify the evidence against SHA-256(claims buffer as received); compare
//! `pubkey-hash` with the certificate's SubjectPublicKeyInfo; call the application policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::signature;
use rustls::pki_types::UnixTime;
use sha2::{Digest, Sha256};
use tee::clock::{Clock, SystemClock};
use x509_parser::prelude::*;

use crate::{danger, dice, Error, EvidenceVerifiers};

/// Legacy Intel sgx-ra-tls extension OIDs (`1.2.840.113741.1337.*`).
pub mod legacy {
    pub const IAS_RESPONSE_BODY: &str = "1.2.840.113741.1337.2";
    pub const IAS_ROOT_CERT: &str = "1.2.840.113741.1337.3";
    pub const IAS_LEAF_CERT: &str = "1.2.840.113741.1337.4";
    pub const IAS_REPORT_SIGNATURE: &str = "1.2.840.113741.1337.5";
    pub const SGX_ECDSA_QUOTE: &str = "1.2.840.113741.1337.6";
    pub const TDX_QUOTE: &str = "1.2.840.113741.1337.8";
    pub const SGX_LOCAL_REPORT: &str = "1.2.840.113741.1337.14";
}

/// How the peer carried its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceFormat {
    /// TCG DICE extension with this CBOR tag.
    Dice { tag: u64 },
    /// Legacy sgx-ra-tls extension with this OID.
    Legacy { oid: &'static str },
    /// No evidence (null attester); only reachable with [`danger::AcceptWithoutEvidence`].
    None,
}

/// What the verifier learned about the peer; the policy decides on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerAttestation {
    pub format: EvidenceFormat,
    /// Claims of the verified evidence; `None` when there was none or it was not verified
    /// (null verifier).
    pub tee_claims: Option<tee::Claims>,
    /// Custom claims from the claims buffer (DICE format only).
    pub custom_claims: BTreeMap<String, Vec<u8>>,
    /// SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub spki_sha256: [u8; 32],
}

/// The application's decision on a verified peer. `Err(reason)` refuses it.
pub trait Policy: Send + Sync {
    fn check(&self, peer: &PeerAttestation) -> Result<(), String>;
}

impl<F: Fn(&PeerAttestation) -> Result<(), String> + Send + Sync> Policy for F {
    fn check(&self, peer: &PeerAttestation) -> Result<(), String> {
        self(peer)
    }
}

/// Accepts every peer whose evidence the enabled verifiers accepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptVerified;

impl Policy for AcceptVerified {
    fn check(&self, _peer: &PeerAttestation) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    RequireEvidence,
    /// The C `nullverifier`: evidence is not checked; a present claims buffer is still bound to the key.
    Null,
}

/// Verifies peer certificates. Used for both directions (server and client certificates).
#[derive(Clone)]
pub struct PeerVerifier {
    evidence: EvidenceVerifiers,
    mode: Mode,
    policy: Arc<dyn Policy>,
    /// The time certificates are checked at, also in the TLS handshake (see [`crate::tls`]).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PeerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerVerifier").field("evidence", &self.evidence).field("mode", &self.mode).finish()
    }
}

impl PeerVerifier {
    /// Requires verified evidence from the peer, checked by `evidence`.
    pub fn new(evidence: EvidenceVerifiers) -> Self {
        PeerVerifier {
            evidence,
            mode: Mode::RequireEvidence,
            policy: Arc::new(AcceptVerified),
            clock: Arc::new(SystemClock),
        }
    }

    /// The null verifier: accepts peers without evidence and does not verify evidence.
    pub fn null(_opt_in: danger::AcceptWithoutEvidence) -> Self {
        PeerVerifier {
            evidence: EvidenceVerifiers::hardware_only(),
            mode: Mode::Null,
            policy: Arc::new(AcceptVerified),
            clock: Arc::new(SystemClock),
        }
    }

    pub fn with_policy(mut self, policy: Arc<dyn Policy>) -> Self {
        self.policy = policy;
        self
    }

    /// Checks certificate validity at `clock`'s time (default: the system clock), in
    /// [`crate::tls::peer_attestation`] and in handshakes of configs built from this verifier.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The verifier's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The current time of the verifier's clock.
    pub fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(self.clock.now_unix()))
    }

    /// Checks one DER certificate at time `now`.
    pub fn verify_certificate(&self, der: &[u8], now: UnixTime) -> Result<PeerAttestation, Error> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| Error::MalformedCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::MalformedCertificate(format!("{} bytes after the certificate", rest.len())));
        }
        let t = now.as_secs() as i64;
        if t < cert.validity().not_before.timestamp() {
            return Err(Error::CertificateNotYetValid);
        }
        if t > cert.validity().not_after.timestamp() {
            return Err(Error::CertificateExpired);
        }
        check_self_signature(&cert)?;

        let spki_der = cert.public_key().raw;
        let spki_sha256: [u8; 32] = Sha256::digest(spki_der).into();

        let mut dice_ext = None;
        let mut legacy_ext = None;
        for ext in cert.extensions() {
            let oid = ext.oid.to_id_string();
            if oid == "2.23.133.5.4.9" {
                dice_ext = Some(ext.value);
            } else if let Some(l) = legacy_oid(&oid) {
                legacy_ext.get_or_insert((l, ext.value));
            }
        }

        let att = if let Some(ext) = dice_ext {
            self.verify_dice(ext, spki_der, spki_sha256)?
        } else if let Some((oid, value)) = legacy_ext {
            self.verify_legacy(oid, value, &cert, spki_sha256)?
        } else if self.mode == Mode::Null {
            PeerAttestation {
                format: EvidenceFormat::None,
                tee_claims: None,
                custom_claims: BTreeMap::new(),
                spki_sha256,
            }
        } else {
            return Err(Error::NoEvidence);
        };
        self.policy.check(&att).map_err(Error::PolicyDenied)?;
        Ok(att)
    }

    fn verify_dice(&self, ext: &[u8], spki_der: &[u8], spki_sha256: [u8; 32]) -> Result<PeerAttestation, Error> {
        let te = dice::parse_evidence_buffer(ext)?;
        let tee_claims = match self.mode {
            Mode::RequireEvidence => {
                let rd = Sha256::digest(&te.claims_buffer);
                Some(self.evidence.verify(te.tag, &te.raw, &rd)?)
            }
            Mode::Null => None,
        };
        let cb = dice::parse_claims_buffer(&te.claims_buffer)?;
        let actual = dice::hash_with(cb.pubkey_hash_alg, spki_der)?;
        if actual != cb.pubkey_hash {
            return Err(Error::WrongBinding {
                what: "pubkey-hash",
                expected: hex::encode(&cb.pubkey_hash),
                found: hex::encode(actual),
            });
        }
        Ok(PeerAttestation {
            format: EvidenceFormat::Dice { tag: te.tag },
            tee_claims,
            custom_claims: cb.custom,
            spki_sha256,
        })
    }

    fn verify_legacy(
        &self,
        oid: &'static str,
        value: &[u8],
        cert: &X509Certificate<'_>,
        spki_sha256: [u8; 32],
    ) -> Result<PeerAttestation, Error> {
        let tag = match oid {
            legacy::SGX_ECDSA_QUOTE | legacy::TDX_QUOTE => dice::tag::INTEL_TEE_QUOTE,
            legacy::SGX_LOCAL_REPORT => dice::tag::SGX_LEGACY_REPORT,
            _ => {
                return Err(Error::NoVerifierForTag {
                    tag: 0,
                    what: format!("legacy EPID/IAS evidence ({oid}) is not supported"),
                })
            }
        };
        let tee_claims = match self.mode {
            Mode::RequireEvidence => Some(self.evidence.verify(tag, value, &legacy_binding(cert))?),
            Mode::Null => None,
        };
        Ok(PeerAttestation {
            format: EvidenceFormat::Legacy { oid },
            tee_claims,
            custom_claims: BTreeMap::new(),
            spki_sha256,
        })
    }
}

fn legacy_oid(oid: &str) -> Option<&'static str> {
    [legacy::IAS_RESPONSE_BODY, legacy::SGX_ECDSA_QUOTE, legacy::TDX_QUOTE, legacy::SGX_LOCAL_REPORT]
        .into_iter()
        .find(|l| *l == oid)
}

/// The legacy binding: SHA-256 of the SubjectPublicKeyInfo DER for EC keys and of the PKCS#1
/// RSAPublicKey DER for RSA keys.
pub fn legacy_binding(cert: &X509Certificate<'_>) -> Vec<u8> {
    let spki = cert.public_key();
    let rsa = spki.algorithm.algorithm.to_id_string() == "1.2.840.113549.1.1.1";
    let bytes: &[u8] = if rsa { &spki.subject_public_key.data } else { spki.raw };
    Sha256::digest(bytes).to_vec()
}

fn check_self_signature(cert: &X509Certificate<'_>) -> Result<(), Error> {
    let alg = cert.signature_algorithm.algorithm.to_id_string();
    let spki = cert.public_key();
    let key_alg = spki.algorithm.algorithm.to_id_string();
    let curve =
        spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string()).unwrap_or_default();
    let verify_alg: &'static dyn signature::VerificationAlgorithm =
        match (alg.as_str(), key_alg.as_str(), curve.as_str()) {
            ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1", "1.2.840.10045.3.1.7") => &signature::ECDSA_P256_SHA256_ASN1,
            ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1", "1.3.132.0.34") => &signature::ECDSA_P384_SHA384_ASN1,
            ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1", "1.3.132.0.34") => &signature::ECDSA_P384_SHA256_ASN1,
            ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1", "1.2.840.10045.3.1.7") => &signature::ECDSA_P256_SHA384_ASN1,
            ("1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1", _) => &signature::RSA_PKCS1_2048_8192_SHA256,
            ("1.2.840.113549.1.1.12", "1.2.840.113549.1.1.1", _) => &signature::RSA_PKCS1_2048_8192_SHA384,
            ("1.2.840.113549.1.1.13", "1.2.840.113549.1.1.1", _) => &signature::RSA_PKCS1_2048_8192_SHA512,
            ("1.2.840.113549.1.1.5", "1.2.840.113549.1.1.1", _) => {
                &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
            }
            _ => {
                return Err(Error::CertificateSignature(format!(
                    "unsupported signature algorithm {alg} with key {key_alg} {curve}"
                )))
            }
        };
    let key = signature::UnparsedPublicKey::new(verify_alg, &spki.subject_public_key.data);
    key.verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data).map_err(|_| {
        Error::CertificateSignature(
            "signature over the TBS certificate does not verify with the certificate's key".into(),
        )
    })
}
