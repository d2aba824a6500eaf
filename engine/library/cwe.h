/* SPDX-License-Identifier: Apache-2.0 */
/* The CWE catalog (library/cwe.json): weakness names and the ChildOf hierarchy of
 * the Research Concepts view (1000), for names in tickets and reports and for
 * ancestor lookups in correlation. */
#ifndef TS_ENGINE_CWE_H
#define TS_ENGINE_CWE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/util.h"

#define CWE_FILE_NAME "cwe.json"
#define CWE_FILE_MAX (4 * 1024 * 1024)

struct cwe_catalog;

/* Loads CWE_FILE_NAME from the last directory of dirs that has one (an overlay
 * may ship a newer catalog). *ret_cat is new (cwe_catalog_free). TS_E_NOTFOUND
 * when no directory has the file, TS_E_INVALID with "FILE: $.weaknesses[N]:
 * message" for a malformed one. */
int cwe_catalog_load(const char *const *dirs, size_t n_dirs, struct cwe_catalog **ret_cat,
		     struct ts_err *err);
void cwe_catalog_free(struct cwe_catalog *cat); /* NULL ok */

size_t cwe_catalog_size(const struct cwe_catalog *cat);
const char *cwe_catalog_version(const struct cwe_catalog *cat); /* borrowed */

/* The weakness name, borrowed from cat; NULL for an id not in the catalog. */
const char *cwe_name(const struct cwe_catalog *cat, int id);
/* The abstraction ("Pillar", "Class", "Base", "Variant", "Compound"), or NULL. */
const char *cwe_abstraction(const struct cwe_catalog *cat, int id);

/* True when ancestor == id, or ancestor is reachable from id through ChildOf
 * links of view 1000 (CWE-89 -> 943 -> 74 -> 707). */
bool cwe_is_ancestor(const struct cwe_catalog *cat, int ancestor, int id);

/* Distance from id up to ancestor in ChildOf steps (0 when equal), or -1 when
 * ancestor is not an ancestor of id. */
int cwe_distance(const struct cwe_catalog *cat, int ancestor, int id);
/* The shortest ChildOf path from id up to ancestor, both included, into
 * path (at most max ids): [89, 943, 74] for 89 up to 74. Among paths of the
 * same length the one through the lowest parent id is taken, so the answer
 * is the same on every run. Returns the number of ids (1 when equal), or -1
 * when ancestor is not an ancestor of id or the path is longer than max. */
int cwe_path(const struct cwe_catalog *cat, int ancestor, int id, int *path, size_t max);

#endif
