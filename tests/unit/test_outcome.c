/* SPDX-License-Identifier: Apache-2.0 */
/* The one HTTP-outcome classifier of the connectors (connector_classify),
 * row by row of the table in connectors/connector.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"
#include "helpers/testutil.h"

/* A fixed wall clock: Sun, 22 Nov 2026 10:00:00 GMT. */
#define NOW_MS INT64_C(1795341600000)

enum req { SAFE, UNSAFE };

struct row {
	const char *name;
	enum http_outcome outcome;
	long status;
	enum req req;
	bool body_ok;
	const char *retry_after;  /* Retry-After, or NULL */
	const char *reset_header; /* a rate-limit reset header's name, or NULL */
	const char *reset;        /* its value */
	enum connector_status want;
	int64_t want_ms;
};

static const struct row rows[] = {
    /* the transport */
    {"cancelled", HTTP_CANCELLED, 0, SAFE, false, NULL, NULL, NULL, CONNECTOR_CANCELLED, 0},
    {"cancelled write", HTTP_CANCELLED, 0, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_CANCELLED, 0},
    {"not sent, read", HTTP_FAILED, 0, SAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY, 1000},
    {"not sent, write", HTTP_FAILED, 0, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY, 1000},
    {"no answer, read", HTTP_OUTCOME_UNKNOWN, 0, SAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY,
     1000},
    {"no answer, write", HTTP_OUTCOME_UNKNOWN, 0, UNSAFE, false, NULL, NULL, NULL,
     CONNECTOR_UNKNOWN, 0},
    /* success */
    {"200 read", HTTP_OK, 200, SAFE, true, NULL, NULL, NULL, CONNECTOR_OK, 0},
    {"201 write", HTTP_OK, 201, UNSAFE, true, NULL, NULL, NULL, CONNECTOR_OK, 0},
    {"204 with Retry-After", HTTP_OK, 204, SAFE, true, "30", NULL, NULL, CONNECTOR_OK, 0},
    {"200 garbled, read", HTTP_OK, 200, SAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY, 1000},
    {"201 garbled, write", HTTP_OK, 201, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_UNKNOWN, 0},
    /* rate limited: retried whatever the method */
    {"429 bare", HTTP_OK, 429, SAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY, 1000},
    {"429 write", HTTP_OK, 429, UNSAFE, false, "7", NULL, NULL, CONNECTOR_RETRY, 7000},
    {"429 Retry-After 0", HTTP_OK, 429, SAFE, false, "0", NULL, NULL, CONNECTOR_RETRY, 1000},
    {"429 Retry-After date", HTTP_OK, 429, SAFE, false, "Sun, 22 Nov 2026 10:01:00 GMT", NULL, NULL,
     CONNECTOR_RETRY, 60000},
    {"429 Retry-After garbage", HTTP_OK, 429, SAFE, false, "soon", NULL, NULL, CONNECTOR_RETRY,
     1000},
    {"429 GitLab reset (unix s)", HTTP_OK, 429, SAFE, false, NULL, "RateLimit-Reset", "1795341625",
     CONNECTOR_RETRY, 25000},
    {"429 Jira reset (ISO)", HTTP_OK, 429, UNSAFE, false, NULL, "X-RateLimit-Reset",
     "2026-11-22T10:00:40Z", CONNECTOR_RETRY, 40000},
    {"429 reset in the past", HTTP_OK, 429, SAFE, false, NULL, "X-RateLimit-Reset",
     "2026-11-22T09:00:00Z", CONNECTOR_RETRY, 1000},
    {"429 Retry-After before reset", HTTP_OK, 429, SAFE, false, "3", "RateLimit-Reset",
     "1795341625", CONNECTOR_RETRY, 3000},
    /* server errors */
    {"500 read", HTTP_OK, 500, SAFE, false, NULL, NULL, NULL, CONNECTOR_RETRY, 1000},
    {"503 read, Retry-After", HTTP_OK, 503, SAFE, false, "12", NULL, NULL, CONNECTOR_RETRY, 12000},
    {"503 read, reset only", HTTP_OK, 503, SAFE, false, NULL, "RateLimit-Reset", "1795341625",
     CONNECTOR_RETRY, 1000},
    {"500 write", HTTP_OK, 500, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_UNKNOWN, 0},
    {"503 write, Retry-After", HTTP_OK, 503, UNSAFE, false, "12", NULL, NULL, CONNECTOR_UNKNOWN, 0},
    /* refusals */
    {"400", HTTP_OK, 400, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
    {"401", HTTP_OK, 401, SAFE, false, NULL, NULL, NULL, CONNECTOR_DENIED, 0},
    {"401 write", HTTP_OK, 401, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_DENIED, 0},
    {"403", HTTP_OK, 403, SAFE, false, "5", NULL, NULL, CONNECTOR_DENIED, 0},
    {"404", HTTP_OK, 404, SAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
    {"409", HTTP_OK, 409, UNSAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
    {"302", HTTP_OK, 302, SAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
    {"100", HTTP_OK, 100, SAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
    {"600", HTTP_OK, 600, SAFE, false, NULL, NULL, NULL, CONNECTOR_FAILED, 0},
};

static const char *status_name(enum connector_status s)
{
	static const char *const names[] = {"OK",        "RETRY",  "UNKNOWN", "FAILED",
	                                    "CANCELLED", "DENIED", "NO_SCOPE"};
	return (size_t)s < TS_ARRAY_SIZE(names) ? names[s] : "?";
}

static void test_table(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < TS_ARRAY_SIZE(rows); i++) {
		const struct row *w = &rows[i];
		char ra_name[] = "Retry-After", ra_value[64], rs_name[32], rs_value[64];
		struct http_header h[2];
		size_t n = 0;
		if (w->retry_after) {
			snprintf(ra_value, sizeof(ra_value), "%s", w->retry_after);
			h[n++] = (struct http_header){.name = ra_name, .value = ra_value};
		}
		if (w->reset_header) {
			snprintf(rs_name, sizeof(rs_name), "%s", w->reset_header);
			snprintf(rs_value, sizeof(rs_value), "%s", w->reset);
			h[n++] = (struct http_header){.name = rs_name, .value = rs_value};
		}
		char body[] = "";
		struct http_response r = {.outcome = w->outcome,
		                          .status = w->status,
		                          .body = body,
		                          .headers = n ? h : NULL,
		                          .n_headers = n};
		int64_t ms = -1;
		enum connector_status got =
		    connector_classify(&r, w->req == UNSAFE, w->body_ok, NOW_MS, &ms);
		if (got != w->want || ms != w->want_ms) {
			print_error("row '%s': got %s %lld ms, want %s %lld ms\n", w->name,
			            status_name(got), (long long)ms, status_name(w->want),
			            (long long)w->want_ms);
			bad++;
		}
	}
	/* Requests the HTTP client refused before sending. */
	const struct {
		int rc;
		enum connector_status want;
		int64_t want_ms;
	} submit[] = {{-ECANCELED, CONNECTOR_CANCELLED, 0},
	              {-ENOBUFS, CONNECTOR_RETRY, 1000},
	              {-EINVAL, CONNECTOR_FAILED, 0}};
	for (size_t i = 0; i < TS_ARRAY_SIZE(submit); i++) {
		int64_t ms = -1;
		enum connector_status got = connector_classify_submit(submit[i].rc, &ms);
		if (got != submit[i].want || ms != submit[i].want_ms) {
			print_error("submit %d: got %s %lld ms\n", submit[i].rc, status_name(got),
			            (long long)ms);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Refusals told apart by their body (note 6 of the table): the tracker
 * project is missing or invisible, or something else was refused. The
 * bodies are the trackers' own (docs/emulators.md, tests/data/contract/). */
static void test_project_missing(void **state)
{
	(void)state;
	const struct {
		const char *name;
		long status;
		const char *body;
		enum connector_status want;
	} cases[] = {
	    {"GitLab project 404", 404, "{\"message\":\"404 Project Not Found\"}",
	     CONNECTOR_NO_SCOPE},
	    {"GitLab issue 404", 404, "{\"message\":\"404 Not found\"}", CONNECTOR_FAILED},
	    {"Jira create, no project", 400,
	     "{\"errorMessages\":[],\"errors\":{\"project\":\"Specify a valid project ID or "
	     "key\"}}",
	     CONNECTOR_NO_SCOPE},
	    {"Jira search, no project", 400,
	     "{\"errorMessages\":[\"The value 'NOPE' does not exist for the field "
	     "'project'.\"],\"warningMessages\":[]}",
	     CONNECTOR_NO_SCOPE},
	    {"Jira other field", 400,
	     "{\"errorMessages\":[],\"errors\":{\"labels\":\"Field 'labels' cannot be "
	     "set.\"}}",
	     CONNECTOR_FAILED},
	    {"Jira issue 404", 404,
	     "{\"errorMessages\":[\"Issue does not exist or you do not have permission to see "
	     "it.\"],\"errors\":{}}",
	     CONNECTOR_FAILED},
	    {"404 text", 404, "Project Not Found", CONNECTOR_FAILED},
	    {"404 empty", 404, "", CONNECTOR_FAILED},
	    {"409 naming a project", 409, "{\"message\":\"404 Project Not Found\"}",
	     CONNECTOR_FAILED},
	};
	int bad = 0;
	for (size_t i = 0; i < TS_ARRAY_SIZE(cases); i++) {
		char body[512];
		snprintf(body, sizeof(body), "%s", cases[i].body);
		struct http_response r = {.outcome = HTTP_OK,
		                          .status = cases[i].status,
		                          .body = body,
		                          .body_len = strlen(body)};
		for (int unsafe = 0; unsafe < 2; unsafe++) {
			int64_t ms = -1;
			enum connector_status got =
			    connector_classify(&r, unsafe, false, NOW_MS, &ms);
			if (got != cases[i].want || ms != 0) {
				print_error("row '%s': got %s %lld ms, want %s\n", cases[i].name,
				            status_name(got), (long long)ms,
				            status_name(cases[i].want));
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_project_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
