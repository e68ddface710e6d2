//! `sample-libos`: the software-TEE enclave runtime (PAL API v3), for machines without TEE
//! hardware. **There is no hardware isolation and no confidentiality**: payloads are ordinary
//! child processes of the init-runelet, and the evidence it reports is software-TEE (`sample`)
//! evidence that anyone could forge. Verifiers refuse it unless their operator opts in.
//!
//! * `pal_create_process` resolves the executable (a path, or a name searched in the payload's
//!   `PATH`), measures it, and spawns it with exactly the given argv, environment and stdio, in
//!   its own process group. If the environment has `PWD` naming a directory, that is its working
//!   directory (the PAL API has no cwd argument; rune's exec agent passes the cwd this way).
//!   If its stdin is a terminal (`rune exec --tty`), it instead leads a new session with that
//!   terminal as its controlling terminal, so ^C and window changes reach it.
//! * `pal_exec` waits for it: exit status, or 128 + signal number if a signal ended it.
//! * `pal_kill(pid, sig)` signals that child (`-1`: every live child, `0`: the newest one).
//! * `pal_get_local_report(targetinfo, len, report, &report_len)`: **report-data convention** —
//!   the first `min(len, 64)` bytes of `targetinfo` are the report data (zero-padded to 64); any
//!   byte after the 64th must be zero (else `-EINVAL`, so nothing is silently dropped); `len`
//!   may be at most 512 (an SGX TARGETINFO). The report is the JSON of
//!   [`tee::sample::SampleEvidence`] carrying the measurement register (hex) and the
//!   no-hardware notice. Too small a buffer: `-ENOSPC` with `*report_len` = size needed.
//!
//! **Measurement**: a 48-byte register, zero at `pal_init`, extended on every launch like a PCR:
//! `reg = SHA-384(reg || event)`, `event = SHA-384("sample-libos exec\0" || BLAKE3(executable
//! file) || u32le(argc) || for each argument: u32le(len) || bytes)`.
//!
//! Runtime args (space separated): `debug` is accepted; anything else fails `pal_init` with EINVAL.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pal::export::{EnclaveRuntime, Errno, Prepared, ProcessRequest};
use sha2::{Digest, Sha384};
use tee::Attester;

/// Largest target info accepted (an SGX TARGETINFO).
pub const MAX_TARGETINFO: usize = 512;
/// Report-data bytes taken from the front of the target info.
pub const REPORT_DATA_LEN: usize = tee::sample::REPORT_DATA_LEN;
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug)]
struct Procs {
    /// PAL pid (= OS pid) → the child, taken out while `pal_exec` waits on it.
    live: HashMap<i32, Option<Child>>,
    newest: i32,
}

/// The runtime instance between `pal_init` and `pal_destroy`.
#[derive(Debug)]
pub struct SampleLibos {
    procs: Mutex<Procs>,
    measurement: Mutex<[u8; 48]>,
}

/// The measurement event of launching `exe_digest` with `argv` (see the crate docs).
pub fn launch_event(exe_digest: &[u8], argv: &[String]) -> [u8; 48] {
    let mut h = Sha384::new();
    h.update(b"sample-libos exec\0");
    h.update(exe_digest);
    h.update((argv.len() as u32).to_le_bytes());
    for a in argv {
        h.update((a.len() as u32).to_le_bytes());
        h.update(a.as_bytes());
    }
    h.finalize().into()
}

/// `SHA-384(reg || event)`.
pub fn extend(reg: &[u8; 48], event: &[u8; 48]) -> [u8; 48] {
    let mut h = Sha384::new();
    h.update(reg);
    h.update(event);
    h.finalize().into()
}

fn io(e: std::io::Error) -> Errno {
    Errno::from_io(&e)
}

fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter().find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn resolve(path: &str, env: &[String]) -> Result<PathBuf, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.contains('/') {
        return Ok(PathBuf::from(path));
    }
    let search = env_value(env, "PATH").unwrap_or(DEFAULT_PATH);
    search
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(path))
        .find(|p| p.is_file())
        .ok_or(Errno::ENOENT)
}

/// BLAKE3 (32-byte) digest of the executable's contents. Measuring the whole file is what keeps
/// the register honest, and it sits on the launch path of every payload, so the hash is chosen
/// for speed: BLAKE3's SIMD code measured ~4x faster than SHA-256 (with the CPU's SHA extensions)
/// on a 2 MB busybox here, and `b3sum` produces reference values. Read in 128 KiB pieces through
/// one reused buffer: reading a whole binary into a fresh allocation costs as much in page faults
/// as the hash itself (profiled), and a mapping could SIGBUS the runelet if the file is
/// truncated meanwhile.
fn file_digest(p: &Path) -> Result<Vec<u8>, Errno> {
    use std::io::Read;
    let mut f = File::open(p).map_err(io)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(h.finalize().as_bytes().to_vec())
}

impl SampleLibos {
    /// Current value of the measurement register.
    pub fn measurement(&self) -> Result<[u8; 48], Errno> {
        self.measurement.lock().map(|g| *g).map_err(|_| Errno::EFAULT)
    }
}

impl EnclaveRuntime for SampleLibos {
    fn init(args: &str, _log_level: &str, _prepared: Option<Prepared>) -> Result<Self, Errno> {
        if args.split_whitespace().any(|a| a != "debug") {
            return Err(Errno::EINVAL);
        }
        Ok(SampleLibos {
            procs: Mutex::new(Procs { live: HashMap::new(), newest: 0 }),
            measurement: Mutex::new([0; 48]),
        })
    }

    fn create_process(&self, req: ProcessRequest) -> Result<i32, Errno> {
        let exe = resolve(&req.path, &req.env)?;
        let digest = file_digest(&exe)?;
        let mut cmd = Command::new(&exe);
        if let Some(a0) = req.argv.first() {
            cmd.arg0(a0);
        }
        cmd.args(req.argv.iter().skip(1));
        cmd.env_clear();
        for kv in &req.env {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    cmd.env(k, v);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        if let Some(pwd) = env_value(&req.env, "PWD").filter(|p| Path::new(p).is_dir()) {
            cmd.current_dir(pwd);
        }
        cmd.stdin(req.stdio.dup_stdin().map_err(io)?)
            .stdout(req.stdio.dup_stdout().map_err(io)?)
            .stderr(req.stdio.dup_stderr().map_err(io)?);
        if req.stdio.stdin_is_terminal() {
            // A terminal payload (`rune exec --tty`) leads its own session on that terminal.
            pal::export::session_with_controlling_terminal(&mut cmd);
        } else {
            cmd.process_group(0);
        }
        let event = launch_event(&digest, &req.argv);
        // Hold the register lock across spawn so measurements extend in launch order.
        let mut reg = self.measurement.lock().map_err(|_| Errno::EFAULT)?;
        let child = cmd.spawn().map_err(io)?;
        *reg = extend(&reg, &event);
        drop(reg);
        let pid = i32::try_from(child.id()).map_err(|_| Errno::EFAULT)?;
        let mut g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
        g.live.insert(pid, Some(child));
        g.newest = pid;
        Ok(pid)
    }

    fn exec(&self, pid: i32) -> Result<i32, Errno> {
        let mut child = {
            let mut g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
            g.live.get_mut(&pid).and_then(Option::take).ok_or(Errno::ESRCH)?
        };
        let status = child.wait();
        let mut g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
        g.live.remove(&pid);
        let status = status.map_err(io)?;
        Ok(status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(255))
    }

    fn kill(&self, pid: i32, sig: i32) -> Result<(), Errno> {
        let signal = Signal::try_from(sig).map_err(|_| Errno::EINVAL)?;
        let g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
        let targets: Vec<i32> = match pid {
            -1 => g.live.keys().copied().collect(),
            0 => (g.newest > 0 && g.live.contains_key(&g.newest)).then_some(g.newest).into_iter().collect(),
            p if g.live.contains_key(&p) => vec![p],
            _ => return Err(Errno::ESRCH),
        };
        for t in targets {
            // A child that exited but is not yet reaped is a zombie: kill succeeds harmlessly.
            kill(Pid::from_raw(t), signal).map_err(|e| Errno(e as i32))?;
        }
        Ok(())
    }

    fn destroy(&self) -> Result<(), Errno> {
        let mut g = self.procs.lock().map_err(|_| Errno::EFAULT)?;
        for (pid, child) in g.live.iter_mut() {
            if let Some(mut c) = child.take() {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                let _ = c.wait();
            }
        }
        g.live.clear();
        Ok(())
    }

    fn local_report(&self, targetinfo: &[u8]) -> Result<Vec<u8>, Errno> {
        if targetinfo.len() > MAX_TARGETINFO {
            return Err(Errno::EINVAL);
        }
        let (rd, rest) = targetinfo.split_at(targetinfo.len().min(REPORT_DATA_LEN));
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::EINVAL);
        }
        let m = self.measurement()?;
        let ev = tee::sample::SampleAttester::new()
            .with_measurement(hex::encode(m))
            .evidence(rd)
            .map_err(|_| Errno::EINVAL)?;
        Ok(ev.bytes)
    }
}

pal::export_pal!(SampleLibos, 3);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::Engine;
    use pal::export::StdioFds;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use tee::{danger, Expected, Verifier};

    #[test]
    fn evidence_binds_report_data_and_measurement_and_says_software() {
        let rt = SampleLibos::init("", "info", None).unwrap();
        let (mut r, w) = std::io::pipe().unwrap();
        let stdio = StdioFds { stdin: 0, stdout: w.as_raw_fd(), stderr: 2 };
        let argv = vec!["true".to_string(), "a b".to_string()];
        let pid = rt
            .create_process(ProcessRequest {
                path: "true".into(),
                argv: argv.clone(),
                env: vec!["PATH=/bin:/usr/bin".into()],
                stdio,
            })
            .unwrap();
        assert_eq!(rt.exec(pid).unwrap(), 0);
        drop(w);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();

        let exe = resolve("true", &["PATH=/bin:/usr/bin".into()]).unwrap();
        let want = extend(&[0; 48], &launch_event(&file_digest(&exe).unwrap(), &argv));
        assert_eq!(rt.measurement().unwrap(), want);

        let mut ti = [0u8; 512];
        ti[..32].copy_from_slice(&[0x5a; 32]);
        let ev = rt.local_report(&ti).unwrap();
        let v = tee::sample::SampleVerifier::new(danger::AcceptSoftwareTee);
        let claims = v.verify(&ev, &Expected::new(&[0x5a; 32])).unwrap();
        assert!(!claims.hardware);
        assert_eq!(claims.fields["measurement"], hex::encode(want));
        let j: serde_json::Value = serde_json::from_slice(&ev).unwrap();
        assert!(j["notice"].as_str().unwrap().contains("no hardware isolation"));
        let rd = base64::engine::general_purpose::STANDARD.decode(j["report_data"].as_str().unwrap()).unwrap();
        assert_eq!(&rd[..32], &[0x5a; 32]);
        // Bytes after the 64-byte report data must be zero; over-long target info is refused.
        ti[100] = 1;
        assert_eq!(rt.local_report(&ti), Err(Errno::EINVAL));
        assert_eq!(rt.local_report(&[0; 513]), Err(Errno::EINVAL));
    }

    #[test]
    fn bad_inputs_are_errnos() {
        assert_eq!(SampleLibos::init("fast", "info", None).err(), Some(Errno::EINVAL));
        let rt = SampleLibos::init("debug", "info", None).unwrap();
        let stdio = StdioFds { stdin: 0, stdout: 1, stderr: 2 };
        let req =
            |path: &str, env: Vec<String>| ProcessRequest { path: path.into(), argv: vec![path.into()], env, stdio };
        assert_eq!(rt.create_process(req("no-such-binary-here", vec![])), Err(Errno::ENOENT));
        assert_eq!(rt.create_process(req("/bin/true", vec!["NOEQUALS".into()])), Err(Errno::EINVAL));
        assert_eq!(rt.exec(999_999), Err(Errno::ESRCH));
        assert_eq!(rt.kill(999_999, 15), Err(Errno::ESRCH));
        assert_eq!(rt.kill(-1, 12345), Err(Errno::EINVAL));
        let bad_fd = StdioFds { stdin: 0, stdout: 9999, stderr: 2 };
        assert_eq!(
            rt.create_process(ProcessRequest { path: "/bin/true".into(), argv: vec![], env: vec![], stdio: bad_fd }),
            Err(Errno(nix::libc::EBADF))
        );
    }

    #[test]
    fn pwd_sets_the_working_directory() {
        let rt = SampleLibos::init("", "info", None).unwrap();
        let (mut r, w) = std::io::pipe().unwrap();
        let stdio = StdioFds { stdin: 0, stdout: w.as_raw_fd(), stderr: 2 };
        let pid = rt
            .create_process(ProcessRequest {
                path: "/bin/sh".into(),
                argv: vec!["sh".into(), "-c".into(), "/bin/pwd -P".into()],
                env: vec!["PWD=/usr".into()],
                stdio,
            })
            .unwrap();
        assert_eq!(rt.exec(pid).unwrap(), 0);
        drop(w);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "/usr\n");
    }
}
