/*
 * http.h - the HTTP(S) client of one CWMP session: libcurl's multi-socket
 * interface driven by the core loop, one connection reused for every POST
 * of the session, cookies kept for that session only (TR-069 3.4.2),
 * Digest (Basic too over TLS) with ManagementServer.Username/Password.
 * Nothing here knows SOAP; the session hands bodies in and gets bodies back.
 */
#ifndef DUET_CWMP_HTTP_H
#define DUET_CWMP_HTTP_H

#include <stddef.h>

#include "core.h"

typedef struct cwmp_http cwmp_http;

/* What one session's connection uses; strings are copied. */
typedef struct cwmp_http_opts {
	const char *url;      /* the ACS URL, http: or https: */
	const char *username; /* NULL or "": no HTTP authentication */
	const char *password;
	const char *tls_ca;   /* NULL: the system store */
	const char *tls_cert; /* client certificate and key, or NULL */
	const char *tls_key;
	long timeout_ms;      /* per request; 0: 30 s */
} cwmp_http_opts;

/* The outcome of one POST. status 0 means no HTTP answer at all (connection
 * refused, TLS failure, timeout): error says why. body is valid during the
 * callback only and may be empty. */
typedef struct cwmp_http_result {
	long status;
	const char *body;
	size_t body_len;
	const char *error; /* "" when the exchange itself went well */
} cwmp_http_result;

typedef void (*cwmp_http_done_fn)(void *ctx, const cwmp_http_result *r);

/* Once per process before any other call, and its counterpart at the end
 * (libcurl's global state; counted, so nested pairs are fine). */
int cwmp_http_global_init(void);
void cwmp_http_global_cleanup(void);

/* A fresh connection state for a new session (no cookies, no
 * authentication state). 0, DM_ERR_NOMEM or DM_ERR_INVALID_ARG. */
int cwmp_http_open(core_loop *loop, const cwmp_http_opts *o, cwmp_http **out);

/*
 * POST body (len 0: the empty POST, Content-Length 0, no SOAPAction) and
 * call done once with the result, always from the loop and never before
 * this returns. One POST at a time: DM_ERR_TXN_STATE while one is running.
 * The body is copied. 0 or a negative dm_err (done is then never called).
 */
int cwmp_http_post(cwmp_http *h, const char *body, size_t len, cwmp_http_done_fn done, void *ctx);

/* Abort whatever runs (done is not called) and free; the connection is
 * closed. Safe on NULL and from inside done. */
void cwmp_http_close(cwmp_http *h);

#endif
