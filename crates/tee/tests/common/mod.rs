#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
#![allow(dead_code)]
use std::path::PathBuf;
#[cfg(any(feature = "sgx", feature = "tdx"))]
use std::sync::Arc;

#[cfg(any(feature = "sgx", feature = "tdx"))]
use tee::{dcap::CollateralStore, Tee};

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tee").join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A test-data JSON file, edited by `f`, serialized again.
pub fn edit_json(rel: &str, f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&read(rel)).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// `s` (hex) with the lowest bit of byte `at` flipped.
pub fn flip_hex(s: &str, at: usize) -> String {
    let mut b = hex::decode(s).unwrap();
    b[at] ^= 1;
    hex::encode(b)
}

/// 2025-06-25T00:00:00Z: inside the SGX and TDX v4 collateral windows.
pub const T_2025_06_25: u64 = 1_750_809_600;
/// 2025-08-01T00:00:00Z: after their TCB info / QE identity nextUpdate (2025-07-19).
pub const T_2025_08_01: u64 = 1_754_006_400;
/// 2026-03-01T00:00:00Z: inside the TDX v5 collateral window.
pub const T_2026_03_01: u64 = 1_772_323_200;

#[cfg(any(feature = "sgx", feature = "tdx"))]
pub fn store() -> Arc<CollateralStore> {
    let s = CollateralStore::new();
    for f in ["dcap/sgx_collateral.json", "dcap/tdx_v4_collateral.json", "dcap/tdx_v5_collateral.json"] {
        s.insert_json(Tee::Tdx, &read(f)).unwrap();
    }
    Arc::new(s)
}
