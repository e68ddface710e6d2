//! Keys by id in an embedded redb database.

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
