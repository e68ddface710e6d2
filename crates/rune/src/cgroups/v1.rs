//! cgroup v1 (legacy and hybrid hosts): path resolution, creation and `linux.resources`.
//!
//! Facts matched from libcgroups 0.7 (`v1/{manager,util,*}.rs`, `common.rs`): the controller list
//! and the mount-point naming rule, file names, value formats, per-controller write order and the
//! devices controller's default rules. Deliberate differences:
//! - where libcgroups iterates a `HashMap` (controller order in `add_task`/`apply`) this module
//!   uses the fixed list order;
//! - input errors (unified keys, swappiness > 100, malformed hugepage sizes) are found before
//!   the first write, and `unified` on v1 is refused (libcgroups ignores it, runc refuses it);
//! - `net_prio.ifpriomap` gets one write per interface, as the kernel reads one entry per write;
//! - `memory.oom_control` honours `disable_oom_killer`, which libcontainer never passes.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxNetwork, LinuxResources};

use super::{join_under, same_dir, CgroupError};

/// libcgroups' `CONTROLLERS`, in its order.
const CONTROLLERS: [&str; 12] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

/// Rules libcgroups' devices controller writes to `devices.allow` after the spec's own rules:
/// its default devices (/dev/null, zero, full, tty, urandom, random as `c M:m rwm`), then its
/// default allow list (mknod of any char/block device, /dev/console, /dev/pts/*, /dev/ptmx,
/// /dev/net/tun).
const DEFAULT_DEVICE_RULES: [&str; 12] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:9 rwm",
    "c 1:8 rwm",
    "c *:* m",
    "b *:* m",
    "c 5:1 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

const PROCS: &str = "cgroup.procs";
const TASKS: &str = "tasks";

/// Mount-point names (last path component) under which a controller is found.
fn mount_names(controller: &str) -> &'static [&'static str] {
    match controller {
        "cpu" => &["cpu,cpuacct", "cpu"],
        "cpuacct" => &["cpu,cpuacct", "cpuacct"],
        "net_cls" => &["net_cls,net_prio", "net_prio,net_cls", "net_cls"],
        "net_prio" => &["net_cls,net_prio", "net_prio,net_cls", "net_prio"],
        "cpuset" => &["cpuset"],
        "devices" => &["devices"],
        "hugetlb" => &["hugetlb"],
        "memory" => &["memory"],
        "pids" => &["pids"],
        "perf_event" => &["perf_event"],
        "blkio" => &["blkio"],
        "freezer" => &["freezer"],
        _ => &[],
    }
}

/// Mount points of the `cgroup` (v1) filesystems in mountinfo order. Fields: id, parent,
/// major:minor, root, mount point, options, optional fields..., "-", fs type, source, super
/// options. Lines that do not have that shape are skipped. Mount points are not unescaped
/// (libcgroups does not either).
fn v1_mount_points(mountinfo: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 9 {
            continue;
        }
        let Some(sep) = fields.iter().skip(6).position(|f| *f == "-") else { continue };
        if fields.get(6 + sep + 1) == Some(&"cgroup") {
            out.push(fields[4]);
        }
    }
    out
}

/// This process's cgroup for `controller` from /proc/self/cgroup (`id:controllers:path`).
fn own_cgroup<'a>(self_cgroup: &'a str, controller: &str) -> Option<&'a str> {
    self_cgroup.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let _id = parts.next()?;
        let controllers = parts.next()?;
        let path = parts.next()?;
        controllers.split(',').any(|c| c == controller).then_some(path)
    })
}

#[derive(Debug, Clone)]
struct Controller {
    name: &'static str,
    mount: PathBuf,
    dir: PathBuf,
}

/// The container's directory in each mounted v1 hierarchy.
pub(super) struct Hierarchies {
    controllers: Vec<Controller>,
}

impl Hierarchies {
    pub(super) fn resolve(mountinfo: &str, self_cgroup: &str, cgroup_path: &Path) -> Result<Self, CgroupError> {
        let mounts = v1_mount_points(mountinfo);
        let mut controllers = Vec::new();
        for name in CONTROLLERS {
            let names = mount_names(name);
            let found = mounts
                .iter()
                .find(|mp| Path::new(mp).file_name().and_then(|n| n.to_str()).is_some_and(|n| names.contains(&n)));
            let Some(mount) = found.map(PathBuf::from) else { continue };
            let dir = if cgroup_path.as_os_str().is_empty() {
                let Some(own) = own_cgroup(self_cgroup, name) else { continue };
                let own = Path::new(own);
                if own.components().any(|c| c == Component::ParentDir) {
                    return Err(CgroupError::InvalidPath {
                        path: own.to_path_buf(),
                        reason: "this process's cgroup lies outside its cgroup namespace",
                    });
                }
                join_under(&mount, own)
            } else {
                join_under(&mount, cgroup_path)
            };
            controllers.push(Controller { name, mount, dir });
        }
        Ok(Hierarchies { controllers })
    }

    /// Distinct directories, in controller order.
    pub(super) fn dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for c in &self.controllers {
            if !out.iter().any(|d| same_dir(d, &c.dir)) {
                out.push(c.dir.clone());
            }
        }
        out
    }

    /// Directories that `remove` may delete: not a hierarchy's root.
    pub(super) fn removable_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.dirs();
        dirs.retain(|d| !self.controllers.iter().any(|c| same_dir(&c.mount, d)));
        dirs
    }

    fn get(&self, name: &str) -> Option<&Controller> {
        self.controllers.iter().find(|c| c.name == name)
    }

    pub(super) fn create_and_attach(&self, pid: i32) -> Result<(), CgroupError> {
        self.create()?;
        self.attach(pid)
    }

    /// `mkdir -p` in every hierarchy, cpuset directories filled from their parents.
    pub(super) fn create(&self) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            fs::create_dir_all(&dir).map_err(|source| CgroupError::CreateDir { path: dir.clone(), source })?;
            if let Some(cpuset) = self.get("cpuset").filter(|c| same_dir(&c.dir, &dir)) {
                fill_cpuset(cpuset, "cpuset.cpus")?;
                fill_cpuset(cpuset, "cpuset.mems")?;
            }
        }
        Ok(())
    }

    pub(super) fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for dir in self.dirs() {
            write(&dir.join(PROCS), &pid)?;
        }
        Ok(())
    }

    /// Moves the calling thread by writing "0" to `tasks`. The kernel migrates a single thread
    /// that names itself without taking the global threadgroup rwsem (`cgroup_procs_write_start`
    /// locks it only for a pid or a whole thread group), whose first writer waits an RCU grace
    /// period: measured here 5–30 ms for the first `cgroup.procs` write of a container. For a
    /// single-threaded process moving its only thread is moving the process.
    pub(super) fn attach_current_thread(&self) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            write(&dir.join(TASKS), "0")?;
        }
        Ok(())
    }

    pub(super) fn apply(&self, r: &LinuxResources, disable_oom_killer: bool) -> Result<(), CgroupError> {
        validate(r)?;
        let mut todo = Vec::new();
        for name in CONTROLLERS {
            if let Some(field) = needed(name, r) {
                let c = self.get(name).ok_or(CgroupError::ControllerMissing { controller: name, field })?;
                todo.push(c);
            }
        }
        for c in todo {
            let dir = c.dir.as_path();
            match c.name {
                "cpu" => r.cpu().as_ref().map_or(Ok(()), |cpu| apply_cpu(dir, cpu))?,
                "cpuset" => r.cpu().as_ref().map_or(Ok(()), |cpu| apply_cpuset(dir, cpu))?,
                "devices" => apply_devices(dir, r)?,
                "hugetlb" => apply_hugetlb(dir, r)?,
                "memory" => r.memory().as_ref().map_or(Ok(()), |m| apply_memory(dir, m, disable_oom_killer))?,
                "pids" => {
                    if let Some(p) = r.pids() {
                        let v = if p.limit() > 0 { p.limit().to_string() } else { "max".to_string() };
                        write(&dir.join("pids.max"), &v)?;
                    }
                }
                "blkio" => r.block_io().as_ref().map_or(Ok(()), |b| apply_blkio(dir, b))?,
                "net_prio" => r.network().as_ref().map_or(Ok(()), |n| apply_net_prio(dir, n))?,
                "net_cls" => {
                    if let Some(id) = r.network().as_ref().and_then(|n| n.class_id()) {
                        write(&dir.join("net_cls.classid"), &id.to_string())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Input errors, checked before anything is written (libcgroups finds some of them half-way).
fn validate(r: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        let mut keys: Vec<&str> = u.keys().map(String::as_str).collect();
        keys.sort_unstable();
        return Err(CgroupError::UnifiedOnV1 { keys: keys.join(", ") });
    }
    if let Some(value) = r.memory().as_ref().and_then(|m| m.swappiness()).filter(|s| *s > 100) {
        return Err(CgroupError::SwappinessOutOfRange { value });
    }
    for h in r.hugepage_limits().iter().flatten() {
        check_page_size(h.page_size())?;
    }
    Ok(())
}

/// libcgroups' rule: the leading digits must be a power of two (`2MB`, `1GB`, `64KB`).
fn check_page_size(page_size: &str) -> Result<(), CgroupError> {
    let digits: String = page_size.chars().take_while(|c| c.is_ascii_digit()).collect();
    let bad = |reason| CgroupError::HugepageSize { page_size: page_size.to_string(), reason };
    if digits.is_empty() {
        return Err(bad("does not start with a number"));
    }
    let n: u64 = digits.parse().map_err(|_| bad("number out of range"))?;
    if !n.is_power_of_two() {
        return Err(bad("not a power of two"));
    }
    Ok(())
}

/// Which `linux.resources` field makes a controller necessary (libcgroups' `needs_to_handle`).
fn needed(controller: &str, r: &LinuxResources) -> Option<&'static str> {
    let cpu = r.cpu().as_ref();
    match controller {
        "cpu" => cpu
            .filter(|c| {
                c.shares().is_some()
                    || c.period().is_some()
                    || c.quota().is_some()
                    || c.realtime_period().is_some()
                    || c.realtime_runtime().is_some()
                    || c.idle().is_some()
            })
            .map(|_| "cpu"),
        "cpuset" => cpu.filter(|c| c.cpus().is_some() || c.mems().is_some()).map(|_| "cpu.cpus/mems"),
        // Always: the default device rules are written whatever the spec says.
        "devices" => Some("devices"),
        "hugetlb" => r.hugepage_limits().as_ref().filter(|h| !h.is_empty()).map(|_| "hugepageLimits"),
        "memory" => r.memory().as_ref().map(|_| "memory"),
        "pids" => r.pids().as_ref().map(|_| "pids"),
        "blkio" => r.block_io().as_ref().map(|_| "blockIO"),
        "net_prio" | "net_cls" => r.network().as_ref().map(|_| "network"),
        _ => None,
    }
}

fn apply_cpu(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    // Zero means "not set" for these (libcgroups skips them), burst and idle are written as given.
    if let Some(v) = c.shares().filter(|v| *v != 0) {
        write(&dir.join("cpu.shares"), &v.to_string())?;
    }
    if let Some(v) = c.period().filter(|v| *v != 0) {
        write(&dir.join("cpu.cfs_period_us"), &v.to_string())?;
    }
    if let Some(v) = c.quota().filter(|v| *v != 0) {
        write(&dir.join("cpu.cfs_quota_us"), &v.to_string())?;
    }
    if let Some(v) = c.burst() {
        write(&dir.join("cpu.cfs_burst_us"), &v.to_string())?;
    }
    if let Some(v) = c.realtime_runtime().filter(|v| *v != 0) {
        write(&dir.join("cpu.rt_runtime_us"), &v.to_string())?;
    }
    if let Some(v) = c.realtime_period().filter(|v| *v != 0) {
        write(&dir.join("cpu.rt_period_us"), &v.to_string())?;
    }
    if let Some(v) = c.idle() {
        write(&dir.join("cpu.idle"), &v.to_string())?;
    }
    Ok(())
}

fn apply_cpuset(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(v) = c.cpus() {
        write(&dir.join("cpuset.cpus"), v)?;
    }
    if let Some(v) = c.mems() {
        write(&dir.join("cpuset.mems"), v)?;
    }
    Ok(())
}

fn apply_devices(dir: &Path, r: &LinuxResources) -> Result<(), CgroupError> {
    for rule in r.devices().iter().flatten() {
        let file = if rule.allow() { "devices.allow" } else { "devices.deny" };
        write(&dir.join(file), &rule.to_string())?;
    }
    for rule in DEFAULT_DEVICE_RULES {
        write(&dir.join("devices.allow"), rule)?;
    }
    Ok(())
}

fn apply_hugetlb(dir: &Path, r: &LinuxResources) -> Result<(), CgroupError> {
    for h in r.hugepage_limits().iter().flatten() {
        let path = dir.join(format!("hugetlb.{}.limit_in_bytes", h.page_size()));
        let value = h.limit().to_string();
        match write(&path, &value) {
            Err(CgroupError::Write { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(CgroupError::HugepageSizeUnsupported { page_size: h.page_size().to_string(), path });
            }
            other => other?,
        }
        let rsvd = dir.join(format!("hugetlb.{}.rsvd.limit_in_bytes", h.page_size()));
        if rsvd.exists() {
            write(&rsvd, &value)?;
        }
    }
    Ok(())
}

fn apply_memory(dir: &Path, m: &LinuxMemory, disable_oom_killer: bool) -> Result<(), CgroupError> {
    // Limit and memsw in libcgroups' order: when the new swap limit is above the current memory
    // limit (or unlimited), memsw goes first, since the kernel keeps memsw >= memory. Zero means
    // "leave alone" for both.
    let (limit, swap, swap_first) = match (m.limit(), m.swap()) {
        (Some(limit), Some(swap)) => {
            let current = read_limit(dir)?;
            (limit, swap, swap == -1 || current < swap)
        }
        (Some(limit), None) => {
            let current = read_limit(dir)?;
            if limit == -1 {
                (-1, -1, true)
            } else {
                (limit, 0, current < 0)
            }
        }
        (None, Some(swap)) => (0, swap, false),
        (None, None) => (0, 0, false),
    };
    if swap_first {
        set_swap(dir, swap)?;
        set_limit(dir, limit)?;
    }
    set_limit(dir, limit)?;
    set_swap(dir, swap)?;

    if let Some(v) = m.reservation().filter(|v| *v != 0) {
        write(&dir.join("memory.soft_limit_in_bytes"), &v.to_string())?;
    }
    write(&dir.join("memory.oom_control"), if disable_oom_killer { "1" } else { "0" })?;
    if let Some(v) = m.swappiness() {
        write(&dir.join("memory.swappiness"), &v.to_string())?;
    }
    if let Some(v) = m.kernel() {
        write(&dir.join("memory.kmem.limit_in_bytes"), &v.to_string())?;
    }
    if let Some(v) = m.kernel_tcp() {
        write(&dir.join("memory.kmem.tcp.limit_in_bytes"), &v.to_string())?;
    }
    Ok(())
}

fn read_limit(dir: &Path) -> Result<i64, CgroupError> {
    let path = dir.join("memory.limit_in_bytes");
    let text = read(&path)?;
    match text.trim() {
        "max" => Ok(i64::MAX),
        t => t.parse().map_err(|_| CgroupError::Malformed { path, content: t.to_string() }),
    }
}

fn read_usage(path: PathBuf) -> Result<u64, CgroupError> {
    let text = read(&path)?;
    match text.trim() {
        "max" => Ok(u64::MAX),
        t => t.parse().map_err(|_| CgroupError::Malformed { path, content: t.to_string() }),
    }
}

fn set_limit(dir: &Path, limit: i64) -> Result<(), CgroupError> {
    if limit == 0 {
        return Ok(());
    }
    let path = dir.join("memory.limit_in_bytes");
    match write(&path, &limit.to_string()) {
        Err(CgroupError::Write { source, .. }) if source.raw_os_error() == Some(libc::EBUSY) => {
            let usage = read_usage(dir.join("memory.usage_in_bytes"))?;
            let peak = read_usage(dir.join("memory.max_usage_in_bytes"))?;
            Err(CgroupError::MemoryLimitBusy { path, limit, usage, peak })
        }
        other => other,
    }
}

fn set_swap(dir: &Path, swap: i64) -> Result<(), CgroupError> {
    if swap == 0 {
        return Ok(());
    }
    write(&dir.join("memory.memsw.limit_in_bytes"), &swap.to_string())
}

fn apply_blkio(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        // blkio.weight belongs to CFQ; with blk-mq + BFQ only blkio.bfq.weight exists.
        let classic = dir.join("blkio.weight");
        let file = if classic.exists() { classic } else { dir.join("blkio.bfq.weight") };
        write(&file, &w.to_string())?;
    }
    let throttles = [
        ("blkio.throttle.read_bps_device", b.throttle_read_bps_device()),
        ("blkio.throttle.write_bps_device", b.throttle_write_bps_device()),
        ("blkio.throttle.read_iops_device", b.throttle_read_iops_device()),
        ("blkio.throttle.write_iops_device", b.throttle_write_iops_device()),
    ];
    for (file, devices) in throttles {
        for d in devices.iter().flatten() {
            write(&dir.join(file), &format!("{}:{} {}", d.major(), d.minor(), d.rate()))?;
        }
    }
    Ok(())
}

fn apply_net_prio(dir: &Path, n: &LinuxNetwork) -> Result<(), CgroupError> {
    // One "<ifname> <prio>" per write, as runc does: the kernel's ifpriomap parser reads a
    // single entry per write, so libcgroups' one multi-line write only sets the first interface.
    for p in n.priorities().iter().flatten() {
        write(&dir.join("net_prio.ifpriomap"), &format!("{} {}", p.name(), p.priority()))?;
    }
    Ok(())
}

/// Walks from the cpuset hierarchy's root down to the container's directory and gives every
/// level whose `file` is empty its parent's value (the kernel refuses tasks in a cpuset without
/// CPUs or memory nodes, ENOSPC).
fn fill_cpuset(c: &Controller, file: &str) -> Result<(), CgroupError> {
    let rel = c
        .dir
        .strip_prefix(&c.mount)
        .map_err(|_| CgroupError::InvalidPath { path: c.dir.clone(), reason: "not under the cpuset mount point" })?;
    let mut current = c.mount.clone();
    let mut parent_value = read(&current.join(file))?.trim().to_string();
    for component in rel.components() {
        let parent = current.join(file);
        current.push(component);
        let child = current.join(file);
        if parent_value.is_empty() {
            return Err(CgroupError::CpusetParentEmpty { path: child, parent });
        }
        let value = read(&child)?.trim().to_string();
        if value.is_empty() {
            write(&child, &parent_value)?;
        } else {
            parent_value = value;
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read { path: path.to_path_buf(), source })
}

/// One `open(O_WRONLY|O_TRUNC|O_CLOEXEC)` + `write` per value, as runc and libcgroups do: the
/// kernel parses each write separately, so rules must not be batched into one write.
fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let err = |source| CgroupError::Write { path: path.to_path_buf(), value: value.to_string(), source };
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(path).map_err(err)?;
    f.write_all(value.as_bytes()).map_err(err)?;
    #[cfg(test)]
    WRITES.with(|w| w.borrow_mut().push((path.to_path_buf(), value.to_string())));
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// Successful writes of this thread, in order (tests check order, not just end state).
    pub(super) static WRITES: std::cell::RefCell<Vec<(PathBuf, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}
