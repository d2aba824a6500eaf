#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Push benchmark helper (bench_push.sh): reads what an emulator received,
replays the same create requests with curl as the baseline, prints the table.

  sync_push.py analyze URL TRACKER TASKS RUN.json REPORT.json OUT.json REQS.jsonl
      after `threatsync sync --once`: requests by route (/_emu/stats), the push
      window on the emulator's clock (first push request received to last one
      answered; push = every non-GET request), and the push requests written
      to REQS.jsonl for the baseline. RUN.json is sync_util.py measure's
      output, REPORT.json the `sync --once --json` report.
  sync_push.py baseline URL TRACKER REQS.jsonl CONCURRENCY WORKDIR OUT.json
      on a fresh emulator: phase 1 sends the recorded creates (POST) with
      `curl --parallel --parallel-max C -K`, phase 2 the other recorded push
      requests (Jira: the issue property PUTs), each phase timed the same way.
  sync_push.py table TASKS CONCURRENCY ANALYZE.json BASELINE.json [...]
      prints the table (one pair of analyze and baseline outputs per tracker).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_util  # noqa: E402


def start_ms(r):
    """When the emulator began a request, ms (t_start has microseconds)."""
    return r["t_start"] * 1000.0 if "t_start" in r else float(r["ts_ms"])


def window(records):
    """Seconds from the first request received to the last one answered, on
    the emulator's clock (None without records)."""
    if not records:
        return None
    start = min(start_ms(r) for r in records)
    end = max(start_ms(r) + r["duration_ms"] for r in records)
    return max(end - start, 1.0) / 1000.0


def idle_share(records):
    """Share of the window in which the emulator held no request at all: the
    gaps the client left in the pipe (it had nothing sent, or had not yet read
    what was answered)."""
    w = window(records)
    if not w:
        return 0.0
    spans = sorted((start_ms(r), start_ms(r) + r["duration_ms"]) for r in records)
    idle, reach = 0.0, spans[0][0]
    for a, b in spans:
        if a > reach:
            idle += a - reach
        reach = max(reach, b)
    return idle / 1000.0 / w


def busy(records):
    """Mean number of requests the emulator held at once over the window (its
    handling time summed, divided by the window): how full the client kept
    the pipe."""
    w = window(records)
    return sum(r["duration_ms"] for r in records) / 1000.0 / w if w else 0.0


def is_create(r):
    return r["method"] == "POST" and r["path"].rstrip("/").endswith(("/issue", "/issues"))


def analyze(url, tracker, tasks, run_file, report_file, out_file, reqs_file):
    emu = sync_util.Emu(url)
    stats = emu.stats()
    recs = emu.requests()
    with open(run_file) as f:
        run = json.load(f)
    with open(report_file) as f:
        report = json.load(f)
    push = [r for r in recs if r["method"] != "GET"]
    creates = [r for r in push if is_create(r)]
    bad = [r for r in recs if r["status"] is None or r["status"] >= 300]
    conn = report["connectors"][0]
    with open(reqs_file, "w") as f:
        for r in push:
            f.write(json.dumps({"method": r["method"], "path": r["path"], "query": r["query"],
                                "body": r["body"]}) + "\n")
    res = {
        "tracker": tracker, "tasks": tasks, "created": conn["outbox"]["created"],
        "creates_201": sum(1 for r in creates if r["status"] == 201),
        "requests_total": stats["total"], "requests_push": len(push),
        "requests_errors": len(bad),
        "by_route": {k: sum(v.values()) for k, v in stats["by_endpoint"].items()},
        "ts_push_s": window(push), "ts_busy": busy(push), "ts_idle": idle_share(push),
        "ts_wall_s": run["wall_s"], "ts_cpu_ms": run["cpu_ms"],
        "ts_maxrss_kib": run["maxrss_kib"], "ts_rc": run["rc"],
    }
    with open(out_file, "w") as f:
        json.dump(res, f, indent=1)
    return 0


def baseline(url, tracker, reqs_file, conc, workdir, out_file):
    emu = sync_util.Emu(url)
    with open(reqs_file) as f:
        reqs = [json.loads(line) for line in f if line.strip()]
    phases = [("creates", [r for r in reqs if is_create(r)]),
              ("others", [r for r in reqs if not is_create(r)])]
    headers = sync_util.auth_headers(tracker)
    res = {}
    for name, batch in phases:
        if not batch:
            continue
        cfg = os.path.join(workdir, "curl-%s.cfg" % name)
        sync_util.write_curl_config(cfg, url, batch, headers)
        before = emu.stats()["total"]
        seq = max([r["seq"] for r in emu.requests()] or [0])
        m = sync_util.run_curl(cfg, conc, os.path.join(workdir, "curl-%s.codes" % name))
        recs = emu.requests(since=seq)
        res[name] = {"requests": len(batch), "received": emu.stats()["total"] - before,
                     "codes": m["codes"], "wall_s": m["wall_s"], "cpu_ms": m["cpu_ms"],
                     "window_s": window(recs), "busy": busy(recs), "idle": idle_share(recs),
                     "rc": m["rc"]}
        if m["rc"] != 0:
            sys.stderr.write("sync_push.py: curl exited %d in phase %s\n" % (m["rc"], name))
    with open(out_file, "w") as f:
        json.dump(res, f, indent=1)
    return 0


def table(tasks, conc, files):
    if len(files) % 2:
        raise SystemExit("sync_push.py table: give ANALYZE.json BASELINE.json pairs")
    rows = []
    for i in range(0, len(files), 2):
        with open(files[i]) as f:
            row = json.load(f)
        with open(files[i + 1]) as f:
            row["baseline"] = json.load(f)
        rows.append(row)
    print("push benchmark: %d tasks, connector concurrency %d, curl --parallel-max %d"
          % (tasks, conc, conc))
    print("%-7s %-26s %9s %9s %9s %10s %9s %9s" % (
        "tracker", "run", "requests", "req/task", "window_s", "tasks/s", "wall_s", "cpu_ms"))
    fails = 0
    for r in rows:
        b = r["baseline"]
        t_rate = tasks / r["ts_push_s"] if r["ts_push_s"] else 0.0
        print("%-7s %-26s %9d %9.2f %9.2f %10.1f %9.2f %9.0f" % (
            r["tracker"], "threatsync sync --once", r["requests_total"],
            r["requests_push"] / tasks, r["ts_push_s"] or 0, t_rate, r["ts_wall_s"],
            r["ts_cpu_ms"]))
        c = b["creates"]
        c_rate = tasks / c["window_s"] if c["window_s"] else 0.0
        print("%-7s %-26s %9d %9.2f %9.2f %10.1f %9.2f %9.0f" % (
            r["tracker"], "curl: creates", c["received"], c["received"] / tasks,
            c["window_s"] or 0, c_rate, c["wall_s"], c["cpu_ms"]))
        mix_rate = c_rate
        if "others" in b:
            o = b["others"]
            mix_s = (c["window_s"] or 0) + (o["window_s"] or 0)
            mix_rate = tasks / mix_s if mix_s else 0.0
            print("%-7s %-26s %9d %9.2f %9.2f %10.1f %9.2f %9.0f" % (
                r["tracker"], "curl: creates + rest", c["received"] + o["received"],
                (c["received"] + o["received"]) / tasks, mix_s, mix_rate,
                c["wall_s"] + o["wall_s"], c["cpu_ms"] + o["cpu_ms"]))
        ratio = t_rate / c_rate if c_rate else 0.0
        print("%-7s ratio threatsync/curl creates: %.2f (goal >= 0.9)%s" % (
            r["tracker"], ratio, "" if "others" not in b else
            "; vs curl sending the same request mix: %.2f" % (t_rate / mix_rate if mix_rate else 0)))
        routes = ", ".join("%s %d" % (k, v) for k, v in sorted(r["by_route"].items()))
        print("%-7s threatsync requests by route: %s" % (r["tracker"], routes))
        print("%-7s requests held by the emulator at once (mean): threatsync %.2f, curl %.2f; "
              "emulator time per create: threatsync %.2f ms, curl %.2f ms" % (
                  r["tracker"], r.get("ts_busy", 0), c.get("busy", 0),
                  r.get("ts_busy", 0) * (r["ts_push_s"] or 0) * 1000 / max(r["requests_push"], 1),
                  c.get("busy", 0) * (c["window_s"] or 0) * 1000 / max(c["received"], 1)))
        print("%-7s emulator holding no request: threatsync %.0f%% of its window, curl %.0f%%" % (
            r["tracker"], 100 * r.get("ts_idle", 0), 100 * c.get("idle", 0)))
        codes = ", ".join("%s x%d" % (k, v) for k, v in sorted(b["creates"]["codes"].items()))
        print("%-7s curl create answers: %s" % (r["tracker"], codes))
        if r["created"] != tasks or r["creates_201"] != tasks or r["ts_rc"] != 0:
            print("%-7s FAIL: %d tasks, %d created by threatsync, %d creates answered 201, "
                  "exit %d" % (r["tracker"], tasks, r["created"], r["creates_201"], r["ts_rc"]))
            fails += 1
        if b["creates"]["codes"].get("201", 0) != tasks:
            print("%-7s FAIL: curl got %d 201 answers of %d" % (
                r["tracker"], b["creates"]["codes"].get("201", 0), tasks))
            fails += 1
    return 1 if fails else 0


def main(argv):
    if len(argv) == 9 and argv[1] == "analyze":
        return analyze(argv[2], argv[3], int(argv[4]), argv[5], argv[6], argv[7], argv[8])
    if len(argv) == 8 and argv[1] == "baseline":
        return baseline(argv[2], argv[3], argv[4], int(argv[5]), argv[6], argv[7])
    if len(argv) >= 5 and argv[1] == "table":
        return table(int(argv[2]), int(argv[3]), argv[4:])
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
