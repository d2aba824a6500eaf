/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the generation tests: a temporary store, a configuration and a
 * library, model imports, generation runs and lookups. */
#ifndef TS_TESTS_GEN_UTIL_H
#define TS_TESTS_GEN_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/config.h"
#include "engine/library/library.h"
#include "engine/store/store.h"

struct gu {
	char *dir;           /* temporary directory, removed by gu_close */
	char *db;            /* dir/t.db */
	struct store *s;     /* owned */
	struct config *cfg;  /* owned */
	struct library *lib; /* owned */
};

/* Opens a fresh store in a new temporary directory, loads conf (a path) and
 * the library it names. Fails the test on any error. */
void gu_open(struct gu *g, const char *conf);
/* Replaces the configuration and library (for overlay and policy tests). */
void gu_reload(struct gu *g, const char *conf);
void gu_close(struct gu *g);

/* $TS_SOURCE_DIR/tests/data/generate/NAME as a new string. */
char *gu_data(const char *name);

/* Imports model_path as the next version of slug (created when missing). */
void gu_import(struct gu *g, const char *slug, const char *model_path);

/* Runs gen_run at now (may be NULL) and returns the summary (new). */
json_t *gu_generate(struct gu *g, const char *slug, const char *now);

/* A change counter of a summary: gu_changes(sum, "countermeasures", "created"). */
int gu_changes(const json_t *summary, const char *group, const char *key);

/* The countermeasure / threat with id uid from the --all listing (new
 * reference), or NULL. */
json_t *gu_cm(struct gu *g, const char *slug, const char *uid);
json_t *gu_threat(struct gu *g, const char *slug, const char *uid);

/* The integer the first column of the first row of sql gives. */
long long gu_int(struct gu *g, const char *sql);

/* Writes a native model named name to path: a customer in an internet zone
 * and `components` internet-facing web apps (authentication, personal data)
 * in a DMZ, one HTTPS flow from the customer to each. */
void gu_write_web_model(const char *path, const char *name, int components);

/* A copy of etc/threatsync.conf in dir with the database and library paths
 * pointed at dir and the source tree, and its secrets provided through
 * $CREDENTIALS_DIRECTORY (set here; dir/credentials). Returns the new config
 * path (caller frees). */
char *gu_shipped_config(const char *dir);

#endif
