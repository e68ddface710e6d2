//! Hygon CSV (China Secure Virtualization): **parse-only**.
//!
//! Evidence JSON (trustee / guest-components `csv`):
//! `{"attestation_report": {"magic": [16 bytes], "flags": u32, "data": [4096 bytes]},
//!   "cert_chain": {"hsk_cek"?: {...}, "pek": {CSV certificate as serde JSON}},
//!   "serial_number": [bytes, chip id, NUL-padded], "cc_eventlog"?: "<base64>"}`.
//!
//! [`parse_evidence`] decodes all of it (report layout in [`report`]), undoes the v1 `anonce`
//! obfuscation, and checks that the PEK certificate and chip serial number embedded in the report
//! equal the ones in the JSON. [`verify_report_signature`] checks the report's SM2/SM3 signature
//! by that PEK (distinguishing id = the PEK's user id, `HYGON-SSD-PEK`). What is **not** checked
//! is the chain PEK -> CEK -> HSK -> Hygon root (HRK): the HSK/CEK are normally not in the
//! evidence (trustee downloads them from Hygon's KDS by chip id), and without it the PEK is just
//! a key the evidence names, so a valid signature proves nothing about hardware.
//!
//! Therefore [`CsvVerifier`] always refuses, with [`Error::Unsupported`] ([`PARSE_ONLY`]), after
//! reporting malformed input, a report-data mismatch or a bad report signature: parsed fields are
//! never returned as accepted [`Claims`]. Use [`parse_evidence`] / [`fields`] (or
//! `tee-cli parse --tee csv`) to inspect evidence.

pub mod report;

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{report_data, Claims, Error, Expected, Tee, Verifier};
pub use report::{CsvCert, GuestPolicy, Report, Version};

/// Why [`CsvVerifier`] refuses every piece of evidence.
pub const PARSE_ONLY: &str =
    "PEK certificate chain (CEK, HSK, Hygon root) not verified, the report is only checked against its own PEK; parse-only";

#[derive(Deserialize)]
struct WireEvidence {
    attestation_report: WireReport,
    cert_chain: WireChain,
    serial_number: Vec<u8>,
    #[serde(default)]
    cc_eventlog: Option<String>,
}

#[derive(Deserialize)]
struct WireReport {
    magic: Vec<u8>,
    flags: u32,
    data: Vec<u8>,
}

#[derive(Deserialize)]
struct WireChain {
    #[serde(default)]
    hsk_cek: Option<Value>,
    pek: WireCert,
}

#[derive(Deserialize)]
struct WireCert {
    body: WireBody,
    sigs: Vec<WireSig>,
}

#[derive(Deserialize)]
struct WireBody {
    ver: u32,
    data: WireData,
}

#[derive(Deserialize)]
struct WireData {
    firmware: WireVersion,
    pubkey: WirePubKey,
    uid_size: u16,
    user_id: Vec<u8>,
    sid: Vec<u8>,
}

#[derive(Deserialize)]
struct WireVersion {
    major: u8,
    minor: u8,
}

#[derive(Deserialize)]
struct WirePubKey {
    usage: u32,
    algo: u32,
    key: WireEcc,
}

#[derive(Deserialize)]
struct WireEcc {
    g: u32,
    x: Vec<u8>,
    y: Vec<u8>,
}

#[derive(Deserialize)]
struct WireSig {
    usage: u32,
    algo: u32,
    signature: WireRS,
}

#[derive(Deserialize)]
struct WireRS {
    r: Vec<u8>,
    s: Vec<u8>,
}

/// Parsed (unverified) CSV evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvEvidence {
    pub report: Report,
    /// The PEK certificate from `cert_chain.pek` (equal to the report's embedded one).
    pub pek: CsvCert,
    /// Whether `cert_chain.hsk_cek` was present (its content is not parsed).
    pub hsk_cek_present: bool,
    /// Chip id (`serial_number`, NULs trimmed).
    pub serial_number: String,
    /// Decoded `cc_eventlog`, if any.
    pub cc_eventlog: Option<Vec<u8>>,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Csv, reason)
}

fn cert_from_wire(c: &WireCert) -> Result<CsvCert, Error> {
    let d = &c.body.data;
    if d.user_id.len() != 254 {
        return Err(bad(format!("cert_chain.pek user_id is {} bytes, want 254", d.user_id.len())));
    }
    let uid = d.uid_size as usize;
    if uid > 254 {
        return Err(bad(format!("cert_chain.pek uid_size {uid} exceeds 254")));
    }
    if c.sigs.len() != 2 {
        return Err(bad(format!("cert_chain.pek has {} signature slots, want 2", c.sigs.len())));
    }
    let sig = |i: usize| -> Result<report::CertSignature, Error> {
        let s = &c.sigs[i];
        Ok(report::CertSignature {
            usage: s.usage,
            algo: s.algo,
            sig: report::Sm2Signature {
                r: report::le72_to_be32(&s.signature.r, &format!("cert_chain.pek sigs[{i}].r"))?,
                s: report::le72_to_be32(&s.signature.s, &format!("cert_chain.pek sigs[{i}].s"))?,
            },
        })
    };
    Ok(CsvCert {
        ver: c.body.ver,
        firmware: (d.firmware.major, d.firmware.minor),
        key_usage: d.pubkey.usage,
        key_algo: d.pubkey.algo,
        curve: d.pubkey.key.g,
        x: report::le72_to_be32(&d.pubkey.key.x, "cert_chain.pek x")?,
        y: report::le72_to_be32(&d.pubkey.key.y, "cert_chain.pek y")?,
        user_id: d.user_id[..uid].to_vec(),
        sid: d
            .sid
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("cert_chain.pek sid is {} bytes, want 16", d.sid.len())))?,
        sigs: [sig(0)?, sig(1)?],
    })
}

/// Parses trustee-shaped CSV evidence. No signature is checked (see the module docs).
pub fn parse_evidence(evidence: &[u8]) -> Result<CsvEvidence, Error> {
    let w: WireEvidence = serde_json::from_slice(evidence).map_err(|e| bad(format!("not CSV evidence JSON: {e}")))?;
    let version = report::version_of(&w.attestation_report.magic, w.attestation_report.flags)?;
    let report = report::parse(version, &w.attestation_report.data)?;
    let pek = cert_from_wire(&w.cert_chain.pek)?;
    if pek != report.signer_pek {
        return Err(Error::BindingMismatch {
            tee: Tee::Csv,
            reason: "cert_chain.pek differs from the PEK certificate embedded in the attestation report".into(),
        });
    }
    if w.serial_number.len() > 64 {
        return Err(bad(format!("serial_number is {} bytes, want at most 64", w.serial_number.len())));
    }
    let serial_number = report::serial_string(&w.serial_number, "serial_number")?;
    if serial_number != report.signer_sn {
        return Err(Error::BindingMismatch {
            tee: Tee::Csv,
            reason: format!(
                "serial_number {serial_number:?} differs from the report's signer serial number {:?}",
                report.signer_sn
            ),
        });
    }
    let cc_eventlog = match w.cc_eventlog.as_deref() {
        Some(s) if !s.is_empty() => {
            Some(STANDARD.decode(s.as_bytes()).map_err(|e| bad(format!("cc_eventlog is not base64: {e}")))?)
        }
        _ => None,
    };
    Ok(CsvEvidence { report, pek, hsk_cek_present: w.cert_chain.hsk_cek.is_some(), serial_number, cc_eventlog })
}

fn cert_json(c: &CsvCert) -> Value {
    json!({
        "ver": c.ver,
        "firmware": format!("{}.{}", c.firmware.0, c.firmware.1),
        "usage": format!("{:#06x}", c.key_usage),
        "algo": c.key_algo,
        "curve": c.curve,
        "x": hex::encode(c.x),
        "y": hex::encode(c.y),
        "user_id": String::from_utf8_lossy(&c.user_id),
        "sid": hex::encode(c.sid),
        "sig_usages": c.sigs.iter().map(|s| format!("{:#06x}", s.usage)).collect::<Vec<_>>(),
    })
}

/// The fields a verifier reports, named as trustee's CSV verifier names its claims (`version`,
/// `policy.*`, `measure`, `report_data`, `vm_id`, ..., hex for byte strings, `sig_usage` /
/// `sig_algo` / `anonce` as hex of little-endian bytes), plus `pek` and `cc_eventlog_len`.
pub fn fields(ev: &CsvEvidence) -> BTreeMap<String, Value> {
    let r = &ev.report;
    let p = r.policy;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("version", json!(if r.version == Version::V1 { "1" } else { "2" }));
    put(
        "policy",
        json!({
            "nodbg": p.nodbg(), "noks": p.noks(), "es": p.es(), "nosend": p.nosend(),
            "domain": p.domain(), "csv": p.csv(), "csv3": p.csv3(), "asid_reuse": p.asid_reuse(),
            "hsk_version": p.hsk_version(), "cek_version": p.cek_version(),
            "api_major": p.api_major(), "api_minor": p.api_minor(),
        }),
    );
    put("policy_raw", json!(format!("{:#010x}", p.0)));
    put("user_pubkey_digest", json!(hex::encode(r.user_pubkey_digest)));
    put("vm_id", json!(hex::encode(r.vm_id)));
    put("vm_version", json!(hex::encode(r.vm_version)));
    put("report_data", json!(hex::encode(r.report_data)));
    put("mnonce", json!(hex::encode(r.mnonce)));
    put("measure", json!(hex::encode(r.measure)));
    put("sig_usage", json!(hex::encode(r.sig_usage.to_le_bytes())));
    put("sig_algo", json!(hex::encode(r.sig_algo.to_le_bytes())));
    put("serial_number", json!(ev.serial_number));
    put("signature_r", json!(hex::encode(r.signature.r)));
    put("signature_s", json!(hex::encode(r.signature.s)));
    put("pek", cert_json(&ev.pek));
    put("hsk_cek_in_evidence", json!(ev.hsk_cek_present));
    put("cc_eventlog_len", json!(ev.cc_eventlog.as_ref().map(|e| e.len())));
    match r.version {
        Version::V1 => put("anonce", json!(hex::encode(r.anonce.to_le_bytes()))),
        Version::V2 => {
            put("build", json!(r.build));
            put("rtmr_version", json!(r.rtmr_version));
            if let Some(rt) = &r.rtmr {
                for (i, v) in rt.iter().enumerate() {
                    put(&format!("rtmr{i}"), json!(hex::encode(v)));
                }
            }
        }
    }
    m
}

fn bad_sig(reason: impl Into<String>) -> Error {
    Error::BadSignature { tee: Tee::Csv, what: "attestation report (SM2 by the PEK)".into(), reason: reason.into() }
}

/// Checks the report's SM2 signature (SM3, distinguishing id = `pek.user_id`) over its tee-info
/// bytes as stored. This does NOT establish that `pek` belongs to Hygon hardware (no chain).
pub fn verify_report_signature(report: &Report, pek: &CsvCert) -> Result<(), Error> {
    use sm2::dsa::signature::Verifier as _;
    if report.sig_usage != report::USAGE_PEK || report.sig_algo != report::ALGO_SM2_SA {
        return Err(bad_sig(format!(
            "report sig_usage {:#x} / sig_algo {} (want PEK {:#x}, SM2 {})",
            report.sig_usage,
            report.sig_algo,
            report::USAGE_PEK,
            report::ALGO_SM2_SA
        )));
    }
    if pek.key_usage != report::USAGE_PEK || pek.curve != report::CURVE_SM2_256 {
        return Err(bad_sig(format!("key usage {:#x} / curve {} is not an SM2-256 PEK", pek.key_usage, pek.curve)));
    }
    let distid = std::str::from_utf8(&pek.user_id).map_err(|_| bad_sig("PEK user id is not UTF-8"))?;
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(4);
    sec1.extend_from_slice(&pek.x);
    sec1.extend_from_slice(&pek.y);
    let key = sm2::dsa::VerifyingKey::from_sec1_bytes(distid, &sec1)
        .map_err(|_| bad_sig("PEK public key is not a point on the SM2 curve"))?;
    let sig = sm2::dsa::Signature::from_scalars(report.signature.r, report.signature.s)
        .map_err(|_| bad_sig("r or s is zero or not below the SM2 group order"))?;
    key.verify(&report.signed_bytes, &sig).map_err(|_| bad_sig("does not verify"))
}

/// The CSV verifier: parses evidence, checks the expected report data and the report signature by
/// the PEK, then **refuses** it with [`Error::Unsupported`] ([`PARSE_ONLY`]) because the PEK is
/// not chained to Hygon's root. Malformed evidence, a report-data mismatch or a bad signature is
/// reported as such first.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvVerifier;

impl Verifier for CsvVerifier {
    fn tee(&self) -> Tee {
        Tee::Csv
    }

    fn verify(&self, evidence: &[u8], expected: &Expected<'_>) -> Result<Claims, Error> {
        let ev = parse_evidence(evidence)?;
        if let Some(exp) = expected.bound_report_data() {
            report_data::check(exp, &ev.report.report_data)?;
        }
        verify_report_signature(&ev.report, &ev.pek)?;
        Err(Error::Unsupported { tee: Tee::Csv, reason: PARSE_ONLY.into() })
    }
}
