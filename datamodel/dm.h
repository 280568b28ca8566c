/*
 * dm.h - the public interface of the duet data model engine.
 *
 * The engine holds one Device:2 data model: a schema loaded from BBF DM XML and
 * the instances and values of that schema stored in LMDB. It resolves paths
 * (USP grammar and CWMP partial paths), validates typed values, applies atomic
 * transactions, publishes committed changes, and dispatches commands and live
 * values to providers. It knows nothing of SOAP, protobuf or sockets: protocol
 * front ends and tools reach the data model only through this header.
 *
 * Conventions: every function returning int returns DM_OK (0) or a negative
 * dm_err. Strings handed to callbacks are valid only during the callback.
 * Strings returned through out-parameters are owned by the caller (free()).
 */
#ifndef DUET_DM_H
#define DUET_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

/* Each code is precise enough for a front end to pick the exact CWMP fault or
 * USP error of its spec; the mapping from code to fault lives in mapping/. */
typedef enum dm_err {
	DM_OK = 0,
	DM_ERR_NOMEM = -1,            /* allocation failed */
	DM_ERR_SYNTAX = -2,           /* path, expression or argument is malformed */
	DM_ERR_NOT_IN_SCHEMA = -3,    /* the path names nothing the schema supports */
	DM_ERR_NOT_INSTANTIATED = -4, /* schema knows it, but the instance does not exist */
	DM_ERR_NOT_READABLE = -5,     /* e.g. a command or event where a value was asked */
	DM_ERR_NOT_WRITABLE = -6,     /* read-only parameter or object not creatable/deletable */
	DM_ERR_INVALID_VALUE = -7,    /* value rejected; dm_errinfo.reason says why */
	DM_ERR_UNIQUE_KEY = -8,       /* change would duplicate a unique key within a table */
	DM_ERR_MAX_ENTRIES = -9,      /* table already holds maxEntries instances */
	DM_ERR_MIN_ENTRIES = -10,     /* delete would go below minEntries */
	DM_ERR_NOT_TABLE = -11,       /* add/delete on an object that is not multi-instance */
	DM_ERR_NOT_OBJECT = -12,      /* an object path was needed */
	DM_ERR_NOT_PARAM = -13,       /* a parameter path was needed */
	DM_ERR_NOT_COMMAND = -14,     /* operate on something that is not a command */
	DM_ERR_REQUIRED_ARG = -15,    /* a mandatory command input argument is missing */
	DM_ERR_INVALID_ARG = -16,     /* a command input argument is unknown or invalid */
	DM_ERR_NO_HANDLER = -17,      /* command known to the schema but not implemented */
	DM_ERR_CMD_FAILED = -18,      /* the command handler reported failure */
	DM_ERR_PROVIDER = -19,        /* a provider (vendor hook) refused or failed */
	DM_ERR_STORE = -20,           /* LMDB failed; the transaction was not applied */
	DM_ERR_DISK_FULL = -21,       /* store or disk full; nothing was applied */
	DM_ERR_CORRUPT_STORE = -22,   /* store unreadable or written by something else */
	DM_ERR_STORE_BUSY = -23,      /* another process holds the store */
	DM_ERR_SCHEMA_FILE = -24,     /* schema file unreadable or malformed */
	DM_ERR_DEFAULTS_FILE = -25,   /* factory-defaults file malformed */
	DM_ERR_TXN_STATE = -26,       /* call not valid in this transaction's state */
	DM_ERR_INTERNAL = -27,
	DM_ERR_TOO_DEEP = -28,        /* reference following or nesting limit hit */
	DM_ERR_NOT_SUPPORTED = -29,
	DM_ERR_DENIED = -30,          /* refused by the device's policy (see dm_guard_set) */
} dm_err;

/* Why a value was rejected (with DM_ERR_INVALID_VALUE). */
typedef enum dm_value_reason {
	DM_REASON_NONE = 0,
	DM_REASON_TYPE,        /* not a well-formed value of the base type */
	DM_REASON_RANGE,       /* numeric value outside every allowed range */
	DM_REASON_LENGTH,      /* string/binary length outside the size facet */
	DM_REASON_ENUMERATION, /* not one of the enumerated values */
	DM_REASON_PATTERN,     /* matches none of the patterns */
	DM_REASON_LIST,        /* list item count or list length out of bounds */
	DM_REASON_REFERENCE,   /* reference does not name a suitable object */
} dm_value_reason;

/* Detail of a failure: filled by any call that takes a dm_errinfo *. */
typedef struct dm_errinfo {
	int code;               /* the dm_err returned */
	dm_value_reason reason; /* for DM_ERR_INVALID_VALUE */
	char path[1024];        /* the path the error is about ("" if none) */
	char msg[256];          /* human-readable reason, never empty on error */
} dm_errinfo;

/* Static text for a dm_err code. */
const char *dm_strerror(int code);

/* ---------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------- */

typedef struct dm_schema dm_schema;
typedef struct dm_node dm_node; /* one supported object, parameter, command or event */

typedef enum dm_node_kind {
	DM_NODE_OBJECT,
	DM_NODE_PARAM,
	DM_NODE_COMMAND,
	DM_NODE_EVENT,
} dm_node_kind;

typedef enum dm_type {
	DM_TYPE_STRING,
	DM_TYPE_BOOLEAN,
	DM_TYPE_INT,           /* 32-bit signed */
	DM_TYPE_UNSIGNED_INT,  /* 32-bit unsigned */
	DM_TYPE_LONG,          /* 64-bit signed */
	DM_TYPE_UNSIGNED_LONG, /* 64-bit unsigned */
	DM_TYPE_DECIMAL,
	DM_TYPE_DATETIME,
	DM_TYPE_BASE64,
	DM_TYPE_HEXBINARY,
} dm_type;

typedef enum dm_access {
	DM_ACCESS_READ_ONLY,
	DM_ACCESS_READ_WRITE,        /* objects: instances may be added/deleted */
	DM_ACCESS_WRITE_ONCE_READ_ONLY,
} dm_access;

/* Counts as the BBF convention counts them: <object> elements directly under
 * <model>, and <parameter>/<command>/<event> directly inside those objects. */
typedef struct dm_schema_stats {
	unsigned objects, parameters, commands, events;
} dm_schema_stats;

/*
 * Load a BBF DM XML file (a "full" flattened file: the official TR-181 ones or
 * the bundled datamodel/device2.xml). On failure returns DM_ERR_SCHEMA_FILE and
 * err->msg reads "FILE:LINE: reason". The schema is immutable once loaded and
 * may be shared by any number of threads. Free with dm_schema_free().
 */
int dm_schema_load(const char *file, dm_schema **out, dm_errinfo *err);
void dm_schema_free(dm_schema *s);
void dm_schema_get_stats(const dm_schema *s, dm_schema_stats *out);
/* Model name as the file declares it, e.g. "Device:2.19". */
const char *dm_schema_model_name(const dm_schema *s);
/* The root object ("Device."). */
const dm_node *dm_schema_root(const dm_schema *s);
/* Look a node up by schema path: "Device.IP.Interface.{i}.Name",
 * "Device.IP.Interface.{i}.", "Device.Reboot()", "Device.Boot!".
 * Returns NULL when the schema has no such node. */
const dm_node *dm_schema_find(const dm_schema *s, const char *schema_path);

dm_node_kind dm_node_get_kind(const dm_node *n);
/* Last path segment: "Interface", "Name", "Reboot()", "Boot!". */
const char *dm_node_name(const dm_node *n);
/* Full schema path, objects end with "." ("Device.IP.Interface.{i}."). */
const char *dm_node_path(const dm_node *n);
const dm_node *dm_node_parent(const dm_node *n);
/* Children in document order: parameters, then commands/events, then
 * child objects, as the file lists them. */
const dm_node *dm_node_first_child(const dm_node *n);
const dm_node *dm_node_next_sibling(const dm_node *n);
/* Objects: multi-instance table? */
bool dm_node_is_table(const dm_node *n);
dm_access dm_node_access(const dm_node *n);
/* Parameters and arguments: base type after dataType resolution. */
dm_type dm_node_type(const dm_node *n);
/* Named dataType the parameter uses ("IPAddress"), or NULL. */
const char *dm_node_type_name(const dm_node *n);
/* Parameters: is the value a comma-separated list? */
bool dm_node_is_list(const dm_node *n);
/* Parameters: default value (object default preferred over factory), or NULL. */
const char *dm_node_default(const dm_node *n);
/* Commands: async flag. */
bool dm_node_is_async(const dm_node *n);
/* Commands: input/output argument lists; events: arguments (input list).
 * Arguments are DM_NODE_PARAM or DM_NODE_OBJECT nodes outside the path tree. */
const dm_node *dm_node_first_input(const dm_node *n);
const dm_node *dm_node_first_output(const dm_node *n);
/* Arguments: mandatory flag. */
bool dm_node_is_mandatory(const dm_node *n);
/* Objects: instance limits (max UINT32_MAX = unbounded). */
uint32_t dm_node_min_entries(const dm_node *n);
uint32_t dm_node_max_entries(const dm_node *n);
/* Tables: number of uniqueKey sets, and set i (its parameters in order). */
unsigned dm_node_unique_key_count(const dm_node *n);
int dm_node_unique_key(const dm_node *n, unsigned i, bool *functional, const dm_node *const **params,
		       unsigned *n_params);
/* Parameters: hidden/secured values read as "" (passwords). */
bool dm_node_is_hidden(const dm_node *n);
/* Parameters: CWMP forcedInform flag. */
bool dm_node_forced_inform(const dm_node *n);
/* CWMP activeNotify: what the device allows the ACS to ask of a
 * parameter's notification attribute. */
typedef enum dm_active_notify {
	DM_NOTIFY_NORMAL,         /* off by default, may be set to active */
	DM_NOTIFY_CAN_DENY,       /* the device may refuse active notification */
	DM_NOTIFY_FORCED,         /* forceEnabled: always active */
	DM_NOTIFY_DEFAULT_ACTIVE, /* forceDefaultEnabled: active until the ACS turns it off */
} dm_active_notify;
dm_active_notify dm_node_active_notify(const dm_node *n);

/* TR-106's Unknown Time: the dateTime of a moment nobody knows. */
#define DM_UNKNOWN_TIME "0001-01-01T00:00:00Z"

/* secs (since 1970) as a UTC dateTime "YYYY-MM-DDThh:mm:ssZ" into buf; a
 * time before 1971, a clock never set, reads as DM_UNKNOWN_TIME. */
void dm_datetime(int64_t secs, char *buf, size_t n);
/* Now, the same way. */
void dm_datetime_now(char *buf, size_t n);

/* Text name of a type ("unsignedInt"). */
const char *dm_type_name(dm_type t);

/*
 * Validate a value for a parameter and produce its canonical string form
 * (booleans "true"/"false", integers without leading zeros or '+', dateTime in
 * UTC "YYYY-MM-DDThh:mm:ss[.ffffff]Z" or the unknown-time forms, hexBinary
 * lower-case, ...). On success *canon is malloc'd by the engine.
 * Returns DM_ERR_INVALID_VALUE with err->reason/msg on rejection.
 */
int dm_value_check(const dm_node *param, const char *value, char **canon, dm_errinfo *err);

/* Is s (NUL-terminated) well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing beyond U+10FFFF)? The rule every string value obeys. */
bool dm_utf8_valid(const char *s);

/* ---------------------------------------------------------------------------
 * The engine: schema + store
 * ------------------------------------------------------------------------- */

typedef struct dm dm;
typedef struct dm_view dm_view; /* see "Views" below */

typedef struct dm_open_opts {
	const char *state_dir;     /* holds the LMDB store; created if missing */
	const char *defaults_file; /* applied to an empty store (and on factory reset); may be NULL */
	/* The names the defaults file may use besides the stored ones (a
	 * view with aliases, e.g. both TR-181 variants' names); NULL: stored
	 * names only. Must outlive the engine. */
	const dm_view *defaults_view;
	size_t map_size;           /* LMDB map size in bytes; 0 = default (256 MiB) */
	bool read_only;            /* open for inspection only (duetctl on a stopped store) */
	/* Told of problems that do not stop the engine (a bad factory-defaults
	 * line is skipped and reported here). NULL: printed on stderr. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
} dm_open_opts;

/*
 * Open (or create) the store in opts->state_dir for the given schema. The
 * schema must outlive the engine. A store written for a different model name
 * or by another program is refused (DM_ERR_CORRUPT_STORE), never reset. A
 * store held by another process gives DM_ERR_STORE_BUSY.
 */
int dm_open(dm_schema *schema, const dm_open_opts *opts, dm **out, dm_errinfo *err);
void dm_close(dm *d);
const dm_schema *dm_get_schema(const dm *d);

/*
 * Factory-defaults file rule: a line that cannot be parsed (no value,
 * unterminated quote) stops dm_open with DM_ERR_DEFAULTS_FILE and
 * "FILE:LINE: reason"; a well-formed line naming an unknown path or carrying a
 * value its parameter rejects is reported through opts->warn with its line
 * number and skipped, and every other line still applies.
 */

/* Replace the store's contents with the factory defaults (FactoryReset). The
 * next-instance counters survive so that instance numbers are never reused. */
int dm_factory_reset(dm *d, dm_errinfo *err);

/* ---------------------------------------------------------------------------
 * Originators: who asked for a change (recorded with every change)
 * ------------------------------------------------------------------------- */

typedef enum dm_origin_kind {
	DM_ORIGIN_INTERNAL, /* the agent itself, providers, defaults */
	DM_ORIGIN_CWMP,     /* the ACS */
	DM_ORIGIN_USP,      /* a USP Controller */
	DM_ORIGIN_ADMIN,    /* duetctl / admin socket */
} dm_origin_kind;

typedef struct dm_origin {
	dm_origin_kind kind;
	const char *who; /* ACS URL, Controller EndpointID, admin peer; may be NULL */
} dm_origin;

/* ---------------------------------------------------------------------------
 * Transactions. One type serves reads (a consistent snapshot) and writes
 * (single writer, all-or-nothing). Only one write transaction may be open at
 * a time per engine; reads run in parallel with it and do not see it.
 * ------------------------------------------------------------------------- */

typedef struct dm_txn dm_txn;

typedef enum dm_txn_mode {
	DM_TXN_READ,
	DM_TXN_WRITE,
} dm_txn_mode;

/* origin may be NULL for reads; for writes it is copied. */
int dm_txn_begin(dm *d, dm_txn_mode mode, const dm_origin *origin, dm_txn **out);
/* Make the writes durable (fsync) and only then return DM_OK; then publish the
 * changes to subscribers. *txn_id (may be NULL) receives the id recorded with
 * the changes. The txn is freed whatever the result; on error nothing applies. */
int dm_txn_commit(dm_txn *t, uint64_t *txn_id, dm_errinfo *err);
/* Drop every change (or end a read). Always frees t. */
void dm_txn_abort(dm_txn *t);

/*
 * Groups give per-object atomicity inside one write transaction (USP
 * allow_partial=true): the ops between group_begin and group_end apply or not
 * as a unit. group_end(keep=false) undoes the group only. Unique keys and
 * other deferred constraints of the group are checked by group_end(keep=true),
 * which undoes the group and fails when they do not hold. Groups do not nest.
 */
int dm_txn_group_begin(dm_txn *t);
int dm_txn_group_end(dm_txn *t, bool keep, dm_errinfo *err);

/* ---------------------------------------------------------------------------
 * Paths and reading
 * ------------------------------------------------------------------------- */

/* Which grammar a path string follows. */
typedef enum dm_grammar {
	DM_GRAMMAR_USP,  /* instance numbers, '*', [search expressions], '+', '#' */
	DM_GRAMMAR_CWMP, /* instance numbers, [alias], partial paths ending in '.' */
} dm_grammar;

/* One resolved item handed to a callback. */
typedef struct dm_item {
	const char *path;      /* instantiated: "Device.IP.Interface.1.Name", objects end in '.' */
	const dm_node *node;   /* its schema node */
	const char *value;     /* parameters: canonical value (NUL-terminated); else NULL */
	size_t value_len;
} dm_item;

/* Return 0 to continue, non-zero to stop the walk (the call then returns that value). */
typedef int (*dm_item_cb)(void *ctx, const dm_item *item);

/* What dm_resolve reports. */
enum {
	DM_RESOLVE_OBJECTS = 1u << 0,  /* object instances (and single-instance objects) */
	DM_RESOLVE_PARAMS = 1u << 1,   /* parameters, with their values */
	DM_RESOLVE_COMMANDS = 1u << 2, /* commands (value NULL) */
	DM_RESOLVE_EVENTS = 1u << 3,   /* events (value NULL) */
	DM_RESOLVE_SUBTREE = 1u << 4,  /* also everything below each matched object, to max_depth */
	DM_RESOLVE_TABLES = 1u << 5,   /* report table nodes themselves ("Device.IP.Interface.") */
};

/*
 * Resolve a path expression and report each matching item in store order
 * (instance numbers ascending). A path ending in '.' names an object (or a
 * partial path); otherwise a parameter, command or event. With
 * DM_RESOLVE_SUBTREE each matched object is expanded: max_depth counts object
 * levels below it (0 = unlimited, 1 = its own parameters only, as USP Get).
 * A path that matches nothing is not an error when it contains '*' or a search
 * expression; a concrete path that does not exist gives NOT_INSTANTIATED or
 * NOT_IN_SCHEMA. Errors are classified into err.
 */
int dm_resolve(dm_txn *t, dm_grammar g, const char *expr, unsigned flags, unsigned max_depth,
	       dm_item_cb cb, void *ctx, dm_errinfo *err);

/* Read one concrete parameter ("Device.DeviceInfo.UpTime" or with [alias]
 * in CWMP grammar). *value is malloc'd. t may be NULL: a snapshot is taken. */
int dm_get_value(dm *d, dm_txn *t, const char *path, char **value, dm_errinfo *err);
/* Same into a caller buffer (truncation gives DM_ERR_NOMEM); the fast path. */
int dm_get_value_buf(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, dm_errinfo *err);
/* Hidden (secured) parameters, passwords, read as "" everywhere a manager
 * can see them: in every read above and in the change feed. The agent's own
 * clients (the ACS session, the MQTT client) read the real value here. */
int dm_get_secret_buf(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz, dm_errinfo *err);

/* Instance numbers of a table instance path ("Device.IP.Interface."), ascending. */
int dm_list_instances(dm_txn *t, const char *table_path, uint32_t **insts, size_t *n, dm_errinfo *err);

/* ---------------------------------------------------------------------------
 * Views: what one manager sees of the one store. A view serves some
 * subtrees under another name (an alias: a visible prefix backed by a
 * stored one) and hides others. The engine does not know which protocol
 * uses which view; mapping/ builds them. Values, instances and changes
 * stay stored once, under their native names.
 * ------------------------------------------------------------------------- */

int dm_view_new(dm_view **out);
void dm_view_free(dm_view *v);
/*
 * Serve visible ("Device.USPAgent.") from stored ("Device.LocalAgent."):
 * request paths under visible are rewritten to stored before they are
 * resolved, and reported paths under stored are rewritten back. children,
 * when not NULL, is a NULL-terminated list of the names directly under
 * the prefix that the alias covers ("EndpointID", "MTP." for an object or
 * table): the rest of the stored subtree stays out of the view. A stored
 * subtree stays visible under its own name too unless dm_view_hide hides
 * it.
 */
int dm_view_alias(dm_view *v, const char *visible, const char *stored, const char *const *children);
/* Hide a subtree (an object path ending in '.'): a request path in it
 * resolves as if the schema lacked it (DM_ERR_NOT_IN_SCHEMA), walks and
 * schema listings pass it by. An alias served from a hidden subtree
 * still shows under its visible name. A parameter's schema path
 * ("Device.WiFi.Radio.{i}.Stats.Reset", "{i}" standing for any instance)
 * hides that parameter alone, in every instance. */
int dm_view_hide(dm_view *v, const char *prefix);
/* Every request made in t from now on goes through v (NULL: the native
 * names). The view must outlive the transaction. */
void dm_txn_set_view(dm_txn *t, const dm_view *v);
/* Reads in t from now on give hidden (secured) parameters their stored
 * values instead of "": for a manager entitled to them (a USP Controller
 * holding one of ControllerTrust.SecuredRoles); search expressions in t
 * match on those values too. The change feed still blanks them (a
 * front end reads the stored value for an entitled Recipient). */
void dm_txn_reveal_secrets(dm_txn *t);
/* A stored path (or schema path, "{i}" form) as v shows it: 1 with out
 * filled (renamed or not), 0 when v hides it, DM_ERR_NOMEM when out is
 * too small. v NULL shows everything as it is. */
int dm_view_show(const dm_view *v, const char *stored, char *out, size_t outsz);
/* A path as a manager wrote it, in stored names: 1 with out filled, 0 when
 * v hides it, DM_ERR_NOMEM when out is too small. */
int dm_view_store(const dm_view *v, const char *visible, char *out, size_t outsz);

/* ---------------------------------------------------------------------------
 * Writing (inside a DM_TXN_WRITE transaction)
 * ------------------------------------------------------------------------- */

/* Set one concrete parameter. The value is validated and stored canonically.
 * Read-only parameters give NOT_WRITABLE unless the origin is INTERNAL.
 * writeOnceReadOnly parameters may be set once after Add (and by INTERNAL). */
int dm_set(dm_txn *t, const char *path, const char *value, dm_errinfo *err);
/* Set as the agent itself would (read-only parameters too), inside a
 * transaction of another origin: a front end recording its own state with
 * the manager's change (ManagementServer.ParameterKey with the ACS's
 * SetParameterValues). The change keeps the transaction's origin. */
int dm_set_as_agent(dm_txn *t, const char *path, const char *value, dm_errinfo *err);
/* Add an instance to a table ("Device.IP.Interface."). Defaults are
 * materialised; the instance number is the table's next, never reused.
 * alias may be NULL (an Alias parameter then gets "cpe-<n>"). */
int dm_add(dm_txn *t, const char *table_path, const char *alias, uint32_t *inst, dm_errinfo *err);
/* Add with a chosen instance number (factory defaults, restore). Fails with
 * DM_ERR_UNIQUE_KEY if it exists; raises the table's counter past it. */
int dm_add_numbered(dm_txn *t, const char *table_path, uint32_t inst, dm_errinfo *err);
/* Delete an object instance and everything below it. */
int dm_delete(dm_txn *t, const char *obj_path, dm_errinfo *err);

/* ---------------------------------------------------------------------------
 * Agent state: small persistent records of the front ends and mapping (boot
 * cause, pending CWMP events, notification baselines, transfer results). They
 * live in the same store and transactions as the data model, so a record and
 * the data change it belongs to commit together. Keys are grouped in
 * namespaces ("boot", "cwmp.events"); neither may contain a NUL. Agent state
 * survives a factory reset: its owners decide what a reset clears.
 * ------------------------------------------------------------------------- */

/* Read a record; DM_ERR_NOT_INSTANTIATED when absent. *value is malloc'd and
 * NUL-terminated (the terminator is not counted in *len; len may be NULL). */
int dm_state_get(dm_txn *t, const char *ns, const char *key, char **value, size_t *len, dm_errinfo *err);
/* Create or replace a record (write transaction). */
int dm_state_put(dm_txn *t, const char *ns, const char *key, const void *value, size_t len,
		 dm_errinfo *err);
/* Remove a record; removing an absent one is not an error. */
int dm_state_del(dm_txn *t, const char *ns, const char *key, dm_errinfo *err);
/* Visit a namespace's records in key order; return non-zero from cb to stop. */
typedef int (*dm_state_cb)(void *ctx, const char *key, const void *value, size_t len);
int dm_state_each(dm_txn *t, const char *ns, dm_state_cb cb, void *ctx);

/* ---------------------------------------------------------------------------
 * Change feed
 * ------------------------------------------------------------------------- */

typedef enum dm_change_kind {
	DM_CHANGE_VALUE,   /* a parameter changed (old and new set) */
	DM_CHANGE_ADD,     /* an object instance was created (path ends in '.') */
	DM_CHANGE_DELETE,  /* an object instance was deleted */
	DM_CHANGE_EVENT,   /* an event fired (path "Device.Boot!", args set) */
} dm_change_kind;

typedef struct dm_arg {
	const char *name;
	const char *value;
} dm_arg;

typedef struct dm_change {
	dm_change_kind kind;
	const char *path;
	const char *old_value; /* VALUE: previous value ("" when it had none) */
	const char *new_value; /* VALUE: new value */
	const dm_arg *args;    /* EVENT: arguments */
	size_t n_args;
	const dm_origin *origin;
	uint64_t txn_id;
} dm_change;

typedef void (*dm_change_cb)(void *ctx, const dm_change *c);
typedef struct dm_sub dm_sub;

/* Called synchronously after each durable commit, once per change, in order. */
int dm_subscribe(dm *d, dm_change_cb cb, void *ctx, dm_sub **out);
void dm_unsubscribe(dm *d, dm_sub *s);

/* Publish an event to subscribers (not stored). */
int dm_event_emit(dm *d, const char *event_path, const dm_arg *args, size_t n_args,
		  const dm_origin *origin);

/* ---------------------------------------------------------------------------
 * Write guard: a policy hook asked before a manager's write changes anything
 * ------------------------------------------------------------------------- */

/*
 * Asked by dm_set, dm_add, dm_add_numbered and dm_delete in a transaction
 * whose origin is not DM_ORIGIN_INTERNAL (dm_set_as_agent writes count as
 * the agent's), after the path is resolved and the access checks pass and
 * before any provider hook runs or anything is stored. op is DM_CHANGE_VALUE
 * (path: the parameter), DM_CHANGE_ADD (path: the table, "Device.X.") or
 * DM_CHANGE_DELETE (path: the instance, "Device.X.3."); paths are
 * instantiated and in stored (native) names. Return 0 to allow; non-zero
 * refuses the one operation with DM_ERR_DENIED and the transaction stays
 * usable. The engine only knows origins: which origin may write where is
 * the hook's business (mapping/). Must not call back into the transaction.
 */
typedef int (*dm_guard_fn)(void *ctx, const dm_origin *origin, dm_change_kind op, const char *path);

/* Install the guard (one per engine; fn NULL removes it). With none
 * installed a write pays one pointer test. It applies from the next write
 * call on, also inside a transaction already open. */
int dm_guard_set(dm *d, dm_guard_fn fn, void *ctx);

/*
 * Rewrite rule for writeOnceReadOnly parameters: asked when a manager
 * (origin not DM_ORIGIN_INTERNAL) writes one that already held a value
 * before the transaction, the one case the engine would otherwise refuse
 * with DM_ERR_NOT_WRITABLE. current is the stored value, path the
 * parameter in stored names. Return true to let the write go on (the
 * guard, values and unique keys are still checked). writeOnceReadOnly is
 * a USP access: CWMP has none (its variant makes Alias readWrite), so
 * which origin may rewrite what is mapping/'s business. One per engine;
 * fn NULL removes it. Must not call back into the transaction.
 */
typedef bool (*dm_rewrite_fn)(void *ctx, const dm_origin *origin, const char *path, const char *current);
int dm_rewrite_set(dm *d, dm_rewrite_fn fn, void *ctx);

/* ---------------------------------------------------------------------------
 * Audit log: every committed change, with who made it, kept in a bounded
 * ring in the store. Entries are written inside the committing LMDB
 * transaction (no extra fsync); a transaction that aborts or fails leaves
 * none. When the ring is full the oldest entries are dropped.
 * ------------------------------------------------------------------------- */

typedef struct dm_audit_entry {
	uint64_t seq;          /* position in the log: ascending, never reused */
	uint64_t txn_id;       /* as the change feed reports it */
	int64_t time_ms;       /* wall clock at commit, ms since the epoch */
	dm_change_kind kind;   /* VALUE, ADD or DELETE */
	dm_origin origin;      /* who may be NULL */
	const char *path;
	const char *old_value; /* VALUE only; NULL for ADD/DELETE and for secrets */
	const char *new_value;
	bool secret;           /* a hidden parameter: its values were not recorded */
} dm_audit_entry;

/* Return non-zero to stop; dm_audit_each then returns that value. */
typedef int (*dm_audit_cb)(void *ctx, const dm_audit_entry *e);

/* Visit the newest max entries (0 = all), newest first, from one read
 * snapshot. Strings are valid during the callback only. A read-only store
 * written before the log existed has none (DM_OK, no calls). */
int dm_audit_each(dm *d, dm_audit_cb cb, void *ctx, size_t max);

/* How many entries the ring keeps (default DM_AUDIT_DEFAULT_LIMIT; 0 stops
 * recording). A lower limit trims the oldest at the next commit. Run-time
 * only: the agent applies its configuration after dm_open. */
#define DM_AUDIT_DEFAULT_LIMIT 1000
void dm_audit_set_limit(dm *d, size_t limit);
size_t dm_audit_limit(const dm *d);

/* ---------------------------------------------------------------------------
 * Providers: vendor hooks and live values bound to schema paths
 * ------------------------------------------------------------------------- */

typedef struct dm_provider {
	/* Live value of a parameter: write its canonical value into buf. Called
	 * with the reading transaction so the provider may read configuration
	 * (e.g. the interface Name). Required for live parameters. */
	int (*get)(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz);
	/* Vendor hook before a stored value changes; non-zero refuses the write
	 * (DM_ERR_PROVIDER, msg from err). May be NULL. */
	int (*set)(void *ctx, const char *path, const char *value, dm_errinfo *err);
	/* Vendor hooks before an instance is added/deleted; may be NULL. */
	int (*add)(void *ctx, const char *obj_path, dm_errinfo *err);
	int (*del)(void *ctx, const char *obj_path, dm_errinfo *err);
	void *ctx;
} dm_provider;

/*
 * Bind a provider to a schema path: a parameter ("Device.DeviceInfo.UpTime")
 * or an object ("Device.Ethernet.Interface.{i}.Stats.", covering its own
 * parameters). Parameters with a get hook are live: never stored, read through
 * the hook. The struct is copied.
 */
int dm_provider_register(dm *d, const char *schema_path, const dm_provider *p);

/* Is this parameter live (read through a provider's get, never stored)? Its
 * changes never reach the change feed: watchers poll it. */
bool dm_param_is_live(const dm *d, const dm_node *param);

/* Register the demo device's providers: uptime, local time, /proc/net/dev
 * statistics for Ethernet and IP interfaces. */
int dm_providers_builtin(dm *d);

/* ---------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------- */

typedef struct dm_request dm_request; /* one running command */

/*
 * A command handler. Sync commands fill outputs with dm_request_complete()
 * before returning; async ones may return first and complete later (from the
 * event loop). The handler must complete every request exactly once, except
 * that a handler returning non-zero must not have completed it: the engine
 * then completes it with that code.
 */
typedef int (*dm_command_fn)(void *ctx, dm_request *req);

int dm_command_register(dm *d, const char *schema_path, dm_command_fn fn, void *ctx);

/* Accessors for handlers. */
const char *dm_request_command(const dm_request *r);   /* "Device.IP.Interface.1.Reset()" */
const char *dm_request_command_key(const dm_request *r);
const char *dm_request_input(const dm_request *r, const char *name); /* NULL if absent */
uint64_t dm_request_id(const dm_request *r);
const dm_origin *dm_request_origin(const dm_request *r);
dm *dm_request_engine(dm_request *r);

/* Finish a request: code DM_OK with outputs, or an error code with a message.
 * It frees an async request at once and a sync one when its handler returns:
 * the handler must not touch r afterwards. */
int dm_request_complete(dm_request *r, int code, const dm_arg *out, size_t n_out, const char *msg);

/* Told when a request completes: outputs valid during the call only. */
typedef void (*dm_done_cb)(void *ctx, uint64_t req_id, int code, const dm_arg *out,
			   size_t n_out, const char *msg);

/*
 * Run a command on one concrete path. Input args are validated against the
 * schema (unknown -> INVALID_ARG, missing mandatory -> REQUIRED_ARG, bad value
 * -> INVALID_VALUE). Async requests are recorded in the store before the
 * handler runs and removed when they complete, so they survive a restart
 * (see dm_requests_interrupted). done may be NULL.
 *
 * done is called exactly once for each request dm_operate accepted (returned
 * DM_OK), possibly before dm_operate returns (always so for sync commands,
 * whose outputs it carries). When dm_operate returns an error (bad input, no
 * handler, a failed sync command, an async one that could not start) done is
 * never called and err says why.
 */
int dm_operate(dm *d, const char *cmd_path, const dm_arg *in, size_t n_in, const char *command_key,
	       const dm_origin *origin, dm_done_cb done, void *ctx, uint64_t *req_id, dm_errinfo *err);

/* Async requests recorded but never completed (the agent stopped while they
 * ran). Reported once each; the caller decides how to finish them and then
 * calls dm_request_forget(). */
typedef void (*dm_pending_cb)(void *ctx, uint64_t req_id, const char *cmd_path,
			      const char *command_key, const dm_origin *origin);
int dm_requests_interrupted(dm *d, dm_pending_cb cb, void *ctx);
int dm_request_forget(dm *d, uint64_t req_id);

#ifdef __cplusplus
}
#endif
#endif /* DUET_DM_H */
