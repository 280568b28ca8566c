/*
 * transfer_auto.c - the transfers a Controller started, as the ACS sees
 * them (notes/cwmp-usp-mapping.md 6.3, C9): when one ends and
 * AutonomousTransferCompletePolicy lets it through (mapping/transfers.c
 * decides), a record that lives like a TransferComplete's (stored,
 * "10 AUTONOMOUS TRANSFER COMPLETE", offered until the ACS acknowledges
 * it, across restarts); while one waits or runs, a row of
 * GetAllQueuedTransfers with an empty CommandKey, which CancelTransfer
 * never matches (it names a CommandKey the ACS gave). A Controller's
 * deployment unit operation is, per DUStateChangeComplPolicy, an
 * AutonomousDUStateChangeComplete ("12 AUTONOMOUS DU STATE CHANGE
 * COMPLETE") living the same way.
 */
#include "transfer_priv.h"
#include "transfers.h"

#include <stdlib.h>
#include <string.h>

bool xfer_is_autonomous(const xfer *rec)
{
	return rec->kind == XFER_AUTONOMOUS || rec->kind == XFER_AUTONOMOUS_DU;
}

static const char *time_or_unknown(const char *t)
{
	return t && *t ? t : CWMP_UNKNOWN_TIME;
}

static xfer *record_of(const map_transfer_report *t)
{
	xfer *rec = calloc(1, sizeof *rec);

	if (!rec)
		return NULL;
	rec->kind = XFER_AUTONOMOUS;
	rec->state = XFER_DONE;
	rec->upload = t->upload;
	rec->file_size = t->file_size;
	rec->fault = t->cwmp_fault;
	snprintf(rec->start, sizeof rec->start, "%s", time_or_unknown(t->start_time));
	snprintf(rec->complete, sizeof rec->complete, "%s", time_or_unknown(t->complete_time));
	rec->command_key = strdup("");
	rec->file_type = xfer_strdup(t->file_type ? t->file_type : "");
	rec->url = xfer_strdup(t->url ? t->url : "");
	rec->fault_string = strndup(t->cwmp_fault && t->fault_string ? t->fault_string : "", 256);
	if (!rec->command_key || !rec->file_type || !rec->url || !rec->fault_string) {
		xfer_free(rec);
		return NULL;
	}
	return rec;
}

static bool copy_str(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

/* A record of the one operation (its result; credentials are not kept). */
static xfer *du_record_of(const xfer_du_op *o)
{
	xfer *rec = calloc(1, sizeof *rec);
	xfer_du_op *c = rec ? calloc(1, sizeof *c) : NULL;

	if (!c) {
		free(rec);
		return NULL;
	}
	rec->kind = XFER_AUTONOMOUS_DU;
	rec->state = XFER_DONE;
	rec->ops = c;
	rec->n_ops = rec->next_op = 1;
	c->op = o->op;
	c->r_resolved = o->r_resolved;
	c->r_fault = o->r_fault;
	snprintf(c->r_start, sizeof c->r_start, "%s", o->r_start);
	snprintf(c->r_complete, sizeof c->r_complete, "%s", o->r_complete);
	if (!(rec->command_key = strdup("")) || !copy_str(&c->uuid, o->uuid) || !copy_str(&c->r_uuid, o->r_uuid) ||
	    !copy_str(&c->r_ref, o->r_ref) || !copy_str(&c->r_version, o->r_version) ||
	    !copy_str(&c->r_state, o->r_state) || !copy_str(&c->r_fault_string, o->r_fault_string)) {
		xfer_free(rec);
		return NULL;
	}
	return rec;
}

/* Store rec (owned from here on) and raise its report. */
static void record(cwmp_transfers *x, xfer *rec)
{
	uint32_t seq;

	if (!rec) {
		CORE_LOG_W("cwmp", "a Controller's transfer not recorded: out of memory");
		return;
	}
	if (xfer_enqueue(x, rec)) { /* frees rec */
		CORE_LOG_W("cwmp", "a Controller's transfer not recorded");
		return;
	}
	seq = x->next_seq - 1;
	if ((rec = xfer_find(x, seq)))
		xfer_report(x, rec, CWMP_RAISE_NOW);
}

static void on_usp_transfer(void *ctx, const map_transfer_report *t)
{
	record(ctx, record_of(t));
}

static void on_usp_du(void *ctx, const map_xfer_du_op *o)
{
	record(ctx, du_record_of(o));
}

void xfer_auto_listen(cwmp_transfers *x, bool on)
{
	const map_transfer_hooks h = {on_usp_transfer, on_usp_du, x};

	if (x && map_transfers_listen(x->a->d, on ? &h : NULL))
		CORE_LOG_W("cwmp", "transfers of Controllers will not be reported");
}

bool xfer_auto_fill(const xfer *rec, cwmp_reply *rep)
{
	cwmp_msg *m = &rep->msg;

	m->kind = CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE;
	/* A.3.3.3: AnnounceURL is for multicast announcements: none here */
	m->u.transfer_complete.announce_url = cwmp_reply_strdup(rep, "");
	m->u.transfer_complete.transfer_url = cwmp_reply_strdup(rep, rec->url);
	m->u.transfer_complete.is_download = !rec->upload;
	m->u.transfer_complete.file_type = cwmp_reply_strdup(rep, rec->file_type);
	m->u.transfer_complete.file_size = rec->file_size;
	m->u.transfer_complete.target_file_name = cwmp_reply_strdup(rep, "");
	m->u.transfer_complete.fault_code = rec->fault;
	m->u.transfer_complete.fault_string = cwmp_reply_strdup(rep, rec->fault_string);
	m->u.transfer_complete.start_time = cwmp_reply_strdup(rep, time_or_unknown(rec->start));
	m->u.transfer_complete.complete_time = cwmp_reply_strdup(rep, time_or_unknown(rec->complete));
	return m->u.transfer_complete.announce_url && m->u.transfer_complete.transfer_url &&
	       m->u.transfer_complete.file_type && m->u.transfer_complete.target_file_name &&
	       m->u.transfer_complete.fault_string && m->u.transfer_complete.start_time &&
	       m->u.transfer_complete.complete_time;
}

size_t xfer_auto_queued(cwmp_transfers *x, cwmp_queued_transfer *v, size_t max, bool all, cwmp_reply *rep)
{
	map_queued_transfer q[XFER_MAX];
	size_t n = map_transfers_usp_queued(x->a->d, q, max < XFER_MAX ? max : XFER_MAX);

	for (size_t i = 0; i < n; i++) {
		v[i].command_key = cwmp_reply_strdup(rep, "");
		v[i].state = q[i].state;
		if (all) {
			v[i].is_download = !q[i].upload;
			v[i].file_type = cwmp_reply_strdup(rep, q[i].file_type);
			v[i].file_size = q[i].file_size;
			v[i].target_file_name = cwmp_reply_strdup(rep, "");
		}
	}
	return n;
}
