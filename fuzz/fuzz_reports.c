/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of one report parser: findings_parse_buffer with the
 * format forced (FUZZ_REPORT_FORMAT, set per target: ZAP, GitLab or Semgrep),
 * so the parser itself is reached and not only detection, then checks of
 * every finding handed over and of the error when there is one. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings.h"
#include "fuzz/fuzz_common.h"

#ifndef FUZZ_REPORT_FORMAT
#error "FUZZ_REPORT_FORMAT must name an enum findings_format value"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_count {
	size_t n;
};

/* Reads every byte of s, so a string that is not alive for the callback
 * shows up under AddressSanitizer. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static int on_finding(void *ud, const struct finding *f, struct ts_err *err)
{
	(void)err;
	struct fuzz_count *c = ud;
	c->n++;
	if (!f->tool || !f->doc_path)
		fuzz_fail("a finding without its tool or its document path", NULL);
	if (f->doc_path[0] != '$' && strncmp(f->doc_path, "/OWASPZAPReport/", 16) != 0)
		fuzz_fail("a document path of another form", f->doc_path);
	if (f->severity && strcmp(f->severity, "critical") != 0 &&
	    strcmp(f->severity, "high") != 0 && strcmp(f->severity, "medium") != 0 &&
	    strcmp(f->severity, "low") != 0 && strcmp(f->severity, "info") != 0)
		fuzz_fail("a severity that is not a canonical word", f->severity);
	if (f->n_cwe > FINDINGS_CWE_MAX)
		fuzz_fail("more CWE ids than FINDINGS_CWE_MAX", NULL);
	for (size_t i = 0; i < f->n_cwe; i++) {
		if (f->cwe[i] <= 0)
			fuzz_fail("a CWE id that is not positive", NULL);
		for (size_t k = 0; k < i; k++)
			if (f->cwe[k] == f->cwe[i])
				fuzz_fail("a CWE id twice", NULL);
	}
	if (f->line < 0 || f->end_line < 0)
		fuzz_fail("a negative line", NULL);
	for (const char *p = f->method; p && *p; p++)
		if (islower((unsigned char)*p))
			fuzz_fail("a method not in upper case", f->method);
	if (!f->fingerprint != !f->fingerprint_kind)
		fuzz_fail("a fingerprint without its kind, or a kind without one", NULL);
	size_t total = touch(f->tool) + touch(f->tool_version) + touch(f->category) +
	               touch(f->rule_id) + touch(f->rule_name) + touch(f->message) +
	               touch(f->confidence) + touch(f->kind) + touch(f->baseline_state) +
	               touch(f->path) + touch(f->snippet) + touch(f->url) + touch(f->method) +
	               touch(f->param) + touch(f->package) + touch(f->image) +
	               touch(f->fingerprint) + touch(f->suppression_reason);
	(void)total;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_count c = {0};
	struct findings_report rep;
	struct ts_err err = {0};
	int rc = findings_parse_buffer((const char *)data, size, "fuzz", FUZZ_REPORT_FORMAT,
	                               on_finding, &c, &rep, &err);
	if (rc < 0) {
		/* findings.h: bad input is TS_E_INVALID, "NAME: where: message" */
		if (rc != TS_E_INVALID || err.code != TS_E_INVALID ||
		    strncmp(err.msg, "fuzz: ", 6) != 0 || !err.msg[6])
			fuzz_fail("a refusal without its documented error", err.msg);
	} else if (rc != 0) {
		fuzz_fail("findings_parse_buffer returned a positive value", NULL);
	}
	if (rep.format != FUZZ_REPORT_FORMAT)
		fuzz_fail("the report names another format than the one forced", rep.detail);
	if (rep.results != c.n)
		fuzz_fail("the report's count differs from the findings handed over", NULL);
	return 0;
}
