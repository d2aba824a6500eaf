/* SPDX-License-Identifier: Apache-2.0 */
/* What the parts of ingestion share: the core that stores findings from any
 * producer (a parser, or a test's synthetic records), fingerprints, the
 * mapping of findings to components, correlation, verification and the
 * tracker notices. */
#ifndef TS_ENGINE_INGEST_INTERNAL_H
#define TS_ENGINE_INGEST_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/findings/ingest.h"
#include "engine/store/rowbatch.h"

/* ---- the core (ingest.c) ------------------------------------------------ */

/* Hands every finding of a report to cb in document order and fills rep, as
 * findings_parse does. */
typedef int (*ingest_producer)(void *ud, finding_cb cb, void *cb_ud, struct findings_report *rep,
                               struct ts_err *err);

/* ingest_report without the file: content_hash names the report (identical
 * hash, project and scope: a no-op), produce hands over its findings. */
int ingest_run(struct store *s, const struct ingest_request *r, const char *content_hash,
               ingest_producer produce, void *produce_ud, json_t **ret_result, struct ts_err *err);

/* ---- fingerprints (fingerprint.c) --------------------------------------- */

#define FINGERPRINT_MAX 96 /* "dependency:" + 64 hex + "#" + occurrence */

/* The stable identity of f within (tool, scope): "KIND:HEX" where KIND is
 * tool (the tool's own fingerprint), sast, dast, dependency or other and HEX
 * a SHA-256 over the tool, the scope and what identifies the result of that
 * kind. Line numbers never enter it. */
void fingerprint_compute(const struct finding *f, const char *scope, char out[FINGERPRINT_MAX]);
/* The kind part of a fingerprint ("sast"), into out (16 bytes). */
void fingerprint_kind(const char *fp, char out[16]);
/* A URL without volatile parts: scheme and host lower case, the fragment
 * dropped, the query reduced to its keys, sorted, without values
 * ("https://h/p?a&b"). A new string. */
char *fingerprint_url(const char *url);

/* ---- string map (strmap.c) --------------------------------------------- */

/* An open-addressing map from strings (copied) to a pointer-sized value. */
struct strmap;
struct strmap *strmap_new(void);
void strmap_free(struct strmap *m, void (*free_value)(void *)); /* NULL ok */
/* The slot of key, created with value NULL when missing (*ret_created). */
void **strmap_slot(struct strmap *m, const char *key, bool *ret_created);
void *strmap_get(const struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);

/* ---- parsing beside storing (pipeline.c) -------------------------------- */

/* What is done per finding: prepare (may be NULL) on the parser's thread,
 * in document order, filling extra (extra_size bytes, kept with the
 * finding); consume on the calling thread, in the same order, with the
 * report's format as the parser had set it by then. Either returns 0 or a
 * negative code with err set. */
struct pipeline_ops {
	int (*prepare)(void *ud, const struct finding *f, void *extra, struct ts_err *err);
	int (*consume)(void *ud, const struct finding *f, const void *extra,
	               enum findings_format format, struct ts_err *err);
	size_t extra_size;
};

/* Runs produce and hands each finding to ops: with threaded, produce runs on
 * a thread of its own and the findings wait in a bounded queue (256
 * findings, 4 MiB of text), so what prepare and consume touch must be
 * theirs alone during the run; else (or when no thread can be started) all
 * on the calling thread. rep is filled as produce fills it. The error
 * returned is the first in document order: a consume error stops the
 * parser; a parse error comes after every finding before it is consumed. */
int pipeline_run(const struct pipeline_ops *ops, void *ud, ingest_producer produce,
                 void *produce_ud, bool threaded, struct findings_report *rep, struct ts_err *err);

/* ---- mapping to components (mapping.c) ---------------------------------- */

struct mapping;
/* The code.paths globs and code.urls prefixes of the components of the
 * project's current model version, compiled once. *ret is new (mapping_free);
 * a project without a model gets an empty mapping. */
int mapping_load(struct store *s, int64_t project_id, struct mapping **ret, struct ts_err *err);
void mapping_free(struct mapping *m); /* NULL ok */
/* The component key a finding maps to (borrowed from m), or NULL: the most
 * specific path glob (longest literal part, ties by key) for a path, the
 * longest URL prefix for a URL. Results per path and URL are cached. */
const char *mapping_find(struct mapping *m, const char *path, const char *url);
/* Whether glob matches path ("*", "?", "**" across directories, a trailing
 * '/' for the subtree); exposed for the tests. */
bool mapping_glob_match(const char *glob, const char *path);
/* Whether prefix (a URL) covers url: scheme and host case-insensitive, the
 * path on segment boundaries. */
bool mapping_url_match(const char *prefix, const char *url);

/* ---- correlation (correlate.c) ------------------------------------------ */

struct correlator;
/* The active in-scope threat instances of the project with a component,
 * their CWE ids and (lib not NULL) the scanner rules the library declares
 * for them. *ret is new (correlator_free). */
int correlator_load(struct store *s, int64_t project_id, const struct cwe_catalog *cwe,
                    const struct library *lib, struct correlator **ret, struct ts_err *err);
void correlator_free(struct correlator *c); /* NULL ok */

/* One correlation of a finding with a threat instance. */
struct correlation {
	int64_t threat_id;
	const char *method; /* "cwe" | "cwe_ancestor" | "rule"; static */
	int path[16];       /* CWE ids from the finding's up to the threat's (none for rule) */
	size_t n_path;
};
#define CORRELATE_MAX 64 /* threat instances per component kept */

/* The correlations of finding f on component (NULL: none), by its CWE ids or
 * else its tool and rule, into out (up to CORRELATE_MAX, ordered by threat
 * id). Returns the count. */
size_t correlate_finding(struct correlator *c, const char *component, const struct finding *f,
                         struct correlation *out);

/* ---- verification and notices (verify.c) -------------------------------- */

/* Recomputes the verification of every active task of the project from its
 * correlated findings, records each change (verification_history, entries of
 * changes: {"task", "from", "to", "finding"}) and enqueues the tracker
 * notices the changes and the open findings call for, each once (pc NULL or
 * without a connector: none). scan_id is the scan that caused it (history
 * rows). *ret_notices counts the outbox rows written. Call inside the
 * ingest's transaction. */
int verify_project(struct store *s, int64_t project_id, const char *slug,
                   const struct config_project *pc, int64_t scan_id, const char *now,
                   json_t *changes, int *ret_notices, struct ts_err *err);

/* ---- notice wording (notice.c) ------------------------------------------ */

/* Default texts of the notices; placeholders {{tool}} {{rule}} {{cwe}}
 * {{location}} {{first_seen}} {{date}} {{severity}} {{message}} {{task}}. */
extern const char notice_default_failed[];
extern const char notice_default_passed[];
extern const char notice_default_finding[];

#endif
