//! PAL API v3: `pal_init` takes the extended attribute `pal_attr_v3_t` (a v1 attribute followed by
//! the fd and load address of an enclave prepared by the pool manager); adds
//! `pal_get_local_report`. Everything else is as in v2.

use std::os::raw::{c_int, c_void};

pub use crate::v2::{
    CreateProcessFn, DestroyFn, ExecFn, GetVersionFn, KillFn, PalCreateProcessArgs, PalExecArgs, PalStdioFds,
};

/// Version number this module describes.
pub const VERSION: u32 = 3;

/// `pal_attr_v1_t` — the v1 attribute embedded at the start of [`PalAttr`].
pub type PalAttrV1 = crate::v1::PalAttr;

/// `typedef struct { pal_attr_v1_t attr_v1; int fd; uint64_t addr; } pal_attr_v3_t;`
/// — attr_v1@0 fd@16 addr@24, size 32. `fd = -1, addr = 0` means "no prepared enclave".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PalAttr {
    pub attr_v1: PalAttrV1,
    pub fd: c_int,
    pub addr: u64,
}

/// `int pal_init(const pal_attr_v3_t *attr);`
pub type InitFn = unsafe extern "C" fn(attr: *const PalAttr) -> c_int;
/// `int pal_get_local_report(void *targetinfo, int targetinfo_len, void *report, int *report_len);`
pub type GetLocalReportFn = unsafe extern "C" fn(
    targetinfo: *mut c_void,
    targetinfo_len: c_int,
    report: *mut c_void,
    report_len: *mut c_int,
) -> c_int;

/// Size of an SGX `TARGETINFO`, the target-info buffer rune passes to `pal_get_local_report`.
pub const TARGETINFO_LEN: usize = 512;
/// Size of an SGX `REPORT`, the report buffer rune offers by default.
pub const REPORT_LEN: usize = 432;
