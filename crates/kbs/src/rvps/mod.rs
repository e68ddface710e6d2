//! Reference Value Provider Service: reference values registered through extractors (`sample`,
//! `in-toto`), stored durably, and queried by name (also from attestation policies).

pub mod intoto;
pub mod sample;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kbs_protocol::types::RvpsMessage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use tee::clock::Clock;

use crate::rfc3339::{format_rfc3339, parse_rfc3339};
use crate::store::{Backend, Table};
use crate::Error;

/// A stored reference value (trustee shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReferenceValue {
    pub version: String,
    pub name: String,
    pub expiration: String,
    pub value: Vec<Value>,
}

/// Default lifetime of a registered value: one year.
pub const DEFAULT_LIFETIME_SECS: i64 = 365 * 86400;

pub struct Rvps {
    store: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    cache: RwLock<HashMap<String, ReferenceValue>>,
    /// When non-empty, in-toto layouts must be signed by these key ids.
    pub trusted_layout_keyids: Vec<String>,
}

impl Rvps {
    pub fn new(store: Arc<dyn Backend>, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let mut cache = HashMap::new();
        for (k, v) in store.list(Table::ReferenceValues)? {
            let rv: ReferenceValue =
                serde_json::from_slice(&v).map_err(|e| Error::Storage(format!("reference value {k}: {e}")))?;
            cache.insert(k, rv);
        }
        Ok(Rvps { store, clock, cache: RwLock::new(cache), trusted_layout_keyids: Vec::new() })
    }

    /// Registers a message; returns the names it set.
    pub fn register(&self, msg: &RvpsMessage) -> Result<Vec<String>, Error> {
        if msg.version != "0.1.0" {
            return Err(Error::Rvps(format!("message version {:?} (expected 0.1.0)", msg.version)));
        }
        let now = self.clock.now_unix() as i64;
        let values = match msg.kind.as_str() {
            "sample" => sample::extract(&msg.payload)?,
            "in-toto" => intoto::extract(&msg.payload, now, &self.trusted_layout_keyids)?,
            other => return Err(Error::Rvps(format!("no extractor for type {other:?} (have sample, in-toto)"))),
        };
        let expiration = format_rfc3339(now + DEFAULT_LIFETIME_SECS);
        let mut names = Vec::new();
        for (name, value) in values {
            let rv =
                ReferenceValue { version: "0.1.0".into(), name: name.clone(), expiration: expiration.clone(), value };
            let bytes = serde_json::to_vec(&rv).map_err(|e| Error::Storage(e.to_string()))?;
            self.store.put(Table::ReferenceValues, &name, &bytes)?;
            self.cache.write().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), rv);
            names.push(name);
        }
        Ok(names)
    }

    /// Values registered under `name` that have not expired.
    pub fn query(&self, name: &str) -> Vec<Value> {
        let now = self.clock.now_unix() as i64;
        let c = self.cache.read().unwrap_or_else(|p| p.into_inner());
        match c.get(name) {
            Some(rv) if parse_rfc3339(&rv.expiration).is_some_and(|e| e > now) => rv.value.clone(),
            _ => Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<ReferenceValue> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }
}
