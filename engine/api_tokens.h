/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer tokens of the daemon's API (http.api_tokens_file), each scoped to
 * projects: the file format, and the check of an Authorization header in
 * constant time over every token. */
#ifndef TS_ENGINE_API_TOKENS_H
#define TS_ENGINE_API_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/util.h"

#define API_TOKENS_MAX 1024        /* tokens in one file */
#define API_TOKEN_LEN_MAX 512      /* bytes of one token */
#define API_TOKEN_PROJECTS_MAX 256 /* projects named on one line */

struct api_token {
	char *token;     /* owned; wiped by api_tokens_free */
	char **projects; /* owned, n_projects slugs; NULL: every project */
	size_t n_projects;
	int line; /* in the file, for messages */
};

struct api_tokens {
	struct api_token *v; /* owned */
	size_t n;
};

/* Parses the contents of a token file: one token a line, alone (every
 * project) or followed by blanks and "*" (every project) or a comma-separated
 * list of project slugs; blank lines and lines starting with '#' are skipped.
 * A token is printable ASCII without blanks. Errors are TS_E_CONFIG, one per
 * line "FILE:LINE: message" (never quoting a token). *ret is new
 * (api_tokens_free) and holds at least one token on success. */
int api_tokens_parse(const char *text, const char *file, struct api_tokens **ret,
                     struct ts_err *err);
void api_tokens_free(struct api_tokens *t); /* NULL is a no-op; wipes the tokens */

enum api_auth {
	API_AUTH_MISSING = 0, /* no Authorization header, or not "Bearer ..." */
	API_AUTH_INVALID,     /* no such token (or no token file: the API is closed) */
	API_AUTH_FORBIDDEN,   /* a known token that does not cover the project */
	API_AUTH_OK,
};

/* Checks an Authorization header value (may be NULL) for project (NULL: any
 * project will do, only the token is checked). The presented token is
 * compared with every token of t (may be NULL) in constant time, whatever
 * matches first. */
enum api_auth api_tokens_check(const struct api_tokens *t, const char *authorization,
                               const char *project);

/* Whether tok covers project. */
bool api_token_covers(const struct api_token *tok, const char *project);

/* Whether s is a project slug: [a-z0-9-]{1,64}. */
bool api_slug_valid(const char *s);

#endif
