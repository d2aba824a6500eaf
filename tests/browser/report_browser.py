#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTML report in headless Chromium: the DOM has the data-flow diagram
with every component of the model and the tables, a click on a column
header sorts its table, the page logs nothing to the console (no script
error, no request refused by its Content-Security-Policy), and a full-page
screenshot is a non-empty PNG kept under the build directory.

Two launches of Chromium: --dump-dom of a copy of the page with a small
test script appended (it clicks a header and writes the resulting order
into the DOM), then --screenshot of the page itself. Console messages are
read from Chromium's log on stderr (--enable-logging=stderr), where every
console message and uncaught exception appears as a CONSOLE line; the page
writes none, so any is a failure. --self-check proves that check fails on
a page with a deliberate script error.

usage:
  report_browser.py --doc DOC.json (--render PROGRAM | --html PAGE) --out-dir DIR
  report_browser.py --cli THREATSYNC --out-dir DIR
  report_browser.py --self-check --out-dir DIR
The page is rendered from DOC.json by PROGRAM (tests/report/render_html.c:
the fixture tests/data/report/widgetsrus.report.json fills every section),
or is the one `threatsync report widgetsrus --format html` writes for the
WidgetsRUs example imported and generated in a new database (--cli), or
any page given with --html (DOC.json lists the model's components).
Exit 0: passed, 1: failed, 77: Chromium is not installed (skipped)."""
import argparse
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SKIP = 77
LAUNCH_TIMEOUT = 60

SORT_PROBE = """
<script>
(function(){
  function col(t, i){ return Array.prototype.map.call(t.tBodies[0].rows,
      function(r){ return r.cells[i].textContent.trim(); }); }
  var t = document.getElementById('threats-table');
  var out = {};
  if (t) {
    var ths = t.tHead.rows[0].cells, score = -1;
    for (var i = 0; i < ths.length; i++) if (ths[i].textContent.trim() === 'Score') score = i;
    out.before = col(t, score);
    ths[score].click(); out.asc = col(t, score); out.aria_asc = ths[score].getAttribute('aria-sort');
    ths[score].click(); out.desc = col(t, score); out.aria_desc = ths[score].getAttribute('aria-sort');
    ths[0].click(); out.ids = col(t, 0);
  }
  var pre = document.createElement('pre');
  pre.id = 'sort-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def launch(chromium, args, url, profile):
    """Runs Chromium once; returns (stdout, CONSOLE lines of its log)."""
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
           "--no-first-run", "--disable-extensions", "--disable-background-networking",
           "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile] + args + [url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT,
                          errors="replace")
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    if proc.returncode != 0:
        raise RuntimeError("chromium exited with %d: %s" % (proc.returncode, proc.stderr[-2000:]))
    return proc.stdout, console


class Dom(html.parser.HTMLParser):
    """What the dumped DOM holds: ids of Graphviz nodes, tables and their
    body rows, the diagram <svg>, the probe's result."""

    def __init__(self):
        super().__init__()
        self.node_ids = []
        self.tables = {}
        self.table = None
        self.in_tbody = False
        self.diagram_svgs = 0
        self.in_figure = False
        self.probe = None
        self.in_probe = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "figure" and "diagram" in cls:
            self.in_figure = True
        if tag == "svg" and self.in_figure:
            self.diagram_svgs += 1
        if tag == "g" and "node" in cls:
            self.node_ids.append(a.get("id"))
        if tag == "table" and a.get("id"):
            self.table = a["id"]
            self.tables[self.table] = 0
        if tag == "tbody":
            self.in_tbody = True
        if tag == "tr" and self.table and self.in_tbody:
            self.tables[self.table] += 1
        if tag == "pre" and a.get("id") == "sort-probe":
            self.in_probe = True
            self.probe = ""

    def handle_endtag(self, tag):
        if tag == "figure":
            self.in_figure = False
        if tag == "tbody":
            self.in_tbody = False
        if tag == "table":
            self.table = None
        if tag == "pre":
            self.in_probe = False

    def handle_data(self, data):
        if self.in_probe:
            self.probe += data


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def fail(msg):
    print("FAIL: " + msg)
    return 1


def check_page(chromium, page, doc, out_dir, profile):
    failures = 0
    comps = [c["id"] for c in doc["model"]["components"]]

    # 1: the DOM of a copy with the sort probe
    probe_page = os.path.join(out_dir, "report-probe.html")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", SORT_PROBE + "</body>"))
    dom_text, console = launch(chromium, ["--dump-dom"], "file://" + probe_page, profile)
    for line in console:
        failures += fail("console message on the page: " + line)
    dom = Dom()
    dom.feed(dom_text)
    if dom.diagram_svgs != 1:
        failures += fail("diagram <svg> elements in the DOM: %d, not 1" % dom.diagram_svgs)
    want = sorted("comp-" + re.sub(r"[^A-Za-z0-9_]", lambda m: "-%02X" % ord(m.group()), c)
                  for c in comps)
    if sorted(dom.node_ids) != want:
        failures += fail("components in the diagram: %s, expected %s" % (sorted(dom.node_ids), want))
    expected_tables = {"threats-table": len(doc.get("threats") or []),
                       "countermeasures-table": len(doc.get("countermeasures") or []),
                       "findings-table": len(doc.get("findings") or []),
                       "overrides-table": len(doc.get("overrides") or []),
                       "releases-table": len(doc.get("releases") or [])}
    for tid, rows in expected_tables.items():
        # an empty section has a sentence instead of its table
        if dom.tables.get(tid) != (rows or None):
            failures += fail("table %s: %s rows in the DOM, expected %d" % (tid, dom.tables.get(tid), rows))
    try:
        probe = json.loads(dom.probe or "")
    except ValueError:
        probe = {}
        failures += fail("the sort probe wrote nothing (the page's script did not run?)")
    if probe:
        scores = [float(v) for v in probe["before"]]
        asc = [float(v) for v in probe["asc"]]
        desc = [float(v) for v in probe["desc"]]
        if asc != sorted(scores) or probe["aria_asc"] != "ascending":
            failures += fail("a click on Score did not sort ascending: %s" % asc)
        if desc != sorted(scores, reverse=True) or probe["aria_desc"] != "descending":
            failures += fail("a second click on Score did not sort descending: %s" % desc)
        if probe["ids"] != sorted(probe["ids"], key=str.lower):
            failures += fail("a click on ID did not sort the ids: %s" % probe["ids"][:5])
        if asc == desc:
            failures += fail("the scores are all equal: the sort check proves nothing")

    # 2: the screenshot of the page itself
    shot = os.path.join(out_dir, "report.png")
    if os.path.exists(shot):
        os.unlink(shot)
    _, console = launch(chromium, ["--screenshot=" + shot, "--window-size=1400,3000",
                                   "--hide-scrollbars"], "file://" + os.path.abspath(page), profile)
    for line in console:
        failures += fail("console message on the page: " + line)
    size = png_size(shot) if os.path.exists(shot) else None
    if size != (1400, 3000) or os.path.getsize(shot) < 20000:
        failures += fail("screenshot %s: %s" % (shot, size))
    print("screenshot: " + shot)
    return failures


def cli_page(threatsync, source_dir, out_dir):
    """The WidgetsRUs example through the CLI: imported, generated, then
    `threatsync report widgetsrus --format json` and `--format html` into
    out_dir. Returns the paths of the document and of the page."""
    work = os.path.join(out_dir, "cli")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    conf = os.path.join(work, "threatsync.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write('database = "%s/threatsync.db";\nlibrary_paths = [ "%s/library" ];\n'
                % (work, source_dir))
    env = dict(os.environ, THREATSYNC_NOW="2026-01-15T10:00:00.000Z")
    doc = os.path.join(work, "widgetsrus.report.json")
    page = os.path.join(work, "widgetsrus.report.html")
    for args in (["db", "migrate"], ["project", "add", "widgetsrus", "--name", "WidgetsRUs"],
                 ["model", "import", "widgetsrus",
                  os.path.join(source_dir, "examples/widgetsrus/model.json")],
                 ["generate", "widgetsrus"],
                 ["report", "widgetsrus", "--format", "json", "--out", doc],
                 ["report", "widgetsrus", "--format", "html", "--out", page]):
        subprocess.run([threatsync, "-c", conf] + args, check=True, env=env, timeout=120,
                       stdout=subprocess.DEVNULL)
    return doc, page


def self_check(chromium, out_dir, profile):
    """The console check must fail on a page with a script error."""
    page = os.path.join(out_dir, "script-error.html")
    with open(page, "w", encoding="utf-8") as f:
        f.write("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>script error</title></head><body><p>text</p>"
                "<script>notDefinedAnywhere();</script></body></html>")
    _, console = launch(chromium, ["--dump-dom"], "file://" + page, profile)
    if not any("notDefinedAnywhere is not defined" in line for line in console):
        return fail("the script error was not seen: %s" % console)
    print("self-check: the script error was seen: " + console[0])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc")
    ap.add_argument("--render")
    ap.add_argument("--html")
    ap.add_argument("--cli", help="the threatsync binary: the page of the WidgetsRUs "
                    "example as `threatsync report --format html` writes it")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--self-check", action="store_true")
    args = ap.parse_args()
    chromium = find_chromium()
    if not chromium:
        print("SKIP: chromium is not installed (scripts/setup.sh --tests installs it)")
        return SKIP
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ts-chromium-") as profile:
        if args.self_check:
            return self_check(chromium, args.out_dir, profile)
        if args.cli:
            source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            args.doc, args.html = cli_page(args.cli, source, args.out_dir)
        if not args.doc or bool(args.render) == bool(args.html):
            ap.error("--cli, or --doc and one of --render, --html are required")
        with open(args.doc, encoding="utf-8") as f:
            doc = json.load(f)
        page = args.html
        if args.render:
            page = os.path.join(args.out_dir, "report.html")
            subprocess.run([args.render, args.doc, page], check=True, timeout=60)
        failures = check_page(chromium, page, doc, args.out_dir, profile)
    if failures:
        print("%d failure(s)" % failures)
        return 1
    print("ok: %d components in the diagram, tables, sorting, no console message" %
          len(doc["model"]["components"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
