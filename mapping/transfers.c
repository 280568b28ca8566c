/*
 * transfers.c - an ACS-requested transfer reported to USP subscribers.
 */
#include "transfers.h"

#include "faults.h"

#include <stdio.h>
#include <string.h>

#define EVENT_PATH "Device.LocalAgent.TransferComplete!"

static const char *or_unknown(const char *t)
{
	return t && *t ? t : DM_UNKNOWN_TIME;
}

int map_report_acs_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin)
{
	const dm_node *ev = dm_schema_find(dm_get_schema(d), EVENT_PATH);
	char code[16];

	if (!ev || dm_node_get_kind(ev) != DM_NODE_EVENT)
		return DM_OK;
	snprintf(code, sizeof code, "%u", r->cwmp_fault ? (unsigned)map_cwmp_fault_to_usp_err(r->cwmp_fault) : 0u);
	/* nobody operated a command: Command, CommandKey and Requestor are
	 * empty (TR-181 TransferComplete!), the CWMP CommandKey stays CWMP's */
	const dm_arg known[] = {
		{"Command", ""},
		{"CommandKey", ""},
		{"Requestor", ""},
		{"TransferType", r->upload ? "Upload" : "Download"},
		{"Affected", r->affected ? r->affected : ""},
		{"TransferURL", r->url ? r->url : ""},
		{"StartTime", or_unknown(r->start_time)},
		{"CompleteTime", or_unknown(r->complete_time)},
		{"FaultCode", code},
		{"FaultString", r->cwmp_fault && r->fault_string ? r->fault_string : ""},
	};
	dm_arg args[sizeof known / sizeof known[0]];
	size_t n = 0;

	/* only the arguments this schema's event declares */
	for (const dm_node *a = dm_node_first_input(ev); a; a = dm_node_next_sibling(a))
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (!strcmp(dm_node_name(a), known[i].name))
				args[n++] = known[i];
	return dm_event_emit(d, EVENT_PATH, args, n, origin);
}
