//! Secrets at rest (issue 13, item 6): the data dir holds `kbs.redb` (resources in plaintext) and
//! the generated TLS private key, so the directory is 0700 and every file the KBS creates there is
//! 0600. Modes are set explicitly with `chmod`/`fchmod` after creation, so the result does not
//! depend on the umask the KBS was started with.
//!
//! An existing data dir is checked rather than trusted:
//! - not a directory, or owned by another user: refused (that user can read or replace the secrets
//!   whatever the mode);
//! - writable by group or others: refused, because files in it may have been planted or swapped (a
//!   TLS key someone else knows) and tightening the mode now would not undo that;
//! - readable or searchable by group or others only: tightened to 0700, and the caller is told the
//!   old mode so it can say so.
//!
//! Files the KBS opens in the data dir are tightened to 0600 if they were looser.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::Error;

/// Mode of the data dir.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the KBS writes in it.
pub const FILE_MODE: u32 = 0o600;

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{}: {e}", path.display()))
}

/// The effective uid of this process (Linux: the second field of `Uid:` in /proc/self/status).
pub fn effective_uid() -> Result<u32, Error> {
    let p = Path::new("/proc/self/status");
    let s = fs::read_to_string(p).map_err(|e| io(p, e))?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Storage("/proc/self/status has no effective uid".into()))
}

/// Creates `dir` (and missing parents) with mode 0700, or checks an existing one (see the module
/// docs). Returns the previous mode when an existing directory was tightened.
pub fn prepare_dir(dir: &Path) -> Result<Option<u32>, Error> {
    let path = dir.display().to_string();
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir).map_err(|e| io(dir, e))?;
            fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(|e| io(dir, e))?;
            Ok(None)
        }
        Err(e) => Err(io(dir, e)),
        Ok(m) => {
            if !m.is_dir() {
                return Err(Error::DataDirNotADirectory { path });
            }
            let uid = effective_uid()?;
            if m.uid() != uid {
                return Err(Error::DataDirNotOwned { path, owner: m.uid(), uid });
            }
            let mode = m.mode() & 0o7777;
            if mode & 0o022 != 0 {
                return Err(Error::DataDirWritableByOthers { path, mode });
            }
            if mode & 0o077 != 0 {
                fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(|e| io(dir, e))?;
                return Ok(Some(mode));
            }
            Ok(None)
        }
    }
}

/// Opens (creating if missing) a read-write file with mode 0600; an existing file with a looser
/// mode is tightened through the open descriptor.
pub fn open_private(path: &Path) -> Result<File, Error> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| io(path, e))?;
    tighten(&f, path)?;
    Ok(f)
}

/// Writes `data` to `path` (replacing it) with mode 0600, whatever the umask.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| io(path, e))?;
    tighten(&f, path)?;
    f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| io(path, e))
}

/// Tightens an existing file of ours to 0600 (no-op when it already is).
pub fn tighten_path(path: &Path) -> Result<(), Error> {
    let f = File::open(path).map_err(|e| io(path, e))?;
    tighten(&f, path)
}

fn tighten(f: &File, path: &Path) -> Result<(), Error> {
    let mode = f.metadata().map_err(|e| io(path, e))?.mode() & 0o7777;
    if mode != FILE_MODE {
        f.set_permissions(Permissions::from_mode(FILE_MODE)).map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// The mode of a file the operator supplied, if group or others may read or write it (for a
/// warning; such files are not ours to chmod).
pub fn loose_mode(path: &Path) -> Option<u32> {
    let mode = fs::metadata(path).ok()?.mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    /// Item 6: a new data dir is 0700; an existing one readable by others is tightened (and the
    /// old mode reported); one writable by others or not a directory is refused.
    #[test]
    fn data_dir_is_private_or_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b/kbs-data");
        assert_eq!(prepare_dir(&d).unwrap(), None);
        assert_eq!(mode(&d), 0o700);
        fs::set_permissions(&d, Permissions::from_mode(0o755)).unwrap();
        assert_eq!(prepare_dir(&d).unwrap(), Some(0o755));
        assert_eq!(mode(&d), 0o700);
        fs::set_permissions(&d, Permissions::from_mode(0o775)).unwrap();
        assert_eq!(prepare_dir(&d), Err(Error::DataDirWritableByOthers { path: d.display().to_string(), mode: 0o775 }));
        fs::set_permissions(&d, Permissions::from_mode(0o1777)).unwrap();
        assert!(matches!(prepare_dir(&d), Err(Error::DataDirWritableByOthers { mode: 0o1777, .. })));
        let f = t.path().join("file");
        fs::write(&f, b"x").unwrap();
        assert_eq!(prepare_dir(&f), Err(Error::DataDirNotADirectory { path: f.display().to_string() }));
        // files: created 0600, tightened when looser
        let k = t.path().join("k");
        write_private(&k, b"secret").unwrap();
        assert_eq!(mode(&k), 0o600);
        fs::set_permissions(&k, Permissions::from_mode(0o644)).unwrap();
        drop(open_private(&k).unwrap());
        assert_eq!(mode(&k), 0o600);
        assert_eq!(loose_mode(&f), Some(mode(&f)).filter(|m| m & 0o077 != 0));
        assert!(effective_uid().is_ok());
    }
}
