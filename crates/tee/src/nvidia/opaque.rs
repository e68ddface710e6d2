//! NVIDIA opaque-data items of the MEASUREMENTS response, decoded into claims.
//!
//! Type numbers and names as in NVIDIA nvtrust's local GPU verifier (`OPAQUE_FIELD_ID_*`) and
//! trustee's `OpaqueDataType`; value encodings checked against the Hopper/Blackwell vectors
//! (facts only). Unknown types are kept as `type_<n>` with hex data.

use serde_json::{json, Map, Value};

use super::spdm::OpaqueItem;
use crate::{Error, Tee};

pub const DRIVER_VERSION: u16 = 3;
pub const VBIOS_VERSION: u16 = 6;
pub const NVDEC0_STATUS: u16 = 11;
pub const MEASUREMENT_COUNT: u16 = 12;
pub const FWID: u16 = 20;
pub const SWITCH_PDI: u16 = 22;
pub const OPAQUE_DATA_VERSION: u16 = 34;
pub const CHIP_INFO: u16 = 35;
pub const FEATURE_FLAG: u16 = 36;

/// The claim name of an opaque type.
pub fn name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        1 => "cert_issuer_name",
        2 => "cert_authority_key_identifier",
        3 => "driver_version",
        4 => "gpu_info",
        5 => "id_sku",
        6 => "vbios_version",
        7 => "manufacturer_id",
        8 => "tamper_detection",
        9 => "smc",
        10 => "vpr",
        11 => "nvdec0_status",
        12 => "measurement_count",
        13 => "cpr_info",
        14 => "board_id",
        15 => "chip_sku",
        16 => "chip_sku_mod",
        17 => "project",
        18 => "project_sku",
        19 => "project_sku_mod",
        20 => "fwid",
        21 => "protected_pcie_status",
        22 => "switch_pdi",
        23 => "floorswept_ports",
        24 => "position_id",
        25 => "lock_switch_status",
        32 => "gpu_link_conn",
        33 => "sys_enable_status",
        34 => "opaque_data_version",
        35 => "chip_info",
        36 => "feature_flag",
        _ => return None,
    })
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Nvidia, reason)
}

/// NUL-terminated text (driver version, SKU, project, chip).
fn text(kind: u16, d: &[u8]) -> Result<Value, Error> {
    let end = d.iter().position(|b| *b == 0).unwrap_or(d.len());
    if d[end..].iter().any(|b| *b != 0) {
        return Err(bad(format!("opaque {}: text followed by non-NUL bytes", name(kind).unwrap_or("?"))));
    }
    let s =
        std::str::from_utf8(&d[..end]).map_err(|_| bad(format!("opaque {}: not UTF-8", name(kind).unwrap_or("?"))))?;
    Ok(json!(s))
}

/// VBIOS version: the first half of the bytes reversed, then the first byte of the second half,
/// hex, dot-separated (`00 9f 00 96 01 00 00 00` -> `96.00.9f.00.01`).
pub fn vbios_version(d: &[u8]) -> Result<String, Error> {
    if d.len() < 2 || !d.len().is_multiple_of(2) {
        return Err(bad(format!("opaque vbios_version is {} bytes, want an even number >= 2", d.len())));
    }
    let half = d.len() / 2;
    let mut parts: Vec<String> = d[..half].iter().rev().map(|b| format!("{b:02x}")).collect();
    parts.push(format!("{:02x}", d[half]));
    Ok(parts.join("."))
}

fn le_uint(kind: u16, d: &[u8]) -> Result<u64, Error> {
    if d.is_empty() || d.len() > 8 {
        return Err(bad(format!("opaque {}: {} bytes, want 1..=8", name(kind).unwrap_or("?"), d.len())));
    }
    let mut b = [0u8; 8];
    b[..d.len()].copy_from_slice(d);
    Ok(u64::from_le_bytes(b))
}

fn decode(kind: u16, d: &[u8]) -> Result<Value, Error> {
    Ok(match kind {
        3 | 15 | 16 | 17 | 18 | 35 => text(kind, d)?,
        VBIOS_VERSION => json!(vbios_version(d)?),
        NVDEC0_STATUS => match d {
            [0xaa] => json!("enabled"),
            [0x55] => json!("disabled"),
            _ => return Err(bad(format!("opaque nvdec0_status {} is neither 0xaa nor 0x55", hex::encode(d)))),
        },
        MEASUREMENT_COUNT => {
            if !d.len().is_multiple_of(4) {
                return Err(bad(format!("opaque measurement_count is {} bytes, not a multiple of 4", d.len())));
            }
            let m: Map<String, Value> = d
                .chunks_exact(4)
                .enumerate()
                .map(|(i, c)| ((i + 1).to_string(), json!(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))))
                .collect();
            Value::Object(m)
        }
        SWITCH_PDI => {
            if !d.len().is_multiple_of(8) {
                return Err(bad(format!("opaque switch_pdi is {} bytes, not a multiple of 8", d.len())));
            }
            Value::Array(d.chunks_exact(8).map(|c| json!(hex::encode(c))).collect())
        }
        OPAQUE_DATA_VERSION => json!(le_uint(kind, d)?),
        FEATURE_FLAG => json!(match le_uint(kind, d)? {
            0 => "SPT",
            1 => "MPT",
            2 => "PPCIE",
            _ => "unknown",
        }),
        _ => json!(hex::encode(d)),
    })
}

/// All opaque items as claims (name -> decoded value).
pub fn fields(items: &[OpaqueItem]) -> Result<Map<String, Value>, Error> {
    let mut m = Map::new();
    for i in items {
        let key = name(i.kind).map(str::to_string).unwrap_or_else(|| format!("type_{}", i.kind));
        m.insert(key, decode(i.kind, &i.data)?);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vbios_and_text() {
        assert_eq!(vbios_version(&[0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0]).ok().as_deref(), Some("96.00.9f.00.01"));
        assert!(vbios_version(&[1]).is_err());
        assert_eq!(text(3, b"550.90.07\0").ok(), Some(json!("550.90.07")));
        assert!(text(3, b"55\0x").is_err());
        assert!(decode(NVDEC0_STATUS, &[0]).is_err());
        assert_eq!(decode(FEATURE_FLAG, &[2, 0]).ok(), Some(json!("PPCIE")));
        assert!(decode(OPAQUE_DATA_VERSION, &[]).is_err());
    }
}
