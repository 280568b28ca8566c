/*
 * test_record.c - USP Records (usp/record.c): round trips of every Record
 * kind we build, decoding of garbage, truncated and mutated bytes (no crash,
 * no leak under valgrind), over-long identifiers, every receive rule of
 * usp_record_check's table, the parse-failure actions per MTP and the
 * R-MTP.5 / R-E2E.6a answers. Records the agent never builds (session
 * context, TLS12, unknown enums) are packed here straight with protobuf-c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "usp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_ID "os::012345-SN0001"
#define CTL_ID "self::ctl-1"

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

/* A small valid request Msg (Get with msg_id "m-1"), packed. */
static uint8_t *get_request(size_t *len)
{
	Usp__Msg msg = USP__MSG__INIT;
	Usp__Header hdr = USP__HEADER__INIT;
	Usp__Body body = USP__BODY__INIT;
	Usp__Request req = USP__REQUEST__INIT;
	Usp__Get get = USP__GET__INIT;
	char *paths[] = {"Device.DeviceInfo."};

	hdr.msg_id = "m-1";
	hdr.msg_type = USP__HEADER__MSG_TYPE__GET;
	get.n_param_paths = 1;
	get.param_paths = paths;
	req.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	req.get = &get;
	body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	body.request = &req;
	msg.header = &hdr;
	msg.body = &body;
	*len = usp__msg__get_packed_size(&msg);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	usp__msg__pack(&msg, buf);
	return buf;
}

/* A NotifyResp Msg: a response, which R-MTP.5 never answers. */
static uint8_t *notify_resp(size_t *len)
{
	Usp__Msg msg = USP__MSG__INIT;
	Usp__Header hdr = USP__HEADER__INIT;
	Usp__Body body = USP__BODY__INIT;
	Usp__Response resp = USP__RESPONSE__INIT;
	Usp__NotifyResp nr = USP__NOTIFY_RESP__INIT;

	hdr.msg_id = "n-1";
	hdr.msg_type = USP__HEADER__MSG_TYPE__NOTIFY_RESP;
	nr.subscription_id = "sub";
	resp.resp_type_case = USP__RESPONSE__RESP_TYPE_NOTIFY_RESP;
	resp.notify_resp = &nr;
	body.msg_body_case = USP__BODY__MSG_BODY_RESPONSE;
	body.response = &resp;
	msg.header = &hdr;
	msg.body = &body;
	*len = usp__msg__get_packed_size(&msg);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	usp__msg__pack(&msg, buf);
	return buf;
}

/* Every part of a hand-made Record; raw_init() links none of them. */
typedef struct raw {
	UspRecord__Record rec;
	UspRecord__NoSessionContextRecord nsc;
	UspRecord__SessionContextRecord sc;
	UspRecord__WebSocketConnectRecord ws;
	UspRecord__MQTTConnectRecord mqtt;
	UspRecord__STOMPConnectRecord stomp;
	UspRecord__DisconnectRecord disc;
	UspRecord__UDSConnectRecord uds;
} raw;

static void raw_init(raw *r, const char *version, const char *to, const char *from)
{
	UspRecord__Record rec = USP_RECORD__RECORD__INIT;
	UspRecord__NoSessionContextRecord nsc = USP_RECORD__NO_SESSION_CONTEXT_RECORD__INIT;
	UspRecord__SessionContextRecord sc = USP_RECORD__SESSION_CONTEXT_RECORD__INIT;
	UspRecord__WebSocketConnectRecord ws = USP_RECORD__WEB_SOCKET_CONNECT_RECORD__INIT;
	UspRecord__MQTTConnectRecord mqtt = USP_RECORD__MQTTCONNECT_RECORD__INIT;
	UspRecord__STOMPConnectRecord stomp = USP_RECORD__STOMPCONNECT_RECORD__INIT;
	UspRecord__DisconnectRecord disc = USP_RECORD__DISCONNECT_RECORD__INIT;
	UspRecord__UDSConnectRecord uds = USP_RECORD__UDSCONNECT_RECORD__INIT;

	r->rec = rec;
	r->nsc = nsc;
	r->sc = sc;
	r->ws = ws;
	r->mqtt = mqtt;
	r->stomp = stomp;
	r->disc = disc;
	r->uds = uds;
	r->rec.version = (char *)version;
	r->rec.to_id = (char *)to;
	r->rec.from_id = (char *)from;
}

static void raw_no_session(raw *r, const uint8_t *payload, size_t len)
{
	r->nsc.payload.data = (uint8_t *)payload;
	r->nsc.payload.len = len;
	r->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_NO_SESSION_CONTEXT;
	r->rec.no_session_context = &r->nsc;
}

static uint8_t *raw_pack(const raw *r, size_t *len)
{
	*len = usp_record__record__get_packed_size(&r->rec);
	uint8_t *buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	usp_record__record__pack(&r->rec, buf);
	return buf;
}

/* Parse bytes we own, then free them (the record keeps its own copy). */
static int parse_owned(uint8_t *buf, size_t len, usp_record *out)
{
	int rc = usp_record_parse(buf, len, out);
	free(buf);
	return rc;
}

static int pack_parse(const raw *w, usp_record *out)
{
	size_t len;
	uint8_t *buf = raw_pack(w, &len);
	return parse_owned(buf, len, out);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------- */

static void test_round_trip_every_kind(void **state)
{
	size_t msg_len;
	uint8_t *msg = get_request(&msg_len);
	static const struct {
		usp_rec_kind kind;
		bool mqtt_v5;
		const char *topic;
		const char *reason;
		uint32_t code;
	} cases[] = {
		{USP_REC_NO_SESSION, false, NULL, NULL, 0},
		{USP_REC_WEBSOCKET_CONNECT, false, NULL, NULL, 0},
		{USP_REC_MQTT_CONNECT, false, "usp/agent/reply", NULL, 0},
		{USP_REC_MQTT_CONNECT, true, "usp/agent/v5", NULL, 0},
		{USP_REC_STOMP_CONNECT, false, "/usp/agent", NULL, 0},
		{USP_REC_DISCONNECT, false, NULL, "Session Context not allowed", USP_ERR_SESSION_CONTEXT_NOT_ALLOWED},
		{USP_REC_DISCONNECT, false, NULL, NULL, 0},
		{USP_REC_UDS_CONNECT, false, NULL, NULL, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		usp_record_out o = {.kind = cases[i].kind,
				    .to_id = CTL_ID,
				    .from_id = AGENT_ID,
				    .payload = msg,
				    .payload_len = msg_len,
				    .mqtt_v5 = cases[i].mqtt_v5,
				    .subscribed_topic = cases[i].topic,
				    .reason = cases[i].reason,
				    .reason_code = cases[i].code};
		uint8_t *buf;
		size_t len;
		usp_record r;

		assert_int_equal(usp_record_build(&o, &buf, &len), 0);
		assert_int_equal(parse_owned(buf, len, &r), 0);
		assert_int_equal(r.kind, cases[i].kind);
		assert_string_equal(r.version, USP_VERSION);
		assert_string_equal(r.to_id, CTL_ID);
		assert_string_equal(r.from_id, AGENT_ID);
		assert_true(r.plaintext);
		assert_non_null(r.pb);
		if (cases[i].kind == USP_REC_NO_SESSION) {
			assert_int_equal(r.payload_len, msg_len);
			assert_memory_equal(r.payload, msg, msg_len);
		} else {
			assert_null(r.payload);
		}
		if (cases[i].topic)
			assert_string_equal(r.subscribed_topic, cases[i].topic);
		assert_int_equal(r.mqtt_v5, cases[i].mqtt_v5);
		assert_string_equal(r.reason, cases[i].reason ? cases[i].reason : "");
		assert_int_equal(r.reason_code, cases[i].code);
		usp_record_free(&r);
		assert_null(r.pb);
		usp_record_free(&r); /* twice is harmless */
	}
	free(msg);
}

static void test_build_refuses_what_it_cannot_send(void **state)
{
	uint8_t one = 1;
	char *long_id = repeat('a', USP_ENDPOINT_MAX);
	static const char ctl_id[] = "self::a\nb";
	const struct {
		usp_record_out o;
		int rc;
	} cases[] = {
		{{.kind = USP_REC_SESSION, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_NOT_SUPPORTED},
		{{.kind = USP_REC_NONE, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_NOT_SUPPORTED},
		{{.kind = (usp_rec_kind)99, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_NOT_SUPPORTED},
		{{.kind = USP_REC_NO_SESSION, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_NO_SESSION, .to_id = CTL_ID, .from_id = AGENT_ID, .payload = &one}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_MQTT_CONNECT, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_MQTT_CONNECT, .to_id = CTL_ID, .from_id = AGENT_ID, .subscribed_topic = ""},
		 DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_STOMP_CONNECT, .to_id = CTL_ID, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = NULL, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = "", .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = CTL_ID, .from_id = ""}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = long_id, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = CTL_ID, .from_id = long_id}, DM_ERR_INVALID_ARG},
		{{.kind = USP_REC_WEBSOCKET_CONNECT, .to_id = ctl_id, .from_id = AGENT_ID}, DM_ERR_INVALID_ARG},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *buf = (uint8_t *)"x";
		size_t len = 7;

		assert_int_equal(usp_record_build(&cases[i].o, &buf, &len), cases[i].rc);
		assert_null(buf);
		assert_int_equal(len, 0);
	}
	uint8_t *buf;
	size_t len;
	assert_int_equal(usp_record_build(NULL, &buf, &len), DM_ERR_INVALID_ARG);
	assert_int_equal(usp_record_build(&cases[0].o, NULL, &len), DM_ERR_INVALID_ARG);
	assert_int_equal(usp_record_build(&cases[0].o, &buf, NULL), DM_ERR_INVALID_ARG);
	free(long_id);
}

/* ---------------------------------------------------------------------------
 * Decoding bad input
 * ------------------------------------------------------------------------- */

static void test_garbage_is_not_a_record(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{"", 0},
		{"\xff", 1},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11}, /* over-long varint */
		{"\x0a\x10" "1.4", 5},				       /* length beyond the end */
		{"\x07", 1},					       /* wire type 7 does not exist */
		{"GET / HTTP/1.1\r\n", 16},
		{"\x62\x03\x0a\x01", 4}, /* disconnect whose body is cut */
	};
	usp_record r;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&r, 0x5a, sizeof r);
		assert_int_equal(usp_record_parse((const uint8_t *)cases[i].bytes, cases[i].len, &r),
				 USP_ERR_RECORD_NOT_PARSED);
		assert_null(r.pb);
		assert_int_equal(r.kind, USP_REC_NONE);
		usp_record_free(&r);
	}
	assert_int_equal(usp_record_parse(NULL, 10, &r), USP_ERR_RECORD_NOT_PARSED);
	assert_int_equal(usp_record_parse((const uint8_t *)"x", 1, NULL), USP_ERR_RECORD_NOT_PARSED);
	usp_record_free(NULL);
}

static void test_truncated_records(void **state)
{
	size_t msg_len, len;
	uint8_t *msg = get_request(&msg_len);
	usp_record_out o = {.kind = USP_REC_NO_SESSION,
			    .to_id = AGENT_ID,
			    .from_id = CTL_ID,
			    .payload = msg,
			    .payload_len = msg_len};
	uint8_t *buf;
	usp_record r;

	assert_int_equal(usp_record_build(&o, &buf, &len), 0);
	/* Records are packed in field order and the payload comes last, so
	 * every strict prefix either cuts a field or lacks the record_type. */
	for (size_t cut = 0; cut < len; cut++) {
		int rc = usp_record_parse(buf, cut, &r);
		assert_true(rc == USP_ERR_RECORD_NOT_PARSED || rc == USP_ERR_INVALID_RECORD_VALUE);
		assert_null(r.pb);
	}
	assert_int_equal(usp_record_parse(buf, len, &r), 0);
	usp_record_free(&r);
	free(buf);
	free(msg);
}

/* Decodable Records that are unusable: usp_record_parse says 7104. */
static void test_missing_and_bad_fields(void **state)
{
	char *ok_id = repeat('b', USP_ENDPOINT_MAX - 1);
	char *long_id = repeat('b', USP_ENDPOINT_MAX);
	static const uint8_t payload[] = {1, 2, 3};
	const struct {
		const char *version, *to, *from;
		bool typed;
		int rc;
	} cases[] = {
		{"1.4", AGENT_ID, CTL_ID, true, 0},
		{"1.4", AGENT_ID, CTL_ID, false, USP_ERR_INVALID_RECORD_VALUE}, /* no record_type */
		{"", AGENT_ID, CTL_ID, true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", "", CTL_ID, true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", AGENT_ID, "", true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", ok_id, ok_id, true, 0},
		{"1.4", long_id, CTL_ID, true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", AGENT_ID, long_id, true, USP_ERR_INVALID_RECORD_VALUE},
		{"123456789012345", AGENT_ID, CTL_ID, true, 0}, /* fits; usp_record_check judges it */
		{"1234567890123456", AGENT_ID, CTL_ID, true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", "os::a\tb", CTL_ID, true, USP_ERR_INVALID_RECORD_VALUE},
		{"1.4", AGENT_ID, "self::\x7f", true, USP_ERR_INVALID_RECORD_VALUE},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		raw w;
		size_t len;
		usp_record r;

		raw_init(&w, cases[i].version, cases[i].to, cases[i].from);
		if (cases[i].typed)
			raw_no_session(&w, payload, sizeof payload);
		uint8_t *buf = raw_pack(&w, &len);
		int rc = parse_owned(buf, len, &r);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(r.to_id, cases[i].to);
			assert_string_equal(r.from_id, cases[i].from);
			assert_string_equal(r.version, cases[i].version);
		} else {
			assert_null(r.pb);
		}
		usp_record_free(&r);
	}
	free(ok_id);
	free(long_id);
}

static void test_connect_and_disconnect_fields(void **state)
{
	char *long_topic = repeat('t', 512);
	char *ok_topic = repeat('t', 511);
	char *long_reason = repeat('r', 1000);
	raw w;
	usp_record r;

	/* Topic: kept whole or refused, never cut. */
	raw_init(&w, "1.4", AGENT_ID, CTL_ID);
	w.mqtt.subscribed_topic = ok_topic;
	w.mqtt.version = USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V5;
	w.rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_MQTT_CONNECT;
	w.rec.mqtt_connect = &w.mqtt;
	assert_int_equal(pack_parse(&w, &r), 0);
	assert_string_equal(r.subscribed_topic, ok_topic);
	assert_true(r.mqtt_v5);
	usp_record_free(&r);
	w.mqtt.subscribed_topic = long_topic;
	assert_int_equal(pack_parse(&w, &r), USP_ERR_INVALID_RECORD_VALUE);
	w.rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_STOMP_CONNECT;
	w.rec.stomp_connect = &w.stomp;
	w.stomp.subscribed_destination = long_topic;
	assert_int_equal(pack_parse(&w, &r), USP_ERR_INVALID_RECORD_VALUE);
	w.stomp.subscribed_destination = "/dest";
	assert_int_equal(pack_parse(&w, &r), 0);
	assert_int_equal(r.kind, USP_REC_STOMP_CONNECT);
	assert_string_equal(r.subscribed_topic, "/dest");
	usp_record_free(&r);

	/* A reason is only for logs: cut to fit. */
	w.rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_DISCONNECT;
	w.rec.disconnect = &w.disc;
	w.disc.reason = long_reason;
	w.disc.reason_code = 7105;
	assert_int_equal(pack_parse(&w, &r), 0);
	assert_int_equal(strlen(r.reason), sizeof r.reason - 1);
	assert_int_equal(r.reason_code, 7105);
	usp_record_free(&r);

	/* Session context and empty connect records decode. */
	w.rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_SESSION_CONTEXT;
	w.rec.session_context = &w.sc;
	w.sc.session_id = 5;
	assert_int_equal(pack_parse(&w, &r), 0);
	assert_int_equal(r.kind, USP_REC_SESSION);
	usp_record_free(&r);
	free(long_topic);
	free(ok_topic);
	free(long_reason);
}

/* A record_type from a later USP version is an unknown field to us. */
static void test_unknown_record_type(void **state)
{
	static const uint8_t rec[] = {
		0x0a, 0x03, '1', '.', '9', 0x12, 0x01, 'a', 0x1a, 0x01, 'b', 0x72, 0x00, /* field 14, empty */
	};
	usp_record r;

	assert_int_equal(usp_record_parse(rec, sizeof rec, &r), USP_ERR_INVALID_RECORD_VALUE);
	assert_null(r.pb);
}

/* ---------------------------------------------------------------------------
 * Receive rules
 * ------------------------------------------------------------------------- */

enum shape { NO_SESSION, NO_SESSION_EMPTY, SESSION, WS, MQTT, MQTT_BAD, STOMP, DISCONNECT, UDS };

static void shape(raw *w, enum shape s, const uint8_t *payload, size_t len)
{
	switch (s) {
	case NO_SESSION:
		raw_no_session(w, payload, len);
		break;
	case NO_SESSION_EMPTY:
		raw_no_session(w, NULL, 0);
		break;
	case SESSION:
		w->sc.session_id = 2;
		w->sc.sequence_id = 1;
		w->sc.expected_id = 1;
		w->sc.n_payload = 1;
		w->sc.payload = &w->nsc.payload;
		w->nsc.payload.data = (uint8_t *)payload;
		w->nsc.payload.len = len;
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_SESSION_CONTEXT;
		w->rec.session_context = &w->sc;
		break;
	case WS:
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_WEBSOCKET_CONNECT;
		w->rec.websocket_connect = &w->ws;
		break;
	case MQTT:
	case MQTT_BAD:
		w->mqtt.subscribed_topic = "usp/ctl";
		w->mqtt.version = s == MQTT ? USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V5
					    : (UspRecord__MQTTConnectRecord__MQTTVersion)7;
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_MQTT_CONNECT;
		w->rec.mqtt_connect = &w->mqtt;
		break;
	case STOMP:
		w->stomp.subscribed_destination = "/ctl";
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_STOMP_CONNECT;
		w->rec.stomp_connect = &w->stomp;
		break;
	case DISCONNECT:
		w->disc.reason = "bye";
		w->disc.reason_code = 7105;
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_DISCONNECT;
		w->rec.disconnect = &w->disc;
		break;
	case UDS:
		w->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_UDS_CONNECT;
		w->rec.uds_connect = &w->uds;
		break;
	}
}

static const struct check_case {
	const char *name;
	const char *version, *to, *from;
	int security; /* payload_security on the wire */
	bool signed_;
	enum shape shape;
	int action;
	uint32_t code;
} check_cases[] = {
	{"plain request", "1.4", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ACCEPT, 0},
	{"older version", "1.0", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ACCEPT, 0},
	{"newer version", "1.7", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ACCEPT, 0},
	{"next major", "2.0", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ACCEPT, 0},
	{"signed, not verified", "1.4", AGENT_ID, CTL_ID, 0, true, NO_SESSION, USP_REC_ACCEPT, 0},
	{"R-E2E.1 other to_id", "1.4", "os::someone-else", CTL_ID, 0, false, NO_SESSION, USP_REC_DROP, 7104},
	{"R-E2E.1 prefix of ours", "1.4", "os::012345-SN000", CTL_ID, 0, false, NO_SESSION, USP_REC_DROP, 7104},
	{"R-E2E.1 wins over session", "1.4", "os::x", CTL_ID, 0, false, SESSION, USP_REC_DROP, 7104},
	{"R-ARC.2 from ourselves", "1.4", AGENT_ID, AGENT_ID, 0, false, NO_SESSION, USP_REC_DROP, 7104},
	{"R-ENC.2 unknown security", "1.4", AGENT_ID, CTL_ID, 9, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version word", "1.4beta", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version one number", "1", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version three numbers", "1.4.1", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version zero major", "0.9", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version no minor", "1.", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version no major", ".4", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"version huge", "99999.1", AGENT_ID, CTL_ID, 0, false, NO_SESSION, USP_REC_ERROR_RECORD, 7104},
	{"R-E2E.6a session context", "1.4", AGENT_ID, CTL_ID, 0, false, SESSION, USP_REC_ERROR_RECORD, 7106},
	{"R-E2E.6a session with TLS12", "1.4", AGENT_ID, CTL_ID, 1, false, SESSION, USP_REC_ERROR_RECORD, 7106},
	{"R-E2E.41 TLS12 without session", "1.4", AGENT_ID, CTL_ID, 1, false, NO_SESSION, USP_REC_ERROR_RECORD, 7102},
	{"R-E2E.26 empty payload", "1.4", AGENT_ID, CTL_ID, 0, false, NO_SESSION_EMPTY, USP_REC_DROP, 7104},
	{"R-MTP.8 websocket connect", "1.4", AGENT_ID, CTL_ID, 0, false, WS, USP_REC_ACCEPT, 0},
	{"R-MTP.8 mqtt connect", "1.4", AGENT_ID, CTL_ID, 0, false, MQTT, USP_REC_ACCEPT, 0},
	{"R-ENC.2 mqtt version", "1.4", AGENT_ID, CTL_ID, 0, false, MQTT_BAD, USP_REC_DROP, 7104},
	{"R-MTP.8 stomp connect", "1.4", AGENT_ID, CTL_ID, 0, false, STOMP, USP_REC_ACCEPT, 0},
	{"R-MTP.8 uds connect", "1.4", AGENT_ID, CTL_ID, 0, false, UDS, USP_REC_ACCEPT, 0},
	{"R-MTP.7 disconnect", "1.4", AGENT_ID, CTL_ID, 0, false, DISCONNECT, USP_REC_ACCEPT, 0},
};

static void test_check_rules(void **state)
{
	size_t msg_len;
	uint8_t *msg = get_request(&msg_len);
	static const uint8_t sig[] = {0x30, 0x44, 0x02};

	for (size_t i = 0; i < sizeof check_cases / sizeof check_cases[0]; i++) {
		const struct check_case *c = &check_cases[i];
		raw w;
		usp_record r;
		uint32_t code = 1;
		const char *why = NULL;

		raw_init(&w, c->version, c->to, c->from);
		w.rec.payload_security = (UspRecord__Record__PayloadSecurity)c->security;
		if (c->signed_) {
			w.rec.mac_signature.data = (uint8_t *)sig;
			w.rec.mac_signature.len = sizeof sig;
			w.rec.sender_cert.data = (uint8_t *)"-----BEGIN CERTIFICATE-----";
			w.rec.sender_cert.len = 27;
		}
		shape(&w, c->shape, msg, msg_len);
		int rc = pack_parse(&w, &r);
		if (rc != 0)
			fail_msg("%s: parse %d", c->name, rc);
		int action = usp_record_check(&r, AGENT_ID, &code, &why);
		if (action != c->action || code != c->code)
			fail_msg("%s: action %d code %u (%s), want %d %u", c->name, action, code, why, c->action,
				 c->code);
		assert_non_null(why);
		assert_true(c->action == USP_REC_ACCEPT || why[0]);
		assert_int_equal(usp_record_check(&r, AGENT_ID, NULL, NULL), c->action);
		usp_record_free(&r);
	}
	free(msg);
}

static void test_check_refuses_what_is_not_a_record(void **state)
{
	usp_record r;
	uint32_t code;
	const char *why;

	memset(&r, 0, sizeof r);
	assert_int_equal(usp_record_check(NULL, AGENT_ID, &code, &why), USP_REC_DROP);
	assert_int_equal(usp_record_check(&r, AGENT_ID, &code, &why), USP_REC_DROP);
	assert_int_equal(code, USP_ERR_INVALID_RECORD_VALUE);
}

static void test_parse_failure_actions(void **state)
{
	static const struct {
		int status;
		usp_mtp_kind mtp;
		int action;
	} cases[] = {
		{0, USP_MTP_WEBSOCKET, USP_REC_ACCEPT},
		{USP_ERR_RECORD_NOT_PARSED, USP_MTP_WEBSOCKET, USP_REC_CLOSE},
		{USP_ERR_RECORD_NOT_PARSED, USP_MTP_UDS, USP_REC_CLOSE},
		{USP_ERR_RECORD_NOT_PARSED, USP_MTP_MQTT, USP_REC_DROP},
		{USP_ERR_INVALID_RECORD_VALUE, USP_MTP_WEBSOCKET, USP_REC_DROP},
		{USP_ERR_INVALID_RECORD_VALUE, USP_MTP_UDS, USP_REC_DROP},
		{USP_ERR_INVALID_RECORD_VALUE, USP_MTP_MQTT, USP_REC_DROP},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(usp_record_parse_action(cases[i].status, cases[i].mtp), cases[i].action);
}

/* ---------------------------------------------------------------------------
 * Answers (R-MTP.5, R-E2E.6a)
 * ------------------------------------------------------------------------- */

static void parse_raw(raw *w, usp_record *r)
{
	assert_int_equal(pack_parse(w, r), 0);
}

static void test_answer_session_context_with_disconnect(void **state)
{
	raw w;
	usp_record r, ans;
	uint8_t *out;
	size_t len;
	uint32_t code;
	const char *why;

	raw_init(&w, "1.4", AGENT_ID, CTL_ID);
	shape(&w, SESSION, (const uint8_t *)"tls", 3);
	parse_raw(&w, &r);
	assert_int_equal(usp_record_check(&r, AGENT_ID, &code, &why), USP_REC_ERROR_RECORD);
	assert_int_equal(usp_record_error_answer(&r, AGENT_ID, code, why, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(usp_record_parse(out, len, &ans), 0);
	free(out);
	assert_int_equal(ans.kind, USP_REC_DISCONNECT);
	assert_string_equal(ans.to_id, CTL_ID);
	assert_string_equal(ans.from_id, AGENT_ID);
	assert_int_equal(ans.reason_code, USP_ERR_SESSION_CONTEXT_NOT_ALLOWED);
	assert_string_equal(ans.reason, why);
	usp_record_free(&ans);
	usp_record_free(&r);
}

static void test_answer_request_with_error_msg(void **state)
{
	size_t msg_len, len;
	uint8_t *msg = get_request(&msg_len);
	raw w;
	usp_record r, ans;
	uint8_t *out;
	uint32_t code;
	const char *why;

	raw_init(&w, "1.4x", AGENT_ID, CTL_ID);
	raw_no_session(&w, msg, msg_len);
	parse_raw(&w, &r);
	assert_int_equal(usp_record_check(&r, AGENT_ID, &code, &why), USP_REC_ERROR_RECORD);
	assert_int_equal(usp_record_error_answer(&r, AGENT_ID, code, why, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(usp_record_parse(out, len, &ans), 0);
	free(out);
	assert_int_equal(ans.kind, USP_REC_NO_SESSION);
	assert_string_equal(ans.to_id, CTL_ID);
	assert_string_equal(ans.version, USP_VERSION);
	Usp__Msg *m = usp__msg__unpack(NULL, ans.payload_len, ans.payload);
	assert_non_null(m);
	assert_string_equal(m->header->msg_id, "m-1");
	assert_int_equal(m->header->msg_type, USP__HEADER__MSG_TYPE__ERROR);
	assert_int_equal(m->body->msg_body_case, USP__BODY__MSG_BODY_ERROR);
	assert_int_equal(m->body->error->err_code, USP_ERR_INVALID_RECORD_VALUE);
	assert_string_equal(m->body->error->err_msg, why);
	usp__msg__free_unpacked(m, NULL);
	usp_record_free(&ans);

	/* A NULL why still gives a reason. */
	assert_int_equal(usp_record_error_answer(&r, AGENT_ID, code, NULL, &out, &len), 0);
	assert_non_null(out);
	free(out);
	usp_record_free(&r);
	free(msg);
}

/* R-MTP.5: no request, no msg_id, not for us -> no answer at all. */
static void test_no_answer_when_mtp5_forbids(void **state)
{
	size_t req_len, resp_len;
	uint8_t *req = get_request(&req_len);
	uint8_t *resp = notify_resp(&resp_len);
	static const uint8_t garbled[] = {0xff, 0xff, 0xff};
	const struct {
		const char *to, *from;
		enum shape shape;
		const uint8_t *payload;
		size_t len;
	} cases[] = {
		{AGENT_ID, CTL_ID, NO_SESSION, resp, resp_len},
		{AGENT_ID, CTL_ID, NO_SESSION, garbled, sizeof garbled},
		{AGENT_ID, CTL_ID, NO_SESSION_EMPTY, NULL, 0},
		{AGENT_ID, CTL_ID, WS, NULL, 0},
		{"os::other", CTL_ID, NO_SESSION, req, req_len},
		{"os::other", CTL_ID, SESSION, req, req_len},
		{AGENT_ID, AGENT_ID, NO_SESSION, req, req_len},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		raw w;
		usp_record r;
		uint8_t *out = (uint8_t *)"x";
		size_t len = 3;

		raw_init(&w, "1.4", cases[i].to, cases[i].from);
		shape(&w, cases[i].shape, cases[i].payload, cases[i].len);
		parse_raw(&w, &r);
		uint32_t code = cases[i].shape == SESSION ? USP_ERR_SESSION_CONTEXT_NOT_ALLOWED
							 : USP_ERR_INVALID_RECORD_VALUE;
		assert_int_equal(usp_record_error_answer(&r, AGENT_ID, code, "x", &out, &len), 0);
		assert_null(out);
		assert_int_equal(len, 0);
		usp_record_free(&r);
	}
	uint8_t *out;
	size_t len;
	assert_int_equal(usp_record_error_answer(NULL, AGENT_ID, 7104, "x", &out, &len), DM_ERR_INVALID_ARG);
	assert_int_equal(usp_record_error_answer(NULL, AGENT_ID, 7104, "x", NULL, &len), DM_ERR_INVALID_ARG);
	free(req);
	free(resp);
}

/* ---------------------------------------------------------------------------
 * Mutation loop: whatever the bytes, parse/check/answer/free stay sane.
 * ------------------------------------------------------------------------- */

static uint32_t rnd_state = 0x2545f491u;

static uint32_t rnd(void)
{
	/* xorshift32: deterministic, so a failure replays. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	unsigned n = 1 + rnd() % 4;

	for (unsigned k = 0; k < n; k++) {
		switch (rnd() % 5) {
		case 0: /* flip a bit */
			if (len)
				buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* random byte */
			if (len)
				buf[rnd() % len] = (uint8_t)rnd();
			break;
		case 2: /* truncate */
			if (len)
				len = rnd() % len;
			break;
		case 3: /* insert a byte */
			if (len < cap) {
				size_t at = len ? rnd() % (len + 1) : 0;
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)rnd();
				len++;
			}
			break;
		case 4: /* a length-ish value at a random place */
			if (len)
				buf[rnd() % len] = (uint8_t)(0x7f + rnd() % 3);
			break;
		}
	}
	return len;
}

static void test_mutated_records(void **state)
{
	size_t msg_len;
	uint8_t *msg = get_request(&msg_len);
	uint8_t *seeds[5];
	size_t seed_len[5];
	raw w;
	unsigned accepted = 0, parsed = 0;

	usp_record_out o = {.kind = USP_REC_NO_SESSION, .to_id = AGENT_ID, .from_id = CTL_ID, .payload = msg,
			    .payload_len = msg_len};
	assert_int_equal(usp_record_build(&o, &seeds[0], &seed_len[0]), 0);
	o.kind = USP_REC_MQTT_CONNECT;
	o.subscribed_topic = "usp/ctl";
	assert_int_equal(usp_record_build(&o, &seeds[1], &seed_len[1]), 0);
	o.kind = USP_REC_DISCONNECT;
	o.reason = "going";
	o.reason_code = 7105;
	assert_int_equal(usp_record_build(&o, &seeds[2], &seed_len[2]), 0);
	raw_init(&w, "1.4", AGENT_ID, CTL_ID);
	shape(&w, SESSION, msg, msg_len);
	seeds[3] = raw_pack(&w, &seed_len[3]);
	raw_init(&w, "1.4", AGENT_ID, CTL_ID);
	w.rec.payload_security = USP_RECORD__RECORD__PAYLOAD_SECURITY__TLS12;
	shape(&w, NO_SESSION, msg, msg_len);
	seeds[4] = raw_pack(&w, &seed_len[4]);

	uint8_t buf[512];
	for (unsigned iter = 0; iter < 40000; iter++) {
		unsigned s = iter % 5;
		usp_record r;
		uint32_t code;
		const char *why;

		assert_true(seed_len[s] <= sizeof buf);
		memcpy(buf, seeds[s], seed_len[s]);
		size_t len = mutate(buf, seed_len[s], sizeof buf);
		int rc = usp_record_parse(buf, len, &r);
		assert_true(rc == 0 || rc == USP_ERR_RECORD_NOT_PARSED || rc == USP_ERR_INVALID_RECORD_VALUE);
		if (rc != 0) {
			assert_null(r.pb);
			continue;
		}
		parsed++;
		assert_true(strlen(r.to_id) < sizeof r.to_id && strlen(r.from_id) < sizeof r.from_id);
		int action = usp_record_check(&r, AGENT_ID, &code, &why);
		assert_true(action >= USP_REC_ACCEPT && action <= USP_REC_CLOSE);
		if (action == USP_REC_ACCEPT)
			accepted++;
		if (action == USP_REC_ERROR_RECORD) {
			uint8_t *out;
			size_t out_len;
			assert_int_equal(usp_record_error_answer(&r, AGENT_ID, code, why, &out, &out_len), 0);
			free(out);
		}
		usp_record_free(&r);
	}
	/* The loop must exercise the accepting paths too, not only rejects. */
	assert_true(parsed > 1000);
	assert_true(accepted > 100);
	for (int i = 0; i < 5; i++)
		free(seeds[i]);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_build_refuses_what_it_cannot_send),
		cmocka_unit_test(test_garbage_is_not_a_record),
		cmocka_unit_test(test_truncated_records),
		cmocka_unit_test(test_missing_and_bad_fields),
		cmocka_unit_test(test_connect_and_disconnect_fields),
		cmocka_unit_test(test_unknown_record_type),
		cmocka_unit_test(test_check_rules),
		cmocka_unit_test(test_check_refuses_what_is_not_a_record),
		cmocka_unit_test(test_parse_failure_actions),
		cmocka_unit_test(test_answer_session_context_with_disconnect),
		cmocka_unit_test(test_answer_request_with_error_msg),
		cmocka_unit_test(test_no_answer_when_mtp5_forbids),
		cmocka_unit_test(test_mutated_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
