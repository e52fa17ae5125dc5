#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it:
#   1. the unit and end-to-end tests (ctest labels unit, e2e) on the normal build;
#   2. the same tests under AddressSanitizer and UndefinedBehaviorSanitizer (GCC);
#   3. every libFuzzer target (clang-19) replaying its seed corpus.
# Slow suites carry the label "slow" and run only with AEGIS_SLOW=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-$(nproc)}
SHARED=${SHARED:-$(cd .. && pwd)/shared/data}
export TZ=UTC
labels='unit|e2e'
[ "${AEGIS_SLOW:-0}" = 1 ] && labels='unit|e2e|slow'

if [ ! -d "$SHARED" ]; then
  echo "test: $SHARED not found: tests that need the shared data sets will say SKIPPED"
fi

step() { printf '\n== %s ==\n' "$*"; }
start=$(date +%s)
LOG=$(mktemp /tmp/aegis-test.XXXXXX)
trap 'rm -f "$LOG"' EXIT
# Runs ctest, keeping its output for the totals printed at the end.
run_ctest() { ctest "$@" 2>&1 | tee -a "$LOG"; return "${PIPESTATUS[0]}"; }

step "1/3 unit and end-to-end tests (build/)"
(cd build && run_ctest -L "$labels" --output-on-failure -j "$JOBS" --timeout 600)

step "2/3 the same under ASan + UBSan (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAEGIS_SANITIZE=ON \
  -DAEGIS_BUILD_BENCH=OFF -DAEGIS_SHARED_DATA="$SHARED" >/dev/null
cmake --build build-asan -j "$JOBS"
(cd build-asan \
  && export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            LSAN_OPTIONS=suppressions=$ROOT/scripts/lsan.supp \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  && run_ctest -L "$labels" --output-on-failure -j "$JOBS" --timeout 1200)

step "3/3 fuzz targets replay their corpora (build-fuzz/, clang-19)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 -DAEGIS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$JOBS"
(cd build-fuzz && run_ctest -L '^fuzz$' --output-on-failure -j "$JOBS")

total=$(grep -oE 'tests failed out of [0-9]+' "$LOG" | awk '{s += $5} END {print s + 0}')
echo
echo "test: all suites passed in $(( $(date +%s) - start ))s (normal, ASan+UBSan, fuzz corpora)"
echo "$total passed, 0 failed"
