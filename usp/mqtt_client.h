/*
 * mqtt_client.h - one MQTT 5.0 or 3.1.1 client connection (libmosquitto)
 * driven from the core loop: asynchronous name lookup and connect, the
 * socket on a uv_poll, keep-alive on a timer, TCP_NODELAY, the connect
 * retry back-off of Device.MQTT.Client.{i}, MQTT over TLS. Knows no USP:
 * mtp_mqtt.c decides what to subscribe to and what a message means.
 *
 * Conventions: 0 or a negative dm_err. Strings in events are valid during
 * the event only. Events may call any function here, including
 * usp_mqtt_client_free (the client then goes when the event returns).
 */
#ifndef DUET_USP_MQTT_CLIENT_H
#define DUET_USP_MQTT_CLIENT_H

#include "core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct usp_mqtt_client usp_mqtt_client;

/* What a connection is made with; the strings are copied. */
typedef struct usp_mqtt_settings {
	const char *host;         /* BrokerAddress: a name or an address */
	uint16_t port;            /* BrokerPort */
	bool v5;                  /* ProtocolVersion 5.0, else 3.1.1 */
	const char *client_id;    /* "" = none: 5.0 lets the server assign one */
	const char *username;     /* "" = none */
	const char *password;     /* "" = none */
	unsigned keepalive;       /* KeepAliveTime, s; 0 = no keep-alive */
	bool clean;               /* CleanStart (5.0) / CleanSession (3.1.1) */
	const char *endpoint_id;  /* 5.0: "usp-endpoint-id" user property; NULL = none */
	bool request_response_info; /* 5.0: Request Response Information = 1 */
	unsigned retry_time;      /* ConnectRetryTime, s (>= 1) */
	unsigned retry_mult;      /* ConnectRetryIntervalMultiplier, in 1/1000 */
	unsigned retry_max;       /* ConnectRetryMaxInterval, s; 0 = no cap */
	const char *name;         /* for log lines ("Device.MQTT.Client.1") */
	/* TransportProtocol TLS: the broker's certificate must chain to a CA
	 * of tls_ca (a PEM bundle; NULL = the system store) and name host;
	 * tls_cert and tls_key (PEM, both or neither) authenticate us when
	 * the broker asks. */
	bool tls;
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
} usp_mqtt_settings;

/* What the server said in its CONNACK. */
typedef struct usp_mqtt_connack {
	const char *assigned_client_id; /* 5.0 Assigned Client Identifier, or NULL */
	const char *response_info;      /* 5.0 Response Information, or NULL */
	char **subscribe_topics;        /* 5.0 "subscribe-topic" user properties */
	size_t n_subscribe_topics;
	int max_qos;                    /* 5.0 Maximum QoS; 2 when not limited */
	bool retain_available;
} usp_mqtt_connack;

/* One received PUBLISH. */
typedef struct usp_mqtt_msg {
	const char *topic;
	const uint8_t *payload;
	size_t len;
	const char *response_topic; /* 5.0 Response Topic, or NULL */
	const char *content_type;   /* 5.0 Content Type, or NULL */
} usp_mqtt_msg;

typedef struct usp_mqtt_events {
	/* The CONNACK accepted the connection. */
	void (*up)(void *ctx, const usp_mqtt_connack *ack);
	/* Every SUBACK of the last usp_mqtt_client_subscribe is in. */
	void (*subscribed)(void *ctx, size_t n_granted, size_t n_asked);
	void (*message)(void *ctx, const usp_mqtt_msg *m);
	/* The connection or the attempt ended (was_up: after a CONNACK); the
	 * next attempt is scheduled per the retry settings. */
	void (*down)(void *ctx, bool was_up);
} usp_mqtt_events;

/*
 * Create a client and start its first connection attempt at once. ev is
 * copied; ctx is handed to every event. Failed attempts and lost
 * connections (a failed TLS handshake or certificate check included) are
 * retried forever, with the back-off of TR-181
 * MQTT.Client.{i}.ConnectRetryTime (R-MQTT.10, R-MQTT.33).
 */
int usp_mqtt_client_new(core_loop *l, const usp_mqtt_settings *s, const usp_mqtt_events *ev, void *ctx,
			usp_mqtt_client **out);

/* Send DISCONNECT when connected (R-MQTT.35), close, free. NULL is fine. */
void usp_mqtt_client_free(usp_mqtt_client *c);

/* Subscribe to topic filters (one SUBSCRIBE each, so one failure does not
 * sink the others); the subscribed event follows when every SUBACK is in.
 * A connection that got at least one grant resets the retry count. */
int usp_mqtt_client_subscribe(usp_mqtt_client *c, char *const *topics, const int *qos, size_t n);

/*
 * Publish; content_type and response_topic are 5.0 properties (NULL = none,
 * ignored for 3.1.1). DM_ERR_NOT_INSTANTIATED when not connected.
 */
int usp_mqtt_client_publish(usp_mqtt_client *c, const char *topic, const uint8_t *buf, size_t len, int qos,
			    bool retain, const char *content_type, const char *response_topic);

/* Give up on this connection (a protocol rule failed) and enter the retry
 * state, as for a lost connection. */
void usp_mqtt_client_fail(usp_mqtt_client *c, const char *why);

/* Between the CONNACK and the loss of the connection. */
bool usp_mqtt_client_is_up(const usp_mqtt_client *c);

/* Retry n (1-based) waits a random time in [T*k^(n-1), T*k^n] seconds,
 * T = ConnectRetryTime, k = multiplier/1000, n capped at 10, the result
 * capped at ConnectRetryMaxInterval. r in [0,1] picks the point (exposed
 * for tests). Returns milliseconds. */
uint64_t usp_mqtt_retry_delay_ms(unsigned retry_time, unsigned retry_mult, unsigned retry_max, unsigned n,
				 double r);

#endif /* DUET_USP_MQTT_CLIENT_H */
