/* SPDX-License-Identifier: Apache-2.0 */
/* The GitLab emulator as a child process of a test, and its control API through libcurl easy. */
#include "helpers/gitlab_util.h"
#include "helpers/testutil.h"

#include "engine/util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void gu_emu_start(struct gu_emu *e, const char *const extra_args[])
{
	memset(e, 0, sizeof(*e));
	e->dir = tu_tmpdir();
	char *port_path = ts_asprintf("%s/port", e->dir);
	char *script =
	    ts_asprintf("%s/tests/emulators/gitlab_emulator.py", tu_env("TS_SOURCE_DIR"));
	const char *argv[32] = {"python3", script, "--port", "0", "--port-file", port_path};
	size_t n = 6;
	for (const char *const *a = extra_args; a && *a && n < TS_ARRAY_SIZE(argv) - 1; a++)
		argv[n++] = *a;
	argv[n] = NULL;
	e->pid = fork();
	assert_true(e->pid >= 0);
	if (e->pid == 0) {
		/* The emulator's own chatter would only clutter the test log. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	int port = 0;
	for (int i = 0; i < 1500 && port == 0; i++) {
		char *txt = tu_read_file(port_path);
		if (txt) {
			port = atoi(txt);
			free(txt);
		}
		if (port == 0) {
			int status;
			assert_int_equal(waitpid(e->pid, &status, WNOHANG), 0);
			usleep(10000);
		}
	}
	assert_true(port > 0);
	snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d", port);
	free(port_path);
	free(script);
}

void gu_emu_stop(struct gu_emu *e)
{
	if (e->pid > 0) {
		int status;
		kill(e->pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
				e->pid = 0;
				break;
			}
			usleep(10000);
		}
		if (e->pid > 0) {
			kill(e->pid, SIGKILL);
			waitpid(e->pid, &status, 0);
			e->pid = 0;
		}
	}
	if (e->dir) {
		tu_rmrf(e->dir);
		free(e->dir);
		e->dir = NULL;
	}
}

static size_t gu_write_cb(char *p, size_t size, size_t n, void *ud)
{
	ts_buf_append(ud, p, size * n);
	return size * n;
}

static size_t gu_header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct ts_buf *b = ud;
	size_t len = size * n;
	bool in_name = true;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == ':')
			in_name = false;
		if (in_name)
			c = (char)tolower((unsigned char)c);
		ts_buf_append(b, &c, 1);
	}
	return len;
}

static CURL *gu_easy(const struct gu_emu *e, const char *method, const char *path,
                     struct ts_buf *body, struct curl_slist *hdrs)
{
	CURL *c = curl_easy_init();
	assert_non_null(c);
	char *url = ts_asprintf("%s%s", e->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gu_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	free(url);
	return c;
}

json_t *gu_call(const struct gu_emu *e, const char *method, const char *path, const char *body,
                const char *const headers[], long *ret_status)
{
	struct ts_buf out = {0};
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	for (const char *const *h = headers; h && *h; h++)
		hdrs = curl_slist_append(hdrs, *h);
	CURL *c = gu_easy(e, method, path, &out, hdrs);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (ret_status)
		*ret_status = status;
	json_t *doc = json_null();
	if (out.len) {
		json_error_t jerr;
		json_decref(doc);
		doc = json_loadb(out.data, out.len, 0, &jerr);
		if (!doc)
			fail_msg("%s %s: %ld answer is not JSON: %.200s", method, path, status,
			         out.data);
	}
	ts_buf_free(&out);
	return doc;
}

json_t *gu_ctl(const struct gu_emu *e, const char *method, const char *path, const char *body)
{
	long status = 0;
	json_t *doc = gu_call(e, method, path, body, NULL, &status);
	if (status < 200 || status > 299) {
		char *txt = json_dumps(doc, JSON_ENCODE_ANY);
		fail_msg("%s %s: %ld %s", method, path, status, txt);
	}
	return doc;
}

char *gu_get_headers(const struct gu_emu *e, const char *path, const char *token)
{
	struct ts_buf body = {0}, head = {0};
	char *tok = ts_asprintf("PRIVATE-TOKEN: %s", token);
	struct curl_slist *hdrs = curl_slist_append(NULL, tok);
	CURL *c = gu_easy(e, "GET", path, &body, hdrs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, gu_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("GET %s: %s", path, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(tok);
	ts_buf_free(&body);
	if (!head.data)
		ts_buf_puts(&head, "");
	return ts_buf_steal(&head);
}
