#!/usr/bin/env bash
# Several "hosts" on one machine, for multi-host Open MPI runs without a cluster: each host is a
# Linux network namespace joined to a bridge by a veth pair, with one address in a test range
# used only here, and Open MPI reaches it through a launch agent (scripts/netns-agent.sh) that
# runs the remote daemon inside the namespace, under its own hostname, instead of over ssh.
#
#   scripts/cluster-local.sh up N [--slots S] [--services K]   create N hosts (replacing any left)
#   scripts/cluster-local.sh down                              remove everything `up` created
#   scripts/cluster-local.sh status                            what exists; exit 1 if not up
#   scripts/cluster-local.sh check                             can namespaces be created here?
#
# `up` and `check` exit 77 with a one-line reason when the kernel (or the lack of root) refuses
# namespaces, so tests can report SKIP. After `up 3`, with the default settings:
#
#   source scripts/env.sh
#   mpirun $(cat /tmp/rankpool-cluster-rpc/mpirun-args) -n 3 build/release/apps/fib/rankpool-fib 0:100
#   # or: source /tmp/rankpool-cluster-rpc/env.sh; mpirun -n 3 ...   (OMPI_MCA_* variables)
#
# Layout (NET = RANKPOOL_CLUSTER_NET, NAME = RANKPOOL_CLUSTER_NAME):
#   bridge NAME-br              NET.254/24, the mpirun host's address in the range (Open MPI
#                               ignores an interface restriction no local interface matches);
#                               also the service addresses NET.101 .. NET.(100+K) for loopback
#                               servers the hosts must reach (rankpool-testweb --address NET.101)
#   host i (1..N)               namespace NAME-hi, hostname NAME-hi, address NET.i/24 on its
#                               eth0, the other end NAME-vi on the bridge (`ip link set NAME-vi
#                               down` cuts the host off); no default route, so nothing inside
#                               can reach beyond the range; /etc/netns/NAME-hi/{hosts,resolv.conf}
#                               keep name lookups inside the namespace on the machine
#   RANKPOOL_CLUSTER_DIR        hostfile (addresses, S slots each), mpirun-args (one line of
#                               mpirun options), env.sh (the same as OMPI_MCA_* exports), agent,
#                               hosts (address namespace hostname veth), services, ready
#
# Open MPI settings written by `up`: the agent; all daemons launched from mpirun (no tree
# spawn); pml ob1, btl tcp,vader,self and both TCP interface restrictions set to NET.0/24;
# OOB keepalive 5 s + 3 probes 1 s apart, so a host whose link dies ends the job with an error
# in about 10 s instead of a silent hang of minutes.
#
# Environment: RANKPOOL_CLUSTER_NAME (default rpc; 1-6 of [a-z0-9]: interface names are short),
# RANKPOOL_CLUSTER_NET (first three octets of the /24, default 198.18.0, from RFC 2544's
# benchmarking range), RANKPOOL_CLUSTER_DIR (default /tmp/rankpool-cluster-NAME). Two
# clusters with different names and ranges can coexist (the CTest fixture uses its own).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${RANKPOOL_CLUSTER_NAME:-rpc}"
NET="${RANKPOOL_CLUSTER_NET:-198.18.0}"
DIR="${RANKPOOL_CLUSTER_DIR:-/tmp/rankpool-cluster-$NAME}"
BR="$NAME-br"
PROG="cluster-local.sh"

die() { echo "$PROG: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }

[[ "$NAME" =~ ^[a-z0-9]{1,6}$ ]] || die "RANKPOOL_CLUSTER_NAME '$NAME': 1-6 characters of [a-z0-9]"
[[ "$NET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "RANKPOOL_CLUSTER_NET '$NET': three octets, e.g. 198.18.0"
[[ "$DIR" != *[[:space:]]* && "$DIR" == /* ]] || die "RANKPOOL_CLUSTER_DIR '$DIR': an absolute path without spaces"

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

# ---------------------------------------------------------------------------------------------
# What exists, found by name (so `down` works even when the state directory is gone).

our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NAME-h[0-9]+$" | sort -V || true; }
our_links() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$NAME-(v[0-9]+|br)$" || true; }

alive() {  # PID still running (a zombie counts as gone: nothing reaps it here quickly)
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ]
}

kill_pids() {  # TERM, up to 5 s, then KILL, up to 2 s
  local pids=("$@") left=() p i
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for sig in KILL ""; do
    for ((i = 0; i < 50; i++)); do
      left=()
      for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
      [ ${#left[@]} -eq 0 ] && return 0
      sleep 0.1
    done
    if [ -n "$sig" ]; then kill "-$sig" "${left[@]}" 2>/dev/null || true; fi
    pids=("${left[@]}")
  done
  echo "$PROG: processes still alive: ${left[*]}" >&2
  return 1
}

cmd_down() {
  local ns l pids=() status=0 inodes=() f
  # Every process in one of our namespaces, however it got there: by name (`ip netns pids`),
  # and by the namespace inodes `up` recorded, which still find a namespace whose name was
  # deleted while processes kept it alive.
  [ -f "$DIR/netns-inodes" ] && mapfile -t inodes < <(awk '{print "net:[" $2 "]"}' "$DIR/netns-inodes")
  for ns in $(our_namespaces); do
    inodes+=("net:[$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)]")
  done
  local -A ours=()  # inode -> 1 once a process in it shows one of our addresses
  if [ ${#inodes[@]} -gt 0 ]; then
    for f in /proc/[0-9]*/ns/net; do
      l=$(readlink "$f" 2>/dev/null) || continue
      for ns in "${inodes[@]}"; do
        [ "$l" = "$ns" ] || continue
        f=${f#/proc/} f=${f%%/*}
        # An inode number can be reused by someone else's namespace once ours is gone:
        # only a namespace holding an address of our range is ours.
        if [ -z "${ours[$l]:-}" ] && nsenter -t "$f" -n ip -o -4 addr show 2>/dev/null | grep -q " $NET\.[0-9]*/24 "; then
          ours[$l]=1
        fi
        [ -n "${ours[$l]:-}" ] && pids+=("$f")
        break
      done
    done
  fi
  if [ ${#pids[@]} -gt 0 ]; then
    echo "$PROG: stopping ${#pids[@]} process(es) left on the hosts: ${pids[*]}" >&2
    kill_pids "${pids[@]}" || status=1
  fi
  # Delete the bridge-side veth ends and the bridge explicitly, before the namespaces (a
  # veth end goes with its namespace, but asynchronously): a namespace can linger unnamed
  # after a fault with its veth still attached, and the next `up` fails with "File exists".
  for l in $(our_links); do
    [ "$l" = "$BR" ] && continue
    ip link delete "$l" 2>/dev/null || ! ip link show "$l" >/dev/null 2>&1 || status=1
  done
  if ip link show "$BR" >/dev/null 2>&1; then
    ip link delete "$BR" || status=1
  fi
  for ns in $(our_namespaces); do
    ip netns delete "$ns" || status=1
  done
  rm -rf /etc/netns/"$NAME"-h[0-9]*
  rmdir /etc/netns 2>/dev/null || true
  rm -rf "$DIR"
  local i
  for ((i = 0; i < 20; i++)); do  # link removal completes asynchronously
    [ -z "$(our_namespaces)$(our_links)" ] && break
    sleep 0.1
  done
  if [ -n "$(our_namespaces)$(our_links)" ]; then
    echo "$PROG: could not remove: $(our_namespaces | tr '\n' ' ')$(our_links | tr '\n' ' ')" >&2
    status=1
  fi
  [ $status = 0 ] || echo "$PROG: down: something could not be removed (see above)" >&2
  return $status
}

# ---------------------------------------------------------------------------------------------
# Can this kernel give us namespaces? (exit 77 with the reason when not)

preflight() {
  [ "$(id -u)" = 0 ] || skip "network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN); running as uid $(id -u)"
  command -v ip >/dev/null || skip "'ip' (iproute2) is not installed"
  command -v unshare >/dev/null || skip "'unshare' (util-linux) is not installed"
  local err
  err=$(unshare --uts -- true 2>&1) || skip "the kernel refuses UTS namespaces: ${err:-unshare --uts failed}"
}

probe() {  # a throw-away namespace and veth: the cheapest proof that `up` can work
  local ns="$NAME-probe" err
  ip netns delete "$ns" 2>/dev/null || true
  err=$(ip netns add "$ns" 2>&1) || skip "the kernel refuses network namespaces: ${err:-ip netns add failed}"
  err=$(ip -n "$ns" link add "$NAME-pa" type veth peer name "$NAME-pb" 2>&1 && ip -n "$ns" link add "$NAME-pc" type bridge 2>&1) || {
    ip netns delete "$ns" 2>/dev/null
    skip "the kernel refuses veth pairs or bridges: $err"
  }
  ip netns delete "$ns"
}

cmd_check() {
  preflight
  probe
  echo "$PROG: network namespaces, veth pairs, bridges and UTS namespaces work here"
}

# ---------------------------------------------------------------------------------------------

cmd_up() {
  local n="" slots=1 services=4
  while [ $# -gt 0 ]; do
    case $1 in
      --slots) slots=${2:?}; shift 2 ;;
      --services) services=${2:?}; shift 2 ;;
      -h|--help) usage ;;
      *) [ -z "$n" ] || usage; n=$1; shift ;;
    esac
  done
  { [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 99)); } || die "up N: N hosts, 1..99 (addresses $NET.1 .. $NET.99)"
  { [[ "$slots" =~ ^[0-9]+$ ]] && ((slots >= 1)); } || die "--slots S: S >= 1"
  { [[ "$services" =~ ^[0-9]+$ ]] && ((services <= 99)); } || die "--services K: 0..99 (addresses $NET.101 ..)"
  preflight
  if [ -n "$(our_namespaces)$(our_links)" ] || [ -e "$DIR" ]; then
    echo "$PROG: removing the previous cluster '$NAME' first" >&2
    cmd_down || die "could not remove the previous cluster '$NAME'"
  fi
  probe

  # From here on, a failure removes whatever was created.
  trap 'echo "$PROG: set-up failed at line $LINENO; removing what was created" >&2; cmd_down >/dev/null 2>&1 || true' ERR
  local err
  err=$(ip link add "$BR" type bridge 2>&1) || { trap - ERR; cmd_down >/dev/null 2>&1 || true; skip "cannot create a bridge: $err"; }
  ip addr add "$NET.254/24" dev "$BR"
  local k
  for ((k = 1; k <= services; k++)); do
    ip addr add "$NET.$((100 + k))/32" dev "$BR"
  done
  ip link set "$BR" up

  local i ns veth hosts_lines="" etc_hosts
  etc_hosts=$(printf '127.0.0.1\tlocalhost\n%s.254\t%s-gw\n' "$NET" "$NAME")
  for ((i = 1; i <= n; i++)); do
    etc_hosts+=$(printf '\n%s.%d\t%s-h%d' "$NET" "$i" "$NAME" "$i")
  done
  mkdir -p "$DIR"
  for ((i = 1; i <= n; i++)); do
    ns="$NAME-h$i" veth="$NAME-v$i"
    ip netns add "$ns"
    ip link add "$veth" type veth peer name "$NAME-p$i" netns "$ns"
    ip -n "$ns" link set "$NAME-p$i" name eth0
    ip -n "$ns" addr add "$NET.$i/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip link set "$veth" master "$BR" up
    # `ip netns exec` bind-mounts these over /etc: names resolve locally, and a lookup of an
    # unknown name goes to 127.0.0.1 inside the namespace (nothing listens) rather than off
    # the machine.
    mkdir -p "/etc/netns/$ns"
    printf '%s\n' "$etc_hosts" >"/etc/netns/$ns/hosts"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
    hosts_lines+="$NET.$i $ns $ns $veth"$'\n'
    echo "$ns $(stat -L -c %i "/run/netns/$ns")" >>"$DIR/netns-inodes"
  done

  printf '# address namespace hostname veth (read by netns-agent.sh)\n%s' "$hosts_lines" >"$DIR/hosts"
  for ((i = 1; i <= n; i++)); do echo "$NET.$i slots=$slots"; done >"$DIR/hostfile"
  for ((k = 1; k <= services; k++)); do echo "$NET.$((100 + k))"; done >"$DIR/services"
  # plm_rsh_agent is split on spaces by Open MPI: a one-word wrapper avoids any quoting.
  printf '#!/bin/sh\nexec %q %q "$@"\n' "$ROOT/scripts/netns-agent.sh" "$DIR/hosts" >"$DIR/agent"
  chmod +x "$DIR/agent"

  local -a mca=(
    plm_rsh_agent "$DIR/agent"
    plm_rsh_no_tree_spawn 1
    pml ob1
    btl 'tcp,vader,self'
    btl_tcp_if_include "$NET.0/24"
    oob_tcp_if_include "$NET.0/24"
    oob_tcp_keepalive_time 5
    oob_tcp_keepalive_intvl 1
    oob_tcp_keepalive_probes 3
    hwloc_base_binding_policy none
  )
  {
    printf -- '--hostfile %s' "$DIR/hostfile"
    for ((k = 0; k < ${#mca[@]}; k += 2)); do printf -- ' --mca %s %s' "${mca[k]}" "${mca[k + 1]}"; done
    echo
  } >"$DIR/mpirun-args"
  {
    echo "# source this, then: mpirun -n N PROGRAM (cluster '$NAME', $n hosts)"
    echo "export OMPI_MCA_orte_default_hostfile=$DIR/hostfile"
    for ((k = 0; k < ${#mca[@]}; k += 2)); do echo "export OMPI_MCA_${mca[k]}=${mca[k + 1]}"; done
    if [ "$(id -u)" = 0 ]; then echo "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"; fi
    echo "export RANKPOOL_CLUSTER_DIR=$DIR RANKPOOL_CLUSTER_NAME=$NAME RANKPOOL_CLUSTER_NET=$NET"
  } >"$DIR/env.sh"

  # Every host must answer through the agent, with its own hostname, before anyone launches
  # on it: the probe takes Open MPI's launch path (ip netns exec + unshare --uts + sh -c).
  for ((i = 1; i <= n; i++)); do
    local got
    got=$("$DIR/agent" "$NET.$i" hostname) || { trap - ERR; cmd_down >/dev/null 2>&1 || true; skip "cannot run a command in namespace $NAME-h$i under unshare --uts"; }
    [ "$got" = "$NAME-h$i" ] || { trap - ERR; cmd_down >/dev/null 2>&1 || true; die "host $i reports hostname '$got'"; }
  done
  trap - ERR
  date +%s >"$DIR/ready"
  echo "$PROG: $n host(s) up: $NET.1 .. $NET.$n (namespaces $NAME-h1 .. $NAME-h$n), bridge $BR at $NET.254, services $( ((services)) && echo "$NET.101 .. $NET.$((100 + services))" || echo none)"
  echo "$PROG: mpirun prefix: mpirun \$(cat $DIR/mpirun-args)   (or: source $DIR/env.sh)"
}

cmd_status() {
  local up=0 ns l
  if [ -f "$DIR/ready" ]; then
    echo "cluster '$NAME' up since $(date -d "@$(cat "$DIR/ready")" '+%F %T'); state in $DIR"
    echo "mpirun prefix: mpirun $(cat "$DIR/mpirun-args")"
    up=1
  else
    echo "cluster '$NAME': not up (no $DIR/ready)"
  fi
  if ip link show "$BR" >/dev/null 2>&1; then
    echo "bridge $BR: $(ip -br addr show "$BR" | awk '{$1=""; print}')"
  fi
  for ns in $(our_namespaces); do
    local i=${ns##*-h} nproc
    nproc=$(ip netns pids "$ns" 2>/dev/null | wc -l)
    printf '%-10s %-15s link %-5s %2d process(es)\n' "$ns" \
      "$(ip -n "$ns" -4 -br addr show eth0 2>/dev/null | awk '{print $3}')" \
      "$(ip -br link show "$NAME-v$i" 2>/dev/null | awk '{print $2}' || echo gone)" "$nproc"
  done
  [ $up = 1 ]
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down)
    if [ "$(id -u)" != 0 ] && [ -n "$(our_namespaces)$(our_links)" ]; then die "down needs root"; fi
    cmd_down ;;
  status) cmd_status ;;
  check) cmd_check ;;
  *) usage ;;
esac
