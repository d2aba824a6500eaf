#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Jira Cloud (REST v3, also v2) and Data Center (REST v2) emulator for threatsync's tests.

Implements the subset of the Jira REST API that threatsync uses, validated like the
real service (shapes and messages follow tests/data/contract/jira), with a JQL subset,
search-index lag, rate limiting, fault injection and webhooks. See docs/emulators.md.
"""

import base64
import bisect
import collections
import datetime
import hashlib
import heapq
import json
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emucore  # noqa: E402
from emucore import empty_response, json_response, text_response  # noqa: E402

CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# status id -> (name, category key, description)
STATUSES = collections.OrderedDict([
    ("10000", ("To Do", "new", "")),
    ("3", ("In Progress", "indeterminate", "This issue is being actively worked on at the moment by the assignee.")),
    ("10001", ("Done", "done", "")),
    ("10002", ("Won't Do", "done", "")),
])
INITIAL_STATUS = "10000"
# transition id -> (name, target status id, resolution set when entering the status)
TRANSITIONS = collections.OrderedDict([
    ("11", ("To Do", "10000", None)),
    ("21", ("In Progress", "3", None)),
    ("31", ("Done", "10001", "10000")),
    ("41", ("Won't Do", "10002", "10001")),
])
RESOLUTIONS = collections.OrderedDict([
    ("10000", ("Done", "Work has been completed on this issue.")),
    ("10001", ("Won't Do", "This issue won't be actioned.")),
    ("10002", ("Duplicate", "The problem is a duplicate of an existing issue.")),
    ("10003", ("Cannot Reproduce", "This issue couldn't be reproduced.")),
])
PRIORITIES = collections.OrderedDict([
    ("1", ("Highest", "highest_new.svg")), ("2", ("High", "high_new.svg")),
    ("3", ("Medium", "medium_new.svg")), ("4", ("Low", "low_new.svg")),
    ("5", ("Lowest", "lowest_new.svg")),
])
DEFAULT_PRIORITY = "3"
# issue type id -> (name, subtask, hierarchy level, description)
ISSUETYPES = collections.OrderedDict([
    ("10001", ("Task", False, 0, "A small, distinct piece of work.")),
    ("10002", ("Bug", False, 0, "A problem or error.")),
    ("10003", ("Story", False, 0, "A user story.")),
    ("10000", ("Epic", False, 1, "A big user story that needs to be broken down.")),
    ("10004", ("Sub-task", True, -1, "A small piece of work that's part of a larger task.")),
])
CREATE_FIELDS = {"project", "summary", "issuetype", "description", "labels", "priority",
                 "duedate", "components", "parent", "assignee", "reporter", "environment"}
EDIT_FIELDS = CREATE_FIELDS
NOT_ON_SCREEN = "Field '%s' cannot be set. It is not on the appropriate screen, or unknown."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
REMOVED_SEARCH = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                  "API. A full migration guideline is available at "
                  "https://developer.atlassian.com/changelog/#CHANGE-2046")
DATE_FORMATS_MSG = ("Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
                    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")
JQL_OPERATORS_MSG = ("The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', "
                     "'NOT IN', 'IS' and 'IS NOT'.")
CLOUD_429_HTML = (
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Oops - an error has "
    "occurred</title><meta name=\"decorator\" content=\"none\" /></head><body class=\" error-page "
    "error429\"><div class=\"aui-page-panel\"><h1>Something went wrong</h1><p>You have made too many "
    "requests. Wait for the time given in the Retry-After header, then try again.</p><p>Jira "
    "emulator: rate limit exceeded.</p></div></body></html>")
DC_429_HTML = (
    "<!doctype html><html lang=\"en\"><head><title>HTTP Status 429 \u2013 Too Many Requests</title>"
    "</head><body><h1>HTTP Status 429 \u2013 Too Many Requests</h1><hr class=\"line\" /><p><b>Type"
    "</b> Status Report</p><p><b>Message</b> Rate limit exceeded.</p><p><b>Description</b> The user "
    "has sent too many requests in a given amount of time (\"rate limiting\").</p><hr class=\"line\" "
    "/><h3>Jira emulator</h3></body></html>")
SERVER_ERROR_HTML = ("<!DOCTYPE html><html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
                     "<p>The Jira emulator injected this error.</p></body></html>")


class JqlError(Exception):
    pass


def jira_errors(messages=None, errors=None):
    return {"errorMessages": list(messages or []), "errors": dict(errors or {})}


def err400(messages=None, errors=None):
    return json_response(400, jira_errors(messages, errors))


def parse_tz(spec):
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", spec)
    if not m:
        raise ValueError("--user-tz must look like +0100 or -05:30: %r" % spec)
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if m.group(1) == "-":
        minutes = -minutes
    return datetime.timezone(datetime.timedelta(minutes=minutes)), minutes


def adf_valid(doc):
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return False
    content = doc.get("content")
    if not isinstance(content, list):
        return False
    stack = list(content)
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return False
        if node["type"] == "text" and not (isinstance(node.get("text"), str) and node["text"]):
            return False
        sub = node.get("content")
        if sub is not None:
            if not isinstance(sub, list):
                return False
            stack.extend(sub)
    return True


def adf_to_text(doc):
    """Plain/wiki text of an ADF document (blocks separated by newlines)."""
    if doc is None or isinstance(doc, str):
        return doc
    lines = []

    def walk(node, out):
        if node.get("type") == "text":
            out.append(node.get("text", ""))
        elif node.get("type") == "hardBreak":
            out.append("\n")
        for c in node.get("content", []) or []:
            walk(c, out)

    for block in doc.get("content", []):
        out = []
        walk(block, out)
        lines.append("".join(out))
    return "\n".join(lines)


def text_to_adf(text):
    if text is None or isinstance(text, dict):
        return text
    paras = []
    for line in text.split("\n"):
        if line:
            paras.append({"type": "paragraph", "content": [{"type": "text", "text": line}]})
        else:
            paras.append({"type": "paragraph", "content": []})
    return {"type": "doc", "version": 1, "content": paras}


class Issue:
    __slots__ = ("id", "key", "project", "num", "summary", "description", "issuetype",
                 "priority", "labels", "duedate", "components", "parent", "custom", "status",
                 "resolution", "created", "updated", "status_changed", "resolved_at",
                 "comments", "remotelinks", "properties", "histories", "reporter", "assignee",
                 "environment", "api_counts",
                 "version")


class Jql:
    """Parsed JQL: a predicate tree plus ORDER BY terms."""

    def __init__(self, where, order):
        self.where = where
        self.order = order


class JqlParser:
    TOKEN = re.compile(r"""
        (?P<ws>\s+)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<badstr>["'])
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<lp>\()
      | (?P<rp>\))
      | (?P<comma>,)
      | (?P<word>[A-Za-z0-9_.\-+:*/@]+)
      | (?P<other>.)
    """, re.X)
    FIELDS = {"project": "project", "labels": "labels", "label": "labels", "updated": "updated",
              "updateddate": "updated", "created": "created", "createddate": "created",
              "key": "key", "issuekey": "key", "id": "key", "status": "status",
              "statuscategory": "statusCategory", "resolution": "resolution",
              "issuetype": "issuetype", "type": "issuetype", "priority": "priority"}
    SORTABLE = {"updated", "created", "key", "priority", "status", "issuetype"}

    def __init__(self, emu, text):
        self.emu = emu
        self.text = text
        self.toks = []
        for m in self.TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "ws":
                continue
            if kind == "badstr":
                raise JqlError("Error in the JQL Query: The quoted string '%s' has not been "
                               "completed. (line 1, character %d)"
                               % (text[m.start() + 1:], m.start() + 1))
            if kind == "other":
                raise JqlError("Error in the JQL Query: The character '%s' is a reserved JQL "
                               "character. You must enclose it in a string or use the escape "
                               "'\\u%04x' instead. (line 1, character %d)"
                               % (m.group(), ord(m.group()), m.start() + 1))
            val = m.group()
            if kind == "str":
                val = re.sub(r"\\(.)", r"\1", val[1:-1])
            self.toks.append((kind, val, m.start() + 1))
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "", len(self.text) + 1)

    def next(self):
        t = self.peek()
        self.i += 1
        return t

    def kw(self, word):
        t = self.peek()
        return t[0] == "word" and t[1].lower() == word

    def fail(self, expecting):
        kind, val, pos = self.peek()
        got = "EOF" if kind == "eof" else val
        raise JqlError("Error in the JQL Query: Expecting %s but got '%s'. (line 1, character %d)"
                       % (expecting, got, pos))

    def parse(self):
        where = None
        if not self.kw("order"):
            if self.peek()[0] != "eof":
                where = self.parse_or()
        order = []
        if self.kw("order"):
            self.next()
            if not self.kw("by"):
                self.fail("'by'")
            self.next()
            while True:
                kind, val, pos = self.next()
                if kind not in ("word", "str"):
                    self.i -= 1
                    self.fail("a field name")
                field = self.FIELDS.get(val.lower())
                if field is None:
                    raise JqlError("Field '%s' does not exist or you do not have permission to "
                                   "view it." % val)
                if field not in self.SORTABLE:
                    raise JqlError("Not able to sort using field '%s'." % val)
                desc = False
                if self.kw("asc") or self.kw("desc"):
                    desc = self.next()[1].lower() == "desc"
                order.append((field, desc))
                if self.peek()[0] == "comma":
                    self.next()
                    continue
                break
            if len(order) > 7:
                raise JqlError("The ORDER BY clause can contain a maximum of 7 fields.")
        if self.peek()[0] != "eof":
            self.fail("either 'OR' or 'AND'")
        return Jql(where, order)

    def parse_or(self):
        node = self.parse_and()
        while self.kw("or"):
            self.next()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.kw("and"):
            self.next()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.kw("not"):
            self.next()
            return ("not", self.parse_not())
        if self.peek()[0] == "lp":
            self.next()
            node = self.parse_or()
            if self.peek()[0] != "rp":
                self.fail("')'")
            self.next()
            return node
        return self.parse_clause()

    def value(self, field):
        kind, val, pos = self.next()
        if kind == "str":
            return val
        if kind == "word":
            if self.peek()[0] == "lp":
                raise JqlError("Unable to find JQL function '%s()'." % val)
            if val.lower() in ("and", "or", "not", "order", "in", "is", "empty", "null"):
                self.i -= 1
                self.fail("either a value, list or function")
            return val
        self.i -= 1
        self.fail("either a value, list or function")

    def parse_clause(self):
        kind, name, pos = self.next()
        if kind not in ("word", "str"):
            self.i -= 1
            self.fail("a field name")
        field = self.FIELDS.get(name.lower())
        if field is None:
            raise JqlError("Field '%s' does not exist or you do not have permission to view it."
                           % name)
        t = self.peek()
        if t[0] == "op":
            op = self.next()[1]
            if op in ("~", "!~"):
                raise JqlError("The operator '%s' is not supported by the '%s' field." % (op, name))
            if op in (">", ">=", "<", "<=") and field not in ("updated", "created", "key",
                                                              "priority"):
                raise JqlError("The operator '%s' is not supported by the '%s' field." % (op, name))
            return self.compile(field, name, op, [self.value(field)])
        if self.kw("in") or self.kw("not"):
            neg = self.next()[1].lower() == "not"
            if neg:
                if not self.kw("in"):
                    self.fail("'IN'")
                self.next()
            if self.peek()[0] != "lp":
                self.fail("'('")
            self.next()
            vals = [self.value(field)]
            while self.peek()[0] == "comma":
                self.next()
                vals.append(self.value(field))
            if self.peek()[0] != "rp":
                self.fail("')'")
            self.next()
            return self.compile(field, name, "not in" if neg else "in", vals)
        if self.kw("is"):
            self.next()
            neg = False
            if self.kw("not"):
                self.next()
                neg = True
            if not (self.kw("empty") or self.kw("null")):
                self.fail("'EMPTY' or 'NULL'")
            self.next()
            return self.compile(field, name, "is not" if neg else "is", [])
        raise JqlError("Error in the JQL Query: Expecting operator but got '%s'. %s (line 1, "
                       "character %d)" % (t[1] if t[0] != "eof" else "EOF", JQL_OPERATORS_MSG, t[2]))

    def date_ms(self, name, val):
        emu = self.emu
        m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?", val.strip())
        if m:
            try:
                dt = datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                                       int(m.group(4) or 0), int(m.group(5) or 0),
                                       tzinfo=emu.user_tz)
            except ValueError:
                dt = None
            if dt is not None:
                return int(dt.timestamp() * 1000)
        rel = re.fullmatch(r"([+-]?)((?:\s*\d+\s*[wdhm])+)", val.strip())
        if rel:
            total = 0
            for n, unit in re.findall(r"(\d+)\s*([wdhm])", rel.group(2)):
                total += int(n) * {"w": 604800, "d": 86400, "h": 3600, "m": 60}[unit] * 1000
            return emu.clock.now_ms() + (-total if rel.group(1) == "-" else total)
        if re.fullmatch(r"\d{10,}", val):
            return int(val)
        raise JqlError("Date value '%s' for field '%s' is invalid. %s" % (val, name, DATE_FORMATS_MSG))

    def compile(self, field, name, op, vals):
        emu = self.emu
        if op in ("is", "is not"):
            if field not in ("labels", "resolution", "priority"):
                raise JqlError("The field '%s' does not support searching for EMPTY values." % name)
            return ("empty", field, op == "is not")
        if field in ("updated", "created"):
            if op in ("in", "not in"):
                raise JqlError("The operator '%s' is not supported by the '%s' field."
                               % (op.upper(), name))
            return ("date", field, op, self.date_ms(name, vals[0]))
        if field == "project":
            ids = set()
            for v in vals:
                p = emu.find_project(v)
                if p is None:
                    raise JqlError("The value '%s' does not exist for the field 'project'." % v)
                ids.add(p["key"])
            return ("set", "project", op in ("!=", "not in"), frozenset(ids))
        if field == "labels":
            return ("labels", op in ("!=", "not in"), frozenset(vals))
        if field == "key":
            keys = set()
            for v in vals:
                k = v.upper()
                if re.fullmatch(r"\d+", v):
                    iss = emu.by_id.get(int(v))
                    k = iss.key if iss else None
                elif not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+", k):
                    raise JqlError("The issue key '%s' for field '%s' is invalid." % (v, name))
                if k is not None:
                    keys.add(k)
            if op in (">", ">=", "<", "<="):
                if len(keys) != 1:
                    raise JqlError("The issue key '%s' for field '%s' is invalid." % (vals[0], name))
                k = next(iter(keys))
                proj, num = k.rsplit("-", 1)
                return ("keycmp", op, proj, int(num))
            return ("set", "key", op in ("!=", "not in"), frozenset(keys))
        if field == "status":
            return ("set", "status", op in ("!=", "not in"), jql_ids(STATUSES, field, vals))
        if field == "statusCategory":
            keys = set()
            for v in vals:
                c = next((k for k, c in CATEGORIES.items()
                          if v.lower() in (k, c["name"].lower(), str(c["id"]))), None)
                if c is None:
                    raise JqlError("The value '%s' does not exist for the field 'statusCategory'."
                                   % v)
                keys.add(c)
            return ("set", "statusCategory", op in ("!=", "not in"), frozenset(keys))
        if field == "resolution":
            named = [v for v in vals if v.lower() != "unresolved"]
            ids = jql_ids(RESOLUTIONS, field, named)
            if len(named) < len(vals):
                ids |= {None}
            return ("set", "resolution", op in ("!=", "not in"), ids)
        if field == "issuetype":
            return ("set", "issuetype", op in ("!=", "not in"), jql_ids(ISSUETYPES, field, vals))
        if field == "priority":
            ids = jql_ids(PRIORITIES, field, vals)
            if op in (">", ">=", "<", "<="):
                # higher priority = lower id number
                return ("prio", op, int(next(iter(ids))))
            return ("set", "priority", op in ("!=", "not in"), frozenset(ids))
        raise JqlError("Field '%s' does not exist or you do not have permission to view it." % name)


def jql_ids(table, field, vals):
    """The ids of the table entries (id -> (name, ...)) that JQL values name,
    by name (any case) or by id; a value matching none is Jira's error."""
    ids = set()
    for v in vals:
        i = next((k for k, e in table.items() if e[0].lower() == v.lower() or k == v), None)
        if i is None:
            raise JqlError("The value '%s' does not exist for the field '%s'." % (v, field))
        ids.add(i)
    return frozenset(ids)


def snapshot(iss):
    """The searchable attributes of an issue, as the search index sees them."""
    return {"id": iss.id, "key": iss.key, "project": iss.project["key"], "num": iss.num,
            "labels": frozenset(iss.labels), "updated": iss.updated, "created": iss.created,
            "status": iss.status, "statusCategory": STATUSES[iss.status][1],
            "resolution": iss.resolution, "issuetype": iss.issuetype, "priority": iss.priority}


def evaluate(node, s):
    kind = node[0]
    if kind == "and":
        return evaluate(node[1], s) and evaluate(node[2], s)
    if kind == "or":
        return evaluate(node[1], s) or evaluate(node[2], s)
    if kind == "not":
        return not evaluate(node[1], s)
    if kind == "date":
        _, field, op, ms = node
        v = s[field]
        if op == ">=":
            return v >= ms
        if op == ">":
            return v > ms
        if op == "<=":
            return v <= ms
        if op == "<":
            return v < ms
        if op == "=":
            return v == ms
        return v != ms
    if kind == "set":
        _, field, neg, vals = node
        return (s[field] in vals) != neg
    if kind == "labels":
        _, neg, vals = node
        hit = not s["labels"].isdisjoint(vals)
        return (not hit and bool(s["labels"])) if neg else hit
    if kind == "empty":
        _, field, neg = node
        v = s[field]
        empty = not v if field == "labels" else v is None
        return not empty if neg else empty
    if kind == "keycmp":
        _, op, proj, num = node
        if s["project"] != proj:
            return False
        return {">": s["num"] > num, ">=": s["num"] >= num, "<": s["num"] < num,
                "<=": s["num"] <= num}[op]
    if kind == "prio":
        _, op, pid = node
        p = int(s["priority"])
        return {">": p < pid, ">=": p <= pid, "<": p > pid, "<=": p >= pid}[op]
    raise AssertionError(kind)


def conjuncts(node):
    if node is None:
        return []
    if node[0] == "and":
        return conjuncts(node[1]) + conjuncts(node[2])
    return [node]


class JiraEmulator(emucore.EmulatorApp):
    name = "jira"

    def __init__(self, args):
        super().__init__(args)
        self.cloud = args.flavor == "cloud"
        self.server_header = "AtlassianEdge" if self.cloud else "Apache-Coyote/1.1"
        self.user_tz, self.user_tz_minutes = parse_tz(args.user_tz)
        self.index_lag_ms = args.index_lag_ms
        self.custom_fields = {}
        for spec in [s for s in args.custom_fields.split(",") if s]:
            name, _, typ = spec.partition(":")
            self.custom_fields[name] = typ or "string"
        self.require_fields = {}
        for spec in [s for s in args.transition_requires.split(",") if s]:
            tid, _, field = spec.partition(":")
            self.require_fields.setdefault(tid, []).append(field or "resolution")
        # Transitions the API user is not offered (a workflow condition or a
        # missing permission): absent from GET .../transitions, refused by POST.
        self.hidden_transitions = {t for t in args.hidden_transitions.split(",") if t}
        self.project_specs = [s for s in args.projects.split(",") if s]
        self.api_user = self.make_user(args.email.split("@")[0], args.email)
        self.reset_state()
        self.add_routes()

    # --- state ----------------------------------------------------------------------------
    def reset_state(self):
        self.projects = {}
        for i, key in enumerate(self.project_specs):
            self.projects[key] = {"id": str(10000 + i), "key": key, "name": key.title(),
                                  "next": 1}
        self.deleted_projects = {}
        self.issues = {}
        self.by_id = {}
        self.children = collections.defaultdict(list)
        self.next_issue_id = 10000
        self.next_comment_id = 10000
        self.next_link_id = 10000
        self.indexed = {}
        self.label_index = collections.defaultdict(set)
        self.project_index = collections.defaultdict(set)
        self.updated_sorted = []
        self.pending = {}
        self.pending_heap = []
        self.pending_seq = 0
        self.index_version = 0
        self.query_cache = collections.OrderedDict()

    def find_project(self, ref):
        if ref is None:
            return None
        ref = str(ref)
        p = self.projects.get(ref.upper())
        if p:
            return p
        for p in self.projects.values():
            if p["id"] == ref or p["name"].lower() == ref.lower():
                return p
        return None

    def find_issue(self, ref):
        iss = self.issues.get(ref.upper())
        if iss is None and ref.isdigit():
            iss = self.by_id.get(int(ref))
        if iss is not None and iss.project["key"] not in self.projects:
            return None  # its project was deleted (DELETE /_emu/projects/KEY)
        return iss

    def make_user(self, name, email=None):
        digest = hashlib.sha1(name.encode()).hexdigest()
        if self.cloud:
            acct = "712020:" + str(uuid.UUID(digest[:32]))
            u = {"self": "%s/rest/api/3/user?accountId=%s" % (self.base_url, acct),
                 "accountId": acct, "emailAddress": email or "%s@example.com" % name,
                 "avatarUrls": self.avatars("useravatar?ownerId=" + name),
                 "displayName": name.replace(".", " ").title(), "active": True,
                 "timeZone": self.tz_name(), "accountType": "atlassian"}
        else:
            u = {"self": "%s/rest/api/2/user?username=%s" % (self.base_url, name),
                 "name": name, "key": "JIRAUSER" + str(int(digest[:6], 16) % 100000),
                 "emailAddress": email or "%s@example.com" % name,
                 "avatarUrls": self.avatars("useravatar?ownerId=" + name),
                 "displayName": name.replace(".", " ").title(), "active": True,
                 "timeZone": self.tz_name()}
        return u

    def avatars(self, what):
        base = "%s/secure/%s" % (self.base_url, what)
        return {"48x48": base, "24x24": base + "&size=small", "16x16": base + "&size=xsmall",
                "32x32": base + "&size=medium"}

    def tz_name(self):
        m = self.user_tz_minutes
        if m == 0:
            return "Etc/UTC"
        if m % 60 == 0:
            return "Etc/GMT%+d" % (-m // 60)
        return "GMT%+03d:%02d" % (m // 60 if m > 0 else -((-m) // 60), abs(m) % 60)

    def on_listening(self, port):
        self.api_user = self.make_user(self.args.email.split("@")[0], self.args.email)

    def fmt_time(self, ms):
        dt = datetime.datetime.fromtimestamp(ms / 1000.0, self.user_tz)
        m = self.user_tz_minutes
        sign = "+" if m >= 0 else "-"
        return "%s.%03d%s%02d%02d" % (dt.strftime("%Y-%m-%dT%H:%M:%S"), ms % 1000, sign,
                                      abs(m) // 60, abs(m) % 60)

    # --- search index -----------------------------------------------------------------------
    def reindex(self, iss, immediate=False):
        snap = snapshot(iss)
        if immediate or self.index_lag_ms <= 0:
            self.pending.pop(iss.key, None)
            self.apply_snapshot(snap)
            return
        self.pending_seq += 1
        due = self.clock.now_ms() + self.index_lag_ms
        self.pending[iss.key] = (self.pending_seq, snap)
        heapq.heappush(self.pending_heap, (due, self.pending_seq, iss.key))

    def promote_due(self):
        """Makes lagging writes visible once their delay has passed. An issue written
        again while lagging keeps its previously indexed state until the last write's
        delay has passed (stale heap entries are skipped)."""
        now = self.clock.now_ms()
        heap = self.pending_heap
        while heap and heap[0][0] <= now:
            _, seq, key = heapq.heappop(heap)
            cur = self.pending.get(key)
            if cur is not None and cur[0] == seq:
                del self.pending[key]
                self.apply_snapshot(cur[1])

    def apply_snapshot(self, snap):
        key = snap["key"]
        old = self.indexed.get(key)
        if old is not None:
            for label in old["labels"]:
                s = self.label_index.get(label)
                if s is not None:
                    s.discard(key)
            i = bisect.bisect_left(self.updated_sorted, (old["updated"], old["id"]))
            if i < len(self.updated_sorted) and self.updated_sorted[i] == (old["updated"], old["id"]):
                del self.updated_sorted[i]
        self.indexed[key] = snap
        for label in snap["labels"]:
            self.label_index[label].add(key)
        self.project_index[snap["project"]].add(key)
        bisect.insort(self.updated_sorted, (snap["updated"], snap["id"]))
        self.index_version += 1

    def run_query(self, jql_text, reconcile=()):
        """Returns (ordered matching issue keys, whether the query has a restriction);
        results are cached per query until the index changes. Raises JqlError."""
        self.promote_due()
        cache_key = (jql_text, tuple(reconcile))
        hit = self.query_cache.get(cache_key)
        if hit is not None and hit[0] == self.index_version and not reconcile:
            self.query_cache.move_to_end(cache_key)
            return hit[1], hit[2]
        q = JqlParser(self, jql_text).parse()
        candidates = None
        for c in conjuncts(q.where):
            cand = None
            if c[0] == "date" and c[1] == "updated" and c[2] in (">=", ">"):
                lo = bisect.bisect_left(self.updated_sorted, (c[3] + (1 if c[2] == ">" else 0), -1))
                cand = [self.by_id[i].key for _, i in self.updated_sorted[lo:]]
            elif c[0] == "labels" and not c[1]:
                cand = set()
                for label in c[2]:
                    cand |= self.label_index.get(label, set())
            elif c[0] == "set" and c[1] == "key" and not c[2]:
                cand = list(c[3])
            elif c[0] == "set" and c[1] == "project" and not c[2]:
                cand = set()
                for p in c[3]:
                    cand |= self.project_index.get(p, set())
            if cand is not None and (candidates is None or len(cand) < len(candidates)):
                candidates = cand
        if candidates is None:
            candidates = self.indexed.keys()
        snaps = []
        seen = set()
        for key in candidates:
            s = self.indexed.get(key)
            if s is not None and (q.where is None or evaluate(q.where, s)):
                snaps.append(s)
                seen.add(key)
        for rid in reconcile:
            iss = self.by_id.get(rid)
            if iss is None:
                continue
            live = snapshot(iss)
            snaps = [s for s in snaps if s["id"] != rid]
            if q.where is None or evaluate(q.where, live):
                snaps.append(live)
        order = q.order or [("key", True)]
        for field, desc in reversed(order):
            if field == "key":
                snaps.sort(key=lambda s: (s["project"], s["num"]), reverse=desc)
            elif field == "priority":
                snaps.sort(key=lambda s: int(s["priority"]), reverse=not desc)
            else:
                snaps.sort(key=lambda s, f=field: s[f], reverse=desc)
        keys = [s["key"] for s in snaps]
        bounded = q.where is not None
        if not reconcile:
            self.query_cache[cache_key] = (self.index_version, keys, bounded)
            if len(self.query_cache) > 32:
                self.query_cache.popitem(last=False)
        return keys, bounded

    # --- rendering ------------------------------------------------------------------------
    def api_prefix(self, v):
        return "%s/rest/api/%s" % (self.base_url, v)

    def render_status(self, sid, v):
        name, cat, desc = STATUSES[sid]
        return {"self": "%s/status/%s" % (self.api_prefix(v), sid), "description": desc,
                "iconUrl": self.base_url + "/", "name": name, "id": sid,
                "statusCategory": self.render_category(cat, v)}

    def render_category(self, cat, v):
        c = CATEGORIES[cat]
        return {"self": "%s/statuscategory/%d" % (self.api_prefix(v), c["id"]), "id": c["id"],
                "key": c["key"], "colorName": c["colorName"], "name": c["name"]}

    def render_project(self, p, v):
        return {"self": "%s/project/%s" % (self.api_prefix(v), p["id"]), "id": p["id"],
                "key": p["key"], "name": p["name"], "projectTypeKey": "software",
                "simplified": False, "avatarUrls": self.avatars("projectavatar?pid=" + p["id"])}

    def render_issuetype(self, tid, v):
        name, sub, level, desc = ISSUETYPES[tid]
        return {"self": "%s/issuetype/%s" % (self.api_prefix(v), tid), "id": tid,
                "description": desc, "iconUrl": "%s/images/icons/issuetypes/%s.svg"
                % (self.base_url, name.lower()), "name": name, "subtask": sub,
                "avatarId": 10318, "hierarchyLevel": level}

    def render_priority(self, pid, v):
        name, icon = PRIORITIES[pid]
        return {"self": "%s/priority/%s" % (self.api_prefix(v), pid),
                "iconUrl": "%s/images/icons/priorities/%s" % (self.base_url, icon),
                "name": name, "id": pid}

    def render_resolution(self, rid, v):
        if rid is None:
            return None
        name, desc = RESOLUTIONS[rid]
        return {"self": "%s/resolution/%s" % (self.api_prefix(v), rid), "id": rid,
                "description": desc, "name": name}

    def render_comment(self, iss, c, v):
        body = c["body"]
        body = text_to_adf(body) if v == "3" else adf_to_text(body)
        out = {"self": "%s/issue/%d/comment/%s" % (self.api_prefix(v), iss.id, c["id"]),
               "id": c["id"], "author": c["author"], "body": body,
               "updateAuthor": c["author"], "created": self.fmt_time(c["created"]),
               "updated": self.fmt_time(c["created"])}
        if self.cloud:
            out["jsdPublic"] = True
        return out

    def field_renderers(self):
        e = self
        r = collections.OrderedDict()
        r["statuscategorychangedate"] = lambda i, v: e.fmt_time(i.status_changed)
        r["issuetype"] = lambda i, v: e.render_issuetype(i.issuetype, v)
        r["components"] = lambda i, v: [
            {"self": "%s/component/%d" % (e.api_prefix(v), 10000 + n), "id": str(10000 + n),
             "name": c} for n, c in enumerate(i.components)]
        r["timespent"] = lambda i, v: None
        r["timeoriginalestimate"] = lambda i, v: None
        r["project"] = lambda i, v: e.render_project(i.project, v)
        r["description"] = lambda i, v: text_to_adf(i.description) if v == "3" \
            else adf_to_text(i.description)
        r["fixVersions"] = lambda i, v: []
        r["aggregatetimespent"] = lambda i, v: None
        r["statusCategory"] = lambda i, v: e.render_category(STATUSES[i.status][1], v)
        r["resolution"] = lambda i, v: e.render_resolution(i.resolution, v)
        r["timetracking"] = lambda i, v: {}
        r["security"] = lambda i, v: None
        r["attachment"] = lambda i, v: []
        r["aggregatetimeestimate"] = lambda i, v: None
        r["resolutiondate"] = lambda i, v: e.fmt_time(i.resolved_at) if i.resolved_at else None
        r["workratio"] = lambda i, v: -1
        r["summary"] = lambda i, v: i.summary
        r["watches"] = lambda i, v: {"self": "%s/issue/%s/watchers" % (e.api_prefix(v), i.key),
                                     "watchCount": 1, "isWatching": True}
        r["lastViewed"] = lambda i, v: None
        r["creator"] = lambda i, v: i.reporter
        r["subtasks"] = lambda i, v: [
            {"id": str(s.id), "key": s.key, "self": "%s/issue/%d" % (e.api_prefix(v), s.id),
             "fields": {"summary": s.summary, "status": e.render_status(s.status, v)}}
            for s in (e.issues[k] for k in e.children.get(i.key, ()))
            if s.parent == i.key and ISSUETYPES[s.issuetype][1]]
        r["created"] = lambda i, v: e.fmt_time(i.created)
        r["reporter"] = lambda i, v: i.reporter
        r["aggregateprogress"] = lambda i, v: {"progress": 0, "total": 0}
        r["priority"] = lambda i, v: e.render_priority(i.priority, v)
        r["labels"] = lambda i, v: list(i.labels)
        r["environment"] = lambda i, v: (text_to_adf(i.environment) if v == "3"
                                         else adf_to_text(i.environment))
        r["timeestimate"] = lambda i, v: None
        r["aggregatetimeoriginalestimate"] = lambda i, v: None
        r["versions"] = lambda i, v: []
        r["duedate"] = lambda i, v: i.duedate
        r["progress"] = lambda i, v: {"progress": 0, "total": 0}
        r["issuelinks"] = lambda i, v: []
        r["votes"] = lambda i, v: {"self": "%s/issue/%s/votes" % (e.api_prefix(v), i.key),
                                   "votes": 0, "hasVoted": False}
        r["comment"] = lambda i, v: {
            "comments": [e.render_comment(i, c, v) for c in i.comments],
            "self": "%s/issue/%d/comment" % (e.api_prefix(v), i.id),
            "maxResults": len(i.comments), "total": len(i.comments), "startAt": 0}
        r["assignee"] = lambda i, v: i.assignee
        r["worklog"] = lambda i, v: {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []}
        r["updated"] = lambda i, v: e.fmt_time(i.updated)
        r["status"] = lambda i, v: e.render_status(i.status, v)
        r["parent"] = lambda i, v: e.render_parent(i, v)
        return r

    def render_parent(self, iss, v):
        if not iss.parent:
            return None
        p = self.issues.get(iss.parent)
        if p is None:
            return None
        return {"id": str(p.id), "key": p.key, "self": "%s/issue/%d" % (self.api_prefix(v), p.id),
                "fields": {"summary": p.summary, "status": self.render_status(p.status, v),
                           "priority": self.render_priority(p.priority, v),
                           "issuetype": self.render_issuetype(p.issuetype, v)}}

    def select_fields(self, spec):
        """Field names to render for a fields= list (None or '*all' -> all)."""
        names = list(self.renderers.keys()) + list(self.custom_fields.keys())
        if not spec:
            return names
        include = set()
        exclude = set()
        star = False
        for f in spec:
            f = f.strip()
            if f in ("*all", "*navigable"):
                star = True
            elif f.startswith("-"):
                exclude.add(f[1:])
            elif f:
                include.add(f)
        if star or (not include and exclude):
            chosen = [n for n in names if n not in exclude]
        else:
            chosen = [n for n in names if n in include and n not in exclude]
        return chosen

    def render_issue(self, iss, v, field_names, expand=True):
        fields = {}
        for name in field_names:
            fn = self.renderers.get(name)
            if fn is not None:
                val = fn(iss, v)
                if name == "parent" and val is None:
                    continue
                fields[name] = val
            else:
                fields[name] = iss.custom.get(name)
        out = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                         "versionedRepresentations" if expand else "",
               "id": str(iss.id), "self": "%s/issue/%d" % (self.api_prefix(v), iss.id),
               "key": iss.key, "fields": fields}
        return out

    # --- auth, errors, headers ---------------------------------------------------------------
    def authenticate(self, req):
        h = req.headers.get("Authorization", "")
        if self.cloud:
            cred = emucore.basic_credentials(h)
            if cred and cred[0] == self.args.email and emucore.secret_equal(cred[1], self.args.token):
                return None
            return text_response(401, "Client must be authenticated to access this resource.",
                                 headers=[("WWW-Authenticate", 'Basic realm="protected-area"')])
        if h.startswith("Bearer ") and emucore.secret_equal(h[7:].strip(), self.args.token):
            return None
        return json_response(401, {"message": "Client must be authenticated to access this "
                                              "resource.", "status-code": 401},
                             headers=[("X-Seraph-LoginReason", "AUTHENTICATED_FAILED")])

    def not_found(self, req):
        return json_response(404, {"message": "null for uri: %s%s" % (self.base_url, req.path),
                                   "status-code": 404})

    def method_not_allowed(self, req):
        return json_response(405, {"message": "Method Not Allowed", "status-code": 405})

    def decorate(self, req, resp, remaining):
        if self.cloud:
            rid = uuid.uuid4()
            resp.headers.append(("Atl-Request-Id", str(rid)))
            resp.headers.append(("Atl-Traceid", rid.hex))
            resp.headers.append(("X-Arequestid", rid.hex))
            if self.bucket is not None:
                resp.headers.append(("X-RateLimit-Limit", str(int(self.bucket.capacity))))
                resp.headers.append(("X-RateLimit-Remaining", str(remaining or 0)))
            else:
                resp.headers.append(("X-RateLimit-Limit", "400"))
                resp.headers.append(("X-RateLimit-Remaining", "399"))
        else:
            resp.headers.append(("X-AREQUESTID", "%dx%dx1" % (time.time() % 1440, os.getpid())))
            if resp.status != 401:
                resp.headers.append(("X-Seraph-LoginReason", "OK"))
            if self.bucket is not None:
                resp.headers.extend(self.dc_rate_headers(remaining or 0))

    def dc_rate_headers(self, remaining):
        b = self.bucket
        return [("X-RateLimit-Limit", str(int(b.capacity))),
                ("X-RateLimit-Remaining", str(remaining)),
                ("X-RateLimit-FillRate", str(max(1, int(round(b.fill_per_s * b.interval))))),
                ("X-RateLimit-Interval-Seconds", str(int(b.interval)))]

    def too_many(self, retry_after):
        if self.cloud:
            reset = datetime.datetime.fromtimestamp(time.time() + max(1, _ra_seconds(retry_after)),
                                                    datetime.timezone.utc)
            limit = str(int(self.bucket.capacity)) if self.bucket else "400"
            return text_response(429, CLOUD_429_HTML, ctype="text/html;charset=UTF-8", headers=[
                ("Retry-After", retry_after), ("X-RateLimit-Limit", limit),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("RateLimit-Reason", "jira-quota-based")])
        h = [("Retry-After", retry_after)]
        if self.bucket is not None:
            h.extend(self.dc_rate_headers(0))
        else:
            h.extend([("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0"),
                      ("X-RateLimit-FillRate", "5"), ("X-RateLimit-Interval-Seconds", "1")])
        return text_response(429, DC_429_HTML, ctype="text/html;charset=utf-8", headers=h)

    def rate_limited_response(self, req, wait_s):
        return self.too_many(str(max(1, int(wait_s + 0.999))))

    def fault_response(self, kind, req, retry_after):
        if kind == "429":
            return self.too_many(self.retry_after_value(retry_after, 1))
        code = int(kind)
        reason = emucore.REASONS[code][0]
        headers = []
        if code == 503:
            headers.append(("Retry-After", self.retry_after_value(retry_after, 1)))
        if code == 500:
            return json_response(500, jira_errors(["Internal server error"]), headers=headers)
        return text_response(code, SERVER_ERROR_HTML % (code, reason, code, reason),
                             ctype="text/html", headers=headers)

    def webhook_headers(self, event, raw, target, delivery_id, retry=False):
        h = [("Content-Type", "application/json; charset=utf-8"),
             ("User-Agent", "Atlassian Webhook HTTP Client"),
             ("X-Atlassian-Webhook-Identifier", delivery_id),
             ("X-Atlassian-Webhook-Flow", "Retry" if retry else "Primary")]
        if retry:
            h.append(("X-Atlassian-Webhook-Retry", "1"))
        if target["secret"] is not None and target["sign"]:
            h.append(("X-Hub-Signature", "sha256=" + emucore.hmac_sha256_hex(target["secret"], raw)))
        return h

    # --- routes -------------------------------------------------------------------------------
    def add_routes(self):
        self.renderers = self.field_renderers()
        vers = "(2|3)" if self.cloud else "(2)"
        A = self.add_route
        A("GET", r"/rest/api/%s/serverInfo" % vers, self.r_server_info)
        A("GET", r"/rest/api/%s/myself" % vers, self.r_myself)
        A("POST", r"/rest/api/%s/issue" % vers, self.r_create, "POST /rest/api/{v}/issue")
        A("GET", r"/rest/api/%s/issue/([^/]+)" % vers, self.r_get, "GET /rest/api/{v}/issue/{key}")
        A("PUT", r"/rest/api/%s/issue/([^/]+)" % vers, self.r_edit, "PUT /rest/api/{v}/issue/{key}")
        A("GET", r"/rest/api/%s/issue/([^/]+)/transitions" % vers, self.r_transitions,
          "GET /rest/api/{v}/issue/{key}/transitions")
        A("POST", r"/rest/api/%s/issue/([^/]+)/transitions" % vers, self.r_do_transition,
          "POST /rest/api/{v}/issue/{key}/transitions")
        A("POST", r"/rest/api/%s/issue/([^/]+)/comment" % vers, self.r_comment,
          "POST /rest/api/{v}/issue/{key}/comment")
        A("GET", r"/rest/api/%s/issue/([^/]+)/comment" % vers, self.r_comments,
          "GET /rest/api/{v}/issue/{key}/comment")
        A("POST", r"/rest/api/%s/issue/([^/]+)/remotelink" % vers, self.r_remotelink_post,
          "POST /rest/api/{v}/issue/{key}/remotelink")
        A("GET", r"/rest/api/%s/issue/([^/]+)/remotelink" % vers, self.r_remotelink_get,
          "GET /rest/api/{v}/issue/{key}/remotelink")
        A("GET", r"/rest/api/%s/issue/([^/]+)/properties/([^/]+)" % vers, self.r_prop_get,
          "GET /rest/api/{v}/issue/{key}/properties/{prop}")
        A("PUT", r"/rest/api/%s/issue/([^/]+)/properties/([^/]+)" % vers, self.r_prop_put,
          "PUT /rest/api/{v}/issue/{key}/properties/{prop}")
        if self.cloud:
            A("GET", r"/rest/api/3/search/jql", self.r_search_jql)
            A("POST", r"/rest/api/3/search/jql", self.r_search_jql)
            A("GET", r"/rest/api/(2|3)/search", self.r_search_removed, "GET /rest/api/{v}/search")
            A("POST", r"/rest/api/(2|3)/search", self.r_search_removed, "POST /rest/api/{v}/search")
        else:
            A("GET", r"/rest/api/2/search", self.r_search_dc)
            A("POST", r"/rest/api/2/search", self.r_search_dc)

    def dispatch(self, req):
        denied = self.authenticate(req)
        if denied is not None:
            req.route = req.method + " (unauthenticated)"
            return req.route, denied
        with self.lock:
            return super().dispatch(req)

    def body_object(self, req):
        """Parsed JSON object body or a ready 400 response."""
        try:
            body = req.json()
        except ValueError as e:
            return None, err400(["Unexpected character in request body: %s" % str(e)[:120]])
        if not isinstance(body, dict):
            return None, err400(["Can not deserialize instance of request body out of the JSON "
                                 "value given."])
        return body, None

    def r_server_info(self, req, v):
        now = self.clock.now_ms()
        if self.cloud:
            info = {"baseUrl": self.base_url, "displayUrl": self.base_url,
                    "displayUrlServicedeskHelpCenter": self.base_url,
                    "displayUrlConfluence": self.base_url, "version": "1001.0.0-SNAPSHOT",
                    "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud",
                    "buildNumber": 100283, "buildDate": self.fmt_time(now - 86400000),
                    "serverTime": self.fmt_time(now), "scmInfo": "0" * 40,
                    "serverTitle": "Jira", "defaultLocale": {"locale": "en_US"},
                    "serverTimeZone": "Etc/UTC"}
        else:
            info = {"baseUrl": self.base_url, "version": "9.12.15", "versionNumbers": [9, 12, 15],
                    "deploymentType": "Server", "buildNumber": 9120015,
                    "buildDate": self.fmt_time(now - 86400000), "databaseBuildNumber": 9120015,
                    "serverTime": self.fmt_time(now), "scmInfo": "0" * 40,
                    "serverTitle": "Jira Emulator"}
        return json_response(200, info)

    def r_myself(self, req, v):
        u = dict(self.api_user)
        u["self"] = u["self"].replace("/rest/api/3/", "/rest/api/%s/" % v)
        u["groups"] = {"size": 1, "items": []}
        u["applicationRoles"] = {"size": 1, "items": []}
        if self.cloud:
            u["locale"] = "en_US"
        else:
            u["locale"] = "en_UK"
        return json_response(200, u)

    # --- validation ------------------------------------------------------------------------------
    def validate_fields(self, fields, v, creating, iss=None):
        """Returns (normalised values, errors dict)."""
        errors = {}
        out = {}
        allowed = CREATE_FIELDS if creating else EDIT_FIELDS
        for name in fields:
            if name not in allowed and name not in self.custom_fields:
                errors[name] = NOT_ON_SCREEN % name
        if creating or "project" in fields:
            p = fields.get("project")
            proj = None
            if isinstance(p, dict):
                proj = self.find_project(p.get("key")) or (
                    self.find_project(p.get("id")) if p.get("id") is not None else None)
            elif isinstance(p, str):
                proj = self.find_project(p)
            if proj is None:
                errors["project"] = "Specify a valid project ID or key"
            elif iss is not None and proj is not iss.project:
                errors["project"] = "Moving issues between projects is not supported here."
            out["project"] = proj
        if creating or "issuetype" in fields:
            t = fields.get("issuetype")
            tid = None
            if t is None:
                errors["issuetype"] = "Specify an issue type"
            elif isinstance(t, dict):
                if t.get("id") is not None and str(t.get("id")) in ISSUETYPES:
                    tid = str(t["id"])
                elif isinstance(t.get("name"), str):
                    tid = next((k for k, it in ISSUETYPES.items() if it[0] == t["name"]), None)
                if tid is None:
                    errors["issuetype"] = "Specify a valid issue type"
            else:
                errors["issuetype"] = "Specify a valid issue type"
            out["issuetype"] = tid
        if creating or "summary" in fields:
            s = fields.get("summary")
            if s is None or (isinstance(s, str) and not s.strip()):
                errors["summary"] = "You must specify a summary of the issue."
            elif not isinstance(s, str):
                errors["summary"] = "Operation value must be a string"
            elif len(s) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            elif "\n" in s or "\r" in s:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            out["summary"] = s
        for tf in ("description", "environment"):
            if tf in fields:
                d = fields[tf]
                if d is None:
                    out[tf] = None
                elif v == "3":
                    if not adf_valid(d):
                        errors[tf] = NOT_ADF
                    out[tf] = d
                else:
                    if not isinstance(d, str):
                        errors[tf] = "Operation value must be a string"
                    out[tf] = d
        if "labels" in fields:
            labels = fields["labels"]
            if labels is None:
                labels = []
            if not isinstance(labels, list):
                errors["labels"] = "data was not an array"
            else:
                for label in labels:
                    if not isinstance(label, str) or not label:
                        errors["labels"] = "Operation value must be a string"
                        break
                    if re.search(r"\s", label):
                        errors["labels"] = "The label '%s' contains spaces which is invalid." % label
                        break
                    if len(label) > 255:
                        errors["labels"] = ("The label '%s' exceeds the maximum length for a single "
                                            "label of 255 characters." % label)
                        break
                out["labels"] = list(dict.fromkeys(labels)) if "labels" not in errors else []
        if "priority" in fields:
            p = fields["priority"]
            pid = None
            if isinstance(p, dict):
                if p.get("id") is not None:
                    pid = str(p["id"]) if str(p["id"]) in PRIORITIES else None
                elif isinstance(p.get("name"), str):
                    pid = next((k for k, pr in PRIORITIES.items() if pr[0] == p["name"]), None)
                else:
                    errors["priority"] = "Specify the Priority (id or name) in the string format"
                if pid is None and "priority" not in errors:
                    errors["priority"] = "The priority selected is invalid."
            elif p is not None:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
            out["priority"] = pid
        if "duedate" in fields:
            d = fields["duedate"]
            if d is not None:
                ok = isinstance(d, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)
                if ok:
                    try:
                        datetime.date.fromisoformat(d)
                    except ValueError:
                        ok = False
                if not ok:
                    errors["duedate"] = "Error parsing date string: %s" % d
            out["duedate"] = d
        if "components" in fields:
            comps = fields["components"] or []
            names = []
            if not isinstance(comps, list):
                errors["components"] = "data was not an array"
            else:
                for c in comps:
                    n = c.get("name") if isinstance(c, dict) else None
                    if not isinstance(n, str) or not n:
                        errors["components"] = "Component name is required"
                        break
                    if self.args.components and n not in self.args.components.split(","):
                        errors["components"] = "Component name '%s' is not valid" % n
                        break
                    names.append(n)
            out["components"] = names
        if "parent" in fields:
            p = fields["parent"]
            ref = None
            if isinstance(p, dict):
                ref = p.get("key") or (str(p["id"]) if p.get("id") is not None else None)
            parent = self.find_issue(ref) if isinstance(ref, str) else None
            if p is not None and parent is None:
                errors["parent"] = "Could not find issue by id or key."
            out["parent"] = parent.key if parent else None
        if creating and out.get("issuetype") and ISSUETYPES[out["issuetype"]][1] \
                and not out.get("parent"):
            errors["parent"] = "Parent is required for a sub-task."
        for name in ("assignee", "reporter"):
            if name in fields:
                u = fields[name]
                if u is None:
                    out[name] = None
                elif isinstance(u, dict) and any(isinstance(u.get(k), str)
                                                 for k in ("accountId", "id", "name")):
                    who = u.get("name") or u.get("accountId") or u.get("id")
                    out[name] = self.make_user(who)
                else:
                    errors[name] = "Specify a valid value for %s" % name
        for name, typ in self.custom_fields.items():
            if name not in fields:
                continue
            val = fields[name]
            if val is None:
                out[name] = None
                continue
            bad = None
            if typ == "string" and not isinstance(val, str):
                bad = "Operation value must be a string"
            elif typ == "number" and (isinstance(val, bool) or not isinstance(val, (int, float))):
                bad = "Operation value must be a number"
            elif typ == "array" and not (isinstance(val, list)
                                         and all(isinstance(x, str) for x in val)):
                bad = "data was not an array"
            elif typ == "option" and not (isinstance(val, dict) and (
                    isinstance(val.get("value"), str) or isinstance(val.get("id"), str))):
                bad = "Specify a valid 'id' or 'name' for %s" % name
            elif typ == "adf":
                if v == "3" and not adf_valid(val):
                    bad = NOT_ADF
                elif v == "2" and not isinstance(val, str):
                    bad = "Operation value must be a string"
            if bad:
                errors[name] = bad
            out[name] = val
        return out, errors

    def apply_update_ops(self, update, labels):
        """Applies update.labels operations ([{"add": x}, {"remove": y}, {"set": [...]}])."""
        errors = {}
        if not isinstance(update, dict):
            return labels, {"update": "data was not an object"}
        for name, ops in update.items():
            if name != "labels":
                errors[name] = NOT_ON_SCREEN % name
                continue
            if not isinstance(ops, list):
                errors["labels"] = "data was not an array"
                continue
            for op in ops:
                if not isinstance(op, dict) or len(op) != 1:
                    errors["labels"] = "Operation must be one of add, remove, set"
                    continue
                verb, val = next(iter(op.items()))
                vals = val if verb == "set" else [val]
                if verb not in ("add", "remove", "set") or not isinstance(vals, list) or \
                        not all(isinstance(x, str) for x in vals):
                    errors["labels"] = "Operation must be one of add, remove, set"
                    continue
                bad = next((x for x in vals if re.search(r"\s", x)), None)
                if bad is not None and verb != "remove":
                    errors["labels"] = "The label '%s' contains spaces which is invalid." % bad
                    continue
                if verb == "set":
                    labels = list(dict.fromkeys(vals))
                elif verb == "add":
                    if val not in labels:
                        labels = labels + [val]
                else:
                    labels = [x for x in labels if x != val]
        return labels, errors

    # --- issue operations ----------------------------------------------------------------------
    def r_create(self, req, v):
        if not self.cloud and v != "2":
            return self.not_found(req)
        body, bad = self.body_object(req)
        if bad:
            return bad
        fields = body.get("fields")
        if fields is None:
            return err400([], {"summary": "You must specify a summary of the issue.",
                               "project": "Specify a valid project ID or key",
                               "issuetype": "Specify an issue type"})
        if not isinstance(fields, dict):
            return err400(["Can not deserialize instance of fields out of the JSON value given."])
        vals, errors = self.validate_fields(fields, v, creating=True)
        labels = vals.get("labels", [])
        if "update" in body and body["update"]:
            labels, uerr = self.apply_update_ops(body["update"], labels)
            errors.update(uerr)
        props, bad = self.body_properties(body)
        if bad:
            return bad
        if errors:
            return err400([], errors)
        iss = self.new_issue(vals, labels, actor=self.api_user)
        iss.properties.update(props)
        self.emit_issue_event("jira:issue_created", "issue_created", iss, self.api_user, [])
        return json_response(201, {"id": str(iss.id), "key": iss.key,
                                   "self": "%s/issue/%d" % (self.api_prefix(v), iss.id)})

    def new_issue(self, vals, labels, actor, now=None, index_now=False):
        proj = vals["project"]
        now = self.clock.now_ms() if now is None else now
        iss = Issue()
        iss.id = self.next_issue_id
        self.next_issue_id += 1
        iss.num = proj["next"]
        proj["next"] += 1
        iss.key = "%s-%d" % (proj["key"], iss.num)
        iss.project = proj
        iss.summary = vals["summary"]
        iss.description = vals.get("description")
        iss.environment = vals.get("environment")
        iss.issuetype = vals["issuetype"]
        iss.priority = vals.get("priority") or DEFAULT_PRIORITY
        iss.labels = labels
        iss.duedate = vals.get("duedate")
        iss.components = vals.get("components", [])
        iss.parent = vals.get("parent")
        iss.custom = {k: vals[k] for k in self.custom_fields if k in vals}
        iss.status = INITIAL_STATUS
        iss.resolution = None
        iss.created = iss.updated = iss.status_changed = now
        iss.resolved_at = None
        iss.comments = []
        # What the API user did to the issue (GET /_emu/issues/KEY "api_counts"):
        # comments posted (alone or with a transition) and transitions made.
        iss.api_counts = {"comments": 0, "transitions": 0}
        iss.remotelinks = []
        iss.properties = {}
        iss.histories = []
        iss.reporter = vals.get("reporter") or actor
        iss.assignee = vals.get("assignee")
        iss.version = 1
        self.issues[iss.key] = iss
        self.by_id[iss.id] = iss
        if iss.parent:
            self.children[iss.parent].append(iss.key)
        self.reindex(iss, immediate=index_now)
        return iss

    def issue_or_404(self, key):
        iss = self.find_issue(key)
        if iss is None:
            return None, json_response(404, jira_errors([ISSUE_NOT_FOUND]))
        return iss, None

    def r_get(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        names = self.select_fields(req.qlist("fields"))
        out = self.render_issue(iss, v, names)
        if "changelog" in (req.q("expand") or "").split(","):
            out["changelog"] = self.render_changelog(iss)
        return json_response(200, out)

    def r_edit(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        body, bad = self.body_object(req)
        if bad:
            return bad
        fields = body.get("fields", {}) or {}
        if not isinstance(fields, dict):
            return err400(["Can not deserialize instance of fields out of the JSON value given."])
        vals, errors = self.validate_fields(fields, v, creating=False, iss=iss)
        labels = vals.get("labels", iss.labels)
        if body.get("update"):
            labels, uerr = self.apply_update_ops(body["update"], labels)
            errors.update(uerr)
        props, bad = self.body_properties(body)
        if bad:
            return bad
        if errors:
            return err400([], errors)
        vals["labels"] = labels
        items = self.apply_edit(iss, vals)
        iss.properties.update(props)
        if items:
            self.emit_issue_event("jira:issue_updated", "issue_updated", iss, self.api_user, items)
        if req.q("returnIssue") == "true":
            return json_response(200, self.render_issue(iss, v, self.select_fields(None)))
        return empty_response(204, ctype="application/json;charset=UTF-8")

    def apply_edit(self, iss, vals, now=None):
        """Applies validated values; returns changelog items (empty when nothing changed)."""
        items = []
        simple = {"summary": "summary", "description": "description", "environment": "environment",
                  "priority": "priority", "duedate": "duedate", "labels": "labels",
                  "components": "components", "parent": "parent", "issuetype": "issuetype",
                  "assignee": "assignee"}
        for name, attr in simple.items():
            if name not in vals:
                continue
            new = vals[name]
            if name == "priority" and new is None:
                new = DEFAULT_PRIORITY
            old = getattr(iss, attr)
            if old != new:
                setattr(iss, attr, new)
                if name == "parent" and new and iss.key not in self.children[new]:
                    self.children[new].append(iss.key)
                items.append(self.change_item(name, old, new))
        for name in self.custom_fields:
            if name in vals and iss.custom.get(name) != vals[name]:
                items.append(self.change_item(name, iss.custom.get(name), vals[name]))
                iss.custom[name] = vals[name]
        if items:
            self.touch(iss, now)
        return items

    def change_item(self, field, old, new):
        def s(x):
            if x is None:
                return None
            if field == "labels":
                return " ".join(x)
            if field == "priority":
                return PRIORITIES[x][0]
            if field == "issuetype":
                return ISSUETYPES[x][0]
            if isinstance(x, dict):
                return adf_to_text(x) if x.get("type") == "doc" else json.dumps(x)
            if isinstance(x, list):
                return ", ".join(map(str, x))
            return str(x)
        return {"field": field, "fieldtype": "custom" if field.startswith("customfield_") else "jira",
                "fieldId": field, "from": None, "fromString": s(old), "to": None,
                "toString": s(new)}

    def touch(self, iss, now=None):
        now = self.clock.now_ms() if now is None else now
        iss.updated = max(now, iss.updated + 1)
        iss.version += 1
        self.reindex(iss)

    def transitions_for(self, iss, v, with_fields):
        out = []
        for tid, (name, target, _) in TRANSITIONS.items():
            if target == iss.status or tid in self.hidden_transitions:
                continue
            t = {"id": tid, "name": name, "to": self.render_status(target, v),
                 "hasScreen": tid in self.require_fields, "isGlobal": True, "isInitial": False,
                 "isAvailable": True, "isConditional": False, "isLooped": False}
            if with_fields:
                t["fields"] = {}
                for f in self.require_fields.get(tid, []):
                    t["fields"][f] = {"required": True, "name": f.title(), "key": f,
                                      "schema": {"type": f, "system": f},
                                      "operations": ["set"], "hasDefaultValue": False,
                                      "allowedValues": [self.render_resolution(r, v)
                                                        for r in RESOLUTIONS]
                                      if f == "resolution" else []}
            out.append(t)
        return out

    def r_transitions(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        with_fields = "transitions.fields" in (req.q("expand") or "")
        ts = self.transitions_for(iss, v, with_fields)
        only = req.q("transitionId")
        if only is not None:
            ts = [t for t in ts if t["id"] == only]
        return json_response(200, {"expand": "transitions", "transitions": ts})

    def r_do_transition(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        body, bad = self.body_object(req)
        if bad:
            return bad
        t = body.get("transition")
        if not isinstance(t, dict) or t.get("id") is None:
            return err400(["Missing 'transition' identifier"])
        raw_id = t["id"]
        if isinstance(raw_id, bool) or not re.fullmatch(r"\d+", str(raw_id)):
            return err400(["'transition' identifier must be an integer"])
        tid = str(int(raw_id))
        if (tid not in TRANSITIONS or TRANSITIONS[tid][1] == iss.status
                or tid in self.hidden_transitions):
            return err400(["Transition id '%s' is not valid for this issue." % tid])
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            return err400(["Can not deserialize instance of fields out of the JSON value given."])
        errors = {}
        resolution = TRANSITIONS[tid][2]
        for f in fields:
            if f == "resolution" and tid in self.require_fields:
                r = fields[f]
                rid = None
                if isinstance(r, dict):
                    rid = next((k for k, rs in RESOLUTIONS.items()
                                if rs[0] == r.get("name") or k == str(r.get("id"))), None)
                if rid is None:
                    errors["resolution"] = "Resolution name '%s' is not valid." % (
                        r.get("name") if isinstance(r, dict) else r)
                resolution = rid
            else:
                errors[f] = NOT_ON_SCREEN % f
        for f in self.require_fields.get(tid, []):
            if f not in fields:
                errors[f] = "%s is required." % f.title()
        if errors:
            return err400([], errors)
        items = self.apply_transition(iss, tid, resolution)
        iss.api_counts["transitions"] += 1
        comment_body = None
        upd = body.get("update") or {}
        if isinstance(upd, dict) and isinstance(upd.get("comment"), list):
            for op in upd["comment"]:
                b = op.get("add", {}).get("body") if isinstance(op, dict) else None
                if b is not None:
                    comment_body = b
                    self.add_comment(iss, b, self.api_user)
                    iss.api_counts["comments"] += 1
        self.emit_issue_event("jira:issue_updated", "issue_generic", iss, self.api_user, items,
                              comment=comment_body)
        return empty_response(204, ctype="text/html;charset=UTF-8")

    def apply_transition(self, iss, tid, resolution, now=None):
        target = TRANSITIONS[tid][1]
        items = [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                  "from": iss.status, "fromString": STATUSES[iss.status][0],
                  "to": target, "toString": STATUSES[target][0]}]
        now_ms = self.clock.now_ms() if now is None else now
        old_cat = STATUSES[iss.status][1]
        iss.status = target
        if STATUSES[target][1] != old_cat:
            iss.status_changed = now_ms
        if STATUSES[target][1] == "done":
            if iss.resolution != resolution:
                items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                              "from": iss.resolution, "fromString": RESOLUTIONS[iss.resolution][0]
                              if iss.resolution else None, "to": resolution,
                              "toString": RESOLUTIONS[resolution][0] if resolution else None})
            iss.resolution = resolution
            iss.resolved_at = now_ms
        else:
            if iss.resolution is not None:
                items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                              "from": iss.resolution, "fromString": RESOLUTIONS[iss.resolution][0],
                              "to": None, "toString": None})
            iss.resolution = None
            iss.resolved_at = None
        self.touch(iss, now)
        return items

    def add_comment(self, iss, body, author):
        self.next_comment_id += 1
        c = {"id": str(self.next_comment_id), "body": body, "author": author,
             "created": self.clock.now_ms()}
        iss.comments.append(c)
        self.touch(iss)
        return c

    def r_comment(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        body, bad = self.body_object(req)
        if bad:
            return bad
        b = body.get("body")
        if b is None or (isinstance(b, str) and not b.strip()):
            return err400([], {"comment": "Comment body can not be empty!"})
        if v == "3" and not adf_valid(b):
            return err400([], {"comment": NOT_ADF})
        if v == "2" and not isinstance(b, str):
            return err400([], {"comment": "Operation value must be a string"})
        c = self.add_comment(iss, b, self.api_user)
        iss.api_counts["comments"] += 1
        self.emit_issue_event("jira:issue_updated", "issue_commented", iss, self.api_user, [],
                              comment=c)
        return json_response(201, self.render_comment(iss, c, v))

    def r_comments(self, req, v, key):
        """A page of the comments: startAt, maxResults (default and cap 100 on
        Cloud, as its OpenAPI document says; --comment-page-max lowers the cap),
        orderBy created | +created (oldest first, the default) | -created."""
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        try:
            start = int(req.q("startAt", "0"))
            maxr = int(req.q("maxResults", "100" if self.cloud else "5000"))
        except ValueError:
            return err400(["startAt and maxResults must be integers"])
        if start < 0:
            return err400(["startAt must be greater than or equal to 0"])
        cap = 100 if self.cloud else 5000
        if self.args.comment_page_max > 0:
            cap = min(cap, self.args.comment_page_max)
        maxr = max(0, min(maxr, cap))
        order = req.q("orderBy", "created")
        if order not in ("created", "+created", "-created"):
            return err400(["The value '%s' is not valid for orderBy: use created, +created or "
                           "-created." % order])
        cs = sorted(iss.comments, key=lambda c: (c["created"], int(c["id"])),
                    reverse=order == "-created")
        page = [self.render_comment(iss, c, v) for c in cs[start:start + maxr]]
        return json_response(200, {"startAt": start, "maxResults": maxr, "total": len(cs),
                                   "comments": page})

    def r_remotelink_post(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        body, bad = self.body_object(req)
        if bad:
            return bad
        obj = body.get("object")
        errors = {}
        if not isinstance(obj, dict) or not isinstance(obj.get("title"), str) or not obj["title"]:
            errors["title"] = "'title' is required."
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str) or not obj["url"]:
            errors["url"] = "'url' is required."
        gid = body.get("globalId")
        if gid is not None and not isinstance(gid, str):
            errors["globalId"] = "Operation value must be a string"
        if errors:
            return err400([], errors)
        link = None
        if gid:
            link = next((rl for rl in iss.remotelinks if rl.get("globalId") == gid), None)
        record = {k: body.get(k) for k in ("globalId", "application", "relationship", "object")}
        if link is not None:
            link.update(record)
            status = 200
        else:
            self.next_link_id += 1
            link = dict(record, id=self.next_link_id)
            iss.remotelinks.append(link)
            status = 201
        return json_response(status, {"id": link["id"], "self": "%s/issue/%s/remotelink/%d"
                                      % (self.api_prefix(v), iss.key, link["id"])})

    def render_link(self, iss, link, v):
        out = {"id": link["id"], "self": "%s/issue/%s/remotelink/%d"
               % (self.api_prefix(v), iss.key, link["id"])}
        for k in ("globalId", "application", "relationship", "object"):
            if link.get(k) is not None:
                out[k] = link[k]
        return out

    def r_remotelink_get(self, req, v, key):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        gid = req.q("globalId")
        if gid is not None:
            link = next((rl for rl in iss.remotelinks if rl.get("globalId") == gid), None)
            if link is None:
                return json_response(404, jira_errors(["No remote link with given globalId "
                                                       "exists for this issue."]))
            return json_response(200, self.render_link(iss, link, v))
        return json_response(200, [self.render_link(iss, rl, v) for rl in iss.remotelinks])

    @staticmethod
    def property_error(key, val, size):
        """The message Jira gives for an entity property it refuses, or None."""
        if not isinstance(key, str) or not key:
            return "The property key cannot be empty."
        if len(key) > 255:
            return "The property key cannot be longer than 255 characters."
        if val is None or size > 32768:
            return ("The property value must be a valid, non-empty JSON blob of at most "
                    "32768 characters.")
        return None

    def body_properties(self, body):
        """The "properties" list of a create or edit body (EntityProperty: key, value) as a
        dict; (None, response) when it is malformed."""
        raw = body.get("properties")
        if raw is None:
            return {}, None
        if not isinstance(raw, list):
            return None, err400(["Can not deserialize instance of java.util.ArrayList out of "
                                 "START_OBJECT token"])
        props = {}
        for p in raw:
            if not isinstance(p, dict):
                return None, err400(["Can not deserialize instance of EntityProperty out of the "
                                     "JSON value given."])
            val = p.get("value")
            msg = self.property_error(p.get("key"), val,
                                      len(json.dumps(val, separators=(",", ":"))))
            if msg:
                return None, err400([msg])
            props[p["key"]] = val
        return props, None

    def r_prop_get(self, req, v, key, prop):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        if prop not in iss.properties:
            return json_response(404, jira_errors(["The property with key '%s' does not exist."
                                                   % prop]))
        return json_response(200, {"key": prop, "value": iss.properties[prop]})

    def r_prop_put(self, req, v, key, prop):
        iss, nf = self.issue_or_404(key)
        if nf:
            return nf
        try:
            val = req.json()
        except ValueError:
            return err400(["The property value must be a valid, non-empty JSON blob."])
        msg = self.property_error(prop, val, len(req.body))
        if msg:
            return err400([msg])
        created = prop not in iss.properties
        iss.properties[prop] = val
        return empty_response(201 if created else 200)

    # --- search -----------------------------------------------------------------------------------
    def search_params(self, req):
        if req.method == "POST":
            body, bad = self.body_object(req)
            if bad:
                return None, bad
            p = {"jql": body.get("jql"), "nextPageToken": body.get("nextPageToken"),
                 "maxResults": body.get("maxResults"), "startAt": body.get("startAt"),
                 "fields": body.get("fields"), "reconcileIssues": body.get("reconcileIssues") or [],
                 "expand": body.get("expand") or ""}
            if isinstance(p["expand"], list):
                p["expand"] = ",".join(str(x) for x in p["expand"])
            if p["fields"] is not None and not isinstance(p["fields"], list):
                return None, err400(["Can not deserialize instance of java.util.ArrayList out of "
                                     "VALUE_STRING token"])
        else:
            p = {"jql": req.q("jql"), "nextPageToken": req.q("nextPageToken"),
                 "maxResults": req.q("maxResults"), "startAt": req.q("startAt"),
                 "fields": req.qlist("fields") if "fields" in req.query else None,
                 "reconcileIssues": req.qlist("reconcileIssues"),
                 "expand": req.q("expand") or ""}
        for k in ("maxResults", "startAt"):
            if p[k] is not None:
                try:
                    p[k] = int(p[k])
                except (TypeError, ValueError):
                    return None, err400(["The value '%s' is not valid for '%s'." % (p[k], k)])
        try:
            p["reconcileIssues"] = [int(x) for x in p["reconcileIssues"]]
        except (TypeError, ValueError):
            return None, err400(["reconcileIssues must be a list of issue ids"])
        if len(p["reconcileIssues"]) > 50:
            return None, err400(["reconcileIssues accepts at most 50 ids"])
        return p, None

    def r_search_removed(self, req, v):
        return json_response(410, jira_errors([REMOVED_SEARCH]))

    def r_search_jql(self, req):
        p, bad = self.search_params(req)
        if bad:
            return bad
        jql = p["jql"] or ""
        try:
            keys, bounded = self.run_query(jql, p["reconcileIssues"])
        except JqlError as e:
            return err400([str(e)])
        if not bounded:
            return err400(["Unbounded JQL queries are not allowed here. Please add a search "
                           "restriction to your query."])
        fields = p["fields"]
        ids_only = not fields or all(f in ("id",) for f in fields)
        cheap = ids_only or all(f in ("id", "key") for f in fields)
        cap = 5000 if cheap else 100
        maxr = p["maxResults"] if p["maxResults"] is not None else 50
        maxr = max(1, min(maxr, cap))
        offset = 0
        if p["nextPageToken"]:
            offset = self.decode_token(p["nextPageToken"], jql)
            if offset is None:
                return err400(["The provided next page token is invalid or expired."])
        page = keys[offset:offset + maxr]
        if ids_only:
            issues = [{"id": str(self.issues[k].id)} for k in page]
        else:
            names = self.select_fields(fields)
            issues = [self.render_issue(self.issues[k], "3", names, expand=False) for k in page]
            if "changelog" in p["expand"].split(","):
                for i, k in zip(issues, page):
                    i["changelog"] = self.render_changelog(self.issues[k])
        out = {"issues": issues}
        end = offset + len(page)
        if end < len(keys):
            out["nextPageToken"] = self.encode_token(end, jql)
            out["isLast"] = False
        else:
            out["isLast"] = True
        return json_response(200, out)

    def encode_token(self, offset, jql):
        h = hashlib.sha1(jql.encode()).hexdigest()[:12]
        raw = json.dumps({"o": offset, "q": h, "t": self.clock.now_ms()}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_token(self, token, jql):
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            d = json.loads(raw)
            if d["q"] != hashlib.sha1(jql.encode()).hexdigest()[:12]:
                return None
            if self.clock.now_ms() - int(d["t"]) > 7 * 86400000:
                return None
            return int(d["o"])
        except (ValueError, KeyError, TypeError):
            return None

    def r_search_dc(self, req):
        p, bad = self.search_params(req)
        if bad:
            return bad
        jql = p["jql"] or ""
        try:
            keys, _ = self.run_query(jql)
        except JqlError as e:
            return err400([str(e)])
        start = p["startAt"] or 0
        if start < 0:
            return err400(["startAt must be greater than or equal to 0"])
        maxr = p["maxResults"] if p["maxResults"] is not None else 50
        maxr = max(0, min(maxr, self.args.dc_max_results))
        names = self.select_fields(p["fields"] if p["fields"] else ["*navigable"])
        page = keys[start:start + maxr]
        issues = [self.render_issue(self.issues[k], "2", names, expand=False) for k in page]
        for i, k in zip(issues, page):
            i["expand"] = "operations,versionedRepresentations,editmeta,changelog,renderedFields"
            if "changelog" in p["expand"].split(","):
                i["changelog"] = self.render_changelog(self.issues[k])
        return json_response(200, {"expand": "schema,names", "startAt": start,
                                   "maxResults": maxr, "total": len(keys), "issues": issues})

    @staticmethod
    def render_changelog(iss):
        """The changelog of an issue as search/GET expand=changelog give it
        (PageOfChangelogs: oldest first, at most the last 100 histories)."""
        hs = [dict(h) for h in iss.histories[-100:]]
        return {"startAt": 0, "maxResults": len(hs), "total": len(iss.histories),
                "histories": hs}

    # --- webhooks ---------------------------------------------------------------------------------
    def emit_issue_event(self, event, type_name, iss, actor, items, comment=None):
        if items:
            # The issue's changelog (GET/search with expand=changelog), as Jira
            # keeps it: who changed which fields, when.
            iss.histories.append({"id": str(10000 + iss.version), "author": actor,
                                  "created": self.fmt_time(iss.updated),
                                  "items": [dict(i) for i in items]})
        if not self.hooks.targets:
            return
        body = {"timestamp": self.clock.now_ms(), "webhookEvent": event,
                "issue_event_type_name": type_name, "user": actor,
                "issue": self.render_issue(iss, "2", self.select_fields(None), expand=False)}
        del body["issue"]["expand"]
        if items:
            body["changelog"] = {"id": str(iss.version + 10000), "items": items}
        if comment is not None:
            if isinstance(comment, dict) and "id" in comment and "author" in comment:
                body["comment"] = self.render_comment(iss, comment, "2")
            else:
                body["comment"] = {"body": adf_to_text(comment)}
        self.hooks.emit(event, body)

    # --- control ----------------------------------------------------------------------------------
    def dump_issue(self, iss):
        return {"key": iss.key, "id": str(iss.id), "project": iss.project["key"],
                "summary": iss.summary, "description": iss.description,
                "issuetype": ISSUETYPES[iss.issuetype][0], "priority": PRIORITIES[iss.priority][0],
                "labels": list(iss.labels), "duedate": iss.duedate,
                "components": list(iss.components), "parent": iss.parent,
                "custom": dict(iss.custom), "status": STATUSES[iss.status][0],
                "statusCategory": STATUSES[iss.status][1],
                "resolution": RESOLUTIONS[iss.resolution][0] if iss.resolution else None,
                "created_ms": iss.created, "updated_ms": iss.updated,
                "updated": self.fmt_time(iss.updated), "comments": [
                    {"id": c["id"], "body": c["body"], "author": c["author"].get("displayName"),
                     "created_ms": c["created"]} for c in iss.comments],
                "remotelinks": [dict(rl) for rl in iss.remotelinks],
                "api_counts": dict(iss.api_counts),
                "properties": dict(iss.properties), "indexed": iss.key in self.indexed
                and self.indexed[iss.key]["updated"] == iss.updated}

    def c_projects(self, req, parts):
        """DELETE /_emu/projects/KEY deletes a project as Jira does for the API user:
        creates in it get 400 errors.project, JQL naming it 400 "does not exist for the
        field 'project'", its issues 404. POST /_emu/projects {"key": K} creates it
        (or brings a deleted one back with its issues)."""
        with self.lock:
            if len(parts) == 2 and req.method == "DELETE":
                p = self.projects.pop(parts[1].upper(), None)
                if p is None:
                    return json_response(404, {"error": "no project %s" % parts[1]})
                self.deleted_projects[p["key"]] = p
                self.query_cache.clear()
                return empty_response(204)
            if len(parts) == 1 and req.method == "POST":
                body = req.json() or {}
                key = body.get("key") if isinstance(body, dict) else None
                if not isinstance(key, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                    raise ValueError("key: an upper-case project key is required")
                p = self.deleted_projects.pop(key, None) or {
                    "id": str(10000 + len(self.projects) + len(self.deleted_projects) + 100),
                    "key": key, "name": key.title(), "next": 1}
                self.projects[key] = p
                self.query_cache.clear()
                return json_response(201, {"id": p["id"], "key": key})
            if len(parts) == 1 and req.method == "GET":
                return json_response(200, sorted(self.projects))
        return None

    def handle_control(self, req, parts):
        m = req.method
        if not parts:
            return None
        if parts[0] == "projects":
            return self.c_projects(req, parts)
        if parts[0] == "issues":
            with self.lock:
                if len(parts) == 1 and m == "GET":
                    proj = req.q("project")
                    label = req.q("label")
                    out = [self.dump_issue(i) for i in self.issues.values()
                           if (proj is None or i.project["key"] == proj)
                           and (label is None or label in i.labels)]
                    return json_response(200, out)
                if len(parts) < 2:
                    return None
                iss = self.find_issue(parts[1])
                if iss is None:
                    return json_response(404, {"error": "no issue %s" % parts[1]})
                if len(parts) == 2 and m == "GET":
                    return json_response(200, self.dump_issue(iss))
                body = req.json() or {}
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                actor = self.make_user(str(body.get("actor", "alice")))
                if parts[2:] == ["transition"] and m == "POST":
                    return self.c_transition(iss, body, actor)
                if parts[2:] == ["edit"] and m == "POST":
                    return self.c_edit(iss, body, actor)
                if parts[2:] == ["comment"] and m == "POST":
                    if not isinstance(body.get("body"), (str, dict)):
                        raise ValueError("body: a comment text (or ADF document) is required")
                    c = self.add_comment(iss, body["body"], actor)
                    self.emit_issue_event("jira:issue_updated", "issue_commented", iss, actor, [],
                                          comment=c)
                    return json_response(201, self.dump_issue(iss))
            return None
        if parts == ["seed"] and m == "POST":
            return self.c_seed(req.json() or {})
        if parts == ["index"] and m == "POST":
            with self.lock:
                for key in list(self.pending):
                    seq, snap = self.pending.pop(key)
                    self.apply_snapshot(snap)
            return empty_response(204)
        return None

    def c_transition(self, iss, body, actor):
        to = body.get("to")
        tid = next((t for t, tr in TRANSITIONS.items()
                    if isinstance(to, str) and STATUSES[tr[1]][0].lower() == to.lower()), None)
        if tid is None:
            raise ValueError("to: unknown status %r (known: %s)" % (
                to, ", ".join(s[0] for s in STATUSES.values())))
        if TRANSITIONS[tid][1] == iss.status:
            return json_response(200, self.dump_issue(iss))
        resolution = TRANSITIONS[tid][2]
        if body.get("resolution") is not None:
            resolution = next((k for k, r in RESOLUTIONS.items() if r[0] == body["resolution"]),
                              None)
            if resolution is None:
                raise ValueError("resolution: unknown %r" % body["resolution"])
        items = self.apply_transition(iss, tid, resolution)
        self.emit_issue_event("jira:issue_updated", "issue_generic", iss, actor, items)
        return json_response(200, self.dump_issue(iss))

    def c_edit(self, iss, body, actor):
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise ValueError("fields: must be a JSON object")
        fields = dict(fields)
        # a human edits in the UI: plain text is fine for the description in any flavour
        v = "3" if isinstance(fields.get("description"), dict) else "2"
        vals, errors = self.validate_fields(fields, v, creating=False, iss=iss)
        if errors:
            return json_response(400, jira_errors([], errors))
        items = self.apply_edit(iss, vals)
        if items:
            self.emit_issue_event("jira:issue_updated", "issue_updated", iss, actor, items)
        return json_response(200, self.dump_issue(iss))

    def c_seed(self, body):
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        count = body.get("count", 0)
        if not isinstance(count, int) or count < 0 or count > 1000000:
            raise ValueError("count: must be an integer in [0, 1000000]")
        labels = body.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x for x in labels):
            raise ValueError("labels: must be an array of strings without spaces")
        with self.lock:
            proj = self.find_project(body.get("project", self.project_specs[0]))
            if proj is None:
                raise ValueError("project: unknown project %r" % body.get("project"))
            start = body.get("updated_start_ms", self.clock.now_ms() - count)
            step = body.get("updated_step_ms", 1)
            status = body.get("status", "To Do")
            tid = next((t for t, tr in TRANSITIONS.items()
                        if STATUSES[tr[1]][0] == status), None)
            if tid is None:
                raise ValueError("status: unknown %r" % status)
            prefix = body.get("summary_prefix", "Seeded issue")
            indexed = not body.get("index_lag", False)
            first = None
            for n in range(count):
                ts = start + n * step
                iss = self.new_issue({"project": proj, "summary": "%s %d" % (prefix, n + 1),
                                      "issuetype": "10001"}, list(labels), self.api_user,
                                     now=ts, index_now=indexed)
                if TRANSITIONS[tid][1] != INITIAL_STATUS:
                    iss.status = TRANSITIONS[tid][1]
                    iss.resolution = TRANSITIONS[tid][2]
                    iss.resolved_at = ts if iss.resolution else None
                    self.reindex(iss, immediate=indexed)
                first = first or iss.key
            return json_response(201, {"created": count, "first": first,
                                       "last": iss.key if count else None})


def _ra_seconds(v):
    try:
        return max(0, int(v))
    except (TypeError, ValueError):
        return 2


def main(argv=None):
    p = emucore.new_parser("Jira Cloud / Data Center REST emulator (threatsync tests)")
    emucore.add_common_args(p)
    p.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    p.add_argument("--email", default="threatsync@example.com", help="Cloud API user e-mail")
    p.add_argument("--projects", default="SEC,WRU", help="comma-separated project keys")
    p.add_argument("--index-lag-ms", type=int, default=0,
                   help="writes become visible to search after this delay")
    p.add_argument("--user-tz", default="+0000", help="API user's time zone offset, e.g. +0100")
    p.add_argument("--custom-fields", default="customfield_10011:string,customfield_10100:string,"
                   "customfield_10101:number,customfield_10102:option,customfield_10103:array",
                   help="known custom fields as id:type (string|number|option|array|adf)")
    p.add_argument("--transition-requires", default="",
                   help="transition ids whose screen requires a field, e.g. 31:resolution")
    p.add_argument("--hidden-transitions", default="",
                   help="transition ids the API user is not offered, e.g. 31,41")
    p.add_argument("--components", default="",
                   help="comma-separated valid component names (empty: any)")
    p.add_argument("--comment-page-max", type=int, default=0,
                   help="cap of maxResults when listing comments (0: the tracker's own)")
    p.add_argument("--dc-max-results", type=int, default=1000,
                   help="Data Center cap of maxResults (jira.search.views.default.max)")
    args = p.parse_args(argv)
    emucore.check_common_args(p, args)
    try:
        parse_tz(args.user_tz)
    except ValueError as e:
        p.error(str(e))
    if not args.projects or not all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k)
                                    for k in args.projects.split(",")):
        p.error("--projects must be upper-case project keys separated by commas")
    for spec in [s for s in args.custom_fields.split(",") if s]:
        name, _, typ = spec.partition(":")
        if not re.fullmatch(r"customfield_\d+", name) or (typ or "string") not in (
                "string", "number", "option", "array", "adf"):
            p.error("--custom-fields: bad entry %r" % spec)
    for spec in [s for s in args.transition_requires.split(",") if s]:
        tid, _, field = spec.partition(":")
        if tid not in TRANSITIONS or (field or "resolution") != "resolution":
            p.error("--transition-requires: bad entry %r (transitions %s; field resolution)"
                    % (spec, ",".join(TRANSITIONS)))
    for tid in [t for t in args.hidden_transitions.split(",") if t]:
        if tid not in TRANSITIONS:
            p.error("--hidden-transitions: unknown transition %r (transitions %s)"
                    % (tid, ",".join(TRANSITIONS)))
    return emucore.run(JiraEmulator(args))


if __name__ == "__main__":
    sys.exit(main())
