/*
 * views.c - the CWMP, USP and union views of the one store (views.h). One
 * table of bridge subtrees, one table per view of what it renames and what
 * it hides; the engine (dm_view_*) does the path work.
 */
#include "views.h"

#include <stdlib.h>

/* The CWMP variant's Device.USPAgent.: the names directly under it that
 * Device.LocalAgent. also has (tr-181-2-19-1-cwmp-full.xml; AddCertificate
 * and Controller.{i}.SendOnBoardRequest are command-style parameters there,
 * commands here, and are not mapped). */
static const char *const usp_agent_children[] = {
	"EndpointID",
	"SoftwareVersion",
	"UpTime",
	"SupportedProtocols",
	"SupportedFingerprintAlgorithms",
	"AdvertisedDeviceSubtypes",
	"MaxSubscriptionChangeAdoptionTime",
	"MTPNumberOfEntries",
	"ControllerNumberOfEntries",
	"CertificateNumberOfEntries",
	"MTP.",
	"Controller.",
	"Certificate.",
	"ControllerTrust.",
	NULL,
};

/* The USP variant's Device.CWMPManagementServer. has this one parameter. */
static const char *const cwmp_server_children[] = {"EnableCWMP", NULL};

#define LOCAL_AGENT "Device.LocalAgent."
#define MGMT_SERVER "Device.ManagementServer."

/* One rename: visible served from stored, limited to children. */
typedef struct alias_row {
	const char *visible;
	const char *stored;
	const char *const *children;
} alias_row;

static const alias_row usp_agent = {"Device.USPAgent.", LOCAL_AGENT, usp_agent_children};
static const alias_row cwmp_server = {"Device.CWMPManagementServer.", MGMT_SERVER, cwmp_server_children};
/* Of ManagementServer, EnableCWMP alone under its own name. */
static const alias_row mgmt_enable = {MGMT_SERVER, MGMT_SERVER, cwmp_server_children};

/* One view: its renames (the first that claims a path decides, so the
 * variant's own name comes first) and hidden subtrees, per mode. */
typedef struct view_rows {
	const alias_row *aliases[3];
	const char *hidden[3];
} view_rows;

static const view_rows cwmp_rows = {{&usp_agent}, {LOCAL_AGENT, "Device.CWMPManagementServer."}};
static const view_rows cwmp_extended = {{&usp_agent}, {"Device.CWMPManagementServer."}};
static const view_rows usp_rows = {{&cwmp_server, &mgmt_enable}, {MGMT_SERVER, "Device.USPAgent."}};
static const view_rows usp_extended = {{&cwmp_server}, {"Device.USPAgent."}};
static const view_rows union_rows = {{&usp_agent, &cwmp_server}, {NULL}};

struct map_views {
	dm_view *cwmp, *usp, *all;
};

static int add_alias(const dm_schema *s, dm_view *v, const alias_row *a)
{
	/* a schema without the stored subtree (an official CWMP-variant
	 * file has USPAgent natively) keeps its own names */
	if (!dm_schema_find(s, a->stored))
		return DM_OK;
	return dm_view_alias(v, a->visible, a->stored, a->children);
}

static int build(const dm_schema *s, const view_rows *rows, dm_view **out)
{
	int rc = dm_view_new(out);
	for (size_t i = 0; !rc && i < 3 && rows->aliases[i]; i++)
		rc = add_alias(s, *out, rows->aliases[i]);
	for (size_t i = 0; !rc && i < 3 && rows->hidden[i]; i++)
		rc = dm_view_hide(*out, rows->hidden[i]);
	return rc;
}

int map_views_new(const dm_schema *s, const map_views_opts *opts, map_views **out)
{
	bool extended = opts && opts->extended;
	map_views *v = calloc(1, sizeof *v);
	if (!v)
		return DM_ERR_NOMEM;
	int rc = build(s, extended ? &cwmp_extended : &cwmp_rows, &v->cwmp);
	if (!rc)
		rc = build(s, extended ? &usp_extended : &usp_rows, &v->usp);
	if (!rc)
		rc = build(s, &union_rows, &v->all);
	if (rc) {
		map_views_free(v);
		return rc;
	}
	*out = v;
	return DM_OK;
}

void map_views_free(map_views *v)
{
	if (!v)
		return;
	dm_view_free(v->cwmp);
	dm_view_free(v->usp);
	dm_view_free(v->all);
	free(v);
}

const dm_view *map_views_cwmp(const map_views *v) { return v->cwmp; }
const dm_view *map_views_usp(const map_views *v) { return v->usp; }
const dm_view *map_views_union(const map_views *v) { return v->all; }
