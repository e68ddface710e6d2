//! The runtime: one method per runc verb, on top of libcontainer. Validation happens here, before
//! anything is created, so bad input leaves no state directory, cgroup or mount behind.

use std::fs;
use std::path::{Path, PathBuf};

use libcgroups::common::{CgroupManager, ControllerOpt};
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxResources, Spec};

use crate::error::{Error, Result};
use crate::executor::RuneExecutor;
use crate::state::{status_str, StateJson};

/// Default state root, as `runc` uses `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/rune";

#[derive(Debug, Clone)]
pub struct Runtime {
    pub root: PathBuf,
    pub systemd_cgroup: bool,
    pub rootless: bool,
    /// The operator's allowlist of PAL directories (`--pal-dir`, `pal_dirs` in the config file):
    /// an enclave container's `ENCLAVE_RUNTIME_PATH` must name a file beneath one of them.
    pub pal_dirs: enclave::PalDirs,
}

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
}

/// Options of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    pub id: String,
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<(u32, Option<u32>)>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub detach: bool,
    pub preserve_fds: i32,
    pub cgroup: Option<String>,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub ignore_paused: bool,
}

/// runc's rule: `^[\w+-\.]+$`, and not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| Err(Error::InvalidId { id: id.to_string(), reason });
    if id.is_empty() {
        return bad("empty");
    }
    if id == "." || id == ".." {
        return bad("must not be . or ..");
    }
    if id.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')) {
        return bad("only letters, digits, '_', '+', '-' and '.' are allowed");
    }
    Ok(())
}

/// Loads and checks a bundle's config.json and rootfs. Returns the spec and the absolute rootfs.
pub fn load_bundle(bundle: &Path) -> Result<(Spec, PathBuf)> {
    let bundle_err = |reason: String| Error::Bundle { path: bundle.to_path_buf(), reason };
    let meta = fs::metadata(bundle).map_err(|e| bundle_err(format!("cannot access: {e}")))?;
    if !meta.is_dir() {
        return Err(bundle_err("not a directory".into()));
    }
    let cfg = bundle.join("config.json");
    let data = fs::read(&cfg).map_err(|e| Error::Config {
        path: bundle.to_path_buf(),
        reason: if e.kind() == std::io::ErrorKind::NotFound { "missing".into() } else { format!("cannot read: {e}") },
    })?;
    let spec: Spec = serde_json::from_slice(&data)
        .map_err(|e| Error::Config { path: bundle.to_path_buf(), reason: format!("malformed: {e}") })?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::Config { path: bundle.to_path_buf(), reason: "root.path is not set".into() })?;
    let rootfs = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    match fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bundle_err(format!("rootfs {} is not a directory", rootfs.display()))),
        Err(e) => return Err(bundle_err(format!("rootfs {} does not exist: {e}", rootfs.display()))),
    }
    if spec.process().as_ref().and_then(|p| p.args().as_ref()).is_none_or(|a| a.is_empty()) {
        return Err(Error::Config { path: bundle.to_path_buf(), reason: "process.args must not be empty".into() });
    }
    // The spec requires an absolute cwd; runc and crun refuse an empty one too.
    if let Some(cwd) = spec.process().as_ref().map(|p| p.cwd()).filter(|c| !c.is_absolute()) {
        let reason = format!("process.cwd {:?} must be an absolute path", cwd.display().to_string());
        return Err(Error::Config { path: bundle.to_path_buf(), reason });
    }
    Ok((spec, rootfs))
}

/// Waits until `pid` has exited (a zombie or gone), polling /proc with a short, growing interval.
fn wait_exited(pid: Pid, limit: std::time::Duration) {
    let stat = format!("/proc/{}/stat", pid.as_raw());
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_micros(50);
    while start.elapsed() < limit {
        match fs::read_to_string(&stat) {
            // The state is the field after the parenthesised command name.
            Ok(s) if s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')) => {
                return
            }
            Ok(_) => {}
            Err(_) => return,
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(2));
    }
}

/// In a container's state directory: the name of its session keyring, for `exec`.
const KEYRING_FILE: &str = "session-keyring";

fn has_user_namespace(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User))
}

fn spec_disables_oom_killer(spec: &Spec) -> Option<bool> {
    spec.linux().as_ref()?.resources().as_ref()?.memory().as_ref()?.disable_oom_killer()
}

/// `linux.resources.memory.disableOOMKiller`: cgroup v1 `memory.oom_control` of the container's
/// memory cgroup (found through /proc/<init>/cgroup). cgroup v2 has no such knob; like runc and
/// crun, rune then leaves the kernel's OOM killer on.
fn apply_disable_oom_killer(c: &Container, spec: &Spec) -> Result<()> {
    if spec_disables_oom_killer(spec) != Some(true) {
        return Ok(());
    }
    let Some(pid) = c.pid() else { return Ok(()) };
    let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(Error::io(format!("read cgroups of container {} (pid {pid})", c.id())))?;
    let Some(rel) = cgroups.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        ctrls.split(',').any(|x| x == "memory").then(|| path.trim_start_matches('/').to_string())
    }) else {
        return Ok(());
    };
    let mount = libcgroups::v1::util::get_subsystem_mount_point(&libcgroups::v1::ControllerType::Memory)
        .map_err(|e| Error::MemoryMountPoint(Box::new(e)))?;
    let file = mount.join(rel).join("memory.oom_control");
    fs::write(&file, "1").map_err(Error::io(format!("disable the OOM killer in {}", file.display())))
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Runtime { root: root.into(), systemd_cgroup: false, rootless: false, pal_dirs: enclave::PalDirs::default() }
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The state root, made 0700 (as runc makes its root): container directories hold sockets
    /// into the containers and their configs. A root that exists and is ours is tightened to 0700
    /// (one left by an older rune); someone else's is left alone.
    fn ensure_root(&self) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let what = || format!("create state root {}", self.root.display());
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.root).map_err(Error::io(what()))?;
        let meta = fs::metadata(&self.root).map_err(Error::io(what()))?;
        if meta.mode() & 0o077 != 0 && meta.uid() == nix::unistd::geteuid().as_raw() {
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700)).map_err(Error::io(what()))?;
        }
        Ok(())
    }

    /// Loads a container's state and refreshes its status from the kernel.
    pub fn load(&self, id: &str) -> Result<Container> {
        validate_id(id)?;
        let dir = self.container_dir(id);
        if !dir.join(crate::state::STATE_FILE).exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        let mut c = Container::load(dir.clone()).map_err(|e| match crate::state::damage(&dir) {
            // A state file that does not parse is named as such (and `delete --force` handles it).
            Some(reason) => {
                Error::DamagedState { id: id.to_string(), path: dir.join(crate::state::STATE_FILE), reason }
            }
            None => Error::lc(format!("load state of container {id}"))(e),
        })?;
        c.refresh_status().map_err(Error::lc(format!("refresh status of container {id}")))?;
        Ok(c)
    }

    fn bundle_rootfs(c: &Container) -> PathBuf {
        load_bundle(c.bundle()).map(|(_, r)| r).unwrap_or_else(|_| c.bundle().join("rootfs"))
    }

    pub fn create(&self, o: &CreateOpts, detach: bool) -> Result<Container> {
        validate_id(&o.id)?;
        let bundle = fs::canonicalize(&o.bundle)
            .map_err(|e| Error::Bundle { path: o.bundle.clone(), reason: format!("cannot access: {e}") })?;
        let (spec, _rootfs) = load_bundle(&bundle)?;
        self.ensure_root()?;
        let dir = self.container_dir(&o.id);
        if dir.exists() {
            return Err(Error::AlreadyExists(o.id.clone()));
        }
        // Enclave containers: config, PAL check and agent socket before anything is cloned.
        let enclave = crate::enclave_container::prepare(&spec, &bundle, &self.root, &o.id, &self.pal_dirs)?;
        let executor = RuneExecutor::for_spec(&spec, enclave.as_ref());
        let lc_bundle = enclave.as_ref().map_or(bundle.as_path(), |e| e.bundle(&bundle)).to_path_buf();
        // The container inherits rune's session keyring: join its own first (see `keyring`).
        let keyring = if o.no_new_keyring {
            None
        } else {
            let name = crate::keyring::session_name(&o.id);
            match crate::keyring::join(&name, has_user_namespace(&spec))? {
                crate::keyring::Joined::Keyring(_) => Some(name),
                crate::keyring::Joined::Unsupported => None,
            }
        };
        let built = match crate::direct_create::unsupported(&spec, self.systemd_cgroup, self.rootless) {
            // rune's own create path (see `direct_create`): no intermediate process, one cgroup lookup.
            None => {
                tracing::debug!(id = %o.id, "create through rune's own path");
                crate::direct_create::create(crate::direct_create::Launch {
                    id: &o.id,
                    bundle: &lc_bundle,
                    state_root: &self.root,
                    pid_file: o.pid_file.as_deref(),
                    console_socket: o.console_socket.as_deref(),
                    preserve_fds: o.preserve_fds,
                    detach,
                    no_pivot: o.no_pivot,
                    systemd: self.systemd_cgroup,
                    executor: Box::new(executor),
                    // Parsed once: an enclave container's rewritten bundle has its own config.
                    spec: (lc_bundle == bundle).then_some(spec),
                })
            }
            Some(reason) => {
                tracing::debug!(id = %o.id, %reason, "create through libcontainer's builder");
                self.create_with_libcontainer(o, &spec, &lc_bundle, executor, detach)
            }
        };
        let mut c = match built {
            Ok(c) => c,
            Err(e) => {
                let mut cleanup = enclave.as_ref().map(|en| en.abort()).unwrap_or_default();
                // Both paths clean up after themselves and report what they could not undo;
                // when they could undo everything, make sure nothing is left.
                if !matches!(e, Error::CreateCleanup { .. }) {
                    cleanup.extend(self.remove_leftovers(&o.id, true));
                }
                return Err(e.with_cleanup(cleanup));
            }
        };
        // `exec` joins the same keyring only when `create` made one.
        let finish = keyring
            .as_ref()
            .map_or(Ok(()), |name| {
                fs::write(dir.join(KEYRING_FILE), name).map_err(Error::io("record the session keyring"))
            })
            .and_then(|()| match &enclave {
                Some(en) => en.commit(&mut c, &bundle),
                None => Ok(()),
            })
            // The container directory 0700 and its files 0600 (both create paths, every file).
            .and_then(|()| crate::state::restrict(&dir));
        match finish {
            Ok(()) => Ok(c),
            Err(e) => {
                // libcontainer's delete, once (a second try in `remove_leftovers` would only
                // repeat its failure), then whatever is left.
                let mut cleanup: Vec<Error> =
                    c.delete(true).err().map(Error::lc(format!("delete container {}", o.id))).into_iter().collect();
                if let Some(en) = &enclave {
                    cleanup.extend(en.abort());
                }
                cleanup.extend(self.remove_leftovers(&o.id, false));
                Err(e.with_cleanup(cleanup))
            }
        }
    }

    /// `create` through libcontainer's builder, for what [`crate::direct_create`] does not handle.
    fn create_with_libcontainer(
        &self,
        o: &CreateOpts,
        spec: &Spec,
        lc_bundle: &Path,
        executor: RuneExecutor,
        detach: bool,
    ) -> Result<Container> {
        let built = ContainerBuilder::new(o.id.clone(), SyscallType::default())
            .with_executor(executor)
            .with_pid_file(o.pid_file.as_ref())
            .map_err(Error::lc("pid file"))?
            .with_console_socket(o.console_socket.as_ref())
            .with_root_path(&self.root)
            .map_err(Error::lc("state root"))?
            .with_preserved_fds(o.preserve_fds)
            .validate_id()
            .map_err(Error::lc("container id"))?
            .as_init(lc_bundle)
            .with_systemd(self.systemd_cgroup)
            .with_detach(detach)
            .with_no_pivot(o.no_pivot)
            .build()
            .map_err(|e| Error::Container { context: format!("create container {}", o.id), source: Box::new(e) })?;
        // Not applied by libcontainer 0.7 (it always passes `false`); runc applies it at create.
        if let Err(e) = apply_disable_oom_killer(&built, spec) {
            let mut c = built;
            let cleanup = c.delete(true).err().map(Error::lc(format!("delete container {}", o.id)));
            return Err(e.with_cleanup(cleanup.into_iter().collect()));
        }
        Ok(built)
    }

    /// Removes what a failed `create` may have left of container `id` (first through
    /// libcontainer's delete when `delete_container`); returns what could not be removed.
    fn remove_leftovers(&self, id: &str, delete_container: bool) -> Vec<Error> {
        let dir = self.container_dir(id);
        let mut failed = Vec::new();
        if dir.exists() {
            if let Some(mut c) = delete_container.then(|| Container::load(dir.clone()).ok()).flatten() {
                if let Err(e) = c.delete(true) {
                    failed.push(Error::lc(format!("delete container {id}"))(e));
                }
            }
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    failed.push(Error::Io { what: format!("remove state directory {}", dir.display()), source: e })
                }
            }
        }
        failed
    }

    pub fn start(&self, id: &str) -> Result<()> {
        let mut c = self.load(id)?;
        if c.status() != ContainerStatus::Created {
            return Err(Error::BadState {
                id: id.into(),
                status: status_str(c.status()).into(),
                op: "start (not created)",
            });
        }
        c.start().map_err(Error::lc(format!("start container {id}")))
    }

    /// `run`: create + start; in the foreground it forwards signals, waits, deletes and returns the
    /// exit code (128+signal when killed, as runc).
    pub fn run(&self, o: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
        let mut c = self.create(o, detach)?;
        if let Err(e) = c.start() {
            let cleanup = c.delete(true).err().map(Error::lc(format!("delete container {}", o.id)));
            let e = Error::Container { context: format!("start container {}", o.id), source: Box::new(e) };
            return Err(e.with_cleanup(cleanup.into_iter().collect()));
        }
        if detach {
            return Ok(0);
        }
        let pid = c.pid().ok_or_else(|| Error::NoInitPid(o.id.clone()))?;
        let code = crate::executor::forward_and_wait(pid)?;
        if !keep {
            // The init process is gone: remove everything. Use the state we already hold (a
            // reload can race with the kernel tearing the process down) and retry once.
            let _ = c.refresh_status();
            if !matches!(crate::direct_create::delete(&mut c), Ok(true)) && c.delete(true).is_err() {
                self.delete(&o.id, true)?;
            }
        }
        Ok(code)
    }

    pub fn state(&self, id: &str) -> Result<StateJson> {
        let c = self.load(id)?;
        let enclave = crate::enclave_container::state_json(&c.root);
        Ok(StateJson::from_container(&c, Self::bundle_rootfs(&c), enclave))
    }

    pub fn kill(&self, id: &str, sig: Signal, all: bool) -> Result<()> {
        let mut c = self.load(id)?;
        if c.status() == ContainerStatus::Stopped && !all {
            return Err(Error::BadState {
                id: id.into(),
                status: "stopped".into(),
                op: "kill (container not running)",
            });
        }
        c.kill(sig, all).map_err(Error::lc(format!("kill container {id}")))
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        validate_id(id)?;
        let dir = self.container_dir(id);
        if !dir.join(crate::state::STATE_FILE).exists() {
            // An aborted create can leave a directory without state: remove it like runc does.
            let existed = dir.exists();
            let _ = fs::remove_dir_all(&dir);
            if force || existed {
                return Ok(());
            }
            return Err(Error::NotFound(id.to_string()));
        }
        let mut c = match self.load(id) {
            Err(Error::DamagedState { reason, .. }) if force => {
                return crate::direct_create::delete_damaged(&dir, &reason);
            }
            r => r?,
        };
        if !force && !matches!(c.status(), ContainerStatus::Stopped | ContainerStatus::Created) {
            return Err(Error::BadState {
                id: id.into(),
                status: status_str(c.status()).into(),
                op: "delete (use --force)",
            });
        }
        let enclave = crate::enclave_container::load_state(&dir).ok().flatten();
        if force && matches!(c.status(), ContainerStatus::Created | ContainerStatus::Running | ContainerStatus::Paused)
        {
            // libcontainer kills and at once removes the cgroup; while the processes are still
            // exiting that fails and libcgroups sleeps 10 ms (then 20, 60, ...) before retrying.
            // Kill first and wait (bounded) for the init process to be gone.
            if let Some(pid) = c.pid() {
                if crate::direct_create::kill_all(&c) || c.kill(Signal::SIGKILL, true).is_ok() {
                    wait_exited(pid, std::time::Duration::from_secs(1));
                }
                let _ = c.refresh_status();
            }
        }
        if !crate::direct_create::delete(&mut c)? {
            c.delete(force).map_err(Error::lc(format!("delete container {id}")))?;
        }
        if let Some(st) = enclave {
            // The container is gone; what is left outside its directory is reported, not fatal.
            for e in crate::enclave_container::cleanup_outside(&st) {
                tracing::warn!(id, error = %e, "delete: enclave container cleanup");
            }
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<StateJson>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::Io { what: format!("read state root {}", self.root.display()), source: e }),
        };
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            if let Ok(s) = self.state(&name) {
                out.push(s);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub fn pause(&self, id: &str) -> Result<()> {
        self.load(id)?.pause().map_err(Error::lc(format!("pause container {id}")))
    }

    pub fn resume(&self, id: &str) -> Result<()> {
        self.load(id)?.resume().map_err(Error::lc(format!("resume container {id}")))
    }

    fn cgroup_manager(&self, c: &Container) -> Result<libcgroups::common::AnyCgroupManager> {
        let cfg = c.spec().map_err(Error::lc(format!("read config of {}", c.id())))?;
        libcgroups::common::create_cgroup_manager(libcgroups::common::CgroupConfig {
            cgroup_path: cfg.cgroup_path,
            systemd_cgroup: c.systemd(),
            container_name: c.id().to_string(),
        })
        .map_err(|e| Error::CgroupSetup { id: c.id().to_string(), source: Box::new(e) })
    }

    pub fn ps(&self, id: &str) -> Result<Vec<i32>> {
        let c = self.load(id)?;
        let m = self.cgroup_manager(&c)?;
        let pids = m.get_all_pids().map_err(|e| Error::CgroupManager {
            id: id.into(),
            op: "list processes",
            source: Box::new(e),
        })?;
        Ok(pids.iter().map(|p| p.as_raw()).collect())
    }

    pub fn update(&self, id: &str, res: &LinuxResources) -> Result<()> {
        let c = self.load(id)?;
        if c.status() == ContainerStatus::Stopped {
            return Err(Error::BadState { id: id.into(), status: "stopped".into(), op: "update" });
        }
        let m = self.cgroup_manager(&c)?;
        // libcgroups rewrites memory.oom_control whenever memory is updated: keep what the
        // update asks for, else what the container was created with.
        let disable_oom_killer = res
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .or_else(|| load_bundle(c.bundle()).ok().and_then(|(spec, _)| spec_disables_oom_killer(&spec)))
            .unwrap_or(false);
        m.apply(&ControllerOpt { resources: res, disable_oom_killer, oom_score_adj: None, freezer_state: None })
            .map_err(|e| Error::CgroupManager { id: id.into(), op: "update resources", source: Box::new(e) })
    }

    /// One runc-format stats event for a running container.
    pub fn stats(&self, id: &str) -> Result<serde_json::Value> {
        let c = self.load(id)?;
        if c.status() == ContainerStatus::Stopped {
            return Err(Error::BadState { id: id.into(), status: "stopped".into(), op: "collect stats" });
        }
        let m = self.cgroup_manager(&c)?;
        let s =
            m.stats().map_err(|e| Error::CgroupManager { id: id.into(), op: "collect stats", source: Box::new(e) })?;
        Ok(crate::events::stats_event(id, &s))
    }

    /// `events`: calls `emit` with a stats event every `interval` until the container stops or
    /// `emit` returns false; with `once`, emits a single event.
    pub fn events(
        &self,
        id: &str,
        interval: std::time::Duration,
        once: bool,
        mut emit: impl FnMut(&serde_json::Value) -> bool,
    ) -> Result<()> {
        loop {
            let ev = self.stats(id)?;
            if !emit(&ev) || once {
                return Ok(());
            }
            std::thread::sleep(interval);
            match self.load(id) {
                Ok(c) if c.status() != ContainerStatus::Stopped => {}
                _ => return Ok(()),
            }
        }
    }

    pub fn exec(&self, o: &ExecOpts) -> Result<i32> {
        let c = self.load(&o.id)?;
        if c.status() != ContainerStatus::Running && !(o.ignore_paused && c.status() == ContainerStatus::Paused) {
            return Err(Error::BadState { id: o.id.clone(), status: status_str(c.status()).into(), op: "exec" });
        }
        if let Some(st) = crate::enclave_container::load_state(&c.root)? {
            return crate::enclave_container::exec(&c, &st, o);
        }
        // Without `--process`, build one from the container's own process as runc does (see
        // `exec_process`) and hand libcontainer the file: its own defaults differ from runc's.
        let spec = Spec::load(c.bundle().join("config.json"));
        let (process, tmp_process) = match &o.process {
            Some(p) => (p.clone(), None),
            None => {
                let base = spec
                    .as_ref()
                    .map_err(|e| Error::Config { path: c.bundle().clone(), reason: format!("malformed: {e}") })?;
                let p = exec_process_file(&c, base, o)?;
                (p.clone(), Some(p))
            }
        };
        let spec = spec.ok();
        // runc's exec joins the container's session keyring too (not the caller's).
        if let Ok(name) = fs::read_to_string(c.root.join(KEYRING_FILE)) {
            crate::keyring::join(name.trim(), spec.as_ref().is_some_and(has_user_namespace))?;
        }
        let executor = spec.as_ref().map(|s| RuneExecutor::for_spec(s, None)).unwrap_or_default();
        let built = ContainerBuilder::new(o.id.clone(), SyscallType::default())
            .with_executor(executor)
            .with_root_path(&self.root)
            .map_err(Error::lc("state root"))?
            .with_console_socket(o.console_socket.as_ref())
            .with_pid_file(o.pid_file.as_ref())
            .map_err(Error::lc("pid file"))?
            .with_preserved_fds(o.preserve_fds)
            .as_tenant()
            .with_detach(o.detach)
            .with_process(Some(&process))
            .with_ignore_paused(o.ignore_paused)
            .with_sub_cgroup(o.cgroup.clone())
            .with_apparmor(o.apparmor.clone())
            .with_process_label(o.process_label.clone())
            .build();
        if let Some(p) = tmp_process {
            if let Err(error) = fs::remove_file(&p) {
                tracing::warn!(path = %p.display(), %error, "exec: remove the temporary process file");
            }
        }
        let pid = built.map_err(Error::lc(format!("exec in container {}", o.id)))?;
        if o.detach {
            return Ok(0);
        }
        crate::executor::forward_and_wait(pid)
    }
}

impl Runtime {
    /// `attest` (rune only): evidence from a running enclave container's runtime, bound to
    /// `report_data` (see [`crate::enclave_container::attest`]).
    pub fn attest(&self, id: &str, report_data: &[u8], target_info: Option<&[u8]>) -> Result<Vec<u8>> {
        let c = self.load(id)?;
        let st = crate::enclave_container::load_state(&c.root)?.ok_or_else(|| Error::NotEnclave(id.to_string()))?;
        if c.status() != ContainerStatus::Running {
            return Err(Error::BadState {
                id: id.into(),
                status: status_str(c.status()).into(),
                op: "attest (not running)",
            });
        }
        crate::enclave_container::attest(&c, &st, report_data, target_info)
    }
}

/// The process of an `exec` without `--process`, as runc builds it: the container's own
/// `process` (user, capabilities, rlimits, no-new-privileges, labels, ...) with the command line's
/// arguments, `--tty`, `--cwd`, `--env` (replacing same-named variables), `--user`,
/// `--additional-gids`, `--cap` (added to the bounding, effective and permitted sets, and to the
/// ambient set when the spec has inheritable ones), `--no-new-privs`, `--apparmor` and
/// `--process-label`. libcontainer's own default would run the command as root with its own
/// capability set, whatever user the container runs as.
pub fn exec_process(spec: &Spec, o: &ExecOpts) -> Result<oci_spec::runtime::Process> {
    use oci_spec::runtime::Capability;
    let mut proc = spec.process().clone().unwrap_or_default();
    if o.args.is_empty() {
        return Err(Error::NoCommand);
    }
    proc.set_args(Some(o.args.clone()));
    proc.set_terminal(Some(o.tty));
    proc.set_console_size(None);
    if let Some(cwd) = &o.cwd {
        proc.set_cwd(cwd.clone());
    }
    if !o.env.is_empty() {
        let mut env = proc.env().clone().unwrap_or_default();
        for kv in &o.env {
            let key = kv.split('=').next().unwrap_or_default();
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        proc.set_env(Some(env));
    }
    let mut user = proc.user().clone();
    if let Some((uid, gid)) = o.user {
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    if !o.additional_gids.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        gids.extend(&o.additional_gids);
        user.set_additional_gids(Some(gids));
    }
    proc.set_user(user);
    if !o.caps.is_empty() {
        let mut caps = proc.capabilities().clone().unwrap_or_default();
        for name in &o.caps {
            let upper = name.to_ascii_uppercase();
            let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
            let cap: Capability = serde_json::from_value(serde_json::Value::String(full))
                .map_err(|_| Error::UnknownCapability(name.clone()))?;
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut set = set.clone().unwrap_or_default();
                set.insert(cap);
                Some(set)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            if caps.inheritable().is_some() {
                caps.set_ambient(add(caps.ambient()));
            }
        }
        proc.set_capabilities(Some(caps));
    }
    if o.no_new_privs {
        proc.set_no_new_privileges(Some(true));
    }
    if let Some(profile) = &o.apparmor {
        proc.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &o.process_label {
        proc.set_selinux_label(Some(label.clone()));
    }
    Ok(proc)
}

fn exec_process_file(c: &Container, spec: &Spec, o: &ExecOpts) -> Result<PathBuf> {
    let proc = exec_process(spec, o)?;
    let path = c.root.join(format!("exec-process-{}.json", std::process::id()));
    let data = serde_json::to_vec(&proc)
        .map_err(|source| Error::Json { what: "serialize the exec process".into(), source })?;
    crate::state::write_private(&path, &data)?;
    Ok(path)
}

/// Converts a pid returned by libcontainer.
pub fn raw(p: Pid) -> i32 {
    p.as_raw()
}

#[cfg(test)]
mod exec_process_tests {
    use super::*;

    fn spec() -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {
                "args": ["sleep", "60"], "cwd": "/srv", "terminal": true,
                "env": ["PATH=/bin", "A=1"],
                "user": {"uid": 65534, "gid": 65534},
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 64, "soft": 64}]
            }
        }))
        .expect("spec")
    }

    fn opts(args: &[&str]) -> ExecOpts {
        ExecOpts { id: "c".into(), args: args.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn starts_from_the_containers_process() {
        let p = exec_process(&spec(), &opts(&["id"])).expect("process");
        assert_eq!(p.args().as_deref(), Some(&["id".to_string()][..]));
        assert_eq!((p.user().uid(), p.user().gid()), (65534, 65534));
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!(p.terminal(), Some(false), "a tty only with --tty");
        assert_eq!(p.rlimits().as_ref().map(|r| r.len()), Some(1));
    }

    #[test]
    fn flags_override_like_runc() {
        let mut o = opts(&["sh"]);
        o.user = Some((0, None));
        o.additional_gids = vec![5];
        o.env = vec!["A=two words".into(), "B=2".into()];
        o.cwd = Some("/tmp".into());
        o.tty = true;
        o.caps = vec!["sys_admin".into()];
        o.no_new_privs = true;
        let p = exec_process(&spec(), &o).expect("process");
        assert_eq!((p.user().uid(), p.user().gid()), (0, 65534), "--user 0 keeps the gid");
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[5u32][..]));
        assert_eq!(p.env().as_deref(), Some(&["PATH=/bin".to_string(), "A=two words".into(), "B=2".into()][..]));
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.no_new_privileges(), Some(true));
        let caps = p.capabilities().clone().expect("caps");
        let admin = oci_spec::runtime::Capability::SysAdmin;
        assert!(caps.bounding().as_ref().is_some_and(|s| s.contains(&admin)));
        assert!(caps.effective().as_ref().is_some_and(|s| s.contains(&admin)));
        assert!(caps.permitted().as_ref().is_some_and(|s| s.contains(&admin)));
        assert!(caps.ambient().is_none(), "no inheritable set in the spec: no ambient");
    }

    #[test]
    fn bad_exec_input_is_an_error() {
        let mut o = opts(&["sh"]);
        o.caps = vec!["CAP_BOGUS".into()];
        assert!(matches!(exec_process(&spec(), &o), Err(Error::UnknownCapability(m)) if m == "CAP_BOGUS"));
        assert!(matches!(exec_process(&spec(), &opts(&[])), Err(Error::NoCommand)));
    }
}
