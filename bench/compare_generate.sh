#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks that two threatsync binaries generate byte-identical stored rows and
# listings from the same inputs, so that a change to generation cannot change
# the content_hash, text_hash or body of existing rows (which would make every
# database queue a ticket update for every task after an upgrade).
#
# Usage: bench/compare_generate.sh OLD_BINARY NEW_BINARY [COMPONENTS]
#   COMPONENTS (default 1000) sizes the synthetic model of bench/gen_model.py.
#   The library is $TS_LIBRARY, else the source tree's library/.
#
# For each binary, on a fresh database with tracked projects (the outbox is
# written): import the synthetic model (with a few component names that need
# escaping), generate; record overrides, import a second version (components
# removed, properties changed), generate again; in other projects, import a
# model with manual threats and countermeasures, and OTM then Threat Dragon
# models, generating after each. After every generation, the stored model
# versions and their elements, the rows of threats, countermeasures, links,
# texts, outbox and status history (all but timestamps and row ids), the
# generate summary and the `threats`/`countermeasures --json --all` listings
# are dumped and compared. Finally NEW regenerates OLD's first
# database: it must report no change at all. Exits 0 when everything matches,
# 1 with a diff otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
[ $# -ge 2 ] || { echo "usage: compare_generate.sh OLD_BINARY NEW_BINARY [COMPONENTS]" >&2; exit 64; }
old=$1 new=$2 n=${3:-1000}
library=${TS_LIBRARY:-$src/library}
for b in "$old" "$new"; do
	[ -x "$b" ] || { echo "compare_generate.sh: no threatsync binary at $b" >&2; exit 69; }
done
command -v sqlite3 >/dev/null || { echo "compare_generate.sh: the sqlite3 CLI is needed" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ts-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
echo "not-a-token" >"$work/token"
cat >"$work/compare.conf" <<CONF
database = "$work/unused.db";
library_paths = [ "$library" ];
connectors = (
	{ name = "gl"; type = "gitlab"; base_url = "http://127.0.0.1:9"; token_file = "$work/token"; }
);
projects = (
	{ slug = "bench"; connector = "gl"; tracker_project = "acme/bench"; },
	{ slug = "manual"; connector = "gl"; tracker_project = "acme/manual"; },
	{ slug = "foreign"; connector = "gl"; tracker_project = "acme/foreign"; }
);
classification = (
	{ name = "internet-facing-personal-data"; when = "model.any(c, c.internet_facing && c.handles_pii)"; class = "critical"; }
);
CONF

python3 "$here/gen_model.py" "$n" "$work/v1.json"
# Names that need escaping in the stored JSON (quote, backslash, control
# characters, DEL, non-ASCII, a slash), on a few components.
python3 - "$work/v1.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for i, c in enumerate(m["components"][:6]):
    c["name"] = 'n%d "q" \\b\t\n\r\b\f\u0001\u001f\u007f /s/ \u00e9\u2603\u2028 \ud83d\ude00' % i
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY
# Version 2: every 20th component gone (with its flows), every 7th one
# internet-facing, every 3rd flow unencrypted.
python3 - "$work/v1.json" "$work/v2.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
gone = {c["id"] for i, c in enumerate(m["components"]) if i % 20 == 19}
m["components"] = [c for c in m["components"] if c["id"] not in gone]
for i, c in enumerate(m["components"]):
    if i % 7 == 0:
        c["properties"]["internet_facing"] = True
m["flows"] = [f for f in m["flows"] if f["source"] not in gone and f["destination"] not in gone]
for i, f in enumerate(m["flows"]):
    if i % 3 == 0:
        f["properties"]["encrypted"] = False
json.dump(m, open(sys.argv[2], "w"), indent=1)
PY

# dump LABEL DB SLUG BINARY: the state after a generation, timestamps left out.
dump() {
	out="$work/$1"
	sqlite3 "$2" >"$out.db.txt" <<SQL
.mode list
.separator " | "
SELECT 'threat', t.uid, t.library_id, t.component_key, t.flow_key, t.title, t.stride, t.cwe,
       t.capec, t.severity, t.likelihood, t.score, t.in_scope, t.origin, t.state,
       t.removed_reason, t.content_hash, t.first_version, t.last_version
  FROM threats t JOIN projects p ON p.id = t.project_id WHERE p.slug = '$3' ORDER BY t.uid;
SELECT 'cm', c.uid, c.library_id, c.component_key, c.title, c.priority, c.status,
       c.satisfied_by, c.in_scope, c.score, c.due_date, c.body, c.content_hash, c.text_hash,
       c.origin, c.state, c.removed_reason, c.first_version, c.last_version
  FROM countermeasures c JOIN projects p ON p.id = c.project_id WHERE p.slug = '$3'
  ORDER BY c.uid;
SELECT 'link', t.uid, c.uid FROM threat_countermeasures l
  JOIN threats t ON t.id = l.threat_id JOIN countermeasures c ON c.id = l.countermeasure_id
  JOIN projects p ON p.id = t.project_id WHERE p.slug = '$3' ORDER BY t.uid, c.uid;
SELECT 'text', hash, body FROM countermeasure_texts ORDER BY hash;
SELECT 'model', v.version, v.content_hash, v.format, v.source_name, v.document, v.risk_class,
       v.class_rule
  FROM model_versions v JOIN projects p ON p.id = v.project_id WHERE p.slug = '$3'
  ORDER BY v.version;
SELECT 'component', v.version, c.key, c.type, c.name, c.trust_zone, c.parent, c.tags,
       c.properties, c.code
  FROM components c JOIN model_versions v ON v.id = c.model_version_id
  JOIN projects p ON p.id = v.project_id WHERE p.slug = '$3' ORDER BY v.version, c.key;
SELECT 'flow', v.version, f.key, f.source, f.destination, f.protocol, f.properties
  FROM data_flows f JOIN model_versions v ON v.id = f.model_version_id
  JOIN projects p ON p.id = v.project_id WHERE p.slug = '$3' ORDER BY v.version, f.key;
SELECT 'zone', v.version, z.key, z.name, z.trust_level
  FROM trust_zones z JOIN model_versions v ON v.id = z.model_version_id
  JOIN projects p ON p.id = v.project_id WHERE p.slug = '$3' ORDER BY v.version, z.key;
SELECT 'asset', v.version, a.key, a.name, a.classification, a.properties
  FROM data_assets a JOIN model_versions v ON v.id = a.model_version_id
  JOIN projects p ON p.id = v.project_id WHERE p.slug = '$3' ORDER BY v.version, a.key;
SELECT 'outbox', o.connector, o.op, c.uid, o.ticket_id, o.payload, o.state
  FROM outbox o JOIN countermeasures c ON c.id = o.countermeasure_id
  JOIN projects p ON p.id = o.project_id WHERE p.slug = '$3' ORDER BY c.uid, o.id;
SELECT 'history', c.uid, h.from_status, h.to_status, h.source, h.reason
  FROM status_history h JOIN countermeasures c ON c.id = h.countermeasure_id
  JOIN projects p ON p.id = c.project_id WHERE p.slug = '$3' ORDER BY c.uid, h.id;
SQL
	"$4" -c "$work/compare.conf" --db "$2" threats "$3" --json --all >"$out.threats.json"
	"$4" -c "$work/compare.conf" --db "$2" countermeasures "$3" --json --all >"$out.cms.json"
}

# scenario NAME BINARY: the whole sequence on a fresh database.
scenario() {
	db="$work/$1.db"
	b=$2
	run() { "$b" -c "$work/compare.conf" --db "$db" "$@"; }
	run project add bench >/dev/null
	run project add manual >/dev/null
	run project add foreign >/dev/null
	run model import bench "$work/v1.json" >/dev/null
	run generate bench --json >"$work/$1.gen1.json"
	dump "$1.1" "$db" bench "$b"
	cp "$db" "$work/$1.v1.db"
	run override bench C-RATE-LIMITING@c000002 --not-applicable --reason "behind the gateway" \
		>/dev/null
	run override bench T-API-BFLA@c000001 --accept-risk --reason "accepted" \
		--expires "$(date -u -d "+90 days" +%Y-%m-%d)" >/dev/null
	run model import bench "$work/v2.json" >/dev/null
	run generate bench --json >"$work/$1.gen2.json"
	dump "$1.2" "$db" bench "$b"
	run model import manual "$src/tests/data/generate/shop_manual.json" >/dev/null
	run generate manual --json >"$work/$1.gen3.json"
	dump "$1.3" "$db" manual "$b"
	run model import foreign "$src/tests/data/models/basic.otm.json" >/dev/null
	run generate foreign --json >"$work/$1.gen4.json"
	dump "$1.4" "$db" foreign "$b"
	run model import foreign "$src/tests/data/models/basic.threatdragon.json" >/dev/null 2>&1
	run generate foreign --json >"$work/$1.gen5.json"
	dump "$1.5" "$db" foreign "$b"
}

scenario old "$old"
scenario new "$new"

status=0
for f in gen1.json 1.db.txt 1.threats.json 1.cms.json gen2.json 2.db.txt 2.threats.json \
	2.cms.json gen3.json 3.db.txt 3.threats.json 3.cms.json gen4.json 4.db.txt \
	4.threats.json 4.cms.json gen5.json 5.db.txt 5.threats.json 5.cms.json; do
	if cmp -s "$work/old.$f" "$work/new.$f"; then
		printf 'same       %-16s (%s bytes)\n' "$f" "$(wc -c <"$work/old.$f")"
	else
		printf 'DIFFERENT  %s\n' "$f"
		diff "$work/old.$f" "$work/new.$f" | head -20
		status=1
	fi
done

# The upgrade: NEW regenerating what OLD generated must change nothing.
"$new" -c "$work/compare.conf" --db "$work/old.v1.db" generate bench --json >"$work/upgrade.json"
if python3 - "$work/upgrade.json" <<'PY'; then
import json, sys
changes = json.load(open(sys.argv[1]))["changes"]
moved = {"%s.%s" % (k, c): v for k, d in changes.items() for c, v in d.items() if v}
if moved:
    sys.exit("upgrade changed: %s" % moved)
PY
	echo "same       upgrade regeneration (no change)"
else
	status=1
fi
[ $status -eq 0 ] && echo "compare_generate.sh: identical" || echo "compare_generate.sh: DIFFERENT"
exit $status
