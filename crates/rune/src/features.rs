//! `rune features`: what this runtime supports, in the OCI runtime features document format.

use oci_spec::runtime::{
    ApparmorBuilder, CgroupBuilder, Features, FeaturesBuilder, LinuxFeatureBuilder, LinuxNamespaceType, SelinuxBuilder,
    VERSION,
};

use crate::error::{Error, Result};

const HOOKS: [&str; 6] = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

const MOUNT_OPTIONS: [&str; 36] = [
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
];

pub fn features() -> Result<Features> {
    let err = |source| Error::OciSpec { what: "build features document", source };
    let linux = LinuxFeatureBuilder::default()
        .namespaces(vec![
            LinuxNamespaceType::Cgroup,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::User,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Time,
        ])
        .capabilities(caps_list())
        .cgroup(
            CgroupBuilder::default()
                .v1(true)
                .v2(true)
                .systemd(true)
                .systemd_user(true)
                .rdma(false)
                .build()
                .map_err(err)?,
        )
        .apparmor(ApparmorBuilder::default().enabled(true).build().map_err(err)?)
        .selinux(SelinuxBuilder::default().enabled(false).build().map_err(err)?)
        .build()
        .map_err(err)?;
    let mut annotations = std::collections::HashMap::new();
    annotations.insert("org.opencontainers.runc.version".to_string(), "1.1.5-compatible".to_string());
    annotations.insert("io.inclavare.rune.version".to_string(), env!("CARGO_PKG_VERSION").to_string());
    annotations.insert(
        "io.inclavare.rune.enclave.types".to_string(),
        "intelSgx,AwsNitroEnclaves,Jailhouse,sample".to_string(),
    );
    FeaturesBuilder::default()
        .oci_version_min("1.0.0".to_string())
        .oci_version_max(VERSION.to_string())
        .hooks(HOOKS.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .mount_options(MOUNT_OPTIONS.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .linux(linux)
        .annotations(annotations)
        .build()
        .map_err(err)
}

fn caps_list() -> Vec<String> {
    const CAPS: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    CAPS.iter().map(|s| s.to_string()).collect()
}
