/* SPDX-License-Identifier: Apache-2.0 */
/* Stand-ins for the report parsers until they are built: every format is
 * refused as unavailable. */
#include "engine/findings/findings_internal.h"

static int pending(const struct findings_input *in, const char *what, struct ts_err *err)
{
	return ts_err_set(err, TS_E_UNAVAILABLE, "%s: reading %s reports is not available",
	                  in && in->name ? in->name : "report", what);
}

int sarif_parse(const struct findings_input *in, finding_cb cb, void *ud,
                struct findings_report *rep, struct ts_err *err)
{
	return pending(in, "SARIF", err);
}

int zap_parse(const struct findings_input *in, finding_cb cb, void *ud,
              struct findings_report *rep, struct ts_err *err)
{
	return pending(in, "ZAP", err);
}

int gitlab_report_parse(const struct findings_input *in, finding_cb cb, void *ud,
                        struct findings_report *rep, struct ts_err *err)
{
	return pending(in, "GitLab", err);
}

int semgrep_parse(const struct findings_input *in, finding_cb cb, void *ud,
                  struct findings_report *rep, struct ts_err *err)
{
	return pending(in, "Semgrep", err);
}
