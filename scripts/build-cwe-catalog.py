#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Derives library/cwe.json, the compact CWE catalog the engine loads, from
MITRE's CWE catalog XML (CWE 4.15 as shipped by the npm package cwe-sdk in
raw/cwe-archive.xml).

usage: scripts/build-cwe-catalog.py [--xml FILE] [--out FILE]

Without --xml it runs `npm pack cwe-sdk@1.1.19` in a temporary directory and
reads the XML from the package. Each weakness becomes one row:
[id, name, abstraction, [parent ids in the Research Concepts view 1000]].

The newest cwe-sdk release carries CWE 4.15; the few later entries the library
maps threats to are added from ADDITIONS below (MITRE's own id, name,
abstraction and ChildOf links of view 1000, from the CWE release that
introduced them), and the catalog's "about" names them.
"""
import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

NS = "{http://cwe.mitre.org/cwe-7}"
PACKAGE = "cwe-sdk@1.1.19"

# Entries newer than the package's CWE release: [id, name, abstraction,
# [ChildOf parents in view 1000], the CWE release that added it].
ADDITIONS = [
    [1427, "Improper Neutralization of Input Used for LLM Prompting", "Base", [77],
     "4.16, 2024-11-19"],
]


def add_additions(rows):
    """Appends the ADDITIONS not in rows (a newer package may carry them)."""
    have = {r[0] for r in rows}
    added = [a for a in ADDITIONS if a[0] not in have]
    rows.extend(a[:4] for a in added)
    rows.sort(key=lambda r: r[0])
    return added


def fetch_xml(tmp):
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")][0]
    with tarfile.open(os.path.join(tmp, tgz)) as t:
        member = t.getmember("package/raw/cwe-archive.xml")
        t.extract(member, tmp)
    return os.path.join(tmp, "package", "raw", "cwe-archive.xml")


def parse(path):
    rows = []
    version = date = None
    for event, el in ET.iterparse(path, events=("start", "end")):
        if event == "start" and el.tag == NS + "Weakness_Catalog":
            version, date = el.get("Version"), el.get("Date")
        if event != "end" or el.tag != NS + "Weakness":
            continue
        parents = sorted({
            int(r.get("CWE_ID"))
            for r in el.iter(NS + "Related_Weakness")
            if r.get("Nature") == "ChildOf" and r.get("View_ID") == "1000"
        })
        rows.append([int(el.get("ID")), el.get("Name"), el.get("Abstraction"), parents])
        el.clear()
    rows.sort(key=lambda r: r[0])
    return version, date, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xml")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..",
                                                   "library", "cwe.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        xml = args.xml or fetch_xml(tmp)
        version, date, rows = parse(xml)
    if not rows:
        sys.exit("build-cwe-catalog: no weaknesses found in %s" % xml)
    added = add_additions(rows)
    extra = ""
    if added:
        extra = (" Added from later CWE releases: %s." %
                 ", ".join("CWE-%d (added in CWE %s)" % (a[0], a[4]) for a in added))
    doc = {
        "about": ("Derived from the CWE(TM) List version %s (%s) by The MITRE Corporation, "
                  "https://cwe.mitre.org, as shipped in the npm package %s, with "
                  "scripts/build-cwe-catalog.py. CWE is a trademark of MITRE; the CWE "
                  "content is used under the CWE Terms of Use "
                  "(https://cwe.mitre.org/about/termsofuse.html).%s"
                  % (version, date, PACKAGE, extra)),
        "version": version,
        "columns": ["id", "name", "abstraction", "parents_view_1000"],
        "weaknesses": rows,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("{\n")
        for key in ("about", "version", "columns"):
            f.write("  %s: %s,\n" % (json.dumps(key), json.dumps(doc[key], ensure_ascii=False)))
        f.write('  "weaknesses": [\n')
        f.write(",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in rows))
        f.write("\n  ]\n}\n")
    print("build-cwe-catalog: %d weaknesses from CWE %s -> %s" % (len(rows), version, args.out))


if __name__ == "__main__":
    main()
