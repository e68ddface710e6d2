//! Attester plumbing shared by several TEEs, and auto-detection.

pub mod detect;
#[cfg(any(feature = "snp", feature = "tdx", feature = "cca"))]
pub mod tsm;
