/* SPDX-License-Identifier: Apache-2.0 */
/* The library's technology stacks (stacks.json) and the how-tos a task shows:
 * the shipped vocabulary, its lint, the choice of blocks for a component's
 * stack, the three values of generation.other_stacks on WidgetsRUs, the ticket
 * of its .NET portal (a golden) and the ticket updates a change brings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/render.h"
#include "connectors/ticket_doc.h"
#include "engine/library/blueprint.h"
#include "engine/tracking/ticket_source.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define NOW "2026-01-10T09:00:00.000Z"
/* A task of the portal (tags dotnet, aspnetcore) whose library entry has
 * how-tos for ASP.NET Core, Spring, Django and Go. */
#define PORTAL_TASK "C-DEBUG-ENDPOINTS-OFF@web_portal"

static struct library *shipped_library(void)
{
	char *dir = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	struct library *lib = NULL;
	struct ts_err err = {0};
	if (library_load(dirs, 1, &lib, &err) < 0)
		fail_msg("%s", err.msg);
	free(dir);
	return lib;
}

/* The shipped list: its size, synonyms resolved, broader stacks, and every
 * how-to of the library labelled with an id of it. */
static void test_shipped_stacks(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	assert_int_equal(library_n_stacks(lib), 153);
	const struct lib_stack *s = library_stack(lib, "terraform-aws");
	assert_non_null(s);
	assert_string_equal(s->id, "aws");
	s = library_stack(lib, "aspnetcore");
	assert_string_equal(s->kind_name, "framework");
	assert_string_equal(s->belongs_to->id, "dotnet");
	assert_string_equal(library_stack(lib, "express")->belongs_to->id, "node");
	assert_string_equal(library_stack(lib, "spring")->belongs_to->id, "java");
	assert_string_equal(library_stack(lib, "postgresql")->id, "postgres");
	assert_string_equal(library_stack(lib, "generic")->kind_name, "generic");
	assert_null(library_stack(lib, "pci-dss"));
	assert_null(library_stack(lib, "Dotnet"));
	/* Where model init puts a profile's stack: the types a stack lists, else
	 * its broader stack's; with none along the chain, any non-actor. */
	assert_true(library_stack_fits(lib, library_stack(lib, "aspnetcore"), "rest_api"));
	assert_false(library_stack_fits(lib, library_stack(lib, "dotnet"), "spa"));
	assert_true(library_stack_fits(lib, library_stack(lib, "react"), "spa"));
	assert_false(library_stack_fits(lib, library_stack(lib, "react"), "rest_api"));
	assert_true(library_stack_fits(lib, library_stack(lib, "postgresql"), "sql_database"));
	assert_false(library_stack_fits(lib, library_stack(lib, "postgres"), "web_app"));
	assert_true(library_stack_fits(lib, library_stack(lib, "aws"), "object_storage"));
	assert_false(library_stack_fits(lib, library_stack(lib, "aws"), "user"));
	assert_false(library_stack_fits(lib, library_stack(lib, "generic"), "web_app"));
	assert_false(library_stack_fits(lib, library_stack(lib, "go"), "no_such_type"));
	size_t blocks = 0;
	for (size_t i = 0; i < library_n_countermeasures(lib); i++) {
		const struct lib_countermeasure *c = library_countermeasure_at(lib, i);
		for (size_t k = 0; k < c->n_how_to; k++, blocks++) {
			s = library_stack(lib, c->how_to[k].stack);
			assert_non_null(s);
			assert_string_equal(s->id, c->how_to[k].stack);
		}
	}
	assert_true(blocks > 600);
	/* Every stack the example profiles name is listed. */
	char *pdir = ts_asprintf("%s/examples/profiles", tu_env("TS_SOURCE_DIR"));
	DIR *dh = opendir(pdir);
	assert_non_null(dh);
	size_t profiles = 0;
	for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		char *path = ts_asprintf("%s/%s", pdir, de->d_name);
		json_t *p = NULL;
		struct ts_err err = {0};
		if (blueprint_profile_load(path, &p, &err) < 0 ||
		    blueprint_profile_stacks(lib, p, path, &err) < 0)
			fail_msg("%s", err.msg);
		json_decref(p);
		free(path);
		profiles++;
	}
	closedir(dh);
	free(pdir);
	assert_true(profiles >= 11);
	library_free(lib);
}

/* tests/data/library/stacks: each kind of fault of stacks.json and of a
 * how-to's label, found by the lint with its file and path. */
static void test_stack_lint(void **state)
{
	(void)state;
	char *dir = ts_asprintf("%s/tests/data/library/stacks", tu_env("TS_SOURCE_DIR"));
	const char *dirs[] = {dir};
	json_t *report = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, NULL, &report, &err), 0);
	assert_true(json_is_false(json_object_get(report, "ok")));
	struct ts_buf b = {0};
	static const char *const kinds[] = {"errors", "warnings"};
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *e;
		json_array_foreach (json_object_get(report, kinds[k]), i, e) {
			const char *file = json_string_value(json_object_get(e, "file"));
			const char *slash = strrchr(file, '/');
			ts_buf_printf(&b, "%c %s %s %s\n", kinds[k][0], slash ? slash + 1 : file,
			              json_string_value(json_object_get(e, "path")),
			              json_string_value(json_object_get(e, "message")));
		}
	}
	char *want = ts_asprintf(
	    "e stacks.json $.stacks[6].id must be a lower-case name ([a-z0-9][a-z0-9_.+-]*, at "
	    "most 64 characters)\n"
	    "e stacks.json $.stacks[6].component_types[1] unknown component type \"mainframe\"\n"
	    "e stacks.json $.stacks[4].kind only the stack \"generic\" is of kind generic\n"
	    "e stacks.json $.stacks[0].synonyms \"gopher\" already names the stack \"gopher\" "
	    "(%s/stacks.json at $.stacks[1])\n"
	    "e stacks.json $.stacks[5].belongs_to unknown stack \"nowhere\"\n"
	    "e stacks.json $.stacks[2].belongs_to the chain of broader stacks comes back to "
	    "\"ring-a\"\n"
	    "e stacks.json $.stacks[3].belongs_to the chain of broader stacks comes back to "
	    "\"ring-b\"\n"
	    "e cms.json $.countermeasures[0].how_to[0].stack unknown stack \"cobol\" (not in the "
	    "library's stacks.json)\n"
	    "e threats.json $.threats[0].countermeasures[0] unknown countermeasure \"C-ESCAPE\"\n"
	    "w cms.json $.countermeasures[0].how_to[1].stack \"go-lang\" is a synonym: label the "
	    "block with the stack id \"go\"\n"
	    "w cms.json $.countermeasures[0].how_to[2].stack a second how-to for the stack "
	    "\"go\": one block per stack\n",
	    dir);
	assert_string_equal(b.data, want);
	free(want);
	ts_buf_free(&b);
	json_decref(report);
	free(dir);
}

/* The blocks of cm a component shows, as "stack stack ...". */
static char *shown(const struct library *lib, const char *cm_id, const char *component_json)
{
	const struct lib_countermeasure *cm = library_countermeasure(lib, cm_id);
	assert_non_null(cm);
	json_t *comp = component_json ? json_loads(component_json, 0, NULL) : NULL;
	assert_true(!component_json || comp);
	bool own[LIBRARY_HOW_TO_MAX];
	size_t n = library_how_to_select(lib, cm, comp, own);
	struct ts_buf b = {0};
	size_t counted = 0;
	for (size_t i = 0; i < cm->n_how_to; i++)
		if (own[i]) {
			ts_buf_printf(&b, "%s%s", counted ? " " : "", cm->how_to[i].stack);
			counted++;
		}
	assert_int_equal(counted, n);
	json_decref(comp);
	return b.data ? ts_buf_steal(&b) : ts_strdup("");
}

#define ASSERT_SHOWN(lib, cm, comp, want)                                                          \
	do {                                                                                       \
		char *got_ = shown(lib, cm, comp);                                                 \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

/* The rules of library_how_to_select on real entries: C-DEBUG-ENDPOINTS-OFF
 * has spring, django, go and aspnetcore; C-OBJECT-LEVEL-AUTHZ adds generic;
 * C-RESTORE-DRILLS (aws, postgres, kubernetes) has none. */
static void test_select(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	const char *dbg = "C-DEBUG-ENDPOINTS-OFF";
	/* The framework itself, and through a tag. */
	ASSERT_SHOWN(lib, dbg, "{\"tags\": [\"dotnet\", \"aspnetcore\"]}", "aspnetcore");
	ASSERT_SHOWN(lib, dbg, "{\"properties\": {\"stack\": \"golang\"}}", "go");
	ASSERT_SHOWN(lib, dbg, "{\"tags\": [\"Spring-Boot\"]}", "spring");
	/* A language without a named framework gets its frameworks' advice;
	 * naming another framework of it does not. */
	ASSERT_SHOWN(lib, dbg, "{\"properties\": {\"stack\": [\"java\"]}}", "spring");
	ASSERT_SHOWN(lib, dbg, "{\"properties\": {\"stack\": [\"python\"]}}", "django");
	ASSERT_SHOWN(lib, dbg, "{\"properties\": {\"stack\": [\"python\", \"flask\"]}}",
	             "spring django go aspnetcore");
	/* Several stacks; tags that are no stack are ignored. */
	ASSERT_SHOWN(lib, dbg,
	             "{\"tags\": [\"microservice\", \"go\"], \"properties\": "
	             "{\"stack\": [\"spring-boot\"]}}",
	             "spring go");
	/* Nothing matches and no generic block: every block. */
	ASSERT_SHOWN(lib, dbg, "{\"tags\": [\"azure\"]}", "spring django go aspnetcore");
	ASSERT_SHOWN(lib, dbg, NULL, "spring django go aspnetcore");
	/* Generic blocks are always shown, and alone when nothing else matches. */
	ASSERT_SHOWN(lib, "C-OBJECT-LEVEL-AUTHZ", "{\"tags\": [\"aspnetcore\"]}",
	             "aspnetcore generic");
	ASSERT_SHOWN(lib, "C-OBJECT-LEVEL-AUTHZ", "{\"tags\": [\"go\"]}", "generic");
	/* A platform's children: an aurora component is on aws. */
	ASSERT_SHOWN(lib, "C-RESTORE-DRILLS", "{\"properties\": {\"stack\": \"aurora\"}}",
	             "aws");
	ASSERT_SHOWN(lib, "C-RESTORE-DRILLS",
	             "{\"properties\": {\"stack\": \"timescaledb\"}}", "postgres");
	library_free(lib);
}

/* A profile naming a stack the library does not list is refused, with the
 * file and the path; synonyms are accepted. */
static void test_profile_stacks(void **state)
{
	(void)state;
	struct library *lib = shipped_library();
	json_t *p = json_pack("{s:[s,s,s]}", "stack", "postgresql", "elixir", "dotnet");
	struct ts_err err = {0};
	assert_int_equal(blueprint_profile_stacks(lib, p, "shop.json", &err), -EINVAL);
	assert_int_equal(err.code, TS_E_INVALID);
	assert_string_equal(err.msg, "shop.json: $.stack[1]: unknown stack \"elixir\" (the "
	                             "library's stacks.json lists the known ones and their "
	                             "synonyms)");
	json_decref(p);
	p = json_pack("{s:[s,s]}", "stack", "postgresql", "asp.net");
	assert_int_equal(blueprint_profile_stacks(lib, p, "shop.json", &err), 0);
	json_decref(p);
	library_free(lib);
}

/* model init refuses a profile naming an unlisted stack: exit 65, the file
 * and the path in the message, no model written. */
static void test_model_init_unknown_stack(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *db = ts_asprintf("%s/db.sqlite", dir);
	char *lib = ts_asprintf("%s/library", tu_env("TS_SOURCE_DIR"));
	char *prof = tu_write_file(dir, "elixir.json",
	                           "{\"name\": \"Shop\", \"kind\": \"web_app\", "
	                           "\"stack\": [\"postgresql\", \"elixir\"]}");
	char *out = ts_asprintf("%s/shop.model.json", dir);
	char *o = NULL, *e = NULL;
	assert_int_equal(tu_cli(&o, &e, "--db", db, "model", "init", "shop", "--profile", prof,
	                        "--out", out, "--library", lib, NULL),
	                 65);
	char *want = ts_asprintf("%s: $.stack[1]: unknown stack \"elixir\"", prof);
	if (!strstr(e, want))
		fail_msg("stderr: %s", e);
	assert_int_equal(access(out, F_OK), -1);
	free(want);
	free(o);
	free(e);
	free(out);
	free(prof);
	free(lib);
	free(db);
	tu_rmrf(dir);
	free(dir);
}

/* A blueprint testing an unlisted stack is an error of the lint. */
static void test_blueprint_unknown_stack(void **state)
{
	(void)state;
	const char *src = tu_env("TS_SOURCE_DIR");
	char *dir = tu_tmpdir();
	char *bpdir = ts_asprintf("%s/blueprints", dir);
	assert_int_equal(mkdir(bpdir, 0700), 0);
	static const char *const files[] = {"component_types.json", "stacks.json"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(files); i++) {
		char *from = ts_asprintf("%s/library/%s", src, files[i]);
		char *text = tu_read_file(from);
		assert_non_null(text);
		free(tu_write_file(dir, files[i], text));
		free(text);
		free(from);
	}
	char *from = ts_asprintf("%s/library/blueprints/web_app.json", src);
	char *text = tu_read_file(from);
	assert_non_null(text);
	/* The document-database choice tests "firestore" twice; make the second a
	 * name no stack has. */
	char *at = strstr(text, "\"firestore\"");
	assert_non_null(at);
	at = strstr(at + 1, "\"firestore\"");
	assert_non_null(at);
	memcpy(at, "\"firestone\"", 11);
	free(tu_write_file(bpdir, "web_app.json", text));
	const char *dirs[] = {dir};
	json_t *report = NULL;
	struct ts_err err = {0};
	assert_int_equal(library_lint(dirs, 1, NULL, &report, &err), 0);
	json_t *errors = json_object_get(report, "errors");
	assert_int_equal(json_array_size(errors), 1);
	json_t *e0 = json_array_get(errors, 0);
	assert_string_equal(json_string_value(json_object_get(e0, "message")),
	                    "unknown stack \"firestone\" (not in the library's stacks.json)");
	const char *path = json_string_value(json_object_get(e0, "path"));
	assert_non_null(strstr(path, ".when.stack_contains[3]"));
	json_decref(report);
	free(text);
	free(from);
	free(bpdir);
	tu_rmrf(dir);
	free(dir);
}

/* The generation group: defaults, values, and refusals naming the line. */
static void test_generation_config(void **state)
{
	(void)state;
	struct config *cfg = config_new_default();
	assert_int_equal(cfg->generation.other_stacks, CONFIG_OTHER_STACKS_LINKS);
	assert_null(cfg->generation.library_url);
	config_free(cfg);
	char *dir = tu_tmpdir();
	char *ok = tu_write_file(dir, "ok.conf",
	                         "database = \":memory:\";\n"
	                         "generation = { other_stacks = \"none\"; library_url = "
	                         "\"https://wiki.example.test/lib\"; };\n");
	struct ts_err err = {0};
	cfg = NULL;
	if (config_load(ok, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg->generation.other_stacks, CONFIG_OTHER_STACKS_NONE);
	assert_string_equal(cfg->generation.library_url, "https://wiki.example.test/lib");
	config_free(cfg);
	char *bad = tu_write_file(dir, "bad.conf",
	                          "database = \":memory:\";\n"
	                          "generation = {\n"
	                          "\tother_stacks = \"some\";\n"
	                          "\tlibrary_url = \"ftp://x\";\n"
	                          "};\n");
	cfg = NULL;
	assert_true(config_load(bad, &cfg, &err) < 0);
	assert_null(cfg);
	assert_int_equal(err.code, TS_E_CONFIG);
	char *want = ts_asprintf("%s:3: generation: other_stacks 'some' is not one of: links, "
	                         "none, all\n"
	                         "%s:4: generation: library_url: must start with http:// or "
	                         "https://",
	                         bad, bad);
	assert_string_equal(err.msg, want);
	free(want);
	free(bad);
	free(ok);
	tu_rmrf(dir);
	free(dir);
}

/* ---- generation on WidgetsRUs ---- */

/* A configuration: the checkout's library, a Jira connector for the project
 * (so that tasks become outbox operations) and, unless NULL, the generation
 * group's body. Returns the path (new). */
static char *write_conf(const char *dir, const char *generation)
{
	char *token = tu_write_file(dir, "token", "not-a-real-token\n");
	char *text = ts_asprintf(
	    "database = \"%s/unused.db\";\n"
	    "library_paths = [ \"%s/library\" ];\n"
	    "connectors = ( { name = \"jira\"; type = \"jira\"; base_url = "
	    "\"https://jira.example.test\"; email = \"bot@example.test\"; token_file = \"%s\"; } "
	    ");\n"
	    "projects = ( { slug = \"widgetsrus\"; connector = \"jira\"; tracker_project = "
	    "\"WR\"; } );\n"
	    "%s%s%s",
	    dir, tu_env("TS_SOURCE_DIR"), token, generation ? "generation = { " : "",
	    generation ? generation : "", generation ? " };\n" : "");
	char *path = tu_write_file(dir, "threatsync.conf", text);
	free(text);
	free(token);
	return path;
}

static void open_widgetsrus(struct gu *g, const char *dir, const char *generation)
{
	char *conf = write_conf(dir, generation);
	gu_open(g, conf);
	free(conf);
	char *model = ts_asprintf("%s/examples/widgetsrus/model.json", tu_env("TS_SOURCE_DIR"));
	gu_import(g, "widgetsrus", model);
	free(model);
}

/* The stored body of the task uid (new reference). */
static json_t *task_body(struct gu *g, const char *uid)
{
	char *sql = ts_asprintf("SELECT id FROM countermeasures WHERE uid = '%s'", uid);
	long long id = gu_int(g, sql);
	free(sql);
	struct ticket_source *t = NULL;
	struct ts_err err = {0};
	if (ticket_source_load(g->s, id, &t, &err) < 0)
		fail_msg("%s: %s", uid, err.msg);
	json_t *body = json_deep_copy(t->body);
	ticket_source_free(t);
	return body;
}

/* "stack stack ..." of a list of {stack, ...}. */
static char *stacks_of(const json_t *list)
{
	struct ts_buf b = {0};
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e)
		ts_buf_printf(&b, "%s%s", i ? " " : "",
		              json_string_value(json_object_get(e, "stack")));
	return b.data ? ts_buf_steal(&b) : ts_strdup("");
}

/* The GitLab Markdown of the task's ticket. */
static char *ticket_markdown(const json_t *body)
{
	struct ticket_spec t = {.marker = "threatsync-0123456789abcdef",
	                        .summary = "Debug endpoints off",
	                        .body = body,
	                        .project_slug = "widgetsrus",
	                        .cm_uid = PORTAL_TASK,
	                        .model_version = 1,
	                        .priority = 2};
	struct ticket_doc d = {0};
	ticket_doc_build(&d, &t);
	char *md = render_markdown(&d);
	ticket_doc_clear(&d);
	return md;
}

/* The "How to" section of a ticket's Markdown: from its heading to the next
 * section's (new string). */
static char *how_to_section(const char *md)
{
	const char *start = strstr(md, "## How to\n");
	assert_non_null(start);
	const char *end = strstr(start + 1, "\n## ");
	return ts_strndup(start, end ? (size_t)(end - start) + 1 : strlen(start));
}

/* With the default (links) the portal's ticket shows the ASP.NET Core how-to
 * only and names the others; the How-to section is the golden
 * tests/data/generate/widgetsrus-portal-how-to.md (only that section, so
 * that the threats' severities do not make it change). */
static void test_portal_ticket_golden(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct gu g;
	open_widgetsrus(&g, dir, "library_url = \"https://docs.example.test/library\";");
	json_decref(gu_generate(&g, "widgetsrus", NOW));
	json_t *body = task_body(&g, PORTAL_TASK);
	char *own = stacks_of(json_object_get(body, "how_to"));
	char *others = stacks_of(json_object_get(body, "other_stacks"));
	assert_string_equal(own, "aspnetcore");
	assert_string_equal(others, "spring django go");
	assert_string_equal(json_string_value(json_object_get(body, "library_url")),
	                    "https://docs.example.test/library");
	char *md = ticket_markdown(body);
	char *section = how_to_section(md);
	char *golden = gu_data("widgetsrus-portal-how-to.md");
	if (getenv("TS_UPDATE_GOLDEN")) {
		/* After a deliberate change of the library's text:
		 * TS_UPDATE_GOLDEN=1 ctest -R unit/how_to/test_portal_ticket_golden */
		FILE *f = fopen(golden, "w");
		assert_non_null(f);
		fputs(section, f);
		fclose(f);
	}
	char *want = tu_read_file(golden);
	assert_non_null(want);
	assert_string_equal(section, want);
	assert_non_null(strstr(section, "### ASP.NET Core\n"));
	assert_null(strstr(section, "### Go\n"));
	assert_null(strstr(section, "exec.Command"));
	assert_non_null(strstr(section, "Also for: Spring, Django, Go ([threat library]("
	                                "https://docs.example.test/library))."));
	free(want);
	free(golden);
	free(section);
	free(md);
	free(own);
	free(others);
	json_decref(body);
	gu_close(&g);
	tu_rmrf(dir);
	free(dir);
}

/* model init puts the profile's stacks on the components they fit: the shop
 * profile (dotnet, postgres, redis) gives its web application "dotnet", its
 * database "postgres" and its session store "redis", the users none; after
 * generate, the web application's dependency-scanning task shows the .NET
 * how-to (and the one for any stack), and names Go among the others. */
static void test_model_init_stack(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = write_conf(dir, NULL);
	char *db = ts_asprintf("%s/db.sqlite", dir);
	char *prof = ts_asprintf("%s/examples/profiles/shop.json", tu_env("TS_SOURCE_DIR"));
	char *out = ts_asprintf("%s/shop.model.json", dir);
	char *o = NULL, *e = NULL;
	int rc = tu_cli(&o, &e, "-c", conf, "--db", db, "model", "init", "shop", "--profile", prof,
	                "--out", out, NULL);
	if (rc != 0)
		fail_msg("model init: %d %s", rc, e);
	free(o);
	free(e);
	char *text = tu_read_file(out);
	json_t *model = json_loads(text, 0, NULL);
	assert_non_null(model);
	struct ts_buf got = {0};
	size_t i;
	json_t *c;
	json_array_foreach (json_object_get(model, "components"), i, c) {
		json_t *stack = json_object_get(json_object_get(c, "properties"), "stack");
		ts_buf_printf(&got, "%s=", json_string_value(json_object_get(c, "id")));
		size_t k;
		json_t *n;
		json_array_foreach (stack, k, n)
			ts_buf_printf(&got, "%s%s", k ? "," : "", json_string_value(n));
		ts_buf_puts(&got, " ");
	}
	assert_string_equal(got.data, "user= admin= cdn= waf= lb= web=dotnet sessions=redis "
	                              "db=postgres payments=dotnet psp= mailer= secrets= logs= ");
	free(got.data);
	json_decref(model);
	free(text);
	rc = tu_cli(&o, &e, "-c", conf, "--db", db, "generate", "shop", NULL);
	if (rc != 0)
		fail_msg("generate: %d %s", rc, e);
	free(o);
	free(e);
	assert_int_equal(
	    tu_cli(&o, &e, "-c", conf, "--db", db, "countermeasures", "shop", "--json", NULL), 0);
	json_t *doc = json_loads(o, 0, NULL);
	assert_non_null(doc);
	json_t *task = NULL;
	json_array_foreach (json_object_get(doc, "countermeasures"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "id")),
		           "C-DEPENDENCY-SCANNING@web") == 0)
			task = c;
	assert_non_null(task);
	json_t *details = json_object_get(task, "details");
	char *own = stacks_of(json_object_get(details, "how_to"));
	char *others = stacks_of(json_object_get(details, "other_stacks"));
	assert_string_equal(own, "dotnet generic");
	assert_string_equal(others, "node python java go github gitlab docker");
	free(own);
	free(others);
	json_decref(doc);
	free(o);
	free(e);
	free(out);
	free(prof);
	free(db);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

/* other_stacks = none: the same blocks, the others not named; all: every
 * block in library order, nothing named. */
static void check_option(const char *generation, const char *want_own, const char *want_others)
{
	char *dir = tu_tmpdir();
	struct gu g;
	open_widgetsrus(&g, dir, generation);
	json_decref(gu_generate(&g, "widgetsrus", NOW));
	json_t *body = task_body(&g, PORTAL_TASK);
	char *own = stacks_of(json_object_get(body, "how_to"));
	char *others = stacks_of(json_object_get(body, "other_stacks"));
	assert_string_equal(own, want_own);
	assert_string_equal(others, want_others);
	assert_null(json_object_get(body, "library_url"));
	char *md = ticket_markdown(body);
	assert_true((strstr(md, "Also for: ") != NULL) == (*want_others != '\0'));
	/* countermeasures --json shows the same choice. */
	json_t *listed = gu_cm(&g, "widgetsrus", PORTAL_TASK);
	assert_non_null(listed);
	char *listed_own = stacks_of(json_object_get(json_object_get(listed, "details"), "how_to"));
	assert_string_equal(listed_own, want_own);
	free(listed_own);
	json_decref(listed);
	free(md);
	free(own);
	free(others);
	json_decref(body);
	gu_close(&g);
	tu_rmrf(dir);
	free(dir);
}

static void test_option_links(void **state)
{
	(void)state;
	check_option("other_stacks = \"links\";", "aspnetcore", "spring django go");
}

static void test_option_none(void **state)
{
	(void)state;
	check_option("other_stacks = \"none\";", "aspnetcore", "");
}

static void test_option_all(void **state)
{
	(void)state;
	check_option("other_stacks = \"all\";", "spring django go aspnetcore", "");
}

/* Changing what tasks show updates each changed task's ticket once: the
 * first pass after the change queues one update per changed task, the next
 * pass none. */
static void test_change_updates_once(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct gu g;
	open_widgetsrus(&g, dir, "other_stacks = \"all\";");
	json_decref(gu_generate(&g, "widgetsrus", NOW));
	long long creates = gu_int(&g, "SELECT count(*) FROM outbox WHERE op = 'create'");
	assert_true(creates > 0);
	json_t *sum = gu_generate(&g, "widgetsrus", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 0);
	json_decref(sum);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE op = 'update'"), 0);

	/* The tasks whose text differs between "all" and "links": those with a
	 * block of another stack than their component's. */
	char *conf = write_conf(dir, "other_stacks = \"links\";");
	gu_reload(&g, conf);
	free(conf);
	sum = gu_generate(&g, "widgetsrus", NOW);
	int updated = gu_changes(sum, "countermeasures", "updated");
	json_decref(sum);
	long long with_others = gu_int(&g, "SELECT count(*) FROM countermeasures c JOIN "
	                                   "countermeasure_texts x ON x.hash = c.text_hash "
	                                   "WHERE json_type(x.body, '$.other_stacks') = 'array'");
	assert_true(with_others > 0);
	assert_int_equal(updated, (int)with_others);
	long long updates = gu_int(&g, "SELECT count(*) FROM outbox WHERE op = 'update'");
	assert_true(updates > 0);
	assert_true(updates <= with_others);
	sum = gu_generate(&g, "widgetsrus", NOW);
	assert_int_equal(gu_changes(sum, "countermeasures", "updated"), 0);
	json_decref(sum);
	assert_int_equal(gu_int(&g, "SELECT count(*) FROM outbox WHERE op = 'update'"), updates);
	gu_close(&g);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_stacks),
	    cmocka_unit_test(test_stack_lint),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_profile_stacks),
	    cmocka_unit_test(test_model_init_unknown_stack),
	    cmocka_unit_test(test_blueprint_unknown_stack),
	    cmocka_unit_test(test_generation_config),
	    cmocka_unit_test(test_portal_ticket_golden),
	    cmocka_unit_test(test_model_init_stack),
	    cmocka_unit_test(test_option_links),
	    cmocka_unit_test(test_option_none),
	    cmocka_unit_test(test_option_all),
	    cmocka_unit_test(test_change_updates_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
