/*
 * cmdparams.c - CWMP command-style parameters (cmdparams.h): the table of
 * pairs, the providers that make the parameters read false and never
 * store, and the runner that operates the command once the write has
 * committed. What Controllers see of the pairs is views.c's.
 */
#include "cmdparams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "cmdparams"
#define PATH_LEN 1024 /* as dm_errinfo.path */

/* Every parameter of tr-181-2-19-1-cwmp-full.xml whose path with "()" is
 * a command of tr-181-2-19-1-usp-full.xml (all boolean; only
 * SendMagicPacket has inputs, its sibling parameters in CWMP). */
const char *const map_cmdparam_paths[] = {
	"Device.DeviceInfo.TemperatureStatus.TemperatureSensor.{i}.Reset",
	"Device.UserInterface.PasswordReset",
	"Device.DSL.Line.{i}.Stats.Reset",
	"Device.DSL.Channel.{i}.Stats.Reset",
	"Device.DSL.BondingGroup.{i}.Stats.Reset",
	"Device.FAST.Line.{i}.Stats.Reset",
	"Device.Optical.Interface.{i}.Stats.Reset",
	"Device.Cellular.Interface.{i}.Stats.Reset",
	"Device.ATM.Link.{i}.Stats.Reset",
	"Device.DOCSIS.Downstream.{i}.Stats.Reset",
	"Device.DOCSIS.Upstream.{i}.Stats.Reset",
	"Device.DOCSIS.Interface.{i}.Stats.Reset",
	"Device.PTM.Link.{i}.Stats.Reset",
	"Device.Ethernet.Interface.{i}.Stats.Reset",
	"Device.Ethernet.Link.{i}.Stats.Reset",
	"Device.Ethernet.VLANTermination.{i}.Stats.Reset",
	"Device.Ethernet.LAG.{i}.Stats.Reset",
	"Device.Ethernet.WoL.SendMagicPacket",
	"Device.USB.Interface.{i}.Stats.Reset",
	"Device.USB.USBHosts.Host.{i}.Reset",
	"Device.HPNA.Interface.{i}.Stats.Reset",
	"Device.MoCA.Interface.{i}.Stats.Reset",
	"Device.Ghn.Interface.{i}.Stats.Reset",
	"Device.HomePlug.Interface.{i}.Stats.Reset",
	"Device.UPA.Interface.{i}.Stats.Reset",
	"Device.WiFi.Reset",
	"Device.WiFi.Radio.{i}.Stats.Reset",
	"Device.WiFi.SSID.{i}.Stats.Reset",
	"Device.WiFi.AccessPoint.{i}.Security.Reset",
	"Device.Thread.Radio.{i}.Stats.Reset",
	"Device.Thread.MLE.{i}.Stats.Reset",
	"Device.ZigBee.Interface.{i}.Stats.Reset",
	"Device.Bridging.Bridge.{i}.Port.{i}.Stats.Reset",
	"Device.PPP.Interface.{i}.Reset",
	"Device.PPP.Interface.{i}.Stats.Reset",
	"Device.IP.Interface.{i}.Reset",
	"Device.IP.Interface.{i}.Stats.Reset",
	"Device.GRE.Tunnel.{i}.Interface.{i}.Stats.Reset",
	"Device.L2TPv3.Tunnel.{i}.Interface.{i}.Stats.Reset",
	"Device.VXLAN.Tunnel.{i}.Interface.{i}.Stats.Reset",
	"Device.MAP.Domain.{i}.Interface.Stats.Reset",
	"Device.Routing.Babel.StatsReset",
	"Device.DHCPv4.Client.{i}.Renew",
	"Device.DHCPv4.Client.{i}.Stats.Reset",
	"Device.DHCPv4.Server.Stats.Reset",
	"Device.DHCPv6.Client.{i}.Renew",
	"Device.DHCPv6.Client.{i}.Stats.Reset",
	"Device.DHCPv6.Server.Stats.Reset",
	"Device.IEEE8021x.Supplicant.{i}.Reset",
	"Device.IEEE8021x.Supplicant.{i}.Disconnect",
	"Device.IEEE8021x.Supplicant.{i}.Stats.Reset",
	"Device.SmartCardReaders.SmartCardReader.{i}.Reset",
	"Device.PeriodicStatistics.SampleSet.{i}.ForceSample",
	"Device.FAP.GPS.GPSReset",
	"Device.SoftwareModules.ExecEnv.{i}.Reset",
	"Device.MQTT.Client.{i}.ForceReconnect",
	"Device.MQTT.Broker.{i}.Bridge.{i}.ForceReconnect",
	"Device.FWE.Link.{i}.Stats.Reset",
	"Device.Logical.Interface.{i}.Stats.Reset",
	"Device.XPON.ONU.{i}.EthernetUNI.{i}.Stats.Reset",
	NULL,
};

#define N_ROWS (sizeof map_cmdparam_paths / sizeof map_cmdparam_paths[0] - 1)
#define MAX_INPUTS 8

/* A write waiting for its command to run from the loop. */
typedef struct pending {
	char *cmd;              /* the instantiated command path */
	const dm_node *command; /* its schema node: the input arguments */
	dm_origin_kind kind;
	char *who;
	struct pending *next;
} pending;

struct map_cmdparams {
	dm *d;
	core_loop *loop;
	dm_sub *feed;
	const dm_node *params[N_ROWS]; /* bound pairs: parameter and command */
	const dm_node *commands[N_ROWS];
	size_t n_bound;
	size_t runs;
	pending *head, **tail;
	core_timer *kick;
};

static int command_of(const char *param, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s()", param);
	return n < 0 || (size_t)n >= outsz ? DM_ERR_NOMEM : DM_OK;
}

static const dm_node *command_node(const dm_schema *s, size_t i)
{
	char cmd[PATH_LEN];
	const dm_node *p = i < N_ROWS ? dm_schema_find(s, map_cmdparam_paths[i]) : NULL;

	if (!p || dm_node_get_kind(p) != DM_NODE_PARAM || command_of(map_cmdparam_paths[i], cmd, sizeof cmd))
		return NULL;
	return dm_schema_find(s, cmd);
}

bool map_cmdparam_active(const dm_schema *s, size_t i)
{
	return command_node(s, i) != NULL;
}

/* ---- the parameter: reads false, writes go through, nothing stored ------------- */

static int read_false(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	(void)ctx, (void)t, (void)path;
	snprintf(buf, bufsz, "false");
	return 0;
}

static int accept_write(void *ctx, const char *path, const char *value, dm_errinfo *err)
{
	(void)ctx, (void)path, (void)value, (void)err;
	return 0;
}

/* ---- running the command ------------------------------------------------------------ */

static void pending_free(pending *p)
{
	free(p->cmd);
	free(p->who);
	free(p);
}

/* The command's inputs, from the parameter's siblings of the same names
 * (the CWMP variant's way of passing them). */
static size_t sibling_inputs(map_cmdparams *c, const pending *p, dm_arg *in, char vals[][256])
{
	const char *dot = strrchr(p->cmd, '.');
	size_t n = 0, objlen = dot ? (size_t)(dot - p->cmd) + 1 : 0;

	for (const dm_node *a = dm_node_first_input(p->command); a && n < MAX_INPUTS; a = dm_node_next_sibling(a)) {
		char path[PATH_LEN];
		dm_errinfo err = {0};
		int len = snprintf(path, sizeof path, "%.*s%s", (int)objlen, p->cmd, dm_node_name(a));
		if (len < 0 || (size_t)len >= sizeof path ||
		    dm_get_value_buf(c->d, NULL, path, vals[n], sizeof vals[n], &err))
			continue;
		in[n] = (dm_arg){dm_node_name(a), vals[n]};
		n++;
	}
	return n;
}

static void run_one(map_cmdparams *c, const pending *p)
{
	dm_arg in[MAX_INPUTS];
	char vals[MAX_INPUTS][256];
	size_t n = sibling_inputs(c, p, in, vals);
	dm_origin o = {p->kind, p->who};
	dm_errinfo err = {0};

	c->runs++;
	int rc = dm_operate(c->d, p->cmd, in, n, "", &o, NULL, NULL, NULL, &err);
	if (rc)
		CORE_LOG_W(MOD, "%s, asked through its parameter: %s", p->cmd, err.msg[0] ? err.msg : dm_strerror(rc));
	else
		CORE_LOG_D(MOD, "%s run for its parameter", p->cmd);
}

static void on_kick(void *ctx)
{
	map_cmdparams *c = ctx;

	core_timer_stop(c->kick);
	c->kick = NULL;
	while (c->head) {
		pending *p = c->head;
		c->head = p->next;
		if (!c->head)
			c->tail = &c->head;
		run_one(c, p);
		pending_free(p);
	}
}

/* "Device.IP.Interface.3.Reset" -> "Device.IP.Interface.{i}.Reset". */
static int schema_path_of(const char *path, char *out, size_t outsz)
{
	size_t o = 0;

	for (const char *p = path; *p;) {
		size_t digits = p > path && p[-1] == '.' ? strspn(p, "0123456789") : 0;
		bool inst = digits && (p[digits] == '.' || !p[digits]);
		size_t len = inst ? 3 : 1;
		if (o + len >= outsz)
			return DM_ERR_NOMEM;
		memcpy(out + o, inst ? "{i}" : p, len);
		o += len;
		p += inst ? digits : 1;
	}
	out[o] = '\0';
	return DM_OK;
}

static const dm_node *bound_command(const map_cmdparams *c, const char *path)
{
	char sp[PATH_LEN];
	const dm_node *n;

	if (schema_path_of(path, sp, sizeof sp) || !(n = dm_schema_find(dm_get_schema(c->d), sp)))
		return NULL;
	for (size_t i = 0; i < c->n_bound; i++)
		if (c->params[i] == n)
			return c->commands[i];
	return NULL;
}

static void queue(map_cmdparams *c, const dm_change *ch, const dm_node *command)
{
	pending *p = calloc(1, sizeof *p);
	char cmd[PATH_LEN];

	if (!p || command_of(ch->path, cmd, sizeof cmd) || !(p->cmd = strdup(cmd)) ||
	    (ch->origin->who && !(p->who = strdup(ch->origin->who)))) {
		CORE_LOG_W(MOD, "%s: out of memory, its command does not run", ch->path);
		if (p)
			pending_free(p);
		return;
	}
	p->command = command;
	p->kind = ch->origin->kind;
	*c->tail = p;
	c->tail = &p->next;
	if (!c->kick && core_timer_start(c->loop, 0, 0, on_kick, c, &c->kick))
		c->kick = NULL; /* the next write kicks again */
}

/* Called after the commit (C20: a failed SetParameterValues never gets
 * here, so nothing half-runs); the command runs from the loop, outside
 * the committing call. Only a manager's true asks for it. */
static void on_change(void *ctx, const dm_change *ch)
{
	map_cmdparams *c = ctx;
	const dm_node *command;

	if (ch->kind != DM_CHANGE_VALUE || !ch->origin || ch->origin->kind == DM_ORIGIN_INTERNAL ||
	    !ch->new_value || strcmp(ch->new_value, "true") || !(command = bound_command(c, ch->path)))
		return;
	queue(c, ch, command);
}

/* ---- life cycle ------------------------------------------------------------------------- */

int map_cmdparams_start(dm *d, core_loop *loop, map_cmdparams **out)
{
	map_cmdparams *c = calloc(1, sizeof *c);
	const dm_provider pv = {.get = read_false, .set = accept_write};
	int rc = DM_OK;

	if (!c)
		return DM_ERR_NOMEM;
	c->d = d;
	c->loop = loop;
	c->tail = &c->head;
	for (size_t i = 0; !rc && i < N_ROWS; i++) {
		const dm_node *cmd = command_node(dm_get_schema(d), i);
		if (!cmd)
			continue;
		rc = dm_provider_register(d, map_cmdparam_paths[i], &pv);
		c->params[c->n_bound] = dm_schema_find(dm_get_schema(d), map_cmdparam_paths[i]);
		c->commands[c->n_bound++] = cmd;
	}
	if (!rc && c->n_bound)
		rc = dm_subscribe(d, on_change, c, &c->feed);
	if (rc) {
		map_cmdparams_stop(c);
		return rc;
	}
	*out = c;
	return DM_OK;
}

size_t map_cmdparams_bound(const map_cmdparams *c)
{
	return c ? c->n_bound : 0;
}

size_t map_cmdparams_runs(const map_cmdparams *c)
{
	return c ? c->runs : 0;
}

/* Writes still waiting are dropped: their transaction committed, but the
 * agent stops before the loop could run them. */
void map_cmdparams_stop(map_cmdparams *c)
{
	if (!c)
		return;
	if (c->feed)
		dm_unsubscribe(c->d, c->feed);
	core_timer_stop(c->kick);
	while (c->head) {
		pending *p = c->head;
		c->head = p->next;
		pending_free(p);
	}
	free(c);
}
