/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's HTTP endpoint: libmicrohttpd in external epoll mode driven by
 * the daemon's libuv loop (its epoll fd watched by a uv_poll_t, its timeouts
 * by a uv_timer_t), so every request is handled on the loop thread. Routes:
 * POST /hooks/jira/<connector>, POST /hooks/gitlab/<connector> (signed
 * webhooks, committed in batches once per loop iteration and acknowledged
 * only after the commit), GET /healthz, GET /metrics (daemon/metrics.h). */
#ifndef TS_DAEMON_HTTPD_H
#define TS_DAEMON_HTTPD_H

#include "engine/util.h"

struct daemon;
struct httpd;

/* Bounds of the endpoint (request bodies are bounded by http.max_body_bytes; a
 * batch by the connection limit, each waiting delivery holding its connection).
 * One peer holds at most HTTPD_PER_IP_LIMIT connections, so a peer that opens
 * many and sends slowly (slowloris) cannot take the slots of the others: its
 * connections over the bound are closed as they are accepted. Connections
 * over HTTPD_CONNECTION_LIMIT are closed likewise; those the loop has not
 * accepted yet wait in the kernel's backlog (HTTPD_LISTEN_BACKLOG). Request
 * lines and headers larger than HTTPD_CONNECTION_MEMORY are answered 414 and
 * 431. */
#define HTTPD_CONNECTION_LIMIT 256          /* open connections at once */
#define HTTPD_PER_IP_LIMIT 64               /* open connections of one peer address */
#define HTTPD_CONNECTION_TIMEOUT_S 30       /* idle or slow connection */
#define HTTPD_CONNECTION_MEMORY (32 * 1024) /* per connection: request line and headers */
#define HTTPD_LISTEN_BACKLOG 511            /* connections the kernel queues for us */

/* Binds d->cfg->http_listen and starts serving on d's loop. d (borrowed) must
 * outlive the endpoint; its cfg is read afresh for every request, so a reload
 * applies to the next request (the address itself is not reloadable).
 * Errors: EX_CONFIG (the address does not resolve), EX_UNAVAILABLE (it cannot
 * be bound: in use, not local, no permission), EX_SOFTWARE (libmicrohttpd or
 * libuv refused), message naming the address. *ret_h is new; stop it with
 * httpd_close. */
int httpd_start(struct daemon *d, struct httpd **ret_h, struct ts_err *err);

/* Lets the endpoint run after a connection was resumed outside its own
 * callbacks (an upload whose file reached the disk). NULL is a no-op. */
void httpd_wake(struct httpd *h);

/* Stops accepting connections (the first step of a graceful stop). Requests
 * already received are still answered; new requests on kept-alive
 * connections are answered 503. NULL is a no-op. */
void httpd_quiesce(struct httpd *h);

/* Commits the deliveries still waiting, answers them, closes every
 * connection and the loop handles; the endpoint frees itself once libuv has
 * closed them. Call before the loop's last run. NULL is a no-op. */
void httpd_close(struct httpd *h);

#endif
