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

#endif
