//! The init-runelet driver with the sample LibOS: the payload runs through the PAL, a signal the
//! runelet receives reaches the payload as pal_kill(-1, sig), `rune exec` works while the
//! payload runs, pal_destroy runs at the end and the exit value propagates.
//! (Its own test binary: it raises real signals at the process.)
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use enclave::agent::{self, ExecRequest};
use enclave::runelet::{InitRunelet, Payload, SignalForwarder};
use pal::{InitOptions, PalFile, Stdio};

fn sample_libos() -> pal::Pal {
    let so = pal::testing::build_runtime("pal-sample-libos", "pal_sample_libos");
    let p = PalFile::snapshot(&so).unwrap().load().unwrap();
    p.init(&InitOptions::default()).unwrap();
    p
}

#[test]
fn payload_exec_signal_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let mut r = InitRunelet::new(sample_libos());
    let pal: Arc<pal::Pal> = r.pal().clone();
    r.start_agent(&sock).unwrap();

    let (mut out_r, out_w) = std::io::pipe().unwrap();
    let payload = Payload {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo started \"$1\"; exec sleep 30".into(),
            "sh".into(),
            "arg with spaces".into(),
        ],
        env: vec!["PATH=/bin:/usr/bin".into()],
        stdio: Stdio { stdin: 0, stdout: out_w.as_raw_fd(), stderr: 2 },
    };
    let t0 = Instant::now();
    let sock2 = sock.clone();
    let side = std::thread::spawn(move || {
        // Wait until the agent answers, run an exec alongside the payload, then signal the runelet.
        std::thread::sleep(Duration::from_millis(300));
        let (mut r2, w2) = std::io::pipe().unwrap();
        use std::os::fd::AsFd;
        let (i, e) = (std::io::stdin(), std::io::stderr());
        let req = ExecRequest {
            argv: vec!["/bin/echo".into(), "exec'd alongside".into()],
            env: vec![],
            ..Default::default()
        };
        let s = agent::exec(&sock2, &req, [i.as_fd(), w2.as_fd(), e.as_fd()]).unwrap();
        assert_eq!(s.wait().unwrap(), 0);
        drop(w2);
        let mut got = String::new();
        r2.read_to_string(&mut got).unwrap();
        assert_eq!(got, "exec'd alongside\n");
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
    });
    let code = r.run(&payload).unwrap();
    side.join().unwrap();
    assert_eq!(code, 128 + 15, "SIGTERM forwarded as pal_kill(-1, SIGTERM)");
    assert!(t0.elapsed() < Duration::from_secs(20));
    drop(out_w);
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    assert_eq!(out, "started arg with spaces\n");
    // pal_destroy ran: the runtime instance is gone.
    let p = pal::Process::new(vec!["/bin/true".into()], vec![], Stdio::INHERIT);
    assert_eq!(pal.create_process(&p), Err(pal::Error::Call { op: "pal_create_process", errno: pal::Errno::EINVAL }));
    assert!(!sock.exists(), "agent stopped");

    // Plain exit value, no signals.
    let r = InitRunelet::new(sample_libos()).forward_signals(false);
    let payload =
        Payload { argv: vec!["/bin/sh".into(), "-c".into(), "exit 5".into()], env: vec![], stdio: Stdio::INHERIT };
    assert_eq!(r.run(&payload).unwrap(), 5);

    // A payload the PAL cannot start: error, and destroy still ran.
    let r = InitRunelet::new(sample_libos());
    let pal = r.pal().clone();
    let payload = Payload { argv: vec!["/no/such/payload".into()], env: vec![], stdio: Stdio::INHERIT };
    let e = r.run(&payload).unwrap_err();
    assert_eq!(
        e,
        enclave::RuneletError::Payload(pal::Error::Call { op: "pal_create_process", errno: pal::Errno::ENOENT })
    );
    assert!(pal.kill(-1, 15).is_err(), "destroyed");

    // The forwarder on its own.
    let (tx, rx) = std::sync::mpsc::channel();
    let f = SignalForwarder::start(&[nix::libc::SIGUSR2], move |s| tx.send(s).unwrap()).unwrap();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGUSR2).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), nix::libc::SIGUSR2);
    f.stop();
}
