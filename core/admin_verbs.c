/*
 * admin_verbs.c - what each admin verb does to the engine (see admin.h for
 * the protocol). Shared by the socket server and duetctl's offline mode:
 * data lines leave through a callback, the final status is returned. No
 * sockets and no line encoding here.
 */
#include "admin.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct verb_call {
	const core_admin_env *env;
	dm *d;
	const dm_schema *schema;
	const char *verb;
	const char *const *argv; /* arguments after the verb */
	size_t argc;
	core_admin_line_fn line;
	void *line_ctx;
	dm_errinfo *err;
	bool sink_failed;
} verb_call;

typedef int (*verb_fn)(verb_call *c);

static int fail(dm_errinfo *err, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(dm_errinfo *err, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->reason = DM_REASON_NONE;
	snprintf(err->path, sizeof err->path, "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

/* Engine calls that take no dm_errinfo still owe the client a message. */
static int fail_code(dm_errinfo *err, int code)
{
	return fail(err, code, NULL, "%s", dm_strerror(code));
}

static int emit(verb_call *c, const char *const *fields, size_t n)
{
	if (c->sink_failed)
		return 1;
	if (c->line(c->line_ctx, fields, n)) {
		c->sink_failed = true;
		return 1;
	}
	return 0;
}

static int emit2(verb_call *c, const char *tag, const char *a)
{
	return emit(c, (const char *const[]){ tag, a }, 2);
}

static int emit3(verb_call *c, const char *tag, const char *a, const char *b)
{
	return emit(c, (const char *const[]){ tag, a, b }, 3);
}

static int sink_error(verb_call *c)
{
	return fail(c->err, DM_ERR_NOMEM, NULL, "response could not be written");
}

/* "Device.IP.Interface" and "Device.IP.Interface." both name the table. */
static char *object_path(const char *p)
{
	size_t len = strlen(p);
	char *s = malloc(len + 2);

	if (!s)
		return NULL;
	memcpy(s, p, len + 1);
	if (!len || s[len - 1] != '.')
		memcpy(s + len, ".", 2);
	return s;
}

static const dm_origin *admin_origin(verb_call *c, dm_origin *o)
{
	o->kind = DM_ORIGIN_ADMIN;
	o->who = c->env->who ? c->env->who : "duetctl";
	return o;
}

static int begin(verb_call *c, dm_txn_mode mode, dm_txn **t)
{
	dm_origin o;
	int rc = dm_txn_begin(c->d, mode, mode == DM_TXN_WRITE ? admin_origin(c, &o) : NULL, t);

	if (rc)
		return fail_code(c->err, rc);
	dm_txn_set_view(*t, c->env->view);
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Reading verbs
 * ------------------------------------------------------------------------- */

static int verb_ping(verb_call *c)
{
	return DM_OK;
}

static int get_item(void *ctx, const dm_item *it)
{
	verb_call *c = ctx;

	if (!it->value)
		return 0;
	return emit3(c, "P", it->path, it->value);
}

static int verb_get(verb_call *c)
{
	dm_txn *t = NULL;
	int rc = begin(c, DM_TXN_READ, &t);

	for (size_t i = 0; !rc && i < c->argc; i++) {
		rc = dm_resolve(t, DM_GRAMMAR_USP, c->argv[i], DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0,
				get_item, c, c->err);
		if (c->sink_failed)
			rc = sink_error(c);
	}
	if (t)
		dm_txn_abort(t);
	return rc;
}

static int verb_instances(verb_call *c)
{
	dm_txn *t = NULL;
	uint32_t *insts = NULL;
	size_t n = 0;
	char *table = object_path(c->argv[0]);
	int rc = table ? begin(c, DM_TXN_READ, &t) : fail_code(c->err, DM_ERR_NOMEM);

	if (rc)
		goto out;
	rc = dm_list_instances(t, table, &insts, &n, c->err);
	dm_txn_abort(t);
	for (size_t i = 0; !rc && i < n; i++) {
		char path[600];
		snprintf(path, sizeof path, "%s%" PRIu32 ".", table, insts[i]);
		if (emit2(c, "I", path))
			rc = sink_error(c);
	}
out:
	free(insts);
	free(table);
	return rc;
}

static int verb_stats(verb_call *c)
{
	dm_schema_stats st;
	char num[4][24];
	const char *names[4] = { "objects", "parameters", "commands", "events" };

	dm_schema_get_stats(c->schema, &st);
	unsigned v[4] = { st.objects, st.parameters, st.commands, st.events };
	for (int i = 0; i < 4; i++) {
		snprintf(num[i], sizeof num[i], "%u", v[i]);
		if (emit3(c, "K", names[i], num[i]))
			return sink_error(c);
	}
	const char *model = dm_schema_model_name(c->schema);
	if (emit3(c, "K", "model", model ? model : ""))
		return sink_error(c);
	if (c->env->stats && c->env->stats(c->env->stats_ctx, c->line, c->line_ctx))
		return sink_error(c);
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Audit log: core reads it through dm.h alone, so duetctl shows it from a
 * stopped agent's store too.
 * ------------------------------------------------------------------------- */

static const char *const origin_names[] = {
	[DM_ORIGIN_INTERNAL] = "internal",
	[DM_ORIGIN_CWMP] = "cwmp",
	[DM_ORIGIN_USP] = "usp",
	[DM_ORIGIN_ADMIN] = "admin",
};

static const char *const op_names[] = {
	[DM_CHANGE_VALUE] = "set",
	[DM_CHANGE_ADD] = "add",
	[DM_CHANGE_DELETE] = "delete",
	[DM_CHANGE_EVENT] = "event",
};

#define NAME_OF(table, i) ((unsigned)(i) < sizeof table / sizeof table[0] ? table[i] : "?")

void core_admin_format_ms(int64_t ms, char *out, size_t outsz)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(out, outsz, "?");
		return;
	}
	size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, outsz - n, ".%03dZ", (int)(ms % 1000));
}

static int audit_line(void *ctx, const dm_audit_entry *e)
{
	verb_call *c = ctx;
	char seq[24], txn[24], when[40];

	snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
	snprintf(txn, sizeof txn, "%" PRIu64, e->txn_id);
	core_admin_format_ms(e->time_ms, when, sizeof when);
	const char *fields[] = { "A", seq, when, txn, NAME_OF(origin_names, e->origin.kind),
				 e->origin.who ? e->origin.who : "", NAME_OF(op_names, e->kind), e->path,
				 e->old_value ? e->old_value : "", e->new_value ? e->new_value : "",
				 e->secret ? "1" : "0" };
	return emit(c, fields, sizeof fields / sizeof fields[0]);
}

static int verb_audit(verb_call *c)
{
	size_t max = 0;

	if (c->argc) {
		char *end;
		unsigned long long n = strtoull(c->argv[0], &end, 10);
		if (!c->argv[0][0] || *end || c->argv[0][0] == '-' || n == 0)
			return fail(c->err, DM_ERR_SYNTAX, NULL, "audit: N must be a positive number");
		max = (size_t)n;
	}
	int rc = dm_audit_each(c->d, audit_line, c, max);
	if (c->sink_failed)
		return sink_error(c);
	return rc ? fail_code(c->err, rc) : DM_OK;
}

/* Verbs served above core: see core_admin_ext in admin.h for why. */
static int verb_ext(verb_call *c)
{
	for (size_t i = 0; c->env->ext && i < c->env->n_ext; i++)
		if (c->env->ext[i].verb && !strcmp(c->env->ext[i].verb, c->verb))
			return c->env->ext[i].run(c->env->ext[i].ctx, c->argv, c->argc, c->line,
						  c->line_ctx, c->err);
	return fail(c->err, DM_ERR_NOT_SUPPORTED, NULL, "%s is served by the running agent only", c->verb);
}

/* ---------------------------------------------------------------------------
 * Schema dump
 * ------------------------------------------------------------------------- */

static const char *const kind_names[] = {
	[DM_NODE_OBJECT] = "object",
	[DM_NODE_PARAM] = "parameter",
	[DM_NODE_COMMAND] = "command",
	[DM_NODE_EVENT] = "event",
};

static const char *const access_names[] = {
	[DM_ACCESS_READ_ONLY] = "readOnly",
	[DM_ACCESS_READ_WRITE] = "readWrite",
	[DM_ACCESS_WRITE_ONCE_READ_ONLY] = "writeOnceReadOnly",
};

static const char *node_type_text(const dm_node *n)
{
	switch (dm_node_get_kind(n)) {
	case DM_NODE_OBJECT:
		return dm_node_is_table(n) ? "table" : "single";
	case DM_NODE_PARAM:
		return dm_type_name(dm_node_type(n));
	case DM_NODE_COMMAND:
		return dm_node_is_async(n) ? "async" : "sync";
	default:
		return "-";
	}
}

static const char *node_access_text(const dm_node *n)
{
	dm_node_kind k = dm_node_get_kind(n);
	unsigned a = (unsigned)dm_node_access(n);

	if (k != DM_NODE_OBJECT && k != DM_NODE_PARAM)
		return "-";
	return a < sizeof access_names / sizeof access_names[0] ? access_names[a] : "-";
}

/* Recursion depth is the schema's object nesting (about ten in TR-181). */
static int dump_node(verb_call *c, const dm_node *n)
{
	unsigned k = (unsigned)dm_node_get_kind(n);
	const char *fields[] = { "S", dm_node_path(n),
				 k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?",
				 node_type_text(n), node_access_text(n) };

	if (emit(c, fields, 5))
		return 1;
	for (const dm_node *ch = dm_node_first_child(n); ch; ch = dm_node_next_sibling(ch))
		if (dump_node(c, ch))
			return 1;
	return 0;
}

static int verb_schema(verb_call *c)
{
	const char *want = c->argc ? c->argv[0] : "Device.";
	char *spath;

	if (core_admin_schema_path(want, &spath))
		return fail_code(c->err, DM_ERR_NOMEM);
	const dm_node *n = dm_schema_find(c->schema, spath);
	if (!n && spath[0] && spath[strlen(spath) - 1] != '.') {
		/* "Device.IP" for the object "Device.IP." */
		char *obj = object_path(spath);
		n = obj ? dm_schema_find(c->schema, obj) : NULL;
		free(obj);
	}
	if (!n) {
		/* "Device.IP.Interface." names the table "Device.IP.Interface.{i}." */
		char *table = object_path(spath);
		size_t tl = table ? strlen(table) : 0;
		char *inst = table ? malloc(tl + 4) : NULL;
		if (inst) {
			memcpy(inst, table, tl);
			memcpy(inst + tl, "{i}.", 5);
			n = dm_schema_find(c->schema, inst);
			if (n && !dm_node_is_table(n))
				n = NULL;
		}
		free(inst);
		free(table);
	}
	free(spath);
	if (!n)
		return fail(c->err, DM_ERR_NOT_IN_SCHEMA, want, "%s: %s", want,
			    dm_strerror(DM_ERR_NOT_IN_SCHEMA));
	return dump_node(c, n) ? sink_error(c) : DM_OK;
}

/* ---------------------------------------------------------------------------
 * Writing verbs: one write transaction each, committed durably before the
 * answer (DESIGN: a value is never acknowledged before it is durable).
 * ------------------------------------------------------------------------- */

/* The reply names the failing pair's path; engine messages usually name it
 * already, and then are left as they are. */
static int prefix_path(dm_errinfo *err, const char *path, int rc)
{
	if (err->msg[0] && strstr(err->msg, path)) {
		err->code = rc;
		return rc;
	}
	char msg[sizeof err->path + sizeof err->msg + 4];
	size_t len = (size_t)snprintf(msg, sizeof msg, "%.*s: %s", (int)sizeof err->path, path,
				      err->msg[0] ? err->msg : dm_strerror(rc));

	if (len >= sizeof err->msg) /* the client still gets the path and the start of why */
		len = sizeof err->msg - 1;
	memcpy(err->msg, msg, len);
	err->msg[len] = '\0';
	err->code = rc;
	return rc;
}

static int verb_set(verb_call *c)
{
	dm_txn *t = NULL;
	uint64_t txn_id = 0;
	char num[24];

	if (c->argc % 2)
		return fail(c->err, DM_ERR_SYNTAX, NULL, "set needs PATH VALUE pairs");
	int rc = begin(c, DM_TXN_WRITE, &t);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->argc; i += 2) {
		rc = dm_set(t, c->argv[i], c->argv[i + 1], c->err);
		if (rc) {
			dm_txn_abort(t);
			return prefix_path(c->err, c->argv[i], rc);
		}
	}
	rc = dm_txn_commit(t, &txn_id, c->err);
	if (rc)
		return rc;
	snprintf(num, sizeof num, "%" PRIu64, txn_id);
	return emit2(c, "T", num) ? sink_error(c) : DM_OK;
}

static int verb_add(verb_call *c)
{
	dm_txn *t = NULL;
	uint32_t inst = 0;
	char *table = object_path(c->argv[0]);
	int rc = table ? begin(c, DM_TXN_WRITE, &t) : fail_code(c->err, DM_ERR_NOMEM);

	if (rc)
		goto out;
	rc = dm_add(t, table, c->argc > 1 ? c->argv[1] : NULL, &inst, c->err);
	if (rc) {
		dm_txn_abort(t);
		goto out;
	}
	rc = dm_txn_commit(t, NULL, c->err);
	if (!rc) {
		char path[600];
		snprintf(path, sizeof path, "%s%" PRIu32 ".", table, inst);
		if (emit2(c, "I", path))
			rc = sink_error(c);
	}
out:
	free(table);
	return rc;
}

static int verb_delete(verb_call *c)
{
	dm_txn *t = NULL;
	char *obj = object_path(c->argv[0]);
	int rc = obj ? begin(c, DM_TXN_WRITE, &t) : fail_code(c->err, DM_ERR_NOMEM);

	if (rc)
		goto out;
	rc = dm_delete(t, obj, c->err);
	if (rc)
		dm_txn_abort(t);
	else
		rc = dm_txn_commit(t, NULL, c->err);
out:
	free(obj);
	return rc;
}

/* ---------------------------------------------------------------------------
 * operate
 * ------------------------------------------------------------------------- */

/* Shared between the verb and the engine's completion callback, which may
 * run inside dm_operate (sync) or later from the loop (async). */
typedef struct op_wait {
	bool returned;  /* dm_operate has returned */
	bool done;      /* the completion callback ran */
	bool async;     /* reported with an R line; completion only logged */
	int code;
	char *msg;
	char *cmd;
	char **out;     /* name, value, name, value, ... */
	size_t n_out;
} op_wait;

static void op_wait_free(op_wait *w)
{
	for (size_t i = 0; i < 2 * w->n_out; i++)
		free(w->out[i]);
	free(w->out);
	free(w->msg);
	free(w->cmd);
	free(w);
}

static void op_log_done(const op_wait *w, uint64_t req_id, int code, const char *msg, size_t n_out)
{
	if (code)
		CORE_LOG_W("admin", "request %" PRIu64 " %s failed: %d %s", req_id, w->cmd, code,
			   msg && *msg ? msg : dm_strerror(code));
	else
		CORE_LOG_I("admin", "request %" PRIu64 " %s completed with %zu output(s)", req_id, w->cmd,
			   n_out);
}

static void op_keep_outputs(op_wait *w, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	w->code = code;
	w->msg = msg ? strdup(msg) : NULL;
	w->out = calloc(2 * n_out + 1, sizeof *w->out);
	if (!w->out) {
		w->code = DM_ERR_NOMEM;
		return;
	}
	for (size_t i = 0; i < n_out; i++) {
		w->out[2 * i] = strdup(out[i].name ? out[i].name : "");
		w->out[2 * i + 1] = strdup(out[i].value ? out[i].value : "");
		w->n_out = i + 1;
		if (!w->out[2 * i] || !w->out[2 * i + 1])
			w->code = DM_ERR_NOMEM;
	}
}

static void op_done(void *ctx, uint64_t req_id, int code, const dm_arg *out, size_t n_out,
		    const char *msg)
{
	op_wait *w = ctx;

	w->done = true;
	if (w->async || w->returned)
		op_log_done(w, req_id, code, msg, n_out);
	if (w->returned)
		op_wait_free(w);
	else if (!w->async)
		op_keep_outputs(w, code, out, n_out, msg);
}

static bool command_is_async(verb_call *c, const char *cmd)
{
	char *spath;
	bool async = false;

	if (core_admin_schema_path(cmd, &spath))
		return false;
	const dm_node *n = dm_schema_find(c->schema, spath);
	if (n && dm_node_get_kind(n) == DM_NODE_COMMAND)
		async = dm_node_is_async(n);
	free(spath);
	return async;
}

/* "name=value" arguments; the strings point into copies in *store. */
static int parse_op_args(verb_call *c, dm_arg **args, char ***store)
{
	size_t n = c->argc - 1;

	*args = calloc(n + 1, sizeof **args);
	*store = calloc(n + 1, sizeof **store);
	if (!*args || !*store)
		return fail_code(c->err, DM_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		char *s = strdup(c->argv[i + 1]);
		if (!s)
			return fail_code(c->err, DM_ERR_NOMEM);
		(*store)[i] = s;
		char *eq = strchr(s, '=');
		if (!eq || eq == s)
			return fail(c->err, DM_ERR_SYNTAX, NULL, "argument '%s' is not name=value", s);
		*eq = '\0';
		(*args)[i].name = s;
		(*args)[i].value = eq + 1;
	}
	return DM_OK;
}

static int op_report(verb_call *c, op_wait *w, uint64_t req_id)
{
	char num[24];

	if (w->async || !w->done) {
		/* Still running: the request id is all the client gets now. */
		w->async = true;
		snprintf(num, sizeof num, "%" PRIu64, req_id);
		bool done = w->done;
		if (done)
			op_wait_free(w);
		return emit2(c, "R", num) ? sink_error(c) : DM_OK;
	}
	int rc = w->code;
	if (rc)
		fail(c->err, rc, NULL, "%s", w->msg && *w->msg ? w->msg : dm_strerror(rc));
	for (size_t i = 0; !rc && i < w->n_out; i++)
		if (emit3(c, "O", w->out[2 * i], w->out[2 * i + 1]))
			rc = sink_error(c);
	op_wait_free(w);
	return rc;
}

static int verb_operate(verb_call *c)
{
	dm_arg *args = NULL;
	char **store = NULL;
	uint64_t req_id = 0;
	dm_origin o;
	op_wait *w = NULL;
	int rc = parse_op_args(c, &args, &store);

	if (rc)
		goto out;
	w = calloc(1, sizeof *w);
	if (!w || !(w->cmd = strdup(c->argv[0]))) {
		rc = fail_code(c->err, DM_ERR_NOMEM);
		goto out;
	}
	w->async = command_is_async(c, c->argv[0]);
	rc = dm_operate(c->d, c->argv[0], args, c->argc - 1, "", admin_origin(c, &o), op_done, w,
			&req_id, c->err);
	w->returned = true;
	if (rc)
		goto out; /* refused before any handler ran: no completion follows */
	rc = op_report(c, w, req_id);
	w = NULL;
out:
	if (w)
		op_wait_free(w);
	for (size_t i = 0; store && i < c->argc - 1; i++)
		free(store[i]);
	free(store);
	free(args);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------- */

#define ANY ((size_t)-1)

static const struct verb {
	const char *name;
	size_t min_args, max_args;
	bool needs_store;
	bool writes;
	verb_fn fn;
	const char *usage;
} verbs[] = {
	{ "ping", 0, 0, false, false, verb_ping, "ping" },
	{ "get", 1, ANY, true, false, verb_get, "get EXPR..." },
	{ "set", 2, ANY, true, true, verb_set, "set PATH VALUE [PATH VALUE...]" },
	{ "add", 1, 2, true, true, verb_add, "add TABLE [ALIAS]" },
	{ "delete", 1, 1, true, true, verb_delete, "delete OBJ" },
	{ "operate", 1, ANY, true, true, verb_operate, "operate CMD [name=value...]" },
	{ "instances", 1, 1, true, false, verb_instances, "instances TABLE" },
	{ "schema", 0, 1, false, false, verb_schema, "schema [PATH]" },
	{ "stats", 0, 0, false, false, verb_stats, "stats" },
	{ "audit", 0, 1, true, false, verb_audit, "audit [N]" },
	/* owner writes agent state, but through the agent's own transaction */
	{ "owner", 0, 2, true, false, verb_ext, "owner [PREFIX cwmp|usp|shared]" },
	{ "stacks", 0, 0, true, false, verb_ext, "stacks" },
	{ "aliases", 0, 1, true, false, verb_ext, "aliases [freeze|thaw]" },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; name && i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

bool core_admin_verb_known(const char *verb)
{
	return find_verb(verb) != NULL;
}

bool core_admin_verb_needs_store(const char *verb)
{
	const struct verb *v = find_verb(verb);
	return v && v->needs_store;
}

bool core_admin_verb_writes(const char *verb)
{
	const struct verb *v = find_verb(verb);
	return v && v->writes;
}

int core_admin_run(const core_admin_env *env, const char *const *argv, size_t argc,
		   core_admin_line_fn line, void *line_ctx, dm_errinfo *err)
{
	memset(err, 0, sizeof *err);
	if (!argc || !argv[0][0])
		return fail(err, DM_ERR_SYNTAX, NULL, "empty request");
	const struct verb *v = find_verb(argv[0]);
	if (!v)
		return fail(err, DM_ERR_NOT_SUPPORTED, NULL, "unknown verb '%s'", argv[0]);
	size_t nargs = argc - 1;
	if (nargs < v->min_args || (v->max_args != ANY && nargs > v->max_args))
		return fail(err, DM_ERR_SYNTAX, NULL, "usage: %s", v->usage);

	verb_call c = {
		.env = env,
		.d = env->engine,
		.schema = env->schema ? env->schema : env->engine ? dm_get_schema(env->engine) : NULL,
		.verb = v->name,
		.argv = argv + 1,
		.argc = nargs,
		.line = line,
		.line_ctx = line_ctx,
		.err = err,
	};
	if ((v->needs_store && !c.d) || !c.schema)
		return fail(err, DM_ERR_INTERNAL, NULL, "%s needs an open store", v->name);
	int rc = v->fn(&c);
	if (rc && !err->msg[0])
		fail_code(err, rc);
	if (rc)
		err->code = rc;
	return rc;
}

/* ---------------------------------------------------------------------------
 * Instance path -> schema path
 * ------------------------------------------------------------------------- */

/* Length of a "[...]" segment, honouring quoted strings that hold ']' or '.'. */
static size_t bracket_len(const char *s)
{
	size_t i = 1;
	char quote = 0;

	for (; s[i]; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == ']') {
			return i + 1;
		}
	}
	return i;
}

static bool is_instance_segment(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return true;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

int core_admin_schema_path(const char *path, char **out)
{
	core_buf b = { 0 };
	const char *p = path;
	int rc = CORE_OK;

	while (*p && !rc) {
		size_t len = *p == '[' ? bracket_len(p) : strcspn(p, ".");
		if (*p == '[' || is_instance_segment(p, len))
			rc = core_buf_append(&b, "{i}", 3);
		else
			rc = core_buf_append(&b, p, len);
		p += len;
		if (!rc && *p == '.') {
			rc = core_buf_append(&b, ".", 1);
			p++;
		}
	}
	if (!rc && !b.data)
		rc = core_buf_append(&b, "", 0);
	if (rc) {
		core_buf_free(&b);
		return rc;
	}
	*out = b.data;
	return CORE_OK;
}
