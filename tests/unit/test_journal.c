/* SPDX-License-Identifier: Apache-2.0 */
/* The journal sink (daemon/journal.c, linked in by tests/journal.cmake) and
 * the sink hook of engine/log.c: the fields an event becomes, the context
 * keys read from its key=value text, the fallback to stderr lines, and when
 * the daemon decides it runs under the journal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/journal.h"
#include "engine/log.h"
#include "engine/util.h"
#include "helpers/testutil.h"

/* What the recording sendv saw: the fields of each entry, "\n"-joined. */
static char *sent[8];
static int n_sent;
static int send_result;

static int record_sendv(const struct iovec *iov, int n)
{
	struct ts_buf b = {0};
	for (int i = 0; i < n; i++)
		ts_buf_printf(&b, "%s%.*s", i ? "\n" : "", (int)iov[i].iov_len,
		              (const char *)iov[i].iov_base);
	if (n_sent < (int)TS_ARRAY_SIZE(sent))
		sent[n_sent++] = ts_buf_steal(&b);
	else
		free(ts_buf_steal(&b));
	return send_result;
}

static int setup(void **state)
{
	(void)state;
	n_sent = 0;
	send_result = 0;
	journal_sendv = record_sendv;
	log_set_prefix_style(true);
	log_set_level(LOG_LEVEL_INFO);
	journal_install();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	for (int i = 0; i < n_sent; i++)
		free(sent[i]);
	n_sent = 0;
	return 0;
}

static void test_context_values(void **state)
{
	(void)state;
	char v[32];
	assert_int_equal(
	    log_context_value("sync pass connector=jira created=1", "connector", v, sizeof(v)), 4);
	assert_string_equal(v, "jira");
	/* A value that ends a clause keeps no punctuation. */
	assert_int_equal(
	    log_context_value("not recorded project=shop: disk full", "project", v, sizeof(v)), 4);
	assert_string_equal(v, "shop");
	/* Quoted values, at the start of the text too. */
	assert_int_equal(log_context_value("task=\"C-A@web b\" done", "task", v, sizeof(v)), 9);
	assert_string_equal(v, "C-A@web b");
	/* A key inside another word, or absent: not there. */
	assert_int_equal(log_context_value("subproject=x", "project", v, sizeof(v)), -1);
	assert_int_equal(log_context_value("project x", "project", v, sizeof(v)), -1);
	assert_int_equal(log_context_value("", "project", v, sizeof(v)), -1);
	/* Cut to the buffer, the full length returned. */
	assert_int_equal(log_context_value("ticket=ABCDEFGH", "ticket", v, 4), 8);
	assert_string_equal(v, "ABC");
}

static void test_fields(void **state)
{
	(void)state;
	int line = __LINE__ + 1;
	log_warning(
	    "scan upload failed id=3 project=shop connector=jira ticket=SEC-7 task=C-X@web: %s",
	    "boom");
	assert_int_equal(n_sent, 1);
	char *want = ts_asprintf("MESSAGE=scan upload failed id=3 project=shop connector=jira "
	                         "ticket=SEC-7 task=C-X@web: "
	                         "boom\n"
	                         "PRIORITY=4\n"
	                         "CODE_FILE=tests/unit/test_journal.c\n"
	                         "CODE_LINE=%d\n"
	                         "CODE_FUNC=test_fields\n"
	                         "SYSLOG_IDENTIFIER=threatsyncd\n"
	                         "PROJECT=shop\n"
	                         "CONNECTOR=jira\n"
	                         "TICKET=SEC-7\n"
	                         "TASK=C-X@web",
	                         line);
	assert_string_equal(sent[0], want);
	free(want);
}

static void test_ticket_from_key(void **state)
{
	(void)state;
	/* Webhook lines name the tracker's issue "key"; ticket= wins when both are there. */
	log_notice("webhook applied connector=gl key=grp/app#4 status=\"closed\"");
	log_err("x ticket=SEC-1 key=SEC-2");
	/* Without context: the fixed fields only; multi-line text folded. */
	log_info("started\nversion=1");
	/* Below the level: nothing. */
	log_debug("detail project=shop");
	assert_int_equal(n_sent, 3);
	assert_non_null(strstr(sent[0], "\nPRIORITY=5\n"));
	assert_non_null(strstr(sent[0], "\nCONNECTOR=gl\nTICKET=grp/app#4"));
	assert_null(strstr(sent[0], "PROJECT="));
	const char *t = strstr(sent[1], "\nTICKET=");
	assert_non_null(t);
	assert_string_equal(t, "\nTICKET=SEC-1");
	static const char head[] = "MESSAGE=started version=1\nPRIORITY=6\n";
	assert_true(strncmp(sent[2], head, strlen(head)) == 0);
	assert_non_null(strstr(sent[2], "SYSLOG_IDENTIFIER=threatsyncd"));
	assert_null(strstr(sent[2], "TICKET="));
}

/* A refused entry is written to stderr as a "<N>" line. */
static void test_refused_falls_back(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/stderr", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	send_result = -ENOENT;
	log_err("sync failed connector=jira");
	send_result = 0;
	log_err("sync ok connector=jira");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *text = tu_read_file(path);
	assert_string_equal(text, "<3>sync failed connector=jira\n");
	assert_int_equal(n_sent, 2);
	free(text);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void test_detection(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	char *dir = tu_tmpdir();
	char *sock = tu_write_file(dir, "socket", "");
	char *none = ts_asprintf("%s/none", dir);
	char buf[64];
	unsetenv("JOURNAL_STREAM");
	unsetenv("INVOCATION_ID");
	journal_socket_path = sock;
	assert_false(journal_wanted());
	/* INVOCATION_ID alone: only where journald listens. */
	setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
	assert_true(journal_wanted());
	journal_socket_path = none;
	assert_false(journal_wanted());
	/* JOURNAL_STREAM decides when set: stderr must be that stream. */
	snprintf(buf, sizeof(buf), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", buf, 1);
	assert_true(journal_wanted());
	journal_socket_path = sock;
	snprintf(buf, sizeof(buf), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", buf, 1);
	assert_false(journal_wanted());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(journal_wanted());
	unsetenv("JOURNAL_STREAM");
	unsetenv("INVOCATION_ID");
	tu_rmrf(dir);
	free(dir);
	free(sock);
	free(none);
}

/* Without a sink the lines are as before. */
static void test_no_sink_plain_lines(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	char *dir = tu_tmpdir();
	char *path = ts_asprintf("%s/stderr", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_warning("stopping project=shop");
	log_set_prefix_style(false);
	log_warning("stopping project=shop");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char *text = tu_read_file(path);
	assert_string_equal(
	    text, "<4>stopping project=shop\nthreatsync: warning: stopping project=shop\n");
	assert_int_equal(n_sent, 0);
	free(text);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_context_values),
	    cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticket_from_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_falls_back, setup, teardown),
	    cmocka_unit_test(test_detection),
	    cmocka_unit_test_setup_teardown(test_no_sink_plain_lines, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
