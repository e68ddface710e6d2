//! The pluggable evidence-verification hook: which verifier checks evidence with a given CBOR tag.
//!
//! The tag picks the TEE ([`crate::dice::tee_for_tag`]; tag 60000 is split into SGX and TDX by the
//! quote header), and the TEE picks a [`tee::Verifier`]. Hardware verifiers from the `tee` crate are
//! plugged in with [`EvidenceVerifiers::with`]; a verifier whose wire format differs from the raw
//! evidence in the certificate (for instance one that wants trustee's JSON envelope) is wrapped in a
//! small adapter implementing [`tee::Verifier`] over the raw bytes. [`EvidenceVerifiers::with_tag`]
//! overrides the choice for one tag outright.

use std::collections::BTreeMap;
use std::sync::Arc;

use tee::{Claims, Expected, Tee};

use crate::{dice, Error};

/// The evidence verifiers a relying party enables, built explicitly at start-up.
#[derive(Clone, Default)]
pub struct EvidenceVerifiers {
    by_tee: BTreeMap<Tee, Arc<dyn tee::Verifier>>,
    by_tag: BTreeMap<u64, Arc<dyn tee::Verifier>>,
}

impl std::fmt::Debug for EvidenceVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceVerifiers")
            .field("tees", &self.by_tee.keys().collect::<Vec<_>>())
            .field("tags", &self.by_tag.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EvidenceVerifiers {
    /// Hardware verifiers only; none are enabled until added with [`EvidenceVerifiers::with`].
    pub fn hardware_only() -> Self {
        Self::default()
    }

    /// Enables a verifier for its TEE (replacing an earlier one).
    pub fn with(mut self, v: Box<dyn tee::Verifier>) -> Self {
        self.by_tee.insert(v.tee(), Arc::from(v));
        self
    }

    /// Uses `v` for every evidence carrying `tag`, whatever TEE the tag would select.
    pub fn with_tag(mut self, tag: u64, v: Box<dyn tee::Verifier>) -> Self {
        self.by_tag.insert(tag, Arc::from(v));
        self
    }

    /// Also accepts the software TEE (tag [`dice::tag::SOFTWARE_TEE`]). Its claims say `hardware: false`.
    pub fn accept_software_tee(self, opt_in: tee::danger::AcceptSoftwareTee) -> Self {
        self.with(Box::new(tee::sample::SampleVerifier::new(opt_in)))
    }

    pub fn tees(&self) -> Vec<Tee> {
        self.by_tee.keys().copied().collect()
    }

    /// Verifies `raw` (tagged `tag`) against `report_data` (a prefix of the TEE's field; the rest
    /// must be zero).
    pub fn verify(&self, tag: u64, raw: &[u8], report_data: &[u8]) -> Result<Claims, Error> {
        let expected = Expected { report_data: Some(report_data), ..Default::default() };
        let verifier = match self.by_tag.get(&tag) {
            Some(v) => v,
            None => {
                let tee = dice::tee_for_tag(tag, raw)?;
                self.by_tee.get(&tee).ok_or_else(|| Error::NoVerifierForTag {
                    tag,
                    what: format!("{tee} evidence; no {tee} verifier enabled"),
                })?
            }
        };
        verifier.verify(raw, &expected).map_err(|e| Error::EvidenceRejected(Arc::new(e)))
    }
}
