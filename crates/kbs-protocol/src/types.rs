//! RCAR messages as exchanged on the wire (field names as in kbs-types).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jwk::TeePubKey;

/// `POST /kbs/v0/auth` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Request {
    pub version: String,
    pub tee: String,
    #[serde(rename = "extra-params", default)]
    pub extra_params: Value,
}

/// Answer to [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Challenge {
    pub nonce: String,
    #[serde(rename = "extra-params", default)]
    pub extra_params: Value,
}

/// Init-data as carried in the Attestation message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InitData {
    pub format: String,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeData {
    pub nonce: String,
    #[serde(rename = "tee-pubkey")]
    pub tee_pubkey: TeePubKey,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TeeEvidence {
    pub primary_evidence: Value,
    /// JSON string (often empty) with evidence of additional devices.
    #[serde(default)]
    pub additional_evidence: String,
}

/// `POST /kbs/v0/attest` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attestation {
    #[serde(rename = "init-data", default)]
    pub init_data: Option<InitData>,
    #[serde(rename = "runtime-data")]
    pub runtime_data: RuntimeData,
    #[serde(rename = "tee-evidence")]
    pub tee_evidence: TeeEvidence,
}

/// Answer to [`Attestation`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttestResponse {
    pub token: String,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorInformation {
    #[serde(rename = "type")]
    pub error_type: String,
    pub detail: String,
}

/// Flattened JWE JSON serialisation returned for resources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JweResponse {
    pub protected: String,
    pub encrypted_key: String,
    pub iv: String,
    pub ciphertext: String,
    pub tag: String,
}

/// RVPS register message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RvpsMessage {
    pub version: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: String,
}

/// `POST /kbs/v0/attestation-policy` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SetAttestationPolicy {
    #[serde(rename = "type", default = "rego")]
    pub kind: String,
    pub policy_id: String,
    /// base64url (no padding) of the Rego text.
    pub policy: String,
}

fn rego() -> String {
    "rego".into()
}

/// `POST /kbs/v0/resource-policy` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SetResourcePolicy {
    /// base64url (no padding) of the Rego text.
    pub policy: String,
}
