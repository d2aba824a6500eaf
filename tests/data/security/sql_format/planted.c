/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture of tests/security/sql_format_check.py: statements built with a
 * formatter, each on a line marked for the self-check, beside constant
 * statements that must not be reported. Never compiled. */
#include "engine/store/store.h"

#define SQL_BY_ID "SELECT name FROM projects WHERE id = ?1"

static const char *const SQL_PAIR[] = {"DELETE FROM a WHERE id = ?1", "DELETE FROM b WHERE id = ?1"};

/* The statement itself formatted in the call. */
sqlite3_stmt *planted_direct(struct store *s, const char *slug)
{
	return store_prepare(s, ts_asprintf("SELECT id FROM projects WHERE slug = '%s'", slug)); /* expect: formatted SQL */
}

/* A buffer written by snprintf, given to sqlite3_exec. */
int planted_buffer(sqlite3 *db, int days)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "DELETE FROM webhook_deliveries WHERE age > %d", days);
	return sqlite3_exec(db, sql, NULL, NULL, NULL); /* expect: formatted SQL */
}

/* A ts_buf built with ts_buf_printf, its data prepared. */
sqlite3_stmt *planted_buf(struct store *s, const char *table)
{
	struct ts_buf b = {0};
	ts_buf_printf(&b, "SELECT count(*) FROM %s", table);
	sqlite3_stmt *st = store_prepare(s, b.data); /* expect: formatted SQL */
	ts_buf_free(&b);
	return st;
}

/* A helper that passes its parameter on: the caller's formatted text is
 * found through it. */
static int run_sql(struct store *s, const char *text)
{
	return sqlite3_exec(store_db(s), text, NULL, NULL, NULL);
}

int planted_wrapper(struct store *s, const char *name)
{
	char *q = ts_asprintf("UPDATE projects SET name = '%s'", name);
	int rc = run_sql(s, q); /* expect: formatted SQL */
	free(q);
	return rc;
}

/* Through another variable. */
sqlite3_stmt *planted_alias(struct store *s, long long id)
{
	char *text = ts_asprintf("SELECT * FROM tickets WHERE id = %lld", id);
	const char *sql = text;
	sqlite3_stmt *st = store_prepare(s, sql); /* expect: formatted SQL */
	free(text);
	return st;
}

/* Constant statements: not reported. */
sqlite3_stmt *constant_statements(struct store *s, bool latest, int i)
{
	char label[64];
	snprintf(label, sizeof(label), "pass %d", i); /* formatted, but not SQL */
	sqlite3_stmt *st = store_prepare(s, latest ? SQL_BY_ID : "SELECT 1");
	st = store_prepare(s, SQL_PAIR[i]);
	run_sql(s, "PRAGMA optimize");
	return store_prepare(s, "SELECT ?1") ? st : NULL;
}
