/*
 * msg_instances.c - the GetInstances request: the instances of the tables
 * each path names (and, unless first_level_only, of every table below them)
 * with their unique keys, read from one snapshot (TR-369 "The GetInstances
 * Message"). Paths may be search paths; one RequestedPathResult per path.
 */
#include "usp_int.h"

#include <string.h>

typedef struct inst_walk {
	usp_req_ctx *c;
	dm_txn *t;
	Usp__GetInstancesResp__RequestedPathResult *rpr;
	const char *skip;   /* the root instance, already reported */
	bool not_table;     /* the path named an object that is no table instance */
	int rc;
} inst_walk;

static bool is_instance_path(const char *path)
{
	size_t n = strlen(path);
	return n >= 2 && path[n - 2] >= '0' && path[n - 2] <= '9';
}

static int add_instance(inst_walk *w, const char *path, const dm_node *table)
{
	usp_req_ctx *c = w->c;
	/* R-GIN.0: instances the Controller may not read are not there */
	if (!usp_allowed(c->ctl, USP_PERM_INST_OBJ, path, USP_PERM_R))
		return 0;
	Usp__GetInstancesResp__CurrInstance *ci =
		usp_mem_new_msg(c->mem, &usp__get_instances_resp__curr_instance__descriptor);
	if (!ci || !(ci->instantiated_obj_path = usp_mem_strdup(c->mem, path)))
		return DM_ERR_NOMEM;
	usp_kv *kv;
	size_t n;
	int rc = usp_unique_keys(c, w->t, path, table, &kv, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		Usp__GetInstancesResp__CurrInstance__UniqueKeysEntry *e =
			usp_mem_new_msg(c->mem, &usp__get_instances_resp__curr_instance__unique_keys_entry__descriptor);
		if (!e)
			return DM_ERR_NOMEM;
		e->key = (char *)kv[i].key;
		e->value = (char *)kv[i].value;
		rc = usp_mem_push(c->mem, (void ***)&ci->unique_keys, &ci->n_unique_keys, e);
	}
	if (rc)
		return rc;
	return usp_mem_push(c->mem, (void ***)&w->rpr->curr_insts, &w->rpr->n_curr_insts, ci);
}

/* Sub-table instances below a root (first_level_only false). */
static int below_item(void *ctx, const dm_item *it)
{
	inst_walk *w = ctx;
	if (!dm_node_is_table(it->node) || !is_instance_path(it->path) || !strcmp(it->path, w->skip))
		return 0;
	return (w->rc = add_instance(w, it->path, it->node)) != 0;
}

static int root_item(void *ctx, const dm_item *it)
{
	inst_walk *w = ctx;
	if (!dm_node_is_table(it->node)) {
		w->not_table = true;
		return 1;
	}
	if (!is_instance_path(it->path))
		return 0; /* the table itself: its instances follow */
	w->rc = add_instance(w, it->path, it->node);
	return w->rc != 0;
}

static void path_error(usp_mem *m, Usp__GetInstancesResp__RequestedPathResult *rpr, uint32_t code,
		       const char *msg)
{
	rpr->n_curr_insts = 0;
	rpr->curr_insts = NULL;
	rpr->err_code = code;
	rpr->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!rpr->err_msg)
		rpr->err_msg = (char *)usp_err_text(code);
}

/* Every instance below each reported root, interleaved as TR-369's example
 * lists them: a root, then its sub-instances, then the next root. */
static int expand(inst_walk *w)
{
	size_t nroots = w->rpr->n_curr_insts;
	Usp__GetInstancesResp__CurrInstance **roots = w->rpr->curr_insts;
	w->rpr->curr_insts = NULL;
	w->rpr->n_curr_insts = 0;
	for (size_t i = 0; i < nroots; i++) {
		if (usp_mem_push(w->c->mem, (void ***)&w->rpr->curr_insts, &w->rpr->n_curr_insts, roots[i]))
			return DM_ERR_NOMEM;
		w->skip = roots[i]->instantiated_obj_path;
		dm_errinfo e;
		int rc = dm_resolve(w->t, DM_GRAMMAR_USP, w->skip, DM_RESOLVE_OBJECTS | DM_RESOLVE_SUBTREE, 0,
				    below_item, w, &e);
		if (w->rc)
			return w->rc;
		if (rc)
			return rc;
	}
	return 0;
}

static int instances_path(usp_req_ctx *c, dm_txn *t, const char *path, bool first_level_only,
			  Usp__GetInstancesResp__RequestedPathResult *rpr)
{
	inst_walk w = {.c = c, .t = t, .rpr = rpr};
	dm_errinfo e = {0};
	int rc = dm_resolve(t, DM_GRAMMAR_USP, path, DM_RESOLVE_OBJECTS | DM_RESOLVE_TABLES, 0, root_item, &w, &e);
	if (w.rc == DM_ERR_NOMEM)
		return USP_ERR_RESOURCES_EXCEEDED;
	size_t len = strlen(path);
	if (w.not_table || (!rc && !w.rc && (!len || path[len - 1] != '.')))
		path_error(c->mem, rpr, usp_err_code(DM_ERR_NOT_TABLE, USP_OP_GET_INSTANCES),
			   "the path names no multi-instance object");
	else if (rc || w.rc)
		path_error(c->mem, rpr, usp_err_code_ex(&e, USP_OP_GET_INSTANCES, false), e.msg);
	else if (!first_level_only && (rc = expand(&w)))
		return rc == DM_ERR_NOMEM ? USP_ERR_RESOURCES_EXCEEDED : (int)usp_err_code(rc, USP_OP_GET_INSTANCES);
	return 0;
}

int usp_handle_get_instances(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__GetInstances *g = c->req->body->request->get_instances;
	if (!g)
		return USP_ERR_INVALID_ARGUMENTS;
	Usp__GetInstancesResp *gr = usp_mem_new_msg(c->mem, &usp__get_instances_resp__descriptor);
	if (!gr)
		return USP_ERR_RESOURCES_EXCEEDED;
	dm_txn *t;
	int rc = usp_req_txn_begin(c, DM_TXN_READ, NULL, &t);
	if (rc)
		return (int)usp_err_code(rc, USP_OP_GET_INSTANCES);
	for (size_t i = 0; i < g->n_obj_paths && !rc; i++) {
		Usp__GetInstancesResp__RequestedPathResult *rpr =
			usp_mem_new_msg(c->mem, &usp__get_instances_resp__requested_path_result__descriptor);
		if (!rpr || usp_mem_push(c->mem, (void ***)&gr->req_path_results, &gr->n_req_path_results, rpr)) {
			rc = USP_ERR_RESOURCES_EXCEEDED;
			break;
		}
		rpr->requested_path = g->obj_paths[i];
		rc = instances_path(c, t, g->obj_paths[i], g->first_level_only, rpr);
	}
	dm_txn_abort(t);
	if (rc)
		return rc;
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_GET_INSTANCES_RESP;
	resp->get_instances_resp = gr;
	return 0;
}
