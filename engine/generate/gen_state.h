/* SPDX-License-Identifier: Apache-2.0 */
/* What the last generation of a project was made from (table generation_state),
 * and from it which components a model change can affect: generation redoes
 * those and leaves every other stored threat and task as it is. */
#ifndef TS_ENGINE_GENERATE_GEN_STATE_H
#define TS_ENGINE_GENERATE_GEN_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* SQL for the model version a stored threat or task (table alias A) was last
 * generated from: an active one is as of the project's last generation, which
 * does not rewrite the rows it leaves unchanged; a removed one as stored. */
#define GEN_LAST_VERSION_SQL(A)                                                          \
	"CASE WHEN " A ".state = 'active' THEN max(" A ".last_version, coalesce((SELECT"   \
	" CAST(gs.deps AS INTEGER) FROM generation_state gs WHERE gs.project_id = " A       \
	".project_id AND gs.kind = 'context' AND gs.key = ''), 0)) ELSE " A ".last_version END"

/* The state stored by the last generation. */
struct gen_state_old {
	bool present;    /* a context row exists */
	char context[65];
	int version; /* the model version it was generated from */
	json_t *components; /* owned: key -> [digest, deps] */
	json_t *flows;      /* owned: key -> [digest, "source\ndestination"] */
};

/* Loads project_id's state into *old (zeroed first; free with
 * gen_state_old_free, also on error). Returns 0 or store_fail's code. */
int gen_state_load(struct store *s, int64_t project_id, struct gen_state_old *old,
                   struct ts_err *err);
void gen_state_old_free(struct gen_state_old *old);

/* The digests of a list of the model's components or flows by id (a new
 * object of 64-hex strings): SHA-256 of each element's content (values
 * tagged, strings with their length, keys in the model's order). */
json_t *gen_state_digest_list(const json_t *list);

/* The components to regenerate (a new object used as a set of ids): the ones
 * added, removed or changed, the ends (before and after) of every flow added,
 * removed or changed, and every component whose stored dependencies name one
 * of those or '*'. *ret_removed_flows is a new array of the ids of stored
 * flows no longer in the model. */
json_t *gen_state_dirty(const struct gen_state_old *old, const json_t *model,
                        const json_t *components, const json_t *flows,
                        json_t **ret_removed_flows);

/* The dependency set of one component as stored: the ids in set (an object
 * used as a set) but self, sorted and '\n'-separated, or "*" when set holds
 * "*". New string. */
char *gen_state_deps_text(const json_t *set, const char *self);

/* Whether the stored context is still the one old was loaded with (another
 * generation may have committed meanwhile): 1 yes, 0 no, or store_fail's code.
 * Call inside the generation's transaction. */
int gen_state_unchanged(struct store *s, int64_t project_id, const struct gen_state_old *old,
                        struct ts_err *err);

/* Write the state of a generation (of model version): the context, the
 * digests, the dependencies of the components regenerated (deps: id -> set).
 * dirty NULL: a full generation (every row replaced); else only the rows of
 * components in dirty and of flows whose digest changed are written and the
 * rows of elements no longer in the model deleted. Two parts, called in this
 * order inside the generation's transaction: what is known before the
 * evaluation (the context, the flows, and in a full generation the clearing
 * of the old rows), then the components' digests and dependencies. Each
 * returns 0 or store_fail's code. */
int gen_state_store_flows(struct store *s, int64_t project_id, const char *context, int version,
                          const json_t *model, const json_t *flows, const json_t *dirty,
                          const struct gen_state_old *old, struct ts_err *err);
int gen_state_store_components(struct store *s, int64_t project_id, const json_t *components,
                               const json_t *deps, const json_t *dirty,
                               const struct gen_state_old *old, struct ts_err *err);

#endif
