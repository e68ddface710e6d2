#!/usr/bin/env bash
# `make demo`: builds (done by make), then shows rune end to end on embedded defaults:
# a busybox container run by rune directly, under docker and under containerd, then the other
# components' demos (enclave containers, KBS) when present.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/e2e/lib.sh
RUNE=$BIN/rune
W=$(mktemp -d /tmp/rune-demo.XXXXXX)
trap 'stop_dockerd; stop_containerd; rm -rf "$W"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building a busybox bundle from Debian's busybox-static (no registry needed)"
bash scripts/mk-busybox-bundle.sh "$W/bundle" sh -c 'echo "hello from a rune container: $(hostname), pid $$, $(id -un)"' >/dev/null
echo "bundle: $W/bundle"

say "rune run (directly, as runc would be called)"
"$RUNE" --root "$W/root" run --bundle "$W/bundle" demo1
echo "exit status: $?"

say "rune create / start / state / delete"
jq '.process.args = ["sleep", "5"]' "$W/bundle/config.json" > "$W/c.json" && cp "$W/c.json" "$W/bundle/config.json"
"$RUNE" --root "$W/root" create demo2 --bundle "$W/bundle"
"$RUNE" --root "$W/root" start demo2
"$RUNE" --root "$W/root" state demo2
"$RUNE" --root "$W/root" delete --force demo2

say "docker run --runtime=rune (private dockerd with rune in its daemon.json)"
if start_dockerd "$W/docker" "$RUNE"; then
  tar -C "$W/bundle/rootfs" -c . | $DOCKER import - busybox:rune >/dev/null
  $DOCKER run --rm --network none --runtime=rune busybox:rune sh -c 'echo "hello from docker on rune: $(uname -sr)"'
  echo "exit status: $?"
  stop_dockerd
else
  echo "dockerd could not be started here"
fi

say "ctr run --runc-binary rune (private containerd, runc v2 shim calling rune)"
if start_containerd "$W/containerd"; then
  $CTR run --rm --runc-binary "$RUNE" --env PATH=/bin --rootfs "$W/bundle/rootfs" demo3 sh -c 'echo "hello from containerd on rune"'
  echo "exit status: $?"
  stop_containerd
else
  echo "containerd could not be started here"
fi

failed=()
for extra in scripts/demo-enclave.sh scripts/demo-kbs.sh; do
  [ -x "$extra" ] || [ -f "$extra" ] || continue
  say "$(basename "$extra" .sh)"
  bash "$extra" || { rc=$?; echo "$extra failed (exit $rc)"; failed+=("$extra"); }
done
# A part that failed fails `make demo` (after the others ran, so one run shows every failure).
[ "${#failed[@]}" -eq 0 ] || { echo "demo parts that failed: ${failed[*]}"; exit 1; }
