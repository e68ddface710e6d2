//! SEV-SNP attester via configfs-tsm (`sev_guest` provider). The `auxblob` (GUID certificate table
//! from the host, if any) becomes `cert_chain`.

use sev::firmware::host::CertTableEntry;

use crate::attest::tsm::Tsm;
use crate::{report_data, Attester, Error, Evidence, Tee};

use super::{parse_report, SnpEvidence};

pub struct SnpAttester {
    tsm: Tsm,
}

impl SnpAttester {
    pub fn new(tsm: Tsm) -> Self {
        SnpAttester { tsm }
    }

    pub fn system() -> Self {
        Self::new(Tsm::system().with_privlevel(0))
    }
}

impl Attester for SnpAttester {
    fn tee(&self) -> Tee {
        Tee::Snp
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let field = report_data::pad(Tee::Snp, rd, 64)?;
        let mut inblob = [0u8; 64];
        inblob.copy_from_slice(&field);
        let out = self.tsm.report(Tee::Snp, "sev_guest", &inblob)?;
        let attestation_report = parse_report(&out.outblob)?;
        let cert_chain = match out.auxblob {
            Some(mut aux) => Some(
                CertTableEntry::vec_bytes_to_cert_table(&mut aux)
                    .map_err(|e| Error::malformed(Tee::Snp, format!("auxblob certificate table: {e:?}")))?,
            ),
            None => None,
        };
        let ev = SnpEvidence { attestation_report, cert_chain };
        Ok(Evidence { tee: Tee::Snp, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}
