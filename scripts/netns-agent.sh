#!/bin/sh
# Open MPI launch agent for the namespace "hosts" of scripts/cluster-local.sh: used instead of
# ssh (--mca plm_rsh_agent), called the way ssh is,
#
#   netns-agent.sh MAP [ssh options] HOST WORD...
#
# it runs WORD... inside HOST's network namespace, as sshd would: the words joined with
# spaces, through `sh -c` (Open MPI's daemon command line contains `;` and quoted URIs).
# The command runs under `unshare --uts` with the host's own hostname: Open MPI names its
# shared-memory segments after the hostname, and equal names on two "hosts" crash the job.
# MAP is cluster-local.sh's hosts file: one "ADDRESS NAMESPACE HOSTNAME VETH" per line; HOST
# may be any of the first three. The environment goes through unchanged (unlike ssh), so
# OMPI_MCA_* settings reach every rank.
set -eu

if [ $# -lt 3 ]; then
  echo "usage: netns-agent.sh MAP [ssh options] HOST COMMAND..." >&2
  exit 255
fi
map=$1
shift
# ssh options Open MPI or a user may pass (-x, -T, -o Key=Value, ...): none apply here.
while [ $# -gt 0 ]; do
  case $1 in
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;  # options of ssh that take an argument
    -*) shift ;;
    *) break ;;
  esac
done
if [ $# -lt 2 ]; then
  echo "netns-agent.sh: no host or no command" >&2
  exit 255
fi
host=$1
shift

ns='' name=''
while read -r addr n hn _rest; do
  case $addr in '#'*|'') continue ;; esac
  if [ "$host" = "$addr" ] || [ "$host" = "$n" ] || [ "$host" = "$hn" ]; then
    ns=$n name=$hn
    break
  fi
done <"$map"
if [ -z "$ns" ]; then
  echo "netns-agent.sh: '$host' is not a host of this cluster ($map)" >&2
  exit 255  # what ssh returns when it cannot reach a host
fi

# $0 = the hostname, $1 = the joined command (as sshd passes it to the login shell).
# shellcheck disable=SC2016  # expanded by the inner shell
exec ip netns exec "$ns" unshare --uts -- sh -c 'hostname "$0" && exec sh -c "$1"' "$name" "$*"
