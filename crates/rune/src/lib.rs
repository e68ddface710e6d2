//! # rune: an OCI runtime with runc's command line
//!
//! A plain bundle runs as an ordinary container. A bundle marked with `ENCLAVE_TYPE` /
//! `enclave.type` runs as an enclave container whose init process drives an Enclave Runtime through
//! the PAL API (see the `pal` and `enclave` crates).
//!
//! Inside the container (init process, rootfs, hooks, capabilities, seccomp) youki's `libcontainer`
//! does the work; the runtime side of `create` and `delete` is rune's own ([`direct_create`],
//! [`cgroups`]), and this crate owns the runc-compatible surface: state files and JSON, verbs and
//! their semantics, logging in the format containerd and docker parse, and the choice of executor.
//!
//! Which layer a module is in:
//!
//! | layer | modules |
//! |---|---|
//! | verbs (one method per runc verb) | [`runtime`] |
//! | runtime side of `create`/`delete`, outside the container | [`direct_create`] (clone3, state files), [`cgroups`], [`keyring`], [`sys`] |
//! | inside the container's init process | [`init`], [`executor`] (plain exec or the PAL) |
//! | enclave containers, runtime side (the PAL side is the `enclave` crate) | [`enclave_container`] |
//! | state, config and output formats | [`state`], [`config`], [`events`], [`features`], [`spec`], [`logging`] |
#![deny(unsafe_code)] // allowed in `keyring` (keyctl), `sys` (clone3) and one `signal()` call

pub mod cgroups;
pub mod config;
pub mod direct_create;
pub mod enclave_container;
pub mod error;
pub mod events;
pub mod exe;
pub mod executor;
pub mod features;
pub mod init;
pub mod keyring;
pub mod logging;
pub mod runtime;
pub mod signal;
pub mod spec;
pub mod state;
pub mod sys;

pub use error::Error;
pub use runtime::Runtime;
