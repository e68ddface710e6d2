//! # kbs-protocol: the RCAR protocol (KBS protocol 0.4.0) shared by the KBS and its clients
//!
//! Wire types ([`types`]), RFC 8785 canonical JSON ([`jcs`]), the runtime-data binding
//! ([`binding`]), TEE keys as JWK ([`jwk`]), the JWE used for resource responses ([`jwe`]),
//! resource URIs ([`uri`]), admin tokens ([`admin_token`]) and init-data documents ([`initdata`]). No transport: the KBS server and
//! the guest-side client (the `attestation-agent` crate) share only these types, so the server
//! never compiles an HTTP client.
#![forbid(unsafe_code)]

pub mod admin_token;
pub mod b64;
pub mod binding;
mod der;
mod error;
pub mod initdata;
pub mod jcs;
pub mod jwe;
pub mod jwk;
pub mod types;
pub mod uri;

pub use error::Error;

/// The only protocol version trustee (and we) accept.
pub const PROTOCOL_VERSION: &str = "0.4.0";
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "kbs-session-id";
/// Prefix of every error `type` URI.
pub const ERROR_TYPE_PREFIX: &str = "https://github.com/confidential-containers/kbs/errors";
