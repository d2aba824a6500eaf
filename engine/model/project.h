/* SPDX-License-Identifier: Apache-2.0 */
/* Projects: the unit a model, its tasks and its tickets belong to. */
#ifndef TS_ENGINE_PROJECT_H
#define TS_ENGINE_PROJECT_H

#include <jansson.h>
#include <stdint.h>

#include "engine/store/store.h"

/* Creates a project; *ret_id (may be NULL) receives its row id. TS_E_INVALID in
 * err for an invalid slug ([a-z0-9-], 1..64) or one that exists already. */
int project_add(struct store *s, const char *slug, const char *name, const char *description,
		int64_t *ret_id, struct ts_err *err);

/* Looks a project up by slug: 0 and *ret_id, or TS_E_NOTFOUND in err when absent. */
int project_find(struct store *s, const char *slug, int64_t *ret_id, struct ts_err *err);

/* All projects ordered by slug, as a new JSON array of
 * {slug, name, description, created_at}. */
int project_list_json(struct store *s, json_t **ret_list, struct ts_err *err);

#endif
