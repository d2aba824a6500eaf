/* SPDX-License-Identifier: Apache-2.0 */
/* Private pieces of the Jira connector shared by its files and its tests: the
 * one reader of an issue object (REST answers and webhook bodies), the
 * description as a flavour-neutral block list, its ADF and wiki renderings,
 * JQL quoting, URL escaping and the API user's time zone. */
#ifndef TS_CONNECTORS_JIRA_INTERNAL_H
#define TS_CONNECTORS_JIRA_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/connector.h"

/* ---- issues (jira.c; used by jira_webhook.c) ---- */

/* Fills ri (cleared first; its strings new) from a Jira issue object, the
 * same shape in a REST answer and a webhook body: key, id (string or
 * integer), the browse URL under cfg->base_url (borrowed), fields.status
 * name and statusCategory key, fields.resolution, fields.updated, the
 * marker among fields.labels (marker_valid) and, when the issue carries its
 * changelog, the author of the last status change. Missing parts stay
 * NULL. */
void jira_issue_read(const struct config_connector *cfg, const json_t *issue,
                     struct remote_issue *ri);

/* A Jira user object's name as threatsync records actors: the first
 * non-empty of emailAddress, name, displayName, accountId. New string, or
 * NULL. */
char *jira_user_name(const json_t *user);

/* jira_connector_ops.parse_webhook (jira_webhook.c): jira:issue_created and
 * jira:issue_updated are relevant; the actor is the delivery's user
 * (jira_user_name), self_actor when its e-mail is the connector's (any
 * case), comment the delivery's comment body. */
int jira_parse_webhook(const struct config_connector *cfg, const char *body, size_t body_len,
                       struct connector_webhook *ret, struct ts_err *err);

/* ---- the description as blocks (jira_doc.c) ---- */

enum jira_span_kind {
	JIRA_SPAN_TEXT,
	JIRA_SPAN_CODE, /* inline `code` */
	JIRA_SPAN_LINK, /* [text](href), or a bare http(s) URL */
	JIRA_SPAN_BOLD, /* our own emphasis (labels such as "Severity:") */
};

struct jira_span {
	enum jira_span_kind kind;
	char *text; /* never empty */
	char *href; /* JIRA_SPAN_LINK only */
};

enum jira_block_kind {
	JIRA_BLOCK_HEADING,   /* level, spans */
	JIRA_BLOCK_PARAGRAPH, /* spans */
	JIRA_BLOCK_BULLET,    /* one list item (spans); consecutive items form one list */
	JIRA_BLOCK_CODE,      /* lang (may be NULL), code */
};

struct jira_block {
	enum jira_block_kind kind;
	int level;  /* headings: 3 or 4 */
	char *lang; /* code: [a-z0-9+#._-]{1,32} or NULL */
	char *code; /* code: the text, without the fences */
	struct jira_span *spans;
	size_t n_spans;
};

struct jira_doc {
	struct jira_block *blocks;
	size_t n_blocks;
};

/* Appends the blocks of markdown text: ``` fences (with a language) become
 * code blocks, "- " / "* " lines list items, other lines paragraphs (lines
 * joined by a space, a blank line ends one); inline `code`, [text](url) and
 * bare http(s) URLs become spans. NULL or empty text appends nothing. */
void jira_doc_markdown(struct jira_doc *d, const char *text);

/* Builds the whole ticket description of t (sections: requirement, how to per
 * stack, acceptance test, training, threats with CWE names, compliance,
 * component and model version, the threatsync link back). d starts empty
 * (zeroed); free with jira_doc_clear. */
void jira_doc_build(struct jira_doc *d, const struct ticket_content *t);

/* Frees what d holds and zeroes it. */
void jira_doc_clear(struct jira_doc *d);

/* ---- renderings (jira_adf.c, jira_wiki.c) ---- */

/* Atlassian Document Format of d: {"type":"doc","version":1,"content":[…]}.
 * jira_adf_dump gives its compact JSON text, every object's keys in sorted
 * order (new string, caller frees); jira_adf_render the same document
 * parsed (new reference). */
char *jira_adf_dump(const struct jira_doc *d);
json_t *jira_adf_render(const struct jira_doc *d);

/* ADF document of a markdown text (comments). New reference. */
json_t *jira_adf_text(const char *text);

/* Jira wiki markup of d (h3./h4., {code:lang}, * items, {{code}}, [text|url]),
 * special characters escaped. New string, caller frees. */
char *jira_wiki_render(const struct jira_doc *d);

/* Wiki markup of a markdown text (comments). New string, caller frees. */
char *jira_wiki_text(const char *text);

/* ---- JQL, URLs and time (jira_jql.c) ---- */

/* A JQL string literal: s in double quotes, '"' and '\' escaped. New string. */
char *jira_jql_quote(const char *s);

/* s percent-encoded for a URL query value or path segment (everything but
 * RFC 3986 unreserved characters). New string. */
char *jira_url_escape(const char *s);

/* A time zone: UTC offsets by instant, from the system's TZif files. */
struct jira_tz;

/* Loads the zone called name: an IANA name ("Europe/Berlin", "Etc/GMT-1",
 * "UTC") read from $TZDIR or /usr/share/zoneinfo, or a fixed offset written
 * "GMT+01:30", "UTC-05:00" or "+0100". Returns 0 (*ret new, free with
 * jira_tz_free), -EINVAL (bad name or file) or -ENOENT. */
int jira_tz_load(const char *name, struct jira_tz **ret);
void jira_tz_free(struct jira_tz *tz); /* NULL is a no-op */

/* Offset east of UTC, in seconds, in force at unix_s (0 for a NULL tz). Zones
 * whose rules change after the last transition in the file keep its offset. */
int32_t jira_tz_offset(const struct jira_tz *tz, int64_t unix_s);

/* unix_ms as a JQL date "yyyy-MM-dd HH:mm" in the zone (NULL = UTC),
 * truncated to the minute. */
void jira_jql_time(const struct jira_tz *tz, int64_t unix_ms, char out[32]);

#endif
