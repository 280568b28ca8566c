/*
 * rpc.c - the dispatch of ACS requests to their handlers, and
 * GetRPCMethods. The data model reads live in rpc_get.c, the writes in
 * rpc_write.c; the other modules register their own handlers.
 */
#include "rpc.h"
#include "rpc_int.h"

#include <stdlib.h>
#include <string.h>

/* A deferred ACS request (cwmp_rpc_defer). */
typedef struct cwmp_rpc_wait cwmp_rpc_wait;
struct cwmp_rpc_wait {
	char *id; /* its cwmp:ID, or NULL */
	void (*cancel)(void *ctx);
	void *ctx;
};

/* The request's method is one an ACS may call on a CPE (responses, faults
 * and the empty body are not). */
static bool is_acs_request(cwmp_msg_kind kind)
{
	return cwmp_rpc_method_name(kind) != NULL;
}

/* A.3.1.1: the list must hold exactly the methods the CPE answers, so it is
 * read from the dispatch table rather than kept by hand. Enum order keeps
 * it stable from one session to the next. */
static void get_rpc_methods(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_strings *list = &rep->msg.u.names;
	size_t cap = 0;

	(void)req;
	rep->msg.kind = CWMP_MSG_GET_RPC_METHODS_RESPONSE;
	list->v = NULL;
	list->n = 0;
	for (int k = 0; k < CWMP_MSG_KIND_COUNT; k++) {
		const char *name = cwmp_rpc_method_name((cwmp_msg_kind)k);

		if (!name || !a->rpc[k])
			continue;
		if (cwmp_reply_reserve(rep, (void **)&list->v, &cap, list->n + 1, sizeof *list->v)) {
			cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
			return;
		}
		/* the codec only reads the strings: the static names need no copy */
		list->v[list->n++] = (char *)name;
	}
}

void cwmp_rpc_register_dm(cwmp_agent *a)
{
	cwmp_rpc_register(a, CWMP_MSG_GET_RPC_METHODS, get_rpc_methods);
	cwmp_rpc_register(a, CWMP_MSG_GET_PARAMETER_VALUES, cwmp_rpc_get_parameter_values);
	cwmp_rpc_register(a, CWMP_MSG_GET_PARAMETER_NAMES, cwmp_rpc_get_parameter_names);
	cwmp_rpc_register(a, CWMP_MSG_SET_PARAMETER_VALUES, cwmp_rpc_set_parameter_values);
	cwmp_rpc_register(a, CWMP_MSG_ADD_OBJECT, cwmp_rpc_add_object);
	cwmp_rpc_register(a, CWMP_MSG_DELETE_OBJECT, cwmp_rpc_delete_object);
}

/* TR-069 3.5: a response to a request carrying cwmp:ID carries the same
 * ID. HoldRequests belongs to the ACS only: the CPE never sends it. */
static void answer_header(const cwmp_msg *req, cwmp_reply *rep)
{
	rep->msg.hdr.hold_requests = -1;
	rep->msg.hdr.session_timeout = 0;
	rep->msg.hdr.supported_versions = NULL;
	rep->msg.hdr.use_version = NULL;
	rep->msg.hdr.id = NULL;
	if (req && req->hdr.id && !(rep->msg.hdr.id = cwmp_reply_strdup(rep, req->hdr.id)))
		cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
}

void cwmp_rpc_handle(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_rpc_fn fn = NULL;

	if (a && req && is_acs_request(req->kind))
		fn = a->rpc[req->kind];
	if (!fn) {
		cwmp_reply_fault(rep, CWMP_FAULT_METHOD_NOT_SUPPORTED, NULL);
	} else {
		fn(a, req, rep);
		if (a->rpc_wait && rep->msg.kind == CWMP_MSG_EMPTY)
			return; /* answered later: cwmp_rpc_answer_late */
		/* a handler that answered nothing is a bug of ours, not the ACS's */
		if (rep->msg.kind == CWMP_MSG_EMPTY)
			cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
	}
	answer_header(req, rep);
}

/* ---- answering later ---------------------------------------------------- */

static void wait_free(cwmp_rpc_wait *w)
{
	free(w->id);
	free(w);
}

int cwmp_rpc_defer(cwmp_agent *a, const cwmp_msg *req, void (*cancel)(void *ctx), void *ctx)
{
	cwmp_rpc_wait *w = calloc(1, sizeof *w);

	if (!w || (req->hdr.id && !(w->id = strdup(req->hdr.id)))) {
		free(w);
		return DM_ERR_NOMEM;
	}
	cwmp_rpc_wait_cancel(a); /* one request at a time: none can be left */
	w->cancel = cancel;
	w->ctx = ctx;
	a->rpc_wait = w;
	return 0;
}

bool cwmp_rpc_deferred(const cwmp_agent *a)
{
	return a && a->rpc_wait;
}

void cwmp_rpc_answer_late(cwmp_agent *a, cwmp_reply *rep)
{
	cwmp_rpc_wait *w = a->rpc_wait;
	cwmp_msg req = {0};

	if (!w)
		return;
	a->rpc_wait = NULL;
	req.hdr.id = w->id;
	if (rep->msg.kind == CWMP_MSG_EMPTY)
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
	answer_header(&req, rep);
	wait_free(w);
	if (a->late_answer)
		a->late_answer(a, rep);
}

void cwmp_rpc_wait_cancel(cwmp_agent *a)
{
	cwmp_rpc_wait *w = a ? a->rpc_wait : NULL;

	if (!w)
		return;
	a->rpc_wait = NULL;
	if (w->cancel)
		w->cancel(w->ctx);
	wait_free(w);
}
