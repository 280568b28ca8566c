/*
 * msg_delete.c - the Delete request: every obj_path (instance paths or
 * search paths) is resolved first, then the instances are deleted with
 * everything below them (TR-369 "The Delete Message"). allow_partial=true:
 * each instance is deleted on its own (R-DEL.0), failures are
 * unaffected_path_errs (R-DEL.3); false: one all-or-nothing transaction and
 * an Error on any failure (R-DEL.1). A valid path that matches nothing
 * succeeds with no affected_paths (R-DEL.2a). The commit is durable before
 * the response is built.
 */
#include "usp_int.h"

#include <stdio.h>
#include <string.h>

typedef struct del_req {
	usp_req_ctx *c;
	dm_txn *t;
	bool partial;
	Usp__Error *err;
} del_req;

typedef Usp__DeleteResp__DeletedObjectResult__OperationStatus del_status;
typedef Usp__DeleteResp__DeletedObjectResult__OperationStatus__OperationSuccess del_success;

/* One obj_path after resolution. */
typedef struct del_target {
	const char *requested;
	int rc;
	dm_errinfo e;
	usp_obj *objs;
	size_t n;
} del_target;

static bool is_instance_path(const char *path)
{
	size_t n = strlen(path);
	return n >= 2 && path[n - 2] >= '0' && path[n - 2] <= '9';
}

static void resolve_target(del_req *d, del_target *tg)
{
	tg->rc = usp_resolve_objects(d->c->mem, d->t, tg->requested, &tg->objs, &tg->n, &tg->e);
	if (tg->rc == DM_ERR_NOT_INSTANTIATED && d->partial) {
		tg->rc = DM_OK; /* R-DEL.2a; R-DEL.1 makes it an error only without allow_partial */
		tg->n = 0;
	}
	for (size_t i = 0; !tg->rc && i < tg->n; i++) {
		if (dm_node_is_table(tg->objs[i].node) && is_instance_path(tg->objs[i].path))
			continue;
		tg->rc = tg->e.code = DM_ERR_NOT_TABLE;
		tg->e.reason = DM_REASON_NONE;
		snprintf(tg->e.path, sizeof tg->e.path, "%s", tg->objs[i].path);
		snprintf(tg->e.msg, sizeof tg->e.msg, "%s is not an instance of a multi-instance object",
			 tg->objs[i].path);
	}
}

static del_status *new_result(del_req *d, Usp__DeleteResp *dr, const char *requested)
{
	usp_mem *m = d->c->mem;
	Usp__DeleteResp__DeletedObjectResult *r = usp_mem_new_msg(m, &usp__delete_resp__deleted_object_result__descriptor);
	del_status *st = usp_mem_new_msg(m, &usp__delete_resp__deleted_object_result__operation_status__descriptor);
	if (!r || !st || usp_mem_push(m, (void ***)&dr->deleted_obj_results, &dr->n_deleted_obj_results, r))
		return NULL;
	r->requested_path = (char *)requested;
	r->oper_status = st;
	return st;
}

/* A whole obj_path failed: its OperationFailure, or the Error. */
static int path_failed(del_req *d, del_status *st, const char *path, uint32_t code, const char *msg)
{
	usp_mem *m = d->c->mem;
	const char *text = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!text)
		return USP_ERR_RESOURCES_EXCEEDED;
	if (!d->partial) {
		d->err->err_msg = (char *)text;
		return usp_error_add_param(m, d->err, path, code, text) ? USP_ERR_RESOURCES_EXCEEDED : (int)code;
	}
	Usp__DeleteResp__DeletedObjectResult__OperationStatus__OperationFailure *of =
		usp_mem_new_msg(m, &usp__delete_resp__deleted_object_result__operation_status__operation_failure__descriptor);
	if (!of)
		return USP_ERR_RESOURCES_EXCEEDED;
	of->err_code = code;
	of->err_msg = (char *)text;
	st->oper_status_case = USP__DELETE_RESP__DELETED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
	st->oper_failure = of;
	return 0;
}

/* Delete one instance; 0 or a USP code in *code with the reason in e. */
static int delete_instance(del_req *d, const char *path, uint32_t *code, dm_errinfo *e)
{
	*code = 0;
	if (!usp_allowed(d->c->ctl, USP_PERM_INST_OBJ, path, USP_PERM_W)) {
		*code = USP_ERR_PERMISSION_DENIED;
		snprintf(e->msg, sizeof e->msg, "%s", usp_err_text(*code));
		return 0;
	}
	int rc;
	if (d->partial && (rc = dm_txn_group_begin(d->t))) {
		*code = usp_err_code(rc, USP_OP_DELETE);
		return 0;
	}
	rc = dm_delete(d->t, path, e);
	if (rc == DM_ERR_NOT_INSTANTIATED)
		rc = DM_OK; /* gone with an instance above it, earlier in this request */
	if (d->partial) {
		dm_errinfo ge = {0};
		int grc = dm_txn_group_end(d->t, rc == DM_OK, &ge);
		if (!rc && grc) {
			rc = grc;
			*e = ge;
		}
	}
	if (rc == DM_ERR_NOMEM)
		return rc;
	if (rc)
		*code = usp_err_code_ex(e, USP_OP_DELETE, false);
	return 0;
}

static int unaffected(del_req *d, del_success *ok, const char *path, uint32_t code, const char *msg)
{
	usp_mem *m = d->c->mem;
	/* R-DEL.4: instances the Controller may not read are not named */
	if (!usp_allowed(d->c->ctl, USP_PERM_INST_OBJ, path, USP_PERM_R))
		return 0;
	Usp__DeleteResp__UnaffectedPathError *u = usp_mem_new_msg(m, &usp__delete_resp__unaffected_path_error__descriptor);
	if (!u)
		return DM_ERR_NOMEM;
	u->unaffected_path = (char *)path;
	u->err_code = code;
	u->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!u->err_msg)
		return DM_ERR_NOMEM;
	return usp_mem_push(m, (void ***)&ok->unaffected_path_errs, &ok->n_unaffected_path_errs, u);
}

static int delete_target(del_req *d, const del_target *tg, del_status *st)
{
	usp_mem *m = d->c->mem;
	if (tg->rc)
		return path_failed(d, st, tg->requested, usp_err_code_ex(&tg->e, USP_OP_DELETE, false), tg->e.msg);
	del_success *ok =
		usp_mem_new_msg(m, &usp__delete_resp__deleted_object_result__operation_status__operation_success__descriptor);
	if (!ok)
		return USP_ERR_RESOURCES_EXCEEDED;
	st->oper_status_case = USP__DELETE_RESP__DELETED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
	st->oper_success = ok;
	for (size_t i = 0; i < tg->n; i++) {
		const char *path = tg->objs[i].path;
		uint32_t code;
		dm_errinfo e = {0};
		if (delete_instance(d, path, &code, &e))
			return USP_ERR_RESOURCES_EXCEEDED;
		if (code && !d->partial)
			return path_failed(d, st, path, code, e.msg);
		if (code) {
			if (unaffected(d, ok, path, code, e.msg))
				return USP_ERR_RESOURCES_EXCEEDED;
			continue;
		}
		/* R-DEL.2: only instances the Controller may read are listed */
		if (usp_allowed(d->c->ctl, USP_PERM_INST_OBJ, path, USP_PERM_R) &&
		    usp_mem_push(m, (void ***)&ok->affected_paths, &ok->n_affected_paths, (void *)path))
			return USP_ERR_RESOURCES_EXCEEDED;
	}
	return 0;
}

static int delete_all(del_req *d, const Usp__Delete *del, Usp__DeleteResp *dr)
{
	size_t n = del->n_obj_paths;
	del_target *tgs = usp_mem_alloc(d->c->mem, (n ? n : 1) * sizeof *tgs);
	if (!tgs)
		return USP_ERR_RESOURCES_EXCEEDED;
	/* resolve everything first, so that deleting a parent for one path
	 * does not turn a later path naming its child into an error */
	for (size_t i = 0; i < n; i++) {
		tgs[i].requested = del->obj_paths[i];
		resolve_target(d, &tgs[i]);
		if (tgs[i].rc == DM_ERR_NOMEM)
			return USP_ERR_RESOURCES_EXCEEDED;
	}
	for (size_t i = 0; i < n; i++) {
		del_status *st = new_result(d, dr, tgs[i].requested);
		if (!st)
			return USP_ERR_RESOURCES_EXCEEDED;
		int code = delete_target(d, &tgs[i], st);
		if (code)
			return code;
	}
	return 0;
}

int usp_handle_delete(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Delete *del = c->req->body->request->delete_;
	if (!del)
		return USP_ERR_INVALID_ARGUMENTS;
	Usp__DeleteResp *dr = usp_mem_new_msg(c->mem, &usp__delete_resp__descriptor);
	if (!dr)
		return USP_ERR_RESOURCES_EXCEEDED;
	dm_origin origin = {DM_ORIGIN_USP, c->ctl->endpoint_id};
	dm_txn *t;
	int rc = usp_req_txn_begin(c, DM_TXN_WRITE, &origin, &t);
	if (rc)
		return (int)usp_err_code(rc, USP_OP_DELETE);
	del_req d = {c, t, del->allow_partial, err};
	int code = delete_all(&d, del, dr);
	if (code) {
		dm_txn_abort(t);
		return code;
	}
	dm_errinfo e = {0};
	if ((rc = dm_txn_commit(t, NULL, &e))) {
		code = (int)usp_err_code_ex(&e, USP_OP_DELETE, false);
		err->err_msg = usp_mem_strdup(c->mem, e.msg);
		if (usp_error_add_param(c->mem, err, e.path, (uint32_t)code, e.msg))
			return USP_ERR_RESOURCES_EXCEEDED;
		return code;
	}
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_DELETE_RESP;
	resp->delete_resp = dr;
	return 0;
}
