//! DCAP collateral (TCB info, QE identity, CRLs and their issuer chains) loaded from files and cached
//! in memory under an explicit key.
//!
//! File format: the JSON form of `dcap_qvl::QuoteCollateralV3` (what dcap-qvl's PCCS client and
//! `dcap-qvl` CLI write), one platform (FMSPC) and kind (SGX or TDX) per file. The key is read from
//! the collateral itself (`tcb_info.id`, `tcb_info.fmspc`), never from the file name.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use dcap_qvl::QuoteCollateralV3;

use crate::{Error, Tee};

/// SGX enclave quote or TDX TD quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuoteKind {
    Sgx,
    Tdx,
}

/// Cache key: which TCB info applies to a quote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollateralKey {
    pub kind: QuoteKind,
    /// Upper-case hex, as in Intel's TCB info.
    pub fmspc: String,
}

impl fmt::Display for CollateralKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = match self.kind {
            QuoteKind::Sgx => "sgx",
            QuoteKind::Tdx => "tdx",
        };
        write!(f, "{k}/fmspc={}", self.fmspc)
    }
}

/// One platform's collateral, parsed once.
#[derive(Debug, Clone)]
pub struct Collateral {
    key: CollateralKey,
    inner: QuoteCollateralV3,
}

impl Collateral {
    /// Parses collateral JSON and derives its key. Signatures are checked at verification time
    /// (with the verification time), not here.
    pub fn from_json(tee: Tee, json: &[u8]) -> Result<Self, Error> {
        let inner: QuoteCollateralV3 = serde_json::from_slice(json)
            .map_err(|e| Error::CollateralInvalid { tee, reason: format!("collateral JSON: {e}") })?;
        let tcb: serde_json::Value = serde_json::from_str(&inner.tcb_info)
            .map_err(|e| Error::CollateralInvalid { tee, reason: format!("tcb_info JSON: {e}") })?;
        let tcb = tcb.get("tcbInfo").unwrap_or(&tcb);
        let id = tcb.get("id").and_then(|v| v.as_str()).unwrap_or("SGX");
        let kind = match id {
            "SGX" => QuoteKind::Sgx,
            "TDX" => QuoteKind::Tdx,
            other => return Err(Error::CollateralInvalid { tee, reason: format!("tcb_info id {other:?}") }),
        };
        let fmspc = tcb
            .get("fmspc")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::CollateralInvalid { tee, reason: "tcb_info has no fmspc".into() })?
            .to_ascii_uppercase();
        Ok(Collateral { key: CollateralKey { kind, fmspc }, inner })
    }

    pub fn key(&self) -> &CollateralKey {
        &self.key
    }

    pub fn inner(&self) -> &QuoteCollateralV3 {
        &self.inner
    }

    /// The window [not_before, not_after] (unix seconds) in which TCB info and QE identity are
    /// both current, from their `issueDate` / `nextUpdate`.
    pub fn validity(&self) -> Option<(u64, u64)> {
        let w = |s: &str| -> Option<(u64, u64)> {
            let v: serde_json::Value = serde_json::from_str(s).ok()?;
            let v = v.get("tcbInfo").or_else(|| v.get("enclaveIdentity")).unwrap_or(&v);
            Some((rfc3339(v.get("issueDate")?.as_str()?)?, rfc3339(v.get("nextUpdate")?.as_str()?)?))
        };
        let (a1, b1) = w(&self.inner.tcb_info)?;
        let (a2, b2) = w(&self.inner.qe_identity)?;
        Some((a1.max(a2), b1.min(b2)))
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (what Intel's collateral uses) to unix seconds.
pub fn rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d, hh, mm, ss) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Collateral cache keyed by [`CollateralKey`], plus the root CA quotes must chain to.
#[derive(Debug)]
pub struct CollateralStore {
    root_ca_der: Vec<u8>,
    map: RwLock<HashMap<CollateralKey, Arc<Collateral>>>,
    /// Verified collateral / PCK-chain signatures (`None`: every call is the full, cold path).
    sig_cache: Option<Arc<super::SigCache>>,
}

impl Default for CollateralStore {
    fn default() -> Self {
        Self::new()
    }
}

impl CollateralStore {
    /// Empty store trusting Intel's production SGX root CA.
    pub fn new() -> Self {
        Self::with_root(super::INTEL_ROOT_CA_DER.to_vec())
    }

    /// Empty store trusting another root (tests, pre-production platforms).
    pub fn with_root(root_ca_der: Vec<u8>) -> Self {
        CollateralStore {
            root_ca_der,
            map: RwLock::new(HashMap::new()),
            sig_cache: Some(Arc::new(super::SigCache::new())),
        }
    }

    /// Without the verified-signature cache: every verification re-verifies all collateral and the
    /// PCK chain (dcap-qvl's one-shot path).
    pub fn without_sig_cache(mut self) -> Self {
        self.sig_cache = None;
        self
    }

    /// The cache of collateral / PCK-chain signatures that verified (see [`super::staged`]).
    pub fn sig_cache(&self) -> Option<Arc<super::SigCache>> {
        self.sig_cache.clone()
    }

    pub fn root_ca_der(&self) -> &[u8] {
        &self.root_ca_der
    }

    /// Adds (or replaces) collateral; returns its key.
    pub fn insert(&self, c: Collateral) -> CollateralKey {
        let k = c.key.clone();
        if let Ok(mut m) = self.map.write() {
            m.insert(k.clone(), Arc::new(c));
        }
        k
    }

    pub fn insert_json(&self, tee: Tee, json: &[u8]) -> Result<CollateralKey, Error> {
        Ok(self.insert(Collateral::from_json(tee, json)?))
    }

    /// Loads every `*.json` file of `dir` (or the single file `dir`) as collateral.
    pub fn load_path(&self, tee: Tee, path: &Path) -> Result<Vec<CollateralKey>, Error> {
        let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
        let mut keys = Vec::new();
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for f in files {
                let bytes = std::fs::read(&f).map_err(|e| Error::Io(format!("{}: {e}", f.display())))?;
                // Files that are not collateral (e.g. expectations) are skipped, not fatal.
                match Collateral::from_json(tee, &bytes) {
                    Ok(c) => {
                        let key = self.insert(c);
                        tracing::debug!(file = %f.display(), %key, "DCAP collateral loaded");
                        keys.push(key);
                    }
                    Err(e) => tracing::debug!(file = %f.display(), error = %e, "not DCAP collateral, skipped"),
                }
            }
        } else {
            let bytes = std::fs::read(path).map_err(io)?;
            keys.push(self.insert_json(tee, &bytes)?);
        }
        Ok(keys)
    }

    pub fn get(&self, key: &CollateralKey) -> Option<Arc<Collateral>> {
        self.map.read().ok()?.get(key).cloned()
    }

    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops everything, verified signatures included (cold-cache benchmarks).
    pub fn clear(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
        if let Some(c) = &self.sig_cache {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_epoch() {
        assert_eq!(super::rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(super::rfc3339("2025-06-19T10:16:03Z"), Some(1_750_328_163));
        assert_eq!(super::rfc3339("garbage"), None);
    }
}
