//! # rats-tls-tools: the RA-TLS tools and the flags other binaries share
//!
//! The [`rats_tls`] library parses no flags and prints nothing; this crate is its command-line side:
//!
//! * the sample tools `rats-tls-server` and `rats-tls-client`, with the C rats-tls samples' flags
//!   ([`flags::SampleFlags`]) and their echo protocol ([`echo`]), so either side can be swapped for the C
//!   peer;
//! * `rats-tls-bench`, the load generator of `bench/ratls.sh`;
//! * the C plugin names (`-a`/`-v`/`-t`/`-c`) mapped to attesters and verifiers ([`names`]), with the
//!   `--danger-` opt-ins ([`flags::DangerFlags`]) the EAA binaries flatten too;
//! * the claim listing and the `tracing` subscriber the binaries install ([`output`]);
//! * `rats-tls-danger-fakeev`, a **test-only** binary for the interop suite: it speaks the `fakeev`
//!   evidence of the C peer build (a fixed, unsigned SGX-quote-shaped blob). That code lives in the
//!   binary alone; no name in [`names`] reaches it, so `rats-tls-server`/`-client` and every library
//!   refuse such evidence.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod echo;
pub mod flags;
pub mod names;
pub mod output;

pub use flags::{DangerFlags, SampleFlags};
pub use names::{attester_from_name, check_wrappers, hardware_verifiers, verifier_from_name, OptionError};
pub use output::init_tracing;
