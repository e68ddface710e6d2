//! Command-line flags the eaa binaries share.

use rats_tls::{EvidenceVerifiers, PeerVerifier};
use rats_tls_tools::{hardware_verifiers, verifier_from_name, DangerFlags, OptionError};

/// Collateral and verification time for the hardware verifiers, as `tee-cli verify` and the
/// rats-tls sample tools take them, and the `--danger-` opt-ins of the verifier names.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VerifierFlags {
    /// Hardware verifiers' collateral: a directory (or file) of DCAP `*.json` and SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    pub collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    pub at: Option<String>,
    #[command(flatten)]
    pub danger: DangerFlags,
}

impl VerifierFlags {
    /// The hardware verifier set these flags describe (the software TEE stays refused).
    pub fn hardware(&self) -> Result<EvidenceVerifiers, OptionError> {
        hardware_verifiers(self.collateral.as_deref(), self.at.as_deref())
    }

    /// The peer verifier for `--verifier NAME`: `sample` needs `--danger-accept-software-tee`,
    /// `nullverifier` needs `--danger-accept-without-evidence`.
    pub fn verifier(&self, name: &str) -> Result<PeerVerifier, OptionError> {
        verifier_from_name(name, self.hardware()?, self.danger)
    }
}

/// How the EAA services treat their clients.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeFlags {
    /// Connections served at once (one thread each); further clients wait in the listen backlog.
    #[arg(long = "max-connections", default_value_t = 256)]
    pub max_connections: usize,
}

impl ServeFlags {
    /// With `deadline`: the time a client has for its handshake and one request (`--timeout-ms`).
    pub fn options(&self, deadline: std::time::Duration) -> crate::net::ServeOptions {
        crate::net::ServeOptions { request_deadline: deadline, max_connections: self.max_connections.max(1) }
    }
}
