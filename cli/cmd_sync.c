/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync sync --once` (one push and poll pass on a private loop) and
 * `threatsync status` (tasks, tickets, outbox and polls). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "connectors/http.h"
#include "connectors/sync.h"
#include "engine/log.h"
#include "engine/tracking/status_report.h"

/* ------------------------------------------------------------ sync --once */

static void event_cb(void *ud, enum sync_event_level level, const char *msg)
{
	(void)ud;
	switch (level) {
	case SYNC_EVENT_ERROR:
		log_err("%s", msg);
		break;
	case SYNC_EVENT_WARNING:
		log_warning("%s", msg);
		break;
	case SYNC_EVENT_NOTICE:
		log_notice("%s", msg);
		break;
	case SYNC_EVENT_INFO:
		log_info("%s", msg);
		break;
	default:
		log_debug("%s", msg);
		break;
	}
}

static void print_report(const json_t *rep)
{
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(rep, "connectors"), i, c) {
		const json_t *ob = json_object_get(c, "outbox");
		const json_t *po = json_object_get(c, "poll");
#define N(o, k) ((int)json_integer_value(json_object_get((o), (k))))
		printf("%s: %d created, %d adopted by marker, %d updated, %d closed, %d reopened, "
		       "%d commented; %d failed and rescheduled, %d dead\n",
		       json_string_value(json_object_get(c, "connector")), N(ob, "created"),
		       N(ob, "adopted"), N(ob, "updated"), N(ob, "closed"), N(ob, "reopened"),
		       N(ob, "commented"), N(ob, "rescheduled"), N(ob, "dead"));
		printf(
		    "  poll: %d request(s), %d issue(s) seen, %d status change(s), %d error(s)\n",
		    N(po, "requests"), N(po, "issues"), N(po, "status_changes"), N(po, "errors"));
		const json_t *rc = json_object_get(c, "reconcile");
		if (rc)
			printf("  reconcile: %d ticket(s) read, %d task(s) took the tracker's status, "
			       "%d kept threatsync's (%d operation(s) queued), %d vanished, %d "
			       "re-created, %d error(s)\n",
			       N(rc, "tickets"), N(rc, "remote_won"), N(rc, "local_won"),
			       N(rc, "queued"), N(rc, "vanished"), N(rc, "recreated"), N(rc, "errors"));
		const json_t *pz = json_object_get(c, "paused");
		if (json_is_object(pz) && strcmp(json_string_value(json_object_get(pz, "kind")),
		                                 "denied") == 0)
			printf("  paused: the tracker refused its credentials or access (HTTP %d): %s\n",
			       N(pz, "http_status"),
			       json_string_value(json_object_get(pz, "reason")));
		else if (json_is_object(pz))
			printf("  paused: %d tracker project(s), first %s (HTTP %d): %s\n",
			       N(pz, "scopes"), json_string_value(json_object_get(pz, "scope")),
			       N(pz, "http_status"), json_string_value(json_object_get(pz, "reason")));
		if (json_is_true(json_object_get(c, "unreachable")))
			printf("  unreachable: no request got an answer\n");
		else if (!json_is_true(json_object_get(c, "opened")))
			printf("  not opened\n");
		const char *last = json_string_value(json_object_get(c, "last_error"));
		if (last)
			printf("  last error: %s\n", last);
#undef N
	}
	if (json_array_size(json_object_get(rep, "connectors")) == 0)
		printf("no connector configured: nothing to sync\n");
	if (json_is_true(json_object_get(rep, "cancelled")))
		printf("the pass was cancelled\n");
}

int cmd_sync(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char usage[] =
	    "--once [--connector NAME] [--reconcile [--recreate]] [--json]";
	bool once = false, json = false;
	struct sync_pass_opts po = {0};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			once = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--reconcile") == 0) {
			po.reconcile = true;
		} else if (strcmp(argv[i], "--recreate") == 0) {
			po.recreate = true;
		} else if (strcmp(argv[i], "--connector") == 0 && i + 1 < argc) {
			po.connector = argv[++i];
		} else {
			cli_error("sync: unexpected or incomplete argument '%s'", argv[i]);
			cli_error("usage: threatsync sync %s", usage);
			return EX_USAGE;
		}
	}
	if (!once) {
		cli_error("sync: only one pass is available here: say --once (the daemon, "
		          "threatsyncd, syncs continuously)");
		return EX_USAGE;
	}
	if (po.recreate && !po.reconcile) {
		cli_error("sync: --recreate only works with --reconcile (it re-creates the tickets "
		          "a reconciliation finds gone from the tracker)");
		return EX_USAGE;
	}
	struct config *cfg = cli_config_secrets(ctx);
	if (!cfg)
		return EX_CONFIG;
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	struct sync_opts so = {.event_cb = event_cb};
	json_t *report = NULL;
	bool unavailable = false;
	int rc = sync_once(s, cfg, &po, &so, &report, &unavailable, &err);
	if (!report) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	if (json)
		cli_print_json(report);
	else
		print_report(report);
	json_decref(report);
	/* A pass may have pulled status changes into any project. */
	char clock[32];
	const char *now = NULL;
	if (cli_clock(clock, &now))
		cli_snapshot(s, NULL, now);
	if (rc < 0) {
		cli_error("sync: %s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	return unavailable ? EX_UNAVAILABLE : 0;
}

/* ------------------------------------------------------------ status */

static int num(const json_t *o, const char *k)
{
	return (int)json_integer_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static void print_status(const json_t *doc)
{
	size_t i, k;
	json_t *p, *e;
	json_array_foreach (json_object_get(doc, "projects"), i, p) {
		printf("%s\n  tasks in scope: %d", str(p, "project"), num(p, "tasks_total"));
		const char *key;
		json_t *v;
		const char *sep = " (";
		json_object_foreach (json_object_get(p, "tasks"), key, v) {
			printf("%s%s %d", sep, key, (int)json_integer_value(v));
			sep = ", ";
		}
		printf("%s\n", strcmp(sep, ", ") == 0 ? ")" : "");
		printf("  tickets linked: %d\n", num(p, "tickets_linked"));
		const json_t *vf = json_object_get(p, "verification");
		printf("  verification by scanners: %d passed, %d failed, %d untested\n",
		       num(vf, "passed"), num(vf, "failed"), num(vf, "untested"));
		const json_t *ob = json_object_get(p, "outbox");
		printf(
		    "  outbox: %d pending, %d inflight, %d failed (retry scheduled), %d dead, %d "
		    "done\n",
		    num(ob, "pending"), num(ob, "inflight"), num(ob, "failed"), num(ob, "dead"),
		    num(ob, "done"));
		json_array_foreach (json_object_get(p, "dead"), k, e) {
			printf("  dead #%d %s %s (%s, %d attempts): %s\n", num(e, "id"),
			       str(e, "op"), str(e, "task"), str(e, "connector"),
			       num(e, "attempts"), str(e, "last_error"));
		}
		json_array_foreach (json_object_get(p, "failing"), k, e) {
			printf("  failing #%d %s %s (%s, %d attempts): %s\n", num(e, "id"),
			       str(e, "op"), str(e, "task"), str(e, "connector"),
			       num(e, "attempts"), str(e, "last_error"));
		}
	}
	json_array_foreach (json_object_get(doc, "connectors"), i, e) {
		const char *last = json_string_value(json_object_get(e, "last_poll"));
		printf("connector %s: last poll %s", str(e, "connector"), last ? last : "never");
		const char *sep = " (";
		json_array_foreach (json_object_get(e, "scopes"), k, p) {
			printf("%s%s", sep, str(p, "scope"));
			sep = ", ";
		}
		printf("%s\n", strcmp(sep, ", ") == 0 ? ")" : "");
		json_array_foreach (json_object_get(e, "paused"), k, p) {
			if (str(p, "scope")[0])
				printf("  PAUSED tracker project %s since %s (HTTP %d, %d probe(s)): %s\n",
				       str(p, "scope"), str(p, "since"), num(p, "http_status"),
				       num(p, "probes"), str(p, "reason"));
			else
				printf("  PAUSED since %s (HTTP %d, %d probe(s)): %s\n", str(p, "since"),
				       num(p, "http_status"), num(p, "probes"), str(p, "reason"));
		}
	}
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] != '-' && !slug) {
			slug = argv[i];
		} else {
			cli_error("status: unexpected argument '%s'", argv[i]);
			cli_error("usage: threatsync status [SLUG] [--json]");
			return EX_USAGE;
		}
	}
	struct config *cfg = cli_config(ctx);
	if (!cfg)
		return EX_CONFIG;
	int code = 0;
	struct store *s = cli_store(ctx, true, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	json_t *doc = NULL;
	if (status_report_json(s, slug, &doc, &err) < 0) {
		cli_error("%s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	/* Configured connectors never polled are listed too. */
	json_t *conns = json_object_get(doc, "connectors");
	for (size_t i = 0; i < cfg->n_connectors; i++) {
		bool seen = false;
		size_t k;
		json_t *e;
		json_array_foreach (conns, k, e) {
			seen |= strcmp(str(e, "connector"), cfg->connectors[i].name) == 0;
		}
		if (!seen)
			json_array_append_new(conns, json_pack("{s:s, s:n, s:[], s:[]}", "connector",
			                                       cfg->connectors[i].name, "last_poll",
			                                       "scopes", "paused"));
	}
	if (json)
		cli_print_json(doc);
	else
		print_status(doc);
	json_decref(doc);
	return 0;
}
