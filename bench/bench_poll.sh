#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Poll cost of the tracker sync: N tickets linked in the database and present
# in the Jira Cloud emulator, CHANGED of them moved to Done by a human after the
# last poll, then one `threatsync sync --once`: requests sent during the pass
# (emulator stats before/after) and the CPU time of the process, for each N,
# with baselines of the same run (curl sending the same requests, sqlite3
# counting the tickets, `threatsync --version`). See bench/README.md.
#
# Usage: bench/bench_poll.sh [THREATSYNC]
#   THREATSYNC defaults to $TS_THREATSYNC, else build/threatsync.
#   Environment: SIZES ("10000 100000"), CHANGED (10), KEEP=1 keeps the work directory,
#   SYNC_WRAP: a command prefix for the threatsync passes (e.g. "perf record -o F"),
#   ROUNDS (3): daemon poll cycles measured per size (threatsyncd next to THREATSYNC,
#   or $TS_THREATSYNCD; 0 skips them).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
bin=${1:-${TS_THREATSYNC:-$src/build/threatsync}}
sizes=${SIZES:-10000 100000}
rounds=${ROUNDS:-3}
bind=${TS_THREATSYNCD:-$(dirname "$bin")/threatsyncd}
[ "$rounds" -eq 0 ] || [ -x "$bind" ] || { echo "bench_poll.sh: no threatsyncd at $bind (ROUNDS=0 skips the daemon)" >&2; exit 69; }
changed=${CHANGED:-10}
util="$here/sync_util.py"

[ -x "$bin" ] || { echo "bench_poll.sh: no threatsync binary at $bin" >&2; exit 69; }
for t in curl python3 sqlite3; do
	command -v "$t" >/dev/null || { echo "bench_poll.sh: $t is needed" >&2; exit 69; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-poll.XXXXXX")
. "$here/lib.sh"
cleanup() {
	bench_stop_emu
	[ "${KEEP:-0}" = 1 ] && echo "work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'emu-token\n' >"$work/token"
results=
for n in $sizes; do
	dir="$work/n$n"
	mkdir "$dir"
	bench_start_emu jira "$dir/emu.log" || exit 1
	cat >"$dir/bench.conf" <<CONF
database = "$dir/bench.db";
library_paths = [ "$src/library" ];
log_level = "notice";
connectors = (
	{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "$url";
	  email = "threatsync@example.com"; token_file = "$work/token";
	  concurrency = 8; rate_per_second = 100.0; burst = 100; poll_interval_s = 60; }
);
projects = ( { slug = "bench"; connector = "jira"; tracker_project = "SEC"; } );
CONF
	c="$bin -c $dir/bench.conf"
	$c db migrate >/dev/null
	$c project add bench >/dev/null
	python3 "$here/sync_poll.py" seed "$url" "$dir/bench.db" bench "$n" "$changed" "$dir/seed.json"
	python3 "$here/sync_poll.py" change "$url" "$dir/seed.json"
	python3 "$here/sync_poll.py" measure "$n" "$changed" "$url" "$dir/bench.db" "$dir/bench.conf" \
		"$bin" "$dir" "$dir/result.json" ||
		{ echo "bench_poll.sh: a sync pass failed ($n tickets):" >&2; cat "$dir"/sync-*.log >&2; exit 1; }
	if [ "$rounds" -gt 0 ]; then
		python3 "$here/sync_poll.py" daemon "$bind" "$dir/bench.conf" "$dir/seed.json" "$url" \
			"$dir" "$dir/result.json" "$rounds" ||
			{ echo "bench_poll.sh: the daemon run failed ($n tickets), see $dir/daemon.log" >&2; exit 1; }
	fi
	bench_stop_emu
	results="$results $dir/result.json"
done
python3 "$here/sync_poll.py" table $results
