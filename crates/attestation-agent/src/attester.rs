//! Which attester this guest uses: the TEE is detected with [`tee::attest::detect`] (guest-components'
//! order), and the software TEE is chosen only with [`danger::UseSoftwareTee`].

use std::sync::Arc;

use tee::attest::detect::{Probe, SgxLibOs};
use tee::attest::tsm::Tsm;
use tee::{Attester, Tee};

use crate::{danger, Error};

/// Where the attester looks for its TEE, and whether the software TEE may stand in for hardware.
#[derive(Debug, Clone, Default)]
pub struct AttesterConfig {
    /// Root of the file system to probe (`/`; tests use a faked tree).
    pub probe: Probe,
    /// A pre-existing configfs-tsm entry to use instead of creating one (tests with a faked tree).
    pub tsm_entry: Option<String>,
    /// Use the software TEE when no hardware TEE is found.
    pub software_tee: Option<danger::UseSoftwareTee>,
}

impl AttesterConfig {
    /// Probes this machine; the software TEE only if `software_tee` is given.
    pub fn system(software_tee: Option<danger::UseSoftwareTee>) -> Self {
        AttesterConfig { software_tee, ..Default::default() }
    }

    /// The TEE this guest runs in: the detected hardware TEE, else `sample` if opted in.
    pub fn tee(&self) -> Result<Tee, Error> {
        match self.probe.detect() {
            Some(t) => Ok(t),
            None if self.software_tee.is_some() => Ok(Tee::Sample),
            None => Err(Error::SoftwareTeeNotAllowed),
        }
    }

    /// Builds the attester of the detected TEE.
    pub fn attester(&self) -> Result<Arc<dyn Attester>, Error> {
        let tee = self.tee()?;
        let a = self.attester_for(tee)?;
        if tee == Tee::Sample {
            tracing::warn!("no hardware TEE detected; using the software TEE (sample): no confidentiality");
        } else {
            tracing::info!(%tee, "TEE detected");
        }
        Ok(a)
    }

    /// Builds the attester of `tee` (the software TEE still needs the opt-in).
    pub fn attester_for(&self, tee: Tee) -> Result<Arc<dyn Attester>, Error> {
        let probe = &self.probe;
        let tsm = || {
            let t = Tsm::new(probe.path("/sys/kernel/config/tsm/report"));
            match &self.tsm_entry {
                Some(e) => t.with_entry(e.clone()),
                None => t,
            }
        };
        Ok(match tee {
            Tee::Tdx => Arc::new(tee::tdx::attester::TdxAttester::new(
                tsm(),
                Some(probe.path("/sys/firmware/acpi/tables/data/CCEL")),
            )),
            Tee::Snp => Arc::new(tee::snp::attester::SnpAttester::new(tsm().with_privlevel(0))),
            Tee::Cca => Arc::new(tee::cca::attester::CcaAttester::new(tsm())),
            Tee::Sgx => match probe.sgx_libos() {
                Some(SgxLibOs::Occlum) => Arc::new(tee::sgx::occlum::OcclumAttester::new(Box::new(
                    tee::sgx::occlum::sys::OcclumSgxDevice::open(&probe.path("/dev/sgx").to_string_lossy())?,
                ))),
                _ => Arc::new(tee::sgx::attester::GramineAttester::new(probe.path("/dev/attestation"))),
            },
            Tee::Tpm => {
                use tee::tpm::attester::{default_device, AkSource, TpmAttester};
                let dev = default_device(&probe.root).ok_or_else(|| tee::Error::NotAvailable {
                    tee: Tee::Tpm,
                    reason: "no dev/tpmrm0 or dev/tpm0".into(),
                })?;
                let transport = tee::tpm::transport::DeviceTransport::open(dev)?;
                // The KBS binding is a 48-byte SHA-384 digest; like guest-components, a TPM quote
                // binds its first 32 bytes.
                Arc::new(TpmAttester::new(Box::new(transport), AkSource::Auto).bind_first_32_bytes())
            }
            Tee::Sample => match self.software_tee {
                Some(danger::UseSoftwareTee) => Arc::new(tee::sample::SampleAttester::new()),
                None => return Err(Error::SoftwareTeeNotAllowed),
            },
            other => return Err(Error::NoAttester(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_root(dir: &tempfile::TempDir) -> AttesterConfig {
        AttesterConfig { probe: Probe::new(dir.path()).with_occlum(false), tsm_entry: None, software_tee: None }
    }

    #[test]
    fn software_tee_needs_the_opt_in() {
        let d = tempfile::tempdir().unwrap();
        let c = empty_root(&d);
        assert_eq!(c.tee().unwrap_err(), Error::SoftwareTeeNotAllowed);
        assert_eq!(c.attester_for(Tee::Sample).err(), Some(Error::SoftwareTeeNotAllowed));
        let c = AttesterConfig { software_tee: Some(danger::UseSoftwareTee), ..c };
        assert_eq!(c.tee().unwrap(), Tee::Sample);
        assert_eq!(c.attester().unwrap().tee(), Tee::Sample);
    }

    #[test]
    fn detected_hardware_wins_over_the_opt_in() {
        let d = tempfile::tempdir().unwrap();
        let c = empty_root(&d);
        std::fs::create_dir_all(c.probe.path("/dev")).unwrap();
        std::fs::write(c.probe.path("/dev/sev-guest"), b"").unwrap();
        let c = AttesterConfig { software_tee: Some(danger::UseSoftwareTee), ..c };
        assert_eq!(c.tee().unwrap(), Tee::Snp);
    }
}
