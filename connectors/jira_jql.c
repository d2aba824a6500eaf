/* SPDX-License-Identifier: Apache-2.0 */
/* JQL literals, URL escaping and the Jira API user's time zone (JQL dates are
 * read in it, at minute precision), the latter from the system's TZif files. */
#include "connectors/jira_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *jira_jql_quote(const char *s)
{
	struct ts_buf b = {0};
	ts_buf_puts(&b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ts_buf_puts(&b, "\\");
		ts_buf_append(&b, s, 1);
	}
	ts_buf_puts(&b, "\"");
	return ts_buf_steal(&b);
}

char *jira_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct ts_buf b = {0};
	ts_buf_append(&b, "", 0);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			ts_buf_append(&b, s, 1);
		} else {
			char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			ts_buf_append(&b, enc, 3);
		}
	}
	return b.data ? ts_buf_steal(&b) : ts_strdup("");
}

/* ---- time zones ---- */

struct jira_tz {
	int32_t initial; /* offset before the first transition (or the only one) */
	size_t n;        /* transitions */
	int64_t *at;     /* unix seconds, ascending */
	int32_t *offset; /* offset from at[i] on */
};

#define TZIF_MAX (512 * 1024)

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int tzif_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -EINVAL;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->type == 0 || c->type > 256 || c->time > 100000 || c->leap > 10000 ||
	    c->chars > 100000 || c->isut > 256 || c->isstd > 256)
		return -EINVAL;
	return 0;
}

static size_t tzif_block_len(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) +
	       c->isstd + c->isut;
}

/* Parses a TZif file (RFC 8536): the 64-bit block of version 2+ files, else
 * the 32-bit one. */
static int tzif_parse(const unsigned char *p, size_t len, struct jira_tz *tz)
{
	struct tzif_counts c;
	if (tzif_header(p, len, &c) < 0)
		return -EINVAL;
	size_t tsize = 4;
	size_t v1 = tzif_block_len(&c, 4);
	if (p[4] >= '2') {
		if (len < 44 + v1 || tzif_header(p + 44 + v1, len - 44 - v1, &c) < 0)
			return -EINVAL;
		p += 44 + v1;
		len -= 44 + v1;
		tsize = 8;
	}
	if (len < 44 + tzif_block_len(&c, tsize))
		return -EINVAL;
	const unsigned char *times = p + 44;
	const unsigned char *idx = times + c.time * tsize;
	const unsigned char *types = idx + c.time;
	tz->initial = (int32_t)be32(types);
	tz->n = c.time;
	tz->at = ts_calloc(c.time ? c.time : 1, sizeof(*tz->at));
	tz->offset = ts_calloc(c.time ? c.time : 1, sizeof(*tz->offset));
	for (uint32_t i = 0; i < c.time; i++) {
		if (idx[i] >= c.type)
			return -EINVAL;
		tz->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
		tz->offset[i] = (int32_t)be32(types + 6 * idx[i]);
		if (i > 0 && tz->at[i] < tz->at[i - 1])
			return -EINVAL;
	}
	return 0;
}

/* "GMT+01:30", "UTC-05:00", "+0100", "-05:30": a fixed offset east of UTC. */
static bool fixed_offset(const char *name, int32_t *ret)
{
	const char *s = name;
	if (strncmp(s, "GMT", 3) == 0 || strncmp(s, "UTC", 3) == 0)
		s += 3;
	if (*s != '+' && *s != '-')
		return false;
	int sign = *s == '-' ? -1 : 1;
	s++;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return false;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	s += 2;
	if (*s == ':')
		s++;
	int m = 0;
	if (*s) {
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2])
			return false;
		m = (s[0] - '0') * 10 + (s[1] - '0');
	}
	if (h > 14 || m > 59)
		return false;
	*ret = sign * (h * 3600 + m * 60);
	return true;
}

static bool zone_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	return true;
}

int jira_tz_load(const char *name, struct jira_tz **ret)
{
	if (!name)
		return -EINVAL;
	struct jira_tz *tz = ts_calloc(1, sizeof(*tz));
	int32_t off;
	if (fixed_offset(name, &off)) {
		tz->initial = off;
		*ret = tz;
		return 0;
	}
	if (!zone_name_ok(name)) {
		free(tz);
		return -EINVAL;
	}
	const char *dir = getenv("TZDIR");
	char *path = ts_asprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	char *data = NULL;
	size_t len = 0;
	int rc = ts_read_file(path, TZIF_MAX, &data, &len);
	free(path);
	if (rc == 0)
		rc = tzif_parse((const unsigned char *)data, len, tz);
	free(data);
	if (rc < 0) {
		jira_tz_free(tz);
		return rc == -EISDIR || rc == -EFBIG ? -EINVAL : rc;
	}
	*ret = tz;
	return 0;
}

void jira_tz_free(struct jira_tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->offset);
	free(tz);
}

int32_t jira_tz_offset(const struct jira_tz *tz, int64_t unix_s)
{
	if (!tz)
		return 0;
	if (tz->n == 0 || unix_s < tz->at[0])
		return tz->initial;
	size_t lo = 0, hi = tz->n; /* the last transition at or before unix_s */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= unix_s)
			lo = mid;
		else
			hi = mid;
	}
	return tz->offset[lo];
}

void jira_jql_time(const struct jira_tz *tz, int64_t unix_ms, char out[32])
{
	int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
	time_t local = (time_t)(s + jira_tz_offset(tz, s));
	struct tm tm;
	gmtime_r(&local, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}
