//! # rune: an OCI runtime with runc's command line
//!
//! A plain bundle runs as an ordinary container. A bundle marked with `ENCLAVE_TYPE` /
//! `enclave.type` runs as an enclave container whose init process drives an Enclave Runtime through
//! the PAL API (see the `pal` and `enclave` crates).
//!
//! Container set-up (namespaces, rootfs, cgroups v1/v2, seccomp, hooks) is done by youki's
//! `libcontainer`; this crate owns the runc-compatible surface: state files and JSON, verbs and their
//! semantics, logging in the format containerd and docker parse, and the choice of executor.
#![deny(unsafe_code)] // allowed in `keyring` only (raw keyctl syscalls)

pub mod cgroups;
pub mod enclave;
pub mod error;
pub mod events;
pub mod executor;
pub mod features;
pub mod keyring;
pub mod logging;
pub mod runtime;
pub mod signal;
pub mod spec;
pub mod state;

pub use error::Error;
pub use runtime::Runtime;
