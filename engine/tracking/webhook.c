/* SPDX-License-Identifier: Apache-2.0 */
/* Tracker webhooks: authentication, the event handed over by a connector,
 * de-duplication and application. */
#include "engine/tracking/webhook.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/tracking/fieldmap.h"
#include "engine/tracking/ticket.h"

static const char SQL_DELIVERY_ADD[] =
    "INSERT INTO webhook_deliveries (connector, delivery_id, received_at)"
    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
static const char SQL_DELIVERY_PRUNE[] = "DELETE FROM webhook_deliveries WHERE received_at < ?1";

/* Indexes into webhook_event.strings. */
enum {
	S_KEY,
	S_ID,
	S_URL,
	S_MARKER,
	S_STATUS,
	S_CATEGORY,
	S_RESOLUTION,
	S_UPDATED,
	S_ACTOR,
	S_COMMENT
};

static int fail_code(struct ts_err *err, int rc, int code, const char *msg)
{
	ts_err_set(err, code, "%s", msg);
	return rc;
}

bool webhook_accepts(const struct config_connector *c, enum webhook_source source)
{
	if (!c || !c->webhook_secret.value)
		return false;
	if (source == WEBHOOK_JIRA)
		return c->type == CONFIG_CONNECTOR_JIRA;
	return c->type == CONFIG_CONNECTOR_GITLAB;
}

static int hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "sha256=<64 hex digits>" into 32 bytes. */
static bool parse_signature(const char *header, unsigned char out[32])
{
	static const char prefix[] = "sha256=";
	if (strncasecmp(header, prefix, sizeof(prefix) - 1) != 0)
		return false;
	const char *hex = header + sizeof(prefix) - 1;
	if (strlen(hex) != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool secret_matches(const char *given, const char *secret)
{
	return ts_secret_equal(given, strlen(given), secret, strlen(secret)) != 0;
}

int webhook_check_headers(const struct config_connector *c, const struct webhook_request *req,
                          struct ts_err *err)
{
	if (!webhook_accepts(c, req->source))
		return fail_code(err, -ENOENT, TS_E_NOTFOUND,
		                 "no webhook endpoint for this connector");
	const char *secret = c->webhook_secret.value;
	if (req->source == WEBHOOK_GITLAB) {
		if (!req->token)
			return fail_code(err, -EACCES, TS_E_DENIED, "missing X-Gitlab-Token");
		if (!secret_matches(req->token, secret))
			return fail_code(err, -EACCES, TS_E_DENIED, "X-Gitlab-Token does not match");
		return 0;
	}
	/* Any credential presented must be right, so a wrong URL secret is not
	 * excused by a signature (and the other way round). */
	if (req->url_secret && !secret_matches(req->url_secret, secret))
		return fail_code(err, -EACCES, TS_E_DENIED,
		                 "the secret URL parameter does not match");
	if (req->signature) {
		unsigned char sig[32];
		if (!parse_signature(req->signature, sig))
			return fail_code(
			    err, -EACCES, TS_E_DENIED,
			    "malformed X-Hub-Signature (expected sha256=<64 hex digits>)");
		return 0;
	}
	if (req->url_secret)
		return 0;
	return fail_code(err, -EACCES, TS_E_DENIED,
	                 "missing X-Hub-Signature (and no secret URL parameter)");
}

int webhook_authenticate(const struct config_connector *c, const struct webhook_request *req,
                         struct ts_err *err)
{
	int rc = webhook_check_headers(c, req, err);
	if (rc < 0 || req->source != WEBHOOK_JIRA || !req->signature)
		return rc;
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	parse_signature(req->signature, want);
	const char *secret = c->webhook_secret.value;
	static const unsigned char empty[1];
	const unsigned char *body = req->body_len ? (const unsigned char *)req->body : empty;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, req->body_len, got, &n) ||
	    n != sizeof(want))
		return fail_code(err, -EIO, TS_E_INTERNAL, "HMAC-SHA256 failed");
	bool ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	if (!ok)
		return fail_code(err, -EACCES, TS_E_DENIED,
		                 "X-Hub-Signature does not match the body");
	return 0;
}

/* ------------------------------------------------------------ events */

void webhook_event_free(struct webhook_event *ev)
{
	if (!ev)
		return;
	free(ev->connector);
	free(ev->delivery_id);
	free(ev->event);
	for (size_t i = 0; i < TS_ARRAY_SIZE(ev->strings); i++)
		free(ev->strings[i]);
	free(ev);
}

static bool delivery_id_usable(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > WEBHOOK_DELIVERY_ID_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static char *copy_into(struct webhook_event *ev, int slot, const char *s)
{
	ev->strings[slot] = ts_strdup(s);
	return ev->strings[slot];
}

struct webhook_event *webhook_event_new(const struct config_connector *c,
                                        const struct webhook_request *req,
                                        const struct webhook_facts *facts)
{
	struct webhook_event *ev = ts_calloc(1, sizeof(*ev));
	ev->connector = ts_strdup(c->name);
	if (delivery_id_usable(req->delivery_id)) {
		ev->delivery_id = ts_strdup(req->delivery_id);
	} else {
		char hex[65];
		ts_sha256_hex(req->body ? req->body : "", req->body_len, hex);
		ev->delivery_id = ts_asprintf("sha256:%s", hex);
	}
	ev->event = ts_strdup(facts->event);
	ev->relevant = facts->relevant;
	ev->self_actor = facts->self_actor;
	const struct outbox_remote *f = &facts->remote;
	struct outbox_remote *r = &ev->remote;
	r->connector = ev->connector;
	r->key = copy_into(ev, S_KEY, f->key);
	r->id = copy_into(ev, S_ID, f->id);
	r->url = copy_into(ev, S_URL, f->url);
	r->marker = copy_into(ev, S_MARKER, f->marker);
	r->status = copy_into(ev, S_STATUS, f->status);
	r->status_category = copy_into(ev, S_CATEGORY, f->status_category);
	r->resolution = copy_into(ev, S_RESOLUTION, f->resolution);
	r->updated = copy_into(ev, S_UPDATED, f->updated);
	r->actor = copy_into(ev, S_ACTOR, f->actor);
	r->comment = copy_into(ev, S_COMMENT, f->comment);
	return ev;
}

/* ------------------------------------------------------------ time */

static bool digits(const char **p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

/* An instant in unix ms and its precision (1 or 1000 ms). */
static int parse_time(const char *s, int64_t *ret_ms, int64_t *ret_unit)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0;
	int64_t unit = 1000;
	if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
		return -EINVAL;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
	    !digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.' || *p == ',') {
		p++;
		int n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n < 3)
				frac = frac * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -EINVAL;
		for (int k = n; k < 3; k++)
			frac *= 10;
		unit = 1;
	}
	int offset_min = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (!digits(&p, 2, &oh))
			return -EINVAL;
		if (*p == ':')
			p++;
		if (!digits(&p, 2, &om))
			return -EINVAL;
		offset_min = sign * (oh * 60 + om);
	} else if (strcmp(p, " UTC") == 0) {
		p += 4;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = sec};
	time_t t = timegm(&tm);
	*ret_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + frac;
	*ret_unit = unit;
	return 0;
}

int webhook_time_cmp(const char *a, const char *b, int *ret_cmp)
{
	int64_t ma, mb, ua, ub;
	if (parse_time(a, &ma, &ua) < 0 || parse_time(b, &mb, &ub) < 0)
		return -EINVAL;
	int64_t unit = ua > ub ? ua : ub;
	ma /= unit;
	mb /= unit;
	*ret_cmp = ma < mb ? -1 : ma > mb ? 1 : 0;
	return 0;
}

/* ------------------------------------------------------------ apply */

const char *webhook_outcome_name(enum webhook_outcome outcome)
{
	switch (outcome) {
	case WEBHOOK_APPLIED:
		return "applied";
	case WEBHOOK_REPLAYED:
		return "replayed";
	case WEBHOOK_IGNORED:
		return "ignored";
	case WEBHOOK_SELF:
		return "self";
	case WEBHOOK_SEEN:
		return "seen";
	case WEBHOOK_STALE:
		return "stale";
	case WEBHOOK_UNMATCHED:
		return "unmatched";
	}
	return "?";
}

/* The stored remote_updated of the ticket (by marker, else key): *ret_found,
 * and *ret_updated new (NULL when none stored). */
static int stored_updated(struct store *s, const struct outbox_remote *r, bool *ret_found,
                          char **ret_updated, struct ts_err *err)
{
	int64_t id = 0;
	int rc = ticket_find(s, r, &id, ret_updated, err);
	*ret_found = rc == 0 && id != 0;
	return rc;
}

int webhook_apply(struct store *s, const struct fieldmap *fm, const struct webhook_event *ev,
                  const char *now, struct webhook_result *ret, struct ts_err *err)
{
	struct webhook_result res = {0};
	char *updated = NULL;
	sqlite3_stmt *st = store_prepare(s, SQL_DELIVERY_ADD);
	if (!st)
		return store_fail(s, "record webhook delivery", err);
	store_bind_text(st, 1, ev->connector);
	store_bind_text(st, 2, ev->delivery_id);
	store_bind_text(st, 3, now);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "record webhook delivery", err);
	rc = 0;
	if (sqlite3_changes(store_db(s)) == 0) {
		res.outcome = WEBHOOK_REPLAYED;
		goto out;
	}
	if (!ev->relevant) {
		res.outcome = WEBHOOK_IGNORED;
		goto out;
	}
	if (ev->self_actor) {
		res.outcome = WEBHOOK_SELF;
		goto out;
	}
	bool found;
	if ((rc = stored_updated(s, &ev->remote, &found, &updated, err)) < 0)
		goto out;
	if (!found) {
		res.outcome = WEBHOOK_UNMATCHED;
		goto out;
	}
	/* Our own write (the sync stored the time the tracker gave it), a change
	 * a poll already applied, or an older event overtaken by a newer one:
	 * none may be applied again. Polling remains the safety net for a human
	 * change within the same second as ours on a whole-second timestamp. */
	int cmp;
	if (updated && webhook_time_cmp(ev->remote.updated, updated, &cmp) == 0 && cmp <= 0) {
		res.outcome = cmp == 0 ? WEBHOOK_SEEN : WEBHOOK_STALE;
		goto out;
	}
	rc = outbox_apply_remote(s, fm, &ev->remote, "webhook", now, &res.apply, err);
	res.outcome = res.apply.duplicate ? WEBHOOK_SEEN : WEBHOOK_APPLIED;
out:
	free(updated);
	if (ret)
		*ret = res;
	return rc;
}

int webhook_prune(struct store *s, const char *before, int *ret_n, struct ts_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_DELIVERY_PRUNE);
	if (!st)
		return store_fail(s, "prune webhook deliveries", err);
	store_bind_text(st, 1, before);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "prune webhook deliveries", err);
	if (ret_n)
		*ret_n = sqlite3_changes(store_db(s));
	return 0;
}
