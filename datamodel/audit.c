/*
 * audit.c - the audit log: each committed change (path, old and new value
 * or add/delete, origin, txn id, wall time) as one record of the "audit"
 * database, written inside the committing LMDB transaction so that it costs
 * no fsync of its own and exists exactly when the change does. The records
 * form a ring: keys are sequence numbers, and each commit drops the oldest
 * past the limit. Reading is newest first. The change feed lives in txn.c
 * and engine.c; this file only keeps history.
 *
 * Record: a fixed header (format, kind, origin kind, flags, txn id, time)
 * followed by four NUL-terminated strings: who, path, old, new. Absent
 * strings are stored empty and flagged, so NULL and "" stay distinct.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUDIT_FORMAT 1

enum {
	AF_SECRET = 1u << 0,
	AF_WHO = 1u << 1,
	AF_OLD = 1u << 2,
	AF_NEW = 1u << 3,
};

typedef struct audit_head {
	uint8_t format, kind, origin, flags;
	uint8_t pad[4];
	uint64_t txn_id;
	int64_t time_ms;
} audit_head;

int audit_open(dm *d, MDB_txn *txn)
{
	d->audit_limit = DM_AUDIT_DEFAULT_LIMIT;
	int rc = mdb_dbi_open(txn, "audit", d->read_only ? 0 : MDB_CREATE, &d->dbi_audit);
	/* a store from before the log, opened for inspection: no history to show */
	if (rc == MDB_NOTFOUND && d->read_only)
		return 0;
	d->audit_ok = rc == 0;
	return rc;
}

void dm_audit_set_limit(dm *d, size_t limit)
{
	d->audit_limit = limit;
}

size_t dm_audit_limit(const dm *d)
{
	return d->audit_limit;
}

/* Big-endian keys sort in sequence order under LMDB's default memcmp. */
static void seq_key(uint64_t seq, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		out[i] = (unsigned char)seq;
}

static uint64_t key_seq(const MDB_val *k)
{
	uint64_t seq = 0;
	const unsigned char *p = k->mv_data;

	for (size_t i = 0; i < 8 && i < k->mv_size; i++)
		seq = seq << 8 | p[i];
	return seq;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The change feed already blanks hidden values; the flag tells a reader
 * that the blank is a withheld secret, not an empty value. */
static bool is_secret(const dm *d, const dm_change_rec *r)
{
	char sp[DM_PATH_MAX];
	size_t sl;

	if (r->kind != DM_CHANGE_VALUE || schema_path_of(r->path, strlen(r->path), sp, sizeof sp, &sl))
		return false;
	const dm_node *n = dm_schema_find_n(d->schema, sp, sl);
	return n && n->kind == DM_NODE_PARAM && n->u.param.hidden;
}

static size_t put_str(char *buf, size_t at, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len)
		memcpy(buf + at, s, len);
	buf[at + len] = '\0';
	return at + len + 1;
}

/* Serialise one change into a malloc'd buffer. */
static char *encode(const dm_txn *t, const dm_change_rec *r, uint64_t txn_id, int64_t when, size_t *len)
{
	bool secret = is_secret(t->d, r);
	const char *oldv = secret ? NULL : r->old_value, *newv = secret ? NULL : r->new_value;
	const char *who = t->origin.who;
	audit_head h = {
		.format = AUDIT_FORMAT,
		.kind = (uint8_t)r->kind,
		.origin = (uint8_t)t->origin.kind,
		.flags = (uint8_t)((secret ? AF_SECRET : 0) | (who ? AF_WHO : 0) | (oldv ? AF_OLD : 0) |
				   (newv ? AF_NEW : 0)),
		.txn_id = txn_id,
		.time_ms = when,
	};
	size_t n = sizeof h + (who ? strlen(who) : 0) + strlen(r->path) + (oldv ? strlen(oldv) : 0) +
		   (newv ? strlen(newv) : 0) + 4;
	char *buf = malloc(n);

	if (!buf)
		return NULL;
	memcpy(buf, &h, sizeof h);
	size_t at = put_str(buf, sizeof h, who);
	at = put_str(buf, at, r->path);
	at = put_str(buf, at, oldv);
	*len = put_str(buf, at, newv);
	return buf;
}

static int audit_fail(dm_txn *t, int rc, dm_errinfo *err)
{
	t->failed = true;
	return store_lmdb_err(rc, err, "audit");
}

/* Drop entries older than the newest `keep` (keys below first_kept). */
static int trim(dm_txn *t, MDB_cursor *c, uint64_t first_kept, dm_errinfo *err)
{
	MDB_val k, v;
	int rc;

	while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 && key_seq(&k) < first_kept) {
		if ((rc = store_fault()) || (rc = mdb_cursor_del(c, 0)))
			return audit_fail(t, rc, err);
	}
	return rc == 0 || rc == MDB_NOTFOUND ? DM_OK : audit_fail(t, rc, err);
}

static int append_all(dm_txn *t, MDB_cursor *c, uint64_t last, uint64_t txn_id, dm_errinfo *err)
{
	size_t n = t->n_changes, limit = t->d->audit_limit;
	/* entries the ring would drop at once are never written */
	size_t from = n > limit ? n - limit : 0;
	int64_t when = now_ms();

	for (size_t i = from; i < n; i++) {
		unsigned char kb[8];
		size_t len;
		char *val = encode(t, &t->changes[i], txn_id, when, &len);
		if (!val)
			return dm_err_set(err, DM_ERR_NOMEM, 0, NULL, "audit: out of memory");
		seq_key(last + 1 + i, kb);
		MDB_val k = {sizeof kb, kb}, v = {len, val};
		int rc = store_fault();
		if (!rc)
			rc = mdb_cursor_put(c, &k, &v, MDB_APPEND);
		free(val);
		if (rc)
			return audit_fail(t, rc, err);
	}
	return DM_OK;
}

int audit_append(dm_txn *t, uint64_t txn_id, dm_errinfo *err)
{
	dm *d = t->d;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t last = 0;

	if (!d->audit_ok)
		return DM_OK;
	int rc = mdb_cursor_open(t->txn, d->dbi_audit, &c);
	if (rc)
		return audit_fail(t, rc, err);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0)
		last = key_seq(&k);
	else if (rc != MDB_NOTFOUND)
		rc = audit_fail(t, rc, err);
	else
		rc = DM_OK;
	if (!rc && d->audit_limit)
		rc = append_all(t, c, last, txn_id, err);
	uint64_t newest = last + t->n_changes;
	if (!rc)
		rc = trim(t, c, newest >= d->audit_limit ? newest - d->audit_limit + 1 : 0, err);
	mdb_cursor_close(c);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* The next NUL-terminated string at *at, or NULL when the record ends. */
static const char *take_str(const char *buf, size_t len, size_t *at)
{
	if (*at >= len)
		return NULL;
	const char *s = buf + *at;
	const char *end = memchr(s, '\0', len - *at);
	if (!end)
		return NULL;
	*at += (size_t)(end - s) + 1;
	return s;
}

/* 0 with e filled, -1 for a record this code cannot read (skipped). */
static int decode(const MDB_val *k, const MDB_val *v, dm_audit_entry *e)
{
	audit_head h;
	size_t at = sizeof h;

	if (v->mv_size < sizeof h)
		return -1;
	memcpy(&h, v->mv_data, sizeof h);
	if (h.format != AUDIT_FORMAT)
		return -1;
	const char *who = take_str(v->mv_data, v->mv_size, &at);
	const char *path = take_str(v->mv_data, v->mv_size, &at);
	const char *oldv = take_str(v->mv_data, v->mv_size, &at);
	const char *newv = take_str(v->mv_data, v->mv_size, &at);
	if (!newv)
		return -1;
	*e = (dm_audit_entry){
		.seq = key_seq(k),
		.txn_id = h.txn_id,
		.time_ms = h.time_ms,
		.kind = (dm_change_kind)h.kind,
		.origin = {(dm_origin_kind)h.origin, h.flags & AF_WHO ? who : NULL},
		.path = path,
		.old_value = h.flags & AF_OLD ? oldv : NULL,
		.new_value = h.flags & AF_NEW ? newv : NULL,
		.secret = h.flags & AF_SECRET,
	};
	return 0;
}

int dm_audit_each(dm *d, dm_audit_cb cb, void *ctx, size_t max)
{
	if (!d->audit_ok)
		return DM_OK;
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(t->txn, d->dbi_audit, &c))) {
		dm_txn_abort(t);
		return store_lmdb_err(rc, NULL, "audit");
	}
	MDB_val k, v;
	size_t seen = 0;
	int mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	for (; mrc == 0 && !rc && (!max || seen < max); mrc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
		dm_audit_entry e;
		if (decode(&k, &v, &e))
			continue;
		seen++;
		rc = cb(ctx, &e);
	}
	if (!rc && mrc && mrc != MDB_NOTFOUND)
		rc = store_lmdb_err(mrc, NULL, "audit");
	mdb_cursor_close(c);
	dm_txn_abort(t);
	return rc;
}
