use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use super::path::with_short_path;
use super::proto::{decode, encode, recv_frame, send_frame, ExecRequest, Request, Response};
use crate::error::AgentError;

/// A payload started through the agent.
#[derive(Debug)]
pub struct ExecSession {
    stream: UnixStream,
    pid: i32,
}

/// Sends kill requests for a session from another thread (e.g. `rune exec`'s signal forwarder).
#[derive(Debug)]
pub struct ExecKiller {
    stream: UnixStream,
}

fn remote(r: Response, expected: &'static str) -> AgentError {
    match r {
        Response::Error { message, errno } => AgentError::Remote { message, errno },
        other => AgentError::Unexpected { expected, got: format!("{other:?}") },
    }
}

fn recv_response(stream: &UnixStream, what: &'static str) -> Result<Response, AgentError> {
    let (body, _) = recv_frame(stream)?.ok_or(AgentError::Closed(what))?;
    decode(&body)
}

fn send_kill(stream: &UnixStream, signal: i32) -> Result<(), AgentError> {
    send_frame(stream, &encode(&Request::Kill { signal })?, &[])
}

/// Connects to the agent at `socket` (any path length), sends `req` with `stdio` (stdin, stdout,
/// stderr) and waits until the payload has started.
pub fn exec(socket: &Path, req: &ExecRequest, stdio: [BorrowedFd<'_>; 3]) -> Result<ExecSession, AgentError> {
    let stream = with_short_path(socket, |p| UnixStream::connect(p)).map_err(|e| AgentError::Socket {
        op: "connect",
        path: socket.to_path_buf(),
        errno: pal::Errno::from_io(&e),
    })?;
    send_frame(&stream, &encode(&Request::Exec(req.clone()))?, &stdio)?;
    match recv_response(&stream, "the payload started")? {
        Response::Started { pid } => Ok(ExecSession { stream, pid }),
        other => Err(remote(other, "started")),
    }
}

/// Like [`exec`] for a request with `tty` set: the agent allocates a pseudo-terminal inside the
/// container for the payload's stdio; returns the session and the terminal's master.
pub fn exec_tty(socket: &Path, req: &ExecRequest) -> Result<(ExecSession, OwnedFd), AgentError> {
    let stream = connect(socket)?;
    let req = ExecRequest { tty: true, ..req.clone() };
    send_frame(&stream, &encode(&Request::Exec(req))?, &[])?;
    let (body, mut fds) = recv_frame(&stream)?.ok_or(AgentError::Closed("the payload started"))?;
    match decode(&body)? {
        Response::Started { pid } if fds.len() == 1 => {
            let master = fds.remove(0);
            Ok((ExecSession { stream, pid }, master))
        }
        Response::Started { .. } => Err(AgentError::NoPtyMaster(fds.len())),
        other => Err(remote(other, "started")),
    }
}

/// Hands a terminal's master to a runc-style console socket (`--console-socket`): one message
/// whose data is the name `/dev/ptmx` and whose SCM_RIGHTS carry the descriptor, as runc and
/// libcontainer send it (containerd's shim and docker read it this way).
pub fn send_console_master(console_socket: &Path, master: BorrowedFd<'_>) -> Result<(), AgentError> {
    let err = |e: std::io::Error| AgentError::ConsoleSocket {
        path: console_socket.to_path_buf(),
        errno: pal::Errno::from_io(&e),
    };
    let stream = with_short_path(console_socket, |p| UnixStream::connect(p)).map_err(err)?;
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    let fds = [master];
    if !anc.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(AgentError::BadFds(1));
    }
    let name = b"/dev/ptmx";
    let n = sendmsg(&stream, &[IoSlice::new(name)], &mut anc, SendFlags::NOSIGNAL)
        .map_err(|e| err(std::io::Error::from_raw_os_error(e.raw_os_error())))?;
    if n != name.len() {
        return Err(err(std::io::Error::from(std::io::ErrorKind::WriteZero)));
    }
    Ok(())
}

fn connect(socket: &Path) -> Result<UnixStream, AgentError> {
    with_short_path(socket, |p| UnixStream::connect(p)).map_err(|e| AgentError::Socket {
        op: "connect",
        path: socket.to_path_buf(),
        errno: pal::Errno::from_io(&e),
    })
}

/// Asks the agent at `socket` for the enclave runtime's local report (`pal_get_local_report`,
/// PAL API v3) for `target_info`.
pub fn local_report(socket: &Path, target_info: &[u8]) -> Result<Vec<u8>, AgentError> {
    let stream = with_short_path(socket, |p| UnixStream::connect(p)).map_err(|e| AgentError::Socket {
        op: "connect",
        path: socket.to_path_buf(),
        errno: pal::Errno::from_io(&e),
    })?;
    send_frame(&stream, &encode(&Request::LocalReport { target_info: target_info.to_vec() })?, &[])?;
    match recv_response(&stream, "the local report")? {
        Response::LocalReport { report } => Ok(report),
        other => Err(remote(other, "local_report")),
    }
}

impl ExecSession {
    /// The connection and the payload's pid, e.g. to hand the session to another process.
    pub fn into_parts(self) -> (UnixStream, i32) {
        (self.stream, self.pid)
    }

    /// A session from [`ExecSession::into_parts`] (the payload has started).
    pub fn from_parts(stream: UnixStream, pid: i32) -> ExecSession {
        ExecSession { stream, pid }
    }

    /// The PAL's pid of the payload.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Asks the agent to `pal_kill(pid, signal)`.
    pub fn kill(&self, signal: i32) -> Result<(), AgentError> {
        send_kill(&self.stream, signal)
    }

    /// A handle that can send kill requests from another thread.
    pub fn killer(&self) -> Result<ExecKiller, AgentError> {
        Ok(ExecKiller { stream: self.stream.try_clone().map_err(|e| AgentError::io("clone connection", &e))? })
    }

    /// Waits for the payload's exit value.
    pub fn wait(self) -> Result<i32, AgentError> {
        match recv_response(&self.stream, "the payload exited")? {
            Response::Exited { code } => Ok(code),
            other => Err(remote(other, "exited")),
        }
    }
}

impl ExecKiller {
    pub fn kill(&self, signal: i32) -> Result<(), AgentError> {
        send_kill(&self.stream, signal)
    }
}
