//! # rats-tls: RA-TLS on rustls
//!
//! TLS whose certificates carry TEE evidence bound to the TLS key, wire-compatible with the C
//! rats-tls (`specs/rats-tls.md`).
//!
//! * Attester side ([`RatsCertificate::generate`]): an ephemeral P-256 (default) or RSA-3072 key and a
//!   self-signed certificate with the TCG DICE evidence extension `2.23.133.5.4.9` (non-critical),
//!   `tag(T)([raw_evidence, claims_buffer])`, report data = SHA-256(claims buffer). The null
//!   attester writes no extension.
//! * Verifier side ([`PeerVerifier`], wrapped for rustls by [`tls::RatsTlsVerifier`]): accepts the
//!   DICE format and the legacy sgx-ra-tls OIDs, checks the key binding and the evidence through the
//!   [`EvidenceVerifiers`] hook (CBOR tag → TEE → [`tee::Verifier`]), then asks the application's
//!   [`Policy`]. Each failure is a typed [`Error`] mapped to a TLS alert.
//! * The software TEE (`sample`) uses CBOR tag [`dice::tag::SOFTWARE_TEE`] and is only accepted
//!   after [`EvidenceVerifiers::accept_software_tee`] with `tee::danger::AcceptSoftwareTee`.
//!
//! Configs use an explicit aws-lc-rs [`rustls::crypto::CryptoProvider`]; nothing touches the
//! process-wide default provider.
//!
//! This crate is a library only: it parses no flags, prints nothing and installs no logger (it emits
//! `tracing` events). The sample tools (`rats-tls-server`, `rats-tls-client`, `rats-tls-bench`) and the
//! flag and plugin-name handling the EAA binaries share live in the `rats-tls-tools` crate.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cert;
pub mod danger;
pub mod dice;
mod error;
mod evidence;
pub mod tls;
mod verify;

pub use cert::{AttesterConfig, KeyAlgorithm, RatsCertificate};
pub use error::Error;
pub use evidence::{EvidenceVerifiers, HardwareCollateral, RawDcapVerifier, RawSnpVerifier};
/// The time seam is `tee`'s, re-exported so configs can name it from here.
pub use tee::clock::{Clock, FixedClock, SystemClock};
pub use verify::{legacy, legacy_binding, AcceptVerified, EvidenceFormat, PeerAttestation, PeerVerifier, Policy};
