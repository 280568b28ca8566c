/*
 * test_usp_trust.c - ControllerTrust on a real engine (datamodel/device2.xml
 * with the factory defaults: Role.1 "Full Access", Role.2 "Untrusted"):
 * identifying Controllers by EndpointID, AssignedRole/InheritedRole and the
 * UntrustedRole fallback, Targets (partial paths, wildcards, search
 * expressions, commands), the four flag strings, Order precedence within a
 * Role and the union across Roles, disabled entries, and the cache dropped
 * when the configuration changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static dm_schema *schema;

/* A stand-in for agent.c's accessors: the unit under test is subs/trust,
 * and no MTP opens a socket here. Defined in this file, agent.o is never
 * pulled from the library. */
struct usp_agent {
	dm *d;
	core_loop *loop;
	usp_options opts;
	usp_subs *subs;
};
dm *usp_agent_dm(usp_agent *a) { return a->d; }
core_loop *usp_agent_loop(usp_agent *a) { return a->loop; }
const usp_options *usp_agent_options(usp_agent *a) { return &a->opts; }
usp_subs *usp_agent_subs(usp_agent *a) { return a->subs; }
int usp_send_msg(usp_agent *a, const char *to, const Usp__Msg *msg) { return DM_ERR_NOT_INSTANTIATED; }


typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	usp_agent agent;
	usp_agent *a;
} fixture;

static const dm_origin o_internal = {DM_ORIGIN_INTERNAL, "test"};
static const char ROLES[] = "Device.LocalAgent.ControllerTrust.Role.";

static void set_many(fixture *f, const char *const *pv)
{
	dm_txn *t;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o_internal, &t), DM_OK);
	for (; *pv; pv += 2)
		if (dm_set(t, pv[0], pv[1], &err))
			fail_msg("set %s=%s: %s", pv[0], pv[1], err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static uint32_t add_obj(fixture *f, const char *table)
{
	dm_txn *t;
	dm_errinfo err = {0};
	uint32_t inst = 0;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o_internal, &t), DM_OK);
	assert_int_equal(dm_add(t, table, NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

static uint32_t add_controller(fixture *f, const char *endpoint, const char *assigned)
{
	uint32_t c = add_obj(f, "Device.LocalAgent.Controller.");
	char p1[96], p2[96];
	snprintf(p1, sizeof p1, "Device.LocalAgent.Controller.%u.EndpointID", c);
	snprintf(p2, sizeof p2, "Device.LocalAgent.Controller.%u.AssignedRole", c);
	const char *pv[] = {p1, endpoint, p2, assigned, NULL};
	set_many(f, pv);
	return c;
}

/* A Role with its permissions: rows of {Order, Targets, Param, Obj, InstantiatedObj, CommandEvent}. */
typedef struct perm_def {
	const char *order, *targets, *param, *obj, *inst, *cmd;
	bool disabled;
} perm_def;

static uint32_t add_role(fixture *f, const char *name, const perm_def *perms, size_t n)
{
	uint32_t r = add_obj(f, ROLES);
	char p[2][96];
	snprintf(p[0], sizeof p[0], "%s%u.Enable", ROLES, r);
	snprintf(p[1], sizeof p[1], "%s%u.Name", ROLES, r);
	const char *pv[] = {p[0], "true", p[1], name, NULL};
	set_many(f, pv);
	for (size_t i = 0; i < n; i++) {
		char table[96], q[7][128];
		snprintf(table, sizeof table, "%s%u.Permission.", ROLES, r);
		uint32_t k = add_obj(f, table);
		const char *names[] = {"Enable", "Order", "Targets", "Param", "Obj", "InstantiatedObj", "CommandEvent"};
		for (int j = 0; j < 7; j++)
			snprintf(q[j], sizeof q[j], "%s%u.%s", table, k, names[j]);
		const perm_def *d = &perms[i];
		const char *qv[] = {
			q[0], d->disabled ? "false" : "true",
			q[1], d->order ? d->order : "1",
			q[2], d->targets,
			q[3], d->param ? d->param : "----",
			q[4], d->obj ? d->obj : "----",
			q[5], d->inst ? d->inst : "----",
			q[6], d->cmd ? d->cmd : "----",
			NULL,
		};
		set_many(f, qv);
	}
	return r;
}

static usp_ctl who(fixture *f, const char *endpoint)
{
	usp_ctl ctl;
	memset(&ctl, 0, sizeof ctl);
	snprintf(ctl.endpoint_id, sizeof ctl.endpoint_id, "%s", endpoint);
	assert_int_equal(usp_trust_identify(f->a, &ctl), DM_OK);
	return ctl;
}

static void stop_loop(void *ctx)
{
	core_loop_stop(ctx);
}

static void spin(fixture *f)
{
	assert_int_equal(core_timer_start(f->loop, 5, 0, stop_loop, f->loop, NULL), CORE_OK);
	core_loop_run(f->loop);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-trust-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err;
	if (dm_open(schema, &o, &f->d, &err) || core_loop_new(&f->loop))
		return -1;
	f->agent = (usp_agent){.d = f->d, .loop = f->loop};
	f->a = &f->agent;
	if (usp_subs_start(f->a, &f->agent.subs))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	usp_subs_stop(f->agent.subs);
	core_loop_free(f->loop);
	dm_close(f->d);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* One question and its expected answer. */
typedef struct ask {
	usp_perm_kind kind;
	const char *path;
	unsigned flag;
	bool allowed;
} ask;

static void check(const usp_ctl *ctl, const ask *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (usp_allowed(ctl, rows[i].kind, rows[i].path, rows[i].flag) != rows[i].allowed)
			fail_msg("%s kind %d flag %u: expected %s", rows[i].path, (int)rows[i].kind, rows[i].flag,
				 rows[i].allowed ? "allowed" : "denied");
}

#define CHECK(ctl, rows) check(ctl, rows, sizeof rows / sizeof rows[0])

/* ---- the factory roles ------------------------------------------------------------- */

static void test_full_access(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-full", "Device.LocalAgent.ControllerTrust.Role.1");
	usp_ctl ctl = who(f, "ctl-full");
	assert_int_equal(ctl.controller_inst, c);
	assert_non_null(ctl.role);
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R | USP_PERM_W, true},
		{USP_PERM_OBJ, "Device.IP.Interface.", USP_PERM_W, true},
		{USP_PERM_INST_OBJ, "Device.IP.Interface.1.", USP_PERM_W | USP_PERM_N, true},
		{USP_PERM_CMD_EVENT, "Device.Reboot()", USP_PERM_X, true},
		{USP_PERM_CMD_EVENT, "Device.Boot!", USP_PERM_N, true},
		{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.UntrustedRole", USP_PERM_W, true},
		/* retiring CWMP is the CWMP Retirement role's (C12) */
		{USP_PERM_PARAM, "Device.ManagementServer.EnableCWMP", USP_PERM_R | USP_PERM_N, true},
		{USP_PERM_PARAM, "Device.ManagementServer.EnableCWMP", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.CWMPManagementServer.EnableCWMP", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.ManagementServer.URL", USP_PERM_W, true},
	};
	CHECK(&ctl, rows);
	add_controller(f, "ctl-retire", "Device.LocalAgent.ControllerTrust.Role.1,Device.LocalAgent.ControllerTrust.Role.3");
	ctl = who(f, "ctl-retire");
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.CWMPManagementServer.EnableCWMP", USP_PERM_W));
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_W));
	add_controller(f, "ctl-retire-only", "Device.LocalAgent.ControllerTrust.Role.3");
	ctl = who(f, "ctl-retire-only");
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.ManagementServer.EnableCWMP", USP_PERM_W));
	assert_false(usp_allowed(&ctl, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
}

static const ask untrusted_rows[] = {
	{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R, false},
	{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.Challenge.1.Alias", USP_PERM_R, true},
	{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.Challenge.1.Alias", USP_PERM_W, false},
	{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.Challenge.1.Value", USP_PERM_R, false},
	{USP_PERM_OBJ, "Device.LocalAgent.ControllerTrust.Challenge.", USP_PERM_R, true},
	{USP_PERM_OBJ, "Device.LocalAgent.ControllerTrust.", USP_PERM_R, false},
	{USP_PERM_INST_OBJ, "Device.LocalAgent.ControllerTrust.Challenge.2.", USP_PERM_R, true},
	{USP_PERM_CMD_EVENT, "Device.LocalAgent.ControllerTrust.RequestChallenge()", USP_PERM_X, true},
	{USP_PERM_CMD_EVENT, "Device.LocalAgent.ControllerTrust.ChallengeResponse()", USP_PERM_X, true},
	{USP_PERM_CMD_EVENT, "Device.LocalAgent.ControllerTrust.RequestChallenge()", USP_PERM_R, false},
	{USP_PERM_CMD_EVENT, "Device.Reboot()", USP_PERM_X, false},
};

static void test_unknown_controller_is_untrusted(void **state)
{
	fixture *f = *state;
	usp_ctl ctl = who(f, "stranger");
	assert_int_equal(ctl.controller_inst, 0);
	assert_non_null(ctl.role);
	CHECK(&ctl, untrusted_rows);
}

static void test_known_without_role_is_untrusted(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-new", "");
	usp_ctl ctl = who(f, "ctl-new");
	assert_int_equal(ctl.controller_inst, c);
	CHECK(&ctl, untrusted_rows);
}

static void test_inherited_role_counts(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-inh", "");
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Controller.%u.InheritedRole", c);
	const char *pv[] = {p, "Device.LocalAgent.ControllerTrust.Role.1", NULL};
	set_many(f, pv);
	usp_ctl ctl = who(f, "ctl-inh");
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_W));
}

/* ---- custom roles ------------------------------------------------------------------------ */

static void test_custom_read_only_deviceinfo(void **state)
{
	fixture *f = *state;
	static const perm_def perms[] = {{.targets = "Device.DeviceInfo.", .param = "r---"}};
	uint32_t r = add_role(f, "Reader", perms, 1);
	char ref[96];
	snprintf(ref, sizeof ref, "%s%u", ROLES, r);
	add_controller(f, "ctl-reader", ref);
	usp_ctl ctl = who(f, "ctl-reader");
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R, true},
		{USP_PERM_PARAM, "Device.DeviceInfo.FirmwareImage.1.Name", USP_PERM_R, true},
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_N, false},
		{USP_PERM_PARAM, "Device.DeviceInfoX", USP_PERM_R, false},
		{USP_PERM_PARAM, "Device.WiFi.SSID.1.SSID", USP_PERM_R, false},
		{USP_PERM_OBJ, "Device.DeviceInfo.", USP_PERM_R, false},
		{USP_PERM_CMD_EVENT, "Device.Reboot()", USP_PERM_X, false},
	};
	CHECK(&ctl, rows);
}

static void test_order_precedence(void **state)
{
	fixture *f = *state;
	/* TR-369's example: everything, except ControllerTrust at a higher Order */
	static const perm_def perms[] = {
		{.order = "2", .targets = "Device.LocalAgent.ControllerTrust", .param = "----", .obj = "----",
		 .inst = "----", .cmd = "----"},
		{.order = "1", .targets = "Device", .param = "rwxn", .obj = "rwxn", .inst = "rwxn", .cmd = "rwxn"},
		{.order = "3", .targets = "Device.LocalAgent.ControllerTrust.Role.*.Name", .param = "r---"},
	};
	uint32_t r = add_role(f, "Admin", perms, 3);
	char ref[96];
	snprintf(ref, sizeof ref, "%s%u", ROLES, r);
	add_controller(f, "ctl-admin", ref);
	usp_ctl ctl = who(f, "ctl-admin");
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R | USP_PERM_W, true},
		{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.UntrustedRole", USP_PERM_R, false},
		{USP_PERM_OBJ, "Device.LocalAgent.ControllerTrust.Role.", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.Role.1.Name", USP_PERM_R, true},
		{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.Role.1.Name", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.LocalAgent.ControllerTrustX", USP_PERM_W, true},
		{USP_PERM_CMD_EVENT, "Device.Reboot()", USP_PERM_X, true},
	};
	CHECK(&ctl, rows);
	/* swap the Orders: the whole-tree entry now wins everywhere */
	char p[128];
	snprintf(p, sizeof p, "%s%u.Permission.2.Order", ROLES, r);
	const char *pv[] = {p, "10", NULL};
	set_many(f, pv);
	ctl = who(f, "ctl-admin");
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.LocalAgent.ControllerTrust.UntrustedRole",
				USP_PERM_W));
}

static void test_union_of_roles(void **state)
{
	fixture *f = *state;
	/* TR-369 "A Controller's Role" example with Roles A and B */
	static const perm_def a[] = {
		{.order = "3", .targets = "Device.LocalAgent", .param = "r---"},
		{.order = "55", .targets = "Device.LocalAgent.Controller", .param = "r-xn"},
	};
	static const perm_def b[] = {
		{.order = "20", .targets = "Device.LocalAgent", .param = "r---"},
		{.order = "78", .targets = "Device.LocalAgent.Controller", .param = "----"},
		{.order = "90", .targets = "Device.DeviceInfo.", .param = "-w--", .disabled = true},
	};
	uint32_t ra = add_role(f, "A", a, 2), rb = add_role(f, "B", b, 3);
	char refs[200];
	snprintf(refs, sizeof refs, "%s%u,%s%u", ROLES, ra, ROLES, rb);
	add_controller(f, "ctl-ab", refs);
	usp_ctl ctl = who(f, "ctl-ab");
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.LocalAgent.Controller.1.Enable", USP_PERM_R | USP_PERM_X | USP_PERM_N, true},
		{USP_PERM_PARAM, "Device.LocalAgent.Controller.1.Enable", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.LocalAgent.EndpointID", USP_PERM_R, true},
		{USP_PERM_PARAM, "Device.LocalAgent.EndpointID", USP_PERM_N, false},
		{USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_W, false},
	};
	CHECK(&ctl, rows);
}

static void test_disabled_role_grants_nothing(void **state)
{
	fixture *f = *state;
	add_controller(f, "ctl-x", "Device.LocalAgent.ControllerTrust.Role.1");
	const char *pv[] = {"Device.LocalAgent.ControllerTrust.Role.1.Enable", "false", NULL};
	set_many(f, pv);
	usp_ctl ctl = who(f, "ctl-x");
	assert_false(usp_allowed(&ctl, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
}

static void test_banned_role_wins(void **state)
{
	fixture *f = *state;
	static const perm_def perms[] = {{.targets = "Device.", .param = "r---"}};
	uint32_t r = add_role(f, "Banned", perms, 1);
	char refs[200], banned[96];
	snprintf(banned, sizeof banned, "%s%u.", ROLES, r);
	snprintf(refs, sizeof refs, "Device.LocalAgent.ControllerTrust.Role.1,%s%u", ROLES, r);
	const char *pv[] = {"Device.LocalAgent.ControllerTrust.BannedRole", banned, NULL};
	set_many(f, pv);
	add_controller(f, "ctl-banned", refs);
	usp_ctl ctl = who(f, "ctl-banned");
	assert_non_null(ctl.role);
	assert_false(usp_allowed(&ctl, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
	assert_false(usp_allowed(&ctl, USP_PERM_CMD_EVENT, "Device.Reboot()", USP_PERM_X));
}

static void test_search_and_wildcard_targets(void **state)
{
	fixture *f = *state;
	static const perm_def perms[] = {
		{.targets = "Device.WiFi.SSID.[Name==\"wlan0\"].", .param = "r---"},
		{.order = "2", .targets = "Device.IP.Interface.*.Name,Device.IP.Interface.{i}.", .obj = "r---",
		 .inst = "r---", .param = "-w--"},
	};
	uint32_t r = add_role(f, "Mixed", perms, 2);
	char ref[96];
	snprintf(ref, sizeof ref, "%s%u", ROLES, r);
	add_controller(f, "ctl-m", ref);
	usp_ctl ctl = who(f, "ctl-m");
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.WiFi.SSID.1.SSID", USP_PERM_R, true},
		{USP_PERM_PARAM, "Device.WiFi.SSID.2.SSID", USP_PERM_R, false},
		{USP_PERM_PARAM, "Device.IP.Interface.1.Name", USP_PERM_W, true},
		{USP_PERM_PARAM, "Device.IP.Interface.1.Enable", USP_PERM_W, true},
		{USP_PERM_OBJ, "Device.IP.Interface.{i}.", USP_PERM_R, true},
		{USP_PERM_INST_OBJ, "Device.IP.Interface.7.", USP_PERM_R, true},
		{USP_PERM_INST_OBJ, "Device.IP.Interface.", USP_PERM_R, false},
	};
	CHECK(&ctl, rows);
}

static void test_flag_strings(void **state)
{
	fixture *f = *state;
	static const perm_def perms[] = {
		{.targets = "Device.", .param = "r-x-", .obj = "-w-n", .inst = "xxxx", .cmd = "n-x-"},
	};
	uint32_t r = add_role(f, "Flags", perms, 1);
	char ref[96];
	snprintf(ref, sizeof ref, "%s%u", ROLES, r);
	add_controller(f, "ctl-f", ref);
	usp_ctl ctl = who(f, "ctl-f");
	static const ask rows[] = {
		{USP_PERM_PARAM, "Device.X", USP_PERM_R | USP_PERM_X, true},
		{USP_PERM_PARAM, "Device.X", USP_PERM_W, false},
		{USP_PERM_PARAM, "Device.X", USP_PERM_N, false},
		{USP_PERM_OBJ, "Device.X.", USP_PERM_W | USP_PERM_N, true},
		{USP_PERM_OBJ, "Device.X.", USP_PERM_R, false},
		{USP_PERM_INST_OBJ, "Device.X.1.", USP_PERM_R, false},
		{USP_PERM_CMD_EVENT, "Device.X()", USP_PERM_R, false},
		{USP_PERM_CMD_EVENT, "Device.X()", USP_PERM_X, true}, /* 'x' in its place counts */
		{USP_PERM_CMD_EVENT, "Device.X()", USP_PERM_N, false},
	};
	CHECK(&ctl, rows);
}

/* ---- the cache ------------------------------------------------------------------------------ */

static void test_cache_follows_configuration(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-c", "Device.LocalAgent.ControllerTrust.Role.2");
	usp_ctl before = who(f, "ctl-c");
	assert_false(usp_allowed(&before, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
	usp_ctl again = who(f, "ctl-c");
	assert_ptr_equal(again.role, before.role);
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Controller.%u.AssignedRole", c);
	const char *pv[] = {p, "Device.LocalAgent.ControllerTrust.Role.1", NULL};
	set_many(f, pv);
	/* a role handed out before the change still answers until the loop turns */
	assert_false(usp_allowed(&before, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
	usp_ctl after = who(f, "ctl-c");
	assert_true(usp_allowed(&after, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
	/* a permission edit drops it too */
	const char *pv2[] = {"Device.LocalAgent.ControllerTrust.Role.1.Permission.1.Param", "----", NULL};
	set_many(f, pv2);
	spin(f);
	after = who(f, "ctl-c");
	assert_false(usp_allowed(&after, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
	/* and so does an explicit invalidation */
	usp_trust_invalidate(f->a);
	spin(f);
	after = who(f, "ctl-c");
	assert_false(usp_allowed(&after, USP_PERM_PARAM, "Device.DeviceInfo.FriendlyName", USP_PERM_R));
}

static void test_null_role_is_full_access(void **state)
{
	usp_ctl ctl = {.endpoint_id = "local", .role = NULL};
	assert_true(usp_allowed(&ctl, USP_PERM_PARAM, "Device.Anything", USP_PERM_W));
	assert_false(usp_allowed(NULL, USP_PERM_PARAM, "Device.Anything", USP_PERM_R));
}

/* usp_allowed is asked once per parameter of a Get: keep it cheap. */
static void test_allowed_is_fast(void **state)
{
	fixture *f = *state;
	static const perm_def perms[] = {
		{.order = "1", .targets = "Device.", .param = "r---"},
		{.order = "2", .targets = "Device.LocalAgent.ControllerTrust.,Device.ManagementServer.", .param = "----"},
		{.order = "3", .targets = "Device.WiFi.SSID.*.SSID,Device.WiFi.AccessPoint.*.Security.", .param = "rw--"},
	};
	uint32_t r = add_role(f, "Busy", perms, 3);
	char ref[96];
	snprintf(ref, sizeof ref, "%s%u", ROLES, r);
	add_controller(f, "ctl-busy", ref);
	usp_ctl ctl = who(f, "ctl-busy");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned yes = 0;
	for (unsigned i = 0; i < 100000; i++) {
		char path[96];
		snprintf(path, sizeof path, "Device.WiFi.AccessPoint.%u.Security.KeyPassphrase", i % 50);
		yes += usp_allowed(&ctl, USP_PERM_PARAM, path, USP_PERM_W);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(yes, 100000);
	/* generous even under valgrind: about 10 us a question */
	assert_true(ms < 1000 * 10);
	print_message("usp_allowed: %.0f ns per question\n", ms * 1e6 / 100000);

	/* all but one parameter (the shipped Full Access): no pattern is
	 * matched for the paths the exception does not name */
	add_controller(f, "ctl-full", "Device.LocalAgent.ControllerTrust.Role.1");
	ctl = who(f, "ctl-full");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	yes = 0;
	for (unsigned i = 0; i < 100000; i++) {
		char path[96];
		snprintf(path, sizeof path, "Device.WiFi.AccessPoint.%u.Security.KeyPassphrase", i % 50);
		yes += usp_allowed(&ctl, USP_PERM_PARAM, path, USP_PERM_W);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(yes, 100000);
	assert_true(ms < 1000 * 10);
	print_message("usp_allowed, Full Access: %.0f ns per question\n", ms * 1e6 / 100000);
}

int main(void)
{
	dm_errinfo err;
	if (dm_schema_load("datamodel/device2.xml", &schema, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	core_log_set_level(CORE_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_controller_is_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_without_role_is_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inherited_role_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_custom_read_only_deviceinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_union_of_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_role_grants_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_banned_role_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_and_wildcard_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_follows_configuration, setup, teardown),
		cmocka_unit_test(test_null_role_is_full_access),
		cmocka_unit_test_setup_teardown(test_allowed_is_fast, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(schema);
	return rc;
}
