//! Signal names as runc accepts them: `9`, `KILL`, `SIGKILL`, `sigkill`.

use nix::sys::signal::Signal;

use crate::error::{Error, Result};

/// Rust's runtime starts every program with SIGPIPE ignored, and an ignored disposition survives
/// `execve`: without this a container's payload would inherit it (runc's do not). Called in the
/// container's init process just before the payload runs, and by verbs that only print (so that
/// `rune state ID | head` ends quietly, as runc does, instead of failing on EPIPE).
pub fn restore_default_sigpipe() {
    use nix::sys::signal::{signal, SigHandler};
    #[allow(unsafe_code)]
    // SAFETY: installing SIG_DFL runs no handler code, so there is no async-signal-safety concern;
    // the previous disposition (SIG_IGN) is not needed.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Every signal back to its default action, and none blocked: the container's process starts as a
/// fresh process does, whatever rune inherited (a shell's `cmd &` starts rune with SIGINT and
/// SIGQUIT ignored, Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored across
/// `execve`). Called in the container's init (or exec) process just before the payload runs; the
/// mask is the calling thread's, which is the one that execs or forks the payload.
pub fn restore_default_actions() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        #[allow(unsafe_code)]
        // SAFETY: SIG_DFL installs no handler code, so nothing can run in a signal context, and
        // no previous handler is kept that could be invoked later.
        let _ = unsafe { sigaction(sig, &default) };
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

pub fn parse(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::UnknownSignal(s.to_string()));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse::<Signal>().map_err(|_| Error::UnknownSignal(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn forms() {
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("sigterm").unwrap(), Signal::SIGTERM);
        assert!(parse("NOPE").is_err());
        assert!(parse("999").is_err());
    }
}
