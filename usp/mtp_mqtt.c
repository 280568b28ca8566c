/*
 * mtp_mqtt.c - the USP MQTT MTP (TR-369 "MQTT Binding"). One session per
 * Device.MQTT.Client.{k} that an enabled Device.LocalAgent.MTP.{i} with
 * Protocol MQTT references: what it subscribes to, the "reply to" topic in
 * MQTT 5.0 (Response Topic) and 3.1.1 ("/reply-to=" in the topic name), a
 * usp_conn per reply destination, MQTTConnect records to the Controllers,
 * the bounded queue of records waiting for the broker, and the Status
 * parameters to write. The MQTT connection itself (sockets, retry back-off) is
 * mqtt_client.c's; reading the configuration and writing the status
 * parameters is mtp_mqtt_cfg.c's.
 */
#include "mtp_mqtt.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "mqtt"
/* R-MQTT.27: the Content Type of a PUBLISH carrying a USP Record. */
#define CT_USP "usp.msg"
#define CT_USP_MIME "application/vnd.bbf.usp.msg"
#define REPLY_TO "/reply-to="
/* Reply destinations remembered per session, least recently used dropped
 * first: a broker peer inventing topics must not grow the agent. */
#define CONNS_MAX 64
/* Records kept while the broker is away; the oldest go first beyond this. */
#define QUEUE_MAX_RECORDS 1024
#define QUEUE_MAX_BYTES (16u * 1024 * 1024)

typedef struct mqtt_mtp mqtt_mtp;
typedef struct mqtt_session mqtt_session;

typedef struct mqtt_conn {
	usp_conn c;
	mqtt_session *s;
	bool closing;                  /* closed by the agent: reaped from the loop */
	struct mqtt_conn *prev, *next; /* most recently used first */
} mqtt_conn;

typedef struct mqtt_queued {
	struct mqtt_queued *next;
	char *topic; /* destination, before any 3.1.1 reply-to suffix */
	size_t len;
	uint8_t rec[];
} mqtt_queued;

struct mqtt_session {
	mqtt_mtp *mm;
	usp_mqtt_cfg cfg;
	usp_mqtt_client *client;
	char *reply_topic;     /* where Controllers reach us on this connection, or NULL */
	int max_qos;           /* CONNACK Maximum QoS */
	bool ready;            /* subscribed: records may flow (R-MQTT.17) */
	bool kill;             /* R-MQTT.16: off (no client) until its configuration changes */
	mqtt_conn *conns;
	size_t n_conns;
	mqtt_queued *q_head, *q_tail;
	size_t q_n, q_bytes;
	bool q_dropping;       /* an overflow was logged */
	char **greeted;        /* Controllers sent an MQTTConnect record on this connection */
	size_t n_greeted;
	mqtt_session *next;
};

struct mqtt_mtp {
	usp_mtp m;
	usp_agent *a;
	dm *d;
	mqtt_session *sessions;
	core_timer *later;     /* deferred work: reaping, R-MQTT.16, configure */
	bool reconfigure;      /* configure() came while busy */
	unsigned depth;        /* inside our own handlers */
};

static int lib_users;

static const usp_conn_ops conn_ops;

/* ---- small helpers -------------------------------------------------------- */

static void later_fire(void *ctx);

static void schedule_later(mqtt_mtp *mm)
{
	if (!mm->later && core_timer_start(usp_agent_loop(mm->a), 0, 0, later_fire, mm, &mm->later))
		CORE_LOG_E(LOG_MOD, "cannot schedule deferred work");
}

static bool content_type_ok(const char *ct)
{
	/* R-MQTT.27a; a PUBLISH without a Content Type gets the benefit of the
	 * doubt: the Record decoder drops what is not a Record. */
	return !ct || !strcmp(ct, CT_USP) || !strcmp(ct, CT_USP_MIME);
}

char *usp_mqtt_reply_to_of(const char *topic)
{
	const char *p = NULL;
	for (const char *q = strstr(topic, REPLY_TO); q; q = strstr(q + 1, REPLY_TO))
		p = q;
	if (!p || !p[sizeof REPLY_TO - 1])
		return NULL;
	p += sizeof REPLY_TO - 1;
	char *out = malloc(strlen(p) + 1), *o = out;
	if (!out)
		return NULL;
	while (*p) {
		if (p[0] == '%' && p[1] == '2' && (p[2] == 'F' || p[2] == 'f')) {
			*o++ = '/';
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

char *usp_mqtt_topic_with_reply_to(const char *dest, const char *reply)
{
	size_t slashes = 0;
	for (const char *p = reply; *p; p++)
		slashes += *p == '/';
	size_t n = strlen(dest) + sizeof REPLY_TO + strlen(reply) + 2 * slashes;
	char *out = malloc(n), *o;
	if (!out)
		return NULL;
	o = out + sprintf(out, "%s" REPLY_TO, dest);
	for (const char *p = reply; *p; p++) {
		if (*p == '/') {
			memcpy(o, "%2F", 3);
			o += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* ---- publishing and the queue --------------------------------------------- */

static int publish_now(mqtt_session *s, const char *dest, const uint8_t *rec, size_t len)
{
	int qos = (int)s->cfg.publish_qos;
	/* TR-181 PublishQoS: never above what the server's CONNACK allows. */
	if (qos > s->max_qos)
		qos = s->max_qos;
	if (s->cfg.v5)
		/* R-MQTT.23, R-MQTT.27 */
		return usp_mqtt_client_publish(s->client, dest, rec, len, qos, false, CT_USP, s->reply_topic);
	if (!s->reply_topic)
		return usp_mqtt_client_publish(s->client, dest, rec, len, qos, false, NULL, NULL);
	char *topic = usp_mqtt_topic_with_reply_to(dest, s->reply_topic);
	if (!topic)
		return DM_ERR_NOMEM;
	int rc = usp_mqtt_client_publish(s->client, topic, rec, len, qos, false, NULL, NULL);
	free(topic);
	return rc;
}

static void queue_drop_head(mqtt_session *s)
{
	mqtt_queued *q = s->q_head;
	s->q_head = q->next;
	if (!s->q_head)
		s->q_tail = NULL;
	s->q_n--;
	s->q_bytes -= q->len;
	free(q->topic);
	free(q);
}

static int queue_push(mqtt_session *s, const char *dest, const uint8_t *rec, size_t len)
{
	if (len > QUEUE_MAX_BYTES)
		return DM_ERR_NOMEM;
	while (s->q_head && (s->q_n >= QUEUE_MAX_RECORDS || s->q_bytes + len > QUEUE_MAX_BYTES)) {
		if (!s->q_dropping)
			CORE_LOG_W(LOG_MOD, "%s: queue full while disconnected, dropping the oldest records",
				   s->cfg.name);
		s->q_dropping = true;
		queue_drop_head(s);
	}
	mqtt_queued *q = malloc(sizeof *q + len);
	if (!q || !(q->topic = strdup(dest))) {
		free(q);
		return DM_ERR_NOMEM;
	}
	q->next = NULL;
	q->len = len;
	memcpy(q->rec, rec, len);
	if (s->q_tail)
		s->q_tail->next = q;
	else
		s->q_head = q;
	s->q_tail = q;
	s->q_n++;
	s->q_bytes += len;
	return DM_OK;
}

static void queue_flush(mqtt_session *s)
{
	size_t sent = 0;
	while (s->q_head && s->ready) {
		mqtt_queued *q = s->q_head;
		int rc = publish_now(s, q->topic, q->rec, q->len);
		if (rc == DM_ERR_NOT_INSTANTIATED)
			break; /* connection gone again: keep the rest */
		if (rc)
			CORE_LOG_W(LOG_MOD, "%s: queued record to %s dropped: %s", s->cfg.name, q->topic,
				   dm_strerror(rc));
		queue_drop_head(s);
		sent++;
	}
	if (!s->q_head)
		s->q_dropping = false;
	if (sent)
		CORE_LOG_D(LOG_MOD, "%s: %zu queued records sent", s->cfg.name, sent);
}

static void queue_free(mqtt_session *s)
{
	while (s->q_head)
		queue_drop_head(s);
}

/* Publish now when subscribed, else queue for the next connection. */
static int session_send(mqtt_session *s, const char *dest, const uint8_t *rec, size_t len)
{
	if (s->kill)
		return DM_ERR_NOT_INSTANTIATED;
	if (s->ready && !s->q_head) {
		int rc = publish_now(s, dest, rec, len);
		if (rc != DM_ERR_NOT_INSTANTIATED)
			return rc;
	}
	return queue_push(s, dest, rec, len);
}

/* ---- reply destinations (usp_conn) ---------------------------------------- */

static void conn_unlink(mqtt_session *s, mqtt_conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		s->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
	s->n_conns--;
}

static void conn_drop(mqtt_session *s, mqtt_conn *k)
{
	conn_unlink(s, k);
	usp_conn_down(s->mm->a, &k->c);
	free(k);
}

static void conn_push_front(mqtt_session *s, mqtt_conn *k)
{
	k->prev = NULL;
	k->next = s->conns;
	if (s->conns)
		s->conns->prev = k;
	s->conns = k;
	s->n_conns++;
}

static mqtt_conn *conn_get(mqtt_session *s, const char *reply)
{
	for (mqtt_conn *k = s->conns; k; k = k->next) {
		if (k->closing || strcmp(k->c.reply_to, reply))
			continue;
		if (k != s->conns) {
			conn_unlink(s, k);
			conn_push_front(s, k);
		}
		return k;
	}
	if (strlen(reply) >= sizeof ((usp_conn *)0)->reply_to) {
		CORE_LOG_W(LOG_MOD, "%s: reply-to topic too long, record dropped", s->cfg.name);
		return NULL;
	}
	if (s->n_conns >= CONNS_MAX) {
		mqtt_conn *old = s->conns;
		while (old->next)
			old = old->next;
		conn_drop(s, old);
	}
	mqtt_conn *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->c.ops = &conn_ops;
	k->c.kind = USP_MTP_MQTT;
	k->c.mtp = k;
	strcpy(k->c.reply_to, reply);
	k->s = s;
	conn_push_front(s, k);
	usp_conn_up(s->mm->a, &k->c);
	return k;
}

static int conn_send(usp_conn *c, const uint8_t *rec, size_t len)
{
	mqtt_conn *k = c->mtp;
	return session_send(k->s, c->reply_to, rec, len);
}

/* MQTT has no connection per peer to close: say why with a
 * DisconnectRecord when the peer is known (R-MTP.7, R-MTP.9) and forget the
 * destination; a later record from it starts afresh. */
static void conn_close(usp_conn *c, uint32_t code, const char *reason)
{
	mqtt_conn *k = c->mtp;
	if (k->closing)
		return;
	if (c->peer_id[0]) {
		usp_record_out r = {
			.kind = USP_REC_DISCONNECT,
			.to_id = c->peer_id,
			.from_id = usp_agent_endpoint_id(k->s->mm->a),
			.reason = reason ? reason : "",
			.reason_code = code,
		};
		uint8_t *rec = NULL;
		size_t len = 0;
		if (!usp_record_build(&r, &rec, &len))
			session_send(k->s, c->reply_to, rec, len);
		free(rec);
	}
	k->closing = true;
	schedule_later(k->s->mm);
}

static const usp_conn_ops conn_ops = {
	.send = conn_send,
	.close = conn_close,
};

/* ---- MQTTConnect records (R-MTP.6) ---------------------------------------- */

static bool greeted(mqtt_session *s, const char *key)
{
	for (size_t i = 0; i < s->n_greeted; i++)
		if (!strcmp(s->greeted[i], key))
			return true;
	return false;
}

static void greeted_free(mqtt_session *s)
{
	for (size_t i = 0; i < s->n_greeted; i++)
		free(s->greeted[i]);
	free(s->greeted);
	s->greeted = NULL;
	s->n_greeted = 0;
}

static int greet_one(void *ctx, const usp_mqtt_ctl *ctl)
{
	mqtt_session *s = ctx;
	if (ctl->agent_mtp && ctl->agent_mtp != s->cfg.mtp_inst)
		return 0;
	char *key = malloc(strlen(ctl->endpoint_id) + strlen(ctl->topic) + 2);
	if (!key)
		return 0;
	sprintf(key, "%s\n%s", ctl->endpoint_id, ctl->topic);
	char **grown;
	if (greeted(s, key) || !(grown = realloc(s->greeted, (s->n_greeted + 1) * sizeof *grown))) {
		free(key);
		return 0;
	}
	s->greeted = grown;
	s->greeted[s->n_greeted++] = key;
	usp_record_out r = {
		.kind = USP_REC_MQTT_CONNECT,
		.to_id = ctl->endpoint_id,
		.from_id = usp_agent_endpoint_id(s->mm->a),
		.mqtt_v5 = s->cfg.v5,
		.subscribed_topic = s->reply_topic,
	};
	uint8_t *rec = NULL;
	size_t len = 0;
	int rc = usp_record_build(&r, &rec, &len);
	if (!rc)
		rc = publish_now(s, ctl->topic, rec, len);
	free(rec);
	if (rc)
		CORE_LOG_W(LOG_MOD, "%s: MQTTConnect record to %s not sent: %s", s->cfg.name, ctl->endpoint_id,
			   dm_strerror(rc));
	else
		CORE_LOG_D(LOG_MOD, "%s: MQTTConnect record sent to %s on %s", s->cfg.name, ctl->endpoint_id,
			   ctl->topic);
	return 0;
}

/* The Record needs the topic where we can be reached: without one there is
 * not "the necessary information" R-MTP.6 speaks of. */
static void greet(mqtt_session *s)
{
	if (s->ready && s->reply_topic)
		usp_mqtt_each_controller(s->mm->d, greet_one, s);
}

/* ---- session events ------------------------------------------------------- */

static void set_status(mqtt_session *s, const char *client_status, const char *mtp_status)
{
	usp_mqtt_set_status(s->mm->d, s->cfg.client_inst, client_status, s->cfg.mtp_inst, mtp_status);
}

/* A filter among the first n of topics already covers topic (R-MQTT.15). */
static bool covered(char *const *topics, size_t n, const char *topic)
{
	for (size_t i = 0; i < n; i++) {
		bool match = false;
		if (!mosquitto_topic_matches_sub(topics[i], topic, &match) && match)
			return true;
	}
	return false;
}

static int push_topic(char ***topics, int **qos, size_t *n, const char *topic, int q)
{
	char **t = realloc(*topics, (*n + 1) * sizeof *t);
	if (t)
		*topics = t;
	int *qq = realloc(*qos, (*n + 1) * sizeof *qq);
	if (qq)
		*qos = qq;
	if (!t || !qq || !(t[*n] = strdup(topic)))
		return DM_ERR_NOMEM;
	qq[(*n)++] = q;
	return DM_OK;
}

/* R-MQTT.15: configured filters, the server's "subscribe-topic" ones, and our
 * reply-to topic unless one of those already covers it. 3.1.1 messages come
 * with "/reply-to=..." appended, hence the wildcard filter there. */
static int build_subscriptions(mqtt_session *s, const usp_mqtt_connack *ack, char ***topics, int **qos,
			       size_t *n)
{
	int rc = DM_OK;
	for (size_t i = 0; !rc && i < s->cfg.n_subs; i++)
		rc = push_topic(topics, qos, n, s->cfg.subs[i], s->cfg.sub_qos[i]);
	for (size_t i = 0; !rc && s->cfg.v5 && i < ack->n_subscribe_topics; i++)
		rc = push_topic(topics, qos, n, ack->subscribe_topics[i], (int)s->cfg.publish_qos);
	if (rc || !s->reply_topic)
		return rc;
	if (s->cfg.v5) {
		if (!covered(*topics, *n, s->reply_topic))
			rc = push_topic(topics, qos, n, s->reply_topic, (int)s->cfg.publish_qos);
		return rc;
	}
	char *sample = usp_mqtt_topic_with_reply_to(s->reply_topic, "x");
	char *filter = malloc(strlen(s->reply_topic) + 3);
	if (!sample || !filter) {
		rc = DM_ERR_NOMEM;
	} else if (!covered(*topics, *n, sample)) {
		sprintf(filter, "%s/#", s->reply_topic);
		rc = push_topic(topics, qos, n, filter, (int)s->cfg.publish_qos);
	}
	free(sample);
	free(filter);
	return rc;
}

/* What the 5.0 CONNACK taught us goes into the data model: the assigned
 * ClientID for the next connections (R-MQTT.9, R-MQTT.11) and the Response
 * Information (ResponseTopicDiscovered and its duplicate). */
static void record_connack(mqtt_session *s, const usp_mqtt_connack *ack)
{
	char cid_path[64], disc_path[80], info_path[64];
	usp_mqtt_kv kv[3];
	size_t n = 0;
	if (ack->assigned_client_id && strcmp(ack->assigned_client_id, s->cfg.client_id)) {
		char *cid = strdup(ack->assigned_client_id);
		if (cid) {
			/* Ours first, so the reconfiguration this write causes sees
			 * nothing new. */
			free(s->cfg.client_id);
			s->cfg.client_id = cid;
			snprintf(cid_path, sizeof cid_path, "Device.MQTT.Client.%u.ClientID", s->cfg.client_inst);
			kv[n++] = (usp_mqtt_kv){cid_path, cid};
		}
	}
	const char *info = ack->response_info ? ack->response_info : "";
	snprintf(disc_path, sizeof disc_path, "Device.LocalAgent.MTP.%u.MQTT.ResponseTopicDiscovered",
		 s->cfg.mtp_inst);
	snprintf(info_path, sizeof info_path, "Device.MQTT.Client.%u.ResponseInformation", s->cfg.client_inst);
	kv[n++] = (usp_mqtt_kv){disc_path, info};
	kv[n++] = (usp_mqtt_kv){info_path, info};
	usp_mqtt_write(s->mm->d, kv, n);
}

static void on_up(void *ctx, const usp_mqtt_connack *ack)
{
	mqtt_session *s = ctx;
	s->mm->depth++;
	s->max_qos = ack->max_qos;
	free(s->reply_topic);
	s->reply_topic = NULL;
	/* R-MQTT.21: the server's Response Information wins over our own. */
	if (s->cfg.v5 && ack->response_info && *ack->response_info)
		s->reply_topic = strdup(ack->response_info);
	else if (*s->cfg.resp_topic)
		s->reply_topic = strdup(s->cfg.resp_topic);
	if (s->cfg.v5)
		record_connack(s, ack);
	char **topics = NULL;
	int *qos = NULL;
	size_t n = 0;
	if (build_subscriptions(s, ack, &topics, &qos, &n)) {
		usp_mqtt_client_fail(s->client, "out of memory");
	} else if (!n) {
		/* R-MQTT.16: nothing to subscribe to: disconnect, MTP disabled. */
		CORE_LOG_W(LOG_MOD, "%s: no topic to subscribe to (R-MQTT.16): MTP disabled", s->cfg.name);
		s->kill = true;
		schedule_later(s->mm);
	} else {
		usp_mqtt_client_subscribe(s->client, topics, qos, n);
	}
	for (size_t i = 0; i < n; i++)
		free(topics[i]);
	free(topics);
	free(qos);
	s->mm->depth--;
}

static void on_subscribed(void *ctx, size_t n_granted, size_t n_asked)
{
	mqtt_session *s = ctx;
	s->mm->depth++;
	if (!n_granted) {
		/* R-MQTT.17: no publishing without a subscription. */
		usp_mqtt_client_fail(s->client, "no subscription granted (R-MQTT.17)");
	} else {
		if (n_granted < n_asked)
			CORE_LOG_W(LOG_MOD, "%s: %zu of %zu subscriptions refused", s->cfg.name, n_asked - n_granted,
				   n_asked);
		s->ready = true;
		/* R-MTP.8: the Connect record before any other record. */
		greet(s);
		queue_flush(s);
		set_status(s, "Connected", "Up");
	}
	s->mm->depth--;
}

static void on_message(void *ctx, const usp_mqtt_msg *msg)
{
	mqtt_session *s = ctx;
	if (s->cfg.v5 && !content_type_ok(msg->content_type)) {
		CORE_LOG_D(LOG_MOD, "%s: PUBLISH on %s with content type %s ignored", s->cfg.name, msg->topic,
			   msg->content_type);
		return;
	}
	/* R-MQTT.26 (5.0: Response Topic), R-MQTT.25 (3.1.1: in the topic name).
	 * A 5.0 PUBLISH without a Response Topic that carries the 3.1.1 form
	 * came through a 3.1.1 hop: answering there is the best we can do. */
	char *reply = NULL;
	if (s->cfg.v5 && msg->response_topic && *msg->response_topic)
		reply = strdup(msg->response_topic);
	else
		reply = usp_mqtt_reply_to_of(msg->topic);
	if (!reply) {
		CORE_LOG_D(LOG_MOD, "%s: PUBLISH on %s without a reply-to topic ignored (R-MQTT.22)", s->cfg.name,
			   msg->topic);
		return;
	}
	s->mm->depth++;
	mqtt_conn *k = conn_get(s, reply);
	free(reply);
	if (k)
		usp_on_record(s->mm->a, &k->c, msg->payload, msg->len);
	s->mm->depth--;
}

static void on_down(void *ctx, bool was_up)
{
	mqtt_session *s = ctx;
	s->mm->depth++;
	s->ready = false;
	greeted_free(s);
	/* Reply destinations stay: they are topics, valid again on the next
	 * connection, and what is sent to them meanwhile waits in the queue. */
	set_status(s, was_up ? "Connecting" : "Error_BrokerUnreachable", "Down");
	s->mm->depth--;
}

static const usp_mqtt_events session_events = {
	.up = on_up,
	.subscribed = on_subscribed,
	.message = on_message,
	.down = on_down,
};

/* ---- sessions ------------------------------------------------------------- */

static void session_free(mqtt_session *s)
{
	while (s->conns)
		conn_drop(s, s->conns);
	usp_mqtt_client_free(s->client);
	queue_free(s);
	greeted_free(s);
	free(s->reply_topic);
	usp_mqtt_cfg_clear(&s->cfg);
	free(s);
}

static void session_unlink(mqtt_mtp *mm, mqtt_session *s)
{
	for (mqtt_session **pp = &mm->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

/* Takes the configuration (cfg is left empty). */
static int session_new(mqtt_mtp *mm, usp_mqtt_cfg *cfg)
{
	mqtt_session *s = calloc(1, sizeof *s);
	if (!s)
		return DM_ERR_NOMEM;
	s->mm = mm;
	s->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	s->max_qos = 2;
	/* R-MQTT.8: 3.1.1 without a ClientID uses our EndpointID; 5.0 sends an
	 * empty one and keeps what the server assigns. */
	const char *cid = s->cfg.client_id;
	if (!*cid && !s->cfg.v5)
		cid = usp_agent_endpoint_id(mm->a);
	usp_mqtt_settings st = {
		.host = s->cfg.host,
		.port = (uint16_t)s->cfg.port,
		.v5 = s->cfg.v5,
		.client_id = cid,
		.username = s->cfg.username,
		.password = s->cfg.password,
		.keepalive = s->cfg.keepalive,
		.clean = s->cfg.clean,
		.endpoint_id = usp_agent_endpoint_id(mm->a), /* R-MQTT.13 */
		/* R-MQTT.12 and R-MQTT.21: the reply-to topic the server offers
		 * is the one to use, so 5.0 always asks for it. */
		.request_response_info = s->cfg.v5,
		.retry_time = s->cfg.retry_time,
		.retry_mult = s->cfg.retry_mult,
		.retry_max = s->cfg.retry_max,
		.name = s->cfg.name,
		.tls = s->cfg.tls,
	};
	if (s->cfg.tls) {
		const usp_options *o = usp_agent_options(mm->a);
		st.tls_ca = o->tls_ca;
		st.tls_cert = o->tls_cert;
		st.tls_key = o->tls_key;
		if (!o->tls_cert != !o->tls_key)
			CORE_LOG_W(LOG_MOD, "%s: --tls-cert and --tls-key go together; connecting without a client "
					    "certificate", s->cfg.name);
	}
	int rc = usp_mqtt_client_new(usp_agent_loop(mm->a), &st, &session_events, s, &s->client);
	if (rc) {
		session_free(s);
		return rc;
	}
	s->next = mm->sessions;
	mm->sessions = s;
	set_status(s, "Connecting", "Down");
	return DM_OK;
}

static mqtt_session *session_of_client(mqtt_mtp *mm, uint32_t client_inst)
{
	for (mqtt_session *s = mm->sessions; s; s = s->next)
		if (s->cfg.client_inst == client_inst)
			return s;
	return NULL;
}

/* ---- the MTP -------------------------------------------------------------- */

static int reconfigure(mqtt_mtp *mm)
{
	usp_mqtt_cfg *want = NULL;
	size_t n_want = 0;
	mm->depth++;
	int rc = usp_mqtt_read_config(mm->d, &want, &n_want);
	if (rc) {
		mm->depth--;
		return rc;
	}
	/* Sessions whose configuration went away or changed reconnect. */
	for (mqtt_session *s = mm->sessions, *next; s; s = next) {
		next = s->next;
		usp_mqtt_cfg *w = NULL;
		for (size_t i = 0; i < n_want && !w; i++)
			if (want[i].client_inst == s->cfg.client_inst)
				w = &want[i];
		if (w && usp_mqtt_cfg_same(&s->cfg, w)) {
			s->cfg.publish_qos = w->publish_qos;
			usp_mqtt_cfg_clear(w);
			continue;
		}
		CORE_LOG_I(LOG_MOD, "%s: configuration changed, reconnecting", s->cfg.name);
		if (!w)
			set_status(s, "Disabled", "Down");
		session_unlink(mm, s);
		session_free(s);
	}
	for (size_t i = 0; i < n_want; i++) {
		if (!want[i].client_inst || session_of_client(mm, want[i].client_inst))
			continue;
		if ((rc = session_new(mm, &want[i])))
			CORE_LOG_E(LOG_MOD, "%s: cannot start: %s", want[i].name, dm_strerror(rc));
	}
	for (size_t i = 0; i < n_want; i++)
		usp_mqtt_cfg_clear(&want[i]);
	free(want);
	/* Controllers added while connected get their MQTTConnect record now. */
	for (mqtt_session *s = mm->sessions; s; s = s->next)
		greet(s);
	mm->depth--;
	return DM_OK;
}

static void reap(mqtt_mtp *mm)
{
	for (mqtt_session *s = mm->sessions, *next; s; s = next) {
		next = s->next;
		for (mqtt_conn *k = s->conns, *kn; k; k = kn) {
			kn = k->next;
			if (k->closing)
				conn_drop(s, k);
		}
		if (s->kill && s->client) {
			/* Kept without a client, so that only a change of its
			 * configuration brings the MTP back. */
			while (s->conns)
				conn_drop(s, s->conns);
			usp_mqtt_client_free(s->client);
			s->client = NULL;
			s->ready = false;
			queue_free(s);
			set_status(s, "Error_Misconfigured", "Error");
		}
	}
}

static void later_fire(void *ctx)
{
	mqtt_mtp *mm = ctx;
	core_timer_stop(mm->later);
	mm->later = NULL;
	mm->depth++;
	reap(mm);
	mm->depth--;
	if (mm->reconfigure) {
		mm->reconfigure = false;
		reconfigure(mm);
	}
}

static int mtp_configure(usp_mtp *m)
{
	mqtt_mtp *mm = m->priv;
	/* From inside our own handlers (a Set over MQTT of this very client,
	 * our own status writes) the sessions must not go from under us. */
	if (mm->depth) {
		mm->reconfigure = true;
		schedule_later(mm);
		return DM_OK;
	}
	return reconfigure(mm);
}

typedef struct route {
	mqtt_mtp *mm;
	const char *endpoint_id;
	mqtt_session *s;
	char *topic;
} route;

static int route_one(void *ctx, const usp_mqtt_ctl *ctl)
{
	route *r = ctx;
	if (strcmp(ctl->endpoint_id, r->endpoint_id))
		return 0;
	/* AgentMTPReference names the session; without one any will do, a
	 * connected one first. */
	mqtt_session *pick = NULL;
	for (mqtt_session *s = r->mm->sessions; s; s = s->next) {
		if (s->kill || (ctl->agent_mtp && ctl->agent_mtp != s->cfg.mtp_inst))
			continue;
		if (!pick || (s->ready && !pick->ready))
			pick = s;
	}
	if (!pick)
		return 0;
	r->s = pick;
	r->topic = strdup(ctl->topic);
	return 1;
}

static int mtp_send_to(usp_mtp *m, const char *endpoint_id, const uint8_t *rec, size_t len)
{
	mqtt_mtp *mm = m->priv;
	if (!mm->sessions)
		return DM_ERR_NOT_INSTANTIATED;
	route r = {.mm = mm, .endpoint_id = endpoint_id};
	usp_mqtt_each_controller(mm->d, route_one, &r);
	if (!r.s)
		return DM_ERR_NOT_INSTANTIATED;
	if (!r.topic)
		return DM_ERR_NOMEM;
	int rc = session_send(r.s, r.topic, rec, len);
	free(r.topic);
	return rc;
}

static void mtp_stop(usp_mtp *m)
{
	mqtt_mtp *mm = m->priv;
	core_timer_stop(mm->later);
	while (mm->sessions) {
		mqtt_session *s = mm->sessions;
		mm->sessions = s->next;
		session_free(s);
	}
	free(mm);
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
}

int usp_mtp_mqtt_new(usp_agent *a, usp_mtp **out)
{
	mqtt_mtp *mm = calloc(1, sizeof *mm);
	if (!mm)
		return DM_ERR_NOMEM;
	if (lib_users++ == 0)
		mosquitto_lib_init();
	mm->a = a;
	mm->d = usp_agent_dm(a);
	mm->m.name = "MQTT";
	mm->m.kind = USP_MTP_MQTT;
	mm->m.agent = a;
	mm->m.priv = mm;
	mm->m.configure = mtp_configure;
	mm->m.send_to = mtp_send_to;
	mm->m.stop = mtp_stop;
	*out = &mm->m;
	return DM_OK;
}
