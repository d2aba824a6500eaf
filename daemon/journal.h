/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's log sink to the systemd journal: each event becomes one
 * structured entry (MESSAGE, PRIORITY, CODE_FILE/LINE/FUNC,
 * SYSLOG_IDENTIFIER and the PROJECT, CONNECTOR, TICKET, TASK fields of its
 * key=value context), so `journalctl -u threatsyncd PROJECT=shop` selects
 * the lines of one project. Outside systemd the daemon keeps its "<N>"
 * lines on stderr. */
#ifndef TS_DAEMON_JOURNAL_H
#define TS_DAEMON_JOURNAL_H

#include <stdbool.h>
#include <sys/uio.h>

#include "engine/log.h"

/* At most this many fields per entry: 6 fixed ones and the context keys. */
#define JOURNAL_MAX_FIELDS 12
/* Bytes of one field ("NAME=value"); longer values are cut. */
#define JOURNAL_FIELD_MAX 4200

/* The fields of one entry; iov points into text. */
struct journal_entry {
	struct iovec iov[JOURNAL_MAX_FIELDS];
	int n;
	char text[JOURNAL_MAX_FIELDS][JOURNAL_FIELD_MAX];
};

/* Fills e with the fields of ev: MESSAGE, PRIORITY, CODE_FILE (relative to
 * the source tree: "daemon/api.c"), CODE_LINE,
 * CODE_FUNC, SYSLOG_IDENTIFIER=identifier, then one field per context key
 * the message carries (a key named twice, as ticket= and key=, once). */
void journal_entry_fill(struct journal_entry *e, const struct log_event *ev,
                        const char *identifier);

/* Whether the daemon runs under systemd with its stderr connected to the
 * journal: $JOURNAL_STREAM ("DEV:INODE") names stderr, or, without
 * JOURNAL_STREAM, $INVOCATION_ID is set (a unit whose stderr systemd
 * redirected) and journald's socket (journal_socket_path) exists. */
bool journal_wanted(void);

/* Where journald listens; tests point it elsewhere. */
extern const char *journal_socket_path;

/* Installs the journal sink in engine/log.c. An entry the journal refuses
 * (too large, the socket's buffer full) is written to stderr as a plain line
 * instead. */
void journal_install(void);

/* The sending function: sd_journal_sendv, or a recording one in tests. */
extern int (*journal_sendv)(const struct iovec *iov, int n);

/* The sink itself (userdata: the SYSLOG_IDENTIFIER), for tests. */
int journal_sink_cb(const struct log_event *ev, void *userdata);

#endif
