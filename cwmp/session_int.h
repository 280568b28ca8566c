/*
 * session_int.h - what the files of the session module share:
 *   session.c           the exchange (Inform, CPE requests, ACS requests,
 *                       the end), retry, start and stop
 *   session_triggers.c  what opens a session: raise, Connection Request,
 *                       throttle, periodic Inform, ManagementServer changes,
 *                       the bootstrapped ACS URL
 *   session_rpc.c       Reboot, FactoryReset, ScheduleInform and the actions
 *                       that wait for a session's successful end
 * Nothing outside these files includes it.
 */
#ifndef DUET_CWMP_SESSION_INT_H
#define DUET_CWMP_SESSION_INT_H

#include "events.h"
#include "http.h"
#include "session.h"

#define MS_PREFIX "Device.ManagementServer."
#define CWMP_KEY_MAX 32 /* CommandKey: string(32) in every RPC */

typedef enum session_phase {
	PHASE_INFORM,      /* the Inform is out, InformResponse expected */
	PHASE_CPE_REQUEST, /* a CPE request is out, its response expected */
	PHASE_EXCHANGE,    /* an empty POST or an answer is out: ACS's turn */
} session_phase;

struct cwmp_session {
	cwmp_agent *a;
	core_loop *loop;
	dm_sub *sub;
	bool enabled; /* ManagementServer.EnableCWMP */

	/* the session in progress */
	bool running;
	cwmp_http *http;
	session_phase phase;
	int ns;              /* namespace of every message after the Inform */
	bool hold;           /* the last ACS envelope said HoldRequests=1 */
	bool cpe_done;       /* next_request has nothing more this session */
	bool overflow;       /* events left behind by the 64-per-Inform cap */
	bool deferred;       /* the ACS's request is answered later (rpc.h) */
	uint64_t mark;       /* of the events the Inform carries */
	unsigned posts;
	uint64_t started_ns; /* uv_hrtime */

	/* between sessions */
	unsigned retry_count; /* consecutive failed attempts */
	bool again;           /* something asked for a session during this one */
	bool throttled;       /* an active notification waits for its throttle */
	uint64_t last_end_ms; /* loop time of the last session's end; 0: none yet */
	core_timer *kick_timer, *retry_timer, *throttle_timer;
	uint64_t rng;
	/* libcurl (and OpenSSL under it) start with the first session: a CPE
	 * with no ACS to reach never pays their memory */
	bool http_ready;
	/* what the last decode failure left: the request's cwmp:ID, which
	 * the fault answering it carries */
	cwmp_fault_info why;

	/* actions after a successful end (session_rpc.c) */
	bool reboot, factory_reset, restarting;
	char after_key[CWMP_KEY_MAX + 1];
	core_timer *after_timer;

	/* periodic and scheduled Informs (session_triggers.c, session_rpc.c) */
	core_timer *periodic_timer, *sched_timer;
	int64_t phase_ref_ms; /* the phase chosen at start when none is configured */
};

/* session.c */
/* Open a session as soon as the rules allow (urgent: even during a retry
 * wait, for a Connection Request or a BOOT). */
void session_want(cwmp_session *s, bool urgent);
/* Drop the running session without retry bookkeeping. */
void session_abort(cwmp_session *s);

/* session_triggers.c */
int session_triggers_start(cwmp_session *s);
void session_triggers_stop(cwmp_session *s);
/* An active notification: a session no sooner than the throttle allows. */
void session_want_throttled(cwmp_session *s);
/* A session ended: a throttled notification may now be due. */
void session_throttle_after_end(cwmp_session *s);

/* session_rpc.c */
void session_rpc_start(cwmp_session *s);
void session_rpc_stop(cwmp_session *s);
/* After a successful end: run a pending Reboot/FactoryReset; true when one
 * was started (the agent is about to restart: open nothing more). */
bool session_run_after_actions(cwmp_session *s);

/* Shared helpers (session_triggers.c) */
int session_ms_get(cwmp_session *s, const char *name, char *buf, size_t n);
unsigned long session_ms_uint(cwmp_session *s, const char *name, unsigned long def);
bool session_ms_bool(cwmp_session *s, const char *name, bool def);

#endif
