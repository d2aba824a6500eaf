#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The database views of schema/migrations/0012_views.sql (docs/database.md).

usage: views_test.py THREATSYNC SOURCE_DIR rows|concurrent

rows: builds the WidgetsRUs project with the shipped configuration and
library, ingests a SARIF log with one result the portal's threats correlate
with and one they do not, accepts the risk of one threat, stores two metric
snapshots, and checks every view row by row against the CLI's listings
(countermeasures, threats, findings, compliance per framework) and exact
counts.

concurrent: reads the views in a loop from a second, read-only connection
(mode=ro, WAL) while the CLI writes (ingestions, generations, overrides):
never SQLITE_BUSY, and within each read transaction the views agree with
their tables.
"""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

NOW = "2026-01-10"
SLUG = "widgetsrus"
SECRETS = ("api_tokens", "jira_token", "jira_webhook_secret", "gitlab_token",
           "gitlab_webhook_secret")


class Env:
    def __init__(self, threatsync, src, tmp):
        self.threatsync = threatsync
        self.src = src
        self.tmp = tmp
        self.db = os.path.join(tmp, "views.db")
        cred = os.path.join(tmp, "credentials")
        os.mkdir(cred, 0o700)
        for s in SECRETS:
            with open(os.path.join(cred, s), "w") as f:
                f.write("not-a-real-secret\n")
        self.conf = os.path.join(tmp, "threatsync.conf")
        with open(os.path.join(src, "etc", "threatsync.conf")) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            if line.startswith("database = "):
                line = 'database = "%s";' % self.db
            elif line.lstrip("#").startswith("library_paths = "):
                line = 'library_paths = [ "%s" ];' % os.path.join(src, "library")
            out.append(line)
        with open(self.conf, "w") as f:
            f.write("\n".join(out) + "\n")
        self.env = dict(os.environ, CREDENTIALS_DIRECTORY=cred, THREATSYNC_NOW=NOW)

    def run(self, *args, ok=(0,)):
        proc = subprocess.run([self.threatsync, "-c", self.conf] + list(args),
                              capture_output=True, text=True, env=self.env, timeout=300,
                              check=False)
        if proc.returncode not in ok:
            sys.exit("threatsync %s exited %d:\n%s" % (" ".join(args), proc.returncode,
                                                       proc.stderr))
        return proc.stdout

    def json(self, *args):
        return json.loads(self.run(*args))


def sarif(path, results):
    """A SARIF log of one run of "semgrep" with results (rule, cwe, uri, line)."""
    rules = []
    for rule, cwe, _, _ in results:
        rules.append({"id": rule, "properties": {"tags": ["CWE-%d: test" % cwe]}})
    doc = {
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "semgrep", "version": "1.0.0", "rules": rules}},
            "results": [{
                "ruleId": rule,
                "level": "error",
                "message": {"text": "%s at %s:%d" % (rule, uri, line)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": line}}}],
            } for rule, _, uri, line in results],
        }],
    }
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def build(e):
    e.run("db", "migrate")
    e.run("project", "add", SLUG, "--name", "WidgetsRUs")
    e.run("model", "import", SLUG, os.path.join(e.src, "examples", "widgetsrus", "model.json"))
    e.run("generate", SLUG)
    scan = sarif(os.path.join(e.tmp, "scan.sarif"), [
        ("csharp.xss", 79, "src/WidgetsRUs.Portal/Views/Home/Index.cshtml", 42),
        ("generic.todo", 1164, "README.md", 1),
    ])
    e.run("ingest", SLUG, scan)


def rows(db, sql, *args):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def check(cond, what):
    if not cond:
        sys.exit("views: " + what)


def check_equal(got, want, what):
    if got != want:
        sys.exit("views: %s: got %r, want %r" % (what, got, want))


def complete(status, verification):
    return verification != "failed" and status in ("done", "satisfied", "not_applicable")


def test_tasks(e):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    cms = e.json("countermeasures", SLUG, "--json", "--all")["countermeasures"]
    want = {}
    for c in cms:
        t = c["ticket"] or {}
        overdue = int(c["state"] == "active" and c["in_scope"]
                      and c["status"] in ("todo", "in_progress")
                      and c["due_date"] is not None and c["due_date"][:10] < today)
        want[c["id"]] = {
            "project": SLUG, "task": c["id"], "library_id": c["library_id"],
            "title": c["title"], "component": c["component"], "priority": c["priority"],
            "status": c["status"], "verification": c["verification"],
            "in_scope": int(c["in_scope"]), "state": c["state"], "due_date": c["due_date"],
            "overdue": overdue, "ticket_connector": t.get("connector"),
            "ticket_key": t.get("key"), "ticket_url": t.get("url"),
        }
    got = {}
    for r in rows(e.db, "SELECT * FROM v_tasks WHERE project = ?", SLUG):
        check(r.pop("created_at").startswith(NOW), "v_tasks: created_at %r" % r)
        check(r.pop("updated_at").startswith(NOW), "v_tasks: updated_at %r" % r)
        got[r["task"]] = r
    check_equal(len(got), 278, "v_tasks rows")
    check_equal(got, want, "v_tasks against countermeasures --json --all")
    # Due dates lie in 2026 from 2026-01-10; the sum is today's.
    check_equal(sum(r["overdue"] for r in got.values()),
                sum(r["overdue"] for r in want.values()), "overdue tasks")
    check_equal(rows(e.db, "SELECT count(*) AS n FROM v_tasks WHERE ticket_connector = 'jira'"),
                [{"n": 0}], "tasks with a ticket before any sync")
    return cms


def test_threats(e, cms):
    by_task = {c["id"]: c for c in cms}
    threats = e.json("threats", SLUG, "--json", "--all")["threats"]
    want = {}
    for t in threats:
        status = t["status"]
        if status == "open":
            tasks = [by_task[u] for u in t["countermeasures"]
                     if by_task[u]["state"] == "active" and by_task[u]["in_scope"]]
            if tasks and all(c["verification"] != "failed" and c["status"] in (
                    "done", "satisfied", "not_applicable", "risk_accepted") for c in tasks):
                status = "mitigated"
        want[t["id"]] = {
            "project": SLUG, "threat": t["id"], "library_id": t["library_id"],
            "title": t["title"], "component": t["component"], "flow": t["flow"],
            "severity": t["severity"], "likelihood": t["likelihood"], "score": t["score"],
            "stride": t["stride"], "cwe": t["cwe"], "status": status,
            "in_scope": int(t["in_scope"]), "state": t["state"],
        }
    got = {}
    for r in rows(e.db, "SELECT * FROM v_threats WHERE project = ?", SLUG):
        r["cwe"] = json.loads(r["cwe"])
        got[r["threat"]] = r
    check_equal(len(got), 220, "v_threats rows")
    check_equal(got, want, "v_threats against threats --json --all")
    counts = {}
    for r in got.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    check_equal(counts, {"open": 211, "mitigated": 8, "not_applicable": 1}, "threat statuses")


def test_findings(e):
    fs = e.json("findings", SLUG, "--json")["findings"]
    want = []
    for f in fs:
        base = {"project": SLUG, "finding": f["id"], "tool": f["tool"], "rule": f["rule"],
                "severity": f["severity"], "status": f["status"], "path": f["path"],
                "line": f["line"], "url": f["url"], "cwe": f["cwe"],
                "component": f["component"]}
        if not f["threats"]:
            want.append(dict(base, threat=None, method=None))
        for t in f["threats"]:
            want.append(dict(base, threat=t["threat"], method=t["method"]))
    got = []
    for r in rows(e.db, "SELECT * FROM v_findings WHERE project = ?", SLUG):
        r["cwe"] = json.loads(r["cwe"])
        for k in ("task", "first_seen", "last_seen"):
            r.pop(k)
        got.append(r)
    key = lambda r: (r["finding"], r["threat"] or "")
    got.sort(key=key)
    want.sort(key=key)
    check_equal(got, want, "v_findings against findings --json")
    check_equal(len({r["finding"] for r in got}), 2, "findings")
    unmapped = [r for r in got if r["threat"] is None]
    check_equal([(r["rule"], r["path"]) for r in unmapped], [("generic.todo", "README.md")],
                "findings without a threat")
    xss = [r for r in got if r["rule"] == "csharp.xss"]
    check(len(xss) >= 1 and all(r["component"] == "web_portal" for r in xss),
          "the portal finding: %r" % xss)
    check_equal(len(xss), sum(len(f["threats"]) for f in fs if f["rule"] == "csharp.xss"),
                "one row per correlation")


def test_compliance(e):
    got = {}
    for r in rows(e.db, "SELECT * FROM v_compliance WHERE project = ?", SLUG):
        got.setdefault(r["framework"], {})[r["control"]] = r
    check_equal(sorted(got), ["ccpa", "gdpr", "hipaa", "iso-27001", "nist-800-53",
                              "owasp-asvs", "pci-dss", "soc2"], "v_compliance frameworks")
    total = 0
    for fw in sorted(got):
        doc = e.json("compliance", SLUG, "--framework", fw, "--json")
        (f,) = doc["frameworks"]
        want = {}
        for c in f["controls"]:
            want[c["id"]] = {
                "project": SLUG, "framework": fw, "control": c["id"],
                "tasks": len(c["tasks"]),
                "complete": sum(1 for t in c["tasks"] if t["complete"]),
                "status": c["status"]}
        check_equal(got[fw], want, "v_compliance %s against compliance --json" % fw)
        n = {"covered": 0, "partly": 0, "not_covered": 0}
        for r in got[fw].values():
            n[r["status"]] += 1
        for k, v in n.items():
            check_equal(v, f["totals"][k], "%s %s controls" % (fw, k))
        total += len(want)
    check_equal(total, 363, "controls mapped")


def test_metrics(e):
    # The commands above ran at one pinned instant: their snapshots coalesced
    # into one row, which the view shows until a later one exists.
    got = rows(e.db, "SELECT * FROM v_latest_metrics")
    check_equal(len(got), 1, "v_latest_metrics rows after the commands")
    check_equal(got[0]["taken_at"], NOW + "T00:00:00.000Z", "snapshot of the commands")
    check_equal(got[0]["tasks_todo"] + got[0]["tasks_in_progress"] + got[0]["tasks_done"]
                + got[0]["tasks_not_applicable"] + got[0]["tasks_risk_accepted"]
                + got[0]["tasks_satisfied"], 278, "tasks in the commands' snapshot")
    con = sqlite3.connect(e.db)
    with con:
        pid = con.execute("SELECT id FROM projects WHERE slug = ?", (SLUG,)).fetchone()[0]
        con.execute("INSERT INTO metric_snapshots (project_id, taken_at, metrics)"
                    " VALUES (?, '2026-01-11T00:00:00.000Z', '{\"overdue\": 9}')", (pid,))
        doc = {"threats_open": {"critical": 3, "high": 120, "medium": 90, "low": 26},
               "tasks": {"todo": 280, "in_progress": 4, "done": 12, "not_applicable": 1,
                         "risk_accepted": 0, "satisfied": 0},
               "verification_failed": 1, "risk_score": 1234.5, "overdue": 0,
               "mttr_days": None}
        con.execute("INSERT INTO metric_snapshots (project_id, taken_at, metrics)"
                    " VALUES (?, '2026-01-12T00:00:00.000Z', ?)", (pid, json.dumps(doc)))
    con.close()
    got = rows(e.db, "SELECT * FROM v_latest_metrics")
    check_equal(len(got), 1, "v_latest_metrics rows")
    check_equal(json.loads(got[0].pop("metrics")), doc, "metrics document")
    check_equal(got[0], {"project": SLUG, "taken_at": "2026-01-12T00:00:00.000Z",
                         "threats_open_critical": 3, "threats_open_high": 120,
                         "threats_open_medium": 90, "threats_open_low": 26,
                         "tasks_todo": 280, "tasks_in_progress": 4, "tasks_done": 12,
                         "tasks_not_applicable": 1, "tasks_risk_accepted": 0,
                         "tasks_satisfied": 0, "verification_failed": 1, "overdue": 0,
                         "risk_score": 1234.5, "mttr_days": None},
                "v_latest_metrics")


def test_rows(e):
    build(e)
    threat = "T-DATA-EMAIL-SPOOFING@sendgrid"
    e.run("override", SLUG, threat, "--not-applicable", "--reason", "no mail is sent")
    cms = test_tasks(e)
    test_threats(e, cms)
    test_findings(e)
    test_compliance(e)
    test_metrics(e)
    # The views refuse writes, as views do.
    con = sqlite3.connect(e.db)
    try:
        con.execute("DELETE FROM v_tasks")
        sys.exit("views: a DELETE on v_tasks was accepted")
    except sqlite3.OperationalError as err:
        check("cannot modify v_tasks" in str(err), "DELETE on v_tasks: %s" % err)
    finally:
        con.close()
    print("views: rows of v_tasks, v_threats, v_findings, v_compliance, v_latest_metrics agree")


READS = (
    ("tasks", "SELECT count(*) FROM v_tasks", "SELECT count(*) FROM countermeasures"),
    ("findings", "SELECT count(DISTINCT finding) FROM v_findings",
     "SELECT count(*) FROM findings"),
    ("correlated", "SELECT count(*) FROM v_findings WHERE threat IS NOT NULL",
     "SELECT count(*) FROM correlations"),
    ("threats", "SELECT count(*) FROM v_threats", "SELECT count(*) FROM threats"),
    ("open findings", "SELECT count(DISTINCT finding) FROM v_findings WHERE status = 'open'",
     "SELECT count(*) FROM findings WHERE status = 'open'"),
)


def reader(db, started, stop, result):
    """Reads the views until stop is set; timeout 0: a busy database raises."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=0,
                          isolation_level=None)
    n = 0
    try:
        while not stop.is_set() or n < 5:
            con.execute("BEGIN")
            for what, view, table in READS:
                a = con.execute(view).fetchone()[0]
                b = con.execute(table).fetchone()[0]
                if a != b:
                    result["error"] = "%s: view %d, table %d" % (what, a, b)
                    return
            result.setdefault("tasks", set()).add(
                con.execute("SELECT count(*) FROM v_tasks").fetchone()[0])
            result.setdefault("findings", set()).add(
                con.execute("SELECT count(DISTINCT finding) FROM v_findings").fetchone()[0])
            con.execute("SELECT count(*) FROM v_compliance").fetchone()
            con.execute("COMMIT")
            n += 1
            started.set()
    except sqlite3.OperationalError as err:
        result["error"] = "after %d reads: %s" % (n, err)
    finally:
        result["reads"] = n
        con.close()


def test_concurrent(e):
    build(e)
    mode = rows(e.db, "PRAGMA journal_mode")[0]["journal_mode"]
    check_equal(mode, "wal", "journal mode")
    scans = [
        sarif(os.path.join(e.tmp, "a.sarif"), [
            ("csharp.xss", 79, "src/WidgetsRUs.Portal/Views/Home/Index.cshtml", 42),
            ("generic.todo", 1164, "README.md", 1)]),
        sarif(os.path.join(e.tmp, "b.sarif"), [
            ("csharp.sqli", 89, "src/WidgetsRUs.Portal/Data/Orders.cs", 7),
            ("generic.todo", 1164, "README.md", 2)]),
    ]
    stop = threading.Event()
    started = threading.Event()
    result = {}
    t = threading.Thread(target=reader, args=(e.db, started, stop, result))
    t.start()
    # The writes begin once the reader has read the database as built.
    started.wait(timeout=60)
    threat = "T-DATA-EMAIL-SPOOFING@sendgrid"
    try:
        for i in range(15):
            e.run("ingest", SLUG, scans[i % 2])
            e.run("override", SLUG, threat, "--not-applicable", "--reason", "pass %d" % i)
            e.run("generate", SLUG)
            e.run("override", SLUG, threat, "--revoke")
    finally:
        stop.set()
        t.join(timeout=120)
    check("error" not in result, "concurrent reader: %s" % result.get("error"))
    check(result["reads"] >= 5, "reads: %d" % result["reads"])
    check_equal(result["tasks"], {278}, "task counts seen")
    # The reader saw the state before the second report and after it.
    check_equal(result["findings"], {2, 4}, "finding counts seen")
    check_equal(rows(e.db, "SELECT count(DISTINCT finding) AS n FROM v_findings"), [{"n": 4}],
                "findings after the loop")
    print("views: %d consistent read transactions while the CLI wrote" % result["reads"])


def main(argv):
    if len(argv) != 4 or argv[3] not in ("rows", "concurrent"):
        sys.exit(__doc__)
    tmp = tempfile.mkdtemp(prefix="views-test.")
    try:
        e = Env(argv[1], argv[2], tmp)
        (test_rows if argv[3] == "rows" else test_concurrent)(e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
