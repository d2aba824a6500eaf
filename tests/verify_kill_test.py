#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kill test of the verification loop: a scanner proves done tasks' countermeasures
missing, and each ticket is reopened exactly once, with exactly one comment,
while the daemon is killed with SIGKILL at random instants.

Builds two tracked projects through the real pipeline (Jira Cloud emulator: 30
web applications, GitLab emulator: 10), pushes their tickets with `sync
--once`, moves every ticket to Done as a person would in the tracker, polls the
statuses back, then ingests a SARIF log with one SQL injection (CWE-89) per
component: the tasks answering the injection threat (CWE-74/89) fail
verification and are reopened through the outbox. threatsyncd is then started
and killed with SIGKILL at seeded random instants (restarted each time) while
the trackers answer slowly and fail some requests (500, 429, a reset after the
write was committed), and finally left to finish. Asserts, per ticket, from the emulators' counts of what
the API user did: one transition and one comment carrying its notice marker on
every reopened task's ticket, nothing on the others; in the database: every
reopened task back to todo with its history row, one notice per task, no dead
or outstanding outbox row.

usage: verify_kill_test.py --threatsync BIN --threatsyncd BIN --source-dir DIR
                           [--seed N] [--kills N] [--keep]
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kill_test as kt  # noqa: E402  (the emulator and CLI helpers)

JIRA_COMPONENTS = 30
GITLAB_COMPONENTS = 10


def fail(msg):
    print(f"verify_kill_test: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def model(prefix, n):
    m = kt.model(prefix, n)
    for c in m["components"]:
        if c["id"] != "customer":
            c["code"] = {"paths": [f"src/{c['id']}/**"]}
    return m


def sarif(components):
    results = []
    for i, comp in enumerate(components):
        results.append({
            "ruleId": "py/sql-injection", "ruleIndex": 0, "level": "error",
            "message": {"text": "This query depends on a user-provided value."},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f"src/{comp}/db.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 10 + i, "snippet": {"text": "cursor.execute(q)"}}}}],
        })
    return {"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "CodeQL", "semanticVersion": "2.15.0", "rules": [{
            "id": "py/sql-injection", "name": "SqlInjection",
            "properties": {"tags": ["security", "external/cwe/cwe-089"],
                           "security-severity": "8.8"}}]}},
        "results": results}]}


def emu_post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    src = a.source_dir
    work = tempfile.mkdtemp(prefix="ts-verify-kill-")
    procs = []
    t0 = time.time()
    try:
        jira, jport = kt.start_emulator(os.path.join(src, "tests/emulators/jira_emulator.py"),
                                        work, "jira", ["--seed", str(a.seed)])
        procs.append(jira)
        gitlab, gport = kt.start_emulator(
            os.path.join(src, "tests/emulators/gitlab_emulator.py"), work, "gitlab",
            ["--seed", str(a.seed)])
        procs.append(gitlab)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        for name in ("jira_token", "gitlab_token"):
            with open(os.path.join(creds, name), "w") as f:
                f.write(kt.TOKEN + "\n")
            os.chmod(os.path.join(creds, name), 0o600)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        lib = os.path.join(src, "tests/data/generate/lib")
        kt.write_config(conf, db, lib, jport, gport, 4,
                        (("vk-jira", "jira", "WRU"), ("vk-gitlab", "gitlab", "security/widgets")))
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli = [a.threatsync, "-c", conf]
        kt.run(cli + ["db", "migrate"], env=env)
        comps = {}
        for slug, prefix, n in (("vk-jira", "web", JIRA_COMPONENTS),
                                ("vk-gitlab", "app", GITLAB_COMPONENTS)):
            path = os.path.join(work, f"{slug}.json")
            m = model(prefix, n)
            comps[slug] = [c["id"] for c in m["components"] if c["id"] != "customer"]
            with open(path, "w") as f:
                json.dump(m, f)
            kt.run(cli + ["project", "add", slug], env=env)
            kt.run(cli + ["model", "import", slug, path], env=env)
            kt.run(cli + ["generate", slug], env=env)
        for _ in range(5):
            kt.run(cli + ["sync", "--once"], env=env)
            if kt.outstanding(db) == 0:
                break
        if kt.outstanding(db):
            fail("the tickets were not all created by five sync passes")

        # Every ticket to Done, as a person would in the tracker.
        for issue in kt.emu_issues(jport):
            emu_post(jport, f"/_emu/issues/{issue['key']}/transition",
                     {"to": "Done", "actor": "alice"})
        for issue in kt.emu_issues(gport):
            emu_post(gport, f"/_emu/issues/{issue['project_id']}/{issue['iid']}/transition",
                     {"to": "closed", "actor": "alice"})
        con = sqlite3.connect(db)
        total = con.execute("SELECT count(*) FROM countermeasures WHERE ticket_id IS NOT NULL"
                            ).fetchone()[0]
        con.close()
        for _ in range(5):
            kt.run(cli + ["sync", "--once"], env=env)
            con = sqlite3.connect(db)
            done = con.execute("SELECT count(*) FROM countermeasures WHERE status = 'done'"
                               ).fetchone()[0]
            con.close()
            if done == total:
                break
        if done != total:
            fail(f"{done} of {total} tasks came back done from the trackers")

        # The scanner: a SQL injection in every component.
        for slug in comps:
            path = os.path.join(work, f"{slug}.sarif")
            with open(path, "w") as f:
                json.dump(sarif(comps[slug]), f)
            kt.run(cli + ["ingest", slug, path], env=env)
        con = sqlite3.connect(db)
        reopened = con.execute(
            "SELECT p.slug, c.id, t.remote_key, n.notice FROM countermeasures c"
            " JOIN projects p ON p.id = c.project_id JOIN tickets t ON t.id = c.ticket_id"
            " JOIN outbox o ON o.countermeasure_id = c.id AND o.op = 'reopen'"
            " JOIN (SELECT id, json_extract(payload, '$.notice') AS notice FROM outbox) n"
            " ON n.id = o.id").fetchall()
        con.close()
        want = 2 * (JIRA_COMPONENTS + GITLAB_COMPONENTS)
        if len(reopened) != want:
            fail(f"{len(reopened)} reopen rows queued, expected {want} (two tasks answer the"
                 " injection threat on each component)")

        # From now on the trackers answer in 20-80 ms and fail 8 % of the
        # requests (500, 429, or a connection reset after the write was
        # committed), so kills land while notices are in flight and retries
        # meet writes whose outcome was lost.
        for port in (jport, gport):
            emu_post(port, "/_emu/faults", {"latency_ms": "20:80", "rate": 0.08,
                                            "kinds": ["500", "429", "reset_after_commit"],
                                            "seed": a.seed})
        log_path = os.path.join(work, "daemon.log")
        log = open(log_path, "a")
        kills = []
        for _ in range(a.kills):
            d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
            delay = rnd.uniform(0.95, 2.5)
            time.sleep(delay)
            d.send_signal(signal.SIGKILL)
            d.wait(timeout=30)
            kills.append((round(delay, 3), kt.outstanding(db)))
        d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
        start = time.time()
        while time.time() < start + 120 and (kt.outstanding(db) > 0 or
                                             time.time() - start < 3):
            time.sleep(0.5)
        left = kt.outstanding(db)
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            fail("threatsyncd did not stop within 30 s of SIGTERM")
        log.close()
        if left:
            fail(f"{left} outbox rows still outstanding after 120 s")
        if rc != 0:
            fail(f"threatsyncd exited {rc} after SIGTERM")

        # Per ticket: what the API user did after the tickets were created.
        expected = {}
        for slug, _cid, key, notice in reopened:
            expected.setdefault((slug, key), []).append(notice)
        bad = []
        checked = 0
        for slug, port in (("vk-jira", jport), ("vk-gitlab", gport)):
            for issue in kt.emu_issues(port):
                key = issue.get("key") or f"security/widgets#{issue.get('iid')}"
                path = (f"/_emu/issues/{issue['key']}" if slug == "vk-jira" else
                        f"/_emu/issues/{issue['project_id']}/{issue['iid']}")
                full = kt.emu_get(port, path)
                counts = full.get("api_counts", {})
                notices = expected.get((slug, key), [])
                texts = json.dumps(full.get("comments") or full.get("notes") or
                                   full.get("fields", {}).get("comment") or [])
                marked = {n: texts.count(n) for n in notices}
                want_t = 1 if notices else 0
                if counts.get("transitions") != want_t or \
                        counts.get("comments") != len(notices) or \
                        any(v != 1 for v in marked.values()):
                    bad.append((key, counts, marked))
                checked += 1
        if bad:
            fail(f"{len(bad)} ticket(s) with the wrong transitions or comments, e.g. {bad[:3]}")
        faults = 0
        for port in (jport, gport):
            reqs = kt.emu_get(port, "/_emu/requests")
            reqs = reqs.get("requests", []) if isinstance(reqs, dict) else reqs
            faults += sum(1 for r in reqs if r.get("fault"))
        con = sqlite3.connect(db)
        dead = con.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
        todo = con.execute("SELECT count(*) FROM countermeasures WHERE status = 'todo'"
                           " AND verification = 'failed'").fetchone()[0]
        hist = con.execute("SELECT count(*) FROM status_history WHERE source = 'verify'"
                           ).fetchone()[0]
        # one notice queued per reopened task; the finding's own comment is
        # recorded as covered by the reopen (queued = 0), never sent
        notices = con.execute("SELECT count(*) FROM verification_notices WHERE queued = 1"
                              ).fetchone()[0]
        kinds = con.execute("SELECT kind, count(*) FROM verification_notices GROUP BY kind").fetchall()
        con.close()
        if dead:
            fail(f"{dead} dead outbox rows")
        if todo != want or hist != want:
            fail(f"{todo} tasks back to todo with failed verification and {hist} history rows,"
                 f" expected {want}")
        if notices != want:
            fail(f"{notices} notices recorded, expected {want}: {kinds}")
        print(f"verify_kill_test: OK: {checked} tickets, {want} reopened once with one comment"
              f" each (Jira {2 * JIRA_COMPONENTS}, GitLab {2 * GITLAB_COMPONENTS}), the rest"
              f" untouched; {a.kills} SIGKILLs (seed {a.seed}); faults injected {faults};"
              f" {time.time() - t0:.1f} s")
        print("verify_kill_test: kills (delay s, outbox rows outstanding after the kill): "
              + ", ".join(f"{d}/{n}" for d, n in kills))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if a.keep:
            print(f"verify_kill_test: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
