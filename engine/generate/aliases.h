/* SPDX-License-Identifier: Apache-2.0 */
/* Stored threats and tasks of a library entry's former id (an alias left by a
 * merge of duplicates) carried over to the surviving id, in place. */
#ifndef TS_ENGINE_GENERATE_ALIASES_H
#define TS_ENGINE_GENERATE_ALIASES_H

#include <jansson.h>
#include <stdint.h>

#include "engine/library/library.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* Renames project_id's stored threats and tasks "OLD@key", OLD an alias in lib,
 * to "NEW@key": the same row, so status, history, links, overrides and ticket
 * stay; a renamed task keeps the marker of its ticket (marker_key, the uid it
 * had first). When a row "NEW@key" exists too, one row survives under
 * "NEW@key": the active one, then (tasks) the one with a ticket, then the
 * older; the other is left under "OLD@key" for generation to retire, and
 * merged (an object) receives {"OLD@key": "merged into NEW@key"}. Rows already
 * retired under an alias are left alone, so a second run changes nothing.
 * Call inside the generation's transaction. Returns 0 or store_fail's code. */
int gen_apply_aliases(struct store *s, const struct library *lib, int64_t project_id,
                      json_t *merged, struct ts_err *err);

/* Renames in place the keys "KIND:OLD@key" of an override map (override.h:
 * override_load_active) to "KIND:NEW@key", unless that key exists already. */
void gen_alias_override_keys(const struct library *lib, json_t *map);

/* The uid an alias uid "OLD@key" has now ("NEW@key", new string), or NULL
 * when the part before the last '@' is no alias in lib. */
char *gen_alias_uid(const struct library *lib, const char *uid);

#endif
