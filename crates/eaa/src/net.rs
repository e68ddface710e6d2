//! Addresses (`tcp://ip:port`, `unix:///path`, bare `ip:port` or a path) and RA-TLS connections over
//! TCP or unix sockets, with JSON messages framed the way the C tools do (one message per write,
//! read until a complete JSON value arrived).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned};

use crate::Error;

/// Largest JSON message accepted.
pub const MAX_MESSAGE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Tcp(String),
    Unix(PathBuf),
}

impl Addr {
    /// `tcp://ip:port`, `unix:///path`, `ip:port` (tcp) or anything else (a unix socket path).
    pub fn parse(s: &str) -> Result<Addr, Error> {
        if let Some(rest) = s.strip_prefix("tcp://") {
            return if rest.contains(':') { Ok(Addr::Tcp(rest.into())) } else { Err(Error::BadAddress(s.into())) };
        }
        if let Some(rest) = s.strip_prefix("unix://") {
            return if rest.is_empty() { Err(Error::BadAddress(s.into())) } else { Ok(Addr::Unix(rest.into())) };
        }
        if s.is_empty() {
            return Err(Error::BadAddress(s.into()));
        }
        if s.parse::<std::net::SocketAddr>().is_ok() {
            return Ok(Addr::Tcp(s.into()));
        }
        Ok(Addr::Unix(s.into()))
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(a) => write!(f, "tcp://{a}"),
            Addr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// A plain stream of either kind.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn connect(addr: &Addr) -> Result<Stream, Error> {
        let io = |e| Error::Io(format!("connecting to {addr}: {e}"));
        Ok(match addr {
            Addr::Tcp(a) => Stream::Tcp(TcpStream::connect(a).map_err(io)?),
            Addr::Unix(p) => Stream::Unix(UnixStream::connect(p).map_err(io)?),
        })
    }

    pub fn set_timeout(&self, t: Duration) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))
            }
            Stream::Unix(s) => {
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(b),
            Stream::Unix(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(b),
            Stream::Unix(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// A listener of either kind. A unix listener removes a stale socket file first.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    pub fn bind(addr: &Addr) -> Result<Listener, Error> {
        let io = |e| Error::Io(format!("binding {addr}: {e}"));
        Ok(match addr {
            Addr::Tcp(a) => Listener::Tcp(TcpListener::bind(a).map_err(io)?),
            Addr::Unix(p) => {
                if p.exists() {
                    std::fs::remove_file(p).map_err(io)?;
                }
                Listener::Unix(UnixListener::bind(p).map_err(io)?)
            }
        })
    }

    pub fn accept(&self) -> std::io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Serves forever: each accepted connection gets its own thread running `handle`; accept
    /// failures and connection errors are logged and never stop the server.
    pub fn serve_threads<F>(&self, handle: F) -> !
    where
        F: Fn(Stream) -> Result<(), Error> + Send + Sync + 'static,
    {
        let handle = Arc::new(handle);
        loop {
            let stream = match self.accept() {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("accept: {e}");
                    continue;
                }
            };
            let handle = handle.clone();
            std::thread::spawn(move || {
                if let Err(e) = handle(stream) {
                    log::error!("connection: {e}");
                }
            });
        }
    }
}

pub type ServerTls = StreamOwned<ServerConnection, Stream>;
pub type ClientTls = StreamOwned<ClientConnection, Stream>;

fn tls_err(e: std::io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => match rats_tls::Error::from_tls(t) {
            Some(r) => Error::RatsTls(r),
            None => Error::Handshake(t.to_string()),
        },
        None => Error::Handshake(e.to_string()),
    }
}

/// Runs the server side of the handshake on an accepted stream.
pub fn accept_tls(stream: Stream, config: Arc<ServerConfig>, timeout: Duration) -> Result<ServerTls, Error> {
    stream.set_timeout(timeout).map_err(|e| Error::Io(e.to_string()))?;
    let conn = ServerConnection::new(config).map_err(|e| Error::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(tls_err)?;
    }
    Ok(tls)
}

/// Connects and runs the client side of the handshake.
pub fn connect_tls(addr: &Addr, config: Arc<ClientConfig>, timeout: Duration) -> Result<ClientTls, Error> {
    let stream = Stream::connect(addr)?;
    stream.set_timeout(timeout).map_err(|e| Error::Io(e.to_string()))?;
    let name = match addr {
        Addr::Tcp(a) => a.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_default(),
        Addr::Unix(_) => "localhost".to_string(),
    };
    let name = ServerName::try_from(name).or_else(|_| ServerName::try_from("localhost")).map_err(|e| Error::Handshake(e.to_string()))?;
    let conn = ClientConnection::new(config, name).map_err(|e| Error::Handshake(e.to_string()))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(tls_err)?;
    }
    Ok(tls)
}

/// Reads one JSON value (the C peers send each message in one write, not newline-terminated).
pub fn read_json<R: Read>(r: &mut R) -> Result<serde_json::Value, Error> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = r.read(&mut chunk).map_err(|e| Error::Io(format!("reading request: {e}")))?;
        if n == 0 {
            return Err(if buf.is_empty() { Error::Io("peer closed without a message".into()) } else { Error::BadMessage("truncated JSON".into()) });
        }
        buf.extend_from_slice(&chunk[..n]);
        // trailing NULs/whitespace (C senders include the terminator sometimes) are not part of the value
        let trimmed: &[u8] = {
            let end = buf.iter().rposition(|b| *b != 0 && !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
            &buf[..end]
        };
        match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v) => return Ok(v),
            Err(e) if e.is_eof() && buf.len() < MAX_MESSAGE => continue,
            Err(e) => return Err(Error::BadMessage(e.to_string())),
        }
    }
}

pub fn write_json<W: Write>(w: &mut W, v: &serde_json::Value) -> Result<(), Error> {
    let bytes = serde_json::to_vec(v).map_err(|e| Error::BadMessage(e.to_string()))?;
    w.write_all(&bytes).and_then(|_| w.flush()).map_err(|e| Error::Io(format!("writing reply: {e}")))
}

/// Reads whatever the peer sent before it closed and returns the alert it carried, if any.
pub fn pending_alert(tls: &mut ClientTls) -> Option<Error> {
    for _ in 0..4 {
        match tls.conn.read_tls(&mut tls.sock) {
            Ok(0) | Err(_) => {}
            Ok(_) => {}
        }
        if let Err(e) = tls.conn.process_new_packets() {
            return Some(Error::Handshake(format!("peer refused us: {e}")));
        }
    }
    None
}
