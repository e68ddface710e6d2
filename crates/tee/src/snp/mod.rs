//! AMD SEV-SNP attestation reports.
//!
//! Evidence JSON (trustee / guest-components `snp`): `{"attestation_report": <report as serialized
//! by the `sev` crate>, "cert_chain": [{"cert_type": "VCEK"|"VLEK"|"ASK"|"ARK", "data": [..]}] | null}`.
//! Raw 1184-byte reports (RA-TLS, configfs-tsm `outblob`) go through [`verify_raw_report`].
//!
//! Checks: report version and signature algorithm; the VCEK/VLEK chains to the built-in AMD root of
//! its generation (ARK -> ASK|ASVK -> VEK, RSA-PSS) and is valid at the verification time; the VCEK
//! hwID equals the chip id; every reported-TCB component equals the certificate's SPL extension;
//! the ECDSA P-384 signature over bytes 0..0x2A0; VMPL; report data; HOST_DATA (init data).

pub mod attester;
pub mod certs;
pub mod claims;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use sev::firmware::guest::AttestationReport;
use sev::firmware::host::{CertTableEntry, CertType};
use sev::parser::ByteParser;

use crate::clock::Clock;
use crate::{report_data, Claims, Error, Expected, Tee, Verifier};
pub use certs::{AmdRoots, Generation, VekCache, VekKind, VerifiedVek};

/// Size of an SNP attestation report.
pub const REPORT_LEN: usize = 0x4A0;
/// The signature covers bytes 0..SIGNED_LEN.
pub const SIGNED_LEN: usize = 0x2A0;

/// Wire form of SNP evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnpEvidence {
    pub attestation_report: AttestationReport,
    #[serde(default)]
    pub cert_chain: Option<Vec<CertTableEntry>>,
}

/// Parses a raw report (no signature checks).
pub fn parse_report(raw: &[u8]) -> Result<AttestationReport, Error> {
    if raw.len() != REPORT_LEN {
        return Err(Error::malformed(Tee::Snp, format!("report is {} bytes, expected {REPORT_LEN}", raw.len())));
    }
    AttestationReport::from_bytes(raw).map_err(|e| Error::malformed(Tee::Snp, format!("report does not parse: {e}")))
}

/// Builds trustee-shaped evidence from a raw report and VEK certificate (DER).
pub fn evidence_json(raw_report: &[u8], vek_der: Option<(&[u8], VekKind)>) -> Result<Vec<u8>, Error> {
    let attestation_report = parse_report(raw_report)?;
    let cert_chain = vek_der.map(|(d, k)| {
        vec![CertTableEntry::new(
            match k {
                VekKind::Vcek => CertType::VCEK,
                VekKind::Vlek => CertType::VLEK,
            },
            d.to_vec(),
        )]
    });
    serde_json::to_vec(&SnpEvidence { attestation_report, cert_chain }).map_err(|e| Error::Io(e.to_string()))
}

/// Endorsement-key certificates known ahead of time (offline KDS store), by chip id.
#[derive(Debug, Default)]
pub struct VekStore {
    by_chip: RwLock<HashMap<Vec<u8>, Vec<Vec<u8>>>>,
}

impl VekStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a DER VCEK; returns its hwID.
    pub fn insert_der(&self, der: &[u8]) -> Result<Vec<u8>, Error> {
        let info = certs::inspect_vek(der)?;
        let id = info.hw_id.unwrap_or_default();
        if let Ok(mut m) = self.by_chip.write() {
            m.entry(id.clone()).or_default().push(der.to_vec());
        }
        Ok(id)
    }

    fn candidates(&self, chip_id: &[u8]) -> Vec<Vec<u8>> {
        let m = match self.by_chip.read() {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        m.iter().filter(|(k, _)| !k.is_empty() && chip_id.starts_with(k)).flat_map(|(_, v)| v.clone()).collect()
    }
}

/// Policy knobs of the SNP verifier.
#[derive(Debug, Clone)]
pub struct SnpPolicy {
    /// Required VMPL of the requester (trustee requires 0). `None` accepts any and reports it.
    pub vmpl: Option<u32>,
}

impl Default for SnpPolicy {
    fn default() -> Self {
        SnpPolicy { vmpl: Some(0) }
    }
}

fn tcb_check(field: &str, report: u8, cert: Option<u64>) -> Result<(), Error> {
    match cert {
        Some(c) if c == u64::from(report) => Ok(()),
        other => Err(Error::TcbMismatch {
            tee: Tee::Snp,
            field: field.into(),
            report: report.to_string(),
            cert: other.map_or_else(|| "absent".into(), |c| c.to_string()),
        }),
    }
}

/// Verifies the ECDSA P-384 signature of a raw report with the VEK public key (SEC1).
pub fn check_signature(raw: &[u8], vek_pub_sec1: &[u8]) -> Result<(), Error> {
    let sig = raw
        .get(SIGNED_LEN..SIGNED_LEN + 144)
        .ok_or_else(|| Error::malformed(Tee::Snp, "report too short for its signature"))?;
    // r and s are 72-byte little-endian fields; P-384 uses the low 48 bytes.
    let (r, s) = sig.split_at(72);
    if r[48..].iter().chain(s[48..].iter()).any(|b| *b != 0) {
        return Err(Error::BadSignature {
            tee: Tee::Snp,
            what: "report".into(),
            reason: "signature component wider than P-384".into(),
        });
    }
    let mut fixed = [0u8; 96];
    for i in 0..48 {
        fixed[i] = r[47 - i];
        fixed[48 + i] = s[47 - i];
    }
    let key =
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED, vek_pub_sec1);
    key.verify(&raw[..SIGNED_LEN], &fixed).map_err(|_| Error::BadSignature {
        tee: Tee::Snp,
        what: "report".into(),
        reason: "ECDSA P-384 signature does not verify with the VEK public key".into(),
    })
}

/// SNP verification context: AMD roots + verified-VEK cache, optional offline VEK store, policy.
pub struct SnpContext {
    pub veks: VekCache,
    pub store: VekStore,
    pub policy: SnpPolicy,
}

impl Default for SnpContext {
    fn default() -> Self {
        Self::new(AmdRoots::builtin())
    }
}

impl SnpContext {
    pub fn new(roots: AmdRoots) -> Self {
        SnpContext { veks: VekCache::new(roots), store: VekStore::new(), policy: SnpPolicy::default() }
    }
}

/// Verifies a raw report. `vek_der` is the VCEK/VLEK from the evidence, else the store is used.
pub fn verify_raw_report(
    raw: &[u8],
    vek_der: Option<&[u8]>,
    expected: &Expected<'_>,
    ctx: &SnpContext,
    now: u64,
) -> Result<Claims, Error> {
    let report = parse_report(raw)?;
    verify_parsed(raw, &report, vek_der, expected, ctx, now)
}

fn verify_parsed(
    raw: &[u8],
    report: &AttestationReport,
    vek_der: Option<&[u8]>,
    expected: &Expected<'_>,
    ctx: &SnpContext,
    now: u64,
) -> Result<Claims, Error> {
    if !(2..=5).contains(&report.version) {
        return Err(Error::Unsupported { tee: Tee::Snp, reason: format!("report version {}", report.version) });
    }
    if report.sig_algo != 1 {
        return Err(Error::Unsupported { tee: Tee::Snp, reason: format!("signature algorithm {}", report.sig_algo) });
    }
    let vek = match vek_der {
        Some(d) => ctx.veks.verify(d, now)?,
        None => {
            let cands = ctx.store.candidates(&report.chip_id);
            let mut found = None;
            let mut last_err = None;
            for c in &cands {
                match ctx.veks.verify(c, now).and_then(|v| check_tcb(report, &v).map(|()| v)) {
                    Ok(v) => {
                        found = Some(v);
                        break;
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            // A stored VCEK for this chip that fails (expired, untrusted, other TCB) is reported
            // as such; only no candidate at all is "missing".
            match (found, last_err) {
                (Some(v), _) => v,
                (None, Some(e)) => return Err(e),
                (None, None) => {
                    return Err(Error::CollateralMissing {
                        tee: Tee::Snp,
                        key: format!("VCEK for chip {}", hex::encode(report.chip_id)),
                    })
                }
            }
        }
    };
    if vek.kind == VekKind::Vcek {
        let hw = vek.hw_id.as_deref().unwrap_or(&[]);
        let n = if vek.generation == Generation::Turin { 8 } else { 64 };
        if hw.len() < n || report.chip_id.get(..n) != hw.get(..n) {
            return Err(Error::TcbMismatch {
                tee: Tee::Snp,
                field: "chip_id".into(),
                report: hex::encode(report.chip_id),
                cert: hex::encode(hw),
            });
        }
    }
    check_tcb(report, &vek)?;
    check_signature(raw, &vek.public_key)?;
    if let Some(want) = ctx.policy.vmpl {
        if report.vmpl != want {
            return Err(Error::WrongVmpl { tee: Tee::Snp, expected: want, found: report.vmpl });
        }
    }
    if let Some(exp) = expected.bound_report_data() {
        report_data::check(exp, &report.report_data)?;
    }
    if let Some(exp) = expected.init_data_digest {
        report_data::check(exp, &report.host_data).map_err(|_| Error::InitDataMismatch {
            expected: hex::encode(exp),
            found: hex::encode(report.host_data),
        })?;
    }
    Ok(Claims {
        tee: Tee::Snp,
        hardware: true,
        report_data: report.report_data.to_vec(),
        init_data: Some(report.host_data.to_vec()),
        fields: claims::fields(report, Some(&vek)),
    })
}

fn check_tcb(report: &AttestationReport, vek: &VerifiedVek) -> Result<(), Error> {
    let t = &report.reported_tcb;
    tcb_check("bootloader", t.bootloader, vek.bl_spl)?;
    tcb_check("tee", t.tee, vek.tee_spl)?;
    tcb_check("snp", t.snp, vek.snp_spl)?;
    tcb_check("microcode", t.microcode, vek.ucode_spl)?;
    if let Some(f) = t.fmc {
        tcb_check("fmc", f, vek.fmc_spl)?;
    }
    Ok(())
}

/// Decodes trustee-shaped SNP evidence into (raw report bytes, VEK DER if carried).
pub fn decode_evidence(evidence: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), Error> {
    let ev: SnpEvidence = serde_json::from_slice(evidence)
        .map_err(|e| Error::malformed(Tee::Snp, format!("not SNP evidence JSON: {e}")))?;
    let raw = ev
        .attestation_report
        .to_bytes()
        .map_err(|e| Error::malformed(Tee::Snp, format!("report does not encode: {e}")))?;
    let raw: Vec<u8> = raw.as_ref().to_vec();
    let vek = ev.cert_chain.as_ref().and_then(|chain| {
        chain.iter().find(|c| matches!(c.cert_type, CertType::VCEK | CertType::VLEK)).map(|c| c.data.clone())
    });
    Ok((raw, vek))
}

/// SNP verifier.
pub struct SnpVerifier {
    ctx: Arc<SnpContext>,
    clock: Arc<dyn Clock>,
}

impl SnpVerifier {
    pub fn new(ctx: Arc<SnpContext>, clock: Arc<dyn Clock>) -> Self {
        SnpVerifier { ctx, clock }
    }
}

impl Verifier for SnpVerifier {
    fn tee(&self) -> Tee {
        Tee::Snp
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let (raw, vek) = decode_evidence(evidence)?;
        verify_raw_report(&raw, vek.as_deref(), expected, &self.ctx, self.clock.now_unix())
    }
}
