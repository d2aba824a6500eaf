/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/util.h"
#include "helpers/http_util.h"
#include "helpers/testutil.h"

int hu_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static size_t collect_cb(char *p, size_t size, size_t n, void *ud)
{
	ts_buf_append(ud, p, size * n);
	return size * n;
}

struct hu_reply hu_request(const char *base, const char *method, const char *path,
                           const char *const headers[], const char *body, size_t body_len,
                           long timeout_ms)
{
	CURL *c = curl_easy_init();
	assert_non_null(c);
	char *url = ts_asprintf("%s%s", base, path);
	struct ts_buf out = {0}, hdr = {0};
	struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	struct hu_reply r = {0};
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
		char *ct = NULL;
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		r.content_type = ct ? ts_strdup(ct) : NULL;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(url);
	r.body = ts_buf_steal(&out);
	r.headers = ts_buf_steal(&hdr);
	ts_buf_free(&out);
	ts_buf_free(&hdr);
	return r;
}

void hu_reply_free(struct hu_reply *r)
{
	free(r->body);
	free(r->headers);
	free(r->content_type);
	memset(r, 0, sizeof(*r));
}

void hu_sign(const char *name, const char *secret, const char *body, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body),
	     md, &n);
	int off = snprintf(out, size, "%s: sha256=", name);
	assert_true(off > 0 && (size_t)off + 2 * n < size);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + off + 2 * i, 3, "%02x", md[i]);
}

long long hu_sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	long long v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *hu_sql_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = ts_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

bool hu_sql_wait(sqlite3 *db, const char *sql, long long want, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		if (hu_sql_int(db, sql) == want)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

void hu_cli_ok(const char *conf, ...)
{
	const char *argv[16] = {tu_env("TS_THREATSYNC"), "-c", conf};
	size_t n = 3;
	va_list ap;
	va_start(ap, conf);
	for (const char *a = va_arg(ap, const char *); a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char *err = NULL;
	int rc = tu_run(argv, NULL, NULL, 60000, NULL, &err);
	if (rc != 0)
		fail_msg("%s %s: exit %d: %s", argv[3] ? argv[3] : "", n > 4 ? argv[4] : "", rc,
		         err ? err : "");
	free(err);
}
