/*
 * engine.c - opening and closing an engine, factory reset, the change feed
 * and its subscribers, events, and non-fatal warnings.
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "duet: %s\n", msg);
}

void dm_warn(dm *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	d->warn(d->warn_ctx, msg);
}

int dm_open(dm_schema *schema, const dm_open_opts *opts, dm **out, dm_errinfo *err)
{
	if (!schema || !opts || !opts->state_dir)
		return dm_err_set(err, DM_ERR_INTERNAL, 0, NULL, "dm_open: schema and state_dir required");
	dm *d = calloc(1, sizeof *d);
	if (!d)
		return dm_err_set(err, DM_ERR_NOMEM, 0, NULL, NULL);
	d->schema = schema;
	d->read_only = opts->read_only;
	d->lock_fd = -1;
	d->warn = opts->warn ? opts->warn : warn_stderr;
	d->warn_ctx = opts->warn_ctx;
	d->state_dir = strdup(opts->state_dir);
	d->defaults_file = opts->defaults_file ? strdup(opts->defaults_file) : NULL;
	d->defaults_view = opts->defaults_view;
	d->providers = calloc(schema->n_nodes + 1, sizeof *d->providers);
	d->commands = calloc(schema->n_nodes + 1, sizeof *d->commands);
	if (!d->state_dir || (opts->defaults_file && !d->defaults_file) || !d->providers || !d->commands) {
		dm_close(d);
		return dm_err_set(err, DM_ERR_NOMEM, 0, NULL, NULL);
	}
	int rc = store_open(d, opts, err);
	if (!rc)
		rc = command_init(d);
	if (rc) {
		dm_close(d);
		return err ? err->code ? err->code : rc : rc;
	}
	*out = d;
	return DM_OK;
}

void dm_close(dm *d)
{
	if (!d)
		return;
	command_fini(d);
	store_close(d);
	for (uint32_t i = 0; d->providers && i <= d->schema->n_nodes; i++) {
		/* several nodes may share one registration: free each once */
		dm_provider *p = d->providers[i];
		if (!p)
			continue;
		for (uint32_t j = i; j <= d->schema->n_nodes; j++)
			if (d->providers[j] == p)
				d->providers[j] = NULL;
		free(p);
	}
	free(d->providers);
	free(d->commands);
	while (d->subs) {
		struct dm_sub *s = d->subs;
		d->subs = (struct dm_sub *)s->s.next;
		free(s);
	}
	free(d->state_dir);
	free(d->defaults_file);
	free(d);
}

const dm_schema *dm_get_schema(const dm *d)
{
	return d->schema;
}

int dm_factory_reset(dm *d, dm_errinfo *err)
{
	dm_origin o = {DM_ORIGIN_INTERNAL, "factory-reset"};
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc)
		return dm_err_set(err, rc, 0, NULL, "factory reset: cannot start a transaction");
	/* The instance counters ("next") stay: numbers are never reused. */
	rc = mdb_drop(t->txn, d->dbi_tree, 0);
	if (!rc)
		rc = mdb_drop(t->txn, d->dbi_req, 0);
	if (rc) {
		dm_txn_abort(t);
		return store_lmdb_err(rc, err, "factory reset");
	}
	dm_txn_set_view(t, d->defaults_view);
	if (d->defaults_file && (rc = defaults_apply(d, t, d->defaults_file, err))) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

int dm_subscribe(dm *d, dm_change_cb cb, void *ctx, dm_sub **out)
{
	struct dm_sub *s = calloc(1, sizeof *s);
	if (!s)
		return DM_ERR_NOMEM;
	s->s.cb = cb;
	s->s.ctx = ctx;
	/* append: subscribers hear changes in the order they subscribed */
	struct dm_sub **pp = &d->subs;
	while (*pp)
		pp = (struct dm_sub **)&(*pp)->s.next;
	*pp = s;
	if (out)
		*out = s;
	return DM_OK;
}

void dm_unsubscribe(dm *d, dm_sub *s)
{
	for (struct dm_sub **pp = &d->subs; *pp; pp = (struct dm_sub **)&(*pp)->s.next) {
		if (*pp == s) {
			*pp = (struct dm_sub *)s->s.next;
			free(s);
			return;
		}
	}
}

void feed_publish(dm *d, const dm_change *c)
{
	for (struct dm_sub *s = d->subs; s;) {
		struct dm_sub *next = (struct dm_sub *)s->s.next;
		s->s.cb(s->s.ctx, c);
		s = next;
	}
}

int dm_event_emit(dm *d, const char *event_path, const dm_arg *args, size_t n_args,
		  const dm_origin *origin)
{
	static const dm_origin internal = {DM_ORIGIN_INTERNAL, NULL};
	dm_change c = {
		.kind = DM_CHANGE_EVENT,
		.path = event_path,
		.args = args,
		.n_args = n_args,
		.origin = origin ? origin : &internal,
	};
	feed_publish(d, &c);
	return DM_OK;
}
