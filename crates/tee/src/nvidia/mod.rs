//! NVIDIA confidential-computing GPUs (Hopper H100/H200, Blackwell): offline verification of the
//! GPU attestation report.
//!
//! Evidence JSON (trustee `deps/verifier/src/nvidia`, guest-components' NVIDIA attester):
//! `{"device_evidence_list": [{"arch": "HOPPER"|"BLACKWELL", "uuid"?: str,
//!   "evidence": hex or base64 of the report, "certificate": base64 of the PEM chain}]}`.
//!
//! Per device ([`verify_device`]):
//! 1. the report ([`spdm`]) parses: SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response,
//!    DMTF measurement blocks, NVIDIA opaque data ([`opaque`]);
//! 2. the certificate chain ([`certs`]) verifies to the pinned NVIDIA Device Identity CA at the
//!    verification time (from the verifier's clock);
//! 3. the report's ECDSA P-384 signature (raw `r||s`, SHA-384 over request || response without
//!    the signature) verifies with the leaf (attestation) key;
//! 4. the report's FWID (opaque type 20) equals the FWID the leaf certificate certifies
//!    (Hopper: 2.23.133.5.4.1; Blackwell: DiceTcbInfo 2.23.133.5.4.1.1 `fwids[0]`);
//! 5. the request nonce is the caller's report data: trustee regularises report data to the
//!    32-byte SPDM nonce (zero-padded when shorter, first 32 bytes when longer - the KBS binds a
//!    48-byte SHA-384 runtime-data digest); here shorter expected data must be a prefix with a
//!    zero tail, longer must match in its first 32 bytes ([`check_nonce`]).
//!
//! All devices must carry the same request nonce and distinct UEIDs (leaf serial numbers), so
//! one report cannot count as two GPUs. Claims: `devices[]` with arch, UEID, certificate names,
//! DICE model, driver / VBIOS versions, every measurement index -> hex digest, all opaque items,
//! the nonces; `hardware: true` only after all checks pass. NVIDIA GPUs have no init-data field:
//! an expected init-data digest is refused ([`Error::InitDataMismatch`]). Not checked: OCSP
//! revocation of the chain and the RIM (golden measurement) appraisal, both needing NVIDIA's
//! online services; measurements are reported for policy to appraise.

pub mod certs;
pub mod opaque;
pub mod spdm;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::signature;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::Clock;
use crate::{report_data, Claims, Error, Expected, Tee, Verifier};
pub use certs::{ChainCache, NvidiaRoots, VerifiedChain};
pub use spdm::{parse_report, Report};

/// GPU architecture named by the evidence (it selects the FWID extension of the leaf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Hopper,
    Blackwell,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Hopper => "HOPPER",
            Arch::Blackwell => "BLACKWELL",
        }
    }

    /// Case-insensitive, as trustee accepts it. NVSwitch (`LS10`) is not supported.
    pub fn parse(s: &str) -> Result<Arch, Error> {
        match s.to_ascii_uppercase().as_str() {
            "HOPPER" => Ok(Arch::Hopper),
            "BLACKWELL" => Ok(Arch::Blackwell),
            "LS10" => Err(Error::Unsupported { tee: Tee::Nvidia, reason: "NVSwitch (LS10) evidence".into() }),
            _ => Err(Error::malformed(Tee::Nvidia, format!("unknown GPU architecture {s:?}"))),
        }
    }
}

/// trustee's `NvDeviceEvidence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NvidiaEvidence {
    pub device_evidence_list: Vec<DeviceEvidence>,
}

/// trustee's `NvDeviceReportAndCert`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceEvidence {
    pub arch: String,
    /// Not signed; ignored by verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The report, hex (older attesters) or base64.
    pub evidence: String,
    /// Base64 of the PEM certificate chain, leaf first.
    pub certificate: String,
}

/// Most devices in one evidence (an HGX board has 8 GPUs).
pub const MAX_DEVICES: usize = 16;

/// One decoded device: architecture, raw report, DER chain.
#[derive(Debug, Clone)]
pub struct DecodedDevice {
    pub arch: Arch,
    pub report: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Nvidia, reason)
}

/// Decodes the evidence JSON (no verification).
pub fn decode_evidence(evidence: &[u8]) -> Result<Vec<DecodedDevice>, Error> {
    let ev: NvidiaEvidence =
        serde_json::from_slice(evidence).map_err(|e| bad(format!("not NVIDIA evidence JSON: {e}")))?;
    if ev.device_evidence_list.is_empty() {
        return Err(bad("device_evidence_list is empty"));
    }
    if ev.device_evidence_list.len() > MAX_DEVICES {
        return Err(bad(format!("{} devices, at most {MAX_DEVICES}", ev.device_evidence_list.len())));
    }
    ev.device_evidence_list
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let arch = Arch::parse(&d.arch)?;
            let s = d.evidence.trim();
            let report = match hex::decode(s) {
                Ok(r) => r,
                Err(_) => STANDARD
                    .decode(s)
                    .map_err(|e| bad(format!("device {i}: evidence is neither hex nor base64: {e}")))?,
            };
            let pem = STANDARD
                .decode(d.certificate.trim())
                .map_err(|e| bad(format!("device {i}: certificate is not base64: {e}")))?;
            let chain = certs::split_chain(&pem)?;
            Ok(DecodedDevice { arch, report, chain })
        })
        .collect()
}

/// Builds evidence JSON from raw parts (tests, tools).
pub fn evidence_json(devices: &[(Arch, &[u8], &[u8])]) -> Vec<u8> {
    let list = devices
        .iter()
        .map(|(a, report, chain_pem)| DeviceEvidence {
            arch: a.as_str().into(),
            uuid: None,
            evidence: hex::encode(report),
            certificate: STANDARD.encode(chain_pem),
        })
        .collect();
    serde_json::to_vec(&NvidiaEvidence { device_evidence_list: list }).unwrap_or_default()
}

/// A device whose report and chain verified (the nonce is checked by the caller).
#[derive(Debug, Clone)]
pub struct VerifiedDevice {
    pub arch: Arch,
    pub report: Report,
    pub chain: Arc<VerifiedChain>,
}

/// Checks the report's signature over the SPDM transcript with `leaf_key` (uncompressed P-384).
pub fn check_signature(report: &Report, leaf_key: &[u8]) -> Result<(), Error> {
    signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, leaf_key)
        .verify(report.signed_bytes(), &report.response.signature)
        .map_err(|_| Error::BadSignature {
            tee: Tee::Nvidia,
            what: "SPDM GET_MEASUREMENTS transcript".into(),
            reason: "ECDSA P-384 signature does not verify with the attestation certificate key".into(),
        })
}

/// Steps 1-4 of the module docs for one device.
pub fn verify_device(
    arch: Arch,
    report: &[u8],
    chain: &[Vec<u8>],
    roots: &NvidiaRoots,
    now: u64,
) -> Result<VerifiedDevice, Error> {
    verify_device_cached(arch, report, chain, roots, None, now)
}

/// [`verify_device`] with verified chains reused from `cache`.
pub fn verify_device_cached(
    arch: Arch,
    report: &[u8],
    chain: &[Vec<u8>],
    roots: &NvidiaRoots,
    cache: Option<&ChainCache>,
    now: u64,
) -> Result<VerifiedDevice, Error> {
    let report = spdm::parse_report(report)?;
    let chain = match cache {
        Some(c) => c.verify(chain, roots, arch, now)?,
        None => Arc::new(certs::verify_chain(chain, roots, arch, now)?),
    };
    check_signature(&report, &chain.leaf_key)?;
    let fwid = report.opaque(opaque::FWID).ok_or_else(|| Error::BindingMismatch {
        tee: Tee::Nvidia,
        reason: "report has no FWID (opaque type 20) to bind it to the attestation certificate".into(),
    })?;
    if fwid != chain.fwid.as_slice() {
        return Err(Error::BindingMismatch {
            tee: Tee::Nvidia,
            reason: format!(
                "report FWID {} differs from the attestation certificate's {}",
                hex::encode(fwid),
                hex::encode(&chain.fwid)
            ),
        });
    }
    Ok(VerifiedDevice { arch, report, chain })
}

/// The request nonce against the expected report data (see the module docs, step 5).
pub fn check_nonce(expected: &[u8], nonce: &[u8; spdm::NONCE_LEN]) -> Result<(), Error> {
    if expected.len() > spdm::NONCE_LEN {
        return report_data::check(&expected[..spdm::NONCE_LEN], nonce);
    }
    report_data::check(expected, nonce)
}

/// Claims of one verified device.
pub fn device_fields(d: &VerifiedDevice) -> Result<Value, Error> {
    let r = &d.report;
    let measurements: Map<String, Value> =
        r.response.blocks.iter().map(|b| (b.index.to_string(), json!(hex::encode(&b.value)))).collect();
    let opaque = opaque::fields(&r.response.opaque)?;
    let mut m = Map::new();
    m.insert("arch".into(), json!(d.arch.as_str()));
    m.insert("ueid".into(), json!(d.chain.ueid));
    m.insert("certificate_chain".into(), json!(d.chain.common_names));
    if let Some(model) = &d.chain.dice_model {
        m.insert("dice_model".into(), json!(model));
    }
    for k in ["driver_version", "vbios_version", "chip_info", "chip_sku", "project", "project_sku"] {
        if let Some(v) = opaque.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    m.insert("fwid".into(), json!(hex::encode(&d.chain.fwid)));
    m.insert("spdm_version".into(), json!("1.1"));
    m.insert("nonce".into(), json!(hex::encode(r.request.nonce)));
    m.insert("responder_nonce".into(), json!(hex::encode(r.response.nonce)));
    m.insert("measurement_count".into(), json!(r.response.blocks.len()));
    m.insert("measurements".into(), Value::Object(measurements));
    m.insert("opaque".into(), Value::Object(opaque));
    if r.trailing_zeros > 0 {
        m.insert("trailing_zero_bytes".into(), json!(r.trailing_zeros));
    }
    Ok(Value::Object(m))
}

/// Verifies whole NVIDIA evidence (all devices) at `now`.
pub fn verify_evidence(
    evidence: &[u8],
    expected: &Expected<'_>,
    roots: &NvidiaRoots,
    now: u64,
) -> Result<Claims, Error> {
    verify_evidence_cached(evidence, expected, roots, None, now)
}

/// [`verify_evidence`] with verified chains reused from `cache`.
pub fn verify_evidence_cached(
    evidence: &[u8],
    expected: &Expected<'_>,
    roots: &NvidiaRoots,
    cache: Option<&ChainCache>,
    now: u64,
) -> Result<Claims, Error> {
    let devices = decode_evidence(evidence)?;
    let verified: Vec<VerifiedDevice> = devices
        .iter()
        .map(|d| verify_device_cached(d.arch, &d.report, &d.chain, roots, cache, now))
        .collect::<Result<_, _>>()?;
    let nonce = verified.first().map(|d| d.report.request.nonce).ok_or_else(|| bad("no devices"))?;
    for (i, d) in verified.iter().enumerate() {
        if d.report.request.nonce != nonce {
            return Err(Error::BindingMismatch {
                tee: Tee::Nvidia,
                reason: format!("device {i} was asked a different nonce than device 0"),
            });
        }
        if verified[..i].iter().any(|p| p.chain.ueid == d.chain.ueid) {
            return Err(Error::BindingMismatch {
                tee: Tee::Nvidia,
                reason: format!("device {i} repeats the UEID {} of an earlier device", d.chain.ueid),
            });
        }
    }
    if let Some(exp) = expected.bound_report_data() {
        check_nonce(exp, &nonce)?;
    }
    if let Some(exp) = expected.init_data_digest {
        return Err(Error::InitDataMismatch {
            expected: hex::encode(exp),
            found: "none (NVIDIA GPU reports have no init-data field)".into(),
        });
    }
    let devs: Vec<Value> = verified.iter().map(device_fields).collect::<Result<_, _>>()?;
    let mut fields = BTreeMap::new();
    fields.insert("device_count".into(), json!(devs.len()));
    fields.insert("devices".into(), Value::Array(devs));
    Ok(Claims { tee: Tee::Nvidia, hardware: true, report_data: nonce.to_vec(), init_data: None, fields })
}

/// The NVIDIA GPU verifier: pinned roots (default: the NVIDIA Device Identity CA), a clock, and
/// a cache of verified device chains (times still checked per call).
pub struct NvidiaVerifier {
    roots: NvidiaRoots,
    clock: Arc<dyn Clock>,
    cache: Arc<ChainCache>,
}

impl NvidiaVerifier {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        NvidiaVerifier::with_roots(NvidiaRoots::builtin(), clock)
    }

    /// Trust other roots instead of the built-in one (tests; a future NVIDIA root).
    pub fn with_roots(roots: NvidiaRoots, clock: Arc<dyn Clock>) -> Self {
        NvidiaVerifier { roots, clock, cache: Arc::new(ChainCache::new()) }
    }

    /// Share a chain cache (e.g. between verifier sets); `ChainCache` keys include the roots.
    pub fn with_cache(mut self, cache: Arc<ChainCache>) -> Self {
        self.cache = cache;
        self
    }

    pub fn cache(&self) -> &Arc<ChainCache> {
        &self.cache
    }
}

impl Verifier for NvidiaVerifier {
    fn tee(&self) -> Tee {
        Tee::Nvidia
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        verify_evidence_cached(evidence, expected, &self.roots, Some(&self.cache), self.clock.now_unix())
    }
}
