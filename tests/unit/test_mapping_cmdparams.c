/*
 * test_mapping_cmdparams.c - CWMP command-style parameters
 * (mapping/cmdparams.c) on a real engine (bundled datamodel/device2.xml,
 * which has both halves of eleven pairs) and a real loop: the ACS's write
 * of true runs the command once, from the loop, after the commit; a
 * transaction that fails runs nothing; false and the agent's own writes
 * run nothing; reads are false and nothing is stored; the USP view hides
 * the parameters in every instance and keeps the commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmdparams.h"
#include "loop_wait.h"
#include "unit_store.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS "Device.DHCPv4.Server.Stats."
#define WAIT_MS 2000

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	map_cmdparams *c;
	int ran;
	char ran_path[128];
	dm_origin_kind ran_by;
} fixture;

static int on_reset(void *ctx, dm_request *r)
{
	fixture *f = ctx;

	f->ran++;
	snprintf(f->ran_path, sizeof f->ran_path, "%s", dm_request_command(r));
	f->ran_by = dm_request_origin(r)->kind;
	dm_request_complete(r, DM_OK, NULL, 0, NULL);
	return DM_OK;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};

	snprintf(f->dir, sizeof f->dir, "/tmp/test_mapping_cmdparams.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir};
	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(dm_providers_builtin(f->d), DM_OK);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	assert_int_equal(map_cmdparams_start(f->d, f->loop, &f->c), DM_OK);
	assert_int_equal(dm_command_register(f->d, STATS "Reset()", on_reset, f), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	map_cmdparams_stop(f->c);
	core_loop_free(f->loop);
	dm_close(f->d);
	assert_int_equal(unit_remove_dir(f->dir), 0);
	free(f);
	return 0;
}

static bool ran(void *ctx)
{
	return ((fixture *)ctx)->ran > 0;
}

/* One transaction of origin who: path = value, and a second write that
 * may fail (the failure aborts the lot, as a failed SPV does). */
static int write_as(fixture *f, dm_origin_kind who, const char *path, const char *value, const char *also,
		    const char *also_value)
{
	dm_txn *t;
	dm_errinfo err = {0};
	dm_origin o = {who, "cmdparams-test"};

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	int rc = dm_set(t, path, value, &err);
	if (!rc && also)
		rc = dm_set(t, also, also_value, &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static void test_pairs_of_the_bundled_model(void **state)
{
	fixture *f = *state;
	size_t active = 0;

	for (size_t i = 0; map_cmdparam_paths[i]; i++)
		active += map_cmdparam_active(bundled, i);
	assert_int_equal(active, 11);
	assert_int_equal(map_cmdparams_bound(f->c), 11);
}

static void test_write_runs_the_command_after_commit(void **state)
{
	fixture *f = *state;
	char v[16];
	dm_errinfo err = {0};

	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, STATS "Reset", "1", NULL, NULL), DM_OK);
	assert_int_equal(f->ran, 0); /* not inside the commit */
	assert_true(loop_run_until(f->loop, ran, f, WAIT_MS));
	assert_int_equal(f->ran, 1);
	assert_string_equal(f->ran_path, STATS "Reset()");
	assert_int_equal(f->ran_by, DM_ORIGIN_CWMP);
	assert_int_equal(map_cmdparams_runs(f->c), 1);
	/* reads false: nothing was stored */
	assert_int_equal(dm_get_value_buf(f->d, NULL, STATS "Reset", v, sizeof v, &err), DM_OK);
	assert_string_equal(v, "false");
}

static void test_nothing_runs_without_a_committed_true(void **state)
{
	fixture *f = *state;

	/* the SPV fails on its second parameter: no half-run reset */
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, STATS "Reset", "true", "Device.DHCPv4.Server.Enable", "maybe"),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, STATS "Reset", "false", NULL, NULL), DM_OK);
	assert_int_equal(write_as(f, DM_ORIGIN_INTERNAL, STATS "Reset", "true", NULL, NULL), DM_OK);
	assert_false(loop_run_until(f->loop, ran, f, 200));
	assert_int_equal(map_cmdparams_runs(f->c), 0);
}

/* A command without a handler: the write stands, the run is logged. */
static void test_unimplemented_command(void **state)
{
	fixture *f = *state;

	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, "Device.WiFi.Reset", "true", NULL, NULL), DM_OK);
	assert_false(loop_run_until(f->loop, ran, f, 100));
	assert_int_equal(map_cmdparams_runs(f->c), 1);
}

typedef struct row {
	const char *in;
	const char *out;
} row;

static void test_views(void **state)
{
	static const row usp[] = {
		{STATS "Reset", ""},
		{STATS "Reset()", STATS "Reset()"},
		{"Device.IP.Interface.1.Stats.Reset", ""},
		{"Device.IP.Interface.*.Stats.Reset", ""},
		{"Device.IP.Interface.{i}.Reset", ""},
		{"Device.IP.Interface.2.Reset()", "Device.IP.Interface.2.Reset()"},
		{"Device.IP.Interface.1.Stats.BytesSent", "Device.IP.Interface.1.Stats.BytesSent"},
		{"Device.IP.Interface.1.Stats.ResetX", "Device.IP.Interface.1.Stats.ResetX"},
		{"Device.WiFi.Reset", ""},
		{"Device.WiFi.ResetCounter", "Device.WiFi.ResetCounter"},
	};
	static const row cwmp[] = {
		{STATS "Reset", STATS "Reset"},
		{"Device.IP.Interface.1.Stats.Reset", "Device.IP.Interface.1.Stats.Reset"},
	};
	map_views *mv;
	char out[256];

	(void)state;
	assert_int_equal(map_views_new(bundled, NULL, &mv), DM_OK);
	for (size_t i = 0; i < sizeof usp / sizeof usp[0]; i++) {
		int rc = dm_view_store(map_views_usp(mv), usp[i].in, out, sizeof out);
		const char *got = rc == 1 ? out : rc == 0 ? "" : "error";
		if (strcmp(got, usp[i].out))
			fail_msg("usp %s: \"%s\", want \"%s\"", usp[i].in, got, usp[i].out);
	}
	for (size_t i = 0; i < sizeof cwmp / sizeof cwmp[0]; i++) {
		assert_int_equal(dm_view_store(map_views_cwmp(mv), cwmp[i].in, out, sizeof out), 1);
		assert_string_equal(out, cwmp[i].out);
	}
	map_views_free(mv);
}

int main(void)
{
	if (!(bundled = unit_bundled_schema()))
		return 1;
	core_log_set_level(CORE_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pairs_of_the_bundled_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_runs_the_command_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_runs_without_a_committed_true, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unimplemented_command, setup, teardown),
		cmocka_unit_test(test_views),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
