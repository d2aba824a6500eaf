#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GitLab REST v4 issues emulator for threatsync's tests.

Implements project issues (create, update, list with filters and pagination, get) and
notes, validated like GitLab (shapes follow tests/data/contract/gitlab), with rate
limiting, fault injection and Issue Hook webhooks. See docs/emulators.md.
"""

import bisect
import datetime
import os
import re
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emucore  # noqa: E402
from emucore import empty_response, json_response, text_response  # noqa: E402

TOTAL_LIMIT = 10000  # GitLab omits X-Total/X-Total-Pages above this many records
UPDATE_PARAMS = ("title", "description", "labels", "add_labels", "remove_labels", "state_event",
                 "due_date", "confidential", "weight", "milestone_id", "assignee_ids",
                 "assignee_id", "discussion_locked", "issue_type", "updated_at")
USERS = {1: ("Administrator", "root"), 2: ("Alice Example", "alice"), 3: ("Bob Example", "bob"),
         4: ("threatsync bot", "threatsync-bot")}
API_USER_ID = 4


class BadParam(Exception):
    """A Grape-level parameter error: 400 {"error": message}."""


class Invalid(Exception):
    """A model validation error: 400 {"message": {field: [messages]}}."""

    def __init__(self, errors):
        super().__init__(str(errors))
        self.errors = errors


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def parse_iso(value, name):
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(v)
    except ValueError:
        raise BadParam("%s is invalid" % name)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp() * 1000)


def to_bool(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "t"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "f"):
        return False
    raise BadParam("%s is invalid" % name)


def to_int(value, name):
    if isinstance(value, bool):
        raise BadParam("%s is invalid" % name)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise BadParam("%s is invalid" % name)


def label_list(value, name):
    if value is None:
        return []
    if isinstance(value, list):
        out = []
        for v in value:
            if not isinstance(v, str):
                raise BadParam("%s is invalid" % name)
            out.extend(x.strip() for x in v.split(","))
        return [x for x in out if x]
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    raise BadParam("%s is invalid" % name)


class GlIssue:
    __slots__ = ("id", "iid", "project", "title", "description", "state", "labels", "due_date",
                 "confidential", "weight", "milestone_id", "assignee_ids", "author_id",
                 "created", "updated", "closed", "closed_by", "notes", "discussion_locked",
                 "issue_type", "version", "api_counts")


class GitLabEmulator(emucore.EmulatorApp):
    name = "gitlab"
    server_header = "nginx"

    def __init__(self, args):
        super().__init__(args)
        self.project_specs = []
        for spec in [s for s in args.projects.split(",") if s]:
            pid, _, path = spec.partition(":")
            self.project_specs.append((int(pid), path))
        self.reset_state()
        self.add_routes()

    def on_listening(self, port):
        pass

    def reset_state(self):
        self.projects = {}
        self.by_path = {}
        self.deleted_projects = {}
        for pid, path in self.project_specs:
            p = {"id": pid, "path": path, "name": path.rsplit("/", 1)[-1], "next_iid": 1,
                 "issues": {}, "updated_sorted": [], "created_sorted": [],
                 "milestones": {1: "v1.0", 2: "v2.0"}}
            self.projects[pid] = p
            self.by_path[path.lower()] = p
        self.next_id = 1000
        self.next_note_id = 5000

    # --- helpers ------------------------------------------------------------------------------
    def user(self, uid):
        name, username = USERS.get(uid, ("User %d" % uid, "user%d" % uid))
        return {"id": uid, "username": username, "name": name, "state": "active",
                "locked": False,
                "avatar_url": "https://www.gravatar.com/avatar/%032x?s=80&d=identicon" % uid,
                "web_url": "%s/%s" % (self.base_url, username)}

    def project_url(self, p):
        return "%s/%s" % (self.base_url, p["path"])

    def render(self, iss):
        p = iss.project
        url = "%s/-/issues/%d" % (self.project_url(p), iss.iid)
        api = "%s/api/v4/projects/%d" % (self.base_url, p["id"])
        assignees = [self.user(a) for a in iss.assignee_ids]
        ms = None
        if iss.milestone_id is not None:
            ms = {"id": iss.milestone_id, "iid": iss.milestone_id, "project_id": p["id"],
                  "group_id": None, "title": p["milestones"][iss.milestone_id],
                  "description": None, "state": "active",
                  "created_at": "2026-01-01T00:00:00.000Z",
                  "updated_at": "2026-01-01T00:00:00.000Z", "due_date": None,
                  "start_date": None, "expired": False,
                  "web_url": "%s/-/milestones/%d" % (self.project_url(p), iss.milestone_id)}
        return {
            "id": iss.id, "iid": iss.iid, "project_id": p["id"], "title": iss.title,
            "description": iss.description, "state": iss.state,
            "created_at": iso(iss.created), "updated_at": iso(iss.updated),
            "closed_at": iso(iss.closed) if iss.closed else None,
            "closed_by": self.user(iss.closed_by) if iss.closed_by else None,
            "labels": sorted(iss.labels, key=str.lower), "milestone": ms,
            "assignees": assignees, "assignee": assignees[0] if assignees else None,
            "author": self.user(iss.author_id), "type": iss.issue_type.upper(),
            "user_notes_count": len(iss.notes), "merge_requests_count": 0, "upvotes": 0,
            "downvotes": 0, "due_date": iss.due_date, "confidential": iss.confidential,
            "discussion_locked": iss.discussion_locked, "issue_type": iss.issue_type,
            "web_url": url,
            "time_stats": {"time_estimate": 0, "total_time_spent": 0,
                           "human_time_estimate": None, "human_total_time_spent": None},
            "task_completion_status": {"count": 0, "completed_count": 0},
            "weight": iss.weight, "blocking_issues_count": 0, "has_tasks": True,
            "task_status": "0 of 0 checklist items completed",
            "_links": {"self": "%s/issues/%d" % (api, iss.iid),
                       "notes": "%s/issues/%d/notes" % (api, iss.iid),
                       "award_emoji": "%s/issues/%d/award_emoji" % (api, iss.iid),
                       "project": api, "closed_as_duplicate_of": None},
            "references": {"short": "#%d" % iss.iid, "relative": "#%d" % iss.iid,
                           "full": "%s#%d" % (p["path"], iss.iid)},
            "severity": "UNKNOWN", "subscribed": True, "moved_to_id": None,
            "service_desk_reply_to": None}

    def render_note(self, iss, n):
        return {"id": n["id"], "type": None, "body": n["body"], "attachment": None,
                "author": self.user(n["author_id"]), "created_at": iso(n["created"]),
                "updated_at": iso(n["created"]), "system": False, "noteable_id": iss.id,
                "noteable_type": "Issue", "project_id": iss.project["id"], "resolvable": False,
                "confidential": False, "internal": False, "noteable_iid": iss.iid,
                "commands_changes": {}}

    def find_project(self, ref):
        ref = urllib.parse.unquote(ref)
        if ref.isdigit():
            return self.projects.get(int(ref))
        return self.by_path.get(ref.lower())

    def params(self, req):
        """Query parameters merged with a JSON or form body, like Grape."""
        out = {}
        for k, vs in req.query.items():
            if k.endswith("[]"):
                out[k[:-2]] = list(vs)
            else:
                out[k] = vs[-1]
        if req.body:
            ctype = req.headers.get("Content-Type", "")
            if "json" in ctype:
                try:
                    body = req.json()
                except ValueError:
                    raise BadParam("The provided content-type 'application/json' is not "
                                   "matching the request body")
                if not isinstance(body, dict):
                    raise BadParam("The request body must be a JSON object")
                out.update(body)
            else:
                for k, vs in urllib.parse.parse_qs(req.body.decode("utf-8", "replace"),
                                                   keep_blank_values=True).items():
                    if k.endswith("[]"):
                        out[k[:-2]] = list(vs)
                    else:
                        out[k] = vs[-1]
        return out

    # --- auth, errors, headers -----------------------------------------------------------------
    def authenticate(self, req):
        tok = req.headers.get("PRIVATE-TOKEN")
        if tok is None:
            h = req.headers.get("Authorization", "")
            if h.startswith("Bearer "):
                tok = h[7:].strip()
        if tok is not None and emucore.secret_equal(tok, self.args.token):
            return None
        return json_response(401, {"message": "401 Unauthorized"})

    def not_found(self, req):
        return json_response(404, {"error": "404 Not Found"})

    def method_not_allowed(self, req):
        return json_response(405, {"message": "405 Method Not Allowed"})

    def decorate(self, req, resp, remaining):
        # GitLab answers plain application/json (no charset parameter)
        resp.headers = [("Content-Type", "application/json") if h == ("Content-Type",
                        "application/json;charset=UTF-8") else h for h in resp.headers]
        resp.headers.append(("X-Request-Id", uuid.uuid4().hex[:26].upper()))
        resp.headers.append(("X-Runtime", "0.010000"))
        resp.headers.append(("Cache-Control", "max-age=0, private, must-revalidate"))
        if self.bucket is not None:
            resp.headers.extend(self.rate_headers(remaining or 0))

    def rate_headers(self, remaining, reset_s=None):
        b = self.bucket
        limit = int(b.capacity)
        reset = int(time.time() + (reset_s if reset_s is not None else b.interval))
        return [("RateLimit-Name", "throttle_authenticated_api"),
                ("RateLimit-Limit", str(limit)), ("RateLimit-Observed", str(limit - remaining)),
                ("RateLimit-Remaining", str(remaining)), ("RateLimit-Reset", str(reset)),
                ("RateLimit-ResetTime", emucore.http_date(reset))]

    def too_many(self, retry_after, wait_s=1):
        h = [("Retry-After", retry_after)]
        if self.bucket is not None:
            h.extend(self.rate_headers(0, wait_s))
        return text_response(429, "Retry later\n", headers=h)

    def rate_limited_response(self, req, wait_s):
        return self.too_many(str(max(1, int(wait_s + 0.999))), wait_s)

    def fault_response(self, kind, req, retry_after):
        if kind == "429":
            return self.too_many(self.retry_after_value(retry_after, 1))
        code = int(kind)
        headers = []
        if code == 503:
            headers.append(("Retry-After", self.retry_after_value(retry_after, 1)))
        if code == 500:
            return json_response(500, {"message": "500 Internal Server Error"}, headers=headers,
                                 ctype="application/json")
        reason = emucore.REASONS[code][0]
        return text_response(code, "<html><head><title>%d %s</title></head><body><center><h1>%d "
                             "%s</h1></center><hr><center>nginx</center></body></html>\n"
                             % (code, reason, code, reason), ctype="text/html", headers=headers)

    def webhook_headers(self, event, raw, target, delivery_id, retry=False):
        h = [("Content-Type", "application/json"), ("User-Agent", "GitLab/17.5.0"),
             ("X-Gitlab-Event", "Issue Hook"), ("X-Gitlab-Event-UUID", delivery_id),
             ("X-Gitlab-Webhook-UUID", str(uuid.UUID(int=target["id"], version=4))),
             ("X-Gitlab-Instance", self.base_url)]
        if target["secret"] is not None and target["sign"]:
            h.append(("X-Gitlab-Token", target["secret"]))
        return h

    # --- routes ----------------------------------------------------------------------------------
    def add_routes(self):
        A = self.add_route
        A("GET", r"/api/v4/user", self.r_user)
        A("GET", r"/api/v4/version", self.r_version)
        A("POST", r"/api/v4/projects/([^/]+)/issues", self.r_create,
          "POST /api/v4/projects/:id/issues")
        A("GET", r"/api/v4/projects/([^/]+)/issues", self.r_list,
          "GET /api/v4/projects/:id/issues")
        A("GET", r"/api/v4/projects/([^/]+)/issues/(\d+)", self.r_get,
          "GET /api/v4/projects/:id/issues/:iid")
        A("PUT", r"/api/v4/projects/([^/]+)/issues/(\d+)", self.r_update,
          "PUT /api/v4/projects/:id/issues/:iid")
        A("POST", r"/api/v4/projects/([^/]+)/issues/(\d+)/notes", self.r_note,
          "POST /api/v4/projects/:id/issues/:iid/notes")
        A("GET", r"/api/v4/projects/([^/]+)/issues/(\d+)/notes", self.r_notes,
          "GET /api/v4/projects/:id/issues/:iid/notes")

    def dispatch(self, req):
        denied = self.authenticate(req)
        if denied is not None:
            req.route = req.method + " (unauthenticated)"
            return req.route, denied
        with self.lock:
            try:
                return super().dispatch(req)
            except BadParam as e:
                return req.route or req.path, json_response(400, {"error": str(e)})
            except Invalid as e:
                return req.route or req.path, json_response(400, {"message": e.errors})

    def project_or_404(self, ref):
        p = self.find_project(ref)
        if p is None:
            return None, json_response(404, {"message": "404 Project Not Found"})
        return p, None

    def issue_or_404(self, ref, iid):
        p, nf = self.project_or_404(ref)
        if nf:
            return None, nf
        iss = p["issues"].get(int(iid))
        if iss is None:
            return None, json_response(404, {"message": "404 Not found"})
        return iss, None

    def r_user(self, req):
        u = self.user(API_USER_ID)
        u.update({"bot": False, "created_at": "2026-01-01T00:00:00.000Z", "bio": "",
                  "public_email": None, "email": "threatsync@example.com", "is_admin": False})
        return json_response(200, u)

    def r_version(self, req):
        return json_response(200, {"version": "17.5.0", "revision": "0" * 11, "kas": {
            "enabled": False, "externalUrl": None, "version": None}, "enterprise": True})

    # --- validation ---------------------------------------------------------------------------
    def common_values(self, p, prm, errors):
        out = {}
        if "description" in prm:
            d = prm["description"]
            if d is not None and not isinstance(d, str):
                raise BadParam("description is invalid")
            if d is not None and len(d) > 1048576:
                errors.setdefault("description", []).append(
                    "is too long (maximum is 1048576 characters)")
            out["description"] = d
        if "due_date" in prm:
            d = prm["due_date"]
            if d in (None, ""):
                out["due_date"] = None
            else:
                if not isinstance(d, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
                    raise BadParam("due_date is invalid")
                try:
                    datetime.date.fromisoformat(d)
                except ValueError:
                    raise BadParam("due_date is invalid")
                out["due_date"] = d
        if "confidential" in prm:
            out["confidential"] = to_bool(prm["confidential"], "confidential")
        if "discussion_locked" in prm:
            out["discussion_locked"] = to_bool(prm["discussion_locked"], "discussion_locked")
        if "weight" in prm:
            w = prm["weight"]
            if w in (None, ""):
                out["weight"] = None
            else:
                w = to_int(w, "weight")
                if w < 0:
                    errors.setdefault("weight", []).append("must be greater than or equal to 0")
                out["weight"] = w
        if "milestone_id" in prm:
            m = prm["milestone_id"]
            if m in (None, "", 0, "0"):
                out["milestone_id"] = None
            else:
                m = to_int(m, "milestone_id")
                out["milestone_id"] = m if m in p["milestones"] else None
        if "assignee_ids" in prm or "assignee_id" in prm:
            raw = prm.get("assignee_ids", prm.get("assignee_id"))
            if raw in (None, "", 0, "0"):
                ids = []
            elif isinstance(raw, list):
                ids = [to_int(x, "assignee_ids") for x in raw]
            else:
                ids = [to_int(x, "assignee_ids") for x in str(raw).split(",") if x]
            out["assignee_ids"] = [i for i in dict.fromkeys(ids) if i in USERS]
        if "issue_type" in prm:
            t = prm["issue_type"]
            if t not in ("issue", "incident", "test_case", "task"):
                raise BadParam("issue_type does not have a valid value")
            out["issue_type"] = t
        return out

    def check_title(self, title, errors):
        if not isinstance(title, str):
            raise BadParam("title is invalid")
        if not title.strip():
            errors.setdefault("title", []).append("can't be blank")
        elif len(title) > 255:
            errors.setdefault("title", []).append("is too long (maximum is 255 characters)")

    # --- operations -------------------------------------------------------------------------
    def r_create(self, req, ref):
        p, nf = self.project_or_404(ref)
        if nf:
            return nf
        prm = self.params(req)
        if "title" not in prm or prm["title"] is None:
            raise BadParam("title is missing")
        errors = {}
        self.check_title(prm["title"], errors)
        vals = self.common_values(p, prm, errors)
        labels = label_list(prm.get("labels"), "labels")
        for label in labels:
            if len(label) > 255:
                errors.setdefault("labels", []).append("is invalid")
        created = None
        if "created_at" in prm:
            created = parse_iso(str(prm["created_at"]), "created_at")
        if errors:
            raise Invalid(errors)
        iss = self.new_issue(p, prm["title"], vals, labels, API_USER_ID, created)
        self.emit_hook(iss, "open", API_USER_ID, {})
        return json_response(201, self.render(iss))

    def new_issue(self, p, title, vals, labels, author, now=None):
        iss = GlIssue()
        self.next_id += 1
        iss.id = self.next_id
        iss.iid = p["next_iid"]
        p["next_iid"] += 1
        iss.project = p
        iss.title = title
        iss.description = vals.get("description")
        iss.state = "opened"
        iss.labels = list(dict.fromkeys(labels))
        iss.due_date = vals.get("due_date")
        iss.confidential = vals.get("confidential", False)
        iss.weight = vals.get("weight")
        iss.milestone_id = vals.get("milestone_id")
        iss.assignee_ids = vals.get("assignee_ids", [])
        iss.discussion_locked = vals.get("discussion_locked")
        iss.issue_type = vals.get("issue_type", "issue")
        iss.author_id = author
        now = self.clock.now_ms() if now is None else now
        iss.created = iss.updated = now
        iss.closed = None
        iss.closed_by = None
        iss.notes = []
        # What the API user did (GET /_emu/issues/P/IID "api_counts"): notes
        # posted and state changes made.
        iss.api_counts = {"comments": 0, "transitions": 0}
        iss.version = 1
        p["issues"][iss.iid] = iss
        bisect.insort(p["updated_sorted"], (iss.updated, iss.iid))
        p["created_sorted"].append((iss.created, iss.iid))
        if len(p["created_sorted"]) > 1 and p["created_sorted"][-2] > p["created_sorted"][-1]:
            p["created_sorted"].sort()
        return iss

    def touch(self, iss, now=None):
        p = iss.project
        old = (iss.updated, iss.iid)
        i = bisect.bisect_left(p["updated_sorted"], old)
        if i < len(p["updated_sorted"]) and p["updated_sorted"][i] == old:
            del p["updated_sorted"][i]
        now = self.clock.now_ms() if now is None else now
        iss.updated = max(now, iss.updated + 1)
        iss.version += 1
        bisect.insort(p["updated_sorted"], (iss.updated, iss.iid))

    def r_get(self, req, ref, iid):
        iss, nf = self.issue_or_404(ref, iid)
        if nf:
            return nf
        return json_response(200, self.render(iss))

    def r_update(self, req, ref, iid):
        iss, nf = self.issue_or_404(ref, iid)
        if nf:
            return nf
        prm = self.params(req)
        if not any(k in prm for k in UPDATE_PARAMS):
            raise BadParam(", ".join(UPDATE_PARAMS) + " are missing, at least one parameter "
                           "must be provided")
        self.apply_update(iss, prm, API_USER_ID)
        return json_response(200, self.render(iss))

    def apply_update(self, iss, prm, actor):
        """Validates and applies an update; returns the webhook 'changes' dict."""
        errors = {}
        if "title" in prm:
            self.check_title(prm["title"], errors)
        vals = self.common_values(iss.project, prm, errors)
        if "state_event" in prm and prm["state_event"] not in ("close", "reopen"):
            raise BadParam("state_event does not have a valid value")
        labels = list(iss.labels)
        if "labels" in prm:
            labels = list(dict.fromkeys(label_list(prm["labels"], "labels")))
        for label in label_list(prm.get("add_labels"), "add_labels"):
            if label not in labels:
                labels.append(label)
        rm = set(label_list(prm.get("remove_labels"), "remove_labels"))
        labels = [x for x in labels if x not in rm]
        if errors:
            raise Invalid(errors)
        changes = {}
        if "title" in prm and prm["title"] != iss.title:
            changes["title"] = {"previous": iss.title, "current": prm["title"]}
            iss.title = prm["title"]
        for name in ("description", "due_date", "confidential", "weight", "milestone_id",
                     "assignee_ids", "discussion_locked", "issue_type"):
            if name in vals and vals[name] != getattr(iss, name):
                changes[name] = {"previous": getattr(iss, name), "current": vals[name]}
                setattr(iss, name, vals[name])
        if labels != iss.labels:
            changes["labels"] = {"previous": self.hook_labels(iss.project, iss.labels),
                                 "current": self.hook_labels(iss.project, labels)}
            iss.labels = labels
        action = "update"
        now = self.clock.now_ms()
        ev = prm.get("state_event")
        if ev == "close" and iss.state != "closed":
            changes["state_id"] = {"previous": 1, "current": 2}
            changes["closed_at"] = {"previous": None, "current": iso(now)}
            iss.state = "closed"
            iss.closed = now
            iss.closed_by = actor
            action = "close"
            if actor == API_USER_ID:
                iss.api_counts["transitions"] += 1
        elif ev == "reopen" and iss.state != "opened":
            changes["state_id"] = {"previous": 2, "current": 1}
            changes["closed_at"] = {"previous": iso(iss.closed), "current": None}
            iss.state = "opened"
            iss.closed = None
            iss.closed_by = None
            action = "reopen"
            if actor == API_USER_ID:
                iss.api_counts["transitions"] += 1
        if changes:
            before = iso(iss.updated)
            self.touch(iss)
            changes["updated_at"] = {"previous": before, "current": iso(iss.updated)}
            changes["updated_by_id"] = {"previous": None, "current": actor}
            self.emit_hook(iss, action, actor, changes)
        return changes

    def r_list(self, req, ref):
        p, nf = self.project_or_404(ref)
        if nf:
            return nf
        q = self.params(req)
        state = q.get("state", "all")
        if state not in ("all", "opened", "closed"):
            raise BadParam("state does not have a valid value")
        order_by = q.get("order_by", "created_at")
        if order_by not in ("created_at", "updated_at", "priority", "due_date",
                            "relative_position", "label_priority", "milestone_due",
                            "popularity", "weight", "title"):
            raise BadParam("order_by does not have a valid value")
        if order_by not in ("created_at", "updated_at", "title", "due_date", "weight"):
            order_by = "created_at"
        sort = q.get("sort", "desc")
        if sort not in ("asc", "desc"):
            raise BadParam("sort does not have a valid value")
        page = to_int(q.get("page", "1"), "page")
        per_page = to_int(q.get("per_page", "20"), "per_page")
        if page < 1:
            page = 1
        if per_page < 1:
            per_page = 20
        per_page = min(per_page, 100)
        want = label_list(q.get("labels"), "labels")
        upd_after = parse_iso(q["updated_after"], "updated_after") if q.get("updated_after") else None
        upd_before = parse_iso(q["updated_before"], "updated_before") \
            if q.get("updated_before") else None
        cre_after = parse_iso(q["created_after"], "created_after") if q.get("created_after") else None
        cre_before = parse_iso(q["created_before"], "created_before") \
            if q.get("created_before") else None
        iids = None
        if "iids" in q:
            raw = q["iids"] if isinstance(q["iids"], list) else [q["iids"]]
            iids = {to_int(x, "iids") for x in raw}
        # candidate set from the updated index when filtering by updated_after
        if upd_after is not None:
            lo = bisect.bisect_left(p["updated_sorted"], (upd_after, -1))
            cands = [p["issues"][i] for _, i in p["updated_sorted"][lo:]]
        else:
            cands = p["issues"].values()
        lower_want = [w.lower() for w in want]
        none_label = lower_want == ["none"]
        any_label = lower_want == ["any"]
        rows = []
        for iss in cands:
            if state != "all" and iss.state != state:
                continue
            if upd_before is not None and iss.updated > upd_before:
                continue
            if cre_after is not None and iss.created < cre_after:
                continue
            if cre_before is not None and iss.created > cre_before:
                continue
            if iids is not None and iss.iid not in iids:
                continue
            if none_label:
                if iss.labels:
                    continue
            elif any_label:
                if not iss.labels:
                    continue
            elif want:
                have = {x.lower() for x in iss.labels}
                if not all(w in have for w in lower_want):
                    continue
            rows.append(iss)
        keyf = {"created_at": lambda i: (i.created, i.id), "updated_at": lambda i: (i.updated, i.id),
                "title": lambda i: (i.title, i.id),
                "due_date": lambda i: (i.due_date or "9999-99-99", i.id),
                "weight": lambda i: (i.weight if i.weight is not None else -1, i.id)}[order_by]
        rows.sort(key=keyf, reverse=(sort == "desc"))
        total = len(rows)
        pages = max(1, (total + per_page - 1) // per_page)
        chunk = rows[(page - 1) * per_page:page * per_page]
        headers = [("X-Page", str(page)), ("X-Per-Page", str(per_page)),
                   ("X-Next-Page", str(page + 1) if page * per_page < total else ""),
                   ("X-Prev-Page", str(page - 1) if page > 1 else "")]
        links = []

        def link(n, rel):
            qs = [(k, v) for k, v in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True)
                  if k not in ("page", "per_page")]
            qs += [("page", str(n)), ("per_page", str(per_page))]
            return '<%s%s?%s>; rel="%s"' % (self.base_url, req.path, urllib.parse.urlencode(qs), rel)

        if page > 1:
            links.append(link(page - 1, "prev"))
        if page * per_page < total:
            links.append(link(page + 1, "next"))
        links.append(link(1, "first"))
        if total <= TOTAL_LIMIT:
            links.append(link(pages, "last"))
            headers.append(("X-Total", str(total)))
            headers.append(("X-Total-Pages", str(pages)))
        headers.append(("Link", ", ".join(links)))
        return json_response(200, [self.render(i) for i in chunk], headers=headers,
                             ctype="application/json")

    def r_note(self, req, ref, iid):
        iss, nf = self.issue_or_404(ref, iid)
        if nf:
            return nf
        prm = self.params(req)
        if "body" not in prm or prm["body"] is None:
            raise BadParam("body is missing")
        if not isinstance(prm["body"], str):
            raise BadParam("body is invalid")
        if not prm["body"].strip():
            raise Invalid({"note": ["can't be blank"]})
        n = self.add_note(iss, prm["body"], API_USER_ID)
        iss.api_counts["comments"] += 1
        return json_response(201, self.render_note(iss, n), ctype="application/json")

    def add_note(self, iss, body, author):
        self.next_note_id += 1
        n = {"id": self.next_note_id, "body": body, "author_id": author,
             "created": self.clock.now_ms()}
        iss.notes.append(n)
        self.touch(iss)
        return n

    def r_notes(self, req, ref, iid):
        iss, nf = self.issue_or_404(ref, iid)
        if nf:
            return nf
        q = self.params(req)
        order_by = q.get("order_by", "created_at")
        if order_by not in ("created_at", "updated_at"):
            raise BadParam("order_by does not have a valid value")
        sort = q.get("sort", "desc")
        if sort not in ("asc", "desc"):
            raise BadParam("sort does not have a valid value")
        page = max(1, to_int(q.get("page", "1"), "page"))
        per_page = to_int(q.get("per_page", "20"), "per_page")
        if per_page < 1:
            per_page = 20
        per_page = min(per_page, 100)
        if self.args.note_page_max > 0:
            per_page = min(per_page, self.args.note_page_max)
        rows = sorted(iss.notes, key=lambda n: (n["created"], n["id"]), reverse=sort == "desc")
        total = len(rows)
        pages = max(1, (total + per_page - 1) // per_page)
        chunk = rows[(page - 1) * per_page:page * per_page]
        headers = [("X-Page", str(page)), ("X-Per-Page", str(per_page)),
                   ("X-Next-Page", str(page + 1) if page * per_page < total else ""),
                   ("X-Prev-Page", str(page - 1) if page > 1 else ""),
                   ("X-Total", str(total)), ("X-Total-Pages", str(pages))]
        return json_response(200, [self.render_note(iss, n) for n in chunk], headers=headers,
                             ctype="application/json")

    # --- webhooks ----------------------------------------------------------------------------
    def hook_labels(self, p, labels):
        out = []
        for label in labels:
            lid = 100 + (sum(label.encode()) % 9000)
            out.append({"id": lid, "title": label, "color": "#6699cc", "project_id": p["id"],
                        "created_at": "2026-01-01 00:00:00 UTC",
                        "updated_at": "2026-01-01 00:00:00 UTC", "template": False,
                        "description": None, "type": "ProjectLabel", "group_id": None})
        return out

    def emit_hook(self, iss, action, actor, changes):
        if not self.hooks.targets:
            return
        p = iss.project
        u = self.user(actor)
        url = self.project_url(p)
        attrs = {"id": iss.id, "iid": iss.iid, "title": iss.title,
                 "assignee_ids": list(iss.assignee_ids),
                 "assignee_id": iss.assignee_ids[0] if iss.assignee_ids else None,
                 "author_id": iss.author_id, "project_id": p["id"],
                 "created_at": iso(iss.created).replace("T", " ")[:19] + " UTC",
                 "updated_at": iso(iss.updated).replace("T", " ")[:19] + " UTC",
                 "updated_by_id": actor, "last_edited_at": None, "last_edited_by_id": None,
                 "relative_position": 0, "description": iss.description,
                 "milestone_id": iss.milestone_id, "state_id": 1 if iss.state == "opened" else 2,
                 "confidential": iss.confidential, "discussion_locked": iss.discussion_locked,
                 "due_date": iss.due_date, "moved_to_id": None, "duplicated_to_id": None,
                 "time_estimate": 0, "total_time_spent": 0, "time_change": 0,
                 "human_total_time_spent": None, "human_time_estimate": None,
                 "human_time_change": None, "weight": iss.weight,
                 "url": "%s/-/issues/%d" % (url, iss.iid), "state": iss.state,
                 "action": action, "severity": "unknown",
                 "closed_at": (iso(iss.closed).replace("T", " ")[:19] + " UTC")
                 if iss.closed else None,
                 "labels": self.hook_labels(p, iss.labels)}
        body = {"object_kind": "issue", "event_type": "issue",
                "user": {"id": u["id"], "name": u["name"], "username": u["username"],
                         "avatar_url": u["avatar_url"], "email": "[REDACTED]"},
                "project": {"id": p["id"], "name": p["name"], "description": None,
                            "web_url": url, "avatar_url": None,
                            "git_ssh_url": "git@127.0.0.1:%s.git" % p["path"],
                            "git_http_url": url + ".git", "namespace": p["path"].split("/")[0],
                            "visibility_level": 0, "path_with_namespace": p["path"],
                            "default_branch": "main", "ci_config_path": None, "homepage": url,
                            "url": "git@127.0.0.1:%s.git" % p["path"],
                            "ssh_url": "git@127.0.0.1:%s.git" % p["path"],
                            "http_url": url + ".git"},
                "object_attributes": attrs,
                "repository": {"name": p["name"], "url": "git@127.0.0.1:%s.git" % p["path"],
                               "description": None, "homepage": url},
                "assignees": [{k: self.user(a)[k] for k in ("id", "name", "username",
                                                              "avatar_url")}
                              for a in iss.assignee_ids],
                "assignee": ({k: self.user(iss.assignee_ids[0])[k]
                              for k in ("id", "name", "username", "avatar_url")}
                             if iss.assignee_ids else None),
                "labels": self.hook_labels(p, iss.labels), "changes": changes}
        self.hooks.emit("Issue Hook", body)

    # --- control -------------------------------------------------------------------------------
    def dump(self, iss):
        d = self.render(iss)
        d["created_ms"] = iss.created
        d["updated_ms"] = iss.updated
        d["api_counts"] = dict(iss.api_counts)
        d["notes"] = [{"id": n["id"], "body": n["body"], "author": USERS.get(n["author_id"],
                                                                             ("?", "?"))[1]}
                      for n in iss.notes]
        return d

    def c_projects(self, req, parts):
        """DELETE /_emu/projects/ID deletes a project: every API route naming it answers
        404 {"message":"404 Project Not Found"}. POST /_emu/projects {"id": N, "path":
        "group/name"} creates one (or brings a deleted one back with its issues)."""
        with self.lock:
            if len(parts) == 2 and req.method == "DELETE":
                p = self.find_project(parts[1])
                if p is None:
                    return json_response(404, {"error": "no project %s" % parts[1]})
                del self.projects[p["id"]]
                del self.by_path[p["path"].lower()]
                self.deleted_projects[p["id"]] = p
                return empty_response(204)
            if len(parts) == 1 and req.method == "POST":
                body = req.json() or {}
                if not isinstance(body, dict) or not isinstance(body.get("id"), int):
                    raise ValueError("id: a project id (integer) is required")
                p = self.deleted_projects.pop(body["id"], None)
                if p is None:
                    path = body.get("path")
                    if not isinstance(path, str) or "/" not in path:
                        raise ValueError("path: namespace/name is required")
                    p = {"id": body["id"], "path": path, "name": path.rsplit("/", 1)[-1],
                         "next_iid": 1, "issues": {}, "updated_sorted": [],
                         "created_sorted": [], "milestones": {1: "v1.0", 2: "v2.0"}}
                self.projects[p["id"]] = p
                self.by_path[p["path"].lower()] = p
                return json_response(201, {"id": p["id"], "path": p["path"]})
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
                    pid = req.q("project")
                    out = []
                    for p in self.projects.values():
                        if pid is not None and str(p["id"]) != pid:
                            continue
                        out.extend(self.dump(i) for i in p["issues"].values())
                    return json_response(200, out)
                # /_emu/issues/{project}/{iid}[/action]
                if len(parts) < 3:
                    return None
                p = self.find_project(parts[1])
                iss = p["issues"].get(int(parts[2])) if p and parts[2].isdigit() else None
                if iss is None:
                    return json_response(404, {"error": "no issue %s#%s" % (parts[1], parts[2])})
                if len(parts) == 3 and m == "GET":
                    return json_response(200, self.dump(iss))
                body = req.json() or {}
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                actor = next((uid for uid, u in USERS.items()
                              if u[1] == body.get("actor", "alice")), 2)
                try:
                    if parts[3:] == ["transition"] and m == "POST":
                        to = body.get("to")
                        if to not in ("opened", "closed", "close", "reopen"):
                            raise ValueError("to: must be 'opened' or 'closed'")
                        ev = "close" if to in ("closed", "close") else "reopen"
                        self.apply_update(iss, {"state_event": ev}, actor)
                        return json_response(200, self.dump(iss))
                    if parts[3:] == ["edit"] and m == "POST":
                        fields = body.get("fields")
                        if not isinstance(fields, dict):
                            raise ValueError("fields: must be a JSON object")
                        self.apply_update(iss, fields, actor)
                        return json_response(200, self.dump(iss))
                    if parts[3:] == ["note"] and m == "POST":
                        if not isinstance(body.get("body"), str):
                            raise ValueError("body: a note text is required")
                        self.add_note(iss, body["body"], actor)
                        return json_response(201, self.dump(iss))
                except BadParam as e:
                    raise ValueError(str(e))
                except Invalid as e:
                    raise ValueError(str(e.errors))
            return None
        if parts == ["seed"] and m == "POST":
            return self.c_seed(req.json() or {})
        return None

    def c_seed(self, body):
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        count = body.get("count", 0)
        if not isinstance(count, int) or count < 0 or count > 1000000:
            raise ValueError("count: must be an integer in [0, 1000000]")
        labels = body.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("labels: must be an array of strings")
        with self.lock:
            p = self.find_project(str(body.get("project", self.project_specs[0][0])))
            if p is None:
                raise ValueError("project: unknown project %r" % body.get("project"))
            start = body.get("updated_start_ms", self.clock.now_ms() - count)
            step = body.get("updated_step_ms", 1)
            prefix = body.get("title_prefix", "Seeded issue")
            closed = body.get("state", "opened") == "closed"
            first = last = None
            for n in range(count):
                ts = start + n * step
                iss = self.new_issue(p, "%s %d" % (prefix, n + 1), {}, labels, API_USER_ID, ts)
                if closed:
                    iss.state = "closed"
                    iss.closed = ts
                    iss.closed_by = API_USER_ID
                first = first or iss.iid
                last = iss.iid
            return json_response(201, {"created": count, "first_iid": first, "last_iid": last})


def main(argv=None):
    p = emucore.new_parser("GitLab REST v4 issues emulator (threatsync tests)")
    emucore.add_common_args(p)
    p.add_argument("--note-page-max", type=int, default=0,
                   help="cap of per_page when listing notes (0: GitLab's 100)")
    p.add_argument("--projects", default="1:security/widgets,2:security/wru",
                   help="comma-separated id:namespace/path projects")
    args = p.parse_args(argv)
    emucore.check_common_args(p, args)
    for spec in [s for s in args.projects.split(",") if s]:
        pid, _, path = spec.partition(":")
        if not pid.isdigit() or not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", path):
            p.error("--projects: bad entry %r (expected ID:namespace/path)" % spec)
    return emucore.run(GitLabEmulator(args))


if __name__ == "__main__":
    sys.exit(main())
