/*
 * msg_set.c - the Set request: each UpdateObject's obj_path (possibly a
 * search path) resolved to objects in the write transaction, its
 * param_settings applied to every one of them, and the result reported as
 * TR-369 "Using Allow Partial and Required Parameters" lays out: a failed
 * required parameter fails the object, other failures are only reported.
 * allow_partial=false is one all-or-nothing transaction answered with an
 * Error on any object failure; allow_partial=true makes each UpdateObject a
 * group of its own (R-SET.0, and R-SET.2a: a search path succeeds or fails
 * as a whole). The commit is durable before the response is built.
 */
#include "usp_int.h"

#include <string.h>

typedef struct set_req {
	usp_req_ctx *c;
	dm_txn *t;
	bool partial;
	Usp__Error *err; /* allow_partial=false: the Error being prepared */
} set_req;

/* One parameter setting that failed on one object. */
typedef struct param_fail {
	const char *param; /* relative, as in the request */
	const char *path;  /* full */
	uint32_t code;
	const char *msg;
	bool required;
} param_fail;

/* What happened on one object. */
typedef struct obj_outcome {
	param_fail *fails;
	size_t n_fails;
	bool failed; /* a required parameter failed */
	const char **updated;
	size_t n_updated;
} obj_outcome;

static int apply_param(set_req *s, const char *inst, const Usp__Set__UpdateParamSetting *ps, param_fail *f)
{
	usp_mem *m = s->c->mem;
	char *full = usp_mem_printf(m, "%s%s", inst, ps->param);
	if (!full)
		return DM_ERR_NOMEM;
	f->param = ps->param;
	f->path = full;
	f->required = ps->required;
	f->code = 0;
	if (!usp_allowed(s->c->ctl, USP_PERM_PARAM, full, USP_PERM_W)) {
		f->code = USP_ERR_PERMISSION_DENIED;
		f->msg = usp_err_text(f->code);
		return 0;
	}
	dm_errinfo e = {0};
	int rc = dm_set(s->t, full, ps->value, &e);
	if (rc == DM_ERR_NOMEM)
		return rc;
	if (rc) {
		f->code = usp_err_code_ex(&e, USP_OP_SET, true);
		f->msg = usp_mem_strdup(m, e.msg[0] ? e.msg : usp_err_text(f->code));
		if (!f->msg)
			return DM_ERR_NOMEM;
	}
	return 0;
}

static int set_object_params(set_req *s, const char *inst, const Usp__Set__UpdateObject *uo, obj_outcome *out)
{
	usp_mem *m = s->c->mem;
	memset(out, 0, sizeof *out);
	size_t n = uo->n_param_settings;
	if (!n)
		return 0;
	out->fails = usp_mem_alloc(m, n * sizeof *out->fails);
	out->updated = usp_mem_alloc(m, n * sizeof *out->updated);
	if (!out->fails || !out->updated)
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		param_fail f;
		int rc = apply_param(s, inst, uo->param_settings[i], &f);
		if (rc)
			return rc;
		if (!f.code) {
			out->updated[out->n_updated++] = uo->param_settings[i]->param;
			continue;
		}
		out->fails[out->n_fails++] = f;
		if (f.required)
			out->failed = true;
	}
	return 0;
}

static Usp__SetResp__ParameterError *param_error(usp_mem *m, const param_fail *f)
{
	Usp__SetResp__ParameterError *pe = usp_mem_new_msg(m, &usp__set_resp__parameter_error__descriptor);
	if (pe) {
		pe->param = (char *)f->param;
		pe->err_code = f->code;
		pe->err_msg = (char *)f->msg;
	}
	return pe;
}

static int add_param_errors(usp_mem *m, const obj_outcome *o, Usp__SetResp__ParameterError ***arr, size_t *n)
{
	for (size_t i = 0; i < o->n_fails; i++) {
		Usp__SetResp__ParameterError *pe = param_error(m, &o->fails[i]);
		if (!pe || usp_mem_push(m, (void ***)arr, n, pe))
			return DM_ERR_NOMEM;
	}
	return 0;
}

/* The UpdatedInstanceResult of an object that was updated. */
static int instance_result(set_req *s, const char *inst, const obj_outcome *o,
			   Usp__SetResp__UpdatedInstanceResult **out)
{
	usp_mem *m = s->c->mem;
	Usp__SetResp__UpdatedInstanceResult *r = usp_mem_new_msg(m, &usp__set_resp__updated_instance_result__descriptor);
	if (!r)
		return DM_ERR_NOMEM;
	r->affected_path = (char *)inst;
	if (add_param_errors(m, o, &r->param_errs, &r->n_param_errs))
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < o->n_updated; i++) {
		char *full = usp_mem_printf(m, "%s%s", inst, o->updated[i]);
		if (!full)
			return DM_ERR_NOMEM;
		/* R-SET.3: values the Controller may not read are not returned */
		if (!usp_allowed(s->c->ctl, USP_PERM_PARAM, full, USP_PERM_R))
			continue;
		char *val;
		int rc = usp_read_value(m, s->c->d, s->t, full, &val);
		if (rc == DM_ERR_NOMEM)
			return rc;
		Usp__SetResp__UpdatedInstanceResult__UpdatedParamsEntry *e =
			usp_mem_new_msg(m, &usp__set_resp__updated_instance_result__updated_params_entry__descriptor);
		if (!e)
			return DM_ERR_NOMEM;
		e->key = (char *)o->updated[i];
		e->value = rc ? "" : val;
		if (usp_mem_push(m, (void ***)&r->updated_params, &r->n_updated_params, e))
			return DM_ERR_NOMEM;
	}
	*out = r;
	return 0;
}

static Usp__SetResp__UpdatedObjectResult__OperationStatus *
status_failure(usp_mem *m, uint32_t code, const char *msg, Usp__SetResp__UpdatedObjectResult__OperationStatus__OperationFailure **of)
{
	Usp__SetResp__UpdatedObjectResult__OperationStatus *st =
		usp_mem_new_msg(m, &usp__set_resp__updated_object_result__operation_status__descriptor);
	*of = usp_mem_new_msg(m, &usp__set_resp__updated_object_result__operation_status__operation_failure__descriptor);
	if (!st || !*of)
		return NULL;
	(*of)->err_code = code;
	(*of)->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!(*of)->err_msg)
		return NULL;
	st->oper_status_case = USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
	st->oper_failure = *of;
	return st;
}

/*
 * An UpdateObject that failed as a whole: its OperationFailure, or (without
 * allow_partial) the Error. failed_path is the object that failed, or the
 * obj_path itself when it resolved to nothing (instance false: then no
 * UpdatedInstanceFailure names it).
 */
static int object_failed(set_req *s, Usp__SetResp__UpdatedObjectResult *r, uint32_t code, const char *msg,
			 const char *failed_path, bool instance, const obj_outcome *o)
{
	usp_mem *m = s->c->mem;
	if (!s->partial) {
		s->err->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
		if (!o || !o->n_fails)
			return usp_error_add_param(m, s->err, failed_path, code, msg) ? USP_ERR_RESOURCES_EXCEEDED
										   : (int)code;
		for (size_t i = 0; i < o->n_fails; i++)
			if (usp_error_add_param(m, s->err, o->fails[i].path, o->fails[i].code, o->fails[i].msg))
				return USP_ERR_RESOURCES_EXCEEDED;
		return (int)code;
	}
	Usp__SetResp__UpdatedObjectResult__OperationStatus__OperationFailure *of;
	if (!(r->oper_status = status_failure(m, code, msg, &of)))
		return USP_ERR_RESOURCES_EXCEEDED;
	if (!instance)
		return 0;
	/* R-SET.2a: name the object that failed, with its parameter errors */
	Usp__SetResp__UpdatedInstanceFailure *f = usp_mem_new_msg(m, &usp__set_resp__updated_instance_failure__descriptor);
	if (!f || !(f->affected_path = usp_mem_strdup(m, failed_path)))
		return USP_ERR_RESOURCES_EXCEEDED;
	if (o && add_param_errors(m, o, &f->param_errs, &f->n_param_errs))
		return USP_ERR_RESOURCES_EXCEEDED;
	if (usp_mem_push(m, (void ***)&of->updated_inst_failures, &of->n_updated_inst_failures, f))
		return USP_ERR_RESOURCES_EXCEEDED;
	return 0;
}

/* Apply one UpdateObject to every object its path names. Returns 0 (the
 * outcome is in r), or a USP code for the Error message. */
static int set_objects(set_req *s, const Usp__Set__UpdateObject *uo, Usp__SetResp__UpdatedObjectResult *r,
		       const usp_obj *objs, size_t n)
{
	usp_mem *m = s->c->mem;
	Usp__SetResp__UpdatedObjectResult__OperationStatus__OperationSuccess *ok =
		usp_mem_new_msg(m, &usp__set_resp__updated_object_result__operation_status__operation_success__descriptor);
	if (!ok)
		return USP_ERR_RESOURCES_EXCEEDED;
	for (size_t i = 0; i < n; i++) {
		obj_outcome o;
		if (set_object_params(s, objs[i].path, uo, &o))
			return USP_ERR_RESOURCES_EXCEEDED;
		if (o.failed)
			return object_failed(s, r, USP_ERR_REQUIRED_PARAM_FAILED, NULL, objs[i].path, true, &o);
		Usp__SetResp__UpdatedInstanceResult *ir;
		if (instance_result(s, objs[i].path, &o, &ir) ||
		    usp_mem_push(m, (void ***)&ok->updated_inst_results, &ok->n_updated_inst_results, ir))
			return USP_ERR_RESOURCES_EXCEEDED;
	}
	Usp__SetResp__UpdatedObjectResult__OperationStatus *st =
		usp_mem_new_msg(m, &usp__set_resp__updated_object_result__operation_status__descriptor);
	if (!st)
		return USP_ERR_RESOURCES_EXCEEDED;
	st->oper_status_case = USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
	st->oper_success = ok;
	r->oper_status = st;
	return 0;
}

static int set_update_object(set_req *s, const Usp__Set__UpdateObject *uo, Usp__SetResp__UpdatedObjectResult *r)
{
	usp_mem *m = s->c->mem;
	usp_obj *objs;
	size_t n;
	dm_errinfo e = {0};
	int rc = usp_resolve_objects(m, s->t, uo->obj_path, &objs, &n, &e);
	if (rc == DM_ERR_NOMEM)
		return USP_ERR_RESOURCES_EXCEEDED;
	if (rc)
		return object_failed(s, r, usp_err_code_ex(&e, USP_OP_SET, false), e.msg, uo->obj_path, false,
				     NULL);
	if (s->partial && (rc = dm_txn_group_begin(s->t)))
		return (int)usp_err_code(rc, USP_OP_SET);
	int code = set_objects(s, uo, r, objs, n);
	if (!s->partial || code)
		return code;
	bool failed = r->oper_status->oper_status_case ==
		      USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
	rc = dm_txn_group_end(s->t, !failed, &e);
	if (!rc || failed)
		return 0;
	/* deferred checks (unique keys) or the store undid the group */
	const char *where = e.path[0] ? e.path : (n ? objs[0].path : uo->obj_path);
	return object_failed(s, r, usp_err_code_ex(&e, USP_OP_SET, false), e.msg, where, n > 0, NULL);
}

static int set_all(set_req *s, const Usp__Set *st, Usp__SetResp *sr)
{
	usp_mem *m = s->c->mem;
	for (size_t i = 0; i < st->n_update_objs; i++) {
		const Usp__Set__UpdateObject *uo = st->update_objs[i];
		Usp__SetResp__UpdatedObjectResult *r = usp_mem_new_msg(m, &usp__set_resp__updated_object_result__descriptor);
		if (!r || usp_mem_push(m, (void ***)&sr->updated_obj_results, &sr->n_updated_obj_results, r))
			return USP_ERR_RESOURCES_EXCEEDED;
		r->requested_path = uo->obj_path;
		int code = set_update_object(s, uo, r);
		if (code)
			return code;
	}
	return 0;
}

int usp_handle_set(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Set *st = c->req->body->request->set;
	if (!st)
		return USP_ERR_INVALID_ARGUMENTS;
	Usp__SetResp *sr = usp_mem_new_msg(c->mem, &usp__set_resp__descriptor);
	if (!sr)
		return USP_ERR_RESOURCES_EXCEEDED;
	dm_origin origin = {DM_ORIGIN_USP, c->ctl->endpoint_id};
	dm_txn *t;
	int rc = usp_req_txn_begin(c, DM_TXN_WRITE, &origin, &t);
	if (rc)
		return (int)usp_err_code(rc, USP_OP_SET);
	set_req s = {c, t, st->allow_partial, err};
	int code = set_all(&s, st, sr);
	if (code) {
		dm_txn_abort(t);
		return code;
	}
	dm_errinfo e = {0};
	if ((rc = dm_txn_commit(t, NULL, &e))) {
		/* allow_partial=false defers unique keys to here */
		code = (int)usp_err_code_ex(&e, USP_OP_SET, false);
		err->err_msg = usp_mem_strdup(c->mem, e.msg);
		if (usp_error_add_param(c->mem, err, e.path, (uint32_t)code, e.msg))
			return USP_ERR_RESOURCES_EXCEEDED;
		return code;
	}
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_SET_RESP;
	resp->set_resp = sr;
	return 0;
}
