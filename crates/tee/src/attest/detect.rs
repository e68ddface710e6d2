//! TEE auto-detection, in guest-components' order: tdx, sgx, az-snp-vtpm / az-tdx-vtpm, snp, csv,
//! cca, tpm, else the software TEE (never picked silently: callers must opt in to it).
//!
//! All probes are paths under an injectable root so tests use a faked tree.

use std::path::{Path, PathBuf};

use crate::Tee;

/// Where to look.
#[derive(Debug, Clone)]
pub struct Probe {
    pub root: PathBuf,
    /// Running inside Occlum (guest-components' rule: the `OCCLUM` environment variable is set).
    occlum: bool,
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new("/")
    }
}

/// The SGX LibOS we run in, which decides the quote interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgxLibOs {
    /// `/dev/attestation/{attestation_type,user_report_data,quote}`.
    Gramine,
    /// ioctls on `/dev/sgx`.
    Occlum,
}

impl Probe {
    /// Probes under `root`; the Occlum marker is read from this process's environment.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Probe { root: root.into(), occlum: std::env::var_os("OCCLUM").is_some() }
    }

    /// Overrides the Occlum marker (tests).
    pub fn with_occlum(mut self, occlum: bool) -> Self {
        self.occlum = occlum;
        self
    }

    /// Occlum first (as guest-components), when its `/dev/sgx` is there; then Gramine's DCAP
    /// pseudo-files.
    pub fn sgx_libos(&self) -> Option<SgxLibOs> {
        if self.occlum && self.exists("/dev/sgx") {
            return Some(SgxLibOs::Occlum);
        }
        let gramine_dcap = std::fs::read_to_string(self.p("/dev/attestation/attestation_type"))
            .map(|t| t.trim() == "dcap")
            .unwrap_or(false);
        if gramine_dcap || self.exists("/dev/attestation/quote") {
            return Some(SgxLibOs::Gramine);
        }
        None
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn exists(&self, rel: &str) -> bool {
        self.p(rel).exists()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.p(rel)
    }

    fn cpuinfo_has(&self, flag: &str) -> bool {
        std::fs::read_to_string(self.p("/proc/cpuinfo"))
            .map(|s| s.split_whitespace().any(|w| w == flag))
            .unwrap_or(false)
    }

    fn azure_cvm(&self) -> Option<&'static str> {
        // Azure paravisor guests expose the HCL report in vTPM NV index 0x01400001; we detect the
        // platform by DMI vendor + TPM and the isolation type hint from the CPU flags.
        let vendor = std::fs::read_to_string(self.p("/sys/class/dmi/id/sys_vendor")).unwrap_or_default();
        let board = std::fs::read_to_string(self.p("/sys/class/dmi/id/product_name")).unwrap_or_default();
        if !(vendor.contains("Microsoft") && board.contains("Virtual Machine") && self.exists("/dev/tpmrm0")) {
            return None;
        }
        if self.cpuinfo_has("tdx_guest") {
            Some("tdx")
        } else if self.cpuinfo_has("sev_snp") || self.exists("/sys/kernel/config/tsm/report") || self.cpuinfo_has("sev")
        {
            Some("snp")
        } else {
            None
        }
    }

    /// The first TEE found, or `None` (then only the software TEE is left, by explicit opt-in).
    pub fn detect(&self) -> Option<Tee> {
        let found = self.probe();
        match found {
            Some(tee) => tracing::debug!(%tee, root = %self.root.display(), "TEE detected"),
            None => tracing::debug!(root = %self.root.display(), "no hardware TEE detected"),
        }
        found
    }

    fn probe(&self) -> Option<Tee> {
        if self.exists("/dev/tdx_guest")
            || self.exists("/dev/tdx-guest")
            || self.cpuinfo_has("tdx_guest") && self.azure_cvm().is_none()
        {
            return Some(Tee::Tdx);
        }
        if self.sgx_libos().is_some() || self.exists("/dev/sgx_enclave") && self.exists("/dev/attestation") {
            return Some(Tee::Sgx);
        }
        match self.azure_cvm() {
            Some("snp") => return Some(Tee::AzSnpVtpm),
            Some("tdx") => return Some(Tee::AzTdxVtpm),
            _ => {}
        }
        if self.exists("/dev/sev-guest") {
            return Some(Tee::Snp);
        }
        if self.exists("/dev/csv-guest") {
            return Some(Tee::Csv);
        }
        if self.exists("/sys/kernel/config/tsm/report") && self.cpuinfo_has("cca") || self.exists("/dev/cca-guest") {
            return Some(Tee::Cca);
        }
        if self.exists("/dev/tpmrm0") || self.exists("/dev/tpm0") {
            return Some(Tee::Tpm);
        }
        None
    }
}

/// Convenience: detect on this machine.
pub fn detect() -> Option<Tee> {
    Probe::default().detect()
}

/// True if `p` exists under the probe root (for attesters sharing the probe).
pub fn under(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}
