//! Azure TDX vTPM (`az-tdx-vtpm`): trustee's real evidence from an Azure TDX CVM (v0 and v1 shapes
//! of one capture) verified with Intel collateral for its FMSPC (00806F050000), the measurements a
//! relying party needs, and every corruption rejected with a specific error.
#![allow(clippy::unwrap_used)] // tests may unwrap (project rule)
mod common;
use std::sync::Arc;

use base64::Engine;
use common::*;
use sha2::Digest;
use tee::clock::FixedClock;
use tee::dcap::CollateralStore;
use tee::{Error, Expected, Tee, Verifier};

/// 2025-11-01T00:00:00Z: inside the collateral window (2025-10-19T17:48:50Z .. 2025-11-12T10:45:32Z).
const T: u64 = 1_761_955_200;
/// 2025-11-20T00:00:00Z: TCB info, QE identity and PCK CRL past nextUpdate.
const T_EXPIRED: u64 = 1_763_596_800;
/// 2025-10-01T00:00:00Z: before the TCB info was issued.
const T_EARLY: u64 = 1_759_276_800;

const V0: &str = "az-tdx-vtpm/evidence-v0.json";
const V1: &str = "az-tdx-vtpm/evidence-v1.json";
const COLLATERAL: &str = "az-tdx-vtpm/tdx_00806F050000_collateral.json";
const NONCE: &[u8] = b"challenge";

const MRTD: &str = "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b";
const MRSEAM: &str = "360304d34a16aace0a18e09ad2d07d2b9fd3c174378e5bf108388079827f89ff62acc5f8c473dd40706324834e202946";
const PCR00: &str = "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273";
const PCR01: &str = "b851a04a29f4296fa3cfd58da742ee5192b8acaf0afb3934d9a44df61bb4f981";
const PCR04: &str = "1d3b1cb141906329dd8ab09584214a88dffaf839ed14c8ef677a6bcf6ea27a02";
const PCR07: &str = "4d98d960d39753d97c718812eb4baa6c4bae9eca0365d6100393bf227d91f894";
const PCR14: &str = "e3991b7ddd47be7e92726a832d6874c5349b52b789fa0db8b558c69fea29574e";

fn az_store() -> Arc<CollateralStore> {
    let s = CollateralStore::new();
    s.insert_json(Tee::AzTdxVtpm, &read(COLLATERAL)).unwrap();
    Arc::new(s)
}

fn verifier_at(t: u64) -> tee::az_tdx_vtpm::AzTdxVtpmVerifier {
    tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(az_store(), Arc::new(FixedClock(t)))
}

fn az() -> tee::az_tdx_vtpm::AzTdxVtpmVerifier {
    verifier_at(T)
}

fn rd(b: &[u8]) -> Expected<'_> {
    Expected::new(b)
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Evidence v1 with one bit of a base64url binary field (`hcl_report` / `td_quote`) flipped.
fn flip_b64(field: &str, at: usize) -> Vec<u8> {
    edit_json(V1, |v| {
        let mut b = B64.decode(v[field].as_str().unwrap().trim_end_matches('=')).unwrap();
        b[at] ^= 1;
        v[field] = B64.encode(b).into();
    })
}

fn reason(e: &Error) -> String {
    e.to_string()
}

#[test]
fn v0_and_v1_verify_with_measurements() {
    let c1 = az().verify(&read(V1), &rd(NONCE)).unwrap();
    assert_eq!(c1.tee, Tee::AzTdxVtpm);
    assert!(c1.hardware);
    assert_eq!(c1.report_data, NONCE);
    let f = &c1.fields;
    assert_eq!(f["mr_td"], MRTD);
    for r in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"] {
        assert_eq!(f[r], "00".repeat(48), "{r}");
    }
    assert_eq!(f["mr_seam"], MRSEAM);
    assert_eq!(f["td_attributes"], "0000000000000000");
    assert_eq!(f["xfam"], "e718060000000000");
    assert_eq!(f["sept_ve_disable"], false);
    assert_eq!(f["debug"], false);
    assert_eq!(f["tee_tcb_svn"], "02010600000000000000000000000000");
    assert_eq!(f["quote_version"], 4);
    assert_eq!(f["fmspc"], "00806F050000");
    // dcap-qvl does not report the status of a TD without SEPT_VE_DISABLE (see dcap docs).
    assert_eq!(f["tcb_status"], "Unknown");
    assert_eq!(f["tcb_status_reported"], false);
    assert!(f["advisory_ids"].is_null());
    assert_eq!(f["evidence_version"], 1);
    assert_eq!(f["pcr00"], PCR00);
    assert_eq!(f["pcr01"], PCR01);
    assert_eq!(f["pcr04"], PCR04);
    assert_eq!(f["pcr07"], PCR07);
    assert_eq!(f["pcr14"], PCR14);
    assert_eq!(f["pcr17"], "ff".repeat(32));
    assert_eq!(c1.init_data.as_deref(), Some(&[0u8; 32][..]));
    // TD report data = SHA-256(HCL variable data) || 0^32.
    let ev = tee::az_tdx_vtpm::decode_evidence(&read(V1)).unwrap();
    let h = tee::az_tdx_vtpm::parse_hcl(&ev.hcl_report).unwrap();
    let mut want = sha2::Sha256::digest(h.var_data).to_vec();
    want.resize(64, 0);
    assert_eq!(f["td_report_data"], hex::encode(&want));
    assert_eq!(
        &f["td_report_data"].as_str().unwrap()[..64],
        "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839"
    );

    // The v0 (byte-array) shape of the same capture gives the same claims.
    let mut c0 = az().verify(&read(V0), &rd(NONCE)).unwrap();
    assert_eq!(c0.fields.remove("evidence_version"), Some(serde_json::json!(0)));
    let mut c1b = c1.clone();
    c1b.fields.remove("evidence_version");
    assert_eq!(c0, c1b);

    // Through the VerifierSet every hardware verifier is in.
    let set = tee::VerifierSet::all_hardware(
        az_store(),
        Arc::new(tee::snp::SnpContext::default()),
        vec![],
        Arc::new(FixedClock(T)),
    );
    assert!(set.tees().contains(&Tee::AzTdxVtpm));
    assert_eq!(set.verify(Tee::AzTdxVtpm, &read(V1), &rd(NONCE)).unwrap(), c1);
    // Without an expected nonce the claims still carry the quote's extraData.
    assert_eq!(
        az().verify(&read(V1), &Expected::unbound(tee::danger::SkipReportDataCheck)).unwrap().report_data,
        NONCE
    );
}

#[test]
fn committed_binaries_are_the_evidence_parts() {
    let ev = tee::az_tdx_vtpm::decode_evidence(&read(V1)).unwrap();
    let ev0 = tee::az_tdx_vtpm::decode_evidence(&read(V0)).unwrap();
    assert_eq!(ev.hcl_report, read("az-tdx-vtpm/hcl-report.bin"));
    assert_eq!(ev.td_quote, read("az-tdx-vtpm/td-quote.bin"));
    assert_eq!(ev0.hcl_report, ev.hcl_report);
    assert_eq!(ev0.td_quote, ev.td_quote);
    assert_eq!(
        (&ev0.tpm_quote.signature, &ev0.tpm_quote.message, &ev0.tpm_quote.pcrs),
        (&ev.tpm_quote.signature, &ev.tpm_quote.message, &ev.tpm_quote.pcrs)
    );
    let tq: serde_json::Value = serde_json::from_slice(&read("az-tdx-vtpm/tpm-quote-v1.json")).unwrap();
    let v1: serde_json::Value = serde_json::from_slice(&read(V1)).unwrap();
    assert_eq!(tq, v1["tpm_quote"]);
    // quote.bin: the same TPM quote, bincode (u64 LE length-prefixed signature, then message).
    let qb = read("az-tdx-vtpm/quote.bin");
    let sig = &ev.tpm_quote.signature;
    assert_eq!(u64::from_le_bytes(qb[..8].try_into().unwrap()), sig.len() as u64);
    assert_eq!(&qb[8..8 + sig.len()], &sig[..]);
    let m = 8 + sig.len();
    let msg = &ev.tpm_quote.message;
    assert_eq!(u64::from_le_bytes(qb[m..m + 8].try_into().unwrap()), msg.len() as u64);
    assert_eq!(&qb[m + 8..m + 8 + msg.len()], &msg[..]);
}

#[test]
fn wrong_nonce_rejected() {
    let e = az().verify(&read(V1), &rd(b"challengf")).unwrap_err();
    assert!(matches!(e, Error::ReportDataMismatch { .. }), "{e:?}");
    let e = az().verify(&read(V0), &rd(b"challenge!")).unwrap_err();
    assert!(matches!(e, Error::ReportDataMismatch { .. }), "{e:?}");
    // Declared v2: the HCL user-data (zeros in this capture) must start with the nonce too.
    let ev = edit_json(V1, |v| v["version"] = 2.into());
    let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::ReportDataMismatch { ref found, .. } if found.starts_with("0000")), "{e:?}");
}

#[test]
fn flipped_td_quote_signature_rejected() {
    // Quote signature: after header 48 + TD report 584 + signature-data length 4.
    let e = az().verify(&flip_b64("td_quote", 636 + 5), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BadSignature { tee: Tee::AzTdxVtpm, .. }), "{e:?}");
    // MRTD in the signed quote body.
    let e = az().verify(&flip_b64("td_quote", 48 + 136 + 3), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e:?}");
    // QE report signature (after the attestation key: 636 + 64 + 64 + 2 + 4 + 384).
    let e = az().verify(&flip_b64("td_quote", 636 + 128 + 6 + 384 + 7), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e:?}");
}

#[test]
fn flipped_tpm_quote_signature_rejected() {
    let ev = edit_json(V1, |v| {
        let s = v["tpm_quote"]["signature"].as_str().unwrap().to_string();
        v["tpm_quote"]["signature"] = flip_hex(&s, 17).into();
    });
    let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BadSignature { ref what, .. } if what.contains("TPM")), "{e:?}");
    // The signed TPMS_ATTEST (its extraData).
    let ev = edit_json(V1, |v| {
        let s = v["tpm_quote"]["message"].as_str().unwrap().to_string();
        v["tpm_quote"]["message"] = flip_hex(&s, 40).into();
    });
    let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BadSignature { ref what, .. } if what.contains("TPM")), "{e:?}");
}

#[test]
fn altered_hcl_runtime_data_rejected() {
    // A byte of the variable data (the AK JWK) no longer hashes to the TD report data.
    let at = tee::azure_vtpm::hcl::VAR_DATA_OFFSET + 60;
    let e = az().verify(&flip_b64("hcl_report", at), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { ref reason, .. } if reason.contains("variable data")), "{e:?}");
    // An AK swapped for another key in the JSON likewise.
    let ev = edit_json(V1, |v| {
        let mut b = B64.decode(v["hcl_report"].as_str().unwrap().trim_end_matches('=')).unwrap();
        let s = String::from_utf8_lossy(&b).into_owned();
        let i = s.find("HCLEkPub").unwrap();
        b[i..i + 8].copy_from_slice(b"HCLAkPub");
        let j = s.find("HCLAkPub").unwrap();
        b[j..j + 8].copy_from_slice(b"HCLEkPub");
        v["hcl_report"] = B64.encode(b).into();
    });
    let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { .. }), "{e:?}");
}

#[test]
fn hcl_td_report_must_be_the_quoted_one() {
    use tee::azure_vtpm::hcl::{tdreport, HEADER_LEN};
    // MRTD in the HCL's TDINFO.
    let e = az().verify(&flip_b64("hcl_report", HEADER_LEN + tdreport::TDINFO.start + 16 + 2), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { ref reason, .. } if reason.contains("TDINFO")), "{e:?}");
    // Report data in the HCL's REPORTMACSTRUCT.
    let e = az().verify(&flip_b64("hcl_report", HEADER_LEN + tdreport::REPORT_DATA.start), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { ref reason, .. } if reason.contains("report data")), "{e:?}");
    // MRSEAM in TEE_TCB_INFO.
    let e =
        az().verify(&flip_b64("hcl_report", HEADER_LEN + tdreport::TEE_TCB_INFO.start + 20), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::BindingMismatch { ref reason, .. } if reason.contains("TEE_TCB_INFO")), "{e:?}");
    // An HCL report claiming to hold an SNP report.
    let at = tee::azure_vtpm::hcl::IGVM_OFFSET + 8;
    let ev = edit_json(V1, |v| {
        let mut b = B64.decode(v["hcl_report"].as_str().unwrap().trim_end_matches('=')).unwrap();
        b[at] = 2;
        v["hcl_report"] = B64.encode(b).into();
    });
    let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

#[test]
fn altered_pcr_rejected() {
    for (i, at) in [(0usize, 0usize), (8, 31), (23, 5)] {
        let ev = edit_json(V1, |v| {
            let s = v["tpm_quote"]["pcrs"][i].as_str().unwrap().to_string();
            v["tpm_quote"]["pcrs"][i] = flip_hex(&s, at).into();
        });
        let e = az().verify(&ev, &rd(NONCE)).unwrap_err();
        assert!(
            matches!(e, Error::BindingMismatch { ref reason, .. } if reason.contains("pcrDigest")),
            "PCR {i}: {e:?}"
        );
    }
    // Too few PCRs for the quote's selection.
    let ev = edit_json(V1, |v| {
        v["tpm_quote"]["pcrs"].as_array_mut().unwrap().truncate(20);
    });
    assert!(matches!(az().verify(&ev, &rd(NONCE)), Err(Error::Malformed { .. })));
}

/// Issue 13 item 1: the claims are exactly the quoted PCRs (all 24 in this capture); a PCR value
/// the quote does not cover is refused.
#[test]
fn claims_exactly_the_quoted_pcrs() {
    let c = az().verify(&read(V1), &rd(NONCE)).unwrap();
    let pcrs: Vec<String> = c.fields.keys().filter(|k| k.starts_with("pcr")).cloned().collect();
    assert_eq!(pcrs, (0..24).map(|i| format!("pcr{i:02}")).collect::<Vec<_>>());
    let ev = edit_json(V1, |v| v["tpm_quote"]["pcrs"].as_array_mut().unwrap().push("ab".repeat(32).into()));
    let r = az().verify(&ev, &rd(NONCE));
    assert!(r.is_err(), "a 25th, unquoted PCR was accepted: {r:?}");
}

#[test]
fn wrong_root_rejected() {
    let s = CollateralStore::with_root(read("dcap/other_root_ca.der"));
    s.insert_json(Tee::AzTdxVtpm, &read(COLLATERAL)).unwrap();
    let v = tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(Arc::new(s), Arc::new(FixedClock(T)));
    let e = v.verify(&read(V1), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::UntrustedChain { tee: Tee::AzTdxVtpm, .. }), "{e:?}");
}

#[test]
fn collateral_missing_or_out_of_window_rejected() {
    // The SGX/TDX sample collateral does not cover FMSPC 00806F050000: refused, as for `tdx`.
    let v = tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(store(), Arc::new(FixedClock(T)));
    let e = v.verify(&read(V1), &rd(NONCE)).unwrap_err();
    assert_eq!(e, Error::CollateralMissing { tee: Tee::AzTdxVtpm, key: "tdx/fmspc=00806F050000".into() });
    for t in [T_EXPIRED, T_EARLY] {
        let e = verifier_at(t).verify(&read(V1), &rd(NONCE)).unwrap_err();
        assert!(matches!(e, Error::CollateralExpired { .. }), "{t}: {e:?}");
    }
}

#[test]
fn init_data_is_pcr8() {
    let exp = Expected::new(NONCE).with_init_data(Some(&[1; 32]));
    let e = az().verify(&read(V1), &exp).unwrap_err();
    assert!(matches!(e, Error::InitDataMismatch { .. }), "{e:?}");
}

#[test]
fn malformed_and_foreign_evidence_rejected() {
    let e = az().verify(&read("az-snp-vtpm/evidence-v1.json"), &rd(NONCE)).unwrap_err();
    assert!(matches!(e, Error::Malformed { tee: Tee::AzTdxVtpm, .. }), "{e:?}");
    let ev = edit_json(V1, |v| v["version"] = 3.into());
    assert!(matches!(az().verify(&ev, &rd(NONCE)), Err(Error::Unsupported { .. })));
    let ev = edit_json(V1, |v| v["td_quote"] = "!!".into());
    assert!(matches!(az().verify(&ev, &rd(NONCE)), Err(Error::Malformed { .. })));
    // An SGX quote in place of the TD quote.
    let sgx = read("dcap/sgx_quote_v3.bin");
    let ev = edit_json(V1, |v| v["td_quote"] = B64.encode(&sgx).into());
    let s = CollateralStore::new();
    s.insert_json(Tee::AzTdxVtpm, &read(COLLATERAL)).unwrap();
    s.insert_json(Tee::Sgx, &read("dcap/sgx_collateral.json")).unwrap();
    let v = tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(Arc::new(s), Arc::new(FixedClock(T)));
    assert!(matches!(v.verify(&ev, &rd(NONCE)), Err(Error::Malformed { .. })));
    let e = az().verify(b"{}", &rd(NONCE)).unwrap_err();
    assert!(reason(&e).contains("az-tdx-vtpm"), "{e}");
}

/// The only relaxation over `tdx`: dcap-qvl refuses this TD for its clear SEPT_VE_DISABLE bit, as
/// its last check. If a dcap-qvl update changes that behaviour, this test says so.
#[test]
fn plain_tdx_verifier_refuses_azure_td_for_sept_ve_disable_only() {
    let q = read("az-tdx-vtpm/td-quote.bin");
    let e = tee::tdx::verify_raw_quote(&q, &Expected::unbound(tee::danger::SkipReportDataCheck), &az_store(), T)
        .unwrap_err();
    assert!(matches!(e, Error::Policy { ref reason, .. } if reason.contains("SEPT_VE_DISABLE")), "{e:?}");
    // The relaxation does not hide other failures.
    let mut bad = q.clone();
    bad[636 + 5] ^= 1;
    let opts = tee::dcap::TdAttributePolicy { allow_sept_ve_enabled: true };
    let e = tee::dcap::verify_quote_with(Tee::Tdx, tee::dcap::QuoteKind::Tdx, &bad, &az_store(), T, opts).unwrap_err();
    assert!(matches!(e, Error::BadSignature { .. }), "{e:?}");
    // For a TD that sets the bit it changes nothing: the real TCB status is reported.
    let v4 = read("dcap/tdx_quote_v4.bin");
    let s = store();
    let a = tee::dcap::verify_quote(Tee::Tdx, tee::dcap::QuoteKind::Tdx, &v4, &s, T_2025_06_25).unwrap();
    let b = tee::dcap::verify_quote_with(Tee::Tdx, tee::dcap::QuoteKind::Tdx, &v4, &s, T_2025_06_25, opts).unwrap();
    assert_eq!(a.tcb_status, b.tcb_status);
    assert_ne!(b.tcb_status, tee::dcap::TCB_STATUS_UNKNOWN);
}
