//! Plugin names of the C rats-tls tools (`-a`/`-v`/`-t`/`-c`) mapped to this implementation, with
//! the `--danger-` opt-ins each insecure name needs. Shared by the sample tools and the EAA binaries.

use std::sync::Arc;

use rats_tls::{danger, AttesterConfig, EvidenceVerifiers, KeyAlgorithm, PeerVerifier};

use crate::flags::DangerFlags;

/// Why a sample-tool option was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionError {
    #[error("attester {0:?} needs TEE hardware that this build cannot drive; use nullattester or sample")]
    AttesterUnavailable(String),
    #[error("unknown attester {0:?} (nullattester, sample, sgx_ecdsa, tdx_ecdsa, sev_snp, csv, ...)")]
    UnknownAttester(String),
    #[error("unknown verifier {0:?} (nullverifier, sample, sgx_ecdsa, tdx_ecdsa, sev_snp, csv, ...)")]
    UnknownVerifier(String),
    #[error("tls wrapper {0:?} is not supported (this implementation is rustls; openssl is accepted as an alias)")]
    Tls(String),
    #[error(
        "crypto wrapper {0:?} is not supported (this implementation uses aws-lc-rs; openssl is accepted as an alias)"
    )]
    Crypto(String),
    #[error("--at {0:?}: want unix seconds or YYYY-MM-DDTHH:MM:SSZ")]
    Time(String),
    #[error("--collateral: {0}")]
    Collateral(String),
    #[error("unknown --key-algo {0:?} (p256, rsa3072)")]
    KeyAlgo(String),
    #[error("verifier \"sample\" accepts software-TEE evidence, which has no hardware isolation: add --danger-accept-software-tee to opt in (development only)")]
    SoftwareTeeNeedsOptIn,
    #[error("verifier \"nullverifier\" does not verify the peer's evidence at all: add --danger-accept-without-evidence to opt in (interop tests only)")]
    NullVerifierNeedsOptIn,
}

const HARDWARE: [&str; 8] = ["sgx_ecdsa", "sgx_ecdsa_qve", "sgx_la", "tdx_ecdsa", "sev_snp", "sev", "csv", "tdx"];

/// `-a`: empty means auto-select, which on a machine without TEE hardware is the null attester (as in C).
pub fn attester_from_name(name: &str, key: KeyAlgorithm) -> Result<AttesterConfig, OptionError> {
    let cfg = match name {
        "" | "nullattester" => AttesterConfig::null(),
        "sample" => {
            let mut a = tee::sample::SampleAttester::new();
            if let Some(m) = self_measurement() {
                a = a.with_measurement(m);
            }
            AttesterConfig::with_attester(Arc::new(a))
        }
        n if HARDWARE.contains(&n) => return Err(OptionError::AttesterUnavailable(n.into())),
        n => return Err(OptionError::UnknownAttester(n.into())),
    };
    Ok(cfg.key(key))
}

/// What the software TEE reports as its measurement for the tools: SHA-384 of the running executable.
fn self_measurement() -> Option<String> {
    use sha2::Digest;
    let exe = std::env::current_exe().ok()?;
    let bytes = std::fs::read(exe).ok()?;
    Some(hex::encode(sha2::Sha384::digest(bytes)))
}

/// The hardware evidence verifiers for `--collateral DIR` (DCAP `*.json`, SNP VCEK/VLEK `*.der`/`*.pem`)
/// and `--at TIME` (unix seconds or `YYYY-MM-DDTHH:MM:SSZ`; default: the system clock). Without a
/// directory the verifiers are enabled but have no collateral (evidence is refused as such).
pub fn hardware_verifiers(
    collateral: Option<&std::path::Path>,
    at: Option<&str>,
) -> Result<EvidenceVerifiers, OptionError> {
    let clock: Arc<dyn tee::clock::Clock> = match at {
        Some(s) => {
            let t = match s.parse::<u64>() {
                Ok(n) => n,
                Err(_) => tee::dcap::collateral_time(s).ok_or_else(|| OptionError::Time(s.into()))?,
            };
            tracing::warn!("verification time pinned to {t} (--at)");
            Arc::new(tee::clock::FixedClock(t))
        }
        None => Arc::new(tee::clock::SystemClock),
    };
    let hw = match collateral {
        Some(d) => rats_tls::HardwareCollateral::load(d, clock).map_err(|e| {
            // name the path once (I/O errors already carry it)
            let (m, p) = (e.to_string(), d.display().to_string());
            OptionError::Collateral(if m.contains(&p) { m } else { format!("{p}: {m}") })
        })?,
        None => rats_tls::HardwareCollateral { clock, ..Default::default() },
    };
    Ok(EvidenceVerifiers::hardware(hw))
}

/// `-v`: empty or a hardware name enables the hardware verifiers in `hardware`; `sample` enables the
/// software TEE and `nullverifier` accepts anything (as the C null verifier), each only with its
/// `--danger-` opt-in in `danger` (a clear error otherwise).
pub fn verifier_from_name(
    name: &str,
    hardware: EvidenceVerifiers,
    danger: DangerFlags,
) -> Result<PeerVerifier, OptionError> {
    let with_software = |hw: EvidenceVerifiers| {
        tracing::warn!(
            "--danger-accept-software-tee: accepting software-TEE evidence (no hardware isolation, development only)"
        );
        hw.accept_software_tee(tee::danger::AcceptSoftwareTee)
    };
    match name {
        "nullverifier" => {
            if !danger.accept_without_evidence {
                return Err(OptionError::NullVerifierNeedsOptIn);
            }
            tracing::warn!("--danger-accept-without-evidence: peer evidence is NOT verified");
            Ok(PeerVerifier::null(danger::AcceptWithoutEvidence))
        }
        "sample" => {
            if !danger.accept_software_tee {
                return Err(OptionError::SoftwareTeeNeedsOptIn);
            }
            Ok(PeerVerifier::new(with_software(hardware)))
        }
        n if n.is_empty() || HARDWARE.contains(&n) => {
            Ok(PeerVerifier::new(if danger.accept_software_tee { with_software(hardware) } else { hardware }))
        }
        n => Err(OptionError::UnknownVerifier(n.into())),
    }
}

pub fn check_wrappers(tls: &str, crypto: &str) -> Result<(), OptionError> {
    if !matches!(tls, "" | "openssl" | "rustls") {
        return Err(OptionError::Tls(tls.into()));
    }
    if !matches!(crypto, "" | "openssl" | "aws-lc-rs") {
        return Err(OptionError::Crypto(crypto.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO: DangerFlags = DangerFlags { accept_software_tee: false, accept_without_evidence: false };

    #[test]
    fn sample_verifier_needs_danger_accept_software_tee() {
        let e = verifier_from_name("sample", EvidenceVerifiers::hardware_only(), NO).err();
        assert_eq!(e, Some(OptionError::SoftwareTeeNeedsOptIn));
        assert!(e.map(|e| e.to_string()).unwrap_or_default().contains("--danger-accept-software-tee"));
        let ok = verifier_from_name(
            "sample",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_software_tee: true, ..NO },
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn null_verifier_needs_danger_accept_without_evidence() {
        assert_eq!(
            verifier_from_name("nullverifier", EvidenceVerifiers::hardware_only(), NO).err(),
            Some(OptionError::NullVerifierNeedsOptIn)
        );
        // the software-TEE opt-in does not unlock the null verifier
        let e = verifier_from_name(
            "nullverifier",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_software_tee: true, ..NO },
        )
        .err();
        assert_eq!(e, Some(OptionError::NullVerifierNeedsOptIn));
        assert!(verifier_from_name(
            "nullverifier",
            EvidenceVerifiers::hardware_only(),
            DangerFlags { accept_without_evidence: true, ..NO }
        )
        .is_ok());
        assert!(verifier_from_name("", EvidenceVerifiers::hardware_only(), NO).is_ok());
        assert_eq!(
            verifier_from_name("bogus", EvidenceVerifiers::hardware_only(), NO).err(),
            Some(OptionError::UnknownVerifier("bogus".into()))
        );
    }
}
