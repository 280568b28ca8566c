/*
 * migration.c - migration control: which stacks are active and since when
 * (followed on the change feed, recorded from the loop), and the admin
 * verbs "owner" and "stacks". The ownership policy itself is ownership.c.
 */
#include "migration.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STACKS_NS "map.stacks"
/* A writer still open when the timer fires (never expected: writers end
 * within the loop callback that began them) is waited out this long. */
#define RETRY_MS 50

struct map_migration {
	dm *d;
	core_loop *loop;
	map_ownership *owner;
	dm_sub *sub;
	core_timer *timer;
	bool dirty;
	map_stack_status status[MAP_STACK_COUNT];
	core_admin_ext verbs[2];
};

static const char *const stack_names[MAP_STACK_COUNT] = {
	[MAP_STACK_CWMP] = "cwmp",
	[MAP_STACK_USP] = "usp",
};

const char *map_stack_name(map_stack s)
{
	return (unsigned)s < MAP_STACK_COUNT ? stack_names[s] : "?";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- what is active now ----------------------------------------------------- */

static bool value_is(dm *d, dm_txn *t, const char *path, const char *want)
{
	char v[16];
	dm_errinfo err = {0};

	return dm_get_value_buf(d, t, path, v, sizeof v, &err) == DM_OK && !strcmp(v, want);
}

static bool cwmp_active(dm *d, dm_txn *t)
{
	char url[8];
	dm_errinfo err = {0};
	/* only emptiness matters: a URL longer than the buffer is DM_ERR_NOMEM */
	int rc = dm_get_value_buf(d, t, "Device.ManagementServer.URL", url, sizeof url, &err);

	return value_is(d, t, "Device.ManagementServer.EnableCWMP", "true") &&
	       (rc == DM_ERR_NOMEM || (rc == DM_OK && url[0]));
}

static int stop_at_true(void *ctx, const dm_item *it)
{
	(void)ctx;
	return it->value && it->value_len == 4 && !memcmp(it->value, "true", 4);
}

static bool any_enabled(dm_txn *t, const char *expr)
{
	dm_errinfo err = {0};

	return dm_resolve(t, DM_GRAMMAR_USP, expr, DM_RESOLVE_PARAMS, 0, stop_at_true, NULL, &err) == 1;
}

static bool usp_active(dm_txn *t)
{
	return any_enabled(t, "Device.LocalAgent.MTP.*.Enable") ||
	       any_enabled(t, "Device.LocalAgent.Controller.*.Enable");
}

static int current(dm *d, bool active[MAP_STACK_COUNT])
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	active[MAP_STACK_CWMP] = cwmp_active(d, t);
	active[MAP_STACK_USP] = usp_active(t);
	dm_txn_abort(t);
	return DM_OK;
}

/* ---- the recorded status ------------------------------------------------------ */

static void load_status(map_migration *m)
{
	dm_txn *t;

	if (dm_txn_begin(m->d, DM_TXN_READ, NULL, &t))
		return;
	for (int s = 0; s < MAP_STACK_COUNT; s++) {
		char *v = NULL;
		int active;
		long long since;
		if (dm_state_get(t, STACKS_NS, stack_names[s], &v, NULL, NULL) == DM_OK &&
		    sscanf(v, "%d %lld", &active, &since) == 2) {
			m->status[s].active = active != 0;
			m->status[s].since_ms = since;
		}
		free(v);
	}
	dm_txn_abort(t);
}

/* Write every stack whose activity differs from the record, in one
 * transaction; memory follows only a durable record. */
static int record_changes(map_migration *m, const bool active[MAP_STACK_COUNT])
{
	map_stack_status next[MAP_STACK_COUNT];
	dm_origin origin = {DM_ORIGIN_INTERNAL, "migration"};
	dm_txn *t = NULL;
	int64_t now = now_ms();
	int rc = DM_OK;

	memcpy(next, m->status, sizeof next);
	for (int s = 0; s < MAP_STACK_COUNT && !rc; s++) {
		if (m->status[s].since_ms && m->status[s].active == active[s])
			continue;
		if (!t && (rc = dm_txn_begin(m->d, DM_TXN_WRITE, &origin, &t)))
			break;
		char v[40];
		int n = snprintf(v, sizeof v, "%d %" PRId64, active[s] ? 1 : 0, now);
		next[s] = (map_stack_status){active[s], now};
		rc = dm_state_put(t, STACKS_NS, stack_names[s], v, (size_t)n, NULL);
	}
	if (!t)
		return rc;
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	if ((rc = dm_txn_commit(t, NULL, NULL)) == DM_OK)
		memcpy(m->status, next, sizeof next);
	return rc;
}

int map_migration_flush(map_migration *m)
{
	bool active[MAP_STACK_COUNT];
	int rc = current(m->d, active);

	if (!rc)
		rc = record_changes(m, active);
	m->dirty = rc != DM_OK;
	return rc;
}

int map_migration_stack(const map_migration *m, map_stack s, map_stack_status *out)
{
	if ((unsigned)s >= MAP_STACK_COUNT)
		return DM_ERR_INTERNAL;
	*out = m->status[s];
	return DM_OK;
}

/* ---- following the change feed ------------------------------------------------- */

static bool about_a_stack(const char *path)
{
	static const char *const watched[] = {
		"Device.ManagementServer.EnableCWMP",
		"Device.ManagementServer.URL",
		"Device.LocalAgent.MTP.",
		"Device.LocalAgent.Controller.",
	};
	for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++)
		if (!strncmp(path, watched[i], strlen(watched[i])))
			return true;
	return false;
}

static void on_timer(void *ctx)
{
	map_migration *m = ctx;

	core_timer_stop(m->timer);
	m->timer = NULL;
	if (map_migration_flush(m) == DM_ERR_TXN_STATE && m->loop)
		core_timer_start(m->loop, RETRY_MS, 0, on_timer, m, &m->timer);
}

/* Runs right after a commit: only note the change; the record is written
 * from the loop, in a transaction of its own. */
static void on_change(void *ctx, const dm_change *c)
{
	map_migration *m = ctx;

	if (c->kind == DM_CHANGE_EVENT || !about_a_stack(c->path))
		return;
	m->dirty = true;
	if (m->loop && !m->timer && core_timer_start(m->loop, 0, 0, on_timer, m, &m->timer))
		m->timer = NULL; /* left dirty: the next relevant change tries again */
}

/* ---- admin verbs ----------------------------------------------------------------- */

static int verb_fail(dm_errinfo *err, int code, const char *msg)
{
	memset(err, 0, sizeof *err);
	err->code = code;
	snprintf(err->msg, sizeof err->msg, "%s", msg);
	return code;
}

typedef struct line_sink {
	core_admin_line_fn line;
	void *ctx;
} line_sink;

static int owner_line(void *ctx, const char *prefix, map_owner owner)
{
	line_sink *s = ctx;

	return s->line(s->ctx, (const char *const[]){ "W", prefix, map_owner_name(owner) }, 3);
}

static int verb_owner(void *ctx, const char *const *args, size_t nargs, core_admin_line_fn line,
		      void *line_ctx, dm_errinfo *err)
{
	map_migration *m = ctx;
	map_owner owner;

	if (nargs == 0) {
		line_sink s = {line, line_ctx};
		if (map_ownership_each(m->owner, owner_line, &s))
			return verb_fail(err, DM_ERR_NOMEM, "response could not be written");
		return DM_OK;
	}
	if (nargs != 2)
		return verb_fail(err, DM_ERR_SYNTAX, "usage: owner [PREFIX cwmp|usp|shared]");
	if (map_owner_parse(args[1], &owner))
		return verb_fail(err, DM_ERR_INVALID_VALUE, "owner must be cwmp, usp or shared");
	return map_ownership_set(m->owner, args[0], owner, err);
}

static int verb_stacks(void *ctx, const char *const *args, size_t nargs, core_admin_line_fn line,
		       void *line_ctx, dm_errinfo *err)
{
	map_migration *m = ctx;

	(void)args;
	(void)nargs;
	for (int s = 0; s < MAP_STACK_COUNT; s++) {
		char since[40] = "";
		if (m->status[s].since_ms)
			core_admin_format_ms(m->status[s].since_ms, since, sizeof since);
		const char *fields[] = { "X", stack_names[s], m->status[s].active ? "active" : "inactive",
					 since };
		if (line(line_ctx, fields, 4))
			return verb_fail(err, DM_ERR_NOMEM, "response could not be written");
	}
	return DM_OK;
}

const core_admin_ext *map_migration_admin_verbs(map_migration *m, size_t *n)
{
	m->verbs[0] = (core_admin_ext){ "owner", verb_owner, m };
	m->verbs[1] = (core_admin_ext){ "stacks", verb_stacks, m };
	*n = sizeof m->verbs / sizeof m->verbs[0];
	return m->verbs;
}

/* ---- life cycle -------------------------------------------------------------------- */

map_ownership *map_migration_ownership(map_migration *m)
{
	return m->owner;
}

int map_migration_start(dm *d, core_loop *loop, map_migration **out, dm_errinfo *err)
{
	map_migration *m = calloc(1, sizeof *m);

	if (!m)
		return verb_fail(err, DM_ERR_NOMEM, "migration control: out of memory");
	m->d = d;
	m->loop = loop;
	int rc = map_ownership_start(d, &m->owner, err);
	if (!rc) {
		load_status(m);
		/* a start-up status difference (edited store, first start) is
		 * recorded at once: no feed callback is running yet */
		rc = map_migration_flush(m);
		if (rc)
			verb_fail(err, rc, "stack status could not be recorded");
	}
	if (!rc && (rc = dm_subscribe(d, on_change, m, &m->sub)))
		verb_fail(err, rc, "migration control: cannot follow the change feed");
	if (rc) {
		map_migration_stop(m);
		return rc;
	}
	*out = m;
	return DM_OK;
}

void map_migration_stop(map_migration *m)
{
	if (!m)
		return;
	core_timer_stop(m->timer);
	if (m->sub)
		dm_unsubscribe(m->d, m->sub);
	map_ownership_stop(m->owner);
	free(m);
}
