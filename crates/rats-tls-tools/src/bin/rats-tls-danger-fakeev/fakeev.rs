//! TEST ONLY: the `fakeev` evidence of the C rats-tls peer build's test plugins (attester and
//! verifier named `fakeev`), so that this implementation and the C one exchange real TCG DICE
//! evidence without TEE hardware. **It proves nothing**: the quote is a fixed, unsigned template
//! whose only variable part is the report data.
//!
//! Layout (the peer build's `fakeev_quote.h`, itself Intel's `sgx_quote3_t`), 452 bytes:
//!
//! | offset | bytes | content |
//! |---|---|---|
//! | 0 | 48 | header: version 3 (u16 LE), attestation key type 2 (ECDSA P-256), QE vendor id `939a7233f79c4ca9940a0db3957f0607` at 12, user data `RATS-TLS-FAKEEV` zero-padded at 28 |
//! | 48 | 384 | report body, zero except: MRENCLAVE (48+64) = 32 × `0xEE`, MRSIGNER (48+128) = 32 × `0x5E`, ISV product id (48+256) = 15, ISV SVN (48+258) = 1, report data (48+320, 64 bytes) = SHA-256(claims buffer) then zeros |
//! | 432 | 4 | signature data length = 16 (u32 LE) |
//! | 436 | 16 | `RATS-TLS-FAKEEV\0` (a marker where the signature would be) |
//!
//! The C verifier accepts only the byte-identical quote for the expected report data; so does
//! [`FakeevVerifier`], reporting a report-data difference as `ReportDataMismatch` and any other as
//! `Malformed`. The evidence travels under CBOR tag 60000 (Intel quote), which the quote header
//! (version 3, key type 2) sends to the SGX verifier slot.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::json;
use tee::{Claims, Evidence, Expected, Tee};

/// Length of a fakeev quote.
pub const QUOTE_LEN: usize = 452;
const MARKER: &[u8] = b"RATS-TLS-FAKEEV";
const QE_VENDOR_ID: [u8; 16] =
    [0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07];
const BODY: usize = 48;
const MR_ENCLAVE: Range<usize> = BODY + 64..BODY + 96;
const MR_SIGNER: Range<usize> = BODY + 128..BODY + 160;
const ISV_PROD_ID: usize = BODY + 256;
const ISV_SVN: usize = BODY + 258;
const REPORT_DATA: Range<usize> = BODY + 320..BODY + 384;
const SIG_LEN: usize = 432;
const SIG: usize = 436;
/// The SGX report-data field.
const REPORT_DATA_LEN: usize = 64;

/// The fakeev quote carrying `report_data` (the full 64-byte field).
pub fn quote(report_data: &[u8; REPORT_DATA_LEN]) -> Vec<u8> {
    let mut q = vec![0u8; QUOTE_LEN];
    q[0] = 3;
    q[2] = 2;
    q[12..28].copy_from_slice(&QE_VENDOR_ID);
    q[28..28 + MARKER.len()].copy_from_slice(MARKER);
    q[MR_ENCLAVE].fill(0xEE);
    q[MR_SIGNER].fill(0x5E);
    q[ISV_PROD_ID] = 0x0F;
    q[ISV_SVN] = 1;
    q[REPORT_DATA].copy_from_slice(report_data);
    q[SIG_LEN] = 16;
    q[SIG..SIG + MARKER.len()].copy_from_slice(MARKER);
    q
}

/// Which part of the quote a byte offset belongs to (for error messages).
fn field_at(off: usize) -> &'static str {
    match off {
        0..BODY => "header",
        o if MR_ENCLAVE.contains(&o) => "MRENCLAVE",
        o if MR_SIGNER.contains(&o) => "MRSIGNER",
        o if o == ISV_PROD_ID || o == ISV_PROD_ID + 1 => "ISV product id",
        o if o == ISV_SVN || o == ISV_SVN + 1 => "ISV SVN",
        o if o < SIG_LEN => "report body",
        o if o < SIG => "signature data length",
        _ => "signature marker",
    }
}

/// Produces fakeev quotes (tag 60000, SGX slot).
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeevAttester {
    /// Negative tests: flip one bit of the report data, so every fakeev verifier must refuse the quote.
    pub tamper_report_data: bool,
}

impl tee::Attester for FakeevAttester {
    fn tee(&self) -> Tee {
        Tee::Sgx
    }

    fn evidence(&self, report_data: &[u8]) -> Result<Evidence, tee::Error> {
        let padded = tee::report_data::pad(Tee::Sgx, report_data, REPORT_DATA_LEN)?;
        let mut field = [0u8; REPORT_DATA_LEN];
        field.copy_from_slice(&padded);
        if self.tamper_report_data {
            field[0] ^= 0x01;
        }
        Ok(Evidence { tee: Tee::Sgx, bytes: quote(&field) })
    }
}

/// Accepts exactly the fakeev quote for the expected report data. Its claims say `hardware: false`
/// and `fakeev: true`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeevVerifier;

impl tee::Verifier for FakeevVerifier {
    fn tee(&self) -> Tee {
        Tee::Sgx
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, tee::Error> {
        if evidence.len() != QUOTE_LEN {
            return Err(tee::Error::malformed(
                Tee::Sgx,
                format!("fakeev quote is {} bytes, expected {QUOTE_LEN}", evidence.len()),
            ));
        }
        let template = quote(&[0; REPORT_DATA_LEN]);
        let differs = (0..QUOTE_LEN).find(|&i| !REPORT_DATA.contains(&i) && evidence[i] != template[i]);
        if let Some(off) = differs {
            return Err(tee::Error::malformed(
                Tee::Sgx,
                format!("not a fakeev quote: byte {off} ({}) differs from the template", field_at(off)),
            ));
        }
        let report_data = &evidence[REPORT_DATA];
        if let Some(want) = expected.bound_report_data() {
            if want.len() > REPORT_DATA_LEN {
                return Err(tee::Error::ReportDataTooLong { tee: Tee::Sgx, len: want.len(), max: REPORT_DATA_LEN });
            }
            tee::report_data::check(want, report_data)?;
        }
        let fields = BTreeMap::from([
            ("fakeev".to_string(), json!(true)),
            ("mr_enclave".to_string(), json!(hex::encode(&evidence[MR_ENCLAVE]))),
            ("mr_signer".to_string(), json!(hex::encode(&evidence[MR_SIGNER]))),
            ("isv_prod_id".to_string(), json!(evidence[ISV_PROD_ID])),
            ("isv_svn".to_string(), json!(evidence[ISV_SVN])),
        ]);
        Ok(Claims { tee: Tee::Sgx, hardware: false, report_data: report_data.to_vec(), init_data: None, fields })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rats_tls::{dice, AttesterConfig, Error, EvidenceFormat, EvidenceVerifiers, PeerVerifier, RatsCertificate};
    use rustls::pki_types::UnixTime;
    use sha2::{Digest, Sha256};
    use tee::{Attester, Verifier};

    use super::*;

    /// A certificate the C peer's sample server sent with `-a fakeev` (rats-tls 6675532f with the peer
    /// build's fakeev plugins, captured with `openssl s_client -showcerts`); valid 2026-12-08 00:29:55
    /// to 2027-12-08 01:29:55 UTC.
    const C_CERT: &[u8] = include_bytes!("../../../tests/data/c-fakeev-server-cert.der");
    /// 2026-12-08 01:00:00 UTC, inside the captured certificate's validity.
    const C_CERT_TIME: u64 = 1_796_691_600;

    fn fakeev() -> PeerVerifier {
        PeerVerifier::new(EvidenceVerifiers::empty().with(Box::new(FakeevVerifier)))
    }

    fn tee_error(r: Result<rats_tls::PeerAttestation, Error>) -> Arc<tee::Error> {
        match r {
            Err(Error::EvidenceRejected(e)) => e,
            other => panic!("expected EvidenceRejected, got {other:?}"),
        }
    }

    #[test]
    fn quote_has_the_c_layout() {
        let q = FakeevAttester::default().evidence(&[0xAB; 32]).unwrap().bytes;
        assert_eq!(q.len(), 452);
        assert_eq!(&q[..4], &[3, 0, 2, 0], "version 3, key type 2");
        assert_eq!(&q[28..43], b"RATS-TLS-FAKEEV");
        assert_eq!(&q[112..144], &[0xEE; 32]);
        assert_eq!(&q[176..208], &[0x5E; 32]);
        assert_eq!((q[304], q[306]), (0x0F, 1));
        assert_eq!(&q[368..400], &[0xAB; 32]);
        assert_eq!(&q[400..432], &[0; 32]);
        assert_eq!(&q[432..436], &16u32.to_le_bytes());
        assert_eq!(&q[436..452], b"RATS-TLS-FAKEEV\0");
        assert_eq!(rats_tls::dice::tee_for_tag(dice::tag::INTEL_TEE_QUOTE, &q).unwrap(), Tee::Sgx);
    }

    #[test]
    fn verifier_checks_every_byte() {
        let rd = [7u8; 32];
        let q = quote(&tee::report_data::pad(Tee::Sgx, &rd, 64).unwrap().try_into().unwrap());
        let claims = FakeevVerifier.verify(&q, &Expected::new(&rd)).unwrap();
        assert!(!claims.hardware);
        assert_eq!(claims.fields["fakeev"], json!(true));
        assert_eq!(claims.fields["mr_enclave"], json!("ee".repeat(32)));

        let e = FakeevVerifier.verify(&q, &Expected::new(&[8u8; 32])).unwrap_err();
        assert!(matches!(e, tee::Error::ReportDataMismatch { expected_len: 32, found_len: 64, .. }), "{e:?}");
        let e = FakeevVerifier.verify(&q[..451], &Expected::new(&rd)).unwrap_err();
        assert!(matches!(e, tee::Error::Malformed { tee: Tee::Sgx, .. }), "{e:?}");
        for (off, what) in
            [(1, "header"), (120, "MRENCLAVE"), (180, "MRSIGNER"), (306, "ISV SVN"), (440, "signature marker")]
        {
            let mut bad = q.clone();
            bad[off] ^= 0x80;
            let e = FakeevVerifier.verify(&bad, &Expected::new(&rd)).unwrap_err();
            assert!(e.to_string().contains(what), "offset {off}: {e}");
        }
        let e = FakeevAttester::default().evidence(&[0; 65]).unwrap_err();
        assert_eq!(e, tee::Error::ReportDataTooLong { tee: Tee::Sgx, len: 65, max: 64 });
    }

    #[test]
    fn our_certificate_round_trips() {
        let cert = RatsCertificate::generate(
            &AttesterConfig::with_attester(Arc::new(FakeevAttester::default())).claim("key_0", b"value_0\0".to_vec()),
        )
        .unwrap();
        let p = fakeev().verify_certificate(cert.cert_der.as_ref(), UnixTime::now()).unwrap();
        assert_eq!(p.format, EvidenceFormat::Dice { tag: 60000 });
        assert_eq!(p.custom_claims["key_0"], b"value_0\0");
        assert_eq!(p.tee_claims.unwrap().fields["fakeev"], json!(true));
    }

    #[test]
    fn tampered_report_data_is_refused() {
        let att = FakeevAttester { tamper_report_data: true };
        let cert = RatsCertificate::generate(&AttesterConfig::with_attester(Arc::new(att))).unwrap();
        let e = tee_error(fakeev().verify_certificate(cert.cert_der.as_ref(), UnixTime::now()));
        assert!(matches!(*e, tee::Error::ReportDataMismatch { .. }), "{e:?}");
    }

    /// A certificate whose claims buffer is not the one the quote was made for (a claim changed after
    /// attesting), correctly self-signed so only the evidence check can catch it.
    #[test]
    fn tampered_claim_is_refused() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let spki = key.public_key_der();
        let quoted = dice::claims_buffer(&spki, &[("key_0".into(), b"value_0\0".to_vec())]).unwrap();
        let carried = dice::claims_buffer(&spki, &[("key_0".into(), b"value_X\0".to_vec())]).unwrap();
        let rd = tee::report_data::pad(Tee::Sgx, &Sha256::digest(&quoted), 64).unwrap();
        let ext = dice::evidence_buffer(dice::tag::INTEL_TEE_QUOTE, &quote(&rd.try_into().unwrap()), &carried).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.custom_extensions.push(rcgen::CustomExtension::from_oid_content(dice::OID_TAGGED_EVIDENCE, ext));
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let e = tee_error(fakeev().verify_certificate(&der, UnixTime::now()));
        assert!(matches!(*e, tee::Error::ReportDataMismatch { .. }), "{e:?}");
    }

    #[test]
    fn c_peer_certificate_is_accepted_only_by_the_fakeev_verifier() {
        let at = UnixTime::since_unix_epoch(Duration::from_secs(C_CERT_TIME));
        let p = fakeev().verify_certificate(C_CERT, at).unwrap();
        assert_eq!(p.format, EvidenceFormat::Dice { tag: 60000 });
        assert_eq!(p.custom_claims["key_1"], b"value_1\0");
        let claims = p.tee_claims.unwrap();
        assert_eq!((claims.tee, claims.hardware), (Tee::Sgx, false));
        assert_eq!(claims.fields["mr_signer"], json!("5e".repeat(32)));
        // What the shipped tools use: the hardware verifiers refuse it (no genuine signature/collateral).
        let shipped = PeerVerifier::new(EvidenceVerifiers::hardware_only());
        assert!(matches!(shipped.verify_certificate(C_CERT, at), Err(Error::EvidenceRejected(_))));
    }
}
