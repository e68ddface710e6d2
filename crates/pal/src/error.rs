use std::fmt;

/// An errno value as returned (negated) by a PAL entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const ENOSPC: Errno = Errno(libc::ENOSPC);
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const ECHILD: Errno = Errno(libc::ECHILD);
    pub const EIO: Errno = Errno(libc::EIO);

    /// From an `io::Error` (EIO when it carries no OS code).
    pub fn from_io(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // e.g. "Invalid argument (os error 22)"
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

/// Errors of loading and calling a PAL.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The PAL file could not be opened or read.
    #[error("cannot open PAL {path}: {errno}")]
    Open { path: String, errno: Errno },
    /// The PAL file is not a regular file.
    #[error("PAL {path} is not a regular file")]
    NotAFile { path: String },
    /// `dlopen` refused the PAL.
    #[error("cannot load PAL {path}: {reason}")]
    Load { path: String, reason: String },
    /// A symbol the negotiated API version requires is missing.
    #[error("PAL lacks {symbol}, required by PAL API v{version}")]
    MissingSymbol { symbol: &'static str, version: u32 },
    /// `pal_get_version` returned something this loader cannot drive.
    #[error("unsupported pal api version {0}")]
    UnsupportedVersion(i32),
    /// The operation does not exist in the PAL's API version (e.g. `pal_kill` in v1).
    #[error("{op} is not part of PAL API v{version}")]
    NotInVersion { op: &'static str, version: u32 },
    /// A PAL entry point returned a negative value.
    #[error("{op} failed: {errno}")]
    Call { op: &'static str, errno: Errno },
    /// A string handed to the PAL contains a NUL byte.
    #[error("{what} contains a NUL byte")]
    Nul { what: &'static str },
    /// Bad argument from the caller (e.g. an over-long target info).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A system call made by the loader failed.
    #[error("{op} failed: {errno}")]
    Sys { op: &'static str, errno: Errno },
}

impl Error {
    /// The errno of a failed PAL call, if this is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Call { errno, .. } | Error::Open { errno, .. } | Error::Sys { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}
