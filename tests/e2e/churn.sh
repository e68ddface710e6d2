#!/usr/bin/env bash
# Churn and leak test: many create/start/delete and run cycles, including failures half-way
# (a bad config, `rune create` SIGKILLed at varying points followed by `delete --force` as a shim
# does), then what the host holds is compared with before: mount table, cgroup directories under
# the test's cgroup parent, open descriptors of rune's parent (this shell), session keyrings of
# uid 0, the state root, and processes still running from the test's bundles.
# CHURN_CYCLES (default 100) sets the number of each kind of cycle; `make churn` runs 10,000.
source "$(dirname "$0")/lib.sh"
RUNE=$BIN/rune
need_bins rune
N=${CHURN_CYCLES:-100}
WORK=$(mktemp -d /tmp/rune-churn.XXXXXX)
ROOT=$WORK/root
CG=rune-churn-$$
cleanup() {
  for id in $(ls "$ROOT" 2>/dev/null); do "$RUNE" --root "$ROOT" delete -f "$id" >/dev/null 2>&1; done
  for c in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG" /sys/fs/cgroup/"$CG"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

bash "$E2E_ROOT/scripts/mk-busybox-bundle.sh" "$WORK/base" /bin/true >/dev/null
# mkb NAME ARGS_JSON: a bundle sharing the base rootfs, with its cgroup under the test's parent.
mkb() {
  local d=$WORK/b-$1; mkdir -p "$d"
  jq --argjson a "$2" --arg cg "/$CG/$1" --arg rf "$WORK/base/rootfs" \
    '.process.args = $a | .linux.cgroupsPath = $cg | .root.path = $rf' "$WORK/base/config.json" > "$d/config.json"
  echo "$d"
}
TRUE=$(mkb true '["/bin/true"]')
SLEEP=$(mkb sleep '["/bin/sleep","60"]')
BAD=$WORK/b-bad; mkdir -p "$BAD"; echo '{"ociVersion": "1.0.2", "process": ' > "$BAD/config.json"
NOARG=$(mkb noarg '["/does/not/exist"]')

# What the host holds, one line per kind; compared before and after.
mounts()   { awk '{print $5}' /proc/self/mountinfo | sort | md5sum | cut -c1-12; }
cgdirs()   { find /sys/fs/cgroup -mindepth 2 -path "*/$CG/*" -type d 2>/dev/null | wc -l; }
fds()      { ls /proc/$$/fd | wc -l; }
keys()     { awk -F'[ :/]+' '$2 == 0 {print $4}' /proc/key-users; }
states()   { ls "$ROOT" 2>/dev/null | wc -l; }
# rune processes name the work dir; the long-running containers' own process is `/bin/sleep 60`.
procs()    { { pgrep -f "$WORK/"; pgrep -fx "/bin/sleep 60"; } | grep -vx "$$" | wc -l; }
snapshot() { echo "mounts=$(mounts) cgroups=$(cgdirs) fds=$(fds) keys=$(keys) states=$(states) procs=$(procs)"; }

mkdir -p "$ROOT"
"$RUNE" --root "$ROOT" run --bundle "$TRUE" warmup >/dev/null 2>&1
# The baseline waits until the host is steady: keyrings of processes that ended just before this
# suite (an earlier suite's containers) are still being garbage-collected for a moment.
BEFORE=$(snapshot); same=0
for _ in $(seq 75); do
  sleep 0.2; now=$(snapshot)
  if [ "$now" = "$BEFORE" ]; then same=$((same + 1)); [ $same -ge 5 ] && break; else BEFORE=$now; same=0; fi
done

t0=$SECONDS
errs=0
for i in $(seq "$N"); do
  "$RUNE" --root "$ROOT" create --bundle "$TRUE" c$i </dev/null >/dev/null 2>>"$WORK/err" || errs=$((errs+1))
  "$RUNE" --root "$ROOT" start c$i 2>>"$WORK/err" || errs=$((errs+1))
  "$RUNE" --root "$ROOT" delete -f c$i 2>>"$WORK/err" || errs=$((errs+1))
done
expect_eq "churn: $N create/start/delete cycles without an error" 0 "$errs"

errs=0
for i in $(seq "$N"); do "$RUNE" --root "$ROOT" run --bundle "$TRUE" r$i </dev/null >/dev/null 2>>"$WORK/err" || errs=$((errs+1)); done
expect_eq "churn: $N run cycles without an error" 0 "$errs"

# A long-running container killed and deleted: the path containerd takes on `ctr task kill`.
errs=0
for i in $(seq $(( (N + 3) / 4 ))); do
  "$RUNE" --root "$ROOT" run -d --bundle "$SLEEP" s$i </dev/null >/dev/null 2>>"$WORK/err" || errs=$((errs+1))
  "$RUNE" --root "$ROOT" kill s$i KILL 2>>"$WORK/err" || errs=$((errs+1))
  "$RUNE" --root "$ROOT" delete -f s$i 2>>"$WORK/err" || errs=$((errs+1))
done
expect_eq "churn: detached run, kill, delete cycles without an error" 0 "$errs"

# Failures half-way: each must fail, and leave nothing behind.
wrong=0
for i in $(seq "$N"); do
  "$RUNE" --root "$ROOT" create --bundle "$BAD" bad$i </dev/null >/dev/null 2>&1 && wrong=$((wrong+1))
  "$RUNE" --root "$ROOT" run --bundle "$NOARG" na$i </dev/null >/dev/null 2>&1 && wrong=$((wrong+1))
done
expect_eq "churn: bad configs and missing entrypoints all refused" 0 "$wrong"

# `rune create` SIGKILLed at 0-29 ms (before, during and after the clone and the state writes),
# then `delete --force`, as a shim cleans up after a runtime it killed. The delete must succeed.
errs=0
for i in $(seq "$N"); do
  "$RUNE" --root "$ROOT" create --bundle "$SLEEP" k$i </dev/null >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%03d' $(( (i * 7) % 30 )))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  out=$("$RUNE" --root "$ROOT" delete -f k$i 2>&1) || { errs=$((errs+1)); echo "$out" >> "$WORK/err"; }
done
expect_eq "churn: create killed mid-way, then delete --force succeeds" 0 "$errs"
[ -s "$WORK/err" ] && { echo "first errors:"; sort "$WORK/err" | uniq -c | sort -rn | head -5; }

# A state file damaged behind rune's back (a crash of another tool, a full disk): `delete` names
# the problem, `delete --force` still kills the container's processes and removes its cgroup.
"$RUNE" --root "$ROOT" create --bundle "$SLEEP" dmg </dev/null >/dev/null 2>&1
dpid=$("$RUNE" --root "$ROOT" state dmg 2>/dev/null | jq -r .pid)
: > "$ROOT/dmg/state.json"
out=$("$RUNE" --root "$ROOT" delete dmg 2>&1)
expect_match "churn: delete of a damaged state names the file and the way out" 'state of container "dmg" in .*state.json is damaged \(empty\).*delete --force dmg' "$out"
check "churn: delete --force of a damaged state succeeds" "$RUNE" --root "$ROOT" delete -f dmg
check "churn: ... and its init process is gone" wait_for 2 bash -c "! kill -0 $dpid 2>/dev/null || grep -q '^State:.*Z' /proc/$dpid/status"
check "churn: ... and its cgroup is gone" test -z "$(find /sys/fs/cgroup -path "*/$CG/sleep" -type d 2>/dev/null)"

# Processes and keyrings go away asynchronously (reaping, keyring garbage collection).
AFTER=
for _ in $(seq 50); do AFTER=$(snapshot); [ "$AFTER" = "$BEFORE" ] && break; sleep 0.1; done
for kind in mounts cgroups fds keys states procs; do
  b=$(grep -o "$kind=[^ ]*" <<<"$BEFORE"); a=$(grep -o "$kind=[^ ]*" <<<"$AFTER")
  expect_eq "churn: no leak of $kind after $((N * 4 + (N + 3) / 4)) containers" "$b" "$a"
done
echo "churn: $N cycles of each kind in $((SECONDS - t0)) s"
finish
