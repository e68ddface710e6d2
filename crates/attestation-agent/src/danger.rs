//! Explicit opt-ins that weaken security. Grep for `danger::` to find every use.

/// Produce software-TEE (`sample`) evidence when no hardware TEE is found. That evidence has no
/// hardware root of trust and the guest gets no confidentiality: development and tests only. A
/// KBS accepts it only if its operator opted in too (`--danger-accept-software-tee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseSoftwareTee;
