//! rune's container init process: what runs in the container's PID 1 between the clone in
//! [`crate::direct_create`] and the `execve` of the container's process.
//!
//! The building blocks are libcontainer's (rootfs preparation, console, capabilities, seccomp,
//! AppArmor, hooks, the workload executor); the order in which they run is rune's own, following
//! the runtime spec's lifecycle. Owning the order is why this module exists: libcontainer's init
//! checks the working directory with `getcwd(2)` after it has loaded a seccomp filter, so a
//! container whose filter forbids `getcwd` (runtime-tools' `linux_seccomp`, crun runs it) could
//! not start. Here the check follows the `chdir` it verifies, before any filter is loaded.
//!
//! Only the specs [`crate::direct_create::unsupported`] lets through come here: no user or time
//! namespace, no scheduler or memory policy, no network devices, no seccomp notify listener.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use libcontainer::namespaces::Namespaces;
use libcontainer::process::args::ContainerArgs;
use libcontainer::process::channel::{InitReceiver, MainSender};
use libcontainer::rootfs::RootFS;
use libcontainer::syscall::Syscall;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{IOPriorityClass, LinuxNamespaceType, LinuxPersonalityDomain, Process, Spec};
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandleBuilder};

/// A step of the init process that failed; the parent reports it as the reason `create` failed.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct InitError {
    step: String,
    reason: String,
}

type Result<T> = std::result::Result<T, InitError>;

fn at<E: std::fmt::Display>(step: impl Into<String>) -> impl FnOnce(E) -> InitError {
    let step = step.into();
    move |e| InitError { step, reason: e.to_string() }
}

fn refuse(step: &str, reason: impl Into<String>) -> InitError {
    InitError { step: step.to_string(), reason: reason.into() }
}

/// Runs the init process of a new container to the `execve` of its process. Returns only on
/// failure; the caller reports the error to the parent over `main`.
///
/// `listen_fds`: descriptors after stdio that systemd socket activation passed to rune (see
/// [`listen_fds`]); they stay open for the container, which gets `LISTEN_FDS`/`LISTEN_PID=1`.
pub fn run(args: &ContainerArgs, listen_fds: i32, main: &mut MainSender, init_rx: &mut InitReceiver) -> Result<()> {
    let spec: &Spec = args.spec.as_ref();
    let linux = spec.linux().as_ref().ok_or_else(|| refuse("config", "linux is not set"))?;
    let process = spec.process().as_ref().ok_or_else(|| refuse("config", "process is not set"))?;
    let syscall = args.syscall.create_syscall();
    let sys = syscall.as_ref();
    let mut envs = libcontainer::utils::parse_env(process.env().as_deref().unwrap_or_default());

    nix::unistd::setsid().map_err(at("setsid"))?;
    io_priority(sys, process)?;

    // Namespaces other than PID (the clone made it): joined by path or new, the mount namespace
    // last, then the new UTS namespace's names.
    let ns = Namespaces::try_from(linux.namespaces().as_ref()).map_err(at("linux.namespaces"))?;
    let time = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    ns.apply_namespaces(|t| t != CloneFlags::CLONE_NEWPID && t != CloneFlags::CLONE_NEWUSER && t != time)
        .map_err(at("enter namespaces"))?;
    if matches!(ns.get(LinuxNamespaceType::Uts), Ok(Some(uts)) if uts.path().is_none()) {
        if let Some(h) = spec.hostname() {
            sys.set_hostname(h).map_err(at(format!("set hostname {h:?}")))?;
        }
        if let Some(d) = spec.domainname() {
            sys.set_domainname(d).map_err(at(format!("set domainname {d:?}")))?;
        }
    }
    if process.no_new_privileges() == Some(true) {
        nix::sys::prctl::set_no_new_privs().map_err(at("set no_new_privs"))?;
    }

    // The root filesystem: mounts, devices and links, then the hooks that run before the
    // container's root becomes its `/`.
    let in_userns = libcontainer::utils::is_in_new_userns().map_err(at("read /proc/self/uid_map"))?;
    let cgroup_ns = matches!(ns.get(LinuxNamespaceType::Cgroup), Ok(Some(_)));
    let rootfs = RootFS::new();
    rootfs
        .prepare_rootfs(spec, &args.rootfs, in_userns, cgroup_ns)
        .map_err(at(format!("prepare rootfs {}", args.rootfs.display())))?;
    let state = args.container.as_ref().map(|c| &c.state);
    if let Some(hooks) = spec.hooks() {
        // prestart and createRuntime run in the runtime's namespaces: the parent runs them.
        main.hook_request().map_err(at("ask for the prestart/createRuntime hooks"))?;
        init_rx.wait_for_hook_request_done().map_err(at("prestart/createRuntime hooks"))?;
        #[allow(deprecated)]
        libcontainer::hooks::run_hooks(hooks.create_container().as_ref(), state, None, None, None)
            .map_err(at("createContainer hook"))?;
    }
    enter_root(sys, &ns, args.no_pivot, &args.rootfs)?;
    rootfs.adjust_root_mount_propagation(linux).map_err(at("root mount propagation"))?;
    reopen_dev_null()?;
    if let Some(params) = linux.sysctl() {
        sysctl(params)?;
    }
    if let Some(fd) = args.console_socket {
        libcontainer::tty::setup_console(sys, fd, true).map_err(at("console"))?;
    }
    if let Some(p) = linux.personality() {
        if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(refuse("linux.personality", "flags are not supported"));
        }
        let domain = match p.domain() {
            LinuxPersonalityDomain::PerLinux => libcontainer::config::PersonalityDomain::Linux,
            LinuxPersonalityDomain::PerLinux32 => libcontainer::config::PersonalityDomain::Linux32,
        };
        sys.personality(domain).map_err(at("set personality"))?;
    }
    if let Some(profile) = process.apparmor_profile() {
        libcontainer::apparmor::apply_profile(profile).map_err(at(format!("AppArmor profile {profile:?}")))?;
    }
    if let Some(umask) = process.user().umask() {
        let mode =
            Mode::from_bits(umask).ok_or_else(|| refuse("process.user.umask", format!("{umask:#o} is not a mode")))?;
        nix::sys::stat::umask(mode);
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        remount_root_readonly(sys)?;
    }
    for p in linux.readonly_paths().iter().flatten() {
        readonly_path(sys, Path::new(p))?;
    }
    if let Some(paths) = linux.masked_paths() {
        mask_paths(sys, paths, linux.mount_label().as_deref())?;
    }

    // The working directory, checked at once: a directory reached through a descriptor leaked
    // from outside (`/proc/self/fd/N`) is not inside the container's root. When the container's
    // user may enter it but root may not (root-squashed network file systems), chdir again after
    // the switch of user.
    let cwd = process.cwd();
    let chdir_later = match nix::unistd::chdir(cwd) {
        Ok(()) => {
            verify_cwd()?;
            false
        }
        Err(Errno::EPERM) => true,
        Err(e) => return Err(at(format!("chdir to process.cwd {}", cwd.display()))(e)),
    };

    let user = process.user();
    if let Some(gids) = user.additional_gids().as_ref().filter(|g| !g.is_empty()) {
        let gids: Vec<Gid> = gids.iter().copied().map(Gid::from_raw).collect();
        sys.set_groups(&gids).map_err(at("set additional gids"))?;
    }
    sys.set_id(Uid::from_raw(user.uid()), Gid::from_raw(user.gid())).map_err(at(format!(
        "set uid {} gid {}",
        user.uid(),
        user.gid()
    )))?;

    // Descriptors past stdio, the caller's --preserve-fds and systemd's LISTEN_FDS close on exec.
    if listen_fds > 0 {
        envs.insert("LISTEN_FDS".into(), listen_fds.to_string());
        envs.insert("LISTEN_PID".into(), "1".into());
    }
    sys.close_range(args.preserve_fds + listen_fds).map_err(at("mark descriptors close-on-exec"))?;

    // Without no_new_privileges, loading a filter needs CAP_SYS_ADMIN: before the capabilities
    // go. With it, as late as possible. (An explicit `false` is "without": libcontainer's init
    // treats any value as "with" and then fails to load the filter once CAP_SYS_ADMIN is gone.)
    let nnp = process.no_new_privileges() == Some(true);
    if !nnp {
        load_seccomp(spec)?;
    }
    libcontainer::capabilities::reset_effective(sys).map_err(at("reset effective capabilities"))?;
    if let Some(caps) = process.capabilities() {
        libcontainer::capabilities::drop_privileges(caps, sys).map_err(at("set capabilities"))?;
    }
    if chdir_later {
        nix::unistd::chdir(cwd).map_err(at(format!("chdir to process.cwd {}", cwd.display())))?;
        verify_cwd()?;
    }
    if nnp {
        load_seccomp(spec)?;
    }

    if envs.get("HOME").is_none_or(|h| h.is_empty()) {
        if let Some(home) = libcontainer::utils::get_user_home(user.uid()) {
            envs.insert("HOME".into(), home.to_string_lossy().into_owned());
        }
    }
    // startContainer hooks without an env of their own get the process's environment.
    let hook_env = envs.clone();
    args.executor.validate(spec).map_err(at("workload"))?;
    args.executor.setup_envs(envs).map_err(at("environment"))?;

    main.init_ready().map_err(at("report ready"))?;
    let _ = main.close();
    args.notify_listener.wait_for_container_start().map_err(at("wait for start"))?;
    let _ = args.notify_listener.close();
    if let Some(hooks) = spec.hooks() {
        #[allow(deprecated)]
        libcontainer::hooks::run_hooks(hooks.start_container().as_ref(), state, None, None, Some(&hook_env))
            .map_err(at("startContainer hook"))?;
    }
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(refuse("process.args", "at least one entry is required"));
    }
    args.executor.exec(spec).map_err(at("exec"))?;
    Err(refuse("exec", "the workload executor returned"))
}

/// `process.ioPriority` (ioprio_set classes: 1 real time, 2 best effort, 3 idle).
fn io_priority(sys: &dyn Syscall, process: &Process) -> Result<()> {
    let Some(p) = process.io_priority() else { return Ok(()) };
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    sys.set_io_priority(class, p.priority()).map_err(at("set process.ioPriority"))
}

/// The container's root becomes `/`: pivot_root in a new mount namespace, a move and chroot with
/// `--no-pivot`, a plain chroot without a mount namespace.
fn enter_root(sys: &dyn Syscall, ns: &Namespaces, no_pivot: bool, rootfs: &Path) -> Result<()> {
    let mount_ns = matches!(ns.get(LinuxNamespaceType::Mount), Ok(Some(_)));
    if !mount_ns {
        return sys.chroot(rootfs).map_err(at(format!("chroot to {}", rootfs.display())));
    }
    if !no_pivot {
        return sys.pivot_rootfs(rootfs).map_err(at(format!("pivot_root to {}", rootfs.display())));
    }
    nix::unistd::chdir(rootfs).map_err(at(format!("chdir to {}", rootfs.display())))?;
    sys.mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)
        .map_err(at(format!("move {} to /", rootfs.display())))?;
    sys.chroot(Path::new(".")).map_err(at("chroot to the moved root"))?;
    nix::unistd::chdir("/").map_err(at("chdir to /"))
}

/// The container's /dev/null (after the root switch), checked to be the null device.
fn container_dev_null(flags: libc::c_int) -> Result<(std::fs::File, u64)> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(flags & libc::O_PATH == 0)
        .custom_flags(flags | libc::O_CLOEXEC)
        .open("/dev/null")
        .map_err(at("open the container's /dev/null"))?;
    let meta = f.metadata().map_err(at("stat the container's /dev/null"))?;
    let rdev = meta.rdev();
    if !meta.file_type().is_char_device() || libc::major(rdev) != 1 || libc::minor(rdev) != 3 {
        return Err(refuse("the container's /dev/null", "is not the null device (char 1:3)"));
    }
    Ok((f, rdev))
}

/// Standard descriptors that are the host's /dev/null become the container's (read-write, as
/// runc's: a payload writing to a read-only one would get EBADF).
fn reopen_dev_null() -> Result<()> {
    let (null, rdev) = container_dev_null(0)?;
    for fd in 0..3 {
        let Ok(s) = nix::sys::stat::fstat(fd) else { continue };
        if s.st_rdev == rdev && (s.st_mode & libc::S_IFMT) == libc::S_IFCHR {
            nix::unistd::dup2(null.as_raw_fd(), fd).map_err(at(format!("dup /dev/null to {fd}")))?;
        }
    }
    Ok(())
}

/// `linux.sysctl`, written through a verified handle on the container's procfs.
fn sysctl(params: &HashMap<String, String>) -> Result<()> {
    let proc = ProcfsHandleBuilder::new().unmasked().build().map_err(at("open procfs for linux.sysctl"))?;
    for (key, value) in params {
        let rel = Path::new("sys").join(key.replace('.', "/"));
        let mut f = proc
            .open(ProcfsBase::ProcRoot, &rel, OpenFlags::O_WRONLY | OpenFlags::O_CLOEXEC)
            .map_err(at(format!("linux.sysctl {key}")))?;
        f.write_all(value.as_bytes()).map_err(at(format!("linux.sysctl {key}={value}")))?;
    }
    Ok(())
}

/// `root.readonly`: `/` bind-remounted read-only, keeping its other flags (statfs's ST_* bits are
/// the MS_* bits of the same names).
fn remount_root_readonly(sys: &dyn Syscall) -> Result<()> {
    let flags = nix::sys::statvfs::statvfs("/").map_err(at("statvfs /"))?.flags().bits();
    let keep = MsFlags::from_bits_truncate(flags);
    sys.mount(None, Path::new("/"), None, MsFlags::MS_RDONLY | MsFlags::MS_REMOUNT | MsFlags::MS_BIND | keep, None)
        .map_err(at("remount / read-only"))
}

/// One of `linux.readonlyPaths`: bound onto itself, then remounted read-only (a path that does
/// not exist is skipped, as the spec allows).
fn readonly_path(sys: &dyn Syscall, path: &Path) -> Result<()> {
    match sys.mount(Some(path), path, None, MsFlags::MS_BIND | MsFlags::MS_REC, None) {
        Ok(()) => {}
        Err(libcontainer::syscall::SyscallError::Nix(Errno::ENOENT)) => return Ok(()),
        Err(e) => return Err(at(format!("linux.readonlyPaths {}", path.display()))(e)),
    }
    let ro = MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC
        | MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY;
    sys.mount(Some(path), path, None, ro, None).map_err(at(format!("linux.readonlyPaths {} read-only", path.display())))
}

/// `linux.maskedPaths`: a directory is covered with an empty read-only tmpfs, anything else with
/// the container's /dev/null; paths that do not exist are skipped.
fn mask_paths(sys: &dyn Syscall, paths: &[String], label: Option<&str>) -> Result<()> {
    let null = OwnedFd::from(container_dev_null(libc::O_PATH)?.0);
    let data = label.map(|l| format!("context=\"{l}\"")).unwrap_or_default();
    for p in paths {
        let path = Path::new(p);
        let Ok(meta) = std::fs::metadata(path) else { continue };
        let r = if meta.is_dir() {
            sys.mount(Some(Path::new("tmpfs")), path, Some("tmpfs"), MsFlags::MS_RDONLY, Some(&data))
        } else {
            sys.mount_from_fd(&null, path)
        };
        r.map_err(at(format!("linux.maskedPaths {p}")))?;
    }
    Ok(())
}

/// The working directory must be a path under the container's root (`getcwd` reports
/// "(unreachable)" paths, or ENOENT, for one that is not).
fn verify_cwd() -> Result<()> {
    let cwd = nix::unistd::getcwd().map_err(at("check process.cwd"))?;
    if !cwd.is_absolute() {
        return Err(refuse("check process.cwd", format!("{} is outside the container", cwd.display())));
    }
    Ok(())
}

/// How many descriptors systemd socket activation passed to this process (`pid`): `LISTEN_FDS`,
/// honoured only when `LISTEN_PID` names `pid`, as sd_listen_fds(3) requires (a value inherited
/// from some ancestor passes nothing).
pub fn listen_fds(pid: u32, var: impl Fn(&str) -> Option<String>) -> i32 {
    if var("LISTEN_PID").and_then(|p| p.trim().parse::<u32>().ok()) != Some(pid) {
        return 0;
    }
    var("LISTEN_FDS").and_then(|v| v.trim().parse::<i32>().ok()).filter(|n| *n > 0).unwrap_or(0)
}

fn load_seccomp(spec: &Spec) -> Result<()> {
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else { return Ok(()) };
    match libcontainer::seccomp::initialize_seccomp(seccomp).map_err(at("load linux.seccomp"))? {
        None => Ok(()),
        Some(fd) => {
            let _ = nix::unistd::close(fd);
            Err(refuse("linux.seccomp", "notify actions need a listener (not on this path)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_fds_follow_sd_listen_fds() {
        let env = |pid: &'static str, fds: &'static str| {
            move |k: &str| match k {
                "LISTEN_PID" => Some(pid.to_string()),
                "LISTEN_FDS" => Some(fds.to_string()),
                _ => None,
            }
        };
        assert_eq!(listen_fds(42, env("42", "2")), 2);
        assert_eq!(listen_fds(42, env("41", "2")), 0, "another process's descriptors");
        assert_eq!(listen_fds(42, env("42", "x")), 0);
        assert_eq!(listen_fds(42, env("42", "-3")), 0);
        assert_eq!(listen_fds(42, |_| None), 0);
        assert_eq!(listen_fds(42, |k| (k == "LISTEN_FDS").then(|| "1".to_string())), 0, "no LISTEN_PID");
    }
}
