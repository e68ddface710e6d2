//! Addresses (`tcp://host:port`, `unix:///path`, bare `host:port` or a path containing `/`) and
//! RA-TLS connections over TCP or unix sockets, with JSON messages framed the way the C tools do
//! (one message per write, read until a complete JSON value arrived).
//!
//! Servers ([`Listener::serve_threads`]) bound what a client can hold: every connection gets a
//! deadline for its handshake and request (not only a per-read timeout, which a client that trickles
//! one byte at a time never trips), at most [`ServeOptions::max_connections`] are served at once
//! (the rest wait in the kernel's listen backlog, costing us no thread and no fd), and when `accept`
//! fails for lack of fds it backs off instead of spinning.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

/// `host:port` with a non-empty host and a numeric port (`[v6]:port` included).
fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((h, p)) => !h.is_empty() && !h.contains('/') && p.parse::<u16>().is_ok(),
        None => false,
    }
}

impl Addr {
    /// `tcp://host:port`, `unix:///path`, a bare `host:port` (tcp) or a bare path, which must contain
    /// a `/` (`./x.sock`): a name like `localhost:1111` is never taken for a socket file, and a bare
    /// `x.sock` is refused rather than guessed.
    pub fn parse(s: &str) -> Result<Addr, Error> {
        let bad = || Error::BadAddress(s.into());
        if let Some(rest) = s.strip_prefix("tcp://") {
            return if is_host_port(rest) { Ok(Addr::Tcp(rest.into())) } else { Err(bad()) };
        }
        if let Some(rest) = s.strip_prefix("unix://") {
            return if rest.is_empty() { Err(bad()) } else { Ok(Addr::Unix(rest.into())) };
        }
        if s.contains('/') {
            return Ok(Addr::Unix(s.into()));
        }
        if is_host_port(s) {
            return Ok(Addr::Tcp(s.into()));
        }
        Err(bad())
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

#[derive(Debug)]
enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A plain stream of either kind, with a per-operation timeout and an optional deadline for the
/// whole exchange (each read or write waits at most until the deadline).
#[derive(Debug)]
pub struct Stream {
    sock: Sock,
    io_timeout: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
}

fn deadline_passed(total: Duration) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, format!("request deadline ({} ms) passed", total.as_millis()))
}

impl Stream {
    fn new(sock: Sock) -> Stream {
        Stream { sock, io_timeout: None, deadline: None }
    }

    pub fn connect(addr: &Addr) -> Result<Stream, Error> {
        let io = |e| Error::Io(format!("connecting to {addr}: {e}"));
        Ok(Stream::new(match addr {
            Addr::Tcp(a) => Sock::Tcp(TcpStream::connect(a).map_err(io)?),
            Addr::Unix(p) => Sock::Unix(UnixStream::connect(p).map_err(io)?),
        }))
    }

    /// Timeout of each read and write.
    pub fn set_timeout(&mut self, t: Duration) -> std::io::Result<()> {
        if let Sock::Tcp(s) = &self.sock {
            s.set_nodelay(true)?;
        }
        self.io_timeout = Some(t);
        self.apply(Some(t))
    }

    /// Every read and write fails once `total` from now has passed (`None`: no deadline).
    pub fn set_deadline(&mut self, total: Option<Duration>) {
        self.deadline = total.map(|t| (Instant::now() + t, t));
    }

    fn apply(&self, t: Option<Duration>) -> std::io::Result<()> {
        match &self.sock {
            Sock::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            Sock::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
        }
    }

    /// Before an operation: the time it may take (the per-op timeout, cut at the deadline).
    fn before_op(&self) -> std::io::Result<()> {
        let Some((at, total)) = self.deadline else { return Ok(()) };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(deadline_passed(total));
        }
        let t = self.io_timeout.map_or(left, |io| io.min(left));
        self.apply(Some(t))
    }

    /// After a failed operation: a timeout at the deadline is reported as the deadline.
    fn after_err(&self, e: std::io::Error) -> std::io::Error {
        match self.deadline {
            Some((at, total))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
                    && Instant::now() >= at =>
            {
                deadline_passed(total)
            }
            _ => e,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        self.before_op()?;
        let r = match &mut self.sock {
            Sock::Tcp(s) => s.read(b),
            Sock::Unix(s) => s.read(b),
        };
        r.map_err(|e| self.after_err(e))
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.before_op()?;
        let r = match &mut self.sock {
            Sock::Tcp(s) => s.write(b),
            Sock::Unix(s) => s.write(b),
        };
        r.map_err(|e| self.after_err(e))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sock {
            Sock::Tcp(s) => s.flush(),
            Sock::Unix(s) => s.flush(),
        }
    }
}

/// How a server treats its clients.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time a client has for the TLS handshake and one complete request (a reply, and for
    /// services that take several requests per connection each next request, get a new one).
    pub request_deadline: Duration,
    /// Connections served at once (one thread each); further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions { request_deadline: Duration::from_secs(10), max_connections: 256 }
    }
}

/// Longest pause of the accept loop after running out of fds (or memory).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// `accept` failed because the process or system is out of a resource: retrying at once only spins.
fn out_of_resources(e: &std::io::Error) -> bool {
    // EMFILE 24, ENFILE 23, ENOBUFS 105, ENOMEM 12
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Counts the connections being served and lets the accept loop wait for a free slot.
struct Slots {
    active: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until fewer than `max` (at least 1) connections are active.
    fn wait_for_slot(&self, max: usize) {
        let mut n = self.lock();
        while *n >= max.max(1) {
            n = self.freed.wait(n).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Waits until a connection closes or `t` passed.
    fn wait_release(&self, t: Duration) {
        let n = self.lock();
        let _ = self.freed.wait_timeout(n, t);
    }

    fn release(&self) {
        let mut n = self.lock();
        *n = n.saturating_sub(1);
        self.freed.notify_all();
    }
}

/// A listener of either kind.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Binds `addr`. At a unix path, only a stale *socket* is replaced: a regular file, directory,
    /// symlink or anything else there is refused ([`Error::NotASocket`]) and left as it is.
    pub fn bind(addr: &Addr) -> Result<Listener, Error> {
        let io = |e| Error::Io(format!("binding {addr}: {e}"));
        Ok(match addr {
            Addr::Tcp(a) => Listener::Tcp(TcpListener::bind(a).map_err(io)?),
            Addr::Unix(p) => {
                match std::fs::symlink_metadata(p) {
                    Ok(m) if m.file_type().is_socket() => std::fs::remove_file(p).map_err(io)?,
                    Ok(m) => {
                        let t = m.file_type();
                        let kind = if t.is_file() {
                            "regular file"
                        } else if t.is_dir() {
                            "directory"
                        } else if t.is_symlink() {
                            "symlink"
                        } else {
                            "special file"
                        };
                        return Err(Error::NotASocket { path: p.clone(), kind: kind.into() });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                }
                Listener::Unix(UnixListener::bind(p).map_err(io)?)
            }
        })
    }

    pub fn accept(&self) -> std::io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::new(Sock::Tcp(s))),
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::new(Sock::Unix(s))),
        }
    }

    /// Serves forever: each accepted connection gets its own thread running `handle`, with
    /// `opts.request_deadline` already set on its stream; at most `opts.max_connections` at once.
    /// Accept failures and connection errors are logged and never stop the server; running out of
    /// fds makes the loop wait (doubling up to 1 s, or until a connection closes) instead of spin.
    pub fn serve_threads<F>(&self, opts: &ServeOptions, handle: F) -> !
    where
        F: Fn(Stream) -> Result<(), Error> + Send + Sync + 'static,
    {
        let handle = Arc::new(handle);
        let slots = Arc::new(Slots { active: Mutex::new(0), freed: Condvar::new() });
        let mut backoff: Option<Duration> = None;
        loop {
            slots.wait_for_slot(opts.max_connections);
            let mut stream = match self.accept() {
                Ok(s) => s,
                Err(e) if out_of_resources(&e) => {
                    let pause = backoff.map_or(Duration::from_millis(10), |b| (b * 2).min(MAX_ACCEPT_BACKOFF));
                    if backoff.is_none() {
                        tracing::warn!(
                            "accept: {e}; pausing until connections close (at most {} ms between tries)",
                            MAX_ACCEPT_BACKOFF.as_millis()
                        );
                    }
                    backoff = Some(pause);
                    slots.wait_release(pause);
                    continue;
                }
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::ConnectionAborted && e.kind() != std::io::ErrorKind::Interrupted
                    {
                        tracing::warn!("accept: {e}");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    continue;
                }
            };
            if backoff.take().is_some() {
                tracing::info!("accept: serving again");
            }
            stream.set_deadline(Some(opts.request_deadline));
            *slots.lock() += 1;
            let (handle, slots2) = (handle.clone(), slots.clone());
            let spawned = std::thread::Builder::new().spawn(move || {
                if let Err(e) = handle(stream) {
                    tracing::error!("connection: {e}");
                }
                slots2.release();
            });
            if let Err(e) = spawned {
                tracing::error!("connection dropped: no thread: {e}");
                slots.release();
            }
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
pub fn accept_tls(mut stream: Stream, config: Arc<ServerConfig>, timeout: Duration) -> Result<ServerTls, Error> {
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
    let mut stream = Stream::connect(addr)?;
    stream.set_timeout(timeout).map_err(|e| Error::Io(e.to_string()))?;
    let name = match addr {
        Addr::Tcp(a) => a.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_default(),
        Addr::Unix(_) => "localhost".to_string(),
    };
    let name = ServerName::try_from(name)
        .or_else(|_| ServerName::try_from("localhost"))
        .map_err(|e| Error::Handshake(e.to_string()))?;
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
            return Err(if buf.is_empty() {
                Error::Io("peer closed without a message".into())
            } else {
                Error::BadMessage("truncated JSON".into())
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::TempDir as Dir;

    #[test]
    fn addr_host_port_is_never_a_path() {
        assert_eq!(Addr::parse("tcp://127.0.0.1:1").unwrap(), Addr::Tcp("127.0.0.1:1".into()));
        assert_eq!(Addr::parse("127.0.0.1:1111").unwrap(), Addr::Tcp("127.0.0.1:1111".into()));
        assert_eq!(Addr::parse("[::1]:1111").unwrap(), Addr::Tcp("[::1]:1111".into()));
        // a host name with a port was taken for a socket file name
        assert_eq!(Addr::parse("localhost:1111").unwrap(), Addr::Tcp("localhost:1111".into()));
        assert_eq!(Addr::parse("unix:///run/x.sock").unwrap(), Addr::Unix("/run/x.sock".into()));
        assert_eq!(Addr::parse("/run/x.sock").unwrap(), Addr::Unix("/run/x.sock".into()));
        assert_eq!(Addr::parse("./x.sock").unwrap(), Addr::Unix("./x.sock".into()));
        // neither a path (no '/') nor host:port: refused, not a socket in the working directory
        for bad in ["", "x.sock", "localhost", "host:", "host:port", "tcp://", "tcp://host", "unix://", "tcp://h:99999"]
        {
            assert!(matches!(Addr::parse(bad), Err(Error::BadAddress(_))), "{bad:?} accepted: {:?}", Addr::parse(bad));
        }
    }

    #[test]
    fn trickling_client_dropped_at_request_deadline() {
        let d = Dir::new("deadline");
        let path = d.path().join("s.sock");
        let l = Listener::bind(&Addr::Unix(path.clone())).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = Mutex::new(tx);
        std::thread::spawn(move || {
            let opts = ServeOptions { request_deadline: Duration::from_millis(600), max_connections: 4 };
            l.serve_threads(&opts, move |mut s| {
                s.set_timeout(Duration::from_millis(400)).unwrap();
                let t0 = Instant::now();
                let r = read_json(&mut s);
                let _ = tx.lock().unwrap().send((r, t0.elapsed()));
                Ok(())
            })
        });
        // one byte every 100 ms: each read is well within the per-read timeout
        let mut c = UnixStream::connect(&path).unwrap();
        c.write_all(b"{\"a\":").unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let t = std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                if c.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let (r, took) = rx.recv_timeout(Duration::from_secs(5)).expect("trickling client still served after 5 s");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        t.join().unwrap();
        assert!(matches!(&r, Err(Error::Io(m)) if m.contains("deadline")), "{r:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
    }

    #[test]
    fn connection_cap_queues_clients() {
        let d = Dir::new("cap");
        let path = d.path().join("s.sock");
        let l = Listener::bind(&Addr::Unix(path.clone())).unwrap();
        let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a2, p2) = (active.clone(), peak.clone());
        std::thread::spawn(move || {
            let opts = ServeOptions { request_deadline: Duration::from_secs(5), max_connections: 2 };
            l.serve_threads(&opts, move |mut s| {
                let n = a2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                p2.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                s.write_all(b"x").unwrap();
                a2.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
        });
        let clients: Vec<_> = (0..6)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || {
                    let mut c = UnixStream::connect(p).unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn bind_replaces_only_a_stale_socket() {
        let d = Dir::new("bind");
        // a regular file at the path: refused and kept
        let f = d.path().join("file.sock");
        std::fs::write(&f, b"precious").unwrap();
        let e = Listener::bind(&Addr::Unix(f.clone())).err().unwrap();
        assert!(matches!(&e, Error::NotASocket { kind, .. } if kind == "regular file"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"precious");
        // a directory
        let sub = d.path().join("dir.sock");
        std::fs::create_dir(&sub).unwrap();
        assert!(matches!(Listener::bind(&Addr::Unix(sub.clone())), Err(Error::NotASocket { .. })));
        assert!(sub.is_dir());
        // a symlink (even to a socket) is not followed nor removed
        let s = d.path().join("real.sock");
        let l = Listener::bind(&Addr::Unix(s.clone())).unwrap();
        drop(l);
        let link = d.path().join("link.sock");
        std::os::unix::fs::symlink(&s, &link).unwrap();
        assert!(
            matches!(Listener::bind(&Addr::Unix(link.clone())), Err(Error::NotASocket { kind, .. }) if kind == "symlink")
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        // a stale socket is replaced
        assert!(Listener::bind(&Addr::Unix(s.clone())).is_ok());
    }
}
