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

use tee::clock::{Clock, SystemClock};
use tee::dcap::CollateralStore;
use tee::snp::SnpContext;
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
    /// The `tee` crate's hardware verifiers over raw evidence: tag 60000 (SGX quote v3 / TDX quote
    /// v4-v5, told apart by the quote header) and 0x1a7504 (SEV-SNP report), with Intel's and AMD's
    /// production roots, the system clock and **no collateral**: DCAP evidence is then refused with
    /// `CollateralMissing` and SNP evidence without a stored VCEK likewise. Use
    /// [`EvidenceVerifiers::hardware`] to supply collateral (and a clock).
    pub fn hardware_only() -> Self {
        Self::hardware(HardwareCollateral::default())
    }

    /// The hardware verifiers of [`EvidenceVerifiers::hardware_only`] with the given collateral and clock.
    pub fn hardware(c: HardwareCollateral) -> Self {
        Self::empty()
            .with(Box::new(RawDcapVerifier { tee: Tee::Sgx, store: c.dcap.clone(), clock: c.clock.clone() }))
            .with(Box::new(RawDcapVerifier { tee: Tee::Tdx, store: c.dcap, clock: c.clock.clone() }))
            .with(Box::new(RawSnpVerifier { ctx: c.snp, clock: c.clock }))
    }

    /// No verifier at all (every evidence is refused with `NoVerifierForTag`).
    pub fn empty() -> Self {
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
        let expected = Expected::new(report_data);
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

/// Collateral and time for the hardware verifiers.
#[derive(Clone)]
pub struct HardwareCollateral {
    /// DCAP collateral (TCB info, QE identity, CRLs) per FMSPC; trusted root inside.
    pub dcap: Arc<CollateralStore>,
    /// AMD roots, verified-VEK cache and offline VCEK/VLEK store.
    pub snp: Arc<SnpContext>,
    pub clock: Arc<dyn Clock>,
}

impl Default for HardwareCollateral {
    fn default() -> Self {
        HardwareCollateral {
            dcap: Arc::new(CollateralStore::new()),
            snp: Arc::new(SnpContext::default()),
            clock: Arc::new(SystemClock),
        }
    }
}

impl HardwareCollateral {
    /// Loads a collateral directory (or file): DCAP collateral `*.json` (dcap-qvl's
    /// `QuoteCollateralV3`), SEV-SNP VCEK/VLEK `*.der` / `*.pem` (verified against the AMD roots at
    /// verification time). Files of neither kind are skipped; a path holding neither is an error.
    pub fn load(path: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Self, tee::Error> {
        let dcap = CollateralStore::new();
        dcap.load_path(Tee::Sgx, path)?;
        let snp = SnpContext::default();
        let mut snp_loaded = 0usize;
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .map_err(|e| tee::Error::Io(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect()
        } else {
            vec![path.to_path_buf()]
        };
        for f in files {
            let ext = f.extension().and_then(|x| x.to_str()).unwrap_or("");
            if ext != "der" && ext != "pem" {
                continue;
            }
            let b = std::fs::read(&f).map_err(|e| tee::Error::Io(format!("{}: {e}", f.display())))?;
            let der = if ext == "pem" { pem_first_cert(&b) } else { Some(b) };
            if let Some(der) = der {
                // Not a VCEK/VLEK (e.g. a root CA): skipped, as the tee CLI does.
                if snp.store.insert_der(&der).is_ok() {
                    snp_loaded += 1;
                }
            }
        }
        if dcap.is_empty() && snp_loaded == 0 {
            return Err(tee::Error::Io(format!(
                "{}: no DCAP collateral (*.json) and no SEV-SNP VCEK/VLEK certificate (*.der, *.pem) found",
                path.display()
            )));
        }
        Ok(HardwareCollateral { dcap: Arc::new(dcap), snp: Arc::new(snp), clock })
    }
}

fn pem_first_cert(b: &[u8]) -> Option<Vec<u8>> {
    x509_parser::pem::parse_x509_pem(b).ok().map(|(_, p)| p.contents)
}

/// Adapter: the raw DCAP quote from the certificate, verified by `tee::sgx::verify_raw_quote` /
/// `tee::tdx::verify_raw_quote` (no JSON envelope).
pub struct RawDcapVerifier {
    pub tee: Tee,
    pub store: Arc<CollateralStore>,
    pub clock: Arc<dyn Clock>,
}

impl tee::Verifier for RawDcapVerifier {
    fn tee(&self) -> Tee {
        self.tee
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, tee::Error> {
        let now = self.clock.now_unix();
        match self.tee {
            Tee::Tdx => tee::tdx::verify_raw_quote(evidence, expected, &self.store, now),
            _ => tee::sgx::verify_raw_quote(evidence, expected, &self.store, now),
        }
    }
}

/// Adapter: the raw SEV-SNP report from the certificate (tag 0x1a7504), verified by
/// `tee::snp::verify_raw_report` with the VCEK/VLEK from the offline store (the C rats-tls
/// evidence carries no certificate chain).
pub struct RawSnpVerifier {
    pub ctx: Arc<SnpContext>,
    pub clock: Arc<dyn Clock>,
}

impl tee::Verifier for RawSnpVerifier {
    fn tee(&self) -> Tee {
        Tee::Snp
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, tee::Error> {
        tee::snp::verify_raw_report(evidence, None, expected, &self.ctx, self.clock.now_unix())
    }
}
