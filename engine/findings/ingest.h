/* SPDX-License-Identifier: Apache-2.0 */
/* A report into the database: one scan stored in one transaction or not at
 * all. Each finding gets a stable fingerprint, its lifecycle (open, fixed,
 * reopened, suppressed, with history rows), the components it maps to
 * (code.paths globs, code.urls prefixes; the most specific wins), its
 * correlations with threat instances (same CWE, an ancestor in the CWE
 * catalog, or a library-declared rule), and the verification of the tasks
 * behind those threats; tracker notices (reopen, comment, "verified by") are
 * enqueued in the outbox in the same transaction. No network, no loop. */
#ifndef TS_ENGINE_INGEST_H
#define TS_ENGINE_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/findings/findings.h"
#include "engine/library/cwe.h"
#include "engine/store/store.h"
#include "engine/util.h"

struct library;

#define INGEST_SCOPE_MAX 1024 /* bytes of scope and tool_version */

/* Everything borrowed. */
struct ingest_request {
	const char *project;      /* slug; required */
	const char *path;         /* the report file; required */
	const char *name;         /* how messages and scans.source_name name it; NULL: path */
	enum findings_format format; /* FINDINGS_FORMAT_AUTO: detected from the content */
	const char *scope;        /* branch, path or target the scan covered; NULL: "" */
	const char *tool_version; /* overrides the report's; NULL: the report's */
	const struct cwe_catalog *cwe;  /* ancestry for correlation; NULL: equal CWE ids only */
	const struct library *library;  /* reserved: the library declares no scanner rules yet */
	const struct config_project *project_cfg; /* NULL: no tracker notices */
	const char *now;          /* ISO 8601 UTC; NULL: the clock */
};

/* Parses r->path (hashed as a stream, parsed in bounded memory) and stores
 * it in one transaction: one scans row per tool of the report, its findings
 * and their history, correlations, the verification of tasks and the outbox
 * notices, all or nothing. *ret_result (may be NULL) is a new JSON object as
 * schema/ingest.schema.json describes one report (scan ids, tool, counts:
 * results, new, still_open, fixed, reopened, suppressed, unmapped,
 * correlated; verification changes; notices queued; "unchanged": true with
 * the earlier scans when the identical file was already ingested for this
 * project and scope, which writes nothing). Uses only s and r: callers on
 * other threads bring their own connection. The file is parsed on a second
 * thread, started and joined here, which touches no database. Returns 0 or a negative code
 * with err->code one of TS_E_NOTFOUND (no such project, no such file),
 * TS_E_IO, TS_E_INVALID ("NAME: path-in-document: message"; the database is
 * left as it was), TS_E_UNAVAILABLE (a format this build cannot read),
 * TS_E_USAGE (scope or tool version too long), TS_E_BUSY, TS_E_INTERNAL. */
int ingest_report(struct store *s, const struct ingest_request *r, json_t **ret_result,
                  struct ts_err *err);

/* Ends the person suppressions of the project whose expiry date is today or
 * earlier (the finding is open again, with a history row). Runs at every
 * ingest and listing; call inside a transaction. *ret_n (may be NULL)
 * receives the number ended. */
int findings_expire(struct store *s, int64_t project_id, const char *now, int *ret_n,
                    struct ts_err *err);

/* What `threatsync findings` lists. Everything borrowed. */
struct findings_filter {
	const char *project; /* slug; required */
	const char *status;  /* open | fixed | suppressed; NULL: all */
	const char *tool;    /* NULL: all */
	bool unmapped;       /* only findings no component claims */
	const char *now;     /* NULL: the clock */
};

/* The findings of a project as schema/findings.schema.json describes (new
 * object), newest first seen last, ids ascending; expired suppressions end
 * first (a write). TS_E_NOTFOUND for an unknown project, TS_E_USAGE for an
 * unknown status. */
int findings_list(struct store *s, const struct findings_filter *f, json_t **ret,
                  struct ts_err *err);

/* A person's suppression of finding id of project (reason required, expires
 * YYYY-MM-DD or NULL), or its end (unsuppress: the finding is open until the
 * next complete scan decides). Recorded with a history row naming actor.
 * *ret (may be NULL) is the finding's new state, {"id", "status", "from"}.
 * TS_E_NOTFOUND: no such project or finding; TS_E_USAGE: no reason, a bad
 * date, or unsuppressing a finding no person suppressed. The task
 * verification follows at the next ingest. */
int findings_suppress(struct store *s, const char *project, int64_t id, const char *reason,
                      const char *expires, const char *actor, const char *now, json_t **ret,
                      struct ts_err *err);
int findings_unsuppress(struct store *s, const char *project, int64_t id, const char *actor,
                        const char *now, json_t **ret, struct ts_err *err);

#endif
