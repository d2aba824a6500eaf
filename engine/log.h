/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with sd-daemon priority prefixes ("<3>...") so journald keeps
 * levels. One line per event, message then key=value context. Used by the
 * daemon and the CLI; the engine and connectors return errors instead.
 *
 * A sink may take the events instead of stderr: the daemon installs one that
 * sends them to the journal as structured entries (daemon/journal.c), so this
 * file needs no systemd library. */
#ifndef TS_ENGINE_LOG_H
#define TS_ENGINE_LOG_H

#include <stdbool.h>
#include <stddef.h>

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

/* One event as a sink receives it. Every pointer is borrowed for the call:
 * a sink copies what it keeps. */
struct log_event {
	enum log_level level;
	const char *file;    /* source file of the call (__FILE__) */
	int line;            /* its line */
	const char *func;    /* its function */
	const char *message; /* the formatted text, one line, without any prefix */
};

/* The context keys a line may carry as " key=value" (or key="quoted value")
 * and the journal field each becomes; NULL-terminated. "key" (a tracker's
 * issue key in webhook lines) is a second name for "ticket". */
struct log_context_key {
	const char *key;
	const char *field;
};
extern const struct log_context_key log_context_keys[];

/* Routes every event at or above the level to sink_cb instead of stderr
 * (NULL: stderr again). A sink returning a negative number did not take the
 * event: it is written to stderr as usual. userdata is borrowed. */
void log_set_sink(int (*sink_cb)(const struct log_event *ev, void *userdata), void *userdata);

/* The value of the context key in a message, copied into buf (NUL-terminated,
 * cut at size - 1): the text after " key=" (or at the start) up to the next
 * blank, without a trailing ':' ',' or ';', or the contents of a quoted
 * value. Returns its length, or -1 when the message does not carry the key. */
int log_context_value(const char *message, const char *key, char *buf, size_t size);

void log_write_at(enum log_level level, const char *file, int line, const char *func,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* log_write(level, fmt, ...): the call's place goes with the event. */
#define log_write(level, ...) log_write_at(level, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_err(...) log_write(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) \
	do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) \
	do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
