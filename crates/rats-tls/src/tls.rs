//! rustls glue: certificate verifiers for both directions and config builders that use an explicit
//! aws-lc-rs provider (never the process-wide default).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

use crate::{Error, PeerAttestation, PeerVerifier, RatsCertificate};

/// rustls reads the time through this: the verifier's [`tee::clock::Clock`], so a handshake checks
/// certificate validity at the same time as [`peer_attestation`].
#[derive(Clone)]
struct ClockTime(Arc<dyn tee::clock::Clock>);

impl std::fmt::Debug for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClockTime")
    }
}

impl rustls::time_provider::TimeProvider for ClockTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(self.0.now_unix())))
    }
}

/// The crypto provider every RA-TLS config uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A rustls verifier (server or client certificates) running [`PeerVerifier`].
#[derive(Debug)]
pub struct RatsTlsVerifier {
    peer: PeerVerifier,
    algs: WebPkiSupportedAlgorithms,
    mandatory: bool,
}

impl RatsTlsVerifier {
    pub fn new(peer: PeerVerifier, provider: &CryptoProvider) -> Self {
        RatsTlsVerifier { peer, algs: provider.signature_verification_algorithms, mandatory: true }
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<PeerAttestation, rustls::Error> {
        if !intermediates.is_empty() {
            tracing::debug!("ignoring {} intermediate certificates sent with an RA-TLS leaf", intermediates.len());
        }
        self.peer.verify_certificate(end_entity.as_ref(), now).map_err(|e| {
            tracing::warn!("RA-TLS peer refused: {e}");
            e.to_tls()
        })
    }
}

impl ServerCertVerifier for RatsTlsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The server name is not checked: RA-TLS identity is the evidence, not a DNS name.
        self.check(end_entity, intermediates, now).map(|_| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl ClientCertVerifier for RatsTlsVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, now).map(|_| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl rustls::client::ResolvesClientCert for OneCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn certified_key(cert: &RatsCertificate, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, Error> {
    let key = provider
        .key_provider
        .load_private_key(cert.private_key())
        .map_err(|e| Error::Tls(format!("loading the ephemeral key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(vec![cert.cert_der.clone()], key)))
}

/// A server config presenting `cert`; with `client_verifier`, clients must present an RA-TLS
/// certificate that passes it (mutual attestation).
pub fn server_config(cert: &RatsCertificate, client_verifier: Option<PeerVerifier>) -> Result<ServerConfig, Error> {
    let provider = provider();
    let builder = match &client_verifier {
        Some(v) => ServerConfig::builder_with_details(provider.clone(), Arc::new(ClockTime(v.clock()))),
        None => ServerConfig::builder_with_provider(provider.clone()),
    };
    let builder = builder.with_safe_default_protocol_versions().map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match client_verifier {
        Some(v) => builder.with_client_cert_verifier(Arc::new(RatsTlsVerifier::new(v, &provider))),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(OneCert(certified_key(cert, &provider)?)));
    // Every connection attests afresh: no resumption that would skip the evidence check.
    cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    cfg.send_tls13_tickets = 0;
    Ok(cfg)
}

/// A client config checking the server with `server_verifier`, presenting `cert` when the server
/// asks for one.
pub fn client_config(cert: &RatsCertificate, server_verifier: PeerVerifier) -> Result<ClientConfig, Error> {
    let provider = provider();
    let time = Arc::new(ClockTime(server_verifier.clock()));
    let mut cfg = ClientConfig::builder_with_details(provider.clone(), time)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RatsTlsVerifier::new(server_verifier, &provider)))
        .with_client_cert_resolver(Arc::new(OneCert(certified_key(cert, &provider)?)));
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(cfg)
}

/// Re-verifies the certificate a connected peer presented, returning what the verifier learned
/// (the handshake already ran the same checks; this gives the application the claims).
pub fn peer_attestation(verifier: &PeerVerifier, conn: &rustls::CommonState) -> Result<PeerAttestation, Error> {
    let cert = conn.peer_certificates().and_then(|c| c.first()).ok_or(Error::NoEvidence)?;
    verifier.verify_certificate(cert.as_ref(), verifier.now())
}
