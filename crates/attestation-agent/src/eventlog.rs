//! The Attestation Agent event log (AAEL) in Confidential Containers' format, for TEEs with no
//! register this agent can extend.
//!
//! Format (facts from guest-components `attestation-agent/src/eventlog/{mod,tcg2}.rs` at 8246e5e0):
//! an event is the text `"<domain> <operation> <content>"` (content has no newline). It is written
//! as a TCG2 event entry with event type `EV_EVENT_TAG` (6) whose data is a tagged event with id
//! `0x4141454c` ("AAEL"): all integers little-endian,
//! `register u32 | type u32 | digest count u32 | (alg u16 | digest)* | data length u32 | data`,
//! `data = tag id u32 | text length u32 | text`, and the entry digest is H(data). The register is
//! extended as `R' = H(R || digest)`, starting from zeros.
//!
//! For the software TEE there is no hardware register: the agent keeps one per index in memory
//! ([`SoftwareRegisters`]). It proves nothing to a verifier (anyone can recompute it) and is
//! there so the event log has the same shape as on hardware.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

use crate::Error;

/// EV_EVENT_TAG.
pub const EV_EVENT_TAG: u32 = 0x6;
/// Tagged-event id of AAEL entries: ASCII "AAEL".
pub const AAEL_TAGGED_EVENT_ID: u32 = 0x4141_454c;
/// TCG algorithm id of SHA-384 (the event log's hash, as guest-components' default).
pub const TCG_ALG_SHA384: u16 = 0x000c;
/// Default event-log file, as guest-components.
pub const DEFAULT_EVENTLOG_PATH: &str = "/run/attestation-agent/eventlog";

/// One AAEL event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    domain: String,
    operation: String,
    content: String,
}

impl Event {
    /// Domain and operation are single words (they are space-separated in the text form); the
    /// content is one line.
    pub fn new(domain: &str, operation: &str, content: &str) -> Result<Self, Error> {
        let word = |field: &'static str, v: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace()) {
                Err(Error::BadEvent { field, reason: "must be one non-empty word" })
            } else {
                Ok(())
            }
        };
        word("domain", domain)?;
        word("operation", operation)?;
        if content.contains('\n') {
            return Err(Error::BadEvent { field: "content", reason: "must not contain a newline" });
        }
        Ok(Event { domain: domain.into(), operation: operation.into(), content: content.into() })
    }

    /// `"<domain> <operation> <content>"`.
    pub fn text(&self) -> String {
        format!("{} {} {}", self.domain, self.operation, self.content)
    }

    /// The tagged-event data section.
    fn data(&self) -> Vec<u8> {
        let text = self.text().into_bytes();
        let mut d = Vec::with_capacity(8 + text.len());
        d.extend_from_slice(&AAEL_TAGGED_EVENT_ID.to_le_bytes());
        d.extend_from_slice(&(text.len() as u32).to_le_bytes());
        d.extend_from_slice(&text);
        d
    }

    /// The TCG2 entry bytes for `register` and the digest that extends it.
    pub fn tcg2_entry(&self, register: u32) -> (Vec<u8>, Vec<u8>) {
        let data = self.data();
        let dg = digest::digest(&digest::SHA384, &data).as_ref().to_vec();
        let mut e = Vec::with_capacity(24 + dg.len() + data.len());
        e.extend_from_slice(&register.to_le_bytes());
        e.extend_from_slice(&EV_EVENT_TAG.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&TCG_ALG_SHA384.to_le_bytes());
        e.extend_from_slice(&dg);
        e.extend_from_slice(&(data.len() as u32).to_le_bytes());
        e.extend_from_slice(&data);
        (e, dg)
    }
}

/// SHA-384 registers kept in memory, for a TEE without registers.
#[derive(Debug, Default)]
pub struct SoftwareRegisters {
    values: BTreeMap<u64, Vec<u8>>,
}

impl SoftwareRegisters {
    /// `R' = SHA-384(R || digest)`, R starting at 48 zero bytes.
    pub fn extend(&mut self, index: u64, event_digest: &[u8]) -> Vec<u8> {
        let cur = self.values.entry(index).or_insert_with(|| vec![0u8; digest::SHA384_OUTPUT_LEN]);
        let mut ctx = digest::Context::new(&digest::SHA384);
        ctx.update(cur);
        ctx.update(event_digest);
        *cur = ctx.finish().as_ref().to_vec();
        cur.clone()
    }

    pub fn value(&self, index: u64) -> Option<&[u8]> {
        self.values.get(&index).map(Vec::as_slice)
    }
}

/// The event log file plus the registers it describes.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: File,
    registers: SoftwareRegisters,
}

impl EventLog {
    /// Opens (creating it and its directory) the log at `path` for appending.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::EventLogIo { path: path.to_path_buf(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File::options().append(true).create(true).open(path).map_err(io)?;
        Ok(EventLog { path: path.to_path_buf(), file, registers: SoftwareRegisters::default() })
    }

    /// Appends the entry (synced to disk) and extends the software register.
    pub fn extend(&mut self, event: &Event, register: u64) -> Result<Vec<u8>, Error> {
        let reg32 = u32::try_from(register).map_err(|_| Error::BadEvent {
            field: "RegisterIndex",
            reason: "must fit in 32 bits (TCG2 entry field)",
        })?;
        let (entry, dg) = event.tcg2_entry(reg32);
        let io = |e: std::io::Error| Error::EventLogIo { path: self.path.clone(), reason: e.to_string() };
        self.file.write_all(&entry).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        Ok(self.registers.extend(register, &dg))
    }

    pub fn registers(&self) -> &SoftwareRegisters {
        &self.registers
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_layout_matches_the_coco_format() {
        let ev = Event::new("github.com/confidential-containers", "PullImage", "busybox@sha256:00").unwrap();
        let (e, dg) = ev.tcg2_entry(17);
        let text = b"github.com/confidential-containers PullImage busybox@sha256:00";
        assert_eq!(&e[0..4], &17u32.to_le_bytes());
        assert_eq!(&e[4..8], &6u32.to_le_bytes());
        assert_eq!(&e[8..12], &1u32.to_le_bytes());
        assert_eq!(&e[12..14], &[0x0c, 0x00]);
        assert_eq!(&e[14..62], &dg[..]);
        let data_len = u32::from_le_bytes(e[62..66].try_into().unwrap()) as usize;
        assert_eq!(data_len, 8 + text.len());
        let data = &e[66..];
        assert_eq!(data.len(), data_len);
        assert_eq!(&data[0..4], b"LEAA", "AAEL id 0x4141454c little-endian");
        assert_eq!(u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize, text.len());
        assert_eq!(&data[8..], text);
        assert_eq!(dg, digest::digest(&digest::SHA384, data).as_ref());
    }

    #[test]
    fn events_are_validated() {
        assert!(matches!(Event::new("a b", "op", "c"), Err(Error::BadEvent { field: "domain", .. })));
        assert!(matches!(Event::new("d", "", "c"), Err(Error::BadEvent { field: "operation", .. })));
        assert!(matches!(Event::new("d", "op", "x\ny"), Err(Error::BadEvent { field: "content", .. })));
        assert_eq!(Event::new("d", "op", "with spaces ok").unwrap().text(), "d op with spaces ok");
    }

    #[test]
    fn log_appends_and_registers_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/eventlog");
        let mut log = EventLog::open(&path).unwrap();
        let e1 = Event::new("d", "one", "1").unwrap();
        let e2 = Event::new("d", "two", "2").unwrap();
        let r1 = log.extend(&e1, 17).unwrap();
        let r2 = log.extend(&e2, 17).unwrap();
        let (b1, d1) = e1.tcg2_entry(17);
        let (b2, d2) = e2.tcg2_entry(17);
        assert_eq!(std::fs::read(&path).unwrap(), [b1, b2].concat());
        let mut expect = vec![0u8; 48];
        for d in [d1, d2] {
            expect = digest::digest(&digest::SHA384, &[expect, d].concat()).as_ref().to_vec();
        }
        assert_ne!(r1, r2);
        assert_eq!(r2, expect);
        assert_eq!(log.registers().value(17), Some(&expect[..]));
        assert!(log.extend(&e1, u64::from(u32::MAX) + 1).is_err());
    }
}
