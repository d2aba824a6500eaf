/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify wrappers and the watchdog keep-alive timer of the daemon. */
#include "daemon/notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "engine/log.h"

static int send_state(const char *state, const char *status)
{
	/* sd_notify keeps NOTIFY_SOCKET in the environment (unset_environment=0):
	 * every later reload and the stop must be able to speak too. */
	if (status)
		return sd_notifyf(0, "%s\nSTATUS=%s", state, status);
	return sd_notify(0, state);
}

int notify_ready(const char *status)
{
	return send_state("READY=1", status);
}

int notify_reloading(const char *status)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec =
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
	char state[64];
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
	return send_state(state, status);
}

int notify_stopping(const char *status)
{
	return send_state("STOPPING=1", status);
}

int notify_status(const char *status)
{
	if (!status)
		return 0;
	return sd_notifyf(0, "STATUS=%s", status);
}

static void watchdog_cb(uv_timer_t *timer)
{
	int r = sd_notify(0, "WATCHDOG=1");
	if (r < 0)
		log_warning("watchdog keep-alive failed error=%d", r);
}

int notify_watchdog_start(struct notify_watchdog *w, uv_loop_t *loop)
{
	uint64_t usec = 0;
	w->period_ms = 0;
	w->initialized = false;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us. */
	int r = sd_watchdog_enabled(0, &usec);
	if (r < 0) {
		log_warning("watchdog settings unreadable, keep-alive disabled error=%d", r);
		return 0;
	}
	if (r == 0 || usec == 0)
		return 0;
	/* Half the interval, as systemd recommends; at least 1 ms so a tiny
	 * WATCHDOG_USEC does not turn into a busy loop of zero-length timers. */
	w->period_ms = usec / 2000;
	if (w->period_ms == 0)
		w->period_ms = 1;
	r = uv_timer_init(loop, &w->timer);
	if (r < 0)
		return r;
	w->initialized = true;
	r = uv_timer_start(&w->timer, watchdog_cb, w->period_ms, w->period_ms);
	if (r < 0)
		return r;
	return 1;
}

void notify_watchdog_close(struct notify_watchdog *w)
{
	if (!w->initialized)
		return;
	uv_timer_stop(&w->timer);
	if (!uv_is_closing((uv_handle_t *)&w->timer))
		uv_close((uv_handle_t *)&w->timer, NULL);
	w->initialized = false;
}
