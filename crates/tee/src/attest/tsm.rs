//! configfs-tsm (`/sys/kernel/config/tsm/report`): the kernel's common report interface for TDX,
//! SEV-SNP and Arm CCA guests.
//!
//! Protocol: `mkdir <root>/<entry>`; write 64 bytes to `inblob` (optionally `privlevel`); read
//! `generation`, `provider`, `outblob` (quote / report / token) and `auxblob` (SNP certificate
//! table, may be empty); read `generation` again — if it changed another writer raced us and the
//! report is discarded; `rmdir`. The root is injectable so tests run against a faked tree.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Tee};

pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";

/// Output of one report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsmOutput {
    pub provider: String,
    pub outblob: Vec<u8>,
    pub auxblob: Option<Vec<u8>>,
}

/// A configfs-tsm client rooted at `root`.
#[derive(Debug, Clone)]
pub struct Tsm {
    root: PathBuf,
    entry: Option<String>,
    privlevel: Option<u32>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Kernel provider name for a TEE.
pub fn provider_for(tee: Tee) -> Option<&'static str> {
    match tee {
        Tee::Tdx => Some("tdx_guest"),
        Tee::Snp => Some("sev_guest"),
        Tee::Cca => Some("arm_cca_guest"),
        _ => None,
    }
}

impl Tsm {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Tsm { root: root.into(), entry: None, privlevel: None }
    }

    pub fn system() -> Self {
        Self::new(DEFAULT_ROOT)
    }

    /// Uses a fixed entry name that may already exist (tests with a pre-populated fake tree).
    pub fn with_entry(mut self, name: impl Into<String>) -> Self {
        self.entry = Some(name.into());
        self
    }

    /// SNP: the VMPL to request the report at.
    pub fn with_privlevel(mut self, level: u32) -> Self {
        self.privlevel = Some(level);
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn available(&self) -> bool {
        self.root.is_dir()
    }

    /// Requests a report for `inblob` (exactly 64 bytes) from the provider `want`.
    pub fn report(&self, tee: Tee, want: &str, inblob: &[u8; 64]) -> Result<TsmOutput, Error> {
        let io =
            |what: &str, p: &Path, e: std::io::Error| Error::Io(format!("configfs-tsm {what} {}: {e}", p.display()));
        if !self.available() {
            return Err(Error::NotAvailable { tee, reason: format!("{} is not a directory", self.root.display()) });
        }
        let (dir, fixed) = match &self.entry {
            Some(e) => (self.root.join(e), true),
            None => {
                let n = COUNTER.fetch_add(1, Ordering::Relaxed);
                (self.root.join(format!("tee-{}-{n}", std::process::id())), false)
            }
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if fixed && e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("mkdir", &dir, e)),
        }
        let res = (|| {
            let gen_path = dir.join("generation");
            let read_gen = || {
                std::fs::read_to_string(&gen_path).map(|s| s.trim().to_string()).map_err(|e| io("read", &gen_path, e))
            };
            // Attribute files exist as soon as the kernel creates the entry; never create them
            // (a plain directory is not configfs).
            let write_attr = |name: &str, data: &[u8]| -> Result<(), Error> {
                use std::io::Write;
                let p = dir.join(name);
                let mut f =
                    std::fs::OpenOptions::new().write(true).truncate(true).open(&p).map_err(|e| io("open", &p, e))?;
                f.write_all(data).map_err(|e| io("write", &p, e))
            };
            if let Some(l) = self.privlevel {
                write_attr("privlevel", l.to_string().as_bytes())?;
            }
            write_attr("inblob", inblob)?;
            let g1 = read_gen()?;
            let pp = dir.join("provider");
            let provider = std::fs::read_to_string(&pp).map_err(|e| io("read", &pp, e))?.trim().to_string();
            if provider != want {
                return Err(Error::NotAvailable {
                    tee,
                    reason: format!("configfs-tsm provider is {provider:?}, not {want:?}"),
                });
            }
            let op = dir.join("outblob");
            let outblob = std::fs::read(&op).map_err(|e| io("read", &op, e))?;
            let ap = dir.join("auxblob");
            let auxblob = std::fs::read(&ap).ok().filter(|b| !b.is_empty());
            let g2 = read_gen()?;
            if g1 != g2 {
                return Err(Error::Io(format!(
                    "configfs-tsm generation changed ({g1} -> {g2}): concurrent writer, retry"
                )));
            }
            if outblob.is_empty() {
                return Err(Error::Io("configfs-tsm returned an empty outblob".into()));
            }
            Ok(TsmOutput { provider, outblob, auxblob })
        })();
        if !fixed {
            let _ = std::fs::remove_dir(&dir);
        }
        res
    }
}
