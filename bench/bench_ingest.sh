#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Benchmark of `threatsync ingest` on large reports, in bounded memory:
#   - a generated SARIF log of about 100 MB (250,000 results with rules, CWE
#     tags, locations and fingerprints) against `jq -c '.runs[].results[]'` on
#     the same file;
#   - a generated OWASP ZAP XML report of about 100 MB (400,000 instances)
#     against `xmllint --stream --noout`.
# Each ingest goes into a fresh database holding a project whose model maps
# the reports' paths and URLs to 100 components. A second baseline is the
# floor of what the ingest must write: the sqlite3 shell copying the rows the
# ingest wrote (scans, findings, their history, scan links, correlations,
# verification history, notices) into a copy of the database taken before
# it, in one transaction, with the connection settings of the ingest.
# Reports wall time, peak RSS and the ratios to the baselines of the same
# run. See bench/README.md.
#
# Usage: bench/bench_ingest.sh [THREATSYNC_BINARY] [SARIF_RESULTS] [ZAP_INSTANCES]
#   THREATSYNC_BINARY defaults to $TS_THREATSYNC, else build/threatsync.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
bin=${1:-${TS_THREATSYNC:-$src/build/threatsync}}
sarif_n=${2:-250000}
zap_n=${3:-400000}
library=${TS_LIBRARY:-$src/library}

[ -x "$bin" ] || { echo "bench_ingest.sh: no threatsync binary at $bin" >&2; exit 69; }
for tool in jq xmllint python3 sqlite3; do
	command -v $tool >/dev/null || {
		echo "bench_ingest.sh: $tool is needed (Debian: jq, libxml2-utils, python3, sqlite3)" >&2
		exit 69
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench-ingest.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cat >"$work/bench.conf" <<CONF
database = "$work/unused.db";
library_paths = [ "$library" ];
CONF

# measure CMD...: runs CMD once in a fresh python process (so its
# RUSAGE_CHILDREN is that command's alone) and prints "wall_seconds max_rss_kib".
measure() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
with open("/dev/null", "w") as null:
    rc = subprocess.call(sys.argv[1:], stdout=null)
wall = time.monotonic() - t
if rc != 0:
    sys.exit("bench: %s exited %d" % (" ".join(sys.argv[1:4]), rc))
print("%.4f %d" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}

# The copy: the store's settings (WAL from the file, synchronous NORMAL,
# foreign keys on) and the page cache an ingest uses (64 MiB).
cat >"$work/copy.sql" <<'SQL'
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
ATTACH 'INGESTED' AS g;
BEGIN;
INSERT INTO scans SELECT * FROM g.scans;
INSERT INTO findings SELECT * FROM g.findings;
INSERT INTO finding_history SELECT * FROM g.finding_history;
INSERT INTO scan_findings SELECT * FROM g.scan_findings;
INSERT INTO correlations SELECT * FROM g.correlations;
INSERT INTO verification_history SELECT * FROM g.verification_history;
INSERT INTO outbox SELECT * FROM g.outbox WHERE id > (SELECT coalesce(max(id), 0) FROM main.outbox);
COMMIT;
SQL

python3 "$here/gen_reports.py" model 100 "$work/model.json"
python3 "$here/gen_reports.py" sarif "$sarif_n" "$work/report.sarif"
python3 "$here/gen_reports.py" zap "$zap_n" "$work/report.xml"

# fresh_db NAME: a database with the project, its model and its threats.
fresh_db() {
	db="$work/$1.db"
	rm -f "$db" "$db-wal" "$db-shm"
	"$bin" -c "$work/bench.conf" --db "$db" project add bench >/dev/null
	"$bin" -c "$work/bench.conf" --db "$db" model import bench "$work/model.json" >/dev/null
	"$bin" -c "$work/bench.conf" --db "$db" generate bench >/dev/null
	echo "$db"
}

printf '%-6s %8s %9s %9s %9s %8s %9s %9s %9s %10s %9s %9s\n' format MB results base_s ingest_s ratio base_MiB peak_MiB rss/file stored sqlite3_s ing/sqlite3
run() {
	label=$1 file=$2 expect=$3
	shift 3
	set -- $(measure "$@")
	base_s=$1 base_rss=$2
	db=$(fresh_db "$label")
	pre="$work/pre-$label.db"
	cp "$db" "$pre"
	set -- $(measure "$bin" -c "$work/bench.conf" --db "$db" ingest bench "$file")
	ing_s=$1 ing_rss=$2
	sed "s|INGESTED|$db|" "$work/copy.sql" >"$work/copy-$label.sql"
	set -- $(measure sqlite3 "$pre" ".read $work/copy-$label.sql")
	copy_s=$1
	copied=$(sqlite3 "$pre" 'SELECT count(*) FROM findings')
	stored=$(sqlite3 "$db" 'SELECT count(*) FROM findings')
	[ "$copied" = "$stored" ] || {
		echo "bench_ingest.sh: the copy holds $copied findings, the ingest stored $stored" >&2
		exit 70
	}
	rm -f "$pre" "$pre-wal" "$pre-shm"
	size=$(stat -c %s "$file")
	python3 - "$label" "$size" "$expect" "$base_s" "$ing_s" "$base_rss" "$ing_rss" "$stored" "$copy_s" <<'PY'
import sys
label, size, n, base, ing, brss, irss, stored, copy = sys.argv[1:]
size, base, ing, brss, irss, copy = int(size), float(base), float(ing), int(brss), int(irss), float(copy)
print("%-6s %8.1f %9s %9.2f %9.2f %8.2f %9.1f %9.1f %9.2f %10s %9.2f %9.2f" % (
    label, size / 1e6, n, base, ing, ing / base if base > 0 else 0, brss / 1024.0,
    irss / 1024.0, irss * 1024.0 / size, stored, copy, ing / copy if copy > 0 else 0))
PY
}

run sarif "$work/report.sarif" "$sarif_n" jq -c '.runs[].results[]' "$work/report.sarif"
run zap "$work/report.xml" "$zap_n" xmllint --stream --noout "$work/report.xml"
echo "ratio: ingest wall time / baseline (goal <= 1.0); rss/file: peak RSS / file size (goal <= 2.5)"
echo "sqlite3_s: the sqlite3 shell copying the rows the ingest wrote (the floor of the writes); ing/sqlite3: ingest / that"
