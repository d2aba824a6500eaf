#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""examples/ci/threatsync-ci.sh run locally against a temporary database: a
passing change (a SARIF report of tests/data/findings, the stored model) and a
failing one (a model edit of tests/data/models that brings a threat without a
task), their exit codes, job logs and Markdown comments; the comment posted to
a local stand-in of the GitLab notes API and of GitHub's REST API; threatsync's
own exit codes passed through.

usage: ci_example_test.py THREATSYNC SOURCE_DIR
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

NOW = "2026-01-10"
CI_VARS = ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "THREATSYNC_GITLAB_TOKEN",
           "GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL",
           "THREATSYNC_CI_OUT")


def fail(msg):
    sys.exit("ci example: " + msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


class Recorder(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Recorder.requests.append({"path": self.path, "headers": dict(self.headers),
                                  "body": body.decode()})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": 1}')

    def log_message(self, *args):
        pass


class Env:
    def __init__(self, threatsync, src, tmp):
        self.threatsync, self.src, self.tmp = threatsync, src, tmp
        self.conf = os.path.join(tmp, "threatsync.conf")
        with open(self.conf, "w") as f:
            f.write('database = "%s/ci.db";\nlibrary_paths = [ "%s/library" ];\n'
                    'projects = ( { slug = "shop"; } );\n'
                    'classification = ( { name = "all"; when = "true"; class = "high"; } );\n'
                    % (tmp, src))
        self.env = {k: v for k, v in os.environ.items() if k not in CI_VARS}
        self.env.update(THREATSYNC=threatsync, THREATSYNC_CONFIG=self.conf, THREATSYNC_NOW=NOW,
                        TMPDIR=tmp)

    def ts(self, *args):
        p = subprocess.run([self.threatsync] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=120, check=False)
        expect(p.returncode == 0, "threatsync %s: exit %d: %s" % (args, p.returncode, p.stderr))

    def ci(self, *args, extra=None):
        env = dict(self.env, **(extra or {}))
        p = subprocess.run(["sh", os.path.join(self.src, "examples", "ci", "threatsync-ci.sh")]
                           + list(args), env=env, capture_output=True, text=True, timeout=300,
                           cwd=self.tmp, check=False)
        md_path = os.path.join(self.tmp, "threatsync-gate.md")
        md = None
        if os.path.exists(md_path):
            with open(md_path) as f:
                md = f.read()
            os.unlink(md_path)
        return p.returncode, p.stdout, p.stderr, md


def data(src, *parts):
    return os.path.join(src, "tests", "data", *parts)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    threatsync, src = argv[1], argv[2]
    tmp = tempfile.mkdtemp(prefix="ci-example.")
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % server.server_port
    try:
        e = Env(threatsync, src, tmp)
        e.ts("project", "add", "shop")
        e.ts("model", "import", "shop", data(src, "models", "valid_min.json"))
        e.ts("generate", "shop")
        sarif = data(src, "findings", "sarif", "cppcheck-2.17.1.sarif")
        same = data(src, "models", "valid_min.json")
        edit = data(src, "models", "payment_defaults.json")

        # Passing: the report ingested, the model unchanged.
        rc, out, err, md = e.ci("shop", sarif, same)
        expect(rc == 0, "passing case: exit %d\n%s%s" % (rc, out, err))
        want_scan = ("scan 1 by Cppcheck 2.17.1: 7 results, 7 new, 0 fixed, 0 correlated with"
                     " threats, 7 unmapped")
        for line in (want_scan, "model delta against version 1:", "  threats appearing: 0",
                     "shop: gate passed",
                     "threatsync-ci: no merge request token in the environment; comment not posted"):
            expect(line in out.split("\n"), "passing log lacks %r:\n%s" % (line, out))
        expect(md.startswith("### threatsync gate: passed :white_check_mark:\n"), md)
        for line in ("- " + want_scan, "#### Model delta against version 1",
                     "| new threats without a task | 0 |  |"):
            expect(line in md.split("\n"), "passing comment lacks %r:\n%s" % (line, md))
        expect("#### Reasons" not in md, "passing comment has reasons:\n" + md)

        # Failing: the edit brings a threat no in-scope task covers. The same
        # report again: a rescan, nothing new.
        rc, out, err, md = e.ci("shop", sarif, edit)
        untasked = ['T-IDN-SESSION-FIXATION@shop', 'T-SPA-POSTMESSAGE@shop', 'T-WEB-CACHE-SENSITIVE@shop', 'T-WEB-HOST-HEADER@shop']
        expect(rc == 1, "failing case: exit %d\n%s%s" % (rc, out, err))
        for line in (sarif + ": already ingested, nothing changed",
                     "  components added: 3 (buyer, checkout, shop)",
                     "  new threats without a task: 4 (%s)" % ", ".join(untasked),
                     "shop: gate failed (4 reasons)") + tuple(
                         "  new threat without a task: " + u for u in untasked):
            expect(line in out.split("\n"), "failing log lacks %r:\n%s" % (line, out))
        lines = md.split("\n")
        expect(lines[0] == "### threatsync gate: **failed** :x:", md)
        for line in ("| components added | 3 | `buyer`, `checkout`, `shop` |",
                     "| new threats without a task | 4 | %s |"
                     % ", ".join("`%s`" % u for u in untasked)) + tuple(
                         "- `new_untasked` new threat without a task: " + u for u in untasked):
            expect(line in lines, "failing comment lacks %r:\n%s" % (line, md))
        appear = [x for x in lines if x.startswith("| threats appearing | 48 | ")]
        expect(len(appear) == 1 and appear[0].endswith(" and 28 more |"),
               "threats appearing, 20 shown of 48: %r" % appear)

        # The comment on a GitLab merge request through the notes API.
        rc, out, err, md = e.ci("shop", "", edit, extra={
            "CI_API_V4_URL": base + "/api/v4", "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": "7", "THREATSYNC_GITLAB_TOKEN": "glpat-test"})
        expect(rc == 1, "gitlab: exit %d\n%s%s" % (rc, out, err))
        expect("threatsync-ci: comment posted to merge request !7" in out, out + err)
        expect(len(Recorder.requests) == 1, "gitlab: %d requests" % len(Recorder.requests))
        r = Recorder.requests.pop()
        expect(r["path"] == "/api/v4/projects/42/merge_requests/7/notes", r["path"])
        expect(r["headers"].get("PRIVATE-TOKEN") == "glpat-test", r["headers"])
        body = urllib.parse.parse_qs(r["body"])
        expect(body == {"body": [md]}, "gitlab note body: %r" % body)
        expect("#### Reasons" in md and "scan " not in md, md)

        # On a GitHub pull request through the REST API (gh, when installed,
        # would be used instead).
        if shutil.which("gh", path=e.env.get("PATH")) is None:
            event = os.path.join(tmp, "event.json")
            with open(event, "w") as f:
                json.dump({"pull_request": {"number": 12}}, f)
            rc, out, err, md = e.ci("shop", "", same, extra={
                "GITHUB_TOKEN": "ghs-test", "GITHUB_REPOSITORY": "org/shop",
                "GITHUB_EVENT_PATH": event, "GITHUB_API_URL": base})
            expect(rc == 0, "github: exit %d\n%s%s" % (rc, out, err))
            expect(len(Recorder.requests) == 1, "github: %d requests" % len(Recorder.requests))
            r = Recorder.requests.pop()
            expect(r["path"] == "/repos/org/shop/issues/12/comments", r["path"])
            expect(r["headers"].get("Authorization") == "Bearer ghs-test", r["headers"])
            expect(json.loads(r["body"]) == {"body": md}, "github comment body")

        # A refused post is reported; the gate's code stands.
        rc, out, err, md = e.ci("shop", "", edit, extra={
            "CI_API_V4_URL": "http://127.0.0.1:1/api/v4", "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": "7", "THREATSYNC_GITLAB_TOKEN": "glpat-test"})
        expect(rc == 1 and "the comment could not be posted" in err, "%d %s" % (rc, err))

        # threatsync's own codes: usage, a bad model file, a missing report.
        rc, _, _, _ = e.ci()
        expect(rc == 64, "no arguments: exit %d" % rc)
        rc, _, err, md = e.ci("shop", "", data(src, "models", "bad_syntax.json"))
        expect(rc == 65 and md is None, "bad model: exit %d, comment %r" % (rc, md))
        rc, _, err, md = e.ci("shop", os.path.join(tmp, "missing.sarif"), same)
        expect(rc == 66 and md is None, "missing report: exit %d, comment %r" % (rc, md))
        expect(not Recorder.requests, "unexpected requests")
        print("ci example: passing and failing gates, comments and exit codes as expected")
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
