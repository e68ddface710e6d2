#![allow(clippy::unwrap_used)]
//! Staged DCAP verification (`tee::dcap::staged`): collateral and PCK-chain signatures come from a
//! cache of signatures that verified; the cache never answers for other bytes, never skips a time
//! check, and a warm store rejects every corruption exactly as the one-shot (cold) path does.
mod common;

use base64::Engine;
use common::*;
use tee::dcap::{CollateralStore, SigCache};
use tee::{Error, Expected, Tee};

fn none() -> Expected<'static> {
    Expected::unbound(tee::danger::SkipReportDataCheck)
}

/// A store with the SGX and TDX v4 collateral whose cache is already warm.
fn warm() -> CollateralStore {
    let s = CollateralStore::new();
    s.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    s.insert_json(Tee::Tdx, &read("dcap/tdx_v4_collateral.json")).unwrap();
    tee::sgx::verify_raw_quote(&read("dcap/sgx_quote_v3.bin"), &none(), &s, T_2025_06_25).unwrap();
    tee::tdx::verify_raw_quote(&read("dcap/tdx_quote_v4.bin"), &none(), &s, T_2025_06_25).unwrap();
    assert!(!s.sig_cache().unwrap().is_empty());
    s
}

fn cold() -> CollateralStore {
    let s = CollateralStore::new().without_sig_cache();
    s.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    s.insert_json(Tee::Tdx, &read("dcap/tdx_v4_collateral.json")).unwrap();
    s
}

fn sgx(q: &[u8], s: &CollateralStore, at: u64) -> Result<tee::Claims, Error> {
    tee::sgx::verify_raw_quote(q, &none(), s, at)
}

fn tdx(q: &[u8], s: &CollateralStore, at: u64) -> Result<tee::Claims, Error> {
    tee::tdx::verify_raw_quote(q, &none(), s, at)
}

/// Collateral JSON with one field changed.
fn edited(rel: &str, field: &str, f: impl FnOnce(&str) -> String) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&read(rel)).unwrap();
    let old = v[field].as_str().unwrap().to_string();
    let new = f(&old);
    assert_ne!(old, new, "{field} unchanged");
    v[field] = serde_json::Value::String(new);
    serde_json::to_vec(&v).unwrap()
}

/// Flips the lowest bit of the hex digit at `at` (counted from the end when negative).
fn flip_hex(s: &str, at: isize) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = if at < 0 { (b.len() as isize + at) as usize } else { at as usize };
    let d = u8::from_str_radix(std::str::from_utf8(&b[i..i + 1]).unwrap(), 16).unwrap() ^ 1;
    b[i] = format!("{d:x}").as_bytes()[0];
    String::from_utf8(b).unwrap()
}

#[test]
fn warm_claims_equal_cold_claims_and_the_cache_is_used() {
    let q = read("dcap/sgx_quote_v3.bin");
    let s = CollateralStore::new();
    s.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    // First call: every collateral / chain signature verified and recorded, none from the cache.
    let (hits, fresh) = tee::dcap::staged_stats_for(Tee::Sgx, &q, &s, T_2025_06_25).unwrap();
    assert_eq!(hits, 0);
    assert!(fresh >= 5, "root CRL, PCK CRL, TCB signer cert, TCB info, QE identity, PCK chain: {fresh}");
    // Second call: all of them from the cache (the quote's own signatures are never counted: they
    // are always verified).
    let (hits2, fresh2) = tee::dcap::staged_stats_for(Tee::Sgx, &q, &s, T_2025_06_25).unwrap();
    assert_eq!((hits2, fresh2), (fresh, 0));
    assert_eq!(sgx(&q, &s, T_2025_06_25).unwrap(), sgx(&q, &cold(), T_2025_06_25).unwrap());
    let t = read("dcap/tdx_quote_v4.bin");
    let w = warm();
    assert_eq!(tdx(&t, &w, T_2025_06_25).unwrap(), tdx(&t, &cold(), T_2025_06_25).unwrap());
}

#[test]
fn quote_signatures_are_never_taken_from_the_cache() {
    let w = warm();
    let q = read("dcap/sgx_quote_v3.bin");
    // Quote body signature (after header 48 + body 384 + length 4), signed body, QE report
    // signature (after signature 64 + attestation key 64 + QE report 384).
    for at in [436 + 5, 48 + 64, 436 + 128 + 384 + 3] {
        let mut m = q.clone();
        m[at] ^= 1;
        let r = sgx(&m, &w, T_2025_06_25);
        assert!(matches!(r, Err(Error::BadSignature { .. })), "offset {at}: {r:?}");
        assert_eq!(r, sgx(&m, &cold(), T_2025_06_25), "offset {at}");
    }
    // Attestation key (binding to the QE report data): the quote signature no longer verifies
    // under it either, and the warm path reports what the cold one does.
    let mut m = q.clone();
    m[436 + 64 + 10] ^= 1;
    let r = sgx(&m, &w, T_2025_06_25);
    assert!(matches!(r, Err(Error::BadSignature { .. })), "{r:?}");
    assert_eq!(r, sgx(&m, &cold(), T_2025_06_25));
    let t = read("dcap/tdx_quote_v4.bin");
    let mut m = t.clone();
    m[636 + 7] ^= 1;
    assert!(matches!(tdx(&m, &w, T_2025_06_25), Err(Error::BadSignature { .. })));
}

#[test]
fn a_cached_entry_is_never_used_for_different_collateral() {
    let q = read("dcap/sgx_quote_v3.bin");
    let rel = "dcap/sgx_collateral.json";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "tcb_info content",
            edited(rel, "tcb_info", |s| s.replacen("\"ConfigurationAndSWHardeningNeeded\"", "\"UpToDate\"", 1)),
        ),
        ("tcb_info signature", edited(rel, "tcb_info_signature", |s| flip_hex(s, 3))),
        ("qe_identity content", edited(rel, "qe_identity", |s| s.replacen("\"isvprodid\":1", "\"isvprodid\":3", 1))),
        ("qe_identity signature", edited(rel, "qe_identity_signature", |s| flip_hex(s, -3))),
        ("pck_crl signature", edited(rel, "pck_crl", |s| flip_hex(s, -3))),
        ("root_ca_crl signature", edited(rel, "root_ca_crl", |s| flip_hex(s, -3))),
    ];
    for (what, json) in cases {
        let w = warm();
        w.insert_json(Tee::Sgx, &json).unwrap(); // replaces the good collateral (same FMSPC)
        let c = CollateralStore::new().without_sig_cache();
        c.insert_json(Tee::Sgx, &json).unwrap();
        let want = sgx(&q, &c, T_2025_06_25);
        let got = sgx(&q, &w, T_2025_06_25);
        assert!(got.is_err(), "{what}: accepted with a warm cache");
        assert_eq!(got, want, "{what}: warm and cold paths disagree");
        assert!(
            matches!(got, Err(Error::CollateralInvalid { .. }) | Err(Error::UntrustedChain { .. })),
            "{what}: {got:?}"
        );
        // And the good collateral still verifies from the same cache afterwards.
        w.insert_json(Tee::Sgx, &read(rel)).unwrap();
        sgx(&q, &w, T_2025_06_25).unwrap();
    }
}

/// Replaces the first certificate of the PEM chain inside the quote with `f(DER)`, keeping the
/// PEM the same length (64-character lines, same DER length).
fn edit_pck_leaf(q: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let begin = b"-----BEGIN CERTIFICATE-----\n";
    let start = q.windows(begin.len()).position(|w| w == begin).unwrap() + begin.len();
    let end = start + q[start..].windows(5).position(|w| w == b"-----").unwrap();
    let body: Vec<u8> = q[start..end].iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut der = b64.decode(&body).unwrap();
    f(&mut der);
    let enc = b64.encode(&der);
    let mut pem = Vec::new();
    for chunk in enc.as_bytes().chunks(64) {
        pem.extend_from_slice(chunk);
        pem.push(b'\n');
    }
    assert_eq!(pem.len(), end - start, "PEM layout not reproduced");
    let mut out = q.to_vec();
    out[start..end].copy_from_slice(&pem);
    out
}

#[test]
fn a_cached_entry_is_never_used_for_a_different_pck_chain() {
    let w = warm();
    for tee_rel in ["dcap/sgx_quote_v3.bin", "dcap/tdx_quote_v4.bin"] {
        let q = read(tee_rel);
        // Last byte of the leaf's signature (the PCK CA's signature over the leaf).
        let m = edit_pck_leaf(&q, |der| {
            let n = der.len();
            der[n - 1] ^= 1;
        });
        let (got, want) = if tee_rel.contains("sgx") {
            (sgx(&m, &w, T_2025_06_25), sgx(&m, &cold(), T_2025_06_25))
        } else {
            (tdx(&m, &w, T_2025_06_25), tdx(&m, &cold(), T_2025_06_25))
        };
        assert!(matches!(got, Err(Error::UntrustedChain { .. })), "{tee_rel}: {got:?}");
        assert_eq!(got, want, "{tee_rel}");
    }
}

#[test]
fn expiry_applies_with_a_warm_cache() {
    let w = warm();
    let q = read("dcap/sgx_quote_v3.bin");
    let t = read("dcap/tdx_quote_v4.bin");
    // After nextUpdate of TCB info / QE identity.
    for at in [T_2025_08_01, 1_900_000_000] {
        let r = sgx(&q, &w, at);
        assert!(matches!(r, Err(Error::CollateralExpired { .. })), "{r:?}");
        assert_eq!(r, sgx(&q, &cold(), at));
        assert!(matches!(tdx(&t, &w, at), Err(Error::CollateralExpired { .. })));
    }
    // Before the collateral was issued (2025-01-01).
    let r = sgx(&q, &w, 1_735_689_600);
    assert!(matches!(r, Err(Error::CollateralExpired { .. })), "{r:?}");
    assert_eq!(r, sgx(&q, &cold(), 1_735_689_600));
    // Back inside the window, the same warm store accepts again.
    sgx(&q, &w, T_2025_06_25).unwrap();
}

#[test]
fn a_warm_cache_does_not_change_the_trusted_root() {
    // Same collateral, other root: the CRL / chain checks against the root run on every call and
    // each store has its own cache.
    let _ = warm();
    let wrong = CollateralStore::with_root(read("dcap/other_root_ca.der"));
    wrong.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    let r = sgx(&read("dcap/sgx_quote_v3.bin"), &wrong, T_2025_06_25);
    assert!(matches!(r, Err(Error::UntrustedChain { .. })), "{r:?}");
}

#[test]
fn cache_key_covers_key_message_and_signature() {
    let k = SigCache::key(b"pk", b"msg", b"sig");
    assert_ne!(k, SigCache::key(b"pk", b"msg", b"sih"));
    assert_ne!(k, SigCache::key(b"pk", b"msh", b"sig"));
    assert_ne!(k, SigCache::key(b"pl", b"msg", b"sig"));
    // Length prefixes: moving bytes between fields changes the key.
    assert_ne!(k, SigCache::key(b"pkm", b"sg", b"sig"));
    assert_eq!(k, SigCache::key(b"pk", b"msg", b"sig"));
}
