//! Enclave containers: what `create`, `state`, `exec`, `attest` and `delete` do differently when
//! the bundle names an enclave runtime (`ENCLAVE_TYPE` / `enclave.type`, see the `enclave` crate).
//!
//! * `create` ([`prepare`], [`Setup::commit`]): reads the enclave config from the spec, checks the
//!   PAL in the rune process (readable, loadable, supported version), opens it for the init
//!   process, and binds the exec agent's socket **before** libcontainer clones the init process
//!   (after `pivot_root` the state directory is out of its reach; the listening descriptor is
//!   inherited). The socket is bound at `<root>/.<id>.agent.sock` (the container directory does
//!   not exist yet) and renamed to `<root>/<id>/agent.sock` once the container exists; a bound
//!   unix socket keeps working across a rename. `<root>/<id>/enclave.json` records the config.
//! * SGX/Nitro devices: when the host has them, they are added to a *derived* bundle
//!   `<root>/.<id>.bundle/config.json` (the user's config.json is never rewritten; libcontainer
//!   reads the spec from a bundle directory), whose `root.path` and relative bind-mount sources
//!   point back at the user's bundle; the container's state keeps the user's bundle path.
//! * `exec` ([`exec`]): talks to the init-runelet's agent, passing rune's stdio descriptors.
//!   With `--detach` (containerd's shim, `docker exec`) rune spawns a small proxy process
//!   (`rune enclave-exec-proxy`) that holds the agent connection, forwards the signals it gets
//!   as `pal_kill(pid, sig)`, and exits with the payload's exit code; its pid is the one written
//!   to `--pid-file`, so the shim (a subreaper) reaps it and sees the payload's status.
//! * `attest` ([`attest`]): asks the agent for `pal_get_local_report`.

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use enclave::agent::{AgentServer, ExecRequest, ExecSession};
use enclave::config::payload_env;
use enclave::{EnclaveConfig, EnclaveLaunch};
use libcontainer::container::Container;
use oci_spec::runtime::{Process, Spec};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::runtime::ExecOpts;

/// File in the container directory that marks an enclave container.
pub const STATE_FILE: &str = "enclave.json";
/// The exec agent's socket in the container directory.
pub const AGENT_SOCKET: &str = "agent.sock";
/// Hidden verb of the `exec --detach` proxy.
pub const PROXY_VERB: &str = "enclave-exec-proxy";

/// What `state` shows under `"enclave"` and what `exec`/`attest`/`delete` need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnclaveState {
    #[serde(flatten)]
    pub config: EnclaveConfig,
    /// Negotiated PAL API version (1..=3).
    pub pal_version: u32,
    /// `false` for the software TEE (`sample`): no hardware isolation.
    pub hardware: bool,
    pub agent_socket: PathBuf,
    /// Derived bundle holding the device-injected spec, if one was needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_bundle: Option<PathBuf>,
}

/// The enclave part of a `create` in progress.
pub struct Setup {
    pub launch: Arc<EnclaveLaunch>,
    pub state: EnclaveState,
    tmp_socket: PathBuf,
}

fn cfg_err(e: enclave::ConfigError) -> Error {
    Error::Enclave(e.to_string())
}

/// Reads the enclave configuration of `spec` (`Ok(None)`: plain container) and prepares the
/// launch. Nothing is left on disk when this fails.
pub fn prepare(spec: &Spec, bundle: &Path, root: &Path, id: &str) -> Result<Option<Setup>> {
    let mut spec = spec.clone();
    let Some(cfg) = EnclaveConfig::from_spec(&mut spec).map_err(cfg_err)? else {
        return Ok(None);
    };
    // Check the PAL here, in the host namespaces, so a missing file, a missing symbol or an
    // unsupported version fails before anything exists. (`pal_init` runs in the init process.)
    let pal_version = {
        let f = cfg.open_pal(false).map_err(cfg_err)?;
        let pal = cfg.load_pal(&f).map_err(cfg_err)?;
        pal.version()
    };
    let injected = enclave::devices::inject(&mut spec, cfg.enclave_type, Path::new("/"))
        .map_err(|e| Error::Enclave(format!("{}: {e}", cfg.enclave_type)))?;
    let derived_bundle = if injected.devices.is_empty() && injected.mounts.is_empty() {
        None
    } else {
        Some(write_derived_bundle(&spec, bundle, root, id)?)
    };
    let tmp_socket = root.join(format!(".{id}.agent.sock"));
    let server = match AgentServer::bind(&tmp_socket) {
        Ok(s) => s,
        Err(e) => {
            remove_derived(derived_bundle.as_deref());
            return Err(Error::Enclave(format!("exec agent socket: {e}")));
        }
    };
    let state = EnclaveState {
        hardware: cfg.enclave_type.is_hardware(),
        config: cfg.clone(),
        pal_version,
        agent_socket: root.join(id).join(AGENT_SOCKET),
        derived_bundle,
    };
    let launch = match EnclaveLaunch::open_with_agent(cfg, server) {
        Ok(l) => l,
        Err(e) => {
            let _ = fs::remove_file(&tmp_socket);
            remove_derived(state.derived_bundle.as_deref());
            return Err(cfg_err(e));
        }
    };
    Ok(Some(Setup { launch: Arc::new(launch), state, tmp_socket }))
}

/// A bundle directory for libcontainer with the device-injected spec: `root.path` absolute
/// and relative bind sources resolved against the user's bundle.
fn write_derived_bundle(spec: &Spec, bundle: &Path, root: &Path, id: &str) -> Result<PathBuf> {
    let mut spec = spec.clone();
    if let Some(r) = spec.root_mut() {
        if r.path().is_relative() {
            r.set_path(bundle.join(r.path()));
        }
    }
    if let Some(mounts) = spec.mounts_mut() {
        for m in mounts.iter_mut() {
            let rel = m.source().as_ref().filter(|s| s.is_relative() && m.typ().as_deref() == Some("bind")).cloned();
            if let Some(s) = rel {
                m.set_source(Some(bundle.join(s)));
            }
        }
    }
    let dir = root.join(format!(".{id}.bundle"));
    fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
    let data = serde_json::to_vec(&spec).map_err(|e| Error::Invalid(format!("serialize spec: {e}")))?;
    if let Err(e) = fs::write(dir.join("config.json"), data) {
        let _ = fs::remove_dir_all(&dir);
        return Err(Error::Io { what: format!("write {}/config.json", dir.display()), source: e });
    }
    Ok(dir)
}

fn remove_derived(dir: Option<&Path>) {
    if let Some(d) = dir {
        let _ = fs::remove_dir_all(d);
    }
}

impl Setup {
    /// The bundle libcontainer must read (the derived one when devices were injected).
    pub fn bundle<'a>(&'a self, user_bundle: &'a Path) -> &'a Path {
        self.state.derived_bundle.as_deref().unwrap_or(user_bundle)
    }

    /// The container exists: move the agent socket into its directory, record the enclave
    /// state, and make the container's state name the user's bundle.
    pub fn commit(&self, c: &mut Container, user_bundle: &Path) -> Result<()> {
        let dir = c.root.clone();
        fs::rename(&self.tmp_socket, dir.join(AGENT_SOCKET))
            .map_err(Error::io(format!("move the agent socket into {}", dir.display())))?;
        let data = serde_json::to_vec_pretty(&self.state).map_err(|e| Error::Invalid(format!("serialize enclave state: {e}")))?;
        fs::write(dir.join(STATE_FILE), data).map_err(Error::io(format!("write {}", dir.join(STATE_FILE).display())))?;
        if self.state.derived_bundle.is_some() {
            c.state.bundle = user_bundle.to_path_buf();
            c.save().map_err(Error::lc("save state"))?;
        }
        Ok(())
    }

    /// `create` failed: remove what [`prepare`] made.
    pub fn abort(&self) {
        let _ = fs::remove_file(&self.tmp_socket);
        remove_derived(self.state.derived_bundle.as_deref());
    }
}

/// The enclave state of the container whose directory is `dir` (`None`: plain container).
pub fn load_state(dir: &Path) -> Result<Option<EnclaveState>> {
    let p = dir.join(STATE_FILE);
    match fs::read(&p) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|e| Error::Invalid(format!("{}: malformed: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io { what: format!("read {}", p.display()), source: e }),
    }
}

/// What `state` prints under `"enclave"`.
pub fn state_json(dir: &Path) -> Option<serde_json::Value> {
    let st = load_state(dir).ok()??;
    let mut v = serde_json::to_value(&st).ok()?;
    if let Some(o) = v.as_object_mut() {
        o.remove("runtime_path_from_env");
        o.remove("derived_bundle");
    }
    Some(v)
}

/// Removes what an enclave container keeps outside its directory.
pub fn cleanup_outside(st: &EnclaveState) {
    remove_derived(st.derived_bundle.as_deref());
}

fn agent_err(id: &str, op: &'static str) -> impl FnOnce(enclave::AgentError) -> Error {
    let id = id.to_string();
    move |source| Error::Agent { id, op, source }
}

/// The exec request for `o`: `--process` file, else the container's own process with `--cwd`,
/// `--env` and the command line applied. `ENCLAVE_*` never reach the payload.
fn exec_request(c: &Container, o: &ExecOpts) -> Result<ExecRequest> {
    let (argv, env, cwd) = match &o.process {
        Some(p) => {
            let data = fs::read(p).map_err(Error::io(format!("read {}", p.display())))?;
            let proc: Process =
                serde_json::from_slice(&data).map_err(|e| Error::Invalid(format!("{}: malformed process: {e}", p.display())))?;
            (proc.args().clone().unwrap_or_default(), proc.env().clone().unwrap_or_default(), Some(proc.cwd().clone()))
        }
        None => {
            let spec = Spec::load(c.bundle().join("config.json"))
                .map_err(|e| Error::Config { path: c.bundle().clone(), reason: format!("malformed: {e}") })?;
            let proc = spec.process().clone().unwrap_or_default();
            let mut env = proc.env().clone().unwrap_or_default();
            for kv in &o.env {
                let key = kv.split('=').next().unwrap_or_default();
                env.retain(|e| e.split('=').next() != Some(key));
                env.push(kv.clone());
            }
            (o.args.clone(), env, Some(o.cwd.clone().unwrap_or_else(|| proc.cwd().clone())))
        }
    };
    if argv.is_empty() {
        return Err(Error::Invalid("exec: empty command".into()));
    }
    Ok(ExecRequest {
        argv,
        env: payload_env(&env),
        cwd: cwd.filter(|d| !d.as_os_str().is_empty()).map(|d| d.display().to_string()),
        path: None,
    })
}

fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    // runc writes the pid file atomically (temp file + rename): the shim may be polling it.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, pid.to_string()).map_err(Error::io(format!("write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(Error::io(format!("write {}", path.display())))
}

/// `rune exec` into an enclave container.
pub fn exec(c: &Container, st: &EnclaveState, o: &ExecOpts) -> Result<i32> {
    if o.tty || o.console_socket.is_some() {
        return Err(Error::Enclave(format!(
            "container {:?}: exec with a terminal is not supported for enclave containers (the PAL API passes plain stdio descriptors)",
            o.id
        )));
    }
    let req = exec_request(c, o)?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let session = enclave::agent::exec(&st.agent_socket, &req, [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()])
        .map_err(agent_err(&o.id, "exec"))?;
    if o.detach {
        let pid = spawn_proxy(session, &o.id)?;
        if let Some(p) = &o.pid_file {
            write_pid_file(p, pid)?;
        }
        return Ok(0);
    }
    if let Some(p) = &o.pid_file {
        write_pid_file(p, std::process::id())?;
    }
    wait_session(session, &o.id)
}

/// Forwards our signals to the payload and returns its exit code.
fn wait_session(session: ExecSession, id: &str) -> Result<i32> {
    let killer = session.killer().map_err(agent_err(id, "exec"))?;
    let fwd = enclave::runelet::SignalForwarder::start(enclave::runelet::FORWARDED_SIGNALS, move |s| {
        let _ = killer.kill(s);
    })
    .map_err(|e| Error::Enclave(e.to_string()))?;
    let code = session.wait().map_err(agent_err(id, "wait for exec"));
    fwd.stop();
    code
}

/// Starts `rune enclave-exec-proxy PID` with the agent connection as its stdin; returns its pid.
fn spawn_proxy(session: ExecSession, id: &str) -> Result<u32> {
    let (stream, pid) = session.into_parts();
    let exe = std::env::current_exe().map_err(Error::io("locate the rune binary"))?;
    let child = Command::new(exe)
        .arg(PROXY_VERB)
        .arg(id)
        .arg(pid.to_string())
        .stdin(Stdio::from(OwnedFd::from(stream)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(Error::io("start the exec proxy"))?;
    // Not waited for: it outlives us and is reaped by our parent (containerd's shim is a
    // subreaper) with the payload's exit status.
    Ok(child.id())
}

/// The proxy's body: the agent connection is on stdin.
pub fn run_proxy(id: &str, pid: i32) -> Result<i32> {
    let fd = std::io::stdin().as_fd().try_clone_to_owned().map_err(Error::io("agent connection"))?;
    let stream = UnixStream::from(fd);
    // Our stdin must not keep the connection's other copy busy: nothing reads fd 0 but us.
    match wait_session(ExecSession::from_parts(stream, pid), id) {
        Ok(code) => Ok(code),
        // The agent went away (container stopped, init killed): report it as killed.
        Err(Error::Agent { .. }) => Ok(128 + libc::SIGKILL),
        Err(e) => Err(e),
    }
}

/// `rune attest`: evidence from the enclave runtime bound to `report_data`. `target_info`:
/// the PAL's target info; by default `report_data` itself (the software TEE's convention:
/// its first bytes are the report data).
pub fn attest(c: &Container, st: &EnclaveState, report_data: &[u8], target_info: Option<&[u8]>) -> Result<Vec<u8>> {
    if st.pal_version < 3 {
        return Err(Error::Enclave(format!(
            "container {:?}: attest needs PAL API v3 (pal_get_local_report); {} is v{}",
            c.id(),
            st.config.runtime_path.display(),
            st.pal_version
        )));
    }
    if report_data.len() > 64 {
        return Err(Error::Invalid(format!("--report-data is {} bytes, at most 64", report_data.len())));
    }
    let ti = target_info.unwrap_or(report_data);
    enclave::agent::local_report(&st.agent_socket, ti).map_err(agent_err(c.id(), "attest"))
}

/// Reads a hex string (optional `0x`, whitespace ignored).
pub fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let t: String = s.trim().trim_start_matches("0x").chars().filter(|c| !c.is_whitespace()).collect();
    if t.len() % 2 != 0 {
        return Err(Error::Invalid(format!("invalid hex {s:?}: odd number of digits")));
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).map_err(|_| Error::Invalid(format!("invalid hex {s:?}"))))
        .collect()
}

/// Reads a whole file (target info).
pub fn read_file(p: &Path) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    fs::File::open(p).and_then(|mut f| f.read_to_end(&mut v)).map_err(Error::io(format!("read {}", p.display())))?;
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(parse_hex("0x00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("é1").is_err());
    }

    #[test]
    fn derived_bundle_points_back_at_the_user_bundle() {
        let t = tempfile::tempdir().unwrap();
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "mounts": [
                {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind"]},
                {"destination": "/proc", "type": "proc", "source": "proc"}
            ]
        }))
        .unwrap();
        let dir = write_derived_bundle(&spec, Path::new("/b"), t.path(), "c1").unwrap();
        assert_eq!(dir, t.path().join(".c1.bundle"));
        let got = Spec::load(dir.join("config.json")).unwrap();
        assert_eq!(got.root().as_ref().unwrap().path(), Path::new("/b/rootfs"));
        let m = got.mounts().as_ref().unwrap();
        assert_eq!(m[0].source().as_deref(), Some(Path::new("/b/data")));
        assert_eq!(m[1].source().as_deref(), Some(Path::new("proc")));
    }

    #[test]
    fn plain_spec_needs_no_setup() {
        let t = tempfile::tempdir().unwrap();
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2", "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["sh"], "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
        }))
        .unwrap();
        assert!(prepare(&spec, Path::new("/b"), t.path(), "c").unwrap().is_none());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn bad_config_names_the_variable_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        for (env, want) in [
            ("ENCLAVE_TYPE=tdx", "ENCLAVE_TYPE (process.env): unknown enclave type \"tdx\""),
            ("ENCLAVE_RUNTIME_PATH=/nonexistent/libpal.so", "ENCLAVE_RUNTIME_PATH (process.env): cannot read enclave runtime"),
        ] {
            let spec: Spec = serde_json::from_value(serde_json::json!({
                "ociVersion": "1.0.2", "root": {"path": "rootfs"},
                "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0},
                    "env": ["ENCLAVE_TYPE=sample", "ENCLAVE_RUNTIME_PATH=/nonexistent/libpal.so", env]}
            }))
            .unwrap();
            let e = prepare(&spec, Path::new("/b"), t.path(), "c").err().unwrap().to_string();
            assert!(e.contains(want), "{e}");
            assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
        }
    }
}
