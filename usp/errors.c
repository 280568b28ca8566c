/*
 * errors.c - the USP error codes: which situation of mapping/faults.c each
 * message's engine errors are mapped in (the code itself is chosen there, in
 * the table the CWMP front end shares), and the spec's name of every code.
 * Which code a handler reports for a permission failure or a required
 * parameter is the handler's choice; the engine's own failures map through
 * here.
 */
#include "usp_int.h"
#include "faults.h"

#include <stddef.h>

/* Each message as mapping/ names its situation: for the object path, and
 * for one of its param_settings (Set and Add only have those). */
static const struct {
	usp_op op;
	map_op path_op, param_op;
} op_map[] = {
	{USP_OP_GET, MAP_OP_READ, MAP_OP_READ},
	{USP_OP_SET, MAP_OP_SET, MAP_OP_SET_PARAM},
	{USP_OP_ADD, MAP_OP_ADD, MAP_OP_ADD_PARAM},
	{USP_OP_DELETE, MAP_OP_DELETE, MAP_OP_DELETE},
	{USP_OP_OPERATE, MAP_OP_OPERATE, MAP_OP_OPERATE},
	{USP_OP_GET_INSTANCES, MAP_OP_READ_INSTANCES, MAP_OP_READ_INSTANCES},
	{USP_OP_GET_SUPPORTED_DM, MAP_OP_READ_SCHEMA, MAP_OP_READ_SCHEMA},
	{USP_OP_NOTIFY, MAP_OP_NOTIFY, MAP_OP_NOTIFY},
};

static int map_op_of(usp_op op, bool param, map_op *out)
{
	for (size_t i = 0; i < sizeof op_map / sizeof op_map[0]; i++)
		if (op_map[i].op == op) {
			*out = param ? op_map[i].param_op : op_map[i].path_op;
			return 0;
		}
	return -1;
}

static uint32_t lookup(int err, dm_value_reason reason, usp_op op, bool param)
{
	map_op mop;

	if (err == DM_OK)
		return 0;
	/* a message kind this file does not know is our failure */
	if (map_op_of(op, param, &mop))
		return USP_ERR_INTERNAL_ERROR;
	return map_dm_to_usp_err(err, reason, mop);
}

uint32_t usp_err_code(int err, usp_op op)
{
	return lookup(err, DM_REASON_NONE, op, false);
}

uint32_t usp_err_code_ex(const dm_errinfo *e, usp_op op, bool param)
{
	if (!e)
		return USP_ERR_INTERNAL_ERROR;
	return lookup(e->code, e->reason, op, param);
}

/* Names as TR-369's "Error Codes" and "USP Record Errors" tables give them. */
static const struct {
	uint32_t code;
	const char *name;
} names[] = {
	{7000, "Message failed"},
	{7001, "Message not supported"},
	{7002, "Request denied (no reason specified)"},
	{7003, "Internal error"},
	{7004, "Invalid arguments"},
	{7005, "Resources exceeded"},
	{7006, "Permission denied"},
	{7007, "Invalid configuration"},
	{7008, "Invalid path syntax"},
	{7009, "Parameter action failed"},
	{7010, "Unsupported parameter"},
	{7011, "Invalid type"},
	{7012, "Invalid value"},
	{7013, "Attempt to update non-writeable parameter"},
	{7014, "Value conflict"},
	{7015, "Operation error"},
	{7016, "Object does not exist"},
	{7017, "Object could not be created"},
	{7018, "Object is not a table"},
	{7019, "Attempt to create non-creatable object"},
	{7020, "Object could not be updated"},
	{7021, "Required parameter failed"},
	{7022, "Command failure"},
	{7023, "Command canceled"},
	{7024, "Delete failure"},
	{7025, "Object exists with duplicate key"},
	{7026, "Invalid path"},
	{7027, "Invalid command arguments"},
	{7028, "Register failure"},
	{7029, "Already in use"},
	{7030, "Deregister failure"},
	{7031, "Path already registered"},
	{7100, "Record could not be parsed"},
	{7101, "Secure session required"},
	{7102, "Secure session not supported"},
	{7103, "Segmentation and reassembly not supported"},
	{7104, "Invalid Record value"},
	{7105, "Session Context terminated"},
	{7106, "Session Context not allowed"},
};

const char *usp_err_text(uint32_t code)
{
	if (code == 0)
		return "";
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].code == code)
			return names[i].name;
	if (code >= 7800 && code <= 7999)
		return "Vendor defined error";
	if (code >= 7200 && code <= 7299)
		return "Data model defined error";
	return "Unknown error";
}
