/* SPDX-License-Identifier: Apache-2.0 */
/* WAL checkpoints of the daemon's database off the loop thread. */
#ifndef TS_DAEMON_CHECKPOINT_H
#define TS_DAEMON_CHECKPOINT_H

struct daemon;
struct checkpointer;

/* Once the daemon's connection has written CHECKPOINT_WAL_FRAMES pages to the
 * WAL, a PASSIVE checkpoint runs on a worker thread with a connection of its
 * own, instead of SQLite's automatic checkpoint inside the commit that crossed
 * the mark (copying the pages and two fsyncs, tens of milliseconds during
 * which no webhook is answered). At most one runs at a time; an idle daemon
 * runs none. Should a checkpoint fail, the automatic one is back on the
 * daemon's connection. Returns NULL when the hook cannot be set (then the
 * automatic checkpoint stays). */
#define CHECKPOINT_WAL_FRAMES 1000
struct checkpointer *checkpointer_start(struct daemon *d);

/* Stops starting checkpoints; one under way finishes on its thread (the loop
 * runs until then) and frees c. NULL is a no-op. */
void checkpointer_close(struct checkpointer *c);

#endif
