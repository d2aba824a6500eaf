/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with sd-daemon priority prefixes ("<3>...") so journald keeps
 * levels. One line per event, message then key=value context. Used by the
 * daemon and the CLI; the engine and connectors return errors instead. */
#ifndef TS_ENGINE_LOG_H
#define TS_ENGINE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Returns -1 for an unknown name. Names: error, warning, notice, info, debug. */
int log_level_from_name(const char *name);
const char *log_level_name(enum log_level level);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix lines with "<N>" (daemon, journald) or with "threatsync: level: " (CLI). */
void log_set_prefix_style(bool sd_prefix);

/* Whether a line at this level would be written: check before building costly
 * arguments. */
bool log_enabled(enum log_level level);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_write(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) \
	do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) \
	do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
