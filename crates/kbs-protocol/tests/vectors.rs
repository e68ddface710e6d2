#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Wire-format vectors from the project spec and from upstream kbs-types tests
//! (tests/data/kbs/SOURCES.md).

use kbs_protocol::binding::{runtime_data_digest, HashAlg};
use kbs_protocol::jwk::TeePubKey;
use kbs_protocol::types::{Challenge, JweResponse, Request};
use kbs_protocol::{b64, jwe};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/data/kbs/vectors.json")).unwrap()
}

#[test]
fn spec_binding_vector() {
    let v = &vectors()["binding_sha384"];
    let pk = TeePubKey::from_value(&v["tee_pubkey"]).unwrap();
    let d = runtime_data_digest(
        HashAlg::Sha384,
        v["nonce"].as_str().unwrap(),
        &pk,
        v["additional_evidence"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(hex::encode(d), v["sha384"].as_str().unwrap());
}

#[test]
fn kbs_types_aad_and_response() {
    let v = vectors();
    let a = &v["kbs_types_aad"];
    assert_eq!(b64::url(a["header_json"].as_str().unwrap()), a["aad"].as_str().unwrap());
    // our RSA header is in the same canonical shape (alg, enc)
    assert!(jwe::rsa_header().starts_with("{\"alg\":"));
    let r: JweResponse = serde_json::from_value(v["kbs_types_response"].clone()).unwrap();
    let d = &v["kbs_types_response"]["decoded"];
    for (field, val) in
        [("encrypted_key", &r.encrypted_key), ("iv", &r.iv), ("ciphertext", &r.ciphertext), ("tag", &r.tag)]
    {
        assert_eq!(b64::url_decode("f", val).unwrap(), d[field].as_str().unwrap().as_bytes());
    }
    let req: Request = serde_json::from_str(v["kbs_types_request"].as_str().unwrap()).unwrap();
    assert_eq!((req.version.as_str(), req.tee.as_str()), ("0.0.0", "sev"));
    let ch: Challenge = serde_json::from_str(v["kbs_types_challenge"].as_str().unwrap()).unwrap();
    assert_eq!(ch.nonce, "42");
}

#[test]
fn jwk_member_rules() {
    let ok = serde_json::json!({"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":b64::url([1u8;32]),"y":b64::url([2u8;32])});
    assert!(TeePubKey::from_value(&ok).is_ok());
    let mut extra = ok.clone();
    extra["d"] = Value::String("secret".into());
    assert!(TeePubKey::from_value(&extra).is_err());
    let mut short = ok.clone();
    short["x"] = Value::String(b64::url([1u8; 31]));
    assert!(TeePubKey::from_value(&short).is_err());
    let mut curve = ok;
    curve["crv"] = Value::String("secp256k1".into());
    assert!(TeePubKey::from_value(&curve).is_err());
}
