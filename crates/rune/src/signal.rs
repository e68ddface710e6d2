//! Signal names as runc accepts them: `9`, `KILL`, `SIGKILL`, `sigkill`.

use nix::sys::signal::Signal;

use crate::error::{Error, Result};

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
