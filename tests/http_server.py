#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scriptable HTTP/1.1 server for the HTTP client's tests: canned replies, faults, a request log.

Usage: http_server.py --port 0 --port-file F [--script S.json] [--log L.jsonl]
                      [--tls-cert C --tls-key K] [--accept-delay-ms N]

With --tls-cert and --tls-key it serves HTTPS. --accept-delay-ms holds every
new connection that long before its TLS handshake (or, without TLS, before the
request is read): a client's transfer then waits, connected but unsent.

The script is JSON:
  {"routes": [{"method": "GET", "path": "/x", "replies": [REPLY, ...]}, ...],
   "default": REPLY}
Each request to a route takes the next reply; the last one repeats. A REPLY is
  {"status": 200, "headers": {"Name": "value"}, "body": "text", "body_bytes": N,
   "delay_ms": 0, "body_delay_ms": 0,
   "action": "normal|echo|reset|partial|garbage|no_length"}
  body_delay_ms  the headers and the first half of the body go out at once,
            the rest that much later
  echo      body is the request as JSON (method, path, headers, body)
  reset     read the request, then close the connection with a TCP RST
  partial   announce Content-Length 100, send 10 bytes, close
  garbage   answer with bytes that are not HTTP, close
  no_length send the body without Content-Length, then close
Header values may hold ${now+SECONDS:FORMAT}, FORMAT one of imf, rfc850,
asctime, iso, unix: a time relative to the moment the reply is sent.

Every request appends one JSON line to the log before its reply goes out:
seq, conn (a per-connection number), method, path, headers (lower-case names),
body, t_recv and t_resp (CLOCK_MONOTONIC ms), wall_recv (unix ms), active
(requests being handled at arrival, this one included), status, resp_headers.
"""
import argparse
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TEMPLATE = re.compile(r"\$\{now([+-][0-9]+(?:\.[0-9]+)?)?:(imf|rfc850|asctime|iso|unix)\}")


def format_time(t, fmt):
    g = time.gmtime(t)
    if fmt == "imf":
        return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
            DAYS[g.tm_wday], g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year,
            g.tm_hour, g.tm_min, g.tm_sec)
    if fmt == "rfc850":
        return "%s, %02d-%s-%02d %02d:%02d:%02d GMT" % (
            LONG_DAYS[g.tm_wday], g.tm_mday, MONTHS[g.tm_mon - 1], g.tm_year % 100,
            g.tm_hour, g.tm_min, g.tm_sec)
    if fmt == "asctime":
        return "%s %s %2d %02d:%02d:%02d %04d" % (
            DAYS[g.tm_wday], MONTHS[g.tm_mon - 1], g.tm_mday,
            g.tm_hour, g.tm_min, g.tm_sec, g.tm_year)
    if fmt == "iso":
        ms = int((t - int(t)) * 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", g) + ".%03dZ" % ms
    return str(int(t))


def expand(value):
    now = time.time()

    def sub(m):
        return format_time(now + float(m.group(1) or 0), m.group(2))
    return TEMPLATE.sub(sub, str(value))


class State:
    def __init__(self, script, log_path):
        self.lock = threading.Lock()
        self.script = script
        self.counters = {}
        self.active = 0
        self.seq = 0
        self.conns = 0
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None

    def pick(self, method, path):
        for i, route in enumerate(self.script.get("routes", [])):
            if route.get("path") != path:
                continue
            if route.get("method") and route["method"] != method:
                continue
            replies = route.get("replies") or [{}]
            n = self.counters.get(i, 0)
            self.counters[i] = n + 1
            return replies[min(n, len(replies) - 1)]
        return self.script.get("default", {})

    def record(self, entry):
        if self.log:
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()


STATE = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with STATE.lock:
            STATE.conns += 1
            self.conn_id = STATE.conns
        self.t_conn = time.monotonic() * 1000.0

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def handle_any(self):
        t_recv = time.monotonic() * 1000.0
        wall_recv = time.time() * 1000.0
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = self.path.split("?", 1)[0]
        with STATE.lock:
            STATE.active += 1
            active = STATE.active
            STATE.seq += 1
            seq = STATE.seq
            reply = STATE.pick(self.command, path)
        delay = reply.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000.0)
        action = reply.get("action", "normal")
        status = int(reply.get("status", 200))
        headers = {k: expand(v) for k, v in reply.get("headers", {}).items()}
        if action == "echo":
            payload = json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace")}).encode()
        elif "body_bytes" in reply:
            payload = b"x" * int(reply["body_bytes"])
        else:
            payload = str(reply.get("body", "")).encode()
        with STATE.lock:
            STATE.active -= 1
            STATE.record({
                "seq": seq, "conn": self.conn_id, "t_conn": self.t_conn, "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "t_recv": t_recv,
                "wall_recv": wall_recv, "t_resp": time.monotonic() * 1000.0,
                "active": active, "status": status, "action": action,
                "resp_headers": headers})
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if action == "partial":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            self.close_connection = True
            return
        if action == "garbage":
            self.wfile.write(b"this is not HTTP at all\r\n\r\n")
            self.close_connection = True
            return
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if action == "no_length":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        body_delay = reply.get("body_delay_ms", 0)
        if body_delay:
            half = len(payload) // 2
            self.wfile.write(payload[:half])
            self.wfile.flush()
            time.sleep(body_delay / 1000.0)
            payload = payload[half:]
        self.wfile.write(payload)

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any
    do_DELETE = handle_any
    do_PATCH = handle_any
    do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    tls = None
    accept_delay_s = 0.0

    def finish_request(self, request, client_address):
        # In the connection's own thread: a held connection holds no other.
        if self.accept_delay_s > 0:
            time.sleep(self.accept_delay_s)
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # A client that gives up (timeout, size limit) is part of the tests.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--accept-delay-ms", type=int, default=0)
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    script = {}
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            script = json.load(f)
    STATE = State(script, args.log)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.accept_delay_s = max(0, args.accept_delay_ms) / 1000.0
    if args.tls_cert:
        import ssl
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(args.tls_cert, args.tls_key)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
