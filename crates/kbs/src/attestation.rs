//! Attestation Service: verify evidence (tee::VerifierSet), appraise it with a Rego policy into an
//! AR4SI trust vector, and issue an EAR token. Usable in-process and behind its own endpoint.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kbs_protocol::binding::{runtime_data_digest, HashAlg};
use kbs_protocol::jwk::TeePubKey;
use kbs_protocol::types::InitData;
use serde_json::{json, Value};
use tee::{Expected, Tee, VerifierSet};

use crate::ear::{EarSigner, KBS_RESOURCE_AUDIENCE};
use crate::policy::{Policy, ReferenceLookup};
use crate::rvps::Rvps;
use crate::store::{Backend, Table};
use crate::{initdata, Error};
use tee::clock::Clock;

/// The default attestation policy: `affirming` only with a registered reference value for every
/// measurement that covers code, debug off, TCB `UpToDate` (or a status the operator named) and
/// init-data whose digest is registered (or none at all); the software TEE can never be
/// `affirming` (its hardware claim is 97). The rules and reference value names are in the file.
pub const DEFAULT_ATTESTATION_POLICY: &str = include_str!("policies/attestation_default.rego");
pub const DEFAULT_POLICY_ID: &str = "default";
/// Member of `submods.cpu0` holding the appraised evidence.
const ANNOTATED: &str = "ear.veraison.annotated-evidence";

/// The `ear.veraison.annotated-evidence` object attestation policies read as `input`:
/// `{"<tee>": {<claim fields>, "hardware", "report_data", "init_data"?}, "runtime_data_claims",
/// "init_data_claims"?: {"digest", "data"}}`.
pub fn annotated_evidence(claims: &tee::Claims, runtime_data: Value, init: Option<&initdata::Parsed>) -> Value {
    let mut tee_claims = serde_json::Map::new();
    for (k, v) in &claims.fields {
        tee_claims.insert(k.clone(), v.clone());
    }
    tee_claims.insert("hardware".into(), json!(claims.hardware));
    tee_claims.insert("report_data".into(), json!(hex::encode(&claims.report_data)));
    if let Some(i) = &claims.init_data {
        tee_claims.insert("init_data".into(), json!(hex::encode(i)));
    }
    let mut annotated = serde_json::Map::new();
    annotated.insert(claims.tee.as_str().into(), Value::Object(tee_claims));
    annotated.insert("runtime_data_claims".into(), runtime_data);
    if let Some(i) = init {
        annotated.insert("init_data_claims".into(), json!({"digest": hex::encode(&i.digest), "data": i.data}));
    }
    Value::Object(annotated)
}

/// What the evidence must be bound to.
pub struct AttestRequest<'a> {
    pub tee: Tee,
    pub evidence: &'a [u8],
    pub nonce: &'a str,
    pub tee_pubkey: &'a TeePubKey,
    pub additional_evidence: &'a str,
    pub init_data: Option<&'a InitData>,
    pub policy_id: &'a str,
}

pub struct AttestationService {
    verifiers: VerifierSet,
    policies: RwLock<HashMap<String, Arc<Policy>>>,
    pub rvps: Arc<Rvps>,
    pub signer: EarSigner,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Backend>,
}

const POLICY_KEY_PREFIX: &str = "attestation/";

impl AttestationService {
    pub fn new(
        verifiers: VerifierSet,
        rvps: Arc<Rvps>,
        signer: EarSigner,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Backend>,
    ) -> Result<Self, Error> {
        let s = AttestationService { verifiers, policies: RwLock::new(HashMap::new()), rvps, signer, clock, store };
        s.install(DEFAULT_POLICY_ID, DEFAULT_ATTESTATION_POLICY)?;
        for (k, v) in s.store.list(Table::Policies)? {
            if let Some(id) = k.strip_prefix(POLICY_KEY_PREFIX) {
                let src = String::from_utf8(v).map_err(|_| Error::Storage(format!("policy {id} is not UTF-8")))?;
                s.install(id, &src)?;
            }
        }
        Ok(s)
    }

    fn lookup(&self) -> ReferenceLookup {
        let r = self.rvps.clone();
        Arc::new(move |id: &str| r.query(id))
    }

    fn install(&self, id: &str, src: &str) -> Result<(), Error> {
        let p = Policy::attestation(src, self.lookup())?;
        self.policies.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), Arc::new(p));
        Ok(())
    }

    /// Compiles, stores and activates an attestation policy.
    pub fn set_policy(&self, id: &str, src: &str) -> Result<(), Error> {
        if !kbs_protocol::uri::valid_segment(id) {
            return Err(Error::MalformedRequest { what: "policy_id", reason: format!("{id:?} is not a valid id") });
        }
        let p = Policy::attestation(src, self.lookup())?;
        self.store.put(Table::Policies, &format!("{POLICY_KEY_PREFIX}{id}"), src.as_bytes())?;
        self.policies.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), Arc::new(p));
        Ok(())
    }

    pub fn enabled_tees(&self) -> Vec<Tee> {
        self.verifiers.tees()
    }

    /// Verifies, appraises and issues a token. Returns `(token, claims)`.
    /// The token has no audience: it is for relying parties, never a KBS resource credential.
    pub fn attest(&self, r: &AttestRequest<'_>) -> Result<(String, Value), Error> {
        let (token, claims, _) = self.appraise(r, None)?;
        Ok((token, claims))
    }

    /// [`AttestationService::attest`] for an RCAR session: returns the token and its claims as the
    /// Rego value resource policies read. The annotated evidence, the bulk of the claims, is
    /// converted once and shared by the attestation policy input and the session's claims.
    /// The token's audience is [`KBS_RESOURCE_AUDIENCE`]: it may come back as a Bearer token.
    pub fn attest_for_session(&self, r: &AttestRequest<'_>) -> Result<(String, regorus::Value), Error> {
        let (token, mut claims, annotated) = self.appraise(r, Some(KBS_RESOURCE_AUDIENCE))?;
        let cpu0 = |c: &mut Value| {
            c.get_mut("submods")
                .and_then(|s| s.get_mut("cpu0"))
                .and_then(Value::as_object_mut)
                .map(|m| m.remove(ANNOTATED).is_some())
        };
        if cpu0(&mut claims) != Some(true) {
            return Err(Error::Crypto("EAR claims without annotated evidence".into()));
        }
        let mut rego = crate::policy::to_policy_value(&claims)?;
        let slot = rego
            .as_object_mut()
            .ok()
            .and_then(|m| m.get_mut(&regorus::Value::from("submods")))
            .and_then(|s| s.as_object_mut().ok())
            .and_then(|m| m.get_mut(&regorus::Value::from("cpu0")))
            .and_then(|c| c.as_object_mut().ok())
            .ok_or_else(|| Error::Crypto("EAR claims without submods.cpu0".into()))?;
        slot.insert(regorus::Value::from(ANNOTATED), annotated);
        Ok((token, rego))
    }

    /// Verify, appraise, issue: `(token, claims, annotated evidence as a Rego value)`.
    fn appraise(
        &self,
        r: &AttestRequest<'_>,
        audience: Option<&str>,
    ) -> Result<(String, Value, regorus::Value), Error> {
        let alg = HashAlg::for_tee(r.tee.as_str());
        let digest = runtime_data_digest(alg, r.nonce, r.tee_pubkey, r.additional_evidence)?;
        let init = r.init_data.map(initdata::parse).transpose()?;
        let expected = Expected::new(&digest).with_init_data(init.as_ref().map(|i| i.digest.as_slice()));
        let claims = self.verifiers.verify(r.tee, r.evidence, &expected)?;
        let runtime_data = json!({"nonce": r.nonce, "tee-pubkey": serde_json::to_value(r.tee_pubkey).map_err(|e| Error::Crypto(e.to_string()))?});
        let annotated = annotated_evidence(&claims, runtime_data, init.as_ref());
        let policy = self
            .policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(r.policy_id)
            .cloned()
            .ok_or_else(|| Error::AttestationPolicyNotFound(r.policy_id.to_string()))?;
        let annotated_rego = crate::policy::to_policy_value(&annotated)?;
        let vector = policy.trust_claims_value(annotated_rego.clone())?;
        let (token, claims) =
            self.signer.issue_with_audience(self.clock.now_unix(), vector, r.policy_id, annotated, audience)?;
        Ok((token, claims, annotated_rego))
    }
}
