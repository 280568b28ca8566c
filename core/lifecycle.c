/*
 * lifecycle.c - the agent's own commands and its start-up event:
 * Device.Reboot() and Device.FactoryReset() (run a configured hook, or ask
 * the owner to restart the agent in place) and the Boot! event. How the
 * restart itself happens (closing everything, execv) is duetd's main.
 */
#include "core.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The cause of a restart is agent state in the store (namespace "boot"),
 * written durably before the restart or hook and consumed by the next
 * start's Boot!: it survives a re-exec and a real reboot of the box alike. */
#define STATE_NS "boot"

static const struct lc_command {
	const char *path;
	core_restart_cause cause;
} lc_commands[] = {
	{ "Device.Reboot()", CORE_RESTART_REBOOT },
	{ "Device.FactoryReset()", CORE_RESTART_FACTORY_RESET },
};
#define N_COMMANDS (sizeof lc_commands / sizeof lc_commands[0])

typedef struct lc_binding {
	core_lifecycle *lc;
	const struct lc_command *cmd;
	bool async; /* per the schema: complete when the hook exits */
} lc_binding;

typedef struct hook_run {
	uv_process_t proc;
	core_lifecycle *lc;
	struct hook_run *next;
	dm_request *req; /* async commands: completed when the hook exits */
	const char *what;
} hook_run;

struct core_lifecycle {
	dm *d;
	core_loop *loop;
	char *hooks[N_COMMANDS];
	lc_binding bindings[N_COMMANDS];
	core_restart_fn restart;
	void *ctx;
	hook_run *running;
	bool restart_pending;
	core_restart_cause cause;
	bool remote;
	char *command_key;
};

/* ---------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------- */

static void hook_closed(uv_handle_t *h)
{
	free(h->data);
}

static void hook_forget(hook_run *r)
{
	for (hook_run **pp = &r->lc->running; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	uv_close((uv_handle_t *)&r->proc, hook_closed);
}

static void hook_exited(uv_process_t *p, int64_t status, int term_signal)
{
	hook_run *r = p->data;
	char msg[96];

	if (term_signal)
		snprintf(msg, sizeof msg, "hook killed by signal %d", term_signal);
	else
		snprintf(msg, sizeof msg, "hook exited with status %" PRId64, status);
	bool ok = !term_signal && status == 0;
	core_log(ok ? CORE_LOG_INFO : CORE_LOG_WARN, "lifecycle", "%s: %s", r->what, msg);
	if (r->req)
		dm_request_complete(r->req, ok ? DM_OK : DM_ERR_CMD_FAILED, NULL, 0, ok ? NULL : msg);
	hook_forget(r);
}

/* The loop must not block on a hook that reboots the box: spawn, not system(). */
static int hook_spawn(core_lifecycle *lc, const char *cmd, const char *what, dm_request *req,
		      char *msg, size_t msgsz)
{
	hook_run *r = calloc(1, sizeof *r);
	char *args[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_INHERIT_FD, .data.fd = 0 },
		{ .flags = UV_INHERIT_FD, .data.fd = 1 },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 },
	};
	uv_process_options_t o = {
		.exit_cb = hook_exited, .file = args[0], .args = args, .stdio_count = 3, .stdio = stdio,
	};

	if (!r) {
		snprintf(msg, msgsz, "%s", core_strerror(CORE_ERR_NOMEM));
		return CORE_ERR_NOMEM;
	}
	r->lc = lc;
	r->req = req;
	r->what = what;
	r->proc.data = r;
	int uerr = uv_spawn(core_loop_uv(lc->loop), &r->proc, &o);
	if (uerr) {
		snprintf(msg, msgsz, "cannot run hook: %s", uv_strerror(uerr));
		uv_close((uv_handle_t *)&r->proc, hook_closed);
		return CORE_ERR_UV;
	}
	r->next = lc->running;
	lc->running = r;
	CORE_LOG_I("lifecycle", "%s: running hook (pid %d)", what, r->proc.pid);
	return CORE_OK;
}

/* ---------------------------------------------------------------------------
 * Restart in place
 * ------------------------------------------------------------------------- */

/* From the loop, so the request's answer goes out before anything closes. */
static void restart_now(void *ctx)
{
	core_lifecycle *lc = ctx;

	lc->restart(lc->ctx, lc->cause, lc->remote, lc->command_key);
}

static void schedule_restart(core_lifecycle *lc, const struct lc_command *cmd, dm_request *req)
{
	const dm_origin *o = dm_request_origin(req);
	const char *key = dm_request_command_key(req);

	if (lc->restart_pending)
		return; /* one restart satisfies every request made before it */
	lc->cause = cmd->cause;
	lc->remote = o && (o->kind == DM_ORIGIN_CWMP || o->kind == DM_ORIGIN_USP);
	lc->command_key = strdup(key ? key : "");
	if (core_timer_start(lc->loop, 0, 0, restart_now, lc, NULL)) {
		CORE_LOG_E("lifecycle", "%s: cannot schedule the restart", cmd->path);
		return;
	}
	lc->restart_pending = true;
}

/* ---------------------------------------------------------------------------
 * Boot cause
 * ------------------------------------------------------------------------- */

static const char *cause_text(core_restart_cause c, bool remote)
{
	if (c == CORE_RESTART_FACTORY_RESET)
		return remote ? "RemoteFactoryReset" : "LocalFactoryReset";
	return remote ? "RemoteReboot" : "LocalReboot";
}

/* cause NULL forgets a recorded cause (the restart did not happen). */
static int record_boot_cause(dm *d, const char *cause, const char *key)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "lifecycle" };
	dm_txn *t;
	dm_errinfo err = { 0 };
	int rc = dm_txn_begin(d, DM_TXN_WRITE, &o, &t);
	if (rc)
		return rc;
	if (cause) {
		rc = dm_state_put(t, STATE_NS, "cause", cause, strlen(cause), &err);
		if (!rc)
			rc = dm_state_put(t, STATE_NS, "command_key", key ? key : "", key ? strlen(key) : 0, &err);
	} else {
		rc = dm_state_del(t, STATE_NS, "cause", &err);
		if (!rc)
			rc = dm_state_del(t, STATE_NS, "command_key", &err);
	}
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

/* Read and clear the recorded cause; count the boot. Caller frees. */
static void take_boot_cause(dm *d, char **cause, char **key)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "lifecycle" };
	dm_txn *t;
	dm_errinfo err = { 0 };
	*cause = *key = NULL;
	if (dm_txn_begin(d, DM_TXN_WRITE, &o, &t))
		return;
	char *count = NULL;
	unsigned long n = 0;
	if (!dm_state_get(t, STATE_NS, "count", &count, NULL, &err))
		n = strtoul(count, NULL, 10);
	free(count);
	char buf[24];
	snprintf(buf, sizeof buf, "%lu", n + 1);
	dm_state_get(t, STATE_NS, "cause", cause, NULL, &err);
	dm_state_get(t, STATE_NS, "command_key", key, NULL, &err);
	if (dm_state_put(t, STATE_NS, "count", buf, strlen(buf), &err) ||
	    dm_state_del(t, STATE_NS, "cause", &err) || dm_state_del(t, STATE_NS, "command_key", &err) ||
	    dm_txn_commit(t, NULL, &err)) {
		if (!err.code)
			dm_txn_abort(t);
		CORE_LOG_W("lifecycle", "cannot update the boot record: %s", err.msg);
		return;
	}
	CORE_LOG_D("lifecycle", "boot number %lu", n + 1);
}

int core_lifecycle_peek_cause(dm *d, char *buf, size_t n)
{
	dm_txn *t;
	char *cause = NULL;
	dm_errinfo err = { 0 };

	if (!buf || !n)
		return CORE_ERR_INVALID;
	buf[0] = '\0';
	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return CORE_ERR_INVALID;
	int rc = dm_state_get(t, STATE_NS, "cause", &cause, NULL, &err);
	dm_txn_abort(t);
	if (rc == DM_ERR_NOT_INSTANTIATED)
		return CORE_OK;
	if (rc)
		return CORE_ERR_INVALID;
	snprintf(buf, n, "%s", cause);
	free(cause);
	return CORE_OK;
}

/* ---------------------------------------------------------------------------
 * Command handler
 * ------------------------------------------------------------------------- */

static int on_command(void *ctx, dm_request *req)
{
	lc_binding *b = ctx;
	core_lifecycle *lc = b->lc;
	const char *hook = lc->hooks[b->cmd - lc_commands];
	dm_errinfo err;
	char msg[160];

	CORE_LOG_I("lifecycle", "%s requested", b->cmd->path);
	const dm_origin *o = dm_request_origin(req);
	bool remote = o && (o->kind == DM_ORIGIN_CWMP || o->kind == DM_ORIGIN_USP);
	int brc = record_boot_cause(lc->d, cause_text(b->cmd->cause, remote), dm_request_command_key(req));
	if (brc)
		CORE_LOG_W("lifecycle", "cannot record the boot cause: %s", dm_strerror(brc));
	if (b->cmd->cause == CORE_RESTART_FACTORY_RESET) {
		int rc = dm_factory_reset(lc->d, &err);
		if (rc) {
			CORE_LOG_E("lifecycle", "factory reset failed: %s", err.msg);
			dm_request_complete(req, rc, NULL, 0, err.msg);
			return DM_OK;
		}
	}
	if (hook) {
		if (hook_spawn(lc, hook, b->cmd->path, b->async ? req : NULL, msg, sizeof msg)) {
			CORE_LOG_E("lifecycle", "%s: %s", b->cmd->path, msg);
			record_boot_cause(lc->d, NULL, NULL);
			dm_request_complete(req, DM_ERR_CMD_FAILED, NULL, 0, msg);
		} else if (!b->async) {
			dm_request_complete(req, DM_OK, NULL, 0, NULL);
		}
		return DM_OK;
	}
	/* Read what the restart needs first: completing may free the request. */
	schedule_restart(lc, b->cmd, req);
	dm_request_complete(req, DM_OK, NULL, 0, NULL);
	return DM_OK;
}

int core_lifecycle_start(dm *d, core_loop *l, const char *reboot_hook, const char *reset_hook,
			 core_restart_fn restart, void *ctx, core_lifecycle **out)
{
	const dm_schema *s = dm_get_schema(d);
	const char *hooks[N_COMMANDS] = { reboot_hook, reset_hook };
	core_lifecycle *lc = calloc(1, sizeof *lc);

	if (!lc)
		return CORE_ERR_NOMEM;
	lc->d = d;
	lc->loop = l;
	lc->restart = restart;
	lc->ctx = ctx;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (hooks[i] && *hooks[i] && !(lc->hooks[i] = strdup(hooks[i]))) {
			core_lifecycle_free(lc);
			return CORE_ERR_NOMEM;
		}
		const dm_node *n = dm_schema_find(s, lc_commands[i].path);
		if (!n || dm_node_get_kind(n) != DM_NODE_COMMAND) {
			CORE_LOG_D("lifecycle", "schema has no %s", lc_commands[i].path);
			continue;
		}
		lc->bindings[i] = (lc_binding){ lc, &lc_commands[i], dm_node_is_async(n) };
		int rc = dm_command_register(d, lc_commands[i].path, on_command, &lc->bindings[i]);
		if (rc)
			CORE_LOG_W("lifecycle", "cannot register %s: %s", lc_commands[i].path,
				   dm_strerror(rc));
	}
	*out = lc;
	return CORE_OK;
}

void core_lifecycle_free(core_lifecycle *lc)
{
	if (!lc)
		return;
	while (lc->running) /* the hooks keep running; we stop watching them */
		hook_forget(lc->running);
	for (size_t i = 0; i < N_COMMANDS; i++)
		free(lc->hooks[i]);
	free(lc->command_key);
	free(lc);
}

/* ---------------------------------------------------------------------------
 * Boot!
 * ------------------------------------------------------------------------- */

/* The schema may put Boot! anywhere (TR-181 has it on Device.): find it by name. */
static const dm_node *find_event(const dm_node *n, const char *name)
{
	for (const dm_node *c = dm_node_first_child(n); c; c = dm_node_next_sibling(c)) {
		dm_node_kind k = dm_node_get_kind(c);
		if (k == DM_NODE_EVENT && !strcmp(dm_node_name(c), name))
			return c;
		if (k == DM_NODE_OBJECT && !dm_node_is_table(c)) {
			const dm_node *f = find_event(c, name);
			if (f)
				return f;
		}
	}
	return NULL;
}

int core_lifecycle_emit_boot(dm *d, bool firmware_updated)
{
	const dm_schema *s = dm_get_schema(d);
	const dm_node *ev = find_event(dm_schema_root(s), "Boot!");
	char *cause, *key;
	take_boot_cause(d, &cause, &key);
	/* Names as TR-181 Device.Boot! declares them; only those the schema has are sent. */
	const dm_arg known[] = {
		{ "CommandKey", key ? key : "" },
		{ "Cause", cause && *cause ? cause : "LocalReboot" },
		{ "FirmwareUpdated", firmware_updated ? "true" : "false" },
		{ "ParameterMap", "{}" },
	};
	dm_arg args[sizeof known / sizeof known[0]];
	size_t n = 0;

	if (!ev) {
		CORE_LOG_D("lifecycle", "schema has no Boot! event");
		free(cause);
		free(key);
		return CORE_OK;
	}
	for (const dm_node *a = dm_node_first_input(ev); a; a = dm_node_next_sibling(a))
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (!strcmp(dm_node_name(a), known[i].name) && n < sizeof args / sizeof args[0])
				args[n++] = known[i];
	dm_origin o = { DM_ORIGIN_INTERNAL, NULL };
	int rc = dm_event_emit(d, dm_node_path(ev), args, n, &o);
	if (rc) {
		CORE_LOG_W("lifecycle", "cannot emit %s: %s", dm_node_path(ev), dm_strerror(rc));
		rc = CORE_ERR_INVALID;
	} else {
		CORE_LOG_I("lifecycle", "%s emitted (Cause %s)", dm_node_path(ev), known[1].value);
	}
	free(cause);
	free(key);
	return rc;
}
