/*
 * xfer_usp_du.c - the USP door's deployment unit commands (notes 6.5):
 * Device.SoftwareModules.InstallDU(), DeploymentUnit.{i}.Update() and
 * .Uninstall(). Each is one operation of xfer_du.c, as one member of the
 * ACS's ChangeDUState is; Install and Update fetch their package through
 * the runner shared with every other transfer. Each ends with the
 * engine's completion (OperationComplete) and a DUStateChange! event.
 *
 * Update() and Uninstall() act on the instance the command is addressed
 * to: its UUID, and for Uninstall its Version and ExecutionEnvRef too, so
 * that a UUID installed in two environments loses only this one.
 */
#include "xfer_int.h"

#include "faults.h"
#include "transfers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOD "xfer"

/* Report, complete, forget. */
static void du_end(uop *op)
{
	map_xfer_du_op *o = &op->du;
	unsigned fault = o->r_fault;
	int rc = map_report_du_change(op->u->d, o, dm_request_origin(op->req));

	if (rc)
		CORE_LOG_W(MOD, "DUStateChange! of %s not sent: %s", dm_request_command(op->req), dm_strerror(rc));
	map_transfers_tell_du(op->u->d, o);
	dm_request_complete(op->req, fault ? (int)map_cwmp_fault_to_usp_err(fault) : DM_OK, NULL, 0,
			    fault ? o->r_fault_string : NULL);
	map_xfer_du_op_clear(o);
	xfer_usp_drop(op);
}

static void du_fetched(void *ctx, const map_xfer_result *r)
{
	uop *op = ctx;

	op->job = NULL;
	if (r->fault)
		map_xfer_du_fail(&op->du, r->fault, r->msg);
	else if (op->du.op == MAP_XFER_DU_INSTALL)
		map_xfer_du_install(op->u->d, &op->du, r->file);
	else
		map_xfer_du_update(op->u->d, &op->du, r->url, r->file);
	du_end(op);
}

static char *dup_arg(const dm_request *req, const char *name)
{
	const char *v = dm_request_input(req, name);

	return v && *v ? strdup(v) : NULL;
}

static char *row_value(dm *d, uint32_t inst, const char *param)
{
	char path[128], buf[1100];
	dm_errinfo err;

	snprintf(path, sizeof path, XFER_DU_TABLE "%" PRIu32 ".%s", inst, param);
	if (dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err) || !*buf)
		return NULL;
	return strdup(buf);
}

/* The operation the command asks for, in xfer_du.c's terms. */
static int du_fill(uop *op)
{
	map_xfer_du_op *o = &op->du;
	dm_request *req = op->req;

	o->username = dup_arg(req, "Username");
	o->password = dup_arg(req, "Password");
	o->url = dup_arg(req, "URL");
	switch (op->kind) {
	case OP_DU_INSTALL:
		o->op = MAP_XFER_DU_INSTALL;
		o->uuid = dup_arg(req, "UUID");
		o->ee_ref = dup_arg(req, "ExecutionEnvRef");
		return DM_OK;
	case OP_DU_UPDATE:
		o->op = MAP_XFER_DU_UPDATE;
		break;
	default:
		o->op = MAP_XFER_DU_UNINSTALL;
		o->version = row_value(op->u->d, op->inst, "Version");
		o->ee_ref = row_value(op->u->d, op->inst, "ExecutionEnvRef");
		break;
	}
	/* the instance addressed, by its UUID */
	return (o->uuid = row_value(op->u->d, op->inst, "UUID")) ? DM_OK : DM_ERR_NOT_INSTANTIATED;
}

int xfer_usp_du_start(uop *op)
{
	map_xfer_usp *u = op->u;
	char url[MAP_XFER_DU_URL_MAX + 1];
	const char *why = NULL;
	unsigned fault;
	int rc;

	if ((rc = du_fill(op))) {
		map_xfer_du_op_clear(&op->du);
		return rc;
	}
	dm_datetime_now(op->du.r_start, sizeof op->du.r_start);
	if (op->du.op == MAP_XFER_DU_UNINSTALL) {
		map_xfer_du_uninstall(u->d, &op->du);
		du_end(op);
		return DM_OK;
	}
	if ((fault = map_xfer_du_precheck(u->d, &op->du, url, sizeof url, &why))) {
		/* accepted, then failed: the result says why, as for the ACS */
		map_xfer_du_fail(&op->du, fault, why);
		du_end(op);
		return DM_OK;
	}
	map_xfer_http h = {.url = url};
	if ((rc = xfer_usp_fetch(op, &h, du_fetched)))
		map_xfer_du_op_clear(&op->du);
	return rc;
}
