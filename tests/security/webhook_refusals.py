#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Refused webhook deliveries change nothing in the database.

Starts threatsyncd with a Jira and a GitLab connector that accept webhooks (no
project is synced, so no other work writes to the database) and sends, on
/hooks/jira/jira and /hooks/gitlab/gl: unsigned deliveries, wrong signatures,
a signature of another body, a wrong GitLab token, a signed body over
http.max_body_bytes (Content-Length and chunked; chunked over twice the bound
is cut off without an answer), and the exact replay of an
accepted delivery. Each must get its status (401, 413, or 204 for the replay,
which the tracker's own retries also are) and leave the database as it was:
PRAGMA data_version of a connection beside the daemon's (it changes whenever
another connection commits), the delivery and history row counts, and the size
and modification time of the database and its WAL. A valid delivery in the
middle proves the probe sees a commit.

usage: webhook_refusals.py --threatsync BIN --threatsyncd BIN --source-dir DIR
"""
import argparse
import os
import select
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ts_harness as th  # noqa: E402

HOOK = "hook-secret-5e1f"
GL_HOOK = "gitlab-hook-77c2"
MAX_BODY = 4096


def chunked_post(port, path, headers, body, chunk=1024):
    """A POST without Content-Length (chunked), one chunk at a time, reading
    any answer before the next chunk (a daemon that answers early and closes
    would otherwise reset the connection under the answer): the status, or 0
    when the connection closed without one."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        head = "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" % path
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode())
        raw = body.encode()
        for part in [raw[i:i + chunk] for i in range(0, len(raw), chunk)] + [b""]:
            s.sendall(b"%x\r\n%s\r\n" % (len(part), part) if part else b"0\r\n\r\n")
            if select.select([s], [], [], 0.3)[0]:
                break
        answer = s.recv(4096)
    except OSError:
        return 0
    finally:
        s.close()
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    a.source_dir = os.path.abspath(a.source_dir)
    work = tempfile.mkdtemp(prefix="ts-sec-hooks-")
    d = None
    try:
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        th.write_secret(creds, "jira_token", "tok-unused")
        th.write_secret(creds, "gitlab_token", "tok-unused")
        th.write_secret(creds, "jira_hook", HOOK)
        th.write_secret(creds, "gitlab_hook", GL_HOOK)
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        port = th.free_port()
        th.write_config(conf, db, os.path.join(a.source_dir, "tests/data/generate/lib"), port,
                        [th.jira_connector("jira", 9), th.gitlab_connector("gl", 9)], [],
                        max_body=MAX_BODY)
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        th.kt.run([a.threatsync, "-c", conf, "db", "migrate"], env=env)
        d = th.Daemon(a.threatsyncd, conf, env, os.path.join(work, "daemon.log"), port)
        d.start()
        probe = th.DbProbe(db)
        time.sleep(1.5)  # the first sync tick (nothing to sync) has run
        before = probe.snapshot()

        body = th.jira_body("WRU-1", "threatsync-0123456789abcdef", "In Progress",
                            "indeterminate")
        good = {"X-Hub-Signature": th.sign(HOOK, body),
                "X-Atlassian-Webhook-Identifier": "delivery-1",
                "Content-Type": "application/json"}
        big = " " * (MAX_BODY + 1)
        cases = [
            ("unsigned", "/hooks/jira/jira", {}, body, 401),
            ("wrong signature", "/hooks/jira/jira",
             {"X-Hub-Signature": th.sign("not-the-secret", body)}, body, 401),
            ("malformed signature", "/hooks/jira/jira",
             {"X-Hub-Signature": "sha256=xyz"}, body, 401),
            ("signature of another body", "/hooks/jira/jira",
             {"X-Hub-Signature": th.sign(HOOK, body + " ")}, body, 401),
            ("wrong URL secret", "/hooks/jira/jira?secret=nope", {}, body, 401),
            ("unsigned GitLab", "/hooks/gitlab/gl", {}, "{}", 401),
            ("wrong GitLab token", "/hooks/gitlab/gl", {"X-Gitlab-Token": "nope"}, "{}", 401),
            ("oversized, signed", "/hooks/jira/jira",
             {"X-Hub-Signature": th.sign(HOOK, big)}, big, 413),
            ("oversized GitLab", "/hooks/gitlab/gl", {"X-Gitlab-Token": GL_HOOK}, big, 413),
        ]
        results = []
        for name, path, headers, b, want in cases:
            st, _ = th.call(port, "POST", path, b, headers)
            results.append((name, st, want))
        st_chunked = chunked_post(port, "/hooks/jira/jira",
                                  {"X-Hub-Signature": th.sign(HOOK, big)}, big)
        results.append(("oversized, chunked", st_chunked, 413))
        # Over twice the bound: cut off without an answer.
        far = " " * (3 * MAX_BODY)
        results.append(("far oversized, chunked",
                        chunked_post(port, "/hooks/jira/jira",
                                     {"X-Hub-Signature": th.sign(HOOK, far)}, far), 0))
        wrong = [f"{n}: {st} (expected {w})" for n, st, w in results if st != w]
        th.check(not wrong, "refusals answered wrongly: " + "; ".join(wrong))
        after = probe.snapshot()
        th.check(after == before, f"a refused delivery changed the database: {before} -> {after}")

        # The probe sees a commit: a valid delivery (no ticket matches it, the
        # delivery is recorded).
        st, _ = th.call(port, "POST", "/hooks/jira/jira", body, good)
        th.check(st == 204, f"valid delivery: {st}")
        accepted = probe.snapshot()
        th.check(accepted["data_version"] != after["data_version"]
                 and accepted["deliveries"] == before["deliveries"] + 1,
                 f"the valid delivery was not seen committed: {after} -> {accepted}")

        # Its exact replay, and the captured signature over another body.
        st, _ = th.call(port, "POST", "/hooks/jira/jira", body, good)
        th.check(st == 204, f"replayed delivery: {st} (expected 204)")
        forged = body.replace("In Progress", "Done")
        st2, _ = th.call(port, "POST", "/hooks/jira/jira", forged, good)
        th.check(st2 == 401, f"replayed signature over another body: {st2} (expected 401)")
        replayed = probe.snapshot()
        th.check(replayed == accepted,
                 f"a replayed delivery changed the database: {accepted} -> {replayed}")
        st, _ = th.call(port, "GET", "/healthz")
        th.check(st == 200, f"/healthz after the refusals: {st}")
        probe.close()
        rc = d.stop()
        th.check(rc == 0, f"threatsyncd exited {rc}")
        print(f"webhook_refusals: OK: {len(results)} refusals (401 x7, 413 x3, 1 cut off), "
              f"1 accepted, "
              f"1 replay (204), 1 forged replay (401); data_version "
              f"{before['data_version']} -> {accepted['data_version']} only for the accepted one")
    except th.Failure as e:
        th.report_failure("webhook_refusals", e, d, 3000)
    finally:
        th.stop_all(d)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
