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
    #[error("bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("config.json in {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("container {id:?} is {status}: cannot {op}")]
    BadState { id: String, status: String, op: &'static str },
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
    #[error("{0}")]
    Invalid(String),
    /// An enclave container's configuration or runtime (the message names the `ENCLAVE_*`
    /// variable or `enclave.*` annotation when one is at fault).
    #[error("enclave container: {0}")]
    Enclave(String),
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

impl Error {
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
