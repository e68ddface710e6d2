//! PAL API v1: `pal_init(attr)`, `pal_exec(path, argv, stdio, &exit)`, `pal_destroy()`.
//!
//! v1 has no `pal_get_version` (its absence means v1), no environment for the payload and no
//! `pal_kill`.

use std::os::raw::{c_char, c_int};

/// Version number this module describes.
pub const VERSION: u32 = 1;

/// `struct pal_attr_t { const char *args; const char *log_level; }` (size 16).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PalAttr {
    pub args: *const c_char,
    pub log_level: *const c_char,
}

/// `struct pal_stdio_fds { int stdin, stdout, stderr; }` (size 12).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PalStdioFds {
    pub stdin: c_int,
    pub stdout: c_int,
    pub stderr: c_int,
}

/// `int pal_init(const struct pal_attr_t *attr);`
pub type InitFn = unsafe extern "C" fn(attr: *const PalAttr) -> c_int;
/// `int pal_exec(char *path, char *argv[], struct pal_stdio_fds *stdio, int *exit_code);`
pub type ExecFn = unsafe extern "C" fn(
    path: *mut c_char,
    argv: *mut *mut c_char,
    stdio: *mut PalStdioFds,
    exit_code: *mut c_int,
) -> c_int;
/// `int pal_destroy(void);`
pub type DestroyFn = unsafe extern "C" fn() -> c_int;
