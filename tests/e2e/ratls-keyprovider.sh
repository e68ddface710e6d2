#!/usr/bin/env bash
# verdictd as ocicrypt's key provider over gRPC, driven by a real ocicrypt client: skopeo encrypts an
# OCI image layout (busybox-static, built locally with umoci, no registry) with
# `--encryption-key provider:verdictd:<kid>` and decrypts it with `--decryption-key provider:verdictd:...`.
#
# The peer: Debian 12's skopeo 1.9.3 is linked against ocicrypt 1.0.3, which has no key-provider
# support ("Provided protocol not recognized"). Upstream skopeo v1.9.3 vendors ocicrypt v1.1.5 with
# it; the script builds that once (offline: `go build -mod=vendor`, Debian's Go 1.19) from a skopeo
# source tree or git dir into $CARGO_TARGET_DIR/ocicrypt-peer/, unless the shared peer build
# (../shared/peers/build.sh skopeo, next to the repository) provides it. Give RATLS_SKOPEO=/path/to/skopeo
# to use another build, or RATLS_SKOPEO_SRC=<skopeo git dir | source tree at v1.9.3>.
set -uo pipefail
cd "$(dirname "$0")/../.."
unset RUST_BACKTRACE RUST_LIB_BACKTRACE   # error messages are checked to be one line
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release"
pass=0; fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | tail -15; }
die() { echo "FAIL: $1"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
for b in verdictd; do [ -x "$BIN/$b" ] || die "missing $BIN/$b (cargo build --release -p eaa)"; done
for t in umoci jq python3; do command -v "$t" >/dev/null || die "missing $t (scripts/deps.d/ratls.txt)"; done
[ -x /bin/busybox ] || die "missing /bin/busybox (busybox-static)"

T=$(mktemp -d /tmp/ratls-kp.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_tcp() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# --- a one-layer image: busybox-static as /bin/busybox
umoci init --layout "$T/img" && umoci new --image "$T/img:v1" && umoci unpack --rootless --image "$T/img:v1" "$T/bundle" >/dev/null \
  && mkdir -p "$T/bundle/rootfs/bin" && cp /bin/busybox "$T/bundle/rootfs/bin/busybox" && umoci repack --image "$T/img:v1" "$T/bundle" \
  || die "building the OCI image with umoci"
manifest() { # LAYOUT TAG -> manifest JSON
  local d; d=$(jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' "$1/index.json")
  cat "$1/blobs/sha256/${d#sha256:}"
}
ORIG_LAYER=$(manifest "$T/img" v1 | jq -r '.layers[-1].digest')

# --- the ocicrypt peer
supports_provider() { # without key-provider support ocicrypt refuses the recipient while parsing options
  [ -x "$1" ] || return 1
  local out; out=$(OCICRYPT_KEYPROVIDER_CONFIG=/dev/null "$1" --insecure-policy copy --encryption-key provider:x:y "oci:$T/img:v1" "oci:$T/probe:v1" 2>&1)
  rm -rf "$T/probe"
  case $out in *'Provided protocol not recognized'*) return 1 ;; esac
  return 0
}
SKOPEO=${RATLS_SKOPEO:-}
if [ -z "$SKOPEO" ]; then
  PEERS_BUILD="${PEERS_DIR:-$(pwd)/../shared/peers}/build.sh"
  if command -v skopeo >/dev/null && supports_provider "$(command -v skopeo)"; then SKOPEO=$(command -v skopeo)
  elif [ -x "$PEERS_BUILD" ] && PD=$(bash "$PEERS_BUILD" skopeo 2>/dev/null | tail -n 1) && [ -x "$PD/bin/skopeo" ]; then SKOPEO="$PD/bin/skopeo"
  else
    PEER="$(realpath -m "$TARGET")/ocicrypt-peer"   # absolute: the build runs in $PEER/src
    if [ ! -x "$PEER/bin/skopeo" ]; then
      SRC=${RATLS_SKOPEO_SRC:-}
      # Neither the shared peer build nor a key-provider-capable system skopeo: a missing peer is
      # a failure, not a skip.
      skip() { die "no ocicrypt peer: $1"; }
      command -v go >/dev/null || skip "system skopeo lacks key-provider support and Go (golang-go) is missing to build the peer"
      [ -e "$SRC" ] || skip "system skopeo lacks key-provider support and no skopeo v1.9.3 source: set RATLS_SKOPEO or RATLS_SKOPEO_SRC (see docs/ratls.md)"
      echo "building skopeo v1.9.3 (vendored ocicrypt v1.1.5) into $PEER ..."
      rm -rf "$PEER/src" && mkdir -p "$PEER/src" "$PEER/bin"
      if [ -d "$SRC/vendor" ]; then cp -a "$SRC/." "$PEER/src/"; else git --git-dir="$SRC" archive v1.9.3 | tar -x -C "$PEER/src" || die "cannot read v1.9.3 from $SRC"; fi
      (cd "$PEER/src" && GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=0 go build \
          -tags "containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper btrfs_noversion" \
          -o "$PEER/bin/skopeo" ./cmd/skopeo) >"$PEER/build.log" 2>&1 || { tail "$PEER/build.log"; die "building the skopeo peer"; }
    fi
    SKOPEO="$PEER/bin/skopeo"
  fi
fi
supports_provider "$SKOPEO" || die "$SKOPEO has no ocicrypt key-provider support"
echo "peer: $SKOPEO ($("$SKOPEO" --version))"
if command -v skopeo >/dev/null && ! supports_provider "$(command -v skopeo)"; then
  echo "note: $(command -v skopeo) ($(skopeo --version)) has no key-provider support (Debian builds it with ocicrypt 1.0.3)"
fi

# --- verdictd key store and the gRPC key provider
VD="$BIN/verdictd --store $T/keys.redb"
$VD gen-key k1 >/dev/null && $VD gen-key k2 >/dev/null || die "verdictd gen-key"
P=$(port)
# The gRPC endpoint is unauthenticated: only keys the reference values list under unattestedKeys are
# served there (k3 exists but is not listed; "nokey" is listed but does not exist).
echo '{"unattestedKeys":["k1","k2","nokey"]}' > "$T/ref-kp.json"
$VD gen-key k3 >/dev/null || die "verdictd gen-key k3"
start_vd() { "$BIN/verdictd" --store "$T/keys.redb" keyprovider-grpc --listen "127.0.0.1:$P" --reference "$T/ref-kp.json" >>"$T/vd.log" 2>&1 & VDPID=$!; PIDS+=($VDPID); wait_tcp "$P"; }
stop_vd() { kill "$VDPID" 2>/dev/null; wait "$VDPID" 2>/dev/null; }
start_vd || die "verdictd keyprovider-grpc did not start"
printf '{"key-providers": {"verdictd": {"grpc": "127.0.0.1:%s"}}}\n' "$P" > "$T/ocicrypt.json"
export OCICRYPT_KEYPROVIDER_CONFIG="$T/ocicrypt.json"
sk() { "$SKOPEO" --insecure-policy copy "$@"; }

# 1. encrypt with key k1
if sk --encryption-key provider:verdictd:k1 "oci:$T/img:v1" "oci:$T/enc:v1" >"$T/enc.log" 2>&1; then ok "skopeo encrypts through verdictd (WrapKey)"; else ko "skopeo encrypts through verdictd" "$T/enc.log"; fi
EM=$(manifest "$T/enc" v1 2>/dev/null)
MT=$(printf '%s' "$EM" | jq -r '.layers[-1].mediaType' 2>/dev/null)
ANN=$(printf '%s' "$EM" | jq -r '.layers[-1].annotations["org.opencontainers.image.enc.keys.provider.verdictd"] // empty' 2>/dev/null)
ENC_LAYER=$(printf '%s' "$EM" | jq -r '.layers[-1].digest' 2>/dev/null)
if [[ "$MT" == *+encrypted ]]; then ok "layer media type $MT"; else ko "layer media type is +encrypted (got '$MT')"; fi
KID=$(printf '%s' "$ANN" | base64 -d 2>/dev/null | jq -r .kid 2>/dev/null)
if [ "$KID" = k1 ]; then ok "annotation org.opencontainers.image.enc.keys.provider.verdictd names kid k1"; else ko "provider annotation (got '$ANN')"; fi
if [ -n "$ENC_LAYER" ] && [ "$ENC_LAYER" != "$ORIG_LAYER" ] && ! gzip -t "$T/enc/blobs/sha256/${ENC_LAYER#sha256:}" 2>/dev/null; then ok "layer blob is ciphertext (not the gzip layer)"; else ko "layer blob is ciphertext"; fi
if grep -q 'WrapKey: ok' "$T/vd.log"; then ok "verdictd logged the WrapKey"; else ko "verdictd logged the WrapKey" "$T/vd.log"; fi

# 2. decrypt: the original layer comes back, busybox inside byte for byte
if sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec:v1" >"$T/dec.log" 2>&1; then ok "skopeo decrypts through verdictd (UnWrapKey)"; else ko "skopeo decrypts through verdictd" "$T/dec.log"; fi
DEC_LAYER=$(manifest "$T/dec" v1 2>/dev/null | jq -r '.layers[-1].digest' 2>/dev/null)
DMT=$(manifest "$T/dec" v1 2>/dev/null | jq -r '.layers[-1].mediaType' 2>/dev/null)
if [ "$DEC_LAYER" = "$ORIG_LAYER" ] && [[ "$DMT" != *encrypted* ]]; then ok "decrypted layer digest equals the original ($ORIG_LAYER)"; else ko "decrypted layer digest (got '$DEC_LAYER' '$DMT', want '$ORIG_LAYER')"; fi
mkdir -p "$T/x" && tar -xzf "$T/dec/blobs/sha256/${DEC_LAYER#sha256:}" -C "$T/x" bin/busybox 2>/dev/null
if cmp -s "$T/x/bin/busybox" /bin/busybox; then ok "decrypted layer holds busybox unchanged"; else ko "decrypted layer holds busybox unchanged"; fi

# 3. unknown key id: wrap refused, skopeo names the key
if sk --encryption-key provider:verdictd:nokey "oci:$T/img:v1" "oci:$T/enc2:v1" >"$T/enc2.log" 2>&1; then ko "unknown key id refused" "$T/enc2.log"
elif grep -q 'no key with id \\\?"nokey\\\?"' "$T/enc2.log" && grep -q 'NotFound' "$T/enc2.log"; then ok "unknown key id refused (NotFound, names the key)"; else ko "unknown key id refused (message)" "$T/enc2.log"; fi

# 3b. a key not listed for the unauthenticated endpoint is refused (PermissionDenied, names the key)
if sk --encryption-key provider:verdictd:k3 "oci:$T/img:v1" "oci:$T/enc3b:v1" >"$T/enc3b.log" 2>&1; then ko "key not in unattestedKeys refused" "$T/enc3b.log"
elif grep -q 'PermissionDenied' "$T/enc3b.log" && grep -q 'policy refuses keywrap of key \\\?"k3\\\?"' "$T/enc3b.log"; then ok "key not in unattestedKeys refused (PermissionDenied, names the key)"; else ko "key not in unattestedKeys refused (message)" "$T/enc3b.log"; fi

# 3c. no reference values: the endpoint warns at start and refuses every key
stop_vd
"$BIN/verdictd" --store "$T/keys.redb" keyprovider-grpc --listen "127.0.0.1:$P" >"$T/vd0.log" 2>&1 & VD0=$!; PIDS+=($VD0); wait_tcp "$P"
if grep -q 'WARN.*no reference values.*--reference' "$T/vd0.log"; then ok "keyprovider-grpc without --reference warns naming the flag"; else ko "keyprovider-grpc warns without --reference" "$T/vd0.log"; fi
if sk --encryption-key provider:verdictd:k1 "oci:$T/img:v1" "oci:$T/enc0:v1" >"$T/enc0.log" 2>&1; then ko "no reference values: wrap refused" "$T/enc0.log"
elif grep -q 'PermissionDenied' "$T/enc0.log"; then ok "no reference values: wrap refused (PermissionDenied)"; else ko "no reference values: wrap refused (message)" "$T/enc0.log"; fi
if sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec0:v1" >"$T/dec0.log" 2>&1; then ko "no reference values: unwrap refused" "$T/dec0.log"
elif grep -q 'UnWrapKey: policy refuses keyunwrap of key "k1"' "$T/vd0.log"; then ok "no reference values: unwrap refused (verdictd: policy refuses keyunwrap)"; else ko "no reference values: unwrap refused (message)" "$T/vd0.log"; fi
kill "$VD0" 2>/dev/null; wait "$VD0" 2>/dev/null
start_vd || die "verdictd restart"

# 4. the combined mode: `serve` (RA-TLS) with --keyprovider-grpc also serves the same store
stop_vd
P2=$(port); PR=$(port)
echo '{"unattestedKeys":["k1"]}' > "$T/ref.json"
"$BIN/verdictd" --store "$T/keys.redb" serve --listen "127.0.0.1:$PR" --attester sample --verifier sample --danger-accept-software-tee --reference "$T/ref.json" \
  --keyprovider-grpc "127.0.0.1:$P2" >"$T/vd2.log" 2>&1 & VD2=$!; PIDS+=($VD2)
wait_tcp "$P2"
printf '{"key-providers": {"verdictd": {"grpc": "127.0.0.1:%s"}}}\n' "$P2" > "$T/ocicrypt2.json"
if OCICRYPT_KEYPROVIDER_CONFIG="$T/ocicrypt2.json" sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec2:v1" >"$T/dec2.log" 2>&1 \
   && [ "$(manifest "$T/dec2" v1 | jq -r '.layers[-1].digest')" = "$ORIG_LAYER" ]; then ok "verdictd serve --keyprovider-grpc decrypts too"; else ko "verdictd serve --keyprovider-grpc" "$T/dec2.log"; fi
kill "$VD2" 2>/dev/null; wait "$VD2" 2>/dev/null

# 5. verdictd down. Wrapping: skopeo reports ocicrypt's gRPC error. Unwrapping: ocicrypt drops the
# provider's error and tries other unwrappers, so skopeo only says the key is missing.
if sk --encryption-key provider:verdictd:k1 "oci:$T/img:v1" "oci:$T/enc3:v1" >"$T/enc3.log" 2>&1; then ko "verdictd down: encryption fails" "$T/enc3.log"
elif grep -q 'grpc' "$T/enc3.log" && grep -qi 'connection refused' "$T/enc3.log"; then ok "verdictd down: encryption fails ($(grep -o 'code = [A-Za-z]*' "$T/enc3.log" | head -1), connection refused)"; else ko "verdictd down: clear encryption error" "$T/enc3.log"; fi
if sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec3:v1" >"$T/dec3.log" 2>&1; then ko "verdictd down: decryption fails" "$T/dec3.log"
elif grep -q 'missing private key needed for decryption' "$T/dec3.log"; then ok "verdictd down: decryption fails (missing private key)"; else ko "verdictd down: decryption error" "$T/dec3.log"; fi

# 6. the key is deleted from the store: unwrap refused (verdictd logs why; skopeo says the key is missing)
$VD delete-key k1 || ko "verdictd delete-key k1"
: > "$T/vd.log"
start_vd || die "verdictd restart"
if sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec4:v1" >"$T/dec4.log" 2>&1; then ko "deleted key: unwrap refused" "$T/dec4.log"
elif grep -q 'missing private key' "$T/dec4.log" && grep -q 'UnWrapKey: no key with id "k1"' "$T/vd.log"; then ok "deleted key: unwrap refused (verdictd: no key with id \"k1\")"; else ko "deleted key: unwrap refused (message)" "$T/vd.log"; fi
if [ ! -e "$T/dec4/index.json" ] || ! manifest "$T/dec4" v1 >/dev/null 2>&1; then ok "no decrypted image written after the refusal"; else ko "no decrypted image written after the refusal"; fi

# 7. another key under the same id (k1 re-created): AES-GCM authentication refuses the unwrap
stop_vd
$VD gen-key k1 >/dev/null
: > "$T/vd.log"
start_vd || die "verdictd restart"
if sk --decryption-key provider:verdictd:k1 "oci:$T/enc:v1" "oci:$T/dec5:v1" >"$T/dec5.log" 2>&1; then ko "replaced key: unwrap refused" "$T/dec5.log"
elif grep -q 'UnWrapKey: crypto: decryption failed' "$T/vd.log"; then ok "replaced key: unwrap refused (verdictd: decryption failed)"; else ko "replaced key: unwrap refused (message)" "$T/vd.log"; fi
# while the other key k2 still wraps and unwraps
if sk --encryption-key provider:verdictd:k2 "oci:$T/img:v1" "oci:$T/enc6:v1" >"$T/enc6.log" 2>&1 && sk --decryption-key provider:verdictd:k2 "oci:$T/enc6:v1" "oci:$T/dec6:v1" >"$T/dec6.log" 2>&1 \
   && [ "$(manifest "$T/dec6" v1 | jq -r '.layers[-1].digest')" = "$ORIG_LAYER" ]; then ok "key k2 round trip"; else ko "key k2 round trip" "$T/dec6.log"; fi
stop_vd

# 8. the unauthenticated endpoint is loopback-only unless opted in
if "$BIN/verdictd" --store "$T/keys3.redb" keyprovider-grpc --listen "0.0.0.0:$(port)" >"$T/vd3.log" 2>&1; then ko "non-loopback refused" "$T/vd3.log"
elif [ "$(wc -l < "$T/vd3.log")" -le 2 ] && grep -q 'not loopback' "$T/vd3.log" && grep -q 'danger-keyprovider-grpc-remote' "$T/vd3.log"; then ok "non-loopback listen address refused without --danger-keyprovider-grpc-remote"; else ko "non-loopback refused (message)" "$T/vd3.log"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
