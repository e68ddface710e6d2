#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Arm CCA example token (trustee test data; Arm's example token signed with the published test
//! CPAK): verified, and each corruption rejected.
mod common;
use common::*;
use tee::{Error, Expected, Verifier};

const CHALLENGE: &str = "57e979ae2618de0c1ab73144c440d741cf9236dc9d52ed190053382a4d190252f9f0370403c35dcb155fb4362d73c66d5b0494bf939315d3dc52b8cdc8b85a96";
const RIM: &str = "ae87fbf7f105e71a7827cb6f0896889c73d2beaf4830d4f9cb05e3e96c3fc7b4faa04caf36a26bd094cf9c7b738617e4c189aaee184dedda5d7a03c39dbdac7c";

fn cpak() -> Vec<u8> {
    tee::cca::cpak_from_jwk(&read("other/cca-cpak-pub.json")).unwrap()
}

#[test]
fn cca_token_verifies() {
    let tok = read("other/cca-example-token.cbor");
    let ch = hex::decode(CHALLENGE).unwrap();
    let c = tee::cca::verify_token(&tok, &Expected::new(&ch), &[cpak()]).unwrap();
    assert_eq!(c.fields["realm_initial_measurement"], RIM);
    assert_eq!(c.fields["platform_profile"], "http://arm.com/CCA-SSD/1.0.0");
    assert_eq!(c.fields["platform_sw_components"][8]["type"], "RMM");
    let ev = serde_json::to_vec(&serde_json::json!({ "token": tok })).unwrap();
    assert_eq!(
        tee::cca::CcaVerifier::new(vec![cpak()])
            .verify(&ev, &Expected::unbound(tee::danger::SkipReportDataCheck))
            .unwrap()
            .report_data,
        ch
    );
}

#[test]
fn cca_corruptions_rejected() {
    let tok = read("other/cca-example-token.cbor");
    let none = Expected::unbound(tee::danger::SkipReportDataCheck);
    assert!(matches!(
        tee::cca::verify_token(&tok, &Expected::new(&[1; 64]), &[cpak()]),
        Err(Error::ReportDataMismatch { .. })
    ));
    assert!(matches!(
        tee::cca::verify_token(
            &tok,
            &Expected::unbound(tee::danger::SkipReportDataCheck).with_init_data(Some(&[1; 32])),
            &[cpak()]
        ),
        Err(Error::InitDataMismatch { .. })
    ));
    // Wrong trust anchor: another P-384 key (the realm's RAK) as the CPAK.
    let rak_as_cpak = {
        let t = tee::cca::parse_token(&tok).unwrap();
        let ciborium::Value::Map(m) = ciborium::de::from_reader::<ciborium::Value, _>(&t.realm.payload[..]).unwrap()
        else {
            panic!()
        };
        let raw = m
            .iter()
            .find(|(k, _)| *k == ciborium::Value::Integer(44237.into()))
            .map(|(_, v)| v.as_bytes().unwrap().clone())
            .unwrap();
        tee::cca::cose::ec_key(&raw).unwrap()
    };
    assert!(matches!(tee::cca::verify_token(&tok, &none, &[rak_as_cpak]), Err(Error::UntrustedChain { .. })));
    assert!(matches!(tee::cca::verify_token(&tok, &none, &[]), Err(Error::CollateralMissing { .. })));
    // Flip the last byte (realm token signature, the last element of the token).
    let mut bad = tok.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(matches!(tee::cca::verify_token(&bad, &none, &[cpak()]), Err(Error::BadSignature { .. })));
    // Flip a byte inside the platform token's signed payload (a software component measurement).
    let t = tee::cca::parse_token(&tok).unwrap();
    let needle = &t.platform.payload[t.platform.payload.len() - 40..t.platform.payload.len() - 8];
    let at = tok.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut bad = tok.clone();
    bad[at + 3] ^= 1;
    assert!(matches!(tee::cca::verify_token(&bad, &none, &[cpak()]), Err(Error::UntrustedChain { .. })));
    assert!(matches!(tee::cca::verify_token(&tok[..500], &none, &[cpak()]), Err(Error::Malformed { .. })));
}
