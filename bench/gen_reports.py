#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Synthetic scanner reports for bench/bench_ingest.sh, written as a stream so
a report of hundreds of megabytes needs little memory here either.

  gen_reports.py sarif N OUT   a SARIF 2.1.0 log of one CodeQL-like run with
                               200 rules (CWE tags, security-severity) and N
                               results (location with %SRCROOT%, region,
                               snippet, partialFingerprints, codeFlows-free)
  gen_reports.py zap N OUT     an OWASP ZAP XML report with N instances spread
                               over alert items of 50 instances each
  gen_reports.py model N OUT   a native model of N components whose code.paths
                               and code.urls cover the reports' paths and URLs
"""
import json
import random
import sys

CWES = [79, 89, 22, 78, 352, 200, 327, 798, 502, 611, 918, 434, 287, 862, 601, 90, 94, 117]
COMPONENTS = 100


def sarif(n, out):
    rnd = random.Random(7)
    rules = []
    for r in range(200):
        cwe = CWES[r % len(CWES)]
        rules.append({
            "id": "bench/rule-%03d" % r,
            "name": "BenchRule%03d" % r,
            "shortDescription": {"text": "Synthetic rule %d" % r},
            "fullDescription": {"text": "A synthetic rule that reports CWE-%d for the benchmark." % cwe},
            "defaultConfiguration": {"level": ["error", "warning", "note"][r % 3]},
            "properties": {
                "tags": ["security", "external/cwe/cwe-%03d" % cwe],
                "security-severity": "%.1f" % (2.0 + (r % 80) / 10.0),
                "precision": "high",
            },
        })
    head = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
    }
    with open(out, "w") as f:
        f.write(json.dumps(head)[:-1])
        f.write(', "runs": [{"tool": ')
        f.write(json.dumps({"driver": {"name": "CodeQL", "semanticVersion": "2.15.0",
                                       "rules": rules}}))
        f.write(', "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///home/runner/work/app/app/"}}')
        f.write(', "results": [\n')
        for i in range(n):
            r = rnd.randrange(200)
            comp = rnd.randrange(COMPONENTS)
            line = rnd.randrange(1, 2000)
            res = {
                "ruleId": rules[r]["id"],
                "ruleIndex": r,
                "level": rules[r]["defaultConfiguration"]["level"],
                "message": {"text": "Finding %d: input reaches a sink." % i},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "src/c%03d/module%02d/file%04d.py"
                                                % (comp, i % 37, i % 1013),
                                         "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line, "startColumn": 5, "endLine": line,
                               "endColumn": 42,
                               "snippet": {"text": "    cursor.execute(query_%d)" % (i % 9973)}},
                }}],
                "partialFingerprints": {"primaryLocationLineHash": "%016x:1" % rnd.getrandbits(64)},
            }
            f.write(json.dumps(res, separators=(",", ":")))
            f.write(",\n" if i + 1 < n else "\n")
        f.write('], "columnKind": "utf16CodeUnits"}]}\n')


def zap(n, out):
    rnd = random.Random(11)
    per = 50
    with open(out, "w") as f:
        f.write('<?xml version="1.0"?>\n<OWASPZAPReport programName="OWASP ZAP" '
                'version="2.14.0" generated="Mon, 7 Dec 2026 05:00:00">\n')
        f.write('<site name="https://app.example.com" host="app.example.com" port="443" '
                'ssl="true"><alerts>\n')
        done = 0
        item = 0
        while done < n:
            cwe = CWES[item % len(CWES)]
            k = min(per, n - done)
            f.write("<alertitem><pluginid>%d</pluginid><alertRef>%d-%d</alertRef>"
                    "<alert>Synthetic alert %d</alert><name>Synthetic alert %d</name>"
                    "<riskcode>%d</riskcode><confidence>2</confidence>"
                    "<riskdesc>Medium (Medium)</riskdesc>"
                    "<desc>&lt;p&gt;A synthetic alert for the benchmark.&lt;/p&gt;</desc>"
                    "<instances>\n" % (40000 + item % 300, 40000 + item % 300, item,
                                        item, item, item % 4))
            for j in range(k):
                comp = rnd.randrange(COMPONENTS)
                f.write("<instance><uri>https://app.example.com/c%03d/page%d?id=%d&amp;t=%d</uri>"
                        "<method>%s</method><param>q%d</param>"
                        "<attack>&lt;script&gt;alert(%d)&lt;/script&gt;</attack>"
                        "<evidence>&lt;script&gt;alert(%d)&lt;/script&gt;</evidence>"
                        "</instance>\n" % (comp, done + j, j, rnd.randrange(10 ** 6),
                                           "GET" if j % 3 else "POST", j % 7, j, j))
            f.write("</instances><count>%d</count><solution>&lt;p&gt;Validate input.&lt;/p&gt;"
                    "</solution><otherinfo></otherinfo><reference></reference>"
                    "<cweid>%d</cweid><wascid>8</wascid><sourceid>3</sourceid></alertitem>\n"
                    % (k, cwe))
            done += k
            item += 1
        f.write("</alerts></site></OWASPZAPReport>\n")


def model(n, out):
    comps = []
    for i in range(n):
        comps.append({
            "id": "c%03d" % i,
            "type": ["web_app", "rest_api", "background_worker"][i % 3],
            "name": "Component %d" % i,
            "trust_zone": "internal",
            "code": {"paths": ["src/c%03d/**" % i], "urls": ["https://app.example.com/c%03d/" % i]},
        })
    doc = {
        "format": "threatsync-model/1",
        "project": {"name": "Ingest bench"},
        "trust_zones": [{"id": "internal", "name": "internal", "trust_level": 50}],
        "components": comps,
        "flows": [],
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("sarif", "zap", "model"):
        sys.exit("usage: gen_reports.py sarif|zap|model N OUT")
    {"sarif": sarif, "zap": zap, "model": model}[sys.argv[1]](int(sys.argv[2]), sys.argv[3])


if __name__ == "__main__":
    main()
