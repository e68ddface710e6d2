//! The route table (each route declares who may call it; anything not listed is a 404 error body),
//! the guards that enforce it, TLS, and the accept loop.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

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
    match kbs.admin.authorize(auth.as_deref(), req.method().as_str(), req.uri().path(), kbs.clock.now_unix()) {
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
            Access::Attested => {
                route.handler.route_layer(middleware::from_fn_with_state(state.clone(), attested_guard))
            }
            Access::Admin => route.handler.route_layer(middleware::from_fn_with_state(state.clone(), admin_guard)),
        };
        app = app.route(route.path, h);
    }
    app.fallback(fallback).method_not_allowed_fallback(fallback).with_state(state)
}

/// Loads or creates (under `dir`) a self-signed certificate for localhost; returns (cert PEM path, config).
pub fn tls_config(
    cert: Option<&Path>,
    key: Option<&Path>,
    dir: &Path,
) -> Result<(std::path::PathBuf, rustls::ServerConfig), Error> {
    let c = |e: &dyn std::fmt::Display| Error::Config(format!("TLS: {e}"));
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => {
            let cp = dir.join("tls-cert.pem");
            let kp = dir.join("tls-key.pem");
            if !cp.exists() || !kp.exists() {
                let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into(), "::1".into()])
                    .map_err(|e| c(&e))?;
                // 0600 whatever the umask (the certificate too: clients get it from the operator)
                crate::private_fs::write_private(&kp, ck.key_pair.serialize_pem().as_bytes())?;
                crate::private_fs::write_private(&cp, ck.cert.pem().as_bytes())?;
            } else {
                crate::private_fs::tighten_path(&kp)?;
                crate::private_fs::tighten_path(&cp)?;
            }
            (cp, kp)
        }
        _ => return Err(Error::Config("--cert and --key go together".into())),
    };
    let certs =
        rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(&cert_path).map_err(|e| c(&e))?))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| c(&e))?;
    let key =
        rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(&key_path).map_err(|e| c(&e))?))
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

/// Connection-level limits (issue 13, item 7): without them a client that opens sockets and
/// sends nothing, or sends a byte at a time, holds a task and a file descriptor forever.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// TLS handshake must complete within this.
    pub tls_handshake: Duration,
    /// Request headers must arrive within this, counted from when the connection starts waiting
    /// for a request (so it also bounds an idle keep-alive connection).
    pub header_read: Duration,
    /// From the end of the headers to the response (includes reading the body): else 408.
    pub request: Duration,
    /// No byte moved in either direction and no request being handled for this long: closed
    /// (covers a client that stops reading its response).
    pub idle: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            tls_handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            idle: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// What the accept loop reports (the binary decides how to log it).
#[derive(Debug)]
pub enum AcceptEvent {
    /// `accept` failed with a non-per-connection error (EMFILE, ENFILE, ENOBUFS, ...): the loop
    /// sleeps `delay` between retries until it succeeds. Sent once per burst of failures.
    BackingOff { error: std::io::Error, delay: Duration },
    /// `accept` works again after `failures` failed attempts over `after`.
    Recovered { failures: u64, after: Duration },
}

/// Accept failures that concern one connection only: retry at once.
fn per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

/// Exponential backoff for accept errors such as EMFILE: the listener stays readable while the
/// process has no free descriptor, so retrying at once spins a whole CPU.
struct AcceptBackoff {
    failures: u64,
    since: Option<tokio::time::Instant>,
    delay: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        AcceptBackoff { failures: 0, since: None, delay: Self::FIRST }
    }

    fn failed(&mut self, error: std::io::Error, log: &(dyn Fn(AcceptEvent) + Send + Sync)) -> Duration {
        let d = self.delay;
        if self.failures == 0 {
            self.since = Some(tokio::time::Instant::now());
            log(AcceptEvent::BackingOff { error, delay: d });
        }
        self.failures += 1;
        self.delay = (self.delay * 2).min(Self::MAX);
        d
    }

    fn succeeded(&mut self, log: &(dyn Fn(AcceptEvent) + Send + Sync)) {
        if self.failures > 0 {
            let after = self.since.map(|s| s.elapsed()).unwrap_or_default();
            log(AcceptEvent::Recovered { failures: self.failures, after });
            *self = Self::new();
        }
    }
}

/// Progress of one connection, read by its watchdog.
struct Activity {
    start: tokio::time::Instant,
    /// Milliseconds after `start` when a byte last moved.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity { start: tokio::time::Instant::now(), last: AtomicU64::new(0), in_flight: AtomicUsize::new(0) }
    }
    fn touch(&self) {
        self.last.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn last(&self) -> tokio::time::Instant {
        self.start + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

/// An I/O stream that records progress in its connection's [`Activity`].
struct Tracked {
    io: Box<dyn Io>,
    activity: Arc<Activity>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The router with a deadline per request and an in-flight count for the idle watchdog.
#[derive(Clone)]
struct Guarded {
    app: Router,
    request_timeout: Duration,
    activity: Arc<Activity>,
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl hyper::service::Service<Request<hyper::body::Incoming>> for Guarded {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Self::Future {
        let app = self.app.clone();
        let d = self.request_timeout;
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(self.activity.clone());
        Box::pin(async move {
            let _guard = guard;
            match tokio::time::timeout(d, app.oneshot(req.map(Body::new))).await {
                Ok(r) => r,
                Err(_) => Ok(Error::RequestTimeout { secs: d.as_secs() }.into_response()),
            }
        })
    }
}

/// One connection: TLS handshake under its deadline, then HTTP/1.1 with hyper's header-read
/// timer, watched for idleness.
async fn connection(tcp: TcpStream, acceptor: Option<TlsAcceptor>, app: Router, limits: Arc<ConnLimits>) {
    let activity = Arc::new(Activity::new());
    let io: Box<dyn Io> = match acceptor {
        Some(a) => match tokio::time::timeout(limits.tls_handshake, a.accept(tcp)).await {
            Ok(Ok(s)) => Box::new(s),
            _ => return,
        },
        None => Box::new(tcp),
    };
    let svc = Guarded { app, request_timeout: limits.request, activity: activity.clone() };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let conn = http.serve_connection(TokioIo::new(Tracked { io, activity: activity.clone() }), svc);
    let mut conn = std::pin::pin!(conn);
    activity.touch();
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep_until(activity.last() + limits.idle) => {
                if activity.last().elapsed() < limits.idle {
                    continue;
                }
                if activity.in_flight.load(Ordering::Relaxed) > 0 {
                    // a request is being handled: bounded by the request deadline, not idle
                    activity.touch();
                    continue;
                }
                if closing {
                    // the graceful close did not finish within another idle period: drop it
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.touch();
            }
        }
    }
}

/// Accept loop (HTTP/1.1 with keep-alive; TLS unless `tls` is `None`), with the limits of
/// [`ConnLimits`] and a backoff on accept errors such as EMFILE, reported through `log`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
    log: impl Fn(AcceptEvent) + Send + Sync + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let limits = Arc::new(limits);
    let mut backoff = AcceptBackoff::new();
    loop {
        let permit = slots.clone().acquire_owned().await.map_err(std::io::Error::other)?;
        let tcp = loop {
            match listener.accept().await {
                Ok((tcp, _peer)) => {
                    backoff.succeeded(&log);
                    break tcp;
                }
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    let d = backoff.failed(e, &log);
                    tokio::time::sleep(d).await;
                }
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, app, limits) = (acceptor.clone(), app.clone(), limits.clone());
        tokio::spawn(async move {
            connection(tcp, acceptor, app, limits).await;
            drop(permit);
        });
    }
}
