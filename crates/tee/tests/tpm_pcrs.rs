//! TPM quotes built here and signed with a test AK (tests/data/tee/tpm/test-ak.pk8, see
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
    m.push(3);
    let mut bits = [0u8; 3];
    for i in selected {
        bits[(*i / 8) as usize] |= 1 << (i % 8);
    }
    m.extend_from_slice(&bits);
    let mut h = Sha256::new();
    for i in selected {
        h.update(&pcrs[*i as usize]);
    }
    m.extend_from_slice(&32u16.to_be_bytes());
    m.extend_from_slice(&h.finalize());
    m
}

fn sign(msg: &[u8]) -> Vec<u8> {
    let key = ring::signature::RsaKeyPair::from_pkcs8(&read("tpm/test-ak.pk8")).unwrap();
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

fn verifier() -> tee::tpm::TpmVerifier {
    tee::tpm::TpmVerifier
}

fn rd(b: &[u8]) -> Expected<'_> {
    Expected { report_data: Some(b), init_data_digest: None }
}

/// Issue 13 item 1: a quote signed over PCR 0 only, with all 24 PCRs supplied. PCRs 1-23 (among
/// them PCR 8, the init-data binding) are covered by no signature: the evidence is refused, and
/// never reported as claims.
#[test]
fn tpm_unselected_pcrs_not_claimed() {
    let ev = bytes(&evidence(&[0], 24));
    let init = init_digest();
    let exp = Expected { report_data: Some(NONCE), init_data_digest: Some(&init) };
    let r = verifier().verify(&ev, &exp);
    assert!(r.is_err(), "quote over PCR 0 with 24 PCRs supplied was accepted: {r:?}");
    // Only the quoted PCR supplied: accepted, and the claims hold exactly PCR 0.
    let c = verifier().verify(&bytes(&evidence(&[0], 1)), &rd(NONCE)).unwrap();
    let pcrs: Vec<&String> = c.fields.keys().filter(|k| k.starts_with("pcr")).collect();
    assert_eq!(pcrs, ["pcr00"]);
    assert_eq!(c.init_data, None);
}

/// Init data is bound by PCR 8 only when the quote covers PCR 8.
#[test]
fn tpm_init_data_needs_pcr8_quoted() {
    let init = init_digest();
    let exp = Expected { report_data: Some(NONCE), init_data_digest: Some(&init) };
    // Quote over PCRs 0-7: PCR 8 is not covered.
    let r = verifier().verify(&bytes(&evidence(&[0, 1, 2, 3, 4, 5, 6, 7], 8)), &exp);
    assert!(r.is_err(), "{r:?}");
    // Over 0-8: bound, and the claim is the quoted PCR 8.
    let c = verifier().verify(&bytes(&evidence(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 9)), &exp).unwrap();
    assert_eq!(c.init_data, Some(pcr_values()[8].clone()));
}

/// More PCR values than a bank holds (24) are refused, naming the field.
#[test]
fn tpm_evidence_pcr_list_bounded() {
    let mut ev = evidence(&(0..24).collect::<Vec<_>>(), 24);
    ev["tpm_quote"]["pcrs"].as_array_mut().unwrap().push(hex::encode([9u8; 32]).into());
    let r = verifier().verify(&bytes(&ev), &rd(NONCE));
    assert!(matches!(&r, Err(e) if e.to_string().contains("tpm_quote.pcrs")), "{r:?}");
}

/// Every evidence field is bounded, and the error names the field.
#[test]
fn tpm_evidence_field_sizes_bounded() {
    let base = evidence(&[0], 1);
    let cases: [(&str, Box<dyn Fn(&mut serde_json::Value)>); 4] = [
        ("ak_public", Box::new(|v| v["ak_public"] = B64.encode(vec![0x30; 64 * 1024]).into())),
        ("tpm_quote.message", Box::new(|v| v["tpm_quote"]["message"] = B64.encode(vec![0; 64 * 1024]).into())),
        ("tpm_quote.signature", Box::new(|v| v["tpm_quote"]["signature"] = B64.encode(vec![0; 64 * 1024]).into())),
        ("evidence", Box::new(|v| v["padding"] = "x".repeat(2 << 20).into())),
    ];
    for (field, f) in cases {
        let mut ev = base.clone();
        f(&mut ev);
        let r = verifier().verify(&bytes(&ev), &rd(NONCE));
        assert!(matches!(&r, Err(e) if e.to_string().contains(field) && e.to_string().contains("limit")), "{field}: {r:?}");
    }
}

/// Issue 13 item 5: the AK of plain `tpm` evidence is chained to nothing, so the hardware
/// verifier set refuses it.
#[test]
fn tpm_unendorsed_ak_refused_by_default() {
    let set = tee::VerifierSet::all_hardware(
        store(),
        Arc::new(tee::snp::SnpContext::default()),
        Vec::new(),
        Arc::new(tee::clock::FixedClock(T_2026_03_01)),
    );
    let real = read("tpm/tpm_evidence.json");
    let nonce = hex::decode("a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120").unwrap();
    let r = set.verify(Tee::Tpm, &real, &rd(&nonce));
    assert!(!matches!(r, Ok(ref c) if c.hardware), "unendorsed TPM evidence accepted as hardware: {r:?}");
    let r = set.verify(Tee::Tpm, &bytes(&evidence(&[0], 1)), &rd(NONCE));
    assert!(r.is_err(), "a quote by an arbitrary RSA key accepted: {r:?}");
}

#[allow(dead_code)]
fn unused(_: Error) {}
