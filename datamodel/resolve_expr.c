/*
 * resolve_expr.c - dm_resolve: evaluating a parsed path expression (path.h)
 * against the schema and one snapshot of the store, and the subtree walk that
 * streams every parameter below an object. Instances come out in ascending
 * order because the store keeps them so.
 */
#include "engine.h"
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_DEPTH_MAX 8
#define WALK_VALUE_BUF 4096

/* A stored parameter of the object being walked: points into LMDB pages. */
/* What is stored directly under the object being walked: its parameters
 * (val points into LMDB pages) and, with child set, the names of the
 * sub-objects that have anything stored below them. */
typedef struct stored_param {
	const char *name;
	size_t name_len;
	const char *val;
	size_t val_len;
	bool child;
} stored_param;

typedef struct rctx {
	dm_txn *t;
	const dm_path *p;
	unsigned flags;
	unsigned max_depth;
	dm_item_cb cb;
	void *cb_ctx;
	dm_errinfo *err;
	int ref_depth;
	char path[DM_PATH_MAX * 2];
	char vbuf[WALK_VALUE_BUF];
	MDB_cursor *cur;
	stored_param *sp;       /* stack of collected params, one frame per walk level */
	size_t sp_n, sp_cap;
	/* With a view: items are reported by the names it shows. In alias
	 * mode (alias set) the walk is in the alias's stored subtree and
	 * reports it under the visible name; otherwise under stored names. */
	const dm_view *view;
	const view_alias *alias;
	char *shown;            /* DM_PATH_MAX * 2, only with a view */
} rctx;

static int step(rctx *r, uint16_t si, const dm_node *node, size_t len, bool want_inst);
static int walk(rctx *r, const dm_node *obj, size_t len, unsigned depth, bool empty);

static bool in_alias(const rctx *r, const char *path, size_t len)
{
	return r->alias && len >= r->alias->slen && !memcmp(path, r->alias->stored, r->alias->slen);
}

/* The name r->path[0..len) (NUL-terminated) is reported by, NULL when the
 * view does not show it. */
static const char *shown_name(rctx *r, size_t len)
{
	if (in_alias(r, r->path, len)) {
		if (!view_alias_covers(r->alias, r->path, len) ||
		    view_alias_rename(r->alias, r->path, len, r->shown, DM_PATH_MAX * 2) != 1)
			return NULL;
		return r->shown;
	}
	return view_native(r->view, r->path, len) ? r->path : NULL;
}

static int emit(rctx *r, const dm_node *n, size_t len, const char *val, size_t vlen)
{
	char saved = r->path[len];
	r->path[len] = 0;
	const char *name = r->path;
	if (r->view && !(name = shown_name(r, len))) {
		r->path[len] = saved;
		return 0;
	}
	char *vcopy = NULL;
	if (val && val != r->vbuf) {
		/* the callback wants a NUL-terminated value; LMDB's has none */
		if (vlen < sizeof r->vbuf) {
			memcpy(r->vbuf, val, vlen);
			r->vbuf[vlen] = 0;
			val = r->vbuf;
		} else if ((vcopy = strndup(val, vlen))) {
			val = vcopy;
		} else {
			return DM_ERR_NOMEM;
		}
	}
	dm_item it = {name, n, val, val ? vlen : 0};
	int rc = r->cb(r->cb_ctx, &it);
	free(vcopy);
	r->path[len] = saved;
	return rc;
}

static int append(rctx *r, size_t *len, const char *s, size_t n, bool dot)
{
	if (*len + n + 2 >= sizeof r->path)
		return dm_err_set(r->err, DM_ERR_TOO_DEEP, 0, r->path, "path too long");
	memcpy(r->path + *len, s, n);
	*len += n;
	if (dot)
		r->path[(*len)++] = '.';
	r->path[*len] = 0;
	return DM_OK;
}

/* ---- the subtree walk ------------------------------------------------------ */

static int push_stored(rctx *r, const char *name, size_t name_len, const char *val, size_t val_len,
		       bool child)
{
	if (r->sp_n == r->sp_cap) {
		size_t cap = r->sp_cap ? r->sp_cap * 2 : 64;
		stored_param *n = realloc(r->sp, cap * sizeof *n);
		if (!n)
			return DM_ERR_NOMEM;
		r->sp = n;
		r->sp_cap = cap;
	}
	r->sp[r->sp_n++] = (stored_param){name, name_len, val, val_len, child};
	return DM_OK;
}

/*
 * Collect what is stored directly under the object at r->path[0..len) with
 * one forward cursor pass, jumping over every sub-object's subtree (the key
 * "<prefix>Child/" is the first past "<prefix>Child.") after noting that the
 * sub-object has data. Keys come sorted, so the frame is sorted by name.
 */
static int collect_direct(rctx *r, size_t len)
{
	char seek[DM_PATH_MAX * 2];
	memcpy(seek, r->path, len);
	MDB_val k = {len, seek}, v;
	int rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= len && memcmp(k.mv_data, r->path, len) == 0) {
		const char *rest = (const char *)k.mv_data + len;
		size_t rl = k.mv_size - len;
		const char *dot = memchr(rest, '.', rl);
		if (rl == 0) {
			rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT); /* the instance marker */
			continue;
		}
		if (!dot) {
			if ((rc = push_stored(r, rest, rl, v.mv_data, v.mv_size, false)))
				return rc;
			rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT);
			continue;
		}
		size_t sl = (size_t)(dot - rest);
		if ((rc = push_stored(r, rest, sl, NULL, 0, true)))
			return rc;
		memcpy(seek + len, rest, sl);
		seek[len + sl] = '/';
		k.mv_data = seek;
		k.mv_size = len + sl + 1;
		rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
	}
	return DM_OK;
}

static const stored_param *find_stored(const rctx *r, size_t from, const char *name, size_t nl)
{
	size_t lo = from, hi = r->sp_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const stored_param *s = &r->sp[mid];
		size_t m = s->name_len < nl ? s->name_len : nl;
		int c = memcmp(s->name, name, m);
		if (!c)
			c = s->name_len < nl ? -1 : (s->name_len > nl ? 1 : 0);
		if (!c)
			return s;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Has the sub-object child anything stored below it? (frame of its parent) */
static bool child_has_data(const rctx *r, size_t frame, bool empty, const char *name)
{
	if (empty)
		return false;
	const stored_param *s = find_stored(r, frame, name, strlen(name));
	return s && s->child;
}

static int walk_params(rctx *r, const dm_node *obj, size_t len, size_t frame, bool empty)
{
	int rc = DM_OK;
	for (const dm_node *c = obj->first_child; !rc && c; c = c->next_sibling) {
		if (c->kind == DM_NODE_COMMAND || c->kind == DM_NODE_EVENT) {
			unsigned want = c->kind == DM_NODE_COMMAND ? DM_RESOLVE_COMMANDS : DM_RESOLVE_EVENTS;
			size_t l = len;
			if ((r->flags & want) && !(rc = append(r, &l, c->name, strlen(c->name), false)))
				rc = emit(r, c, l, NULL, 0);
			continue;
		}
		if (c->kind != DM_NODE_PARAM || !(r->flags & DM_RESOLVE_PARAMS))
			continue;
		size_t nl = strlen(c->name), l = len;
		if ((rc = append(r, &l, c->name, nl, false)))
			break;
		const char *v;
		size_t vl;
		const dm_node *counted = c->u.param.counts_table;
		if (!c->u.param.hidden && !counted && !provider_of(r->t->d, c)) {
			/* the frame holds every stored value: absent means default */
			const stored_param *s = empty ? NULL : find_stored(r, frame, c->name, nl);
			if (s && s->child)
				s = NULL;
			v = s ? s->val : c->u.param.default_value;
			if (!v)
				v = dm_type_zero(c->u.param.facets.base);
			vl = s ? s->val_len : strlen(v);
		} else if (counted && !provider_of(r->t->d, c) &&
			   !child_has_data(r, frame, empty, counted->name)) {
			v = "0"; /* nothing stored under the table: no instances to count */
			vl = 1;
		} else if (resolve_param_value(r->t, c, r->path, l, r->vbuf, sizeof r->vbuf, &v, &vl)) {
			v = "";
			vl = 0;
		}
		rc = emit(r, c, l, v, vl);
	}
	r->path[len] = 0;
	return rc;
}

typedef struct inst_iter {
	rctx *r;
	const dm_node *table;
	size_t len;
	unsigned depth;
	uint16_t si; /* for step(); UINT16_MAX = walk */
	int rc;
} inst_iter;

static int match_search(rctx *r, const dm_seg *seg, size_t len);
static int resolve_run(dm_txn *t, dm_grammar g, const char *expr, unsigned flags, unsigned max_depth,
		       dm_item_cb cb, void *ctx, dm_errinfo *err, const dm_view *view, const view_alias *alias);

static int each_inst(void *ctx, uint32_t inst)
{
	inst_iter *it = ctx;
	rctx *r = it->r;
	char num[16];
	size_t l = it->len;
	int n = snprintf(num, sizeof num, "%u", inst);
	if ((it->rc = append(r, &l, num, (size_t)n, true)))
		return 1;
	if (it->si == UINT16_MAX) {
		it->rc = walk(r, it->table, l, it->depth, false);
	} else {
		const dm_seg *seg = &r->p->segs[it->si];
		int ok = 1;
		if (seg->kind == DM_SEG_SEARCH)
			ok = match_search(r, seg, l);
		if (ok < 0)
			it->rc = ok;
		else if (ok)
			it->rc = step(r, (uint16_t)(it->si + 1), it->table, l, false);
	}
	r->path[it->len] = 0;
	return it->rc != 0;
}

/* Is an alias served from the object r->path[0..len)? */
static bool alias_served_from(const rctx *r, size_t len)
{
	for (size_t i = 0; i < r->view->n_aliases; i++) {
		const view_alias *a = &r->view->aliases[i];
		if (!a->identity && a->slen == len && !memcmp(a->stored, r->path, len))
			return true;
	}
	return false;
}

/* Does the walk under a view enter the child object r->path[0..len)?
 * Subtrees that show nothing are passed by without a lookup. */
static bool view_enters(const rctx *r, size_t len)
{
	if (in_alias(r, r->path, len))
		return view_alias_covers(r->alias, r->path, len);
	return view_descend(r->view, r->path, len) || (!r->alias && alias_served_from(r, len));
}

/*
 * A single-instance object under a view: walked under its own name when
 * anything there shows natively, then once more for each alias served
 * from it, reporting the subtree under the alias's visible name. One pass
 * per name keeps each reported object's parameters together.
 */
static int walk_viewed(rctx *r, const dm_node *obj, size_t len, unsigned depth, bool empty)
{
	int rc = DM_OK;
	if (r->alias || view_descend(r->view, r->path, len))
		rc = walk(r, obj, len, depth, empty);
	if (r->alias)
		return rc;
	for (size_t i = 0; !rc && i < r->view->n_aliases; i++) {
		const view_alias *a = &r->view->aliases[i];
		if (a->identity || a->slen != len || memcmp(a->stored, r->path, len))
			continue;
		r->alias = a;
		rc = walk(r, obj, len, depth, empty);
		r->alias = NULL;
	}
	return rc;
}

static int walk_children(rctx *r, const dm_node *obj, size_t len, unsigned depth, size_t frame, bool empty)
{
	for (const dm_node *c = obj->first_child; c; c = c->next_sibling) {
		if (c->kind != DM_NODE_OBJECT)
			continue;
		bool has_data = child_has_data(r, frame, empty, c->name);
		size_t l = len;
		int rc = append(r, &l, c->name, strlen(c->name), true);
		if (!rc && r->view && !view_enters(r, l)) {
			r->path[len] = 0;
			continue;
		}
		if (!rc && c->u.obj.table) {
			if (r->flags & DM_RESOLVE_TABLES)
				rc = emit(r, c, l, NULL, 0);
			if (!rc && has_data) {
				inst_iter it = {r, c, l, depth, UINT16_MAX, 0};
				store_each_instance(r->t, r->path, l, each_inst, &it);
				rc = it.rc;
			}
		} else if (!rc) {
			rc = r->view ? walk_viewed(r, c, l, depth, !has_data) : walk(r, c, l, depth, !has_data);
		}
		r->path[len] = 0;
		if (rc)
			return rc;
	}
	return DM_OK;
}

/*
 * depth: object levels still allowed below (0 = unlimited). empty: nothing
 * is stored under this object (its parent's scan said so), so its values are
 * defaults and its tables have no instances: no lookup is needed.
 */
static int walk(rctx *r, const dm_node *obj, size_t len, unsigned depth, bool empty)
{
	int rc = DM_OK;
	if (r->flags & DM_RESOLVE_OBJECTS)
		rc = emit(r, obj, len, NULL, 0);
	size_t frame = r->sp_n;
	if (!rc && !empty)
		rc = collect_direct(r, len);
	if (!rc && (r->flags & (DM_RESOLVE_PARAMS | DM_RESOLVE_COMMANDS | DM_RESOLVE_EVENTS)))
		rc = walk_params(r, obj, len, frame, empty);
	if (!rc && depth != 1)
		rc = walk_children(r, obj, len, depth ? depth - 1 : 0, frame, empty);
	r->sp_n = frame;
	return rc;
}

/* ---- search expressions ---------------------------------------------------- */

typedef struct cond_eval {
	const dm_cond *cond;
	bool matched;
	int err;        /* the condition does not fit its parameter's type */
	char why[128];
} cond_eval;

static bool is_numeric_type(dm_type t)
{
	return t == DM_TYPE_INT || t == DM_TYPE_UNSIGNED_INT || t == DM_TYPE_LONG ||
	       t == DM_TYPE_UNSIGNED_LONG || t == DM_TYPE_DECIMAL;
}

static bool compare(dm_cmp_op op, int c)
{
	switch (op) {
	case DM_CMP_EQ: return c == 0;
	case DM_CMP_NE: return c != 0;
	case DM_CMP_LT: return c < 0;
	case DM_CMP_GT: return c > 0;
	case DM_CMP_LE: return c <= 0;
	case DM_CMP_GE: return c >= 0;
	case DM_CMP_CONTAINS: return false; /* handled by list_contains */
	}
	return false;
}

/* Numbers compare as numbers, booleans by meaning, everything else as the
 * canonical strings (which orders canonical UTC dateTimes correctly). */
static bool list_contains(const char *list, const char *item)
{
	size_t il = strlen(item);
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n == il && !memcmp(p, item, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static bool cond_holds(const dm_cond *c, const dm_node *param, const char *v)
{
	dm_type t = dm_node_type(param);
	if (c->op == DM_CMP_CONTAINS)
		return list_contains(v, c->value);
	if (is_numeric_type(t)) {
		char *e1, *e2;
		long double a = strtold(v, &e1), b = strtold(c->value, &e2);
		if (*e1 || *e2 || !*v || !*c->value)
			return c->op == DM_CMP_NE;
		return compare(c->op, a < b ? -1 : (a > b ? 1 : 0));
	}
	if (t == DM_TYPE_BOOLEAN) {
		bool a = !strcmp(v, "true") || !strcmp(v, "1");
		bool b = !strcmp(c->value, "true") || !strcmp(c->value, "1");
		if (c->op != DM_CMP_EQ && c->op != DM_CMP_NE)
			return false;
		return compare(c->op, a == b ? 0 : 1);
	}
	return compare(c->op, strcmp(v, c->value));
}

static bool literal_fits(dm_type t, const char *v)
{
	if (t == DM_TYPE_BOOLEAN)
		return !strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "1") || !strcmp(v, "0");
	if (is_numeric_type(t)) {
		char *end;
		strtold(v, &end);
		return *v && !*end;
	}
	return true;
}

/*
 * TR-369 "Searching with Expressions": the constant has the parameter's type
 * (strings, and types derived from string, in double quotes; the others
 * bare), strings, booleans and the Unknown Time compare with == and != only,
 * and ~= applies to lists. Anything else makes the search path invalid.
 */
static const char *cond_misfit(const dm_cond *c, const dm_node *param)
{
	dm_type t = dm_node_type(param);
	bool relational = c->op == DM_CMP_LT || c->op == DM_CMP_GT || c->op == DM_CMP_LE || c->op == DM_CMP_GE;
	if (c->op == DM_CMP_CONTAINS && !dm_node_is_list(param))
		return "~= applies to list parameters only";
	if ((t == DM_TYPE_STRING) != c->quoted)
		return t == DM_TYPE_STRING ? "a string constant must be quoted"
					   : "only string constants are quoted";
	if (relational && (t == DM_TYPE_STRING || t == DM_TYPE_BOOLEAN || t == DM_TYPE_BASE64 ||
			   t == DM_TYPE_HEXBINARY))
		return "only == and != compare values of this type";
	if (relational && t == DM_TYPE_DATETIME && !strcmp(c->value, "0001-01-01T00:00:00Z"))
		return "the Unknown Time compares with == and != only";
	if (!literal_fits(t, c->value))
		return "the constant is not of the parameter's type";
	return NULL;
}

static int cond_cb(void *ctx, const dm_item *it)
{
	cond_eval *ce = ctx;
	if (it->node->kind != DM_NODE_PARAM)
		return 0;
	const char *misfit = cond_misfit(ce->cond, it->node);
	if (misfit) {
		ce->err = DM_ERR_SYNTAX;
		snprintf(ce->why, sizeof ce->why, "%s%s%s: %s", ce->cond->rel_path,
			 dm_cmp_op_str(ce->cond->op), ce->cond->value, misfit);
		return 1;
	}
	if (cond_holds(ce->cond, it->node, it->value)) {
		ce->matched = true;
		return 1;
	}
	return 0;
}

/* Every condition must hold; a relative path that follows references or
 * names a sub-object is resolved like any path from the instance. */
/* 1 when every condition holds for the instance at r->path[0..len), 0 when
 * one does not, or a negative dm_err for a condition that can never be
 * evaluated (unknown parameter, constant of the wrong type). */
static int match_search(rctx *r, const dm_seg *seg, size_t len)
{
	for (uint16_t i = 0; i < seg->n_conds; i++) {
		const dm_cond *c = &seg->conds[i];
		char expr[DM_PATH_MAX * 2];
		int n = snprintf(expr, sizeof expr, "%.*s%s", (int)len, r->path, c->rel_path);
		if (n < 0 || (size_t)n >= sizeof expr)
			return dm_err_set(r->err, DM_ERR_TOO_DEEP, 0, r->path, "search path too long");
		if (r->ref_depth >= REF_DEPTH_MAX)
			return dm_err_set(r->err, DM_ERR_TOO_DEEP, 0, r->path, "search nested too deep");
		cond_eval ce = {c, false, 0, ""};
		dm_errinfo e = {0};
		r->ref_depth++;
		/* expr is in stored names already: no view */
		int rc = resolve_run(r->t, DM_GRAMMAR_USP, expr, DM_RESOLVE_PARAMS, 0, cond_cb, &ce, &e, NULL, NULL);
		r->ref_depth--;
		if (ce.err)
			return dm_err_set(r->err, ce.err, 0, r->path, "[%s]", ce.why);
		if (rc < 0 && rc != DM_ERR_NOT_INSTANTIATED)
			return dm_err_set(r->err, rc, 0, r->path, "search condition %s: %s", c->rel_path, e.msg);
		if (!ce.matched)
			return 0;
	}
	return 1;
}

/* ---- reference following -------------------------------------------------- */

static int follow_one(rctx *r, uint16_t si, const char *ref, size_t rl)
{
	while (rl && (ref[rl - 1] == ' '))
		rl--;
	while (rl && *ref == ' ') {
		ref++;
		rl--;
	}
	if (rl == 0)
		return DM_OK; /* an empty reference leads nowhere: no match */
	char target[DM_PATH_MAX];
	int n = snprintf(target, sizeof target, "%.*s%s", (int)rl, ref, ref[rl - 1] == '.' ? "" : ".");
	if (n < 0 || (size_t)n >= sizeof target)
		return DM_OK;
	dm_target tg;
	dm_errinfo e;
	if (resolve_concrete(r->t, DM_GRAMMAR_USP, target, false, &tg, &e) || tg.node->kind != DM_NODE_OBJECT)
		return DM_OK; /* dangling references resolve to nothing */
	char saved[DM_PATH_MAX * 2];
	memcpy(saved, r->path, sizeof saved);
	memcpy(r->path, tg.path, tg.len + 1);
	r->ref_depth++;
	int rc = step(r, (uint16_t)(si + 1), tg.node, tg.len, false);
	r->ref_depth--;
	memcpy(r->path, saved, sizeof saved);
	return rc;
}

static int follow(rctx *r, uint16_t si, const dm_node *param, size_t len)
{
	const dm_seg *seg = &r->p->segs[si];
	if (r->ref_depth >= REF_DEPTH_MAX)
		return dm_err_set(r->err, DM_ERR_TOO_DEEP, 0, r->path, "reference following too deep");
	const char *v;
	size_t vl;
	char buf[WALK_VALUE_BUF];
	if (resolve_param_value(r->t, param, r->path, len, buf, sizeof buf, &v, &vl))
		return DM_OK;
	char *list = strndup(v, vl);
	if (!list)
		return DM_ERR_NOMEM;
	int rc = DM_OK;
	if (seg->follow == DM_FOLLOW_SINGLE) {
		rc = follow_one(r, si, list, strlen(list));
	} else {
		uint32_t idx = 0;
		for (char *item = list, *next; item && !rc; item = next) {
			next = strchr(item, ',');
			if (next)
				*next++ = 0;
			idx++;
			if (seg->list_index == 0 || seg->list_index == idx)
				rc = follow_one(r, si, item, strlen(item));
		}
	}
	free(list);
	return rc;
}

/* ---- expression steps ------------------------------------------------------- */

static int finish(rctx *r, const dm_node *node, size_t len, bool want_inst)
{
	if (node->kind == DM_NODE_OBJECT && want_inst) {
		/* the path ends at a table: it stands for every instance */
		int rc = DM_OK;
		if (r->flags & DM_RESOLVE_TABLES)
			rc = emit(r, node, len, NULL, 0);
		if (rc || !(r->flags & (DM_RESOLVE_SUBTREE | DM_RESOLVE_OBJECTS)))
			return rc;
		unsigned depth = (r->flags & DM_RESOLVE_SUBTREE) ? r->max_depth : 1;
		unsigned saved = r->flags;
		if (!(saved & DM_RESOLVE_SUBTREE))
			r->flags &= ~(unsigned)(DM_RESOLVE_PARAMS | DM_RESOLVE_COMMANDS | DM_RESOLVE_EVENTS);
		inst_iter it = {r, node, len, depth, UINT16_MAX, 0};
		store_each_instance(r->t, r->path, len, each_inst, &it);
		r->flags = saved;
		return it.rc;
	}
	if (node->kind == DM_NODE_OBJECT) {
		if (r->flags & DM_RESOLVE_SUBTREE)
			return walk(r, node, len, r->max_depth, false);
		return (r->flags & DM_RESOLVE_OBJECTS) ? emit(r, node, len, NULL, 0) : DM_OK;
	}
	if (node->kind == DM_NODE_PARAM) {
		if (!(r->flags & DM_RESOLVE_PARAMS))
			return DM_OK;
		const char *v;
		size_t vl;
		if (resolve_param_value(r->t, node, r->path, len, r->vbuf, sizeof r->vbuf, &v, &vl))
			return dm_err_set(r->err, DM_ERR_PROVIDER, 0, r->path, "cannot read %s", r->path);
		return emit(r, node, len, v, vl);
	}
	unsigned want = node->kind == DM_NODE_COMMAND ? DM_RESOLVE_COMMANDS : DM_RESOLVE_EVENTS;
	return (r->flags & want) ? emit(r, node, len, NULL, 0) : DM_OK;
}

static int step_instance(rctx *r, uint16_t si, const dm_node *node, size_t len)
{
	const dm_seg *seg = &r->p->segs[si];
	if (seg->kind == DM_SEG_INSTANCE) {
		char num[16];
		size_t l = len;
		int n = snprintf(num, sizeof num, "%u", seg->inst);
		int rc = append(r, &l, num, (size_t)n, true);
		if (rc)
			return rc;
		if (!store_exists(r->t, r->path, l)) {
			r->path[len] = 0;
			if (r->p->has_pattern || r->ref_depth)
				return DM_OK;
			return dm_err_set(r->err, DM_ERR_NOT_INSTANTIATED, 0, r->path, "%.*s does not exist",
					  (int)l, r->path);
		}
		rc = step(r, (uint16_t)(si + 1), node, l, false);
		r->path[len] = 0;
		return rc;
	}
	if (seg->kind == DM_SEG_ALIAS) {
		dm_target tg;
		char probe[DM_PATH_MAX * 2];
		snprintf(probe, sizeof probe, "%.*s[%s].", (int)len, r->path, seg->alias);
		int rc = resolve_concrete(r->t, DM_GRAMMAR_CWMP, probe, false, &tg, r->err);
		if (rc)
			return rc;
		memcpy(r->path, tg.path, tg.len + 1);
		rc = step(r, (uint16_t)(si + 1), node, tg.len, false);
		r->path[len] = 0;
		return rc;
	}
	/* wildcard or search: every instance, filtered */
	inst_iter it = {r, node, len, 0, si, 0};
	store_each_instance(r->t, r->path, len, each_inst, &it);
	return it.rc;
}

static int step(rctx *r, uint16_t si, const dm_node *node, size_t len, bool want_inst)
{
	if (si == r->p->n_segs)
		return finish(r, node, len, want_inst);
	const dm_seg *seg = &r->p->segs[si];
	if (seg->kind == DM_SEG_INSTANCE || seg->kind == DM_SEG_WILDCARD || seg->kind == DM_SEG_SEARCH ||
	    seg->kind == DM_SEG_ALIAS) {
		if (!want_inst)
			return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path,
					  "%s is not a multi-instance object", node->path);
		return step_instance(r, si, node, len);
	}
	if (want_inst)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path,
				  "%s needs an instance number", node->path);
	if (node->kind != DM_NODE_OBJECT)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "%s has no children", node->path);
	char name[256];
	const char *suffix = seg->kind == DM_SEG_COMMAND ? "()" : seg->kind == DM_SEG_EVENT ? "!" : "";
	int nl = snprintf(name, sizeof name, "%s%s", seg->name, suffix);
	const dm_node *c = nl > 0 && (size_t)nl < sizeof name ? dm_node_child(node, name, (size_t)nl) : NULL;
	if (!c)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "%s%s is not supported", node->path,
				  name);
	size_t l = len;
	int rc;
	if (seg->follow != DM_FOLLOW_NONE) {
		if (c->kind != DM_NODE_PARAM)
			return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "%s is not a reference",
					  c->path);
		if ((rc = append(r, &l, c->name, strlen(c->name), false)))
			return rc;
		rc = follow(r, si, c, l);
		r->path[len] = 0;
		return rc;
	}
	bool obj = c->kind == DM_NODE_OBJECT;
	if (!obj && si + 1 < r->p->n_segs)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "%s has no children", c->path);
	if (obj && si + 1 == r->p->n_segs && !r->p->trailing_dot)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "object paths end in '.'");
	if (!obj && r->p->trailing_dot)
		return dm_err_set(r->err, DM_ERR_NOT_IN_SCHEMA, 0, r->path, "%s is not an object", c->path);
	if ((rc = append(r, &l, name, (size_t)nl, obj)))
		return rc;
	rc = step(r, (uint16_t)(si + 1), c, l, obj && c->u.obj.table);
	r->path[len] = 0;
	return rc;
}

/* Check every name against the schema before touching instances, so that a
 * misspelt path is an error even when a wildcard matches nothing. */
static int check_schema(const dm_schema *s, const dm_path *p, dm_errinfo *err, const char *expr)
{
	const dm_node *node = s->root;
	for (uint16_t i = 1; i < p->n_segs; i++) {
		const dm_seg *seg = &p->segs[i];
		if (seg->kind != DM_SEG_NAME && seg->kind != DM_SEG_COMMAND && seg->kind != DM_SEG_EVENT)
			continue;
		if (node->kind != DM_NODE_OBJECT)
			return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, expr, "%s has no children", node->path);
		char name[256];
		const char *suffix = seg->kind == DM_SEG_COMMAND ? "()" : seg->kind == DM_SEG_EVENT ? "!" : "";
		int nl = snprintf(name, sizeof name, "%s%s", seg->name, suffix);
		const dm_node *c = dm_node_child(node, name, (size_t)nl);
		if (!c)
			return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, expr, "%s%s is not supported",
					  node->path, name);
		if (seg->follow != DM_FOLLOW_NONE)
			return DM_OK; /* the target's type is known only from the value */
		node = c;
	}
	return DM_OK;
}

static int resolve_run(dm_txn *t, dm_grammar g, const char *expr, unsigned flags, unsigned max_depth,
		       dm_item_cb cb, void *ctx, dm_errinfo *err, const dm_view *view, const view_alias *alias)
{
	dm_path p;
	int rc = dm_path_parse(expr, g, &p, err);
	if (rc)
		return rc;
	if ((rc = check_schema(t->d->schema, &p, err, expr))) {
		dm_path_free(&p);
		return rc;
	}
	rctx *r = calloc(1, sizeof *r);
	if (!r) {
		dm_path_free(&p);
		return dm_err_set(err, DM_ERR_NOMEM, 0, expr, NULL);
	}
	r->t = t;
	r->p = &p;
	r->flags = flags;
	r->max_depth = max_depth;
	r->cb = cb;
	r->cb_ctx = ctx;
	r->err = err;
	r->view = view;
	r->alias = alias && !alias->identity ? alias : NULL;
	if (view && !(r->shown = malloc(DM_PATH_MAX * 2))) {
		rc = dm_err_set(err, DM_ERR_NOMEM, 0, expr, NULL);
	} else if ((rc = mdb_cursor_open(t->txn, t->d->dbi_tree, &r->cur))) {
		rc = store_lmdb_err(rc, err, "cursor");
	} else {
		size_t len = 0;
		rc = append(r, &len, "Device", 6, true);
		if (!rc)
			rc = step(r, 1, t->d->schema->root, len, false);
		mdb_cursor_close(r->cur);
	}
	free(r->shown);
	free(r->sp);
	free(r);
	dm_path_free(&p);
	return rc;
}

int dm_resolve(dm_txn *t, dm_grammar g, const char *expr, unsigned flags, unsigned max_depth,
	       dm_item_cb cb, void *ctx, dm_errinfo *err)
{
	if (!t->view)
		return resolve_run(t, g, expr, flags, max_depth, cb, ctx, err, NULL, NULL);
	view_req q;
	int rc = view_req_begin(t, expr, &q, err);
	if (!rc)
		rc = view_req_end(t, &q, resolve_run(t, g, q.path, flags, max_depth, cb, ctx, err, t->view, q.via),
				  err);
	return rc;
}
