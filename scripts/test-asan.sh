#!/usr/bin/env bash
# `make test-asan`: the whole suite (services + ctest, through scripts/test.sh)
# again, built with AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer
# (-DLETHE_SANITIZE=ON). Builds only what ctest runs (target lethe_tests: the
# lethe binary and the test binaries; no bench, no fuzz targets).
#
# Every sanitizer report goes to a file under $BUILD/sanitizer-logs, not to
# stderr: the e2e scripts start `lethe serve` and workers in the background and
# do not always look at how they exit, so a report there would be lost. After
# ctest, any report fails the run and is printed, whatever ctest said.
set -euo pipefail
BUILD=${1:-build-asan}
JOBS=${JOBS:-$(nproc)}
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# -O1 -g: the usual sanitizer trade (readable stacks, a third of -O0's run
# time); no -DNDEBUG, so assert()s are live here as well.
cmake -S . -B "$BUILD" -G Ninja -DLETHE_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target lethe_tests

LOGS="$ROOT/$BUILD/sanitizer-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
# Strict: leaks are errors; the first error aborts; C string functions are
# checked against their full length; stack-use-after-return and
# initialization-order bugs are caught too.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:detect_invalid_pointer_pairs=0:log_path=$LOGS/asan"
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:report_error_type=1:log_path=$LOGS/ubsan"

rc=0
bash scripts/test.sh "$BUILD" || rc=$?

if compgen -G "$LOGS/*" >/dev/null; then
  echo "test-asan: sanitizer reports (in $LOGS):" >&2
  for f in "$LOGS"/*; do
    echo "=== $f" >&2
    cat "$f" >&2
  done
  exit 1
fi
exit $rc
