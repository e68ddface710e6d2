//! Pseudo-terminals for `exec --tty` (allocated by the agent, inside the container).

use std::os::fd::OwnedFd;

use rustix::pty::OpenptFlags;

use super::proto::ConsoleSize;
use crate::error::AgentError;

fn errno(op: &'static str) -> impl FnOnce(rustix::io::Errno) -> AgentError {
    move |e| AgentError::Io { op, errno: pal::Errno(e.raw_os_error()) }
}

/// Opens a new pseudo-terminal on `/dev/ptmx` of the caller's root (the container's own devpts
/// instance when called by the init-runelet), optionally with a window size. Returns
/// `(master, slave)`, both close-on-exec; the slave is opened through the master
/// (`TIOCGPTPEER`), so no path lookup in `/dev/pts` can be redirected.
pub fn open_pty(size: Option<ConsoleSize>) -> Result<(OwnedFd, OwnedFd), AgentError> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .map_err(errno("open /dev/ptmx"))?;
    rustix::pty::grantpt(&master).map_err(errno("grantpt"))?;
    rustix::pty::unlockpt(&master).map_err(errno("unlockpt"))?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .map_err(errno("open the pty slave (TIOCGPTPEER)"))?;
    if let Some(s) = size {
        let ws = rustix::termios::Winsize { ws_row: s.height, ws_col: s.width, ws_xpixel: 0, ws_ypixel: 0 };
        rustix::termios::tcsetwinsize(&slave, ws).map_err(errno("set the terminal size"))?;
    }
    Ok((master, slave))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn master_and_slave_talk_and_size_is_applied() {
        let (m, s) = open_pty(Some(ConsoleSize { height: 33, width: 101 })).unwrap();
        assert!(rustix::termios::isatty(&s));
        let ws = rustix::termios::tcgetwinsize(&s).unwrap();
        assert_eq!((ws.ws_row, ws.ws_col), (33, 101));
        let mut sf = std::fs::File::from(s);
        sf.write_all(b"hi\n").unwrap();
        let mut mf = std::fs::File::from(m);
        let mut buf = [0u8; 16];
        let n = mf.read(&mut buf).unwrap();
        // The line discipline turns \n into \r\n.
        assert_eq!(&buf[..n], b"hi\r\n");
    }
}
