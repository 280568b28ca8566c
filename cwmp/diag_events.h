/*
 * diag_events.h - "8 DIAGNOSTICS COMPLETE" (TR-069 3.7.1.5) for the tests
 * the ACS requested through a CWMP-style diagnostics object (mapping/diag.h
 * runs them).
 */
#ifndef DUET_CWMP_DIAG_EVENTS_H
#define DUET_CWMP_DIAG_EVENTS_H

#include "cwmp_int.h"

/*
 * Watch the change feed of a->d: when a DiagnosticsState the ACS set to
 * "Requested" is set by the agent (INTERNAL origin) to "Complete" or an
 * Error_* value, raise "8 DIAGNOSTICS COMPLETE" at once. A test another
 * manager requested raises nothing (a USP Controller hears of its own
 * through OperationComplete). Failures are logged; the agent runs on
 * without the event.
 */
void cwmp_diag_events_open(cwmp_agent *a);
/* Stop watching for a (a no-op when it is not watched). */
void cwmp_diag_events_close(cwmp_agent *a);

#endif
