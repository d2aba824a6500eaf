/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the SARIF reader: findings_parse_buffer with the format
 * forced to SARIF, so the parser itself is reached and not only detection,
 * then checks of every finding handed over and of what a refusal says. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/findings.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.sarif"

static void check_string(const char *s)
{
	/* reading every byte lets AddressSanitizer see a pointer the parser freed */
	if (s && strlen(s) > FINDINGS_ITEM_MAX)
		fuzz_fail("a finding's string is longer than a result may be", NULL);
}

/* What findings.h promises of each finding. */
static int on_finding(void *ud, const struct finding *f, struct ts_err *err)
{
	(void)err;
	size_t *n = ud;
	(*n)++;
	if (!f->tool)
		fuzz_fail("a finding without a tool", NULL);
	static const char *const severities[] = {"critical", "high", "medium", "low", "info"};
	bool known = false;
	for (size_t i = 0; f->severity && i < 5; i++)
		known = known || strcmp(f->severity, severities[i]) == 0;
	if (!known)
		fuzz_fail("a severity outside critical/high/medium/low/info", f->severity);
	if (!f->doc_path || strncmp(f->doc_path, "$.runs[", 7) != 0)
		fuzz_fail("a doc_path that does not name a run's result", f->doc_path);
	if (f->n_cwe > FINDINGS_CWE_MAX)
		fuzz_fail("more CWE ids than FINDINGS_CWE_MAX", NULL);
	for (size_t i = 0; i < f->n_cwe; i++)
		if (f->cwe[i] <= 0)
			fuzz_fail("a CWE id that is not positive", NULL);
	if (f->path && (!*f->path || strstr(f->path, "//") || strncmp(f->path, "./", 2) == 0))
		fuzz_fail("a path that is not normalised", f->path);
	if (f->line < 0 || f->end_line < 0)
		fuzz_fail("a negative line", NULL);
	if (f->fingerprint && !f->fingerprint_kind)
		fuzz_fail("a fingerprint without its kind", f->fingerprint);
	const char *strings[] = {
	    f->tool_version,      f->category,   f->rule_id,     f->rule_name,
	    f->message,           f->confidence, f->kind,        f->baseline_state,
	    f->snippet,           f->url,        f->method,      f->param,
	    f->package,           f->image,      f->fingerprint, f->fingerprint_kind,
	    f->suppression_reason};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		check_string(strings[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	struct findings_report rep;
	struct ts_err err = {0};
	int rc = findings_parse_buffer((const char *)data, size, NAME, FINDINGS_FORMAT_SARIF,
	                               on_finding, &n, &rep, &err);
	if (rep.results != n)
		fuzz_fail("the report counts other results than were handed over", NULL);
	if (rc < 0) {
		/* the header's contract: TS_E_INVALID naming the input */
		if (rc != TS_E_INVALID || err.code != TS_E_INVALID ||
		    strncmp(err.msg, NAME ": ", strlen(NAME) + 2) != 0)
			fuzz_fail("a refusal without its documented error", err.msg);
		return 0;
	}
	if (rc != 0 || strcmp(rep.detail, "sarif 2.1.0") != 0 ||
	    rep.format != FINDINGS_FORMAT_SARIF)
		fuzz_fail("a parse that succeeded says something else", rep.detail);
	return 0;
}
