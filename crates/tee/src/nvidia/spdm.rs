//! The NVIDIA GPU attestation report: an SPDM 1.1 (DMTF DSP0274) GET_MEASUREMENTS request
//! followed by the device's MEASUREMENTS response.
//!
//! ```text
//! request (37 bytes):  SPDMVersion(1)=0x11 Code(1)=0xE0 Param1(1) Param2(1) Nonce(32) SlotID(1)
//! response:            SPDMVersion(1)=0x11 Code(1)=0x60 Param1(1) Param2(1) NumberOfBlocks(1)
//!                      MeasurementRecordLength(3, LE) MeasurementRecord(L1) Nonce(32)
//!                      OpaqueLength(2, LE) OpaqueData(L2) Signature(96)
//! measurement block:   Index(1) MeasurementSpecification(1)=DMTF MeasurementSize(2, LE)
//!                      DMTFSpecMeasurementValueType(1) DMTFSpecMeasurementValueSize(2, LE) Value
//! NVIDIA opaque data:  repeated DataType(2, LE) DataSize(2, LE) Data(DataSize)
//! ```
//!
//! The signature is ECDSA P-384 / SHA-384, raw `r || s`, over the SPDM 1.1 measurement
//! transcript: the request bytes followed by the response bytes up to (not including) the
//! signature. Formats from DSP0274 1.1, NVIDIA nvtrust's local GPU verifier and trustee's
//! `deps/verifier/src/nvidia` (facts only); checked against the real Hopper/Blackwell vectors.
//!
//! Some captures carry zero padding after the signature (trustee's `hopper_coco_report1`:
//! one 0x00 byte); zero padding is accepted and counted, anything else is malformed.

use crate::{Error, Tee};

pub const SPDM_VERSION_11: u8 = 0x11;
/// GET_MEASUREMENTS request code.
pub const GET_MEASUREMENTS: u8 = 0xE0;
/// MEASUREMENTS response code.
pub const MEASUREMENTS: u8 = 0x60;
/// SPDM ERROR response code.
pub const SPDM_ERROR: u8 = 0x7F;
pub const REQUEST_LEN: usize = 37;
pub const NONCE_LEN: usize = 32;
/// Raw ECDSA P-384 signature `r || s`.
pub const SIGNATURE_LEN: usize = 96;
/// MeasurementSpecification bit 0: the DMTF measurement layout.
pub const DMTF_MEASUREMENT_SPEC: u8 = 1;
/// Bounds against absurd inputs (the real reports have 64 blocks and under 1 kB of opaque data).
const MAX_TRAILING: usize = 64;

/// The GET_MEASUREMENTS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub version: u8,
    /// Bit 0: signature requested.
    pub param1: u8,
    /// Measurement operation: 0xFF = all measurements, 0 = count only, else one index.
    pub param2: u8,
    /// The verifier's nonce (caller report data).
    pub nonce: [u8; NONCE_LEN],
    pub slot_id: u8,
}

/// One DMTF measurement block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasurementBlock {
    pub index: u8,
    pub spec: u8,
    /// DMTFSpecMeasurementValueType (bit 7: raw bit stream instead of a digest).
    pub value_type: u8,
    pub value: Vec<u8>,
}

/// One NVIDIA opaque-data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueItem {
    pub kind: u16,
    pub data: Vec<u8>,
}

/// The MEASUREMENTS response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: u8,
    pub param1: u8,
    pub param2: u8,
    pub blocks: Vec<MeasurementBlock>,
    /// The responder's own nonce.
    pub nonce: [u8; NONCE_LEN],
    pub opaque: Vec<OpaqueItem>,
    pub signature: [u8; SIGNATURE_LEN],
}

/// A parsed (not yet verified) attestation report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub request: Request,
    pub response: Response,
    /// The whole report as received.
    pub raw: Vec<u8>,
    /// Length of the signed transcript (request + response without the signature).
    pub signed_len: usize,
    /// Zero bytes after the signature.
    pub trailing_zeros: usize,
}

impl Report {
    /// The bytes the device signed: request || response up to the signature.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.raw[..self.signed_len]
    }

    /// The opaque item of a type, if present.
    pub fn opaque(&self, kind: u16) -> Option<&[u8]> {
        self.response.opaque.iter().find(|o| o.kind == kind).map(|o| o.data.as_slice())
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed(Tee::Nvidia, reason)
}

struct Cursor<'a> {
    b: &'a [u8],
    off: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        let end = self.off.checked_add(n).filter(|e| *e <= self.b.len()).ok_or_else(|| {
            bad(format!(
                "report truncated: {what} needs {n} bytes at offset {}, {} left",
                self.off,
                self.b.len() - self.off
            ))
        })?;
        let s = &self.b[self.off..end];
        self.off = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, Error> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u24(&mut self, what: &str) -> Result<usize, Error> {
        let s = self.take(3, what)?;
        Ok(usize::from(s[0]) | usize::from(s[1]) << 8 | usize::from(s[2]) << 16)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
}

/// Parses the measurement record: exactly `count` DMTF blocks filling `rec`, unique indices.
fn parse_blocks(count: u8, rec: &[u8]) -> Result<Vec<MeasurementBlock>, Error> {
    if count == 0 {
        return Err(bad("MEASUREMENTS response has no measurement blocks"));
    }
    let mut c = Cursor { b: rec, off: 0 };
    let mut blocks: Vec<MeasurementBlock> = Vec::with_capacity(count as usize);
    while c.off < rec.len() {
        let index = c.u8("measurement block index")?;
        let spec = c.u8("measurement specification")?;
        let size = c.u16("measurement size")? as usize;
        if spec != DMTF_MEASUREMENT_SPEC {
            return Err(Error::Unsupported {
                tee: Tee::Nvidia,
                reason: format!(
                    "measurement block {index} uses specification {spec:#04x}, only DMTF (0x01) is supported"
                ),
            });
        }
        let m = c.take(size, "measurement")?;
        if m.len() < 3 {
            return Err(bad(format!("measurement block {index} is {} bytes, shorter than its DMTF header", m.len())));
        }
        let vsize = u16::from_le_bytes([m[1], m[2]]) as usize;
        if vsize + 3 != m.len() {
            return Err(bad(format!(
                "measurement block {index}: DMTF value size {vsize} + 3 != measurement size {}",
                m.len()
            )));
        }
        if blocks.iter().any(|b| b.index == index) {
            return Err(bad(format!("measurement index {index} appears twice")));
        }
        blocks.push(MeasurementBlock { index, spec, value_type: m[0], value: m[3..].to_vec() });
    }
    if blocks.len() != count as usize {
        return Err(bad(format!("NumberOfBlocks is {count} but the record holds {} blocks", blocks.len())));
    }
    Ok(blocks)
}

/// Parses NVIDIA's opaque data: type/size/data items filling it exactly, each type once.
pub fn parse_opaque(b: &[u8]) -> Result<Vec<OpaqueItem>, Error> {
    let mut c = Cursor { b, off: 0 };
    let mut items: Vec<OpaqueItem> = Vec::new();
    while c.off < b.len() {
        let kind = c.u16("opaque data type")?;
        let size = c.u16("opaque data size")? as usize;
        let data = c.take(size, "opaque data item")?.to_vec();
        if items.iter().any(|i| i.kind == kind) {
            return Err(bad(format!("opaque data type {kind} appears twice")));
        }
        items.push(OpaqueItem { kind, data });
    }
    Ok(items)
}

/// Parses a raw report (request + response). Checks structure only; nothing is verified.
pub fn parse_report(raw: &[u8]) -> Result<Report, Error> {
    let mut c = Cursor { b: raw, off: 0 };
    let version = c.u8("request SPDMVersion")?;
    if version != SPDM_VERSION_11 {
        return Err(Error::Unsupported {
            tee: Tee::Nvidia,
            reason: format!("SPDM version {version:#04x} (only 1.1 = 0x11)"),
        });
    }
    let code = c.u8("request code")?;
    if code != GET_MEASUREMENTS {
        return Err(bad(format!("request code {code:#04x} is not GET_MEASUREMENTS (0xe0)")));
    }
    let param1 = c.u8("request Param1")?;
    let param2 = c.u8("request Param2")?;
    let nonce = c.array::<NONCE_LEN>("request nonce")?;
    let slot_id = c.u8("request SlotIDParam")?;
    if param1 & 1 == 0 {
        return Err(Error::Unsupported {
            tee: Tee::Nvidia,
            reason: "GET_MEASUREMENTS did not request a signature (Param1 bit 0 clear)".into(),
        });
    }
    let request = Request { version, param1, param2, nonce, slot_id };

    let rversion = c.u8("response SPDMVersion")?;
    if rversion != version {
        return Err(bad(format!("response SPDM version {rversion:#04x} differs from the request's {version:#04x}")));
    }
    let rcode = c.u8("response code")?;
    if rcode == SPDM_ERROR {
        return Err(bad("the device answered with an SPDM ERROR response"));
    }
    if rcode != MEASUREMENTS {
        return Err(bad(format!("response code {rcode:#04x} is not MEASUREMENTS (0x60)")));
    }
    let rparam1 = c.u8("response Param1")?;
    let rparam2 = c.u8("response Param2")?;
    let count = c.u8("NumberOfBlocks")?;
    let rec_len = c.u24("MeasurementRecordLength")?;
    let blocks = parse_blocks(count, c.take(rec_len, "measurement record")?)?;
    let rnonce = c.array::<NONCE_LEN>("response nonce")?;
    let opaque_len = c.u16("OpaqueLength")? as usize;
    let opaque = parse_opaque(c.take(opaque_len, "opaque data")?)?;
    let signed_len = c.off;
    let signature = c.array::<SIGNATURE_LEN>("signature")?;
    let rest = &raw[c.off..];
    if rest.len() > MAX_TRAILING || rest.iter().any(|b| *b != 0) {
        return Err(bad(format!("{} unexpected bytes after the signature", rest.len())));
    }
    Ok(Report {
        request,
        response: Response {
            version: rversion,
            param1: rparam1,
            param2: rparam2,
            blocks,
            nonce: rnonce,
            opaque,
            signature,
        },
        raw: raw.to_vec(),
        signed_len,
        trailing_zeros: rest.len(),
    })
}
