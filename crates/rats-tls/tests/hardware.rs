#![allow(clippy::unwrap_used)]
//! Real hardware evidence through the RA-TLS certificate path: certificates whose DICE extension
//! carries real quotes / reports captured on hardware (tests/data/tee), verified by the `tee`
//! crate's real verifiers wired in `EvidenceVerifiers::hardware`. The evidence was not produced
//! for these certificates, so its report data cannot equal SHA-256(claims buffer): every check
//! before the binding passes (signatures, chains, collateral, TCB) and the binding is refused with
//! `ReportDataMismatch`; corrupting the evidence or moving the time changes the error to the
//! verifier's own variant, which proves the real verifier ran.

use std::path::PathBuf;
use std::sync::Arc;

use rats_tls::tls::{client_config, server_config};
use rats_tls::{dice, AttesterConfig, Error, EvidenceVerifiers, HardwareCollateral, PeerVerifier, RatsCertificate};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{ClientConnection, ServerConnection};
use sha2::{Digest, Sha256};
use tee::clock::FixedClock;

/// 2025-06-25T00:00:00Z: inside the SGX / TDX v4 collateral windows and the VCEK's validity.
const T_2025_06_25: u64 = 1_750_809_600;
/// 2025-08-01T00:00:00Z: after the DCAP collateral's nextUpdate.
const T_2025_08_01: u64 = 1_754_006_400;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tee").join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap()
}

/// Replays captured evidence as if it were this machine's.
struct Replay(tee::Tee, Vec<u8>);
impl tee::Attester for Replay {
    fn tee(&self) -> tee::Tee {
        self.0
    }
    fn evidence(&self, _rd: &[u8]) -> Result<tee::Evidence, tee::Error> {
        Ok(tee::Evidence { tee: self.0, bytes: self.1.clone() })
    }
}

fn cert(t: tee::Tee, ev: Vec<u8>) -> RatsCertificate {
    RatsCertificate::generate(&AttesterConfig::with_attester(Arc::new(Replay(t, ev))).claim("nonce", b"n1".to_vec()))
        .unwrap()
}

fn verifier(dir: &str, at: u64) -> PeerVerifier {
    let hw = HardwareCollateral::load(&data(dir), Arc::new(FixedClock(at))).unwrap();
    PeerVerifier::new(EvidenceVerifiers::hardware(hw))
}

/// SHA-256 of the certificate's claims buffer (what the evidence's report data must start with).
fn claims_hash(c: &RatsCertificate) -> String {
    let (_, x) = x509_parser::parse_x509_certificate(&c.cert_der).unwrap();
    let ext = x.extensions().iter().find(|e| e.oid.to_id_string() == "2.23.133.5.4.9").unwrap();
    let te = dice::parse_evidence_buffer(ext.value).unwrap();
    hex::encode(Sha256::digest(&te.claims_buffer))
}

fn tee_error(r: Result<rats_tls::PeerAttestation, Error>) -> Arc<tee::Error> {
    match r {
        Err(Error::EvidenceRejected(e)) => e,
        other => panic!("expected EvidenceRejected, got {other:?}"),
    }
}

fn now() -> UnixTime {
    UnixTime::now()
}

#[test]
fn real_sgx_quote_reaches_the_sgx_verifier_and_fails_only_the_binding() {
    let q = read("dcap/sgx_quote_v3.bin");
    let c = cert(tee::Tee::Sgx, q.clone());
    match &*tee_error(verifier("dcap", T_2025_06_25).verify_certificate(&c.cert_der, now())) {
        tee::Error::ReportDataMismatch { expected, expected_len, found, found_len } => {
            assert_eq!(expected, &claims_hash(&c));
            assert_eq!(*expected_len, 32);
            // The quote's real report data ("Hello, world!" from dcap-qvl's sample enclave).
            assert!(found.starts_with(&hex::encode(b"Hello, world!")), "{found}");
            assert_eq!(*found_len, 64);
        }
        e => panic!("{e:?}"),
    }
    // The same certificate after the collateral's nextUpdate: the DCAP verifier's expiry check.
    let e = tee_error(verifier("dcap", T_2025_08_01).verify_certificate(&c.cert_der, now()));
    assert!(matches!(*e, tee::Error::CollateralExpired { tee: tee::Tee::Sgx, .. }), "{e:?}");
    // A flipped bit in the quote's signature: the quote signature check.
    let mut bad = q.clone();
    bad[436 + 5] ^= 1;
    let e = tee_error(verifier("dcap", T_2025_06_25).verify_certificate(&cert(tee::Tee::Sgx, bad).cert_der, now()));
    assert!(matches!(*e, tee::Error::BadSignature { tee: tee::Tee::Sgx, .. }), "{e:?}");
    // hardware_only(): the verifier is there, the collateral is not.
    let e = tee_error(PeerVerifier::new(EvidenceVerifiers::hardware_only()).verify_certificate(&c.cert_der, now()));
    assert!(matches!(*e, tee::Error::CollateralMissing { tee: tee::Tee::Sgx, .. }), "{e:?}");
    // No verifier at all: refused naming the tag.
    let e = PeerVerifier::new(EvidenceVerifiers::empty()).verify_certificate(&c.cert_der, now()).unwrap_err();
    assert!(matches!(e, Error::NoVerifierForTag { tag: 60000, .. }), "{e:?}");
}

#[test]
fn real_tdx_quote_under_tag_60000_goes_to_the_tdx_verifier() {
    let q = read("dcap/tdx_quote_v4.bin");
    let c = cert(tee::Tee::Tdx, q);
    match &*tee_error(verifier("dcap", T_2025_06_25).verify_certificate(&c.cert_der, now())) {
        tee::Error::ReportDataMismatch { expected, found_len, .. } => {
            assert_eq!(expected, &claims_hash(&c));
            assert_eq!(*found_len, 64);
        }
        e => panic!("{e:?}"),
    }
    let e = tee_error(verifier("dcap", T_2025_08_01).verify_certificate(&c.cert_der, now()));
    assert!(matches!(*e, tee::Error::CollateralExpired { tee: tee::Tee::Tdx, .. }), "{e:?}");
}

#[test]
fn real_snp_report_under_tag_0x1a7504_goes_to_the_snp_verifier() {
    let r = read("snp/test-report.bin");
    let c = cert(tee::Tee::Snp, r.clone());
    // The collateral directory holds the report's VCEK (test-vcek.der) next to other files.
    match &*tee_error(verifier("snp", T_2025_06_25).verify_certificate(&c.cert_der, now())) {
        tee::Error::ReportDataMismatch { expected, found_len, .. } => {
            assert_eq!(expected, &claims_hash(&c));
            assert_eq!(*found_len, 64);
        }
        e => panic!("{e:?}"),
    }
    // Flipped bit in the report's signature (offset 0x2a0).
    let mut bad = r.clone();
    bad[0x2a0 + 3] ^= 1;
    let e = tee_error(verifier("snp", T_2025_06_25).verify_certificate(&cert(tee::Tee::Snp, bad).cert_der, now()));
    assert!(matches!(*e, tee::Error::BadSignature { tee: tee::Tee::Snp, .. }), "{e:?}");
    // No VCEK supplied.
    let e = tee_error(PeerVerifier::new(EvidenceVerifiers::hardware_only()).verify_certificate(&c.cert_der, now()));
    assert!(!matches!(*e, tee::Error::ReportDataMismatch { .. }), "{e:?}");
}

#[test]
fn real_sgx_quote_in_a_tls_handshake_is_refused_with_the_binding_error() {
    let server_cert = cert(tee::Tee::Sgx, read("dcap/sgx_quote_v3.bin"));
    let client_cert = RatsCertificate::generate(&AttesterConfig::null()).unwrap();
    let mut server = ServerConnection::new(Arc::new(server_config(&server_cert, None).unwrap())).unwrap();
    let mut client = ClientConnection::new(
        Arc::new(client_config(&client_cert, verifier("dcap", T_2025_06_25)).unwrap()),
        ServerName::try_from("127.0.0.1").unwrap(),
    )
    .unwrap();
    let mut client_err = None;
    for _ in 0..10 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).unwrap();
        }
        let _ = server.process_new_packets();
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).unwrap();
        }
        if let Err(e) = client.process_new_packets() {
            client_err = Some(e);
            break;
        }
    }
    let e = client_err.expect("the client must refuse the server's certificate");
    match Error::from_tls(&e) {
        Some(Error::EvidenceRejected(t)) => {
            assert!(matches!(*t, tee::Error::ReportDataMismatch { .. }), "{t:?}")
        }
        other => panic!("{e:?} -> {other:?}"),
    }
}

#[test]
fn collateral_path_without_collateral_is_an_error() {
    let clock = || -> Arc<dyn tee::clock::Clock> { Arc::new(FixedClock(T_2025_06_25)) };
    let empty = std::env::temp_dir().join(format!("rats-tls-empty-collateral-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let e = HardwareCollateral::load(&empty, clock()).err().expect("empty dir refused");
    assert!(e.to_string().contains("no DCAP collateral"), "{e}");
    std::fs::remove_dir_all(&empty).unwrap();
    assert!(HardwareCollateral::load(&empty, clock()).is_err());
    assert!(HardwareCollateral::load(&data("dcap"), clock()).is_ok());
    assert!(HardwareCollateral::load(&data("snp"), clock()).is_ok());
}
