/*
 * mqtt_client.c - one MQTT client connection on the core loop (see
 * mqtt_client.h): libmosquitto without its thread, its socket watched by a
 * uv_poll, keep-alive from a uv timer, name lookup with uv_getaddrinfo so
 * that nothing blocks the loop, TLS (the connect itself in libuv's thread
 * pool), and the retry back-off. Each connection attempt gets a fresh
 * mosquitto instance, so no state of a dead connection leaks into the next
 * one. What to subscribe to and what a PUBLISH means is mtp_mqtt.c's
 * business.
 */
#include "mqtt_client.h"

#include <arpa/inet.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define LOG_MOD "mqtt"
/* No CONNACK this long after starting an attempt: the attempt failed
 * (TR-181 ConnectRetryTime counts a missing CONNACK as a failure). */
#define CONNACK_TIMEOUT_MS 30000u
/* mosquitto_loop_misc sends PINGREQ and notices a silent server. */
#define MISC_INTERVAL_MS 1000u
/* Packets handled per readable event; the poll is level-triggered, so more
 * waiting data just means another turn of the loop. */
#define READ_BATCH 32
/* The CA store when --tls-ca names none: OpenSSL's hashed directory. */
#define SYSTEM_CA_DIR "/etc/ssl/certs"

typedef struct tls_connect tls_connect;

struct usp_mqtt_client {
	core_loop *loop;
	usp_mqtt_events ev;
	void *ctx;
	/* settings, owned copies */
	char *host, *client_id, *username, *password, *endpoint_id, *name;
	uint16_t port;
	bool v5, clean, rri;
	unsigned keepalive, retry_time, retry_mult, retry_max;
	bool tls;
	char *tls_ca, *tls_cert, *tls_key; /* NULL when not given */

	struct mosquitto *mosq;   /* this attempt's; NULL between attempts */
	uv_poll_t *poll;          /* on mosquitto's socket */
	int poll_fd;
	int poll_events;
	uv_getaddrinfo_t *resolve; /* lookup in flight */
	tls_connect *tls_pending; /* TLS connect running in the thread pool */
	core_timer *misc_timer, *connack_timer, *retry_timer;
	unsigned retries;         /* failed attempts since the last good connection */
	size_t subs_pending, subs_granted, subs_asked;
	bool up;                  /* CONNACK accepted */
	bool lost;                /* the attempt ended: handled when our callback unwinds */
	bool dead;                /* freed during an event: destroyed when it unwinds */
	bool closing;             /* we are sending DISCONNECT ourselves */
	bool bye;                 /* end the attempt with a DISCONNECT (we gave up on it) */
	unsigned depth;           /* nesting of our callbacks */
};

static void start_attempt(usp_mqtt_client *c);

/* ---- helpers -------------------------------------------------------------- */

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static double random_unit(void)
{
	uint32_t u;
	if (getrandom(&u, sizeof u, GRND_NONBLOCK) != (ssize_t)sizeof u)
		u = (uint32_t)rand();
	return u / 4294967295.0;
}

uint64_t usp_mqtt_retry_delay_ms(unsigned retry_time, unsigned retry_mult, unsigned retry_max, unsigned n,
				 double r)
{
	double t = retry_time ? retry_time : 1;
	double k = (retry_mult < 1000 ? 1000 : retry_mult) / 1000.0;
	/* TR-181 MQTT.Client.{i}.ConnectRetryTime: "the max number of n is 10". */
	unsigned e = n < 1 ? 1 : n > 10 ? 10 : n;
	double lo = t * pow(k, e - 1);
	double s = lo + (lo * k - lo) * (r < 0 ? 0 : r > 1 ? 1 : r);
	if (retry_max && s > retry_max)
		s = retry_max;
	if (s > 4e9)
		s = 4e9;
	return (uint64_t)(s * 1000.0);
}

static int map_mosq_err(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return DM_OK;
	case MOSQ_ERR_NOMEM:
		return DM_ERR_NOMEM;
	case MOSQ_ERR_NO_CONN:
	case MOSQ_ERR_CONN_LOST:
		return DM_ERR_NOT_INSTANTIATED;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_OVERSIZE_PACKET:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
		return DM_ERR_INVALID_VALUE;
	default:
		return DM_ERR_INTERNAL;
	}
}

/* ---- the socket on the loop ----------------------------------------------- */

static void poll_closed(uv_handle_t *h)
{
	free(h);
}

/* Stop watching before libmosquitto closes the descriptor: uv_close
 * forgets the fd at once, so a new socket reusing the number is safe. */
static void poll_close(usp_mqtt_client *c)
{
	if (!c->poll)
		return;
	uv_poll_stop(c->poll);
	uv_close((uv_handle_t *)c->poll, poll_closed);
	c->poll = NULL;
	c->poll_fd = -1;
	c->poll_events = 0;
}

static void on_poll(uv_poll_t *p, int status, int events);

/* Make the poll match mosquitto's socket and its wish to write. */
static void poll_sync(usp_mqtt_client *c)
{
	int fd = c->mosq ? mosquitto_socket(c->mosq) : -1;
	if (c->poll && c->poll_fd != fd)
		poll_close(c);
	if (fd < 0)
		return;
	if (!c->poll) {
		uv_poll_t *p = calloc(1, sizeof *p);
		if (!p || uv_poll_init_socket(core_loop_uv(c->loop), p, fd)) {
			free(p);
			CORE_LOG_E(LOG_MOD, "%s: cannot watch the socket", c->name);
			c->lost = true;
			return;
		}
		p->data = c;
		c->poll = p;
		c->poll_fd = fd;
		c->poll_events = 0;
	}
	int want = UV_READABLE | (mosquitto_want_write(c->mosq) ? UV_WRITABLE : 0);
	if (want != c->poll_events && !uv_poll_start(c->poll, want, on_poll))
		c->poll_events = want;
}

static void set_nodelay(usp_mqtt_client *c, int fd)
{
	/* USP requests and responses are small and latency-bound: Nagle would
	 * hold each one back until the previous one is acknowledged. */
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one))
		CORE_LOG_W(LOG_MOD, "%s: TCP_NODELAY not set", c->name);
}

/* ---- ending an attempt ---------------------------------------------------- */

static void stop_timer(core_timer **t)
{
	core_timer_stop(*t);
	*t = NULL;
}

static void tls_connect_orphan(usp_mqtt_client *c);

static void close_connection(usp_mqtt_client *c, bool bye)
{
	stop_timer(&c->connack_timer);
	stop_timer(&c->misc_timer);
	tls_connect_orphan(c);
	if (c->mosq) {
		/* Not inside a mosquitto callback here, so DISCONNECT is written
		 * now, behind anything still queued. */
		c->closing = true;
		if (bye && c->up)
			mosquitto_disconnect(c->mosq);
		c->closing = false;
		poll_close(c);
		mosquitto_destroy(c->mosq);
		c->mosq = NULL;
	}
	c->up = false;
	c->lost = false;
	c->bye = false;
	c->subs_pending = 0;
}

static void retry_fire(void *ctx);

static void schedule_retry(usp_mqtt_client *c)
{
	c->retries++;
	uint64_t ms = usp_mqtt_retry_delay_ms(c->retry_time, c->retry_mult, c->retry_max, c->retries,
					      random_unit());
	CORE_LOG_I(LOG_MOD, "%s: retry %u in %.1f s", c->name, c->retries, ms / 1000.0);
	stop_timer(&c->retry_timer);
	if (core_timer_start(c->loop, ms, 0, retry_fire, c, &c->retry_timer))
		CORE_LOG_E(LOG_MOD, "%s: cannot arm the retry timer", c->name);
}

static void end_attempt(usp_mqtt_client *c)
{
	bool was_up = c->up;
	close_connection(c, c->bye);
	schedule_retry(c);
	if (c->ev.down && !c->dead)
		c->ev.down(c->ctx, was_up);
}

static void destroy(usp_mqtt_client *c)
{
	stop_timer(&c->retry_timer);
	if (c->resolve) {
		/* The lookup runs on the thread pool: orphan it, its callback frees it. */
		c->resolve->data = NULL;
		uv_cancel((uv_req_t *)c->resolve);
		c->resolve = NULL;
	}
	close_connection(c, true);
	free(c->host);
	free(c->client_id);
	free(c->username);
	free(c->password);
	free(c->endpoint_id);
	free(c->name);
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
	free(c);
}

/* Every entry from the loop runs between enter and leave, so that events
 * may free the client or end the attempt without pulling the mosquitto
 * instance from under a running libmosquitto call. */
static void enter(usp_mqtt_client *c)
{
	c->depth++;
}

static void leave(usp_mqtt_client *c)
{
	if (c->depth == 1 && c->lost && !c->dead)
		end_attempt(c);
	if (--c->depth)
		return;
	if (c->dead) {
		destroy(c);
	} else if (c->mosq) {
		poll_sync(c); /* once for everything queued meanwhile */
		if (c->lost) {
			enter(c);
			leave(c);
		}
	}
}

static void mark_lost_why(usp_mqtt_client *c, const char *what, const char *why)
{
	if (c->lost)
		return;
	if (c->up)
		CORE_LOG_W(LOG_MOD, "%s: connection lost (%s: %s)", c->name, what, why);
	else
		CORE_LOG_W(LOG_MOD, "%s: cannot connect to %s:%u (%s: %s)", c->name, c->host, c->port, what, why);
	c->lost = true;
}

static void mark_lost(usp_mqtt_client *c, int rc, const char *what)
{
	mark_lost_why(c, what, mosquitto_strerror(rc));
}

/* ---- libmosquitto callbacks (inside mosquitto_loop_read) ------------------ */

static void free_connack(usp_mqtt_connack *a)
{
	free((char *)a->assigned_client_id);
	free((char *)a->response_info);
	for (size_t i = 0; i < a->n_subscribe_topics; i++)
		free(a->subscribe_topics[i]);
	free(a->subscribe_topics);
}

static void read_connack(const mosquitto_property *props, usp_mqtt_connack *a)
{
	char *s = NULL;
	uint8_t b;
	a->max_qos = 2;
	a->retain_available = true;
	if (mosquitto_property_read_string(props, MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER, &s, false))
		a->assigned_client_id = s;
	s = NULL;
	if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_INFORMATION, &s, false))
		a->response_info = s;
	if (mosquitto_property_read_byte(props, MQTT_PROP_MAXIMUM_QOS, &b, false))
		a->max_qos = b;
	if (mosquitto_property_read_byte(props, MQTT_PROP_RETAIN_AVAILABLE, &b, false))
		a->retain_available = b != 0;
	/* R-MQTT.15: every "subscribe-topic" user property is a filter to add. */
	const mosquitto_property *p = props;
	bool skip = false;
	char *name, *value;
	while ((p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, skip))) {
		skip = true;
		char **grown = NULL;
		if (!strcmp(name, "subscribe-topic") && *value &&
		    (grown = realloc(a->subscribe_topics, (a->n_subscribe_topics + 1) * sizeof *grown))) {
			a->subscribe_topics = grown;
			a->subscribe_topics[a->n_subscribe_topics++] = value;
			value = NULL;
		}
		free(name);
		free(value);
	}
}

static void cb_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props)
{
	usp_mqtt_client *c = obj;
	if (rc) {
		CORE_LOG_W(LOG_MOD, "%s: %s:%u refused the connection: %s", c->name, c->host, c->port,
			   c->v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
		c->lost = true;
		return;
	}
	c->up = true;
	stop_timer(&c->connack_timer);
	CORE_LOG_I(LOG_MOD, "%s: connected to %s:%u (MQTT %s)", c->name, c->host, c->port, c->v5 ? "5.0" : "3.1.1");
	usp_mqtt_connack ack = {0};
	read_connack(props, &ack);
	/* R-MQTT.9, R-MQTT.11: the server's choice is ours from now on. */
	char *cid;
	if (ack.assigned_client_id && strcmp(ack.assigned_client_id, c->client_id) &&
	    (cid = strdup(ack.assigned_client_id))) {
		free(c->client_id);
		c->client_id = cid;
	}
	if (c->ev.up && !c->dead)
		c->ev.up(c->ctx, &ack);
	free_connack(&ack);
}

static void cb_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
	usp_mqtt_client *c = obj;
	if (!c->closing)
		mark_lost(c, rc ? rc : MOSQ_ERR_CONN_LOST, "disconnect");
}

static void cb_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	usp_mqtt_client *c = obj;
	if (c->dead || c->lost || !c->ev.message)
		return;
	char *rt = NULL, *ct = NULL;
	mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &rt, false);
	mosquitto_property_read_string(props, MQTT_PROP_CONTENT_TYPE, &ct, false);
	usp_mqtt_msg um = {
		.topic = msg->topic,
		.payload = msg->payload,
		.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		.response_topic = rt,
		.content_type = ct,
	};
	c->ev.message(c->ctx, &um);
	free(rt);
	free(ct);
}

static void cb_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
			 const mosquitto_property *props)
{
	usp_mqtt_client *c = obj;
	if (!c->subs_pending)
		return;
	/* One topic per SUBSCRIBE; a reason code of 0x80 or more is a refusal. */
	for (int i = 0; i < n; i++)
		if (granted[i] >= 0 && granted[i] < 0x80)
			c->subs_granted++;
	if (--c->subs_pending)
		return;
	if (c->subs_granted)
		c->retries = 0;
	if (c->ev.subscribed && !c->dead)
		c->ev.subscribed(c->ctx, c->subs_granted, c->subs_asked);
}

/* ---- loop callbacks ------------------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
	usp_mqtt_client *c = p->data;
	enter(c);
	/* An error on the socket: let libmosquitto read it and report it.
	 * libuv has stopped the poll then, so the connection ends either way. */
	if (status < 0)
		events = UV_READABLE;
	if (c->mosq && (events & UV_READABLE)) {
		int rc = mosquitto_loop_read(c->mosq, READ_BATCH);
		if (rc)
			mark_lost(c, rc, "read");
		else if (status < 0)
			mark_lost(c, MOSQ_ERR_CONN_LOST, uv_strerror(status));
	}
	/* Answers published from inside the read (in_callback) are only
	 * queued: write them now rather than one loop turn later. */
	if (c->mosq && !c->lost && !c->dead && ((events & UV_WRITABLE) || mosquitto_want_write(c->mosq))) {
		int rc = mosquitto_loop_write(c->mosq, 1);
		if (rc)
			mark_lost(c, rc, "write");
	}
	leave(c);
}

static void misc_fire(void *ctx)
{
	usp_mqtt_client *c = ctx;
	enter(c);
	if (c->mosq) {
		int rc = mosquitto_loop_misc(c->mosq);
		if (rc)
			mark_lost(c, rc, "keep-alive");
	}
	leave(c);
}

static void connack_fire(void *ctx)
{
	usp_mqtt_client *c = ctx;
	enter(c);
	stop_timer(&c->connack_timer);
	if (!c->up) {
		CORE_LOG_W(LOG_MOD, "%s: no CONNACK from %s:%u in %u s", c->name, c->host, c->port,
			   CONNACK_TIMEOUT_MS / 1000);
		c->lost = true;
	}
	leave(c);
}

static void retry_fire(void *ctx)
{
	usp_mqtt_client *c = ctx;
	enter(c);
	stop_timer(&c->retry_timer);
	start_attempt(c);
	leave(c);
}

/* ---- connecting ----------------------------------------------------------- */

/*
 * libmosquitto 2.0 has no asynchronous connect that takes CONNECT
 * properties, and its blocking connect would stall the loop on an
 * unreachable broker. mosquitto_connect_bind_v5 stores the properties on the
 * instance before it validates the keep-alive; a keep-alive it refuses (< 5)
 * makes it return there, and the asynchronous connect that follows sends the
 * stored properties. Without them the connection still works, only without
 * R-MQTT.12/13.
 */
static void set_connect_props(usp_mqtt_client *c, const char *addr)
{
	mosquitto_property *props = NULL;
	int rc = MOSQ_ERR_SUCCESS;
	if (c->rri)
		rc = mosquitto_property_add_byte(&props, MQTT_PROP_REQUEST_RESPONSE_INFORMATION, 1);
	if (!rc && c->endpoint_id && *c->endpoint_id)
		rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "usp-endpoint-id",
							c->endpoint_id);
	if (!rc && props)
		rc = mosquitto_connect_bind_v5(c->mosq, addr, c->port, 1, NULL, props);
	if (rc != MOSQ_ERR_INVAL && props)
		CORE_LOG_W(LOG_MOD, "%s: CONNECT properties not set (%s)", c->name, mosquitto_strerror(rc));
	mosquitto_property_free_all(&props);
}

static int new_mosq(usp_mqtt_client *c)
{
	/* 5.0 without a ClientID sends an empty one and the server assigns
	 * one (R-MQTT.8); libmosquitto insists on a clean start then. */
	bool have_id = *c->client_id != '\0';
	c->mosq = mosquitto_new(have_id ? c->client_id : NULL, c->clean || !have_id, c);
	if (!c->mosq)
		return MOSQ_ERR_NOMEM;
	mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, c->v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_connect_v5_callback_set(c->mosq, cb_connect);
	mosquitto_disconnect_v5_callback_set(c->mosq, cb_disconnect);
	mosquitto_message_v5_callback_set(c->mosq, cb_message);
	mosquitto_subscribe_v5_callback_set(c->mosq, cb_subscribe);
	if (*c->username || *c->password)
		return mosquitto_username_pw_set(c->mosq, *c->username ? c->username : NULL,
						 *c->password ? c->password : NULL);
	return MOSQ_ERR_SUCCESS;
}

static int keepalive_of(const usp_mqtt_client *c)
{
	return c->keepalive == 0 ? 0 : c->keepalive < 5 ? 5 : c->keepalive > 65535 ? 65535 : (int)c->keepalive;
}

/* The socket exists and the connect is under way: watch it, and time the
 * CONNACK and the keep-alive. */
static void attempt_started(usp_mqtt_client *c)
{
	int fd = mosquitto_socket(c->mosq);
	if (fd >= 0)
		set_nodelay(c, fd);
	poll_sync(c);
	if (core_timer_start(c->loop, CONNACK_TIMEOUT_MS, 0, connack_fire, c, &c->connack_timer) ||
	    (keepalive_of(c) && core_timer_start(c->loop, MISC_INTERVAL_MS, MISC_INTERVAL_MS, misc_fire, c,
						 &c->misc_timer)))
		mark_lost(c, MOSQ_ERR_NOMEM, "timer");
}

static void connect_to(usp_mqtt_client *c, const char *addr)
{
	int rc = new_mosq(c);
	if (rc) {
		mark_lost(c, rc, "setup");
		return;
	}
	if (c->v5)
		set_connect_props(c, addr);
	CORE_LOG_D(LOG_MOD, "%s: connecting to %s:%u", c->name, addr, c->port);
	rc = mosquitto_connect_bind_async(c->mosq, addr, c->port, keepalive_of(c), NULL);
	if (rc) {
		mark_lost(c, rc, "connect");
		return;
	}
	attempt_started(c);
}

/* ---- TLS ------------------------------------------------------------------ */

/*
 * libmosquitto checks the broker's certificate against the host name it is
 * given, and sends that name as SNI; handed an address we looked up, it
 * would check the address instead of BrokerAddress. So a TLS connect gets
 * the configured name, and runs in the thread pool, where libmosquitto's
 * blocking lookup and its loading of the CA files cannot stall the loop.
 * Only mosquitto_connect_bind_async runs there; the instance is the loop's
 * again once it returns.
 */
struct tls_connect {
	uv_work_t req;
	usp_mqtt_client *c;     /* NULL once nobody waits: the instance is dropped */
	struct mosquitto *mosq;
	char *host;
	uint16_t port;
	int keepalive;
	int rc;
	char why[128]; /* rc's text, made where errno is the connect's */
};

/* libmosquitto initialises OpenSSL, and the index it keeps its instances
 * under, on its first TLS connect, unguarded: connects go one at a time. */
static pthread_mutex_t tls_connect_lock = PTHREAD_MUTEX_INITIALIZER;

/* An encrypted key fails to load instead of being asked for on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *userdata)
{
	return -1;
}

/* libmosquitto's error lines carry OpenSSL's reasons (which check failed);
 * its return codes only say that TLS failed. May run in the thread pool:
 * it touches nothing but the text. */
static void on_mosq_log(struct mosquitto *m, void *obj, int level, const char *line)
{
	if (level == MOSQ_LOG_ERR)
		CORE_LOG_W(LOG_MOD, "libmosquitto: %s", line);
}

/* R-MQTT.48: TLS 1.2 or later ("tlsv1.2" keeps 1.3 allowed). R-MTP.1,
 * R-MTP.4: the broker must present a certificate that chains to a trusted
 * CA (R-SEC.2: --tls-ca, else the system store) and names BrokerAddress
 * (libmosquitto's own check, of the name it connects to). */
static int tls_setup(usp_mqtt_client *c)
{
	bool own = c->tls_cert && c->tls_key;
	int rc = mosquitto_tls_set(c->mosq, c->tls_ca, c->tls_ca ? NULL : SYSTEM_CA_DIR, own ? c->tls_cert : NULL,
				   own ? c->tls_key : NULL, no_password);
	if (!rc)
		rc = mosquitto_tls_opts_set(c->mosq, 1 /* SSL_VERIFY_PEER */, "tlsv1.2", NULL);
	if (!rc)
		rc = mosquitto_tls_insecure_set(c->mosq, false);
	mosquitto_log_callback_set(c->mosq, on_mosq_log);
	return rc;
}

static void tls_connect_work(uv_work_t *req)
{
	tls_connect *w = (tls_connect *)req;
	pthread_mutex_lock(&tls_connect_lock);
	w->rc = mosquitto_connect_bind_async(w->mosq, w->host, w->port, w->keepalive, NULL);
	pthread_mutex_unlock(&tls_connect_lock);
	snprintf(w->why, sizeof w->why, "%s", mosquitto_strerror(w->rc));
}

static void tls_connect_done(uv_work_t *req, int status)
{
	tls_connect *w = (tls_connect *)req;
	usp_mqtt_client *c = w->c;
	if (!c) {
		mosquitto_destroy(w->mosq);
		free(w->host);
		free(w);
		return;
	}
	enter(c);
	c->tls_pending = NULL;
	c->mosq = w->mosq;
	if (status)
		mark_lost_why(c, "TLS connect", uv_strerror(status));
	else if (w->rc)
		mark_lost_why(c, "TLS connect", w->why);
	else
		attempt_started(c);
	free(w->host);
	free(w);
	leave(c);
}

/* The attempt ends while its connect runs: the connect's instance goes
 * when it returns. */
static void tls_connect_orphan(usp_mqtt_client *c)
{
	if (!c->tls_pending)
		return;
	c->tls_pending->c = NULL;
	uv_cancel((uv_req_t *)&c->tls_pending->req);
	c->tls_pending = NULL;
}

static void tls_connect_start(usp_mqtt_client *c)
{
	int rc = new_mosq(c);
	if (rc) {
		mark_lost(c, rc, "setup");
		return;
	}
	if ((rc = tls_setup(c))) {
		CORE_LOG_W(LOG_MOD, "%s: TLS setup failed (%s); check --tls-ca, --tls-cert and --tls-key", c->name,
			   mosquitto_strerror(rc));
		c->lost = true;
		return;
	}
	if (c->v5)
		set_connect_props(c, c->host);
	tls_connect *w = calloc(1, sizeof *w);
	if (!w || !(w->host = strdup(c->host))) {
		free(w);
		mark_lost(c, MOSQ_ERR_NOMEM, "setup");
		return;
	}
	w->c = c;
	w->mosq = c->mosq;
	w->port = c->port;
	w->keepalive = keepalive_of(c);
	CORE_LOG_D(LOG_MOD, "%s: connecting to %s:%u over TLS", c->name, c->host, c->port);
	int uerr = uv_queue_work(core_loop_uv(c->loop), &w->req, tls_connect_work, tls_connect_done);
	if (uerr) {
		free(w->host);
		free(w);
		CORE_LOG_W(LOG_MOD, "%s: cannot start the TLS connect: %s", c->name, uv_strerror(uerr));
		c->lost = true;
		return;
	}
	c->mosq = NULL; /* the thread pool's until tls_connect_done */
	c->tls_pending = w;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	usp_mqtt_client *c = req->data;
	free(req);
	if (!c) {
		uv_freeaddrinfo(res);
		return;
	}
	enter(c);
	c->resolve = NULL;
	char addr[INET6_ADDRSTRLEN] = "";
	/* A name with several addresses: each retry takes the next one, so one
	 * dead address does not hide the others. */
	unsigned n = 0;
	for (struct addrinfo *ai = status ? NULL : res; ai; ai = ai->ai_next)
		n++;
	struct addrinfo *ai = n ? res : NULL;
	for (unsigned i = n ? c->retries % n : 0; ai && i; i--)
		ai = ai->ai_next;
	if (ai && ai->ai_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)ai->ai_addr, addr, sizeof addr);
	else if (ai && ai->ai_family == AF_INET)
		uv_ip4_name((const struct sockaddr_in *)ai->ai_addr, addr, sizeof addr);
	uv_freeaddrinfo(res);
	if (*addr) {
		connect_to(c, addr);
	} else {
		CORE_LOG_W(LOG_MOD, "%s: cannot resolve %s: %s", c->name, c->host,
			   status ? uv_strerror(status) : "no address");
		c->lost = true;
	}
	leave(c);
}

static bool is_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void start_attempt(usp_mqtt_client *c)
{
	c->subs_pending = c->subs_granted = c->subs_asked = 0;
	if (c->tls) {
		tls_connect_start(c);
		return;
	}
	if (is_address(c->host)) {
		connect_to(c, c->host);
		return;
	}
	uv_getaddrinfo_t *req = calloc(1, sizeof *req);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	if (!req) {
		c->lost = true;
		return;
	}
	req->data = c;
	int uerr = uv_getaddrinfo(core_loop_uv(c->loop), req, on_resolved, c->host, NULL, &hints);
	if (uerr) {
		free(req);
		CORE_LOG_W(LOG_MOD, "%s: cannot resolve %s: %s", c->name, c->host, uv_strerror(uerr));
		c->lost = true;
		return;
	}
	c->resolve = req;
}

/* ---- public --------------------------------------------------------------- */

int usp_mqtt_client_new(core_loop *l, const usp_mqtt_settings *s, const usp_mqtt_events *ev, void *ctx,
			usp_mqtt_client **out)
{
	usp_mqtt_client *c = calloc(1, sizeof *c);
	if (!c)
		return DM_ERR_NOMEM;
	c->loop = l;
	c->ev = *ev;
	c->ctx = ctx;
	c->poll_fd = -1;
	c->host = dup_or_empty(s->host);
	c->client_id = dup_or_empty(s->client_id);
	c->username = dup_or_empty(s->username);
	c->password = dup_or_empty(s->password);
	c->endpoint_id = dup_or_empty(s->endpoint_id);
	c->name = dup_or_empty(s->name ? s->name : "MQTT client");
	c->port = s->port;
	c->v5 = s->v5;
	c->clean = s->clean;
	c->rri = s->request_response_info;
	c->keepalive = s->keepalive;
	c->retry_time = s->retry_time;
	c->retry_mult = s->retry_mult;
	c->retry_max = s->retry_max;
	c->tls = s->tls;
	bool tls_ok = true;
	if (s->tls) {
		c->tls_ca = s->tls_ca ? strdup(s->tls_ca) : NULL;
		c->tls_cert = s->tls_cert ? strdup(s->tls_cert) : NULL;
		c->tls_key = s->tls_key ? strdup(s->tls_key) : NULL;
		tls_ok = (!s->tls_ca || c->tls_ca) && (!s->tls_cert || c->tls_cert) && (!s->tls_key || c->tls_key);
	}
	if (!c->host || !c->client_id || !c->username || !c->password || !c->endpoint_id || !c->name || !tls_ok) {
		destroy(c);
		return DM_ERR_NOMEM;
	}
	/* The first attempt starts from the loop, so that its events never run
	 * before the caller holds the client. */
	if (core_timer_start(l, 0, 0, retry_fire, c, &c->retry_timer)) {
		destroy(c);
		return DM_ERR_NOMEM;
	}
	*out = c;
	return DM_OK;
}

void usp_mqtt_client_free(usp_mqtt_client *c)
{
	if (!c)
		return;
	if (c->depth) {
		c->dead = true;
		return;
	}
	destroy(c);
}

bool usp_mqtt_client_is_up(const usp_mqtt_client *c)
{
	return c && c->up && !c->lost && !c->dead;
}

int usp_mqtt_client_subscribe(usp_mqtt_client *c, char *const *topics, const int *qos, size_t n)
{
	if (!usp_mqtt_client_is_up(c))
		return DM_ERR_NOT_INSTANTIATED;
	c->subs_pending = c->subs_granted = 0;
	c->subs_asked = n;
	for (size_t i = 0; i < n; i++) {
		int rc = mosquitto_subscribe_v5(c->mosq, NULL, topics[i], qos[i], 0, NULL);
		if (rc) {
			CORE_LOG_W(LOG_MOD, "%s: cannot subscribe to %s: %s", c->name, topics[i],
				   mosquitto_strerror(rc));
			c->subs_asked--;
			continue;
		}
		c->subs_pending++;
		CORE_LOG_D(LOG_MOD, "%s: subscribing to %s (QoS %d)", c->name, topics[i], qos[i]);
	}
	if (!c->subs_pending && c->ev.subscribed)
		c->ev.subscribed(c->ctx, 0, c->subs_asked);
	else if (!c->depth)
		poll_sync(c);
	return DM_OK;
}

int usp_mqtt_client_publish(usp_mqtt_client *c, const char *topic, const uint8_t *buf, size_t len, int qos,
			    bool retain, const char *content_type, const char *response_topic)
{
	if (!usp_mqtt_client_is_up(c))
		return DM_ERR_NOT_INSTANTIATED;
	if (len > INT32_MAX)
		return DM_ERR_INVALID_VALUE;
	mosquitto_property *props = NULL;
	int rc = MOSQ_ERR_SUCCESS;
	if (c->v5 && content_type)
		rc = mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, content_type);
	if (!rc && c->v5 && response_topic && *response_topic)
		rc = mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic);
	if (!rc)
		rc = mosquitto_publish_v5(c->mosq, NULL, topic, (int)len, buf, qos, retain, props);
	mosquitto_property_free_all(&props);
	/* A write error surfaces as a readable socket: the poll handles it.
	 * Inside our own callback the poll is brought up to date on the way
	 * out, once for the whole batch. */
	if (rc)
		CORE_LOG_D(LOG_MOD, "%s: publish to %s: %s", c->name, topic, mosquitto_strerror(rc));
	else if (!c->depth)
		poll_sync(c);
	return map_mosq_err(rc);
}

void usp_mqtt_client_fail(usp_mqtt_client *c, const char *why)
{
	if (!c || c->dead || c->lost)
		return;
	CORE_LOG_W(LOG_MOD, "%s: dropping the connection: %s", c->name, why);
	enter(c);
	c->lost = true;
	c->bye = true; /* R-MQTT.16, R-MQTT.17: disconnect, not just drop */
	leave(c);
}
