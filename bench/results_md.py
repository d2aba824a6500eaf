#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes bench/RESULTS.md from the raw output of bench/run-all.sh.

Usage: results_md.py RAW_DIR OUT.md CLASSES COMMIT BUILD_DIR NICE

RAW_DIR holds, per benchmark NAME and size class CLASS, NAME-CLASS.txt (the
script's standard output), NAME-CLASS.err, NAME-CLASS.meta (rc, seconds,
size) and, for push and poll, NAME-CLASS.json/ (the per-run JSON files with
peak RSS). Each script's printed table is parsed; nothing is re-measured.
Python 3 standard library only.
"""
import glob
import json
import os
import re
import sys
import time

CLASSES = ("small", "medium", "large")


def machine():
    model, cores = "unknown", 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("processor"):
                cores += 1
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1])
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return model, cores, mem / 1048576.0, load


def meta(raw, name, cls):
    path = os.path.join(raw, "%s-%s.meta" % (name, cls))
    if not os.path.exists(path):
        return None
    with open(path) as f:
        line = f.read().strip()
    rc = int(re.search(r"rc=(\d+)", line).group(1))
    secs = int(re.search(r"seconds=(\d+)", line).group(1))
    size = line.split("size=", 1)[1]
    with open(os.path.join(raw, "%s-%s.txt" % (name, cls)), errors="replace") as f:
        text = f.read()
    with open(os.path.join(raw, "%s-%s.err" % (name, cls)), errors="replace") as f:
        err = f.read()
    jsons = {}
    for p in sorted(glob.glob(os.path.join(raw, "%s-%s.json" % (name, cls), "*.json"))):
        with open(p) as f:
            jsons[os.path.basename(p)] = json.load(f)
    return {"rc": rc, "seconds": secs, "size": size, "text": text, "err": err, "json": jsons}


def num(s):
    return float(s.replace(",", ""))


def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, int) or (isinstance(x, float) and x >= 1000 and nd <= 1):
        return "{:,.0f}".format(x)
    return "{:,.{}f}".format(x, nd)


def mark(ok):
    return "met" if ok else "**not met**"


def runs(raw, name, classes):
    for cls in classes:
        m = meta(raw, name, cls)
        if m is not None:
            yield cls, m


def failed_row(cls, m, ncols):
    tail = (m["err"].strip().splitlines() or ["no output"])[-1]
    return "| %s | %s | " % (cls, m["size"]) + "failed (exit %d): %s |" % (
        m["rc"], tail.replace("|", "/")) + " |" * (ncols - 3)


def generate(raw, classes, out):
    out.append("## Generation: `bench_generate.sh` (model import + generate)\n")
    out.append("Baselines of the same run: the sqlite3 shell copying the generated rows "
               "(`INSERT … SELECT`, the floor of what generate writes) and `jq` reading the "
               "model. Goal (bench/README.md): import + generate of 1,000 components ≤ 0.25 s; "
               "≤ 1.5× the sqlite3 copy.\n")
    out.append("| class | components | import + generate s | sqlite3 copy s | ratio to the copy "
               "(generate alone) | jq s | ratio to jq | peak RSS MiB | threats | goal |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cls, m in runs(raw, "generate", classes):
        rows = [l.split() for l in m["text"].splitlines()
                if re.match(r"^\d+\s", l) and len(l.split()) == 11]
        if m["rc"] != 0 or not rows:
            out.append(failed_row(cls, m, 10))
            continue
        for r in rows:
            n, jq, imp, gen, total, copy, peak = (int(r[0]), num(r[2]), num(r[3]), num(r[4]),
                                                  num(r[5]), num(r[7]), num(r[9]))
            ratio = total / copy if copy else 0
            goal = "– (stated for 1,000)"
            if n == 1000:
                goal = "%s (≤ 0.25 s); %s (≤ 1.5× the copy)" % (mark(total <= 0.25),
                                                                mark(ratio <= 1.5))
            out.append("| %s | %s | %.3f | %.3f | %.2f× (%.2f×) | %.3f | %.1f× | %.1f | %s | %s |" % (
                cls, fmt(n, 0), total, copy, ratio, gen / copy if copy else 0, jq,
                total / jq if jq else 0, peak, fmt(int(r[10]), 0), goal))
    out.append("")
    regen = []
    for cls, m in runs(raw, "generate", classes):
        regen += [(cls, l.split()) for l in m["text"].splitlines()
                  if re.match(r"^regen\s+\d", l) and len(l.split()) == 10]
    if not regen:
        return
    out.append("Regeneration after one component changed (renamed, `authenticates_users` "
               "toggled), against a full regeneration (`generate --full`) of the same model in "
               "the same run. `generation` is the generation step itself and `snapshot` the "
               "metrics snapshot the command takes afterwards (`THREATSYNC_TIMING`); the wall "
               "time also holds loading the configuration and the library. Goal: ≤ 0.1 s "
               "after one change of 1,000 components.\n")
    out.append("| class | components | components regenerated | wall s | generation ms | "
               "snapshot ms | full: wall s | full: generation ms | ratio (wall) | goal |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cls, r in regen:
        n = int(r[1])
        wall, gen, snap, reg = num(r[2]), num(r[3]), num(r[4]), int(r[5])
        fwall, fgen = num(r[6]), num(r[7])
        goal = "–"
        if n == 1000:
            goal = "wall %s, generation %s (≤ 0.1 s)" % (mark(wall <= 0.1), mark(gen <= 100))
        out.append("| %s | %s | %d | %.3f | %.1f | %.1f | %.3f | %.1f | %.2f | %s |" % (
            cls, fmt(n, 0), reg, wall, gen, snap, fwall, fgen, wall / fwall if fwall else 0,
            goal))
    out.append("")


def ingest(raw, classes, out):
    out.append("## Ingestion: `bench_ingest.sh` (scanner reports)\n")
    out.append("Baselines of the same run: `jq -c '.runs[].results[]'` (SARIF) and "
               "`xmllint --stream --noout` (ZAP XML) on the same file; and the floor of the "
               "writes: the sqlite3 shell copying the rows the ingest wrote into a copy of the "
               "database taken before it. Goal: wall time ≤ 1.0× the parse baseline, peak RSS "
               "≤ 2.5× the file (stated for reports of ~100 MB; below 50 MB the process's fixed "
               "~25 MiB dominates, so RSS is not judged there).\n")
    out.append("| class | format | MB | results | ingest s | baseline s | ratio | sqlite3 copy s "
               "| × copy | peak RSS MiB (× file) | baseline RSS MiB | stored | goal |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cls, m in runs(raw, "ingest", classes):
        # 12 columns; outputs from before the copy baseline have 10
        rows = [l.split() for l in m["text"].splitlines()
                if re.match(r"^(sarif|zap)\s+\d", l) and len(l.split()) in (10, 12)]
        if m["rc"] != 0 or not rows:
            out.append(failed_row(cls, m, 13))
            continue
        for r in rows:
            ratio, rssf = num(r[5]), num(r[8])
            copy_s, copy_x = (r[10], "%.2f×" % num(r[11])) if len(r) == 12 else ("–", "–")
            out.append("| %s | %s | %s | %s | %s | %s | %.2f× | %s | %s | %s (%.2f×) | %s | %s "
                       "| wall %s, RSS %s |" % (cls, "SARIF" if r[0] == "sarif" else "ZAP XML",
                                                r[1], fmt(int(r[2]), 0), r[4], r[3], ratio,
                                                copy_s, copy_x, r[7], rssf, r[6],
                                                fmt(int(r[9]), 0), mark(ratio <= 1.0),
                                                mark(rssf <= 2.5) if num(r[1]) >= 50 else "–"))
    out.append("")


PUSH_RE = r"^(\w+)\s+%s\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$"


def push(raw, classes, out):
    out.append("## Push: `bench_push.sh` (tasks created as tickets)\n")
    out.append("One `threatsync sync --once` pushing TASKS creates to an empty emulator; the "
               "baseline of the same run is curl (`--parallel`, same concurrency 8) sending the "
               "same recorded requests to a fresh emulator (the emulator's capacity). Times are "
               "the push window on the emulator's clock. Goal: ratio ≥ 0.9 (Jira; on GitLab "
               "the curl framing is the slower side, see bench/README.md).\n")
    out.append("| class | tasks | tracker | threatsync tasks/s (window s) | curl tasks/s (window s) "
               "| ratio | requests per task | threatsync CPU s | peak RSS MiB | goal |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for cls, m in runs(raw, "push", classes):
        text = m["text"]
        ts = {g[0]: g for g in re.findall(PUSH_RE % re.escape("threatsync sync --once"), text, re.M)}
        cu = {g[0]: g for g in re.findall(PUSH_RE % re.escape("curl: creates"), text, re.M)}
        ratios = dict(re.findall(r"^(\w+)\s+ratio threatsync/curl creates: ([\d.]+)", text, re.M))
        if m["rc"] != 0 or not ts:
            out.append(failed_row(cls, m, 10))
            continue
        for tr, t in ts.items():
            c = cu.get(tr)
            rss = None
            for k, j in m["json"].items():
                if k.endswith("run-%s.json" % tr):
                    rss = j.get("maxrss_kib", 0) / 1024.0
            ratio = num(ratios.get(tr, "0"))
            goal = mark(ratio >= 0.9) + " (≥ 0.9)" if tr == "jira" else "–"
            out.append("| %s | %s | %s | %s (%s) | %s (%s) | %.2f | %s | %.2f | %s | %s |" % (
                cls, fmt(int(m["size"]), 0), "Jira Cloud" if tr == "jira" else "GitLab",
                fmt(num(t[4]), 1), t[3], fmt(num(c[4]), 1) if c else "–", c[3] if c else "–",
                ratio, t[2], num(t[6]) / 1000.0, fmt(rss, 1), goal))
        for line in re.findall(r"^\w+\s+FAIL: .*$", text, re.M):
            out.append("| %s | | %s | | | | | | | |" % (cls, line.replace("|", "/")))
    out.append("")


def poll(raw, classes, out):
    out.append("## Poll: `bench_poll.sh` (status pulled back)\n")
    out.append("N tickets linked and present in the Jira emulator, 10 moved to Done, then one "
               "`threatsync sync --once` (the whole process) and the daemon's poll cycle (median "
               "of 3 rounds, CPU of the pass alone). Baseline of the same run: curl sending the "
               "same GET requests. Goal: ≤ 2 requests per pass, ≤ 20 ms CPU per poll cycle, flat "
               "in N.\n")
    out.append("| class | tickets | requests | CLI process CPU ms | CLI pass alone ms | curl CPU ms "
               "| ratio to curl | daemon cycle CPU ms (median) | peak RSS MiB (CLI) | goal |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cls, m in runs(raw, "poll", classes):
        text = m["text"]
        rows = re.findall(r"^\s*(\d+)\s+[\d.]+\s+threatsync sync --once\s+(\d+)\s+(\d+)\s+([\d.]+)"
                          r"\s+([\d.]+)\s*$", text, re.M)
        if m["rc"] != 0 or not rows:
            out.append(failed_row(cls, m, 10))
            continue
        for n, reqs, _issues, cpu, _wall in rows:
            curl = re.search(r"^\s*%s\s+[\d.]+\s+curl: the same GET requests\s+\S+\s+\S+\s+([\d.]+)"
                             % n, text, re.M)
            alone = re.search(r"^\s*%s\s+[\d.]+\s+CLI pass alone .*?: ([\d.]+) ms" % n, text, re.M)
            dmed = re.search(r"^\s*%s\s+daemon: median cpu ([\d.]+) ms" % n, text, re.M)
            rss = None
            j = m["json"].get("n%s-result.json" % n)
            if j:
                rss = j["pass"].get("maxrss_kib", 0) / 1024.0
            c = num(curl.group(1)) if curl else None
            d = num(dmed.group(1)) if dmed else None
            goal = "requests %s, CPU %s" % (mark(int(reqs) <= 2),
                                            mark(d is not None and d <= 20) + " (daemon)")
            out.append("| %s | %s | %s | %.1f | %s | %s | %s | %s | %s | %s |" % (
                cls, fmt(int(n), 0), reqs, num(cpu), alone.group(1) if alone else "–",
                fmt(c, 1), "%.1f×" % (num(cpu) / c) if c else "–", fmt(d, 1), fmt(rss, 1), goal))
    out.append("")


def webhook(raw, classes, out):
    out.append("## Webhooks: `bench_webhook.sh` (the daemon's endpoint)\n")
    out.append("wrk (2 threads, 16 connections) POSTing signed Jira `issue_updated` deliveries; "
               "the baseline of the same run is wrk against `GET /healthz` (same HTTP stack, no "
               "body, no database). Size: tickets linked (10 pre-signed states each) and the "
               "duration of each wrk run. Peak RSS of the daemon is not measured by the script. "
               "Goal: ≥ 5,000 requests/s, p99 ≤ 10 ms, every acknowledged delivery committed.\n")
    out.append("| class | tickets, duration | webhook req/s | p99 ms | /healthz req/s | p99 ms | "
               "ratio | acknowledged / committed | goal |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    rre = r"^%s\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s*$"
    for cls, m in runs(raw, "webhook", classes):
        text = m["text"]
        h = re.search(rre % re.escape("GET /healthz"), text, re.M)
        w = re.search(rre % re.escape("POST /hooks/jira"), text, re.M)
        a = re.search(r"acknowledged \(2xx\): (\d+); deliveries committed: (\d+)", text)
        if m["rc"] != 0 or not (h and w and a):
            out.append(failed_row(cls, m, 9))
            continue
        rps, p99, hrps = num(w.group(2)), num(w.group(4)), num(h.group(2))
        ok = int(a.group(2)) >= int(a.group(1))
        out.append("| %s | %s | %s | %.2f | %s | %.2f | %.2f | %s / %s | req/s %s, p99 %s, "
                   "committed %s |" % (cls, m["size"].replace(" ", ", "), fmt(rps, 0), p99,
                                       fmt(hrps, 0), num(h.group(4)), rps / hrps if hrps else 0,
                                       fmt(int(a.group(1)), 0), fmt(int(a.group(2)), 0),
                                       mark(rps >= 5000), mark(p99 <= 10),
                                       "yes" if ok else "**NO**"))
    out.append("")


def idle(raw, classes, out):
    out.append("## Idle daemon: `bench_idle.sh`\n")
    out.append("threatsyncd with one project (10 components, its tasks pushed on the first pass) "
               "and the Jira emulator, polling at the default interval (60 s); after the first "
               "pass, /proc/PID sampled every second for 60 s: CPU = utime + stime delta (10 ms "
               "clock ticks; the threads' schedstat in ns alongside), RSS, "
               "and PSS and anonymous memory from smaps_rollup (largest sample). Goal: ≤ 60 ms "
               "CPU per minute, anonymous ≤ 4 MiB.\n")
    out.append("| seconds | CPU ms (utime + stime) | CPU ms per minute | on CPU ms (schedstat) | RSS MiB | PSS MiB | anonymous MiB | "
               "requests in the window | goal |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cls, m in runs(raw, "idle", classes):
        r = re.search(r"^RESULT (.*)$", m["text"], re.M)
        if m["rc"] != 0 or not r:
            tail = (m["err"].strip().splitlines() or ["no output"])[-1]
            out.append("| failed (exit %d): %s | | | | | | | | |" % (m["rc"], tail.replace("|", "/")))
            continue
        f = dict(kv.split("=", 1) for kv in r.group(1).split())
        out.append("| %s | %s | %s | %s | %.1f | %.1f | %.2f | %s | CPU %s, anonymous %s |" % (
            f["seconds"], f["cpu_ms"], f["cpu_ms_per_min"], f.get("sched_ms", "–"), int(f["rss_kib"]) / 1024.0,
            int(f["pss_kib"]) / 1024.0, int(f["anon_kib"]) / 1024.0, f["requests"],
            mark(f["cpu_goal"] == "met"), mark(f["anon_goal"] == "met")))
    out.append("")


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 64
    raw, path, classes, commit, build, nice = argv[1:]
    classes = [c for c in CLASSES if c in classes.split(",")]
    model, cores, mem_gib, load = machine()
    out = ["# Benchmark results\n",
           "Written by `bench/run-all.sh` (%s); every ratio is against a baseline measured in "
           "the same run. How each benchmark works and what its goal means: "
           "bench/README.md.\n" % ("size classes run: " + ", ".join(classes)),
           "- machine: %s, %d cores, %.1f GiB RAM; load average at the end %s" % (
               model, cores, mem_gib, load),
           "- date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "- commit: %s; binaries: `%s` (CMake build type %s); run at `nice -n %s`" % (
               commit, os.path.relpath(build, os.path.dirname(os.path.dirname(
                   os.path.abspath(path)))), build_type(build), nice),
           ""]
    durations = []
    for name in ("generate", "ingest", "push", "poll", "webhook", "idle"):
        for cls, m in runs(raw, name, classes):
            durations.append("%s %s %d s" % (name, cls, m["seconds"]))
    out.append("- wall time per script: " + "; ".join(durations) + "\n")
    generate(raw, classes, out)
    ingest(raw, classes, out)
    push(raw, classes, out)
    poll(raw, classes, out)
    webhook(raw, classes, out)
    idle(raw, classes, out)
    out.append("## Raw output of the scripts\n")
    for name in ("generate", "ingest", "push", "poll", "webhook", "idle"):
        for cls, m in runs(raw, name, classes):
            out.append("### %s, %s (exit %d, %d s)\n" % (name, cls, m["rc"], m["seconds"]))
            out.append("```")
            out.append(m["text"].rstrip() or "(no output)")
            if m["rc"] != 0:
                out.append("--- stderr (last 10 lines) ---")
                out.extend(m["err"].rstrip().splitlines()[-10:])
            out.append("```\n")
    with open(path, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
    return 0


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "(none)"
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
