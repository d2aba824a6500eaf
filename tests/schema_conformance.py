#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks every `--json` output of the CLI against its JSON Schema in schema/.

usage: schema_conformance.py THREATSYNC SOURCE_DIR

Builds a throw-away database with the built CLI (project add, two model
imports, diff, generate, threats, countermeasures, classify, check, compliance,
override, status,
 project list, config options, library lint, outbox retry, release, report (a
 project's and the portfolio), and `sync --once` against the Jira emulator,
also with a refused token that pauses the connector) and
validates each output with a small validator for the subset of JSON Schema
2020-12 the files in schema/ use. Before that it checks that the validator
rejects deliberately wrong documents, so the test can fail. Standard library
only. Exit 0 when everything conforms, 1 otherwise.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "examples", "$comment"}
KNOWN = ANNOTATIONS | {
    "$defs", "$ref", "type", "properties", "required", "additionalProperties",
    "patternProperties", "propertyNames", "items", "minItems", "maxItems", "uniqueItems",
    "enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern", "oneOf",
    "anyOf", "allOf", "not"}


class SchemaError(Exception):
    """The schema itself uses something this validator does not know."""


def type_ok(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise SchemaError(f"unknown type '{name}'")


def json_equal(a, b):
    """Equality as JSON sees it (true is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


class Validator:
    def __init__(self, root, schema_dir=None):
        self.root = root
        self.schema_dir = schema_dir

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise SchemaError(f"only local $ref is supported, not '{ref}'")
        node = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"$ref '{ref}' does not resolve")
            node = node[part]
        return node

    def validate(self, value, schema, path="$"):
        """Returns a list of error strings (empty when value conforms)."""
        if schema is True:
            return []
        if schema is False:
            return [f"{path}: no value is allowed here"]
        if not isinstance(schema, dict):
            raise SchemaError(f"schema at {path} is not an object")
        unknown = set(schema) - KNOWN
        if unknown:
            raise SchemaError(f"unsupported keyword(s) {sorted(unknown)} (at {path})")
        errs = []
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref.startswith("#"):
                errs += self.validate(value, self.resolve(ref), path)
            else:
                # "other.schema.json#/..." beside this schema: resolved, with the
                # local references inside it, against that file.
                name, _, frag = ref.partition("#")
                if not self.schema_dir or "/" in name:
                    raise SchemaError(f"$ref '{ref}': only a schema beside this one")
                with open(os.path.join(self.schema_dir, name)) as f:
                    other = Validator(json.load(f), self.schema_dir)
                errs += other.validate(value, other.resolve("#" + frag), path)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(type_ok(value, t) for t in types):
                return errs + [f"{path}: expected {'|'.join(types)}, got {json.dumps(value)[:80]}"]
        if "enum" in schema and not any(json_equal(value, e) for e in schema["enum"]):
            errs.append(f"{path}: {json.dumps(value)[:80]} is not one of {schema['enum']}")
        if "const" in schema and not json_equal(value, schema["const"]):
            errs.append(f"{path}: expected {json.dumps(schema['const'])}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                errs.append(f"{path}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                errs.append(f"{path}: {value} > maximum {schema['maximum']}")
        if isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                errs.append(f"{path}: shorter than {schema['minLength']}")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                errs.append(f"{path}: longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                errs.append(f"{path}: '{value[:80]}' does not match /{schema['pattern']}/")
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                errs.append(f"{path}: fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                errs.append(f"{path}: more than {schema['maxItems']} items")
            if schema.get("uniqueItems"):
                seen = [json.dumps(v, sort_keys=True) for v in value]
                if len(set(seen)) != len(seen):
                    errs.append(f"{path}: items are not unique")
            if "items" in schema:
                for i, v in enumerate(value):
                    errs += self.validate(v, schema["items"], f"{path}[{i}]")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            pats = schema.get("patternProperties", {})
            for k in schema.get("required", []):
                if k not in value:
                    errs.append(f"{path}: required member '{k}' is missing")
            for k, v in value.items():
                sub = f"{path}.{k}"
                if "propertyNames" in schema:
                    errs += self.validate(k, schema["propertyNames"], f"{sub} (name)")
                matched = False
                if k in props:
                    matched = True
                    errs += self.validate(v, props[k], sub)
                for p, s in pats.items():
                    if re.search(p, k):
                        matched = True
                        errs += self.validate(v, s, sub)
                if not matched and "additionalProperties" in schema:
                    ap = schema["additionalProperties"]
                    if ap is False:
                        errs.append(f"{path}: member '{k}' is not allowed")
                    else:
                        errs += self.validate(v, ap, sub)
        if "allOf" in schema:
            for s in schema["allOf"]:
                errs += self.validate(value, s, path)
        if "anyOf" in schema:
            if not any(not self.validate(value, s, path) for s in schema["anyOf"]):
                errs.append(f"{path}: matches none of anyOf")
        if "oneOf" in schema:
            n = sum(1 for s in schema["oneOf"] if not self.validate(value, s, path))
            if n != 1:
                errs.append(f"{path}: matches {n} of oneOf (exactly 1 wanted)")
        if "not" in schema and not self.validate(value, schema["not"], path):
            errs.append(f"{path}: matches the 'not' schema")
        return errs


FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


def load_schema(src, name):
    with open(os.path.join(src, "schema", name)) as f:
        return json.load(f)


def check(src, schema_name, what, doc):
    schema = load_schema(src, schema_name)
    try:
        errs = Validator(schema, os.path.join(src, "schema")).validate(doc, schema)
    except SchemaError as e:
        fail(f"{schema_name}: {e}")
        return
    if errs:
        fail(f"{what} does not conform to {schema_name}:\n  " + "\n  ".join(errs[:20]))
    else:
        print(f"ok: {what} conforms to {schema_name}")


def self_test(src):
    """The validator must reject wrong documents, or this test could not fail."""
    schema = load_schema(src, "model-import.schema.json")
    good = {"project": "demo", "version": 1, "unchanged": False, "format": "native",
            "source": "m.json", "components": 1, "flows": 0, "trust_zones": 0,
            "content_hash": "0" * 64, "warnings": []}
    v = Validator(schema)
    if v.validate(good, schema):
        fail(f"self-test: a good model-import document is rejected: {v.validate(good, schema)}")
    wrong = []
    for change in (lambda d: d.update(version="1"),          # type
                   lambda d: d.update(unchanged=0),           # boolean vs integer
                   lambda d: d.pop("flows"),                  # required
                   lambda d: d.update(extra=1),               # additionalProperties
                   lambda d: d.update(format="yaml"),         # enum
                   lambda d: d.update(content_hash="xyz"),    # pattern
                   lambda d: d.update(components=-1),         # minimum
                   lambda d: d.update(warnings=[3])):         # items
        d = copy.deepcopy(good)
        change(d)
        wrong.append(d)
    for i, d in enumerate(wrong):
        if not v.validate(d, schema):
            fail(f"self-test: wrong document #{i} is accepted: {json.dumps(d)}")
    # $ref, type arrays, oneOf.
    s = {"$defs": {"n": {"type": ["integer", "null"], "maximum": 3}},
         "oneOf": [{"$ref": "#/$defs/n"}, {"type": "string", "const": "x"}]}
    v = Validator(s)
    for ok in (None, 2, "x"):
        if v.validate(ok, s):
            fail(f"self-test: {ok!r} is rejected by the $ref/oneOf schema")
    for bad in (4, "y", True, 2.5):
        if not v.validate(bad, s):
            fail(f"self-test: {bad!r} is accepted by the $ref/oneOf schema")
    # A reference to a schema beside this one, with its own local references.
    s = {"$ref": "findings.schema.json#/$defs/finding"}
    v = Validator(s, os.path.join(src, "schema"))
    if not v.validate({"id": 1}, s):
        fail("self-test: an incomplete finding is accepted through a file $ref")
    print("ok: validator self-test")


def start_jira(src, work):
    port_file = os.path.join(work, "jira.port")
    log = open(os.path.join(work, "jira.log"), "w")
    p = subprocess.Popen([sys.executable, os.path.join(src, "tests/emulators/jira_emulator.py"),
                          "--port", "0", "--port-file", port_file],
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                txt = f.read().strip()
            if txt:
                return p, int(txt)
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    raise RuntimeError("the Jira emulator did not start (see jira.log)")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    threatsync = sys.argv[1]
    src = sys.argv[2]
    self_test(src)
    work = tempfile.mkdtemp(prefix="ts-schema.")
    jira = None
    try:
        jira, port = start_jira(src, work)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds, 0o700)
        with open(os.path.join(creds, "jira_token"), "w") as f:
            f.write("emu-token\n")
        os.chmod(os.path.join(creds, "jira_token"), 0o600)
        conf = os.path.join(work, "threatsync.conf")
        with open(conf, "w") as f:
            f.write(f"""database = "{work}/threatsync.db";
library_paths = [ "{src}/library" ];
http = {{ listen = ""; }};
connectors = (
  {{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "http://127.0.0.1:{port}";
     email = "threatsync@example.com"; token_file = "jira_token"; max_attempts = 3;
     concurrency = 8; rate_per_second = 1000.0; burst = 1000;
     request_timeout_ms = 10000; }}
);
projects = ( {{ slug = "widgetsrus"; connector = "jira"; tracker_project = "WRU"; }} );
classification = (
  {{ name = "internet-facing-personal-data";
     when = "model.any(c, c.internet_facing && c.handles_pii)"; class = "critical"; }}
);
""")
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds, THREATSYNC_NOW="2026-01-10T12:00:00Z")
        env.pop("NOTIFY_SOCKET", None)

        def ts(*args, want_json=True):
            r = subprocess.run([threatsync, "-c", conf, *args], env=env, capture_output=True,
                               text=True, timeout=120)
            if r.returncode != 0:
                raise RuntimeError(f"threatsync {' '.join(args)} exited {r.returncode}: "
                                   f"{r.stderr.strip()}")
            if not want_json:
                return None
            try:
                return json.loads(r.stdout)
            except ValueError as e:
                raise RuntimeError(f"threatsync {' '.join(args)}: output is not JSON ({e})")

        ts("db", "migrate", want_json=False)
        ts("project", "add", "widgetsrus", "--name", "WidgetsRUs", want_json=False)
        model_path = os.path.join(src, "examples/widgetsrus/model.json")
        check(src, "model-import.schema.json", "model import (first)",
              ts("model", "import", "widgetsrus", model_path, "--json"))
        check(src, "model-import.schema.json", "model import (unchanged)",
              ts("model", "import", "widgetsrus", model_path, "--json"))
        with open(model_path) as f:
            model = json.load(f)
        # A changed copy: one component gone, one changed, one flow added.
        comps = model["components"]
        removed = comps.pop()
        comps[0]["name"] = comps[0].get("name", "x") + " (renamed)"
        comps[0].setdefault("properties", {})["schema_test"] = True
        flows = model.get("flows", [])
        if flows:
            extra = dict(flows[0])
            extra["id"] = "schema-test-flow"
            flows.append(extra)
        model["flows"] = [fl for fl in flows
                          if removed["id"] not in (fl.get("source"), fl.get("destination"),
                                                   fl.get("from"), fl.get("to"))]
        changed = os.path.join(work, "model-v2.json")
        with open(changed, "w") as f:
            json.dump(model, f)
        check(src, "model-import.schema.json", "model import (changed)",
              ts("model", "import", "widgetsrus", changed, "--json"))
        diff = ts("model", "diff", "widgetsrus", "--json")
        check(src, "model-diff.schema.json", "model diff (latest)", diff)
        if not any(diff[k]["added"] or diff[k]["removed"] or diff[k]["changed"]
                   for k in ("components", "flows")):
            fail("model diff reports no difference between the two imports")
        check(src, "model-diff.schema.json", "model diff 1 2",
              ts("model", "diff", "widgetsrus", "1", "2", "--json"))
        check(src, "generate.schema.json", "generate", ts("generate", "widgetsrus", "--json"))
        threats = ts("threats", "widgetsrus", "--json")
        check(src, "threats.schema.json", "threats", threats)
        check(src, "threats.schema.json", "threats --all",
              ts("threats", "widgetsrus", "--all", "--json"))
        cms = ts("countermeasures", "widgetsrus", "--json")
        check(src, "countermeasures.schema.json", "countermeasures", cms)
        check(src, "countermeasures.schema.json", "countermeasures --all",
              ts("countermeasures", "widgetsrus", "--all", "--json"))
        check(src, "classify.schema.json", "classify", ts("classify", "widgetsrus", "--json"))
        # The gate exits 1 when it fails: both outcomes print the document.
        def gate(*args):
            r = subprocess.run([threatsync, "-c", conf, *args], env=env, capture_output=True,
                               text=True, timeout=120)
            if r.returncode not in (0, 1):
                raise RuntimeError(f"threatsync {' '.join(args)} exited {r.returncode}: "
                                   f"{r.stderr.strip()}")
            doc = json.loads(r.stdout)
            if doc.get("passed") != (r.returncode == 0):
                fail(f"threatsync {' '.join(args)}: exit {r.returncode} but passed is "
                     f"{doc.get('passed')}")
            return doc
        check(src, "check.schema.json", "check", gate("check", "widgetsrus", "--json"))
        # The first model against the stored second: a component comes back.
        delta = gate("check", "widgetsrus", "--model", model_path, "--json")
        check(src, "check.schema.json", "check --model", delta)
        if delta["delta"]["components"]["added"] != [removed["id"]]:
            fail(f"check --model: components added {delta['delta']['components']['added']}, "
                 f"not [{removed['id']}]")
        check(src, "compliance.schema.json", "compliance",
              ts("compliance", "widgetsrus", "--json"))

        # Push the tasks to the emulator so status has linked tickets.
        rep = ts("sync", "--once", "--json")
        check(src, "sync-report.schema.json", "sync --once", rep)
        pushed = sum(c["outbox"]["created"] for c in rep.get("connectors", []))
        if pushed < 1:
            fail(f"sync --once created no ticket on the emulator: {json.dumps(rep)[:300]}")
        tasks = cms.get("countermeasures") or cms.get("tasks") or []
        if len(tasks) < 1 or not threats.get("threats"):
            fail("the example produced no threats or tasks to override")
        else:
            cm_id = tasks[0]["id"]
            ov = ts("override", "widgetsrus", cm_id, "--not-applicable",
                    "--reason", "schema test", "--author", "tester", "--json")
            check(src, "override.schema.json", "override --not-applicable", ov)
            if not ov.get("changes") or not ov.get("outbox"):
                fail(f"override changed no task or queued no close: {json.dumps(ov)}")
            th_id = threats["threats"][0]["id"]
            check(src, "override.schema.json", "override --accept-risk",
                  ts("override", "widgetsrus", th_id, "--accept-risk", "--reason",
                     "schema test", "--expires", "2026-03-01", "--author", "tester", "--json"))
            check(src, "override.schema.json", "override --revoke",
                  ts("override", "widgetsrus", cm_id, "--revoke", "--reason", "undo",
                     "--json"))
        check(src, "sync-report.schema.json", "sync --once --reconcile",
              ts("sync", "--once", "--reconcile", "--json"))
        st = ts("status", "--json")
        check(src, "status.schema.json", "status", st)
        if not st.get("projects") or st["projects"][0].get("tickets_linked", 0) < 1:
            fail(f"status shows no linked ticket: {json.dumps(st)[:300]}")
        check(src, "status.schema.json", "status SLUG", ts("status", "widgetsrus", "--json"))
        # Findings: a SARIF report of one result on the orders API (CWE-89).
        sarif = os.path.join(work, "codeql.sarif")
        with open(sarif, "w") as f:
            json.dump({"version": "2.1.0", "runs": [{
                "tool": {"driver": {"name": "CodeQL", "version": "2.15.0", "rules": [
                    {"id": "cs/sql-injection", "properties": {"tags": [
                        "security", "external/cwe/cwe-089"]}}]}},
                "results": [{"ruleId": "cs/sql-injection", "level": "error",
                             "message": {"text": "Query built from user input."},
                             "locations": [{"physicalLocation": {
                                 "artifactLocation": {
                                     "uri": "src/WidgetsRUs.Orders/OrderRepository.cs"},
                                 "region": {"startLine": 42}}}]}]}]}, f)
        r = subprocess.run([threatsync, "-c", conf, "ingest", "widgetsrus", sarif, "--json"],
                           env=env, capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            ing = json.loads(r.stdout)
            check(src, "ingest.schema.json", "ingest", ing)
            if ing["reports"][0]["counts"]["results"] != 1:
                fail(f"ingest counted no result: {json.dumps(ing)[:300]}")
            check(src, "ingest.schema.json", "ingest (unchanged)",
                  ts("ingest", "widgetsrus", sarif, "--json"))
            fl = ts("findings", "widgetsrus", "--json")
            check(src, "findings.schema.json", "findings", fl)
            if len(fl["findings"]) != 1:
                fail(f"findings lists {len(fl['findings'])} findings, not 1")
            check(src, "findings.schema.json", "findings --suppress",
                  ts("findings", "widgetsrus", "--suppress", str(fl["findings"][0]["id"]),
                     "--reason", "schema test", "--expires", "2026-02-01", "--json"))
            check(src, "findings.schema.json", "findings --status suppressed",
                  ts("findings", "widgetsrus", "--status", "suppressed", "--json"))
        else:
            fail(f"threatsync ingest exited {r.returncode}: {r.stderr.strip()}")
        # A refused token pauses the connector: the report (exit 77) and status show it.
        with open(os.path.join(creds, "jira_token"), "w") as f:
            f.write("wrong-token\n")
        r = subprocess.run([threatsync, "-c", conf, "sync", "--once", "--json"], env=env,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 77:
            fail(f"sync --once with a refused token exited {r.returncode}, not 77")
        check(src, "sync-report.schema.json", "sync --once (paused)", json.loads(r.stdout))
        st = ts("status", "--json")
        check(src, "status.schema.json", "status (paused)", st)
        if not any(c.get("paused") for c in st.get("connectors", [])):
            fail(f"status shows no pause: {json.dumps(st)[:300]}")
        with open(os.path.join(creds, "jira_token"), "w") as f:
            f.write("emu-token\n")
        check(src, "outbox-retry.schema.json", "outbox retry --dead",
              ts("outbox", "retry", "--dead", "--json"))
        check(src, "outbox-retry.schema.json", "outbox retry SLUG",
              ts("outbox", "retry", "widgetsrus", "--json"))
        check(src, "sync-report.schema.json", "sync --once (pause ended)",
              ts("sync", "--once", "--json"))
        opts = ts("config", "options", "--json")
        check(src, "config-options.schema.json", "config options", opts)
        plist = ts("project", "list", "--json")
        check(src, "project-list.schema.json", "project list", plist)
        if [p.get("slug") for p in plist] != ["widgetsrus"]:
            fail(f"project list: expected the one project widgetsrus: {json.dumps(plist)}")
        r = subprocess.run([threatsync, "-c", conf, "library", "lint", "--json",
                            os.path.join(src, "library")],
                           env=env, capture_output=True, text=True, timeout=120)
        try:
            lint = json.loads(r.stdout)
        except ValueError as e:
            raise RuntimeError(f"library lint: output is not JSON ({e}); {r.stderr.strip()}")
        check(src, "library-lint.schema.json", "library lint", lint)
        # Releases, the report and the portfolio (docs/reports.md).
        rel = ts("release", "widgetsrus", "r1", "--json")
        check(src, "release.schema.json", "release", rel)
        if rel["previous"] is not None:
            fail(f"the first release names a previous one: {rel['previous']}")
        check(src, "release.schema.json", "release (second)",
              ts("release", "widgetsrus", "r2", "--json"))
        report = ts("report", "widgetsrus", "--format", "json")
        check(src, "report.schema.json", "report", report)
        if [r["name"] for r in report["releases"]] != ["r1", "r2"]:
            fail(f"report releases: {[r['name'] for r in report['releases']]}, not r1, r2")
        if len(report["countermeasures"]) != len(cms["countermeasures"]):
            fail("report and countermeasures list a different number of tasks")
        check(src, "portfolio.schema.json", "report --portfolio",
              ts("report", "--portfolio", "--format", "json"))
    except (RuntimeError, OSError, subprocess.TimeoutExpired, KeyError, IndexError) as e:
        fail(f"{type(e).__name__}: {e}")
    finally:
        if jira:
            jira.terminate()
            jira.wait()
        if FAILURES:
            print(f"work directory kept: {work}", file=sys.stderr)
        elif os.environ.get("TS_SCHEMA_KEEP"):
            print(f"work directory kept (TS_SCHEMA_KEEP): {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"schema_conformance: {len(FAILURES)} failure(s)", file=sys.stderr)
        return 1
    print("schema_conformance: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
