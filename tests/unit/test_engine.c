/*
 * test_engine.c - the engine on a real LMDB store: instances, values, unique
 * keys, table limits, access rules, atomic transactions and groups (with
 * failures injected mid-transaction), the change feed, derived counters,
 * defaults-file rules, foreign stores and async request persistence.
 * Uses tests/data/mini.xml, a model written for these cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *mini;

typedef struct fixture {
	char dir[256];
	char defaults[300];
	dm *d;
} fixture;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *default_lines = "# test defaults\n"
				   "Device.Info.Serial SN0001\n"
				   "Device.Info.Name \"my box\"\n"
				   "Device.Slot.1.Size 4\n";

static int warnings;
static char last_warning[512];
static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	snprintf(last_warning, sizeof last_warning, "%s", msg);
}

static int open_engine(fixture *f, size_t map_size, dm_errinfo *err)
{
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = f->defaults, .map_size = map_size,
			  .warn = count_warning};
	return dm_open(mini, &o, &f->d, err);
}

static void record_secret(void *ctx, const dm_change *c)
{
	snprintf(ctx, 64, "%s:%s>%s", c->path, c->old_value, c->new_value);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-engine-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->defaults, sizeof f->defaults, "%s/defaults.txt", f->dir);
	write_file(f->defaults, default_lines);
	warnings = 0;
	dm_errinfo err = {0};
	assert_int_equal(open_engine(f, 0, &err), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->d)
		dm_close(f->d);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void reopen(fixture *f)
{
	dm_close(f->d);
	f->d = NULL;
	dm_errinfo err = {0};
	assert_int_equal(open_engine(f, 0, &err), DM_OK);
}

static void assert_value(dm *d, const char *path, const char *want)
{
	char buf[512];
	dm_errinfo err = {0};
	int rc = dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err);
	if (rc)
		fail_msg("%s: %d %s", path, rc, err.msg);
	assert_string_equal(buf, want);
}

static int write_one(dm *d, dm_origin_kind who, const char *op, const char *path, const char *value,
		     dm_errinfo *err)
{
	dm_origin o = {who, "test"};
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	assert_int_equal(rc, DM_OK);
	uint32_t inst;
	if (!strcmp(op, "set"))
		rc = dm_set(t, path, value, err);
	else if (!strcmp(op, "add"))
		rc = dm_add(t, path, value, &inst, err);
	else
		rc = dm_delete(t, path, err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

static uint32_t add_thing(dm *d, const char *alias)
{
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	uint32_t inst = 0;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", alias, &inst, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

/* ---- defaults and reads --------------------------------------------------- */

static void test_defaults_applied(void **state)
{
	fixture *f = *state;
	assert_value(f->d, "Device.Info.Serial", "SN0001");
	assert_value(f->d, "Device.Info.Name", "my box");
	assert_value(f->d, "Device.Info.Level", "0");  /* schema default */
	assert_value(f->d, "Device.Info.Secret", "");  /* hidden */
	assert_value(f->d, "Device.Slot.1.Size", "4"); /* instance created by naming it */
	assert_value(f->d, "Device.SlotNumberOfEntries", "1");
	assert_int_equal(warnings, 0);
}

/* Secrets are "" for readers and in the change feed, real for the agent. */
static void test_hidden_values(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	char last[64] = "";
	dm_sub *sub;
	assert_int_equal(dm_subscribe(f->d, record_secret, last, &sub), DM_OK);
	assert_int_equal(write_one(f->d, DM_ORIGIN_CWMP, "set", "Device.Info.Secret", "s3cret", &err), DM_OK);
	dm_unsubscribe(f->d, sub);
	assert_string_equal(last, "Device.Info.Secret:>");
	assert_value(f->d, "Device.Info.Secret", "");
	char buf[64];
	assert_int_equal(dm_get_secret_buf(f->d, NULL, "Device.Info.Secret", buf, sizeof buf, &err), DM_OK);
	assert_string_equal(buf, "s3cret");
	assert_int_equal(dm_get_secret_buf(f->d, NULL, "Device.Info.Name", buf, sizeof buf, &err), DM_OK);
	assert_string_equal(buf, "my box");
}

static void test_read_errors(void **state)
{
	fixture *f = *state;
	char buf[64];
	dm_errinfo err = {0};
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Info.Nope", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Thing.7.Name", buf, sizeof buf, &err),
			 DM_ERR_NOT_INSTANTIATED);
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Thing.7.Bogus", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Info.", buf, sizeof buf, &err),
			 DM_ERR_NOT_READABLE);
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device..Info", buf, sizeof buf, &err), DM_ERR_SYNTAX);
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Devices.Info.Name", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	assert_true(err.msg[0] != 0);
}

/* ---- instances ---------------------------------------------------------- */

static void test_instance_numbers_never_reused(void **state)
{
	fixture *f = *state;
	assert_int_equal(add_thing(f->d, NULL), 1);
	assert_int_equal(add_thing(f->d, NULL), 2);
	dm_errinfo err = {0};
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "delete", "Device.Thing.2.", NULL, &err), DM_OK);
	assert_int_equal(add_thing(f->d, NULL), 3);
	reopen(f);
	assert_int_equal(add_thing(f->d, NULL), 4);
	/* defaults materialised on Add, Alias generated */
	assert_value(f->d, "Device.Thing.4.Weight", "10");
	assert_value(f->d, "Device.Thing.4.Alias", "cpe-4");
	assert_value(f->d, "Device.Thing.4.Stats.Count", "0");
	assert_value(f->d, "Device.ThingNumberOfEntries", "3");
	/* and after a factory reset too */
	assert_int_equal(dm_factory_reset(f->d, &err), DM_OK);
	assert_value(f->d, "Device.ThingNumberOfEntries", "0");
	assert_value(f->d, "Device.Info.Serial", "SN0001");
	assert_int_equal(add_thing(f->d, NULL), 5);
}

static void test_max_and_min_entries(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 4; i++)
		add_thing(f->d, NULL);
	dm_errinfo err = {0};
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "add", "Device.Thing.", NULL, &err),
			 DM_ERR_MAX_ENTRIES);
	/* Slot has minEntries=1 and holds one instance */
	assert_int_equal(write_one(f->d, DM_ORIGIN_CWMP, "delete", "Device.Slot.1.", NULL, &err),
			 DM_ERR_MIN_ENTRIES);
	assert_int_equal(write_one(f->d, DM_ORIGIN_CWMP, "add", "Device.Info.", NULL, &err),
			 DM_ERR_NOT_TABLE);
	assert_int_equal(write_one(f->d, DM_ORIGIN_CWMP, "delete", "Device.Thing.1.Stats.", NULL, &err),
			 DM_ERR_NOT_TABLE);
}

static void test_unique_keys(void **state)
{
	fixture *f = *state;
	add_thing(f->d, "a");
	add_thing(f->d, "b");
	dm_errinfo err = {0};
	/* Alias clash */
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Thing.2.Alias", "a", &err),
			 DM_ERR_UNIQUE_KEY);
	assert_non_null(strstr(err.msg, "Alias"));
	/* add with an alias already taken */
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "add", "Device.Thing.", "b", &err), DM_ERR_UNIQUE_KEY);
	/* a swap inside one transaction is fine: keys are checked at commit */
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_CWMP, "acs"};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.1.Alias", "tmp", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.2.Alias", "a", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.1.Alias", "b", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_value(f->d, "Device.Thing.1.Alias", "b");
	assert_value(f->d, "Device.Thing.2.Alias", "a");
	/* empty names do not clash; equal non-empty ones do */
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Thing.1.Name", "x", &err), DM_OK);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Thing.2.Name", "x", &err),
			 DM_ERR_UNIQUE_KEY);
	/* CWMP alias addressing reaches the same instance */
	assert_value(f->d, "Device.Thing.[a].Name", "");
	assert_value(f->d, "Device.Thing.[b].Name", "x");
}

/* A numeric unique key the manager did not give gets a valid, unused value. */
static void test_numeric_keys_assigned(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "add", "Device.Rule.", NULL, &err), DM_OK);
	assert_value(f->d, "Device.Rule.1.Order", "1");
	assert_value(f->d, "Device.Rule.3.Order", "3");
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Rule.1.Order", "10", &err), DM_OK);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "add", "Device.Rule.", NULL, &err), DM_OK);
	assert_value(f->d, "Device.Rule.4.Order", "11");
	/* the manager's own value in the same transaction wins */
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	uint32_t inst;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Rule.", NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Rule.5.Order", "7", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_value(f->d, "Device.Rule.5.Order", "7");
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Rule.5.Order", "3", &err), DM_ERR_UNIQUE_KEY);
}

/* ---- access and types ------------------------------------------------------- */

static void test_access_rules(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Serial", "X", &err),
			 DM_ERR_NOT_WRITABLE);
	assert_int_equal(write_one(f->d, DM_ORIGIN_INTERNAL, "set", "Device.Info.Serial", "X", &err), DM_OK);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.ThingNumberOfEntries", "3", &err),
			 DM_ERR_NOT_WRITABLE);
	/* writeOnceReadOnly: settable in the transaction that creates the instance, never again */
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	uint32_t inst;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", NULL, &inst, &err), DM_OK);
	char path[64];
	snprintf(path, sizeof path, "Device.Thing.%u.Kind", inst);
	assert_int_equal(dm_set(t, path, "fixed", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", path, "again", &err), DM_ERR_NOT_WRITABLE);
	assert_value(f->d, path, "fixed");
}

static void test_value_validation(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Level", "11", &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_RANGE);
	assert_string_equal(err.path, "Device.Info.Level");
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Level", "abc", &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_TYPE);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Mode", "Off", &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_ENUMERATION);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Name", "seventeen chars!!", &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_LENGTH);
	/* canonical forms are what is stored */
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Info.Level", "+007", &err), DM_OK);
	assert_value(f->d, "Device.Info.Level", "7");
	add_thing(f->d, NULL);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "set", "Device.Thing.1.Enable", "1", &err), DM_OK);
	assert_value(f->d, "Device.Thing.1.Enable", "true");
}

/* ---- transactions --------------------------------------------------------- */

static int refuse_calls;
static int refusing_set(void *ctx, const char *path, const char *value, dm_errinfo *err)
{
	(void)ctx;
	(void)path;
	refuse_calls++;
	if (!strcmp(value, "boom")) {
		snprintf(err->msg, sizeof err->msg, "hardware said no");
		return -1;
	}
	return 0;
}

static void test_atomic_rollback_on_injected_failure(void **state)
{
	fixture *f = *state;
	dm_provider p = {.set = refusing_set};
	assert_int_equal(dm_provider_register(f->d, "Device.Info.Mode", &p), DM_OK);
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_CWMP, "acs"};
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Name", "changed", &err), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", NULL, NULL, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "5", &err), DM_OK);
	/* the failure comes after three applied operations */
	assert_int_equal(dm_set(t, "Device.Info.Mode", "boom", &err), DM_ERR_INVALID_VALUE);
	assert_int_equal(dm_set(t, "Device.Info.Secret", "boom", &err), DM_OK);
	dm_txn_abort(t);
	assert_value(f->d, "Device.Info.Name", "my box");
	assert_value(f->d, "Device.Info.Level", "0");
	assert_value(f->d, "Device.ThingNumberOfEntries", "0");
	/* a vendor hook refusing mid-transaction */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Name", "changed", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "5", &err), DM_OK);
	refuse_calls = 0;
	assert_int_equal(dm_set(t, "Device.Info.Mode", "Manual", &err), DM_OK);
	assert_int_equal(refuse_calls, 1);
	dm_txn_abort(t);
	assert_value(f->d, "Device.Info.Mode", "Auto");
	assert_value(f->d, "Device.Info.Name", "my box");
	/* the hook's own reason reaches the manager */
	assert_int_equal(dm_provider_register(f->d, "Device.Info.Name", &p), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	memset(&err, 0, sizeof err);
	assert_int_equal(dm_set(t, "Device.Info.Name", "boom", &err), DM_ERR_PROVIDER);
	assert_string_equal(err.msg, "hardware said no");
	dm_txn_abort(t);
	assert_value(f->d, "Device.Info.Name", "my box");
}

static void test_disk_full_applies_nothing(void **state)
{
	fixture *f = *state;
	dm_close(f->d);
	f->d = NULL;
	/* a fresh store with a tiny map: filling it must fail cleanly */
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -f '%s'/*.mdb", f->dir);
	assert_int_equal(system(cmd), 0);
	dm_errinfo err = {0};
	assert_int_equal(open_engine(f, 256 * 1024, &err), DM_OK);
	char big[2000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	int rc = DM_OK, round;
	for (round = 0; round < 200 && rc == DM_OK; round++) {
		dm_txn *t;
		assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
		for (int i = 0; i < 4 && rc == DM_OK; i++) {
			uint32_t inst;
			char path[64];
			rc = dm_add(t, "Device.Thing.1.Part.", NULL, &inst, &err);
			if (rc == DM_ERR_NOT_INSTANTIATED) {
				rc = dm_add_numbered(t, "Device.Thing.", 1, &err);
				if (!rc)
					rc = dm_add(t, "Device.Thing.1.Part.", NULL, &inst, &err);
			}
			snprintf(path, sizeof path, "Device.Thing.1.Part.%u.Label", inst);
			if (!rc)
				rc = dm_set(t, path, big, &err);
		}
		if (rc)
			dm_txn_abort(t);
		else
			rc = dm_txn_commit(t, NULL, &err);
	}
	assert_int_equal(rc, DM_ERR_DISK_FULL);
	/* every committed round is whole: 4 parts each, all with the value */
	char n[32];
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Thing.1.PartNumberOfEntries", n, sizeof n, &err),
			 DM_OK);
	assert_int_equal(atoi(n) % 4, 0);
	assert_true(atoi(n) > 0);
	assert_value(f->d, "Device.Info.Serial", "SN0001");
}

static void test_groups(void **state)
{
	fixture *f = *state;
	add_thing(f->d, "a");
	add_thing(f->d, "b");
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_txn_group_begin(t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.1.Weight", "11", &err), DM_OK);
	assert_int_equal(dm_txn_group_end(t, true, &err), DM_OK);
	assert_int_equal(dm_txn_group_begin(t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.2.Weight", "12", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.2.Alias", "a", &err), DM_OK); /* clash: group fails */
	assert_int_equal(dm_txn_group_end(t, true, &err), DM_ERR_UNIQUE_KEY);
	assert_int_equal(dm_txn_group_begin(t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "3", &err), DM_OK);
	assert_int_equal(dm_txn_group_end(t, false, &err), DM_OK); /* undone on purpose */
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_value(f->d, "Device.Thing.1.Weight", "11");
	assert_value(f->d, "Device.Thing.2.Weight", "10");
	assert_value(f->d, "Device.Thing.2.Alias", "b");
	assert_value(f->d, "Device.Info.Level", "0");
}

static void test_single_writer(void **state)
{
	fixture *f = *state;
	dm_txn *a, *b;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, NULL, &a), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, NULL, &b), DM_ERR_TXN_STATE);
	/* a reader does not see the open write */
	dm_errinfo err = {0};
	assert_int_equal(dm_set(a, "Device.Info.Name", "pending", &err), DM_OK);
	assert_value(f->d, "Device.Info.Name", "my box");
	dm_txn_abort(a);
}

/* ---- change feed ------------------------------------------------------------ */

typedef struct seen {
	int n;
	char log[16][160];
	uint64_t txn;
	dm_origin_kind origin;
} seen;

static void record_change(void *ctx, const dm_change *c)
{
	seen *s = ctx;
	if (s->n < 16)
		snprintf(s->log[s->n], sizeof s->log[0], "%d %s %s>%s", c->kind, c->path,
			 c->old_value ? c->old_value : "-", c->new_value ? c->new_value : "-");
	s->n++;
	s->txn = c->txn_id;
	s->origin = c->origin->kind;
}

static void test_change_feed(void **state)
{
	fixture *f = *state;
	seen s = {0};
	dm_sub *sub;
	assert_int_equal(dm_subscribe(f->d, record_change, &s, &sub), DM_OK);
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_CWMP, "http://acs"};
	dm_errinfo err = {0};
	uint64_t id;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "2", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Name", "my box", &err), DM_OK); /* unchanged: silent */
	assert_int_equal(dm_add(t, "Device.Thing.", NULL, NULL, &err), DM_OK);
	assert_int_equal(s.n, 0); /* nothing before the commit */
	assert_int_equal(dm_txn_commit(t, &id, &err), DM_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.log[0], "0 Device.Info.Level 0>2");
	assert_string_equal(s.log[1], "1 Device.Thing.1. ->-");
	assert_int_equal(s.txn, id);
	assert_int_equal(s.origin, DM_ORIGIN_CWMP);
	/* aborted transactions publish nothing */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "3", &err), DM_OK);
	dm_txn_abort(t);
	assert_int_equal(s.n, 2);
	assert_int_equal(write_one(f->d, DM_ORIGIN_USP, "delete", "Device.Thing.1.", NULL, &err), DM_OK);
	assert_string_equal(s.log[2], "2 Device.Thing.1. ->-");
	assert_true(s.txn > id);
	dm_arg a = {"Cause", "LocalReboot"};
	assert_int_equal(dm_event_emit(f->d, "Device.Boot!", &a, 1, NULL), DM_OK);
	assert_string_equal(s.log[3], "3 Device.Boot! ->-");
	dm_unsubscribe(f->d, sub);
}

/* ---- resolution --------------------------------------------------------------- */

typedef struct collected {
	int n;
	char first[160];
	char last[160];
} collected;

static int collect(void *ctx, const dm_item *it)
{
	collected *c = ctx;
	if (!c->n)
		snprintf(c->first, sizeof c->first, "%s=%s", it->path, it->value ? it->value : "");
	snprintf(c->last, sizeof c->last, "%s=%s", it->path, it->value ? it->value : "");
	c->n++;
	return 0;
}

static void populate(dm *d)
{
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &o, &t), DM_OK);
	static const char *const sets[][2] = {
		{"Device.Thing.1.Name", "eth0"},  {"Device.Thing.1.Weight", "5"},
		{"Device.Thing.1.Enable", "true"}, {"Device.Thing.2.Name", "eth1"},
		{"Device.Thing.2.Weight", "50"},  {"Device.Thing.2.Peer", "Device.Thing.1"},
		{"Device.Thing.2.Peers", "Device.Thing.1.,Device.Thing.3."},
		{"Device.Thing.3.Name", "wl0"},   {"Device.Thing.3.Weight", "500"},
		{"Device.Thing.3.Enable", "true"},
	};
	for (int i = 1; i <= 3; i++)
		assert_int_equal(dm_add(t, "Device.Thing.", NULL, NULL, &err), DM_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dm_add(t, "Device.Thing.2.Part.", NULL, NULL, &err), DM_OK);
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
		if (dm_set(t, sets[i][0], sets[i][1], &err))
			fail_msg("%s: %s", sets[i][0], err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static const struct resolve_case {
	const char *expr;
	dm_grammar g;
	unsigned flags;
	unsigned depth;
	int rc;
	int n;
	const char *first; /* "path=value" of the first item, or NULL */
} resolve_cases[] = {
	{"Device.Thing.1.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.*.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 3, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.[Name==\"eth1\"].Weight", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.2.Weight=50"},
	{"Device.Thing.[Weight>10].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 2, "Device.Thing.2.Name=eth1"},
	{"Device.Thing.[Weight>=50&&Enable==true].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.3.Name=wl0"},
	{"Device.Thing.[Weight<50].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.[Weight<=50].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 2, NULL},
	{"Device.Thing.[Name!=\"eth0\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 2, NULL},
	{"Device.Thing.[Name==\"none\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 0, NULL},
	{"Device.Thing.[Stats.Count==0].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 3, NULL},
	{"Device.Thing.[PartNumberOfEntries>0].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.2.Name=eth1"},
	{"Device.Thing.2.Peer+.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.2.Peers#2+.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.3.Name=wl0"},
	{"Device.Thing.2.Peers#*+.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 2, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.1.Peer+.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 0, NULL}, /* empty ref */
	{"Device.Thing.[Peer+.Name==\"eth0\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.2.Name=eth1"},
	{"Device.Thing.2.Part.*.Label", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 3, "Device.Thing.2.Part.1.Label=part"},
	{"Device.Thing.*.Part.*.Label", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 3, NULL},
	{"Device.Thing.1.", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, 0, 9,
	 "Device.Thing.1.Alias=cpe-1"},
	{"Device.Thing.1.", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 1, 0, 8, NULL},
	{"Device.Thing.", DM_GRAMMAR_USP, DM_RESOLVE_OBJECTS, 0, 0, 3, "Device.Thing.1.="},
	{"Device.Thing.*.", DM_GRAMMAR_USP, DM_RESOLVE_OBJECTS, 0, 0, 3, NULL},
	{"Device.Thing.", DM_GRAMMAR_USP, DM_RESOLVE_TABLES, 0, 0, 1, "Device.Thing.="},
	{"Device.Thing.2.", DM_GRAMMAR_USP, DM_RESOLVE_OBJECTS | DM_RESOLVE_SUBTREE, 0, 0, 5, NULL},
	{"Device.", DM_GRAMMAR_USP, DM_RESOLVE_COMMANDS, 0, 0, 0, NULL},
	{"Device.", DM_GRAMMAR_USP, DM_RESOLVE_COMMANDS | DM_RESOLVE_SUBTREE, 0, 0, 5, "Device.Reboot()="},
	{"Device.", DM_GRAMMAR_USP, DM_RESOLVE_EVENTS | DM_RESOLVE_SUBTREE, 0, 0, 1, "Device.Boot!="},
	{"Device.Thing.1.Reset()", DM_GRAMMAR_USP, DM_RESOLVE_COMMANDS, 0, 0, 1, "Device.Thing.1.Reset()="},
	{"Device.Info.", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, 0, 5, "Device.Info.Name=my box"},
	{"Device.Thing.[cpe-2].Name", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.2.Name=eth1"},
	{"Device.Thing.[cpe-2].", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 1, 0, 8, NULL},
	{"Device.ThingNumberOfEntries", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.ThingNumberOfEntries=3"},
	{"Device.Thing.2.PartNumberOfEntries", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.2.PartNumberOfEntries=3"},
	/* errors, classified */
	{"Device.Thing.[cpe-9].Name", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_INSTANTIATED, 0, NULL},
	{"Device.Thing.9.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_INSTANTIATED, 0, NULL},
	{"Device.Thing.*.Nope", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
	{"Device.Nope.", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
	{"Device.Info.1.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
	{"Device.Thing.Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
	{"Device.Info.Name.", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
	{"Device.Thing.*.Name", DM_GRAMMAR_CWMP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Name==eth0", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.1.Name+.X", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 0, NULL}, /* not a path value */
	/* constants must fit the parameter's type (TR-369 search examples) */
	{"Device.Thing.[Enable==1].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 2, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.[Weight==005].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1, "Device.Thing.1.Name=eth0"},
	{"Device.Thing.[Peers~=\"Device.Thing.3.\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, 0, 1,
	 "Device.Thing.2.Name=eth1"},
	{"Device.Thing.[Enable==\"true\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Name<\"x\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Name==eth0].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Weight==\"5\"].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Weight~=5].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Enable==maybe].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_SYNTAX, 0, NULL},
	{"Device.Thing.[Bogus==1].Name", DM_GRAMMAR_USP, DM_RESOLVE_PARAMS, 0, DM_ERR_NOT_IN_SCHEMA, 0, NULL},
};

static void test_resolve_table(void **state)
{
	fixture *f = *state;
	populate(f->d);
	for (size_t i = 0; i < sizeof resolve_cases / sizeof resolve_cases[0]; i++) {
		const struct resolve_case *c = &resolve_cases[i];
		dm_txn *t;
		assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
		collected got = {0};
		dm_errinfo err = {0};
		int rc = dm_resolve(t, c->g, c->expr, c->flags, c->depth, collect, &got, &err);
		dm_txn_abort(t);
		if (rc != c->rc || got.n != c->n || (c->first && strcmp(got.first, c->first)))
			fail_msg("case %zu %s: rc %d (want %d, %s) n %d (want %d) first '%s' (want '%s')", i,
				 c->expr, rc, c->rc, err.msg, got.n, c->n, got.first, c->first ? c->first : "");
	}
}

typedef struct order_check {
	int n;
	char paths[16][64];
} order_check;

static int note_path(void *ctx, const dm_item *it)
{
	order_check *o = ctx;
	if (o->n < 16)
		snprintf(o->paths[o->n], sizeof o->paths[0], "%s", it->path);
	o->n++;
	return 0;
}

/* Instances come out in numeric order: 9 before 10, 10 before 11. */
static void test_instances_in_numeric_order(void **state)
{
	fixture *f = *state;
	dm_txn *t;
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", NULL, NULL, &err), DM_OK);
	for (int i = 0; i < 12; i++)
		assert_int_equal(dm_add(t, "Device.Thing.1.Part.", NULL, NULL, &err), DM_OK);
	assert_int_equal(dm_delete(t, "Device.Thing.1.Part.2.", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	order_check got = {0};
	assert_int_equal(dm_resolve(t, DM_GRAMMAR_USP, "Device.Thing.1.Part.*.Label", DM_RESOLVE_PARAMS, 0,
				    note_path, &got, &err),
			 DM_OK);
	assert_int_equal(got.n, 11);
	assert_string_equal(got.paths[0], "Device.Thing.1.Part.1.Label");
	assert_string_equal(got.paths[1], "Device.Thing.1.Part.3.Label");
	assert_string_equal(got.paths[7], "Device.Thing.1.Part.9.Label");
	assert_string_equal(got.paths[8], "Device.Thing.1.Part.10.Label");
	assert_string_equal(got.paths[10], "Device.Thing.1.Part.12.Label");
	uint32_t *insts;
	size_t n;
	assert_int_equal(dm_list_instances(t, "Device.Thing.1.Part.", &insts, &n, &err), DM_OK);
	assert_int_equal(n, 11);
	assert_int_equal(insts[10], 12);
	free(insts);
	dm_txn_abort(t);
	assert_value(f->d, "Device.Thing.1.PartNumberOfEntries", "11");
}

/* ---- agent state ------------------------------------------------------------ */

static int list_state(void *ctx, const char *key, const void *value, size_t len)
{
	char *out = ctx;
	snprintf(out + strlen(out), 128 - strlen(out), "%s=%.*s;", key, (int)len, (const char *)value);
	return 0;
}

static void test_agent_state(void **state)
{
	fixture *f = *state;
	dm_origin o = {DM_ORIGIN_INTERNAL, "test"};
	dm_errinfo err = {0};
	dm_txn *t;
	char *v = NULL;
	size_t len;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp.events", "1", "1 BOOT", 6, &err), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp.events", "2", "M Reboot", 8, &err), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp", "other", "x", 1, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "9", &err), DM_OK);
	dm_txn_abort(t); /* record and data change go together */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	assert_int_equal(dm_state_get(t, "cwmp.events", "1", &v, &len, &err), DM_ERR_NOT_INSTANTIATED);
	dm_txn_abort(t);

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp.events", "1", "1 BOOT", 6, &err), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp.events", "2", "M Reboot", 8, &err), DM_OK);
	assert_int_equal(dm_state_put(t, "cwmp", "other", "x", 1, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(dm_factory_reset(f->d, &err), DM_OK);
	reopen(f);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	assert_int_equal(dm_state_get(t, "cwmp.events", "2", &v, &len, &err), DM_OK);
	assert_string_equal(v, "M Reboot");
	assert_int_equal(len, 8);
	free(v);
	char listed[128] = "";
	assert_int_equal(dm_state_each(t, "cwmp.events", list_state, listed), DM_OK);
	assert_string_equal(listed, "1=1 BOOT;2=M Reboot;"); /* not the "cwmp" namespace */
	assert_int_equal(dm_state_put(t, "cwmp", "x", "y", 1, &err), DM_ERR_TXN_STATE); /* read txn */
	dm_txn_abort(t);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_state_del(t, "cwmp.events", "1", &err), DM_OK);
	assert_int_equal(dm_state_del(t, "cwmp.events", "9", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	listed[0] = 0;
	assert_int_equal(dm_state_each(t, "cwmp.events", list_state, listed), DM_OK);
	assert_string_equal(listed, "2=M Reboot;");
	dm_txn_abort(t);
}

/* ---- defaults file rules -------------------------------------------------------- */

static void test_defaults_bad_lines(void **state)
{
	fixture *f = *state;
	dm_close(f->d);
	f->d = NULL;
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -f '%s'/*.mdb", f->dir);
	assert_int_equal(system(cmd), 0);
	/* unknown path and bad value: reported with the line, skipped */
	write_file(f->defaults, "Device.Info.Serial S1\nDevice.Info.Bogus 1\nDevice.Info.Level 99\n"
				"Device.Info.Name ok\n");
	warnings = 0;
	dm_errinfo err = {0};
	assert_int_equal(open_engine(f, 0, &err), DM_OK);
	assert_int_equal(warnings, 2);
	assert_non_null(strstr(last_warning, ":3:"));
	assert_value(f->d, "Device.Info.Name", "ok");
	dm_close(f->d);
	f->d = NULL;
	assert_int_equal(system(cmd), 0);
	/* a syntax error stops the start and leaves no store behind */
	write_file(f->defaults, "Device.Info.Serial S1\nDevice.Info.Name \"unterminated\n");
	assert_int_equal(open_engine(f, 0, &err), DM_ERR_DEFAULTS_FILE);
	assert_non_null(strstr(err.msg, "defaults.txt:2:"));
	write_file(f->defaults, "Device.Info.Serial S2\n");
	assert_int_equal(open_engine(f, 0, &err), DM_OK);
	assert_value(f->d, "Device.Info.Serial", "S2");
}

/* ---- foreign and busy stores ------------------------------------------------------ */

static void test_foreign_store_refused(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	dm *other;
	dm_open_opts o = {.state_dir = f->dir};
	/* the running engine holds the store */
	assert_int_equal(dm_open(mini, &o, &other, &err), DM_ERR_STORE_BUSY);
	dm_close(f->d);
	f->d = NULL;
	/* another minor version of the model is an upgrade and carries over;
	 * a store made for another model is refused */
	char other_schema[400], cmd[900];
	snprintf(other_schema, sizeof other_schema, "%s/other.xml", f->dir);
	snprintf(cmd, sizeof cmd, "sed 's/Device:2.19/Device:2.20/' tests/data/mini.xml > '%s'", other_schema);
	assert_int_equal(system(cmd), 0);
	dm_schema *newer;
	assert_int_equal(dm_schema_load(other_schema, &newer, &err), DM_OK);
	warnings = 0;
	o.warn = count_warning;
	assert_int_equal(dm_open(newer, &o, &other, &err), DM_OK);
	assert_int_equal(warnings, 1);
	assert_value(other, "Device.Info.Serial", "SN0001");
	dm_close(other);
	dm_schema_free(newer);
	snprintf(cmd, sizeof cmd, "sed 's/Device:2.19/Gateway:1.0/' tests/data/mini.xml > '%s'", other_schema);
	assert_int_equal(system(cmd), 0);
	dm_schema *foreign;
	assert_int_equal(dm_schema_load(other_schema, &foreign, &err), DM_OK);
	assert_int_equal(dm_open(foreign, &o, &other, &err), DM_ERR_CORRUPT_STORE);
	assert_non_null(strstr(err.msg, "Device:2.20"));
	dm_schema_free(foreign);
	char path[400];
	snprintf(path, sizeof path, "%s/data.mdb", f->dir);
	write_file(path, "this is not a database, and must not be reset\n");
	assert_int_equal(dm_open(mini, &o, &other, &err), DM_ERR_CORRUPT_STORE);
	assert_non_null(strstr(err.msg, "data.mdb"));
	/* the file is untouched */
	FILE *fp = fopen(path, "r");
	char line[64] = "";
	assert_non_null(fgets(line, sizeof line, fp));
	fclose(fp);
	assert_string_equal(line, "this is not a database, and must not be reset\n");
}

/* ---- commands ---------------------------------------------------------------------- */

static dm_request *held;
static int hold_request(void *ctx, dm_request *r)
{
	(void)ctx;
	held = r;
	return DM_OK;
}

static int done_code = 1;
static char done_out[64];
static void on_done(void *ctx, uint64_t id, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	(void)ctx;
	(void)id;
	(void)msg;
	done_code = code;
	snprintf(done_out, sizeof done_out, "%s=%s", n_out ? out[0].name : "", n_out ? out[0].value : "");
}

static uint64_t interrupted_id;
static char interrupted_cmd[64];
static void on_interrupted(void *ctx, uint64_t id, const char *cmd, const char *key, const dm_origin *o)
{
	(void)ctx;
	interrupted_id = id;
	snprintf(interrupted_cmd, sizeof interrupted_cmd, "%s %s %d %s", cmd, key, o->kind, o->who);
}

static int sync_calls;
static int sync_reboot(void *ctx, dm_request *r)
{
	(void)ctx;
	sync_calls++;
	if (!strcmp(dm_request_command_key(r), "fail"))
		return dm_request_complete(r, DM_ERR_CMD_FAILED, NULL, 0, "flash is busy");
	dm_arg out = {"Done", "yes"};
	return dm_request_complete(r, DM_OK, &out, 1, NULL);
}

static void test_sync_command(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	assert_int_equal(dm_command_register(f->d, "Device.Reboot()", sync_reboot, NULL), DM_OK);
	done_code = 99;
	assert_int_equal(dm_operate(f->d, "Device.Reboot()", NULL, 0, "ok", NULL, on_done, NULL, NULL, &err),
			 DM_OK);
	assert_int_equal(done_code, DM_OK); /* outputs arrive before dm_operate returns */
	assert_string_equal(done_out, "Done=yes");
	done_code = 99;
	assert_int_equal(dm_operate(f->d, "Device.Reboot()", NULL, 0, "fail", NULL, on_done, NULL, NULL, &err),
			 DM_ERR_CMD_FAILED);
	assert_non_null(strstr(err.msg, "flash is busy"));
	assert_int_equal(done_code, 99); /* an error is dm_operate's, never a completion */
	assert_int_equal(sync_calls, 2);
}

static void test_commands(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	dm_origin o = {DM_ORIGIN_USP, "proto::ctl"};
	dm_arg good = {"Seconds", "5"}, bad = {"Seconds", "99"}, unknown = {"Minutes", "1"};
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &good, 1, "k1", &o, NULL, NULL, NULL, &err),
			 DM_ERR_NO_HANDLER);
	assert_int_equal(dm_command_register(f->d, "Device.Wait()", hold_request, NULL), DM_OK);
	assert_int_equal(dm_operate(f->d, "Device.Wait()", NULL, 0, "k1", &o, NULL, NULL, NULL, &err),
			 DM_ERR_REQUIRED_ARG);
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &bad, 1, "k1", &o, NULL, NULL, NULL, &err),
			 DM_ERR_INVALID_VALUE);
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &unknown, 1, "k1", &o, NULL, NULL, NULL, &err),
			 DM_ERR_INVALID_ARG);
	assert_int_equal(dm_operate(f->d, "Device.Info.Name", NULL, 0, "", &o, NULL, NULL, NULL, &err),
			 DM_ERR_NOT_COMMAND);
	uint64_t id1, id2;
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &good, 1, "k1", &o, on_done, NULL, &id1, &err), DM_OK);
	assert_non_null(held);
	assert_string_equal(dm_request_input(held, "Seconds"), "5");
	dm_arg out = {"Waited", "5"};
	assert_int_equal(dm_request_complete(held, DM_OK, &out, 1, NULL), DM_OK);
	assert_int_equal(done_code, DM_OK);
	assert_string_equal(done_out, "Waited=5");
	/* a second one is left running across a restart */
	held = NULL;
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &good, 1, "k2", &o, on_done, NULL, &id2, &err), DM_OK);
	assert_true(id2 > id1);
	reopen(f);
	assert_int_equal(dm_requests_interrupted(f->d, on_interrupted, NULL), DM_OK);
	assert_int_equal(interrupted_id, id2);
	assert_string_equal(interrupted_cmd, "Device.Wait() k2 2 proto::ctl");
	assert_int_equal(dm_request_forget(f->d, id2), DM_OK);
	interrupted_id = 0;
	assert_int_equal(dm_requests_interrupted(f->d, on_interrupted, NULL), DM_OK);
	assert_int_equal(interrupted_id, 0);
	/* ids keep growing after a restart */
	assert_int_equal(dm_command_register(f->d, "Device.Wait()", hold_request, NULL), DM_OK);
	uint64_t id3;
	assert_int_equal(dm_operate(f->d, "Device.Wait()", &good, 1, "k3", &o, NULL, NULL, &id3, &err), DM_OK);
	assert_true(id3 > id2);
	dm_request_complete(held, DM_OK, NULL, 0, NULL);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("tests/data/mini.xml", &mini, &err)) {
		fprintf(stderr, "cannot load tests/data/mini.xml: %s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_numbers_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_and_min_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_keys_assigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_rollback_on_injected_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_applies_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances_in_numeric_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_store_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_state, setup, teardown),
	};
	int rc = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	dm_schema_free(mini);
	return rc;
}
