/*
 * transfers.c - an ACS-requested transfer reported to USP subscribers; a
 * Controller's transfer reported to the ACS's listener, through
 * AutonomousTransferCompletePolicy. The queue of the Controllers'
 * transfers is xfer_usp.c's.
 */
#include "transfers.h"

#include "faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_PATH "Device.LocalAgent.TransferComplete!"

static const char *or_unknown(const char *t)
{
	return t && *t ? t : DM_UNKNOWN_TIME;
}

/* The event node at path, or NULL when the schema lacks it. */
static const dm_node *event_node(dm *d, const char *path)
{
	const dm_node *ev = dm_schema_find(dm_get_schema(d), path);

	return ev && dm_node_get_kind(ev) == DM_NODE_EVENT ? ev : NULL;
}

/* Keep the arguments this schema's event declares ("Fault.FaultCode" is
 * declared by the argument object "Fault"); how many went into out. */
static size_t declared(const dm_node *ev, const dm_arg *known, size_t n_known, dm_arg *out)
{
	size_t n = 0;

	for (size_t i = 0; i < n_known; i++) {
		for (const dm_node *a = dm_node_first_input(ev); a; a = dm_node_next_sibling(a)) {
			const char *name = dm_node_name(a);
			size_t len = strlen(name);
			bool object = dm_node_get_kind(a) == DM_NODE_OBJECT;
			if (object ? !strncmp(name, known[i].name, len) && known[i].name[len] == '.'
				   : !strcmp(name, known[i].name)) {
				out[n++] = known[i];
				break;
			}
		}
	}
	return n;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static int emit(dm *d, const map_transfer_report *r, const char *cmd, const char *key, const char *who,
		const dm_origin *origin)
{
	const dm_node *ev = event_node(d, EVENT_PATH);
	char code[16];

	if (!ev)
		return DM_OK;
	snprintf(code, sizeof code, "%u", r->cwmp_fault ? (unsigned)map_cwmp_fault_to_usp_err(r->cwmp_fault) : 0u);
	const dm_arg known[] = {
		{"Command", cmd},
		{"CommandKey", key},
		{"Requestor", who},
		{"TransferType", r->upload ? "Upload" : "Download"},
		{"Affected", r->affected ? r->affected : ""},
		{"TransferURL", r->url ? r->url : ""},
		{"StartTime", or_unknown(r->start_time)},
		{"CompleteTime", or_unknown(r->complete_time)},
		{"FaultCode", code},
		{"FaultString", r->cwmp_fault && r->fault_string ? r->fault_string : ""},
	};
	dm_arg args[sizeof known / sizeof known[0]];
	size_t n;

	n = declared(ev, known, sizeof known / sizeof known[0], args);
	return dm_event_emit(d, EVENT_PATH, args, n, origin);
}

int map_report_acs_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin)
{
	/* nobody operated a command: Command, CommandKey and Requestor are
	 * empty (TR-181 TransferComplete!), the CWMP CommandKey stays CWMP's */
	return emit(d, r, "", "", "", origin);
}

int map_report_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin)
{
	return emit(d, r, or_empty(r->command), or_empty(r->command_key), or_empty(r->requestor), origin);
}

/* ---------------------------------------------------------------------------
 * Deployment units: DUStateChange!
 * ------------------------------------------------------------------------- */

#define DU_EVENT "Device.SoftwareModules.DUStateChange!"

int map_report_du_change(dm *d, const map_xfer_du_op *o, const dm_origin *origin)
{
	static const char *const performed[] = {"Install", "Update", "Uninstall"};
	const dm_node *ev = event_node(d, DU_EVENT);
	char code[16];

	if (!ev)
		return DM_OK;
	snprintf(code, sizeof code, "%u", o->r_fault ? (unsigned)map_cwmp_fault_to_usp_err(o->r_fault) : 0u);
	const dm_arg known[] = {
		{"UUID", or_empty(o->r_uuid ? o->r_uuid : o->uuid)},
		{"DeploymentUnitRef", or_empty(o->r_ref)},
		{"Version", or_empty(o->r_version)},
		{"CurrentState", o->r_state ? o->r_state : "Failed"},
		{"Resolved", o->r_resolved ? "true" : "false"},
		{"ExecutionUnitRefList", ""},
		{"StartTime", or_unknown(o->r_start)},
		{"CompleteTime", or_unknown(o->r_complete)},
		{"OperationPerformed", o->op >= 0 && o->op <= MAP_XFER_DU_UNINSTALL ? performed[o->op] : ""},
		{"Fault.FaultCode", code},
		{"Fault.FaultString", o->r_fault ? or_empty(o->r_fault_string) : ""},
	};
	dm_arg args[sizeof known / sizeof known[0]];
	size_t n = declared(ev, known, sizeof known / sizeof known[0], args);

	return dm_event_emit(d, DU_EVENT, args, n, origin);
}

/* ---------------------------------------------------------------------------
 * A Controller's transfer, for the ACS
 * ------------------------------------------------------------------------- */

#define POLICY "Device.ManagementServer.AutonomousTransferCompletePolicy."

typedef struct listener {
	dm *d;
	map_transfer_hooks h;
	struct listener *next;
} listener;

static listener *listeners;

int map_transfers_listen(dm *d, const map_transfer_hooks *h)
{
	listener **pp = &listeners;

	for (; *pp && (*pp)->d != d; pp = &(*pp)->next)
		;
	if (!h) {
		if (*pp) {
			listener *l = *pp;
			*pp = l->next;
			free(l);
		}
		return DM_OK;
	}
	if (!*pp && !(*pp = calloc(1, sizeof **pp)))
		return DM_ERR_NOMEM;
	(*pp)->d = d;
	(*pp)->h = *h;
	return DM_OK;
}

static const map_transfer_hooks *hooks_of(dm *d)
{
	for (listener *l = listeners; l; l = l->next)
		if (l->d == d)
			return &l->h;
	return NULL;
}

static void policy_get(dm *d, const char *policy, const char *param, char *buf, size_t n)
{
	char path[128];
	dm_errinfo err;

	snprintf(path, sizeof path, "%s%s", policy, param);
	if (dm_get_value_buf(d, NULL, path, buf, n, &err))
		*buf = '\0';
}

static bool policy_enabled(dm *d, const char *policy)
{
	char enable[8];

	policy_get(d, policy, "Enable", enable, sizeof enable);
	return !strcmp(enable, "true") || !strcmp(enable, "1");
}

/* "Both" and an unset filter let everything through. */
static bool either_passes(const char *filter, const char *mine)
{
	return !*filter || !strcmp(filter, "Both") || !strcmp(filter, mine);
}

/* The policy numbers a configuration file 3 whichever way it went. */
static const char *policy_file_type(const map_transfer_report *t)
{
	if (strstr(t->file_type, "Firmware"))
		return "1 Firmware Upgrade Image";
	if (strstr(t->file_type, "Log"))
		return "4 Vendor Log File";
	return "3 Vendor Configuration File";
}

static bool in_list(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ",");
		while (len && p[len - 1] == ' ')
			len--;
		if (len == n && !strncmp(p, item, n))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

bool map_atc_policy_allows(dm *d, const map_transfer_report *t)
{
	char ttype[16], rtype[16], ftypes[1025];

	if (!policy_enabled(d, POLICY))
		return false;
	policy_get(d, POLICY, "TransferTypeFilter", ttype, sizeof ttype);
	policy_get(d, POLICY, "ResultTypeFilter", rtype, sizeof rtype);
	policy_get(d, POLICY, "FileTypeFilter", ftypes, sizeof ftypes);
	return either_passes(ttype, t->upload ? "Upload" : "Download") &&
	       either_passes(rtype, t->cwmp_fault ? "Failure" : "Success") &&
	       (!*ftypes || in_list(ftypes, policy_file_type(t)));
}

void map_transfers_tell(dm *d, const map_transfer_report *t)
{
	const map_transfer_hooks *h = hooks_of(d);

	if (h && h->transfer && map_atc_policy_allows(d, t))
		h->transfer(h->ctx, t);
}

/* ---------------------------------------------------------------------------
 * A Controller's deployment unit operation, for the ACS
 * ------------------------------------------------------------------------- */

#define DU_POLICY "Device.ManagementServer.DUStateChangeComplPolicy."

bool map_du_policy_allows(dm *d, const map_xfer_du_op *o)
{
	static const char *const ops[] = {"Install", "Update", "Uninstall"};
	char otypes[64], rtype[16], faults[256], code[16];

	if (!policy_enabled(d, DU_POLICY) || o->op < 0 || o->op > MAP_XFER_DU_UNINSTALL)
		return false;
	policy_get(d, DU_POLICY, "OperationTypeFilter", otypes, sizeof otypes);
	policy_get(d, DU_POLICY, "ResultTypeFilter", rtype, sizeof rtype);
	policy_get(d, DU_POLICY, "FaultCodeFilter", faults, sizeof faults);
	snprintf(code, sizeof code, "%u", o->r_fault);
	return (!*otypes || in_list(otypes, ops[o->op])) &&
	       either_passes(rtype, o->r_fault ? "Failure" : "Success") &&
	       (!o->r_fault || !*faults || in_list(faults, code));
}

void map_transfers_tell_du(dm *d, const map_xfer_du_op *o)
{
	const map_transfer_hooks *h = hooks_of(d);

	if (h && h->du && map_du_policy_allows(d, o))
		h->du(h->ctx, o);
}
