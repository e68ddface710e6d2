//! The KBS engine: RCAR, resource release, admin operations. No sockets: handlers are thin
//! wrappers, and tests drive this type directly in memory.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use kbs_protocol::jwk::TeePubKey;
use kbs_protocol::types::{
    Attestation, Challenge, InitData, JweResponse, Request, RvpsMessage, SetAttestationPolicy, SetResourcePolicy,
};
use kbs_protocol::{b64, jwe, PROTOCOL_VERSION};
use serde::Deserialize;
use serde_json::Value;
use tee::Tee;

use crate::admin::AdminAuth;
use crate::attestation::{AttestRequest, AttestationService, DEFAULT_POLICY_ID};
use crate::metrics::{inc, Metrics};
use crate::policy::Policy;
use crate::session::{AttestStart, SessionMap, SessionState};
use crate::store::{Backend, Table};
use crate::Error;
use tee::clock::Clock;
use tee::rng::Rng;

pub const DEFAULT_RESOURCE_POLICY: &str = include_str!("policies/resource_default.rego");
const RESOURCE_POLICY_KEY: &str = "resource";

#[derive(Debug, Clone)]
pub struct Limits {
    pub session_timeout: Duration,
    /// Unattested (challenged) sessions; beyond it the oldest is evicted (see `session`).
    pub max_sessions: usize,
    /// Memory budget of attested sessions (token + claims); beyond it the oldest is evicted.
    pub max_attested_session_bytes: usize,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_timeout: Duration::from_secs(300),
            max_sessions: 100_000,
            max_attested_session_bytes: 128 << 20,
            max_body: 1 << 20,
        }
    }
}

/// Answer to `auth`.
#[derive(Debug, Clone)]
pub struct AuthOutcome {
    pub challenge: Challenge,
    pub session_id: String,
    pub expires: SystemTime,
}

/// Answer to `attest`.
#[derive(Debug, Clone)]
pub struct AttestOutcome {
    pub token: String,
    pub session_id: String,
    pub expires: SystemTime,
}

/// A caller that proved itself (session cookie or Bearer token).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token claims as a Rego value (the resource policy's `input`).
    pub claims: regorus::Value,
    pub tee_pubkey: Arc<TeePubKey>,
}

pub struct Kbs {
    pub limits: Limits,
    pub sessions: SessionMap,
    pub attestation: Arc<AttestationService>,
    pub store: Arc<dyn Backend>,
    resource_policy: RwLock<Arc<Policy>>,
    pub admin: AdminAuth,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
}

fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> Error {
    move |e| Error::MalformedRequest { what, reason: e.to_string() }
}

/// `repo/type/tag`, each segment `[a-zA-Z0-9_\-]+[a-zA-Z0-9_\-\.]*`.
pub fn validate_resource_path(path: &str) -> Result<(), Error> {
    let segs: Vec<&str> = path.split('/').collect();
    if segs.len() != 3 || !segs.iter().all(|s| kbs_protocol::uri::valid_segment(s)) {
        return Err(Error::InvalidRequestPath { path: path.to_string() });
    }
    Ok(())
}

impl Kbs {
    pub fn new(
        limits: Limits,
        attestation: Arc<AttestationService>,
        store: Arc<dyn Backend>,
        admin: AdminAuth,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, Error> {
        let src = match store.get(Table::Policies, RESOURCE_POLICY_KEY)? {
            Some(b) => String::from_utf8(b).map_err(|_| Error::Storage("resource policy is not UTF-8".into()))?,
            None => DEFAULT_RESOURCE_POLICY.to_string(),
        };
        Ok(Kbs {
            sessions: SessionMap::new(limits.session_timeout, limits.max_sessions, limits.max_attested_session_bytes),
            limits,
            attestation,
            store,
            resource_policy: RwLock::new(Arc::new(Policy::resource(&src)?)),
            admin,
            metrics: Metrics::default(),
            clock,
            rng,
        })
    }

    fn random(&self, n: usize) -> Result<Vec<u8>, Error> {
        let mut b = vec![0u8; n];
        self.rng.fill(&mut b)?;
        Ok(b)
    }

    /// RCAR step 1.
    pub fn auth(&self, body: &[u8]) -> Result<AuthOutcome, Error> {
        inc(&self.metrics.auth_requests);
        let req: Request = serde_json::from_slice(body).map_err(malformed("Request"))?;
        if req.version != PROTOCOL_VERSION {
            return Err(Error::UnsupportedVersion(req.version));
        }
        let tee: Tee = req.tee.parse().map_err(|_| Error::UnknownTee(req.tee.clone()))?;
        let nonce = b64::std(self.random(32)?);
        let session_id = hex::encode(self.random(16)?);
        let expires = self.sessions.insert(session_id.clone(), tee, nonce.clone(), self.clock.now())?;
        Ok(AuthOutcome {
            challenge: Challenge { nonce, extra_params: Value::String(String::new()) },
            session_id,
            expires,
        })
    }

    /// RCAR step 2.
    pub fn attest(&self, session_id: Option<&str>, body: &[u8]) -> Result<AttestOutcome, Error> {
        let r = self.attest_inner(session_id, body);
        inc(if r.is_ok() { &self.metrics.attest_success } else { &self.metrics.attest_failure });
        r
    }

    fn attest_inner(&self, session_id: Option<&str>, body: &[u8]) -> Result<AttestOutcome, Error> {
        let id = session_id.ok_or(Error::MissingCookie)?;
        let now = self.clock.now();
        // Pinned (not evictable by an `auth` flood) until verified; put back if anything fails.
        let (tee, nonce, pin) = match self.sessions.begin_attest(id, now)? {
            AttestStart::Attested(session) => {
                let _: Attestation = serde_json::from_slice(body).map_err(malformed("Attestation"))?;
                let SessionState::Attested { token, .. } = &session.state else {
                    return Err(Error::IllegalTransition { state: session.state.name(), action: "attest" });
                };
                return Ok(AttestOutcome { token: token.to_string(), session_id: id.into(), expires: session.expires });
            }
            AttestStart::Challenged { tee, nonce, pin } => (tee, nonce, pin),
        };
        let att: Attestation = serde_json::from_slice(body).map_err(malformed("Attestation"))?;
        if att.runtime_data.nonce != nonce {
            return Err(Error::NonceMismatch);
        }
        let evidence = serde_json::to_vec(&att.tee_evidence.primary_evidence).map_err(malformed("primary_evidence"))?;
        let init: Option<&InitData> = att.init_data.as_ref();
        let (token, claims) = self.attestation.attest_for_session(&AttestRequest {
            tee,
            evidence: &evidence,
            nonce: &nonce,
            tee_pubkey: &att.runtime_data.tee_pubkey,
            additional_evidence: &att.tee_evidence.additional_evidence,
            init_data: init,
            policy_id: DEFAULT_POLICY_ID,
        })?;
        let token: Arc<str> = token.into();
        let next =
            SessionState::Attested { token: token.clone(), claims, tee_pubkey: Arc::new(att.runtime_data.tee_pubkey) };
        let expires = pin.finish(next, now)?;
        Ok(AttestOutcome { token: token.to_string(), session_id: id.into(), expires })
    }

    /// Who is asking: a Bearer token (verified here) or an attested session.
    pub fn caller(&self, session_id: Option<&str>, authorization: Option<&str>) -> Result<Caller, Error> {
        if let Some(h) = authorization {
            let t =
                h.strip_prefix("Bearer ").ok_or_else(|| Error::TokenInvalid("Authorization is not Bearer".into()))?;
            let (claims, pk) =
                self.attestation.signer.verify_for_resources(t.trim(), self.clock.now_unix(), DEFAULT_POLICY_ID)?;
            return Ok(Caller { claims: crate::policy::to_policy_value(&claims)?, tee_pubkey: Arc::new(pk) });
        }
        let id = session_id.ok_or(Error::TokenNotFound)?;
        match self.sessions.get(id, self.clock.now())?.state {
            SessionState::Attested { claims, tee_pubkey, .. } => Ok(Caller { claims, tee_pubkey }),
            SessionState::Challenged { .. } => Err(Error::TokenNotFound),
        }
    }

    /// Releases a resource, encrypted to the caller's TEE key, if the resource policy allows it.
    pub fn get_resource(&self, caller: &Caller, plugin: &str, path: &str, query: &str) -> Result<JweResponse, Error> {
        let r = self.get_resource_inner(caller, plugin, path, query);
        inc(match &r {
            Ok(_) => &self.metrics.resource_served,
            Err(Error::PolicyDeny) => &self.metrics.resource_denied,
            Err(_) => &self.metrics.resource_errors,
        });
        r
    }

    fn get_resource_inner(&self, caller: &Caller, plugin: &str, path: &str, query: &str) -> Result<JweResponse, Error> {
        if plugin != "resource" {
            return Err(Error::PluginNotFound(plugin.into()));
        }
        validate_resource_path(path)?;
        let policy = self.resource_policy.read().unwrap_or_else(|p| p.into_inner()).clone();
        if !policy.allows_value(&caller.claims, plugin, path, query)? {
            return Err(Error::PolicyDeny);
        }
        let data = self.store.get(Table::Resources, path)?.ok_or_else(|| Error::ResourceNotFound(path.into()))?;
        Ok(jwe::encrypt(&caller.tee_pubkey, &data, self.rng.as_ref())?)
    }

    // ---- admin operations (authorisation is checked by the route layer)

    pub fn set_resource(&self, path: &str, data: &[u8]) -> Result<(), Error> {
        validate_resource_path(path)?;
        self.store.put(Table::Resources, path, data)
    }

    pub fn delete_resource(&self, path: &str) -> Result<(), Error> {
        validate_resource_path(path)?;
        if self.store.delete(Table::Resources, path)? {
            Ok(())
        } else {
            Err(Error::ResourceNotFound(path.into()))
        }
    }

    pub fn set_resource_policy(&self, body: &[u8]) -> Result<(), Error> {
        let req: SetResourcePolicy = serde_json::from_slice(body).map_err(malformed("resource policy request"))?;
        let src = decode_policy(&req.policy)?;
        let p = Policy::resource(&src)?;
        self.store.put(Table::Policies, RESOURCE_POLICY_KEY, src.as_bytes())?;
        *self.resource_policy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(p);
        Ok(())
    }

    pub fn resource_policy_source(&self) -> String {
        self.resource_policy.read().unwrap_or_else(|p| p.into_inner()).source().to_string()
    }

    pub fn set_attestation_policy(&self, body: &[u8]) -> Result<(), Error> {
        let req: SetAttestationPolicy =
            serde_json::from_slice(body).map_err(malformed("attestation policy request"))?;
        if req.kind != "rego" {
            return Err(Error::MalformedRequest {
                what: "attestation policy request",
                reason: format!("type {:?} (only rego)", req.kind),
            });
        }
        let src = decode_policy(&req.policy)?;
        self.attestation.set_policy(&req.policy_id, &src)
    }

    pub fn register_reference_value(&self, body: &[u8]) -> Result<Vec<String>, Error> {
        let msg: RvpsMessage = serde_json::from_slice(body).map_err(malformed("RVPS message"))?;
        self.attestation.rvps.register(&msg)
    }

    pub fn query_reference_value(&self, name: &str) -> Result<Value, Error> {
        let rv = self
            .attestation
            .rvps
            .get(name)
            .ok_or_else(|| Error::ResourceNotFound(format!("reference value {name}")))?;
        serde_json::to_value(rv).map_err(|e| Error::Storage(e.to_string()))
    }

    /// The standalone Attestation Service API (`POST /attestation/v0/attest`).
    pub fn as_attest(&self, body: &[u8]) -> Result<String, Error> {
        inc(&self.metrics.as_requests);
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct AsRequest {
            tee: String,
            /// base64url of the evidence bytes
            evidence: String,
            runtime_data: kbs_protocol::types::RuntimeData,
            #[serde(default)]
            additional_evidence: String,
            #[serde(default)]
            init_data: Option<InitData>,
            #[serde(default)]
            policy_id: Option<String>,
        }
        let req: AsRequest = serde_json::from_slice(body).map_err(malformed("attestation request"))?;
        let tee: Tee = req.tee.parse().map_err(|_| Error::UnknownTee(req.tee.clone()))?;
        let evidence = b64::url_decode("evidence", &req.evidence)?;
        let (token, _) = self.attestation.attest(&AttestRequest {
            tee,
            evidence: &evidence,
            nonce: &req.runtime_data.nonce,
            tee_pubkey: &req.runtime_data.tee_pubkey,
            additional_evidence: &req.additional_evidence,
            init_data: req.init_data.as_ref(),
            policy_id: req.policy_id.as_deref().unwrap_or(DEFAULT_POLICY_ID),
        })?;
        Ok(token)
    }
}

fn decode_policy(b: &str) -> Result<String, Error> {
    let raw = b64::url_decode("policy", b.trim_end_matches('='))
        .or_else(|_| b64::std_decode("policy", b))
        .map_err(|e| Error::MalformedRequest { what: "policy", reason: e.to_string() })?;
    String::from_utf8(raw).map_err(|_| Error::MalformedRequest { what: "policy", reason: "not UTF-8".into() })
}
