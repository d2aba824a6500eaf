#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Renders `threatsync countermeasures SLUG --json` as a markdown backlog: the
open tasks ordered by score (then priority, then id) and the tasks another
component satisfies, with priority, status, component, due date, threats and
compliance control ids. Deterministic: the same JSON gives the same bytes.

usage: backlog-markdown.py COUNTERMEASURES_JSON TITLE [NOTE]
"""
import json
import sys

FRAMEWORK_ORDER = ("gdpr", "ccpa", "iso-27001", "nist-800-53", "owasp-asvs", "pci-dss",
                   "hipaa", "soc2")


def cell(text):
    """Text that cannot break a markdown table row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def threats_of(cm):
    ids = []
    for uid in cm.get("threats", []):
        tid = uid.split("@", 1)[0]
        if tid not in ids:
            ids.append(tid)
    return ", ".join(ids)


def compliance_of(cm):
    comp = (cm.get("details") or {}).get("compliance") or {}
    parts = []
    keys = [k for k in FRAMEWORK_ORDER if k in comp] + sorted(k for k in comp
                                                              if k not in FRAMEWORK_ORDER)
    for fw in keys:
        parts.append("%s: %s" % (fw, ", ".join(comp[fw])))
    return "; ".join(parts)


def component_of(cm):
    c = (cm.get("details") or {}).get("component") or {}
    name = c.get("name")
    return "%s (%s)" % (cm["component"], name) if name else cm["component"]


def status_of(cm):
    if cm["status"] == "satisfied" and cm.get("satisfied_by"):
        return "satisfied by %s" % cm["satisfied_by"]
    return cm["status"]


def order_key(cm):
    return (-float(cm.get("score") or 0.0), int(cm["priority"]), cm["id"])


def table(rows, numbered):
    head = ["Countermeasure", "Title", "Priority", "Score", "Status", "Component", "Due",
            "Threats", "Compliance"]
    if numbered:
        head = ["#"] + head
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, cm in enumerate(rows, 1):
        cols = ["`%s`" % cm["library_id"], cell(cm["title"]), "P%d" % cm["priority"],
                "%.1f" % float(cm.get("score") or 0.0), cell(status_of(cm)),
                cell(component_of(cm)), cm.get("due_date") or "-", cell(threats_of(cm)),
                cell(compliance_of(cm)) or "-"]
        if numbered:
            cols = [str(n)] + cols
        out.append("| " + " | ".join(cols) + " |")
    return out


def render(doc, title, note):
    cms = sorted(doc["countermeasures"], key=order_key)
    open_ = [c for c in cms if c["status"] not in ("satisfied", "done", "not_applicable",
                                                  "risk_accepted")]
    satisfied = [c for c in cms if c["status"] == "satisfied"]
    other = [c for c in cms if c not in open_ and c not in satisfied]
    by_prio = {}
    for c in open_:
        by_prio[c["priority"]] = by_prio.get(c["priority"], 0) + 1
    components = sorted({c["component"] for c in open_})
    lines = []
    if note:
        lines += ["<!-- %s -->" % note, ""]
    lines += ["# %s" % title, ""]
    lines.append("Project `%s`, model version %s, risk class **%s** (classification rule `%s`)." %
                 (doc["project"], doc["model_version"], doc["risk_class"], doc["rule"]))
    lines.append("")
    lines.append("- **%d tasks to do** across %d components: %s." %
                 (len(open_), len(components),
                  ", ".join("%d at P%d" % (by_prio[p], p) for p in sorted(by_prio))))
    lines.append("- **%d satisfied** by another component (identity provider, gateway, "
                 "secrets manager ...), listed after the backlog." % len(satisfied))
    if other:
        lines.append("- %d closed by a decision (done, not applicable, risk accepted)." %
                     len(other))
    lines.append("- Order: risk score (highest first), then priority, then id. Due dates come "
                 "from the risk policy's SLA for each priority.")
    lines.append("")
    lines.append("## Backlog")
    lines.append("")
    lines += table(open_, True)
    lines.append("")
    lines.append("## Satisfied by another component")
    lines.append("")
    lines += table(satisfied, False) if satisfied else ["None."]
    if other:
        lines += ["", "## Closed by a decision", ""]
        lines += table(other, False)
    lines.append("")
    return "\n".join(lines)


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    sys.stdout.write(render(doc, argv[2], argv[3] if len(argv) == 4 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
