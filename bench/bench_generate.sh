#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `model import` + `generate` on synthetic models of 100, 1,000 and
# 10,000 components (five flows each), with `jq` reading the same model and the
# sqlite3 shell copying the generated rows as the baselines of the same run.
# Reports wall time (the median of GEN_RUNS runs, default 3) and peak RSS.
# See bench/README.md.
#
# Usage: bench/bench_generate.sh [THREATSYNC_BINARY] [SIZES...]
#   THREATSYNC_BINARY defaults to $TS_THREATSYNC, else build/threatsync.
#   SIZES default to "100 1000 10000". The library is $TS_LIBRARY, else the
#   source tree's library/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
bin=${1:-${TS_THREATSYNC:-$src/build/threatsync}}
[ $# -gt 0 ] && shift
sizes=${*:-100 1000 10000}
library=${TS_LIBRARY:-$src/library}

[ -x "$bin" ] || { echo "bench_generate.sh: no threatsync binary at $bin" >&2; exit 69; }
command -v jq >/dev/null || { echo "bench_generate.sh: jq is needed for the baseline" >&2; exit 69; }
command -v sqlite3 >/dev/null || { echo "bench_generate.sh: sqlite3 is needed for the baseline" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cat >"$work/bench.conf" <<CONF
database = "$work/unused.db";
library_paths = [ "$library" ];
classification = (
	{ name = "internet-facing-personal-data"; when = "model.any(c, c.internet_facing && c.handles_pii)"; class = "critical"; }
);
CONF

# measure LABEL CMD...: runs CMD once in a fresh python process (so its
# RUSAGE_CHILDREN is that command's alone) and prints "wall_seconds max_rss_kib".
measure() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
with open("/dev/null", "w") as null:
    rc = subprocess.call(sys.argv[1:], stdout=null)
wall = time.monotonic() - t
if rc != 0:
    sys.exit("bench: %s exited %d" % (" ".join(sys.argv[1:3]), rc))
print("%.4f %d" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}

# regen_once DB [--full]: one `generate` (the regeneration), printing "wall_s
# generation_ms snapshot_ms regenerated_components".
regen_once() {
	python3 - "$bin" "$work/bench.conf" "$@" <<'PY'
import json, os, re, subprocess, sys, time
ts, conf, db = sys.argv[1:4]
env = dict(os.environ, THREATSYNC_TIMING="1")
t = time.monotonic()
p = subprocess.run([ts, "-c", conf, "--db", db, "generate", "bench", "--json"] + sys.argv[4:],
                   capture_output=True, text=True, env=env)
wall = time.monotonic() - t
if p.returncode != 0:
    sys.exit("bench: generate exited %d: %s" % (p.returncode, p.stderr))
m = re.search(r"generation ([0-9.]+) ms, metrics snapshot ([0-9.]+) ms", p.stderr)
reg = json.loads(p.stdout)["regenerated"]
print("%.4f %s %s %d" % (wall, m.group(1), m.group(2), reg["components"]))
PY
}

# regen_median DB [--full]: regen_once on $REGEN_RUNS (default 5) copies of
# DB (each run starts from the same state), the run of median wall time.
regen_median() {
	db0=$1
	shift
	for i in $(seq 1 "${REGEN_RUNS:-5}"); do
		cp "$db0" "$db0.run"
		rm -f "$db0.run-wal" "$db0.run-shm"
		if [ -f "$db0-wal" ]; then cp "$db0-wal" "$db0.run-wal"; fi
		regen_once "$db0.run" "$@"
	done | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
	rm -f "$db0.run" "$db0.run-wal" "$db0.run-shm"
}

# The second baseline, the floor of what generate writes: the sqlite3 shell
# copying the generated rows (threats, tasks, texts, links, outbox) into a copy
# of the database taken before generate, in one transaction, with the same
# journal mode and synchronous setting.
cat >"$work/copy.sql" <<'SQL'
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
ATTACH 'GENERATED' AS g;
BEGIN;
INSERT INTO countermeasure_texts SELECT * FROM g.countermeasure_texts;
INSERT INTO threats SELECT * FROM g.threats;
INSERT INTO countermeasures SELECT * FROM g.countermeasures;
INSERT INTO threat_countermeasures SELECT * FROM g.threat_countermeasures;
INSERT INTO outbox SELECT * FROM g.outbox;
COMMIT;
SQL

printf '%-10s %8s %10s %10s %10s %8s %10s %10s %10s %10s %8s\n' components flows jq_s import_s generate_s total_s ratio_jq sqlite3_s gen/sqlite3 peak_MiB threats
for n in $sizes; do
	model="$work/model-$n.json"
	db="$work/bench-$n.db"
	python3 "$here/gen_model.py" "$n" "$model"
	"$bin" -c "$work/bench.conf" --db "$db" project add bench >/dev/null
	cp "$db" "$work/empty-$n.db"
	set -- $(measure jq '.components | length' "$model")
	jq_s=$1
	# GEN_RUNS (default 3) runs from the same empty project: import, then
	# generate, then the sqlite3 copy of what that generate wrote into the
	# database as it was before generate. One line per run: import_s
	# generate_s copy_s import_rss generate_rss.
	: >"$work/runs-$n.txt"
	for r in $(seq 1 "${GEN_RUNS:-3}"); do
		rm -f "$db" "$db-wal" "$db-shm"
		cp "$work/empty-$n.db" "$db"
		set -- $(measure "$bin" -c "$work/bench.conf" --db "$db" model import bench "$model")
		imp_s=$1 imp_rss=$2
		rm -f "$work/pre-$n.db" "$work/pre-$n.db-wal" "$work/pre-$n.db-shm"
		cp "$db" "$work/pre-$n.db"
		set -- $(measure "$bin" -c "$work/bench.conf" --db "$db" generate bench)
		gen_s=$1 gen_rss=$2
		sed "s|GENERATED|$db|" "$work/copy.sql" >"$work/copy-$n.sql"
		set -- $(measure sqlite3 "$work/pre-$n.db" ".read $work/copy-$n.sql")
		echo "$imp_s $gen_s $1 $imp_rss $gen_rss" >>"$work/runs-$n.txt"
	done
	threats=$("$bin" -c "$work/bench.conf" --db "$db" threats bench --json --all | jq '.threats | length')
	# Each column's median over the runs.
	python3 - "$n" "$jq_s" "$threats" "$work/runs-$n.txt" <<'PY'
import statistics, sys
n, jq, threats, runs = sys.argv[1:]
rows = [list(map(float, l.split())) for l in open(runs) if l.strip()]
imp, gen, copy = (statistics.median(r[k] for r in rows) for k in range(3))
rss = max(max(r[3], r[4]) for r in rows)
jq = float(jq)
total = imp + gen
print("%-10s %8d %10.3f %10.3f %10.3f %8.3f %10.1f %10.3f %10.1f %10.1f %8s" % (
    n, 5 * int(n), jq, imp, gen, total, total / jq if jq > 0 else 0, copy,
    gen / copy if copy > 0 else 0, rss / 1024.0, threats))
PY
	rm -f "$work/pre-$n.db" "$work/pre-$n.db-wal" "$work/pre-$n.db-shm" "$work/empty-$n.db"
	# Regeneration after one component changed (renamed, and whether it
	# authenticates users toggled), against a full regeneration (--full) of
	# the same model in the same run.
	python3 - "$model" "$work/changed-$n.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m["components"][len(m["components"]) // 2]
c["name"] += " (changed)"
p = c.setdefault("properties", {})
p["authenticates_users"] = not p.get("authenticates_users", False)
json.dump(m, open(sys.argv[2], "w"))
PY
	"$bin" -c "$work/bench.conf" --db "$db" model import bench "$work/changed-$n.json" >/dev/null
	regen=$(regen_median "$db")
	"$bin" -c "$work/bench.conf" --db "$db" model import bench "$model" >/dev/null
	"$bin" -c "$work/bench.conf" --db "$db" generate bench >/dev/null
	full=$(regen_median "$db" --full)
	echo "regen $n $regen $full" >>"$work/regen.txt"
done
# One line per size: components, then for the regeneration after one change
# and for a full regeneration: wall seconds, generation ms, metrics snapshot
# ms, components regenerated (THREATSYNC_TIMING and the summary).
echo
printf '%-6s %10s %10s %8s %8s %11s %10s %8s %8s %11s\n' regen components changed_s gen_ms snap_ms regenerated full_s gen_ms snap_ms regenerated
while read -r tag n a b c d e f g h; do
	printf '%-6s %10s %10s %8s %8s %11s %10s %8s %8s %11s\n' "$tag" "$n" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
done <"$work/regen.txt"
