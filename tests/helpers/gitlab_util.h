/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers for the GitLab connector: the GitLab emulator as a child process and its control
 * API through libcurl. */
#ifndef TS_TESTS_GITLAB_UTIL_H
#define TS_TESTS_GITLAB_UTIL_H

#include <jansson.h>
#include <sys/types.h>

struct gu_emu {
	pid_t pid;     /* 0 once stopped */
	char *dir;     /* owned: the port file lives here */
	char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts tests/emulators/gitlab_emulator.py on a free port with extra_args
 * (NULL-terminated, may be NULL) and waits until it listens. Fails the test on
 * error. Stop it with gu_emu_stop. */
void gu_emu_start(struct gu_emu *e, const char *const extra_args[]);

/* Stops (SIGTERM, then SIGKILL after 5 s) and reaps the child, removes its
 * directory. Safe to call twice. */
void gu_emu_stop(struct gu_emu *e);

/* Calls the emulator's API: method, path (with query), optional JSON body
 * text. Returns the parsed JSON answer (new reference; JSON null for an
 * empty body) and the status in *ret_status (may be NULL); fails the test
 * when the answer is not JSON. Extra headers (NULL-terminated, may be NULL)
 * are sent as given. */
json_t *gu_call(const struct gu_emu *e, const char *method, const char *path, const char *body,
                const char *const headers[], long *ret_status);

/* The same, failing the test unless the status is 2xx. New reference. */
json_t *gu_ctl(const struct gu_emu *e, const char *method, const char *path, const char *body);

/* The response headers of a GET (as "Name: value\r\n" lines, lower-cased
 * names), for checks such as "no X-Total". New string, caller frees. */
char *gu_get_headers(const struct gu_emu *e, const char *path, const char *token);

#endif
