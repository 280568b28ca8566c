/*
 * test_migration.c - A/B trial control (mapping/ownership.c,
 * mapping/migration.c): ownership rules decide which manager may write
 * where (longest prefix, durable, ADMIN and INTERNAL never refused, the
 * refusal's codes on both sides), the stacks' activity and since when,
 * recorded from the loop and not from the change feed, and the admin verbs
 * owner, stacks and audit through core_admin_run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin.h"
#include "faults.h"
#include "migration.h"
#include "ownership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static dm_schema *schema;

typedef struct fixture {
	char dir[64];
	char defaults[128];
	dm *d;
	map_migration *m;
} fixture;

static void open_all(fixture *f)
{
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = f->defaults};
	dm_errinfo err = {0};
	if (dm_open(schema, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	if (map_migration_start(f->d, NULL, &f->m, &err))
		fail_msg("map_migration_start: %s", err.msg);
}

static void close_all(fixture *f)
{
	map_migration_stop(f->m);
	f->m = NULL;
	dm_close(f->d);
	f->d = NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-migration-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->defaults, sizeof f->defaults, "%s/defaults.txt", f->dir);
	FILE *df = fopen(f->defaults, "w");
	assert_non_null(df);
	fputs("Device.ManagementServer.EnableCWMP true\n"
	      "Device.ManagementServer.URL http://acs.example/cwmp\n"
	      "Device.LocalAgent.MTP.1.Enable false\n"
	      "Device.DeviceInfo.HostName gw\n",
	      df);
	fclose(df);
	open_all(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	if (f->d)
		close_all(f);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int set_as(dm *d, dm_origin_kind kind, const char *path, const char *value, dm_errinfo *err)
{
	dm_origin o = {kind, "tester"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &o, &t), DM_OK);
	int rc = dm_set(t, path, value, err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

static int delete_as(dm *d, dm_origin_kind kind, const char *path, dm_errinfo *err)
{
	dm_origin o = {kind, "tester"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &o, &t), DM_OK);
	int rc = dm_delete(t, path, err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

/* ---- ownership ------------------------------------------------------------ */

static void test_longest_prefix_wins(void **state)
{
	fixture *f = *state;
	map_ownership *o = map_migration_ownership(f->m);
	dm_errinfo err = {0};

	assert_int_equal(map_ownership_set(o, "Device.LocalAgent.", MAP_OWNER_USP, &err), DM_OK);
	assert_int_equal(map_ownership_set(o, "Device.LocalAgent.MTP.", MAP_OWNER_CWMP, &err), DM_OK);
	assert_int_equal(map_ownership_set(o, "Device.DeviceInfo.HostName", MAP_OWNER_USP, &err), DM_OK);
	static const struct {
		const char *path;
		map_owner want;
	} rows[] = {
		{"Device.LocalAgent.EndpointID", MAP_OWNER_USP},
		{"Device.LocalAgent.MTP.1.Enable", MAP_OWNER_CWMP},
		{"Device.LocalAgent.MTP.", MAP_OWNER_CWMP},
		{"Device.LocalAgentX.Foo", MAP_OWNER_SHARED},
		{"Device.DeviceInfo.HostName", MAP_OWNER_USP},
		/* a parameter rule covers that parameter only */
		{"Device.DeviceInfo.HostNameX", MAP_OWNER_SHARED},
		{"Device.DeviceInfo.Description", MAP_OWNER_SHARED},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (map_ownership_of(o, rows[i].path) != rows[i].want)
			fail_msg("%s: %s, expected %s", rows[i].path, map_owner_name(map_ownership_of(o, rows[i].path)),
				 map_owner_name(rows[i].want));
	/* shared removes the rule: the shorter one applies again */
	assert_int_equal(map_ownership_set(o, "Device.LocalAgent.MTP.", MAP_OWNER_SHARED, &err), DM_OK);
	assert_int_equal(map_ownership_of(o, "Device.LocalAgent.MTP.1.Enable"), MAP_OWNER_USP);
}

static void test_guard_refuses_the_other_manager(void **state)
{
	fixture *f = *state;
	map_ownership *o = map_migration_ownership(f->m);
	dm_errinfo err = {0};

	/* no rules: both managers write anywhere */
	assert_int_equal(set_as(f->d, DM_ORIGIN_CWMP, "Device.DeviceInfo.HostName", "acs-1", &err), DM_OK);
	assert_int_equal(map_ownership_set(o, "Device.DeviceInfo.HostName", MAP_OWNER_USP, &err), DM_OK);
	assert_int_equal(set_as(f->d, DM_ORIGIN_CWMP, "Device.DeviceInfo.HostName", "acs-2", &err), DM_ERR_DENIED);
	/* the codes each protocol answers with (notes §15 C4) */
	assert_int_equal(map_dm_to_cwmp_fault(err.code, err.reason, MAP_OP_SET_PARAM), 9001);
	assert_int_equal(map_dm_to_usp_err(err.code, err.reason, MAP_OP_SET_PARAM), 7006);
	char v[64];
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.DeviceInfo.HostName", v, sizeof v, &err), DM_OK);
	assert_string_equal(v, "acs-1");
	assert_int_equal(set_as(f->d, DM_ORIGIN_USP, "Device.DeviceInfo.HostName", "ctl", &err), DM_OK);
	assert_int_equal(set_as(f->d, DM_ORIGIN_ADMIN, "Device.DeviceInfo.HostName", "adm", &err), DM_OK);
	assert_int_equal(set_as(f->d, DM_ORIGIN_INTERNAL, "Device.DeviceInfo.HostName", "int", &err), DM_OK);
	/* the ACS's writes elsewhere are not affected */
	assert_int_equal(set_as(f->d, DM_ORIGIN_CWMP, "Device.DeviceInfo.ProvisioningCode", "p", &err), DM_OK);

	/* a cwmp-owned subtree refuses the Controller; deleting an instance that
	 * holds the ACS's subtree is refused to the Controller too */
	assert_int_equal(map_ownership_set(o, "Device.LocalAgent.MTP.1.Enable", MAP_OWNER_CWMP, &err), DM_OK);
	assert_int_equal(set_as(f->d, DM_ORIGIN_USP, "Device.LocalAgent.MTP.1.Enable", "true", &err), DM_ERR_DENIED);
	assert_int_equal(delete_as(f->d, DM_ORIGIN_USP, "Device.LocalAgent.MTP.1.", &err), DM_ERR_DENIED);
	assert_true(map_ownership_allows(o, &(dm_origin){DM_ORIGIN_CWMP, NULL}, DM_CHANGE_DELETE,
					 "Device.LocalAgent.MTP.1."));
}

static void test_rules_durable_and_checked(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};

	assert_int_equal(map_ownership_set(map_migration_ownership(f->m), "Device.DeviceInfo.HostName",
					   MAP_OWNER_USP, &err), DM_OK);
	assert_int_equal(map_ownership_set(map_migration_ownership(f->m), "Device.LocalAgent.Controller.",
					   MAP_OWNER_CWMP, &err), DM_OK);
	assert_int_equal(map_ownership_set(map_migration_ownership(f->m), "Device.LocalAgent.Controller.",
					   MAP_OWNER_SHARED, &err), DM_OK);
	close_all(f);
	open_all(f);
	map_ownership *o = map_migration_ownership(f->m);
	assert_int_equal(map_ownership_of(o, "Device.DeviceInfo.HostName"), MAP_OWNER_USP);
	assert_int_equal(map_ownership_of(o, "Device.LocalAgent.Controller.1.Enable"), MAP_OWNER_SHARED);
	/* and the reloaded rule is enforced */
	assert_int_equal(set_as(f->d, DM_ORIGIN_CWMP, "Device.DeviceInfo.HostName", "x", &err), DM_ERR_DENIED);

	/* prefixes must be paths the schema knows */
	assert_int_equal(map_ownership_set(o, "Device.NoSuch.", MAP_OWNER_USP, &err), DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(map_ownership_set(o, "Device.IP.Interface.*.", MAP_OWNER_USP, &err), DM_ERR_SYNTAX);
	assert_int_equal(map_ownership_set(o, "InternetGatewayDevice.", MAP_OWNER_USP, &err), DM_ERR_SYNTAX);
	assert_int_equal(map_ownership_set(o, "Device.IP.Interface.3.", MAP_OWNER_USP, &err), DM_OK);
	map_owner w;
	assert_int_equal(map_owner_parse("both", &w), DM_ERR_INVALID_VALUE);
	assert_int_equal(map_owner_parse("usp", &w), DM_OK);
	assert_int_equal(w, MAP_OWNER_USP);
}

/* ---- stacks ------------------------------------------------------------------ */

static void test_stacks_status(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	map_stack_status cwmp, usp;
	int64_t t0 = (int64_t)time(NULL) * 1000;

	assert_int_equal(map_migration_stack(f->m, MAP_STACK_CWMP, &cwmp), DM_OK);
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_USP, &usp), DM_OK);
	assert_true(cwmp.active);
	assert_false(usp.active);
	assert_true(cwmp.since_ms >= t0 - 60000 && cwmp.since_ms <= t0 + 60000);
	int64_t cwmp_since = cwmp.since_ms;

	usleep(5000);
	assert_int_equal(set_as(f->d, DM_ORIGIN_CWMP, "Device.LocalAgent.MTP.1.Enable", "true", &err), DM_OK);
	/* the feed only notes it: the record is written from the loop */
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_USP, &usp), DM_OK);
	assert_false(usp.active);
	assert_int_equal(map_migration_flush(f->m), DM_OK);
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_USP, &usp), DM_OK);
	assert_true(usp.active);
	assert_true(usp.since_ms > cwmp_since);
	/* an unrelated stack keeps its time */
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_CWMP, &cwmp), DM_OK);
	assert_int_equal(cwmp.since_ms, cwmp_since);

	/* retiring CWMP: enabled but without a URL is not active */
	assert_int_equal(set_as(f->d, DM_ORIGIN_USP, "Device.ManagementServer.URL", "", &err), DM_OK);
	assert_int_equal(map_migration_flush(f->m), DM_OK);
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_CWMP, &cwmp), DM_OK);
	assert_false(cwmp.active);
	assert_true(cwmp.since_ms >= usp.since_ms);

	/* durable: a restart with nothing changed keeps both times */
	int64_t usp_since = usp.since_ms, off_since = cwmp.since_ms;
	close_all(f);
	usleep(5000);
	open_all(f);
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_USP, &usp), DM_OK);
	assert_int_equal(map_migration_stack(f->m, MAP_STACK_CWMP, &cwmp), DM_OK);
	assert_true(usp.active);
	assert_int_equal(usp.since_ms, usp_since);
	assert_false(cwmp.active);
	assert_int_equal(cwmp.since_ms, off_since);
}

/* ---- admin verbs ---------------------------------------------------------------- */

typedef struct lines {
	size_t n;
	char text[16][512];
} lines;

static int keep_line(void *ctx, const char *const *fields, size_t n)
{
	lines *l = ctx;
	if (l->n == 16)
		return 1;
	char *out = l->text[l->n++];
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), 512 - strlen(out), "%s%s", i ? "|" : "", fields[i]);
	return 0;
}

static int run(const core_admin_env *env, lines *l, const char *const *argv, size_t argc, dm_errinfo *err)
{
	memset(l, 0, sizeof *l);
	return core_admin_run(env, argv, argc, keep_line, l, err);
}

static void test_admin_verbs(void **state)
{
	fixture *f = *state;
	core_admin_env env = {.engine = f->d, .who = "duetctl"};
	dm_errinfo err;
	lines l;

	/* without the mapping layer (duetctl on a stopped store) */
	assert_int_equal(run(&env, &l, (const char *[]){"owner"}, 1, &err), DM_ERR_NOT_SUPPORTED);
	assert_true(core_admin_verb_known("stacks"));

	env.ext = map_migration_admin_verbs(f->m, &env.n_ext);
	assert_int_equal(run(&env, &l, (const char *[]){"owner", "Device.DeviceInfo.HostName", "usp"}, 3, &err),
			 DM_OK);
	assert_int_equal(run(&env, &l, (const char *[]){"owner"}, 1, &err), DM_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.text[0], "W|Device.DeviceInfo.HostName|usp");
	assert_int_equal(run(&env, &l, (const char *[]){"owner", "Device.DeviceInfo.HostName", "both"}, 3, &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(run(&env, &l, (const char *[]){"owner", "Device.DeviceInfo."}, 2, &err), DM_ERR_SYNTAX);

	assert_int_equal(run(&env, &l, (const char *[]){"stacks"}, 1, &err), DM_OK);
	assert_int_equal(l.n, 2);
	assert_non_null(strstr(l.text[0], "X|cwmp|active|20"));
	assert_non_null(strstr(l.text[1], "X|usp|inactive|20"));

	assert_int_equal(set_as(f->d, DM_ORIGIN_USP, "Device.DeviceInfo.HostName", "from-usp", &err), DM_OK);
	assert_int_equal(run(&env, &l, (const char *[]){"audit", "1"}, 2, &err), DM_OK);
	assert_int_equal(l.n, 1);
	/* A seq time txn origin who op path old new secret */
	assert_non_null(strstr(l.text[0], "|usp|tester|set|Device.DeviceInfo.HostName|gw|from-usp|0"));
	assert_int_equal(run(&env, &l, (const char *[]){"audit", "0"}, 2, &err), DM_ERR_SYNTAX);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &schema, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_longest_prefix_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guard_refuses_the_other_manager, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_durable_and_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stacks_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_verbs, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(schema);
	return rc;
}
