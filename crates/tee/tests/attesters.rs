#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
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
    assert!(v.verify(&ev.bytes, &Expected::unbound(tee::danger::SkipReportDataCheck)).is_ok());
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
    let v =
        tee::snp::SnpVerifier::new(std::sync::Arc::new(ctx), std::sync::Arc::new(tee::clock::FixedClock(T_2025_06_25)));
    assert!(v.verify(&ev.bytes, &Expected::unbound(tee::danger::SkipReportDataCheck)).is_ok());
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
    let c = v.verify(&ev.bytes, &Expected::new(b"Hello, world!")).unwrap();
    assert_eq!(c.fields["mr_enclave"], "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    std::fs::write(dir.join("attestation_type"), "epid").unwrap();
    assert!(matches!(a.evidence(b"x"), Err(Error::NotAvailable { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn detection_order() {
    let root = tmpdir("detect");
    let p = Probe::new(&root).with_occlum(false);
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

/// Occlum's `/dev/sgx` ioctls, faked: records the report data it was handed and returns a
/// recorded hardware quote.
struct FakeOcclum {
    quote: Vec<u8>,
    size: u32,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl tee::sgx::occlum::DcapQuoteDevice for FakeOcclum {
    fn quote_size(&mut self) -> Result<u32, Error> {
        Ok(self.size)
    }
    fn generate_quote(&mut self, rd: &[u8; 64], buf: &mut [u8]) -> Result<(), Error> {
        self.seen.lock().unwrap().push(rd.to_vec());
        // Occlum refuses a buffer smaller than the quote (EINVAL) and copies quote_size bytes.
        if buf.len() < self.quote.len() {
            return Err(Error::Io("EINVAL: provided quote is too small".into()));
        }
        buf[..self.quote.len()].copy_from_slice(&self.quote);
        Ok(())
    }
}

#[test]
fn occlum_sgx_attester() {
    let q = read("dcap/sgx_quote_v3.bin");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = tee::sgx::occlum::OcclumAttester::new(Box::new(FakeOcclum {
        quote: q.clone(),
        size: q.len() as u32,
        seen: seen.clone(),
    }));
    let ev = a.evidence(b"Hello, world!").unwrap();
    assert_eq!(ev.tee, Tee::Sgx);
    // The ioctl got the report data zero-padded to 64 bytes.
    let mut want = b"Hello, world!".to_vec();
    want.resize(64, 0);
    assert_eq!(*seen.lock().unwrap(), vec![want]);
    // Evidence is exactly {"quote": b64} and verifies with the SGX verifier.
    let j: serde_json::Value = serde_json::from_slice(&ev.bytes).unwrap();
    assert_eq!(j.as_object().unwrap().keys().collect::<Vec<_>>(), ["quote"]);
    assert_eq!(tee::sgx::quote_from_evidence(&ev.bytes).unwrap(), q);
    let v = tee::sgx::SgxVerifier::new(store(), std::sync::Arc::new(tee::clock::FixedClock(T_2025_06_25)));
    let c = v.verify(&ev.bytes, &Expected::new(b"Hello, world!")).unwrap();
    assert_eq!(c.fields["mr_enclave"], "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    assert!(matches!(v.verify(&ev.bytes, &Expected::new(b"Hello, world?")), Err(Error::ReportDataMismatch { .. })));
    // Too-long report data never reaches the device.
    assert!(matches!(a.evidence(&[0; 65]), Err(Error::ReportDataTooLong { .. })));
    assert_eq!(seen.lock().unwrap().len(), 1);
    // A device reporting a size smaller than its quote: the device error surfaces.
    let small =
        tee::sgx::occlum::OcclumAttester::new(Box::new(FakeOcclum { quote: q.clone(), size: 100, seen: seen.clone() }));
    assert!(matches!(small.evidence(b"x"), Err(Error::Io(_))));
    // Absurd sizes are refused before allocating.
    for size in [0, 1 << 30] {
        let bad =
            tee::sgx::occlum::OcclumAttester::new(Box::new(FakeOcclum { quote: q.clone(), size, seen: seen.clone() }));
        assert!(matches!(bad.evidence(b"x"), Err(Error::Io(_))));
    }
    // The real device path outside Occlum: a clear NotAvailable.
    let dir = tmpdir("occlum-none");
    let r = tee::sgx::occlum::sys::OcclumSgxDevice::open(&dir.join("dev/sgx").to_string_lossy());
    assert!(matches!(r, Err(Error::NotAvailable { tee: Tee::Sgx, .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn occlum_ioctl_on_a_non_occlum_file_fails_cleanly() {
    // A regular file answers the ioctl with ENOTTY: an error naming the ioctl, no panic.
    use tee::sgx::occlum::DcapQuoteDevice;
    let dir = tmpdir("occlum-ioctl");
    std::fs::write(dir.join("sgx"), b"").unwrap();
    let mut d = tee::sgx::occlum::sys::OcclumSgxDevice::open(&dir.join("sgx").to_string_lossy()).unwrap();
    let e = d.quote_size().unwrap_err();
    assert!(matches!(&e, Error::Io(m) if m.contains("SGXIOC_GET_DCAP_QUOTE_SIZE")), "{e:?}");
    let mut buf = vec![0u8; 16];
    assert!(matches!(d.generate_quote(&[0; 64], &mut buf), Err(Error::Io(m)) if m.contains("SGXIOC_GEN_DCAP_QUOTE")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cca_configfs_tsm_attester() {
    const CHALLENGE: &str = "57e979ae2618de0c1ab73144c440d741cf9236dc9d52ed190053382a4d190252f9f0370403c35dcb155fb4362d73c66d5b0494bf939315d3dc52b8cdc8b85a96";
    let root = tmpdir("tsm-cca");
    let tok = read("other/cca-example-token.cbor");
    fake_tsm_entry(&root, "c", "arm_cca_guest", &tok, b"");
    let a = tee::cca::attester::CcaAttester::new(Tsm::new(&root).with_entry("c"));
    let ch = hex::decode(CHALLENGE).unwrap();
    let ev = a.evidence(&ch).unwrap();
    assert_eq!(ev.tee, Tee::Cca);
    assert_eq!(std::fs::read(root.join("c/inblob")).unwrap(), ch);
    // guest-components' shape: {"token": [bytes as numbers]}.
    let j: serde_json::Value = serde_json::from_slice(&ev.bytes).unwrap();
    assert_eq!(j, serde_json::json!({ "token": tok }));
    let cpak = tee::cca::cpak_from_jwk(&read("other/cca-cpak-pub.json")).unwrap();
    let v = tee::cca::CcaVerifier::new(vec![cpak]);
    let c = v.verify(&ev.bytes, &Expected::new(&ch)).unwrap();
    assert_eq!(c.report_data, ch);
    // A shorter challenge is zero-padded into inblob.
    a.evidence(b"abc").unwrap();
    let mut want = b"abc".to_vec();
    want.resize(64, 0);
    assert_eq!(std::fs::read(root.join("c/inblob")).unwrap(), want);
    assert!(matches!(a.evidence(&[0; 65]), Err(Error::ReportDataTooLong { .. })));
    // A TDX guest's provider: refused. A non-token outblob: malformed, not passed on.
    fake_tsm_entry(&root, "t", "tdx_guest", &tok, b"");
    assert!(matches!(
        tee::cca::attester::CcaAttester::new(Tsm::new(&root).with_entry("t")).evidence(b"x"),
        Err(Error::NotAvailable { .. })
    ));
    fake_tsm_entry(&root, "g", "arm_cca_guest", b"not a token", b"");
    assert!(matches!(
        tee::cca::attester::CcaAttester::new(Tsm::new(&root).with_entry("g")).evidence(b"x"),
        Err(Error::Malformed { .. })
    ));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn sgx_libos_detection() {
    use tee::attest::detect::SgxLibOs;
    let root = tmpdir("detect-libos");
    let p = Probe::new(&root).with_occlum(false);
    assert_eq!(p.sgx_libos(), None);
    std::fs::create_dir_all(root.join("dev/attestation")).unwrap();
    std::fs::write(root.join("dev/attestation/attestation_type"), "dcap").unwrap();
    assert_eq!(p.sgx_libos(), Some(SgxLibOs::Gramine));
    assert_eq!(p.detect(), Some(Tee::Sgx));
    std::fs::write(root.join("dev/attestation/attestation_type"), "none").unwrap();
    assert_eq!(p.sgx_libos(), None);
    // Occlum: the OCCLUM marker and its /dev/sgx; the marker alone is not enough.
    let o = Probe::new(&root).with_occlum(true);
    assert_eq!(o.sgx_libos(), None);
    std::fs::write(root.join("dev/sgx"), b"").unwrap();
    assert_eq!(o.sgx_libos(), Some(SgxLibOs::Occlum));
    assert_eq!(o.detect(), Some(Tee::Sgx));
    assert_eq!(p.sgx_libos(), None, "/dev/sgx without the Occlum marker is not Occlum");
    std::fs::remove_dir_all(&root).unwrap();
}
