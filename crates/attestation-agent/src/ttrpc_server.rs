//! The ttRPC face of the agent: guest-components' `attestation_agent.AttestationAgentService` on a
//! unix socket, so an unchanged CDH, kata-agent or api-server-rest can call it. Errors become ttRPC
//! status codes in one place ([`status`]).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ttrpc::proto::Code;
use ttrpc::r#async::TtrpcContext;

use crate::protos::attestation_agent::*;
use crate::protos::attestation_agent_ttrpc::{create_attestation_agent_service, AttestationAgentService};
use crate::service::{AttestationAgent, RuntimeMeasurement};
use crate::Error;

/// guest-components' socket path.
pub const DEFAULT_SOCKET: &str = "/run/confidential-containers/attestation-agent/attestation-agent.sock";

/// The status code and message a caller sees for each error.
///
/// | error | code |
/// |---|---|
/// | unknown token type, malformed event, report data too long | INVALID_ARGUMENT |
/// | no KBS configured | FAILED_PRECONDITION |
/// | KBS refused (401/403) | PERMISSION_DENIED |
/// | KBS unreachable (connect, TLS, HTTP) | UNAVAILABLE |
/// | anything else | INTERNAL |
pub fn status(e: &Error) -> ttrpc::Error {
    let code = match e {
        Error::UnsupportedTokenType(_) | Error::BadEvent { .. } => Code::INVALID_ARGUMENT,
        Error::Evidence(tee::Error::ReportDataTooLong { .. }) => Code::INVALID_ARGUMENT,
        Error::KbsNotConfigured => Code::FAILED_PRECONDITION,
        Error::Status { status: 401 | 403, .. } | Error::StillUnauthorized { .. } => Code::PERMISSION_DENIED,
        Error::Connect { .. } | Error::Tls(_) | Error::Http(_) => Code::UNAVAILABLE,
        _ => Code::INTERNAL,
    };
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, e.to_string()))
}

fn unimplemented(what: &str) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(Code::UNIMPLEMENTED, format!("{what} is not implemented by this agent")))
}

/// Serves [`AttestationAgent`] over ttRPC.
pub struct Service {
    aa: Arc<AttestationAgent>,
}

impl Service {
    pub fn new(aa: Arc<AttestationAgent>) -> Self {
        Service { aa }
    }
}

#[async_trait]
impl AttestationAgentService for Service {
    async fn get_evidence(&self, _: &TtrpcContext, req: GetEvidenceRequest) -> ttrpc::Result<GetEvidenceResponse> {
        let evidence = self.aa.evidence(&req.RuntimeData).map_err(|e| status(&e))?;
        Ok(GetEvidenceResponse { Evidence: evidence, ..Default::default() })
    }

    /// No additional devices are attested: empty evidence, as guest-components without device attesters.
    async fn get_additional_evidence(
        &self,
        _: &TtrpcContext,
        _: GetAdditionalEvidenceRequest,
    ) -> ttrpc::Result<GetEvidenceResponse> {
        Ok(GetEvidenceResponse::default())
    }

    async fn get_token(&self, _: &TtrpcContext, req: GetTokenRequest) -> ttrpc::Result<GetTokenResponse> {
        let token = self.aa.token(&req.TokenType).await.map_err(|e| {
            tracing::warn!(error = %e, token_type = %req.TokenType, "GetToken failed");
            status(&e)
        })?;
        Ok(GetTokenResponse { Token: token, ..Default::default() })
    }

    async fn extend_runtime_measurement(
        &self,
        _: &TtrpcContext,
        req: ExtendRuntimeMeasurementRequest,
    ) -> ttrpc::Result<ExtendRuntimeMeasurementResponse> {
        let r = self
            .aa
            .extend_runtime_measurement(&req.Domain, &req.Operation, &req.Content, req.RegisterIndex)
            .map_err(|e| status(&e))?;
        let result = match r {
            RuntimeMeasurement::Ok => RuntimeMeasurementResult::OK,
            RuntimeMeasurement::NotSupported => RuntimeMeasurementResult::NOT_SUPPORTED,
            RuntimeMeasurement::NotEnabled => RuntimeMeasurementResult::NOT_ENABLED,
        };
        Ok(ExtendRuntimeMeasurementResponse { Result: result.into(), ..Default::default() })
    }

    /// Left UNIMPLEMENTED. guest-components binds a digest here at runtime on TEEs that can (a
    /// runtime register extended after launch). This agent extends no hardware register yet
    /// (ExtendRuntimeMeasurement answers NOT_SUPPORTED on hardware), and the software TEE has
    /// nothing to bind to, so an OK would claim a binding that does not exist. Init-data given
    /// with `--init-data` is checked against the launch-time field instead ([`crate::initdata`]).
    async fn bind_init_data(&self, _: &TtrpcContext, _: BindInitDataRequest) -> ttrpc::Result<BindInitDataResponse> {
        Err(unimplemented("BindInitData"))
    }

    async fn get_tee_type(&self, _: &TtrpcContext, _: GetTeeTypeRequest) -> ttrpc::Result<GetTeeTypeResponse> {
        Ok(GetTeeTypeResponse { tee: self.aa.tee().as_str().to_string(), ..Default::default() })
    }

    async fn get_additional_tees(
        &self,
        _: &TtrpcContext,
        _: GetAdditionalTeesRequest,
    ) -> ttrpc::Result<GetAdditionalTeesResponse> {
        Ok(GetAdditionalTeesResponse::default())
    }
}

/// Removes a socket file nobody listens on; refuses a live socket or a non-socket file.
fn remove_stale_socket(socket: &Path) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let refuse = |reason: &str| Error::Listen { addr: socket.display().to_string(), reason: reason.into() };
    let meta = match std::fs::symlink_metadata(socket) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(refuse(&e.to_string())),
    };
    if !meta.file_type().is_socket() {
        return Err(refuse("the path exists and is not a socket"));
    }
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(refuse("another process is listening on this socket"));
    }
    std::fs::remove_file(socket).map_err(|e| refuse(&e.to_string()))
}

/// A started ttRPC server; dropping it does not stop it, call [`Server::shutdown`].
pub struct Server {
    inner: ttrpc::r#async::Server,
}

impl Server {
    /// Binds `socket` and starts serving. Its directory is created; a stale socket there (nothing
    /// answers on it) is replaced, but a live one or any other kind of file is an error.
    pub async fn start(aa: Arc<AttestationAgent>, socket: &Path) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::Listen { addr: socket.display().to_string(), reason: e.to_string() };
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        remove_stale_socket(socket)?;
        let svc: Arc<dyn AttestationAgentService + Send + Sync> = Arc::new(Service::new(aa));
        let listen = |e: ttrpc::Error| Error::Listen { addr: socket.display().to_string(), reason: e.to_string() };
        let mut inner = ttrpc::r#async::Server::new()
            .bind(&format!("unix://{}", socket.display()))
            .map_err(listen)?
            .register_service(create_attestation_agent_service(svc));
        inner.start().await.map_err(listen)?;
        // GetToken hands out the TEE private key: only the socket's owner (root, as the CDH and
        // kata-agent run) may connect.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        Ok(Server { inner })
    }

    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(error = %e, "ttRPC server shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("aa.sock");
        remove_stale_socket(&p).unwrap(); // absent: fine
        std::fs::write(&p, b"not a socket").unwrap();
        assert!(matches!(remove_stale_socket(&p), Err(Error::Listen { .. })));
        assert!(p.exists(), "a regular file is never removed");
        std::fs::remove_file(&p).unwrap();
        let live = std::os::unix::net::UnixListener::bind(&p).unwrap();
        let e = remove_stale_socket(&p).unwrap_err();
        assert!(e.to_string().contains("another process"), "{e}");
        drop(live); // the file stays, nobody listens: stale
        remove_stale_socket(&p).unwrap();
        assert!(!p.exists());
    }
}
