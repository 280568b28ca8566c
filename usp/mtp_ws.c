/*
 * mtp_ws.c - the WebSocket MTP (TR-369 "WebSocket Binding") on
 * libwebsockets, which runs on the core loop as a foreign libuv loop: the
 * sessions (accepted or dialled), the opening handshake checks (subprotocol
 * v1.usp, the peer's Endpoint ID from the "eid" query parameter or the
 * bbf-usp-protocol extension), one Record per binary message in and out,
 * keep-alive Pings, the WebSocketConnect Record, the TLS vhosts and the
 * certificate checks of wss, and the MTP's entry points. Which sockets
 * listen and which Controllers are dialled, and when to retry, is
 * mtp_ws_cfg.c's; what a Record means is agent.c's.
 */
#include "mtp_ws.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WS_RX_CHUNK 65536
/* Default largest message accepted: a peer must not make us buffer
 * without bound. */
#define WS_MAX_MESSAGE_DEFAULT (16u << 20)
/* Records kept for a Controller whose session is not up yet (send_to);
 * the oldest goes first. */
#define WS_PENDING_MAX 256
#define WS_WRITE_BATCH 16 /* Records per writable callback at most */

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
static void run_deferred(ws_mtp *m);
static void queue_mtp_record(ws_link *l, usp_rec_kind kind, const char *reason);

static const struct lws_protocols ws_protocols[] = {
	/* Alone at index 0: lws binds a handshake without a subprotocol to
	 * protocols[0], so it reaches our filter and is refused (R-WS.12a).
	 * lws sizes a dialled socket's send buffer from rx_buffer_size. */
	{.name = WS_SUBPROTOCOL, .callback = ws_callback, .rx_buffer_size = WS_RX_CHUNK},
	{0},
};

/* ---------------------------------------------------------------------------
 * Queues
 * ------------------------------------------------------------------------- */

ws_msg *ws_msg_new(const uint8_t *rec, size_t len)
{
	ws_msg *msg = malloc(sizeof *msg + LWS_PRE + len);

	if (!msg)
		return NULL;
	msg->next = NULL;
	msg->len = len;
	memcpy(msg->buf + LWS_PRE, rec, len);
	return msg;
}

void ws_queue_push(ws_queue *q, ws_msg *msg)
{
	if (q->tail)
		q->tail->next = msg;
	else
		q->head = msg;
	q->tail = msg;
	q->n++;
}

ws_msg *ws_queue_pop(ws_queue *q)
{
	ws_msg *msg = q->head;

	if (!msg)
		return NULL;
	q->head = msg->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	msg->next = NULL;
	return msg;
}

void ws_queue_free(ws_queue *q)
{
	ws_msg *msg;

	while ((msg = ws_queue_pop(q)))
		free(msg);
}

/* After stop, m lives until nothing refers to it: every connection and
 * listener gone, no call of ours on the stack. */
void ws_maybe_free(ws_mtp *m)
{
	if (m->stopped && !m->links && !m->deferred && !m->in_cb && !m->open_handles)
		free(m);
}

/* ---------------------------------------------------------------------------
 * Links: lifetime and closing
 * ------------------------------------------------------------------------- */

ws_link *ws_link_new(ws_mtp *m)
{
	ws_link *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->m = m;
	l->conn.kind = USP_MTP_WEBSOCKET;
	l->conn.mtp = l;
	l->next = m->links;
	if (m->links)
		m->links->prev = l;
	m->links = l;
	return l;
}

static void link_free(ws_link *l)
{
	ws_mtp *m = l->m;

	if (l->prev)
		l->prev->next = l->next;
	else
		m->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	ws_queue_free(&l->q);
	free(l->rx);
	free(l);
	ws_maybe_free(m);
}

/* The connection is over (closed, failed or destroyed): tell the agent,
 * and let a dialled target try again. Runs once per link. */
static void link_end(ws_link *l)
{
	ws_mtp *m = l->m;

	if (l->ended)
		return;
	l->ended = true;
	l->established = false;
	core_timer_stop(l->ping);
	l->ping = NULL;
	if (l->announced && !m->stopped)
		usp_conn_down(m->agent, &l->conn);
	l->announced = false;
	ws_queue_free(&l->q);
	if (l->cli && l->cli->link == l) {
		ws_client *c = l->cli;
		c->link = NULL;
		l->cli = NULL;
		if (!m->stopped)
			ws_client_failed(c);
	}
}

void ws_link_discard(ws_link *l)
{
	l->wsi = NULL;
	link_end(l);
	link_free(l);
}

/*
 * Closing has to respect lws 4.1: a connection may be closed synchronously
 * only when no lws callback is on the stack (it may be this very
 * connection's); inside its own receive callback, returning -1 closes it;
 * returning -1 from a writable callback hangs up without a Close frame;
 * and a kill scheduled with LWS_TO_KILL_ASYNC is noticed only at lws's next
 * own wake-up, which on a foreign loop may be long after. So what cannot be
 * done now is done from a zero-delay timer (links_due).
 */
static void link_act(ws_link *l)
{
	ws_mtp *m = l->m;

	if (!l->wsi || l->ended || l->in_rx || !(l->kill_due || (l->close_due && !l->q.head)))
		return;
	if (m->in_cb) {
		m->links_due = true;
		return;
	}
	/* With a close reason set (ws_link_close) this starts the Close
	 * handshake, our frame then the peer's answer; without one it hangs
	 * up. May free l. */
	lws_set_timeout(l->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* Drop a connection without a Close frame (dead peer, abandoned attempt). */
static void link_kill(ws_link *l)
{
	l->kill_due = true;
	link_act(l);
}

/* A session that is up gets the Records already queued (a response to the
 * request that closes it, R-MSG.0) and then a Close frame; one still being
 * set up is dropped. */
void ws_link_close(ws_link *l, uint16_t code, const char *reason)
{
	if (!l->wsi || l->ended || l->close_due || l->kill_due)
		return;
	if (!l->established) {
		link_kill(l);
		return;
	}
	l->close_due = true;
	lws_close_reason(l->wsi, (enum lws_close_status)code, (unsigned char *)reason, reason ? strlen(reason) : 0);
	link_act(l);
}

/* A session we end on our own initiative (the configuration no longer has
 * it) says so with a DisconnectRecord before the Close (R-MTP.7; no error
 * code of TR-369's table fits, so the reason alone, R-MTP.9). */
void ws_link_retire(ws_link *l, const char *reason)
{
	if (l->established && !l->close_due && !l->kill_due && l->conn.peer_id[0]) {
		queue_mtp_record(l, USP_REC_DISCONNECT, reason);
		lws_callback_on_writable(l->wsi);
	}
	ws_link_close(l, LWS_CLOSE_STATUS_GOINGAWAY, reason);
}

/* ---------------------------------------------------------------------------
 * usp_conn operations
 * ------------------------------------------------------------------------- */

static int conn_send(usp_conn *c, const uint8_t *rec, size_t len)
{
	ws_link *l = c->mtp;

	if (!l->established || l->close_due || l->kill_due || !l->wsi)
		return DM_ERR_NOT_INSTANTIATED;
	ws_msg *msg = ws_msg_new(rec, len);
	if (!msg)
		return DM_ERR_NOMEM;
	ws_queue_push(&l->q, msg);
	lws_callback_on_writable(l->wsi);
	return DM_OK;
}

/* R-WS.16: a Record that cannot be extracted ends the session with 1003. */
static void conn_close(usp_conn *c, uint32_t code, const char *reason)
{
	ws_link *l = c->mtp;
	char why[120]; /* a Close frame carries at most 123 bytes of text */

	snprintf(why, sizeof why, "%u %s", (unsigned)code, reason && *reason ? reason : usp_err_text(code));
	CORE_LOG_I(WS_LOG, "closing the session with %s: %s", c->peer_id[0] ? c->peer_id : "peer", why);
	ws_link_close(l, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, why);
}

static const usp_conn_ops ws_conn_ops = {
	.send = conn_send,
	.close = conn_close,
};

/* ---------------------------------------------------------------------------
 * Keep-alive (R-WS.17, R-WS.18)
 * ------------------------------------------------------------------------- */

/* Every interval a Ping goes out; a peer from which nothing (not even the
 * Pong) arrived during a whole interval after a Ping is gone, and the
 * session is dropped so that a dialled Controller is dialled again. */
static void ping_tick(void *ctx)
{
	ws_link *l = ctx;

	if (!l->wsi || l->ended || l->close_due)
		return;
	if (l->ping_out && !l->rx_seen) {
		CORE_LOG_I(WS_LOG, "%s: no answer to a keep-alive Ping; dropping the session", l->conn.peer_id);
		link_kill(l); /* may free l */
		return;
	}
	l->rx_seen = false;
	l->ping_out = true;
	l->ping_due = true;
	lws_callback_on_writable(l->wsi);
}

/* ---------------------------------------------------------------------------
 * Session up: WebSocketConnect Record, queued Records, the agent
 * ------------------------------------------------------------------------- */

/* A WebSocketConnect or Disconnect Record of ours, queued. */
static void queue_mtp_record(ws_link *l, usp_rec_kind kind, const char *reason)
{
	usp_record_out r = {
		.kind = kind,
		.to_id = l->conn.peer_id,
		.from_id = usp_agent_endpoint_id(l->m->agent),
		.reason = reason,
	};
	uint8_t *buf = NULL;
	size_t len = 0;
	ws_msg *msg = NULL;

	if (usp_record_build(&r, &buf, &len) == DM_OK && (msg = ws_msg_new(buf, len)))
		ws_queue_push(&l->q, msg);
	else
		CORE_LOG_W(WS_LOG, "could not build a Record for %s", l->conn.peer_id);
	free(buf);
}

static void set_nodelay(struct lws *wsi)
{
	int one = 1;
	lws_sockfd_type fd = lws_get_socket_fd(wsi);

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void link_up(ws_link *l, struct lws *wsi)
{
	ws_mtp *m = l->m;

	if (l->cli) {
		l->cli->state = CLI_UP;
		l->cli->retry_count = 0; /* R-WS.20 */
	}
	l->established = true;
	l->conn.ops = &ws_conn_ops;
	set_nodelay(wsi);
	if (core_timer_start(m->loop, l->keepalive_s * 1000ull, l->keepalive_s * 1000ull, ping_tick, l, &l->ping))
		CORE_LOG_W(WS_LOG, "no keep-alive timer for %s", l->conn.peer_id);
	/* R-MTP.6, R-MTP.8: the Agent's first Record on a new session, when
	 * it knows the peer's Endpoint ID. */
	if (l->conn.peer_id[0])
		queue_mtp_record(l, USP_REC_WEBSOCKET_CONNECT, NULL);
	if (l->cli) {
		ws_msg *msg;
		while ((msg = ws_queue_pop(&l->cli->pending)))
			ws_queue_push(&l->q, msg);
	}
	if (l->q.head)
		lws_callback_on_writable(wsi);
	CORE_LOG_I(WS_LOG, "session with %s up (%s)", l->conn.peer_id[0] ? l->conn.peer_id : "unnamed peer",
		   l->cli ? "we dialled" : "it dialled");
	l->announced = true;
	usp_conn_up(m->agent, &l->conn);
}

/* ---------------------------------------------------------------------------
 * Receiving (R-WS.14, R-WS.14b, R-WS.16)
 * ------------------------------------------------------------------------- */

static int refuse_rx(ws_link *l, struct lws *wsi, enum lws_close_status code, const char *why)
{
	CORE_LOG_I(WS_LOG, "closing the session with %s: %s", l->conn.peer_id[0] ? l->conn.peer_id : "peer", why);
	lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
	return -1;
}

static int rx_append(ws_link *l, const uint8_t *in, size_t len)
{
	if (l->rx_cap - l->rx_len < len) {
		size_t cap = l->rx_cap ? l->rx_cap : WS_RX_CHUNK;
		while (cap - l->rx_len < len)
			cap *= 2;
		uint8_t *p = realloc(l->rx, cap);
		if (!p)
			return DM_ERR_NOMEM;
		l->rx = p;
		l->rx_cap = cap;
	}
	memcpy(l->rx + l->rx_len, in, len);
	l->rx_len += len;
	return DM_OK;
}

/* Hand a Record to the agent. A close it asks for meanwhile (ops->close on
 * a bad Record, R-WS.16) is carried out by returning -1 here, one of the
 * places lws 4.1 sends our Close frame from; queued Records would be lost,
 * so with some queued the close waits for them. */
static int deliver(ws_link *l, const uint8_t *rec, size_t len)
{
	l->in_rx = true;
	usp_on_record(l->m->agent, &l->conn, rec, len);
	l->in_rx = false;
	if (l->kill_due || (l->close_due && !l->q.head))
		return -1;
	return 0;
}

/* lws hands a message over in pieces (WebSocket fragments, and chunks of
 * at most rx_buffer_size); a message in one piece goes to the agent
 * without a copy. */
static int on_rx(ws_link *l, struct lws *wsi, const uint8_t *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);

	l->rx_seen = true;
	if (!l->established || l->close_due || l->kill_due)
		return 0;
	if (!l->in_msg) {
		if (!lws_frame_is_binary(wsi))
			return refuse_rx(l, wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
					 "USP Records travel in binary frames");
		if (last)
			return deliver(l, in, len);
		l->in_msg = true;
		l->rx_len = 0;
	}
	if (len > l->m->max_msg - l->rx_len)
		return refuse_rx(l, wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
	if (rx_append(l, in, len))
		return refuse_rx(l, wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
	if (!last)
		return 0;
	l->in_msg = false;
	int rc = deliver(l, l->rx, l->rx_len);
	l->rx_len = 0;
	if (l->rx_cap > 4 * WS_RX_CHUNK) {
		free(l->rx);
		l->rx = NULL;
		l->rx_cap = 0;
	}
	return rc;
}

/* ---------------------------------------------------------------------------
 * Sending: one lws_write per writable callback, as lws requires
 * ------------------------------------------------------------------------- */

static int write_msg(struct lws *wsi, ws_msg *msg)
{
	int n = lws_write(wsi, msg->buf + LWS_PRE, msg->len, LWS_WRITE_BINARY);
	size_t len = msg->len;

	free(msg);
	return n < 0 || (size_t)n < len ? -1 : 0;
}

/* Queued Records go out while the socket takes them without lws having to
 * keep a remainder (lws_send_pipe_choked): several per wake-up when a peer
 * has several requests in flight. */
static int on_writable(ws_link *l, struct lws *wsi)
{
	if (l->kill_due)
		return 0;
	if (l->ping_due && !l->close_due) {
		/* lws 4.1 reports only a Pong with payload (RECEIVE_PONG). */
		unsigned char ping[LWS_PRE + 4] = {[LWS_PRE] = 'u', 's', 'p', '!'};
		l->ping_due = false;
		if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
	} else {
		for (int i = 0; i < WS_WRITE_BATCH && l->q.head; i++) {
			if (i && lws_send_pipe_choked(wsi))
				break;
			if (write_msg(wsi, ws_queue_pop(&l->q)))
				return -1;
		}
	}
	if (l->q.head || (l->ping_due && !l->close_due))
		lws_callback_on_writable(wsi);
	else
		link_act(l); /* the close waiting for the queue to drain */
	return 0;
}

/* ---------------------------------------------------------------------------
 * The opening handshake
 * ------------------------------------------------------------------------- */

/* Does a comma-separated header list hold this token? */
static bool list_has(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!strncmp(p, tok, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == ';'))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

/* The bbf-usp-protocol extension offer: `bbf-usp-protocol; eid="<id>"`
 * (R-WS.10a, deprecated but still sent by older Controllers). True when
 * offered; eid gets the parameter when there is one. */
static bool ext_eid(const char *exts, char *eid, size_t eidsz)
{
	const char *p = strstr(exts, WS_EXT_NAME);

	if (!p)
		return false;
	p += strlen(WS_EXT_NAME);
	const char *end = strchr(p, ',');
	const char *e = strstr(p, "eid=");
	if (!e || (end && e > end))
		return true;
	e += 4;
	bool quoted = *e == '"';
	e += quoted;
	size_t n = 0;
	while (e[n] && n + 1 < eidsz && (quoted ? e[n] != '"' : (e[n] != ',' && e[n] != ';' && e[n] != ' ')))
		n++;
	memcpy(eid, e, n);
	eid[n] = '\0';
	return true;
}

/* R-WS.10b: the client's Endpoint ID is the "eid" query parameter; lws has
 * already percent-decoded it once, which is the one decoding R-WS.10c asks. */
static void query_eid(struct lws *wsi, char *eid, size_t eidsz)
{
	char arg[USP_ENDPOINT_MAX + 8];

	for (int i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0; i++) {
		size_t n = strlen(arg);
		if (strncmp(arg, "eid=", 4) || n - 4 >= eidsz)
			continue;
		memcpy(eid, arg + 4, n - 3);
		return;
	}
}

/* An upgrade request to one of our listeners. */
static int server_filter(ws_link *l, struct lws *wsi)
{
	char hdr[1024], uri[512] = "";

	if (!l->lsn || l->m->stopped)
		return 1;
	/* R-WS.12a */
	if (lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_PROTOCOL) <= 0 || !list_has(hdr, WS_SUBPROTOCOL)) {
		CORE_LOG_I(WS_LOG, "refusing a WebSocket handshake without subprotocol " WS_SUBPROTOCOL);
		return 1;
	}
	if (l->lsn->path[0] && (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
				strcmp(uri, l->lsn->path))) {
		CORE_LOG_I(WS_LOG, "refusing a WebSocket handshake for %s (Path is %s)", uri, l->lsn->path);
		return 1;
	}
	query_eid(wsi, l->conn.peer_id, sizeof l->conn.peer_id);
	if (lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_EXTENSIONS) > 0) {
		char eid[USP_ENDPOINT_MAX] = "";
		l->want_ext = ext_eid(hdr, eid, sizeof eid);
		if (!l->conn.peer_id[0])
			memcpy(l->conn.peer_id, eid, sizeof eid);
	}
	return 0;
}

/* R-WS.11a: answer the extension with our own Endpoint ID. */
static int server_add_headers(ws_link *l, struct lws *wsi, struct lws_process_html_args *args)
{
	char v[USP_ENDPOINT_MAX + 40];

	if (!l->want_ext)
		return 0;
	int n = snprintf(v, sizeof v, WS_EXT_NAME "; eid=\"%s\"", usp_agent_endpoint_id(l->m->agent));
	unsigned char **p = (unsigned char **)&args->p;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"Sec-WebSocket-Extensions:",
					(const unsigned char *)v, n, p, *p + args->max_len))
		return 1;
	return 0;
}

/* R-WS.12: no session unless the server took v1.usp (lws itself would fall
 * back to our protocol when the answer names none). */
static int client_filter(struct lws *wsi)
{
	char proto[64];

	if (lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL) <= 0 || strcmp(proto, WS_SUBPROTOCOL)) {
		CORE_LOG_W(WS_LOG, "server did not accept subprotocol " WS_SUBPROTOCOL "; not using the session");
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * The lws callback
 * ------------------------------------------------------------------------- */

static void link_destroyed(ws_link *l, struct lws *wsi)
{
	lws_set_opaque_user_data(wsi, NULL);
	l->wsi = NULL;
	link_end(l);
	if (l->in_setup)
		l->destroyed = true; /* the caller of lws frees it */
	else
		link_free(l);
}

static int link_callback(ws_link *l, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return server_filter(l, wsi);
	case LWS_CALLBACK_ADD_HEADERS:
		return server_add_headers(l, wsi, in);
	case LWS_CALLBACK_HTTP:
		/* Plain HTTP on a USP endpoint: nothing to serve. */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		return client_filter(wsi);
	case LWS_CALLBACK_ESTABLISHED:
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		link_up(l, wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE:
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_rx(l, wsi, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		l->rx_seen = true;
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writable(l, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		CORE_LOG_I(WS_LOG, "cannot reach %s: %s", l->cli ? l->cli->endpoint_id : "Controller",
			   in ? (const char *)in : "connection failed");
		link_end(l);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			CORE_LOG_I(WS_LOG, "%s closes the session (%u)", l->conn.peer_id,
				   (unsigned)((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1]);
		return 0;
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_CLIENT_CLOSED:
		CORE_LOG_I(WS_LOG, "session with %s closed", l->conn.peer_id[0] ? l->conn.peer_id : "peer");
		link_end(l);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		link_destroyed(l, wsi);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* A wss client's certificate, one chain element at a time: lws accepts
 * whatever we accept, so OpenSSL's verdict (len) must be passed on. */
static int client_cert_verdict(size_t preverify_ok)
{
	if (preverify_ok)
		return 0;
	CORE_LOG_I(WS_LOG, "refusing a wss client: its certificate is missing or not signed by a trusted CA");
	return 1;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	if (reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION)
		return client_cert_verdict(len);
	/* Only connections carry our state (set when we dial or adopt them);
	 * vhost and context events come with none, possibly after the MTP is
	 * gone, and must not look for it. */
	ws_link *l = lws_get_opaque_user_data(wsi);
	if (!l)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	ws_mtp *m = l->m;
	m->in_cb++;
	int rc = link_callback(l, wsi, reason, user, in, len);
	if (--m->in_cb == 0) {
		if (!m->deferred && (m->links_due || (m->reconfigure_due && !m->stopped)))
			run_deferred(m);
		ws_maybe_free(m);
	}
	return rc;
}

/* ---------------------------------------------------------------------------
 * Deferred work and teardown
 * ------------------------------------------------------------------------- */

/* Closes asked for inside callbacks. A synchronous close may free the link
 * it acts on, never another: take the next one first. */
static void act_on_links(ws_mtp *m)
{
	m->links_due = false;
	for (ws_link *l = m->links, *next; l; l = next) {
		next = l->next;
		link_act(l);
	}
}

static void deferred_fire(void *ctx)
{
	ws_mtp *m = ctx;

	core_timer_stop(m->deferred);
	m->deferred = NULL;
	if (m->links_due)
		act_on_links(m);
	if (m->reconfigure_due && !m->stopped) {
		m->reconfigure_due = false;
		ws_apply_config(m);
	}
}

static void run_deferred(ws_mtp *m)
{
	if (core_timer_start(m->loop, 0, 0, deferred_fire, m, &m->deferred))
		CORE_LOG_E(WS_LOG, "cannot schedule deferred work");
}

/* ---------------------------------------------------------------------------
 * The MTP
 * ------------------------------------------------------------------------- */

/* Inside an lws callback a vhost or connection must not go away under lws:
 * the work then waits for the loop's next turn. */
static int create_context(ws_mtp *m);

static int count_found(void *ctx, const dm_item *it)
{
	(void)it;
	++*(int *)ctx;
	return 1; /* one is enough */
}

/* Does the data model ask for any WebSocket session (a listener of ours or
 * a Controller to dial)? */
static bool websocket_wanted(ws_mtp *m)
{
	static const char *const wanted[] = {
		"Device.LocalAgent.MTP.[Protocol==\"WebSocket\"&&Enable==true].",
		"Device.LocalAgent.Controller.*.MTP.[Protocol==\"WebSocket\"&&Enable==true].",
	};
	dm_txn *t;
	if (dm_txn_begin(usp_agent_dm(m->agent), DM_TXN_READ, NULL, &t))
		return true;
	bool any = false;
	for (size_t i = 0; i < sizeof wanted / sizeof wanted[0] && !any; i++) {
		int found = 0;
		dm_resolve(t, DM_GRAMMAR_USP, wanted[i], DM_RESOLVE_OBJECTS, 0, count_found, &found, NULL);
		any = found > 0;
	}
	dm_txn_abort(t);
	return any;
}

/*
 * libwebsockets (and the TLS library under it) starts only once a WebSocket
 * MTP is configured: most gateways use MQTT or none, and the start costs
 * both time at boot and memory.
 */
static int ensure_context(ws_mtp *m)
{
	if (m->server_vh && m->client_vh)
		return DM_OK;
	if (m->ctx)
		return DM_ERR_INTERNAL; /* an earlier start failed; lws cannot retry on this loop */
	if (!websocket_wanted(m))
		return DM_ERR_NOT_INSTANTIATED;
	if (create_context(m)) {
		CORE_LOG_E(WS_LOG, "cannot start libwebsockets on the core loop");
		return DM_ERR_INTERNAL;
	}
	return DM_OK;
}

static int ws_configure(usp_mtp *base)
{
	ws_mtp *m = (ws_mtp *)base;

	if (m->stopped)
		return DM_OK;
	if (m->in_cb) {
		m->reconfigure_due = true;
		return DM_OK;
	}
	m->reconfigure_due = false;
	int rc = ensure_context(m);
	if (rc == DM_ERR_NOT_INSTANTIATED)
		return DM_OK; /* nothing to run yet */
	return rc ? rc : ws_apply_config(m);
}

static int ws_send_to(usp_mtp *base, const char *endpoint_id, const uint8_t *rec, size_t len)
{
	ws_mtp *m = (ws_mtp *)base;
	ws_client *c = m->clients;

	while (c && strcmp(c->endpoint_id, endpoint_id))
		c = c->next;
	if (!c || m->stopped)
		return DM_ERR_NOT_INSTANTIATED;
	if (c->link && c->link->established)
		return conn_send(&c->link->conn, rec, len);
	ws_msg *msg = ws_msg_new(rec, len);
	if (!msg)
		return DM_ERR_NOMEM;
	if (c->pending.n >= WS_PENDING_MAX) {
		free(ws_queue_pop(&c->pending));
		CORE_LOG_W(WS_LOG, "%s unreachable: dropped its oldest queued Record", endpoint_id);
	}
	ws_queue_push(&c->pending, msg);
	/* A retry already scheduled keeps its interval (R-WS.19). */
	if (c->state == CLI_IDLE)
		ws_client_start(c);
	return DM_OK;
}

/*
 * Every session is reported down now, while the agent exists, and dropped;
 * lws frees them as the loop turns (core_loop_free turns it), and m goes
 * after the last.
 *
 * The lws context itself is left idle, never destroyed: lws 4.1 cannot take
 * a context on a foreign libuv loop down safely. Its first destroy stage
 * closes its own idle and timer handles from a later close callback, which
 * aborts in libuv once core_loop_free has closed those leftover handles;
 * its second stage frees the context and unloads its event-lib plugin while
 * close callbacks into both are still pending. Idle, it makes no callback
 * that needs us, and its handles go with the loop; its memory stays until
 * exit.
 */
static void ws_stop(usp_mtp *base)
{
	ws_mtp *m = (ws_mtp *)base;

	if (m->stopped)
		return;
	m->stopped = true;
	for (ws_link *l = m->links, *next; l; l = next) {
		next = l->next;
		/* No timer of ours may outlive stop (core_loop_free frees what
		 * is left). */
		core_timer_stop(l->ping);
		l->ping = NULL;
		if (l->announced) {
			l->announced = false;
			usp_conn_down(m->agent, &l->conn);
		}
		link_kill(l); /* may free l */
	}
	while (m->clients) {
		ws_client *c = m->clients;
		m->clients = c->next;
		ws_client_remove(c);
	}
	while (m->listeners) {
		ws_listener *ls = m->listeners;
		m->listeners = ls->next;
		ws_listener_close(ls);
	}
	if (!m->in_cb) {
		core_timer_stop(m->deferred);
		m->deferred = NULL;
	}
	ws_maybe_free(m);
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	core_log(level & LLL_ERR ? CORE_LOG_ERROR : CORE_LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* TLS 1.2 or later (TR-369 "Securing MTPs"): lws itself only rules out
 * SSLv2 and SSLv3. */
#define WS_TLS_OPTIONS ((long)(SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1))

/* Dialled sessions share a vhost that listens nowhere. The wss one loads
 * its CAs (--tls-ca, else the system's store, about 1 MB), so it is made
 * only when a Controller MTP asks for encryption; lws checks the server's
 * certificate against them and its name against the Host (R-MTP.1,
 * R-MTP.4). Our own certificate, when we have one, answers a server that
 * asks for it. */
struct lws_vhost *ws_client_vhost(ws_mtp *m, bool tls)
{
	const usp_options *o = usp_agent_options(m->agent);
	bool own = tls && o->tls_cert && o->tls_key;
	struct lws_context_creation_info vi = {
		.port = CONTEXT_PORT_NO_LISTEN,
		.protocols = ws_protocols,
		.vhost_name = tls ? "usp-client-tls" : "usp-client",
		.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0,
		.client_ssl_ca_filepath = tls ? o->tls_ca : NULL,
		.client_ssl_cert_filepath = own ? o->tls_cert : NULL,
		.client_ssl_private_key_filepath = own ? o->tls_key : NULL,
		.ssl_client_options_set = tls ? WS_TLS_OPTIONS : 0,
	};

	return lws_create_vhost(m->ctx, &vi);
}

/*
 * The vhost wss listeners adopt their sockets into: our certificate and
 * key, and R-MTP.1: a Controller must present a certificate, signed by a
 * CA of --tls-ca (else of the system store); client_cert_verdict passes
 * OpenSSL's verdict on. Made when the first wss listener opens.
 */
struct lws_vhost *ws_server_tls_vhost(ws_mtp *m)
{
	const usp_options *o = usp_agent_options(m->agent);
	struct lws_context_creation_info vi = {
		.port = CONTEXT_PORT_NO_LISTEN_SERVER,
		.protocols = ws_protocols,
		.vhost_name = "usp-server-tls",
		.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT,
		.ssl_cert_filepath = o->tls_cert,
		.ssl_private_key_filepath = o->tls_key,
		.ssl_ca_filepath = o->tls_ca ? o->tls_ca : WS_SYSTEM_CA_BUNDLE,
		.ssl_options_set = WS_TLS_OPTIONS,
	};

	if (!m->server_tls_vh && o->tls_cert && o->tls_key)
		m->server_tls_vh = lws_create_vhost(m->ctx, &vi);
	return m->server_tls_vh;
}

static int create_context(ws_mtp *m)
{
	void *loops[1] = {core_loop_uv(m->loop)};
	struct lws_context_creation_info ci = {
		.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
			   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN,
		.foreign_loops = loops,
		.user = m,
		.port = CONTEXT_PORT_NO_LISTEN,
		/* lws sizes a table by the fd limit (ulimit -n, often 1M: 16 MB);
		 * the agent never holds that many WebSocket sessions */
		.fd_limit_per_thread = 4096,
	};
	/* Accepted sockets (see ws_listener) are adopted into this one. */
	struct lws_context_creation_info si = {
		.port = CONTEXT_PORT_NO_LISTEN_SERVER,
		.protocols = ws_protocols,
		.vhost_name = "usp-server",
	};

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	m->ctx = lws_create_context(&ci);
	if (!m->ctx)
		return DM_ERR_INTERNAL;
	m->server_vh = lws_create_vhost(m->ctx, &si);
	m->client_vh = ws_client_vhost(m, false);
	if (!m->server_vh || !m->client_vh)
		return DM_ERR_INTERNAL; /* the context stays idle: see ws_stop */
	return DM_OK;
}

int usp_mtp_ws_new(usp_agent *a, usp_mtp **out)
{
	ws_mtp *m = calloc(1, sizeof *m);

	if (!m)
		return DM_ERR_NOMEM;
	m->base.name = "WebSocket";
	m->base.kind = USP_MTP_WEBSOCKET;
	m->base.agent = a;
	m->base.priv = m;
	m->base.configure = ws_configure;
	m->base.send_to = ws_send_to;
	m->base.stop = ws_stop;
	m->agent = a;
	m->loop = usp_agent_loop(a);
	m->max_msg = WS_MAX_MESSAGE_DEFAULT;
	*out = &m->base;
	return DM_OK;
}
