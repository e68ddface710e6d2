//! Writing a PAL in Rust: implement [`EnclaveRuntime`] and export it with
//! [`export_pal!`](crate::export_pal) for one API version.
//!
//! ```ignore
//! struct MyRuntime;
//! impl pal::export::EnclaveRuntime for MyRuntime { /* ... */ }
//! pal::export_pal!(MyRuntime, 3);
//! ```
//! The crate must be a `cdylib`. The macro defines the C symbols of that version (v1: `pal_init`,
//! `pal_exec`, `pal_destroy`; v2: + `pal_get_version`, `pal_create_process`, `pal_kill`;
//! v3: + `pal_get_local_report`, extended `pal_init` attribute) and keeps one instance of the
//! runtime between `pal_init` and `pal_destroy`. A v1 `pal_exec` is `create_process` (with an
//! empty environment) followed by `exec`.

use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, RwLock};

pub use crate::error::Errno;
use crate::{v1, v2, v3};

/// Standard streams of a payload, as raw descriptors owned by the caller of the PAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdioFds {
    pub stdin: i32,
    pub stdout: i32,
    pub stderr: i32,
}

impl StdioFds {
    /// Duplicates stdin into a descriptor the runtime owns (the caller may close its copy once
    /// the payload has finished, so keep a duplicate for anything that outlives the call).
    pub fn dup_stdin(&self) -> std::io::Result<OwnedFd> {
        crate::loader::dup_raw_fd(self.stdin)
    }
    pub fn dup_stdout(&self) -> std::io::Result<OwnedFd> {
        crate::loader::dup_raw_fd(self.stdout)
    }
    pub fn dup_stderr(&self) -> std::io::Result<OwnedFd> {
        crate::loader::dup_raw_fd(self.stderr)
    }
}

impl StdioFds {
    /// Whether the payload's stdin is a terminal (e.g. `rune exec --tty`: the exec agent gives
    /// the payload a pseudo-terminal's slave as stdin, stdout and stderr).
    pub fn stdin_is_terminal(&self) -> bool {
        // SAFETY: isatty only inspects the descriptor number; an invalid one yields 0 (EBADF).
        unsafe { libc::isatty(self.stdin) == 1 }
    }
}

/// Makes a payload started with `cmd` the leader of a new session whose controlling terminal
/// is its stdin (`setsid` + `TIOCSCTTY` in the child, after its stdio is in place), as a
/// terminal's first process gets it from runc: the terminal's line discipline then signals it
/// (^C → SIGINT, window changes → SIGWINCH). Use it only when stdin is a terminal
/// ([`StdioFds::stdin_is_terminal`]); a new session is also a new process group, so do not
/// combine it with `process_group`.
pub fn session_with_controlling_terminal(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and calls only setsid(2) and
    // ioctl(2), which are async-signal-safe; it allocates nothing and touches no locks.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A `pal_create_process` request, copied out of the C arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRequest {
    pub path: String,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub stdio: StdioFds,
}

/// The prepared enclave passed to a v3 `pal_init` (`None` when fd = -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    pub fd: i32,
    pub addr: u64,
}

/// An enclave runtime. Methods may be called concurrently from several threads.
pub trait EnclaveRuntime: Sized + Send + Sync + 'static {
    /// `pal_init`. `args` is the space-separated runtime argument string.
    fn init(args: &str, log_level: &str, prepared: Option<Prepared>) -> Result<Self, Errno>;
    /// `pal_create_process`: start (or prepare) a payload; returns its pid (> 0).
    fn create_process(&self, req: ProcessRequest) -> Result<i32, Errno>;
    /// `pal_exec`: wait for `pid`, return its exit value.
    fn exec(&self, pid: i32) -> Result<i32, Errno>;
    /// `pal_kill`: -1 every payload, 0 the current one, > 0 that one.
    fn kill(&self, pid: i32, sig: i32) -> Result<(), Errno>;
    /// `pal_destroy`.
    fn destroy(&self) -> Result<(), Errno> {
        Ok(())
    }
    /// `pal_get_local_report` (v3): the report/evidence for `targetinfo`.
    fn local_report(&self, _targetinfo: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOSYS)
    }
}

/// The single runtime instance of an exported PAL (between `pal_init` and `pal_destroy`).
pub struct State<T> {
    inner: RwLock<Option<Arc<T>>>,
}

impl<T> Default for State<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> State<T> {
    pub const fn new() -> Self {
        State { inner: RwLock::new(None) }
    }

    fn get(&self) -> Result<Arc<T>, Errno> {
        match self.inner.read() {
            Ok(g) => g.clone().ok_or(Errno::EINVAL),
            Err(_) => Err(Errno::EFAULT),
        }
    }
}

fn ret(r: Result<c_int, Errno>) -> c_int {
    match r {
        Ok(v) => v,
        Err(Errno(e)) => -e.abs().max(1),
    }
}

fn guarded(f: impl FnOnce() -> Result<c_int, Errno>) -> c_int {
    ret(catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Errno::EFAULT)))
}

/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
unsafe fn opt_str(p: *const c_char) -> Result<String, Errno> {
    if p.is_null() {
        return Ok(String::new());
    }
    // SAFETY: caller guarantees `p` is a valid C string.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map(str::to_owned).map_err(|_| Errno::EINVAL)
}

/// # Safety
/// `p` is NULL or a NULL-terminated array of valid C strings.
unsafe fn str_array(p: *const *mut c_char) -> Result<Vec<String>, Errno> {
    let mut out = Vec::new();
    if p.is_null() {
        return Ok(out);
    }
    let mut i = 0;
    loop {
        // SAFETY: the array is NULL-terminated, so every index up to and including the
        // terminator is in bounds.
        let s = unsafe { *p.add(i) };
        if s.is_null() {
            return Ok(out);
        }
        // SAFETY: non-NULL entries are valid C strings (caller contract).
        out.push(unsafe { opt_str(s) }?);
        i += 1;
    }
}

fn do_init<T: EnclaveRuntime>(
    state: &State<T>,
    args: String,
    level: String,
    prepared: Option<Prepared>,
) -> Result<c_int, Errno> {
    let mut g = state.inner.write().map_err(|_| Errno::EFAULT)?;
    if g.is_some() {
        return Err(Errno::EBUSY);
    }
    *g = Some(Arc::new(T::init(&args, &level, prepared)?));
    Ok(0)
}

/// `pal_init` for v1/v2.
///
/// # Safety
/// `attr` is NULL or points to a valid `struct pal_attr_t` whose strings are NULL or valid.
pub unsafe fn init_v1<T: EnclaveRuntime>(state: &State<T>, attr: *const v1::PalAttr) -> c_int {
    guarded(|| {
        if attr.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: non-NULL `attr` is valid (caller contract).
        let a = unsafe { *attr };
        // SAFETY: its strings are NULL or valid C strings (caller contract).
        let (args, level) = unsafe { (opt_str(a.args)?, opt_str(a.log_level)?) };
        do_init(state, args, level, None)
    })
}

/// `pal_init` for v3.
///
/// # Safety
/// `attr` is NULL or points to a valid `pal_attr_v3_t` whose strings are NULL or valid.
pub unsafe fn init_v3<T: EnclaveRuntime>(state: &State<T>, attr: *const v3::PalAttr) -> c_int {
    guarded(|| {
        if attr.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: non-NULL `attr` is valid (caller contract).
        let a = unsafe { *attr };
        // SAFETY: its strings are NULL or valid C strings (caller contract).
        let (args, level) = unsafe { (opt_str(a.attr_v1.args)?, opt_str(a.attr_v1.log_level)?) };
        let prepared = (a.fd >= 0).then_some(Prepared { fd: a.fd, addr: a.addr });
        do_init(state, args, level, prepared)
    })
}

/// v1 `pal_exec(path, argv, stdio, &exit_code)`.
///
/// # Safety
/// `path` is NULL or a valid C string, `argv` NULL or a NULL-terminated array of C strings,
/// `stdio` NULL or valid, `exit_code` NULL or writable.
pub unsafe fn exec_v1<T: EnclaveRuntime>(
    state: &State<T>,
    path: *mut c_char,
    argv: *mut *mut c_char,
    stdio: *mut v1::PalStdioFds,
    exit_code: *mut c_int,
) -> c_int {
    guarded(|| {
        let rt = state.get()?;
        if stdio.is_null() || exit_code.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: pointers checked non-NULL above; validity is the caller's contract.
        let (path, argv, s) = unsafe { (opt_str(path)?, str_array(argv)?, *stdio) };
        let stdio = StdioFds { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr };
        let pid = rt.create_process(ProcessRequest { path, argv, env: Vec::new(), stdio })?;
        let code = rt.exec(pid)?;
        // SAFETY: `exit_code` is non-NULL and writable (caller contract).
        unsafe { *exit_code = code };
        Ok(0)
    })
}

/// v2/v3 `pal_create_process`.
///
/// # Safety
/// `args` is NULL or points to a valid `struct pal_create_process_args` (see [`exec_v1`] for
/// the strings; `stdio` valid, `pid` writable).
pub unsafe fn create_process<T: EnclaveRuntime>(state: &State<T>, args: *mut v2::PalCreateProcessArgs) -> c_int {
    guarded(|| {
        let rt = state.get()?;
        if args.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: non-NULL `args` is valid (caller contract).
        let a = unsafe { *args };
        if a.stdio.is_null() || a.pid.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: the members are valid per the caller contract; checked non-NULL where required.
        let (path, argv, env, s) = unsafe { (opt_str(a.path)?, str_array(a.argv)?, str_array(a.env)?, *a.stdio) };
        let stdio = StdioFds { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr };
        let pid = rt.create_process(ProcessRequest { path, argv, env, stdio })?;
        // SAFETY: `a.pid` is non-NULL and writable (caller contract).
        unsafe { *a.pid = pid };
        Ok(0)
    })
}

/// v2/v3 `pal_exec(struct pal_exec_args *)`.
///
/// # Safety
/// `args` is NULL or valid, with a writable `exit_value`.
pub unsafe fn exec_v2<T: EnclaveRuntime>(state: &State<T>, args: *mut v2::PalExecArgs) -> c_int {
    guarded(|| {
        let rt = state.get()?;
        if args.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: non-NULL `args` is valid (caller contract).
        let a = unsafe { *args };
        if a.exit_value.is_null() {
            return Err(Errno::EINVAL);
        }
        let code = rt.exec(a.pid)?;
        // SAFETY: `exit_value` is non-NULL and writable (caller contract).
        unsafe { *a.exit_value = code };
        Ok(0)
    })
}

/// `pal_kill`.
pub fn kill<T: EnclaveRuntime>(state: &State<T>, pid: c_int, sig: c_int) -> c_int {
    guarded(|| state.get()?.kill(pid, sig).map(|()| 0))
}

/// `pal_destroy`: calls [`EnclaveRuntime::destroy`] and drops the instance (a later `pal_init`
/// may start over).
pub fn destroy<T: EnclaveRuntime>(state: &State<T>) -> c_int {
    guarded(|| {
        let rt = state.inner.write().map_err(|_| Errno::EFAULT)?.take().ok_or(Errno::EINVAL)?;
        rt.destroy().map(|()| 0)
    })
}

/// `pal_get_local_report`. A report larger than `*report_len` fails with `-ENOSPC` and sets
/// `*report_len` to the size needed.
///
/// # Safety
/// `targetinfo` is NULL or readable for `targetinfo_len` bytes; `report` is NULL or writable for
/// `*report_len` bytes; `report_len` is NULL or valid.
pub unsafe fn get_local_report<T: EnclaveRuntime>(
    state: &State<T>,
    targetinfo: *mut c_void,
    targetinfo_len: c_int,
    report: *mut c_void,
    report_len: *mut c_int,
) -> c_int {
    guarded(|| {
        let rt = state.get()?;
        if report_len.is_null() || targetinfo_len < 0 || (targetinfo.is_null() && targetinfo_len > 0) {
            return Err(Errno::EINVAL);
        }
        let ti: &[u8] = if targetinfo_len == 0 {
            &[]
        } else {
            // SAFETY: non-NULL and readable for `targetinfo_len` bytes (caller contract).
            unsafe { std::slice::from_raw_parts(targetinfo.cast::<u8>(), targetinfo_len as usize) }
        };
        let out = rt.local_report(ti)?;
        // SAFETY: `report_len` is non-NULL and valid (caller contract).
        let cap = unsafe { *report_len };
        let need = c_int::try_from(out.len()).map_err(|_| Errno::EINVAL)?;
        if report.is_null() || cap < need {
            // SAFETY: as above.
            unsafe { *report_len = need };
            return Err(Errno::ENOSPC);
        }
        // SAFETY: `report` is writable for `cap >= out.len()` bytes and does not overlap `out`.
        unsafe {
            std::ptr::copy_nonoverlapping(out.as_ptr(), report.cast::<u8>(), out.len());
            *report_len = need;
        }
        Ok(0)
    })
}

/// Exports an [`EnclaveRuntime`] as a PAL of API version 1, 2 or 3 (in a `cdylib`).
#[macro_export]
macro_rules! export_pal {
    ($ty:ty, 1) => {
        $crate::__pal_export_common!($ty);
        /// PAL API v1 `pal_exec`.
        ///
        /// # Safety
        /// See [`pal::export::exec_v1`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_exec(
            path: *mut ::std::os::raw::c_char,
            argv: *mut *mut ::std::os::raw::c_char,
            stdio: *mut $crate::v1::PalStdioFds,
            exit_code: *mut ::std::os::raw::c_int,
        ) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::exec_v1(&__PAL_STATE, path, argv, stdio, exit_code) }
        }
        $crate::__pal_export_init!(v1);
    };
    ($ty:ty, 2) => {
        $crate::__pal_export_common!($ty);
        $crate::__pal_export_v2!(2);
        $crate::__pal_export_init!(v1);
    };
    ($ty:ty, 3) => {
        $crate::__pal_export_common!($ty);
        $crate::__pal_export_v2!(3);
        $crate::__pal_export_init!(v3);
        /// PAL API v3 `pal_get_local_report`.
        ///
        /// # Safety
        /// See [`pal::export::get_local_report`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_get_local_report(
            targetinfo: *mut ::std::os::raw::c_void,
            targetinfo_len: ::std::os::raw::c_int,
            report: *mut ::std::os::raw::c_void,
            report_len: *mut ::std::os::raw::c_int,
        ) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::get_local_report(&__PAL_STATE, targetinfo, targetinfo_len, report, report_len) }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __pal_export_common {
    ($ty:ty) => {
        static __PAL_STATE: $crate::export::State<$ty> = $crate::export::State::new();
        /// PAL `pal_destroy`.
        #[no_mangle]
        pub extern "C" fn pal_destroy() -> ::std::os::raw::c_int {
            $crate::export::destroy(&__PAL_STATE)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __pal_export_init {
    (v1) => {
        /// PAL `pal_init` (v1 attribute).
        ///
        /// # Safety
        /// See [`pal::export::init_v1`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_init(attr: *const $crate::v1::PalAttr) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::init_v1(&__PAL_STATE, attr) }
        }
    };
    (v3) => {
        /// PAL `pal_init` (v3 attribute).
        ///
        /// # Safety
        /// See [`pal::export::init_v3`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_init(attr: *const $crate::v3::PalAttr) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::init_v3(&__PAL_STATE, attr) }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __pal_export_v2 {
    ($version:literal) => {
        /// PAL `pal_get_version`.
        #[no_mangle]
        pub extern "C" fn pal_get_version() -> ::std::os::raw::c_int {
            $version
        }
        /// PAL `pal_create_process`.
        ///
        /// # Safety
        /// See [`pal::export::create_process`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_create_process(
            args: *mut $crate::v2::PalCreateProcessArgs,
        ) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::create_process(&__PAL_STATE, args) }
        }
        /// PAL `pal_exec` (v2 form).
        ///
        /// # Safety
        /// See [`pal::export::exec_v2`].
        #[no_mangle]
        pub unsafe extern "C" fn pal_exec(args: *mut $crate::v2::PalExecArgs) -> ::std::os::raw::c_int {
            // SAFETY: forwarded caller contract of the C entry point.
            unsafe { $crate::export::exec_v2(&__PAL_STATE, args) }
        }
        /// PAL `pal_kill`.
        #[no_mangle]
        pub extern "C" fn pal_kill(pid: ::std::os::raw::c_int, sig: ::std::os::raw::c_int) -> ::std::os::raw::c_int {
            $crate::export::kill(&__PAL_STATE, pid, sig)
        }
    };
}
