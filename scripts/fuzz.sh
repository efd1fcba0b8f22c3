#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets in fuzz/ with clang (ASan+UBSan)
# into their own build directory and runs each for FUZZ_SECONDS over its seed
# corpus and its kept crash inputs. Fails if any target finds a crash, a leak,
# a timeout or a broken property, and prints where the input was saved.
#
# New corpus units go to a scratch directory, never into the repository:
# libFuzzer writes only to the first corpus directory it is given.
#
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  space-separated subset, e.g. "jwt time" (default: all)
#   FUZZ_BUILD    build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${FUZZ_SECONDS:-60}"
BUILD="${FUZZ_BUILD:-build-fuzz}"
ALL=(strict_json request_body config jwt time jsonl_match sigv4 export_manifest)
read -r -a TARGETS <<< "${FUZZ_TARGETS:-${ALL[*]}}"

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (make deps installs it)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DLETHE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
bins=()
for t in "${TARGETS[@]}"; do bins+=("${t}_fuzz"); done
cmake --build "$BUILD" --target "${bins[@]}"

RUN="$BUILD/fuzz-run"
rm -rf "$RUN"
mkdir -p "$RUN"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
# export_manifest publishes a zip (with fsync) per input: on tmpfs that costs
# no disk flush, and nothing is left behind on disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
printf '%-16s %10s %8s %8s  %s\n' target execs exec/s corpus result
for t in "${TARGETS[@]}"; do
  scratch="$RUN/$t/corpus"
  artifacts="$RUN/$t/artifacts"
  mkdir -p "$scratch" "$artifacts"
  dirs=("$scratch" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$RUN/$t/fuzz.log"
  set +e
  "$BUILD/fuzz/${t}_fuzz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  units=$(find "$scratch" -type f | wc -l)
  crash=$(find "$artifacts" -type f | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    failed+=("$t")
    printf '%-16s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "FAILED (exit $rc)"
    grep -E 'ERROR: |fuzz property broken|runtime error|SUMMARY' "$log" | head -5 | sed 's/^/    /'
    for f in "$artifacts"/*; do [ -f "$f" ] && echo "    input: $f"; done
    echo "    log:   $log"
  else
    printf '%-16s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" ok
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed. Keep each input in fuzz/regressions/<target>/ once fixed (docs/fuzzing.md)." >&2
  exit 1
fi
