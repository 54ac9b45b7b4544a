#!/usr/bin/env bash
# Installs what rankpool needs (Debian 12 packages) when missing, then configures and
# builds. Idempotent: a second run installs nothing and rebuilds only what changed.
#   scripts/setup.sh [release|debug|asan]      (default: release)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
preset="${1:-release}"

packages=(
  build-essential cmake ninja-build pkg-config git python3
  openmpi-bin libopenmpi-dev
  libboost-mpi1.81-dev libboost-serialization1.81-dev libboost-json1.81-dev
  libboost-url1.81-dev libboost-program-options1.81-dev
  libgtest-dev libgmock-dev
  libgmp-dev
  libcurl4-openssl-dev libpsl-dev libidn2-dev libgumbo-dev zlib1g-dev
  # The test web's https origins (Asio's TLS streams), and the CA the crawler tests make.
  libssl-dev openssl
  # Network-namespace hosts for the cluster tests (scripts/cluster-local.sh).
  iproute2 procps util-linux
  # Slurm for the slurm tests: scripts/slurm-local.sh runs its own munged/slurmctld/slurmd.
  slurm-wlm slurmctld slurmd slurm-client munge
  # The crawler benchmark's baseline (scripts/bench-crawl.sh).
  python3-scrapy
  # rankpool-run: GNU parallel is the reference for templates (--dry-run) and the benchmark baseline.
  parallel
  # Stacks of a hung test run's ranks, printed before the test kills them.
  gdb
  # The lint tests: shell scripts and C++ formatting (.clang-format).
  shellcheck clang-format
)
ensure_packages setup "${packages[@]}"

# Node.js: the URL differential test's oracle (WHATWG URL parsing, node's URL) and npm for
# webrecorder's warcio (pinned below), which reads the crawler's WARC files in the tests. The
# machine's own node and npm are used when present: a nodejs package from NodeSource bundles npm
# and conflicts with Debian's npm package, so asking apt for both would fail there.
node_packages=()
command -v node >/dev/null || node_packages+=(nodejs)
command -v npm >/dev/null || node_packages+=(npm)
[ "${#node_packages[@]}" -eq 0 ] || ensure_packages setup "${node_packages[@]}"

cd "$RANKPOOL_ROOT"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
# warcio for the crawl_app.warc test (its fixture would install it too): the tests run offline.
tests/apps/crawl/install_warcio.sh "build/$preset/tests/apps/crawl/warcio"
