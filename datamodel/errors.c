/*
 * errors.c - text for engine error codes and the helper that fills a
 * dm_errinfo. The protocol fault/error codes for each dm_err live in mapping/.
 */
#include "schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const error_text[] = {
	[0] = "success",
	[-DM_ERR_NOMEM] = "out of memory",
	[-DM_ERR_SYNTAX] = "malformed path or expression",
	[-DM_ERR_NOT_IN_SCHEMA] = "not supported by the data model",
	[-DM_ERR_NOT_INSTANTIATED] = "no such instance",
	[-DM_ERR_NOT_READABLE] = "not readable",
	[-DM_ERR_NOT_WRITABLE] = "not writable",
	[-DM_ERR_INVALID_VALUE] = "invalid value",
	[-DM_ERR_UNIQUE_KEY] = "unique key conflict",
	[-DM_ERR_MAX_ENTRIES] = "table is full (maxEntries)",
	[-DM_ERR_MIN_ENTRIES] = "table would go below minEntries",
	[-DM_ERR_NOT_TABLE] = "not a multi-instance object",
	[-DM_ERR_NOT_OBJECT] = "not an object",
	[-DM_ERR_NOT_PARAM] = "not a parameter",
	[-DM_ERR_NOT_COMMAND] = "not a command",
	[-DM_ERR_REQUIRED_ARG] = "mandatory argument missing",
	[-DM_ERR_INVALID_ARG] = "invalid argument",
	[-DM_ERR_NO_HANDLER] = "command not implemented",
	[-DM_ERR_CMD_FAILED] = "command failed",
	[-DM_ERR_PROVIDER] = "refused by the device",
	[-DM_ERR_STORE] = "store failure",
	[-DM_ERR_DISK_FULL] = "store or disk full",
	[-DM_ERR_CORRUPT_STORE] = "store is corrupt or foreign",
	[-DM_ERR_STORE_BUSY] = "store is in use by another process",
	[-DM_ERR_SCHEMA_FILE] = "bad schema file",
	[-DM_ERR_DEFAULTS_FILE] = "bad factory-defaults file",
	[-DM_ERR_TXN_STATE] = "invalid transaction state",
	[-DM_ERR_INTERNAL] = "internal error",
	[-DM_ERR_TOO_DEEP] = "nesting or reference depth limit",
	[-DM_ERR_NOT_SUPPORTED] = "not supported",
	[-DM_ERR_DENIED] = "refused by the device's policy",
};

const char *dm_strerror(int code)
{
	if (code > 0 || -code >= (int)(sizeof error_text / sizeof error_text[0]) || !error_text[-code])
		return "unknown error";
	return error_text[-code];
}

int dm_err_set(dm_errinfo *err, int code, dm_value_reason reason, const char *path,
	       const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	err->reason = reason;
	snprintf(err->path, sizeof err->path, "%s", path ? path : "");
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	if (!err->msg[0] || !fmt)
		snprintf(err->msg, sizeof err->msg, "%s", dm_strerror(code));
	return code;
}
