/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the HTTP endpoint's request handling without sockets
 * (daemon/http_route.c, which daemon/httpd.c answers from): the route of a
 * method and path, the webhook header checks (connector, credentials,
 * Content-Length against http.max_body_bytes), the body bound as the body
 * arrives in pieces, then the authentication and reading of the whole body;
 * and the API's bearer token check (api_tokens_check) on the Authorization
 * header.
 *
 * Input: a raw HTTP/1.1 request ("METHOD TARGET VERSION", header lines,
 * an empty line, the body; lines end in "\n" or "\r\n"). The query string is
 * split on '&' and '=' without percent-decoding. The first byte of the
 * version's last character (when there is one) picks the size of the body's
 * pieces and whether the endpoint is stopping. Checks: every refusal is one
 * of the documented statuses with a message, a 405 names the allowed methods,
 * no message quotes a secret, a webhook route is a POST to a configured
 * connector of that tracker, the body bound holds, the right credential
 * computed here is never refused. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/http_route.h"
#include "engine/api_tokens.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET_J "tsfuzz-http-jira-secret-91c3"
#define SECRET_G "tsfuzz-http-gitlab-secret-5d20"
#define API_TOKEN "tsfuzz-http-api-token-77a1"
#define MAX_BODY 1024
#define MAX_FIELDS 64
#define LINE_MAX_LEN 8192

struct field {
	char *name, *value;
};

/* The request as parsed here; every string new. */
struct request {
	char *method, *path, *version;
	struct field headers[MAX_FIELDS], query[MAX_FIELDS];
	size_t n_headers, n_query;
	const char *body; /* borrowed from the input */
	size_t body_len;
};

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		fuzz_fail("out of memory", NULL);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* The next line (without "\r\n"), NULL at the end; *p moves past it. */
static char *next_line(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	const char *s = *p;
	*p += n + (nl ? 1 : 0);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > LINE_MAX_LEN)
		n = LINE_MAX_LEN;
	return dup_n(s, n);
}

static void split_query(struct request *r, char *q)
{
	for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv && r->n_query < MAX_FIELDS;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		struct field *f = &r->query[r->n_query++];
		f->name = dup_n(kv, eq ? (size_t)(eq - kv) : strlen(kv));
		f->value = dup_n(eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0);
	}
}

static bool parse(const uint8_t *data, size_t size, struct request *r)
{
	const char *p = (const char *)data, *end = p + size;
	char *line = next_line(&p, end);
	if (!line)
		return false;
	/* NUL bytes end the strings early: what the request line leaves. */
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2) {
		free(line);
		return false;
	}
	r->method = dup_n(line, (size_t)(sp1 - line));
	char *target = dup_n(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->version = strdup(sp2 + 1);
	free(line);
	char *qm = strchr(target, '?');
	if (qm) {
		*qm = '\0';
		split_query(r, qm + 1);
	}
	r->path = target;
	while ((line = next_line(&p, end))) {
		if (!line[0]) {
			free(line);
			break;
		}
		char *colon = strchr(line, ':');
		if (colon && r->n_headers < MAX_FIELDS) {
			const char *v = colon + 1;
			v += strspn(v, " \t");
			struct field *f = &r->headers[r->n_headers++];
			f->name = dup_n(line, (size_t)(colon - line));
			f->value = strdup(v);
		}
		free(line);
	}
	r->body = p < end ? p : NULL;
	r->body_len = (size_t)(end - p);
	return true;
}

static void request_free(struct request *r)
{
	free(r->method);
	free(r->path);
	free(r->version);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	for (size_t i = 0; i < r->n_query; i++) {
		free(r->query[i].name);
		free(r->query[i].value);
	}
}

static const char *lookup_cb(void *ctx, enum http_value_kind kind, const char *name)
{
	const struct request *r = ctx;
	if (kind == HTTP_HEADER) {
		for (size_t i = 0; i < r->n_headers; i++)
			if (strcasecmp(r->headers[i].name, name) == 0)
				return r->headers[i].value;
		return NULL;
	}
	for (size_t i = 0; i < r->n_query; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	return NULL;
}

static void check_message(const char *what, const char *msg)
{
	if (!msg || !msg[0])
		fuzz_fail(what, "a refusal without a message");
	if (strstr(msg, SECRET_J) || strstr(msg, SECRET_G) || strstr(msg, API_TOKEN))
		fuzz_fail(what, "a message quotes a secret");
}

static void check_refusal(const char *what, const struct http_route *rt, const unsigned *allowed)
{
	bool known = false;
	for (const unsigned *s = allowed; *s; s++)
		known = known || rt->status == *s;
	if (!known)
		fuzz_fail(what, "a refusal with an undocumented status");
	check_message(what, rt->reason);
	if ((rt->status == 405) != (rt->allow != NULL))
		fuzz_fail(what, "Allow without a 405, or a 405 without Allow");
}

/* The configuration: a Jira and a GitLab connector with webhook secrets, a
 * Jira connector without one. Static: the harness never frees it. */
static struct config *fuzz_config(void)
{
	static char n_j[] = "jira", n_g[] = "gitlab", n_n[] = "nohook";
	static char b_j[] = "https://jira.example.com", b_g[] = "https://gitlab.example.com";
	static char s_j[] = SECRET_J, s_g[] = SECRET_G;
	static char *no_labels[] = {NULL};
	static struct config_connector conns[3];
	static struct config cfg;
	conns[0] = (struct config_connector){
	    .name = n_j, .type = CONFIG_CONNECTOR_JIRA, .base_url = b_j, .labels = no_labels};
	conns[0].webhook_secret.value = s_j;
	conns[1] = (struct config_connector){
	    .name = n_g, .type = CONFIG_CONNECTOR_GITLAB, .base_url = b_g, .labels = no_labels};
	conns[1].webhook_secret.value = s_g;
	conns[2] = (struct config_connector){
	    .name = n_n, .type = CONFIG_CONNECTOR_JIRA, .base_url = b_j, .labels = no_labels};
	cfg.connectors = conns;
	cfg.n_connectors = 3;
	cfg.http_max_body = MAX_BODY;
	return &cfg;
}

static const struct api_tokens *fuzz_tokens(void)
{
	static struct api_tokens *t;
	if (!t) {
		struct ts_err err = {0};
		if (api_tokens_parse(API_TOKEN " alpha,beta\n", "fuzz", &t, &err) < 0)
			fuzz_fail("api_tokens_parse", err.msg);
	}
	return t;
}

/* Feeds the body in pieces of step bytes as libmicrohttpd would: whether it
 * stays within the bound. */
static bool body_fits(size_t len, size_t step, size_t max)
{
	size_t have = 0;
	while (have < len) {
		size_t more = len - have < step ? len - have : step;
		if (!http_route_body_fits(have, more, max))
			return false;
		have += more;
	}
	return true;
}

static void hook(const struct config *cfg, struct http_route *rt, struct request *r, size_t step)
{
	const struct config_connector *c = config_find_connector(cfg, rt->connector);
	if (!c || !webhook_accepts(c, rt->source))
		fuzz_fail("a webhook route to a connector that takes none", rt->connector);
	if (rt->max_body != MAX_BODY)
		fuzz_fail("a webhook route without the body bound", NULL);
	bool fits = body_fits(r->body_len, step, rt->max_body);
	if (fits != (r->body_len <= MAX_BODY))
		fuzz_fail("the body bound lets through a longer body, or refuses a shorter one",
		          NULL);
	if (!fits)
		return;
	struct webhook_event *ev = NULL;
	int rc = http_route_body(cfg, rt, lookup_cb, r, r->body, r->body_len, &ev);
	if (rc < 0) {
		static const unsigned allowed[] = {400, 401, 404, 500, 0};
		check_refusal("http_route_body", rt, allowed);
		if (ev)
			fuzz_fail("a refused body with an event", NULL);
		return;
	}
	if (!ev)
		fuzz_fail("an accepted body without an event", NULL);
	webhook_event_free(ev);
}

/* Whether the request carries the right credential and nothing wrong: Jira's
 * signature of the body alone, or GitLab's token. */
static bool right_credential(const struct http_route *rt, struct request *r)
{
	if (rt->source == WEBHOOK_GITLAB) {
		const char *t = lookup_cb(r, HTTP_HEADER, "X-Gitlab-Token");
		return t && strcmp(t, SECRET_G) == 0;
	}
	const char *sig = lookup_cb(r, HTTP_HEADER, "X-Hub-Signature");
	if (!sig || lookup_cb(r, HTTP_QUERY, "secret") || strncmp(sig, "sha256=", 7) != 0)
		return false;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const unsigned char empty[1];
	if (!HMAC(EVP_sha256(), SECRET_J, (int)strlen(SECRET_J),
	          r->body_len ? (const unsigned char *)r->body : empty, r->body_len, mac, &n))
		fuzz_fail("HMAC failed", NULL);
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return strcasecmp(sig + 7, hex) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg = fuzz_config();
	struct request r = {0};
	if (!parse(data, size, &r)) {
		request_free(&r);
		return 0;
	}
	unsigned knob =
	    r.version && r.version[0] ? (unsigned char)r.version[strlen(r.version) - 1] : 0;
	bool quiesced = (knob & 0x80) != 0;
	size_t step = 1 + (knob & 0x7f) * 13;
	struct http_route rt;
	http_route_head(cfg, r.method, r.path, quiesced, lookup_cb, &r, &rt);
	switch (rt.kind) {
	case HTTP_ROUTE_REFUSE: {
		static const unsigned allowed[] = {401, 404, 405, 413, 503, 0};
		check_refusal("http_route_head", &rt, allowed);
		if (rt.status == 401 && strcmp(r.path, "/hooks/gitlab/gitlab") == 0 &&
		    right_credential(&rt, &r))
			fuzz_fail("the right GitLab token is refused", rt.reason);
		if (rt.status == 413 && r.body_len <= MAX_BODY &&
		    !lookup_cb(&r, HTTP_HEADER, "Content-Length"))
			fuzz_fail("413 without a Content-Length", NULL);
		break;
	}
	case HTTP_ROUTE_HEALTHZ:
	case HTTP_ROUTE_METRICS:
		if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0)
			fuzz_fail("a read-only route for another method", r.method);
		break;
	case HTTP_ROUTE_API: {
		if (quiesced || strncmp(r.path, "/api/", 5) != 0)
			fuzz_fail("an API route while stopping, or outside /api/", r.path);
		const char *auth = lookup_cb(&r, HTTP_HEADER, "Authorization");
		enum api_auth a = api_tokens_check(fuzz_tokens(), auth, "alpha");
		bool right = auth && strcmp(auth, "Bearer " API_TOKEN) == 0;
		if (right && a != API_AUTH_OK)
			fuzz_fail("the right bearer token is refused", NULL);
		if (a == API_AUTH_OK && (!auth || !strstr(auth, API_TOKEN)))
			fuzz_fail("a wrong bearer token is accepted", auth);
		break;
	}
	case HTTP_ROUTE_HOOK:
		if (strcmp(r.method, "POST") != 0 || quiesced)
			fuzz_fail("a webhook route for another method, or while stopping",
			          r.method);
		hook(cfg, &rt, &r, step);
		if (rt.kind == HTTP_ROUTE_REFUSE && rt.status == 401 && right_credential(&rt, &r))
			fuzz_fail("the right credential is refused", rt.reason);
		break;
	}
	request_free(&r);
	return 0;
}
