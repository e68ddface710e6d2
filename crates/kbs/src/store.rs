//! Storage behind one trait: resources, policies and reference values. The default backend is redb
//! (copy-on-write B-trees, fsync on commit), so an acknowledged write survives `kill -9`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use redb::{Database, ReadableTable, TableDefinition};

use crate::Error;

/// Logical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Resources,
    Policies,
    ReferenceValues,
}

impl Table {
    fn def(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Table::Resources => TableDefinition::new("resources"),
            Table::Policies => TableDefinition::new("policies"),
            Table::ReferenceValues => TableDefinition::new("reference_values"),
        }
    }
}

/// A key-value backend. `put` returns only once the value is durable.
pub trait Backend: Send + Sync {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, Error>;
    fn put(&self, table: Table, key: &str, value: &[u8]) -> Result<(), Error>;
    /// True if something was deleted.
    fn delete(&self, table: Table, key: &str) -> Result<bool, Error>;
    fn list(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>, Error>;
}

fn se(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

/// redb file backend.
pub struct RedbStore {
    db: Database,
}

impl RedbStore {
    /// Opens or creates the store file with mode 0600 (tightened if it was looser): it holds the
    /// resources in plaintext. The directory is the caller's ([`crate::private_fs::prepare_dir`]).
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = crate::private_fs::open_private(path)?;
        let db =
            redb::Builder::new().create_file(file).map_err(|e| Error::Storage(format!("{}: {e}", path.display())))?;
        let tx = db.begin_write().map_err(se)?;
        for t in [Table::Resources, Table::Policies, Table::ReferenceValues] {
            tx.open_table(t.def()).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(RedbStore { db })
    }

    /// Runs redb's consistency check (used by the crash test).
    pub fn check_integrity(path: &Path) -> Result<bool, Error> {
        let mut db = redb::Builder::new().create_file(crate::private_fs::open_private(path)?).map_err(se)?;
        db.check_integrity().map_err(se)
    }
}

impl Backend for RedbStore {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(table.def()).map_err(se)?;
        Ok(t.get(key).map_err(se)?.map(|v| v.value().to_vec()))
    }

    fn put(&self, table: Table, key: &str, value: &[u8]) -> Result<(), Error> {
        let tx = self.db.begin_write().map_err(se)?;
        {
            let mut t = tx.open_table(table.def()).map_err(se)?;
            t.insert(key, value).map_err(se)?;
        }
        tx.commit().map_err(se)
    }

    fn delete(&self, table: Table, key: &str) -> Result<bool, Error> {
        let tx = self.db.begin_write().map_err(se)?;
        let existed = {
            let mut t = tx.open_table(table.def()).map_err(se)?;
            let r = t.remove(key).map_err(se)?.is_some();
            r
        };
        tx.commit().map_err(se)?;
        Ok(existed)
    }

    fn list(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(table.def()).map_err(se)?;
        let mut out = Vec::new();
        for r in t.iter().map_err(se)? {
            let (k, v) = r.map_err(se)?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// In-memory backend (tests, `--as-only` without a data dir).
#[derive(Default)]
pub struct MemoryStore(Mutex<BTreeMap<(Table, String), Vec<u8>>>);

impl MemoryStore {
    fn m(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Table, String), Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for MemoryStore {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.m().get(&(table, key.to_string())).cloned())
    }
    fn put(&self, table: Table, key: &str, value: &[u8]) -> Result<(), Error> {
        self.m().insert((table, key.to_string()), value.to_vec());
        Ok(())
    }
    fn delete(&self, table: Table, key: &str) -> Result<bool, Error> {
        Ok(self.m().remove(&(table, key.to_string())).is_some())
    }
    fn list(&self, table: Table) -> Result<Vec<(String, Vec<u8>)>, Error> {
        Ok(self.m().iter().filter(|((t, _), _)| *t == table).map(|((_, k), v)| (k.clone(), v.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(b: &dyn Backend) {
        assert_eq!(b.get(Table::Resources, "a/b/c").unwrap(), None);
        b.put(Table::Resources, "a/b/c", b"v1").unwrap();
        b.put(Table::Policies, "a/b/c", b"p").unwrap();
        assert_eq!(b.get(Table::Resources, "a/b/c").unwrap(), Some(b"v1".to_vec()));
        assert_eq!(b.list(Table::Resources).unwrap().len(), 1);
        assert!(b.delete(Table::Resources, "a/b/c").unwrap());
        assert!(!b.delete(Table::Resources, "a/b/c").unwrap());
        assert_eq!(b.get(Table::Policies, "a/b/c").unwrap(), Some(b"p".to_vec()));
    }

    #[test]
    fn backends_behave_alike() {
        exercise(&MemoryStore::default());
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kbs.redb");
        exercise(&RedbStore::open(&p).unwrap());
        // reopen: data persisted
        let s = RedbStore::open(&p).unwrap();
        assert_eq!(s.get(Table::Policies, "a/b/c").unwrap(), Some(b"p".to_vec()));
    }
}
