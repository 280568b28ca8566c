/*
 * mtp_ws_cfg.c - the WebSocket MTP's configuration: which sockets listen
 * (Device.LocalAgent.MTP.{i} with Protocol WebSocket: Port, Path,
 * EnableEncryption, KeepAliveInterval), which Controllers we dial
 * (Device.LocalAgent.Controller.{i}.MTP.{j}.WebSocket: Host, Port, Path,
 * EnableEncryption, KeepAliveInterval and the session retry parameters),
 * the R-WS.19 retry algorithm, and bringing what runs in line with the data
 * model whenever it changes. Sessions themselves are mtp_ws.c's.
 */
#include "mtp_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_RETRY_MIN_DEFAULT 5  /* R-WS.19 defaults */
#define WS_RETRY_MULT_DEFAULT 2000
#define WS_RETRY_STEPS 10       /* "#10 and subsequent" */
#define WS_MAX_DELAY_MS (1ull << 40)
#define WS_ACCEPT_BATCH 32      /* accepts per wake-up, so one listener cannot hog the loop */

/* A host lookup in libuv's thread pool; cli is NULL once nobody waits. */
typedef struct ws_resolve {
	uv_getaddrinfo_t req;
	ws_client *cli;
} ws_resolve;

/* ---------------------------------------------------------------------------
 * Listening sockets
 * ------------------------------------------------------------------------- */

/*
 * Hand an accepted socket to lws as if its own listener had taken it; the
 * link, made first, carries the listener's Path and keep-alive. A wss
 * listener's socket goes to the TLS vhost, and lws starts with the TLS
 * handshake (ALLOW_SSL); a client that does not speak TLS gets no further.
 *
 * The link becomes the connection's only once the adoption succeeded: when
 * it fails (a handshake that fails at once, the client's first bytes being
 * already there), lws still destroys the half-made connection later, from
 * the loop, and must not find the link we freed. No callback made during
 * the adoption needs it.
 */
static void adopt(ws_listener *ls, int fd)
{
	ws_mtp *m = ls->m;
	int one = 1;
	ws_link *l = ws_link_new(m);

	if (!l) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	l->lsn = ls;
	l->keepalive_s = ls->keepalive_s;
	lws_adopt_desc_t d = {
		.vh = ls->tls ? m->server_tls_vh : m->server_vh,
		.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | (ls->tls ? LWS_ADOPT_ALLOW_SSL : 0),
		.fd.sockfd = fd,
	};
	m->in_cb++;
	struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&d); /* closes fd on failure */
	m->in_cb--;
	if (!wsi) {
		ws_link_discard(l);
		return;
	}
	lws_set_opaque_user_data(wsi, l);
	l->wsi = wsi;
}

static void on_listen_readable(uv_poll_t *p, int status, int events)
{
	ws_listener *ls = p->data;

	if (status < 0) {
		CORE_LOG_W(WS_LOG, "listener on port %u: %s", ls->port, uv_strerror(status));
		return;
	}
	for (int i = 0; i < WS_ACCEPT_BATCH; i++) {
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				CORE_LOG_W(WS_LOG, "accept on port %u: %s", ls->port, strerror(errno));
			return;
		}
		adopt(ls, fd);
	}
}

/* Both IPv6 and IPv4 on one socket where the host has IPv6. */
static int listen_socket(unsigned port)
{
	int one = 1, off = 0;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&a6, sizeof a6) == 0 && listen(fd, 64) == 0)
			return fd;
		if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a4, sizeof a4) == 0 && listen(fd, 64) == 0)
		return fd;
	close(fd);
	return -1;
}

static void listener_open(ws_mtp *m, const ws_listener *want)
{
	ws_listener *ls = malloc(sizeof *ls);

	if (!ls)
		return;
	*ls = *want;
	ls->m = m;
	if (ls->tls && !ws_server_tls_vhost(m)) {
		CORE_LOG_E(WS_LOG, "LocalAgent.MTP.%u: cannot set up TLS with --tls-cert and --tls-key; not listening",
			   (unsigned)ls->mtp_inst);
		free(ls);
		return;
	}
	ls->fd = listen_socket(ls->port);
	if (ls->fd < 0) {
		CORE_LOG_E(WS_LOG, "LocalAgent.MTP.%u: cannot listen on port %u: %s", (unsigned)ls->mtp_inst, ls->port,
			   strerror(errno));
		free(ls);
		return;
	}
	if (uv_poll_init_socket(core_loop_uv(m->loop), &ls->poll, ls->fd)) {
		close(ls->fd);
		free(ls);
		return;
	}
	m->open_handles++;
	ls->poll.data = ls;
	uv_poll_start(&ls->poll, UV_READABLE, on_listen_readable);
	ls->next = m->listeners;
	m->listeners = ls;
	CORE_LOG_I(WS_LOG, "listening on port %u (%s)%s%s", ls->port, ls->tls ? "wss" : "ws",
		   ls->path[0] ? ", path " : "", ls->path);
}

static void listener_closed(uv_handle_t *h)
{
	ws_listener *ls = h->data;
	ws_mtp *m = ls->m;

	free(ls);
	m->open_handles--;
	ws_maybe_free(m);
}

/* The sessions it accepted go with it: they belonged to that MTP. */
void ws_listener_close(ws_listener *ls)
{
	for (ws_link *l = ls->m->links; l; l = l->next)
		if (l->lsn == ls) {
			l->lsn = NULL;
			ws_link_retire(l, "MTP disabled");
		}
	CORE_LOG_I(WS_LOG, "no longer listening on port %u", ls->port);
	/* A stopped poll no longer watches the socket: closing it now frees
	 * the port at once, for a listener opened in the same breath. */
	uv_poll_stop(&ls->poll);
	close(ls->fd);
	uv_close((uv_handle_t *)&ls->poll, listener_closed);
}

/* ---------------------------------------------------------------------------
 * Dialling Controllers, and the retry algorithm (R-WS.19)
 * ------------------------------------------------------------------------- */

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	if (uv_random(NULL, NULL, &r, sizeof r, 0, NULL))
		r = (uint32_t)rand();
	return r;
}

/*
 * R-WS.19: retry n waits a random time between m·(k/1000)^(n-1) and
 * m·(k/1000)^n seconds, n capped at 10, with m the minimum wait interval and
 * k the interval multiplier.
 */
static uint64_t retry_delay_ms(unsigned count, unsigned min_s, unsigned mult)
{
	unsigned n = count < 1 ? 1 : count > WS_RETRY_STEPS ? WS_RETRY_STEPS : count;
	double lo = min_s * 1000.0;

	for (unsigned i = 1; i < n; i++)
		lo = lo * mult / 1000.0;
	double hi = lo * mult / 1000.0;
	if (hi > (double)WS_MAX_DELAY_MS)
		hi = (double)WS_MAX_DELAY_MS;
	if (lo > hi)
		lo = hi;
	return (uint64_t)(lo + (hi - lo) * (random_u32() / 4294967295.0));
}

static void client_retry_fire(void *ctx)
{
	ws_client *c = ctx;

	core_timer_stop(c->retry);
	c->retry = NULL;
	ws_client_start(c);
}

void ws_client_failed(ws_client *c)
{
	c->retry_count++;
	uint64_t ms = retry_delay_ms(c->retry_count, c->retry_min_s, c->retry_mult);

	c->state = CLI_WAIT;
	core_timer_stop(c->retry);
	c->retry = NULL;
	CORE_LOG_I(WS_LOG, "%s: retry %u in %.1f s", c->endpoint_id, c->retry_count, ms / 1000.0);
	if (core_timer_start(c->m->loop, ms, 0, client_retry_fire, c, &c->retry))
		CORE_LOG_E(WS_LOG, "cannot schedule a reconnect to %s", c->endpoint_id);
}

/* R-WS.10c: percent-encode the Endpoint ID for the query, '%' included. */
static void pct_encode(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < outsz; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~:", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* R-WS.10b: our Endpoint ID in the query, after the configured Path and
 * its own query if it has one. */
static void client_uri(const ws_client *c, const char *self, char *out, size_t outsz)
{
	char eid[3 * USP_ENDPOINT_MAX + 1];

	pct_encode(self, eid, sizeof eid);
	snprintf(out, outsz, "%s%s%ceid=%s", c->path[0] == '/' ? "" : "/", c->path, strchr(c->path, '?') ? '&' : '?',
		 eid);
}

/* The Host header (and the name TLS checks): host[:port]. */
static void client_host(const ws_client *c, char *out, size_t outsz)
{
	snprintf(out, outsz, strchr(c->host, ':') ? "[%s]" : "%s", c->host);
	if (c->port != (c->tls ? 443u : 80u))
		snprintf(out + strlen(out), outsz - strlen(out), ":%u", c->port);
}

static void client_connect(ws_client *c, const char *addr)
{
	ws_mtp *m = c->m;
	char uri[sizeof c->path + 3 * USP_ENDPOINT_MAX + 8], host[300];
	ws_link *l = NULL;

	if (c->tls && !m->client_tls_vh && !(m->client_tls_vh = ws_client_vhost(m, true)))
		CORE_LOG_E(WS_LOG, "cannot set up TLS for %s", c->endpoint_id);
	if ((c->tls && !m->client_tls_vh) || !(l = ws_link_new(m))) {
		ws_client_failed(c);
		return;
	}
	client_uri(c, usp_agent_endpoint_id(m->agent), uri, sizeof uri);
	client_host(c, host, sizeof host);
	/* The peer is the Controller we meant to reach. We do not offer the
	 * bbf-usp-protocol extension (R-WS.10a is gone since USP 1.3; lws 4.1
	 * would fail the handshake on an answer naming it). */
	memcpy(l->conn.peer_id, c->endpoint_id, sizeof c->endpoint_id);
	l->cli = c;
	l->keepalive_s = c->keepalive_s;
	c->link = l;
	c->state = CLI_CONNECTING;
	struct lws_client_connect_info i = {
		.context = m->ctx,
		.vhost = c->tls ? m->client_tls_vh : m->client_vh,
		.address = addr,
		.port = (int)c->port,
		.path = uri,
		.host = host,
		.origin = host,
		.protocol = WS_SUBPROTOCOL, /* R-WS.10 */
		.local_protocol_name = WS_SUBPROTOCOL,
		.ietf_version_or_minus_one = -1,
		.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0,
		.alpn = "http/1.1",
		.opaque_user_data = l,
	};
	l->in_setup = true;
	m->in_cb++;
	l->wsi = lws_client_connect_via_info(&i);
	m->in_cb--;
	l->in_setup = false;
	if (!l->wsi || l->destroyed)
		ws_link_discard(l); /* failed before or while lws made it: retried */
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	ws_resolve *r = (ws_resolve *)req;
	ws_client *c = r->cli;
	char addr[INET6_ADDRSTRLEN] = "";

	if (c && status == 0 && res)
		uv_ip_name(res->ai_addr, addr, sizeof addr);
	uv_freeaddrinfo(res);
	free(r);
	if (!c)
		return;
	c->resolve = NULL;
	if (!addr[0]) {
		CORE_LOG_I(WS_LOG, "cannot resolve %s: %s", c->host, status ? uv_strerror(status) : "no address");
		ws_client_failed(c);
		return;
	}
	client_connect(c, addr);
}

/* lws 4.1 resolves names with a blocking getaddrinfo: look the Host up in
 * libuv's thread pool first and give lws the address. */
void ws_client_start(ws_client *c)
{
	struct in6_addr a6;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

	if (inet_pton(AF_INET, c->host, &a6) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1) {
		client_connect(c, c->host);
		return;
	}
	ws_resolve *r = calloc(1, sizeof *r);
	if (!r) {
		ws_client_failed(c);
		return;
	}
	r->cli = c;
	c->state = CLI_RESOLVING;
	if (uv_getaddrinfo(core_loop_uv(c->m->loop), &r->req, resolved, c->host, NULL, &hints)) {
		free(r);
		ws_client_failed(c);
		return;
	}
	c->resolve = r;
}

void ws_client_remove(ws_client *c)
{
	if (c->resolve)
		c->resolve->cli = NULL;
	core_timer_stop(c->retry);
	if (c->link) {
		c->link->cli = NULL;
		ws_link_retire(c->link, "Controller MTP removed");
	}
	ws_queue_free(&c->pending);
	free(c);
}

/* ---------------------------------------------------------------------------
 * Reading the data model
 * ------------------------------------------------------------------------- */

static bool get_str(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	dm_errinfo err;

	if (dm_get_value_buf(d, t, path, buf, bufsz, &err) != DM_OK) {
		buf[0] = '\0';
		return false;
	}
	return buf[0] != '\0';
}

static bool get_bool(dm *d, dm_txn *t, const char *path, bool dflt)
{
	char v[8];

	return get_str(d, t, path, v, sizeof v) ? !strcmp(v, "true") : dflt;
}

static unsigned get_uint(dm *d, dm_txn *t, const char *path, unsigned dflt)
{
	char v[16];

	if (!get_str(d, t, path, v, sizeof v))
		return dflt;
	unsigned long n = strtoul(v, NULL, 10);
	return n ? (unsigned)n : dflt;
}

/* A LocalAgent.MTP.{i} WebSocket we serve; false when we do not. */
static bool listener_wanted(ws_mtp *m, dm *d, dm_txn *t, uint32_t inst, ws_listener *out)
{
	const usp_options *o = usp_agent_options(m->agent);
	char base[64], p[128], v[256];

	snprintf(base, sizeof base, "Device.LocalAgent.MTP.%u.", (unsigned)inst);
	snprintf(p, sizeof p, "%sEnable", base);
	if (!get_bool(d, t, p, false))
		return false;
	snprintf(p, sizeof p, "%sProtocol", base);
	if (!get_str(d, t, p, v, sizeof v) || strcmp(v, "WebSocket"))
		return false;
	/* TLS on the server side needs our certificate and key: without them,
	 * say so rather than serve plain ws on a port meant to be encrypted. */
	snprintf(p, sizeof p, "%sWebSocket.EnableEncryption", base);
	bool tls = get_bool(d, t, p, true);
	if (tls && !(o->tls_cert && o->tls_key)) {
		CORE_LOG_W(WS_LOG, "LocalAgent.MTP.%u: EnableEncryption is true but no server certificate is "
				   "configured (duetd --tls-cert, --tls-key); not listening (set it to false for "
				   "plain ws)", (unsigned)inst);
		return false;
	}
	memset(out, 0, sizeof *out);
	out->mtp_inst = inst;
	out->tls = tls;
	snprintf(p, sizeof p, "%sWebSocket.Port", base);
	out->port = get_uint(d, t, p, 8443);
	snprintf(p, sizeof p, "%sWebSocket.Path", base);
	if (get_str(d, t, p, v, sizeof v))
		snprintf(out->path, sizeof out->path, "%s%s", v[0] == '/' ? "" : "/", v);
	snprintf(p, sizeof p, "%sWebSocket.KeepAliveInterval", base);
	out->keepalive_s = get_uint(d, t, p, WS_KEEPALIVE_DEFAULT);
	return true;
}

/* A Controller.{ctl}.MTP.{mtp} WebSocket we dial; false when none. */
static bool client_wanted(dm *d, dm_txn *t, uint32_t ctl, uint32_t mtp, const char *eid, ws_client *out)
{
	char base[96], p[160], v[16];

	snprintf(base, sizeof base, "Device.LocalAgent.Controller.%u.MTP.%u.", (unsigned)ctl, (unsigned)mtp);
	snprintf(p, sizeof p, "%sEnable", base);
	if (!get_bool(d, t, p, false))
		return false;
	snprintf(p, sizeof p, "%sProtocol", base);
	if (!get_str(d, t, p, v, sizeof v) || strcmp(v, "WebSocket"))
		return false;
	memset(out, 0, sizeof *out);
	snprintf(p, sizeof p, "%sWebSocket.Host", base);
	if (!get_str(d, t, p, out->host, sizeof out->host))
		return false;
	out->ctl_inst = ctl;
	out->mtp_inst = mtp;
	snprintf(out->endpoint_id, sizeof out->endpoint_id, "%s", eid);
	/* EnableEncryption in current TR-181; IsEncrypted in files before 2.14. */
	snprintf(p, sizeof p, "%sWebSocket.EnableEncryption", base);
	if (get_str(d, t, p, v, sizeof v)) {
		out->tls = !strcmp(v, "true");
	} else {
		snprintf(p, sizeof p, "%sWebSocket.IsEncrypted", base);
		out->tls = get_bool(d, t, p, true);
	}
	snprintf(p, sizeof p, "%sWebSocket.Port", base);
	out->port = get_uint(d, t, p, out->tls ? 443 : 80);
	snprintf(p, sizeof p, "%sWebSocket.Path", base);
	get_str(d, t, p, out->path, sizeof out->path);
	snprintf(p, sizeof p, "%sWebSocket.KeepAliveInterval", base);
	out->keepalive_s = get_uint(d, t, p, WS_KEEPALIVE_DEFAULT);
	snprintf(p, sizeof p, "%sWebSocket.SessionRetryMinimumWaitInterval", base);
	out->retry_min_s = get_uint(d, t, p, WS_RETRY_MIN_DEFAULT);
	snprintf(p, sizeof p, "%sWebSocket.SessionRetryIntervalMultiplier", base);
	out->retry_mult = get_uint(d, t, p, WS_RETRY_MULT_DEFAULT);
	return true;
}

/* ---------------------------------------------------------------------------
 * Bringing listeners and dialled sessions in line
 * ------------------------------------------------------------------------- */

/* A listener stays while its MTP keeps its port and encryption; Path and
 * keep-alive changes apply to the next session. */
static bool same_listener(const ws_listener *a, const ws_listener *b)
{
	return a->mtp_inst == b->mtp_inst && a->port == b->port && a->tls == b->tls;
}

static void listener_want(ws_mtp *m, const ws_listener *want)
{
	for (ws_listener *ls = m->listeners; ls; ls = ls->next) {
		if (!same_listener(ls, want))
			continue;
		memcpy(ls->path, want->path, sizeof ls->path);
		ls->keepalive_s = want->keepalive_s;
		return;
	}
	listener_open(m, want);
}

static void reconcile_listeners(ws_mtp *m, dm *d, dm_txn *t)
{
	uint32_t *inst = NULL;
	size_t n = 0, k = 0;
	dm_errinfo err;

	if (dm_list_instances(t, "Device.LocalAgent.MTP.", &inst, &n, &err))
		n = 0;
	ws_listener *want = calloc(n ? n : 1, sizeof *want);
	if (!want) {
		free(inst);
		CORE_LOG_E(WS_LOG, "out of memory reading the WebSocket listeners");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (listener_wanted(m, d, t, inst[i], &want[k]))
			k++;
	free(inst);
	/* Old listeners go first, so that a port moving from one MTP to
	 * another is free again. */
	for (ws_listener **pp = &m->listeners; *pp;) {
		ws_listener *ls = *pp;
		bool keep = false;
		for (size_t i = 0; i < k && !keep; i++)
			keep = same_listener(&want[i], ls);
		if (keep) {
			pp = &ls->next;
			continue;
		}
		*pp = ls->next;
		ws_listener_close(ls);
	}
	for (size_t i = 0; i < k; i++)
		listener_want(m, &want[i]);
	free(want);
}

static bool same_target(const ws_client *a, const ws_client *b)
{
	return a->port == b->port && a->tls == b->tls && !strcmp(a->host, b->host) && !strcmp(a->path, b->path) &&
	       !strcmp(a->endpoint_id, b->endpoint_id);
}

/* A target stays while its address does; retry and keep-alive changes
 * apply from the next attempt. */
static void client_want(ws_mtp *m, const ws_client *want)
{
	for (ws_client *c = m->clients; c; c = c->next) {
		if (c->ctl_inst != want->ctl_inst || c->mtp_inst != want->mtp_inst || !same_target(c, want))
			continue;
		c->keepalive_s = want->keepalive_s;
		c->retry_min_s = want->retry_min_s;
		c->retry_mult = want->retry_mult;
		c->keep = true;
		return;
	}
	ws_client *c = malloc(sizeof *c);
	if (!c) {
		CORE_LOG_E(WS_LOG, "out of memory adding Controller %s", want->endpoint_id);
		return;
	}
	*c = *want;
	c->m = m;
	c->keep = true;
	c->next = m->clients;
	m->clients = c;
	CORE_LOG_I(WS_LOG, "dialling %s at %s://%s:%u%s", c->endpoint_id, c->tls ? "wss" : "ws", c->host, c->port,
		   c->path);
	ws_client_start(c);
}

static void controller_clients(ws_mtp *m, dm *d, dm_txn *t, uint32_t ctl)
{
	char p[128], eid[USP_ENDPOINT_MAX];
	uint32_t *inst = NULL;
	size_t n = 0;
	dm_errinfo err;
	ws_client want;

	snprintf(p, sizeof p, "Device.LocalAgent.Controller.%u.Enable", (unsigned)ctl);
	if (!get_bool(d, t, p, false))
		return;
	snprintf(p, sizeof p, "Device.LocalAgent.Controller.%u.EndpointID", (unsigned)ctl);
	if (!get_str(d, t, p, eid, sizeof eid))
		return;
	snprintf(p, sizeof p, "Device.LocalAgent.Controller.%u.MTP.", (unsigned)ctl);
	if (dm_list_instances(t, p, &inst, &n, &err))
		return;
	for (size_t i = 0; i < n; i++)
		if (client_wanted(d, t, ctl, inst[i], eid, &want))
			client_want(m, &want);
	free(inst);
}

static void reconcile_clients(ws_mtp *m, dm *d, dm_txn *t)
{
	uint32_t *ctl = NULL;
	size_t n = 0;
	dm_errinfo err;

	for (ws_client *c = m->clients; c; c = c->next)
		c->keep = false;
	if (dm_list_instances(t, "Device.LocalAgent.Controller.", &ctl, &n, &err) == DM_OK)
		for (size_t i = 0; i < n; i++)
			controller_clients(m, d, t, ctl[i]);
	free(ctl);
	for (ws_client **pp = &m->clients; *pp;) {
		ws_client *c = *pp;
		if (c->keep) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		CORE_LOG_I(WS_LOG, "no longer dialling %s", c->endpoint_id);
		ws_client_remove(c);
	}
}

int ws_apply_config(ws_mtp *m)
{
	dm *d = usp_agent_dm(m->agent);
	dm_txn *t = NULL;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);

	if (rc) {
		CORE_LOG_E(WS_LOG, "cannot read the WebSocket configuration: %s", dm_strerror(rc));
		return rc;
	}
	reconcile_listeners(m, d, t);
	reconcile_clients(m, d, t);
	dm_txn_abort(t);
	return DM_OK;
}
