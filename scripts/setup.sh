#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages threatsync needs (when missing), then configures
# and builds. Idempotent, and fast when everything is already there.
#
# usage: scripts/setup.sh [--tests] [--fuzz] [--package] [--deps-only] [--build-dir DIR]
#                          [--sanitize] [--werror] [--quiet]
#   --tests      also install what the test suite needs (valgrind, systemd-analyze, wrk, chromium,
#                and the Debian packaging tools of --package for the package tests)
#   --package    also install the Debian packaging tools (debhelper, dpkg-dev,
#                fakeroot, lintian): scripts/package.sh
#   --deps-only  install the packages, then stop (no configure, no build)
#   --fuzz       also install clang and its libFuzzer runtime, and build the
#                fuzzing harnesses with it (fuzz/, docs/fuzzing.md) instead of the tests
#   --build-dir  where to build (default: build)
#   --sanitize   build with ASan+UBSan
#   --werror     treat warnings as errors
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=build
tests=0
fuzz=0
pkg=0
deps_only=0
cmake_args=()
quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) tests=1 ;;
	--fuzz) fuzz=1 ;;
	--package) pkg=1 ;;
	--deps-only) deps_only=1 ;;
	--build-dir) build_dir=$2; shift ;;
	--sanitize) cmake_args+=(-DTS_SANITIZE=ON) ;;
	--werror) cmake_args+=(-DTS_WERROR=ON) ;;
	--quiet) quiet=1 ;;
	*) echo "setup.sh: unknown option '$1'" >&2; exit 64 ;;
	esac
	shift
done

packages=(build-essential cmake pkg-config ca-certificates python3 jq sqlite3 curl
	libuv1-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libconfig-dev
	libsystemd-dev libmicrohttpd-dev libssl-dev libcmocka-dev libyajl-dev libxml2-dev
	libgraphviz-dev)
# The -dev packages above are the package's Build-Depends too (debian/control;
# the package tests check that each of them is listed here).
if [ $tests -eq 1 ]; then
	# chromium: the HTML report's browser test (tests/browser/)
	packages+=(valgrind systemd wrk chromium)
	pkg=1
fi
if [ $pkg -eq 1 ]; then
	packages+=(debhelper dpkg-dev fakeroot lintian groff-base)
fi
if [ $fuzz -eq 1 ]; then
	# clang's libFuzzer and sanitizer runtimes are only recommended by clang
	packages+=(clang libclang-rt-dev)
	cmake_args+=(-DCMAKE_C_COMPILER=clang -DTS_FUZZ=ON -DTS_TESTS=OFF)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing Debian packages: ${missing[*]}" >&2
		echo "setup.sh: run this as root, then run me again:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 69
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ $deps_only -eq 1 ]; then
	exit 0
fi

cd "$here"
if [ ! -f "$build_dir/CMakeCache.txt" ] || [ ${#cmake_args[@]} -gt 0 ]; then
	cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_args[@]}" >/dev/null
fi
jobs=$(nproc 2>/dev/null || echo 2)
if [ $quiet -eq 1 ]; then
	cmake --build "$build_dir" -j"$jobs" >/dev/null
else
	cmake --build "$build_dir" -j"$jobs"
fi
echo "setup.sh: built in $here/$build_dir"
