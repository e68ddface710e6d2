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

    /// Init-data binding belongs to the init-data work (issue 15 item 3); refused, never faked.
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

/// A started ttRPC server; dropping it does not stop it, call [`Server::shutdown`].
pub struct Server {
    inner: ttrpc::r#async::Server,
}

impl Server {
    /// Binds `socket` (a stale socket file there is replaced; its directory is created) and
    /// starts serving.
    pub async fn start(aa: Arc<AttestationAgent>, socket: &Path) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::Listen { addr: socket.display().to_string(), reason: e.to_string() };
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        match std::fs::remove_file(socket) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let svc: Arc<dyn AttestationAgentService + Send + Sync> = Arc::new(Service::new(aa));
        let listen = |e: ttrpc::Error| Error::Listen { addr: socket.display().to_string(), reason: e.to_string() };
        let mut inner = ttrpc::r#async::Server::new()
            .bind(&format!("unix://{}", socket.display()))
            .map_err(listen)?
            .register_service(create_attestation_agent_service(svc));
        inner.start().await.map_err(listen)?;
        Ok(Server { inner })
    }

    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(error = %e, "ttRPC server shutdown");
        }
    }
}
