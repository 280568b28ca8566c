/*
 * test_mapping_timers.c - Device.ScheduleTimer() (mapping/timers.c) on a
 * real engine (bundled datamodel/device2.xml) and a real loop: a timer
 * completes its request after DelaySeconds and leaves no record; a bad
 * DelaySeconds is refused by the engine's argument check (7027 / 9003 for
 * an Operate); a timer running when the agent stops is recorded, taken
 * over at the next start (its engine request no longer reads as
 * interrupted) and reported at its original due time; one due while the
 * agent was down fires at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "faults.h"
#include "loop_wait.h"
#include "timers.h"
#include "unit_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "Device.ScheduleTimer()"
#define CTL "proto::timer-controller"

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	map_timers *mt;
	int done, done_code;
	int reported;
	char rep_who[64], rep_cmd[64], rep_key[64];
	int interrupted;
} fixture;

static void open_engine(fixture *f)
{
	dm_errinfo err = {0};
	dm_open_opts o = {.state_dir = f->dir};

	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/test_mapping_timers.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_engine(f);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	map_timers_stop(f->mt);
	core_loop_free(f->loop);
	dm_close(f->d);
	assert_int_equal(unit_remove_dir(f->dir), 0);
	free(f);
	return 0;
}

static bool run_until(fixture *f, loop_until_fn done, unsigned ms)
{
	return loop_run_until(f->loop, done, f, ms);
}

static bool completed(void *ctx) { return ((fixture *)ctx)->done > 0; }
static bool reported(void *ctx) { return ((fixture *)ctx)->reported > 0; }

static void on_done(void *ctx, uint64_t id, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	fixture *f = ctx;

	(void)id, (void)out, (void)n_out, (void)msg;
	f->done++;
	f->done_code = code;
}

static void on_report(void *ctx, const char *who, const char *cmd, const char *key)
{
	fixture *f = ctx;

	f->reported++;
	snprintf(f->rep_who, sizeof f->rep_who, "%s", who);
	snprintf(f->rep_cmd, sizeof f->rep_cmd, "%s", cmd);
	snprintf(f->rep_key, sizeof f->rep_key, "%s", key);
}

static int schedule(fixture *f, const char *delay, const char *key, dm_errinfo *err)
{
	const dm_arg in[] = {{"DelaySeconds", delay}};
	const dm_origin usp = {DM_ORIGIN_USP, CTL};

	return dm_operate(f->d, CMD, in, delay ? 1 : 0, key, &usp, on_done, f, NULL, err);
}

static int count_record(void *ctx, const char *key, const void *value, size_t len)
{
	(void)key, (void)value, (void)len;
	(*(int *)ctx)++;
	return 0;
}

static int records(fixture *f)
{
	dm_txn *t;
	int n = 0;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	dm_state_each(t, MAP_TIMERS_NS, count_record, &n);
	dm_txn_abort(t);
	return n;
}

static void count_interrupted(void *ctx, uint64_t id, const char *cmd, const char *key, const dm_origin *o)
{
	(void)id, (void)key, (void)o;
	if (!strcmp(cmd, CMD))
		((fixture *)ctx)->interrupted++;
}

static int interrupted(fixture *f)
{
	f->interrupted = 0;
	assert_int_equal(dm_requests_interrupted(f->d, count_interrupted, f), DM_OK);
	return f->interrupted;
}

/* The agent stops and starts again on the same store. */
static void restart(fixture *f)
{
	map_timers_stop(f->mt);
	f->mt = NULL;
	dm_close(f->d);
	open_engine(f);
	assert_int_equal(map_timers_start(f->d, f->loop, &f->mt), DM_OK);
	map_timers_set_reporter(f->mt, on_report, f);
}

static void test_fires_after_delay(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};

	assert_int_equal(map_timers_start(f->d, f->loop, &f->mt), DM_OK);
	uint64_t t0 = uv_now(core_loop_uv(f->loop));
	assert_int_equal(schedule(f, "1", "ck-1", &err), DM_OK);
	assert_int_equal(f->done, 0);
	assert_int_equal(records(f), 1);
	assert_int_equal(map_timers_pending(f->mt), 1);
	assert_true(run_until(f, completed, 3000));
	assert_true(uv_now(core_loop_uv(f->loop)) - t0 >= 950);
	assert_int_equal(f->done_code, DM_OK);
	assert_int_equal(records(f), 0);
	assert_int_equal(interrupted(f), 0);
	assert_int_equal(map_timers_pending(f->mt), 0);
}

static void test_bad_delay(void **state)
{
	static const struct {
		const char *delay;
		int code;
	} rows[] = {
		{"0", DM_ERR_INVALID_VALUE},
		{"-5", DM_ERR_INVALID_VALUE},
		{"soon", DM_ERR_INVALID_VALUE},
		{"4294967296", DM_ERR_INVALID_VALUE},
		{NULL, DM_ERR_REQUIRED_ARG},
	};
	fixture *f = *state;

	assert_int_equal(map_timers_start(f->d, f->loop, &f->mt), DM_OK);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		dm_errinfo err = {0};
		int rc = schedule(f, rows[i].delay, "bad", &err);
		assert_int_equal(rc, rows[i].code);
		/* an Operate's argument error: 7027 for a Controller */
		assert_int_equal(map_dm_to_usp_err(rc, err.reason, MAP_OP_OPERATE), 7027);
	}
	assert_int_equal(records(f), 0);
	assert_int_equal(f->done, 0);
}

static void test_survives_restart(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};

	assert_int_equal(map_timers_start(f->d, f->loop, &f->mt), DM_OK);
	uint64_t t0 = uv_now(core_loop_uv(f->loop));
	assert_int_equal(schedule(f, "2", "ck-persist", &err), DM_OK);
	restart(f);
	/* the timer goes on; its request is nobody's interrupted operation */
	assert_int_equal(interrupted(f), 0);
	assert_int_equal(map_timers_pending(f->mt), 1);
	assert_int_equal(records(f), 1);
	/* not before its original due time */
	assert_false(run_until(f, reported, 1500));
	assert_true(run_until(f, reported, 3000));
	assert_true(uv_now(core_loop_uv(f->loop)) - t0 >= 1900);
	assert_string_equal(f->rep_who, CTL);
	assert_string_equal(f->rep_cmd, CMD);
	assert_string_equal(f->rep_key, "ck-persist");
	assert_int_equal(records(f), 0);
	assert_int_equal(f->done, 0); /* the first run's Operate is gone */
}

/* A record whose due time passed while the agent was down. */
static void test_overdue_fires_at_once(void **state)
{
	fixture *f = *state;
	dm_txn *t;
	dm_errinfo err = {0};
	char rec[64];
	int n = snprintf(rec, sizeof rec, "%lld%cck-late%c%s", (long long)time(NULL) * 1000 - 60000, 0, 0, CTL);

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, NULL, &t), DM_OK);
	assert_int_equal(dm_state_put(t, MAP_TIMERS_NS, "00000000000000ff", rec, (size_t)n + 1, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(map_timers_start(f->d, f->loop, &f->mt), DM_OK);
	map_timers_set_reporter(f->mt, on_report, f);
	uint64_t t0 = uv_now(core_loop_uv(f->loop));
	assert_true(run_until(f, reported, 1000));
	assert_true(uv_now(core_loop_uv(f->loop)) - t0 < 500);
	assert_string_equal(f->rep_key, "ck-late");
	assert_int_equal(records(f), 0);
}

int main(void)
{
	if (!(bundled = unit_bundled_schema()))
		return 1;
	core_log_set_level(CORE_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fires_after_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overdue_fires_at_once, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
