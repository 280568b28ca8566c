/*
 * session.h - the CWMP session: one at a time, Inform first, CPE requests,
 * the empty POST, ACS requests until the ACS sends nothing, HoldRequests,
 * version negotiation, retry with the TR-069 wait intervals, periodic and
 * scheduled Informs, the active-notification throttle, and actions that
 * wait for a session to end. HTTP(S) through libcurl's multi interface on
 * the core loop (http.h).
 */
#ifndef DUET_CWMP_SESSION_H
#define DUET_CWMP_SESSION_H

#include "cwmp_int.h"

/* Start on an agent whose events module is open; registers the Reboot,
 * FactoryReset and ScheduleInform handlers; sets a->raise,
 * a->after_session and a->connection_request. */
int cwmp_session_start(cwmp_agent *a, cwmp_session **out);
/* Abort a running session (no retry bookkeeping) and free. */
void cwmp_session_stop(cwmp_session *s);
bool cwmp_session_running(const cwmp_session *s);
/* Open no session from now on: the agent is about to restart. */
void cwmp_session_hold(cwmp_session *s);

/*
 * Raise "0 BOOTSTRAP" (NOW) when ManagementServer.URL is not the URL last
 * bootstrapped (agent state "cwmp.state"/"acs_url"), or always with force
 * (after a factory reset), and record the URL as bootstrapped. Needs
 * a->raise. 0 or a negative dm_err.
 */
int cwmp_session_check_bootstrap(cwmp_agent *a, bool force);

/*
 * The wait before retry n (n >= 1; from 10 on the 10th range holds) after
 * failed sessions (TR-069 3.2.1.1): [m*(k/1000)^(n-1), m*(k/1000)^n]
 * seconds, m = CWMPRetryMinimumWaitInterval (at least 1), k =
 * CWMPRetryIntervalMultiplier (at least 1000). A pure function.
 */
void cwmp_session_retry_range(unsigned long m, unsigned long k, unsigned n, double *lo_s,
			      double *hi_s);

#endif
