/*
 * rpc.h - answering the ACS: the dispatch of every request to its
 * registered handler, and the handlers of the data model RPCs
 * (GetRPCMethods, GetParameterValues, GetParameterNames,
 * SetParameterValues, AddObject, DeleteObject).
 */
#ifndef DUET_CWMP_RPC_H
#define DUET_CWMP_RPC_H

#include "cwmp_int.h"

/* Register the handlers of this file in a->rpc. */
void cwmp_rpc_register_dm(cwmp_agent *a);

/*
 * Answer one decoded ACS request into rep (initialised by the caller):
 * the registered handler's response, 9000 for a kind without a handler,
 * and the request's cwmp:ID copied into the reply's header. Never leaves
 * rep empty. Responses and faults of the ACS are not requests: 9000.
 */
void cwmp_rpc_handle(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);

/*
 * Answering later: a handler whose answer waits beyond this loop turn (a
 * path a USP Service serves, mapping/proxy.h) calls cwmp_rpc_defer and
 * leaves rep empty; cwmp_rpc_handle then adds nothing, and the session,
 * seeing cwmp_rpc_deferred, sends nothing yet. cancel(ctx) drops the work
 * if the session ends first. Returns 0, or DM_ERR_NOMEM (then the handler
 * answers at once).
 */
int cwmp_rpc_defer(cwmp_agent *a, const cwmp_msg *req, void (*cancel)(void *ctx), void *ctx);
bool cwmp_rpc_deferred(const cwmp_agent *a);
/* The deferred request's answer, once: the header gets the request's
 * cwmp:ID and a->late_answer sends it. rep stays the caller's. */
void cwmp_rpc_answer_late(cwmp_agent *a, cwmp_reply *rep);
/* Drop the deferred request, if any: its cancel runs, nothing is sent. */
void cwmp_rpc_wait_cancel(cwmp_agent *a);

#endif
