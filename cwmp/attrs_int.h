/*
 * attrs_int.h - what the files of the attributes module share (attrs.c:
 * the table, its persistence and lifecycle; attrs_rpc.c: the GPA and SPA
 * handlers; attrs_track.c: change tracking, baselines and the Inform
 * ParameterList). Nothing outside these files includes it.
 */
#ifndef DUET_CWMP_ATTRS_INT_H
#define DUET_CWMP_ATTRS_INT_H

#include <stdint.h>

#include "attrs.h"

/* Agent state namespaces: non-default attributes ("<digit>[Subscriber]")
 * and the last value the ACS was shown of each notified parameter. */
#define ATTRS_NS "cwmp.attrs"
#define BASELINE_NS "cwmp.baseline"
#define ATTRS_SUBSCRIBER "Subscriber"
#define EV_VALUE_CHANGE "4 VALUE CHANGE"
#define ATTRS_PATH_MAX 1024

/* ---- a hash map keyed by instantiated path ------------------------------ */

typedef struct map_node {
	struct map_node *next;
	char *key; /* owned by the embedding struct's free routine */
	uint32_t hash;
} map_node;

typedef struct path_map {
	map_node **buckets;
	size_t n_buckets, n;
} path_map;

map_node *map_find(const path_map *m, const char *key);
/* Insert a node whose key is set and absent from the map. */
int map_insert(path_map *m, map_node *n);
map_node *map_unlink(path_map *m, const char *key);
/* Visit every node; a visitor returning true has taken the node out (the
 * map unlinks it, the visitor frees it). */
typedef bool (*map_visit_fn)(void *ctx, map_node *n);
void map_filter(path_map *m, map_visit_fn fn, void *ctx);
/* Free the bucket array; the nodes must be gone already. */
void map_release(path_map *m);

/* ---- the module ------------------------------------------------------- */

/* One parameter with a non-default attribute or a pending change. */
typedef struct attr_entry {
	map_node node;       /* key: instantiated parameter path */
	int8_t notify;       /* -1: the schema's default */
	bool subscriber;     /* AccessList holds "Subscriber" */
	bool pending;        /* changed since the last delivered Inform */
	char *pending_value; /* latest value seen (informational) */
	uint64_t gen;        /* order and identity of the latest change */
} attr_entry;

/* A parameter put into the Inform being built. */
typedef struct attrs_reported {
	char *path;
	char *value;
	uint64_t gen;  /* the pending change it carried, 0 if none */
	bool baseline; /* notified and stored: its value becomes the baseline */
} attrs_reported;

/* Agent state writes the change callback may not do itself, run from the
 * loop (or with the next write of this module). */
typedef enum attrs_op_kind {
	OP_BASELINE_PUT,
	OP_BASELINE_DEL,
	OP_PURGE_PREFIX, /* attributes and baselines under a deleted instance */
} attrs_op_kind;

typedef struct attrs_op {
	attrs_op_kind kind;
	char *key;
	char *value;
} attrs_op;

struct cwmp_attrs {
	cwmp_agent *a;
	dm *d;
	const dm_schema *schema;
	dm_sub *sub;
	path_map entries;
	uint64_t next_gen;
	/* schema paths as USP expressions ("{i}" -> "*"), found at open */
	char **forced_inform;
	size_t n_forced_inform;
	char **default_active; /* activeNotify forceEnabled / forceDefaultEnabled */
	size_t n_default_active;
	attrs_reported *reported;
	size_t n_reported, cap_reported;
	attrs_op *ops;
	size_t n_ops, cap_ops;
	core_timer *flush_timer;
};

/* The records of an agent state namespace, copied out (NUL-terminated). */
typedef struct record_list {
	char **keys;
	char **values;
	size_t *lens;
	size_t n, cap;
	int rc;
} record_list;

/* attrs.c */
int attrs_collect_records(dm_txn *t, const char *ns, record_list *out);
void attrs_record_list_free(record_list *l);
const dm_node *attrs_param_node(const cwmp_attrs *at, const char *path);
/* The notification the ACS sees: stored, else the schema's default;
 * forceEnabled parameters are always active. e may be NULL. */
int attrs_effective(const attr_entry *e, const dm_node *param);
int attrs_default_notify(const dm_node *param);
void attrs_entry_free(attr_entry *e);
attr_entry *attrs_entry_get(cwmp_attrs *at, const char *path, bool create);
/* Drop the entry when it no longer holds anything. */
void attrs_entry_tidy(cwmp_attrs *at, attr_entry *e);
void attrs_record_format(int notify, bool subscriber, char *buf, size_t n);
/* Attributes are kept by stored path, the name the change feed uses: the
 * stored path of a name the ACS used (through its view) into buf. */
const char *attrs_stored_path(const cwmp_attrs *at, const char *name, char *buf, size_t n);
/* Is path the parameter key, or below it when key is an object path? */
bool attrs_covered(const char *path, const char *key);

/* attrs_track.c */
int attrs_track_open(cwmp_attrs *at);
void attrs_change_cb(void *ctx, const dm_change *c);
int attrs_queue_op(cwmp_attrs *at, attrs_op_kind kind, const char *key, const char *value);
/* Run the queued ops in a transaction of their own; when the writer is
 * busy, try again from the loop. */
void attrs_flush(cwmp_attrs *at);
void attrs_clear_ops(cwmp_attrs *at);
void attrs_clear_reported(cwmp_attrs *at);
int attrs_inform_params(cwmp_agent *a, dm_txn *t, const cwmp_event *events, size_t n_events,
			cwmp_reply *rep, cwmp_param_value **params, size_t *n_params);
void attrs_inform_delivered(cwmp_agent *a);

/* attrs_rpc.c */
void attrs_rpc_gpa(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);
void attrs_rpc_spa(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep);

#endif
