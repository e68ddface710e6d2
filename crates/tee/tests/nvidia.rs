#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! NVIDIA GPU attestation reports captured on real Hopper (H100) and Blackwell (RTX PRO 6000)
//! hardware (trustee test data, see tests/data/tee/SOURCES.md): acceptance, reported claims, and
//! each corruption rejected with its own error variant.
mod common;
use std::sync::Arc;

use common::*;
use serde_json::Value;
use tee::clock::FixedClock;
use tee::nvidia::{self, Arch, NvidiaRoots, NvidiaVerifier};
use tee::{Error, Expected, Tee, Verifier, VerifierSet};

/// 2026-01-01T00:00:00Z: every certificate of both chains is valid (notBefore <= 2023-06-20,
/// notAfter 9999-12-31).
const T: u64 = 1_767_225_600;
const HOPPER_NONCE: &str = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
const COCO_REPORT_DATA: &str =
    "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250";
const BLACKWELL_NONCE: &str = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e";

fn report(name: &str) -> Vec<u8> {
    hex::decode(String::from_utf8(read(&format!("nvidia/{name}"))).unwrap().trim()).unwrap()
}
fn hopper() -> (Vec<u8>, Vec<u8>) {
    (report("hopperAttestationReport.txt"), read("nvidia/hopper_cert_chain_case1.txt"))
}
fn coco() -> (Vec<u8>, Vec<u8>) {
    (report("hopper_coco_report1.txt"), read("nvidia/hopper_coco_certs1.txt"))
}
fn blackwell() -> (Vec<u8>, Vec<u8>) {
    (report("blackwellAttestationReport.txt"), read("nvidia/blackwell_cert_chain_case1.txt"))
}
fn ev(arch: Arch, r: &[u8], chain: &[u8]) -> Vec<u8> {
    nvidia::evidence_json(&[(arch, r, chain)])
}
fn verifier() -> NvidiaVerifier {
    NvidiaVerifier::new(Arc::new(FixedClock(T)))
}
fn verify(arch: Arch, r: &[u8], chain: &[u8], rd: &str) -> Result<tee::Claims, Error> {
    let rd = hex::decode(rd).unwrap();
    verifier().verify(&ev(arch, r, chain), &Expected::new(&rd))
}
/// Offset of the first measurement value byte (request 37 + response header 8 + block header 4
/// + DMTF header 3).
const FIRST_MEASUREMENT: usize = 37 + 8 + 4 + 3;

fn expected_measurements(claims_file: &str) -> serde_json::Map<String, Value> {
    let v: Value = serde_json::from_slice(&read(&format!("nvidia/{claims_file}"))).unwrap();
    v["measurements"].as_object().unwrap().clone()
}

#[test]
fn hopper_report_verifies_with_its_nonce() {
    let (r, c) = hopper();
    let claims = verify(Arch::Hopper, &r, &c, HOPPER_NONCE).unwrap();
    assert_eq!(claims.tee, Tee::Nvidia);
    assert!(claims.hardware);
    assert_eq!(hex::encode(&claims.report_data), HOPPER_NONCE);
    assert_eq!(claims.init_data, None);
    assert_eq!(claims.fields["device_count"], 1);
    let d = &claims.fields["devices"][0];
    assert_eq!(d["arch"], "HOPPER");
    assert_eq!(d["driver_version"], "550.90.07");
    assert_eq!(d["vbios_version"], "96.00.9f.00.01");
    assert_eq!(d["ueid"], "478176379286082186618948445787393647364802107249");
    assert_eq!(
        d["fwid"],
        "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d"
    );
    assert_eq!(d["nonce"], HOPPER_NONCE);
    assert_eq!(d["certificate_chain"][0], "GH100 A01 GSP FMC LF");
    assert_eq!(d["certificate_chain"][3], "NVIDIA GH100 Identity");
    assert_eq!(d["certificate_chain"][4], "NVIDIA Device Identity CA");
    assert_eq!(d["opaque"]["nvdec0_status"], "disabled");
    assert_eq!(d["opaque"]["chip_sku"], "882");
    assert_eq!(d["opaque"]["project"], "1010");
    assert_eq!(d["opaque"]["measurement_count"]["12"], 130);
    // Every measurement digest, as NVIDIA's and trustee's verifiers report them.
    let want = expected_measurements("hopperAttestationReport-claims.txt");
    assert_eq!(want.len(), 64);
    assert_eq!(d["measurement_count"], 64);
    assert_eq!(d["measurements"].as_object().unwrap(), &want);
    assert_eq!(
        d["measurements"]["2"],
        "8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338"
    );
}

#[test]
fn hopper_coco_report_binds_the_first_32_bytes_of_a_48_byte_runtime_digest() {
    // Captured in a Confidential Containers CI run: the KBS runtime-data digest is SHA-384 and
    // trustee binds its first 32 bytes as the SPDM nonce. The capture has one zero byte of
    // padding after the signature.
    let (r, c) = coco();
    let claims = verify(Arch::Hopper, &r, &c, COCO_REPORT_DATA).unwrap();
    assert!(claims.hardware);
    assert_eq!(hex::encode(&claims.report_data), &COCO_REPORT_DATA[..64]);
    let d = &claims.fields["devices"][0];
    assert_eq!(d["driver_version"], "580.95.05");
    assert_eq!(d["vbios_version"], "96.00.74.00.1a");
    assert_eq!(d["trailing_zero_bytes"], 1);
    assert_eq!(d["opaque"]["feature_flag"], "SPT");
    // A different second half of the 48 bytes does not matter (trustee truncates); a different
    // first half does.
    let mut rd = COCO_REPORT_DATA.to_string();
    rd.replace_range(90..96, "000000");
    assert!(verify(Arch::Hopper, &r, &c, &rd).is_ok());
    rd.replace_range(0..2, "00");
    assert!(matches!(verify(Arch::Hopper, &r, &c, &rd), Err(Error::ReportDataMismatch { .. })));
}

#[test]
fn blackwell_report_verifies_with_its_nonce() {
    let (r, c) = blackwell();
    let claims = verify(Arch::Blackwell, &r, &c, BLACKWELL_NONCE).unwrap();
    assert!(claims.hardware);
    assert_eq!(hex::encode(&claims.report_data), BLACKWELL_NONCE);
    let d = &claims.fields["devices"][0];
    assert_eq!(d["arch"], "BLACKWELL");
    assert_eq!(d["driver_version"], "595.58.03");
    assert_eq!(d["vbios_version"], "98.02.81.00.01");
    assert_eq!(d["chip_info"], "GB202");
    assert_eq!(d["dice_model"], "GB20X A01 GSP");
    assert_eq!(d["ueid"], "408762037488965241743361667085904172082023387885");
    assert_eq!(
        d["fwid"],
        "9b92cc3e53b9265259e1abde163653288c2474fcafd8e5c0fd62ce9c9036fb62723fe3715b50f4ac27c68b62e2fd9240"
    );
    assert_eq!(d["opaque"]["nvdec0_status"], "enabled");
    assert_eq!(d["certificate_chain"][3], "NVIDIA GB20X Identity");
    let want = expected_measurements("blackwellAttestationReport-claims.txt");
    assert_eq!(want.len(), 64);
    assert_eq!(d["measurements"].as_object().unwrap(), &want);
}

#[test]
fn signed_bytes_are_request_and_response_without_signature() {
    let (r, c) = hopper();
    let rep = nvidia::parse_report(&r).unwrap();
    assert_eq!(rep.signed_len, r.len() - 96);
    assert_eq!(&rep.signed_bytes()[..37], &r[..37]);
    assert_eq!(hex::encode(rep.request.nonce), HOPPER_NONCE);
    let chain = tee::nvidia::certs::split_chain(&c).unwrap();
    let vc = tee::nvidia::certs::verify_chain(&chain, &NvidiaRoots::builtin(), Arch::Hopper, T).unwrap();
    nvidia::check_signature(&rep, &vc.leaf_key).unwrap();
    // The response alone (without the request) is not what was signed.
    let mut resp_only = rep.clone();
    resp_only.raw = r[37..].to_vec();
    resp_only.signed_len = rep.signed_len - 37;
    assert!(matches!(nvidia::check_signature(&resp_only, &vc.leaf_key), Err(Error::BadSignature { .. })));
}

#[test]
fn flipped_signature_bit_is_rejected() {
    for (arch, (mut r, c), n) in
        [(Arch::Hopper, hopper(), HOPPER_NONCE), (Arch::Blackwell, blackwell(), BLACKWELL_NONCE)]
    {
        let last = r.len() - 1;
        r[last] ^= 1;
        assert!(matches!(verify(arch, &r, &c, n), Err(Error::BadSignature { tee: Tee::Nvidia, .. })), "{arch:?}");
        r[last] ^= 1;
        let sig0 = r.len() - 96;
        r[sig0 + 10] ^= 0x80;
        assert!(matches!(verify(arch, &r, &c, n), Err(Error::BadSignature { .. })), "{arch:?}");
    }
}

#[test]
fn altered_measurement_or_nonce_or_opaque_byte_is_rejected() {
    let (r, c) = hopper();
    for off in
        [FIRST_MEASUREMENT, FIRST_MEASUREMENT + 55 + 10, 4 /* request nonce */, r.len() - 96 - 1 /* opaque */]
    {
        let mut m = r.clone();
        m[off] ^= 0x01;
        assert!(matches!(verify(Arch::Hopper, &m, &c, HOPPER_NONCE), Err(Error::BadSignature { .. })), "offset {off}");
    }
}

#[test]
fn wrong_nonce_is_rejected() {
    let (r, c) = hopper();
    let mut n = HOPPER_NONCE.to_string();
    n.replace_range(62..64, "00");
    assert!(matches!(verify(Arch::Hopper, &r, &c, &n), Err(Error::ReportDataMismatch { .. })));
    // A prefix of the nonce with a non-zero tail in the field is not a match either.
    assert!(matches!(verify(Arch::Hopper, &r, &c, &HOPPER_NONCE[..32]), Err(Error::ReportDataMismatch { .. })));
    let (b, bc) = blackwell();
    assert!(matches!(verify(Arch::Blackwell, &b, &bc, HOPPER_NONCE), Err(Error::ReportDataMismatch { .. })));
}

#[test]
fn chain_with_a_wrong_root_is_rejected() {
    let (r, c) = hopper();
    let fake = read("nvidia/fake_nvidia_root.pem");
    // 1. The verifier pins another root: the genuine chain does not lead to it.
    let v = NvidiaVerifier::with_roots(NvidiaRoots::from_certs(&fake).unwrap(), Arc::new(FixedClock(T)));
    let n = hex::decode(HOPPER_NONCE).unwrap();
    let e = v.verify(&ev(Arch::Hopper, &r, &c), &Expected::new(&n));
    assert!(matches!(e, Err(Error::UntrustedChain { tee: Tee::Nvidia, .. })), "{e:?}");
    // 2. The evidence ships a root with NVIDIA's name but another key: never trusted.
    let pem = String::from_utf8(c.clone()).unwrap();
    let last = pem.rfind("-----BEGIN CERTIFICATE-----").unwrap();
    let swapped = format!("{}{}", &pem[..last], String::from_utf8(fake).unwrap());
    assert!(matches!(verify(Arch::Hopper, &r, swapped.as_bytes(), HOPPER_NONCE), Err(Error::UntrustedChain { .. })));
    // 3. The root left out of the evidence is fine (the pinned one is used).
    let no_root = &pem[..last];
    assert!(verify(Arch::Hopper, &r, no_root.as_bytes(), HOPPER_NONCE).is_ok());
    // 4. trustee's broken chains: missing intermediate CA; missing attestation certificate.
    let e = verify(Arch::Hopper, &r, &read("nvidia/hopper_cert_chain_case3.txt"), HOPPER_NONCE);
    assert!(matches!(e, Err(Error::UntrustedChain { .. })), "{e:?}");
    let e = verify(Arch::Hopper, &r, &read("nvidia/hopper_cert_chain_case4.txt"), HOPPER_NONCE);
    assert!(matches!(e, Err(Error::UntrustedChain { .. })), "{e:?}");
    // 5. Another GPU's genuine chain: the chain verifies, the report signature does not.
    let (_, coco_chain) = coco();
    assert!(matches!(verify(Arch::Hopper, &r, &coco_chain, HOPPER_NONCE), Err(Error::BadSignature { .. })));
}

#[test]
fn chain_outside_its_validity_at_the_pinned_time_is_rejected() {
    let (r, c) = hopper();
    let n = hex::decode(HOPPER_NONCE).unwrap();
    let exp = Expected::new(&n);
    let e = |at: u64| NvidiaVerifier::new(Arc::new(FixedClock(at))).verify(&ev(Arch::Hopper, &r, &c), &exp);
    // 2021-01-01: before the GH100 provisioner ICA (2022-03-01) and identity CA (2022-01-12).
    assert!(matches!(e(1_609_459_200), Err(Error::CollateralExpired { tee: Tee::Nvidia, at: 1_609_459_200, .. })));
    // One second after 9999-12-31T23:59:59Z, every certificate's notAfter.
    assert!(matches!(e(253_402_300_800), Err(Error::CollateralExpired { .. })));
    assert!(e(253_402_300_799).is_ok());
    // 2022-02-01: after the root and identity CA but before the provisioner ICA.
    let err = e(1_643_673_600).unwrap_err();
    assert!(err.to_string().contains("Provisioner ICA"), "{err}");
}

#[test]
fn truncated_or_padded_report_is_rejected() {
    let (r, c) = hopper();
    for len in (0..r.len()).step_by(7).chain([r.len() - 1, 36, 37, 45]) {
        let e = verify(Arch::Hopper, &r[..len], &c, HOPPER_NONCE);
        assert!(matches!(e, Err(Error::Malformed { tee: Tee::Nvidia, .. })), "len {len}: {e:?}");
    }
    let mut padded = r.clone();
    padded.push(0);
    assert!(verify(Arch::Hopper, &padded, &c, HOPPER_NONCE).is_ok());
    padded.push(1);
    assert!(matches!(verify(Arch::Hopper, &padded, &c, HOPPER_NONCE), Err(Error::Malformed { .. })));
}

#[test]
fn architecture_selects_the_fwid_extension() {
    // A Hopper report declared as Blackwell: the leaf has no DiceTcbInfo alias extension.
    let (r, c) = hopper();
    let e = verify(Arch::Blackwell, &r, &c, HOPPER_NONCE);
    assert!(matches!(e, Err(Error::BindingMismatch { .. })), "{e:?}");
    let (b, bc) = blackwell();
    assert!(matches!(verify(Arch::Hopper, &b, &bc, BLACKWELL_NONCE), Err(Error::BindingMismatch { .. })));
}

#[test]
fn multi_device_rules() {
    let (r, c) = hopper();
    let n = hex::decode(HOPPER_NONCE).unwrap();
    let exp = Expected::new(&n);
    // The same GPU twice does not count as two.
    let twice = nvidia::evidence_json(&[(Arch::Hopper, &r, &c), (Arch::Hopper, &r, &c)]);
    assert!(matches!(verifier().verify(&twice, &exp), Err(Error::BindingMismatch { .. })));
    // Devices asked different nonces.
    let (cr, cc) = coco();
    let mixed = nvidia::evidence_json(&[(Arch::Hopper, &r, &c), (Arch::Hopper, &cr, &cc)]);
    assert!(matches!(verifier().verify(&mixed, &exp), Err(Error::BindingMismatch { .. })));
    // NVSwitch and unknown architectures, empty lists, non-base64 chains.
    let ls10 = String::from_utf8(ev(Arch::Hopper, &r, &c)).unwrap().replace("HOPPER", "LS10");
    assert!(matches!(verifier().verify(ls10.as_bytes(), &exp), Err(Error::Unsupported { .. })));
    assert!(matches!(verifier().verify(br#"{"device_evidence_list":[]}"#, &exp), Err(Error::Malformed { .. })));
    // trustee's shape with a lower-case arch and a base64 report is accepted too.
    use base64::Engine;
    let b64 = serde_json::json!({"device_evidence_list": [{"arch": "Hopper", "uuid": "GPU-1",
        "evidence": base64::engine::general_purpose::STANDARD.encode(&r),
        "certificate": base64::engine::general_purpose::STANDARD.encode(&c)}]});
    assert!(verifier().verify(&serde_json::to_vec(&b64).unwrap(), &exp).is_ok());
}

#[test]
fn init_data_is_refused_and_no_report_data_means_no_nonce_check() {
    let (r, c) = hopper();
    let n = hex::decode(HOPPER_NONCE).unwrap();
    let e = verifier().verify(&ev(Arch::Hopper, &r, &c), &Expected::new(&n).with_init_data(Some(&[1; 32])));
    assert!(matches!(e, Err(Error::InitDataMismatch { .. })));
    let ok =
        verifier().verify(&ev(Arch::Hopper, &r, &c), &Expected::unbound(tee::danger::SkipReportDataCheck)).unwrap();
    assert_eq!(hex::encode(ok.report_data), HOPPER_NONCE);
}

#[test]
fn verifier_set_and_tee_name() {
    assert_eq!("nvidia".parse::<Tee>().unwrap(), Tee::Nvidia);
    assert_eq!(serde_json::to_string(&Tee::Nvidia).unwrap(), "\"nvidia\"");
    assert!(Tee::Nvidia.is_hardware());
    // The built-in root is NVIDIA's Device Identity CA (nvtrust verifier_device_root.pem).
    use sha2::Digest;
    let roots = NvidiaRoots::builtin();
    assert_eq!(roots.ders().len(), 1);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&roots.ders()[0])),
        "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"
    );
    // Not part of the CPU TEE set (a GPU report does not attest the guest): added explicitly.
    let all =
        VerifierSet::all_hardware(store(), Arc::new(tee::snp::SnpContext::default()), vec![], Arc::new(FixedClock(T)));
    assert!(!all.tees().contains(&Tee::Nvidia));
    let set = all.with(Box::new(verifier()));
    assert!(set.tees().contains(&Tee::Nvidia));
    let (r, c) = blackwell();
    let n = hex::decode(BLACKWELL_NONCE).unwrap();
    let claims = set.verify(Tee::Nvidia, &ev(Arch::Blackwell, &r, &c), &Expected::new(&n)).unwrap();
    assert!(claims.hardware);
}

#[test]
fn chain_cache_keeps_time_root_and_signature_checks() {
    let (mut r, c) = hopper();
    let chain = nvidia::certs::split_chain(&c).unwrap();
    let cache = nvidia::ChainCache::new();
    let roots = NvidiaRoots::builtin();
    cache.verify(&chain, &roots, Arch::Hopper, T).unwrap();
    assert_eq!(cache.len(), 1);
    // Cached, but the time is still checked.
    assert!(matches!(cache.verify(&chain, &roots, Arch::Hopper, 1_609_459_200), Err(Error::CollateralExpired { .. })));
    // Other roots, other architecture: not the cached verification.
    let fake = NvidiaRoots::from_certs(&read("nvidia/fake_nvidia_root.pem")).unwrap();
    assert!(matches!(cache.verify(&chain, &fake, Arch::Hopper, T), Err(Error::UntrustedChain { .. })));
    assert!(matches!(cache.verify(&chain, &roots, Arch::Blackwell, T), Err(Error::BindingMismatch { .. })));
    assert_eq!(cache.len(), 1);
    // A verifier with a warm cache still checks every report signature.
    let v = verifier();
    let n = hex::decode(HOPPER_NONCE).unwrap();
    let exp = Expected::new(&n);
    v.verify(&ev(Arch::Hopper, &r, &c), &exp).unwrap();
    assert_eq!(v.cache().len(), 1);
    let last = r.len() - 1;
    r[last] ^= 1;
    assert!(matches!(v.verify(&ev(Arch::Hopper, &r, &c), &exp), Err(Error::BadSignature { .. })));
}
