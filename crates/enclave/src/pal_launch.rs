//! Launching the PAL (the enclave layer, below rune's `direct_create`/`enclave_container`): the
//! whole enclave launch as rune's libcontainer `Executor` needs it, in three steps that run in
//! different places:
//!
//! 1. [`EnclaveLaunch::open`] — `rune create`, before the container process is cloned (host
//!    mount namespace): opens the PAL by its host path. The descriptor is inherited by the init
//!    process (clone without exec keeps it).
//! 2. [`EnclaveLaunch::load_and_init`] — in the init process after `pivot_root`, before waiting
//!    for `start` (libcontainer's `Executor::validate`): `dlopen` through `/proc/self/fd`,
//!    version negotiation, `pal_init`. A failure here fails `create` with a message naming the
//!    `ENCLAVE_*` variable or `enclave.*` annotation.
//! 3. [`EnclaveLaunch::run`] — after `start` (`Executor::exec`): starts the exec agent, runs
//!    `process.args` with `process.env` (minus `ENCLAVE_*`) through the PAL, forwards signals,
//!    `pal_destroy`, returns the exit value for the init process to exit with.

use std::path::PathBuf;
use std::sync::Mutex;

use pal::{Pal, PalFile, Stdio};

use crate::agent::AgentServer;
use crate::config::{payload_env, EnclaveConfig};
use crate::error::{ConfigError, RuneletError};
use crate::runelet::{InitRunelet, Payload};

/// The PAL's state in one process.
#[derive(Debug)]
struct Loaded {
    pal: Pal,
    initialized: bool,
}

/// One enclave container's launch state (share it between executor clones with `Arc`).
#[derive(Debug)]
pub struct EnclaveLaunch {
    config: EnclaveConfig,
    file: PalFile,
    pal: Mutex<Option<Loaded>>,
    agent_socket: Option<PathBuf>,
    agent_server: Mutex<Option<AgentServer>>,
}

impl EnclaveLaunch {
    /// Step 1: open the PAL (host path, no allowlist: the caller chose it; `rune` uses
    /// [`EnclaveLaunch::open_loaded_with_agent`]). `agent_socket`: where [`EnclaveLaunch::run`] serves
    /// `rune exec` (e.g. `<root>/<id>/agent.sock`; any length), or `None` for no exec support.
    pub fn open(config: EnclaveConfig, agent_socket: Option<PathBuf>) -> Result<EnclaveLaunch, ConfigError> {
        let file = config.open_pal(false)?;
        Ok(EnclaveLaunch { config, file, pal: Mutex::new(None), agent_socket, agent_server: Mutex::new(None) })
    }

    /// Like [`EnclaveLaunch::open`], but the exec agent serves `server`, a socket bound by the
    /// caller before the container process was cloned. Use this when the socket's directory is
    /// not reachable from inside the container root (the state directory after `pivot_root`):
    /// the listening descriptor is inherited by the init process, and the socket file may be
    /// renamed on the host afterwards.
    pub fn open_with_agent(config: EnclaveConfig, server: AgentServer) -> Result<EnclaveLaunch, ConfigError> {
        let file = config.open_pal(false)?;
        Ok(EnclaveLaunch {
            config,
            file,
            pal: Mutex::new(None),
            agent_socket: None,
            agent_server: Mutex::new(Some(server)),
        })
    }

    /// Like [`EnclaveLaunch::open_with_agent`], and also loads the PAL now, in the calling process
    /// (`rune create`'s check: readable, loadable, symbols, version), returning the negotiated
    /// version. The container's init process is a fork of the caller, so it inherits the loaded
    /// library and [`EnclaveLaunch::load_and_init`] there only runs `pal_init`: one `dlopen`
    /// per container, and the code that was checked is the code that runs. Libraries the PAL
    /// needs (`DT_NEEDED`) are then resolved on the host, as the original rune preloaded them.
    ///
    /// The PAL is opened through the operator's allowlist `dirs` ([`EnclaveConfig::open_pal_in`]).
    pub fn open_loaded_with_agent(
        config: EnclaveConfig,
        dirs: &crate::paldirs::PalDirs,
        server: AgentServer,
    ) -> Result<(EnclaveLaunch, u32), ConfigError> {
        let file = config.open_pal_in(dirs)?;
        Self::open_loaded_with_file(config, file, server)
    }

    /// [`EnclaveLaunch::open_loaded_with_agent`] with the PAL already opened by the caller
    /// through [`EnclaveConfig::open_pal_in`].
    pub fn open_loaded_with_file(
        config: EnclaveConfig,
        file: PalFile,
        server: AgentServer,
    ) -> Result<(EnclaveLaunch, u32), ConfigError> {
        let pal = config.load_pal(&file)?;
        let version = pal.version();
        tracing::debug!(pal = %config.runtime_path.display(), version, "PAL checked and loaded before the clone");
        let launch = EnclaveLaunch {
            config,
            file,
            pal: Mutex::new(Some(Loaded { pal, initialized: false })),
            agent_socket: None,
            agent_server: Mutex::new(Some(server)),
        };
        Ok((launch, version))
    }

    pub fn config(&self) -> &EnclaveConfig {
        &self.config
    }

    /// The open PAL file (its descriptor must survive into the init process).
    pub fn pal_file(&self) -> &PalFile {
        &self.file
    }

    /// Step 2: load the PAL through its descriptor (unless it was loaded before the fork, see
    /// [`EnclaveLaunch::open_loaded_with_agent`]) and `pal_init` it; returns the PAL API
    /// version. Idempotent: a second call returns the version.
    pub fn load_and_init(&self) -> Result<u32, ConfigError> {
        let mut g = self.pal.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(Loaded { pal: self.config.load_pal(&self.file)?, initialized: false });
        }
        let Some(l) = g.as_mut() else { return Err(ConfigError::MissingRuntimePath) };
        if !l.initialized {
            self.config.init_pal(&l.pal, None)?;
            l.initialized = true;
            tracing::debug!(pal = %self.config.runtime_path.display(), version = l.pal.version(), "pal_init done");
        }
        Ok(l.pal.version())
    }

    /// Step 3: run the container process through the PAL (see the module docs).
    pub fn run(&self, process: &oci_spec::runtime::Process, stdio: Stdio) -> Result<i32, RuneletError> {
        let argv = process.args().clone().unwrap_or_default();
        if argv.is_empty() {
            return Err(RuneletError::NoArgs);
        }
        let env = payload_env(&process.env().clone().unwrap_or_default());
        let pal = {
            let mut g = self.pal.lock().unwrap_or_else(|p| p.into_inner());
            if !g.as_ref().is_some_and(|l| l.initialized) {
                return Err(RuneletError::NotLoaded);
            }
            g.take().map(|l| l.pal).ok_or(RuneletError::NotLoaded)?
        };
        let mut runelet = InitRunelet::new(pal);
        let server = self.agent_server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(server) = server {
            runelet.serve_agent(server)?;
        } else if let Some(sock) = &self.agent_socket {
            runelet.start_agent(sock)?;
        }
        runelet.run(&Payload { argv, env, stdio })
    }
}
