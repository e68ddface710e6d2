#!/usr/bin/env bash
# rune driven directly, the way containerd/docker and conformance suites call an OCI runtime.
# The runtime-independent cases also run against runc in the same job (a case that fails on runc
# is a test bug); checks of rune's own error messages run against rune only.
source "$(dirname "$0")/lib.sh"
RUNE=$BIN/rune
RECVTTY=$BIN/rune-recvtty
[ -x "$RUNE" ] || { echo "build rune first"; exit 1; }
WORK=$(mktemp -d /tmp/rune-e2e.XXXXXX)
CG=rune-e2e-$$          # cgroup parent for containers of this run
cleanup() {
  for rt in rune runc; do
    for id in $(ls "$WORK/root-$rt" 2>/dev/null); do "$(rtbin $rt)" --root "$WORK/root-$rt" delete -f "$id" >/dev/null 2>&1; done
  done
  for c in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG"; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done
  umount "$WORK"/bundle*/rootfs 2>/dev/null
  rm -rf "$WORK"
  host_restore
}
trap cleanup EXIT
host_prepare
rtbin() { case $1 in rune) echo "$RUNE" ;; *) command -v "$1" ;; esac; }

BASE=$WORK/base
bash "$E2E_ROOT/scripts/mk-busybox-bundle.sh" "$BASE" >/dev/null

# mkb NAME ARGS_JSON [JQ_FILTER]: a bundle sharing the base rootfs, with its own config.
mkb() {
  local d=$WORK/b-$1; mkdir -p "$d"
  jq --argjson a "$2" --arg cg "/$CG/$1" --arg rf "$BASE/rootfs" ".process.args = \$a | .linux.cgroupsPath = \$cg | .root.path = \$rf | ${3:-.}" "$BASE/config.json" > "$d/config.json"
  echo "$d"
}

status_of() { "$R" --root "$ROOT" state "$1" 2>/dev/null | jq -r .status; }
gone() { ! "$R" --root "$ROOT" state "$1" >/dev/null 2>&1; }

suite() {
  local rt=$1; R=$(rtbin "$rt"); ROOT=$WORK/root-$rt; T="[$rt]"
  mkdir -p "$ROOT"

  # --- lifecycle, state JSON, pid file, flags after the id
  local b; b=$(mkb "life-$rt" '["sleep","30"]')
  "$R" --root "$ROOT" create "c1-$rt" --bundle "$b" --pid-file "$WORK/c1-$rt.pid"
  check "$T create with flags after the id" [ "$(status_of "c1-$rt")" = created ]
  local st; st=$("$R" --root "$ROOT" state "c1-$rt")
  check "$T state has runc's fields" jq -e '.ociVersion and .id and (.pid > 0) and .status and .bundle and .created and has("owner") and has("rootfs")' <<<"$st" >/dev/null
  expect_eq "$T pid file matches state pid" "$(jq -r .pid <<<"$st")" "$(cat "$WORK/c1-$rt.pid")"
  "$R" --root "$ROOT" start "c1-$rt"
  expect_eq "$T start -> running" running "$(status_of "c1-$rt")"
  check "$T list --format json shows it" jq -e "map(select(.id == \"c1-$rt\")) | length == 1" < <("$R" --root "$ROOT" list --format json)
  check "$T ps --format json lists the init pid" jq -e "index($(jq .pid <<<"$st")) != null" < <("$R" --root "$ROOT" ps --format json "c1-$rt")
  "$R" --root "$ROOT" pause "c1-$rt"
  expect_eq "$T pause -> paused" paused "$(status_of "c1-$rt")"
  "$R" --root "$ROOT" resume "c1-$rt"
  expect_eq "$T resume -> running" running "$(status_of "c1-$rt")"
  "$R" --root "$ROOT" update --pids-limit 77 "c1-$rt"
  expect_eq "$T update --pids-limit reaches the cgroup" 77 "$(cat /sys/fs/cgroup/pids/$CG/life-$rt/pids.max 2>/dev/null || cat /sys/fs/cgroup/unified/$CG/life-$rt/pids.max 2>/dev/null)"
  check "$T events --stats prints JSON" jq -e '.type == "stats"' < <(timeout 10 "$R" --root "$ROOT" events --stats "c1-$rt")
  "$R" --root "$ROOT" kill "c1-$rt" KILL
  check "$T kill -> stopped" wait_eq 5 stopped status_of "c1-$rt"
  "$R" --root "$ROOT" delete "c1-$rt"
  check "$T delete removes it" gone "c1-$rt"
  check "$T delete removes the cgroup" test ! -d "/sys/fs/cgroup/memory/$CG/life-$rt"

  # --- exit codes of run (foreground)
  b=$(mkb "exit-$rt" '["sh","-c","exit 42"]')
  "$R" --root "$ROOT" run --bundle "$b" "e1-$rt" >/dev/null 2>&1
  expect_eq "$T run returns the exit code" 42 "$?"
  check "$T run deletes the container afterwards" gone "e1-$rt"
  b=$(mkb "sig-$rt" '["sleep","30"]')
  "$R" --root "$ROOT" run --bundle "$b" "e2-$rt" >/dev/null 2>&1 &
  local runpid=$!
  wait_eq 5 running status_of "e2-$rt"
  "$R" --root "$ROOT" kill "e2-$rt" KILL
  wait $runpid
  expect_eq "$T run of a killed process returns 128+9" 137 "$?"
  b=$(mkb "out-$rt" '["sh","-c","echo to-stdout; echo to-stderr >&2"]')
  local out; out=$("$R" --root "$ROOT" run --bundle "$b" "e3-$rt" 2>&1 >/dev/null)
  expect_eq "$T stderr is passed through" to-stderr "$out"
  out=$("$R" --root "$ROOT" run --bundle "$b" "e4-$rt" 2>/dev/null)
  expect_eq "$T stdout is passed through" to-stdout "$out"
  "$R" --root "$ROOT" run --bundle "$b" "e5-$rt" >/dev/null 2>&1
  expect_eq "$T payload can write to a /dev/null stdout" 0 "$?"

  # --- signals: SIGTERM reaches the init process, which handles it
  b=$(mkb "term-$rt" '["sh","-c","trap \"echo got-term; exit 7\" TERM; echo ready; while :; do sleep 0.05; done"]')
  "$R" --root "$ROOT" create --bundle "$b" "s1-$rt" > "$WORK/s1-$rt.out" 2>&1
  "$R" --root "$ROOT" start "s1-$rt"
  wait_for 5 grep -q ready "$WORK/s1-$rt.out"
  "$R" --root "$ROOT" kill "s1-$rt" TERM
  check "$T SIGTERM handled by the payload" wait_for 5 grep -q got-term "$WORK/s1-$rt.out"
  check "$T stopped after SIGTERM" wait_eq 5 stopped status_of "s1-$rt"
  "$R" --root "$ROOT" kill "s1-$rt" KILL >/dev/null 2>&1
  check "$T killing a stopped container fails" test $? -ne 0
  "$R" --root "$ROOT" delete "s1-$rt"
  # kill --all reaches every process
  b=$(mkb "all-$rt" '["sh","-c","sleep 100 & sleep 100 & wait"]' '.linux.namespaces |= map(select(.type != "pid"))')
  "$R" --root "$ROOT" run -d --bundle "$b" "s2-$rt" >/dev/null 2>&1
  sleep 0.3
  "$R" --root "$ROOT" kill --all "s2-$rt" KILL
  check "$T kill --all empties the cgroup" wait_eq 5 "" cat "/sys/fs/cgroup/pids/$CG/all-$rt/cgroup.procs"
  "$R" --root "$ROOT" delete -f "s2-$rt" >/dev/null 2>&1

  # --- exec without and with tty
  b=$(mkb "exec-$rt" '["sleep","60"]')
  "$R" --root "$ROOT" run -d --bundle "$b" "x1-$rt" >/dev/null 2>&1
  "$R" --root "$ROOT" exec "x1-$rt" sh -c 'exit 3'
  expect_eq "$T exec returns the exit code" 3 "$?"
  out=$("$R" --root "$ROOT" exec --env 'GREETING=hello world' "x1-$rt" sh -c 'echo "$GREETING"; pwd' 2>&1)
  expect_eq "$T exec --env with spaces" "hello world
/" "$out"
  out=$("$R" --root "$ROOT" exec --cwd /tmp "x1-$rt" pwd 2>&1)
  expect_eq "$T exec --cwd" /tmp "$out"
  out=$("$R" --root "$ROOT" exec --user 65534:65534 "x1-$rt" id -u 2>&1)
  expect_eq "$T exec --user" 65534 "$out"
  # exec starts from the container's own process (runc): its user, not root, unless --user says so
  b=$(mkb "usr-$rt" '["sleep","60"]' '.process.user = {"uid":65534,"gid":65534} | .linux.maskedPaths -= ["/proc/keys"]')
  "$R" --root "$ROOT" run -d --bundle "$b" "u1-$rt" >/dev/null 2>&1
  expect_eq "$T exec runs as the container's user" "65534:65534" "$("$R" --root "$ROOT" exec "u1-$rt" sh -c 'echo $(id -u):$(id -g)' 2>&1)"
  expect_eq "$T exec --user and --additional-gids override it" "0 0 5" "$("$R" --root "$ROOT" exec --user 0:0 --additional-gids 5 "u1-$rt" sh -c 'echo $(id -u) $(id -g) $(id -G | tr " " "\n" | grep -x 5)' 2>&1)"
  local capeff; capeff=$("$R" --root "$ROOT" exec --user 0 --cap CAP_SYS_ADMIN "u1-$rt" grep CapEff /proc/self/status 2>&1 | awk '{print $2}')
  expect_eq "$T exec --cap adds a capability (CAP_SYS_ADMIN = bit 21)" 1 "$(( 0x${capeff:-0} >> 21 & 1 ))"
  # session keyrings (runc): a non-root process sees only keyrings it possesses in /proc/keys
  check "$T container and exec share the session keyring _ses.<id>" grep -q "_ses.u1-$rt" <("$R" --root "$ROOT" exec "u1-$rt" cat /proc/keys 2>&1)
  "$R" --root "$ROOT" delete -f "u1-$rt" >/dev/null 2>&1
  b=$(mkb "nokr-$rt" '["cat","/proc/keys"]' '.process.user = {"uid":65534,"gid":65534} | .linux.maskedPaths -= ["/proc/keys"]')
  out=$("$R" --root "$ROOT" run --no-new-keyring --bundle "$b" "k1-$rt" 2>&1)
  check "$T --no-new-keyring: no keyring of its own" bash -c '! grep -q "_ses.k1-" <<<"$1"' _ "$out"
  out=$("$R" --root "$ROOT" run --bundle "$b" "k2-$rt" 2>&1)
  check "$T run without it gets _ses.<id> and no other" bash -c 'grep -q "_ses.k2-" <<<"$1" && [ "$(grep -c keyring <<<"$1")" = 1 ]' _ "$out"
  if [ -x "$RECVTTY" ]; then
    "$RECVTTY" "$WORK/tty-$rt.sock" > "$WORK/tty-$rt.out" 2>&1 &
    local rp=$!
    wait_for 5 test -S "$WORK/tty-$rt.sock"
    # like containerd: a tty exec is detached and its pty goes to the console socket
    "$R" --root "$ROOT" exec -d --tty --console-socket "$WORK/tty-$rt.sock" "x1-$rt" sh -c 'tty; echo on-a-tty'
    local rc=$?
    timeout 10 tail --pid=$rp -f /dev/null
    expect_eq "$T exec -d --tty exit code" 0 "$rc"
    check "$T exec --tty output arrives through the console socket" grep -q on-a-tty "$WORK/tty-$rt.out"
    check "$T exec --tty gives a pty" grep -q /dev/pts/ "$WORK/tty-$rt.out"
  fi
  cat > "$WORK/proc-$rt.json" <<'J'
{"args":["sh","-c","echo from-process-json; exit 5"],"env":["PATH=/bin"],"cwd":"/","user":{"uid":0,"gid":0},"terminal":false}
J
  out=$("$R" --root "$ROOT" exec --process "$WORK/proc-$rt.json" "x1-$rt" 2>&1); rc=$?
  expect_eq "$T exec --process output" from-process-json "$out"
  expect_eq "$T exec --process exit code" 5 "$rc"
  "$R" --root "$ROOT" exec -d --pid-file "$WORK/x-$rt.pid" "x1-$rt" sleep 30
  check "$T exec --detach writes the pid file" test -s "$WORK/x-$rt.pid"
  "$R" --root "$ROOT" delete -f "x1-$rt"
  check "$T delete -f of a running container" gone "x1-$rt"

  # --- tty for the init process through the console socket
  if [ -x "$RECVTTY" ]; then
    b=$(mkb "tty-$rt" '["sh","-c","tty; echo init-tty"]' '.process.terminal = true')
    "$RECVTTY" "$WORK/itty-$rt.sock" > "$WORK/itty-$rt.out" 2>&1 &
    local rp2=$!
    wait_for 5 test -S "$WORK/itty-$rt.sock"
    "$R" --root "$ROOT" create --bundle "$b" --console-socket "$WORK/itty-$rt.sock" "t1-$rt"
    "$R" --root "$ROOT" start "t1-$rt"
    timeout 10 tail --pid=$rp2 -f /dev/null
    check "$T init on a pty via --console-socket" grep -q init-tty "$WORK/itty-$rt.out"
    "$R" --root "$ROOT" delete -f "t1-$rt" >/dev/null 2>&1
  fi

  # --- hooks: all six, in order. createContainer runs before pivot_root (host paths), startContainer
  # after it (container paths, here a bind mount of the same directory).
  local hd=$WORK/hooks-$rt; mkdir -p "$hd"; : > "$hd/log"
  local hk='{"path":"/bin/sh","args":["sh","-c","echo NAME >> LOG"]}'
  local hf; hf=$(jq -n --arg h "$hd/log" --argjson t "$hk" '
    def host(n): $t | .path = "/bin/sh" | .args = ["sh","-c","echo \(n) >> \($h)"];
    def cont(n): $t | .args = ["sh","-c","echo \(n) >> /hooks/log"];
    {prestart:[host("prestart")], createRuntime:[host("createRuntime")], createContainer:[host("createContainer")],
     startContainer:[cont("startContainer")], poststart:[host("poststart")], poststop:[host("poststop")]}')
  b=$(mkb "hooks-$rt" '["true"]' ".hooks = $hf | .mounts += [{\"destination\":\"/hooks\",\"type\":\"bind\",\"source\":\"$hd\",\"options\":[\"rbind\",\"rw\"]}]")
  "$R" --root "$ROOT" run --bundle "$b" "h1-$rt" >/dev/null 2>&1
  # poststart runs in the runtime while startContainer runs in the container: they may interleave.
  expect_eq "$T hooks run in OCI order" "prestart createRuntime createContainer startContainer poststop" "$(grep -v poststart "$hd/log" | tr '\n' ' ' | sed 's/ $//')"
  expect_eq "$T poststart hook ran once" 1 "$(grep -c poststart "$hd/log")"

  # --- resource limits enforced
  b=$(mkb "mem-$rt" '["sh","-c","dd if=/dev/zero of=/big/x bs=1M count=96 2>/dev/null; echo dd=$?"]' \
      '.linux.resources.memory = {"limit": 33554432, "swap": 33554432} | .mounts += [{"destination":"/big","type":"tmpfs","source":"tmpfs","options":["size=200m"]}]')
  out=$("$R" --root "$ROOT" run --bundle "$b" "m1-$rt" 2>/dev/null)
  expect_eq "$T memory limit enforced (writer OOM-killed)" dd=137 "$out"
  b=$(mkb "pids-$rt" '["sh","-c","i=0; while [ $i -lt 30 ]; do sleep 20 & i=$((i+1)); done 2>/dev/null; wait"]' '.linux.resources.pids = {"limit": 10}')
  "$R" --root "$ROOT" run -d --bundle "$b" "p1-$rt" >/dev/null 2>&1
  local pcg=/sys/fs/cgroup/pids/$CG/pids-$rt; [ -d "$pcg" ] || pcg=/sys/fs/cgroup/unified/$CG/pids-$rt
  check "$T pids limit reached" wait_for 5 grep -Eq "^max [1-9]" "$pcg/pids.events"
  check "$T pids limit enforced (at most 10 tasks)" test "$(cat "$pcg/pids.current")" -le 10
  "$R" --root "$ROOT" delete -f "p1-$rt" >/dev/null 2>&1
  b=$(mkb "oom-$rt" '["sleep","30"]' '.linux.resources.memory = {"limit": 67108864, "disableOOMKiller": true}')
  "$R" --root "$ROOT" run -d --bundle "$b" "o1-$rt" >/dev/null 2>&1
  local ocg=/sys/fs/cgroup/memory/$CG/oom-$rt
  expect_eq "$T disableOOMKiller reaches memory.oom_control" "oom_kill_disable 1" "$(grep oom_kill_disable "$ocg/memory.oom_control" 2>&1)"
  "$R" --root "$ROOT" update --memory 96m "o1-$rt"
  expect_eq "$T update --memory keeps the OOM killer disabled" "oom_kill_disable 1" "$(grep oom_kill_disable "$ocg/memory.oom_control" 2>&1)"
  "$R" --root "$ROOT" delete -f "o1-$rt" >/dev/null 2>&1

  # --- many containers at once
  local pids=() i okc=0
  for i in $(seq 1 12); do b=$(mkb "many$i-$rt" '["sh","-c","echo many"]'); "$R" --root "$ROOT" run --bundle "$b" "n$i-$rt" > "$WORK/n$i-$rt.out" 2>&1 & pids+=($!); done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" && okc=$((okc+1)); done
  expect_eq "$T 12 concurrent runs succeed" 12 "$okc"
  expect_eq "$T and leave nothing behind" "" "$("$R" --root "$ROOT" list 2>&1 | tail -n +2)"
}

suite rune
if command -v runc >/dev/null; then suite runc; fi

# --- what the init process sets up, seen from inside; rune must agree with runc and crun
# (rune's own init process, crates/rune/src/init.rs, against two independent ones).
FACTS='hostname; cat /proc/sys/kernel/domainname; pwd; umask; id -G; cat /proc/self/oom_score_adj; ulimit -n
uname -m; cat /proc/sys/net/ipv4/ip_forward; ls /sys/kernel | wc -l; wc -c < /proc/version
grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status
touch /x 2>/dev/null && echo root-rw || echo root-ro
(echo 1 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null && echo sys-rw || echo sys-ro
mkdir /tmp/m 2>&1 | grep -c "not permitted"; [ -e /proc/self/fd/3 ] && echo "fd3 $LISTEN_PID" || echo no-fd3'
b=$(mkb facts "$(jq -cn --arg s "$FACTS" '["sh","-c",$s]')" '.hostname = "h-init" | .domainname = "d-init"
  | .process.cwd = "/tmp" | .process.user.umask = 23 | .process.user.additionalGids = [10, 20]
  | .process.oomScoreAdj = 123 | .process.rlimits = [{"type":"RLIMIT_NOFILE","hard":1000,"soft":1000}]
  | .linux.personality = {"domain":"LINUX32"} | .linux.sysctl = {"net.ipv4.ip_forward":"1"}
  | .linux.maskedPaths += ["/sys/kernel", "/proc/version"]
  | .mounts += [{"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev"]}]
  | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}')
facts() { # RT [run flags]: socket activation passes fd 3 (LISTEN_PID names the runtime's pid)
  local rt=$1; shift
  LISTEN_FDS=1 sh -c 'LISTEN_PID=$$ exec "$@"' sh "$(rtbin "$rt")" --root "$WORK/root-$rt" run "$@" --bundle "$b" "facts-$rt" 3</dev/null 2>&1
}
mine=$(facts rune)
expect_eq "[rune] init: hostname, domainname, cwd, umask, gids, oom score, rlimit, personality, sysctl" \
  "h-init d-init /tmp 0027 0 10 20 123 1000 i686 1" "$(head -9 <<<"$mine" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "[rune] init: masked directory and file" "0 0" "$(sed -n 10,11p <<<"$mine" | tr '\n' ' ' | sed 's/ $//')"
expect_match "[rune] init: no_new_privs and a seccomp filter" "NoNewPrivs:.1.*Seccomp:.2" "$(tr '\n' ' ' <<<"$mine")"
expect_eq "[rune] init: read-only root and /proc/sys, filter denies mkdir, LISTEN_FDS kept" \
  "root-ro sys-ro 1 fd3 1" "$(tail -4 <<<"$mine" | tr '\n' ' ' | sed 's/ $//')"
# runc 1.1 (Debian 12) sets neither the domain name nor the personality: those two lines aside.
command -v runc >/dev/null && expect_eq "[rune] init: same as runc inside" "$(facts runc | sed '2d;8d')" "$(sed '2d;8d' <<<"$mine")"
command -v crun >/dev/null && expect_eq "[rune] init: same as crun inside" "$(facts crun)" "$mine"
expect_eq "[rune] init: stale LISTEN_FDS (LISTEN_PID not rune's) passes nothing" no-fd3 \
  "$(LISTEN_FDS=1 LISTEN_PID=1 "$RUNE" --root "$WORK/root-rune" run --bundle "$b" facts-stale 3</dev/null 2>&1 | tail -1)"
expect_eq "[rune] init: --no-pivot gives the same container" "$mine" "$(facts rune --no-pivot)"
# Started from a shell's `cmd &` (SIGINT and SIGQUIT ignored), the container's process still
# starts with SIGINT at its default action, as under runc and crun. (Only SIGINT is checked: busybox
# sh -c ignores SIGQUIT itself, and glibc's internal signals 32/33 are whatever make passed on.)
b=$(mkb sigign '["sh","-c","grep SigIgn /proc/self/status"]')
for rt in rune runc crun; do
  [ -n "$(rtbin "$rt")" ] || continue
  out=$( ("$(rtbin "$rt")" --root "$WORK/root-$rt" run --bundle "$b" "sigign-$rt" 2>&1 & wait $!) )
  mask=$(awk '/^SigIgn:/ {print $2}' <<<"$out")
  check "[$rt] run from a background shell: SIGINT is not ignored in the container ($out)" \
    test -n "$mask" -a $(( 0x${mask:-2} & 2 )) -eq 0
done
# A filter that forbids getcwd, loaded without no_new_privileges (so before capabilities are
# dropped): the cwd check must not come after it (runtime-tools linux_seccomp; runc fails this).
b=$(mkb nogetcwd '["sh","-c","echo up; exec pwd -P"]' '.process.noNewPrivileges = false
  | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getcwd"],"action":"SCMP_ACT_ERRNO"}]}')
for rt in rune crun; do
  [ -n "$(rtbin "$rt")" ] || continue
  out=$("$(rtbin "$rt")" --root "$WORK/root-$rt" run --bundle "$b" "nogetcwd-$rt" 2>&1); rc=$?
  expect_match "[$rt] a filter forbidding getcwd without no_new_privileges: starts, getcwd fails inside" "^up.*(not permitted|pwd)" "$(tr '\n' ' ' <<<"$out") rc=$rc"
done

# --- rune only: bad input gives one clear line, non-zero exit, and leaves nothing behind
R=$RUNE; ROOT=$WORK/root-rune
noleft() { # ID
  [ ! -e "$ROOT/$1" ] && ! grep -qF "$ROOT/$1" /proc/self/mountinfo && [ -z "$(ls -d /sys/fs/cgroup/*/$CG/bad-$1 2>/dev/null)" ]
}
bad() { # NAME REGEX ID CMD...
  local name=$1 re=$2 id=$3; shift 3
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] && printf '%s' "$out" | grep -Eq -- "$re" && noleft "$id"; then
    ok "bad input: $name"
  else
    fail "bad input: $name" "rc=$rc out=$out"
  fi
}
b=$(mkb bad-nocfg '["true"]'); rm "$b/config.json"
bad "missing config.json" "config.json.*missing" nocfg "$R" --root "$ROOT" create --bundle "$b" nocfg
b=$(mkb bad-malformed '["true"]'); echo '{"ociVersion": ' > "$b/config.json"
bad "malformed config.json" "config.json.*malformed" malformed "$R" --root "$ROOT" create --bundle "$b" malformed
b=$(mkb bad-norootfs '["true"]' '.root.path = "rootfs-missing"')
bad "missing rootfs" "rootfs .* does not exist" norootfs "$R" --root "$ROOT" create --bundle "$b" norootfs
b=$(mkb bad-cwd '["true"]' '.process.cwd = ""')
bad "empty process.cwd" 'process.cwd "" must be an absolute path' cwd "$R" --root "$ROOT" create --bundle "$b" cwd
b=$(mkb bad-cwd2 '["true"]' '.process.cwd = "tmp"')
bad "relative process.cwd" 'process.cwd "tmp" must be an absolute path' cwd2 "$R" --root "$ROOT" create --bundle "$b" cwd2
bad "missing bundle" "bundle .*cannot access" nob "$R" --root "$ROOT" create --bundle "$WORK/nope" nob
b=$(mkb bad-dup '["sleep","30"]')
"$R" --root "$ROOT" create --bundle "$b" dup
bad "duplicate id" 'container "dup" already exists' nothing-else "$R" --root "$ROOT" create --bundle "$b" dup
expect_eq "duplicate create leaves the first container alone" created "$("$R" --root "$ROOT" state dup | jq -r .status)"
"$R" --root "$ROOT" delete -f dup
bad "invalid id" 'invalid container id "a/b"' 'a/b' "$R" --root "$ROOT" create --bundle "$b" 'a/b'
bad "id .." 'invalid container id' nothing-else "$R" --root "$ROOT" create --bundle "$b" '..'
bad "unknown verb" "unrecognized subcommand 'frobnicate'" x "$R" --root "$ROOT" frobnicate x
bad "unknown flag" "unexpected argument '--frob'" x "$R" --root "$ROOT" create --frob x
for v in state start kill delete pause resume ps exec; do
  extra=(); [ $v = exec ] && extra=(true)
  bad "$v of a non-existent container" 'container "ghost" does not exist' ghost "$R" --root "$ROOT" $v ghost "${extra[@]}"
done
b=$(mkb bad-badproc '["/nonexistent/binary"]')
bad "entrypoint that does not exist" "nonexistent/binary" badproc "$R" --root "$ROOT" create --bundle "$b" badproc
b=$(mkb bad-badsig '["sleep","30"]')
"$R" --root "$ROOT" create --bundle "$b" badsig
bad "unknown signal" 'unknown signal "SIGNOPE"' nothing-else "$R" --root "$ROOT" kill badsig SIGNOPE
"$R" --root "$ROOT" delete -f badsig
# Two create paths: rune's own (plain containers) and libcontainer's builder (what only it does,
# here a user namespace); both must run the container and clean up.
b=$(mkb paths-own '["sh","-c","exit 7"]')
"$R" --root "$ROOT" --debug --log "$WORK/own.json" --log-format json run --bundle "$b" p-own >/dev/null 2>&1
expect_eq "plain container: exit code through rune's own create path" 7 $?
check "plain container: the log names rune's own create path" grep -q "create through rune's own path" "$WORK/own.json"
b=$(mkb paths-userns '["sh","-c","read a b c < /proc/self/uid_map; echo $a:$b:$c:$(id -u)"]' '.linux.namespaces += [{"type":"user"}] | .linux.uidMappings = [{"containerID":0,"hostID":0,"size":65536}] | .linux.gidMappings = [{"containerID":0,"hostID":0,"size":65536}]')
out=$("$R" --root "$ROOT" --debug --log "$WORK/lc.json" --log-format json run --bundle "$b" p-userns 2>&1)
expect_eq "user namespace: runs through libcontainer's builder, mapped" "0:0:65536:0" "$out"
check "user namespace: the log names libcontainer's builder and why" grep -q "create through libcontainer's builder.*reason=user namespace" "$WORK/lc.json"
check "both paths leave nothing behind" noleft p-own
check "both paths leave nothing behind (userns)" noleft p-userns
# The json log is what containerd and docker read back on failure.
"$R" --root "$ROOT" --log "$WORK/log.json" --log-format json create --bundle "$WORK/nope" logtest 2>/dev/null
check "failure is logged as a json error line" jq -e 'select(.level == "error") | .msg | test("bundle")' "$WORK/log.json"
# A create that fails and whose cleanup fails too reports both: the prestart hook mounts a tmpfs
# inside the container's state directory (it cannot be removed then) and exits 3.
busy=$ROOT/cleanupfail/busy
b=$(mkb cleanupfail '["true"]' ".hooks = {\"prestart\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"mkdir -p $busy && mount -t tmpfs rune-e2e $busy && exit 3\"]}]}")
out=$("$R" --root "$ROOT" --log "$WORK/cleanup.json" --log-format json create --bundle "$b" cleanupfail 2>&1); rc=$?
expect_match "failed create with failed cleanup: both on one line (rc=$rc)" "prestart hook.*cleanup after the failure also failed: remove state directory .*busy" "$out"
check "failed create with failed cleanup: both in the json log" jq -e 'select(.level == "error") | .msg | test("prestart hook.*cleanup after the failure also failed")' "$WORK/cleanup.json"
umount "$busy" 2>/dev/null; rm -rf "$ROOT/cleanupfail"
# spec and features
(cd "$WORK" && mkdir -p specdir && cd specdir && "$R" spec && jq -e '.process.args' config.json >/dev/null); check "spec writes a config.json" test $? -eq 0
(cd "$WORK/specdir" && "$R" spec 2>/dev/null); check "spec refuses to overwrite" test $? -ne 0
check "features lists hooks and namespaces" jq -e '(.hooks | index("createRuntime")) and (.linux.namespaces | length > 5)' < <("$R" features)
check "--version names rune" "$R" --version

finish
