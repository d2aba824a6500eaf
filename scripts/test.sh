#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up and runs every test: a build with warnings as errors, then the same
# suite under ASan+UBSan, then the cmocka cases under valgrind, then a short
# run of every fuzzing harness (clang's libFuzzer) with its kept regressions.
#
# usage: scripts/test.sh [--quick]   (--quick: only the first build and its tests)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (warnings as errors) and test"
scripts/setup.sh --tests --werror --build-dir build/werror --quiet
ctest --test-dir build/werror --output-on-failure -j"$jobs" -LE valgrind
[ $quick -eq 1 ] && exit 0

echo "== build with ASan+UBSan and test (all but the soak, which the first pass ran)"
scripts/setup.sh --tests --werror --sanitize --build-dir build/asan --quiet
ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE soak

echo "== cmocka cases under valgrind"
ctest --test-dir build/werror --output-on-failure -j"$jobs" -L valgrind

echo "== fuzzing smoke run (20 s per harness, regressions replayed)"
scripts/fuzz.sh 20
