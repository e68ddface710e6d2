#!/usr/bin/env bash
# rune under the real clients: docker (runtime from daemon.json), containerd (ctr, rune as the runc
# binary of the runc v2 shim) and podman (--runtime). Each daemon is private to this run.
source "$(dirname "$0")/lib.sh"
RUNE=$BIN/rune
WORK=$(mktemp -d /tmp/rune-clients.XXXXXX)
cleanup() {
  stop_dockerd; stop_containerd
  podman_cmd rm -af >/dev/null 2>&1
  umount -R "$WORK"/podman/* 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
bash "$E2E_ROOT/scripts/mk-busybox-bundle.sh" "$WORK/bb" >/dev/null

# ---------------- docker
if start_dockerd "$WORK/docker" "$RUNE"; then
  tar -C "$WORK/bb/rootfs" -c . | $DOCKER import - busybox:rune >/dev/null
  out=$($DOCKER run --rm --network none --runtime=rune busybox:rune sh -c 'echo hello from docker; exit 3'); rc=$?
  expect_eq "docker run output" "hello from docker" "$out"
  expect_eq "docker run exit code" 3 "$rc"
  $DOCKER run -d --name d1 --network none --runtime=rune busybox:rune sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null
  expect_eq "docker inspect says runtime rune" rune "$($DOCKER inspect -f '{{.HostConfig.Runtime}}' d1)"
  out=$($DOCKER exec d1 sh -c 'echo "exec $0"; exit 4' 'with spaces'); rc=$?
  expect_eq "docker exec output" "exec with spaces" "$out"
  expect_eq "docker exec exit code" 4 "$rc"
  out=$($DOCKER exec -e 'A=b c' -w /tmp -u 65534 d1 sh -c 'echo "$A $(pwd) $(id -u)"')
  expect_eq "docker exec -e -w -u" "b c /tmp 65534" "$out"
  out=$(script -qec "$DOCKER exec -t d1 sh -c 'tty'" /dev/null | tr -d '\r')
  expect_match "docker exec -t gets a pty" "^/dev/pts/" "$out"
  start=$SECONDS; $DOCKER stop d1 >/dev/null
  check "docker stop delivers SIGTERM (no 10 s timeout)" test $((SECONDS - start)) -lt 5
  expect_eq "docker stop exit code from the trap" 7 "$($DOCKER inspect -f '{{.State.ExitCode}}' d1)"
  $DOCKER rm d1 >/dev/null
  $DOCKER run -d --name d2 --network none --runtime=rune --memory 64m --pids-limit 20 busybox:rune sleep 60 >/dev/null
  cid=$($DOCKER inspect -f '{{.Id}}' d2)
  expect_eq "docker --memory reaches the cgroup" 67108864 "$(cat /sys/fs/cgroup/memory/docker/$cid/memory.limit_in_bytes 2>/dev/null)"
  $DOCKER pause d2 >/dev/null; expect_eq "docker pause" paused "$($DOCKER inspect -f '{{.State.Status}}' d2)"
  $DOCKER unpause d2 >/dev/null; expect_eq "docker unpause" running "$($DOCKER inspect -f '{{.State.Status}}' d2)"
  check "docker top lists the process" sh -c "$DOCKER top d2 | grep -q 'sleep 60'"
  $DOCKER update --memory 96m --memory-swap 96m d2 >/dev/null
  expect_eq "docker update reaches the cgroup" 100663296 "$(cat /sys/fs/cgroup/memory/docker/$cid/memory.limit_in_bytes 2>/dev/null)"
  $DOCKER kill d2 >/dev/null; $DOCKER rm d2 >/dev/null
  out=$($DOCKER run --rm --network none --runtime=rune busybox:rune /nonexistent 2>&1); rc=$?
  check "docker run of a missing binary fails" test $rc -ne 0
  expect_match "docker shows rune's error" "nonexistent" "$out"
  check "no rune containers left in docker's state root" test -z "$(ls "$WORK/docker/exec/runtime-runc/moby" 2>/dev/null)"
  stop_dockerd
else
  fail "dockerd starts"
fi

# ---------------- containerd
if start_containerd "$WORK/containerd"; then
  out=$($CTR run --rm --runc-binary "$RUNE" --env PATH=/bin --rootfs "$WORK/bb/rootfs" c1 sh -c 'echo hello from ctr; exit 5'); rc=$?
  expect_eq "ctr run output" "hello from ctr" "$out"
  expect_eq "ctr run exit code" 5 "$rc"
  $CTR run -d --runc-binary "$RUNE" --env PATH=/bin --rootfs "$WORK/bb/rootfs" c2 sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done' >/dev/null
  wait_for 10 sh -c "$CTR task ls | grep -q 'c2.*RUNNING'"
  out=$($CTR task exec --exec-id e1 c2 sh -c 'echo "exec $0"; exit 6' 'with spaces'); rc=$?
  expect_eq "ctr task exec output" "exec with spaces" "$out"
  expect_eq "ctr task exec exit code" 6 "$rc"
  $CTR task kill c2
  check "ctr task kill stops it" wait_for 10 sh -c "$CTR task ls | grep -q 'c2.*STOPPED'"
  $CTR task delete c2 >/dev/null 2>&1; $CTR container delete c2 >/dev/null 2>&1
  check "ctr leaves no container in rune's root" test -z "$(ls "$WORK/containerd/state/io.containerd.runtime.v2.task/default" 2>/dev/null)"
  stop_containerd
else
  fail "containerd starts"
fi

# ---------------- podman
podman_cmd() { podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --tmpdir "$WORK/podman/tmp" \
  --cgroup-manager cgroupfs --events-backend file --runtime "$RUNE" "$@"; }
PU=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --network none)
mkdir -p "$WORK/podman/tmp"
tar -C "$WORK/bb/rootfs" -c . | podman_cmd import - busybox:rune >/dev/null 2>&1
out=$(podman_cmd run --rm "${PU[@]}" busybox:rune sh -c 'echo hello from podman; exit 4'); rc=$?
expect_eq "podman run output" "hello from podman" "$out"
expect_eq "podman run exit code" 4 "$rc"
podman_cmd run -d --name p1 "${PU[@]}" busybox:rune sh -c 'trap "exit 8" TERM; while :; do sleep 0.1; done' >/dev/null
out=$(podman_cmd exec p1 sh -c 'echo "exec $0"; exit 2' 'with spaces'); rc=$?
expect_eq "podman exec output" "exec with spaces" "$out"
expect_eq "podman exec exit code" 2 "$rc"
podman_cmd stop -t 5 p1 >/dev/null
expect_eq "podman stop exit code from the trap" 8 "$(podman_cmd inspect -f '{{.State.ExitCode}}' p1)"
podman_cmd rm p1 >/dev/null

finish
