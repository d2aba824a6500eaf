/* SPDX-License-Identifier: Apache-2.0 */
/* A report into the database, in one transaction: scans (one per tool),
 * findings with their fingerprints and lifecycle, history rows, correlations,
 * then the verification of the tasks and the tracker notices. */
#include "engine/findings/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "engine/findings/ingest_internal.h"
#include "engine/model/project.h"

#define MESSAGE_MAX 4096 /* bytes of a finding's message kept */
#define SCANS_MAX 64     /* tools in one report */
#define HASH_CHUNK (64 * 1024)
#define ROWS_BYTES_MAX (1024 * 1024) /* queued rows written before they take more */

enum {
	C_RESULTS,
	C_NEW,
	C_STILL_OPEN,
	C_FIXED,
	C_REOPENED,
	C_SUPPRESSED,
	C_UNMAPPED,
	C_CORRELATED,
	C_N
};
static const char *const count_names[C_N] = {"results",  "new",        "still_open", "fixed",
                                             "reopened", "suppressed", "unmapped",   "correlated"};

struct scan_state {
	char *tool;
	char *tool_version;
	int64_t id;
	int counts[C_N];
	/* No finding of this tool and scope was stored before this report: none
	 * of its fingerprints (a digest over tool and scope) can be known yet,
	 * so nothing is looked up. */
	bool first;
};

struct ing {
	struct store *s;
	const struct ingest_request *r;
	struct ts_err *err;
	int64_t project_id;
	const char *scope;
	const char *now;
	const char *content_hash;
	const struct findings_report *rep;
	enum findings_format format; /* the report's, as the parser has set it */
	struct scan_state scans[SCANS_MAX];
	size_t n_scans;
	/* the parser's thread's alone during the parse (prepare) */
	struct strmap *seen; /* base fingerprint -> occurrences in this report */
	struct mapping *map;
	struct correlator *corr;
	struct correlation *cbuf; /* CORRELATE_MAX */
	/* The rows of the findings handed over since the last flush: written
	 * ROWBATCH_ROWS to a statement, findings first (the others refer to
	 * them). A new finding's id is given here, as SQLite would give it: one
	 * more than the largest (next_id, read before the first). */
	struct rowbatch *b_find, *b_hist, *b_link, *b_corr;
	size_t pending;
	int64_t next_id;
};

/* ---- statements --------------------------------------------------------- */

static const char SQL_SAME_FILE[] =
    "SELECT id, tool, tool_version, finding_count FROM scans WHERE project_id = ?1 "
    "AND content_hash = ?2 AND scope = ?3 ORDER BY id";
static const char SQL_SCAN_INSERT[] =
    "INSERT INTO scans(project_id, tool, tool_version, format, scope, source_name, content_hash,"
    " imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_SCAN_FINISH[] =
    "UPDATE scans SET finding_count = ?2, detail = ?3, incomplete = ?4, format = ?5 WHERE id = ?1";
static const char SQL_ANY[] = "SELECT EXISTS (SELECT 1 FROM findings WHERE project_id = ?1"
                              " AND tool = ?2 AND scope = ?3)";
/* auto: whether the finding has correlations a scan may take back */
static const char SQL_FIND[] =
    "SELECT id, status, suppressed_by, suppressed_reason, EXISTS (SELECT 1 FROM correlations c"
    " WHERE c.finding_id = findings.id AND c.method <> 'manual') FROM findings"
    " WHERE project_id = ?1 AND fingerprint = ?2";
static const char SQL_MAX_ID[] = "SELECT coalesce(max(id), 0) FROM findings";
static const char SQL_INSERT_HEAD[] =
    "INSERT INTO findings(id, project_id, fingerprint, tool, scope, rule_id, cwe, severity,"
    " status, message, path, line, url, component_key, first_scan_id, last_scan_id,"
    " first_seen, last_seen, fingerprint_kind, category, rule_name, method, param, package,"
    " image, suppressed_by, suppressed_reason) VALUES ";
#define INSERT_COLS 27
#define UPDATE_REST                                                                                \
	" rule_id = ?3, cwe = ?4, severity = ?5, message = ?6, path = ?7, line = ?8, url = ?9,"    \
	" component_key = ?10, last_scan_id = ?11, last_seen = ?12, category = ?13,"               \
	" rule_name = ?14, method = ?15, param = ?16, package = ?17, image = ?18,"                 \
	" suppressed_by = ?19, suppressed_reason = ?20 WHERE id = ?1"
static const char SQL_UPDATE[] = "UPDATE findings SET status = ?2," UPDATE_REST;
/* The status as it was: the indexes on it are left alone (SQLite rewrites
 * the entries of every index on a column the SET names). ?2 is unused. */
static const char SQL_UPDATE_SAME[] = "UPDATE findings SET" UPDATE_REST;
static const char SQL_HISTORY_HEAD[] =
    "INSERT INTO finding_history(finding_id, from_status, to_status, scan_id, reason, actor,"
    " recorded_at) VALUES ";
#define HISTORY_COLS 7
static const char SQL_SCAN_FINDING_HEAD[] =
    "INSERT OR IGNORE INTO scan_findings(scan_id, finding_id) VALUES ";
#define SCAN_FINDING_COLS 2
static const char SQL_CORRELATE_HEAD[] =
    "INSERT INTO correlations(finding_id, threat_id, method, cwe_path, created_at) VALUES ";
static const char SQL_CORRELATE_TAIL[] =
    " ON CONFLICT (finding_id, threat_id) DO UPDATE SET"
    " method = excluded.method, cwe_path = excluded.cwe_path WHERE method <> 'manual'";
#define CORRELATE_COLS 5
static const char SQL_UNCORRELATE[] =
    "DELETE FROM correlations WHERE finding_id = ?1 AND method <> 'manual'"
    " AND threat_id NOT IN (SELECT value FROM json_each(?2))";
/* Absent from a complete scan of the same tool and scope: fixed. */
#define FIXED_WHERE                                                                                \
	" FROM findings WHERE project_id = ?1 AND tool = ?2 AND scope = ?3 AND last_scan_id <> ?4" \
	" AND (status = 'open' OR (status = 'suppressed' AND suppressed_by = 'tool'))"
static const char SQL_FIXED_HISTORY[] =
    "INSERT INTO finding_history(finding_id, from_status, to_status, scan_id, reason, actor,"
    " recorded_at) SELECT id, status, 'fixed', ?4, ?5, '', ?6" FIXED_WHERE;
static const char SQL_FIXED[] =
    "UPDATE findings SET status = 'fixed', suppressed_by = NULL, suppressed_reason = NULL"
    " WHERE id IN (SELECT id" FIXED_WHERE ")";

/* ---- helpers ------------------------------------------------------------ */

static int step(struct ing *g, sqlite3_stmt *st, const char *what)
{
	return store_step_done(g->s, st, what, g->err);
}

static sqlite3_stmt *prep(struct ing *g, const char *sql)
{
	sqlite3_stmt *st = store_prepare(g->s, sql);
	if (!st)
		store_fail(g->s, "preparing a statement", g->err);
	return st;
}

/* PRAGMA cache_size: pages when positive, KiB when negative. */
static int cache_size(struct store *s)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA cache_size");
	int v = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	if (st)
		sqlite3_reset(st);
	return v;
}

/* A hint only: a failure leaves the size as it was. The statements are
 * constants (no SQL is built from values): the ingest's size, and the size
 * the store opens connections with, the only one it changes. */
#define STORE_CACHE_KIB 32768
static void set_cache_size(struct store *s, bool ingest)
{
	(void)sqlite3_exec(store_db(s),
	                   ingest ? "PRAGMA cache_size = -65536" : "PRAGMA cache_size = -32768",
	                   NULL, NULL, NULL);
}

/* A UTF-8 string cut to at most max bytes on a character boundary. New. */
static char *cut(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (n <= max)
		return ts_strdup(s);
	while (n > max || (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80))
		n--;
	return ts_strndup(s, n);
}

static void cwe_json(const int *cwe, size_t n, char *out, size_t len)
{
	size_t k = (size_t)snprintf(out, len, "[");
	for (size_t i = 0; i < n && k < len; i++)
		k += (size_t)snprintf(out + k, len - k, "%s%d", i ? ", " : "", cwe[i]);
	if (k < len)
		snprintf(out + k, len - k, "]");
}

/* The scan of tool in this report, its row inserted on first use. */
static int scan_of(struct ing *g, const struct finding *f, struct scan_state **ret)
{
	for (size_t i = 0; i < g->n_scans; i++) {
		if (strcmp(g->scans[i].tool, f->tool) == 0) {
			*ret = &g->scans[i];
			return 0;
		}
	}
	if (g->n_scans == SCANS_MAX)
		return ts_err_set(g->err, TS_E_INVALID, "%s: %s: more than %d tools in one report",
		                  g->r->name ? g->r->name : g->r->path,
		                  f->doc_path ? f->doc_path : "$", SCANS_MAX);
	struct scan_state *sc = &g->scans[g->n_scans];
	memset(sc, 0, sizeof(*sc));
	sc->tool = ts_strdup(f->tool);
	sc->tool_version = ts_strdup(g->r->tool_version ? g->r->tool_version
	                                                : (f->tool_version ? f->tool_version : ""));
	g->n_scans++;
	sqlite3_stmt *st = prep(g, SQL_SCAN_INSERT);
	if (!st)
		return g->err->code;
	enum findings_format fmt = g->format ? g->format : g->r->format;
	sqlite3_bind_int64(st, 1, g->project_id);
	store_bind_static(st, 2, sc->tool);
	store_bind_static(st, 3, sc->tool_version);
	store_bind_static(st, 4, findings_format_name(fmt ? fmt : FINDINGS_FORMAT_SARIF));
	store_bind_static(st, 5, g->scope);
	store_bind_static(st, 6, g->r->name ? g->r->name : g->r->path);
	store_bind_static(st, 7, g->content_hash);
	store_bind_static(st, 8, g->now);
	int rc = step(g, st, "recording the scan");
	if (rc)
		return rc;
	sc->id = sqlite3_last_insert_rowid(store_db(g->s));
	if (!(st = prep(g, SQL_ANY)))
		return g->err->code;
	sqlite3_bind_int64(st, 1, g->project_id);
	store_bind_static(st, 2, sc->tool);
	store_bind_static(st, 3, g->scope);
	rc = sqlite3_step(st);
	sc->first = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(g->s, "looking for earlier findings", g->err);
	*ret = sc;
	return 0;
}

/* ---- one finding -------------------------------------------------------- */

/* The queued rows written, the queues emptied. */
static int flush_rows(struct ing *g)
{
	g->pending = 0;
	int rc = rowbatch_flush(g->b_find, g->s, g->err);
	if (rc == 0)
		rc = rowbatch_flush(g->b_hist, g->s, g->err);
	if (rc == 0)
		rc = rowbatch_flush(g->b_link, g->s, g->err);
	if (rc == 0)
		rc = rowbatch_flush(g->b_corr, g->s, g->err);
	return rc;
}

/* The id the next new finding gets. */
static int new_id(struct ing *g, int64_t *ret)
{
	if (g->next_id == 0) {
		sqlite3_stmt *st = prep(g, SQL_MAX_ID);
		if (!st)
			return g->err->code;
		int rc = sqlite3_step(st);
		int64_t max = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return store_fail(g->s, "numbering findings", g->err);
		if (max >= INT64_MAX / 2)
			return ts_err_set(g->err, TS_E_INTERNAL,
			                  "finding ids are exhausted in this database");
		g->next_id = max + 1;
	}
	*ret = g->next_id++;
	return 0;
}

/* known: the finding has correlations of an earlier scan that this one may
 * not confirm. */
static int store_correlations(struct ing *g, int64_t finding, bool known, const char *component,
                              const struct finding *f, size_t *ret_n)
{
	size_t n = correlate_finding(g->corr, component, f, g->cbuf);
	*ret_n = n;
	char ids[CORRELATE_MAX * 24 + 4];
	size_t k = (size_t)snprintf(ids, sizeof(ids), "[");
	for (size_t i = 0; i < n; i++) {
		const struct correlation *c = &g->cbuf[i];
		char path[16 * 12 + 4];
		cwe_json(c->path, c->n_path, path, sizeof(path));
		rowbatch_int(g->b_corr, finding);
		rowbatch_int(g->b_corr, c->threat_id);
		rowbatch_text(g->b_corr, c->method);
		rowbatch_text(g->b_corr, path);
		rowbatch_text(g->b_corr, g->now);
		k += (size_t)snprintf(ids + k, sizeof(ids) - k, "%s%lld", i ? "," : "",
		                      (long long)c->threat_id);
	}
	snprintf(ids + k, sizeof(ids) - k, "]");
	if (!known)
		return 0;
	/* the queued upserts are of the threats kept: they and this delete
	 * touch different rows, in either order */
	sqlite3_stmt *st = prep(g, SQL_UNCORRELATE);
	if (!st)
		return g->err->code;
	sqlite3_bind_int64(st, 1, finding);
	store_bind_static(st, 2, ids);
	return step(g, st, "updating correlations");
}

static void bind_details(sqlite3_stmt *st, const struct finding *f, int first)
{
	/* category, rule_name, method, param, package, image */
	store_bind_static(st, first, f->category);
	store_bind_static(st, first + 1, f->rule_name);
	store_bind_static(st, first + 2, f->method);
	store_bind_static(st, first + 3, f->param);
	store_bind_static(st, first + 4, f->package);
	store_bind_static(st, first + 5, f->image);
}

/* What a finding's storing needs that the parser's thread computes. */
struct prepared {
	char fp[FINGERPRINT_MAX + 16]; /* with "#n" from the second occurrence */
	char kind[16];
	const char *component; /* borrowed from the mapping; NULL: unmapped */
};

static int prepare_finding(void *ud, const struct finding *f, void *extra, struct ts_err *err)
{
	struct ing *g = ud;
	struct prepared *p = extra;
	(void)err;
	char base[FINGERPRINT_MAX];
	fingerprint_compute(f, g->scope, base);
	fingerprint_kind(base, p->kind);
	bool created = false;
	void **occ = strmap_slot(g->seen, base, &created);
	uintptr_t n_occ = (uintptr_t)*occ + 1;
	*occ = (void *)n_occ;
	if (n_occ > 1)
		snprintf(p->fp, sizeof(p->fp), "%s#%lu", base, (unsigned long)n_occ);
	else
		snprintf(p->fp, sizeof(p->fp), "%s", base);
	p->component = mapping_find(g->map, f->path, f->url);
	return 0;
}

static int store_finding(void *ud, const struct finding *f, const void *extra,
                         enum findings_format format, struct ts_err *err)
{
	struct ing *g = ud;
	(void)err; /* g->err is the same */
	const struct prepared *p = extra;
	const char *fp = p->fp, *kind = p->kind, *component = p->component;
	g->format = format;
	struct scan_state *sc = NULL;
	int rc = scan_of(g, f, &sc);
	if (rc)
		return rc;
	sc->counts[C_RESULTS]++;

	if (!component)
		sc->counts[C_UNMAPPED]++;
	char cwe[FINDINGS_CWE_MAX * 12 + 4];
	cwe_json(f->cwe, f->n_cwe, cwe, sizeof(cwe));
	const char *severity = f->severity ? f->severity : "medium";
	char *message = cut(f->message ? f->message : "", MESSAGE_MAX);
	bool tool_suppressed = f->suppression == FINDING_SUPPRESSED;

	sqlite3_stmt *st;
	int64_t id = 0;
	char *old_status = NULL, *old_by = NULL, *old_reason = NULL;
	bool old_auto = false;
	if (!sc->first) {
		if (!(st = prep(g, SQL_FIND))) {
			free(message);
			return g->err->code;
		}
		sqlite3_bind_int64(st, 1, g->project_id);
		store_bind_static(st, 2, fp);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			old_status = store_col_dup(st, 1);
			old_by = store_col_dup(st, 2);
			old_reason = store_col_dup(st, 3);
			old_auto = sqlite3_column_int(st, 4) != 0;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			free(message);
			return store_fail(g->s, "reading a finding", g->err);
		}
	}

	const char *to, *why = NULL;
	const char *by = NULL, *reason = NULL;
	if (!id) {
		to = tool_suppressed ? "suppressed" : "open";
		by = tool_suppressed ? "tool" : NULL;
		reason = tool_suppressed ? f->suppression_reason : NULL;
		why = tool_suppressed ? "first seen, suppressed by the tool" : "first seen";
		sc->counts[C_NEW]++;
		if (tool_suppressed)
			sc->counts[C_SUPPRESSED]++;
		rc = new_id(g, &id);
		if (rc)
			goto out;
		struct rowbatch *b = g->b_find;
		rowbatch_int(b, id);
		rowbatch_int(b, g->project_id);
		rowbatch_text(b, fp);
		rowbatch_text(b, f->tool);
		rowbatch_text(b, g->scope);
		rowbatch_text(b, f->rule_id ? f->rule_id : "");
		rowbatch_text(b, cwe);
		rowbatch_text(b, severity);
		rowbatch_text(b, to);
		rowbatch_text(b, message);
		rowbatch_text(b, f->path);
		if (f->line > 0)
			rowbatch_int(b, f->line);
		else
			rowbatch_null(b);
		rowbatch_text(b, f->url);
		rowbatch_text(b, component);
		rowbatch_int(b, sc->id); /* first_scan_id */
		rowbatch_int(b, sc->id); /* last_scan_id */
		rowbatch_text(b, g->now);
		rowbatch_text(b, g->now);
		rowbatch_text(b, kind);
		rowbatch_text(b, f->category);
		rowbatch_text(b, f->rule_name);
		rowbatch_text(b, f->method);
		rowbatch_text(b, f->param);
		rowbatch_text(b, f->package);
		rowbatch_text(b, f->image);
		rowbatch_text(b, by);
		rowbatch_text(b, reason);
	} else {
		bool person = old_by && strcmp(old_by, "person") == 0;
		to = old_status;
		by = old_by;
		reason = old_reason;
		if (person) {
			sc->counts[C_SUPPRESSED]++; /* a person's decision stands */
		} else if (tool_suppressed) {
			sc->counts[C_SUPPRESSED]++;
			to = "suppressed";
			by = "tool";
			reason = f->suppression_reason;
			if (strcmp(old_status, "suppressed") != 0)
				why = "suppressed by the tool";
		} else {
			to = "open";
			by = NULL;
			reason = NULL;
			if (strcmp(old_status, "fixed") == 0) {
				sc->counts[C_REOPENED]++;
				why = "found again";
			} else {
				sc->counts[C_STILL_OPEN]++;
				if (strcmp(old_status, "open") != 0)
					why = "no longer suppressed by the tool";
			}
		}
		st = prep(g, strcmp(to, old_status) == 0 ? SQL_UPDATE_SAME : SQL_UPDATE);
		if (!st) {
			rc = g->err->code;
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		store_bind_static(st, 2, to);
		store_bind_static(st, 3, f->rule_id ? f->rule_id : "");
		store_bind_static(st, 4, cwe);
		store_bind_static(st, 5, severity);
		store_bind_static(st, 6, message);
		store_bind_static(st, 7, f->path);
		if (f->line > 0)
			sqlite3_bind_int(st, 8, f->line);
		store_bind_static(st, 9, f->url);
		store_bind_static(st, 10, component);
		sqlite3_bind_int64(st, 11, sc->id);
		store_bind_static(st, 12, g->now);
		bind_details(st, f, 13);
		store_bind_static(st, 19, by);
		store_bind_static(st, 20, reason);
		rc = step(g, st, "updating a finding");
	}
	if (rc == 0 && why) {
		char *text = reason ? ts_asprintf("%s: %s", why, reason) : NULL;
		struct rowbatch *b = g->b_hist;
		rowbatch_int(b, id);
		rowbatch_text(b, old_status);
		rowbatch_text(b, to);
		rowbatch_int(b, sc->id);
		rowbatch_text(b, text ? text : why);
		rowbatch_text(b, "");
		rowbatch_text(b, g->now);
		free(text);
	}
	if (rc == 0) {
		rowbatch_int(g->b_link, sc->id);
		rowbatch_int(g->b_link, id);
	}
	size_t n_corr = 0;
	if (rc == 0)
		rc = store_correlations(g, id, old_auto, component, f, &n_corr);
	if (rc == 0 && n_corr > 0)
		sc->counts[C_CORRELATED]++;
	/* a bound on the memory the queues hold too: a finding's texts may be
	 * large */
	if (rc == 0 &&
	    (++g->pending >= ROWBATCH_ROWS ||
	     rowbatch_bytes(g->b_find) + rowbatch_bytes(g->b_hist) + rowbatch_bytes(g->b_corr) >
	         ROWS_BYTES_MAX))
		rc = flush_rows(g);
out:
	free(message);
	free(old_status);
	free(old_by);
	free(old_reason);
	return rc;
}

/* ---- the whole report --------------------------------------------------- */

static int mark_fixed(struct ing *g, struct scan_state *sc)
{
	char reason[64];
	snprintf(reason, sizeof(reason), "absent from scan %lld", (long long)sc->id);
	sqlite3_stmt *st = prep(g, SQL_FIXED_HISTORY);
	if (!st)
		return g->err->code;
	sqlite3_bind_int64(st, 1, g->project_id);
	store_bind_static(st, 2, sc->tool);
	store_bind_static(st, 3, g->scope);
	sqlite3_bind_int64(st, 4, sc->id);
	store_bind_static(st, 5, reason);
	store_bind_static(st, 6, g->now);
	int rc = step(g, st, "recording fixed findings");
	if (rc)
		return rc;
	st = prep(g, SQL_FIXED);
	if (!st)
		return g->err->code;
	sqlite3_bind_int64(st, 1, g->project_id);
	store_bind_static(st, 2, sc->tool);
	store_bind_static(st, 3, g->scope);
	sqlite3_bind_int64(st, 4, sc->id);
	rc = step(g, st, "marking fixed findings");
	if (rc == 0)
		sc->counts[C_FIXED] = sqlite3_changes(store_db(g->s));
	return rc;
}

static int finish_scan(struct ing *g, struct scan_state *sc)
{
	sqlite3_stmt *st = prep(g, SQL_SCAN_FINISH);
	if (!st)
		return g->err->code;
	enum findings_format fmt = g->rep->format ? g->rep->format : g->r->format;
	sqlite3_bind_int64(st, 1, sc->id);
	sqlite3_bind_int(st, 2, sc->counts[C_RESULTS]);
	store_bind_static(st, 3, g->rep->detail);
	sqlite3_bind_int(st, 4, g->rep->incomplete ? 1 : 0);
	store_bind_static(st, 5, findings_format_name(fmt ? fmt : FINDINGS_FORMAT_SARIF));
	int rc = step(g, st, "recording the scan");
	/* a first scan of its tool and scope has nothing before it to fix */
	if (rc == 0 && !g->rep->incomplete && !sc->first)
		rc = mark_fixed(g, sc);
	return rc;
}

static json_t *counts_json(const int *c)
{
	json_t *o = json_object();
	for (int i = 0; i < C_N; i++)
		json_object_set_new(o, count_names[i], json_integer(c[i]));
	return o;
}

static json_t *result_new(struct ing *g, bool unchanged)
{
	enum findings_format fmt = g->rep && g->rep->format ? g->rep->format : g->r->format;
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "project", g->r->project, "file",
	                 g->r->name ? g->r->name : g->r->path, "scope", g->scope, "content_hash",
	                 g->content_hash, "unchanged", unchanged, "incomplete",
	                 g->rep ? g->rep->incomplete : false, "format",
	                 fmt ? findings_format_name(fmt) : "auto");
}

/* The identical file was ingested before: the earlier scans, nothing written. */
static int same_file(struct ing *g, json_t **ret)
{
	sqlite3_stmt *st = prep(g, SQL_SAME_FILE);
	if (!st)
		return g->err->code;
	sqlite3_bind_int64(st, 1, g->project_id);
	store_bind_static(st, 2, g->content_hash);
	store_bind_static(st, 3, g->scope);
	json_t *scans = json_array();
	int total[C_N] = {0};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int c[C_N] = {0};
		c[C_RESULTS] = sqlite3_column_int(st, 3);
		total[C_RESULTS] += c[C_RESULTS];
		json_array_append_new(scans,
		                      json_pack("{s:I, s:s, s:s, s:o}", "id",
		                                (json_int_t)sqlite3_column_int64(st, 0), "tool",
		                                store_col_text(st, 1), "tool_version",
		                                store_col_text(st, 2), "counts", counts_json(c)));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(scans);
		return store_fail(g->s, "looking for an identical report", g->err);
	}
	if (json_array_size(scans) == 0) {
		json_decref(scans);
		*ret = NULL;
		return 0;
	}
	json_t *res = result_new(g, true);
	json_object_set_new(res, "scans", scans);
	json_object_set_new(res, "counts", counts_json(total));
	json_object_set_new(res, "verification", json_array());
	json_object_set_new(res, "notices", json_integer(0));
	*ret = res;
	return 0;
}

int ingest_run(struct store *s, const struct ingest_request *r, const char *content_hash,
               ingest_producer produce, void *produce_ud, json_t **ret_result, struct ts_err *err)
{
	if (ret_result)
		*ret_result = NULL;
	char clock[32];
	struct findings_report rep = {0};
	struct ing g = {.s = s,
	                .r = r,
	                .err = err,
	                .scope = r->scope ? r->scope : "",
	                .now = r->now,
	                .content_hash = content_hash,
	                .rep = &rep};
	if (!g.now) {
		ts_now_iso(clock);
		g.now = clock;
	}
	if (strlen(g.scope) > INGEST_SCOPE_MAX ||
	    (r->tool_version && strlen(r->tool_version) > INGEST_SCOPE_MAX))
		return ts_err_set(err, TS_E_USAGE, "the scope and the tool version are at most %d bytes",
		                  INGEST_SCOPE_MAX);
	int rc = project_find(s, r->project, &g.project_id, err);
	if (rc)
		return rc;
	/* Inside the write transaction, so two processes ingesting the same file
	 * at once store it once. */
	if ((rc = store_begin(s)) != 0)
		return store_fail(s, "starting the ingest", err);
	json_t *res = NULL;
	if ((rc = same_file(&g, &res)) != 0 || res) {
		store_rollback(s);
		if (ret_result)
			*ret_result = res;
		else
			json_decref(res);
		return rc;
	}
	/* The fingerprint index takes its rows in random order: a page cache
	 * of 64 MiB holds it for a report of some 100 MB and keeps the
	 * transaction from spilling pages to the WAL mid-way. Only pages used
	 * take memory; the store's size comes back afterwards (a size someone
	 * set otherwise is left alone). */
	bool cache_grown = cache_size(s) == -STORE_CACHE_KIB;
	if (cache_grown)
		set_cache_size(s, true);
	g.seen = strmap_new();
	g.cbuf = ts_calloc(CORRELATE_MAX, sizeof(*g.cbuf));
	g.b_find = rowbatch_new(SQL_INSERT_HEAD, "", INSERT_COLS, "recording a finding");
	g.b_hist = rowbatch_new(SQL_HISTORY_HEAD, "", HISTORY_COLS, "recording finding history");
	g.b_link = rowbatch_new(SQL_SCAN_FINDING_HEAD, "", SCAN_FINDING_COLS,
	                        "recording a finding of the scan");
	g.b_corr = rowbatch_new(SQL_CORRELATE_HEAD, SQL_CORRELATE_TAIL, CORRELATE_COLS,
	                        "recording a correlation");
	json_t *changes = json_array();
	int notices = 0;
	if ((rc = findings_expire(s, g.project_id, g.now, NULL, err)) != 0)
		goto fail;
	if ((rc = mapping_load(s, g.project_id, &g.map, err)) != 0)
		goto fail;
	if ((rc = correlator_load(s, g.project_id, r->cwe, r->library, &g.corr, err)) != 0)
		goto fail;
	static const struct pipeline_ops ops = {
	    .prepare = prepare_finding,
	    .consume = store_finding,
	    .extra_size = sizeof(struct prepared),
	};
	rc = pipeline_run(&ops, &g, produce, produce_ud, true, &rep, err);
	g.format = rep.format;
	if (rc == 0)
		rc = flush_rows(&g);
	if (rc)
		goto fail;
	/* A tool the report names without results is still a complete scan:
	 * all that tool's findings are gone. A single-tool format names its tool
	 * by the format. */
	for (size_t i = 0; i < rep.n_tools; i++) {
		struct finding none = {.tool = rep.tools[i].name,
		                       .tool_version = rep.tools[i].version};
		struct scan_state *sc;
		if ((rc = scan_of(&g, &none, &sc)) != 0)
			goto fail;
	}
	if (g.n_scans == 0 &&
	    (rep.format == FINDINGS_FORMAT_ZAP || rep.format == FINDINGS_FORMAT_SEMGREP)) {
		struct finding none = {.tool = findings_format_name(rep.format)};
		struct scan_state *sc;
		if ((rc = scan_of(&g, &none, &sc)) != 0)
			goto fail;
	}
	for (size_t i = 0; i < g.n_scans; i++)
		if ((rc = finish_scan(&g, &g.scans[i])) != 0)
			goto fail;
	if ((rc = verify_project(s, g.project_id, r->project, r->project_cfg,
	                         g.n_scans ? g.scans[0].id : 0, g.now, changes, &notices, err)) !=
	    0)
		goto fail;
	if ((rc = store_commit(s)) != 0) {
		rc = store_fail(s, "committing the ingest", err);
		goto fail;
	}

	res = result_new(&g, false);
	json_object_set_new(res, "detail", json_string(rep.detail));
	json_t *scans = json_array();
	int total[C_N] = {0};
	for (size_t i = 0; i < g.n_scans; i++) {
		struct scan_state *sc = &g.scans[i];
		for (int k = 0; k < C_N; k++)
			total[k] += sc->counts[k];
		json_array_append_new(scans,
		                      json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)sc->id,
		                                "tool", sc->tool, "tool_version", sc->tool_version,
		                                "counts", counts_json(sc->counts)));
	}
	json_object_set_new(res, "scans", scans);
	json_object_set_new(res, "counts", counts_json(total));
	json_object_set_new(res, "verification", changes);
	json_object_set_new(res, "notices", json_integer(notices));
	changes = NULL;
	if (ret_result)
		*ret_result = res;
	else
		json_decref(res);
	goto out;
fail:
	store_rollback(s);
out:
	json_decref(changes);
	for (size_t i = 0; i < g.n_scans; i++) {
		free(g.scans[i].tool);
		free(g.scans[i].tool_version);
	}
	if (cache_grown)
		set_cache_size(s, false);
	rowbatch_free(g.b_find);
	rowbatch_free(g.b_hist);
	rowbatch_free(g.b_link);
	rowbatch_free(g.b_corr);
	strmap_free(g.seen, NULL);
	mapping_free(g.map);
	correlator_free(g.corr);
	free(g.cbuf);
	return rc;
}

/* ---- from a file -------------------------------------------------------- */

static int hash_file(const char *path, const char *name, char out[65], struct ts_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ts_err_set(err, errno == ENOENT ? TS_E_NOTFOUND : TS_E_IO, "%s: %s", name,
		                  strerror(errno));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		abort();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	char *buf = ts_malloc(HASH_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ts_err_set(err, TS_E_IO, "%s: %s", name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	for (unsigned int i = 0; i < dl && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return rc;
}

struct file_producer {
	const struct ingest_request *r;
};

static int produce_file(void *ud, finding_cb cb, void *cb_ud, struct findings_report *rep,
                        struct ts_err *err)
{
	const struct file_producer *p = ud;
	return findings_parse(p->r->path, p->r->name, p->r->format, cb, cb_ud, rep, err);
}

int ingest_report(struct store *s, const struct ingest_request *r, json_t **ret_result,
                  struct ts_err *err)
{
	if (ret_result)
		*ret_result = NULL;
	const char *name = r->name ? r->name : r->path;
	char hash[65] = "";
	int rc = hash_file(r->path, name, hash, err);
	if (rc)
		return rc;
	struct file_producer p = {r};
	return ingest_run(s, r, hash, produce_file, &p, ret_result, err);
}
