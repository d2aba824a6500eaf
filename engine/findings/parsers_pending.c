/* SPDX-License-Identifier: Apache-2.0 */
/* The report formats whose parsers are not part of this build yet: each says
 * so with TS_E_UNAVAILABLE. */
#include "engine/findings/findings_internal.h"

static int unavailable(const struct findings_input *in, const char *format, struct ts_err *err)
{
	return ts_err_set(err, TS_E_UNAVAILABLE, "%s: %s reports cannot be read by this build",
	                  in->name, format);
}

int zap_parse(const struct findings_input *in, finding_cb cb, void *ud,
              struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	(void)rep;
	return unavailable(in, "ZAP", err);
}

int gitlab_report_parse(const struct findings_input *in, finding_cb cb, void *ud,
                        struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	(void)rep;
	return unavailable(in, "GitLab", err);
}

int semgrep_parse(const struct findings_input *in, finding_cb cb, void *ud,
                  struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	(void)rep;
	return unavailable(in, "Semgrep", err);
}
