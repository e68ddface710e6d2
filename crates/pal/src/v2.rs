//! PAL API v2: adds `pal_get_version`, `pal_create_process`, `pal_kill`; `pal_exec` now takes a
//! `struct pal_exec_args *` and waits for a process made by `pal_create_process`.
//! `pal_init` and `pal_destroy` are unchanged from v1.

use std::os::raw::{c_char, c_int};

pub use crate::v1::{DestroyFn, InitFn, PalAttr, PalStdioFds};

/// Version number this module describes.
pub const VERSION: u32 = 2;

/// `struct pal_create_process_args` — path@0 argv@8 env@16 stdio@24 pid@32, size 40.
/// `argv` and `env` are NULL-terminated arrays.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PalCreateProcessArgs {
    pub path: *mut c_char,
    pub argv: *mut *mut c_char,
    pub env: *mut *mut c_char,
    pub stdio: *mut PalStdioFds,
    pub pid: *mut c_int,
}

/// `struct pal_exec_args { int pid; int *exit_value; }` — pid@0 exit_value@8, size 16.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PalExecArgs {
    pub pid: c_int,
    pub exit_value: *mut c_int,
}

/// `int pal_get_version(void);`
pub type GetVersionFn = unsafe extern "C" fn() -> c_int;
/// `int pal_create_process(struct pal_create_process_args *args);`
pub type CreateProcessFn = unsafe extern "C" fn(args: *mut PalCreateProcessArgs) -> c_int;
/// `int pal_exec(struct pal_exec_args *attr);`
pub type ExecFn = unsafe extern "C" fn(args: *mut PalExecArgs) -> c_int;
/// `int pal_kill(int pid, int sig);` — pid -1: every process, 0: the current one, >0: that one.
pub type KillFn = unsafe extern "C" fn(pid: c_int, sig: c_int) -> c_int;
