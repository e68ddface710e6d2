//! The binary Hygon CSV attestation report (4096 bytes) and the PEK certificate it embeds.
//!
//! Layout (facts from Hygon's `csv-rs` 0.1.0 `api/guest/types.rs` and `certs/csv/cert`; all
//! integers little-endian, no padding):
//!
//! | offset | size | field (v1 "legacy" report) | v2 "extended" report |
//! |---|---|---|---|
//! | 0 | 32 | user_pubkey_digest | same |
//! | 32 | 16 | vm_id | same |
//! | 48 | 16 | vm_version | same |
//! | 64 | 64 | report_data | same |
//! | 128 | 16 | mnonce | same |
//! | 144 | 32 | measure (launch digest) | same |
//! | 176 | 4 | policy | same |
//! | 180 | 4 | sig_usage | same |
//! | 184 | 4 | sig_algo | same |
//! | 188 | 4 | anonce | build |
//! | 192 | 144 | SM2 signature r, s (72 bytes each, little-endian) | rtmr_version u16 @192, reserved0 14, rtmr0..4 32 each @208, reserved1 656 @368, signature @1024 |
//!
//! The tee-info block is 0x150 bytes (v1) or 0x490 bytes (v2); the signer block follows it:
//! PEK certificate (2084), chip serial number (64), reserved (32), HMAC-SM3 (32).
//!
//! In a v1 report every tee-info field before the signature except `anonce` itself is XORed with
//! the 4 little-endian bytes of `anonce` (repeating); this module undoes that. v2 fields are
//! plain. The firmware also obfuscates the signer block, but the attester (csv-rs `get_report`)
//! restores the PEK certificate and serial number in place after checking the HMAC and zeroes
//! the reserved bytes, so in evidence they are plain and the HMAC can no longer be recomputed.
//!
//! The SM2 signature covers the tee-info bytes *as stored* (still obfuscated in v1): bytes
//! 0..180 for v1, 0..1024 for v2.

use crate::{Error, Tee};

pub const REPORT_SIZE: usize = 4096;
/// `magic` of an extended-report request / wrapper.
pub const EXT_MAGIC: [u8; 16] = *b"ATTESTATION_EXT\0";
pub const TEE_INFO_V1_SIZE: usize = 0x150;
pub const TEE_INFO_V2_SIZE: usize = 0x490;
pub const PEK_CERT_SIZE: usize = 2084;
pub const SIGNER_SIZE: usize = PEK_CERT_SIZE + 64 + 32 + 32;
/// Certificate / signature usage of a Platform Endorsement Key.
pub const USAGE_PEK: u32 = 0x1002;
pub const USAGE_CEK: u32 = 0x1004;
pub const USAGE_OCA: u32 = 0x1001;
/// SM2 signature algorithm.
pub const ALGO_SM2_SA: u32 = 4;
/// SM2-256 curve id in a CSV public key.
pub const CURVE_SM2_256: u32 = 3;

/// Report format, chosen by the wrapper's magic and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Legacy report: fields XOR-obfuscated with `anonce`.
    V1,
    /// Extended report (firmware API 1.4+): plain fields, RTMRs.
    V2,
}

/// The guest policy bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPolicy(pub u32);

impl GuestPolicy {
    fn bit(self, n: u32) -> u32 {
        (self.0 >> n) & 1
    }
    pub fn nodbg(self) -> u32 {
        self.bit(0)
    }
    pub fn noks(self) -> u32 {
        self.bit(1)
    }
    pub fn es(self) -> u32 {
        self.bit(2)
    }
    pub fn nosend(self) -> u32 {
        self.bit(3)
    }
    pub fn domain(self) -> u32 {
        self.bit(4)
    }
    pub fn csv(self) -> u32 {
        self.bit(5)
    }
    pub fn csv3(self) -> u32 {
        self.bit(6)
    }
    pub fn asid_reuse(self) -> u32 {
        self.bit(7)
    }
    pub fn hsk_version(self) -> u32 {
        (self.0 >> 8) & 0xf
    }
    pub fn cek_version(self) -> u32 {
        (self.0 >> 12) & 0xf
    }
    pub fn api_major(self) -> u32 {
        (self.0 >> 16) & 0xff
    }
    pub fn api_minor(self) -> u32 {
        (self.0 >> 24) & 0xff
    }
}

/// An SM2 signature as the PSP writes it: r and s, 32 significant bytes each, converted here to
/// big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sm2Signature {
    pub r: [u8; 32],
    pub s: [u8; 32],
}

/// One signature slot of a CSV certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSignature {
    pub usage: u32,
    pub algo: u32,
    pub sig: Sm2Signature,
}

/// A CSV-format certificate (PEK, CEK, ...): body plus two signature slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvCert {
    pub ver: u32,
    pub firmware: (u8, u8),
    pub key_usage: u32,
    pub key_algo: u32,
    pub curve: u32,
    /// Public key coordinates, big-endian.
    pub x: [u8; 32],
    pub y: [u8; 32],
    /// `user_id[..uid_size]` (the SM2 distinguishing identifier, e.g. `HYGON-SSD-PEK`).
    pub user_id: Vec<u8>,
    pub sid: [u8; 16],
    pub sigs: [CertSignature; 2],
}

/// The parsed attestation report, de-obfuscated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub version: Version,
    pub user_pubkey_digest: [u8; 32],
    pub vm_id: [u8; 16],
    pub vm_version: [u8; 16],
    pub report_data: [u8; 64],
    pub mnonce: [u8; 16],
    pub measure: [u8; 32],
    pub policy: GuestPolicy,
    pub sig_usage: u32,
    pub sig_algo: u32,
    /// v1 only (0 for v2).
    pub anonce: u32,
    /// v2 only (0 for v1).
    pub build: u32,
    /// v2 only (0 for v1).
    pub rtmr_version: u16,
    /// v2 only: RTMR0..4 (SM3).
    pub rtmr: Option<[[u8; 32]; 5]>,
    pub signature: Sm2Signature,
    /// The bytes the PEK signs (tee-info as stored, before the signature).
    pub signed_bytes: Vec<u8>,
    /// The PEK certificate from the signer block.
    pub signer_pek: CsvCert,
    /// Chip serial number from the signer block (NULs trimmed).
    pub signer_sn: String,
    pub signer_mac: [u8; 32],
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Csv, reason)
}

fn arr<const N: usize>(b: &[u8], off: usize, what: &str) -> Result<[u8; N], Error> {
    b.get(off..off + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad(format!("{what}: {N} bytes at offset {off} past the end ({} bytes)", b.len())))
}

fn u32_at(b: &[u8], off: usize, what: &str) -> Result<u32, Error> {
    Ok(u32::from_le_bytes(arr::<4>(b, off, what)?))
}

/// Reads a 72-byte little-endian big number whose top 40 bytes must be zero; returns 32 bytes
/// big-endian.
pub fn le72_to_be32(v: &[u8], what: &str) -> Result<[u8; 32], Error> {
    if v.len() != 72 {
        return Err(bad(format!("{what}: {} bytes, want 72", v.len())));
    }
    if v[32..].iter().any(|b| *b != 0) {
        return Err(bad(format!("{what}: bytes 32..72 are not zero (not an SM2-256 value)")));
    }
    let mut o = [0u8; 32];
    for (i, b) in v[..32].iter().rev().enumerate() {
        o[i] = *b;
    }
    Ok(o)
}

fn sm2_sig(b: &[u8], off: usize, what: &str) -> Result<Sm2Signature, Error> {
    let r = arr::<72>(b, off, what)?;
    let s = arr::<72>(b, off + 72, what)?;
    Ok(Sm2Signature { r: le72_to_be32(&r, &format!("{what}.r"))?, s: le72_to_be32(&s, &format!("{what}.s"))? })
}

fn deobfuscate<const N: usize>(mut v: [u8; N], anonce: u32) -> [u8; N] {
    let k = anonce.to_le_bytes();
    for (i, b) in v.iter_mut().enumerate() {
        *b ^= k[i % 4];
    }
    v
}

/// Trims trailing NULs and requires UTF-8 (the chip serial number).
pub fn serial_string(b: &[u8], what: &str) -> Result<String, Error> {
    let end = b.iter().rposition(|c| *c != 0).map_or(0, |p| p + 1);
    let s = std::str::from_utf8(&b[..end]).map_err(|e| bad(format!("{what} is not UTF-8: {e}")))?;
    if s.contains('\0') || s.chars().any(|c| c.is_control()) {
        return Err(bad(format!("{what} has control characters")));
    }
    Ok(s.to_string())
}

/// Parses a binary CSV certificate (2084 bytes).
pub fn parse_cert(b: &[u8]) -> Result<CsvCert, Error> {
    if b.len() != PEK_CERT_SIZE {
        return Err(bad(format!("certificate is {} bytes, want {PEK_CERT_SIZE}", b.len())));
    }
    let uid_size = u16::from_le_bytes(arr::<2>(b, 164, "cert uid_size")?) as usize;
    if uid_size > 254 {
        return Err(bad(format!("certificate uid_size {uid_size} exceeds the 254-byte user_id field")));
    }
    let sig = |off: usize, i: usize| -> Result<CertSignature, Error> {
        Ok(CertSignature {
            usage: u32_at(b, off, "cert signature usage")?,
            algo: u32_at(b, off + 4, "cert signature algo")?,
            sig: sm2_sig(b, off + 8, &format!("cert signature {i}"))?,
        })
    };
    Ok(CsvCert {
        ver: u32_at(b, 0, "cert ver")?,
        firmware: (b[4], b[5]),
        key_usage: u32_at(b, 8, "cert key usage")?,
        key_algo: u32_at(b, 12, "cert key algo")?,
        curve: u32_at(b, 16, "cert curve")?,
        x: le72_to_be32(&b[20..92], "cert public key x")?,
        y: le72_to_be32(&b[92..164], "cert public key y")?,
        user_id: b[166..166 + uid_size].to_vec(),
        sid: arr::<16>(b, 420, "cert sid")?,
        sigs: [sig(1044, 0)?, sig(1044 + 520, 1)?],
    })
}

/// Parses the 4096-byte report `data` of the given version.
pub fn parse(version: Version, b: &[u8]) -> Result<Report, Error> {
    if b.len() != REPORT_SIZE {
        return Err(bad(format!("attestation report is {} bytes, want {REPORT_SIZE}", b.len())));
    }
    let (info_len, sig_off) = match version {
        Version::V1 => (TEE_INFO_V1_SIZE, 192),
        Version::V2 => (TEE_INFO_V2_SIZE, 1024),
    };
    let anonce = match version {
        Version::V1 => u32_at(b, 188, "anonce")?,
        Version::V2 => 0,
    };
    let x4 = |off: usize, what: &str| -> Result<u32, Error> { Ok(u32_at(b, off, what)? ^ anonce) };
    let rtmr = match version {
        Version::V1 => None,
        Version::V2 => {
            let mut r = [[0u8; 32]; 5];
            for (i, slot) in r.iter_mut().enumerate() {
                *slot = arr::<32>(b, 208 + 32 * i, "rtmr")?;
            }
            Some(r)
        }
    };
    let signer = &b[info_len..info_len + SIGNER_SIZE];
    Ok(Report {
        version,
        user_pubkey_digest: deobfuscate(arr(b, 0, "user_pubkey_digest")?, anonce),
        vm_id: deobfuscate(arr(b, 32, "vm_id")?, anonce),
        vm_version: deobfuscate(arr(b, 48, "vm_version")?, anonce),
        report_data: deobfuscate(arr(b, 64, "report_data")?, anonce),
        mnonce: deobfuscate(arr(b, 128, "mnonce")?, anonce),
        measure: deobfuscate(arr(b, 144, "measure")?, anonce),
        policy: GuestPolicy(x4(176, "policy")?),
        sig_usage: x4(180, "sig_usage")?,
        sig_algo: x4(184, "sig_algo")?,
        anonce,
        build: if version == Version::V2 { u32_at(b, 188, "build")? } else { 0 },
        rtmr_version: if version == Version::V2 { u16::from_le_bytes(arr(b, 192, "rtmr_version")?) } else { 0 },
        rtmr,
        signature: sm2_sig(b, sig_off, "report signature")?,
        signed_bytes: b[..if version == Version::V1 { 180 } else { sig_off }].to_vec(),
        signer_pek: parse_cert(&signer[..PEK_CERT_SIZE])?,
        signer_sn: serial_string(&signer[PEK_CERT_SIZE..PEK_CERT_SIZE + 64], "signer serial number")?,
        signer_mac: arr(signer, PEK_CERT_SIZE + 96, "signer mac")?,
    })
}

/// Picks the report version from the wrapper's magic and flags (csv-rs rules: all-zero magic or
/// the extension magic with flags 0 is v1; the extension magic with flags 1 is v2).
pub fn version_of(magic: &[u8], flags: u32) -> Result<Version, Error> {
    if magic.len() != 16 {
        return Err(bad(format!("attestation_report.magic is {} bytes, want 16", magic.len())));
    }
    if magic.iter().all(|b| *b == 0) {
        return Ok(Version::V1);
    }
    if magic != EXT_MAGIC {
        return Err(bad(format!(
            "attestation_report.magic {} is neither zero nor ATTESTATION_EXT",
            hex::encode(magic)
        )));
    }
    match flags {
        0 => Ok(Version::V1),
        1 => Ok(Version::V2),
        f => Err(Error::Unsupported { tee: Tee::Csv, reason: format!("extended report flags {f:#x} (known: 0, 1)") }),
    }
}
