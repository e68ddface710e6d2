//! The RCAR client: handshake with any [`tee::Attester`], then resource fetch and JWE decryption.
//! The client never owns attestation logic; the wire types, binding and JOSE come from
//! `kbs-protocol`, which the KBS server shares.

use std::sync::Arc;

use hyper::Method;
use kbs_protocol::binding::{runtime_data_digest, HashAlg};
use kbs_protocol::jwk::{KeyKind, TeeKeyPair};
use kbs_protocol::types::{
    AttestResponse, Attestation, Challenge, InitData, JweResponse, Request, RuntimeData, TeeEvidence,
};
use kbs_protocol::uri::ResourceUri;
use kbs_protocol::{PROTOCOL_VERSION, SESSION_COOKIE};
use serde_json::json;
use tee::Attester;

use super::http::{HttpClient, Response};
use crate::Error;

/// A client of one KBS, bound to one TEE attester and one TEE key pair.
pub struct RcarClient {
    http: HttpClient,
    attester: Arc<dyn Attester>,
    key: TeeKeyPair,
    init_data: Option<String>,
    session: Option<String>,
    token: Option<String>,
}

/// At most this much of an error body goes into the error message.
const STATUS_BODY_SHOWN: usize = 1024;

fn status_err(endpoint: &str, r: &Response) -> Error {
    let mut body = String::from_utf8_lossy(&r.body[..r.body.len().min(STATUS_BODY_SHOWN)]).into_owned();
    if r.body.len() > STATUS_BODY_SHOWN {
        body.push_str(&format!("... ({} bytes)", r.body.len()));
    }
    Error::Status { endpoint: endpoint.into(), status: r.status, body }
}

impl RcarClient {
    pub fn new(http: HttpClient, attester: Arc<dyn Attester>, key_kind: KeyKind) -> Result<Self, Error> {
        Ok(RcarClient {
            http,
            attester,
            key: TeeKeyPair::generate(key_kind)?,
            init_data: None,
            session: None,
            token: None,
        })
    }

    /// Sends this init-data TOML with the evidence.
    pub fn with_init_data(mut self, toml: String) -> Self {
        self.init_data = Some(toml);
        self
    }

    /// Uses a fresh TEE key for the next handshake (the old token is dropped).
    pub fn rotate_key(&mut self, kind: KeyKind) -> Result<(), Error> {
        self.key = TeeKeyPair::generate(kind)?;
        self.token = None;
        self.session = None;
        Ok(())
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn key(&self) -> &TeeKeyPair {
        &self.key
    }

    fn cookie_header(&self) -> Option<String> {
        self.session.as_ref().map(|s| format!("{SESSION_COOKIE}={s}"))
    }

    /// Runs auth + attest; returns the attestation token.
    pub async fn handshake(&mut self) -> Result<String, Error> {
        let tee = self.attester.tee().as_str();
        let req = Request {
            version: PROTOCOL_VERSION.into(),
            tee: tee.into(),
            extra_params: json!({"supported-hash-algorithms": ["sha256", "sha384", "sha512"]}),
        };
        let body = serde_json::to_vec(&req).map_err(|e| Error::json("Request", e))?;
        let r = self.http.send(Method::POST, "/kbs/v0/auth", &[("content-type", "application/json")], body).await?;
        if r.status != 200 {
            return Err(status_err("auth", &r));
        }
        self.session = r.set_cookies.iter().find_map(|c| {
            c.strip_prefix(&format!("{SESSION_COOKIE}=")).map(|v| v.split(';').next().unwrap_or_default().to_string())
        });
        if self.session.is_none() {
            return Err(Error::NoSessionCookie);
        }
        let ch: Challenge = serde_json::from_slice(&r.body).map_err(|e| Error::json("Challenge", e))?;
        let alg = match ch.extra_params.get("selected-hash-algorithm").and_then(|v| v.as_str()) {
            Some(s) => HashAlg::parse(s)?,
            None => HashAlg::for_tee(tee),
        };
        let pk = self.key.public()?;
        let digest = runtime_data_digest(alg, &ch.nonce, &pk, "")?;
        let ev = self.attester.evidence(&digest)?;
        let primary: serde_json::Value = serde_json::from_slice(&ev.bytes).map_err(|e| Error::json("evidence", e))?;
        let att = Attestation {
            init_data: self.init_data.clone().map(|body| InitData { format: "toml".into(), body }),
            runtime_data: RuntimeData { nonce: ch.nonce, tee_pubkey: pk },
            tee_evidence: TeeEvidence { primary_evidence: primary, additional_evidence: String::new() },
        };
        let body = serde_json::to_vec(&att).map_err(|e| Error::json("Attestation", e))?;
        let cookie = self.cookie_header().unwrap_or_default();
        let r = self
            .http
            .send(Method::POST, "/kbs/v0/attest", &[("content-type", "application/json"), ("cookie", &cookie)], body)
            .await?;
        if r.status != 200 {
            return Err(status_err("attest", &r));
        }
        let t: AttestResponse = serde_json::from_slice(&r.body).map_err(|e| Error::json("attest response", e))?;
        self.token = Some(t.token.clone());
        Ok(t.token)
    }

    /// Fetches and decrypts a resource, doing the handshake first if there is no session yet and
    /// once more if the KBS answers 401 (expired session or token).
    pub async fn get_resource(&mut self, uri: &ResourceUri) -> Result<Vec<u8>, Error> {
        if self.session.is_none() {
            self.handshake().await?;
        }
        for attempt in 0..2 {
            let cookie = self.cookie_header().unwrap_or_default();
            let r = self.http.send(Method::GET, &uri.kbs_path(), &[("cookie", &cookie)], Vec::new()).await?;
            match r.status {
                200 => {
                    let jwe: JweResponse =
                        serde_json::from_slice(&r.body).map_err(|e| Error::json("JWE response", e))?;
                    return Ok(self.key.decrypt(&jwe)?);
                }
                401 if attempt == 0 => {
                    self.handshake().await?;
                }
                _ => return Err(status_err("resource", &r)),
            }
        }
        Err(Error::StillUnauthorized { endpoint: "resource".into() })
    }

    /// Fetches a resource with `Authorization: Bearer <token>` instead of the session cookie.
    pub async fn get_resource_with_token(&mut self, uri: &ResourceUri) -> Result<Vec<u8>, Error> {
        let token = match &self.token {
            Some(t) => t.clone(),
            None => self.handshake().await?,
        };
        let auth = format!("Bearer {token}");
        let r = self.http.send(Method::GET, &uri.kbs_path(), &[("authorization", &auth)], Vec::new()).await?;
        if r.status != 200 {
            return Err(status_err("resource", &r));
        }
        let jwe: JweResponse = serde_json::from_slice(&r.body).map_err(|e| Error::json("JWE response", e))?;
        Ok(self.key.decrypt(&jwe)?)
    }

    /// Raw access to the transport (admin calls, tests).
    pub fn http(&mut self) -> &mut HttpClient {
        &mut self.http
    }
}
