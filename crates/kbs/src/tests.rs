//! The RCAR engine driven peer to peer in memory (no sockets): our client-side pieces
//! (kbs-protocol + the software TEE attester) against `core::Kbs`, with an injected clock and RNG.

use std::sync::Arc;
use std::time::Duration;

use kbs_protocol::binding::{runtime_data_digest, HashAlg};
use kbs_protocol::jwk::{KeyKind, TeeKeyPair};
use kbs_protocol::types::{Challenge, JweResponse};
use kbs_protocol::{b64, jwe};
use serde_json::{json, Value};
use tee::clock::{Clock, ManualClock};
use tee::rng::SeqRng;
use tee::sample::SampleAttester;
use tee::{Attester, VerifierSet};

use crate::admin::AdminAuth;
use crate::attestation::AttestationService;
use crate::core::{Kbs, Limits};
use crate::ear::EarSigner;
use crate::rvps::Rvps;
use crate::store::{Backend, MemoryStore};
use crate::Error;

const T0: u64 = 1_800_000_000;

const ALLOW_SAMPLE: &str = r#"package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.veraison.annotated-evidence"].sample
"#;

struct Env {
    kbs: Kbs,
    clock: Arc<ManualClock>,
}

fn env_with(accept_sample: bool) -> Env {
    env_full(accept_sample, Limits::default())
}

/// A KBS in memory with `limits`, the software TEE accepted or not, and `default/key/1` set.
fn env_full(accept_sample: bool, limits: Limits) -> Env {
    let clock = Arc::new(ManualClock::at_unix(T0));
    let store: Arc<dyn Backend> = Arc::new(MemoryStore::default());
    let mut v = VerifierSet::hardware_only();
    if accept_sample {
        v = v.accept_software_tee(tee::danger::AcceptSoftwareTee);
    }
    let rvps = Arc::new(Rvps::new(store.clone(), clock.clone()).unwrap());
    let signer = EarSigner::new(None, "test".into(), 300).unwrap();
    let attestation = Arc::new(AttestationService::new(v, rvps, signer, clock.clone(), store.clone()).unwrap());
    let kbs = Kbs::new(
        limits,
        attestation,
        store,
        AdminAuth::new(vec![], vec![]),
        clock.clone(),
        Arc::new(SeqRng::default()),
    )
    .unwrap();
    kbs.set_resource("default/key/1", b"s3cret").unwrap();
    Env { kbs, clock }
}

fn env() -> Env {
    env_with(true)
}

fn allow_sample(k: &Kbs) {
    k.set_resource_policy(json!({"policy": b64::url(ALLOW_SAMPLE)}).to_string().as_bytes()).unwrap();
}

fn auth(k: &Kbs) -> (Challenge, String) {
    let o = k
        .auth(br#"{"version":"0.4.0","tee":"sample","extra-params":{"supported-hash-algorithms":["sha384"]}}"#)
        .unwrap();
    (o.challenge, o.session_id)
}

/// The Attestation body a guest-components client would send.
fn attestation_body(nonce: &str, kp: &TeeKeyPair, bind_nonce: &str) -> Vec<u8> {
    let pk = kp.public().unwrap();
    let d = runtime_data_digest(HashAlg::Sha384, bind_nonce, &pk, "").unwrap();
    let ev: Value = serde_json::from_slice(&SampleAttester::new().evidence(&d).unwrap().bytes).unwrap();
    serde_json::to_vec(&json!({
        "init-data": null,
        "runtime-data": {"nonce": nonce, "tee-pubkey": pk},
        "tee-evidence": {"primary_evidence": ev, "additional_evidence": ""},
    }))
    .unwrap()
}

fn handshake(k: &Kbs) -> (String, TeeKeyPair, String) {
    let (ch, id) = auth(k);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let out = k.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce)).unwrap();
    (id, kp, out.token)
}

fn fetch(k: &Kbs, cookie: Option<&str>, bearer: Option<&str>) -> Result<JweResponse, Error> {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let c = k.caller(cookie, auth.as_deref())?;
    k.get_resource(&c, "resource", "default/key/1", "")
}

/// tee's seams make a run replayable: two KBSes on the same fixed clock and seeded RNG hand out
/// the same session ids, nonces and expiry; JWE IVs come from the seam too (the ephemeral ECDH key
/// is aws-lc's own).
#[test]
fn clock_and_rng_seams_make_runs_replayable() {
    let (a, b) = (env(), env());
    let (oa, ob) = (auth_outcome(&a.kbs), auth_outcome(&b.kbs));
    assert_eq!(oa.session_id, ob.session_id);
    assert_eq!(oa.challenge.nonce, ob.challenge.nonce);
    assert_eq!(oa.expires, ob.expires);
    assert_eq!(oa.expires, std::time::UNIX_EPOCH + Duration::from_secs(T0) + Limits::default().session_timeout);
    // the next draw differs from the first
    assert_ne!(auth_outcome(&a.kbs).challenge.nonce, oa.challenge.nonce);
    let pk = TeeKeyPair::generate(KeyKind::EcP256).unwrap().public().unwrap();
    let (ja, jb) =
        (jwe::encrypt(&pk, b"x", &SeqRng::new(9)).unwrap(), jwe::encrypt(&pk, b"x", &SeqRng::new(9)).unwrap());
    assert_eq!(ja.iv, jb.iv);
}

fn auth_outcome(k: &Kbs) -> crate::core::AuthOutcome {
    k.auth(br#"{"version":"0.4.0","tee":"sample","extra-params":{"supported-hash-algorithms":["sha384"]}}"#).unwrap()
}

#[test]
fn full_flow_with_cookie_and_bearer() {
    let e = env();
    allow_sample(&e.kbs);
    let (id, kp, token) = handshake(&e.kbs);
    assert_eq!(kp.decrypt(&fetch(&e.kbs, Some(&id), None).unwrap()).unwrap(), b"s3cret");
    assert_eq!(kp.decrypt(&fetch(&e.kbs, None, Some(&token)).unwrap()).unwrap(), b"s3cret");
    // the token is an EAR with the TEE key where the KBS looks for it
    let claims: Value =
        serde_json::from_slice(&b64::url_decode("p", token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["eat_profile"], crate::ear::EAT_PROFILE);
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
    assert_eq!(
        claims.pointer(crate::ear::TEE_PUBKEY_POINTER).unwrap(),
        &serde_json::to_value(kp.public().unwrap()).unwrap()
    );
    // software TEE: hardware claim contraindicated, labelled
    assert_eq!(claims["submods"]["cpu0"]["ear.status"], "contraindicated");
    assert_eq!(claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["sample"]["software_tee"], true);
    // what resource policies see for the session (kept as a Rego value) is exactly the token's
    // claims, and the same as for a Bearer caller
    let session = e.kbs.caller(Some(&id), None).unwrap();
    assert_eq!(serde_json::to_value(&session.claims).unwrap(), claims);
    let bearer = e.kbs.caller(None, Some(&format!("Bearer {token}"))).unwrap();
    assert_eq!(session.claims, bearer.claims);
}

#[test]
fn sample_refused_without_opt_in_and_by_default_policy() {
    let e = env_with(false);
    let (ch, id) = auth(&e.kbs);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let r = e.kbs.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce));
    assert_eq!(r.err(), Some(Error::EvidenceRejected(tee::Error::VerifierNotEnabled(tee::Tee::Sample))));
    // opted in, but default resource policy
    let e = env();
    let (id, _, token) = handshake(&e.kbs);
    assert_eq!(fetch(&e.kbs, Some(&id), None).err(), Some(Error::PolicyDeny));
    assert_eq!(fetch(&e.kbs, None, Some(&token)).err(), Some(Error::PolicyDeny));
    assert_eq!(Error::PolicyDeny.status(), 403);
}

#[test]
fn replayed_and_foreign_nonces() {
    let e = env();
    let (ch1, id1) = auth(&e.kbs);
    let (ch2, _id2) = auth(&e.kbs);
    assert_ne!(ch1.nonce, ch2.nonce);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    // foreign nonce: evidence and runtime data for session 2's nonce sent on session 1
    let r = e.kbs.attest(Some(&id1), &attestation_body(&ch2.nonce, &kp, &ch2.nonce));
    assert_eq!(r.err(), Some(Error::NonceMismatch));
    // right nonce in runtime-data but evidence bound to another nonce
    let r = e.kbs.attest(Some(&id1), &attestation_body(&ch1.nonce, &kp, &ch2.nonce));
    assert!(matches!(r, Err(Error::EvidenceRejected(tee::Error::ReportDataMismatch { .. }))), "{r:?}");
    // replay of an old challenge's attestation on a fresh session
    let (_ch3, id3) = auth(&e.kbs);
    let r = e.kbs.attest(Some(&id3), &attestation_body(&ch1.nonce, &kp, &ch1.nonce));
    assert_eq!(r.err(), Some(Error::NonceMismatch));
    // unknown session
    let r = e.kbs.attest(Some("00"), &attestation_body(&ch1.nonce, &kp, &ch1.nonce));
    assert_eq!(r.err(), Some(Error::SessionNotFound));
}

#[test]
fn attest_without_cookie_and_fetch_before_attest() {
    let e = env();
    let (ch, id) = auth(&e.kbs);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    assert_eq!(e.kbs.attest(None, &attestation_body(&ch.nonce, &kp, &ch.nonce)).err(), Some(Error::MissingCookie));
    assert_eq!(fetch(&e.kbs, Some(&id), None).err(), Some(Error::TokenNotFound));
    assert_eq!(fetch(&e.kbs, None, None).err(), Some(Error::TokenNotFound));
    assert_eq!(Error::MissingCookie.status(), 401);
}

#[test]
fn already_attested_session_returns_stored_token() {
    let e = env();
    let (ch, id) = auth(&e.kbs);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let body = attestation_body(&ch.nonce, &kp, &ch.nonce);
    let t1 = e.kbs.attest(Some(&id), &body).unwrap().token;
    e.clock.advance(Duration::from_secs(2));
    let t2 = e.kbs.attest(Some(&id), &body).unwrap().token;
    assert_eq!(t1, t2);
}

#[test]
fn expired_session_and_token() {
    let e = env();
    allow_sample(&e.kbs);
    let (ch, id) = auth(&e.kbs);
    e.clock.advance(Duration::from_secs(301));
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    assert_eq!(
        e.kbs.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce)).err(),
        Some(Error::SessionExpired)
    );
    // expired session is gone
    assert_eq!(
        e.kbs.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce)).err(),
        Some(Error::SessionNotFound)
    );
    let (id, _, token) = handshake(&e.kbs);
    e.clock.advance(Duration::from_secs(299));
    assert!(fetch(&e.kbs, Some(&id), None).is_ok());
    e.clock.advance(Duration::from_secs(2));
    assert_eq!(fetch(&e.kbs, Some(&id), None).err(), Some(Error::SessionExpired));
    assert_eq!(fetch(&e.kbs, None, Some(&token)).err(), Some(Error::TokenExpired));
    // cleanup drops expired sessions
    let _ = auth(&e.kbs);
    e.clock.advance(Duration::from_secs(301));
    assert!(e.kbs.sessions.cleanup(e.clock.now()) >= 1);
    assert!(e.kbs.sessions.is_empty());
}

#[test]
fn jwk_with_extra_members_is_refused() {
    let e = env();
    let (ch, id) = auth(&e.kbs);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let mut body: Value = serde_json::from_slice(&attestation_body(&ch.nonce, &kp, &ch.nonce)).unwrap();
    body["runtime-data"]["tee-pubkey"]["kid"] = json!("x");
    let r = e.kbs.attest(Some(&id), &serde_json::to_vec(&body).unwrap());
    assert!(
        matches!(&r, Err(Error::MalformedRequest { reason, .. }) if reason.contains("unexpected member \"kid\"")),
        "{r:?}"
    );
    body["runtime-data"]["tee-pubkey"] = json!({"kty":"EC","crv":"P-256","alg":"ECDH-ES","x":"AA","y":"AA"});
    assert!(matches!(
        e.kbs.attest(Some(&id), &serde_json::to_vec(&body).unwrap()),
        Err(Error::MalformedRequest { .. })
    ));
}

#[test]
fn tampered_token_and_token_for_another_key() {
    let e = env();
    allow_sample(&e.kbs);
    let (_, kp, token) = handshake(&e.kbs);
    // swap the TEE key in the payload: signature breaks
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut claims: Value = serde_json::from_slice(&b64::url_decode("p", &parts[1]).unwrap()).unwrap();
    let attacker = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["runtime_data_claims"]["tee-pubkey"] =
        serde_json::to_value(attacker.public().unwrap()).unwrap();
    parts[1] = b64::url(serde_json::to_vec(&claims).unwrap());
    assert!(matches!(fetch(&e.kbs, None, Some(&parts.join("."))), Err(Error::TokenInvalid(_))));
    // a stolen valid token only yields ciphertext for the key inside it
    let r = fetch(&e.kbs, None, Some(&token)).unwrap();
    assert!(attacker.decrypt(&r).is_err());
    assert_eq!(kp.decrypt(&r).unwrap(), b"s3cret");
    // a token signed by someone else
    let other = EarSigner::new(None, "evil".into(), 300).unwrap();
    let (forged, _) = other
        .issue(
            T0,
            serde_json::Map::new(),
            "default",
            json!({"runtime_data_claims": {"tee-pubkey": attacker.public().unwrap()}, "sample": {}}),
        )
        .unwrap();
    assert!(matches!(fetch(&e.kbs, None, Some(&forged)), Err(Error::TokenInvalid(_))));
    assert!(matches!(fetch(&e.kbs, None, Some("not.a.token")), Err(Error::TokenInvalid(_))));
}

#[test]
fn resource_names_and_traversal() {
    let e = env();
    allow_sample(&e.kbs);
    let (id, _, _) = handshake(&e.kbs);
    let c = e.kbs.caller(Some(&id), None).unwrap();
    for bad in
        ["../etc/passwd", "default/../key", "a/b", "a/b/c/d", ".a/b/c", "a/b/c%2f", "a//c", "", "a/b/ c", "a/b/c\0"]
    {
        assert!(matches!(e.kbs.get_resource(&c, "resource", bad, ""), Err(Error::InvalidRequestPath { .. })), "{bad}");
        assert!(matches!(e.kbs.set_resource(bad, b"x"), Err(Error::InvalidRequestPath { .. })), "{bad}");
    }
    assert_eq!(
        e.kbs.get_resource(&c, "resource", "default/key/nope", "").err(),
        Some(Error::ResourceNotFound("default/key/nope".into()))
    );
    assert_eq!(e.kbs.get_resource(&c, "other", "default/key/1", "").err(), Some(Error::PluginNotFound("other".into())));
    e.kbs.set_resource("my_repo/key-type/v1.2", b"y").unwrap();
}

#[test]
fn malformed_requests() {
    let e = env();
    for body in [&b"{"[..], b"null", b"{\"version\":\"0.4.0\"}", b"\xff\xfe"] {
        assert!(matches!(e.kbs.auth(body), Err(Error::MalformedRequest { .. })));
    }
    assert_eq!(
        e.kbs.auth(br#"{"version":"0.3.0","tee":"sample","extra-params":""}"#).err(),
        Some(Error::UnsupportedVersion("0.3.0".into()))
    );
    assert_eq!(
        e.kbs.auth(br#"{"version":"0.4.0","tee":"quantum","extra-params":""}"#).err(),
        Some(Error::UnknownTee("quantum".into()))
    );
    let (_, id) = auth(&e.kbs);
    assert!(matches!(e.kbs.attest(Some(&id), b"{\"runtime-data\":{}}"), Err(Error::MalformedRequest { .. })));
    assert!(matches!(e.kbs.set_resource_policy(b"{\"policy\":\"!!\"}"), Err(Error::MalformedRequest { .. })));
    let bad_rego = json!({"policy": b64::url("package policy\nallow if {")}).to_string();
    assert!(matches!(e.kbs.set_resource_policy(bad_rego.as_bytes()), Err(Error::PolicyInvalid(_))));
}

#[test]
fn error_body_format() {
    let i = Error::PolicyDeny.info();
    assert_eq!(i.error_type, "https://github.com/confidential-containers/kbs/errors/PolicyDeny");
    assert_eq!(Error::InvalidRequestPath { path: "x".into() }.status(), 404);
    assert_eq!(
        Error::SessionExpired.info().error_type,
        "https://github.com/confidential-containers/kbs/errors/RcarAttestFailed"
    );
}

#[test]
fn attestation_policy_with_reference_values() {
    let e = env();
    let m = "ab".repeat(48);
    let pol = r#"package policy
import rego.v1
default executables := 33
executables := 3 if input.sample.measurement in query_reference_value("sample.measurement")
trust_claims := {"executables": executables}
"#;
    e.kbs
        .set_attestation_policy(
            json!({"type":"rego","policy_id":"default","policy":b64::url(pol)}).to_string().as_bytes(),
        )
        .unwrap();
    let strict = r#"package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.status"] == "affirming"
"#;
    e.kbs.set_resource_policy(json!({"policy": b64::url(strict)}).to_string().as_bytes()).unwrap();
    let run = |measured: &str| {
        let (ch, id) = auth(&e.kbs);
        let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
        let pk = kp.public().unwrap();
        let d = runtime_data_digest(HashAlg::Sha384, &ch.nonce, &pk, "").unwrap();
        let ev: Value =
            serde_json::from_slice(&SampleAttester::new().with_measurement(measured).evidence(&d).unwrap().bytes)
                .unwrap();
        let body = json!({"runtime-data": {"nonce": ch.nonce, "tee-pubkey": pk}, "tee-evidence": {"primary_evidence": ev, "additional_evidence": ""}});
        e.kbs.attest(Some(&id), body.to_string().as_bytes()).unwrap();
        fetch(&e.kbs, Some(&id), None).map(|r| kp.decrypt(&r).unwrap())
    };
    assert_eq!(run(&m).err(), Some(Error::PolicyDeny));
    let payload = b64::std(json!({"sample.measurement": [m.clone()]}).to_string());
    e.kbs
        .register_reference_value(json!({"version":"0.1.0","type":"sample","payload":payload}).to_string().as_bytes())
        .unwrap();
    assert_eq!(e.kbs.query_reference_value("sample.measurement").unwrap()["value"], json!([m.clone()]));
    assert_eq!(run(&m).unwrap(), b"s3cret");
    assert_eq!(run("cd").err(), Some(Error::PolicyDeny));
}

#[test]
fn init_data_is_bound_to_the_tee_field() {
    // The software TEE has no launch-time config field, so an init-data document can never be
    // bound for it: the KBS refuses rather than ignoring the init-data.
    let e = env();
    let (ch, id) = auth(&e.kbs);
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let mut body: Value = serde_json::from_slice(&attestation_body(&ch.nonce, &kp, &ch.nonce)).unwrap();
    body["init-data"] = json!({"format": "toml", "body": "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n"});
    assert!(matches!(
        e.kbs.attest(Some(&id), &serde_json::to_vec(&body).unwrap()),
        Err(Error::EvidenceRejected(tee::Error::InitDataMismatch { .. }))
    ));
    body["init-data"] = json!({"format": "toml", "body": "not toml ["});
    assert!(matches!(e.kbs.attest(Some(&id), &serde_json::to_vec(&body).unwrap()), Err(Error::InitData(_))));
}

#[test]
fn rsa_and_p521_keys() {
    let e = env();
    allow_sample(&e.kbs);
    for kind in [KeyKind::Rsa2048, KeyKind::EcP521] {
        let (ch, id) = auth(&e.kbs);
        let kp = TeeKeyPair::generate(kind).unwrap();
        e.kbs.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce)).unwrap();
        assert_eq!(kp.decrypt(&fetch(&e.kbs, Some(&id), None).unwrap()).unwrap(), b"s3cret");
    }
    let _ = jwe::ENC_A256GCM;
}

#[test]
fn standalone_attestation_service_api() {
    let e = env();
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let pk = kp.public().unwrap();
    let nonce = "bm9uY2U=";
    let d = runtime_data_digest(HashAlg::Sha384, nonce, &pk, "").unwrap();
    let ev = SampleAttester::new().evidence(&d).unwrap().bytes;
    let body = json!({"tee": "sample", "evidence": b64::url(&ev), "runtime_data": {"nonce": nonce, "tee-pubkey": pk}});
    let t = e.kbs.as_attest(body.to_string().as_bytes()).unwrap();
    assert!(e.kbs.attestation.signer.verify(&t, T0).is_ok());
    let body =
        json!({"tee": "sample", "evidence": b64::url(&ev), "runtime_data": {"nonce": "other", "tee-pubkey": pk}});
    assert!(matches!(e.kbs.as_attest(body.to_string().as_bytes()), Err(Error::EvidenceRejected(_))));
}

/// Where server time goes (run with --ignored --nocapture in release).
#[test]
#[ignore = "timing report, not a check"]
fn timing_breakdown() {
    let e = env();
    allow_sample(&e.kbs);
    let n = 2000;
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let t = std::time::Instant::now();
    let mut bodies = Vec::new();
    for _ in 0..n {
        let (ch, id) = auth(&e.kbs);
        bodies.push((id, attestation_body(&ch.nonce, &kp, &ch.nonce)));
    }
    let t_auth = t.elapsed();
    let t = std::time::Instant::now();
    for (id, b) in &bodies {
        e.kbs.attest(Some(id), b).unwrap();
    }
    let t_attest = t.elapsed();
    let t = std::time::Instant::now();
    for (id, _) in &bodies {
        fetch(&e.kbs, Some(id), None).unwrap();
    }
    let t_fetch = t.elapsed();
    println!("per op: auth+client evidence {:?} attest {:?} fetch {:?}", t_auth / n, t_attest / n, t_fetch / n);
}

#[test]
#[ignore = "timing report, not a check"]
fn timing_parts() {
    let e = env();
    allow_sample(&e.kbs);
    let (id, kp, _) = handshake(&e.kbs);
    let c = e.kbs.caller(Some(&id), None).unwrap();
    let n = 2000u32;
    let p = crate::policy::Policy::resource(ALLOW_SAMPLE).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        assert!(p.allows_value(&c.claims, "resource", "default/key/1", "").unwrap());
    }
    println!("resource policy {:?}", t.elapsed() / n);
    let pk = kp.public().unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        jwe::encrypt(&pk, b"s3cret", &tee::rng::SystemRng).unwrap();
    }
    println!("jwe {:?}", t.elapsed() / n);
    let ap =
        crate::policy::Policy::attestation(crate::attestation::DEFAULT_ATTESTATION_POLICY, Arc::new(|_: &str| vec![]))
            .unwrap();
    let input = serde_json::to_value(&c.claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        ap.trust_claims(&input).unwrap();
    }
    println!("attestation policy {:?}", t.elapsed() / n);
    let s = EarSigner::new(None, "x".into(), 300).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        s.issue(T0, serde_json::Map::new(), "default", input.clone()).unwrap();
    }
    println!("ear sign {:?}", t.elapsed() / n);
}

fn cpu_now() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

#[test]
#[ignore = "timing report, not a check"]
fn cpu_parts() {
    use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
    let n = 5000;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
    let peer = {
        let TeeKeyPair::Ec { key, .. } = &kp else { panic!() };
        key.compute_public_key().unwrap().as_ref().to_vec()
    };
    let c0 = cpu_now();
    for _ in 0..n {
        let k = EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let _ = k.compute_public_key().unwrap();
        agreement::agree_ephemeral(k, UnparsedPublicKey::new(&agreement::ECDH_P256, &peer), (), |z| Ok(z.len()))
            .unwrap();
    }
    let c1 = cpu_now();
    println!("ecdh keygen+agree cpu {:.1} us", (c1 - c0) * 1e6 / n as f64);
    let s = EarSigner::new(None, "x".into(), 300).unwrap();
    let c0 = cpu_now();
    for _ in 0..n {
        s.issue(T0, serde_json::Map::new(), "default", json!({})).unwrap();
    }
    println!("ear sign cpu {:.1} us", (cpu_now() - c0) * 1e6 / n as f64);
    let p = crate::policy::Policy::resource(ALLOW_SAMPLE).unwrap();
    let claims = json!({"submods": {"cpu0": {"ear.veraison.annotated-evidence": {"sample": {"svn": "1"}}}}});
    let c0 = cpu_now();
    for _ in 0..n {
        p.allows(&claims, "resource", "a/b/c", "").unwrap();
    }
    println!("resource policy cpu {:.1} us", (cpu_now() - c0) * 1e6 / n as f64);
    let ap =
        crate::policy::Policy::attestation(crate::attestation::DEFAULT_ATTESTATION_POLICY, Arc::new(|_: &str| vec![]))
            .unwrap();
    let c0 = cpu_now();
    for _ in 0..n {
        ap.trust_claims(&json!({"sample": {"svn": "1", "measurement": "ab"}})).unwrap();
    }
    println!("attestation policy cpu {:.1} us", (cpu_now() - c0) * 1e6 / n as f64);
}

#[test]
#[ignore = "timing report, not a check"]
fn policy_costs() {
    let n = 4000;
    let input = json!({"sample": {"svn": "1", "measurement": "ab", "report_data": "00", "hardware": false, "software_tee": true, "notice": "x"},
        "runtime_data_claims": {"nonce": "abc", "tee-pubkey": {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW", "x": "x", "y": "y"}}});
    for (name, src) in [
        ("default", crate::attestation::DEFAULT_ATTESTATION_POLICY),
        ("constant", "package policy\nimport rego.v1\ntrust_claims := {\"executables\": 3}\n"),
        ("one rule", "package policy\nimport rego.v1\ndefault executables := 33\nexecutables := 3 if { input.sample }\ntrust_claims := {\"executables\": executables}\n"),
    ] {
        let ap = crate::policy::Policy::attestation(src, Arc::new(|_: &str| vec![])).unwrap();
        let v = crate::policy::to_policy_value(&input).unwrap();
        let c0 = cpu_now();
        for _ in 0..n {
            ap.trust_claims_value(v.clone()).unwrap();
        }
        println!("attestation policy {name}: {:.1} us", (cpu_now() - c0) * 1e6 / n as f64);
    }
}

// ---- issue 13 (items 6, 9): session-table lockout and secrets at rest, driven in memory.
mod robustness {
    use super::*;

    fn env_limits(limits: Limits) -> Env {
        env_full(true, limits)
    }

    /// Item 9: a flood of bare `/auth` calls fills the unattested table; an attester that sends
    /// its evidence after the flood still gets through (oldest unattested sessions are evicted),
    /// and sessions attested before the flood keep working.
    #[test]
    fn session_flood_does_not_lock_out_attesters() {
        let limits = Limits { max_sessions: 100, ..Limits::default() };
        let e = env_limits(limits);
        allow_sample(&e.kbs);
        let (attested_before, kp_before, _) = handshake(&e.kbs);
        let (ch, id) = auth(&e.kbs);
        // the flood: ten times the table size of bare auths, none of them attests
        for _ in 0..1000 {
            e.kbs.auth(br#"{"version":"0.4.0","tee":"sample","extra-params":""}"#).expect("auth during a flood");
        }
        // an auth followed by attest succeeds while the table is full of unattested sessions
        let (id2, kp2, _) = handshake(&e.kbs);
        assert_eq!(kp2.decrypt(&fetch(&e.kbs, Some(&id2), None).unwrap()).unwrap(), b"s3cret");
        // the attested session from before the flood survived it
        assert_eq!(kp_before.decrypt(&fetch(&e.kbs, Some(&attested_before), None).unwrap()).unwrap(), b"s3cret");
        // the unattested session opened before the flood was the oldest: evicted
        let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
        assert_eq!(
            e.kbs.attest(Some(&id), &attestation_body(&ch.nonce, &kp, &ch.nonce)).err(),
            Some(Error::SessionNotFound)
        );
        assert!(e.kbs.sessions.len() <= 100 + 2, "table bounded: {}", e.kbs.sessions.len());
    }

    /// Item 6: the redb store is created 0600 whatever the umask, and an existing store with
    /// looser permissions is tightened on open.
    #[test]
    fn data_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let p = d.path().join("kbs.redb");
        drop(crate::store::RedbStore::open(&p).unwrap());
        assert_eq!(mode(&p), 0o600, "new store");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(crate::store::RedbStore::open(&p).unwrap());
        assert_eq!(mode(&p), 0o600, "existing store tightened");
        // generated TLS key (and certificate) in the data dir
        let (cert, _) = crate::server::tls_config(None, None, d.path()).unwrap();
        assert_eq!(mode(&d.path().join("tls-key.pem")), 0o600, "generated TLS key");
        assert_eq!(mode(&cert), 0o600, "generated TLS certificate");
    }
}

// =================================================================================================
// Issue 13, "kbs-policy" items: the default attestation policy (item 3) and tokens of the public
// Attestation Service endpoint at the resource endpoint (item 8). Its own module, to ease merging.
mod issue13_policy {
    use std::collections::HashMap;
    use std::path::Path;

    use serde_json::Map;
    use tee::clock::FixedClock;
    use tee::dcap::CollateralStore;
    use tee::snp::SnpContext;
    use tee::{Expected, Tee, Verifier};

    use super::*;
    use crate::attestation::{annotated_evidence, DEFAULT_ATTESTATION_POLICY};
    use crate::initdata;
    use crate::policy::{Policy, ReferenceLookup};

    // ---- real evidence (tests/data/tee, captured on hardware; see its SOURCES.md)

    fn data(rel: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tee").join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Inside the SGX / TDX v4 collateral windows and the VCEK's validity.
    const T_2025_06_25: u64 = 1_750_809_600;
    /// Inside the Azure TDX collateral window.
    const T_2025_11_01: u64 = 1_761_955_200;
    const TDX4_RD: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";
    const SNP_RD: &str = "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2";

    /// The report data each capture is bound to (the only place building `tee::Expected`).
    fn bound(rd: &[u8]) -> Expected<'_> {
        Expected::new(rd)
    }

    fn dcap(tee: Tee, files: &[&str]) -> Arc<CollateralStore> {
        let s = CollateralStore::new();
        for f in files {
            s.insert_json(tee, &data(f)).unwrap();
        }
        Arc::new(s)
    }

    fn tdx_claims() -> tee::Claims {
        let rd = hex::decode(TDX4_RD).unwrap();
        let s = dcap(Tee::Tdx, &["dcap/tdx_v4_collateral.json"]);
        tee::tdx::verify_raw_quote(&data("dcap/tdx_quote_v4.bin"), &bound(&rd), &s, T_2025_06_25).unwrap()
    }

    fn snp_claims() -> tee::Claims {
        let rd = hex::decode(SNP_RD).unwrap();
        let vcek = data("snp/test-vcek.der");
        tee::snp::verify_raw_report(
            &data("snp/test-report.bin"),
            Some(&vcek),
            &bound(&rd),
            &SnpContext::default(),
            T_2025_06_25,
        )
        .unwrap()
    }

    fn sgx_claims() -> tee::Claims {
        let s = dcap(Tee::Sgx, &["dcap/sgx_collateral.json"]);
        tee::sgx::verify_raw_quote(&data("dcap/sgx_quote_v3.bin"), &bound(b"Hello, world!"), &s, T_2025_06_25).unwrap()
    }

    fn az_snp_claims() -> tee::Claims {
        let v = tee::az_snp_vtpm::AzSnpVtpmVerifier::new(
            Arc::new(SnpContext::default()),
            Arc::new(FixedClock(T_2025_06_25)),
        );
        v.verify(&data("az-snp-vtpm/evidence-v1.json"), &bound(b"challenge")).unwrap()
    }

    fn az_tdx_claims() -> tee::Claims {
        let s = dcap(Tee::AzTdxVtpm, &["az-tdx-vtpm/tdx_00806F050000_collateral.json"]);
        let v = tee::az_tdx_vtpm::AzTdxVtpmVerifier::new(s, Arc::new(FixedClock(T_2025_11_01)));
        v.verify(&data("az-tdx-vtpm/evidence-v1.json"), &bound(b"challenge")).unwrap()
    }

    // ---- the default attestation policy over those claims

    /// Claims of one capture, the reference values registered for it, and optional init-data.
    struct Case {
        claims: tee::Claims,
        init: Option<initdata::Parsed>,
        rv: HashMap<String, Vec<Value>>,
    }

    impl Case {
        fn new(claims: tee::Claims) -> Self {
            Case { claims, init: None, rv: HashMap::new() }
        }

        /// Registers the capture's own value of each claim as `<tee>.<claim>` (what an operator
        /// records from a known-good launch).
        fn register(mut self, fields: &[&str]) -> Self {
            for f in fields {
                let v = self.claims.fields.get(*f).unwrap_or_else(|| panic!("no claim {f}")).clone();
                self.rv.insert(format!("{}.{f}", self.claims.tee.as_str()), vec![v]);
            }
            self
        }

        fn unregister(mut self, name: &str) -> Self {
            assert!(self.rv.remove(name).is_some(), "{name} was not registered");
            self
        }

        fn rv(mut self, name: &str, values: Value) -> Self {
            self.rv.insert(name.into(), values.as_array().unwrap().clone());
            self
        }

        /// One claim changed from the capture (the case the capture does not cover).
        fn claim(mut self, name: &str, v: Value) -> Self {
            assert!(self.claims.fields.contains_key(name), "no claim {name}");
            self.claims.fields.insert(name.into(), v);
            self
        }

        /// Init-data sent with the evidence. Its digest is put in the TEE's init-data field, as a
        /// host launching the guest with it would (the verifier checked that binding already).
        fn init_data(mut self, registered: bool) -> Self {
            let body =
                "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = \"package agent_policy\"\n";
            let p =
                initdata::parse(&kbs_protocol::types::InitData { format: "toml".into(), body: body.into() }).unwrap();
            let field = self.claims.init_data.as_mut().expect("this TEE has an init-data field");
            if self.claims.tee == Tee::AzSnpVtpm || self.claims.tee == Tee::AzTdxVtpm {
                // PCR 8 = SHA-256(0^32 || digest)
                let mut input = vec![0u8; 32];
                input.extend_from_slice(&p.digest);
                *field = HashAlg::Sha256.digest(&input);
            } else {
                field.fill(0);
                field[..p.digest.len()].copy_from_slice(&p.digest);
            }
            if registered {
                self.rv.insert("init_data".into(), vec![json!(hex::encode(&p.digest))]);
            }
            self.init = Some(p);
            self
        }

        /// A non-zero init-data field (MRCONFIGID / HOST_DATA / PCR 8) without an init-data document.
        fn host_set_init_field(mut self) -> Self {
            let field = self.claims.init_data.as_mut().expect("this TEE has an init-data field");
            field.fill(0x5a);
            self
        }

        fn vector(&self) -> Map<String, Value> {
            let rv = self.rv.clone();
            let lookup: ReferenceLookup = Arc::new(move |id: &str| rv.get(id).cloned().unwrap_or_default());
            let p = Policy::attestation(DEFAULT_ATTESTATION_POLICY, lookup).unwrap();
            let input = annotated_evidence(&self.claims, json!({"nonce": "n", "tee-pubkey": {}}), self.init.as_ref());
            p.trust_claims(&input).unwrap()
        }

        fn status(&self) -> &'static str {
            crate::ear::status(&self.vector())
        }
    }

    const TDX_CODE: [&str; 5] = ["mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3"];
    const AZ_PCRS: [&str; 5] = ["pcr00", "pcr02", "pcr04", "pcr09", "pcr11"];

    fn tdx_all() -> Case {
        Case::new(tdx_claims()).register(&TDX_CODE)
    }

    #[test]
    fn default_policy_tdx_affirming_with_every_reference_value() {
        // trustee-style positive case: every code measurement registered, UpToDate, debug off.
        let c = tdx_all();
        assert_eq!(c.claims.fields["tcb_status"], "UpToDate");
        assert_eq!(c.claims.fields["debug"], false);
        let v = c.vector();
        assert_eq!(
            (v["executables"].as_i64(), v["hardware"].as_i64(), v["configuration"].as_i64()),
            (Some(3), Some(2), Some(2))
        );
        assert_eq!(c.status(), "affirming");
        assert_eq!(tdx_all().init_data(true).status(), "affirming");
    }

    #[test]
    fn default_policy_tdx_missing_rtmr_reference_not_affirming() {
        for m in TDX_CODE {
            let c = tdx_all().init_data(true).unregister(&format!("tdx.{m}"));
            assert_eq!(c.vector()["executables"], 33, "{m}");
            assert_ne!(c.status(), "affirming", "{m} not registered");
        }
        // a registered value that is not the guest's
        let c = tdx_all().init_data(true).rv("tdx.rtmr2", json!(["00".repeat(48)]));
        assert_ne!(c.status(), "affirming");
    }

    #[test]
    fn default_policy_debug_is_contraindicated() {
        let c = tdx_all().init_data(true).claim("debug", json!(true));
        assert_eq!(c.vector()["configuration"], 96);
        assert_eq!(c.status(), "contraindicated");
        let snp = || Case::new(snp_claims()).register(&["measurement"]).init_data(true);
        assert_eq!(snp().status(), "affirming");
        assert_eq!(snp().claim("policy_debug_allowed", json!(true)).status(), "contraindicated");
        assert_eq!(snp().claim("policy_migrate_ma", json!(true)).status(), "contraindicated");
        let sgx = Case::new(sgx_claims())
            .register(&["mr_enclave"])
            .rv("sgx.tcb_status", json!(["ConfigurationAndSWHardeningNeeded"]));
        assert_eq!(sgx.claim("debug", json!(true)).status(), "contraindicated");
        let az = Case::new(az_snp_claims()).register(&["measurement"]).register(&AZ_PCRS);
        assert_eq!(az.claim("policy_debug_allowed", json!(true)).status(), "contraindicated");
    }

    #[test]
    fn default_policy_tcb_status_must_be_up_to_date_unless_named() {
        // The captured SGX quote's platform is ConfigurationAndSWHardeningNeeded.
        let sgx = || Case::new(sgx_claims()).register(&["mr_enclave"]);
        assert_eq!(sgx().claims.fields["tcb_status"], "ConfigurationAndSWHardeningNeeded");
        assert_eq!(sgx().vector()["hardware"], 32);
        assert_eq!(sgx().status(), "warning");
        assert_eq!(sgx().rv("sgx.tcb_status", json!(["ConfigurationAndSWHardeningNeeded"])).status(), "affirming");
        assert_eq!(sgx().rv("sgx.tcb_status", json!(["SWHardeningNeeded"])).status(), "warning");
        // TDX OutOfDate (the same capture, as if its TCB info had been superseded)
        let c = || tdx_all().claim("tcb_status", json!("OutOfDate"));
        assert_eq!(c().status(), "warning");
        assert_eq!(c().rv("tdx.tcb_status", json!(["SWHardeningNeeded"])).status(), "warning");
        assert_eq!(c().rv("tdx.tcb_status", json!(["OutOfDate"])).status(), "affirming");
        // a TCB status named for another TEE does not count
        assert_eq!(c().rv("sgx.tcb_status", json!(["OutOfDate"])).status(), "warning");
    }

    #[test]
    fn default_policy_init_data_digest_must_be_registered() {
        // The host sets MRCONFIGID / HOST_DATA: init-data merely matching them proves nothing.
        let c = tdx_all().init_data(false);
        assert_eq!(c.vector()["configuration"], 36);
        assert_ne!(c.status(), "affirming");
        let c = Case::new(snp_claims()).register(&["measurement"]).init_data(false);
        assert_ne!(c.status(), "affirming");
        // another digest registered
        let c = tdx_all().init_data(false).rv("init_data", json!(["ab".repeat(32)]));
        assert_ne!(c.status(), "affirming");
        // no init-data document, but the host put something in the init-data field
        assert_ne!(tdx_all().host_set_init_field().status(), "affirming");
        assert_ne!(Case::new(snp_claims()).register(&["measurement"]).host_set_init_field().status(), "affirming");
    }

    #[test]
    fn default_policy_snp_and_sgx_affirming_with_reference_values() {
        let snp = Case::new(snp_claims());
        assert_eq!(snp.claims.fields["policy_debug_allowed"], false);
        assert_ne!(Case::new(snp_claims()).status(), "affirming");
        assert_eq!(snp.register(&["measurement"]).status(), "affirming");
        let sgx = Case::new(sgx_claims()).rv("sgx.tcb_status", json!(["ConfigurationAndSWHardeningNeeded"]));
        assert_ne!(
            Case::new(sgx_claims()).rv("sgx.tcb_status", json!(["ConfigurationAndSWHardeningNeeded"])).status(),
            "affirming"
        );
        assert_eq!(sgx.register(&["mr_enclave"]).status(), "affirming");
    }

    #[test]
    fn default_policy_azure_vtpm_needs_code_pcrs() {
        let az = || Case::new(az_snp_claims()).register(&["measurement"]).register(&AZ_PCRS);
        assert_eq!(az().status(), "affirming");
        assert_eq!(az().init_data(true).status(), "affirming");
        assert_ne!(az().init_data(false).status(), "affirming");
        for p in AZ_PCRS {
            assert_ne!(az().unregister(&format!("az-snp-vtpm.{p}")).status(), "affirming", "{p}");
        }
        assert_ne!(az().unregister("az-snp-vtpm.measurement").status(), "affirming");
        // Azure TDX: the paravisor leaves SEPT_VE_DISABLE clear, so the TCB status is Unknown
        // and only an operator who names it gets an affirming result.
        let az = || Case::new(az_tdx_claims()).register(&["mr_td"]).register(&AZ_PCRS);
        assert_eq!(az().claims.fields["tcb_status"], "Unknown");
        assert_eq!(az().status(), "warning");
        let ok = || az().rv("az-tdx-vtpm.tcb_status", json!(["Unknown"]));
        assert_eq!(ok().status(), "affirming");
        assert_ne!(ok().unregister("az-tdx-vtpm.pcr04").status(), "affirming");
        assert_eq!(ok().claim("debug", json!(true)).status(), "contraindicated");
    }

    #[test]
    fn default_policy_software_tee_never_hardware_affirming() {
        let c = Case::new(tee::Claims {
            tee: Tee::Sample,
            hardware: false,
            report_data: vec![0; 64],
            init_data: None,
            fields: [("measurement".to_string(), json!("ab")), ("software_tee".to_string(), json!(true))]
                .into_iter()
                .collect(),
        })
        .register(&["measurement"]);
        let v = c.vector();
        assert_eq!(v["executables"], 3);
        assert_eq!(v["hardware"], 97);
        assert_eq!(c.status(), "contraindicated");
        // even claiming hardware does not make the software TEE's evidence hardware
        assert_eq!(c.claim("software_tee", json!(false)).vector()["hardware"], 97);
    }

    /// CPU per appraisal of the default policy (the KBS bench does one per flow).
    #[test]
    #[ignore = "timing report, not a check"]
    fn default_policy_cost() {
        let n = 20_000;
        let sample = json!({"sample": {"svn": "1", "measurement": "ab", "report_data": "00", "hardware": false, "software_tee": true},
            "runtime_data_claims": {"nonce": "abc", "tee-pubkey": {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW", "x": "x", "y": "y"}}});
        let tdx = tdx_all().init_data(true);
        let tdx_input = annotated_evidence(&tdx.claims, json!({"nonce": "n", "tee-pubkey": {}}), tdx.init.as_ref());
        let rv = tdx.rv.clone();
        let lookup: ReferenceLookup = Arc::new(move |id: &str| rv.get(id).cloned().unwrap_or_default());
        let p = Policy::attestation(DEFAULT_ATTESTATION_POLICY, lookup).unwrap();
        for (name, input) in [("sample", sample), ("tdx, all registered", tdx_input)] {
            let v = crate::policy::to_policy_value(&input).unwrap();
            let c0 = super::cpu_now();
            for _ in 0..n {
                p.trust_claims_value(v.clone()).unwrap();
            }
            println!("default attestation policy, {name}: {:.2} us", (super::cpu_now() - c0) * 1e6 / n as f64);
        }
    }

    // ---- item 8: tokens of the public AS endpoint do not unlock resources

    const AFFIRMING_ONLY: &str = r#"package policy
import rego.v1
default allow := false
allow if input.submods.cpu0["ear.status"] == "affirming"
"#;

    /// A lax attestation policy an operator might register for development.
    const DEV: &str =
        "package policy\nimport rego.v1\ntrust_claims := {\"executables\": 2, \"hardware\": 2, \"configuration\": 2}\n";

    fn as_token(k: &Kbs, kp: &TeeKeyPair, policy_id: Option<&str>) -> String {
        let pk = kp.public().unwrap();
        let nonce = "Y2FsbGVyLWNob3Nlbg==";
        let d = runtime_data_digest(HashAlg::Sha384, nonce, &pk, "").unwrap();
        let ev = SampleAttester::new().evidence(&d).unwrap().bytes;
        let mut body =
            json!({"tee": "sample", "evidence": b64::url(&ev), "runtime_data": {"nonce": nonce, "tee-pubkey": pk}});
        if let Some(p) = policy_id {
            body["policy_id"] = json!(p);
        }
        k.as_attest(body.to_string().as_bytes()).unwrap()
    }

    fn claims_of(token: &str) -> Value {
        serde_json::from_slice(&b64::url_decode("p", token.split('.').nth(1).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn as_token_under_lax_policy_cannot_fetch_resources() {
        let e = env();
        e.kbs.set_resource_policy(json!({"policy": b64::url(AFFIRMING_ONLY)}).to_string().as_bytes()).unwrap();
        e.kbs
            .set_attestation_policy(
                json!({"type": "rego", "policy_id": "dev", "policy": b64::url(DEV)}).to_string().as_bytes(),
            )
            .unwrap();
        let kp = TeeKeyPair::generate(KeyKind::EcP256).unwrap();
        let t = as_token(&e.kbs, &kp, Some("dev"));
        // the AS endpoint still works for relying parties: an affirming token under "dev"...
        assert_eq!(claims_of(&t)["submods"]["cpu0"]["ear.status"], "affirming");
        assert!(e.kbs.attestation.signer.verify(&t, T0).is_ok());
        // ...which the resource endpoint refuses as a Bearer token
        let r = fetch(&e.kbs, None, Some(&t));
        assert!(matches!(r, Err(Error::TokenNotForResources { .. })), "{r:?}");
        assert_eq!(r.err().map(|e| e.status()), Some(axum::http::StatusCode::UNAUTHORIZED));
        // same for a token under the default policy: the resource endpoint takes RCAR tokens only
        let t = as_token(&e.kbs, &kp, None);
        assert!(matches!(fetch(&e.kbs, None, Some(&t)), Err(Error::TokenNotForResources { .. })));
    }

    #[test]
    fn resource_token_must_name_the_kbs_audience_and_policy() {
        let e = env();
        allow_sample(&e.kbs);
        let (_, kp, token) = handshake(&e.kbs);
        let c = claims_of(&token);
        assert_eq!(c["aud"], crate::ear::KBS_RESOURCE_AUDIENCE);
        assert_eq!(c["submods"]["cpu0"]["ear.appraisal-policy-id"], "default");
        assert_eq!(kp.decrypt(&fetch(&e.kbs, None, Some(&token)).unwrap()).unwrap(), b"s3cret");
        // our key, our audience, but another appraisal policy
        let annotated = c["submods"]["cpu0"]["ear.veraison.annotated-evidence"].clone();
        let s = &e.kbs.attestation.signer;
        let (t, _) = s
            .issue_with_audience(T0, Map::new(), "dev", annotated.clone(), Some(crate::ear::KBS_RESOURCE_AUDIENCE))
            .unwrap();
        assert!(matches!(fetch(&e.kbs, None, Some(&t)), Err(Error::TokenNotForResources { .. })));
        let (t, _) = s.issue_with_audience(T0, Map::new(), "default", annotated.clone(), Some("kbs-admin")).unwrap();
        assert!(matches!(fetch(&e.kbs, None, Some(&t)), Err(Error::TokenNotForResources { .. })));
        let (t, _) = s
            .issue_with_audience(T0, Map::new(), "default", annotated, Some(crate::ear::KBS_RESOURCE_AUDIENCE))
            .unwrap();
        assert_eq!(kp.decrypt(&fetch(&e.kbs, None, Some(&t)).unwrap()).unwrap(), b"s3cret");
    }
}
