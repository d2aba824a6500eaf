/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's side of the systemd notification protocol: readiness, reload and
 * stop announcements, STATUS= lines and the watchdog keep-alive timer. Every
 * call is a no-op when NOTIFY_SOCKET is not set (not started by systemd). */
#ifndef TS_DAEMON_NOTIFY_H
#define TS_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Each returns what sd_notify returns: > 0 sent, 0 no socket, < 0 -errno.
 * status (may be NULL) becomes a STATUS= line of the same datagram; it is
 * shown by `systemctl status`, so it says what the daemon is doing. */
int notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (the CLOCK_MONOTONIC time the reload began),
 * as systemd's Type=notify-reload expects; READY=1 ends the reload. */
int notify_reloading(const char *status);
int notify_stopping(const char *status);
int notify_status(const char *status);

/* Watchdog keep-alive: when systemd asked for one (WATCHDOG_USEC set and,
 * if WATCHDOG_PID is set, naming this process), a uv timer sends WATCHDOG=1
 * every half interval. The struct is embedded in its owner, which must keep
 * it alive until the close callback has run (after uv_run returns). */
struct notify_watchdog {
	uv_timer_t timer;
	uint64_t period_ms; /* 0: the watchdog is not enabled */
	bool initialized;   /* the timer handle was initialised and must be closed */
};

/* Returns 1 when the keep-alive timer runs, 0 when systemd asked for no
 * watchdog, or a negative errno-style code (a libuv error). */
int notify_watchdog_start(struct notify_watchdog *w, uv_loop_t *loop);
/* Stops the keep-alive and closes the timer handle (without a callback: the
 * memory belongs to the caller). Safe when never started. */
void notify_watchdog_close(struct notify_watchdog *w);

#endif
