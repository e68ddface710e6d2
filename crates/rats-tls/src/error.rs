use std::sync::Arc;

use rustls::{CertificateError, OtherError};

/// Why an RA-TLS certificate could not be produced or a peer's certificate was refused.
///
/// Each verification failure maps to a TLS alert once, in [`Error::to_tls`]:
///
/// | variant | alert |
/// |---|---|
/// | [`Error::PolicyDenied`] | `access_denied` |
/// | [`Error::CertificateSignature`] | `decrypt_error` |
/// | [`Error::CertificateExpired`] / [`Error::CertificateNotYetValid`] | `certificate_expired` |
/// | every other variant | `certificate_unknown` (the typed error travels inside `CertificateError::Other`) |
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The peer's certificate has neither the TCG DICE evidence extension nor a legacy sgx-ra-tls one,
    /// and the verifier requires evidence.
    #[error("peer certificate carries no evidence (no 2.23.133.5.4.9 or sgx-ra-tls extension)")]
    NoEvidence,
    /// The key in the certificate is not the key the evidence was bound to.
    #[error("evidence is bound to another key: {what} expected {expected}, found {found}")]
    WrongBinding { what: &'static str, expected: String, found: String },
    /// The TEE verifier refused the evidence (signature, report data, TCB, ...).
    #[error("evidence rejected: {0}")]
    EvidenceRejected(Arc<tee::Error>),
    /// No verifier is enabled for the evidence's CBOR tag / TEE.
    #[error("no verifier enabled for evidence with CBOR tag {tag:#x} ({what})")]
    NoVerifierForTag { tag: u64, what: String },
    /// The evidence is valid but the application's policy refused the claims.
    #[error("policy denied the peer: {0}")]
    PolicyDenied(String),
    /// The evidence extension or claims buffer could not be decoded.
    #[error("malformed evidence extension: {0}")]
    MalformedEvidence(String),
    /// The certificate itself could not be parsed.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// The certificate's self-signature does not verify with its own key (tampered certificate).
    #[error("certificate self-signature does not verify: {0}")]
    CertificateSignature(String),
    #[error("certificate is expired")]
    CertificateExpired,
    #[error("certificate is not yet valid")]
    CertificateNotYetValid,
    /// Generating the ephemeral key or certificate failed.
    #[error("cannot generate RA-TLS certificate: {0}")]
    Generate(String),
    /// The attester could not produce evidence.
    #[error("attester failed: {0}")]
    Attester(Arc<tee::Error>),
    /// A TLS-level configuration error.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

impl Error {
    /// The rustls error (and thereby the alert) for a verification failure.
    pub fn to_tls(&self) -> rustls::Error {
        let ce = match self {
            Error::PolicyDenied(_) => CertificateError::ApplicationVerificationFailure,
            Error::CertificateSignature(_) => CertificateError::BadSignature,
            Error::CertificateExpired => CertificateError::Expired,
            Error::CertificateNotYetValid => CertificateError::NotValidYet,
            other => CertificateError::Other(OtherError(Arc::new(other.clone()))),
        };
        rustls::Error::InvalidCertificate(ce)
    }

    /// Recovers the typed error from a rustls error produced by this crate's verifiers (on the
    /// verifying side). `None` if the error did not come from an RA-TLS check.
    pub fn from_tls(e: &rustls::Error) -> Option<Error> {
        match e {
            rustls::Error::InvalidCertificate(CertificateError::Other(o)) => o.0.downcast_ref::<Error>().cloned(),
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure) => {
                Some(Error::PolicyDenied("refused by the application policy (see verifier log)".into()))
            }
            rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
                Some(Error::CertificateSignature("bad signature".into()))
            }
            rustls::Error::InvalidCertificate(CertificateError::Expired) => Some(Error::CertificateExpired),
            rustls::Error::InvalidCertificate(CertificateError::NotValidYet) => Some(Error::CertificateNotYetValid),
            _ => None,
        }
    }
}
