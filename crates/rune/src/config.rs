//! rune's configuration file, `/etc/rune/config.toml` by default (global flag `--config FILE`).
//!
//! ```toml
//! # Directories whose PALs enclave containers may load (ENCLAVE_RUNTIME_PATH /
//! # enclave.runtime.path must name a file beneath one of them). Replaces the default list.
//! pal_dirs = ["/usr/lib/rune/pal", "/usr/local/lib/rune/pal"]
//! ```
//!
//! | key | type | default |
//! |---|---|---|
//! | `pal_dirs` | array of absolute paths | `["/usr/lib/rune/pal", "/usr/local/lib/rune/pal"]` |
//!
//! A missing file at the default path means every default. A file that exists but does not parse,
//! has an unknown key or a value of the wrong type is an error naming the file and the key (an
//! explicit `--config` that does not exist is an error too). `--pal-dir DIR` flags add to
//! `pal_dirs`. The file is read by the verbs that load PALs (`create`, `run`), so a broken file
//! never stops `delete`, `kill` or `state`.

use std::path::{Path, PathBuf};

use enclave::PalDirs;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Where rune looks for its config file when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/rune/config.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    pal_dirs: Option<Vec<PathBuf>>,
}

/// The settings from the config file and the command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub pal_dirs: PalDirs,
}

impl Config {
    /// Reads `path` (`None`: [`DEFAULT_CONFIG`], which may be missing) and adds `extra_pal_dirs`
    /// (the `--pal-dir` flags).
    pub fn load(path: Option<&Path>, extra_pal_dirs: &[PathBuf]) -> Result<Config> {
        let (file, explicit) = match path {
            Some(p) => (p, true),
            None => (Path::new(DEFAULT_CONFIG), false),
        };
        let bad = |key: Option<&str>, reason: String| Error::ConfigFile {
            path: file.to_path_buf(),
            key: key.map(str::to_string),
            reason,
        };
        let parsed = match std::fs::read_to_string(file) {
            Ok(text) => toml::from_str::<File>(&text).map_err(|e| {
                // One line: the key and line the error points at, then toml's message.
                let (key, line) = match e.span() {
                    Some(span) => key_at(&text, span.start),
                    None => (None, None),
                };
                let reason = match line {
                    Some(n) => format!("line {n}: {}", e.message()),
                    None => e.message().to_string(),
                };
                bad(key.as_deref(), reason)
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => File::default(),
            Err(e) => return Err(bad(None, format!("cannot read: {e}"))),
        };
        let mut pal_dirs = match parsed.pal_dirs {
            Some(dirs) => PalDirs::new(dirs).map_err(|e| bad(Some("pal_dirs"), e.to_string()))?,
            None => PalDirs::default(),
        };
        for d in extra_pal_dirs {
            pal_dirs.push(d.clone()).map_err(Error::PalDir)?;
        }
        Ok(Config { pal_dirs })
    }
}

/// The `key = ...` on the line holding byte `at` of `text` (1-based line number).
fn key_at(text: &str, at: usize) -> (Option<String>, Option<usize>) {
    let at = at.min(text.len());
    let line_no = text.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
    // Byte positions only: `at` need not be a char boundary; `start` follows a '\n' (or is 0).
    let start = text.as_bytes()[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let line = text.get(start..).and_then(|t| t.lines().next()).unwrap_or_default();
    let key = line.split_once('=').map(|(k, _)| k.trim().to_string()).filter(|k| !k.is_empty());
    (key, Some(line_no))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_file_keys_and_defaults() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.toml");
        // Explicit but missing: an error; the default path missing: defaults (tested through
        // `load(None)` only when the host has no /etc/rune/config.toml).
        assert!(matches!(Config::load(Some(&p), &[]), Err(Error::ConfigFile { .. })));
        if !Path::new(DEFAULT_CONFIG).exists() {
            assert_eq!(Config::load(None, &[]).unwrap().pal_dirs, PalDirs::default());
        }
        std::fs::write(&p, "pal_dirs = [\"/opt/pal\"]\n").unwrap();
        let c = Config::load(Some(&p), &[PathBuf::from("/x"), PathBuf::from("/opt/pal")]).unwrap();
        assert_eq!(c.pal_dirs.dirs(), [PathBuf::from("/opt/pal"), PathBuf::from("/x")]);
        std::fs::write(&p, "").unwrap();
        assert_eq!(Config::load(Some(&p), &[]).unwrap().pal_dirs, PalDirs::default());
        for (text, want) in [
            ("pal_dirs = \"/opt/pal\"\n", "pal_dirs"),
            ("pal_dirs = [\"relative/dir\"]\n", "pal_dirs"),
            ("pal_dir = [\"/opt/pal\"]\n", "pal_dir"),
            ("pal_dirs = [\n", "config.toml"),
            ("pal_dirs = [\"/é\" é]\n", "pal_dirs"),
            ("é = 1\n", "config.toml"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = Config::load(Some(&p), &[]).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("config.toml"), "{text:?}: {e}");
        }
        assert!(Config::load(Some(Path::new("/nonexistent/rune.toml")), &[]).is_err());
        std::fs::write(&p, "").unwrap();
        assert!(Config::load(Some(&p), &[PathBuf::from("rel")]).unwrap_err().to_string().contains("--pal-dir"));
    }
}
