//! Explicit opt-ins for choices that weaken security. Grep for `danger::` to find every use.

/// Accept evidence from the software TEE (`sample`). It has no hardware root of trust and gives no
/// confidentiality: use it only for development and tests.
#[derive(Debug, Clone, Copy)]
pub struct AcceptSoftwareTee;
