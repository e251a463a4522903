#!/usr/bin/env bash
# Builds the libFuzzer lint target with clang++-14 in a side build directory
# (kept between runs, so only the first run compiles) and fuzzes for 20 s on
# the seed corpus. A crash fails the test; copy the crash-* file it names
# into fuzz/regressions/lint to keep it as a regression case.
#   fuzz/run-brief.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
mkdir -p "$build"
log=$build/run-brief.log
# The build's output goes to a log, printed (its end) only when it fails.
if ! { cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOLSHIFT_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 &&
  cmake --build "$build" --target lint_fuzzer -j2; } >"$log" 2>&1; then
  echo "building the clang libFuzzer target failed ($log):" >&2
  tail -40 "$log" >&2
  exit 1
fi
cd "$build/fuzz"
exec ctest --output-on-failure -R LintFuzzBrief
