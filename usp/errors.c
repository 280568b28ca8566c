/*
 * errors.c - the USP error codes: one table from engine errors (dm_err) to
 * the TR-369 code each message uses, and the spec's name of every code.
 * Which code a handler reports for a permission failure or a required
 * parameter is the handler's choice; the engine's own failures map here.
 */
#include "usp_int.h"

#include <stddef.h>

/*
 * Columns: where in which message the engine error happened. Set and Add
 * have two: their object path, and one of their param_settings (TR-369
 * "Error Codes": 7010-7013 are ParamError/ParameterError codes of Add and
 * Set, while a path that names nothing supported is 7026 Invalid path).
 */
enum {
	COL_GET,
	COL_SET,
	COL_SET_PARAM,
	COL_ADD,
	COL_ADD_PARAM,
	COL_DELETE,
	COL_OPERATE,
	COL_GET_INSTANCES,
	COL_GET_SUPPORTED_DM,
	COL_NOTIFY,
	N_COLS
};

typedef struct err_row {
	int err;
	dm_value_reason reason; /* DM_REASON_NONE: any reason */
	uint32_t code[N_COLS];
} err_row;

/*
 * One row per engine error. Choices the spec leaves open, with the rule
 * that settles each (section names of TR-369 1.4):
 * - Get, NOT_INSTANTIATED -> 7026: R-GET.0 asks for Invalid path when a
 *   non-search path matches nothing in the Instantiated Data Model; every
 *   other message says 7016 Object does not exist.
 * - INVALID_VALUE -> 7012 Invalid value, and 7011 Invalid type when the
 *   string is no value of the parameter's type (the table's wording of both).
 * - NOT_WRITABLE -> 7013 for a parameter (Add and Set), 7019 for the table
 *   of an Add, 7024 Delete failure for a non-deletable instance (R-DEL.1).
 * - MAX_ENTRIES -> 7017 Object could not be created: maxEntries is a limit
 *   of the data model, not the "memory or processing limitations" 7005
 *   names.
 * - MIN_ENTRIES -> 7024 Delete failure.
 * - NOT_TABLE / NOT_OBJECT -> 7018 Object is not a table where the message
 *   needs a table (Add, GetInstances, and Delete, whose codes list 7018).
 * - UNIQUE_KEY -> 7025 in Add and Set (the table's applicability column).
 * - PROVIDER (the device refused) -> 7009 Parameter action failed for a
 *   parameter, 7017/7020/7024 for creating, updating, deleting an object,
 *   7022 Command failure in Operate.
 * - NOMEM, DISK_FULL, TOO_DEEP -> 7005 Resources exceeded; store and other
 *   internal failures -> 7003 Internal error.
 * - Command argument errors -> 7027 Invalid command arguments; the Notify
 *   column keeps to Notify's 7000-7006.
 */
static const err_row rows[] = {
	/*                                  GET   SET   SET.p ADD   ADD.p DEL   OPER  GINST GSDM  NOTIFY */
	{DM_ERR_NOMEM, DM_REASON_NONE,      {7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005}},
	{DM_ERR_SYNTAX, DM_REASON_NONE,     {7008, 7008, 7010, 7008, 7010, 7008, 7008, 7008, 7008, 7004}},
	{DM_ERR_NOT_IN_SCHEMA, DM_REASON_NONE, {7026, 7026, 7010, 7026, 7010, 7026, 7026, 7026, 7026, 7004}},
	{DM_ERR_NOT_INSTANTIATED, DM_REASON_NONE, {7026, 7016, 7010, 7016, 7010, 7016, 7016, 7016, 7026, 7004}},
	{DM_ERR_NOT_READABLE, DM_REASON_NONE, {7026, 7026, 7010, 7026, 7010, 7026, 7026, 7026, 7026, 7004}},
	{DM_ERR_NOT_WRITABLE, DM_REASON_NONE, {7003, 7020, 7013, 7019, 7013, 7024, 7002, 7003, 7003, 7002}},
	{DM_ERR_INVALID_VALUE, DM_REASON_TYPE, {7004, 7020, 7011, 7017, 7011, 7024, 7027, 7004, 7004, 7004}},
	{DM_ERR_INVALID_VALUE, DM_REASON_NONE, {7004, 7020, 7012, 7017, 7012, 7024, 7027, 7004, 7004, 7004}},
	{DM_ERR_UNIQUE_KEY, DM_REASON_NONE, {7003, 7025, 7025, 7025, 7025, 7024, 7022, 7003, 7003, 7003}},
	{DM_ERR_MAX_ENTRIES, DM_REASON_NONE, {7003, 7020, 7009, 7017, 7017, 7024, 7022, 7003, 7003, 7003}},
	{DM_ERR_MIN_ENTRIES, DM_REASON_NONE, {7003, 7020, 7009, 7017, 7017, 7024, 7022, 7003, 7003, 7003}},
	{DM_ERR_NOT_TABLE, DM_REASON_NONE,  {7026, 7026, 7010, 7018, 7010, 7018, 7026, 7018, 7026, 7004}},
	{DM_ERR_NOT_OBJECT, DM_REASON_NONE, {7026, 7026, 7010, 7018, 7010, 7018, 7026, 7018, 7026, 7004}},
	{DM_ERR_NOT_PARAM, DM_REASON_NONE,  {7026, 7026, 7010, 7026, 7010, 7026, 7026, 7026, 7026, 7004}},
	{DM_ERR_NOT_COMMAND, DM_REASON_NONE, {7026, 7026, 7010, 7026, 7010, 7026, 7026, 7026, 7026, 7004}},
	{DM_ERR_REQUIRED_ARG, DM_REASON_NONE, {7004, 7004, 7004, 7004, 7004, 7004, 7027, 7004, 7004, 7004}},
	{DM_ERR_INVALID_ARG, DM_REASON_NONE, {7004, 7004, 7004, 7004, 7004, 7004, 7027, 7004, 7004, 7004}},
	{DM_ERR_NO_HANDLER, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7022, 7003, 7003, 7003}},
	{DM_ERR_CMD_FAILED, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7022, 7003, 7003, 7003}},
	{DM_ERR_PROVIDER, DM_REASON_NONE,   {7003, 7020, 7009, 7017, 7009, 7024, 7022, 7003, 7003, 7003}},
	{DM_ERR_STORE, DM_REASON_NONE,      {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_DISK_FULL, DM_REASON_NONE,  {7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005}},
	{DM_ERR_CORRUPT_STORE, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_STORE_BUSY, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_SCHEMA_FILE, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_DEFAULTS_FILE, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_TXN_STATE, DM_REASON_NONE,  {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_INTERNAL, DM_REASON_NONE,   {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
	{DM_ERR_TOO_DEEP, DM_REASON_NONE,   {7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005, 7005}},
	{DM_ERR_NOT_SUPPORTED, DM_REASON_NONE, {7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003, 7003}},
};

/* usp_op -> column, for the object path and for a parameter setting. */
static const struct {
	usp_op op;
	int path_col, param_col;
} op_cols[] = {
	{USP_OP_GET, COL_GET, COL_GET},
	{USP_OP_SET, COL_SET, COL_SET_PARAM},
	{USP_OP_ADD, COL_ADD, COL_ADD_PARAM},
	{USP_OP_DELETE, COL_DELETE, COL_DELETE},
	{USP_OP_OPERATE, COL_OPERATE, COL_OPERATE},
	{USP_OP_GET_INSTANCES, COL_GET_INSTANCES, COL_GET_INSTANCES},
	{USP_OP_GET_SUPPORTED_DM, COL_GET_SUPPORTED_DM, COL_GET_SUPPORTED_DM},
	{USP_OP_NOTIFY, COL_NOTIFY, COL_NOTIFY},
};

static int column(usp_op op, bool param)
{
	for (size_t i = 0; i < sizeof op_cols / sizeof op_cols[0]; i++)
		if (op_cols[i].op == op)
			return param ? op_cols[i].param_col : op_cols[i].path_col;
	return -1;
}

static uint32_t lookup(int err, dm_value_reason reason, usp_op op, bool param)
{
	if (err == DM_OK)
		return 0;
	int col = column(op, param);
	if (col < 0)
		return USP_ERR_INTERNAL_ERROR;
	const err_row *any = NULL;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].err != err)
			continue;
		if (rows[i].reason == reason && reason != DM_REASON_NONE)
			return rows[i].code[col];
		if (rows[i].reason == DM_REASON_NONE)
			any = &rows[i];
	}
	/* an engine code this table does not know yet is our failure */
	return any ? any->code[col] : USP_ERR_INTERNAL_ERROR;
}

uint32_t usp_err_code(int err, usp_op op)
{
	return lookup(err, DM_REASON_NONE, op, false);
}

uint32_t usp_err_code_ex(const dm_errinfo *e, usp_op op, bool param)
{
	if (!e)
		return USP_ERR_INTERNAL_ERROR;
	dm_value_reason r = e->code == DM_ERR_INVALID_VALUE ? e->reason : DM_REASON_NONE;
	return lookup(e->code, r, op, param);
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
