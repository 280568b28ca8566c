/*
 * transfer.c - the transfer queue: opening it (with what a restart left
 * behind), starting due transfers from a timer or when a session ends,
 * recording outcomes, and handing the completion reports to the session
 * until the ACS acknowledges them. The RPCs are in transfer_rpc.c, the
 * HTTP work in transfer_fetch.c.
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

#include <curl/curl.h>

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
	for (size_t i = 0; i < rec->n_ops; i++) {
		xfer_du_op *o = &rec->ops[i];
		free(o->url);
		free(o->uuid);
		free(o->version);
		free(o->username);
		free(o->password);
		free(o->ee_ref);
		free(o->r_uuid);
		free(o->r_ref);
		free(o->r_version);
		free(o->r_state);
		free(o->r_fault_string);
	}
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
	};
	return ev[k];
}

static const char *complete_event(xfer_kind k)
{
	return k == XFER_DU ? "11 DU STATE CHANGE COMPLETE" : "7 TRANSFER COMPLETE";
}

static void remember(cwmp_transfers *x, const xfer *rec)
{
	char *slot = x->history[x->n_history++ % 8];

	snprintf(slot, sizeof x->history[0], "%s %.32s \"%.32s\": %s%u %.60s", rec->complete,
		 method_event(rec->kind) + 2, rec->command_key ? rec->command_key : "",
		 rec->fault ? "fault " : "ok ", rec->fault, rec->fault_string ? rec->fault_string : "");
}

static void report(cwmp_transfers *x, xfer *rec, cwmp_urgency urgency)
{
	cwmp_agent *a = x->a;

	if (!a->raise)
		return;
	/* TR-069 9.1: the M event carries the CommandKey, the numbered one
	 * makes the session that delivers the report */
	a->raise(a, method_event(rec->kind), rec->command_key ? rec->command_key : "",
		 CWMP_RAISE_QUEUE | (urgency & CWMP_RAISE_AGAIN));
	a->raise(a, complete_event(rec->kind), NULL, urgency & ~CWMP_RAISE_AGAIN);
}

/* The other manager hears of it too, in its own terms (mapping/). */
static void report_to_usp(cwmp_transfers *x, xfer *rec)
{
	char affected[64] = "";

	if (rec->kind == XFER_DU)
		return; /* software modules report through their own events */
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
	cwmp_now(rec->complete, sizeof rec->complete);
	xfer_part_path(x, rec->seq, part, sizeof part);
	unlink(part);
	if (fault)
		CORE_LOG_W(LOG, "transfer %" PRIu32 " failed: %u %s", rec->seq, fault, rec->fault_string ? rec->fault_string : "");
	else
		CORE_LOG_I(LOG, "transfer %" PRIu32 " complete", rec->seq);
	remember(x, rec);
	xfer_save(x, rec);
	report(x, rec, CWMP_RAISE_NOW);
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
		cwmp_now(rec->start, sizeof rec->start);
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

static void download_done(cwmp_transfers *x, xfer_job *j)
{
	xfer *rec = xfer_find(x, j->seq);

	if (!rec || rec->state != XFER_RUNNING)
		return;
	if (j->fault) {
		bool late = rec->deadline && xfer_wall_now() >= rec->deadline;
		xfer_finish(x, rec, late ? CWMP_FAULT_TIME_WINDOWS : j->fault, j->msg);
		return;
	}
	if (rec->deadline && xfer_wall_now() >= rec->deadline) {
		xfer_finish(x, rec, CWMP_FAULT_TIME_WINDOWS, "download ended after the last window");
		return;
	}
	xfer_apply_download(x, rec, j->file);
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
	xfer_job *j = xfer_job_new(x, rec->seq, rec->url, rec->username, rec->password);

	xfer_part_path(x, rec->seq, part, sizeof part);
	if (!j || !(j->file = strdup(part))) {
		xfer_job_free(j);
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "out of memory");
		return;
	}
	j->timeout_s = seconds_left(rec);
	if (xfer_job_start(x, j, download_done))
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "transfer worker did not start");
}

static void upload_done(cwmp_transfers *x, xfer_job *j)
{
	xfer *rec = xfer_find(x, j->seq);

	if (rec && rec->state == XFER_RUNNING)
		xfer_finish(x, rec, j->fault, j->msg);
}

static void start_upload(cwmp_transfers *x, xfer *rec)
{
	unsigned fault = CWMP_FAULT_INTERNAL;
	const char *why = "out of memory";
	xfer_job *j = xfer_job_new(x, rec->seq, rec->url, rec->username, rec->password);

	if (!j || xfer_upload_body(x, rec, &j->body, &j->body_len, &fault, &why)) {
		xfer_job_free(j);
		xfer_finish(x, rec, fault, why);
		return;
	}
	j->upload = 1;
	if (xfer_job_start(x, j, upload_done))
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
	r->fault_string = cwmp_reply_strdup(rep, o->r_fault_string);
	return r->uuid && r->deployment_unit_ref && r->version && r->current_state &&
	       r->execution_unit_ref_list && r->start_time && r->complete_time && r->fault_string;
}

static bool fill_du_complete(const xfer *rec, cwmp_reply *rep)
{
	cwmp_msg *m = &rep->msg;
	cwmp_du_result *v;

	if (!rec->n_ops || !(v = cwmp_reply_alloc(rep, rec->n_ops * sizeof *v)))
		return false;
	m->kind = CWMP_MSG_DU_STATE_CHANGE_COMPLETE;
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
	ok = rec->kind == XFER_DU ? fill_du_complete(rec, rep) : fill_transfer_complete(rec, rep);
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
		     resp->kind == CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE)) {
		xfer_remove(x, rec);
		return;
	}
	if (resp && resp->kind == CWMP_MSG_FAULT && resp->u.fault.code == CWMP_ACS_FAULT_RETRY_REQUEST) {
		/* kept; offered again in a later session, which the event opens */
		rec->deferred = 1;
		report(x, rec, CWMP_RAISE_QUEUE | CWMP_RAISE_AGAIN);
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
			fault = xfer_firmware_outcome(x, r, &why);
			xfer_finish(x, r, fault, why);
			break;
		case XFER_DONE:
			/* TR-069 3.7.1.5: the M event goes with every Inform until
			 * the report is acknowledged, not only the first; raising it
			 * again while it still waits in the queue changes nothing */
			report(x, r, CWMP_RAISE_QUEUE | CWMP_RAISE_AGAIN);
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

/* True when a worker was left running (it ends on its own). */
static bool drop_all(cwmp_transfers *x)
{
	bool orphaned = x->job != NULL;

	if (x->job) {
		xfer_job_orphan(x->job);
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
	return orphaned;
}

void cwmp_transfers_close(cwmp_transfers *x)
{
	bool orphaned;

	if (!x)
		return;
	orphaned = drop_all(x);
	if (x->a && x->a->xfers == x) {
		set_hooks(x->a, false);
		x->a->xfers = NULL;
	}
	/* a worker still inside libcurl must not see its globals go */
	if (!orphaned && x->curl_ready)
		curl_global_cleanup();
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
