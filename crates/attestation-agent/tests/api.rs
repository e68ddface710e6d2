#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! The agent's two faces in process: the ttRPC server (guest-components' generated client calls
//! it on a temporary socket) and the REST facade (on an ephemeral loopback port), over a fake
//! attester. The RCAR path against real KBSes is in tests/e2e/aa.sh and kbs-interop.sh.

use std::sync::Arc;

use attestation_agent::config::Config;
use attestation_agent::protos::attestation_agent::*;
use attestation_agent::protos::attestation_agent_ttrpc::AttestationAgentServiceClient;
use attestation_agent::rcar::HttpClient;
use attestation_agent::service::AttestationAgent;
use attestation_agent::{rest, ttrpc_server};
use hyper::Method;
use tee::{Attester, Evidence, Tee};
use ttrpc::proto::Code;

/// Evidence is the hex of the report data, under a TEE name of the test's choice.
struct FakeAttester(Tee);

impl Attester for FakeAttester {
    fn tee(&self) -> Tee {
        self.0
    }
    fn evidence(&self, rd: &[u8]) -> Result<Evidence, tee::Error> {
        if rd.len() > 64 {
            return Err(tee::Error::ReportDataTooLong { tee: self.0, len: rd.len(), max: 64 });
        }
        Ok(Evidence { tee: self.0, bytes: hex::encode(rd).into_bytes() })
    }
}

fn agent(dir: &std::path::Path, eventlog: bool) -> Arc<AttestationAgent> {
    let c = Config::from_toml(&format!(
        "[eventlog_config]\nenable_eventlog = {eventlog}\npath = {:?}\n",
        dir.join("eventlog")
    ))
    .unwrap();
    Arc::new(AttestationAgent::new(&c, Arc::new(FakeAttester(Tee::Sample))).unwrap())
}

fn code(r: ttrpc::Result<impl std::fmt::Debug>) -> Code {
    match r {
        Err(ttrpc::Error::RpcStatus(s)) => s.code(),
        other => panic!("expected an RPC status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttrpc_api_with_guest_components_client() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("run/aa.sock");
    let server = ttrpc_server::Server::start(agent(dir.path(), true), &sock).await.unwrap();
    let client = ttrpc::r#async::Client::connect(&format!("unix://{}", sock.display())).await.unwrap();
    let aa = AttestationAgentServiceClient::new(client);
    let ctx = || ttrpc::context::with_timeout(10_000_000_000);

    let r = aa.get_tee_type(ctx(), &GetTeeTypeRequest::default()).await.unwrap();
    assert_eq!(r.tee, "sample");
    let req = GetEvidenceRequest { RuntimeData: b"\x01\x02".to_vec(), ..Default::default() };
    assert_eq!(aa.get_evidence(ctx(), &req).await.unwrap().Evidence, b"0102");
    let req = GetEvidenceRequest { RuntimeData: vec![0; 65], ..Default::default() };
    assert_eq!(code(aa.get_evidence(ctx(), &req).await), Code::INVALID_ARGUMENT);

    let req = GetTokenRequest { TokenType: "coco_as".into(), ..Default::default() };
    assert_eq!(code(aa.get_token(ctx(), &req).await), Code::INVALID_ARGUMENT);
    let req = GetTokenRequest { TokenType: "kbs".into(), ..Default::default() };
    assert_eq!(code(aa.get_token(ctx(), &req).await), Code::FAILED_PRECONDITION, "no KBS configured");

    let req = ExtendRuntimeMeasurementRequest {
        Domain: "d".into(),
        Operation: "op".into(),
        Content: "c".into(),
        ..Default::default()
    };
    let r = aa.extend_runtime_measurement(ctx(), &req).await.unwrap();
    assert_eq!(r.Result.enum_value(), Ok(RuntimeMeasurementResult::OK));
    assert!(!std::fs::read(dir.path().join("eventlog")).unwrap().is_empty());

    assert_eq!(code(aa.bind_init_data(ctx(), &BindInitDataRequest::default()).await), Code::UNIMPLEMENTED);
    let r = aa.get_additional_tees(ctx(), &GetAdditionalTeesRequest::default()).await.unwrap();
    assert!(r.additional_tees.is_empty());
    let r = aa.get_additional_evidence(ctx(), &GetAdditionalEvidenceRequest::default()).await.unwrap();
    assert!(r.Evidence.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttrpc_event_log_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("aa.sock");
    let server = ttrpc_server::Server::start(agent(dir.path(), false), &sock).await.unwrap();
    let client = ttrpc::r#async::Client::connect(&format!("unix://{}", sock.display())).await.unwrap();
    let aa = AttestationAgentServiceClient::new(client);
    let req = ExtendRuntimeMeasurementRequest {
        Domain: "d".into(),
        Operation: "op".into(),
        Content: "c".into(),
        RegisterIndex: Some(3),
        ..Default::default()
    };
    let r = aa.extend_runtime_measurement(ttrpc::context::with_timeout(10_000_000_000), &req).await.unwrap();
    assert_eq!(r.Result.enum_value(), Ok(RuntimeMeasurementResult::NOT_ENABLED));
    assert!(!dir.path().join("eventlog").exists());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_facade_paths_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let l = rest::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(rest::serve(agent(dir.path(), false), l));
    let mut http = HttpClient::new(&format!("http://127.0.0.1:{port}"), None).unwrap();
    let mut get = async |path: &str| {
        let r = http.send(Method::GET, path, &[], Vec::new()).await.unwrap();
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    };
    assert_eq!(get("/aa/evidence?runtime_data=ab").await, (200, "6162".into()));
    assert_eq!(get("/aa/evidence?runtime_data=AQI&encoding=base64").await, (200, "0102".into()));
    assert_eq!(get("/aa/evidence?runtime_data=***&encoding=base64").await.0, 400);
    assert_eq!(get("/aa/evidence").await.0, 400);
    let (status, body) = get("/aa/token?token_type=kbs").await;
    assert_eq!(status, 500);
    assert!(body.contains("token_configs.kbs.url"), "{body}");
    assert_eq!(get("/aa/token?token_type=other").await.0, 400);
    assert_eq!(get("/aa/token").await.0, 400);
    assert_eq!(get("/aa/aael").await.0, 404);
    assert_eq!(get("/").await.0, 404);
}
