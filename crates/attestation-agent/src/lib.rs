//! # attestation-agent: the guest side of Confidential Containers attestation
//!
//! What runs inside the TEE (a confidential VM, or an enclave's agent): it finds the TEE it runs in
//! ([`attester`], through `tee::attest::detect`), produces evidence bound to caller data, and
//! talks RCAR (KBS protocol 0.4.0) to a Key Broker Service ([`rcar`]) to obtain an attestation
//! token and resources. Wire types, JOSE and the binding come from `kbs-protocol`, the only code
//! this crate shares with the KBS server; the HTTP client lives here so the server never compiles one.
//!
//! The agent itself ([`service::AttestationAgent`]: GetEvidence, GetToken("kbs"), GetTeeType,
//! ExtendRuntimeMeasurement with the CoCo event log, [`eventlog`]) is served over ttRPC with
//! guest-components' protos ([`ttrpc_server`], `protos/attestation-agent.proto`) and over their
//! REST paths ([`rest`]) (cargo feature `server`, on by default). Configuration: [`config`].
//! Init-data is checked against the TEE's host-data field before use ([`initdata`]).
//!
//! The software TEE (`sample`, no confidentiality) is used only with [`danger::UseSoftwareTee`].
#![forbid(unsafe_code)]

pub mod attester;
pub mod config;
pub mod danger;
mod error;
pub mod eventlog;
pub mod initdata;
#[cfg(feature = "server")]
pub mod protos;
pub mod rcar;
#[cfg(feature = "server")]
pub mod rest;
pub mod service;
#[cfg(feature = "server")]
pub mod ttrpc_server;

pub use error::Error;
