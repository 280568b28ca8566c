/*
 * rpc_get.c - the data model reads of the ACS: GetParameterValues and
 * GetParameterNames. Each request reads one snapshot of the engine, and
 * every name and value lands in the reply's own storage: a whole-tree
 * answer costs no allocation per parameter.
 */
#include "rpc_int.h"
#include "alias.h"

#include <string.h>

/* The ParameterPath of the whole tree (A.3.2.3: "" stands for it). */
#define ROOT_PATH "Device."

static bool ends_with_dot(const char *path)
{
	size_t n = strlen(path);

	return n > 0 && path[n - 1] == '.';
}

/* Answer the engine error of a read: 9005 for names that denote nothing. */
static void read_fault(cwmp_reply *rep, int rc, dm_errinfo *err)
{
	if (!err->code)
		err->code = rc;
	cwmp_reply_fault(rep, cwmp_fault_from_dm(err, CWMP_CTX_READ), err->msg);
}

/* ---- GetParameterValues (A.3.2.2) ------------------------------------------ */

typedef struct gpv_walk {
	cwmp_reply *rep;
	cwmp_param_value *v;
	size_t n, cap;
} gpv_walk;

static int gpv_add(void *ctx, const dm_item *it)
{
	gpv_walk *w = ctx;

	if (dm_node_get_kind(it->node) != DM_NODE_PARAM)
		return 0;
	if (w->n == w->cap &&
	    cwmp_reply_reserve(w->rep, (void **)&w->v, &w->cap, w->n + 1, sizeof *w->v))
		return DM_ERR_NOMEM;
	/* name and value share one block of the reply's storage */
	size_t nl = strlen(it->path), vl = it->value ? it->value_len : 0;
	char *s = cwmp_reply_alloc(w->rep, nl + vl + 2);
	if (!s)
		return DM_ERR_NOMEM;
	memcpy(s, it->path, nl);
	if (vl)
		memcpy(s + nl + 1, it->value, vl);
	cwmp_param_value *pv = &w->v[w->n++];
	pv->name = s;
	pv->value = s + nl + 1;
	pv->type = cwmp_value_type_of(it->node);
	return 0;
}

void cwmp_rpc_get_parameter_values(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	if (!cwmp_rpc_proxy_gpv(a, req, rep))
		cwmp_rpc_gpv_local(a, req, rep);
}

void cwmp_rpc_gpv_local(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	gpv_walk w = {.rep = rep};
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	/* one snapshot for the whole request: the answer is consistent */
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_READ, NULL, &t))) {
		read_fault(rep, rc, &err);
		return;
	}
	for (size_t i = 0; i < req->u.names.n; i++) {
		const char *name = req->u.names.v[i];

		/* An empty name is not a valid one (A.3.2.2); we read it as
		 * the whole tree, as several ACSs expect, rather than fail. */
		if (!name || !*name)
			name = ROOT_PATH;
		/* CWMP names cannot reach commands or events: only parameters come back */
		rc = dm_resolve(t, DM_GRAMMAR_CWMP, name, DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, gpv_add, &w,
				&err);
		if (rc) {
			dm_txn_abort(t);
			read_fault(rep, rc, &err);
			return;
		}
	}
	dm_txn_abort(t);
	rep->msg.kind = CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE;
	rep->msg.u.values.v = w.v;
	rep->msg.u.values.n = w.n;
}

/* ---- GetParameterNames (A.3.2.3) ------------------------------------------- */

typedef struct gpn_walk {
	cwmp_reply *rep;
	cwmp_param_info *v;
	size_t n, cap;
	bool next_level;
	bool have_base;  /* the path's own item (first reported) has been seen */
	size_t base_len; /* its length: the prefix of every item below it */
} gpn_walk;

/* Writable as A.3.2.3 means it: a parameter the ACS may set, a table the
 * ACS may add to, an instance the ACS may delete. Single-instance objects
 * are never writable. */
bool cwmp_rpc_acs_may_write(const dm_node *n)
{
	switch (dm_node_get_kind(n)) {
	case DM_NODE_PARAM:
		/* write-once keys the CWMP variant has readWrite (Alias) */
		return dm_node_access(n) == DM_ACCESS_READ_WRITE ||
		       (dm_node_access(n) == DM_ACCESS_WRITE_ONCE_READ_ONLY && map_alias_acs_writable(dm_node_path(n)));
	case DM_NODE_OBJECT:
		return dm_node_is_table(n) && dm_node_access(n) == DM_ACCESS_READ_WRITE;
	default:
		return false;
	}
}

static int gpn_push(gpn_walk *w, const char *path, bool writable)
{
	if (w->n == w->cap &&
	    cwmp_reply_reserve(w->rep, (void **)&w->v, &w->cap, w->n + 1, sizeof *w->v))
		return DM_ERR_NOMEM;
	char *name = cwmp_reply_strndup(w->rep, path, strlen(path));
	if (!name)
		return DM_ERR_NOMEM;
	w->v[w->n].name = name;
	w->v[w->n].writable = writable;
	w->n++;
	return 0;
}

/* NextLevel=true keeps the items one level below the path: parameters and
 * objects whose name past the prefix holds no '.' but a final one. For a
 * table those are its instances; for an object its parameters, child
 * objects and child tables (whose instances are one level further). */
static bool one_level_below(const gpn_walk *w, const char *path)
{
	const char *rest = path + w->base_len;
	const char *dot = strchr(rest, '.');

	return *rest && (!dot || dot[1] == '\0');
}

static int gpn_add(void *ctx, const dm_item *it)
{
	gpn_walk *w = ctx;
	dm_node_kind k = dm_node_get_kind(it->node);

	if (k != DM_NODE_PARAM && k != DM_NODE_OBJECT)
		return 0;
	if (w->next_level) {
		if (!w->have_base) {
			w->have_base = true;
			w->base_len = strlen(it->path);
			return 0;
		}
		if (!one_level_below(w, it->path))
			return 0;
	}
	return gpn_push(w, it->path, cwmp_rpc_acs_may_write(it->node));
}

static void gpn_answer(cwmp_reply *rep, const gpn_walk *w)
{
	rep->msg.kind = CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE;
	rep->msg.u.infos.v = w->v;
	rep->msg.u.infos.n = w->n;
}

void cwmp_rpc_get_parameter_names(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	if (!cwmp_rpc_proxy_gpn(a, req, rep))
		cwmp_rpc_gpn_local(a, req, rep);
}

void cwmp_rpc_gpn_local(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *path = req->u.gpn.path;
	gpn_walk w = {.rep = rep, .next_level = req->u.gpn.next_level != 0};
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (!path || !*path) {
		/* the root's next level is the root object alone */
		if (w.next_level) {
			if (gpn_push(&w, ROOT_PATH, false))
				cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
			else
				gpn_answer(rep, &w);
			return;
		}
		path = ROOT_PATH;
	}
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_READ, NULL, &t))) {
		read_fault(rep, rc, &err);
		return;
	}
	/* Depth 2 reaches the path's children; deeper items are never needed
	 * for NextLevel=true, and one_level_below drops the rest. */
	unsigned flags = DM_RESOLVE_OBJECTS | DM_RESOLVE_TABLES | DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE;
	rc = dm_resolve(t, DM_GRAMMAR_CWMP, path, flags, w.next_level ? 2 : 0, gpn_add, &w, &err);
	dm_txn_abort(t);
	if (rc) {
		read_fault(rep, rc, &err);
		return;
	}
	if (!ends_with_dot(path) && w.next_level) {
		/* a parameter has no next level (A.3.2.3) */
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "NextLevel true needs an object path");
		return;
	}
	gpn_answer(rep, &w);
}
