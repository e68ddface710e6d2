#!/usr/bin/env bash
# Demo: enclave containers under docker with rune. Starts its own dockerd (temp dir, unix socket
# only, no networking), registers rune as a docker runtime, and runs
#   1. the skeleton enclave runtime's hello payload,
#   2. a busybox payload under the sample-libos software TEE, with `docker exec` and `docker stop`.
set -euo pipefail
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT_DIR/target}/release
RUNE=$BIN/rune
# The helpers of the e2e suites (need_bins, start_dockerd, stop_dockerd, umount_under).
# lib.sh is written for `set -u` suites; its helpers tolerate failing commands, so relax -e around it.
set +e
source "$ROOT_DIR/tests/e2e/lib.sh"
set -e
need_bins rune libpal_skeleton_v3.so libpal_sample_libos.so
W=$(mktemp -d /tmp/enclave-demo.XXXXXX)
cleanup() {
  set +e
  stop_dockerd
  umount_under "$W"
  rm -rf "$W"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a private dockerd with runtime 'rune' = $RUNE"
set +e
# The PALs stay in the cargo target dir: daemon.json's runtimeArgs add it to rune's PAL allowlist
# (by default only /usr/lib/rune/pal and /usr/local/lib/rune/pal are allowed).
start_dockerd "$W/docker" "$RUNE" vfs "[\"--pal-dir\",\"$BIN\"]" || exit 1
set -e
docker() { $DOCKER "$@"; }
bash "$ROOT_DIR/scripts/mk-busybox-bundle.sh" "$W/bundle" >/dev/null
tar -C "$W/bundle/rootfs" -c . | docker import - busybox:rune >/dev/null
echo "image busybox:rune imported from Debian's busybox-static"

say "1. skeleton enclave runtime (PAL API v3): docker run --runtime=rune -e ENCLAVE_TYPE=sample -e ENCLAVE_RUNTIME_PATH=.../libpal_skeleton_v3.so"
docker run --rm --runtime=rune --network none -e ENCLAVE_TYPE=sample \
  -e ENCLAVE_RUNTIME_PATH="$BIN/libpal_skeleton_v3.so" busybox:rune /payload

say "2. busybox under the sample-libos runtime"
echo "NOTE: 'sample' is the project's SOFTWARE TEE: payloads are ordinary processes, there is NO hardware"
echo "      isolation and NO confidentiality, and its evidence is forgeable. It demonstrates the plumbing only."
LIBOS=(-e ENCLAVE_TYPE=sample -e "ENCLAVE_RUNTIME_PATH=$BIN/libpal_sample_libos.so")
docker run --rm --runtime=rune --network none "${LIBOS[@]}" busybox:rune \
  sh -c 'echo "hello from busybox $(busybox | head -1 | cut -d" " -f2) inside sample-libos; pid $$, ENCLAVE_* vars visible: $(env | grep -c ^ENCLAVE_)"'
set +e
docker run --rm --runtime=rune --network none "${LIBOS[@]}" busybox:rune sh -c 'exit 42'
echo "exit code of 'sh -c \"exit 42\"' in the enclave container: $?"
set -e
docker run -d --name demo --runtime=rune --network none "${LIBOS[@]}" busybox:rune \
  sh -c 'trap "echo payload got SIGTERM, exiting 0; exit 0" TERM; while true; do sleep 0.2; done' >/dev/null
sleep 1
echo "docker exec demo sh -c 'echo exec with \"\$1\"' x 'an argument with spaces':"
docker exec demo sh -c 'echo "  exec with $1"' x 'an argument with spaces'
echo "docker stop demo (SIGTERM is forwarded to the payload as pal_kill(-1, SIGTERM)):"
docker stop demo >/dev/null
docker logs demo | sed 's/^/  /'
echo "  exit code: $(docker inspect -f '{{.State.ExitCode}}' demo)"
docker rm demo >/dev/null
say "done"
