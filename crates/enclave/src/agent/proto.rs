//! Frames of the exec agent protocol (see the module docs of [`crate::agent`]).

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::AgentError;

/// Largest frame body accepted (1 MiB).
pub const MAX_FRAME: usize = 1 << 20;
/// Descriptors an exec request carries: stdin, stdout, stderr.
pub const STDIO_FDS: usize = 3;

/// A terminal size (`TIOCSWINSZ`), as in an OCI process's `consoleSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSize {
    pub height: u16,
    pub width: u16,
}

/// A payload to run through the agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Full argument vector, `argv[0]` included; each element is passed as is.
    pub argv: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// Working directory (passed as `PWD`), if any.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Executable path if different from `argv[0]`.
    #[serde(default)]
    pub path: Option<String>,
    /// Run the payload on a new pseudo-terminal allocated by the agent inside the container
    /// (its slave is the payload's stdin, stdout and stderr); the request then carries no
    /// descriptors and the `started` reply carries the terminal's master.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    /// Initial window size of that terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
}

/// Client → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    Exec(ExecRequest),
    Kill {
        signal: i32,
    },
    /// `pal_get_local_report(target_info, ...)` (PAL API v3); answered with
    /// [`Response::LocalReport`], then the connection closes.
    LocalReport {
        target_info: Vec<u8>,
    },
}

/// Agent → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    Started { pid: i32 },
    Exited { code: i32 },
    LocalReport { report: Vec<u8> },
    Error { message: String, errno: Option<i32> },
}

fn io_err(op: &'static str, e: rustix::io::Errno) -> AgentError {
    AgentError::Io { op, errno: pal::Errno(e.raw_os_error()) }
}

/// Encodes one message as a frame.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, AgentError> {
    let body = serde_json::to_vec(msg).map_err(|e| AgentError::Malformed(e.to_string()))?;
    if body.len() > MAX_FRAME {
        return Err(AgentError::FrameTooLarge(body.len()));
    }
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a frame body.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, AgentError> {
    serde_json::from_slice(body).map_err(|e| AgentError::Malformed(e.to_string()))
}

/// Sends a whole frame; `fds` ride on its first byte.
pub fn send_frame(sock: &UnixStream, frame: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), AgentError> {
    let mut sent = 0;
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(STDIO_FDS))];
    while sent < frame.len() {
        let mut anc = SendAncillaryBuffer::new(&mut space);
        if sent == 0 && !fds.is_empty() && !anc.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(AgentError::BadFds(fds.len()));
        }
        let n = sendmsg(sock, &[IoSlice::new(&frame[sent..])], &mut anc, SendFlags::NOSIGNAL)
            .map_err(|e| io_err("send", e))?;
        sent += n;
    }
    Ok(())
}

fn recv_some(sock: &UnixStream, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> Result<usize, AgentError> {
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(STDIO_FDS))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let r = recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut anc, RecvFlags::CMSG_CLOEXEC)
        .map_err(|e| io_err("receive", e))?;
    for msg in anc.drain() {
        if let RecvAncillaryMessage::ScmRights(it) = msg {
            fds.extend(it);
        }
    }
    Ok(r.bytes)
}

fn recv_exact(
    sock: &UnixStream,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    what: &'static str,
) -> Result<bool, AgentError> {
    let mut got = 0;
    while got < buf.len() {
        let n = recv_some(sock, &mut buf[got..], fds)?;
        if n == 0 {
            if got == 0 {
                return Ok(false);
            }
            return Err(AgentError::Closed(what));
        }
        got += n;
    }
    Ok(true)
}

/// A frame body and the descriptors that came with it.
pub type Frame = (Vec<u8>, Vec<OwnedFd>);

/// Receives one frame and any descriptors sent with it. `Ok(None)`: the peer closed the
/// connection cleanly between frames.
pub fn recv_frame(sock: &UnixStream) -> Result<Option<Frame>, AgentError> {
    let mut fds = Vec::new();
    let mut len = [0u8; 4];
    if !recv_exact(sock, &mut len, &mut fds, "a frame header")? {
        return Ok(None);
    }
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(AgentError::FrameTooLarge(n));
    }
    let mut body = vec![0u8; n];
    if n > 0 && !recv_exact(sock, &mut body, &mut fds, "the end of a frame")? {
        return Err(AgentError::Closed("the end of a frame"));
    }
    Ok(Some((body, fds)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let r = Request::Exec(ExecRequest {
            argv: vec!["sh".into(), "-c".into(), "echo 'a b'".into()],
            env: vec!["A=x y".into()],
            ..Default::default()
        });
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, r#"{"type":"exec","argv":["sh","-c","echo 'a b'"],"env":["A=x y"],"cwd":null,"path":null}"#);
        assert_eq!(serde_json::to_string(&Request::Kill { signal: 15 }).unwrap(), r#"{"type":"kill","signal":15}"#);
        assert_eq!(serde_json::to_string(&Response::Exited { code: 3 }).unwrap(), r#"{"type":"exited","code":3}"#);
        let f = encode(&Response::Started { pid: 7 }).unwrap();
        assert_eq!(u32::from_le_bytes(f[..4].try_into().unwrap()) as usize, f.len() - 4);
        // missing optional members are accepted
        let r: Request = decode(br#"{"type":"exec","argv":["x"],"env":[]}"#).unwrap();
        assert_eq!(r, Request::Exec(ExecRequest { argv: vec!["x".into()], ..Default::default() }));
        let r: Request =
            decode(br#"{"type":"exec","argv":["x"],"env":[],"tty":true,"console_size":{"height":24,"width":80}}"#)
                .unwrap();
        assert_eq!(
            r,
            Request::Exec(ExecRequest {
                argv: vec!["x".into()],
                tty: true,
                console_size: Some(ConsoleSize { height: 24, width: 80 }),
                ..Default::default()
            })
        );
        assert!(matches!(decode::<Request>(b"{\"type\":\"launch\"}"), Err(AgentError::Malformed(_))));
    }

    #[test]
    fn frames_and_fds_over_a_socketpair() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = std::io::pipe().unwrap();
        use std::os::fd::AsFd;
        let frame = encode(&Request::Kill { signal: 9 }).unwrap();
        send_frame(&a, &frame, &[r.as_fd(), w.as_fd(), w.as_fd()]).unwrap();
        let (body, fds) = recv_frame(&b).unwrap().unwrap();
        assert_eq!(decode::<Request>(&body).unwrap(), Request::Kill { signal: 9 });
        assert_eq!(fds.len(), 3);
        // The received write end works.
        let mut out = std::fs::File::from(fds.into_iter().nth(1).unwrap());
        use std::io::{Read, Write};
        out.write_all(b"via SCM_RIGHTS").unwrap();
        drop(out);
        drop(w);
        let mut s = String::new();
        let mut r = r;
        // Two received copies of w remain in `fds` (dropped above), so EOF arrives.
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "via SCM_RIGHTS");

        // Oversized length prefix is refused before allocating.
        (&a).write_all(&((MAX_FRAME as u32) + 1).to_le_bytes()).unwrap();
        assert_eq!(recv_frame(&b).unwrap_err(), AgentError::FrameTooLarge(MAX_FRAME + 1));
        drop(a);
        // Truncated frame vs clean close
        let (a, b) = UnixStream::pair().unwrap();
        (&a).write_all(&10u32.to_le_bytes()).unwrap();
        (&a).write_all(b"abc").unwrap();
        drop(a);
        assert_eq!(recv_frame(&b).unwrap_err(), AgentError::Closed("the end of a frame"));
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(recv_frame(&b).unwrap().is_none());
    }
}
