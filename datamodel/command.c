/*
 * command.c - the command registry and Operate: argument checking against
 * the schema, sync and async handlers, and async requests recorded in the
 * store so that a restart finds the ones that never completed.
 *
 * A stored request: key = 8-byte big-endian id; value = NUL-separated
 * "cmd_path\0command_key\0origin_kind\0origin_who\0".
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dm_request {
	dm *d;
	uint64_t id;
	char *cmd;
	char *key;
	dm_origin origin;
	char *who;
	dm_arg *in;
	size_t n_in;
	bool async;
	bool done;
	int code; /* set when done */
	char *fail_msg; /* a sync failure's message, returned by dm_operate */
	struct dm_request *next_live;
	dm_done_cb cb;
	void *cb_ctx;
};

int command_init(dm *d)
{
	/* request ids continue past any recorded one */
	if (d->read_only)
		return DM_OK;
	dm_txn *t;
	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return DM_ERR_STORE;
	MDB_cursor *c;
	MDB_val k, v;
	d->next_req_id = 1;
	if (mdb_cursor_open(t->txn, d->dbi_req, &c) == 0) {
		if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8) {
			const unsigned char *b = k.mv_data;
			uint64_t id = 0;
			for (int i = 0; i < 8; i++)
				id = id << 8 | b[i];
			d->next_req_id = id + 1;
		}
		mdb_cursor_close(c);
	}
	uint64_t stored = 0;
	store_meta_get_u64(t, "next_req", &stored);
	if (stored > d->next_req_id)
		d->next_req_id = stored;
	dm_txn_abort(t);
	return DM_OK;
}

static void request_free(dm_request *r);

/* Requests still running when the engine closes stay recorded in the store
 * (dm_requests_interrupted reports them next time); their memory goes now. */
void command_fini(dm *d)
{
	while (d->live) {
		dm_request *r = d->live;
		d->live = r->next_live;
		request_free(r);
	}
}

static void live_remove(dm_request *r)
{
	for (dm_request **pp = &r->d->live; *pp; pp = &(*pp)->next_live)
		if (*pp == r) {
			*pp = r->next_live;
			return;
		}
}

int dm_command_register(dm *d, const char *schema_path, dm_command_fn fn, void *ctx)
{
	const dm_node *n = dm_schema_find(d->schema, schema_path);
	if (!n)
		return DM_ERR_NOT_IN_SCHEMA;
	if (n->kind != DM_NODE_COMMAND)
		return DM_ERR_NOT_COMMAND;
	d->commands[n->id].fn = fn;
	d->commands[n->id].ctx = ctx;
	return DM_OK;
}

const char *dm_request_command(const dm_request *r) { return r->cmd; }
const char *dm_request_command_key(const dm_request *r) { return r->key; }
uint64_t dm_request_id(const dm_request *r) { return r->id; }
const dm_origin *dm_request_origin(const dm_request *r) { return &r->origin; }
dm *dm_request_engine(dm_request *r) { return r->d; }

const char *dm_request_input(const dm_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_in; i++)
		if (!strcmp(r->in[i].name, name))
			return r->in[i].value;
	return NULL;
}

static void key_of(uint64_t id, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--, id >>= 8)
		out[i] = (unsigned char)id;
}

/* Record (or with value NULL, remove) a request in its own durable commit. */
static int request_store(dm *d, uint64_t id, const char *rec, size_t len, dm_errinfo *err)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
	if (rc)
		return store_lmdb_err(rc, err, "request");
	unsigned char kb[8];
	key_of(id, kb);
	MDB_val k = {8, kb}, v = {len, (void *)rec};
	rc = rec ? mdb_put(txn, d->dbi_req, &k, &v, 0) : mdb_del(txn, d->dbi_req, &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (!rc && rec) {
		/* ids are never reused, even once every request has completed */
		uint64_t next = id + 1;
		MDB_val mk = {8, "next_req"}, mv = {sizeof next, &next};
		rc = mdb_put(txn, d->dbi_meta, &mk, &mv, 0);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return store_lmdb_err(rc, err, "request");
	}
	return store_lmdb_err(mdb_txn_commit(txn), err, "request");
}

static void request_free(dm_request *r)
{
	for (size_t i = 0; i < r->n_in; i++) {
		free((char *)r->in[i].name);
		free((char *)r->in[i].value);
	}
	free(r->in);
	free(r->cmd);
	free(r->key);
	free(r->who);
	free(r->fail_msg);
	free(r);
}

int dm_request_complete(dm_request *r, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	if (r->done)
		return DM_ERR_TXN_STATE;
	r->done = true;
	r->code = code;
	if (r->async)
		request_store(r->d, r->id, NULL, 0, NULL);
	if (!r->async && code) {
		/* a failed sync command is dm_operate's error, not a completion */
		r->fail_msg = msg ? strdup(msg) : NULL;
	} else if (r->cb) {
		r->cb(r->cb_ctx, r->id, code, out, n_out, msg ? msg : (code ? dm_strerror(code) : ""));
	}
	/* A sync request is freed by dm_operate once the handler returns. */
	if (r->async) {
		live_remove(r);
		request_free(r);
	}
	return DM_OK;
}

static const dm_node *find_arg(const dm_node *first, const char *name)
{
	for (const dm_node *a = first; a; a = a->next_sibling) {
		if (a->kind == DM_NODE_PARAM && !strcmp(a->name, name))
			return a;
		/* argument objects: "Name.{i}.Param" style input names */
		size_t nl = strlen(a->name);
		if (a->kind == DM_NODE_OBJECT && !strncmp(a->name, name, nl) && name[nl] == '.')
			return a;
	}
	return NULL;
}

static int check_inputs(const dm_node *cmd, const dm_arg *in, size_t n_in, dm_errinfo *err)
{
	for (size_t i = 0; i < n_in; i++) {
		const dm_node *a = find_arg(cmd->u.cmd.first_in, in[i].name);
		if (!a)
			return dm_err_set(err, DM_ERR_INVALID_ARG, 0, cmd->path, "%s has no input argument %s",
					  cmd->path, in[i].name);
		if (a->kind == DM_NODE_PARAM) {
			int rc = dm_value_check(a, in[i].value, NULL, err);
			if (rc) {
				char why[256];
				snprintf(why, sizeof why, "%s", err ? err->msg : "");
				return dm_err_set(err, rc, err ? err->reason : 0, cmd->path, "argument %s: %s",
						  in[i].name, why);
			}
		}
	}
	for (const dm_node *a = cmd->u.cmd.first_in; a; a = a->next_sibling) {
		if (a->kind != DM_NODE_PARAM || !a->u.param.mandatory)
			continue;
		bool given = false;
		for (size_t i = 0; i < n_in && !given; i++)
			given = !strcmp(in[i].name, a->name);
		if (!given)
			return dm_err_set(err, DM_ERR_REQUIRED_ARG, 0, cmd->path,
					  "%s needs the input argument %s", cmd->path, a->name);
	}
	return DM_OK;
}

static dm_request *request_new(dm *d, const char *path, const dm_arg *in, size_t n_in, const char *key,
			       const dm_origin *origin)
{
	dm_request *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->d = d;
	r->cmd = strdup(path);
	r->key = strdup(key ? key : "");
	r->who = origin && origin->who ? strdup(origin->who) : NULL;
	r->origin.kind = origin ? origin->kind : DM_ORIGIN_INTERNAL;
	r->origin.who = r->who;
	r->in = calloc(n_in + 1, sizeof *r->in);
	bool ok = r->cmd && r->key && r->in && (!origin || !origin->who || r->who);
	for (size_t i = 0; ok && i < n_in; i++) {
		r->in[i].name = strdup(in[i].name);
		r->in[i].value = strdup(in[i].value ? in[i].value : "");
		r->n_in++;
		ok = r->in[i].name && r->in[i].value;
	}
	if (!ok) {
		request_free(r);
		return NULL;
	}
	return r;
}

static int record_async(dm *d, dm_request *r, dm_errinfo *err)
{
	char kind[8];
	snprintf(kind, sizeof kind, "%d", (int)r->origin.kind);
	const char *who = r->who ? r->who : "";
	size_t len = strlen(r->cmd) + strlen(r->key) + strlen(kind) + strlen(who) + 4;
	char *rec = malloc(len);
	if (!rec)
		return dm_err_set(err, DM_ERR_NOMEM, 0, r->cmd, NULL);
	char *p = rec;
	const char *parts[] = {r->cmd, r->key, kind, who};
	for (int i = 0; i < 4; i++) {
		size_t l = strlen(parts[i]) + 1;
		memcpy(p, parts[i], l);
		p += l;
	}
	int rc = request_store(d, r->id, rec, len, err);
	free(rec);
	return rc;
}

int dm_operate(dm *d, const char *cmd_path, const dm_arg *in, size_t n_in, const char *command_key,
	       const dm_origin *origin, dm_done_cb done, void *ctx, uint64_t *req_id, dm_errinfo *err)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return dm_err_set(err, rc, 0, cmd_path, NULL);
	dm_target tg;
	rc = resolve_concrete(t, DM_GRAMMAR_CWMP, cmd_path, false, &tg, err);
	dm_txn_abort(t);
	if (rc)
		return rc;
	if (tg.node->kind != DM_NODE_COMMAND)
		return dm_err_set(err, DM_ERR_NOT_COMMAND, 0, cmd_path, "%s is not a command", cmd_path);
	if ((rc = check_inputs(tg.node, in, n_in, err)))
		return rc;
	const dm_cmd_entry *ce = &d->commands[tg.node->id];
	if (!ce->fn)
		return dm_err_set(err, DM_ERR_NO_HANDLER, 0, cmd_path, "%s is not implemented on this device",
				  tg.path);
	dm_request *r = request_new(d, tg.path, in, n_in, command_key, origin);
	if (!r)
		return dm_err_set(err, DM_ERR_NOMEM, 0, cmd_path, NULL);
	r->id = d->next_req_id++;
	r->async = tg.node->u.cmd.async;
	r->cb = done;
	r->cb_ctx = ctx;
	if (req_id)
		*req_id = r->id;
	if (r->async && (rc = record_async(d, r, err))) {
		request_free(r);
		return rc;
	}
	if (r->async) {
		r->next_live = d->live;
		d->live = r;
	}
	bool async = r->async; /* an async handler may complete (and free) r at once */
	rc = ce->fn(ce->ctx, r);
	if (!async) {
		if (!r->done)
			dm_request_complete(r, rc ? rc : DM_ERR_CMD_FAILED, NULL, 0,
					    rc ? NULL : "handler returned without completing");
		rc = r->code;
		if (rc)
			dm_err_set(err, rc, 0, cmd_path, "%s failed: %s", cmd_path,
				   r->fail_msg ? r->fail_msg : dm_strerror(rc));
		request_free(r);
		return rc;
	}
	if (rc) {
		/* the handler could not start (and so did not complete): the
		 * request ends here, reported as dm_operate's error only */
		r->cb = NULL;
		dm_request_complete(r, rc, NULL, 0, NULL);
		return dm_err_set(err, rc, 0, cmd_path, "%s could not start: %s", cmd_path, dm_strerror(rc));
	}
	return DM_OK;
}

int dm_requests_interrupted(dm *d, dm_pending_cb cb, void *ctx)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(t->txn, d->dbi_req, &c))) {
		dm_txn_abort(t);
		return store_lmdb_err(rc, NULL, "requests");
	}
	MDB_val k, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size < 4 || ((const char *)v.mv_data)[v.mv_size - 1])
			continue;
		uint64_t id = 0;
		for (int i = 0; i < 8; i++)
			id = id << 8 | ((const unsigned char *)k.mv_data)[i];
		const char *f[4], *p = v.mv_data, *end = p + v.mv_size;
		int nf = 0;
		while (nf < 4 && p < end) {
			f[nf++] = p;
			p += strlen(p) + 1;
		}
		if (nf < 4)
			continue;
		dm_origin o = {(dm_origin_kind)atoi(f[2]), f[3][0] ? f[3] : NULL};
		cb(ctx, id, f[0], f[1], &o);
	}
	mdb_cursor_close(c);
	dm_txn_abort(t);
	return DM_OK;
}

int dm_request_forget(dm *d, uint64_t req_id)
{
	return request_store(d, req_id, NULL, 0, NULL);
}
