#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! TPM quotes built here and signed with a test AK (tests/data/tee/tpm/test-ak-key.der, see
//! SOURCES.md): which PCRs a quote covers (issue 13 item 1), AK endorsement (item 5) and evidence
//! size limits.
mod common;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use sha2::{Digest, Sha256};
use tee::{Error, Expected, Tee, Verifier};

const NONCE: &[u8; 32] = b"nonce-bound-into-the-tpm-quote!!";

/// A TPMS_ATTEST quote over the SHA-256 PCRs in `selected`, whose values are `pcrs[i]`.
fn attest(selected: &[u32], pcrs: &[Vec<u8>], extra: &[u8]) -> Vec<u8> {
    attest_with(selected, pcrs, extra, 3)
}

/// The same with a `select_bytes`-byte selection bitmap.
fn attest_with(selected: &[u32], pcrs: &[Vec<u8>], extra: &[u8], select_bytes: usize) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&0xff54_4347u32.to_be_bytes());
    m.extend_from_slice(&0x8018u16.to_be_bytes());
    m.extend_from_slice(&4u16.to_be_bytes());
    m.extend_from_slice(&[0, 0x0b, 1, 2]); // qualifiedSigner (any name)
    m.extend_from_slice(&(extra.len() as u16).to_be_bytes());
    m.extend_from_slice(extra);
    m.extend_from_slice(&1234u64.to_be_bytes()); // clock
    m.extend_from_slice(&1u32.to_be_bytes()); // resetCount
    m.extend_from_slice(&0u32.to_be_bytes()); // restartCount
    m.push(1); // safe
    m.extend_from_slice(&0x2023_0101u64.to_be_bytes()); // firmwareVersion
    m.extend_from_slice(&1u32.to_be_bytes()); // one selection
    m.extend_from_slice(&0x000bu16.to_be_bytes()); // SHA-256 bank
    m.push(select_bytes as u8);
    let mut bits = vec![0u8; select_bytes];
    for i in selected {
        bits[(*i / 8) as usize] |= 1 << (i % 8);
    }
    m.extend_from_slice(&bits);
    let mut h = Sha256::new();
    for i in selected {
        h.update(pcrs.get(*i as usize).map(|v| v.as_slice()).unwrap_or(&[0; 32]));
    }
    m.extend_from_slice(&32u16.to_be_bytes());
    m.extend_from_slice(&h.finalize());
    m
}

fn sign(msg: &[u8]) -> Vec<u8> {
    let key = ring::signature::RsaKeyPair::from_der(&read("tpm/test-ak-key.der")).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), msg, &mut sig).unwrap();
    sig
}

/// 24 distinct PCR values; PCR 8 holds the init-data binding of `init_digest()`.
fn pcr_values() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = (0..24u8).map(|i| vec![i + 1; 32]).collect();
    let mut input = [0u8; 64];
    input[32..].copy_from_slice(&init_digest());
    v[8] = Sha256::digest(input).to_vec();
    v
}

fn init_digest() -> [u8; 32] {
    Sha256::digest(b"init-data toml").into()
}

/// Trustee-shaped `tpm` evidence: a quote over `selected`, `supplied` PCR values handed in.
fn evidence(selected: &[u32], supplied: usize) -> serde_json::Value {
    let pcrs = pcr_values();
    let msg = attest(selected, &pcrs, NONCE);
    serde_json::json!({
        "ak_public": B64.encode(read("tpm/test-ak-spki.der")),
        "tpm_quote": {
            "signature": B64.encode(sign(&msg)),
            "message": B64.encode(&msg),
            "pcrs": pcrs[..supplied].iter().map(hex::encode).collect::<Vec<_>>(),
        }
    })
}

fn bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Inside the validity of the test certificates (2026-12-07 .. 2045).
const T: u64 = 1_811_808_000;

fn clock() -> Arc<dyn tee::clock::Clock> {
    Arc::new(tee::clock::FixedClock(T))
}

/// The PCR tests use the opt-in for unendorsed AKs; endorsement has its own tests below.
fn verifier() -> tee::tpm::TpmVerifier {
    tee::tpm::TpmVerifier::new(Vec::new(), clock()).accept_unendorsed(tee::danger::AcceptUnendorsedTpm)
}

fn rd(b: &[u8]) -> Expected<'_> {
    Expected::new(b)
}

/// Issue 13 item 1: a quote signed over PCR 0 only, with all 24 PCRs supplied. PCRs 1-23 (among
/// them PCR 8, the init-data binding) are covered by no signature: the evidence is refused, and
/// never reported as claims.
#[test]
fn tpm_unselected_pcrs_not_claimed() {
    let ev = bytes(&evidence(&[0], 24));
    let init = init_digest();
    let exp = Expected::new(NONCE).with_init_data(Some(&init));
    assert_eq!(verifier().verify(&ev, &exp), Err(Error::UnquotedPcr { tee: Tee::Tpm, pcr: 1 }));
    assert_eq!(verifier().verify(&ev, &rd(NONCE)), Err(Error::UnquotedPcr { tee: Tee::Tpm, pcr: 1 }));
    // Only the quoted PCR supplied: accepted, and the claims hold exactly PCR 0.
    let c = verifier().verify(&bytes(&evidence(&[0], 1)), &rd(NONCE)).unwrap();
    let pcrs: Vec<&String> = c.fields.keys().filter(|k| k.starts_with("pcr")).collect();
    assert_eq!(pcrs, ["pcr00"]);
    assert_eq!(c.init_data, None);
    // A gap: a quote over {0, 2} needs a filler for PCR 1, which no signature covers.
    assert_eq!(
        verifier().verify(&bytes(&evidence(&[0, 2], 3)), &rd(NONCE)),
        Err(Error::UnquotedPcr { tee: Tee::Tpm, pcr: 1 })
    );
}

/// Init data is bound by PCR 8 only when the quote covers PCR 8.
#[test]
fn tpm_init_data_needs_pcr8_quoted() {
    let init = init_digest();
    let exp = Expected::new(NONCE).with_init_data(Some(&init));
    // Quote over PCRs 0-7: PCR 8 is not covered.
    let r = verifier().verify(&bytes(&evidence(&[0, 1, 2, 3, 4, 5, 6, 7], 8)), &exp);
    assert_eq!(r, Err(Error::InitDataPcrNotQuoted { tee: Tee::Tpm, pcr: 8 }));
    // Over 0-8: bound, and the claim is the quoted PCR 8.
    let c = verifier().verify(&bytes(&evidence(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 9)), &exp).unwrap();
    assert_eq!(c.init_data, Some(pcr_values()[8].clone()));
    let other = [7u8; 32];
    let r = verifier()
        .verify(&bytes(&evidence(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 9)), &Expected::new(NONCE).with_init_data(Some(&other)));
    assert!(matches!(r, Err(Error::InitDataMismatch { .. })), "{r:?}");
}

/// More PCR values than a bank holds (24) are refused, naming the field.
#[test]
fn tpm_evidence_pcr_list_bounded() {
    let mut ev = evidence(&(0..24).collect::<Vec<_>>(), 24);
    ev["tpm_quote"]["pcrs"].as_array_mut().unwrap().push(hex::encode([9u8; 32]).into());
    let r = verifier().verify(&bytes(&ev), &rd(NONCE));
    assert_eq!(
        r,
        Err(Error::FieldTooLarge { tee: Tee::Tpm, field: "tpm_quote.pcrs", len: 25, max: 24, unit: "entries" })
    );
    // A selection naming PCR 24 or beyond (a 4-byte bitmap) is no real TPM's.
    let pcrs = pcr_values();
    let msg = attest_with(&[0, 24], &pcrs, NONCE, 4);
    let mut ev = evidence(&[0], 1);
    ev["tpm_quote"]["message"] = B64.encode(&msg).into();
    ev["tpm_quote"]["signature"] = B64.encode(sign(&msg)).into();
    let r = verifier().verify(&bytes(&ev), &rd(NONCE));
    assert_eq!(r, Err(Error::PcrOutOfRange { tee: Tee::Tpm, pcr: 24, max: 24 }));
}

/// Every evidence field is bounded, and the error names the field.
#[test]
fn tpm_evidence_field_sizes_bounded() {
    let base = evidence(&[0], 1);
    let cert = B64.encode(vec![0x30; 64 * 1024]);
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: [(&str, Edit); 6] = [
        ("ak_public", Box::new(|v| v["ak_public"] = B64.encode(vec![0x30; 64 * 1024]).into())),
        ("tpm_quote.message", Box::new(|v| v["tpm_quote"]["message"] = B64.encode(vec![0; 64 * 1024]).into())),
        ("tpm_quote.signature", Box::new(|v| v["tpm_quote"]["signature"] = B64.encode(vec![0; 64 * 1024]).into())),
        ("evidence", Box::new(|v| v["padding"] = "x".repeat(2 << 20).into())),
        ("ak_cert_chain[]", Box::new(move |v| v["ak_cert_chain"] = serde_json::json!([cert.clone()]))),
        ("ak_cert_chain", Box::new(|v| v["ak_cert_chain"] = serde_json::json!(vec!["MA=="; 9]))),
    ];
    for (field, f) in cases {
        let mut ev = base.clone();
        f(&mut ev);
        let r = verifier().verify(&bytes(&ev), &rd(NONCE));
        assert!(matches!(&r, Err(Error::FieldTooLarge { field: f, .. }) if *f == field), "{field}: {r:?}");
        assert!(r.unwrap_err().to_string().contains("limit"));
    }
}

/// Issue 13 item 5: the AK of plain `tpm` evidence is chained to nothing, so the hardware
/// verifier set refuses it, and so does a TPM verifier without the opt-in.
#[test]
fn tpm_unendorsed_ak_refused_by_default() {
    let set = tee::VerifierSet::all_hardware(store(), Arc::new(tee::snp::SnpContext::default()), Vec::new(), clock());
    let real = read("tpm/tpm_evidence.json");
    let nonce =
        hex::decode("a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120")
            .unwrap();
    let r = set.verify(Tee::Tpm, &real, &rd(&nonce));
    assert_eq!(r, Err(Error::VerifierNotEnabled(Tee::Tpm)));
    let r = set.verify(Tee::Tpm, &bytes(&evidence(&[0], 1)), &rd(NONCE));
    assert!(r.is_err(), "a quote by an arbitrary RSA key accepted: {r:?}");
    // A TPM verifier with roots but no opt-in: evidence without a chain is refused.
    let roots = tee::tpm::certs::roots_from_certs(Tee::Tpm, &read("tpm/test-ak-ca-root.pem")).unwrap();
    let v = tee::tpm::TpmVerifier::new(roots, clock());
    assert_eq!(v.verify(&real, &rd(&nonce)), Err(Error::UnendorsedAk { tee: Tee::Tpm }));
    assert_eq!(v.verify(&bytes(&evidence(&[0], 1)), &rd(NONCE)), Err(Error::UnendorsedAk { tee: Tee::Tpm }));
}

/// With the explicit opt-in, unendorsed evidence is accepted as what it is: not hardware.
#[test]
fn tpm_unendorsed_opt_in_is_not_hardware() {
    let set = tee::VerifierSet::all_hardware(store(), Arc::new(tee::snp::SnpContext::default()), Vec::new(), clock())
        .accept_unendorsed_tpm(tee::danger::AcceptUnendorsedTpm, Vec::new(), clock());
    let c = set.verify(Tee::Tpm, &bytes(&evidence(&[0], 1)), &rd(NONCE)).unwrap();
    assert!(!c.hardware);
    assert_eq!(c.fields["ak_endorsed"], false);
    assert_eq!(c.fields["notice"], tee::tpm::UNENDORSED_NOTICE);
}

fn pem_ders(rel: &str) -> Vec<Vec<u8>> {
    tee::tpm::certs::roots_from_certs(Tee::Tpm, &read(rel)).unwrap()
}

/// Evidence carrying the AK certificate chain (AK certificate, issuing CA).
fn endorsed_evidence(chain: &[&str]) -> Vec<u8> {
    let mut ev = evidence(&[0], 1);
    let certs: Vec<String> = chain.iter().flat_map(|f| pem_ders(f)).map(|d| B64.encode(d)).collect();
    ev["ak_cert_chain"] = serde_json::json!(certs);
    bytes(&ev)
}

const CHAIN: [&str; 2] = ["tpm/test-ak-cert.pem", "tpm/test-ak-ca-intermediate.pem"];

/// An AK certificate chain to a configured root makes the evidence hardware evidence, without
/// any opt-in.
#[test]
fn tpm_ak_chain_to_configured_root_is_hardware() {
    let v = tee::tpm::TpmVerifier::new(pem_ders("tpm/test-ak-ca-root.pem"), clock());
    let c = v.verify(&endorsed_evidence(&CHAIN), &rd(NONCE)).unwrap();
    assert!(c.hardware);
    assert_eq!(c.fields["ak_endorsed"], true);
    assert!(!c.fields.contains_key("notice"));
    let names = c.fields["ak_cert_chain"].as_array().unwrap();
    assert_eq!(names.len(), 3);
    assert!(names[0].as_str().unwrap().contains("Test TPM AK"));
    // The same with the opt-in present: still hardware (the chain decides).
    let c =
        v.accept_unendorsed(tee::danger::AcceptUnendorsedTpm).verify(&endorsed_evidence(&CHAIN), &rd(NONCE)).unwrap();
    assert!(c.hardware);
    // The root itself at the top of the carried chain is accepted too.
    let v = tee::tpm::TpmVerifier::new(pem_ders("tpm/test-ak-ca-root.pem"), clock());
    let full = ["tpm/test-ak-cert.pem", "tpm/test-ak-ca-intermediate.pem", "tpm/test-ak-ca-root.pem"];
    assert!(v.verify(&endorsed_evidence(&full), &rd(NONCE)).unwrap().hardware);
}

/// A chain that does not lead to a configured root, does not certify the AK, or is outside its
/// validity is an error, even with the opt-in (a failed chain is never "unendorsed").
#[test]
fn tpm_ak_chain_refusals() {
    let root = || pem_ders("tpm/test-ak-ca-root.pem");
    let v = tee::tpm::TpmVerifier::new(pem_ders("tpm/test-ak-ca-other-root.pem"), clock())
        .accept_unendorsed(tee::danger::AcceptUnendorsedTpm);
    let r = v.verify(&endorsed_evidence(&CHAIN), &rd(NONCE));
    assert!(matches!(r, Err(Error::UntrustedChain { tee: Tee::Tpm, .. })), "other root: {r:?}");
    // The issuing CA left out: the AK certificate is not signed by the root.
    let v = tee::tpm::TpmVerifier::new(root(), clock());
    let r = v.verify(&endorsed_evidence(&CHAIN[..1]), &rd(NONCE));
    assert!(matches!(r, Err(Error::UntrustedChain { .. })), "no intermediate: {r:?}");
    // A certificate for another key in the AK's place.
    let r = v.verify(&endorsed_evidence(&["tpm/test-ak-ca-intermediate.pem"]), &rd(NONCE));
    assert!(matches!(r, Err(Error::BindingMismatch { .. })), "other key: {r:?}");
    // Outside the validity window.
    let late = tee::tpm::TpmVerifier::new(root(), Arc::new(tee::clock::FixedClock(2_524_608_000)));
    let r = late.verify(&endorsed_evidence(&CHAIN), &rd(NONCE));
    assert!(matches!(r, Err(Error::CollateralExpired { .. })), "2050: {r:?}");
    // Chain carried but no root configured, no opt-in: unendorsed, refused.
    let none = tee::tpm::TpmVerifier::new(Vec::new(), clock());
    assert_eq!(none.verify(&endorsed_evidence(&CHAIN), &rd(NONCE)), Err(Error::UnendorsedAk { tee: Tee::Tpm }));
    // The quote must still be right: report data.
    let r = v.verify(&endorsed_evidence(&CHAIN), &rd(&[1; 32]));
    assert!(matches!(r, Err(Error::ReportDataMismatch { .. })), "{r:?}");
}
