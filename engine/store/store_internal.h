/* SPDX-License-Identifier: Apache-2.0 */
/* Store internals exposed for the unit tests only; other modules use store.h. */
#ifndef TS_ENGINE_STORE_INTERNAL_H
#define TS_ENGINE_STORE_INTERNAL_H

#include "engine/store/migrations.h"
#include "engine/store/store.h"

/* Applies one migration in its own BEGIN IMMEDIATE transaction: runs m->sql,
 * checks foreign keys, sets application_id when it is still 0 and bumps
 * user_version to m->version, then commits. Foreign-key enforcement is off
 * while it runs (so a migration may rebuild a table) and back on afterwards.
 * Returns 1 when applied, 0 when the database already had m->version (another
 * process migrated first), negative with err filled on failure, in which case
 * everything it did is rolled back. m is borrowed. */
int store_apply_migration(struct store *s, const struct migration *m, struct ts_err *err);

/* Databases up to this size get PRAGMA quick_check at open; larger ones only
 * the header checks, to keep every CLI invocation fast. */
#define STORE_QUICK_CHECK_MAX_BYTES ((long long)32 * 1024 * 1024)

#endif
