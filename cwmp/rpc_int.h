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

#endif
