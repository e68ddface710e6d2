//! Azure HCL attestation report: a 32-byte header, the hardware report (SNP: 1184 bytes; the slot
//! is 1184 bytes), the IGVM request data (5 little-endian u32: data_size, version, report_type,
//! report_data_hash_type, variable_data_size) and the variable data (JSON with the vTPM AK).
//! Layout facts from kinvolk/azure-cvm-tooling (az-cvm-vtpm `hcl` module).

use crate::{Error, Tee};

pub const HEADER_LEN: usize = 32;
pub const HW_REPORT_SLOT: usize = 1184;
pub const IGVM_OFFSET: usize = HEADER_LEN + HW_REPORT_SLOT;
pub const VAR_DATA_OFFSET: usize = IGVM_OFFSET + 20;
pub const REPORT_TYPE_SNP: u32 = 2;
pub const REPORT_TYPE_TDX: u32 = 4;
pub const HASH_SHA256: u32 = 1;

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
