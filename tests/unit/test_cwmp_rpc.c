/*
 * test_cwmp_rpc.c - the dispatch and the data model RPCs of cwmp/rpc*.c on
 * a real engine (bundled datamodel/device2.xml and its factory defaults):
 * every answer is checked, and every reply must encode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *bundled;

typedef struct fixture {
	char dir[256];
	dm *d;
	cwmp_agent a;
	cwmp_reply rep;
	char *xml; /* the last reply, encoded */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-cwmp-rpc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	f->a.d = f->d;
	f->a.origin = (dm_origin){DM_ORIGIN_CWMP, "http://acs.example/"};
	cwmp_rpc_register_dm(&f->a);
	cwmp_reply_init(&f->rep);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[300];

	cwmp_reply_free(&f->rep);
	free(f->xml);
	dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Answer req; the reply must always encode (CWMP 1.2 namespace). */
static const cwmp_msg *call(fixture *f, const cwmp_msg *req)
{
	size_t len = 0;

	cwmp_reply_free(&f->rep);
	free(f->xml);
	f->xml = NULL;
	cwmp_rpc_handle(&f->a, req, &f->rep);
	assert_int_not_equal(f->rep.msg.kind, CWMP_MSG_EMPTY);
	assert_int_equal(cwmp_codec_encode(&f->rep.msg, CWMP_NS_1_2, &f->xml, &len), CWMP_CODEC_OK);
	assert_true(len > 0);
	return &f->rep.msg;
}

static void assert_fault(const cwmp_msg *m, unsigned code)
{
	assert_int_equal(m->kind, CWMP_MSG_FAULT);
	assert_int_equal(m->u.fault.code, code);
}

/* ---- requests ---------------------------------------------------------------- */

static cwmp_msg gpv_req(char **names, size_t n)
{
	cwmp_msg m = {.kind = CWMP_MSG_GET_PARAMETER_VALUES};
	m.u.names.v = names;
	m.u.names.n = n;
	return m;
}

static cwmp_msg gpn_req(const char *path, int next_level)
{
	cwmp_msg m = {.kind = CWMP_MSG_GET_PARAMETER_NAMES};
	m.u.gpn.path = (char *)path;
	m.u.gpn.next_level = next_level;
	return m;
}

static cwmp_msg spv_req(cwmp_param_value *v, size_t n, const char *key)
{
	cwmp_msg m = {.kind = CWMP_MSG_SET_PARAMETER_VALUES};
	m.u.spv.v = v;
	m.u.spv.n = n;
	m.u.spv.parameter_key = (char *)key;
	return m;
}

static cwmp_msg object_req(cwmp_msg_kind kind, const char *name, const char *key)
{
	cwmp_msg m = {.kind = kind};
	m.u.object.object_name = (char *)name;
	m.u.object.parameter_key = (char *)key;
	return m;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the store ----------------------------------------------------------------- */

static void assert_value(fixture *f, const char *path, const char *want)
{
	char buf[512];
	dm_errinfo err = {0};

	if (dm_get_value_buf(f->d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

static bool exists(fixture *f, const char *path)
{
	char buf[512];
	dm_errinfo err = {0};

	return dm_get_value_buf(f->d, NULL, path, buf, sizeof buf, &err) == DM_OK;
}

static void set_as_agent(fixture *f, const char *path, const char *value)
{
	dm_origin o = {DM_ORIGIN_INTERNAL, "test"};
	dm_errinfo err = {0};
	dm_txn *t;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	if (dm_set(t, path, value, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static const char *secret_of(fixture *f, const char *path)
{
	static char buf[512];
	dm_errinfo err = {0};

	assert_int_equal(dm_get_secret_buf(f->d, NULL, path, buf, sizeof buf, &err), DM_OK);
	return buf;
}

#define KEY_PATH "Device.ManagementServer.ParameterKey"

/* ---- dispatch ----------------------------------------------------------------- */

static void do_nothing(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	(void)a;
	(void)req;
	(void)rep;
}

static void test_unknown_methods_get_9000(void **state)
{
	fixture *f = *state;
	static const cwmp_msg_kind kinds[] = {CWMP_MSG_REBOOT, CWMP_MSG_EMPTY, CWMP_MSG_INFORM_RESPONSE,
					      CWMP_MSG_FAULT, CWMP_MSG_GET_RPC_METHODS_RESPONSE,
					      CWMP_MSG_TRANSFER_COMPLETE_RESPONSE};

	/* a handler registered for a response kind must not make it a request */
	cwmp_rpc_register(&f->a, CWMP_MSG_INFORM_RESPONSE, do_nothing);
	for (size_t i = 0; i < N_OF(kinds); i++) {
		cwmp_msg m = {.kind = kinds[i]};
		const cwmp_msg *r = call(f, &m);
		assert_fault(r, CWMP_FAULT_METHOD_NOT_SUPPORTED);
		assert_string_equal(r->u.fault.faultcode, "Server");
	}
	cwmp_msg bad = {.kind = (cwmp_msg_kind)4242};
	assert_fault(call(f, &bad), CWMP_FAULT_METHOD_NOT_SUPPORTED);
}

static void test_empty_handler_gives_9002(void **state)
{
	fixture *f = *state;
	cwmp_msg m = {.kind = CWMP_MSG_REBOOT};

	cwmp_rpc_register(&f->a, CWMP_MSG_REBOOT, do_nothing);
	assert_fault(call(f, &m), CWMP_FAULT_INTERNAL);
}

static void test_id_is_echoed(void **state)
{
	fixture *f = *state;
	char *names[] = {"Device.Time.Enable"};
	cwmp_msg m = gpv_req(names, 1);

	m.hdr.id = "acs-id-4711";
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE);
	assert_string_equal(r->hdr.id, "acs-id-4711");
	assert_ptr_not_equal(r->hdr.id, m.hdr.id); /* a copy in the reply's storage */
	assert_non_null(strstr(f->xml, "acs-id-4711"));
	assert_null(strstr(f->xml, "HoldRequests"));

	/* faults carry it too */
	cwmp_msg unknown = {.kind = CWMP_MSG_UPLOAD};
	unknown.hdr.id = "id-2";
	r = call(f, &unknown);
	assert_fault(r, CWMP_FAULT_METHOD_NOT_SUPPORTED);
	assert_string_equal(r->hdr.id, "id-2");
	assert_non_null(strstr(f->xml, "id-2"));

	/* no ID asked, none given */
	m.hdr.id = NULL;
	r = call(f, &m);
	assert_null(r->hdr.id);
}

static void test_get_rpc_methods(void **state)
{
	fixture *f = *state;
	cwmp_msg m = {.kind = CWMP_MSG_GET_RPC_METHODS};
	static const char *const want[] = {"GetRPCMethods", "GetParameterValues", "GetParameterNames",
					   "SetParameterValues", "AddObject", "DeleteObject"};

	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_RPC_METHODS_RESPONSE);
	assert_int_equal(r->u.names.n, N_OF(want));
	for (size_t i = 0; i < N_OF(want); i++)
		assert_string_equal(r->u.names.v[i], want[i]);

	/* another module's handler joins the list in its place */
	cwmp_rpc_register(&f->a, CWMP_MSG_REBOOT, do_nothing);
	r = call(f, &m);
	assert_int_equal(r->u.names.n, N_OF(want) + 1);
	assert_string_equal(r->u.names.v[N_OF(want)], "Reboot");
	assert_non_null(strstr(f->xml, "Reboot"));
}

/* ---- GetParameterValues ------------------------------------------------------------ */

static void test_gpv_values_and_types(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *name, *value;
		cwmp_value_type type;
	} want[] = {
		{"Device.Time.Enable", "true", CWMP_TYPE_BOOLEAN},
		{"Device.Time.LocalTimeZone", "CET-1CEST,M3.5.0,M10.5.0/3", CWMP_TYPE_STRING},
		{"Device.Time.Client.1.Version", "4", CWMP_TYPE_UNSIGNED_INT},
		{"Device.Time.Client.1.IPVersion", NULL, CWMP_TYPE_INT},
		{"Device.Time.CurrentLocalTime", NULL, CWMP_TYPE_DATETIME},
		{"Device.Ethernet.Interface.1.Stats.BytesSent", NULL, CWMP_TYPE_UNSIGNED_LONG},
		{"Device.WiFi.Radio.1.CCARequest", NULL, CWMP_TYPE_HEXBINARY},
		{"Device.ManagementServer.Password", "", CWMP_TYPE_STRING}, /* hidden */
		{"Device.Time.Enable", "true", CWMP_TYPE_BOOLEAN},          /* asked twice */
	};
	char *names[N_OF(want)];

	for (size_t i = 0; i < N_OF(want); i++)
		names[i] = (char *)want[i].name;
	cwmp_msg m = gpv_req(names, N_OF(want));
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE);
	assert_int_equal(r->u.values.n, N_OF(want));
	for (size_t i = 0; i < N_OF(want); i++) {
		assert_string_equal(r->u.values.v[i].name, want[i].name);
		if (want[i].value)
			assert_string_equal(r->u.values.v[i].value, want[i].value);
		assert_int_equal(r->u.values.v[i].type, want[i].type);
	}
	assert_string_equal(secret_of(f, "Device.ManagementServer.Password"), "duet");
	assert_non_null(strstr(f->xml, "xsd:unsignedLong"));
	assert_non_null(strstr(f->xml, "xsd:hexBinary"));
}

static void test_gpv_partial_path(void **state)
{
	fixture *f = *state;
	char *names[] = {"Device.Time.Client.1.Stats."};
	static const char *const want[] = {"PacketsSent", "PacketsSentFailed", "PacketsReceived", "PacketsDropped"};

	cwmp_msg m = gpv_req(names, 1);
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE);
	assert_int_equal(r->u.values.n, N_OF(want));
	for (size_t i = 0; i < N_OF(want); i++) {
		char full[128];
		snprintf(full, sizeof full, "Device.Time.Client.1.Stats.%s", want[i]);
		assert_string_equal(r->u.values.v[i].name, full);
		assert_string_equal(r->u.values.v[i].value, "0");
		assert_int_equal(r->u.values.v[i].type, CWMP_TYPE_UNSIGNED_INT);
	}

	/* all levels below: the instance holds Authentication. and Stats. */
	names[0] = "Device.Time.Client.";
	r = call(f, &m);
	assert_int_equal(r->u.values.n, 18 + 3 + 4);
	assert_string_equal(r->u.values.v[0].name, "Device.Time.Client.1.Enable");
	assert_string_equal(r->u.values.v[24].name, "Device.Time.Client.1.Stats.PacketsDropped");
}

static void test_gpv_alias_addressing(void **state)
{
	fixture *f = *state;
	char *names[] = {"Device.Time.Client.[cpe-1].Mode", "Device.Time.Client.[cpe-1].Authentication."};

	cwmp_msg m = gpv_req(names, N_OF(names));
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE);
	assert_int_equal(r->u.values.n, 1 + 3);
	/* InstanceMode InstanceNumber: answers name instances by number */
	assert_string_equal(r->u.values.v[0].name, "Device.Time.Client.1.Mode");
	assert_string_equal(r->u.values.v[0].value, "Unicast");
	assert_string_equal(r->u.values.v[1].name, "Device.Time.Client.1.Authentication.Enable");

	names[0] = "Device.Time.Client.[nobody].Mode";
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_PARAMETER_NAME);
}

static void test_gpv_unknown_names_9005(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
		"Device.Nope",          "Device.Time.Nope.",       "Device.Time.Client.9.Mode",
		"Device.Time.Client.9.", "Device.Time.Enable.",    "Device.Time",
		"Device.Time.Client.1", "Device.Reboot()",         "Device..Time.",
		"Other.Time.Enable",    "Device.Time.Client.01.Mode",
	};

	for (size_t i = 0; i < N_OF(bad); i++) {
		char *names[] = {"Device.Time.Enable", (char *)bad[i]};
		cwmp_msg m = gpv_req(names, 2);
		const cwmp_msg *r = call(f, &m);
		if (r->kind != CWMP_MSG_FAULT || r->u.fault.code != CWMP_FAULT_INVALID_PARAMETER_NAME)
			fail_msg("%s: kind %d code %u", bad[i], r->kind, r->u.fault.code);
		assert_string_equal(r->u.fault.faultcode, "Client");
	}
}

static int count_param(void *ctx, const dm_item *it)
{
	(void)it;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_gpv_whole_tree_matches_engine(void **state)
{
	fixture *f = *state;
	size_t engine_count = 0;
	dm_errinfo err = {0};
	dm_txn *t;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	assert_int_equal(dm_resolve(t, DM_GRAMMAR_CWMP, "Device.", DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0,
				    count_param, &engine_count, &err),
			 DM_OK);
	dm_txn_abort(t);
	assert_true(engine_count > 500);

	char *names[] = {"Device."};
	cwmp_msg m = gpv_req(names, 1);
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE);
	assert_int_equal(r->u.values.n, engine_count);

	/* "" is read as the whole tree */
	names[0] = "";
	r = call(f, &m);
	assert_int_equal(r->u.values.n, engine_count);
}

/* ---- GetParameterNames ----------------------------------------------------------- */

typedef struct info {
	const char *name;
	int writable;
} info;

static void assert_infos(const cwmp_msg *r, const info *want, size_t n)
{
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE);
	for (size_t i = 0; i < n && i < r->u.infos.n; i++) {
		if (strcmp(r->u.infos.v[i].name, want[i].name) || r->u.infos.v[i].writable != want[i].writable)
			fail_msg("entry %zu: got %s %d, want %s %d", i, r->u.infos.v[i].name,
				 r->u.infos.v[i].writable, want[i].name, want[i].writable);
	}
	assert_int_equal(r->u.infos.n, n);
}

#define CLIENT1 "Device.Time.Client.1."

static const info client_params[] = {
	{CLIENT1 "Enable", 1},     {CLIENT1 "Status", 0},    {CLIENT1 "Alias", 1}, /* readWrite for the ACS */
	{CLIENT1 "Mode", 1},       {CLIENT1 "Port", 1},      {CLIENT1 "IPVersion", 1},
	{CLIENT1 "ServerInUse", 0}, {CLIENT1 "Version", 1},  {CLIENT1 "Servers", 1},
	{CLIENT1 "ResolveAddresses", 1}, {CLIENT1 "ResolveMaxAddresses", 1}, {CLIENT1 "Peer", 1},
	{CLIENT1 "MinPoll", 1},    {CLIENT1 "MaxPoll", 1},   {CLIENT1 "IBurst", 1},
	{CLIENT1 "Burst", 1},      {CLIENT1 "Interface", 1}, {CLIENT1 "BindType", 1},
};

static void test_gpn_next_level_object(void **state)
{
	fixture *f = *state;
	info want[N_OF(client_params) + 2];

	memcpy(want, client_params, sizeof client_params);
	want[N_OF(client_params)] = (info){CLIENT1 "Authentication.", 0};
	want[N_OF(client_params) + 1] = (info){CLIENT1 "Stats.", 0};
	cwmp_msg m = gpn_req(CLIENT1, 1);
	assert_infos(call(f, &m), want, N_OF(want));

	static const info time_want[] = {
		{"Device.Time.Enable", 1},           {"Device.Time.Status", 0},
		{"Device.Time.CurrentLocalTime", 0}, {"Device.Time.LocalTimeZone", 1},
		{"Device.Time.ClientNumberOfEntries", 0}, {"Device.Time.Client.", 1},
	};
	m = gpn_req("Device.Time.", 1);
	assert_infos(call(f, &m), time_want, N_OF(time_want));
}

static void test_gpn_next_level_table(void **state)
{
	fixture *f = *state;
	static const info one[] = {{CLIENT1, 1}};
	static const info hosts[] = {{"Device.Hosts.HostNumberOfEntries", 0}, {"Device.Hosts.Host.", 0}};

	cwmp_msg m = gpn_req("Device.Time.Client.", 1);
	assert_infos(call(f, &m), one, 1);

	/* a table the ACS cannot add to is not writable */
	m = gpn_req("Device.Hosts.", 1);
	assert_infos(call(f, &m), hosts, N_OF(hosts));
	m = gpn_req("Device.Hosts.Host.", 1);
	assert_infos(call(f, &m), NULL, 0);
}

static void test_gpn_whole_subtree(void **state)
{
	fixture *f = *state;
	static const info auth[] = {
		{CLIENT1 "Authentication.", 0},
		{CLIENT1 "Authentication.Enable", 1},
		{CLIENT1 "Authentication.Certificate", 1},
		{CLIENT1 "Authentication.NTSPort", 1},
	};
	info want[2 + N_OF(client_params) + 1 + 3 + 1 + 4];
	size_t n = 0;

	cwmp_msg m = gpn_req(CLIENT1 "Authentication.", 0);
	assert_infos(call(f, &m), auth, N_OF(auth));

	want[n++] = (info){"Device.Time.Client.", 1};
	want[n++] = (info){CLIENT1, 1};
	for (size_t i = 0; i < N_OF(client_params); i++)
		want[n++] = client_params[i];
	for (size_t i = 0; i < N_OF(auth); i++)
		want[n++] = auth[i];
	want[n++] = (info){CLIENT1 "Stats.", 0};
	want[n++] = (info){CLIENT1 "Stats.PacketsSent", 0};
	want[n++] = (info){CLIENT1 "Stats.PacketsSentFailed", 0};
	want[n++] = (info){CLIENT1 "Stats.PacketsReceived", 0};
	want[n++] = (info){CLIENT1 "Stats.PacketsDropped", 0};
	m = gpn_req("Device.Time.Client.", 0);
	assert_infos(call(f, &m), want, n);

	/* an alias names the same instance */
	m = gpn_req("Device.Time.Client.[cpe-1].Authentication.", 0);
	assert_infos(call(f, &m), auth, N_OF(auth));
}

static void test_gpn_parameter_and_root(void **state)
{
	fixture *f = *state;
	static const info port[] = {{CLIENT1 "Port", 1}};
	static const info root[] = {{"Device.", 0}};

	cwmp_msg m = gpn_req(CLIENT1 "Port", 0);
	assert_infos(call(f, &m), port, 1);
	m = gpn_req(CLIENT1 "Port", 1);
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_ARGUMENTS);
	m = gpn_req(CLIENT1 "Nope", 1);
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_PARAMETER_NAME);

	m = gpn_req("", 1);
	assert_infos(call(f, &m), root, 1);
	m = gpn_req(NULL, 1);
	assert_infos(call(f, &m), root, 1);

	/* "" with NextLevel false is the whole tree, the root first */
	m = gpn_req("Device.", 0);
	const cwmp_msg *r = call(f, &m);
	size_t whole = r->u.infos.n;
	assert_true(whole > 500);
	m = gpn_req("", 0);
	r = call(f, &m);
	assert_int_equal(r->u.infos.n, whole);
	assert_string_equal(r->u.infos.v[0].name, "Device.");

	/* the root's next level: Device's own parameters and objects */
	m = gpn_req("Device.", 1);
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE);
	bool saw_time = false;
	for (size_t i = 0; i < r->u.infos.n; i++) {
		const char *name = r->u.infos.v[i].name;
		const char *dot = strchr(name + strlen("Device."), '.');
		assert_true(!dot || dot[1] == '\0');
		saw_time |= !strcmp(name, "Device.Time.");
	}
	assert_true(saw_time);
}

static void test_gpn_unknown_9005(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {"Device.Nope.", "Device.Time.Client.5.", "Device.Time.Client",
					  "Device.Time.Client.[none]."};

	for (size_t i = 0; i < N_OF(bad); i++) {
		for (int next = 0; next < 2; next++) {
			cwmp_msg m = gpn_req(bad[i], next);
			const cwmp_msg *r = call(f, &m);
			if (r->kind != CWMP_MSG_FAULT || r->u.fault.code != CWMP_FAULT_INVALID_PARAMETER_NAME)
				fail_msg("%s %d: kind %d", bad[i], next, r->kind);
		}
	}
}

/* ---- SetParameterValues --------------------------------------------------------- */

static void test_spv_applies_all_and_key(void **state)
{
	fixture *f = *state;
	cwmp_param_value v[] = {
		{CLIENT1 "Port", "1234", CWMP_TYPE_UNSIGNED_INT},
		{CLIENT1 "Enable", "0", CWMP_TYPE_BOOLEAN},
		{CLIENT1 "IBurst", "false", CWMP_TYPE_STRING},
		{CLIENT1 "MinPoll", "5", CWMP_TYPE_STRING}, /* a string fits any type */
		{CLIENT1 "Servers", "a.example,b.example", CWMP_TYPE_UNKNOWN},
		{"Device.WiFi.Radio.1.CCARequest", "00112233445566778899AA", CWMP_TYPE_HEXBINARY},
		{CLIENT1 "Burst", "7", CWMP_TYPE_LONG}, /* any width of number fits */
	};

	cwmp_msg m = spv_req(v, N_OF(v), "key-1");
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_int_equal(r->u.status, 0);
	assert_value(f, CLIENT1 "Port", "1234");
	assert_value(f, CLIENT1 "Enable", "false");
	assert_value(f, CLIENT1 "IBurst", "false");
	assert_value(f, CLIENT1 "MinPoll", "5");
	assert_value(f, CLIENT1 "Servers", "a.example,b.example");
	assert_value(f, "Device.WiFi.Radio.1.CCARequest", "00112233445566778899aa");
	assert_value(f, CLIENT1 "Burst", "7");
	assert_value(f, KEY_PATH, "key-1");

	/* an empty list still records the key */
	m = spv_req(NULL, 0, "");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, KEY_PATH, "");
}

static void test_spv_duplicate_name_9003(void **state)
{
	fixture *f = *state;
	cwmp_param_value v[] = {
		{CLIENT1 "Port", "1000", CWMP_TYPE_STRING},
		{CLIENT1 "Mode", "Broadcast", CWMP_TYPE_STRING},
		{CLIENT1 "Port", "1001", CWMP_TYPE_STRING},
	};

	cwmp_msg m = spv_req(v, N_OF(v), "dup");
	const cwmp_msg *r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 0);
	assert_value(f, CLIENT1 "Port", "123");
	assert_value(f, KEY_PATH, "");
}

static void test_spv_fault_list(void **state)
{
	fixture *f = *state;
	cwmp_param_value v[] = {
		{"Device.Time.LocalTimeZone", "UTC", CWMP_TYPE_STRING}, /* good, must not apply */
		{CLIENT1 "Port", "70000", CWMP_TYPE_UNSIGNED_INT},       /* out of range */
		{"Device.Time.Status", "Enabled", CWMP_TYPE_STRING},    /* read-only */
		{"Device.Time.Nope", "1", CWMP_TYPE_STRING},            /* unknown */
		{CLIENT1 "Enable", "1", CWMP_TYPE_UNSIGNED_INT},        /* wrong xsi:type */
		{CLIENT1 "Mode", "Sideways", CWMP_TYPE_STRING},         /* not in the enumeration */
		{KEY_PATH, "mine", CWMP_TYPE_STRING},                   /* the agent's own */
		{"Device.Time.ClientNumberOfEntries", "3", CWMP_TYPE_UNSIGNED_INT},
	};
	static const unsigned want[] = {0, 9007, 9008, 9005, 9006, 9007, 9008, 9008};

	set_as_agent(f, KEY_PATH, "before");
	cwmp_msg m = spv_req(v, N_OF(v), "after");
	const cwmp_msg *r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_string_equal(r->u.fault.faultcode, "Client");
	assert_int_equal(r->u.fault.n_spv, N_OF(v) - 1);
	for (size_t i = 1, k = 0; i < N_OF(v); i++, k++) {
		assert_string_equal(r->u.fault.spv[k].name, v[i].name);
		if (r->u.fault.spv[k].code != want[i])
			fail_msg("%s: %u, want %u", v[i].name, r->u.fault.spv[k].code, want[i]);
		assert_true(r->u.fault.spv[k].string && *r->u.fault.spv[k].string);
	}
	assert_non_null(strstr(f->xml, "SetParameterValuesFault"));
	assert_value(f, "Device.Time.LocalTimeZone", "CET-1CEST,M3.5.0,M10.5.0/3");
	assert_value(f, CLIENT1 "Enable", "true");
	assert_value(f, KEY_PATH, "before");
}

/* An InformParameter row may name neither a forced Inform parameter nor
 * the VALUE CHANGE event (TR-181); any other row is fine. */
static void test_spv_inform_parameter_rules(void **state)
{
	fixture *f = *state;
	cwmp_msg add = object_req(CWMP_MSG_ADD_OBJECT, "Device.ManagementServer.InformParameter.", "k1");
	const cwmp_msg *r = call(f, &add);
	assert_int_equal(r->kind, CWMP_MSG_ADD_OBJECT_RESPONSE);
	char row[96], pn[128], el[128];
	snprintf(row, sizeof row, "Device.ManagementServer.InformParameter.%u.", r->u.add_object.instance);
	snprintf(pn, sizeof pn, "%sParameterName", row);
	snprintf(el, sizeof el, "%sEventList", row);

	cwmp_param_value bad[] = {
		{pn, "Device.DeviceInfo.SoftwareVersion", CWMP_TYPE_STRING},
		{el, "1 BOOT,4 VALUE CHANGE", CWMP_TYPE_STRING},
	};
	cwmp_msg m = spv_req(bad, N_OF(bad), "k2");
	r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 2);
	assert_int_equal(r->u.fault.spv[0].code, CWMP_FAULT_INVALID_PARAMETER_VALUE);
	assert_int_equal(r->u.fault.spv[1].code, CWMP_FAULT_INVALID_PARAMETER_VALUE);

	cwmp_param_value good[] = {
		{pn, "Device.DeviceInfo.UpTime", CWMP_TYPE_STRING},
		{el, "1 BOOT,2 PERIODIC", CWMP_TYPE_STRING},
	};
	m = spv_req(good, N_OF(good), "k3");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, pn, "Device.DeviceInfo.UpTime");
	assert_value(f, el, "1 BOOT,2 PERIODIC");
}

#define ROLE "Device.LocalAgent.ControllerTrust.Role."

/* Unique keys hold for the request as a whole: a swap is fine, a clash
 * is a fault on the parameter that made it. */
static void test_spv_unique_keys(void **state)
{
	fixture *f = *state;
	cwmp_param_value swap[] = {
		{ROLE "1.Name", "Untrusted", CWMP_TYPE_STRING},
		{ROLE "2.Name", "Full Access", CWMP_TYPE_STRING},
	};
	cwmp_param_value clash = {ROLE "1.Name", "Full Access", CWMP_TYPE_STRING};

	cwmp_msg m = spv_req(swap, N_OF(swap), "swap");
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, ROLE "1.Name", "Untrusted");
	assert_value(f, ROLE "2.Name", "Full Access");

	m = spv_req(&clash, 1, "clash");
	r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 1);
	assert_string_equal(r->u.fault.spv[0].name, ROLE "1.Name");
	assert_int_equal(r->u.fault.spv[0].code, CWMP_FAULT_INVALID_PARAMETER_VALUE);
	assert_value(f, ROLE "1.Name", "Untrusted");
	assert_value(f, KEY_PATH, "swap");
}

static void test_spv_xsi_types(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *name, *value;
		cwmp_value_type type;
		unsigned code;
	} cases[] = {
		{CLIENT1 "Port", "true", CWMP_TYPE_BOOLEAN, 9006},
		{CLIENT1 "Port", "2001-01-01T00:00:00Z", CWMP_TYPE_DATETIME, 9006},
		{CLIENT1 "Enable", "2001-01-01T00:00:00Z", CWMP_TYPE_DATETIME, 9006},
		{"Device.WiFi.Radio.1.CCARequest", "ABEiM0RVZneImao=", CWMP_TYPE_BASE64, 9006},
		{CLIENT1 "Port", "abc", CWMP_TYPE_STRING, 9006}, /* not a number at all */
		{CLIENT1 "Port", "0", CWMP_TYPE_UNSIGNED_INT, 9007},
		{CLIENT1 "Enable", "yes", CWMP_TYPE_BOOLEAN, 9006},
		{CLIENT1 "Port", "99", CWMP_TYPE_INT, 0},
		{CLIENT1 "Servers", "17", CWMP_TYPE_INT, 0},          /* a string takes any text */
		{CLIENT1 "Enable", "1", CWMP_TYPE_BOOLEAN, 0},
		{CLIENT1 "Port", "123", CWMP_TYPE_UNKNOWN, 0},
	};

	for (size_t i = 0; i < N_OF(cases); i++) {
		cwmp_param_value v = {(char *)cases[i].name, (char *)cases[i].value, cases[i].type};
		cwmp_msg m = spv_req(&v, 1, "k");
		const cwmp_msg *r = call(f, &m);
		if (!cases[i].code) {
			if (r->kind != CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE)
				fail_msg("case %zu: fault %u %s", i, r->u.fault.code,
					 r->u.fault.n_spv ? r->u.fault.spv[0].string : r->u.fault.string);
			continue;
		}
		assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
		assert_int_equal(r->u.fault.n_spv, 1);
		if (r->u.fault.spv[0].code != cases[i].code)
			fail_msg("case %zu: %u, want %u (%s)", i, r->u.fault.spv[0].code, cases[i].code,
				 r->u.fault.spv[0].string);
	}
	assert_value(f, CLIENT1 "Port", "123");
}

static void test_spv_key_too_long(void **state)
{
	fixture *f = *state;
	cwmp_param_value v = {CLIENT1 "Port", "1000", CWMP_TYPE_STRING};
	const char *key33 = "123456789012345678901234567890123";

	cwmp_msg m = spv_req(&v, 1, key33);
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_ARGUMENTS);
	assert_value(f, CLIENT1 "Port", "123");
	m = spv_req(&v, 1, key33 + 1); /* 32 is fine */
	assert_int_equal(call(f, &m)->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, KEY_PATH, key33 + 1);
}

static void test_spv_alias_and_auto_create(void **state)
{
	fixture *f = *state;
	cwmp_param_value by_alias = {"Device.Time.Client.[cpe-1].Port", "999", CWMP_TYPE_UNSIGNED_INT};
	cwmp_param_value v[] = {
		{"Device.Time.Client.[ntp2].Mode", "Broadcast", CWMP_TYPE_STRING},
		{"Device.Time.Client.[ntp2].Port", "4123", CWMP_TYPE_STRING},
	};

	cwmp_msg m = spv_req(&by_alias, 1, "a1");
	assert_int_equal(call(f, &m)->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, CLIENT1 "Port", "999");

	/* AutoCreateInstances false: the unknown alias is an unknown name */
	m = spv_req(v, N_OF(v), "a2");
	const cwmp_msg *r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 2);
	assert_int_equal(r->u.fault.spv[0].code, CWMP_FAULT_INVALID_PARAMETER_NAME);
	assert_false(exists(f, "Device.Time.Client.2.Mode"));

	cwmp_param_value on = {"Device.ManagementServer.AutoCreateInstances", "true", CWMP_TYPE_BOOLEAN};
	m = spv_req(&on, 1, "a3");
	assert_int_equal(call(f, &m)->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);

	m = spv_req(v, N_OF(v), "a4");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE);
	assert_value(f, "Device.Time.Client.2.Alias", "ntp2");
	assert_value(f, "Device.Time.Client.2.Mode", "Broadcast");
	assert_value(f, "Device.Time.Client.2.Port", "4123");
	assert_value(f, KEY_PATH, "a4");

	/* a creation whose other entry fails is undone with the rest */
	cwmp_param_value w[] = {
		{"Device.Time.Client.[ntp3].Mode", "Broadcast", CWMP_TYPE_STRING},
		{"Device.Time.Client.[ntp3].Port", "0", CWMP_TYPE_STRING},
	};
	m = spv_req(w, N_OF(w), "a5");
	r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 1);
	assert_string_equal(r->u.fault.spv[0].name, "Device.Time.Client.[ntp3].Port");
	assert_false(exists(f, "Device.Time.Client.3.Mode"));
	assert_value(f, KEY_PATH, "a4");

	/* a table without the right to add cannot be auto-created into */
	cwmp_param_value host = {"Device.Hosts.Host.[h1].HostName", "x", CWMP_TYPE_STRING};
	m = spv_req(&host, 1, "a6");
	r = call(f, &m);
	assert_fault(r, CWMP_FAULT_INVALID_ARGUMENTS);
	assert_int_equal(r->u.fault.n_spv, 1);
	assert_int_equal(r->u.fault.spv[0].code, CWMP_FAULT_INVALID_PARAMETER_NAME);
}

/* ---- AddObject, DeleteObject -------------------------------------------------------- */

static void test_add_object(void **state)
{
	fixture *f = *state;

	cwmp_msg m = object_req(CWMP_MSG_ADD_OBJECT, "Device.Time.Client.", "add-1");
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_ADD_OBJECT_RESPONSE);
	assert_int_equal(r->u.add_object.instance, 2);
	assert_int_equal(r->u.add_object.status, 0);
	assert_value(f, "Device.Time.Client.2.Port", "123");
	assert_value(f, "Device.Time.Client.2.Alias", "cpe-2");
	assert_value(f, KEY_PATH, "add-1");

	m = object_req(CWMP_MSG_ADD_OBJECT, "Device.Time.Client.[mine].", "add-2");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_ADD_OBJECT_RESPONSE);
	assert_int_equal(r->u.add_object.instance, 3);
	assert_value(f, "Device.Time.Client.3.Alias", "mine");
	assert_non_null(strstr(f->xml, "<InstanceNumber>3</InstanceNumber>"));

	/* the alias is taken */
	m = object_req(CWMP_MSG_ADD_OBJECT, "Device.Time.Client.[mine].", "add-3");
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_ARGUMENTS);
	assert_false(exists(f, "Device.Time.Client.4.Alias"));
	assert_value(f, KEY_PATH, "add-2");

	/* nested under an aliased instance */
	m = object_req(CWMP_MSG_ADD_OBJECT, "Device.IP.Interface.[cpe-1].IPv4Address.", "add-4");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_ADD_OBJECT_RESPONSE);
	assert_int_equal(r->u.add_object.instance, 2);
}

static void test_add_object_faults(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *name;
		unsigned code;
	} cases[] = {
		{"Device.Time.", 9005},               /* not a table */
		{"Device.Time.Client.1.", 9005},      /* an instance */
		{"Device.Time.Client", 9005},         /* no trailing dot */
		{"Device.Hosts.Host.", 9005},         /* the ACS may not add */
		{"Device.Nope.", 9005},
		{"Device.Time.Client.1.Port", 9005},
		{"", 9005},
		{NULL, 9005},
		{"Device.Time.Client.9.Stats.", 9005},
		{"Device.IP.Interface.7.IPv4Address.", 9005},
		{"Device.DeviceInfo.MemoryStatus.[x].", 9005}, /* no Alias to give */
		{"Device.Time.Client.[].", 9005},
		{"Device.Time.Client.[1st].", 9005}, /* not an alias CWMP can address */
	};

	set_as_agent(f, KEY_PATH, "kept");
	for (size_t i = 0; i < N_OF(cases); i++) {
		cwmp_msg m = object_req(CWMP_MSG_ADD_OBJECT, cases[i].name, "new");
		const cwmp_msg *r = call(f, &m);
		if (r->kind != CWMP_MSG_FAULT || r->u.fault.code != cases[i].code)
			fail_msg("%s: kind %d code %u", cases[i].name ? cases[i].name : "(null)", r->kind,
				 r->u.fault.code);
	}
	cwmp_msg m = object_req(CWMP_MSG_ADD_OBJECT, "Device.Time.Client.", "123456789012345678901234567890123");
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_ARGUMENTS);
	assert_value(f, KEY_PATH, "kept");
	assert_false(exists(f, "Device.Time.Client.2.Port"));
}

static void test_add_object_max_entries_9004(void **state)
{
	fixture *f = *state;
	const char *table = "Device.IP.Diagnostics.IPLayerCapacityAuthCode.";
	dm_origin o = {DM_ORIGIN_INTERNAL, "test"};
	dm_errinfo err = {0};
	dm_txn *t;

	/* the bundled model bounds this table at 256 */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	for (int i = 0; i < 255; i++)
		assert_int_equal(dm_add(t, table, NULL, NULL, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);

	cwmp_msg m = object_req(CWMP_MSG_ADD_OBJECT, table, "256th");
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_ADD_OBJECT_RESPONSE);
	assert_int_equal(r->u.add_object.instance, 256);
	m = object_req(CWMP_MSG_ADD_OBJECT, table, "257th");
	r = call(f, &m);
	assert_fault(r, CWMP_FAULT_RESOURCES_EXCEEDED);
	assert_string_equal(r->u.fault.faultcode, "Server");
	assert_value(f, KEY_PATH, "256th");
}

static void test_delete_object(void **state)
{
	fixture *f = *state;

	cwmp_msg m = object_req(CWMP_MSG_DELETE_OBJECT, "Device.Time.Client.1.", "del-1");
	const cwmp_msg *r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_DELETE_OBJECT_RESPONSE);
	assert_int_equal(r->u.status, 0);
	assert_false(exists(f, "Device.Time.Client.1.Port"));
	assert_value(f, KEY_PATH, "del-1");

	/* by alias */
	m = object_req(CWMP_MSG_DELETE_OBJECT, "Device.IP.Interface.1.IPv4Address.[cpe-1].", "del-2");
	r = call(f, &m);
	assert_int_equal(r->kind, CWMP_MSG_DELETE_OBJECT_RESPONSE);
	assert_false(exists(f, "Device.IP.Interface.1.IPv4Address.1.Enable"));
	assert_value(f, KEY_PATH, "del-2");
}

static void test_delete_object_faults(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
		"Device.Time.Client.7.",        /* no such instance */
		"Device.Time.Client.",          /* the table itself */
		"Device.Time.",                 /* not a table */
		"Device.Time.Client.1",         /* no trailing dot */
		"Device.Ethernet.Interface.1.", /* the ACS may not delete */
		"Device.Time.Client.1.Stats.",
		"Device.Time.Client.[nobody].",
		"",
		NULL,
	};

	set_as_agent(f, KEY_PATH, "kept");
	for (size_t i = 0; i < N_OF(bad); i++) {
		cwmp_msg m = object_req(CWMP_MSG_DELETE_OBJECT, bad[i], "gone");
		const cwmp_msg *r = call(f, &m);
		if (r->kind != CWMP_MSG_FAULT || r->u.fault.code != CWMP_FAULT_INVALID_PARAMETER_NAME)
			fail_msg("%s: kind %d code %u", bad[i] ? bad[i] : "(null)", r->kind, r->u.fault.code);
	}
	cwmp_msg m = object_req(CWMP_MSG_DELETE_OBJECT, "Device.Time.Client.1.", "123456789012345678901234567890123");
	assert_fault(call(f, &m), CWMP_FAULT_INVALID_ARGUMENTS);
	assert_value(f, KEY_PATH, "kept");
	assert_true(exists(f, "Device.Time.Client.1.Port"));
	assert_true(exists(f, "Device.Ethernet.Interface.1.Enable"));
}

int main(void)
{
	dm_errinfo err = {0};

	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return 1;
	}
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_unknown_methods_get_9000),
		T(test_empty_handler_gives_9002),
		T(test_id_is_echoed),
		T(test_get_rpc_methods),
		T(test_gpv_values_and_types),
		T(test_gpv_partial_path),
		T(test_gpv_alias_addressing),
		T(test_gpv_unknown_names_9005),
		T(test_gpv_whole_tree_matches_engine),
		T(test_gpn_next_level_object),
		T(test_gpn_next_level_table),
		T(test_gpn_whole_subtree),
		T(test_gpn_parameter_and_root),
		T(test_gpn_unknown_9005),
		T(test_spv_applies_all_and_key),
		T(test_spv_duplicate_name_9003),
		T(test_spv_fault_list),
		T(test_spv_inform_parameter_rules),
		T(test_spv_unique_keys),
		T(test_spv_xsi_types),
		T(test_spv_key_too_long),
		T(test_spv_alias_and_auto_create),
		T(test_add_object),
		T(test_add_object_faults),
		T(test_add_object_max_entries_9004),
		T(test_delete_object),
		T(test_delete_object_faults),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
