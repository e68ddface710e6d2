#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Hygon CSV (parse-only) on the real trustee vector `other/csv_evidence.json`.
//!
//! Expected values were derived by hand from the vector's bytes (offsets per csv-rs 0.1.0,
//! anonce = bytes 188..192 XORed over every field): they are self-consistent in ways a wrong
//! layout or a missing de-obfuscation would break: the de-obfuscated `sig_usage` is the PEK usage
//! 0x1002 and `sig_algo` is SM2 (4), the digest / VM id / report data come out all zero, and the
//! report's embedded PEK and chip serial equal `cert_chain.pek` and `serial_number`.
mod common;
use common::*;
use serde_json::Value;
use tee::csv::{self, CsvVerifier, Version};
use tee::{Error, Expected, Tee, Verifier};

const MEASURE: &str = "ae2a2cf1f41a485fa37bf9ae92f678783c59fbc79de7b5d237743d58f5538034";
const MNONCE: &str = "ad998a845c45cf30944d1c285629e768";

fn vector() -> Vec<u8> {
    read("other/csv_evidence.json")
}

fn edit(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&vector()).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn data_mut(v: &mut Value) -> &mut Vec<Value> {
    v["attestation_report"]["data"].as_array_mut().unwrap()
}

fn malformed(r: Result<csv::CsvEvidence, Error>, what: &str) {
    match r {
        Err(Error::Malformed { tee: Tee::Csv, reason }) => assert!(reason.contains(what), "{reason:?} lacks {what:?}"),
        other => panic!("want Malformed({what}), got {other:?}"),
    }
}

#[test]
fn real_vector_fields() {
    let ev = csv::parse_evidence(&vector()).unwrap();
    let r = &ev.report;
    assert_eq!(r.version, Version::V1);
    assert_eq!(r.anonce, 0x5dc7_d726);
    assert_eq!(r.user_pubkey_digest, [0; 32]);
    assert_eq!(r.vm_id, [0; 16]);
    assert_eq!(r.vm_version, [0; 16]);
    assert_eq!(r.report_data, [0; 64]);
    assert_eq!(hex::encode(r.measure), MEASURE);
    assert_eq!(hex::encode(r.mnonce), MNONCE);
    assert_eq!(r.policy.0, 0x45);
    assert_eq!((r.policy.nodbg(), r.policy.es(), r.policy.csv3(), r.policy.noks()), (1, 1, 1, 0));
    assert_eq!(r.sig_usage, csv::report::USAGE_PEK);
    assert_eq!(r.sig_algo, csv::report::ALGO_SM2_SA);
    assert_eq!(hex::encode(r.signature.r), "5025f3968ed8c182f3cd62ffd9a3031f40ca15893f27c6f75e98cb4239db3fb0");
    assert_eq!(hex::encode(r.signature.s), "b34754d9f2db2a55bdf01fd57a785d7642957ffc799d51c9a53a57bec65e25dd");
    assert_eq!(r.signed_bytes.len(), 180);
    assert!(r.rtmr.is_none());
    assert_eq!(ev.serial_number, "KPA64911240507");
    assert_eq!(r.signer_sn, "KPA64911240507");
    assert_eq!(ev.pek, r.signer_pek);
    assert_eq!(ev.pek.user_id, b"HYGON-SSD-PEK");
    assert_eq!(
        (ev.pek.ver, ev.pek.firmware, ev.pek.key_usage, ev.pek.key_algo, ev.pek.curve),
        (1, (1, 3), 0x1002, 4, 3)
    );
    // PEK signed by the OCA (0x1001) and the CEK (0x1004).
    let usages: Vec<u32> = ev.pek.sigs.iter().map(|s| s.usage).collect();
    assert_eq!(usages, [csv::report::USAGE_CEK, csv::report::USAGE_OCA]);
    assert!(!ev.hsk_cek_present);
    assert!(ev.cc_eventlog.as_ref().is_some_and(|e| !e.is_empty()));

    let f = csv::fields(&ev);
    assert_eq!(f["version"], "1");
    assert_eq!(f["measure"], MEASURE);
    assert_eq!(f["report_data"], "0".repeat(128));
    assert_eq!(f["sig_usage"], "02100000");
    assert_eq!(f["sig_algo"], "04000000");
    assert_eq!(f["anonce"], "26d7c75d");
    assert_eq!(f["policy"]["nodbg"], 1);
    assert_eq!(f["policy"]["csv3"], 1);
    assert_eq!(f["serial_number"], "KPA64911240507");
}

#[test]
fn verifier_refuses_parsed_evidence() {
    let e = CsvVerifier.verify(&vector(), &Expected::unbound(tee::danger::SkipReportDataCheck)).unwrap_err();
    assert_eq!(e, Error::Unsupported { tee: Tee::Csv, reason: csv::PARSE_ONLY.into() });
    assert!(e.to_string().contains("parse-only"));
    // Report-data binding is still checked (and reported as such) before refusing.
    let exp = Expected::new(&[1; 32]);
    assert!(matches!(CsvVerifier.verify(&vector(), &exp), Err(Error::ReportDataMismatch { .. })));
    let exp = Expected::new(&[0; 64]);
    assert!(matches!(CsvVerifier.verify(&vector(), &exp), Err(Error::Unsupported { .. })));
    // A set with the CSV verifier still yields no claims.
    let set = tee::VerifierSet::hardware_only().with(Box::new(CsvVerifier));
    assert!(set.verify(Tee::Csv, &vector(), &Expected::unbound(tee::danger::SkipReportDataCheck)).is_err());
}

#[test]
fn anonce_is_applied() {
    // Changing the stored anonce changes every de-obfuscated field: sig_usage is no longer PEK.
    let ev = csv::parse_evidence(&edit(|v| data_mut(v)[188] = (0x26 ^ 0x01).into())).unwrap();
    assert_eq!(ev.report.sig_usage, csv::report::USAGE_PEK ^ 0x01);
    assert_eq!(ev.report.user_pubkey_digest[0], 0x01);
    assert_eq!(ev.report.user_pubkey_digest[1], 0x00);
}

#[test]
fn truncated_and_garbage_rejected() {
    let v = vector();
    for n in [0, 1, 100, v.len() / 2, v.len() - 1] {
        malformed(csv::parse_evidence(&v[..n]), "not CSV evidence JSON");
    }
    malformed(csv::parse_evidence(b"{}"), "not CSV evidence JSON");
    malformed(csv::parse_evidence(&[0xff; 64]), "not CSV evidence JSON");
    malformed(
        csv::parse_evidence(&edit(|v| {
            data_mut(v).pop();
        })),
        "attestation report is 4095 bytes",
    );
    malformed(csv::parse_evidence(&edit(|v| data_mut(v).push(0.into()))), "attestation report is 4097 bytes");
    malformed(
        csv::parse_evidence(&edit(|v| v["attestation_report"]["magic"] = serde_json::json!(vec![1u8; 16]))),
        "magic",
    );
    malformed(
        csv::parse_evidence(&edit(|v| v["attestation_report"]["magic"] = serde_json::json!(vec![0u8; 15]))),
        "magic is 15 bytes",
    );
    let ext: Vec<u8> = b"ATTESTATION_EXT\0".to_vec();
    let e = csv::parse_evidence(&edit(|v| {
        v["attestation_report"]["magic"] = serde_json::json!(ext);
        v["attestation_report"]["flags"] = 2.into();
    }))
    .unwrap_err();
    assert!(matches!(e, Error::Unsupported { tee: Tee::Csv, .. }), "{e:?}");
    // Signature r with a non-zero byte above the 32 significant ones (offset 192 + 40).
    malformed(csv::parse_evidence(&edit(|v| data_mut(v)[232] = 1.into())), "report signature.r");
    // Embedded PEK uid_size (report offset 336 + 164) beyond its field.
    malformed(
        csv::parse_evidence(&edit(|v| {
            data_mut(v)[500] = 0x2c.into();
            data_mut(v)[501] = 0x01.into();
        })),
        "uid_size 300",
    );
    malformed(
        csv::parse_evidence(&edit(|v| v["cert_chain"]["pek"]["sigs"].as_array_mut().unwrap().truncate(1))),
        "signature slots",
    );
    malformed(csv::parse_evidence(&edit(|v| v["cc_eventlog"] = "not base64!".into())), "cc_eventlog");
    malformed(
        csv::parse_evidence(&edit(|v| v["serial_number"] = serde_json::json!([0xff, 0xfe]))),
        "serial_number is not UTF-8",
    );
}

#[test]
fn inconsistent_pek_or_serial_rejected() {
    // cert_chain.pek public key differs from the report's embedded PEK.
    let e = csv::parse_evidence(&edit(|v| {
        let x = &mut v["cert_chain"]["pek"]["body"]["data"]["pubkey"]["key"]["x"][0];
        *x = (x.as_u64().unwrap() ^ 1).into();
    }))
    .unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { tee: Tee::Csv, .. }), "{e:?}");
    // The report's embedded PEK changed (report offset 336 + 20 = x).
    let e = csv::parse_evidence(&edit(|v| {
        let b = &mut data_mut(v)[356];
        *b = (b.as_u64().unwrap() ^ 1).into();
    }))
    .unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { tee: Tee::Csv, .. }), "{e:?}");
    let e = csv::parse_evidence(&edit(|v| v["serial_number"][0] = (b'Z' as u64).into())).unwrap_err();
    assert!(
        matches!(e, Error::BindingMismatch { tee: Tee::Csv, ref reason } if reason.contains("ZPA64911240507")),
        "{e:?}"
    );
}

#[test]
fn extended_v2_layout() {
    // A v2 report assembled from the real v1 one: plain fields at the same offsets, build at 188,
    // RTMRs from 208, signature at 1024, the (plain) signer block moved to 0x490.
    let ev = csv::parse_evidence(&vector()).unwrap();
    let raw: Vec<u8> = serde_json::from_slice::<Value>(&vector()).unwrap()["attestation_report"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    let mut d = vec![0u8; 4096];
    d[64..128].copy_from_slice(&[7; 64]);
    d[144..176].copy_from_slice(&ev.report.measure);
    d[176..180].copy_from_slice(&0x45u32.to_le_bytes());
    d[180..184].copy_from_slice(&0x1002u32.to_le_bytes());
    d[184..188].copy_from_slice(&4u32.to_le_bytes());
    d[188..192].copy_from_slice(&1234u32.to_le_bytes());
    d[192..194].copy_from_slice(&1u16.to_le_bytes());
    for i in 0..5 {
        d[208 + 32 * i..240 + 32 * i].copy_from_slice(&[i as u8 + 1; 32]);
    }
    d[1024..1168].copy_from_slice(&raw[192..336]);
    d[1168..1168 + 2212].copy_from_slice(&raw[336..336 + 2212]);
    let j = edit(|v| {
        v["attestation_report"]["magic"] = serde_json::json!(b"ATTESTATION_EXT\0".to_vec());
        v["attestation_report"]["flags"] = 1.into();
        v["attestation_report"]["data"] = serde_json::json!(d);
    });
    let ev2 = csv::parse_evidence(&j).unwrap();
    let r = &ev2.report;
    assert_eq!(r.version, Version::V2);
    assert_eq!((r.anonce, r.build, r.rtmr_version), (0, 1234, 1));
    assert_eq!(r.report_data, [7; 64]);
    assert_eq!(r.measure, ev.report.measure);
    assert_eq!(r.sig_usage, 0x1002);
    assert_eq!(r.rtmr.unwrap()[4], [5; 32]);
    assert_eq!(r.signature, ev.report.signature);
    assert_eq!(r.signed_bytes.len(), 1024);
    bad_sig(csv::verify_report_signature(r, &ev2.pek));
    let f = csv::fields(&ev2);
    assert_eq!(f["version"], "2");
    assert_eq!(f["rtmr0"], hex::encode([1; 32]));
    assert!(!f.contains_key("anonce"));
}

fn flip_data(at: usize) -> Vec<u8> {
    edit(|v| {
        let b = &mut data_mut(v)[at];
        *b = (b.as_u64().unwrap() ^ 0x01).into();
    })
}

fn bad_sig(r: Result<(), Error>) {
    assert!(matches!(r, Err(Error::BadSignature { tee: Tee::Csv, .. })), "{r:?}");
}

#[test]
fn report_signature_by_pek() {
    // The real report's SM2 signature verifies with its PEK (cross-checked with
    // `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:HYGON-SSD-PEK` on bytes 0..180).
    let ev = csv::parse_evidence(&vector()).unwrap();
    csv::verify_report_signature(&ev.report, &ev.pek).unwrap();
    // Any signed byte changed (measure, report data, policy), or the signature: parse still
    // succeeds, the signature does not verify, and the verifier says so (not just "parse-only").
    for at in [150, 64, 127, 176, 200, 270] {
        let j = flip_data(at);
        let ev = csv::parse_evidence(&j).unwrap();
        bad_sig(csv::verify_report_signature(&ev.report, &ev.pek));
        let e = CsvVerifier.verify(&j, &Expected::unbound(tee::danger::SkipReportDataCheck)).unwrap_err();
        assert!(matches!(e, Error::BadSignature { tee: Tee::Csv, .. }), "byte {at}: {e:?}");
    }
    // The anonce is not signed, but changing it corrupts the de-obfuscated sig_usage.
    let ev = csv::parse_evidence(&flip_data(188)).unwrap();
    bad_sig(csv::verify_report_signature(&ev.report, &ev.pek));
    // Another PEK (distinguishing id changed) does not verify it.
    let mut pek = ev.pek.clone();
    pek.user_id = b"HYGON-SSD-PEX".to_vec();
    let good = csv::parse_evidence(&vector()).unwrap();
    bad_sig(csv::verify_report_signature(&good.report, &pek));
    // r = 0 is rejected without panicking.
    let mut r = good.report.clone();
    r.signature.r = [0; 32];
    bad_sig(csv::verify_report_signature(&r, &good.pek));
}
