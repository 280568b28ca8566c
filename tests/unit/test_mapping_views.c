/*
 * test_mapping_views.c - mapping/views.c: the CWMP, USP and union views and
 * the extended migration switch, as path answers on the bundled schema
 * (and on the official CWMP-variant file, when ../shared/bbf has it, where
 * Device.USPAgent. is native and must stay so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *bundled;

/* One answer: the path, what dm_view_store (or show) gives, "" for hidden. */
typedef struct row {
	const char *in;
	const char *out;
} row;

static void check(const dm_view *v, bool show, const row *rows, size_t n)
{
	char out[256];
	for (size_t i = 0; i < n; i++) {
		int rc = show ? dm_view_show(v, rows[i].in, out, sizeof out)
			      : dm_view_store(v, rows[i].in, out, sizeof out);
		const char *got = rc == 1 ? out : rc == 0 ? "" : "error";
		if (strcmp(got, rows[i].out))
			fail_msg("%s %s: \"%s\", want \"%s\"", show ? "show" : "store", rows[i].in, got, rows[i].out);
	}
}

#define CHECK(v, show, rows) check(v, show, rows, sizeof rows / sizeof rows[0])

static void test_cwmp_view(void **state)
{
	map_views *mv;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);
	static const row store[] = {
		{"Device.USPAgent.EndpointID", "Device.LocalAgent.EndpointID"},
		{"Device.USPAgent.ControllerTrust.Role.1.Name", "Device.LocalAgent.ControllerTrust.Role.1.Name"},
		{"Device.USPAgent.Certificate.", "Device.LocalAgent.Certificate."},
		{"Device.USPAgent.CertificateNumberOfEntries", "Device.LocalAgent.CertificateNumberOfEntries"},
		{"Device.USPAgent.Subscription.", ""},          /* not in the CWMP variant's USPAgent */
		{"Device.USPAgent.Request.1.Status", ""},
		{"Device.USPAgent.SupportedThresholdOperator", ""},
		{"Device.LocalAgent.EndpointID", ""},
		{"Device.CWMPManagementServer.EnableCWMP", ""},
		{"Device.ManagementServer.URL", "Device.ManagementServer.URL"},
	};
	static const row show[] = {
		{"Device.LocalAgent.MTP.1.Enable", "Device.USPAgent.MTP.1.Enable"},
		{"Device.LocalAgent.Subscription.1.Enable", ""},
		{"Device.ManagementServer.EnableCWMP", "Device.ManagementServer.EnableCWMP"},
	};
	CHECK(map_views_cwmp(mv), false, store);
	CHECK(map_views_cwmp(mv), true, show);
	map_views_free(mv);
}

static void test_usp_view(void **state)
{
	map_views *mv;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);
	static const row store[] = {
		{"Device.CWMPManagementServer.EnableCWMP", "Device.ManagementServer.EnableCWMP"},
		{"Device.CWMPManagementServer.", "Device.ManagementServer."},
		{"Device.CWMPManagementServer.URL", ""},
		{"Device.ManagementServer.EnableCWMP", "Device.ManagementServer.EnableCWMP"},
		{"Device.ManagementServer.URL", ""},
		{"Device.ManagementServer.ManageableDevice.1.", ""},
		{"Device.USPAgent.EndpointID", ""},
		{"Device.LocalAgent.Subscription.1.Enable", "Device.LocalAgent.Subscription.1.Enable"},
	};
	static const row show[] = {
		{"Device.ManagementServer.EnableCWMP", "Device.CWMPManagementServer.EnableCWMP"},
		{"Device.ManagementServer.Password", ""},
		{"Device.LocalAgent.EndpointID", "Device.LocalAgent.EndpointID"},
	};
	CHECK(map_views_usp(mv), false, store);
	CHECK(map_views_usp(mv), true, show);
	map_views_free(mv);
}

static void test_union_view(void **state)
{
	map_views *mv;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);
	static const row store[] = {
		{"Device.USPAgent.Controller.1.EndpointID", "Device.LocalAgent.Controller.1.EndpointID"},
		{"Device.LocalAgent.Controller.1.EndpointID", "Device.LocalAgent.Controller.1.EndpointID"},
		{"Device.CWMPManagementServer.EnableCWMP", "Device.ManagementServer.EnableCWMP"},
		{"Device.ManagementServer.URL", "Device.ManagementServer.URL"},
		{"Device.LocalAgent.Subscription.", "Device.LocalAgent.Subscription."},
	};
	CHECK(map_views_union(mv), false, store);
	map_views_free(mv);
}

static void test_extended_migration_view(void **state)
{
	map_views *mv;
	map_views_opts o = {.extended = true};
	assert_int_equal(map_views_new(bundled, &o, &mv), DM_OK);
	static const row cwmp[] = {
		{"Device.LocalAgent.Subscription.", "Device.LocalAgent.Subscription."},
		{"Device.USPAgent.EndpointID", "Device.LocalAgent.EndpointID"},
		{"Device.CWMPManagementServer.EnableCWMP", ""},
	};
	static const row usp[] = {
		{"Device.ManagementServer.URL", "Device.ManagementServer.URL"},
		{"Device.CWMPManagementServer.EnableCWMP", "Device.ManagementServer.EnableCWMP"},
		{"Device.USPAgent.EndpointID", ""},
	};
	CHECK(map_views_cwmp(mv), false, cwmp);
	CHECK(map_views_usp(mv), false, usp);
	map_views_free(mv);
}

static void test_official_cwmp_file_keeps_its_usp_agent(void **state)
{
	const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
	char path[512];
	snprintf(path, sizeof path, "%s/bbf/tr-181-2-19-1-cwmp-full.xml", shared);
	if (access(path, R_OK))
		skip();
	dm_schema *s;
	dm_errinfo err = {0};
	assert_int_equal(dm_schema_load(path, &s, &err), DM_OK);
	map_views *mv;
	assert_int_equal(map_views_new(s, NULL, &mv), DM_OK);
	/* no LocalAgent to serve it from: the native USPAgent stays */
	static const row store[] = {
		{"Device.USPAgent.Controller.1.Enable", "Device.USPAgent.Controller.1.Enable"},
		{"Device.USPAgent.AddCertificate", "Device.USPAgent.AddCertificate"},
	};
	CHECK(map_views_cwmp(mv), false, store);
	CHECK(map_views_union(mv), false, store);
	map_views_free(mv);
	dm_schema_free(s);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cwmp_view),
		cmocka_unit_test(test_usp_view),
		cmocka_unit_test(test_union_view),
		cmocka_unit_test(test_extended_migration_view),
		cmocka_unit_test(test_official_cwmp_file_keeps_its_usp_agent),
	};
	int rc = cmocka_run_group_tests_name("mapping views", tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
