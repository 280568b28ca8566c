/*
 * transfer.c - the transfer queue: opening it (with what a restart left
 * behind), starting due transfers from a timer or when a session ends,
 * recording outcomes, and handing the completion reports to the session
 * until the ACS acknowledges them. The RPCs are in transfer_rpc.c; the
 * HTTP work runs in mapping/xfer's runner, shared with the USP door.
 */
#include "transfer_priv.h"
#include "transfers.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG "cwmp"
#define MAX_TIMER_S (3600 * 24) /* far timers are re-armed: the wall clock may jump */

int64_t xfer_wall_now(void)
{
	return (int64_t)time(NULL);
}

char *xfer_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void xfer_free(xfer *rec)
{
	if (!rec)
		return;
	free(rec->command_key);
	free(rec->file_type);
	free(rec->url);
	free(rec->username);
	free(rec->password);
	free(rec->target);
	free(rec->fault_string);
	free(rec->expect_version);
	for (size_t i = 0; i < rec->n_ops; i++)
		map_xfer_du_op_clear(&rec->ops[i]);
	free(rec->ops);
	free(rec);
}

xfer *xfer_find(cwmp_transfers *x, uint32_t seq)
{
	for (xfer *r = x->list; r; r = r->next)
		if (r->seq == seq)
			return r;
	return NULL;
}

size_t xfer_count_active(cwmp_transfers *x)
{
	size_t n = 0;

	for (xfer *r = x->list; r; r = r->next)
		n++;
	return n;
}

void xfer_part_path(cwmp_transfers *x, uint32_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "%s/transfer-%" PRIu32 ".part", x->a->state_dir ? x->a->state_dir : ".", seq);
}

int xfer_save(cwmp_transfers *x, xfer *rec)
{
	int rc = xfer_store_put(x->a->d, rec, x->next_seq);

	if (rc)
		CORE_LOG_E(LOG, "transfer %" PRIu32 " not stored: %s", rec->seq, dm_strerror(rc));
	return rc;
}

int xfer_enqueue(cwmp_transfers *x, xfer *rec)
{
	xfer **p = &x->list;
	int rc;

	rec->seq = x->next_seq++;
	if ((rc = xfer_save(x, rec))) {
		xfer_free(rec);
		return rc;
	}
	while (*p)
		p = &(*p)->next;
	*p = rec;
	xfer_kick_soon(x);
	return 0;
}

void xfer_remove(cwmp_transfers *x, xfer *rec)
{
	char part[4096];

	for (xfer **p = &x->list; *p; p = &(*p)->next) {
		if (*p == rec) {
			*p = rec->next;
			break;
		}
	}
	if (xfer_store_del(x->a->d, rec->seq))
		CORE_LOG_W(LOG, "transfer %" PRIu32 " could not be forgotten", rec->seq);
	xfer_part_path(x, rec->seq, part, sizeof part);
	unlink(part);
	if (x->offered == rec->seq)
		x->offered = 0;
	xfer_free(rec);
}

/* ---------------------------------------------------------------------------
 * Outcomes
 * ------------------------------------------------------------------------- */

static const char *method_event(xfer_kind k)
{
	static const char *const ev[] = {
		[XFER_DOWNLOAD] = "M Download",
		[XFER_SCHEDULE_DOWNLOAD] = "M ScheduleDownload",
		[XFER_UPLOAD] = "M Upload",
		[XFER_DU] = "M ChangeDUState",
		[XFER_AUTONOMOUS] = NULL, /* nobody's method: no M event */
		[XFER_AUTONOMOUS_DU] = NULL,
	};
	return ev[k];
}

static const char *complete_event(xfer_kind k)
{
	if (k == XFER_AUTONOMOUS)
		return "10 AUTONOMOUS TRANSFER COMPLETE";
	if (k == XFER_AUTONOMOUS_DU)
		return "12 AUTONOMOUS DU STATE CHANGE COMPLETE";
	return k == XFER_DU ? "11 DU STATE CHANGE COMPLETE" : "7 TRANSFER COMPLETE";
}

static void remember(cwmp_transfers *x, const xfer *rec)
{
	char line[160];

	const char *m = method_event(rec->kind);

	snprintf(line, sizeof line, "%s %.32s \"%.32s\": %s%u %.60s", rec->complete,
		 m ? m + 2 : "Operate", rec->command_key ? rec->command_key : "",
		 rec->fault ? "fault " : "ok ", rec->fault, rec->fault_string ? rec->fault_string : "");
	map_xfer_note(x->runner, line);
}

void xfer_report(cwmp_transfers *x, xfer *rec, cwmp_urgency urgency)
{
	cwmp_agent *a = x->a;

	if (!a->raise)
		return;
	/* TR-069 9.1: the M event carries the CommandKey, the numbered one
	 * makes the session that delivers the report */
	if (method_event(rec->kind))
		a->raise(a, method_event(rec->kind), rec->command_key ? rec->command_key : "",
			 CWMP_RAISE_QUEUE | (urgency & CWMP_RAISE_AGAIN));
	a->raise(a, complete_event(rec->kind), NULL, urgency & ~CWMP_RAISE_AGAIN);
}

/* The other manager hears of it too, in its own terms (mapping/). */
static void report_to_usp(cwmp_transfers *x, xfer *rec)
{
	char affected[64] = "";

	if (xfer_is_autonomous(rec))
		return; /* a Controller's: reported in the USP door */
	if (rec->kind == XFER_DU) {
		/* notes 6.5: one DUStateChange! per operation of the batch */
		for (size_t i = 0; i < rec->n_ops; i++) {
			int rc = map_report_du_change(x->a->d, &rec->ops[i], &x->a->origin);
			if (rc)
				CORE_LOG_W(LOG, "ChangeDUState %" PRIu32 " not reported to USP: %s", rec->seq,
					   dm_strerror(rc));
		}
		return;
	}
	if (rec->bank)
		snprintf(affected, sizeof affected, "Device.DeviceInfo.FirmwareImage.%" PRIu32 ".", rec->bank);
	map_transfer_report r = {
		.upload = rec->kind == XFER_UPLOAD,
		.url = rec->url,
		.affected = affected,
		.start_time = rec->start,
		.complete_time = rec->complete,
		.cwmp_fault = rec->fault,
		.fault_string = rec->fault_string,
	};
	int rc = map_report_acs_transfer(x->a->d, &r, &x->a->origin);
	if (rc)
		CORE_LOG_W(LOG, "transfer %" PRIu32 " not reported to USP: %s", rec->seq, dm_strerror(rc));
}

void xfer_finish(cwmp_transfers *x, xfer *rec, unsigned fault, const char *msg)
{
	char part[4096];

	rec->state = XFER_DONE;
	rec->fault = fault;
	free(rec->fault_string);
	rec->fault_string = strndup(fault ? (msg && *msg ? msg : cwmp_fault_text(fault)) : "", 256);
	dm_datetime_now(rec->complete, sizeof rec->complete);
	xfer_part_path(x, rec->seq, part, sizeof part);
	unlink(part);
	if (fault)
		CORE_LOG_W(LOG, "transfer %" PRIu32 " failed: %u %s", rec->seq, fault, rec->fault_string ? rec->fault_string : "");
	else
		CORE_LOG_I(LOG, "transfer %" PRIu32 " complete", rec->seq);
	remember(x, rec);
	xfer_save(x, rec);
	xfer_report(x, rec, CWMP_RAISE_NOW);
	report_to_usp(x, rec);
	xfer_kick_soon(x);
}

/* ---------------------------------------------------------------------------
 * Scheduling: one transfer at a time, the oldest due first
 * ------------------------------------------------------------------------- */

static void on_timer(void *ctx);

static void arm(cwmp_transfers *x, int64_t seconds)
{
	uint64_t ms;

	if (seconds < 0)
		seconds = 0;
	if (seconds > MAX_TIMER_S)
		seconds = MAX_TIMER_S;
	ms = (uint64_t)seconds * 1000;
	core_timer_stop(x->timer);
	x->timer = NULL;
	if (x->a->loop && core_timer_start(x->a->loop, ms, 0, on_timer, x, &x->timer))
		CORE_LOG_E(LOG, "transfer timer could not start");
}

void xfer_kick_soon(cwmp_transfers *x)
{
	arm(x, 0);
}

static void start_download(cwmp_transfers *x, xfer *rec);
static void start_upload(cwmp_transfers *x, xfer *rec);

static void start(cwmp_transfers *x, xfer *rec)
{
	rec->state = XFER_RUNNING;
	if (rec->kind != XFER_DU || !rec->next_op)
		dm_datetime_now(rec->start, sizeof rec->start);
	if (xfer_save(x, rec)) {
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "transfer state could not be stored");
		return;
	}
	if (rec->kind == XFER_UPLOAD)
		start_upload(x, rec);
	else if (rec->kind == XFER_DU)
		xfer_du_run(x, rec);
	else
		start_download(x, rec);
}

/* A ScheduleDownload whose windows have passed, or that no user can
 * confirm, fails with 9020 (A.4.1.8). */
static bool windows_missed(const xfer *rec, int64_t now)
{
	return rec->kind == XFER_SCHEDULE_DOWNLOAD && rec->deadline && now >= rec->deadline;
}

static void kick(cwmp_transfers *x)
{
	int64_t now = xfer_wall_now(), next = INT64_MAX;

	for (xfer *r = x->list; r; r = r->next) {
		if (r->state != XFER_QUEUED || r->after_session)
			continue;
		if (windows_missed(r, now)) {
			xfer_finish(x, r, CWMP_FAULT_TIME_WINDOWS,
				    r->confirm ? "no user to confirm the download" : "time windows passed");
			return; /* finish kicks again */
		}
		if (r->due <= now && !x->job) {
			start(x, r);
			return;
		}
		if (r->due < next)
			next = r->due;
		if (r->deadline && r->deadline < next)
			next = r->deadline;
	}
	if (next != INT64_MAX && !x->job)
		arm(x, next - now);
}

static void on_timer(void *ctx)
{
	cwmp_transfers *x = ctx;

	core_timer_stop(x->timer);
	x->timer = NULL;
	kick(x);
}

static void on_session_ended(cwmp_agent *a, bool ok)
{
	cwmp_transfers *x = a->xfers;

	if (!x)
		return;
	x->offered = 0;
	for (xfer *r = x->list; r; r = r->next) {
		r->deferred = 0;
		/* DelaySeconds 0: the file host may be the ACS, so the session
		 * goes first (TR-069 A.3.2.8) */
		if (ok && r->state == XFER_QUEUED && r->after_session) {
			r->after_session = 0;
			xfer_save(x, r);
		}
	}
	xfer_kick_soon(x);
}

/* ---------------------------------------------------------------------------
 * Downloads and uploads through the worker
 * ------------------------------------------------------------------------- */

static void http_done(void *ctx, const map_xfer_result *r)
{
	cwmp_transfers *x = ctx;
	xfer_http_done done = x->job_done;
	uint32_t seq = x->job_seq;

	x->job = NULL;
	x->job_seq = 0;
	x->job_done = NULL;
	done(x, xfer_find(x, seq), r);
	xfer_kick_soon(x);
}

int xfer_http(cwmp_transfers *x, xfer *rec, map_xfer_http *h, xfer_http_done done)
{
	int rc;

	if (!x->runner || x->job) {
		free(h->body);
		return DM_ERR_INTERNAL;
	}
	h->ca = x->a->tls_ca;
	h->cert = x->a->tls_cert;
	h->key = x->a->tls_key;
	if ((rc = map_xfer_http_start(x->runner, h, http_done, x, &x->job)))
		return rc;
	x->job_seq = rec->seq;
	x->job_done = done;
	return 0;
}

static void download_done(cwmp_transfers *x, xfer *rec, const map_xfer_result *r)
{
	if (!rec || rec->state != XFER_RUNNING)
		return;
	if (r->fault) {
		bool late = rec->deadline && xfer_wall_now() >= rec->deadline;
		xfer_finish(x, rec, late ? CWMP_FAULT_TIME_WINDOWS : r->fault, r->msg);
		return;
	}
	if (rec->deadline && xfer_wall_now() >= rec->deadline) {
		xfer_finish(x, rec, CWMP_FAULT_TIME_WINDOWS, "download ended after the last window");
		return;
	}
	xfer_apply_download(x, rec, r->file);
}

static long seconds_left(const xfer *rec)
{
	int64_t left;

	if (!rec->deadline)
		return 0;
	left = rec->deadline - xfer_wall_now();
	return left > 0 ? (long)left : 1;
}

static void start_download(cwmp_transfers *x, xfer *rec)
{
	char part[4096];
	map_xfer_http h = {.url = rec->url, .username = rec->username, .password = rec->password, .file = part};

	xfer_part_path(x, rec->seq, part, sizeof part);
	h.timeout_s = seconds_left(rec);
	if (xfer_http(x, rec, &h, download_done))
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "transfer worker did not start");
}

static void upload_done(cwmp_transfers *x, xfer *rec, const map_xfer_result *r)
{
	if (rec && rec->state == XFER_RUNNING)
		xfer_finish(x, rec, r->fault, r->msg);
}

static void start_upload(cwmp_transfers *x, xfer *rec)
{
	unsigned fault = CWMP_FAULT_INTERNAL;
	const char *why = "out of memory";
	map_xfer_http h = {.upload = true, .url = rec->url, .username = rec->username, .password = rec->password};

	if (xfer_upload_body(x, rec, &h.body, &h.body_len, &fault, &why)) {
		xfer_finish(x, rec, fault, why);
		return;
	}
	if (xfer_http(x, rec, &h, upload_done))
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "transfer worker did not start");
}

/* ---------------------------------------------------------------------------
 * Completion reports (TR-069 A.3.3.2, A.4.2.3)
 * ------------------------------------------------------------------------- */

static xfer *next_report(cwmp_transfers *x)
{
	for (xfer *r = x->list; r; r = r->next)
		if (r->state == XFER_DONE && !r->deferred)
			return r;
	return NULL;
}

static const char *time_or_unknown(const char *t)
{
	return *t ? t : CWMP_UNKNOWN_TIME;
}

static bool fill_transfer_complete(const xfer *rec, cwmp_reply *rep)
{
	cwmp_msg *m = &rep->msg;

	m->kind = CWMP_MSG_TRANSFER_COMPLETE;
	m->u.transfer_complete.command_key = cwmp_reply_strdup(rep, rec->command_key);
	m->u.transfer_complete.fault_code = rec->fault;
	m->u.transfer_complete.fault_string = cwmp_reply_strdup(rep, rec->fault_string);
	m->u.transfer_complete.start_time = cwmp_reply_strdup(rep, time_or_unknown(rec->start));
	m->u.transfer_complete.complete_time = cwmp_reply_strdup(rep, time_or_unknown(rec->complete));
	return m->u.transfer_complete.command_key && m->u.transfer_complete.fault_string &&
	       m->u.transfer_complete.start_time && m->u.transfer_complete.complete_time;
}

static bool fill_du_result(const xfer_du_op *o, cwmp_reply *rep, cwmp_du_result *r)
{
	r->uuid = cwmp_reply_strdup(rep, o->r_uuid ? o->r_uuid : o->uuid);
	r->deployment_unit_ref = cwmp_reply_strdup(rep, o->r_ref);
	r->version = cwmp_reply_strdup(rep, o->r_version);
	r->current_state = cwmp_reply_strdup(rep, o->r_state ? o->r_state : "Failed");
	r->resolved = o->r_resolved;
	r->execution_unit_ref_list = cwmp_reply_strdup(rep, "");
	r->start_time = cwmp_reply_strdup(rep, time_or_unknown(o->r_start));
	r->complete_time = cwmp_reply_strdup(rep, time_or_unknown(o->r_complete));
	r->fault_code = o->r_fault;
	/* an operation that failed without a reason is worded by the table */
	r->fault_string = cwmp_reply_strdup(rep, o->r_fault_string ? o->r_fault_string
							     : o->r_fault ? cwmp_fault_text(o->r_fault) : "");
	return r->uuid && r->deployment_unit_ref && r->version && r->current_state &&
	       r->execution_unit_ref_list && r->start_time && r->complete_time && r->fault_string;
}

/* DUStateChangeComplete, or for a Controller's operation the autonomous
 * one, whose results also say what was done (A.3.3.4). */
static bool fill_du_complete(const xfer *rec, cwmp_reply *rep)
{
	static const char *const performed[] = {"Install", "Update", "Uninstall"};
	bool autonomous = rec->kind == XFER_AUTONOMOUS_DU;
	cwmp_msg *m = &rep->msg;
	cwmp_du_result *v;

	if (!rec->n_ops || !(v = cwmp_reply_alloc(rep, rec->n_ops * sizeof *v)))
		return false;
	for (size_t i = 0; autonomous && i < rec->n_ops; i++)
		v[i].operation_performed = (char *)(rec->ops[i].op >= 0 && rec->ops[i].op <= CWMP_DU_UNINSTALL
							    ? performed[rec->ops[i].op] : "");
	m->kind = autonomous ? CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE : CWMP_MSG_DU_STATE_CHANGE_COMPLETE;
	m->u.du_results.v = v;
	m->u.du_results.n = rec->n_ops;
	m->u.du_results.command_key = cwmp_reply_strdup(rep, rec->command_key);
	for (size_t i = 0; i < rec->n_ops; i++)
		if (!fill_du_result(&rec->ops[i], rep, &v[i]))
			return false;
	return m->u.du_results.command_key != NULL;
}

static bool on_next_request(cwmp_agent *a, cwmp_reply *rep)
{
	cwmp_transfers *x = a->xfers;
	xfer *rec = x ? next_report(x) : NULL;
	bool ok;

	if (!rec)
		return false;
	if (rec->kind == XFER_AUTONOMOUS)
		ok = xfer_auto_fill(rec, rep);
	else if (rec->kind == XFER_DU || rec->kind == XFER_AUTONOMOUS_DU)
		ok = fill_du_complete(rec, rep);
	else
		ok = fill_transfer_complete(rec, rep);
	if (!ok) {
		cwmp_reply_free(rep);
		return false;
	}
	x->offered = rec->seq;
	return true;
}

static void on_request_answered(cwmp_agent *a, const cwmp_msg *resp)
{
	cwmp_transfers *x = a->xfers;
	xfer *rec = x ? xfer_find(x, x->offered) : NULL;

	if (!rec)
		return;
	x->offered = 0;
	if (resp && (resp->kind == CWMP_MSG_TRANSFER_COMPLETE_RESPONSE ||
		     resp->kind == CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE ||
		     resp->kind == CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE_RESPONSE ||
		     resp->kind == CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE)) {
		xfer_remove(x, rec);
		return;
	}
	if (resp && resp->kind == CWMP_MSG_FAULT && resp->u.fault.code == CWMP_ACS_FAULT_RETRY_REQUEST) {
		/* kept; offered again in a later session, which the event opens */
		rec->deferred = 1;
		xfer_report(x, rec, CWMP_RAISE_QUEUE | CWMP_RAISE_AGAIN);
		return;
	}
	CORE_LOG_W(LOG, "ACS refused the report of transfer %" PRIu32 " (fault %u); dropped", rec->seq,
		   resp && resp->kind == CWMP_MSG_FAULT ? resp->u.fault.code : 0);
	xfer_remove(x, rec);
}

/* ---------------------------------------------------------------------------
 * Open, close, reset
 * ------------------------------------------------------------------------- */

/* What a restart left behind (TR-069 A.3.2.8: the outcome is reported
 * whatever happened to the transfer). */
static void resolve_after_restart(cwmp_transfers *x)
{
	for (xfer *r = x->list, *next; r; r = next) {
		const char *why = NULL;
		unsigned fault;

		next = r->next;
		switch (r->state) {
		case XFER_RUNNING:
			if (r->kind == XFER_DU) {
				xfer_du_interrupted(r);
				xfer_finish(x, r, 0, NULL);
			} else {
				xfer_finish(x, r, r->kind == XFER_UPLOAD ? CWMP_FAULT_UPLOAD_FAILURE
									 : CWMP_FAULT_DOWNLOAD_FAILURE,
					    "interrupted by a restart");
			}
			break;
		case XFER_APPLYING:
			fault = map_xfer_firmware_outcome(x->a->d, r->bank, r->expect_version, &why);
			xfer_finish(x, r, fault, why);
			break;
		case XFER_DONE:
			/* TR-069 3.7.1.5: the M event goes with every Inform until
			 * the report is acknowledged, not only the first; raising it
			 * again while it still waits in the queue changes nothing */
			xfer_report(x, r, CWMP_RAISE_QUEUE | CWMP_RAISE_AGAIN);
			break;
		case XFER_QUEUED:
			break;
		}
	}
}

/* Partial downloads of a previous run are of no use. */
static void remove_stale_parts(const char *dir)
{
	DIR *dp = opendir(dir ? dir : ".");
	struct dirent *e;
	char path[4096];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		size_t n = strlen(e->d_name);
		if (n > 14 && !strncmp(e->d_name, "transfer-", 9) && !strcmp(e->d_name + n - 5, ".part")) {
			snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", e->d_name);
			unlink(path);
		}
	}
	closedir(dp);
}

static void set_hooks(cwmp_agent *a, bool on)
{
	a->next_request = on ? on_next_request : NULL;
	a->request_answered = on ? on_request_answered : NULL;
	a->session_ended = on ? on_session_ended : NULL;
	xfer_rpc_register(a, on);
	xfer_auto_listen(a->xfers, on);
}

int cwmp_transfers_open(cwmp_agent *a, cwmp_transfers **out)
{
	cwmp_transfers *x;
	int rc;

	if (!a || !a->d || !out)
		return DM_ERR_INTERNAL;
	if (!(x = calloc(1, sizeof *x)))
		return DM_ERR_NOMEM;
	x->a = a;
	if (a->loop && (rc = map_xfer_acquire(a->d, a->loop, &x->runner))) {
		free(x);
		return rc;
	}
	if ((rc = xfer_store_load(a->d, &x->list, &x->next_seq))) {
		cwmp_transfers_close(x);
		return rc;
	}
	remove_stale_parts(a->state_dir);
	a->xfers = x;
	*out = x;
	set_hooks(a, true);
	resolve_after_restart(x);
	xfer_kick_soon(x);
	return 0;
}

static void drop_all(cwmp_transfers *x)
{
	if (x->job) {
		map_xfer_cancel(x->job);
		x->job = NULL;
	}
	core_timer_stop(x->timer);
	x->timer = NULL;
	while (x->list) {
		xfer *r = x->list;
		x->list = r->next;
		xfer_free(r);
	}
	x->offered = 0;
}

void cwmp_transfers_close(cwmp_transfers *x)
{
	if (!x)
		return;
	drop_all(x);
	if (x->a && x->a->xfers == x) {
		set_hooks(x->a, false);
		x->a->xfers = NULL;
	}
	map_xfer_release(x->runner);
	free(x);
}

int cwmp_transfers_reset(cwmp_transfers *x)
{
	if (!x)
		return DM_ERR_INTERNAL;
	drop_all(x);
	remove_stale_parts(x->a->state_dir);
	return xfer_store_clear(x->a->d);
}
