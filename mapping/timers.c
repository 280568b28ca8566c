/*
 * timers.c - Device.ScheduleTimer() (timers.h): the async handler, the
 * timer records in agent state and their take-over after a restart. The
 * ACS's ScheduleInform is not here: each side's timer reports only to its
 * own side (notes C19), so CWMP keeps its own in cwmp/.
 *
 * A record: key = the engine request id as 16 hex digits (the order of
 * acceptance); value = "due_ms\0command_key\0requester\0", due_ms in wall
 * clock milliseconds since the epoch, so that the due time means the same
 * after a reboot (a monotonic clock restarts with the machine).
 */
#include "timers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "timers"

typedef struct timer {
	map_timers *owner;
	uint64_t id;       /* engine request id, also the record's key */
	int64_t due_ms;
	dm_request *req;   /* NULL for a timer taken over after a restart */
	char *key, *who;
	core_timer *ct;
	struct timer *next;
} timer;

struct map_timers {
	dm *d;
	core_loop *loop;
	timer *armed;
	map_timers_report_fn report;
	void *report_ctx;
};

/* The agent's own bookkeeping: no manager wrote it. */
static const dm_origin timers_origin = {DM_ORIGIN_INTERNAL, "schedule-timer"};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void key_of(uint64_t id, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, id);
}

/* ---- records ----------------------------------------------------------------- */

/* Each in its own durable commit: a timer is accepted only once its record
 * would survive a crash (R5). */
static int record_write(dm *d, const timer *tm, bool remove)
{
	dm_txn *t;
	dm_errinfo err = {0};
	char key[17], rec[1200];
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &timers_origin, &t);

	if (rc)
		return rc;
	key_of(tm->id, key);
	if (remove) {
		rc = dm_state_del(t, MAP_TIMERS_NS, key, &err);
	} else {
		int n = snprintf(rec, sizeof rec, "%" PRId64 "%c%s%c%s", tm->due_ms, 0, tm->key, 0, tm->who);
		rc = n < 0 || (size_t)n + 1 > sizeof rec
			     ? DM_ERR_NOMEM
			     : dm_state_put(t, MAP_TIMERS_NS, key, rec, (size_t)n + 1, &err);
	}
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

/* ---- armed timers ------------------------------------------------------------- */

static void timer_free(timer *tm)
{
	if (!tm)
		return;
	core_timer_stop(tm->ct);
	free(tm->key);
	free(tm->who);
	free(tm);
}

static timer *timer_new(map_timers *mt, uint64_t id, int64_t due_ms, const char *key, const char *who)
{
	timer *tm = calloc(1, sizeof *tm);

	if (!tm)
		return NULL;
	*tm = (timer){.owner = mt, .id = id, .due_ms = due_ms, .key = strdup(key ? key : ""),
		      .who = strdup(who ? who : "")};
	if (!tm->key || !tm->who) {
		timer_free(tm);
		return NULL;
	}
	return tm;
}

static void unlink_timer(map_timers *mt, timer *tm)
{
	for (timer **pp = &mt->armed; *pp; pp = &(*pp)->next)
		if (*pp == tm) {
			*pp = tm->next;
			return;
		}
}

/* The record goes first: a crash between the two loses the completion
 * rather than firing the timer twice. */
static void on_due(void *ctx)
{
	timer *tm = ctx;
	map_timers *mt = tm->owner;
	int rc = record_write(mt->d, tm, true);

	if (rc)
		CORE_LOG_W(MOD, "timer %" PRIu64 ": record not removed: %s", tm->id, dm_strerror(rc));
	unlink_timer(mt, tm);
	if (tm->req)
		dm_request_complete(tm->req, DM_OK, NULL, 0, NULL);
	else if (mt->report)
		mt->report(mt->report_ctx, tm->who, MAP_TIMERS_CMD, tm->key);
	else
		CORE_LOG_I(MOD, "timer of %s (command key \"%s\") fired with nobody to tell", tm->who, tm->key);
	timer_free(tm);
}

static int arm(map_timers *mt, timer *tm)
{
	int64_t left = tm->due_ms - now_ms();
	int rc = core_timer_start(mt->loop, left > 0 ? (uint64_t)left : 0, 0, on_due, tm, &tm->ct);

	if (rc)
		return DM_ERR_NOMEM;
	tm->next = mt->armed;
	mt->armed = tm;
	return DM_OK;
}

/* ---- the command ---------------------------------------------------------------- */

/* DelaySeconds was checked against the schema (unsignedInt, at least 1)
 * before the handler runs: a bad one is the Operate's 7027 / 9003. A schema
 * without the range still gets no zero delay. */
static int on_schedule(void *ctx, dm_request *req)
{
	map_timers *mt = ctx;
	const char *arg = dm_request_input(req, "DelaySeconds");
	char *end;
	unsigned long long secs = arg ? strtoull(arg, &end, 10) : 0;

	if (!secs || *end)
		return DM_ERR_INVALID_ARG;
	const dm_origin *o = dm_request_origin(req);
	timer *tm = timer_new(mt, dm_request_id(req), now_ms() + (int64_t)secs * 1000, dm_request_command_key(req),
			      o ? o->who : NULL);
	if (!tm)
		return DM_ERR_NOMEM;
	int rc = record_write(mt->d, tm, false);
	if (!rc)
		rc = arm(mt, tm);
	if (rc) {
		if (tm->ct) /* armed failed after the record: drop it again */
			record_write(mt->d, tm, true);
		timer_free(tm);
		return rc;
	}
	tm->req = req;
	CORE_LOG_D(MOD, "timer %" PRIu64 " of %s due in %llu s", tm->id, tm->who, secs);
	return DM_OK;
}

/* ---- take-over after a restart ---------------------------------------------------- */

typedef struct resume_ctx {
	map_timers *mt;
	int rc;
} resume_ctx;

static int parse_record(const void *value, size_t len, int64_t *due, const char **key, const char **who)
{
	const char *p = value, *end = p + len;

	if (!len || p[len - 1])
		return DM_ERR_CORRUPT_STORE;
	*due = strtoll(p, NULL, 10);
	p += strlen(p) + 1;
	if (p >= end)
		return DM_ERR_CORRUPT_STORE;
	*key = p;
	p += strlen(p) + 1;
	if (p >= end)
		return DM_ERR_CORRUPT_STORE;
	*who = p;
	return DM_OK;
}

static int resume_one(void *ctx, const char *k, const void *value, size_t len)
{
	resume_ctx *r = ctx;
	int64_t due;
	const char *key, *who;
	char *end;
	uint64_t id = strtoull(k, &end, 16);

	if (*end || parse_record(value, len, &due, &key, &who)) {
		CORE_LOG_W(MOD, "timer record %s unreadable: skipped", k);
		return 0;
	}
	timer *tm = timer_new(r->mt, id, due, key, who);
	if (!tm || arm(r->mt, tm)) {
		timer_free(tm);
		r->rc = DM_ERR_NOMEM;
		return 1;
	}
	return 0;
}

/* The engine request of each recorded timer is forgotten: it goes on as
 * the timer, and the USP front end would otherwise report it failed as an
 * operation the restart interrupted (TR-369 lets a command's description
 * retain it; TR-181 does so for ScheduleTimer()). */
static int resume(map_timers *mt)
{
	dm_txn *t;
	resume_ctx r = {mt, DM_OK};
	int rc = dm_txn_begin(mt->d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	dm_state_each(t, MAP_TIMERS_NS, resume_one, &r);
	dm_txn_abort(t);
	for (timer *tm = mt->armed; tm; tm = tm->next) {
		dm_request_forget(mt->d, tm->id);
		CORE_LOG_I(MOD, "timer of %s (command key \"%s\") resumed across the restart", tm->who, tm->key);
	}
	return r.rc;
}

/* ---- lifecycle --------------------------------------------------------------------- */

int map_timers_start(dm *d, core_loop *loop, map_timers **out)
{
	map_timers *mt = calloc(1, sizeof *mt);

	if (!mt)
		return DM_ERR_NOMEM;
	mt->d = d;
	mt->loop = loop;
	int rc = dm_command_register(d, MAP_TIMERS_CMD, on_schedule, mt);
	if (rc == DM_ERR_NOT_IN_SCHEMA) {
		*out = mt;
		return DM_OK;
	}
	if (!rc)
		rc = resume(mt);
	if (rc) {
		dm_command_register(d, MAP_TIMERS_CMD, NULL, NULL);
		map_timers_stop(mt);
		return rc;
	}
	*out = mt;
	return DM_OK;
}

void map_timers_set_reporter(map_timers *t, map_timers_report_fn fn, void *ctx)
{
	if (!t)
		return;
	t->report = fn;
	t->report_ctx = ctx;
}

size_t map_timers_pending(const map_timers *t)
{
	size_t n = 0;

	for (const timer *tm = t ? t->armed : NULL; tm; tm = tm->next)
		n++;
	return n;
}

/* A timer still running keeps its engine request recorded as well as its
 * own record: the next start takes both over. */
void map_timers_stop(map_timers *t)
{
	if (!t)
		return;
	if (t->d)
		dm_command_register(t->d, MAP_TIMERS_CMD, NULL, NULL);
	while (t->armed) {
		timer *tm = t->armed;
		t->armed = tm->next;
		timer_free(tm);
	}
	free(t);
}
