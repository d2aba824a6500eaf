#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the Jira Cloud requests threatsync's connector sends against Atlassian's
OpenAPI document: runs test_jira in dump mode (TS_JIRA_DUMP) against the
emulator, then validates every recorded /rest/api/3 request: the operation
exists, its query parameters are declared (with the right types) and its JSON
body matches the operation's request schema (the subset of OpenAPI 3.0 schema
keywords the document uses for these operations). The document is the extract
in tests/data/contract/openapi/ (see PROVENANCE.md there); a missing file fails."""
import json
import os
import re
import subprocess
import sys
import tempfile

REQUIRED_OPS = {"createIssue", "editIssue", "doTransition", "getTransitions", "addComment",
                "getIssue", "searchAndReconsileIssuesUsingJql",
                "getCurrentUser"}


class Validator:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("external $ref %s" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at %s" % ref)
        return schema

    def check(self, value, schema, path, errors, depth=0):
        schema = self.resolve(schema)
        if not isinstance(schema, dict) or depth > 60:
            return
        for sub in schema.get("allOf", []):
            self.check(value, sub, path, errors, depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                ok = 0
                for sub in schema[key]:
                    errs = []
                    self.check(value, sub, path, errs, depth + 1)
                    ok += not errs
                if ok == 0:
                    errors.append("%s: matches none of %s" % (path, key))
        if value is None:
            if schema.get("type") and not schema.get("nullable"):
                errors.append("%s: null where %s is required" % (path, schema["type"]))
            return
        typ = schema.get("type")
        checks = {"object": lambda v: isinstance(v, dict),
                  "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str),
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": lambda v: isinstance(v, bool)}
        if typ in checks and not checks[typ](value):
            errors.append("%s: %s is not of type %s" % (path, json.dumps(value)[:60], typ))
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append("%s: %r not in %s" % (path, value, schema["enum"]))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    errors.append("%s: required property '%s' missing" % (path, name))
            addl = schema.get("additionalProperties", True)
            for name, v in value.items():
                if name in props:
                    sub = self.resolve(props[name])
                    if isinstance(sub, dict) and sub.get("readOnly"):
                        errors.append("%s.%s: read-only property sent" % (path, name))
                    self.check(v, props[name], "%s.%s" % (path, name), errors, depth + 1)
                elif addl is False:
                    errors.append("%s: unknown property '%s'" % (path, name))
                elif isinstance(addl, dict):
                    self.check(v, addl, "%s.%s" % (path, name), errors, depth + 1)
        if isinstance(value, list) and "items" in schema:
            for i, v in enumerate(value):
                self.check(v, schema["items"], "%s[%d]" % (path, i), errors, depth + 1)


def find_operation(doc, method, path):
    for template, ops in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    return None, None


def check_request(v, doc, rec):
    errors = []
    template, op = find_operation(doc, rec["method"], rec["path"])
    if op is None:
        return None, ["%s %s: no such operation in the OpenAPI document" % (rec["method"],
                                                                              rec["path"])]
    if op.get("x-threatsync-omitted"):
        return op.get("operationId"), [
            "%s %s: operation %s was left out of the extracted document (add it to "
            "extract_jira_openapi.py and re-run it)" % (rec["method"], template,
                                                       op.get("operationId"))]
    where = "%s %s (%s)" % (rec["method"], template, op.get("operationId"))
    params = {}
    for p in op.get("parameters", []):
        p = v.resolve(p)
        params[(p["name"], p["in"])] = p
    for pair in [q for q in (rec.get("query") or "").split("&") if q]:
        name = pair.split("=", 1)[0]
        value = pair.split("=", 1)[1] if "=" in pair else ""
        p = params.get((name, "query"))
        if p is None:
            errors.append("%s: undeclared query parameter '%s'" % (where, name))
            continue
        typ = v.resolve(p.get("schema", {})).get("type")
        if typ == "integer" and not re.fullmatch(r"-?\d+", value):
            errors.append("%s: query parameter %s=%s is not an integer" % (where, name, value))
    body = rec.get("body") or ""
    rb = op.get("requestBody")
    if body:
        if rb is None:
            errors.append("%s: a body was sent, the operation takes none" % where)
        else:
            rb = v.resolve(rb)
            schema = rb.get("content", {}).get("application/json", {}).get("schema")
            try:
                value = json.loads(body)
            except ValueError as e:
                errors.append("%s: body is not JSON: %s" % (where, e))
            else:
                if schema is not None:
                    v.check(value, schema, "$", errors)
                    errors = [e if e.startswith(where) else "%s: %s" % (where, e)
                              for e in errors]
    elif rb is not None and rb.get("required"):
        errors.append("%s: required body missing" % where)
    return op.get("operationId"), errors


def main():
    spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "contract",
                        "openapi", "jira-cloud-platform-v3.json")
    if len(sys.argv) != 2:
        print("usage: jira_openapi.py TEST_JIRA_BINARY", file=sys.stderr)
        return 2
    with open(spec) as f:
        doc = json.load(f)
    v = Validator(doc)

    # The checker must be able to fail: a body of the wrong shape is refused.
    _, errs = check_request(v, doc, {"method": "POST", "path": "/rest/api/3/issue",
                                     "query": "", "body": json.dumps({"fields": "x"})})
    _, errs2 = check_request(v, doc, {"method": "POST",
                                      "path": "/rest/api/3/issue/SEC-1/transitions",
                                      "query": "bogus=1", "body": json.dumps(
                                          {"transition": {"id": 31}})})
    if not errs or not errs2:
        print("self-check failed: the validator accepted invalid requests")
        return 1

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "requests.json")
        env = dict(os.environ, TS_JIRA_DUMP=out)
        proc = subprocess.run([sys.argv[1]], env=env, timeout=120)
        if proc.returncode != 0 or not os.path.isfile(out):
            print("test_jira dump mode failed (exit %d)" % proc.returncode)
            return 1
        with open(out) as f:
            records = json.load(f)
    seen = set()
    failures = []
    for rec in records:
        if not rec["path"].startswith("/rest/api/3/"):
            continue
        op_id, errors = check_request(v, doc, rec)
        if op_id:
            seen.add(op_id)
        failures.extend(errors)
    missing = REQUIRED_OPS - seen
    if missing:
        failures.append("operations not exercised: %s" % ", ".join(sorted(missing)))
    for f in failures:
        print("FAIL:", f)
    print("%d requests checked, operations: %s" % (len(records), ", ".join(sorted(seen))))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
