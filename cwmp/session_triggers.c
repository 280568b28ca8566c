/*
 * session_triggers.c - what opens a CWMP session: events raised with their
 * urgency, Connection Requests, the active-notification throttle, the
 * periodic Inform, and changes of Device.ManagementServer (a new ACS URL
 * bootstraps, EnableCWMP switches the CPE off and on). The exchange itself
 * is session.c's.
 */
#include "session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_NS "cwmp.state"
#define STATE_ACS_URL "acs_url"

/* ---------------------------------------------------------------------------
 * ManagementServer values
 * ------------------------------------------------------------------------- */

int session_ms_get(cwmp_session *s, const char *name, char *buf, size_t n)
{
	char path[128];

	snprintf(path, sizeof path, MS_PREFIX "%s", name);
	int rc = dm_get_value_buf(s->a->d, NULL, path, buf, n, NULL);
	if (rc && n)
		buf[0] = '\0';
	return rc;
}

unsigned long session_ms_uint(cwmp_session *s, const char *name, unsigned long def)
{
	char buf[32], *end;

	if (session_ms_get(s, name, buf, sizeof buf) || !buf[0])
		return def;
	unsigned long v = strtoul(buf, &end, 10);
	return *end ? def : v;
}

bool session_ms_bool(cwmp_session *s, const char *name, bool def)
{
	char buf[8];

	if (session_ms_get(s, name, buf, sizeof buf) || !buf[0])
		return def;
	return !strcmp(buf, "true") || !strcmp(buf, "1");
}

/* ---------------------------------------------------------------------------
 * raise and connection_request
 * ------------------------------------------------------------------------- */

/* Notes 5: these two cut a retry wait short; other events wait for it. */
static bool is_urgent(const char *code)
{
	return !strcmp(code, "6 CONNECTION REQUEST") || !strcmp(code, "1 BOOT");
}

static int hook_raise(cwmp_agent *a, const char *code, const char *command_key, cwmp_urgency urgency)
{
	cwmp_session *s = a->session;
	int rc = (urgency & CWMP_RAISE_AGAIN) ? cwmp_events_add_once(a->events, code, command_key)
					      : cwmp_events_add(a->events, code, command_key);

	urgency &= ~CWMP_RAISE_AGAIN;
	/* a store failure still leaves the event queued in memory */
	if (rc && !cwmp_events_has(a->events, code))
		return rc;
	if (!s)
		return rc;
	if (urgency == CWMP_RAISE_NOW)
		session_want(s, is_urgent(code));
	else if (urgency == CWMP_RAISE_THROTTLED)
		session_want_throttled(s);
	return rc;
}

static void hook_connection_request(cwmp_agent *a)
{
	if (a->raise)
		a->raise(a, "6 CONNECTION REQUEST", "", CWMP_RAISE_NOW);
}

/* ---------------------------------------------------------------------------
 * Throttle of active notifications
 * ------------------------------------------------------------------------- */

static void on_throttle(void *ctx)
{
	cwmp_session *s = ctx;

	core_timer_stop(s->throttle_timer);
	s->throttle_timer = NULL;
	session_want(s, false);
}

void session_want_throttled(cwmp_session *s)
{
	if (!s->enabled)
		return;
	if (s->running || s->retry_timer) {
		/* a retry carries it; a running session decides at its end */
		s->throttled = true;
		return;
	}
	uint64_t now = uv_now(core_loop_uv(s->loop));
	uint64_t gap = (uint64_t)session_ms_uint(s, "DefaultActiveNotificationThrottle", 0) * 1000;
	uint64_t due = s->last_end_ms ? s->last_end_ms + gap : 0;
	if (due <= now) {
		session_want(s, false);
		return;
	}
	if (!s->throttle_timer &&
	    core_timer_start(s->loop, due - now, 0, on_throttle, s, &s->throttle_timer))
		CORE_LOG_E("cwmp", "cannot start the notification throttle timer");
}

void session_throttle_after_end(cwmp_session *s)
{
	if (s->throttled) {
		s->throttled = false;
		session_want_throttled(s);
	}
}

/* ---------------------------------------------------------------------------
 * Periodic Inform (TR-069 3.2.1: PeriodicInformTime sets only the phase)
 * ------------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A dateTime as epoch milliseconds; false for the Unknown Time, an empty
 * value and anything before 1970 (relative or unknown times). */
static bool parse_datetime(const char *v, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;

	if (!v || sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 || y < 1970)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*ms = (int64_t)t * 1000;
	return true;
}

static void periodic_arm(cwmp_session *s, bool just_fired);

static void on_periodic(void *ctx)
{
	cwmp_session *s = ctx;
	cwmp_agent *a = s->a;

	if (a->raise)
		a->raise(a, "2 PERIODIC", "", CWMP_RAISE_NOW);
	periodic_arm(s, true);
}

static void periodic_arm(cwmp_session *s, bool just_fired)
{
	char when[64];
	int64_t ref;

	core_timer_stop(s->periodic_timer);
	s->periodic_timer = NULL;
	unsigned long interval = session_ms_uint(s, "PeriodicInformInterval", 0);
	if (!session_ms_bool(s, "PeriodicInformEnable", false) || !interval)
		return;
	session_ms_get(s, "PeriodicInformTime", when, sizeof when);
	if (!parse_datetime(when, &ref))
		ref = s->phase_ref_ms;
	int64_t period = (int64_t)interval * 1000, now = wall_ms();
	int64_t into = ((now - ref) % period + period) % period;
	int64_t wait = period - into;
	/* a timer may fire a little early: never count the same boundary twice */
	if (just_fired && wait < 1000)
		wait += period;
	if (core_timer_start(s->loop, (uint64_t)wait, 0, on_periodic, s, &s->periodic_timer))
		CORE_LOG_E("cwmp", "cannot start the periodic Inform timer");
	else
		CORE_LOG_D("cwmp", "periodic Inform in %lld s", (long long)(wait / 1000));
}

/* ---------------------------------------------------------------------------
 * The bootstrapped ACS URL
 * ------------------------------------------------------------------------- */

static int record_acs_url(dm *d, const char *url)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "cwmp" };
	dm_errinfo err = { 0 };
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);

	if (rc)
		return rc;
	if ((rc = dm_state_put(t, STATE_NS, STATE_ACS_URL, url, strlen(url), &err))) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static bool is_bootstrapped(dm *d, const char *url)
{
	dm_txn *t;
	char *v = NULL;
	bool same = false;

	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return false;
	if (!dm_state_get(t, STATE_NS, STATE_ACS_URL, &v, NULL, NULL))
		same = !strcmp(v, url);
	free(v);
	dm_txn_abort(t);
	return same;
}

int cwmp_session_check_bootstrap(cwmp_agent *a, bool force)
{
	char url[1024];

	if (!a || !a->raise)
		return DM_ERR_INVALID_ARG;
	if (dm_get_value_buf(a->d, NULL, MS_PREFIX "URL", url, sizeof url, NULL))
		url[0] = '\0';
	if (!force && is_bootstrapped(a->d, url))
		return 0;
	/* TR-069 3.7.1.5: first contact with this ACS */
	int rc = a->raise(a, "0 BOOTSTRAP", "", CWMP_RAISE_NOW);
	int rrc = record_acs_url(a->d, url);
	if (rrc)
		CORE_LOG_W("cwmp", "cannot record the bootstrapped ACS URL: %s", dm_strerror(rrc));
	return rc ? rc : rrc;
}

/* ---------------------------------------------------------------------------
 * Device.ManagementServer changes
 * ------------------------------------------------------------------------- */

static void set_enabled(cwmp_session *s, bool on)
{
	if (on == s->enabled)
		return;
	s->enabled = on;
	CORE_LOG_I("cwmp", "CWMP %s", on ? "enabled" : "disabled");
	if (!on) {
		/* A running session ends as the ACS ends it (the ACS may be the
		 * one that wrote false, and is owed its answer); none opens
		 * after it. Queued events stay for a re-enable (C12). */
		core_timer_stop(s->kick_timer);
		s->kick_timer = NULL;
		core_timer_stop(s->retry_timer);
		s->retry_timer = NULL;
		core_timer_stop(s->throttle_timer);
		s->throttle_timer = NULL;
		return;
	}
	if (cwmp_events_count(s->a->events))
		session_want(s, false);
}

static void url_changed(cwmp_session *s, const char *url)
{
	cwmp_agent *a = s->a;

	snprintf(a->origin_who, sizeof a->origin_who, "%s", url);
	if (*url && cwmp_session_check_bootstrap(a, false))
		CORE_LOG_W("cwmp", "new ACS URL: bootstrap not fully recorded");
}

static void on_change(void *ctx, const dm_change *c)
{
	cwmp_session *s = ctx;
	const size_t plen = sizeof MS_PREFIX - 1;

	if (c->kind != DM_CHANGE_VALUE || strncmp(c->path, MS_PREFIX, plen))
		return;
	const char *name = c->path + plen;
	if (!strcmp(name, "URL"))
		url_changed(s, c->new_value ? c->new_value : "");
	else if (!strcmp(name, "EnableCWMP"))
		set_enabled(s, c->new_value && (!strcmp(c->new_value, "true") || !strcmp(c->new_value, "1")));
	else if (!strcmp(name, "PeriodicInformEnable") || !strcmp(name, "PeriodicInformInterval") ||
		 !strcmp(name, "PeriodicInformTime"))
		periodic_arm(s, false);
}

/* ---------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------- */

int session_triggers_start(cwmp_session *s)
{
	cwmp_agent *a = s->a;

	s->enabled = session_ms_bool(s, "EnableCWMP", true);
	s->phase_ref_ms = wall_ms();
	session_ms_get(s, "URL", a->origin_who, sizeof a->origin_who);
	a->raise = hook_raise;
	a->connection_request = hook_connection_request;
	int rc = dm_subscribe(a->d, on_change, s, &s->sub);
	if (rc)
		return rc;
	periodic_arm(s, false);
	if (!s->enabled)
		CORE_LOG_I("cwmp", "CWMP disabled (" MS_PREFIX "EnableCWMP): no session");
	return 0;
}

void session_triggers_stop(cwmp_session *s)
{
	cwmp_agent *a = s->a;

	if (s->sub)
		dm_unsubscribe(a->d, s->sub);
	s->sub = NULL;
	core_timer_stop(s->periodic_timer);
	s->periodic_timer = NULL;
	core_timer_stop(s->throttle_timer);
	s->throttle_timer = NULL;
	if (a->raise == hook_raise)
		a->raise = NULL;
	if (a->connection_request == hook_connection_request)
		a->connection_request = NULL;
}
