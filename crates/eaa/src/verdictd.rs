//! The verdictd-role key service.
//!
//! Clients attest with mutual RA-TLS; the client's verified claims go through a Rego policy
//! ([`policy`], default deny) during the handshake; then JSON commands ([`service`]) decrypt blobs
//! or hand out KEKs from an embedded store ([`keystore`]). [`keyprovider`] speaks ocicrypt's
//! key-provider protocol (WrapKey/UnWrapKey) with the same keys; [`grpc`] serves it as ocicrypt's
//! `keyprovider.KeyProviderService`.

pub mod grpc;
pub mod keyprovider;
pub mod keystore;
pub mod policy;
pub mod service;
