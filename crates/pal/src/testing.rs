//! Test support shared by the workspace's PAL tests (feature `testing`): building the C test PAL,
//! finding the Rust runtimes `make build` built, and the PAL conformance harness every enclave
//! runtime must pass.
//! Helpers panic on failure (they are for tests only).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use crate::{Errno, Error, InitOptions, Pal, PalFile, Process, Stdio};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// `$CARGO_TARGET_DIR` or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Compiles `tests/c-pal/test_pal.c` for ABI `version` (and `pal_get_version` returning
/// `claimed`, default `version`) with the system C compiler (`$CC`, default `cc`); returns the
/// `.so` path. Builds to a temporary name and renames, so concurrent tests are safe.
pub fn build_c_pal(version: u32, claimed: Option<u32>) -> PathBuf {
    build_c_pal_with(version, claimed, &[])
}

/// [`build_c_pal`] with extra preprocessor symbols (e.g. `PAL_OMIT_CREATE_PROCESS`).
pub fn build_c_pal_with(version: u32, claimed: Option<u32>, defines: &[&str]) -> PathBuf {
    let src = workspace_root().join("tests/c-pal/test_pal.c");
    let out_dir = target_dir().join("c-pal");
    std::fs::create_dir_all(&out_dir).expect("c-pal dir");
    let claimed = claimed.unwrap_or(version);
    let tag: String = defines.iter().map(|d| format!("_{}", d.to_lowercase())).collect();
    let out = out_dir.join(format!("libtest_pal_v{version}_claims{claimed}{tag}.so"));
    let tmp = out_dir.join(format!(".tmp-{}-{:?}.so", std::process::id(), std::thread::current().id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-pthread"])
        .arg(format!("-DPAL_VERSION={version}"))
        .arg(format!("-DPAL_CLAIMED_VERSION={claimed}"))
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("run the C compiler");
    assert!(st.success(), "compiling {} failed", src.display());
    std::fs::rename(&tmp, &out).expect("rename c-pal");
    out
}

/// A Rust enclave runtime as `make build` left it in `<target>/release`, held for one test.
///
/// The dynamic loader keeps one copy of a shared object per file (it matches device and inode,
/// whatever the path), so two tests of one process that load the same runtime by its host path
/// share its global state, and the second `pal_init` fails with `EBUSY`. A `BuiltRuntime`
/// therefore holds a process-wide lock until it is dropped: tests that use built runtimes run one
/// at a time. The lock is reentrant for the thread holding it, so a test may hold several.
#[derive(Debug)]
pub struct BuiltRuntime {
    path: PathBuf,
    _serial: RuntimeGuard,
}

impl std::ops::Deref for BuiltRuntime {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for BuiltRuntime {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// The runtime lock: owner thread and depth, so the owner may take it again.
static RUNTIME_LOCK: std::sync::Mutex<Option<(std::thread::ThreadId, usize)>> = std::sync::Mutex::new(None);
static RUNTIME_FREED: std::sync::Condvar = std::sync::Condvar::new();

#[derive(Debug)]
struct RuntimeGuard;

impl RuntimeGuard {
    fn acquire() -> RuntimeGuard {
        let me = std::thread::current().id();
        // A test that panicked while holding the lock poisons it; its state is still consistent.
        let mut owner = RUNTIME_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match owner.as_mut() {
                None => {
                    *owner = Some((me, 1));
                    return RuntimeGuard;
                }
                Some((who, depth)) if *who == me => {
                    *depth += 1;
                    return RuntimeGuard;
                }
                Some(_) => owner = RUNTIME_FREED.wait(owner).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let mut owner = RUNTIME_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, depth)) = owner.as_mut() {
            *depth -= 1;
            if *depth == 0 {
                *owner = None;
                RUNTIME_FREED.notify_all();
            }
        }
    }
}

/// The workspace sources `so` was built from, by the dep-info file cargo writes beside it
/// (`lib<name>.d`: `<output>: <source> <source> ...`, spaces in paths escaped as `\ `).
fn workspace_sources(so: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string(so.with_extension("d")) else { return Vec::new() };
    let root = workspace_root();
    let Some((_, deps)) = info.lines().next().and_then(|l| l.split_once(": ")) else { return Vec::new() };
    deps.replace("\\ ", "\0")
        .split(' ')
        .map(|p| PathBuf::from(p.replace('\0', " ")))
        .filter(|p| p.starts_with(&root))
        .collect()
}

/// `<target>/release/lib<lib_name>.so` of the workspace `cdylib` package `package`, as `make build`
/// built it. Tests do not build it themselves: a nested `cargo build` from inside `cargo test`
/// resolves features apart from the workspace build and compiles dependencies a second time.
/// Panics, saying to run `make build`, when the library is missing or older than one of the
/// workspace sources it was built from (cargo's dep-info file beside it). The returned handle
/// serialises the tests of this process that use built runtimes (see [`BuiltRuntime`]).
pub fn build_runtime(package: &str, lib_name: &str) -> BuiltRuntime {
    let so = target_dir().join("release").join(format!("lib{lib_name}.so"));
    let built = match std::fs::metadata(&so).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(e) => panic!("enclave runtime {package}: {} ({e}): run `make build` first", so.display()),
    };
    for src in workspace_sources(&so) {
        if std::fs::metadata(&src).and_then(|m| m.modified()).is_ok_and(|t| t > built) {
            panic!(
                "enclave runtime {package}: {} is older than {}: run `make build` first",
                so.display(),
                src.display()
            );
        }
    }
    BuiltRuntime { path: so, _serial: RuntimeGuard::acquire() }
}

/// Result of running one payload with captured stdio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a payload through `pal` with pipes for stdin (fed `input`), stdout and stderr.
pub fn capture(pal: &Pal, argv: &[&str], env: &[&str], input: &[u8]) -> Result<Captured, Error> {
    let (in_r, mut in_w) = std::io::pipe().expect("pipe");
    let (mut out_r, out_w) = std::io::pipe().expect("pipe");
    let (mut err_r, err_w) = std::io::pipe().expect("pipe");
    use std::os::fd::AsRawFd;
    in_w.write_all(input).expect("feed stdin");
    drop(in_w);
    let stdio = Stdio { stdin: in_r.as_raw_fd(), stdout: out_w.as_raw_fd(), stderr: err_w.as_raw_fd() };
    let p =
        Process::new(argv.iter().map(|s| s.to_string()).collect(), env.iter().map(|s| s.to_string()).collect(), stdio);
    let code = pal.run(&p);
    drop((in_r, out_w, err_w));
    let mut stdout = String::new();
    let mut stderr = String::new();
    out_r.read_to_string(&mut stdout).expect("read stdout");
    err_r.read_to_string(&mut stderr).expect("read stderr");
    Ok(Captured { code: code?, stdout, stderr })
}

/// What kind of payload a PAL runs, so the harness knows what to ask and expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// The skeleton: any payload prints "Hello Inclavare Containers!" and exits 0.
    Skeleton,
    /// `tests/c-pal/test_pal.c`: commands interpreted inside the PAL.
    CInterpreter,
    /// A LibOS that runs real executables (`/bin/sh`).
    Executables,
}

/// The PAL under test.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub version: u32,
    pub payload: PayloadKind,
}

fn init(pal: &Pal) {
    pal.init(&InitOptions { args: String::new(), log_level: "info".into(), prepared: None })
        .unwrap_or_else(|e| panic!("pal_init: {e}"));
}

/// The PAL conformance suite: load, version, failing init, init, payload with arguments and
/// environment containing spaces, stdout/stderr/stdin through pipes, exit value propagation,
/// kill (v2+) or its absence (v1), local report (v3) or its absence, destroy.
/// Every load uses a fresh memfd snapshot, so runs do not share the PAL's global state.
pub fn conformance(path: &Path, p: &Profile) {
    let name = p.name;
    // Failing init: every conforming runtime rejects an unknown runtime option with EINVAL.
    let bad = PalFile::snapshot(path).and_then(|f| f.load()).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    assert_eq!(bad.version(), p.version, "{name}: negotiated version");
    let e = bad
        .init(&InitOptions { args: "bogus-option".into(), log_level: "info".into(), prepared: None })
        .expect_err("init with a bogus option must fail");
    assert_eq!(e, Error::Call { op: "pal_init", errno: Errno::EINVAL }, "{name}: failing init");
    drop(bad);

    let pal = PalFile::snapshot(path).and_then(|f| f.load()).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    assert_eq!(pal.version(), p.version);
    init(&pal);

    let env = ["GREETING=hi there", "EMPTY="];
    match p.payload {
        PayloadKind::Skeleton => {
            let r = capture(&pal, &["/bin/skeleton", "hello world"], &env, b"").expect("run");
            assert_eq!(
                r,
                Captured { code: 0, stdout: "Hello Inclavare Containers!\n".into(), stderr: String::new() },
                "{name}"
            );
        }
        PayloadKind::CInterpreter => {
            let r = capture(&pal, &["c-pal", "echo", "hello world", "a  b", ""], &env, b"").expect("run echo");
            assert_eq!((r.code, r.stdout.as_str()), (0, "hello world\na  b\n\n"), "{name}: argv");
            let r = capture(&pal, &["c-pal", "env", "GREETING"], &env, b"").expect("run env");
            let want = if p.version >= 2 { "hi there\n" } else { "<unset>\n" };
            assert_eq!(r.stdout, want, "{name}: env (v1 has none)");
            let r = capture(&pal, &["c-pal", "exit", "42"], &env, b"").expect("run exit");
            assert_eq!(r.code, 42, "{name}: exit value");
            let r = capture(&pal, &["c-pal", "stderr", "to stderr"], &env, b"").expect("run stderr");
            assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", "to stderr\n"), "{name}: stderr");
            let r = capture(&pal, &["c-pal", "cat"], &env, b"piped input").expect("run cat");
            assert_eq!(r.stdout, "piped input", "{name}: stdin");
            let r = capture(&pal, &["c-pal", "init"], &env, b"").expect("run init");
            assert_eq!(r.stdout, "args= log_level=info fd=-1 addr=0\n", "{name}: init attributes");
            let e = capture(&pal, &["c-pal", "no-such-command"], &env, b"").expect_err("unknown payload");
            let op = if p.version >= 2 { "pal_create_process" } else { "pal_exec" };
            assert_eq!(e, Error::Call { op, errno: Errno::ENOENT }, "{name}: failing payload");
        }
        PayloadKind::Executables => {
            let script = "printf '%s|%s|%s\\n' \"$1\" \"$GREETING\" \"$#\"; echo oops >&2; exit 42";
            let r = capture(&pal, &["/bin/sh", "-c", script, "sh", "hello world"], &env, b"").expect("run sh");
            assert_eq!(
                r,
                Captured { code: 42, stdout: "hello world|hi there|1\n".into(), stderr: "oops\n".into() },
                "{name}: argv/env/stdio/exit"
            );
            let r = capture(&pal, &["/bin/cat"], &env, b"piped input").expect("run cat");
            assert_eq!((r.code, r.stdout.as_str()), (0, "piped input"), "{name}: stdin");
            let e = capture(&pal, &["/nonexistent/payload"], &env, b"").expect_err("missing executable");
            assert_eq!(e, Error::Call { op: "pal_create_process", errno: Errno::ENOENT }, "{name}: failing payload");
        }
    }

    // kill
    if p.version >= 2 {
        match p.payload {
            PayloadKind::Skeleton => pal.kill(-1, libc::SIGTERM).expect("kill"),
            PayloadKind::CInterpreter | PayloadKind::Executables => {
                let argv: Vec<String> = if p.payload == PayloadKind::CInterpreter {
                    vec!["c-pal".into(), "block".into()]
                } else {
                    vec!["/bin/sh".into(), "-c".into(), "exec sleep 30".into()]
                };
                let pid =
                    pal.create_process(&Process::new(argv, vec![], Stdio::INHERIT)).expect("create blocking payload");
                assert!(pid > 0, "{name}: pid {pid}");
                let (tx, rx) = mpsc::channel();
                std::thread::scope(|s| {
                    s.spawn(|| tx.send(pal.exec(pid)).expect("send"));
                    std::thread::sleep(Duration::from_millis(200));
                    pal.kill(-1, libc::SIGTERM).expect("kill");
                    let code = rx.recv_timeout(Duration::from_secs(10)).expect("payload did not stop after pal_kill");
                    assert_eq!(code, Ok(128 + libc::SIGTERM), "{name}: killed payload's exit value");
                });
            }
        }
    } else {
        assert_eq!(pal.kill(-1, libc::SIGTERM), Err(Error::NotInVersion { op: "pal_kill", version: 1 }));
        let p1 = Process::new(vec!["x".into()], vec![], Stdio::INHERIT);
        assert_eq!(pal.create_process(&p1), Err(Error::NotInVersion { op: "pal_create_process", version: 1 }));
    }

    // local report
    let mut ti = vec![0u8; crate::v3::TARGETINFO_LEN];
    ti[..4].copy_from_slice(b"nonc");
    let rep = pal.local_report(&ti, crate::v3::REPORT_LEN);
    if p.version >= 3 {
        match p.payload {
            PayloadKind::Skeleton => {
                assert_eq!(rep, Err(Error::Call { op: "pal_get_local_report", errno: Errno::ENOSYS }), "{name}")
            }
            PayloadKind::CInterpreter => {
                let r = rep.expect("report");
                assert_eq!(&r[..13], b"c-pal-report:");
                assert_eq!(&r[13..], &ti[..], "{name}: report buffer grew via ENOSPC retry");
            }
            PayloadKind::Executables => {
                let r = String::from_utf8(rep.expect("report")).expect("utf-8 evidence");
                assert!(r.contains("no hardware isolation"), "{name}: evidence must say it is software: {r}");
            }
        }
    } else {
        assert_eq!(rep, Err(Error::NotInVersion { op: "pal_get_local_report", version: p.version }));
    }

    pal.destroy().expect("destroy");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::RuntimeGuard;

    #[test]
    fn dep_info_lists_workspace_sources_only() {
        let dir = tempfile::tempdir().unwrap();
        let so = dir.path().join("libx.so");
        let root = super::workspace_root();
        let info = format!(
            "{}: {}/crates/pal/src/lib.rs {}/odd\\ name.rs /registry/dep/src/lib.rs\n\n{}/crates/pal/src/lib.rs:\n",
            so.display(),
            root.display(),
            root.display(),
            root.display()
        );
        std::fs::write(so.with_extension("d"), info).unwrap();
        assert_eq!(super::workspace_sources(&so), vec![root.join("crates/pal/src/lib.rs"), root.join("odd name.rs")]);
        assert!(super::workspace_sources(&dir.path().join("libmissing.so")).is_empty());
    }

    #[test]
    fn runtime_lock_is_reentrant_and_excludes_other_threads() {
        let outer = RuntimeGuard::acquire();
        let inner = RuntimeGuard::acquire(); // same thread: no deadlock
        let got = Arc::new(AtomicBool::new(false));
        let t = {
            let got = Arc::clone(&got);
            std::thread::spawn(move || {
                let _g = RuntimeGuard::acquire();
                got.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(inner);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!got.load(Ordering::SeqCst), "another thread got the lock while this one held it");
        drop(outer);
        t.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
    }
}
