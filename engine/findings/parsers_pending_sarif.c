/* SPDX-License-Identifier: Apache-2.0 */
/* SARIF: not in this build yet (sarif.c replaces this file). */
#include "engine/findings/findings_internal.h"

int sarif_parse(const struct findings_input *in, finding_cb cb, void *ud,
                struct findings_report *rep, struct ts_err *err)
{
	(void)cb;
	(void)ud;
	(void)rep;
	return ts_err_set(err, TS_E_UNAVAILABLE, "%s: SARIF logs are not read by this build",
	                  in->name);
}
