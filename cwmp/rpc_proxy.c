/*
 * rpc_proxy.c - the ACS's data model RPCs on paths a USP Service
 * registered with the USP Broker (mapping/proxy.h): GetParameterValues,
 * GetParameterNames, SetParameterValues, AddObject and DeleteObject are
 * forwarded to the Service and answered later in the same session
 * (rpc.h cwmp_rpc_defer); a Service that does not answer in time gives
 * 9002. The agent's own paths stay with rpc_get.c and rpc_write.c, which
 * ask here first.
 */
#include "rpc.h"
#include "rpc_int.h"

#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One forwarded request, answered when its last Service answer is in. */
typedef struct proxy_call {
	cwmp_agent *a;
	cwmp_msg_kind kind;
	cwmp_reply rep;    /* the answer being built */
	map_proxy_op *op;  /* in flight */
	char key[CWMP_PARAMETER_KEY_MAX + 1];
	/* reads: the names to GET, one at a time (read_next); from n_strict
	 * on, registered paths below the agent's own names */
	char **names;
	size_t n_names, n_strict, next;
	int (*take)(struct proxy_call *c, const char *name, bool merged, const map_proxy_result *r);
	void (*finish)(struct proxy_call *c);
	cwmp_param_value *v; /* GPV values */
	cwmp_param_info *iv; /* GPN names */
	size_t n, cap;
	char *base; /* GPN: the path asked */
	bool next_level;
} proxy_call;

static void call_free(proxy_call *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->base);
	cwmp_reply_free(&c->rep);
	free(c);
}

static void call_cancel(void *ctx)
{
	proxy_call *c = ctx;

	map_proxy_cancel(c->op);
	call_free(c);
}

static proxy_call *call_new(cwmp_agent *a, const cwmp_msg *req)
{
	proxy_call *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->a = a;
	c->kind = req->kind;
	cwmp_reply_init(&c->rep);
	return c;
}

/* Send the call's answer and forget it. */
static void call_answer(proxy_call *c)
{
	cwmp_rpc_answer_late(c->a, &c->rep);
	call_free(c);
}

/* The CWMP fault of a failed forwarded request (notes 9.2). */
static unsigned fault_of(const map_proxy_result *r, map_op op)
{
	unsigned f = r->usp_err ? map_usp_err_to_cwmp_fault(r->usp_err) : map_dm_to_cwmp_fault(r->status, 0, op);

	return f ? f : CWMP_FAULT_INTERNAL;
}

/* Start req for c and defer the ACS's answer; false when the agent must
 * answer now (rep holds the fault then). */
static bool call_start(proxy_call *c, const cwmp_msg *req, const map_proxy_req *preq, map_proxy_done_fn done,
		       cwmp_reply *rep)
{
	int rc = map_proxy_start(c->a->proxy, preq, done, c, &c->op);

	if (!rc && !(rc = cwmp_rpc_defer(c->a, req, call_cancel, c)))
		return true;
	if (c->op)
		map_proxy_cancel(c->op);
	cwmp_reply_fault(rep, rc == DM_ERR_DENIED ? CWMP_FAULT_REQUEST_DENIED : CWMP_FAULT_INTERNAL,
			 rc == DM_ERR_DENIED ? "the names belong to different USP Services" : NULL);
	call_free(c);
	return false;
}

/* ---- reads: one GET per name, in turn ---------------------------------------- */

/*
 * GPV and GPN read c->names one GET at a time (names may belong to
 * different Services). Names before n_strict are the request's own: a
 * failure is the request's fault. The others are registered paths below an
 * object name the agent answers itself ("Device."): their values or names
 * join the agent's, and a failure only leaves that subtree out.
 */
static void read_next(proxy_call *c);

static void read_done(void *ctx, const map_proxy_result *r)
{
	proxy_call *c = ctx;
	const char *name = c->names[c->next - 1];
	bool merged = c->next > c->n_strict;

	c->op = NULL;
	if (r->status && merged) {
		CORE_LOG_I("cwmp", "%s leaves %s out: %s", cwmp_rpc_method_name(c->kind), name, r->msg);
	} else if (r->status) {
		cwmp_reply_fault(&c->rep, fault_of(r, MAP_OP_READ), r->msg);
		call_answer(c);
		return;
	} else if (c->take(c, name, merged, r)) {
		cwmp_reply_fault(&c->rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		call_answer(c);
		return;
	}
	read_next(c);
}

static void read_next(proxy_call *c)
{
	while (c->next < c->n_names) {
		const char *path = c->names[c->next++];
		map_proxy_req preq = {.kind = MAP_PROXY_GET, .paths = &path, .n_paths = 1};
		int rc = map_proxy_start(c->a->proxy, &preq, read_done, c, &c->op);
		if (!rc)
			return;
		if (c->next > c->n_strict)
			continue; /* deregistered meanwhile: nothing to merge */
		/* deregistered meanwhile: the name denotes nothing now */
		cwmp_reply_fault(&c->rep, rc == DM_ERR_NOT_IN_SCHEMA ? CWMP_FAULT_INVALID_PARAMETER_NAME
								     : CWMP_FAULT_INTERNAL,
				 path);
		call_answer(c);
		return;
	}
	c->finish(c);
	call_answer(c);
}

/* Add path to the names the call reads from Services, once. */
static int add_name(proxy_call *c, const char *path)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (!strcmp(c->names[i], path))
			return DM_OK;
	char **v = realloc(c->names, (c->n_names + 1) * sizeof *v);
	if (!v)
		return DM_ERR_NOMEM;
	c->names = v;
	if (!(v[c->n_names] = strdup(path)))
		return DM_ERR_NOMEM;
	c->n_names++;
	return DM_OK;
}

/* Every registered path below name, when name is an object path the
 * agent answers itself ("" is the whole tree). */
static int add_below(proxy_call *c, const char *name)
{
	map_proxy *p = c->a->proxy;
	const char *n = name && *name ? name : "Device.";
	size_t len = strlen(n);
	int rc = DM_OK;

	if (n[len - 1] != '.' || map_proxy_match(p, n, NULL))
		return DM_OK;
	for (size_t k = 0; !rc && k < map_proxy_count(p); k++) {
		const char *reg = map_proxy_path(p, k, NULL);
		if (!strncmp(reg, n, len))
			rc = add_name(c, reg);
	}
	return rc;
}

/*
 * The agent's own answer, built in c->rep, starts the call's: its array
 * (c->rep's storage already, from cwmp_reply_reserve) is taken over, with
 * its count as the capacity known. false, with the fault copied to rep,
 * when the agent's part failed.
 */
static bool adopt_local(proxy_call *c, cwmp_reply *rep, void **arr, void *items, size_t n)
{
	if (c->rep.msg.kind == CWMP_MSG_FAULT) {
		cwmp_reply_fault(rep, c->rep.msg.u.fault.code, c->rep.msg.u.fault.string);
		return false;
	}
	*arr = items;
	c->n = c->cap = n;
	return true;
}

/* Start reading (c->n_names > 0); false when the agent must answer now
 * (rep says why). */
static bool read_start(proxy_call *c, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *first = c->names[c->next++];
	map_proxy_req preq = {.kind = MAP_PROXY_GET, .paths = &first, .n_paths = 1};
	return call_start(c, req, &preq, read_done, rep);
}

/* ---- GetParameterValues ---------------------------------------------------- */

static int gpv_push(proxy_call *c, const char *name, const char *value, const dm_node *node)
{
	if (c->n == c->cap && cwmp_reply_reserve(&c->rep, (void **)&c->v, &c->cap, c->n + 1, sizeof *c->v))
		return DM_ERR_NOMEM;
	cwmp_param_value *pv = &c->v[c->n];
	if (!(pv->name = cwmp_reply_strdup(&c->rep, name)) || !(pv->value = cwmp_reply_strdup(&c->rep, value)))
		return DM_ERR_NOMEM;
	pv->type = node ? cwmp_value_type_of(node) : CWMP_TYPE_STRING;
	c->n++;
	return DM_OK;
}

static int gpv_take(proxy_call *c, const char *name, bool merged, const map_proxy_result *r)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (gpv_push(c, r->params[i].path, r->params[i].value, map_proxy_node(c->a->proxy, r->params[i].path)))
			return DM_ERR_NOMEM;
	return DM_OK;
}

static void gpv_finish(proxy_call *c)
{
	c->rep.msg.kind = CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE;
	c->rep.msg.u.values.v = c->v;
	c->rep.msg.u.values.n = c->n;
}

/* The agent's own names first, on its own snapshot. */
static bool gpv_local(proxy_call *c, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_msg sub = *req;
	size_t n = 0;

	sub.u.names.v = calloc(req->u.names.n ? req->u.names.n : 1, sizeof *sub.u.names.v);
	if (!sub.u.names.v)
		return false;
	for (size_t i = 0; i < req->u.names.n; i++)
		if (!map_proxy_match(c->a->proxy, req->u.names.v[i], NULL))
			sub.u.names.v[n++] = req->u.names.v[i];
	sub.u.names.n = n;
	if (n)
		cwmp_rpc_gpv_local(c->a, &sub, &c->rep);
	free(sub.u.names.v);
	return !n || adopt_local(c, rep, (void **)&c->v, c->rep.msg.u.values.v, c->rep.msg.u.values.n);
}

bool cwmp_rpc_proxy_gpv(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	if (!map_proxy_count(a->proxy))
		return false;
	proxy_call *c = call_new(a, req);
	int rc = c ? DM_OK : DM_ERR_NOMEM;

	for (size_t i = 0; !rc && i < req->u.names.n; i++)
		if (map_proxy_match(a->proxy, req->u.names.v[i], NULL))
			rc = add_name(c, req->u.names.v[i]);
	if (c)
		c->n_strict = c->n_names;
	for (size_t i = 0; !rc && i < req->u.names.n; i++)
		rc = add_below(c, req->u.names.v[i]);
	if (!rc && !c->n_names) {
		call_free(c);
		return false;
	}
	if (rc || !gpv_local(c, req, rep)) {
		if (rep->msg.kind != CWMP_MSG_FAULT)
			cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		if (c)
			call_free(c);
		return true;
	}
	c->take = gpv_take;
	c->finish = gpv_finish;
	read_start(c, req, rep);
	return true;
}

/* ---- GetParameterNames -------------------------------------------------------- */

static int gpn_push(proxy_call *c, const char *name, bool writable)
{
	if (c->n == c->cap && cwmp_reply_reserve(&c->rep, (void **)&c->iv, &c->cap, c->n + 1, sizeof *c->iv))
		return DM_ERR_NOMEM;
	if (!(c->iv[c->n].name = cwmp_reply_strdup(&c->rep, name)))
		return DM_ERR_NOMEM;
	c->iv[c->n++].writable = writable;
	return DM_OK;
}

/* A merged registered path is listed by the agent already (the schema
 * has it): only what lies below it is added. */
static int gpn_take(proxy_call *c, const char *name, bool merged, const map_proxy_result *r)
{
	map_proxy_name *names = NULL;
	size_t n = 0;
	int rc = map_proxy_names(c->a->proxy, merged ? name : c->base, r->params, r->n_params,
				 !merged && c->next_level, &names, &n);

	for (size_t i = 0; !rc && i < n; i++)
		if (!merged || strcmp(names[i].path, name))
			rc = gpn_push(c, names[i].path, names[i].node && cwmp_rpc_acs_may_write(names[i].node));
	map_proxy_names_free(names, n);
	return rc;
}

static void gpn_finish(proxy_call *c)
{
	c->rep.msg.kind = CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE;
	c->rep.msg.u.infos.v = c->iv;
	c->rep.msg.u.infos.n = c->n;
}

/* A whole-subtree listing (NextLevel false) of an object the agent
 * answers: its own names first, then the Services' below it. */
static bool gpn_local(proxy_call *c, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_rpc_gpn_local(c->a, req, &c->rep);
	return adopt_local(c, rep, (void **)&c->iv, c->rep.msg.u.infos.v, c->rep.msg.u.infos.n);
}

bool cwmp_rpc_proxy_gpn(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *path = req->u.gpn.path;
	bool strict = path && map_proxy_match(a->proxy, path, NULL);

	if (!map_proxy_count(a->proxy) || (!strict && req->u.gpn.next_level))
		return false;
	size_t len = path ? strlen(path) : 0;
	if (strict && req->u.gpn.next_level && path[len - 1] != '.') {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "NextLevel true needs an object path");
		return true;
	}
	proxy_call *c = call_new(a, req);
	int rc = !c || !(c->base = strdup(path ? path : "")) ? DM_ERR_NOMEM
		 : strict				 ? add_name(c, path)
							 : DM_OK;
	if (c)
		c->n_strict = c->n_names;
	if (!rc && !strict)
		rc = add_below(c, path);
	if (!rc && !c->n_names) {
		call_free(c);
		return false;
	}
	c->next_level = req->u.gpn.next_level != 0;
	if (rc || (!strict && !gpn_local(c, req, rep))) {
		if (rep->msg.kind != CWMP_MSG_FAULT)
			cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		if (c)
			call_free(c);
		return true;
	}
	c->take = gpn_take;
	c->finish = gpn_finish;
	read_start(c, req, rep);
	return true;
}

/* ---- writes ---------------------------------------------------------------------- */

/* A write the Service made records the ParameterKey as the agent's own
 * writes do (A.3.2.1); a store that refuses it makes no fault of the
 * Service's success, only a log line. */
static void keep_key(proxy_call *c)
{
	int rc = cwmp_rpc_record_key(c->a, c->key);

	if (rc)
		CORE_LOG_W("cwmp", "ParameterKey not recorded after a USP Service's write: %s", dm_strerror(rc));
}

static void spv_faults(proxy_call *c, const map_proxy_result *r)
{
	if (!r->n_faults) {
		cwmp_reply_fault(&c->rep, fault_of(r, MAP_OP_SET), r->msg);
		return;
	}
	/* A.3.2.1: 9003 with one SetParameterValuesFault per parameter */
	cwmp_reply_fault(&c->rep, CWMP_FAULT_INVALID_ARGUMENTS, r->msg);
	for (size_t i = 0; i < r->n_faults; i++) {
		unsigned f = map_usp_err_to_cwmp_fault(r->faults[i].usp_err);
		cwmp_reply_spv_fault(&c->rep, r->faults[i].path, f ? f : CWMP_FAULT_INTERNAL, r->faults[i].msg);
	}
}

static void write_done(void *ctx, const map_proxy_result *r)
{
	proxy_call *c = ctx;
	static const map_op ops[] = {
		[CWMP_MSG_SET_PARAMETER_VALUES] = MAP_OP_SET,
		[CWMP_MSG_ADD_OBJECT] = MAP_OP_ADD,
		[CWMP_MSG_DELETE_OBJECT] = MAP_OP_DELETE,
	};

	c->op = NULL;
	if (r->status && c->kind == CWMP_MSG_SET_PARAMETER_VALUES) {
		spv_faults(c, r);
	} else if (r->status) {
		cwmp_reply_fault(&c->rep, fault_of(r, ops[c->kind]), r->msg);
	} else if (c->kind == CWMP_MSG_ADD_OBJECT) {
		keep_key(c);
		c->rep.msg.kind = CWMP_MSG_ADD_OBJECT_RESPONSE;
		c->rep.msg.u.add_object.instance = r->instance;
		c->rep.msg.u.add_object.status = 0;
	} else {
		keep_key(c);
		c->rep.msg.kind = c->kind == CWMP_MSG_SET_PARAMETER_VALUES ? CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE
									   : CWMP_MSG_DELETE_OBJECT_RESPONSE;
		c->rep.msg.u.status = 0; /* applied: the Service answered after its change */
	}
	call_answer(c);
}

static bool start_write(cwmp_agent *a, const cwmp_msg *req, const map_proxy_req *preq, const char *key,
			cwmp_reply *rep)
{
	proxy_call *c = call_new(a, req);
	if (!c) {
		cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		return true;
	}
	snprintf(c->key, sizeof c->key, "%s", key ? key : "");
	call_start(c, req, preq, write_done, rep);
	return true;
}

bool cwmp_rpc_proxy_spv(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	size_t n = req->u.spv.n, proxied = 0;

	for (size_t i = 0; a->proxy && i < n; i++)
		proxied += req->u.spv.v[i].name && map_proxy_match(a->proxy, req->u.spv.v[i].name, NULL);
	if (!proxied)
		return false;
	if (proxied < n) {
		/* one atomic change cannot span the agent's store and a Service */
		cwmp_reply_fault(rep, CWMP_FAULT_REQUEST_DENIED,
				 "parameters of a USP Service cannot be set together with the agent's own");
		return true;
	}
	map_proxy_param *params = calloc(n, sizeof *params);
	if (!params) {
		cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		return true;
	}
	for (size_t i = 0; i < n; i++)
		params[i] = (map_proxy_param){.path = req->u.spv.v[i].name, .value = req->u.spv.v[i].value};
	map_proxy_req preq = {.kind = MAP_PROXY_SET, .params = params, .n_params = n};
	start_write(a, req, &preq, req->u.spv.parameter_key, rep);
	free(params);
	return true;
}

/* AddObject and DeleteObject name one object. */
bool cwmp_rpc_proxy_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *name = req->u.object.object_name;

	if (!name || !map_proxy_match(a->proxy, name, NULL))
		return false;
	map_proxy_req preq = {.kind = req->kind == CWMP_MSG_ADD_OBJECT ? MAP_PROXY_ADD : MAP_PROXY_DELETE,
			      .paths = &name,
			      .n_paths = 1};
	return start_write(a, req, &preq, req->u.object.parameter_key, rep);
}
