/* SPDX-License-Identifier: Apache-2.0 */
/* Report parsers for builds without them: every report is refused as
 * unavailable. */
#include "engine/findings/findings_internal.h"

static int unavailable(const struct findings_input *in, struct findings_report *rep,
                       struct ts_err *err)
{
	(void)rep;
	return ts_err_set(err, TS_E_UNAVAILABLE, "%s: this report format is not available in "
	                  "this build", in->name ? in->name : "report");
}

int sarif_parse(const struct findings_input *in, finding_cb cb, void *ud,
                struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	return unavailable(in, rep, err);
}

int zap_parse(const struct findings_input *in, finding_cb cb, void *ud,
              struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	return unavailable(in, rep, err);
}

int gitlab_report_parse(const struct findings_input *in, finding_cb cb, void *ud,
                        struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	return unavailable(in, rep, err);
}

int semgrep_parse(const struct findings_input *in, finding_cb cb, void *ud,
                  struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	return unavailable(in, rep, err);
}
