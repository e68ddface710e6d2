use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `sizeof(sockaddr_un.sun_path)` on Linux, including the terminating NUL.
pub const SUN_PATH_MAX: usize = 108;

/// Calls `f` with a path that names `path` and fits `sun_path`: `path` itself when short enough,
/// else `/proc/self/fd/<fd of the parent dir>/<file name>` (the directory descriptor stays open
/// during `f`).
pub(crate) fn with_short_path<T>(path: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    if path.as_os_str().len() < SUN_PATH_MAX {
        return f(path);
    }
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "socket path has no file name"))?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = File::options().read(true).custom_flags(libc_o_path()).open(parent)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
    if short.as_os_str().len() >= SUN_PATH_MAX {
        return Err(io::Error::from_raw_os_error(nix::libc::ENAMETOOLONG));
    }
    let r = f(&short);
    drop(dir);
    r
}

fn libc_o_path() -> i32 {
    nix::libc::O_PATH | nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC
}
