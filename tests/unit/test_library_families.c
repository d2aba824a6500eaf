/* SPDX-License-Identifier: Apache-2.0 */
/* The threat families of the shipped library's second edition (memory safety
 * of native code, WebSockets, agents and tool servers, identity between
 * services, cloud IAM, infrastructure-as-code state, cryptography misuse,
 * cross-site leaks, missing WAF): one small model per family in
 * tests/data/models/library-families/ is generated against library/, and the
 * threats of those families it yields must be exactly the expected
 * THREAT@component list: the conditions fire where they should and nowhere
 * else (a Rust or Go service gets no memory-safety threat, a web application
 * behind a WAF no missing-WAF threat). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/listing.h"
#include "helpers/gen_util.h"
#include "helpers/testutil.h"

#define NOW "2026-01-10T09:00:00.000Z"

/* Id prefixes of the families' threats; a generated threat whose library id
 * starts with one of them belongs to the families under test. */
static const char *const family_prefixes[] = {
    "T-NATIVE-",   "T-WS-",  "T-AGENT-", "T-MCP-",    "T-VECTOR-", "T-SVC-",
    "T-REGISTRY-", "T-IAM-", "T-IAC-",   "T-CRYPTO-", "T-WEB-XS-", "T-EDGE-NO-WAF",
};

static bool in_families(const char *id)
{
	for (size_t i = 0; i < TS_ARRAY_SIZE(family_prefixes); i++)
		if (strncmp(id, family_prefixes[i], strlen(family_prefixes[i])) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A configuration in dir whose only library is the shipped one; returns its
 * path. */
static char *shipped_conf(const char *dir)
{
	char *text =
	    ts_asprintf("database = \"%s/unused.db\";\nlibrary_paths = [ \"%s/library\" ];\n", dir,
	                tu_env("TS_SOURCE_DIR"));
	char *path = tu_write_file(dir, "families.conf", text);
	free(text);
	return path;
}

/* Generates tests/data/models/library-families/FILE and checks that the
 * family threats among its threats (in and out of scope) are exactly
 * expected[0..n), given sorted. */
static void check_model(const char *file, const char *const *expected, size_t n)
{
	char *dir = tu_tmpdir();
	char *conf = shipped_conf(dir);
	struct gu g;
	gu_open(&g, conf);
	char *model =
	    ts_asprintf("%s/tests/data/models/library-families/%s", tu_env("TS_SOURCE_DIR"), file);
	gu_import(&g, "families", model);
	json_decref(gu_generate(&g, "families", NOW));

	struct ts_err err = {0};
	json_t *doc = NULL;
	assert_int_equal(gen_list_threats(g.s, "families", true, NOW, &doc, &err), 0);
	json_t *threats = json_object_get(doc, "threats");
	size_t cap = json_array_size(threats), got_n = 0, i;
	const char **got = calloc(cap ? cap : 1, sizeof(*got));
	assert_non_null(got);
	json_t *t;
	json_array_foreach (threats, i, t) {
		const char *lib_id = json_string_value(json_object_get(t, "library_id"));
		assert_non_null(lib_id);
		if (in_families(lib_id))
			got[got_n++] = json_string_value(json_object_get(t, "id"));
	}
	qsort(got, got_n, sizeof(*got), cmp_str);
	for (i = 0; i < got_n || i < n; i++) {
		const char *g_id = i < got_n ? got[i] : "(none)";
		const char *e_id = i < n ? expected[i] : "(none)";
		if (strcmp(g_id, e_id) != 0)
			fail_msg("%s: family threat %zu is %s, expected %s (%zu generated, %zu "
			         "expected)",
			         file, i, g_id, e_id, got_n, n);
	}
	assert_int_equal(got_n, n);

	free(got);
	json_decref(doc);
	free(model);
	gu_close(&g);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

/* C firmware (language unset on a device) and a C daemon get every
 * memory-safety threat; the Rust native service and the Go gRPC service get
 * none. */
static const char *const want_native[] = {
    "T-NATIVE-BUFFER-OVERFLOW@sensor",
    "T-NATIVE-BUFFER-OVERFLOW@telemetryd",
    "T-NATIVE-FORMAT-STRING@sensor",
    "T-NATIVE-FORMAT-STRING@telemetryd",
    "T-NATIVE-INTEGER-OVERFLOW@sensor",
    "T-NATIVE-INTEGER-OVERFLOW@telemetryd",
    "T-NATIVE-NULL-DEREFERENCE@sensor",
    "T-NATIVE-NULL-DEREFERENCE@telemetryd",
    "T-NATIVE-OOB-READ@sensor",
    "T-NATIVE-OOB-READ@telemetryd",
    "T-NATIVE-OOB-WRITE@sensor",
    "T-NATIVE-OOB-WRITE@telemetryd",
    "T-NATIVE-UNINITIALIZED-MEMORY@sensor",
    "T-NATIVE-UNINITIALIZED-MEMORY@telemetryd",
    "T-NATIVE-USE-AFTER-FREE@sensor",
    "T-NATIVE-USE-AFTER-FREE@telemetryd",
};

/* A WebSocket service marked by a tag and a web application marked by the
 * websocket property; the plain REST API gets no WebSocket threat. All three
 * are reached by users without a WAF, and the board signs users in. */
static const char *const want_realtime[] = {
    "T-EDGE-NO-WAF@board",
    "T-EDGE-NO-WAF@exports",
    "T-EDGE-NO-WAF@realtime",
    "T-WEB-XS-LEAKS@board",
    "T-WS-CHANNEL-AUTHORIZATION@board",
    "T-WS-CHANNEL-AUTHORIZATION@realtime",
    "T-WS-CSWSH@board",
    "T-WS-CSWSH@realtime",
    "T-WS-MESSAGE-INJECTION@board",
    "T-WS-MESSAGE-INJECTION@realtime",
    "T-WS-RESOURCE-EXHAUSTION@board",
    "T-WS-RESOURCE-EXHAUSTION@realtime",
    "T-WS-STALE-SESSION@board",
    "T-WS-STALE-SESSION@realtime",
    "T-WS-UNAUTHENTICATED-UPGRADE@board",
    "T-WS-UNAUTHENTICATED-UPGRADE@realtime",
};

/* The knowledge base holds customer tickets (personal data): other users'
 * chunks and recoverable embeddings matter there; the index of the public
 * product manual gets only poisoning and exposure. */
static const char *const want_agents[] = {
    "T-AGENT-DATA-EXFILTRATION@assistant",
    "T-AGENT-INDIRECT-PROMPT-INJECTION@assistant",
    "T-AGENT-RUNAWAY-LOOPS@assistant",
    "T-AGENT-SIDE-EFFECTS-UNCONFIRMED@assistant",
    "T-AGENT-SIDE-EFFECTS-UNCONFIRMED@tickets_mcp",
    "T-AGENT-UNTRACEABLE-ACTIONS@assistant",
    "T-AGENT-UNTRACEABLE-ACTIONS@tickets_mcp",
    "T-MCP-CONFUSED-DEPUTY@tickets_mcp",
    "T-MCP-TOKEN-PASSTHROUGH@tickets_mcp",
    "T-MCP-TOOL-POISONING@assistant",
    "T-MCP-TOOL-POISONING@tickets_mcp",
    "T-MCP-UNAUTHENTICATED-ENDPOINT@tickets_mcp",
    "T-VECTOR-CROSS-TENANT-RETRIEVAL@kb_index",
    "T-VECTOR-EMBEDDING-INVERSION@kb_index",
    "T-VECTOR-POISONING@docs_index",
    "T-VECTOR-POISONING@kb_index",
    "T-VECTOR-STORE-EXPOSED@docs_index",
    "T-VECTOR-STORE-EXPOSED@kb_index",
};

/* The checkout service calls the orders service for shoppers: it loses or
 * forwards the user's context, the called service relies on weak workload
 * identity, the token service may mint tokens too freely, and the registry
 * can be poisoned. The token service generates and compares secrets; the
 * checkout service is reached by shoppers without a WAF and signs them in
 * through the token service. */
static const char *const want_identity_services[] = {
    "T-CRYPTO-TIMING-COMPARISON@sts",
    "T-CRYPTO-WEAK-RANDOM@sts",
    "T-EDGE-NO-WAF@checkout",
    "T-REGISTRY-API-EXPOSED@consul",
    "T-REGISTRY-POISONING@consul",
    "T-SVC-LOST-USER-CONTEXT@checkout",
    "T-SVC-TOKEN-EXCHANGE-OVERBROAD@sts",
    "T-SVC-TOKEN-FORWARDING@checkout",
    "T-SVC-WEAK-WORKLOAD-IDENTITY@orders",
    "T-WEB-XS-LEAKS@checkout",
};

/* Provider-specific threats follow the provider: a CloudFormation tag means
 * AWS, a gcp tag Google Cloud, the cloud_provider property Azure. */
static const char *const want_cloud_iam[] = {
    "T-IAM-AZURE-STANDING-OWNER@azure_tenant",
    "T-IAM-CROSS-ACCOUNT-TRUST@aws_org",
    "T-IAM-CROSS-ACCOUNT-TRUST@azure_tenant",
    "T-IAM-CROSS-ACCOUNT-TRUST@gcp_org",
    "T-IAM-GCP-DEFAULT-SERVICE-ACCOUNT@gcp_org",
    "T-IAM-GCP-SA-IMPERSONATION@gcp_org",
    "T-IAM-LOCAL-USERS-WITHOUT-SSO@aws_org",
    "T-IAM-LOCAL-USERS-WITHOUT-SSO@azure_tenant",
    "T-IAM-LOCAL-USERS-WITHOUT-SSO@gcp_org",
    "T-IAM-LONG-LIVED-KEYS@aws_org",
    "T-IAM-LONG-LIVED-KEYS@azure_tenant",
    "T-IAM-LONG-LIVED-KEYS@gcp_org",
    "T-IAM-NO-ORG-GUARDRAILS@aws_org",
    "T-IAM-NO-ORG-GUARDRAILS@azure_tenant",
    "T-IAM-NO-ORG-GUARDRAILS@gcp_org",
    "T-IAM-PASSROLE-ESCALATION@aws_org",
    "T-IAM-POLICY-SELF-ESCALATION@aws_org",
    "T-IAM-POLICY-SELF-ESCALATION@azure_tenant",
    "T-IAM-POLICY-SELF-ESCALATION@gcp_org",
    "T-IAM-PUBLIC-RESOURCE-POLICIES@aws_org",
    "T-IAM-PUBLIC-RESOURCE-POLICIES@azure_tenant",
    "T-IAM-PUBLIC-RESOURCE-POLICIES@gcp_org",
};

/* Only the Terraform pipeline and the bucket holding state get the IaC
 * threats; the application pipeline and artefact bucket do not. */
static const char *const want_iac[] = {
    "T-IAC-DRIFT@infra_pipeline",
    "T-IAC-MISCONFIG-UNSCANNED@infra_pipeline",
    "T-IAC-PLAN-ARTIFACTS@infra_pipeline",
    "T-IAC-STATE-BACKEND-ACCESS@state_bucket",
    "T-IAC-STATE-NO-LOCKING-VERSIONING@state_bucket",
    "T-IAC-STATE-PLAINTEXT-SECRETS@infra_pipeline",
    "T-IAC-STATE-PLAINTEXT-SECRETS@state_bucket",
    "T-IAC-UNTRUSTED-PLAN-EXECUTION@infra_pipeline",
};

/* The API that encrypts gets every cryptography threat, the sign-in service
 * those about secrets it generates and compares, the site none; the API and
 * the site lack a WAF, and the site (a web application) signs users in. */
static const char *const want_crypto[] = {
    "T-CRYPTO-BROKEN-ALGORITHMS@vault_api",
    "T-CRYPTO-ECB-MODE@vault_api",
    "T-CRYPTO-HARDCODED-KEY@vault_api",
    "T-CRYPTO-HOMEMADE@vault_api",
    "T-CRYPTO-NONCE-REUSE@vault_api",
    "T-CRYPTO-TIMING-COMPARISON@signin",
    "T-CRYPTO-TIMING-COMPARISON@vault_api",
    "T-CRYPTO-UNAUTHENTICATED-ENCRYPTION@vault_api",
    "T-CRYPTO-WEAK-KEY-DERIVATION@vault_api",
    "T-CRYPTO-WEAK-RANDOM@signin",
    "T-CRYPTO-WEAK-RANDOM@vault_api",
    "T-EDGE-NO-WAF@site",
    "T-EDGE-NO-WAF@vault_api",
    "T-WEB-XS-LEAKS@site",
};

/* The shop reached directly and the portal behind a CDN without WAF rules
 * lack a WAF; the API behind WAF and load balancer and the console used
 * from the office do not. Applications that sign users in are exposed to
 * cross-site leaks, the portal with search also to cross-site search. */
static const char *const want_web_edge[] = {
    "T-EDGE-NO-WAF@portal",  "T-EDGE-NO-WAF@shop",  "T-WEB-XS-LEAKS@console",
    "T-WEB-XS-LEAKS@portal", "T-WEB-XS-LEAKS@shop", "T-WEB-XS-SEARCH@portal",
};

/* Every model with the family threats it must yield. */
static const struct family_model {
	const char *file;
	const char *const *want;
	size_t n;
} models[] = {
    {"native.json", want_native, TS_ARRAY_SIZE(want_native)},
    {"realtime.json", want_realtime, TS_ARRAY_SIZE(want_realtime)},
    {"agents.json", want_agents, TS_ARRAY_SIZE(want_agents)},
    {"identity-services.json", want_identity_services, TS_ARRAY_SIZE(want_identity_services)},
    {"cloud-iam.json", want_cloud_iam, TS_ARRAY_SIZE(want_cloud_iam)},
    {"iac.json", want_iac, TS_ARRAY_SIZE(want_iac)},
    {"crypto.json", want_crypto, TS_ARRAY_SIZE(want_crypto)},
    {"web-edge.json", want_web_edge, TS_ARRAY_SIZE(want_web_edge)},
};

static void test_native(void **state)
{
	(void)state;
	check_model("native.json", want_native, TS_ARRAY_SIZE(want_native));
}

static void test_realtime(void **state)
{
	(void)state;
	check_model("realtime.json", want_realtime, TS_ARRAY_SIZE(want_realtime));
}

static void test_agents(void **state)
{
	(void)state;
	check_model("agents.json", want_agents, TS_ARRAY_SIZE(want_agents));
}

static void test_identity_services(void **state)
{
	(void)state;
	check_model("identity-services.json", want_identity_services,
	            TS_ARRAY_SIZE(want_identity_services));
}

static void test_cloud_iam(void **state)
{
	(void)state;
	check_model("cloud-iam.json", want_cloud_iam, TS_ARRAY_SIZE(want_cloud_iam));
}

static void test_iac(void **state)
{
	(void)state;
	check_model("iac.json", want_iac, TS_ARRAY_SIZE(want_iac));
}

static void test_crypto(void **state)
{
	(void)state;
	check_model("crypto.json", want_crypto, TS_ARRAY_SIZE(want_crypto));
}

static void test_web_edge(void **state)
{
	(void)state;
	check_model("web-edge.json", want_web_edge, TS_ARRAY_SIZE(want_web_edge));
}

/* A WAF drawn without flows counts as attached to the edge: no missing-WAF
 * threat, and a site that signs nobody in has no cross-site leak threat. */
static void test_web_edge_unwired_waf(void **state)
{
	(void)state;
	check_model("web-edge-unwired-waf.json", NULL, 0);
}

/* Whether some model of the table expects the library threat id on some
 * component ("ID@..."). */
static bool expected_somewhere(const char *id)
{
	size_t len = strlen(id);
	for (size_t m = 0; m < TS_ARRAY_SIZE(models); m++)
		for (size_t i = 0; i < models[m].n; i++)
			if (strncmp(models[m].want[i], id, len) == 0 &&
			    models[m].want[i][len] == '@')
				return true;
	return false;
}

/* Every threat of the families is expected by one of the models, so none is
 * left untested, and the shipped library has exactly these 62. */
static void test_every_family_threat_covered(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	char *conf = shipped_conf(dir);
	struct gu g;
	gu_open(&g, conf);
	size_t n = 0;
	for (size_t i = 0; i < library_n_threats(g.lib); i++) {
		const char *id = library_threat_at(g.lib, i)->id;
		if (!in_families(id))
			continue;
		n++;
		if (!expected_somewhere(id))
			fail_msg("%s is expected by no model of tests/data/models/library-families",
			         id);
	}
	assert_int_equal(n, 62);
	gu_close(&g);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_native),
	    cmocka_unit_test(test_realtime),
	    cmocka_unit_test(test_agents),
	    cmocka_unit_test(test_identity_services),
	    cmocka_unit_test(test_cloud_iam),
	    cmocka_unit_test(test_iac),
	    cmocka_unit_test(test_crypto),
	    cmocka_unit_test(test_web_edge),
	    cmocka_unit_test(test_web_edge_unwired_waf),
	    cmocka_unit_test(test_every_family_threat_covered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
