/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of tracker webhook deliveries: authentication
 * (webhook_check_headers, webhook_authenticate: the Jira HMAC signature or
 * URL secret, the GitLab token) and the reading of the body by the
 * connector's parse_webhook into the engine's event (connector_webhook_event,
 * webhook_event_new).
 *
 * Input: a first byte of flags, then a credential line, a delivery id line,
 * and the body. Flag bit 0 picks GitLab over Jira; bits 1-2 say what the
 * credential line is (Jira: signature, URL secret, both, or the right
 * signature of the body computed here; GitLab: the token, or the right
 * one); bit 3 drops the delivery id; bit 4 configures the Jira connector
 * with the e-mail of its API user. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "engine/tracking/webhook.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The connector's webhook secret: no message may ever contain it. */
#define SECRET "tsfuzz-webhook-secret-4b7e19"

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

/* A NUL-terminated copy of the bytes up to the next '\n' (new); *p moves
 * past it. NULL when nothing is left. */
static char *take_line(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);
	if (!s)
		fuzz_fail("out of memory", NULL);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (nl ? 1 : 0);
	return s;
}

static void check_message(const char *what, const struct ts_err *err)
{
	if (strstr(err->msg, SECRET))
		fuzz_fail(what, "a message quotes the webhook secret");
}

/* webhook.h: 0, -ENOENT or -EACCES (and -EIO only if HMAC itself fails). */
static void check_auth(const char *what, int rc, const struct ts_err *err)
{
	if (rc == 0)
		return;
	if (!((rc == -ENOENT && err->code == TS_E_NOTFOUND) ||
	      (rc == -EACCES && err->code == TS_E_DENIED)))
		fuzz_fail(what, err->msg);
	if (!err->msg[0])
		fuzz_fail(what, "a refusal without a message");
	check_message(what, err);
}

static void check_event(const struct config_connector *c, const struct webhook_request *req)
{
	struct webhook_event *ev = NULL;
	struct ts_err err = {0};
	int rc = connector_webhook_event(c, req, &ev, &err);
	if (rc < 0) {
		/* connector.h: TS_E_INVALID "webhook body: ..." */
		if (rc != TS_E_INVALID || err.code != TS_E_INVALID ||
		    strncmp(err.msg, "webhook body: ", 14) != 0 || !err.msg[14])
			fuzz_fail("a refused body without its documented error", err.msg);
		check_message("connector_webhook_event", &err);
		if (ev)
			fuzz_fail("a refused body with an event", NULL);
		return;
	}
	if (!ev || !ev->connector || strcmp(ev->connector, c->name) != 0 || !ev->delivery_id ||
	    !ev->event)
		fuzz_fail("an event without its connector, delivery id or event name", NULL);
	size_t dl = strlen(ev->delivery_id);
	if (!dl || (dl > WEBHOOK_DELIVERY_ID_MAX && strncmp(ev->delivery_id, "sha256:", 7) != 0))
		fuzz_fail("a delivery id that is empty or too long", NULL);
	if (req->delivery_id && strcmp(ev->delivery_id, req->delivery_id) != 0 &&
	    strncmp(ev->delivery_id, "sha256:", 7) != 0)
		fuzz_fail("a delivery id that is neither the header's nor the body's hash",
		          ev->delivery_id);
	const struct outbox_remote *r = &ev->remote;
	if (ev->relevant) {
		/* connector.h: relevant events have key, status and updated. */
		if (!r->key || !r->status || !r->updated)
			fuzz_fail("a relevant event without key, status or update time", NULL);
		if (!r->connector || strcmp(r->connector, c->name) != 0)
			fuzz_fail("a relevant event of another connector", r->connector);
	}
	if (c->type == CONFIG_CONNECTOR_GITLAB && ev->self_actor)
		fuzz_fail("a GitLab event said to be caused by threatsync itself", NULL);
	size_t total = touch(ev->connector) + touch(ev->delivery_id) + touch(ev->event) +
	               touch(r->connector) + touch(r->key) + touch(r->id) + touch(r->url) +
	               touch(r->marker) + touch(r->status) + touch(r->status_category) +
	               touch(r->resolution) + touch(r->updated) + touch(r->actor) +
	               touch(r->comment);
	(void)total;
	webhook_event_free(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	char *cred = take_line(&p, end);
	char *delivery = take_line(&p, end);
	const char *body = p;
	size_t body_len = (size_t)(end - p);

	static char name_j[] = "jira-main", name_g[] = "gitlab-main";
	static char base_j[] = "https://jira.example.com", base_g[] = "https://gitlab.example.com";
	static char email[] = "bot@example.com";
	static char secret[] = SECRET;
	static char *no_labels[] = {NULL};
	struct config_connector c = {.labels = no_labels};
	c.webhook_secret.value = secret;
	bool gitlab = flags & 1;
	if (gitlab) {
		c.name = name_g;
		c.type = CONFIG_CONNECTOR_GITLAB;
		c.base_url = base_g;
	} else {
		c.name = name_j;
		c.type = CONFIG_CONNECTOR_JIRA;
		c.base_url = base_j;
		c.email = flags & 16 ? email : NULL;
	}

	struct webhook_request req = {.source = gitlab ? WEBHOOK_GITLAB : WEBHOOK_JIRA,
	                              .delivery_id = flags & 8 ? NULL : delivery,
	                              .body = body_len ? body : NULL,
	                              .body_len = body_len};
	unsigned mode = (flags >> 1) & 3;
	char sig[7 + 64 + 1];
	bool right = false;
	if (gitlab) {
		req.token = mode == 3 ? secret : cred;
		right = mode == 3;
	} else if (mode == 3) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		static const unsigned char empty[1];
		if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
		          body_len ? (const unsigned char *)body : empty, body_len, mac, &n))
			fuzz_fail("HMAC failed", NULL);
		memcpy(sig, "sha256=", 7);
		for (unsigned i = 0; i < n && i < 32; i++)
			snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
		req.signature = sig;
		right = true;
	} else {
		/* 0: both, 1: the signature, 2: the URL secret (NULL without a line) */
		req.signature = mode != 2 ? cred : NULL;
		req.url_secret = mode != 1 ? cred : NULL;
	}

	struct ts_err err = {0};
	int rc = webhook_check_headers(&c, &req, &err);
	check_auth("webhook_check_headers", rc, &err);
	int rc2 = webhook_authenticate(&c, &req, &err);
	check_auth("webhook_authenticate", rc2, &err);
	if (rc < 0 && rc2 != rc)
		fuzz_fail("webhook_authenticate lets through what webhook_check_headers refuses",
		          NULL);
	if (right && rc2 != 0)
		fuzz_fail("the right credential is refused", err.msg);
	/* The other source is never accepted by this connector. */
	struct webhook_request other = req;
	other.source = gitlab ? WEBHOOK_JIRA : WEBHOOK_GITLAB;
	if (webhook_authenticate(&c, &other, &err) != -ENOENT)
		fuzz_fail("a connector takes webhooks of the other tracker", NULL);

	check_event(&c, &req);
	free(cred);
	free(delivery);
	return 0;
}
