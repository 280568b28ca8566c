/*
 * test_mapping_alias.c - the rewrite rule of mapping/alias.c on a real
 * engine (bundled datamodel/device2.xml): the ACS renames an Alias as
 * often as it likes; a Controller sets one in its Add, or once on an
 * instance whose Alias is still the agent's "cpe-" value, and is refused
 * afterwards (7013); a duplicate Alias is refused whoever writes it; the
 * "freeze aliases" policy refuses the ACS's rename (9008) and survives a
 * restart; the agent and the admin socket keep the engine's rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alias.h"
#include "faults.h"
#include "unit_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL "Device.DHCPv4.Server.Pool."

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	dm *d;
	map_alias *a;
} fixture;

static void open_all(fixture *f)
{
	dm_errinfo err = {0};
	dm_open_opts o = {.state_dir = f->dir};

	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(map_alias_start(f->d, NULL, &f->a), DM_OK);
}

static void close_all(fixture *f)
{
	map_alias_stop(f->a);
	dm_close(f->d);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/test_mapping_alias.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_all(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	close_all(f);
	assert_int_equal(unit_remove_dir(f->dir), 0);
	free(f);
	return 0;
}

/* One write transaction of origin who: set path to value; 0 or the error
 * of the set or of the commit (unique keys are checked there). */
static int write_as(fixture *f, dm_origin_kind who, const char *path, const char *value, dm_errinfo *err)
{
	dm_txn *t;
	dm_origin o = {who, "alias-test"};

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	int rc = dm_set(t, path, value, err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

/* A Controller's Add with or without an Alias of its own. */
static uint32_t add_as(fixture *f, dm_origin_kind who, const char *alias)
{
	dm_txn *t;
	dm_errinfo err = {0};
	dm_origin o = {who, "alias-test"};
	uint32_t inst;
	char path[96];

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, POOL, NULL, &inst, &err), DM_OK);
	if (alias) {
		snprintf(path, sizeof path, POOL "%u.Alias", inst);
		assert_int_equal(dm_set(t, path, alias, &err), DM_OK);
	}
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

static const char *alias_path(uint32_t inst)
{
	static char path[96];

	snprintf(path, sizeof path, POOL "%u.Alias", inst);
	return path;
}

static void assert_alias(fixture *f, uint32_t inst, const char *want)
{
	char v[80];
	dm_errinfo err = {0};

	assert_int_equal(dm_get_value_buf(f->d, NULL, alias_path(inst), v, sizeof v, &err), DM_OK);
	assert_string_equal(v, want);
}

static void test_acs_renames_freely(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	uint32_t n = add_as(f, DM_ORIGIN_CWMP, NULL);

	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(n), "wan", &err), DM_OK);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(n), "wan2", &err), DM_OK);
	assert_alias(f, n, "wan2");
}

static void test_controller_sets_once(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	uint32_t given = add_as(f, DM_ORIGIN_USP, "lan");
	uint32_t auto_n = add_as(f, DM_ORIGIN_USP, NULL);

	/* chosen in the Add: that was its one write */
	int rc = write_as(f, DM_ORIGIN_USP, alias_path(given), "lan2", &err);
	assert_int_equal(rc, DM_ERR_NOT_WRITABLE);
	assert_int_equal(map_dm_to_usp_err(rc, err.reason, MAP_OP_SET_PARAM), 7013);
	assert_alias(f, given, "lan");
	/* still the agent's value: a Controller may set it, once */
	char cpe[32];
	snprintf(cpe, sizeof cpe, "cpe-%u", auto_n);
	assert_alias(f, auto_n, cpe);
	assert_int_equal(write_as(f, DM_ORIGIN_USP, alias_path(auto_n), "guest", &err), DM_OK);
	assert_int_equal(write_as(f, DM_ORIGIN_USP, alias_path(auto_n), "guest2", &err), DM_ERR_NOT_WRITABLE);
	assert_alias(f, auto_n, "guest");
	/* the ACS still may */
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(given), "acs-lan", &err), DM_OK);
}

static void test_unique_in_both_views(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	uint32_t one = add_as(f, DM_ORIGIN_USP, "first");
	uint32_t two = add_as(f, DM_ORIGIN_USP, NULL);
	uint32_t three = add_as(f, DM_ORIGIN_CWMP, NULL);

	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(three), "first", &err), DM_ERR_UNIQUE_KEY);
	assert_int_equal(map_dm_to_cwmp_fault(DM_ERR_UNIQUE_KEY, 0, MAP_OP_SET_PARAM), 9007);
	assert_int_equal(write_as(f, DM_ORIGIN_USP, alias_path(two), "first", &err), DM_ERR_UNIQUE_KEY);
	assert_int_equal(map_dm_to_usp_err(DM_ERR_UNIQUE_KEY, 0, MAP_OP_SET_PARAM), 7025);
	assert_alias(f, one, "first");
}

static void test_freeze_policy(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	uint32_t n = add_as(f, DM_ORIGIN_CWMP, NULL);

	assert_false(map_alias_frozen(f->a));
	assert_int_equal(map_alias_set_freeze(f->a, true, &err), DM_OK);
	int rc = write_as(f, DM_ORIGIN_CWMP, alias_path(n), "frozen-out", &err);
	assert_int_equal(rc, DM_ERR_NOT_WRITABLE);
	assert_int_equal(map_dm_to_cwmp_fault(rc, err.reason, MAP_OP_SET_PARAM), 9008);
	/* kept in agent state */
	close_all(f);
	open_all(f);
	assert_true(map_alias_frozen(f->a));
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(n), "frozen-out", &err), DM_ERR_NOT_WRITABLE);
	assert_int_equal(map_alias_set_freeze(f->a, false, &err), DM_OK);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, alias_path(n), "thawed", &err), DM_OK);
}

/* Rows the engine keeps: other write-once parameters, other origins. */
static void test_rule_table(void **state)
{
	static const struct {
		dm_origin_kind who;
		const char *path, *current;
		bool may;
	} rows[] = {
		{DM_ORIGIN_CWMP, POOL "1.Alias", "wan", true},
		{DM_ORIGIN_USP, POOL "1.Alias", "wan", false},
		{DM_ORIGIN_USP, POOL "1.Alias", "cpe-1", true},
		{DM_ORIGIN_USP, POOL "1.Alias", "", true},
		{DM_ORIGIN_ADMIN, POOL "1.Alias", "wan", false},
		{DM_ORIGIN_CWMP, "Device.NAT.PortMapping.1.Origin", "User", false},
		{DM_ORIGIN_USP, "Device.NAT.PortMapping.1.Origin", "User", false},
		{DM_ORIGIN_CWMP, "Device.Routing.Babel.MACKeySet.1.MACKey.1.KeyValue", "k", true},
		{DM_ORIGIN_USP, "Device.Routing.Babel.MACKeySet.1.MACKey.1.KeyValue", "k", false},
		{DM_ORIGIN_CWMP, "Device.Other.1.KeyValue", "k", false},
		{DM_ORIGIN_CWMP, POOL "1.NotAlias", "x", false},
	};
	fixture *f = *state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		dm_origin o = {rows[i].who, "t"};
		if (map_alias_may_rewrite(f->a, &o, rows[i].path, rows[i].current) != rows[i].may)
			fail_msg("row %zu: %s by %d", i, rows[i].path, rows[i].who);
	}
}

int main(void)
{
	if (!(bundled = unit_bundled_schema()))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_acs_renames_freely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_controller_sets_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_in_both_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_table, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
