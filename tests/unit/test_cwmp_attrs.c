/*
 * test_cwmp_attrs.c - cwmp/attrs*.c on a real engine (datamodel/device2.xml
 * with the factory defaults) and the real core loop: GetParameterAttributes
 * and SetParameterAttributes (partial paths, AccessList, Change flags,
 * every fault with nothing applied), persistence and factory reset, value
 * changes by origin and their urgency, coalescing, the Inform ParameterList
 * (forced parameters, changed ones, InformParameter rows) and its delivery,
 * baselines catching a change made while the agent was down, and deleted
 * instances. The agent is filled by hand; a->raise is a recorder. Every
 * reply is encoded as it would go on the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attrs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static dm_schema *schema;

static const dm_origin o_usp = {DM_ORIGIN_USP, "ctl-a"};
static const dm_origin o_cwmp = {DM_ORIGIN_CWMP, "http://acs"};
static const dm_origin o_internal = {DM_ORIGIN_INTERNAL, "test"};
static const dm_origin o_admin = {DM_ORIGIN_ADMIN, "duetctl"};

#define MAX_RAISED 32

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	cwmp_agent agent;
	cwmp_attrs *at;
	struct {
		char code[32];
		cwmp_urgency urgency;
	} raised[MAX_RAISED];
	size_t n_raised;
} fixture;

/* ---- the agent around the module ----------------------------------------------- */

static int record_raise(cwmp_agent *a, const char *code, const char *command_key, cwmp_urgency u)
{
	fixture *f = (fixture *)((char *)a - offsetof(fixture, agent));

	assert_null(command_key);
	assert_true(f->n_raised < MAX_RAISED);
	snprintf(f->raised[f->n_raised].code, sizeof f->raised[0].code, "%s", code);
	f->raised[f->n_raised++].urgency = u;
	return 0;
}

/* A live (provider-computed) parameter the model does not mark canDeny. */
static int live_model_number(void *ctx, dm_txn *t, const char *path, char *buf, size_t n)
{
	snprintf(buf, n, "DG-LIVE");
	return 0;
}

static void open_attrs(fixture *f)
{
	assert_int_equal(cwmp_attrs_open(&f->agent, &f->at), DM_OK);
	assert_ptr_equal(f->agent.attrs, f->at);
}

static void close_attrs(fixture *f)
{
	cwmp_attrs_close(f->at);
	f->at = NULL;
	assert_null(f->agent.attrs);
	assert_null(f->agent.inform_params);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};
	const dm_provider live = {.get = live_model_number};

	snprintf(f->dir, sizeof f->dir, "/tmp/test_cwmp_attrs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	if (dm_open(schema, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(dm_provider_register(f->d, "Device.DeviceInfo.ModelNumber", &live), DM_OK);
	assert_int_equal(dm_provider_register(f->d, "Device.DeviceInfo.UpTime", &live), DM_OK);
	assert_int_equal(core_loop_new(&f->loop), 0);
	f->agent.d = f->d;
	f->agent.loop = f->loop;
	f->agent.origin = o_cwmp;
	f->agent.raise = record_raise;
	open_attrs(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	if (f->at)
		close_attrs(f);
	core_loop_free(f->loop);
	dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Let the loop run what the module deferred (queued state writes). */
static void run_loop(fixture *f)
{
	core_loop_run(f->loop);
}

static void encodes(const cwmp_msg *m)
{
	char *xml = NULL;
	size_t len = 0;

	assert_int_equal(cwmp_codec_encode(m, CWMP_NS_1_2, &xml, &len), CWMP_CODEC_OK);
	assert_non_null(xml);
	free(xml);
}

/* ---- engine writes ---------------------------------------------------------------- */

static void set_as(fixture *f, const dm_origin *o, const char *path, const char *value)
{
	dm_errinfo err = {0};
	dm_txn *t;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	if (dm_set(t, path, value, &err))
		fail_msg("set %s: %s", path, err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static uint32_t add_as(fixture *f, const dm_origin *o, const char *table)
{
	dm_errinfo err = {0};
	dm_txn *t;
	uint32_t inst = 0;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	if (dm_add(t, table, NULL, &inst, &err))
		fail_msg("add %s: %s", table, err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

static void delete_as(fixture *f, const dm_origin *o, const char *obj)
{
	dm_errinfo err = {0};
	dm_txn *t;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	if (dm_delete(t, obj, &err))
		fail_msg("delete %s: %s", obj, err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static bool state_has(fixture *f, const char *ns, const char *key, char *value, size_t n)
{
	dm_txn *t;
	char *v = NULL;
	dm_errinfo err = {0};

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	int rc = dm_state_get(t, ns, key, &v, NULL, &err);
	dm_txn_abort(t);
	if (rc == DM_ERR_NOT_INSTANTIATED)
		return false;
	assert_int_equal(rc, DM_OK);
	if (value)
		snprintf(value, n, "%s", v);
	free(v);
	return true;
}

/* ---- RPCs ------------------------------------------------------------------------- */

/* One SetParameterAttributesStruct: notification < 0 leaves it unchanged,
 * access NULL leaves the AccessList unchanged, "" empties it. */
typedef struct spa_row {
	const char *name;
	int notification;
	const char *access;
} spa_row;

#define KEEP (-1)

static void spa(fixture *f, const spa_row *rows, size_t n, cwmp_reply *rep)
{
	cwmp_spa_entry e[8];
	char *subscriber[1];
	cwmp_msg req = {.kind = CWMP_MSG_SET_PARAMETER_ATTRIBUTES};

	assert_true(n <= N(e));
	memset(e, 0, sizeof e);
	for (size_t i = 0; i < n; i++) {
		e[i].name = (char *)rows[i].name;
		e[i].notification_change = rows[i].notification != KEEP;
		e[i].notification = rows[i].notification;
		e[i].access_list_change = rows[i].access != NULL;
		if (rows[i].access && rows[i].access[0]) {
			subscriber[0] = (char *)rows[i].access;
			e[i].access_list.v = subscriber;
			e[i].access_list.n = 1;
		}
	}
	req.u.spa.v = e;
	req.u.spa.n = n;
	cwmp_reply_init(rep);
	assert_non_null(f->agent.rpc[CWMP_MSG_SET_PARAMETER_ATTRIBUTES]);
	f->agent.rpc[CWMP_MSG_SET_PARAMETER_ATTRIBUTES](&f->agent, &req, rep);
	encodes(&rep->msg);
}

static void spa_ok(fixture *f, const spa_row *rows, size_t n)
{
	cwmp_reply rep;

	spa(f, rows, n, &rep);
	if (rep.msg.kind == CWMP_MSG_FAULT)
		fail_msg("SPA fault %u: %s", rep.msg.u.fault.code, rep.msg.u.fault.string);
	assert_int_equal(rep.msg.kind, CWMP_MSG_SET_PARAMETER_ATTRIBUTES_RESPONSE);
	cwmp_reply_free(&rep);
}

static unsigned spa_fault(fixture *f, const spa_row *rows, size_t n)
{
	cwmp_reply rep;

	spa(f, rows, n, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_FAULT);
	unsigned code = rep.msg.u.fault.code;
	cwmp_reply_free(&rep);
	return code;
}

static void gpa(fixture *f, const char *const *names, size_t n, cwmp_reply *rep)
{
	cwmp_msg req = {.kind = CWMP_MSG_GET_PARAMETER_ATTRIBUTES};

	req.u.names.v = (char **)names;
	req.u.names.n = n;
	cwmp_reply_init(rep);
	assert_non_null(f->agent.rpc[CWMP_MSG_GET_PARAMETER_ATTRIBUTES]);
	f->agent.rpc[CWMP_MSG_GET_PARAMETER_ATTRIBUTES](&f->agent, &req, rep);
	encodes(&rep->msg);
}

static const cwmp_param_attr *attr_in(const cwmp_reply *rep, const char *name)
{
	const cwmp_param_attr *found = NULL;

	for (size_t i = 0; i < rep->msg.u.attrs.n; i++) {
		if (strcmp(rep->msg.u.attrs.v[i].name, name) == 0) {
			assert_null(found); /* each parameter once */
			found = &rep->msg.u.attrs.v[i];
		}
	}
	return found;
}

/* The notification GPA reports for one parameter; *subscriber its AccessList. */
static int notification_of(fixture *f, const char *name, bool *subscriber)
{
	cwmp_reply rep;
	const char *names[] = {name};

	gpa(f, names, 1, &rep);
	if (rep.msg.kind == CWMP_MSG_FAULT)
		fail_msg("GPA %s: fault %u", name, rep.msg.u.fault.code);
	assert_int_equal(rep.msg.kind, CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE);
	assert_int_equal(rep.msg.u.attrs.n, 1);
	const cwmp_param_attr *pa = attr_in(&rep, name);
	assert_non_null(pa);
	int n = pa->notification;
	if (pa->access_list.n)
		assert_string_equal(pa->access_list.v[0], "Subscriber");
	if (subscriber)
		*subscriber = pa->access_list.n == 1;
	else
		assert_int_equal(pa->access_list.n, 0);
	cwmp_reply_free(&rep);
	return n;
}

/* ---- Informs ---------------------------------------------------------------------- */

typedef struct inform {
	cwmp_reply rep;
	cwmp_param_value *params;
	size_t n;
} inform;

static void build_inform(fixture *f, const char *const *codes, size_t n_codes, inform *out)
{
	cwmp_event ev[8];
	dm_txn *t;

	assert_true(n_codes <= N(ev));
	for (size_t i = 0; i < n_codes; i++)
		ev[i] = (cwmp_event){(char *)codes[i], ""};
	cwmp_reply_init(&out->rep);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	assert_non_null(f->agent.inform_params);
	assert_int_equal(f->agent.inform_params(&f->agent, t, ev, n_codes, &out->rep, &out->params, &out->n),
			 DM_OK);
	dm_txn_abort(t);

	cwmp_msg m = {.kind = CWMP_MSG_INFORM};
	m.u.inform.manufacturer = "Duet Networks";
	m.u.inform.oui = "02D0E7";
	m.u.inform.product_class = "DuetGW";
	m.u.inform.serial_number = "DG0000000001";
	m.u.inform.events = ev;
	m.u.inform.n_events = n_codes;
	m.u.inform.max_envelopes = 1;
	m.u.inform.current_time = "2026-01-01T00:00:00Z";
	m.u.inform.params = out->params;
	m.u.inform.n_params = out->n;
	encodes(&m);
}

static const cwmp_param_value *param_in(const inform *in, const char *name)
{
	const cwmp_param_value *found = NULL;

	for (size_t i = 0; i < in->n; i++) {
		if (strcmp(in->params[i].name, name) == 0) {
			assert_null(found); /* each name at most once */
			found = &in->params[i];
		}
	}
	return found;
}

static void assert_in_inform(const inform *in, const char *name, const char *value)
{
	const cwmp_param_value *pv = param_in(in, name);

	if (!pv)
		fail_msg("%s missing from the Inform", name);
	if (value)
		assert_string_equal(pv->value, value);
}

static void assert_unique_names(const inform *in)
{
	for (size_t i = 0; i < in->n; i++)
		for (size_t j = i + 1; j < in->n; j++)
			if (strcmp(in->params[i].name, in->params[j].name) == 0)
				fail_msg("%s twice in the Inform", in->params[i].name);
}

static void free_inform(inform *in)
{
	cwmp_reply_free(&in->rep);
}

static const char *const periodic[] = {"2 PERIODIC"};
static const char *const value_change[] = {"4 VALUE CHANGE"};

/* Is this parameter reported as changed? ("4 VALUE CHANGE" alone: of the
 * rest only forced parameters come along, so avoid those here.) */
static bool changed_in_inform(fixture *f, const char *name, char *value, size_t n)
{
	inform in;

	build_inform(f, value_change, 1, &in);
	const cwmp_param_value *pv = param_in(&in, name);
	if (pv && value)
		snprintf(value, n, "%s", pv->value);
	free_inform(&in);
	return pv != NULL;
}

/* ---- SetParameterAttributes / GetParameterAttributes ---------------------------- */

static void test_spa_gpa_round_trip(void **state)
{
	fixture *f = *state;
	bool sub;

	/* defaults: forced and forceDefaultEnabled active, the rest off */
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", NULL), 0);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.SoftwareVersion", NULL), 2);
	assert_int_equal(notification_of(f, "Device.ManagementServer.ConnectionRequestURL", NULL), 2);

	const spa_row set[] = {
		{"Device.DeviceInfo.Manufacturer", 1, "Subscriber"},
		{"Device.DeviceInfo.FirmwareImage.", 1, NULL},
		{"Device.ManagementServer.ConnectionRequestURL", 0, NULL},
		{"Device.DeviceInfo.SoftwareVersion", 0, NULL}, /* accepted, stays active */
	};
	spa_ok(f, set, N(set));
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 1);
	assert_true(sub);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.FirmwareImage.1.Name", NULL), 1);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.FirmwareImage.2.Version", NULL), 1);
	assert_int_equal(notification_of(f, "Device.ManagementServer.ConnectionRequestURL", NULL), 0);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.SoftwareVersion", NULL), 2);

	/* partial path: one struct per parameter, every level below */
	cwmp_reply rep;
	const char *names[] = {"Device.DeviceInfo."};
	gpa(f, names, 1, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE);
	assert_true(rep.msg.u.attrs.n > 20);
	assert_int_equal(attr_in(&rep, "Device.DeviceInfo.Manufacturer")->notification, 1);
	assert_int_equal(attr_in(&rep, "Device.DeviceInfo.Manufacturer")->access_list.n, 1);
	assert_int_equal(attr_in(&rep, "Device.DeviceInfo.ModelName")->notification, 0);
	assert_int_equal(attr_in(&rep, "Device.DeviceInfo.FirmwareImage.2.Name")->notification, 1);
	assert_int_equal(attr_in(&rep, "Device.DeviceInfo.SoftwareVersion")->notification, 2);
	assert_null(attr_in(&rep, "Device.DeviceInfo.FirmwareImage.2.")); /* parameters only */
	cwmp_reply_free(&rep);

	/* Change flags false: that attribute is left alone */
	const spa_row only_access[] = {{"Device.DeviceInfo.Manufacturer", KEEP, ""}};
	spa_ok(f, only_access, 1);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 1);
	assert_false(sub);
	const spa_row both[] = {{"Device.DeviceInfo.Manufacturer", KEEP, "Subscriber"},
				{"Device.DeviceInfo.Manufacturer", 2, NULL}};
	spa_ok(f, both, N(both));
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 2);
	assert_true(sub);
	const spa_row only_notify[] = {{"Device.DeviceInfo.Manufacturer", 0, NULL}};
	spa_ok(f, only_notify, 1);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 0);
	assert_true(sub);

	/* an empty list changes nothing and succeeds */
	spa_ok(f, NULL, 0);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.FirmwareImage.1.Name", NULL), 1);
}

static void test_gpa_faults(void **state)
{
	fixture *f = *state;
	cwmp_reply rep;
	const char *unknown[] = {"Device.DeviceInfo.Manufacturer", "Device.NoSuchThing."};
	const char *missing[] = {"Device.DeviceInfo.FirmwareImage.9.Name"};

	gpa(f, unknown, 2, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(rep.msg.u.fault.code, CWMP_FAULT_INVALID_PARAMETER_NAME);
	cwmp_reply_free(&rep);
	gpa(f, missing, 1, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(rep.msg.u.fault.code, CWMP_FAULT_INVALID_PARAMETER_NAME);
	cwmp_reply_free(&rep);
}

static void test_spa_faults_apply_nothing(void **state)
{
	fixture *f = *state;
	static const struct {
		spa_row bad;
		unsigned fault;
	} cases[] = {
		{{"Device.NoSuchThing", 1, NULL}, CWMP_FAULT_INVALID_PARAMETER_NAME},
		{{"Device.DeviceInfo.FirmwareImage.9.", 1, NULL}, CWMP_FAULT_INVALID_PARAMETER_NAME},
		{{"Device.DeviceInfo.ModelName", 7, NULL}, CWMP_FAULT_INVALID_ARGUMENTS},
		{{"Device.DeviceInfo.ModelName", 3, NULL}, CWMP_FAULT_NOTIFICATION_REJECTED},
		{{"Device.DeviceInfo.ModelName", 6, NULL}, CWMP_FAULT_NOTIFICATION_REJECTED},
		/* canDeny */
		{{"Device.ManagementServer.ParameterKey", 2, NULL}, CWMP_FAULT_NOTIFICATION_REJECTED},
		/* live, not canDeny */
		{{"Device.DeviceInfo.ModelNumber", 2, NULL}, CWMP_FAULT_NOTIFICATION_REJECTED},
		/* a partial path holding canDeny parameters */
		{{"Device.DeviceInfo.", 2, NULL}, CWMP_FAULT_NOTIFICATION_REJECTED},
		{{"Device.DeviceInfo.ModelName", KEEP, "Admin"}, CWMP_FAULT_INVALID_ARGUMENTS},
	};

	for (size_t i = 0; i < N(cases); i++) {
		const spa_row rows[] = {
			{"Device.DeviceInfo.Manufacturer", 1, "Subscriber"},
			cases[i].bad,
			{"Device.DeviceInfo.HardwareVersion", 1, NULL},
		};
		unsigned got = spa_fault(f, rows, N(rows));
		if (got != cases[i].fault)
			fail_msg("case %zu (%s): fault %u, want %u", i, cases[i].bad.name, got, cases[i].fault);
		bool sub = true;
		assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 0);
		assert_false(sub);
		assert_int_equal(notification_of(f, "Device.DeviceInfo.HardwareVersion", NULL), 0);
		assert_false(state_has(f, "cwmp.attrs", "Device.DeviceInfo.Manufacturer", NULL, 0));
	}
	/* passive is fine wherever active is refused */
	const spa_row passive[] = {{"Device.ManagementServer.ParameterKey", 1, NULL},
				   {"Device.DeviceInfo.ModelNumber", 1, NULL}};
	spa_ok(f, passive, N(passive));
	assert_int_equal(notification_of(f, "Device.ManagementServer.ParameterKey", NULL), 1);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.ModelNumber", NULL), 1);
}

static void test_persistence_and_reset(void **state)
{
	fixture *f = *state;
	const spa_row rows[] = {
		{"Device.DeviceInfo.Manufacturer", 1, "Subscriber"},
		{"Device.ManagementServer.PeriodicInformInterval", 2, NULL},
		{"Device.ManagementServer.ConnectionRequestURL", 0, NULL},
		{"Device.DeviceInfo.SoftwareVersion", KEEP, "Subscriber"},
	};
	char rec[64];
	bool sub;

	spa_ok(f, rows, N(rows));
	assert_true(state_has(f, "cwmp.attrs", "Device.DeviceInfo.Manufacturer", rec, sizeof rec));
	assert_string_equal(rec, "1Subscriber");
	close_attrs(f);
	open_attrs(f);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 1);
	assert_true(sub);
	assert_int_equal(notification_of(f, "Device.ManagementServer.PeriodicInformInterval", NULL), 2);
	assert_int_equal(notification_of(f, "Device.ManagementServer.ConnectionRequestURL", NULL), 0);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.SoftwareVersion", &sub), 2);
	assert_true(sub);

	/* back to the default: no record left */
	const spa_row back[] = {{"Device.ManagementServer.ConnectionRequestURL", 2, NULL}};
	spa_ok(f, back, 1);
	assert_false(state_has(f, "cwmp.attrs", "Device.ManagementServer.ConnectionRequestURL", NULL, 0));

	set_as(f, &o_usp, "Device.ManagementServer.PeriodicInformInterval", "600");
	assert_true(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));
	assert_int_equal(cwmp_attrs_reset(f->at), DM_OK);
	assert_false(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 0);
	assert_false(sub);
	assert_int_equal(notification_of(f, "Device.ManagementServer.PeriodicInformInterval", NULL), 0);
	assert_false(state_has(f, "cwmp.attrs", "Device.DeviceInfo.Manufacturer", NULL, 0));
	close_attrs(f);
	open_attrs(f);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.Manufacturer", &sub), 0);
	assert_false(sub);
	assert_int_equal(notification_of(f, "Device.DeviceInfo.SoftwareVersion", &sub), 2);
	assert_false(sub);
}

/* ---- change tracking ---------------------------------------------------------------- */

static void test_changes_by_origin(void **state)
{
	fixture *f = *state;
	const spa_row rows[] = {
		{"Device.ManagementServer.PeriodicInformInterval", 1, NULL},
		{"Device.DeviceInfo.FriendlyName", 2, NULL},
	};
	char value[64];

	spa_ok(f, rows, N(rows));
	f->n_raised = 0;

	/* off: nothing */
	set_as(f, &o_usp, "Device.DeviceInfo.HostName", "other");
	assert_int_equal(f->n_raised, 0);
	assert_false(changed_in_inform(f, "Device.DeviceInfo.HostName", NULL, 0));

	/* the ACS's own change: nothing */
	set_as(f, &o_cwmp, "Device.ManagementServer.PeriodicInformInterval", "120");
	set_as(f, &o_cwmp, "Device.DeviceInfo.FriendlyName", "acs name");
	assert_int_equal(f->n_raised, 0);
	assert_false(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));

	/* passive by a Controller: queued */
	set_as(f, &o_usp, "Device.ManagementServer.PeriodicInformInterval", "300");
	assert_int_equal(f->n_raised, 1);
	assert_string_equal(f->raised[0].code, "4 VALUE CHANGE");
	assert_int_equal(f->raised[0].urgency, CWMP_RAISE_QUEUE);

	/* active by the admin, then the device: throttled, coalesced */
	set_as(f, &o_admin, "Device.DeviceInfo.FriendlyName", "first");
	set_as(f, &o_internal, "Device.DeviceInfo.FriendlyName", "second");
	assert_int_equal(f->n_raised, 3);
	assert_int_equal(f->raised[1].urgency, CWMP_RAISE_THROTTLED);
	assert_int_equal(f->raised[2].urgency, CWMP_RAISE_THROTTLED);

	/* a forced parameter needs no SPA */
	set_as(f, &o_usp, "Device.DeviceInfo.ProvisioningCode", "NEW.CODE");
	assert_int_equal(f->n_raised, 4);
	assert_int_equal(f->raised[3].urgency, CWMP_RAISE_THROTTLED);

	inform in;
	build_inform(f, value_change, 1, &in);
	assert_in_inform(&in, "Device.ManagementServer.PeriodicInformInterval", "300");
	assert_in_inform(&in, "Device.DeviceInfo.FriendlyName", "second");
	assert_in_inform(&in, "Device.DeviceInfo.ProvisioningCode", "NEW.CODE");
	assert_null(param_in(&in, "Device.DeviceInfo.HostName"));
	assert_unique_names(&in);
	assert_int_equal(param_in(&in, "Device.ManagementServer.PeriodicInformInterval")->type,
			 CWMP_TYPE_UNSIGNED_INT);
	free_inform(&in);
	assert_true(changed_in_inform(f, "Device.DeviceInfo.FriendlyName", value, sizeof value));
	assert_string_equal(value, "second");
}

static void test_inform_param_list(void **state)
{
	fixture *f = *state;
	static const char *const forced[] = {
		"Device.RootDataModelVersion",
		"Device.DeviceInfo.HardwareVersion",
		"Device.DeviceInfo.SoftwareVersion",
		"Device.DeviceInfo.ProvisioningCode",
		"Device.ManagementServer.ParameterKey",
		"Device.ManagementServer.ConnectionRequestURL",
		"Device.ManagementServer.AliasBasedAddressing",
	};
	const char *table = "Device.ManagementServer.InformParameter.";
	char path[128];
	static const struct {
		const char *name, *events;
		bool enable;
	} rows[] = {
		{"Device.DeviceInfo.Manufacturer", "", true},
		{"Device.DeviceInfo.FirmwareImage.", "1 BOOT, 6 CONNECTION REQUEST", true},
		{"Device.DeviceInfo.ModelName", "", false},
		{"Device.DeviceInfo.SoftwareVersion", "", true}, /* also forced: once */
		{"Device.DeviceInfo.NoSuchParameter", "", true}, /* left out, no failure */
	};

	for (size_t i = 0; i < N(rows); i++) {
		uint32_t inst = add_as(f, &o_internal, table);
		snprintf(path, sizeof path, "%s%u.ParameterName", table, inst);
		set_as(f, &o_internal, path, rows[i].name);
		snprintf(path, sizeof path, "%s%u.EventList", table, inst);
		set_as(f, &o_internal, path, rows[i].events);
		snprintf(path, sizeof path, "%s%u.Enable", table, inst);
		set_as(f, &o_internal, path, rows[i].enable ? "true" : "false");
	}
	const spa_row watch[] = {{"Device.DeviceInfo.HostName", 1, NULL}};
	spa_ok(f, watch, 1);
	set_as(f, &o_usp, "Device.DeviceInfo.HostName", "changed");

	inform in;
	build_inform(f, periodic, 1, &in);
	for (size_t i = 0; i < N(forced); i++)
		assert_in_inform(&in, forced[i], NULL);
	assert_in_inform(&in, "Device.DeviceInfo.SoftwareVersion", "0.1.0");
	assert_in_inform(&in, "Device.RootDataModelVersion", "2.19");
	assert_int_equal(param_in(&in, "Device.ManagementServer.AliasBasedAddressing")->type,
			 CWMP_TYPE_BOOLEAN);
	assert_in_inform(&in, "Device.DeviceInfo.Manufacturer", "Duet Networks");
	assert_null(param_in(&in, "Device.DeviceInfo.FirmwareImage.1.Name"));
	assert_null(param_in(&in, "Device.DeviceInfo.ModelName"));
	assert_null(param_in(&in, "Device.DeviceInfo.HostName")); /* no VALUE CHANGE event */
	assert_int_equal(in.n, N(forced) + 1);
	free_inform(&in);

	const char *const cr[] = {"6 CONNECTION REQUEST", "4 VALUE CHANGE"};
	build_inform(f, cr, 2, &in);
	assert_in_inform(&in, "Device.DeviceInfo.FirmwareImage.1.Name", "duetgw-0.1.0.img");
	assert_in_inform(&in, "Device.DeviceInfo.FirmwareImage.2.Version", "0.0.9");
	assert_in_inform(&in, "Device.DeviceInfo.Manufacturer", NULL);
	assert_in_inform(&in, "Device.DeviceInfo.HostName", "changed");
	assert_unique_names(&in);
	free_inform(&in);

	/* VALUE CHANGE alone: the rows with an empty EventList stay out */
	build_inform(f, value_change, 1, &in);
	assert_null(param_in(&in, "Device.DeviceInfo.Manufacturer"));
	assert_in_inform(&in, "Device.DeviceInfo.HostName", "changed");
	assert_int_equal(in.n, N(forced) + 1);
	free_inform(&in);
}

static void test_delivery_clears_what_was_reported(void **state)
{
	fixture *f = *state;
	const spa_row rows[] = {
		{"Device.DeviceInfo.HostName", 1, NULL},
		{"Device.DeviceInfo.FriendlyName", 1, NULL},
		{"Device.ManagementServer.PeriodicInformInterval", 1, NULL},
	};
	char value[64];
	inform in;

	spa_ok(f, rows, N(rows));
	set_as(f, &o_usp, "Device.DeviceInfo.HostName", "h1");
	set_as(f, &o_usp, "Device.DeviceInfo.FriendlyName", "f1");
	build_inform(f, value_change, 1, &in);
	assert_in_inform(&in, "Device.DeviceInfo.HostName", "h1");
	/* after the Inform was built: a new change, and one to a reported one */
	set_as(f, &o_usp, "Device.ManagementServer.PeriodicInformInterval", "900");
	set_as(f, &o_usp, "Device.DeviceInfo.FriendlyName", "f2");
	f->agent.inform_delivered(&f->agent);
	free_inform(&in);

	assert_false(changed_in_inform(f, "Device.DeviceInfo.HostName", NULL, 0));
	assert_true(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));
	assert_true(changed_in_inform(f, "Device.DeviceInfo.FriendlyName", value, sizeof value));
	assert_string_equal(value, "f2");

	/* an Inform without VALUE CHANGE delivers none of them */
	build_inform(f, periodic, 1, &in);
	f->agent.inform_delivered(&f->agent);
	free_inform(&in);
	assert_true(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));

	build_inform(f, value_change, 1, &in);
	f->agent.inform_delivered(&f->agent);
	free_inform(&in);
	assert_false(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));
	assert_false(changed_in_inform(f, "Device.DeviceInfo.FriendlyName", NULL, 0));

	/* the delivered values became the baselines */
	assert_true(state_has(f, "cwmp.baseline", "Device.DeviceInfo.FriendlyName", value, sizeof value));
	assert_string_equal(value, "f2");
}

/* ---- baselines ------------------------------------------------------------------------ */

static void test_baseline_catches_changes_while_down(void **state)
{
	fixture *f = *state;
	const spa_row rows[] = {{"Device.ManagementServer.PeriodicInformInterval", 1, NULL},
				{"Device.DeviceInfo.FriendlyName", 1, NULL}};
	char value[64];

	spa_ok(f, rows, N(rows));
	assert_true(state_has(f, "cwmp.baseline", "Device.DeviceInfo.SoftwareVersion", value, sizeof value));
	assert_string_equal(value, "0.1.0");
	assert_true(state_has(f, "cwmp.baseline", "Device.ManagementServer.PeriodicInformInterval", value,
			      sizeof value));
	assert_string_equal(value, "3600");

	/* a quiet restart finds nothing */
	close_attrs(f);
	f->n_raised = 0;
	open_attrs(f);
	assert_int_equal(f->n_raised, 0);

	/* the ACS's change while up moves the baseline (from the loop) */
	set_as(f, &o_cwmp, "Device.DeviceInfo.FriendlyName", "by acs");
	run_loop(f);
	assert_true(state_has(f, "cwmp.baseline", "Device.DeviceInfo.FriendlyName", value, sizeof value));
	assert_string_equal(value, "by acs");

	/* a new firmware and a passive change while down */
	close_attrs(f);
	set_as(f, &o_internal, "Device.DeviceInfo.SoftwareVersion", "0.2.0");
	set_as(f, &o_internal, "Device.ManagementServer.PeriodicInformInterval", "60");
	f->n_raised = 0;
	open_attrs(f);
	assert_int_equal(f->n_raised, 1);
	assert_string_equal(f->raised[0].code, "4 VALUE CHANGE");
	assert_int_equal(f->raised[0].urgency, CWMP_RAISE_THROTTLED);
	assert_true(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", value, sizeof value));
	assert_string_equal(value, "60");
	assert_false(changed_in_inform(f, "Device.DeviceInfo.FriendlyName", NULL, 0));

	/* not delivered: a second restart still finds them */
	close_attrs(f);
	f->n_raised = 0;
	open_attrs(f);
	assert_int_equal(f->n_raised, 1);

	inform in;
	const char *const boot[] = {"1 BOOT", "4 VALUE CHANGE"};
	build_inform(f, boot, 2, &in);
	assert_in_inform(&in, "Device.DeviceInfo.SoftwareVersion", "0.2.0");
	assert_in_inform(&in, "Device.ManagementServer.PeriodicInformInterval", "60");
	f->agent.inform_delivered(&f->agent);
	free_inform(&in);
	assert_true(state_has(f, "cwmp.baseline", "Device.DeviceInfo.SoftwareVersion", value, sizeof value));
	assert_string_equal(value, "0.2.0");

	/* delivered: the next restart is quiet again */
	close_attrs(f);
	f->n_raised = 0;
	open_attrs(f);
	assert_int_equal(f->n_raised, 0);
	assert_false(changed_in_inform(f, "Device.ManagementServer.PeriodicInformInterval", NULL, 0));

	/* no longer watched: no baseline */
	const spa_row off[] = {{"Device.ManagementServer.PeriodicInformInterval", 0, NULL}};
	spa_ok(f, off, 1);
	assert_false(state_has(f, "cwmp.baseline", "Device.ManagementServer.PeriodicInformInterval", NULL, 0));
}

/* ---- deleted instances and computed counts ------------------------------------------- */

static void test_delete_drops_attributes(void **state)
{
	fixture *f = *state;
	const char *table = "Device.ManagementServer.InformParameter.";
	char path[256], obj[128];
	uint32_t inst = add_as(f, &o_internal, table);

	snprintf(obj, sizeof obj, "%s%u.", table, inst);
	snprintf(path, sizeof path, "%sParameterName", obj);
	const spa_row rows[] = {{obj, 1, "Subscriber"},
				{"Device.ManagementServer.InformParameterNumberOfEntries", 1, NULL}};
	spa_ok(f, rows, N(rows));
	assert_true(state_has(f, "cwmp.attrs", path, NULL, 0));
	set_as(f, &o_usp, path, "Device.DeviceInfo.ModelName");
	assert_true(changed_in_inform(f, path, NULL, 0));

	f->n_raised = 0;
	delete_as(f, &o_usp, obj);
	assert_false(changed_in_inform(f, path, NULL, 0));
	cwmp_reply rep;
	const char *names[] = {path};
	gpa(f, names, 1, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(rep.msg.u.fault.code, CWMP_FAULT_INVALID_PARAMETER_NAME);
	cwmp_reply_free(&rep);
	/* the count changed without a value change on the feed */
	assert_int_equal(f->n_raised, 1);
	char value[16];
	assert_true(changed_in_inform(f, "Device.ManagementServer.InformParameterNumberOfEntries", value,
				      sizeof value));
	assert_string_equal(value, "0");

	/* the records go from the loop */
	run_loop(f);
	assert_false(state_has(f, "cwmp.attrs", path, NULL, 0));

	/* the ACS's own AddObject is not reported back */
	f->n_raised = 0;
	add_as(f, &o_cwmp, table);
	assert_int_equal(f->n_raised, 0);
}

/* Records of an instance deleted while the agent was down go at open. */
static void test_stale_records_dropped_at_open(void **state)
{
	fixture *f = *state;
	const char *table = "Device.ManagementServer.InformParameter.";
	char path[128], obj[96];
	uint32_t inst = add_as(f, &o_internal, table);

	snprintf(obj, sizeof obj, "%s%u.", table, inst);
	snprintf(path, sizeof path, "%sEnable", obj);
	const spa_row rows[] = {{path, 1, NULL}};
	spa_ok(f, rows, 1);
	assert_true(state_has(f, "cwmp.attrs", path, NULL, 0));
	assert_true(state_has(f, "cwmp.baseline", path, NULL, 0));
	close_attrs(f);
	delete_as(f, &o_internal, obj);
	open_attrs(f);
	assert_false(state_has(f, "cwmp.attrs", path, NULL, 0));
	assert_false(state_has(f, "cwmp.baseline", path, NULL, 0));
	assert_false(changed_in_inform(f, path, NULL, 0));
}

static int group_setup(void **state)
{
	dm_errinfo err = {0};

	if (dm_schema_load("datamodel/device2.xml", &schema, &err))
		fail_msg("schema: %s", err.msg);
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(schema);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spa_gpa_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpa_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spa_faults_apply_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_by_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inform_param_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_clears_what_was_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baseline_catches_changes_while_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_drops_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_records_dropped_at_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
