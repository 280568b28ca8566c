/*
 * attrs.c - the CWMP notification attribute table: its lifecycle (open,
 * close, factory reset), its persistence in agent state and the rules
 * deciding a parameter's effective notification. The GPA/SPA handlers
 * live in attrs_rpc.c; change tracking, baselines and the Inform
 * ParameterList in attrs_track.c.
 */
#include "attrs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the path map --------------------------------------------------------- */

static uint32_t hash_of(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

map_node *map_find(const path_map *m, const char *key)
{
	if (!m->n_buckets)
		return NULL;
	uint32_t h = hash_of(key);
	for (map_node *n = m->buckets[h & (m->n_buckets - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

static int map_grow(path_map *m)
{
	size_t nb = m->n_buckets ? m->n_buckets * 2 : 64;
	map_node **b = calloc(nb, sizeof *b);

	if (!b)
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (map_node *n = m->buckets[i], *next; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
	return DM_OK;
}

int map_insert(path_map *m, map_node *n)
{
	if (m->n >= m->n_buckets && map_grow(m))
		return DM_ERR_NOMEM;
	n->hash = hash_of(n->key);
	map_node **head = &m->buckets[n->hash & (m->n_buckets - 1)];
	n->next = *head;
	*head = n;
	m->n++;
	return DM_OK;
}

map_node *map_unlink(path_map *m, const char *key)
{
	if (!m->n_buckets)
		return NULL;
	uint32_t h = hash_of(key);
	for (map_node **pp = &m->buckets[h & (m->n_buckets - 1)]; *pp; pp = &(*pp)->next) {
		map_node *n = *pp;
		if (n->hash == h && strcmp(n->key, key) == 0) {
			*pp = n->next;
			m->n--;
			return n;
		}
	}
	return NULL;
}

void map_filter(path_map *m, map_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		map_node **pp = &m->buckets[i];
		while (*pp) {
			map_node *n = *pp, *next = n->next;
			if (fn(ctx, n)) {
				*pp = next;
				m->n--;
			} else {
				pp = &n->next;
			}
		}
	}
}

void map_release(path_map *m)
{
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

/* ---- entries and the notification rules -------------------------------- */

void attrs_entry_free(attr_entry *e)
{
	free(e->node.key);
	free(e->pending_value);
	free(e);
}

const char *attrs_stored_path(const cwmp_attrs *at, const char *name, char *buf, size_t n)
{
	/* a name the view resolved always maps back; keep it when it cannot */
	return dm_view_store(at->a->view, name, buf, n) == 1 ? buf : name;
}

attr_entry *attrs_entry_get(cwmp_attrs *at, const char *path, bool create)
{
	attr_entry *e = (attr_entry *)map_find(&at->entries, path);

	if (e || !create)
		return e;
	if (!(e = calloc(1, sizeof *e)) || !(e->node.key = strdup(path))) {
		free(e);
		return NULL;
	}
	e->notify = -1;
	if (map_insert(&at->entries, &e->node)) {
		attrs_entry_free(e);
		return NULL;
	}
	return e;
}

void attrs_entry_tidy(cwmp_attrs *at, attr_entry *e)
{
	if (e && e->notify < 0 && !e->subscriber && !e->pending) {
		map_unlink(&at->entries, e->node.key);
		attrs_entry_free(e);
	}
}

int attrs_default_notify(const dm_node *param)
{
	dm_active_notify an = dm_node_active_notify(param);

	return an == DM_NOTIFY_FORCED || an == DM_NOTIFY_DEFAULT_ACTIVE ? 2 : 0;
}

int attrs_effective(const attr_entry *e, const dm_node *param)
{
	if (dm_node_active_notify(param) == DM_NOTIFY_FORCED)
		return 2;
	return e && e->notify >= 0 ? e->notify : attrs_default_notify(param);
}

/* Instance numbers become "{i}" to find the schema node. */
const dm_node *attrs_param_node(const cwmp_attrs *at, const char *path)
{
	char schema_path[ATTRS_PATH_MAX];
	size_t o = 0;

	for (const char *seg = path; *seg;) {
		size_t len = strcspn(seg, ".");
		bool number = len > 0 && strspn(seg, "0123456789") >= len;
		const char *text = number ? "{i}" : seg;
		size_t tl = number ? 3 : len;
		if (o + tl + 2 > sizeof schema_path)
			return NULL;
		memcpy(schema_path + o, text, tl);
		o += tl;
		seg += len;
		if (*seg == '.') {
			schema_path[o++] = '.';
			seg++;
		}
	}
	schema_path[o] = 0;
	const dm_node *n = dm_schema_find(at->schema, schema_path);
	return n && dm_node_get_kind(n) == DM_NODE_PARAM ? n : NULL;
}

bool attrs_covered(const char *path, const char *key)
{
	size_t kl = strlen(key);

	if (kl && key[kl - 1] == '.')
		return strncmp(path, key, kl) == 0;
	return strcmp(path, key) == 0;
}

void attrs_record_format(int notify, bool subscriber, char *buf, size_t n)
{
	snprintf(buf, n, "%d%s", notify, subscriber ? ATTRS_SUBSCRIBER : "");
}

/* "<digit>" or "<digit>Subscriber"; false for anything else. */
static bool record_parse(const char *v, size_t len, int *notify, bool *subscriber)
{
	if (len < 1 || v[0] < '0' || v[0] > '2')
		return false;
	*notify = v[0] - '0';
	*subscriber = len > 1;
	return len == 1 ||
	       (len - 1 == strlen(ATTRS_SUBSCRIBER) && memcmp(v + 1, ATTRS_SUBSCRIBER, len - 1) == 0);
}

/* ---- loading ---------------------------------------------------------------- */

static int collect_record(void *ctx, const char *key, const void *value, size_t len)
{
	record_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **k = realloc(l->keys, cap * sizeof *k);
		if (k)
			l->keys = k;
		char **v = realloc(l->values, cap * sizeof *v);
		if (v)
			l->values = v;
		size_t *ln = realloc(l->lens, cap * sizeof *ln);
		if (ln)
			l->lens = ln;
		if (!k || !v || !ln)
			return l->rc = DM_ERR_NOMEM;
		l->cap = cap;
	}
	char *kc = strdup(key), *vc = malloc(len + 1);
	if (!kc || !vc) {
		free(kc);
		free(vc);
		return l->rc = DM_ERR_NOMEM;
	}
	memcpy(vc, value, len);
	vc[len] = 0;
	l->keys[l->n] = kc;
	l->values[l->n] = vc;
	l->lens[l->n++] = len;
	return 0;
}

void attrs_record_list_free(record_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->values[i]);
	}
	free(l->keys);
	free(l->values);
	free(l->lens);
	memset(l, 0, sizeof *l);
}

int attrs_collect_records(dm_txn *t, const char *ns, record_list *out)
{
	int rc = dm_state_each(t, ns, collect_record, out);

	return out->rc ? out->rc : rc;
}

/* Does the parameter still exist? Instance numbers are never reused, so a
 * record of a deleted instance can never apply again. The buffer is small
 * on purpose: a truncated value (DM_ERR_NOMEM) still proves existence. */
static bool param_exists(cwmp_attrs *at, dm_txn *t, const char *path)
{
	char buf[8];
	dm_errinfo err = {0};
	int rc = dm_get_value_buf(at->d, t, path, buf, sizeof buf, &err);

	return rc != DM_ERR_NOT_INSTANTIATED && rc != DM_ERR_NOT_IN_SCHEMA && rc != DM_ERR_SYNTAX &&
	       rc != DM_ERR_NOT_PARAM;
}

static int load_one(cwmp_attrs *at, dm_txn *t, const char *path, const char *value, size_t len)
{
	const dm_node *param = attrs_param_node(at, path);
	int notify;
	bool subscriber;

	if (!param || !record_parse(value, len, &notify, &subscriber) || !param_exists(at, t, path))
		return attrs_queue_op(at, OP_PURGE_PREFIX, path, NULL);
	if (notify == attrs_default_notify(param) || dm_node_active_notify(param) == DM_NOTIFY_FORCED)
		notify = -1;
	if (notify < 0 && !subscriber)
		return DM_OK;
	attr_entry *e = attrs_entry_get(at, path, true);
	if (!e)
		return DM_ERR_NOMEM;
	e->notify = (int8_t)notify;
	e->subscriber = subscriber;
	return DM_OK;
}

static int load_attributes(cwmp_attrs *at)
{
	record_list l = {0};
	dm_txn *t;
	int rc = dm_txn_begin(at->d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	rc = attrs_collect_records(t, ATTRS_NS, &l);
	for (size_t i = 0; !rc && i < l.n; i++)
		rc = load_one(at, t, l.keys[i], l.values[i], l.lens[i]);
	dm_txn_abort(t);
	attrs_record_list_free(&l);
	return rc;
}

/* ---- the schema's lists ------------------------------------------------------ */

/* A schema path as a USP expression matching all its instances. */
static char *usp_expr_of(const char *schema_path)
{
	char *out = malloc(strlen(schema_path) + 1), *o = out; /* "{i}" shrinks to "*" */

	if (!out)
		return NULL;
	for (const char *p = schema_path; *p; p++) {
		if (strncmp(p, "{i}", 3) == 0) {
			*o++ = '*';
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

static int list_add(char ***list, size_t *n, const char *schema_path)
{
	char **l = realloc(*list, (*n + 1) * sizeof *l);

	if (!l)
		return DM_ERR_NOMEM;
	*list = l;
	if (!(l[*n] = usp_expr_of(schema_path)))
		return DM_ERR_NOMEM;
	(*n)++;
	return DM_OK;
}

static int scan_schema(cwmp_attrs *at, const dm_node *obj)
{
	int rc = DM_OK;

	for (const dm_node *c = dm_node_first_child(obj); !rc && c; c = dm_node_next_sibling(c)) {
		if (dm_node_get_kind(c) == DM_NODE_OBJECT) {
			rc = scan_schema(at, c);
			continue;
		}
		if (dm_node_get_kind(c) != DM_NODE_PARAM)
			continue;
		if (dm_node_forced_inform(c))
			rc = list_add(&at->forced_inform, &at->n_forced_inform, dm_node_path(c));
		if (!rc && attrs_default_notify(c) > 0)
			rc = list_add(&at->default_active, &at->n_default_active, dm_node_path(c));
	}
	return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

static bool drop_entry(void *ctx, map_node *n)
{
	(void)ctx;
	attrs_entry_free((attr_entry *)n);
	return true;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void cwmp_attrs_close(cwmp_attrs *at)
{
	if (!at)
		return;
	if (at->sub)
		dm_unsubscribe(at->d, at->sub);
	core_timer_stop(at->flush_timer);
	at->flush_timer = NULL;
	/* a last chance for queued baselines; what is lost here is found
	 * again (and at worst reported once too often) at the next open */
	attrs_flush(at);
	core_timer_stop(at->flush_timer);
	if (at->a->attrs == at) {
		at->a->attrs = NULL;
		at->a->inform_params = NULL;
		at->a->inform_delivered = NULL;
		at->a->rpc[CWMP_MSG_GET_PARAMETER_ATTRIBUTES] = NULL;
		at->a->rpc[CWMP_MSG_SET_PARAMETER_ATTRIBUTES] = NULL;
	}
	map_filter(&at->entries, drop_entry, NULL);
	map_release(&at->entries);
	free_list(at->forced_inform, at->n_forced_inform);
	free_list(at->default_active, at->n_default_active);
	attrs_clear_reported(at);
	free(at->reported);
	attrs_clear_ops(at);
	free(at->ops);
	free(at);
}

int cwmp_attrs_open(cwmp_agent *a, cwmp_attrs **out)
{
	cwmp_attrs *at = calloc(1, sizeof *at);
	int rc;

	if (!at)
		return DM_ERR_NOMEM;
	at->a = a;
	at->d = a->d;
	at->schema = dm_get_schema(a->d);
	at->next_gen = 1;
	rc = scan_schema(at, dm_schema_root(at->schema));
	if (!rc)
		rc = load_attributes(at);
	if (!rc)
		rc = dm_subscribe(at->d, attrs_change_cb, at, &at->sub);
	if (rc) {
		cwmp_attrs_close(at);
		return rc;
	}
	a->attrs = at;
	cwmp_rpc_register(a, CWMP_MSG_GET_PARAMETER_ATTRIBUTES, attrs_rpc_gpa);
	cwmp_rpc_register(a, CWMP_MSG_SET_PARAMETER_ATTRIBUTES, attrs_rpc_spa);
	a->inform_params = attrs_inform_params;
	a->inform_delivered = attrs_inform_delivered;
	/* after the hooks: a difference found here raises through a->raise */
	if ((rc = attrs_track_open(at))) {
		cwmp_attrs_close(at);
		return rc;
	}
	*out = at;
	return DM_OK;
}

static int delete_namespace(dm_txn *t, const char *ns, dm_errinfo *err)
{
	record_list l = {0};
	int rc = attrs_collect_records(t, ns, &l);

	for (size_t i = 0; !rc && i < l.n; i++)
		rc = dm_state_del(t, ns, l.keys[i], err);
	attrs_record_list_free(&l);
	return rc;
}

int cwmp_attrs_reset(cwmp_attrs *at)
{
	static const dm_origin self = {DM_ORIGIN_INTERNAL, "cwmp"};
	dm_errinfo err = {0};
	dm_txn *t;
	int rc = dm_txn_begin(at->d, DM_TXN_WRITE, &self, &t);

	if (rc)
		return rc;
	/* baselines go too: the next open records fresh ones silently, as
	 * BOOTSTRAP makes the ACS read everything anyway */
	rc = delete_namespace(t, ATTRS_NS, &err);
	if (!rc)
		rc = delete_namespace(t, BASELINE_NS, &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	if ((rc = dm_txn_commit(t, NULL, &err)))
		return rc;
	map_filter(&at->entries, drop_entry, NULL);
	attrs_clear_reported(at);
	attrs_clear_ops(at);
	return DM_OK;
}
