/*
 * msg_operate.c - Operate (TR-369 "Defined Operations Mechanism", "The
 * Operate Message"): commands addressed by a Command Path or Search Path run
 * through the engine, one OperationResult each. Sync outputs go in the
 * response; an async command gets a Device.LocalAgent.Request row for as
 * long as it runs and, when it completes, an OperationComplete that subs.c
 * delivers to subscribed Controllers. Also what a restart does to async
 * operations that never completed.
 *
 * Command handlers are the providers' (dm_command_register); argument
 * checking is the engine's; error codes come from errors.c's table.
 */
#include "usp_int.h"
#include "xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUEST_TABLE "Device.LocalAgent.Request."

typedef Usp__OperateResp__OperationResult op_result;
typedef Usp__OperateResp__OperationResult__OutputArgs op_outputs;
typedef Usp__OperateResp__OperationResult__OutputArgs__OutputArgsEntry op_output;
typedef Usp__OperateResp__OperationResult__CommandFailure op_failure;


/* ---------------------------------------------------------------------------
 * Async operations in flight
 * ------------------------------------------------------------------------- */

/* One async operation, from acceptance until its completion is reported. */
typedef struct async_op {
	dm *d;
	usp_agent *agent;  /* NULL: an engine alone (tests, tools), nothing notified */
	uint32_t inst;     /* its Device.LocalAgent.Request row; 0 = none */
	char *requester;   /* the Controller's EndpointID */
	char *cmd;         /* "Device.IP.Diagnostics.IPPing()" */
	char *key;         /* command_key */
	bool returned;     /* dm_operate accepted it and returned */
	bool done;         /* completed; the result below waits to be reported */
	int code;
	char *msg;
	dm_arg *out;
	size_t n_out;
	struct async_op *next;
} async_op;

/* Every operation still running, whatever its engine: the engine holds the
 * done callback's context until completion and the agent has no slot for
 * it, so this list is what usp_operate_release frees at stop. */
static async_op *live_ops;

static void held_free(async_op *op)
{
	for (size_t i = 0; i < op->n_out; i++) {
		free((char *)op->out[i].name);
		free((char *)op->out[i].value);
	}
	free(op->out);
	free(op->msg);
	op->out = NULL;
	op->msg = NULL;
	op->n_out = 0;
}

static void op_free(async_op *op)
{
	if (!op)
		return;
	held_free(op);
	free(op->requester);
	free(op->cmd);
	free(op->key);
	free(op);
}

static async_op *op_new(dm *d, usp_agent *agent, const char *requester, const char *cmd, const char *key)
{
	async_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->d = d;
	op->agent = agent;
	op->requester = strdup(requester);
	op->cmd = strdup(cmd);
	op->key = strdup(key);
	if (!op->requester || !op->cmd || !op->key) {
		op_free(op);
		return NULL;
	}
	return op;
}

static void live_add(async_op *op)
{
	op->next = live_ops;
	live_ops = op;
}

static void live_remove(async_op *op)
{
	for (async_op **pp = &live_ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			return;
		}
}

void usp_operate_release(dm *d)
{
	for (async_op **pp = &live_ops; *pp;) {
		async_op *op = *pp;
		if (op->d == d) {
			*pp = op->next;
			op_free(op);
		} else {
			pp = &op->next;
		}
	}
}

/* ---------------------------------------------------------------------------
 * Device.LocalAgent.Request rows. Originator, Command, CommandKey and Status
 * are read-only to Controllers: the agent writes them as INTERNAL.
 * ------------------------------------------------------------------------- */

static const dm_origin agent_origin = {DM_ORIGIN_INTERNAL, "usp-operate"};

/* A new row in Status Requested (TR-181 Request.{i}): created before the
 * command starts so that the accepted operation is durable first. */
static int row_create(dm *d, async_op *op, dm_errinfo *e)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &agent_origin, &t);
	if (rc)
		return rc;
	char base[64];
	if (!(rc = dm_add(t, REQUEST_TABLE, NULL, &op->inst, e))) {
		const char *names[] = {"Originator", "Command", "CommandKey", "Status"};
		const char *values[] = {op->requester, op->cmd, op->key, "Requested"};
		char path[128];
		snprintf(base, sizeof base, REQUEST_TABLE "%u.", op->inst);
		for (int i = 0; i < 4 && !rc; i++) {
			snprintf(path, sizeof path, "%s%s", base, names[i]);
			rc = dm_set(t, path, values[i], e);
		}
	}
	if (rc) {
		dm_txn_abort(t);
		op->inst = 0;
		return rc;
	}
	/* the functional unique key (Originator, Command, CommandKey) is
	 * checked here */
	rc = dm_txn_commit(t, NULL, e);
	if (rc)
		op->inst = 0;
	return rc;
}

static int row_status(dm *d, uint32_t inst, const char *status, bool remove)
{
	if (!inst)
		return DM_OK;
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &agent_origin, &t);
	if (rc)
		return rc;
	char path[96];
	dm_errinfo e = {0};
	snprintf(path, sizeof path, REQUEST_TABLE "%u.Status", inst);
	rc = dm_set(t, path, status, &e);
	snprintf(path, sizeof path, REQUEST_TABLE "%u.", inst);
	if (!rc && remove)
		rc = dm_delete(t, path, &e);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &e);
}

/* ---------------------------------------------------------------------------
 * Completion of async operations
 * ------------------------------------------------------------------------- */

/*
 * Report a completion: the row goes to Success or Error and is removed
 * (R-OPR.0; TR-181 Request.{i}: the final Status is set before removal), then
 * subscribed Controllers are told. DM_ERR_TXN_STATE: another write
 * transaction is open (a handler completing from inside one) and nothing was
 * done, unless force, which reports anyway and leaves the row to the next
 * start's recovery.
 */
static int op_finish(async_op *op, int code, const char *msg, const dm_arg *out, size_t n_out, bool force)
{
	int rc = row_status(op->d, op->inst, code ? "Error" : "Success", true);
	if (rc == DM_ERR_TXN_STATE && !force)
		return rc;
	if (rc)
		CORE_LOG_W("usp", "Request row %u of %s not removed: %s", op->inst, op->cmd, dm_strerror(rc));
	if (op->agent)
		usp_subs_operation_complete(usp_agent_subs(op->agent), op->requester, op->cmd, op->key, code, msg,
					    out, n_out);
	live_remove(op);
	op_free(op);
	return DM_OK;
}

static void op_finish_held(async_op *op)
{
	op_finish(op, op->code, op->msg, op->out, op->n_out, true);
}

/* Keep a completion that cannot be reported yet; outputs are valid only
 * during the done callback. Without memory for them the operation is
 * reported as failed rather than lost. */
static void op_hold(async_op *op, int code, const char *msg, const dm_arg *out, size_t n_out)
{
	op->done = true;
	op->code = code;
	if (msg && !(op->msg = strdup(msg)))
		goto nomem;
	if (n_out && !(op->out = calloc(n_out, sizeof *op->out)))
		goto nomem;
	op->n_out = n_out; /* zeroed entries free as NULL */
	for (size_t i = 0; i < n_out; i++) {
		op->out[i].name = strdup(out[i].name);
		op->out[i].value = strdup(out[i].value ? out[i].value : "");
		if (!op->out[i].name || !op->out[i].value)
			goto nomem;
	}
	return;
nomem:
	held_free(op);
	op->code = DM_ERR_NOMEM;
}

static void op_deferred(void *ctx)
{
	op_finish_held(ctx);
}

/* Report a held completion from the loop: when the command completed
 * within dm_operate, the OperateResp (sent once the handler returns) then
 * reaches the Controller before the OperationComplete. */
static void op_defer(async_op *op)
{
	core_loop *loop = op->agent ? usp_agent_loop(op->agent) : NULL;
	if (loop && core_timer_start(loop, 0, 0, op_deferred, op, NULL) == 0)
		return;
	op_finish_held(op);
}

static void async_done(void *ctx, uint64_t req_id, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	async_op *op = ctx;
	if (op->returned && op_finish(op, code, msg, out, n_out, false) == DM_OK)
		return;
	op_hold(op, code, msg, out, n_out);
	if (op->returned)
		op_defer(op);
}

/* ---------------------------------------------------------------------------
 * One command
 * ------------------------------------------------------------------------- */

static void set_failure(usp_mem *m, op_result *res, uint32_t code, const char *msg)
{
	op_failure *f = usp_mem_new_msg(m, &usp__operate_resp__operation_result__command_failure__descriptor);
	if (!f)
		return; /* the caller sees no result case set and fails the message */
	f->err_code = code;
	f->err_msg = usp_mem_strdup(m, msg && *msg ? msg : usp_err_text(code));
	if (!f->err_msg)
		return;
	res->operation_resp_case = USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_CMD_FAILURE;
	res->cmd_failure = f;
}

typedef struct sync_ctx {
	usp_mem *mem;
	op_result *res;
} sync_ctx;

/* A sync command's outputs, copied into the response (they are valid only
 * during the callback). Left unset on lack of memory. */
static void sync_done(void *ctx, uint64_t req_id, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	sync_ctx *s = ctx;
	op_outputs *o = usp_mem_new_msg(s->mem, &usp__operate_resp__operation_result__output_args__descriptor);
	if (!o || (n_out && !(o->output_args = usp_mem_alloc(s->mem, n_out * sizeof *o->output_args))))
		return;
	for (size_t i = 0; i < n_out; i++) {
		op_output *e = usp_mem_new_msg(
			s->mem, &usp__operate_resp__operation_result__output_args__output_args_entry__descriptor);
		if (!e || !(e->key = usp_mem_strdup(s->mem, out[i].name)) ||
		    !(e->value = usp_mem_strdup(s->mem, out[i].value ? out[i].value : "")))
			return;
		o->output_args[o->n_output_args++] = e;
	}
	s->res->operation_resp_case = USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_REQ_OUTPUT_ARGS;
	s->res->req_output_args = o;
}

/* Everything one command of the request needs. */
typedef struct cmd_run {
	usp_req_ctx *c;
	const char *path;      /* instantiated command path, as the Controller names it */
	const char *stored;    /* the same in the store's names, for the engine */
	const dm_arg *in;
	size_t n_in;
	const char *key;
	dm_origin origin;
} cmd_run;

static void run_sync(const cmd_run *r, op_result *res)
{
	sync_ctx s = {r->c->mem, res};
	dm_errinfo e = {0};
	int rc = dm_operate(r->c->d, r->stored, r->in, r->n_in, r->key, &r->origin, sync_done, &s, NULL, &e);
	if (rc)
		set_failure(r->c->mem, res, usp_err_code(rc, USP_OP_OPERATE), e.msg);
}

/* USP error code and message when the operation could not be accepted. */
static uint32_t start_async(const cmd_run *r, op_result *res, const char **msg)
{
	usp_mem *m = r->c->mem;
	async_op *op = op_new(r->c->d, r->c->agent, r->origin.who, r->path, r->key);
	if (!op)
		return usp_err_code(DM_ERR_NOMEM, USP_OP_OPERATE);
	dm_errinfo e = {0};
	int rc = row_create(r->c->d, op, &e);
	/* Concurrent Operations, option 1: the same Controller running the same
	 * command with the same command_key again would duplicate the row's
	 * unique key, so the new operation is denied. A schema without the
	 * Request table runs the command without a row. */
	if (rc == DM_ERR_UNIQUE_KEY) {
		op_free(op);
		*msg = "the same command with the same command_key is still running for this Controller";
		return USP_ERR_RESOURCES_EXCEEDED;
	}
	if (rc && rc != DM_ERR_NOT_IN_SCHEMA) {
		op_free(op);
		*msg = usp_mem_strdup(m, e.msg);
		return usp_err_code(rc, USP_OP_OPERATE);
	}
	live_add(op);
	rc = dm_operate(r->c->d, r->stored, r->in, r->n_in, r->key, &r->origin, async_done, op, NULL, &e);
	if (rc) {
		/* never started, so never completes: the row goes at once */
		row_status(op->d, op->inst, "Error", true);
		live_remove(op);
		op_free(op);
		*msg = usp_mem_strdup(m, e.msg);
		return usp_err_code(rc, USP_OP_OPERATE);
	}
	res->operation_resp_case = USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_REQ_OBJ_PATH;
	res->req_obj_path = op->inst ? usp_mem_printf(m, REQUEST_TABLE "%u.", op->inst) : (char *)"";
	if (!res->req_obj_path)
		res->operation_resp_case = USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP__NOT_SET;
	op->returned = true;
	if (op->done)
		op_defer(op); /* may free op */
	else
		row_status(op->d, op->inst, "Active", false);
	return 0;
}

static void run_async(const cmd_run *r, op_result *res)
{
	const char *msg = NULL;
	uint32_t code = start_async(r, res, &msg);
	if (code)
		set_failure(r->c->mem, res, code, msg);
}

/* R-OPR.6: input arguments the command does not define are ignored; the
 * same rule as the engine's: a parameter argument by name, an argument
 * object by "Name." prefix ("Result.1.Radio"). */
static bool known_input(const dm_node *cmd, const char *name)
{
	for (const dm_node *a = dm_node_first_input(cmd); a; a = dm_node_next_sibling(a)) {
		const char *an = dm_node_name(a);
		size_t l = strlen(an);
		if (dm_node_get_kind(a) == DM_NODE_PARAM ? !strcmp(an, name) : !strncmp(an, name, l) && name[l] == '.')
			return true;
	}
	return false;
}

static int inputs_for(usp_mem *m, const dm_node *cmd, const Usp__Operate *q, dm_arg **in, size_t *n_in)
{
	*n_in = 0;
	if (!q->n_input_args)
		return DM_OK;
	if (!(*in = usp_mem_alloc(m, q->n_input_args * sizeof **in)))
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < q->n_input_args; i++) {
		const Usp__Operate__InputArgsEntry *a = q->input_args[i];
		if (!a || !a->key || !known_input(cmd, a->key))
			continue;
		(*in)[*n_in].name = a->key;
		(*in)[(*n_in)++].value = a->value ? a->value : "";
	}
	return DM_OK;
}

static op_result *run_command(usp_req_ctx *c, const Usp__Operate *q, const char *path, const dm_node *cmd)
{
	op_result *res = usp_mem_new_msg(c->mem, &usp__operate_resp__operation_result__descriptor);
	if (!res || !(res->executed_command = usp_mem_strdup(c->mem, path)))
		return NULL;
	if (!usp_allowed(c->ctl, USP_PERM_CMD_EVENT, path, USP_PERM_X)) {
		set_failure(c->mem, res, USP_ERR_PERMISSION_DENIED,
			    usp_mem_printf(c->mem, "no permission to execute %s", path));
		return res;
	}
	/* resolved through the view, so the view maps it */
	char stored[1024];
	if (dm_view_store(c->view, path, stored, sizeof stored) != 1)
		return NULL;
	cmd_run r = {.c = c, .path = path, .stored = stored, .key = q->command_key ? q->command_key : ""};
	r.origin = (dm_origin){DM_ORIGIN_USP, c->ctl->endpoint_id};
	dm_arg *in = NULL;
	if (inputs_for(c->mem, cmd, q, &in, &r.n_in))
		return NULL;
	r.in = in;
	if (dm_node_is_async(cmd))
		run_async(&r, res);
	else
		run_sync(&r, res);
	return res;
}

/* ---------------------------------------------------------------------------
 * The message
 * ------------------------------------------------------------------------- */

typedef struct cmd_item {
	const char *path;
	const dm_node *node;
} cmd_item;

typedef struct cmd_list {
	usp_mem *mem;
	cmd_item **items;
	size_t n;
	bool nomem;
} cmd_list;

static int collect(void *ctx, const dm_item *item)
{
	cmd_list *l = ctx;
	cmd_item *it = usp_mem_alloc(l->mem, sizeof *it);
	if (!it || !(it->path = usp_mem_strdup(l->mem, item->path)) ||
	    usp_mem_push(l->mem, (void ***)&l->items, &l->n, it)) {
		l->nomem = true;
		return 1;
	}
	it->node = item->node;
	return 0;
}

/* Every command the path matches, collected before any runs: handlers
 * may write, and the snapshot that resolved the path is closed by then.
 * A path that matches nothing through wildcards or search expressions is
 * not an error (an empty OperateResp). Returns 0 or a USP error code. */
static uint32_t resolve_commands(usp_req_ctx *c, const char *path, cmd_list *l, Usp__Error *err)
{
	size_t len = strlen(path);
	dm_errinfo e = {0};
	int rc;
	if (len < 2 || strcmp(path + len - 2, "()")) {
		err->err_msg = usp_mem_printf(c->mem, "%s is not a Command Path", path);
		return usp_err_code(DM_ERR_NOT_COMMAND, USP_OP_OPERATE);
	}
	dm_txn *t;
	if ((rc = usp_req_txn_begin(c, DM_TXN_READ, NULL, &t)))
		return usp_err_code(rc, USP_OP_OPERATE);
	rc = dm_resolve(t, DM_GRAMMAR_USP, path, DM_RESOLVE_COMMANDS, 0, collect, l, &e);
	dm_txn_abort(t);
	if (l->nomem)
		return usp_err_code(DM_ERR_NOMEM, USP_OP_OPERATE);
	if (rc) {
		err->err_msg = usp_mem_strdup(c->mem, e.msg);
		return usp_err_code(rc, USP_OP_OPERATE);
	}
	return 0;
}

/* R-OPR.4: with send_resp=false no OperateResp is sent, unless something
 * failed: then one goes with just the failures, so that a Controller that
 * wants to learn about errors can. */
static bool keep_failures_only(Usp__OperateResp *r)
{
	size_t kept = 0;
	for (size_t i = 0; i < r->n_operation_results; i++)
		if (r->operation_results[i]->operation_resp_case ==
		    USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_CMD_FAILURE)
			r->operation_results[kept++] = r->operation_results[i];
	r->n_operation_results = kept;
	return kept > 0;
}

int usp_handle_operate(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Request *rq = c->req && c->req->body ? c->req->body->request : NULL;
	const Usp__Operate *q = rq ? rq->operate : NULL;
	if (!q || !q->command)
		return USP_ERR_INVALID_ARGUMENTS;
	cmd_list l = {.mem = c->mem};
	uint32_t code = resolve_commands(c, q->command, &l, err);
	if (code)
		return code;
	Usp__OperateResp *r = usp_mem_new_msg(c->mem, &usp__operate_resp__descriptor);
	if (!r || (l.n && !(r->operation_results = usp_mem_alloc(c->mem, l.n * sizeof *r->operation_results))))
		return usp_err_code(DM_ERR_NOMEM, USP_OP_OPERATE);
	/* R-OPR.1: each command succeeds or fails on its own; only a lack of
	 * memory for the response fails the message */
	bool nomem = false;
	for (size_t i = 0; i < l.n; i++) {
		op_result *res = run_command(c, q, l.items[i]->path, l.items[i]->node);
		if (!res || res->operation_resp_case == USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP__NOT_SET) {
			nomem = true;
			continue;
		}
		r->operation_results[r->n_operation_results++] = res;
	}
	if (nomem)
		return usp_err_code(DM_ERR_NOMEM, USP_OP_OPERATE);
	if (!q->send_resp && !keep_failures_only(r))
		return USP_NO_RESPONSE;
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_OPERATE_RESP;
	resp->operate_resp = r;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Restart: TR-369 "Persistence of Asynchronous Operations": an operation in
 * process when the agent restarts is removed from the Request table and has
 * failed, unless its command description says it is retained. TR-181 says
 * so of Device.ScheduleTimer() only: mapping/timers.c keeps its own record
 * of each timer, takes it over before this runs (so it is not failed here)
 * and completes it at its due time (usp_agent_operation_complete). A
 * firmware activation restarts the agent by design (notes C10): its
 * request completes with the outcome mapping/xfer_usp.c found at start.
 * ------------------------------------------------------------------------- */

#define INTERRUPTED_MSG "interrupted by a restart of the agent"

typedef struct pending_op {
	uint64_t id;
	char *cmd, *key, *who;
	struct pending_op *next;
} pending_op;

typedef struct pending_list {
	pending_op *head, **tail; /* in request order */
	bool nomem;
} pending_list;

static void pending_free(pending_op *p)
{
	free(p->cmd);
	free(p->key);
	free(p->who);
	free(p);
}

/* Collected first: the engine reports them from inside a read snapshot. */
static void collect_pending(void *ctx, uint64_t req_id, const char *cmd, const char *key, const dm_origin *o)
{
	pending_list *l = ctx;
	if (o->kind != DM_ORIGIN_USP)
		return;
	pending_op *p = calloc(1, sizeof *p);
	if (p) {
		p->id = req_id;
		p->cmd = strdup(cmd);
		p->key = strdup(key ? key : "");
		p->who = strdup(o->who ? o->who : "");
	}
	if (!p || !p->cmd || !p->key || !p->who) {
		if (p)
			pending_free(p);
		l->nomem = true;
		return;
	}
	*l->tail = p;
	l->tail = &p->next;
}

/* Every row left from before the restart: none of their operations runs. */
static int clear_request_rows(dm *d)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &agent_origin, &t);
	if (rc)
		return rc;
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_errinfo e = {0};
	rc = dm_list_instances(t, REQUEST_TABLE, &insts, &n, &e);
	for (size_t i = 0; !rc && i < n; i++) {
		char path[96];
		snprintf(path, sizeof path, REQUEST_TABLE "%u.Status", insts[i]);
		rc = dm_set(t, path, "Error", &e);
		snprintf(path, sizeof path, REQUEST_TABLE "%u.", insts[i]);
		if (!rc)
			rc = dm_delete(t, path, &e);
	}
	free(insts);
	if (rc) {
		dm_txn_abort(t);
		return rc == DM_ERR_NOT_IN_SCHEMA ? DM_OK : rc;
	}
	return dm_txn_commit(t, NULL, &e);
}

int usp_operate_recover_dm(dm *d, usp_subs *subs)
{
	pending_list l = {.tail = &l.head};
	int rc = dm_requests_interrupted(d, collect_pending, &l);
	int rows = clear_request_rows(d);
	if (rows)
		CORE_LOG_W("usp", "leftover Request rows not removed: %s", dm_strerror(rows));
	while (l.head) {
		pending_op *p = l.head;
		l.head = p->next;
		int code = DM_ERR_CMD_FAILED;
		char msg[256] = INTERRUPTED_MSG;
		/* C10: a firmware activation restarts the agent under its own
		 * request; mapping/ knows how it ended */
		map_xfer_usp_outcome(d, p->id, &code, msg, sizeof msg);
		CORE_LOG_I("usp", "%s (command_key \"%s\") of %s ended: %s", p->cmd, p->key, p->who,
			   code ? msg : "complete");
		if (subs)
			usp_subs_operation_complete(subs, p->who, p->cmd, p->key, code, code ? msg : NULL, NULL, 0);
		dm_request_forget(d, p->id);
		pending_free(p);
	}
	if (!rc && l.nomem)
		rc = DM_ERR_NOMEM;
	return rc ? rc : rows;
}

int usp_operate_recover(usp_agent *a)
{
	return usp_operate_recover_dm(usp_agent_dm(a), usp_agent_subs(a));
}
