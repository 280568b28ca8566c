/*
 * usp_bench_link.c - the Controller side of the USP bench: sessions on
 * each MTP (a minimal WebSocket client on a plain TCP socket, the UNIX
 * socket framing with its Handshake, libmosquitto driven from this thread),
 * requests encoded once with the generated protobuf-c code and patched per
 * send, answers checked by a field scan, and the load runs. Written to cost
 * the agent's machine as little as a load generator can: no allocation,
 * encoding or decoding per request. Which agent runs, and the figures, are
 * usp_bench.c's.
 */
#include "usp_bench.h"

#include "usp-record-1-4.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MQ_SLOTS 64 /* MQTT messages received and not yet read */

static char agent_id[256] = "os::02D0E7-DG0000000001";

double ub_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ub_set_agent_id(const char *id)
{
	snprintf(agent_id, sizeof agent_id, "%s", id);
}

/* ---- sessions ------------------------------------------------------------------------ */

typedef enum link_kind { LINK_WS, LINK_UDS, LINK_MQTT } link_kind;

struct ub_link {
	link_kind kind;
	int fd;
	uint8_t *in; /* bytes read and not consumed: in[in_off..in_len) */
	size_t in_len, in_cap, in_off;
	uint8_t *msg; /* WebSocket: a fragmented message, reassembled */
	size_t msg_len, msg_cap;
	uint8_t *out;
	size_t out_cap;
	size_t frame_end; /* UDS: end of the frame whose TLVs are being read, 0 = none */
	/* MQTT */
	struct mosquitto *mosq;
	mosquitto_property *props;
	char pub_topic[128];
	bool connected, subscribed, failed;
	struct {
		uint8_t *b;
		size_t len, cap;
	} slot[MQ_SLOTS];
	unsigned q_head, q_tail;
};

static ub_link *link_new(link_kind kind)
{
	ub_link *l = calloc(1, sizeof *l);
	if (l) {
		l->kind = kind;
		l->fd = -1;
	}
	return l;
}

void ub_link_close(ub_link *l)
{
	if (!l)
		return;
	if (l->mosq) {
		mosquitto_disconnect(l->mosq);
		mosquitto_destroy(l->mosq);
	}
	mosquitto_property_free_all(&l->props);
	if (l->fd >= 0)
		close(l->fd);
	free(l->in);
	free(l->msg);
	free(l->out);
	for (int i = 0; i < MQ_SLOTS; i++)
		free(l->slot[i].b);
	free(l);
}

static int ensure(uint8_t **b, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 65536;
	while (nc < need)
		nc *= 2;
	uint8_t *nb = realloc(*b, nc);
	if (!nb)
		return -1;
	*b = nb;
	*cap = nc;
	return 0;
}

static int send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read what the socket has, waiting until deadline: 1 read, 0 nothing, -1 closed. */
static int fill(ub_link *l, double deadline)
{
	if (l->in_off && (l->in_off == l->in_len || l->in_off > l->in_cap / 2)) {
		memmove(l->in, l->in + l->in_off, l->in_len - l->in_off);
		l->in_len -= l->in_off;
		if (l->frame_end)
			l->frame_end -= l->in_off;
		l->in_off = 0;
	}
	if (ensure(&l->in, &l->in_cap, l->in_len + 65536))
		return -1;
	int left = (int)((deadline - ub_now()) * 1000);
	if (left < 0)
		return 0;
	struct pollfd pf = {.fd = l->fd, .events = POLLIN};
	int pr = poll(&pf, 1, left);
	if (pr <= 0)
		return pr < 0 && errno != EINTR ? -1 : 0;
	ssize_t r = recv(l->fd, l->in + l->in_len, l->in_cap - l->in_len, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r > 0)
		l->in_len += (size_t)r;
	return 1;
}

/* ---- WebSocket (RFC 6455 as TR-369 "WebSocket Binding" uses it) ----------------------- */

static int ws_send_frame(ub_link *l, int opcode, const uint8_t *p, size_t n)
{
	static const uint8_t key[4] = {0x5a, 0x17, 0xc3, 0x9e};
	if (ensure(&l->out, &l->out_cap, n + 14))
		return -1;
	uint8_t *o = l->out;
	size_t h = 0;
	o[h++] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		o[h++] = (uint8_t)(0x80 | n);
	} else if (n <= 0xffff) {
		o[h++] = 0x80 | 126;
		o[h++] = (uint8_t)(n >> 8);
		o[h++] = (uint8_t)n;
	} else {
		o[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			o[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(o + h, key, 4);
	h += 4;
	for (size_t i = 0; i < n; i++) /* a client masks every frame (RFC 6455 5.3) */
		o[h + i] = p[i] ^ key[i & 3];
	return send_all(l->fd, o, h + n);
}

/* One whole frame at in[in_off]: its header length and payload length. */
static bool ws_frame_ready(const ub_link *l, size_t *hlen, uint64_t *plen)
{
	const uint8_t *p = l->in + l->in_off;
	size_t avail = l->in_len - l->in_off, h = 2;
	if (avail < 2)
		return false;
	uint64_t n = p[1] & 0x7f;
	h += n == 126 ? 2 : n == 127 ? 8 : 0;
	h += p[1] & 0x80 ? 4 : 0;
	if (avail < h)
		return false;
	if (n == 126)
		n = (uint64_t)p[2] << 8 | p[3];
	else if (n == 127)
		for (int i = 0; i < 8; i++)
			n = n << 8 | p[2 + i];
	*hlen = h;
	*plen = n;
	return avail - h >= n;
}

/* The next binary message; Pings answered, fragments joined. */
static int ws_next(ub_link *l, const uint8_t **rec, size_t *len, double deadline)
{
	for (;;) {
		size_t h;
		uint64_t n;
		if (!ws_frame_ready(l, &h, &n)) {
			int rc = fill(l, deadline);
			if (rc <= 0)
				return rc;
			continue;
		}
		const uint8_t *p = l->in + l->in_off;
		int op = p[0] & 0x0f;
		bool fin = p[0] & 0x80;
		uint8_t *pl = l->in + l->in_off + h;
		if (p[1] & 0x80) /* a server does not mask, but be lenient */
			for (uint64_t i = 0; i < n; i++)
				pl[i] ^= p[h - 4 + (i & 3)];
		l->in_off += h + n;
		if (op == 0x8)
			return -1;
		if (op == 0x9 && ws_send_frame(l, 0xA, pl, n))
			return -1;
		if (op == 0x2 && fin && !l->msg_len) {
			*rec = pl;
			*len = n;
			return 1;
		}
		if (op != 0x2 && op != 0x0)
			continue;
		if (ensure(&l->msg, &l->msg_cap, l->msg_len + n))
			return -1;
		memcpy(l->msg + l->msg_len, pl, n);
		l->msg_len += n;
		if (fin) {
			*rec = l->msg;
			*len = l->msg_len;
			l->msg_len = 0;
			return 1;
		}
	}
}

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

ub_link *ub_ws_open(int port)
{
	ub_link *l = link_new(LINK_WS);
	if (!l || (l->fd = tcp_connect(port)) < 0)
		goto fail;
	/* R-WS.10b: our Endpoint ID in the eid query parameter, percent-encoded */
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET /usp?eid=proto%%3A%%3Aduet-bench HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ZHVldC1iZW5jaC1rZXkxMg==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v1.usp\r\n\r\n",
			 port);
	if (send_all(l->fd, (const uint8_t *)req, (size_t)n))
		goto fail;
	double deadline = ub_now() + UB_WAIT_S;
	for (;;) {
		uint8_t *e = l->in_len >= 4 ? memmem(l->in, l->in_len, "\r\n\r\n", 4) : NULL;
		if (e) {
			*e = 0;
			/* R-WS.12: no session unless the agent took v1.usp */
			if (strncmp((char *)l->in, "HTTP/1.1 101", 12) || !strcasestr((char *)l->in, "v1.usp"))
				goto fail;
			l->in_off = (size_t)(e + 4 - l->in); /* the WebSocketConnect Record may follow */
			return l;
		}
		if (fill(l, deadline) <= 0)
			goto fail;
	}
fail:
	ub_link_close(l);
	return NULL;
}

/* ---- UNIX domain socket (TR-369 "UNIX Domain Socket Binding") -------------------------- */

enum { TLV_HANDSHAKE = 1, TLV_ERROR = 2, TLV_RECORD = 3 };

static int uds_send_frame(ub_link *l, int type, const uint8_t *p, size_t n)
{
	if (ensure(&l->out, &l->out_cap, n + 13))
		return -1;
	uint8_t *o = l->out;
	uint32_t body = (uint32_t)(n + 5), vl = (uint32_t)n;
	memcpy(o, "_USP", 4);
	for (int i = 0; i < 4; i++) {
		o[4 + i] = (uint8_t)(body >> (24 - 8 * i));
		o[9 + i] = (uint8_t)(vl >> (24 - 8 * i));
	}
	o[8] = (uint8_t)type;
	memcpy(o + 13, p, n);
	return send_all(l->fd, o, n + 13);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The next TLV of any type. A frame is taken once it is whole. */
static int uds_next(ub_link *l, int *type, const uint8_t **val, size_t *len, double deadline)
{
	for (;;) {
		size_t avail = l->in_len - l->in_off;
		const uint8_t *p = l->in + l->in_off;
		if (l->frame_end && l->in_off >= l->frame_end)
			l->frame_end = 0;
		if (l->frame_end) {
			if (l->frame_end - l->in_off < 5 || l->frame_end - l->in_off - 5 < be32(p + 1))
				return -1;
			*type = p[0];
			*len = be32(p + 1);
			*val = p + 5;
			l->in_off += 5 + *len;
			return 1;
		}
		if (avail >= 8 && memcmp(p, "_USP", 4))
			return -1;
		if (avail >= 8 && avail - 8 >= be32(p + 4)) {
			l->frame_end = l->in_off + 8 + be32(p + 4);
			l->in_off += 8;
			continue;
		}
		int rc = fill(l, deadline);
		if (rc <= 0)
			return rc;
	}
}

ub_link *ub_uds_open(const char *path, char *peer_id, size_t idsz)
{
	ub_link *l = link_new(LINK_UDS);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%.107s", path);
	if (!l || (l->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || connect(l->fd, (struct sockaddr *)&a, sizeof a))
		goto fail;
	/* R-UDS.16: the connecting side sends its Handshake first */
	if (uds_send_frame(l, TLV_HANDSHAKE, (const uint8_t *)UB_CTL_ID, strlen(UB_CTL_ID)))
		goto fail;
	double deadline = ub_now() + UB_WAIT_S;
	int type;
	const uint8_t *v;
	size_t n;
	while (uds_next(l, &type, &v, &n, deadline) == 1) {
		if (type == TLV_ERROR)
			break;
		if (type == TLV_HANDSHAKE && n < idsz) {
			memcpy(peer_id, v, n);
			peer_id[n] = 0;
			return l;
		}
	}
fail:
	ub_link_close(l);
	return NULL;
}

/* ---- MQTT 5 (TR-369 "MQTT Binding"), libmosquitto without its thread ------------------- */

static void mq_on_connect(struct mosquitto *m, void *ud, int rc, int flags, const mosquitto_property *p)
{
	ub_link *l = ud;
	l->connected = rc == 0;
	l->failed = rc != 0;
}

static void mq_on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos,
			    const mosquitto_property *p)
{
	((ub_link *)ud)->subscribed = true;
}

static void mq_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
			  const mosquitto_property *p)
{
	ub_link *l = ud;
	if (l->q_tail - l->q_head >= MQ_SLOTS)
		return; /* not with the bench's windows; the run would time out */
	unsigned i = l->q_tail % MQ_SLOTS;
	if (ensure(&l->slot[i].b, &l->slot[i].cap, (size_t)msg->payloadlen + 1))
		return;
	memcpy(l->slot[i].b, msg->payload, (size_t)msg->payloadlen);
	l->slot[i].len = (size_t)msg->payloadlen;
	l->q_tail++;
}

static int mq_pump_until(ub_link *l, const bool *flag, double seconds)
{
	for (double end = ub_now() + seconds; !*flag && !l->failed && ub_now() < end;)
		if (mosquitto_loop(l->mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			return -1;
	return *flag ? 0 : -1;
}

ub_link *ub_mqtt_open(int port, const char *client_id, const char *sub_topic, const char *pub_topic)
{
	ub_link *l = link_new(LINK_MQTT);
	if (!l || !(l->mosq = mosquitto_new(client_id, true, l)))
		goto fail;
	ub_mqtt_retarget(l, pub_topic);
	mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(l->mosq, mq_on_connect);
	mosquitto_subscribe_v5_callback_set(l->mosq, mq_on_subscribe);
	mosquitto_message_v5_callback_set(l->mosq, mq_on_message);
	/* R-MQTT.23, R-MQTT.27: where to answer, and what the payload is */
	if (mosquitto_property_add_string(&l->props, MQTT_PROP_RESPONSE_TOPIC, sub_topic) ||
	    mosquitto_property_add_string(&l->props, MQTT_PROP_CONTENT_TYPE, "usp.msg"))
		goto fail;
	if (mosquitto_connect(l->mosq, "127.0.0.1", port, 60) || mq_pump_until(l, &l->connected, UB_WAIT_S))
		goto fail;
	if (mosquitto_subscribe_v5(l->mosq, NULL, sub_topic, 1, 0, NULL) ||
	    mq_pump_until(l, &l->subscribed, UB_WAIT_S))
		goto fail;
	return l;
fail:
	ub_link_close(l);
	return NULL;
}

void ub_mqtt_retarget(ub_link *l, const char *pub_topic)
{
	snprintf(l->pub_topic, sizeof l->pub_topic, "%s", pub_topic);
}

struct ub_echo {
	struct mosquitto *mosq;
};

static void echo_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
			    const mosquitto_property *p)
{
	char *topic = NULL;
	if (mosquitto_property_read_string(p, MQTT_PROP_RESPONSE_TOPIC, &topic, false) && topic)
		mosquitto_publish_v5(m, NULL, topic, msg->payloadlen, msg->payload, 1, false, NULL);
	free(topic);
}

ub_echo *ub_echo_start(int port, const char *topic)
{
	ub_echo *e = calloc(1, sizeof *e);
	ub_link *l = ub_mqtt_open(port, "duet-bench-echo", topic, topic);
	if (!e || !l)
		goto fail;
	e->mosq = l->mosq; /* the session, without the link around it */
	l->mosq = NULL;
	ub_link_close(l);
	l = NULL;
	mosquitto_user_data_set(e->mosq, NULL);
	mosquitto_connect_v5_callback_set(e->mosq, NULL);
	mosquitto_subscribe_v5_callback_set(e->mosq, NULL);
	mosquitto_message_v5_callback_set(e->mosq, echo_on_message);
	if (mosquitto_loop_start(e->mosq))
		goto fail;
	return e;
fail:
	ub_link_close(l);
	if (e && e->mosq)
		mosquitto_destroy(e->mosq);
	free(e);
	return NULL;
}

void ub_echo_stop(ub_echo *e)
{
	if (!e)
		return;
	mosquitto_disconnect(e->mosq);
	mosquitto_loop_stop(e->mosq, true);
	mosquitto_destroy(e->mosq);
	free(e);
}

/* ---- any MTP ----------------------------------------------------------------------------- */

int ub_link_send(ub_link *l, const uint8_t *rec, size_t len)
{
	if (l->kind == LINK_WS)
		return ws_send_frame(l, 0x2, rec, len);
	if (l->kind == LINK_UDS)
		return uds_send_frame(l, TLV_RECORD, rec, len);
	return mosquitto_publish_v5(l->mosq, NULL, l->pub_topic, (int)len, rec, 1, false, l->props) ? -1 : 0;
}

int ub_link_recv(ub_link *l, const uint8_t **rec, size_t *len, double deadline)
{
	if (l->kind == LINK_WS)
		return ws_next(l, rec, len, deadline);
	if (l->kind == LINK_UDS) {
		int type, rc;
		while ((rc = uds_next(l, &type, rec, len, deadline)) == 1)
			if (type == TLV_RECORD)
				return 1;
			else if (type == TLV_ERROR)
				return -1;
		return rc;
	}
	while (l->q_head == l->q_tail) {
		int left = (int)((deadline - ub_now()) * 1000);
		if (left <= 0)
			return 0;
		if (mosquitto_loop(l->mosq, left, 1) != MOSQ_ERR_SUCCESS)
			return -1;
	}
	unsigned i = l->q_head++ % MQ_SLOTS;
	*rec = l->slot[i].b;
	*len = l->slot[i].len;
	return 1;
}

/* ---- requests ---------------------------------------------------------------------------- */

Usp__Msg *ub_req_init(ub_req *r, const char *msg_id, Usp__Header__MsgType type)
{
	*r = (ub_req){.msg = USP__MSG__INIT, .hdr = USP__HEADER__INIT, .body = USP__BODY__INIT,
		      .req = USP__REQUEST__INIT};
	r->hdr.msg_id = (char *)msg_id;
	r->hdr.msg_type = type;
	r->body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	r->body.request = &r->req;
	r->msg.header = &r->hdr;
	r->msg.body = &r->body;
	return &r->msg;
}

/* A Msg in a NoSessionContext Record from us to the agent (malloc'd). */
static int wrap(const Usp__Msg *m, uint8_t **out, size_t *len)
{
	size_t ml = usp__msg__get_packed_size(m);
	uint8_t *mb = malloc(ml ? ml : 1);
	if (!mb)
		return -1;
	usp__msg__pack(m, mb);
	UspRecord__Record r = USP_RECORD__RECORD__INIT;
	UspRecord__NoSessionContextRecord nsc = USP_RECORD__NO_SESSION_CONTEXT_RECORD__INIT;
	r.version = "1.4";
	r.to_id = agent_id;
	r.from_id = UB_CTL_ID;
	nsc.payload.data = mb;
	nsc.payload.len = ml;
	r.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_NO_SESSION_CONTEXT;
	r.no_session_context = &nsc;
	*len = usp_record__record__get_packed_size(&r);
	*out = malloc(*len);
	if (*out)
		usp_record__record__pack(&r, *out);
	free(mb);
	return *out ? 0 : -1;
}

static int tmpl_make(const Usp__Msg *m, ub_tmpl *t)
{
	memset(t, 0, sizeof *t);
	if (wrap(m, &t->buf, &t->len))
		return -1;
	size_t hl = strlen(UB_ID_HOLE);
	for (size_t i = 0; i + hl <= t->len && t->nholes < 4; i++)
		if (!memcmp(t->buf + i, UB_ID_HOLE, hl)) {
			t->hole[t->nholes++] = i;
			i += hl - 1;
		}
	return t->nholes ? 0 : -1;
}

void ub_tmpl_patch(ub_tmpl *t, uint32_t seq)
{
	char d[9];
	snprintf(d, sizeof d, "%08x", seq);
	for (int i = 0; i < t->nholes; i++)
		memcpy(t->buf + t->hole[i], d, 8);
}

void ub_tmpl_free(ub_tmpl *t)
{
	free(t->buf);
	memset(t, 0, sizeof *t);
}

int ub_tmpl_get(ub_tmpl *t, const char *path, const char *msg_id)
{
	ub_req r;
	Usp__Msg *m = ub_req_init(&r, msg_id, USP__HEADER__MSG_TYPE__GET);
	Usp__Get g = USP__GET__INIT;
	char *paths[] = {(char *)path};
	g.n_param_paths = 1;
	g.param_paths = paths;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	r.req.get = &g;
	return tmpl_make(m, t);
}

int ub_tmpl_set(ub_tmpl *t, const char *obj, const char *param, const char *value)
{
	ub_req r;
	Usp__Msg *m = ub_req_init(&r, "s-" UB_ID_HOLE, USP__HEADER__MSG_TYPE__SET);
	Usp__Set s = USP__SET__INIT;
	Usp__Set__UpdateObject uo = USP__SET__UPDATE_OBJECT__INIT;
	Usp__Set__UpdateParamSetting ps = USP__SET__UPDATE_PARAM_SETTING__INIT;
	Usp__Set__UpdateObject *uos[] = {&uo};
	Usp__Set__UpdateParamSetting *pss[] = {&ps};
	ps.param = (char *)param;
	ps.value = (char *)value;
	ps.required = true;
	uo.obj_path = (char *)obj;
	uo.n_param_settings = 1;
	uo.param_settings = pss;
	s.n_update_objs = 1;
	s.update_objs = uos;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_SET;
	r.req.set = &s;
	return tmpl_make(m, t);
}

/* ---- answers ------------------------------------------------------------------------------ */

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* The next field: number, wire type, varint value or (wire type 2) data and length in *v. */
static int pb_next(const uint8_t **p, const uint8_t *end, uint32_t *num, int *wt, uint64_t *v,
		   const uint8_t **data)
{
	uint64_t key;
	if (pb_varint(p, end, &key))
		return -1;
	*num = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*wt == 1 || *wt == 5) {
		size_t n = *wt == 1 ? 8 : 4;
		if ((size_t)(end - *p) < n)
			return -1;
		*p += n;
		return 0;
	}
	if ((*wt != 0 && *wt != 2) || pb_varint(p, end, v))
		return -1;
	if (*wt == 2) {
		if (*v > (uint64_t)(end - *p))
			return -1;
		*data = *p;
		*p += *v;
	}
	return 0;
}

/* Msg.header (1) -> msg_id (1), msg_type (2); an absent msg_type is ERROR (0). */
static int scan_header(const uint8_t *d, size_t n, ub_scan *s)
{
	uint32_t num;
	int wt;
	uint64_t v = 0;
	const uint8_t *data = NULL;
	for (const uint8_t *p = d, *end = d + n; p < end;) {
		if (pb_next(&p, end, &num, &wt, &v, &data))
			return -1;
		if (num == 1 && wt == 2 && v < sizeof s->id) {
			memcpy(s->id, data, v);
			s->id[v] = 0;
		} else if (num == 2 && wt == 0) {
			s->msg_type = (int)v;
		}
	}
	return 0;
}

int ub_scan_record(const uint8_t *b, size_t n, ub_scan *s)
{
	uint32_t num;
	int wt;
	uint64_t v = 0;
	const uint8_t *d = NULL;
	memset(s, 0, sizeof *s);
	for (const uint8_t *p = b, *end = b + n; p < end;) {
		if (pb_next(&p, end, &num, &wt, &v, &d))
			return -1;
		if (num < 7 || num > 13 || wt != 2)
			continue;
		s->kind = (int)num;
		if (num != 7)
			return 0;
		for (const uint8_t *q = d, *qe = d + v; q < qe;) {
			const uint8_t *pd = NULL;
			uint64_t pl = 0;
			if (pb_next(&q, qe, &num, &wt, &pl, &pd))
				return -1;
			if (num == 2 && wt == 2) {
				s->payload = pd;
				s->plen = pl;
			}
		}
	}
	if (s->kind != 7)
		return s->kind ? 0 : -1;
	if (!s->payload)
		return -1;
	for (const uint8_t *q = s->payload, *qe = q + s->plen; q < qe;) {
		if (pb_next(&q, qe, &num, &wt, &v, &d))
			return -1;
		if (num == 1 && wt == 2 && scan_header(d, v, s))
			return -1;
	}
	return 0;
}

Usp__Msg *ub_call(ub_link *l, const Usp__Msg *m, double timeout_s)
{
	uint8_t *rec;
	size_t len;
	if (wrap(m, &rec, &len))
		return NULL;
	int rc = ub_link_send(l, rec, len);
	free(rec);
	double deadline = ub_now() + timeout_s;
	const uint8_t *b;
	ub_scan s;
	while (!rc && ub_link_recv(l, &b, &len, deadline) == 1)
		if (!ub_scan_record(b, len, &s) && s.kind == 7 && !strcmp(s.id, m->header->msg_id))
			return usp__msg__unpack(NULL, s.plen, s.payload);
	return NULL;
}

long ub_count_params(const Usp__Msg *m)
{
	if (!m || !m->body || m->body->msg_body_case != USP__BODY__MSG_BODY_RESPONSE ||
	    m->body->response->resp_type_case != USP__RESPONSE__RESP_TYPE_GET_RESP)
		return -1;
	long n = 0;
	const Usp__GetResp *g = m->body->response->get_resp;
	for (size_t i = 0; i < g->n_req_path_results; i++) {
		const Usp__GetResp__RequestedPathResult *rp = g->req_path_results[i];
		if (rp->err_code)
			return -1;
		for (size_t j = 0; j < rp->n_resolved_path_results; j++)
			n += (long)rp->resolved_path_results[j]->n_result_params;
	}
	return n;
}

static Usp__Msg *get_one(ub_link *l, const char *path, double timeout_s)
{
	static unsigned seq;
	char id[32];
	snprintf(id, sizeof id, "get-%u", ++seq);
	ub_req r;
	Usp__Msg *m = ub_req_init(&r, id, USP__HEADER__MSG_TYPE__GET);
	Usp__Get g = USP__GET__INIT;
	char *paths[] = {(char *)path};
	g.n_param_paths = 1;
	g.param_paths = paths;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	r.req.get = &g;
	return ub_call(l, m, timeout_s);
}

long ub_get_count(ub_link *l, const char *path, double timeout_s)
{
	Usp__Msg *resp = get_one(l, path, timeout_s);
	long n = ub_count_params(resp);
	if (resp)
		usp__msg__free_unpacked(resp, NULL);
	return n;
}

int ub_get_value(ub_link *l, const char *path, char *out, size_t outsz)
{
	Usp__Msg *resp = get_one(l, path, UB_WAIT_S);
	int rc = -1;
	if (ub_count_params(resp) == 1) {
		const Usp__GetResp__RequestedPathResult *rp = resp->body->response->get_resp->req_path_results[0];
		snprintf(out, outsz, "%s", rp->resolved_path_results[0]->result_params[0]->value);
		rc = 0;
	}
	if (resp)
		usp__msg__free_unpacked(resp, NULL);
	return rc;
}

/* ---- load runs ---------------------------------------------------------------------------- */

/* CPU seconds a process has used (0 when it is not there). */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* utime and stime are fields 14 and 15, the 12th and 13th after it */
	unsigned long ut = 0, st = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

typedef struct cpu_mark {
	double t, agent, broker, self;
} cpu_mark;

static void cpu_take(cpu_mark *m, pid_t agent, pid_t broker)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	m->t = ub_now();
	m->agent = proc_cpu_s(agent);
	m->broker = proc_cpu_s(broker);
	m->self = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		  ru.ru_stime.tv_usec / 1e6;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* The rate counts the answers that arrived in the measured part; the
 * latencies are those of requests both sent and answered in it. */
int ub_run_load(ub_link *l, ub_tmpl *t, int window, int want_type, pid_t agent, pid_t broker, ub_load *o)
{
	enum { RING = 1024 };
	static double sent_at[RING];
	size_t cap = 1 << 20, nlat = 0;
	float *lat = malloc(cap * sizeof *lat);
	uint32_t seq = 0, answered = 0, base = t->next;
	unsigned long in_window = 0;
	double tw = ub_now() + UB_WARM_S, te = tw + UB_RUN_S;
	cpu_mark c0 = {0}, c1 = {0};
	int rc = lat ? 0 : -1;
	memset(o, 0, sizeof *o);
	for (; !rc && seq < (uint32_t)window; seq++) {
		ub_tmpl_patch(t, base + seq);
		sent_at[seq % RING] = ub_now();
		rc = ub_link_send(l, t->buf, t->len);
	}
	while (!rc && answered < seq) {
		const uint8_t *b;
		size_t len;
		ub_scan s;
		if (ub_link_recv(l, &b, &len, ub_now() + UB_WAIT_S) != 1) {
			rc = -1;
			break;
		}
		if (ub_scan_record(b, len, &s) || s.kind != 7)
			continue; /* a Connect Record */
		size_t il = strlen(s.id);
		uint32_t id = il >= 8 ? (uint32_t)strtoul(s.id + il - 8, NULL, 16) - base : UINT32_MAX;
		if (id >= seq || seq - id > RING)
			continue; /* not one of this run's */
		double now = ub_now();
		answered++;
		if (s.msg_type != want_type)
			o->wrong++;
		if (!c0.t && now >= tw)
			cpu_take(&c0, agent, broker);
		if (!c1.t && now > te)
			cpu_take(&c1, agent, broker);
		if (now >= tw && now <= te) {
			in_window++;
			if (sent_at[id % RING] >= tw && nlat < cap)
				lat[nlat++] = (float)((now - sent_at[id % RING]) * 1e6);
		}
		if (now <= te) {
			ub_tmpl_patch(t, base + seq);
			sent_at[seq % RING] = ub_now();
			rc = ub_link_send(l, t->buf, t->len);
			seq++;
		}
	}
	t->next = base + seq;
	o->answers = answered;
	o->rps = in_window / UB_RUN_S;
	if (c0.t && c1.t > c0.t) {
		double el = c1.t - c0.t;
		o->cpu_agent = 100 * (c1.agent - c0.agent) / el;
		o->cpu_broker = 100 * (c1.broker - c0.broker) / el;
		o->cpu_bench = 100 * (c1.self - c0.self) / el;
	}
	if (nlat) {
		qsort(lat, nlat, sizeof *lat, cmp_float);
		o->p50_us = lat[nlat / 2];
		o->p99_us = lat[nlat * 99 / 100];
	}
	free(lat);
	return rc;
}
