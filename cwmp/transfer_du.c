/*
 * transfer_du.c - the operations of one ChangeDUState (A.4.1.10), one
 * after the other: Install and Update fetch their file through the shared
 * runner like a Download, Uninstall acts at once; what each does to
 * Device.SoftwareModules.DeploymentUnit.{i} is mapping/xfer_du.c's (the
 * same for a Controller). Each operation's outcome goes into its
 * OpResult; the whole request is reported in one DUStateChangeComplete
 * (notes C21: the batch reports what happened to each member when it
 * ran).
 */
#include "transfer_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void xfer_du_interrupted(xfer *rec)
{
	for (size_t i = rec->next_op; i < rec->n_ops; i++)
		map_xfer_du_fail(&rec->ops[i], CWMP_FAULT_COMPLETE_DOWNLOAD, "interrupted by a restart");
	rec->next_op = rec->n_ops;
}

static void du_fetched(cwmp_transfers *x, xfer *rec, const map_xfer_result *r)
{
	xfer_du_op *o;

	if (!rec || rec->state != XFER_RUNNING || rec->next_op >= rec->n_ops)
		return;
	o = &rec->ops[rec->next_op];
	if (r->fault)
		map_xfer_du_fail(o, r->fault, r->msg);
	else if (o->op == CWMP_DU_INSTALL)
		map_xfer_du_install(x->a->d, o, r->file);
	else
		map_xfer_du_update(x->a->d, o, r->url, r->file);
	unlink(r->file);
	rec->next_op++;
	xfer_save(x, rec);
	xfer_du_run(x, rec);
}

/* Start the fetch of operation o; false when it failed at once. */
static bool fetch(cwmp_transfers *x, xfer *rec, xfer_du_op *o, const char *url)
{
	char part[4096];
	map_xfer_http h = {.url = url, .username = o->username, .password = o->password, .file = part};

	xfer_part_path(x, rec->seq, part, sizeof part);
	if (xfer_http(x, rec, &h, du_fetched)) {
		map_xfer_du_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, "transfer worker did not start");
		return false;
	}
	return true;
}

void xfer_du_run(cwmp_transfers *x, xfer *rec)
{
	char url[XFER_DU_URL_MAX + 1];
	const char *why;
	unsigned fault;

	while (rec->next_op < rec->n_ops) {
		xfer_du_op *o = &rec->ops[rec->next_op];

		dm_datetime_now(o->r_start, sizeof o->r_start);
		if (o->op == CWMP_DU_UNINSTALL)
			map_xfer_du_uninstall(x->a->d, o);
		else if ((fault = map_xfer_du_precheck(x->a->d, o, url, sizeof url, &why)))
			map_xfer_du_fail(o, fault, why);
		else if (fetch(x, rec, o, url))
			return; /* du_fetched goes on */
		rec->next_op++;
		xfer_save(x, rec);
	}
	xfer_finish(x, rec, 0, NULL);
}
