/*
 * usp_int.h - the USP front end's internal contract, shared by its files:
 *
 *   agent.c        the agent: endpoint ID, connections, MTP registry, the
 *                  path from received Record to sent response, usp_send_msg
 *   record.c       USP Record encode/decode (usp-record-1-4.proto)
 *   msg.c          Msg decode, dispatch by request type, Error responses,
 *                  response memory (usp_mem)
 *   msg_get.c, msg_set.c, msg_add.c, msg_delete.c, msg_instances.c,
 *   msg_supported.c (GetSupportedDM, GetSupportedProtocol), msg_operate.c
 *                  one file per request type
 *   errors.c       the USP error code table (7000-7033 and per-message codes)
 *   subs.c         Device.LocalAgent.Subscription, Notify, retry
 *   trust.c        ControllerTrust roles and permissions
 *   mtp_uds.c, mtp_ws.c, mtp_mqtt.c   the MTPs on the core loop
 *   broker*.c      the USP Broker: Services, Register/Deregister,
 *                  forwarding to Services (broker_fwd.c), merged Gets
 *                  (broker_merge.c), relayed subscriptions (broker_notify.c)
 *
 * protobuf-c types appear here and in usp/ only. The engine is reached
 * through dm.h only.
 */
#ifndef DUET_USP_INT_H
#define DUET_USP_INT_H

#include "proxy.h"
#include "usp.h"

#include "usp-msg-1-4.pb-c.h"
#include "usp-record-1-4.pb-c.h"

/* protoc-c names the usp_record package's types UspRecord__*; the contract
 * below was written with this spelling, kept as an alias (record.c). */
typedef UspRecord__Record Usp_record__Record;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USP_VERSION "1.4"
#define USP_SUPPORTED_VERSIONS "1.0,1.1,1.2,1.3,1.4"
#define USP_ENDPOINT_MAX 256

/* ---------------------------------------------------------------------------
 * Response memory: every allocation made while building one response lives
 * here and goes with one usp_mem_free (protobuf-c messages are trees of
 * small allocations).
 * ------------------------------------------------------------------------- */

typedef struct usp_mem usp_mem;
usp_mem *usp_mem_new(void);
void *usp_mem_alloc(usp_mem *m, size_t size); /* zeroed; NULL on OOM */
char *usp_mem_strdup(usp_mem *m, const char *s);
char *usp_mem_printf(usp_mem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grow-by-one helper for repeated fields: appends item to (*arr, *n). */
int usp_mem_push(usp_mem *m, void ***arr, size_t *n, void *item);
void usp_mem_free(usp_mem *m);

/* ---------------------------------------------------------------------------
 * Errors (errors.c): the one table from engine errors to USP error codes.
 * ------------------------------------------------------------------------- */

enum {
	USP_ERR_MESSAGE_FAILED = 7000,
	USP_ERR_MESSAGE_NOT_SUPPORTED = 7001,
	USP_ERR_REQUEST_DENIED = 7002,
	USP_ERR_INTERNAL_ERROR = 7003,
	USP_ERR_INVALID_ARGUMENTS = 7004,
	USP_ERR_RESOURCES_EXCEEDED = 7005,
	USP_ERR_PERMISSION_DENIED = 7006,
	USP_ERR_INVALID_CONFIGURATION = 7007,
	USP_ERR_INVALID_PATH_SYNTAX = 7008,
	USP_ERR_PARAM_ACTION_FAILED = 7009,
	USP_ERR_UNSUPPORTED_PARAM = 7010,
	USP_ERR_INVALID_TYPE = 7011,
	USP_ERR_INVALID_VALUE = 7012,
	USP_ERR_PARAM_NOT_WRITABLE = 7013,
	USP_ERR_VALUE_CONFLICT = 7014,
	USP_ERR_OPERATION_ERROR = 7015,
	USP_ERR_OBJECT_DOES_NOT_EXIST = 7016,
	USP_ERR_CREATION_FAILURE = 7017,
	USP_ERR_NOT_A_TABLE = 7018,
	USP_ERR_OBJECT_NOT_CREATABLE = 7019,
	USP_ERR_OBJECT_NOT_UPDATED = 7020,
	USP_ERR_REQUIRED_PARAM_FAILED = 7021,
	USP_ERR_COMMAND_FAILURE = 7022,
	USP_ERR_COMMAND_CANCELLED = 7023,
	USP_ERR_DELETE_FAILURE = 7024,
	USP_ERR_DUPLICATE_KEY = 7025,
	USP_ERR_INVALID_PATH = 7026,
	USP_ERR_INVALID_COMMAND_ARGS = 7027,
	USP_ERR_REGISTER_FAILURE = 7028,
	USP_ERR_ALREADY_IN_USE = 7029,
	USP_ERR_DEREGISTER_FAILURE = 7030,
	USP_ERR_PATH_ALREADY_REGISTERED = 7031,
	/* Record-level errors (Disconnect / E2E) */
	USP_ERR_RECORD_NOT_PARSED = 7100,
	USP_ERR_SECURE_SESSION_REQUIRED = 7101,
	USP_ERR_SECURE_SESSION_NOT_SUPPORTED = 7102,
	USP_ERR_SEGMENTATION_NOT_SUPPORTED = 7103,
	USP_ERR_INVALID_RECORD_VALUE = 7104,
	USP_ERR_SESSION_CONTEXT_TERMINATED = 7105,
	USP_ERR_SESSION_CONTEXT_NOT_ALLOWED = 7106,
};

/* Which operation an engine error happened in: the same engine error maps to
 * different USP codes per message (e.g. NOT_WRITABLE is 7013 in Set, 7019
 * in Add, 7024 in Delete). Names and codes as TR-369's error code table. */
typedef enum usp_op {
	USP_OP_GET,
	USP_OP_SET,
	USP_OP_ADD,
	USP_OP_DELETE,
	USP_OP_OPERATE,
	USP_OP_GET_INSTANCES,
	USP_OP_GET_SUPPORTED_DM,
	USP_OP_NOTIFY,
} usp_op;

/* The USP error code for an engine error in an operation. */
uint32_t usp_err_code(int dm_err, usp_op op);
/* Spec name of a USP error code ("Invalid path"), for err_msg fallbacks. */
const char *usp_err_text(uint32_t code);

/* ---------------------------------------------------------------------------
 * Trust (trust.c): who is asking, and what may they do.
 * ------------------------------------------------------------------------- */

typedef struct usp_role usp_role; /* effective permissions of one Controller */

/* The Controller a message came from. */
typedef struct usp_ctl {
	char endpoint_id[USP_ENDPOINT_MAX];
	uint32_t controller_inst; /* Device.LocalAgent.Controller.{i}; 0 = unknown Controller */
	const usp_role *role;     /* NULL = full access */
} usp_ctl;

/* Permission targets and flags as TR-369 ControllerTrust Permission names them. */
typedef enum usp_perm_kind {
	USP_PERM_PARAM,     /* Permission.{i}.Param */
	USP_PERM_OBJ,       /* Permission.{i}.Obj (supported objects) */
	USP_PERM_INST_OBJ,  /* Permission.{i}.InstantiatedObj */
	USP_PERM_CMD_EVENT, /* Permission.{i}.CommandEvent */
} usp_perm_kind;
enum { USP_PERM_R = 1, USP_PERM_W = 2, USP_PERM_X = 4, USP_PERM_N = 8 };

/* Fill ctl->controller_inst and ctl->role for ctl->endpoint_id from the data
 * model (unknown Controllers get the Untrusted role). */
int usp_trust_identify(usp_agent *a, usp_ctl *ctl);
/* Does the role hold one of ControllerTrust.SecuredRoles (its Gets read
 * secured parameters' values)? NULL (full access in tools) does not. */
bool usp_role_secured(const usp_role *r);
/* May ctl do flag on this instantiated path (parameter, object instance
 * "Device.X.1.", or command/event "Device.Reboot()")? */
bool usp_allowed(const usp_ctl *ctl, usp_perm_kind kind, const char *path, unsigned flag);
/* Roles are cached; the agent calls this when ControllerTrust or Controller
 * configuration changes. */
void usp_trust_invalidate(usp_agent *a);

/* ---------------------------------------------------------------------------
 * Messages (msg.c and msg_*.c)
 * ------------------------------------------------------------------------- */

/* Everything a request handler needs. */
typedef struct usp_req_ctx {
	usp_agent *agent;
	dm *d;
	const usp_ctl *ctl;
	const Usp__Msg *req; /* the decoded request */
	usp_mem *mem;        /* for everything in the response */
	const dm_view *view; /* the Controllers' names (usp_options.view), or NULL */
} usp_req_ctx;

/* Begin a transaction of a Controller's request: its paths are in the
 * names of c->view. */
int usp_req_txn_begin(const usp_req_ctx *c, dm_txn_mode mode, const dm_origin *origin, dm_txn **t);

/*
 * A request handler fills resp (a Usp__Response already linked into the
 * response Msg; the handler sets resp_type_case and the body). It returns 0,
 * or a USP error code to answer with an Error message instead (then
 * *err_msg may name the reason and param_errs may be added with
 * usp_error_add_param).
 */
typedef int (*usp_req_handler)(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);

int usp_handle_get(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_set(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_add(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_delete(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_get_instances(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_get_supported_dm(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_get_supported_proto(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
int usp_handle_operate(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err);
/* A NotifyResp from a Controller: settles a pending Notify (subs.c). */
void usp_handle_notify_resp(usp_agent *a, const usp_ctl *ctl, const Usp__Msg *msg);

/* Add a ParamError to an Error message. */
int usp_error_add_param(usp_mem *m, Usp__Error *err, const char *path, uint32_t code, const char *msg);

/*
 * Handle one Msg payload received from ctl. *resp gets the encoded response
 * Msg (malloc'd; NULL when none is due, e.g. for a NotifyResp or a response
 * message). Malformed payloads get an Error message (7004 / 7001) when a
 * msg_id could be read, else nothing. Returns 0 or a negative dm_err (NOMEM).
 */
int usp_msg_handle(usp_agent *a, const usp_ctl *ctl, const uint8_t *buf, size_t len, uint8_t **resp,
		   size_t *resp_len);

/* Encode a Msg (malloc'd bytes). */
int usp_msg_pack(const Usp__Msg *m, uint8_t **out, size_t *len);

/* ---------------------------------------------------------------------------
 * Records (record.c)
 * ------------------------------------------------------------------------- */

typedef enum usp_rec_kind {
	USP_REC_NONE,
	USP_REC_NO_SESSION,
	USP_REC_SESSION,
	USP_REC_WEBSOCKET_CONNECT,
	USP_REC_MQTT_CONNECT,
	USP_REC_STOMP_CONNECT,
	USP_REC_DISCONNECT,
	USP_REC_UDS_CONNECT,
} usp_rec_kind;

typedef struct usp_record {
	char version[16];
	char to_id[USP_ENDPOINT_MAX];
	char from_id[USP_ENDPOINT_MAX];
	bool plaintext;            /* payload_security == PLAINTEXT */
	usp_rec_kind kind;
	const uint8_t *payload;    /* NO_SESSION: the Msg bytes (points into pb) */
	size_t payload_len;
	/* MQTT_CONNECT */
	bool mqtt_v5;
	char subscribed_topic[512];
	/* DISCONNECT */
	char reason[256];
	uint32_t reason_code;
	Usp_record__Record *pb;    /* owns the memory payload points into */
} usp_record;

/* Decode; USP_ERR_RECORD_NOT_PARSED when the bytes are not a Record, or a
 * required field is missing. Free with usp_record_free. */
int usp_record_parse(const uint8_t *buf, size_t len, usp_record *out);
void usp_record_free(usp_record *r);

/* Build a Record. For NO_SESSION, payload is the Msg; for MQTT_CONNECT,
 * mqtt_v5/topic apply; for DISCONNECT, reason/code. Output malloc'd. */
typedef struct usp_record_out {
	usp_rec_kind kind;
	const char *to_id;
	const char *from_id;
	const uint8_t *payload;
	size_t payload_len;
	bool mqtt_v5;
	const char *subscribed_topic;
	const char *reason;
	uint32_t reason_code;
} usp_record_out;
int usp_record_build(const usp_record_out *r, uint8_t **out, size_t *len);

/* ---------------------------------------------------------------------------
 * Connections and MTPs
 * ------------------------------------------------------------------------- */

typedef enum usp_mtp_kind {
	USP_MTP_UDS,
	USP_MTP_WEBSOCKET,
	USP_MTP_MQTT,
} usp_mtp_kind;

typedef struct usp_conn usp_conn;

typedef struct usp_conn_ops {
	/* Queue one encoded Record on this connection (or to its reply
	 * destination). Never blocks. 0 or a negative dm_err. */
	int (*send)(usp_conn *c, const uint8_t *rec, size_t len);
	/* Close after a fatal record error (the MTP tells the peer its way). */
	void (*close)(usp_conn *c, uint32_t code, const char *reason);
} usp_conn_ops;

/* One path to a peer: a WebSocket or UDS connection, or an MQTT reply topic. */
struct usp_conn {
	const usp_conn_ops *ops;
	usp_mtp_kind kind;
	char peer_id[USP_ENDPOINT_MAX]; /* the peer's EndpointID when the MTP learnt it, else "" */
	char reply_to[512];             /* MQTT: the topic to answer to */
	void *mtp;                      /* the MTP's own state for this connection */
	struct usp_conn *next;          /* agent.c's list of live connections */
};

typedef struct usp_mtp usp_mtp;
struct usp_mtp {
	const char *name;
	usp_mtp_kind kind;
	usp_agent *agent;
	void *priv;
	/* (Re)read this MTP's configuration from the data model and open, close
	 * or reconnect accordingly; called at start and after relevant changes. */
	int (*configure)(usp_mtp *m);
	/* Send a Record to a Controller that has no open connection to us on
	 * this MTP (WebSocket client connect, MQTT publish to its topic).
	 * DM_ERR_NOT_INSTANTIATED when this MTP has no way to reach it. */
	int (*send_to)(usp_mtp *m, const char *endpoint_id, const uint8_t *rec, size_t len);
	void (*stop)(usp_mtp *m);
	usp_mtp *next;
};

/* MTP constructors (each file provides one). */
/* broker_path: the USP Broker socket (NULL: none), whose connections go
 * to usp_broker_* rather than to the agent. */
int usp_mtp_uds_new(usp_agent *a, const char *extra_path, const char *broker_path, usp_mtp **out);
int usp_mtp_ws_new(usp_agent *a, usp_mtp **out);
int usp_mtp_mqtt_new(usp_agent *a, usp_mtp **out);

/* Called by MTPs: a connection appeared / went away, a Record arrived. */
void usp_conn_up(usp_agent *a, usp_conn *c);
void usp_conn_down(usp_agent *a, usp_conn *c);
void usp_on_record(usp_agent *a, usp_conn *c, const uint8_t *buf, size_t len);

/* The agent's pieces, for the MTPs and handlers. */
dm *usp_agent_dm(usp_agent *a);
core_loop *usp_agent_loop(usp_agent *a);
const usp_options *usp_agent_options(usp_agent *a);

/*
 * Send a Msg to a Controller: wrapped in a NoSessionContext Record from our
 * EndpointID, on an open connection to it if there is one, else through the
 * first MTP whose send_to can reach it. DM_ERR_NOT_INSTANTIATED: no route now.
 */
int usp_send_msg(usp_agent *a, const char *to_endpoint, const Usp__Msg *msg);

/* ---------------------------------------------------------------------------
 * Subscriptions and notifications (subs.c)
 * ------------------------------------------------------------------------- */

typedef struct usp_subs usp_subs;
int usp_subs_start(usp_agent *a, usp_subs **out);
void usp_subs_stop(usp_subs *s);
usp_subs *usp_agent_subs(usp_agent *a);
/* An async Operate finished (msg_operate.c): notify subscribed Controllers. */
void usp_subs_operation_complete(usp_subs *s, const char *requester, const char *cmd_path,
				 const char *command_key, int code, const char *err_msg, const dm_arg *out,
				 size_t n_out);

/* ---------------------------------------------------------------------------
 * record checks (record.c): what the agent does with a received Record.
 * The rule table, with the TR-369 requirement of each row, is at the top of
 * record.c.
 * ------------------------------------------------------------------------- */

typedef enum usp_rec_action {
	USP_REC_ACCEPT,       /* process it (NO_SESSION: hand the payload to usp_msg_handle) */
	USP_REC_DROP,         /* ignore it silently; the connection stays up */
	USP_REC_ERROR_RECORD, /* answer with usp_record_error_answer, then ignore it */
	USP_REC_CLOSE,        /* close the MTP connection (ops->close with the err_code) */
} usp_rec_action;

/*
 * Decide what to do with a Record that usp_record_parse accepted, as the
 * Agent our_endpoint_id. Returns a usp_rec_action; *err_code (optional) gets
 * the USP Record error code (71xx) for the answer and for logs, 0 on
 * ACCEPT; *why (optional) a static text for logs and for the answer.
 */
int usp_record_check(const usp_record *r, const char *our_endpoint_id, uint32_t *err_code, const char **why);

/*
 * What to do when usp_record_parse failed with status on a connection of
 * this MTP kind: a Record that cannot be decoded closes a WebSocket (R-WS.16)
 * or UNIX-socket (R-UDS.23) connection and is dropped on MQTT; a decoded
 * but unusable one (no record_type, missing or over-long IDs) is dropped.
 * Returns a usp_rec_action.
 */
int usp_record_parse_action(int status, usp_mtp_kind mtp);

/*
 * The answer to a Record that usp_record_check gave USP_REC_ERROR_RECORD,
 * encoded (malloc'd, from our_endpoint_id to r->from_id): a DisconnectRecord
 * with reason_code err_code for the Session Context codes 7105/7106
 * (R-E2E.6a); otherwise, only when R-MTP.5 allows an answer (r is addressed
 * to us and its payload is a Msg carrying a Request with a msg_id), a
 * NoSessionContext Record whose Msg is an Error (err_code, why) with that
 * msg_id. *out = NULL, *len = 0 when no answer is due. Returns 0 or a
 * negative dm_err (DM_ERR_NOMEM, DM_ERR_INVALID_ARG).
 */
int usp_record_error_answer(const usp_record *r, const char *our_endpoint_id, uint32_t err_code, const char *why,
			    uint8_t **out, size_t *len);

/* ---------------------------------------------------------------------------
 * Added by msg.c / errors.c / mem.c (declarations beyond the shared contract
 * above; nothing in it changes).
 * ------------------------------------------------------------------------- */

/* usp_mem_push derives an array's capacity from its count: an array must
 * start empty (NULL, 0) and grow only through usp_mem_push; arrays of a known
 * size are better taken whole from usp_mem_alloc. */

/* A zeroed, initialised protobuf-c message of type desc in m (NULL on OOM):
 * usp_mem_new_msg(m, &usp__get_resp__descriptor). */
void *usp_mem_new_msg(usp_mem *m, const ProtobufCMessageDescriptor *desc);

/* usp_err_code with the whole errinfo: DM_ERR_INVALID_VALUE with reason
 * TYPE is 7011 (Invalid type), any other reason 7012. param: the error came
 * from one of a Set/Add request's param_settings rather than from its object
 * path (e.g. NOT_IN_SCHEMA is 7010 Unsupported parameter there, 7026 Invalid
 * path for the object path). */
uint32_t usp_err_code_ex(const dm_errinfo *e, usp_op op, bool param);

/* usp_msg_handle on an explicit engine: a may be NULL (unit tests, tools);
 * a NotifyResp then settles nothing. */
int usp_msg_process(usp_agent *a, dm *d, const usp_ctl *ctl, const uint8_t *buf, size_t len,
		    uint8_t **resp, size_t *resp_len);

/* pb_text.c: does every string field of m, and of all it nests, hold
 * UTF-8, as protobuf requires and protobuf-c does not check? NULL is. */
bool usp_pb_text_valid(const ProtobufCMessage *m);

/* Helpers the request handlers share (msg.c). */

/* One resolved object: instantiated path (in the handler's usp_mem) and node. */
typedef struct usp_obj {
	const char *path;
	const dm_node *node;
} usp_obj;

/* Resolve an object path expression (wildcards, search expressions) to the
 * objects it names, in store order. A path that is not an object path gives
 * DM_ERR_NOT_OBJECT, one that ends at a table rather than at instances gives
 * DM_ERR_NOT_IN_SCHEMA (Set and Delete act on instances). An expression that
 * matches nothing gives 0 objects and DM_OK. */
int usp_resolve_objects(usp_mem *m, dm_txn *t, const char *expr, usp_obj **objs, size_t *n,
			dm_errinfo *err);

/* Read a parameter's value (as a manager sees it: hidden ones "") into m. */
int usp_read_value(usp_mem *m, dm *d, dm_txn *t, const char *path, char **out);

/* A key/value pair in m (map<string,string> fields). */
typedef struct usp_kv {
	const char *key;
	const char *value;
} usp_kv;

/* The unique-key parameters of a table instance (every key set, each
 * parameter once) with their values, leaving out those ctl may not read. */
int usp_unique_keys(usp_req_ctx *c, dm_txn *t, const char *inst_path, const dm_node *table, usp_kv **kv,
		    size_t *n);

/* Is name a parameter of one of table's unique keys? (Add treats those as
 * required, TR-369 "CreateParamSetting Fields".) */
bool usp_is_unique_key_param(const dm_node *table, const char *name);

/* ---------------------------------------------------------------------------
 * Added with subs.c and trust.c (beyond the first contract)
 * ------------------------------------------------------------------------- */

/* How subs.c hands a Notify to the wire: usp_subs_start installs one that
 * calls usp_send_msg; tests replace it to capture Notify messages. Returns 0
 * or a negative dm_err (DM_ERR_NOT_INSTANTIATED: no route to the Controller
 * now, a retrying Notify stays pending). */
typedef int (*usp_subs_send_fn)(void *ctx, const char *to_endpoint, const Usp__Msg *msg);
void usp_subs_set_sender(usp_subs *s, usp_subs_send_fn fn, void *ctx);
/* Optional: a Controller just connected; pending Notify messages to it are
 * sent now instead of at their next retry time. */
void usp_subs_controller_up(usp_subs *s, const char *endpoint_id);

/* ---------------------------------------------------------------------------
 * Added for msg_operate.c and msg_supported.c (Operate, GetSupportedDM).
 * ------------------------------------------------------------------------- */

/*
 * A request handler's third kind of return value, besides 0 and a USP error
 * code: the request was carried out and no response is due (Operate with
 * send_resp=false where nothing failed, R-OPR.4). usp_msg_handle then sends
 * nothing (*resp = NULL) and frees the response memory. Never a USP error
 * code (those are 7000-7999).
 */
#define USP_NO_RESPONSE 1

/*
 * At agent start, after usp_subs_start: finish the USP async operations
 * that a stop or crash interrupted. TR-369 "Persistence of Asynchronous
 * Operations": each is considered to have failed, so subscribed Controllers
 * get an OperationComplete with cmd_failure 7022 (a firmware activation,
 * which restarts the agent by design, with its outcome from
 * map_xfer_usp_outcome instead), and every leftover
 * Device.LocalAgent.Request row is removed (its Status set to Error first).
 * Requests of other origins (CWMP, internal) are left to their owners.
 * Returns 0 or a negative dm_err.
 */
int usp_operate_recover(usp_agent *a);
/* The same on an engine alone (subs NULL: nothing is notified). */
int usp_operate_recover_dm(dm *d, usp_subs *subs);
/*
 * At agent stop, after the loop stopped and before dm_close: free the
 * bookkeeping of d's async operations still running. They stay recorded in
 * the store and usp_operate_recover reports them at the next start.
 */
void usp_operate_release(dm *d);

/* Whether ValueChange subscriptions ignore this parameter (GetSupportedDM
 * reports it as VALUE_CHANGE_WILL_IGNORE): the schema's activeNotify canDeny,
 * values that change too often to be worth a notification. subs.c and
 * msg_supported.c share this one rule. */
bool usp_value_change_ignored(const dm_node *param);

/* ---------------------------------------------------------------------------
 * The USP Broker (broker.c, broker_fwd.c): USP Services connect to the
 * Broker socket (mtp_uds.c), where the agent is their Controller; they
 * Register the paths they serve (mapping/proxy.h holds them), and requests
 * on those paths are forwarded to them.
 * ------------------------------------------------------------------------- */

typedef struct usp_broker usp_broker;

/* Start the Broker on the registry reg (usp_options.proxy); NULL reg: no
 * Broker, *out = NULL. 0 or a negative dm_err. */
int usp_broker_start(usp_agent *a, map_proxy *reg, usp_broker **out);
/* broker_table.c: Device.USPServices.USPService.{i} brought in line with
 * the registry (one row per Service holding paths). */
void usp_broker_table_sync(usp_agent *a, const map_proxy *reg);
/* Fail every request still waiting and free (after the MTPs stopped). */
void usp_broker_stop(usp_broker *b);
usp_broker *usp_agent_broker(usp_agent *a);

/* The Broker socket's connections (mtp_uds.c): a Service finished the
 * Handshake, sent a Record, went away (its paths go with it). */
void usp_broker_conn_up(usp_broker *b, usp_conn *c);
void usp_broker_on_record(usp_broker *b, usp_conn *c, const uint8_t *buf, size_t len);
void usp_broker_conn_down(usp_broker *b, usp_conn *c);

/*
 * A Controller's request (msg.c, before the agent serves it): when every
 * path it names lies under paths one Service registered, it is forwarded
 * to that Service whole and the Service's answer goes back to the
 * Controller later under msg_id. Returns 0 when the agent serves the
 * request itself, USP_NO_RESPONSE when forwarded, or a USP error code to
 * answer with now.
 */
int usp_broker_route(usp_req_ctx *c, const char *msg_id);

/* Besides 0, USP_NO_RESPONSE and error codes, usp_broker_route may answer
 * this: the agent serves the Get, and hands its packed answer to
 * usp_broker_merge, which adds what Services registered below its paths. */
#define USP_BROKER_MERGE 2

map_proxy *usp_broker_registry(usp_broker *b);
/* A request Msg in m: its header (msg_id, type) and a body holding a new
 * Request, given in *rq for the caller to fill. NULL when out of memory. */
Usp__Msg *usp_broker_request_msg(usp_mem *m, const char *msg_id, Usp__Header__MsgType type, Usp__Request **rq);

/* A request of the Broker's own to the Service that registered path: the
 * Msg goes with a fresh msg_id; answer(ctx, msg, NULL) gets the Service's
 * answer, answer(ctx, NULL, why) a failure (deadline, Service gone, Broker
 * stopping). 0, or a negative dm_err (then answer is never called). */
typedef void (*usp_broker_answer_fn)(void *ctx, const Usp__Msg *answer, const char *why);
int usp_broker_ask(usp_broker *b, const char *path, const Usp__Msg *req, usp_broker_answer_fn answer, void *ctx);

/* broker_merge.c: a Controller's Get of object paths above registered
 * ones ("Device."). wanted: the request is such a Get. merge: take the
 * agent's packed answer (resp, malloc'd; owned on 0), ask each Service for
 * its subtrees, and send the merged GetResp to the Controller once all
 * answered or failed (a failed part is left out). Nonzero: the caller
 * sends resp itself. */
bool usp_broker_merge_wanted(const map_proxy *reg, const usp_req_ctx *c);
int usp_broker_merge(usp_req_ctx *c, uint8_t *resp, size_t len);

/* broker_notify.c: Controllers' subscriptions on registered paths, relayed
 * as Subscriptions of the Broker's own on the Services. changed: rows,
 * registrations or Services changed (compared again from the loop);
 * notify: a Service's Notify, passed to the row's Recipient when it is a
 * relay's (true); svc_gone: forget a Service's relays. */
typedef struct usp_broker_relays usp_broker_relays;
int usp_broker_relays_start(usp_broker *b, usp_agent *a, usp_broker_relays **out);
void usp_broker_relays_stop(usp_broker_relays *r);
void usp_broker_relays_changed(usp_broker_relays *r);
bool usp_broker_relays_notify(usp_broker_relays *r, const void *svc, const Usp__Notify *n);
void usp_broker_relays_svc_gone(usp_broker_relays *r, const void *svc);

/* broker_fwd.c: the requests the registry forwards (mapping/proxy.h) as
 * USP messages, and their answers read back into registry results. */
int usp_broker_fwd_build(usp_mem *m, const map_proxy_req *req, Usp__Request *out);
void usp_broker_fwd_answer(map_proxy_op *op, map_proxy_kind kind, const Usp__Msg *msg);

#endif /* DUET_USP_INT_H */
