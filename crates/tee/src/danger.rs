//! Explicit opt-ins for choices that weaken security. Grep for `danger::` to find every use.

/// Accept evidence from the software TEE (`sample`). It has no hardware root of trust and gives no
/// confidentiality: use it only for development and tests.
#[derive(Debug, Clone, Copy)]
pub struct AcceptSoftwareTee;

/// Accept plain TPM evidence whose attestation key (AK) is not chained to a configured root: any
/// RSA key can sign such a quote, so it proves nothing about hardware. Claims from it say
/// `hardware: false`, `ak_endorsed: false` and carry a notice. Development and tests only.
#[derive(Debug, Clone, Copy)]
pub struct AcceptUnendorsedTpm;

/// Verify evidence without checking what its report data is bound to (no nonce, no key): a
/// replayed or relayed report passes. For tools that only inspect evidence (e.g. `tee-cli verify
/// --danger-skip-report-data`), never for a relying party that releases secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkipReportDataCheck;
