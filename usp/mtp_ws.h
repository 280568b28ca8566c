/*
 * mtp_ws.h - what the two files of the WebSocket MTP share, and nothing
 * else includes: mtp_ws.c (libwebsockets on the core loop, sessions,
 * Records in and out, keep-alive, the MTP's entry points) and mtp_ws_cfg.c
 * (the configuration: listening sockets for Device.LocalAgent.MTP.{i}, the
 * Controllers of Device.LocalAgent.Controller.{i}.MTP.{j} we dial, and the
 * retry algorithm).
 *
 * TLS (R-WS.22): wss sessions use the agent's certificate and key, and the
 * CA bundle, of usp_options (duetd --tls-cert, --tls-key, --tls-ca).
 */
#ifndef DUET_MTP_WS_H
#define DUET_MTP_WS_H

#include "usp_int.h"

#include <libwebsockets.h>

#define WS_LOG "usp-ws"
#define WS_SUBPROTOCOL "v1.usp" /* R-WS.9 */
#define WS_EXT_NAME "bbf-usp-protocol"
#define WS_KEEPALIVE_DEFAULT 60 /* seconds, the schema's default */
/* The system CA store as one file (Debian's ca-certificates), for what
 * needs a file rather than OpenSSL's hashed directory. */
#define WS_SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

typedef struct ws_mtp ws_mtp;
typedef struct ws_link ws_link;

/* One queued Record, with the room lws writes its frame header into. */
typedef struct ws_msg {
	struct ws_msg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes, then the Record */
} ws_msg;

typedef struct ws_queue {
	ws_msg *head, *tail;
	size_t n;
} ws_queue;

/* A listening socket for one LocalAgent.MTP.{i}: ours, not lws's, so that
 * it closes the moment the configuration says so (lws 4.1 on a foreign
 * loop keeps a destroyed vhost's listener open). Accepted sockets are
 * handed to lws. */
typedef struct ws_listener {
	uv_poll_t poll;
	int fd;
	ws_mtp *m;
	uint32_t mtp_inst;
	unsigned port;
	bool tls;             /* EnableEncryption: wss */
	char path[260];       /* "" accepts any request path */
	unsigned keepalive_s;
	struct ws_listener *next;
} ws_listener;

typedef enum ws_cli_state {
	CLI_IDLE,       /* not trying (not yet asked to) */
	CLI_RESOLVING,  /* looking the Host up */
	CLI_CONNECTING, /* TCP, TLS and the opening handshake */
	CLI_UP,
	CLI_WAIT,       /* waiting out the retry interval */
} ws_cli_state;

/* A Controller MTP we dial: Controller.{ctl_inst}.MTP.{mtp_inst}.WebSocket. */
typedef struct ws_client {
	ws_mtp *m;
	uint32_t ctl_inst, mtp_inst;
	char endpoint_id[USP_ENDPOINT_MAX];
	char host[257];
	unsigned port;
	char path[512];
	bool tls;
	unsigned keepalive_s, retry_min_s, retry_mult;
	unsigned retry_count; /* R-WS.20: back to 0 once a session is up */
	ws_cli_state state;
	struct ws_resolve *resolve;
	core_timer *retry;
	ws_link *link;        /* the attempt or the session */
	ws_queue pending;     /* send_to before the session is up */
	bool keep;
	struct ws_client *next;
} ws_client;

/* One connection, accepted or dialled. Freed at LWS_CALLBACK_WSI_DESTROY,
 * the last callback lws makes for it. */
struct ws_link {
	usp_conn conn;
	ws_mtp *m;
	struct lws *wsi;
	ws_listener *lsn;      /* accepted: its listener (NULL once removed) */
	ws_client *cli;        /* dialled: its target (NULL once removed) */
	bool established;
	bool announced;        /* usp_conn_up was called */
	bool ended;            /* ws_link_end ran */
	bool in_setup;         /* inside lws_client_connect_via_info */
	bool destroyed;        /* lws destroyed the wsi during that call */
	bool want_ext;         /* the client offered bbf-usp-protocol */
	bool in_rx;            /* inside its receive callback */
	bool close_due;        /* a Close frame after the queued Records */
	bool kill_due;         /* drop without a Close frame */
	bool ping_due, ping_out, rx_seen, in_msg;
	unsigned keepalive_s;
	core_timer *ping;
	ws_queue q;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	ws_link *prev, *next;
};

struct ws_mtp {
	usp_mtp base;
	usp_agent *agent;
	core_loop *loop;
	struct lws_context *ctx;
	struct lws_vhost *server_vh;     /* sessions our listeners accepted */
	struct lws_vhost *server_tls_vh; /* the same over TLS, made when first needed */
	struct lws_vhost *client_vh;     /* ws:// sessions we dial */
	struct lws_vhost *client_tls_vh; /* wss://, made when first needed */
	ws_listener *listeners;
	ws_client *clients;
	ws_link *links;
	core_timer *deferred;  /* work asked for inside an lws callback */
	unsigned in_cb;        /* depth of our calls lws may call back into */
	unsigned open_handles; /* listener handles not yet closed */
	uint32_t max_msg;
	bool reconfigure_due, links_due, stopped;
};

/* mtp_ws.c */
ws_msg *ws_msg_new(const uint8_t *rec, size_t len);
void ws_queue_push(ws_queue *q, ws_msg *msg);
ws_msg *ws_queue_pop(ws_queue *q);
void ws_queue_free(ws_queue *q);
ws_link *ws_link_new(ws_mtp *m);
/* For a link lws never took (setup failed): no callback will free it. */
void ws_link_discard(ws_link *l);
/* Close with a Close frame once the queued Records are out (code, reason). */
void ws_link_close(ws_link *l, uint16_t code, const char *reason);
/* The same after a DisconnectRecord, for a session the configuration drops. */
void ws_link_retire(ws_link *l, const char *reason);
struct lws_vhost *ws_client_vhost(ws_mtp *m, bool tls);
/* The vhost wss listeners hand their sockets to; NULL when it cannot be
 * made (no usable certificate and key). */
struct lws_vhost *ws_server_tls_vhost(ws_mtp *m);
/* Free m once stopped and nothing refers to it any more. */
void ws_maybe_free(ws_mtp *m);

/* mtp_ws_cfg.c */
int ws_apply_config(ws_mtp *m);
void ws_client_start(ws_client *c);
/* A session or an attempt ended: schedule the next try (R-WS.19). */
void ws_client_failed(ws_client *c);
void ws_client_remove(ws_client *c);
void ws_listener_close(ws_listener *ls);

#endif /* DUET_MTP_WS_H */
