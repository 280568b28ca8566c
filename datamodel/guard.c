/*
 * guard.c - the write guard: one policy hook the engine asks before a
 * manager's write changes anything. The engine knows only the origin of a
 * transaction; which origin may write where is decided by whoever installs
 * the hook (mapping/ownership.c for A/B trials). The fast path (no hook,
 * or an internal write) is guard_check in engine.h.
 */
#include "engine.h"

int dm_guard_set(dm *d, dm_guard_fn fn, void *ctx)
{
	if (!d)
		return DM_ERR_INTERNAL;
	d->guard = fn;
	d->guard_ctx = fn ? ctx : NULL;
	return DM_OK;
}

int dm_rewrite_set(dm *d, dm_rewrite_fn fn, void *ctx)
{
	if (!d)
		return DM_ERR_INTERNAL;
	d->rewrite = fn;
	d->rewrite_ctx = fn ? ctx : NULL;
	return DM_OK;
}

int guard_ask(dm_txn *t, dm_change_kind op, const char *path, dm_errinfo *err)
{
	const dm *d = t->d;

	if (d->guard(d->guard_ctx, &t->origin, op, path) == 0)
		return DM_OK;
	return dm_err_set(err, DM_ERR_DENIED, 0, path, "%s: %s", path, dm_strerror(DM_ERR_DENIED));
}
