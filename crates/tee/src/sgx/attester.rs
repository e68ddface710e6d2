//! SGX attester from inside a LibOS.
//!
//! Gramine: `/dev/attestation/attestation_type` is `dcap`; write the 64-byte report data to
//! `/dev/attestation/user_report_data`, read the quote from `/dev/attestation/quote`.
//! Occlum: see [`super::occlum`] (ioctls on `/dev/sgx`).

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::{report_data, Attester, Error, Evidence, Tee};

use super::SgxEvidence;

pub struct GramineAttester {
    /// Directory standing for `/dev/attestation` (injectable).
    dir: PathBuf,
}

impl GramineAttester {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        GramineAttester { dir: dir.into() }
    }

    pub fn system() -> Self {
        Self::new("/dev/attestation")
    }
}

impl Attester for GramineAttester {
    fn tee(&self) -> Tee {
        Tee::Sgx
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let field = report_data::pad(Tee::Sgx, rd, 64)?;
        let t = std::fs::read_to_string(self.dir.join("attestation_type"))
            .map_err(|e| Error::NotAvailable { tee: Tee::Sgx, reason: format!("Gramine attestation_type: {e}") })?;
        if t.trim() != "dcap" {
            return Err(Error::NotAvailable {
                tee: Tee::Sgx,
                reason: format!("Gramine attestation type is {:?}, need dcap", t.trim()),
            });
        }
        let p = self.dir.join("user_report_data");
        std::fs::write(&p, &field).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
        let q = self.dir.join("quote");
        let quote = std::fs::read(&q).map_err(|e| Error::Io(format!("{}: {e}", q.display())))?;
        if quote.is_empty() {
            return Err(Error::Io("Gramine returned an empty quote".into()));
        }
        let ev = SgxEvidence { quote: STANDARD.encode(quote) };
        Ok(Evidence { tee: Tee::Sgx, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}
