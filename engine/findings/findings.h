/* SPDX-License-Identifier: Apache-2.0 */
/* Scanner reports in, findings out: the formats threatsync reads (SARIF 2.1.0,
 * OWASP ZAP JSON and XML, GitLab security reports, Semgrep JSON), detected from
 * the content, each parsed in bounded memory and handed over one finding at a
 * time. Files in, records out: no database, no network, no loop. What becomes
 * of a finding (fingerprint, lifecycle, mapping, correlation, verification) is
 * in ingest.h. */
#ifndef TS_ENGINE_FINDINGS_H
#define TS_ENGINE_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/util.h"

enum findings_format {
	FINDINGS_FORMAT_AUTO = 0,
	FINDINGS_FORMAT_SARIF,
	FINDINGS_FORMAT_ZAP,     /* the traditional JSON report or the XML report */
	FINDINGS_FORMAT_GITLAB,  /* SAST, DAST, secret detection, dependency/container scanning */
	FINDINGS_FORMAT_SEMGREP, /* semgrep --json */
};

/* Bounds on any report: larger files, longer strings, deeper nesting and larger
 * single results are TS_E_INVALID ("FILE: $.path: message"). */
#define FINDINGS_FILE_MAX ((int64_t)4 << 30) /* 4 GiB */
#define FINDINGS_STRING_MAX (1024 * 1024)    /* one JSON string or XML text node */
#define FINDINGS_DEPTH_MAX 64                /* JSON nesting, XML element depth */
#define FINDINGS_ITEM_MAX (8 * 1024 * 1024)  /* one result object, as parsed */
#define FINDINGS_CWE_MAX 8                   /* CWE ids kept per finding */
#define FINDINGS_TOOLS_MAX 16                /* tools named by one report */

/* "sarif", "zap", "gitlab", "semgrep" ("auto" for AUTO). Static. */
const char *findings_format_name(enum findings_format f);
/* Parses a --format value ("auto" included). TS_E_USAGE naming the accepted
 * values when unknown. */
int findings_format_parse(const char *name, enum findings_format *ret, struct ts_err *err);

enum finding_suppression {
	FINDING_NOT_SUPPRESSED = 0,
	FINDING_SUPPRESSED,        /* the tool says accepted (SARIF status accepted or absent) */
	FINDING_SUPPRESSION_REVIEW /* SARIF underReview: stays open, noted */
};

/* One result as a parser hands it over. Every string is borrowed and lives only
 * for the callback; NULL (or 0) when the report does not say. */
struct finding {
	const char *tool;         /* producer: SARIF tool.driver.name, GitLab scanner.name,
	                           * "semgrep", "zap"; never NULL */
	const char *tool_version; /* as the report states it */
	const char *category;     /* "sast", "dast", "secret_detection", "dependency_scanning",
	                           * "container_scanning", "sca"; NULL: unknown */
	const char *rule_id;      /* SARIF ruleId / rule.id, Semgrep check_id, ZAP pluginid,
	                           * GitLab the first identifier's value */
	const char *rule_name;    /* a short human name of the rule */
	const char *message;      /* the result's text (first line is the title) */
	int cwe[FINDINGS_CWE_MAX];/* CWE ids, in the order found, without duplicates */
	size_t n_cwe;
	const char *severity;     /* "critical" | "high" | "medium" | "low" | "info" */
	const char *confidence;   /* as the tool says it, lower case */
	const char *kind;         /* SARIF kind: "fail" (default), "pass", "open", "review", ... */
	const char *baseline_state; /* SARIF baselineState, verbatim */
	/* Static analysis: where in the repository. path is relative to the
	 * repository root ('/'-separated, no "./", no scheme, %SRCROOT% and
	 * uriBaseId resolved); line and end_line 0 when unknown. */
	const char *path;
	int line;
	int end_line;
	const char *snippet;      /* the region's text, when the report carries it */
	/* Dynamic analysis: what was requested. */
	const char *url;          /* absolute URL as reported */
	const char *method;       /* upper case */
	const char *param;
	/* Dependencies and images. */
	const char *package;      /* "name@version" */
	const char *image;
	/* The tool's own stable identity of the result (SARIF partialFingerprints /
	 * fingerprints, Semgrep extra.fingerprint, GitLab id or cve); ingest.c
	 * computes one when NULL. fingerprint_kind names where it came from
	 * ("partialFingerprints/primaryLocationLineHash", "semgrep", "gitlab"). */
	const char *fingerprint;
	const char *fingerprint_kind;
	enum finding_suppression suppression;
	const char *suppression_reason; /* justification, when given */
	const char *doc_path;     /* where the result is in the document: "$.runs[0].results[12]",
	                           * "/OWASPZAPReport/site[1]/alerts/alertitem[3]" */
};

/* Called once per result, in document order. Return 0 to go on; a negative
 * ts_error stops the parse and is returned by findings_parse (err set by the
 * callback). */
typedef int (*finding_cb)(void *ud, const struct finding *f, struct ts_err *err);

/* What a parse saw, for the scan row and messages. */
struct findings_report {
	enum findings_format format;
	char detail[64];          /* "sarif 2.1.0", "zap xml", "zap json", "gitlab sast 15.0.4" */
	size_t results;           /* results handed to the callback */
	size_t skipped;           /* results left out (SARIF kind pass/notApplicable) */
	bool incomplete;          /* the report says the scan did not finish (SARIF
	                           * invocations[].executionSuccessful false): absent
	                           * findings must not be taken as fixed */
	/* The tools the report names, with results or without (each SARIF run,
	 * the GitLab scanner): a report without results is still a complete scan
	 * by them, so what they found before is fixed. */
	struct {
		char name[128];
		char version[64];
	} tools[FINDINGS_TOOLS_MAX];
	size_t n_tools;
};

/* Records a tool in rep->tools (once per name; names and versions cut to fit;
 * NULL or empty names and tools beyond FINDINGS_TOOLS_MAX are left out). */
void findings_report_tool(struct findings_report *rep, const char *name, const char *version);

/* Reads the start of path and names its format. An unreadable file is TS_E_IO
 * ("FILE: message"); a file of no supported format is TS_E_INVALID naming what
 * was seen ("FILE: a JSON object with keys SchemaVersion, ArtifactName,
 * Results: not a SARIF log, ZAP, GitLab or Semgrep report"). */
int findings_detect(const char *path, enum findings_format *ret, struct ts_err *err);

/* Parses path as fmt (AUTO: detect first), calling cb for every result.
 * name is how messages name the file (NULL: path). Memory stays bounded by the
 * limits above whatever the file size. Errors: TS_E_IO, TS_E_INVALID with
 * "NAME: path-in-document: message" (invalid JSON or XML, a wrong SARIF
 * version, a truncated file, a limit passed, a rule index out of range), or
 * what cb returned. report (may be NULL) is filled in either case. */
int findings_parse(const char *path, const char *name, enum findings_format fmt, finding_cb cb,
                   void *ud, struct findings_report *report, struct ts_err *err);

/* The same over a report in memory (tests, the fuzzing harnesses). */
int findings_parse_buffer(const char *data, size_t len, const char *name,
                          enum findings_format fmt, finding_cb cb, void *ud,
                          struct findings_report *report, struct ts_err *err);

#endif
