#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A forward HTTP proxy on 127.0.0.1 for the proxy tests (python3 stdlib only).

Plain HTTP requests in absolute form (`POST http://host:port/path HTTP/1.1`) are
forwarded to their origin and the answer relayed; `CONNECT host:port` opens a
tunnel (HTTPS through the proxy). Only 127.0.0.1 and localhost origins are
served (anything else: 403), so a test can never reach the network through it.
Every request is appended to --log as one line "METHOD TARGET STATUS"; with
--auth USER:PASSWORD, requests without that Proxy-Authorization get 407.

  proxy.py --port 0 --port-file FILE --log FILE [--auth USER:PASSWORD]
"""
import argparse
import base64
import http.client
import http.server
import os
import select
import signal
import socket
import sys
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "proxy-connection"}
LOCAL = {"127.0.0.1", "localhost"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        with self.server.log_lock, open(self.server.log_path, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))

    def refuse(self, status, msg):
        # Logged before the answer: a client that reads the log right after
        # the answer finds the line.
        self.record(status)
        body = msg.encode()
        self.send_response(status)
        if status == 407:
            self.send_header("Proxy-Authenticate", 'Basic realm="test proxy"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self):
        want = self.server.auth
        if not want:
            return True
        got = self.headers.get("Proxy-Authorization", "")
        return got == "Basic " + base64.b64encode(want.encode()).decode()

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        if not self.authorised():
            return self.refuse(407, "proxy authentication required")
        if host not in LOCAL or not port.isdigit():
            return self.refuse(403, "only local origins")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            return self.refuse(502, "cannot reach the origin")
        self.record(200)
        self.send_response(200, "Connection established")
        self.end_headers()
        a, b = self.connection, upstream
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 30)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            self.close_connection = True

    def forward(self):
        url = urllib.parse.urlsplit(self.path)
        if not self.authorised():
            return self.refuse(407, "proxy authentication required")
        if url.scheme != "http" or url.hostname not in LOCAL:
            return self.refuse(403, "only local http origins in absolute form")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        try:
            conn.request(self.command, url.path + ("?" + url.query if url.query else ""), body,
                         headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            return self.refuse(502, "the origin did not answer")
        finally:
            conn.close()
        self.record(resp.status)
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--auth", default=None, help="USER:PASSWORD required from clients")
    args = p.parse_args(argv)
    srv = Server(("127.0.0.1", args.port), Proxy)
    srv.log_path = args.log
    srv.log_lock = threading.Lock()
    srv.auth = args.auth
    open(args.log, "a").close()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
