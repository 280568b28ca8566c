/*
 * msg.c - one received USP Msg to one response: decode, check the header
 * and body, dispatch a Request by type to its handler (msg_*.c), and encode
 * the Response or Error with the request's msg_id. Responses that reach the
 * Agent (NotifyResp) go to subs.c and get no answer; Error messages are
 * logged. Also the helpers every request handler shares: resolving object
 * paths, reading values, unique keys. Records and MTPs live elsewhere.
 */
#include "usp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "usp"

/* ---- dispatch ----------------------------------------------------------- */

/* Requests an Agent serves. Notify, Register and Deregister travel from an
 * Agent to a Controller: here, from a Controller, they are answered with
 * 7001 Message not supported (R-MSG.1: an Error for what we do not serve);
 * USP Services register on the Broker socket (broker.c). */
static const struct {
	Usp__Request__ReqTypeCase req;
	usp_req_handler handler;
	Usp__Header__MsgType resp_type;
} routes[] = {
	{USP__REQUEST__REQ_TYPE_GET, usp_handle_get, USP__HEADER__MSG_TYPE__GET_RESP},
	{USP__REQUEST__REQ_TYPE_SET, usp_handle_set, USP__HEADER__MSG_TYPE__SET_RESP},
	{USP__REQUEST__REQ_TYPE_ADD, usp_handle_add, USP__HEADER__MSG_TYPE__ADD_RESP},
	{USP__REQUEST__REQ_TYPE_DELETE, usp_handle_delete, USP__HEADER__MSG_TYPE__DELETE_RESP},
	{USP__REQUEST__REQ_TYPE_OPERATE, usp_handle_operate, USP__HEADER__MSG_TYPE__OPERATE_RESP},
	{USP__REQUEST__REQ_TYPE_GET_INSTANCES, usp_handle_get_instances, USP__HEADER__MSG_TYPE__GET_INSTANCES_RESP},
	{USP__REQUEST__REQ_TYPE_GET_SUPPORTED_DM, usp_handle_get_supported_dm,
	 USP__HEADER__MSG_TYPE__GET_SUPPORTED_DM_RESP},
	{USP__REQUEST__REQ_TYPE_GET_SUPPORTED_PROTOCOL, usp_handle_get_supported_proto,
	 USP__HEADER__MSG_TYPE__GET_SUPPORTED_PROTO_RESP},
};

int usp_msg_pack(const Usp__Msg *m, uint8_t **out, size_t *len)
{
	size_t n = usp__msg__get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return DM_ERR_NOMEM;
	*len = usp__msg__pack(m, buf);
	*out = buf;
	return 0;
}

int usp_error_add_param(usp_mem *m, Usp__Error *err, const char *path, uint32_t code, const char *msg)
{
	Usp__Error__ParamError *pe = usp_mem_new_msg(m, &usp__error__param_error__descriptor);
	if (!pe)
		return DM_ERR_NOMEM;
	pe->param_path = usp_mem_strdup(m, path ? path : "");
	pe->err_code = code;
	pe->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!pe->param_path || !pe->err_msg)
		return DM_ERR_NOMEM;
	return usp_mem_push(m, (void ***)&err->param_errs, &err->n_param_errs, pe);
}

/*
 * The msg_id of a payload protobuf-c refused, read straight off the wire
 * (Msg.header = field 1, Header.msg_id = field 1): R-MTP.5 answers an
 * erroneous request whenever its Message ID can be extracted.
 */
static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The first length-delimited field number `field` of buf. */
static bool wire_find(const uint8_t *buf, size_t len, uint64_t field, const uint8_t **val, size_t *vlen)
{
	const uint8_t *p = buf, *end = buf + len;
	while (p < end) {
		uint64_t key, n;
		if (!wire_varint(&p, end, &key))
			return false;
		switch (key & 7) {
		case 0:
			if (!wire_varint(&p, end, &n))
				return false;
			break;
		case 1:
			if ((size_t)(end - p) < 8)
				return false;
			p += 8;
			break;
		case 5:
			if ((size_t)(end - p) < 4)
				return false;
			p += 4;
			break;
		case 2:
			if (!wire_varint(&p, end, &n) || n > (uint64_t)(end - p))
				return false;
			if (key >> 3 == field) {
				*val = p;
				*vlen = (size_t)n;
				return true;
			}
			p += n;
			break;
		default:
			return false; /* groups: not in USP's messages */
		}
	}
	return false;
}

static char *peek_msg_id(usp_mem *m, const uint8_t *buf, size_t len)
{
	const uint8_t *hdr, *id;
	size_t hl, il;
	if (!wire_find(buf, len, 1, &hdr, &hl) || !wire_find(hdr, hl, 1, &id, &il) || il == 0)
		return NULL;
	char *s = usp_mem_alloc(m, il + 1);
	if (s)
		memcpy(s, id, il);
	return s;
}

/* Build the reply Msg around a Response or an Error and encode it. */
static int reply(usp_mem *m, const char *msg_id, Usp__Header__MsgType type, Usp__Response *resp,
		 Usp__Error *err, uint8_t **out, size_t *out_len)
{
	Usp__Msg *msg = usp_mem_new_msg(m, &usp__msg__descriptor);
	Usp__Header *hdr = usp_mem_new_msg(m, &usp__header__descriptor);
	Usp__Body *body = usp_mem_new_msg(m, &usp__body__descriptor);
	if (!msg || !hdr || !body)
		return DM_ERR_NOMEM;
	hdr->msg_id = (char *)msg_id; /* R-MSG.9: the request's msg_id */
	hdr->msg_type = type;
	msg->header = hdr;
	msg->body = body;
	if (resp) {
		body->msg_body_case = USP__BODY__MSG_BODY_RESPONSE;
		body->response = resp;
	} else {
		body->msg_body_case = USP__BODY__MSG_BODY_ERROR;
		body->error = err;
	}
	return usp_msg_pack(msg, out, out_len);
}

static int reply_error(usp_mem *m, const char *msg_id, uint32_t code, const char *text, uint8_t **out,
		       size_t *out_len)
{
	Usp__Error *err = usp_mem_new_msg(m, &usp__error__descriptor);
	if (!err)
		return DM_ERR_NOMEM;
	err->err_code = code;
	err->err_msg = usp_mem_strdup(m, text && *text ? text : usp_err_text(code));
	if (!err->err_msg)
		return DM_ERR_NOMEM;
	return reply(m, msg_id, USP__HEADER__MSG_TYPE__ERROR, NULL, err, out, out_len);
}

static int serve_request(usp_req_ctx *c, const char *msg_id, uint8_t **out, size_t *out_len)
{
	const Usp__Request *rq = c->req->body->request;
	size_t i = 0, nr = sizeof routes / sizeof routes[0];
	while (i < nr && routes[i].req != rq->req_type_case)
		i++;
	/* paths a USP Service registered: the Service answers (broker.c) */
	int fwd = i < nr ? usp_broker_route(c, msg_id) : 0;
	if (fwd == USP_NO_RESPONSE)
		return 0;
	if (fwd && fwd != USP_BROKER_MERGE)
		return reply_error(c->mem, msg_id, (uint32_t)fwd, NULL, out, out_len);
	if (i == nr) {
		CORE_LOG_D(LOG_MOD, "request type %d from %s not supported", (int)rq->req_type_case,
			   c->ctl->endpoint_id);
		return reply_error(c->mem, msg_id, USP_ERR_MESSAGE_NOT_SUPPORTED,
				   "this request is not served by this Agent", out, out_len);
	}
	Usp__Response *resp = usp_mem_new_msg(c->mem, &usp__response__descriptor);
	Usp__Error *err = usp_mem_new_msg(c->mem, &usp__error__descriptor);
	if (!resp || !err)
		return DM_ERR_NOMEM;
	int code = routes[i].handler(c, resp, err);
	if (code == USP_NO_RESPONSE)
		return 0; /* carried out, and no response is due (Operate, R-OPR.4) */
	if (code == 0 && resp->resp_type_case != USP__RESPONSE__RESP_TYPE__NOT_SET) {
		int rc = reply(c->mem, msg_id, routes[i].resp_type, resp, NULL, out, out_len);
		/* the Services' subtrees join the answer, which goes later */
		if (!rc && fwd == USP_BROKER_MERGE && !usp_broker_merge(c, *out, *out_len)) {
			*out = NULL;
			*out_len = 0;
		}
		return rc;
	}
	if (code == 0)
		code = USP_ERR_INTERNAL_ERROR; /* a handler that built nothing */
	else if (code < 0)
		code = code == DM_ERR_NOMEM ? USP_ERR_RESOURCES_EXCEEDED : USP_ERR_INTERNAL_ERROR;
	err->err_code = (uint32_t)code;
	if (!err->err_msg || !*err->err_msg)
		err->err_msg = (char *)usp_err_text((uint32_t)code);
	return reply(c->mem, msg_id, USP__HEADER__MSG_TYPE__ERROR, NULL, err, out, out_len);
}

static void take_response(usp_agent *a, const usp_ctl *ctl, const Usp__Msg *msg)
{
	const Usp__Response *r = msg->body->response;
	if (r->resp_type_case == USP__RESPONSE__RESP_TYPE_NOTIFY_RESP) {
		if (a)
			usp_handle_notify_resp(a, ctl, msg);
		return;
	}
	/* the Agent sends no other request, so no other response is due */
	CORE_LOG_D(LOG_MOD, "ignoring unsolicited response %d (msg_id %s) from %s", (int)r->resp_type_case,
		   msg->header->msg_id, ctl->endpoint_id);
}

int usp_msg_process(usp_agent *a, dm *d, const usp_ctl *ctl, const uint8_t *buf, size_t len,
		    uint8_t **resp, size_t *resp_len)
{
	*resp = NULL;
	*resp_len = 0;
	usp_mem *m = usp_mem_new();
	if (!m)
		return DM_ERR_NOMEM;
	int rc = 0;
	Usp__Msg *msg = usp__msg__unpack(NULL, len, buf);
	if (msg && !usp_pb_text_valid(&msg->base)) {
		/* strings that are not UTF-8: undecodable, as protobuf has it */
		usp__msg__free_unpacked(msg, NULL);
		msg = NULL;
	}
	const char *msg_id = msg && msg->header && msg->header->msg_id[0] ? msg->header->msg_id
									 : peek_msg_id(m, buf, len);
	if (msg_id && !dm_utf8_valid(msg_id))
		msg_id = NULL; /* R-MSG.8 then: nothing to answer with */
	if (!msg || !msg->header || !msg->body) {
		/* R-MSG.6/7: exactly one header and one body */
		CORE_LOG_W(LOG_MOD, "malformed Msg from %s (%zu bytes)", ctl->endpoint_id, len);
		if (msg_id)
			rc = reply_error(m, msg_id, USP_ERR_INVALID_ARGUMENTS,
					 msg ? "Msg lacks its header or body" : "Msg could not be decoded", resp,
					 resp_len);
		goto out;
	}
	if (!msg_id) {
		/* R-MSG.8: no msg_id, nothing to answer with */
		CORE_LOG_W(LOG_MOD, "Msg without msg_id from %s ignored", ctl->endpoint_id);
		goto out;
	}
	switch (msg->body->msg_body_case) {
	case USP__BODY__MSG_BODY_REQUEST: {
		usp_req_ctx c = {a, d, ctl, msg, m, a ? usp_agent_options(a)->view : NULL};
		rc = serve_request(&c, msg_id, resp, resp_len);
		break;
	}
	case USP__BODY__MSG_BODY_RESPONSE:
		take_response(a, ctl, msg);
		break;
	case USP__BODY__MSG_BODY_ERROR:
		CORE_LOG_W(LOG_MOD, "Error %u from %s for msg_id %s: %s", msg->body->error->err_code,
			   ctl->endpoint_id, msg_id, msg->body->error->err_msg);
		break;
	default:
		rc = reply_error(m, msg_id, USP_ERR_INVALID_ARGUMENTS, "Msg body holds no request", resp,
				 resp_len);
		break;
	}
out:
	if (msg)
		usp__msg__free_unpacked(msg, NULL);
	usp_mem_free(m);
	return rc;
}

int usp_msg_handle(usp_agent *a, const usp_ctl *ctl, const uint8_t *buf, size_t len, uint8_t **resp,
		   size_t *resp_len)
{
	return usp_msg_process(a, usp_agent_dm(a), ctl, buf, len, resp, resp_len);
}

/* ---- helpers shared by the request handlers ----------------------------- */

static void set_err(dm_errinfo *e, int code, const char *path, const char *fmt, ...)
{
	if (!e)
		return;
	e->code = code;
	e->reason = DM_REASON_NONE;
	snprintf(e->path, sizeof e->path, "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

/* "Device.X.3." names an instance, "Device.X." the table itself. */
static bool is_instance_path(const char *path)
{
	size_t n = strlen(path);
	return n >= 2 && path[n - 2] >= '0' && path[n - 2] <= '9';
}

typedef struct obj_collect {
	usp_mem *m;
	usp_obj *v;
	size_t n, cap;
	bool table;
	bool oom;
} obj_collect;

static int collect_obj(void *ctx, const dm_item *it)
{
	obj_collect *oc = ctx;
	if (dm_node_is_table(it->node) && !is_instance_path(it->path)) {
		oc->table = true;
		return 1;
	}
	if (oc->n == oc->cap) {
		size_t cap = oc->cap ? oc->cap * 2 : 8;
		usp_obj *nv = usp_mem_alloc(oc->m, cap * sizeof *nv);
		if (!nv) {
			oc->oom = true;
			return 1;
		}
		if (oc->n)
			memcpy(nv, oc->v, oc->n * sizeof *nv);
		oc->v = nv;
		oc->cap = cap;
	}
	usp_obj *o = &oc->v[oc->n];
	if (!(o->path = usp_mem_strdup(oc->m, it->path))) {
		oc->oom = true;
		return 1;
	}
	o->node = it->node;
	oc->n++;
	return 0;
}

int usp_req_txn_begin(const usp_req_ctx *c, dm_txn_mode mode, const dm_origin *origin, dm_txn **t)
{
	int rc = dm_txn_begin(c->d, mode, origin, t);
	if (!rc)
		dm_txn_set_view(*t, c->view);
	return rc;
}

int usp_resolve_objects(usp_mem *m, dm_txn *t, const char *expr, usp_obj **objs, size_t *n,
			dm_errinfo *err)
{
	obj_collect oc = {.m = m};
	*objs = NULL;
	*n = 0;
	int rc = dm_resolve(t, DM_GRAMMAR_USP, expr, DM_RESOLVE_OBJECTS | DM_RESOLVE_TABLES, 0, collect_obj,
			    &oc, err);
	if (oc.oom) {
		set_err(err, DM_ERR_NOMEM, expr, "out of memory");
		return DM_ERR_NOMEM;
	}
	if (oc.table) {
		set_err(err, DM_ERR_NOT_IN_SCHEMA, expr,
			"%s ends at a table: name an instance or use a wildcard or search", expr);
		return DM_ERR_NOT_IN_SCHEMA;
	}
	if (rc)
		return rc;
	size_t len = strlen(expr);
	if (!len || expr[len - 1] != '.') {
		set_err(err, DM_ERR_NOT_OBJECT, expr, "%s is not an object path", expr);
		return DM_ERR_NOT_OBJECT;
	}
	*objs = oc.v;
	*n = oc.n;
	return DM_OK;
}

int usp_read_value(usp_mem *m, dm *d, dm_txn *t, const char *path, char **out)
{
	char buf[1024];
	dm_errinfo e;
	*out = NULL;
	int rc = dm_get_value_buf(d, t, path, buf, sizeof buf, &e);
	if (rc == DM_OK) {
		*out = usp_mem_strdup(m, buf);
		return *out ? DM_OK : DM_ERR_NOMEM;
	}
	if (rc != DM_ERR_NOMEM)
		return rc;
	/* longer than the stack buffer (or really out of memory) */
	char *v = NULL;
	if ((rc = dm_get_value(d, t, path, &v, &e)))
		return rc;
	*out = usp_mem_strdup(m, v);
	free(v);
	return *out ? DM_OK : DM_ERR_NOMEM;
}

bool usp_is_unique_key_param(const dm_node *table, const char *name)
{
	unsigned nk = table ? dm_node_unique_key_count(table) : 0;
	for (unsigned k = 0; k < nk; k++) {
		bool functional;
		const dm_node *const *params;
		unsigned np;
		if (dm_node_unique_key(table, k, &functional, &params, &np))
			continue;
		for (unsigned i = 0; i < np; i++)
			if (!strcmp(dm_node_name(params[i]), name))
				return true;
	}
	return false;
}

static bool kv_has(const usp_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return true;
	return false;
}

int usp_unique_keys(usp_req_ctx *c, dm_txn *t, const char *inst_path, const dm_node *table, usp_kv **kv,
		    size_t *n)
{
	*kv = NULL;
	*n = 0;
	unsigned nk = dm_node_unique_key_count(table), total = 0;
	for (unsigned k = 0; k < nk; k++) {
		bool functional;
		const dm_node *const *params;
		unsigned np;
		if (!dm_node_unique_key(table, k, &functional, &params, &np))
			total += np;
	}
	if (!total)
		return DM_OK;
	usp_kv *v = usp_mem_alloc(c->mem, total * sizeof *v);
	if (!v)
		return DM_ERR_NOMEM;
	size_t cnt = 0;
	for (unsigned k = 0; k < nk; k++) {
		bool functional;
		const dm_node *const *params;
		unsigned np;
		if (dm_node_unique_key(table, k, &functional, &params, &np))
			continue;
		for (unsigned i = 0; i < np; i++) {
			const char *name = dm_node_name(params[i]);
			if (kv_has(v, cnt, name))
				continue;
			char *path = usp_mem_printf(c->mem, "%s%s", inst_path, name);
			if (!path)
				return DM_ERR_NOMEM;
			/* R-ADD.6, R-GIN.1: keys the Controller may not read stay out */
			if (!usp_allowed(c->ctl, USP_PERM_PARAM, path, USP_PERM_R))
				continue;
			char *val;
			int rc = usp_read_value(c->mem, c->d, t, path, &val);
			if (rc == DM_ERR_NOMEM)
				return rc;
			if (rc)
				continue;
			v[cnt].key = name;
			v[cnt].value = val;
			cnt++;
		}
	}
	*kv = v;
	*n = cnt;
	return DM_OK;
}
