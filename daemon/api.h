/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's API under /api/v1 (served by daemon/httpd.c): scan uploads
 * (POST /api/v1/projects/SLUG/scans, the body streamed to a file, queued for
 * ingestion, answered 202) and their outcome (GET /api/v1/scans/ID), behind
 * bearer tokens scoped to projects (engine/api_tokens.h). */
#ifndef TS_DAEMON_API_H
#define TS_DAEMON_API_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct api_req;

#define API_PREFIX "/api/"
#define API_PARAM_MAX 256 /* bytes of scope, tool_version and name */

/* Whether url belongs to the API. */
bool api_path(const char *url);

/* First call of an API request: routes, authenticates and checks the
 * parameters, answering at once when the request cannot succeed or has no
 * body to read. When the body is to be read, *ret_req is new (the caller
 * passes it to api_continue for the next calls, and frees it with
 * api_req_free when the request completes). d is borrowed. */
enum MHD_Result api_begin(struct daemon *d, struct MHD_Connection *conn, const char *url,
                          const char *method, struct api_req **ret_req);

/* Next calls: the body's pieces, its end (the file is synced and the upload
 * recorded on a worker thread with a connection of its own, the connection
 * suspended meanwhile), and the answer. */
enum MHD_Result api_continue(struct api_req *r, const char *upload_data, size_t *upload_data_size);

/* Frees r (removing a body file that was not recorded). A request whose file
 * is being synced is freed when the sync ends. NULL is a no-op. */
void api_req_free(struct api_req *r);

#endif
