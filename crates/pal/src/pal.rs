//! [`Pal`]: a loaded PAL with its negotiated version, and version-correct calls into it.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{self, NonNull};

use crate::error::{Errno, Error};
use crate::loader::{DlLibrary, Library};
use crate::{v1, v2, v3};

/// Highest PAL API version this loader drives.
pub const MAX_VERSION: u32 = 3;

/// Names of the seven PAL entry points, in the order of [`Symbols`].
pub const SYMBOL_NAMES: [&str; 7] = [
    "pal_get_version",
    "pal_init",
    "pal_create_process",
    "pal_exec",
    "pal_kill",
    "pal_destroy",
    "pal_get_local_report",
];

/// Which entry points a PAL defines (a missing one is `None`).
#[derive(Debug, Clone, Copy)]
pub struct Symbols {
    pub get_version: Option<NonNull<c_void>>,
    pub init: Option<NonNull<c_void>>,
    pub create_process: Option<NonNull<c_void>>,
    pub exec: Option<NonNull<c_void>>,
    pub kill: Option<NonNull<c_void>>,
    pub destroy: Option<NonNull<c_void>>,
    pub get_local_report: Option<NonNull<c_void>>,
}

impl Symbols {
    /// Resolves all seven names.
    pub fn resolve(lib: &dyn Library) -> Symbols {
        let get = |n: &CStr| lib.symbol(n);
        Symbols {
            get_version: get(c"pal_get_version"),
            init: get(c"pal_init"),
            create_process: get(c"pal_create_process"),
            exec: get(c"pal_exec"),
            kill: get(c"pal_kill"),
            destroy: get(c"pal_destroy"),
            get_local_report: get(c"pal_get_local_report"),
        }
    }

    /// Names of the symbols that are defined.
    pub fn present(&self) -> Vec<&'static str> {
        let all = [
            self.get_version,
            self.init,
            self.create_process,
            self.exec,
            self.kill,
            self.destroy,
            self.get_local_report,
        ];
        SYMBOL_NAMES.iter().zip(all).filter(|(_, s)| s.is_some()).map(|(n, _)| *n).collect()
    }
}

/// The standard streams handed to a payload. The descriptors stay owned by the caller and must
/// stay open until the payload has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stdio {
    pub stdin: i32,
    pub stdout: i32,
    pub stderr: i32,
}

impl Stdio {
    /// The caller's own 0, 1, 2.
    pub const INHERIT: Stdio = Stdio { stdin: 0, stdout: 1, stderr: 2 };
}

/// A payload to run inside the enclave runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Executable path as the PAL sees it (inside the container); the original rune used `argv[0]`.
    pub path: String,
    /// Full argument vector, `argv[0]` included.
    pub argv: Vec<String>,
    /// `KEY=value` entries (ignored by v1 PALs, whose `pal_exec` has no environment).
    pub env: Vec<String>,
    pub stdio: Stdio,
}

impl Process {
    /// A process whose path is `argv[0]` (the original rune's convention).
    pub fn new(argv: Vec<String>, env: Vec<String>, stdio: Stdio) -> Process {
        Process { path: argv.first().cloned().unwrap_or_default(), argv, env, stdio }
    }
}

/// An enclave prepared by the pool manager, handed to a v3 `pal_init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedEnclave {
    pub fd: i32,
    pub addr: u64,
}

/// Arguments of `pal_init`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitOptions {
    /// Runtime arguments (ENCLAVE_RUNTIME_ARGS after commas became spaces).
    pub args: String,
    /// One of trace debug info warning error fatal panic off.
    pub log_level: String,
    /// v3 only; `None` passes fd = -1, addr = 0.
    pub prepared: Option<PreparedEnclave>,
}

/// A NULL-terminated `char *[]` whose strings live as long as the array.
struct CStrArray {
    _owned: Vec<CString>,
    ptrs: Vec<*mut c_char>,
}

impl CStrArray {
    fn new(items: &[String], what: &'static str) -> Result<CStrArray, Error> {
        let owned = items
            .iter()
            .map(|s| CString::new(s.as_bytes()).map_err(|_| Error::Nul { what }))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ptrs: Vec<*mut c_char> = owned.iter().map(|c| c.as_ptr().cast_mut()).collect();
        ptrs.push(ptr::null_mut());
        Ok(CStrArray { _owned: owned, ptrs })
    }

    fn as_mut_ptr(&mut self) -> *mut *mut c_char {
        self.ptrs.as_mut_ptr()
    }
}

fn cstring(s: &str, what: &'static str) -> Result<CString, Error> {
    CString::new(s.as_bytes()).map_err(|_| Error::Nul { what })
}

fn check(op: &'static str, ret: c_int) -> Result<c_int, Error> {
    if ret < 0 {
        Err(Error::Call { op, errno: Errno(ret.saturating_neg()) })
    } else {
        Ok(ret)
    }
}

/// A loaded PAL. Calls are dispatched according to the negotiated [`Pal::version`].
///
/// `Pal` is `Send + Sync`: rune calls a PAL from several threads at once (the payload's
/// `pal_exec` blocks while the exec agent and the signal forwarder call `pal_create_process`,
/// `pal_exec` and `pal_kill`), exactly as the original rune did; PALs must tolerate that.
pub struct Pal {
    syms: Symbols,
    version: u32,
    // Dropped last: the function pointers in `syms` point into it.
    lib: Box<dyn Library>,
}

// SAFETY: the raw pointers in `Symbols` are code addresses inside `lib`, which is Send + Sync and
// outlives them; calling PAL entry points from several threads is part of the PAL contract above.
unsafe impl Send for Pal {}
// SAFETY: see `Send`; `&Pal` only calls PAL entry points.
unsafe impl Sync for Pal {}

impl std::fmt::Debug for Pal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pal")
            .field("library", &self.lib.describe())
            .field("version", &self.version)
            .field("symbols", &self.syms.present())
            .finish()
    }
}

impl Pal {
    /// `dlopen`s a PAL by path (in the caller's current root) and negotiates its version.
    pub fn open(path: &std::path::Path) -> Result<Pal, Error> {
        Pal::from_library(Box::new(DlLibrary::open(path)?))
    }

    /// Resolves the seven symbols of `lib`, asks for the version (no `pal_get_version` ⇒ 1) and
    /// checks the entry points that version requires: `pal_init`, `pal_exec`, `pal_destroy`, and
    /// from v2 on `pal_create_process`. (`pal_kill` and `pal_get_local_report` are checked when
    /// called, as the original rune did.)
    pub fn from_library(lib: Box<dyn Library>) -> Result<Pal, Error> {
        let syms = Symbols::resolve(lib.as_ref());
        let version = match syms.get_version {
            None => 1,
            Some(sym) => {
                // SAFETY: `pal_get_version` has the C signature `int (void)` in every PAL version
                // that defines it (v2 spec); `lib` is alive for the call.
                let f: v2::GetVersionFn = unsafe { std::mem::transmute::<*mut c_void, v2::GetVersionFn>(sym.as_ptr()) };
                // SAFETY: no arguments; the PAL's own code runs.
                let v = unsafe { f() };
                if v < 1 || v as u32 > MAX_VERSION {
                    return Err(Error::UnsupportedVersion(v));
                }
                v as u32
            }
        };
        let mut required = vec![("pal_init", syms.init), ("pal_exec", syms.exec), ("pal_destroy", syms.destroy)];
        if version >= 2 {
            required.push(("pal_create_process", syms.create_process));
        }
        if let Some((symbol, _)) = required.iter().find(|(_, s)| s.is_none()) {
            return Err(Error::MissingSymbol { symbol, version });
        }
        tracing::debug!(pal = %lib.describe(), version, "PAL API version negotiated");
        Ok(Pal { syms, version, lib })
    }

    /// The negotiated API version (1..=3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Which entry points are defined.
    pub fn symbols(&self) -> &Symbols {
        &self.syms
    }

    fn need(&self, op: &'static str, sym: Option<NonNull<c_void>>) -> Result<*mut c_void, Error> {
        sym.map(NonNull::as_ptr).ok_or(Error::MissingSymbol { symbol: op, version: self.version })
    }

    /// `pal_init`: the v1 attribute for v1/v2 PALs, the v3 attribute (fd = -1, addr = 0 unless a
    /// prepared enclave is given) for v3 PALs.
    pub fn init(&self, opts: &InitOptions) -> Result<(), Error> {
        let sym = self.need("pal_init", self.syms.init)?;
        let args = cstring(&opts.args, "runtime args")?;
        let level = cstring(&opts.log_level, "log level")?;
        let attr_v1 = v1::PalAttr { args: args.as_ptr(), log_level: level.as_ptr() };
        let ret = if self.version < 3 {
            // SAFETY: v1/v2 `pal_init` takes `const struct pal_attr_t *`; `attr_v1` and the strings
            // it points to outlive the call.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, v1::InitFn>(sym);
                f(&attr_v1)
            }
        } else {
            let p = opts.prepared.unwrap_or(PreparedEnclave { fd: -1, addr: 0 });
            let attr = v3::PalAttr { attr_v1, fd: p.fd, addr: p.addr };
            // SAFETY: v3 `pal_init` takes `const pal_attr_v3_t *`; `attr` and its strings outlive
            // the call.
            unsafe {
                let f = std::mem::transmute::<*mut c_void, v3::InitFn>(sym);
                f(&attr)
            }
        };
        check("pal_init", ret).map(drop)
    }

    /// `pal_create_process` (v2+): starts `p` and returns the PAL's pid for it.
    pub fn create_process(&self, p: &Process) -> Result<i32, Error> {
        if self.version < 2 {
            return Err(Error::NotInVersion { op: "pal_create_process", version: self.version });
        }
        let sym = self.need("pal_create_process", self.syms.create_process)?;
        let path = cstring(&p.path, "payload path")?;
        let mut argv = CStrArray::new(&p.argv, "payload argument")?;
        let mut env = CStrArray::new(&p.env, "payload environment")?;
        let mut stdio = v2::PalStdioFds { stdin: p.stdio.stdin, stdout: p.stdio.stdout, stderr: p.stdio.stderr };
        let mut pid: c_int = -1;
        let mut args = v2::PalCreateProcessArgs {
            path: path.as_ptr().cast_mut(),
            argv: argv.as_mut_ptr(),
            env: env.as_mut_ptr(),
            stdio: &mut stdio,
            pid: &mut pid,
        };
        // SAFETY: v2+ `pal_create_process` takes `struct pal_create_process_args *`; every pointer
        // in `args` (path, NULL-terminated argv/env arrays, stdio, pid) points to locals that live
        // until after the call, and the PAL may not keep them (spec: copied on create).
        let ret = unsafe {
            let f = std::mem::transmute::<*mut c_void, v2::CreateProcessFn>(sym);
            f(&mut args)
        };
        check("pal_create_process", ret)?;
        Ok(pid)
    }

    /// `pal_exec` (v2+): waits for `pid` and returns its exit value.
    pub fn exec(&self, pid: i32) -> Result<i32, Error> {
        if self.version < 2 {
            return Err(Error::NotInVersion { op: "pal_exec(pid)", version: self.version });
        }
        let sym = self.need("pal_exec", self.syms.exec)?;
        let mut exit: c_int = 0;
        let mut args = v2::PalExecArgs { pid, exit_value: &mut exit };
        // SAFETY: v2+ `pal_exec` takes `struct pal_exec_args *`; `args` and `exit` outlive the call.
        let ret = unsafe {
            let f = std::mem::transmute::<*mut c_void, v2::ExecFn>(sym);
            f(&mut args)
        };
        check("pal_exec", ret)?;
        Ok(exit)
    }

    /// Runs a payload to completion: v1 `pal_exec(path, argv, stdio, &exit)` (no environment),
    /// v2+ `pal_create_process` then `pal_exec`. Returns the payload's exit value.
    pub fn run(&self, p: &Process) -> Result<i32, Error> {
        if self.version >= 2 {
            let pid = self.create_process(p)?;
            return self.exec(pid);
        }
        let sym = self.need("pal_exec", self.syms.exec)?;
        let path = cstring(&p.path, "payload path")?;
        let mut argv = CStrArray::new(&p.argv, "payload argument")?;
        let mut stdio = v1::PalStdioFds { stdin: p.stdio.stdin, stdout: p.stdio.stdout, stderr: p.stdio.stderr };
        let mut exit: c_int = 0;
        // SAFETY: v1 `pal_exec` is `int (char *, char **, struct pal_stdio_fds *, int *)`; the path,
        // NULL-terminated argv, stdio and exit code live until after the call.
        let ret = unsafe {
            let f = std::mem::transmute::<*mut c_void, v1::ExecFn>(sym);
            f(path.as_ptr().cast_mut(), argv.as_mut_ptr(), &mut stdio, &mut exit)
        };
        check("pal_exec", ret)?;
        Ok(exit)
    }

    /// `pal_kill` (v2+): pid -1 = every payload, 0 = the current one, > 0 = that one.
    pub fn kill(&self, pid: i32, sig: i32) -> Result<(), Error> {
        if self.version < 2 {
            return Err(Error::NotInVersion { op: "pal_kill", version: self.version });
        }
        let sym = self.need("pal_kill", self.syms.kill)?;
        // SAFETY: v2+ `pal_kill` is `int (int, int)`.
        let ret = unsafe {
            let f = std::mem::transmute::<*mut c_void, v2::KillFn>(sym);
            f(pid, sig)
        };
        check("pal_kill", ret).map(drop)
    }

    /// `pal_destroy`.
    pub fn destroy(&self) -> Result<(), Error> {
        let sym = self.need("pal_destroy", self.syms.destroy)?;
        // SAFETY: `pal_destroy` is `int (void)` in every version.
        let ret = unsafe {
            let f = std::mem::transmute::<*mut c_void, v1::DestroyFn>(sym);
            f()
        };
        check("pal_destroy", ret).map(drop)
    }

    /// `pal_get_local_report` (v3): passes `targetinfo` and a report buffer of `capacity` bytes
    /// (rune uses [`v3::REPORT_LEN`]). If the PAL answers `-ENOSPC` and raises `*report_len`
    /// above the capacity, the call is retried once with that size (at most 1 MiB).
    pub fn local_report(&self, targetinfo: &[u8], capacity: usize) -> Result<Vec<u8>, Error> {
        if self.version < 3 {
            return Err(Error::NotInVersion { op: "pal_get_local_report", version: self.version });
        }
        const MAX: usize = 1 << 20;
        let sym = self.need("pal_get_local_report", self.syms.get_local_report)?;
        let ti_len = c_int::try_from(targetinfo.len())
            .map_err(|_| Error::InvalidArgument(format!("target info of {} bytes is too long", targetinfo.len())))?;
        if capacity > MAX {
            return Err(Error::InvalidArgument(format!("report capacity {capacity} exceeds {MAX}")));
        }
        let mut ti = targetinfo.to_vec();
        let mut cap = capacity;
        for attempt in 0..2 {
            let mut report = vec![0u8; cap];
            let mut len = cap as c_int;
            // SAFETY: `pal_get_local_report` is `int (void *, int, void *, int *)`; `ti` holds
            // `ti_len` bytes and `report` holds `len` bytes, both live across the call.
            let ret = unsafe {
                let f = std::mem::transmute::<*mut c_void, v3::GetLocalReportFn>(sym);
                f(ti.as_mut_ptr().cast(), ti_len, report.as_mut_ptr().cast(), &mut len)
            };
            if ret == -libc::ENOSPC && attempt == 0 && len as usize > cap && (len as usize) <= MAX {
                cap = len as usize;
                continue;
            }
            check("pal_get_local_report", ret)?;
            if len < 0 || len as usize > cap {
                return Err(Error::InvalidArgument(format!("PAL reported a {len}-byte report in a {cap}-byte buffer")));
            }
            report.truncate(len as usize);
            return Ok(report);
        }
        Err(Error::Call { op: "pal_get_local_report", errno: Errno::ENOSPC })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The loader against a test double of [`Library`]: a table of Rust `extern "C"` functions
    //! that record what the loader passed.
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static CALLS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        static VERSION: RefCell<c_int> = const { RefCell::new(2) };
        static INIT_RET: RefCell<c_int> = const { RefCell::new(0) };
    }

    fn record(s: String) {
        CALLS.with(|c| c.borrow_mut().push(s));
    }

    fn calls() -> Vec<String> {
        CALLS.with(|c| c.borrow_mut().drain(..).collect())
    }

    fn s(p: *const c_char) -> String {
        // SAFETY: the loader passes valid C strings (the property under test).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    extern "C" fn get_version() -> c_int {
        VERSION.with(|v| *v.borrow())
    }
    unsafe extern "C" fn init_v1(a: *const v1::PalAttr) -> c_int {
        // SAFETY: the loader passes a valid v1 attribute to v1/v2 PALs.
        let a = unsafe { &*a };
        record(format!("init_v1 {} {}", s(a.args), s(a.log_level)));
        INIT_RET.with(|r| *r.borrow())
    }
    unsafe extern "C" fn init_v3(a: *const v3::PalAttr) -> c_int {
        // SAFETY: the loader passes a valid v3 attribute to v3 PALs.
        let a = unsafe { &*a };
        record(format!("init_v3 {} {} {} {}", s(a.attr_v1.args), s(a.attr_v1.log_level), a.fd, a.addr));
        0
    }
    unsafe extern "C" fn create(a: *mut v2::PalCreateProcessArgs) -> c_int {
        // SAFETY: valid args with NULL-terminated arrays (property under test).
        unsafe {
            let a = &*a;
            let mut argv = Vec::new();
            let mut i = 0;
            while !(*a.argv.add(i)).is_null() {
                argv.push(s(*a.argv.add(i)));
                i += 1;
            }
            let mut env = Vec::new();
            let mut i = 0;
            while !(*a.env.add(i)).is_null() {
                env.push(s(*a.env.add(i)));
                i += 1;
            }
            record(format!("create {} {:?} {:?} {}", s(a.path), argv, env, (*a.stdio).stdout));
            *a.pid = 41;
        }
        0
    }
    unsafe extern "C" fn exec_v2(a: *mut v2::PalExecArgs) -> c_int {
        // SAFETY: valid exec args.
        unsafe {
            record(format!("exec {}", (*a).pid));
            *(*a).exit_value = 3;
        }
        0
    }
    unsafe extern "C" fn exec_v1(
        path: *mut c_char,
        argv: *mut *mut c_char,
        _s: *mut v1::PalStdioFds,
        exit: *mut c_int,
    ) -> c_int {
        // SAFETY: valid v1 exec arguments.
        unsafe {
            record(format!("exec_v1 {} {}", s(path), s(*argv)));
            *exit = 9;
        }
        0
    }
    extern "C" fn kill(pid: c_int, sig: c_int) -> c_int {
        record(format!("kill {pid} {sig}"));
        -libc::ESRCH
    }
    extern "C" fn destroy() -> c_int {
        record("destroy".into());
        0
    }

    struct Fake(HashMap<&'static str, *mut c_void>);
    // SAFETY: the table holds addresses of plain functions.
    unsafe impl Send for Fake {}
    // SAFETY: as above; read-only.
    unsafe impl Sync for Fake {}
    impl Library for Fake {
        fn symbol(&self, name: &CStr) -> Option<NonNull<c_void>> {
            self.0.get(name.to_str().ok()?).and_then(|p| NonNull::new(*p))
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    fn fake(version: Option<c_int>, with: &[&'static str]) -> Box<Fake> {
        let mut m: HashMap<&'static str, *mut c_void> = HashMap::new();
        if let Some(v) = version {
            VERSION.with(|x| *x.borrow_mut() = v);
            m.insert("pal_get_version", get_version as *mut c_void);
        }
        let v = version.unwrap_or(1);
        for &name in with {
            let p = match name {
                "pal_init" if v >= 3 => init_v3 as *mut c_void,
                "pal_init" => init_v1 as *mut c_void,
                "pal_exec" if v >= 2 => exec_v2 as *mut c_void,
                "pal_exec" => exec_v1 as *mut c_void,
                "pal_create_process" => create as *mut c_void,
                "pal_kill" => kill as *mut c_void,
                "pal_destroy" => destroy as *mut c_void,
                _ => continue,
            };
            m.insert(name, p);
        }
        Box::new(Fake(m))
    }

    const ALL: &[&str] = &["pal_init", "pal_exec", "pal_create_process", "pal_kill", "pal_destroy"];

    #[test]
    fn version_negotiation() {
        assert_eq!(Pal::from_library(fake(None, &["pal_init", "pal_exec", "pal_destroy"])).unwrap().version(), 1);
        for v in [4, 0, -22] {
            assert_eq!(Pal::from_library(fake(Some(v), ALL)).unwrap_err(), Error::UnsupportedVersion(v));
        }
        assert_eq!(
            Pal::from_library(fake(Some(2), &["pal_init", "pal_exec", "pal_destroy"])).unwrap_err(),
            Error::MissingSymbol { symbol: "pal_create_process", version: 2 }
        );
        assert_eq!(
            Pal::from_library(fake(None, &["pal_exec", "pal_destroy"])).unwrap_err(),
            Error::MissingSymbol { symbol: "pal_init", version: 1 }
        );
    }

    #[test]
    fn dispatch_per_version() {
        let stdio = Stdio { stdin: 0, stdout: 5, stderr: 2 };
        let p = Process::new(vec!["/bin/app".into(), "a b".into()], vec!["K=v w".into()], stdio);
        let opts = InitOptions { args: "x y".into(), log_level: "debug".into(), prepared: None };

        let v1 = Pal::from_library(fake(None, ALL)).unwrap();
        v1.init(&opts).unwrap();
        assert_eq!(v1.run(&p), Ok(9));
        assert_eq!(v1.kill(-1, 15), Err(Error::NotInVersion { op: "pal_kill", version: 1 }));
        assert_eq!(calls(), ["init_v1 x y debug", "exec_v1 /bin/app /bin/app"]);

        let v2 = Pal::from_library(fake(Some(2), ALL)).unwrap();
        v2.init(&InitOptions { prepared: Some(PreparedEnclave { fd: 3, addr: 4 }), ..opts.clone() }).unwrap();
        assert_eq!(v2.run(&p), Ok(3));
        assert_eq!(v2.kill(-1, 15), Err(Error::Call { op: "pal_kill", errno: Errno::ESRCH }));
        v2.destroy().unwrap();
        assert_eq!(
            calls(),
            [
                "init_v1 x y debug",
                r#"create /bin/app ["/bin/app", "a b"] ["K=v w"] 5"#,
                "exec 41",
                "kill -1 15",
                "destroy"
            ]
        );
        assert_eq!(
            v2.local_report(&[0; 512], 432),
            Err(Error::NotInVersion { op: "pal_get_local_report", version: 2 })
        );

        let v3 = Pal::from_library(fake(Some(3), ALL)).unwrap();
        v3.init(&opts).unwrap();
        v3.init(&InitOptions { prepared: Some(PreparedEnclave { fd: 7, addr: 0x1000 }), ..opts.clone() }).unwrap();
        assert_eq!(calls(), ["init_v3 x y debug -1 0", "init_v3 x y debug 7 4096"]);
        assert_eq!(
            v3.local_report(&[0; 512], 432),
            Err(Error::MissingSymbol { symbol: "pal_get_local_report", version: 3 })
        );
    }

    #[test]
    fn negative_init_is_an_errno() {
        let p = Pal::from_library(fake(Some(2), ALL)).unwrap();
        INIT_RET.with(|r| *r.borrow_mut() = -libc::EINVAL);
        assert_eq!(p.init(&InitOptions::default()), Err(Error::Call { op: "pal_init", errno: Errno::EINVAL }));
        INIT_RET.with(|r| *r.borrow_mut() = 0);
        let e = Error::Call { op: "pal_init", errno: Errno::EINVAL };
        assert!(e.to_string().starts_with("pal_init failed: Invalid argument"), "{e}");
    }
}
