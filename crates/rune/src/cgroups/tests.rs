#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxHugepageLimitBuilder,
    LinuxInterfacePriorityBuilder, LinuxMemoryBuilder, LinuxNetworkBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, LinuxThrottleDeviceBuilder,
};

use super::v1::WRITES;
use super::{CgroupError, Cgroups};

/// A fake /sys/fs/cgroup: one directory per mount name, and the mountinfo text describing it.
struct Fake {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    mountinfo: String,
}

impl Fake {
    /// `mounts` are directory names under the root (`memory`, `cpu,cpuacct`, ...).
    fn new(mounts: &[&str]) -> Fake {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cgroup");
        fs::create_dir(&root).unwrap();
        let mut mountinfo = format!("25 1 0:23 / {} rw,nosuid - tmpfs tmpfs rw,mode=755\n", root.display());
        // Noise that must be ignored: a non-cgroup mount and a cgroup2 mount named like a controller.
        mountinfo.push_str("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
        mountinfo.push_str(&format!(
            "26 25 0:24 / {}/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate\n",
            root.display()
        ));
        mountinfo.push_str("27 1 0:99 / /mnt/memory rw - tmpfs tmpfs rw\n");
        for (i, m) in mounts.iter().enumerate() {
            fs::create_dir(root.join(m)).unwrap();
            let opts = if *m == "systemd" { "name=systemd".to_string() } else { m.to_string() };
            mountinfo.push_str(&format!(
                "{} 25 0:{} / {}/{m} rw,nosuid,nodev,noexec,relatime shared:{} - cgroup cgroup rw,{opts}\n",
                30 + i,
                30 + i,
                root.display(),
                10 + i
            ));
        }
        Fake { _tmp: tmp, root, mountinfo }
    }

    fn resolve(&self, path: &str) -> Cgroups {
        Cgroups::resolve_with(&self.root, &self.mountinfo, "", Path::new(path), false).unwrap()
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// The host this was written on: separate cpu and cpuacct, no net_* or perf_event.
const HYBRID: &[&str] =
    &["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "hugetlb"];

/// A classic systemd legacy layout with co-mounted controllers.
const LEGACY: &[&str] = &[
    "cpu,cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_cls,net_prio",
    "freezer",
    "systemd",
];

fn touch(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn take_writes() -> Vec<(PathBuf, String)> {
    WRITES.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Writes under `base`, relative to it, for readable assertions (others are dropped).
fn rel_writes(base: &Path) -> Vec<(String, String)> {
    take_writes().into_iter().filter_map(|(p, v)| Some((p.strip_prefix(base).ok()?.display().to_string(), v))).collect()
}

fn w(file: &str, value: &str) -> (String, String) {
    (file.to_string(), value.to_string())
}

#[test]
fn hybrid_absolute_path() {
    let f = Fake::new(HYBRID);
    let cg = f.resolve("/rune-x");
    let want: Vec<PathBuf> = ["cpu", "cpuacct", "cpuset", "devices", "hugetlb", "memory", "pids", "blkio", "freezer"]
        .iter()
        .map(|c| f.p(&format!("{c}/rune-x")))
        .collect();
    assert_eq!(cg.paths(), want);
}

#[test]
fn legacy_combined_mounts_relative_path() {
    let f = Fake::new(LEGACY);
    let cg = f.resolve("kubepods/pod1/ctr");
    let want: Vec<PathBuf> = [
        "cpu,cpuacct",
        "cpuset",
        "devices",
        "hugetlb",
        "memory",
        "pids",
        "perf_event",
        "blkio",
        "net_cls,net_prio",
        "freezer",
    ]
    .iter()
    .map(|c| f.p(&format!("{c}/kubepods/pod1/ctr")))
    .collect();
    assert_eq!(cg.paths(), want, "co-mounted controllers share one directory, listed once");
}

#[test]
fn youki_default_path_is_relative_to_each_mount() {
    // libcontainer's get_cgroup_path without linux.cgroupsPath: ":youki:<id>".
    let f = Fake::new(&["memory", "pids"]);
    let cg = f.resolve(":youki:abc");
    assert_eq!(cg.paths(), vec![f.p("memory/:youki:abc"), f.p("pids/:youki:abc")]);
}

#[test]
fn prio_cls_order_and_separate_mounts() {
    let f = Fake::new(&["net_prio", "net_cls", "devices"]);
    let cg = f.resolve("/c");
    assert_eq!(cg.paths(), vec![f.p("devices/c"), f.p("net_prio/c"), f.p("net_cls/c")]);
    let f = Fake::new(&["net_prio,net_cls"]);
    assert_eq!(f.resolve("/c").paths(), vec![f.p("net_prio,net_cls/c")]);
}

#[test]
fn first_matching_mount_wins_and_reversed_cpu_pair_is_not_cpu() {
    // libcgroups accepts only "cpu,cpuacct" for the pair; "cpuacct,cpu" matches neither.
    let f = Fake::new(&["cpuacct,cpu", "memory"]);
    let extra = format!("90 25 0:90 / {}/other/memory rw - cgroup cgroup rw,memory\n", f.root.display());
    let mountinfo = format!("{}{extra}", f.mountinfo);
    let cg = Cgroups::resolve_with(&f.root, &mountinfo, "", Path::new("/x"), false).unwrap();
    assert_eq!(cg.paths(), vec![f.p("memory/x")]);
}

#[test]
fn empty_path_uses_own_cgroup_and_skips_unlisted_controllers() {
    let f = Fake::new(&["cpu,cpuacct", "memory", "devices", "pids"]);
    let self_cgroup = "\
12:pids:/user.slice/user-0.slice
4:memory:/process_api/fb28
3:cpu,cpuacct:/
1:name=systemd:/user.slice
0::/user.slice
";
    let cg = Cgroups::resolve_with(&f.root, &f.mountinfo, self_cgroup, Path::new(""), false).unwrap();
    // devices is mounted but this process has no devices line: skipped, as libcgroups does.
    assert_eq!(
        cg.paths(),
        vec![f.p("cpu,cpuacct/"), f.p("memory/process_api/fb28"), f.p("pids/user.slice/user-0.slice")]
    );
    // The root cgroup of a hierarchy is never removed.
    fs::create_dir_all(f.p("memory/process_api/fb28")).unwrap();
    fs::create_dir_all(f.p("pids/user.slice/user-0.slice")).unwrap();
    cg.remove().unwrap();
    assert!(f.p("cpu,cpuacct").is_dir());
    assert!(!f.p("memory/process_api/fb28").exists());
    assert!(f.p("memory/process_api").is_dir(), "parents stay");
    assert!(!f.p("pids/user.slice/user-0.slice").exists());
}

#[test]
fn empty_path_escaping_cgroup_namespace_is_refused() {
    let f = Fake::new(&["memory"]);
    let err = Cgroups::resolve_with(&f.root, &f.mountinfo, "4:memory:/../../x\n", Path::new(""), false).unwrap_err();
    assert!(matches!(err, CgroupError::InvalidPath { .. }), "{err}");
}

#[test]
fn dotdot_in_cgroups_path_is_refused() {
    let f = Fake::new(HYBRID);
    let err = Cgroups::resolve_with(&f.root, &f.mountinfo, "", Path::new("/a/../../etc"), false).unwrap_err();
    assert!(matches!(&err, CgroupError::InvalidPath { path, .. } if path == Path::new("/a/../../etc")), "{err}");
}

#[test]
fn no_v1_mounts_means_no_directories() {
    let f = Fake::new(&[]);
    let cg = f.resolve("/x");
    assert!(cg.paths().is_empty());
    cg.create_and_attach(1).unwrap();
    let err = cg.apply(&LinuxResources::default(), false).unwrap_err();
    assert!(matches!(err, CgroupError::ControllerMissing { controller: "devices", .. }), "{err}");
}

/// Creates `dir` with the files the kernel would provide, empty unless given.
fn kernel_files(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        touch(&dir.join(name), content);
    }
}

#[test]
fn create_and_attach_fills_cpusets_and_writes_pid() {
    let f = Fake::new(&["cpuset", "memory", "cpu,cpuacct"]);
    kernel_files(&f.p("cpuset"), &[("cpuset.cpus", "0-3\n"), ("cpuset.mems", "0\n")]);
    // An existing intermediate level with its own value, then a new empty level.
    kernel_files(&f.p("cpuset/a"), &[("cpuset.cpus", "1-2\n"), ("cpuset.mems", "\n"), ("cgroup.procs", "")]);
    kernel_files(&f.p("cpuset/a/b"), &[("cpuset.cpus", ""), ("cpuset.mems", ""), ("cgroup.procs", "")]);
    kernel_files(&f.p("memory/a/b"), &[("cgroup.procs", "")]);
    kernel_files(&f.p("cpu,cpuacct/a/b"), &[("cgroup.procs", "")]);
    let cg = f.resolve("/a/b");
    take_writes();
    cg.create_and_attach(4242).unwrap();
    assert_eq!(
        rel_writes(&f.root),
        vec![
            // every directory first (cpusets filled), then the pid
            w("cpuset/a/b/cpuset.cpus", "1-2"),
            w("cpuset/a/cpuset.mems", "0"),
            w("cpuset/a/b/cpuset.mems", "0"),
            w("cpu,cpuacct/a/b/cgroup.procs", "4242"),
            w("cpuset/a/b/cgroup.procs", "4242"),
            w("memory/a/b/cgroup.procs", "4242"),
        ]
    );
    assert_eq!(fs::read_to_string(f.p("cpuset/a/cpuset.cpus")).unwrap(), "1-2\n", "non-empty level kept");
}

#[test]
fn create_and_attach_reports_empty_root_cpuset() {
    let f = Fake::new(&["cpuset"]);
    kernel_files(&f.p("cpuset"), &[("cpuset.cpus", "\n"), ("cpuset.mems", "0")]);
    kernel_files(&f.p("cpuset/c"), &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
    let err = f.resolve("/c").create_and_attach(1).unwrap_err();
    assert!(
        matches!(&err, CgroupError::CpusetParentEmpty { parent, .. } if *parent == f.p("cpuset/cpuset.cpus")),
        "{err}"
    );
}

#[test]
fn create_and_attach_names_the_file_on_failure() {
    // The leaf is created (mkdir -p) but a fake filesystem has no cgroup.procs: open fails.
    let f = Fake::new(&["memory"]);
    let err = f.resolve("/new/leaf").create_and_attach(7).unwrap_err();
    assert!(f.p("memory/new/leaf").is_dir());
    match err {
        CgroupError::Write { path, value, source } => {
            assert_eq!(path, f.p("memory/new/leaf/cgroup.procs"));
            assert_eq!(value, "7");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        e => panic!("unexpected {e}"),
    }
}

fn full_spec() -> LinuxResources {
    LinuxResourcesBuilder::default()
        .devices(vec![
            LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().unwrap(),
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::C)
                .major(10)
                .minor(229)
                .access("rw")
                .build()
                .unwrap(),
            LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .typ(LinuxDeviceType::B)
                .major(8)
                .access("w")
                .build()
                .unwrap(),
        ])
        .memory(
            LinuxMemoryBuilder::default()
                .limit(256 << 20)
                .swap(512 << 20)
                .reservation(128 << 20)
                .swappiness(10u64)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000)
                .period(100_000u64)
                .cpus("0-1")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(100).build().unwrap())
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(300u16)
                .throttle_read_bps_device(vec![
                    LinuxThrottleDeviceBuilder::default().major(8).minor(0).rate(1_048_576u64).build().unwrap(),
                    LinuxThrottleDeviceBuilder::default().major(8).minor(16).rate(2_097_152u64).build().unwrap(),
                ])
                .throttle_write_iops_device(vec![LinuxThrottleDeviceBuilder::default()
                    .major(8)
                    .minor(0)
                    .rate(100u64)
                    .build()
                    .unwrap()])
                .build()
                .unwrap(),
        )
        .hugepage_limits(vec![
            LinuxHugepageLimitBuilder::default().page_size("2MB").limit(4 << 20).build().unwrap(),
            LinuxHugepageLimitBuilder::default().page_size("1GB").limit(1 << 30).build().unwrap(),
        ])
        .network(
            LinuxNetworkBuilder::default()
                .class_id(0x0010_0001u32)
                .priorities(vec![
                    LinuxInterfacePriorityBuilder::default().name("eth0").priority(5u32).build().unwrap(),
                    LinuxInterfacePriorityBuilder::default().name("lo").priority(1u32).build().unwrap(),
                ])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// LEGACY layout with the kernel files `apply` touches, in directory `/c`.
fn legacy_with_files() -> Fake {
    let f = Fake::new(LEGACY);
    for (dir, files) in [
        ("cpu,cpuacct", &["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"][..]),
        ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
        ("devices", &["devices.allow", "devices.deny"]),
        ("hugetlb", &["hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.rsvd.limit_in_bytes", "hugetlb.1GB.limit_in_bytes"]),
        (
            "memory",
            &["memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.oom_control", "memory.swappiness"],
        ),
        ("pids", &["pids.max"]),
        ("blkio", &["blkio.weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"]),
        ("net_cls,net_prio", &["net_cls.classid", "net_prio.ifpriomap"]),
    ] {
        for file in files {
            touch(&f.p(&format!("{dir}/c/{file}")), "");
        }
    }
    touch(&f.p("memory/c/memory.limit_in_bytes"), "9223372036854771712\n");
    f
}

#[test]
fn apply_writes_libcgroups_files_in_order() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    take_writes();
    cg.apply(&full_spec(), false).unwrap();
    let mut want = vec![
        w("cpu,cpuacct/c/cpu.shares", "512"),
        w("cpu,cpuacct/c/cpu.cfs_period_us", "100000"),
        w("cpu,cpuacct/c/cpu.cfs_quota_us", "50000"),
        w("cpuset/c/cpuset.cpus", "0-1"),
        w("cpuset/c/cpuset.mems", "0"),
        w("devices/c/devices.deny", "a *:* rwm"),
        w("devices/c/devices.allow", "c 10:229 rw"),
        w("devices/c/devices.deny", "b 8:* w"),
    ];
    for rule in [
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
    ] {
        want.push(w("devices/c/devices.allow", rule));
    }
    want.extend([
        w("hugetlb/c/hugetlb.2MB.limit_in_bytes", "4194304"),
        w("hugetlb/c/hugetlb.2MB.rsvd.limit_in_bytes", "4194304"),
        w("hugetlb/c/hugetlb.1GB.limit_in_bytes", "1073741824"),
        // Current limit (unlimited) is not below the new swap: memory first, then memsw.
        w("memory/c/memory.limit_in_bytes", "268435456"),
        w("memory/c/memory.memsw.limit_in_bytes", "536870912"),
        w("memory/c/memory.soft_limit_in_bytes", "134217728"),
        w("memory/c/memory.oom_control", "0"),
        w("memory/c/memory.swappiness", "10"),
        w("pids/c/pids.max", "100"),
        w("blkio/c/blkio.weight", "300"),
        w("blkio/c/blkio.throttle.read_bps_device", "8:0 1048576"),
        w("blkio/c/blkio.throttle.read_bps_device", "8:16 2097152"),
        w("blkio/c/blkio.throttle.write_iops_device", "8:0 100"),
        w("net_cls,net_prio/c/net_prio.ifpriomap", "eth0 5"),
        w("net_cls,net_prio/c/net_prio.ifpriomap", "lo 1"),
        w("net_cls,net_prio/c/net_cls.classid", "1048577"),
    ]);
    assert_eq!(rel_writes(&f.root), want);
}

#[test]
fn apply_disable_oom_killer_and_defaults() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    take_writes();
    let memory = LinuxMemoryBuilder::default().build().unwrap();
    let r = LinuxResourcesBuilder::default()
        .memory(memory)
        .pids(LinuxPidsBuilder::default().limit(0).build().unwrap())
        .build()
        .unwrap();
    cg.apply(&r, true).unwrap();
    let writes: Vec<_> = rel_writes(&f.root).into_iter().filter(|(p, _)| !p.starts_with("devices/")).collect();
    assert_eq!(writes, vec![w("memory/c/memory.oom_control", "1"), w("pids/c/pids.max", "max")]);

    // The spec's own memory.disableOOMKiller counts too.
    let memory = LinuxMemoryBuilder::default().disable_oom_killer(true).build().unwrap();
    cg.apply(&LinuxResourcesBuilder::default().memory(memory).build().unwrap(), false).unwrap();
    assert!(rel_writes(&f.root).contains(&w("memory/c/memory.oom_control", "1")));
}

/// The memory.* writes (but oom_control) of applying `limit`/`swap`; `current` is what
/// memory.limit_in_bytes holds before (None: the file does not exist).
fn memory_writes(
    f: &Fake,
    cg: &Cgroups,
    current: Option<&str>,
    limit: Option<i64>,
    swap: Option<i64>,
) -> Vec<(String, String)> {
    if let Some(current) = current {
        touch(&f.p("memory/c/memory.limit_in_bytes"), current);
    }
    let mut m = LinuxMemoryBuilder::default();
    if let Some(l) = limit {
        m = m.limit(l);
    }
    if let Some(s) = swap {
        m = m.swap(s);
    }
    let r = LinuxResourcesBuilder::default().memory(m.build().unwrap()).build().unwrap();
    take_writes();
    cg.apply(&r, false).unwrap();
    rel_writes(&f.p("memory/c"))
        .into_iter()
        .filter(|(p, _)| p.starts_with("memory.") && p != "memory.oom_control")
        .collect()
}

#[test]
fn memory_limit_and_swap_order() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    // Raising swap above the current limit: memsw first, then memory, then both again.
    assert_eq!(
        memory_writes(&f, &cg, Some("1048576\n"), Some(2 << 20), Some(4 << 20)),
        vec![
            w("memory.memsw.limit_in_bytes", "4194304"),
            w("memory.limit_in_bytes", "2097152"),
            w("memory.limit_in_bytes", "2097152"),
            w("memory.memsw.limit_in_bytes", "4194304"),
        ]
    );
    // Unlimited without swap: both set to -1, memsw first.
    assert_eq!(
        memory_writes(&f, &cg, Some("1048576\n"), Some(-1), None),
        vec![
            w("memory.memsw.limit_in_bytes", "-1"),
            w("memory.limit_in_bytes", "-1"),
            w("memory.limit_in_bytes", "-1"),
            w("memory.memsw.limit_in_bytes", "-1"),
        ]
    );
    // A limit alone: only memory.limit_in_bytes.
    assert_eq!(
        memory_writes(&f, &cg, Some("9223372036854771712\n"), Some(64 << 20), None),
        vec![w("memory.limit_in_bytes", "67108864")]
    );
    // Swap alone: only memsw, and the current limit is not read.
    fs::remove_file(f.p("memory/c/memory.limit_in_bytes")).unwrap();
    assert_eq!(memory_writes(&f, &cg, None, None, Some(8 << 20)), vec![w("memory.memsw.limit_in_bytes", "8388608")]);
}

#[test]
fn malformed_current_memory_limit_is_reported() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    touch(&f.p("memory/c/memory.limit_in_bytes"), "lots\n");
    let r = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(1 << 20).build().unwrap())
        .build()
        .unwrap();
    let err = cg.apply(&r, false).unwrap_err();
    assert!(matches!(&err, CgroupError::Malformed { content, .. } if content == "lots"), "{err}");
}

#[test]
fn blkio_weight_falls_back_to_bfq() {
    let f = Fake::new(&["blkio", "devices"]);
    kernel_files(&f.p("devices/c"), &[("devices.allow", ""), ("devices.deny", "")]);
    kernel_files(&f.p("blkio/c"), &[("blkio.bfq.weight", "")]);
    let cg = f.resolve("/c");
    let r = LinuxResourcesBuilder::default()
        .block_io(LinuxBlockIoBuilder::default().weight(700u16).build().unwrap())
        .build()
        .unwrap();
    take_writes();
    cg.apply(&r, false).unwrap();
    assert_eq!(rel_writes(&f.p("blkio/c")).last().unwrap(), &w("blkio.bfq.weight", "700"));
    assert_eq!(fs::read_to_string(f.p("blkio/c/blkio.bfq.weight")).unwrap(), "700");
}

#[test]
fn cpu_zero_values_and_burst_idle_rt() {
    let f = Fake::new(&["cpu", "devices"]);
    kernel_files(&f.p("devices/c"), &[("devices.allow", ""), ("devices.deny", "")]);
    let files = [
        "cpu.shares",
        "cpu.cfs_period_us",
        "cpu.cfs_quota_us",
        "cpu.cfs_burst_us",
        "cpu.rt_runtime_us",
        "cpu.rt_period_us",
        "cpu.idle",
    ];
    kernel_files(&f.p("cpu/c"), &files.map(|n| (n, "")));
    let cg = f.resolve("/c");
    let cpu = LinuxCpuBuilder::default()
        .shares(0u64)
        .quota(-1)
        .burst(1000u64)
        .realtime_runtime(950_000)
        .realtime_period(1_000_000u64)
        .idle(1)
        .build()
        .unwrap();
    take_writes();
    cg.apply(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap(), false).unwrap();
    assert_eq!(
        rel_writes(&f.p("cpu/c")),
        vec![
            w("cpu.cfs_quota_us", "-1"),
            w("cpu.cfs_burst_us", "1000"),
            w("cpu.rt_runtime_us", "950000"),
            w("cpu.rt_period_us", "1000000"),
            w("cpu.idle", "1"),
        ]
    );
    // burst alone does not make libcgroups handle the cpu controller: nothing written.
    let cpu = LinuxCpuBuilder::default().burst(5u64).build().unwrap();
    take_writes();
    cg.apply(&LinuxResourcesBuilder::default().cpu(cpu).build().unwrap(), false).unwrap();
    assert!(rel_writes(&f.root).iter().all(|(p, _)| p.starts_with("devices/")));
}

#[test]
fn unified_on_v1_is_refused_before_writing() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    let mut unified = HashMap::new();
    unified.insert("memory.high".to_string(), "1G".to_string());
    unified.insert("cpu.weight".to_string(), "10".to_string());
    let mut r = full_spec();
    r.set_unified(Some(unified));
    take_writes();
    let err = cg.apply(&r, false).unwrap_err();
    assert!(matches!(&err, CgroupError::UnifiedOnV1 { keys } if keys == "cpu.weight, memory.high"), "{err}");
    assert!(take_writes().is_empty());
    // An empty map is not a request.
    r.set_unified(Some(HashMap::new()));
    cg.apply(&r, false).unwrap();
}

#[test]
fn swappiness_out_of_range_is_refused_before_writing() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    let r = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(1 << 20).swappiness(101u64).build().unwrap())
        .build()
        .unwrap();
    take_writes();
    let err = cg.apply(&r, false).unwrap_err();
    assert!(matches!(err, CgroupError::SwappinessOutOfRange { value: 101 }), "{err}");
    assert!(take_writes().is_empty());
}

#[test]
fn hugetlb_page_size_errors() {
    let f = legacy_with_files();
    let cg = f.resolve("/c");
    let with = |size: &str| {
        LinuxResourcesBuilder::default()
            .hugepage_limits(vec![LinuxHugepageLimitBuilder::default().page_size(size).limit(1).build().unwrap()])
            .build()
            .unwrap()
    };
    for (size, reason) in
        [("3MB", "not a power of two"), ("MB", "does not start with a number"), ("0KB", "not a power of two")]
    {
        let err = cg.apply(&with(size), false).unwrap_err();
        assert!(
            matches!(&err, CgroupError::HugepageSize { page_size, reason: r } if page_size == size && *r == reason),
            "{size}: {err}"
        );
    }
    let err = cg.apply(&with("64KB"), false).unwrap_err();
    assert!(
        matches!(&err, CgroupError::HugepageSizeUnsupported { page_size, path }
            if page_size == "64KB" && *path == f.p("hugetlb/c/hugetlb.64KB.limit_in_bytes")),
        "{err}"
    );
}

#[test]
fn missing_controller_for_requested_resource() {
    let f = Fake::new(HYBRID); // no net_cls / net_prio on this layout
    let cg = f.resolve("/c");
    let r = LinuxResourcesBuilder::default()
        .network(LinuxNetworkBuilder::default().class_id(1u32).build().unwrap())
        .build()
        .unwrap();
    take_writes();
    let err = cg.apply(&r, false).unwrap_err();
    assert!(matches!(err, CgroupError::ControllerMissing { controller: "net_prio", field: "network" }), "{err}");
    assert!(take_writes().is_empty(), "checked before writing");
}

#[test]
fn remove_is_idempotent_and_leaves_parents() {
    let f = Fake::new(LEGACY);
    let cg = f.resolve("/p/c");
    for d in cg.paths() {
        fs::create_dir_all(d).unwrap();
    }
    cg.remove().unwrap();
    for d in cg.paths() {
        assert!(!d.exists(), "{} removed", d.display());
        assert!(d.parent().unwrap().is_dir(), "parent of {} kept", d.display());
    }
    cg.remove().unwrap();
}

#[test]
fn remove_reports_other_errors_and_continues() {
    let f = Fake::new(&["memory", "pids"]);
    let cg = f.resolve("/c");
    touch(&f.p("memory/c/file"), "x"); // a plain directory with content: ENOTEMPTY
    fs::create_dir_all(f.p("pids/c")).unwrap();
    let err = cg.remove().unwrap_err();
    assert!(matches!(&err, CgroupError::Remove { path, .. } if *path == f.p("memory/c")), "{err}");
    assert!(!f.p("pids/c").exists(), "the other directories are still removed");
}

#[test]
fn unknown_root_filesystem_is_detect_error() {
    let err = Cgroups::resolve_with(Path::new("/nonexistent/cgroup"), "", "", Path::new("/x"), false).unwrap_err();
    assert!(matches!(err, CgroupError::Detect { .. }), "{err}");
}

/// A real cgroup2 mount is needed to exercise the v2 branch; the hybrid host has one at
/// /sys/fs/cgroup/unified. Only resolution is exercised (nothing is created).
#[test]
fn v2_resolution_on_real_cgroup2_mount() {
    let root = Path::new("/sys/fs/cgroup/unified");
    let is_cgroup2 = nix::sys::statfs::statfs(root)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false);
    if !is_cgroup2 {
        eprintln!("skipped: {} is not a cgroup2 mount", root.display());
        return;
    }
    let err = Cgroups::resolve_with(root, "", "", Path::new("system.slice:rune:x"), true).unwrap_err();
    assert!(matches!(err, CgroupError::Unsupported(_)), "{err}");
    let cg = Cgroups::resolve_with(root, "", "", Path::new("/rune/x"), true).unwrap();
    assert_eq!(cg.paths(), vec![root.join("rune/x")]);
    let cg = Cgroups::resolve_with(root, "", "", Path::new("rel/x"), false).unwrap();
    assert_eq!(cg.paths(), vec![root.join("rel/x")]);
    cg.remove().unwrap(); // missing: fine
}

mod real_host {
    //! On this host (root, cgroup v1 or hybrid): create, apply and remove for real, and check
    //! that libcgroups finds the same directories and writes the same values.

    use std::process::{Child, Command};

    use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager, ControllerOpt};
    use libcgroups::v1::ControllerType;

    use super::*;

    fn host_ready() -> bool {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: not root");
            return false;
        }
        if !Path::new("/sys/fs/cgroup/memory").is_dir() {
            eprintln!("skipped: /sys/fs/cgroup/memory is absent (not a cgroup v1 host)");
            return false;
        }
        true
    }

    /// Kills the child and removes the directories even when an assertion fails.
    struct Guard {
        child: Option<Child>,
        dirs: Vec<PathBuf>,
    }

    impl Guard {
        fn kill(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            self.kill();
            for d in &self.dirs {
                let _ = fs::remove_dir(d);
            }
        }
    }

    fn read(p: PathBuf) -> String {
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).trim().to_string()
    }

    #[test]
    fn real_host_v1_roundtrip() {
        if !host_ready() {
            return;
        }
        let path = PathBuf::from(format!("/rune-cgtest-{}", std::process::id()));
        let cg = Cgroups::resolve(&path, false).unwrap();
        let dirs = cg.paths();
        assert!(dirs.contains(&PathBuf::from(format!("/sys/fs/cgroup/memory{}", path.display()))), "{dirs:?}");
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        let mut guard = Guard { child: Some(child), dirs: dirs.clone() };

        cg.create_and_attach(pid).unwrap();
        let r = LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(64 << 20).build().unwrap())
            .pids(LinuxPidsBuilder::default().limit(10).build().unwrap())
            .build()
            .unwrap();
        cg.apply(&r, false).unwrap();

        let mem = Path::new("/sys/fs/cgroup/memory").join(path.strip_prefix("/").unwrap());
        assert_eq!(read(mem.join("memory.limit_in_bytes")), "67108864");
        assert_eq!(read(Path::new("/sys/fs/cgroup/pids").join(path.strip_prefix("/").unwrap()).join("pids.max")), "10");
        for d in &dirs {
            let procs = read(d.join("cgroup.procs"));
            assert!(procs.lines().any(|l| l == pid.to_string()), "{} has {pid}: {procs:?}", d.display());
        }
        let devices = Path::new("/sys/fs/cgroup/devices").join(path.strip_prefix("/").unwrap());
        let list = read(devices.join("devices.list"));
        assert!(list.contains("c 136:* rwm") || list.contains("a *:* rwm"), "{list}");

        // libcgroups (what ps, update, pause, kill --all use) sees the same cgroup.
        let config = CgroupConfig { cgroup_path: path.clone(), systemd_cgroup: false, container_name: "t".into() };
        let manager = create_cgroup_manager(config).unwrap();
        let pids = manager.get_all_pids().unwrap();
        assert!(pids.contains(&nix::unistd::Pid::from_raw(pid)), "{pids:?}");
        for ct in [
            ControllerType::Cpu,
            ControllerType::CpuAcct,
            ControllerType::CpuSet,
            ControllerType::Devices,
            ControllerType::HugeTlb,
            ControllerType::Memory,
            ControllerType::Pids,
            ControllerType::PerfEvent,
            ControllerType::Blkio,
            ControllerType::NetworkPriority,
            ControllerType::NetworkClassifier,
            ControllerType::Freezer,
        ] {
            if let Ok(mount) = libcgroups::v1::util::get_subsystem_mount_point(&ct) {
                let theirs = mount.join(path.strip_prefix("/").unwrap());
                assert!(dirs.contains(&theirs), "{ct}: libcgroups uses {}, we have {dirs:?}", theirs.display());
            }
        }

        guard.kill();
        cg.remove().unwrap();
        for d in &dirs {
            assert!(!d.exists(), "{} still exists", d.display());
        }
        cg.remove().unwrap();
    }

    /// The same resources applied by libcgroups' v1 manager and by this module to two sibling
    /// cgroups leave the same values in the kernel.
    #[test]
    fn real_host_v1_values_match_libcgroups() {
        if !host_ready() {
            return;
        }
        let ours_path = PathBuf::from(format!("/rune-cgtest-ours-{}", std::process::id()));
        let theirs_path = PathBuf::from(format!("/rune-cgtest-theirs-{}", std::process::id()));
        let ours = Cgroups::resolve(&ours_path, false).unwrap();
        let theirs_dirs = Cgroups::resolve(&theirs_path, false).unwrap().paths();
        let mut g1 = Guard { child: Some(Command::new("sleep").arg("30").spawn().unwrap()), dirs: ours.paths() };
        let mut g2 = Guard { child: Some(Command::new("sleep").arg("30").spawn().unwrap()), dirs: theirs_dirs.clone() };
        let pid1 = g1.child.as_ref().unwrap().id() as i32;
        let pid2 = g2.child.as_ref().unwrap().id() as i32;

        let mut r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(96 << 20)
                    .swap(128 << 20)
                    .reservation(32 << 20)
                    .swappiness(20u64)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(256u64)
                    .quota(20_000)
                    .period(100_000u64)
                    .cpus("0")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(32).build().unwrap())
            .devices(vec![
                LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build().unwrap(),
                LinuxDeviceCgroupBuilder::default()
                    .allow(true)
                    .typ(LinuxDeviceType::C)
                    .major(10)
                    .minor(229)
                    .access("rw")
                    .build()
                    .unwrap(),
            ])
            .build()
            .unwrap();
        let hugetlb_2mb = Path::new("/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes").exists();
        if hugetlb_2mb {
            r.set_hugepage_limits(Some(vec![LinuxHugepageLimitBuilder::default()
                .page_size("2MB")
                .limit(8 << 20)
                .build()
                .unwrap()]));
        }

        ours.create_and_attach(pid1).unwrap();
        ours.apply(&r, false).unwrap();

        let lc = libcgroups::v1::manager::Manager::new(&theirs_path).unwrap();
        lc.add_task(nix::unistd::Pid::from_raw(pid2)).unwrap();
        lc.apply(&ControllerOpt { resources: &r, disable_oom_killer: false, oom_score_adj: None, freezer_state: None })
            .unwrap();

        let mut files = vec![
            ("memory", "memory.limit_in_bytes"),
            ("memory", "memory.memsw.limit_in_bytes"),
            ("memory", "memory.soft_limit_in_bytes"),
            ("memory", "memory.swappiness"),
            ("memory", "memory.oom_control"),
            ("cpu", "cpu.shares"),
            ("cpu", "cpu.cfs_quota_us"),
            ("cpu", "cpu.cfs_period_us"),
            ("cpuset", "cpuset.cpus"),
            ("cpuset", "cpuset.mems"),
            ("pids", "pids.max"),
            ("devices", "devices.list"),
        ];
        if hugetlb_2mb {
            files.push(("hugetlb", "hugetlb.2MB.limit_in_bytes"));
        }
        for (ctl, file) in files {
            let base = Path::new("/sys/fs/cgroup").join(ctl);
            let a = read(base.join(ours_path.strip_prefix("/").unwrap()).join(file));
            let b = read(base.join(theirs_path.strip_prefix("/").unwrap()).join(file));
            // oom_control also reports the live under_oom/oom_kill counters; compare the setting.
            let (a, b) = if file == "memory.oom_control" {
                (a.lines().next().unwrap().to_string(), b.lines().next().unwrap().to_string())
            } else {
                (a, b)
            };
            assert_eq!(a, b, "{ctl}/{file}");
        }

        g1.kill();
        g2.kill();
        ours.remove().unwrap();
        lc.remove().unwrap();
        assert!(ours.paths().iter().all(|d| !d.exists()));
        assert!(theirs_dirs.iter().all(|d| !d.exists()));
    }

    /// `remove` waits for exiting processes (EBUSY retries) and gives up with `RemoveBusy`
    /// after its budget when they do not exit.
    #[test]
    fn real_host_v1_remove_waits_for_exit() {
        if !host_ready() {
            return;
        }
        let path = PathBuf::from(format!("/rune-cgtest-busy-{}", std::process::id()));
        let cg = Cgroups::resolve(&path, false).unwrap();
        let mut guard = Guard { child: Some(Command::new("sleep").arg("30").spawn().unwrap()), dirs: cg.paths() };
        cg.create_and_attach(guard.child.as_ref().unwrap().id() as i32).unwrap();
        let err = cg.remove().unwrap_err();
        assert!(
            matches!(&err, CgroupError::RemoveBusy { waited, .. } if *waited <= std::time::Duration::from_millis(1100)),
            "{err}"
        );
        guard.kill();

        // A process that exits while remove is retrying: remove succeeds.
        let mut short = Command::new("sleep").arg("0.2").spawn().unwrap();
        cg.create_and_attach(short.id() as i32).unwrap();
        let reaper = std::thread::spawn(move || short.wait());
        cg.remove().unwrap();
        reaper.join().unwrap().unwrap();
        assert!(cg.paths().iter().all(|d| !d.exists()));
    }

    /// The v2 branch on a real cgroup2 mount (the hybrid host's controller-less `unified`).
    #[test]
    fn real_host_v2_unified_roundtrip() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: not root");
            return;
        }
        let root = Path::new("/sys/fs/cgroup/unified");
        let is_cgroup2 = nix::sys::statfs::statfs(root)
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
        if !is_cgroup2 {
            eprintln!("skipped: {} is not a cgroup2 mount", root.display());
            return;
        }
        let path = PathBuf::from(format!("/rune-cgtest-v2-{}", std::process::id()));
        let cg = Cgroups::resolve_with(root, "", "", &path, false).unwrap();
        let dir = root.join(path.strip_prefix("/").unwrap());
        assert_eq!(cg.paths(), vec![dir.clone()]);
        let mut guard =
            Guard { child: Some(Command::new("sleep").arg("30").spawn().unwrap()), dirs: vec![dir.clone()] };
        let pid = guard.child.as_ref().unwrap().id() as i32;
        cg.create_and_attach(pid).unwrap();
        assert!(read(dir.join("cgroup.procs")).lines().any(|l| l == pid.to_string()));
        cg.apply(&LinuxResources::default(), false).unwrap();
        guard.kill();
        cg.remove().unwrap();
        assert!(!dir.exists());
        cg.remove().unwrap();
    }
}

#[test]
fn prepare_then_join_moves_the_calling_thread_through_tasks() {
    let f = Fake::new(&["cpuset", "memory", "pids", "devices"]);
    kernel_files(&f.p("cpuset"), &[("cpuset.cpus", "0-1\n"), ("cpuset.mems", "0\n")]);
    for c in ["cpuset", "memory", "pids", "devices"] {
        kernel_files(&f.p(&format!("{c}/c1")), &[("tasks", ""), ("cgroup.procs", "")]);
    }
    kernel_files(&f.p("cpuset/c1"), &[("cpuset.cpus", ""), ("cpuset.mems", ""), ("tasks", "")]);
    kernel_files(&f.p("devices/c1"), &[("devices.allow", ""), ("devices.deny", ""), ("tasks", "")]);
    kernel_files(&f.p("pids/c1"), &[("pids.max", ""), ("tasks", "")]);
    let cg = f.resolve("/c1");
    let res: LinuxResources = serde_json::from_value(serde_json::json!({"pids": {"limit": 10}})).unwrap();
    take_writes();
    cg.prepare(Some(&res), false).unwrap();
    let prepared = rel_writes(&f.root);
    assert!(prepared.contains(&w("pids/c1/pids.max", "10")), "limits before any process joins: {prepared:?}");
    assert!(!prepared.iter().any(|(p, _)| p.ends_with("cgroup.procs") || p.ends_with("tasks")), "{prepared:?}");
    assert!(cg.join_current_thread().unwrap(), "v1: the init process joins by itself");
    let joined = rel_writes(&f.root);
    assert_eq!(joined.len(), 4, "{joined:?}");
    assert!(joined.iter().all(|(p, v)| p.ends_with("/c1/tasks") && v == "0"), "{joined:?}");
    cg.adopt(77, Some(&res), false).unwrap();
    assert!(rel_writes(&f.root).is_empty(), "v1: nothing left for the parent");
}
