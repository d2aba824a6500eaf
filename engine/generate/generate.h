/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic, diff-based generation of threats and countermeasure tasks from
 * a project's latest model, the threat library and the risk policy.
 * docs/generation.md describes the rules; score.h scores, listing.h lists. */
#ifndef TS_ENGINE_GENERATE_H
#define TS_ENGINE_GENERATE_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/config.h"
#include "engine/expr/expr.h"
#include "engine/generate/gen_state.h"
#include "engine/library/library.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* What a generation reads from the store before it needs the library: the
 * project, its latest model version as stored (before the library's type
 * defaults are applied), the digests of its elements and the state of the last
 * generation. A caller can load it while the library loads elsewhere. */
struct gen_input {
	int64_t project_id;
	json_t *model; /* owned */
	int version;
	json_t *cdigest, *fdigest; /* owned: id -> digest (gen_state_digest_list) */
	struct gen_state_old old;  /* owned */
	struct expr_index *index;  /* owned: of model */
	/* owned: gen_state_dirty's set and removed flows when old is present */
	json_t *dirty, *removed_flows;
};

/* Fills *in (zeroed first; free with gen_input_free, also on error) for project
 * slug. Errors: TS_E_NOTFOUND (no such project, no model yet), TS_E_INVALID (a
 * stored model that is not JSON), store errors. */
int gen_input_load(struct store *s, const char *slug, struct gen_input *in, struct ts_err *err);
void gen_input_free(struct gen_input *in);

struct gen_opts {
	/* Generation time, "YYYY-MM-DDTHH:MM:SS.mmmZ"; NULL: the clock. Decides
	 * due dates of new tasks, whether a risk acceptance has expired, and the
	 * timestamps written. */
	const char *now;
	/* Compute and report, but roll back instead of committing. */
	bool dry_run;
	/* Regenerate every component, not only those a model change affects. */
	bool full;
	/* What gen_input_load read for the same store and slug, taken over by
	 * gen_run but for the model, which stays the caller's to free (after
	 * gen_run returns; it is freed with the input); NULL: gen_run loads it. */
	struct gen_input *input;
	/* Given, gen_run hands its working set to keep with the function that
	 * frees it instead of freeing it (a process about to end keeps it);
	 * NULL: gen_run frees it. */
	void (*keep)(void (*release)(void *), void *arg);
};

/* Generates (or regenerates) the threats and countermeasures of project slug
 * from its latest model version, in one transaction:
 * - classifies the model (cfg's rules) and records the class on the version;
 * - creates threat instances per (library threat, component) and per (library
 *   threat, flow) where the type matches and the condition holds, plus the
 *   model's manual threats; countermeasure instances per (countermeasure,
 *   component) with stable ids "<library id>@<component id>";
 * - marks countermeasures satisfied by another component (satisfied_by);
 * - scores threats (docs/risk-score.md), applies the risk policy's scope and
 *   due dates, and re-applies overrides (an expired risk acceptance returns the
 *   task to todo);
 * - diffs against what is stored: new items are inserted, vanished ones marked
 *   removed with the reason, changed text updated, every status change gets a
 *   status_history row, and the outbox receives the matching ticket operations
 *   when cfg maps the project to a connector.
 * *ret_summary is new (schema/generate.schema.json): {"project",
 * "model_version", "risk_class", "rule", "rule_line", "dry_run", "threats":
 * {"total", "in_scope", "overridden", "by_severity"}, "countermeasures":
 * {"total", "in_scope", "satisfied", "by_status"}, "changes": {"threats":
 * {"created", "updated", "removed", "reactivated"}, "countermeasures":
 * {"created", "updated", "removed", "reactivated", "status_changed"},
 * "outbox": {"create", "update", "close", "reopen"}}}.
 * Errors: TS_E_NOTFOUND (no such project, no model yet), TS_E_INVALID (a condition
 * that cannot be evaluated, naming the library file and JSON path), store
 * errors (store_fail). Nothing is written on error. */
int gen_run(struct store *s, const struct library *lib, const struct config *cfg, const char *slug,
            const struct gen_opts *opts, json_t **ret_summary, struct ts_err *err);

#endif
