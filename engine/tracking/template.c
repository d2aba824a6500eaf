/* SPDX-License-Identifier: Apache-2.0 */
/* Compiling and rendering the task templates of custom fields. */
#include "engine/tracking/template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum template_var {
	VAR_SEVERITY,
	VAR_PRIORITY,
	VAR_CWE,
	VAR_CWE_NAMES,
	VAR_COMPONENT,
	VAR_COMPONENT_TYPE,
	VAR_DUE_DATE,
	VAR_PROJECT,
	VAR_TASK,
	VAR_MODEL_VERSION,
};

static const char *const var_names[] = {
    [VAR_SEVERITY] = "severity",
    [VAR_PRIORITY] = "priority",
    [VAR_CWE] = "cwe",
    [VAR_CWE_NAMES] = "cwe_names",
    [VAR_COMPONENT] = "component",
    [VAR_COMPONENT_TYPE] = "component_type",
    [VAR_DUE_DATE] = "due_date",
    [VAR_PROJECT] = "project",
    [VAR_TASK] = "task",
    [VAR_MODEL_VERSION] = "model_version",
};

/* A literal run (var < 0) or a placeholder. */
struct part {
	int var;
	char *text;
};

struct template
{
	struct part *parts;
	size_t n;
};

const char *template_names(void)
{
	return "severity, priority, cwe, cwe_names, component, component_type, due_date, "
	       "project, task, model_version";
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->parts[i].text);
	free(t->parts);
	free(t);
}

static void add_part(struct template *t, int var, const char *s, size_t n)
{
	t->parts = ts_realloc(t->parts, (t->n + 1) * sizeof(*t->parts));
	t->parts[t->n].var = var;
	t->parts[t->n].text = var < 0 ? ts_strndup(s, n) : NULL;
	t->n++;
}

static int lookup_var(const char *s, size_t n)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(var_names); i++)
		if (strlen(var_names[i]) == n && memcmp(var_names[i], s, n) == 0)
			return (int)i;
	return -1;
}

int template_compile(const char *src, struct template **ret, struct ts_err *err)
{
	if (!src)
		src = "";
	if (strlen(src) > TEMPLATE_SOURCE_MAX)
		return ts_err_set(err, TS_E_CONFIG, "template longer than %d bytes",
		                  TEMPLATE_SOURCE_MAX);
	struct template *t = ts_calloc(1, sizeof(*t));
	const char *p = src;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			add_part(t, -1, p, strlen(p));
			break;
		}
		if (open > p)
			add_part(t, -1, p, (size_t)(open - p));
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			template_free(t);
			return ts_err_set(err, TS_E_CONFIG,
			                  "template: '{{' at offset %zu is not closed by '}}'",
			                  (size_t)(open - src));
		}
		const char *a = open + 2, *b = close;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		int var = lookup_var(a, (size_t)(b - a));
		if (var < 0) {
			int shown = (int)(close + 2 - open);
			template_free(t);
			return ts_err_set(err, TS_E_CONFIG,
			                  "template: unknown placeholder '%.*s' at offset %zu "
			                  "(known: %s)",
			                  shown > 80 ? 80 : shown, open, (size_t)(open - src),
			                  template_names());
		}
		add_part(t, var, NULL, 0);
		p = close + 2;
	}
	*ret = t;
	return 0;
}

/* Comma-separated CWE ids of the task's threats, first occurrence order;
 * names instead when names is true. */
static void put_cwes(struct ts_buf *b, const struct template_task *task, bool names)
{
	json_t *seen = json_object();
	size_t i, k;
	json_t *th, *c;
	json_array_foreach (json_object_get(task->body, "threats"), i, th) {
		json_array_foreach (json_object_get(th, "cwe"), k, c) {
			if (!json_is_integer(c))
				continue;
			char id[24];
			snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(c));
			if (json_object_get(seen, id))
				continue;
			json_object_set_new(seen, id, json_true());
			if (json_object_size(seen) > 1)
				ts_buf_puts(b, names ? "; " : ",");
			const char *name =
			    names ? json_string_value(json_object_get(task->cwe_names, id)) : NULL;
			if (!names)
				ts_buf_puts(b, id);
			else if (name && *name)
				ts_buf_puts(b, name);
			else
				ts_buf_printf(b, "CWE-%s", id);
		}
	}
	json_decref(seen);
}

static void put_var(struct ts_buf *b, int var, const struct template_task *task)
{
	const json_t *comp = json_object_get(task->body, "component");
	const char *s = NULL;
	switch ((enum template_var)var) {
	case VAR_SEVERITY:
		s = task->severity;
		break;
	case VAR_PRIORITY:
		if (task->priority > 0)
			ts_buf_printf(b, "%d", task->priority);
		return;
	case VAR_CWE:
		put_cwes(b, task, false);
		return;
	case VAR_CWE_NAMES:
		put_cwes(b, task, true);
		return;
	case VAR_COMPONENT:
		s = json_string_value(json_object_get(comp, "name"));
		if (!s || !*s)
			s = json_string_value(json_object_get(comp, "id"));
		break;
	case VAR_COMPONENT_TYPE:
		s = json_string_value(json_object_get(comp, "type"));
		break;
	case VAR_DUE_DATE:
		s = task->due_date;
		break;
	case VAR_PROJECT:
		s = task->project;
		break;
	case VAR_TASK:
		s = task->task;
		break;
	case VAR_MODEL_VERSION:
		if (task->model_version > 0)
			ts_buf_printf(b, "%d", task->model_version);
		return;
	}
	if (s)
		ts_buf_puts(b, s);
}

char *template_render(const struct template *t, const struct template_task *task)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "");
	for (size_t i = 0; t && i < t->n && b.len <= TEMPLATE_OUTPUT_MAX; i++) {
		if (t->parts[i].var < 0)
			ts_buf_puts(&b, t->parts[i].text);
		else
			put_var(&b, t->parts[i].var, task);
	}
	if (b.len > TEMPLATE_OUTPUT_MAX) {
		size_t n = TEMPLATE_OUTPUT_MAX;
		while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80)
			n--;
		b.data[n] = '\0';
		b.len = n;
	}
	return ts_buf_steal(&b);
}
