/* SPDX-License-Identifier: Apache-2.0 */
/* Line-oriented logging to stderr with sd-daemon priority prefixes. */
#include "engine/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static bool sd_prefix = false;

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

void log_write(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char line[4096];
	int off;
	if (sd_prefix)
		off = snprintf(line, sizeof(line), "<%d>", (int)level);
	else
		off = snprintf(line, sizeof(line), "threatsync: %s: ", log_level_name(level));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	va_end(ap);
	/* One event, one line: fold embedded newlines so journald does not split it. */
	for (char *p = line + off; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", line);
}
