/* SPDX-License-Identifier: Apache-2.0 */
/* What the report parsers share: the input, the parser entry points, and the
 * normalisation of CWE ids, severities and paths every format needs. */
#ifndef TS_ENGINE_FINDINGS_INTERNAL_H
#define TS_ENGINE_FINDINGS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/findings/findings.h"

/* A report: a file (path) or a buffer in memory (data, len; path NULL). name
 * is how messages name it. */
struct findings_input {
	const char *path;
	const char *data;
	size_t len;
	const char *name;
};

/* The parsers: each fills rep (format, detail, results, skipped) and calls cb
 * per result. Same errors as findings_parse. */
int sarif_parse(const struct findings_input *in, finding_cb cb, void *ud,
                struct findings_report *rep, struct ts_err *err);
/* ZAP: the JSON report or the XML report, told apart by the first byte. */
int zap_parse(const struct findings_input *in, finding_cb cb, void *ud,
              struct findings_report *rep, struct ts_err *err);
int gitlab_report_parse(const struct findings_input *in, finding_cb cb, void *ud,
                        struct findings_report *rep, struct ts_err *err);
int semgrep_parse(const struct findings_input *in, finding_cb cb, void *ud,
                  struct findings_report *rep, struct ts_err *err);

/* Runs js over the input (file or buffer). */
struct jstream;
int findings_jstream_run(struct jstream *js, const struct findings_input *in, struct ts_err *err);

/* A CWE id in the spellings producers use, case-insensitive: "CWE-89",
 * "cwe-089", "CWE:89", "CWE 89", "external/cwe/cwe-079", "cwe-89: SQL ...",
 * and, when bare_ok, "89". 0 when s is none of these. */
int finding_cwe_parse(const char *s, bool bare_ok);
/* Adds id (> 0) to f->cwe unless there, up to FINDINGS_CWE_MAX. */
void finding_add_cwe(struct finding *f, int id);
/* Adds the CWE ids of a JSON value: a string, an integer, or an array of
 * them (Semgrep's metadata.cwe, SARIF's properties.cwe). */
void finding_add_cwe_json(struct finding *f, const json_t *v, bool bare_ok);

/* The canonical severity ("critical", "high", "medium", "low", "info") of a
 * tool's word: critical, high, medium / moderate, low, info / informational /
 * note / none, and SARIF levels error (high), warning (medium), note (low).
 * NULL for anything else. Static strings. */
const char *finding_severity_word(const char *s);
/* Of a CVSS-like score (CodeQL's security-severity): >= 9 critical, >= 7
 * high, >= 4 medium, > 0 low, else info. */
const char *finding_severity_score(double score);

/* A repository-relative path from a report's URI or path: a "file://" scheme
 * and a leading "./" removed, percent-escapes decoded, "." and ".." segments
 * resolved, repeated '/' folded. base (may be NULL) is prepended first when
 * uri is relative. A new string; NULL when nothing is left. */
char *finding_path_normalise(const char *base, const char *uri);

/* Lower-cases s in place (ASCII); returns s. */
char *finding_lower(char *s);

#endif
