/*
 * state.c - agent state records: the front ends' and mapping's small
 * persistent data, kept beside the data model in the same transactions.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#define STATE_KEY_MAX 511 /* LMDB's default key size limit */

static int state_key(const char *ns, const char *key, char *buf, size_t *len, dm_errinfo *err)
{
	size_t nl = strlen(ns), kl = strlen(key);
	if (nl + 1 + kl > STATE_KEY_MAX)
		return dm_err_set(err, DM_ERR_SYNTAX, 0, NULL, "state key %s/%s too long", ns, key);
	memcpy(buf, ns, nl);
	buf[nl] = 0;
	memcpy(buf + nl + 1, key, kl);
	*len = nl + 1 + kl;
	return DM_OK;
}

int dm_state_get(dm_txn *t, const char *ns, const char *key, char **value, size_t *len, dm_errinfo *err)
{
	char kb[STATE_KEY_MAX + 1];
	size_t kl;
	int rc = state_key(ns, key, kb, &kl, err);
	if (rc)
		return rc;
	MDB_val k = {kl, kb}, v;
	rc = mdb_get(t->txn, t->d->dbi_state, &k, &v);
	if (rc == MDB_NOTFOUND)
		return dm_err_set(err, DM_ERR_NOT_INSTANTIATED, 0, NULL, "no state %s/%s", ns, key);
	if (rc)
		return store_lmdb_err(rc, err, "state");
	char *out = malloc(v.mv_size + 1);
	if (!out)
		return dm_err_set(err, DM_ERR_NOMEM, 0, NULL, NULL);
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = 0;
	*value = out;
	if (len)
		*len = v.mv_size;
	return DM_OK;
}

int dm_state_put(dm_txn *t, const char *ns, const char *key, const void *value, size_t len,
		 dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	char kb[STATE_KEY_MAX + 1];
	size_t kl;
	if (rc || (rc = state_key(ns, key, kb, &kl, err)))
		return rc;
	MDB_val k = {kl, kb}, v = {len, (void *)value};
	rc = store_fault();
	if (!rc)
		rc = mdb_put(t->txn, t->d->dbi_state, &k, &v, 0);
	if (rc) {
		t->failed = true;
		return store_lmdb_err(rc, err, "state");
	}
	return DM_OK;
}

int dm_state_del(dm_txn *t, const char *ns, const char *key, dm_errinfo *err)
{
	int rc = txn_require_write(t, err);
	char kb[STATE_KEY_MAX + 1];
	size_t kl;
	if (rc || (rc = state_key(ns, key, kb, &kl, err)))
		return rc;
	MDB_val k = {kl, kb};
	rc = store_fault();
	if (!rc)
		rc = mdb_del(t->txn, t->d->dbi_state, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return DM_OK;
	if (rc) {
		t->failed = true;
		return store_lmdb_err(rc, err, "state");
	}
	return DM_OK;
}

int dm_state_each(dm_txn *t, const char *ns, dm_state_cb cb, void *ctx)
{
	size_t nl = strlen(ns) + 1; /* the namespace and its NUL separator */
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->d->dbi_state, &c);
	if (rc)
		return store_lmdb_err(rc, NULL, "state");
	MDB_val k = {nl, (void *)ns}, v;
	int out = DM_OK;
	char key[STATE_KEY_MAX + 1];
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < nl || memcmp(k.mv_data, ns, nl))
			break;
		size_t kl = k.mv_size - nl;
		memcpy(key, (const char *)k.mv_data + nl, kl);
		key[kl] = 0;
		if ((out = cb(ctx, key, v.mv_data, v.mv_size)))
			break;
	}
	mdb_cursor_close(c);
	return out;
}
