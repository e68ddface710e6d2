//! The operator's allowlist of PAL directories, and the resolver that opens a PAL beneath one.
//!
//! `ENCLAVE_RUNTIME_PATH` / `enclave.runtime.path` come from the image or the pod: the tenant
//! chooses them. The PAL they name is `dlopen`ed by `rune create` as host root, before any
//! namespace, capability drop or seccomp filter, so its constructors run with every privilege the
//! host has. A tenant must therefore only be able to pick among libraries the operator installed:
//!
//! * the path must lie (lexically, no `..`) beneath a directory of the allowlist;
//! * it is resolved with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)`
//!   from a descriptor of that directory, as `O_PATH`: no symlink may lead out of the directory,
//!   no `/proc/<pid>/root`-style magic link and no mount point (another container's rootfs) may be
//!   crossed, and nothing is opened for reading before every check passed;
//! * the file must be a regular file owned by root and not writable by group or others; the
//!   allowed directory must be owned by root and not writable by group or others, and each of its
//!   ancestors must be owned by root and either not writable by group/others or sticky (`/tmp`), so
//!   that nobody but root can swap the file or the directory;
//! * the PAL is then read through the checked descriptor (`/proc/self/fd/N` of the same open
//!   file), never by path again.
//!
//! Defaults ([`DEFAULT_PAL_DIRS`]): `/usr/lib/rune/pal` and `/usr/local/lib/rune/pal`. rune adds
//! the directories of its `--pal-dir` flags and of `pal_dirs` in its config file.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};

use crate::error::PalPathError;

// st_mode bits (<sys/stat.h>).
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_ISVTX: u32 = 0o1000;

/// Directories allowed when the operator configured none.
pub const DEFAULT_PAL_DIRS: [&str; 2] = ["/usr/lib/rune/pal", "/usr/local/lib/rune/pal"];

/// Owner and mode of an inode, as the checks see them (a seam: tests substitute the owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub mode: u32,
}

/// The allowlist. Directories must be absolute; they are checked each time a PAL is opened (a
/// directory that does not exist is skipped for the path lookup but reported if the path is
/// beneath it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PalDirs {
    dirs: Vec<PathBuf>,
}

impl Default for PalDirs {
    fn default() -> Self {
        PalDirs { dirs: DEFAULT_PAL_DIRS.iter().map(PathBuf::from).collect() }
    }
}

impl fmt::Display for PalDirs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        f.write_str(&v.join(", "))
    }
}

/// What was opened: the checked `O_PATH` descriptor's file, reopened read-only.
#[derive(Debug)]
pub struct Resolved {
    pub file: OwnedFd,
    /// The allowed directory it was found beneath.
    pub dir: PathBuf,
}

fn errno(e: rustix::io::Errno) -> pal::Errno {
    pal::Errno(e.raw_os_error())
}

impl PalDirs {
    /// An allowlist of exactly `dirs` (each must be absolute).
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> Result<PalDirs, PalPathError> {
        let dirs: Vec<PathBuf> = dirs.into_iter().collect();
        if let Some(d) = dirs.iter().find(|d| !d.is_absolute()) {
            return Err(PalPathError::RelativeDir { dir: d.clone() });
        }
        Ok(PalDirs { dirs })
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Adds a directory (no duplicates).
    pub fn push(&mut self, dir: PathBuf) -> Result<(), PalPathError> {
        if !dir.is_absolute() {
            return Err(PalPathError::RelativeDir { dir });
        }
        if !self.dirs.contains(&dir) {
            self.dirs.push(dir);
        }
        Ok(())
    }

    /// Opens `path` under the rules of the module docs; the result is readable.
    pub fn open(&self, path: &Path) -> Result<Resolved, PalPathError> {
        self.open_with(path, &|fd| {
            let st = rustix::fs::fstat(fd).map_err(errno)?;
            Ok(Owner { uid: st.st_uid, mode: st.st_mode })
        })
    }

    /// [`PalDirs::open`] with the owner/mode lookup `owner` (tests: a fake owner).
    pub fn open_with(
        &self,
        path: &Path,
        owner: &dyn Fn(&OwnedFd) -> Result<Owner, pal::Errno>,
    ) -> Result<Resolved, PalPathError> {
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(PalPathError::DotDot);
        }
        let Some((dir, rel)) = self.dirs.iter().find_map(|d| path.strip_prefix(d).ok().map(|r| (d, r))) else {
            return Err(PalPathError::NotAllowed { allowed: self.to_string() });
        };
        if rel.as_os_str().is_empty() {
            return Err(PalPathError::NotAFile);
        }
        // The allowed directory as the operator wrote it (symlinks in it are the operator's),
        // but not through a /proc magic link.
        let dfd = rustix::fs::openat2(
            CWD,
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::NO_MAGICLINKS,
        )
        .map_err(|e| PalPathError::DirUnavailable { dir: dir.clone(), errno: errno(e) })?;
        check_dir_chain(&dfd, dir, owner)?;
        let fd = rustix::fs::openat2(
            &dfd,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV,
        )
        .map_err(|e| match e {
            rustix::io::Errno::XDEV => PalPathError::Escapes { dir: dir.clone() },
            rustix::io::Errno::LOOP => PalPathError::MagicLink { dir: dir.clone() },
            e => PalPathError::Open { errno: errno(e) },
        })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| PalPathError::Open { errno: errno(e) })?;
        if st.st_mode & S_IFMT != S_IFREG {
            return Err(PalPathError::NotAFile);
        }
        let o = owner(&fd).map_err(|errno| PalPathError::Open { errno })?;
        if o.uid != 0 {
            return Err(PalPathError::NotRootOwned { uid: o.uid });
        }
        if o.mode & 0o022 != 0 {
            return Err(PalPathError::Writable { mode: o.mode & 0o7777 });
        }
        // Every check passed on the O_PATH descriptor: open that same file for reading.
        let file = rustix::fs::open(
            format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| PalPathError::Open { errno: errno(e) })?;
        let again = rustix::fs::fstat(&file).map_err(|e| PalPathError::Open { errno: errno(e) })?;
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) {
            return Err(PalPathError::Open { errno: pal::Errno(rustix::io::Errno::STALE.raw_os_error()) });
        }
        Ok(Resolved { file, dir: dir.clone() })
    }
}

/// The allowed directory and each of its ancestors (walked with `..` from the descriptor, so it
/// is the directory actually used): owned by root; the directory itself not writable by group
/// or others; an ancestor writable by them only if sticky.
fn check_dir_chain(
    dfd: &OwnedFd,
    dir: &Path,
    owner: &dyn Fn(&OwnedFd) -> Result<Owner, pal::Errno>,
) -> Result<(), PalPathError> {
    let unsafe_dir =
        |at: &Path, reason: String| PalPathError::UnsafeDir { dir: dir.to_path_buf(), at: at.to_path_buf(), reason };
    let mut cur =
        dfd.as_fd().try_clone_to_owned().map_err(|e| PalPathError::Open { errno: pal::Errno::from_io(&e) })?;
    let mut at = dir.to_path_buf();
    let mut first = true;
    loop {
        let o = owner(&cur).map_err(|errno| PalPathError::DirUnavailable { dir: at.clone(), errno })?;
        if o.uid != 0 {
            return Err(unsafe_dir(&at, format!("owned by uid {}, not root", o.uid)));
        }
        let sticky = o.mode & S_ISVTX != 0;
        if o.mode & 0o022 != 0 && (first || !sticky) {
            return Err(unsafe_dir(&at, format!("writable by group or others (mode {:o})", o.mode & 0o7777)));
        }
        first = false;
        let parent = rustix::fs::openat(&cur, "..", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| PalPathError::DirUnavailable { dir: at.clone(), errno: errno(e) })?;
        let (a, b) = (
            rustix::fs::fstat(&cur).map_err(|e| PalPathError::DirUnavailable { dir: at.clone(), errno: errno(e) })?,
            rustix::fs::fstat(&parent)
                .map_err(|e| PalPathError::DirUnavailable { dir: at.clone(), errno: errno(e) })?,
        );
        if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) {
            return Ok(()); // the root
        }
        cur = parent;
        at = at.parent().map(Path::to_path_buf).unwrap_or_else(|| at.join(".."));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// A root-owned 0755 allowed dir under a fresh 0700 temp dir (the tests that use it need root).
    struct Fixture {
        _t: tempfile::TempDir,
        base: PathBuf,
        allowed: PathBuf,
    }

    fn fixture() -> Fixture {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().to_path_buf();
        let allowed = base.join("pal");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::set_permissions(&allowed, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = allowed.join("libpal.so");
        std::fs::write(&f, b"not really a PAL").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        Fixture { _t: t, base, allowed }
    }

    /// The allowlist accepts only root-owned files, and the refusal cases chown to another uid:
    /// these tests need root (as `make test` and CI run). Said loudly instead of passing silently.
    fn require_root() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test needs root: it creates root-owned and foreign-owned PAL files"
        );
    }

    fn dirs(f: &Fixture) -> PalDirs {
        PalDirs::new([f.allowed.clone()]).unwrap()
    }

    #[test]
    fn pal_allowlist_accepts_a_root_owned_file_beneath_the_dir() {
        require_root();
        let f = fixture();
        let r = dirs(&f).open(&f.allowed.join("libpal.so")).unwrap();
        assert_eq!(r.dir, f.allowed);
        // A symlink that stays inside the directory is fine.
        symlink("libpal.so", f.allowed.join("libpal.so.1")).unwrap();
        assert!(dirs(&f).open(&f.allowed.join("libpal.so.1")).is_ok());
    }

    #[test]
    fn pal_allowlist_refuses_paths_outside_the_dirs() {
        let f = fixture();
        let outside = f.base.join("rootfs/lib/libpal.so");
        std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
        std::fs::write(&outside, b"x").unwrap();
        assert!(matches!(dirs(&f).open(&outside), Err(PalPathError::NotAllowed { .. })));
        assert!(matches!(PalDirs::default().open(&outside), Err(PalPathError::NotAllowed { .. })));
        let e = dirs(&f).open(&f.allowed.join("../rootfs/lib/libpal.so")).unwrap_err();
        assert_eq!(e, PalPathError::DotDot);
        let via_proc = PathBuf::from(format!("/proc/self/root{}", f.allowed.join("libpal.so").display()));
        assert!(matches!(dirs(&f).open(&via_proc), Err(PalPathError::NotAllowed { .. })));
    }

    #[test]
    fn pal_allowlist_refuses_symlink_escapes_and_magic_links() {
        require_root();
        let f = fixture();
        let outside = f.base.join("evil.so");
        std::fs::write(&outside, b"x").unwrap();
        symlink(&outside, f.allowed.join("abs.so")).unwrap();
        symlink("../evil.so", f.allowed.join("rel.so")).unwrap();
        for name in ["abs.so", "rel.so"] {
            let e = dirs(&f).open(&f.allowed.join(name)).unwrap_err();
            assert!(matches!(e, PalPathError::Escapes { .. }), "{name}: {e}");
        }
        // A magic link inside the allowed dir (to this process's root) is refused too.
        symlink("/proc/self/root/etc/hostname", f.allowed.join("magic.so")).unwrap();
        assert!(dirs(&f).open(&f.allowed.join("magic.so")).is_err());
        // The whole of / allowed: /proc/self/root/... still crosses a magic link.
        let all = PalDirs::new([PathBuf::from("/")]).unwrap();
        let via_proc = PathBuf::from(format!("/proc/self/root{}", f.allowed.join("libpal.so").display()));
        let e = all.open(&via_proc).unwrap_err();
        assert!(matches!(e, PalPathError::Escapes { .. } | PalPathError::MagicLink { .. }), "{e}");
    }

    #[test]
    fn pal_allowlist_refuses_writable_or_foreign_files() {
        require_root();
        let f = fixture();
        let p = f.allowed.join("libpal.so");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(dirs(&f).open(&p).unwrap_err(), PalPathError::Writable { mode: 0o666 });
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert_eq!(dirs(&f).open(&p).unwrap_err(), PalPathError::Writable { mode: 0o664 });
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
        assert_eq!(dirs(&f).open(&p).unwrap_err(), PalPathError::NotRootOwned { uid: 65534 });
        std::os::unix::fs::chown(&p, Some(0), None).unwrap();
        std::fs::create_dir(f.allowed.join("sub")).unwrap();
        assert_eq!(dirs(&f).open(&f.allowed.join("sub")).unwrap_err(), PalPathError::NotAFile);
        assert!(dirs(&f).open(&p).is_ok());
    }

    #[test]
    fn pal_allowlist_checks_the_directory_and_its_parents() {
        require_root();
        let f = fixture();
        let p = f.allowed.join("libpal.so");
        std::fs::set_permissions(&f.allowed, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(dirs(&f).open(&p), Err(PalPathError::UnsafeDir { ref at, .. }) if *at == f.allowed));
        std::fs::set_permissions(&f.allowed, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&f.allowed, Some(65534), None).unwrap();
        assert!(matches!(dirs(&f).open(&p), Err(PalPathError::UnsafeDir { .. })));
        std::os::unix::fs::chown(&f.allowed, Some(0), None).unwrap();
        // A parent writable by others without the sticky bit lets them swap the directory.
        std::fs::set_permissions(&f.base, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(dirs(&f).open(&p), Err(PalPathError::UnsafeDir { ref at, .. }) if *at == f.base));
        std::fs::set_permissions(&f.base, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(dirs(&f).open(&p).is_ok(), "a sticky parent (like /tmp) is fine");
        // The owner seam: a fake non-root owner for the file only.
        let real = |fd: &OwnedFd| {
            let st = rustix::fs::fstat(fd).map_err(errno)?;
            Ok(Owner { uid: st.st_uid, mode: st.st_mode })
        };
        let fake = |fd: &OwnedFd| {
            let o = real(fd)?;
            Ok(if o.mode & S_IFMT == S_IFREG { Owner { uid: 1000, ..o } } else { o })
        };
        assert_eq!(dirs(&f).open_with(&p, &fake).unwrap_err(), PalPathError::NotRootOwned { uid: 1000 });
        // A missing allowed directory is reported as such.
        let gone = PalDirs::new([f.base.join("nope")]).unwrap();
        assert!(matches!(gone.open(&f.base.join("nope/libpal.so")), Err(PalPathError::DirUnavailable { .. })));
        assert!(matches!(PalDirs::new([PathBuf::from("rel")]), Err(PalPathError::RelativeDir { .. })));
    }
}
