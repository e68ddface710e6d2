//! MRENCLAVE computed in software: SHA-256 over the 64-byte ECREATE / EADD / EEXTEND records (and
//! the 256 data bytes after each EEXTEND) the CPU hashes while the enclave is built.
//!
//! Inputs: either an SGXS measurement stream (Fortanix format: exactly those records, in load
//! order), or a flat enclave image plus a [`Layout`] saying, per 4 KiB page, its offset, SECINFO
//! flags, where its bytes come from and which 256-byte chunks are measured.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

const ECREATE: u64 = 0x0045544145524345; // "ECREATE\0"
const EADD: u64 = 0x0000000044444145; // "EADD\0\0\0\0"
const EEXTEND: u64 = 0x00444E4554584545; // "EEXTEND\0"
pub const PAGE: usize = 4096;
pub const CHUNK: usize = 256;
/// SIGSTRUCT size and where its ENCLAVEHASH field lies.
pub const SIGSTRUCT_LEN: usize = 1808;
pub const SIGSTRUCT_ENCLAVEHASH: usize = 960;

/// The measurement being built.
pub struct Measurement(Sha256);

impl Measurement {
    pub fn ecreate(ssa_frame_size: u32, enclave_size: u64) -> Self {
        let mut rec = [0u8; 64];
        rec[..8].copy_from_slice(&ECREATE.to_le_bytes());
        rec[8..12].copy_from_slice(&ssa_frame_size.to_le_bytes());
        rec[12..20].copy_from_slice(&enclave_size.to_le_bytes());
        let mut h = Sha256::new();
        h.update(rec);
        Measurement(h)
    }

    pub fn eadd(&mut self, offset: u64, secinfo_flags: u64) {
        let mut rec = [0u8; 64];
        rec[..8].copy_from_slice(&EADD.to_le_bytes());
        rec[8..16].copy_from_slice(&offset.to_le_bytes());
        rec[16..24].copy_from_slice(&secinfo_flags.to_le_bytes());
        self.0.update(rec);
    }

    pub fn eextend(&mut self, offset: u64, data: &[u8; CHUNK]) {
        let mut rec = [0u8; 64];
        rec[..8].copy_from_slice(&EEXTEND.to_le_bytes());
        rec[8..16].copy_from_slice(&offset.to_le_bytes());
        self.0.update(rec);
        self.0.update(data);
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// One page of the enclave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageSpec {
    /// Offset of the page inside the enclave (multiple of 4096).
    pub offset: u64,
    /// SECINFO flags (R=1, W=2, X=4, PT_REG=0x200, PT_TCS=0x100, ...).
    pub flags: u64,
    /// Where the 4096 bytes come from in the image file; `None` is a zero page.
    pub image_offset: Option<u64>,
    /// Bit i set: 256-byte chunk i is EEXTENDed (0xffff: the whole page).
    pub measure_mask: u16,
}

/// How an enclave image is loaded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layout {
    pub ssa_frame_size: u32,
    pub enclave_size: u64,
    pub pages: Vec<PageSpec>,
}

/// MRENCLAVE of `image` loaded with `layout`.
pub fn from_image(image: &[u8], layout: &Layout) -> Result<[u8; 32], Error> {
    let mut m = Measurement::ecreate(layout.ssa_frame_size, layout.enclave_size);
    for p in &layout.pages {
        if p.offset % PAGE as u64 != 0 || p.offset >= layout.enclave_size {
            return Err(Error::Measurement(format!(
                "page offset {:#x} is not page aligned inside the enclave",
                p.offset
            )));
        }
        let mut page = [0u8; PAGE];
        if let Some(src) = p.image_offset {
            let start = usize::try_from(src).map_err(|_| Error::Measurement("image offset too large".into()))?;
            let bytes = image.get(start..start.saturating_add(PAGE)).ok_or_else(|| {
                Error::Measurement(format!("image has no 4096 bytes at {start:#x} (size {:#x})", image.len()))
            })?;
            page.copy_from_slice(bytes);
        }
        m.eadd(p.offset, p.flags);
        for i in 0..PAGE / CHUNK {
            if p.measure_mask & (1 << i) != 0 {
                let mut chunk = [0u8; CHUNK];
                chunk.copy_from_slice(&page[i * CHUNK..(i + 1) * CHUNK]);
                m.eextend(p.offset + (i * CHUNK) as u64, &chunk);
            }
        }
    }
    Ok(m.finish())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Parses an SGXS stream into a flat image and its layout (then measured with [`from_image`]).
pub fn layout_from_sgxs(sgxs: &[u8]) -> Result<(Vec<u8>, Layout), Error> {
    let bad = |s: String| Error::Measurement(format!("SGXS: {s}"));
    if sgxs.len() < 64 || u64_at(sgxs, 0) != ECREATE {
        return Err(bad("does not start with an ECREATE record".into()));
    }
    let ssa = u32::from_le_bytes([sgxs[8], sgxs[9], sgxs[10], sgxs[11]]);
    let size = u64_at(sgxs, 12);
    let mut image = Vec::new();
    let mut pages: Vec<PageSpec> = Vec::new();
    let mut i = 64;
    while i < sgxs.len() {
        let rec = sgxs.get(i..i + 64).ok_or_else(|| bad(format!("truncated record at {i:#x}")))?;
        match u64_at(rec, 0) {
            EADD => {
                let offset = u64_at(rec, 8);
                pages.push(PageSpec {
                    offset,
                    flags: u64_at(rec, 16),
                    image_offset: Some((pages.len() * PAGE) as u64),
                    measure_mask: 0,
                });
                image.resize(image.len() + PAGE, 0);
                i += 64;
            }
            EEXTEND => {
                let off = u64_at(rec, 8);
                let data =
                    sgxs.get(i + 64..i + 64 + CHUNK).ok_or_else(|| bad(format!("truncated EEXTEND data at {i:#x}")))?;
                let idx = pages
                    .iter()
                    .rposition(|p| p.offset <= off && off < p.offset + PAGE as u64)
                    .ok_or_else(|| bad(format!("EEXTEND at {off:#x} outside any added page")))?;
                let within = (off - pages[idx].offset) as usize;
                if !within.is_multiple_of(CHUNK) {
                    return Err(bad(format!("EEXTEND offset {off:#x} not 256-byte aligned")));
                }
                pages[idx].measure_mask |= 1 << (within / CHUNK);
                let dst = idx * PAGE + within;
                image[dst..dst + CHUNK].copy_from_slice(data);
                i += 64 + CHUNK;
            }
            other => return Err(bad(format!("unknown record tag {other:#018x} at {i:#x}"))),
        }
    }
    Ok((image, Layout { ssa_frame_size: ssa, enclave_size: size, pages }))
}

/// ENCLAVEHASH of a SIGSTRUCT.
pub fn sigstruct_enclave_hash(sig: &[u8]) -> Result<[u8; 32], Error> {
    if sig.len() != SIGSTRUCT_LEN {
        return Err(Error::Measurement(format!("SIGSTRUCT is {} bytes, expected {SIGSTRUCT_LEN}", sig.len())));
    }
    let mut h = [0u8; 32];
    h.copy_from_slice(&sig[SIGSTRUCT_ENCLAVEHASH..SIGSTRUCT_ENCLAVEHASH + 32]);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../../tests/data/ratls/sgx/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn recorded_enclave_matches_its_sigstruct() {
        // fortanix/rust-sgx sgx_detect test enclave (tests/data/ratls/SOURCES.md)
        let (image, layout) = layout_from_sgxs(&data("test_enclave.sgxs")).unwrap();
        assert_eq!((layout.ssa_frame_size, layout.enclave_size, layout.pages.len()), (1, 0x40000, 9));
        let mr = from_image(&image, &layout).unwrap();
        assert_eq!(hex::encode(mr), "784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc");
        assert_eq!(mr, sigstruct_enclave_hash(&data("test_enclave.sig")).unwrap());
    }

    #[test]
    fn any_change_changes_the_measurement() {
        let (mut image, mut layout) = layout_from_sgxs(&data("test_enclave.sgxs")).unwrap();
        let good = from_image(&image, &layout).unwrap();
        image[100] ^= 1;
        assert_ne!(from_image(&image, &layout).unwrap(), good);
        image[100] ^= 1;
        layout.pages[0].flags ^= 1;
        assert_ne!(from_image(&image, &layout).unwrap(), good);
        layout.pages[0].flags ^= 1;
        layout.ssa_frame_size = 2;
        assert_ne!(from_image(&image, &layout).unwrap(), good);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(layout_from_sgxs(b"short").is_err());
        let mut s = data("test_enclave.sgxs");
        s.truncate(s.len() - 10);
        assert!(layout_from_sgxs(&s).is_err());
        assert!(sigstruct_enclave_hash(&[0; 100]).is_err());
        let l = Layout {
            ssa_frame_size: 1,
            enclave_size: 0x2000,
            pages: vec![PageSpec { offset: 0, flags: 0, image_offset: Some(0), measure_mask: 1 }],
        };
        assert!(from_image(&[0; 10], &l).is_err());
    }
}
