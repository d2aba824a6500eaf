#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of the daemon's webhook endpoint: wrk on 127.0.0.1 POSTs signed
# Jira issue_updated bodies (pre-signed here, rotated by bench/webhook_post.lua
# with a distinct delivery id per request) to POST /hooks/jira/bench, against
# a database of linked tickets; the baseline of the same run is wrk against
# GET /healthz (same endpoint, no body, no database). Afterwards it checks that
# every acknowledged delivery is in the database. See bench/README.md.
#
# Usage: bench/bench_webhook.sh [THREATSYNCD] [THREATSYNC]
#   binaries default to $TS_THREATSYNCD / $TS_THREATSYNC, else build/.
#   Environment: DURATION (10s), THREADS (2), CONNECTIONS (16), TICKETS (200),
#   VERSIONS (10 states per ticket), KEEP=1 keeps the work directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
daemon=${1:-${TS_THREATSYNCD:-$src/build/threatsyncd}}
cli=${2:-${TS_THREATSYNC:-$src/build/threatsync}}
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNECTIONS:-16}
tickets=${TICKETS:-200}
versions=${VERSIONS:-10}

for b in "$daemon" "$cli"; do
	[ -x "$b" ] || { echo "bench_webhook.sh: no binary at $b" >&2; exit 69; }
done
command -v wrk >/dev/null || { echo "bench_webhook.sh: wrk is needed" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-webhook.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	[ "${KEEP:-0}" = 1 ] && echo "work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT INT TERM

secret="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$secret" >"$work/hook_secret"
printf 'unused-token\n' >"$work/token"
. "$here/lib.sh"
port=$(bench_free_port)
db="$work/bench.db"
cat >"$work/bench.conf" <<CONF
database = "$db";
library_paths = [ "$src/tests/data/generate/lib" ];
log_level = "notice";
shutdown_timeout_ms = 5000;
http = { listen = "127.0.0.1:$port"; max_body_bytes = 1048576; };
connectors = (
	{ name = "bench"; type = "jira"; flavor = "cloud"; base_url = "http://127.0.0.1:9";
	  email = "threatsync@example.com"; token_file = "token";
	  webhook_secret_file = "hook_secret"; poll_interval_s = 0; }
);
projects = ( { slug = "bench"; connector = "bench"; tracker_project = "SEC"; } );
classification = ( { name = "all"; when = "true"; class = "critical"; } );
CONF

# A model whose tasks get linked tickets (4 tasks per web_app component).
python3 - "$work/model.json" "$tickets" <<'PY'
import json, sys
n = max(1, (int(sys.argv[2]) + 3) // 4)
comps = [{"id": "customer", "type": "user", "name": "Customer", "trust_zone": "internet"}]
flows = []
for i in range(n):
    comps.append({"id": f"web{i}", "type": "web_app", "name": f"Web {i}", "trust_zone": "dmz",
                  "properties": {"internet_facing": True, "authenticates_users": True,
                                 "handles_pii": True}})
    flows.append({"id": f"f{i}", "source": "customer", "destination": f"web{i}",
                  "protocol": "HTTPS"})
json.dump({"format": "threatsync-model/1", "project": {"name": "bench", "description": "bench"},
           "trust_zones": [{"id": "internet", "name": "Internet", "trust_level": 0},
                           {"id": "dmz", "name": "DMZ", "trust_level": 50}],
           "components": comps, "flows": flows}, open(sys.argv[1], "w"))
PY
c="$cli -c $work/bench.conf"
$c db migrate >/dev/null
$c project add bench >/dev/null
$c model import bench "$work/model.json" >/dev/null
$c generate bench >/dev/null

# Link a ticket to every task (as a sync pass would have), mark the outbox
# done (no tracker here), and pre-sign VERSIONS successive states of each.
python3 - "$db" "$secret" "$versions" "$work/bodies.tsv" <<'PY'
import hashlib, hmac, json, sqlite3, sys
db, secret, versions, out = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
con = sqlite3.connect(db)
rows = con.execute("SELECT c.id, c.project_id, c.uid, p.slug FROM countermeasures c JOIN projects p"
                   " ON p.id = c.project_id WHERE c.state = 'active' AND c.in_scope = 1"
                   " ORDER BY c.id").fetchall()
now = "2026-01-01T00:00:00.000Z"
tickets = []
for n, (cm, project, uid, slug) in enumerate(rows, 1):
    marker = "threatsync-" + hashlib.sha256(f"{slug}/{uid}".encode()).hexdigest()[:16]
    key = f"SEC-{n}"
    cur = con.execute("INSERT INTO tickets (project_id, connector, marker, remote_key, remote_id,"
                      " remote_status, remote_status_category, remote_updated, created_at,"
                      " updated_at) VALUES (?, 'bench', ?, ?, ?, 'To Do', 'new',"
                      " '2026-01-01T00:00:00.000+0000', ?, ?)",
                      (project, marker, key, str(10000 + n), now, now))
    con.execute("UPDATE countermeasures SET ticket_id = ? WHERE id = ?", (cur.lastrowid, cm))
    tickets.append((key, marker, 10000 + n))
con.execute("UPDATE outbox SET state = 'done'")
con.commit()
con.close()
states = [("In Progress", "indeterminate", None), ("Done", "done", "Done"), ("To Do", "new", None)]
filler = "Validate and encode all output. " * 40
with open(out, "w") as f:
    for v in range(versions):
        name, cat, res = states[v % 3]
        for key, marker, iid in tickets:
            body = {"timestamp": 1767225600000 + v * 1000, "webhookEvent": "jira:issue_updated",
                    "issue_event_type_name": "issue_generic",
                    "user": {"self": "https://jira.example/rest/api/2/user?username=alice",
                             "name": "alice", "emailAddress": "alice@example.com",
                             "displayName": "Alice", "active": True},
                    "issue": {"id": str(iid), "key": key,
                              "self": f"https://jira.example/rest/api/2/issue/{iid}",
                              "fields": {"summary": f"Countermeasure for {key}",
                                         "description": filler,
                                         "labels": ["threatsync", marker, "security"],
                                         "issuetype": {"id": "10001", "name": "Task"},
                                         "priority": {"id": "3", "name": "Medium"},
                                         "project": {"id": "10000", "key": "SEC"},
                                         "status": {"name": name, "id": str(v % 3 + 1),
                                                    "statusCategory": {"key": cat}},
                                         "resolution": {"name": res} if res else None,
                                         "updated": "2026-01-01T00:%02d:%02d.000+0000"
                                                    % (1 + v // 60, v % 60)}},
                    "changelog": {"id": str(v), "items": [{"field": "status",
                                                           "toString": name}]}}
            raw = json.dumps(body, separators=(",", ":"))
            sig = hmac.new(secret, raw.encode(), hashlib.sha256).hexdigest()
            f.write(f"sha256={sig}\t{raw}\n")
PY
bodies=$(wc -l <"$work/bodies.tsv")
body_bytes=$(awk -F'\t' '{ n += length($2) } END { printf "%d", n / NR }' "$work/bodies.tsv")

"$daemon" -c "$work/bench.conf" 2>"$work/daemon.log" &
pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "bench_webhook.sh: the daemon did not start" >&2; cat "$work/daemon.log" >&2; exit 1; }
	sleep 0.1
done

sql() { python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=30); print(c.execute(sys.argv[2]).fetchone()[0])' "$db" "$1"; }

# The baseline and the webhooks, each once, same threads and connections.
base=$(wrk -t"$threads" -c"$conns" -d"$duration" -s /dev/stdin "http://127.0.0.1:$port/healthz" <<'LUA' | grep '^RESULT'
function done(s, l, r)
	io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
		s.requests, s.requests / (s.duration / 1e6), l:percentile(50) / 1000, l:percentile(99) / 1000,
		l.max / 1000, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
LUA
)
before=$(sql "SELECT count(*) FROM webhook_deliveries")
hooks=$(WEBHOOK_BODIES="$work/bodies.tsv" wrk -t"$threads" -c"$conns" -d"$duration" \
	-s "$here/webhook_post.lua" "http://127.0.0.1:$port/hooks/jira/bench" | grep '^RESULT')
kill -TERM "$pid"
wait "$pid" || { echo "bench_webhook.sh: the daemon did not stop cleanly" >&2; exit 1; }
pid=
stored=$(( $(sql "SELECT count(*) FROM webhook_deliveries") - before ))
history=$(sql "SELECT count(*) FROM status_history WHERE source = 'webhook'")

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ok=$(( $(field "$hooks" requests) - $(field "$hooks" non2xx) ))
echo "webhook benchmark: $threads wrk threads, $conns connections, $duration each, $bodies pre-signed bodies (~$body_bytes bytes), $tickets tickets"
printf '%-22s %10s %10s %10s %10s %8s %8s\n' endpoint requests req_per_s p50_ms p99_ms non2xx sockerr
for row in "GET /healthz|$base" "POST /hooks/jira|$hooks"; do
	name=${row%%|*}
	r=${row#*|}
	printf '%-22s %10s %10s %10s %10s %8s %8s\n' "$name" "$(field "$r" requests)" "$(field "$r" rps)" \
		"$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" non2xx)" "$(field "$r" socket_errors)"
done
echo "acknowledged (2xx): $ok; deliveries committed: $stored; status changes applied (history rows): $history"
if [ "$stored" -lt "$ok" ]; then
	echo "bench_webhook.sh: FAIL: $((ok - stored)) acknowledged deliveries are not in the database" >&2
	exit 1
fi
