//! SGX attester inside the Occlum LibOS.
//!
//! Occlum serves DCAP quotes through ioctls on its `/dev/sgx` (numbers and argument layout from
//! occlum `src/libos/src/fs/dev_fs/dev_sgx/{consts,mod}.rs` and `tools/toolchains/dcap_lib`):
//! `SGXIOC_GET_DCAP_QUOTE_SIZE = _IOR('s', 7, u32)` writes the quote size;
//! `SGXIOC_GEN_DCAP_QUOTE = _IOWR('s', 8, IoctlGenDCAPQuoteArg)` takes
//! `{report_data: *const [u8; 64], quote_size: *mut u32 (buffer capacity), quote_buf: *mut u8}`
//! and fills the buffer. guest-components selects Occlum when the `OCCLUM` environment variable
//! is set (Occlum's `occlum run` sets it), Gramine when `/dev/attestation/attestation_type` is
//! `dcap`.
//!
//! The ioctls sit behind [`DcapQuoteDevice`] so the attester logic is tested with a fake device
//! returning a recorded quote; the only `unsafe` code of the crate is in [`sys`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::SgxEvidence;
use crate::{report_data, Attester, Error, Evidence, Tee};

/// Occlum's DCAP quote ioctls.
pub trait DcapQuoteDevice: Send {
    /// `SGXIOC_GET_DCAP_QUOTE_SIZE`.
    fn quote_size(&mut self) -> Result<u32, Error>;
    /// `SGXIOC_GEN_DCAP_QUOTE` with a buffer of `buf.len()` bytes.
    fn generate_quote(&mut self, report_data: &[u8; 64], buf: &mut [u8]) -> Result<(), Error>;
}

/// Quotes larger than this are refused (a DCAP quote with its certification data is a few KiB).
pub const MAX_QUOTE: u32 = 64 * 1024;

pub struct OcclumAttester {
    dev: std::sync::Mutex<Box<dyn DcapQuoteDevice>>,
}

impl OcclumAttester {
    pub fn new(dev: Box<dyn DcapQuoteDevice>) -> Self {
        OcclumAttester { dev: std::sync::Mutex::new(dev) }
    }

    /// Occlum's `/dev/sgx`.
    pub fn system() -> Result<Self, Error> {
        Ok(Self::new(Box::new(sys::OcclumSgxDevice::open("/dev/sgx")?)))
    }
}

impl Attester for OcclumAttester {
    fn tee(&self) -> Tee {
        Tee::Sgx
    }

    fn evidence(&self, rd: &[u8]) -> Result<Evidence, Error> {
        let field = report_data::pad(Tee::Sgx, rd, 64)?;
        let mut arr = [0u8; 64];
        arr.copy_from_slice(&field);
        let mut dev = self.dev.lock().map_err(|_| Error::Io("Occlum /dev/sgx lock poisoned".into()))?;
        let size = dev.quote_size()?;
        if size == 0 || size > MAX_QUOTE {
            return Err(Error::Io(format!("Occlum reports a DCAP quote size of {size} bytes")));
        }
        let mut quote = vec![0u8; size as usize];
        dev.generate_quote(&arr, &mut quote)?;
        if quote.iter().all(|b| *b == 0) {
            return Err(Error::Io("Occlum returned an all-zero quote".into()));
        }
        let ev = SgxEvidence { quote: STANDARD.encode(quote) };
        Ok(Evidence { tee: Tee::Sgx, bytes: serde_json::to_vec(&ev).map_err(|e| Error::Io(e.to_string()))? })
    }
}

/// The real ioctls.
#[allow(unsafe_code)]
pub mod sys {
    use std::os::fd::AsRawFd;

    use super::DcapQuoteDevice;
    use crate::{Error, Tee};

    /// `_IOR('s', 7, u32)`.
    pub const SGXIOC_GET_DCAP_QUOTE_SIZE: u32 = 0x8004_7307;
    /// `_IOWR('s', 8, IoctlGenDcapQuoteArg)` (24 bytes on 64-bit).
    pub const SGXIOC_GEN_DCAP_QUOTE: u32 = 0xc018_7308;

    /// Occlum's `IoctlGenDCAPQuoteArg`.
    #[repr(C)]
    struct IoctlGenDcapQuoteArg {
        report_data: *const [u8; 64],
        quote_size: *mut u32,
        quote_buf: *mut u8,
    }

    const _: () =
        assert!(std::mem::size_of::<IoctlGenDcapQuoteArg>() == ((SGXIOC_GEN_DCAP_QUOTE >> 16) & 0x3fff) as usize);

    pub struct OcclumSgxDevice {
        file: std::fs::File,
    }

    impl OcclumSgxDevice {
        pub fn open(path: &str) -> Result<Self, Error> {
            let file = std::fs::File::open(path)
                .map_err(|e| Error::NotAvailable { tee: Tee::Sgx, reason: format!("Occlum {path}: {e}") })?;
            Ok(OcclumSgxDevice { file })
        }
    }

    fn os_err(what: &str) -> Error {
        Error::Io(format!("Occlum /dev/sgx {what}: {}", std::io::Error::last_os_error()))
    }

    impl DcapQuoteDevice for OcclumSgxDevice {
        fn quote_size(&mut self) -> Result<u32, Error> {
            let mut size: u32 = 0;
            // SAFETY: the fd is open for the lifetime of `self.file`; the ioctl writes one u32
            // (its declared argument size) through the pointer, which points at `size`, a live
            // local of that type.
            let r =
                unsafe { libc::ioctl(self.file.as_raw_fd(), SGXIOC_GET_DCAP_QUOTE_SIZE as _, &mut size as *mut u32) };
            if r < 0 {
                return Err(os_err("SGXIOC_GET_DCAP_QUOTE_SIZE"));
            }
            Ok(size)
        }

        fn generate_quote(&mut self, report_data: &[u8; 64], buf: &mut [u8]) -> Result<(), Error> {
            let mut cap = u32::try_from(buf.len()).map_err(|_| Error::Io("quote buffer too large".into()))?;
            let mut arg = IoctlGenDcapQuoteArg { report_data, quote_size: &mut cap, quote_buf: buf.as_mut_ptr() };
            // SAFETY: `arg` matches Occlum's #[repr(C)] layout (size checked at compile time); its
            // pointers refer to `report_data` (64 readable bytes), `cap` (a live u32) and `buf`
            // (`cap` writable bytes), all borrowed for the duration of the call. Occlum checks
            // `cap` against the quote size and writes at most `cap` bytes into `buf`.
            let r = unsafe {
                libc::ioctl(self.file.as_raw_fd(), SGXIOC_GEN_DCAP_QUOTE as _, &mut arg as *mut IoctlGenDcapQuoteArg)
            };
            if r < 0 {
                return Err(os_err("SGXIOC_GEN_DCAP_QUOTE"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ioctl_numbers_match_linux_encoding() {
        // _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr; read = 2, rw = 3.
        let ioc = |dir: u32, nr: u32, size: u32| dir << 30 | size << 16 | (b's' as u32) << 8 | nr;
        assert_eq!(super::sys::SGXIOC_GET_DCAP_QUOTE_SIZE, ioc(2, 7, 4));
        assert_eq!(super::sys::SGXIOC_GEN_DCAP_QUOTE, ioc(3, 8, 24));
    }
}
