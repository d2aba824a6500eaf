/* SPDX-License-Identifier: Apache-2.0 */
/* Implementation of the cmocka test helpers. */
#define _XOPEN_SOURCE 700
#include "helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/util.h"

extern char **environ;

const char *tu_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		fail_msg("environment variable %s is not set (run through ctest)", name);
	return v;
}

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = ts_asprintf("%s/threatsync-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp: %s", strerror(errno));
	return tmpl;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmrf(const char *path)
{
	if (path)
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_write_file(const char *dir, const char *name, const char *content)
{
	char *path = ts_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fwrite(content, 1, strlen(content), f);
	fclose(f);
	return path;
}

char *tu_read_file(const char *path)
{
	char *data = NULL;
	if (ts_read_file(path, (size_t)1 << 30, &data, NULL) < 0)
		return NULL;
	return data;
}

void tu_file_hash(const char *path, char out[65])
{
	char *data = NULL;
	size_t len = 0;
	if (ts_read_file(path, (size_t)1 << 30, &data, &len) < 0) {
		snprintf(out, 65, "missing");
		return;
	}
	ts_sha256_hex(data, len, out);
	free(data);
}

static void drain(int fd, struct ts_buf *b, int *open_fd)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n > 0)
		ts_buf_append(b, chunk, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		*open_fd = 0;
}

int tu_run(const char *const argv[], const char *stdin_text, const char *const envp_extra[],
	   int timeout_ms, char **ret_out, char **ret_err)
{
	int in[2], out[2], err[2];
	if (pipe(in) < 0 || pipe(out) < 0 || pipe(err) < 0)
		fail_msg("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
		for (size_t i = 0; envp_extra && envp_extra[i]; i++)
			putenv((char *)envp_extra[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (stdin_text) {
		size_t len = strlen(stdin_text), off = 0;
		signal(SIGPIPE, SIG_IGN);
		while (off < len) {
			ssize_t n = write(in[1], stdin_text + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);
	struct ts_buf bo = {0}, be = {0};
	int oo = 1, eo = 1;
	int64_t deadline = ts_monotonic_ms() + timeout_ms;
	while (oo || eo) {
		struct pollfd p[2] = {{oo ? out[0] : -1, POLLIN, 0}, {eo ? err[0] : -1, POLLIN, 0}};
		int64_t left = deadline - ts_monotonic_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		int r = poll(p, 2, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (oo && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(out[0], &bo, &oo);
		if (eo && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(err[0], &be, &eo);
	}
	close(out[0]);
	close(err[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret_out)
		*ret_out = ts_buf_steal(&bo);
	else
		ts_buf_free(&bo);
	if (ret_err)
		*ret_err = ts_buf_steal(&be);
	else
		ts_buf_free(&be);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int tu_cli(char **ret_out, char **ret_err, ...)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = tu_env("TS_THREATSYNC");
	va_list ap;
	va_start(ap, ret_err);
	const char *a;
	while ((a = va_arg(ap, const char *)) != NULL && n < TS_ARRAY_SIZE(argv) - 1)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, NULL, NULL, 60000, ret_out, ret_err);
}
