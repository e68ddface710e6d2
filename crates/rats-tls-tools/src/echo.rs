//! The C rats-tls sample protocol: the client sends one message (at most 256 bytes), the server
//! echoes it back and closes. Used by `rats-tls-server`/`-client`, the bench tool and the interop
//! test tool.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rats_tls::{AttesterConfig, Error, PeerVerifier, RatsCertificate};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

/// The message the C sample client sends (with its ANSI colour codes).
pub const HELLO: &str = "\x1b[91mHello and welcome to RATS-TLS!\x1b[0m\n";
/// The message the C sample client sends to verdictd with `-E`.
pub const VERDICTD_ECHO: &str = "{ \"command\": \"echo\", \"data\": \"Hello and welcome to RATS-TLS!\\n\" }";

/// Echo server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Per-connection handshake and I/O timeout: a slow or silent client is dropped after it.
    pub timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Stop after this many connections (tests, benchmarks); `None` serves forever.
    pub max_accepts: Option<usize>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { timeout: Duration::from_secs(10), max_connections: 256, max_accepts: None }
    }
}

/// Serves the C sample protocol: handshake, read up to 256 bytes, echo them back, close. Each
/// connection runs on its own thread with `opts.timeout` on every read and write, so a stuck peer
/// never blocks others.
pub fn serve_echo(listener: TcpListener, config: Arc<ServerConfig>, opts: ServerOptions) -> std::io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    let mut accepted = 0usize;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept: {e}");
                continue;
            }
        };
        accepted += 1;
        while active.load(Ordering::Acquire) >= opts.max_connections {
            std::thread::sleep(Duration::from_millis(1));
        }
        active.fetch_add(1, Ordering::AcqRel);
        let (config, counter, timeout) = (config.clone(), active.clone(), opts.timeout);
        std::thread::spawn(move || {
            let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            if let Err(e) = echo_one(stream, config, timeout) {
                tracing::error!("connection from {peer}: {e}");
            }
            counter.fetch_sub(1, Ordering::AcqRel);
        });
        if opts.max_accepts.is_some_and(|m| accepted >= m) {
            while active.load(Ordering::Acquire) > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            break;
        }
    }
    Ok(())
}

/// Error of one sample connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected reply from server: {0:?}")]
    UnexpectedReply(String),
    #[error("{0}")]
    Config(#[from] Error),
}

fn handshake_error(e: std::io::Error) -> ConnError {
    // rustls reports TLS errors through io::Error with the rustls::Error inside.
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => match Error::from_tls(t) {
            Some(r) => ConnError::Handshake(r.to_string()),
            None => ConnError::Handshake(t.to_string()),
        },
        None => ConnError::Handshake(e.to_string()),
    }
}

fn echo_one(stream: TcpStream, config: Arc<ServerConfig>, timeout: Duration) -> Result<(), ConnError> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let conn = ServerConnection::new(config).map_err(|e| ConnError::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(handshake_error)?;
    }
    tracing::debug!("client connected successfully");
    let mut buf = [0u8; 256];
    let n = tls.read(&mut buf)?;
    println!("Client: {}", String::from_utf8_lossy(&buf[..n]));
    tls.write_all(&buf[..n])?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(())
}

/// Client side of the sample: handshake, send `msg`, return the reply.
pub fn client_exchange(
    addr: &str,
    config: Arc<ClientConfig>,
    msg: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ConnError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    let name = ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("rats-tls").expect("static name is valid"));
    let conn = ClientConnection::new(config, name).map_err(|e| ConnError::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(handshake_error)?;
    }
    let mut buf = [0u8; 256];
    let r = tls.write_all(msg).and_then(|_| tls.flush()).and_then(|_| tls.read(&mut buf));
    match r {
        Ok(n) => Ok(buf[..n].to_vec()),
        // With TLS 1.3 the server judges our certificate after our side of the handshake is done:
        // its refusal is an alert still unread in the socket. Report it rather than EPIPE/EOF.
        Err(e) => Err(pending_alert(&mut tls).unwrap_or(ConnError::Io(e))),
    }
}

fn pending_alert(tls: &mut StreamOwned<ClientConnection, TcpStream>) -> Option<ConnError> {
    for _ in 0..4 {
        let _ = tls.conn.read_tls(&mut tls.sock);
        if let Err(e) = tls.conn.process_new_packets() {
            return Some(ConnError::Handshake(format!("server refused us: {e}")));
        }
    }
    None
}

/// The C sample server's custom claims (value sizes include the NUL, as `sizeof()` in C).
pub fn with_sample_server_claims(att: AttesterConfig) -> AttesterConfig {
    att.claim("key_0", b"value_0\0".to_vec()).claim("key_1", b"value_1\0".to_vec())
}

/// Why the sample server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("building the RA-TLS server identity: {0}")]
    Identity(#[from] Error),
    #[error("binding {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// The sample server: a certificate from `att` (generated once), clients checked by `mutual` when
/// given, `addr` bound and served with [`serve_echo`].
pub fn run_server(
    att: &AttesterConfig,
    mutual: Option<PeerVerifier>,
    addr: &str,
    opts: ServerOptions,
) -> Result<(), ServeError> {
    let config = server_setup(att, mutual)?;
    let listener = TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr: addr.to_string(), source })?;
    tracing::info!("Waiting for connections on {addr} ...");
    serve_echo(listener, config, opts).map_err(ServeError::Serve)
}

/// The sample client: a certificate from `att`, the server checked by `verifier`, one exchange of
/// `msg`; the server must answer with [`HELLO`] (as the C sample client insists).
pub fn run_client(
    att: &AttesterConfig,
    verifier: PeerVerifier,
    addr: &str,
    msg: &[u8],
    timeout: Duration,
) -> Result<String, ConnError> {
    let cert = RatsCertificate::generate(att)?;
    let config = Arc::new(rats_tls::tls::client_config(&cert, verifier)?);
    let reply = String::from_utf8_lossy(&client_exchange(addr, config, msg, timeout)?).into_owned();
    if reply != HELLO {
        return Err(ConnError::UnexpectedReply(reply));
    }
    Ok(reply)
}

/// Generates the certificate once and builds the server config.
pub fn server_setup(att: &AttesterConfig, mutual: Option<PeerVerifier>) -> Result<Arc<ServerConfig>, Error> {
    let cert = RatsCertificate::generate(att)?;
    Ok(Arc::new(rats_tls::tls::server_config(&cert, mutual)?))
}
