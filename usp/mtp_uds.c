/*
 * mtp_uds.c - the UNIX Domain Socket MTP (TR-369 "UNIX Domain Socket
 * Binding") on the core loop: listening and connecting uv_pipes, the Frame
 * format (a "_USP" header with a length, then Type-Length-Value fields), the
 * Handshake that names both Endpoints, Error frames, the UDSConnect Record,
 * and the client's reconnect. Configuration comes from
 * Device.UnixDomainSockets and the UDS objects of Device.LocalAgent.MTP and
 * Device.LocalAgent.Controller.{i}.MTP; what a Record means is agent.c's.
 * The USP Broker socket (usp_options.broker_path) is one more listener
 * whose connections are USP Services: the agent is their Controller, so it
 * sends no UDSConnect Record there and hands their Records to broker.c.
 */
#include "mtp_uds.h"

#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_MOD "usp-uds"

/* Frame layout (R-UDS.6 to R-UDS.11): sync "_USP", a 4-byte length of the
 * rest, then TLVs of a 1-byte type and a 4-byte length, all big-endian. */
#define UDS_SYNC "_USP"
#define UDS_HDR_LEN 8
#define UDS_TLV_HDR_LEN 5
enum { UDS_TLV_HANDSHAKE = 1, UDS_TLV_ERROR = 2, UDS_TLV_RECORD = 3 };

#define UDS_HANDSHAKE_MS 30000 /* R-UDS.18 */
#define UDS_RETRY_MIN_MS 1000  /* R-UDS.5: 1 to 5 seconds */
#define UDS_RETRY_MAX_MS 5000
#define UDS_CLOSE_GRACE_MS 2000 /* an Error frame gets this long to leave */
/* Default largest frame accepted: a length field of up to 4 GiB must not
 * make us allocate it. */
#define UDS_MAX_FRAME_DEFAULT (16u << 20)
#define UDS_READ_CHUNK 65536

typedef struct uds_mtp uds_mtp;
typedef struct uds_link uds_link;
typedef struct uds_listener uds_listener;

typedef enum link_state {
	LINK_CONNECTING, /* client: uv_pipe_connect in flight */
	LINK_HANDSHAKE,  /* waiting for the peer's Handshake */
	LINK_UP,         /* Records flow */
	LINK_CLOSING,
} link_state;

/* A socket we listen on. */
struct uds_listener {
	uv_pipe_t pipe;
	uds_mtp *m;
	char *path;
	bool extra; /* the command-line path: configure() leaves it alone */
	bool broker; /* the USP Broker socket: its peers are USP Services */
	bool keep;  /* still wanted, during configure() */
	uds_listener *next;
};

/* A socket we connect to (Mode Connect); at most one link at a time. */
typedef struct uds_client {
	uds_mtp *m;
	char *path;
	uds_link *link;
	core_timer *retry;
	struct uds_client *next;
} uds_client;

/* One connection, accepted or originated. */
struct uds_link {
	uv_pipe_t pipe;
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	usp_conn conn;
	uds_mtp *m;
	uds_client *client; /* dialled: its target (NULL once removed) */
	uds_listener *listener; /* accepted: its listener (NULL once removed) */
	bool broker;        /* accepted on the Broker socket: a USP Service */
	link_state state;
	bool announced;     /* usp_conn_up was called; usp_conn_down is due */
	core_timer *timer;  /* handshake deadline, then the close grace */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	uds_link *prev, *next;
};

struct uds_mtp {
	usp_mtp base;
	usp_agent *agent;
	core_loop *loop;
	char *extra_path;
	uint32_t max_frame;
	uds_listener *listeners;
	uds_client *clients;
	uds_link *links;
	unsigned open_handles; /* uv handles not yet closed: memory goes after the last */
	bool stopped;
};

typedef struct uds_write {
	uv_write_t req;
	uds_link *l;
	uint8_t data[];
} uds_write;

static void link_close(uds_link *l);
static int send_mtp_record(uds_link *l, usp_rec_kind kind, const char *reason);
static void client_schedule(uds_client *c);

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static unsigned random_between(unsigned lo, unsigned hi)
{
	uint32_t r = 0;

	if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL))
		r = (uint32_t)rand();
	return lo + r % (hi - lo + 1);
}

/* The Handshake carries a UTF-8 Endpoint ID; reject what could not be one. */
static bool valid_endpoint_id(const uint8_t *s, size_t len)
{
	if (len == 0 || len >= USP_ENDPOINT_MAX)
		return false;
	for (size_t i = 0; i < len;) {
		uint8_t c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

		if (n == 0 || c < 0x20 || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

static void handle_closed(uds_mtp *m)
{
	if (--m->open_handles == 0 && m->stopped) {
		free(m->extra_path);
		free(m);
	}
}

/* ---------------------------------------------------------------------------
 * Writing frames
 * ------------------------------------------------------------------------- */

static void write_done(uv_write_t *req, int status)
{
	uds_write *w = (uds_write *)req;
	uds_link *l = w->l;

	free(w);
	if (status < 0 && status != UV_ECANCELED && l->state != LINK_CLOSING) {
		CORE_LOG_I(LOG_MOD, "write to %s failed: %s", l->conn.peer_id[0] ? l->conn.peer_id : "peer",
			   uv_strerror(status));
		link_close(l);
	}
}

/* Queue one frame holding one TLV. uv_write tries the socket at once and
 * keeps the rest queued; it never blocks. */
static int link_send_tlv(uds_link *l, uint8_t type, const void *val, size_t len)
{
	if (len > UINT32_MAX - UDS_TLV_HDR_LEN)
		return DM_ERR_INVALID_VALUE;
	size_t total = UDS_HDR_LEN + UDS_TLV_HDR_LEN + len;
	uds_write *w = malloc(sizeof *w + total);
	if (!w)
		return DM_ERR_NOMEM;
	w->l = l;
	memcpy(w->data, UDS_SYNC, 4);
	put_be32(w->data + 4, (uint32_t)(UDS_TLV_HDR_LEN + len));
	w->data[8] = type;
	put_be32(w->data + 9, (uint32_t)len);
	if (len)
		memcpy(w->data + UDS_HDR_LEN + UDS_TLV_HDR_LEN, val, len);
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)total);
	int uerr = uv_write(&w->req, (uv_stream_t *)&l->pipe, &b, 1, write_done);
	if (uerr) {
		free(w);
		CORE_LOG_I(LOG_MOD, "write failed: %s", uv_strerror(uerr));
		return DM_ERR_INTERNAL;
	}
	return DM_OK;
}

/* R-UDS.21, R-UDS.23, R-UDS.24: say why in an Error frame, then hang up. */
static void link_fail(uds_link *l, const char *why)
{
	if (l->state == LINK_CLOSING)
		return;
	CORE_LOG_I(LOG_MOD, "closing connection%s%s: %s", l->conn.peer_id[0] ? " to " : "",
		   l->conn.peer_id, why);
	link_send_tlv(l, UDS_TLV_ERROR, why, strlen(why));
	link_close(l);
}

/* ---------------------------------------------------------------------------
 * Closing
 * ------------------------------------------------------------------------- */

static void link_down(uds_link *l)
{
	if (l->broker)
		usp_broker_conn_down(usp_agent_broker(l->m->agent), &l->conn);
	else
		usp_conn_down(l->m->agent, &l->conn);
}

static void link_closed(uv_handle_t *h)
{
	uds_link *l = h->data;
	uds_mtp *m = l->m;

	if (l->announced && !m->stopped)
		link_down(l);
	if (l->prev)
		l->prev->next = l->next;
	else
		m->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	core_timer_stop(l->timer);
	if (l->client && l->client->link == l) {
		l->client->link = NULL;
		if (!m->stopped)
			client_schedule(l->client);
	}
	free(l->rx);
	free(l);
	handle_closed(m);
}

static void close_now(uds_link *l)
{
	if (!uv_is_closing((uv_handle_t *)&l->pipe))
		uv_close((uv_handle_t *)&l->pipe, link_closed);
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
	close_now(req->data);
}

static void close_grace_over(void *ctx)
{
	close_now(ctx);
}

/*
 * Stop reading, let queued frames (an Error frame above all) leave, then
 * close. usp_conn_down comes from the close callback, never from inside a
 * call the agent made (ops->close) or a callback it is in.
 */
static void link_close(uds_link *l)
{
	if (l->state == LINK_CLOSING)
		return;
	bool connected = l->state != LINK_CONNECTING;

	l->state = LINK_CLOSING;
	core_timer_stop(l->timer);
	l->timer = NULL;
	if (!connected) {
		close_now(l);
		return;
	}
	uv_read_stop((uv_stream_t *)&l->pipe);
	l->shutdown_req.data = l;
	if (uv_shutdown(&l->shutdown_req, (uv_stream_t *)&l->pipe, shutdown_done) ||
	    core_timer_start(l->m->loop, UDS_CLOSE_GRACE_MS, 0, close_grace_over, l, &l->timer))
		close_now(l);
}

/* A connection we end on our own initiative (the configuration no longer
 * has it) says so with a DisconnectRecord first (R-MTP.7; no error code of
 * TR-369's table fits, so the reason alone, R-MTP.9). */
static void link_retire(uds_link *l, const char *reason)
{
	if (l->state == LINK_UP)
		send_mtp_record(l, USP_REC_DISCONNECT, reason);
	link_close(l);
}

/* ---------------------------------------------------------------------------
 * usp_conn operations
 * ------------------------------------------------------------------------- */

static int conn_send(usp_conn *c, const uint8_t *rec, size_t len)
{
	uds_link *l = c->mtp;

	if (l->state != LINK_UP)
		return DM_ERR_NOT_INSTANTIATED;
	return link_send_tlv(l, UDS_TLV_RECORD, rec, len);
}

static void conn_close(usp_conn *c, uint32_t code, const char *reason)
{
	uds_link *l = c->mtp;
	char why[300];

	snprintf(why, sizeof why, "%u %s", (unsigned)code, reason && *reason ? reason : usp_err_text(code));
	link_fail(l, why);
}

static const usp_conn_ops uds_conn_ops = {
	.send = conn_send,
	.close = conn_close,
};

/* ---------------------------------------------------------------------------
 * Reading: frames, then the TLVs in them
 * ------------------------------------------------------------------------- */

static void handshake_timeout(void *ctx)
{
	uds_link *l = ctx;

	core_timer_stop(l->timer);
	l->timer = NULL;
	link_fail(l, "no Handshake within 30 seconds");
}

/* A UDSConnect or Disconnect Record of ours to the peer. */
static int send_mtp_record(uds_link *l, usp_rec_kind kind, const char *reason)
{
	usp_record_out r = {
		.kind = kind,
		.to_id = l->conn.peer_id,
		.from_id = usp_agent_endpoint_id(l->m->agent),
		.reason = reason,
	};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = usp_record_build(&r, &buf, &len);

	if (rc == DM_OK)
		rc = link_send_tlv(l, UDS_TLV_RECORD, buf, len);
	free(buf);
	return rc;
}

static void on_handshake(uds_link *l, const uint8_t *v, size_t len)
{
	if (l->state != LINK_HANDSHAKE) {
		/* R-UDS.19: an unexpected Handshake is ignored. */
		CORE_LOG_D(LOG_MOD, "ignoring a repeated Handshake from %s", l->conn.peer_id);
		return;
	}
	if (!valid_endpoint_id(v, len)) {
		link_fail(l, "Handshake does not carry a valid Endpoint ID");
		return;
	}
	memcpy(l->conn.peer_id, v, len);
	l->conn.peer_id[len] = '\0';
	core_timer_stop(l->timer);
	l->timer = NULL;
	/* R-UDS.17: the server answers the client's Handshake with its own;
	 * the client sent its own on connecting (R-UDS.16). */
	const char *self = usp_agent_endpoint_id(l->m->agent);
	if (!l->client && link_send_tlv(l, UDS_TLV_HANDSHAKE, self, strlen(self))) {
		link_close(l);
		return;
	}
	l->state = LINK_UP;
	l->announced = true;
	if (l->broker) {
		/* we are the Service's Controller: the Service announces itself */
		usp_broker_conn_up(usp_agent_broker(l->m->agent), &l->conn);
		return;
	}
	/* R-MTP.6: the Agent announces itself before any other Record on a
	 * new channel (R-MTP.8). */
	if (send_mtp_record(l, USP_REC_UDS_CONNECT, NULL))
		CORE_LOG_W(LOG_MOD, "could not send the UDSConnect Record to %s", l->conn.peer_id);
	CORE_LOG_I(LOG_MOD, "%s connected (%s)", l->conn.peer_id, l->client ? l->client->path : "accepted");
	usp_conn_up(l->m->agent, &l->conn);
}

static void on_tlv(uds_link *l, uint8_t type, const uint8_t *v, size_t len)
{
	switch (type) {
	case UDS_TLV_HANDSHAKE:
		on_handshake(l, v, len);
		break;
	case UDS_TLV_ERROR:
		/* R-UDS.25 */
		CORE_LOG_I(LOG_MOD, "peer %s reported an error: %.*s", l->conn.peer_id, (int)(len > 200 ? 200 : len),
			   (const char *)v);
		link_close(l);
		break;
	case UDS_TLV_RECORD:
		if (l->state != LINK_UP) {
			/* R-UDS.20 */
			CORE_LOG_D(LOG_MOD, "ignoring a Record before the Handshake");
			break;
		}
		if (l->broker)
			usp_broker_on_record(usp_agent_broker(l->m->agent), &l->conn, v, len);
		else
			usp_on_record(l->m->agent, &l->conn, v, len);
		break;
	default:
		/* R-UDS.15 */
		CORE_LOG_D(LOG_MOD, "ignoring TLV of unknown type %u", type);
		break;
	}
}

/* A frame body (after the header) is well formed when TLVs tile it
 * exactly and there is at least one (R-UDS.6). Checked whole before any
 * TLV acts: an unparseable frame is refused as a unit (R-UDS.24). */
static bool frame_well_formed(const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (len < UDS_TLV_HDR_LEN)
		return false;
	while (off < len) {
		if (len - off < UDS_TLV_HDR_LEN)
			return false;
		uint32_t vlen = get_be32(p + off + 1);
		off += UDS_TLV_HDR_LEN;
		if (vlen > len - off)
			return false;
		off += vlen;
	}
	return true;
}

static int parse_frame(uds_link *l, const uint8_t *p, size_t len)
{
	if (!frame_well_formed(p, len))
		return -1;
	for (size_t off = 0; off < len && l->state != LINK_CLOSING;) {
		uint32_t vlen = get_be32(p + off + 1);
		on_tlv(l, p[off], p + off + UDS_TLV_HDR_LEN, vlen);
		off += UDS_TLV_HDR_LEN + vlen;
	}
	return 0;
}

/* Take every complete frame off the receive buffer. */
static void drain_frames(uds_link *l)
{
	size_t off = 0;

	while (l->state != LINK_CLOSING && l->rx_len - off >= UDS_HDR_LEN) {
		const uint8_t *h = l->rx + off;
		if (memcmp(h, UDS_SYNC, 4) != 0) {
			link_fail(l, "frame does not start with _USP");
			break;
		}
		uint32_t flen = get_be32(h + 4);
		if (flen > l->m->max_frame) {
			link_fail(l, "frame too large");
			break;
		}
		if (l->rx_len - off - UDS_HDR_LEN < flen)
			break;
		if (parse_frame(l, h + UDS_HDR_LEN, flen) < 0) {
			link_fail(l, "malformed TLV in frame");
			break;
		}
		off += UDS_HDR_LEN + flen;
	}
	if (l->state == LINK_CLOSING) {
		l->rx_len = 0;
		return;
	}
	memmove(l->rx, l->rx + off, l->rx_len - off);
	l->rx_len -= off;
}

static void read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	uds_link *l = h->data;

	if (l->rx_cap - l->rx_len < UDS_READ_CHUNK) {
		size_t cap = l->rx_cap ? l->rx_cap * 2 : UDS_READ_CHUNK * 2;
		while (cap - l->rx_len < UDS_READ_CHUNK)
			cap *= 2;
		uint8_t *p = realloc(l->rx, cap);
		if (!p) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		l->rx = p;
		l->rx_cap = cap;
	}
	*buf = uv_buf_init((char *)l->rx + l->rx_len, (unsigned)(l->rx_cap - l->rx_len));
}

static void read_done(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	uds_link *l = s->data;

	if (n < 0) {
		if (n != UV_EOF)
			CORE_LOG_I(LOG_MOD, "read from %s failed: %s", l->conn.peer_id, uv_strerror((int)n));
		else
			CORE_LOG_I(LOG_MOD, "%s closed the connection", l->conn.peer_id[0] ? l->conn.peer_id : "peer");
		link_close(l);
		return;
	}
	if (l->state == LINK_CLOSING)
		return;
	l->rx_len += (size_t)n;
	drain_frames(l);
	/* A receive buffer grown for a large frame is given back once empty. */
	if (l->rx_len == 0 && l->rx_cap > 4 * UDS_READ_CHUNK) {
		free(l->rx);
		l->rx = NULL;
		l->rx_cap = 0;
	}
}

/* ---------------------------------------------------------------------------
 * Links
 * ------------------------------------------------------------------------- */

static uds_link *link_new(uds_mtp *m, uds_client *client)
{
	uds_link *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	if (uv_pipe_init(core_loop_uv(m->loop), &l->pipe, 0)) {
		free(l);
		return NULL;
	}
	m->open_handles++;
	l->pipe.data = l;
	l->m = m;
	l->client = client;
	l->conn.ops = &uds_conn_ops;
	l->conn.kind = USP_MTP_UDS;
	l->conn.mtp = l;
	l->next = m->links;
	if (m->links)
		m->links->prev = l;
	m->links = l;
	return l;
}

static void link_start(uds_link *l)
{
	l->state = LINK_HANDSHAKE;
	int uerr = uv_read_start((uv_stream_t *)&l->pipe, read_alloc, read_done);
	if (uerr || core_timer_start(l->m->loop, UDS_HANDSHAKE_MS, 0, handshake_timeout, l, &l->timer)) {
		CORE_LOG_W(LOG_MOD, "cannot start a connection: %s", uerr ? uv_strerror(uerr) : "no timer");
		link_close(l);
	}
}

/* ---------------------------------------------------------------------------
 * Listeners
 * ------------------------------------------------------------------------- */

static void on_accept(uv_stream_t *server, int status)
{
	uds_listener *ls = server->data;

	if (status < 0) {
		CORE_LOG_W(LOG_MOD, "accept on %s: %s", ls->path, uv_strerror(status));
		return;
	}
	uds_link *l = link_new(ls->m, NULL);
	if (!l) {
		CORE_LOG_E(LOG_MOD, "out of memory accepting on %s", ls->path);
		return;
	}
	l->listener = ls;
	l->broker = ls->broker;
	int uerr = uv_accept(server, (uv_stream_t *)&l->pipe);
	if (uerr) {
		CORE_LOG_W(LOG_MOD, "accept on %s: %s", ls->path, uv_strerror(uerr));
		l->state = LINK_CONNECTING; /* nothing to shut down */
		link_close(l);
		return;
	}
	CORE_LOG_D(LOG_MOD, "connection accepted on %s", ls->path);
	link_start(l);
}

static void listener_closed(uv_handle_t *h)
{
	uds_listener *ls = h->data;
	uds_mtp *m = ls->m;

	free(ls->path);
	free(ls);
	handle_closed(m);
}

/* The connections it accepted go with it: they belonged to that MTP. */
static void listener_close(uds_listener *ls)
{
	for (uds_link *l = ls->m->links; l; l = l->next)
		if (l->listener == ls) {
			l->listener = NULL;
			link_retire(l, "MTP disabled");
		}
	CORE_LOG_I(LOG_MOD, "no longer listening on %s", ls->path);
	unlink(ls->path);
	uv_close((uv_handle_t *)&ls->pipe, listener_closed);
}

/* Create the socket's directory (e.g. /var/run/usp) when missing. */
static void make_parent_dirs(const char *path)
{
	char *dir = strdup(path);

	if (!dir)
		return;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			break;
		*p = '/';
	}
	free(dir);
}

/* A stale socket file of a dead process is replaced; a live listener or a
 * file that is not a socket is left alone. */
static int clear_path(const char *path)
{
	bool answering = false;
	int rc = core_admin_probe(path, &answering);

	if (rc == CORE_ERR_TOO_LONG) {
		CORE_LOG_E(LOG_MOD, "socket path too long: %s", path);
		return DM_ERR_INVALID_VALUE;
	}
	if (rc == CORE_ERR_EXISTS) {
		CORE_LOG_E(LOG_MOD, "%s exists and is not a socket; not replacing it", path);
		return DM_ERR_INVALID_VALUE;
	}
	if (rc == CORE_OK && answering) {
		CORE_LOG_E(LOG_MOD, "another process listens on %s", path);
		return DM_ERR_INVALID_VALUE;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		CORE_LOG_E(LOG_MOD, "cannot remove stale socket %s: %s", path, strerror(errno));
		return DM_ERR_INTERNAL;
	}
	return DM_OK;
}

/* Bind with owner and group access only: the Handshake is not
 * authenticated, so who may connect is who may claim a Controller's ID. */
static int bind_listen(uds_listener *ls)
{
	make_parent_dirs(ls->path);
	int rc = clear_path(ls->path);
	if (rc)
		return rc;
	mode_t old = umask(0117);
	int uerr = uv_pipe_bind(&ls->pipe, ls->path);
	umask(old);
	if (!uerr)
		uerr = uv_listen((uv_stream_t *)&ls->pipe, 64, on_accept);
	if (uerr) {
		CORE_LOG_E(LOG_MOD, "cannot listen on %s: %s", ls->path, uv_strerror(uerr));
		return DM_ERR_INTERNAL;
	}
	return DM_OK;
}

static int listener_open(uds_mtp *m, const char *path, bool extra, bool broker)
{
	uds_listener *ls = calloc(1, sizeof *ls);

	if (!ls || !(ls->path = strdup(path))) {
		free(ls);
		return DM_ERR_NOMEM;
	}
	ls->m = m;
	ls->extra = extra;
	ls->broker = broker;
	ls->keep = true;
	if (uv_pipe_init(core_loop_uv(m->loop), &ls->pipe, 0)) {
		free(ls->path);
		free(ls);
		return DM_ERR_INTERNAL;
	}
	m->open_handles++;
	ls->pipe.data = ls;
	int rc = bind_listen(ls);
	if (rc) {
		uv_close((uv_handle_t *)&ls->pipe, listener_closed);
		return rc;
	}
	CORE_LOG_I(LOG_MOD, "listening on %s%s", path, broker ? " for USP Services (Broker)" : "");
	ls->next = m->listeners;
	m->listeners = ls;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Clients (Mode Connect)
 * ------------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
	uds_link *l = req->handle->data;

	if (l->state == LINK_CLOSING)
		return;
	if (status < 0) {
		CORE_LOG_D(LOG_MOD, "connect to %s: %s", l->client ? l->client->path : "?", uv_strerror(status));
		link_close(l);
		return;
	}
	/* R-UDS.16: the client speaks first. */
	const char *self = usp_agent_endpoint_id(l->m->agent);
	link_start(l);
	if (l->state == LINK_HANDSHAKE && link_send_tlv(l, UDS_TLV_HANDSHAKE, self, strlen(self)))
		link_close(l);
}

static void client_connect(uds_client *c)
{
	uds_link *l = link_new(c->m, c);

	if (!l) {
		client_schedule(c);
		return;
	}
	c->link = l;
	l->state = LINK_CONNECTING;
	uv_pipe_connect(&l->connect_req, &l->pipe, c->path, on_connect);
}

static void client_retry_fire(void *ctx)
{
	uds_client *c = ctx;

	core_timer_stop(c->retry);
	c->retry = NULL;
	client_connect(c);
}

/* R-UDS.5: try again after a random 1 to 5 seconds. */
static void client_schedule(uds_client *c)
{
	unsigned ms = random_between(UDS_RETRY_MIN_MS, UDS_RETRY_MAX_MS);

	core_timer_stop(c->retry);
	c->retry = NULL;
	if (core_timer_start(c->m->loop, ms, 0, client_retry_fire, c, &c->retry))
		CORE_LOG_E(LOG_MOD, "cannot schedule a reconnect to %s", c->path);
}

static int client_add(uds_mtp *m, const char *path)
{
	uds_client *c = calloc(1, sizeof *c);

	if (!c || !(c->path = strdup(path))) {
		free(c);
		return DM_ERR_NOMEM;
	}
	c->m = m;
	c->next = m->clients;
	m->clients = c;
	CORE_LOG_I(LOG_MOD, "connecting to %s", path);
	client_connect(c);
	return DM_OK;
}

static void client_remove(uds_client *c)
{
	core_timer_stop(c->retry);
	if (c->link) {
		c->link->client = NULL;
		link_retire(c->link, "Controller MTP removed");
	}
	free(c->path);
	free(c);
}

/* ---------------------------------------------------------------------------
 * Bringing listeners and clients in line with the configuration
 * ------------------------------------------------------------------------- */

static void reconcile_listeners(uds_mtp *m, const uds_paths *want)
{
	for (uds_listener *ls = m->listeners; ls; ls = ls->next)
		ls->keep = ls->extra || uds_paths_has(want, ls->path);
	for (uds_listener **pp = &m->listeners; *pp;) {
		uds_listener *ls = *pp;
		if (ls->keep) {
			pp = &ls->next;
			continue;
		}
		*pp = ls->next;
		listener_close(ls);
	}
	for (size_t i = 0; i < want->n; i++) {
		bool have = false;
		for (uds_listener *ls = m->listeners; ls && !have; ls = ls->next)
			have = !strcmp(ls->path, want->v[i]);
		if (!have)
			listener_open(m, want->v[i], false, false);
	}
}

static void reconcile_clients(uds_mtp *m, const uds_paths *want)
{
	for (uds_client **pp = &m->clients; *pp;) {
		uds_client *c = *pp;
		if (uds_paths_has(want, c->path)) {
			pp = &c->next;
			continue;
		}
		CORE_LOG_I(LOG_MOD, "no longer connecting to %s", c->path);
		*pp = c->next;
		client_remove(c);
	}
	for (size_t i = 0; i < want->n; i++) {
		bool have = false;
		for (uds_client *c = m->clients; c && !have; c = c->next)
			have = !strcmp(c->path, want->v[i]);
		/* Connecting to a socket we listen on would be talking to ourselves. */
		for (uds_listener *ls = m->listeners; ls && !have; ls = ls->next)
			have = !strcmp(ls->path, want->v[i]);
		if (!have && client_add(m, want->v[i]))
			CORE_LOG_E(LOG_MOD, "out of memory adding a connection to %s", want->v[i]);
	}
}

static int uds_configure(usp_mtp *base)
{
	uds_mtp *m = (uds_mtp *)base;
	uds_paths listen = {0}, connect = {0};

	if (m->stopped)
		return DM_OK;
	int rc = uds_read_config(usp_agent_dm(m->agent), &listen, &connect);
	if (rc == DM_OK) {
		reconcile_listeners(m, &listen);
		reconcile_clients(m, &connect);
	} else {
		CORE_LOG_E(LOG_MOD, "cannot read the UDS configuration: %s", dm_strerror(rc));
	}
	uds_paths_free(&listen);
	uds_paths_free(&connect);
	return rc;
}

/* UDS reaches a Controller only over a connection it already has. */
static int uds_send_to(usp_mtp *base, const char *endpoint_id, const uint8_t *rec, size_t len)
{
	return DM_ERR_NOT_INSTANTIATED;
}

/* Close everything; the memory goes once the loop has closed the last
 * handle. The agent hears usp_conn_down for each open connection now,
 * while it still exists. */
static void uds_stop(usp_mtp *base)
{
	uds_mtp *m = (uds_mtp *)base;

	if (m->stopped)
		return;
	for (uds_link *l = m->links; l; l = l->next)
		if (l->announced) {
			l->announced = false;
			link_down(l);
		}
	m->stopped = true;
	while (m->clients) {
		uds_client *c = m->clients;
		m->clients = c->next;
		client_remove(c);
	}
	/* No timer of ours may outlive stop (core_loop_free frees what is
	 * left): connections close at once, queued frames or not. */
	for (uds_link *l = m->links; l; l = l->next) {
		core_timer_stop(l->timer);
		l->timer = NULL;
		/* R-MTP.7: uv_write tries the socket at once, so this one
		 * usually leaves before the close. */
		if (l->state == LINK_UP && !l->broker)
			send_mtp_record(l, USP_REC_DISCONNECT, "agent stopping");
		l->state = LINK_CLOSING;
		close_now(l);
	}
	while (m->listeners) {
		uds_listener *ls = m->listeners;
		m->listeners = ls->next;
		listener_close(ls);
	}
	if (m->open_handles == 0) {
		free(m->extra_path);
		free(m);
	}
}

int usp_mtp_uds_new(usp_agent *a, const char *extra_path, const char *broker_path, usp_mtp **out)
{
	uds_mtp *m = calloc(1, sizeof *m);

	if (!m)
		return DM_ERR_NOMEM;
	m->base.name = "UDS";
	m->base.kind = USP_MTP_UDS;
	m->base.agent = a;
	m->base.priv = m;
	m->base.configure = uds_configure;
	m->base.send_to = uds_send_to;
	m->base.stop = uds_stop;
	m->agent = a;
	m->loop = usp_agent_loop(a);
	m->max_frame = UDS_MAX_FRAME_DEFAULT;
	if (extra_path && *extra_path) {
		int rc = (m->extra_path = strdup(extra_path)) ? listener_open(m, extra_path, true, false) : DM_ERR_NOMEM;
		if (rc) {
			uds_stop(&m->base);
			return rc;
		}
	}
	/* without its Broker socket the agent still serves its Controllers */
	if (broker_path && *broker_path && listener_open(m, broker_path, true, true))
		CORE_LOG_E(LOG_MOD, "no USP Broker: cannot listen on %s", broker_path);
	*out = &m->base;
	return DM_OK;
}
