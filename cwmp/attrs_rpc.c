/*
 * attrs_rpc.c - GetParameterAttributes and SetParameterAttributes (TR-069
 * A.3.2.4, A.3.2.5). SetParameterAttributes is all or nothing: every entry
 * is resolved and judged inside one write transaction, which commits only
 * when all of them pass; memory follows the store after the commit.
 */
#include "attrs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turn an engine failure into the RPC's fault; a callback's own status
 * (out of memory) reaches us without errinfo. */
static void fault_from(cwmp_reply *rep, int rc, dm_errinfo *err, cwmp_fault_ctx ctx)
{
	if (!err->code)
		err->code = rc;
	cwmp_reply_fault(rep, cwmp_fault_from_dm(err, ctx), err->msg[0] ? err->msg : NULL);
}

/* ---- GetParameterAttributes --------------------------------------------------- */

typedef struct gpa_ctx {
	cwmp_attrs *at;
	cwmp_reply *rep;
	cwmp_param_attr *v;
	size_t n, cap;
	char **subscriber; /* the one AccessList value, shared by every entry */
} gpa_ctx;

static int gpa_add(void *ctx, const dm_item *item)
{
	gpa_ctx *g = ctx;
	char stored[ATTRS_PATH_MAX];
	const attr_entry *e = attrs_entry_get(g->at, attrs_stored_path(g->at, item->path, stored, sizeof stored), false);

	if (cwmp_reply_reserve(g->rep, (void **)&g->v, &g->cap, g->n + 1, sizeof *g->v))
		return DM_ERR_NOMEM;
	cwmp_param_attr *pa = &g->v[g->n];
	if (!(pa->name = cwmp_reply_strdup(g->rep, item->path)))
		return DM_ERR_NOMEM;
	pa->notification = attrs_effective(e, item->node);
	if (e && e->subscriber) {
		pa->access_list.v = g->subscriber;
		pa->access_list.n = 1;
	}
	g->n++;
	return 0;
}

void attrs_rpc_gpa(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	gpa_ctx g = {.at = a->attrs, .rep = rep};
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (!g.at || cwmp_acs_txn_begin(a, DM_TXN_READ, NULL, &t)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	g.subscriber = cwmp_reply_alloc(rep, sizeof *g.subscriber);
	if (!g.subscriber || !(g.subscriber[0] = cwmp_reply_strdup(rep, ATTRS_SUBSCRIBER))) {
		dm_txn_abort(t);
		cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		return;
	}
	rc = DM_OK;
	for (size_t i = 0; !rc && i < req->u.names.n; i++) {
		const char *name = req->u.names.v[i] ? req->u.names.v[i] : "";
		rc = dm_resolve(t, DM_GRAMMAR_CWMP, name, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0,
				gpa_add, &g, &err);
	}
	dm_txn_abort(t);
	if (rc) {
		fault_from(rep, rc, &err, CWMP_CTX_READ);
		return;
	}
	rep->msg.kind = CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE;
	rep->msg.u.attrs.v = g.v;
	rep->msg.u.attrs.n = g.n;
}

/* ---- SetParameterAttributes ------------------------------------------------------ */

/* One parameter's attributes as the request leaves them. */
typedef struct staged {
	map_node node;
	const dm_node *param;
	bool live;
	int old_effective;
	int8_t notify;
	bool subscriber;
	char *value; /* current value: the baseline if it becomes notified */
} staged;

typedef struct spa_ctx {
	cwmp_attrs *at;
	const cwmp_spa_entry *entry;
	path_map staged;
	char denied[ATTRS_PATH_MAX]; /* set when a parameter refuses the request */
	bool nomem;
} spa_ctx;

enum { STAGE_DENIED = 1 };

static staged *stage_of(spa_ctx *s, const dm_item *item)
{
	char buf[ATTRS_PATH_MAX];
	const char *stored = attrs_stored_path(s->at, item->path, buf, sizeof buf);
	staged *st = (staged *)map_find(&s->staged, stored);

	if (st)
		return st;
	const attr_entry *e = attrs_entry_get(s->at, stored, false);
	if (!(st = calloc(1, sizeof *st)))
		return NULL;
	st->node.key = strdup(stored);
	st->value = strndup(item->value ? item->value : "", item->value_len);
	if (!st->node.key || !st->value || map_insert(&s->staged, &st->node)) {
		free(st->node.key);
		free(st->value);
		free(st);
		return NULL;
	}
	st->param = item->node;
	st->live = dm_param_is_live(s->at->d, item->node);
	st->old_effective = attrs_effective(e, item->node);
	st->notify = e ? e->notify : -1;
	st->subscriber = e && e->subscriber;
	return st;
}

/* Active notification is refused where the model lets the device deny it
 * and where no change would ever be seen (live values never reach the
 * change feed); forceEnabled parameters accept anything and stay active. */
static bool active_refused(const staged *st)
{
	dm_active_notify an = dm_node_active_notify(st->param);

	return an != DM_NOTIFY_FORCED && (an == DM_NOTIFY_CAN_DENY || st->live);
}

static int stage_one(void *ctx, const dm_item *item)
{
	spa_ctx *s = ctx;
	const cwmp_spa_entry *en = s->entry;
	staged *st = stage_of(s, item);

	if (!st)
		return DM_ERR_NOMEM;
	if (en->notification_change) {
		if (en->notification == 2 && active_refused(st)) {
			snprintf(s->denied, sizeof s->denied, "%s", item->path);
			return STAGE_DENIED;
		}
		bool as_default = en->notification == attrs_default_notify(st->param) ||
				  dm_node_active_notify(st->param) == DM_NOTIFY_FORCED;
		st->notify = as_default ? -1 : (int8_t)en->notification;
	}
	if (en->access_list_change)
		st->subscriber = en->access_list.n > 0;
	return 0;
}

/* What needs no data model: the values the request carries. */
static unsigned check_entry(const cwmp_spa_entry *en)
{
	if (en->notification_change) {
		if (en->notification < 0 || en->notification > 6)
			return CWMP_FAULT_INVALID_ARGUMENTS;
		/* 3-6 are lightweight notification (Annex M): not offered */
		if (en->notification > 2)
			return CWMP_FAULT_NOTIFICATION_REJECTED;
	}
	if (en->access_list_change)
		for (size_t i = 0; i < en->access_list.n; i++)
			if (!en->access_list.v[i] || strcmp(en->access_list.v[i], ATTRS_SUBSCRIBER))
				return CWMP_FAULT_INVALID_ARGUMENTS;
	return 0;
}

static int notify_of(const staged *st)
{
	attr_entry tmp = {.notify = st->notify};

	return attrs_effective(&tmp, st->param);
}

static int persist_one(dm_txn *t, const staged *st, dm_errinfo *err)
{
	int now = notify_of(st);
	int rc;

	if (st->notify < 0 && !st->subscriber) {
		rc = dm_state_del(t, ATTRS_NS, st->node.key, err);
	} else {
		char rec[32];
		attrs_record_format(now, st->subscriber, rec, sizeof rec);
		rc = dm_state_put(t, ATTRS_NS, st->node.key, rec, strlen(rec), err);
	}
	if (rc || st->live)
		return rc;
	/* the baseline starts from the value the parameter had when the ACS
	 * began to watch it, and ends when it stops watching */
	if (st->old_effective == 0 && now > 0)
		return dm_state_put(t, BASELINE_NS, st->node.key, st->value, strlen(st->value), err);
	if (st->old_effective > 0 && now == 0)
		return dm_state_del(t, BASELINE_NS, st->node.key, err);
	return DM_OK;
}

typedef struct persist_ctx {
	dm_txn *t;
	dm_errinfo *err;
	int rc;
} persist_ctx;

static bool persist_visit(void *ctx, map_node *n)
{
	persist_ctx *p = ctx;

	if (!p->rc)
		p->rc = persist_one(p->t, (const staged *)n, p->err);
	return false;
}

/* Entries for the new attributes exist before the commit, so that
 * nothing can fail after it. */
static bool prepare_visit(void *ctx, map_node *n)
{
	spa_ctx *s = ctx;
	const staged *st = (const staged *)n;

	if ((st->notify >= 0 || st->subscriber) && !attrs_entry_get(s->at, n->key, true))
		s->nomem = true;
	return false;
}

static bool apply_visit(void *ctx, map_node *n)
{
	spa_ctx *s = ctx;
	staged *st = (staged *)n;
	attr_entry *e = attrs_entry_get(s->at, n->key, false);

	if (e) {
		e->notify = st->notify;
		e->subscriber = st->subscriber;
		if (notify_of(st) == 0)
			e->pending = false;
		attrs_entry_tidy(s->at, e);
	}
	return false;
}

static bool tidy_visit(void *ctx, map_node *n)
{
	spa_ctx *s = ctx;

	attrs_entry_tidy(s->at, attrs_entry_get(s->at, n->key, false));
	return false;
}

static bool free_staged(void *ctx, map_node *n)
{
	(void)ctx;
	free(n->key);
	free(((staged *)n)->value);
	free(n);
	return true;
}

static int stage_all(spa_ctx *s, dm_txn *t, const cwmp_msg *req, dm_errinfo *err)
{
	int rc = DM_OK;

	for (size_t i = 0; !rc && i < req->u.spa.n; i++) {
		s->entry = &req->u.spa.v[i];
		const char *name = s->entry->name ? s->entry->name : "";
		rc = dm_resolve(t, DM_GRAMMAR_CWMP, name, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0,
				stage_one, s, err);
	}
	return rc;
}

static void spa_run(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep, spa_ctx *s)
{
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	/* queued baselines first: the single writer is ours for a moment */
	attrs_flush(s->at);
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_WRITE, &a->origin, &t))) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	rc = stage_all(s, t, req, &err);
	if (rc == STAGE_DENIED) {
		dm_txn_abort(t);
		cwmp_reply_fault(rep, CWMP_FAULT_NOTIFICATION_REJECTED, s->denied);
		return;
	}
	persist_ctx p = {t, &err, rc};
	if (!p.rc)
		map_filter(&s->staged, persist_visit, &p);
	if (!p.rc) {
		map_filter(&s->staged, prepare_visit, s);
		if (s->nomem)
			p.rc = DM_ERR_NOMEM;
	}
	if (p.rc) {
		dm_txn_abort(t);
		map_filter(&s->staged, tidy_visit, s);
		fault_from(rep, p.rc, &err, CWMP_CTX_SET_ATTR);
		return;
	}
	if ((rc = dm_txn_commit(t, NULL, &err))) {
		map_filter(&s->staged, tidy_visit, s);
		fault_from(rep, rc, &err, CWMP_CTX_SET_ATTR);
		return;
	}
	map_filter(&s->staged, apply_visit, s);
	rep->msg.kind = CWMP_MSG_SET_PARAMETER_ATTRIBUTES_RESPONSE;
}

void attrs_rpc_spa(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	spa_ctx s = {.at = a->attrs};

	if (!s.at) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	for (size_t i = 0; i < req->u.spa.n; i++) {
		unsigned code = check_entry(&req->u.spa.v[i]);
		if (code) {
			cwmp_reply_fault(rep, code, NULL);
			return;
		}
	}
	spa_run(a, req, rep, &s);
	map_filter(&s.staged, free_staged, NULL);
	map_release(&s.staged);
}
