# Shared helpers for end-to-end suites. Source it; call `finish` at the end.
# Each check prints "ok - NAME" or "not ok - NAME"; finish prints "N passed, N failed".
set -u
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$E2E_ROOT/target}
BIN=$TARGET/release
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
# start_dockerd DIR RUNE_PATH: dockerd with runtime "rune" from its own daemon.json. Sets $DOCKER.
start_dockerd() {
  local d=$1 rune=$2
  mkdir -p "$d"
  jq -n --arg rune "$rune" --arg d "$d" '{runtimes: {rune: {path: $rune}}, "data-root": "\($d)/data",
    "exec-root": "\($d)/exec", pidfile: "\($d)/docker.pid", hosts: ["unix://\($d)/docker.sock"],
    bridge: "none", iptables: false, "ip-forward": false, "ip-masq": false}' > "$d/daemon.json"
  dockerd --config-file "$d/daemon.json" > "$d/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  DOCKER="/usr/bin/docker -H unix://$d/docker.sock"
  wait_for 60 $DOCKER version >/dev/null || { echo "dockerd did not start:"; tail -20 "$d/dockerd.log"; return 1; }
}
stop_dockerd() {
  [ -n "${DOCKERD_PID:-}" ] || return 0
  $DOCKER ps -aq 2>/dev/null | xargs -r $DOCKER rm -f >/dev/null 2>&1
  kill "$DOCKERD_PID" 2>/dev/null; wait "$DOCKERD_PID" 2>/dev/null; DOCKERD_PID=
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
  CTR="ctr -a $d/containerd.sock"
  wait_for 30 $CTR version >/dev/null || { echo "containerd did not start:"; tail -20 "$d/containerd.log"; return 1; }
}
stop_containerd() {
  [ -n "${CONTAINERD_PID:-}" ] || return 0
  local t
  for t in $($CTR task ls -q 2>/dev/null); do $CTR task kill -s KILL "$t" >/dev/null 2>&1; $CTR task delete -f "$t" >/dev/null 2>&1; done
  for t in $($CTR container ls -q 2>/dev/null); do $CTR container delete "$t" >/dev/null 2>&1; done
  kill "$CONTAINERD_PID" 2>/dev/null; wait "$CONTAINERD_PID" 2>/dev/null; CONTAINERD_PID=
}
