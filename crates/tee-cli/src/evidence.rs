//! `tee-cli evidence`: detect the TEE and print its evidence.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use tee::attest::detect::{Probe, SgxLibOs};
use tee::attest::tsm::Tsm;
use tee::{Attester, Tee};

#[derive(clap::Args)]
pub struct Args {
    /// Report data to bind (hex, at most 64 bytes; zero-padded, never truncated).
    #[arg(long)]
    report_data: String,
    /// Use this TEE instead of auto-detection.
    #[arg(long)]
    tee: Option<String>,
    /// Produce software-TEE evidence when no hardware TEE is found (development only: no
    /// hardware isolation, anyone can forge it).
    #[arg(long)]
    danger_software_tee: bool,
    /// Root of the file system to probe (tests use a faked tree).
    #[arg(long, default_value = "/", hide = true)]
    sys_root: PathBuf,
    /// Use this pre-existing configfs-tsm entry name (tests with a faked tree).
    #[arg(long, hide = true)]
    tsm_entry: Option<String>,
    /// TPM: character device to use (default /dev/tpmrm0, else /dev/tpm0 under the probe root).
    #[arg(long)]
    tpm_device: Option<PathBuf>,
    /// TPM: talk to swtpm's TCP command channel at HOST:PORT instead of a device.
    #[arg(long, conflicts_with = "tpm_device")]
    tpm_tcp: Option<std::net::SocketAddr>,
    /// TPM: attestation key: `auto` (persistent 0x81010002 if present, else an endorsement
    /// primary), `endorsement`, `owner`, or a persistent handle in hex (e.g. 0x81010002).
    #[arg(long, default_value = "auto")]
    tpm_ak: String,
    /// TPM: bind the first 32 bytes of longer report data (guest-components / trustee rule, e.g.
    /// a 48-byte SHA-384 KBS digest) instead of refusing it.
    #[arg(long)]
    tpm_first_32: bool,
    /// TPM: AK certificate chain to carry in the evidence (PEM or DER file, AK certificate
    /// first, then issuing CAs), so a verifier configured with its root counts it as hardware.
    #[arg(long)]
    tpm_ak_cert: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let rd = hex::decode(a.report_data.trim()).context("--report-data is not hex")?;
    let probe = Probe::new(&a.sys_root);
    let tee = match a.tee.as_deref() {
        Some(t) => t.parse::<Tee>()?,
        None => match probe.detect() {
            Some(t) => t,
            None if a.danger_software_tee => Tee::Sample,
            None => bail!("{}", tee::Error::NoTeeDetected),
        },
    };
    let mut tsm = Tsm::new(probe.path("/sys/kernel/config/tsm/report"));
    if let Some(e) = a.tsm_entry {
        tsm = tsm.with_entry(e);
    }
    let attester: Box<dyn Attester> = match tee {
        Tee::Tdx => {
            Box::new(tee::tdx::attester::TdxAttester::new(tsm, Some(probe.path("/sys/firmware/acpi/tables/data/CCEL"))))
        }
        Tee::Snp => Box::new(tee::snp::attester::SnpAttester::new(tsm.with_privlevel(0))),
        Tee::Sgx => match probe.sgx_libos() {
            Some(SgxLibOs::Occlum) => Box::new(tee::sgx::occlum::OcclumAttester::new(Box::new(
                tee::sgx::occlum::sys::OcclumSgxDevice::open(&probe.path("/dev/sgx").to_string_lossy())?,
            ))),
            _ => Box::new(tee::sgx::attester::GramineAttester::new(probe.path("/dev/attestation"))),
        },
        Tee::Cca => Box::new(tee::cca::attester::CcaAttester::new(tsm)),
        Tee::Tpm => {
            let mut t = tpm_attester(&probe, a.tpm_device.as_deref(), a.tpm_tcp, &a.tpm_ak)?;
            if let Some(p) = &a.tpm_ak_cert {
                let b = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                t = t.with_ak_cert_chain(cert_chain(&b).with_context(|| format!("--tpm-ak-cert {}", p.display()))?);
            }
            Box::new(if a.tpm_first_32 { t.bind_first_32_bytes() } else { t })
        }
        Tee::Sample if a.danger_software_tee => Box::new(tee::sample::SampleAttester::new()),
        Tee::Sample => bail!("the software TEE gives no protection; pass --danger-software-tee to use it"),
        other => {
            bail!("{}", tee::Error::NotAvailable { tee: other, reason: "no attester for this TEE in tee-cli".into() })
        }
    };
    let ev = attester.evidence(&rd)?;
    let evidence: serde_json::Value = serde_json::from_slice(&ev.bytes).context("evidence is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"tee": ev.tee, "evidence": evidence}))?);
    Ok(())
}

fn tpm_attester(
    probe: &Probe,
    device: Option<&std::path::Path>,
    tcp: Option<std::net::SocketAddr>,
    ak: &str,
) -> Result<tee::tpm::attester::TpmAttester> {
    use tee::tpm::attester::{AkSource, TpmAttester};
    use tee::tpm::transport::{DeviceTransport, TcpTransport, Transport};
    let ak = match ak {
        "auto" => AkSource::Auto,
        "endorsement" => AkSource::Primary(tee::tpm::cmd::TPM_RH_ENDORSEMENT),
        "owner" => AkSource::Primary(tee::tpm::cmd::TPM_RH_OWNER),
        h => AkSource::Persistent(
            u32::from_str_radix(h.trim_start_matches("0x"), 16)
                .with_context(|| format!("--tpm-ak {h:?} is not auto|endorsement|owner|HEX"))?,
        ),
    };
    let transport: Box<dyn Transport> = match (tcp, device) {
        (Some(addr), _) => Box::new(TcpTransport::connect(addr)?),
        (None, Some(d)) => Box::new(DeviceTransport::open(d)?),
        (None, None) => {
            let d = tee::tpm::attester::default_device(&probe.root).ok_or_else(|| tee::Error::NotAvailable {
                tee: Tee::Tpm,
                reason: "no dev/tpmrm0 or dev/tpm0".into(),
            })?;
            Box::new(DeviceTransport::open(d)?)
        }
    };
    Ok(TpmAttester::new(transport, ak))
}

/// Certificates (DER) from concatenated PEM blocks, or one DER certificate.
fn cert_chain(b: &[u8]) -> Result<Vec<Vec<u8>>> {
    if b.first() == Some(&0x30) {
        return Ok(vec![b.to_vec()]);
    }
    let mut out = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(b) {
        let pem = pem.context("not PEM")?;
        if pem.label == "CERTIFICATE" {
            out.push(pem.contents);
        }
    }
    if out.is_empty() {
        bail!("no certificate found");
    }
    Ok(out)
}
