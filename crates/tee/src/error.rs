use crate::Tee;

/// Why evidence could not be produced or was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    #[error("unknown TEE type {0:?}")]
    UnknownTee(String),
    #[error("no verifier enabled for TEE {0} (the software TEE needs an explicit opt-in)")]
    VerifierNotEnabled(Tee),
    #[error("report data is {len} bytes but the {tee} field holds {max}")]
    ReportDataTooLong { tee: Tee, len: usize, max: usize },
    #[error("report data mismatch: expected {expected_len} bytes {expected}, evidence has {found_len} bytes {found}")]
    ReportDataMismatch { expected: String, expected_len: usize, found: String, found_len: usize },
    #[error("init-data digest mismatch: expected {expected}, evidence has {found}")]
    InitDataMismatch { expected: String, found: String },
    #[error("malformed {tee} evidence: {reason}")]
    Malformed { tee: Tee, reason: String },
    #[error("{0}")]
    Io(String),
}
