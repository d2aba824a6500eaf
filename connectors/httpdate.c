/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers for HTTP-dates, ISO 8601 reset timestamps and Retry-After values. */
#include "connectors/http.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_short[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	if (m <= 2)
		y -= 1;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int mp = m > 2 ? m - 3 : m + 9;
	int64_t doy = (153 * mp + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : days[m - 1];
}

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)(*p)[i];
		if (!isdigit(ch))
			return -EINVAL;
		v = v * 10 + (ch - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

static int literal(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

/* Matches one of names (case-insensitively, as some servers send "GMT" dates
 * in other cases) and returns its index. */
static int name_of(const char **p, const char *const *names, int count, int *ret)
{
	for (int i = 0; i < count; i++) {
		size_t n = strlen(names[i]);
		if (strncasecmp(*p, names[i], n) == 0) {
			*p += n;
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int time_of_day(const char **p, int *h, int *m, int *s)
{
	if (digits(p, 2, h) < 0 || literal(p, ":") < 0 || digits(p, 2, m) < 0 ||
	    literal(p, ":") < 0 || digits(p, 2, s) < 0)
		return -EINVAL;
	return 0;
}

static int assemble(int64_t y, int mon, int d, int h, int mi, int s, int64_t *ret)
{
	if (y < 1900 || y > 9999 || mon < 1 || mon > 12 || d < 1 || d > days_in_month(y, mon) ||
	    h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	if (s == 60) /* a leap second: the next second is close enough */
		s = 59;
	*ret = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

int http_date_parse(const char *s, int64_t now_unix, int64_t *ret_unix)
{
	const char *p = s;
	int wd, d, mon, y, h, mi, sec;
	if (!s)
		return -EINVAL;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (name_of(&p, day_short, 7, &wd) == 0 && *p == ',') {
		p++;
		if (literal(&p, " ") < 0 || digits(&p, 2, &d) < 0 || literal(&p, " ") < 0 ||
		    name_of(&p, month_names, 12, &mon) < 0 || literal(&p, " ") < 0 ||
		    digits(&p, 4, &y) < 0 || literal(&p, " ") < 0 ||
		    time_of_day(&p, &h, &mi, &sec) < 0 || literal(&p, " GMT") < 0 || *p)
			return -EINVAL;
		return assemble(y, mon + 1, d, h, mi, sec, ret_unix);
	}

	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	p = s;
	if (name_of(&p, day_long, 7, &wd) == 0 && *p == ',') {
		p++;
		int yy;
		if (literal(&p, " ") < 0 || digits(&p, 2, &d) < 0 || literal(&p, "-") < 0 ||
		    name_of(&p, month_names, 12, &mon) < 0 || literal(&p, "-") < 0 ||
		    digits(&p, 2, &yy) < 0 || literal(&p, " ") < 0 ||
		    time_of_day(&p, &h, &mi, &sec) < 0 || literal(&p, " GMT") < 0 || *p)
			return -EINVAL;
		/* RFC 9110: a two-digit year more than 50 years in the future
		 * is the most recent past year with those digits. */
		int64_t now_year = 1970 + now_unix / 31556952;
		int64_t year = now_year - now_year % 100 + yy;
		if (year > now_year + 50)
			year -= 100;
		return assemble(year, mon + 1, d, h, mi, sec, ret_unix);
	}

	/* asctime: "Sun Nov  6 08:49:37 1994" */
	p = s;
	if (name_of(&p, day_short, 7, &wd) == 0 && *p == ' ') {
		p++;
		if (name_of(&p, month_names, 12, &mon) < 0 || literal(&p, " ") < 0)
			return -EINVAL;
		if (*p == ' ') {
			p++;
			if (digits(&p, 1, &d) < 0)
				return -EINVAL;
		} else if (digits(&p, 2, &d) < 0) {
			return -EINVAL;
		}
		if (literal(&p, " ") < 0 || time_of_day(&p, &h, &mi, &sec) < 0 ||
		    literal(&p, " ") < 0 || digits(&p, 4, &y) < 0 || *p)
			return -EINVAL;
		return assemble(y, mon + 1, d, h, mi, sec, ret_unix);
	}
	return -EINVAL;
}

int http_iso8601_parse(const char *s, int64_t *ret_unix_ms)
{
	const char *p = s;
	int y, mon, d, h, mi, sec = 0, ms = 0;
	if (!s)
		return -EINVAL;
	if (digits(&p, 4, &y) < 0 || literal(&p, "-") < 0 || digits(&p, 2, &mon) < 0 ||
	    literal(&p, "-") < 0 || digits(&p, 2, &d) < 0)
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || literal(&p, ":") < 0 || digits(&p, 2, &mi) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) < 0)
			return -EINVAL;
		if (*p == '.' || *p == ',') {
			p++;
			int n = 0;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			while (isdigit((unsigned char)*p)) {
				if (n < 3)
					ms = ms * 10 + (*p - '0');
				n++;
				p++;
			}
			for (; n < 3; n++)
				ms *= 10;
		}
	}
	int64_t offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om;
		p++;
		if (digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		offset_s = sign * (oh * 3600 + om * 60);
	}
	if (*p)
		return -EINVAL;
	int64_t t;
	if (assemble(y, mon, d, h, mi, sec, &t) < 0)
		return -EINVAL;
	*ret_unix_ms = (t - offset_s) * 1000 + ms;
	return 0;
}

/* Skips the optional white space (spaces, tabs) around a header value:
 * advances *value past the leading part and returns the length without the
 * trailing part. */
static size_t trim_ows(const char **value)
{
	const char *v = *value;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	*value = v;
	return n;
}

int http_retry_after_ms(const char *value, int64_t now_unix_ms, int64_t *ret_delay_ms)
{
	char buf[64];
	if (!value)
		return -EINVAL;
	size_t n = trim_ows(&value);
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, value, n);
	buf[n] = '\0';

	int64_t delay;
	size_t i = 0;
	while (i < n && isdigit((unsigned char)buf[i]))
		i++;
	if (i == n) {
		/* delta-seconds; anything above a day is capped later anyway */
		int64_t secs = 0;
		for (i = 0; i < n && secs < 86400 * 365; i++)
			secs = secs * 10 + (buf[i] - '0');
		delay = secs * 1000;
	} else {
		int64_t when;
		if (http_date_parse(buf, now_unix_ms / 1000, &when) < 0)
			return -EINVAL;
		delay = when * 1000 - now_unix_ms;
	}
	*ret_delay_ms = delay < 1000 ? 1000 : delay;
	return 0;
}

int http_ratelimit_reset_ms(const char *value, int64_t now_unix_ms, int64_t *ret_unix_ms)
{
	if (!value)
		return -EINVAL;
	size_t n = trim_ows(&value);
	size_t i = 0;
	while (i < n && isdigit((unsigned char)value[i]))
		i++;
	if (n > 0 && i == n) {
		/* Unix seconds (GitLab), or seconds from now (the IETF draft's
		 * small numbers); more digits than any time needs is no time. */
		if (n > 15)
			return -EINVAL;
		int64_t secs = 0;
		for (i = 0; i < n; i++)
			secs = secs * 10 + (value[i] - '0');
		*ret_unix_ms = secs > 1000000000LL ? secs * 1000 : now_unix_ms + secs * 1000;
		return 0;
	}
	return http_iso8601_parse(value, ret_unix_ms);
}
