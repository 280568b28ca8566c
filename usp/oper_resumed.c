/*
 * oper_resumed.c - completions of async operations that outlived a restart
 * of the agent (usp.h): nothing of the Operate that started them is left
 * in this run, so whoever resumed them hands the completion in here and it
 * goes out as any other OperationComplete.
 */
#include "usp_int.h"

void usp_agent_operation_complete(usp_agent *a, const char *requester, const char *cmd_path,
				  const char *command_key, int code, const char *err_msg)
{
	if (a)
		usp_subs_operation_complete(usp_agent_subs(a), requester, cmd_path, command_key, code, err_msg,
					    NULL, 0);
}
