/* SPDX-License-Identifier: Apache-2.0 */
/* threatsyncd as a child process: readiness, reload, stop, watchdog, idle cost,
 * log format and secrecy, and --check-config. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers/daemon_util.h"
#include "helpers/testutil.h"

/* The scheduler is part of the daemon executable, not of a library: its
 * in-process test compiles it here. */
#include "daemon/cron.c"

#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define BUILT_WITH_SANITIZER 1
#endif
#endif
#ifndef BUILT_WITH_SANITIZER
#define BUILT_WITH_SANITIZER 0
#endif

/* Content of the token file: must never reach the log. */
#define SECRET "tsk-7f3a9c1e-NEVER-LOG-ME-52b8"
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 2000

struct fixture {
	char *dir;
	char *config;
	char *token;
	struct du_daemon *d;
};

/* Writes the configuration: database in the fixture's directory, the source
 * tree's library, one Jira connector whose token comes from a file. extra is
 * appended verbatim (may be NULL). */
static void write_config(struct fixture *f, const char *log_level, const char *extra)
{
	char *text =
	    ts_asprintf("# threatsyncd test configuration\n"
	                "database = \"%s/threatsync.db\";\n"
	                "library_paths = [ \"%s/library\" ];\n"
	                "log_level = \"%s\";\n"
	                "shutdown_timeout_ms = 1000;\n"
	                "connectors = (\n"
	                "  {\n"
	                "    name = \"jira\";\n"
	                "    type = \"jira\";\n"
	                "    flavor = \"cloud\";\n"
	                "    base_url = \"https://jira.invalid\";\n"
	                "    email = \"bot@example.com\";\n"
	                "    token_file = \"%s\";\n"
	                "  }\n"
	                ");\n"
	                "%s",
	                f->dir, tu_env("TS_SOURCE_DIR"), log_level, f->token, extra ? extra : "");
	free(f->config);
	f->config = tu_write_file(f->dir, "threatsync.conf", text);
	free(text);
}

static int setup(void **state)
{
	/* Before anything is created: a missing variable fails the setup. */
	tu_env("TS_SOURCE_DIR");
	tu_env("TS_THREATSYNCD");
	struct fixture *f = ts_calloc(1, sizeof(*f));
	f->dir = tu_tmpdir();
	f->token = tu_write_file(f->dir, "jira_token", SECRET "\n");
	write_config(f, "info", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	du_free(f->d);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->config);
	free(f->token);
	free(f);
	return 0;
}

static void start(struct fixture *f, int flags)
{
	const char *args[] = {"-c", f->config, NULL};
	f->d = du_start(f->dir, args, NULL, flags);
	if (!du_wait_notify(f->d, "READY=1", READY_TIMEOUT_MS)) {
		char *err = du_stderr(f->d);
		fail_msg("no READY=1 within %d ms; stderr:\n%s", READY_TIMEOUT_MS, err);
	}
}

/* Stops with sig and asserts: STOPPING=1, exit 0 within STOP_TIMEOUT_MS. */
static void stop_with(struct fixture *f, int sig)
{
	du_signal(f->d, sig);
	assert_non_null(du_wait_notify(f->d, "STOPPING=1", STOP_TIMEOUT_MS));
	int64_t t0 = ts_monotonic_ms();
	int status = du_wait_exit(f->d, STOP_TIMEOUT_MS);
	if (status != 0) {
		char *err = du_stderr(f->d);
		fail_msg("exit status %d after signal %d (%lld ms); stderr:\n%s", status, sig,
		         (long long)(ts_monotonic_ms() - t0), err);
	}
}

/* Every line of the daemon's stderr starts with an sd-daemon prefix <3>..<7>. */
static void assert_prefixed_lines(const char *log)
{
	int lines = 0;
	for (const char *p = log; *p;) {
		const char *nl = strchr(p, '\n');
		if (!(p[0] == '<' && p[1] >= '3' && p[1] <= '7' && p[2] == '>'))
			fail_msg("log line without a <N> prefix: %.*s",
			         (int)(nl ? nl - p : (long)strlen(p)), p);
		lines++;
		p = nl ? nl + 1 : p + strlen(p);
	}
	assert_true(lines >= 2);
}

static void test_ready_and_sigterm(void **state)
{
	struct fixture *f = *state;
	start(f, 0);
	/* READY=1 comes with a STATUS= line saying what the daemon does. */
	assert_non_null(strstr(f->d->last, "STATUS=running"));
	assert_true(du_alive(f->d));
	stop_with(f, SIGTERM);

	char *log = du_stderr(f->d);
	assert_prefixed_lines(log);
	assert_non_null(strstr(log, "<6>started version="));
	assert_non_null(strstr(log, "database="));
	assert_non_null(strstr(log, "stopping reason=SIGTERM"));
	free(log);
}

/* Started by systemd with stderr not the journal stream (JOURNAL_STREAM
 * names another file): the daemon keeps writing "<N>" lines. */
static void test_journal_stream_elsewhere(void **state)
{
	struct fixture *f = *state;
	const char *args[] = {"-c", f->config, NULL};
	const char *env[] = {"INVOCATION_ID=0123456789abcdef0123456789abcdef",
	                     "JOURNAL_STREAM=1:1", NULL};
	f->d = du_start(f->dir, args, env, 0);
	assert_non_null(du_wait_notify(f->d, "READY=1", READY_TIMEOUT_MS));
	stop_with(f, SIGTERM);
	char *log = du_stderr(f->d);
	assert_prefixed_lines(log);
	assert_non_null(strstr(log, "<6>started version="));
	assert_non_null(strstr(log, "<6>stopping reason=SIGTERM"));
	free(log);
}

/* Under systemd (INVOCATION_ID) each event goes to the journal, but only
 * where journald listens: without its socket the daemon keeps its "<N>"
 * lines (sd_journal_sendv would drop the entries silently). Where journald
 * runs the entries are there instead (docs/operations.md tells how to look
 * with journalctl): skipped. */
static void test_journal_absent_plain_lines(void **state)
{
	struct fixture *f = *state;
	if (access("/run/systemd/journal/socket", F_OK) == 0)
		skip();
	const char *args[] = {"-c", f->config, NULL};
	const char *env[] = {"INVOCATION_ID=0123456789abcdef0123456789abcdef", NULL};
	f->d = du_start(f->dir, args, env, 0);
	assert_non_null(du_wait_notify(f->d, "READY=1", READY_TIMEOUT_MS));
	stop_with(f, SIGTERM);
	char *log = du_stderr(f->d);
	assert_prefixed_lines(log);
	assert_non_null(strstr(log, "<6>started version="));
	assert_non_null(strstr(log, "<6>stopping reason=SIGTERM"));
	free(log);
}

static void test_sigint(void **state)
{
	struct fixture *f = *state;
	start(f, 0);
	stop_with(f, SIGINT);
	char *log = du_stderr(f->d);
	assert_non_null(strstr(log, "stopping reason=SIGINT"));
	free(log);
}

static void test_check_config_ok(void **state)
{
	struct fixture *f = *state;
	char *out = NULL, *err = NULL;
	const char *argv[] = {tu_env("TS_THREATSYNCD"), "--check-config", f->config, NULL};
	int rc = tu_run(argv, NULL, NULL, 30000, &out, &err);
	if (rc != 0)
		fail_msg("--check-config exited %d: %s", rc, err);
	char *expect = ts_asprintf("%s: configuration OK\n", f->config);
	assert_string_equal(out, expect);
	free(expect);
	free(out);
	free(err);

	/* Without FILE it checks the configuration that -c names. */
	const char *argv2[] = {tu_env("TS_THREATSYNCD"), "-c", f->config, "--check-config", NULL};
	rc = tu_run(argv2, NULL, NULL, 30000, &out, &err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "configuration OK"));
	free(out);
	free(err);
}

static void test_check_config_bad(void **state)
{
	struct fixture *f = *state;
	/* Line 4 has a bad log level. */
	char *bad = tu_write_file(f->dir, "bad.conf",
	                          "# broken\n"
	                          "database = \"/tmp/x.db\";\n"
	                          "\n"
	                          "log_level = \"chatty\";\n");
	char *out = NULL, *err = NULL;
	const char *argv[] = {tu_env("TS_THREATSYNCD"), "--check-config", bad, NULL};
	int rc = tu_run(argv, NULL, NULL, 30000, &out, &err);
	assert_int_equal(rc, 78);
	char *where = ts_asprintf("%s:4", bad);
	if (!strstr(err, where))
		fail_msg("expected '%s' in: %s", where, err);
	assert_null(strstr(out, "configuration OK"));
	free(where);
	free(out);
	free(err);

	/* A syntax error, named by line too. */
	char *syntax =
	    tu_write_file(f->dir, "syntax.conf", "database = \"/tmp/x.db\"\nlog_level = ;\n");
	const char *argv2[] = {tu_env("TS_THREATSYNCD"), "--check-config", syntax, NULL};
	rc = tu_run(argv2, NULL, NULL, 30000, &out, &err);
	assert_int_equal(rc, 78);
	where = ts_asprintf("%s:", syntax);
	assert_non_null(strstr(err, where));
	free(where);
	free(out);
	free(err);

	/* The daemon refuses to start on the same file, with the same exit code. */
	const char *argv3[] = {tu_env("TS_THREATSYNCD"), "-c", bad, NULL};
	rc = tu_run(argv3, NULL, NULL, 30000, &out, &err);
	assert_int_equal(rc, 78);
	assert_non_null(strstr(err, "<3>"));
	free(out);
	free(err);
	free(bad);
	free(syntax);
}

static void test_reload_broken_keeps_old(void **state)
{
	struct fixture *f = *state;
	start(f, 0);
	char *good = tu_read_file(f->config);
	free(tu_write_file(f->dir, "threatsync.conf", "log_level = \"debug\";\nbogus = ;\n"));
	du_signal(f->d, SIGHUP);
	const char *msg = du_wait_notify(f->d, "RELOADING=1", 5000);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "MONOTONIC_USEC="));
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	assert_true(du_alive(f->d));

	char *log = du_stderr(f->d);
	if (!strstr(log, "<3>reload failed, keeping the previous configuration: "))
		fail_msg("no reload error in: %s", log);
	/* The broken file asked for debug: nothing of it was applied. */
	assert_null(strstr(log, "<7>"));
	free(log);

	/* Still serving: a good file reloads after a bad one. */
	free(tu_write_file(f->dir, "threatsync.conf", good));
	du_signal(f->d, SIGHUP);
	assert_non_null(du_wait_notify(f->d, "RELOADING=1", 5000));
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	stop_with(f, SIGTERM);
	log = du_stderr(f->d);
	assert_non_null(strstr(log, "<6>reloaded "));
	free(log);
	free(good);
}

static void test_reload_applies(void **state)
{
	struct fixture *f = *state;
	start(f, 0);
	char *before = du_stderr(f->d);
	assert_null(strstr(before, "<7>"));
	free(before);

	/* log_level changes; the database cannot change while running. */
	char *old_db = ts_asprintf("%s/threatsync.db", f->dir);
	write_config(f, "debug", NULL);
	char *text = tu_read_file(f->config);
	char *moved = ts_asprintf("%s/elsewhere.db", f->dir);
	char *pos = strstr(text, old_db);
	assert_non_null(pos);
	char *changed =
	    ts_asprintf("%.*s%s%s", (int)(pos - text), text, moved, pos + strlen(old_db));
	free(tu_write_file(f->dir, "threatsync.conf", changed));

	du_signal(f->d, SIGHUP);
	assert_non_null(du_wait_notify(f->d, "RELOADING=1", 5000));
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	stop_with(f, SIGTERM);

	char *log = du_stderr(f->d);
	assert_non_null(strstr(log, "log_level=debug"));
	/* Debug lines appear only after the reload applied the new level. */
	assert_non_null(strstr(log, "<7>"));
	assert_non_null(strstr(log, "<4>reload: "));
	assert_true(access(moved, F_OK) != 0);
	assert_true(access(old_db, F_OK) == 0);
	assert_prefixed_lines(log);
	free(log);
	free(text);
	free(changed);
	free(moved);
	free(old_db);
}

static void test_watchdog(void **state)
{
	struct fixture *f = *state;
	start(f, DU_WATCHDOG);
	/* WATCHDOG_USEC=200000: a keep-alive every 100 ms. */
	int n = du_count_notify(f->d, "WATCHDOG=1", 1000);
	if (n < 4)
		fail_msg("%d WATCHDOG=1 in 1 s, expected about 10", n);
	stop_with(f, SIGTERM);
}

static void test_watchdog_other_pid(void **state)
{
	struct fixture *f = *state;
	/* WATCHDOG_PID names another process: the watchdog is not for us. */
	start(f, DU_WATCHDOG_OTHER);
	assert_int_equal(du_count_notify(f->d, "WATCHDOG=1", 500), 0);
	stop_with(f, SIGTERM);
}

static void test_idle(void **state)
{
	struct fixture *f = *state;
	start(f, 0);
	pid_t pid = f->d->pid;
	long cpu0 = du_cpu_ms(pid);
	assert_true(cpu0 >= 0);
	struct timespec ts = {10, 0};
	while (nanosleep(&ts, &ts) < 0)
		;
	long cpu1 = du_cpu_ms(pid);
	long rss = du_rss_kib(pid);
	long pss = du_smaps_kib(pid, "Pss");
	long anon = du_smaps_kib(pid, "Anonymous");
	print_message("idle 10 s: cpu=%ld ms rss=%ld KiB pss=%ld KiB anonymous=%ld KiB\n",
		      cpu1 - cpu0, rss, pss, anon);
	assert_true(cpu1 >= cpu0);
	if (cpu1 - cpu0 >= 50)
		fail_msg("idle daemon used %ld ms of CPU in 10 s (limit 50)", cpu1 - cpu0);
	if (BUILT_WITH_SANITIZER || du_under_valgrind()) {
		print_message("RSS bound skipped: built with sanitizers or under valgrind\n");
	} else if (pss < 0 || pss >= 10 * 1024 || anon < 0 || anon >= 4 * 1024) {
		/* RSS counts every page of the shared libraries the process has
		 * touched (libc, libcrypto, SQLite, and GnuTLS, which libmicrohttpd
		 * initialises when it is loaded): about 9 MB of pages shared with
		 * other processes. The bound is on what the daemon costs: its
		 * proportional share (PSS) and its own anonymous memory. */
		fail_msg("idle daemon PSS %ld KiB (limit 10240), anonymous %ld KiB (limit 4096), "
			 "RSS %ld KiB",
			 pss, anon, rss);
	}
	stop_with(f, SIGTERM);
}

static void test_secret_never_logged(void **state)
{
	struct fixture *f = *state;
	write_config(f, "debug", NULL);
	start(f, DU_WATCHDOG);
	/* A good reload, a broken one (naming the token file), a good one. */
	du_signal(f->d, SIGHUP);
	assert_non_null(du_wait_notify(f->d, "RELOADING=1", 5000));
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	char *good = tu_read_file(f->config);
	char *broken = ts_asprintf("%s\nlog_level = 12;\n", good);
	free(tu_write_file(f->dir, "threatsync.conf", broken));
	du_signal(f->d, SIGHUP);
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	free(tu_write_file(f->dir, "threatsync.conf", good));
	du_signal(f->d, SIGHUP);
	assert_non_null(du_wait_notify(f->d, "READY=1", 5000));
	stop_with(f, SIGTERM);

	char *log = du_stderr(f->d);
	assert_non_null(strstr(log, "<7>"));
	if (strstr(log, SECRET) || strstr(log, "NEVER-LOG-ME"))
		fail_msg("the token appears in the log:\n%s", log);
	/* Nor in anything sent to the service manager. */
	assert_null(strstr(f->d->notes.data, "NEVER-LOG-ME"));
	free(log);
	free(good);
	free(broken);
}

static void test_start_failure(void **state)
{
	struct fixture *f = *state;
	/* The database cannot be created: no READY=1, an error, a sysexits code. */
	free(tu_write_file(f->dir, "threatsync.conf",
	                   "database = \"/nonexistent-threatsync-dir/sub/x.db\";\n"));
	const char *args[] = {"-c", f->config, NULL};
	f->d = du_start(f->dir, args, NULL, 0);
	int status = du_wait_exit(f->d, READY_TIMEOUT_MS);
	assert_true(status > 0 && status != 78 && status < 128);
	char *log = du_stderr(f->d);
	if (!strstr(log, "<3>cannot start: "))
		fail_msg("no start-up error in: %s", log);
	assert_null(strstr(f->d->notes.data ? f->d->notes.data : "", "READY=1"));
	free(log);
}

static void test_version_and_usage(void **state)
{
	(void)state;
	char *out = NULL, *err = NULL;
	const char *argv[] = {tu_env("TS_THREATSYNCD"), "--version", NULL};
	assert_int_equal(tu_run(argv, NULL, NULL, 10000, &out, &err), 0);
	assert_non_null(strstr(out, "threatsyncd "));
	free(out);
	free(err);
	const char *argv2[] = {tu_env("TS_THREATSYNCD"), "--frobnicate", NULL};
	assert_int_equal(tu_run(argv2, NULL, NULL, 10000, &out, &err), 64);
	assert_non_null(strstr(err, "usage:"));
	free(out);
	free(err);
}

struct cron_counts {
	int fast, slow;
	struct cron *cron;
};

static void fast_job_cb(void *ctx)
{
	((struct cron_counts *)ctx)->fast++;
}

static void slow_job_cb(void *ctx)
{
	struct cron_counts *c = ctx;
	c->slow++;
	/* A job that busies the loop past the fast job's slot must not cause a
	 * burst of catch-up runs afterwards. */
	struct timespec ts = {0, 60 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void cron_end_cb(uv_timer_t *t)
{
	struct cron_counts *c = t->data;
	cron_close(c->cron);
	uv_close((uv_handle_t *)t, NULL);
}

/* Each job runs at its own period on one timer; stop, close, and the loop
 * closes with no handle left. */
static void test_cron_periods(void **state)
{
	(void)state;
	static const struct cron_job table[] = {
	    {"fast", 20, fast_job_cb, false},
	    {"slow", 100, slow_job_cb, false},
	};
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct cron cron;
	struct cron_counts counts = {.cron = &cron};
	assert_int_equal(cron_init(&cron, &loop, table, TS_ARRAY_SIZE(table), &counts), 0);
	assert_int_equal(cron_start(&cron), 0);
	uv_timer_t end;
	uv_timer_init(&loop, &end);
	end.data = &counts;
	uv_timer_start(&end, cron_end_cb, 450, 0);
	int64_t t0 = ts_monotonic_ms();
	uv_run(&loop, UV_RUN_DEFAULT);
	int64_t elapsed = ts_monotonic_ms() - t0;
	assert_int_equal(uv_loop_close(&loop), 0);
	print_message("cron: fast=%d slow=%d in %lld ms\n", counts.fast, counts.slow,
	              (long long)elapsed);
	/* slow: at 100, 200, 300, 400 ms (each run takes 60 ms of the loop). */
	assert_in_range(counts.slow, 2, 4);
	/* fast: never more often than its period allows, despite the stalls. */
	assert_in_range(counts.fast, 3, (int)(elapsed / 20) + 1);
	assert_true(counts.fast > counts.slow);
}

/* A job that says at_start runs on the loop's first turn, then by its period;
 * the others wait a whole period first. */
static void test_cron_at_start(void **state)
{
	(void)state;
	static const struct cron_job table[] = {
	    {"at-start", 10000, fast_job_cb, true},
	    {"later", 10000, slow_job_cb, false},
	};
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct cron cron;
	struct cron_counts counts = {.cron = &cron};
	assert_int_equal(cron_init(&cron, &loop, table, TS_ARRAY_SIZE(table), &counts), 0);
	assert_int_equal(cron_start(&cron), 0);
	uv_timer_t end;
	uv_timer_init(&loop, &end);
	end.data = &counts;
	uv_timer_start(&end, cron_end_cb, 200, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(counts.fast, 1);
	assert_int_equal(counts.slow, 0);
}

static void stop_cb(void *ctx)
{
	struct cron_counts *c = ctx;
	c->fast++;
	cron_stop(c->cron);
}

static void idle_end_cb(uv_timer_t *t)
{
	struct cron_counts *c = t->data;
	cron_close(c->cron);
	uv_close((uv_handle_t *)t, NULL);
}

/* After cron_stop, no job runs again. */
static void test_cron_stop(void **state)
{
	(void)state;
	static const struct cron_job table[] = {{"once", 10, stop_cb, false}};
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct cron cron;
	struct cron_counts counts = {.cron = &cron};
	assert_int_equal(cron_init(&cron, &loop, table, 1, &counts), 0);
	assert_int_equal(cron_start(&cron), 0);
	uv_timer_t end;
	uv_timer_init(&loop, &end);
	end.data = &counts;
	uv_timer_start(&end, idle_end_cb, 100, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(counts.fast, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cron_periods),
	    cmocka_unit_test(test_cron_at_start),
	    cmocka_unit_test(test_cron_stop),
	    cmocka_unit_test_setup_teardown(test_ready_and_sigterm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_stream_elsewhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_absent_plain_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_config_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_config_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_broken_keeps_old, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_applies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watchdog_other_pid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_never_logged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_and_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
