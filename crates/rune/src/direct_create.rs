//! rune's direct `create` path: the part of container creation that runs outside the container,
//! in the `rune` process, without libcontainer's builder (the runtime layer; what then runs inside
//! the container is [`crate::init`]).
//!
//! libcontainer creates a container with three processes: the runtime, an intermediate process that
//! joins the cgroups (through libcgroups, which on a cgroup-v1 host re-reads /proc/self/mountinfo
//! for every controller, about 800 syscalls) and unshares the PID namespace, and the init process.
//! Measured here, the intermediate process and the two cgroup-manager constructions (create and
//! delete) were half of the CPU time of a `run`. This module does the runtime's side itself:
//!
//! 1. the same checks and state files as libcontainer's init builder (`state.json`,
//!    `youki_config.json`, `notify.sock`, console socket), so every other verb keeps working
//!    through libcontainer;
//! 2. one `clone3` straight into the new PID namespace; the child waits on a pipe;
//! 3. the cgroups from [`crate::cgroups`] (one mountinfo read); on v1 the limits are written to
//!    the empty cgroup first and the child joins it itself (no RCU grace-period wait);
//! 4. the child then runs rune's init process ([`crate::init`]: libcontainer's building blocks in
//!    rune's order) and talks to us over libcontainer's channels, as libcontainer's init talks to
//!    its main process.
//!
//! What this path does not do (user and time namespaces, joining a PID namespace by path, network
//! devices, seccomp notify listeners, Intel RDT, idmapped mounts, rootless, systemd cgroups on a
//! cgroup-v2 host) is listed by [`unsupported`], and `create` then uses libcontainer's builder.

use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use libcontainer::config::YoukiConfig;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::namespaces::Namespaces;
use libcontainer::notify_socket::{NotifyListener, NOTIFY_FILE};
use libcontainer::process::args::{ContainerArgs, ContainerType};
use libcontainer::process::channel;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::Executor;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::Cgroups;
use crate::error::{Error, Result};

/// Why `spec` (with these runtime options) needs libcontainer's builder, or `None`.
pub fn unsupported(spec: &Spec, systemd: bool, rootless: bool) -> Option<String> {
    if rootless || !nix::unistd::geteuid().is_root() {
        return Some("rootless".into());
    }
    let Some(linux) = spec.linux().as_ref() else { return Some("no linux section".into()) };
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    for ns in &namespaces {
        match ns.typ() {
            LinuxNamespaceType::User => return Some("user namespace".into()),
            LinuxNamespaceType::Time => return Some("time namespace".into()),
            LinuxNamespaceType::Pid if ns.path().is_some() => return Some("joins a PID namespace".into()),
            _ => {}
        }
    }
    if linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty())
    {
        return Some("uid/gid mappings".into());
    }
    if linux.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        return Some("network devices".into());
    }
    if linux.intel_rdt().is_some() {
        return Some("Intel RDT".into());
    }
    if linux.memory_policy().is_some() {
        return Some("memory policy".into());
    }
    if spec.process().as_ref().is_some_and(|p| p.scheduler().is_some()) {
        return Some("process.scheduler".into());
    }
    if linux.seccomp().as_ref().is_some_and(libcontainer::seccomp::is_notify) {
        return Some("seccomp notify listener".into());
    }
    let idmapped = spec.mounts().iter().flatten().any(|m| {
        m.uid_mappings().is_some()
            || m.gid_mappings().is_some()
            || m.options().iter().flatten().any(|o| o == "idmap" || o == "ridmap")
    });
    if idmapped {
        return Some("idmapped mounts".into());
    }
    let cgroup_path = libcontainer::utils::get_cgroup_path(linux.cgroups_path(), "probe");
    if !crate::cgroups::handles(&cgroup_path, systemd) {
        return Some("systemd cgroup driver on a cgroup v2 host".into());
    }
    if !crate::sys::has_clone3() {
        return Some("kernel without clone3".into());
    }
    None
}

/// What `create` needs beyond the spec.
pub struct Launch<'a> {
    pub id: &'a str,
    /// The bundle libcontainer would be given (an enclave container's rewritten bundle).
    pub bundle: &'a Path,
    pub state_root: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: i32,
    pub detach: bool,
    pub no_pivot: bool,
    pub systemd: bool,
    pub executor: Box<dyn Executor>,
    /// The bundle's config.json as the caller already parsed it, when `bundle` is the one it was
    /// read from (None: read it from `bundle`).
    pub spec: Option<Spec>,
}

/// Creates the container (status `created`), or fails leaving no state directory and no cgroup.
pub fn create(mut l: Launch<'_>) -> Result<Container> {
    let spec = match l.spec.take() {
        Some(spec) => check_spec(spec, l.bundle)?,
        None => load_spec(l.bundle)?,
    };
    check_terminal(&spec, l.detach, l.console_socket.is_some())?;
    let dir = l.state_root.join(l.id);
    if dir.exists() {
        return Err(Error::AlreadyExists(l.id.to_string()));
    }
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(Error::io(format!("create state directory {}", dir.display())))?;
    }
    let mut cgroups = None;
    match create_in(&l, spec, &dir, &mut cgroups) {
        Ok(c) => Ok(c),
        Err(e) => {
            let mut cleanup = Vec::new();
            if let Some((path, cg)) = cgroups {
                if let Err(source) = cg.remove() {
                    cleanup.push(Error::Cgroup { path, source });
                }
            }
            if let Err(source) = fs::remove_dir_all(&dir) {
                cleanup.push(Error::Io { what: format!("remove state directory {}", dir.display()), source });
            }
            Err(e.with_cleanup(cleanup))
        }
    }
}

fn pchan(what: &'static str) -> impl FnOnce(channel::ChannelError) -> Error {
    move |e| match e {
        // The init process's own error, as it reported it (libcontainer prefixes it twice).
        channel::ChannelError::ExecError(msg) => {
            let message = msg.trim_start_matches("error in executing process : ").to_string();
            Error::InitFailed { what, message }
        }
        e => Error::InitChannel { what, source: Box::new(e) },
    }
}

/// libcontainer's own spec checks (version, validator, AppArmor, mount options), then the rootfs
/// made absolute.
fn load_spec(bundle: &Path) -> Result<Spec> {
    let cfg = bundle.join("config.json");
    let spec = Spec::load(&cfg)
        .map_err(|e| Error::Config { path: bundle.to_path_buf(), reason: format!("malformed: {e}") })?;
    check_spec(spec, bundle)
}

/// [`load_spec`]'s checks on a spec already read from `bundle`.
fn check_spec(mut spec: Spec, bundle: &Path) -> Result<Spec> {
    let bad = |reason: String| Error::Config { path: bundle.to_path_buf(), reason };
    if !spec.version().starts_with("1.") {
        return Err(bad(format!("ociVersion {:?} is not supported (1.x only)", spec.version())));
    }
    libcontainer::validator::Validator::validate_spec(&spec).map_err(|e| bad(e.to_string()))?;
    if spec.process().as_ref().and_then(|p| p.apparmor_profile().as_ref()).is_some()
        && !libcontainer::apparmor::is_enabled().unwrap_or(false)
    {
        return Err(bad("process.apparmorProfile is set but AppArmor is not enabled on this host".into()));
    }
    if let Some(mounts) = spec.mounts() {
        libcontainer::utils::validate_mount_options(mounts).map_err(|e| bad(e.to_string()))?;
    }
    spec.canonicalize_rootfs(bundle).map_err(|e| bad(format!("rootfs: {e}")))?;
    Ok(spec)
}

/// runc's rule: a terminal in detached mode needs a console socket, and a console socket is only
/// accepted for one.
fn check_terminal(spec: &Spec, detach: bool, has_socket: bool) -> Result<()> {
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    let needs = detach && terminal;
    if needs && !has_socket {
        return Err(Error::ConsoleSocketRequired);
    }
    if !needs && has_socket {
        return Err(Error::ConsoleSocketUnexpected);
    }
    Ok(())
}

/// `cgroups_out`: the cgroups once they may exist on the host, so that the caller removes them
/// when this fails.
fn create_in(
    l: &Launch<'_>,
    spec: Spec,
    dir: &Path,
    cgroups_out: &mut Option<(PathBuf, Cgroups)>,
) -> Result<Container> {
    let linux = spec.linux().clone().unwrap_or_default();
    let mut container =
        Container::new(l.id, ContainerStatus::Creating, None, l.bundle, dir).map_err(Error::lc("container state"))?;
    container.set_systemd(l.systemd).set_annotations(spec.annotations().clone());
    crate::state::save_atomic(&container)?;
    let rootfs = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .ok_or_else(|| Error::Config { path: l.bundle.to_path_buf(), reason: "root.path is not set".into() })?;
    let console: Option<OwnedFd> = match l.console_socket {
        // Linked from the state directory, so a relative path must be made absolute first.
        Some(p) => {
            let abs = std::path::absolute(p).map_err(Error::io(format!("console socket {}", p.display())))?;
            let fd = libcontainer::tty::setup_console_socket(dir, &abs, "console-socket")
                .map_err(|e| Error::ConsoleSocket { path: p.to_path_buf(), source: Box::new(e) })?;
            Some(fd)
        }
        None => None,
    };
    let config = YoukiConfig::from_spec(&spec, l.id).map_err(|e| Error::SaveConfig(Box::new(e)))?;
    crate::state::write_atomic(dir, crate::state::CONFIG_FILE, &config)?;
    let cgroup_path = libcontainer::utils::get_cgroup_path(linux.cgroups_path(), l.id);
    let cgroup_err = |source| Error::Cgroup { path: cgroup_path.clone(), source };
    let cgroups = Cgroups::resolve(&cgroup_path, l.systemd).map_err(cgroup_err)?;
    let notify = NotifyListener::new(&dir.join(NOTIFY_FILE))
        .map_err(|e| Error::NotifySocket { dir: dir.to_path_buf(), source: Box::new(e) })?;

    // The state the init process hands to createContainer/startContainer hooks, and we to
    // prestart/createRuntime hooks: the container exists from their point of view (runtime-tools
    // expects "created" for prestart).
    let mut hook_container = container.clone();
    hook_container.set_status(ContainerStatus::Created);
    let spec = Rc::new(spec);
    let args = ContainerArgs {
        container_type: ContainerType::InitContainer,
        syscall: SyscallType::default(),
        spec: Rc::clone(&spec),
        rootfs,
        console_socket: console.as_ref().map(|c| c.as_raw_fd()),
        notify_listener: notify,
        preserve_fds: l.preserve_fds,
        container: Some(hook_container.clone()),
        user_ns_config: None,
        cgroup_config: libcgroups::common::CgroupConfig {
            cgroup_path: cgroup_path.clone(),
            systemd_cgroup: l.systemd,
            container_name: l.id.to_string(),
        },
        detached: l.detach,
        executor: l.executor.clone(),
        no_pivot: l.no_pivot,
        stdin: None,
        stdout: None,
        stderr: None,
        as_sibling: false,
        pid_file: l.pid_file.map(Path::to_path_buf),
    };

    let (mut init_main_sender, mut main_receiver) = channel::main_channel().map_err(pchan("channel"))?;
    let (mut init_sender, mut init_receiver) = channel::init_channel().map_err(pchan("channel"))?;
    let (go_read, go_write) = nix::unistd::pipe().map_err(|source| Error::Sys { op: "pipe", source })?;

    // cgroup v1: directories and limits now, on the empty cgroup; the init process joins by
    // itself (see `Cgroups::join_current_thread`), which spares the RCU grace period a
    // `cgroup.procs` write waits for. v2: the parent moves it after the clone.
    let (_, cgroups) = &*cgroups_out.insert((cgroup_path.clone(), cgroups));
    cgroups
        // `apply` honours the spec's own memory.disableOOMKiller: nothing more to force (false).
        .prepare(linux.resources().as_ref(), false)
        .map_err(cgroup_err)?;

    let namespaces = Namespaces::try_from(linux.namespaces().as_ref()).map_err(|e| Error::Namespaces(Box::new(e)))?;
    let new_pid_ns = matches!(namespaces.get(LinuxNamespaceType::Pid), Ok(Some(ns)) if ns.path().is_none());
    let flags = if new_pid_ns { libc::CLONE_NEWPID as u64 } else { 0 };
    // The child must not close what the parent owns (it exits without unwinding), so it gets raw
    // descriptors and closes its copies itself.
    let (go_read_fd, go_write_fd) = (go_read.as_raw_fd(), go_write.as_raw_fd());
    let listen_fds = crate::init::listen_fds(std::process::id(), |k| std::env::var(k).ok());
    let pid = crate::sys::clone_child(flags, || {
        let _ = nix::unistd::close(go_write_fd);
        let _ = init_sender.close();
        let _ = main_receiver.close();
        init_child(&args, cgroups, go_read_fd, listen_fds, &mut init_main_sender, &mut init_receiver)
    })
    .map_err(Error::CloneInit)?;
    drop(go_read);
    let _ = init_main_sender.close();
    let _ = init_receiver.close();

    let ready = (|| -> Result<()> {
        cgroups.adopt(pid.as_raw(), linux.resources().as_ref(), false).map_err(cgroup_err)?;
        let mut go = fs::File::from(go_write);
        go.write_all(b"g").map_err(Error::io("start the init process"))?;
        drop(go);
        if let Some(p) = l.pid_file {
            crate::enclave_container::write_pid_file(p, pid.as_raw() as u32)?;
        }
        if let Some(hooks) = spec.hooks() {
            main_receiver.wait_for_hook_request().map_err(pchan("wait for the init process"))?;
            for (name, list) in [("prestart", hooks.prestart()), ("createRuntime", hooks.create_runtime())] {
                #[allow(deprecated)]
                libcontainer::hooks::run_hooks(list.as_ref(), Some(&hook_container.state), None, Some(pid), None)
                    .map_err(|e| Error::Hook { name, source: Box::new(e) })?;
            }
            init_sender.hook_done().map_err(pchan("resume the init process"))?;
        }
        let _ = init_sender.close();
        main_receiver.wait_for_init_ready().map_err(pchan("container init"))?;
        Ok(())
    })();
    let _ = main_receiver.close();
    drop(console);
    if let Err(e) = ready {
        let mut cleanup = Vec::new();
        match kill(pid, Signal::SIGKILL) {
            // ESRCH: it has exited already (it reported the failure); it is reaped below.
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(source) => cleanup.push(Error::Sys { op: "kill the container's init process", source }),
        }
        if let Err(source) = waitpid(pid, None) {
            cleanup.push(Error::Sys { op: "reap the container's init process", source });
        }
        return Err(e.with_cleanup(cleanup));
    }
    container.set_status(ContainerStatus::Created).set_creator(nix::unistd::geteuid().as_raw()).set_pid(pid.as_raw());
    crate::state::save_atomic(&container)?;
    // `run` deletes the container from this same process: keep the resolved cgroups for it.
    if let Some((_, cg)) = cgroups_out.take() {
        MADE.with(|m| *m.borrow_mut() = Some((cgroup_path, cg)));
    }
    Ok(container)
}

thread_local! {
    /// The cgroups this process created last (`run` = create + delete in one process), so that
    /// delete does not read /proc/self/mountinfo again.
    static MADE: std::cell::RefCell<Option<(std::path::PathBuf, Cgroups)>> = const { std::cell::RefCell::new(None) };
}

/// In the cloned child (PID 1 of the new PID namespace when there is one): wait until the parent
/// is done (on cgroup v2 it has moved us into the cgroup), join the cgroup v1 hierarchies, then
/// do what libcontainer's intermediate process does for an init container without user/time
/// namespaces (rlimits, OOM score, not dumpable) and run rune's init process. Returns the exit
/// code when the init process fails.
fn init_child(
    args: &ContainerArgs,
    cgroups: &Cgroups,
    go: RawFd,
    listen_fds: i32,
    main_sender: &mut channel::MainSender,
    init_receiver: &mut channel::InitReceiver,
) -> i32 {
    let _ = nix::sys::prctl::set_name(c"rune:[init]");
    let mut byte = [0u8; 1];
    let got = loop {
        match nix::unistd::read(go, &mut byte) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r,
        }
    };
    let _ = nix::unistd::close(go);
    if !matches!(got, Ok(1)) {
        return 1; // the parent failed (and kills us)
    }
    let fail = |main_sender: &mut channel::MainSender, msg: String| {
        let _ = main_sender.exec_failed(msg);
        255
    };
    if let Err(e) = cgroups.join_current_thread() {
        return fail(main_sender, format!("join the container's cgroup: {e}"));
    }
    let Some(process) = args.spec.process().as_ref() else {
        return fail(main_sender, "process is not set".into());
    };
    if let Some(score) = process.oom_score_adj() {
        if let Err(e) = fs::write("/proc/self/oom_score_adj", score.to_string()) {
            return fail(main_sender, format!("set oom_score_adj {score}: {e}"));
        }
    }
    let _ = nix::sys::prctl::set_dumpable(false);
    let syscall = args.syscall.create_syscall();
    for rlimit in process.rlimits().iter().flatten() {
        if let Err(e) = syscall.set_rlimit(rlimit) {
            return fail(main_sender, format!("set rlimit {:?}: {e}", rlimit.typ()));
        }
    }
    match crate::init::run(args, listen_fds, main_sender, init_receiver) {
        Ok(()) => 0,
        Err(e) => fail(main_sender, e.to_string()),
    }
}

/// The cgroups of a container made by either create path (libcontainer's `config.json` in the
/// state directory records the cgroup path), or `None` when [`Cgroups`] does not handle them.
fn container_cgroups(c: &Container) -> Option<(Cgroups, YoukiConfig)> {
    let config = YoukiConfig::load(&c.root).ok()?;
    let made = MADE.with(|m| m.borrow_mut().take_if(|(path, _)| *path == config.cgroup_path));
    let cgroups = match made {
        Some((_, cg)) => cg,
        None => Cgroups::resolve(&config.cgroup_path, c.systemd()).ok()?,
    };
    Some((cgroups, config))
}

/// `kill --all` with SIGKILL for `delete --force`, without libcontainer's cgroup manager. Returns
/// false when libcontainer must do it (a paused container must be thawed after the signal).
pub fn kill_all(c: &Container) -> bool {
    if c.status() == ContainerStatus::Paused {
        return false;
    }
    let Some((cgroups, _)) = container_cgroups(c) else { return false };
    kill_members(&cgroups);
    true
}

/// `delete` of a container whose processes are gone or were killed: cgroups, poststop hooks, state
/// directory — libcontainer's delete without its cgroup manager. Returns false when the container
/// needs libcontainer's delete (paused, or a cgroup setup [`Cgroups`] does not handle).
pub fn delete(c: &mut Container) -> Result<bool> {
    if c.status() == ContainerStatus::Paused {
        return Ok(false);
    }
    let Some((cgroups, config)) = container_cgroups(c) else { return Ok(false) };
    if c.status() != ContainerStatus::Stopped {
        kill_members(&cgroups);
        c.set_status(ContainerStatus::Stopped);
        crate::state::save_atomic(c)?;
    }
    empty_and_remove(&cgroups, &config.cgroup_path)?;
    if let Some(hooks) = config.hooks.as_ref() {
        #[allow(deprecated)]
        libcontainer::hooks::run_hooks(hooks.poststop().as_ref(), Some(&c.state), None, None, None)
            .map_err(|e| Error::Hook { name: "poststop", source: Box::new(e) })?;
    }
    fs::remove_dir_all(&c.root).map_err(Error::io(format!("remove state directory {}", c.root.display())))?;
    Ok(true)
}

/// `delete --force` of a container whose state file is damaged: what is known from the config
/// saved beside it (the cgroup) is emptied and removed, then the directory. Without that config
/// nothing was cloned yet (it is written before the init process exists).
pub fn delete_damaged(dir: &Path, reason: &str) -> Result<()> {
    tracing::warn!(dir = %dir.display(), reason, "removing a container whose state file is damaged");
    if let Ok(config) = YoukiConfig::load(dir) {
        let cgroups = Cgroups::resolve(&config.cgroup_path, false)
            .map_err(|source| Error::Cgroup { path: config.cgroup_path.clone(), source })?;
        empty_and_remove(&cgroups, &config.cgroup_path)?;
    }
    fs::remove_dir_all(dir).map_err(Error::io(format!("remove state directory {}", dir.display())))
}

/// Kills whatever is still in the cgroups (children of an init that exited go too, as with
/// libcgroups), for at most a second, then removes them; `remove` waits for the kernel to let go
/// of the directories.
fn empty_and_remove(cgroups: &Cgroups, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while kill_members(cgroups) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    cgroups.remove().map_err(|source| Error::Cgroup { path: path.to_path_buf(), source })
}

/// SIGKILL to every process in the container's cgroups; returns how many were signalled.
fn kill_members(cgroups: &Cgroups) -> usize {
    let mut pids: Vec<i32> = Vec::new();
    for dir in cgroups.paths() {
        let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) else { continue };
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    pids.sort_unstable();
    pids.dedup();
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    pids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(linux: serde_json::Value, mounts: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "mounts": mounts,
            "linux": linux,
        }))
        .expect("spec")
    }

    fn plain() -> serde_json::Value {
        serde_json::json!({"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}]})
    }

    #[test]
    fn plain_containers_take_rune_s_own_path() {
        let s = spec(plain(), serde_json::json!([]));
        if nix::unistd::geteuid().is_root() {
            assert_eq!(unsupported(&s, false, false), None);
        }
        assert_eq!(unsupported(&s, false, true).as_deref(), Some("rootless"));
    }

    #[test]
    fn what_only_libcontainer_does_is_named() {
        if !nix::unistd::geteuid().is_root() {
            return; // every case is "rootless" then
        }
        let cases = [
            (serde_json::json!({"namespaces": [{"type": "user"}]}), serde_json::json!([]), "user namespace"),
            (serde_json::json!({"namespaces": [{"type": "time"}]}), serde_json::json!([]), "time namespace"),
            (
                serde_json::json!({"namespaces": [{"type": "pid", "path": "/proc/1/ns/pid"}]}),
                serde_json::json!([]),
                "joins a PID namespace",
            ),
            (
                serde_json::json!({"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
                serde_json::json!([]),
                "uid/gid mappings",
            ),
            (serde_json::json!({"netDevices": {"eth1": {}}}), serde_json::json!([]), "network devices"),
            (serde_json::json!({"intelRdt": {"closID": "x"}}), serde_json::json!([]), "Intel RDT"),
            (
                serde_json::json!({"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}}),
                serde_json::json!([]),
                "seccomp notify listener",
            ),
            (
                plain(),
                serde_json::json!([{"destination": "/m", "source": "/tmp", "type": "bind", "options": ["bind", "idmap"]}]),
                "idmapped mounts",
            ),
        ];
        for (linux, mounts, want) in cases {
            assert_eq!(unsupported(&spec(linux.clone(), mounts), false, false).as_deref(), Some(want), "{linux}");
        }
    }

    #[test]
    fn terminal_and_console_socket_follow_runc() {
        let mut s = spec(plain(), serde_json::json!([]));
        assert!(check_terminal(&s, true, false).is_ok());
        assert!(check_terminal(&s, true, true).is_err(), "socket without terminal");
        let mut p = s.process().clone().expect("process");
        p.set_terminal(Some(true));
        s.set_process(Some(p));
        assert!(check_terminal(&s, true, true).is_ok());
        assert!(check_terminal(&s, false, false).is_ok(), "foreground terminal uses rune's own stdio");
        let e = check_terminal(&s, true, false).expect_err("detached terminal needs a socket").to_string();
        assert!(e.contains("--console-socket"), "{e}");
    }

    #[test]
    fn bad_specs_are_refused_before_anything_is_made() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("rootfs")).expect("rootfs");
        let mut v = serde_json::to_value(spec(plain(), serde_json::json!([]))).expect("json");
        v["ociVersion"] = "0.9.0".into();
        std::fs::write(dir.path().join("config.json"), v.to_string()).expect("write");
        let e = load_spec(dir.path()).expect_err("old version").to_string();
        assert!(e.contains("0.9.0"), "{e}");
        std::fs::write(dir.path().join("config.json"), "{").expect("write");
        assert!(load_spec(dir.path()).expect_err("malformed").to_string().contains("malformed"));
    }
}
