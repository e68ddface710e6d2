//! The init-runelet's payload driver: the container's init process does not exec the
//! entrypoint; it hands it to the enclave runtime, forwards every signal it receives to the
//! runtime as `pal_kill(-1, sig)`, calls `pal_destroy` when the payload returns, and exits with
//! the payload's exit value.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use pal::{Pal, Process, Stdio};
use signal_hook::consts::signal as sig;

use crate::agent::{AgentHandle, AgentServer, PalExecHandler};
use crate::error::RuneletError;

/// Signals forwarded to the payload: every catchable signal except the synchronous fault
/// signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS — they concern the runelet itself),
/// SIGCHLD (the runtime's own children) and SIGPIPE (the runelet's own broken pipes).
pub const FORWARDED_SIGNALS: &[i32] = &[
    sig::SIGHUP,
    sig::SIGINT,
    sig::SIGQUIT,
    sig::SIGABRT,
    sig::SIGUSR1,
    sig::SIGUSR2,
    sig::SIGALRM,
    sig::SIGTERM,
    sig::SIGCONT,
    sig::SIGTSTP,
    sig::SIGTTIN,
    sig::SIGTTOU,
    sig::SIGURG,
    sig::SIGXCPU,
    sig::SIGXFSZ,
    sig::SIGVTALRM,
    sig::SIGPROF,
    sig::SIGWINCH,
    sig::SIGIO,
    nix::libc::SIGPWR,
];

/// A thread that receives `signals` (through signal-hook's self-pipe, so it works regardless of
/// which thread the kernel delivers to) and calls `forward` with each signal number.
pub struct SignalForwarder {
    handle: signal_hook::iterator::Handle,
    thread: Option<JoinHandle<()>>,
}

impl SignalForwarder {
    pub fn start(signals: &[i32], forward: impl Fn(i32) + Send + 'static) -> Result<SignalForwarder, RuneletError> {
        let mut it = signal_hook::iterator::Signals::new(signals).map_err(|e| RuneletError::Signals(e.to_string()))?;
        let handle = it.handle();
        let thread = std::thread::Builder::new()
            .name("signal-forwarder".into())
            .spawn(move || {
                for s in it.forever() {
                    forward(s);
                }
            })
            .map_err(|e| RuneletError::Signals(e.to_string()))?;
        Ok(SignalForwarder { handle, thread: Some(thread) })
    }

    /// Stops forwarding (the signals stay caught, so they no longer have their default action).
    pub fn stop(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.close();
    }
}

/// The container's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// `argv[0]` is the executable path inside the container.
    pub argv: Vec<String>,
    /// `KEY=value`, with the `ENCLAVE_*` entries already removed (see [`crate::EnclaveConfig::from_spec`]).
    pub env: Vec<String>,
    pub stdio: Stdio,
}

/// The init-runelet: owns an initialised PAL, optionally serves `rune exec` requests, and runs
/// the payload to completion.
pub struct InitRunelet {
    pal: Arc<Pal>,
    agent: Option<AgentHandle>,
    forward_signals: bool,
}

impl InitRunelet {
    /// `pal` must already be initialised (`pal_init` runs at `create` time).
    pub fn new(pal: Pal) -> InitRunelet {
        InitRunelet { pal: Arc::new(pal), agent: None, forward_signals: true }
    }

    /// The shared PAL (e.g. for `attest`).
    pub fn pal(&self) -> &Arc<Pal> {
        &self.pal
    }

    /// Whether to install the signal forwarder in [`InitRunelet::run`] (default on).
    pub fn forward_signals(mut self, on: bool) -> InitRunelet {
        self.forward_signals = on;
        self
    }

    /// Starts the exec agent on `socket` (any length; see [`crate::agent`]).
    pub fn start_agent(&mut self, socket: &Path) -> Result<(), RuneletError> {
        self.serve_agent(AgentServer::bind(socket)?)
    }

    /// Starts the exec agent on an already bound socket (e.g. one bound before `pivot_root`,
    /// when the state directory was still reachable).
    pub fn serve_agent(&mut self, server: AgentServer) -> Result<(), RuneletError> {
        self.agent = Some(server.spawn(Arc::new(PalExecHandler::new(self.pal.clone())))?);
        Ok(())
    }

    /// Runs the payload (v1: `pal_exec`; v2+: `pal_create_process` + `pal_exec`) while forwarding
    /// signals as `pal_kill(-1, sig)` (v2+; v1 has no `pal_kill`, so signals are dropped), then
    /// stops the agent, calls `pal_destroy` and returns the payload's exit value.
    pub fn run(mut self, payload: &Payload) -> Result<i32, RuneletError> {
        let forwarder = if self.forward_signals && self.pal.version() >= 2 {
            let pal = self.pal.clone();
            Some(SignalForwarder::start(FORWARDED_SIGNALS, move |s| {
                // A payload that already exited makes pal_kill fail; nothing else to do then.
                if let Err(error) = pal.kill(-1, s) {
                    tracing::debug!(signal = s, %error, "forward signal to the payload");
                }
            })?)
        } else {
            None
        };
        let process = Process::new(payload.argv.clone(), payload.env.clone(), payload.stdio);
        tracing::debug!(argv = ?payload.argv, version = self.pal.version(), "run the payload through the PAL");
        let result = self.pal.run(&process);
        if let Some(f) = forwarder {
            f.stop();
        }
        if let Some(a) = self.agent.take() {
            a.shutdown();
        }
        let destroyed = self.pal.destroy();
        tracing::debug!(?result, destroyed = destroyed.is_ok(), "payload finished, pal_destroy called");
        match (result, destroyed) {
            (Ok(code), Ok(())) => Ok(code),
            (Ok(exit), Err(source)) => Err(RuneletError::Destroy { exit, source }),
            (Err(e), Ok(())) => Err(RuneletError::Payload(e)),
            (Err(payload), Err(destroy)) => Err(RuneletError::PayloadAndDestroy { payload, destroy }),
        }
    }
}
