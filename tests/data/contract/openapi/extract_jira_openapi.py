#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cuts Atlassian's Jira Cloud platform OpenAPI document (2.5 MB) down to what
tests/jira_openapi.py checks: the operations the Jira connector calls, in full,
with every schema they reference. Every other operation keeps its path and
method with only its operationId and "x-threatsync-omitted", so a request is
matched against the same path templates, in the same order, as with the whole
document, and a request to an operation left out is reported as such.

usage: extract_jira_openapi.py FULL.json OUT.json
Re-run it (adding to OPERATIONS) when the connector calls a new operation."""
import json
import sys

# The operations the Jira connector sends on Jira Cloud (REST v3).
OPERATIONS = ["createIssue", "editIssue", "getIssue", "getTransitions", "doTransition",
              "addComment", "searchAndReconsileIssuesUsingJql", "getCurrentUser"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def refs_in(node, out):
    """Collects every local $ref below node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            out.add(ref)
        for v in node.values():
            refs_in(v, out)
    elif isinstance(node, list):
        for v in node:
            refs_in(v, out)


def lookup(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        doc = json.load(f)
    wanted = set(OPERATIONS)
    paths = {}
    kept = {}
    for template, item in doc["paths"].items():
        out = {}
        for key, value in item.items():
            if key not in METHODS:
                out[key] = value  # path-level parameters, summary
                continue
            op_id = value.get("operationId")
            if op_id in wanted:
                out[key] = value
                kept[op_id] = template
            else:
                out[key] = {"operationId": op_id, "x-threatsync-omitted": True}
        paths[template] = out
    missing = wanted - set(kept)
    if missing:
        print("not in the document: %s" % ", ".join(sorted(missing)), file=sys.stderr)
        return 1

    # The transitive closure of the references of what was kept.
    todo = set()
    refs_in(paths, todo)
    done = set()
    while todo:
        ref = todo.pop()
        if ref in done:
            continue
        done.add(ref)
        refs_in(lookup(doc, ref), todo)
    components = {}
    for ref in sorted(done):
        parts = ref[2:].split("/")
        if parts[0] != "components" or len(parts) != 3:
            print("unexpected reference %s" % ref, file=sys.stderr)
            return 1
        components.setdefault(parts[1], {})[parts[2]] = lookup(doc, ref)
    # Keep the document's own order of components.
    ordered = {}
    for section, entries in doc.get("components", {}).items():
        if section in components:
            ordered[section] = {k: v for k, v in entries.items() if k in components[section]}

    out = {"openapi": doc["openapi"], "info": doc["info"],
           "x-threatsync-extract": {"operations": OPERATIONS,
                                    "tool": "tests/data/contract/openapi/"
                                            "extract_jira_openapi.py"},
           "paths": paths, "components": ordered}
    with open(argv[2], "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
