#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks the shipped unit offline with systemd-analyze:
#   systemd_security.sh security UNIT [MAX]  overall exposure must be <= MAX (1.5)
#   systemd_security.sh verify UNIT BINARY   unit must verify without warnings
# Exits 77 (ctest SKIP_RETURN_CODE) when systemd-analyze cannot do it here.
set -u

mode=${1:?usage: systemd_security.sh security|verify UNIT [MAX|BINARY]}
unit=${2:?missing unit file}
skip=77

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed"
	exit $skip
fi
[ -r "$unit" ] || { echo "FAIL: cannot read $unit"; exit 1; }

case $mode in
security)
	max=${3:-1.5}
	# --offline (systemd >= 250) reads the unit file instead of asking PID 1.
	if ! out=$(systemd-analyze security --offline=true "$unit" 2>&1); then
		case $out in
		*offline*|*"Unknown option"*|*"unrecognized option"*)
			echo "SKIP: this systemd-analyze has no --offline mode: $out"
			exit $skip ;;
		esac
		echo "FAIL: systemd-analyze security failed:"
		echo "$out"
		exit 1
	fi
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		echo "FAIL: no 'Overall exposure level' in the output:"
		echo "$out"
		exit 1
	fi
	# Show what is still exposed, for whoever tightens the unit next.
	printf '%s\n' "$out" | grep -v '^✓' || true
	if awk -v l="$level" -v m="$max" 'BEGIN { exit !(l + 0 <= m + 0) }'; then
		echo "PASS: overall exposure $level <= $max"
		exit 0
	fi
	echo "FAIL: overall exposure $level > $max"
	exit 1
	;;
verify)
	binary=${3:?missing daemon binary}
	# verify checks that ExecStart= names an executable: point the unit at
	# the freshly built daemon in a copy (same name: the unit name matters).
	dir=$(mktemp -d) || exit 1
	trap 'rm -rf "$dir"' EXIT
	name=$(basename "$unit")
	sed "s#^ExecStart=[^ ]*/threatsyncd #ExecStart=$binary #" "$unit" >"$dir/$name"
	if ! grep -q "^ExecStart=$binary" "$dir/$name"; then
		echo "FAIL: $unit has no ExecStart=.../threatsyncd line to rewrite"
		exit 1
	fi
	out=$(cd "$dir" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$dir/$name" 2>&1)
	rc=$?
	case $out in
	*"Failed to initialize manager"*|*"Failed to connect"*|*"Operation not permitted"*)
		echo "SKIP: systemd-analyze verify cannot run here: $out"
		exit $skip ;;
	esac
	# verify exits 0 on unknown keys and bad values; it only warns. Any
	# output about our unit is a finding.
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -q "$name"; then
		echo "FAIL: systemd-analyze verify (exit $rc):"
		echo "$out"
		exit 1
	fi
	[ -n "$out" ] && echo "$out"
	echo "PASS: $name verifies"
	exit 0
	;;
*)
	echo "usage: systemd_security.sh security|verify UNIT [MAX|BINARY]"
	exit 2
	;;
esac
