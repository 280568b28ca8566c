/*
 * agent.c - the CWMP front end put together: options copied, the modules
 * opened in dependency order with their hooks wired into struct
 * cwmp_agent, the boot events raised, and everything closed in reverse.
 * No protocol logic lives here.
 */
#include "attrs.h"
#include "connreq.h"
#include "diag_events.h"
#include "events.h"
#include "rpc.h"
#include "session.h"
#include "transfer.h"

#include <stdlib.h>
#include <string.h>

static int copy_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src || !*src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : DM_ERR_NOMEM;
}

static void agent_free(cwmp_agent *a)
{
	free(a->state_dir);
	free(a->cr_address);
	free(a->tls_ca);
	free(a->tls_cert);
	free(a->tls_key);
	free(a->boot_cause);
	free(a);
}

static int agent_new(dm *d, core_loop *loop, const cwmp_options *o, cwmp_agent **out)
{
	cwmp_agent *a = calloc(1, sizeof *a);

	if (!a)
		return DM_ERR_NOMEM;
	a->d = d;
	a->loop = loop;
	a->cr_port = o->cr_port;
	a->cr_limit = o->cr_limit;
	a->view = o->view;
	a->proxy = o->proxy;
	if (copy_opt(&a->state_dir, o->state_dir) || copy_opt(&a->cr_address, o->cr_address) ||
	    copy_opt(&a->tls_ca, o->tls_ca) || copy_opt(&a->tls_cert, o->tls_cert) ||
	    copy_opt(&a->tls_key, o->tls_key) || copy_opt(&a->boot_cause, o->boot_cause)) {
		agent_free(a);
		return DM_ERR_NOMEM;
	}
	if (dm_get_value_buf(d, NULL, "Device.ManagementServer.URL", a->origin_who,
			     sizeof a->origin_who, NULL))
		a->origin_who[0] = '\0';
	a->origin.kind = DM_ORIGIN_CWMP;
	a->origin.who = a->origin_who;
	*out = a;
	return 0;
}

/* Optional modules: the CPE still informs and answers without them. */
static void open_optional(cwmp_agent *a)
{
	int rc;

	if ((rc = cwmp_attrs_open(a, &a->attrs)))
		CORE_LOG_E("cwmp", "notification attributes unavailable: %s", dm_strerror(rc));
	if ((rc = cwmp_transfers_open(a, &a->xfers)))
		CORE_LOG_E("cwmp", "file transfers unavailable: %s", dm_strerror(rc));
}

/* What this start tells the ACS (TR-069 3.7.1.5): after a factory reset
 * nothing from before survives and the ACS is met anew; a URL never
 * bootstrapped is met anew too; every start is a BOOT. */
static void raise_boot_events(cwmp_agent *a)
{
	bool reset = a->boot_cause && strstr(a->boot_cause, "FactoryReset");
	int rc;

	if (reset) {
		if ((rc = cwmp_events_clear(a->events)))
			CORE_LOG_W("cwmp", "cannot clear events after the factory reset: %s", dm_strerror(rc));
		if (a->attrs && (rc = cwmp_attrs_reset(a->attrs)))
			CORE_LOG_W("cwmp", "cannot reset attributes: %s", dm_strerror(rc));
		if (a->xfers && (rc = cwmp_transfers_reset(a->xfers)))
			CORE_LOG_W("cwmp", "cannot reset transfers: %s", dm_strerror(rc));
	}
	if ((rc = cwmp_session_check_bootstrap(a, reset)))
		CORE_LOG_W("cwmp", "0 BOOTSTRAP: %s", dm_strerror(rc));
	if ((rc = a->raise(a, "1 BOOT", "", CWMP_RAISE_NOW)))
		CORE_LOG_W("cwmp", "1 BOOT: %s", dm_strerror(rc));
}

int cwmp_agent_start(dm *d, core_loop *loop, const cwmp_options *opts, cwmp_agent **out)
{
	cwmp_options none = { 0 };
	cwmp_agent *a;

	if (!d || !loop || !out)
		return DM_ERR_INVALID_ARG;
	int rc = agent_new(d, loop, opts ? opts : &none, &a);
	if (rc)
		return rc;
	if (!dm_schema_find(dm_get_schema(d), "Device.ManagementServer.")) {
		/* a USP-only model (the official USP file): nothing to manage
		 * CWMP with, so no sessions and no listener, and no noise */
		CORE_LOG_I("cwmp", "the schema has no Device.ManagementServer: CWMP stays off");
		*out = a;
		return 0;
	}
	if ((rc = cwmp_events_open(d, true, &a->events))) {
		CORE_LOG_E("cwmp", "cannot load the event queue: %s", dm_strerror(rc));
		agent_free(a);
		return rc;
	}
	cwmp_rpc_register_dm(a);
	/* sessions first: they wire a->raise and a->after_session, which the
	 * other modules use while they open (a transfer a restart interrupted
	 * is reported at once; a notified value changed while down too) */
	if ((rc = cwmp_session_start(a, &a->session))) {
		CORE_LOG_E("cwmp", "cannot start sessions: %s", dm_strerror(rc));
		cwmp_agent_stop(a);
		return rc;
	}
	open_optional(a);
	cwmp_diag_events_open(a);
	if ((rc = cwmp_connreq_start(a, &a->cr)))
		CORE_LOG_E("cwmp", "Connection Requests unavailable: %s", dm_strerror(rc));
	/* the first session opens from the loop, after everything is wired */
	raise_boot_events(a);
	*out = a;
	return 0;
}

void cwmp_agent_stop(cwmp_agent *a)
{
	if (!a)
		return;
	/* the other modules' close functions are not promised to take NULL */
	if (a->cr)
		cwmp_connreq_stop(a->cr);
	a->cr = NULL;
	cwmp_diag_events_close(a);
	cwmp_session_stop(a->session);
	a->session = NULL;
	if (a->xfers)
		cwmp_transfers_close(a->xfers);
	a->xfers = NULL;
	if (a->attrs)
		cwmp_attrs_close(a->attrs);
	a->attrs = NULL;
	cwmp_events_close(a->events);
	a->events = NULL;
	agent_free(a);
}

void cwmp_agent_hold_sessions(cwmp_agent *a)
{
	if (a)
		cwmp_session_hold(a->session);
}

bool cwmp_agent_in_session(const cwmp_agent *a)
{
	return a && cwmp_session_running(a->session);
}
