//! `kbs::Error`: every failure of the KBS, AS and RVPS, and the single place where an error becomes
//! an HTTP status, an error-type URI and a log line.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kbs_protocol::types::ErrorInformation;
use kbs_protocol::ERROR_TYPE_PREFIX;

#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    // ---- request shape
    #[error("request path {path} is invalid")]
    InvalidRequestPath { path: String },
    #[error("plugin {0} not found")]
    PluginNotFound(String),
    #[error("resource {0} not found")]
    ResourceNotFound(String),
    #[error("malformed {what}: {reason}")]
    MalformedRequest { what: &'static str, reason: String },
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("protocol version {0:?} is not supported (only 0.4.0)")]
    UnsupportedVersion(String),
    #[error("TEE {0:?} is unknown")]
    UnknownTee(String),

    // ---- RCAR session
    #[error("no kbs-session-id cookie")]
    MissingCookie,
    #[error("session not found")]
    SessionNotFound,
    #[error("session expired")]
    SessionExpired,
    #[error("too many open sessions ({0})")]
    TooManySessions(usize),
    #[error("session is {state}, cannot {action}")]
    IllegalTransition { state: &'static str, action: &'static str },
    #[error("the nonce does not belong to this session")]
    NonceMismatch,
    #[error("the TEE type of the evidence is not the one announced in auth")]
    TeeMismatch,
    #[error("attestation token not found (attest first or send Authorization: Bearer)")]
    TokenNotFound,
    #[error("attestation token invalid: {0}")]
    TokenInvalid(String),
    #[error("attestation token expired")]
    TokenExpired,
    #[error(
        "attestation token was not issued for this KBS's resources (aud {audience:?}, appraisal policy {policy_id:?}): \
         the resource endpoint takes the tokens of its own RCAR flow only, not those of /attestation/v0/attest"
    )]
    TokenNotForResources { audience: Option<String>, policy_id: Option<String> },

    // ---- attestation
    #[error("evidence rejected: {0}")]
    EvidenceRejected(#[from] tee::Error),
    #[error("init-data: {0}")]
    InitData(String),
    #[error("runtime data: {0}")]
    RuntimeData(String),
    #[error("attestation policy {0} not found")]
    AttestationPolicyNotFound(String),

    // ---- policy
    #[error("access denied by policy")]
    PolicyDeny,
    #[error("policy is invalid: {0}")]
    PolicyInvalid(String),
    /// The policy parses as pre-1.0 Rego but not as Rego v1, the dialect the KBS and verdictd read.
    #[error("policy is written in Rego v0 syntax; the KBS reads Rego v1 (rego.v1): put `if` before every rule body and `contains` in multi-value rules, or rewrite the file with `opa fmt --v0-v1` (parser: {0})")]
    PolicyRegoV0(String),
    #[error("policy evaluation failed: {0}")]
    PolicyEval(String),

    // ---- admin
    #[error("admin authentication failed: {0}")]
    AdminAuth(String),
    #[error("admin role {role:?} may not {method} {path}")]
    AdminAccessDenied { role: String, method: String, path: String },

    // ---- RVPS
    #[error("reference value message: {0}")]
    Rvps(String),
    #[error("in-toto verification failed: {0}")]
    InToto(String),

    // ---- internals
    #[error("storage: {0}")]
    Storage(String),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("{0}")]
    Rng(#[from] tee::rng::RngError),
    #[error("configuration: {0}")]
    Config(String),

    // ---- issue 13: data dir at rest, request deadlines
    #[error("data dir {path} is not a directory")]
    DataDirNotADirectory { path: String },
    #[error("data dir {path} is owned by uid {owner}, not by the KBS's uid {uid}: that user could read or replace its secrets")]
    DataDirNotOwned { path: String, owner: u32, uid: u32 },
    #[error("data dir {path} has mode {mode:04o}: group or others may write to it, so its files cannot be trusted; use a new directory (the KBS creates it 0700)")]
    DataDirWritableByOthers { path: String, mode: u32 },
    #[error("request not completed within {secs} s (--request-timeout)")]
    RequestTimeout { secs: u64 },
}

impl From<kbs_protocol::Error> for Error {
    fn from(e: kbs_protocol::Error) -> Self {
        match e {
            kbs_protocol::Error::Jwk(r) => Error::RuntimeData(format!("tee-pubkey: {r}")),
            other => Error::Crypto(other.to_string()),
        }
    }
}

impl Error {
    /// Error-type name (last segment of the `type` URI). Where trustee has an equivalent variant,
    /// its name is used so that clients matching on it keep working.
    pub fn type_name(&self) -> &'static str {
        use Error::*;
        match self {
            InvalidRequestPath { .. } => "InvalidRequestPath",
            PluginNotFound(_) => "PluginNotFound",
            ResourceNotFound(_) => "ResourceNotFound",
            MalformedRequest { .. } => "SerdeError",
            BodyTooLarge { .. } => "PayloadTooLarge",
            UnsupportedVersion(_) | UnknownTee(_) | TooManySessions(_) => "RcarAuthFailed",
            MissingCookie
            | SessionNotFound
            | SessionExpired
            | IllegalTransition { .. }
            | NonceMismatch
            | TeeMismatch
            | EvidenceRejected(_)
            | InitData(_)
            | RuntimeData(_)
            | AttestationPolicyNotFound(_) => "RcarAttestFailed",
            TokenNotFound => "TokenNotFound",
            TokenInvalid(_) | TokenExpired | TokenNotForResources { .. } => "TokenVerifierError",
            PolicyDeny => "PolicyDeny",
            PolicyInvalid(_) | PolicyRegoV0(_) => "ParsePolicyError",
            PolicyEval(_) => "PolicyEngineError",
            AdminAuth(_) | AdminAccessDenied { .. } => "AdminAuthAccess",
            Rvps(_) | InToto(_) => "RvpsError",
            Storage(_) => "StorageError",
            Crypto(_) => "JweError",
            Rng(_) => "RngError",
            Config(_) | DataDirNotADirectory { .. } | DataDirNotOwned { .. } | DataDirWritableByOthers { .. } => {
                "ConfigError"
            }
            RequestTimeout { .. } => "RequestTimeout",
        }
    }

    /// HTTP status. Documented in docs/kbs.md: 401 = not authenticated/attested (clients re-run
    /// RCAR), 403 = authenticated but refused by policy or ACL, 404 = no such path/plugin/resource,
    /// 400 = malformed body, 413 = too large, 500 = our fault.
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            InvalidRequestPath { .. } | PluginNotFound(_) | ResourceNotFound(_) | AttestationPolicyNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            MalformedRequest { .. } | PolicyInvalid(_) | PolicyRegoV0(_) | Rvps(_) | InToto(_) => {
                StatusCode::BAD_REQUEST
            }
            BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            PolicyDeny | AdminAccessDenied { .. } => StatusCode::FORBIDDEN,
            TooManySessions(_) => StatusCode::SERVICE_UNAVAILABLE,
            Storage(_) | Config(_) | PolicyEval(_) => StatusCode::INTERNAL_SERVER_ERROR,
            DataDirNotADirectory { .. } | DataDirNotOwned { .. } | DataDirWritableByOthers { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Crypto(_) | Rng(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn info(&self) -> ErrorInformation {
        ErrorInformation { error_type: format!("{ERROR_TYPE_PREFIX}/{}", self.type_name()), detail: self.to_string() }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!("{self}");
        }
        let body = serde_json::to_string(&self.info()).unwrap_or_else(|_| "{}".into());
        (status, [("content-type", "application/json")], body).into_response()
    }
}
