/*
 * msg_add.c - the Add request: each CreateObject's obj_path names a table
 * (its parent part may be a search path, so one CreateObject may create in
 * several tables: one CreatedObjectResult each, TR-369 note to R-ADD.2). The
 * instance is created with its param_settings in the same group; an Alias
 * setting becomes the instance's alias at creation. Unique-key parameters
 * count as required (TR-369 "CreateParamSetting Fields"). allow_partial=true
 * makes each created object a group (R-ADD.0); false makes the request one
 * all-or-nothing transaction answered with an Error on any failure (R-ADD.1,
 * R-ADD.2a). The commit is durable before the response is built.
 */
#include "usp_int.h"

#include <stdio.h>
#include <string.h>

typedef struct add_req {
	usp_req_ctx *c;
	dm_txn *t;
	bool partial;
	Usp__Error *err;
} add_req;

typedef Usp__AddResp__CreatedObjectResult__OperationStatus add_status;
typedef Usp__AddResp__CreatedObjectResult__OperationStatus__OperationSuccess add_success;

/* The tables an Add obj_path names, as usp_obj with the table path. */
typedef struct table_collect {
	usp_mem *m;
	usp_obj *v;
	size_t n, cap;
	bool oom;
} table_collect;

static int collect_table(void *ctx, const dm_item *it)
{
	table_collect *tc = ctx;
	if (tc->n == tc->cap) {
		size_t cap = tc->cap ? tc->cap * 2 : 4;
		usp_obj *nv = usp_mem_alloc(tc->m, cap * sizeof *nv);
		if (!nv) {
			tc->oom = true;
			return 1;
		}
		if (tc->n)
			memcpy(nv, tc->v, tc->n * sizeof *nv);
		tc->v = nv;
		tc->cap = cap;
	}
	if (!(tc->v[tc->n].path = usp_mem_strdup(tc->m, it->path))) {
		tc->oom = true;
		return 1;
	}
	tc->v[tc->n++].node = it->node;
	return 0;
}

static int any_object(void *ctx, const dm_item *it)
{
	*(bool *)ctx = true;
	return 1;
}

static int find_tables(add_req *a, const char *expr, usp_obj **out, size_t *n, dm_errinfo *e)
{
	table_collect tc = {.m = a->c->mem};
	int rc = dm_resolve(a->t, DM_GRAMMAR_USP, expr, DM_RESOLVE_TABLES, 0, collect_table, &tc, e);
	if (tc.oom)
		return DM_ERR_NOMEM;
	if (rc)
		return rc;
	size_t len = strlen(expr);
	bool object = false;
	if (!tc.n && len && expr[len - 1] == '.')
		dm_resolve(a->t, DM_GRAMMAR_USP, expr, DM_RESOLVE_OBJECTS, 0, any_object, &object, e);
	if (!len || expr[len - 1] != '.' || object) {
		/* a parameter, a single-instance object or an instance */
		e->code = DM_ERR_NOT_TABLE;
		e->reason = DM_REASON_NONE;
		snprintf(e->path, sizeof e->path, "%s", expr);
		snprintf(e->msg, sizeof e->msg, "%s is not a multi-instance object", expr);
		return DM_ERR_NOT_TABLE;
	}
	*out = tc.v;
	*n = tc.n;
	return DM_OK;
}

/* One parameter setting that failed on the new object. */
typedef struct param_fail {
	const char *param;
	const char *path;
	uint32_t code;
	const char *msg;
	bool required;
} param_fail;

typedef struct create_outcome {
	const char *inst;  /* "Device.X.N." once created */
	param_fail *fails;
	size_t n_fails;
	bool failed;       /* a required parameter failed */
	uint32_t code;     /* object-level failure (0 = none) */
	const char *msg;
} create_outcome;

static int note_fail(add_req *a, create_outcome *o, const char *param, const char *path, uint32_t code,
		     const char *msg, bool required)
{
	param_fail *f = &o->fails[o->n_fails++];
	f->param = param;
	f->path = path;
	f->code = code;
	f->msg = usp_mem_strdup(a->c->mem, msg && *msg ? msg : usp_err_text(code));
	f->required = required;
	if (required)
		o->failed = true;
	return f->msg ? 0 : DM_ERR_NOMEM;
}

static bool has_alias(const dm_node *table)
{
	for (const dm_node *c = dm_node_first_child(table); c; c = dm_node_next_sibling(c))
		if (dm_node_get_kind(c) == DM_NODE_PARAM && !strcmp(dm_node_name(c), "Alias"))
			return true;
	return false;
}

/* The Alias setting that dm_add takes, if the table has an Alias. */
static const Usp__Add__CreateParamSetting *alias_setting(const Usp__Add__CreateObject *co, const dm_node *table)
{
	const Usp__Add__CreateParamSetting *found = NULL;
	if (!has_alias(table))
		return NULL;
	for (size_t i = 0; i < co->n_param_settings; i++)
		if (!strcmp(co->param_settings[i]->param, "Alias"))
			found = co->param_settings[i]; /* the last one wins, as a later Set would */
	return found;
}

static int set_params(add_req *a, const usp_obj *tbl, const Usp__Add__CreateObject *co,
		      const Usp__Add__CreateParamSetting *alias, create_outcome *o)
{
	usp_mem *m = a->c->mem;
	for (size_t i = 0; i < co->n_param_settings; i++) {
		const Usp__Add__CreateParamSetting *ps = co->param_settings[i];
		if (alias && !strcmp(ps->param, "Alias"))
			continue; /* applied by dm_add */
		bool required = ps->required || usp_is_unique_key_param(tbl->node, ps->param);
		char *full = usp_mem_printf(m, "%s%s", o->inst, ps->param);
		if (!full)
			return DM_ERR_NOMEM;
		int rc = 0;
		if (!usp_allowed(a->c->ctl, USP_PERM_PARAM, full, USP_PERM_W)) {
			rc = note_fail(a, o, ps->param, full, USP_ERR_PERMISSION_DENIED, NULL, required);
		} else {
			dm_errinfo e = {0};
			int drc = dm_set(a->t, full, ps->value, &e);
			if (drc == DM_ERR_NOMEM)
				return drc;
			if (drc)
				rc = note_fail(a, o, ps->param, full, usp_err_code_ex(&e, USP_OP_ADD, true), e.msg,
					       required);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Create one instance in one table with its settings; failures land in o. */
static int create_in(add_req *a, const usp_obj *tbl, const Usp__Add__CreateObject *co, create_outcome *o)
{
	usp_mem *m = a->c->mem;
	memset(o, 0, sizeof *o);
	if (!(o->fails = usp_mem_alloc(m, (co->n_param_settings + 1) * sizeof *o->fails)))
		return DM_ERR_NOMEM;
	if (!usp_allowed(a->c->ctl, USP_PERM_OBJ, tbl->path, USP_PERM_W)) {
		o->code = USP_ERR_PERMISSION_DENIED;
		return 0;
	}
	const Usp__Add__CreateParamSetting *alias = alias_setting(co, tbl->node);
	dm_errinfo e = {0};
	uint32_t inst;
	int rc = dm_add(a->t, tbl->path, alias ? alias->value : NULL, &inst, &e);
	if (rc == DM_ERR_NOMEM)
		return rc;
	if (rc == DM_ERR_INVALID_VALUE && alias) {
		char *ap = usp_mem_printf(m, "%sAlias", tbl->path);
		return ap ? note_fail(a, o, "Alias", ap, usp_err_code_ex(&e, USP_OP_ADD, true), e.msg, true)
			  : DM_ERR_NOMEM;
	}
	if (rc) {
		o->code = usp_err_code_ex(&e, USP_OP_ADD, false);
		o->msg = usp_mem_strdup(m, e.msg);
		return 0;
	}
	if (!(o->inst = usp_mem_printf(m, "%s%u.", tbl->path, inst)))
		return DM_ERR_NOMEM;
	if (alias) {
		char *ap = usp_mem_printf(m, "%sAlias", o->inst);
		if (!ap)
			return DM_ERR_NOMEM;
		if (!usp_allowed(a->c->ctl, USP_PERM_PARAM, ap, USP_PERM_W) &&
		    (rc = note_fail(a, o, "Alias", ap, USP_ERR_PERMISSION_DENIED, NULL, true)))
			return rc;
	}
	return set_params(a, tbl, co, alias, o);
}

static int success_status(add_req *a, const usp_obj *tbl, const create_outcome *o, add_status *st)
{
	usp_mem *m = a->c->mem;
	add_success *ok =
		usp_mem_new_msg(m, &usp__add_resp__created_object_result__operation_status__operation_success__descriptor);
	if (!ok)
		return DM_ERR_NOMEM;
	st->oper_status_case = USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
	st->oper_success = ok;
	if (!o)
		return 0; /* R-MSG.4a: a search path that matched no table */
	ok->instantiated_path = (char *)o->inst;
	for (size_t i = 0; i < o->n_fails; i++) {
		/* R-ADD.4: every setting that failed */
		Usp__AddResp__ParameterError *pe = usp_mem_new_msg(m, &usp__add_resp__parameter_error__descriptor);
		if (!pe || usp_mem_push(m, (void ***)&ok->param_errs, &ok->n_param_errs, pe))
			return DM_ERR_NOMEM;
		pe->param = (char *)o->fails[i].param;
		pe->err_code = o->fails[i].code;
		pe->err_msg = (char *)o->fails[i].msg;
	}
	usp_kv *kv;
	size_t n;
	int rc = usp_unique_keys(a->c, a->t, o->inst, tbl->node, &kv, &n); /* R-ADD.5, R-ADD.6 */
	for (size_t i = 0; !rc && i < n; i++) {
		Usp__AddResp__CreatedObjectResult__OperationStatus__OperationSuccess__UniqueKeysEntry *e = usp_mem_new_msg(
			m, &usp__add_resp__created_object_result__operation_status__operation_success__unique_keys_entry__descriptor);
		if (!e)
			return DM_ERR_NOMEM;
		e->key = (char *)kv[i].key;
		e->value = (char *)kv[i].value;
		rc = usp_mem_push(m, (void ***)&ok->unique_keys, &ok->n_unique_keys, e);
	}
	return rc;
}

/*
 * A created object that failed: its OperationFailure, or the Error. An
 * OperationFailure has no place for parameter errors, so a failed required
 * parameter is named in err_msg with its own code.
 */
static int object_failed(add_req *a, const char *path, const create_outcome *o, add_status *st)
{
	usp_mem *m = a->c->mem;
	uint32_t code = o->code ? o->code : USP_ERR_REQUIRED_PARAM_FAILED;
	const char *msg = o->code ? o->msg : NULL;
	if (!o->code) {
		for (size_t i = 0; i < o->n_fails && !msg; i++)
			if (o->fails[i].required)
				msg = usp_mem_printf(m, "required parameter %s failed (%u): %s", o->fails[i].param,
						     o->fails[i].code, o->fails[i].msg);
		if (!msg)
			return USP_ERR_RESOURCES_EXCEEDED;
	}
	if (!msg || !*msg)
		msg = usp_err_text(code);
	if (!a->partial) {
		a->err->err_msg = (char *)msg;
		if (o->code)
			return usp_error_add_param(m, a->err, path, code, msg) ? USP_ERR_RESOURCES_EXCEEDED : (int)code;
		for (size_t i = 0; i < o->n_fails; i++)
			if (usp_error_add_param(m, a->err, o->fails[i].path, o->fails[i].code, o->fails[i].msg))
				return USP_ERR_RESOURCES_EXCEEDED;
		return (int)code;
	}
	Usp__AddResp__CreatedObjectResult__OperationStatus__OperationFailure *of =
		usp_mem_new_msg(m, &usp__add_resp__created_object_result__operation_status__operation_failure__descriptor);
	if (!of)
		return USP_ERR_RESOURCES_EXCEEDED;
	of->err_code = code;
	of->err_msg = (char *)msg;
	st->oper_status_case = USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
	st->oper_failure = of;
	return 0;
}

static int new_result(add_req *a, Usp__AddResp *ar, const char *requested, add_status **st)
{
	usp_mem *m = a->c->mem;
	Usp__AddResp__CreatedObjectResult *r = usp_mem_new_msg(m, &usp__add_resp__created_object_result__descriptor);
	*st = usp_mem_new_msg(m, &usp__add_resp__created_object_result__operation_status__descriptor);
	if (!r || !*st || usp_mem_push(m, (void ***)&ar->created_obj_results, &ar->n_created_obj_results, r))
		return DM_ERR_NOMEM;
	r->requested_path = (char *)requested;
	r->oper_status = *st;
	return 0;
}

/* One object in one table. Returns 0 or a USP code for the Error. */
static int add_one(add_req *a, const usp_obj *tbl, const Usp__Add__CreateObject *co, add_status *st)
{
	int rc;
	if (a->partial && (rc = dm_txn_group_begin(a->t)))
		return (int)usp_err_code(rc, USP_OP_ADD);
	create_outcome o;
	if (create_in(a, tbl, co, &o))
		return USP_ERR_RESOURCES_EXCEEDED;
	bool failed = o.code || o.failed;
	if (a->partial) {
		dm_errinfo e = {0};
		rc = dm_txn_group_end(a->t, !failed, &e);
		if (rc && !failed) {
			/* deferred checks (unique keys) or the store undid the group */
			o.code = usp_err_code_ex(&e, USP_OP_ADD, false);
			o.msg = usp_mem_strdup(a->c->mem, e.msg);
			failed = true;
		}
	}
	if (failed)
		return object_failed(a, o.inst ? o.inst : tbl->path, &o, st);
	return success_status(a, tbl, &o, st) ? USP_ERR_RESOURCES_EXCEEDED : 0;
}

static int add_create_object(add_req *a, Usp__AddResp *ar, const Usp__Add__CreateObject *co)
{
	usp_obj *tables = NULL;
	size_t n = 0;
	add_status *st;
	dm_errinfo e = {0};
	int rc = find_tables(a, co->obj_path, &tables, &n, &e);
	if (rc == DM_ERR_NOMEM)
		return USP_ERR_RESOURCES_EXCEEDED;
	if (rc) {
		create_outcome o = {.code = usp_err_code_ex(&e, USP_OP_ADD, false)};
		if (new_result(a, ar, co->obj_path, &st))
			return USP_ERR_RESOURCES_EXCEEDED;
		if (!(o.msg = usp_mem_strdup(a->c->mem, e.msg)))
			return USP_ERR_RESOURCES_EXCEEDED;
		return object_failed(a, co->obj_path, &o, st);
	}
	if (!n)
		return new_result(a, ar, co->obj_path, &st) || success_status(a, NULL, NULL, st)
			       ? USP_ERR_RESOURCES_EXCEEDED
			       : 0;
	for (size_t i = 0; i < n; i++) {
		if (new_result(a, ar, co->obj_path, &st))
			return USP_ERR_RESOURCES_EXCEEDED;
		int code = add_one(a, &tables[i], co, st);
		if (code)
			return code;
	}
	return 0;
}

int usp_handle_add(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Add *ad = c->req->body->request->add;
	if (!ad)
		return USP_ERR_INVALID_ARGUMENTS;
	Usp__AddResp *ar = usp_mem_new_msg(c->mem, &usp__add_resp__descriptor);
	if (!ar)
		return USP_ERR_RESOURCES_EXCEEDED;
	dm_origin origin = {DM_ORIGIN_USP, c->ctl->endpoint_id};
	dm_txn *t;
	int rc = usp_req_txn_begin(c, DM_TXN_WRITE, &origin, &t);
	if (rc)
		return (int)usp_err_code(rc, USP_OP_ADD);
	add_req a = {c, t, ad->allow_partial, err};
	for (size_t i = 0; i < ad->n_create_objs; i++) {
		int code = add_create_object(&a, ar, ad->create_objs[i]);
		if (code) {
			dm_txn_abort(t);
			return code;
		}
	}
	dm_errinfo e = {0};
	if ((rc = dm_txn_commit(t, NULL, &e))) {
		/* allow_partial=false defers unique keys to here */
		uint32_t code = usp_err_code_ex(&e, USP_OP_ADD, false);
		err->err_msg = usp_mem_strdup(c->mem, e.msg);
		if (usp_error_add_param(c->mem, err, e.path, code, e.msg))
			return USP_ERR_RESOURCES_EXCEEDED;
		return (int)code;
	}
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_ADD_RESP;
	resp->add_resp = ar;
	return 0;
}
