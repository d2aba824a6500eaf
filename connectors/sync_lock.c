/* SPDX-License-Identifier: Apache-2.0 */
/* The sync lock: one process at a time drains a database's outbox. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "connectors/sync.h"

int sync_lock_acquire(const char *database, int *ret_fd, struct ts_err *err)
{
	*ret_fd = -1;
	if (!database || strcmp(database, ":memory:") == 0)
		return 0;
	char *path = ts_asprintf("%s.sync-lock", database);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		ts_err_set(err, TS_E_CREATE, "sync lock %s: %s", path, strerror(e));
		free(path);
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			ts_err_set(
			    err, TS_E_BUSY,
			    "sync lock %s: another process (the daemon or another `threatsync "
			    "sync`) is syncing this database",
			    path);
		else
			ts_err_set(err, TS_E_IO, "sync lock %s: %s", path, strerror(e));
		free(path);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	free(path);
	*ret_fd = fd;
	return 0;
}

void sync_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
