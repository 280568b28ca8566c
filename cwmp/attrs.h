/*
 * attrs.h - CWMP notification attributes and what follows from them:
 * GetParameterAttributes / SetParameterAttributes, tracking of changes to
 * notified parameters from the change feed (never the ACS's own), and the
 * Inform ParameterList (forced Inform parameters, changed parameters,
 * ManagementServer.InformParameter rows).
 */
#ifndef DUET_CWMP_ATTRS_H
#define DUET_CWMP_ATTRS_H

#include "cwmp_int.h"

/* Load the attributes, subscribe to the change feed, register the GPA and
 * SPA handlers in a->rpc and set a->inform_params / a->inform_delivered.
 * Changes raise "4 VALUE CHANGE" through a->raise (passive: QUEUE,
 * active: THROTTLED). */
int cwmp_attrs_open(cwmp_agent *a, cwmp_attrs **out);
void cwmp_attrs_close(cwmp_attrs *at);
/* Factory reset / BOOTSTRAP: every attribute back to its default, no
 * pending change. Durable. */
int cwmp_attrs_reset(cwmp_attrs *at);

#endif
