#!/usr/bin/env bash
# Builds an OCI bundle from Debian's busybox-static (no registry is reachable here).
# usage: mk-busybox-bundle.sh DIR [ARGS...]   (default args: sh -c 'echo hello from busybox')
set -euo pipefail
dir=$1; shift || true
[ -x /bin/busybox ] || { echo "busybox-static is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$dir/rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var}
cp /bin/busybox "$dir/rootfs/bin/busybox"
for app in $(/bin/busybox --list); do
  [ -e "$dir/rootfs/bin/$app" ] || ln -s busybox "$dir/rootfs/bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"
chmod 1777 "$dir/rootfs/tmp"
if [ $# -eq 0 ]; then set -- sh -c 'echo hello from busybox'; fi
args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
jq -n --argjson args "$args" '{
  ociVersion: "1.0.2",
  process: {terminal: false, user: {uid: 0, gid: 0}, args: $args,
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    cwd: "/", noNewPrivileges: true,
    capabilities: {bounding: ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
      effective: ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
      permitted: ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
      ambient: ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},
    rlimits: [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}]},
  root: {path: "rootfs", readonly: true},
  hostname: "rune",
  mounts: [
    {destination: "/proc", type: "proc", source: "proc"},
    {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid","strictatime","mode=755","size=65536k"]},
    {destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
    {destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid","noexec","nodev","mode=1777","size=65536k"]},
    {destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid","noexec","nodev"]},
    {destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid","noexec","nodev","ro"]},
    {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid","nodev","mode=1777"]}
  ],
  linux: {
    resources: {devices: [{allow: false, access: "rwm"}]},
    namespaces: [{type: "pid"},{type: "network"},{type: "ipc"},{type: "uts"},{type: "mount"}],
    maskedPaths: ["/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],
    readonlyPaths: ["/proc/asound","/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
  }
}' > "$dir/config.json"
