/*
 * store.c - the LMDB environment behind the engine: opening and validating a
 * store, the numeric-aware key order, and the primitive reads and writes the
 * rest of the engine builds on. Path grammar, types and transaction semantics
 * live elsewhere (resolve.c, types.c, txn.c).
 */
#include "engine.h"
#include "chars.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE ((size_t)256 << 20)

unsigned store_fault_countdown;

/*
 * Order keys as strings, except that an instance number (a digit run right
 * after a '.') sorts numerically: Interface.2. before Interface.10. Instance
 * numbers never have leading zeros, so comparing run lengths first and then
 * the digits is numeric order. Walks and Get responses then come out in
 * instance order without any sorting. Keys share long prefixes, so the common
 * part is skipped first and the digit rule applied only at the difference.
 */
static int store_key_cmp(const MDB_val *a, const MDB_val *b)
{
	const unsigned char *p = a->mv_data, *q = b->mv_data;
	size_t n = a->mv_size, m = b->mv_size, lim = n < m ? n : m, i = 0;

	/* first difference, 8 bytes at a time (little-endian: the lowest set
	 * bit of the XOR is the first differing byte) */
	while (i + 8 <= lim) {
		uint64_t x, y;
		memcpy(&x, p + i, 8);
		memcpy(&y, q + i, 8);
		if (x != y) {
			i += (size_t)__builtin_ctzll(x ^ y) / 8;
			goto found;
		}
		i += 8;
	}
	while (i < lim && p[i] == q[i])
		i++;
found:
	if (i == lim)
		return n == m ? 0 : (n < m ? -1 : 1);
	size_t j = i;
	while (j > 0 && dm_is_digit(p[j - 1]))
		j--;
	if (j > 0 && p[j - 1] == '.' && dm_is_digit(p[j]) && dm_is_digit(q[j])) {
		size_t ri = j, rj = j;
		while (ri < n && dm_is_digit(p[ri]))
			ri++;
		while (rj < m && dm_is_digit(q[rj]))
			rj++;
		if (ri != rj)
			return ri < rj ? -1 : 1;
	}
	return p[i] < q[i] ? -1 : 1;
}

int store_lmdb_err(int rc, dm_errinfo *err, const char *what)
{
	switch (rc) {
	case 0:
		return DM_OK;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
		return dm_err_set(err, DM_ERR_DISK_FULL, 0, NULL, "%s: %s", what, mdb_strerror(rc));
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_VERSION_MISMATCH:
	case MDB_PAGE_NOTFOUND:
		return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL, "%s: %s", what, mdb_strerror(rc));
	case ENOMEM:
		return dm_err_set(err, DM_ERR_NOMEM, 0, NULL, "%s: out of memory", what);
	default:
		return dm_err_set(err, DM_ERR_STORE, 0, NULL, "%s: %s", what, mdb_strerror(rc));
	}
}

static int lock_state_dir(dm *d, dm_errinfo *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/duetd.lock", d->state_dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return dm_err_set(err, DM_ERR_STORE, 0, NULL, "%s: %s", path, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		close(d->lock_fd);
		d->lock_fd = -1;
		return dm_err_set(err, DM_ERR_STORE_BUSY, 0, NULL,
				  "%s: the store is in use by another process", d->state_dir);
	}
	return DM_OK;
}

/* "Device:2.18" and "Device:2.19" share the major model "Device:2". */
static bool same_major(const char *stored, size_t len, const char *model)
{
	const char *dot = memchr(stored, '.', len);
	size_t major = dot ? (size_t)(dot - stored) : len;
	return strlen(model) > major && strncmp(stored, model, major) == 0 &&
	       (model[major] == '.' || model[major] == 0);
}

/* A store is ours when its meta database carries our format tag and the same
 * model; an empty environment is initialised. Anything else is refused: the
 * caller must never silently reset somebody's data. */
static int check_or_init_meta(dm *d, dm_errinfo *err, bool *fresh)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(d->env, NULL, d->read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		return store_lmdb_err(rc, err, "begin");
	unsigned flags = d->read_only ? 0 : MDB_CREATE;
	MDB_dbi meta;
	rc = mdb_dbi_open(txn, "meta", flags, &meta);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		MDB_stat st;
		if (mdb_env_stat(d->env, &st) == 0 && st.ms_entries == 0 && d->read_only)
			return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
					  "%s: no store here yet", d->state_dir);
		return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
				  "%s: not a duet store (no meta database)", d->state_dir);
	}
	if (rc == MDB_INCOMPATIBLE) {
		mdb_txn_abort(txn);
		return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
				  "%s: not a duet store (foreign database layout)", d->state_dir);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return store_lmdb_err(rc, err, "open meta");
	}
	MDB_val k = {6, "format"}, v;
	rc = mdb_get(txn, meta, &k, &v);
	const char *model = dm_schema_model_name(d->schema);
	if (rc == MDB_NOTFOUND) {
		MDB_stat st;
		mdb_stat(txn, meta, &st);
		MDB_stat env_st;
		mdb_env_stat(d->env, &env_st);
		/* The main database holds one entry per named database: a brand-new
		 * environment has only "meta", which we just created. */
		if (st.ms_entries != 0 || env_st.ms_entries > 1 || d->read_only) {
			mdb_txn_abort(txn);
			return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
					  "%s: not a duet store (no format tag)", d->state_dir);
		}
		MDB_val fv = {strlen(STORE_FORMAT), (void *)STORE_FORMAT};
		MDB_val mk = {5, "model"}, mv = {strlen(model), (void *)model};
		rc = mdb_put(txn, meta, &k, &fv, 0);
		if (!rc)
			rc = mdb_put(txn, meta, &mk, &mv, 0);
		if (rc) {
			mdb_txn_abort(txn);
			return store_lmdb_err(rc, err, "initialise store");
		}
		*fresh = true;
	} else if (rc) {
		mdb_txn_abort(txn);
		return store_lmdb_err(rc, err, "read meta");
	} else {
		if (v.mv_size != strlen(STORE_FORMAT) || memcmp(v.mv_data, STORE_FORMAT, v.mv_size)) {
			mdb_txn_abort(txn);
			return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
					  "%s: store format %.*s is not %s", d->state_dir, (int)v.mv_size,
					  (const char *)v.mv_data, STORE_FORMAT);
		}
		MDB_val mk = {5, "model"}, mv;
		if (mdb_get(txn, meta, &mk, &mv) == 0 &&
		    (mv.mv_size != strlen(model) || memcmp(mv.mv_data, model, mv.mv_size))) {
			/* A newer (or older) minor version of the same root model is a
			 * firmware upgrade: the store carries over, parameters the new
			 * schema lacks are simply not seen. Another model is refused. */
			if (!same_major(mv.mv_data, mv.mv_size, model)) {
				mdb_txn_abort(txn);
				return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
						  "%s: store holds model %.*s, schema is %s", d->state_dir,
						  (int)mv.mv_size, (const char *)mv.mv_data, model);
			}
			dm_warn(d, "%s: store of model %.*s opened with schema %s", d->state_dir,
				(int)mv.mv_size, (const char *)mv.mv_data, model);
			MDB_val nv = {strlen(model), (void *)model};
			if (!d->read_only && (rc = mdb_put(txn, meta, &mk, &nv, 0))) {
				mdb_txn_abort(txn);
				return store_lmdb_err(rc, err, "update model");
			}
		}
		*fresh = false;
	}
	d->dbi_meta = meta;
	const char *names[] = {"tree", "next", "requests", "state"};
	MDB_dbi *dbis[] = {&d->dbi_tree, &d->dbi_next, &d->dbi_req, &d->dbi_state};
	for (int i = 0; i < 4; i++) {
		rc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
		if (rc) {
			mdb_txn_abort(txn);
			return store_lmdb_err(rc, err, names[i]);
		}
	}
	mdb_set_compare(txn, d->dbi_tree, store_key_cmp);
	mdb_set_compare(txn, d->dbi_next, store_key_cmp);
	if ((rc = audit_open(d, txn))) {
		mdb_txn_abort(txn);
		return store_lmdb_err(rc, err, "audit");
	}
	rc = mdb_txn_commit(txn);
	return store_lmdb_err(rc, err, "open store");
}

int store_open(dm *d, const dm_open_opts *opts, dm_errinfo *err)
{
	int rc;
	d->lock_fd = -1;
	if (!d->read_only && mkdir(d->state_dir, 0700) != 0 && errno != EEXIST)
		return dm_err_set(err, DM_ERR_STORE, 0, NULL, "%s: %s", d->state_dir, strerror(errno));
	struct stat st;
	if (stat(d->state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return dm_err_set(err, DM_ERR_STORE, 0, NULL, "%s: not a directory", d->state_dir);
	if (!d->read_only && (rc = lock_state_dir(d, err)))
		return rc;
	char data[4096];
	snprintf(data, sizeof data, "%s/data.mdb", d->state_dir);
	if (d->read_only && access(data, R_OK) != 0)
		return dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL, "%s: no store here", d->state_dir);

	if ((rc = mdb_env_create(&d->env)))
		return store_lmdb_err(rc, err, "create environment");
	mdb_env_set_maxdbs(d->env, 8);
	mdb_env_set_mapsize(d->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
	mdb_env_set_maxreaders(d->env, 126);
	/* NOTLS: read snapshots are plain objects, several per thread. No NOSYNC
	 * and no WRITEMAP: every commit is durable when mdb_txn_commit returns. */
	unsigned flags = MDB_NOTLS | (d->read_only ? MDB_RDONLY : 0);
	rc = mdb_env_open(d->env, d->state_dir, flags, 0600);
	if (rc) {
		int code = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH
				   ? dm_err_set(err, DM_ERR_CORRUPT_STORE, 0, NULL,
						"%s/data.mdb: not a store of ours (%s)", d->state_dir,
						mdb_strerror(rc))
				   : store_lmdb_err(rc, err, d->state_dir);
		mdb_env_close(d->env);
		d->env = NULL;
		return code;
	}
	bool fresh = false;
	rc = check_or_init_meta(d, err, &fresh);
	if (rc) {
		mdb_env_close(d->env);
		d->env = NULL;
		return rc;
	}
	if (fresh && opts->defaults_file) {
		dm_txn *t;
		dm_origin o = {DM_ORIGIN_INTERNAL, "factory-defaults"};
		rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
		if (!rc) {
			dm_txn_set_view(t, opts->defaults_view);
			rc = defaults_apply(d, t, opts->defaults_file, err);
			if (rc)
				dm_txn_abort(t);
			else
				rc = dm_txn_commit(t, NULL, err);
		}
		if (rc) {
			mdb_env_close(d->env);
			d->env = NULL;
			/* Leave no half-initialised store behind: the next start must
			 * apply the defaults again, not find a tagged empty store. */
			unlink(data);
			char lockf[4096];
			snprintf(lockf, sizeof lockf, "%s/lock.mdb", d->state_dir);
			unlink(lockf);
			return rc;
		}
	}
	return DM_OK;
}

void store_close(dm *d)
{
	if (d->spare_read) {
		mdb_txn_abort(d->spare_read);
		d->spare_read = NULL;
	}
	if (d->env)
		mdb_env_close(d->env);
	d->env = NULL;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
}

int store_get(dm_txn *t, const char *key, size_t klen, MDB_val *val)
{
	MDB_val k = {klen, (void *)key};
	return mdb_get(t->txn, t->d->dbi_tree, &k, val);
}

bool store_exists(dm_txn *t, const char *key, size_t klen)
{
	MDB_val v;
	return store_get(t, key, klen, &v) == 0;
}

int store_put(dm_txn *t, const char *key, size_t klen, const char *val, size_t vlen, dm_errinfo *err)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	int rc = store_fault();
	if (!rc)
		rc = mdb_put(t->txn, t->d->dbi_tree, &k, &v, 0);
	if (rc) {
		t->failed = true;
		return store_lmdb_err(rc, err, "write");
	}
	return DM_OK;
}

/* Delete obj_path ("...Interface.3.") and every key below it. The first key
 * past the subtree is the prefix with its final '.' replaced by '/', the byte
 * after '.', so the range is [prefix, prefix/) in store order. */
int store_del_subtree(dm_txn *t, const char *obj_path, size_t len, dm_errinfo *err)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->d->dbi_tree, &c);
	if (rc)
		return store_lmdb_err(rc, err, "cursor");
	MDB_val k = {len, (void *)obj_path}, v;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= len && memcmp(k.mv_data, obj_path, len) == 0) {
		rc = store_fault();
		if (!rc)
			rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT);
		if (rc == EINVAL) /* deleted the last key */
			rc = MDB_NOTFOUND;
	}
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND) {
		t->failed = true;
		return store_lmdb_err(rc, err, "delete");
	}
	return DM_OK;
}

static int next_get(dm_txn *t, const char *table, size_t len, uint32_t *cur)
{
	MDB_val k = {len, (void *)table}, v;
	int rc = mdb_get(t->txn, t->d->dbi_next, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*cur = 1;
		return 0;
	}
	if (rc)
		return rc;
	if (v.mv_size != sizeof(uint32_t))
		return MDB_CORRUPTED;
	memcpy(cur, v.mv_data, sizeof *cur);
	return 0;
}

static int next_put(dm_txn *t, const char *table, size_t len, uint32_t next)
{
	MDB_val k = {len, (void *)table}, v = {sizeof next, &next};
	int rc = store_fault();
	return rc ? rc : mdb_put(t->txn, t->d->dbi_next, &k, &v, 0);
}

int store_next_instance(dm_txn *t, const char *table, size_t len, uint32_t *inst, bool bump,
			dm_errinfo *err)
{
	uint32_t cur;
	int rc = next_get(t, table, len, &cur);
	if (!rc && cur == UINT32_MAX)
		return dm_err_set(err, DM_ERR_MAX_ENTRIES, 0, NULL, "instance numbers exhausted");
	if (!rc && bump)
		rc = next_put(t, table, len, cur + 1);
	if (rc) {
		t->failed = bump;
		return store_lmdb_err(rc, err, "instance counter");
	}
	*inst = cur;
	return DM_OK;
}

int store_raise_counter(dm_txn *t, const char *table, size_t len, uint32_t inst, dm_errinfo *err)
{
	uint32_t cur;
	int rc = next_get(t, table, len, &cur);
	if (!rc && inst >= cur)
		rc = next_put(t, table, len, inst == UINT32_MAX ? inst : inst + 1);
	if (rc) {
		t->failed = true;
		return store_lmdb_err(rc, err, "instance counter");
	}
	return DM_OK;
}

/* Parse the instance number right after the table prefix of a key. */
static bool instance_after(const MDB_val *k, size_t len, uint32_t *inst)
{
	const char *p = (const char *)k->mv_data + len, *end = (const char *)k->mv_data + k->mv_size;
	uint64_t n = 0;
	if (p >= end || !dm_is_digit((unsigned char)*p))
		return false;
	while (p < end && dm_is_digit((unsigned char)*p)) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return false;
		p++;
	}
	*inst = (uint32_t)n;
	return p < end && *p == '.';
}

/* A cursor on the tree: read snapshots keep one for their whole life (the
 * walk of a big object counts and lists many tables); writers open one per
 * scan, since groups switch the LMDB transaction under them. */
static int scan_cursor(dm_txn *t, MDB_cursor **c)
{
	if (t->mode == DM_TXN_READ) {
		if (!t->scan && mdb_cursor_open(t->txn, t->d->dbi_tree, &t->scan))
			return DM_ERR_STORE;
		*c = t->scan;
		return DM_OK;
	}
	return mdb_cursor_open(t->txn, t->d->dbi_tree, c) ? DM_ERR_STORE : DM_OK;
}

static void scan_done(dm_txn *t, MDB_cursor *c)
{
	if (c != t->scan)
		mdb_cursor_close(c);
}

void store_scan_close(dm_txn *t)
{
	if (t->scan)
		mdb_cursor_close(t->scan);
	t->scan = NULL;
}

static size_t put_uint(char *out, uint32_t v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/*
 * The instance numbers of a table path ("...Interface."), ascending, one
 * seek per instance: after "<table>N." the next key of interest is at or
 * after "<table>N/". cb (may be NULL: count only) runs after the scan, so
 * it may scan tables itself. Returns the count, or a negative dm_err.
 */
static long scan_instances(dm_txn *t, const char *table, size_t len, uint32_t **list, size_t *cap)
{
	MDB_cursor *c;
	char seek[DM_PATH_MAX + 16];
	if (len + 12 > sizeof seek)
		return DM_ERR_TOO_DEEP;
	if (scan_cursor(t, &c))
		return DM_ERR_STORE;
	memcpy(seek, table, len);
	MDB_val k = {len, seek}, v;
	long n = 0;
	int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > len && memcmp(k.mv_data, table, len) == 0) {
		uint32_t inst;
		if (!instance_after(&k, len, &inst))
			break;
		if (list) {
			if ((size_t)n == *cap) {
				size_t nc = *cap * 2;
				uint32_t *nl = malloc(nc * sizeof *nl);
				if (!nl) {
					scan_done(t, c);
					return DM_ERR_NOMEM;
				}
				memcpy(nl, *list, (size_t)n * sizeof *nl);
				if (*cap > 32) /* the first buffer is the caller's */
					free(*list);
				*list = nl;
				*cap = nc;
			}
			(*list)[n] = inst;
		}
		n++;
		size_t m = len + put_uint(seek + len, inst);
		seek[m++] = '/';
		k.mv_data = seek;
		k.mv_size = m;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	scan_done(t, c);
	return n;
}

int store_each_instance(dm_txn *t, const char *table, size_t len,
			int (*cb)(void *ctx, uint32_t inst), void *ctx)
{
	uint32_t first[32], *list = first;
	size_t cap = 32;
	long n = scan_instances(t, table, len, &list, &cap);
	int out = n < 0 ? (int)n : 0;
	for (long i = 0; i < n && !out; i++)
		out = cb(ctx, list[i]);
	if (list != first)
		free(list);
	return out;
}

size_t store_count_instances(dm_txn *t, const char *table, size_t len)
{
	long n = scan_instances(t, table, len, NULL, NULL);
	return n < 0 ? 0 : (size_t)n;
}

int store_meta_get_u64(dm_txn *t, const char *key, uint64_t *val)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(t->txn, t->d->dbi_meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*val = 0;
		return DM_OK;
	}
	if (rc || v.mv_size != sizeof *val)
		return DM_ERR_CORRUPT_STORE;
	memcpy(val, v.mv_data, sizeof *val);
	return DM_OK;
}

int store_meta_put_u64(dm_txn *t, const char *key, uint64_t val, dm_errinfo *err)
{
	MDB_val k = {strlen(key), (void *)key}, v = {sizeof val, &val};
	int rc = store_fault();
	if (!rc)
		rc = mdb_put(t->txn, t->d->dbi_meta, &k, &v, 0);
	if (rc) {
		t->failed = true;
		return store_lmdb_err(rc, err, "meta");
	}
	return DM_OK;
}
