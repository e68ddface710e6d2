#!/usr/bin/env bash
# Installs, idempotently, every Debian package the build, tests, demo and benchmarks need.
# Safe to run repeatedly: it only calls apt-get when something is missing.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config libseccomp-dev protobuf-compiler cmake jq
  # peers and clients the tests and benchmarks drive
  runc crun containerd docker.io podman busybox-static hyperfine umoci skopeo
  # misc tools used by tests
  iproute2 procps psmisc
)

# Components add their own package lists (one name per line, # comments) under scripts/deps.d/.
for f in "$(dirname "$0")"/deps.d/*.txt; do
  [ -e "$f" ] || continue
  while read -r line; do line=${line%%#*}; for w in $line; do PKGS+=("$w"); done; done < "$f"
done

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Package installs must not start services (there is no systemd here anyway).
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; this machine kind ships a Rust toolchain via rustup" >&2
  exit 1
fi
