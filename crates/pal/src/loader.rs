//! Where PAL code comes from: the [`Library`] seam (`dlopen`/`dlsym` in production, a table of Rust
//! functions in tests) and [`PalFile`], an open handle on a PAL that survives `pivot_root`.

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::raw::c_void;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::error::{Errno, Error};

/// A loaded shared object that can resolve symbols. `dlopen` is [`DlLibrary`]; tests provide
/// doubles. Symbols are addresses of functions with the signatures of [`crate::v1`]/[`crate::v2`]/
/// [`crate::v3`]; implementors promise that a symbol named like a PAL entry point has that
/// entry point's C signature for the version the library reports.
pub trait Library: Send + Sync {
    /// The address of `name`, or `None` when it is not defined.
    fn symbol(&self, name: &CStr) -> Option<NonNull<c_void>>;
    /// Where the code came from (for messages).
    fn describe(&self) -> String;
}

/// A shared object opened with `dlopen(RTLD_NOW | RTLD_LOCAL)` (through `libloading`); closed with
/// `dlclose` on drop.
#[derive(Debug)]
pub struct DlLibrary {
    // Field order is drop order: `dlclose` first, then the descriptor the library was opened from.
    lib: libloading::os::unix::Library,
    path: PathBuf,
    /// The descriptor behind a `/proc/self/fd/N` path; closed after `dlclose`.
    fd: Option<OwnedFd>,
}

impl DlLibrary {
    /// `dlopen`s `path` with `RTLD_NOW`: unresolved symbols fail here, not at the first call;
    /// `RTLD_LOCAL`: the PAL's symbols do not resolve other objects' references (two PALs in one
    /// process keep their own `pal_init`). Running the library's constructors is the inherent risk
    /// of loading a PAL: only load PALs the operator chose.
    pub fn open(path: &Path) -> Result<DlLibrary, Error> {
        let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
        // SAFETY: loading runs the object's initialisers, which is the documented contract of
        // loading a PAL; the path is passed by value and copied by libloading into a C string.
        let lib = unsafe { libloading::os::unix::Library::open(Some(path), flags) }.map_err(|e| match e {
            libloading::Error::InteriorZeroElements => Error::Nul { what: "PAL path" },
            e => Error::Load { path: path.display().to_string(), reason: load_reason(&e) },
        })?;
        tracing::debug!(pal = %path.display(), "PAL loaded");
        Ok(DlLibrary { lib, path: path.to_path_buf(), fd: None })
    }
}

/// The loader's own message (`dlerror`), without libloading's wrapping.
fn load_reason(e: &libloading::Error) -> String {
    match e {
        libloading::Error::DlOpen { source } => source.to_string(),
        other => other.to_string(),
    }
}

impl Library for DlLibrary {
    fn symbol(&self, name: &CStr) -> Option<NonNull<c_void>> {
        // SAFETY: the symbol is only used as an opaque address here; `Library`'s contract (see the
        // trait docs) is what gives it a function type, and `Pal` checks the version first. The
        // `Symbol` borrow ends at `into_raw`; the address stays valid while `self.lib` is loaded,
        // and every `Pal` owns the library it took addresses from.
        let sym = unsafe { self.lib.get::<*mut c_void>(name) }.ok()?;
        NonNull::new(sym.into_raw())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// How a [`PalFile`] holds the PAL's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PalFileKind {
    /// The host file itself, opened read-only.
    Host,
    /// A sealed in-memory copy (memfd) taken when the file was opened.
    Snapshot,
}

/// An open PAL file that stays usable after the caller's root changes.
///
/// The init-runelet must open the PAL by its **host** path, but runs it inside the container root
/// (after `pivot_root`), where the host path no longer resolves. A `PalFile` is opened before the
/// pivot and keeps a file descriptor; [`PalFile::load`] then `dlopen`s `/proc/self/fd/<fd>`. That
/// magic link resolves to the open file itself, independent of the mount namespace and root, so it
/// works as long as *some* procfs is mounted at `/proc` (the container's own proc mount in a new pid
/// namespace is fine: `self` is still the caller). Dependencies (`DT_NEEDED`) that are not already
/// loaded in the process are searched in the container root.
///
/// [`PalFile::open`] keeps the host file; [`PalFile::snapshot`] copies it into a sealed memfd, so
/// later changes to the host file cannot alter what runs, and every snapshot is a distinct object
/// for the dynamic loader (two snapshots of one PAL get separate global state).
#[derive(Debug)]
pub struct PalFile {
    fd: OwnedFd,
    kind: PalFileKind,
    origin: PathBuf,
}

fn sys(op: &'static str) -> Error {
    Error::Sys { op, errno: Errno::from_io(&std::io::Error::last_os_error()) }
}

impl PalFile {
    fn open_host(path: &Path) -> Result<File, Error> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::Open { path: path.display().to_string(), errno: Errno::from_io(&e) })?;
        let md =
            f.metadata().map_err(|e| Error::Open { path: path.display().to_string(), errno: Errno::from_io(&e) })?;
        if !md.is_file() {
            return Err(Error::NotAFile { path: path.display().to_string() });
        }
        Ok(f)
    }

    /// Opens the host file read-only (close-on-exec).
    pub fn open(path: &Path) -> Result<PalFile, Error> {
        let f = Self::open_host(path)?;
        Ok(PalFile { fd: f.into(), kind: PalFileKind::Host, origin: path.to_path_buf() })
    }

    /// Copies the host file into a sealed memfd (close-on-exec).
    pub fn snapshot(path: &Path) -> Result<PalFile, Error> {
        let mut src = Self::open_host(path)?;
        let name = c"pal";
        // SAFETY: `name` is a valid C string; memfd_create has no other preconditions.
        let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
        if raw < 0 {
            return Err(sys("memfd_create"));
        }
        // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut dst = File::from(fd);
        let mut buf = Vec::new();
        src.read_to_end(&mut buf)
            .map_err(|e| Error::Open { path: path.display().to_string(), errno: Errno::from_io(&e) })?;
        dst.write_all(&buf).map_err(|e| Error::Sys { op: "write memfd", errno: Errno::from_io(&e) })?;
        let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on a descriptor we own, with an integer argument.
        if unsafe { libc::fcntl(dst.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(sys("fcntl(F_ADD_SEALS)"));
        }
        Ok(PalFile { fd: dst.into(), kind: PalFileKind::Snapshot, origin: path.to_path_buf() })
    }

    /// Wraps a descriptor opened elsewhere (e.g. inherited from the parent `rune` process).
    pub fn from_fd(fd: OwnedFd, kind: PalFileKind, origin: PathBuf) -> PalFile {
        PalFile { fd, kind, origin }
    }

    pub fn kind(&self) -> PalFileKind {
        self.kind
    }

    /// The host path the PAL was opened from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// `/proc/self/fd/<fd>` of this handle (`load` uses a unique duplicate of it).
    pub fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// Loads the PAL (see the type docs) and negotiates its version.
    ///
    /// glibc's `dlopen` first looks for an already-loaded object *by the name string*, so a
    /// `/proc/self/fd/N` that named another PAL earlier (its descriptor since closed and the
    /// number reused) would silently return that other PAL. Each load therefore duplicates the
    /// descriptor to a number never used for a PAL before in this process and keeps it open
    /// for the life of the loaded library.
    pub fn load(&self) -> Result<crate::Pal, Error> {
        use std::sync::atomic::{AtomicI32, Ordering};
        static NEXT_FD: AtomicI32 = AtomicI32::new(100);
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let fd = {
            let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
            let min = NEXT_FD.load(Ordering::Relaxed);
            // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own; the result is a new descriptor.
            let raw = unsafe { libc::fcntl(self.fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
            if raw < 0 {
                return Err(sys("fcntl(F_DUPFD_CLOEXEC)"));
            }
            NEXT_FD.store(raw + 1, Ordering::Relaxed);
            // SAFETY: `raw` is a fresh descriptor owned by nobody else.
            unsafe { OwnedFd::from_raw_fd(raw) }
        };
        let path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        let mut lib = DlLibrary::open(&path).map_err(|e| match e {
            Error::Load { reason, .. } => Error::Load { path: self.origin.display().to_string(), reason },
            other => other,
        })?;
        lib.fd = Some(fd);
        lib.path = self.origin.clone();
        crate::Pal::from_library(Box::new(lib))
    }
}

impl AsFd for PalFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<PalFile> for OwnedFd {
    fn from(p: PalFile) -> OwnedFd {
        p.fd
    }
}

/// Duplicates a raw descriptor owned by someone else into one we own (close-on-exec).
/// Fails with EBADF if `fd` is not open.
pub fn dup_raw_fd(fd: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC only reads the descriptor table; an invalid fd yields EBADF.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor created for us by fcntl and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dlopen_errors_name_what_was_wrong() {
        let e = DlLibrary::open(Path::new("/no/such/libpal.so")).unwrap_err();
        assert!(
            matches!(&e, Error::Load { path, reason } if path == "/no/such/libpal.so" && reason.contains("No such file")),
            "{e}"
        );
        assert_eq!(DlLibrary::open(Path::new("/a\0b")).unwrap_err(), Error::Nul { what: "PAL path" });
    }

    #[test]
    fn symbols_resolve_through_libloading() {
        // libc is loaded in every test process; RTLD_NOW | RTLD_LOCAL on it is harmless.
        let lib = DlLibrary::open(Path::new("libc.so.6")).unwrap();
        assert!(lib.symbol(c"getpid").is_some());
        assert!(lib.symbol(c"pal_no_such_symbol").is_none());
        assert_eq!(lib.describe(), "libc.so.6");
    }
}
