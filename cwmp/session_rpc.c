/*
 * session_rpc.c - the RPCs that act on sessions rather than on the data
 * model: Reboot and FactoryReset (run once the session has ended well,
 * TR-069 3.7.1.4) and ScheduleInform (A.4.1.2: durable timers that raise
 * "M ScheduleInform" and "3 SCHEDULED"). The restart itself is core's
 * Device.Reboot() / Device.FactoryReset().
 */
#include "session_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHED_NS "cwmp.sched"
/* A timer longer than this is re-armed on expiry, so that a wall clock set
 * while it runs delays a scheduled Inform by a day at most. */
#define SCHED_MAX_WAIT_MS (24ull * 3600 * 1000)

/* ---------------------------------------------------------------------------
 * Actions after the session
 * ------------------------------------------------------------------------- */

bool session_run_after_actions(cwmp_session *s)
{
	cwmp_agent *a = s->a;
	dm_errinfo err = { 0 };

	if (s->restarting)
		return true;
	if (!s->reboot && !s->factory_reset)
		return false;
	const char *cmd = s->factory_reset ? "Device.FactoryReset()" : "Device.Reboot()";
	s->reboot = s->factory_reset = false;
	s->restarting = true;
	CORE_LOG_I("cwmp", "running %s asked by the ACS", cmd);
	/* With the ACS's origin core records a Remote cause, which both sides
	 * report after the restart. The ACS's CommandKey is CWMP's own (its
	 * "M Reboot" event is queued already); USP's Boot! carries a key only
	 * for a boot a USP Operate asked for (TR-181 Boot!), so none here. */
	int rc = dm_operate(a->d, cmd, NULL, 0, "", &a->origin, NULL, NULL, NULL, &err);
	if (rc) {
		CORE_LOG_E("cwmp", "%s failed: %s", cmd, err.msg[0] ? err.msg : dm_strerror(rc));
		s->restarting = false;
		return false;
	}
	return true;
}

static void on_after(void *ctx)
{
	cwmp_session *s = ctx;

	core_timer_stop(s->after_timer);
	s->after_timer = NULL;
	if (!s->running)
		session_run_after_actions(s);
}

static void hook_after_session(cwmp_agent *a, cwmp_after after, const char *command_key)
{
	cwmp_session *s = a->session;

	if (!s)
		return;
	if (after == CWMP_AFTER_FACTORY_RESET)
		s->factory_reset = true; /* a reset restarts too: it covers a reboot */
	else {
		s->reboot = true;
		snprintf(s->after_key, sizeof s->after_key, "%s", command_key ? command_key : "");
	}
	if (!s->running && !s->after_timer &&
	    core_timer_start(s->loop, 0, 0, on_after, s, &s->after_timer))
		CORE_LOG_E("cwmp", "cannot schedule the action after the session");
}

/* ---------------------------------------------------------------------------
 * Reboot and FactoryReset
 * ------------------------------------------------------------------------- */

static bool key_too_long(const char *key)
{
	return key && strlen(key) > CWMP_KEY_MAX;
}

static void rpc_reboot(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *key = req->u.command_key ? req->u.command_key : "";

	if (key_too_long(key)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "CommandKey longer than 32");
		return;
	}
	/* durable before we answer: the ACS learns of the reboot by it */
	if (!a->raise || a->raise(a, "M Reboot", key, CWMP_RAISE_QUEUE)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, "cannot record the reboot");
		return;
	}
	if (a->after_session)
		a->after_session(a, CWMP_AFTER_REBOOT, key);
	rep->msg.kind = CWMP_MSG_REBOOT_RESPONSE;
}

static void rpc_factory_reset(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	(void)req;
	if (!a->after_session) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	a->after_session(a, CWMP_AFTER_FACTORY_RESET, NULL);
	rep->msg.kind = CWMP_MSG_FACTORY_RESET_RESPONSE;
}

/* ---------------------------------------------------------------------------
 * ScheduleInform: one record per pending request, key "<due s>-<n>"
 * (zero-padded so that key order is due order), value the CommandKey
 * ------------------------------------------------------------------------- */

typedef struct sched_rec {
	char key[48];
	uint64_t due;
	char command_key[CWMP_KEY_MAX + 1];
} sched_rec;

typedef struct sched_scan {
	uint64_t now;
	uint64_t earliest; /* 0: none */
	sched_rec *due;    /* records due by now */
	size_t n_due, cap;
	bool nomem;
} sched_scan;

static int scan_record(void *ctx, const char *key, const void *value, size_t len)
{
	sched_scan *sc = ctx;
	char *end;
	uint64_t due = strtoull(key, &end, 10);

	if (*end != '-' || !due)
		return 0;
	if (due > sc->now) {
		if (!sc->earliest || due < sc->earliest)
			sc->earliest = due;
		return 0;
	}
	if (sc->n_due == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 8;
		sched_rec *v = realloc(sc->due, cap * sizeof *v);
		if (!v) {
			sc->nomem = true;
			return 1;
		}
		sc->due = v;
		sc->cap = cap;
	}
	sched_rec *r = &sc->due[sc->n_due++];
	snprintf(r->key, sizeof r->key, "%s", key);
	r->due = due;
	size_t kl = len > CWMP_KEY_MAX ? CWMP_KEY_MAX : len;
	memcpy(r->command_key, value, kl);
	r->command_key[kl] = '\0';
	return 0;
}

static int sched_scan_store(cwmp_session *s, sched_scan *sc)
{
	dm_txn *t;
	int rc = dm_txn_begin(s->a->d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	rc = dm_state_each(t, SCHED_NS, scan_record, sc);
	dm_txn_abort(t);
	return sc->nomem ? DM_ERR_NOMEM : rc;
}

static int sched_delete(cwmp_session *s, const sched_rec *v, size_t n)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "cwmp" };
	dm_errinfo err = { 0 };
	dm_txn *t;
	int rc = dm_txn_begin(s->a->d, DM_TXN_WRITE, &o, &t);

	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < n; i++)
		rc = dm_state_del(t, SCHED_NS, v[i].key, &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static void sched_arm(cwmp_session *s);

/* Each due request raises its M ScheduleInform before its record goes: a
 * crash in between repeats an event rather than losing one. */
static void on_sched(void *ctx)
{
	cwmp_session *s = ctx;
	cwmp_agent *a = s->a;
	sched_scan sc = { .now = (uint64_t)time(NULL) };

	core_timer_stop(s->sched_timer);
	s->sched_timer = NULL;
	if (sched_scan_store(s, &sc))
		CORE_LOG_W("cwmp", "cannot read the scheduled Informs");
	for (size_t i = 0; i < sc.n_due && a->raise; i++)
		a->raise(a, "M ScheduleInform", sc.due[i].command_key, CWMP_RAISE_QUEUE);
	if (sc.n_due) {
		int rc = sched_delete(s, sc.due, sc.n_due);
		if (rc)
			CORE_LOG_W("cwmp", "cannot remove fired scheduled Informs: %s", dm_strerror(rc));
		if (a->raise)
			a->raise(a, "3 SCHEDULED", "", CWMP_RAISE_NOW);
	}
	free(sc.due);
	sched_arm(s);
}

static void sched_arm(cwmp_session *s)
{
	sched_scan sc = { .now = (uint64_t)time(NULL) };

	core_timer_stop(s->sched_timer);
	s->sched_timer = NULL;
	int rc = sched_scan_store(s, &sc);
	uint64_t wait_ms;
	if (sc.n_due)
		wait_ms = 0; /* came due while we were stopped */
	else if (sc.earliest)
		wait_ms = (sc.earliest - sc.now) * 1000;
	else
		wait_ms = UINT64_MAX;
	free(sc.due);
	if (rc)
		CORE_LOG_W("cwmp", "cannot read the scheduled Informs: %s", dm_strerror(rc));
	if (wait_ms == UINT64_MAX)
		return;
	if (wait_ms > SCHED_MAX_WAIT_MS)
		wait_ms = SCHED_MAX_WAIT_MS;
	if (core_timer_start(s->loop, wait_ms, 0, on_sched, s, &s->sched_timer))
		CORE_LOG_E("cwmp", "cannot start the ScheduleInform timer");
}

static int sched_add(cwmp_session *s, uint64_t due, const char *command_key)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "cwmp" };
	dm_errinfo err = { 0 };
	char key[48], *old = NULL;
	dm_txn *t;
	int rc = dm_txn_begin(s->a->d, DM_TXN_WRITE, &o, &t);

	if (rc)
		return rc;
	/* several requests may fall due in the same second */
	for (unsigned n = 0;; n++) {
		snprintf(key, sizeof key, "%020" PRIu64 "-%06u", due, n);
		rc = dm_state_get(t, SCHED_NS, key, &old, NULL, &err);
		free(old);
		old = NULL;
		if (rc == DM_ERR_NOT_INSTANTIATED)
			break;
		if (rc || n == 999999) {
			dm_txn_abort(t);
			return rc ? rc : DM_ERR_MAX_ENTRIES;
		}
	}
	rc = dm_state_put(t, SCHED_NS, key, command_key, strlen(command_key), &err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static void rpc_schedule_inform(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_session *s = a->session;
	const char *key = req->u.schedule_inform.command_key ? req->u.schedule_inform.command_key : "";
	unsigned delay = req->u.schedule_inform.delay_seconds;

	/* A.4.1.2: DelaySeconds is at least 1 */
	if (!delay) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "DelaySeconds must be at least 1");
		return;
	}
	if (key_too_long(key)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "CommandKey longer than 32");
		return;
	}
	if (!s) {
		cwmp_reply_fault(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	int rc = sched_add(s, (uint64_t)time(NULL) + delay, key);
	if (rc) {
		cwmp_reply_fault(rep, rc == DM_ERR_DISK_FULL || rc == DM_ERR_MAX_ENTRIES
					      ? CWMP_FAULT_RESOURCES_EXCEEDED
					      : CWMP_FAULT_INTERNAL,
				 NULL);
		return;
	}
	sched_arm(s);
	rep->msg.kind = CWMP_MSG_SCHEDULE_INFORM_RESPONSE;
}

/* Agent state outlives a factory reset; requests of the ACS from before
 * it must not (the CPE meets its ACS anew with 0 BOOTSTRAP). Every record
 * counts as due when now is the largest time. */
static void sched_forget_all(cwmp_session *s)
{
	sched_scan sc = { .now = UINT64_MAX };
	int rc = sched_scan_store(s, &sc);

	if (!rc && sc.n_due)
		rc = sched_delete(s, sc.due, sc.n_due);
	free(sc.due);
	if (rc)
		CORE_LOG_W("cwmp", "cannot drop scheduled Informs after the factory reset: %s",
			   dm_strerror(rc));
}

/* ---------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------- */

void session_rpc_start(cwmp_session *s)
{
	cwmp_agent *a = s->a;

	if (a->boot_cause && strstr(a->boot_cause, "FactoryReset"))
		sched_forget_all(s);
	cwmp_rpc_register(a, CWMP_MSG_REBOOT, rpc_reboot);
	cwmp_rpc_register(a, CWMP_MSG_FACTORY_RESET, rpc_factory_reset);
	cwmp_rpc_register(a, CWMP_MSG_SCHEDULE_INFORM, rpc_schedule_inform);
	a->after_session = hook_after_session;
	sched_arm(s);
}

void session_rpc_stop(cwmp_session *s)
{
	cwmp_agent *a = s->a;

	core_timer_stop(s->sched_timer);
	s->sched_timer = NULL;
	core_timer_stop(s->after_timer);
	s->after_timer = NULL;
	if (a->rpc[CWMP_MSG_REBOOT] == rpc_reboot)
		a->rpc[CWMP_MSG_REBOOT] = NULL;
	if (a->rpc[CWMP_MSG_FACTORY_RESET] == rpc_factory_reset)
		a->rpc[CWMP_MSG_FACTORY_RESET] = NULL;
	if (a->rpc[CWMP_MSG_SCHEDULE_INFORM] == rpc_schedule_inform)
		a->rpc[CWMP_MSG_SCHEDULE_INFORM] = NULL;
	if (a->after_session == hook_after_session)
		a->after_session = NULL;
}
