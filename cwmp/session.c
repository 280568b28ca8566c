/*
 * session.c - one CWMP session at a time (TR-069 3.7): the Inform first,
 * then the CPE's own requests unless the ACS holds them, the empty POST,
 * the ACS's requests answered one per POST until the ACS sends nothing;
 * version negotiation; the end, successful or not, and the retry wait
 * after a failure (3.2.1.1). What opens a session lives in
 * session_triggers.c, the session's own RPCs in session_rpc.c.
 */
#include "session_int.h"
#include "rpc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUPPORTED_VERSIONS "1.0,1.1,1.2,1.3,1.4"
#define SESSION_TIMEOUT_S 30
#define RETRY_CAP 10

static void session_begin(cwmp_session *s);
static void session_end(cwmp_session *s, bool ok, const char *reason);

/* ---------------------------------------------------------------------------
 * Retry
 * ------------------------------------------------------------------------- */

void cwmp_session_retry_range(unsigned long m, unsigned long k, unsigned n, double *lo_s,
			      double *hi_s)
{
	double base = (double)(m ? m : 1), factor = (double)(k < 1000 ? 1000 : k) / 1000.0;

	if (n < 1)
		n = 1;
	if (n > RETRY_CAP)
		n = RETRY_CAP;
	*lo_s = base * pow(factor, (double)(n - 1));
	*hi_s = base * pow(factor, (double)n);
}

/* xorshift64: the spread of retries only has to differ between CPEs */
static double random_unit(cwmp_session *s)
{
	uint64_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return (double)(x >> 11) / (double)(1ull << 53);
}

static void on_retry(void *ctx)
{
	cwmp_session *s = ctx;

	core_timer_stop(s->retry_timer);
	s->retry_timer = NULL;
	session_begin(s);
}

static double schedule_retry(cwmp_session *s)
{
	double lo, hi;

	cwmp_session_retry_range(session_ms_uint(s, "CWMPRetryMinimumWaitInterval", 5),
				 session_ms_uint(s, "CWMPRetryIntervalMultiplier", 2000), s->retry_count,
				 &lo, &hi);
	double wait = lo + (hi - lo) * random_unit(s);
	core_timer_stop(s->retry_timer);
	s->retry_timer = NULL;
	if (core_timer_start(s->loop, (uint64_t)(wait * 1000.0), 0, on_retry, s, &s->retry_timer))
		CORE_LOG_E("cwmp", "cannot start the retry timer");
	return wait;
}

/* ---------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------- */

static void on_kick(void *ctx)
{
	cwmp_session *s = ctx;

	core_timer_stop(s->kick_timer);
	s->kick_timer = NULL;
	if (s->running || s->retry_timer || !s->enabled || s->restarting)
		return;
	session_begin(s);
}

void session_want(cwmp_session *s, bool urgent)
{
	if (!s->enabled || s->restarting)
		return;
	if (s->running) {
		s->again = true;
		return;
	}
	if (s->retry_timer) {
		if (!urgent)
			return; /* the retry carries it */
		core_timer_stop(s->retry_timer);
		s->retry_timer = NULL;
	}
	/* from the loop: callers may be deep inside a commit or a handler */
	if (!s->kick_timer && core_timer_start(s->loop, 0, 0, on_kick, s, &s->kick_timer))
		CORE_LOG_E("cwmp", "cannot schedule a session");
}

/* ---------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------- */

static void on_answer(void *ctx, const cwmp_http_result *r);

static void post(cwmp_session *s, const char *xml, size_t len, session_phase next)
{
	s->phase = next;
	s->posts++;
	int rc = cwmp_http_post(s->http, xml, len, on_answer, s);
	if (rc)
		session_end(s, false, dm_strerror(rc));
}

/* The CPE never sends the ACS-only or Inform-only header entries. */
static void cpe_header(cwmp_msg *m)
{
	m->hdr.hold_requests = -1;
	m->hdr.session_timeout = 0;
	m->hdr.supported_versions = NULL;
	m->hdr.use_version = NULL;
}

static int send_msg(cwmp_session *s, cwmp_msg *m, session_phase next)
{
	char *xml = NULL;
	size_t len = 0;

	cpe_header(m);
	int rc = cwmp_codec_encode(m, s->ns, &xml, &len);
	if (rc) {
		free(xml);
		return rc;
	}
	post(s, xml, len, next);
	free(xml);
	return 0;
}

static void send_empty(cwmp_session *s)
{
	post(s, "", 0, PHASE_EXCHANGE);
}

/* The CPE's next request, if it may send one (not held) and has one: 1
 * sent, 0 none, -1 the session ended meanwhile. */
static int send_next_request(cwmp_session *s)
{
	cwmp_agent *a = s->a;
	cwmp_reply rep;

	if (s->hold || s->cpe_done)
		return 0;
	if (!a->next_request) {
		s->cpe_done = true;
		return 0;
	}
	cwmp_reply_init(&rep);
	bool have = a->next_request(a, &rep);
	if (!s->running) {
		cwmp_reply_free(&rep);
		return -1;
	}
	if (!have) {
		cwmp_reply_free(&rep);
		s->cpe_done = true;
		return 0;
	}
	int rc = send_msg(s, &rep.msg, PHASE_CPE_REQUEST);
	cwmp_reply_free(&rep);
	if (rc) {
		session_end(s, false, "cannot encode a CPE request");
		return -1;
	}
	return 1;
}

/* The CPE's turn with nothing to answer: its next request, else the
 * empty POST (TR-069 3.7.1.2). */
static void cpe_turn(cwmp_session *s)
{
	if (!send_next_request(s))
		send_empty(s);
}

/* ---------------------------------------------------------------------------
 * The Inform
 * ------------------------------------------------------------------------- */

static const char *const device_id_paths[] = {
	"Device.DeviceInfo.Manufacturer",
	"Device.DeviceInfo.ManufacturerOUI",
	"Device.DeviceInfo.ProductClass",
	"Device.DeviceInfo.SerialNumber",
};

static char *read_into_reply(cwmp_agent *a, dm_txn *t, const char *path, cwmp_reply *rep)
{
	char buf[256];

	if (dm_get_value_buf(a->d, t, path, buf, sizeof buf, NULL))
		buf[0] = '\0';
	return cwmp_reply_strdup(rep, buf);
}

static int fill_inform(cwmp_session *s, dm_txn *t, cwmp_reply *rep)
{
	cwmp_agent *a = s->a;
	cwmp_msg *m = &rep->msg;
	char now[32];
	char **ids[] = { &m->u.inform.manufacturer, &m->u.inform.oui, &m->u.inform.product_class,
			 &m->u.inform.serial_number };

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		if (!(*ids[i] = read_into_reply(a, t, device_id_paths[i], rep)))
			return DM_ERR_NOMEM;
	size_t n = 0;
	const cwmp_event *ev = cwmp_events_for_inform(a->events, &n, &s->mark);
	s->overflow = cwmp_events_count(a->events) > n;
	m->u.inform.events = (cwmp_event *)ev;
	m->u.inform.n_events = n;
	m->u.inform.max_envelopes = 1;
	dm_datetime_now(now, sizeof now);
	if (!(m->u.inform.current_time = cwmp_reply_strdup(rep, now)))
		return DM_ERR_NOMEM;
	m->u.inform.retry_count = s->retry_count;
	if (a->inform_params) {
		int rc = a->inform_params(a, t, ev, n, rep, &m->u.inform.params, &m->u.inform.n_params);
		if (rc) {
			/* an Inform without its parameters still delivers the events */
			CORE_LOG_W("cwmp", "Inform parameters: %s", dm_strerror(rc));
			m->u.inform.params = NULL;
			m->u.inform.n_params = 0;
		}
	}
	return 0;
}

static int send_inform(cwmp_session *s)
{
	cwmp_reply rep;
	dm_txn *t;
	char *xml = NULL;
	size_t len = 0;

	cwmp_reply_init(&rep);
	rep.msg.kind = CWMP_MSG_INFORM;
	rep.msg.hdr.hold_requests = -1;
	/* TR-069 3.5: what we speak, and how long we wait for the ACS */
	rep.msg.hdr.supported_versions = SUPPORTED_VERSIONS;
	rep.msg.hdr.session_timeout = SESSION_TIMEOUT_S;
	int rc = dm_txn_begin(s->a->d, DM_TXN_READ, NULL, &t);
	if (!rc) {
		rc = fill_inform(s, t, &rep);
		dm_txn_abort(t);
	}
	if (!rc)
		rc = cwmp_codec_encode(&rep.msg, CWMP_NS_1_2, &xml, &len);
	cwmp_reply_free(&rep);
	if (!rc)
		post(s, xml, len, PHASE_INFORM);
	free(xml);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Answers from the ACS
 * ------------------------------------------------------------------------- */

/* The namespace for the rest of the session (TR-069 3.5, notes 6): 1.0 and
 * 1.1 have their own; 1.2 to 1.4 share cwmp-1-2, but an ACS that wrote
 * -1-3 or -1-4 is answered in what it wrote. */
static int negotiated_ns(const cwmp_msg *m)
{
	const char *v = m->hdr.use_version;
	int seen = m->ns_version;

	if (v && !strcmp(v, "1.0"))
		return CWMP_NS_1_0;
	if (v && !strcmp(v, "1.1"))
		return CWMP_NS_1_1;
	if (v && *v)
		return seen >= CWMP_NS_1_2 ? seen : CWMP_NS_1_2;
	return seen;
}

static void on_inform_answer(cwmp_session *s, int rc, const cwmp_msg *m)
{
	cwmp_agent *a = s->a;
	char reason[96];

	if (rc) {
		snprintf(reason, sizeof reason, "answer to Inform unreadable (%s)", cwmp_codec_strerror(rc));
		session_end(s, false, reason);
		return;
	}
	if (m->kind != CWMP_MSG_INFORM_RESPONSE) {
		if (m->kind == CWMP_MSG_FAULT)
			snprintf(reason, sizeof reason, "ACS answered Inform with fault %u", m->u.fault.code);
		else
			snprintf(reason, sizeof reason, "ACS answered Inform with %s",
				 m->kind == CWMP_MSG_EMPTY ? "nothing" : "something else");
		session_end(s, false, reason);
		return;
	}
	/* TR-069 3.7.1.4: the Inform's events are delivered once acknowledged */
	int drc = cwmp_events_delivered(a->events, s->mark);
	if (drc)
		CORE_LOG_W("cwmp", "delivered events stay recorded: %s", dm_strerror(drc));
	s->mark = 0;
	if (a->inform_delivered)
		a->inform_delivered(a);
	if (!s->running)
		return;
	s->ns = negotiated_ns(m);
	s->hold = m->hdr.hold_requests == 1;
	cpe_turn(s);
}

static bool is_answer_to_cpe(cwmp_msg_kind k)
{
	return k == CWMP_MSG_TRANSFER_COMPLETE_RESPONSE ||
	       k == CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE ||
	       k == CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE ||
	       k == CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE_RESPONSE ||
	       k == CWMP_MSG_GET_RPC_METHODS_RESPONSE || k == CWMP_MSG_FAULT;
}

static void on_request_answer(cwmp_session *s, int rc, const cwmp_msg *m)
{
	cwmp_agent *a = s->a;

	if (rc || !is_answer_to_cpe(m->kind)) {
		session_end(s, false, "ACS did not answer the CPE's request");
		return;
	}
	if (a->request_answered)
		a->request_answered(a, m);
	if (!s->running)
		return;
	/* 8005: the owner keeps it for a later session; asking again now
	 * would only loop */
	if (m->kind == CWMP_MSG_FAULT && m->u.fault.code == CWMP_ACS_FAULT_RETRY_REQUEST)
		s->cpe_done = true;
	s->hold = m->hdr.hold_requests == 1;
	cpe_turn(s);
}

/* An envelope we could not read still gets its answer (TR-069 3.7.1.3). */
static void reply_decode_failure(cwmp_session *s, int rc, cwmp_reply *rep)
{
	if (s->why.id[0])
		rep->msg.hdr.id = cwmp_reply_strdup(rep, s->why.id);
	if (rc == CWMP_CODEC_EMUSTUNDERSTAND) {
		/* SOAP 1.1 4.4: a bare SOAP fault, faultcode MustUnderstand;
		 * CWMP has no code for it, so no cwmp:Fault detail (code 0) */
		cwmp_header hdr = rep->msg.hdr;
		memset(&rep->msg, 0, sizeof rep->msg);
		rep->msg.hdr = hdr;
		rep->msg.kind = CWMP_MSG_FAULT;
		rep->msg.u.fault.faultcode = "SOAP-ENV:MustUnderstand";
		rep->msg.u.fault.faultstring = "Header entry not understood";
		return;
	}
	cwmp_reply_fault(rep, rc == CWMP_CODEC_EUNSUPPORTED ? CWMP_FAULT_METHOD_NOT_SUPPORTED
			 : rc == CWMP_CODEC_EPARSE ? CWMP_FAULT_INVALID_ARGUMENTS
						   : CWMP_FAULT_INTERNAL,
			 NULL);
}

static void send_answer(cwmp_session *s, cwmp_reply *rep)
{
	if (send_msg(s, &rep->msg, PHASE_EXCHANGE)) {
		/* the answer itself cannot be written: say so rather than stall */
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		if (send_msg(s, &rep->msg, PHASE_EXCHANGE))
			session_end(s, false, "cannot encode an answer");
	}
}

/* The answer to a deferred request (a USP Service's, rpc.h). */
static void late_answer(cwmp_agent *a, cwmp_reply *rep)
{
	cwmp_session *s = a->session;

	if (!s || !s->running || !s->deferred)
		return;
	s->deferred = false;
	send_answer(s, rep);
}

static void answer_acs(cwmp_session *s, int rc, const cwmp_msg *m)
{
	cwmp_agent *a = s->a;
	cwmp_reply rep;

	cwmp_reply_init(&rep);
	if (rc)
		reply_decode_failure(s, rc, &rep);
	else {
		s->hold = m->hdr.hold_requests == 1;
		cwmp_rpc_handle(a, m, &rep);
		s->deferred = cwmp_rpc_deferred(a);
		if (!s->running || s->deferred) {
			cwmp_reply_free(&rep);
			return;
		}
	}
	send_answer(s, &rep);
	cwmp_reply_free(&rep);
}

static void on_acs_turn(cwmp_session *s, int rc, const cwmp_msg *m)
{
	if (rc || m->kind != CWMP_MSG_EMPTY) {
		answer_acs(s, rc, m);
		return;
	}
	/* An empty answer carries no header: a hold ends with it. Requests it
	 * held back go now; otherwise both sides are done (TR-069 3.7.1.4). */
	s->hold = false;
	if (!send_next_request(s))
		session_end(s, true, NULL);
}

static void on_answer(void *ctx, const cwmp_http_result *r)
{
	cwmp_session *s = ctx;
	char reason[320];
	cwmp_msg *m = NULL;

	if (!r->status) {
		snprintf(reason, sizeof reason, "%s", r->error);
		session_end(s, false, reason);
		return;
	}
	if (r->status < 200 || r->status >= 300) {
		/* a 401 here is the answer to our credentials, not a challenge */
		snprintf(reason, sizeof reason, "HTTP %ld%s", r->status,
			 r->status == 401 ? " (authentication refused)" : "");
		session_end(s, false, reason);
		return;
	}
	int rc = cwmp_codec_decode(r->body, r->body_len, &m, &s->why);
	switch (s->phase) {
	case PHASE_INFORM:
		on_inform_answer(s, rc, m);
		break;
	case PHASE_CPE_REQUEST:
		on_request_answer(s, rc, m);
		break;
	case PHASE_EXCHANGE:
		on_acs_turn(s, rc, m);
		break;
	}
	cwmp_msg_free(m);
}

/* ---------------------------------------------------------------------------
 * Beginning and end
 * ------------------------------------------------------------------------- */

static int open_http(cwmp_session *s, char *url, size_t url_len)
{
	cwmp_agent *a = s->a;
	char user[257], pass[257];

	if (session_ms_get(s, "URL", url, url_len) || !url[0])
		return DM_ERR_INVALID_ARG;
	if (dm_get_value_buf(a->d, NULL, MS_PREFIX "Username", user, sizeof user, NULL))
		user[0] = '\0';
	if (dm_get_secret_buf(a->d, NULL, MS_PREFIX "Password", pass, sizeof pass, NULL))
		pass[0] = '\0';
	cwmp_http_opts o = {
		.url = url,
		.username = user,
		.password = pass,
		.tls_ca = a->tls_ca,
		.tls_cert = a->tls_cert,
		.tls_key = a->tls_key,
		.timeout_ms = SESSION_TIMEOUT_S * 1000,
	};
	int rc = s->http_ready ? 0 : cwmp_http_global_init();
	if (!rc) {
		s->http_ready = true;
		rc = cwmp_http_open(s->loop, &o, &s->http);
	}
	memset(pass, 0, sizeof pass);
	return rc;
}

static void session_begin(cwmp_session *s)
{
	char url[1024] = "";

	if (s->running || !s->enabled || s->restarting)
		return;
	core_timer_stop(s->throttle_timer);
	s->throttle_timer = NULL;
	s->running = true;
	s->phase = PHASE_INFORM;
	s->ns = CWMP_NS_1_2;
	s->hold = s->cpe_done = s->overflow = s->again = s->throttled = false;
	s->posts = 0;
	s->mark = 0;
	s->started_ns = uv_hrtime();
	int rc = open_http(s, url, sizeof url);
	if (rc == DM_ERR_INVALID_ARG && !url[0]) {
		/* nothing to retry until someone sets a URL (which bootstraps) */
		CORE_LOG_W("cwmp", "no session: " MS_PREFIX "URL is empty");
		s->running = false;
		return;
	}
	if (rc) {
		session_end(s, false, "cannot set up HTTP");
		return;
	}
	CORE_LOG_D("cwmp", "session to %s (attempt %u)", url, s->retry_count + 1);
	if ((rc = send_inform(s)))
		session_end(s, false, dm_strerror(rc));
}

void session_abort(cwmp_session *s)
{
	cwmp_rpc_wait_cancel(s->a);
	s->deferred = false;
	cwmp_http_close(s->http);
	s->http = NULL;
	s->running = false;
	core_timer_stop(s->retry_timer);
	s->retry_timer = NULL;
	core_timer_stop(s->kick_timer);
	s->kick_timer = NULL;
}

static void session_end(cwmp_session *s, bool ok, const char *reason)
{
	cwmp_agent *a = s->a;
	unsigned long long ms = (uv_hrtime() - s->started_ns) / 1000000u;

	if (!s->running)
		return;
	cwmp_rpc_wait_cancel(a);
	s->deferred = false;
	cwmp_http_close(s->http);
	s->http = NULL;
	s->running = false;
	s->last_end_ms = uv_now(core_loop_uv(s->loop));
	if (ok) {
		s->retry_count = 0;
		CORE_LOG_I("cwmp", "session ok: %u messages, %llu ms", s->posts, ms);
	} else {
		cwmp_events_session_failed(a->events);
		s->retry_count++;
		double wait = schedule_retry(s);
		CORE_LOG_I("cwmp", "session failed: %s, retry %u in %.1f s (after %llu ms)",
			   reason ? reason : "unknown", s->retry_count, wait, ms);
	}
	if (a->session_ended)
		a->session_ended(a, ok);
	if (!ok || s->running || session_run_after_actions(s))
		return;
	if (s->again || s->overflow)
		session_want(s, false);
	else
		session_throttle_after_end(s);
}

/* ---------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------- */

int cwmp_session_start(cwmp_agent *a, cwmp_session **out)
{
	if (!a || !a->events || !out)
		return DM_ERR_INVALID_ARG;
	cwmp_session *s = calloc(1, sizeof *s);
	if (!s)
		return DM_ERR_NOMEM;
	s->a = a;
	s->loop = a->loop;
	s->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
	if (!s->rng)
		s->rng = 1;
	/* the hooks reach the session through the agent */
	a->session = s;
	a->late_answer = late_answer;
	session_rpc_start(s);
	int rc = session_triggers_start(s);
	if (rc) {
		cwmp_session_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cwmp_session_stop(cwmp_session *s)
{
	if (!s)
		return;
	session_abort(s);
	session_triggers_stop(s);
	session_rpc_stop(s);
	core_timer_stop(s->throttle_timer);
	if (s->a->session == s)
		s->a->session = NULL;
	if (s->http_ready)
		cwmp_http_global_cleanup();
	free(s);
}

bool cwmp_session_running(const cwmp_session *s)
{
	return s && s->running;
}

void cwmp_session_hold(cwmp_session *s)
{
	if (!s)
		return;
	s->restarting = true;
	core_timer_stop(s->kick_timer);
	s->kick_timer = NULL;
}
