//! TDX attester via configfs-tsm; reads the CC event log if the firmware table is visible.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::attest::tsm::Tsm;
use crate::{report_data, Attester, Error, Evidence, Tee};

use super::TdxEvidence;

pub struct TdxAttester {
    tsm: Tsm,
    /// CCEL data file (`/sys/firmware/acpi/tables/data/CCEL`), injectable.
    ccel: Option<std::path::PathBuf>,
}

impl TdxAttester {
    pub fn new(tsm: Tsm, ccel: Option<std::path::PathBuf>) -> Self {
        TdxAttester { tsm, ccel }
    }

    pub fn system() -> Self {
        Self::new(Tsm::system(), Some("/sys/firmware/acpi/tables/data/CCEL".into()))
    }
}

impl Attester for TdxAttester {
    fn tee(&self) -> Tee {
        Tee::Tdx
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let field = report_data::pad(Tee::Tdx, rd, 64)?;
        let mut inblob = [0u8; 64];
        inblob.copy_from_slice(&field);
        let out = self.tsm.report(Tee::Tdx, "tdx_guest", &inblob)?;
        let cc_eventlog = self.ccel.as_ref().and_then(|p| std::fs::read(p).ok()).map(|b| STANDARD.encode(b));
        let ev = TdxEvidence { cc_eventlog, quote: STANDARD.encode(out.outblob) };
        Ok(Evidence { tee: Tee::Tdx, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}
