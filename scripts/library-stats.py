#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The threat library's distributions and what they give on real models.

Prints the STRIDE and severity (and likelihood) distributions of the library
(from `threatsync library lint --json` and the threat files), then, for
WidgetsRUs (examples/widgetsrus/model.json) and every example profile
(examples/profiles/*.json, through `model init`), the tasks per priority
generated with the shipped configuration in a throw-away database.

usage: scripts/library-stats.py THREATSYNC [--json]
       scripts/library-stats.py THREATSYNC --per-component PROJECT [--check FILE]
           (PROJECT: widgetsrus or a profile's file name without .json) prints
           "component P1 P2 P3 P4 total" lines: the golden
           tests/data/library/widgetsrus-tasks.txt is this output for widgetsrus.
           --check FILE compares instead of printing, and exits 1 with the
           difference when they differ.
"""
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = "2026-01-10"
SECRETS = ["api_tokens", "jira_token", "jira_webhook_secret", "gitlab_token",
           "gitlab_webhook_secret"]


class Sandbox:
    """The shipped configuration with its database in a temporary directory."""

    def __init__(self, threatsync):
        self.threatsync = threatsync
        self.tmp = tempfile.mkdtemp(prefix="library-stats.")
        creds = os.path.join(self.tmp, "credentials")
        os.mkdir(creds, 0o700)
        for s in SECRETS:
            with open(os.path.join(creds, s), "w") as f:
                f.write("not-a-real-secret\n")
        with open(os.path.join(HERE, "etc", "threatsync.conf")) as f:
            conf = f.read()
        conf = re.sub(r"(?m)^database = .*$",
                      'database = "%s/stats.db";' % self.tmp, conf)
        conf = re.sub(r"(?m)^#*library_paths = .*$",
                      'library_paths = [ "%s/library" ];' % HERE, conf)
        self.conf = os.path.join(self.tmp, "threatsync.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.env = dict(os.environ, CREDENTIALS_DIRECTORY=creds, THREATSYNC_NOW=NOW)
        self.run("db", "migrate")

    def run(self, *args):
        r = subprocess.run([self.threatsync, "-c", self.conf] + list(args),
                           env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("%s %s: exit %d: %s" % (self.threatsync, " ".join(args),
                                              r.returncode, r.stderr.strip()))
        return r.stdout

    def close(self):
        shutil.rmtree(self.tmp)


def tasks_of(sb, slug, model=None, profile=None):
    """The in-scope tasks (countermeasures listing rows) of a new project."""
    sb.run("project", "add", slug)
    if model:
        sb.run("model", "import", slug, model)
    else:
        sb.run("model", "init", slug, "--profile", profile, "--out",
               os.path.join(sb.tmp, slug + ".model.json"))
    sb.run("generate", slug)
    doc = json.loads(sb.run("countermeasures", slug, "--json"))
    return [c for c in doc["countermeasures"]
            if c.get("in_scope") and c.get("status") != "satisfied"]


def per_priority(tasks):
    counts = {"P1": 0, "P2": 0, "P3": 0, "P4": 0}
    for c in tasks:
        counts["P%d" % c["priority"]] += 1
    return counts


def projects():
    yield "widgetsrus", {"model": os.path.join(HERE, "examples/widgetsrus/model.json")}
    for p in sorted(glob.glob(os.path.join(HERE, "examples/profiles/*.json"))):
        yield os.path.basename(p)[:-5], {"profile": p}


def library_distribution(sb):
    lint = json.loads(sb.run("library", "lint", "--json", os.path.join(HERE, "library")))
    cov = lint["coverage"]
    likelihood = {"high": 0, "medium": 0, "low": 0}
    for f in sorted(glob.glob(os.path.join(HERE, "library/threats/*.json"))):
        with open(f) as fh:
            for t in json.load(fh)["threats"]:
                likelihood[t.get("likelihood", "medium")] += 1
    return {"threats": lint["counts"]["threats"], "stride": cov["stride"],
            "severity": cov["severity"], "likelihood": likelihood,
            "threats_with_condition": lint["completeness"]["threats_with_condition"]}


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    sb = Sandbox(args[0])
    try:
        if len(args) in (3, 5) and args[1] == "--per-component":
            found = dict(projects())
            if args[2] not in found:
                sys.exit("no such project: %s" % args[2])
            tasks = tasks_of(sb, args[2].replace("_", "-"), **found[args[2]])
            comps = {}
            for c in tasks:
                comps.setdefault(c["component"], []).append(c)
            lines = ["# component P1 P2 P3 P4 total (in-scope open tasks, %s; "
                     "scripts/library-stats.py)" % args[2]]
            for name in sorted(comps):
                p = per_priority(comps[name])
                lines.append("%s %d %d %d %d %d" % (name, p["P1"], p["P2"], p["P3"], p["P4"],
                                                    len(comps[name])))
            p = per_priority(tasks)
            lines.append("TOTAL %d %d %d %d %d" % (p["P1"], p["P2"], p["P3"], p["P4"],
                                                  len(tasks)))
            text = "\n".join(lines) + "\n"
            if len(args) == 5 and args[3] == "--check":
                with open(args[4]) as f:
                    want = f.read()
                if want != text:
                    sys.stdout.writelines(difflib.unified_diff(
                        want.splitlines(True), text.splitlines(True), args[4], "generated"))
                    sys.exit(1)
                return
            sys.stdout.write(text)
            return
        out = {"library": library_distribution(sb), "projects": {}}
        for slug, src in projects():
            tasks = tasks_of(sb, slug.replace("_", "-"), **src)
            out["projects"][slug] = dict(per_priority(tasks), total=len(tasks))
        if "--json" in args[1:]:
            json.dump(out, sys.stdout, indent=2, sort_keys=True)
            print()
            return
        lib = out["library"]
        print("library: %d threats, %.0f%% with a condition" %
              (lib["threats"], 100 * lib["threats_with_condition"]["ratio"]))
        print("  STRIDE:     " + " ".join("%s %d" % (k, lib["stride"][k]) for k in "STRIDE"))
        print("  severity:   " + " ".join("%s %d" % (k, lib["severity"][k])
                                          for k in ("critical", "high", "medium", "low")))
        print("  likelihood: " + " ".join("%s %d" % (k, lib["likelihood"][k])
                                          for k in ("high", "medium", "low")))
        print("%-20s %5s %5s %5s %5s %6s %6s" % ("project", "P1", "P2", "P3", "P4", "total",
                                                 "P1 %"))
        for slug, p in out["projects"].items():
            share = 100.0 * p["P1"] / p["total"] if p["total"] else 0.0
            print("%-20s %5d %5d %5d %5d %6d %5.0f%%" % (slug, p["P1"], p["P2"], p["P3"],
                                                        p["P4"], p["total"], share))
    finally:
        sb.close()


if __name__ == "__main__":
    main()
