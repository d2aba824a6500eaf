/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync link SLUG TASK KEY`: adopt an existing tracker ticket for a task
 * instead of creating one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "connectors/link.h"

static const char usage[] = "usage: threatsync link SLUG TASK KEY [--connector NAME] [--json]";

struct link_args {
	const char *slug, *uid, *key;
	const char *connector; /* --connector, or NULL */
	bool json;
};

/* Returns 0, or an exit code (the error printed). */
static int parse_args(int argc, char **argv, struct link_args *a)
{
	const char *pos[3] = {NULL, NULL, NULL};
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			a->json = true;
		} else if (strcmp(argv[i], "--connector") == 0 && i + 1 < argc) {
			a->connector = argv[++i];
		} else if (argv[i][0] != '-' && npos < 3) {
			pos[npos++] = argv[i];
		} else {
			cli_error("link: unexpected or incomplete argument '%s'", argv[i]);
			cli_error("%s", usage);
			return EX_USAGE;
		}
	}
	if (npos != 3) {
		cli_error("link: SLUG, TASK and KEY are required");
		cli_error("%s", usage);
		return EX_USAGE;
	}
	a->slug = pos[0];
	a->uid = pos[1];
	a->key = pos[2];
	return 0;
}

/* The project's mapping and its connector in the configuration. Returns 0,
 * or an exit code (the error printed). */
static int find_connector(const struct config *cfg, const struct link_args *a,
                          const struct config_project **ret_proj,
                          const struct config_connector **ret_cc)
{
	const char *where = cfg->path ? cfg->path : "the built-in configuration";
	const struct config_project *proj = config_find_project(cfg, a->slug);
	if (!proj || !proj->connector) {
		cli_error(
		    "link: project '%s' is not mapped to a connector in %s (set connector and "
		    "tracker_project in its projects entry)",
		    a->slug, where);
		return EX_CONFIG;
	}
	if (a->connector && strcmp(a->connector, proj->connector) != 0) {
		cli_error("link: project '%s' syncs with connector '%s' (line %d of %s), not '%s'",
		          a->slug, proj->connector, proj->line, where, a->connector);
		return EX_CONFIG;
	}
	const struct config_connector *cc = config_find_connector(cfg, proj->connector);
	if (!cc) {
		cli_error("link: no connector '%s' in %s", proj->connector, where);
		return EX_CONFIG;
	}
	*ret_proj = proj;
	*ret_cc = cc;
	return 0;
}

static void print_outcome(const struct link_args *a, const char *connector,
                          const struct link_outcome *o)
{
	const struct link_result *res = &o->result;
	if (a->json) {
		json_t *doc = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:i, s:b, s:b}", "project", a->slug,
		    "task", a->uid, "connector", connector, "key", o->key, "url", o->url, "marker",
		    o->marker, "status", o->status, "creates_cancelled", res->creates_cancelled,
		    "status_changed", res->changed > 0, "already_linked", res->already);
		cli_print_json(doc);
		json_decref(doc);
		return;
	}
	printf("linked task %s of %s to %s%s%s%s\n", a->uid, a->slug, o->key, o->url ? " (" : "",
	       o->url ? o->url : "", o->url ? ")" : "");
	if (res->creates_cancelled > 0)
		printf("  %d queued create(s) cancelled\n", res->creates_cancelled);
	if (res->changed > 0)
		printf("  task status set from the ticket's status '%s'\n",
		       o->status ? o->status : "?");
	printf("  the next sync adds the marker label %s and the text threatsync owns\n",
	       o->marker);
}

int cmd_link(struct cli_ctx *ctx, int argc, char **argv)
{
	struct link_args a = {0};
	int code = parse_args(argc, argv, &a);
	if (code)
		return code;
	struct config *cfg = cli_config_secrets(ctx);
	if (!cfg)
		return EX_CONFIG;
	const struct config_project *proj;
	const struct config_connector *cc;
	if ((code = find_connector(cfg, &a, &proj, &cc)) != 0)
		return code;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	struct ts_err err = {0};
	struct link_outcome o;
	if (link_ticket(s, cc, proj->tracker_project, a.slug, a.uid, a.key, &o, &err) < 0) {
		cli_error("link: %s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	print_outcome(&a, cc->name, &o);
	link_outcome_clear(&o);
	char clock[32];
	const char *now = NULL;
	if (cli_clock(clock, &now))
		cli_snapshot(s, a.slug, now);
	return 0;
}
