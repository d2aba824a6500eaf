#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job, end to end: set up and build, start the Jira Cloud and GitLab
# emulators, configure threatsync against them (the shipped etc/threatsync.conf,
# rewritten), import and generate the WidgetsRUs example, run threatsyncd until
# the tickets appear in the emulator, move one ticket to Done as a human would,
# wait until polling brings the status back, print `threatsync status`, and stop.
# Idempotent: run/ is wiped first. Exits non-zero when a step fails.
#
# usage: scripts/run.sh [--build-dir DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=build
while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir) build_dir=$2; shift ;;
	*) echo "run.sh: unknown option '$1'" >&2; exit 64 ;;
	esac
	shift
done
cd "$here"

step() { printf '\n== %s\n' "$*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

step "set up and build"
scripts/setup.sh --quiet --build-dir "$build_dir"
case "$build_dir" in /*) bin=$build_dir ;; *) bin=$here/$build_dir ;; esac

run=$here/run
pids=()
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
rm -rf "$run"
mkdir -p "$run/credentials"
chmod 700 "$run/credentials"

step "start the tracker emulators"
start_emulator() { # name script args...
	local name=$1 script=$2
	shift 2
	python3 "$here/tests/emulators/$script" --port 0 --port-file "$run/$name.port" "$@" \
		>"$run/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		[ -s "$run/$name.port" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || die "$name emulator exited (see $run/$name.log)"
		sleep 0.1
	done
	die "$name emulator did not start (see $run/$name.log)"
}
start_emulator jira jira_emulator.py --flavor cloud
start_emulator gitlab gitlab_emulator.py --projects 1:payments/billing-api
jira_port=$(cat "$run/jira.port")
gitlab_port=$(cat "$run/gitlab.port")
echo "Jira Cloud emulator on 127.0.0.1:$jira_port, GitLab emulator on 127.0.0.1:$gitlab_port"

step "write the run configuration"
# The emulators' default credentials; the files stand in for systemd credentials.
for f in jira_token gitlab_token; do printf 'emu-token\n' >"$run/credentials/$f"; done
for f in jira_webhook_secret gitlab_webhook_secret api_tokens; do
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run/credentials/$f"
	echo >>"$run/credentials/$f"
done
chmod 600 "$run/credentials/"*
# The shipped configuration (its classification rules and policies), with the
# paths, trackers and intervals of this run.
python3 - "$here/etc/threatsync.conf" "$run/threatsync.conf" "$run" "$here/library" \
	"$jira_port" "$gitlab_port" <<'EOF'
import re, sys
src, dst, run, lib, jira, gitlab = sys.argv[1:]
text = open(src).read()
subs = [
    (r'database = "[^"]*";', f'database = "{run}/threatsync.db";'),
    (r'#?library_paths = \[[^\]]*\];', f'library_paths = [ "{lib}" ];'),
    (r'listen = "[^"]*";', 'listen = "";'),
    (r'base_url = "https://acme\.atlassian\.net";', f'base_url = "http://127.0.0.1:{jira}";'),
    (r'base_url = "https://gitlab\.acme\.example";', f'base_url = "http://127.0.0.1:{gitlab}";'),
    (r'email = "[^"]*";', 'email = "threatsync@example.com";'),
    (r'poll_interval_s = \d+;', 'poll_interval_s = 5;'),
    (r'rate_per_second = [0-9.]+;', 'rate_per_second = 50.0;'),
]
for pattern, repl in subs:
    text, n = re.subn(pattern, repl, text)
    if n == 0:
        sys.exit(f"run.sh: etc/threatsync.conf no longer has {pattern!r}")
open(dst, "w").write(text)
EOF
export CREDENTIALS_DIRECTORY=$run/credentials
ts=("$bin/threatsync" -c "$run/threatsync.conf")
"${ts[@]}" config check

step "database, project, model, tasks"
"${ts[@]}" db migrate
"${ts[@]}" project add widgetsrus --name "WidgetsRUs web shop"
"${ts[@]}" model import widgetsrus examples/widgetsrus/model.json
"${ts[@]}" generate widgetsrus
tasks=$(sqlite3 "$run/threatsync.db" "SELECT count(*) FROM outbox WHERE op = 'create'")
[ "$tasks" -gt 0 ] || die "generation queued no ticket"

step "start threatsyncd"
"$bin/threatsyncd" -c "$run/threatsync.conf" 2>"$run/threatsyncd.log" &
daemon_pid=$!

emu_count() { # port
	python3 -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_emu/issues" % sys.argv[1]))
print(len(d["issues"] if isinstance(d, dict) else d))' "$1"
}
echo "waiting for $tasks tickets in the Jira emulator"
for _ in $(seq 120); do
	n=$(emu_count "$jira_port")
	[ "$n" -ge "$tasks" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || die "threatsyncd exited (see $run/threatsyncd.log)"
	sleep 0.5
done
[ "$n" -ge "$tasks" ] || die "only $n of $tasks tickets after 60 s (see $run/threatsyncd.log)"
echo "$n tickets in the Jira emulator"

step "a human moves one ticket to Done in Jira"
key=$(sqlite3 "$run/threatsync.db" \
	"SELECT t.remote_key FROM tickets t JOIN countermeasures c ON c.ticket_id = t.id
	 ORDER BY c.score DESC, c.uid LIMIT 1")
task=$(sqlite3 "$run/threatsync.db" \
	"SELECT c.uid FROM tickets t JOIN countermeasures c ON c.ticket_id = t.id
	 WHERE t.remote_key = '$key'")
[ -n "$key" ] || die "no ticket linked in the database"
curl -sf -X POST "http://127.0.0.1:$jira_port/_emu/issues/$key/transition" \
	-H 'Content-Type: application/json' -d '{"to": "Done", "actor": "alice"}' >/dev/null
echo "$key ($task) moved to Done by alice; waiting for the poll (every 5 s)"
for _ in $(seq 60); do
	st=$(sqlite3 "$run/threatsync.db" "SELECT status FROM countermeasures WHERE uid = '$task'")
	[ "$st" = done ] && break
	sleep 0.5
done
[ "$st" = done ] || die "the status of $task did not come back (see $run/threatsyncd.log)"
sqlite3 -separator ' ' "$run/threatsync.db" \
	"SELECT 'history:', from_status, '->', to_status, 'source', source, 'by', actor, 'at',
	 remote_time FROM status_history WHERE source = 'poll' ORDER BY id DESC LIMIT 1"
actor=$(sqlite3 "$run/threatsync.db" \
	"SELECT actor FROM status_history WHERE source = 'poll' ORDER BY id DESC LIMIT 1")
[ "$actor" = alice@example.com ] || die "the poll's history row names '$actor', not alice@example.com"

step "threatsync status widgetsrus"
"${ts[@]}" status widgetsrus

step "stop"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ "$rc" -eq 0 ] || die "threatsyncd exited $rc after SIGTERM (see $run/threatsyncd.log)"
if grep -q emu-token "$run/threatsyncd.log"; then die "the API token appears in the daemon's log"; fi

step "summary"
echo "tasks generated and pushed: $tasks; tickets in the Jira emulator: $n"
echo "$key moved to Done in the tracker by alice came back as '$st' through polling (actor $actor)"
echo "state, configuration and logs: $run"
