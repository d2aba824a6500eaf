/* SPDX-License-Identifier: Apache-2.0 */
/* Loading the threat library: reading the directories, overlaying them, validating
 * every entry into C structs with parsed conditions, lookups and type info. */
#include "engine/library/library.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/expr/expr.h"
#include "engine/jsonload.h"
#include "engine/library/library_internal.h"
#include "engine/model/model.h"

/* ---- problems ---------------------------------------------------------- */

static void diag_addv(struct lib_diag *d, bool warning, int code, const char *file,
                      const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static void diag_addv(struct lib_diag *d, bool warning, int code, const char *file,
                      const char *path, const char *fmt, va_list ap)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->items = ts_realloc(d->items, d->cap * sizeof(*d->items));
	}
	struct lib_diag_item *it = &d->items[d->n++];
	it->warning = warning;
	it->file = ts_strdup(file);
	it->path = ts_strdup(path);
	struct ts_buf b = {0};
	char tmp[1024];
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	ts_buf_puts(&b, tmp);
	it->msg = ts_buf_steal(&b);
	if (!warning) {
		if (!d->code)
			d->code = code ? code : TS_E_INVALID;
		d->n_errors++;
	}
}

void lib_diag_add(struct lib_diag *d, bool warning, int code, const char *file, const char *path,
                  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_addv(d, warning, code, file, path, fmt, ap);
	va_end(ap);
}

void lib_diag_free(struct lib_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].path);
		free(d->items[i].msg);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

static bool is_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* base + a + b + c as a new string: paths are made for every entry, so
 * without printf. */
static char *concat3(const char *base, const char *a, const char *b, size_t blen,
                     const char *c)
{
	size_t lb = strlen(base), la = strlen(a), lc = strlen(c);
	char *s = ts_malloc(lb + la + blen + lc + 1);
	memcpy(s, base, lb);
	memcpy(s + lb, a, la);
	memcpy(s + lb + la, b, blen);
	memcpy(s + lb + la + blen, c, lc + 1);
	return s;
}

char *lib_path_key(const char *base, const char *key)
{
	if (is_identifier(key))
		return concat3(base, ".", key, strlen(key), "");
	return concat3(base, "[\"", key, strlen(key), "\"]");
}

char *lib_path_index(const char *base, size_t index)
{
	char digits[24];
	size_t n = sizeof(digits);
	do {
		digits[--n] = (char)('0' + index % 10);
		index /= 10;
	} while (index);
	return concat3(base, "[", digits + n, sizeof(digits) - n, "]");
}

/* ---- compliance id shapes ---------------------------------------------- */

static const char *const frameworks[] = {"ccpa",        "gdpr",       "hipaa",   "iso-27001",
                                         "nist-800-53", "owasp-asvs", "pci-dss", "soc2"};

bool lib_framework_known(const char *framework)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(frameworks); i++)
		if (strcmp(frameworks[i], framework) == 0)
			return true;
	return false;
}

/* Parses a decimal number of 1..maxdigits digits at *s, advancing it; -1 when none. */
static long take_num(const char **s, int maxdigits)
{
	long v = 0;
	int n = 0;
	while (isdigit((unsigned char)**s) && n < maxdigits) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)**s))
		return -1;
	return v;
}

static bool take_char(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

/* "(a)(1)" style suffixes: one or more parenthesised [a-z0-9]+ groups. */
static bool take_paren_groups(const char **s, bool required)
{
	int n = 0;
	while (**s == '(') {
		(*s)++;
		const char *start = *s;
		while (isalnum((unsigned char)**s))
			(*s)++;
		if (*s == start || !take_char(s, ')'))
			return false;
		n++;
	}
	return n > 0 || !required;
}

static const char *nist_shape(const char *id)
{
	const char *s = id;
	if (!isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) || s[2] != '-')
		return "a NIST SP 800-53 control such as AC-2 or AC-2(1)";
	s += 3;
	long n = take_num(&s, 2);
	if (n < 1)
		return "a NIST SP 800-53 control such as AC-2 or AC-2(1)";
	if (*s == '(') {
		s++;
		if (take_num(&s, 2) < 1 || !take_char(&s, ')'))
			return "a NIST SP 800-53 control such as AC-2 or AC-2(1)";
	}
	return *s ? "a NIST SP 800-53 control such as AC-2 or AC-2(1)" : NULL;
}

static const char *iso_shape(const char *id)
{
	static const char *const msg =
	    "an ISO/IEC 27001:2022 Annex A control: A.5.1-A.5.37, A.6.1-A.6.8, "
	    "A.7.1-A.7.14 or A.8.1-A.8.34";
	const char *s = id;
	if (!take_char(&s, 'A') || !take_char(&s, '.'))
		return msg;
	long theme = take_num(&s, 1);
	if (!take_char(&s, '.'))
		return msg;
	long ctl = take_num(&s, 2);
	if (*s || ctl < 1)
		return msg;
	static const long max[] = {37, 8, 14, 34}; /* themes 5..8 */
	if (theme < 5 || theme > 8 || ctl > max[theme - 5])
		return msg;
	return NULL;
}

static const char *asvs_shape(const char *id)
{
	const char *s = id;
	for (int i = 0; i < 3; i++) {
		if (take_num(&s, 2) < 1 || (i < 2 && !take_char(&s, '.')))
			return "an OWASP ASVS 4.0.3 requirement such as 2.1.1 "
			       "(chapter.section.item)";
	}
	return *s ? "an OWASP ASVS 4.0.3 requirement such as 2.1.1 (chapter.section.item)" : NULL;
}

static const char *pci_shape(const char *id)
{
	static const char *const msg =
	    "a PCI DSS v4.0 requirement such as 6.2.4 (requirement 1-12, then sub-numbers)";
	const char *s = id;
	long req = take_num(&s, 2);
	if (req < 1 || req > 12)
		return msg;
	int parts = 0;
	while (*s == '.') {
		s++;
		if (take_num(&s, 2) < 1)
			return msg;
		parts++;
	}
	return (*s || parts > 3) ? msg : NULL;
}

static const char *gdpr_shape(const char *id)
{
	static const char *const msg = "a GDPR article such as \"Art. 32\" or \"Art. 32(1)\"";
	const char *s = id;
	if (strncmp(s, "Art. ", 5) != 0)
		return msg;
	s += 5;
	long art = take_num(&s, 2);
	if (art < 1 || art > 99 || !take_paren_groups(&s, false) || *s)
		return msg;
	return NULL;
}

static const char *hipaa_shape(const char *id)
{
	static const char *const msg = "a HIPAA Security Rule section such as 164.312(a)(1)";
	const char *s = id;
	if (strncmp(s, "164.", 4) != 0)
		return msg;
	s += 4;
	if (take_num(&s, 3) < 100 || !take_paren_groups(&s, false) || *s)
		return msg;
	return NULL;
}

static const char *ccpa_shape(const char *id)
{
	static const char *const msg = "a CCPA section such as 1798.100 or 1798.150(a)";
	const char *s = id;
	if (strncmp(s, "1798.", 5) != 0)
		return msg;
	s += 5;
	if (take_num(&s, 3) < 100 || !take_paren_groups(&s, false) || *s)
		return msg;
	return NULL;
}

static const char *soc2_shape(const char *id)
{
	static const char *const msg = "a SOC 2 criterion such as CC6.1, A1.2, C1.1, PI1.3 or P4.2";
	const char *s = id;
	static const char *const series[] = {"CC", "PI", "A", "C", "P"};
	size_t k = 0;
	for (; k < TS_ARRAY_SIZE(series); k++) {
		size_t len = strlen(series[k]);
		if (strncmp(s, series[k], len) == 0 && isdigit((unsigned char)s[len])) {
			s += len;
			break;
		}
	}
	if (k == TS_ARRAY_SIZE(series))
		return msg;
	if (take_num(&s, 1) < 1 || !take_char(&s, '.') || take_num(&s, 2) < 1 || *s)
		return msg;
	return NULL;
}

const char *lib_compliance_shape_error(const char *framework, const char *id)
{
	if (strcmp(framework, "nist-800-53") == 0)
		return nist_shape(id);
	if (strcmp(framework, "iso-27001") == 0)
		return iso_shape(id);
	if (strcmp(framework, "owasp-asvs") == 0)
		return asvs_shape(id);
	if (strcmp(framework, "pci-dss") == 0)
		return pci_shape(id);
	if (strcmp(framework, "gdpr") == 0)
		return gdpr_shape(id);
	if (strcmp(framework, "hipaa") == 0)
		return hipaa_shape(id);
	if (strcmp(framework, "ccpa") == 0)
		return ccpa_shape(id);
	if (strcmp(framework, "soc2") == 0)
		return soc2_shape(id);
	return "unknown";
}

/* ---- loading files ----------------------------------------------------- */

static const char *intern(struct library *lib, char *s)
{
	if (lib->n_strings == lib->cap_strings) {
		lib->cap_strings = lib->cap_strings ? lib->cap_strings * 2 : 64;
		lib->strings = ts_realloc(lib->strings, lib->cap_strings * sizeof(char *));
	}
	lib->strings[lib->n_strings++] = s;
	return s;
}

/* An entry read from some directory, before overlaying. */
struct pending {
	const char *id;
	json_t *entry; /* borrowed from lib->docs */
	const char *file;
	const char *path;
	size_t dir;
	size_t seq;
};

struct pending_list {
	struct pending *v;
	size_t n, cap;
};

static void pending_add(struct pending_list *l, const struct pending *p)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = ts_realloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n] = *p;
	l->v[l->n].seq = l->n;
	l->n++;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Checks the top level {"KEY": [...]} ("$schema" and "x-" keys allowed) and
 * returns the array, or NULL after recording the problem. */
static json_t *top_array(struct lib_diag *d, const char *file, json_t *doc, const char *key,
                         bool array)
{
	if (!json_is_object(doc)) {
		lib_diag_add(d, false, TS_E_INVALID, file, "$", "must be an object with \"%s\"",
		             key);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach (doc, k, v) {
		/* The declared vocabulary lives beside the component types. */
		bool vocab = strcmp(key, "component_types") == 0 &&
		             (strcmp(k, "properties") == 0 || strcmp(k, "tags") == 0);
		if (strcmp(k, key) != 0 && strcmp(k, "$schema") != 0 && strncmp(k, "x-", 2) != 0 &&
		    !vocab) {
			char *p = lib_path_key("$", k);
			lib_diag_add(d, false, TS_E_INVALID, file, p,
			             "unknown field (expected \"%s\")", key);
			free(p);
		}
	}
	json_t *a = json_object_get(doc, key);
	if (!a || (array ? !json_is_array(a) : !json_is_object(a))) {
		char *p = lib_path_key("$", key);
		lib_diag_add(d, false, TS_E_INVALID, file, a ? p : "$",
		             a ? "must be an %s" : "missing required field \"%s\"",
		             a ? (array ? "array" : "object") : key);
		free(p);
		return NULL;
	}
	return a;
}

/* Collects the entries of one file into l. */
static void collect_entries(struct library *lib, struct lib_diag *d, const char *file, json_t *doc,
                            const char *key, size_t dir, struct pending_list *l)
{
	json_t *arr = top_array(d, file, doc, key, true);
	if (!arr)
		return;
	char *base = lib_path_key("$", key);
	size_t i;
	json_t *e;
	json_array_foreach (arr, i, e) {
		char *path = lib_path_index(base, i);
		json_t *id = json_object_get(e, "id");
		if (!json_is_object(e)) {
			lib_diag_add(d, false, TS_E_INVALID, file, path, "must be an object");
			free(path);
		} else if (!json_is_string(id) || !*json_string_value(id)) {
			char *p = lib_path_key(path, "id");
			lib_diag_add(d, false, TS_E_INVALID, file, id ? p : path,
			             id ? "must be a non-empty string"
			                : "missing required field \"id\"");
			free(p);
			free(path);
		} else {
			struct pending p = {.id = json_string_value(id),
			                    .entry = e,
			                    .file = file,
			                    .path = intern(lib, path),
			                    .dir = dir};
			pending_add(l, &p);
		}
	}
	free(base);
}


/* ---- validating entries ------------------------------------------------ */

void lib_verr(struct lib_vctx *v, const char *key, const char *fmt, ...)
{
	char *p = key ? lib_path_key(v->path, key) : ts_strdup(v->path);
	va_list ap;
	va_start(ap, fmt);
	diag_addv(v->d, false, TS_E_INVALID, v->file, p, fmt, ap);
	va_end(ap);
	free(p);
}

bool lib_vok(const struct lib_vctx *v)
{
	return v->d->n_errors == v->errors_before;
}

void lib_v_keys(struct lib_vctx *v, const char *const *allowed, size_t n)
{
	const char *k;
	json_t *val;
	json_object_foreach (v->obj, k, val) {
		bool ok = strncmp(k, "x-", 2) == 0;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok)
			lib_verr(v, k, "unknown field");
	}
}

const char *lib_v_str(struct lib_vctx *v, const char *key, bool required)
{
	json_t *j = json_object_get(v->obj, key);
	if (!j) {
		if (required)
			lib_verr(v, NULL, "missing required field \"%s\"", key);
		return NULL;
	}
	if (!json_is_string(j) || !*json_string_value(j)) {
		lib_verr(v, key, "must be a non-empty string");
		return NULL;
	}
	return json_string_value(j);
}

/* Index of the string value of key in names, def when absent and optional, -1
 * after an error. */
int lib_v_enum(struct lib_vctx *v, const char *key, const char *const *names, size_t n,
               bool required, int def)
{
	json_t *j = json_object_get(v->obj, key);
	if (!j && !required)
		return def;
	const char *s = lib_v_str(v, key, required);
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	struct ts_buf b = {0};
	for (size_t i = 0; i < n; i++)
		ts_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	lib_verr(v, key, "unknown value \"%s\" (expected one of: %s)", s, b.data);
	ts_buf_free(&b);
	return -1;
}

/* A list of non-empty strings (new array of borrowed strings). */
const char **lib_v_str_list(struct lib_vctx *v, const char *key, bool required, size_t *ret_n)
{
	*ret_n = 0;
	json_t *j = json_object_get(v->obj, key);
	if (!j) {
		if (required)
			lib_verr(v, NULL, "missing required field \"%s\"", key);
		return ts_calloc(1, sizeof(char *));
	}
	if (!json_is_array(j) || (required && json_array_size(j) == 0)) {
		lib_verr(v, key,
		         required ? "must be a non-empty array of strings"
		                  : "must be an array of strings");
		return ts_calloc(1, sizeof(char *));
	}
	const char **out = ts_calloc(json_array_size(j) + 1, sizeof(char *));
	size_t i;
	json_t *e;
	json_array_foreach (j, i, e) {
		if (!json_is_string(e) || !*json_string_value(e)) {
			char *base = lib_path_key(v->path, key);
			char *p = lib_path_index(base, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "must be a non-empty string");
			free(p);
			free(base);
			continue;
		}
		out[(*ret_n)++] = json_string_value(e);
	}
	return out;
}

static int *v_int_list(struct lib_vctx *v, const char *key, size_t *ret_n)
{
	*ret_n = 0;
	json_t *j = json_object_get(v->obj, key);
	if (!j)
		return ts_calloc(1, sizeof(int));
	if (!json_is_array(j)) {
		lib_verr(v, key, "must be an array of integers");
		return ts_calloc(1, sizeof(int));
	}
	int *out = ts_calloc(json_array_size(j) + 1, sizeof(int));
	size_t i;
	json_t *e;
	json_array_foreach (j, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > 100000) {
			char *base = lib_path_key(v->path, key);
			char *p = lib_path_index(base, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "must be an integer from 1 to 100000");
			free(p);
			free(base);
			continue;
		}
		out[(*ret_n)++] = (int)json_integer_value(e);
	}
	return out;
}

static const char *uses_name(unsigned bit)
{
	switch (bit) {
	case EXPR_USES_COMPONENT:
		return "component";
	case EXPR_USES_FLOW:
		return "flow";
	case EXPR_USES_SOURCE:
		return "source";
	case EXPR_USES_DESTINATION:
		return "destination";
	default:
		return "model";
	}
}

/* Parses the optional expression at key; roots outside allowed are errors. */
static struct expr *v_condition(struct lib_vctx *v, const char *key, unsigned allowed,
                                const char *why, const char **ret_src)
{
	*ret_src = NULL;
	if (!json_object_get(v->obj, key))
		return NULL;
	const char *src = lib_v_str(v, key, false);
	if (!src)
		return NULL;
	struct expr *e = NULL;
	struct ts_err perr = {0};
	if (expr_parse(src, &e, &perr) < 0) {
		lib_verr(v, key, "%s", perr.msg);
		return NULL;
	}
	unsigned bad = expr_uses(e) & ~allowed;
	if (bad) {
		static const unsigned bits[] = {EXPR_USES_COMPONENT, EXPR_USES_FLOW,
		                                EXPR_USES_SOURCE, EXPR_USES_DESTINATION,
		                                EXPR_USES_MODEL};
		unsigned first = 0;
		for (size_t i = 0; i < TS_ARRAY_SIZE(bits) && !first; i++)
			if (bad & bits[i])
				first = bits[i];
		lib_verr(v, key, "uses the root \"%s\", which %s", uses_name(first), why);
		expr_free(e);
		return NULL;
	}
	*ret_src = src;
	return e;
}

static bool id_shape(const char *id, char prefix)
{
	if (id[0] != prefix || id[1] != '-' || !id[2])
		return false;
	bool prev_dash = true;
	for (const char *s = id + 2; *s; s++) {
		if (*s == '-') {
			if (prev_dash)
				return false;
			prev_dash = true;
		} else if (isupper((unsigned char)*s) || isdigit((unsigned char)*s)) {
			prev_dash = false;
		} else {
			return false;
		}
	}
	return !prev_dash;
}

static bool type_id_shape(const char *id)
{
	if (!islower((unsigned char)id[0]))
		return false;
	for (const char *s = id; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* The optional "aliases" member: former ids shaped like the entry's own
 * (prefix 'T' or 'C'), none repeated. New array of borrowed strings. */
static const char **v_aliases(struct lib_vctx *v, char prefix, size_t *ret_n)
{
	const char **al = lib_v_str_list(v, "aliases", false, ret_n);
	for (size_t i = 0; i < *ret_n; i++) {
		if (!id_shape(al[i], prefix))
			lib_verr(v, "aliases", "\"%s\" must look like %c-WORD[-WORD...]", al[i],
			         prefix);
		for (size_t k = 0; k < i; k++)
			if (strcmp(al[k], al[i]) == 0)
				lib_verr(v, "aliases", "\"%s\" is listed twice", al[i]);
	}
	return al;
}

static const char *const kind_names[] = {"process", "store", "actor"};

static bool validate_type(struct lib_vctx *v, struct lib_component_type *t)
{
	static const char *const keys[] = {"id", "name", "kind", "description",
	                                   "default_properties"};
	lib_v_keys(v, keys, TS_ARRAY_SIZE(keys));
	t->id = lib_v_str(v, "id", true);
	if (t->id && !type_id_shape(t->id))
		lib_verr(v, "id", "must match [a-z][a-z0-9_]*");
	t->name = lib_v_str(v, "name", true);
	t->description = lib_v_str(v, "description", true);
	int k = lib_v_enum(v, "kind", kind_names, TS_ARRAY_SIZE(kind_names), true, 0);
	if (k >= 0) {
		t->kind = (enum lib_kind)k;
		t->kind_name = kind_names[k];
	}
	json_t *dp = json_object_get(v->obj, "default_properties");
	if (dp && !json_is_object(dp)) {
		lib_verr(v, "default_properties", "must be an object");
	} else if (dp) {
		const char *k2;
		json_t *val;
		json_object_foreach (dp, k2, val) {
			bool ok = json_is_string(val) || json_is_number(val) ||
			          json_is_boolean(val) || json_is_array(val);
			size_t i;
			json_t *e;
			if (json_is_array(val))
				json_array_foreach (val, i, e)
					ok = ok && json_is_string(e);
			if (!ok) {
				char *p = lib_path_key(v->path, "default_properties");
				char *p2 = lib_path_key(p, k2);
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p2,
				             "must be a string, number, boolean or list of "
				             "strings");
				free(p);
				free(p2);
			}
		}
	}
	t->default_properties = dp;
	return lib_vok(v);
}

static const struct lib_component_type *find_type(const struct library *lib, const char *id);

/* Type ids of list that the library does not define are errors. */
static void v_known_types(struct lib_vctx *v, const char *key, const char **ids, size_t n)
{
	json_t *arr = json_object_get(v->obj, key);
	size_t i;
	json_t *e;
	json_array_foreach (arr, i, e) {
		const char *id = json_string_value(e);
		if (id && *id && !find_type(v->lib, id)) {
			char *base = lib_path_key(v->path, key);
			char *p = lib_path_index(base, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "unknown component type \"%s\"", id);
			free(p);
			free(base);
		}
	}
	(void)ids;
	(void)n;
}

static int compliance_cmp(const void *a, const void *b)
{
	const struct lib_compliance *x = a, *y = b;
	return strcmp(x->framework, y->framework);
}

static void validate_compliance(struct lib_vctx *v, struct lib_countermeasure *c)
{
	json_t *comp = json_object_get(v->obj, "compliance");
	if (!comp)
		return;
	if (!json_is_object(comp)) {
		lib_verr(v, "compliance", "must be an object of framework: [control ids]");
		return;
	}
	struct lib_compliance *out = ts_calloc(json_object_size(comp) + 1, sizeof(*out));
	size_t n = 0;
	char *base = lib_path_key(v->path, "compliance");
	const char *fw;
	json_t *ids;
	json_object_foreach (comp, fw, ids) {
		char *fpath = lib_path_key(base, fw);
		if (!lib_framework_known(fw)) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, fpath,
			             "unknown framework (expected one of: ccpa, gdpr, hipaa, "
			             "iso-27001, nist-800-53, owasp-asvs, pci-dss, soc2)");
			free(fpath);
			continue;
		}
		if (!json_is_array(ids) || json_array_size(ids) == 0) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, fpath,
			             "must be a non-empty array of control ids");
			free(fpath);
			continue;
		}
		struct lib_compliance *lc = &out[n++];
		lc->framework = fw;
		lc->ids = ts_calloc(json_array_size(ids) + 1, sizeof(char *));
		size_t i;
		json_t *e;
		json_array_foreach (ids, i, e) {
			const char *id = json_string_value(e);
			const char *shape = id ? lib_compliance_shape_error(fw, id) : NULL;
			if (id && !shape) {
				lc->ids[lc->n_ids++] = id;
				continue;
			}
			char *p = lib_path_index(fpath, i);
			if (!id)
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
				             "must be a string");
			else
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
				             "\"%s\" is not %s", id, shape);
			free(p);
		}
		free(fpath);
	}
	free(base);
	qsort(out, n, sizeof(*out), compliance_cmp);
	c->compliance = out;
	c->n_compliance = n;
}

static const char *const relation_names[] = {"in_front", "behind", "connected"};

static void validate_satisfied_by(struct lib_vctx *v, struct lib_countermeasure *c)
{
	json_t *sb = json_object_get(v->obj, "satisfied_by");
	if (!sb)
		return;
	char *path = lib_path_key(v->path, "satisfied_by");
	if (!json_is_object(sb)) {
		lib_diag_add(v->d, false, TS_E_INVALID, v->file, path,
		             "must be an object {provider_types, relation, condition}");
		free(path);
		return;
	}
	struct lib_vctx sv = *v;
	sv.path = path;
	sv.obj = sb;
	static const char *const keys[] = {"provider_types", "relation", "condition"};
	lib_v_keys(&sv, keys, TS_ARRAY_SIZE(keys));
	struct lib_satisfied_by *s = ts_calloc(1, sizeof(*s));
	s->provider_types = lib_v_str_list(&sv, "provider_types", true, &s->n_provider_types);
	v_known_types(&sv, "provider_types", s->provider_types, s->n_provider_types);
	int r = lib_v_enum(&sv, "relation", relation_names, TS_ARRAY_SIZE(relation_names), true, 0);
	if (r >= 0) {
		s->relation = (enum lib_relation)r;
		s->relation_name = relation_names[r];
	}
	s->condition = v_condition(&sv, "condition", ~0u, "", &s->condition_src);
	c->satisfied_by = s;
	sv.path = NULL;
	free(path);
}

static void free_cm(struct lib_countermeasure *c)
{
	free((void *)c->aliases);
	free((void *)c->how_to);
	free((void *)c->training);
	for (size_t i = 0; i < c->n_compliance; i++)
		free((void *)c->compliance[i].ids);
	free((void *)c->compliance);
	if (c->satisfied_by) {
		free((void *)c->satisfied_by->provider_types);
		expr_free((struct expr *)c->satisfied_by->condition);
		free((void *)c->satisfied_by);
	}
}

static void validate_priority(struct lib_vctx *v, struct lib_countermeasure *c)
{
	json_t *prio = json_object_get(v->obj, "priority");
	if (!prio)
		lib_verr(v, NULL, "missing required field \"priority\"");
	else if (!json_is_integer(prio) || json_integer_value(prio) < 1 ||
	         json_integer_value(prio) > 4)
		lib_verr(v, "priority", "must be an integer from 1 (most urgent) to 4");
	else
		c->priority = (int)json_integer_value(prio);
}

/* The stack id of a how-to block: its label when stacks.json lists it, the id
 * of a synonym (with a warning: the library labels blocks with ids), NULL
 * after an error for a stack the library does not list. A second block of the
 * same stack in one countermeasure is a warning: one block per stack. */
static const char *how_to_stack(struct lib_vctx *hv, const struct lib_how_to *prev, size_t n_prev)
{
	const char *name = lib_v_str(hv, "stack", true);
	if (!name || !hv->lib)
		return name;
	const struct lib_stack *s = library_stack(hv->lib, name);
	char *p = lib_path_key(hv->path, "stack");
	if (!s) {
		lib_diag_add(hv->d, false, TS_E_INVALID, hv->file, p,
		             "unknown stack \"%s\" (not in the library's stacks.json)", name);
		free(p);
		return NULL;
	}
	if (strcmp(s->id, name) != 0)
		lib_diag_add(hv->d, true, 0, hv->file, p,
		             "\"%s\" is a synonym: label the block with the stack id \"%s\"", name,
		             s->id);
	for (size_t i = 0; i < n_prev; i++)
		if (strcmp(prev[i].stack, s->id) == 0) {
			lib_diag_add(hv->d, true, 0, hv->file, p,
			             "a second how-to for the stack \"%s\": one block per stack",
			             s->id);
			break;
		}
	free(p);
	return s->id;
}

/* how_to: [{stack, text}]; c->how_to is always allocated (empty when absent). */
static void validate_how_to(struct lib_vctx *v, struct lib_countermeasure *c)
{
	json_t *how = json_object_get(v->obj, "how_to");
	c->how_to = ts_calloc(1, sizeof(struct lib_how_to));
	if (how && !json_is_array(how)) {
		lib_verr(v, "how_to", "must be an array of {stack, text}");
		return;
	}
	if (!how)
		return;
	if (json_array_size(how) > LIBRARY_HOW_TO_MAX) {
		lib_verr(v, "how_to", "has more than %d blocks", LIBRARY_HOW_TO_MAX);
		return;
	}
	struct lib_how_to *h = ts_calloc(json_array_size(how) + 1, sizeof(*h));
	free((void *)c->how_to);
	c->how_to = h;
	char *base = lib_path_key(v->path, "how_to");
	size_t i;
	json_t *e;
	json_array_foreach (how, i, e) {
		char *p = lib_path_index(base, i);
		struct lib_vctx hv = *v;
		hv.path = p;
		hv.obj = e;
		if (!json_is_object(e)) {
			lib_verr(&hv, NULL, "must be an object {stack, text}");
		} else {
			static const char *const hk[] = {"stack", "text"};
			lib_v_keys(&hv, hk, 2);
			h[c->n_how_to].stack = how_to_stack(&hv, h, c->n_how_to);
			h[c->n_how_to].text = lib_v_str(&hv, "text", true);
			if (h[c->n_how_to].stack && h[c->n_how_to].text)
				c->n_how_to++;
		}
		free(p);
	}
	free(base);
}

/* One training link {title, url} of an http(s) URL, added to l when valid. */
static void validate_training_link(struct lib_vctx *tv, struct lib_countermeasure *c,
                                   struct lib_link *l)
{
	if (!json_is_object(tv->obj)) {
		lib_verr(tv, NULL, "must be an object {title, url}");
		return;
	}
	static const char *const tk[] = {"title", "url"};
	lib_v_keys(tv, tk, 2);
	const char *title = lib_v_str(tv, "title", true);
	const char *url = lib_v_str(tv, "url", true);
	if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
		lib_verr(tv, "url", "must be an http(s) URL");
		url = NULL;
	}
	if (title && url) {
		l[c->n_training].title = title;
		l[c->n_training++].url = url;
	}
}

/* training: [{title, url}]; c->training is always allocated (empty when absent). */
static void validate_training(struct lib_vctx *v, struct lib_countermeasure *c)
{
	json_t *tr = json_object_get(v->obj, "training");
	c->training = ts_calloc(1, sizeof(struct lib_link));
	if (tr && !json_is_array(tr)) {
		lib_verr(v, "training", "must be an array of {title, url}");
		return;
	}
	if (!tr)
		return;
	struct lib_link *l = ts_calloc(json_array_size(tr) + 1, sizeof(*l));
	free((void *)c->training);
	c->training = l;
	char *base = lib_path_key(v->path, "training");
	size_t i;
	json_t *e;
	json_array_foreach (tr, i, e) {
		char *p = lib_path_index(base, i);
		struct lib_vctx tv = *v;
		tv.path = p;
		tv.obj = e;
		validate_training_link(&tv, c, l);
		free(p);
	}
	free(base);
}

static bool validate_cm(struct lib_vctx *v, struct lib_countermeasure *c)
{
	static const char *const keys[] = {
	    "id",     "title",           "aliases",  "priority",   "requirement",
	    "how_to", "acceptance_test", "training", "compliance", "satisfied_by"};
	lib_v_keys(v, keys, TS_ARRAY_SIZE(keys));
	c->id = lib_v_str(v, "id", true);
	if (c->id && !id_shape(c->id, 'C'))
		lib_verr(v, "id",
		         "must look like C-WORD[-WORD...] (upper case letters and digits)");
	c->title = lib_v_str(v, "title", true);
	c->aliases = v_aliases(v, 'C', &c->n_aliases);
	c->requirement = lib_v_str(v, "requirement", true);
	c->acceptance_test = lib_v_str(v, "acceptance_test", false);
	validate_priority(v, c);
	validate_how_to(v, c);
	validate_training(v, c);
	validate_compliance(v, c);
	validate_satisfied_by(v, c);
	return lib_vok(v);
}

static const char *const severity_names[] = {"low", "medium", "high", "critical"};
static const char *const likelihood_names[] = {"low", "medium", "high"};
static const char *const scope_names[] = {"component", "flow", "system"};

/* STRIDE letter of a category given as a letter or a name, or 0. */
static char stride_letter(const char *s)
{
	static const struct {
		char letter;
		const char *name;
	} cats[] = {{'S', "spoofing"},          {'T', "tampering"},
	            {'R', "repudiation"},       {'I', "information disclosure"},
	            {'D', "denial of service"}, {'E', "elevation of privilege"}};
	char norm[64];
	size_t n = 0;
	for (; s[n] && n + 1 < sizeof(norm); n++)
		norm[n] = (s[n] == '_' || s[n] == '-') ? ' ' : (char)tolower((unsigned char)s[n]);
	norm[n] = '\0';
	for (size_t i = 0; i < TS_ARRAY_SIZE(cats); i++) {
		if ((n == 1 && norm[0] == tolower((unsigned char)cats[i].letter)) ||
		    strcmp(norm, cats[i].name) == 0)
			return cats[i].letter;
	}
	return 0;
}

static void free_threat(struct lib_threat *t)
{
	free((void *)t->aliases);
	free((void *)t->applies_to);
	free((void *)t->detected_by);
	expr_free((struct expr *)t->condition);
	free((void *)t->cwe);
	free((void *)t->capec);
	free((void *)t->countermeasures);
}

static const struct lib_countermeasure *find_cm(const struct library *lib, const char *id);

/* stride: categories as letters or names, stored as letters in STRIDE order. */
static void validate_stride(struct lib_vctx *v, struct lib_threat *t)
{
	size_t n = 0;
	const char **stride = lib_v_str_list(v, "stride", true, &n);
	bool seen[6] = {false};
	static const char order[] = "STRIDE";
	for (size_t i = 0; i < n; i++) {
		char l = stride_letter(stride[i]);
		if (!l) {
			char *base = lib_path_key(v->path, "stride");
			char *p = lib_path_index(base, i);
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "\"%s\" is not a STRIDE category (S, T, R, I, D, E or "
			             "their names)",
			             stride[i]);
			free(p);
			free(base);
			continue;
		}
		seen[strchr(order, l) - order] = true;
	}
	free(stride);
	size_t k = 0;
	for (size_t i = 0; i < 6; i++)
		if (seen[i])
			t->stride[k++] = order[i];
	t->stride[k] = '\0';
}

/* scope and the condition, whose roots depend on the scope. */
static void validate_scope(struct lib_vctx *v, struct lib_threat *t)
{
	int sc = lib_v_enum(v, "scope", scope_names, 3, true, 0);
	t->scope = sc == 1 ? LIB_SCOPE_FLOW : sc == 2 ? LIB_SCOPE_SYSTEM : LIB_SCOPE_COMPONENT;
	if (sc == 0)
		t->condition = v_condition(v, "condition", EXPR_USES_COMPONENT | EXPR_USES_MODEL,
		                           "a component-scoped threat does not have (use "
		                           "component and model)",
		                           &t->condition_src);
	else if (sc == 1)
		t->condition = v_condition(v, "condition",
		                           EXPR_USES_FLOW | EXPR_USES_SOURCE |
		                               EXPR_USES_DESTINATION | EXPR_USES_MODEL,
		                           "a flow-scoped threat does not have (use flow, source, "
		                           "destination and model)",
		                           &t->condition_src);
	else if (sc == 2)
		t->condition = v_condition(v, "condition", EXPR_USES_MODEL,
		                           "a system-scoped threat does not have (use model)",
		                           &t->condition_src);
}

/* countermeasures: known ids, each once; t->countermeasures is always allocated. */
static void validate_threat_cms(struct lib_vctx *v, struct lib_threat *t)
{
	json_t *cms = json_object_get(v->obj, "countermeasures");
	const struct lib_countermeasure **out = ts_calloc(json_array_size(cms) + 1, sizeof(*out));
	t->countermeasures = out;
	if (!cms) {
		lib_verr(v, NULL, "missing required field \"countermeasures\"");
		return;
	}
	if (!json_is_array(cms)) {
		lib_verr(v, "countermeasures", "must be an array of countermeasure ids");
		return;
	}
	char *base = lib_path_key(v->path, "countermeasures");
	size_t i;
	json_t *e;
	json_array_foreach (cms, i, e) {
		char *p = lib_path_index(base, i);
		const char *id = json_string_value(e);
		const struct lib_countermeasure *c = id ? find_cm(v->lib, id) : NULL;
		if (!id) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "must be a countermeasure id");
		} else if (!c) {
			lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
			             "unknown countermeasure \"%s\"", id);
		} else {
			bool dup = false;
			for (size_t j = 0; j < t->n_countermeasures; j++)
				dup = dup || out[j] == c;
			if (dup)
				lib_diag_add(v->d, false, TS_E_INVALID, v->file, p,
				             "countermeasure \"%s\" listed twice", id);
			else
				out[t->n_countermeasures++] = c;
		}
		free(p);
	}
	free(base);
}

static bool validate_threat(struct lib_vctx *v, struct lib_threat *t)
{
	static const char *const keys[] = {
	    "id",         "title", "aliases",         "description", "stride",
	    "applies_to", "scope", "condition",       "severity",    "likelihood",
	    "cwe",        "capec", "countermeasures", "detected_by", "unconditional"};
	lib_v_keys(v, keys, TS_ARRAY_SIZE(keys));
	t->id = lib_v_str(v, "id", true);
	if (t->id && !id_shape(t->id, 'T'))
		lib_verr(v, "id",
		         "must look like T-WORD[-WORD...] (upper case letters and digits)");
	t->title = lib_v_str(v, "title", true);
	t->aliases = v_aliases(v, 'T', &t->n_aliases);
	t->description = lib_v_str(v, "description", true);
	validate_stride(v, t);
	t->applies_to = lib_v_str_list(v, "applies_to", true, &t->n_applies_to);
	v_known_types(v, "applies_to", t->applies_to, t->n_applies_to);
	validate_scope(v, t);
	t->unconditional = lib_v_str(v, "unconditional", false);
	if (t->unconditional && strlen(t->unconditional) > LIBRARY_UNCONDITIONAL_MAX)
		lib_verr(v, "unconditional", "must be one sentence of at most %d bytes",
		         LIBRARY_UNCONDITIONAL_MAX);
	if (t->unconditional && t->condition_src)
		lib_verr(v, "unconditional",
		         "a threat with a condition does not say why it is unconditional: "
		         "drop one of the two");
	int sev = lib_v_enum(v, "severity", severity_names, 4, true, 0);
	if (sev >= 0) {
		t->severity = severity_names[sev];
		t->severity_rank = sev + 1;
	}
	int lik = lib_v_enum(v, "likelihood", likelihood_names, 3, true, 0);
	if (lik >= 0) {
		t->likelihood = likelihood_names[lik];
		t->likelihood_rank = lik + 1;
	}
	t->cwe = v_int_list(v, "cwe", &t->n_cwe);
	t->capec = v_int_list(v, "capec", &t->n_capec);
	t->detected_by = lib_v_str_list(v, "detected_by", false, &t->n_detected_by);
	for (size_t i = 0; i < t->n_detected_by; i++) {
		const char *colon = strchr(t->detected_by[i], ':');
		if (!colon || colon == t->detected_by[i] || !colon[1])
			lib_verr(v, "detected_by",
			         "\"%s\" must be TOOL:RULE, e.g. \"codeql:py/sql-injection\"",
			         t->detected_by[i]);
	}
	validate_threat_cms(v, t);
	return lib_vok(v);
}

/* ---- mappings ---------------------------------------------------------- */

static const char *const mapping_formats[] = {"otm", "threatdragon"};

static bool known_format(const char *fmt)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(mapping_formats); i++)
		if (strcmp(mapping_formats[i], fmt) == 0)
			return true;
	return false;
}

/* container_types: {"otm": ["vpc", "AWS::EC2::Subnet", ...]}, the foreign types
 * and tags of network or account containers (a VPC, a subnet, a resource
 * group), which an importer turns into trust zones instead of components.
 * Merged over directories into lib->containers, lower-cased. */
static void load_containers(struct library *lib, struct lib_diag *d, const char *file, json_t *ct)
{
	if (!json_is_object(ct)) {
		lib_diag_add(d, false, TS_E_INVALID, file, "$.container_types",
		             "must be an object of format: [foreign types]");
		return;
	}
	const char *fmt;
	json_t *list;
	json_object_foreach (ct, fmt, list) {
		char *fpath = lib_path_key("$.container_types", fmt);
		if (!known_format(fmt) || !json_is_array(list)) {
			lib_diag_add(d, false, TS_E_INVALID, file, fpath,
			             known_format(fmt)
			                 ? "must be an array of foreign types"
			                 : "unknown format (expected otm or threatdragon)");
			free(fpath);
			continue;
		}
		json_t *merged = json_object_get(lib->containers, fmt);
		if (!merged) {
			merged = json_object();
			json_object_set_new(lib->containers, fmt, merged);
		}
		json_t *seen = json_object(); /* lower-case entries of this file */
		size_t i;
		json_t *e;
		json_array_foreach (list, i, e) {
			char *p = lib_path_index(fpath, i);
			const char *foreign = json_string_value(e);
			char *lower = ts_strdup(foreign ? foreign : "");
			for (char *s = lower; *s; s++)
				*s = (char)tolower((unsigned char)*s);
			if (!foreign || !*foreign)
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "must be a non-empty foreign type");
			else if (json_object_get(seen, lower))
				lib_diag_add(
				    d, false, TS_E_INVALID, file, p,
				    "duplicate container type (compared case-insensitively)");
			else if (library_map_type(lib, fmt, lower))
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "\"%s\" is also mapped to a component type in "
				             "type_mappings.%s",
				             foreign, fmt);
			else {
				json_object_set_new(seen, lower, json_true());
				json_object_set_new(merged, lower, json_true());
			}
			free(lower);
			free(p);
		}
		json_decref(seen);
		free(fpath);
	}
}

/* implied_properties: {format: {foreign type or tag: {property: value}}}; a
 * later directory's entry for the same (format, foreign) replaces the earlier. */
static void load_implied(struct library *lib, struct lib_diag *d, const char *file, json_t *ip)
{
	if (!ip)
		return;
	if (!json_is_object(ip)) {
		lib_diag_add(d, false, TS_E_INVALID, file, "$.implied_properties",
		             "must be an object of format: {foreign type: {properties}}");
		return;
	}
	const char *fmt;
	json_t *map;
	json_object_foreach (ip, fmt, map) {
		char *fpath = lib_path_key("$.implied_properties", fmt);
		if (!known_format(fmt) || !json_is_object(map)) {
			lib_diag_add(d, false, TS_E_INVALID, file, fpath,
			             known_format(fmt)
			                 ? "must be an object of foreign type: {properties}"
			                 : "unknown format (expected otm or threatdragon)");
			free(fpath);
			continue;
		}
		json_t *merged = json_object_get(lib->implied, fmt);
		if (!merged) {
			merged = json_object();
			json_object_set_new(lib->implied, fmt, merged);
		}
		const char *foreign;
		json_t *props;
		json_object_foreach (map, foreign, props) {
			char *p = lib_path_key(fpath, foreign);
			bool ok = *foreign && json_is_object(props) && json_object_size(props) > 0;
			const char *k;
			json_t *v;
			json_object_foreach (props, k, v) {
				ok = ok && (json_is_string(v) || json_is_number(v) || json_is_boolean(v));
			}
			if (!ok) {
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "must be a non-empty object of property: string, number "
				             "or boolean");
			} else {
				char *lower = ts_strdup(foreign);
				for (char *c = lower; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				json_object_set(merged, lower, props);
				free(lower);
			}
			free(p);
		}
		free(fpath);
	}
}

static void load_mappings(struct library *lib, struct lib_diag *d, const char *file, json_t *doc)
{
	/* container_types may sit next to type_mappings (read by
	 * load_containers once every directory's mappings are in); top_array
	 * reports any other member, so it is taken out of a copy. */
	json_t *rest = json_is_object(doc) ? json_copy(doc) : json_incref(doc);
	if (json_is_object(rest)) {
		json_object_del(rest, "container_types");
		json_object_del(rest, "implied_properties");
	}
	load_implied(lib, d, file, json_object_get(doc, "implied_properties"));
	json_t *tm = top_array(d, file, rest, "type_mappings", false);
	json_decref(rest);
	if (!tm)
		return;
	const char *fmt;
	json_t *map;
	json_object_foreach (tm, fmt, map) {
		char *fpath = lib_path_key("$.type_mappings", fmt);
		bool known = known_format(fmt);
		if (!known || !json_is_object(map)) {
			lib_diag_add(d, false, TS_E_INVALID, file, fpath,
			             known ? "must be an object of foreign type: library type"
			                   : "unknown format (expected otm or threatdragon)");
			free(fpath);
			continue;
		}
		json_t *merged = json_object_get(lib->mappings, fmt);
		if (!merged) {
			merged = json_object();
			json_object_set_new(lib->mappings, fmt, merged);
		}
		json_t *seen = json_object(); /* lower-case keys of this file */
		const char *foreign;
		json_t *target;
		json_object_foreach (map, foreign, target) {
			char *p = lib_path_key(fpath, foreign);
			char *lower = ts_strdup(foreign);
			for (char *s = lower; *s; s++)
				*s = (char)tolower((unsigned char)*s);
			const char *t = json_string_value(target);
			if (!*foreign) {
				lib_diag_add(d, false, TS_E_INVALID, file, p, "empty foreign type");
			} else if (!t) {
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "must be a component type id");
			} else if (!find_type(lib, t)) {
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "unknown component type \"%s\"", t);
			} else if (json_object_get(seen, lower)) {
				lib_diag_add(d, false, TS_E_INVALID, file, p,
				             "duplicate mapping (foreign types are compared "
				             "case-insensitively)");
			} else {
				json_object_set_new(seen, lower, json_true());
				json_object_set(merged, lower, target);
			}
			free(lower);
			free(p);
		}
		json_decref(seen);
		free(fpath);
	}
}

/* ---- the loader -------------------------------------------------------- */

enum { CAT_TYPES, CAT_STACKS, CAT_CMS, CAT_THREATS, CAT_BLUEPRINTS, N_CATS };
/* Lists beyond the categories: the vocabulary of component_types.json. */
enum { LIST_PROPS = N_CATS, LIST_TAGS, N_LISTS };

static const struct {
	const char *key;  /* top-level member */
	const char *file; /* component_types.json, or NULL */
	const char *sub;  /* subdirectory, or NULL */
} cats[N_CATS] = {
    [CAT_TYPES] = {"component_types", "component_types.json", NULL},
    [CAT_STACKS] = {"stacks", "stacks.json", NULL},
    [CAT_CMS] = {"countermeasures", NULL, "countermeasures"},
    [CAT_THREATS] = {"threats", NULL, "threats"},
    [CAT_BLUEPRINTS] = {"blueprints", NULL, "blueprints"},
};

/* Sorts the entries, reports duplicates within one directory, and returns the
 * winners of the overlay (new array, *ret_n entries), sorted by id. */
static struct pending *overlay(struct pending_list *l, struct lib_diag *d, size_t *ret_n)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), pending_cmp);
	struct pending *win = ts_calloc(l->n + 1, sizeof(*win));
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct pending *p = &l->v[i];
		if (i > 0 && strcmp(l->v[i - 1].id, p->id) == 0) {
			if (l->v[i - 1].dir == p->dir) {
				char *p2 = lib_path_key(p->path, "id");
				lib_diag_add(d, false, TS_E_INVALID, p->file, p2,
				             "duplicate id \"%s\" (first defined in %s at %s)",
				             p->id, l->v[i - 1].file, l->v[i - 1].path);
				free(p2);
				continue;
			}
			win[n - 1] = *p; /* a later directory overlays */
			continue;
		}
		win[n++] = *p;
	}
	*ret_n = n;
	return win;
}

static const struct lib_component_type *find_type(const struct library *lib, const char *id)
{
	return library_component_type(lib, id);
}

static const struct lib_countermeasure *find_cm(const struct library *lib, const char *id)
{
	return library_countermeasure(lib, id);
}

/* ---- the declared vocabulary ------------------------------------------ */

static const char *const prop_scopes[] = {"component", "flow", "project", "asset"};
static const char *const prop_types[] = {"boolean", "string", "integer", "number",
                                         "string_list"};

/* Collects the "properties" (keyed "SCOPE:NAME") and "tags" (keyed by the
 * tag) of a component_types.json document into lists[LIST_PROPS], [LIST_TAGS]. */
static void collect_vocabulary(struct library *lib, struct lib_diag *d, const char *file,
                               json_t *doc, size_t dir, struct pending_list *lists)
{
	static const struct {
		const char *key, *idkey;
		int list;
	} parts[] = {{"properties", "name", LIST_PROPS}, {"tags", "tag", LIST_TAGS}};
	for (size_t k = 0; k < TS_ARRAY_SIZE(parts); k++) {
		json_t *arr = json_object_get(doc, parts[k].key);
		if (!arr)
			continue;
		char *base = lib_path_key("$", parts[k].key);
		if (!json_is_array(arr)) {
			lib_diag_add(d, false, TS_E_INVALID, file, base, "must be an array");
			free(base);
			continue;
		}
		size_t i;
		json_t *e;
		json_array_foreach (arr, i, e) {
			char *path = lib_path_index(base, i);
			json_t *id = json_object_get(e, parts[k].idkey);
			if (!json_is_object(e) || !json_is_string(id) || !*json_string_value(id)) {
				lib_diag_add(d, false, TS_E_INVALID, file, path,
				             json_is_object(e) ? "\"%s\" must be a non-empty string"
				                               : "must be an object with \"%s\"",
				             parts[k].idkey);
				free(path);
				continue;
			}
			const char *key = json_string_value(id);
			if (parts[k].list == LIST_PROPS) {
				const char *scope = json_string_value(json_object_get(e, "scope"));
				key = intern(lib, ts_asprintf("%s:%s", scope ? scope : "", key));
			}
			struct pending p = {.id = key,
			                    .entry = e,
			                    .file = file,
			                    .path = intern(lib, path),
			                    .dir = dir};
			pending_add(&lists[parts[k].list], &p);
		}
		free(base);
	}
}

static bool property_name_shape(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Tags as conditions write them: lower case letters, digits and . _ + - */
static bool tag_shape(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._+-", *s)))
			return false;
	return true;
}

static bool validate_property(struct lib_vctx *v, struct lib_property *p)
{
	static const char *const keys[] = {"name", "scope", "type", "values", "description"};
	lib_v_keys(v, keys, TS_ARRAY_SIZE(keys));
	p->name = lib_v_str(v, "name", true);
	if (p->name && !property_name_shape(p->name))
		lib_verr(v, "name", "must match [a-z][a-z0-9_]*");
	int scope = lib_v_enum(v, "scope", prop_scopes, TS_ARRAY_SIZE(prop_scopes), true, -1);
	int type = lib_v_enum(v, "type", prop_types, TS_ARRAY_SIZE(prop_types), true, -1);
	p->description = lib_v_str(v, "description", true);
	if (json_object_get(v->obj, "values")) {
		p->values = lib_v_str_list(v, "values", true, &p->n_values);
		if (type >= 0 && strcmp(prop_types[type], "string") != 0 &&
		    strcmp(prop_types[type], "string_list") != 0)
			lib_verr(v, "values", "only a string or string_list property has values");
	}
	if (scope >= 0) {
		p->scope = (enum lib_prop_scope)scope;
		p->scope_name = prop_scopes[scope];
	}
	if (type >= 0)
		p->type = prop_types[type];
	return lib_vok(v);
}

static int property_cmp(const void *a, const void *b)
{
	const struct lib_property *x = a, *y = b;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void load_properties(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	lib->props = ts_calloc(n + 1, sizeof(*lib->props));
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx v = {lib, d, win[i].file, win[i].path, win[i].entry, d->n_errors};
		struct lib_property *p = &lib->props[lib->n_props];
		memset(p, 0, sizeof(*p));
		if (validate_property(&v, p)) {
			p->file = win[i].file;
			p->path = win[i].path;
			lib->n_props++;
		} else {
			free(p->values);
		}
	}
	if (lib->n_props > 1)
		qsort(lib->props, lib->n_props, sizeof(*lib->props), property_cmp);
	free(win);
}

static void load_tags(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	static const char *const keys[] = {"tag", "description"};
	size_t n = 0;
	struct pending *win = overlay(l, d, &n); /* sorted by tag */
	lib->tags = ts_calloc(n + 1, sizeof(*lib->tags));
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx v = {lib, d, win[i].file, win[i].path, win[i].entry, d->n_errors};
		lib_v_keys(&v, keys, TS_ARRAY_SIZE(keys));
		const char *tag = lib_v_str(&v, "tag", true);
		if (tag && !tag_shape(tag))
			lib_verr(&v, "tag",
			         "must be lower case letters, digits and . _ + - (starting "
			         "with a letter or digit)");
		const char *desc = lib_v_str(&v, "description", true);
		if (!lib_vok(&v))
			continue;
		lib->tags[lib->n_tags++] =
		    (struct lib_tag){tag, desc, win[i].file, win[i].path};
	}
	free(win);
}

/* ---- reading the files ------------------------------------------------- */

/* The job of reading mappings.json, beside the categories. */
#define JOB_MAPPINGS N_CATS

/* One step of reading the directories, in the order the loader takes them:
 * a file to read and parse, or a directory that cannot be read. The files
 * are read and parsed on up to two threads; what they found is then taken in
 * this order on the calling thread, so the problems, the entries and the
 * digest come out the same whichever thread read which file. */
struct lib_job {
	const char *file; /* interned; NULL for a directory problem */
	int cat;          /* category, or JOB_MAPPINGS */
	size_t dir;
	bool missing_ok;
	/* a directory problem: recorded as lib_diag_add(code, path, NULL, msg) */
	int diag_code;
	char *diag_path, *diag_msg;
	/* what reading found */
	int read_rc; /* 0 or the negative errno of ts_read_file */
	char sha[65];
	json_t *doc; /* new reference, NULL when the JSON is broken */
	json_error_t jerr;
};

struct lib_jobs {
	struct lib_job *v;
	size_t n, cap;
	atomic_size_t next; /* the next job a reader takes */
};

static struct lib_job *job_add(struct lib_jobs *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = ts_realloc(l->v, l->cap * sizeof(*l->v));
	}
	struct lib_job *j = &l->v[l->n++];
	memset(j, 0, sizeof(*j));
	return j;
}

static void job_diag(struct lib_jobs *l, int code, char *path, char *msg)
{
	struct lib_job *j = job_add(l);
	j->diag_code = code;
	j->diag_path = path;
	j->diag_msg = msg;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of dir/sub in name order (new list of new strings, NULL
 * terminated), or NULL when the subdirectory does not exist (or cannot be
 * read: a problem added to l). */
static char **list_json(const char *dir, const char *sub, struct lib_jobs *l)
{
	char *path = ts_asprintf("%s/%s", dir, sub);
	DIR *dh = opendir(path);
	if (!dh) {
		if (errno != ENOENT)
			job_diag(l, TS_E_NOTFOUND, path,
			         ts_asprintf("cannot read directory: %s", strerror(errno)));
		else
			free(path);
		return NULL;
	}
	size_t n = 0, cap = 8;
	char **names = ts_malloc(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			names = ts_realloc(names, cap * sizeof(char *));
		}
		names[n++] = ts_asprintf("%s/%s", path, de->d_name);
	}
	closedir(dh);
	free(path);
	qsort(names, n, sizeof(char *), name_cmp);
	names[n] = NULL;
	return names;
}

/* Lists the files of directory number di that parts needs, in reading
 * order. -ENOENT when it is not a directory (a problem added to l). */
static int list_dir(struct library *lib, const char *dir, size_t di, enum library_parts parts,
                    struct lib_jobs *l)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		job_diag(l, TS_E_NOTFOUND, ts_strdup(dir), ts_strdup("library directory not found"));
		return -ENOENT;
	}
	for (int c = 0; c < N_CATS; c++) {
		if (parts == LIBRARY_PARTS_TYPES && c != CAT_TYPES)
			continue;
		char **files = NULL;
		if (cats[c].file) {
			files = ts_calloc(2, sizeof(char *));
			files[0] = ts_asprintf("%s/%s", dir, cats[c].file);
		} else {
			files = list_json(dir, cats[c].sub, l);
		}
		for (size_t f = 0; files && files[f]; f++) {
			struct lib_job *j = job_add(l);
			j->file = intern(lib, files[f]);
			j->cat = c;
			j->dir = di;
			j->missing_ok = cats[c].file != NULL;
		}
		free(files);
	}
	struct lib_job *j = job_add(l);
	j->file = intern(lib, ts_asprintf("%s/mappings.json", dir));
	j->cat = JOB_MAPPINGS;
	j->dir = di;
	j->missing_ok = true;
	return 0;
}

/* Reads, digests and parses one file. Touches nothing but j: runs on any thread. */
static void job_read(struct lib_job *j)
{
	char *data = NULL;
	size_t len = 0;
	j->read_rc = ts_read_file(j->file, LIBRARY_FILE_MAX, &data, &len);
	if (j->read_rc < 0)
		return;
	ts_sha256_hex(data, len, j->sha);
	j->doc = ts_json_loadb(data, len, &j->jerr);
	free(data);
}

static void *reader_main(void *arg)
{
	struct lib_jobs *l = arg;
	size_t i;
	while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
		if (l->v[i].file)
			job_read(&l->v[i]);
	return NULL;
}

/* Reads every file of l, on a second thread as well when there are two or
 * more. Jansson's hash seed is chosen first: each thread then builds its own
 * documents. */
static void read_all(struct lib_jobs *l)
{
	size_t n_files = 0;
	for (size_t i = 0; i < l->n; i++)
		n_files += l->v[i].file != NULL;
	atomic_init(&l->next, 0);
	json_object_seed(0);
	pthread_t th;
	bool helper = n_files >= 2 && pthread_create(&th, NULL, reader_main, l) == 0;
	reader_main(l);
	if (helper)
		pthread_join(th, NULL);
}

/* A directory's mappings.json, read with the directory, applied after the types. */
struct map_doc {
	json_t *doc; /* borrowed from lib->docs, NULL when absent */
	const char *file;
};

/* Takes what reading found, in order: problems to d, documents to lib->docs,
 * their digests to lib->files, entries to lists, mappings to maps. */
static void take_all(struct library *lib, struct lib_diag *d, struct lib_jobs *l,
                     struct pending_list lists[N_LISTS], struct map_doc *maps)
{
	for (size_t i = 0; i < l->n; i++) {
		struct lib_job *j = &l->v[i];
		if (!j->file) {
			lib_diag_add(d, false, j->diag_code, j->diag_path, NULL, "%s", j->diag_msg);
			free(j->diag_path);
			free(j->diag_msg);
			continue;
		}
		if (j->read_rc == -ENOENT && j->missing_ok)
			continue;
		if (j->read_rc == -EFBIG) {
			lib_diag_add(d, false, TS_E_INVALID, j->file, NULL,
			             "file larger than %d bytes", LIBRARY_FILE_MAX);
			continue;
		}
		if (j->read_rc < 0) {
			lib_diag_add(d, false, TS_E_NOTFOUND, j->file, NULL, "cannot read: %s",
			             strerror(-j->read_rc));
			continue;
		}
		ts_buf_printf(&lib->files, "%s\t%s\n", j->file, j->sha);
		if (!j->doc) {
			lib_diag_add(d, false, TS_E_INVALID, j->file, NULL, "line %d, column %d: %s",
			             j->jerr.line, j->jerr.column, j->jerr.text);
			continue;
		}
		json_array_append_new(lib->docs, j->doc);
		if (j->cat == JOB_MAPPINGS) {
			maps[j->dir] = (struct map_doc){j->doc, j->file};
			continue;
		}
		collect_entries(lib, d, j->file, j->doc, cats[j->cat].key, j->dir, &lists[j->cat]);
		if (j->cat == CAT_TYPES)
			collect_vocabulary(lib, d, j->file, j->doc, j->dir, lists);
	}
}

static void load_types(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	lib->types = ts_calloc(n + 1, sizeof(*lib->types));
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx v = {lib, d, win[i].file, win[i].path, win[i].entry, d->n_errors};
		struct lib_component_type *t = &lib->types[lib->n_types];
		memset(t, 0, sizeof(*t));
		if (validate_type(&v, t)) {
			t->file = win[i].file;
			t->path = win[i].path;
			lib->n_types++;
		}
	}
	free(win);
}

static void load_stacks(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	struct lib_entry_ref *refs = ts_calloc(n + 1, sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct lib_entry_ref){win[i].entry, win[i].file, win[i].path};
	lib_stacks_load(lib, d, refs, n);
	free(refs);
	free(win);
}

static void load_cms(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	lib->cms = ts_calloc(n + 1, sizeof(*lib->cms));
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx v = {lib, d, win[i].file, win[i].path, win[i].entry, d->n_errors};
		struct lib_countermeasure *c = &lib->cms[lib->n_cms];
		memset(c, 0, sizeof(*c));
		if (validate_cm(&v, c)) {
			c->file = win[i].file;
			c->path = win[i].path;
			c->json = win[i].entry;
			lib->n_cms++;
		} else {
			free_cm(c);
		}
	}
	free(win);
}

static void load_threats(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	lib->threats = ts_calloc(n + 1, sizeof(*lib->threats));
	for (size_t i = 0; i < n; i++) {
		struct lib_vctx v = {lib, d, win[i].file, win[i].path, win[i].entry, d->n_errors};
		struct lib_threat *t = &lib->threats[lib->n_threats];
		memset(t, 0, sizeof(*t));
		if (validate_threat(&v, t)) {
			t->file = win[i].file;
			t->path = win[i].path;
			t->json = win[i].entry;
			lib->n_threats++;
		} else {
			free_threat(t);
		}
	}
	free(win);
}

/* Records one alias of the entry id (file, path: the entry), refusing one that
 * is an id or already another entry's alias. */
static void add_alias(struct library *lib, struct lib_diag *d, const char *alias, const char *id,
                      const char *file, const char *path)
{
	const char *other = json_string_value(json_object_get(lib->aliases, alias));
	bool is_id = library_threat(lib, alias) || library_countermeasure(lib, alias);
	if (!is_id && !other) {
		json_object_set_new(lib->aliases, alias, json_string(id));
		return;
	}
	char *p = lib_path_key(path, "aliases");
	if (is_id)
		lib_diag_add(d, false, TS_E_INVALID, file, p,
		             "alias \"%s\" of \"%s\" is the id of an entry", alias, id);
	else
		lib_diag_add(d, false, TS_E_INVALID, file, p,
		             "alias \"%s\" of \"%s\" is already an alias of \"%s\"", alias, id,
		             other);
	free(p);
}

/* The alias table, once every threat and countermeasure is known. */
static void load_aliases(struct library *lib, struct lib_diag *d)
{
	for (size_t i = 0; i < lib->n_cms; i++) {
		const struct lib_countermeasure *c = &lib->cms[i];
		for (size_t k = 0; k < c->n_aliases; k++)
			add_alias(lib, d, c->aliases[k], c->id, c->file, c->path);
	}
	for (size_t i = 0; i < lib->n_threats; i++) {
		const struct lib_threat *t = &lib->threats[i];
		for (size_t k = 0; k < t->n_aliases; k++)
			add_alias(lib, d, t->aliases[k], t->id, t->file, t->path);
	}
}

static void load_blueprints(struct library *lib, struct lib_diag *d, struct pending_list *l)
{
	size_t n = 0;
	struct pending *win = overlay(l, d, &n);
	lib->blueprints = ts_calloc(n + 1, sizeof(*lib->blueprints));
	for (size_t i = 0; i < n; i++) {
		size_t before = d->n_errors;
		lib_blueprint_validate(lib, win[i].entry, win[i].file, win[i].path, d);
		if (d->n_errors != before)
			continue;
		struct lib_blueprint *b = &lib->blueprints[lib->n_blueprints++];
		b->id = win[i].id;
		b->name = json_string_value(json_object_get(win[i].entry, "name"));
		b->description = json_string_value(json_object_get(win[i].entry, "description"));
		b->file = win[i].file;
		b->path = win[i].path;
		b->json = win[i].entry;
	}
	free(win);
}

int lib_load_diag(const char *const *dirs, size_t n_dirs, struct library **ret_lib,
                  struct lib_diag *d)
{
	return lib_load_parts(dirs, n_dirs, LIBRARY_PARTS_ALL, ret_lib, d);
}

int lib_load_parts(const char *const *dirs, size_t n_dirs, enum library_parts parts,
                   struct library **ret_lib, struct lib_diag *d)
{
	struct library *lib = ts_calloc(1, sizeof(*lib));
	lib->docs = json_array();
	lib->mappings = json_object();
	lib->containers = json_object();
	lib->aliases = json_object();
	lib->implied = json_object();
	struct pending_list lists[N_LISTS] = {0};
	struct map_doc *maps = ts_calloc(n_dirs + 1, sizeof(*maps));
	int rc = 0;
	struct lib_jobs jobs = {0};
	for (size_t di = 0; di < n_dirs; di++)
		if (list_dir(lib, dirs[di], di, parts, &jobs) < 0)
			rc = -ENOENT;
	read_all(&jobs);
	take_all(lib, d, &jobs, lists, maps);
	free(jobs.v);
	/* Component types first: everything else refers to them. */
	load_types(lib, d, &lists[CAT_TYPES]);
	for (size_t di = 0; di < n_dirs; di++)
		if (maps[di].doc)
			load_mappings(lib, d, maps[di].file, maps[di].doc);
	/* After every mapping, so that a container also mapped is refused
	 * whichever directory maps it. */
	for (size_t di = 0; di < n_dirs; di++)
		if (json_object_get(maps[di].doc, "container_types"))
			load_containers(lib, d, maps[di].file,
			                json_object_get(maps[di].doc, "container_types"));
	const char *fk;
	json_t *fm;
	json_object_foreach (lib->mappings, fk, fm)
		lib->n_mappings += json_object_size(fm);
	/* Stacks before the countermeasures, whose how-tos name them. */
	load_stacks(lib, d, &lists[CAT_STACKS]);
	load_cms(lib, d, &lists[CAT_CMS]);
	load_threats(lib, d, &lists[CAT_THREATS]);
	load_aliases(lib, d);
	load_blueprints(lib, d, &lists[CAT_BLUEPRINTS]);
	load_properties(lib, d, &lists[LIST_PROPS]);
	load_tags(lib, d, &lists[LIST_TAGS]);
	for (int c = 0; c < N_LISTS; c++)
		free(lists[c].v);
	free(maps);
	ts_sha256_hex(lib->files.data ? lib->files.data : "", lib->files.len, lib->digest);
	ts_buf_free(&lib->files);
	*ret_lib = lib;
	return rc;
}

void lib_diag_format(const struct lib_diag *d, struct ts_err *err)
{
	struct ts_buf b = {0};
	size_t shown = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct lib_diag_item *it = &d->items[i];
		if (it->warning)
			continue;
		char line[1200];
		snprintf(line, sizeof(line), "%s%s%s%s%s", it->file ? it->file : "",
		         it->file ? ": " : "", it->path ? it->path : "", it->path ? ": " : "",
		         it->msg);
		if (b.len + strlen(line) + 64 >= sizeof(err->msg))
			break;
		ts_buf_printf(&b, "%s%s", shown ? "\n" : "", line);
		shown++;
	}
	if (shown < d->n_errors)
		ts_buf_printf(&b, "\n(%zu more errors; run threatsync library lint)",
		              d->n_errors - shown);
	ts_err_set(err, d->code ? d->code : TS_E_INVALID, "%s", b.data ? b.data : "");
	ts_buf_free(&b);
}

int library_load(const char *const *dirs, size_t n_dirs, struct library **ret_lib,
                 struct ts_err *err)
{
	return library_load_parts(dirs, n_dirs, LIBRARY_PARTS_ALL, ret_lib, err);
}

int library_load_parts(const char *const *dirs, size_t n_dirs, enum library_parts parts,
                       struct library **ret_lib, struct ts_err *err)
{
	struct lib_diag d = {0};
	struct library *lib = NULL;
	lib_load_parts(dirs, n_dirs, parts, &lib, &d);
	if (d.n_errors) {
		lib_diag_format(&d, err);
		int code = d.code;
		lib_diag_free(&d);
		library_free(lib);
		return code == TS_E_NOTFOUND ? -ENOENT : -EINVAL;
	}
	lib_diag_free(&d);
	*ret_lib = lib;
	return 0;
}

const char *library_digest(const struct library *lib)
{
	return lib->digest;
}

void library_free(struct library *lib)
{
	if (!lib)
		return;
	for (size_t i = 0; i < lib->n_threats; i++)
		free_threat(&lib->threats[i]);
	for (size_t i = 0; i < lib->n_cms; i++)
		free_cm(&lib->cms[i]);
	free(lib->types);
	free(lib->threats);
	free(lib->cms);
	free(lib->blueprints);
	for (size_t i = 0; i < lib->n_props; i++)
		free(lib->props[i].values);
	free(lib->props);
	free(lib->tags);
	lib_stacks_free(lib);
	json_decref(lib->mappings);
	json_decref(lib->containers);
	json_decref(lib->aliases);
	json_decref(lib->implied);
	json_decref(lib->docs);
	for (size_t i = 0; i < lib->n_strings; i++)
		free(lib->strings[i]);
	free(lib->strings);
	free(lib);
}

/* ---- lookups ----------------------------------------------------------- */

size_t library_n_component_types(const struct library *lib)
{
	return lib->n_types;
}

const struct lib_component_type *library_component_type_at(const struct library *lib, size_t i)
{
	return i < lib->n_types ? &lib->types[i] : NULL;
}

size_t library_n_threats(const struct library *lib)
{
	return lib->n_threats;
}

const struct lib_threat *library_threat_at(const struct library *lib, size_t i)
{
	return i < lib->n_threats ? &lib->threats[i] : NULL;
}

size_t library_n_countermeasures(const struct library *lib)
{
	return lib->n_cms;
}

const struct lib_countermeasure *library_countermeasure_at(const struct library *lib, size_t i)
{
	return i < lib->n_cms ? &lib->cms[i] : NULL;
}

size_t library_n_blueprints(const struct library *lib)
{
	return lib->n_blueprints;
}

const struct lib_blueprint *library_blueprint_at(const struct library *lib, size_t i)
{
	return i < lib->n_blueprints ? &lib->blueprints[i] : NULL;
}

/* Binary search over an array of structs whose first member is the id. */
static const void *search_id(const void *base, size_t n, size_t size, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *const *elem = (const char *const *)((const char *)base + mid * size);
		int c = strcmp(id, *elem);
		if (c == 0)
			return elem;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct lib_component_type *library_component_type(const struct library *lib, const char *id)
{
	return search_id(lib->types, lib->n_types, sizeof(*lib->types), id);
}

const struct lib_threat *library_threat(const struct library *lib, const char *id)
{
	return search_id(lib->threats, lib->n_threats, sizeof(*lib->threats), id);
}

const struct lib_countermeasure *library_countermeasure(const struct library *lib, const char *id)
{
	return search_id(lib->cms, lib->n_cms, sizeof(*lib->cms), id);
}

const struct lib_blueprint *library_blueprint(const struct library *lib, const char *kind)
{
	return search_id(lib->blueprints, lib->n_blueprints, sizeof(*lib->blueprints), kind);
}

const char *library_alias_target(const struct library *lib, const char *old_id)
{
	return old_id ? json_string_value(json_object_get(lib->aliases, old_id)) : NULL;
}

size_t library_n_properties(const struct library *lib)
{
	return lib->n_props;
}

const struct lib_property *library_property_at(const struct library *lib, size_t i)
{
	return i < lib->n_props ? &lib->props[i] : NULL;
}

size_t library_n_tags(const struct library *lib)
{
	return lib->n_tags;
}

const struct lib_tag *library_tag_at(const struct library *lib, size_t i)
{
	return i < lib->n_tags ? &lib->tags[i] : NULL;
}

/* strcmp of a NUL-terminated string with len bytes of name. */
static int cmp_n(const char *s, const char *name, size_t len)
{
	int c = strncmp(s, name, len);
	if (c)
		return c;
	return s[len] ? 1 : 0;
}

const struct lib_property *library_property(const struct library *lib, enum lib_prop_scope scope,
                                            const char *name, size_t len)
{
	size_t lo = 0, hi = lib->n_props;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lib_property *p = &lib->props[mid];
		int c = p->scope != scope ? (p->scope < scope ? -1 : 1) : cmp_n(p->name, name, len);
		if (c == 0)
			return p;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct lib_tag *library_tag(const struct library *lib, const char *tag, size_t len)
{
	size_t lo = 0, hi = lib->n_tags;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_n(lib->tags[mid].tag, tag, len);
		if (c == 0)
			return &lib->tags[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *library_map_type(const struct library *lib, const char *format, const char *foreign)
{
	json_t *m = json_object_get(lib->mappings, format);
	if (!m || !foreign)
		return NULL;
	char *lower = ts_strdup(foreign);
	for (char *s = lower; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	const char *t = json_string_value(json_object_get(m, lower));
	free(lower);
	return t;
}

bool library_is_container(const struct library *lib, const char *format, const char *foreign)
{
	json_t *m = json_object_get(lib->containers, format);
	if (!m || !foreign)
		return false;
	char *lower = ts_strdup(foreign);
	for (char *s = lower; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	bool r = json_object_get(m, lower) != NULL;
	free(lower);
	return r;
}

/* The type's own id string, not type: importers free their words after mapping. */
static const char *typeinfo_type_id_cb(void *ud, const char *type)
{
	const struct lib_component_type *t = library_component_type(ud, type);
	return t ? t->id : NULL;
}

static const char *typeinfo_kind_cb(void *ud, const char *type)
{
	const struct lib_component_type *t = library_component_type(ud, type);
	return t ? t->kind_name : NULL;
}

static const char *typeinfo_map_cb(void *ud, const char *format, const char *foreign)
{
	return library_map_type(ud, format, foreign);
}

static bool typeinfo_container_cb(void *ud, const char *format, const char *foreign)
{
	return library_is_container(ud, format, foreign);
}

json_t *library_implied_properties(const struct library *lib, const char *format,
                                   const char *foreign)
{
	json_t *m = json_object_get(lib->implied, format);
	if (!m || !foreign || !*foreign)
		return NULL;
	char *lower = ts_strdup(foreign);
	for (char *s = lower; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	json_t *props = json_object_get(m, lower);
	free(lower);
	return props;
}

static json_t *typeinfo_implied_cb(void *ud, const char *format, const char *foreign)
{
	return library_implied_properties(ud, format, foreign);
}

void library_typeinfo(const struct library *lib, struct model_typeinfo *ret)
{
	ret->ud = (void *)lib;
	ret->type_id = typeinfo_type_id_cb;
	ret->kind = typeinfo_kind_cb;
	ret->map = typeinfo_map_cb;
	ret->container = typeinfo_container_cb;
	ret->implied = typeinfo_implied_cb;
}
