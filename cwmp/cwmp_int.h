/*
 * cwmp_int.h - what the modules of cwmp/ share: the agent structure, the
 * reply under construction, the CWMP fault table and the few services one
 * module asks of another.
 *
 * Modules never call one another's functions directly; they go through
 * the hooks of struct cwmp_agent, which agent.c wires and unit tests
 * replace. So rpc.c, attrs.c, session.c, connreq.c and transfer.c each
 * build and test alone.
 *
 *   session.c   one CWMP session at a time over libcurl (http.c), retry,
 *               periodic and scheduled Informs; owns events.c
 *   rpc.c       the dispatch table and the data model RPCs
 *   attrs.c     notification attributes, value-change tracking, the Inform
 *               ParameterList
 *   transfer.c  Download, Upload, ScheduleDownload, queued transfers,
 *               ChangeDUState and the CPE requests reporting them
 *   connreq.c   the Connection Request listener (digest.c)
 *   agent.c     composition: opens the modules, wires the hooks
 */
#ifndef DUET_CWMP_INT_H
#define DUET_CWMP_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "core.h"
#include "cwmp.h"
#include "dm.h"

typedef struct cwmp_events cwmp_events;
typedef struct cwmp_attrs cwmp_attrs;
typedef struct cwmp_session cwmp_session;
typedef struct cwmp_connreq cwmp_connreq;
typedef struct cwmp_transfers cwmp_transfers;

/* ---------------------------------------------------------------------------
 * A reply under construction: a cwmp_msg for cwmp_codec_encode whose
 * strings and arrays live in the reply's own storage, released at once by
 * cwmp_reply_free.
 * ------------------------------------------------------------------------- */

typedef struct cwmp_reply_mem cwmp_reply_mem;

typedef struct cwmp_reply {
	cwmp_msg msg;        /* kind CWMP_MSG_EMPTY until a handler fills it */
	cwmp_reply_mem *mem; /* storage chunks and tracked arrays */
} cwmp_reply;

void cwmp_reply_init(cwmp_reply *r);
/* Release everything and re-initialise (the reply may be reused). */
void cwmp_reply_free(cwmp_reply *r);
/* Zeroed storage living as long as the reply; NULL when out of memory. */
void *cwmp_reply_alloc(cwmp_reply *r, size_t n);
char *cwmp_reply_strdup(cwmp_reply *r, const char *s);     /* NULL s gives "" */
char *cwmp_reply_strndup(cwmp_reply *r, const char *s, size_t n);
char *cwmp_reply_printf(cwmp_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Grow an array owned by the reply so that it holds at least need
 * elements of size elem: *arr is NULL or an array this function returned,
 * *cap its capacity (elements). New elements are zeroed. 0 or
 * DM_ERR_NOMEM (then *arr is unchanged and still owned by the reply).
 */
int cwmp_reply_reserve(cwmp_reply *r, void **arr, size_t *cap, size_t need, size_t elem);
/*
 * Turn the reply into a CWMP fault (any earlier content is dropped from
 * the message, not from storage): faultcode Client or Server from the
 * table, faultstring "CWMP fault", FaultString = detail when not NULL or
 * empty, else the table's text. Returns 0 or DM_ERR_NOMEM.
 */
int cwmp_reply_fault(cwmp_reply *r, unsigned code, const char *detail);
/* Add one SetParameterValuesFault entry to a fault made by cwmp_reply_fault. */
int cwmp_reply_spv_fault(cwmp_reply *r, const char *name, unsigned code, const char *detail);

/* ---------------------------------------------------------------------------
 * CWMP faults (TR-069 A.5): one table for every code the CPE or the ACS
 * may use, and the one rule turning an engine error into a CPE fault.
 * ------------------------------------------------------------------------- */

enum {
	CWMP_FAULT_METHOD_NOT_SUPPORTED = 9000,
	CWMP_FAULT_REQUEST_DENIED = 9001,
	CWMP_FAULT_INTERNAL = 9002,
	CWMP_FAULT_INVALID_ARGUMENTS = 9003,
	CWMP_FAULT_RESOURCES_EXCEEDED = 9004,
	CWMP_FAULT_INVALID_PARAMETER_NAME = 9005,
	CWMP_FAULT_INVALID_PARAMETER_TYPE = 9006,
	CWMP_FAULT_INVALID_PARAMETER_VALUE = 9007,
	CWMP_FAULT_NON_WRITABLE = 9008,
	CWMP_FAULT_NOTIFICATION_REJECTED = 9009,
	CWMP_FAULT_DOWNLOAD_FAILURE = 9010,
	CWMP_FAULT_UPLOAD_FAILURE = 9011,
	CWMP_FAULT_FILE_SERVER_AUTH = 9012,
	CWMP_FAULT_UNSUPPORTED_PROTOCOL = 9013,
	CWMP_FAULT_MULTICAST_JOIN = 9014,
	CWMP_FAULT_CONTACT_FILE_SERVER = 9015,
	CWMP_FAULT_ACCESS_FILE = 9016,
	CWMP_FAULT_COMPLETE_DOWNLOAD = 9017,
	CWMP_FAULT_FILE_CORRUPTED = 9018,
	CWMP_FAULT_FILE_AUTH = 9019,
	CWMP_FAULT_TIME_WINDOWS = 9020,
	CWMP_FAULT_CANCEL_NOT_PERMITTED = 9021,
	CWMP_FAULT_INVALID_UUID = 9022,
	CWMP_FAULT_UNKNOWN_EE = 9023,
	CWMP_FAULT_DISABLED_EE = 9024,
	CWMP_FAULT_DU_EE_MISMATCH = 9025,
	CWMP_FAULT_DUPLICATE_DU = 9026,
	CWMP_FAULT_SYSTEM_RESOURCES = 9027,
	CWMP_FAULT_UNKNOWN_DU = 9028,
	CWMP_FAULT_INVALID_DU_STATE = 9029,
	CWMP_FAULT_DU_DOWNGRADE = 9030,
	CWMP_FAULT_DU_NO_VERSION = 9031,
	CWMP_FAULT_DU_VERSION_EXISTS = 9032,
	/* ACS faults (answers to the CPE's requests) */
	CWMP_ACS_FAULT_METHOD_NOT_SUPPORTED = 8000,
	CWMP_ACS_FAULT_REQUEST_DENIED = 8001,
	CWMP_ACS_FAULT_INTERNAL = 8002,
	CWMP_ACS_FAULT_INVALID_ARGUMENTS = 8003,
	CWMP_ACS_FAULT_RESOURCES_EXCEEDED = 8004,
	CWMP_ACS_FAULT_RETRY_REQUEST = 8005,
	CWMP_ACS_FAULT_VERSION_INCOMPATIBLE = 8006,
};

/* The table's text for a code ("Invalid parameter name"); vendor and
 * reserved ranges get a generic text; never NULL. */
const char *cwmp_fault_text(unsigned code);
/* "Client" when the request's content caused the fault, else "Server". */
const char *cwmp_fault_faultcode(unsigned code);

/* Which RPC an engine error arose in: the same error is a different fault
 * per RPC (a missing instance is 9005 everywhere, a read-only parameter is
 * 9008 in SetParameterValues but 9005 for AddObject on a non-table ...). */
typedef enum cwmp_fault_ctx {
	CWMP_CTX_READ,       /* GPV, GPN, GPA: name resolution */
	CWMP_CTX_SET_PARAM,  /* one SetParameterValues entry */
	CWMP_CTX_SET_ATTR,   /* one SetParameterAttributes entry */
	CWMP_CTX_ADD_OBJECT,
	CWMP_CTX_DELETE_OBJECT,
	CWMP_CTX_OTHER,
} cwmp_fault_ctx;

/* The CPE fault for an engine error (e->code, e->reason) in that RPC. */
unsigned cwmp_fault_from_dm(const dm_errinfo *e, cwmp_fault_ctx ctx);

/* ---------------------------------------------------------------------------
 * The agent
 * ------------------------------------------------------------------------- */

/* One RPC handler: answer req into rep (a response or a fault); never
 * leaves rep empty. Runs on the loop; may commit to the engine. */
typedef void (*cwmp_rpc_fn)(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);

/* How soon a raised event wants a session (cwmp_agent.raise). */
typedef enum cwmp_urgency {
	CWMP_RAISE_QUEUE,     /* ride the next session, whenever (passive notification) */
	CWMP_RAISE_THROTTLED, /* open one, no sooner than DefaultActiveNotificationThrottle */
	CWMP_RAISE_NOW,       /* open one as soon as the session rules allow */
	/* or'ed in: the same occurrence as one that may still wait (an "M"
	 * code with the same CommandKey is not queued twice) */
	CWMP_RAISE_AGAIN = 0x100,
} cwmp_urgency;

/* Actions that wait for the current session to end successfully. */
typedef enum cwmp_after {
	CWMP_AFTER_REBOOT,
	CWMP_AFTER_FACTORY_RESET,
} cwmp_after;

struct cwmp_agent {
	dm *d;
	core_loop *loop;
	/* options, strings owned by the agent */
	char *state_dir;
	char *cr_address;
	int cr_port;
	int cr_limit; /* accepted Connection Requests per 10 s: 0 default, -1 none */
	char *tls_ca, *tls_cert, *tls_key;
	char *boot_cause;
	const dm_view *view; /* the ACS's names (cwmp_options.view), or NULL */
	map_proxy *proxy;    /* the USP Broker's registry (cwmp_options.proxy), or NULL */
	/* every change the ACS makes carries this origin; who = the ACS URL */
	dm_origin origin;
	char origin_who[1024];

	/* RPC dispatch: handlers[kind] answers requests of that kind; NULL
	 * ones get 9000. Modules register theirs when they open. */
	cwmp_rpc_fn rpc[CWMP_MSG_KIND_COUNT];
	/* The ACS request whose answer comes later (rpc.h cwmp_rpc_defer),
	 * NULL when none waits. */
	struct cwmp_rpc_wait *rpc_wait;

	cwmp_events *events;
	cwmp_attrs *attrs;
	cwmp_session *session;
	cwmp_connreq *cr;
	cwmp_transfers *xfers;

	/* --- services, wired by agent.c; unit tests install their own. A
	 * hook whose module is not open is NULL: callers check. ---------- */

	/* Record an event for the next Inform (durably when its retention
	 * class survives a reboot; "M ..." codes carry command_key) and open
	 * a session as urgency says. 0 or a negative dm_err. */
	int (*raise)(cwmp_agent *a, const char *code, const char *command_key, cwmp_urgency urgency);
	/* Run what after asks for once the current session has ended well
	 * (at once when no session is running). */
	void (*after_session)(cwmp_agent *a, cwmp_after after, const char *command_key);
	/* An authenticated Connection Request arrived. */
	void (*connection_request)(cwmp_agent *a);

	/* The Inform's ParameterList for these events: the forced Inform
	 * parameters, the changed notified parameters (only when events hold
	 * "4 VALUE CHANGE"), InformParameter rows. Filled into rep's storage. */
	int (*inform_params)(cwmp_agent *a, dm_txn *t, const cwmp_event *events, size_t n_events,
			     cwmp_reply *rep, cwmp_param_value **params, size_t *n_params);
	/* The Inform built by the last inform_params call was acknowledged. */
	void (*inform_delivered)(cwmp_agent *a);

	/* The next CPE request (TransferComplete, AutonomousTransferComplete,
	 * DUStateChangeComplete) into rep; false when there is none. */
	bool (*next_request)(cwmp_agent *a, cwmp_reply *rep);
	/* The ACS answered the request next_request gave last: resp is its
	 * response or a Fault (8005: keep it and retry in a later session). */
	void (*request_answered)(cwmp_agent *a, const cwmp_msg *resp);
	/* A session ended; ok when it ended successfully (transfers that
	 * waited for it may start). */
	void (*session_ended)(cwmp_agent *a, bool ok);
	/* Send the late answer to the deferred ACS request the session waits
	 * on (rpc.h cwmp_rpc_answer_late); dropped when it waits no more. */
	void (*late_answer)(cwmp_agent *a, cwmp_reply *rep);
};

/* Begin a transaction for an ACS request: its paths are in the names of
 * the CWMP view (a->view). The agent's own reads stay in stored names. */
static inline int cwmp_acs_txn_begin(cwmp_agent *a, dm_txn_mode mode, const dm_origin *origin, dm_txn **t)
{
	int rc = dm_txn_begin(a->d, mode, origin, t);

	if (!rc)
		dm_txn_set_view(*t, a->view);
	return rc;
}

/* Register a handler (rpc.c dispatches). */
static inline void cwmp_rpc_register(cwmp_agent *a, cwmp_msg_kind kind, cwmp_rpc_fn fn)
{
	a->rpc[kind] = fn;
}

/* The RPC method name of a request kind ("GetParameterValues"); NULL for
 * kinds that are not ACS requests. */
const char *cwmp_rpc_method_name(cwmp_msg_kind kind);

/* The xsi:type a parameter's values travel with (TR-069 Table 12): its
 * base type; a decimal, which CWMP lacks, and a list go as strings. */
cwmp_value_type cwmp_value_type_of(const dm_node *param);

/* Fill buf with n bytes from the kernel's random source (getrandom):
 * 1 on success, 0 on failure (the RAND_bytes convention). Not OpenSSL's
 * generator: starting that costs megabytes before any TLS is needed. */
int cwmp_random_bytes(unsigned char *buf, size_t n);

#endif /* DUET_CWMP_INT_H */
