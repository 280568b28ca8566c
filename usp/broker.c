/*
 * broker.c - the USP Broker (TR-369 "Software Modularization and
 * USP-Enabled Applications"): the USP Services connected to the Broker
 * socket, where the agent is their Controller; their Register and
 * Deregister requests, kept in the registry (mapping/proxy.h); and every
 * request sent to a Service, with its deadline: Controllers' requests
 * forwarded whole, the registry's requests (the ACS's, built in
 * broker_fwd.c) and the Broker's own (usp_broker_ask: merged Gets in
 * broker_merge.c, subscription relays in broker_notify.c). The socket
 * itself is mtp_uds.c's.
 */
#include "usp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "usp-broker"

typedef struct svc svc;
typedef struct brk_req brk_req;

/* One connected USP Service. */
struct svc {
	usp_broker *b;
	usp_conn *conn;
	svc *next;
};

/* A request sent to a Service, waiting for its answer. */
struct brk_req {
	usp_broker *b;
	svc *s;
	char msg_id[32];
	core_timer *timer;
	/* who waits: the registry (op), usp_broker_ask's caller (ask), or
	 * else the Controller whose request this is (ctl_id) */
	map_proxy_op *op;
	usp_broker_answer_fn ask;
	void *ask_ctx;
	map_proxy_kind kind;
	char ctl_id[USP_ENDPOINT_MAX];
	char *ctl_msg_id;
	Usp__Request__ReqTypeCase ctl_req; /* what the Controller asked */
	brk_req *next;
};

struct usp_broker {
	usp_agent *a;
	map_proxy *reg;
	svc *svcs;
	brk_req *reqs;
	uint64_t next_id;
	usp_broker_relays *relays; /* NULL: subscriptions are not relayed */
};

static int fwd_start(void *fwd, map_proxy_op *op, const map_proxy_req *req);
static void fwd_forget(void *fwd, map_proxy_op *op);

static const map_proxy_fwd_ops fwd_ops = {
	.start = fwd_start,
	.forget = fwd_forget,
};

/* ---- sending to a Service -------------------------------------------------- */

static int svc_send(svc *s, const Usp__Msg *msg)
{
	uint8_t *buf = NULL, *rec = NULL;
	size_t len = 0, rec_len = 0;
	int rc = usp_msg_pack(msg, &buf, &len);

	if (!rc) {
		usp_record_out r = {
			.kind = USP_REC_NO_SESSION,
			.to_id = s->conn->peer_id,
			.from_id = usp_agent_endpoint_id(s->b->a),
			.payload = buf,
			.payload_len = len,
		};
		rc = usp_record_build(&r, &rec, &rec_len);
	}
	if (!rc)
		rc = s->conn->ops->send(s->conn, rec, rec_len);
	free(buf);
	free(rec);
	return rc;
}

/* A Msg around a body part: header msg_id and type. */
static Usp__Msg *new_msg(usp_mem *m, const char *msg_id, Usp__Header__MsgType type)
{
	Usp__Msg *msg = usp_mem_new_msg(m, &usp__msg__descriptor);
	Usp__Header *hdr = usp_mem_new_msg(m, &usp__header__descriptor);
	Usp__Body *body = usp_mem_new_msg(m, &usp__body__descriptor);

	if (!msg || !hdr || !body || !(hdr->msg_id = usp_mem_strdup(m, msg_id)))
		return NULL;
	hdr->msg_type = type;
	msg->header = hdr;
	msg->body = body;
	return msg;
}

Usp__Msg *usp_broker_request_msg(usp_mem *m, const char *msg_id, Usp__Header__MsgType type, Usp__Request **rq)
{
	Usp__Msg *msg = new_msg(m, msg_id, type);

	*rq = usp_mem_new_msg(m, &usp__request__descriptor);
	if (!msg || !*rq)
		return NULL;
	msg->body->msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	msg->body->request = *rq;
	return msg;
}

static Usp__Error *new_error(usp_mem *m, uint32_t code, const char *text)
{
	Usp__Error *err = usp_mem_new_msg(m, &usp__error__descriptor);

	if (!err || !(err->err_msg = usp_mem_strdup(m, text && *text ? text : usp_err_text(code))))
		return NULL;
	err->err_code = code;
	return err;
}

/* An Error message with msg_id, to a Service or a Controller. */
static Usp__Msg *error_msg(usp_mem *m, const char *msg_id, uint32_t code, const char *text)
{
	Usp__Msg *msg = new_msg(m, msg_id, USP__HEADER__MSG_TYPE__ERROR);
	Usp__Error *err = new_error(m, code, text);

	if (!msg || !err)
		return NULL;
	msg->body->msg_body_case = USP__BODY__MSG_BODY_ERROR;
	msg->body->error = err;
	return msg;
}

/* ---- requests waiting for a Service ----------------------------------------- */

static void req_unlink(brk_req *q)
{
	for (brk_req **pp = &q->b->reqs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	core_timer_stop(q->timer);
	q->timer = NULL;
}

static void req_free(brk_req *q)
{
	free(q->ctl_msg_id);
	free(q);
}

/* Tell the Controller its forwarded request failed (7003). */
static void ctl_fail(brk_req *q, const char *why)
{
	usp_mem *m = usp_mem_new();
	Usp__Msg *msg = m ? error_msg(m, q->ctl_msg_id, USP_ERR_INTERNAL_ERROR, why) : NULL;

	if (!msg || usp_send_msg(q->b->a, q->ctl_id, msg))
		CORE_LOG_W(LOG_MOD, "cannot tell %s that its request failed", q->ctl_id);
	usp_mem_free(m);
}

/* A request the Service did not answer in time, or could not answer. */
static void req_fail(brk_req *q, const char *why)
{
	req_unlink(q);
	if (q->op) {
		map_proxy_result r = {.status = DM_ERR_INTERNAL, .usp_err = USP_ERR_INTERNAL_ERROR, .msg = why};
		map_proxy_finish(q->op, &r);
	} else if (q->ask) {
		q->ask(q->ask_ctx, NULL, why);
	} else {
		ctl_fail(q, why);
	}
	req_free(q);
}

static void req_timeout(void *ctx)
{
	brk_req *q = ctx;
	char why[128];

	snprintf(why, sizeof why, "the USP Service did not answer within %u ms", map_proxy_timeout_ms(q->b->reg));
	CORE_LOG_I(LOG_MOD, "%s (request %s to %s)", why, q->msg_id, q->s->conn->peer_id);
	req_fail(q, why);
}

/* A new waiting request to s with a fresh msg_id and its deadline. */
static brk_req *req_new(svc *s)
{
	usp_broker *b = s->b;
	brk_req *q = calloc(1, sizeof *q);

	if (!q)
		return NULL;
	q->b = b;
	q->s = s;
	snprintf(q->msg_id, sizeof q->msg_id, "duet-broker-%llu", (unsigned long long)++b->next_id);
	if (core_timer_start(usp_agent_loop(b->a), map_proxy_timeout_ms(b->reg), 0, req_timeout, q, &q->timer)) {
		free(q);
		return NULL;
	}
	q->next = b->reqs;
	b->reqs = q;
	return q;
}

static brk_req *req_find(usp_broker *b, svc *s, const char *msg_id)
{
	for (brk_req *q = b->reqs; q; q = q->next)
		if (q->s == s && !strcmp(q->msg_id, msg_id))
			return q;
	return NULL;
}

/* ---- the registry's forwarder ---------------------------------------------- */

static int fwd_start(void *fwd, map_proxy_op *op, const map_proxy_req *req)
{
	static const Usp__Header__MsgType types[] = {
		[MAP_PROXY_GET] = USP__HEADER__MSG_TYPE__GET,
		[MAP_PROXY_SET] = USP__HEADER__MSG_TYPE__SET,
		[MAP_PROXY_ADD] = USP__HEADER__MSG_TYPE__ADD,
		[MAP_PROXY_DELETE] = USP__HEADER__MSG_TYPE__DELETE,
	};
	svc *s = fwd;
	usp_mem *m = usp_mem_new();
	brk_req *q = m ? req_new(s) : NULL;
	Usp__Request *rq = NULL;
	Usp__Msg *msg = q ? usp_broker_request_msg(m, q->msg_id, types[req->kind], &rq) : NULL;
	int rc = msg ? usp_broker_fwd_build(m, req, rq) : DM_ERR_NOMEM;

	if (!rc) {
		q->op = op;
		q->kind = req->kind;
		rc = svc_send(s, msg);
	}
	if (rc && q) {
		req_unlink(q);
		req_free(q);
	}
	usp_mem_free(m);
	return rc;
}

static void fwd_forget(void *fwd, map_proxy_op *op)
{
	svc *s = fwd;

	for (brk_req *q = s->b->reqs; q; q = q->next)
		if (q->op == op) {
			req_unlink(q);
			req_free(q);
			return;
		}
}

/* ---- Register and Deregister (TR-369 "The Register Message") --------------- */

typedef Usp__RegisterResp__RegisteredPathResult reg_result;
typedef Usp__RegisterResp__RegisteredPathResult__OperationStatus reg_status;
typedef Usp__DeregisterResp__DeregisteredPathResult dereg_result;
typedef Usp__DeregisterResp__DeregisteredPathResult__OperationStatus dereg_status;

static reg_result *reg_result_new(usp_mem *m, const char *path, map_proxy_reg rc)
{
	reg_result *r = usp_mem_new_msg(m, &usp__register_resp__registered_path_result__descriptor);
	reg_status *st = usp_mem_new_msg(m, &usp__register_resp__registered_path_result__operation_status__descriptor);

	if (!r || !st || !(r->requested_path = usp_mem_strdup(m, path)))
		return NULL;
	r->oper_status = st;
	if (rc == MAP_PROXY_REG_OK) {
		Usp__RegisterResp__RegisteredPathResult__OperationStatus__OperationSuccess *ok = usp_mem_new_msg(
			m, &usp__register_resp__registered_path_result__operation_status__operation_success__descriptor);
		if (!ok || !(ok->registered_path = usp_mem_strdup(m, path)))
			return NULL;
		st->oper_status_case = USP__REGISTER_RESP__REGISTERED_PATH_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
		st->oper_success = ok;
		return r;
	}
	Usp__RegisterResp__RegisteredPathResult__OperationStatus__OperationFailure *f = usp_mem_new_msg(
		m, &usp__register_resp__registered_path_result__operation_status__operation_failure__descriptor);
	if (!f || !(f->err_msg = usp_mem_printf(m, "%s: %s", path, map_proxy_reg_text(rc))))
		return NULL;
	f->err_code = map_proxy_reg_usp_err(rc);
	st->oper_status_case = USP__REGISTER_RESP__REGISTERED_PATH_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
	st->oper_failure = f;
	return r;
}

/* allow_partial=false registers all or nothing (R-REG.1): what this
 * request added is taken back at the first failure. */
static void undo_registered(svc *s, const Usp__Register *rg, size_t upto, const bool *added)
{
	for (size_t i = 0; i < upto; i++)
		if (added[i])
			map_proxy_deregister(s->b->reg, rg->reg_paths[i]->path, s);
}

static int serve_register(svc *s, usp_mem *m, const Usp__Register *rg, Usp__Response *resp, Usp__Error *err)
{
	Usp__RegisterResp *rr = usp_mem_new_msg(m, &usp__register_resp__descriptor);
	bool *added = usp_mem_alloc(m, (rg->n_reg_paths ? rg->n_reg_paths : 1) * sizeof *added);

	if (!rr || !added)
		return USP_ERR_RESOURCES_EXCEEDED;
	for (size_t i = 0; i < rg->n_reg_paths; i++) {
		const char *path = rg->reg_paths[i] && rg->reg_paths[i]->path ? rg->reg_paths[i]->path : "";
		bool had = map_proxy_match(s->b->reg, path, NULL) != NULL;
		map_proxy_reg rc = map_proxy_register(s->b->reg, path, s->conn->peer_id, &fwd_ops, s);
		added[i] = rc == MAP_PROXY_REG_OK && !had;
		if (rc != MAP_PROXY_REG_OK && !rg->allow_partial) {
			undo_registered(s, rg, i, added);
			err->err_msg = usp_mem_printf(m, "%s: %s", path, map_proxy_reg_text(rc));
			return (int)map_proxy_reg_usp_err(rc);
		}
		CORE_LOG_I(LOG_MOD, "%s %s %s%s%s", s->conn->peer_id, rc ? "could not register" : "registered", path,
			   rc ? ": " : "", rc ? map_proxy_reg_text(rc) : "");
		reg_result *r = reg_result_new(m, path, rc);
		if (!r || usp_mem_push(m, (void ***)&rr->registered_path_results, &rr->n_registered_path_results, r))
			return USP_ERR_RESOURCES_EXCEEDED;
	}
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_REGISTER_RESP;
	resp->register_resp = rr;
	usp_broker_relays_changed(s->b->relays);
	usp_broker_table_sync(s->b->a, s->b->reg);
	return 0;
}

static dereg_result *dereg_result_new(usp_mem *m, const char *requested, map_proxy_reg rc)
{
	dereg_result *r = usp_mem_new_msg(m, &usp__deregister_resp__deregistered_path_result__descriptor);
	dereg_status *st =
		usp_mem_new_msg(m, &usp__deregister_resp__deregistered_path_result__operation_status__descriptor);

	if (!r || !st || !(r->requested_path = usp_mem_strdup(m, requested)))
		return NULL;
	r->oper_status = st;
	if (rc != MAP_PROXY_REG_OK) {
		Usp__DeregisterResp__DeregisteredPathResult__OperationStatus__OperationFailure *f = usp_mem_new_msg(
			m, &usp__deregister_resp__deregistered_path_result__operation_status__operation_failure__descriptor);
		if (!f || !(f->err_msg = usp_mem_printf(m, "%s: %s", requested, map_proxy_reg_text(rc))))
			return NULL;
		f->err_code = map_proxy_reg_usp_err(rc);
		st->oper_status_case =
			USP__DEREGISTER_RESP__DEREGISTERED_PATH_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE;
		st->oper_failure = f;
		return r;
	}
	Usp__DeregisterResp__DeregisteredPathResult__OperationStatus__OperationSuccess *ok = usp_mem_new_msg(
		m, &usp__deregister_resp__deregistered_path_result__operation_status__operation_success__descriptor);
	if (!ok)
		return NULL;
	st->oper_status_case = USP__DEREGISTER_RESP__DEREGISTERED_PATH_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
	st->oper_success = ok;
	return r;
}

typedef struct dereg_all {
	usp_mem *m;
	Usp__DeregisterResp__DeregisteredPathResult__OperationStatus__OperationSuccess *ok;
	bool oom;
} dereg_all;

static void note_removed(void *ctx, const char *path)
{
	dereg_all *d = ctx;
	char *p = usp_mem_strdup(d->m, path);

	if (!p || usp_mem_push(d->m, (void ***)&d->ok->deregistered_path, &d->ok->n_deregistered_path, p))
		d->oom = true;
}

/* R-DEREG.2: an empty path takes every path of the Service, each named in
 * the one success. */
static dereg_result *deregister_all(svc *s, usp_mem *m)
{
	dereg_result *r = dereg_result_new(m, "", MAP_PROXY_REG_OK);
	dereg_all d = {.m = m, .ok = r ? r->oper_status->oper_success : NULL};

	if (!r)
		return NULL;
	map_proxy_deregister_all(s->b->reg, s, note_removed, &d);
	return d.oom ? NULL : r;
}

/* R-DEREG.4: always a DeregisterResp, one result per path. */
static int serve_deregister(svc *s, usp_mem *m, const Usp__Deregister *dg, Usp__Response *resp)
{
	Usp__DeregisterResp *dr = usp_mem_new_msg(m, &usp__deregister_resp__descriptor);

	if (!dr)
		return USP_ERR_RESOURCES_EXCEEDED;
	for (size_t i = 0; i < dg->n_paths; i++) {
		const char *path = dg->paths[i] ? dg->paths[i] : "";
		dereg_result *r;
		if (!*path) {
			r = deregister_all(s, m);
		} else {
			map_proxy_reg rc = map_proxy_deregister(s->b->reg, path, s);
			r = dereg_result_new(m, path, rc);
			if (r && rc == MAP_PROXY_REG_OK) {
				char *p = usp_mem_strdup(m, path);
				if (!p || usp_mem_push(m, (void ***)&r->oper_status->oper_success->deregistered_path,
						       &r->oper_status->oper_success->n_deregistered_path, p))
					r = NULL;
			}
		}
		if (!r || usp_mem_push(m, (void ***)&dr->deregistered_path_results, &dr->n_deregistered_path_results, r))
			return USP_ERR_RESOURCES_EXCEEDED;
		CORE_LOG_I(LOG_MOD, "%s deregistered %s", s->conn->peer_id, *path ? path : "all its paths");
	}
	usp_broker_table_sync(s->b->a, s->b->reg);
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_DEREGISTER_RESP;
	resp->deregister_resp = dr;
	usp_broker_relays_changed(s->b->relays);
	return 0;
}

/* A Notify for a relayed subscription goes to its Controller
 * (broker_notify.c); any other is only acknowledged. Either way one that
 * wants a response gets it, so that the Service does not retry. */
static int serve_notify(svc *s, usp_mem *m, const Usp__Notify *n, Usp__Response *resp)
{
	Usp__NotifyResp *nr = usp_mem_new_msg(m, &usp__notify_resp__descriptor);

	if (!usp_broker_relays_notify(s->b->relays, s, n))
		CORE_LOG_D(LOG_MOD, "Notify %s from %s relays nothing", n->subscription_id, s->conn->peer_id);

	if (!nr || !(nr->subscription_id = usp_mem_strdup(m, n->subscription_id ? n->subscription_id : "")))
		return USP_ERR_RESOURCES_EXCEEDED;
	if (!n->send_resp)
		return USP_NO_RESPONSE;
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_NOTIFY_RESP;
	resp->notify_resp = nr;
	return 0;
}

/* A request of a Service: what a Controller answers. */
static void serve_svc_request(svc *s, const Usp__Msg *msg)
{
	const Usp__Request *rq = msg->body->request;
	usp_mem *m = usp_mem_new();
	Usp__Response *resp = m ? usp_mem_new_msg(m, &usp__response__descriptor) : NULL;
	Usp__Error *err = m ? usp_mem_new_msg(m, &usp__error__descriptor) : NULL;
	Usp__Header__MsgType type = USP__HEADER__MSG_TYPE__ERROR;
	int code;

	if (!resp || !err) {
		usp_mem_free(m);
		return;
	}
	switch (rq->req_type_case) {
	case USP__REQUEST__REQ_TYPE_REGISTER:
		code = serve_register(s, m, rq->register_, resp, err);
		type = USP__HEADER__MSG_TYPE__REGISTER_RESP;
		break;
	case USP__REQUEST__REQ_TYPE_DEREGISTER:
		code = serve_deregister(s, m, rq->deregister, resp);
		type = USP__HEADER__MSG_TYPE__DEREGISTER_RESP;
		break;
	case USP__REQUEST__REQ_TYPE_NOTIFY:
		code = serve_notify(s, m, rq->notify, resp);
		type = USP__HEADER__MSG_TYPE__NOTIFY_RESP;
		break;
	default:
		/* a Service's Controller reaches the agent on its own socket */
		code = USP_ERR_MESSAGE_NOT_SUPPORTED;
		break;
	}
	Usp__Msg *out = code == USP_NO_RESPONSE ? NULL : new_msg(m, msg->header->msg_id, type);
	if (out && code == 0) {
		out->body->msg_body_case = USP__BODY__MSG_BODY_RESPONSE;
		out->body->response = resp;
	} else if (out) {
		out->header->msg_type = USP__HEADER__MSG_TYPE__ERROR;
		err->err_code = (uint32_t)code;
		if (!err->err_msg || !*err->err_msg)
			err->err_msg = (char *)usp_err_text((uint32_t)code);
		out->body->msg_body_case = USP__BODY__MSG_BODY_ERROR;
		out->body->error = err;
	}
	if (out && svc_send(s, out))
		CORE_LOG_W(LOG_MOD, "cannot answer %s", s->conn->peer_id);
	usp_mem_free(m);
}

/* ---- answers of a Service ----------------------------------------------------- */

/* The Service's answer goes back to the Controller under its own msg_id:
 * an Error, or the response to what the Controller asked (usp-msg-1-4.proto
 * numbers each Response field as its Request's). */
static void pass_back(brk_req *q, Usp__Msg *msg)
{
	char *own = msg->header->msg_id;
	const Usp__Response *resp = msg->body->response;

	if (msg->body->msg_body_case == USP__BODY__MSG_BODY_RESPONSE &&
	    (!resp || (int)resp->resp_type_case != (int)q->ctl_req)) {
		ctl_fail(q, "the USP Service answered with another response type");
		return;
	}
	msg->header->msg_id = q->ctl_msg_id;
	if (usp_send_msg(q->b->a, q->ctl_id, msg))
		CORE_LOG_W(LOG_MOD, "answer for %s could not be sent", q->ctl_id);
	msg->header->msg_id = own;
}

static void take_answer(svc *s, Usp__Msg *msg)
{
	brk_req *q = req_find(s->b, s, msg->header->msg_id);

	if (!q) {
		CORE_LOG_D(LOG_MOD, "answer %s from %s matches no request", msg->header->msg_id, s->conn->peer_id);
		return;
	}
	req_unlink(q);
	if (q->op)
		usp_broker_fwd_answer(q->op, q->kind, msg);
	else if (q->ask)
		q->ask(q->ask_ctx, msg, NULL);
	else
		pass_back(q, msg);
	req_free(q);
}

static void take_msg(svc *s, const uint8_t *buf, size_t len)
{
	Usp__Msg *msg = usp__msg__unpack(NULL, len, buf);

	if (!msg || !msg->header || !msg->body || !msg->header->msg_id || !msg->header->msg_id[0]) {
		CORE_LOG_W(LOG_MOD, "malformed Msg from %s ignored", s->conn->peer_id);
	} else if (msg->body->msg_body_case == USP__BODY__MSG_BODY_REQUEST && msg->body->request) {
		serve_svc_request(s, msg);
	} else if (msg->body->msg_body_case == USP__BODY__MSG_BODY_RESPONSE ||
		   msg->body->msg_body_case == USP__BODY__MSG_BODY_ERROR) {
		take_answer(s, msg);
	} else {
		CORE_LOG_W(LOG_MOD, "Msg without a body from %s ignored", s->conn->peer_id);
	}
	if (msg)
		usp__msg__free_unpacked(msg, NULL);
}

/* ---- connections (mtp_uds.c) ---------------------------------------------------- */

static svc *svc_of(usp_broker *b, usp_conn *c)
{
	for (svc *s = b ? b->svcs : NULL; s; s = s->next)
		if (s->conn == c)
			return s;
	return NULL;
}

void usp_broker_conn_up(usp_broker *b, usp_conn *c)
{
	svc *s = b ? calloc(1, sizeof *s) : NULL;

	if (!s) {
		if (b)
			c->ops->close(c, USP_ERR_RESOURCES_EXCEEDED, "out of memory");
		return;
	}
	s->b = b;
	s->conn = c;
	s->next = b->svcs;
	b->svcs = s;
	CORE_LOG_I(LOG_MOD, "USP Service %s connected", c->peer_id);
}

void usp_broker_on_record(usp_broker *b, usp_conn *c, const uint8_t *buf, size_t len)
{
	svc *s = svc_of(b, c);
	usp_record r;
	uint32_t code = 0;
	const char *why = NULL;

	if (!s)
		return;
	memset(&r, 0, sizeof r);
	int rc = usp_record_parse(buf, len, &r);
	if (rc) {
		/* R-UDS.23 */
		c->ops->close(c, USP_ERR_RECORD_NOT_PARSED, "record could not be parsed");
		return;
	}
	int act = usp_record_check(&r, usp_agent_endpoint_id(b->a), &code, &why);
	if (act == USP_REC_ACCEPT && r.kind == USP_REC_NO_SESSION)
		take_msg(s, r.payload, r.payload_len);
	else if (act == USP_REC_CLOSE)
		c->ops->close(c, code, why);
	else if (act != USP_REC_ACCEPT)
		CORE_LOG_I(LOG_MOD, "record from %s dropped: %u %s", c->peer_id, code, why ? why : "");
	usp_record_free(&r);
}

/* A closed connection takes the Service's paths with it; what waited for
 * it fails now rather than at its deadline. */
static void svc_gone(svc *s)
{
	usp_broker *b = s->b;
	size_t n = map_proxy_deregister_all(b->reg, s, NULL, NULL);

	usp_broker_relays_svc_gone(b->relays, s);
	usp_broker_table_sync(b->a, b->reg);

	for (brk_req *q = b->reqs, *next; q; q = next) {
		next = q->next;
		if (q->s == s)
			req_fail(q, "the USP Service went away");
	}
	CORE_LOG_I(LOG_MOD, "USP Service %s gone (%zu paths deregistered)", s->conn->peer_id, n);
}

void usp_broker_conn_down(usp_broker *b, usp_conn *c)
{
	for (svc **pp = b ? &b->svcs : NULL; pp && *pp; pp = &(*pp)->next) {
		svc *s = *pp;
		if (s->conn != c)
			continue;
		*pp = s->next;
		svc_gone(s);
		free(s);
		return;
	}
}

/* ---- Controllers' requests ---------------------------------------------------- */

/* The paths a request names, in the message's own memory. */
static size_t request_paths(const Usp__Request *rq, const char **out, size_t max)
{
	char *const *v = NULL;
	size_t n = 0;

	switch (rq->req_type_case) {
	case USP__REQUEST__REQ_TYPE_GET:
		v = rq->get->param_paths, n = rq->get->n_param_paths;
		break;
	case USP__REQUEST__REQ_TYPE_DELETE:
		v = rq->delete_->obj_paths, n = rq->delete_->n_obj_paths;
		break;
	case USP__REQUEST__REQ_TYPE_GET_INSTANCES:
		v = rq->get_instances->obj_paths, n = rq->get_instances->n_obj_paths;
		break;
	case USP__REQUEST__REQ_TYPE_GET_SUPPORTED_DM:
		v = rq->get_supported_dm->obj_paths, n = rq->get_supported_dm->n_obj_paths;
		break;
	case USP__REQUEST__REQ_TYPE_OPERATE:
		v = &rq->operate->command, n = 1;
		break;
	case USP__REQUEST__REQ_TYPE_SET:
		n = rq->set->n_update_objs;
		for (size_t i = 0; i < n && i < max; i++)
			out[i] = rq->set->update_objs[i]->obj_path;
		break;
	case USP__REQUEST__REQ_TYPE_ADD:
		n = rq->add->n_create_objs;
		for (size_t i = 0; i < n && i < max; i++)
			out[i] = rq->add->create_objs[i]->obj_path;
		break;
	default:
		break;
	}
	for (size_t i = 0; v && i < n && i < max; i++)
		out[i] = v[i];
	for (size_t i = 0; i < n && i < max; i++)
		if (!out[i])
			out[i] = "";
	return n;
}

/* The Service serving every one of the request's paths, or NULL. */
static svc *serving_svc(usp_broker *b, const Usp__Request *rq)
{
	const char *paths[64];
	size_t n = request_paths(rq, paths, 64);
	void *fwd = NULL, *first = NULL;

	if (!n || n > 64)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!map_proxy_match(b->reg, paths[i], &fwd) || (first && fwd != first))
			return NULL;
		first = fwd;
	}
	return first;
}

/* What a Controller needs on each path of a forwarded request: a coarse
 * ControllerTrust check on the paths as written, since the agent never
 * sees the objects a Service resolves them to. */
static const struct {
	Usp__Request__ReqTypeCase req;
	usp_perm_kind obj_kind, param_kind; /* for "Device.X." and "Device.X.Name" */
	unsigned flag;
} perm_rows[] = {
	{USP__REQUEST__REQ_TYPE_GET, USP_PERM_INST_OBJ, USP_PERM_PARAM, USP_PERM_R},
	{USP__REQUEST__REQ_TYPE_GET_INSTANCES, USP_PERM_INST_OBJ, USP_PERM_INST_OBJ, USP_PERM_R},
	{USP__REQUEST__REQ_TYPE_GET_SUPPORTED_DM, USP_PERM_OBJ, USP_PERM_OBJ, USP_PERM_R},
	{USP__REQUEST__REQ_TYPE_SET, USP_PERM_PARAM, USP_PERM_PARAM, USP_PERM_W},
	{USP__REQUEST__REQ_TYPE_ADD, USP_PERM_OBJ, USP_PERM_OBJ, USP_PERM_W},
	{USP__REQUEST__REQ_TYPE_DELETE, USP_PERM_INST_OBJ, USP_PERM_INST_OBJ, USP_PERM_W},
	{USP__REQUEST__REQ_TYPE_OPERATE, USP_PERM_CMD_EVENT, USP_PERM_CMD_EVENT, USP_PERM_X},
};

static bool ctl_may(const usp_req_ctx *c)
{
	const Usp__Request *rq = c->req->body->request;
	const char *paths[64];
	size_t n = request_paths(rq, paths, 64);

	for (size_t r = 0; r < sizeof perm_rows / sizeof perm_rows[0]; r++) {
		if (perm_rows[r].req != rq->req_type_case)
			continue;
		for (size_t i = 0; i < n && i < 64; i++) {
			size_t len = strlen(paths[i]);
			usp_perm_kind k = len && paths[i][len - 1] == '.' ? perm_rows[r].obj_kind : perm_rows[r].param_kind;
			if (!usp_allowed(c->ctl, k, paths[i], perm_rows[r].flag))
				return false;
		}
		return true;
	}
	return false;
}

/* The Controller's request goes to the Service whole, under our msg_id. */
/* Send a request Msg to s under a fresh msg_id of ours; the waiting
 * party is the caller's to fill in. NULL when it could not be sent. */
static brk_req *send_request(svc *s, const Usp__Msg *req)
{
	brk_req *q = req_new(s);
	Usp__Header hdr = *req->header;
	Usp__Msg msg = *req;

	if (!q)
		return NULL;
	hdr.msg_id = q->msg_id;
	msg.header = &hdr;
	if (svc_send(s, &msg)) {
		req_unlink(q);
		req_free(q);
		return NULL;
	}
	return q;
}

static int forward_request(svc *s, const usp_req_ctx *c, const char *msg_id)
{
	char *id = strdup(msg_id);
	brk_req *q = id ? send_request(s, c->req) : NULL;

	if (!q) {
		free(id);
		return USP_ERR_INTERNAL_ERROR;
	}
	q->ctl_msg_id = id;
	snprintf(q->ctl_id, sizeof q->ctl_id, "%s", c->ctl->endpoint_id);
	q->ctl_req = c->req->body->request->req_type_case;
	CORE_LOG_D(LOG_MOD, "request %s of %s forwarded to %s as %s", msg_id, q->ctl_id, s->conn->peer_id, q->msg_id);
	return USP_NO_RESPONSE;
}

int usp_broker_ask(usp_broker *b, const char *path, const Usp__Msg *req, usp_broker_answer_fn answer, void *ctx)
{
	void *fwd = NULL;
	brk_req *q = b && map_proxy_match(b->reg, path, &fwd) ? send_request(fwd, req) : NULL;

	if (!q)
		return DM_ERR_NOT_INSTANTIATED;
	q->ask = answer;
	q->ask_ctx = ctx;
	return DM_OK;
}

int usp_broker_route(usp_req_ctx *c, const char *msg_id)
{
	usp_broker *b = c->agent ? usp_agent_broker(c->agent) : NULL;
	svc *s = b && map_proxy_count(b->reg) ? serving_svc(b, c->req->body->request) : NULL;

	if (!s)
		return b && usp_broker_merge_wanted(b->reg, c) ? USP_BROKER_MERGE : 0;
	return ctl_may(c) ? forward_request(s, c, msg_id) : USP_ERR_PERMISSION_DENIED;
}

/* ---- start and stop ---------------------------------------------------------- */

map_proxy *usp_broker_registry(usp_broker *b)
{
	return b ? b->reg : NULL;
}

int usp_broker_start(usp_agent *a, map_proxy *reg, usp_broker **out)
{
	*out = NULL;
	if (!reg)
		return DM_OK;
	usp_broker *b = calloc(1, sizeof *b);
	if (!b)
		return DM_ERR_NOMEM;
	b->a = a;
	b->reg = reg;
	if (usp_broker_relays_start(b, a, &b->relays))
		CORE_LOG_W(LOG_MOD, "subscriptions on USP Services' paths will not be relayed");
	usp_broker_table_sync(a, reg); /* rows of the previous run's Services go */
	*out = b;
	return DM_OK;
}

void usp_broker_stop(usp_broker *b)
{
	if (!b)
		return;
	usp_broker_relays_stop(b->relays);
	b->relays = NULL;
	while (b->svcs) {
		svc *s = b->svcs;
		b->svcs = s->next;
		svc_gone(s);
		free(s);
	}
	while (b->reqs)
		req_fail(b->reqs, "the USP Broker is stopping");
	free(b);
}
