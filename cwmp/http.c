/*
 * http.c - the session's HTTP(S) client on libcurl's multi-socket API:
 * a uv_poll per socket libcurl asks us to watch, one uv_timer for its
 * timeouts, curl_multi_socket_action from both, and a result callback
 * when the transfer is done. The loop never waits on the network.
 * SOAP and the session's rules live in session.c.
 */
#include "http.h"
#include "dm.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS 30000
/* An ACS message is a few kilobytes; anything near this is not CWMP. */
#define MAX_BODY (16u << 20)

typedef struct sock_watch {
	uv_poll_t poll;
	curl_socket_t fd;
	struct cwmp_http *h;
	struct sock_watch *next;
} sock_watch;

struct cwmp_http {
	core_loop *loop;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *body_headers;  /* Content-Type, SOAPAction */
	struct curl_slist *empty_headers; /* the empty POST: neither */
	uv_timer_t timer;
	sock_watch *watches;
	bool attached;    /* easy is in multi: a POST is running */
	bool dispatching; /* inside done: closing must wait */
	bool close_asked;
	char *request;    /* the body being sent (libcurl does not copy it) */
	char *body;       /* the answer as it arrives */
	size_t body_len, body_cap;
	bool body_too_big;
	char errbuf[CURL_ERROR_SIZE];
	cwmp_http_done_fn done;
	void *done_ctx;
	/* Credentials are offered only once the ACS asks (401): with Digest
	 * armed from the start libcurl probes with an empty POST, which an
	 * ACS that does not authenticate takes for the CPE's "nothing more". */
	char *username, *password;
	long auth_methods;
	bool auth_armed;
};

static unsigned global_refs;

int cwmp_http_global_init(void)
{
	if (global_refs++)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		global_refs = 0;
		return DM_ERR_INTERNAL;
	}
	return 0;
}

void cwmp_http_global_cleanup(void)
{
	if (global_refs && !--global_refs)
		curl_global_cleanup();
}

/* ---------------------------------------------------------------------------
 * libcurl <-> libuv
 * ------------------------------------------------------------------------- */

static void check_done(cwmp_http *h);

static void watch_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void watch_unlink(cwmp_http *h, sock_watch *w)
{
	for (sock_watch **pp = &h->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

static void watch_close(sock_watch *w)
{
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, watch_closed);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	sock_watch *w = p->data;
	cwmp_http *h = w->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(h->multi, w->fd, flags, &running);
	check_done(h);
}

static sock_watch *watch_new(cwmp_http *h, curl_socket_t fd)
{
	sock_watch *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	if (uv_poll_init_socket(core_loop_uv(h->loop), &w->poll, fd)) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	w->h = h;
	w->poll.data = w;
	w->next = h->watches;
	h->watches = w;
	curl_multi_assign(h->multi, fd, w);
	return w;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	cwmp_http *h = userp;
	sock_watch *w = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			watch_unlink(h, w);
			watch_close(w);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!w && !(w = watch_new(h, fd)))
		return -1; /* libcurl fails the transfer: we could not watch it */
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&w->poll, events, on_poll) ? -1 : 0;
}

static void on_timer(uv_timer_t *t)
{
	cwmp_http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
	cwmp_http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		return uv_timer_stop(&h->timer) ? -1 : 0;
	/* libcurl asks for 0 to be told "now"; from the loop, not from here */
	return uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0) ? -1 : 0;
}

/* ---------------------------------------------------------------------------
 * Bodies
 * ------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	cwmp_http *h = userp;
	size_t n = size * nmemb;

	if (h->body_len + n + 1 > MAX_BODY) {
		h->body_too_big = true;
		return 0; /* libcurl aborts the transfer */
	}
	if (h->body_len + n + 1 > h->body_cap) {
		size_t cap = h->body_cap ? h->body_cap : 4096;
		while (cap < h->body_len + n + 1)
			cap *= 2;
		char *p = realloc(h->body, cap);
		if (!p)
			return 0;
		h->body = p;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, data, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

/* A new status line starts a new answer: the body of a 401 that libcurl
 * answers itself (Digest) must not stick to the real one. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	cwmp_http *h = userp;
	size_t n = size * nmemb;

	if (n >= 5 && !strncmp(data, "HTTP/", 5))
		h->body_len = 0;
	return n;
}

/* ---------------------------------------------------------------------------
 * Completion
 * ------------------------------------------------------------------------- */

static void timer_closed(uv_handle_t *handle)
{
	cwmp_http *h = handle->data;

	free(h);
}

static void teardown(cwmp_http *h)
{
	if (h->easy) {
		if (h->attached)
			curl_multi_remove_handle(h->multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	while (h->watches) {
		sock_watch *w = h->watches;
		h->watches = w->next;
		watch_close(w);
	}
	curl_slist_free_all(h->body_headers);
	curl_slist_free_all(h->empty_headers);
	free(h->request);
	free(h->username);
	free(h->password);
	free(h->body);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, timer_closed);
}

/* Offer the credentials from now on; false when there are none or they
 * were offered already (a second 401 is the ACS refusing them). */
static bool arm_auth(cwmp_http *h)
{
	if (h->auth_armed || !h->username)
		return false;
	h->auth_armed = true;
	return curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, h->auth_methods) == CURLE_OK &&
	       curl_easy_setopt(h->easy, CURLOPT_USERNAME, h->username) == CURLE_OK &&
	       curl_easy_setopt(h->easy, CURLOPT_PASSWORD, h->password ? h->password : "") == CURLE_OK;
}

static void finish(cwmp_http *h, CURLcode code)
{
	cwmp_http_result r = { 0 };
	char reason[CURL_ERROR_SIZE + 64];

	curl_multi_remove_handle(h->multi, h->easy);
	h->attached = false;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &r.status);
	if (code == CURLE_OK && r.status == 401 && arm_auth(h)) {
		/* the same message again, this time answering the challenge */
		h->body_len = 0;
		h->body_too_big = false;
		if (curl_multi_add_handle(h->multi, h->easy) == CURLM_OK) {
			h->attached = true;
			return;
		}
	}
	if (code != CURLE_OK) {
		if (h->body_too_big)
			snprintf(reason, sizeof reason, "answer larger than %u bytes", MAX_BODY);
		else /* libcurl's detail names the cause; its generic text otherwise */
			snprintf(reason, sizeof reason, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(code));
		r.status = 0;
		r.error = reason;
	} else {
		r.error = "";
		r.body = h->body ? h->body : "";
		r.body_len = h->body_len;
	}
	h->dispatching = true;
	h->done(h->done_ctx, &r);
	h->dispatching = false;
}

static void check_done(cwmp_http *h)
{
	CURLMsg *m;
	int left;

	while (!h->close_asked && (m = curl_multi_info_read(h->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy && h->attached)
			finish(h, m->data.result);
	if (h->close_asked)
		teardown(h);
}

/* ---------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------- */

static bool is_https(const char *url)
{
	return !strncasecmp(url, "https://", 8);
}

/* Every setopt that can fail here fails only for memory or an unknown
 * option: report any of them as one error. */
static int setup_easy(cwmp_http *h, const cwmp_http_opts *o)
{
	CURL *e = h->easy;
	CURLcode rc = CURLE_OK;
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = curl_easy_setopt(e, opt, val);                   \
	} while (0)
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, h);
	SET(CURLOPT_USERAGENT, "duetd/" CORE_VERSION);
	/* TR-069 3.4.2: cookies live as long as the session, i.e. this handle */
	SET(CURLOPT_COOKIEFILE, "");
	/* TR-069 3.3: the ACS is who its certificate says, TLS 1.2 at least */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->tls_ca && *o->tls_ca)
		SET(CURLOPT_CAINFO, o->tls_ca);
	if (o->tls_cert && *o->tls_cert)
		SET(CURLOPT_SSLCERT, o->tls_cert);
	if (o->tls_key && *o->tls_key)
		SET(CURLOPT_SSLKEY, o->tls_key);
	if (o->username && *o->username) {
		/* TR-069 3.4.4: Basic only where TLS protects the password */
		h->auth_methods = is_https(o->url) ? (long)(CURLAUTH_BASIC | CURLAUTH_DIGEST) : (long)CURLAUTH_DIGEST;
		if (!(h->username = strdup(o->username)) ||
		    !(h->password = strdup(o->password ? o->password : "")))
			return DM_ERR_NOMEM;
	}
#undef SET
	return rc == CURLE_OK ? 0 : DM_ERR_INVALID_ARG;
}

/* "Expect:" stops libcurl's 100-continue round trip, which an ACS need not
 * support; "Content-Type:" with no value removes libcurl's form default. */
static int setup_headers(cwmp_http *h)
{
	static const char *const with_body[] = {
		"Content-Type: text/xml; charset=\"utf-8\"",
		"SOAPAction: \"\"",
		"Expect:",
	};
	static const char *const empty[] = { "Content-Type:", "Expect:" };

	for (size_t i = 0; i < sizeof with_body / sizeof with_body[0]; i++) {
		struct curl_slist *l = curl_slist_append(h->body_headers, with_body[i]);
		if (!l)
			return DM_ERR_NOMEM;
		h->body_headers = l;
	}
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		struct curl_slist *l = curl_slist_append(h->empty_headers, empty[i]);
		if (!l)
			return DM_ERR_NOMEM;
		h->empty_headers = l;
	}
	return 0;
}

static int setup_multi(cwmp_http *h)
{
	CURLMcode rc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);

	if (rc == CURLM_OK)
		rc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* TR-069 3.4.6: no pipelining, one request in flight */
	if (rc == CURLM_OK)
		rc = curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	return rc == CURLM_OK ? 0 : DM_ERR_INTERNAL;
}

int cwmp_http_open(core_loop *loop, const cwmp_http_opts *o, cwmp_http **out)
{
	if (!loop || !o || !o->url || !*o->url || !out)
		return DM_ERR_INVALID_ARG;
	cwmp_http *h = calloc(1, sizeof *h);
	if (!h)
		return DM_ERR_NOMEM;
	h->loop = loop;
	uv_timer_init(core_loop_uv(loop), &h->timer);
	h->timer.data = h;
	int rc = DM_ERR_NOMEM;
	if ((h->multi = curl_multi_init()) && (h->easy = curl_easy_init())) {
		rc = setup_multi(h);
		if (!rc)
			rc = setup_easy(h, o);
		if (!rc)
			rc = setup_headers(h);
	}
	if (rc) {
		teardown(h);
		return rc;
	}
	*out = h;
	return 0;
}

int cwmp_http_post(cwmp_http *h, const char *body, size_t len, cwmp_http_done_fn done, void *ctx)
{
	if (!h || !done || (len && !body) || h->close_asked)
		return DM_ERR_INVALID_ARG;
	if (h->attached)
		return DM_ERR_TXN_STATE;
	char *copy = malloc(len + 1);
	if (!copy)
		return DM_ERR_NOMEM;
	if (len)
		memcpy(copy, body, len);
	copy[len] = '\0';
	free(h->request);
	h->request = copy;
	h->body_len = 0;
	h->body_too_big = false;
	h->errbuf[0] = '\0';
	h->done = done;
	h->done_ctx = ctx;
	CURL *e = h->easy;
	if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->request) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, len ? h->body_headers : h->empty_headers))
		return DM_ERR_INTERNAL;
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		return DM_ERR_INTERNAL;
	h->attached = true;
	return 0;
}

void cwmp_http_close(cwmp_http *h)
{
	if (!h || h->close_asked)
		return;
	h->close_asked = true;
	if (!h->dispatching)
		teardown(h);
	/* else check_done tears down once done returns */
}
