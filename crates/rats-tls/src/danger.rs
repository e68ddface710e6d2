//! Explicit opt-ins that weaken RA-TLS. Grep for `danger::` to find every use.

/// Accept peers that present no evidence and do not verify evidence that is present (the C
/// `nullverifier`). The TLS handshake still proves possession of the certificate's key, and a
/// present claims buffer must still be bound to it; nothing is known about where the peer runs.
#[derive(Debug, Clone, Copy)]
pub struct AcceptWithoutEvidence;

/// Write evidence under a CBOR tag that is not its TEE's (interop tests against a C peer running the
/// null verifier). Produces certificates no real verifier accepts.
#[derive(Debug, Clone, Copy)]
pub struct InteropTagOverride;
