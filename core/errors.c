/*
 * errors.c - text for core_err codes. Engine codes (dm_err) have their own
 * table in datamodel/errors.c; the admin protocol carries those, not these.
 */
#include "core.h"

static const char *const core_error_text[] = {
	[0] = "success",
	[-CORE_ERR_NOMEM] = "out of memory",
	[-CORE_ERR_USAGE] = "bad usage",
	[-CORE_ERR_INVALID] = "invalid value",
	[-CORE_ERR_UV] = "event loop failure",
	[-CORE_ERR_SYS] = "system call failed",
	[-CORE_ERR_BUSY] = "another agent answers on the admin socket",
	[-CORE_ERR_TOO_LONG] = "too long",
	[-CORE_ERR_AGAIN] = "incomplete input",
	[-CORE_ERR_EXISTS] = "path exists and is not a socket",
	[-CORE_ERR_PROTOCOL] = "malformed admin protocol line",
	[-CORE_ERR_CLOSED] = "connection closed",
};

const char *core_strerror(int code)
{
	size_t n = sizeof core_error_text / sizeof core_error_text[0];

	if (code > 0 || (size_t)-code >= n || !core_error_text[-code])
		return "unknown error";
	return core_error_text[-code];
}
