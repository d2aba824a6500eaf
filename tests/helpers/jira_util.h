/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers for the Jira connector: the Jira emulator as a child process,
 * its control API, and running connector operations on a private uv loop. */
#ifndef TS_TESTS_JIRA_UTIL_H
#define TS_TESTS_JIRA_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "connectors/connector.h"

struct ju_emu {
	pid_t pid;
	char *dir;     /* owned: port file */
	char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts tests/emulators/jira_emulator.py --flavor flavor plus extra args
 * (NULL-terminated, may be NULL) on a free port. Fails the test on error. */
void ju_emu_start(struct ju_emu *e, const char *flavor, const char *const extra[]);
/* SIGTERM, reap, remove the directory. */
void ju_emu_stop(struct ju_emu *e);
/* Stops every emulator still running (a cmocka teardown after a failed
 * assertion skipped ju_emu_stop). */
void ju_emu_stop_all(void);

/* Calls the emulator (control API or API without auth) synchronously; body may
 * be NULL. Returns the parsed JSON answer (new reference; JSON null for an
 * empty body) and the status in *ret_status when not NULL. */
json_t *ju_emu_call(struct ju_emu *e, const char *method, const char *path, const char *body,
                    long *ret_status);

/* Every recorded API request (GET /_emu/requests). New reference. */
json_t *ju_requests(struct ju_emu *e);
/* The recorded requests with this method (NULL = any) whose path starts with
 * prefix. New reference. */
json_t *ju_requests_for(struct ju_emu *e, const char *method, const char *prefix);

/* A connector on its own loop and HTTP client. */
struct ju_ctx {
	uv_loop_t loop;
	struct http_client *client;
	struct config_connector cfg; /* strings owned by the context */
	void *conn;
	bool client_closed;
};

/* Opens the Jira connector against e; token NULL means the emulator's token. */
void ju_open(struct ju_ctx *x, struct ju_emu *e, enum config_jira_flavor flavor, const char *token);
/* The same (Cloud flavour) with the connector's ca_bundle and proxy keys
 * set (NULL: unset). */
void ju_open_via(struct ju_ctx *x, struct ju_emu *e, const char *ca_bundle, const char *proxy);

/* $TS_SOURCE_DIR/tests/data/tls/NAME (ca.pem, other-ca.pem, server.pem,
 * server.key), new string. An emulator started with "--tls-cert" in its extra
 * arguments serves HTTPS and its base is https://. */
char *ju_tls_file(const char *name);

/* tests/emulators/proxy.py on a free port: a forward proxy (absolute-form
 * HTTP and CONNECT) to local origins that logs "METHOD TARGET STATUS" per
 * request; auth "USER:PASSWORD" or NULL. */
struct ju_proxy {
	pid_t pid;
	char *dir;
	char *log;
	char url[64]; /* "http://127.0.0.1:PORT" */
};
void ju_proxy_start(struct ju_proxy *p, const char *auth);
char *ju_proxy_log(struct ju_proxy *p); /* the log so far, new string */
void ju_proxy_stop(struct ju_proxy *p);
/* Closes the connector and the client, runs the loop until every handle is
 * closed and asserts uv_loop_close succeeds. */
void ju_close(struct ju_ctx *x);

/* A deep copy of a connector result, taken in the callback. */
struct ju_result {
	bool done;
	struct connector_result r;
};
void ju_cb(void *ud, const struct connector_result *r);
/* Runs x's loop until res->done (fails the test after timeout_ms). */
void ju_wait(struct ju_ctx *x, struct ju_result *res, int timeout_ms);
void ju_result_clear(struct ju_result *res);

#endif
