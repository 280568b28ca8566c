/*
 * broker_fwd.c - the registry's requests (mapping/proxy.h) as USP messages
 * to a USP Service, and the Service's answers read back into registry
 * results. A SetParameterValues-style SET becomes a Set with allow_partial
 * false and every parameter required (notes/cwmp-usp-mapping.md 3); a
 * DELETE a Delete with allow_partial false. Sending and deadlines are
 * broker.c's.
 */
#include "usp_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- requests ------------------------------------------------------------- */

/* The request's paths, copied into m. */
static char **copy_paths(usp_mem *m, const map_proxy_req *req)
{
	char **paths = usp_mem_alloc(m, req->n_paths * sizeof *paths);

	for (size_t i = 0; paths && i < req->n_paths; i++)
		if (!(paths[i] = usp_mem_strdup(m, req->paths[i])))
			return NULL;
	return paths;
}

static int build_get(usp_mem *m, const map_proxy_req *req, Usp__Request *out)
{
	Usp__Get *g = usp_mem_new_msg(m, &usp__get__descriptor);
	char **paths = copy_paths(m, req);

	if (!g || !paths)
		return DM_ERR_NOMEM;
	g->param_paths = paths;
	g->n_param_paths = req->n_paths;
	out->req_type_case = USP__REQUEST__REQ_TYPE_GET;
	out->get = g;
	return DM_OK;
}

/* The object a parameter path belongs to, and its name in it. */
static int split_param(usp_mem *m, const char *path, char **obj, char **name)
{
	const char *dot = strrchr(path, '.');

	if (!dot || !dot[1])
		return DM_ERR_NOT_PARAM;
	*obj = usp_mem_alloc(m, (size_t)(dot - path) + 2);
	*name = usp_mem_strdup(m, dot + 1);
	if (!*obj || !*name)
		return DM_ERR_NOMEM;
	memcpy(*obj, path, (size_t)(dot - path) + 1);
	return DM_OK;
}

/* Parameters of one object share its UpdateObject. */
static Usp__Set__UpdateObject *update_obj(usp_mem *m, Usp__Set *s, const char *obj)
{
	for (size_t i = 0; i < s->n_update_objs; i++)
		if (!strcmp(s->update_objs[i]->obj_path, obj))
			return s->update_objs[i];
	Usp__Set__UpdateObject *u = usp_mem_new_msg(m, &usp__set__update_object__descriptor);
	if (!u)
		return NULL;
	u->obj_path = (char *)obj;
	if (usp_mem_push(m, (void ***)&s->update_objs, &s->n_update_objs, u))
		return NULL;
	return u;
}

static int build_set(usp_mem *m, const map_proxy_req *req, Usp__Request *out)
{
	Usp__Set *s = usp_mem_new_msg(m, &usp__set__descriptor);

	if (!s)
		return DM_ERR_NOMEM;
	s->allow_partial = false;
	for (size_t i = 0; i < req->n_params; i++) {
		char *obj, *name;
		int rc = split_param(m, req->params[i].path, &obj, &name);
		if (rc)
			return rc;
		Usp__Set__UpdateObject *u = update_obj(m, s, obj);
		Usp__Set__UpdateParamSetting *ps = usp_mem_new_msg(m, &usp__set__update_param_setting__descriptor);
		if (!u || !ps || !(ps->value = usp_mem_strdup(m, req->params[i].value ? req->params[i].value : "")))
			return DM_ERR_NOMEM;
		ps->param = name;
		ps->required = true;
		if (usp_mem_push(m, (void ***)&u->param_settings, &u->n_param_settings, ps))
			return DM_ERR_NOMEM;
	}
	out->req_type_case = USP__REQUEST__REQ_TYPE_SET;
	out->set = s;
	return DM_OK;
}

static int build_add(usp_mem *m, const map_proxy_req *req, Usp__Request *out)
{
	Usp__Add *a = usp_mem_new_msg(m, &usp__add__descriptor);
	Usp__Add__CreateObject *co = usp_mem_new_msg(m, &usp__add__create_object__descriptor);

	if (!a || !co || !(co->obj_path = usp_mem_strdup(m, req->paths[0])))
		return DM_ERR_NOMEM;
	if (usp_mem_push(m, (void ***)&a->create_objs, &a->n_create_objs, co))
		return DM_ERR_NOMEM;
	out->req_type_case = USP__REQUEST__REQ_TYPE_ADD;
	out->add = a;
	return DM_OK;
}

static int build_delete(usp_mem *m, const map_proxy_req *req, Usp__Request *out)
{
	Usp__Delete *d = usp_mem_new_msg(m, &usp__delete__descriptor);
	char **paths = copy_paths(m, req);

	if (!d || !paths)
		return DM_ERR_NOMEM;
	d->obj_paths = paths;
	d->n_obj_paths = req->n_paths;
	out->req_type_case = USP__REQUEST__REQ_TYPE_DELETE;
	out->delete_ = d;
	return DM_OK;
}

int usp_broker_fwd_build(usp_mem *m, const map_proxy_req *req, Usp__Request *out)
{
	switch (req->kind) {
	case MAP_PROXY_GET:
		return req->n_paths ? build_get(m, req, out) : DM_ERR_INVALID_ARG;
	case MAP_PROXY_SET:
		return req->n_params ? build_set(m, req, out) : DM_ERR_INVALID_ARG;
	case MAP_PROXY_ADD:
		return req->n_paths == 1 ? build_add(m, req, out) : DM_ERR_INVALID_ARG;
	case MAP_PROXY_DELETE:
		return req->n_paths ? build_delete(m, req, out) : DM_ERR_INVALID_ARG;
	}
	return DM_ERR_INVALID_ARG;
}

/* ---- answers ------------------------------------------------------------------ */

/* Growing arrays of the result, freed after the callback. */
typedef struct answer {
	map_proxy_result r;
	map_proxy_param *params;
	map_proxy_fault *faults;
	char **strs;
	size_t cap_params, cap_faults, n_strs, cap_strs;
	bool oom;
} answer;

static void *grow(void *arr, size_t *cap, size_t need, size_t elem, bool *oom)
{
	if (need <= *cap)
		return arr;
	size_t cap2 = *cap ? *cap * 2 : 16;
	void *v = realloc(arr, cap2 * elem);
	if (!v) {
		*oom = true;
		return arr;
	}
	*cap = cap2;
	return v;
}

static char *keep_str(answer *an, char *s)
{
	an->strs = grow(an->strs, &an->cap_strs, an->n_strs + 1, sizeof *an->strs, &an->oom);
	if (!s || an->oom) {
		free(s);
		an->oom = true;
		return NULL;
	}
	an->strs[an->n_strs++] = s;
	return s;
}

static void fail(answer *an, uint32_t code, const char *msg)
{
	if (an->r.status)
		return; /* the first failure names the request's */
	an->r.status = DM_ERR_PROVIDER;
	an->r.usp_err = code ? code : USP_ERR_INTERNAL_ERROR;
	an->r.msg = msg && *msg ? msg : usp_err_text(an->r.usp_err);
}

static void add_param(answer *an, const char *obj, const char *key, const char *value)
{
	size_t ol = strlen(obj), kl = strlen(key);
	char *path = malloc(ol + kl + 1);

	if (path) {
		memcpy(path, obj, ol);
		memcpy(path + ol, key, kl + 1);
	}
	an->params = grow(an->params, &an->cap_params, an->r.n_params + 1, sizeof *an->params, &an->oom);
	if (!keep_str(an, path))
		return;
	an->params[an->r.n_params++] = (map_proxy_param){.path = path, .value = value ? value : ""};
}

static void add_fault(answer *an, const char *path, uint32_t code, const char *msg)
{
	an->faults = grow(an->faults, &an->cap_faults, an->r.n_faults + 1, sizeof *an->faults, &an->oom);
	if (an->oom)
		return;
	an->faults[an->r.n_faults++] = (map_proxy_fault){.path = path ? path : "", .usp_err = code, .msg = msg};
}

static void read_get(answer *an, const Usp__GetResp *g)
{
	for (size_t i = 0; g && i < g->n_req_path_results; i++) {
		const Usp__GetResp__RequestedPathResult *rp = g->req_path_results[i];
		if (rp->err_code) {
			fail(an, rp->err_code, rp->err_msg);
			continue;
		}
		for (size_t k = 0; k < rp->n_resolved_path_results; k++) {
			const Usp__GetResp__ResolvedPathResult *res = rp->resolved_path_results[k];
			for (size_t j = 0; j < res->n_result_params; j++)
				add_param(an, res->resolved_path, res->result_params[j]->key,
					  res->result_params[j]->value);
		}
	}
}

static void read_set(answer *an, const Usp__SetResp *s)
{
	for (size_t i = 0; s && i < s->n_updated_obj_results; i++) {
		const Usp__SetResp__UpdatedObjectResult__OperationStatus *st = s->updated_obj_results[i]->oper_status;
		if (!st || st->oper_status_case !=
				   USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE)
			continue;
		const Usp__SetResp__UpdatedObjectResult__OperationStatus__OperationFailure *f = st->oper_failure;
		fail(an, f->err_code, f->err_msg);
		for (size_t k = 0; k < f->n_updated_inst_failures; k++) {
			const Usp__SetResp__UpdatedInstanceFailure *inf = f->updated_inst_failures[k];
			for (size_t j = 0; j < inf->n_param_errs; j++)
				add_fault(an, inf->param_errs[j]->param, inf->param_errs[j]->err_code,
					  inf->param_errs[j]->err_msg);
		}
	}
}

/* "Device.X_DUET_Sensor.3." -> 3 */
static uint32_t instance_of(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	if (n < 2 || path[n - 1] != '.')
		return 0;
	size_t i = n - 1;
	while (i > 0 && path[i - 1] >= '0' && path[i - 1] <= '9')
		i--;
	return i < n - 1 && path[i - 1] == '.' ? (uint32_t)strtoul(path + i, NULL, 10) : 0;
}

static void read_add(answer *an, const Usp__AddResp *a)
{
	const Usp__AddResp__CreatedObjectResult__OperationStatus *st =
		a && a->n_created_obj_results ? a->created_obj_results[0]->oper_status : NULL;

	if (!st) {
		fail(an, USP_ERR_INTERNAL_ERROR, "the USP Service's AddResp holds no result");
	} else if (st->oper_status_case ==
		   USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE) {
		fail(an, st->oper_failure->err_code, st->oper_failure->err_msg);
	} else if (!(an->r.instance = instance_of(st->oper_success->instantiated_path))) {
		fail(an, USP_ERR_INTERNAL_ERROR, "the USP Service named no instance");
	}
}

static void read_delete(answer *an, const Usp__DeleteResp *d)
{
	for (size_t i = 0; d && i < d->n_deleted_obj_results; i++) {
		const Usp__DeleteResp__DeletedObjectResult__OperationStatus *st = d->deleted_obj_results[i]->oper_status;
		if (st && st->oper_status_case ==
				  USP__DELETE_RESP__DELETED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE)
			fail(an, st->oper_failure->err_code, st->oper_failure->err_msg);
	}
}

static void read_error(answer *an, const Usp__Error *e)
{
	fail(an, e->err_code, e->err_msg);
	for (size_t i = 0; i < e->n_param_errs; i++)
		add_fault(an, e->param_errs[i]->param_path, e->param_errs[i]->err_code, e->param_errs[i]->err_msg);
}

/* The answer must be the response to the request sent. */
static const Usp__Response__RespTypeCase expected[] = {
	[MAP_PROXY_GET] = USP__RESPONSE__RESP_TYPE_GET_RESP,
	[MAP_PROXY_SET] = USP__RESPONSE__RESP_TYPE_SET_RESP,
	[MAP_PROXY_ADD] = USP__RESPONSE__RESP_TYPE_ADD_RESP,
	[MAP_PROXY_DELETE] = USP__RESPONSE__RESP_TYPE_DELETE_RESP,
};

static void read_response(answer *an, map_proxy_kind kind, const Usp__Response *resp)
{
	if (!resp || resp->resp_type_case != expected[kind]) {
		fail(an, USP_ERR_INTERNAL_ERROR, "the USP Service answered with another response type");
		return;
	}
	switch (kind) {
	case MAP_PROXY_GET:
		read_get(an, resp->get_resp);
		break;
	case MAP_PROXY_SET:
		read_set(an, resp->set_resp);
		break;
	case MAP_PROXY_ADD:
		read_add(an, resp->add_resp);
		break;
	case MAP_PROXY_DELETE:
		read_delete(an, resp->delete_resp);
		break;
	}
}

void usp_broker_fwd_answer(map_proxy_op *op, map_proxy_kind kind, const Usp__Msg *msg)
{
	answer an = {0};

	if (msg->body->msg_body_case == USP__BODY__MSG_BODY_ERROR && msg->body->error)
		read_error(&an, msg->body->error);
	else
		read_response(&an, kind, msg->body->response);
	if (an.oom) {
		an.r = (map_proxy_result){.status = DM_ERR_NOMEM, .usp_err = USP_ERR_RESOURCES_EXCEEDED,
					  .msg = "out of memory reading the USP Service's answer"};
	} else {
		an.r.params = an.params;
		an.r.faults = an.faults;
	}
	map_proxy_finish(op, &an.r);
	for (size_t i = 0; i < an.n_strs; i++)
		free(an.strs[i]);
	free(an.strs);
	free(an.params);
	free(an.faults);
}
