/// Errors of the protocol layer: malformed wire data and crypto failures.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    #[error("{what} is not valid base64: {reason}")]
    Base64 { what: &'static str, reason: String },
    #[error("malformed JSON in {what}: {reason}")]
    Json { what: &'static str, reason: String },
    #[error("JSON number {0} cannot be canonicalised (not finite)")]
    NonFiniteNumber(String),
    #[error("JWK: {0}")]
    Jwk(String),
    #[error("JWE: {0}")]
    Jwe(String),
    #[error("unsupported hash algorithm {0:?}")]
    UnsupportedHash(String),
    #[error("bad resource URI {uri:?}: {reason}")]
    ResourceUri { uri: String, reason: String },
    #[error("crypto: {0}")]
    Crypto(&'static str),
}

impl Error {
    pub(crate) fn json(what: &'static str, e: impl std::fmt::Display) -> Self {
        Error::Json { what, reason: e.to_string() }
    }
}
