#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kill test of exactly-once ticket creation.

Generates 500 tasks through the real pipeline (project add, model import,
generate) for two projects, one on the Jira Cloud emulator and one on the
GitLab emulator, starts threatsyncd, kills it with SIGKILL at seeded random
instants 20 times (restarting it each time), then lets it finish and stops it
with SIGTERM. Asserts that every task has exactly one ticket in the emulators
(found by its marker label), one link in the database, no dead outbox row, and
that the API token appears in no log.

usage: kill_test.py --threatsync BIN --threatsyncd BIN --source-dir DIR
                    [--seed N] [--kills N] [--keep]
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "emu-token"
JIRA_COMPONENTS = 100   # 4 tasks each with the fixture library: 400 on Jira
GITLAB_COMPONENTS = 25  # 100 on GitLab


def fail(msg):
    print(f"kill_test: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def model(prefix, n):
    comps = [{"id": "customer", "type": "user", "name": "Customer", "trust_zone": "internet"}]
    flows = []
    for i in range(n):
        comps.append({"id": f"{prefix}{i}", "type": "web_app", "name": f"{prefix} {i}",
                      "trust_zone": "dmz",
                      "properties": {"internet_facing": True, "authenticates_users": True,
                                     "handles_pii": True}})
        flows.append({"id": f"f{i}", "source": "customer", "destination": f"{prefix}{i}",
                      "protocol": "HTTPS"})
    return {"format": "threatsync-model/1",
            "project": {"name": prefix, "description": "kill test", "compliance": ["gdpr"]},
            "trust_zones": [{"id": "internet", "name": "Internet", "trust_level": 0},
                            {"id": "dmz", "name": "DMZ", "trust_level": 50}],
            "components": comps, "flows": flows}


def start_emulator(script, work, name, extra):
    port_file = os.path.join(work, f"{name}.port")
    log = open(os.path.join(work, f"{name}.log"), "w")
    p = subprocess.Popen([sys.executable, script, "--port", "0", "--port-file", port_file]
                         + extra, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                txt = f.read().strip()
            if txt:
                return p, int(txt)
        if p.poll() is not None:
            fail(f"{name} emulator exited with {p.returncode}")
        time.sleep(0.05)
    p.kill()
    fail(f"{name} emulator did not start")


def emu_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return json.loads(r.read())


def emu_issues(port):
    d = emu_get(port, "/_emu/issues")
    return d["issues"] if isinstance(d, dict) else d


def marker(slug, uid):
    return "threatsync-" + hashlib.sha256(f"{slug}/{uid}".encode()).hexdigest()[:16]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def outstanding(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM outbox WHERE state IN "
                           "('pending', 'inflight', 'failed')").fetchone()[0]
    finally:
        con.close()


def write_config(conf, db, lib, jport, gport, concurrency, projects):
    """The daemon's configuration for the emulators on jport and gport;
    projects: (slug, connector, tracker project) tuples."""
    rows = ",\n".join(f'  {{ slug = "{slug}"; connector = "{conn}"; tracker_project = "{tp}"; }}'
                      for slug, conn, tp in projects)
    with open(conf, "w") as f:
        f.write(f"""database = "{db}";
library_paths = [ "{lib}" ];
log_level = "info";
shutdown_timeout_ms = 2000;
http = {{ listen = ""; }};
connectors = (
  {{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "http://127.0.0.1:{jport}";
     email = "threatsync@example.com"; token_file = "jira_token";
     concurrency = {concurrency}; rate_per_second = 1000.0; burst = 1000; max_attempts = 100;
     poll_interval_s = 5; request_timeout_ms = 10000; }},
  {{ name = "gitlab"; type = "gitlab"; base_url = "http://127.0.0.1:{gport}";
     token_file = "gitlab_token"; concurrency = {concurrency}; rate_per_second = 1000.0;
     burst = 1000; max_attempts = 100; poll_interval_s = 5; request_timeout_ms = 10000; }}
);
projects = (
{rows}
);
classification = ( {{ name = "all"; when = "true"; class = "critical"; }} );
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    src = a.source_dir
    work = tempfile.mkdtemp(prefix="ts-kill-")
    procs = []
    t0 = time.time()
    try:
        jira, jport = start_emulator(os.path.join(src, "tests/emulators/jira_emulator.py"),
                                     work, "jira", ["--seed", str(a.seed)])
        procs.append(jira)
        gitlab, gport = start_emulator(os.path.join(src, "tests/emulators/gitlab_emulator.py"),
                                       work, "gitlab", ["--seed", str(a.seed)])
        procs.append(gitlab)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        for name in ("jira_token", "gitlab_token"):
            with open(os.path.join(creds, name), "w") as f:
                f.write(TOKEN + "\n")
            os.chmod(os.path.join(creds, name), 0o600)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        lib = os.path.join(src, "tests/data/generate/lib")
        write_config(conf, db, lib, jport, gport, 8,
                     (("kill-jira", "jira", "WRU"), ("kill-gitlab", "gitlab", "security/widgets")))
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli = [a.threatsync, "-c", conf]
        run(cli + ["db", "migrate"], env=env)
        for slug, prefix, n in (("kill-jira", "web", JIRA_COMPONENTS),
                                ("kill-gitlab", "app", GITLAB_COMPONENTS)):
            path = os.path.join(work, f"{slug}.json")
            with open(path, "w") as f:
                json.dump(model(prefix, n), f)
            run(cli + ["project", "add", slug], env=env)
            run(cli + ["model", "import", slug, path], env=env)
            run(cli + ["generate", slug], env=env)
        con = sqlite3.connect(db)
        tasks = con.execute("SELECT p.slug, c.uid FROM countermeasures c JOIN projects p"
                            " ON p.id = c.project_id WHERE c.state = 'active'"
                            " AND c.in_scope = 1 AND c.status = 'todo'").fetchall()
        con.close()
        if len(tasks) != 500:
            fail(f"the fixture should give 500 tasks, got {len(tasks)}")

        log_path = os.path.join(work, "daemon.log")
        log = open(log_path, "a")
        kills = []
        for k in range(a.kills):
            d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
            # The first pass starts one tick (1 s) after start-up and a
            # whole push takes a couple of seconds: kill within its first
            # quarter second so the 20 kills spread over the push.
            delay = rnd.uniform(0.95, 1.2)
            time.sleep(delay)
            d.send_signal(signal.SIGKILL)
            d.wait(timeout=30)
            tickets = len(emu_issues(jport)) + len(emu_issues(gport))
            kills.append((round(delay, 3), tickets))
        d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
        start = time.time()
        deadline = start + 120
        # At least one whole pass (tick 1 s + push + poll) before SIGTERM.
        while time.time() < deadline and (outstanding(db) > 0 or time.time() - start < 3):
            time.sleep(0.5)
        left = outstanding(db)
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

        # Exactly one ticket per task in the trackers, by marker label.
        by_marker = {}
        for port in (jport, gport):
            for issue in emu_issues(port):
                labels = issue.get("labels") or issue.get("fields", {}).get("labels") or []
                for lab in labels:
                    if lab.startswith("threatsync-"):
                        by_marker[lab] = by_marker.get(lab, 0) + 1
        total_issues = len(emu_issues(jport)) + len(emu_issues(gport))
        missing = [t for t in tasks if by_marker.get(marker(*t), 0) == 0]
        dups = {m: n for m, n in by_marker.items() if n > 1}
        if missing:
            fail(f"{len(missing)} task(s) without a ticket, e.g. {missing[:3]}")
        if dups:
            fail(f"{len(dups)} marker(s) with more than one ticket: {list(dups.items())[:5]}")
        if total_issues != 500:
            fail(f"{total_issues} issues in the emulators, expected 500")
        con = sqlite3.connect(db)
        linked = con.execute("SELECT count(*) FROM countermeasures WHERE in_scope = 1"
                             " AND state = 'active' AND ticket_id IS NOT NULL").fetchone()[0]
        tickets = con.execute("SELECT count(*), count(DISTINCT marker),"
                              " count(DISTINCT remote_key) FROM tickets").fetchone()
        dead = con.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
        con.close()
        if linked != 500 or tickets != (500, 500, 500):
            fail(f"database: {linked} tasks linked, tickets (rows, markers, keys) = {tickets}")
        if dead:
            fail(f"{dead} dead outbox rows")
        with open(log_path, errors="replace") as f:
            logtext = f.read()
        recovered = sum(int(m) for m in re.findall(
            r"(\d+) outbox row\(s\) were left in flight", logtext))
        if TOKEN in logtext:
            fail("the API token appears in the daemon's log")
        creates = 0
        lookups = 0
        for port in (jport, gport):
            stats = emu_get(port, "/_emu/stats").get("by_endpoint", {})
            for ep, codes in stats.items():
                n = sum(codes.values())
                if ep.startswith("POST") and ep.endswith("/issue") or ep.endswith("/issues") \
                        and ep.startswith("POST"):
                    creates += n
                if ep.startswith("GET") and ("search" in ep or ep.endswith("/issues")):
                    lookups += n
        print(f"kill_test: OK: 500 tasks, 500 tickets (Jira {len(emu_issues(jport))}, "
              f"GitLab {len(emu_issues(gport))}), 0 duplicates, {a.kills} SIGKILLs "
              f"(seed {a.seed}), create requests {creates}, search/list requests {lookups}, "
              f"rows in flight at a kill (resolved by marker) {recovered}, "
              f"{time.time() - t0:.1f} s")
        print("kill_test: kills (delay s, tickets in trackers after the kill): "
              + ", ".join(f"{d}/{n}" for d, n in kills))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if a.keep:
            print(f"kill_test: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
