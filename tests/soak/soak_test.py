#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Soak test: threatsyncd against three trackers at once with every fault on,
for a bounded time.

Jira Cloud, Jira Data Center and GitLab emulators answer with faults
(429 with Retry-After, 500/502/503, connection resets before and after the
write is committed, slow and malformed answers; the Jira Cloud search index
lags). Meanwhile: the models are re-imported (a component more, every name
changed) and regenerated, people move tickets in the emulators, the emulators
deliver signed webhooks (some twice, out of order) and the test forges others,
the daemon gets SIGHUP every few seconds (one in three with an invalid file),
is killed with SIGKILL and restarted at random moments during the first 40 %
of the run, and scan reports are uploaded through its API. Then the faults
stop and the daemon drains.

Asserts: every task has exactly one ticket (by marker) and no ticket is
unmarked; every ticket's status in the database is the tracker's and every
task a person moved has the history row of its status from a poll, a webhook or
a reconciliation; no dead outbox row; no request reached a tracker before a
Retry-After passed (the emulators' holds; those of a killed process are
forgotten at its restart, as the new process cannot know them); every upload
ingested; integrity_check is ok; the RSS and the anonymous memory of the
daemon's last process (which runs the last 60 % of the run) do not grow after
its first minute (see MEM_TOLERANCE_KIB). Prints the figures.

usage: soak_test.py --threatsync BIN --threatsyncd BIN --source-dir DIR
                    [--seconds 180] [--seed N] [--keep]
CI runs 180 s; the longer run: --seconds 600.
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ts_harness as th  # noqa: E402
import verify_kill_test as vkt  # noqa: E402  (its SARIF log)

HOOK, GL_HOOK, API = "soak-hook-1", "soak-gl-hook-2", "soak-api-3"
FAULTS = "429,500,502,503,reset_before_commit,reset_after_commit,slow,malformed"
FAULT_RATE = 0.08
JIRA_MOVES = ("In Progress", "Done", "To Do")
PROJECTS = (("soak-cloud", "jira", "WRU", "web"), ("soak-dc", "jiradc", "SEC", "svc"),
            ("soak-gl", "gitlab", "security/widgets", "app"))
START_COMPONENTS = 6


def emu_post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def memory_kib(pid):
    """(resident, anonymous) KiB of pid from /proc/PID/smaps_rollup, or None.
    Anonymous is the heap, the thread stacks and the libraries' written data:
    what a leak grows. Resident adds the pages of the binary and the
    libraries mapped from files, which grow once as code runs for the first
    time (an error path, the TLS code of a retry)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Anonymous"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return (out["Rss"], out["Anonymous"]) if len(out) == 2 else None


def median(xs):
    xs = sorted(xs)
    return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2


# The memory check. The last process runs the last 60 % of the run (the
# kills stop at 40 %). Its first minute is the warm-up: the worker threads
# start with the first upload (their stacks), the libraries' code runs for
# the first time, the statements are prepared. After it, between units of
# work, the daemon holds the same things; what a unit of work takes (a sync
# pass's pages, an ingestion's library) it gives back when it ends
# (daemon/memory.h). Each figure is the median of MEM_WINDOW_S seconds of
# samples (60 to 100), so a pass or an ingestion running at one instant
# does not decide: "after the first minute" is the window from 60 s, "end"
# the last window. The tolerance is what the daemon may legitimately hold
# more at the end: 1 MiB of heap (SQLite's statement cache of the store fills
# as paths run for the first time; glibc keeps free chunks on pages that
# also hold live ones, which malloc_trim cannot return) over RSS and
# anonymous memory alike. The growth this check was written for was 5 MiB in
# 10 minutes (the page cache of the daemon's connection, 32 MiB at most,
# never given back).
MEM_WARM_S = 60
MEM_WINDOW_S = 20
MEM_TOLERANCE_KIB = 1024


def query(db, sql, args=()):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    src = os.path.abspath(a.source_dir)
    rnd = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="ts-soak-")
    procs, d = [], None
    n = dict(imports=0, moves=0, forged=0, hups=0, bad_hups=0, kills=0, uploads=0)
    try:
        emu = os.path.join(src, "tests/emulators")
        common = ["--seed", str(a.seed), "--fault-rate", str(FAULT_RATE), "--faults", FAULTS,
                  "--slow-ms", "600"]
        jira, jport = th.kt.start_emulator(os.path.join(emu, "jira_emulator.py"), work, "jira",
                                           common + ["--projects", "WRU",
                                                     "--index-lag-ms", "1500"])
        dc, dport = th.kt.start_emulator(os.path.join(emu, "jira_emulator.py"), work, "jiradc",
                                         common + ["--flavor", "datacenter", "--projects", "SEC"])
        gitlab, gport = th.kt.start_emulator(os.path.join(emu, "gitlab_emulator.py"), work,
                                             "gitlab", common)
        procs += [jira, dc, gitlab]
        ports = {"jira": jport, "jiradc": dport, "gitlab": gport}
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        for name in ("jira_token", "gitlab_token"):
            th.write_secret(creds, name, th.kt.TOKEN)
        th.write_secret(creds, "jira_hook", HOOK)
        th.write_secret(creds, "gitlab_hook", GL_HOOK)
        th.write_secret(creds, "api_tokens", API)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        port = th.free_port()
        # The fixture library, and the CWE catalog that scan ingestion reads.
        cwe = os.path.join(work, "cwe")
        os.mkdir(cwe)
        shutil.copy(os.path.join(src, "library/cwe.json"), cwe)
        libs = os.path.join(src, "tests/data/generate/lib") + '", "' + cwe
        th.write_config(conf, db, libs, port,
                        [th.jira_connector("jira", jport, extra="concurrency = 4;"),
                         th.jira_connector("jiradc", dport, flavor="datacenter",
                                           extra="concurrency = 4;"),
                         th.gitlab_connector("gitlab", gport, extra="concurrency = 4;")],
                        [(s, c, t) for s, c, t, _ in PROJECTS], api_tokens=True)
        os.mkdir(os.path.join(work, "spool"))
        with open(conf, "a") as f:
            f.write(f'spool_dir = "{work}/spool";\n')
        good_conf = open(conf).read()
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli = [a.threatsync, "-c", conf]
        th.kt.run(cli + ["db", "migrate"], env=env)
        sizes = {}

        def import_model(slug, prefix, k):
            m = vkt.model(prefix, k)
            for c in m["components"]:
                c["name"] = f"{c['name']} r{n['imports']}"
            path = os.path.join(work, f"{slug}.json")
            with open(path, "w") as f:
                json.dump(m, f)
            th.kt.run(cli + ["model", "import", slug, path], env=env)
            th.kt.run(cli + ["generate", slug], env=env)
            sizes[slug] = k
            n["imports"] += 1

        for slug, _, _, prefix in PROJECTS:
            th.kt.run(cli + ["project", "add", slug], env=env)
            import_model(slug, prefix, START_COMPONENTS)
        base = f"http://127.0.0.1:{port}/hooks"
        for name, p in (("jira", jport), ("jiradc", dport)):
            emu_post(p, "/_emu/webhooks", {"url": f"{base}/jira/{name}", "secret": HOOK,
                                           "sign": True, "duplicate_rate": 0.3,
                                           "reorder_window": 3})
        emu_post(gport, "/_emu/webhooks", {"url": f"{base}/gitlab/gitlab", "secret": GL_HOOK,
                                           "sign": True, "duplicate_rate": 0.3,
                                           "reorder_window": 3})

        d = th.Daemon(a.threatsyncd, conf, env, os.path.join(work, "daemon.log"), port)
        d.start()
        t0 = time.monotonic()
        end = t0 + a.seconds
        kill_until = t0 + 0.4 * a.seconds
        due = {"import": t0 + 8, "move": t0 + 3, "forge": t0 + 2, "hup": t0 + 3,
               "kill": t0 + rnd.uniform(5, 20), "upload": t0 + 5}
        mem = []  # (seconds since the last start, RSS KiB, anonymous KiB) of the last process
        started = time.monotonic()
        moved = set()  # (connector, key)
        early = {c: {"connection": 0, "client": 0, "holds": 0, "events": []} for c in ports}
        uploads = {}
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= due["import"]:
                slug, _, _, prefix = rnd.choice(PROJECTS)
                import_model(slug, prefix, sizes[slug] + 1)
                due["import"] = now + rnd.uniform(10, 20)
            if now >= due["move"]:
                conn = rnd.choice(list(ports))
                issues = th.kt.emu_issues(ports[conn])
                if issues:
                    i = rnd.choice(issues)
                    if conn == "gitlab":
                        to = "closed" if i.get("state") == "opened" else "opened"
                        emu_post(gport, f"/_emu/issues/{i['project_id']}/{i['iid']}/transition",
                                 {"to": to})
                        moved.add((conn, i["references"]["full"] if "references" in i
                                   else f"{i['project_id']}#{i['iid']}"))
                    else:
                        emu_post(ports[conn], f"/_emu/issues/{i['key']}/transition",
                                 {"to": rnd.choice(JIRA_MOVES)})
                        moved.add((conn, i["key"]))
                    n["moves"] += 1
                due["move"] = now + rnd.uniform(0.5, 2.0)
            if now >= due["forge"]:
                body = th.jira_body("WRU-1", "threatsync-0123456789abcdef", "Done", "done")
                st, _ = th.call(port, "POST", "/hooks/jira/jira", body,
                                {"X-Hub-Signature": th.sign("forged", body)})
                th.check(st == 401, f"a forged delivery was answered {st}")
                st, _ = th.call(port, "POST", "/hooks/gitlab/gitlab", "{}",
                                {"X-Gitlab-Token": "forged"})
                th.check(st == 401, f"a forged GitLab delivery was answered {st}")
                n["forged"] += 2
                due["forge"] = now + rnd.uniform(2, 5)
            if now >= due["hup"]:
                if rnd.random() < 1 / 3:
                    failed = d.log().count("reload failed")
                    with open(conf, "w") as f:
                        f.write(good_conf + "\nconnectors = 12;\n")
                    d.signal(signal.SIGHUP)
                    wait = time.monotonic() + 5
                    while d.log().count("reload failed") == failed and time.monotonic() < wait:
                        time.sleep(0.05)
                    with open(conf, "w") as f:
                        f.write(good_conf)
                    th.check(d.log().count("reload failed") > failed,
                             "a reload with an invalid file was not refused")
                    n["bad_hups"] += 1
                else:
                    d.signal(signal.SIGHUP)
                n["hups"] += 1
                due["hup"] = now + rnd.uniform(2, 5)
            if now >= due["kill"] and now < kill_until:
                # A killed process's Retry-After holds die with it: the new
                # one cannot know them. The emulators' holds so far are kept
                # in the tally, then forgotten before the restart.
                for c, p in ports.items():
                    v = th.kt.emu_get(p, "/_emu/holds")
                    for kind in ("connection", "client"):
                        early[c][kind] += v["violations"][kind]
                    early[c]["holds"] += v["holds"]
                    early[c]["events"] += v["events"]
                d.proc.kill()
                d.proc.wait()
                for p in ports.values():
                    req = urllib.request.Request(f"http://127.0.0.1:{p}/_emu/holds",
                                                 method="DELETE")
                    urllib.request.urlopen(req, timeout=10).close()
                n["kills"] += 1
                d.start()
                started = time.monotonic()
                mem = []
                due["kill"] = now + rnd.uniform(8, 20)
            if now >= due["upload"]:
                sarif = json.dumps(vkt.sarif([f"nomatch{n['uploads']}"]))
                slug = rnd.choice(PROJECTS)[0]
                st, ans = th.call(port, "POST",
                                  f"/api/v1/projects/{slug}/scans?name=scan{n['uploads']}.sarif",
                                  sarif, {"Authorization": "Bearer " + API})
                th.check(st == 202, f"scan upload: {st} {ans}")
                uploads[json.loads(ans)["id"]] = slug
                n["uploads"] += 1
                due["upload"] = now + rnd.uniform(8, 15)
            m = memory_kib(d.proc.pid)
            if m:
                mem.append((time.monotonic() - started,) + m)
            th.check(d.proc.poll() is None, f"threatsyncd exited {d.proc.returncode}")
            time.sleep(0.2)

        # The faults stop; the daemon drains and polls.
        for p in ports.values():
            emu_post(p, "/_emu/faults", {"rate": 0.0, "kinds": []})
        drain0 = time.monotonic()
        expected = None

        def settled():
            nonlocal expected
            if th.kt.outstanding(db) > 0 or query(
                    db, "SELECT count(*) FROM scan_uploads WHERE status IN"
                        " ('queued', 'running')")[0][0]:
                return False
            rows = dict(((c, k), s) for c, k, s in query(
                db, "SELECT connector, remote_key, remote_status FROM tickets"))
            remote = {}
            for conn, p in ports.items():
                for i in th.kt.emu_issues(p):
                    key = i.get("key") or (i["references"]["full"] if "references" in i
                                           else f"{i['project_id']}#{i['iid']}")
                    remote[(conn, key)] = i.get("status") or i.get("state")
            expected = remote
            return all(rows.get(k) == v for k, v in remote.items())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not settled():
            time.sleep(1)
        drain_s = time.monotonic() - drain0
        rows = dict(((c, k), s) for c, k, s in query(
            db, "SELECT connector, remote_key, remote_status FROM tickets"))
        differ = {k: (rows.get(k), v) for k, v in expected.items() if rows.get(k) != v}
        th.check(not differ, f"{len(differ)} tickets' status differs from the tracker's "
                 f"(database, tracker): {list(differ.items())[:5]}")
        # Exactly one ticket per task.
        by_marker = {}
        unmarked = 0
        for p in ports.values():
            for i in th.kt.emu_issues(p):
                labels = [x for x in (i.get("labels") or []) if x.startswith("threatsync-")]
                unmarked += not labels
                for lab in labels:
                    by_marker[lab] = by_marker.get(lab, 0) + 1
        tasks = query(db, "SELECT p.slug, c.uid FROM countermeasures c JOIN projects p ON"
                          " p.id = c.project_id WHERE c.state = 'active' AND c.in_scope = 1")
        missing = [t for t in tasks if by_marker.get(th.kt.marker(*t), 0) == 0]
        dups = {m: k for m, k in by_marker.items() if k > 1}
        th.check(not missing and not dups and not unmarked,
                 f"{len(missing)} tasks without a ticket (e.g. {missing[:3]}), "
                 f"{len(dups)} markers with several tickets ({list(dups.items())[:3]}), "
                 f"{unmarked} unmarked tickets")
        # Every status a person set is in the history of the tasks of its ticket.
        no_history = []
        for conn, key in sorted(moved):
            for (status, n_hist) in query(
                    db, "SELECT c.status, (SELECT count(*) FROM status_history h WHERE"
                        " h.countermeasure_id = c.id AND h.to_status = c.status AND h.source IN"
                        " ('poll', 'webhook', 'reconcile')) FROM countermeasures c JOIN tickets"
                        " t ON t.id = c.ticket_id WHERE t.connector = ? AND t.remote_key = ?",
                    (conn, key)):
                if status != "todo" and n_hist == 0:
                    no_history.append((conn, key, status))
        th.check(not no_history, f"statuses without their history row: {no_history[:5]}")
        dead = query(db, "SELECT count(*) FROM outbox WHERE state = 'dead'")[0][0]
        th.check(dead == 0, f"{dead} dead outbox rows")
        holds = {c: th.kt.emu_get(p, "/_emu/holds") for c, p in ports.items()}
        for c, h in holds.items():
            for kind in ("connection", "client"):
                h["violations"][kind] += early[c][kind]
            h["holds"] += early[c]["holds"]
            h["events"] = early[c]["events"] + h["events"]
        broken = {c: h["violations"] for c, h in holds.items()
                  if h["violations"]["connection"] or h["violations"]["client"]}
        th.check(not broken, f"requests before Retry-After passed: {broken}; the last "
                 f"events: " + json.dumps({c: h["events"][-6:] for c, h in holds.items()
                                           if c in broken}))
        scans = dict(query(db, "SELECT status, count(*) FROM scan_uploads GROUP BY status"))
        th.check(scans == {"done": n["uploads"]}, f"scan uploads: {scans}, expected "
                 f"{n['uploads']} done")
        rc = d.stop()
        th.check(rc == 0, f"threatsyncd exited {rc} after SIGTERM")
        ok = query(db, "PRAGMA integrity_check")[0][0]
        th.check(ok == "ok", f"integrity_check: {ok}")
        # Memory of the last process after its first minute.
        if mem and mem[-1][0] >= MEM_WARM_S + 2 * MEM_WINDOW_S:
            t_end = mem[-1][0]
            start = mem[0][1:]
            warm = [m[1:] for m in mem if MEM_WARM_S <= m[0] < MEM_WARM_S + MEM_WINDOW_S]
            last = [m[1:] for m in mem if m[0] > t_end - MEM_WINDOW_S]
            figures = {}
            for i, what in enumerate(("RSS", "anonymous memory")):
                w, e = median([x[i] for x in warm]), median([x[i] for x in last])
                figures[what] = (start[i], w, e)
                th.check(e <= w + MEM_TOLERANCE_KIB,
                         f"{what} grew after the first minute: {w:.0f} KiB at "
                         f"{MEM_WARM_S}-{MEM_WARM_S + MEM_WINDOW_S} s, {e:.0f} KiB in the "
                         f"last {MEM_WINDOW_S} s of {t_end:.0f} s (tolerance "
                         f"{MEM_TOLERANCE_KIB} KiB)")
            rss_msg = "; ".join(f"{what} {s / 1024:.1f} MiB at start, {w / 1024:.1f} after "
                                f"the first minute, {e / 1024:.1f} at the end"
                                for what, (s, w, e) in figures.items())
            rss_msg += f" of the last process ({t_end:.0f} s)"
        else:
            rss_msg = (f"memory: the last process ran less than "
                       f"{MEM_WARM_S + 2 * MEM_WINDOW_S} s, not judged")
        stats = {c: th.kt.emu_get(p, "/_emu/stats") for c, p in ports.items()}
        requests = sum(s["total"] for s in stats.values())
        n_holds = sum(h["holds"] for h in holds.values())
        issues = sum(by_marker.values())
        print(f"soak_test: OK: {a.seconds} s (seed {a.seed}); {len(tasks)} tasks, {issues} "
              f"tickets (Jira Cloud {len(th.kt.emu_issues(jport))}, Jira DC "
              f"{len(th.kt.emu_issues(dport))}, GitLab {len(th.kt.emu_issues(gport))}), 0 "
              f"duplicates; {n['imports']} imports, {n['moves']} moves by people on "
              f"{len(moved)} tickets, {n['forged']} forged deliveries refused, {n['hups']} "
              f"SIGHUPs ({n['bad_hups']} invalid), {n['kills']} SIGKILLs, {n['uploads']} "
              f"uploads ingested; {requests} tracker requests, {n_holds} Retry-After holds, "
              f"0 broken; 0 dead rows; drained in {drain_s:.1f} s; integrity ok; {rss_msg}")
    except th.Failure as e:
        th.report_failure("soak_test", e, d, 5000)
    finally:
        th.stop_all(d, procs)
        if a.keep:
            print(f"soak_test: work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
