/*
 * faults.c - every CWMP fault code with its text and SOAP faultcode
 * (TR-069 A.5), the RPC situation an engine error is mapped in (the fault
 * itself is chosen by mapping/faults.c), and the other tables the modules
 * share (method names, value types).
 */
#include "cwmp_int.h"
#include "faults.h"

typedef struct fault_row {
	unsigned code;
	bool client; /* the request's content is at fault (SOAP "Client") */
	const char *text;
} fault_row;

static const fault_row fault_table[] = {
	{ 8000, false, "Method not supported" },
	{ 8001, false, "Request denied (no reason specified)" },
	{ 8002, false, "Internal error" },
	{ 8003, true, "Invalid arguments" },
	{ 8004, false, "Resources exceeded" },
	{ 8005, false, "Retry request" },
	{ 8006, false, "ACS version incompatible with CPE" },
	{ 9000, false, "Method not supported" },
	{ 9001, false, "Request denied (no reason specified)" },
	{ 9002, false, "Internal error" },
	{ 9003, true, "Invalid arguments" },
	{ 9004, false, "Resources exceeded" },
	{ 9005, true, "Invalid parameter name" },
	{ 9006, true, "Invalid parameter type" },
	{ 9007, true, "Invalid parameter value" },
	{ 9008, true, "Attempt to set a non-writable parameter" },
	{ 9009, false, "Notification request rejected" },
	{ 9010, false, "File transfer failure" },
	{ 9011, false, "Upload failure" },
	{ 9012, false, "File transfer server authentication failure" },
	{ 9013, false, "Unsupported protocol for file transfer" },
	{ 9014, false, "File transfer failure: unable to join multicast group" },
	{ 9015, false, "File transfer failure: unable to contact file server" },
	{ 9016, false, "File transfer failure: unable to access file" },
	{ 9017, false, "File transfer failure: unable to complete download" },
	{ 9018, false, "File transfer failure: file corrupted" },
	{ 9019, false, "File transfer failure: file authentication failure" },
	{ 9020, false, "File transfer failure: unable to complete download within specified time windows" },
	{ 9021, true, "Cancelation of file transfer not permitted in current transfer state" },
	{ 9022, true, "Invalid UUID format" },
	{ 9023, false, "Unknown Execution Environment" },
	{ 9024, false, "Disabled Execution Environment" },
	{ 9025, false, "Deployment Unit to Execution Environment mismatch" },
	{ 9026, false, "Duplicate Deployment Unit" },
	{ 9027, false, "System resources exceeded" },
	{ 9028, false, "Unknown Deployment Unit" },
	{ 9029, false, "Invalid Deployment Unit state" },
	{ 9030, false, "Invalid Deployment Unit update: downgrade not permitted" },
	{ 9031, false, "Invalid Deployment Unit update: version not specified" },
	{ 9032, false, "Invalid Deployment Unit update: version already exists" },
};

static const fault_row *fault_find(unsigned code)
{
	for (size_t i = 0; i < sizeof fault_table / sizeof fault_table[0]; i++)
		if (fault_table[i].code == code)
			return &fault_table[i];
	return NULL;
}

const char *cwmp_fault_text(unsigned code)
{
	const fault_row *r = fault_find(code);

	if (r)
		return r->text;
	if (code >= 9800 && code <= 9899)
		return "Vendor-defined fault";
	if (code >= 8800 && code <= 8899)
		return "Vendor-defined ACS fault";
	return "Unknown fault";
}

const char *cwmp_fault_faultcode(unsigned code)
{
	const fault_row *r = fault_find(code);

	return r && r->client ? "Client" : "Server";
}

/* Each RPC situation as mapping/ names it; the choice of fault is made there,
 * in the one table both front ends share. */
static const map_op ctx_ops[] = {
	[CWMP_CTX_READ] = MAP_OP_READ,
	[CWMP_CTX_SET_PARAM] = MAP_OP_SET_PARAM,
	[CWMP_CTX_SET_ATTR] = MAP_OP_SET_ATTR,
	[CWMP_CTX_ADD_OBJECT] = MAP_OP_ADD,
	[CWMP_CTX_DELETE_OBJECT] = MAP_OP_DELETE,
	[CWMP_CTX_OTHER] = MAP_OP_OTHER,
};

unsigned cwmp_fault_from_dm(const dm_errinfo *e, cwmp_fault_ctx ctx)
{
	map_op op = (size_t)ctx < sizeof ctx_ops / sizeof ctx_ops[0] ? ctx_ops[ctx] : MAP_OP_OTHER;

	if (!e)
		return CWMP_FAULT_INTERNAL;
	return map_dm_to_cwmp_fault(e->code, e->reason, op);
}

static const char *const method_names[CWMP_MSG_KIND_COUNT] = {
	[CWMP_MSG_GET_RPC_METHODS] = "GetRPCMethods",
	[CWMP_MSG_GET_PARAMETER_VALUES] = "GetParameterValues",
	[CWMP_MSG_GET_PARAMETER_NAMES] = "GetParameterNames",
	[CWMP_MSG_SET_PARAMETER_VALUES] = "SetParameterValues",
	[CWMP_MSG_ADD_OBJECT] = "AddObject",
	[CWMP_MSG_DELETE_OBJECT] = "DeleteObject",
	[CWMP_MSG_REBOOT] = "Reboot",
	[CWMP_MSG_FACTORY_RESET] = "FactoryReset",
	[CWMP_MSG_SCHEDULE_INFORM] = "ScheduleInform",
	[CWMP_MSG_GET_PARAMETER_ATTRIBUTES] = "GetParameterAttributes",
	[CWMP_MSG_SET_PARAMETER_ATTRIBUTES] = "SetParameterAttributes",
	[CWMP_MSG_DOWNLOAD] = "Download",
	[CWMP_MSG_UPLOAD] = "Upload",
	[CWMP_MSG_CANCEL_TRANSFER] = "CancelTransfer",
	[CWMP_MSG_GET_QUEUED_TRANSFERS] = "GetQueuedTransfers",
	[CWMP_MSG_GET_ALL_QUEUED_TRANSFERS] = "GetAllQueuedTransfers",
	[CWMP_MSG_SCHEDULE_DOWNLOAD] = "ScheduleDownload",
	[CWMP_MSG_CHANGE_DU_STATE] = "ChangeDUState",
};

const char *cwmp_rpc_method_name(cwmp_msg_kind kind)
{
	return (unsigned)kind < CWMP_MSG_KIND_COUNT ? method_names[kind] : NULL;
}

static const cwmp_value_type wire_types[] = {
	[DM_TYPE_STRING] = CWMP_TYPE_STRING,
	[DM_TYPE_BOOLEAN] = CWMP_TYPE_BOOLEAN,
	[DM_TYPE_INT] = CWMP_TYPE_INT,
	[DM_TYPE_UNSIGNED_INT] = CWMP_TYPE_UNSIGNED_INT,
	[DM_TYPE_LONG] = CWMP_TYPE_LONG,
	[DM_TYPE_UNSIGNED_LONG] = CWMP_TYPE_UNSIGNED_LONG,
	[DM_TYPE_DECIMAL] = CWMP_TYPE_STRING,
	[DM_TYPE_DATETIME] = CWMP_TYPE_DATETIME,
	[DM_TYPE_BASE64] = CWMP_TYPE_BASE64,
	[DM_TYPE_HEXBINARY] = CWMP_TYPE_HEXBINARY,
};

cwmp_value_type cwmp_value_type_of(const dm_node *param)
{
	dm_type t = dm_node_type(param);

	/* a list is a comma-separated string whatever its items are */
	if (dm_node_is_list(param))
		return CWMP_TYPE_STRING;
	return (size_t)t < sizeof wire_types / sizeof wire_types[0] ? wire_types[t] : CWMP_TYPE_STRING;
}
