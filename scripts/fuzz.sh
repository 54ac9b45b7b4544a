#!/usr/bin/env bash
# Fuzzes the crawler's parsers with libFuzzer: the URL normalizer, the robots.txt parser, the
# link extractor and the sitemap parser; and rankpool-run's command templates (tests/fuzz/).
# Installs clang and libFuzzer when missing (Debian 12), builds the targets with clang and
# ASan+UBSan in build/fuzz (crawl module only: the template harness compiles run/tasks.cpp
# in), and runs each for SECONDS on a copy of its seed corpus and regressions.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s; url robots links sitemap template)
# RANKPOOL_FUZZ_SEED=N fixes libFuzzer's seed (scripts/test.sh sets 1 in CI, so a CI run
# explores the same inputs each time and fails only on a change, not on luck); unset, every
# run takes a new seed and prints it.
# Exit status: 0 when no target crashed; 1 when one did (the crash input's path is printed:
# copy it to tests/fuzz/regressions/<target>/ so every test run replays it); 2 on bad usage.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [url|robots|links|sitemap|template...]" >&2
  exit 2
fi
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(url robots links sitemap template)
for t in "${targets[@]}"; do
  case "$t" in
    url|robots|links|sitemap|template) ;;
    *) echo "fuzz: unknown target '$t' (url, robots, links, sitemap, template)" >&2; exit 2 ;;
  esac
done

# clang is Debian 12's clang-14. libFuzzer's runtime (libclang_rt.fuzzer*.a) and the
# sanitizer runtimes ship in libclang-rt-14-dev, which clang only recommends: the
# libclang-rt-dev metapackage names it for the default clang, so an install with
# --no-install-recommends still gets it. The rest is what configuring the crawl module needs.
packages=(
  clang libclang-rt-dev
  cmake ninja-build pkg-config python3
  libopenmpi-dev
  libboost-mpi1.81-dev libboost-serialization1.81-dev libboost-json1.81-dev
  libboost-url1.81-dev libboost-program-options1.81-dev
  libcurl4-openssl-dev libpsl-dev libidn2-dev zlib1g-dev
)
ensure_packages fuzz "${packages[@]}"
runtime="$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
if [ ! -f "$runtime" ]; then
  echo "fuzz: libFuzzer runtime not found ($runtime); install libclang-rt-dev" >&2
  exit 1
fi

cd "$RANKPOOL_ROOT"
build="$RANKPOOL_ROOT/build/fuzz"
# -O1 -g with assertions kept, as OSS-Fuzz builds; the sanitizer and coverage flags come
# from RANKPOOL_FUZZ (top-level CMakeLists.txt).
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DRANKPOOL_FUZZ=ON -DRANKPOOL_MODULES=crawl -DRANKPOOL_BUILD_TESTS=OFF -DRANKPOOL_BUILD_BENCHMARKS=OFF \
  >/dev/null
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

# Leak checking stays on (the default under libFuzzer); UBSan findings abort.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${targets[@]}"; do
  run="$build/run/$t"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  # A copy: libFuzzer adds every input that finds new coverage to the corpus directory,
  # and the checked-in corpus stays small and hand-made.
  cp tests/fuzz/corpus/"$t"/* "$run/corpus/"
  find tests/fuzz/regressions/"$t" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$run/corpus/" \;
  seeds=$(find "$run/corpus" -type f | wc -l)
  seed="${RANKPOOL_FUZZ_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}"
  echo "== fuzz_$t: ${seconds} s from $seeds seeds, -seed=$seed (log: $run/fuzz.log) =="
  rc=0
  (cd "$run" && "$build/tests/fuzz/fuzz_$t" -seed="$seed" -max_total_time="$seconds" -timeout=10 \
     -rss_limit_mb=2048 -print_final_stats=1 -dict="$RANKPOOL_ROOT/tests/fuzz/$t.dict" \
     -artifact_prefix="$run/artifacts/" corpus) >"$run/fuzz.log" 2>&1 || rc=$?
  # The last status line: "#runs DONE cov: N ft: N corp: N/size exec/s: N rss: N".
  grep -E '^#[0-9]+' "$run/fuzz.log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$run/fuzz.log" || true
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz_$t FAILED (exit $rc):"
    grep -E 'ERROR: |property violated|runtime error|^  [a-z]' "$run/fuzz.log" | head -n 20 || true
    artifacts=$(find "$run/artifacts" -type f)
    if [ -n "$artifacts" ]; then
      echo "crash input(s) — add to tests/fuzz/regressions/$t/:"
      while IFS= read -r artifact; do echo "  $artifact"; done <<<"$artifacts"
      # CI's clone is thrown away with build/fuzz: small inputs go into the log as base64
      # (recreate with: base64 -d > tests/fuzz/regressions/$t/NAME).
      while IFS= read -r a; do
        if [ "$(stat -c %s "$a")" -le 4096 ]; then
          echo "  base64 of $(basename "$a"):"
          base64 -w 76 "$a" | sed 's/^/    /'
        fi
      done <<<"$artifacts"
    fi
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
