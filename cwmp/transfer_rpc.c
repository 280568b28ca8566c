/*
 * transfer_rpc.c - the ACS's transfer RPCs: Download, Upload,
 * ScheduleDownload, CancelTransfer, GetQueuedTransfers,
 * GetAllQueuedTransfers and ChangeDUState. Each checks its arguments,
 * records the work in the queue (durably, before answering) and answers;
 * the work itself happens later (transfer.c).
 *
 * duet's choices where TR-069 leaves room:
 *  - Download FileTypes other than 1, 3 and 6 (web content, tone and ringer
 *    files, vendor types) are refused with 9003: this gateway has no place
 *    for them.
 *  - A URL carrying userinfo ("user:pass@") is refused with 9003; the
 *    credentials belong in Username/Password.
 *  - CancelTransfer of a CommandKey no transfer carries is 9003.
 */
#include "transfer_priv.h"
#include "transfers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static unsigned fail(cwmp_reply *rep, unsigned code, const char *why)
{
	cwmp_reply_fault(rep, code, why);
	return code;
}

static bool too_long(const char *s, size_t max)
{
	return s && strlen(s) > max;
}

static const char *const download_types[] = {FT_FIRMWARE, FT_CONFIG, FT_STORED_FIRMWARE};

static bool known_download_type(const char *t)
{
	for (size_t i = 0; t && i < sizeof download_types / sizeof *download_types; i++)
		if (!strcmp(t, download_types[i]))
			return true;
	return false;
}

/* The arguments Download, ScheduleDownload and Upload share; 0 or a fault. */
static unsigned check_common(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	const char *why = NULL;
	unsigned f;

	if (too_long(req->u.transfer.command_key, XFER_KEY_MAX))
		return fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "CommandKey longer than 32 characters");
	if (too_long(req->u.transfer.username, XFER_CRED_MAX) || too_long(req->u.transfer.password, XFER_CRED_MAX) ||
	    too_long(req->u.transfer.target_file_name, XFER_URL_MAX))
		return fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "argument too long");
	if ((f = map_xfer_check_url(req->u.transfer.url, XFER_URL_MAX, &why)))
		return fail(rep, f, why);
	if (!a->xfers)
		return fail(rep, CWMP_FAULT_INTERNAL, "transfers unavailable");
	return 0;
}

static xfer *record_from(const cwmp_msg *req, xfer_kind kind)
{
	xfer *rec = calloc(1, sizeof *rec);

	if (!rec)
		return NULL;
	rec->kind = kind;
	rec->state = XFER_QUEUED;
	rec->command_key = strdup(req->u.transfer.command_key ? req->u.transfer.command_key : "");
	rec->file_type = xfer_strdup(req->u.transfer.file_type);
	rec->url = xfer_strdup(req->u.transfer.url);
	rec->username = xfer_strdup(req->u.transfer.username);
	rec->password = xfer_strdup(req->u.transfer.password);
	rec->target = xfer_strdup(req->u.transfer.target_file_name);
	rec->file_size = req->u.transfer.file_size;
	if (!rec->command_key || !rec->file_type || !rec->url || (req->u.transfer.username && !rec->username) ||
	    (req->u.transfer.password && !rec->password) || (req->u.transfer.target_file_name && !rec->target)) {
		xfer_free(rec);
		return NULL;
	}
	return rec;
}

/* Queue rec (owned from here on); 0 or the fault answered. */
static unsigned queue(cwmp_agent *a, xfer *rec, cwmp_reply *rep)
{
	if (!rec)
		return fail(rep, CWMP_FAULT_INTERNAL, "out of memory");
	if (xfer_count_active(a->xfers) >= XFER_MAX) {
		xfer_free(rec);
		return fail(rep, CWMP_FAULT_RESOURCES_EXCEEDED, "transfer queue full");
	}
	if (xfer_enqueue(a->xfers, rec))
		return fail(rep, CWMP_FAULT_INTERNAL, "transfer could not be stored");
	return 0;
}

static void transfer_response(cwmp_reply *rep, cwmp_msg_kind kind)
{
	rep->msg.kind = kind;
	rep->msg.u.transfer_response.status = 1;
	rep->msg.u.transfer_response.start_time = CWMP_UNKNOWN_TIME;
	rep->msg.u.transfer_response.complete_time = CWMP_UNKNOWN_TIME;
}

static void rpc_download(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	xfer *rec;

	if (!known_download_type(req->u.transfer.file_type)) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "FileType not supported for Download");
		return;
	}
	if (check_common(a, req, rep))
		return;
	if ((rec = record_from(req, XFER_DOWNLOAD))) {
		rec->due = xfer_wall_now() + req->u.transfer.delay_seconds;
		rec->after_session = req->u.transfer.delay_seconds == 0;
	}
	if (!queue(a, rec, rep))
		transfer_response(rep, CWMP_MSG_DOWNLOAD_RESPONSE);
}

/* "1 Vendor Configuration File", "3 Vendor Configuration File <i>" and the
 * log file pair; an instance number must name an existing row. */
static bool upload_type_ok(cwmp_agent *a, const char *t)
{
	static const struct {
		const char *type, *table;
	} numbered[] = {
		{"3 Vendor Configuration File ", "Device.DeviceInfo.VendorConfigFile."},
		{"4 Vendor Log File ", "Device.DeviceInfo.VendorLogFile."},
	};
	char path[128], buf[80];
	dm_errinfo err;

	if (!t)
		return false;
	if (!strcmp(t, FT_UP_CONFIG) || !strcmp(t, FT_UP_LOG))
		return true;
	for (size_t i = 0; i < sizeof numbered / sizeof *numbered; i++) {
		size_t n = strlen(numbered[i].type);
		const char *num = t + n;
		if (strncmp(t, numbered[i].type, n) || !*num || strlen(num) > 10 ||
		    strspn(num, "0123456789") != strlen(num) || *num == '0')
			continue;
		snprintf(path, sizeof path, "%s%s.Name", numbered[i].table, num);
		return dm_get_value_buf(a->d, NULL, path, buf, sizeof buf, &err) == DM_OK;
	}
	return false;
}

static void rpc_upload(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	xfer *rec;

	if (!upload_type_ok(a, req->u.transfer.file_type)) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "FileType not supported for Upload");
		return;
	}
	if (check_common(a, req, rep))
		return;
	if ((rec = record_from(req, XFER_UPLOAD))) {
		rec->due = xfer_wall_now() + req->u.transfer.delay_seconds;
		rec->after_session = req->u.transfer.delay_seconds == 0;
	}
	if (!queue(a, rec, rep))
		transfer_response(rep, CWMP_MSG_UPLOAD_RESPONSE);
}

static bool mode_ok(const char *m)
{
	return m && (!strcmp(m, "1 At Any Time") || !strcmp(m, "2 Immediately") || !strcmp(m, "3 When Idle") ||
		     !strcmp(m, "4 Confirmation Needed") || !strncmp(m, "X ", 2));
}

/* A.4.1.8: one or two windows, each non-empty, the second after the first. */
static bool windows_ok(const cwmp_time_window *w, size_t n)
{
	if (n < 1 || n > 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (w[i].start >= w[i].end || !mode_ok(w[i].mode) || too_long(w[i].user_message, 256))
			return false;
	return n == 1 || w[1].start >= w[0].end;
}

/* The download starts in the first window a CPE without a user may use;
 * with none, it waits out the windows and fails with 9020. */
static void plan_windows(xfer *rec, const cwmp_time_window *w, size_t n, int64_t now)
{
	size_t i;

	for (i = 0; i < n && !strcmp(w[i].mode, "4 Confirmation Needed"); i++)
		;
	rec->confirm = i == n;
	rec->deadline = now + w[n - 1].end;
	rec->due = i < n ? now + w[i].start : rec->deadline;
}

static void rpc_schedule_download(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	xfer *rec;

	if (!known_download_type(req->u.transfer.file_type)) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "FileType not supported for ScheduleDownload");
		return;
	}
	if (!windows_ok(req->u.transfer.windows, req->u.transfer.n_windows)) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "inconsistent time windows");
		return;
	}
	if (check_common(a, req, rep))
		return;
	if ((rec = record_from(req, XFER_SCHEDULE_DOWNLOAD)))
		plan_windows(rec, req->u.transfer.windows, req->u.transfer.n_windows, xfer_wall_now());
	if (!queue(a, rec, rep))
		rep->msg.kind = CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE;
}

static bool same_key(const xfer *r, const char *key)
{
	return r->kind != XFER_DU && !xfer_is_autonomous(r) && !strcmp(r->command_key ? r->command_key : "", key ? key : "");
}

static void rpc_cancel_transfer(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	cwmp_transfers *x = a->xfers;
	const char *key = req->u.command_key;
	bool found = false;

	if (!x) {
		fail(rep, CWMP_FAULT_INTERNAL, "transfers unavailable");
		return;
	}
	for (xfer *r = x->list; r; r = r->next) {
		if (!same_key(r, key))
			continue;
		found = true;
		if (r->state != XFER_QUEUED) {
			fail(rep, CWMP_FAULT_CANCEL_NOT_PERMITTED, "transfer already started");
			return;
		}
	}
	/* C9: a Controller's transfer is listed with an empty CommandKey but
	 * is not the ACS's to cancel */
	if (!found && (!key || !*key) && map_transfers_usp_queued(a->d, NULL, 0)) {
		fail(rep, CWMP_FAULT_CANCEL_NOT_PERMITTED, "the transfer was not requested by the ACS");
		return;
	}
	if (!found) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "no transfer with this CommandKey");
		return;
	}
	for (xfer *r = x->list, *next; r; r = next) {
		next = r->next;
		if (same_key(r, key))
			xfer_remove(x, r); /* a cancelled transfer is never reported */
	}
	rep->msg.kind = CWMP_MSG_CANCEL_TRANSFER_RESPONSE;
}

static int queued_state(const xfer *r)
{
	return r->state == XFER_QUEUED ? 1 : r->state == XFER_DONE ? 3 : 2;
}

static void list_queued(cwmp_agent *a, cwmp_reply *rep, bool all)
{
	cwmp_transfers *x = a->xfers;
	cwmp_queued_transfer *v = NULL;
	size_t n = 0;

	v = cwmp_reply_alloc(rep, XFER_MAX * sizeof *v);
	if (!v || !x) {
		fail(rep, CWMP_FAULT_INTERNAL, NULL);
		return;
	}
	for (xfer *r = x->list; r && n < XFER_MAX; r = r->next) {
		if (r->kind == XFER_DU || xfer_is_autonomous(r))
			continue;
		v[n].command_key = cwmp_reply_strdup(rep, r->command_key);
		v[n].state = queued_state(r);
		if (all) {
			v[n].is_download = r->kind != XFER_UPLOAD;
			v[n].file_type = cwmp_reply_strdup(rep, r->file_type);
			v[n].file_size = r->file_size;
			v[n].target_file_name = cwmp_reply_strdup(rep, r->target);
		}
		n++;
	}
	/* A.4.1.6: the other managers' transfers too, with an empty CommandKey */
	if (all)
		n += xfer_auto_queued(x, v + n, XFER_MAX - n, all, rep);
	rep->msg.kind = all ? CWMP_MSG_GET_ALL_QUEUED_TRANSFERS_RESPONSE : CWMP_MSG_GET_QUEUED_TRANSFERS_RESPONSE;
	rep->msg.u.queued.v = v;
	rep->msg.u.queued.n = n;
}

static void rpc_get_queued(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	list_queued(a, rep, false);
}

static void rpc_get_all_queued(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	list_queued(a, rep, true);
}

/* ---------------------------------------------------------------------------
 * ChangeDUState (A.4.1.10): the RPC checks the shape of each operation;
 * what an operation finds (unknown DU, bad UUID, download failure) goes
 * into its OpResult later.
 * ------------------------------------------------------------------------- */

static bool du_op_ok(const cwmp_du_op *o)
{
	if (too_long(o->url, XFER_DU_URL_MAX) || too_long(o->username, XFER_CRED_MAX) ||
	    too_long(o->password, XFER_CRED_MAX) || too_long(o->uuid, 36) || too_long(o->version, 32) ||
	    too_long(o->execution_env_ref, 256))
		return false;
	switch (o->op) {
	case CWMP_DU_INSTALL: return o->url && *o->url;
	case CWMP_DU_UPDATE: return true;
	case CWMP_DU_UNINSTALL: return o->uuid && *o->uuid;
	}
	return false;
}

static bool copy_op(xfer_du_op *d, const cwmp_du_op *o)
{
	d->op = (int)o->op;
	d->url = xfer_strdup(o->url);
	d->uuid = xfer_strdup(o->uuid);
	d->version = xfer_strdup(o->version);
	d->username = xfer_strdup(o->username);
	d->password = xfer_strdup(o->password);
	d->ee_ref = xfer_strdup(o->execution_env_ref);
	return (!o->url || d->url) && (!o->uuid || d->uuid) && (!o->version || d->version) &&
	       (!o->username || d->username) && (!o->password || d->password) &&
	       (!o->execution_env_ref || d->ee_ref);
}

static xfer *du_record(const cwmp_msg *req)
{
	xfer *rec = calloc(1, sizeof *rec);
	bool ok = rec != NULL;

	if (ok) {
		rec->kind = XFER_DU;
		rec->state = XFER_QUEUED;
		rec->after_session = 1;
		rec->due = xfer_wall_now();
		rec->command_key = strdup(req->u.du_ops.command_key ? req->u.du_ops.command_key : "");
		rec->ops = calloc(req->u.du_ops.n, sizeof *rec->ops);
		ok = rec->command_key && rec->ops;
	}
	for (size_t i = 0; ok && i < req->u.du_ops.n; i++) {
		ok = copy_op(&rec->ops[i], &req->u.du_ops.v[i]);
		rec->n_ops = i + 1;
	}
	if (!ok) {
		xfer_free(rec);
		return NULL;
	}
	return rec;
}

static void rpc_change_du_state(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	if (!req->u.du_ops.n || req->u.du_ops.n > 16) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "one to sixteen operations");
		return;
	}
	if (too_long(req->u.du_ops.command_key, XFER_KEY_MAX)) {
		fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "CommandKey longer than 32 characters");
		return;
	}
	for (size_t i = 0; i < req->u.du_ops.n; i++) {
		if (!du_op_ok(&req->u.du_ops.v[i])) {
			fail(rep, CWMP_FAULT_INVALID_ARGUMENTS, "malformed operation");
			return;
		}
	}
	if (!a->xfers) {
		fail(rep, CWMP_FAULT_INTERNAL, "transfers unavailable");
		return;
	}
	if (!queue(a, du_record(req), rep))
		rep->msg.kind = CWMP_MSG_CHANGE_DU_STATE_RESPONSE;
}

void xfer_rpc_register(cwmp_agent *a, bool on)
{
	static const struct {
		cwmp_msg_kind kind;
		cwmp_rpc_fn fn;
	} rpcs[] = {
		{CWMP_MSG_DOWNLOAD, rpc_download},
		{CWMP_MSG_UPLOAD, rpc_upload},
		{CWMP_MSG_SCHEDULE_DOWNLOAD, rpc_schedule_download},
		{CWMP_MSG_CANCEL_TRANSFER, rpc_cancel_transfer},
		{CWMP_MSG_GET_QUEUED_TRANSFERS, rpc_get_queued},
		{CWMP_MSG_GET_ALL_QUEUED_TRANSFERS, rpc_get_all_queued},
		{CWMP_MSG_CHANGE_DU_STATE, rpc_change_du_state},
	};
	for (size_t i = 0; i < sizeof rpcs / sizeof *rpcs; i++)
		cwmp_rpc_register(a, rpcs[i].kind, on ? rpcs[i].fn : NULL);
}
