/*
 * usp.h - the USP (TR-369) front end as duetd's main sees it: start it on
 * the engine and the core loop, stop it. Everything else of usp/ is internal
 * (usp_int.h); nothing outside usp/ sees a protobuf-c type.
 */
#ifndef DUET_USP_H
#define DUET_USP_H

#include "core.h"
#include "dm.h"
#include "proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct usp_agent usp_agent;

/* Options of the agent; the strings must stay valid while it runs. */
typedef struct usp_options {
	/* Extra UNIX-socket path to listen on for Controllers and USP Services
	 * (in addition to Device.UnixDomainSockets / LocalAgent.MTP); may be NULL. */
	const char *uds_path;
	/* Poll interval for provider-backed (live) values watched by
	 * ValueChange subscriptions, ms; 0 = default (10 s). */
	unsigned live_poll_ms;
	/* TLS: the agent's own certificate and key (PEM) for servers it runs
	 * (wss) and for client authentication where a peer asks; the CA bundle
	 * that peers (brokers, wss Controllers) are checked against. NULL: no
	 * own certificate; the system CA store. */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;
	/* The names Controllers use (mapping/views.h: the USP view): every
	 * request, schema listing and subscription goes through it. NULL:
	 * the store's own names. Must outlive the agent. */
	const dm_view *view;
	/* USP Broker: the UNIX socket where USP Services connect (the agent is
	 * their Controller there), NULL: no Broker; and the registry of the
	 * paths they Register (mapping/proxy.h), shared with the CWMP side.
	 * Both must outlive the agent. */
	const char *broker_path;
	map_proxy *proxy;
} usp_options;

/*
 * Start the USP Agent on an open engine and the core loop: read the
 * EndpointID and the MTP configuration from the data model
 * (Device.LocalAgent.MTP, Controller.{i}.MTP, Device.MQTT.Client,
 * Device.UnixDomainSockets), open the MTPs, subscribe to the engine's change
 * feed for subscriptions and for run-time MTP reconfiguration. Returns 0 or
 * a negative dm_err. The agent keeps pointers to d and loop.
 */
int usp_agent_start(dm *d, core_loop *loop, const usp_options *opts, usp_agent **out);
/* Close every MTP and free the agent (from the loop thread). */
void usp_agent_stop(usp_agent *a);
/* The agent's EndpointID ("os::<OUI>-<SerialNumber>" unless configured). */
const char *usp_agent_endpoint_id(const usp_agent *a);
/* Tell subscribed Controllers of the completion of an async operation that
 * the agent resumed after a restart (mapping/timers.h: Device.ScheduleTimer()
 * persists across one): requester, command path and key as first recorded;
 * code 0 or a dm_err / USP error code with err_msg. */
void usp_agent_operation_complete(usp_agent *a, const char *requester, const char *cmd_path,
				  const char *command_key, int code, const char *err_msg);

#ifdef __cplusplus
}
#endif
#endif /* DUET_USP_H */
