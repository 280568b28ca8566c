/*
 * events.h - the queue of Inform EventCodes (TR-069 3.7.1.5): single and
 * multiple codes, CommandKeys, retention across failed sessions and
 * reboots. Persistent codes live in the store (agent state "cwmp.events")
 * until an InformResponse acknowledges them.
 */
#ifndef DUET_CWMP_EVENTS_H
#define DUET_CWMP_EVENTS_H

#include "cwmp_int.h"

/* Load the queue; with after_boot the codes that do not survive a reboot
 * are dropped from the store. */
int cwmp_events_open(dm *d, bool after_boot, cwmp_events **out);
void cwmp_events_close(cwmp_events *e);

/* Add one event: a single code already queued is not repeated; "M ..."
 * codes are one entry per call. Durable before returning for codes kept
 * across reboots. */
int cwmp_events_add(cwmp_events *e, const char *code, const char *command_key);
/* The same, except that an "M ..." code already waiting with the same
 * CommandKey is not added again: a report raised anew (after a restart,
 * or when the ACS asked to retry it) is the same occurrence. */
int cwmp_events_add_once(cwmp_events *e, const char *code, const char *command_key);
bool cwmp_events_has(const cwmp_events *e, const char *code);
size_t cwmp_events_count(const cwmp_events *e);

/* The events for the next Inform (at most 64) in the order raised; the
 * array stays valid until the next call into this module. *mark receives
 * what cwmp_events_delivered needs to remove exactly these. */
const cwmp_event *cwmp_events_for_inform(cwmp_events *e, size_t *n, uint64_t *mark);
/* InformResponse received: drop the events the Inform carried. */
int cwmp_events_delivered(cwmp_events *e, uint64_t mark);
/* The session failed: drop what must not be retried (6 CONNECTION
 * REQUEST, 14 HEARTBEAT); keep the rest. */
int cwmp_events_session_failed(cwmp_events *e);
/* Forget everything (factory reset; a new ACS URL). */
int cwmp_events_clear(cwmp_events *e);

#endif
