/* SPDX-License-Identifier: Apache-2.0 */
/* `library lint` checks for duplicate entries (identical titles, threats that
 * describe the same weakness on the same components under the same condition)
 * and for threats mapped only to abstract CWE entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/library/cwe.h"
#include "engine/library/library.h"
#include "engine/library/library_internal.h"

/* Titles are compared without regard to case: "Log injection" and "Log
 * Injection" name the same entry for a reader. */
static bool same_title(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static void threat_titles(const struct library *lib, struct lib_diag *d)
{
	size_t n = library_n_threats(lib);
	for (size_t i = 0; i < n; i++) {
		const struct lib_threat *a = library_threat_at(lib, i);
		for (size_t k = i + 1; k < n; k++) {
			const struct lib_threat *b = library_threat_at(lib, k);
			if (!same_title(a->title, b->title))
				continue;
			char *p = lib_path_key(b->path, "title");
			lib_diag_add(d, false, TS_E_INVALID, b->file, p,
			             "threat \"%s\" has the title of threat \"%s\" (%s at %s): "
			             "merge them (the survivor lists the other id in \"aliases\")",
			             b->id, a->id, a->file, a->path);
			free(p);
		}
	}
}

static void cm_titles(const struct library *lib, struct lib_diag *d)
{
	size_t n = library_n_countermeasures(lib);
	for (size_t i = 0; i < n; i++) {
		const struct lib_countermeasure *a = library_countermeasure_at(lib, i);
		for (size_t k = i + 1; k < n; k++) {
			const struct lib_countermeasure *b = library_countermeasure_at(lib, k);
			if (!same_title(a->title, b->title))
				continue;
			char *p = lib_path_key(b->path, "title");
			lib_diag_add(d, false, TS_E_INVALID, b->file, p,
			             "countermeasure \"%s\" has the title of countermeasure \"%s\" "
			             "(%s at %s): merge them (the survivor lists the other id in "
			             "\"aliases\")",
			             b->id, a->id, a->file, a->path);
			free(p);
		}
	}
}

/* The first CWE id both threats list, 0 when none. */
static int common_cwe(const struct lib_threat *a, const struct lib_threat *b)
{
	for (size_t i = 0; i < a->n_cwe; i++)
		for (size_t k = 0; k < b->n_cwe; k++)
			if (a->cwe[i] == b->cwe[k])
				return a->cwe[i];
	return 0;
}

/* The first component type both threats apply to, NULL when none. */
static const char *common_type(const struct lib_threat *a, const struct lib_threat *b)
{
	for (size_t i = 0; i < a->n_applies_to; i++)
		for (size_t k = 0; k < b->n_applies_to; k++)
			if (strcmp(a->applies_to[i], b->applies_to[k]) == 0)
				return a->applies_to[i];
	return NULL;
}

/* The same condition text, two absent conditions included. */
static bool same_condition(const struct lib_threat *a, const struct lib_threat *b)
{
	if (!a->condition_src || !b->condition_src)
		return !a->condition_src && !b->condition_src;
	return strcmp(a->condition_src, b->condition_src) == 0;
}

/* Two threats with a common CWE on a common component type under the same
 * condition are generated together and read as one weakness twice. */
static void threat_overlaps(const struct library *lib, struct lib_diag *d)
{
	size_t n = library_n_threats(lib);
	for (size_t i = 0; i < n; i++) {
		const struct lib_threat *a = library_threat_at(lib, i);
		for (size_t k = i + 1; k < n; k++) {
			const struct lib_threat *b = library_threat_at(lib, k);
			int cwe = common_cwe(a, b);
			const char *type = cwe ? common_type(a, b) : NULL;
			if (!type || !same_condition(a, b))
				continue;
			lib_diag_add(d, true, 0, b->file, b->path,
			             "threats \"%s\" and \"%s\" share CWE-%d, the component type "
			             "\"%s\" and %s: merge them or set them apart (applies_to, "
			             "condition or CWE)",
			             a->id, b->id, cwe, type,
			             a->condition_src ? "their condition"
			                              : "the absence of a condition");
		}
	}
}

/* A Pillar or Class names a family of weaknesses, not the weakness: a threat
 * needs at least one Base, Variant or Compound entry. */
static bool abstract_cwe(const struct cwe_catalog *cat, int id)
{
	const char *abs = cwe_abstraction(cat, id);
	return abs && (strcmp(abs, "Pillar") == 0 || strcmp(abs, "Class") == 0);
}

static void threat_cwe_precision(const struct library *lib, const struct cwe_catalog *cat,
                                 struct lib_diag *d)
{
	for (size_t i = 0; i < library_n_threats(lib); i++) {
		const struct lib_threat *t = library_threat_at(lib, i);
		size_t n_abstract = 0;
		for (size_t k = 0; k < t->n_cwe; k++)
			n_abstract += abstract_cwe(cat, t->cwe[k]);
		if (t->n_cwe == 0 || n_abstract < t->n_cwe)
			continue;
		char *p = lib_path_key(t->path, "cwe");
		lib_diag_add(d, true, 0, t->file, p,
		             "threat \"%s\" is mapped only to Pillar or Class CWE entries "
		             "(CWE-%d is a %s): add the Base or Variant entry that fits",
		             t->id, t->cwe[0], cwe_abstraction(cat, t->cwe[0]));
		free(p);
	}
}

void lib_lint_duplicates(const struct library *lib, const char *const *dirs, size_t n_dirs,
                         struct lib_diag *d)
{
	threat_titles(lib, d);
	cm_titles(lib, d);
	threat_overlaps(lib, d);
	/* Without a CWE catalog in the directories there is nothing to check
	 * the abstraction against. */
	struct cwe_catalog *cat = NULL;
	struct ts_err err = {0};
	int r = cwe_catalog_load(dirs, n_dirs, &cat, &err);
	if (r == 0)
		threat_cwe_precision(lib, cat, d);
	else if (err.code != TS_E_NOTFOUND)
		lib_diag_add(d, false, TS_E_INVALID, NULL, NULL, "%s", err.msg);
	cwe_catalog_free(cat);
}
