/* SPDX-License-Identifier: Apache-2.0 */
/* Structured log entries to the systemd journal through sd_journal_sendv. */
#include "daemon/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

int (*journal_sendv)(const struct iovec *iov, int n) = sd_journal_sendv;
const char *journal_socket_path = "/run/systemd/journal/socket";

/* Appends "NAME=value" to e, cut at JOURNAL_FIELD_MAX - 1 bytes. */
static void add_field(struct journal_entry *e, const char *name, const char *value)
{
	if (e->n >= JOURNAL_MAX_FIELDS)
		return;
	char *t = e->text[e->n];
	int len = snprintf(t, JOURNAL_FIELD_MAX, "%s=%s", name, value);
	if (len < 0)
		return;
	if (len >= JOURNAL_FIELD_MAX)
		len = JOURNAL_FIELD_MAX - 1;
	e->iov[e->n].iov_base = t;
	e->iov[e->n].iov_len = (size_t)len;
	e->n++;
}

static bool has_field(const struct journal_entry *e, const char *name)
{
	size_t len = strlen(name);
	for (int i = 0; i < e->n; i++)
		if (strncmp(e->text[i], name, len) == 0 && e->text[i][len] == '=')
			return true;
	return false;
}

/* The source file as the repository names it ("daemon/api.c"): without the
 * checkout's directory or the "../" a relative build adds. */
static const char *source_name(const char *file)
{
	if (!file)
		return "";
#ifdef TS_SOURCE_DIR
	size_t n = strlen(TS_SOURCE_DIR);
	if (strncmp(file, TS_SOURCE_DIR, n) == 0 && file[n] == '/')
		return file + n + 1;
#endif
	while (strncmp(file, "../", 3) == 0 || strncmp(file, "./", 2) == 0)
		file += file[1] == '/' ? 2 : 3;
	return file;
}

void journal_entry_fill(struct journal_entry *e, const struct log_event *ev, const char *identifier)
{
	char num[24];
	e->n = 0;
	add_field(e, "MESSAGE", ev->message);
	snprintf(num, sizeof(num), "%d", (int)ev->level);
	add_field(e, "PRIORITY", num);
	add_field(e, "CODE_FILE", source_name(ev->file));
	snprintf(num, sizeof(num), "%d", ev->line);
	add_field(e, "CODE_LINE", num);
	add_field(e, "CODE_FUNC", ev->func ? ev->func : "");
	add_field(e, "SYSLOG_IDENTIFIER", identifier ? identifier : "threatsyncd");
	char value[256];
	for (const struct log_context_key *k = log_context_keys; k->key; k++) {
		if (has_field(e, k->field))
			continue;
		if (log_context_value(ev->message, k->key, value, sizeof(value)) > 0)
			add_field(e, k->field, value);
	}
}

int journal_sink_cb(const struct log_event *ev, void *userdata)
{
	/* About 50 KiB: kept per thread rather than on the stack, since the
	 * libuv pool threads that may log have smaller stacks. */
	static _Thread_local struct journal_entry e;
	journal_entry_fill(&e, ev, userdata);
	int r = journal_sendv(e.iov, e.n);
	return r < 0 ? r : 0;
}

bool journal_wanted(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	if (stream && *stream) {
		unsigned long long dev, ino;
		char end;
		struct stat st;
		if (sscanf(stream, "%llu:%llu%c", &dev, &ino, &end) != 2)
			return false;
		if (fstat(STDERR_FILENO, &st) < 0)
			return false;
		return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	/* sd_journal_sendv drops entries silently when no journald listens:
	 * without the socket, stderr lines are the only log there is. */
	const char *inv = getenv("INVOCATION_ID");
	return inv && *inv && access(journal_socket_path, W_OK) == 0;
}

void journal_install(void)
{
	log_set_sink(journal_sink_cb, (void *)"threatsyncd");
}
