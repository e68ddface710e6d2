//! The attester side: an ephemeral key and a self-signed certificate carrying evidence bound to it.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair, SerialNumber};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use tee::clock::{Clock, SystemClock};

use crate::{dice, Error};

/// The ephemeral key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256 (the C default).
    #[default]
    EcdsaP256,
    /// RSA-3072, PKCS#1 v1.5 with SHA-256 signatures on the certificate.
    Rsa3072,
}

/// What goes into the certificate.
#[derive(Clone)]
pub struct AttesterConfig {
    pub key: KeyAlgorithm,
    /// `None` is the null attester: a plain self-signed certificate without any evidence extension.
    pub attester: Option<Arc<dyn tee::Attester>>,
    /// Custom claims added to the claims buffer after `pubkey-hash`.
    pub custom_claims: Vec<(String, Vec<u8>)>,
    /// Certificate validity is computed from this clock (`tee`'s time seam), so tests can pin it.
    pub clock: Arc<dyn Clock>,
    /// Writes the evidence under this CBOR tag instead of the TEE's own (interop testing only; see
    /// [`crate::danger::InteropTagOverride`]).
    pub tag_override: Option<u64>,
}

impl std::fmt::Debug for AttesterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttesterConfig")
            .field("key", &self.key)
            .field("attester", &self.attester.as_ref().map(|a| a.tee()))
            .field("custom_claims", &self.custom_claims.iter().map(|c| &c.0).collect::<Vec<_>>())
            .finish()
    }
}

impl AttesterConfig {
    /// The null attester: P-256 key, no evidence.
    pub fn null() -> Self {
        AttesterConfig {
            key: KeyAlgorithm::default(),
            attester: None,
            custom_claims: Vec::new(),
            clock: Arc::new(SystemClock),
            tag_override: None,
        }
    }

    /// Evidence from `attester`, P-256 key.
    pub fn with_attester(attester: Arc<dyn tee::Attester>) -> Self {
        AttesterConfig { attester: Some(attester), ..Self::null() }
    }

    pub fn key(mut self, key: KeyAlgorithm) -> Self {
        self.key = key;
        self
    }

    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.custom_claims.push((name.into(), value.into()));
        self
    }

    /// Mislabels the evidence with another TEE's CBOR tag so a C peer running `-v nullverifier`
    /// parses the claims buffer and checks the key binding (the C side refuses unknown tags before
    /// that). Any real verifier then rejects the evidence.
    pub fn tag_override(mut self, tag: u64, _opt_in: crate::danger::InteropTagOverride) -> Self {
        self.tag_override = Some(tag);
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A generated RA-TLS identity: the certificate and its private key.
#[derive(Debug)]
pub struct RatsCertificate {
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivatePkcs8KeyDer<'static>,
    /// DER SubjectPublicKeyInfo of the key.
    pub spki_der: Vec<u8>,
}

impl RatsCertificate {
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }

    /// Generates a key and a certificate as the C rats-tls does (see `specs/rats-tls.md`).
    pub fn generate(cfg: &AttesterConfig) -> Result<Self, Error> {
        let gen = |e: rcgen::Error| Error::Generate(e.to_string());
        let key = match cfg.key {
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen)?,
            KeyAlgorithm::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072).map_err(gen)?
            }
        };
        let spki_der = key.public_key_der();

        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Inclavare Containers");
        dn.push(DnType::CommonName, "RATS-TLS");
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from_slice(&[1]));
        let now = cfg.clock.now();
        let not_before = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
        let not_after = now + Duration::from_secs(365 * 24 * 3600);
        params.not_before = time::OffsetDateTime::from(not_before);
        params.not_after = time::OffsetDateTime::from(not_after);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;

        if let Some(att) = &cfg.attester {
            let tag = cfg
                .tag_override
                .or_else(|| dice::tag_for_tee(att.tee()))
                .ok_or_else(|| Error::Generate(format!("no RA-TLS CBOR tag defined for {} evidence", att.tee())))?;
            let claims = dice::claims_buffer(&spki_der, &cfg.custom_claims)?;
            let report_data = Sha256::digest(&claims);
            let ev = att.evidence(&report_data).map_err(|e| Error::Attester(Arc::new(e)))?;
            let content = dice::evidence_buffer(tag, &ev.bytes, &claims)?;
            // Non-critical: OpenSSL peers reject certificates with critical extensions they do not know.
            let mut ext = CustomExtension::from_oid_content(dice::OID_TAGGED_EVIDENCE, content);
            ext.set_criticality(false);
            params.custom_extensions.push(ext);
        }

        let cert = params.self_signed(&key).map_err(gen)?;
        Ok(RatsCertificate {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
            spki_der,
        })
    }
}
