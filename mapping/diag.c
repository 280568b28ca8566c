/*
 * diag.c - map_diag: the two doors of the diagnostics over one runner.
 * Here: start and stop, one test of a kind at a time (the others wait in
 * a queue, whichever door asked: notes/cwmp-usp-mapping.md C8), and the
 * USP door, the async command handlers. The CWMP door is diag_cwmp.c.
 */
#include "diag_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "diag"

/* ---- one test of a kind at a time ------------------------------------------ */

static void job_free(diag_job *job)
{
	free(job);
}

static void usp_complete(diag_job *job, const map_diag_outcome *o)
{
	dm_arg out[MAP_DIAG_MAX_OUT + 1];
	size_t n = 0;

	out[n++] = (dm_arg){"Status", o->status};
	for (size_t i = 0; i < o->n_out; i++)
		out[n++] = o->out[i];
	dm_request_complete(job->req, DM_OK, out, n, NULL);
}

static void slot_kick(map_diag *md, map_diag_kind kind);

static void job_done(void *ctx, const map_diag_outcome *o)
{
	diag_job *job = ctx;
	map_diag *md = job->md;
	map_diag_kind kind = job->kind;

	md->slot[kind].running = NULL;
	if (job->req)
		usp_complete(job, o);
	else
		diag_cwmp_finished(md, kind, o);
	job_free(job);
	slot_kick(md, kind);
}

/* The inputs a job runs with: the request's, or the object's as they are
 * now (a CWMP run uses the inputs current when it starts). */
static int job_start(diag_job *job)
{
	const char *const *names = diag_spec_of(job->kind)->inputs;
	char vals[16][1025];
	dm_arg in[16];
	size_t n = 0;

	if (job->req) {
		for (size_t i = 0; names[i] && n < 16; i++) {
			const char *v = dm_request_input(job->req, names[i]);
			if (v)
				in[n++] = (dm_arg){names[i], v};
		}
	} else {
		n = diag_cwmp_inputs(job->md, job->kind, in, vals, 16);
	}
	return map_diag_run_start(job->md->loop, job->kind, in, n, job_done, job, &job->run);
}

static void slot_kick(map_diag *md, map_diag_kind kind)
{
	while (!md->slot[kind].running && md->slot[kind].head) {
		diag_job *job = md->slot[kind].head;
		map_diag_outcome failed;

		md->slot[kind].head = job->next;
		if (!job->next)
			md->slot[kind].tail = NULL;
		job->next = NULL;
		md->slot[kind].running = job;
		if (job_start(job) == DM_OK)
			return;
		CORE_LOG_W(MOD, "cannot start %s", diag_spec_of(kind)->command);
		diag_outcome_init(&failed, "Error_Internal");
		job_done(job, &failed);
		return; /* job_done kicked the next one */
	}
}

void diag_enqueue(map_diag *md, diag_job *job)
{
	job->next = NULL;
	if (md->slot[job->kind].tail)
		md->slot[job->kind].tail->next = job;
	else
		md->slot[job->kind].head = job;
	md->slot[job->kind].tail = job;
	slot_kick(md, job->kind);
}

void diag_job_cancel(map_diag *md, diag_job *job)
{
	map_diag_kind kind = job->kind;

	if (md->slot[kind].running == job) {
		map_diag_run_cancel(job->run);
		md->slot[kind].running = NULL;
	} else {
		diag_job *prev = NULL;
		for (diag_job *j = md->slot[kind].head; j; prev = j, j = j->next) {
			if (j != job)
				continue;
			if (prev)
				prev->next = j->next;
			else
				md->slot[kind].head = j->next;
			if (md->slot[kind].tail == j)
				md->slot[kind].tail = prev;
			break;
		}
	}
	job_free(job);
	slot_kick(md, kind);
}

/* ---- the USP door ------------------------------------------------------------- */

static int usp_command(map_diag *md, map_diag_kind kind, dm_request *req)
{
	const char *const *names = diag_spec_of(kind)->inputs;
	char why[160];
	diag_job *job;

	for (size_t i = 0; names[i]; i++)
		if (map_diag_check_input(kind, names[i], dm_request_input(req, names[i]), why, sizeof why)) {
			CORE_LOG_I(MOD, "%s refused: %s", dm_request_command(req), why);
			return DM_ERR_INVALID_ARG;
		}
	if (!(job = calloc(1, sizeof *job)))
		return DM_ERR_NOMEM;
	job->md = md;
	job->kind = kind;
	job->req = req;
	diag_enqueue(md, job);
	return DM_OK;
}

static int usp_ipping(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_IPPING, req);
}

static int usp_download(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_DOWNLOAD, req);
}

static int usp_upload(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_UPLOAD, req);
}

static int usp_traceroute(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_TRACEROUTE, req);
}

static int usp_nslookup(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_NSLOOKUP, req);
}

static int usp_server_selection(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_SERVER_SELECTION, req);
}

static int usp_udpecho(void *ctx, dm_request *req)
{
	return usp_command(ctx, MAP_DIAG_UDPECHO, req);
}

static const dm_command_fn handlers[MAP_DIAG_KINDS] = {
	[MAP_DIAG_IPPING] = usp_ipping,
	[MAP_DIAG_DOWNLOAD] = usp_download,
	[MAP_DIAG_UPLOAD] = usp_upload,
	[MAP_DIAG_TRACEROUTE] = usp_traceroute,
	[MAP_DIAG_NSLOOKUP] = usp_nslookup,
	[MAP_DIAG_SERVER_SELECTION] = usp_server_selection,
	[MAP_DIAG_UDPECHO] = usp_udpecho,
};

static void register_commands(map_diag *md, bool on)
{
	const dm_schema *s = dm_get_schema(md->d);

	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		const char *cmd = diag_spec_of(k)->command;
		if (dm_schema_find(s, cmd))
			dm_command_register(md->d, cmd, on ? handlers[k] : NULL, on ? md : NULL);
	}
}

/* ---- start and stop --------------------------------------------------------------- */

int map_diag_start(dm *d, core_loop *loop, map_diag **out)
{
	map_diag *md;
	int rc;

	if (!d || !loop || !out)
		return DM_ERR_INVALID_ARG;
	if (!(md = calloc(1, sizeof *md)))
		return DM_ERR_NOMEM;
	md->d = d;
	md->loop = loop;
	if ((rc = diag_cwmp_open(md))) {
		free(md);
		return rc;
	}
	register_commands(md, true);
	*out = md;
	return DM_OK;
}

/* Waiting and running jobs go; a USP request is left uncompleted, so the
 * engine keeps it recorded and the next start reports it interrupted. */
static void drop_jobs(map_diag *md)
{
	for (int k = 0; k < MAP_DIAG_KINDS; k++) {
		diag_job *job = md->slot[k].running;
		if (job) {
			map_diag_run_cancel(job->run);
			job_free(job);
		}
		while ((job = md->slot[k].head)) {
			md->slot[k].head = job->next;
			job_free(job);
		}
		md->slot[k].running = md->slot[k].tail = NULL;
		md->cwmp[k].job = NULL;
	}
}

void map_diag_stop(map_diag *md)
{
	if (!md)
		return;
	register_commands(md, false);
	diag_cwmp_close(md);
	drop_jobs(md);
	free(md);
}
