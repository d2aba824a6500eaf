#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package (scripts/package.sh, without installing anything)
# and checks it: the files and their places, the unit's ExecStart=, the
# conffiles, the dependencies dh_shlibdeps found, the version, the hardening of
# the binaries, the start configuration, and lintian (no error).
#   deb.sh SOURCE_DIR WORK_DIR PROJECT_VERSION
# Exits 77 (skip) where the Debian packaging tools are missing.
set -u
src=$1 work=$2 version=$3
for tool in dpkg-deb dpkg-buildpackage dh fakeroot lintian; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool is missing (on Debian: scripts/setup.sh --package installs the packaging tools)"
		exit 77
	fi
done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

rm -rf "$work" && mkdir -p "$work" || exit 1
if ! "$src/scripts/package.sh" --no-deps --no-lintian "$work/out" >"$work/package.log" 2>&1; then
	cat "$work/package.log"
	echo "FAIL: scripts/package.sh failed"
	exit 1
fi
deb=$(tail -n 1 "$work/package.log")
[ -f "$deb" ] || { cat "$work/package.log"; echo "FAIL: no .deb at '$deb'"; exit 1; }
echo "built $deb"

# The files, each where it belongs.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#' >"$work/files"
for f in /usr/bin/threatsync /usr/sbin/threatsyncd /etc/threatsync/threatsync.conf \
	/lib/systemd/system/threatsyncd.service /usr/share/man/man1/threatsync.1.gz \
	/usr/share/man/man8/threatsyncd.8.gz /usr/share/man/man5/threatsync.conf.5.gz \
	/usr/share/bash-completion/completions/threatsync \
	/usr/share/threatsync/examples/threatsync.conf \
	/usr/share/threatsync/examples/widgetsrus/model.json /usr/share/doc/threatsync/copyright; do
	grep -qx "$f" "$work/files" || fail "$f is not in the package"
done
# Every file of library/ and schema/, and nothing else, under /usr/share/threatsync.
for dir in library schema; do
	want=$(cd "$src/$dir" && find . -type f | sed "s#^\./#/usr/share/threatsync/$dir/#" | sort)
	got=$(grep "^/usr/share/threatsync/$dir/.*[^/]$" "$work/files" | sort)
	if [ "$want" != "$got" ]; then
		fail "/usr/share/threatsync/$dir differs from $dir/ ($(echo "$want" | wc -l) files in the tree, $(echo "$got" | grep -c .) in the package)"
	fi
done
if grep -q "^/usr/local\|^/usr/lib/systemd\|^/usr/etc" "$work/files"; then
	fail "files under /usr/local, /usr/lib/systemd or /usr/etc: $(grep '^/usr/local\|^/usr/lib/systemd\|^/usr/etc' "$work/files" | head -3)"
fi

# The tree as installed, for the checks of file contents.
dpkg-deb -x "$deb" "$work/root" || exit 1
unit="$work/root/lib/systemd/system/threatsyncd.service"
grep -qx 'ExecStart=/usr/sbin/threatsyncd -c /etc/threatsync/threatsync.conf' "$unit" ||
	fail "the unit's ExecStart= is '$(grep '^ExecStart=' "$unit")'"
grep -qx 'User=threatsync' "$unit" || fail "the unit does not run as User=threatsync"
n=$(grep -c '^LoadCredential=[a-z_]*:/etc/threatsync/[a-z_]*$' "$unit")
[ "$n" = 5 ] || fail "the unit loads $n credentials from /etc/threatsync, not 5"
grep -q '@' "$unit" && grep '@[A-Z_]*@' "$unit" && fail "the unit has unconfigured @VARIABLES@"

# Control data: the conffile, the version, the dependencies from dh_shlibdeps.
dpkg-deb -e "$deb" "$work/control" || exit 1
conffiles=$(cat "$work/control/conffiles")
[ "$conffiles" = /etc/threatsync/threatsync.conf ] || fail "conffiles are '$conffiles'"
v=$(dpkg-deb -f "$deb" Version)
[ "$v" = "$version-1" ] || fail "the package version is $v, the project's is $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libsqlite3-0 libjansson4 libconfig9 libcurl4 libuv1 libsystemd0 libmicrohttpd12 adduser; do
	echo "$depends" | grep -q "\\b$lib\\b" || fail "Depends lacks $lib: $depends"
done
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst creates no system user"
grep -q 'deb-systemd-helper enable' "$work/control/postinst" || fail "postinst does not enable the unit"
grep -q "deb-systemd-invoke \$_dh_action 'threatsyncd.service'" "$work/control/postinst" ||
	fail "postinst does not start the unit"

# Every Build-Depends -dev package is in the package list of scripts/setup.sh.
for p in $(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | grep -o 'lib[a-z0-9.+-]*-dev'); do
	grep -q "\\b$p\\b" "$src/scripts/setup.sh" || fail "Build-Depends $p is not in scripts/setup.sh"
done

# Hardening (dpkg-buildflags hardening=+all): PIE, full RELRO, fortified calls.
for b in usr/bin/threatsync usr/sbin/threatsyncd; do
	readelf -h "$work/root/$b" | grep -q 'Type:.*DYN' || fail "$b is not PIE"
	readelf -lW "$work/root/$b" | grep -q GNU_RELRO || fail "$b has no RELRO"
	readelf -dW "$work/root/$b" | grep -q 'BIND_NOW\|FLAGS.*NOW' || fail "$b is not bound now"
	readelf -sW --dyn-syms "$work/root/$b" | grep -q '__[a-z]*_chk' || fail "$b calls no fortified function"
done

# The start configuration is valid as shipped.
out=$("$work/root/usr/sbin/threatsyncd" --check-config "$work/root/etc/threatsync/threatsync.conf" 2>&1) ||
	fail "the shipped configuration does not check: $out"

# lintian: no error (warnings and notes are printed).
lintian --fail-on error --display-info "$deb" >"$work/lintian.txt" 2>&1
rc=$?
grep -v 'running with root privileges' "$work/lintian.txt"
[ $rc -eq 0 ] || fail "lintian exited $rc"

[ $fails -eq 0 ] || exit 1
echo "PASS: $(basename "$deb"): $(wc -l <"$work/files") entries, conffiles, unit, dependencies, hardening, lintian"
