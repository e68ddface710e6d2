//! # kbs: Key Broker Service, Attestation Service and RVPS compatible with Confidential Containers
//!
//! - [`core::Kbs`]: the RCAR engine (protocol 0.4.0), resource release and admin operations, with no
//!   sockets, so tests drive it in memory.
//! - [`attestation::AttestationService`]: `tee::VerifierSet` + Rego appraisal + EAR tokens.
//! - [`rvps::Rvps`]: reference values (`sample` and `in-toto` extractors).
//! - [`store::Backend`]: storage trait; [`store::RedbStore`] is the crash-safe default.
//! - [`server`]: the route table (authorization declared per route, deny by default) and TLS.
//!
//! The software TEE is only verified when the process was built with
//! `tee::danger::AcceptSoftwareTee` (the `--danger-accept-software-tee` flag), and even then the
//! default resource policy refuses it.
#![forbid(unsafe_code)]

pub mod admin;
pub mod attestation;
pub mod core;
pub mod ear;
pub mod error;
pub mod handlers;
pub mod initdata;
pub mod metrics;
pub mod policy;
pub mod private_fs;
pub mod rfc3339;
pub mod rvps;
pub mod server;
pub mod session;
pub mod store;

#[cfg(test)]
mod tests;

pub use error::Error;
