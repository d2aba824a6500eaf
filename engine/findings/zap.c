/* SPDX-License-Identifier: Apache-2.0 */
/* OWASP ZAP's traditional reports, JSON and XML: one finding per instance of
 * an alert (an alert without instances, as older reports write them: one
 * finding). JSON is streamed with jstream ($.site[*].alerts[*]); XML is read
 * with libxml2's streaming reader, one alertitem at a time, never as a whole
 * tree, with no DOCTYPE, no network and no entity expansion. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "engine/findings/findings_internal.h"
#include "engine/findings/jstream.h"

/* ---- the mapping both forms share --------------------------------------- */

/* One alert's fields, borrowed (from the JSON item or the XML collector). */
struct zap_alert {
	const char *pluginid;
	const char *alert_ref;
	const char *alert;
	const char *name;
	const char *riskcode;
	const char *confidence;
	const char *desc;
	const char *cweid;
	/* older reports: the request in the alert itself */
	const char *uri;
	const char *method;
	const char *param;
	const char *attack;
	const char *evidence;
};

struct zap_instance {
	const char *uri;
	const char *method;
	const char *param;
	const char *attack;
	const char *evidence;
};

struct zap_ctx {
	const struct findings_input *in;
	finding_cb cb;
	void *ud;
	struct findings_report *rep;
	const char *version; /* borrowed: the report's version */
};

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static const char *zap_severity(const char *riskcode)
{
	static const char *const risks[] = {"info", "low", "medium", "high"};
	if (riskcode && riskcode[0] >= '0' && riskcode[0] <= '3' && riskcode[1] == '\0')
		return risks[riskcode[0] - '0'];
	return NULL;
}

static const char *zap_confidence(const char *code)
{
	static const char *const words[] = {"false positive", "low", "medium", "high",
	                                    "user confirmed"};
	if (code && code[0] >= '0' && code[0] <= '4' && code[1] == '\0')
		return words[code[0] - '0'];
	return NULL;
}

/* Hands one finding over: the alert with one of its instances (NULL: the
 * alert's own request, else the site). */
static int zap_emit(struct zap_ctx *c, const struct zap_alert *a, const struct zap_instance *inst,
                    const char *site_name, const char *doc_path, struct ts_err *err)
{
	struct finding f = {0};
	f.tool = "zap";
	f.tool_version = nonempty(c->version);
	f.category = "dast";
	f.rule_id = nonempty(a->alert_ref) ? a->alert_ref : nonempty(a->pluginid);
	f.rule_name = nonempty(a->alert) ? a->alert : nonempty(a->name);
	const char *title = nonempty(a->name) ? a->name : f.rule_name;
	char *message = NULL;
	if (title && nonempty(a->desc))
		message = ts_asprintf("%s\n\n%s", title, a->desc);
	f.message = message ? message : title ? title : nonempty(a->desc);
	finding_add_cwe(&f, finding_cwe_parse(a->cweid, true));
	f.severity = zap_severity(a->riskcode);
	f.confidence = zap_confidence(a->confidence);
	if (a->confidence && strcmp(a->confidence, "0") == 0) {
		/* confidence 0 is a user's verdict in ZAP: a false positive */
		f.suppression = FINDING_SUPPRESSED;
		f.suppression_reason = "false positive";
	}
	const char *method;
	if (inst) {
		f.url = nonempty(inst->uri);
		method = nonempty(inst->method);
		f.param = nonempty(inst->param);
		f.snippet = nonempty(inst->evidence);
	} else {
		f.url = nonempty(a->uri);
		method = nonempty(a->method);
		f.param = nonempty(a->param);
		f.snippet = nonempty(a->evidence);
	}
	if (!f.url)
		f.url = nonempty(site_name);
	char *upper = ts_strdup(method);
	for (char *p = upper; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	f.method = upper;
	f.doc_path = doc_path;
	c->rep->results++;
	int rc = c->cb(c->ud, &f, err);
	free(upper);
	free(message);
	return rc < 0 ? rc : 0;
}

/* ---- JSON ----------------------------------------------------------------- */

struct zap_json {
	struct zap_ctx c;
	struct jstream *head; /* the document without its alerts: @version, sites */
};

/* A field that ZAP writes as a string; numbers are accepted too (buf holds
 * their text). */
static const char *jfield(const json_t *obj, const char *key, char *buf, size_t size)
{
	const json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static int on_json_alert(void *ud, json_t *item, const char *doc_path, const size_t *idx,
                         size_t n_idx, struct ts_err *err)
{
	struct zap_json *z = ud;
	if (!json_is_object(item))
		return ts_err_set(err, TS_E_INVALID, "%s: %s: an alert is not a JSON object",
		                  z->c.in->name, doc_path);
	const json_t *sites = json_object_get(jstream_root(z->head), "site");
	const json_t *site =
	    json_is_array(sites) && n_idx == 2 ? json_array_get(sites, idx[0]) : sites;
	const char *site_name = json_string_value(json_object_get(site, "@name"));
	char risk[24], conf[24], cwe[24], plugin[24];
	struct zap_alert a = {
	    .pluginid = jfield(item, "pluginid", plugin, sizeof(plugin)),
	    .alert_ref = json_string_value(json_object_get(item, "alertRef")),
	    .alert = json_string_value(json_object_get(item, "alert")),
	    .name = json_string_value(json_object_get(item, "name")),
	    .riskcode = jfield(item, "riskcode", risk, sizeof(risk)),
	    .confidence = jfield(item, "confidence", conf, sizeof(conf)),
	    .desc = json_string_value(json_object_get(item, "desc")),
	    .cweid = jfield(item, "cweid", cwe, sizeof(cwe)),
	    .uri = json_string_value(json_object_get(item, "uri")),
	    .method = json_string_value(json_object_get(item, "method")),
	    .param = json_string_value(json_object_get(item, "param")),
	    .attack = json_string_value(json_object_get(item, "attack")),
	    .evidence = json_string_value(json_object_get(item, "evidence")),
	};
	const json_t *instances = json_object_get(item, "instances");
	if (!json_is_array(instances) || json_array_size(instances) == 0)
		return zap_emit(&z->c, &a, NULL, site_name, doc_path, err);
	struct ts_buf path = {0};
	size_t i;
	const json_t *e;
	int rc = 0;
	json_array_foreach (instances, i, e) {
		struct zap_instance inst = {
		    .uri = json_string_value(json_object_get(e, "uri")),
		    .method = json_string_value(json_object_get(e, "method")),
		    .param = json_string_value(json_object_get(e, "param")),
		    .attack = json_string_value(json_object_get(e, "attack")),
		    .evidence = json_string_value(json_object_get(e, "evidence")),
		};
		path.len = 0;
		ts_buf_printf(&path, "%s.instances[%zu]", doc_path, i);
		rc = zap_emit(&z->c, &a, &inst, site_name, path.data, err);
		if (rc)
			break;
	}
	ts_buf_free(&path);
	return rc;
}

static int zap_json_parse(struct zap_ctx *c, struct ts_err *err)
{
	snprintf(c->rep->detail, sizeof(c->rep->detail), "zap json");
	struct zap_json z = {.c = *c};
	struct jstream *body = NULL;
	z.head = jstream_new(c->in->name);
	/* alerts are read and dropped one at a time rather than skipped, so an
	 * error inside one is named with its index */
	jstream_emit(z.head, "$.site[*].alerts[*]", NULL, NULL);
	jstream_emit(z.head, "$.site.alerts[*]", NULL, NULL);
	int rc = findings_jstream_run(z.head, c->in, err);
	if (rc)
		goto out;
	const json_t *root = jstream_root(z.head);
	if (!json_is_object(root)) {
		rc = ts_err_set(err, TS_E_INVALID,
		                "%s: $: not a JSON object: not an OWASP ZAP report", c->in->name);
		goto out;
	}
	const json_t *site = json_object_get(root, "site");
	if (!json_is_array(site) && !json_is_object(site)) {
		rc = ts_err_set(err, TS_E_INVALID,
		                site ? "%s: $.site: neither an array nor an object"
		                     : "%s: $: no site array: not an OWASP ZAP report",
		                c->in->name);
		goto out;
	}
	z.c.version = json_string_value(json_object_get(root, "@version"));
	if (nonempty(z.c.version))
		snprintf(c->rep->detail, sizeof(c->rep->detail), "zap json %.40s", z.c.version);
	body = jstream_new(c->in->name);
	jstream_emit(body, "$.site[*].alerts[*]", on_json_alert, &z);
	jstream_emit(body, "$.site.alerts[*]", on_json_alert, &z);
	rc = findings_jstream_run(body, c->in, err);
out:
	jstream_free(body);
	jstream_free(z.head);
	return rc;
}

/* ---- XML ------------------------------------------------------------------ */

/* The fields of an alertitem and of its instances, as collected (owned). */
enum {
	F_PLUGINID,
	F_ALERTREF,
	F_ALERT,
	F_NAME,
	F_RISKCODE,
	F_CONFIDENCE,
	F_DESC,
	F_CWEID,
	F_URI,
	F_METHOD,
	F_PARAM,
	F_ATTACK,
	F_EVIDENCE,
	F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "pluginid", "alertRef", "alert",  "name",  "riskcode", "confidence", "desc",
    "cweid",    "uri",      "method", "param", "attack",   "evidence",
};
/* the fields an instance has: F_URI .. F_EVIDENCE */
#define F_INSTANCE_FIRST F_URI
#define F_INSTANCE_N (F_COUNT - F_URI)

struct xml_instance {
	char *v[F_INSTANCE_N];
};

struct zap_xml {
	struct zap_ctx c;
	xmlTextReaderPtr r;
	struct ts_err *err;
	int rc;
	char xml_error[256]; /* libxml2's last message, line */
	int xml_error_line;

	char *version;
	char *site_name;
	size_t site_no, alert_no, instance_no; /* 1-based positions */
	int site_depth, alerts_depth, item_depth, instances_depth, instance_depth;

	char *alert[F_COUNT];
	struct xml_instance *inst;
	size_t n_inst, cap_inst;
	size_t item_bytes;

	size_t open;   /* elements open */
	uint64_t size; /* of the input, in bytes */

	struct ts_buf text; /* the text of the field being read */
	char **field;       /* where it goes; NULL when no field is open */
	int field_depth;
};

#if LIBXML_VERSION >= 21200
static void xml_error_cb(void *ud, const xmlError *e)
#else
static void xml_error_cb(void *ud, xmlErrorPtr e)
#endif
{
	struct zap_xml *x = ud;
	if (!x || !e || e->level < XML_ERR_ERROR || x->xml_error[0])
		return;
	const char *m = e->message ? e->message : "an XML error";
	size_t n = strcspn(m, "\n");
	snprintf(x->xml_error, sizeof(x->xml_error), "%.*s", (int)(n < 200 ? n : 200), m);
	x->xml_error_line = e->line;
}

/* The line of the node read (an element's start tag), else where the parser
 * is (it reads ahead). */
static int xml_line(struct zap_xml *x)
{
	xmlNodePtr node = xmlTextReaderCurrentNode(x->r);
	if (node && node->type == XML_ELEMENT_NODE) {
		long line = xmlGetLineNo(node);
		if (line > 0 && line < 65535)
			return (int)line;
	}
	return xmlTextReaderGetParserLineNumber(x->r);
}

/* "NAME: line N: message"; the first error wins. */
static int xml_fail(struct zap_xml *x, const char *msg)
{
	if (!x->rc)
		x->rc = ts_err_set(x->err, TS_E_INVALID, "%s: line %d: %s", x->c.in->name,
		                   xml_line(x), msg);
	return x->rc;
}

static void alert_clear(struct zap_xml *x)
{
	for (size_t i = 0; i < F_COUNT; i++) {
		free(x->alert[i]);
		x->alert[i] = NULL;
	}
	for (size_t i = 0; i < x->n_inst; i++)
		for (size_t k = 0; k < F_INSTANCE_N; k++)
			free(x->inst[i].v[k]);
	x->n_inst = 0;
	x->item_bytes = 0;
}

static void item_path(struct zap_xml *x, struct ts_buf *b)
{
	b->len = 0;
	ts_buf_printf(b, "/OWASPZAPReport/site[%zu]/alerts/alertitem[%zu]", x->site_no,
	              x->alert_no);
}

static int field_index(const char *name, size_t first, size_t last)
{
	for (size_t i = first; i < last; i++)
		if (strcmp(name, field_names[i]) == 0)
			return (int)i;
	return -1;
}

/* An alertitem ended: its findings. */
static int alert_done(struct zap_xml *x)
{
	struct zap_alert a = {
	    .pluginid = x->alert[F_PLUGINID],
	    .alert_ref = x->alert[F_ALERTREF],
	    .alert = x->alert[F_ALERT],
	    .name = x->alert[F_NAME],
	    .riskcode = x->alert[F_RISKCODE],
	    .confidence = x->alert[F_CONFIDENCE],
	    .desc = x->alert[F_DESC],
	    .cweid = x->alert[F_CWEID],
	    .uri = x->alert[F_URI],
	    .method = x->alert[F_METHOD],
	    .param = x->alert[F_PARAM],
	    .attack = x->alert[F_ATTACK],
	    .evidence = x->alert[F_EVIDENCE],
	};
	struct ts_buf path = {0};
	item_path(x, &path);
	int rc = 0;
	if (x->n_inst == 0) {
		rc = zap_emit(&x->c, &a, NULL, x->site_name, path.data, x->err);
	} else {
		size_t base = path.len;
		for (size_t i = 0; i < x->n_inst && rc == 0; i++) {
			char **v = x->inst[i].v;
			struct zap_instance inst = {
			    .uri = v[F_URI - F_INSTANCE_FIRST],
			    .method = v[F_METHOD - F_INSTANCE_FIRST],
			    .param = v[F_PARAM - F_INSTANCE_FIRST],
			    .attack = v[F_ATTACK - F_INSTANCE_FIRST],
			    .evidence = v[F_EVIDENCE - F_INSTANCE_FIRST],
			};
			path.len = base;
			path.data[base] = '\0';
			ts_buf_printf(&path, "/instances/instance[%zu]", i + 1);
			rc = zap_emit(&x->c, &a, &inst, x->site_name, path.data, x->err);
		}
	}
	ts_buf_free(&path);
	alert_clear(x);
	if (rc)
		x->rc = rc;
	return rc;
}

/* Counts bytes towards the bound of one alertitem. */
static int item_charge(struct zap_xml *x, size_t n)
{
	if (x->item_depth < 0)
		return 0;
	x->item_bytes += n;
	if (x->item_bytes <= FINDINGS_ITEM_MAX)
		return 0;
	struct ts_buf path = {0};
	item_path(x, &path);
	if (!x->rc)
		x->rc = ts_err_set(x->err, TS_E_INVALID, "%s: %s: one alert is larger than 8 MiB",
		                   x->c.in->name, path.data);
	ts_buf_free(&path);
	return x->rc;
}

static char *get_attr(struct zap_xml *x, const char *name)
{
	xmlChar *v = xmlTextReaderGetAttribute(x->r, (const xmlChar *)name);
	if (!v)
		return NULL;
	char *s = NULL;
	if (strlen((const char *)v) <= FINDINGS_STRING_MAX)
		s = ts_strdup((const char *)v);
	else
		xml_fail(x, "an attribute longer than 1 MiB");
	xmlFree(v);
	return s;
}

static int on_element(struct zap_xml *x, int depth, const char *name)
{
	if (depth >= FINDINGS_DEPTH_MAX)
		return xml_fail(x, "elements nested deeper than 64 levels");
	if (x->field) {
		/* markup inside a field: its text stays, the element is ignored */
		return 0;
	}
	if (depth == 0) {
		if (strcmp(name, "OWASPZAPReport") != 0) {
			char msg[160];
			snprintf(
			    msg, sizeof(msg),
			    "an XML document with root element <%.64s>: not an OWASP ZAP report",
			    name);
			return xml_fail(x, msg);
		}
		x->version = get_attr(x, "version");
		if (nonempty(x->version))
			snprintf(x->c.rep->detail, sizeof(x->c.rep->detail), "zap xml %.40s",
			         x->version);
		x->c.version = x->version;
		return x->rc;
	}
	if (depth == 1 && strcmp(name, "site") == 0) {
		x->site_no++;
		x->alert_no = 0;
		free(x->site_name);
		x->site_name = get_attr(x, "name");
		x->site_depth = depth;
		return x->rc;
	}
	if (x->site_depth == 1 && depth == 2 && strcmp(name, "alerts") == 0) {
		x->alerts_depth = depth;
		return 0;
	}
	if (x->alerts_depth == 2 && depth == 3 && strcmp(name, "alertitem") == 0) {
		x->alert_no++;
		x->item_depth = depth;
		alert_clear(x);
		return 0;
	}
	if (x->item_depth == 3 && depth == 4) {
		if (strcmp(name, "instances") == 0) {
			x->instances_depth = depth;
			return 0;
		}
		int i = field_index(name, 0, F_COUNT);
		if (i >= 0) {
			x->field = &x->alert[i];
			x->field_depth = depth;
		}
		return 0;
	}
	if (x->instances_depth == 4 && depth == 5 && strcmp(name, "instance") == 0) {
		if (x->n_inst == x->cap_inst) {
			x->cap_inst = x->cap_inst ? 2 * x->cap_inst : 8;
			x->inst = ts_realloc(x->inst, x->cap_inst * sizeof(*x->inst));
		}
		memset(&x->inst[x->n_inst++], 0, sizeof(*x->inst));
		x->instance_depth = depth;
		return item_charge(x, sizeof(*x->inst));
	}
	if (x->instance_depth == 5 && depth == 6) {
		int i = field_index(name, F_INSTANCE_FIRST, F_COUNT);
		if (i >= 0) {
			x->field = &x->inst[x->n_inst - 1].v[i - F_INSTANCE_FIRST];
			x->field_depth = depth;
		}
	}
	return 0;
}

static void trim_into(struct zap_xml *x, char **slot)
{
	const char *s = x->text.data ? x->text.data : "";
	size_t n = x->text.len;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	free(*slot);
	*slot = n ? ts_strndup(s, n) : NULL;
	x->text.len = 0;
	if (x->text.data)
		x->text.data[0] = '\0';
}

static int on_end(struct zap_xml *x, int depth)
{
	if (x->field) {
		if (depth != x->field_depth)
			return 0;
		trim_into(x, x->field);
		x->field = NULL;
		return 0;
	}
	if (depth == x->instance_depth) {
		x->instance_depth = -1;
	} else if (depth == x->instances_depth) {
		x->instances_depth = -1;
	} else if (depth == x->item_depth) {
		x->item_depth = -1;
		return alert_done(x);
	} else if (depth == x->alerts_depth) {
		x->alerts_depth = -1;
	} else if (depth == x->site_depth) {
		x->site_depth = -1;
	}
	return 0;
}

static int on_text(struct zap_xml *x)
{
	const char *v = (const char *)xmlTextReaderConstValue(x->r);
	size_t n = v ? strlen(v) : 0;
	if (n > FINDINGS_STRING_MAX || x->text.len + n > FINDINGS_STRING_MAX)
		return xml_fail(x, "a text longer than 1 MiB");
	if (!x->field || !n)
		return 0;
	if (item_charge(x, n))
		return x->rc;
	ts_buf_append(&x->text, v, n);
	return 0;
}

static int xml_step(struct zap_xml *x)
{
	int type = xmlTextReaderNodeType(x->r);
	int depth = xmlTextReaderDepth(x->r);
	switch (type) {
	case XML_READER_TYPE_DOCUMENT_TYPE:
		return xml_fail(x, "a DOCTYPE is not accepted in a report");
	case XML_READER_TYPE_ELEMENT: {
		const char *name = (const char *)xmlTextReaderConstLocalName(x->r);
		x->open += !xmlTextReaderIsEmptyElement(x->r);
		int rc = on_element(x, depth, name ? name : "");
		if (rc == 0 && xmlTextReaderIsEmptyElement(x->r)) {
			if (x->field && x->field_depth == depth)
				x->field = NULL; /* <param/>: no value */
			else
				rc = on_end(x, depth);
		}
		return rc;
	}
	case XML_READER_TYPE_END_ELEMENT:
		x->open -= x->open > 0;
		return on_end(x, depth);
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		return on_text(x);
	case XML_READER_TYPE_ENTITY_REFERENCE:
		return xml_fail(x, "an entity reference is not accepted in a report");
	default:
		return 0;
	}
}

static int zap_xml_parse(struct zap_ctx *c, struct ts_err *err)
{
	snprintf(c->rep->detail, sizeof(c->rep->detail), "zap xml");
	struct zap_xml x = {
	    .c = *c,
	    .err = err,
	    .site_depth = -1,
	    .alerts_depth = -1,
	    .item_depth = -1,
	    .instances_depth = -1,
	    .instance_depth = -1,
	};
	/* no network, no DTD loading, no entity substitution (the default) */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA;
	int fd = -1;
	if (c->in->path) {
		fd = open(c->in->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ts_err_set(err, TS_E_IO, "%s: %s", c->in->name, strerror(errno));
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return ts_err_set(err, TS_E_IO, "%s: is a directory", c->in->name);
		}
		if (fstat(fd, &st) == 0 && st.st_size > FINDINGS_FILE_MAX) {
			close(fd);
			return ts_err_set(err, TS_E_INVALID, "%s: the file is larger than 4 GiB",
			                  c->in->name);
		}
		x.size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	} else if (c->in->len > (size_t)FINDINGS_FILE_MAX || c->in->len > (size_t)INT32_MAX) {
		return ts_err_set(err, TS_E_INVALID, "%s: the file is larger than 2 GiB",
		                  c->in->name);
	} else {
		x.size = c->in->len;
	}
	/* libxml2 reports through the reader's handler and, for some errors,
	 * through the thread's global one: both point here for the parse, so
	 * nothing reaches stderr */
	xmlStructuredErrorFunc saved_fn = xmlStructuredError;
	void *saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&x, xml_error_cb);
	if (fd >= 0)
		x.r = xmlReaderForFd(fd, c->in->name, NULL, opts);
	else
		x.r = xmlReaderForMemory(c->in->data, (int)c->in->len, c->in->name, NULL, opts);
	int rc = 0;
	if (!x.r) {
		rc = ts_err_set(err, TS_E_INVALID, "%s: %s", c->in->name,
		                x.xml_error[0] ? x.xml_error : "cannot be read as XML");
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(x.r, xml_error_cb, &x);
	bool root_seen = false;
	int st;
	while ((st = xmlTextReaderRead(x.r)) == 1) {
		if (xmlTextReaderNodeType(x.r) == XML_READER_TYPE_ELEMENT)
			root_seen = true;
		if (xml_step(&x))
			break;
	}
	long consumed = xmlTextReaderByteConsumed(x.r);
	if (x.rc) {
		rc = x.rc;
	} else if (st < 0 && x.open > 0 &&
	           ((consumed >= 0 && (uint64_t)consumed + 1 >= x.size) ||
	            strncmp(x.xml_error, "Extra content", 13) == 0 ||
	            strncmp(x.xml_error, "Premature end", 13) == 0)) {
		/* elements still open at the end of the input (libxml2 may call it
		 * "extra content at the end of the document") */
		rc = ts_err_set(err, TS_E_INVALID,
		                "%s: line %d: the file ends inside the document (truncated?)",
		                c->in->name, x.xml_error[0] ? x.xml_error_line : xml_line(&x));
	} else if (st < 0 || x.xml_error[0]) {
		rc = ts_err_set(err, TS_E_INVALID, "%s: line %d: invalid XML: %s", c->in->name,
		                x.xml_error[0] ? x.xml_error_line : xml_line(&x),
		                x.xml_error[0] ? x.xml_error : "the reader stopped");
	} else if (!root_seen) {
		rc = ts_err_set(err, TS_E_INVALID, "%s: no XML element in the file", c->in->name);
	}
out:
	xmlSetStructuredErrorFunc(saved_ctx, saved_fn);
	xmlFreeTextReader(x.r);
	if (fd >= 0)
		close(fd);
	alert_clear(&x);
	free(x.inst);
	free(x.version);
	free(x.site_name);
	ts_buf_free(&x.text);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

/* The start of the input: enough for the first byte and the XML prolog. */
#define ZAP_HEAD (64 * 1024)

static int read_head(const struct findings_input *in, unsigned char *head, size_t *ret_n,
                     struct ts_err *err)
{
	if (!in->path) {
		*ret_n = in->len < ZAP_HEAD ? in->len : ZAP_HEAD;
		memcpy(head, in->data, *ret_n);
		return 0;
	}
	int fd = open(in->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ts_err_set(err, TS_E_IO, "%s: %s", in->name, strerror(errno));
	size_t n = 0;
	while (n < ZAP_HEAD) {
		ssize_t r = read(fd, head + n, ZAP_HEAD - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return ts_err_set(err, TS_E_IO, "%s: %s", in->name, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*ret_n = n;
	return 0;
}

/* Finds a DOCTYPE in the prolog (after the XML declaration, comments and
 * processing instructions, before the root element) of the first bytes, so
 * that it is refused before libxml2 reads its internal subset. *ret_line: its
 * line. The reader refuses a DOCTYPE node too, whatever the encoding. */
static bool prolog_has_doctype(const unsigned char *p, size_t n, int *ret_line)
{
	int line = 1;
	size_t i = n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	for (;;) {
		while (i < n && isspace(p[i])) {
			line += p[i] == '\n';
			i++;
		}
		const char *close = NULL;
		if (i + 2 <= n && memcmp(p + i, "<?", 2) == 0)
			close = "?>";
		else if (i + 4 <= n && memcmp(p + i, "<!--", 4) == 0)
			close = "-->";
		else if (i + 9 <= n && strncasecmp((const char *)p + i, "<!DOCTYPE", 9) == 0) {
			*ret_line = line;
			return true;
		} else
			return false;
		size_t cl = strlen(close);
		i += 2;
		while (i + cl <= n && memcmp(p + i, close, cl) != 0) {
			line += p[i] == '\n';
			i++;
		}
		if (i + cl > n)
			return false;
		i += cl;
	}
}

int zap_parse(const struct findings_input *in, finding_cb cb, void *ud, struct findings_report *rep,
              struct ts_err *err)
{
	rep->format = FINDINGS_FORMAT_ZAP;
	struct zap_ctx c = {.in = in, .cb = cb, .ud = ud, .rep = rep};
	unsigned char *head = ts_malloc(ZAP_HEAD);
	size_t n = 0;
	int rc = read_head(in, head, &n, err);
	if (rc)
		goto out;
	size_t i = n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	while (i < n && isspace(head[i]))
		i++;
	if (i >= n || head[i] != '<') {
		rc = zap_json_parse(&c, err);
		goto out;
	}
	snprintf(rep->detail, sizeof(rep->detail), "zap xml");
	int line;
	if (prolog_has_doctype(head, n, &line))
		rc = ts_err_set(err, TS_E_INVALID,
		                "%s: line %d: a DOCTYPE is not accepted in a report", in->name,
		                line);
	else
		rc = zap_xml_parse(&c, err);
out:
	free(head);
	return rc;
}
