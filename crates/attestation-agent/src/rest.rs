//! The REST facade on 127.0.0.1:8006, with guest-components' api-server-rest paths and query
//! parameters (api-server-rest/src/router.rs at 8246e5e0): `GET /aa/token?token_type=kbs` and
//! `GET /aa/evidence?runtime_data=..[&encoding=base64]` (raw UTF-8 bytes of the value, or
//! URL-safe unpadded base64 with `encoding=base64`), answered as `application/octet-stream`.
//! Callers that are not on loopback get 403, as upstream; unknown paths 404.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{routing, Router};
use base64::Engine;

use crate::service::AttestationAgent;
use crate::Error;

/// Default address, as guest-components' api-server-rest.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8006";

/// Who may call a route. Every route names one; there is no open route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only callers on the loopback interface (the guest's own processes).
    Loopback,
}

/// One entry of the route table.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: routing::MethodRouter<Arc<AttestationAgent>>,
}

/// The route table.
pub fn routes() -> Vec<Route> {
    use Access::*;
    let r = |method, path, access, handler| Route { method, path, access, handler };
    vec![
        r(Method::GET, "/aa/token", Loopback, routing::get(token)),
        r(Method::GET, "/aa/evidence", Loopback, routing::get(evidence)),
    ]
}

/// The HTTP status for each error (the body is the error's text).
///
/// | error | status |
/// |---|---|
/// | unknown token type, report data too long | 400 |
/// | KBS refused (401/403) | 403 |
/// | KBS unreachable | 502 |
/// | anything else | 500 |
pub fn http_status(e: &Error) -> StatusCode {
    match e {
        Error::UnsupportedTokenType(_) | Error::BadEvent { .. } => StatusCode::BAD_REQUEST,
        Error::Evidence(tee::Error::ReportDataTooLong { .. }) => StatusCode::BAD_REQUEST,
        Error::Status { status: 401 | 403, .. } | Error::StillUnauthorized { .. } => StatusCode::FORBIDDEN,
        Error::Connect { .. } | Error::Tls(_) | Error::Http(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(e: &Error) -> Response {
    (http_status(e), e.to_string()).into_response()
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, msg).into_response()
}

fn octets(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

async fn token(State(aa): State<Arc<AttestationAgent>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(t) = q.get("token_type") else {
        return bad_request("missing query parameter token_type".into());
    };
    match aa.token(t).await {
        Ok(b) => octets(b),
        Err(e) => {
            tracing::warn!(error = %e, token_type = %t, "REST GetToken failed");
            error_response(&e)
        }
    }
}

async fn evidence(State(aa): State<Arc<AttestationAgent>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(rd) = q.get("runtime_data") else {
        return bad_request("missing query parameter runtime_data".into());
    };
    let rd = match q.get("encoding").map(String::as_str) {
        None => rd.as_bytes().to_vec(),
        Some("base64") => match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(rd) {
            Ok(b) => b,
            Err(e) => return bad_request(format!("runtime_data is not URL-safe unpadded base64: {e}")),
        },
        Some(other) => return bad_request(format!("unsupported encoding {other:?} (only base64)")),
    };
    match aa.evidence(&rd) {
        Ok(b) => octets(b),
        Err(e) => error_response(&e),
    }
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request, next: Next) -> Response {
    if peer.ip().is_loopback() {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "Forbidden").into_response()
    }
}

/// The router: each route wrapped in its access check; anything else 404.
pub fn router(aa: Arc<AttestationAgent>) -> Router {
    let mut app = Router::new();
    for route in routes() {
        let guarded = match route.access {
            Access::Loopback => route.handler.layer(axum::middleware::from_fn(loopback_only)),
        };
        app = app.route(route.path, guarded);
    }
    app.fallback(|| async { (StatusCode::NOT_FOUND, "URL NOT FOUND") }).with_state(aa)
}

/// Binds the facade's address (so a taken port fails at start-up, with the address named).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Listen { addr: addr.to_string(), reason: e.to_string() })
}

/// Serves the facade on a bound listener until the future is dropped.
pub async fn serve(aa: Arc<AttestationAgent>, listener: tokio::net::TcpListener) -> Result<(), Error> {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(%addr, "REST facade listening");
    axum::serve(listener, router(aa).into_make_service_with_connect_info::<SocketAddr>())
        .await
        .map_err(|e| Error::Listen { addr, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    /// Every route is behind its access check: a caller that is not on loopback gets 403.
    #[tokio::test]
    async fn non_loopback_callers_are_refused() {
        let aa = Arc::new(
            AttestationAgent::new(&crate::config::Config::default(), Arc::new(tee::sample::SampleAttester::new()))
                .unwrap(),
        );
        for (peer, want) in [("192.0.2.7:4000", StatusCode::FORBIDDEN), ("127.0.0.1:4000", StatusCode::OK)] {
            let peer: SocketAddr = peer.parse().unwrap();
            for route in routes() {
                assert_eq!(route.access, Access::Loopback);
                let uri = format!("{}?runtime_data=a&token_type=nope", route.path);
                let mut req =
                    axum::http::Request::builder().method(route.method.clone()).uri(uri).body(Body::empty()).unwrap();
                req.extensions_mut().insert(ConnectInfo(peer));
                let status = router(aa.clone()).oneshot(req).await.unwrap().status();
                if want == StatusCode::FORBIDDEN {
                    assert_eq!(status, want, "{} from {peer}", route.path);
                } else {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{} from {peer}", route.path);
                }
            }
        }
    }
}
