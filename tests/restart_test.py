#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Restart test: a daemon restarted every few seconds still creates tickets.

After each restart the rows left in flight are creates of unknown outcome,
looked up by marker over Jira's search index lag (three lookups 5 s apart, the
default). Those lookups wait on a timer without holding a concurrency slot, so
the other tasks' creates go on meanwhile. Generates 400 tasks on the Jira Cloud
emulator (search index lag 2 s), starts threatsyncd, SIGKILLs it ten times 1-3 s
after each start, and asserts that tickets were created between the restarts,
then that the push completes with exactly one ticket per task and no dead row.

usage: restart_test.py --threatsync BIN --threatsyncd BIN --source-dir DIR
                       [--seed N] [--restarts N] [--keep]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kill_test import TOKEN, emu_issues, marker, model, outstanding, run, start_emulator  # noqa: E402

COMPONENTS = 100  # 4 tasks each with the fixture library


def fail(msg):
    print(f"restart_test: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    src = a.source_dir
    work = tempfile.mkdtemp(prefix="ts-restart-")
    procs = []
    t0 = time.time()
    try:
        jira, jport = start_emulator(os.path.join(src, "tests/emulators/jira_emulator.py"),
                                     work, "jira", ["--seed", str(a.seed),
                                                    "--index-lag-ms", "2000"])
        procs.append(jira)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        with open(os.path.join(creds, "jira_token"), "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(os.path.join(creds, "jira_token"), 0o600)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        lib = os.path.join(src, "tests/data/generate/lib")
        # 20 requests/s keeps the push longer than the restarts: every
        # interval has work left.
        with open(conf, "w") as f:
            f.write(f"""database = "{db}";
library_paths = [ "{lib}" ];
log_level = "info";
shutdown_timeout_ms = 2000;
http = {{ listen = ""; }};
connectors = (
  {{ name = "jira"; type = "jira"; flavor = "cloud"; base_url = "http://127.0.0.1:{jport}";
     email = "threatsync@example.com"; token_file = "jira_token"; concurrency = 4;
     rate_per_second = 20.0; burst = 4; max_attempts = 100; poll_interval_s = 5;
     request_timeout_ms = 10000; }}
);
projects = ( {{ slug = "restart"; connector = "jira"; tracker_project = "WRU"; }} );
classification = ( {{ name = "all"; when = "true"; class = "critical"; }} );
""")
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli = [a.threatsync, "-c", conf]
        run(cli + ["db", "migrate"], env=env)
        path = os.path.join(work, "model.json")
        with open(path, "w") as f:
            json.dump(model("web", COMPONENTS), f)
        run(cli + ["project", "add", "restart"], env=env)
        run(cli + ["model", "import", "restart", path], env=env)
        run(cli + ["generate", "restart"], env=env)
        n_tasks = COMPONENTS * 4

        log_path = os.path.join(work, "daemon.log")
        log = open(log_path, "a")
        intervals = []  # (seconds alive, tickets created meanwhile)
        for _ in range(a.restarts):
            before = len(emu_issues(jport))
            d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
            delay = rnd.uniform(1.0, 3.0)
            time.sleep(delay)
            d.send_signal(signal.SIGKILL)
            d.wait(timeout=30)
            intervals.append((round(delay, 2), len(emu_issues(jport)) - before))
        shown = ", ".join(f"{s}s/{n}" for s, n in intervals)
        # The first pass starts a tick (1 s) after start-up, itself some
        # 0.1-0.5 s: an interval of 2 s or more has half a second of work.
        idle = [(s, n) for s, n in intervals if s >= 2.0 and n == 0]
        if idle:
            fail(f"no ticket created while the daemon ran {idle[0][0]} s after a restart "
                 f"(intervals, s/tickets: {shown})")
        if sum(n for _, n in intervals) < 50:
            fail(f"only {sum(n for _, n in intervals)} tickets in {a.restarts} restarts "
                 f"(intervals, s/tickets: {shown})")

        d = subprocess.Popen([a.threatsyncd, "-c", conf], stderr=log, env=env)
        start = time.time()
        while time.time() - start < 150 and (outstanding(db) > 0 or time.time() - start < 3):
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
            fail(f"{left} outbox rows still outstanding after 150 s")
        if rc != 0:
            fail(f"threatsyncd exited {rc} after SIGTERM")
        by_marker = {}
        issues = emu_issues(jport)
        for issue in issues:
            for lab in issue.get("labels") or []:
                if lab.startswith("threatsync-"):
                    by_marker[lab] = by_marker.get(lab, 0) + 1
        con = sqlite3.connect(db)
        uids = [r[0] for r in con.execute(
            "SELECT uid FROM countermeasures WHERE state = 'active' AND in_scope = 1")]
        dead = con.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
        con.close()
        missing = [u for u in uids if by_marker.get(marker("restart", u), 0) == 0]
        dups = {m: n for m, n in by_marker.items() if n > 1}
        if len(uids) != n_tasks or missing or dups or len(issues) != n_tasks:
            fail(f"{len(uids)} tasks, {len(issues)} issues, {len(missing)} without a "
                 f"ticket, {len(dups)} with more than one")
        if dead:
            fail(f"{dead} dead outbox rows")
        print(f"restart_test: OK: {n_tasks} tasks, {len(issues)} tickets, 0 duplicates, "
              f"{a.restarts} SIGKILLs (seed {a.seed}), {time.time() - t0:.1f} s; "
              f"intervals (s alive/tickets created): {shown}")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if a.keep:
            print(f"restart_test: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
