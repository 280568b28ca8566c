/*
 * diag_cwmp.c - the CWMP door of the diagnostics: the CWMP-style objects
 * (Device.IP.Diagnostics.IPPing. ...) driven through their
 * DiagnosticsState, after TR-181's DiagnosticsState rules as
 * notes/cwmp-cpe-requirements.md 15 lists them:
 *
 *   - "Requested" (written by any manager) starts the test DELAY_MS later,
 *     with the inputs current then: the ACS wrote it inside a session, and
 *     a test SHOULD start once the session is over; a second has proven
 *     enough for the session's last exchanges, and keeps the test from
 *     competing with them for the link.
 *   - "Requested" again, even unchanged, while the test waits or runs:
 *     the test starts over.
 *   - Writing an input, in any later transaction than the request: the
 *     test stops and DiagnosticsState goes back to "None".
 *   - The test ends: its results and DiagnosticsState ("Complete" or an
 *     Error_* value) are written in one transaction of INTERNAL origin
 *     (cwmp/diag_events.c turns that into "8 DIAGNOSTICS COMPLETE" when
 *     the ACS asked).
 *   - Managers may write no value but "Requested" (the others are the
 *     agent's): refused as an invalid value; so is a DownloadURL that is
 *     not http(s) (input errors are found when the inputs are set).
 *   - A restart runs nothing: "Requested" found at start becomes "None".
 *
 * An unchanged "Requested" leaves no trace on the change feed, so a
 * provider hook on DiagnosticsState notes every write of it, tied to the
 * first transaction the feed then publishes (its own, as the hook runs
 * inside it); the settle step, run from the loop once the writing
 * transaction is over, decides.
 */
#include "diag_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "diag"
#define DELAY_MS 1000
/* another writer holds the store: try again shortly */
#define RETRY_MS 50

static const dm_origin self_origin = {DM_ORIGIN_INTERNAL, "diagnostics"};

/* map_diags open, for the provider hooks (the engine cannot unregister a
 * provider, so the hook finds its map_diag here, by engine). */
static map_diag *open_list;

static map_diag *owner_of(const dm *d)
{
	for (map_diag *md = open_list; md; md = md->next_open)
		if (md->d == d)
			return md;
	return NULL;
}

static void state_path(map_diag_kind kind, char *buf, size_t n)
{
	snprintf(buf, n, "%sDiagnosticsState", diag_spec_of(kind)->object);
}

static int read_state(map_diag *md, dm_txn *t, map_diag_kind kind, char *buf, size_t n)
{
	char path[256];

	state_path(kind, path, sizeof path);
	return dm_get_value_buf(md->d, t, path, buf, n, NULL);
}

static bool state_is(map_diag *md, map_diag_kind kind, const char *want)
{
	char state[48];

	return read_state(md, NULL, kind, state, sizeof state) == DM_OK && !strcmp(state, want);
}

static void stop_timer(core_timer **t)
{
	core_timer_stop(*t);
	*t = NULL;
}

/* ---- writing the outcome ------------------------------------------------------ */

static void write_now(diag_cwmp *o);

static void retry_fired(void *ctx)
{
	diag_cwmp *o = ctx;

	stop_timer(&o->retry);
	write_now(o);
}

static int set_state(map_diag *md, dm_txn *t, map_diag_kind kind, const char *value, dm_errinfo *err)
{
	char path[256];
	int rc;

	state_path(kind, path, sizeof path);
	md->self_writing = true;
	rc = dm_set(t, path, value, err);
	md->self_writing = false;
	return rc;
}

/* A result of a table row ("RouteHops.2.Host"): the table's name with its
 * dot into table (n bytes), the row into *row, the parameter's name. */
static const char *row_result(const char *name, char *table, size_t n, unsigned long *row)
{
	const char *dot = strchr(name, '.');
	char *end;

	if (!dot || (size_t)(dot - name) + 2 > n)
		return NULL;
	*row = strtoul(dot + 1, &end, 10);
	if (end == dot + 1 || *end != '.' || !*row)
		return NULL;
	snprintf(table, n, "%.*s", (int)(dot - name + 1), name);
	return end + 1;
}

/* A result table of the object holds the latest run's rows only: the
 * former rows go, each new row is a new instance (numbers are never
 * reused, so the rows are numbered on from the former ones). */
static int fresh_rows(dm_txn *t, const char *table_path, dm_errinfo *err)
{
	uint32_t *insts = NULL;
	size_t n = 0;
	char path[300];
	int rc = dm_list_instances(t, table_path, &insts, &n, err);

	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(path, sizeof path, "%s%u.", table_path, insts[i]);
		rc = dm_delete(t, path, err);
	}
	free(insts);
	return rc;
}

/* Results the object does not carry are skipped; one the model refuses
 * is logged and left as it was, the state is still written. Rows arrive
 * in order, numbered from 1. */
static void set_results(diag_cwmp *o, dm_txn *t)
{
	const char *obj = diag_spec_of(o->kind)->object;
	const dm_schema *s = dm_get_schema(o->md->d);
	char path[300], schema_path[300], table[MAP_DIAG_NAME_MAX], cleared[MAP_DIAG_NAME_MAX] = "", table_path[200];
	unsigned long row, last_row = 0;
	uint32_t inst = 0;
	dm_errinfo err = {0};

	for (size_t i = 0; i < o->result.n_out; i++) {
		const char *name = o->result.out[i].name, *param = row_result(name, table, sizeof table, &row);
		if (param) {
			snprintf(table_path, sizeof table_path, "%s%s", obj, table);
			snprintf(schema_path, sizeof schema_path, "%s{i}.%s", table_path, param);
			if (!dm_schema_find(s, schema_path))
				continue;
			if (strcmp(cleared, table)) {
				if (fresh_rows(t, table_path, &err))
					CORE_LOG_W(MOD, "%s not emptied: %s", table_path, err.msg);
				snprintf(cleared, sizeof cleared, "%s", table);
				last_row = 0;
			}
			if (row != last_row && dm_add(t, table_path, NULL, &inst, &err)) {
				CORE_LOG_W(MOD, "no row in %s: %s", table_path, err.msg);
				continue;
			}
			last_row = row;
			snprintf(path, sizeof path, "%s%u.%s", table_path, inst, param);
		} else {
			snprintf(path, sizeof path, "%s%s", obj, name);
			if (!dm_schema_find(s, path))
				continue;
		}
		if (dm_set(t, path, o->result.out[i].value, &err))
			CORE_LOG_W(MOD, "%s not written: %s", path, err.msg);
	}
}

/* The state the write expects: results land only on a test still
 * requested (a reset or a new request since wins); a reset only where
 * there is something to reset. */
static bool still_wanted(diag_cwmp *o, dm_txn *t)
{
	char state[48];

	if (read_state(o->md, t, o->kind, state, sizeof state))
		return false;
	return o->reset ? strcmp(state, "None") != 0 : strcmp(state, "Requested") == 0;
}

static void write_now(diag_cwmp *o)
{
	map_diag *md = o->md;
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (!o->unwritten)
		return;
	if ((rc = dm_txn_begin(md->d, DM_TXN_WRITE, &self_origin, &t))) {
		if (rc == DM_ERR_TXN_STATE && !o->retry)
			core_timer_start(md->loop, RETRY_MS, 0, retry_fired, o, &o->retry);
		else if (rc != DM_ERR_TXN_STATE)
			CORE_LOG_W(MOD, "%s: cannot write: %s", diag_spec_of(o->kind)->object, dm_strerror(rc));
		return;
	}
	o->unwritten = false;
	if (!still_wanted(o, t)) {
		dm_txn_abort(t);
		return;
	}
	if (!o->reset)
		set_results(o, t);
	if ((rc = set_state(md, t, o->kind, o->result.status, &err))) {
		dm_txn_abort(t);
	} else {
		rc = dm_txn_commit(t, NULL, &err);
	}
	if (rc)
		CORE_LOG_W(MOD, "%s: outcome %s not written: %s", diag_spec_of(o->kind)->object, o->result.status,
			   err.msg[0] ? err.msg : dm_strerror(rc));
}

/* ---- requests and resets --------------------------------------------------------- */

static void drop_run(diag_cwmp *o)
{
	if (o->job)
		diag_job_cancel(o->md, o->job);
	o->job = NULL;
	stop_timer(&o->delay);
	stop_timer(&o->retry);
	o->unwritten = false;
}

static void delay_fired(void *ctx)
{
	diag_cwmp *o = ctx;
	diag_job *job = calloc(1, sizeof *job);

	stop_timer(&o->delay);
	if (!job) {
		diag_cwmp_finished(o->md, o->kind, &(map_diag_outcome){.status = "Error_Internal"});
		return;
	}
	job->md = o->md;
	job->kind = o->kind;
	o->job = job;
	diag_enqueue(o->md, job);
}

static void restart(diag_cwmp *o)
{
	drop_run(o);
	CORE_LOG_I(MOD, "%sDiagnosticsState Requested: the test starts in %d ms", diag_spec_of(o->kind)->object,
		   DELAY_MS);
	core_timer_start(o->md->loop, DELAY_MS, 0, delay_fired, o, &o->delay);
}

static void reset(diag_cwmp *o)
{
	drop_run(o);
	diag_outcome_init(&o->result, "None");
	o->reset = true;
	o->unwritten = true;
	write_now(o);
}

void diag_cwmp_finished(map_diag *md, map_diag_kind kind, const map_diag_outcome *out)
{
	diag_cwmp *o = &md->cwmp[kind];

	o->job = NULL;
	diag_outcome_copy(&o->result, out);
	o->reset = false;
	o->unwritten = true;
	write_now(o);
}

size_t diag_cwmp_inputs(map_diag *md, map_diag_kind kind, dm_arg *args, char (*vals)[1025], size_t max)
{
	const diag_spec *sp = diag_spec_of(kind);
	char path[256];
	size_t n = 0;
	dm_txn *t;

	if (dm_txn_begin(md->d, DM_TXN_READ, NULL, &t))
		return 0;
	for (size_t i = 0; sp->inputs[i] && n < max; i++) {
		snprintf(path, sizeof path, "%s%s", sp->object, sp->inputs[i]);
		if (dm_get_value_buf(md->d, t, path, vals[n], sizeof vals[n], NULL) == DM_OK) {
			args[n] = (dm_arg){sp->inputs[i], vals[n]};
			n++;
		}
	}
	dm_txn_abort(t);
	return n;
}

/* ---- the change feed --------------------------------------------------------------- */

/* Once the writing transaction is over (the hook runs inside it, the feed
 * during its commit): the last thing written decides. */
static void settle(void *ctx)
{
	map_diag *md = ctx;

	stop_timer(&md->settle);
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		diag_cwmp *o = &md->cwmp[k];
		int pending = o->pending;
		bool requested = pending == DIAG_PENDING_REQUEST || (pending == DIAG_PENDING_NONE && o->hook_seen);

		o->pending = DIAG_PENDING_NONE;
		o->hook_seen = false;
		o->hook_txn = 0;
		/* an aborted transaction also ran the hook: only a stored
		 * "Requested" is a request */
		if (requested && state_is(md, k, "Requested"))
			restart(o);
		else if (pending == DIAG_PENDING_RESET)
			reset(o);
	}
}

static void settle_later(map_diag *md)
{
	if (!md->settle)
		core_timer_start(md->loop, 0, 0, settle, md, &md->settle);
}

static bool is_input(map_diag_kind kind, const char *name)
{
	for (const char *const *in = diag_spec_of(kind)->inputs; *in; in++)
		if (!strcmp(*in, name))
			return true;
	return false;
}

/* The hook ran inside the transaction whose changes come next: tie it to
 * that transaction's id. */
static void tie_hook(map_diag *md, uint64_t txn_id)
{
	for (int k = 0; k < MAP_DIAG_KINDS; k++)
		if (md->cwmp[k].hook_seen && !md->cwmp[k].hook_txn)
			md->cwmp[k].hook_txn = txn_id;
}

static void on_change(void *ctx, const dm_change *c)
{
	map_diag *md = ctx;

	if (c->kind != DM_CHANGE_VALUE)
		return;
	tie_hook(md, c->txn_id);
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		const char *obj = diag_spec_of(k)->object;
		size_t n = strlen(obj);
		diag_cwmp *o = &md->cwmp[k];

		if (!o->present || strncmp(c->path, obj, n))
			continue;
		if (!strcmp(c->path + n, "DiagnosticsState")) {
			if (!strcmp(c->new_value, "Requested"))
				o->pending = DIAG_PENDING_REQUEST;
		} else if (is_input(k, c->path + n)) {
			/* inputs written with the request (the same SetParameterValues)
			 * belong to it; after it they reset the test */
			bool with_request = o->hook_seen && o->hook_txn == c->txn_id;
			o->pending = with_request ? DIAG_PENDING_REQUEST : DIAG_PENDING_RESET;
		} else {
			return;
		}
		settle_later(md);
		return;
	}
}

/* A manager's write of an input the model's types do not rule out but
 * the test cannot use: refused at once, as TR-181 wants input errors found
 * when the inputs are set. An empty value is the default, and stays
 * allowed (the test then ends in an error). */
static int input_hook(const char *path, const char *value, dm_errinfo *err)
{
	char why[160];

	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		const char *obj = diag_spec_of(k)->object;
		size_t n = strlen(obj);
		if (strncmp(path, obj, n) || !*value || !map_diag_check_input(k, path + n, value, why, sizeof why))
			continue;
		if (err)
			snprintf(err->msg, sizeof err->msg, "%s", why);
		return DM_ERR_INVALID_VALUE;
	}
	return 0;
}

/* A manager's write of DiagnosticsState (or a checked input), inside its
 * transaction. */
static int write_hook(void *ctx, const char *path, const char *value, dm_errinfo *err)
{
	map_diag *md = owner_of(ctx);
	int kind = map_diag_state_kind(path);

	if (!md || md->self_writing)
		return 0;
	if (kind < 0)
		return input_hook(path, value, err);
	if (strcmp(value, "Requested")) {
		if (err)
			snprintf(err->msg, sizeof err->msg, "%s: \"%s\" is the agent's to set; write Requested", path,
				 value);
		return DM_ERR_INVALID_VALUE;
	}
	md->cwmp[kind].hook_seen = true;
	md->cwmp[kind].hook_txn = 0;
	settle_later(md);
	return 0;
}

/* ---- open and close ------------------------------------------------------------------ */

/* A test cannot survive a restart: what was requested is dropped. */
static void reset_requested(map_diag *md)
{
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (dm_txn_begin(md->d, DM_TXN_WRITE, &self_origin, &t))
		return;
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		char state[48];
		if (md->cwmp[k].present && read_state(md, t, k, state, sizeof state) == DM_OK &&
		    !strcmp(state, "Requested") && (rc = set_state(md, t, k, "None", &err)))
			CORE_LOG_W(MOD, "cannot reset %s: %s", diag_spec_of(k)->object, err.msg);
	}
	if ((rc = dm_txn_commit(t, NULL, &err)))
		CORE_LOG_W(MOD, "cannot reset the requested tests: %s", err.msg);
}

int diag_cwmp_open(map_diag *md)
{
	const dm_schema *s = dm_get_schema(md->d);
	const dm_provider hook = {.set = write_hook, .ctx = md->d};
	/* inputs a test cannot use are refused when written */
	static const char *const checked[] = {DIAG_DL_OBJECT "DownloadURL", DIAG_UL_OBJECT "UploadURL", NULL};
	char path[256];
	bool any = false;
	int rc;

	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		diag_cwmp *o = &md->cwmp[k];
		o->md = md;
		o->kind = k;
		state_path(k, path, sizeof path);
		o->present = dm_schema_find(s, path) != NULL;
		any |= o->present;
	}
	if (!any)
		return DM_OK;
	reset_requested(md);
	if ((rc = dm_subscribe(md->d, on_change, md, &md->sub)))
		return rc;
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		state_path(k, path, sizeof path);
		if (md->cwmp[k].present)
			dm_provider_register(md->d, path, &hook);
	}
	for (size_t i = 0; checked[i]; i++)
		if (dm_schema_find(s, checked[i]))
			dm_provider_register(md->d, checked[i], &hook);
	md->next_open = open_list;
	open_list = md;
	return DM_OK;
}

void diag_cwmp_close(map_diag *md)
{
	for (map_diag **pp = &open_list; *pp; pp = &(*pp)->next_open)
		if (*pp == md) {
			*pp = md->next_open;
			break;
		}
	if (md->sub)
		dm_unsubscribe(md->d, md->sub);
	md->sub = NULL;
	stop_timer(&md->settle);
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		stop_timer(&md->cwmp[k].delay);
		stop_timer(&md->cwmp[k].retry);
	}
}
