use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use pal::{Pal, Process, Stdio};

use super::path::with_short_path;
use super::proto::{decode, encode, recv_frame, send_frame, ExecRequest, Request, Response, STDIO_FDS};
use super::pty::open_pty;
use crate::error::AgentError;

/// What the agent does with a request (the PAL in production; tests may substitute).
pub trait ExecHandler: Send + Sync + 'static {
    /// Starts the payload with the given stdio (descriptors owned by the agent until `wait`
    /// returns); returns its pid.
    fn start(&self, req: &ExecRequest, stdio: Stdio) -> Result<i32, AgentError>;
    /// Waits for it and returns its exit value.
    fn wait(&self, pid: i32) -> Result<i32, AgentError>;
    /// Delivers a signal to it.
    fn kill(&self, pid: i32, signal: i32) -> Result<(), AgentError>;
    /// Evidence from the enclave runtime (`pal_get_local_report`, PAL API v3).
    fn local_report(&self, _target_info: &[u8]) -> Result<Vec<u8>, AgentError> {
        Err(AgentError::Unsupported("local reports"))
    }
}

/// Runs exec requests through a PAL (v2+: `pal_create_process`, `pal_exec`, `pal_kill`).
#[derive(Debug, Clone)]
pub struct PalExecHandler {
    pal: Arc<Pal>,
}

impl PalExecHandler {
    pub fn new(pal: Arc<Pal>) -> PalExecHandler {
        PalExecHandler { pal }
    }
}

impl ExecHandler for PalExecHandler {
    fn start(&self, req: &ExecRequest, stdio: Stdio) -> Result<i32, AgentError> {
        let mut env = req.env.clone();
        if let Some(cwd) = &req.cwd {
            env.retain(|kv| !kv.starts_with("PWD="));
            env.push(format!("PWD={cwd}"));
        }
        let mut p = Process::new(req.argv.clone(), env, stdio);
        if let Some(path) = &req.path {
            p.path = path.clone();
        }
        // v1 PALs have no pal_create_process: create_process reports NotInVersion.
        self.pal.create_process(&p).map_err(AgentError::Pal)
    }

    fn wait(&self, pid: i32) -> Result<i32, AgentError> {
        self.pal.exec(pid).map_err(AgentError::Pal)
    }

    fn kill(&self, pid: i32, signal: i32) -> Result<(), AgentError> {
        self.pal.kill(pid, signal).map_err(AgentError::Pal)
    }

    fn local_report(&self, target_info: &[u8]) -> Result<Vec<u8>, AgentError> {
        self.pal.local_report(target_info, pal::v3::REPORT_LEN).map_err(AgentError::Pal)
    }
}

/// A bound, not yet serving, agent socket.
#[derive(Debug)]
pub struct AgentServer {
    listener: UnixListener,
    path: PathBuf,
}

impl AgentServer {
    /// Binds `path` (removing a stale socket file first). Paths of any length work.
    pub fn bind(path: &Path) -> Result<AgentServer, AgentError> {
        let sock_err =
            |op, e: std::io::Error| AgentError::Socket { op, path: path.to_path_buf(), errno: pal::Errno::from_io(&e) };
        match std::fs::symlink_metadata(path) {
            Ok(md) if std::os::unix::fs::FileTypeExt::is_socket(&md.file_type()) => {
                std::fs::remove_file(path).map_err(|e| sock_err("remove stale socket", e))?
            }
            _ => {}
        }
        // Only the owner (root, like the state directory) may connect: bind, then restrict the
        // mode before anyone can be served (nothing is accepted until `spawn`).
        let listener = with_short_path(path, |p| {
            let l = UnixListener::bind(p)?;
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            Ok(l)
        })
        .map_err(|e| sock_err("bind", e))?;
        Ok(AgentServer { listener, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections on a background thread, each on its own thread.
    pub fn spawn(self, handler: Arc<dyn ExecHandler>) -> Result<AgentHandle, AgentError> {
        let stop = Arc::new(AtomicBool::new(false));
        let waker: OwnedFd =
            self.listener.as_fd().try_clone_to_owned().map_err(|e| AgentError::io("dup listener", &e))?;
        let stop2 = stop.clone();
        let listener = self.listener;
        let thread = std::thread::Builder::new()
            .name("exec-agent".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let h = handler.clone();
                    let _ = std::thread::Builder::new()
                        .name("exec-agent-conn".into())
                        .spawn(move || serve_connection(stream, &*h));
                }
            })
            .map_err(|e| AgentError::io("spawn agent thread", &e))?;
        Ok(AgentHandle { stop, waker, thread: Some(thread), path: self.path })
    }
}

/// A running agent. Dropping it (or [`AgentHandle::shutdown`]) stops accepting connections and
/// removes the socket file; requests already running finish on their own threads.
#[derive(Debug)]
pub struct AgentHandle {
    stop: Arc<AtomicBool>,
    waker: OwnedFd,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl AgentHandle {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // shutdown(2) on a listening socket makes a blocked accept(2) return on Linux.
        let _ = rustix::net::shutdown(&self.waker, rustix::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_now();
        }
    }
}

fn send(stream: &UnixStream, r: &Response) -> Result<(), AgentError> {
    send_frame(stream, &encode(r)?, &[])
}

fn error_response(e: &AgentError) -> Response {
    let errno = match e {
        AgentError::Pal(p) => p.errno().map(|e| e.0),
        AgentError::Io { errno, .. } | AgentError::Socket { errno, .. } => Some(errno.0),
        _ => None,
    };
    Response::Error { message: e.to_string(), errno }
}

fn serve_connection(stream: UnixStream, handler: &dyn ExecHandler) {
    if let Err(e) = serve_exec(&stream, handler) {
        tracing::debug!(error = %e, "exec agent: request failed");
        if let Err(error) = send(&stream, &error_response(&e)) {
            tracing::debug!(%error, "exec agent: could not send the error reply");
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// How long a client may take to send its exec request.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn serve_exec(stream: &UnixStream, handler: &dyn ExecHandler) -> Result<(), AgentError> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(|e| AgentError::io("set timeout", &e))?;
    let (body, fds) = recv_frame(stream)?.ok_or(AgentError::Closed("an exec request"))?;
    // Kill requests may come at any time while the payload runs.
    stream.set_read_timeout(None).map_err(|e| AgentError::io("set timeout", &e))?;
    let req = match decode::<Request>(&body)? {
        Request::Exec(r) => r,
        Request::LocalReport { target_info } => {
            let report = handler.local_report(&target_info)?;
            return send(stream, &Response::LocalReport { report });
        }
        other => return Err(AgentError::Unexpected { expected: "exec", got: format!("{other:?}") }),
    };
    // The descriptors the payload's stdio refer to, kept until it exits: the client's three, or
    // the slave of a terminal allocated here (inside the container, like runc's exec --tty).
    let (fds, master) = if req.tty {
        if !fds.is_empty() {
            return Err(AgentError::TtyWithFds(fds.len()));
        }
        let (master, slave) = open_pty(req.console_size)?;
        (vec![slave], Some(master))
    } else {
        if fds.len() != STDIO_FDS {
            return Err(AgentError::BadFds(fds.len()));
        }
        (fds, None)
    };
    let stdio = match &fds[..] {
        [t] => Stdio { stdin: t.as_raw_fd(), stdout: t.as_raw_fd(), stderr: t.as_raw_fd() },
        [i, o, e] => Stdio { stdin: i.as_raw_fd(), stdout: o.as_raw_fd(), stderr: e.as_raw_fd() },
        _ => return Err(AgentError::BadFds(fds.len())),
    };
    let pid = handler.start(&req, stdio)?;
    match &master {
        Some(m) => send_frame(stream, &encode(&Response::Started { pid })?, &[m.as_fd()])?,
        None => send(stream, &Response::Started { pid })?,
    }
    drop(master);
    let done = AtomicBool::new(false);
    let code = std::thread::scope(|s| {
        let reader = stream.try_clone().map_err(|e| AgentError::io("clone connection", &e))?;
        let done = &done;
        s.spawn(move || {
            // Kill requests until the client or our final shutdown closes the connection.
            while let Ok(Some((body, _))) = recv_frame(&reader) {
                if let Ok(Request::Kill { signal }) = decode::<Request>(&body) {
                    let _ = handler.kill(pid, signal);
                }
            }
            // The client went away (e.g. `rune exec` was SIGKILLed) while the payload still
            // runs: nobody can collect its exit value or signal it any more, so end it.
            if !done.load(Ordering::SeqCst) {
                let _ = handler.kill(pid, nix::libc::SIGKILL);
            }
        });
        let code = handler.wait(pid);
        done.store(true, Ordering::SeqCst);
        drop(fds); // our copies of the client's stdio: let its pipes reach EOF
        let reply = match &code {
            Ok(c) => Response::Exited { code: *c },
            Err(e) => error_response(e),
        };
        let sent = send(stream, &reply);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        sent
    });
    code
}
