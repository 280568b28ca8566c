/*
 * subs_time.c - the parts of subscriptions that time drives: values that
 * providers compute, polled for the ValueChange subscriptions that reference
 * them; TimeToLive expiry; the Periodic! event. subs.c arms them after each
 * rebuild of its index and owns everything else.
 */
#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PERIODIC_EVENT[] = "Device.LocalAgent.Periodic!";

#define TTL_MAX_WAIT_S (24 * 3600) /* re-check long TimeToLives daily (clock changes) */

/* ---- live values ----------------------------------------------------------------------- */

/*
 * The engine's change feed carries every stored value; what it cannot carry
 * are values providers compute (dm_param_is_live). The poll reads those of
 * the parameters ValueChange subscriptions reference and compares with the
 * last poll. Parameters ValueChange ignores (usp_value_change_ignored:
 * counters, uptime) are left out, and not even read when named one by one.
 */
typedef struct poll_set {
	const dm *d;
	usp_baseline *v;
	size_t n, cap;
	bool oom;
} poll_set;

static int poll_collect(void *ctx, const dm_item *it)
{
	poll_set *p = ctx;
	if (dm_node_get_kind(it->node) != DM_NODE_PARAM || !dm_param_is_live(p->d, it->node) ||
	    dm_node_is_hidden(it->node) || usp_value_change_ignored(it->node))
		return 0;
	if (p->n == p->cap) {
		size_t nc = p->cap ? 2 * p->cap : 32;
		usp_baseline *nv = realloc(p->v, nc * sizeof *nv);
		if (!nv) {
			p->oom = true;
			return 1;
		}
		p->v = nv;
		p->cap = nc;
	}
	usp_baseline *b = &p->v[p->n];
	b->path = strdup(it->path);
	b->value = strndup(it->value ? it->value : "", it->value ? it->value_len : 0);
	if (!b->path || !b->value) {
		free(b->path);
		free(b->value);
		p->oom = true;
		return 1;
	}
	p->n++;
	return 0;
}

static int base_cmp(const void *a, const void *b)
{
	return strcmp(((const usp_baseline *)a)->path, ((const usp_baseline *)b)->path);
}

static void base_free(usp_baseline *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].value);
	}
	free(v);
}

static usp_baseline *base_find(usp_subs *s, const char *path)
{
	usp_baseline key = {.path = (char *)path};
	return s->n_base ? bsearch(&key, s->base, s->n_base, sizeof key, base_cmp) : NULL;
}

static void poll_gather(usp_subs *s, dm_txn *t, poll_set *p)
{
	for (size_t i = 0; i < s->n_subs && !p->oom; i++) {
		const usp_sub *sub = &s->subs[i];
		if (sub->type != USP_SUB_VALUE_CHANGE)
			continue;
		for (size_t j = 0; j < sub->n_refs && !p->oom; j++) {
			const usp_pat *r = sub->refs[j];
			/* resolving reads the value: skip a named parameter up front */
			const dm_node *n = usp_pat_is_object(r) ? NULL : usp_pat_schema_node(r, dm_get_schema(s->d));
			if (n && (!dm_param_is_live(s->d, n) || usp_value_change_ignored(n)))
				continue;
			unsigned flags = DM_RESOLVE_PARAMS | (usp_pat_is_object(r) ? DM_RESOLVE_SUBTREE : 0);
			dm_resolve(t, DM_GRAMMAR_USP, usp_pat_text(r), flags, 0, poll_collect, p, NULL);
		}
	}
	if (p->n > 1)
		qsort(p->v, p->n, sizeof *p->v, base_cmp);
	/* two subscriptions may name the same parameter */
	size_t w = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (w && !strcmp(p->v[w - 1].path, p->v[i].path)) {
			free(p->v[i].path);
			free(p->v[i].value);
			continue;
		}
		p->v[w++] = p->v[i];
	}
	p->n = w;
}

static void poll_now(usp_subs *s)
{
	dm_txn *t;
	if (usp_subs_read_txn(s, &t))
		return;
	poll_set p = {.d = s->d};
	poll_gather(s, t, &p);
	dm_txn_abort(t);
	if (p.oom) {
		base_free(p.v, p.n);
		return;
	}
	usp_baseline *old = s->base;
	size_t n_old = s->n_base;
	s->base = p.v;
	s->n_base = p.n;
	/* compare after swapping, so that a notification's own reads see the new baseline */
	size_t j = 0;
	for (size_t i = 0; i < p.n; i++) {
		while (j < n_old && strcmp(old[j].path, p.v[i].path) < 0)
			j++;
		if (j < n_old && !strcmp(old[j].path, p.v[i].path) && strcmp(old[j].value, p.v[i].value)) {
			usp_event ev = {.kind = DM_CHANGE_VALUE, .path = p.v[i].path, .value = p.v[i].value};
			usp_subs_dispatch(s, &ev, NULL);
		}
	}
	base_free(old, n_old);
}

static void poll_tick(void *ctx)
{
	usp_subs *s = ctx;
	if (s->dirty)
		usp_subs_rebuild(s);
	else
		poll_now(s);
}

void usp_subs_live_seen(usp_subs *s, const char *path, const char *value)
{
	usp_baseline *b = base_find(s, path);
	if (!b)
		return;
	char *v = strdup(value ? value : "");
	if (v) {
		free(b->value);
		b->value = v;
	}
}

void usp_subs_live_arm(usp_subs *s)
{
	bool want = false;
	for (size_t i = 0; i < s->n_subs && !want; i++)
		want = s->subs[i].type == USP_SUB_VALUE_CHANGE && s->subs[i].n_refs;
	if (!want) {
		core_timer_stop(s->poll_timer);
		s->poll_timer = NULL;
		base_free(s->base, s->n_base);
		s->base = NULL;
		s->n_base = 0;
		return;
	}
	poll_now(s);
	if (!s->poll_timer && core_timer_start(s->loop, s->poll_ms, s->poll_ms, poll_tick, s, &s->poll_timer))
		s->poll_timer = NULL;
}

/* ---- TimeToLive ------------------------------------------------------------------------- */

static void ttl_expire(void *ctx)
{
	usp_subs *s = ctx;
	core_timer_stop(s->ttl_timer);
	s->ttl_timer = NULL;
	dm_txn *t;
	if (dm_txn_begin(s->d, DM_TXN_READ, NULL, &t))
		return;
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_list_instances(t, USP_SUB_TABLE, &insts, &n, NULL);
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		time_t exp = usp_subs_expiry(s, t, insts[i]);
		if (exp && exp <= now) {
			char path[128];
			snprintf(path, sizeof path, "%s%u.", USP_SUB_TABLE, insts[i]);
			CORE_LOG_I("usp", "Subscription %u: TimeToLive expired", insts[i]);
			usp_subs_work_push(s, USP_WORK_DELETE, path, NULL, false);
		}
	}
	dm_txn_abort(t);
	free(insts);
	/* nothing expired yet (a daily re-check, or the clock moved): the
	 * rebuild arms the timer again */
	if (!s->work) {
		s->dirty = true;
		usp_subs_schedule_rebuild(s);
	}
}

void usp_subs_ttl_arm(usp_subs *s, time_t next_expiry)
{
	core_timer_stop(s->ttl_timer);
	s->ttl_timer = NULL;
	if (!next_expiry)
		return;
	time_t now = time(NULL);
	uint64_t wait_s = next_expiry > now ? (uint64_t)(next_expiry - now) : 0;
	if (wait_s > TTL_MAX_WAIT_S)
		wait_s = TTL_MAX_WAIT_S;
	/* a whole second late at worst: TimeToLive counts seconds */
	if (core_timer_start(s->loop, wait_s * 1000 + (wait_s ? 0 : 1), 0, ttl_expire, s, &s->ttl_timer))
		s->ttl_timer = NULL;
}

/* ---- Periodic! ------------------------------------------------------------------------- */

static bool wants_periodic(usp_subs *s, const usp_sub *sub)
{
	if (sub->type != USP_SUB_EVENT)
		return false;
	for (size_t i = 0; i < sub->n_refs; i++)
		if (usp_subs_ref_match(s, sub->refs[i], PERIODIC_EVENT))
			return true;
	return false;
}

static void periodic_fire(void *ctx);

/* Next multiple of the interval after now, counted from PeriodicNotifTime
 * (TR-181 Controller.{i}.PeriodicNotifTime), or from when we started when
 * that is the unknown time. */
static void periodic_arm(usp_subs *s, usp_sub *sub)
{
	core_timer_stop(sub->periodic);
	sub->periodic = NULL;
	char path[300], v[64];
	snprintf(path, sizeof path, "%s.PeriodicNotifInterval", sub->recipient);
	usp_subs_read(s, NULL, path, v, sizeof v);
	uint64_t interval = strtoull(v, NULL, 10);
	if (!interval || !sub->recipient[0])
		return;
	snprintf(path, sizeof path, "%s.PeriodicNotifTime", sub->recipient);
	usp_subs_read(s, NULL, path, v, sizeof v);
	time_t now = time(NULL), ref = usp_subs_parse_datetime(v);
	if (!ref) {
		if (!sub->periodic_ref)
			sub->periodic_ref = now;
		ref = sub->periodic_ref;
	}
	uint64_t since = now >= ref ? (uint64_t)(now - ref) : (uint64_t)(ref - now);
	uint64_t wait = now >= ref ? interval - since % interval : since % interval;
	if (!wait)
		wait = interval;
	if (core_timer_start(s->loop, wait * 1000, 0, periodic_fire, sub, &sub->periodic))
		sub->periodic = NULL;
}

static void periodic_fire(void *ctx)
{
	usp_sub *sub = ctx;
	usp_subs *s = sub->owner;
	s->busy++;
	usp_subs_notify_periodic(s, sub);
	s->busy--;
	periodic_arm(s, sub);
}

/* Periodic! where the schema has it, for every Event subscription on it. */
void usp_subs_periodic_arm_all(usp_subs *s)
{
	if (!dm_schema_find(dm_get_schema(s->d), PERIODIC_EVENT))
		return;
	for (size_t i = 0; i < s->n_subs; i++)
		if (wants_periodic(s, &s->subs[i]))
			periodic_arm(s, &s->subs[i]);
}

void usp_subs_time_stop(usp_subs *s)
{
	core_timer_stop(s->ttl_timer);
	core_timer_stop(s->poll_timer);
	s->ttl_timer = s->poll_timer = NULL;
	base_free(s->base, s->n_base);
	s->base = NULL;
	s->n_base = 0;
}
