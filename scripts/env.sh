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
