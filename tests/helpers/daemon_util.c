/* SPDX-License-Identifier: Apache-2.0 */
/* Running threatsyncd under test: notify socket, stderr capture, signals. */
#include "helpers/daemon_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers/testutil.h"

static void exec_child(struct du_daemon *d, const char *const args[], const char *const env_extra[],
                       int flags)
{
	/* If the test process dies, its daemon must not outlive it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null_fd = open("/dev/null", O_RDONLY);
	int log_fd = open(d->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (null_fd < 0 || log_fd < 0)
		_exit(126);
	dup2(null_fd, 0);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	close(null_fd);
	close(log_fd);

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	/* Tests run from a systemd unit (a CI runner) must not send the
	 * daemon's log to the journal: the cases read it from stderr. */
	unsetenv("INVOCATION_ID");
	unsetenv("JOURNAL_STREAM");
	setenv("NOTIFY_SOCKET", d->notify_path, 1);
	char pid_text[32];
	if (flags & DU_WATCHDOG) {
		/* Our own pid: sd_watchdog_enabled checks WATCHDOG_PID is the
		 * process asking, and exec keeps the pid. */
		snprintf(pid_text, sizeof(pid_text), "%ld", (long)getpid());
		setenv("WATCHDOG_USEC", "200000", 1);
		setenv("WATCHDOG_PID", pid_text, 1);
	} else if (flags & DU_WATCHDOG_OTHER) {
		snprintf(pid_text, sizeof(pid_text), "%ld", (long)getppid());
		setenv("WATCHDOG_USEC", "200000", 1);
		setenv("WATCHDOG_PID", pid_text, 1);
	}
	for (size_t i = 0; env_extra && env_extra[i]; i++)
		putenv((char *)env_extra[i]);

	const char *argv[64];
	size_t n = 0;
	argv[n++] = getenv("TS_THREATSYNCD");
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

struct du_daemon *du_start(const char *dir, const char *const args[], const char *const env_extra[],
                           int flags)
{
	tu_env("TS_THREATSYNCD");
	struct du_daemon *d = ts_calloc(1, sizeof(*d));
	d->dir = (char *)dir;
	d->notify_path = ts_asprintf("%s/notify.sock", dir);
	d->stderr_path = ts_asprintf("%s/stderr.log", dir);
	unlink(d->notify_path);
	unlink(d->stderr_path);

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(d->notify_path) >= sizeof(addr.sun_path))
		fail_msg("socket path too long: %s", d->notify_path);
	strcpy(addr.sun_path, d->notify_path);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->notify_fd < 0)
		fail_msg("socket: %s", strerror(errno));
	if (bind(d->notify_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail_msg("bind %s: %s", d->notify_path, strerror(errno));

	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (d->pid == 0)
		exec_child(d, args, env_extra, flags);
	return d;
}

static bool has_line(const char *msg, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = msg; p && *p;) {
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* Receives one datagram within timeout_ms into d->last; false on timeout. */
static bool recv_one(struct du_daemon *d, int timeout_ms)
{
	struct pollfd p = {.fd = d->notify_fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (r <= 0)
		return false;
	ssize_t n = recv(d->notify_fd, d->last, sizeof(d->last) - 1, 0);
	if (n < 0)
		return false;
	d->last[n] = '\0';
	ts_buf_append(&d->notes, d->last, (size_t)n);
	ts_buf_puts(&d->notes, "\n--\n");
	return true;
}

const char *du_wait_notify(struct du_daemon *d, const char *state, int timeout_ms)
{
	int64_t deadline = ts_monotonic_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - ts_monotonic_ms();
		if (left <= 0)
			return NULL;
		if (recv_one(d, (int)left) && has_line(d->last, state))
			return d->last;
	}
}

int du_count_notify(struct du_daemon *d, const char *state, int window_ms)
{
	int count = 0;
	int64_t deadline = ts_monotonic_ms() + window_ms;
	for (;;) {
		int64_t left = deadline - ts_monotonic_ms();
		if (left <= 0)
			return count;
		if (recv_one(d, (int)left) && has_line(d->last, state))
			count++;
	}
}

void du_signal(struct du_daemon *d, int sig)
{
	if (d->pid <= 0 || kill(d->pid, sig) < 0)
		fail_msg("cannot send signal %d to the daemon: %s", sig,
		         d->pid <= 0 ? "already reaped" : strerror(errno));
}

static int decode(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

bool du_alive(struct du_daemon *d)
{
	if (d->pid <= 0)
		return false;
	int status = 0;
	pid_t r = waitpid(d->pid, &status, WNOHANG);
	if (r == d->pid) {
		d->status = decode(status);
		d->pid = 0;
		return false;
	}
	return r == 0;
}

int du_wait_exit(struct du_daemon *d, int timeout_ms)
{
	int64_t deadline = ts_monotonic_ms() + timeout_ms;
	while (d->pid > 0) {
		if (!du_alive(d))
			return d->status;
		if (ts_monotonic_ms() >= deadline) {
			kill(d->pid, SIGKILL);
			while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
				;
			d->pid = 0;
			d->status = -1;
			return -1;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return d->status;
}

char *du_stderr(struct du_daemon *d)
{
	char *s = tu_read_file(d->stderr_path);
	return s ? s : ts_strdup("");
}

void du_free(struct du_daemon *d)
{
	if (!d)
		return;
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	unlink(d->notify_path);
	free(d->notify_path);
	free(d->stderr_path);
	ts_buf_free(&d->notes);
	free(d);
}

bool du_under_valgrind(void)
{
	char *maps = tu_read_file("/proc/self/maps");
	bool found = maps && strstr(maps, "vgpreload") != NULL;
	free(maps);
	return found;
}

long du_cpu_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	char *stat = tu_read_file(path);
	if (!stat)
		return -1;
	/* The command name may hold spaces and parentheses: fields are counted
	 * from the last ')'. utime and stime are fields 14 and 15. */
	char *p = strrchr(stat, ')');
	unsigned long utime = 0, stime = 0;
	int n = p ? sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
	                   &stime)
	          : 0;
	free(stat);
	if (n != 2)
		return -1;
	long tck = sysconf(_SC_CLK_TCK);
	return (long)((utime + stime) * 1000UL / (unsigned long)(tck > 0 ? tck : 100));
}

long du_smaps_kib(pid_t pid, const char *field)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	char *rollup = tu_read_file(path);
	if (!rollup)
		return -1;
	char key[64];
	snprintf(key, sizeof(key), "\n%s:", field);
	long kib = -1;
	char *p = strstr(rollup, key);
	if (p)
		kib = strtol(p + strlen(key), NULL, 10);
	free(rollup);
	return kib;
}

long du_rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	char *status = tu_read_file(path);
	if (!status)
		return -1;
	long kib = -1;
	char *p = strstr(status, "\nVmRSS:");
	if (p)
		kib = strtol(p + 7, NULL, 10);
	free(status);
	return kib;
}
