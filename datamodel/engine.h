/*
 * engine.h - internal state of an open engine and of a transaction, shared by
 * the store (store.c), transactions (txn.c), path resolution (resolve.c),
 * factory defaults (defaults.c), providers (provider.c) and commands
 * (command.c). Nothing outside datamodel/ includes this file.
 *
 * Store layout (one LMDB environment, four named databases):
 *   tree     key = instantiated path, numeric-aware order (see store_key_cmp)
 *              "Device.IP.Interface.1."      -> ""     (an instance exists)
 *              "Device.IP.Interface.1.Name"  -> value  (canonical string, no NUL)
 *            Single-instance objects have no entry: they exist when their
 *            parent does. Parameters with no entry read as their schema default
 *            (or the type's zero value). NumberOfEntries and live (provider)
 *            parameters are never stored.
 *   next     key = table path "Device.IP.Interface.1.IPv4Address." -> uint32
 *            next instance number; never decreases, survives factory reset.
 *   meta     "format" -> STORE_FORMAT, "model" -> model name, "txn" -> uint64
 *   requests key = uint64 big-endian request id -> serialised async request
 *   state    key = "namespace\0key" -> agent state record (see dm_state_get)
 *   audit    key = uint64 big-endian sequence number -> one audit entry
 *            (see audit.c); the oldest are dropped past d->audit_limit
 */
#ifndef DUET_DM_ENGINE_H
#define DUET_DM_ENGINE_H

#include "schema.h"

#include <lmdb.h>

#define STORE_FORMAT "duet-store-1"
#define DM_PATH_MAX 1024 /* longest instantiated path the engine accepts */

typedef struct dm_subscriber {
	dm_change_cb cb;
	void *ctx;
	struct dm_subscriber *next;
} dm_subscriber;

struct dm_sub {
	dm_subscriber s;
};

typedef struct dm_cmd_entry {
	dm_command_fn fn;
	void *ctx;
} dm_cmd_entry;

struct dm {
	dm_schema *schema;
	MDB_env *env;
	MDB_dbi dbi_tree, dbi_next, dbi_meta, dbi_req, dbi_state;
	int lock_fd;
	bool read_only;
	bool writer_open;        /* one write transaction at a time */
	char *state_dir;
	char *defaults_file;
	const dm_view *defaults_view; /* names the defaults file may also use */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	dm_provider **providers; /* by node id; NULL = stored value */
	dm_cmd_entry *commands;  /* by node id */
	struct dm_sub *subs;     /* singly linked through s.next */
	uint64_t next_req_id;
	struct dm_request *live; /* async requests still running, freed by dm_close */
	MDB_txn *spare_read;     /* a reset read txn kept for renew */
	dm_guard_fn guard;       /* write policy (guard.c); NULL = none */
	void *guard_ctx;
	dm_rewrite_fn rewrite;   /* write-once rule (guard.c); NULL = none */
	void *rewrite_ctx;
	MDB_dbi dbi_audit;
	bool audit_ok;           /* false: a read-only store without the audit database */
	size_t audit_limit;
};

/* One recorded change, delivered after commit. */
typedef struct dm_change_rec {
	dm_change_kind kind;
	char *path;
	char *old_value;
	char *new_value;
} dm_change_rec;

struct dm_txn {
	dm *d;
	dm_txn_mode mode;
	MDB_txn *txn;        /* the current one: the group's child txn while a group is open */
	MDB_txn *root;       /* the outermost LMDB txn */
	dm_origin origin;
	char *origin_who;
	/* write bookkeeping */
	dm_change_rec *changes;
	size_t n_changes, cap_changes;
	char **touched;      /* instance paths whose unique keys need checking */
	size_t n_touched, cap_touched;
	bool in_group;
	size_t group_changes, group_touched; /* marks to roll back to */
	bool failed;         /* an LMDB error poisoned the txn: only abort is valid */
	MDB_cursor *scan;    /* read snapshots: the cursor instance scans reuse */
	const dm_view *view; /* names the manager uses (view.c); NULL: stored names */
	bool reveal;         /* hidden parameters read as stored, not as "" */
};

/* store.c */
/* Failure injection for tests: when store_fault_countdown is set to N > 0,
 * the Nth LMDB write call from then on (put, delete, begin, commit) fails
 * with EIO, as a failing disk would, and injection switches itself off. */
extern unsigned store_fault_countdown;
static inline int store_fault(void)
{
	if (store_fault_countdown && --store_fault_countdown == 0)
		return 5; /* EIO */
	return 0;
}
int store_open(dm *d, const dm_open_opts *opts, dm_errinfo *err);
void store_close(dm *d);
int store_lmdb_err(int rc, dm_errinfo *err, const char *what); /* map an LMDB rc */
int store_get(dm_txn *t, const char *key, size_t klen, MDB_val *val); /* 0 or MDB_NOTFOUND */
int store_put(dm_txn *t, const char *key, size_t klen, const char *val, size_t vlen, dm_errinfo *err);
int store_del_subtree(dm_txn *t, const char *obj_path, size_t len, dm_errinfo *err);
bool store_exists(dm_txn *t, const char *key, size_t klen);
int store_next_instance(dm_txn *t, const char *table, size_t len, uint32_t *inst, bool bump, dm_errinfo *err);
int store_raise_counter(dm_txn *t, const char *table, size_t len, uint32_t inst, dm_errinfo *err);
/* Visit instance numbers of a table path ("...Interface."), ascending. cb returns non-zero to stop. */
int store_each_instance(dm_txn *t, const char *table, size_t len,
			int (*cb)(void *ctx, uint32_t inst), void *ctx);
size_t store_count_instances(dm_txn *t, const char *table, size_t len);
void store_scan_close(dm_txn *t); /* before a read snapshot ends */
int store_meta_get_u64(dm_txn *t, const char *key, uint64_t *v);
int store_meta_put_u64(dm_txn *t, const char *key, uint64_t v, dm_errinfo *err);

/* txn.c */
/* A read snapshot in caller storage, for one-shot reads on the hot path. */
int txn_read_inplace(dm *d, dm_txn *t);
void txn_read_inplace_end(dm_txn *t);
int txn_record(dm_txn *t, dm_change_kind kind, const char *path, const char *old_v, const char *new_v);
int txn_touch(dm_txn *t, const char *inst_path, size_t len);
int txn_require_write(dm_txn *t, dm_errinfo *err);

/* resolve.c: concrete paths (instance numbers only, or CWMP [alias]) */
typedef struct dm_target {
	const dm_node *node;
	char path[DM_PATH_MAX]; /* instantiated, objects end in '.' */
	size_t len;
} dm_target;
/* Resolve a concrete path to its node, checking that every instance on the
 * way exists. Objects must end in '.', tables-without-instance allowed when
 * allow_table. */
int resolve_concrete(dm_txn *t, dm_grammar g, const char *path, bool allow_table, dm_target *out,
		     dm_errinfo *err);
/* Resolve a table path ("Device.IP.Interface."), not one of its instances;
 * DM_ERR_NOT_TABLE otherwise. */
int resolve_table_path(dm_txn *t, const char *table_path, dm_target *tg, dm_errinfo *err);
/* Value of a parameter at an instantiated path (provider, derived, stored,
 * default or zero). *val points into LMDB or into buf; valid until the next
 * call with the same buf or the end of the txn. */
int resolve_param_value(dm_txn *t, const dm_node *param, const char *path, size_t len, char *buf,
			size_t bufsz, const char **val, size_t *vlen);

/* Convert an instantiated path to its schema path ("1" -> "{i}"). */
int schema_path_of(const char *path, size_t len, char *out, size_t outsz, size_t *outlen);

/* view.c: the parts of a view the resolver walks with */
typedef struct view_alias {
	char *visible, *stored; /* object prefixes, ending in '.' */
	size_t vlen, slen;
	char **children;        /* names covered directly under the prefix */
	size_t n_children;
	bool all;               /* no children list: the whole subtree */
	bool identity;          /* visible == stored: a restriction, not a rename */
} view_alias;

typedef struct view_prefix {
	char *p;
	size_t len;
	size_t top; /* length of its first two names with their dots ("Device.X.") */
} view_prefix;

struct dm_view {
	view_alias *aliases; /* in the order given: the first that claims a path decides */
	size_t n_aliases;
	view_prefix *hidden;
	size_t n_hidden;
	view_prefix *hidden_params; /* parameters, "{i}" for any instance */
	size_t n_hidden_params;
};

/* Visible path to stored (1), hidden (0) or too long (DM_ERR_NOMEM);
 * *via (may be NULL) is the alias that mapped it, NULL when none did. */
int view_to_stored(const dm_view *v, const char *visible, char *out, size_t outsz, const view_alias **via);
/* Is the stored path[0..len) shown under its own name? */
bool view_native(const dm_view *v, const char *path, size_t len);
/* Could anything at or below the object path[0..len) be shown natively
 * or be a prefix of an alias? A walk skips the subtree otherwise. */
bool view_descend(const dm_view *v, const char *path, size_t len);
/* Does the alias show the stored path[0..len)? */
bool view_alias_covers(const view_alias *a, const char *stored, size_t len);
/* The alias's visible name of stored[0..len) into out: 1, or DM_ERR_NOMEM. */
int view_alias_rename(const view_alias *a, const char *stored, size_t len, char *out, size_t outsz);

/* One request path of a transaction with a view, in stored names. */
typedef struct view_req {
	const char *path;       /* stored: what the engine resolves */
	const char *asked;      /* as the manager wrote it */
	const view_alias *via;  /* the alias that mapped it, or NULL */
	char buf[DM_PATH_MAX];
} view_req;
/* Translate path (t->view set); DM_ERR_NOT_IN_SCHEMA when the view hides it. */
int view_req_begin(dm_txn *t, const char *path, view_req *q, dm_errinfo *err);
/* After the call made with q->path: an error is told in the manager's
 * names. Returns rc. */
int view_req_end(dm_txn *t, const view_req *q, int rc, dm_errinfo *err);
/* Rename the paths an error names (err->path, the alias's prefix in msg). */
void view_fix_err(const dm_view *v, const view_alias *via, const char *asked, dm_errinfo *err);

/* defaults.c */
int defaults_apply(dm *d, dm_txn *t, const char *file, dm_errinfo *err);

/* provider.c */
const dm_provider *provider_of(const dm *d, const dm_node *n);

/* command.c */
int command_init(dm *d);
void command_fini(dm *d);

/* guard.c: the policy hook, asked before a non-internal write */
int guard_ask(dm_txn *t, dm_change_kind op, const char *path, dm_errinfo *err);
static inline int guard_check(dm_txn *t, dm_change_kind op, const char *path, dm_errinfo *err)
{
	/* the common case (no policy) is this one test */
	if (!t->d->guard || t->origin.kind == DM_ORIGIN_INTERNAL)
		return DM_OK;
	return guard_ask(t, op, path, err);
}

/* audit.c */
/* Open (or create, when writable) the audit database in the store-opening txn. */
int audit_open(dm *d, MDB_txn *txn);
/* Append t's recorded changes, under txn id, to the ring (inside t). */
int audit_append(dm_txn *t, uint64_t txn_id, dm_errinfo *err);

/* change delivery */
void feed_publish(dm *d, const dm_change *c);

/* warnings that do not fail a call (bad defaults line, ...) */
void dm_warn(dm *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* DUET_DM_ENGINE_H */
