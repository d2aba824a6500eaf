#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""threatsyncd under storage faults: it says so, keeps serving, retries, and
loses nothing once the fault clears.

A project of 20 tasks on the Jira Cloud emulator (which delivers signed
webhooks to the daemon) is pushed by threatsyncd. Then a new model version adds
8 tasks (the tracker answering slowly, so that their push runs into the
fault), the fault starts and people move 3 tickets in Jira. While the fault
lasts the daemon must log an error-level line ("<3>database degraded") and /healthz must answer "degraded" with the reason,
within 6 s. Once it clears: all 28 tasks have exactly one ticket each, the 3
status changes are in the database with their history rows, no outbox row is
dead or outstanding, /healthz is "ok" again and integrity_check is ok.

The faults (--fault):
  locked      another process holds a write transaction (BEGIN IMMEDIATE) for
              --hold seconds (default 10)
  disk-full   the daemon's file size limit (RLIMIT_FSIZE) is set to 0 while it
              runs, so every write of the database fails (EFBIG)
  read-only   the database and its WAL are made immutable (chattr +i; needs
              root: skipped, exit 77, otherwise)
  wal-deleted the daemon is stopped, its WAL and shared-memory files deleted,
              and started again: nothing committed is lost
  second      a second threatsyncd on the same database refuses to start (exit
              75, naming the first one's pid) and the first runs on

usage: storage_faults.py --threatsync BIN --threatsyncd BIN --source-dir DIR
                         --fault NAME [--hold S]
"""
import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ts_harness as th  # noqa: E402

HOOK = "hook-secret-storage"
FIRST, ADDED, MOVED = 5, 2, 3  # components (4 tasks each) first and added; tickets moved
SKIP = 77


def emu_post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def wait_for(what, cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.25)
    raise th.Failure(f"timed out after {timeout} s waiting for {what}")


def q(db, sql, args=()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def healthz(port):
    t = time.monotonic()
    st, body = th.call(port, "GET", "/healthz", timeout=15)
    return st, json.loads(body), time.monotonic() - t


class Locker(threading.Thread):
    """Holds a write transaction on the database for hold seconds."""

    def __init__(self, db, hold):
        super().__init__(daemon=True)
        self.db, self.hold = db, hold
        self.taken = threading.Event()

    def run(self):
        con = sqlite3.connect(self.db, timeout=30, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        self.taken.set()
        time.sleep(self.hold)
        con.execute("ROLLBACK")
        con.close()


def chattr(flag, paths):
    for p in paths:
        r = subprocess.run(["chattr", flag, p], capture_output=True, text=True)
        if r.returncode != 0:
            return r.stderr.strip() or f"chattr exited {r.returncode}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--fault", required=True,
                    choices=("locked", "disk-full", "read-only", "wal-deleted", "second"))
    ap.add_argument("--hold", type=float, default=10.0, help="seconds the fault lasts")
    a = ap.parse_args()
    src = os.path.abspath(a.source_dir)
    tag = f"storage_faults[{a.fault}]"
    if a.fault == "read-only" and os.geteuid() != 0:
        print(f"{tag}: SKIP: making a file immutable needs root")
        sys.exit(SKIP)
    work = tempfile.mkdtemp(prefix="ts-storage-")
    procs, d, immutable = [], None, []
    try:
        jira, jport = th.kt.start_emulator(os.path.join(src, "tests/emulators/jira_emulator.py"),
                                           work, "jira", [])
        procs.append(jira)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        th.write_secret(creds, "jira_token", th.kt.TOKEN)
        th.write_secret(creds, "jira_hook", HOOK)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        port = th.free_port()
        th.write_config(conf, db, os.path.join(src, "tests/data/generate/lib"), port,
                        [th.jira_connector("jira", jport)], [("store", "jira", "WRU")])
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli = [a.threatsync, "-c", conf]
        th.kt.run(cli + ["db", "migrate"], env=env)
        th.kt.run(cli + ["project", "add", "store"], env=env)

        def import_model(n):
            path = os.path.join(work, f"model-{n}.json")
            with open(path, "w") as f:
                json.dump(th.kt.model("web", n), f)
            th.kt.run(cli + ["model", "import", "store", path], env=env)
            th.kt.run(cli + ["generate", "store"], env=env)
        import_model(FIRST)
        emu_post(jport, "/_emu/webhooks", {"url": f"http://127.0.0.1:{port}/hooks/jira/jira",
                                           "secret": HOOK, "sign": True})
        d = th.Daemon(a.threatsyncd, conf, env, os.path.join(work, "daemon.log"), port)
        d.start(pipe=True)
        first = FIRST * 4
        wait_for("the first push", lambda: th.kt.outstanding(db) == 0
                 and len(th.kt.emu_issues(jport)) == first)

        if a.fault == "second":
            port2 = th.free_port()
            conf2 = os.path.join(work, "second.conf")
            with open(conf) as f:
                text = f.read().replace(f"127.0.0.1:{port}", f"127.0.0.1:{port2}")
            with open(conf2, "w") as f:
                f.write(text)
            t = time.monotonic()
            r = subprocess.run([a.threatsyncd, "-c", conf2], capture_output=True, text=True,
                               env=env, timeout=30)
            took = time.monotonic() - t
            want = f"database {db} is in use by another threatsyncd (pid {d.proc.pid}"
            th.check(r.returncode == 75, f"the second daemon exited {r.returncode}, expected 75:"
                     f" {r.stderr.strip()}")
            th.check(want in r.stderr and r.stderr.startswith("<3>"),
                     f"the second daemon's message: {r.stderr.strip()!r}, expected {want!r}")
            st, doc, _ = healthz(port)
            th.check(st == 200 and doc["status"] == "ok", f"the first daemon's /healthz: {doc}")
            rc = d.stop()
            th.check(rc == 0, f"threatsyncd exited {rc}")
            print(f"{tag}: OK: the second threatsyncd exited 75 in {took:.2f} s: "
                  f"{r.stderr.strip()}; the first ran on")
            return

        if a.fault == "wal-deleted":
            rc = d.stop()
            th.check(rc == 0, f"threatsyncd exited {rc}")
            before = q(db, "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM outbox"
                           " WHERE state = 'done'), (SELECT count(*) FROM status_history)")[0]
            gone = [s for s in ("-wal", "-shm") if os.path.exists(db + s)]
            for s in gone:
                os.unlink(db + s)
            d.start(pipe=True)
            after = q(db, "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM outbox"
                          " WHERE state = 'done'), (SELECT count(*) FROM status_history)")[0]
            th.check(after == before, f"after the restart without {gone}: (tickets, done rows,"
                     f" history) {before} -> {after}")

        # The tracker answers slowly while the new tasks are queued and the
        # fault starts, so that their push runs into it.
        emu_post(jport, "/_emu/faults", {"latency_ms": "700"})
        import_model(FIRST + ADDED)
        history0 = q(db, "SELECT count(*) FROM status_history WHERE source IN "
                         "('poll', 'webhook')")[0][0]
        locker = None
        t_fault = time.monotonic()
        if a.fault == "locked":
            locker = Locker(db, a.hold)
            locker.start()
            locker.taken.wait(10)
        elif a.fault == "disk-full":
            resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        elif a.fault == "read-only":
            immutable = [p for p in (db, db + "-wal") if os.path.exists(p)]
            err = chattr("+i", immutable)
            if err:
                chattr("-i", immutable)
                immutable = []
                print(f"{tag}: SKIP: chattr +i: {err}")
                sys.exit(SKIP)
        emu_post(jport, "/_emu/faults", {"latency_ms": "0"})
        keys = sorted(i["key"] for i in th.kt.emu_issues(jport))[:MOVED]
        for k in keys:
            emu_post(jport, f"/_emu/issues/{k}/transition", {"to": "In Progress"})

        degraded_seen, slowest = None, 0.0
        if a.fault != "wal-deleted":
            while time.monotonic() - t_fault < a.hold:
                st, doc, took = healthz(port)
                slowest = max(slowest, took)
                if doc.get("status") == "degraded":
                    degraded_seen = doc
                time.sleep(0.5)
            th.check(degraded_seen is not None, "/healthz never said degraded during the fault")
            th.check(slowest <= 6.0, f"/healthz took {slowest:.1f} s during the fault")
            th.check("<3>database degraded" in d.log(), "no error-level line about the database")
        if locker:
            locker.join()
        elif a.fault == "disk-full":
            resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        elif a.fault == "read-only":
            chattr("-i", immutable)
            immutable = []

        total = (FIRST + ADDED) * 4

        def recovered():
            st, doc, _ = healthz(port)
            moved = q(db, "SELECT count(DISTINCT t.remote_key) FROM status_history h JOIN"
                          " countermeasures c ON c.id = h.countermeasure_id JOIN tickets t ON"
                          " t.id = c.ticket_id WHERE h.source IN ('poll', 'webhook') AND"
                          " h.to_status = 'in_progress'")[0][0]
            return doc["status"] == "ok" and th.kt.outstanding(db) == 0 and moved == MOVED \
                and len(th.kt.emu_issues(jport)) == total
        wait_for("the recovery", recovered, 60)
        recovered_s = time.monotonic() - t_fault
        issues = th.kt.emu_issues(jport)
        by_marker = {}
        for i in issues:
            for lab in i.get("labels") or []:
                if lab.startswith("threatsync-"):
                    by_marker[lab] = by_marker.get(lab, 0) + 1
        tasks = q(db, "SELECT p.slug, c.uid FROM countermeasures c JOIN projects p ON"
                      " p.id = c.project_id WHERE c.state = 'active' AND c.in_scope = 1")
        missing = [t for t in tasks if by_marker.get(th.kt.marker(*t), 0) != 1]
        th.check(len(tasks) == total and not missing and len(issues) == total,
                 f"{len(tasks)} tasks, {len(issues)} issues; not exactly one ticket: {missing[:3]}")
        dead = q(db, "SELECT count(*) FROM outbox WHERE state = 'dead'")[0][0]
        th.check(dead == 0, f"{dead} dead outbox rows")
        history = q(db, "SELECT count(*) FROM status_history WHERE source IN "
                        "('poll', 'webhook')")[0][0]
        th.check(history - history0 == MOVED,
                 f"{history - history0} status changes recorded, expected {MOVED}")
        ok = q(db, "PRAGMA integrity_check")[0][0]
        th.check(ok == "ok", f"integrity_check: {ok}")
        log = d.log()
        if a.fault != "wal-deleted":
            th.check("<5>database writable again" in log, "no line about the recovery")
        rc = d.stop()
        th.check(rc == 0, f"threatsyncd exited {rc}")
        reason = degraded_seen["storage"]["error"] if degraded_seen else "-"
        print(f"{tag}: OK: {total} tasks, {len(issues)} tickets, {MOVED} status changes with "
              f"their history rows, 0 dead rows, integrity ok; recovered "
              f"{recovered_s:.1f} s after the fault began; /healthz slowest {slowest:.2f} s, "
              f"reason: {reason}")
    except th.Failure as e:
        th.report_failure(tag, e, d, 4000)
    finally:
        if immutable:
            chattr("-i", immutable)
        th.stop_all(d, procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
