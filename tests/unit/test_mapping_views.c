/*
 * test_mapping_views.c - mapping/views.c: the CWMP, USP and union views and
 * the extended migration switch, as path answers on the bundled schema
 * (and on the official CWMP-variant file, when ../shared/bbf has it, where
 * Device.USPAgent. is native and must stay so); the objects only one
 * TR-181 variant has, hidden from the other side's view (C14) while a
 * command sharing a hidden object's prefix stays, on the bundled schema,
 * on a real engine (walks, writes through a view and without one) and on
 * the official files.
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

/* ---- objects of one variant only (notes C14) ------------------------------- */

#define PING "Device.IP.Diagnostics.IPPing."

static void test_variant_only_objects(void **state)
{
	map_views *mv;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);
	static const row usp[] = {
		{PING, ""},
		{PING "Host", ""},
		{PING "DiagnosticsState", ""},
		{"Device.IP.Diagnostics.DownloadDiagnostics.DiagnosticsState", ""},
		{"Device.IP.Diagnostics.IPPing()", "Device.IP.Diagnostics.IPPing()"},
		{"Device.IP.Diagnostics.DownloadDiagnostics()", "Device.IP.Diagnostics.DownloadDiagnostics()"},
		{"Device.IP.Diagnostics.", "Device.IP.Diagnostics."},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.1.Alias",
		 "Device.IP.Diagnostics.IPLayerCapacityAuthCode.1.Alias"},
	};
	static const row usp_show[] = {
		{PING "MinimumResponseTime", ""},
		{"Device.IP.Diagnostics.IPPing()", "Device.IP.Diagnostics.IPPing()"},
	};
	static const row cwmp[] = {
		{PING "Host", PING "Host"},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.1.Alias", ""},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.", ""},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCodeNumberOfEntries",
		 "Device.IP.Diagnostics.IPLayerCapacityAuthCodeNumberOfEntries"},
	};
	static const row cwmp_show[] = {
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.{i}.", ""},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.{i}.Alias", ""},
	};
	static const row both[] = {
		{PING "Host", PING "Host"},
		{"Device.IP.Diagnostics.IPLayerCapacityAuthCode.1.Alias",
		 "Device.IP.Diagnostics.IPLayerCapacityAuthCode.1.Alias"},
	};
	CHECK(map_views_usp(mv), false, usp);
	CHECK(map_views_usp(mv), true, usp_show);
	CHECK(map_views_cwmp(mv), false, cwmp);
	CHECK(map_views_cwmp(mv), true, cwmp_show);
	CHECK(map_views_union(mv), false, both);
	map_views_free(mv);
	/* the extended migration view widens the bridges only */
	map_views_opts o = {.extended = true};
	assert_int_equal(map_views_new(bundled, &o, &mv), DM_OK);
	CHECK(map_views_usp(mv), false, usp);
	CHECK(map_views_cwmp(mv), false, cwmp);
	map_views_free(mv);
}

typedef struct seen {
	int objects, ping_cmd, ping_obj;
} seen;

static int count_item(void *ctx, const dm_item *it)
{
	seen *s = ctx;
	if (!strncmp(it->path, PING, strlen(PING)))
		s->ping_obj++;
	if (!strcmp(it->path, "Device.IP.Diagnostics.IPPing()"))
		s->ping_cmd++;
	s->objects++;
	return 0;
}

static seen walk(dm *d, const dm_view *v, const char *expr)
{
	dm_txn *t;
	dm_errinfo err = {0};
	seen s = {0};
	assert_int_equal(dm_txn_begin(d, DM_TXN_READ, NULL, &t), DM_OK);
	dm_txn_set_view(t, v);
	unsigned flags = DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_COMMANDS | DM_RESOLVE_SUBTREE;
	assert_int_equal(dm_resolve(t, DM_GRAMMAR_USP, expr, flags, 0, count_item, &s, &err), DM_OK);
	dm_txn_abort(t);
	return s;
}

static int set_in_view(dm *d, const dm_view *v, dm_origin_kind who, const char *path, const char *value)
{
	dm_txn *t;
	dm_errinfo err = {0};
	dm_origin o = {who, "views-test"};
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &o, &t), DM_OK);
	dm_txn_set_view(t, v);
	int rc = dm_set(t, path, value, &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

/* On a real engine: a Controller's walk of Device.IP.Diagnostics. has the
 * IPPing() command and no IPPing. object, and cannot write it; the ACS
 * can; the agent's own writes (mapping/diag_cwmp.c, no view) still can. */
static void test_variant_only_on_an_engine(void **state)
{
	char dir[] = "/tmp/test_mapping_views.XXXXXX";
	assert_non_null(mkdtemp(dir));
	dm *d;
	dm_errinfo err = {0};
	dm_open_opts oo = {.state_dir = dir};
	assert_int_equal(dm_open(bundled, &oo, &d, &err), DM_OK);
	map_views *mv;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);

	seen usp = walk(d, map_views_usp(mv), "Device.IP.Diagnostics.");
	assert_int_equal(usp.ping_obj, 0);
	assert_int_equal(usp.ping_cmd, 1);
	seen cwmp = walk(d, map_views_cwmp(mv), "Device.IP.Diagnostics.");
	assert_true(cwmp.ping_obj > 0);
	seen all = walk(d, NULL, "Device.IP.Diagnostics.");
	assert_true(all.ping_obj > 0 && all.ping_cmd == 1);

	assert_int_equal(set_in_view(d, map_views_usp(mv), DM_ORIGIN_USP, PING "Host", "10.0.0.1"),
			 DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(set_in_view(d, map_views_cwmp(mv), DM_ORIGIN_CWMP, PING "Host", "10.0.0.2"), DM_OK);
	assert_int_equal(set_in_view(d, NULL, DM_ORIGIN_INTERNAL, PING "SuccessCount", "3"), DM_OK);
	char v[32];
	assert_int_equal(dm_get_value_buf(d, NULL, PING "Host", v, sizeof v, &err), DM_OK);
	assert_string_equal(v, "10.0.0.2");

	map_views_free(mv);
	dm_close(d);
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static dm_schema *official(const char *variant)
{
	const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
	char path[512];
	dm_schema *s;
	dm_errinfo err = {0};
	snprintf(path, sizeof path, "%s/bbf/tr-181-2-19-1-%s-full.xml", shared, variant);
	if (access(path, R_OK))
		return NULL;
	assert_int_equal(dm_schema_load(path, &s, &err), DM_OK);
	return s;
}

/* The official files have the other variant's objects the bundled model
 * lacks: the USP file's ProxiedDevice, Node, IoTCapability, Standby and
 * DeviceInfo.Reboots stay out of the ACS's view, the CWMP file's
 * ETSIM2M and diagnostics objects out of the Controllers'. */
static void test_official_variant_only_objects(void **state)
{
	dm_schema *us = official("usp"), *cw = official("cwmp");
	if (!us || !cw) {
		dm_schema_free(us);
		dm_schema_free(cw);
		skip();
	}
	map_views *mv;
	assert_int_equal(map_views_new(us, NULL, &mv), DM_OK);
	static const row acs[] = {
		{"Device.ProxiedDevice.1.Name", ""},
		{"Device.ProxiedDevice.{i}.Node.{i}.", ""},
		{"Device.Node.{i}.", ""},
		{"Device.IoTCapability.{i}.Class", ""},
		{"Device.Standby.", ""},
		{"Device.DeviceInfo.Reboots.Reboot.{i}.Reason", ""},
		{"Device.DeviceInfo.SerialNumber", "Device.DeviceInfo.SerialNumber"},
	};
	CHECK(map_views_cwmp(mv), true, acs);
	map_views_free(mv);
	assert_int_equal(map_views_new(cw, NULL, &mv), DM_OK);
	static const row ctl[] = {
		{"Device.ETSIM2M.", ""},
		{"Device.DNS.Diagnostics.NSLookupDiagnostics.Result.{i}.Status", ""},
		{"Device.WiFi.NeighboringWiFiDiagnostic.DiagnosticsState", ""},
		{"Device.DeviceInfo.SupportedDataModel.{i}.URL", ""},
		{"Device.IP.Diagnostics.TraceRoute.Host", ""},
		{"Device.DNS.Diagnostics.", "Device.DNS.Diagnostics."},
	};
	CHECK(map_views_usp(mv), true, ctl);
	map_views_free(mv);
	dm_schema_free(us);
	dm_schema_free(cw);
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
		cmocka_unit_test(test_variant_only_objects),
		cmocka_unit_test(test_variant_only_on_an_engine),
		cmocka_unit_test(test_official_variant_only_objects),
	};
	int rc = cmocka_run_group_tests_name("mapping views", tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
