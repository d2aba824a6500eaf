/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_report for builds without the findings store: every report is
 * refused as unavailable. */
#include "engine/findings/ingest.h"

int ingest_report(struct store *s, const struct ingest_request *r, json_t **ret_result,
                  struct ts_err *err)
{
	(void)s;
	(void)r;
	if (ret_result)
		*ret_result = NULL;
	return ts_err_set(err, TS_E_UNAVAILABLE, "ingestion is not available in this build");
}
