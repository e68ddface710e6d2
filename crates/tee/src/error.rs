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
    /// The signature over the report / quote / TPM attestation does not verify.
    #[error("{tee}: signature over the {what} does not verify: {reason}")]
    BadSignature { tee: Tee, what: String, reason: String },
    /// A certificate chain does not lead to the trusted root (wrong root, bad link, bad cert).
    #[error("{tee}: certificate chain is not trusted: {reason}")]
    UntrustedChain { tee: Tee, reason: String },
    /// A certificate or CRL in the chain is revoked.
    #[error("{tee}: revoked: {reason}")]
    Revoked { tee: Tee, reason: String },
    /// Collateral (TCB info, QE identity, CRL, certificate) is not valid at the verification time.
    #[error("{tee}: collateral not valid at {at} (unix seconds): {reason}")]
    CollateralExpired { tee: Tee, at: u64, reason: String },
    /// Collateral is signed wrongly, does not match the quote, or cannot be parsed.
    #[error("{tee}: bad collateral: {reason}")]
    CollateralInvalid { tee: Tee, reason: String },
    /// No collateral for this platform in the store.
    #[error("{tee}: no collateral for {key}")]
    CollateralMissing { tee: Tee, key: String },
    /// The TCB the report claims differs from the one certified by the endorsement key certificate.
    #[error("{tee}: reported TCB field {field} is {report} but the endorsement certificate says {cert}")]
    TcbMismatch { tee: Tee, field: String, report: String, cert: String },
    /// The evidence comes from a privilege level that may not attest (e.g. SNP VMPL != 0).
    #[error("{tee}: report was requested at VMPL {found}, expected {expected}")]
    WrongVmpl { tee: Tee, expected: u32, found: u32 },
    /// Evidence is well formed but its TCB / attributes are refused (revoked TCB, debug, ...).
    #[error("{tee}: refused by verifier policy: {reason}")]
    Policy { tee: Tee, reason: String },
    /// Version or algorithm not supported by this verifier.
    #[error("{tee}: unsupported: {reason}")]
    Unsupported { tee: Tee, reason: String },
    /// Claimed binding between two parts of composite evidence is broken (e.g. vTPM AK vs HCL report).
    #[error("{tee}: binding broken: {reason}")]
    BindingMismatch { tee: Tee, reason: String },
    /// An evidence field is larger than this verifier accepts (bytes, or entries for lists).
    #[error("{tee}: evidence field {field} is {len} {unit}, over the limit of {max}")]
    FieldTooLarge { tee: Tee, field: &'static str, len: usize, max: usize, unit: &'static str },
    /// A PCR value is supplied that the quote's PCR selection does not cover (no signature
    /// vouches for it).
    #[error("{tee}: PCR {pcr} is supplied but the quote's PCR selection does not cover it")]
    UnquotedPcr { tee: Tee, pcr: u32 },
    /// The quote's PCR selection names a PCR outside the bank (a bank has `max` PCRs).
    #[error("{tee}: the quote selects PCR {pcr}, but a PCR bank has at most {max} PCRs")]
    PcrOutOfRange { tee: Tee, pcr: u32, max: u32 },
    /// Init data is to be bound, but the quote does not cover the PCR that binds it.
    #[error("{tee}: init-data binding needs PCR {pcr}, which the quote's PCR selection does not cover")]
    InitDataPcrNotQuoted { tee: Tee, pcr: u32 },
    /// TPM evidence whose attestation key is not chained to a configured root (EK/AK CA), and
    /// the verifier was not built with `danger::AcceptUnendorsedTpm`.
    #[error("{tee}: the attestation key is not endorsed (no AK certificate chain to a configured root); unendorsed TPM evidence needs the explicit opt-in danger::AcceptUnendorsedTpm (--danger-accept-unendorsed-tpm)")]
    UnendorsedAk { tee: Tee },
    /// Attester side: this TEE is not available on this machine.
    #[error("TEE {tee} not available here: {reason}")]
    NotAvailable { tee: Tee, reason: String },
    /// Attester side: no TEE detected at all.
    #[error("no TEE detected on this machine")]
    NoTeeDetected,
}

impl Error {
    pub fn malformed(tee: Tee, reason: impl Into<String>) -> Self {
        Error::Malformed { tee, reason: reason.into() }
    }
}
