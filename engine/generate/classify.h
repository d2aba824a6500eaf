/* SPDX-License-Identifier: Apache-2.0 */
/* Classification of a model into a risk class by the configuration's ordered rules. */
#ifndef TS_ENGINE_CLASSIFY_H
#define TS_ENGINE_CLASSIFY_H

#include <jansson.h>

#include "engine/config.h"
#include "engine/library/library.h"
#include "engine/store/store.h"
#include "engine/util.h"

/* The class used when no rule matches (and when the configuration has none). */
#define CLASSIFY_DEFAULT_CLASS "low"

struct classify_result {
	const char *risk_class; /* borrowed from cfg, or static CLASSIFY_DEFAULT_CLASS */
	const char *rule;       /* name of the rule that matched (borrowed), NULL: none */
	int rule_line;          /* its config line, 0 when none */
	int rule_index;         /* 0-based position, -1 when none */
};

/* Evaluates cfg's classification rules in order against model and stops at
 * the first that holds. model must be the prepared model
 * (classify_prepare_model); classify_load does both steps for a stored model. A rule
 * that does not parse fails with TS_E_CONFIG naming the file and line (config_load
 * has validated them, so this only happens with hand-built configurations). */
int classify_model(const struct config *cfg, json_t *model, struct classify_result *ret,
                   struct ts_err *err);

/* Adds the properties the engine derives, in place, to a model document:
 * flows get properties.crosses_trust_boundary (source and destination in
 * different trust zones, or the flow drawn across a boundary line:
 * properties.crosses_boundary_line). Idempotent. */
void classify_annotate_model(json_t *model);

/* Makes, in place, the model that classification rules and threat conditions
 * read from a stored model (model_load's document): every component takes its
 * library type's default_properties for each property it does not set itself,
 * then classify_annotate_model adds the derived properties. Idempotent. */
void classify_prepare_model(const struct library *lib, json_t *model);

/* The one classification of a project's model, which `classify`
 * (classify_project) and generation (gen_run) both call so that they cannot
 * disagree: loads version (0: the latest) of project_id's model, prepares it
 * (classify_prepare_model) and classifies it (classify_model). On success
 * *ret_model is new (the prepared model) and *ret_version is its version; on
 * failure nothing is returned. TS_E_NOTFOUND when the model does not exist. */
int classify_load(struct store *s, const struct library *lib, const struct config *cfg,
                  int64_t project_id, int version, json_t **ret_model, int *ret_version,
                  struct classify_result *ret, struct ts_err *err);

/* The policy of a risk class as a new JSON object {"risk_class",
 * "min_severity", "max_priority", "frameworks", "sla_days", "line"} ("line" is
 * null for a built-in default). */
json_t *classify_policy_json(const struct config_policy *p);

/* Classifies the latest model of project slug (classify_load) without
 * writing anything.
 * *ret_doc is new (schema/classify.schema.json): {"project", "model_version",
 * "risk_class", "rule": {"name", "index", "line", "config"} or null, "policy",
 * "frameworks": the policy's plus the model's project.compliance, sorted}.
 * TS_E_NOTFOUND when the project or its model does not exist. */
int classify_project(struct store *s, const struct library *lib, const struct config *cfg,
                     const char *slug, json_t **ret_doc, struct ts_err *err);

/* Rank of a risk class or severity name: critical 4, high 3, medium 2, low 1;
 * 0 for anything else. */
int classify_rank(const char *name);

#endif
