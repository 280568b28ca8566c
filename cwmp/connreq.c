/*
 * connreq.c - the HTTP Connection Request listener (TR-069 3.2.2): our own
 * listening socket on the core loop, whose connections libwebsockets
 * serves as HTTP; Digest authentication (digest.c) against
 * ManagementServer.ConnectionRequestUsername/Password; the accepted and
 * the failed requests rate-limited; ManagementServer.ConnectionRequestURL
 * published; HTTPConnectionRequestEnable and EnableCWMP followed at run
 * time. What a Connection Request leads to (a session with
 * "6 CONNECTION REQUEST") is the session's business, reached through
 * a->connection_request.
 */
#include "connreq.h"

#include "digest.h"

#include <libwebsockets.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define CR_LOG "cwmp"
#define CR_DEFAULT_PORT 7547
#define CR_REALM "duet Connection Request"
/* Accepted requests beyond this many per window get 503 (TR-069 3.2.2
 * allows the CPE to limit them; no Retry-After). */
#define CR_ACCEPT_BUDGET 5
#define CR_ACCEPT_WINDOW_MS 10000
/* Failed authentications beyond this many per window: every request gets
 * 503 until the window moves on, so the password cannot be guessed fast. */
#define CR_FAIL_BUDGET 30
#define CR_FAIL_WINDOW_MS 60000
#define CR_BUDGET_SLOTS 32
/* A listener that could not open (port busy) or a URL that could not be
 * published (store busy) is tried again this much later. */
#define CR_RETRY_MS 30000
#define CR_BUSY_RETRY_MS 1000
#define CR_AUTH_MAX 4096      /* Authorization header bytes looked at */
#define CR_ACCEPT_BATCH 16    /* accepts per wake-up: the loop serves others too */
#define CR_STATE_NS "cwmp.cr" /* agent state: the random path */
#define CR_STATE_PATH "path"
#define CR_PATH_RANDOM 8      /* bytes, 16 hex digits */

#define MS "Device.ManagementServer."
#define P_URL MS "ConnectionRequestURL"
#define P_USER MS "ConnectionRequestUsername"
#define P_PASS MS "ConnectionRequestPassword"
#define P_HTTP_ENABLE MS "HTTPConnectionRequestEnable"
#define P_CWMP_ENABLE MS "EnableCWMP"
/* The USP variant's window on EnableCWMP: a Controller retiring CWMP
 * closes the listener too. */
#define P_USP_CWMP_ENABLE "Device.CWMPManagementServer.EnableCWMP"

_Static_assert(CR_ACCEPT_BUDGET <= CR_BUDGET_SLOTS && CR_FAIL_BUDGET <= CR_BUDGET_SLOTS, "budget slots");

/* A sliding window: the times of the last max events. */
typedef struct cr_budget {
	uint64_t t[CR_BUDGET_SLOTS];
	unsigned max, n, head; /* head: the oldest once full */
	uint64_t window_ms;
} cr_budget;

/* Freed by its close callback: it may outlive the listener's owner. */
typedef struct cr_listener {
	uv_poll_t poll;
	int fd;
	struct cwmp_connreq *c; /* NULL once closing */
} cr_listener;

/* One connection lws serves for us; freed at LWS_CALLBACK_WSI_DESTROY,
 * the last callback lws makes for it, which may come after c is gone
 * (c is NULL then). */
typedef struct cr_conn {
	struct cwmp_connreq *c;
	struct lws *wsi;
	struct cr_conn *prev, *next;
} cr_conn;

struct cwmp_connreq {
	cwmp_agent *a;
	cwmp_digest *digest;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	cr_listener *lsn;
	cr_conn *conns;
	dm_sub *sub;
	core_timer *apply_due;
	core_timer *retry;
	struct sockaddr_storage bound; /* the listener's address */
	unsigned port;                 /* its port; kept while closed, to reuse */
	char path[48];
	char url[320];
	cr_budget accepted, failed;
	unsigned in_cb; /* depth of our lws callbacks on the stack */
	bool stopped;
};

static void apply(cwmp_connreq *c);

/* ---------------------------------------------------------------------------
 * Rate budgets
 * ------------------------------------------------------------------------- */

static void budget_init(cr_budget *b, unsigned max, uint64_t window_ms)
{
	memset(b, 0, sizeof *b);
	b->max = max;
	b->window_ms = window_ms;
}

/* max 0: no limit at all (benchmarks drive sessions back to back). */
/* The agent's setting: 0 the default, -1 no limit, else that many
 * (the window holds at most CR_BUDGET_SLOTS). */
static unsigned accept_budget(const cwmp_agent *a)
{
	if (a->cr_limit < 0)
		return 0;
	if (a->cr_limit == 0)
		return CR_ACCEPT_BUDGET;
	return a->cr_limit > CR_BUDGET_SLOTS ? CR_BUDGET_SLOTS : (unsigned)a->cr_limit;
}

static bool budget_spent(const cr_budget *b, uint64_t now)
{
	return b->max && b->n == b->max && now - b->t[b->head] < b->window_ms;
}

static void budget_take(cr_budget *b, uint64_t now)
{
	if (!b->max)
		return;
	b->t[b->head] = now;
	b->head = (b->head + 1) % b->max;
	if (b->n < b->max)
		b->n++;
}

/* ---------------------------------------------------------------------------
 * The data model side: path, settings, credentials, the published URL
 * ------------------------------------------------------------------------- */

static bool path_ok(const char *p, size_t len, size_t max)
{
	if (len < 2 || len >= max || p[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)p[i]) || strchr("-._~/", p[i])))
			return false;
	return true;
}

static int path_create(cwmp_connreq *c)
{
	uint8_t r[CR_PATH_RANDOM];
	dm_origin o = {.kind = DM_ORIGIN_INTERNAL, .who = "cwmp"};
	dm_errinfo err = {0};
	dm_txn *t;

	if (cwmp_random_bytes(r, sizeof r) != 1)
		return DM_ERR_INTERNAL;
	int n = snprintf(c->path, sizeof c->path, "/cr-");
	for (size_t i = 0; i < sizeof r; i++)
		n += snprintf(c->path + n, sizeof c->path - (size_t)n, "%02x", r[i]);
	int rc = dm_txn_begin(c->a->d, DM_TXN_WRITE, &o, &t);
	if (rc)
		return rc;
	rc = dm_state_put(t, CR_STATE_NS, CR_STATE_PATH, c->path, strlen(c->path), &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

/* The path is random per device (TR-069 3.2.2) and made once: the ACS
 * keeps the URL it was told. */
static int path_load(cwmp_connreq *c)
{
	dm_txn *t;
	char *v = NULL;
	size_t len = 0;

	int rc = dm_txn_begin(c->a->d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	rc = dm_state_get(t, CR_STATE_NS, CR_STATE_PATH, &v, &len, NULL);
	dm_txn_abort(t);
	if (rc == DM_OK && path_ok(v, len, sizeof c->path)) {
		memcpy(c->path, v, len + 1);
		free(v);
		return DM_OK;
	}
	free(v);
	if (rc != DM_OK && rc != DM_ERR_NOT_INSTANTIATED)
		return rc;
	if (rc == DM_OK)
		CORE_LOG_W(CR_LOG, "stored Connection Request path is malformed; making a new one");
	return path_create(c);
}

/* A boolean setting; absent from the schema or unreadable reads as true,
 * both parameters' default. */
static bool setting_on(dm *d, dm_txn *t, const char *path)
{
	char v[8];

	if (dm_get_value_buf(d, t, path, v, sizeof v, NULL))
		return true;
	return strcmp(v, "false") != 0;
}

static bool listener_wanted(cwmp_connreq *c)
{
	dm *d = c->a->d;
	dm_txn *t;

	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return c->lsn != NULL; /* keep things as they are */
	bool on = setting_on(d, t, P_CWMP_ENABLE) && setting_on(d, t, P_USP_CWMP_ENABLE) &&
		  setting_on(d, t, P_HTTP_ENABLE);
	dm_txn_abort(t);
	return on;
}

/* Read at every request, so that a change applies at once. An unreadable
 * username reads as empty, which refuses everything. */
static void credentials(cwmp_connreq *c, char *user, size_t un, char *pass, size_t pn)
{
	dm *d = c->a->d;
	dm_txn *t;

	user[0] = pass[0] = '\0';
	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return;
	if (dm_get_value_buf(d, t, P_USER, user, un, NULL))
		user[0] = '\0';
	if (dm_get_secret_buf(d, t, P_PASS, pass, pn, NULL))
		pass[0] = '\0';
	dm_txn_abort(t);
}

/* ConnectionRequestURL is read-only to managers: the agent writes it. The
 * commit is skipped when nothing changes (no notification for nothing). */
static int publish(cwmp_connreq *c, const char *url)
{
	dm *d = c->a->d;
	dm_origin o = {.kind = DM_ORIGIN_INTERNAL, .who = "cwmp"};
	dm_errinfo err = {0};
	char cur[sizeof c->url];
	dm_txn *t;

	/* Set first: our own change, seen by on_change, must match. */
	snprintf(c->url, sizeof c->url, "%s", url);
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc)
		return rc;
	if (dm_get_value_buf(d, t, P_URL, cur, sizeof cur, NULL) == DM_OK && !strcmp(cur, url)) {
		dm_txn_abort(t);
		return DM_OK;
	}
	rc = dm_set(t, P_URL, url, &err);
	if (rc) {
		dm_txn_abort(t);
		CORE_LOG_E(CR_LOG, "cannot publish ConnectionRequestURL: %s", err.msg);
		return rc;
	}
	rc = dm_txn_commit(t, NULL, &err);
	if (rc)
		CORE_LOG_E(CR_LOG, "cannot publish ConnectionRequestURL: %s", err.msg);
	return rc;
}

/* ---------------------------------------------------------------------------
 * The URL's host
 * ------------------------------------------------------------------------- */

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return true;
}

/* The address text, IPv6 in brackets (RFC 3986 3.2.2). */
static bool addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a))
			return false;
		return (size_t)snprintf(buf, n, "%s", a) < n;
	}
	if (sa->sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a))
			return false;
		return (size_t)snprintf(buf, n, "[%s]", a) < n;
	}
	return false;
}

/* A wildcard listener is reached on the first IPv4 address of an
 * interface that is up and not loopback, else on loopback. */
static void url_host(const cwmp_connreq *c, char *buf, size_t n)
{
	struct ifaddrs *ifs = NULL;

	if (!is_wildcard(&c->bound) && addr_text((const struct sockaddr *)&c->bound, buf, n))
		return;
	snprintf(buf, n, "127.0.0.1");
	if (getifaddrs(&ifs))
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (addr_text(i->ifa_addr, buf, n))
			break;
	}
	freeifaddrs(ifs);
}

/* ---------------------------------------------------------------------------
 * Answering
 * ------------------------------------------------------------------------- */

typedef struct cr_answer {
	unsigned status;
	bool challenge, stale; /* 401: both WWW-Authenticate headers */
	bool allow;            /* 405: the Allow header */
	bool close;            /* end the connection after it */
} cr_answer;

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)value,
					   (int)strlen(value), p, end);
}

/* RFC 7616 3.7: SHA-256 first, the client takes the first it supports;
 * MD5 for the ACSes that know nothing else. */
static int add_challenges(cwmp_connreq *c, struct lws *wsi, bool stale, unsigned char **p, unsigned char *end)
{
	static const cwmp_digest_alg algs[] = {CWMP_DIGEST_SHA256, CWMP_DIGEST_MD5};
	char ch[CWMP_DIGEST_CHALLENGE_MAX];

	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		if (cwmp_digest_challenge(c->digest, algs[i], stale, ch, sizeof ch) ||
		    add_header(wsi, "WWW-Authenticate:", ch, p, end))
			return -1;
	return 0;
}

/* Headers only: every answer has an empty body. 0 once written, -1 when
 * the connection is to be dropped. */
static int answer(cwmp_connreq *c, struct lws *wsi, const cr_answer *ans)
{
	unsigned char buf[LWS_PRE + 2 * CWMP_DIGEST_CHALLENGE_MAX + 512];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;

	if (lws_add_http_header_status(wsi, ans->status | LWSAHH_FLAG_NO_SERVER_NAME, &p, end))
		return -1;
	if (ans->challenge && add_challenges(c, wsi, ans->stale, &p, end))
		return -1;
	if (ans->allow && add_header(wsi, "Allow:", "GET, HEAD", &p, end))
		return -1;
	if (ans->close && add_header(wsi, "Connection:", "close", &p, end))
		return -1;
	if (lws_add_http_header_content_length(wsi, 0, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

/* After an answer: keep the connection for the next request (the Digest
 * exchange takes two) unless it must close. */
static int finish(struct lws *wsi, bool close)
{
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int reply(cwmp_connreq *c, struct lws *wsi, const cr_answer *ans)
{
	return answer(c, wsi, ans) ? -1 : finish(wsi, ans->close);
}

/* ---------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------- */

/* A body is never read (TR-069 3.2.2 ignores it); the connection then
 * closes after the answer, since the body's bytes would follow. */
static bool has_body(struct lws *wsi)
{
	char v[24];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return true;
	if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return false;
	return strtoull(v, NULL, 10) != 0;
}

static int accepted(cwmp_connreq *c, struct lws *wsi, const char *peer, bool close, uint64_t now)
{
	cr_answer ans = {.status = HTTP_STATUS_OK, .close = close};

	if (budget_spent(&c->accepted, now)) {
		CORE_LOG_I(CR_LOG, "Connection Request from %s refused: more than %u in %u s", peer, c->accepted.max,
			   CR_ACCEPT_WINDOW_MS / 1000);
		ans.status = HTTP_STATUS_SERVICE_UNAVAILABLE;
		return reply(c, wsi, &ans);
	}
	budget_take(&c->accepted, now);
	CORE_LOG_I(CR_LOG, "Connection Request from %s accepted", peer);
	/* TR-069 3.2.2: the answer goes out before the session starts. */
	if (answer(c, wsi, &ans))
		return -1;
	int rc = finish(wsi, close);
	if (c->a->connection_request)
		c->a->connection_request(c->a);
	return rc;
}

static int authenticate(cwmp_connreq *c, struct lws *wsi, const char *method, const char *peer, bool close)
{
	cr_answer ans = {.status = HTTP_STATUS_UNAUTHORIZED, .challenge = true, .close = close};
	char user[260], pass[260], hdr[CR_AUTH_MAX + 1];
	uint64_t now = uv_now(core_loop_uv(c->a->loop));

	if (budget_spent(&c->failed, now)) {
		CORE_LOG_D(CR_LOG, "Connection Request from %s refused: too many failed authentications", peer);
		ans = (cr_answer){.status = HTTP_STATUS_SERVICE_UNAVAILABLE, .close = close};
		return reply(c, wsi, &ans);
	}
	credentials(c, user, sizeof user, pass, sizeof pass);
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	int v = CWMP_DIGEST_MALFORMED;
	if (!user[0]) {
		core_log(len > 0 ? CORE_LOG_INFO : CORE_LOG_DEBUG, CR_LOG,
			 "Connection Request from %s refused: ConnectionRequestUsername is empty", peer);
	} else if (len <= 0) {
		CORE_LOG_D(CR_LOG, "Connection Request from %s: challenged", peer);
	} else {
		if (len <= CR_AUTH_MAX && lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HTTP_AUTHORIZATION) == len)
			v = cwmp_digest_verify(c->digest, hdr, method, c->path, user, pass);
		if (v == CWMP_DIGEST_OK) {
			OPENSSL_cleanse(pass, sizeof pass);
			return accepted(c, wsi, peer, close, now);
		}
		ans.stale = v == CWMP_DIGEST_STALE;
		if (!ans.stale)
			budget_take(&c->failed, now);
		CORE_LOG_I(CR_LOG, "Connection Request from %s refused: %s", peer, cwmp_digest_verdict_text(v));
	}
	OPENSSL_cleanse(pass, sizeof pass);
	return reply(c, wsi, &ans);
}

static int on_http(cwmp_connreq *c, struct lws *wsi)
{
	char peer[64] = "?", *uri = NULL;
	int uri_len = 0;

	lws_get_peer_simple(wsi, peer, sizeof peer);
	int method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	if (method < 0 || !uri || uri_len < 0)
		return -1;
	bool close = has_body(wsi);
	if ((size_t)uri_len != strlen(c->path) || memcmp(uri, c->path, (size_t)uri_len)) {
		CORE_LOG_D(CR_LOG, "HTTP request from %s for another path: not found", peer);
		return reply(c, wsi, &(cr_answer){.status = HTTP_STATUS_NOT_FOUND, .close = close});
	}
	if (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) {
		CORE_LOG_D(CR_LOG, "HTTP request from %s: method not allowed", peer);
		return reply(c, wsi, &(cr_answer){.status = HTTP_STATUS_METHOD_NOT_ALLOWED, .allow = true, .close = true});
	}
	return authenticate(c, wsi, method == LWSHUMETH_HEAD ? "HEAD" : "GET", peer, close);
}

/* ---------------------------------------------------------------------------
 * libwebsockets
 * ------------------------------------------------------------------------- */

static void conn_free(cr_conn *k)
{
	if (k->c) {
		if (k->prev)
			k->prev->next = k->next;
		else
			k->c->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
	}
	lws_set_opaque_user_data(k->wsi, NULL);
	free(k);
}

static void connreq_free(cwmp_connreq *c)
{
	cwmp_digest_free(c->digest);
	free(c);
}

static int conn_callback(cwmp_connreq *c, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(c, wsi);
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* ignored; the connection closes after the answer */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return -1;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return 1; /* no WebSocket here */
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static int cr_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	/* Only connections carry our state; vhost and context events, and a
	 * connection whose listener is gone, get lws's defaults. */
	cr_conn *k = lws_get_opaque_user_data(wsi);

	if (k && reason == LWS_CALLBACK_WSI_DESTROY) {
		conn_free(k);
		return 0;
	}
	if (!k || !k->c) {
		if (reason == LWS_CALLBACK_HTTP || reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
			return -1;
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	cwmp_connreq *c = k->c;
	c->in_cb++;
	int rc = conn_callback(c, wsi, reason, user, in, len);
	if (--c->in_cb == 0 && c->stopped)
		connreq_free(c); /* stopped by the hook we called */
	return rc;
}

static const struct lws_protocols cr_protocols[] = {
	{.name = "cwmp-connection-request", .callback = cr_callback},
	{0},
};

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	core_log(level & LLL_ERR ? CORE_LOG_ERROR : CORE_LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* Made when the listener first opens and kept: lws 4.1 cannot take a
 * context on a foreign libuv loop down safely (see usp/mtp_ws.c), so
 * after stop it stays idle until the process exits. */
static int ensure_lws(cwmp_connreq *c)
{
	void *loops[1] = {core_loop_uv(c->a->loop)};
	struct lws_context_creation_info ci = {
		.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
			   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN,
		.foreign_loops = loops,
		.port = CONTEXT_PORT_NO_LISTEN,
		/* lws sizes a table by the fd limit; a handful of ACS
		 * connections never needs the process's whole limit */
		.fd_limit_per_thread = 4096,
	};
	struct lws_context_creation_info vi = {
		.port = CONTEXT_PORT_NO_LISTEN_SERVER,
		.protocols = cr_protocols,
		.vhost_name = "cwmp-connection-request",
		.keepalive_timeout = 5, /* idle connections do not linger */
	};

	if (c->vh)
		return DM_OK;
	if (c->ctx)
		return DM_ERR_INTERNAL; /* an earlier start failed; lws cannot retry on this loop */
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	c->ctx = lws_create_context(&ci);
	if (!c->ctx)
		return DM_ERR_INTERNAL;
	c->vh = lws_create_vhost(c->ctx, &vi);
	return c->vh ? DM_OK : DM_ERR_INTERNAL;
}

/* ---------------------------------------------------------------------------
 * The listening socket (ours, not lws's: lws 4.1 on a foreign loop keeps a
 * destroyed vhost's listener open, and HTTPConnectionRequestEnable=false
 * must close the port at once)
 * ------------------------------------------------------------------------- */

static void adopt(cwmp_connreq *c, int fd)
{
	int one = 1;
	cr_conn *k = calloc(1, sizeof *k);

	if (!k) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	lws_adopt_desc_t d = {
		.vh = c->vh,
		.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP,
		.fd.sockfd = fd,
	};
	/* The connection becomes k's only once adopted: a failed adoption
	 * may still be destroyed later by lws, and must not find k. */
	struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&d); /* closes fd on failure */
	if (!wsi) {
		free(k);
		return;
	}
	k->c = c;
	k->wsi = wsi;
	k->next = c->conns;
	if (c->conns)
		c->conns->prev = k;
	c->conns = k;
	lws_set_opaque_user_data(wsi, k);
}

static void on_listen_readable(uv_poll_t *p, int status, int events)
{
	cr_listener *ls = p->data;

	if (!ls->c)
		return;
	if (status < 0) {
		CORE_LOG_W(CR_LOG, "Connection Request listener: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < CR_ACCEPT_BATCH && ls->c; i++) {
		int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				CORE_LOG_W(CR_LOG, "Connection Request listener: accept: %s", strerror(errno));
			return;
		}
		adopt(ls->c, fd);
	}
}

/* Only a numeric address: a name lookup could block the loop. */
static int listen_socket(const char *addr, unsigned port, struct sockaddr_storage *bound)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char ps[8];
	int one = 1;

	snprintf(ps, sizeof ps, "%u", port);
	int rc = getaddrinfo(addr, ps, &hints, &res);
	if (rc) {
		CORE_LOG_E(CR_LOG, "Connection Request address %s: %s (a numeric address is needed)", addr,
			   gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		socklen_t sl = sizeof *bound;
		if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16) ||
		    getsockname(fd, (struct sockaddr *)bound, &sl)) {
			CORE_LOG_E(CR_LOG, "cannot listen for Connection Requests on %s port %u: %s", addr, port,
				   strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

static unsigned bound_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int listener_open(cwmp_connreq *c)
{
	const char *addr = c->a->cr_address && *c->a->cr_address ? c->a->cr_address : "0.0.0.0";
	unsigned port = c->a->cr_port == 0 ? CR_DEFAULT_PORT : c->a->cr_port < 0 ? 0 : (unsigned)c->a->cr_port;
	int fd = -1;

	if (ensure_lws(c)) {
		CORE_LOG_E(CR_LOG, "cannot start libwebsockets on the core loop");
		return DM_ERR_INTERNAL;
	}
	/* An ephemeral port reopened keeps its number when it can: the ACS
	 * may still hold the old URL. */
	if (port == 0 && c->port)
		fd = listen_socket(addr, c->port, &c->bound);
	if (fd < 0)
		fd = listen_socket(addr, port, &c->bound);
	if (fd < 0)
		return DM_ERR_INTERNAL;
	cr_listener *ls = calloc(1, sizeof *ls);
	if (!ls || uv_poll_init_socket(core_loop_uv(c->a->loop), &ls->poll, fd)) {
		free(ls);
		close(fd);
		return DM_ERR_NOMEM;
	}
	ls->fd = fd;
	ls->c = c;
	ls->poll.data = ls;
	uv_poll_start(&ls->poll, UV_READABLE, on_listen_readable);
	c->lsn = ls;
	c->port = bound_port(&c->bound);
	CORE_LOG_I(CR_LOG, "listening for Connection Requests on %s port %u", addr, c->port);
	return DM_OK;
}

static void listener_closed(uv_handle_t *h)
{
	free(h->data);
}

/*
 * The connections it accepted go too, each kept by lws until its destroy
 * callback. Inside a callback of ours lws must not close a connection
 * synchronously (it may be that very one): the kill then waits for lws.
 */
static void drop_connections(cwmp_connreq *c)
{
	cr_conn *k = c->conns;

	c->conns = NULL;
	while (k) {
		cr_conn *next = k->next;
		k->c = NULL;
		k->prev = k->next = NULL;
		lws_set_timeout(k->wsi, PENDING_TIMEOUT_USER_OK, c->in_cb ? LWS_TO_KILL_ASYNC : LWS_TO_KILL_SYNC);
		k = next;
	}
}

static void listener_close(cwmp_connreq *c)
{
	cr_listener *ls = c->lsn;

	if (!ls)
		return;
	c->lsn = NULL;
	ls->c = NULL;
	/* Closing the socket now frees the port at once. */
	uv_poll_stop(&ls->poll);
	close(ls->fd);
	uv_close((uv_handle_t *)&ls->poll, listener_closed);
	drop_connections(c);
	CORE_LOG_I(CR_LOG, "no longer listening for Connection Requests");
}

/* ---------------------------------------------------------------------------
 * Following the settings
 * ------------------------------------------------------------------------- */

static void apply_fire(void *ctx)
{
	cwmp_connreq *c = ctx;

	core_timer_stop(c->apply_due);
	c->apply_due = NULL;
	apply(c);
}

static void retry_fire(void *ctx)
{
	cwmp_connreq *c = ctx;

	core_timer_stop(c->retry);
	c->retry = NULL;
	apply(c);
}

static void schedule(cwmp_connreq *c, core_timer **slot, uint64_t ms, core_timer_fn fn)
{
	if (*slot || c->stopped)
		return;
	if (core_timer_start(c->a->loop, ms, 0, fn, c, slot))
		CORE_LOG_E(CR_LOG, "cannot schedule Connection Request listener work");
}

static void apply(cwmp_connreq *c)
{
	char url[sizeof c->url], host[INET6_ADDRSTRLEN + 2];
	bool want = listener_wanted(c);
	bool failed = false;

	if (want && !c->lsn)
		failed = listener_open(c) != DM_OK;
	else if (!want && c->lsn)
		listener_close(c);
	url[0] = '\0';
	if (c->lsn) {
		url_host(c, host, sizeof host);
		snprintf(url, sizeof url, "http://%s:%u%s", host, c->port, c->path);
	}
	int rc = publish(c, url);
	if (failed)
		schedule(c, &c->retry, CR_RETRY_MS, retry_fire);
	else if (rc)
		schedule(c, &c->retry, rc == DM_ERR_TXN_STATE ? CR_BUSY_RETRY_MS : CR_RETRY_MS, retry_fire);
}

static bool watched(const char *path)
{
	static const char *const paths[] = {P_HTTP_ENABLE, P_CWMP_ENABLE, P_USP_CWMP_ENABLE};

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (!strcmp(path, paths[i]))
			return true;
	return false;
}

/* Runs right after another writer's commit: the work waits for the loop's
 * next turn, where a write transaction of ours may open. */
static void on_change(void *ctx, const dm_change *ch)
{
	cwmp_connreq *c = ctx;

	if (ch->kind != DM_CHANGE_VALUE || !ch->path)
		return;
	/* A URL someone else wrote over (a factory reset) is put back. */
	if (watched(ch->path) || (!strcmp(ch->path, P_URL) && strcmp(ch->new_value ? ch->new_value : "", c->url)))
		schedule(c, &c->apply_due, 0, apply_fire);
}

/* ---------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------- */

int cwmp_connreq_start(cwmp_agent *a, cwmp_connreq **out)
{
	cwmp_digest_opts dopts = {.realm = CR_REALM};

	if (!a || !a->d || !a->loop || !out)
		return DM_ERR_INTERNAL;
	if (a->cr_port < -1 || a->cr_port > 65535)
		return DM_ERR_INVALID_VALUE;
	cwmp_connreq *c = calloc(1, sizeof *c);
	if (!c)
		return DM_ERR_NOMEM;
	c->a = a;
	budget_init(&c->accepted, accept_budget(a), CR_ACCEPT_WINDOW_MS);
	budget_init(&c->failed, CR_FAIL_BUDGET, CR_FAIL_WINDOW_MS);
	int rc = cwmp_digest_new(&dopts, &c->digest);
	if (!rc)
		rc = path_load(c);
	if (!rc)
		rc = dm_subscribe(a->d, on_change, c, &c->sub);
	if (rc) {
		connreq_free(c);
		return rc;
	}
	/* A listener that cannot open now (port taken) is retried; the agent
	 * runs on without Connection Requests meanwhile. */
	apply(c);
	*out = c;
	return DM_OK;
}

void cwmp_connreq_stop(cwmp_connreq *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = true;
	dm_unsubscribe(c->a->d, c->sub);
	core_timer_stop(c->apply_due);
	core_timer_stop(c->retry);
	c->apply_due = c->retry = NULL;
	listener_close(c);
	if (!c->in_cb)
		connreq_free(c);
}

const char *cwmp_connreq_url(const cwmp_connreq *c)
{
	return c ? c->url : "";
}
