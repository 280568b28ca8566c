/*
 * txn.c - transactions: read snapshots, the single atomic writer, groups for
 * per-object atomicity, deferred unique-key checks, and the change records
 * published after a durable commit. The individual write operations (set,
 * add, delete) live in write.c.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int begin_read(dm *d, MDB_txn **out)
{
	if (d->spare_read) {
		MDB_txn *txn = d->spare_read;
		d->spare_read = NULL;
		if (mdb_txn_renew(txn) == 0) {
			*out = txn;
			return 0;
		}
		mdb_txn_abort(txn);
	}
	return mdb_txn_begin(d->env, NULL, MDB_RDONLY, out);
}

/* Ending a read keeps one LMDB read txn for renew: begin/abort of a read txn
 * costs more than the single-parameter Get it wraps. */
static void end_read(dm *d, MDB_txn *txn)
{
	if (!d->spare_read) {
		mdb_txn_reset(txn);
		d->spare_read = txn;
	} else {
		mdb_txn_abort(txn);
	}
}

int txn_read_inplace(dm *d, dm_txn *t)
{
	memset(t, 0, sizeof *t);
	t->d = d;
	t->mode = DM_TXN_READ;
	int rc = begin_read(d, &t->root);
	t->txn = t->root;
	return rc ? store_lmdb_err(rc, NULL, "begin") : DM_OK;
}

void txn_read_inplace_end(dm_txn *t)
{
	store_scan_close(t);
	end_read(t->d, t->root);
}

int dm_txn_begin(dm *d, dm_txn_mode mode, const dm_origin *origin, dm_txn **out)
{
	if (mode == DM_TXN_WRITE && (d->read_only || d->writer_open))
		return d->read_only ? DM_ERR_NOT_WRITABLE : DM_ERR_TXN_STATE;
	dm_txn *t = calloc(1, sizeof *t);
	if (!t)
		return DM_ERR_NOMEM;
	t->d = d;
	t->mode = mode;
	if (origin) {
		t->origin = *origin;
		if (origin->who && !(t->origin_who = strdup(origin->who))) {
			free(t);
			return DM_ERR_NOMEM;
		}
		t->origin.who = t->origin_who;
	}
	int rc = mode == DM_TXN_READ ? begin_read(d, &t->root) : store_fault();
	if (!rc && mode == DM_TXN_WRITE)
		rc = mdb_txn_begin(d->env, NULL, 0, &t->root);
	if (rc) {
		free(t->origin_who);
		free(t);
		return store_lmdb_err(rc, NULL, "begin");
	}
	t->txn = t->root;
	if (mode == DM_TXN_WRITE)
		d->writer_open = true;
	*out = t;
	return DM_OK;
}

static void free_changes(dm_txn *t, size_t from)
{
	for (size_t i = from; i < t->n_changes; i++) {
		free(t->changes[i].path);
		free(t->changes[i].old_value);
		free(t->changes[i].new_value);
	}
	t->n_changes = from;
}

static void free_touched(dm_txn *t, size_t from)
{
	for (size_t i = from; i < t->n_touched; i++)
		free(t->touched[i]);
	t->n_touched = from;
}

static void txn_free(dm_txn *t)
{
	free_changes(t, 0);
	free_touched(t, 0);
	free(t->changes);
	free(t->touched);
	free(t->origin_who);
	free(t);
}

void dm_txn_abort(dm_txn *t)
{
	if (!t)
		return;
	if (t->mode == DM_TXN_READ) {
		store_scan_close(t);
		end_read(t->d, t->root);
	} else {
		if (t->in_group)
			mdb_txn_abort(t->txn);
		mdb_txn_abort(t->root);
		t->d->writer_open = false;
	}
	txn_free(t);
}

int txn_require_write(dm_txn *t, dm_errinfo *err)
{
	if (t->mode != DM_TXN_WRITE)
		return dm_err_set(err, DM_ERR_TXN_STATE, 0, NULL, "not a write transaction");
	if (t->failed)
		return dm_err_set(err, DM_ERR_TXN_STATE, 0, NULL,
				  "an earlier store failure ended this transaction");
	return DM_OK;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int txn_record(dm_txn *t, dm_change_kind kind, const char *path, const char *old_v, const char *new_v)
{
	if (t->n_changes == t->cap_changes) {
		size_t cap = t->cap_changes ? t->cap_changes * 2 : 16;
		dm_change_rec *n = realloc(t->changes, cap * sizeof *n);
		if (!n)
			return DM_ERR_NOMEM;
		t->changes = n;
		t->cap_changes = cap;
	}
	dm_change_rec *r = &t->changes[t->n_changes];
	r->kind = kind;
	r->path = strdup(path);
	r->old_value = dup_or_null(old_v);
	r->new_value = dup_or_null(new_v);
	if (!r->path || (old_v && !r->old_value) || (new_v && !r->new_value)) {
		free(r->path);
		free(r->old_value);
		free(r->new_value);
		return DM_ERR_NOMEM;
	}
	t->n_changes++;
	return DM_OK;
}

int txn_touch(dm_txn *t, const char *inst_path, size_t len)
{
	for (size_t i = (t->in_group ? t->group_touched : 0); i < t->n_touched; i++)
		if (strlen(t->touched[i]) == len && memcmp(t->touched[i], inst_path, len) == 0)
			return DM_OK;
	if (t->n_touched == t->cap_touched) {
		size_t cap = t->cap_touched ? t->cap_touched * 2 : 8;
		char **n = realloc(t->touched, cap * sizeof *n);
		if (!n)
			return DM_ERR_NOMEM;
		t->touched = n;
		t->cap_touched = cap;
	}
	if (!(t->touched[t->n_touched] = strndup(inst_path, len)))
		return DM_ERR_NOMEM;
	t->n_touched++;
	return DM_OK;
}

/* ---- deferred unique-key checks ---------------------------------------- */

typedef struct key_scan {
	dm_txn *t;
	const dm_unique_key *key;
	const char *table;       /* "Device.X." */
	size_t table_len;
	uint32_t self;
	const char **values;     /* this instance's key values */
	uint32_t clash;
} key_scan;

static int compare_sibling(void *ctx, uint32_t inst)
{
	key_scan *ks = ctx;
	if (inst == ks->self)
		return 0;
	char path[DM_PATH_MAX], buf[512];
	for (uint16_t i = 0; i < ks->key->n_params; i++) {
		const dm_node *p = ks->key->params[i];
		int n = snprintf(path, sizeof path, "%.*s%u.%s", (int)ks->table_len, ks->table, inst, p->name);
		const char *v;
		size_t vl;
		if (n < 0 || (size_t)n >= sizeof path ||
		    resolve_param_value(ks->t, p, path, (size_t)n, buf, sizeof buf, &v, &vl))
			return 0;
		if (strlen(ks->values[i]) != vl || memcmp(ks->values[i], v, vl))
			return 0;
	}
	ks->clash = inst;
	return 1;
}

static int check_key(dm_txn *t, const dm_node *table, const dm_unique_key *key, const char *inst_path,
		     size_t len, dm_errinfo *err)
{
	/* inst_path = "<table path>N." */
	size_t tl = len - 1;
	while (tl > 0 && inst_path[tl - 1] != '.')
		tl--;
	uint32_t self = (uint32_t)strtoul(inst_path + tl, NULL, 10);
	const char *vals[16];
	char bufs[16][512];
	if (key->n_params > 16)
		return DM_OK;
	for (uint16_t i = 0; i < key->n_params; i++) {
		char path[DM_PATH_MAX];
		int n = snprintf(path, sizeof path, "%.*s%s", (int)len, inst_path, key->params[i]->name);
		const char *v;
		size_t vl;
		if (n < 0 || (size_t)n >= sizeof path ||
		    resolve_param_value(t, key->params[i], path, (size_t)n, bufs[i], sizeof bufs[i], &v, &vl))
			return DM_OK;
		/* An unset key value does not take part in uniqueness: two fresh
		 * instances that nobody named yet must not collide. */
		if (vl == 0)
			return DM_OK;
		if (v != bufs[i]) {
			if (vl >= sizeof bufs[i])
				vl = sizeof bufs[i] - 1;
			memcpy(bufs[i], v, vl);
			bufs[i][vl] = 0;
		}
		vals[i] = bufs[i];
	}
	key_scan ks = {t, key, inst_path, tl, self, vals, 0};
	store_each_instance(t, inst_path, tl, compare_sibling, &ks);
	if (!ks.clash)
		return DM_OK;
	char names[256] = "";
	for (uint16_t i = 0; i < key->n_params; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
			 key->params[i]->name);
	(void)table;
	return dm_err_set(err, DM_ERR_UNIQUE_KEY, 0, inst_path,
			  "%s: unique key (%s) duplicates %.*s%u.", inst_path, names, (int)tl, inst_path,
			  ks.clash);
}

static int check_touched(dm_txn *t, size_t from, dm_errinfo *err)
{
	for (size_t i = from; i < t->n_touched; i++) {
		const char *p = t->touched[i];
		size_t len = strlen(p);
		if (!store_exists(t, p, len))
			continue; /* deleted later in the same transaction */
		char sp[DM_PATH_MAX];
		size_t sl;
		if (schema_path_of(p, len, sp, sizeof sp, &sl))
			continue;
		const dm_node *table = dm_schema_find_n(t->d->schema, sp, sl);
		if (!table || table->kind != DM_NODE_OBJECT)
			continue;
		for (uint16_t k = 0; k < table->u.obj.n_keys; k++) {
			int rc = check_key(t, table, &table->u.obj.keys[k], p, len, err);
			if (rc)
				return rc;
		}
	}
	return DM_OK;
}

/* ---- groups ------------------------------------------------------------ */

int dm_txn_group_begin(dm_txn *t)
{
	if (t->mode != DM_TXN_WRITE || t->in_group || t->failed)
		return DM_ERR_TXN_STATE;
	MDB_txn *child;
	int rc = store_fault();
	if (!rc)
		rc = mdb_txn_begin(t->d->env, t->root, 0, &child);
	if (rc)
		return store_lmdb_err(rc, NULL, "group");
	t->txn = child;
	t->in_group = true;
	t->group_changes = t->n_changes;
	t->group_touched = t->n_touched;
	return DM_OK;
}

static void group_undo(dm_txn *t)
{
	mdb_txn_abort(t->txn);
	t->txn = t->root;
	t->in_group = false;
	free_changes(t, t->group_changes);
	free_touched(t, t->group_touched);
	/* A store failure inside the group died with the child txn. */
	t->failed = false;
}

int dm_txn_group_end(dm_txn *t, bool keep, dm_errinfo *err)
{
	if (t->mode != DM_TXN_WRITE || !t->in_group)
		return dm_err_set(err, DM_ERR_TXN_STATE, 0, NULL, "no group is open");
	if (!keep || t->failed) {
		bool failed = t->failed;
		group_undo(t);
		return failed ? dm_err_set(err, DM_ERR_STORE, 0, NULL, "group undone after a store failure")
			      : DM_OK;
	}
	int rc = check_touched(t, t->group_touched, err);
	if (rc) {
		group_undo(t);
		view_fix_err(t->view, NULL, NULL, err);
		return rc;
	}
	rc = store_fault();
	if (rc)
		mdb_txn_abort(t->txn);
	else
		rc = mdb_txn_commit(t->txn);
	t->txn = t->root;
	t->in_group = false;
	if (rc) {
		/* the child is gone either way; what it did is lost */
		free_changes(t, t->group_changes);
		free_touched(t, t->group_touched);
		return store_lmdb_err(rc, err, "group");
	}
	return DM_OK;
}

/* ---- commit ------------------------------------------------------------ */

static void publish(dm_txn *t, uint64_t txn_id)
{
	for (size_t i = 0; i < t->n_changes; i++) {
		const dm_change_rec *r = &t->changes[i];
		dm_change c = {
			.kind = r->kind,
			.path = r->path,
			.old_value = r->old_value,
			.new_value = r->new_value,
			.origin = &t->origin,
			.txn_id = txn_id,
		};
		feed_publish(t->d, &c);
	}
}

int dm_txn_commit(dm_txn *t, uint64_t *txn_id, dm_errinfo *err)
{
	if (t->mode == DM_TXN_READ) {
		dm_txn_abort(t);
		return DM_OK;
	}
	int rc = DM_OK;
	if (t->in_group)
		rc = dm_err_set(err, DM_ERR_TXN_STATE, 0, NULL, "a group is still open");
	else if (t->failed)
		rc = dm_err_set(err, DM_ERR_STORE, 0, NULL, "an earlier store failure ended this transaction");
	if (!rc)
		rc = check_touched(t, 0, err);
	uint64_t id = 0;
	if (!rc && t->n_changes) {
		if (!(rc = store_meta_get_u64(t, "txn", &id)))
			rc = store_meta_put_u64(t, "txn", ++id, err);
		if (!rc) /* same LMDB txn as the changes: no fsync of its own */
			rc = audit_append(t, id, err);
	}
	if (rc) {
		/* a deferred check names a stored instance: tell it in the view's names */
		view_fix_err(t->view, NULL, NULL, err);
		dm_txn_abort(t);
		return rc;
	}
	/* Durable when this returns: the environment runs without NOSYNC. */
	int mrc = store_fault();
	if (mrc)
		mdb_txn_abort(t->root);
	else
		mrc = mdb_txn_commit(t->root);
	t->d->writer_open = false;
	if (mrc) {
		rc = store_lmdb_err(mrc, err, "commit");
		txn_free(t);
		return rc;
	}
	if (txn_id)
		*txn_id = id;
	publish(t, id);
	txn_free(t);
	return DM_OK;
}
