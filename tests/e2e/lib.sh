# Shared helpers for end-to-end suites. Source it; call `finish` at the end.
# Each check prints "ok - NAME" or "not ok - NAME"; finish prints "N passed, N failed".
set -u
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$E2E_ROOT/target}
BIN=$TARGET/release
# The pinned upstream peers (C rats-tls, skopeo, guest-components, trustee) and their build script;
# CI places them beside the repository.
PEERS_DIR=${PEERS_DIR:-$(cd "$E2E_ROOT/.." && pwd)/shared/peers}
PASS=0; FAIL=0; FAILED_NAMES=()

ok()   { PASS=$((PASS+1)); echo "ok - $1"; }
fail() { FAIL=$((FAIL+1)); FAILED_NAMES+=("$1"); echo "not ok - $1${2:+ ($2)}"; }

# check NAME CMD...: passes when CMD exits 0.
check() { local n=$1; shift; if "$@" >/dev/null; then ok "$n"; else fail "$n"; fi; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }

# expect_match NAME REGEX TEXT
expect_match() { if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else fail "$1" "'$3' does not match /$2/"; fi; }

# wait_for SECONDS CMD...: polls until CMD succeeds.
wait_for() { local t=$1; shift; local end=$((SECONDS + t)); while ! "$@" 2>/dev/null; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }
# wait_eq SECONDS WANT CMD...: until CMD (re-run each time; a shell function is fine) prints WANT.
wait_eq() { local t=$1 want=$2; shift 2; local end=$((SECONDS + t)); until [ "$("$@" 2>/dev/null)" = "$want" ]; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done; }

# need_bins FILE...: exits 1 naming the first file missing from $BIN (release build output).
need_bins() {
  local f
  for f in "$@"; do
    [ -e "$BIN/$f" ] || { echo "missing $BIN/$f: cargo build --release --workspace first" >&2; exit 1; }
  done
}

# kbs_suite_init NAME: what the KBS / Attestation Agent suites share: their binaries ($KBS, $CLI, $AA,
# $AC), a scratch directory $T, and $PIDS, the daemons `kill_pids` SIGKILLs at cleanup.
kbs_suite_init() {
  need_bins kbs kbs-client attestation-agent aa-client
  KBS=$BIN/kbs; CLI=$BIN/kbs-client; AA=$BIN/attestation-agent; AC=$BIN/aa-client
  export RUST_BACKTRACE=0
  T=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
}
kill_pids() { local p; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; }

finish() {
  [ "$FAIL" -eq 0 ] || echo "failed: ${FAILED_NAMES[*]}"
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}

# Mounts v1 controllers that exist in the kernel but are not mounted (crun needs hugetlb on this
# hybrid host). Records what it mounted in $E2E_MOUNTED so `host_restore` can undo it.
E2E_MOUNTED=()
host_prepare() {
  [ -d /sys/fs/cgroup/memory ] || return 0   # pure v2 host: nothing to do
  while read -r name hier _ enabled; do
    [ "$name" = "#subsys_name" ] && continue
    case $name in hugetlb) ;; *) continue ;; esac
    if [ "$hier" = 0 ] && [ "$enabled" = 1 ] && ! mountpoint -q "/sys/fs/cgroup/$name"; then
      mkdir -p "/sys/fs/cgroup/$name" && mount -t cgroup -o "$name" cgroup "/sys/fs/cgroup/$name" && E2E_MOUNTED+=("/sys/fs/cgroup/$name")
    fi
  done < /proc/cgroups
}
host_restore() {
  local m
  for m in "${E2E_MOUNTED[@]}"; do umount "$m" 2>/dev/null && rmdir "$m" 2>/dev/null; done
  E2E_MOUNTED=()
}

# --- private daemons (own sockets and state under $1; nothing in /etc or /var is touched)
# wait_gone PID SECONDS: waits for PID to exit, SIGKILLs it after SECONDS; reaps it when it is our child.
wait_gone() {
  local i
  for i in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}
# umount_under DIR: lazily unmounts whatever a daemon left mounted below DIR (deepest first).
umount_under() {
  local m
  for m in $(grep -o " $1/[^ ]*" /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
  return 0
}
# start_dockerd DIR RUNE_PATH [STORAGE_DRIVER] [RUNTIME_ARGS_JSON]: dockerd with runtime "rune" from its
# own daemon.json. Sets $DOCKER. STORAGE_DRIVER (e.g. "vfs": plain copies, works on any backing filesystem
# and needs no overlay mounts) is left to dockerd when empty. RUNTIME_ARGS_JSON: the runtime's
# "runtimeArgs" (e.g. '["--pal-dir","/path"]': rune's global flags).
start_dockerd() {
  local d=$1 rune=$2 storage=${3:-} rargs=${4:-[]}
  mkdir -p "$d"
  jq -n --arg rune "$rune" --arg d "$d" --arg sd "$storage" --argjson ra "$rargs" '{runtimes: {rune: ({path: $rune}
    + (if $ra == [] then {} else {runtimeArgs: $ra} end))}, "data-root": "\($d)/data",
    "exec-root": "\($d)/exec", pidfile: "\($d)/docker.pid", hosts: ["unix://\($d)/docker.sock"],
    bridge: "none", iptables: false, ip6tables: false, "ip-forward": false, "ip-masq": false}
    + (if $sd == "" then {} else {"storage-driver": $sd} end)' > "$d/daemon.json"
  dockerd --config-file "$d/daemon.json" > "$d/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  DOCKERD_DIR=$d
  DOCKER="/usr/bin/docker -H unix://$d/docker.sock"
  wait_for 60 $DOCKER version >/dev/null || { echo "dockerd did not start:"; tail -20 "$d/dockerd.log"; return 1; }
}
# stop_dockerd: removes every container, stops dockerd (SIGKILL after 20 s) and unmounts what it left.
stop_dockerd() {
  [ -n "${DOCKERD_PID:-}" ] || return 0
  $DOCKER ps -aq 2>/dev/null | xargs -r $DOCKER rm -f >/dev/null 2>&1
  kill "$DOCKERD_PID" 2>/dev/null; wait_gone "$DOCKERD_PID" 20; DOCKERD_PID=
  umount_under "$DOCKERD_DIR"
}
# start_containerd DIR: containerd with its own root, state and socket. Sets $CTR.
start_containerd() {
  local d=$1
  mkdir -p "$d"
  cat > "$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
TOML
  containerd --config "$d/config.toml" > "$d/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  CONTAINERD_DIR=$d
  CTR="ctr -a $d/containerd.sock"
  wait_for 30 $CTR version >/dev/null || { echo "containerd did not start:"; tail -20 "$d/containerd.log"; return 1; }
}
# stop_containerd: kills and deletes the tasks and containers of every namespace, stops containerd
# (SIGKILL after 20 s), then the shims it started (found by its socket path) and unmounts leftovers.
stop_containerd() {
  [ -n "${CONTAINERD_PID:-}" ] || return 0
  local ns t p
  for ns in $($CTR namespaces ls -q 2>/dev/null); do
    for t in $($CTR -n "$ns" task ls -q 2>/dev/null); do
      $CTR -n "$ns" task kill -s KILL "$t" >/dev/null 2>&1; $CTR -n "$ns" task delete -f "$t" >/dev/null 2>&1
    done
    for t in $($CTR -n "$ns" container ls -q 2>/dev/null); do $CTR -n "$ns" container delete "$t" >/dev/null 2>&1; done
  done
  kill "$CONTAINERD_PID" 2>/dev/null; wait_gone "$CONTAINERD_PID" 20; CONTAINERD_PID=
  for p in /proc/[0-9]*; do
    case $( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) in
      *containerd-shim*" -address $CONTAINERD_DIR/containerd.sock "*) kill "${p#/proc/}" 2>/dev/null && wait_gone "${p#/proc/}" 5 ;;
    esac
  done
  umount_under "$CONTAINERD_DIR"
}
