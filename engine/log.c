/* SPDX-License-Identifier: Apache-2.0 */
/* Line-oriented logging to stderr with sd-daemon priority prefixes. */
#include "engine/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static bool sd_prefix = false;
static int (*sink)(const struct log_event *ev, void *userdata);
static void *sink_data;

const struct log_context_key log_context_keys[] = {
	{"project", "PROJECT"}, {"connector", "CONNECTOR"}, {"ticket", "TICKET"},
	{"key", "TICKET"},      {"task", "TASK"},           {NULL, NULL},
};

static const char *const names[] = {
	[LOG_LEVEL_ERR] = "error",   [LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

int log_level_from_name(const char *name)
{
	for (int i = LOG_LEVEL_ERR; i <= LOG_LEVEL_DEBUG; i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if (level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		return "unknown";
	return names[level];
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_set_prefix_style(bool sd)
{
	sd_prefix = sd;
}

bool log_enabled(enum log_level level)
{
	return level <= current_level;
}

void log_set_sink(int (*sink_cb)(const struct log_event *ev, void *userdata), void *userdata)
{
	sink = sink_cb;
	sink_data = userdata;
}

int log_context_value(const char *message, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	for (const char *p = message; p && *p; p++) {
		if (p != message && p[-1] != ' ')
			continue;
		if (strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		const char *v = p + klen + 1, *end;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
			if (!end)
				end = v + strlen(v);
		} else {
			end = v + strcspn(v, " \t");
			while (end > v && (end[-1] == ':' || end[-1] == ',' || end[-1] == ';'))
				end--;
		}
		size_t n = (size_t)(end - v);
		if (size == 0)
			return (int)n;
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(buf, v, k);
		buf[k] = '\0';
		return (int)n;
	}
	return -1;
}

void log_write_at(enum log_level level, const char *file, int line, const char *func,
                  const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char text[4096];
	int off;
	if (sd_prefix)
		off = snprintf(text, sizeof(text), "<%d>", (int)level);
	else
		off = snprintf(text, sizeof(text), "threatsync: %s: ", log_level_name(level));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + off, sizeof(text) - (size_t)off, fmt, ap);
	va_end(ap);
	/* One event, one line: fold embedded newlines so journald does not split it. */
	for (char *p = text + off; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (sink) {
		struct log_event ev = {.level = level,
		                       .file = file,
		                       .line = line,
		                       .func = func,
		                       .message = text + off};
		if (sink(&ev, sink_data) >= 0)
			return;
	}
	fprintf(stderr, "%s\n", text);
}
