#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package of threatsync (debian/) from this checkout and
# checks it with lintian. Installs what the build needs first (the package list
# of scripts/setup.sh, with its Debian packaging tools), builds in a copy of the
# tree so the checkout stays clean, and prints the path of the .deb.
#
# usage: scripts/package.sh [--no-deps] [--no-lintian] OUTDIR
#   --no-deps     do not check or install build dependencies
#   --no-lintian  skip lintian (the package tests run it themselves)
# Exit: 0 built (and lintian found no error), 64 usage, 69 missing packages
# without root, 1 a failed build or lintian errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=1
lint=1
out=
while [ $# -gt 0 ]; do
	case "$1" in
	--no-deps) deps=0 ;;
	--no-lintian) lint=0 ;;
	-*) echo "package.sh: unknown option '$1'" >&2; exit 64 ;;
	*) [ -z "$out" ] || { echo "package.sh: one OUTDIR only" >&2; exit 64; }; out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || { echo "usage: scripts/package.sh [--no-deps] [--no-lintian] OUTDIR" >&2; exit 64; }

if [ $deps -eq 1 ]; then
	"$here/scripts/setup.sh" --deps-only --package
fi

version=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
upstream=${version%-*}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The sources without build trees, run directories or version control.
src="$work/threatsync-$upstream"
mkdir "$src"
tar -C "$here" --exclude=./.git --exclude='./build*' --exclude=./run --exclude='./obj-*' \
	--exclude=./debian/threatsync --exclude=./debian/.debhelper --exclude='./debian/*.log' \
	--exclude='./debian/*.substvars' --exclude=./debian/files --exclude='*.pyc' \
	--exclude=__pycache__ -cf - . | tar -C "$src" -xf -

jobs=$(nproc 2>/dev/null || echo 2)
echo "package.sh: building threatsync $version in $src"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="threatsync_${version}_${arch}.deb"
for f in "$work/$deb" "$work"/threatsync-dbgsym_"${version}"_"${arch}".deb; do
	[ -e "$f" ] && cp "$f" "$out/"
done

if [ $lint -eq 1 ]; then
	echo "package.sh: lintian $deb"
	# Errors fail the build; warnings and notes are shown (the package's
	# overrides say why each remaining one is accepted).
	lintian --fail-on error --display-info "$out/$deb" || {
		echo "package.sh: lintian found errors in $deb" >&2
		exit 1
	}
fi
echo "$out/$deb"
