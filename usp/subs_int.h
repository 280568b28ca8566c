/*
 * subs_int.h - private to subs.c, subs_time.c, subs_notify.c, subs_match.c
 * and trust.c (and their unit tests): the compiled path patterns both
 * subscriptions (ReferenceList) and permissions (Targets) match against, the
 * subscription index, pending notifications, and the role cache that lives
 * with them. Nothing else in usp/ includes this file; the shared contract is
 * usp_int.h.
 */
#ifndef DUET_USP_SUBS_INT_H
#define DUET_USP_SUBS_INT_H

#include "usp_int.h"

#include <time.h>

/* ---------------------------------------------------------------------------
 * Path patterns (subs_match.c)
 * ------------------------------------------------------------------------- */

typedef struct usp_pat usp_pat;

/* How much of a concrete path a pattern must cover. */
typedef enum usp_pat_mode {
	USP_PAT_EXACT,  /* every segment, no more (a parameter, command, event) */
	USP_PAT_PREFIX, /* the leading segments (a partial path or a Target) */
} usp_pat_mode;

/* Compile one ReferenceList entry or permission Target ("Device.IP.Interface.*.Name",
 * "Device.WiFi.SSID.[Enable==true].", "Device.", "Device.Reboot()"). DM_ERR_SYNTAX
 * for an empty segment or an unbalanced bracket. */
int usp_pat_compile(const char *text, usp_pat **out);
void usp_pat_free(usp_pat *p);
const char *usp_pat_text(const usp_pat *p);
/* The text ends in '.' (an object or partial path). */
bool usp_pat_is_object(const usp_pat *p);
/* Covers every path ("Device" or "Device."). */
bool usp_pat_is_root(const usp_pat *p);
/* Needs the data model to decide (search expression or reference following). */
bool usp_pat_is_dynamic(const usp_pat *p);

/*
 * Does the concrete path (instance numbers only; a trailing '.' is ignored)
 * match? Search expressions are evaluated against the current state through
 * t (NULL: a snapshot is taken when one is needed); d may be NULL when the
 * pattern is not dynamic.
 */
bool usp_pat_match(const usp_pat *p, dm *d, dm_txn *t, const char *path, usp_pat_mode mode);

/* The supported-path node a pattern names, NULL when it follows references
 * or the schema has none. */
const dm_node *usp_pat_schema_node(const usp_pat *p, const dm_schema *schema);

/* Split a comma-separated list value into trimmed, malloc'd items (commas
 * inside a search expression stay in their item). Free with usp_list_free. */
int usp_list_split(const char *list, char ***items, size_t *n);
void usp_list_free(char **items, size_t n);

/* ---------------------------------------------------------------------------
 * Role cache (trust.c), owned by the subscriptions state so that it starts
 * and stops with the agent's change feed handling.
 * ------------------------------------------------------------------------- */

typedef struct usp_trust_cache usp_trust_cache;
int usp_trust_cache_new(dm *d, core_loop *loop, usp_trust_cache **out);
void usp_trust_cache_free(usp_trust_cache *c);
/* Drop every cached role; roles handed out stay valid until the loop's next
 * iteration (a handler running now keeps its usp_ctl). */
void usp_trust_cache_drop(usp_trust_cache *c);
int usp_trust_cache_identify(usp_trust_cache *c, usp_ctl *ctl);
/* The role a list of Role references gives, outside the cache: for the final
 * notification to a Controller that was just deleted. Free with
 * usp_trust_role_free. */
int usp_trust_role_new(dm *d, const char *refs, usp_role **out);
void usp_trust_role_free(usp_role *r);

/* ---------------------------------------------------------------------------
 * Subscriptions (subs.c, subs_time.c) and notifications (subs_notify.c)
 * ------------------------------------------------------------------------- */

#define USP_SUB_TABLE "Device.LocalAgent.Subscription."

typedef enum usp_sub_type {
	USP_SUB_VALUE_CHANGE,
	USP_SUB_OBJ_CREATION,
	USP_SUB_OBJ_DELETION,
	USP_SUB_OPER_COMPLETE,
	USP_SUB_EVENT,
	USP_SUB_NONE, /* unknown NotifType: never fires */
} usp_sub_type;

/* One enabled Device.LocalAgent.Subscription.{i}. */
typedef struct usp_sub {
	uint32_t inst;
	usp_sub_type type;
	char *id;          /* ID: the Notify's subscription_id */
	char *recipient;   /* "Device.LocalAgent.Controller.1" (no trailing dot) */
	char *endpoint;    /* the Recipient's EndpointID when the index was built */
	char *role_refs;   /* and its AssignedRole,InheritedRole then */
	bool notify;       /* TriggerAction Notify or NotifyAndConfig */
	bool config;       /* TriggerAction Config or NotifyAndConfig */
	char *config_settings; /* TriggerConfigSettings */
	bool retry;        /* NotifRetry */
	uint32_t expiration; /* NotifExpiration, seconds; 0 = until delivered */
	usp_pat **refs;
	size_t n_refs;
	/* ObjectDeletion with search expressions: instances matching before */
	char **del_set;
	size_t n_del;
	/* Event subscriptions on Device.LocalAgent.Periodic! */
	core_timer *periodic;
	time_t periodic_ref;
	struct usp_subs *owner;
} usp_sub;

/* A Notify sent with send_resp=true and not yet answered. */
typedef struct usp_pending usp_pending;

/* A live-parameter value last seen by the poll. */
typedef struct usp_baseline {
	char *path;
	char *value;
} usp_baseline;

/* A write the change-feed callback queues for the loop (a callback must not
 * write while other subscribers are still being told of the commit). */
typedef enum usp_work_kind {
	USP_WORK_SET,           /* set path to value */
	USP_WORK_SET_IF_UNSET,  /* set path to value when it reads "" or unknown time */
	USP_WORK_DELETE,        /* delete the instance path */
	USP_WORK_DROP_RECIPIENT, /* delete the subscriptions whose Recipient is path */
	USP_WORK_RECIPIENT,     /* an empty Recipient at path: the Controller whose EndpointID is value */
} usp_work_kind;

typedef struct usp_work {
	usp_work_kind kind;
	char *path;
	char *value;
	bool config;            /* a Config trigger action (its own origin) */
	struct usp_work *next;
} usp_work;

struct usp_subs {
	usp_agent *a;
	dm *d;
	core_loop *loop;
	dm_sub *feed;
	usp_subs_send_fn send;
	void *send_ctx;
	bool have_table; /* the schema has Device.LocalAgent.Subscription.{i}. */

	/* index of enabled subscriptions, rebuilt after their table changes */
	usp_sub *subs;
	size_t n_subs;
	bool dirty;
	uint64_t dirty_txn;
	bool del_refresh; /* ObjectDeletion search sets need a refresh */
	unsigned busy;    /* walking the index: a rebuild waits for the loop */
	core_timer *rebuild_timer;
	core_timer *ttl_timer;

	/* live values watched by ValueChange subscriptions */
	core_timer *poll_timer;
	uint64_t poll_ms;
	usp_baseline *base;
	size_t n_base;

	/* writes queued from the feed callback */
	usp_work *work;
	usp_work **work_tail;
	core_timer *work_timer;

	/* notifications awaiting a NotifyResp */
	usp_pending *pending;
	uint64_t msg_seq;
	char msg_prefix[24];
	uint64_t rng;

	usp_trust_cache *trust;
};

/* A change as the matcher sees it (feed changes and polled live values). */
typedef struct usp_event {
	dm_change_kind kind;
	const char *path;      /* in the Controllers' names */
	const char *alt_path;  /* a second name the USP view gives it, or NULL */
	const char *value;     /* VALUE: the new value */
	const dm_arg *args;    /* EVENT */
	size_t n_args;
} usp_event;

/* The names Controllers use (usp_options.view), NULL for the store's own:
 * every transaction reading what a Controller named goes through it. */
const dm_view *usp_subs_view(const usp_subs *s);
/* A read transaction in those names. */
int usp_subs_read_txn(usp_subs *s, dm_txn **t);

/* subs_notify.c: build the Notify for one matched subscription and deliver
 * it (permission check, Controller Enable, retry when NotifRetry). */
void usp_subs_notify(usp_subs *s, const usp_sub *sub, const usp_event *ev);
/* OperationComplete body, built by the caller's arguments. */
typedef struct usp_oper_done {
	const char *cmd_path;
	const char *command_key;
	uint32_t err_code;     /* 0 = success */
	const char *err_msg;
	const dm_arg *out;
	size_t n_out;
} usp_oper_done;
void usp_subs_notify_oper(usp_subs *s, const usp_sub *sub, const usp_oper_done *op);
/* Periodic! for one subscription. */
void usp_subs_notify_periodic(usp_subs *s, const usp_sub *sub);
void usp_subs_pending_free_all(usp_subs *s);
/* Settle the pending Notify with this msg_id from this endpoint (NULL: any). */
bool usp_subs_pending_settle(usp_subs *s, const char *msg_id, const char *endpoint);
/* Retry now every pending Notify for this endpoint (it just connected). */
void usp_subs_pending_kick(usp_subs *s, const char *endpoint);
size_t usp_subs_pending_count(const usp_subs *s);

/* subs.c, for the other subs files */
uint64_t usp_subs_now_ms(usp_subs *s);
uint64_t usp_subs_random(usp_subs *s);
/* Read a parameter into buf ("" when it cannot be read). */
void usp_subs_read(usp_subs *s, dm_txn *t, const char *path, char *buf, size_t bufsz);
/* TR-106 dateTime to wall-clock seconds; 0 for the unknown times. */
time_t usp_subs_parse_datetime(const char *v);
/* Match ev against every enabled subscription of its kind and fire those
 * that match (origin NULL: the agent's own observation). */
void usp_subs_dispatch(usp_subs *s, const usp_event *ev, const dm_origin *origin);
/* A ReferenceList entry against a path: partial paths cover what is below. */
bool usp_subs_ref_match(usp_subs *s, const usp_pat *p, const char *path);
/* When Subscription inst expires (TimeToLive from CreationDate); 0 = never. */
time_t usp_subs_expiry(usp_subs *s, dm_txn *t, uint32_t inst);
void usp_subs_work_push(usp_subs *s, usp_work_kind kind, const char *path, const char *value, bool config);
void usp_subs_rebuild(usp_subs *s);
void usp_subs_schedule_rebuild(usp_subs *s);

/* subs_time.c: armed after each rebuild */
void usp_subs_live_arm(usp_subs *s);
/* The feed saw path change: the poll must not report it again. */
void usp_subs_live_seen(usp_subs *s, const char *path, const char *value);
void usp_subs_ttl_arm(usp_subs *s, time_t next_expiry);
void usp_subs_periodic_arm_all(usp_subs *s);
void usp_subs_time_stop(usp_subs *s);

#endif /* DUET_USP_SUBS_INT_H */
