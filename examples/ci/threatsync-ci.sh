#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The threatsync step of a merge request's pipeline (GitLab CI or GitHub
# Actions): ingests the scanner's SARIF report, runs the gate with the
# repository's model file, prints the model delta and the reasons in the job
# log, writes them as Markdown for a merge/pull request comment, posts that
# comment when the job has what it needs, and exits with the gate's code
# (0 passed, 1 failed, other: threatsync's sysexits code).
#
# usage: threatsync-ci.sh SLUG [SARIF] [MODEL]
#   SLUG   the threatsync project
#   SARIF  scanner report to ingest first (skipped when empty or absent)
#   MODEL  the model file of the repository (default threatmodel.json; the
#          gate runs without --model when the file does not exist)
#
# environment:
#   THREATSYNC          the threatsync program (default: threatsync on PATH)
#   THREATSYNC_CONFIG   its configuration, as threatsync reads it
#   THREATSYNC_CI_OUT   the Markdown file written (default threatsync-gate.md)
#   GitLab (merge request pipelines): CI_API_V4_URL, CI_PROJECT_ID and
#     CI_MERGE_REQUEST_IID are set by GitLab; THREATSYNC_GITLAB_TOKEN, a
#     masked CI/CD variable holding a project access token with the api
#     scope, lets the script post the comment through the notes API.
#   GitHub (pull_request events): GITHUB_TOKEN (pass secrets.GITHUB_TOKEN
#     with pull-requests: write), GITHUB_REPOSITORY and GITHUB_EVENT_PATH;
#     the comment goes through `gh pr comment` when gh is installed, else
#     the REST API (GITHUB_API_URL, default https://api.github.com).
#   Without those variables the comment is written but not posted.
#
# Needs python3 (to read threatsync's JSON) and, for posting, curl or gh.
set -u

slug=${1:-}
sarif=${2:-}
model=${3:-threatmodel.json}
if [ -z "$slug" ] || [ $# -gt 3 ]; then
	echo "usage: $0 SLUG [SARIF] [MODEL]" >&2
	exit 64
fi
ts=${THREATSYNC:-threatsync}
out=${THREATSYNC_CI_OUT:-threatsync-gate.md}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/threatsync-ci.XXXXXX") || exit 70
trap 'rm -rf "$tmp"' EXIT

# 1. The scanner's report: findings, correlation, verification of tasks.
: >"$tmp/ingest.json"
if [ -n "$sarif" ]; then
	"$ts" ingest "$slug" "$sarif" --format sarif --json >"$tmp/ingest.json"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "threatsync-ci: ingesting $sarif failed (exit $rc)" >&2
		exit $rc
	fi
fi

# 2. The gate, with the model of this change when the repository has one.
if [ -f "$model" ]; then
	"$ts" check "$slug" --model "$model" --json >"$tmp/check.json"
else
	echo "threatsync-ci: no model file $model; checking the stored model only"
	model=""
	"$ts" check "$slug" --json >"$tmp/check.json"
fi
gate=$?
if [ $gate -ne 0 ] && [ $gate -ne 1 ]; then
	echo "threatsync-ci: threatsync check exited $gate" >&2
	exit $gate
fi

# 3. The job log and the Markdown comment, both from the JSON documents.
if ! python3 - "$tmp/check.json" "$tmp/ingest.json" "$out" "$slug" "$model" <<'PY'
import json
import sys

check_path, ingest_path, out_path, slug, model = sys.argv[1:6]
with open(check_path) as f:
    check = json.load(f)
ingest = None
with open(ingest_path) as f:
    text = f.read().strip()
    if text:
        ingest = json.loads(text)

LIMIT = 20
passed = check.get("passed") is True
reasons = check.get("reasons", [])
delta = check.get("delta")


def ids(lst):
    shown = ", ".join("`%s`" % x for x in lst[:LIMIT])
    return shown + (" and %d more" % (len(lst) - LIMIT) if len(lst) > LIMIT else "")


log = []
md = ["### threatsync gate: %s %s" % ("passed" if passed else "**failed**",
                                      ":white_check_mark:" if passed else ":x:"), ""]
md.append("Project `%s`%s." % (slug, ", model `%s`" % model if model else ""))
md.append("")
if ingest:
    for report in ingest.get("reports", []):
        if report.get("unchanged"):
            line = "%s: already ingested, nothing changed" % report.get("file")
            log.append(line)
            md.append("- " + line)
            continue
        for scan in report.get("scans", []):
            n = scan.get("counts", {})
            line = ("scan %s by %s %s: %d results, %d new, %d fixed, %d correlated with threats,"
                    " %d unmapped" % (scan.get("id"), scan.get("tool"), scan.get("tool_version", ""),
                                      n.get("results", 0), n.get("new", 0), n.get("fixed", 0),
                                      n.get("correlated", 0), n.get("unmapped", 0)))
            log.append(line)
            md.append("- " + line)
    md.append("")
if delta:
    rows = [("components added", delta["components"]["added"]),
            ("components removed", delta["components"]["removed"]),
            ("flows added", delta["flows"]["added"]),
            ("flows removed", delta["flows"]["removed"]),
            ("threats appearing", delta["threats"]["appear"]),
            ("threats disappearing", delta["threats"]["disappear"]),
            ("tasks appearing", delta["tasks"]["appear"]),
            ("tasks disappearing", delta["tasks"]["disappear"]),
            ("new threats without a task", delta["untasked"])]
    base = delta.get("base_version")
    log.append("model delta against version %s:" % (base if base is not None else "none"))
    md.append("#### Model delta against version %s" % (base if base is not None else "none"))
    md.append("")
    md.append("| Change | Count | Ids |")
    md.append("|---|---:|---|")
    for name, lst in rows:
        shown = ", ".join(lst[:10]) + (", ..." if len(lst) > 10 else "")
        log.append("  %s: %d%s" % (name, len(lst), " (%s)" % shown if lst else ""))
        md.append("| %s | %d | %s |" % (name, len(lst), ids(lst)))
    md.append("")
if reasons:
    n = "%d reason%s" % (len(reasons), "" if len(reasons) == 1 else "s")
    log.append("%s: gate failed (%s)" % (slug, n) if not passed else "%s: %s" % (slug, n))
    md.append("#### Reasons")
    md.append("")
    for r in reasons:
        log.append("  %s" % r["message"])
    for r in reasons[:LIMIT]:
        md.append("- `%s` %s" % (r["rule"], r["message"]))
    if len(reasons) > LIMIT:
        md.append("- and %d more" % (len(reasons) - LIMIT))
    md.append("")
if passed:
    log.append("%s: gate passed" % slug)
md.append("<sub>threatsync check %s%s</sub>" % (slug, " --model " + model if model else ""))
print("\n".join(log))
with open(out_path, "w") as f:
    f.write("\n".join(md) + "\n")
PY
then
	echo "threatsync-ci: cannot read threatsync's output" >&2
	exit 70
fi
echo "threatsync-ci: comment written to $out"

# 4. The comment on the merge or pull request, when the job can post it. A
# failed post is reported and does not change the gate's result.
post_gitlab() {
	url="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
	curl --silent --show-error --fail --max-time 30 --request POST \
		--header "PRIVATE-TOKEN: $THREATSYNC_GITLAB_TOKEN" \
		--data-urlencode "body@$out" "$url" >/dev/null
}

post_github() {
	pr=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["pull_request"]["number"])' \
		"$GITHUB_EVENT_PATH" 2>/dev/null) || return 2
	if command -v gh >/dev/null 2>&1; then
		GH_TOKEN=$GITHUB_TOKEN gh pr comment "$pr" --repo "$GITHUB_REPOSITORY" --body-file "$out"
		return
	fi
	python3 -c 'import json, sys; print(json.dumps({"body": open(sys.argv[1]).read()}))' "$out" \
		>"$tmp/comment.json" || return 2
	curl --silent --show-error --fail --max-time 30 --request POST \
		--header "Authorization: Bearer $GITHUB_TOKEN" \
		--header "Accept: application/vnd.github+json" \
		--data "@$tmp/comment.json" \
		"${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/issues/$pr/comments" \
		>/dev/null
}

if [ -n "${CI_MERGE_REQUEST_IID:-}" ] && [ -n "${CI_API_V4_URL:-}" ] &&
	[ -n "${CI_PROJECT_ID:-}" ] && [ -n "${THREATSYNC_GITLAB_TOKEN:-}" ]; then
	if post_gitlab; then
		echo "threatsync-ci: comment posted to merge request !$CI_MERGE_REQUEST_IID"
	else
		echo "threatsync-ci: warning: the comment could not be posted" >&2
	fi
elif [ -n "${GITHUB_TOKEN:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ] &&
	[ -n "${GITHUB_EVENT_PATH:-}" ]; then
	if post_github; then
		echo "threatsync-ci: comment posted to the pull request"
	else
		echo "threatsync-ci: warning: the comment could not be posted" >&2
	fi
else
	echo "threatsync-ci: no merge request token in the environment; comment not posted"
fi
exit $gate
