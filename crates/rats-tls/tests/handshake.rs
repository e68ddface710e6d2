#![allow(clippy::unwrap_used)]
//! Peer-to-peer RA-TLS handshakes in memory (no sockets), positive and negative.

use std::sync::Arc;
use std::time::Duration;

use rats_tls::tls::{client_config, peer_attestation, server_config};
use rats_tls::{
    danger, dice, AttesterConfig, Error, EvidenceFormat, EvidenceVerifiers, FixedClock, KeyAlgorithm, PeerAttestation,
    PeerVerifier, RatsCertificate,
};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{AlertDescription, ClientConnection, ServerConnection};
use sha2::{Digest, Sha256};
use tee::sample::SampleAttester;

fn sample_cert() -> RatsCertificate {
    RatsCertificate::generate(
        &AttesterConfig::with_attester(Arc::new(SampleAttester::new().with_measurement("ab".repeat(48))))
            .claim("key_0", b"value_0\0".to_vec())
            .claim("key_1", b"value_1\0".to_vec()),
    )
    .unwrap()
}

fn null_cert() -> RatsCertificate {
    RatsCertificate::generate(&AttesterConfig::null()).unwrap()
}

fn software() -> PeerVerifier {
    PeerVerifier::new(EvidenceVerifiers::empty().accept_software_tee(tee::danger::AcceptSoftwareTee))
}

/// Runs a handshake to completion or first error; returns (client result, server result).
fn handshake(
    server_cert: &RatsCertificate,
    client_verifier: Option<PeerVerifier>,
    client_cert: &RatsCertificate,
    server_verifier: PeerVerifier,
) -> (Result<(), rustls::Error>, Result<(), rustls::Error>, Option<ClientConnection>) {
    let mut server = ServerConnection::new(Arc::new(server_config(server_cert, client_verifier).unwrap())).unwrap();
    let mut client = ClientConnection::new(
        Arc::new(client_config(client_cert, server_verifier).unwrap()),
        ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    let (mut cres, mut sres) = (Ok(()), Ok(()));
    for _ in 0..20 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
            }
            if let Err(e) = server.process_new_packets() {
                sres = sres.and(Err(e));
            }
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
            }
            if let Err(e) = client.process_new_packets() {
                cres = cres.and(Err(e));
            }
        }
        // keep going until nobody has anything to send, so alerts reach the other side
        if !client.wants_write() && !server.wants_write() {
            break;
        }
    }
    (cres, sres, Some(client))
}

#[test]
fn software_tee_server_accepted_with_opt_in_and_claims_reach_policy() {
    let seen = Arc::new(std::sync::Mutex::new(None::<PeerAttestation>));
    let s2 = seen.clone();
    let v = software().with_policy(Arc::new(move |p: &PeerAttestation| {
        *s2.lock().unwrap() = Some(p.clone());
        Ok(())
    }));
    let srv = sample_cert();
    let (c, s, conn) = handshake(&srv, None, &null_cert(), v.clone());
    assert_eq!((c, s), (Ok(()), Ok(())));
    let p = seen.lock().unwrap().clone().unwrap();
    assert_eq!(p.format, EvidenceFormat::Dice { tag: dice::tag::SOFTWARE_TEE });
    assert_eq!(p.custom_claims["key_0"], b"value_0\0");
    assert_eq!(p.spki_sha256, <[u8; 32]>::from(Sha256::digest(&srv.spki_der)));
    let claims = p.tee_claims.unwrap();
    assert_eq!(claims.tee, tee::Tee::Sample);
    assert!(!claims.hardware);
    assert_eq!(claims.fields["measurement"], "ab".repeat(48));
    // The application can get the same attestation after the handshake.
    let again = peer_attestation(&v, &conn.unwrap()).unwrap();
    assert_eq!(again.custom_claims.len(), 2);
}

#[test]
fn software_tee_refused_without_opt_in() {
    let (c, _, _) =
        handshake(&sample_cert(), None, &null_cert(), PeerVerifier::new(EvidenceVerifiers::hardware_only()));
    let e = Error::from_tls(&c.unwrap_err()).unwrap();
    assert!(matches!(e, Error::NoVerifierForTag { tag: dice::tag::SOFTWARE_TEE, .. }), "{e:?}");
}

#[test]
fn null_attester_has_no_extension_and_is_refused_unless_null_verifier() {
    let n = null_cert();
    let (_, c) = x509_parser::parse_x509_certificate(&n.cert_der).unwrap();
    assert!(c.extensions().iter().all(|e| e.oid.to_id_string() != "2.23.133.5.4.9"));
    let (c, s, _) = handshake(&n, None, &null_cert(), software());
    assert_eq!(Error::from_tls(&c.unwrap_err()), Some(Error::NoEvidence));
    // the server sees the client's alert
    assert_eq!(s.unwrap_err(), rustls::Error::AlertReceived(AlertDescription::CertificateUnknown));
    let (c, s, _) = handshake(&n, None, &null_cert(), PeerVerifier::null(danger::AcceptWithoutEvidence));
    assert_eq!((c, s), (Ok(()), Ok(())));
}

#[test]
fn mutual_attestation_both_ways() {
    let (c, s, _) = handshake(&sample_cert(), Some(software()), &sample_cert(), software());
    assert_eq!((c, s), (Ok(()), Ok(())));
}

#[test]
fn mutual_required_but_client_has_no_evidence() {
    let (_, s, _) = handshake(&sample_cert(), Some(software()), &null_cert(), software());
    assert_eq!(Error::from_tls(&s.unwrap_err()), Some(Error::NoEvidence));
}

#[test]
fn policy_deny_is_access_denied() {
    let deny = software().with_policy(Arc::new(|p: &PeerAttestation| {
        if p.tee_claims.as_ref().is_some_and(|c| !c.hardware) {
            Err("software TEE not allowed here".to_string())
        } else {
            Ok(())
        }
    }));
    let (c, s, _) = handshake(&sample_cert(), None, &null_cert(), deny.clone());
    assert!(matches!(Error::from_tls(&c.unwrap_err()), Some(Error::PolicyDenied(_))));
    assert_eq!(s.unwrap_err(), rustls::Error::AlertReceived(AlertDescription::AccessDenied));
    // the typed reason is available to a direct caller
    let e = deny.verify_certificate(&sample_cert().cert_der, UnixTime::now()).unwrap_err();
    assert_eq!(e, Error::PolicyDenied("software TEE not allowed here".into()));
}

#[test]
fn rsa3072_key() {
    let cfg = AttesterConfig::with_attester(Arc::new(SampleAttester::new())).key(KeyAlgorithm::Rsa3072);
    let srv = RatsCertificate::generate(&cfg).unwrap();
    let (c, s, _) = handshake(&srv, None, &null_cert(), software());
    assert_eq!((c, s), (Ok(()), Ok(())));
}

fn flip(der: &[u8], at: usize) -> Vec<u8> {
    let mut v = der.to_vec();
    v[at] ^= 0x01;
    v
}

#[test]
fn tampered_certificate_rejected() {
    let cert = sample_cert();
    let der = cert.cert_der.as_ref();
    // a byte inside the evidence JSON (inside the TBS part)
    let pos = der.windows(6).position(|w| w == b"notice").unwrap();
    let e = software().verify_certificate(&flip(der, pos), UnixTime::now()).unwrap_err();
    assert!(matches!(e, Error::CertificateSignature(_)), "{e:?}");
    // the last byte of the signature
    let e = software().verify_certificate(&flip(der, der.len() - 1), UnixTime::now()).unwrap_err();
    assert!(matches!(e, Error::CertificateSignature(_) | Error::MalformedCertificate(_)), "{e:?}");
    // garbage
    assert!(matches!(
        software().verify_certificate(b"\x30\x03\x02\x01\x01", UnixTime::now()),
        Err(Error::MalformedCertificate(_))
    ));
}

/// A certificate for a fresh key carrying the evidence extension copied from another certificate.
fn cert_with_extension(content: Vec<u8>) -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::default();
    p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(dice::OID_TAGGED_EVIDENCE, content));
    p.self_signed(&key).unwrap().der().to_vec()
}

fn extension_of(der: &[u8]) -> Vec<u8> {
    let (_, c) = x509_parser::parse_x509_certificate(der).unwrap();
    let ext = c.extensions().iter().find(|e| e.oid.to_id_string() == "2.23.133.5.4.9").unwrap();
    assert!(!ext.critical, "the evidence extension must be non-critical");
    ext.value.to_vec()
}

#[test]
fn evidence_for_another_key_is_wrong_binding() {
    let stolen = extension_of(&sample_cert().cert_der);
    let e = software().verify_certificate(&cert_with_extension(stolen), UnixTime::now()).unwrap_err();
    assert!(matches!(e, Error::WrongBinding { what: "pubkey-hash", .. }), "{e:?}");
}

#[test]
fn evidence_not_matching_claims_buffer_is_rejected() {
    // evidence bound to a different claims buffer: report data mismatch inside the TEE verifier
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cb = dice::claims_buffer(&key.public_key_der(), &[]).unwrap();
    let ev = SampleAttester::new().evidence_for(&[9; 32]);
    let content = dice::evidence_buffer(dice::tag::SOFTWARE_TEE, &ev, &cb).unwrap();
    let mut p = rcgen::CertificateParams::default();
    p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(dice::OID_TAGGED_EVIDENCE, content));
    let der = p.self_signed(&key).unwrap().der().to_vec();
    let e = software().verify_certificate(&der, UnixTime::now()).unwrap_err();
    assert!(matches!(&e, Error::EvidenceRejected(t) if matches!(**t, tee::Error::ReportDataMismatch { .. })), "{e:?}");
}

trait EvidenceFor {
    fn evidence_for(&self, rd: &[u8]) -> Vec<u8>;
}
impl EvidenceFor for SampleAttester {
    fn evidence_for(&self, rd: &[u8]) -> Vec<u8> {
        tee::Attester::evidence(self, rd).unwrap().bytes
    }
}

#[test]
fn c_quirks_trailing_bytes_hash_what_was_received() {
    // Like Debian libcbor 0.8 builds of the C side: 19 stray bytes after the claims map (covered by
    // the report-data hash) and an extension sized by its allocation (1024 bytes).
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut cb = dice::claims_buffer(&key.public_key_der(), &[("key_0".into(), b"value_0\0".to_vec())]).unwrap();
    cb.extend_from_slice(&[0xaa; 19]);
    let ev = SampleAttester::new().evidence_for(&Sha256::digest(&cb));
    let mut content = dice::evidence_buffer(dice::tag::SOFTWARE_TEE, &ev, &cb).unwrap();
    content.resize(1024, 0);
    let mut p = rcgen::CertificateParams::default();
    p.custom_extensions.push(rcgen::CustomExtension::from_oid_content(dice::OID_TAGGED_EVIDENCE, content));
    let der = p.self_signed(&key).unwrap().der().to_vec();
    let a = software().verify_certificate(&der, UnixTime::now()).unwrap();
    assert_eq!(a.custom_claims["key_0"], b"value_0\0");
}

#[test]
fn validity_window_and_clock_seam() {
    let cert = RatsCertificate::generate(
        &AttesterConfig::with_attester(Arc::new(SampleAttester::new())).clock(Arc::new(FixedClock(1_800_000_000))),
    )
    .unwrap();
    let at = |s: u64| UnixTime::since_unix_epoch(Duration::from_secs(s));
    assert!(software().verify_certificate(&cert.cert_der, at(1_800_000_000)).is_ok());
    assert!(software().verify_certificate(&cert.cert_der, at(1_800_000_000 - 3500)).is_ok(), "notBefore is now - 1h");
    assert_eq!(
        software().verify_certificate(&cert.cert_der, at(1_800_000_000 - 3700)),
        Err(Error::CertificateNotYetValid)
    );
    assert_eq!(
        software().verify_certificate(&cert.cert_der, at(1_800_000_000 + 366 * 86400)),
        Err(Error::CertificateExpired)
    );
}

/// The verifier's clock (tee's seam) is the time of the handshake itself and of
/// `peer_attestation`: a certificate made at t0 passes at t0 and is expired a year and a day later.
#[test]
fn verifier_clock_reaches_handshake_and_peer_attestation() {
    let t0 = 1_800_000_000;
    let srv = RatsCertificate::generate(
        &AttesterConfig::with_attester(Arc::new(SampleAttester::new())).clock(Arc::new(FixedClock(t0))),
    )
    .unwrap();
    let at = |t: u64| software().with_clock(Arc::new(FixedClock(t)));
    let (c, s, conn) = handshake(&srv, None, &null_cert(), at(t0));
    assert_eq!((c, s), (Ok(()), Ok(())));
    assert!(peer_attestation(&at(t0), conn.as_ref().unwrap()).is_ok());
    assert_eq!(peer_attestation(&at(t0 + 366 * 86400), &conn.unwrap()), Err(Error::CertificateExpired));
    let (c, _, _) = handshake(&srv, None, &null_cert(), at(t0 + 366 * 86400));
    assert_eq!(Error::from_tls(&c.unwrap_err()), Some(Error::CertificateExpired));
    // mutual: the server checks the client's certificate at its own verifier's time
    let (_, s, _) = handshake(&sample_cert(), Some(at(1_000_000_000)), &sample_cert(), software());
    assert_eq!(Error::from_tls(&s.unwrap_err()), Some(Error::CertificateNotYetValid));
}

#[test]
fn certificate_shape_matches_c() {
    let cert = sample_cert();
    let (_, c) = x509_parser::parse_x509_certificate(&cert.cert_der).unwrap();
    assert_eq!(c.subject().to_string(), "O=Inclavare Containers, CN=RATS-TLS");
    assert_eq!(c.issuer(), c.subject());
    assert_eq!(c.raw_serial(), &[1]);
    let oids: Vec<String> = c.extensions().iter().map(|e| e.oid.to_id_string()).collect();
    for want in ["2.5.29.19", "2.5.29.14", "2.5.29.35", "2.23.133.5.4.9"] {
        assert!(oids.contains(&want.to_string()), "missing {want} in {oids:?}");
    }
    let bc = c.basic_constraints().unwrap().unwrap().value;
    assert!(!bc.ca);
    assert_eq!(c.validity().not_after.timestamp() - c.validity().not_before.timestamp(), 365 * 86400 + 3600);
    // the extension decodes as tag(0x1a75ff)([bstr, bstr]) and the claims buffer starts with pubkey-hash
    let te = dice::parse_evidence_buffer(&extension_of(&cert.cert_der)).unwrap();
    assert_eq!(te.tag, dice::tag::SOFTWARE_TEE);
    assert_eq!(&te.claims_buffer[1..13], b"\x6bpubkey-hash");
}

#[test]
fn c_null_attester_certificate_parses() {
    // Produced by the C rats-tls-server -a nullattester (tests/data/ratls/SOURCES.md).
    let der = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ratls/c-nullattester-server.der"))
        .unwrap();
    let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(c.validity().not_before.timestamp() as u64 + 7200));
    assert_eq!(software().verify_certificate(&der, now), Err(Error::NoEvidence));
    let a = PeerVerifier::null(danger::AcceptWithoutEvidence).verify_certificate(&der, now).unwrap();
    assert_eq!(a.format, EvidenceFormat::None);
}

/// Test double for the SGX verifier: checks only that the quote's report-data field (SGX quote v3,
/// offset 368) carries the expected binding. It does not check the quote's signature, so it is not a
/// verifier; it proves the legacy OID path extracts the quote and computes the binding the C side wrote.
struct QuoteReportDataProbe;
impl tee::Verifier for QuoteReportDataProbe {
    fn tee(&self) -> tee::Tee {
        tee::Tee::Sgx
    }
    fn verify(&self, evidence: &[u8], expected: &tee::Expected<'_>) -> Result<tee::Claims, tee::Error> {
        let field = &evidence[368..432];
        tee::report_data::check(expected.bound_report_data().unwrap_or_default(), field)?;
        Ok(tee::Claims {
            tee: tee::Tee::Sgx,
            hardware: true,
            report_data: field.to_vec(),
            init_data: None,
            fields: [("mr_enclave".to_string(), serde_json::Value::String(hex::encode(&evidence[112..144])))].into(),
        })
    }
}

#[test]
fn legacy_sgx_ra_tls_certificates_from_c_repo() {
    for name in ["rats-tls-cert-openssl-sample.der", "rats-tls-cert-sample.der"] {
        let der = std::fs::read(format!("{}/../../tests/data/ratls/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
        let now = UnixTime::since_unix_epoch(Duration::from_secs(c.validity().not_before.timestamp() as u64 + 60));
        // without an SGX verifier: refused, naming the TEE
        let e = software().verify_certificate(&der, now).unwrap_err();
        assert!(matches!(&e, Error::NoVerifierForTag { tag: 60000, what } if what.contains("sgx")), "{name}: {e:?}");
        let v = PeerVerifier::new(EvidenceVerifiers::hardware_only().with(Box::new(QuoteReportDataProbe)));
        let a = v.verify_certificate(&der, now).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.format, EvidenceFormat::Legacy { oid: rats_tls::legacy::SGX_ECDSA_QUOTE });
        // binding for RSA is SHA-256 of the PKCS#1 key, zero padded
        assert_eq!(a.tee_claims.unwrap().report_data[..32], rats_tls::legacy_binding(&c)[..]);
    }
}

/// Test double producing a quote-shaped blob (SGX quote v3 header, report data at 368); with the
/// probe above it shows that DICE tag 60000 evidence reaches the SGX slot of the verifier hook with
/// report data = SHA-256(claims buffer).
struct FakeSgxQuoteAttester;
impl tee::Attester for FakeSgxQuoteAttester {
    fn tee(&self) -> tee::Tee {
        tee::Tee::Sgx
    }
    fn evidence(&self, rd: &[u8]) -> Result<tee::Evidence, tee::Error> {
        let mut q = vec![0u8; 432];
        q[0] = 3;
        q[2] = 2;
        q[112..144].copy_from_slice(&[0x5a; 32]);
        q[368..368 + rd.len()].copy_from_slice(rd);
        Ok(tee::Evidence { tee: tee::Tee::Sgx, bytes: q })
    }
}

#[test]
fn hardware_hook_gets_tag_60000_with_claims_hash() {
    let cert = RatsCertificate::generate(
        &AttesterConfig::with_attester(Arc::new(FakeSgxQuoteAttester)).claim("nonce", b"n1".to_vec()),
    )
    .unwrap();
    let te = dice::parse_evidence_buffer(&extension_of(&cert.cert_der)).unwrap();
    assert_eq!(te.tag, dice::tag::INTEL_TEE_QUOTE);
    let v = PeerVerifier::new(EvidenceVerifiers::hardware_only().with(Box::new(QuoteReportDataProbe)));
    let a = v.verify_certificate(&cert.cert_der, UnixTime::now()).unwrap();
    let c = a.tee_claims.unwrap();
    assert_eq!(c.report_data[..32], Sha256::digest(&te.claims_buffer)[..]);
    assert_eq!(c.fields["mr_enclave"], "5a".repeat(32));
    assert_eq!(a.custom_claims["nonce"], b"n1");
    // without an SGX verifier enabled the same certificate is refused, naming the tag
    let e = software().verify_certificate(&cert.cert_der, UnixTime::now()).unwrap_err();
    assert!(matches!(e, Error::NoVerifierForTag { tag: 60000, .. }));
}
