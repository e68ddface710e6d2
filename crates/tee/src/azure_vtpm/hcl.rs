//! Azure HCL attestation report: a 32-byte header, the hardware report (SNP: 1184 bytes; the slot
//! is 1184 bytes), the IGVM request data (5 little-endian u32: data_size, version, report_type,
//! report_data_hash_type, variable_data_size) and the variable data (JSON with the vTPM AK).
//! Layout facts from kinvolk/azure-cvm-tooling (az-cvm-vtpm `hcl` module).
//!
//! For TDX the hardware report is the 1024-byte TDREPORT_STRUCT (Intel TDX module ABI):
//! REPORTMACSTRUCT (report data at 128..192), TEE_TCB_INFO at 256 (valid mask 8 bytes, then
//! TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAM attributes: the first 120 bytes of a quote's TD report
//! body), TDINFO at 512 (TD attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3:
//! bytes 120..520 of the quote's TD report body).

use crate::{Error, Tee};

pub const HEADER_LEN: usize = 32;
pub const HW_REPORT_SLOT: usize = 1184;
pub const IGVM_OFFSET: usize = HEADER_LEN + HW_REPORT_SLOT;
pub const VAR_DATA_OFFSET: usize = IGVM_OFFSET + 20;
pub const REPORT_TYPE_SNP: u32 = 2;
pub const REPORT_TYPE_TDX: u32 = 4;
pub const HASH_SHA256: u32 = 1;

/// TDREPORT_STRUCT offsets (within the HCL hardware report) and their quote-body counterparts.
pub mod tdreport {
    /// REPORTDATA in REPORTMACSTRUCT.
    pub const REPORT_DATA: std::ops::Range<usize> = 128..192;
    /// TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, SEAM attributes (after TEE_TCB_INFO's 8-byte valid mask).
    pub const TEE_TCB_INFO: std::ops::Range<usize> = 264..384;
    /// The same fields in a quote's TD report body.
    pub const BODY_TEE_TCB_INFO: std::ops::Range<usize> = 0..120;
    /// TD attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3 in TDINFO.
    pub const TDINFO: std::ops::Range<usize> = 512..912;
    /// The same fields in a quote's TD report body.
    pub const BODY_TDINFO: std::ops::Range<usize> = 120..520;
    /// Report data in a quote's TD report body.
    pub const BODY_REPORT_DATA: std::ops::Range<usize> = 520..584;
}

#[derive(Debug, Clone)]
pub struct HclReport<'a> {
    pub report_type: u32,
    pub hash_type: u32,
    pub hw_report: &'a [u8],
    pub var_data: &'a [u8],
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn parse(tee: Tee, b: &[u8]) -> Result<HclReport<'_>, Error> {
    if b.len() < VAR_DATA_OFFSET {
        return Err(Error::malformed(tee, format!("HCL report is {} bytes, shorter than its fixed part", b.len())));
    }
    if b.get(0..4) != Some(b"HCLA") {
        return Err(Error::malformed(tee, "HCL report signature is not HCLA"));
    }
    let report_type = le32(b, IGVM_OFFSET + 8).unwrap_or(0);
    let hash_type = le32(b, IGVM_OFFSET + 12).unwrap_or(0);
    let var_len = le32(b, IGVM_OFFSET + 16).unwrap_or(0) as usize;
    let var_data = b
        .get(VAR_DATA_OFFSET..VAR_DATA_OFFSET.saturating_add(var_len))
        .ok_or_else(|| Error::malformed(tee, format!("HCL variable data ({var_len} bytes) runs past the report")))?;
    let hw_len = match report_type {
        REPORT_TYPE_SNP => 1184,
        REPORT_TYPE_TDX => 1024,
        t => return Err(Error::malformed(tee, format!("HCL hardware report type {t}"))),
    };
    Ok(HclReport { report_type, hash_type, hw_report: &b[HEADER_LEN..HEADER_LEN + hw_len], var_data })
}
