/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers that run threatsyncd as a child process: a private
 * NOTIFY_SOCKET to read its sd_notify datagrams, stderr captured to a file,
 * signals, and reaping with a deadline. */
#ifndef TS_TESTS_DAEMON_UTIL_H
#define TS_TESTS_DAEMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/util.h"

struct du_daemon {
	pid_t pid;           /* 0 once reaped */
	int status;          /* exit status once reaped, 128 + signal when killed */
	int notify_fd;       /* bound AF_UNIX datagram socket, the child's NOTIFY_SOCKET */
	char *dir;           /* borrowed from the caller: where the socket and log live */
	char *notify_path;   /* owned */
	char *stderr_path;   /* owned: the child's stderr */
	struct ts_buf notes; /* every datagram received so far, each followed by "\n--\n" */
	char last[4096];     /* the last datagram, NUL-terminated */
};

enum du_flags {
	DU_WATCHDOG = 1 << 0,       /* WATCHDOG_USEC=200000 and WATCHDOG_PID=<the child> */
	DU_WATCHDOG_OTHER = 1 << 1, /* WATCHDOG_USEC=200000 and WATCHDOG_PID of another process */
};

/* Starts TS_THREATSYNCD with args (NULL-terminated, after argv[0]) in dir,
 * with NOTIFY_SOCKET pointing at a socket in dir and stderr going to
 * dir/stderr.log. The environment is the test's, minus any NOTIFY_SOCKET,
 * WATCHDOG_*, INVOCATION_ID and JOURNAL_STREAM, plus env_extra ("K=V", NULL-terminated, may be NULL). Fails the
 * test on error. Free with du_free. */
struct du_daemon *du_start(const char *dir, const char *const args[], const char *const env_extra[],
                           int flags);

/* Reads datagrams until one holds the line `state` (e.g. "READY=1") or
 * timeout_ms passes. Returns the datagram (owned by d, valid until the next
 * call) or NULL on timeout. Datagrams read on the way are kept in d->notes. */
const char *du_wait_notify(struct du_daemon *d, const char *state, int timeout_ms);

/* Counts datagrams holding `state` received within window_ms from now. */
int du_count_notify(struct du_daemon *d, const char *state, int window_ms);

/* Sends sig to the child (fails the test when it is gone). */
void du_signal(struct du_daemon *d, int sig);

/* Whether the child is still running (not exited, not reaped). */
bool du_alive(struct du_daemon *d);

/* Waits up to timeout_ms for the child to exit and returns its status (exit
 * code, or 128 + signal); on timeout kills it with SIGKILL, reaps it and
 * returns -1. */
int du_wait_exit(struct du_daemon *d, int timeout_ms);

/* The child's stderr so far; new string, caller frees. */
char *du_stderr(struct du_daemon *d);

/* Kills (SIGKILL) and reaps the child if it still runs, closes and removes
 * the socket. NULL is a no-op. */
void du_free(struct du_daemon *d);

/* Whether this process runs under valgrind (its preload is mapped). */
bool du_under_valgrind(void);

/* CPU time (user + system) the process has used, in milliseconds, from
 * /proc/PID/stat; -1 when unreadable. */
long du_cpu_ms(pid_t pid);

/* Resident set size in KiB from /proc/PID/status (VmRSS); -1 when unreadable. */
long du_rss_kib(pid_t pid);
/* A field of /proc/PID/smaps_rollup ("Pss", "Anonymous", ...) in KiB, or -1. */
long du_smaps_kib(pid_t pid, const char *field);

#endif
