/// Errors of the Attestation Agent library: evidence, the RCAR exchange with the KBS, and its transport.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Wire data, JOSE or binding error from the shared protocol layer.
    #[error(transparent)]
    Protocol(#[from] kbs_protocol::Error),
    /// The TEE could not be detected or produced no evidence.
    #[error("evidence: {0}")]
    Evidence(#[from] tee::Error),
    /// No hardware TEE was found and the software TEE was not opted into.
    #[error("no hardware TEE detected; the software TEE (no confidentiality) needs an explicit opt-in (--danger-software-tee)")]
    SoftwareTeeNotAllowed,
    /// The TEE was found but this crate has no attester for it.
    #[error("no attester for TEE {0} in the attestation agent")]
    NoAttester(tee::Tee),
    /// The KBS URL cannot be used.
    #[error("KBS URL {url:?}: {reason}")]
    KbsUrl { url: String, reason: String },
    /// The TLS set-up (trusted certificates) is unusable.
    #[error("TLS set-up: {0}")]
    Tls(String),
    /// The KBS could not be reached.
    #[error("connecting to the KBS at {addr}: {reason}")]
    Connect { addr: String, reason: String },
    /// The HTTP exchange failed after the connection was up.
    #[error("HTTP exchange with the KBS: {0}")]
    Http(String),
    #[error("response body is larger than the client's limit of {limit} bytes (HttpClient::with_max_response_body)")]
    ResponseTooLarge { limit: usize },
    /// The KBS answered with a status other than 200.
    #[error("KBS answered {status} to {endpoint}: {body}")]
    Status { endpoint: String, status: u16, body: String },
    #[error("the KBS's auth answer has no kbs-session-id cookie")]
    NoSessionCookie,
    #[error("the KBS still answers 401 to {endpoint} after a fresh handshake")]
    StillUnauthorized { endpoint: String },
    /// A configuration value is wrong; `key` is its dotted TOML path.
    #[error("config key {key}: {reason}")]
    Config { key: &'static str, reason: String },
    /// The configuration is not valid TOML or has an unknown or mistyped key (named in `reason`).
    #[error("config: {reason}")]
    ConfigSyntax { reason: String },
    #[error("config file {path}: {reason}")]
    ConfigFile { path: std::path::PathBuf, reason: String },
    /// GetToken for a token type this agent does not serve.
    #[error("unsupported token type {0:?} (this agent serves \"kbs\")")]
    UnsupportedTokenType(String),
    /// GetToken("kbs") without a KBS in the configuration.
    #[error("no KBS configured (config key token_configs.kbs.url, or --kbs-url)")]
    KbsNotConfigured,
    /// An ExtendRuntimeMeasurement field is malformed.
    #[error("runtime measurement event: {field} {reason}")]
    BadEvent { field: &'static str, reason: &'static str },
    /// A listening socket (ttRPC unix socket, REST address) could not be set up.
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("event log {path}: {reason}")]
    EventLogIo { path: std::path::PathBuf, reason: String },
    /// The init-data document is not valid (its problem named).
    #[error(transparent)]
    InitData(#[from] kbs_protocol::initdata::InitDataError),
    /// The init-data file cannot be read or is not a valid document.
    #[error("init-data file {path}: {reason}")]
    InitDataFile { path: std::path::PathBuf, reason: String },
    /// The TEE's host-data field does not hold the init-data digest: the guest was launched with
    /// other init-data than the file.
    #[error(
        "init-data does not match the TEE: {field} is {field_value}, but the file's digest is {file_digest} \
         (zero-padded to the field); the host launched this guest with other init-data"
    )]
    InitDataMismatch { field: &'static str, file_digest: String, field_value: String },
    /// The TEE has no host-data field to bind init-data to.
    #[error("the {0} TEE has no host-data field that binds init-data at launch; refusing to use unbound init-data")]
    InitDataUnbound(tee::Tee),
    /// A KBS answer or our own message did not (de)serialise.
    #[error("malformed JSON in {what}: {reason}")]
    Json { what: &'static str, reason: String },
}

impl Error {
    pub(crate) fn json(what: &'static str, e: impl std::fmt::Display) -> Self {
        Error::Json { what, reason: e.to_string() }
    }
}
