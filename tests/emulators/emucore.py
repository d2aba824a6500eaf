# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of the tracker emulators: keep-alive HTTP/1.1 server, request
recording, fault injection, rate limiting, control API and webhook delivery.

Standard library only. The tracker-specific behaviour lives in jira_emulator.py and
gitlab_emulator.py, which subclass EmulatorApp.
"""

import argparse
import base64
import collections
import email.utils
import fnmatch
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

MAX_BODY = 16 * 1024 * 1024
FAULT_KINDS = ("429", "500", "502", "503", "reset", "reset_before_commit",
               "reset_after_commit", "slow", "timeout", "malformed")
REASONS = http.server.BaseHTTPRequestHandler.responses


class Clock:
    """Wall clock in milliseconds that tests can shift (POST /_emu/clock)."""

    def __init__(self):
        self.offset_ms = 0

    def now_ms(self):
        return int(time.time() * 1000) + self.offset_ms


class Request:
    """One parsed HTTP request as the apps see it."""

    __slots__ = ("method", "path", "raw_query", "query", "headers", "body",
                 "client", "_json", "_json_err", "route")

    def __init__(self, method, path, raw_query, headers, body, client):
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.client = client
        self._json = None
        self._json_err = None
        self.route = None

    def q(self, name, default=None):
        """Last value of a query parameter (or default)."""
        v = self.query.get(name)
        return v[-1] if v else default

    def qlist(self, name):
        """All values of a repeated or comma-separated query parameter."""
        out = []
        for v in self.query.get(name, []):
            out.extend(x for x in v.split(",") if x != "")
        return out

    def json(self):
        """Parsed JSON body; raises ValueError when the body is not JSON."""
        if self._json is None and self._json_err is None:
            try:
                self._json = json.loads(self.body.decode("utf-8")) if self.body else None
            except (ValueError, UnicodeDecodeError) as e:
                self._json_err = e
        if self._json_err is not None:
            raise ValueError(str(self._json_err))
        return self._json


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else []


def json_response(status, obj, headers=None, ctype="application/json;charset=UTF-8"):
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    h = [("Content-Type", ctype)]
    if headers:
        h.extend(headers)
    return Response(status, body, h)


def text_response(status, text, ctype="text/plain;charset=UTF-8", headers=None):
    h = [("Content-Type", ctype)]
    if headers:
        h.extend(headers)
    return Response(status, text.encode("utf-8"), h)


def empty_response(status, headers=None, ctype=None):
    h = list(headers or [])
    if ctype:
        h.append(("Content-Type", ctype))
    return Response(status, b"", h)


def http_date(epoch_s):
    return email.utils.formatdate(epoch_s, usegmt=True)


def parse_rate(spec):
    """'10/s', '600/m', '3600/h' -> (tokens, interval seconds)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|m|min|h)\s*", spec or "")
    if not m:
        raise ValueError("rate must look like 10/s, 600/m or 3600/h: %r" % spec)
    n = float(m.group(1))
    unit = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    if n <= 0:
        raise ValueError("rate must be positive: %r" % spec)
    return n, unit


def parse_latency(spec):
    """'300', '100:600', 300 or [100, 600] -> (min ms, max ms)."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        lo = hi = spec
    elif isinstance(spec, list) and len(spec) == 2 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in spec):
        lo, hi = spec
    elif isinstance(spec, str) and re.fullmatch(r"\d+(:\d+)?", spec.strip()):
        parts = [int(x) for x in spec.strip().split(":")]
        lo, hi = parts[0], parts[-1]
    else:
        raise ValueError("latency must be MS, MIN:MAX or [MIN, MAX] in milliseconds: %r"
                         % (spec,))
    if lo < 0 or hi < lo or hi > 60000:
        raise ValueError("latency must satisfy 0 <= MIN <= MAX <= 60000: %r" % (spec,))
    return (lo, hi)


class TokenBucket:
    """Per-client token bucket; real (monotonic) time, not the shiftable clock."""

    def __init__(self, tokens, interval):
        self.capacity = tokens
        self.fill_per_s = tokens / interval
        self.interval = interval
        self.buckets = {}
        self.lock = threading.Lock()

    def take(self, client):
        """Returns (allowed, remaining, seconds until one token is available)."""
        now = time.monotonic()
        with self.lock:
            level, last = self.buckets.get(client, (self.capacity, now))
            level = min(self.capacity, level + (now - last) * self.fill_per_s)
            if level >= 1.0:
                level -= 1.0
                self.buckets[client] = (level, now)
                return True, int(level), 0.0
            self.buckets[client] = (level, now)
            return False, 0, (1.0 - level) / self.fill_per_s


class FaultPlan:
    """Decides, per request, which fault (if any) to inject: scripted first, then random."""

    def __init__(self, rate=0.0, kinds=(), seed=0, after_commit_ratio=0.5):
        self.lock = threading.Lock()
        self.configure(rate, kinds, seed, after_commit_ratio)
        self.script = []

    def configure(self, rate, kinds, seed, after_commit_ratio=None):
        kinds = list(kinds)
        for k in kinds:
            if k not in FAULT_KINDS:
                raise ValueError("unknown fault kind %r (known: %s)" % (k, ", ".join(FAULT_KINDS)))
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError("fault rate must be within [0, 1]: %r" % rate)
        if float(rate) > 0 and not kinds:
            raise ValueError("a fault rate needs at least one fault kind")
        self.rate = float(rate)
        self.kinds = kinds
        self.rng = random.Random(seed)
        if after_commit_ratio is not None:
            self.after_commit_ratio = float(after_commit_ratio)

    def set_script(self, entries):
        script = []
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or not isinstance(e.get("match"), str):
                raise ValueError("script[%d]: needs a string 'match' (\"METHOD /path\")" % i)
            if e.get("fault") not in FAULT_KINDS:
                raise ValueError("script[%d].fault: unknown fault %r" % (i, e.get("fault")))
            parts = e["match"].split(None, 1)
            if len(parts) != 2:
                raise ValueError("script[%d].match: expected \"METHOD /path\"" % i)
            times = e.get("times", 1)
            skip = e.get("skip", 0)
            if not isinstance(times, int) or times < 1 or not isinstance(skip, int) or skip < 0:
                raise ValueError("script[%d]: times must be >= 1 and skip >= 0" % i)
            script.append({"method": parts[0].upper(), "path": parts[1], "fault": e["fault"],
                           "times": times, "skip": skip,
                           "retry_after": e.get("retry_after")})
        with self.lock:
            self.script = script

    def _random_retry_after(self):
        r = self.rng.random()
        if r < 0.15:
            return "0"
        if r < 0.35:
            return "DATE+2"
        return str(1 + int(self.rng.random() * 2))

    def decide(self, method, path):
        """Returns (fault name or None, retry_after spec or None)."""
        with self.lock:
            for e in self.script:
                if e["method"] not in ("*", method):
                    continue
                if not fnmatch.fnmatchcase(path, e["path"]):
                    continue
                if e["skip"] > 0:
                    e["skip"] -= 1
                    continue
                e["times"] -= 1
                if e["times"] <= 0:
                    self.script.remove(e)
                return self._resolve(e["fault"]), e["retry_after"]
            if self.rate <= 0 or self.rng.random() >= self.rate:
                return None, None
            kind = self.kinds[int(self.rng.random() * len(self.kinds))]
            kind = self._resolve(kind)
            ra = self._random_retry_after() if kind in ("429", "503") else None
            return kind, ra

    def _resolve(self, kind):
        if kind == "reset":
            return ("reset_after_commit" if self.rng.random() < self.after_commit_ratio
                    else "reset_before_commit")
        return kind


class Recorder:
    """Every API request (not control calls) with its outcome, plus counters."""

    def __init__(self, max_records):
        self.lock = threading.Lock()
        self.records = collections.deque(maxlen=max_records)
        self.seq = 0
        self.stats = collections.Counter()

    def add(self, rec):
        with self.lock:
            self.seq += 1
            rec["seq"] = self.seq
            self.records.append(rec)
            self.stats[(rec["route"], rec["status"])] += 1

    def clear(self):
        with self.lock:
            self.records.clear()
            self.stats.clear()


REDACT_HEADERS = {"private-token", "x-gitlab-token", "cookie", "job-token"}


def redact_headers(headers):
    out = {}
    for k, v in headers.items():
        lk = k.lower()
        if lk == "authorization":
            out[k] = v.split(" ", 1)[0] if v else ""
        elif lk in REDACT_HEADERS:
            out[k] = "[redacted]"
        else:
            out[k] = v
    return out


def is_loopback_url(url):
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if u.scheme != "http" or not u.hostname:
        return False
    host = u.hostname
    return host == "localhost" or host == "::1" or host.startswith("127.")


class WebhookSender:
    """Delivers tracker events to registered targets from one background thread.

    Each target may sign (the app decides how), duplicate deliveries with a given
    probability and reorder them within a window, all from a seeded RNG."""

    def __init__(self, app, seed):
        self.app = app
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.targets = {}
        self.next_id = 1
        self.queue = collections.deque()
        self.deliveries = collections.deque(maxlen=10000)
        self.rng = random.Random(seed)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self.thread.start()

    def register(self, cfg):
        if not isinstance(cfg, dict):
            raise ValueError("body must be a JSON object")
        url = cfg.get("url")
        if not isinstance(url, str) or not is_loopback_url(url):
            raise ValueError("url: must be an http:// URL on the loopback interface")
        secret = cfg.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise ValueError("secret: must be a string")
        events = cfg.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("events: must be an array of strings")
        dup = cfg.get("duplicate_rate", 0.0)
        window = cfg.get("reorder_window", 1)
        if not isinstance(dup, (int, float)) or not 0 <= dup <= 1:
            raise ValueError("duplicate_rate: must be within [0, 1]")
        if not isinstance(window, int) or window < 1 or window > 1000:
            raise ValueError("reorder_window: must be an integer in [1, 1000]")
        sign = cfg.get("sign", True)
        with self.lock:
            tid = self.next_id
            self.next_id += 1
            self.targets[tid] = {"id": tid, "url": url, "secret": secret, "events": events,
                                 "duplicate_rate": float(dup), "reorder_window": window,
                                 "sign": bool(sign), "pending": []}
        return tid

    def list_targets(self):
        with self.lock:
            return [{k: v for k, v in t.items() if k not in ("pending", "secret")}
                    | {"has_secret": t["secret"] is not None} for t in self.targets.values()]

    def remove_all(self):
        with self.lock:
            self.targets.clear()
            self.queue.clear()

    def emit(self, event, body_obj):
        """Queue one event (JSON-able dict) for every target interested in it."""
        with self.lock:
            if not self.targets:
                return
            raw = json.dumps(body_obj, separators=(",", ":")).encode("utf-8")
            for t in self.targets.values():
                if t["events"] and event not in t["events"]:
                    continue
                delivery_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                headers = self.app.webhook_headers(event, raw, t, delivery_id)
                items = [(t["id"], t["url"], headers, raw, event, delivery_id, False)]
                if t["duplicate_rate"] > 0 and self.rng.random() < t["duplicate_rate"]:
                    items.append((t["id"], t["url"], self.app.webhook_headers(
                        event, raw, t, delivery_id, retry=True), raw, event, delivery_id, True))
                t["pending"].extend(items)
                if len(t["pending"]) >= t["reorder_window"]:
                    self._flush_target(t)
            self.cond.notify()

    def _flush_target(self, t):
        batch = t["pending"]
        t["pending"] = []
        if len(batch) > 1 and t["reorder_window"] > 1:
            self.rng.shuffle(batch)
        self.queue.extend(batch)

    def flush(self):
        with self.lock:
            for t in self.targets.values():
                if t["pending"]:
                    self._flush_target(t)
            self.cond.notify()

    def _run(self):
        while True:
            with self.lock:
                while not self.queue and not self.stopping:
                    if not self.cond.wait(timeout=0.2):
                        # quiet for a while: release partially filled reorder windows
                        for t in self.targets.values():
                            if t["pending"]:
                                self._flush_target(t)
                if self.stopping:
                    return
                item = self.queue.popleft()
            self._deliver(item)

    def _deliver(self, item):
        tid, url, headers, raw, event, delivery_id, dup = item
        u = urllib.parse.urlsplit(url)
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        status = None
        error = None
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=5)
            conn.request("POST", path, body=raw, headers=dict(headers))
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            error = str(e)
        with self.lock:
            self.deliveries.append({"target": tid, "url": url, "event": event,
                                    "delivery_id": delivery_id, "duplicate": dup,
                                    "status": status, "error": error,
                                    "headers": redact_headers(dict(headers)),
                                    "body": raw.decode("utf-8")})

    def stop(self):
        with self.lock:
            self.stopping = True
            self.cond.notify()


class HoldTracker:
    """Retry-After holds and the requests that broke them.

    Every answer that carries Retry-After (a 429, or a 503) starts a hold, both on
    the TCP connection it went out on and for the client (its token) as a whole.
    A request that arrives on that connection before the hold expires broke it:
    HTTP/1.1 sends one request at a time on a connection, so the client had read
    the answer before it sent the request. For the client as a whole a request
    counts only when it arrives more than grace_ms after the answer went out:
    requests the client sent before it read the answer are still arriving then.
    """

    def __init__(self, grace_ms):
        self.lock = threading.Lock()
        self.grace_s = grace_ms / 1000.0
        self._empty()

    def _empty(self):
        self.by_conn = {}    # connection id -> (sent, expiry)
        self.by_client = {}  # client key -> [(sent, expiry), ...] still running
        self.holds = 0
        self.conn_violations = 0
        self.client_violations = 0
        self.events = collections.deque(maxlen=200)

    def clear(self):
        with self.lock:
            self._empty()

    @staticmethod
    def expiry(sent, value):
        """Unix time a Retry-After value (delta-seconds or HTTP-date) names, or None."""
        v = (value or "").strip()
        if v.isdigit():
            return sent + int(v)
        try:
            d = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError):
            return None
        return d.timestamp() if d is not None else None

    def on_answer(self, conn, client, status, headers, sent):
        if status not in (429, 503):
            return
        value = next((v for k, v in headers if k.lower() == "retry-after"), None)
        until = self.expiry(sent, value)
        if until is None or until <= sent:
            return
        with self.lock:
            self.holds += 1
            old = self.by_conn.get(conn)
            if old is None or old[1] < until:
                self.by_conn[conn] = (sent, until)
            self.by_client.setdefault(client, []).append((sent, until))

    def on_request(self, conn, client, arrived, method, path):
        with self.lock:
            h = self.by_conn.get(conn)
            if h is not None and arrived < h[1]:
                self.conn_violations += 1
                self.events.append({"kind": "connection", "conn": conn, "method": method,
                                    "path": path, "after_answer_ms": round((arrived - h[0]) * 1000, 3),
                                    "early_ms": round((h[1] - arrived) * 1000, 3)})
            running = [x for x in self.by_client.get(client, []) if x[1] > arrived]
            if running:
                self.by_client[client] = running
            else:
                self.by_client.pop(client, None)
            for sent, until in running:
                if sent + self.grace_s < arrived:
                    self.client_violations += 1
                    self.events.append({"kind": "client", "conn": conn, "method": method,
                                        "path": path,
                                        "after_answer_ms": round((arrived - sent) * 1000, 3),
                                        "early_ms": round((until - arrived) * 1000, 3)})
                    break

    def state(self):
        with self.lock:
            return {"holds": self.holds, "grace_ms": int(self.grace_s * 1000),
                    "violations": {"connection": self.conn_violations,
                                   "client": self.client_violations},
                    "events": list(self.events)}


def hmac_sha256_hex(secret, raw):
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


class EmulatorApp:
    """Base class of an emulated tracker. Subclasses fill in routes and state."""

    name = "emulator"
    server_header = "emulator"

    def __init__(self, args):
        self.args = args
        self.clock = Clock()
        self.lock = threading.RLock()
        self.faults = FaultPlan(args.fault_rate, [k for k in args.faults.split(",") if k],
                                args.seed, args.reset_after_commit_ratio)
        self.recorder = Recorder(args.max_records)
        self.bucket = TokenBucket(*parse_rate(args.rate)) if args.rate else None
        self.hooks = WebhookSender(self, args.seed)
        self.holds = HoldTracker(args.hold_grace_ms)
        self.conn_lock = threading.Lock()
        self.conn_seq = 0
        # Answer delay (slow trackers), drawn apart from the faults so that a
        # latency setting leaves the fault sequence of a seed unchanged.
        self.latency_ms = parse_latency(args.latency_ms)
        self.latency_rng = random.Random(args.seed)
        self.routes = []
        self.base_url = "http://127.0.0.1"
        self.stop_event = threading.Event()

    def next_conn(self):
        with self.conn_lock:
            self.conn_seq += 1
            return self.conn_seq

    def answer_delay_s(self):
        lo, hi = self.latency_ms
        if hi <= 0:
            return 0.0
        with self.conn_lock:
            return (lo + (hi - lo) * self.latency_rng.random()) / 1000.0

    # --- to be provided by subclasses -------------------------------------------------
    def handle_control(self, req, parts):
        """Tracker-specific control calls; return None when not handled."""
        return None

    def reset_state(self):
        raise NotImplementedError

    def fault_response(self, kind, req, retry_after):
        raise NotImplementedError

    def rate_limited_response(self, req, wait_s):
        raise NotImplementedError

    def decorate(self, req, resp, remaining):
        """Adds per-response headers (rate-limit state, request ids) to an API answer;
        remaining is the client's bucket level, or None without --rate."""

    def webhook_headers(self, event, raw, target, delivery_id, retry=False):
        raise NotImplementedError

    # --- routing ------------------------------------------------------------------------
    def add_route(self, method, pattern, fn, name=None):
        self.routes.append((method, re.compile("^" + pattern + "$"), fn,
                            name or "%s %s" % (method, pattern)))

    def route_name(self, req):
        """Name of the route a request would take (for requests never dispatched)."""
        for method, rx, fn, name in self.routes:
            if method == req.method and rx.match(req.path):
                return name
        return req.method + " " + req.path

    def dispatch(self, req):
        """Finds the route; returns (route name, response)."""
        allowed = False
        for method, rx, fn, name in self.routes:
            m = rx.match(req.path)
            if not m:
                continue
            if method != req.method:
                allowed = True
                continue
            req.route = name
            return name, fn(req, *m.groups())
        if allowed:
            return req.method + " " + req.path, self.method_not_allowed(req)
        return req.method + " (unrouted)", self.not_found(req)

    def not_found(self, req):
        return text_response(404, "Not Found")

    def method_not_allowed(self, req):
        return text_response(405, "Method Not Allowed")

    def retry_after_value(self, spec, default_s):
        if spec is None:
            return str(default_s)
        if spec == "DATE+2":
            return http_date(time.time() + 2)
        return str(spec)

    # --- control API ----------------------------------------------------------------------
    def control(self, req):
        parts = [urllib.parse.unquote(p) for p in req.path.split("/")[2:] if p != ""]
        try:
            r = self.handle_control(req, parts)
            if r is not None:
                return r
            return self.core_control(req, parts)
        except ValueError as e:
            return json_response(400, {"error": str(e)})

    def core_control(self, req, parts):
        m = req.method
        if parts == ["requests"] and m == "GET":
            with self.recorder.lock:
                recs = list(self.recorder.records)
            since = req.q("since")
            if since is not None:
                recs = [r for r in recs if r["seq"] > int(since)]
            return json_response(200, recs)
        if parts == ["requests"] and m == "DELETE":
            self.recorder.clear()
            return empty_response(204)
        if parts == ["reset"] and m == "POST":
            with self.lock:
                self.reset_state()
            self.recorder.clear()
            self.faults.set_script([])
            self.faults.configure(0.0, [], self.args.seed)
            self.hooks.remove_all()
            self.holds.clear()
            self.latency_ms = (0, 0)
            self.clock.offset_ms = 0
            return empty_response(204)
        if parts == ["faults"] and m == "POST":
            body = req.json() or {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            if "script" in body:
                self.faults.set_script(body["script"] or [])
            if "latency_ms" in body:
                self.latency_ms = parse_latency(body["latency_ms"])
            if "rate" in body or "kinds" in body or "seed" in body:
                self.faults.configure(body.get("rate", 0.0), body.get("kinds", []),
                                      body.get("seed", self.args.seed),
                                      body.get("reset_after_commit_ratio"))
            return json_response(200, self.fault_state())
        if parts == ["faults"] and m == "GET":
            return json_response(200, self.fault_state())
        if parts == ["holds"] and m == "GET":
            return json_response(200, self.holds.state())
        if parts == ["holds"] and m == "DELETE":
            self.holds.clear()
            return empty_response(204)
        if parts == ["clock"] and m == "POST":
            body = req.json() or {}
            if "offset_ms" in body:
                self.clock.offset_ms = int(body["offset_ms"])
            if "advance_ms" in body:
                self.clock.offset_ms += int(body["advance_ms"])
            return json_response(200, {"offset_ms": self.clock.offset_ms,
                                       "now_ms": self.clock.now_ms()})
        if parts == ["clock"] and m == "GET":
            return json_response(200, {"offset_ms": self.clock.offset_ms,
                                       "now_ms": self.clock.now_ms()})
        if parts == ["stats"] and m == "GET":
            with self.recorder.lock:
                items = list(self.recorder.stats.items())
            by_route = {}
            total = 0
            for (route, status), n in items:
                by_route.setdefault(route, {})[str(status)] = n
                total += n
            return json_response(200, {"total": total, "by_endpoint": by_route})
        if parts == ["webhooks"] and m == "POST":
            tid = self.hooks.register(req.json())
            return json_response(201, {"id": tid})
        if parts == ["webhooks"] and m == "GET":
            return json_response(200, self.hooks.list_targets())
        if parts == ["webhooks"] and m == "DELETE":
            self.hooks.remove_all()
            return empty_response(204)
        if parts == ["webhooks", "deliveries"] and m == "GET":
            # ?count=N waits (up to timeout_ms, at most 10 s) until N deliveries are done
            want = int(req.q("count", "0"))
            deadline = time.monotonic() + min(int(req.q("timeout_ms", "5000")), 10000) / 1000.0
            self.hooks.flush()
            while True:
                with self.hooks.lock:
                    done = list(self.hooks.deliveries)
                if len(done) >= want or time.monotonic() >= deadline:
                    return json_response(200, done)
                time.sleep(0.01)
        if parts == ["webhooks", "flush"] and m == "POST":
            self.hooks.flush()
            return empty_response(204)
        return json_response(404, {"error": "unknown control call %s %s" % (m, req.path)})

    def fault_state(self):
        with self.faults.lock:
            return {"rate": self.faults.rate, "kinds": self.faults.kinds,
                    "latency_ms": list(self.latency_ms),
                    "reset_after_commit_ratio": self.faults.after_commit_ratio,
                    "script": [dict(e) for e in self.faults.script]}

    # --- request path -------------------------------------------------------------------
    def serve(self, h):
        t0 = time.time()
        split = urllib.parse.urlsplit(h.path)
        headers = {k: v for k, v in h.headers.items()}
        body = read_body(h)
        if isinstance(body, int):
            # unreadable or oversized body: answer, record, and drop the connection
            h.close_connection = True
            send_response(h, text_response(body, REASONS[body][0]), self.server_header)
            self.recorder.add({
                "ts_ms": int(t0 * 1000), "method": h.command, "path": split.path,
                "query": split.query, "headers": redact_headers(headers), "body": "",
                "status": body, "fault": None, "route": h.command + " " + split.path,
                "duration_ms": round((time.time() - t0) * 1000, 3)})
            return
        req = Request(h.command, split.path, split.query, headers, body,
                      h.client_address[0])
        if req.path.startswith("/_emu/") or req.path == "/_emu":
            send_response(h, self.control(req), self.server_header)
            return
        self.holds.on_request(h.conn_id, self.client_key(req), t0, req.method, req.path)
        fault, retry_after = self.faults.decide(req.method, req.path)
        resp = None
        route = None
        status = None
        remaining = None
        if fault is None and self.bucket is not None:
            ok, remaining, wait_s = self.bucket.take(self.client_key(req))
            if not ok:
                resp = self.rate_limited_response(req, wait_s)
                fault = "rate_limited"
        if resp is not None:
            pass
        elif fault in ("429", "500", "502", "503"):
            resp = self.fault_response(fault, req, retry_after)
        elif fault == "timeout":
            self.stop_event.wait(self.args.timeout_hold_s)
        elif fault == "reset_before_commit":
            pass
        else:
            route, resp = self.dispatch(req)
            self.decorate(req, resp, remaining)
            if fault == "reset_after_commit":
                resp = None
            elif fault == "malformed":
                if resp.body and resp.status in (200, 201):
                    resp.body = resp.body[:max(1, len(resp.body) // 2)]
                else:
                    fault = None
        if resp is not None:
            status = resp.status
        # Record before answering: a client that reads /_emu/requests right
        # after its response must find this request there.
        self.recorder.add({
            "ts_ms": int(t0 * 1000), "method": req.method, "path": req.path,
            "query": req.raw_query, "headers": redact_headers(headers),
            "body": req.body.decode("utf-8", "replace"), "status": status,
            "fault": fault, "route": req.route or route or self.route_name(req),
            "conn": h.conn_id, "t_start": round(t0, 6),
            "duration_ms": round((time.time() - t0) * 1000, 3)})
        # A slow tracker is slow to compute; its front (rate limiter, proxy)
        # answers 429s and injected errors at once.
        delay = self.answer_delay_s() if route is not None else 0.0
        if delay > 0:
            self.stop_event.wait(delay)
        # Resets too come after the record: the client sees the reset at once
        # and may read /_emu/requests before this thread goes on.
        if fault in ("timeout", "reset_before_commit", "reset_after_commit"):
            reset_connection(h)
            return
        if resp is not None:
            self.holds.on_answer(h.conn_id, self.client_key(req), resp.status, resp.headers,
                                 time.time())
            if fault == "slow":
                send_response(h, resp, self.server_header, slow_ms=self.args.slow_ms)
            else:
                send_response(h, resp, self.server_header)

    def client_key(self, req):
        return req.headers.get("Authorization") or req.headers.get("PRIVATE-TOKEN") or req.client


def read_body(h):
    """The request body as bytes, or an HTTP status (400, 413) when it cannot be read."""
    te = h.headers.get("Transfer-Encoding", "")
    if "chunked" in te.lower():
        chunks = []
        total = 0
        while True:
            line = h.rfile.readline(1024)
            try:
                n = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return 400
            if n == 0:
                while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += n
            if total > MAX_BODY:
                return 413
            chunks.append(h.rfile.read(n))
            h.rfile.readline(8)
        return b"".join(chunks)
    length = h.headers.get("Content-Length")
    if not length:
        return b""
    try:
        n = int(length)
    except ValueError:
        return 400
    if n < 0 or n > MAX_BODY:
        return 413
    return h.rfile.read(n)


def send_response(h, resp, server_header, slow_ms=0):
    out = ["HTTP/1.1 %d %s\r\n" % (resp.status, REASONS.get(resp.status, ("",))[0]),
           "Date: %s\r\n" % http_date(time.time()),
           "Server: %s\r\n" % server_header]
    for k, v in resp.headers:
        out.append("%s: %s\r\n" % (k, v))
    if resp.status not in (204, 304) and not (100 <= resp.status < 200):
        out.append("Content-Length: %d\r\n" % len(resp.body))
    if h.close_connection or h.headers.get("Connection", "").lower() == "close":
        out.append("Connection: close\r\n")
        h.close_connection = True
    out.append("\r\n")
    head = "".join(out).encode("latin-1")
    body = resp.body if resp.status not in (204, 304) else b""
    try:
        if slow_ms > 0 and body:
            h.wfile.write(head)
            h.wfile.flush()
            step = max(1, len(body) // 20)
            pause = slow_ms / 1000.0 / ((len(body) + step - 1) // step)
            for i in range(0, len(body), step):
                time.sleep(pause)
                h.wfile.write(body[i:i + step])
                h.wfile.flush()
        else:
            h.wfile.write(head + body)
    except OSError:
        h.close_connection = True


def reset_connection(h):
    """Drop the connection with a TCP RST and no response bytes."""
    h.close_connection = True
    try:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.rfile.close()
        h.wfile.close()
        h.connection.close()
    except OSError:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120

    def setup(self):
        super().setup()
        self.conn_id = self.server.app.next_conn()

    def _go(self):
        self.server.app.serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _go

    def log_message(self, fmt, *args):
        if self.server.app.args.verbose:
            sys.stderr.write("%s %s\n" % (self.server.app.name, fmt % args))

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    tls = None  # an ssl.SSLContext when serving HTTPS

    def finish_request(self, request, client_address):
        # HTTPS: the handshake runs in the connection's own thread, so a
        # client that never completes it holds no one else up.
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, OSError, ValueError)):
            return
        super().handle_error(request, client_address)


def add_common_args(p):
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick one)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault and webhook RNG")
    p.add_argument("--fault-rate", type=float, default=0.0, help="probability of a fault per request")
    p.add_argument("--faults", default="", help="comma-separated fault kinds: " + ",".join(FAULT_KINDS))
    p.add_argument("--reset-after-commit-ratio", type=float, default=0.5,
                   help="share of 'reset' faults applied after the write")
    p.add_argument("--rate", default=None, help="per-client request limit, e.g. 10/s")
    p.add_argument("--token", default="emu-token", help="accepted API token")
    p.add_argument("--slow-ms", type=int, default=1500, help="duration of a 'slow' body")
    p.add_argument("--timeout-hold-s", type=float, default=30.0,
                   help="how long a 'timeout' fault holds the connection")
    p.add_argument("--latency-ms", default="0",
                   help="delay of every API answer: MS or MIN:MAX (uniform)")
    p.add_argument("--hold-grace-ms", type=int, default=100,
                   help="Retry-After holds: requests of the client arriving this soon after "
                   "the answer are not counted (they may have left before it was read)")
    p.add_argument("--max-records", type=int, default=200000, help="recorded requests kept")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    p.add_argument("--verbose", action="store_true")


def check_common_args(p, args):
    try:
        if args.rate:
            parse_rate(args.rate)
        FaultPlan(args.fault_rate, [k for k in args.faults.split(",") if k], args.seed)
    except ValueError as e:
        p.error(str(e))
    try:
        parse_latency(args.latency_ms)
    except ValueError as e:
        p.error("--latency-ms: " + str(e))
    if args.hold_grace_ms < 0:
        p.error("--hold-grace-ms must not be negative")
    if not 0 <= args.reset_after_commit_ratio <= 1:
        p.error("--reset-after-commit-ratio must be within [0, 1]")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")


def run(app):
    """Binds 127.0.0.1, announces the port, serves until SIGTERM/SIGINT."""
    import signal
    srv = Server(("127.0.0.1", app.args.port), Handler)
    srv.app = app
    scheme = "http"
    if app.args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(app.args.tls_cert, app.args.tls_key)
        srv.tls = ctx
        scheme = "https"
    port = srv.server_address[1]
    app.base_url = "%s://127.0.0.1:%d" % (scheme, port)
    app.on_listening(port)
    if app.args.port_file:
        tmp = app.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, app.args.port_file)
    print("listening on 127.0.0.1:%d%s" % (port, " (https)" if srv.tls else ""), flush=True)

    def stop(signum, frame):
        app.stop_event.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        app.hooks.stop()
        srv.server_close()
    return 0


def basic_credentials(header):
    """'Basic base64(user:pw)' -> (user, pw) or None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        dec = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if ":" not in dec:
        return None
    user, pw = dec.split(":", 1)
    return user, pw


def secret_equal(a, b):
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_parser(description):
    return argparse.ArgumentParser(description=description)
