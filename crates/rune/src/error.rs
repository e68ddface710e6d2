use std::path::PathBuf;

/// Errors of the rune library. Each names what was wrong (container id, path, field).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("container {0:?} already exists")]
    AlreadyExists(String),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The state file exists but cannot be used; `delete --force` removes such a container.
    #[error("state of container {id:?} in {path} is damaged ({reason}): `delete --force {id}` removes it")]
    DamagedState { id: String, path: PathBuf, reason: String },
    #[error("bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("config.json in {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("container {id:?} is {status}: cannot {op}")]
    BadState { id: String, status: String, op: &'static str },
    #[error("container {0:?} has no init pid")]
    NoInitPid(String),
    #[error("unknown signal {0:?}")]
    UnknownSignal(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Container {
        context: String,
        #[source]
        source: Box<libcontainer::error::LibcontainerError>,
    },
    /// A failed `create` whose rollback failed too: the original error and every cleanup step
    /// that did not succeed (youki's `CreateContainerError` shape), so nothing left behind goes
    /// unreported.
    #[error("{cause}; cleanup after the failure also failed: {}", join(cleanup))]
    CreateCleanup {
        #[source]
        cause: Box<Error>,
        cleanup: Vec<Error>,
    },
    #[error("clone the container's init process: {0}")]
    CloneInit(#[source] crate::sys::CloneError),
    /// A system call rune makes itself (through `nix`).
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        #[source]
        source: nix::errno::Errno,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: {source}")]
    OciSpec {
        what: &'static str,
        #[source]
        source: oci_spec::OciSpecError,
    },
    #[error("invalid --log-format {0:?}: expected text or json")]
    LogFormat(String),
    #[error("exec: no command given (args or --process)")]
    NoCommand,
    #[error("exec --cap: unknown capability {0:?}")]
    UnknownCapability(String),
    /// runc's rule for `create`/`run`: a terminal in detached mode needs a console socket.
    #[error("process.terminal is set in detached mode: --console-socket is required")]
    ConsoleSocketRequired,
    /// runc's rule for `create`/`run`: a console socket is only accepted for a detached terminal.
    #[error("--console-socket is only valid with process.terminal in detached mode")]
    ConsoleSocketUnexpected,
    /// runc's rule for `exec` (runc's wording).
    #[error("cannot allocate tty if rune will detach without setting console socket")]
    ExecTtyNeedsConsoleSocket,
    /// runc's rule for `exec` (runc's wording).
    #[error("cannot use console socket if rune will not detach or allocate tty")]
    ExecConsoleSocketUnexpected,
    #[error("keyring name {0:?} contains NUL")]
    KeyringName(String),
    #[error("keyring serial {0} out of range")]
    KeyringSerial(i64),
    #[error("unexpected description of keyring {0}")]
    KeyringDescription(i32),
    /// rune's own cgroup handling ([`crate::cgroups`]) for the cgroup at `path`.
    #[error("cgroup {path}: {source}")]
    Cgroup {
        path: PathBuf,
        #[source]
        source: crate::cgroups::CgroupError,
    },
    #[error("cgroup manager for container {id:?}: {source}")]
    CgroupSetup {
        id: String,
        #[source]
        source: Box<libcgroups::common::CreateCgroupSetupError>,
    },
    #[error("{op} of container {id:?}: {source}")]
    CgroupManager {
        id: String,
        op: &'static str,
        #[source]
        source: Box<libcgroups::common::AnyManagerError>,
    },
    #[error("memory cgroup mount point: {0}")]
    MemoryMountPoint(#[source] Box<libcgroups::v1::util::V1MountPointError>),
    #[error("console socket {path}: {source}")]
    ConsoleSocket {
        path: PathBuf,
        #[source]
        source: Box<libcontainer::tty::TTYError>,
    },
    #[error("save container config: {0}")]
    SaveConfig(#[source] Box<libcontainer::config::ConfigError>),
    #[error("notify socket in {dir}: {source}")]
    NotifySocket {
        dir: PathBuf,
        #[source]
        source: Box<libcontainer::notify_socket::NotifyListenerError>,
    },
    #[error("linux.namespaces: {0}")]
    Namespaces(#[source] Box<libcontainer::namespaces::NamespaceError>),
    #[error("{name} hook: {source}")]
    Hook {
        name: &'static str,
        #[source]
        source: Box<libcontainer::hooks::HookError>,
    },
    /// The channel between rune and the container's init process.
    #[error("{what}: {source}")]
    InitChannel {
        what: &'static str,
        #[source]
        source: Box<libcontainer::process::channel::ChannelError>,
    },
    /// The container's init process reported this failure.
    #[error("{what}: {message}")]
    InitFailed { what: &'static str, message: String },
    /// An enclave container's configuration: the source names the `ENCLAVE_*` variable or
    /// `enclave.*` annotation at fault.
    #[error("enclave container: {0}")]
    EnclaveConfig(#[source] Box<enclave::ConfigError>),
    #[error("enclave container: {enclave_type}: {source}")]
    EnclaveDevices {
        enclave_type: enclave::EnclaveType,
        #[source]
        source: enclave::DeviceError,
    },
    #[error("enclave container: exec agent socket: {0}")]
    AgentSocket(#[source] enclave::AgentError),
    #[error("enclave container: forward signals to the exec payload: {0}")]
    SignalForwarding(#[source] enclave::RuneletError),
    /// An `exec` option that would change an enclave payload's identity or privileges.
    #[error(
        "enclave container: container {id:?}: exec {what}: refused for an enclave container: its payloads are \
         started by the enclave runtime in the container's init process and run with that process's user, groups, \
         capabilities and security settings (the PAL API cannot change them); ask for the container's own values \
         or leave the option out"
    )]
    ExecRefused { id: String, what: String },
    #[error(
        "enclave container: container {id:?}: exec --preserve-fds {count}: refused for an enclave container: the \
         exec agent passes only stdin, stdout and stderr to the enclave runtime"
    )]
    ExecPreserveFds { id: String, count: i32 },
    #[error("{what}: not a JSON object")]
    NotAnObject { what: String },
    #[error(
        "enclave container: container {id:?}: attest needs PAL API v3 (pal_get_local_report); {pal} is v{version}"
    )]
    AttestNeedsV3 { id: String, pal: PathBuf, version: u32 },
    #[error("--report-data is {0} bytes, at most 64")]
    ReportDataTooLong(usize),
    #[error("invalid hex {0:?}: odd number of digits")]
    HexOddLength(String),
    #[error("invalid hex {0:?}")]
    Hex(String),
    #[error("container {id:?}: {op} through the enclave agent: {source}")]
    Agent {
        id: String,
        op: &'static str,
        #[source]
        source: enclave::AgentError,
    },
    #[error("container {0:?} is not an enclave container")]
    NotEnclave(String),
    /// rune's config file (see [`crate::config`]): names the file and, when known, the key.
    #[error("config file {path}: {}{reason}", .key.as_ref().map(|k| format!("key {k}: ")).unwrap_or_default())]
    ConfigFile { path: PathBuf, key: Option<String>, reason: String },
    #[error("--pal-dir: {0}")]
    PalDir(enclave::PalPathError),
}

fn join(errors: &[Error]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// This error followed by the failures of the cleanup that tried to undo what was made
    /// (none: the error itself; a [`Error::CreateCleanup`] keeps one list).
    pub fn with_cleanup(self, cleanup: Vec<Error>) -> Error {
        if cleanup.is_empty() {
            return self;
        }
        match self {
            Error::CreateCleanup { cause, cleanup: mut earlier } => {
                earlier.extend(cleanup);
                Error::CreateCleanup { cause, cleanup: earlier }
            }
            cause => Error::CreateCleanup { cause: Box::new(cause), cleanup },
        }
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    pub(crate) fn lc(context: impl Into<String>) -> impl FnOnce(libcontainer::error::LibcontainerError) -> Error {
        let context = context.into();
        move |e| Error::Container { context, source: Box::new(e) }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    fn io(what: &str) -> Error {
        Error::Io { what: what.into(), source: std::io::Error::from_raw_os_error(libc::EBUSY) }
    }

    #[test]
    fn cleanup_failures_are_kept_with_the_cause() {
        assert!(matches!(Error::NoCommand.with_cleanup(Vec::new()), Error::NoCommand), "no cleanup failure: unchanged");
        let e = Error::NoCommand.with_cleanup(vec![io("remove cgroup")]).with_cleanup(vec![io("remove socket")]);
        match &e {
            Error::CreateCleanup { cause, cleanup } => {
                assert!(matches!(**cause, Error::NoCommand));
                assert_eq!(cleanup.len(), 2, "one list, in order");
            }
            other => panic!("{other}"),
        }
        let text = e.to_string();
        assert!(text.starts_with("exec: no command given"), "{text}");
        assert!(
            text.contains("cleanup after the failure also failed: remove cgroup: ")
                && text.contains("; remove socket: ")
        );
        assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string().starts_with("exec: no command")));
    }
}
