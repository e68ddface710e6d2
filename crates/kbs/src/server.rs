//! The route table (each route declares who may call it; anything not listed is a 404 error body),
//! the guards that enforce it, TLS, and the accept loop.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::handlers::{self, authorization, session_cookie, AppState};
use crate::metrics::inc;
use crate::Error;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (RCAR itself, health, metrics, the AS API).
    Public,
    /// A caller with an attested session cookie or a valid attestation token.
    Attested,
    /// An admin JWT whose role the ACL allows for this method and path.
    Admin,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

fn r(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { method, path, access, handler }
}

/// Which service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// KBS with the in-process AS and RVPS.
    Kbs,
    /// Only the Attestation Service (and RVPS/policy admin).
    AsOnly,
}

/// The route table.
pub fn routes(mode: Mode) -> Vec<Route> {
    use handlers::*;
    use Access::*;
    let mut v = vec![
        r(Method::GET, "/healthz", Public, routing::get(health::healthz)),
        r(Method::GET, "/metrics", Public, routing::get(health::metrics)),
        r(Method::POST, "/attestation/v0/attest", Public, routing::post(attestation_service::attest)),
        r(Method::GET, "/attestation/v0/jwks", Public, routing::get(attestation_service::jwks)),
        r(Method::POST, "/kbs/v0/attestation-policy", Admin, routing::post(policy::set_attestation)),
        r(Method::POST, "/kbs/v0/reference-value", Admin, routing::post(reference_value::register)),
        r(Method::GET, "/kbs/v0/reference-value/{id}", Admin, routing::get(reference_value::query)),
    ];
    if mode == Mode::Kbs {
        v.extend([
            r(Method::POST, "/kbs/v0/auth", Public, routing::post(auth::post)),
            r(Method::POST, "/kbs/v0/attest", Public, routing::post(attest::post)),
            r(Method::GET, "/kbs/v0/resource/{*path}", Attested, routing::get(resource::get)),
            r(Method::POST, "/kbs/v0/resource/{*path}", Admin, routing::post(resource::post)),
            r(Method::DELETE, "/kbs/v0/resource/{*path}", Admin, routing::delete(resource::delete)),
            r(Method::POST, "/kbs/v0/resource-policy", Admin, routing::post(policy::set_resource)),
            r(Method::GET, "/kbs/v0/resource-policy", Admin, routing::get(policy::get_resource)),
        ]);
    }
    v
}

async fn admin_guard(State(kbs): State<AppState>, req: Request, next: Next) -> Response {
    let auth = authorization(req.headers());
    match kbs.admin.authorize(auth.as_deref(), req.method().as_str(), req.uri().path(), kbs.clock.unix()) {
        Ok(_) => {
            inc(&kbs.metrics.admin_ok);
            next.run(req).await
        }
        Err(e) => {
            inc(&kbs.metrics.admin_refused);
            e.into_response()
        }
    }
}

async fn attested_guard(State(kbs): State<AppState>, mut req: Request, next: Next) -> Response {
    let cookie = session_cookie(req.headers());
    let auth = authorization(req.headers());
    match kbs.caller(cookie.as_deref(), auth.as_deref()) {
        Ok(c) => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(e) => {
            inc(&kbs.metrics.resource_denied);
            e.into_response()
        }
    }
}

async fn fallback(req: Request) -> Response {
    let path = req.uri().path().to_string();
    let e = match path.strip_prefix("/kbs/v0/").and_then(|p| p.split('/').next()) {
        Some(plugin) if !plugin.is_empty() && path.matches('/').count() > 3 => Error::PluginNotFound(plugin.into()),
        _ => Error::InvalidRequestPath { path },
    };
    e.into_response()
}

/// Builds the router from the table: every route gets the guard its access level names.
pub fn router(state: AppState, mode: Mode) -> Router {
    let mut app: Router<AppState> = Router::new();
    for route in routes(mode) {
        let _ = route.method;
        let h = match route.access {
            Access::Public => route.handler,
            Access::Attested => route.handler.route_layer(middleware::from_fn_with_state(state.clone(), attested_guard)),
            Access::Admin => route.handler.route_layer(middleware::from_fn_with_state(state.clone(), admin_guard)),
        };
        app = app.route(route.path, h);
    }
    app.fallback(fallback).method_not_allowed_fallback(fallback).with_state(state)
}

/// Loads or creates (under `dir`) a self-signed certificate for localhost; returns (cert PEM path, config).
pub fn tls_config(cert: Option<&Path>, key: Option<&Path>, dir: &Path) -> Result<(std::path::PathBuf, rustls::ServerConfig), Error> {
    let c = |e: &dyn std::fmt::Display| Error::Config(format!("TLS: {e}"));
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => {
            let cp = dir.join("tls-cert.pem");
            let kp = dir.join("tls-key.pem");
            if !cp.exists() || !kp.exists() {
                let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]).map_err(|e| c(&e))?;
                std::fs::write(&kp, ck.key_pair.serialize_pem()).map_err(|e| c(&e))?;
                std::fs::write(&cp, ck.cert.pem()).map_err(|e| c(&e))?;
            }
            (cp, kp)
        }
        _ => return Err(Error::Config("--cert and --key go together".into())),
    };
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(&cert_path).map_err(|e| c(&e))?))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| c(&e))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(&key_path).map_err(|e| c(&e))?))
        .map_err(|e| c(&e))?
        .ok_or_else(|| Error::Config("TLS: no private key in the key file".into()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| c(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| c(&e))?;
    Ok((cert_path, cfg))
}

/// Accept loop (HTTP/1.1 with keep-alive; TLS unless `tls` is `None`).
pub async fn serve(listener: TcpListener, app: Router, tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    loop {
        let (tcp, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => continue,
        };
        let _ = tcp.set_nodelay(true);
        let svc = TowerToHyperService::new(app.clone());
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let http = hyper::server::conn::http1::Builder::new();
            match acceptor {
                Some(a) => {
                    if let Ok(s) = a.accept(tcp).await {
                        let _ = http.serve_connection(TokioIo::new(s), svc).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
}
