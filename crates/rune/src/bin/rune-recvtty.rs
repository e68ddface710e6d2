//! `rune-recvtty SOCKET`: listens on a unix socket for `--console-socket`, receives the pty master
//! sent by the runtime, and copies what the container writes to stdout (like runc's contrib recvtty).
//! With `--once` it exits when the pty closes. A test and debugging tool.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use anyhow::{bail, Context};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        bail!("usage: rune-recvtty [--input TEXT] SOCKET");
    };
    let input = args.iter().position(|a| a == "--input").and_then(|i| args.get(i + 1)).cloned();
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).with_context(|| format!("bind {path}"))?;
    let (conn, _) = listener.accept().context("accept")?;
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).context("recvmsg")?;
    let mut master: Option<OwnedFd> = None;
    for c in msg.cmsgs().context("cmsgs")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                master = Some(own_received_fd(*fd));
            }
        }
    }
    let master = master.context("no pty fd received")?;
    let mut f = std::fs::File::from(master);
    if let Some(text) = input {
        f.write_all(text.as_bytes())?;
    }
    let mut out = std::io::stdout().lock();
    let mut b = [0u8; 4096];
    loop {
        match f.read(&mut b) {
            Ok(0) => break,
            Ok(n) => {
                out.write_all(&b[..n])?;
                out.flush()?;
            }
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break, // slave side closed
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Takes ownership of a received descriptor.
fn own_received_fd(fd: std::os::fd::RawFd) -> OwnedFd {
    #[allow(unsafe_code)]
    // SAFETY: `fd` was just received via SCM_RIGHTS, is open, and nothing else owns it.
    unsafe {
        OwnedFd::from_raw_fd(fd)
    }
}
