#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Push throughput of the tracker sync: TASKS generated tasks pushed to the Jira
# Cloud emulator (and, with TRACKERS="jira gitlab", the GitLab one) by one
# `threatsync sync --once`, against the baseline of the same run: curl
# (--parallel, same concurrency) sending the same create requests to a fresh
# emulator. Prints tasks/s of both, their ratio and the requests sent per task.
# See bench/README.md.
#
# Usage: bench/bench_push.sh [THREATSYNC]
#   THREATSYNC defaults to $TS_THREATSYNC, else build/threatsync.
#   Environment: TASKS (10000), CONCURRENCY (8), TRACKERS ("jira"; "jira gitlab"
#   adds GitLab), RATE/BURST (the connector's token bucket, default 100000/s and
#   100000: above the emulators' capacity), RUN_TIMEOUT (300 s per sync pass),
#   KEEP=1 keeps the work directory,
#   SYNC_WRAP: a command prefix for the threatsync pass (e.g. "perf record -g -o F"),
#   DB_SQL: SQL run on the database once the tasks are generated (to evaluate a
#   schema change, e.g. an index; the table names it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
bin=${1:-${TS_THREATSYNC:-$src/build/threatsync}}
tasks=${TASKS:-10000}
# The connector's token bucket is set far above what the emulator can serve,
# so that the concurrency limit is what both runs share (as curl --parallel-max).
rate=${RATE:-100000.0}
burst=${BURST:-100000}
conc=${CONCURRENCY:-8}
trackers=${TRACKERS:-jira}
run_timeout=${RUN_TIMEOUT:-300}
util="$here/sync_util.py"

[ -x "$bin" ] || { echo "bench_push.sh: no threatsync binary at $bin" >&2; exit 69; }
for t in curl python3 sqlite3 timeout; do
	command -v "$t" >/dev/null || { echo "bench_push.sh: $t is needed" >&2; exit 69; }
done
for t in $trackers; do
	case $t in jira | gitlab) ;; *) echo "bench_push.sh: unknown tracker '$t'" >&2; exit 64 ;; esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-push.XXXXXX")
. "$here/lib.sh"
cleanup() {
	bench_stop_emu
	[ "${KEEP:-0}" = 1 ] && echo "work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_emu TRACKER: a fresh, empty emulator on a free loopback port; sets url.
start_emu() {
	bench_start_emu "$1" "$work/emu-$1.log" || exit 1
}

# write_conf JIRA_URL GITLAB_URL: the configuration (both URLs are rewritten
# before each run; the projects stay mapped so the outbox rows stay due).
# Its loop variable is its own: shell functions share the caller's variables.
printf 'emu-token\n' >"$work/token"
write_conf() {
	{
		cat <<CONF
database = "$work/bench.db";
library_paths = [ "$src/library" ];
log_level = "notice";
classification = ( { name = "all"; when = "true"; class = "critical"; } );
CONF
		echo "connectors = ("
		sep=
		for tr in $trackers; do
			case $tr in
			jira)
				printf '%s\t{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "%s";\n' "$sep" "$1"
				printf '\t  email = "threatsync@example.com"; token_file = "token";\n' ;;
			gitlab)
				printf '%s\t{ name = "gitlab"; type = "gitlab"; base_url = "%s"; token_file = "token";\n' "$sep" "$2" ;;
			esac
			printf '\t  concurrency = %d; rate_per_second = %s; burst = %d; max_attempts = 10;\n' \
				"$conc" "$rate" "$burst"
			printf '\t  poll_interval_s = 60; }\n'
			sep=,
		done
		echo ");"
		echo "projects = ("
		sep=
		for tr in $trackers; do
			case $tr in
			jira) printf '%s\t{ slug = "bench-jira"; connector = "jira"; tracker_project = "SEC"; }\n' "$sep" ;;
			gitlab) printf '%s\t{ slug = "bench-gitlab"; connector = "gitlab"; tracker_project = "1"; }\n' "$sep" ;;
			esac
			sep=,
		done
		echo ");"
	} >"$work/bench.conf"
}

# The tasks: a synthetic model (bench/gen_model.py) generated under a policy
# that puts everything in scope gives ~17 tasks per component; the outbox of
# each connector is then cut to exactly TASKS create rows (the other tasks
# stay unpushed). The poll cursor is set one hour ahead, so the pass's poll
# phase is one empty search (bench_poll.sh measures polling).
write_conf http://127.0.0.1:9 http://127.0.0.1:9
c="$bin -c $work/bench.conf"
components=$((tasks / 15 + 20))
python3 "$here/gen_model.py" "$components" "$work/model.json"
$c db migrate >/dev/null
future_jira=$(python3 -c 'import time; print(time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(time.time() + 3600)))')
future_gitlab=$(python3 -c 'import time; print(time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600)))')
now=$(python3 -c 'import time; print(time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))')
for t in $trackers; do
	$c project add "bench-$t" >/dev/null
	$c model import "bench-$t" "$work/model.json" >/dev/null
	$c generate "bench-$t" >/dev/null
	sqlite3 "$work/bench.db" "DELETE FROM outbox WHERE connector = '$t' AND id NOT IN
		(SELECT id FROM outbox WHERE connector = '$t' AND op = 'create' ORDER BY id LIMIT $tasks);"
	n=$(sqlite3 "$work/bench.db" "SELECT count(*) FROM outbox WHERE connector = '$t' AND state = 'pending'")
	[ "$n" -eq "$tasks" ] || { echo "bench_push.sh: $components components gave only $n $t tasks (< $tasks)" >&2; exit 1; }
	case $t in
	jira) scope=SEC cursor=$future_jira ;;
	gitlab) scope=1 cursor=$future_gitlab ;;
	esac
	sqlite3 "$work/bench.db" "INSERT INTO sync_cursors VALUES ('$t', '$scope', '$cursor', '$now');"
done

if [ -n "${DB_SQL:-}" ]; then
	sqlite3 "$work/bench.db" "$DB_SQL"
	echo "database changed before the runs: $DB_SQL"
fi

pairs=
for t in $trackers; do
	# threatsync, on an empty emulator.
	start_emu "$t"
	case $t in jira) write_conf "$url" http://127.0.0.1:9 ;; gitlab) write_conf http://127.0.0.1:9 "$url" ;; esac
	python3 "$util" measure "$work/run-$t.json" --stdout "$work/report-$t.json" \
		--stderr "$work/sync-$t.log" -- timeout "$run_timeout" ${SYNC_WRAP:-} $c sync --once --connector "$t" --json ||
		{ echo "bench_push.sh: threatsync sync --once failed for $t:" >&2; tail -20 "$work/sync-$t.log" >&2; exit 1; }
	python3 "$here/sync_push.py" analyze "$url" "$t" "$tasks" "$work/run-$t.json" \
		"$work/report-$t.json" "$work/analyze-$t.json" "$work/reqs-$t.jsonl"
	bench_stop_emu
	# The baseline: the same create requests from curl, on a fresh emulator.
	start_emu "$t"
	python3 "$here/sync_push.py" baseline "$url" "$t" "$work/reqs-$t.jsonl" "$conc" "$work" \
		"$work/baseline-$t.json"
	bench_stop_emu
	pairs="$pairs $work/analyze-$t.json $work/baseline-$t.json"
done
python3 "$here/sync_push.py" table "$tasks" "$conc" $pairs
