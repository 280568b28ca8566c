/*
 * record.c - USP Records (proto/usp-record-1-4.proto): decode into a
 * usp_record, encode from a usp_record_out, and the rules an Agent applies to
 * a received Record before its payload goes anywhere. The Msg inside a
 * NoSessionContext payload is msg.c's business, except for the one Error
 * answer R-MTP.5 asks of the Record layer (usp_record_error_answer).
 *
 * Receive rules (TR-369 1.4), first matching row wins. "Error Msg" is a
 * NoSessionContext Record carrying a Msg of type Error for the request's
 * msg_id; R-MTP.5 only allows it when the Record is addressed to us, from a
 * usable from_id, and its payload is a Request whose msg_id can be read -
 * otherwise the Record is ignored.
 *
 *  rule                 Record received                        action         code
 *  -------------------  -------------------------------------  -------------  ----
 *  R-WS.16, R-UDS.23,   bytes do not decode as a Record        CLOSE (WS,     7100
 *  MQTT "Handling                                              UDS), DROP
 *  Errors"                                                     (MQTT)
 *  R-ENC.3, R-ENC.4     no record_type (none, or one unknown   DROP           7104
 *                       to 1.4)
 *  R-MTP.4b, R-MTP.5    version, to_id or from_id missing,     DROP           7104
 *                       over-long or with control characters
 *  R-E2E.1              to_id is not our EndpointID            DROP           7104
 *  R-ARC.2              from_id is our own EndpointID          DROP           7104
 *  R-ENC.2, R-MTP.5     payload_security unknown to 1.4        ERROR_RECORD:  7104
 *                                                              Error Msg
 *  Record Definition    version is not "Major.Minor"           ERROR_RECORD:  7104
 *                                                              Error Msg
 *  R-E2E.6a             session_context (duet has no E2E       ERROR_RECORD:  7106
 *                       Session Context)                       DisconnectRecord
 *  R-E2E.41, 7102       no_session_context with TLS12: E2E     ERROR_RECORD:  7102
 *                       security we do not support             Error Msg (the
 *                                                              payload is
 *                                                              ciphertext, so
 *                                                              in practice none)
 *  R-E2E.26, R-MTP.5    no_session_context, empty payload:     DROP           7104
 *                       no Message to answer
 *  R-ENC.2, R-MTP.5     mqtt_connect with an unknown MQTT      DROP           7104
 *                       version: nothing to answer
 *  Record Definition    version above 1.4                      ACCEPT: what msg.c does not
 *                                                              understand gets 7001
 *  R-MTP.8              websocket/mqtt/stomp/uds_connect       ACCEPT: the peer is present
 *  R-MTP.7              disconnect                             ACCEPT: no E2E state to purge,
 *                                                              the MTP stays up
 *  R-E2E.30 (gap)       mac_signature / sender_cert present    ACCEPT: not verified; duet has
 *                                                              no E2E integrity and relies on
 *                                                              MTP protection (R-E2E.28)
 *  R-MTP.5 (msg.c)      no_session_context, garbled payload    ACCEPT here: usp_msg_handle
 *                                                              answers nothing without msg_id
 *
 * A Record repeating its oneof (R-ENC.3) cannot be told from one carrying the
 * last alternative once protobuf-c has decoded it; that case is accepted.
 */
#include "usp_int.h"

#include <stdlib.h>
#include <string.h>

#define VERSION_MAX 16 /* sizeof usp_record.version */

/* ---------------------------------------------------------------------------
 * Bounded copies
 * ------------------------------------------------------------------------- */

/* Control characters in an identifier end up in logs and topic names; no
 * valid EndpointID (R-ARC.5) or version has them. */
static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Copy a required identifier: non-empty, shorter than cap, printable. */
static int copy_ident(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap) : 0;

	if (n == 0 || n >= cap || has_control_chars(src))
		return USP_ERR_INVALID_RECORD_VALUE;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Copy informational text, cut to fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static bool valid_ident(const char *s, size_t cap)
{
	size_t n = s ? strnlen(s, cap) : 0;

	return n > 0 && n < cap && !has_control_chars(s);
}

/* ---------------------------------------------------------------------------
 * Decode
 * ------------------------------------------------------------------------- */

static int take_payload(const UspRecord__Record *pb, usp_record *out)
{
	const UspRecord__NoSessionContextRecord *nsc = pb->no_session_context;

	out->payload = nsc->payload.data;
	out->payload_len = nsc->payload.data ? nsc->payload.len : 0;
	return 0;
}

static int take_mqtt(const UspRecord__Record *pb, usp_record *out)
{
	const UspRecord__MQTTConnectRecord *m = pb->mqtt_connect;

	out->mqtt_v5 = m->version == USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V5;
	if (m->subscribed_topic && strnlen(m->subscribed_topic, sizeof out->subscribed_topic) >=
					   sizeof out->subscribed_topic)
		return USP_ERR_INVALID_RECORD_VALUE;
	copy_text(out->subscribed_topic, sizeof out->subscribed_topic, m->subscribed_topic);
	return 0;
}

/* STOMP's reply destination shares the subscribed_topic slot. */
static int take_stomp(const UspRecord__Record *pb, usp_record *out)
{
	const UspRecord__STOMPConnectRecord *s = pb->stomp_connect;

	if (s->subscribed_destination && strnlen(s->subscribed_destination, sizeof out->subscribed_topic) >=
						 sizeof out->subscribed_topic)
		return USP_ERR_INVALID_RECORD_VALUE;
	copy_text(out->subscribed_topic, sizeof out->subscribed_topic, s->subscribed_destination);
	return 0;
}

/* The reason is for logs only: cutting it is better than refusing it. */
static int take_disconnect(const UspRecord__Record *pb, usp_record *out)
{
	copy_text(out->reason, sizeof out->reason, pb->disconnect->reason);
	out->reason_code = pb->disconnect->reason_code;
	return 0;
}

static const struct rec_type_row {
	UspRecord__Record__RecordTypeCase pb_case;
	usp_rec_kind kind;
	int (*take)(const UspRecord__Record *pb, usp_record *out); /* NULL: no fields we use */
} rec_types[] = {
	{USP_RECORD__RECORD__RECORD_TYPE_NO_SESSION_CONTEXT, USP_REC_NO_SESSION, take_payload},
	{USP_RECORD__RECORD__RECORD_TYPE_SESSION_CONTEXT, USP_REC_SESSION, NULL},
	{USP_RECORD__RECORD__RECORD_TYPE_WEBSOCKET_CONNECT, USP_REC_WEBSOCKET_CONNECT, NULL},
	{USP_RECORD__RECORD__RECORD_TYPE_MQTT_CONNECT, USP_REC_MQTT_CONNECT, take_mqtt},
	{USP_RECORD__RECORD__RECORD_TYPE_STOMP_CONNECT, USP_REC_STOMP_CONNECT, take_stomp},
	{USP_RECORD__RECORD__RECORD_TYPE_DISCONNECT, USP_REC_DISCONNECT, take_disconnect},
	{USP_RECORD__RECORD__RECORD_TYPE_UDS_CONNECT, USP_REC_UDS_CONNECT, NULL},
};

static int take_type(const UspRecord__Record *pb, usp_record *out)
{
	for (size_t i = 0; i < sizeof rec_types / sizeof rec_types[0]; i++) {
		const struct rec_type_row *row = &rec_types[i];

		if (row->pb_case != pb->record_type_case)
			continue;
		/* Every alternative is a message; protobuf-c sets the pointer
		 * with the case, but a NULL here must not crash us. */
		if (!pb->no_session_context)
			return USP_ERR_INVALID_RECORD_VALUE;
		out->kind = row->kind;
		return row->take ? row->take(pb, out) : 0;
	}
	return USP_ERR_INVALID_RECORD_VALUE; /* R-ENC.4 */
}

static int take_header(const UspRecord__Record *pb, usp_record *out)
{
	int rc = copy_ident(out->version, sizeof out->version, pb->version);

	if (rc == 0)
		rc = copy_ident(out->to_id, sizeof out->to_id, pb->to_id);
	if (rc == 0)
		rc = copy_ident(out->from_id, sizeof out->from_id, pb->from_id);
	out->plaintext = pb->payload_security == USP_RECORD__RECORD__PAYLOAD_SECURITY__PLAINTEXT;
	return rc;
}

int usp_record_parse(const uint8_t *buf, size_t len, usp_record *out)
{
	UspRecord__Record *pb;
	int rc;

	if (!out)
		return USP_ERR_RECORD_NOT_PARSED;
	memset(out, 0, sizeof *out);
	/* Zero bytes decode as an all-default Record in protobuf, but no MTP
	 * frame that short was meant to carry one. */
	if (!buf || len == 0)
		return USP_ERR_RECORD_NOT_PARSED;
	/* NULL means malformed wire data or out of memory; both leave nothing
	 * to work with. */
	pb = usp_record__record__unpack(NULL, len, buf);
	if (!pb)
		return USP_ERR_RECORD_NOT_PARSED;
	if (!usp_pb_text_valid(&pb->base)) {
		/* a from_id that is not text cannot be answered to */
		usp_record__record__free_unpacked(pb, NULL);
		return USP_ERR_RECORD_NOT_PARSED;
	}
	out->pb = pb;
	rc = take_header(pb, out);
	if (rc == 0)
		rc = take_type(pb, out);
	if (rc != 0) {
		usp_record_free(out);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

void usp_record_free(usp_record *r)
{
	if (!r)
		return;
	if (r->pb)
		usp_record__record__free_unpacked(r->pb, NULL);
	r->pb = NULL;
	r->payload = NULL;
	r->payload_len = 0;
}

/* ---------------------------------------------------------------------------
 * Encode
 * ------------------------------------------------------------------------- */

/* Everything one Record needs, on the caller's stack. */
typedef struct rec_parts {
	UspRecord__Record rec;
	UspRecord__NoSessionContextRecord nsc;
	UspRecord__WebSocketConnectRecord ws;
	UspRecord__MQTTConnectRecord mqtt;
	UspRecord__STOMPConnectRecord stomp;
	UspRecord__DisconnectRecord disc;
	UspRecord__UDSConnectRecord uds;
} rec_parts;

static int fill_no_session(const usp_record_out *r, rec_parts *p)
{
	if (!r->payload || r->payload_len == 0) /* R-E2E.26 */
		return DM_ERR_INVALID_ARG;
	p->nsc.payload.data = (uint8_t *)r->payload;
	p->nsc.payload.len = r->payload_len;
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_NO_SESSION_CONTEXT;
	p->rec.no_session_context = &p->nsc;
	return 0;
}

static int fill_websocket(const usp_record_out *r, rec_parts *p)
{
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_WEBSOCKET_CONNECT;
	p->rec.websocket_connect = &p->ws;
	return 0;
}

static int fill_uds(const usp_record_out *r, rec_parts *p)
{
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_UDS_CONNECT;
	p->rec.uds_connect = &p->uds;
	return 0;
}

/* subscribed_topic is Required: a Controller answers to it. */
static int fill_mqtt(const usp_record_out *r, rec_parts *p)
{
	if (!r->subscribed_topic || !r->subscribed_topic[0])
		return DM_ERR_INVALID_ARG;
	p->mqtt.version = r->mqtt_v5 ? USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V5
				     : USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V3_1_1;
	p->mqtt.subscribed_topic = (char *)r->subscribed_topic;
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_MQTT_CONNECT;
	p->rec.mqtt_connect = &p->mqtt;
	return 0;
}

static int fill_stomp(const usp_record_out *r, rec_parts *p)
{
	if (!r->subscribed_topic || !r->subscribed_topic[0])
		return DM_ERR_INVALID_ARG;
	p->stomp.subscribed_destination = (char *)r->subscribed_topic;
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_STOMP_CONNECT;
	p->rec.stomp_connect = &p->stomp;
	return 0;
}

/* R-MTP.9: reason and reason_code should both be there. */
static int fill_disconnect(const usp_record_out *r, rec_parts *p)
{
	p->disc.reason = (char *)(r->reason ? r->reason : "");
	p->disc.reason_code = r->reason_code;
	p->rec.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_DISCONNECT;
	p->rec.disconnect = &p->disc;
	return 0;
}

/* USP_REC_SESSION is absent on purpose: duet has no E2E Session Context. */
static const struct rec_build_row {
	usp_rec_kind kind;
	int (*fill)(const usp_record_out *r, rec_parts *p);
} rec_builders[] = {
	{USP_REC_NO_SESSION, fill_no_session},
	{USP_REC_WEBSOCKET_CONNECT, fill_websocket},
	{USP_REC_MQTT_CONNECT, fill_mqtt},
	{USP_REC_STOMP_CONNECT, fill_stomp},
	{USP_REC_DISCONNECT, fill_disconnect},
	{USP_REC_UDS_CONNECT, fill_uds},
};

static int pack_record(const UspRecord__Record *rec, uint8_t **out, size_t *len)
{
	size_t n = usp_record__record__get_packed_size(rec);
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return DM_ERR_NOMEM;
	*len = usp_record__record__pack(rec, buf);
	*out = buf;
	return 0;
}

int usp_record_build(const usp_record_out *r, uint8_t **out, size_t *len)
{
	const struct rec_build_row *row = NULL;
	rec_parts p = {
		.rec = USP_RECORD__RECORD__INIT,
		.nsc = USP_RECORD__NO_SESSION_CONTEXT_RECORD__INIT,
		.ws = USP_RECORD__WEB_SOCKET_CONNECT_RECORD__INIT,
		.mqtt = USP_RECORD__MQTTCONNECT_RECORD__INIT,
		.stomp = USP_RECORD__STOMPCONNECT_RECORD__INIT,
		.disc = USP_RECORD__DISCONNECT_RECORD__INIT,
		.uds = USP_RECORD__UDSCONNECT_RECORD__INIT,
	};
	int rc;

	if (!out || !len)
		return DM_ERR_INVALID_ARG;
	*out = NULL;
	*len = 0;
	if (!r || !valid_ident(r->to_id, USP_ENDPOINT_MAX) || !valid_ident(r->from_id, USP_ENDPOINT_MAX))
		return DM_ERR_INVALID_ARG;
	for (size_t i = 0; i < sizeof rec_builders / sizeof rec_builders[0]; i++)
		if (rec_builders[i].kind == r->kind)
			row = &rec_builders[i];
	if (!row)
		return DM_ERR_NOT_SUPPORTED;
	p.rec.version = (char *)USP_VERSION;
	p.rec.to_id = (char *)r->to_id;
	p.rec.from_id = (char *)r->from_id;
	p.rec.payload_security = USP_RECORD__RECORD__PAYLOAD_SECURITY__PLAINTEXT;
	rc = row->fill(r, &p);
	if (rc != 0)
		return rc;
	return pack_record(&p.rec, out, len);
}

/* ---------------------------------------------------------------------------
 * Receive rules (the table at the top of this file)
 * ------------------------------------------------------------------------- */

/* "Major.Minor", both decimal, major at least 1. */
static bool version_ok(const char *v)
{
	const char *p = v;
	unsigned long major = 0;
	size_t digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		major = major * 10 + (unsigned long)(*p - '0');
	if (digits == 0 || digits > 4 || major == 0 || *p++ != '.')
		return false;
	for (digits = 0; *p >= '0' && *p <= '9'; p++)
		digits++;
	return digits > 0 && digits <= 4 && *p == '\0';
}

static bool not_for_us(const usp_record *r, const char *us)
{
	return strcmp(r->to_id, us) != 0;
}

static bool from_ourselves(const usp_record *r, const char *us)
{
	return strcmp(r->from_id, us) == 0;
}

static bool unknown_security(const usp_record *r, const char *us)
{
	return r->pb->payload_security != USP_RECORD__RECORD__PAYLOAD_SECURITY__PLAINTEXT &&
	       r->pb->payload_security != USP_RECORD__RECORD__PAYLOAD_SECURITY__TLS12;
}

static bool bad_version(const usp_record *r, const char *us)
{
	return !version_ok(r->version);
}

static bool session_context(const usp_record *r, const char *us)
{
	return r->kind == USP_REC_SESSION;
}

static bool e2e_secured(const usp_record *r, const char *us)
{
	return r->kind == USP_REC_NO_SESSION && !r->plaintext;
}

static bool empty_payload(const usp_record *r, const char *us)
{
	return r->kind == USP_REC_NO_SESSION && r->payload_len == 0;
}

static bool unknown_mqtt_version(const usp_record *r, const char *us)
{
	const UspRecord__MQTTConnectRecord *m = r->pb->mqtt_connect;

	return r->kind == USP_REC_MQTT_CONNECT && m->version != USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V3_1_1 &&
	       m->version != USP_RECORD__MQTTCONNECT_RECORD__MQTTVERSION__V5;
}

static const struct check_row {
	bool (*match)(const usp_record *r, const char *us);
	usp_rec_action action;
	uint32_t code;
	const char *why;
} checks[] = {
	{not_for_us, USP_REC_DROP, USP_ERR_INVALID_RECORD_VALUE, "to_id is not our EndpointID (R-E2E.1)"},
	{from_ourselves, USP_REC_DROP, USP_ERR_INVALID_RECORD_VALUE, "from_id is our own EndpointID (R-ARC.2)"},
	{unknown_security, USP_REC_ERROR_RECORD, USP_ERR_INVALID_RECORD_VALUE,
	 "unknown payload_security value (R-ENC.2)"},
	{bad_version, USP_REC_ERROR_RECORD, USP_ERR_INVALID_RECORD_VALUE, "version is not Major.Minor"},
	{session_context, USP_REC_ERROR_RECORD, USP_ERR_SESSION_CONTEXT_NOT_ALLOWED,
	 "Session Context is not supported (R-E2E.6a)"},
	{e2e_secured, USP_REC_ERROR_RECORD, USP_ERR_SECURE_SESSION_NOT_SUPPORTED,
	 "TLS12 payload security is not supported (R-E2E.41)"},
	{empty_payload, USP_REC_DROP, USP_ERR_INVALID_RECORD_VALUE,
	 "no_session_context without a payload (R-E2E.26)"},
	{unknown_mqtt_version, USP_REC_DROP, USP_ERR_INVALID_RECORD_VALUE, "unknown MQTT version (R-ENC.2)"},
};

static int verdict(int action, uint32_t code, const char *text, uint32_t *err_code, const char **why)
{
	if (err_code)
		*err_code = code;
	if (why)
		*why = text;
	return action;
}

int usp_record_check(const usp_record *r, const char *our_endpoint_id, uint32_t *err_code, const char **why)
{
	if (!r || !r->pb || r->kind == USP_REC_NONE || !our_endpoint_id)
		return verdict(USP_REC_DROP, USP_ERR_INVALID_RECORD_VALUE, "not a parsed Record", err_code, why);
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		if (checks[i].match(r, our_endpoint_id))
			return verdict(checks[i].action, checks[i].code, checks[i].why, err_code, why);
	return verdict(USP_REC_ACCEPT, 0, "", err_code, why);
}

/* Only an undecodable Record on a connection-oriented MTP closes it; every
 * other parse failure is ignored (R-MTP.5). */
static const struct parse_action_row {
	int status;
	usp_mtp_kind mtp;
	usp_rec_action action;
} parse_actions[] = {
	{USP_ERR_RECORD_NOT_PARSED, USP_MTP_WEBSOCKET, USP_REC_CLOSE}, /* R-WS.16: Close 1003 */
	{USP_ERR_RECORD_NOT_PARSED, USP_MTP_UDS, USP_REC_CLOSE},       /* R-UDS.23: Error TLV */
};

int usp_record_parse_action(int status, usp_mtp_kind mtp)
{
	if (status == 0)
		return USP_REC_ACCEPT;
	for (size_t i = 0; i < sizeof parse_actions / sizeof parse_actions[0]; i++)
		if (parse_actions[i].status == status && parse_actions[i].mtp == mtp)
			return parse_actions[i].action;
	return USP_REC_DROP;
}

/* ---------------------------------------------------------------------------
 * The R-MTP.5 / R-E2E.6a answer
 * ------------------------------------------------------------------------- */

/* An Error Msg answering req (its msg_id), packed into *out. */
static int pack_error_msg(const Usp__Msg *req, uint32_t code, const char *why, uint8_t **out, size_t *len)
{
	Usp__Msg msg = USP__MSG__INIT;
	Usp__Header hdr = USP__HEADER__INIT;
	Usp__Body body = USP__BODY__INIT;
	Usp__Error err = USP__ERROR__INIT;
	size_t n;

	hdr.msg_id = req->header->msg_id;
	hdr.msg_type = USP__HEADER__MSG_TYPE__ERROR;
	err.err_code = code;
	err.err_msg = (char *)why;
	body.msg_body_case = USP__BODY__MSG_BODY_ERROR;
	body.error = &err;
	msg.header = &hdr;
	msg.body = &body;
	n = usp__msg__get_packed_size(&msg);
	*out = malloc(n ? n : 1);
	if (!*out)
		return DM_ERR_NOMEM;
	*len = usp__msg__pack(&msg, *out);
	return 0;
}

/* R-MTP.5: only a Request whose msg_id can be read may be answered. */
static Usp__Msg *answerable_request(const usp_record *r)
{
	Usp__Msg *m;

	if (r->kind != USP_REC_NO_SESSION || r->payload_len == 0)
		return NULL;
	m = usp__msg__unpack(NULL, r->payload_len, r->payload);
	if (m && usp_pb_text_valid(&m->base) && m->header && m->header->msg_id && m->header->msg_id[0] && m->body &&
	    m->body->msg_body_case == USP__BODY__MSG_BODY_REQUEST)
		return m;
	if (m)
		usp__msg__free_unpacked(m, NULL);
	return NULL;
}

static int answer_with_error_msg(const usp_record *r, const char *us, uint32_t code, const char *why,
				 uint8_t **out, size_t *len)
{
	Usp__Msg *req = answerable_request(r);
	usp_record_out o = {.kind = USP_REC_NO_SESSION, .to_id = r->from_id, .from_id = us};
	uint8_t *payload = NULL;
	size_t payload_len = 0;
	int rc;

	if (!req)
		return 0;
	rc = pack_error_msg(req, code, why, &payload, &payload_len);
	usp__msg__free_unpacked(req, NULL);
	if (rc != 0)
		return rc;
	o.payload = payload;
	o.payload_len = payload_len;
	rc = usp_record_build(&o, out, len);
	free(payload);
	return rc;
}

int usp_record_error_answer(const usp_record *r, const char *our_endpoint_id, uint32_t err_code, const char *why,
			    uint8_t **out, size_t *len)
{
	if (!out || !len)
		return DM_ERR_INVALID_ARG;
	*out = NULL;
	*len = 0;
	if (!r || !r->pb || !our_endpoint_id)
		return DM_ERR_INVALID_ARG;
	if (!why || !why[0])
		why = "USP Record error";
	/* R-MTP.5: a known sender, addressed to us; R-ARC.2: not ourselves. */
	if (!r->from_id[0] || not_for_us(r, our_endpoint_id) || from_ourselves(r, our_endpoint_id))
		return 0;
	if (err_code == USP_ERR_SESSION_CONTEXT_TERMINATED || err_code == USP_ERR_SESSION_CONTEXT_NOT_ALLOWED) {
		usp_record_out o = {.kind = USP_REC_DISCONNECT,
				    .to_id = r->from_id,
				    .from_id = our_endpoint_id,
				    .reason = why,
				    .reason_code = err_code};
		return usp_record_build(&o, out, len);
	}
	return answer_with_error_msg(r, our_endpoint_id, err_code, why, out, len);
}
