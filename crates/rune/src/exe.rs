//! rune runs from a read-only clone of its own binary when it starts containers
//! (CVE-2019-5736 class).
//!
//! The container's init process is a `clone3` of `rune create` that never execs when the
//! container is an enclave container, so its `/proc/1/exe` is rune's binary for the container's
//! whole life; a plain container's init has it until the `execve` of the entrypoint (and an
//! entrypoint of `/proc/self/exe` runs rune's binary inside the container). A container process
//! that can open that magic link for writing (root in the container, `CAP_SYS_PTRACE` or a
//! dumpable init) could overwrite the host's rune — as in CVE-2019-5736 against runc.
//!
//! Before `create`, `run` and `exec`, rune therefore re-executes itself from a clone of its
//! binary that cannot be written through:
//!
//! 1. **overlayfs** (preferred, no copy): a detached (never attached to any mount namespace),
//!    read-only overlay mount whose lower layers are the binary's directory and an empty
//!    detached tmpfs (overlayfs needs two lower layers without an upper one). The binary seen
//!    through it is another inode on another device, opening it for writing fails with `EROFS`,
//!    and nothing in the container can reach the host directory through it. Cost: two
//!    `fsopen`/`fsmount` pairs and one `execve` of rune (measured in `bench/enclave.sh`).
//! 2. **sealed memfd** (fallback when overlayfs or the mount API is unavailable, e.g. rootless):
//!    a copy of the binary in a memfd sealed with `F_SEAL_SEAL|SHRINK|GROW|WRITE`, as runc does.
//!
//! runc 1.2 uses the same two designs (overlayfs first, memfd copy as fallback) for the same
//! reason: a copy of a ~10 MB binary per container start costs more than a mount.
//! A binary already on a read-only mount (or a sealed memfd) is not re-executed: it is protected.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, SealFlags, StatVfsMountFlags};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags};

/// Why rune could not re-execute itself from a sealed clone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error("open /proc/self/exe: {0}")]
    OpenSelf(rustix::io::Errno),
    #[error("read-only overlay clone of {path}: {step}: {errno}; sealed memfd copy: {memfd}")]
    Clone { path: PathBuf, step: &'static str, errno: rustix::io::Errno, memfd: String },
    #[error("the clone of rune's binary is not sealed (read-only mount or sealed memfd)")]
    NotSealed,
    #[error("argument or environment entry contains a NUL byte")]
    Nul,
    #[error("re-execute rune from its sealed clone: {0}")]
    Exec(nix::errno::Errno),
}

const WRITE_SEALS: SealFlags = SealFlags::SEAL.union(SealFlags::SHRINK).union(SealFlags::GROW).union(SealFlags::WRITE);

/// Whether the executable behind `fd` cannot be written through: on a read-only mount, or a
/// memfd carrying every write seal.
pub fn is_sealed(fd: impl AsFd) -> bool {
    let fd = fd.as_fd();
    if rustix::fs::fstatvfs(fd).is_ok_and(|s| s.f_flag.contains(StatVfsMountFlags::RDONLY)) {
        return true;
    }
    rustix::fs::fcntl_get_seals(fd).is_ok_and(|s| s.contains(WRITE_SEALS))
}

/// Whether this process already runs from a sealed binary.
pub fn running_sealed() -> Result<bool, SealError> {
    let exe = rustix::fs::open("/proc/self/exe", OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(SealError::OpenSelf)?;
    // O_PATH descriptors do not answer F_GET_SEALS: reopen read-only for the memfd case.
    if is_sealed(&exe) {
        return Ok(true);
    }
    let rd = rustix::fs::open("/proc/self/exe", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(SealError::OpenSelf)?;
    Ok(is_sealed(&rd))
}

/// Re-executes this process (same arguments and environment) from a sealed clone of its binary,
/// unless it already runs from one. Returns only when nothing had to be done, or on failure.
pub fn reexec_sealed() -> Result<(), SealError> {
    if running_sealed()? {
        return Ok(());
    }
    let clone = sealed_clone()?;
    if !is_sealed(&clone) {
        // Checked before the exec so that the new process cannot loop: it sees the same file.
        return Err(SealError::NotSealed);
    }
    let cstr = |s: OsString| CString::new(s.into_vec()).map_err(|_| SealError::Nul);
    let args: Vec<CString> = std::env::args_os().map(cstr).collect::<Result<_, _>>()?;
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstr(kv)
        })
        .collect::<Result<_, _>>()?;
    let e = nix::unistd::fexecve(clone.as_raw_fd(), &args, &env).err().unwrap_or(nix::errno::Errno::EINVAL);
    Err(SealError::Exec(e))
}

/// A descriptor of a sealed clone of `/proc/self/exe`: the overlay clone, else a memfd copy.
pub fn sealed_clone() -> Result<OwnedFd, SealError> {
    let path = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    match overlay_clone(&path) {
        Ok(fd) => Ok(fd),
        Err((step, errno)) => match memfd_clone() {
            Ok(fd) => {
                tracing::debug!(%step, %errno, "overlay clone of rune's binary failed; running from a sealed memfd copy");
                Ok(fd)
            }
            Err(m) => Err(SealError::Clone { path, step, errno, memfd: m.to_string() }),
        },
    }
}

type Step = (&'static str, rustix::io::Errno);

/// The binary at `path`, seen through a detached read-only overlay (see the module docs).
pub fn overlay_clone(path: &Path) -> Result<OwnedFd, Step> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(("locate rune's binary", rustix::io::Errno::NOENT));
    };
    let dir_fd = rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| ("open the binary's directory", e))?;
    // The file in that directory must be the one running (not replaced since the exec).
    let self_st = rustix::fs::stat("/proc/self/exe").map_err(|e| ("stat /proc/self/exe", e))?;
    let named =
        rustix::fs::statat(&dir_fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).map_err(|e| ("stat the binary", e))?;
    if (named.st_dev, named.st_ino) != (self_st.st_dev, self_st.st_ino) {
        return Err(("the binary's path names another file", rustix::io::Errno::STALE));
    }
    let empty = {
        let fs = rustix::mount::fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| ("fsopen tmpfs", e))?;
        rustix::mount::fsconfig_create(&fs).map_err(|e| ("create tmpfs", e))?;
        rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::MOUNT_ATTR_RDONLY)
            .map_err(|e| ("fsmount tmpfs", e))?
    };
    let fs = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| ("fsopen overlay", e))?;
    let lower = format!("/proc/self/fd/{}:/proc/self/fd/{}", dir_fd.as_raw_fd(), empty.as_raw_fd());
    rustix::mount::fsconfig_set_string(&fs, "lowerdir", lower.as_str()).map_err(|e| ("overlay lowerdir", e))?;
    rustix::mount::fsconfig_create(&fs).map_err(|e| ("create overlay", e))?;
    let mnt = rustix::mount::fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY | MountAttrFlags::MOUNT_ATTR_NODEV | MountAttrFlags::MOUNT_ATTR_NOSUID,
    )
    .map_err(|e| ("fsmount overlay", e))?;
    rustix::fs::openat(&mnt, name.as_bytes(), OFlags::PATH | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())
        .map_err(|e| ("open the binary in the overlay", e))
}

/// A copy of `/proc/self/exe` in a memfd with every write seal.
pub fn memfd_clone() -> Result<OwnedFd, rustix::io::Errno> {
    let src = rustix::fs::open("/proc/self/exe", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let len = rustix::fs::fstat(&src)?.st_size as usize;
    let memfd = rustix::fs::memfd_create(
        "rune",
        rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING | rustix::fs::MemfdFlags::EXEC,
    )
    .or_else(|_| {
        rustix::fs::memfd_create("rune", rustix::fs::MemfdFlags::CLOEXEC | rustix::fs::MemfdFlags::ALLOW_SEALING)
    })?;
    let mut done = 0;
    while done < len {
        let n = rustix::fs::sendfile(&memfd, &src, None, len - done)?;
        if n == 0 {
            return Err(rustix::io::Errno::IO);
        }
        done += n;
    }
    rustix::fs::fcntl_add_seals(&memfd, WRITE_SEALS)?;
    Ok(memfd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_exe_clones_cannot_be_written() {
        let host = rustix::fs::stat("/proc/self/exe").expect("stat");
        let m = memfd_clone().expect("memfd clone");
        assert!(is_sealed(&m));
        let path = std::fs::read_link("/proc/self/exe").expect("readlink");
        match overlay_clone(&path) {
            Ok(o) => {
                assert!(is_sealed(&o));
                let st = rustix::fs::fstat(&o).expect("fstat");
                assert_ne!((st.st_dev, st.st_ino), (host.st_dev, host.st_ino), "another inode than the host binary");
                let w = rustix::fs::open(
                    format!("/proc/self/fd/{}", o.as_raw_fd()),
                    OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                );
                assert_eq!(w.err(), Some(rustix::io::Errno::ROFS));
            }
            // Without CAP_SYS_ADMIN (not root) the overlay is not available: the memfd is used.
            Err((step, e)) => assert!(!nix::unistd::geteuid().is_root(), "{step}: {e}"),
        }
        let w = rustix::fs::open(
            format!("/proc/self/fd/{}", m.as_raw_fd()),
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        );
        if let Ok(w) = w {
            assert!(rustix::io::write(&w, b"x").is_err(), "a sealed memfd refuses writes");
        }
        // The test binary itself is on a writable file system.
        assert!(!running_sealed().expect("check"));
    }
}
