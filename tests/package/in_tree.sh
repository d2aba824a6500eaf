#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The CLI run from its build directory with a clean environment and no
# configuration uses the checkout's library/; the same binary copied elsewhere
# does not (it looks for the installed library only).
#   in_tree.sh THREATSYNC SOURCE_DIR DEFAULT_CONFIG DEFAULT_LIBRARY
# Exits 77 (skip) where an installed configuration or library takes precedence.
set -u
cli=$1 src=$2 default_config=$3 default_library=$4
for f in "$default_config" "$default_library"; do
	if [ -e "$f" ]; then
		echo "SKIP: $f is installed here and takes precedence over the build tree"
		exit 77
	fi
done
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# What linting the checkout's library explicitly prints.
env -i PATH=/usr/bin:/bin "$cli" library lint "$src/library" >want.txt 2>&1
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: library lint $src/library exited $rc:"; cat want.txt; exit 1; }

env -i PATH=/usr/bin:/bin "$cli" library lint >got.txt 2>&1
rc=$?
if [ $rc -ne 0 ] || ! cmp -s want.txt got.txt; then
	echo "FAIL: in the build tree, 'library lint' without a configuration (exit $rc) did not lint $src/library:"
	diff want.txt got.txt
	exit 1
fi

# Outside the build directory the checkout is not used.
cp "$cli" ./threatsync
env -i PATH=/usr/bin:/bin ./threatsync library lint >copy.txt 2>&1
rc=$?
if [ $rc -eq 0 ] || ! grep -qF "$default_library: library directory not found" copy.txt; then
	echo "FAIL: a copy outside the build tree (exit $rc) did not look for $default_library:"
	cat copy.txt
	exit 1
fi
echo "PASS: the build tree uses $src/library; a copy elsewhere looks for $default_library"
