/*
 * test_audit.c - the engine's write guard and audit log (datamodel/guard.c,
 * datamodel/audit.c) on a real store: a refused write applies nothing and
 * runs no vendor hook, internal writes are never asked about; the audit
 * ring keeps one entry per committed change with its origin, newest first,
 * within its bound, across a restart, never for an aborted or failed
 * transaction, and never with a secret's value.
 * Uses tests/data/mini.xml.
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
#include <time.h>
#include <unistd.h>

static dm_schema *mini;

typedef struct fixture {
	char dir[64];
	dm *d;
} fixture;

static void quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static void open_store(fixture *f)
{
	dm_open_opts o = {.state_dir = f->dir, .warn = quiet};
	dm_errinfo err = {0};
	if (dm_open(mini, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-audit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_store(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	if (f->d)
		dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* One operation in its own transaction of the given origin. */
static int write_as(dm *d, dm_origin_kind kind, const char *who, const char *op, const char *path,
		    const char *value, dm_errinfo *err)
{
	dm_origin o = {kind, who};
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc) /* only under failure injection */
		return rc;
	if (!strcmp(op, "set"))
		rc = dm_set(t, path, value, err);
	else if (!strcmp(op, "add"))
		rc = dm_add(t, path, value, NULL, err);
	else
		rc = dm_delete(t, path, err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

static void assert_value(dm *d, const char *path, const char *want)
{
	char buf[256];
	dm_errinfo err = {0};
	if (dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

/* ---- the guard ------------------------------------------------------------ */

typedef struct guard_log {
	int calls;
	dm_origin_kind kind;
	dm_change_kind op;
	char path[256];
	const char *refuse; /* paths starting with this are refused */
} guard_log;

static int test_guard(void *ctx, const dm_origin *origin, dm_change_kind op, const char *path)
{
	guard_log *g = ctx;
	g->calls++;
	g->kind = origin->kind;
	g->op = op;
	snprintf(g->path, sizeof g->path, "%s", path);
	return g->refuse && !strncmp(path, g->refuse, strlen(g->refuse));
}

static int hook_calls;
static int count_set_hook(void *ctx, const char *path, const char *value, dm_errinfo *err)
{
	(void)ctx;
	(void)path;
	(void)value;
	(void)err;
	hook_calls++;
	return 0;
}

static void test_refused_set_applies_nothing(void **state)
{
	fixture *f = *state;
	guard_log g = {.refuse = "Device.Info.Name"};
	dm_provider p = {.set = count_set_hook};
	dm_origin usp = {DM_ORIGIN_USP, "ctl"};
	dm_errinfo err = {0};
	dm_txn *t;

	char before[64];
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.Info.Name", before, sizeof before, &err), DM_OK);
	hook_calls = 0;
	assert_int_equal(dm_provider_register(f->d, "Device.Info.Name", &p), DM_OK);
	assert_int_equal(dm_guard_set(f->d, test_guard, &g), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &usp, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Name", "taken", &err), DM_ERR_DENIED);
	assert_int_equal(err.code, DM_ERR_DENIED);
	assert_string_equal(err.path, "Device.Info.Name");
	assert_non_null(strstr(err.msg, "refused by the device's policy"));
	assert_int_equal(g.kind, DM_ORIGIN_USP);
	assert_int_equal(g.op, DM_CHANGE_VALUE);
	assert_int_equal(hook_calls, 0); /* the vendor hook never saw the refused value */
	/* the transaction stays usable for what the policy allows */
	assert_int_equal(dm_set(t, "Device.Info.Level", "7", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_value(f->d, "Device.Info.Name", before);
	assert_string_not_equal(before, "taken");
	assert_value(f->d, "Device.Info.Level", "7");
}

static void test_refused_add_and_delete(void **state)
{
	fixture *f = *state;
	guard_log g = {0};
	dm_errinfo err = {0};

	assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "add", "Device.Thing.", NULL, &err), DM_OK);
	assert_int_equal(dm_guard_set(f->d, test_guard, &g), DM_OK);
	g.refuse = "Device.Thing.";
	assert_int_equal(write_as(f->d, DM_ORIGIN_CWMP, "acs", "add", "Device.Thing.", NULL, &err),
			 DM_ERR_DENIED);
	assert_int_equal(g.op, DM_CHANGE_ADD);
	assert_string_equal(g.path, "Device.Thing.");
	assert_int_equal(write_as(f->d, DM_ORIGIN_CWMP, "acs", "delete", "Device.Thing.1.", NULL, &err),
			 DM_ERR_DENIED);
	assert_int_equal(g.op, DM_CHANGE_DELETE);
	assert_string_equal(g.path, "Device.Thing.1.");
	assert_value(f->d, "Device.ThingNumberOfEntries", "1");
	/* the refused add took no instance number */
	assert_int_equal(dm_guard_set(f->d, NULL, NULL), DM_OK);
	dm_origin o = {DM_ORIGIN_CWMP, "acs"};
	dm_txn *t;
	uint32_t inst = 0;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(inst, 2);
}

static void test_internal_writes_not_asked(void **state)
{
	fixture *f = *state;
	guard_log g = {.refuse = "Device."};
	dm_errinfo err = {0};

	assert_int_equal(dm_guard_set(f->d, test_guard, &g), DM_OK);
	assert_int_equal(write_as(f->d, DM_ORIGIN_INTERNAL, "agent", "set", "Device.Info.Name", "a", &err), DM_OK);
	assert_int_equal(g.calls, 0);
	/* the agent's own record inside a manager's transaction counts as the agent's */
	dm_origin acs = {DM_ORIGIN_CWMP, "acs"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &acs, &t), DM_OK);
	assert_int_equal(dm_set_as_agent(t, "Device.Info.Serial", "SN9", &err), DM_OK);
	assert_int_equal(g.calls, 0);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	/* every other origin is asked; ADMIN too (the policy decides, not the engine) */
	assert_int_equal(write_as(f->d, DM_ORIGIN_ADMIN, "duetctl", "set", "Device.Info.Name", "b", &err),
			 DM_ERR_DENIED);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.kind, DM_ORIGIN_ADMIN);
	assert_value(f->d, "Device.Info.Name", "a");
	/* removed: nothing is asked any more */
	assert_int_equal(dm_guard_set(f->d, NULL, NULL), DM_OK);
	assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "set", "Device.Info.Name", "c", &err), DM_OK);
	assert_int_equal(g.calls, 1);
	assert_value(f->d, "Device.Info.Name", "c");
}

/* ---- the audit log ------------------------------------------------------------ */

#define MAX_SEEN 64

typedef struct seen_entry {
	uint64_t seq, txn;
	int64_t time_ms;
	dm_change_kind kind;
	dm_origin_kind origin;
	char who[32], path[128], old_v[64], new_v[64];
	bool has_old, has_new, secret;
} seen_entry;

typedef struct seen {
	size_t n;
	seen_entry e[MAX_SEEN];
} seen;

static int collect(void *ctx, const dm_audit_entry *e)
{
	seen *s = ctx;
	if (s->n == MAX_SEEN)
		return 1;
	seen_entry *x = &s->e[s->n++];
	x->seq = e->seq;
	x->txn = e->txn_id;
	x->time_ms = e->time_ms;
	x->kind = e->kind;
	x->origin = e->origin.kind;
	snprintf(x->who, sizeof x->who, "%s", e->origin.who ? e->origin.who : "(null)");
	snprintf(x->path, sizeof x->path, "%s", e->path);
	x->has_old = e->old_value != NULL;
	x->has_new = e->new_value != NULL;
	snprintf(x->old_v, sizeof x->old_v, "%s", e->old_value ? e->old_value : "");
	snprintf(x->new_v, sizeof x->new_v, "%s", e->new_value ? e->new_value : "");
	x->secret = e->secret;
	return 0;
}

static seen *read_audit(dm *d, size_t max)
{
	static seen s;
	memset(&s, 0, sizeof s);
	assert_int_equal(dm_audit_each(d, collect, &s, max), DM_OK);
	return &s;
}

static void test_one_entry_per_change_newest_first(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	dm_origin usp = {DM_ORIGIN_USP, "proto::ctl"};
	dm_txn *t;
	uint64_t txn_id = 0;
	int64_t before = (int64_t)time(NULL) * 1000;

	assert_int_equal(read_audit(f->d, 0)->n, 0);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &usp, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", "a", NULL, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.1.Name", "one", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "3", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, &txn_id, &err), DM_OK);
	assert_int_equal(write_as(f->d, DM_ORIGIN_CWMP, "http://acs", "delete", "Device.Thing.1.", NULL, &err),
			 DM_OK);

	seen *s = read_audit(f->d, 0);
	assert_int_equal(s->n, 4);
	/* newest first: the ACS's delete, then the Controller's three in reverse */
	assert_int_equal(s->e[0].kind, DM_CHANGE_DELETE);
	assert_int_equal(s->e[0].origin, DM_ORIGIN_CWMP);
	assert_string_equal(s->e[0].who, "http://acs");
	assert_string_equal(s->e[0].path, "Device.Thing.1.");
	assert_false(s->e[0].has_old);
	assert_int_equal(s->e[0].txn, txn_id + 1);
	assert_int_equal(s->e[1].kind, DM_CHANGE_VALUE);
	assert_string_equal(s->e[1].path, "Device.Info.Level");
	assert_string_equal(s->e[1].old_v, "0");
	assert_string_equal(s->e[1].new_v, "3");
	assert_string_equal(s->e[2].path, "Device.Thing.1.Name");
	assert_string_equal(s->e[2].new_v, "one");
	assert_int_equal(s->e[3].kind, DM_CHANGE_ADD);
	assert_string_equal(s->e[3].path, "Device.Thing.1.");
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(s->e[i].origin, DM_ORIGIN_USP);
		assert_string_equal(s->e[i].who, "proto::ctl");
		assert_int_equal(s->e[i].txn, txn_id);
		assert_true(s->e[i].seq < s->e[i - 1].seq);
		assert_true(s->e[i].time_ms >= before && s->e[i].time_ms < before + 60000);
	}
	/* max counts from the newest */
	s = read_audit(f->d, 2);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->e[1].path, "Device.Info.Level");
}

static void test_ring_bound_and_restart(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	char v[8];

	assert_int_equal(dm_audit_limit(f->d), DM_AUDIT_DEFAULT_LIMIT);
	dm_audit_set_limit(f->d, 5);
	for (int i = 1; i <= 8; i++) {
		snprintf(v, sizeof v, "%d", i);
		assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "set", "Device.Info.Level", v, &err), DM_OK);
	}
	seen *s = read_audit(f->d, 0);
	assert_int_equal(s->n, 5);
	assert_string_equal(s->e[0].new_v, "8");
	assert_string_equal(s->e[4].new_v, "4"); /* 1..3 dropped, oldest first */
	uint64_t newest = s->e[0].seq;

	/* one transaction larger than the ring keeps its last changes */
	dm_origin o = {DM_ORIGIN_ADMIN, "duetctl"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	for (int i = 0; i < 7; i++) {
		snprintf(v, sizeof v, "n%d", i);
		assert_int_equal(dm_set(t, "Device.Info.Name", v, &err), DM_OK);
	}
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	s = read_audit(f->d, 0);
	assert_int_equal(s->n, 5);
	assert_string_equal(s->e[0].new_v, "n6");
	assert_string_equal(s->e[4].new_v, "n2");
	assert_int_equal(s->e[0].seq, newest + 7); /* sequence numbers are never reused */

	/* a lower limit trims at the next commit */
	dm_audit_set_limit(f->d, 2);
	assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "set", "Device.Info.Level", "9", &err), DM_OK);
	assert_int_equal(read_audit(f->d, 0)->n, 2);

	/* durable: the entries are there after a restart, in order */
	dm_close(f->d);
	f->d = NULL;
	open_store(f);
	s = read_audit(f->d, 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->e[0].new_v, "9");
	assert_string_equal(s->e[1].new_v, "n6");

	/* limit 0: nothing is recorded any more */
	dm_audit_set_limit(f->d, 0);
	assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "set", "Device.Info.Level", "1", &err), DM_OK);
	assert_int_equal(read_audit(f->d, 0)->n, 0);
}

static void test_no_entry_without_commit(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	dm_origin o = {DM_ORIGIN_USP, "ctl"};
	dm_txn *t;

	/* aborted */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "4", &err), DM_OK);
	dm_txn_abort(t);
	assert_int_equal(read_audit(f->d, 0)->n, 0);
	/* refused at commit (a deferred unique-key check) */
	assert_int_equal(write_as(f->d, DM_ORIGIN_USP, "ctl", "add", "Device.Thing.", "x", &err), DM_OK);
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.Thing.", "y", NULL, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.Thing.2.Alias", "x", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_ERR_UNIQUE_KEY);
	assert_int_equal(read_audit(f->d, 0)->n, 1);
	/* a group undone leaves none of its changes */
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Level", "5", &err), DM_OK);
	assert_int_equal(dm_txn_group_begin(t), DM_OK);
	assert_int_equal(dm_set(t, "Device.Info.Name", "gone", &err), DM_OK);
	assert_int_equal(dm_txn_group_end(t, false, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	seen *s = read_audit(f->d, 0);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->e[0].path, "Device.Info.Level");
}

/* The entries are written in the committing LMDB transaction: a failure at
 * any LMDB write call of the commit, audit records included, leaves neither
 * the change nor its entry. */
static void test_failed_commit_leaves_no_entry(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};
	int failures = 0;

	for (unsigned n = 1; n < 50; n++) {
		char v[8];
		snprintf(v, sizeof v, "%u", n);
		size_t entries = read_audit(f->d, 0)->n;
		store_fault_countdown = n;
		int rc = write_as(f->d, DM_ORIGIN_USP, "ctl", "set", "Device.Info.Level", v, &err);
		store_fault_countdown = 0;
		if (rc == DM_OK) {
			assert_int_equal(read_audit(f->d, 0)->n, entries + 1);
			assert_value(f->d, "Device.Info.Level", v);
			break;
		}
		failures++;
		assert_int_equal(read_audit(f->d, 0)->n, entries);
	}
	/* begin, the value, the txn counter, the audit record, commit */
	assert_true(failures >= 4);
}

static void test_secrets_not_recorded(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};

	assert_int_equal(write_as(f->d, DM_ORIGIN_CWMP, "acs", "set", "Device.Info.Secret", "hunter2", &err),
			 DM_OK);
	seen *s = read_audit(f->d, 0);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->e[0].path, "Device.Info.Secret");
	assert_true(s->e[0].secret);
	assert_false(s->e[0].has_old);
	assert_false(s->e[0].has_new);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("tests/data/mini.xml", &mini, &err)) {
		fprintf(stderr, "cannot load tests/data/mini.xml: %s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_set_applies_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_add_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_internal_writes_not_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_entry_per_change_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_bound_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_entry_without_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_leaves_no_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_not_recorded, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(mini);
	return rc;
}
