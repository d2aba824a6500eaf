/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a model document: format names, bounded parsing, format detection,
 * conversion of foreign formats and validation into the native form. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jsonload.h"
#include "engine/jsonpath.h"
#include "engine/model/importer.h"
#include "engine/model/model.h"
#include "engine/model/model_native.h"

/* ---------------------------------------------------------------- formats */

static const char *const format_names[] = {
    [MODEL_FORMAT_AUTO] = "auto",
    [MODEL_FORMAT_NATIVE] = "native",
    [MODEL_FORMAT_OTM] = "otm",
    [MODEL_FORMAT_THREATDRAGON] = "threatdragon",
};

int model_format_from_name(const char *name, enum model_format *ret)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(format_names); i++) {
		if (name && strcmp(name, format_names[i]) == 0) {
			*ret = (enum model_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *model_format_name(enum model_format f)
{
	if ((size_t)f < TS_ARRAY_SIZE(format_names))
		return format_names[f];
	return "unknown";
}

/* ------------------------------------------------------- bounded parsing */

/* Finds nesting deeper than MODEL_MAX_DEPTH before jansson builds the tree.
 * Only brackets outside strings count; malformed input is left to jansson.
 * The line and column of the bracket are counted only when there is one. */
static bool depth_exceeded(const char *data, size_t len, int *ret_line, int *ret_col)
{
	int depth = 0;
	size_t i = 0;
	for (; i < len; i++) {
		char c = data[i];
		if (c == '"') {
			/* to the closing quote, over escaped characters */
			for (i++; i < len && data[i] != '"'; i++)
				if (data[i] == '\\')
					i++;
		} else if (c == '{' || c == '[') {
			if (++depth > MODEL_MAX_DEPTH)
				break;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	if (i >= len)
		return false;
	int line = 1, col = 0;
	for (size_t k = 0; k <= i; k++) {
		col++;
		if (data[k] == '\n') {
			line++;
			col = 0;
		}
	}
	*ret_line = line;
	*ret_col = col;
	return true;
}

/* Whether every string and key of v is within MODEL_MAX_STRING bytes: the
 * walk without paths, for the common case. */
static bool strings_fit(const json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) <= MODEL_MAX_STRING;
	const char *k;
	json_t *c;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			if (strlen(k) > MODEL_MAX_STRING || !strings_fit(c))
				return false;
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			if (!strings_fit(c))
				return false;
		}
	}
	return true;
}

/* Every string and key at most MODEL_MAX_STRING bytes. */
static void check_strings(struct model_msgs *m, const json_t *v, struct jsonpath *p)
{
	if (json_is_string(v)) {
		if (json_string_length(v) > MODEL_MAX_STRING)
			model_msg_error(m, jsonpath_str(p), "string of %zu bytes exceeds %d bytes",
			                json_string_length(v), MODEL_MAX_STRING);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach ((json_t *)v, k, c) {
			size_t old = jsonpath_key(p, k);
			if (strlen(k) > MODEL_MAX_STRING)
				model_msg_error(m, jsonpath_str(p),
				                "key of %zu bytes exceeds %d bytes", strlen(k),
				                MODEL_MAX_STRING);
			else
				check_strings(m, c, p);
			jsonpath_pop(p, old);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach (v, i, c) {
			size_t old = jsonpath_index(p, i);
			check_strings(m, c, p);
			jsonpath_pop(p, old);
		}
	}
}

/* ---------------------------------------------------------------- parsing */

static enum model_format detect(const json_t *doc)
{
	if (!json_is_object(doc))
		return MODEL_FORMAT_AUTO;
	if (json_object_get(doc, "otmVersion"))
		return MODEL_FORMAT_OTM;
	if (json_object_get(json_object_get(doc, "detail"), "diagrams"))
		return MODEL_FORMAT_THREATDRAGON;
	if (json_object_get(doc, "format") || json_is_array(json_object_get(doc, "components")))
		return MODEL_FORMAT_NATIVE;
	return MODEL_FORMAT_AUTO;
}

/* The JSON tree of data within the limits: size and nesting are checked before
 * jansson builds the tree, string lengths after. NULL, with errors in m, when
 * a limit is exceeded or the JSON is invalid; else a new reference. */
static json_t *load_bounded(struct model_msgs *m, const char *data, size_t len)
{
	if (len > MODEL_MAX_BYTES) {
		model_msg_error(m, "$",
		                "document of %zu bytes exceeds the limit of %zu bytes (16 MiB)",
		                len, MODEL_MAX_BYTES);
		return NULL;
	}
	int line = 0, col = 0;
	if (depth_exceeded(data, len, &line, &col)) {
		/* the file name comes from the user and need not be UTF-8 either */
		char *msg = ts_asprintf("%s:%d:%d: nesting deeper than %d levels", m->file, line,
		                        col, MODEL_MAX_DEPTH);
		model_msg_utf8_fix(msg);
		json_array_append_new(m->errors, json_string(msg));
		free(msg);
		return NULL;
	}
	json_error_t jerr;
	json_t *doc = ts_json_loadb(data, len, &jerr);
	if (!doc) {
		/* jansson quotes the bytes near the error, which need not be UTF-8 */
		char *msg = ts_asprintf("%s:%d:%d: invalid JSON: %s", m->file, jerr.line,
		                        jerr.column, jerr.text);
		model_msg_utf8_fix(msg);
		json_array_append_new(m->errors, json_string(msg));
		free(msg);
		return NULL;
	}
	struct jsonpath p;
	jsonpath_init(&p, NULL);
	if (!strings_fit(doc))
		check_strings(m, doc, &p);
	if (json_array_size(m->errors)) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Converts doc from *fmt (AUTO: the detected format, stored back) into an
 * unvalidated native document. *ret_native and *ret_srcmap receive new
 * references (either may stay NULL) even on failure, which is -EINVAL with
 * the errors in m. */
static int to_native(struct model_msgs *m, json_t *doc, enum model_format *fmt,
                     const struct model_typeinfo *ti, json_t **ret_native, json_t **ret_srcmap)
{
	enum model_format found = detect(doc);
	if (*fmt == MODEL_FORMAT_AUTO) {
		if (found == MODEL_FORMAT_AUTO) {
			model_msg_error(
			    m, "$",
			    "cannot tell the format (expected a native document with "
			    "\"format\": \"%s\", an OTM document with \"otmVersion\" or "
			    "a Threat Dragon v2 document with \"detail.diagrams\"); use "
			    "--format",
			    MODEL_FORMAT_ID);
			return -EINVAL;
		}
		*fmt = found;
	}
	if (!json_is_object(doc)) {
		model_msg_error(m, "$", "expected an object, got %s", model_json_type_name(doc));
		return -EINVAL;
	}
	switch (*fmt) {
	case MODEL_FORMAT_OTM:
		model_from_otm(doc, ti, m, ret_native, ret_srcmap);
		break;
	case MODEL_FORMAT_THREATDRAGON:
		model_from_threatdragon(doc, ti, m, ret_native, ret_srcmap);
		break;
	case MODEL_FORMAT_NATIVE:
	case MODEL_FORMAT_AUTO:
		*ret_native = json_incref(doc);
		break;
	}
	return json_array_size(m->errors) ? -EINVAL : 0;
}

/* --strict: every warning becomes an error, marked as such. */
static void warnings_to_errors(struct model_msgs *m)
{
	size_t i;
	json_t *w;
	json_array_foreach (m->warnings, i, w) {
		if (json_array_size(m->errors) >= MODEL_MAX_ERRORS)
			m->dropped++;
		else
			json_array_append_new(m->errors,
			                      json_sprintf("%s (--strict)", json_string_value(w)));
	}
}

int model_parse(const char *file_name, const char *data, size_t len, enum model_format fmt,
                bool strict, const struct model_typeinfo *ti, json_t **ret_model,
                json_t **ret_warnings, enum model_format *ret_detected, struct ts_err *err)
{
	struct model_msgs m = {.file = file_name, .errors = json_array(), .warnings = json_array()};
	json_t *native = NULL, *srcmap = NULL;
	int r = -EINVAL;
	json_t *doc = load_bounded(&m, data, len);
	/* Converter errors name source paths already; validating the converted
	 * result on top would repeat them in native terms. */
	if (!doc || to_native(&m, doc, &fmt, ti, &native, &srcmap) < 0)
		goto out;
	model_native_validate(&m, ti, srcmap, native);
	if (strict)
		warnings_to_errors(&m);
	if (json_array_size(m.errors))
		goto out;
	if (ret_model) {
		*ret_model = model_native_normalise(native);
		native = NULL;
	}
	if (ret_warnings) {
		*ret_warnings = m.warnings;
		m.warnings = NULL;
	}
	if (ret_detected)
		*ret_detected = fmt;
	r = 0;
out:
	if (r < 0)
		model_msgs_fail(&m, err);
	json_decref(m.errors);
	json_decref(m.warnings);
	json_decref(doc);
	json_decref(native);
	json_decref(srcmap);
	return r;
}

int model_parse_file(const char *path, enum model_format fmt, bool strict,
                     const struct model_typeinfo *ti, json_t **ret_model, json_t **ret_warnings,
                     enum model_format *ret_detected, struct ts_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int r = ts_read_file(path, MODEL_MAX_BYTES, &data, &len);
	if (r == -EFBIG)
		return ts_err_set(err, TS_E_INVALID,
		                  "%s: $: document exceeds the limit of %zu bytes (16 MiB)", path,
		                  MODEL_MAX_BYTES);
	if (r == -ENOENT)
		return ts_err_set(err, TS_E_NOTFOUND, "%s: no such file", path);
	if (r < 0)
		return ts_err_set(err, TS_E_NOTFOUND, "%s: cannot read: %s", path, strerror(-r));
	r = model_parse(path, data, len, fmt, strict, ti, ret_model, ret_warnings, ret_detected,
	                err);
	free(data);
	return r;
}
