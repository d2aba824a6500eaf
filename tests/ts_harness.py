# SPDX-License-Identifier: Apache-2.0
"""What the security, storage and soak tests share to drive threatsyncd: a
configuration with the HTTP endpoint on, the daemon process, plain HTTP calls
(from a chosen source address), signed Jira and GitLab deliveries and a look at
the database from beside the daemon. The emulators and the CLI are driven with
kill_test.py's helpers."""
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kill_test as kt  # noqa: E402,F401  (start_emulator, run, emu_get, model, marker)


class Failure(Exception):
    """A test's assertion that did not hold."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_secret(creds, name, value):
    path = os.path.join(creds, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def jira_connector(name, port, flavor="cloud", hook=True, extra=""):
    """A Jira connector block for the emulator on port (token file jira_token,
    webhook secret file jira_hook when hook)."""
    h = ' webhook_secret_file = "jira_hook";' if hook else ""
    return (f'{{ name = "{name}"; type = "jira"; flavor = "{flavor}";'
            f' base_url = "http://127.0.0.1:{port}"; email = "threatsync@example.com";'
            f' token_file = "jira_token";{h} rate_per_second = 1000.0; burst = 1000;'
            f' max_attempts = 100; poll_interval_s = 5; request_timeout_ms = 10000; {extra} }}')


def gitlab_connector(name, port, hook=True, extra=""):
    h = ' webhook_secret_file = "gitlab_hook";' if hook else ""
    return (f'{{ name = "{name}"; type = "gitlab"; base_url = "http://127.0.0.1:{port}";'
            f' token_file = "gitlab_token";{h} rate_per_second = 1000.0; burst = 1000;'
            f' max_attempts = 100; poll_interval_s = 5; request_timeout_ms = 10000; {extra} }}')


def write_config(conf, db, lib, http_port, connectors, projects, max_body=65536,
                 log_level="info", api_tokens=False):
    """projects: (slug, connector, tracker project) tuples."""
    rows = ",\n".join(f'  {{ slug = "{s}"; connector = "{c}"; tracker_project = "{t}"; }}'
                      for s, c, t in projects)
    tokens = ' api_tokens_file = "api_tokens";' if api_tokens else ""
    with open(conf, "w") as f:
        f.write(f"""database = "{db}";
library_paths = [ "{lib}" ];
log_level = "{log_level}";
shutdown_timeout_ms = 2000;
http = {{ listen = "127.0.0.1:{http_port}"; max_body_bytes = {max_body};{tokens} }};
connectors = (
  {(',' + chr(10) + '  ').join(connectors)}
);
projects = (
{rows}
);
classification = ( {{ name = "all"; when = "true"; class = "critical"; }} );
""")


class Daemon:
    """One threatsyncd process; its stderr appended to log_path."""

    def __init__(self, binary, conf, env, log_path, port):
        self.binary, self.conf, self.env = binary, conf, env
        self.log_path, self.port = log_path, port
        self.proc = None

    def start(self, wait=True, pipe=False):
        """pipe: the log through a pipe copied by a thread (not a regular file,
        so a file size limit on the daemon does not reach its log)."""
        log = open(self.log_path, "a")
        # TS_DAEMON_WRAP: a command prefix, e.g. "valgrind --error-exitcode=99".
        wrap = os.environ.get("TS_DAEMON_WRAP", "").split()
        self.proc = subprocess.Popen(wrap + [self.binary, "-c", self.conf],
                                     stderr=subprocess.PIPE if pipe else log,
                                     stdout=log, env=self.env)
        if pipe:
            def copy(src, dst):
                for line in iter(src.readline, b""):
                    dst.write(line.decode(errors="replace"))
                    dst.flush()
                dst.close()
            threading.Thread(target=copy, args=(self.proc.stderr, log), daemon=True).start()
        else:
            log.close()
        if wait:
            self.wait_healthy()
        return self.proc

    def wait_healthy(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"threatsyncd exited {self.proc.returncode} at start-up")
            try:
                st, _ = call(self.port, "GET", "/healthz", timeout=2)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise Failure("threatsyncd did not answer /healthz within %d s" % timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        """SIGTERM; the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"threatsyncd did not stop within {timeout} s of SIGTERM")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def call(port, method, path, body=None, headers=None, timeout=10, source=None):
    """One HTTP request on a new connection: (status, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        data = body.encode() if isinstance(body, str) else body
        c.request(method, path, body=data, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def sign(secret, body):
    """Jira's X-Hub-Signature of body."""
    raw = body.encode() if isinstance(body, str) else body
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def jira_body(key, marker, status, category, actor="bob@example.com", updated=None):
    """A jira:issue_updated delivery as Jira Cloud sends it."""
    if updated is None:
        t = time.time()
        updated = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
            ".%03d+0000" % int((t % 1) * 1000)
    return json.dumps({
        "webhookEvent": "jira:issue_updated",
        "user": {"emailAddress": actor, "name": "human"},
        "issue": {"id": "1", "key": key, "fields": {
            "labels": ["threatsync", marker],
            "status": {"name": status, "statusCategory": {"key": category}},
            "resolution": None, "updated": updated}}}, separators=(",", ":"))


class DbProbe:
    """A read-only connection beside the daemon's: what it can see change."""

    def __init__(self, db):
        self.db = db
        self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)

    def data_version(self):
        # Changes when another connection commits a change to the file.
        return self.con.execute("PRAGMA data_version").fetchone()[0]

    def count(self, table):
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def files(self):
        out = {}
        for suffix in ("", "-wal"):
            try:
                st = os.stat(self.db + suffix)
                out[suffix or "db"] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                out[suffix or "db"] = None
        return out

    def snapshot(self):
        return {"data_version": self.data_version(), "files": self.files(),
                "deliveries": self.count("webhook_deliveries"),
                "history": self.count("status_history")}

    def close(self):
        self.con.close()


def report_failure(tag, e, daemon, tail=4000):
    """Prints a test's failure with the end of the daemon's log and exits 1."""
    print(f"{tag}: FAIL: {e}", file=sys.stderr)
    if daemon:
        sys.stderr.write(daemon.log()[-tail:])
    sys.exit(1)


def stop_all(daemon, procs=()):
    """Kills the daemon (when it was started) and ends the emulators."""
    if daemon:
        daemon.kill()
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
