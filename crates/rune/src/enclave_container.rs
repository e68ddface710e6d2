//! Enclave containers, runtime side: what rune's `create`, `state`, `exec`, `attest` and `delete`
//! do differently when the bundle names an enclave runtime (`ENCLAVE_TYPE` / `enclave.type`). The
//! PAL side (config parsing, device injection, launching the PAL in the init process, the exec
//! agent) is the `enclave` crate.
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

use enclave::agent::{AgentServer, ConsoleSize, ExecRequest, ExecSession};
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
    Error::EnclaveConfig(Box::new(e))
}

/// Reads the enclave configuration of `spec` (`Ok(None)`: plain container) and prepares the
/// launch. Nothing is left on disk when this fails.
///
/// The PAL path comes from the container's config (the tenant's choice) and is loaded here, as
/// host root: it must be beneath a directory of the operator's allowlist `pal_dirs` (see
/// [`enclave::paldirs`]), checked before anything is opened for reading.
pub fn prepare(
    spec: &Spec,
    bundle: &Path,
    root: &Path,
    id: &str,
    pal_dirs: &enclave::PalDirs,
) -> Result<Option<Setup>> {
    let mut spec = spec.clone();
    let Some(cfg) = EnclaveConfig::from_spec(&mut spec).map_err(cfg_err)? else {
        return Ok(None);
    };
    // Check the PAL here, in the host namespaces, so a refused or missing file, a missing symbol
    // or an unsupported version fails before anything exists. (`pal_init` runs in the init
    // process.) It is opened once, through the allowlist, and loaded below.
    let pal_file = cfg.open_pal_in(pal_dirs).map_err(cfg_err)?;
    let injected = enclave::devices::inject(&mut spec, cfg.enclave_type, Path::new("/"))
        .map_err(|source| Error::EnclaveDevices { enclave_type: cfg.enclave_type, source })?;
    let derived_bundle = if injected.devices.is_empty() && injected.mounts.is_empty() {
        None
    } else {
        Some(write_derived_bundle(&spec, bundle, root, id)?)
    };
    let tmp_socket = root.join(format!(".{id}.agent.sock"));
    let server = match AgentServer::bind(&tmp_socket) {
        Ok(s) => s,
        Err(e) => return Err(Error::AgentSocket(e).with_cleanup(remove_derived(derived_bundle.as_deref()))),
    };
    // The check loads the PAL once, here; the init process (a fork of this one) inherits it.
    let (launch, pal_version) = match EnclaveLaunch::open_loaded_with_file(cfg.clone(), pal_file, server) {
        Ok(l) => l,
        Err(e) => {
            let mut cleanup = remove_file(&tmp_socket);
            cleanup.extend(remove_derived(derived_bundle.as_deref()));
            return Err(cfg_err(e).with_cleanup(cleanup));
        }
    };
    let state = EnclaveState {
        hardware: cfg.enclave_type.is_hardware(),
        config: cfg,
        pal_version,
        agent_socket: root.join(id).join(AGENT_SOCKET),
        derived_bundle,
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
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(Error::io(format!("create {}", dir.display())))?;
    }
    let data = serde_json::to_vec(&spec)
        .map_err(|source| Error::Json { what: "serialize the derived bundle's spec".into(), source })?;
    if let Err(e) = crate::state::write_private(&dir.join("config.json"), &data) {
        return Err(e.with_cleanup(remove_derived(Some(&dir))));
    }
    Ok(dir)
}

/// Removes a derived bundle; returns the failure, if any (a missing one is not).
fn remove_derived(dir: Option<&Path>) -> Vec<Error> {
    let Some(dir) = dir else { return Vec::new() };
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            vec![Error::Io { what: format!("remove derived bundle {}", dir.display()), source: e }]
        }
        _ => Vec::new(),
    }
}

/// Removes a file; returns the failure, if any (a missing file is not).
fn remove_file(p: &Path) -> Vec<Error> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            vec![Error::Io { what: format!("remove {}", p.display()), source: e }]
        }
        _ => Vec::new(),
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
        let data = serde_json::to_vec_pretty(&self.state)
            .map_err(|source| Error::Json { what: "serialize the enclave state".into(), source })?;
        fs::write(dir.join(STATE_FILE), data)
            .map_err(Error::io(format!("write {}", dir.join(STATE_FILE).display())))?;
        if self.state.derived_bundle.is_some() {
            c.state.bundle = user_bundle.to_path_buf();
            crate::state::save_atomic(c)?;
        }
        Ok(())
    }

    /// `create` failed: remove what [`prepare`] made; returns what could not be removed.
    pub fn abort(&self) -> Vec<Error> {
        let mut failed = remove_file(&self.tmp_socket);
        failed.extend(remove_derived(self.state.derived_bundle.as_deref()));
        failed
    }
}

/// The enclave state of the container whose directory is `dir` (`None`: plain container).
pub fn load_state(dir: &Path) -> Result<Option<EnclaveState>> {
    let p = dir.join(STATE_FILE);
    match fs::read(&p) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|source| Error::Json { what: format!("{}: malformed", p.display()), source }),
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

/// Removes what an enclave container keeps outside its directory; returns what could not be
/// removed.
pub fn cleanup_outside(st: &EnclaveState) -> Vec<Error> {
    remove_derived(st.derived_bundle.as_deref())
}

fn agent_err(id: &str, op: &'static str) -> impl FnOnce(enclave::AgentError) -> Error {
    let id = id.to_string();
    move |source| Error::Agent { id, op, source }
}

/// An exec request and whether it runs on a terminal (`--tty` or `process.terminal`).
struct ExecPlan {
    req: ExecRequest,
    tty: bool,
}

/// The exec request for `o`: `--process` file, else the container's own process with `--cwd`,
/// `--env` and the command line applied. `ENCLAVE_*` never reach the payload. Identity and
/// privilege options the enclave model cannot honour are refused ([`check_identity`]).
fn exec_plan(c: &Container, o: &ExecOpts) -> Result<ExecPlan> {
    let cfg_path = c.bundle().join("config.json");
    let malformed = |e: String| Error::Config { path: c.bundle().clone(), reason: format!("malformed: {e}") };
    let raw: serde_json::Value =
        serde_json::from_slice(&fs::read(&cfg_path).map_err(Error::io(format!("read {}", cfg_path.display())))?)
            .map_err(|e| malformed(e.to_string()))?;
    let spec: Spec = serde_json::from_value(raw.clone()).map_err(|e| malformed(e.to_string()))?;
    let base_raw = raw.get("process").cloned().unwrap_or(serde_json::Value::Null);
    let proc = spec.process().clone().unwrap_or_default();
    check_cli_identity(&o.id, &proc, &base_raw, o)?;
    let (argv, env, cwd, terminal, size) = match &o.process {
        Some(p) => {
            let data = fs::read(p).map_err(Error::io(format!("read {}", p.display())))?;
            let bad = |source| Error::Json { what: format!("{}: malformed process", p.display()), source };
            let file_raw: serde_json::Value = serde_json::from_slice(&data).map_err(bad)?;
            let fp: Process = serde_json::from_value(file_raw.clone()).map_err(bad)?;
            check_identity(&o.id, &base_raw, &file_raw, &format!("--process {}", p.display()))?;
            let size = fp.console_size().as_ref().map(|b| ConsoleSize {
                height: u16::try_from(b.height()).unwrap_or(u16::MAX),
                width: u16::try_from(b.width()).unwrap_or(u16::MAX),
            });
            (
                fp.args().clone().unwrap_or_default(),
                fp.env().clone().unwrap_or_default(),
                Some(fp.cwd().clone()),
                fp.terminal() == Some(true),
                size,
            )
        }
        None => {
            let mut env = proc.env().clone().unwrap_or_default();
            for kv in &o.env {
                let key = kv.split('=').next().unwrap_or_default();
                env.retain(|e| e.split('=').next() != Some(key));
                env.push(kv.clone());
            }
            (o.args.clone(), env, Some(o.cwd.clone().unwrap_or_else(|| proc.cwd().clone())), false, None)
        }
    };
    if argv.is_empty() {
        return Err(Error::NoCommand);
    }
    let tty = o.tty || terminal;
    Ok(ExecPlan {
        req: ExecRequest {
            argv,
            env: payload_env(&env),
            cwd: cwd.filter(|d| !d.as_os_str().is_empty()).map(|d| d.display().to_string()),
            path: None,
            tty,
            console_size: size,
        },
        tty,
    })
}

/// Why an exec option cannot be honoured for an enclave payload.
fn refused(id: &str, what: &str) -> Error {
    Error::ExecRefused { id: id.to_string(), what: what.to_string() }
}

/// Command-line options of `exec` that would change the payload's identity or privileges:
/// accepted only when they ask for what the container's process already has.
fn check_cli_identity(id: &str, base: &Process, base_raw: &serde_json::Value, o: &ExecOpts) -> Result<()> {
    let u = base.user();
    if let Some((uid, gid)) = o.user {
        if uid != u.uid() || gid.is_some_and(|g| g != u.gid()) {
            let asked = gid.map_or(uid.to_string(), |g| format!("{uid}:{g}"));
            return Err(refused(
                id,
                &format!("--user {asked} (the container's process runs as {}:{})", u.uid(), u.gid()),
            ));
        }
    }
    if !o.additional_gids.is_empty() {
        let want: std::collections::BTreeSet<u32> = o.additional_gids.iter().copied().collect();
        let have: std::collections::BTreeSet<u32> =
            u.additional_gids().clone().unwrap_or_default().into_iter().collect();
        if want != have {
            return Err(refused(id, &format!("--additional-gids {:?} (the container's process has {:?})", want, have)));
        }
    }
    for cap in &o.caps {
        let name = cap.to_ascii_uppercase();
        let name = if name.starts_with("CAP_") { name } else { format!("CAP_{name}") };
        let held = ["bounding", "effective", "permitted"].iter().all(|set| {
            base_raw
                .pointer(&format!("/capabilities/{set}"))
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().any(|c| c.as_str() == Some(&name)))
        });
        if !held {
            return Err(refused(id, &format!("--cap {cap} (not a capability the container's process holds)")));
        }
    }
    if o.no_new_privs && base.no_new_privileges() != Some(true) {
        return Err(refused(id, "--no-new-privs (the container's process does not have no_new_privs)"));
    }
    if o.apparmor.as_ref().is_some_and(|a| Some(a) != base.apparmor_profile().as_ref()) {
        return Err(refused(id, "--apparmor (differs from the container's profile)"));
    }
    if o.process_label.as_ref().is_some_and(|l| Some(l) != base.selinux_label().as_ref()) {
        return Err(refused(id, "--process-label (differs from the container's label)"));
    }
    if let Some(cg) = &o.cgroup {
        return Err(refused(id, &format!("--cgroup {cg} (payloads stay in the container's cgroup)")));
    }
    if o.preserve_fds > 0 {
        return Err(Error::ExecPreserveFds { id: id.to_string(), count: o.preserve_fds });
    }
    Ok(())
}

/// Members of an OCI process that an exec may set freely; every other member present in a
/// `--process` file must equal the container's own (see [`refused`]).
const EXEC_OWN_FIELDS: &[&str] = &["args", "env", "cwd", "terminal", "consoleSize", "commandLine"];

/// Arrays compared as sets (capabilities, additionalGids, rlimits); `null`, `false`, `0`, `""`,
/// `[]` and `{}` all mean "unset".
fn normalize(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalize).collect();
            items.sort_by_key(|x| x.to_string());
            items.dedup();
            if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items)
            }
        }
        Value::Object(o) => {
            let m: serde_json::Map<String, Value> =
                o.iter().map(|(k, v)| (k.clone(), normalize(v))).filter(|(_, v)| !v.is_null()).collect();
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        }
        Value::Bool(false) => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Number(n) if n.as_u64() == Some(0) => Value::Null,
        other => other.clone(),
    }
}

/// A `--process` file's identity and privileges (user, capabilities, noNewPrivileges, rlimits,
/// apparmorProfile, selinuxLabel, ...) must be the container process's: members the file sets
/// are compared with the container's config.json (`user` member by member).
fn check_identity(id: &str, base: &serde_json::Value, file: &serde_json::Value, what: &str) -> Result<()> {
    let Some(obj) = file.as_object() else {
        return Err(Error::NotAnObject { what: what.to_string() });
    };
    let mut fields: Vec<(&String, &serde_json::Value)> = obj.iter().collect();
    fields.sort_by_key(|(k, _)| *k);
    for (k, v) in fields {
        if EXEC_OWN_FIELDS.contains(&k.as_str()) {
            continue;
        }
        let mut pairs: Vec<(String, &serde_json::Value, serde_json::Value)> = match (k.as_str(), v.as_object()) {
            ("user", Some(u)) => u
                .iter()
                .map(|(uk, uv)| {
                    (format!("user.{uk}"), uv, base.pointer(&format!("/user/{uk}")).cloned().unwrap_or_default())
                })
                .collect(),
            _ => vec![(k.clone(), v, base.get(k).cloned().unwrap_or_default())],
        };
        // The first difference is reported: name it in the same order whatever the JSON map's
        // iteration order (serde_json's `preserve_order` feature may be on in a workspace build).
        let rank = |n: &str| ["user.uid", "user.gid"].iter().position(|x| *x == n).unwrap_or(2);
        pairs.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
        for (name, want, have) in pairs {
            if normalize(want) != normalize(&have) {
                return Err(refused(id, &format!("{what}: {name} = {want} (the container's process has {have})")));
            }
        }
    }
    Ok(())
}

pub(crate) fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    // runc writes the pid file atomically (temp file + rename): the shim may be polling it.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, pid.to_string()).map_err(Error::io(format!("write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(Error::io(format!("write {}", path.display())))
}

/// `rune exec` into an enclave container.
pub fn exec(c: &Container, st: &EnclaveState, o: &ExecOpts) -> Result<i32> {
    let plan = exec_plan(c, o)?;
    // runc's rules for terminals and console sockets.
    if o.detach && plan.tty && o.console_socket.is_none() {
        return Err(Error::ExecTtyNeedsConsoleSocket);
    }
    if (!o.detach || !plan.tty) && o.console_socket.is_some() {
        return Err(Error::ExecConsoleSocketUnexpected);
    }
    let (session, master) = if plan.tty {
        // The agent opens the terminal inside the container (the payload's stdio is its slave).
        let (s, m) = enclave::agent::exec_tty(&st.agent_socket, &plan.req).map_err(agent_err(&o.id, "exec"))?;
        (s, Some(m))
    } else {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let s = enclave::agent::exec(&st.agent_socket, &plan.req, [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()])
            .map_err(agent_err(&o.id, "exec"))?;
        (s, None)
    };
    if o.detach {
        if let (Some(m), Some(sock)) = (&master, &o.console_socket) {
            enclave::agent::send_console_master(sock, m.as_fd()).map_err(agent_err(&o.id, "exec"))?;
        }
        drop(master);
        let pid = spawn_proxy(session, &o.id)?;
        if let Some(p) = &o.pid_file {
            write_pid_file(p, pid)?;
        }
        return Ok(0);
    }
    if let Some(p) = &o.pid_file {
        write_pid_file(p, std::process::id())?;
    }
    match master {
        Some(m) => foreground_tty(session, m, &o.id),
        None => wait_session(session, &o.id),
    }
}

/// `exec --tty` without `--detach`: like runc, relay our stdin/stdout to the terminal's master
/// (our own terminal, if any, in raw mode meanwhile) until the payload exits.
fn foreground_tty(session: ExecSession, master: OwnedFd, id: &str) -> Result<i32> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut raw = t.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
    }
    let mut to_payload = fs::File::from(master.try_clone().map_err(Error::io("duplicate the terminal master"))?);
    // Input: not joined (a read of our stdin may block forever); it dies with the process.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_payload);
    });
    let mut from_payload = fs::File::from(master);
    // Output: until EIO, i.e. every slave descriptor is closed (the payload exited and the agent
    // dropped its copy).
    let out = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_payload, &mut std::io::stdout().lock());
    });
    let code = wait_session(session, id);
    let _ = out.join();
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
    }
    code
}

/// Forwards our signals to the payload and returns its exit code.
fn wait_session(session: ExecSession, id: &str) -> Result<i32> {
    let killer = session.killer().map_err(agent_err(id, "exec"))?;
    let fwd = enclave::runelet::SignalForwarder::start(enclave::runelet::FORWARDED_SIGNALS, move |s| {
        let _ = killer.kill(s);
    })
    .map_err(Error::SignalForwarding)?;
    let code = session.wait().map_err(agent_err(id, "wait for exec"));
    fwd.stop();
    code
}

/// Starts `rune enclave-exec-proxy PID` with the agent connection as its stdin; returns its pid.
fn spawn_proxy(session: ExecSession, id: &str) -> Result<u32> {
    let (stream, pid) = session.into_parts();
    // This process runs from a sealed clone of rune's binary (see `crate::exe`) whose path
    // (readlink of /proc/self/exe) names nothing on the host: exec the clone itself.
    let child = Command::new("/proc/self/exe")
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
        return Err(Error::AttestNeedsV3 {
            id: c.id().to_string(),
            pal: st.config.runtime_path.clone(),
            version: st.pal_version,
        });
    }
    if report_data.len() > 64 {
        return Err(Error::ReportDataTooLong(report_data.len()));
    }
    let ti = target_info.unwrap_or(report_data);
    enclave::agent::local_report(&st.agent_socket, ti).map_err(agent_err(c.id(), "attest"))
}

/// Reads a hex string (optional `0x`, whitespace ignored).
pub fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let t: String = s.trim().trim_start_matches("0x").chars().filter(|c| !c.is_whitespace()).collect();
    if !t.len().is_multiple_of(2) {
        return Err(Error::HexOddLength(s.to_string()));
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).map_err(|_| Error::Hex(s.to_string())))
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
    fn exec_identity_must_be_the_containers() {
        use serde_json::json;
        let base = json!({"user": {"uid": 0, "gid": 0, "additionalGids": [10, 0]}, "noNewPrivileges": true,
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"]}});
        // Equal values pass: arrays as sets, unset == empty, exec-owned members ignored.
        let same = json!({"args": ["x"], "env": ["A=1"], "terminal": true, "consoleSize": {"height": 1, "width": 2},
            "user": {"uid": 0, "additionalGids": [0, 10, 10]}, "noNewPrivileges": true,
            "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"], "ambient": []}});
        assert!(check_identity("c", &base, &same, "--process f").is_ok());
        let e = check_identity("c", &base, &json!({"user": {"uid": 1000}}), "--process f").unwrap_err().to_string();
        assert!(e.contains("user.uid = 1000") && e.contains("refused for an enclave container"), "{e}");
        assert!(check_identity("c", &base, &json!({"capabilities": {"bounding": ["CAP_SYS_ADMIN"]}}), "f").is_err());
        assert!(check_identity("c", &base, &json!({"noNewPrivileges": false}), "f").is_err());
        assert!(check_identity("c", &base, &json!({"apparmorProfile": "unconfined"}), "f").is_err());
        assert!(check_identity("c", &base, &json!(["not", "an", "object"]), "f").is_err());
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
        assert!(prepare(&spec, Path::new("/b"), t.path(), "c", &enclave::PalDirs::default()).unwrap().is_none());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn bad_config_names_the_variable_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        for (env, want) in [
            ("ENCLAVE_TYPE=tdx", "ENCLAVE_TYPE (process.env): unknown enclave type \"tdx\""),
            ("ENCLAVE_RUNTIME_PATH=/nonexistent/libpal.so", "ENCLAVE_RUNTIME_PATH (process.env): enclave runtime /nonexistent/libpal.so refused: not beneath an allowed PAL directory"),
        ] {
            let spec: Spec = serde_json::from_value(serde_json::json!({
                "ociVersion": "1.0.2", "root": {"path": "rootfs"},
                "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0},
                    "env": ["ENCLAVE_TYPE=sample", "ENCLAVE_RUNTIME_PATH=/nonexistent/libpal.so", env]}
            }))
            .unwrap();
            let e = prepare(&spec, Path::new("/b"), t.path(), "c", &enclave::PalDirs::default()).err().unwrap().to_string();
            assert!(e.contains(want), "{e}");
            assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
        }
    }
}
