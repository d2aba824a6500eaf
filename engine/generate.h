/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic, diff-based generation of threats and countermeasure tasks from
 * a project's latest model, the threat library and the risk policy. */
#ifndef TS_ENGINE_GENERATE_H
#define TS_ENGINE_GENERATE_H

#include <jansson.h>

#include "engine/config.h"
#include "engine/library.h"
#include "engine/store.h"
#include "engine/util.h"

struct gen_opts {
	/* Generation time, "YYYY-MM-DDTHH:MM:SS.mmmZ"; NULL: the clock. Decides
	 * due dates of new tasks and whether a risk acceptance has expired. */
	const char *now;
	/* Compute and report, but roll back instead of committing. */
	bool dry_run;
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
 *   removed with the reason, changed text updated, and the outbox receives the
 *   matching ticket operations when the project is mapped to a connector.
 * *ret_summary is new: {"project", "model_version", "risk_class", "rule",
 * "threats": {"total", "in_scope", "by_severity": {...}}, "countermeasures":
 * {"total", "in_scope", "satisfied", "by_status": {...}}, "changes": {"created",
 * "updated", "removed", "reactivated", "outbox"}} (schema/generate.schema.json). */
int gen_run(struct store *s, const struct library *lib, const struct config *cfg,
	    const char *slug, const struct gen_opts *opts, json_t **ret_summary,
	    struct ts_err *err);

/* The risk score of a threat (0..100, one decimal), see docs/risk-score.md.
 * severity_rank: critical 4 .. low 1; likelihood_rank: high 3 .. low 1;
 * class_rank: the project's class, critical 4 .. low 1; exposure: 2 internet
 * facing, 1 crossing a trust boundary, 0 internal. */
double gen_score(int severity_rank, int likelihood_rank, int class_rank, int exposure);

/* The idempotency marker of a task's ticket: "threatsync-" followed by 16 hex
 * digits of SHA-256(project slug "/" countermeasure uid). Written into out. */
void gen_marker(const char *slug, const char *cm_uid, char out[32]);

#endif
