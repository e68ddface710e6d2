//! # eaa: the enclave attestation architecture on RA-TLS
//!
//! * [`inclavared`]: RA-TLS server/forwarder answering `GETENCLAVEINFO` with verified measurements
//!   (its own, or, with `--xfer`, those of an upstream RA-TLS server it attests).
//! * [`shelter`]: the verifier client (`remoteattestation`) and the software MRENCLAVE computation
//!   ([`mrenclave`], `mrverify`).
//! * [`verdictd`]: the verdictd-role key service: JSON commands over mutually attested RA-TLS, keys in
//!   an embedded redb store, a Rego policy (default deny) over the client's verified claims, and the
//!   ocicrypt key-provider protocol (WrapKey/UnWrapKey), also as ocicrypt's gRPC
//!   `keyprovider.KeyProviderService` ([`verdictd::grpc`]).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod flags;
pub mod inclavared;
pub mod measurements;
pub mod mrenclave;
pub mod net;
pub mod shelter;
#[cfg(test)]
mod testing;
pub mod verdictd;

/// Errors of the EAA services.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    #[error("bad address {0:?} (tcp://host:port, unix:///path, host:port, or a socket path containing '/')")]
    BadAddress(String),
    #[error("refusing to bind {}: a {kind} is there, not a stale socket (remove it or choose another path)", path.display())]
    NotASocket { path: std::path::PathBuf, kind: String },
    #[error("{0}")]
    Io(String),
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    #[error("RA-TLS: {0}")]
    RatsTls(rats_tls::Error),
    #[error("bad message: {0}")]
    BadMessage(String),
    #[error("unknown request type {0:?}")]
    UnknownRequest(String),
    #[error("upstream {addr}: {reason}")]
    Upstream { addr: String, reason: String },
    #[error("key store: {0}")]
    Store(String),
    #[error("no key with id {0:?}")]
    UnknownKey(String),
    #[error("policy: {0}")]
    Policy(String),
    /// The policy parses as pre-1.0 Rego but not as Rego v1, the dialect verdictd and the KBS read.
    #[error("policy is written in Rego v0 syntax; verdictd reads Rego v1 (rego.v1): put `if` before every rule body and `contains` in multi-value rules, or rewrite the file with `opa fmt --v0-v1` (parser: {detail})")]
    PolicyRegoV0 { detail: String },
    #[error("policy refuses {op} of key {kid:?}")]
    KeyDenied { kid: String, op: &'static str },
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("{0}")]
    Rng(#[from] tee::rng::RngError),
    #[error("enclave measurement: {0}")]
    Measurement(String),
}

impl From<rats_tls::Error> for Error {
    fn from(e: rats_tls::Error) -> Self {
        Error::RatsTls(e)
    }
}
