use std::path::PathBuf;

/// Where a configuration value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `ENCLAVE_TYPE`-style env name, or `enclave.type`-style annotation name.
    pub key: &'static str,
    /// `true`: `process.env`; `false`: annotation.
    pub from_env: bool,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from_env {
            write!(f, "{} (process.env)", self.key)
        } else {
            write!(f, "annotation {}", self.key)
        }
    }
}

/// Errors in an enclave container's configuration.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{origin}: unknown enclave type {value:?} (expected intelSgx, AwsNitroEnclaves, Jailhouse or sample)")]
    UnknownType { origin: Origin, value: String },
    #[error("enclave type is set but ENCLAVE_RUNTIME_PATH / annotation enclave.runtime.path is missing")]
    MissingRuntimePath,
    #[error("{origin}: enclave runtime path {path:?} must be absolute")]
    RelativeRuntimePath { origin: Origin, path: String },
    #[error("{origin}: cannot read enclave runtime (PAL) {path}: {errno}")]
    PalUnreadable { origin: Origin, path: PathBuf, errno: pal::Errno },
    #[error("{origin}: enclave runtime {path} is not a regular file")]
    PalNotAFile { origin: Origin, path: PathBuf },
    #[error("{origin}: cannot load enclave runtime {path}: {reason}")]
    PalLoad { origin: Origin, path: PathBuf, reason: String },
    #[error("{origin}: enclave runtime {path} lacks {symbol}, required by PAL API v{version}")]
    PalMissingSymbol { origin: Origin, path: PathBuf, symbol: &'static str, version: u32 },
    #[error("{origin}: enclave runtime {path}: unsupported pal api version {version}")]
    PalUnsupportedVersion { origin: Origin, path: PathBuf, version: i32 },
    #[error("{origin}: enclave runtime {path}: pal_init(args {args:?}) failed: {source}")]
    PalInit { origin: Origin, path: PathBuf, args: String, source: pal::Error },
    #[error("{origin}: {what} contains a NUL byte")]
    Nul { origin: Origin, what: &'static str },
    #[error("{origin}: enclave runtime {path}: {source}")]
    Pal { origin: Origin, path: PathBuf, source: pal::Error },
    /// The path breaks a rule of the operator's PAL allowlist ([`crate::paldirs`]).
    #[error("{origin}: enclave runtime {path} refused: {rule}")]
    PalRefused { origin: Origin, path: PathBuf, rule: Box<PalPathError> },
}

/// Why the PAL allowlist refused a path ([`crate::paldirs`]). Each names the rule.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PalPathError {
    #[error("not beneath an allowed PAL directory (allowed: {allowed}; the operator adds one with `rune --pal-dir DIR` or pal_dirs in rune's config file)")]
    NotAllowed { allowed: String },
    #[error("'..' components are not allowed in a PAL path")]
    DotDot,
    #[error("resolving it leaves the allowed PAL directory {dir} (a symlink or '..' pointing outside it) or crosses a mount point")]
    Escapes { dir: PathBuf },
    #[error("resolving it beneath {dir} goes through a /proc magic link or too many symlinks")]
    MagicLink { dir: PathBuf },
    #[error("not a regular file")]
    NotAFile,
    #[error("owned by uid {uid}: a PAL must be owned by root")]
    NotRootOwned { uid: u32 },
    #[error("writable by group or others (mode {mode:o}): a PAL must be writable by root only")]
    Writable { mode: u32 },
    #[error("allowed PAL directory {dir} is unsafe: {at} is {reason}")]
    UnsafeDir { dir: PathBuf, at: PathBuf, reason: String },
    #[error("allowed PAL directory {dir} cannot be opened: {errno}")]
    DirUnavailable { dir: PathBuf, errno: pal::Errno },
    #[error("allowed PAL directory {dir} must be an absolute path")]
    RelativeDir { dir: PathBuf },
    #[error("cannot open it: {errno}")]
    Open { errno: pal::Errno },
}

/// Errors of device injection.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("cannot inspect host path {path}: {errno}")]
    Stat { path: PathBuf, errno: pal::Errno },
    #[error("building the OCI {what} entry for {path} failed: {reason}")]
    Spec { what: &'static str, path: PathBuf, reason: String },
}

/// Errors of running payloads in the init-runelet.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuneletError {
    #[error("running the payload through the enclave runtime failed: {0}")]
    Payload(pal::Error),
    #[error("pal_destroy failed after the payload exited with {exit}: {source}")]
    Destroy { exit: i32, source: pal::Error },
    #[error("running the payload failed ({payload}) and so did pal_destroy ({destroy})")]
    PayloadAndDestroy { payload: pal::Error, destroy: pal::Error },
    #[error("cannot install the signal forwarder: {0}")]
    Signals(String),
    #[error("exec agent: {0}")]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the enclave runtime is not loaded (load_and_init must run at create time, after pivot_root)")]
    NotLoaded,
    #[error("process.args is empty: an enclave payload needs at least argv[0]")]
    NoArgs,
}

/// Errors of the exec agent protocol (both sides).
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AgentError {
    #[error("{op} {path}: {errno}")]
    Socket { op: &'static str, path: PathBuf, errno: pal::Errno },
    #[error("agent connection {op}: {errno}")]
    Io { op: &'static str, errno: pal::Errno },
    #[error("agent frame of {0} bytes exceeds the limit")]
    FrameTooLarge(usize),
    #[error("malformed agent message: {0}")]
    Malformed(String),
    #[error("exec request carried {0} file descriptors, expected 3 (stdin, stdout, stderr)")]
    BadFds(usize),
    #[error("a terminal exec request must carry no file descriptors, got {0}")]
    TtyWithFds(usize),
    #[error("the agent's reply to a terminal exec request carried {0} descriptors, expected the terminal's master")]
    NoPtyMaster(usize),
    #[error("console socket {path}: {errno}")]
    ConsoleSocket { path: PathBuf, errno: pal::Errno },
    #[error("agent closed the connection before {0}")]
    Closed(&'static str),
    #[error("unexpected agent message: expected {expected}, got {got}")]
    Unexpected { expected: &'static str, got: String },
    #[error("exec refused by the agent: {message}")]
    Remote { message: String, errno: Option<i32> },
    #[error("enclave runtime: {0}")]
    Pal(pal::Error),
    #[error("the agent does not support {0}")]
    Unsupported(&'static str),
}

impl AgentError {
    pub(crate) fn io(op: &'static str, e: &std::io::Error) -> AgentError {
        AgentError::Io { op, errno: pal::Errno::from_io(e) }
    }
}
