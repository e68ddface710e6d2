//! What the container's init process finally runs. A plain bundle execs its entrypoint (libcontainer's
//! default executor); an enclave bundle (ENCLAVE_TYPE / enclave.type) hands its payload to an Enclave
//! Runtime through the PAL API instead. Everything before that point is shared.

use std::sync::Arc;

use enclave::EnclaveLaunch;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;

use crate::error::{Error, Result};

#[derive(Clone, Default)]
pub enum RuneExecutor {
    /// Exec the entrypoint, as runc does.
    #[default]
    Plain,
    /// Init-runelet: `validate` loads the PAL (opened on the host before the clone) and runs
    /// `pal_init`; `exec` runs `process.args` through the PAL and exits with its exit value.
    Enclave(Arc<EnclaveLaunch>),
}

impl RuneExecutor {
    /// The executor for a container's init process: `enclave` is what
    /// [`crate::enclave_container::prepare`] made of the same spec (`None`: plain container).
    pub fn for_spec(_spec: &Spec, enclave: Option<&crate::enclave_container::Setup>) -> Self {
        match enclave {
            Some(s) => RuneExecutor::Enclave(s.launch.clone()),
            None => RuneExecutor::Plain,
        }
    }
}

impl Executor for RuneExecutor {
    fn exec(&self, spec: &Spec) -> std::result::Result<(), ExecutorError> {
        match self {
            RuneExecutor::Plain => {
                fix_dev_null_stdio();
                crate::signal::restore_default_actions();
                DefaultExecutor {}.exec(spec)
            }
            RuneExecutor::Enclave(launch) => {
                fix_dev_null_stdio();
                // The payloads are forked from here: they must not inherit ignored signals.
                crate::signal::restore_default_actions();
                let process = spec.process().clone().unwrap_or_default();
                match launch.run(&process, pal::Stdio::INHERIT) {
                    // The payload's exit value becomes the container's.
                    Ok(code) => std::process::exit(code),
                    Err(e) => Err(ExecutorError::Other(e.to_string())),
                }
            }
        }
    }

    fn validate(&self, spec: &Spec) -> std::result::Result<(), ExecutorValidationError> {
        match self {
            RuneExecutor::Plain => DefaultExecutor {}.validate(spec),
            // After pivot_root, before `start`: a failing pal_init fails `create`.
            RuneExecutor::Enclave(launch) => {
                launch.load_and_init().map(drop).map_err(|e| ExecutorValidationError::ArgValidationError(e.to_string()))
            }
        }
    }
}

/// libcontainer 0.7 re-points stdio that refers to the host's /dev/null at the container's
/// /dev/null, but opens it read-only, so a payload whose stdout is /dev/null gets EBADF on write
/// (runc opens it read-write). Re-open those descriptors read-write before exec. Needed for the
/// processes libcontainer's init starts (its builder's create path and `exec`); rune's own init
/// (`init.rs`) already opens it read-write, and then this finds nothing to change.
fn fix_dev_null_stdio() {
    use nix::fcntl::{fcntl, open, FcntlArg, OFlag};
    use nix::sys::stat::{fstat, Mode};
    let Ok(null) = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()) else { return };
    let Ok(null_st) = fstat(null) else { return };
    for fd in 0..3 {
        let Ok(st) = fstat(fd) else { continue };
        let is_null = st.st_rdev == null_st.st_rdev && (st.st_mode & libc::S_IFMT) == libc::S_IFCHR;
        let read_only = fcntl(fd, FcntlArg::F_GETFL)
            .map(|fl| OFlag::from_bits_truncate(fl) & OFlag::O_ACCMODE == OFlag::O_RDONLY)
            .unwrap_or(false);
        if is_null && read_only {
            let _ = nix::unistd::dup2(null, fd);
        }
    }
    let _ = nix::unistd::close(null);
}

/// Marks this process as a child subreaper so the container process (a grandchild after
/// libcontainer's intermediate process exits) is re-parented to us and can be waited for.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|source| Error::Sys { op: "prctl(PR_SET_CHILD_SUBREAPER)", source })
}

/// Foreground mode of `run` and `exec`: forwards every signal we get to `pid`, reaps children,
/// and returns the exit code of `pid` (128+signal when it was killed, as runc does).
pub fn forward_and_wait(pid: Pid) -> Result<i32> {
    let all = SigSet::all();
    all.thread_block().map_err(|source| Error::Sys { op: "block signals", source })?;
    // The process may already have exited before we blocked SIGCHLD: reap first.
    if let Some(code) = reap(pid)? {
        return Ok(code);
    }
    loop {
        let sig = all.wait().map_err(|source| Error::Sys { op: "sigwait", source })?;
        match sig {
            Signal::SIGCHLD => {
                if let Some(code) = reap(pid)? {
                    return Ok(code);
                }
            }
            s => {
                let _ = kill(pid, s);
            }
        }
    }
}

fn reap(pid: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == pid => return Ok(Some(128 + sig as i32)),
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::ECHILD) => {
                // Not our child (should not happen with the subreaper set): poll its existence.
                return if kill(pid, None).is_err() { Ok(Some(0)) } else { Ok(None) };
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(source) => return Err(Error::Sys { op: "waitpid", source }),
        }
    }
}
