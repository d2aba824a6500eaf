/* SPDX-License-Identifier: Apache-2.0 */
/* Human decisions on threats and countermeasures (not applicable, risk accepted
 * until a date) that apply at once and survive every regeneration. */
#ifndef TS_ENGINE_OVERRIDE_H
#define TS_ENGINE_OVERRIDE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/store/store.h"
#include "engine/util.h"

/* Longest validity of a risk acceptance, in days from the day it is recorded. */
#define OVERRIDE_MAX_ACCEPT_DAYS 366
/* Longest reason and author accepted, in bytes. */
#define OVERRIDE_MAX_REASON 4096
#define OVERRIDE_MAX_AUTHOR 256

/* The kinds a user can record: "not_applicable", "risk_accepted". */
bool override_kind_valid(const char *kind);

/* Whether date is a calendar date "YYYY-MM-DD". */
bool override_date_valid(const char *date);

/* Records an override of kind ("not_applicable" or "risk_accepted") on the threat
 * or countermeasure whose uid is target_uid, replacing (revoking) an earlier
 * active one on the same target, and applies it at once, in one transaction:
 * - a countermeasure target takes the status kind;
 * - a threat target gives that status to each of its countermeasures that no
 *   other in-scope threat without an override still calls for;
 * each status change gets a status_history row (source 'override', actor
 * author, the reason), and a tracked task (one with a ticket or a queued create)
 * whose ticket was open gets an outbox "close" with the reason. reason is
 * required (1..OVERRIDE_MAX_REASON bytes); expires ("YYYY-MM-DD") is required
 * for risk_accepted and must lie after now's date and at most
 * OVERRIDE_MAX_ACCEPT_DAYS later, and is refused for not_applicable. author may
 * be NULL (""). now is "YYYY-MM-DDTHH:MM:SS.mmmZ" (NULL: the clock).
 * Unknown target: TS_E_INVALID naming `threatsync threats SLUG --all` and
 * `threatsync countermeasures SLUG --all`; bad arguments: TS_E_USAGE.
 * *ret_changes (may be NULL) is new: {"target", "target_kind", "kind",
 * "expires_at", "changes": [{"uid", "from", "to"}], "outbox": N}. */
int override_add(struct store *s, int64_t project_id, const char *target_uid, const char *kind,
                 const char *reason, const char *author, const char *expires, const char *now,
                 json_t **ret_changes, struct ts_err *err);

/* Revokes the active override of target_uid (sets revoked_at) and returns the
 * countermeasures that had its status to "todo" (unless another active override
 * still applies to them), with status_history rows (source 'override') and an
 * outbox "reopen" for tracked tasks in scope. reason may be NULL. TS_E_INVALID
 * when the target has no active override. *ret_changes as for override_add. */
int override_revoke(struct store *s, int64_t project_id, const char *target_uid, const char *reason,
                    const char *author, const char *now, json_t **ret_changes, struct ts_err *err);

/* One override row, the one writer of the overrides table. All borrowed. */
struct override_row {
	int64_t project_id;
	const char *target_kind; /* "threat" | "countermeasure" */
	const char *target_uid;
	const char *kind;    /* "not_applicable" | "risk_accepted" */
	const char *reason;  /* required */
	const char *author;  /* NULL: "" */
	const char *expires; /* "YYYY-MM-DD", or NULL */
	const char *payload; /* JSON object text; NULL: {} (a person's decision) */
};

/* Inserts o as an active override recorded at now. No checks: override_add
 * checks a person's input, task_status_set records a tracker's decision. */
int override_insert(struct store *s, const struct override_row *o, const char *now,
                    struct ts_err *err);

/* Revokes (revoked_at = now) the active overrides of target: kind NULL any of
 * not_applicable and risk_accepted, else that kind; tracker_only: only those
 * recorded from the tracker (payload source "tracker"). *ret_n (may be NULL)
 * receives how many. */
int override_revoke_rows(struct store *s, int64_t project_id, const char *target_kind,
                         const char *target_uid, const char *kind, bool tracker_only,
                         const char *now, int *ret_n, struct ts_err *err);

/* The overrides in force at now for a project, as a new object keyed
 * "threat:UID" / "countermeasure:UID" -> {"kind", "reason", "author",
 * "expires_at"}, plus, under the same keys in *ret_expired (new; may be NULL),
 * the risk acceptances that were active but have expired (expires_at <= now's
 * date). */
int override_load_active(struct store *s, int64_t project_id, const char *now, json_t **ret_active,
                         json_t **ret_expired, struct ts_err *err);

#endif
