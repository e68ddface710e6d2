//! Attester plumbing shared by several TEEs, and auto-detection.

pub mod detect;
pub mod tsm;
