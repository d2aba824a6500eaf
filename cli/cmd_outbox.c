/* SPDX-License-Identifier: Apache-2.0 */
/* `threatsync outbox retry`: re-queues failed (and with --dead, dead) outbox
 * rows on purpose, once what refused them is fixed. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/tracking/outbox.h"

int cmd_outbox_retry(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *slug = NULL;
	bool dead = false, json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dead") == 0) {
			dead = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (argv[i][0] != '-' && !slug) {
			slug = argv[i];
		} else {
			cli_error("outbox retry: unexpected argument '%s'", argv[i]);
			cli_error("usage: threatsync outbox retry [SLUG] [--dead] [--json]");
			return EX_USAGE;
		}
	}
	int code = 0;
	struct store *s = cli_store(ctx, false, &code);
	if (!s)
		return code;
	char now[32];
	ts_now_iso(now);
	int n_failed = 0, n_dead = 0;
	struct ts_err err = {0};
	if (outbox_retry(s, slug, dead, now, &n_failed, &n_dead, &err) < 0) {
		cli_error("outbox retry: %s", err.msg);
		return cli_exit_code(err.code, EX_SOFTWARE);
	}
	if (json) {
		json_t *doc = json_pack("{s:s?, s:b, s:{s:i, s:i}}", "project", slug, "dead", dead,
		                        "requeued", "failed", n_failed, "dead", n_dead);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("%d failed row(s) due now", n_failed);
		if (dead)
			printf(", %d dead row(s) pending again with their attempts reset", n_dead);
		printf("%s\n", slug ? "" : " (every project)");
	}
	return 0;
}
