#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Secrets appear in no log line, database row, metric or error message.

Runs threatsyncd and the CLI with known tracker tokens, webhook secrets and an
API token against the Jira Cloud and GitLab emulators through: pushes of two
projects, status changes by people picked up by polls and by signed webhooks
(the emulators deliver them), forged webhooks (wrong signature, wrong token),
scan uploads (right and wrong bearer token), tracker answers 500 for a while,
a SIGHUP with an invalid file, a tracker answering 401 (the token file
replaced by a wrong token and reloaded), /metrics, /healthz, `status --json`
and `sync --once` refused by the tracker. Then searches the daemon's log, every
output and error message of the CLI, every HTTP answer, every metric line and
every row of every table (and the spool) for each secret as written, in
base64, in hexadecimal and as Jira's Basic credentials. A planted text (the
credential files, a Basic header, a secret in hexadecimal) proves the search
finds each form.

usage: secrets_nowhere.py --threatsync BIN --threatsyncd BIN --source-dir DIR
"""
import argparse
import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ts_harness as th  # noqa: E402
import verify_kill_test as vkt  # noqa: E402  (its SARIF log)

EMAIL = "threatsync@example.com"
SECRETS = {
    "jira token": "jt-Q7f3c91ab2e",
    "gitlab token": "glpat-Zx81k2mm0q",
    "jira webhook secret": "jh-4be0c3d9f1",
    "gitlab webhook secret": "gh-a93kd81ls0",
    "api token": "api-7d2c0e5b9f",
    "wrong jira token": "jt-WRONG-55e1a0",
}


def forms(value):
    """The forms in which a secret could leak."""
    raw = value.encode()
    out = {"plain": value, "base64": base64.b64encode(raw).decode().rstrip("="),
           "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
           "hex": raw.hex(), "HEX": raw.hex().upper(),
           "basic": base64.b64encode(f"{EMAIL}:{value}".encode()).decode().rstrip("=")}
    return out


def leaks(text):
    """(secret, form) pairs found in text."""
    found = []
    for name, value in SECRETS.items():
        for form, v in forms(value).items():
            if v in text:
                found.append(f"{name} ({form})")
    return found


def emu_post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def dump_db(db):
    """Every row of every table, as text."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        lines = list(con.iterdump())
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")]
        rows = sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    finally:
        con.close()
    return "\n".join(lines), len(tables), rows


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise th.Failure(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threatsync", required=True)
    ap.add_argument("--threatsyncd", required=True)
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    a.source_dir = os.path.abspath(a.source_dir)
    src = a.source_dir
    work = tempfile.mkdtemp(prefix="ts-sec-secrets-")
    procs, d = [], None
    texts = {}  # where -> text searched
    try:
        jira, jport = th.kt.start_emulator(os.path.join(src, "tests/emulators/jira_emulator.py"),
                                           work, "jira", ["--token", SECRETS["jira token"]])
        procs.append(jira)
        gitlab, gport = th.kt.start_emulator(
            os.path.join(src, "tests/emulators/gitlab_emulator.py"), work, "gitlab",
            ["--token", SECRETS["gitlab token"]])
        procs.append(gitlab)
        creds = os.path.join(work, "credentials")
        os.mkdir(creds)
        th.write_secret(creds, "jira_token", SECRETS["jira token"])
        th.write_secret(creds, "gitlab_token", SECRETS["gitlab token"])
        th.write_secret(creds, "jira_hook", SECRETS["jira webhook secret"])
        th.write_secret(creds, "gitlab_hook", SECRETS["gitlab webhook secret"])
        th.write_secret(creds, "api_tokens", SECRETS["api token"])
        db = os.path.join(work, "threatsync.db")
        conf = os.path.join(work, "threatsync.conf")
        port = th.free_port()
        th.write_config(conf, db, os.path.join(src, "tests/data/generate/lib"), port,
                        [th.jira_connector("jira", jport), th.gitlab_connector("gitlab", gport)],
                        [("sec-jira", "jira", "WRU"), ("sec-gitlab", "gitlab", "security/widgets")],
                        log_level="debug", api_tokens=True)
        with open(conf, "a") as f:
            f.write(f'spool_dir = "{work}/spool";\n')
        os.mkdir(os.path.join(work, "spool"))
        good_conf = open(conf).read()
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.pop("NOTIFY_SOCKET", None)
        cli_out = []

        def cli(*args, ok=True, cenv=None):
            r = subprocess.run([a.threatsync, "-c", conf] + list(args), capture_output=True,
                               text=True, timeout=120, env=cenv or env)
            cli_out.append(f"$ {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}")
            if ok and r.returncode != 0:
                raise th.Failure(f"threatsync {' '.join(args)} exited {r.returncode}: {r.stderr}")
            return r

        cli("db", "migrate")
        for slug, prefix, n in (("sec-jira", "web", 3), ("sec-gitlab", "app", 2)):
            path = os.path.join(work, f"{slug}.json")
            m = vkt.model(prefix, n)
            with open(path, "w") as f:
                json.dump(m, f)
            cli("project", "add", slug)
            cli("model", "import", slug, path)
            cli("generate", slug)
        # The emulators deliver every change to the daemon, signed.
        base = f"http://127.0.0.1:{port}"
        emu_post(jport, "/_emu/webhooks", {"url": f"{base}/hooks/jira/jira",
                                           "secret": SECRETS["jira webhook secret"],
                                           "sign": True, "duplicate_rate": 0.5})
        emu_post(gport, "/_emu/webhooks", {"url": f"{base}/hooks/gitlab/gitlab",
                                           "secret": SECRETS["gitlab webhook secret"],
                                           "sign": True})

        d = th.Daemon(a.threatsyncd, conf, env, os.path.join(work, "daemon.log"), port)
        d.start()
        wait_for("the push", lambda: th.kt.outstanding(db) == 0
                 and len(th.kt.emu_issues(jport)) == 12 and len(th.kt.emu_issues(gport)) == 8,
                 60)
        # People move tickets: webhooks and polls bring the changes back.
        jkeys = sorted(i["key"] for i in th.kt.emu_issues(jport))
        for k in jkeys[:3]:
            emu_post(jport, f"/_emu/issues/{k}/transition", {"to": "In Progress"})
        gl = th.kt.emu_issues(gport)
        for i in gl[:2]:
            emu_post(gport, f"/_emu/issues/{i['project_id']}/{i['iid']}/transition",
                     {"to": "closed"})

        def history(source):
            con = sqlite3.connect(db, timeout=10)
            try:
                return con.execute("SELECT count(*) FROM status_history WHERE source = ?",
                                   (source,)).fetchone()[0]
            finally:
                con.close()
        wait_for("webhook status changes", lambda: history("webhook") >= 3, 30)

        answers = []
        # Forged deliveries.
        body = th.jira_body(jkeys[0], "threatsync-0123456789abcdef", "Done", "done")
        for hdrs in ({"X-Hub-Signature": th.sign("guess", body)}, {}):
            answers.append(th.call(port, "POST", "/hooks/jira/jira", body, hdrs))
        answers.append(th.call(port, "POST", "/hooks/jira/jira?secret=guess", body, {}))
        answers.append(th.call(port, "POST", "/hooks/gitlab/gitlab", "{}",
                               {"X-Gitlab-Token": "guess"}))
        # Scan uploads: right and wrong bearer tokens.
        sarif = json.dumps(vkt.sarif(["web0", "web1"]))
        auth = {"Authorization": "Bearer " + SECRETS["api token"]}
        st, ans = th.call(port, "POST", "/api/v1/projects/sec-jira/scans?name=codeql.sarif",
                          sarif, auth)
        answers.append((st, ans))
        th.check(st == 202, f"scan upload: {st} {ans}")
        answers.append(th.call(port, "POST", "/api/v1/projects/sec-jira/scans", sarif,
                               {"Authorization": "Bearer " + SECRETS["api token"] + "x"}))
        answers.append(th.call(port, "GET", "/api/v1/scans/1", None, auth))
        for st, _ in answers[:4] + answers[5:6]:
            th.check(st == 401, f"a forged request was answered {st}")
        # The trackers fail for a while: every request 500.
        for p in (jport, gport):
            emu_post(p, "/_emu/faults", {"rate": 1.0, "kinds": ["500"]})
        emu_post(jport, f"/_emu/issues/{jkeys[3]}/transition", {"to": "Done"})
        time.sleep(7)  # a poll interval: the polls fail
        for p in (jport, gport):
            emu_post(p, "/_emu/faults", {"rate": 0.0, "kinds": []})
        # A reload with an invalid file, then the good one back.
        with open(conf, "w") as f:
            f.write(good_conf + "\nthis is = = not a configuration\n")
        d.signal(signal.SIGHUP)
        wait_for("the failed reload", lambda: "reload failed" in d.log(), 10)
        with open(conf, "w") as f:
            f.write(good_conf)
        answers.append(th.call(port, "GET", "/metrics"))
        answers.append(th.call(port, "GET", "/healthz"))
        texts["GET /metrics"] = answers[-2][1]
        cli("status", "--json")
        cli("status", "sec-jira", "--json")
        # The tracker refuses the token: the connector pauses.
        th.write_secret(creds, "jira_token", SECRETS["wrong jira token"])
        d.signal(signal.SIGHUP)
        emu_post(jport, f"/_emu/issues/{jkeys[4]}/transition", {"to": "Done"})
        wait_for("the pause", lambda: th.call(port, "GET", "/healthz")[1].find("paused") >= 0,
                 30)
        answers.append(th.call(port, "GET", "/healthz"))
        answers.append(th.call(port, "GET", "/metrics"))
        rc = d.stop()
        th.check(rc == 0, f"threatsyncd exited {rc}")
        cli("status", "--json")
        r = cli("sync", "--once", ok=False)
        th.check(r.returncode != 0, "sync --once with a refused token succeeded")

        texts["daemon log"] = d.log()
        texts["CLI output"] = "\n".join(cli_out)
        texts["HTTP answers"] = "\n".join(f"{st} {b}" for st, b in answers)
        dump, n_tables, n_rows = dump_db(db)
        texts["database rows"] = dump
        spool = []
        for root, _, files in os.walk(os.path.join(work, "spool")):
            for fn in files:
                with open(os.path.join(root, fn), errors="replace") as f:
                    spool.append(f.read())
        texts["spool"] = "\n".join(spool)
        found = {where: leaks(t) for where, t in texts.items()}
        found = {k: v for k, v in found.items() if v}
        th.check(not found, f"secrets found: {found}")
        # The search finds what it looks for: the credential files, Jira's
        # Basic header of the token and a secret in hexadecimal.
        control = ""
        for fn in sorted(os.listdir(creds)):
            with open(os.path.join(creds, fn)) as f:
                control += f.read()
        control += "Authorization: Basic " + forms(SECRETS["wrong jira token"])["basic"] + "\n"
        control += forms(SECRETS["api token"])["hex"] + "\n"
        seen = leaks(control)
        want = [f"{n} (plain)" for n in SECRETS if n != "jira token"] + \
            ["wrong jira token (basic)", "api token (hex)"]
        th.check(sorted(seen) == sorted(want),
                 f"the search of a planted text found {sorted(seen)}, expected {sorted(want)}")
        log_lines = texts["daemon log"].count("\n")
        metric_lines = texts["GET /metrics"].count("\n")
        print(f"secrets_nowhere: OK: {len(SECRETS)} secrets x {len(forms('x'))} forms absent "
              f"from {log_lines} log lines, {len(cli_out)} CLI runs, {len(answers)} HTTP "
              f"answers, {metric_lines} metric lines, {n_rows} rows in {n_tables} tables; "
              f"webhook changes {history('webhook')}, poll changes {history('poll')}; "
              f"the planted control text: {len(seen)} found")
    except th.Failure as e:
        th.report_failure("secrets_nowhere", e, d, 4000)
    finally:
        th.stop_all(d, procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
