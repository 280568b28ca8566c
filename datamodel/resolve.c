/*
 * resolve.c - from path strings to instances and values: concrete paths (the
 * single-parameter fast path and every write), full path expressions with
 * wildcards, search expressions and reference following (dm_resolve), and
 * the subtree walk that streams a whole object tree from one snapshot.
 * Syntax lives in path.c; the store's primitives in store.c.
 */
#include "engine.h"
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_DEPTH_MAX 8
#define VALUE_BUF 4096

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int schema_path_of(const char *path, size_t len, char *out, size_t outsz, size_t *outlen)
{
	size_t o = 0, i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && path[j] != '.')
			j++;
		const char *seg = path + i;
		size_t sl = j - i;
		if (all_digits(seg, sl)) {
			seg = "{i}";
			sl = 3;
		}
		if (o + sl + 2 > outsz)
			return DM_ERR_TOO_DEEP;
		memcpy(out + o, seg, sl);
		o += sl;
		if (j < len)
			out[o++] = '.';
		i = j + 1;
	}
	out[o] = 0;
	*outlen = o;
	return DM_OK;
}

/* ---- values ------------------------------------------------------------ */

int resolve_param_value(dm_txn *t, const dm_node *param, const char *path, size_t len, char *buf,
			size_t bufsz, const char **val, size_t *vlen)
{
	const dm_provider *pv = provider_of(t->d, param);
	if (param->u.param.hidden && !t->reveal) {
		*val = "";
		*vlen = 0;
		return DM_OK;
	}
	if (pv && pv->get) {
		buf[0] = 0;
		int rc = pv->get(pv->ctx, t, path, buf, bufsz);
		if (rc)
			return DM_ERR_PROVIDER;
		*val = buf;
		*vlen = strlen(buf);
		return DM_OK;
	}
	const dm_node *table = param->u.param.counts_table;
	if (table) {
		/* "<parent instance path><TableName>." */
		char tp[DM_PATH_MAX];
		size_t base = len - strlen(param->name);
		int n = snprintf(tp, sizeof tp, "%.*s%s.", (int)base, path, table->name);
		if (n < 0 || (size_t)n >= sizeof tp)
			return DM_ERR_TOO_DEEP;
		snprintf(buf, bufsz, "%zu", store_count_instances(t, tp, (size_t)n));
		*val = buf;
		*vlen = strlen(buf);
		return DM_OK;
	}
	MDB_val v;
	if (store_get(t, path, len, &v) == 0) {
		*val = v.mv_data;
		*vlen = v.mv_size;
		return DM_OK;
	}
	const char *def = param->u.param.default_value;
	*val = def ? def : dm_type_zero(param->u.param.facets.base);
	*vlen = strlen(*val);
	return DM_OK;
}

/* ---- concrete paths ------------------------------------------------------ */

typedef struct inst_check {
	size_t end;       /* length of the instance path prefix "...Interface.3." */
} inst_check;

/* Find the instance of a table whose Alias equals alias (CWMP [alias]). */
typedef struct alias_find {
	dm_txn *t;
	const dm_node *alias_param;
	const char *table;
	size_t table_len;
	const char *alias;
	size_t alias_len;
	uint32_t found;
} alias_find;

static int alias_match(void *ctx, uint32_t inst)
{
	alias_find *a = ctx;
	char p[DM_PATH_MAX], buf[256];
	int n = snprintf(p, sizeof p, "%.*s%u.Alias", (int)a->table_len, a->table, inst);
	const char *v;
	size_t vl;
	if (n < 0 || (size_t)n >= sizeof p ||
	    resolve_param_value(a->t, a->alias_param, p, (size_t)n, buf, sizeof buf, &v, &vl))
		return 0;
	if (vl == a->alias_len && memcmp(v, a->alias, vl) == 0) {
		a->found = inst;
		return 1;
	}
	return 0;
}

/*
 * Walk a concrete path segment by segment. Schema errors win over instance
 * errors: all names are checked first, instance existence afterwards, so that
 * "Device.IP.Interface.9.Bogus" is NOT_IN_SCHEMA whether or not 9 exists.
 */
static int concrete_walk(dm_txn *t, const char *in, bool allow_table, bool check, dm_target *out,
			 dm_errinfo *err)
{
	const dm_schema *s = t->d->schema;
	size_t n = strlen(in);
	if (n == 0 || n >= DM_PATH_MAX)
		return dm_err_set(err, DM_ERR_SYNTAX, 0, in, "%s", n ? "path too long" : "empty path");
	const dm_node *node = NULL;
	bool want_inst = false;
	inst_check checks[32];
	size_t n_checks = 0, o = 0, i = 0;
	while (i < n) {
		size_t j = i;
		if (in[i] == '[') {
			while (j < n && in[j] != ']')
				j++;
			if (j == n)
				return dm_err_set(err, DM_ERR_SYNTAX, 0, in, "unterminated '['");
			j++;
		} else {
			/* copy while scanning: the segment lands where a name or
			 * number goes; a library memcpy per short segment costs more */
			size_t room = DM_PATH_MAX - 2 - o; /* for the '.' and the NUL */
			while (j < n && in[j] != '.' && j - i < room) {
				out->path[o + (j - i)] = in[j];
				j++;
			}
			if (j < n && in[j] != '.')
				return dm_err_set(err, DM_ERR_SYNTAX, 0, in, "path too long");
		}
		const char *seg = in + i;
		size_t sl = j - i;
		bool last = j >= n;
		if (sl == 0)
			return dm_err_set(err, DM_ERR_SYNTAX, 0, in, "empty segment at position %zu", i);
		if (!node) {
			if (sl != 6 || memcmp(seg, "Device", 6))
				return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "paths start with Device.");
			node = s->root;
			memcpy(out->path, "Device", 6);
			o = 6;
		} else if (want_inst) {
			if (seg[0] == '[') {
				if (!node->u.obj.alias_param)
					return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in,
							  "%.*s has no Alias to address by", (int)o, out->path);
				alias_find a = {t, node->u.obj.alias_param, out->path, o, seg + 1, sl - 2, 0};
				store_each_instance(t, out->path, o, alias_match, &a);
				if (!a.found)
					return dm_err_set(err, DM_ERR_NOT_INSTANTIATED, 0, in,
							  "no instance with Alias %.*s", (int)sl, seg);
				o += (size_t)snprintf(out->path + o, DM_PATH_MAX - o, "%u", a.found);
			} else if (all_digits(seg, sl) && seg[0] != '0' && sl <= 10) {
				o += sl; /* copied by the scan */
			} else {
				return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in,
						  "instance number expected at position %zu", i);
			}
			want_inst = false;
			if (n_checks < 32)
				checks[n_checks++].end = o + 1;
		} else {
			if (node->kind != DM_NODE_OBJECT)
				return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "%s has no children", node->path);
			const dm_node *c = dm_node_child(node, seg, sl);
			if (!c)
				return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "%.*s%.*s is not supported",
						  (int)o, out->path, (int)sl, seg);
			node = c;
			want_inst = c->kind == DM_NODE_OBJECT && c->u.obj.table;
			o += sl; /* copied by the scan */
		}
		if (!last)
			out->path[o++] = '.';
		i = j + 1;
		if (last)
			break;
	}
	if (!node)
		return dm_err_set(err, DM_ERR_SYNTAX, 0, in, "empty path");
	out->path[o] = 0;
	out->len = o;
	out->node = node;
	bool dotted = in[n - 1] == '.';
	if (node->kind == DM_NODE_OBJECT && !dotted)
		return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "object paths end in '.'");
	if (node->kind != DM_NODE_OBJECT && dotted)
		return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "%s is not an object", node->path);
	if (want_inst && !allow_table)
		return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, in, "instance number expected");
	if (!check)
		return DM_OK;
	for (size_t k = 0; k < n_checks; k++)
		if (!store_exists(t, out->path, checks[k].end))
			return dm_err_set(err, DM_ERR_NOT_INSTANTIATED, 0, in, "%.*s does not exist",
					  (int)checks[k].end, out->path);
	return DM_OK;
}

int resolve_concrete(dm_txn *t, dm_grammar g, const char *path, bool allow_table, dm_target *out,
		     dm_errinfo *err)
{
	(void)g;
	return concrete_walk(t, path, allow_table, true, out, err);
}

static int copy_out(const char *path, const char *v, size_t vl, char *buf, size_t bufsz, dm_errinfo *err)
{
	if (vl >= bufsz)
		return dm_err_set(err, DM_ERR_NOMEM, 0, path, "value longer than the buffer");
	memcpy(buf, v, vl);
	buf[vl] = 0;
	return DM_OK;
}

/* reveal: hidden parameters give their stored value instead of "". */
static int get_value(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, bool reveal,
		     dm_errinfo *err)
{
	dm_txn own_txn, *own = NULL;
	int rc;
	if (!t) {
		if ((rc = txn_read_inplace(d, &own_txn)))
			return dm_err_set(err, rc, 0, path, NULL);
		t = own = &own_txn;
	}
	dm_target tg;
	rc = concrete_walk(t, path, false, false, &tg, err);
	if (rc)
		goto out;
	if (tg.node->kind != DM_NODE_PARAM) {
		rc = dm_err_set(err, DM_ERR_NOT_READABLE, 0, path, "%s is not a parameter", path);
		goto out;
	}
	const dm_node *p = tg.node;
	bool stored_kind = !provider_of(d, p) && !p->u.param.counts_table && (reveal || !p->u.param.hidden);
	MDB_val mv;
	/* A stored value proves its instances exist: the common case costs one
	 * lookup. Otherwise check the instances before answering a default. */
	if (stored_kind && store_get(t, tg.path, tg.len, &mv) == 0) {
		rc = copy_out(path, mv.mv_data, mv.mv_size, buf, bufsz, err);
		goto out;
	}
	if ((rc = concrete_walk(t, path, false, true, &tg, err)))
		goto out;
	const char *v;
	size_t vl;
	char tmp[VALUE_BUF];
	if (stored_kind) {
		v = p->u.param.default_value ? p->u.param.default_value : dm_type_zero(p->u.param.facets.base);
		vl = strlen(v);
	} else if ((rc = resolve_param_value(t, p, tg.path, tg.len, tmp, sizeof tmp, &v, &vl))) {
		dm_err_set(err, rc, 0, path, "provider failed to read %s", path);
		goto out;
	}
	rc = copy_out(path, v, vl, buf, bufsz, err);
out:
	if (own)
		txn_read_inplace_end(own);
	return rc;
}

int resolve_table_path(dm_txn *t, const char *table_path, dm_target *tg, dm_errinfo *err)
{
	int rc = resolve_concrete(t, DM_GRAMMAR_CWMP, table_path, true, tg, err);
	if (rc)
		return rc;
	const dm_node *n = tg->node;
	/* a path ending in a number names an instance, not its table */
	if (n->kind != DM_NODE_OBJECT || !n->u.obj.table || tg->len < 2 ||
	    (tg->path[tg->len - 2] >= '0' && tg->path[tg->len - 2] <= '9'))
		return dm_err_set(err, DM_ERR_NOT_TABLE, 0, table_path, "%s is not a table", table_path);
	return DM_OK;
}

/* The same read in the names of the transaction's view. */
static int get_value_viewed(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, bool reveal,
			    dm_errinfo *err)
{
	view_req q;
	int rc = view_req_begin(t, path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, get_value(d, t, q.path, buf, bufsz, reveal, err), err);
	return rc;
}

int dm_get_value_buf(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, dm_errinfo *err)
{
	if (t && t->view)
		return get_value_viewed(d, t, path, buf, bufsz, false, err);
	return get_value(d, t, path, buf, bufsz, false, err);
}

int dm_get_secret_buf(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, dm_errinfo *err)
{
	if (t && t->view)
		return get_value_viewed(d, t, path, buf, bufsz, true, err);
	return get_value(d, t, path, buf, bufsz, true, err);
}

void dm_txn_reveal_secrets(dm_txn *t)
{
	if (t)
		t->reveal = true;
}

int dm_get_value(dm *d, dm_txn *t, const char *path, char **value, dm_errinfo *err)
{
	char *buf = malloc(65536);
	if (!buf)
		return dm_err_set(err, DM_ERR_NOMEM, 0, path, NULL);
	int rc = dm_get_value_buf(d, t, path, buf, 65536, err);
	if (rc) {
		free(buf);
		return rc;
	}
	*value = realloc(buf, strlen(buf) + 1);
	if (!*value)
		*value = buf;
	return DM_OK;
}

typedef struct inst_list {
	uint32_t *v;
	size_t n, cap;
} inst_list;

static int collect_inst(void *ctx, uint32_t inst)
{
	inst_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint32_t *nv = realloc(l->v, cap * sizeof *nv);
		if (!nv)
			return DM_ERR_NOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = inst;
	return 0;
}

static int list_instances(dm_txn *t, const char *table_path, uint32_t **insts, size_t *n, dm_errinfo *err)
{
	dm_target tg;
	int rc = resolve_table_path(t, table_path, &tg, err);
	if (rc)
		return rc;
	inst_list l = {0};
	rc = store_each_instance(t, tg.path, tg.len, collect_inst, &l);
	if (rc) {
		free(l.v);
		return dm_err_set(err, rc, 0, table_path, NULL);
	}
	*insts = l.v;
	*n = l.n;
	return DM_OK;
}

int dm_list_instances(dm_txn *t, const char *table_path, uint32_t **insts, size_t *n, dm_errinfo *err)
{
	if (!t->view)
		return list_instances(t, table_path, insts, n, err);
	view_req q;
	int rc = view_req_begin(t, table_path, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, list_instances(t, q.path, insts, n, err), err);
	return rc;
}
