/*
 * test_faults.c - failure injection: every LMDB write call of a mixed
 * transaction fails in turn (as a dying disk would). Whatever call fails, the
 * store afterwards holds either everything the transaction did (it reported
 * success) or nothing of it (it reported an error), never a part; and the
 * engine stays usable. Run under valgrind, it also proves the error paths
 * free what they took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct dump {
	char *text;
	size_t len, cap;
} dump;

static int dump_item(void *ctx, const dm_item *it)
{
	dump *d = ctx;
	size_t need = strlen(it->path) + (it->value ? it->value_len : 0) + 3;
	if (d->len + need + 1 > d->cap) {
		d->cap = (d->cap + need) * 2;
		d->text = realloc(d->text, d->cap);
		assert_non_null(d->text);
	}
	d->len += (size_t)sprintf(d->text + d->len, "%s=%s\n", it->path, it->value ? it->value : "");
	return 0;
}

/* The whole tree, objects and values, as one string. */
static char *snapshot(dm *d)
{
	dm_txn *t;
	assert_int_equal(dm_txn_begin(d, DM_TXN_READ, NULL, &t), DM_OK);
	dump out = {0};
	dm_errinfo err;
	assert_int_equal(dm_resolve(t, DM_GRAMMAR_USP, "Device.",
				    DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, dump_item,
				    &out, &err),
			 DM_OK);
	dm_txn_abort(t);
	return out.text ? out.text : strdup("");
}

/* A transaction touching every write path: add (counter, marker, defaults,
 * alias), set, delete of a subtree, a group, unique-key bookkeeping. */
static int scripted_txn(dm *d)
{
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	dm_errinfo err;
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc)
		return rc;
	uint32_t inst;
	if ((rc = dm_add(t, "Device.Thing.", "new", &inst, &err)) ||
	    (rc = dm_set(t, "Device.Thing.1.Name", "renamed", &err)) ||
	    (rc = dm_set(t, "Device.Info.Level", "4", &err)) ||
	    (rc = dm_delete(t, "Device.Thing.2.", &err)) ||
	    (rc = dm_add(t, "Device.Thing.1.Part.", NULL, &inst, &err)))
		goto fail;
	if ((rc = dm_txn_group_begin(t)))
		goto fail;
	rc = dm_set(t, "Device.Thing.1.Weight", "77", &err);
	if ((rc = dm_txn_group_end(t, rc == DM_OK, &err)))
		goto fail;
	return dm_txn_commit(t, NULL, &err);
fail:
	dm_txn_abort(t);
	return rc;
}

static dm_schema *mini;

static dm *fresh_engine(char *dir)
{
	strcpy(dir, "/tmp/duet-test-faults-XXXXXX");
	assert_non_null(mkdtemp(dir));
	dm_open_opts o = {.state_dir = dir};
	dm *d;
	dm_errinfo err;
	assert_int_equal(dm_open(mini, &o, &d, &err), DM_OK);
	dm_origin in = {DM_ORIGIN_INTERNAL, "setup"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(d, DM_TXN_WRITE, &in, &t), DM_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dm_add(t, "Device.Thing.", NULL, NULL, &err), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.2.Part.", NULL, NULL, &err), DM_OK);
	assert_int_equal(dm_add_numbered(t, "Device.Slot.", 1, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return d;
}

static void remove_dir(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_each_lmdb_write_fails_in_turn(void **state)
{
	(void)state;
	char dir[64];
	/* the outcome without faults, and how many write calls it makes */
	dm *d = fresh_engine(dir);
	char *before = snapshot(d);
	store_fault_countdown = 100000;
	assert_int_equal(scripted_txn(d), DM_OK);
	unsigned calls = 100000 - store_fault_countdown;
	store_fault_countdown = 0;
	char *after = snapshot(d);
	assert_string_not_equal(before, after);
	dm_close(d);
	remove_dir(dir);
	assert_true(calls > 10);
	print_message("injecting a failure at each of %u LMDB write calls\n", calls);

	for (unsigned n = 1; n <= calls; n++) {
		d = fresh_engine(dir);
		store_fault_countdown = n;
		int rc = scripted_txn(d);
		store_fault_countdown = 0;
		char *now = snapshot(d);
		if (rc == DM_OK) {
			/* a failure inside the group only undoes the group */
			if (strcmp(now, after)) {
				assert_non_null(strstr(now, "Device.Thing.1.Name=renamed"));
				assert_non_null(strstr(now, "Device.Thing.1.Weight=10"));
			}
		} else {
			if (strcmp(now, before))
				fail_msg("fault at write call %u of %u left a partial transaction (rc %d)", n,
					 calls, rc);
		}
		/* the engine still works after the failure */
		assert_int_equal(scripted_txn(d), DM_OK);
		free(now);
		dm_close(d);
		remove_dir(dir);
	}
	free(before);
	free(after);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("tests/data/mini.xml", &mini, &err)) {
		fprintf(stderr, "cannot load tests/data/mini.xml: %s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_lmdb_write_fails_in_turn),
	};
	int rc = cmocka_run_group_tests_name("faults", tests, NULL, NULL);
	dm_schema_free(mini);
	return rc;
}
