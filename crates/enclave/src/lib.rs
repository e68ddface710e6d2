//! Enclave containers for `rune`: everything between an OCI bundle and the PAL that does not
//! need the container runtime itself.
//!
//! * [`config`]: the enclave configuration (`ENCLAVE_*` env or `enclave.*` annotations).
//! * [`devices`]: SGX/Nitro device nodes, device-cgroup rules and AESM/EPM bind mounts.
//! * [`runelet`]: the init-runelet's payload driver (run via the PAL, forward signals, destroy).
//! * [`agent`]: the exec agent (server in the init-runelet, client for `rune exec`).
//! * [`pal_launch`]: the three steps of launching the PAL (open before pivot, load+init after, run at
//!   start) in one type; rune's executor calls them (rune's own side of enclave containers is
//!   `rune::enclave_container`).
//! * [`paldirs`]: the operator's allowlist of PAL directories and the resolver that opens a PAL beneath one.
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod devices;
pub mod error;
pub mod pal_launch;
pub mod paldirs;
pub mod runelet;

pub use config::{EnclaveConfig, EnclaveType, LogLevel, RaConfig};
pub use error::{AgentError, ConfigError, DeviceError, Origin, PalPathError, RuneletError};
pub use pal_launch::EnclaveLaunch;
pub use paldirs::PalDirs;
