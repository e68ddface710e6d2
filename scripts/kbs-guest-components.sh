#!/usr/bin/env bash
# Builds guest-components' `trustee-attester` (unchanged sources) from a checkout given in GC_SRC
# and runs tests/e2e/kbs.sh with it, so a client built from guest-components is driven against our
# KBS. Offline machines cannot fetch the attester's optional git dependencies, so a copy of the
# checkout is reduced to the four crates the client needs and those optional git dependencies are
# dropped from attester/Cargo.toml (no source file is touched).
set -eu
: "${GC_SRC:?set GC_SRC to a confidential-containers/guest-components checkout}"
HERE=$(cd "$(dirname "$0")/../tests/e2e" && pwd)
W=$(mktemp -d /tmp/gc-src.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp -a "$GC_SRC"/. "$W"/
cd "$W"
python3 - <<'PY'
import re
s = open('Cargo.toml').read()
s = re.sub(r'members = \[.*?\]', 'members = ["attestation-agent/kbs_protocol", "attestation-agent/attester", '
           '"attestation-agent/deps/resource_uri", "attestation-agent/deps/crypto"]', s, count=1, flags=re.S)
open('Cargo.toml', 'w').write(s)
p = 'attestation-agent/attester/Cargo.toml'
a = '\n'.join(l for l in open(p).read().split('\n') if 'git = "https://github.com' not in l)
a = a.replace('[target.\'cfg(target_arch = "x86_64")\'.dependencies]\n', '')
for dep in ['tdx-attest-rs', 'occlum_dcap', 'nv-attestation-sdk', 'azure-tpm', 'azure-guest-attestation-sdk']:
    a = re.sub(r'\s*"' + re.escape(dep) + r'"\s*,?', '', a)
open(p, 'w').write(a)
PY
GC_TARGET=${GC_TARGET:-/tmp/target-gc}
CARGO_TARGET_DIR=$GC_TARGET cargo build --release -p kbs_protocol --bin trustee-attester \
    --no-default-features --features bin,background_check,rust-crypto
cd "$HERE/../.."
KBS_E2E_TRUSTEE_ATTESTER=$GC_TARGET/release/trustee-attester bash tests/e2e/kbs.sh
