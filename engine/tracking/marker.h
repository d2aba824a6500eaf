/* SPDX-License-Identifier: Apache-2.0 */
/* The idempotency marker of a ticket: made from (project, task key) and
 * recognised on the tracker, the one rule for every part that meets one. */
#ifndef TS_ENGINE_MARKER_H
#define TS_ENGINE_MARKER_H

#include <stdbool.h>

/* "threatsync-": the label every threatsync ticket carries is the prefix's
 * first word ("threatsync"), its marker this prefix and 16 hex digits. */
#define MARKER_PREFIX "threatsync-"
#define MARKER_HEX_DIGITS 16
/* Bytes a marker needs, with its NUL (27 + 1, rounded up). */
#define MARKER_SIZE 32

/* The marker of the ticket of key (a task uid "C-X@component", or a group key;
 * for a task renamed by a library merge, the uid it had first: marker_key)
 * in project slug: MARKER_PREFIX and the first 16 lower-case hex digits of
 * SHA-256("SLUG/KEY"). Stable across versions: existing tickets are found by
 * it. */
void marker_make(const char *slug, const char *key, char out[MARKER_SIZE]);

/* Whether s is a marker as marker_make writes it (prefix, exactly 16
 * lower-case hex digits, nothing after). NULL is not. */
bool marker_valid(const char *s);

#endif
