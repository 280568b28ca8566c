/*
 * views.c - the CWMP, USP and union views of the one store (views.h). One
 * table of bridge subtrees, one table per view of what it renames and what
 * it hides; the engine (dm_view_*) does the path work.
 */
#include "views.h"

#include "cmdparams.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * Objects that only one TR-181 2.19.1 variant has (notes C14, section 13),
 * from comparing tr-181-2-19-1-usp-full.xml with tr-181-2-19-1-cwmp-full.xml:
 * the topmost such objects, as the variant names them. A view hides the
 * other variant's rows that the loaded schema has, so a manager never
 * meets an object its own data model does not declare. The bridge
 * subtrees (ManagementServer, CWMPManagementServer, USPAgent, LocalAgent)
 * are the alias rows above, not these.
 */
static const char *const usp_only_objects[] = {
	"Device.DeviceInfo.Reboots.",
	"Device.IP.Diagnostics.IPLayerCapacityAuthCode.{i}.",
	"Device.IoTCapability.{i}.",
	"Device.Node.{i}.",
	"Device.ProxiedDevice.{i}.",
	"Device.Standby.",
	"Device.WiFi.DataElements.Network.PreferredBackhauls.{i}.",
	NULL,
};

/* The CWMP variant's own: DiagnosticsState-driven objects (USP has a
 * command of the same name with "()" instead: the hidden
 * "Device.IP.Diagnostics.IPPing." is a prefix that
 * "Device.IP.Diagnostics.IPPing()" does not start with, so the command
 * stays), and a few with no USP counterpart. */
static const char *const cwmp_only_objects[] = {
	"Device.ATM.Diagnostics.F5Loopback.",
	"Device.DNS.Diagnostics.NSLookupDiagnostics.",
	"Device.DSL.Diagnostics.ADSLLineTest.",
	"Device.DSL.Diagnostics.SELTP.",
	"Device.DSL.Diagnostics.SELTQLN.",
	"Device.DSL.Diagnostics.SELTUER.",
	"Device.DeviceInfo.ProxierInfo.",
	"Device.DeviceInfo.SupportedDataModel.{i}.",
	"Device.ETSIM2M.",
	"Device.Ghn.Diagnostics.PHYThroughput.",
	"Device.Ghn.Diagnostics.PerformanceMonitoring.",
	"Device.HPNA.Diagnostics.PHYThroughput.",
	"Device.HPNA.Diagnostics.PerformanceMonitoring.",
	"Device.IP.Diagnostics.DownloadDiagnostics.",
	"Device.IP.Diagnostics.IPLayerCapacityMetrics.",
	"Device.IP.Diagnostics.IPPing.",
	"Device.IP.Diagnostics.ServerSelectionDiagnostics.",
	"Device.IP.Diagnostics.TraceRoute.",
	"Device.IP.Diagnostics.UDPEchoDiagnostics.",
	"Device.IP.Diagnostics.UploadDiagnostics.",
	"Device.PacketCaptureDiagnostics.",
	"Device.SelfTestDiagnostics.",
	"Device.UPA.Diagnostics.InterfaceMeasurement.",
	"Device.Users.CheckCredentialsDiagnostics.",
	"Device.WiFi.CCAMeasurementDiagnostic.",
	"Device.WiFi.NeighboringWiFiDiagnostic.",
	"Device.WiFi.RemoteMeasurementDiagnostic.",
	NULL,
};

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

/* Only what the schema has: every hidden prefix costs each path check a
 * compare. A table is hidden by its path without "{i}.", which holds the
 * schema's "{i}" paths and the instances alike. */
static int hide_variant_only(const dm_schema *s, dm_view *v, const char *const *rows)
{
	int rc = DM_OK;
	for (size_t i = 0; !rc && rows[i]; i++) {
		char prefix[128];
		size_t n = strlen(rows[i]);
		if (!dm_schema_find(s, rows[i]) || n >= sizeof prefix)
			continue;
		memcpy(prefix, rows[i], n + 1);
		if (n > 4 && !strcmp(prefix + n - 4, "{i}."))
			prefix[n - 4] = '\0';
		rc = dm_view_hide(v, prefix);
	}
	return rc;
}

/* The CWMP variant's command-style parameters are commands for USP
 * (cmdparams.h): where the schema has both, Controllers get the command. */
static int hide_command_params(const dm_schema *s, dm_view *v)
{
	int rc = DM_OK;
	for (size_t i = 0; !rc && map_cmdparam_paths[i]; i++)
		if (map_cmdparam_active(s, i))
			rc = dm_view_hide(v, map_cmdparam_paths[i]);
	return rc;
}

static int build(const dm_schema *s, const view_rows *rows, const char *const *other_only, dm_view **out)
{
	int rc = dm_view_new(out);
	for (size_t i = 0; !rc && i < 3 && rows->aliases[i]; i++)
		rc = add_alias(s, *out, rows->aliases[i]);
	for (size_t i = 0; !rc && i < 3 && rows->hidden[i]; i++)
		rc = dm_view_hide(*out, rows->hidden[i]);
	if (!rc && other_only)
		rc = hide_variant_only(s, *out, other_only);
	return rc;
}

int map_views_new(const dm_schema *s, const map_views_opts *opts, map_views **out)
{
	bool extended = opts && opts->extended;
	map_views *v = calloc(1, sizeof *v);
	if (!v)
		return DM_ERR_NOMEM;
	int rc = build(s, extended ? &cwmp_extended : &cwmp_rows, usp_only_objects, &v->cwmp);
	if (!rc)
		rc = build(s, extended ? &usp_extended : &usp_rows, cwmp_only_objects, &v->usp);
	if (!rc)
		rc = hide_command_params(s, v->usp);
	if (!rc)
		rc = build(s, &union_rows, NULL, &v->all);
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
