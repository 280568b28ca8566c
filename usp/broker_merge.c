/*
 * broker_merge.c - a Controller's Get of an object path above paths USP
 * Services registered ("Device.", "Device.X_Vendor."): the agent answers
 * from its store (where those subtrees hold nothing), the Broker asks each
 * Service for its registered subtree, and the Services' resolved objects
 * join the agent's RequestedPathResult before the answer goes out (TR-369
 * "USP Broker Responsibilities": a consolidated view). A Service that
 * fails or does not answer in time is left out rather than failing the
 * whole Get. Requests wholly under one Service's paths are broker.c's.
 *
 * Not merged: paths with wildcards or search expressions, and a Get with
 * max_depth (how deep a registered path lies under each requested one
 * would have to be counted against it); those get the agent's answer.
 */
#include "usp_int.h"

#include <stdlib.h>
#include <string.h>

#define LOG_MOD "usp-broker"

typedef struct merge merge;

/* One registered path asked for on behalf of one requested path. */
typedef struct part {
	merge *mg;
	const char *req_path; /* in the Controller's request (kept in local) */
	char *reg_path;
	uint8_t *answer; /* the Service's GetResp, packed; NULL: left out */
	size_t answer_len;
} part;

struct merge {
	usp_agent *a;
	char ctl_id[USP_ENDPOINT_MAX];
	Usp__Msg *local; /* the agent's answer */
	part *parts;
	size_t n_parts, pending;
};

/* A plain object path: no wildcard, search expression or reference. */
static bool plain_object(const char *p)
{
	size_t n = strlen(p);

	return n && p[n - 1] == '.' && strcspn(p, "*[]+#{}") == n;
}

/* reg lies strictly below p, and p itself is the agent's. */
static bool above(const map_proxy *reg, const char *p, const char *r)
{
	return strlen(r) > strlen(p) && !strncmp(r, p, strlen(p)) && !map_proxy_match(reg, p, NULL);
}

bool usp_broker_merge_wanted(const map_proxy *reg, const usp_req_ctx *c)
{
	const Usp__Request *rq = c->req->body->request;

	if (rq->req_type_case != USP__REQUEST__REQ_TYPE_GET || rq->get->max_depth)
		return false;
	for (size_t i = 0; i < rq->get->n_param_paths; i++) {
		const char *p = rq->get->param_paths[i];
		for (size_t k = 0; p && plain_object(p) && k < map_proxy_count(reg); k++)
			if (above(reg, p, map_proxy_path(reg, k, NULL)))
				return true;
	}
	return false;
}

static void merge_free(merge *mg)
{
	for (size_t i = 0; i < mg->n_parts; i++) {
		free(mg->parts[i].reg_path);
		free(mg->parts[i].answer);
	}
	free(mg->parts);
	if (mg->local)
		usp__msg__free_unpacked(mg->local, NULL);
	free(mg);
}

/* The agent's result for a requested path. */
static Usp__GetResp__RequestedPathResult *local_result(merge *mg, const char *req_path)
{
	Usp__GetResp *g = mg->local->body->response->get_resp;

	for (size_t i = 0; i < g->n_req_path_results; i++)
		if (!strcmp(g->req_path_results[i]->requested_path, req_path))
			return g->req_path_results[i];
	return NULL;
}

/* Each Service's resolved objects after the agent's, in an array of m:
 * the unpacked messages keep their own arrays, put back before they are
 * freed. */
typedef struct restore {
	Usp__GetResp__RequestedPathResult *rp;
	Usp__GetResp__ResolvedPathResult **v;
	size_t n;
} restore;

static void join(usp_mem *m, Usp__GetResp__RequestedPathResult *rp, const Usp__GetResp *svc, restore *undo)
{
	const Usp__GetResp__RequestedPathResult *s =
		svc && svc->n_req_path_results ? svc->req_path_results[0] : NULL;

	if (!rp || rp->err_code || !s || s->err_code || !s->n_resolved_path_results)
		return;
	size_t n = rp->n_resolved_path_results + s->n_resolved_path_results;
	Usp__GetResp__ResolvedPathResult **v = usp_mem_alloc(m, n * sizeof *v);
	if (!v)
		return;
	memcpy(v, rp->resolved_path_results, rp->n_resolved_path_results * sizeof *v);
	memcpy(v + rp->n_resolved_path_results, s->resolved_path_results, s->n_resolved_path_results * sizeof *v);
	if (!undo->rp)
		*undo = (restore){rp, rp->resolved_path_results, rp->n_resolved_path_results};
	rp->resolved_path_results = v;
	rp->n_resolved_path_results = n;
}

static bool is_get_resp(const Usp__Msg *m)
{
	return m && m->body && m->body->msg_body_case == USP__BODY__MSG_BODY_RESPONSE && m->body->response &&
	       m->body->response->resp_type_case == USP__RESPONSE__RESP_TYPE_GET_RESP;
}

/* Every part is in: send the merged answer. */
static void merge_send(merge *mg)
{
	usp_mem *m = usp_mem_new();
	Usp__Msg **svc = calloc(mg->n_parts ? mg->n_parts : 1, sizeof *svc);
	restore *undo = calloc(mg->n_parts ? mg->n_parts : 1, sizeof *undo);

	for (size_t i = 0; m && svc && undo && i < mg->n_parts; i++) {
		part *pt = &mg->parts[i];
		if (pt->answer)
			svc[i] = usp__msg__unpack(NULL, pt->answer_len, pt->answer);
		if (is_get_resp(svc[i]))
			join(m, local_result(mg, pt->req_path), svc[i]->body->response->get_resp, &undo[i]);
	}
	if (usp_send_msg(mg->a, mg->ctl_id, mg->local))
		CORE_LOG_W(LOG_MOD, "merged Get answer for %s could not be sent", mg->ctl_id);
	/* put back in reverse: a later join saw the array an earlier made */
	for (size_t i = mg->n_parts; undo && i-- > 0;)
		if (undo[i].rp) {
			undo[i].rp->resolved_path_results = undo[i].v;
			undo[i].rp->n_resolved_path_results = undo[i].n;
		}
	for (size_t i = 0; svc && i < mg->n_parts; i++)
		if (svc[i])
			usp__msg__free_unpacked(svc[i], NULL);
	free(svc);
	free(undo);
	usp_mem_free(m);
	merge_free(mg);
}

static void part_answered(void *ctx, const Usp__Msg *answer, const char *why)
{
	part *pt = ctx;
	merge *mg = pt->mg;

	if (!is_get_resp(answer) || usp_msg_pack(answer, &pt->answer, &pt->answer_len))
		CORE_LOG_I(LOG_MOD, "Get of %s leaves %s out: %s", pt->req_path, pt->reg_path,
			   why ? why : "the USP Service's answer is no GetResp");
	if (--mg->pending == 0)
		merge_send(mg);
}

/* A Get of reg, asked of the Service that registered it. */
static int ask_part(usp_broker *b, part *pt)
{
	usp_mem *m = usp_mem_new();
	Usp__Request *rq = NULL;
	/* the msg_id is replaced by the Broker's own */
	Usp__Msg *msg = m ? usp_broker_request_msg(m, "merge", USP__HEADER__MSG_TYPE__GET, &rq) : NULL;
	Usp__Get *g = msg ? usp_mem_new_msg(m, &usp__get__descriptor) : NULL;
	int rc = DM_ERR_NOMEM;

	if (g) {
		g->param_paths = &pt->reg_path;
		g->n_param_paths = 1;
		rq->req_type_case = USP__REQUEST__REQ_TYPE_GET;
		rq->get = g;
		rc = usp_broker_ask(b, pt->reg_path, msg, part_answered, pt);
	}
	usp_mem_free(m);
	return rc;
}

/* The parts: each registered path below each plain requested object path
 * the Controller may read. */
static int plan(merge *mg, const map_proxy *reg, const usp_req_ctx *c)
{
	const Usp__Get *get = c->req->body->request->get;

	for (size_t i = 0; i < get->n_param_paths; i++) {
		const char *p = get->param_paths[i];
		Usp__GetResp__RequestedPathResult *rp = p && plain_object(p) ? local_result(mg, p) : NULL;
		for (size_t k = 0; rp && k < map_proxy_count(reg); k++) {
			const char *r = map_proxy_path(reg, k, NULL);
			if (!above(reg, p, r) || !usp_allowed(c->ctl, USP_PERM_INST_OBJ, r, USP_PERM_R))
				continue;
			part *v = realloc(mg->parts, (mg->n_parts + 1) * sizeof *v);
			if (!v)
				return DM_ERR_NOMEM;
			mg->parts = v;
			part *pt = &v[mg->n_parts];
			*pt = (part){.mg = mg, .req_path = rp->requested_path, .reg_path = strdup(r)};
			if (!pt->reg_path)
				return DM_ERR_NOMEM;
			mg->n_parts++;
		}
	}
	return DM_OK;
}

int usp_broker_merge(usp_req_ctx *c, uint8_t *resp, size_t len)
{
	usp_broker *b = usp_agent_broker(c->agent);
	merge *mg = calloc(1, sizeof *mg);

	if (!mg)
		return DM_ERR_NOMEM;
	mg->a = c->agent;
	snprintf(mg->ctl_id, sizeof mg->ctl_id, "%s", c->ctl->endpoint_id);
	mg->local = usp__msg__unpack(NULL, len, resp);
	int rc = is_get_resp(mg->local) ? plan(mg, usp_broker_registry(b), c) : DM_ERR_INTERNAL;
	/* parts point into the array: no more growth once asking starts */
	for (size_t i = 0; !rc && i < mg->n_parts; i++)
		if (!ask_part(b, &mg->parts[i]))
			mg->pending++;
	if (rc || !mg->pending) {
		merge_free(mg);
		return rc ? rc : DM_ERR_NOT_INSTANTIATED;
	}
	free(resp);
	return DM_OK;
}
