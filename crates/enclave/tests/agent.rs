//! The exec agent end to end over a real unix socket: server in-process with a real PAL (the C
//! test PAL and the sample LibOS), client as `rune exec` would use it.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use enclave::agent::{self, proto, AgentServer, ExecRequest, PalExecHandler};
use enclave::AgentError;
use pal::{InitOptions, Pal, PalFile};

fn pal_from(so: &Path) -> Arc<Pal> {
    let p = PalFile::snapshot(so).unwrap().load().unwrap();
    p.init(&InitOptions::default()).unwrap();
    Arc::new(p)
}

fn c_pal(v: u32) -> Arc<Pal> {
    pal_from(&pal::testing::build_c_pal(v, None))
}

struct Pipes {
    in_w: std::io::PipeWriter,
    in_r: std::io::PipeReader,
    out_r: std::io::PipeReader,
    out_w: std::io::PipeWriter,
    err_r: std::io::PipeReader,
    err_w: std::io::PipeWriter,
}

impl Pipes {
    fn new() -> Pipes {
        let (in_r, in_w) = std::io::pipe().unwrap();
        let (out_r, out_w) = std::io::pipe().unwrap();
        let (err_r, err_w) = std::io::pipe().unwrap();
        Pipes { in_w, in_r, out_r, out_w, err_r, err_w }
    }
    fn fds(&self) -> [BorrowedFd<'_>; 3] {
        [self.in_r.as_fd(), self.out_w.as_fd(), self.err_w.as_fd()]
    }
    /// Closes our write ends and reads stdout/stderr to EOF.
    fn finish(self) -> (String, String) {
        let Pipes { in_w, in_r, mut out_r, out_w, mut err_r, err_w } = self;
        drop((in_w, in_r, out_w, err_w));
        let (mut o, mut e) = (String::new(), String::new());
        out_r.read_to_string(&mut o).unwrap();
        err_r.read_to_string(&mut e).unwrap();
        (o, e)
    }
}

fn req(argv: &[&str], env: &[&str]) -> ExecRequest {
    ExecRequest {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: env.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn sock_in(dir: &Path) -> PathBuf {
    dir.join("agent.sock")
}

#[test]
fn exec_with_spaces_stdio_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let pal = c_pal(2);
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(pal))).unwrap();

    let p = Pipes::new();
    let s = agent::exec(h.path(), &req(&["c-pal", "echo", "hello world", "  two  spaces "], &[]), p.fds()).unwrap();
    assert!(s.pid() > 0);
    assert_eq!(s.wait().unwrap(), 0);
    assert_eq!(p.finish().0, "hello world\n  two  spaces \n");

    let p = Pipes::new();
    let s = agent::exec(h.path(), &req(&["c-pal", "env", "MSG"], &["MSG=a b  c"]), p.fds()).unwrap();
    assert_eq!(s.wait().unwrap(), 0);
    assert_eq!(p.finish().0, "a b  c\n");

    let mut p = Pipes::new();
    p.in_w.write_all(b"through stdin").unwrap();
    let s = agent::exec(h.path(), &req(&["c-pal", "cat"], &[]), p.fds()).unwrap();
    drop(std::mem::replace(&mut p.in_w, std::io::pipe().unwrap().1));
    assert_eq!(s.wait().unwrap(), 0);
    assert_eq!(p.finish().0, "through stdin");

    let p = Pipes::new();
    let s = agent::exec(h.path(), &req(&["c-pal", "exit", "7"], &[]), p.fds()).unwrap();
    assert_eq!(s.wait().unwrap(), 7);

    // A payload the PAL refuses: the error comes back with its errno.
    let p = Pipes::new();
    let e = agent::exec(h.path(), &req(&["c-pal", "nope"], &[]), p.fds()).unwrap_err();
    assert!(
        matches!(&e, AgentError::Remote { errno: Some(2), message } if message.contains("pal_create_process")),
        "{e:?}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(h.path()).unwrap().permissions().mode() & 0o777, 0o600, "owner-only socket");
    h.shutdown();
    assert!(!sock_in(dir.path()).exists(), "socket removed on shutdown");
}

#[test]
fn concurrent_execs_and_kill() {
    let dir = tempfile::tempdir().unwrap();
    let pal = c_pal(3);
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(pal))).unwrap();
    let p1 = Pipes::new();
    let p2 = Pipes::new();
    let a = agent::exec(h.path(), &req(&["c-pal", "block"], &[]), p1.fds()).unwrap();
    let b = agent::exec(h.path(), &req(&["c-pal", "block"], &[]), p2.fds()).unwrap();
    assert_ne!(a.pid(), b.pid());
    // While both block, a third exec still runs.
    let p3 = Pipes::new();
    let c = agent::exec(h.path(), &req(&["c-pal", "echo", "still served"], &[]), p3.fds()).unwrap();
    assert_eq!(c.wait().unwrap(), 0);
    assert_eq!(p3.finish().0, "still served\n");
    let killer = b.killer().unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        killer.kill(10).unwrap();
    });
    assert_eq!(b.wait().unwrap(), 128 + 10, "only b got SIGUSR1");
    a.kill(15).unwrap();
    assert_eq!(a.wait().unwrap(), 128 + 15);
}

#[test]
fn long_socket_path_beyond_sun_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut deep = dir.path().to_path_buf();
    while deep.as_os_str().len() < 150 {
        deep.push("a-rather-long-state-directory-name");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let sock = deep.join("agent.sock");
    assert!(sock.as_os_str().len() > agent::SUN_PATH_MAX);
    let h = AgentServer::bind(&sock).unwrap().spawn(Arc::new(PalExecHandler::new(c_pal(2)))).unwrap();
    assert!(sock.exists(), "socket created at the long path itself");
    let p = Pipes::new();
    let s = agent::exec(&sock, &req(&["c-pal", "echo", "long path ok"], &[]), p.fds()).unwrap();
    assert_eq!(s.wait().unwrap(), 0);
    assert_eq!(p.finish().0, "long path ok\n");
    // Re-binding over a stale socket works.
    h.shutdown();
    std::fs::write(dir.path().join("marker"), b"").unwrap();
    let h2 = AgentServer::bind(&sock).unwrap();
    drop(h2);
}

#[test]
fn sample_libos_exec_with_cwd_and_kill() {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let pal = pal_from(&so);
    let dir = tempfile::tempdir().unwrap();
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(pal))).unwrap();
    let p = Pipes::new();
    let mut r = req(
        &["/bin/sh", "-c", "printf '%s|%s\\n' \"$(/bin/pwd -P)\" \"$1\"; echo e >&2; exit 3", "sh", "x  y"],
        &["PATH=/bin:/usr/bin"],
    );
    r.cwd = Some("/usr".into());
    let s = agent::exec(h.path(), &r, p.fds()).unwrap();
    assert_eq!(s.wait().unwrap(), 3);
    assert_eq!(p.finish(), ("/usr|x  y\n".to_string(), "e\n".to_string()));

    let p = Pipes::new();
    let s = agent::exec(h.path(), &req(&["/bin/sleep", "30"], &[]), p.fds()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.kill(9).unwrap();
    assert_eq!(s.wait().unwrap(), 128 + 9);
}

#[test]
fn v1_pal_exec_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(c_pal(1)))).unwrap();
    let p = Pipes::new();
    let e = agent::exec(h.path(), &req(&["c-pal", "echo", "x"], &[]), p.fds()).unwrap_err();
    assert!(
        matches!(&e, AgentError::Remote { message, .. } if message.contains("pal_create_process is not part of PAL API v1")),
        "{e:?}"
    );
}

#[test]
fn protocol_violations_get_error_replies() {
    let dir = tempfile::tempdir().unwrap();
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(c_pal(2)))).unwrap();
    let read_reply = |s: &UnixStream| -> proto::Response {
        let (body, _) = proto::recv_frame(s).unwrap().unwrap();
        proto::decode(&body).unwrap()
    };
    // Exec without descriptors.
    let s = UnixStream::connect(h.path()).unwrap();
    proto::send_frame(&s, &proto::encode(&proto::Request::Exec(req(&["c-pal", "echo"], &[]))).unwrap(), &[]).unwrap();
    assert!(
        matches!(read_reply(&s), proto::Response::Error { message, .. } if message.contains("carried 0 file descriptors"))
    );
    // Garbage JSON.
    let s = UnixStream::connect(h.path()).unwrap();
    let mut f = 5u32.to_le_bytes().to_vec();
    f.extend_from_slice(b"hello");
    proto::send_frame(&s, &f, &[]).unwrap();
    assert!(
        matches!(read_reply(&s), proto::Response::Error { message, .. } if message.starts_with("malformed agent message"))
    );
    // Kill before exec.
    let s = UnixStream::connect(h.path()).unwrap();
    proto::send_frame(&s, &proto::encode(&proto::Request::Kill { signal: 9 }).unwrap(), &[]).unwrap();
    assert!(matches!(read_reply(&s), proto::Response::Error { message, .. } if message.contains("expected exec")));
    // Oversized frame header.
    let mut s = UnixStream::connect(h.path()).unwrap();
    s.write_all(&u32::MAX.to_le_bytes()).unwrap();
    assert!(matches!(read_reply(&s), proto::Response::Error { message, .. } if message.contains("exceeds the limit")));
    // The agent still serves after all that.
    let p = Pipes::new();
    assert_eq!(agent::exec(h.path(), &req(&["c-pal", "exit", "0"], &[]), p.fds()).unwrap().wait().unwrap(), 0);
}

/// `exec --tty`: the agent opens the terminal, the payload's stdio is its slave (with the asked
/// window size), the client gets the master; the sample LibOS makes it the payload's
/// controlling terminal, so ^C typed on it ends the payload with SIGINT.
#[test]
fn sample_libos_exec_on_a_terminal() {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let pal = pal_from(&so);
    let dir = tempfile::tempdir().unwrap();
    let h = AgentServer::bind(&sock_in(dir.path())).unwrap().spawn(Arc::new(PalExecHandler::new(pal))).unwrap();
    let read_all = |m: std::os::fd::OwnedFd| {
        let mut f = std::fs::File::from(m);
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        // EIO once the payload (the last holder of the slave) exits.
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).replace('\r', "")
    };
    let mut r =
        req(&["/bin/sh", "-c", "test -t 0 && test -t 1 && test -t 2 && stty size; exit 4"], &["PATH=/bin:/usr/bin"]);
    r.console_size = Some(agent::ConsoleSize { height: 31, width: 97 });
    let (s, master) = agent::exec_tty(h.path(), &r).unwrap();
    let code = s.wait().unwrap();
    assert_eq!((code, read_all(master)), (4, "31 97\n".to_string()));

    // ^C through the terminal: SIGINT from the line discipline to the payload's session. A test run
    // from a background shell inherits SIGINT ignored: `env --default-signal` restores it before
    // the payload says it is ready, so the ^C cannot fall in between.
    let r = req(
        &["/usr/bin/env", "--default-signal=INT", "/bin/sh", "-c", "echo ready; exec /bin/sleep 30"],
        &["PATH=/bin:/usr/bin"],
    );
    let (s, master) = agent::exec_tty(h.path(), &r).unwrap();
    let mut m = std::fs::File::from(master);
    let mut buf = [0u8; 64];
    let n = m.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("ready"));
    m.write_all(b"\x03").unwrap();
    assert_eq!(s.wait().unwrap(), 128 + 2);

    // A terminal request must not carry descriptors.
    let p = Pipes::new();
    let stream = UnixStream::connect(h.path()).unwrap();
    let tty_req = ExecRequest { tty: true, ..req(&["/bin/true"], &[]) };
    proto::send_frame(&stream, &proto::encode(&proto::Request::Exec(tty_req)).unwrap(), &p.fds()).unwrap();
    let (body, _) = proto::recv_frame(&stream).unwrap().unwrap();
    match proto::decode::<proto::Response>(&body).unwrap() {
        proto::Response::Error { message, .. } => {
            assert!(message.contains("terminal exec request must carry no file descriptors"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
