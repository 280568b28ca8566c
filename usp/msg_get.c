/*
 * msg_get.c - the Get request: every requested path resolved on one read
 * snapshot (wildcards, search expressions, unique-key addressing and
 * reference following are the engine's), answered with one
 * RequestedPathResult per path and one ResolvedPathResult per object, whose
 * result_params are keyed relative to that object (TR-369 "The Get
 * Message", as clarified in USP 1.2). Permissions filter what is returned.
 */
#include "usp_int.h"

#include <string.h>

typedef struct get_walk {
	usp_req_ctx *c;
	Usp__GetResp__RequestedPathResult *rpr;
	Usp__GetResp__ResolvedPathResult *cur; /* the object params are added to */
	const char *denied_obj;                /* object whose params are skipped */
	bool denied;                           /* something was left out for permission */
	bool oom;
} get_walk;

static bool has_params(const dm_node *obj)
{
	for (const dm_node *c = dm_node_first_child(obj); c; c = dm_node_next_sibling(c))
		if (dm_node_get_kind(c) == DM_NODE_PARAM)
			return true;
	return false;
}

static Usp__GetResp__ResolvedPathResult *new_result(get_walk *w, const char *path, size_t len)
{
	usp_mem *m = w->c->mem;
	Usp__GetResp__ResolvedPathResult *r = usp_mem_new_msg(m, &usp__get_resp__resolved_path_result__descriptor);
	char *p = usp_mem_alloc(m, len + 1);
	if (!r || !p)
		return NULL;
	memcpy(p, path, len);
	r->resolved_path = p;
	if (usp_mem_push(m, (void ***)&w->rpr->resolved_path_results, &w->rpr->n_resolved_path_results, r))
		return NULL;
	return r;
}

static int on_object(get_walk *w, const dm_item *it)
{
	w->cur = NULL;
	w->denied_obj = NULL;
	/* R-GET.1: an object the Controller may not read is not there */
	if (!usp_allowed(w->c->ctl, USP_PERM_OBJ, it->path, USP_PERM_R)) {
		w->denied = true;
		w->denied_obj = usp_mem_strdup(w->c->mem, it->path);
		return w->denied_obj ? 0 : DM_ERR_NOMEM;
	}
	/* R-GET.1b: an object without parameters has no result of its own;
	 * one whose parameters are all unreadable keeps an empty one (R-GET.4) */
	if (!has_params(it->node))
		return 0;
	w->cur = new_result(w, it->path, strlen(it->path));
	return w->cur ? 0 : DM_ERR_NOMEM;
}

static int on_param(get_walk *w, const dm_item *it)
{
	const char *dot = strrchr(it->path, '.');
	size_t plen = dot ? (size_t)(dot - it->path) + 1 : 0;
	if (w->denied_obj && strlen(w->denied_obj) == plen && !strncmp(w->denied_obj, it->path, plen))
		return 0;
	if (!usp_allowed(w->c->ctl, USP_PERM_PARAM, it->path, USP_PERM_R)) {
		w->denied = true; /* R-GET.4 */
		return 0;
	}
	/* R-GET.2: a parameter's resolved_path is its parent object */
	if (!w->cur || strlen(w->cur->resolved_path) != plen || strncmp(w->cur->resolved_path, it->path, plen)) {
		if (!(w->cur = new_result(w, it->path, plen)))
			return DM_ERR_NOMEM;
	}
	usp_mem *m = w->c->mem;
	Usp__GetResp__ResolvedPathResult__ResultParamsEntry *e =
		usp_mem_new_msg(m, &usp__get_resp__resolved_path_result__result_params_entry__descriptor);
	if (!e || !(e->key = usp_mem_strdup(m, it->path + plen)) ||
	    !(e->value = usp_mem_strdup(m, it->value ? it->value : "")))
		return DM_ERR_NOMEM;
	return usp_mem_push(m, (void ***)&w->cur->result_params, &w->cur->n_result_params, e);
}

static int get_item(void *ctx, const dm_item *it)
{
	get_walk *w = ctx;
	int rc = 0;
	if (dm_node_get_kind(it->node) == DM_NODE_OBJECT)
		rc = on_object(w, it);
	else if (dm_node_get_kind(it->node) == DM_NODE_PARAM)
		rc = on_param(w, it);
	if (rc)
		w->oom = true;
	return rc;
}

static void path_error(usp_mem *m, Usp__GetResp__RequestedPathResult *rpr, uint32_t code, const char *msg)
{
	rpr->n_resolved_path_results = 0;
	rpr->resolved_path_results = NULL;
	rpr->err_code = code;
	rpr->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!rpr->err_msg)
		rpr->err_msg = (char *)usp_err_text(code);
}

static int get_path(usp_req_ctx *c, dm_txn *t, const char *path, unsigned max_depth,
		    Usp__GetResp__RequestedPathResult *rpr)
{
	size_t len = strlen(path);
	if (len && (path[len - 1] == ')' || path[len - 1] == '!')) {
		/* commands and events have no value to Get (R-GET.0) */
		path_error(c->mem, rpr, USP_ERR_INVALID_PATH, "a command or event has no value to get");
		return 0;
	}
	get_walk w = {.c = c, .rpr = rpr};
	dm_errinfo e = {0};
	int rc = dm_resolve(t, DM_GRAMMAR_USP, path, DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE,
			    max_depth, get_item, &w, &e);
	if (w.oom)
		return USP_ERR_RESOURCES_EXCEEDED;
	if (rc) {
		path_error(c->mem, rpr, usp_err_code_ex(&e, USP_OP_GET, false), e.msg);
		return 0;
	}
	/* R-GET.1: what the Controller may not read is not in the supported
	 * model for it, so a path (search or not) that reached only such
	 * elements is an invalid path (R-GET.0). */
	if (w.denied && rpr->n_resolved_path_results == 0)
		path_error(c->mem, rpr, USP_ERR_INVALID_PATH, NULL);
	return 0;
}

int usp_handle_get(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Get *g = c->req->body->request->get;
	if (!g)
		return USP_ERR_INVALID_ARGUMENTS;
	Usp__GetResp *gr = usp_mem_new_msg(c->mem, &usp__get_resp__descriptor);
	if (!gr)
		return USP_ERR_RESOURCES_EXCEEDED;
	dm_txn *t;
	int rc = usp_req_txn_begin(c, DM_TXN_READ, NULL, &t);
	if (rc)
		return (int)usp_err_code(rc, USP_OP_GET);
	if (usp_role_secured(c->ctl->role))
		dm_txn_reveal_secrets(t); /* C13: the ACS never, a SecuredRoles holder yes */
	for (size_t i = 0; i < g->n_param_paths && !rc; i++) {
		Usp__GetResp__RequestedPathResult *rpr =
			usp_mem_new_msg(c->mem, &usp__get_resp__requested_path_result__descriptor);
		if (!rpr || usp_mem_push(c->mem, (void ***)&gr->req_path_results, &gr->n_req_path_results, rpr)) {
			rc = USP_ERR_RESOURCES_EXCEEDED;
			break;
		}
		rpr->requested_path = g->param_paths[i];
		rc = get_path(c, t, g->param_paths[i], g->max_depth, rpr);
	}
	dm_txn_abort(t);
	if (rc)
		return rc;
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_GET_RESP;
	resp->get_resp = gr;
	return 0;
}
