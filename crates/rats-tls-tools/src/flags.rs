//! The command-line flags of the sample tools (those of the C rats-tls samples:
//! `-a -v -t -c -m -e -l -i -p -D`, plus ours), and the `--danger-` opt-ins other binaries flatten.

use std::time::Duration;

use rats_tls::{AttesterConfig, KeyAlgorithm, PeerVerifier};

use crate::names::{self, OptionError};

/// The insecure opt-ins of the tools, spelled as everywhere in the project (`--danger-` prefix).
/// Each one only unlocks the matching verifier name; none is implied by a name alone.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct DangerFlags {
    /// Accept software-TEE (`sample`) evidence: no hardware isolation, development only. Needed by
    /// `-v sample`; with another verifier it adds the software TEE to the hardware ones.
    #[arg(long = "danger-accept-software-tee")]
    pub accept_software_tee: bool,
    /// Accept a peer without verifying its evidence (the C `nullverifier`). Needed by `-v nullverifier`.
    #[arg(long = "danger-accept-without-evidence")]
    pub accept_without_evidence: bool,
}

/// The flags the C rats-tls sample server and client share (`-a -v -t -c -m -e -l -i -p -D`), plus
/// ours common to both. Each binary flattens this and adds its own.
#[derive(clap::Args, Debug)]
pub struct SampleFlags {
    /// Hardware verifiers' collateral: DCAP `*.json`, SEV-SNP VCEK/VLEK `*.der`/`*.pem`.
    #[arg(long = "collateral")]
    pub collateral: Option<std::path::PathBuf>,
    /// Verification time for the hardware verifiers (unix seconds or YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long = "at")]
    pub at: Option<String>,
    /// Attester: nullattester (default), sample (software TEE), or a hardware name.
    #[arg(short = 'a', long = "attester", default_value = "")]
    pub attester: String,
    /// Verifier of the peer's evidence: a hardware name (default: the hardware verifiers),
    /// sample (needs --danger-accept-software-tee) or nullverifier (needs --danger-accept-without-evidence).
    #[arg(short = 'v', long = "verifier", default_value = "")]
    pub verifier: String,
    #[command(flatten)]
    pub danger: DangerFlags,
    /// TLS wrapper (openssl/rustls: both mean rustls here).
    #[arg(short = 't', long = "tls", default_value = "")]
    pub tls: String,
    /// Crypto wrapper (openssl/aws-lc-rs: both mean aws-lc-rs here).
    #[arg(short = 'c', long = "crypto", default_value = "")]
    pub crypto: String,
    /// Mutual attestation.
    #[arg(short = 'm', long = "mutual")]
    pub mutual: bool,
    /// Provide endorsements (not supported: accepted and ignored, as many C builds crash on it).
    #[arg(short = 'e', long = "endorsements")]
    pub endorsements: bool,
    /// Log level: debug, info, warn, error, fatal, off.
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    pub log_level: String,
    #[arg(short = 'i', long = "ip", default_value = "127.0.0.1")]
    pub ip: String,
    #[arg(short = 'p', long = "port", default_value_t = 1234)]
    pub port: u16,
    /// Debug enclave (no effect without SGX).
    #[arg(short = 'D', long = "debug-enclave")]
    pub debug_enclave: bool,
    /// Key algorithm of the ephemeral TLS key: p256 or rsa3072.
    #[arg(long = "key-algo", default_value = "p256")]
    pub key_algo: String,
    /// Per-connection handshake/I-O timeout in milliseconds.
    #[arg(long = "timeout-ms", default_value_t = 10_000)]
    pub timeout_ms: u64,
}

impl SampleFlags {
    pub fn key_algorithm(&self) -> Result<KeyAlgorithm, OptionError> {
        match self.key_algo.as_str() {
            "p256" | "ecdsa" => Ok(KeyAlgorithm::EcdsaP256),
            "rsa3072" | "rsa" => Ok(KeyAlgorithm::Rsa3072),
            o => Err(OptionError::KeyAlgo(o.to_string())),
        }
    }

    /// `ip:port`
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// The per-connection timeout (`--timeout-ms`).
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// `-t`/`-c`: only the wrappers this implementation stands for are accepted.
    pub fn check_wrappers(&self) -> Result<(), OptionError> {
        names::check_wrappers(&self.tls, &self.crypto)
    }

    /// The attester `-a` names, with the `--key-algo` key.
    pub fn attester_config(&self) -> Result<AttesterConfig, OptionError> {
        names::attester_from_name(&self.attester, self.key_algorithm()?)
    }

    /// The verifier `-v` names, with the `--collateral`/`--at` hardware verifiers and the `--danger-`
    /// opt-ins.
    pub fn peer_verifier(&self) -> Result<PeerVerifier, OptionError> {
        names::verifier_from_name(
            &self.verifier,
            names::hardware_verifiers(self.collateral.as_deref(), self.at.as_deref())?,
            self.danger,
        )
    }
}
