/*
 * test_cwmp_session.c - pieces of the CWMP session that need no ACS: the
 * retry wait ranges (TR-069 3.2.1.1, Table 3), and the session's own RPC
 * handlers (Reboot, FactoryReset, ScheduleInform) on an agent built here
 * around a real store and loop, with no session ever opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "events.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Retry ranges
 * ------------------------------------------------------------------------- */

static const struct retry_case {
	unsigned long m, k;
	unsigned n;
	double lo, hi;
} retry_cases[] = {
	{ 5, 2000, 1, 5, 10 },
	{ 5, 2000, 2, 10, 20 },
	{ 5, 2000, 3, 20, 40 },
	{ 5, 2000, 9, 1280, 2560 },
	{ 5, 2000, 10, 2560, 5120 },
	{ 5, 2000, 15, 2560, 5120 }, /* the 10th range holds from then on */
	{ 5, 2000, 0, 5, 10 },       /* no retry yet counts as the first */
	{ 1, 1000, 1, 1, 1 },
	{ 1, 1000, 7, 1, 1 },
	{ 10, 1500, 2, 15, 22.5 },
	{ 0, 0, 1, 1, 1 }, /* below the data model's minimums: clamped */
};

static void t_retry_ranges(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof retry_cases / sizeof retry_cases[0]; i++) {
		const struct retry_case *c = &retry_cases[i];
		double lo = -1, hi = -1;
		cwmp_session_retry_range(c->m, c->k, c->n, &lo, &hi);
		if (lo != c->lo || hi != c->hi)
			fail_msg("m=%lu k=%lu n=%u: got %g-%g, want %g-%g", c->m, c->k, c->n, lo, hi, c->lo,
				 c->hi);
	}
}

static void t_retry_n10_equals_n15(void **state)
{
	double lo10, hi10, lo15, hi15;
	(void)state;
	cwmp_session_retry_range(7, 3000, 10, &lo10, &hi10);
	cwmp_session_retry_range(7, 3000, 15, &lo15, &hi15);
	assert_true(lo10 == lo15 && hi10 == hi15);
	assert_true(lo10 < hi10);
}

/* ---------------------------------------------------------------------------
 * The session's RPC handlers
 * ------------------------------------------------------------------------- */

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	cwmp_agent a;
	cwmp_reply rep;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = { 0 };
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-session-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = { .state_dir = f->dir };
	assert_int_equal(dm_open(bundled, &o, &f->d, &err), DM_OK);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	f->a.d = f->d;
	f->a.loop = f->loop;
	f->a.origin.kind = DM_ORIGIN_CWMP;
	f->a.origin.who = f->a.origin_who;
	assert_int_equal(cwmp_events_open(f->d, true, &f->a.events), 0);
	assert_int_equal(cwmp_session_start(&f->a, &f->a.session), 0);
	cwmp_reply_init(&f->rep);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	cwmp_reply_free(&f->rep);
	cwmp_session_stop(f->a.session);
	cwmp_events_close(f->a.events);
	core_loop_free(f->loop);
	dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void call(fixture *f, const cwmp_msg *req)
{
	cwmp_rpc_fn fn = f->a.rpc[req->kind];
	assert_non_null(fn);
	cwmp_reply_free(&f->rep);
	fn(&f->a, req, &f->rep);
}

typedef struct record_count {
	int n;
	char last_value[64];
} record_count;

static int count_record(void *ctx, const char *key, const void *value, size_t len)
{
	record_count *rc = ctx;
	(void)key;
	rc->n++;
	snprintf(rc->last_value, sizeof rc->last_value, "%.*s", (int)len, (const char *)value);
	return 0;
}

/* The ScheduleInform records in the store: how many, and the CommandKey of
 * the last in key (due) order. */
static int sched_records(fixture *f, char *last_key)
{
	record_count rc = { 0 };
	dm_txn *t;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), 0);
	assert_int_equal(dm_state_each(t, "cwmp.sched", count_record, &rc), 0);
	dm_txn_abort(t);
	if (last_key)
		strcpy(last_key, rc.last_value);
	return rc.n;
}

static void t_hooks_installed(void **state)
{
	fixture *f = *state;
	assert_non_null(f->a.raise);
	assert_non_null(f->a.after_session);
	assert_non_null(f->a.connection_request);
	assert_non_null(f->a.rpc[CWMP_MSG_REBOOT]);
	assert_non_null(f->a.rpc[CWMP_MSG_FACTORY_RESET]);
	assert_non_null(f->a.rpc[CWMP_MSG_SCHEDULE_INFORM]);
	assert_false(cwmp_session_running(f->a.session));
}

static void t_schedule_inform(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_SCHEDULE_INFORM };
	char key[64];

	req.u.schedule_inform.delay_seconds = 3600;
	req.u.schedule_inform.command_key = "later";
	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_SCHEDULE_INFORM_RESPONSE);
	req.u.schedule_inform.command_key = "";
	call(f, &req); /* same second, same delay: a second record */
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_SCHEDULE_INFORM_RESPONSE);
	assert_int_equal(sched_records(f, key), 2);
	assert_string_equal(key, "");
	/* nothing is raised until the delay has passed */
	assert_int_equal(cwmp_events_count(f->a.events), 0);
}

static void t_factory_reset_drops_schedules(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_SCHEDULE_INFORM };
	char cause[] = "RemoteFactoryReset";

	req.u.schedule_inform.delay_seconds = 60;
	req.u.schedule_inform.command_key = "old";
	call(f, &req);
	assert_int_equal(sched_records(f, NULL), 1);
	/* a plain restart keeps it */
	cwmp_session_stop(f->a.session);
	assert_int_equal(cwmp_session_start(&f->a, &f->a.session), 0);
	assert_int_equal(sched_records(f, NULL), 1);
	/* the start after a factory reset does not */
	cwmp_session_stop(f->a.session);
	f->a.boot_cause = cause;
	assert_int_equal(cwmp_session_start(&f->a, &f->a.session), 0);
	f->a.boot_cause = NULL;
	assert_int_equal(sched_records(f, NULL), 0);
}

static void t_schedule_inform_faults(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_SCHEDULE_INFORM };

	req.u.schedule_inform.delay_seconds = 0;
	req.u.schedule_inform.command_key = "k";
	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(f->rep.msg.u.fault.code, 9003);
	req.u.schedule_inform.delay_seconds = 10;
	req.u.schedule_inform.command_key = "123456789012345678901234567890123"; /* 33 */
	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(f->rep.msg.u.fault.code, 9003);
	assert_int_equal(sched_records(f, NULL), 0);
}

static void t_reboot_records_its_event(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_REBOOT };
	size_t n;
	uint64_t mark;

	req.u.command_key = "rb-1";
	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_REBOOT_RESPONSE);
	/* durable at once: reopen the queue as the restarted agent will */
	cwmp_events_close(f->a.events);
	assert_int_equal(cwmp_events_open(f->d, true, &f->a.events), 0);
	const cwmp_event *ev = cwmp_events_for_inform(f->a.events, &n, &mark);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].code, "M Reboot");
	assert_string_equal(ev[0].command_key, "rb-1");
}

static void t_reboot_key_too_long(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_REBOOT };

	req.u.command_key = "123456789012345678901234567890123";
	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_FAULT);
	assert_int_equal(f->rep.msg.u.fault.code, 9003);
	assert_int_equal(cwmp_events_count(f->a.events), 0);
}

static void t_factory_reset_answers(void **state)
{
	fixture *f = *state;
	cwmp_msg req = { .kind = CWMP_MSG_FACTORY_RESET };

	call(f, &req);
	assert_int_equal(f->rep.msg.kind, CWMP_MSG_FACTORY_RESET_RESPONSE);
}

static void t_queue_raise_opens_nothing(void **state)
{
	fixture *f = *state;

	assert_int_equal(f->a.raise(&f->a, "M Download", "d", CWMP_RAISE_QUEUE), 0);
	uv_run(core_loop_uv(f->loop), UV_RUN_NOWAIT);
	assert_false(cwmp_session_running(f->a.session));
	assert_true(cwmp_events_has(f->a.events, "M Download"));
}

static int group_setup(void **state)
{
	dm_errinfo err = { 0 };
	(void)state;
	core_log_set_level(CORE_LOG_ERROR);
	return dm_schema_load("datamodel/device2.xml", &bundled, &err);
}

static int group_teardown(void **state)
{
	(void)state;
	dm_schema_free(bundled);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_retry_ranges),
		cmocka_unit_test(t_retry_n10_equals_n15),
		cmocka_unit_test_setup_teardown(t_hooks_installed, setup, teardown),
		cmocka_unit_test_setup_teardown(t_schedule_inform, setup, teardown),
		cmocka_unit_test_setup_teardown(t_schedule_inform_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(t_factory_reset_drops_schedules, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reboot_records_its_event, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reboot_key_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(t_factory_reset_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(t_queue_raise_opens_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
