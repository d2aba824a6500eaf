#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CI gate on the shipped threat library: runs `threatsync library lint --json`
and fails when the library has errors (dangling references included), when a
completeness ratio is below 100 %, or when it is smaller than issue 4 requires.

usage: library_gate.py THREATSYNC LIBRARY_DIR [CATALOGS_DIR]

CATALOGS_DIR (the NIST SP 800-53 and ASVS catalogs) is optional: when it is
absent or missing, control ids are checked for their shape only.
"""
import json
import os
import subprocess
import sys

# Issue 4's minimums.
MIN_COUNTS = {
    "component_types": 35,
    "threats": 150,
    "countermeasures": 200,
    "blueprints": 10,
}

# Ratios that must stay at 1.0 (the list).
REQUIRED_RATIOS = (
    "threats_with_cwe",
    "countermeasures_with_acceptance_test",
    "countermeasures_with_how_to",
    "countermeasures_with_compliance",
    "countermeasures_with_training",
)

# Lint messages that mean a reference points at nothing.
DANGLING_MARKERS = ("unknown countermeasure", "unknown component type",
                    "not declared in this blueprint")


def run_lint(threatsync, library, catalogs):
    cmd = [threatsync, "library", "lint", library, "--json"]
    if catalogs:
        cmd += ["--catalogs", catalogs]
    env = dict(os.environ)
    env.pop("TS_CATALOGS_DIR", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    if proc.returncode not in (0, 65):
        sys.exit("library gate: %s exited %d:\n%s" % (" ".join(cmd), proc.returncode,
                                                      proc.stderr))
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        sys.exit("library gate: lint output is not JSON (%s):\n%s" % (e, proc.stdout[:2000]))
    if (proc.returncode == 0) != (report.get("ok") is True):
        sys.exit("library gate: exit status %d disagrees with ok=%r" %
                 (proc.returncode, report.get("ok")))
    return report


def problems_of(report):
    out = []
    errors = report.get("errors", [])
    dangling = [e for e in errors
                if any(m in e.get("message", "") for m in DANGLING_MARKERS)]
    if report.get("ok") is not True:
        out.append("lint reports %d error(s), %d of them dangling references" %
                   (len(errors), len(dangling)))
        for e in errors[:50]:
            out.append("  %s: %s: %s" % (e.get("file"), e.get("path"), e.get("message")))
        if len(errors) > 50:
            out.append("  ... and %d more" % (len(errors) - 50))
    counts = report.get("counts", {})
    for key, minimum in MIN_COUNTS.items():
        got = counts.get(key)
        if not isinstance(got, int) or got < minimum:
            out.append("counts.%s is %r, the minimum is %d" % (key, got, minimum))
    completeness = report.get("completeness", {})
    for key in REQUIRED_RATIOS:
        r = completeness.get(key)
        if not isinstance(r, dict) or r.get("total", 0) == 0:
            out.append("completeness.%s is missing or empty" % key)
        elif r.get("count") != r.get("total"):
            out.append("completeness.%s is %.4f (%s of %s)" %
                       (key, r.get("ratio", 0.0), r.get("count"), r.get("total")))
    missing = report.get("coverage", {}).get("profile_kinds_without_blueprint", [])
    if missing:
        out.append("profile kinds without a blueprint: %s" % ", ".join(missing))
    return out


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    threatsync, library = argv[1], argv[2]
    catalogs = argv[3] if len(argv) == 4 else None
    if catalogs and not os.path.isfile(os.path.join(catalogs, "asvs-4.0.3.tsv")):
        print("library gate: no catalogs in %s; checking control id shapes only" % catalogs)
        catalogs = None
    report = run_lint(threatsync, library, catalogs)
    problems = problems_of(report)
    counts = report.get("counts", {})
    print("library gate: %s component types, %s threats, %s countermeasures, %s blueprints, "
          "%s type mappings; catalogs %s" %
          (counts.get("component_types"), counts.get("threats"), counts.get("countermeasures"),
           counts.get("blueprints"), counts.get("type_mappings"),
           "checked" if catalogs else "not checked"))
    if problems:
        print("library gate FAILED:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("library gate passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
