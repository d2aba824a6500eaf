/* SPDX-License-Identifier: Apache-2.0 */
/* Releases of a project (`threatsync release`): the metrics and the threats
 * addressed at the moment, under a name. */
#ifndef TS_ENGINE_REPORT_RELEASE_H
#define TS_ENGINE_REPORT_RELEASE_H

#include <jansson.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* Longest release name, in bytes. */
#define RELEASE_NAME_MAX 100

/* Whether name can name a release: 1..RELEASE_NAME_MAX bytes of valid UTF-8
 * without control characters. */
bool release_name_valid(const char *name);

/* Records release name of project slug at now (NULL: the clock): the latest
 * model version, the metrics (metrics_compute) and the threats addressed now,
 * in one transaction (the trend shows the release beside the snapshots, so
 * no snapshot is taken). *ret_doc is new
 * (schema/release.schema.json): {"project", "name", "created_at",
 * "model_version", "metrics", "previous": name | null, "addressed": n,
 * "threats_addressed": [uids addressed now and not at the previous
 * release]}. Errors: TS_E_USAGE for an invalid name, TS_E_NOTFOUND for an
 * unknown project, TS_E_INVALID when the project has a release of that name
 * (nothing is written then). */
int release_record(struct store *s, const char *slug, const char *name, const char *now,
                   json_t **ret_doc, struct ts_err *err);

/* The releases of project_id, oldest first, as a new array of {"name",
 * "created_at", "model_version", "metrics", "threats_addressed"}, each with
 * the threats addressed since the release before it (sorted). */
int release_list(struct store *s, int64_t project_id, json_t **ret_list, struct ts_err *err);

#endif
