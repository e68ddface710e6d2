#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Real evidence captured on hardware (see tests/data/tee/SOURCES.md): each verifier accepts it,
//! reports the fields a relying party needs, and rejects every corruption with a specific error.
mod common;
use std::sync::Arc;

use common::*;
use tee::clock::FixedClock;
use tee::dcap::CollateralStore;
use tee::snp::{AmdRoots, Generation, SnpContext};
use tee::{Error, Expected, Tee, Verifier};

fn none() -> Expected<'static> {
    Expected::unbound(tee::danger::SkipReportDataCheck)
}

fn rd(b: &[u8]) -> Expected<'_> {
    Expected::new(b)
}

fn flip(mut v: Vec<u8>, at: usize) -> Vec<u8> {
    v[at] ^= 0x01;
    v
}

// ---------------------------------------------------------------- SGX

const SGX_MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const SGX_MRSIGNER: &str = "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6";

#[test]
fn sgx_v3_verifies_with_fields() {
    let q = read("dcap/sgx_quote_v3.bin");
    let c = tee::sgx::verify_raw_quote(&q, &rd(b"Hello, world!"), &store(), T_2025_06_25).unwrap();
    assert!(c.hardware);
    assert_eq!(c.fields["mr_enclave"], SGX_MRENCLAVE);
    assert_eq!(c.fields["mr_signer"], SGX_MRSIGNER);
    assert_eq!(c.fields["quote_version"], 3);
    assert_eq!(c.fields["fmspc"], "00A067110000");
    assert_eq!(c.fields["tcb_status"], "ConfigurationAndSWHardeningNeeded");
    assert_eq!(c.fields["debug"], false);
    assert_eq!(&c.report_data[..13], b"Hello, world!");
    // Through the trustee-shaped JSON and the Verifier trait.
    let ev = serde_json::to_vec(&tee::sgx::SgxEvidence { quote: base64_std(&q) }).unwrap();
    let v = tee::sgx::SgxVerifier::new(store(), Arc::new(FixedClock(T_2025_06_25)));
    assert_eq!(v.verify(&ev, &rd(b"Hello, world!")).unwrap(), c);
}

#[test]
fn sgx_corruptions_rejected() {
    let q = read("dcap/sgx_quote_v3.bin");
    let s = store();
    let at = T_2025_06_25;
    // Report data.
    assert!(matches!(
        tee::sgx::verify_raw_quote(&q, &rd(b"Hello, world?"), &s, at),
        Err(Error::ReportDataMismatch { .. })
    ));
    // Flipped bit in the quote signature (auth data starts after header 48 + body 384 + len 4).
    assert!(matches!(
        tee::sgx::verify_raw_quote(&flip(q.clone(), 436 + 5), &none(), &s, at),
        Err(Error::BadSignature { .. })
    ));
    // Flipped bit in MRENCLAVE (signed body).
    assert!(matches!(
        tee::sgx::verify_raw_quote(&flip(q.clone(), 48 + 64), &none(), &s, at),
        Err(Error::BadSignature { .. })
    ));
    // Collateral past nextUpdate.
    assert!(matches!(tee::sgx::verify_raw_quote(&q, &none(), &s, T_2025_08_01), Err(Error::CollateralExpired { .. })));
    // A different root CA.
    let wrong = CollateralStore::with_root(read("dcap/other_root_ca.der"));
    wrong.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    let r = tee::sgx::verify_raw_quote(&q, &none(), &wrong, at);
    assert!(matches!(r, Err(Error::UntrustedChain { .. })), "{r:?}");
    // No collateral for this FMSPC.
    assert!(matches!(
        tee::sgx::verify_raw_quote(&q, &none(), &CollateralStore::new(), at),
        Err(Error::CollateralMissing { .. })
    ));
    // Init data bound to CONFIGID (all zero here).
    let e = Expected::unbound(tee::danger::SkipReportDataCheck).with_init_data(Some(&[1; 32]));
    assert!(matches!(tee::sgx::verify_raw_quote(&q, &e, &s, at), Err(Error::InitDataMismatch { .. })));
    // A TDX quote is not SGX evidence.
    assert!(matches!(
        tee::sgx::verify_raw_quote(&read("dcap/tdx_quote_v4.bin"), &none(), &s, at),
        Err(Error::Malformed { .. })
    ));
    // Truncated.
    assert!(matches!(tee::sgx::verify_raw_quote(&q[..1000], &none(), &s, at), Err(Error::Malformed { .. })));
}

// ---------------------------------------------------------------- TDX

const TDX4_MRTD: &str =
    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const TDX4_RTMR0: &str =
    "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0";
const TDX4_RTMR1: &str =
    "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378";
const TDX4_RD: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";

#[test]
fn tdx_v4_verifies_with_fields() {
    let q = read("dcap/tdx_quote_v4.bin");
    let want = hex::decode(TDX4_RD).unwrap();
    let c = tee::tdx::verify_raw_quote(&q, &rd(&want), &store(), T_2025_06_25).unwrap();
    assert_eq!(c.fields["mr_td"], TDX4_MRTD);
    assert_eq!(c.fields["rtmr0"], TDX4_RTMR0);
    assert_eq!(c.fields["rtmr1"], TDX4_RTMR1);
    assert_eq!(c.fields["quote_version"], 4);
    assert_eq!(c.fields["tcb_status"], "UpToDate");
    assert_eq!(c.fields["fmspc"], "B0C06F000000");
    assert_eq!(c.init_data, Some(vec![0; 48]));
    let ev = serde_json::to_vec(&tee::tdx::TdxEvidence {
        cc_eventlog: Some(base64_std(&read("other/CCEL_data"))),
        quote: base64_std(&q),
    })
    .unwrap();
    let v = tee::tdx::TdxVerifier::new(store(), Arc::new(FixedClock(T_2025_06_25)));
    let c2 = v.verify(&ev, &rd(&want)).unwrap();
    assert_eq!(c2.fields["mr_td"], TDX4_MRTD);
    assert!(c2.fields.contains_key("cc_eventlog_sha384"));
}

#[test]
fn tdx_v4_corruptions_rejected() {
    let q = read("dcap/tdx_quote_v4.bin");
    let s = store();
    let at = T_2025_06_25;
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &rd(&[0; 64]), &s, at), Err(Error::ReportDataMismatch { .. })));
    // TD quote body is 584 bytes; signature after 48 + 584 + 4.
    assert!(matches!(
        tee::tdx::verify_raw_quote(&flip(q.clone(), 636 + 7), &none(), &s, at),
        Err(Error::BadSignature { .. })
    ));
    // Flip in MRTD (offset 48 + 136).
    assert!(matches!(
        tee::tdx::verify_raw_quote(&flip(q.clone(), 48 + 136), &none(), &s, at),
        Err(Error::BadSignature { .. })
    ));
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &none(), &s, T_2025_08_01), Err(Error::CollateralExpired { .. })));
    let wrong = CollateralStore::with_root(read("dcap/other_root_ca.der"));
    wrong.insert_json(Tee::Tdx, &read("dcap/tdx_v4_collateral.json")).unwrap();
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &none(), &wrong, at), Err(Error::UntrustedChain { .. })));
    // The v5 platform's collateral (other FMSPC) does not serve this quote.
    let other = CollateralStore::new();
    other.insert_json(Tee::Tdx, &read("dcap/tdx_v5_collateral.json")).unwrap();
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &none(), &other, at), Err(Error::CollateralMissing { .. })));
    let e = Expected::unbound(tee::danger::SkipReportDataCheck).with_init_data(Some(&[9; 48]));
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &e, &s, at), Err(Error::InitDataMismatch { .. })));
    assert!(matches!(
        tee::tdx::verify_raw_quote(&read("dcap/sgx_quote_v3.bin"), &none(), &s, at),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn tdx_v5_signatures_verify_but_tcb_is_unrecognized() {
    // dcap-qvl's `tdx_quote_outdated` sample: a real v5 quote whose platform TCB matches no level
    // of its (real) TCB info. Every signature verifies; the TCB evaluation refuses it, as Intel's
    // QVL does. Corrupting the signature changes the error to BadSignature.
    let q = read("dcap/tdx_quote_v5.bin");
    assert_eq!(u16::from_le_bytes([q[0], q[1]]), 5);
    let s = store();
    let at = T_2026_03_01;
    match tee::tdx::verify_raw_quote(&q, &none(), &s, at) {
        Err(Error::Policy { reason, .. }) => assert!(reason.contains("No matching TCB level"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // v5 body: type(2) + size(4) + 584 (TD report 1.0) -> signature after 48 + 6 + 584 + 4.
    let body_len = u32::from_le_bytes([q[50], q[51], q[52], q[53]]) as usize;
    let sig_at = 48 + 6 + body_len + 4;
    assert!(matches!(
        tee::tdx::verify_raw_quote(&flip(q.clone(), sig_at + 3), &none(), &s, at),
        Err(Error::BadSignature { .. })
    ));
    assert!(matches!(tee::tdx::verify_raw_quote(&q, &none(), &s, T_2025_06_25), Err(Error::CollateralExpired { .. })));
    // Parsed fields of the v5 quote.
    let parsed = tee::dcap::parse_quote(Tee::Tdx, &q).unwrap();
    assert!(parsed.report.as_td10().is_some());
}

// ---------------------------------------------------------------- SEV-SNP

const SNP_MEASUREMENT: &str =
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c";
const SNP_CHIP_ID: &str = "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e";
const SNP_T: u64 = T_2025_06_25;

fn snp_ctx() -> SnpContext {
    SnpContext::default()
}

#[test]
fn snp_vcek_report_verifies_with_fields() {
    let raw = read("snp/test-report.bin");
    let vcek = read("snp/test-vcek.der");
    let want = hex::decode("ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2").unwrap();
    let c = tee::snp::verify_raw_report(&raw, Some(&vcek), &rd(&want), &snp_ctx(), SNP_T).unwrap();
    assert_eq!(c.fields["measurement"], SNP_MEASUREMENT);
    assert_eq!(c.fields["chip_id"], SNP_CHIP_ID);
    assert_eq!(c.fields["endorsement_key"], "VCEK");
    assert_eq!(c.fields["generation"], "Milan");
    assert_eq!(c.fields["vmpl"], 0);
    assert_eq!(c.fields["reported_tcb"]["microcode"], 115);
    // JSON evidence (trustee shape, report re-encoded by the sev crate) gives the same claims.
    let ev = tee::snp::evidence_json(&raw, Some((&vcek, tee::snp::VekKind::Vcek))).unwrap();
    let v = tee::snp::SnpVerifier::new(Arc::new(snp_ctx()), Arc::new(FixedClock(SNP_T)));
    assert_eq!(v.verify(&ev, &rd(&want)).unwrap(), c);
    // Without a cert chain, the offline VEK store supplies the VCEK.
    let ctx = snp_ctx();
    ctx.store.insert_der(&vcek).unwrap();
    let ev = tee::snp::evidence_json(&raw, None).unwrap();
    let v = tee::snp::SnpVerifier::new(Arc::new(ctx), Arc::new(FixedClock(SNP_T)));
    assert_eq!(v.verify(&ev, &rd(&want)).unwrap(), c);
}

#[test]
fn snp_sev_reencoding_is_faithful() {
    let raw = read("snp/test-report.bin");
    let ev = tee::snp::evidence_json(&raw, None).unwrap();
    let (re, _) = tee::snp::decode_evidence(&ev).unwrap();
    assert_eq!(&re[..tee::snp::SIGNED_LEN], &raw[..tee::snp::SIGNED_LEN]);
}

#[test]
fn snp_corruptions_rejected() {
    let raw = read("snp/test-report.bin");
    let vcek = read("snp/test-vcek.der");
    let ctx = snp_ctx();
    let v = |r: &[u8], e: &Expected<'_>, c: &SnpContext, t: u64| tee::snp::verify_raw_report(r, Some(&vcek), e, c, t);
    assert!(matches!(v(&raw, &rd(&[1; 32]), &ctx, SNP_T), Err(Error::ReportDataMismatch { .. })));
    // Signature bit (r starts at 0x2A0).
    assert!(matches!(v(&flip(raw.clone(), 0x2A0 + 3), &none(), &ctx, SNP_T), Err(Error::BadSignature { .. })));
    // Measurement bit (0x90).
    assert!(matches!(v(&flip(raw.clone(), 0x90), &none(), &ctx, SNP_T), Err(Error::BadSignature { .. })));
    // Reported TCB microcode (byte 7 of REPORTED_TCB at 0x180) differs from the VCEK's ucodeSPL.
    match v(&flip(raw.clone(), 0x187), &none(), &ctx, SNP_T) {
        Err(Error::TcbMismatch { field, .. }) => assert_eq!(field, "microcode"),
        other => panic!("{other:?}"),
    }
    // After the VCEK's notAfter (2030-01-24).
    assert!(matches!(v(&raw, &none(), &ctx, 1_900_000_000), Err(Error::CollateralExpired { .. })));
    // Wrong root: Genoa's ARK/ASK installed as the Milan root.
    let genoa = AmdRoots::roots_from_bundle(include_bytes!("../src/snp/genoa_ask_ark_asvk.pem")).unwrap();
    let wrong = SnpContext::new(AmdRoots::builtin().with_generation(Generation::Milan, genoa));
    assert!(matches!(v(&raw, &none(), &wrong, SNP_T), Err(Error::UntrustedChain { .. })));
    // A VCEK of another chip (Azure vector's Milan VCEK).
    let other = pem_to_der(&read("az-snp-vtpm/vcek.pem"));
    match tee::snp::verify_raw_report(&raw, Some(&other), &none(), &ctx, SNP_T) {
        Err(Error::TcbMismatch { field, .. }) => assert_eq!(field, "chip_id"),
        other => panic!("{other:?}"),
    }
    // Init data (HOST_DATA is zero).
    let e = Expected::unbound(tee::danger::SkipReportDataCheck).with_init_data(Some(&[3; 32]));
    assert!(matches!(v(&raw, &e, &ctx, SNP_T), Err(Error::InitDataMismatch { .. })));
    // No VCEK anywhere.
    assert!(matches!(
        tee::snp::verify_raw_report(&raw, None, &none(), &ctx, SNP_T),
        Err(Error::CollateralMissing { .. })
    ));
    assert!(matches!(v(&raw[..1000], &none(), &ctx, SNP_T), Err(Error::Malformed { .. })));
}

#[test]
fn snp_vlek_report_at_vmpl1() {
    let raw = read("snp/test-vlek-report.bin");
    let vlek = read("snp/test-vlek.der");
    // Default policy requires VMPL 0: the report (requested at VMPL 1) is refused.
    assert_eq!(
        tee::snp::verify_raw_report(&raw, Some(&vlek), &none(), &snp_ctx(), SNP_T),
        Err(Error::WrongVmpl { tee: Tee::Snp, expected: 0, found: 1 })
    );
    let mut ctx = snp_ctx();
    ctx.policy.vmpl = Some(1);
    let c = tee::snp::verify_raw_report(&raw, Some(&vlek), &none(), &ctx, SNP_T).unwrap();
    assert_eq!(c.fields["endorsement_key"], "VLEK");
    assert_eq!(c.fields["vmpl"], 1);
    assert!(matches!(
        tee::snp::verify_raw_report(&flip(raw, 0x2A0 + 10), Some(&vlek), &none(), &ctx, SNP_T),
        Err(Error::BadSignature { .. })
    ));
    // VLEK valid 2024-12-10 .. 2025-12-10.
    assert!(matches!(
        tee::snp::verify_raw_report(&read("snp/test-vlek-report.bin"), Some(&vlek), &none(), &ctx, 1_770_000_000),
        Err(Error::CollateralExpired { .. })
    ));
}

// ---------------------------------------------------------------- Azure SNP vTPM

fn az() -> tee::az_snp_vtpm::AzSnpVtpmVerifier {
    tee::az_snp_vtpm::AzSnpVtpmVerifier::new(Arc::new(snp_ctx()), Arc::new(FixedClock(SNP_T)))
}

#[test]
fn az_snp_vtpm_v1_v2_verify() {
    let c = az().verify(&read("az-snp-vtpm/evidence-v1.json"), &rd(b"challenge")).unwrap();
    assert_eq!(c.tee, Tee::AzSnpVtpm);
    assert_eq!(
        c.fields["measurement"],
        "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e"
    );
    assert_eq!(c.fields["pcr00"], "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced");
    let rd2 =
        hex::decode("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef")
            .unwrap();
    let c = az().verify(&read("az-snp-vtpm/evidence-v2.json"), &rd(&rd2)).unwrap();
    assert_eq!(c.fields["evidence_version"], 2);
    assert_eq!(
        c.fields["measurement"],
        "5b0ce64ad1c1f6375dbda5f760b98526ca1bcf91b8195091afc28e7b024251d68fe32e05af34048d6607678cd23283ff"
    );
}

#[test]
fn az_snp_vtpm_v0_genoa_verifies() {
    // Genoa VCEK -> built-in Genoa ASK/ARK.
    let c = az().verify(&read("az-snp-vtpm/evidence-genoa.json"), &none()).unwrap();
    assert_eq!(c.fields["generation"], "Genoa");
    assert_eq!(c.fields["evidence_version"], 0);
    assert_eq!(
        c.fields["measurement"],
        "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae"
    );
    assert_eq!(
        hex::encode(&c.report_data),
        "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f"
    );
    // A Genoa VCEK presented against Milan roots only is untrusted.
    let milan = AmdRoots::roots_from_bundle(include_bytes!("../src/snp/milan_ask_ark_asvk.pem")).unwrap();
    let wrong = tee::az_snp_vtpm::AzSnpVtpmVerifier::new(
        Arc::new(SnpContext::new(AmdRoots::builtin().with_generation(Generation::Genoa, milan))),
        Arc::new(FixedClock(SNP_T)),
    );
    assert!(matches!(
        wrong.verify(&read("az-snp-vtpm/evidence-genoa.json"), &none()),
        Err(Error::UntrustedChain { .. })
    ));
}

#[test]
fn az_snp_vtpm_corruptions_rejected() {
    let f = "az-snp-vtpm/evidence-v1.json";
    assert!(matches!(az().verify(&read(f), &rd(b"challengf")), Err(Error::ReportDataMismatch { .. })));
    let ev = edit_json(f, |v| {
        let s = v["tpm_quote"]["signature"].as_str().unwrap().to_string();
        v["tpm_quote"]["signature"] = flip_hex(&s, 17).into();
    });
    assert!(matches!(az().verify(&ev, &rd(b"challenge")), Err(Error::BadSignature { .. })));
    let ev = edit_json(f, |v| {
        let s = v["tpm_quote"]["pcrs"][4].as_str().unwrap().to_string();
        v["tpm_quote"]["pcrs"][4] = flip_hex(&s, 0).into();
    });
    assert!(matches!(az().verify(&ev, &rd(b"challenge")), Err(Error::BindingMismatch { .. })));
    // HCL variable data (holds the AK) no longer hashes to the SNP report data.
    use base64::Engine;
    let eng = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let ev = edit_json(f, |v| {
        let mut h = eng.decode(v["hcl_report"].as_str().unwrap().trim_end_matches('=')).unwrap();
        let at = tee::az_snp_vtpm::hcl::VAR_DATA_OFFSET + 40;
        h[at] ^= 1;
        v["hcl_report"] = eng.encode(h).into();
    });
    assert!(matches!(az().verify(&ev, &rd(b"challenge")), Err(Error::BindingMismatch { .. })));
    // SNP signature inside the HCL report.
    let ev = edit_json(f, |v| {
        let mut h = eng.decode(v["hcl_report"].as_str().unwrap().trim_end_matches('=')).unwrap();
        h[32 + 0x2A0 + 1] ^= 1;
        v["hcl_report"] = eng.encode(h).into();
    });
    assert!(matches!(az().verify(&ev, &rd(b"challenge")), Err(Error::BadSignature { .. })));
    let genoa = AmdRoots::roots_from_bundle(include_bytes!("../src/snp/genoa_ask_ark_asvk.pem")).unwrap();
    let wrong = tee::az_snp_vtpm::AzSnpVtpmVerifier::new(
        Arc::new(SnpContext::new(AmdRoots::builtin().with_generation(Generation::Milan, genoa))),
        Arc::new(FixedClock(SNP_T)),
    );
    assert!(matches!(wrong.verify(&read(f), &rd(b"challenge")), Err(Error::UntrustedChain { .. })));
}

/// Issue 13 item 1 on the real Azure SNP vTPM vectors: their quotes cover all 24 SHA-256 PCRs and
/// the claims are exactly those; a PCR value handed in beyond the quote's selection is refused.
#[test]
fn az_snp_vtpm_claims_exactly_the_quoted_pcrs() {
    let f = "az-snp-vtpm/evidence-v1.json";
    let c = az().verify(&read(f), &rd(b"challenge")).unwrap();
    let pcrs: Vec<String> = c.fields.keys().filter(|k| k.starts_with("pcr")).cloned().collect();
    assert_eq!(pcrs, (0..24).map(|i| format!("pcr{i:02}")).collect::<Vec<_>>());
    let ev = edit_json(f, |v| v["tpm_quote"]["pcrs"].as_array_mut().unwrap().push("ab".repeat(32).into()));
    let r = az().verify(&ev, &rd(b"challenge"));
    assert!(r.is_err(), "a 25th, unquoted PCR was accepted: {r:?}");
}

// ---------------------------------------------------------------- TPM

#[test]
fn tpm_quote_verifies_and_rejects_corruption() {
    let f = "tpm/tpm_evidence.json";
    let nonce =
        hex::decode("a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120")
            .unwrap();
    let c = unendorsed_tpm().verify(&read(f), &rd(&nonce)).unwrap();
    assert_eq!(c.fields["ak_endorsed"], false);
    assert_eq!(c.fields["pcr00"], "0000000000000000000000000000000000000000000000000000000000000000");
    assert!(matches!(unendorsed_tpm().verify(&read(f), &rd(&[7; 32])), Err(Error::ReportDataMismatch { .. })));
    use base64::Engine;
    let eng = base64::engine::general_purpose::STANDARD;
    let ev = edit_json(f, |v| {
        let mut s = eng.decode(v["tpm_quote"]["signature"].as_str().unwrap()).unwrap();
        s[20] ^= 1;
        v["tpm_quote"]["signature"] = eng.encode(s).into();
    });
    assert!(matches!(unendorsed_tpm().verify(&ev, &none()), Err(Error::BadSignature { .. })));
    let ev = edit_json(f, |v| {
        v["tpm_quote"]["pcrs"][0] = "01".repeat(32).into();
    });
    assert!(matches!(unendorsed_tpm().verify(&ev, &none()), Err(Error::BindingMismatch { .. })));
}

// ---------------------------------------------------------------- helpers

fn base64_std(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let s = std::str::from_utf8(pem).unwrap();
    let first = s.split("-----END CERTIFICATE-----").next().unwrap();
    let body: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

/// The TPM verifier with the explicit opt-in for AKs chained to nothing (claims: hardware false).
fn unendorsed_tpm() -> tee::tpm::TpmVerifier {
    tee::tpm::TpmVerifier::new(Vec::new(), std::sync::Arc::new(tee::clock::FixedClock(1_750_809_600)))
        .accept_unendorsed(tee::danger::AcceptUnendorsedTpm)
}
