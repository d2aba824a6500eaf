#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Poll benchmark helper (bench_poll.sh): seeds the Jira emulator and the
database with N linked tickets, changes a few, measures one poll pass.

  sync_poll.py seed URL DB SLUG N CHANGED OUT.json
      emulator: N issues in project SEC labelled `threatsync` (the CHANGED ones,
      spread over the range, also carry their task's marker label, as tickets
      threatsync created do), last updated two days ago, indexed at once
      (/_emu/seed). Database: N active tasks (countermeasures) of project SLUG,
      each linked to its ticket (tickets row with the marker, key, id, status
      and the tracker's `updated` verbatim), one finished create row per task
      in the outbox, the poll cursor of (jira, SEC) set to now, and ANALYZE
      run (statistics, as in a database in use). OUT.json
      lists the CHANGED keys.
  sync_poll.py change URL SEED.json
      moves each of those issues to Done as a human (/_emu/issues/KEY/transition).
  sync_poll.py measure N CHANGED URL DB CONF THREATSYNC WORKDIR OUT.json
      runs `threatsync sync --once --json` twice (the pass that sees the
      changes, then one that sees none) under sync_util.measure, with the
      requests each sent (emulator stats before/after); then the baselines:
      curl replaying the pass's GET requests in sequence on one connection,
      `sqlite3 DB "SELECT count(*) FROM tickets"`, `threatsync --version`.
  sync_poll.py daemon THREATSYNCD CONF SEED.json URL WORKDIR RESULT.json ROUNDS
      the daemon's own poll cycle (no process start, statements prepared,
      /myself cached): runs threatsyncd on the same database with
      poll_interval_s = 5 and debug logging, then ROUNDS times moves the
      CHANGED issues to another status and waits for the pass that applies
      them; each pass logs its CPU time (cpu_ms, getrusage of the daemon
      over the pass). Adds "daemon" (the passes' figures) to RESULT.json.
  sync_poll.py table RESULT.json...
      prints the table (bench_poll.sh writes one RESULT.json per size).
"""
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_util  # noqa: E402

DAY_MS = 24 * 3600 * 1000
LABELS = ["threatsync", "security"]


def jira_time(ms):
    """Jira's rendering of a time for an API user in UTC (the emulator's default)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03d+0000" % (ms % 1000)


def iso_now():
    ms = int(time.time() * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def marker(slug, uid):
    return "threatsync-" + hashlib.sha256(("%s/%s" % (slug, uid)).encode()).hexdigest()[:16]


def seed(url, db, slug, n, changed, out):
    if n < 1 or changed < 1 or changed > n:
        raise SystemExit("sync_poll.py seed: need 1 <= CHANGED <= N")
    emu = sync_util.Emu(url)
    base_ms = int(time.time() * 1000) - 2 * DAY_MS
    picks = sorted({(2 * k + 1) * n // (2 * changed) for k in range(changed)})
    uids = ["cm-%07d" % (i + 1) for i in range(n)]
    # Issues in order: plain runs seeded in bulk, each picked one alone with its marker.
    pos = 0
    first_key = None
    for p in picks + [n]:
        if p > pos:
            r = emu.ok("POST", "/_emu/seed", {"count": p - pos, "labels": LABELS, "project": "SEC",
                                             "status": "To Do", "updated_start_ms": base_ms + pos,
                                             "updated_step_ms": 1})
            first_key = first_key or r["first"]
        if p < n:
            r = emu.ok("POST", "/_emu/seed", {
                "count": 1, "labels": ["threatsync", marker(slug, uids[p]), "security"],
                "project": "SEC", "status": "To Do", "updated_start_ms": base_ms + p,
                "updated_step_ms": 1})
            first_key = first_key or r["first"]
        pos = p + 1
    if first_key != "SEC-1" or r["last"] != "SEC-%d" % n:
        raise SystemExit("sync_poll.py: the emulator was not empty (keys %s..%s)"
                         % (first_key, r["last"]))
    one = emu.ok("GET", "/_emu/issues/SEC-1")
    id0 = int(one["id"])
    con = sqlite3.connect(db, timeout=30)
    project = con.execute("SELECT id FROM projects WHERE slug = ?", (slug,)).fetchone()[0]
    now = iso_now()
    chash = "0" * 64
    with con:
        con.executemany(
            "INSERT INTO countermeasures (id, project_id, uid, library_id, component_key, title,"
            " priority, status, body, content_hash, first_version, last_version, created_at,"
            " updated_at) VALUES (?, ?, ?, 'bench.countermeasure', ?, ?, 3, 'todo', '{}', ?, 1, 1,"
            " ?, ?)",
            ((i + 1, project, uids[i], "c%07d" % (i // 16), "Bench task %d" % (i + 1), chash,
              now, now) for i in range(n)))
        con.executemany(
            "INSERT INTO tickets (id, project_id, connector, marker, remote_key, remote_id,"
            " remote_url, remote_status, remote_status_category, remote_updated, content_hash,"
            " created_at, updated_at) VALUES (?, ?, 'jira', ?, ?, ?, ?, 'To Do', 'new', ?, ?, ?, ?)",
            ((i + 1, project, marker(slug, uids[i]), "SEC-%d" % (i + 1), str(id0 + i),
              "%s/browse/SEC-%d" % (url, i + 1), jira_time(base_ms + i), chash, now, now)
             for i in range(n)))
        con.execute("UPDATE countermeasures SET ticket_id = id WHERE project_id = ?", (project,))
        con.executemany(
            "INSERT INTO outbox (project_id, connector, op, countermeasure_id, ticket_id, state,"
            " attempts, created_at, updated_at) VALUES (?, 'jira', 'create', ?, ?, 'done', 0, ?, ?)",
            ((project, i + 1, i + 1, now, now) for i in range(n)))
        cursor = jira_time(int(time.time() * 1000))
        con.execute("INSERT INTO sync_cursors VALUES ('jira', 'SEC', ?, ?)", (cursor, now))
    # A database in use has statistics (threatsync runs PRAGMA optimize at
    # every close); without them the first pass would pay a one-off ANALYZE.
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with open(out, "w") as f:
        json.dump({"keys": ["SEC-%d" % (p + 1) for p in picks], "cursor": cursor}, f)
    return 0


def change(url, seed_file, to="Done"):
    emu = sync_util.Emu(url)
    with open(seed_file) as f:
        keys = json.load(f)["keys"]
    for k in keys:
        emu.ok("POST", "/_emu/issues/%s/transition" % k, {"to": to, "actor": "alice"})
    return 0


PASS_RE = re.compile(r"sync pass connector=jira .*?polled=(\d+) .*?changed=(\d+) .*?"
                     r"poll_requests=(\d+).*?duration_ms=(\d+) cpu_ms=([0-9.]+)")
PASS_IDLE_RE = re.compile(r"sync pass connector=jira polled=(\d+) poll_requests=(\d+) "
                          r"duration_ms=(\d+) cpu_ms=([0-9.]+)")


def daemon_passes(log_path):
    """The passes the daemon logged so far: dicts of polled, changed,
    poll_requests, duration_ms, cpu_ms."""
    out = []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = PASS_RE.search(line)
            if m:
                out.append({"polled": int(m.group(1)), "changed": int(m.group(2)),
                            "poll_requests": int(m.group(3)), "duration_ms": int(m.group(4)),
                            "cpu_ms": float(m.group(5))})
                continue
            m = PASS_IDLE_RE.search(line)
            if m:
                out.append({"polled": int(m.group(1)), "changed": 0,
                            "poll_requests": int(m.group(2)), "duration_ms": int(m.group(3)),
                            "cpu_ms": float(m.group(4))})
    return out


def daemon(binary, conf, seed_file, url, workdir, result_file, rounds):
    with open(conf) as f:
        text = f.read()
    text = text.replace("poll_interval_s = 60", "poll_interval_s = 5")
    text = text.replace('log_level = "notice"', 'log_level = "debug"')
    dconf = os.path.join(workdir, "daemon.conf")
    with open(dconf, "w") as f:
        f.write(text)
    log_path = os.path.join(workdir, "daemon.log")
    with open(seed_file) as f:
        changed = len(json.load(f)["keys"])
    res = {"rounds": [], "idle": []}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([binary, "-c", dconf], stdout=log, stderr=subprocess.STDOUT)
    ok = True
    try:
        def wait_passes(n, timeout):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if proc.poll() is not None:
                    raise SystemExit("sync_poll.py: threatsyncd exited (see %s)" % log_path)
                got = daemon_passes(log_path)
                if len(got) >= n:
                    return got
                time.sleep(0.05)
            raise SystemExit("sync_poll.py: no daemon pass within %d s (see %s)"
                             % (timeout, log_path))
        seen = len(wait_passes(1, 30))  # the first pass, at start: nothing new
        for k in range(rounds):
            change(url, seed_file, "In Progress" if k % 2 == 0 else "To Do")
            got = wait_passes(seen + 1, 30)
            # A pass already under way when the issues moved may see some.
            applied = sum(p["changed"] for p in got[seen:])
            while applied < changed:
                got = wait_passes(len(got) + 1, 30)
                applied = sum(p["changed"] for p in got[seen:])
            res["rounds"].append(got[-1])
            res["idle"].extend(p for p in got[seen:-1])
            ok = ok and applied == changed
            seen = len(got)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    res["first"] = daemon_passes(log_path)[0]
    with open(result_file) as f:
        doc = json.load(f)
    doc["daemon"] = res
    with open(result_file, "w") as f:
        json.dump(doc, f, indent=1)
    return 0 if ok else 1


def one_pass(emu, cmd, workdir, name):
    """One `sync --once --json` under measure(), with what the emulator saw."""
    before = emu.stats()["total"]
    seq = max([r["seq"] for r in emu.requests()] or [0])
    report = os.path.join(workdir, "report-%s.json" % name)
    m = sync_util.measure(cmd, stdout=report, stderr=os.path.join(workdir, "sync-%s.log" % name))
    after = emu.stats()["total"]
    sent = emu.requests(since=seq)
    with open(report) as f:
        doc = json.load(f) if m["rc"] == 0 else {"connectors": [{"poll": {}}]}
    poll = doc["connectors"][0]["poll"]
    m.update({"requests": after - before, "issues": poll.get("issues", 0),
              "inproc_cpu_ms": doc.get("cpu_ms"),
              "status_changes": poll.get("status_changes", 0),
              "emu_ms": sum(r["duration_ms"] for r in sent),
              "sent": [{"method": r["method"], "path": r["path"], "query": r["query"],
                        "status": r["status"]} for r in sent]})
    return m


def measure_all(n, changed, url, db, conf, binary, workdir, out):
    emu = sync_util.Emu(url)
    # SYNC_WRAP: a command prefix for the threatsync passes (a profiler).
    cmd = os.environ.get("SYNC_WRAP", "").split() + [binary, "-c", conf, "sync", "--once",
                                                     "--json"]
    res = {"tickets": n, "changed": changed}
    res["pass"] = one_pass(emu, cmd, workdir, "pass")
    res["again"] = one_pass(emu, cmd, workdir, "again")
    # Baselines: curl sending the pass's GET requests (one connection, in
    # sequence), sqlite3 counting the tickets, the binary doing nothing.
    cfg = os.path.join(workdir, "curl-poll.cfg")
    gets = [r for r in res["pass"]["sent"] if r["method"] == "GET"]
    sync_util.write_curl_config(cfg, url, gets, sync_util.auth_headers("jira"))
    res["curl"] = sync_util.run_curl(cfg, 1, os.path.join(workdir, "curl-poll.codes"))
    res["curl"]["requests"] = len(gets)
    res["sqlite"] = sync_util.measure(["sqlite3", db, "SELECT count(*) FROM tickets"])
    res["version"] = sync_util.measure([binary, "--version"])
    con = sqlite3.connect(db, timeout=30)
    res["history"] = con.execute(
        "SELECT count(*) FROM status_history WHERE source = 'poll'").fetchone()[0]
    con.close()
    size = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
    res["db_mib"] = size / 1048576.0
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    return 0 if res["pass"]["rc"] == 0 and res["again"]["rc"] == 0 else 1


def table(files):
    rows = []
    for p in files:
        with open(p) as f:
            rows.append(json.load(f))
    print("poll benchmark: one `threatsync sync --once` after %d of N linked Jira tickets changed"
          % rows[0]["changed"])
    print("%8s %6s %-34s %8s %8s %8s %8s" % ("tickets", "db_MiB", "run", "requests", "issues",
                                            "cpu_ms", "wall_ms"))
    fails = 0
    for r in rows:
        n = r["tickets"]
        for name, key in (("threatsync sync --once", "pass"),
                          ("threatsync sync --once (again)", "again")):
            x = r[key]
            print("%8d %6.1f %-34s %8d %8d %8.1f %8.1f" % (
                n, r["db_mib"], name, x["requests"], x["issues"], x["cpu_ms"], x["wall_s"] * 1000))
        for name, key in (("curl: the same GET requests", "curl"),
                          ("sqlite3: SELECT count(*) FROM tickets", "sqlite"),
                          ("threatsync --version", "version")):
            x = r[key]
            print("%8d %6.1f %-34s %8s %8s %8.1f %8.1f" % (
                n, r["db_mib"], name, x.get("requests", "-"), "-", x["cpu_ms"], x["wall_s"] * 1000))
        p = r["pass"]
        print("%8d %6.1f status changes %d (history rows %d); cpu ratios: x curl %.1f, x sqlite3 "
              "count %.1f, x --version %.1f; emulator time in the pass %.1f ms" % (
                  n, r["db_mib"], p["status_changes"], r["history"],
                  p["cpu_ms"] / max(r["curl"]["cpu_ms"], 0.001),
                  p["cpu_ms"] / max(r["sqlite"]["cpu_ms"], 0.001),
                  p["cpu_ms"] / max(r["version"]["cpu_ms"], 0.001), p["emu_ms"]))
        if p.get("inproc_cpu_ms") is not None:
            print("%8d %6.1f CLI pass alone (report cpu_ms, no process start): %.1f ms, again "
                  "%.1f ms" % (n, r["db_mib"], p["inproc_cpu_ms"],
                               r["again"].get("inproc_cpu_ms") or 0.0))
        ok_req = p["requests"] <= 2
        ok_cpu = p["cpu_ms"] <= 20.0
        d = r.get("daemon")
        if d:
            cpus = sorted(x["cpu_ms"] for x in d["rounds"])
            med = cpus[len(cpus) // 2]
            print("%8d %6.1f %-34s %8s %8s %8s %8s" % (n, r["db_mib"], "threatsyncd poll cycle",
                                                      "", "", "", ""))
            for i, x in enumerate(d["rounds"]):
                print("%8d %6.1f %-34s %8d %8d %8.1f %8.1f" % (
                    n, r["db_mib"], "  round %d (%d changed)" % (i + 1, x["changed"]),
                    x["poll_requests"], x["polled"], x["cpu_ms"], x["duration_ms"]))
            f = d["first"]
            print("%8d %6.1f %-34s %8d %8d %8.1f %8.1f" % (
                n, r["db_mib"], "  first pass at start (cold)", f["poll_requests"], f["polled"],
                f["cpu_ms"], f["duration_ms"]))
            ok_cpu = med <= 20.0
            print("%8d %6s daemon: median cpu %.1f ms per cycle with %d changes (goal <= 20 ms: "
                  "%s)" % (n, "", med, r["changed"], "met" if ok_cpu else "MISSED"))
        ok_apply = p["status_changes"] == r["changed"] and r["history"] == r["changed"]
        print("%8d %6s goals: requests <= 2 %s, cpu <= 20 ms %s%s, %d changes applied %s" % (
            n, "", "met" if ok_req else "MISSED", "met" if ok_cpu else "MISSED",
            " (daemon cycle)" if d else " (CLI process)", r["changed"],
            "yes" if ok_apply else "NO"))
        if not ok_apply or p["rc"] != 0:
            fails += 1
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print("growth %d -> %d tickets (x%.0f): pass cpu x%.2f, requests %d -> %d" % (
            a["tickets"], b["tickets"], b["tickets"] / a["tickets"],
            b["pass"]["cpu_ms"] / max(a["pass"]["cpu_ms"], 0.001), a["pass"]["requests"],
            b["pass"]["requests"]))
        if a.get("daemon") and b.get("daemon"):
            def med(r):
                c = sorted(x["cpu_ms"] for x in r["daemon"]["rounds"])
                return c[len(c) // 2]
            print("growth %d -> %d tickets: daemon cycle cpu x%.2f (%.1f -> %.1f ms)" % (
                a["tickets"], b["tickets"], med(b) / max(med(a), 0.001), med(a), med(b)))
    return 1 if fails else 0


def main(argv):
    if len(argv) == 8 and argv[1] == "seed":
        return seed(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), argv[7])
    if len(argv) == 4 and argv[1] == "change":
        return change(argv[2], argv[3])
    if len(argv) == 10 and argv[1] == "measure":
        return measure_all(int(argv[2]), int(argv[3]), argv[4], argv[5], argv[6], argv[7],
                           argv[8], argv[9])
    if len(argv) == 9 and argv[1] == "daemon":
        return daemon(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], int(argv[8]))
    if len(argv) >= 3 and argv[1] == "table":
        return table(argv[2:])
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
