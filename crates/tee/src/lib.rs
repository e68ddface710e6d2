//! # tee: evidence and verifiers for trusted execution environments
//!
//! One [`Attester`] trait produces evidence bound to caller-supplied report data; one [`Verifier`]
//! trait checks evidence against the expected report data (and init-data digest) and returns typed
//! [`Claims`]. Each TEE lives in its own module.
//!
//! | TEE | module | cargo feature | status |
//! |---|---|---|---|
//! | software TEE (`sample`) | `sample` | `sample` | attester + verifier; **no hardware isolation**, refused by default |
//! | Intel SGX (DCAP quote v3) | `sgx` | `sgx` | verifier (dcap-qvl, collateral from files); Gramine and Occlum attesters |
//! | Intel TDX (DCAP quote v4/v5) | `tdx` | `tdx` | verifier (dcap-qvl); configfs-tsm attester |
//! | AMD SEV-SNP | `snp` | `snp` | verifier (VCEK/VLEK -> AMD roots, TCB, signature, VMPL); configfs-tsm attester |
//! | TPM 2.0 quote | `tpm` | `tpm` | verifier (AK signature, PCR digest, nonce; hardware only with an AK certificate chain to a configured root, else refused unless [`danger::AcceptUnendorsedTpm`]); attester (`/dev/tpmrm0` or swtpm) |
//! | Azure SNP vTPM | `az_snp_vtpm` | `az-snp-vtpm` (implies `snp`, `tpm`) | verifier (SNP report + HCL binding + vTPM quote) |
//! | Azure TDX vTPM | `az_tdx_vtpm` | `az-tdx-vtpm` (implies `tdx`, `tpm`) | verifier (TD quote via DCAP + HCL TD report binding + vTPM quote) |
//! | Arm CCA token | `cca` | `cca` | verifier (COSE_Sign1 ES384: realm by RAK, platform by trusted CPAK, RAK binding); configfs-tsm attester |
//! | NVIDIA GPU (Hopper, Blackwell) | `nvidia` | `nvidia` | verifier (SPDM 1.1 GET_MEASUREMENTS signed by the device key, chain to the pinned NVIDIA Device Identity CA, FWID, nonce) |
//! | Hygon CSV | `csv` | `csv` | **parse-only**: report v1/v2 decoded (anonce de-obfuscation), SM2 report signature by the evidence's PEK; PEK not chained to Hygon's root, so its verifier refuses all evidence |
//!
//! ## Cargo features
//!
//! Each TEE family is a cargo feature (column above); the default, `all`, enables every one, as
//! the relying parties (KBS, attestation service, verdictd, `tee-cli`) need. A crate that needs
//! only some takes `default-features = false` and names them: the sample enclave runtime uses
//! `sample` only, RA-TLS `sample`, `sgx`, `tdx`, `snp`. Shared code compiles only with a family
//! that uses it: `dcap` (collateral store, quote verification) with `sgx` or `tdx`,
//! `attest::tsm` (configfs-tsm) with `tdx`, `snp` or `cca`, `azure_vtpm` (HCL report) with either
//! Azure family. Always present, whatever the features: the [`Tee`] enum (every wire name, so
//! evidence of a disabled family is refused with [`Error::VerifierNotEnabled`] rather than
//! misparsed), the [`Attester`] / [`Verifier`] traits, [`VerifierSet`], [`attest::detect`],
//! [`clock`], [`danger`] and [`report_data`]. `VerifierSet::all_hardware` needs `sgx`, `tdx`,
//! `snp`, both Azure families and `cca`; `VerifierSet::accept_software_tee` needs `sample`;
//! `VerifierSet::accept_unendorsed_tpm` needs `tpm`.
//!
//! Events (verifier accepted / rejected, TEE detected, collateral files loaded or skipped, `danger`
//! opt-ins taken) are emitted with `tracing`; the binary installs the subscriber and warns about the
//! `--danger-*` flags it parses.
//!
//! Verification time is always injected ([`clock::Clock`], or `now` arguments); collateral caches
//! are keyed explicitly (`dcap::CollateralKey`, VEK certificate digest).
//!
//! The software TEE exists for development on machines without TEE hardware. Its claims always carry
//! `hardware: false`, and a [`VerifierSet`] only accepts it when built with
//! [`danger::AcceptSoftwareTee`], an explicit, greppable opt-in. Plain TPM evidence whose AK is
//! not chained to a configured root is treated the same way ([`danger::AcceptUnendorsedTpm`]).
//! Report data is always checked unless the caller passes [`danger::SkipReportDataCheck`].
// The only unsafe code is the Occlum ioctl in `sgx::occlum::sys` (allowed there, with SAFETY notes).
#![deny(unsafe_code)]

pub mod attest;
#[cfg(feature = "az-snp-vtpm")]
pub mod az_snp_vtpm;
#[cfg(feature = "az-tdx-vtpm")]
pub mod az_tdx_vtpm;
#[cfg(any(feature = "az-snp-vtpm", feature = "az-tdx-vtpm"))]
pub mod azure_vtpm;
#[cfg(feature = "cca")]
pub mod cca;
pub mod clock;
#[cfg(feature = "csv")]
pub mod csv;
pub mod danger;
#[cfg(any(feature = "sgx", feature = "tdx"))]
pub mod dcap;
mod error;
#[cfg(feature = "nvidia")]
pub mod nvidia;
pub mod report_data;
pub mod rng;
#[cfg(feature = "sample")]
pub mod sample;
#[cfg(feature = "sgx")]
pub mod sgx;
#[cfg(feature = "snp")]
pub mod snp;
#[cfg(feature = "tdx")]
pub mod tdx;
#[cfg(feature = "tpm")]
pub mod tpm;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use error::Error;
use serde::{Deserialize, Serialize};

/// TEE names as used on the wire by kbs-types / trustee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tee {
    AzSnpVtpm,
    AzTdxVtpm,
    Snp,
    Sgx,
    Tdx,
    Cca,
    Csv,
    Se,
    Tpm,
    /// NVIDIA confidential-computing GPU (Hopper, Blackwell): SPDM measurement report.
    Nvidia,
    /// The software TEE: development only, no confidentiality.
    Sample,
}

impl Tee {
    pub const ALL: [Tee; 11] = [
        Tee::AzSnpVtpm,
        Tee::AzTdxVtpm,
        Tee::Snp,
        Tee::Sgx,
        Tee::Tdx,
        Tee::Cca,
        Tee::Csv,
        Tee::Se,
        Tee::Tpm,
        Tee::Nvidia,
        Tee::Sample,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tee::AzSnpVtpm => "az-snp-vtpm",
            Tee::AzTdxVtpm => "az-tdx-vtpm",
            Tee::Snp => "snp",
            Tee::Sgx => "sgx",
            Tee::Tdx => "tdx",
            Tee::Cca => "cca",
            Tee::Csv => "csv",
            Tee::Se => "se",
            Tee::Tpm => "tpm",
            Tee::Nvidia => "nvidia",
            Tee::Sample => "sample",
        }
    }

    /// True only for TEEs whose evidence is rooted in hardware.
    pub fn is_hardware(self) -> bool {
        self != Tee::Sample
    }
}

impl fmt::Display for Tee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tee {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Tee::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| Error::UnknownTee(s.to_string()))
    }
}

/// Evidence as produced by an attester: the TEE it came from and its wire bytes (for the JSON-based
/// TEEs, the serialized `primary_evidence` object trustee expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub tee: Tee,
    pub bytes: Vec<u8>,
}

/// Produces evidence bound to caller-supplied report data.
pub trait Attester: Send + Sync {
    fn tee(&self) -> Tee;
    /// `report_data` must fit the TEE's report-data field; it is zero-padded to that field, never
    /// truncated (too long is [`Error::ReportDataTooLong`]).
    fn evidence(&self, report_data: &[u8]) -> Result<Evidence, Error>;
}

/// What the evidence's report data must be: always given, unless the caller opts out explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportDataBinding<'a> {
    /// Expected report data (prefix of the TEE's field; the rest of the field must be zero).
    Bound(&'a [u8]),
    /// Not checked: the caller has no report data to expect ([`danger::SkipReportDataCheck`]).
    /// Evidence bound to anything (a replay, a relay) passes.
    NotChecked(danger::SkipReportDataCheck),
}

/// What the relying party expects the evidence to be bound to.
///
/// The report data is mandatory ([`Expected::new`]); skipping its check takes the explicit
/// [`Expected::unbound`] with [`danger::SkipReportDataCheck`]. There is no `Default`.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub report_data: ReportDataBinding<'a>,
    /// Expected init-data digest (prefix of MRCONFIGID / HOST_DATA / CONFIGID; rest zero).
    pub init_data_digest: Option<&'a [u8]>,
}

impl<'a> Expected<'a> {
    /// Evidence must be bound to `report_data` (a prefix of the TEE's field, the rest zero).
    pub fn new(report_data: &'a [u8]) -> Self {
        Expected { report_data: ReportDataBinding::Bound(report_data), init_data_digest: None }
    }

    /// Report data not checked (explicit opt-out).
    pub fn unbound(opt_out: danger::SkipReportDataCheck) -> Self {
        Expected { report_data: ReportDataBinding::NotChecked(opt_out), init_data_digest: None }
    }

    /// Also expects this init-data digest.
    pub fn with_init_data(mut self, digest: Option<&'a [u8]>) -> Self {
        self.init_data_digest = digest;
        self
    }

    /// The report data to check, `None` only after the explicit opt-out.
    pub fn bound_report_data(&self) -> Option<&'a [u8]> {
        match self.report_data {
            ReportDataBinding::Bound(b) => Some(b),
            ReportDataBinding::NotChecked(_) => None,
        }
    }
}

/// Claims a verifier extracted from evidence it accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub tee: Tee,
    /// False for the software TEE: no hardware root of trust, no confidentiality.
    pub hardware: bool,
    /// The full report-data field, as found in the evidence.
    #[serde(with = "hex_bytes")]
    pub report_data: Vec<u8>,
    /// The init-data / config-id field, if the TEE has one.
    #[serde(with = "opt_hex_bytes", default, skip_serializing_if = "Option::is_none")]
    pub init_data: Option<Vec<u8>>,
    /// TEE-specific measurements and fields (hex for byte strings), e.g. `mr_enclave`, `mr_td`,
    /// `measurement`, `svn`, `debug`.
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Checks evidence from one TEE.
pub trait Verifier: Send + Sync {
    fn tee(&self) -> Tee;
    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error>;
}

/// The verifiers enabled in a process: an explicit list built at start-up.
pub struct VerifierSet {
    verifiers: Vec<Box<dyn Verifier>>,
}

impl VerifierSet {
    /// Hardware verifiers only. The software TEE is refused.
    pub fn hardware_only() -> Self {
        VerifierSet { verifiers: Vec::new() }
    }

    /// Every CPU/platform hardware verifier of this crate (SGX, TDX, SEV-SNP, Azure SNP/TDX vTPM,
    /// Arm CCA), sharing one DCAP collateral store and one SNP context. Plain TPM evidence is
    /// not included: its attestation key is endorsed only by an AK certificate chain to roots
    /// the caller configures ([`tpm::TpmVerifier::new`], added with [`VerifierSet::with`]), or
    /// accepted as non-hardware with [`VerifierSet::accept_unendorsed_tpm`]. (The Azure vTPM
    /// AKs are endorsed by the SNP / TDX report through the HCL report, so those stay.) The NVIDIA GPU
    /// verifier is not included: a GPU report says nothing about the CPU-side guest holding the
    /// key, so it belongs next to a CPU TEE's evidence (add [`nvidia::NvidiaVerifier`]
    /// explicitly). A TEE whose collateral or trust anchors are missing still rejects, with
    /// `CollateralMissing` / `UntrustedChain`.
    #[cfg(all(feature = "sgx", feature = "az-snp-vtpm", feature = "az-tdx-vtpm", feature = "cca"))]
    pub fn all_hardware(
        dcap: std::sync::Arc<dcap::CollateralStore>,
        snp: std::sync::Arc<snp::SnpContext>,
        cca_platform_keys: Vec<Vec<u8>>,
        clock: std::sync::Arc<dyn clock::Clock>,
    ) -> Self {
        VerifierSet::hardware_only()
            .with(Box::new(sgx::SgxVerifier::new(dcap.clone(), clock.clone())))
            .with(Box::new(tdx::TdxVerifier::new(dcap.clone(), clock.clone())))
            .with(Box::new(az_tdx_vtpm::AzTdxVtpmVerifier::new(dcap, clock.clone())))
            .with(Box::new(snp::SnpVerifier::new(snp.clone(), clock.clone())))
            .with(Box::new(az_snp_vtpm::AzSnpVtpmVerifier::new(snp, clock)))
            .with(Box::new(cca::CcaVerifier::new(cca_platform_keys)))
    }

    /// Adds a verifier (replacing any earlier one for the same TEE).
    pub fn with(mut self, v: Box<dyn Verifier>) -> Self {
        self.verifiers.retain(|x| x.tee() != v.tee());
        self.verifiers.push(v);
        self
    }

    /// Also accepts the software TEE. Its claims say `hardware: false`.
    #[cfg(feature = "sample")]
    pub fn accept_software_tee(self, opt_in: danger::AcceptSoftwareTee) -> Self {
        // Info, not warn: binaries warn once when they parse the opt-in, and a set may be built per request.
        tracing::info!(
            "verifier set accepts software-TEE evidence (danger::AcceptSoftwareTee): no hardware protection"
        );
        self.with(Box::new(sample::SampleVerifier::new(opt_in)))
    }

    /// Also accepts plain TPM evidence whose AK is chained to nothing (claims say
    /// `hardware: false`). AK certificate chains to `ak_roots` (DER) still make evidence hardware.
    #[cfg(feature = "tpm")]
    pub fn accept_unendorsed_tpm(
        self,
        opt_in: danger::AcceptUnendorsedTpm,
        ak_roots: Vec<Vec<u8>>,
        clock: std::sync::Arc<dyn clock::Clock>,
    ) -> Self {
        tracing::info!("verifier set accepts TPM evidence with an unendorsed AK (danger::AcceptUnendorsedTpm): not hardware-backed");
        self.with(Box::new(tpm::TpmVerifier::new(ak_roots, clock).accept_unendorsed(opt_in)))
    }

    pub fn tees(&self) -> Vec<Tee> {
        self.verifiers.iter().map(|v| v.tee()).collect()
    }

    pub fn verify(&self, tee: Tee, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let Some(v) = self.verifiers.iter().find(|v| v.tee() == tee) else {
            tracing::debug!(%tee, "no verifier enabled for this TEE");
            return Err(Error::VerifierNotEnabled(tee));
        };
        let r = v.verify(evidence, expected);
        match &r {
            Ok(c) => tracing::debug!(%tee, hardware = c.hardware, "evidence accepted"),
            Err(e) => tracing::debug!(%tee, error = %e, "evidence rejected"),
        }
        r
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&hex::encode(v)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom)).transpose()
    }
}
