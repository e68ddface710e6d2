//! The container's cgroup, created and configured without libcgroups' per-call procfs cost.
//!
//! On cgroup v1 hosts (legacy, or hybrid with a controller-less `unified` v2 mount) libcgroups'
//! `v1::Manager::new` re-reads `/proc/self/mountinfo` and `/proc/self/cgroup` through pathrs'
//! hardened procfs once per controller (about 800 syscalls, ~3 ms). This module reads mountinfo
//! once and derives the SAME directories libcgroups 0.7 would use, so the libcontainer/libcgroups
//! code that still runs `ps`, `update`, `pause`, `resume`, `events --stats` and `kill --all` finds
//! and manages exactly what we created. On cgroup v2 it wraps libcgroups' v2 manager, which does
//! not have that cost.
//!
//! Contract with libcgroups 0.7 (v1):
//! - controllers: cpu, cpuacct, cpuset, devices, hugetlb, memory, pids, perf_event, blkio,
//!   net_prio, net_cls, freezer; a controller with no `cgroup` mount is skipped;
//! - a controller's mount is the first `cgroup` mount (mountinfo order) whose mount point's last
//!   component is its name (`cpu,cpuacct` for cpu and cpuacct, `net_cls,net_prio` or
//!   `net_prio,net_cls` for net_cls and net_prio);
//! - its directory is `<mount>/<cgroups path without its leading '/'>`, or, for an empty
//!   cgroups path, `<mount>/<this process's cgroup for that controller>`;
//! - `apply` writes the same files with the same values in the same order per controller
//!   (the few deliberate differences are listed in `v1.rs`);
//! - a cgroups path with `..` is refused rather than joined (libcgroups would leave the
//!   hierarchy), and `remove` never signals processes (the caller kills them first).

mod v1;

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use libcgroups::common::{CgroupManager, ControllerOpt};
use nix::sys::statfs::{statfs, FsType, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
use oci_spec::runtime::LinuxResources;

/// Where the cgroup filesystems are mounted on every supported host.
pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

/// How long `remove` keeps retrying directories that are still busy (processes exiting).
const REMOVE_BUDGET: Duration = Duration::from_secs(1);

/// Failures of cgroup set-up and tear-down. Each names the file, directory or controller at
/// fault, and carries the OS error where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    /// The cgroup root could not be examined (statfs failed).
    #[error("cgroup root {path}: statfs: {source}")]
    Detect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The cgroup root is neither a cgroup2 mount nor the tmpfs of a v1/hybrid layout.
    #[error("cgroup root {path} is neither cgroup2 nor tmpfs (filesystem magic {magic:#x})")]
    UnknownSetup { path: PathBuf, magic: i64 },
    /// A layout this module does not handle; the caller falls back to libcontainer.
    #[error("unsupported cgroup layout: {0}")]
    Unsupported(String),
    /// The cgroups path cannot be used as given.
    #[error("cgroups path {path:?}: {reason}")]
    InvalidPath { path: PathBuf, reason: &'static str },
    /// Reading a file of /proc or of a cgroup.
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Creating a cgroup directory.
    #[error("creating cgroup directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a value to a cgroup file.
    #[error("writing {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    /// Removing a cgroup directory failed with an error other than "busy".
    #[error("removing cgroup directory {path}: {source}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A cgroup directory stayed busy (it still has processes or child cgroups).
    #[error("cgroup directory {path} still busy after {waited:?}: {source}")]
    RemoveBusy {
        path: PathBuf,
        waited: Duration,
        #[source]
        source: std::io::Error,
    },
    /// `linux.resources` sets something whose controller is not mounted on this host.
    #[error("linux.resources.{field} needs the {controller} cgroup controller, which is not mounted")]
    ControllerMissing { controller: &'static str, field: &'static str },
    /// `linux.resources.unified` on a cgroup v1 host (libcgroups silently ignores it; runc refuses).
    #[error("linux.resources.unified ({keys}) needs cgroup v2; this host uses cgroup v1")]
    UnifiedOnV1 { keys: String },
    /// `linux.resources.memory.swappiness` above 100.
    #[error("linux.resources.memory.swappiness {value} is out of range 0-100")]
    SwappinessOutOfRange { value: u64 },
    /// A `linux.resources.hugepageLimits[].pageSize` that is not `<power of two><unit>`.
    #[error("linux.resources.hugepageLimits pageSize {page_size:?}: {reason}")]
    HugepageSize { page_size: String, reason: &'static str },
    /// A well-formed hugepage size that this host's hugetlb controller does not offer.
    #[error("hugepage size {page_size:?} is not supported by this host ({path} does not exist)")]
    HugepageSizeUnsupported { page_size: String, path: PathBuf },
    /// The memory limit is below what the cgroup already uses (EBUSY from the kernel).
    #[error("cannot set memory limit {limit} in {path}: current usage {usage}, peak usage {peak}")]
    MemoryLimitBusy { path: PathBuf, limit: i64, usage: u64, peak: u64 },
    /// A cgroup file held something that is not the number the kernel documents.
    #[error("{path} holds {content:?}, not a number")]
    Malformed { path: PathBuf, content: String },
    /// A parent cpuset has no CPUs or memory nodes to copy into a new cpuset.
    #[error("cannot fill {path}: parent {parent} is empty")]
    CpusetParentEmpty { path: PathBuf, parent: PathBuf },
    /// The wrapped libcgroups v2 manager failed.
    #[error("cgroup v2 {op} on {path}: {source}")]
    V2 {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: Box<libcgroups::v2::manager::V2ManagerError>,
    },
}

/// The cgroup of one container: one directory per mounted v1 controller, or one v2 directory.
pub struct Cgroups {
    inner: Inner,
}

enum Inner {
    V1(v1::Hierarchies),
    V2 { manager: libcgroups::v2::manager::Manager, root: PathBuf, dir: PathBuf },
}

impl std::fmt::Debug for Cgroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let version = match self.inner {
            Inner::V1(_) => "v1",
            Inner::V2 { .. } => "v2",
        };
        f.debug_struct("Cgroups").field("version", &version).field("paths", &self.paths()).finish()
    }
}

impl Cgroups {
    /// Resolves where the container's cgroup lives, for the cgroups path libcontainer would use
    /// (`libcontainer::utils::get_cgroup_path(linux.cgroups_path(), id)`).
    ///
    /// The layout is detected like `libcgroups::common::get_cgroup_setup`: cgroup2 at
    /// /sys/fs/cgroup is unified, tmpfs is legacy or hybrid (both use the v1 controllers).
    /// v1 reads /proc/self/mountinfo once, and /proc/self/cgroup only for an empty cgroups path.
    /// On v2 a systemd-managed relative path is [`CgroupError::Unsupported`] (the caller falls
    /// back to libcontainer's systemd manager).
    pub fn resolve(cgroup_path: &Path, systemd: bool) -> Result<Self, CgroupError> {
        let root = Path::new(DEFAULT_ROOT);
        match detect(root)? {
            Setup::V2 => Self::v2(root, cgroup_path, systemd),
            Setup::V1 => {
                let mountinfo = read_proc("/proc/self/mountinfo")?;
                let self_cgroup =
                    if cgroup_path.as_os_str().is_empty() { read_proc("/proc/self/cgroup")? } else { String::new() };
                Self::v1(&mountinfo, &self_cgroup, cgroup_path)
            }
        }
    }

    /// [`Cgroups::resolve`] with the cgroup root, the mountinfo text and the /proc/self/cgroup
    /// text given (test seam). A root on cgroup2 is treated as unified; any other filesystem
    /// as a v1 layout described by `mountinfo` (whose mount points need not lie under `root`,
    /// as for libcgroups). `self_cgroup` is consulted only when `cgroup_path` is empty.
    pub fn resolve_with(
        root: &Path,
        mountinfo: &str,
        self_cgroup: &str,
        cgroup_path: &Path,
        systemd: bool,
    ) -> Result<Self, CgroupError> {
        if fs_type(root)? == CGROUP2_SUPER_MAGIC {
            Self::v2(root, cgroup_path, systemd)
        } else {
            Self::v1(mountinfo, self_cgroup, cgroup_path)
        }
    }

    fn v1(mountinfo: &str, self_cgroup: &str, cgroup_path: &Path) -> Result<Self, CgroupError> {
        check_path(cgroup_path)?;
        Ok(Cgroups { inner: Inner::V1(v1::Hierarchies::resolve(mountinfo, self_cgroup, cgroup_path)?) })
    }

    fn v2(root: &Path, cgroup_path: &Path, systemd: bool) -> Result<Self, CgroupError> {
        if needs_systemd_manager(cgroup_path, systemd) {
            return Err(CgroupError::Unsupported(format!(
                "systemd cgroup {} on cgroup v2 (needs the systemd manager)",
                cgroup_path.display()
            )));
        }
        check_path(cgroup_path)?;
        let dir = join_under(root, cgroup_path);
        let manager = libcgroups::v2::manager::Manager::new(root.to_path_buf(), cgroup_path.to_path_buf())
            .map_err(|e| CgroupError::V2 { op: "resolve", path: dir.clone(), source: Box::new(e) })?;
        Ok(Cgroups { inner: Inner::V2 { manager, root: root.to_path_buf(), dir } })
    }

    /// Creates the directories (`mkdir -p` in every controller hierarchy; a cpuset directory
    /// with empty `cpuset.cpus`/`cpuset.mems` gets its parent's values, without which
    /// attaching fails with ENOSPC) and writes `pid` to each `cgroup.procs`.
    pub fn create_and_attach(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(h) => h.create_and_attach(pid),
            Inner::V2 { manager, dir, .. } => manager
                .add_task(nix::unistd::Pid::from_raw(pid))
                .map_err(|e| CgroupError::V2 { op: "attach", path: dir.clone(), source: Box::new(e) }),
        }
    }

    /// Before the container's init process exists: on cgroup v1 creates the directories and
    /// applies `resources` to the still empty cgroup (the init then joins with
    /// [`Cgroups::join_current_thread`]); on v2 does nothing (see [`Cgroups::adopt`]).
    pub fn prepare(&self, resources: Option<&LinuxResources>, disable_oom_killer: bool) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(h) => {
                h.create()?;
                match resources {
                    Some(r) => self.apply(r, disable_oom_killer),
                    None => Ok(()),
                }
            }
            Inner::V2 { .. } => Ok(()),
        }
    }

    /// In the container's init process, before it does anything else: on v1 moves the calling
    /// (only) thread into every hierarchy and returns true; on v2 returns false, and the parent
    /// moves the process with [`Cgroups::adopt`].
    pub fn join_current_thread(&self) -> Result<bool, CgroupError> {
        match &self.inner {
            Inner::V1(h) => h.attach_current_thread().map(|()| true),
            Inner::V2 { .. } => Ok(false),
        }
    }

    /// In the parent after the init process was cloned: on v2 moves `pid` into the cgroup and
    /// applies `resources`; on v1 nothing (done by [`Cgroups::prepare`] and
    /// [`Cgroups::join_current_thread`]).
    pub fn adopt(
        &self,
        pid: i32,
        resources: Option<&LinuxResources>,
        disable_oom_killer: bool,
    ) -> Result<(), CgroupError> {
        match &self.inner {
            Inner::V1(_) => Ok(()),
            Inner::V2 { .. } => {
                self.create_and_attach(pid)?;
                match resources {
                    Some(r) => self.apply(r, disable_oom_killer),
                    None => Ok(()),
                }
            }
        }
    }

    /// Writes `linux.resources` the way libcgroups 0.7 v1 does (same files, same order, same
    /// defaults, including the devices controller's default rules), plus
    /// `memory.oom_control` = 1 when `disable_oom_killer` (or the spec's
    /// `memory.disableOOMKiller`) is set. Input errors are reported before anything is written.
    /// On v2 it delegates to the libcgroups v2 manager.
    pub fn apply(&self, resources: &LinuxResources, disable_oom_killer: bool) -> Result<(), CgroupError> {
        let disable_oom_killer =
            disable_oom_killer || resources.memory().as_ref().and_then(|m| m.disable_oom_killer()).unwrap_or(false);
        match &self.inner {
            Inner::V1(h) => h.apply(resources, disable_oom_killer),
            Inner::V2 { manager, dir, .. } => {
                let opt = ControllerOpt { resources, disable_oom_killer, oom_score_adj: None, freezer_state: None };
                manager.apply(&opt).map_err(|e| CgroupError::V2 { op: "apply", path: dir.clone(), source: Box::new(e) })
            }
        }
    }

    /// Removes every directory of this cgroup (the leaf only, never its parents), retrying
    /// EBUSY with short growing sleeps (≤ 1 s in all) while processes exit. Missing directories
    /// are fine, so this is idempotent. A hierarchy's root (an empty cgroups path resolving to
    /// the root cgroup) is never removed. Does not signal processes: the caller kills them first.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + REMOVE_BUDGET;
        match &self.inner {
            Inner::V1(h) => {
                let mut first_err = None;
                for dir in h.removable_dirs() {
                    if let Err(e) = remove_dir_retry(&dir, deadline) {
                        first_err.get_or_insert(e);
                    }
                }
                first_err.map_or(Ok(()), Err)
            }
            Inner::V2 { root, dir, .. } => {
                if same_dir(root, dir) {
                    return Ok(());
                }
                remove_dir_retry(dir, deadline)
            }
        }
    }

    /// The directories (one per hierarchy; combined mounts such as `cpu,cpuacct` appear once),
    /// for tests and debug logs.
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.inner {
            Inner::V1(h) => h.dirs(),
            Inner::V2 { dir, .. } => vec![dir.clone()],
        }
    }
}

enum Setup {
    V1,
    V2,
}

/// `libcgroups::common::get_cgroup_setup`: cgroup2 is unified; tmpfs is legacy or hybrid, and
/// both of those use the v1 controllers.
#[allow(clippy::unnecessary_cast)] // the magic's integer type differs between libc targets
/// libcgroups' rule (`create_cgroup_manager_with_root`): on cgroup v2, a relative path with the
/// systemd driver is a systemd unit, not a directory.
fn needs_systemd_manager(cgroup_path: &Path, systemd: bool) -> bool {
    systemd && !cgroup_path.is_absolute()
}

/// Whether [`Cgroups::resolve`] handles `cgroup_path` on this host: false only for a
/// systemd-managed path on a cgroup-v2 host (the caller then needs libcgroups' systemd manager).
pub fn handles(cgroup_path: &Path, systemd: bool) -> bool {
    !(needs_systemd_manager(cgroup_path, systemd) && matches!(detect(Path::new(DEFAULT_ROOT)), Ok(Setup::V2)))
}

fn detect(root: &Path) -> Result<Setup, CgroupError> {
    match fs_type(root)? {
        t if t == CGROUP2_SUPER_MAGIC => Ok(Setup::V2),
        t if t == TMPFS_MAGIC => Ok(Setup::V1),
        t => Err(CgroupError::UnknownSetup { path: root.to_path_buf(), magic: t.0 }),
    }
}

fn fs_type(root: &Path) -> Result<FsType, CgroupError> {
    let st = statfs(root).map_err(|e| CgroupError::Detect { path: root.to_path_buf(), source: e.into() })?;
    Ok(st.filesystem_type())
}

fn read_proc(path: &str) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read { path: PathBuf::from(path), source })
}

/// libcgroups joins a cgroups path containing `..` as is, which can create directories outside
/// the hierarchy (on the /sys/fs/cgroup tmpfs); refuse it instead.
fn check_path(cgroup_path: &Path) -> Result<(), CgroupError> {
    if cgroup_path.components().any(|c| c == Component::ParentDir) {
        return Err(CgroupError::InvalidPath { path: cgroup_path.to_path_buf(), reason: "contains \"..\"" });
    }
    Ok(())
}

/// `base` joined with `path` with its leading `/` removed (libcgroups' `join_safely`).
fn join_under(base: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix("/") {
        Ok(rel) => base.join(rel),
        Err(_) => base.join(path),
    }
}

/// Component-wise equality (`/a/` and `/a` are the same directory).
fn same_dir(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

fn remove_dir_retry(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(CgroupError::RemoveBusy { path: dir.to_path_buf(), waited: now - start, source: e });
                }
                std::thread::sleep(delay.min(deadline - now));
                delay = delay.saturating_mul(2);
            }
            Err(source) => return Err(CgroupError::Remove { path: dir.to_path_buf(), source }),
        }
    }
}

#[cfg(test)]
mod tests;
