//! Code generated at build time from `protos/attestation-agent.proto` (guest-components' API).
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    missing_docs,
    unused_qualifications,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unused_imports,
    unused_results,
    unused_mut,
    dead_code,
    trivial_casts,
    unknown_lints,
    renamed_and_removed_lints
)]

/// Messages (rust-protobuf).
pub mod attestation_agent {
    include!(concat!(env!("OUT_DIR"), "/attestation_agent.rs"));
}

/// Async ttRPC client and server glue.
pub mod attestation_agent_ttrpc {
    include!(concat!(env!("OUT_DIR"), "/attestation_agent_ttrpc.rs"));
}
