#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTTP endpoint's bounds hold under a slow-connection flood.

Starts threatsyncd with a Jira connector that accepts webhooks, then:
- headers larger than a connection's memory are refused with 431 and a
  request line longer than it with 414;
- one peer (127.0.0.2) opens 1,000 connections that send a request's headers
  one line a second and never finish them (slowloris): the endpoint keeps
  exactly HTTPD_PER_IP_LIMIT of them and closes the rest at once, and a valid
  signed delivery from another peer (127.0.0.1) is answered 204 within
  MAX_ANSWER_S while the flood holds on;
- once the flood ends, /healthz answers.
The test raises its own RLIMIT_NOFILE (the daemon inherits it).

usage: http_limits.py --threatsync BIN --threatsyncd BIN --source-dir DIR [--slow N]
"""
import argparse
import errno
import os
import resource
import selectors
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ts_harness as th  # noqa: E402

HOOK = "hook-secret-3a9d"
PER_IP_LIMIT = 64  # daemon/httpd.h: HTTPD_PER_IP_LIMIT
MAX_ANSWER_S = 3.0
ATTACKER = "127.0.0.2"


class Flood:
    """n non-blocking connections from ATTACKER that never finish a request."""

    def __init__(self, port, n):
        self.sel = selectors.DefaultSelector()
        self.open = set()
        self.closed = 0
        self.line = 0
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((ATTACKER, 0))
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                raise th.Failure(f"connect from {ATTACKER}: {os.strerror(err)}")
            self.open.add(s)
            self.sel.register(s, selectors.EVENT_READ)

    def drip(self):
        """One more header line on every connection still open."""
        self.line += 1
        if self.line == 1:
            data = b"POST /hooks/jira/jira HTTP/1.1\r\nHost: x\r\n"
        else:
            data = b"X-Slow-%d: y\r\n" % self.line
        for s in list(self.open):
            try:
                s.send(data)
            except BlockingIOError:
                pass  # still connecting: the kernel has not completed it
            except OSError:
                self._gone(s)

    def poll(self, seconds):
        """Notices connections the daemon closed (EOF or reset)."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            for key, _ in self.sel.select(timeout=left):
                s = key.fileobj
                try:
                    if s.recv(4096) == b"":
                        self._gone(s)
                except BlockingIOError:
                    pass
                except OSError:
                    self._gone(s)

    def _gone(self, s):
        if s in self.open:
            self.open.discard(s)
            self.sel.unregister(s)
            s.close()
            self.closed += 1

    def close(self):
        for s in list(self.open):
            self.sel.unregister(s)
            s.close()
        self.open.clear()
        self.sel.close()


def raw_request(port, data):
    """Sends data on a new connection: the status of the answer (0: closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        buf = b""
        try:
            while b"\r\n" not in buf:
                more = s.recv(4096)
                if not more:
                    break
                buf += more
        except OSError:
            pass
    parts = buf.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--slow", type=int, default=1000, help="slow connections")
    a = ap.parse_args()
    a.source_dir = os.path.abspath(a.source_dir)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.slow + 512
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print(f"http_limits: FAIL: RLIMIT_NOFILE hard limit {hard} < {want}",
                  file=sys.stderr)
            sys.exit(1)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    work = tempfile.mkdtemp(prefix="ts-sec-limits-")
    d = None
    flood = None
    try:
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        th.write_secret(creds, "jira_token", "tok-unused")
        th.write_secret(creds, "jira_hook", HOOK)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        port = th.free_port()
        th.write_config(conf, db, os.path.join(a.source_dir, "tests/data/generate/lib"), port,
                        [th.jira_connector("jira", 9)], [])
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        th.kt.run([a.threatsync, "-c", conf, "db", "migrate"], env=env)
        d = th.Daemon(a.threatsyncd, conf, env, os.path.join(work, "daemon.log"), port)
        d.start()

        # Headers over the connection's memory (32 KiB), and a request line.
        big_header = b"POST /hooks/jira/jira HTTP/1.1\r\nHost: x\r\nX-Big: " + \
            b"a" * (40 * 1024) + b"\r\n\r\n"
        st = raw_request(port, big_header)
        th.check(st == 431, f"40 KiB header: {st} (expected 431)")
        long_line = b"GET /" + b"a" * (40 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        st = raw_request(port, long_line)
        th.check(st == 414, f"40 KiB request line: {st} (expected 414)")

        t0 = time.monotonic()
        flood = Flood(port, a.slow)
        # Headers drip for a few seconds: every connection the daemon took is
        # one it keeps waiting on.
        for _ in range(3):
            flood.drip()
            flood.poll(1.0)
        body = th.jira_body("WRU-1", "threatsync-0123456789abcdef", "Done", "done")
        headers = {"X-Hub-Signature": th.sign(HOOK, body),
                   "X-Atlassian-Webhook-Identifier": "during-the-flood"}
        t1 = time.monotonic()
        try:
            st, _ = th.call(port, "POST", "/hooks/jira/jira", body, headers,
                            timeout=MAX_ANSWER_S + 5)
        except OSError as e:
            raise th.Failure(f"the valid delivery during the flood failed: {e}")
        took = time.monotonic() - t1
        th.check(st == 204, f"the valid delivery during the flood: {st}")
        th.check(took <= MAX_ANSWER_S,
                 f"the valid delivery took {took:.2f} s (at most {MAX_ANSWER_S} s)")
        for _ in range(2):
            flood.drip()
            flood.poll(1.0)
        held = len(flood.open)
        th.check(held == PER_IP_LIMIT and flood.closed == a.slow - PER_IP_LIMIT,
                 f"the flood's connections: {held} held, {flood.closed} closed "
                 f"(expected {PER_IP_LIMIT} held, {a.slow - PER_IP_LIMIT} closed)")
        flood_s = time.monotonic() - t0
        flood.close()
        flood = None
        st, _ = th.call(port, "GET", "/healthz")
        th.check(st == 200, f"/healthz after the flood: {st}")
        rc = d.stop()
        th.check(rc == 0, f"threatsyncd exited {rc}")
        print(f"http_limits: OK: 431 for a 40 KiB header, 414 for a 40 KiB request line; "
              f"{a.slow} slow connections from {ATTACKER}: {held} held, "
              f"{a.slow - held} closed; a valid delivery answered 204 in {took * 1000:.0f} ms "
              f"during the flood ({flood_s:.1f} s)")
    except th.Failure as e:
        th.report_failure("http_limits", e, d, 3000)
    finally:
        if flood:
            flood.close()
        th.stop_all(d)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
