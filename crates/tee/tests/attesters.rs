//! Attesters against faked kernel / LibOS trees holding recorded hardware outputs.
mod common;
use std::path::Path;

use common::*;
use tee::attest::detect::Probe;
use tee::attest::tsm::Tsm;
use tee::{Attester, Error, Expected, Tee, Verifier};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tee-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A configfs-tsm report entry as the kernel would present it after generating `outblob`.
fn fake_tsm_entry(root: &Path, entry: &str, provider: &str, outblob: &[u8], auxblob: &[u8]) {
    let e = root.join(entry);
    std::fs::create_dir_all(&e).unwrap();
    std::fs::write(e.join("provider"), format!("{provider}\n")).unwrap();
    std::fs::write(e.join("generation"), "1\n").unwrap();
    std::fs::write(e.join("outblob"), outblob).unwrap();
    std::fs::write(e.join("auxblob"), auxblob).unwrap();
    std::fs::write(e.join("inblob"), b"").unwrap();
    std::fs::write(e.join("privlevel"), b"").unwrap();
}

#[test]
fn tdx_configfs_tsm_attester() {
    let root = tmpdir("tsm-tdx");
    let q = read("dcap/tdx_quote_v4.bin");
    fake_tsm_entry(&root, "e1", "tdx_guest", &q, b"");
    std::fs::write(root.join("CCEL"), read("other/CCEL_data")).unwrap();
    let a = tee::tdx::attester::TdxAttester::new(Tsm::new(&root).with_entry("e1"), Some(root.join("CCEL")));
    let ev = a.evidence(b"nonce").unwrap();
    assert_eq!(ev.tee, Tee::Tdx);
    // The attester wrote the zero-padded report data to inblob.
    let mut want = b"nonce".to_vec();
    want.resize(64, 0);
    assert_eq!(std::fs::read(root.join("e1/inblob")).unwrap(), want);
    // Its evidence is the recorded quote, in trustee's shape, and verifies.
    let (raw, el) = tee::tdx::decode_evidence(&ev.bytes).unwrap();
    assert_eq!(raw, q);
    assert_eq!(el.unwrap(), read("other/CCEL_data"));
    let v = tee::tdx::TdxVerifier::new(store(), std::sync::Arc::new(tee::clock::FixedClock(T_2025_06_25)));
    assert!(v.verify(&ev.bytes, &Expected::default()).is_ok());
    // Too-long report data is an error, never truncated.
    assert!(matches!(a.evidence(&[0; 65]), Err(Error::ReportDataTooLong { .. })));
    // Wrong provider (an SNP guest's tree) is refused.
    fake_tsm_entry(&root, "e2", "sev_guest", &q, b"");
    let a2 = tee::tdx::attester::TdxAttester::new(Tsm::new(&root).with_entry("e2"), None);
    assert!(matches!(a2.evidence(b"x"), Err(Error::NotAvailable { .. })));
    // Generation changing between reads (a concurrent writer) is detected: generation file that
    // the fake bumps is simulated by a provider-less tree -> error, not a panic.
    let a3 = tee::tdx::attester::TdxAttester::new(Tsm::new(root.join("missing")), None);
    assert!(matches!(a3.evidence(b"x"), Err(Error::NotAvailable { .. })));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn snp_configfs_tsm_attester() {
    let root = tmpdir("tsm-snp");
    let raw = read("snp/test-report.bin");
    fake_tsm_entry(&root, "e", "sev_guest", &raw, b"");
    let a = tee::snp::attester::SnpAttester::new(Tsm::new(&root).with_entry("e").with_privlevel(0));
    let ev = a.evidence(&[0xab; 64]).unwrap();
    assert_eq!(std::fs::read_to_string(root.join("e/privlevel")).unwrap(), "0");
    let (re, vek) = tee::snp::decode_evidence(&ev.bytes).unwrap();
    assert_eq!(&re[..0x2A0], &raw[..0x2A0]);
    assert!(vek.is_none());
    // With the offline VCEK store, the produced evidence verifies.
    let ctx = tee::snp::SnpContext::default();
    ctx.store.insert_der(&read("snp/test-vcek.der")).unwrap();
    let v = tee::snp::SnpVerifier::new(std::sync::Arc::new(ctx), std::sync::Arc::new(tee::clock::FixedClock(T_2025_06_25)));
    assert!(v.verify(&ev.bytes, &Expected::default()).is_ok());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn tsm_unique_entries_are_created_and_removed() {
    // Without a fixed entry the client mkdirs a unique entry; on a plain directory (not configfs)
    // the attribute files do not appear, so the request fails cleanly and the entry is removed.
    let root = tmpdir("tsm-plain");
    let r = Tsm::new(&root).report(Tee::Tdx, "tdx_guest", &[0; 64]);
    assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0, "entry left behind");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn gramine_sgx_attester() {
    let dir = tmpdir("gramine");
    std::fs::write(dir.join("attestation_type"), "dcap").unwrap();
    let q = read("dcap/sgx_quote_v3.bin");
    std::fs::write(dir.join("quote"), &q).unwrap();
    let a = tee::sgx::attester::GramineAttester::new(&dir);
    let ev = a.evidence(b"Hello, world!").unwrap();
    let mut want = b"Hello, world!".to_vec();
    want.resize(64, 0);
    assert_eq!(std::fs::read(dir.join("user_report_data")).unwrap(), want);
    assert_eq!(tee::sgx::quote_from_evidence(&ev.bytes).unwrap(), q);
    let v = tee::sgx::SgxVerifier::new(store(), std::sync::Arc::new(tee::clock::FixedClock(T_2025_06_25)));
    let c = v.verify(&ev.bytes, &Expected { report_data: Some(b"Hello, world!"), init_data_digest: None }).unwrap();
    assert_eq!(c.fields["mr_enclave"], "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    std::fs::write(dir.join("attestation_type"), "epid").unwrap();
    assert!(matches!(a.evidence(b"x"), Err(Error::NotAvailable { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn detection_order() {
    let root = tmpdir("detect");
    let p = Probe::new(&root);
    assert_eq!(p.detect(), None);
    let touch = |rel: &str| {
        let f = root.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b"").unwrap();
    };
    touch("dev/tpmrm0");
    assert_eq!(p.detect(), Some(Tee::Tpm));
    touch("dev/cca-guest");
    assert_eq!(p.detect(), Some(Tee::Cca));
    touch("dev/csv-guest");
    assert_eq!(p.detect(), Some(Tee::Csv));
    touch("dev/sev-guest");
    assert_eq!(p.detect(), Some(Tee::Snp));
    std::fs::create_dir_all(root.join("sys/class/dmi/id")).unwrap();
    std::fs::write(root.join("sys/class/dmi/id/sys_vendor"), "Microsoft Corporation\n").unwrap();
    std::fs::write(root.join("sys/class/dmi/id/product_name"), "Virtual Machine\n").unwrap();
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::write(root.join("proc/cpuinfo"), "flags : fpu sev sev_es sev_snp\n").unwrap();
    assert_eq!(p.detect(), Some(Tee::AzSnpVtpm));
    touch("dev/attestation/quote");
    assert_eq!(p.detect(), Some(Tee::Sgx));
    touch("dev/tdx_guest");
    assert_eq!(p.detect(), Some(Tee::Tdx));
    std::fs::remove_dir_all(&root).unwrap();
}
