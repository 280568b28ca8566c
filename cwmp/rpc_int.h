/*
 * rpc_int.h - what the files of the RPC module share: the handlers that
 * rpc.c registers. rpc_get.c answers the reads (GetParameterValues,
 * GetParameterNames), rpc_write.c the writes (SetParameterValues,
 * AddObject, DeleteObject). Nothing outside rpc*.c includes this file.
 */
#ifndef DUET_CWMP_RPC_INT_H
#define DUET_CWMP_RPC_INT_H

#include "cwmp_int.h"

/* TR-069 A.3.2.1: ParameterKey is a string(32). */
#define CWMP_PARAMETER_KEY_MAX 32
#define CWMP_PARAMETER_KEY_PATH "Device.ManagementServer.ParameterKey"

void cwmp_rpc_get_parameter_values(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void cwmp_rpc_get_parameter_names(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void cwmp_rpc_set_parameter_values(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void cwmp_rpc_add_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void cwmp_rpc_delete_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);

/* GPV and GPN on the agent's own store alone (rpc_get.c). */
void cwmp_rpc_gpv_local(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void cwmp_rpc_gpn_local(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
/* Writable as GetParameterNames reports it (rpc_get.c). */
bool cwmp_rpc_acs_may_write(const dm_node *n);
/* Record the ParameterKey after a write done elsewhere (a USP Service's):
 * one ACS-origin transaction (rpc_write.c). 0 or a negative dm_err. */
int cwmp_rpc_record_key(cwmp_agent *a, const char *key);

/*
 * rpc_proxy.c: the same RPCs on paths a USP Service registered
 * (a->proxy, mapping/proxy.h). Each returns true when it took the request
 * (rep holds a fault, or the answer was deferred: rpc.h), false when the
 * agent serves it itself. GPV also reads the request's other names from
 * the agent; SPV refuses (9001) a mix of the agent's and a Service's
 * parameters, which no single atomic change can cover.
 */
bool cwmp_rpc_proxy_gpv(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
bool cwmp_rpc_proxy_gpn(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
bool cwmp_rpc_proxy_spv(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
/* AddObject and DeleteObject (after their ObjectName and key checks). */
bool cwmp_rpc_proxy_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);

#endif
