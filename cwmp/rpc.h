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

#endif
