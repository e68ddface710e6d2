//! Keys by id in an embedded redb database. The keys are stored in clear: the file is created
//! `0600` and a missing directory `0700` (as runc's state root), and an existing file readable by
//! others is tightened to `0600` when opened.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use crate::Error;

const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");

pub struct KeyStore {
    db: Database,
}

fn store<E: std::fmt::Display>(e: E) -> Error {
    Error::Store(e.to_string())
}

impl KeyStore {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let io = |what: &str, p: &Path, e: std::io::Error| Error::Store(format!("{what} {}: {e}", p.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| io("creating", dir, e))?;
            }
        }
        // Create the file ourselves (redb would use the umask's 0644), or tighten an existing one.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| io("opening", path, e))?;
        let m = f.metadata().map_err(|e| io("reading", path, e))?;
        if m.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| io("restricting", path, e))?;
        }
        drop(f);
        let db = Database::create(path).map_err(store)?;
        let w = db.begin_write().map_err(store)?;
        w.open_table(KEYS).map_err(store)?;
        w.commit().map_err(store)?;
        Ok(KeyStore { db })
    }

    pub fn put(&self, kid: &str, key: &[u8]) -> Result<(), Error> {
        let w = self.db.begin_write().map_err(store)?;
        {
            let mut t = w.open_table(KEYS).map_err(store)?;
            t.insert(kid, key).map_err(store)?;
        }
        w.commit().map_err(store)
    }

    pub fn get(&self, kid: &str) -> Result<Vec<u8>, Error> {
        let r = self.db.begin_read().map_err(store)?;
        let t = r.open_table(KEYS).map_err(store)?;
        let v = t.get(kid).map_err(store)?.ok_or_else(|| Error::UnknownKey(kid.to_string()))?;
        Ok(v.value().to_vec())
    }

    pub fn delete(&self, kid: &str) -> Result<bool, Error> {
        let w = self.db.begin_write().map_err(store)?;
        let existed = {
            let mut t = w.open_table(KEYS).map_err(store)?;
            let removed = t.remove(kid).map_err(store)?;
            removed.is_some()
        };
        w.commit().map_err(store)?;
        Ok(existed)
    }

    pub fn list(&self) -> Result<Vec<String>, Error> {
        let r = self.db.begin_read().map_err(store)?;
        let t = r.open_table(KEYS).map_err(store)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(store)? {
            let (k, _) = item.map_err(store)?;
            out.push(k.value().to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn key_store_dir_0700_file_0600() {
        let base = std::env::temp_dir().join(format!("eaa-ks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let path = base.join("verdictd").join("keys.redb");
        let s = KeyStore::open(&path).unwrap();
        s.put("k", &[1u8; 32]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
        drop(s);
        // an existing store left readable by others is tightened on open
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = KeyStore::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(s.get("k").unwrap(), vec![1u8; 32]);
        drop(s);
        let _ = std::fs::remove_dir_all(&base);
    }
}
