/*
 * agent.c - the USP Agent itself: its EndpointID, the live connections the
 * MTPs report, the path from a received Record to the response sent back,
 * sending Messages to Controllers (usp_send_msg), and re-reading the MTP
 * configuration when the data model changes. Records are decoded in
 * record.c, Messages handled in msg.c, MTP details live in mtp_*.c.
 */
#include "usp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct usp_agent {
	dm *d;
	core_loop *loop;
	usp_options opts;
	char *uds_path;
	char endpoint_id[USP_ENDPOINT_MAX];
	usp_conn *conns;
	usp_mtp *mtps;
	usp_subs *subs;
	usp_broker *broker; /* NULL: no Broker socket */
	dm_sub *feed;
	core_timer *reconfigure; /* pending reconfiguration, NULL when none */
	bool stopping;
};

/* Subtrees whose changes reconfigure the MTPs or the trust cache. */
static const char *const mtp_subtrees[] = {
	"Device.LocalAgent.MTP.",
	"Device.LocalAgent.Controller.",
	"Device.MQTT.Client.",
	"Device.UnixDomainSockets.",
};

dm *usp_agent_dm(usp_agent *a) { return a->d; }
core_loop *usp_agent_loop(usp_agent *a) { return a->loop; }
const usp_options *usp_agent_options(usp_agent *a) { return &a->opts; }
const char *usp_agent_endpoint_id(const usp_agent *a) { return a->endpoint_id; }
usp_subs *usp_agent_subs(usp_agent *a) { return a->subs; }
usp_broker *usp_agent_broker(usp_agent *a) { return a->broker; }

/* ---- EndpointID ------------------------------------------------------------ */

static void read_param(dm *d, const char *path, char *buf, size_t len)
{
	if (dm_get_value_buf(d, NULL, path, buf, len, NULL))
		buf[0] = 0;
}

/*
 * Device.LocalAgent.EndpointID when set, else the "os" authority scheme
 * built from the device identity, "os::<OUI>-<SerialNumber>" (TR-369
 * "Endpoint Identifier"). The derived value is stored so that a Get of
 * EndpointID and the records we send agree.
 */
static int resolve_endpoint_id(usp_agent *a)
{
	read_param(a->d, "Device.LocalAgent.EndpointID", a->endpoint_id, sizeof a->endpoint_id);
	if (a->endpoint_id[0])
		return DM_OK;
	char oui[16], serial[128];
	read_param(a->d, "Device.DeviceInfo.ManufacturerOUI", oui, sizeof oui);
	read_param(a->d, "Device.DeviceInfo.SerialNumber", serial, sizeof serial);
	snprintf(a->endpoint_id, sizeof a->endpoint_id, "os::%s-%s", oui[0] ? oui : "000000",
		 serial[0] ? serial : "0");
	dm_origin o = {DM_ORIGIN_INTERNAL, "usp"};
	dm_txn *t;
	dm_errinfo err;
	if (dm_txn_begin(a->d, DM_TXN_WRITE, &o, &t))
		return DM_OK;
	if (dm_set(t, "Device.LocalAgent.EndpointID", a->endpoint_id, &err))
		dm_txn_abort(t); /* a schema without LocalAgent: the derived ID still serves */
	else
		dm_txn_commit(t, NULL, &err);
	return DM_OK;
}

/* ---- connections ------------------------------------------------------------ */

void usp_conn_up(usp_agent *a, usp_conn *c)
{
	c->next = a->conns;
	a->conns = c;
	if (c->peer_id[0])
		usp_subs_controller_up(a->subs, c->peer_id);
	CORE_LOG_D("usp", "%s connection up (peer %s)", c->kind == USP_MTP_UDS ? "UDS" :
		   c->kind == USP_MTP_WEBSOCKET ? "WebSocket" : "MQTT", c->peer_id[0] ? c->peer_id : "?");
}

void usp_conn_down(usp_agent *a, usp_conn *c)
{
	for (usp_conn **pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
}

static usp_conn *conn_to(usp_agent *a, const char *endpoint)
{
	for (usp_conn *c = a->conns; c; c = c->next)
		if (!strcmp(c->peer_id, endpoint))
			return c;
	return NULL;
}

/* ---- sending ------------------------------------------------------------------ */

static int wrap(usp_agent *a, const char *to, const uint8_t *msg, size_t len, uint8_t **rec,
		size_t *rec_len)
{
	usp_record_out r = {
		.kind = USP_REC_NO_SESSION,
		.to_id = to,
		.from_id = a->endpoint_id,
		.payload = msg,
		.payload_len = len,
	};
	return usp_record_build(&r, rec, rec_len);
}

int usp_send_msg(usp_agent *a, const char *to_endpoint, const Usp__Msg *msg)
{
	uint8_t *buf = NULL, *rec = NULL;
	size_t len = 0, rec_len = 0;
	int rc = usp_msg_pack(msg, &buf, &len);
	if (!rc)
		rc = wrap(a, to_endpoint, buf, len, &rec, &rec_len);
	free(buf);
	if (rc)
		return rc < 0 ? rc : DM_ERR_NOMEM;
	usp_conn *c = conn_to(a, to_endpoint);
	if (c)
		rc = c->ops->send(c, rec, rec_len);
	else
		rc = DM_ERR_NOT_INSTANTIATED;
	for (usp_mtp *m = a->mtps; rc && m; m = m->next)
		if (m->send_to)
			rc = m->send_to(m, to_endpoint, rec, rec_len);
	free(rec);
	return rc;
}

/* ---- receiving -------------------------------------------------------------------- */

static void answer_record(usp_agent *a, usp_conn *c, const usp_record *r)
{
	usp_ctl ctl = {0};
	snprintf(ctl.endpoint_id, sizeof ctl.endpoint_id, "%s", r->from_id);
	if (usp_trust_identify(a, &ctl)) {
		CORE_LOG_W("usp", "cannot identify %s: message dropped", r->from_id);
		return;
	}
	/* An MQTT reply topic or a connection without a handshake learns its
	 * peer from the first record. */
	if (!c->peer_id[0]) {
		snprintf(c->peer_id, sizeof c->peer_id, "%s", r->from_id);
		usp_subs_controller_up(a->subs, c->peer_id);
	}
	uint8_t *resp = NULL, *rec = NULL;
	size_t resp_len = 0, rec_len = 0;
	if (usp_msg_handle(a, &ctl, r->payload, r->payload_len, &resp, &resp_len) || !resp) {
		free(resp);
		return;
	}
	if (!wrap(a, r->from_id, resp, resp_len, &rec, &rec_len)) {
		if (c->ops->send(c, rec, rec_len))
			CORE_LOG_W("usp", "response to %s could not be sent", r->from_id);
	}
	free(resp);
	free(rec);
}

/* Tell the peer why its record was refused, the way record.c's rules say. */
static void refuse_record(usp_agent *a, usp_conn *c, const usp_record *r, int act, uint32_t code,
			  const char *why)
{
	CORE_LOG_I("usp", "record from %s refused: %u %s", r && r->from_id[0] ? r->from_id : "?", code,
		   why ? why : usp_err_text(code));
	if (act == USP_REC_CLOSE) {
		c->ops->close(c, code, why);
		return;
	}
	if (act != USP_REC_ERROR_RECORD || !r)
		return;
	uint8_t *rec = NULL;
	size_t len = 0;
	if (!usp_record_error_answer(r, a->endpoint_id, code, why, &rec, &len) && rec)
		c->ops->send(c, rec, len);
	free(rec);
}

void usp_on_record(usp_agent *a, usp_conn *c, const uint8_t *buf, size_t len)
{
	usp_record r;
	memset(&r, 0, sizeof r);
	uint32_t code = 0;
	const char *why = NULL;
	int rc = usp_record_parse(buf, len, &r);
	if (rc) {
		/* nothing decoded to answer to: close or drop, per MTP */
		refuse_record(a, c, NULL, usp_record_parse_action(rc, c->kind), (uint32_t)rc,
			      "record could not be parsed");
		return;
	}
	int act = usp_record_check(&r, a->endpoint_id, &code, &why);
	if (act == USP_REC_ACCEPT && r.kind == USP_REC_NO_SESSION)
		answer_record(a, c, &r);
	else if (act == USP_REC_ACCEPT)
		CORE_LOG_D("usp", "record of kind %d from %s noted", (int)r.kind, r.from_id);
	else
		refuse_record(a, c, &r, act, code, why);
	usp_record_free(&r);
}

/* ---- configuration ------------------------------------------------------------------ */

static void reconfigure_now(void *ctx)
{
	usp_agent *a = ctx;
	core_timer_stop(a->reconfigure);
	a->reconfigure = NULL;
	usp_trust_invalidate(a);
	for (usp_mtp *m = a->mtps; m; m = m->next)
		if (m->configure && m->configure(m))
			CORE_LOG_W("usp", "%s MTP: configuration not applied", m->name);
}

/* A Set on an MTP parameter reconnects once the transaction is durable;
 * several changes of one transaction coalesce into one reconfiguration. */
static void on_change(void *ctx, const dm_change *c)
{
	usp_agent *a = ctx;
	if (c->kind == DM_CHANGE_EVENT || a->reconfigure || a->stopping)
		return;
	if (!strncmp(c->path, "Device.LocalAgent.ControllerTrust.", 34)) {
		usp_trust_invalidate(a);
		return;
	}
	for (size_t i = 0; i < sizeof mtp_subtrees / sizeof mtp_subtrees[0]; i++) {
		if (strncmp(c->path, mtp_subtrees[i], strlen(mtp_subtrees[i])))
			continue;
		core_timer_start(a->loop, 0, 0, reconfigure_now, a, &a->reconfigure);
		return;
	}
}

static int add_mtp(usp_agent *a, int rc, usp_mtp *m)
{
	if (rc) {
		CORE_LOG_W("usp", "an MTP could not start: %s", dm_strerror(rc));
		return DM_OK; /* the others still serve */
	}
	m->next = a->mtps;
	a->mtps = m;
	if (m->configure && m->configure(m))
		CORE_LOG_W("usp", "%s MTP: configuration not applied", m->name);
	return DM_OK;
}

int usp_agent_start(dm *d, core_loop *loop, const usp_options *opts, usp_agent **out)
{
	usp_agent *a = calloc(1, sizeof *a);
	if (!a)
		return DM_ERR_NOMEM;
	a->d = d;
	a->loop = loop;
	if (opts)
		a->opts = *opts;
	if (a->opts.uds_path && !(a->uds_path = strdup(a->opts.uds_path))) {
		free(a);
		return DM_ERR_NOMEM;
	}
	a->opts.uds_path = a->uds_path;
	if (!a->opts.live_poll_ms)
		a->opts.live_poll_ms = 10000;
	resolve_endpoint_id(a);
	int rc = usp_subs_start(a, &a->subs);
	if (rc) {
		usp_agent_stop(a);
		return rc;
	}
	usp_operate_recover(a);
	if ((rc = dm_subscribe(d, on_change, a, &a->feed))) {
		usp_agent_stop(a);
		return rc;
	}
	if (a->opts.broker_path && (rc = usp_broker_start(a, a->opts.proxy, &a->broker))) {
		usp_agent_stop(a);
		return rc;
	}
	usp_mtp *m = NULL;
	rc = usp_mtp_uds_new(a, a->opts.uds_path, a->broker ? a->opts.broker_path : NULL, &m);
	add_mtp(a, rc, m);
	m = NULL;
	rc = usp_mtp_ws_new(a, &m);
	add_mtp(a, rc, m);
	m = NULL;
	rc = usp_mtp_mqtt_new(a, &m);
	add_mtp(a, rc, m);
	CORE_LOG_I("usp", "agent %s started", a->endpoint_id);
	*out = a;
	return DM_OK;
}

void usp_agent_stop(usp_agent *a)
{
	if (!a)
		return;
	a->stopping = true;
	core_timer_stop(a->reconfigure);
	if (a->feed)
		dm_unsubscribe(a->d, a->feed);
	while (a->mtps) {
		usp_mtp *m = a->mtps;
		a->mtps = m->next;
		if (m->stop)
			m->stop(m);
	}
	usp_broker_stop(a->broker);
	usp_subs_stop(a->subs);
	usp_operate_release(a->d);
	free(a->uds_path);
	free(a);
}
