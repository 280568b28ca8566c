/*
 * mtp_mqtt_cfg.c - the MQTT MTP's view of the data model: which sessions to
 * run (Device.LocalAgent.MTP.{i} with Protocol MQTT and the
 * Device.MQTT.Client.{k} its MQTT.Reference names), how to reach each
 * Controller (Device.LocalAgent.Controller.{i}.MTP.{j}.MQTT), and the
 * writes of what the MTP learns. What a session does is mtp_mqtt.c's.
 */
#include "mtp_mqtt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "mqtt"
#define CLIENT_PREFIX "Device.MQTT.Client."
#define MTP_PREFIX "Device.LocalAgent.MTP."

/* ---- reading -------------------------------------------------------------- */

/* What get_str gives when even "" cannot be allocated: never NULL, so the
 * callers need no check; put_str knows not to free it. */
static char no_value[1];

/* A parameter's value (malloc'd); "" when it cannot be read. Release with
 * put_str, or take it with own_str. */
static char *get_str(dm *d, dm_txn *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *get_str(dm *d, dm_txn *t, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	char *v = NULL;
	if (dm_get_value(d, t, path, &v, NULL) || !v) {
		free(v);
		v = strdup("");
	}
	return v ? v : no_value;
}

static void put_str(char *s)
{
	if (s != no_value)
		free(s);
}

/* A get_str result to keep (free()-able), or NULL when it was no_value. */
static char *own_str(char *s)
{
	return s == no_value ? NULL : s;
}

static unsigned to_uint(const char *v, unsigned dflt)
{
	if (!isdigit((unsigned char)*v))
		return dflt;
	unsigned long x = strtoul(v, NULL, 10);
	return x > 0xffffffffUL ? dflt : (unsigned)x;
}

static bool to_bool(const char *v)
{
	return !strcmp(v, "true") || !strcmp(v, "1");
}

/* Instance number of a reference "PREFIX<n>" or "PREFIX<n>."; 0 if not one. */
static uint32_t ref_inst(const char *v, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(v, prefix, n) || !isdigit((unsigned char)v[n]))
		return 0;
	char *end;
	unsigned long x = strtoul(v + n, &end, 10);
	if ((*end && strcmp(end, ".")) || x > 0xffffffffUL)
		return 0;
	return (uint32_t)x;
}

void usp_mqtt_cfg_clear(usp_mqtt_cfg *c)
{
	free(c->host);
	free(c->client_id);
	free(c->username);
	free(c->password);
	free(c->resp_topic);
	for (size_t i = 0; i < c->n_subs; i++)
		free(c->subs[i]);
	free(c->subs);
	free(c->sub_qos);
	memset(c, 0, sizeof *c);
}

static bool same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

bool usp_mqtt_cfg_same(const usp_mqtt_cfg *a, const usp_mqtt_cfg *b)
{
	if (a->client_inst != b->client_inst || a->mtp_inst != b->mtp_inst || a->port != b->port ||
	    a->tls != b->tls || a->v5 != b->v5 || a->keepalive != b->keepalive || a->clean != b->clean ||
	    a->retry_time != b->retry_time || a->retry_mult != b->retry_mult || a->retry_max != b->retry_max ||
	    a->n_subs != b->n_subs)
		return false;
	if (!same_str(a->host, b->host) || !same_str(a->client_id, b->client_id) ||
	    !same_str(a->username, b->username) || !same_str(a->password, b->password) ||
	    !same_str(a->resp_topic, b->resp_topic))
		return false;
	for (size_t i = 0; i < a->n_subs; i++)
		if (strcmp(a->subs[i], b->subs[i]) || a->sub_qos[i] != b->sub_qos[i])
			return false;
	return true;
}

static int add_sub(usp_mqtt_cfg *c, char *topic, int qos)
{
	char **t = realloc(c->subs, (c->n_subs + 1) * sizeof *t);
	if (t)
		c->subs = t;
	int *q = realloc(c->sub_qos, (c->n_subs + 1) * sizeof *q);
	if (q)
		c->sub_qos = q;
	if (!t || !q)
		return DM_ERR_NOMEM;
	c->subs[c->n_subs] = topic;
	c->sub_qos[c->n_subs++] = qos;
	return DM_OK;
}

/* Enabled Subscription.{i} rows: R-MQTT.15's "configured Topic Filter values". */
static int read_subscriptions(dm *d, dm_txn *t, usp_mqtt_cfg *c)
{
	char table[64];
	snprintf(table, sizeof table, CLIENT_PREFIX "%u.Subscription.", c->client_inst);
	uint32_t *insts = NULL;
	size_t n = 0;
	if (dm_list_instances(t, table, &insts, &n, NULL))
		return DM_OK;
	int rc = DM_OK;
	for (size_t i = 0; !rc && i < n; i++) {
		char *en = get_str(d, t, "%s%u.Enable", table, insts[i]);
		char *topic = get_str(d, t, "%s%u.Topic", table, insts[i]);
		char *qos = get_str(d, t, "%s%u.QoS", table, insts[i]);
		unsigned q = to_uint(qos, 0);
		if (to_bool(en) && *topic) {
			rc = add_sub(c, topic, q > 2 ? 2 : (int)q);
			topic = rc ? topic : NULL;
		}
		put_str(en);
		if (topic)
			put_str(topic);
		put_str(qos);
	}
	free(insts);
	return rc;
}

typedef enum client_state {
	CLIENT_OK,
	CLIENT_DISABLED,
	CLIENT_MISCONFIGURED,
} client_state;

static client_state check_client(usp_mqtt_cfg *c, const char *version, const char *transport)
{
	if (!*c->host) {
		CORE_LOG_W(LOG_MOD, "%s: no BrokerAddress", c->name);
		return CLIENT_MISCONFIGURED;
	}
	if (!c->port || c->port > 65535) {
		CORE_LOG_W(LOG_MOD, "%s: bad BrokerPort", c->name);
		return CLIENT_MISCONFIGURED;
	}
	/* R-MQTT.1/2: 5.0 is the USP default, 3.1.1 optional; 3.1 is not USP's. */
	if (*version && strcmp(version, "5.0") && strcmp(version, "3.1.1")) {
		CORE_LOG_W(LOG_MOD, "%s: ProtocolVersion %s not supported", c->name, version);
		return CLIENT_MISCONFIGURED;
	}
	/* R-MQTT.3: MQTT over TCP, and over TLS (R-MQTT.48); not over
	 * WebSocket. */
	c->tls = !strcmp(transport, "TLS");
	if (*transport && strcmp(transport, "TCP/IP") && !c->tls) {
		CORE_LOG_W(LOG_MOD, "%s: TransportProtocol %s not supported", c->name, transport);
		return CLIENT_MISCONFIGURED;
	}
	return CLIENT_OK;
}

static client_state read_client(dm *d, dm_txn *t, uint32_t k, uint32_t mtp, usp_mqtt_cfg *c)
{
	const char *P = CLIENT_PREFIX;
	char *s = get_str(d, t, "%s%u.Enable", P, k);
	bool enabled = to_bool(s);
	put_str(s);
	if (!enabled)
		return CLIENT_DISABLED;
	c->client_inst = k;
	c->mtp_inst = mtp;
	snprintf(c->name, sizeof c->name, "%s%u", P, k);
	char *version = get_str(d, t, "%s%u.ProtocolVersion", P, k);
	char *transport = get_str(d, t, "%s%u.TransportProtocol", P, k);
	char *port = get_str(d, t, "%s%u.BrokerPort", P, k);
	char *ka = get_str(d, t, "%s%u.KeepAliveTime", P, k);
	c->v5 = strcmp(version, "3.1.1") != 0;
	char *clean = get_str(d, t, c->v5 ? "%s%u.CleanStart" : "%s%u.CleanSession", P, k);
	char *rt = get_str(d, t, "%s%u.ConnectRetryTime", P, k);
	char *rm = get_str(d, t, "%s%u.ConnectRetryIntervalMultiplier", P, k);
	char *rx = get_str(d, t, "%s%u.ConnectRetryMaxInterval", P, k);
	char *qos = get_str(d, t, MTP_PREFIX "%u.MQTT.PublishQoS", mtp);
	char pw[512], path[96];
	snprintf(path, sizeof path, "%s%u.Password", P, k);
	if (dm_get_secret_buf(d, t, path, pw, sizeof pw, NULL))
		pw[0] = '\0';
	c->host = own_str(get_str(d, t, "%s%u.BrokerAddress", P, k));
	c->client_id = own_str(get_str(d, t, "%s%u.ClientID", P, k));
	c->username = own_str(get_str(d, t, "%s%u.Username", P, k));
	c->password = strdup(pw);
	c->resp_topic = own_str(get_str(d, t, MTP_PREFIX "%u.MQTT.ResponseTopicConfigured", mtp));
	c->port = to_uint(port, 1883);
	c->keepalive = to_uint(ka, 60);
	c->clean = !*clean || to_bool(clean);
	/* TR-181 defaults; the schema's ranges keep stored values sane. */
	c->retry_time = to_uint(rt, 5);
	c->retry_mult = to_uint(rm, 2000);
	c->retry_max = to_uint(rx, 30720);
	c->publish_qos = to_uint(qos, 0);
	if (c->publish_qos > 2)
		c->publish_qos = 2;
	client_state st = CLIENT_OK;
	if (!c->host || !c->client_id || !c->username || !c->password || !c->resp_topic ||
	    read_subscriptions(d, t, c))
		st = CLIENT_MISCONFIGURED; /* out of memory: try again at the next change */
	else
		st = check_client(c, version, transport);
	put_str(version);
	put_str(transport);
	put_str(port);
	put_str(ka);
	put_str(clean);
	put_str(rt);
	put_str(rm);
	put_str(rx);
	put_str(qos);
	memset(pw, 0, sizeof pw);
	return st;
}

/* ---- writing -------------------------------------------------------------- */

int usp_mqtt_write(dm *d, const usp_mqtt_kv *kv, size_t n)
{
	dm_origin o = {DM_ORIGIN_INTERNAL, "mqtt"};
	dm_txn *t;
	dm_errinfo err;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc) {
		CORE_LOG_W(LOG_MOD, "cannot record MQTT state: %s", dm_strerror(rc));
		return rc;
	}
	size_t changed = 0;
	for (size_t i = 0; i < n; i++) {
		char *cur = NULL;
		bool same = !dm_get_value(d, t, kv[i].path, &cur, NULL) && cur && !strcmp(cur, kv[i].value);
		free(cur);
		if (same)
			continue;
		if (dm_set(t, kv[i].path, kv[i].value, &err)) {
			CORE_LOG_D(LOG_MOD, "%s not recorded: %s", kv[i].path, err.msg);
			continue;
		}
		changed++;
	}
	if (!changed) {
		dm_txn_abort(t);
		return DM_OK;
	}
	if ((rc = dm_txn_commit(t, NULL, &err)))
		CORE_LOG_W(LOG_MOD, "cannot record MQTT state: %s", err.msg);
	return rc;
}

int usp_mqtt_set_status(dm *d, uint32_t client_inst, const char *client_status, uint32_t mtp_inst,
			const char *mtp_status)
{
	char cp[64], mp[64];
	usp_mqtt_kv kv[2];
	size_t n = 0;
	if (client_inst && client_status) {
		snprintf(cp, sizeof cp, CLIENT_PREFIX "%u.Status", client_inst);
		kv[n++] = (usp_mqtt_kv){cp, client_status};
	}
	if (mtp_inst && mtp_status) {
		snprintf(mp, sizeof mp, MTP_PREFIX "%u.Status", mtp_inst);
		kv[n++] = (usp_mqtt_kv){mp, mtp_status};
	}
	return n ? usp_mqtt_write(d, kv, n) : DM_OK;
}

/* ---- the sessions to run -------------------------------------------------- */

typedef struct status_row {
	uint32_t client_inst, mtp_inst;
	const char *client_status, *mtp_status;
} status_row;

static bool client_taken(const usp_mqtt_cfg *cfgs, size_t n, uint32_t k)
{
	for (size_t i = 0; i < n; i++)
		if (cfgs[i].client_inst == k)
			return true;
	return false;
}

/* One LocalAgent.MTP.{i}: a session in cfgs[*nc], or a status row. */
static void read_mtp(dm *d, dm_txn *t, uint32_t i, usp_mqtt_cfg *cfgs, size_t *nc, status_row *st)
{
	char *proto = get_str(d, t, MTP_PREFIX "%u.Protocol", i);
	char *en = get_str(d, t, MTP_PREFIX "%u.Enable", i);
	char *ref = get_str(d, t, MTP_PREFIX "%u.MQTT.Reference", i);
	bool mqtt = !strcmp(proto, "MQTT"), enabled = to_bool(en);
	uint32_t k = ref_inst(ref, CLIENT_PREFIX);
	put_str(proto);
	put_str(en);
	put_str(ref);
	*st = (status_row){0, 0, NULL, NULL};
	if (!mqtt)
		return;
	st->mtp_inst = i;
	if (!enabled) {
		st->mtp_status = "Down";
		return;
	}
	if (!k || client_taken(cfgs, *nc, k)) {
		/* One session per client: a second MTP on it would fight the
		 * first over the same ClientID. */
		CORE_LOG_W(LOG_MOD, MTP_PREFIX "%u: %s", i, k ? "its MQTT client serves another MTP" :
								"MQTT.Reference names no MQTT client");
		st->mtp_status = "Error";
		return;
	}
	st->client_inst = k;
	switch (read_client(d, t, k, i, &cfgs[*nc])) {
	case CLIENT_OK:
		(*nc)++;
		*st = (status_row){0, 0, NULL, NULL};
		return;
	case CLIENT_DISABLED:
		st->client_status = "Disabled";
		st->mtp_status = "Down";
		break;
	case CLIENT_MISCONFIGURED:
		st->client_status = "Error_Misconfigured";
		st->mtp_status = "Error";
		break;
	}
	usp_mqtt_cfg_clear(&cfgs[*nc]);
}

int usp_mqtt_read_config(dm *d, usp_mqtt_cfg **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	uint32_t *mtps = NULL;
	size_t n = 0;
	dm_list_instances(t, MTP_PREFIX, &mtps, &n, NULL); /* a schema without LocalAgent: none */
	usp_mqtt_cfg *cfgs = calloc(n ? n : 1, sizeof *cfgs);
	status_row *st = calloc(n ? n : 1, sizeof *st);
	size_t nc = 0;
	if (!cfgs || !st) {
		dm_txn_abort(t);
		free(mtps);
		free(cfgs);
		free(st);
		return DM_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		read_mtp(d, t, mtps[i], cfgs, &nc, &st[i]);
	dm_txn_abort(t);
	/* After the snapshot: a write transaction may not start inside it. */
	for (size_t i = 0; i < n; i++)
		usp_mqtt_set_status(d, st[i].client_inst, st[i].client_status, st[i].mtp_inst, st[i].mtp_status);
	free(mtps);
	free(st);
	*out = cfgs;
	*n_out = nc;
	return DM_OK;
}

/* ---- Controllers ---------------------------------------------------------- */

static int each_ctl_mtp(dm *d, dm_txn *t, uint32_t ci, const char *eid, usp_mqtt_ctl_fn fn, void *ctx)
{
	char table[64];
	snprintf(table, sizeof table, "Device.LocalAgent.Controller.%u.MTP.", ci);
	uint32_t *insts = NULL;
	size_t n = 0;
	if (dm_list_instances(t, table, &insts, &n, NULL))
		return 0;
	int stop = 0;
	for (size_t j = 0; !stop && j < n; j++) {
		char *en = get_str(d, t, "%s%u.Enable", table, insts[j]);
		char *proto = get_str(d, t, "%s%u.Protocol", table, insts[j]);
		char *topic = get_str(d, t, "%s%u.MQTT.Topic", table, insts[j]);
		char *ref = get_str(d, t, "%s%u.MQTT.AgentMTPReference", table, insts[j]);
		if (to_bool(en) && !strcmp(proto, "MQTT") && *topic) {
			usp_mqtt_ctl ctl = {eid, topic, ref_inst(ref, MTP_PREFIX)};
			stop = fn(ctx, &ctl);
		}
		put_str(en);
		put_str(proto);
		put_str(topic);
		put_str(ref);
	}
	free(insts);
	return stop;
}

int usp_mqtt_each_controller(dm *d, usp_mqtt_ctl_fn fn, void *ctx)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_list_instances(t, "Device.LocalAgent.Controller.", &insts, &n, NULL);
	int stop = 0;
	for (size_t i = 0; !stop && i < n; i++) {
		char *en = get_str(d, t, "Device.LocalAgent.Controller.%u.Enable", insts[i]);
		char *eid = get_str(d, t, "Device.LocalAgent.Controller.%u.EndpointID", insts[i]);
		if (to_bool(en) && *eid)
			stop = each_ctl_mtp(d, t, insts[i], eid, fn, ctx);
		put_str(en);
		put_str(eid);
	}
	free(insts);
	dm_txn_abort(t);
	return DM_OK;
}
