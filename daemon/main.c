/* SPDX-License-Identifier: Apache-2.0 */
/* Entry point of threatsyncd: arguments, --check-config, then the daemon. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/journal.h"
#include "daemon/memory.h"
#include "daemon/notify.h"
#include "engine/config.h"
#include "engine/log.h"

static void usage(FILE *f)
{
	fputs("usage: threatsyncd [-c CONFIG] [--check-config [FILE]] [--version] [--help]\n"
	      "\n"
	      "  -c, --config FILE      configuration (default $THREATSYNC_CONFIG, then\n"
	      "                         " TS_DEFAULT_CONFIG ")\n"
	      "      --check-config [FILE]\n"
	      "                         validate FILE (default: the configuration) and exit:\n"
	      "                         0 when valid, 78 (EX_CONFIG) otherwise\n"
	      "      --version          print the version and exit\n"
	      "  -h, --help             this text\n"
	      "\n"
	      "Signals: SIGHUP reloads the configuration, SIGTERM and SIGINT stop gracefully.\n",
	      f);
}

/* The configuration file to use: -c, then $THREATSYNC_CONFIG, then the
 * default file if it exists; NULL means built-in defaults. Borrowed. */
static const char *resolve_config_path(const char *given)
{
	if (given)
		return given;
	const char *env = getenv("THREATSYNC_CONFIG");
	if (env && *env)
		return env;
	if (access(TS_DEFAULT_CONFIG, F_OK) == 0)
		return TS_DEFAULT_CONFIG;
	return NULL;
}

/* Loads path (NULL: defaults) into *ret_cfg; on failure err holds every problem. */
static int load_config(const char *path, struct config **ret_cfg, struct ts_err *err)
{
	if (!path) {
		*ret_cfg = config_new_default();
		return 0;
	}
	return config_load_with_secrets(path, ret_cfg, err);
}

/* The daemon's exit code (sysexits, which systemd shows) for an engine
 * error code: what an operator can act on is told apart, the rest is a
 * software error; fallback when there is no code. */
static int exit_code_of(int code, int fallback)
{
	switch (code) {
	case TS_E_CONFIG:
		return EX_CONFIG;
	case TS_E_INVALID:
		return EX_DATAERR;
	case TS_E_NOTFOUND:
		return EX_NOINPUT;
	case TS_E_CREATE:
		return EX_CANTCREAT;
	case TS_E_IO:
		return EX_IOERR;
	case TS_E_BUSY:
		return EX_TEMPFAIL;
	case TS_E_DENIED:
		return EX_NOPERM;
	case TS_E_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case TS_E_SYSTEM:
		return EX_OSERR;
	case TS_E_INTERNAL:
		return EX_SOFTWARE;
	default:
		return fallback;
	}
}

static int check_config(const char *path)
{
	struct config *cfg = NULL;
	struct ts_err err = {0};
	if (load_config(path, &cfg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return exit_code_of(err.code, EX_CONFIG);
	}
	printf("%s: configuration OK\n", path ? path : "(built-in defaults)");
	config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_arg = NULL;
	const char *check_arg = NULL;
	bool check = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "threatsyncd: %s needs a file name\n", a);
				usage(stderr);
				return EX_USAGE;
			}
			config_arg = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			config_arg = a + 9;
		} else if (strcmp(a, "--check-config") == 0) {
			check = true;
			/* The file is optional: the next word, unless it is an option. */
			if (i + 1 < argc && argv[i + 1][0] != '-')
				check_arg = argv[++i];
		} else if (strncmp(a, "--check-config=", 15) == 0) {
			check = true;
			check_arg = a + 15;
		} else if (strcmp(a, "--version") == 0) {
			printf("threatsyncd %s\n", TS_VERSION);
			return 0;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "threatsyncd: unknown argument '%s'\n", a);
			usage(stderr);
			return EX_USAGE;
		}
	}

	if (check)
		return check_config(check_arg ? check_arg : resolve_config_path(config_arg));

	memory_setup();

	/* The daemon writes to stderr, which journald reads with the <N>
	 * prefix as the priority; under systemd each event goes to the journal
	 * as a structured entry instead (daemon/journal.h). */
	log_set_prefix_style(true);
	if (journal_wanted())
		journal_install();
	/* A peer closing a socket must be an error return, not process death. */
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit reached (RLIMIT_FSIZE) must be a failed write the
	 * store reports and retries, not process death. */
	signal(SIGXFSZ, SIG_IGN);

	const char *path = resolve_config_path(config_arg);
	struct config *cfg = NULL;
	struct ts_err err = {0};
	if (load_config(path, &cfg, &err) < 0) {
		const char *p = err.msg;
		/* One event per problem, so journald shows each at error level. */
		while (p && *p) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);
			log_err("configuration invalid, not starting: %.*s", len, p);
			p = nl ? nl + 1 : NULL;
		}
		notify_status("failed: the configuration is invalid (see the log)");
		return exit_code_of(err.code, EX_CONFIG);
	}
	log_set_level((enum log_level)cfg->log_level);

	struct daemon *d = NULL;
	if (daemon_new(path, cfg, &d, &err) < 0) {
		log_err("cannot start: %s", err.msg);
		notify_status("failed: cannot start (see the log)");
		return exit_code_of(err.code, EX_SOFTWARE);
	}
	int r = daemon_run(d);
	daemon_free(d);
	return r < 0 ? EX_SOFTWARE : 0;
}
