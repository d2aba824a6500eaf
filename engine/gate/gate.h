/* SPDX-License-Identifier: Apache-2.0 */
/* The CI gate (`threatsync check`): the configured rules over a project's
 * tasks, the delta a candidate model would bring, and compliance coverage per
 * framework and control (`threatsync compliance`). docs/gate.md. */
#ifndef TS_ENGINE_GATE_H
#define TS_ENGINE_GATE_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/config.h"
#include "engine/library/library.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* Reason lines a text report prints before "and N more". */
#define GATE_MAX_LINES 20

/* What a check looks at besides the store. */
struct gate_opts {
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (or "YYYY-MM-DD..."); NULL: the clock.
	 * A task is overdue when its due date is before this day. */
	const char *now;
	/* A candidate model (normalised, from model_parse; borrowed) whose delta
	 * against the latest stored version is computed without storing it;
	 * NULL: none. lib is needed then. */
	const json_t *model;
	const struct library *lib;
};

/* Runs the gate rules of cfg->gate over project slug (read only on s):
 * - failed_verification: an active, in-scope task of priority <=
 *   max_priority_failed whose verification failed;
 * - untracked: when cfg maps the project to a connector, an active, in-scope
 *   threat of a severity in fail_on_untracked with an open task (todo,
 *   in_progress) that has no ticket;
 * - overdue: an active, in-scope open task whose due date is before today;
 * - new_untasked: with opts->model, a threat the model would bring that
 *   would have no active, in-scope task.
 * *ret_doc is new (schema/check.schema.json): {"project", "passed",
 * "policy": {...}, "reasons": [{"rule", "id", "message"}], "counts":
 * {rule: n}, "delta": null | {...}} with reasons sorted by rule then id.
 * The delta (gate_model_delta) leaves s untouched. Errors: TS_E_NOTFOUND (no
 * such project), store errors, generation errors on the candidate. */
int gate_check(struct store *s, const struct config *cfg, const char *slug,
               const struct gate_opts *opts, json_t **ret_doc, struct ts_err *err);

/* The delta model would bring to project slug, computed on an in-memory copy
 * of s (s itself is only read): its latest stored model is regenerated as the
 * baseline, model imported and generated over it, and the two compared.
 * *ret_delta is new: {"base_version": n|null, "components": {"added",
 * "removed"}, "flows": {"added", "removed"}, "threats": {"appear",
 * "disappear"}, "tasks": {"appear", "disappear"}, "untasked": [threat ids]},
 * each a sorted list of ids (active and in scope, before and after). */
int gate_model_delta(struct store *s, const struct library *lib, const struct config *cfg,
                     const char *slug, const json_t *model, const char *now, json_t **ret_delta,
                     struct ts_err *err);

/* Compliance coverage of project slug. framework (may be NULL) restricts the
 * report to one framework, which must be required or mapped by a task
 * (TS_E_NOTFOUND otherwise); without it the frameworks required by the
 * policy of the latest risk class and by the latest model's
 * project.compliance are reported, or, when none is required, every framework
 * an in-scope task maps. Per control: the active, in-scope tasks mapped to
 * it; complete = done, satisfied or not_applicable, and verification not
 * failed; covered = every task complete, partly = some, not_covered = none.
 * *ret_doc is new (schema/compliance.schema.json). */
int gate_compliance(struct store *s, const struct config *cfg, const char *slug,
                    const char *framework, json_t **ret_doc, struct ts_err *err);

#endif
