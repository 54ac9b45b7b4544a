#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages (slurm-wlm 22.05,
# munge), without systemd: munged, slurmctld and slurmd run in the background, are
# remembered by PID and stopped by PID. Everything (slurm.conf, munge key and socket, state,
# spool, logs) lives in one directory, wiped on every fresh `up`: stale state keeps old
# DRAIN reasons.
#
#   scripts/slurm-local.sh up        start (or reuse) the cluster; wait until its node is idle
#   scripts/slurm-local.sh down      cancel its jobs, stop every daemon and job process
#   scripts/slurm-local.sh status    what runs; exit 0 when up, 3 when nothing runs, 1 partly
#   scripts/slurm-local.sh env       prints `export SLURM_CONF=...` for eval
#
#   eval "$(scripts/slurm-local.sh env)"; sbatch jobs/fib.sbatch 0:1000; squeue
#
# Exit codes: 0 done; 77 Slurm cannot run here (not root, packages missing and not
# installable, a daemon refuses to start, the node never becomes idle) with a one-line
# reason "slurm-local: cannot start Slurm here: ..." on stderr as the last line; 2 bad usage;
# 1 `down` left something running.
#
# Environment:
#   RANKPOOL_SLURM_DIR     state directory (default ${TMPDIR:-/tmp}/rankpool-slurm)
#   RANKPOOL_SLURM_CPUS    CPUs declared for the node (default 8: a 5-rank job fits on a
#                          2-core machine; SlurmdParameters=config_overrides accepts it)
#   RANKPOOL_SLURM_PORT    slurmctld port; slurmd uses the next one (default 16817, away
#                          from the 6817/6818 of a site or packaged Slurm)
#   RANKPOOL_SLURM_INSTALL 0 = never apt-get install missing packages (default 1, as root)
#   RANKPOOL_SLURM_WAIT    seconds to wait for the node to become idle (default 30)
set -uo pipefail

readonly kExitSkip=77
dir="${RANKPOOL_SLURM_DIR:-${TMPDIR:-/tmp}/rankpool-slurm}"
cpus="${RANKPOOL_SLURM_CPUS:-8}"
ctld_port="${RANKPOOL_SLURM_PORT:-16817}"
slurmd_port=$((ctld_port + 1))
wait_s="${RANKPOOL_SLURM_WAIT:-30}"
packages=(slurm-wlm slurmctld slurmd slurm-client munge)
conf="$dir/etc/slurm.conf"
hosts_marker="# rankpool-slurm-local"

say() { echo "slurm-local: $*"; }
cannot() {  # cannot REASON: the one-line reason, last on stderr, and exit 77
  echo "slurm-local: cannot start Slurm here: $*" >&2
  exit "$kExitSkip"
}

# Short host name: the node's and the controller's name. Slurm daemons and Open MPI look it
# up, and /etc/resolv.conf points off the machine, so it must be in /etc/hosts (added with a
# marker when missing, removed again by `down`).
node="$(hostname -s 2>/dev/null || hostname)"

# --- processes, by PID -----------------------------------------------------------------

# alive PID: running and not a zombie (a killed daemon may linger as Z for a while).
alive() {
  local pid="$1" stat
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

pid_of() { cat "$dir/run/$1.pid" 2>/dev/null; }

# Processes of this cluster's jobs: slurmstepd (it double-forks away from slurmd) and job
# processes, recognised by SLURM_CONF=<our slurm.conf> in their environment (slurmstepd
# inherits it from slurmd; jobs from sbatch), plus every descendant of those. Never this
# script or its ancestors (a `down` run from inside a job).
job_leftovers() {
  local -A parent=() comm=() mine=()
  local p pid stat found=() frontier=() next q a
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    stat="$(cat "$p/stat" 2>/dev/null)" || continue
    comm[$pid]="${stat#*(}"; comm[$pid]="${comm[$pid]%%)*}"
    stat="${stat##*) }"
    # shellcheck disable=SC2086  # split /proc/PID/stat's fields into $1 $2 ...
    set -- $stat
    [ "$1" = Z ] || [ "$1" = X ] && continue
    parent[$pid]="$2"
  done
  a=$$
  while [ -n "$a" ] && [ "$a" != 0 ]; do mine[$a]=1; a="${parent[$a]:-}"; done
  for pid in "${!parent[@]}"; do
    [ -n "${mine[$pid]:-}" ] && continue
    if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "SLURM_CONF=$conf"; then
      if [ "${comm[$pid]}" = slurmstepd ] ||
         tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -q '^SLURM_JOB_ID='; then
        found+=("$pid")
      fi
    fi
  done
  frontier=("${found[@]}")
  while [ "${#frontier[@]}" -gt 0 ]; do
    next=()
    for q in "${!parent[@]}"; do
      for p in "${frontier[@]}"; do
        if [ "${parent[$q]}" = "$p" ] && [ -z "${mine[$q]:-}" ] && [[ " ${found[*]} " != *" $q "* ]]; then
          next+=("$q")
        fi
      done
    done
    found+=("${next[@]}")
    frontier=("${next[@]}")
  done
  echo "${found[@]}"
}

# stop_pids SECONDS PID...: SIGTERM, wait up to SECONDS, then SIGKILL what is left.
stop_pids() {
  local grace="$1" pid left deadline
  shift
  [ "$#" -gt 0 ] || return 0
  for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + grace))
  while :; do
    left=""
    for pid in "$@"; do alive "$pid" && left+=" $pid"; done
    [ -z "$left" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.2
  done
  for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in $left; do alive "$pid" && return 1; done
  return 0
}

daemons_alive() {  # all three recorded daemons run
  local d
  for d in munged slurmctld slurmd; do alive "$(pid_of $d)" || return 1; done
}

any_alive() {
  local d
  for d in munged slurmctld slurmd; do alive "$(pid_of $d)" && return 0; done
  return 1
}

node_state() { SLURM_CONF="$conf" timeout 10 sinfo -h -n "$node" -o %T 2>/dev/null | head -1; }

# --- down ------------------------------------------------------------------------------

do_down() {
  local ids pid job_pids rc=0 d deadline
  if [ ! -d "$dir/run" ]; then
    say "not running (no $dir/run)"
    remove_hosts_entry
    return 0
  fi
  if alive "$(pid_of slurmctld)"; then
    ids="$(SLURM_CONF="$conf" timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')"
    if [ -n "${ids// /}" ]; then
      say "cancelling jobs $ids"
      # shellcheck disable=SC2086  # one argument per job id
      SLURM_CONF="$conf" timeout 10 scancel $ids 2>/dev/null
      deadline=$((SECONDS + 20))
      while [ "$SECONDS" -lt "$deadline" ] &&
            [ -n "$(SLURM_CONF="$conf" timeout 10 squeue -h -o %i 2>/dev/null)" ]; do
        sleep 0.5
      done
    fi
  fi
  for d in slurmd slurmctld munged; do
    pid="$(pid_of $d)"
    if alive "$pid"; then
      if stop_pids 10 "$pid"; then say "stopped $d (pid $pid)"; else say "could not stop $d (pid $pid)"; rc=1; fi
    fi
    rm -f "$dir/run/$d.pid"
  done
  # Job processes outlive slurmd (a job not cancelled in time, a slurmd that died first).
  job_pids="$(job_leftovers)"
  if [ -n "$job_pids" ]; then
    say "stopping leftover job processes: $job_pids"
    # shellcheck disable=SC2086
    stop_pids 5 $job_pids || rc=1
  fi
  remove_hosts_entry
  [ "$rc" = 0 ] && say "down (logs kept in $dir/log)"
  return "$rc"
}

remove_hosts_entry() {
  if grep -q "$hosts_marker" /etc/hosts 2>/dev/null; then
    # In place (not a rename): /etc/hosts may be a bind mount.
    local kept
    kept="$(grep -v "$hosts_marker" /etc/hosts)"
    printf '%s\n' "$kept" >/etc/hosts && say "removed $node from /etc/hosts"
  fi
}

# --- up --------------------------------------------------------------------------------

have_packages() {
  local p missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[*]}"
}

ensure_packages() {
  local missing
  missing="$(have_packages)"
  [ -z "$missing" ] && return 0
  if [ "${RANKPOOL_SLURM_INSTALL:-1}" = 0 ]; then
    cannot "packages missing: $missing (RANKPOOL_SLURM_INSTALL=0)"
  fi
  command -v apt-get >/dev/null || cannot "packages missing: $missing, and no apt-get"
  say "installing $missing"
  # shellcheck disable=SC2086  # one argument per package
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
           --no-install-recommends $missing; } >"${TMPDIR:-/tmp}/rankpool-slurm-apt.log" 2>&1; then
    tail -5 "${TMPDIR:-/tmp}/rankpool-slurm-apt.log" >&2
    cannot "packages missing: $missing, and apt-get install failed (log: ${TMPDIR:-/tmp}/rankpool-slurm-apt.log)"
  fi
  missing="$(have_packages)"
  [ -z "$missing" ] || cannot "packages still missing after apt-get install: $missing"
}

ensure_hosts_entry() {
  if ! awk -v h="$node" '$1 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == h) f = 1 } END { exit !f }' /etc/hosts; then
    printf '127.0.0.1 %s %s\n' "$node" "$hosts_marker" >>/etc/hosts ||
      cannot "host name $node is not in /etc/hosts and cannot be added (a lookup would leave the machine)"
    say "added '127.0.0.1 $node' to /etc/hosts (removed again by down)"
  fi
}

port_busy() {  # port_busy PORT: something listens on it (TCP)
  if command -v ss >/dev/null; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
  else
    local hex
    hex="$(printf ':%04X ' "$1")"
    grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
  fi
}

# The last error line of a daemon's log, for the one-line reason.
last_error() {
  local f="$1"
  [ -r "$f" ] || { echo "no log"; return; }
  { grep -Ei 'fatal|error' "$f" || tail -1 "$f"; } | tail -1 | cut -c1-300
}

# start NAME LOG CMD...: runs CMD in the foreground mode of the daemon, in its own session,
# detached from our stdio (CTest waits for its pipes to close), and records its PID.
start() {
  local name="$1" log="$2" pid
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/run/$name.pid"
  sleep 0.3
  if ! alive "$pid"; then
    wait "$pid" 2>/dev/null
    fail_up "$name exited at start: $(last_error "$log")"
  fi
  say "started $name (pid $pid)"
}

fail_up() {  # stop whatever this `up` started, then give the reason
  do_down >/dev/null 2>&1
  cannot "$*"
}

write_conf() {
  mkdir -p "$dir/etc" "$dir/state" "$dir/spool/$node" "$dir/tmp/$node" "$dir/log" "$dir/run"
  # An empty plugin stack: the cluster depends on nothing under /etc/slurm.
  : >"$dir/etc/plugstack.conf"
  cat >"$conf" <<EOF
# Written by scripts/slurm-local.sh: one node, no cgroups, no accounting, everything in
# $dir (wiped on each fresh "up").
ClusterName=rankpool
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
TmpFS=$dir/tmp/%n
SlurmctldPidFile=$dir/run/slurmctld.daemon.pid
SlurmdPidFile=$dir/run/slurmd-%n.daemon.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/etc/plugstack.conf
# No cgroups here: processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=pmix
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# More CPUs than the machine has (a master/worker farm oversubscribes); without
# config_overrides slurmd would find fewer and the node would go INVAL/DRAIN.
SlurmdParameters=config_overrides
ReturnToService=2
# A job at its time limit gets SIGTERM, then SIGKILL after KillWait seconds (the crawler
# flushes its outputs in well under that); no grace beyond the limit.
KillWait=10
OverTimeLimit=0
# Finished jobs stay visible to "scontrol show job" this long (there is no accounting).
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  local m="$dir/munge"
  mkdir -p "$m"
  id munge >/dev/null 2>&1 || fail_up "no munge user (is the munge package installed?)"
  # A private key: nothing under /etc/munge is needed or changed.
  mungekey --create --keyfile="$m/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none ||
    fail_up "cannot create a munge key"
  chown -R munge:munge "$m"
  chmod 0600 "$m/munge.key"
  chmod 0755 "$m"   # munged refuses a directory others can write to
  # --origin: munged would otherwise look up the host name to find its address.
  start munged "$dir/log/munged.out" setpriv --reuid=munge --regid=munge --init-groups \
    /usr/sbin/munged -F --socket="$m/munge.socket" --key-file="$m/munge.key" \
    --pid-file="$m/munged.pid" --seed-file="$m/munged.seed" --log-file="$m/munged.log" \
    --origin=127.0.0.1
  local deadline=$((SECONDS + 10))
  until [ -S "$m/munge.socket" ]; do
    alive "$(pid_of munged)" || fail_up "munged exited: $(last_error "$m/munged.log")"
    [ "$SECONDS" -lt "$deadline" ] || fail_up "munged did not create its socket in 10 s"
    sleep 0.1
  done
  if ! munge -S "$m/munge.socket" -n </dev/null | unmunge -S "$m/munge.socket" >/dev/null 2>&1; then
    fail_up "munge credentials do not round-trip: $(last_error "$m/munged.log")"
  fi
}

do_up() {
  if [ -d "$dir/run" ] && daemons_alive; then
    local st
    st="$(node_state)"
    if [ "$st" = idle ] || [ "$st" = mixed ] || [ "$st" = allocated ]; then
      say "already up: node $node is $st (SLURM_CONF=$conf)"
      return 0
    fi
  fi
  if [ -d "$dir/run" ] && any_alive; then
    say "partly up or unhealthy: restarting"
    do_down || cannot "could not stop the previous daemons"
  fi

  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      exec sudo -n --preserve-env=RANKPOOL_SLURM_DIR,RANKPOOL_SLURM_CPUS,RANKPOOL_SLURM_PORT,RANKPOOL_SLURM_INSTALL,RANKPOOL_SLURM_WAIT,TMPDIR \
        "$0" up
    fi
    cannot "needs root (slurmd runs jobs as their users) and there is no passwordless sudo"
  fi
  command -v dpkg-query >/dev/null || cannot "not a Debian system (dpkg-query missing)"
  ensure_packages
  local p
  for p in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch; do
    [ -x "$p" ] || cannot "$p missing"
  done
  for p in "$ctld_port" "$slurmd_port"; do
    port_busy "$p" && cannot "TCP port $p is in use (set RANKPOOL_SLURM_PORT)"
  done
  ensure_hosts_entry

  # A fresh directory every time; never wipe a directory this script did not make.
  if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] &&
     ! grep -qs '^# Written by scripts/slurm-local.sh' "$conf"; then
    cannot "RANKPOOL_SLURM_DIR=$dir exists and is not a slurm-local.sh directory (refusing to wipe it)"
  fi
  rm -rf "$dir"
  mkdir -p "$dir" || cannot "cannot create $dir"
  chmod 0755 "$dir"
  write_conf
  export SLURM_CONF="$conf"

  local t0=$SECONDS
  start_munge
  start slurmctld "$dir/log/slurmctld.out" /usr/sbin/slurmctld -D -f "$conf"
  local deadline=$((SECONDS + 15))
  until timeout 5 scontrol ping >/dev/null 2>&1; do
    alive "$(pid_of slurmctld)" || fail_up "slurmctld exited: $(last_error "$dir/log/slurmctld.log")"
    [ "$SECONDS" -lt "$deadline" ] || fail_up "slurmctld does not answer: $(last_error "$dir/log/slurmctld.log")"
    sleep 0.2
  done
  start slurmd "$dir/log/slurmd.out" /usr/sbin/slurmd -D -N "$node" -f "$conf"

  # Wait for the node, with a deadline: a node that stays down/drained/inval never runs a job.
  local st=""
  deadline=$((SECONDS + wait_s))
  while :; do
    st="$(node_state)"
    [ "$st" = idle ] && break
    alive "$(pid_of slurmd)" || fail_up "slurmd exited: $(last_error "$dir/log/slurmd-$node.log")"
    alive "$(pid_of slurmctld)" || fail_up "slurmctld exited: $(last_error "$dir/log/slurmctld.log")"
    if [ "$SECONDS" -ge "$deadline" ]; then
      local reason
      reason="$(timeout 5 sinfo -h -R -o '%E' 2>/dev/null | head -1)"
      fail_up "node $node is '${st:-unknown}' after ${wait_s} s${reason:+ ($reason)}; slurmd: $(last_error "$dir/log/slurmd-$node.log")"
    fi
    sleep 0.2
  done
  say "up in $((SECONDS - t0)) s: node $node idle with $cpus CPUs, partition 'local'"
  say "use it with: export SLURM_CONF=$conf   (or: eval \"\$($0 env)\")"
}

do_status() {
  local d pid up=0 down=0
  for d in munged slurmctld slurmd; do
    pid="$(pid_of $d)"
    if alive "$pid"; then say "$d running (pid $pid)"; up=$((up + 1)); else say "$d not running"; down=$((down + 1)); fi
  done
  if [ "$down" = 0 ]; then
    SLURM_CONF="$conf" timeout 10 sinfo -N -o '%N %T %c %P' 2>&1 | sed 's/^/  /'
    SLURM_CONF="$conf" timeout 10 squeue 2>&1 | sed 's/^/  /'
    say "SLURM_CONF=$conf"
    return 0
  fi
  [ "$up" = 0 ] && return 3
  return 1
}

case "${1:-}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
