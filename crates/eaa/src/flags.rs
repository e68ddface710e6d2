//! Command-line flags the eaa binaries share.

use rats_tls::app::{hardware_verifiers, OptionError};
use rats_tls::EvidenceVerifiers;

/// Collateral and verification time for the hardware verifiers, as `tee-cli verify` and the
/// rats-tls sample tools take them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VerifierFlags {
    /// Hardware verifiers' collateral: a directory (or file) of DCAP `*.json` and SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    pub collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    pub at: Option<String>,
}

impl VerifierFlags {
    /// The hardware verifier set these flags describe (the software TEE stays refused; only
    /// `--verifier sample` enables it).
    pub fn hardware(&self) -> Result<EvidenceVerifiers, OptionError> {
        hardware_verifiers(self.collateral.as_deref(), self.at.as_deref())
    }
}
