/*
 * attrs_track.c - what follows from the attributes: changes of notified
 * parameters caught on the change feed (never the ACS's own), the durable
 * baselines that reveal changes made while the agent was down (a new
 * firmware's SoftwareVersion), the queued agent state writes the change
 * callback leaves to the loop, and the Inform ParameterList.
 */
#include "attrs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_RETRY_MS 100

static const dm_origin self_origin = {DM_ORIGIN_INTERNAL, "cwmp"};

/* ---- queued agent state writes -------------------------------------------- */

int attrs_queue_op(cwmp_attrs *at, attrs_op_kind kind, const char *key, const char *value)
{
	if (at->n_ops == at->cap_ops) {
		size_t cap = at->cap_ops ? at->cap_ops * 2 : 16;
		attrs_op *ops = realloc(at->ops, cap * sizeof *ops);
		if (!ops)
			return DM_ERR_NOMEM;
		at->ops = ops;
		at->cap_ops = cap;
	}
	attrs_op *op = &at->ops[at->n_ops];
	op->kind = kind;
	op->key = strdup(key);
	op->value = value ? strdup(value) : NULL;
	if (!op->key || (value && !op->value)) {
		free(op->key);
		free(op->value);
		return DM_ERR_NOMEM;
	}
	at->n_ops++;
	return DM_OK;
}

void attrs_clear_ops(cwmp_attrs *at)
{
	for (size_t i = 0; i < at->n_ops; i++) {
		free(at->ops[i].key);
		free(at->ops[i].value);
	}
	at->n_ops = 0;
}

static int purge_namespace(cwmp_attrs *at, dm_txn *t, const char *ns, dm_errinfo *err)
{
	record_list l = {0};
	int rc = attrs_collect_records(t, ns, &l);

	for (size_t i = 0; !rc && i < l.n; i++) {
		bool gone = false;
		for (size_t k = 0; !gone && k < at->n_ops; k++)
			gone = at->ops[k].kind == OP_PURGE_PREFIX && attrs_covered(l.keys[i], at->ops[k].key);
		if (gone)
			rc = dm_state_del(t, ns, l.keys[i], err);
	}
	attrs_record_list_free(&l);
	return rc;
}

static int apply_ops(cwmp_attrs *at, dm_txn *t, dm_errinfo *err)
{
	bool purge = false;
	int rc = DM_OK;

	for (size_t i = 0; !rc && i < at->n_ops; i++) {
		const attrs_op *op = &at->ops[i];
		if (op->kind == OP_BASELINE_PUT)
			rc = dm_state_put(t, BASELINE_NS, op->key, op->value, strlen(op->value), err);
		else if (op->kind == OP_BASELINE_DEL)
			rc = dm_state_del(t, BASELINE_NS, op->key, err);
		else
			purge = true;
	}
	/* purges last: a baseline queued for an instance deleted later must go */
	if (!rc && purge)
		rc = purge_namespace(at, t, ATTRS_NS, err);
	if (!rc && purge)
		rc = purge_namespace(at, t, BASELINE_NS, err);
	return rc;
}

static void flush_from_loop(void *ctx)
{
	cwmp_attrs *at = ctx;

	core_timer_stop(at->flush_timer);
	at->flush_timer = NULL;
	attrs_flush(at);
}

static void flush_later(cwmp_attrs *at, uint64_t ms)
{
	if (at->a->loop && !at->flush_timer)
		core_timer_start(at->a->loop, ms, 0, flush_from_loop, at, &at->flush_timer);
}

void attrs_flush(cwmp_attrs *at)
{
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (!at->n_ops)
		return;
	if ((rc = dm_txn_begin(at->d, DM_TXN_WRITE, &self_origin, &t))) {
		/* another writer is open: this is a guest of the loop, come back */
		if (rc == DM_ERR_TXN_STATE)
			flush_later(at, FLUSH_RETRY_MS);
		return;
	}
	if ((rc = apply_ops(at, t, &err))) {
		dm_txn_abort(t);
	} else {
		rc = dm_txn_commit(t, NULL, &err);
	}
	if (rc)
		CORE_LOG_W("cwmp", "notification state not saved: %s", err.msg[0] ? err.msg : dm_strerror(rc));
	/* a store that refuses the write now will refuse it again: dropped
	 * baselines cost at most one extra VALUE CHANGE after a restart */
	attrs_clear_ops(at);
}

/* ---- change tracking ----------------------------------------------------------- */

static void raise_value_change(cwmp_attrs *at, int notify)
{
	cwmp_agent *a = at->a;

	if (a->raise)
		a->raise(a, EV_VALUE_CHANGE, NULL, notify >= 2 ? CWMP_RAISE_THROTTLED : CWMP_RAISE_QUEUE);
}

/* Coalesced per parameter: the latest value and a new generation, so an
 * Inform built before this change does not clear it. */
static int mark_pending(cwmp_attrs *at, const char *path, const char *value)
{
	attr_entry *e = attrs_entry_get(at, path, true);
	char *copy = strdup(value ? value : "");

	if (!e || !copy) {
		free(copy);
		attrs_entry_tidy(at, e);
		return DM_ERR_NOMEM;
	}
	free(e->pending_value);
	e->pending_value = copy;
	e->pending = true;
	e->gen = at->next_gen++;
	return DM_OK;
}

/* Is the stored path in the ACS's view? What it cannot name is not its
 * to be told of. */
static bool acs_sees(const cwmp_attrs *at, const char *path)
{
	char shown[ATTRS_PATH_MAX];

	return dm_view_show(at->a->view, path, shown, sizeof shown) == 1;
}

static void note_value(cwmp_attrs *at, const char *path, const char *value, const dm_origin *origin)
{
	const dm_node *param = attrs_param_node(at, path);
	if (!param || !acs_sees(at, path))
		return;
	int notify = attrs_effective(attrs_entry_get(at, path, false), param);
	if (notify == 0)
		return;
	if (origin && origin->kind == DM_ORIGIN_CWMP) {
		/* the ACS knows its own value (R 11.3); only the baseline follows */
		if (!dm_param_is_live(at->d, param) && !attrs_queue_op(at, OP_BASELINE_PUT, path, value))
			flush_later(at, 0);
		return;
	}
	if (mark_pending(at, path, value)) {
		CORE_LOG_W("cwmp", "value change of %s not tracked: out of memory", path);
		return;
	}
	raise_value_change(at, notify);
}

/* An instance added or deleted changes its table's NumberOfEntries, which
 * the store computes and so never publishes. */
static void note_count(cwmp_attrs *at, const char *obj_path, const dm_origin *origin)
{
	char path[ATTRS_PATH_MAX], value[32];
	size_t len = strlen(obj_path);

	if (len < 2 || len >= sizeof path)
		return;
	memcpy(path, obj_path, len - 1); /* "Device.IP.Interface.3" */
	path[len - 1] = 0;
	char *inst = strrchr(path, '.');
	if (!inst)
		return;
	*inst = 0; /* "Device.IP.Interface" */
	if (strlen(path) + strlen("NumberOfEntries") >= sizeof path)
		return;
	strcat(path, "NumberOfEntries");
	dm_errinfo err = {0};
	if (!attrs_param_node(at, path) || dm_get_value_buf(at->d, NULL, path, value, sizeof value, &err))
		return;
	note_value(at, path, value, origin);
}

static bool forget_entry_under(void *ctx, map_node *n)
{
	if (!attrs_covered(n->key, ctx))
		return false;
	attrs_entry_free((attr_entry *)n);
	return true;
}

static void forget_under(cwmp_attrs *at, const char *obj_path)
{
	map_filter(&at->entries, forget_entry_under, (void *)obj_path);
	for (size_t i = 0; i < at->n_reported; i++)
		if (attrs_covered(at->reported[i].path, obj_path))
			at->reported[i].baseline = false;
	if (!attrs_queue_op(at, OP_PURGE_PREFIX, obj_path, NULL))
		flush_later(at, 0);
}

/* Runs after each durable commit: writing agent state here would nest a
 * commit inside another's publication, so state writes are queued. */
void attrs_change_cb(void *ctx, const dm_change *c)
{
	cwmp_attrs *at = ctx;

	switch (c->kind) {
	case DM_CHANGE_VALUE:
		note_value(at, c->path, c->new_value, c->origin);
		break;
	case DM_CHANGE_DELETE:
		forget_under(at, c->path);
		note_count(at, c->path, c->origin);
		break;
	case DM_CHANGE_ADD:
		note_count(at, c->path, c->origin);
		break;
	default:
		break;
	}
}

/* ---- baselines at open ------------------------------------------------------- */

typedef struct tracked {
	char *path;
	char *value;
	int notify;
} tracked;

typedef struct tracked_list {
	cwmp_attrs *at;
	tracked *v;
	size_t n, cap;
} tracked_list;

static int tracked_add(tracked_list *l, const char *path, const char *value, int notify)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		tracked *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return DM_ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	tracked *t = &l->v[l->n];
	t->path = strdup(path);
	t->value = strdup(value ? value : "");
	t->notify = notify;
	if (!t->path || !t->value) {
		free(t->path);
		free(t->value);
		return DM_ERR_NOMEM;
	}
	l->n++;
	return DM_OK;
}

static void tracked_free(tracked_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].value);
	}
	free(l->v);
}

/* Live values never reach the feed and change by themselves: no baseline. */
static int collect_default_active(void *ctx, const dm_item *item)
{
	tracked_list *l = ctx;
	cwmp_attrs *at = l->at;

	if (dm_param_is_live(at->d, item->node))
		return 0;
	int notify = attrs_effective(attrs_entry_get(at, item->path, false), item->node);
	return notify ? tracked_add(l, item->path, item->value, notify) : 0;
}

static int collect_tracked(cwmp_attrs *at, dm_txn *t, tracked_list *l)
{
	int rc = DM_OK;

	for (size_t i = 0; !rc && i < at->n_default_active; i++) {
		dm_errinfo err = {0};
		rc = dm_resolve(t, DM_GRAMMAR_USP, at->default_active[i], DM_RESOLVE_PARAMS, 0,
				collect_default_active, l, &err);
		if (rc != DM_ERR_NOMEM)
			rc = DM_OK; /* absent from this store: nothing to watch */
	}
	for (size_t b = 0; !rc && b < at->entries.n_buckets; b++) {
		for (map_node *n = at->entries.buckets[b]; !rc && n; n = n->next) {
			attr_entry *e = (attr_entry *)n;
			const dm_node *param = attrs_param_node(at, n->key);
			char *value = NULL;
			dm_errinfo err = {0};
			/* default-active ones were collected above */
			if (!param || e->notify < 1 || attrs_default_notify(param) > 0 ||
			    dm_param_is_live(at->d, param) || dm_get_value(at->d, t, n->key, &value, &err))
				continue;
			rc = tracked_add(l, n->key, value, e->notify);
			free(value);
		}
	}
	return rc;
}

typedef struct baseline_node {
	map_node node;
	char *value;
	bool seen;
} baseline_node;

static bool drop_baseline(void *ctx, map_node *n)
{
	cwmp_attrs *at = ctx;
	baseline_node *b = (baseline_node *)n;

	if (!b->seen)
		attrs_queue_op(at, OP_BASELINE_DEL, n->key, NULL);
	free(b->node.key);
	free(b->value);
	free(b);
	return true;
}

static int load_baselines(dm_txn *t, path_map *out)
{
	record_list l = {0};
	int rc = attrs_collect_records(t, BASELINE_NS, &l);

	for (size_t i = 0; !rc && i < l.n; i++) {
		baseline_node *b = calloc(1, sizeof *b);
		if (!b)
			rc = DM_ERR_NOMEM;
		else {
			b->node.key = l.keys[i];
			b->value = l.values[i];
			l.keys[i] = l.values[i] = NULL;
			if ((rc = map_insert(out, &b->node))) {
				free(b->node.key);
				free(b->value);
				free(b);
			}
		}
	}
	attrs_record_list_free(&l);
	return rc;
}

/* A parameter without a baseline gets one silently (first start, newly
 * notified); one that differs from it changed while nobody watched. */
static int compare_baselines(cwmp_attrs *at, tracked_list *l, path_map *base, int *raise)
{
	int rc = DM_OK;

	for (size_t i = 0; !rc && i < l->n; i++) {
		baseline_node *b = (baseline_node *)map_find(base, l->v[i].path);
		if (!b) {
			rc = attrs_queue_op(at, OP_BASELINE_PUT, l->v[i].path, l->v[i].value);
			continue;
		}
		b->seen = true;
		if (strcmp(b->value, l->v[i].value) == 0 || !acs_sees(at, l->v[i].path))
			continue;
		if (!(rc = mark_pending(at, l->v[i].path, l->v[i].value)) && l->v[i].notify > *raise)
			*raise = l->v[i].notify;
	}
	return rc;
}

int attrs_track_open(cwmp_attrs *at)
{
	tracked_list l = {.at = at};
	path_map base = {0};
	int raise = 0;
	dm_txn *t;
	int rc = dm_txn_begin(at->d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	rc = collect_tracked(at, t, &l);
	if (!rc)
		rc = load_baselines(t, &base);
	dm_txn_abort(t);
	if (!rc)
		rc = compare_baselines(at, &l, &base, &raise);
	/* records no longer notified (or whose instance is gone) are dropped */
	map_filter(&base, drop_baseline, at);
	map_release(&base);
	tracked_free(&l);
	if (rc)
		return rc;
	attrs_flush(at);
	if (raise)
		raise_value_change(at, raise);
	return DM_OK;
}

/* ---- the Inform ParameterList ---------------------------------------------------- */

void attrs_clear_reported(cwmp_attrs *at)
{
	for (size_t i = 0; i < at->n_reported; i++) {
		free(at->reported[i].path);
		free(at->reported[i].value);
	}
	at->n_reported = 0;
}

typedef struct name_node {
	map_node node;
	size_t idx;
} name_node;

typedef struct inform_build {
	cwmp_attrs *at;
	cwmp_reply *rep;
	cwmp_param_value *v;
	size_t n, cap;
	path_map names;
	uint64_t gen; /* the pending change being added, 0 otherwise */
	dm_txn *t;    /* the Inform's snapshot: baselines are read in it */
} inform_build;

/* Does the stored baseline already hold this value? Then delivering the
 * Inform needs no write: most Informs carry only unchanged forced
 * parameters, and a durable commit per session is the costliest part. */
static bool baseline_holds(dm_txn *t, const char *path, const char *value)
{
	char *stored = NULL;
	bool same = t && !dm_state_get(t, BASELINE_NS, path, &stored, NULL, NULL) && !strcmp(stored, value);

	free(stored);
	return same;
}

static int reported_add(cwmp_attrs *at, dm_txn *t, const dm_item *item, const char *value)
{
	if (at->n_reported == at->cap_reported) {
		size_t cap = at->cap_reported ? at->cap_reported * 2 : 16;
		attrs_reported *r = realloc(at->reported, cap * sizeof *r);
		if (!r)
			return DM_ERR_NOMEM;
		at->reported = r;
		at->cap_reported = cap;
	}
	attrs_reported *r = &at->reported[at->n_reported];
	memset(r, 0, sizeof *r);
	if (!(r->path = strdup(item->path)) || !(r->value = strdup(value))) {
		free(r->path);
		return DM_ERR_NOMEM;
	}
	r->baseline = attrs_effective(attrs_entry_get(at, item->path, false), item->node) > 0 &&
		      !dm_param_is_live(at->d, item->node) && !baseline_holds(t, item->path, value);
	at->n_reported++;
	return DM_OK;
}

static int name_add(inform_build *b, const char *path, size_t idx)
{
	name_node *nn = calloc(1, sizeof *nn);

	if (!nn || !(nn->node.key = strdup(path))) {
		free(nn);
		return DM_ERR_NOMEM;
	}
	nn->idx = idx;
	if (map_insert(&b->names, &nn->node)) {
		free(nn->node.key);
		free(nn);
		return DM_ERR_NOMEM;
	}
	return DM_OK;
}

/* One parameter into the list, each name once; the index in reported
 * follows the index in the list. Items come in stored names (the Inform's
 * snapshot has no view); the list names them as the ACS's view does. */
static int inform_add(void *ctx, const dm_item *item)
{
	inform_build *b = ctx;
	name_node *seen = (name_node *)map_find(&b->names, item->path);
	char shown[ATTRS_PATH_MAX];
	size_t idx;

	if (item->node && dm_node_get_kind(item->node) != DM_NODE_PARAM)
		return 0;
	if (!seen && dm_view_show(b->at->a->view, item->path, shown, sizeof shown) != 1)
		return 0;
	if (seen) {
		idx = seen->idx;
	} else {
		const char *value = item->value ? item->value : "";
		if (cwmp_reply_reserve(b->rep, (void **)&b->v, &b->cap, b->n + 1, sizeof *b->v))
			return DM_ERR_NOMEM;
		cwmp_param_value *pv = &b->v[b->n];
		pv->name = cwmp_reply_strdup(b->rep, shown);
		pv->value = cwmp_reply_strndup(b->rep, value, item->value_len);
		pv->type = cwmp_value_type_of(item->node);
		if (!pv->name || !pv->value || reported_add(b->at, b->t, item, pv->value))
			return DM_ERR_NOMEM;
		idx = b->n++;
		if (name_add(b, item->path, idx))
			return DM_ERR_NOMEM;
	}
	if (b->gen)
		b->at->reported[idx].gen = b->gen;
	return 0;
}

/* Names the caller did not type: a failure only leaves them out. */
static int add_resolved(inform_build *b, dm_txn *t, dm_grammar g, const char *expr, unsigned flags)
{
	dm_errinfo err = {0};
	int rc = dm_resolve(t, g, expr, DM_RESOLVE_PARAMS | flags, 0, inform_add, b, &err);

	return rc == DM_ERR_NOMEM ? rc : DM_OK;
}

static int add_forced(inform_build *b, dm_txn *t)
{
	int rc = DM_OK;

	for (size_t i = 0; !rc && i < b->at->n_forced_inform; i++)
		rc = add_resolved(b, t, DM_GRAMMAR_USP, b->at->forced_inform[i], 0);
	return rc;
}

static int by_gen(const void *x, const void *y)
{
	const attr_entry *a = *(attr_entry *const *)x, *b = *(attr_entry *const *)y;

	return a->gen < b->gen ? -1 : a->gen > b->gen;
}

/* Changed parameters in the order they first changed, read now. */
static int add_pending(inform_build *b, dm_txn *t)
{
	path_map *m = &b->at->entries;
	attr_entry **list = malloc((m->n ? m->n : 1) * sizeof *list);
	size_t n = 0;
	int rc = DM_OK;

	if (!list)
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < m->n_buckets; i++)
		for (map_node *nd = m->buckets[i]; nd; nd = nd->next)
			if (((attr_entry *)nd)->pending)
				list[n++] = (attr_entry *)nd;
	qsort(list, n, sizeof *list, by_gen);
	for (size_t i = 0; !rc && i < n; i++) {
		b->gen = list[i]->gen;
		rc = add_resolved(b, t, DM_GRAMMAR_CWMP, list[i]->node.key, 0);
	}
	b->gen = 0;
	free(list);
	return rc;
}

static bool has_event(const cwmp_event *events, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (events[i].code && strcmp(events[i].code, code) == 0)
			return true;
	return false;
}

/* EventList: comma-separated codes; empty means every event but VALUE
 * CHANGE, whose parameters are the notified ones. */
static bool event_list_matches(const char *list, const cwmp_event *events, size_t n)
{
	const char *p = list + strspn(list, " ");

	if (!*p) {
		for (size_t i = 0; i < n; i++)
			if (events[i].code && strcmp(events[i].code, EV_VALUE_CHANGE) != 0)
				return true;
		return false;
	}
	while (*p) {
		size_t len = strcspn(p, ","), trimmed = len;
		while (trimmed && p[trimmed - 1] == ' ')
			trimmed--;
		for (size_t i = 0; i < n; i++)
			if (events[i].code && strlen(events[i].code) == trimmed &&
			    strncmp(events[i].code, p, trimmed) == 0)
				return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

static int add_inform_row(inform_build *b, dm_txn *t, uint32_t inst, const cwmp_event *events,
			  size_t n_events)
{
	static const char table[] = "Device.ManagementServer.InformParameter.";
	char path[ATTRS_PATH_MAX], enable[8], name[ATTRS_PATH_MAX];
	char *list = NULL;
	dm_errinfo err = {0};
	int rc = DM_OK;

	snprintf(path, sizeof path, "%s%u.Enable", table, inst);
	if (dm_get_value_buf(b->at->d, t, path, enable, sizeof enable, &err) || strcmp(enable, "true"))
		return DM_OK;
	snprintf(path, sizeof path, "%s%u.ParameterName", table, inst);
	if (dm_get_value_buf(b->at->d, t, path, name, sizeof name, &err) || !name[0])
		return DM_OK;
	snprintf(path, sizeof path, "%s%u.EventList", table, inst);
	if (dm_get_value(b->at->d, t, path, &list, &err))
		return DM_OK;
	/* the ACS wrote the name in its own names; the snapshot reads stored ones */
	char stored[ATTRS_PATH_MAX];
	if (event_list_matches(list, events, n_events) &&
	    dm_view_store(b->at->a->view, name, stored, sizeof stored) == 1)
		rc = add_resolved(b, t, strchr(stored, '*') ? DM_GRAMMAR_USP : DM_GRAMMAR_CWMP, stored,
				  DM_RESOLVE_SUBTREE);
	free(list);
	return rc;
}

static int add_inform_rows(inform_build *b, dm_txn *t, const cwmp_event *events, size_t n_events)
{
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_errinfo err = {0};
	int rc = DM_OK;

	if (dm_list_instances(t, "Device.ManagementServer.InformParameter.", &insts, &n, &err))
		return DM_OK; /* a model without the table */
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_inform_row(b, t, insts[i], events, n_events);
	free(insts);
	return rc;
}

static bool drop_name(void *ctx, map_node *n)
{
	(void)ctx;
	free(n->key);
	free(n);
	return true;
}

int attrs_inform_params(cwmp_agent *a, dm_txn *t, const cwmp_event *events, size_t n_events,
			cwmp_reply *rep, cwmp_param_value **params, size_t *n_params)
{
	cwmp_attrs *at = a->attrs;
	inform_build b = {.at = at, .rep = rep, .t = t};
	int rc;

	*params = NULL;
	*n_params = 0;
	if (!at)
		return DM_ERR_INTERNAL;
	attrs_clear_reported(at);
	rc = add_forced(&b, t);
	if (!rc && has_event(events, n_events, EV_VALUE_CHANGE))
		rc = add_pending(&b, t);
	if (!rc)
		rc = add_inform_rows(&b, t, events, n_events);
	map_filter(&b.names, drop_name, NULL);
	map_release(&b.names);
	if (rc) {
		attrs_clear_reported(at);
		return rc;
	}
	*params = b.v;
	*n_params = b.n;
	return DM_OK;
}

void attrs_inform_delivered(cwmp_agent *a)
{
	cwmp_attrs *at = a->attrs;

	if (!at)
		return;
	for (size_t i = 0; i < at->n_reported; i++) {
		attrs_reported *r = &at->reported[i];
		attr_entry *e = r->gen ? attrs_entry_get(at, r->path, false) : NULL;
		/* a change that came after the Inform was built stays pending */
		if (e && e->pending && e->gen == r->gen) {
			e->pending = false;
			free(e->pending_value);
			e->pending_value = NULL;
			attrs_entry_tidy(at, e);
		}
		if (r->baseline && attrs_queue_op(at, OP_BASELINE_PUT, r->path, r->value))
			CORE_LOG_W("cwmp", "baseline of %s not saved: out of memory", r->path);
	}
	attrs_clear_reported(at);
	attrs_flush(at);
}
