# shellcheck shell=bash
# Sourced by the other scripts: locations and the Open MPI settings every run needs here.
RANKPOOL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RANKPOOL_BUILD="${RANKPOOL_BUILD:-$RANKPOOL_ROOT/build/release}"
export RANKPOOL_ROOT RANKPOOL_BUILD
# Open MPI refuses to run as root unless told twice; containers and CI run as root.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# More ranks than cores (3 ranks on a 2-core laptop) is normal for a master/worker farm
# whose master mostly sleeps: allow it instead of failing with "not enough slots".
export OMPI_MCA_rmaps_base_oversubscribe=1
# No core binding: Open MPI pins ranks to cores when they fit (-n 1, -n 2 on 2 cores),
# which serializes a rank with everything else on "its" core — a crawler rank with the
# loopback web it crawls, a worker with the master. Measured: rankpool-crawl -n 2 went
# from ~2,900 to ~6,000 pages/s on the synthetic web. Set it to "core" to pin again.
export OMPI_MCA_hwloc_base_binding_policy="${OMPI_MCA_hwloc_base_binding_policy:-none}"

# Installs the Debian packages given that are not installed yet (apt-get update first, only
# then); `tag` prefixes the message. Used by setup.sh and fuzz.sh.
ensure_packages() {
  local tag="$1"; shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "$tag: installing ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
