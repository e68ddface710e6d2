//! Arm CCA attester via configfs-tsm (`arm_cca_guest` provider, Linux 6.13+): the 64-byte
//! challenge (report data, zero-padded) goes to `inblob`; `outblob` is the CCA attestation token
//! (CBOR tag 399 of the platform and realm tokens). Evidence is guest-components' shape
//! `{"token": [bytes]}` (serde's byte-vector JSON), which [`super::CcaVerifier`] reads.

use serde::Serialize;

use crate::attest::tsm::Tsm;
use crate::{report_data, Attester, Error, Evidence, Tee};

/// Realm challenge size (guest-components' `CCA_CHALLENGE_SIZE`).
pub const CHALLENGE_SIZE: usize = 64;

#[derive(Serialize)]
struct CcaEvidenceOut<'a> {
    token: &'a [u8],
}

pub struct CcaAttester {
    tsm: Tsm,
}

impl CcaAttester {
    pub fn new(tsm: Tsm) -> Self {
        CcaAttester { tsm }
    }

    pub fn system() -> Self {
        Self::new(Tsm::system())
    }
}

impl Attester for CcaAttester {
    fn tee(&self) -> Tee {
        Tee::Cca
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let field = report_data::pad(Tee::Cca, rd, CHALLENGE_SIZE)?;
        let mut inblob = [0u8; 64];
        inblob.copy_from_slice(&field);
        let out = self.tsm.report(Tee::Cca, "arm_cca_guest", &inblob)?;
        // Refuse anything that is not a token before handing it on.
        super::parse_token(&out.outblob)?;
        let ev = CcaEvidenceOut { token: &out.outblob };
        Ok(Evidence { tee: Tee::Cca, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}
