/*
 * cwmp.h - the CWMP (TR-069) front end as duetd's main sees it: start it on
 * the engine and the core loop, stop it. Everything else of cwmp/ is
 * internal (cwmp_int.h and the module headers); nothing outside cwmp/ sees
 * a gSOAP or libcurl type.
 */
#ifndef DUET_CWMP_H
#define DUET_CWMP_H

#include "core.h"
#include "dm.h"
#include "proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cwmp_agent cwmp_agent;

/* Options of the CPE; strings are copied. */
typedef struct cwmp_options {
	/* The agent's state directory (downloaded images, temporary files). */
	const char *state_dir;
	/* Connection Request listener: address (NULL: "0.0.0.0") and TCP port
	 * (0: the default 7547; -1: an ephemeral port, for tests). The URL the
	 * ACS is given (ManagementServer.ConnectionRequestURL) is derived. */
	const char *cr_address;
	int cr_port;
	/* Connection Requests accepted per 10 s before 503: 0 the default (5),
	 * -1 no limit (benchmarks), at most 32. */
	int cr_limit;
	/* TLS toward the ACS and file servers: CA bundle (NULL: system store),
	 * and the CPE's own certificate and key for client authentication. */
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
	/* Why this start happened, as the boot record said before Boot!
	 * consumed it: "LocalReboot", "RemoteReboot", "LocalFactoryReset",
	 * "RemoteFactoryReset" ... NULL: a power cycle. */
	const char *boot_cause;
	/* The names the ACS uses (mapping/views.h: the CWMP view): its reads,
	 * writes, attributes and Inform ParameterList go through it. NULL:
	 * the store's own names. Must outlive the agent. */
	const dm_view *view;
	/* The USP Broker's registry (mapping/proxy.h): requests on paths a
	 * USP Service registered are forwarded to it. NULL: no Broker. Must
	 * outlive the agent. */
	map_proxy *proxy;
} cwmp_options;

/*
 * Start the CPE: load its persistent state (events, attributes, queued
 * transfers), raise 0 BOOTSTRAP / 1 BOOT as the store says, open the
 * Connection Request listener and schedule the first session. With
 * ManagementServer.EnableCWMP false it only watches for that to change.
 * Returns 0 or a negative dm_err. Keeps pointers to d and loop.
 */
int cwmp_agent_start(dm *d, core_loop *loop, const cwmp_options *opts, cwmp_agent **out);
/* Abort any session, close the listener, free everything (loop thread). */
void cwmp_agent_stop(cwmp_agent *a);

/*
 * A restart the other manager asked for waits for the ACS's session
 * (notes/cwmp-usp-mapping.md C6): hold opens no session from now on (the
 * restart's own 1 BOOT reaches the ACS after it); in_session says whether
 * one is still running. NULL-safe.
 */
void cwmp_agent_hold_sessions(cwmp_agent *a);
bool cwmp_agent_in_session(const cwmp_agent *a);

#ifdef __cplusplus
}
#endif
#endif /* DUET_CWMP_H */
