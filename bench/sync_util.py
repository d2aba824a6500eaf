#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the tracker sync benchmarks (bench_push.sh, bench_poll.sh).

Python 3 standard library only. Used as a module by sync_push.py and
sync_poll.py, and from the shell scripts as a command:

  sync_util.py measure OUT.json [--stdout F] [--stderr F] -- CMD ARGS...
      runs CMD once and writes {"rc", "wall_s", "user_s", "sys_s", "cpu_ms",
      "maxrss_kib"}; the CPU figures are RUSAGE_CHILDREN of this fresh
      process, so they are CMD's alone (its children included).
  sync_util.py emu URL METHOD PATH [JSON_BODY]
      one call of an emulator's control API (/_emu/...); prints the answer.
  sync_util.py wait-port FILE SECONDS
      waits until an emulator wrote its --port-file; prints the port.
"""
import base64
import http.client
import json
import os
import resource
import subprocess
import sys
import time
import urllib.parse

JIRA_EMAIL = "threatsync@example.com"
TOKEN = "emu-token"


def auth_headers(tracker):
    """The API credentials the emulators accept by default, as request headers."""
    if tracker == "jira":
        raw = ("%s:%s" % (JIRA_EMAIL, TOKEN)).encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {"PRIVATE-TOKEN": TOKEN}


def measure(cmd, stdout=None, stderr=None, timeout=None):
    """Runs cmd once; returns wall time, CPU time (user+sys of the child and its
    descendants, from RUSAGE_CHILDREN around the call) and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    err = open(stderr, "wb") if stderr else None
    t = time.monotonic()
    try:
        rc = subprocess.call(cmd, stdout=out, stderr=err, timeout=timeout)
    finally:
        if stdout:
            out.close()
        if stderr:
            err.close()
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    sys_ = after.ru_stime - before.ru_stime
    return {"rc": rc, "wall_s": wall, "user_s": user, "sys_s": sys_,
            "cpu_ms": (user + sys_) * 1000.0, "maxrss_kib": after.ru_maxrss}


class Emu:
    """A keep-alive client of one emulator (control API and plain API calls)."""

    def __init__(self, url, timeout=120):
        u = urllib.parse.urlsplit(url)
        if u.hostname != "127.0.0.1":
            raise SystemExit("sync_util: only 127.0.0.1 is used (got %s)" % url)
        self.url = url.rstrip("/")
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        """Returns (status, parsed JSON or text or None)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if not raw:
            return r.status, None
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw.decode("utf-8", "replace")

    def ok(self, method, path, body=None):
        status, doc = self.call(method, path, body)
        if status >= 300:
            raise SystemExit("sync_util: %s %s answered %d: %s" % (method, path, status, doc))
        return doc

    def stats(self):
        return self.ok("GET", "/_emu/stats")

    def requests(self, since=None):
        return self.ok("GET", "/_emu/requests" + ("?since=%d" % since if since else ""))


def curl_quote(s):
    """A string as a double-quoted value of a curl config file (-K)."""
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + out + '"'


def write_curl_config(path, base_url, requests, headers):
    """Writes a curl -K file of one transfer per request (dicts with method,
    path, query, body), each with its own headers and body, separated by
    `next`; answers go to /dev/null and each transfer writes its status code."""
    with open(path, "w") as f:
        for i, r in enumerate(requests):
            if i:
                f.write("next\n")
            url = base_url + r["path"] + ("?" + r["query"] if r.get("query") else "")
            f.write("url = %s\n" % curl_quote(url))
            if r["method"] not in ("GET", "POST"):
                f.write("request = %s\n" % r["method"])
            for k, v in headers.items():
                f.write("header = %s\n" % curl_quote("%s: %s" % (k, v)))
            f.write('header = "Accept: application/json"\n')
            if r.get("body"):
                f.write('header = "Content-Type: application/json; charset=utf-8"\n')
                # As threatsync's client: no "Expect: 100-continue" round trip
                # (curl adds one to larger bodies).
                f.write('header = "Expect:"\n')
                f.write("data-binary = %s\n" % curl_quote(r["body"]))
            f.write('output = "/dev/null"\n')
            f.write('write-out = "%{http_code}\\n"\n')


def run_curl(config, parallel, stdout):
    """curl over a -K file (parallel transfers when parallel > 1); returns
    measure()'s figures plus the status codes counted."""
    cmd = ["curl", "--silent", "--show-error", "--no-progress-meter"]
    if parallel > 1:
        cmd += ["--parallel", "--parallel-max", str(parallel)]
    cmd += ["-K", config]
    m = measure(cmd, stdout=stdout)
    codes = {}
    with open(stdout) as f:
        for line in f:
            line = line.strip()
            if line:
                codes[line] = codes.get(line, 0) + 1
    m["codes"] = codes
    return m


def main(argv):
    if len(argv) >= 2 and argv[1] == "measure":
        args = argv[2:]
        if "--" not in args or not args or args[0] == "--":
            raise SystemExit("usage: sync_util.py measure OUT.json [--stdout F] [--stderr F] -- CMD...")
        sep = args.index("--")
        opts, cmd = args[:sep], args[sep + 1:]
        out = opts[0]
        kw = {}
        i = 1
        while i < len(opts):
            if opts[i] in ("--stdout", "--stderr") and i + 1 < len(opts):
                kw[opts[i][2:]] = opts[i + 1]
                i += 2
            else:
                raise SystemExit("sync_util.py measure: unknown option %r" % opts[i])
        m = measure(cmd, **kw)
        with open(out, "w") as f:
            json.dump(m, f)
        return 0 if m["rc"] == 0 else 1
    if len(argv) in (5, 6) and argv[1] == "emu":
        body = json.loads(argv[5]) if len(argv) == 6 else None
        status, doc = Emu(argv[2]).call(argv[3], argv[4], body)
        print(json.dumps(doc) if not isinstance(doc, str) else doc)
        return 0 if status < 300 else 1
    if len(argv) == 4 and argv[1] == "wait-port":
        deadline = time.monotonic() + float(argv[3])
        while time.monotonic() < deadline:
            try:
                with open(argv[2]) as f:
                    port = f.read().strip()
                if port:
                    print(port)
                    return 0
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        sys.stderr.write("sync_util.py: no port in %s after %s s\n" % (argv[2], argv[3]))
        return 1
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
