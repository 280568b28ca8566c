/*
 * write.c - the write operations of a transaction: set a parameter, add and
 * delete object instances. Each checks access, types and table limits, calls
 * the provider's vendor hook, writes the store and records the change; the
 * transaction (txn.c) makes the lot atomic and durable.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A vendor hook said no: keep its reason (copied first: err->msg is both
 * the hook's text and where the engine writes). */
static int provider_refused(dm_errinfo *err, const char *path)
{
	char why[sizeof err->msg];

	snprintf(why, sizeof why, "%s", err && err->msg[0] ? err->msg : "refused by the device");
	return dm_err_set(err, DM_ERR_PROVIDER, 0, path, "%s", why);
}

static bool is_internal(const dm_txn *t)
{
	return t->origin.kind == DM_ORIGIN_INTERNAL;
}

/* Length of the path of the instance (or object) holding a parameter. */
static size_t parent_len(const char *path, size_t len)
{
	while (len > 0 && path[len - 1] != '.')
		len--;
	return len;
}

static bool in_unique_key(const dm_node *param)
{
	const dm_node *obj = param->parent;
	if (!obj || !obj->u.obj.table)
		return false;
	for (uint16_t k = 0; k < obj->u.obj.n_keys; k++)
		for (uint16_t i = 0; i < obj->u.obj.keys[k].n_params; i++)
			if (obj->u.obj.keys[k].params[i] == param)
				return true;
	return false;
}

/* Set before this transaction: may this origin write it again? */
static bool may_rewrite(dm_txn *t, const dm_target *tg, const MDB_val *old)
{
	char cur[256];
	size_t n = old->mv_size < sizeof cur ? old->mv_size : sizeof cur - 1;

	if (!t->d->rewrite)
		return false;
	memcpy(cur, old->mv_data, n);
	cur[n] = '\0';
	return t->d->rewrite(t->d->rewrite_ctx, &t->origin, tg->path, cur);
}

static int check_param_access(dm_txn *t, const dm_target *tg, bool *stored_before, const MDB_val *old,
			      dm_errinfo *err)
{
	const dm_node *p = tg->node;
	if (p->u.param.counts_table)
		return dm_err_set(err, DM_ERR_NOT_WRITABLE, 0, tg->path, "%s is computed", tg->path);
	if (is_internal(t) || p->u.param.access == DM_ACCESS_READ_WRITE)
		return DM_OK;
	if (p->u.param.access == DM_ACCESS_WRITE_ONCE_READ_ONLY && !*stored_before)
		return DM_OK;
	if (p->u.param.access == DM_ACCESS_WRITE_ONCE_READ_ONLY) {
		/* writable once: while the instance is new in this transaction */
		size_t pl = parent_len(tg->path, tg->len);
		for (size_t i = 0; i < t->n_changes; i++)
			if (t->changes[i].kind == DM_CHANGE_ADD && strlen(t->changes[i].path) == pl &&
			    memcmp(t->changes[i].path, tg->path, pl) == 0)
				return DM_OK;
		if (may_rewrite(t, tg, old))
			return DM_OK;
	}
	return dm_err_set(err, DM_ERR_NOT_WRITABLE, 0, tg->path, "%s is read-only", tg->path);
}

static int set_param(dm_txn *t, const char *path, const char *value, dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	if (rc)
		return rc;
	dm_target tg;
	if ((rc = resolve_concrete(t, DM_GRAMMAR_CWMP, path, false, &tg, err)))
		return rc;
	if (tg.node->kind != DM_NODE_PARAM)
		return dm_err_set(err, DM_ERR_NOT_PARAM, 0, path, "%s is not a parameter", path);
	MDB_val old;
	bool stored = store_get(t, tg.path, tg.len, &old) == 0;
	if ((rc = check_param_access(t, &tg, &stored, &old, err)))
		return rc;
	if ((rc = guard_check(t, DM_CHANGE_VALUE, tg.path, err)))
		return rc;
	char *canon = NULL;
	if ((rc = dm_value_check(tg.node, value, &canon, err))) {
		if (err)
			snprintf(err->path, sizeof err->path, "%s", tg.path);
		return rc;
	}
	const dm_provider *pv = provider_of(t->d, tg.node);
	if (pv && pv->set && (rc = pv->set(pv->ctx, tg.path, canon, err))) {
		free(canon);
		return provider_refused(err, tg.path);
	}
	if (pv && pv->get) {
		/* a live value: the vendor hook did the write, nothing to store */
		rc = txn_record(t, DM_CHANGE_VALUE, tg.path, "", canon);
		free(canon);
		return rc;
	}
	char oldbuf[64];
	const char *oldv;
	size_t oldlen;
	if (stored) {
		oldv = old.mv_data;
		oldlen = old.mv_size;
	} else {
		resolve_param_value(t, tg.node, tg.path, tg.len, oldbuf, sizeof oldbuf, &oldv, &oldlen);
	}
	size_t cl = strlen(canon);
	bool changed = !(oldlen == cl && memcmp(oldv, canon, cl) == 0);
	/* copy before writing: oldv may point into a page the write replaces */
	char *oldcopy = changed ? strndup(oldv, oldlen) : NULL;
	if (changed && !oldcopy)
		rc = dm_err_set(err, DM_ERR_NOMEM, 0, path, NULL);
	/* A default read back unchanged is still stored once, so that later
	 * schema default changes do not alter a value a manager confirmed. */
	if (!rc && (changed || !stored))
		rc = store_put(t, tg.path, tg.len, canon, cl, err);
	if (!rc && changed && in_unique_key(tg.node))
		rc = txn_touch(t, tg.path, parent_len(tg.path, tg.len));
	if (!rc && changed)
		rc = txn_record(t, DM_CHANGE_VALUE, tg.path, tg.node->u.param.hidden ? "" : oldcopy,
				tg.node->u.param.hidden ? "" : canon);
	free(oldcopy);
	free(canon);
	return rc;
}

/* Store the defaults of an object's parameters, and of its single-instance
 * sub-objects; sub-tables start empty. */
static int materialise(dm_txn *t, const dm_node *obj, char *path, size_t len, dm_errinfo *err)
{
	for (const dm_node *c = obj->first_child; c; c = c->next_sibling) {
		if (c->kind == DM_NODE_PARAM && c->u.param.default_value && !c->u.param.counts_table &&
		    !provider_of(t->d, c)) {
			size_t nl = strlen(c->name);
			if (len + nl >= DM_PATH_MAX)
				return dm_err_set(err, DM_ERR_TOO_DEEP, 0, path, "path too long");
			memcpy(path + len, c->name, nl + 1);
			int rc = store_put(t, path, len + nl, c->u.param.default_value,
					   strlen(c->u.param.default_value), err);
			if (rc)
				return rc;
		} else if (c->kind == DM_NODE_OBJECT && !c->u.obj.table) {
			size_t nl = strlen(c->name);
			if (len + nl + 1 >= DM_PATH_MAX)
				return dm_err_set(err, DM_ERR_TOO_DEEP, 0, path, "path too long");
			memcpy(path + len, c->name, nl);
			path[len + nl] = '.';
			path[len + nl + 1] = 0;
			int rc = materialise(t, c, path, len + nl + 1, err);
			if (rc)
				return rc;
		}
	}
	path[len] = 0;
	return DM_OK;
}

typedef struct key_max {
	dm_txn *t;
	const dm_node *param;
	const char *table;
	size_t table_len;
	uint32_t self;
	long long max;
} key_max;

static int note_key_max(void *ctx, uint32_t inst)
{
	key_max *k = ctx;
	if (inst == k->self)
		return 0;
	char path[DM_PATH_MAX + 32], buf[64];
	int n = snprintf(path, sizeof path, "%.*s%u.%s", (int)k->table_len, k->table, inst, k->param->name);
	const char *v;
	size_t vl;
	if (n > 0 && (size_t)n < sizeof path &&
	    !resolve_param_value(k->t, k->param, path, (size_t)n, buf, sizeof buf, &v, &vl)) {
		char num[32]; /* stored values are not NUL-terminated */
		snprintf(num, sizeof num, "%.*s", (int)(vl < sizeof num ? vl : sizeof num - 1), v);
		long long x = strtoll(num, NULL, 10);
		if (x > k->max)
			k->max = x;
	}
	return 0;
}

static bool is_integer_type(dm_type t)
{
	return t == DM_TYPE_INT || t == DM_TYPE_UNSIGNED_INT || t == DM_TYPE_LONG || t == DM_TYPE_UNSIGNED_LONG;
}

/*
 * A unique key that is a number with no default (Order, Index...) gets the
 * next value above every sibling's, at least the range's minimum: a new
 * instance must come with a valid, unused key (TR-369 R-ADD.5 says the
 * agent assigns what the manager did not give). The manager may overwrite
 * it in the same transaction. String keys other than Alias stay empty and
 * take no part until someone names them.
 */
static int assign_numeric_keys(dm_txn *t, const dm_node *table, const char *tpath, size_t tlen,
			       uint32_t inst, const char *ipath, dm_errinfo *err)
{
	for (uint16_t k = 0; k < table->u.obj.n_keys; k++) {
		for (uint16_t i = 0; i < table->u.obj.keys[k].n_params; i++) {
			const dm_node *p = table->u.obj.keys[k].params[i];
			const dm_facets *f = &p->u.param.facets;
			if (!is_integer_type(f->base) || f->is_list || p->u.param.default_value ||
			    provider_of(t->d, p))
				continue;
			key_max km = {t, p, tpath, tlen, inst, 0};
			store_each_instance(t, tpath, tlen, note_key_max, &km);
			long long v = km.max + 1;
			for (uint16_t r = 0; r < f->n_ranges; r++) {
				const dm_range *rg = &f->ranges[r];
				long long lo = f->base == DM_TYPE_INT || f->base == DM_TYPE_LONG ? (long long)rg->s_min
												  : (long long)rg->u_min;
				if (rg->has_min && v < lo)
					v = lo;
			}
			char path[DM_PATH_MAX + 32], val[32];
			int n = snprintf(path, sizeof path, "%s%s", ipath, p->name);
			snprintf(val, sizeof val, "%lld", v);
			int rc = store_put(t, path, (size_t)n, val, strlen(val), err);
			if (rc)
				return rc;
		}
	}
	return DM_OK;
}

static int add_instance(dm_txn *t, dm_target *tg, uint32_t inst, const char *alias, dm_errinfo *err)
{
	const dm_node *n = tg->node;
	if (n->u.obj.max_entries != UINT32_MAX &&
	    store_count_instances(t, tg->path, tg->len) >= n->u.obj.max_entries)
		return dm_err_set(err, DM_ERR_MAX_ENTRIES, 0, tg->path, "%s already holds %u instances",
				  tg->path, n->u.obj.max_entries);
	char path[DM_PATH_MAX];
	int len = snprintf(path, sizeof path, "%s%u.", tg->path, inst);
	if (len < 0 || (size_t)len + 64 >= sizeof path)
		return dm_err_set(err, DM_ERR_TOO_DEEP, 0, tg->path, "path too long");
	const dm_provider *pv = provider_of(t->d, n);
	int rc;
	if (pv && pv->add && (rc = pv->add(pv->ctx, path, err)))
		return provider_refused(err, path);
	if ((rc = store_put(t, path, (size_t)len, "", 0, err)))
		return rc;
	if ((rc = materialise(t, n, path, (size_t)len, err)))
		return rc;
	if ((rc = txn_record(t, DM_CHANGE_ADD, path, NULL, NULL)))
		return dm_err_set(err, rc, 0, path, NULL);
	if (n->u.obj.alias_param) {
		/* TR-181: an Alias the manager did not choose gets a "cpe-" value */
		char gen[32], ap[DM_PATH_MAX + 8];
		snprintf(gen, sizeof gen, "cpe-%u", inst);
		snprintf(ap, sizeof ap, "%sAlias", path);
		const char *av = alias && *alias ? alias : gen;
		char *canon = NULL;
		if ((rc = dm_value_check(n->u.obj.alias_param, av, &canon, err)))
			return rc;
		rc = store_put(t, ap, strlen(ap), canon, strlen(canon), err);
		free(canon);
		if (rc)
			return rc;
	}
	if (n->u.obj.n_keys && (rc = assign_numeric_keys(t, n, tg->path, tg->len, inst, path, err)))
		return rc;
	if (n->u.obj.n_keys)
		return txn_touch(t, path, (size_t)len);
	return DM_OK;
}

static int add_object(dm_txn *t, const char *table_path, const char *alias, uint32_t *inst, dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	if (rc)
		return rc;
	dm_target tg;
	if ((rc = resolve_table_path(t, table_path, &tg, err)))
		return rc;
	if (!is_internal(t) && tg.node->u.obj.access != DM_ACCESS_READ_WRITE)
		return dm_err_set(err, DM_ERR_NOT_WRITABLE, 0, table_path,
				  "instances of %s cannot be added", tg.path);
	if ((rc = guard_check(t, DM_CHANGE_ADD, tg.path, err)))
		return rc;
	uint32_t n;
	if ((rc = store_next_instance(t, tg.path, tg.len, &n, true, err)))
		return rc;
	if ((rc = add_instance(t, &tg, n, alias, err)))
		return rc;
	if (inst)
		*inst = n;
	return DM_OK;
}

static int add_numbered(dm_txn *t, const char *table_path, uint32_t inst, dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	if (rc)
		return rc;
	if (inst == 0)
		return dm_err_set(err, DM_ERR_SYNTAX, 0, table_path, "instance numbers start at 1");
	dm_target tg;
	if ((rc = resolve_table_path(t, table_path, &tg, err)))
		return rc;
	char path[DM_PATH_MAX];
	int len = snprintf(path, sizeof path, "%s%u.", tg.path, inst);
	if (len > 0 && (size_t)len < sizeof path && store_exists(t, path, (size_t)len))
		return dm_err_set(err, DM_ERR_UNIQUE_KEY, 0, path, "%s already exists", path);
	if ((rc = guard_check(t, DM_CHANGE_ADD, tg.path, err)))
		return rc;
	if ((rc = store_raise_counter(t, tg.path, tg.len, inst, err)))
		return rc;
	return add_instance(t, &tg, inst, NULL, err);
}

static int delete_object(dm_txn *t, const char *obj_path, dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	if (rc)
		return rc;
	dm_target tg;
	if ((rc = resolve_concrete(t, DM_GRAMMAR_CWMP, obj_path, false, &tg, err)))
		return rc;
	const dm_node *n = tg.node;
	if (n->kind != DM_NODE_OBJECT || !n->u.obj.table)
		return dm_err_set(err, DM_ERR_NOT_TABLE, 0, obj_path, "%s is not a table instance", obj_path);
	if (!is_internal(t) && n->u.obj.access != DM_ACCESS_READ_WRITE)
		return dm_err_set(err, DM_ERR_NOT_WRITABLE, 0, obj_path,
				  "instances of %s cannot be deleted", n->path);
	size_t tl = parent_len(tg.path, tg.len - 1);
	if (!is_internal(t) && n->u.obj.min_entries > 0 &&
	    store_count_instances(t, tg.path, tl) <= n->u.obj.min_entries)
		return dm_err_set(err, DM_ERR_MIN_ENTRIES, 0, obj_path, "%.*s needs at least %u instances",
				  (int)tl, tg.path, n->u.obj.min_entries);
	if ((rc = guard_check(t, DM_CHANGE_DELETE, tg.path, err)))
		return rc;
	const dm_provider *pv = provider_of(t->d, n);
	if (pv && pv->del && (rc = pv->del(pv->ctx, tg.path, err)))
		return provider_refused(err, tg.path);
	if ((rc = store_del_subtree(t, tg.path, tg.len, err)))
		return rc;
	return txn_record(t, DM_CHANGE_DELETE, tg.path, NULL, NULL);
}

/* ---- the public calls: request paths in the transaction's view ------------ */

int dm_set(dm_txn *t, const char *path, const char *value, dm_errinfo *err)
{
	if (!t || !t->view)
		return set_param(t, path, value, err);
	view_req q;
	int rc = view_req_begin(t, path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, set_param(t, q.path, value, err), err);
	return rc;
}

int dm_add(dm_txn *t, const char *table_path, const char *alias, uint32_t *inst, dm_errinfo *err)
{
	if (!t->view)
		return add_object(t, table_path, alias, inst, err);
	view_req q;
	int rc = view_req_begin(t, table_path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, add_object(t, q.path, alias, inst, err), err);
	return rc;
}

int dm_add_numbered(dm_txn *t, const char *table_path, uint32_t inst, dm_errinfo *err)
{
	if (!t->view)
		return add_numbered(t, table_path, inst, err);
	view_req q;
	int rc = view_req_begin(t, table_path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, add_numbered(t, q.path, inst, err), err);
	return rc;
}

int dm_delete(dm_txn *t, const char *obj_path, dm_errinfo *err)
{
	if (!t->view)
		return delete_object(t, obj_path, err);
	view_req q;
	int rc = view_req_begin(t, obj_path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, delete_object(t, q.path, err), err);
	return rc;
}

int dm_set_as_agent(dm_txn *t, const char *path, const char *value, dm_errinfo *err)
{
	if (!t)
		return dm_set(t, path, value, err);
	/* only the access check looks at the kind; changes take the origin at commit */
	dm_origin_kind kind = t->origin.kind;
	t->origin.kind = DM_ORIGIN_INTERNAL;
	int rc = dm_set(t, path, value, err);
	t->origin.kind = kind;
	return rc;
}
