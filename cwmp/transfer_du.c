/*
 * transfer_du.c - the operations of one ChangeDUState (A.4.1.10) against
 * Device.SoftwareModules.DeploymentUnit.{i}, one after the other: Install
 * and Update fetch their file through the same worker as a Download,
 * Uninstall acts at once. Each operation's outcome goes into its OpResult;
 * the whole request is reported in one DUStateChangeComplete.
 *
 * A DU needs no real package here (simulated gateway): its Version comes
 * from a "version=" line among the file's first lines, else "1.0"; its
 * Name is the URL's last segment. A UUID the ACS leaves out is generated
 * as a random (version 4) UUID, not the name-based version 5 of TR-069
 * Annex H.
 */
#include "transfer_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DU_TABLE "Device.SoftwareModules.DeploymentUnit."
#define EE_DEFAULT "Device.SoftwareModules.ExecEnv.1"

static const dm_origin self = {DM_ORIGIN_INTERNAL, "cwmp-du"};

typedef struct du_row {
	uint32_t inst;
	char uuid[40], version[33], url[XFER_DU_URL_MAX + 1], ee[260];
} du_row;

bool xfer_uuid_valid(const char *s)
{
	static const char layout[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof layout - 1)
		return false;
	for (size_t i = 0; layout[i]; i++) {
		if (layout[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

static bool uuid_v4(char *buf, size_t n)
{
	unsigned char r[16];

	if (!cwmp_random_bytes(r, sizeof r))
		return false;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(buf, n,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
	return true;
}

/* ---------------------------------------------------------------------------
 * Reading the DU table
 * ------------------------------------------------------------------------- */

static void row_get(dm *d, uint32_t inst, const char *param, char *buf, size_t n)
{
	char path[128];
	dm_errinfo err;

	snprintf(path, sizeof path, DU_TABLE "%" PRIu32 ".%s", inst, param);
	if (dm_get_value_buf(d, NULL, path, buf, n, &err))
		*buf = '\0';
}

/* Every DU row; *rows is malloc'd (NULL when none). */
static int du_rows(dm *d, du_row **rows, size_t *n)
{
	uint32_t *insts = NULL;
	dm_errinfo err;
	dm_txn *t;
	int rc;

	*rows = NULL;
	*n = 0;
	if ((rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t)))
		return rc;
	rc = dm_list_instances(t, DU_TABLE, &insts, n, &err);
	dm_txn_abort(t);
	if (rc || !*n) {
		free(insts);
		*n = 0;
		return rc;
	}
	if (!(*rows = calloc(*n, sizeof **rows))) {
		free(insts);
		*n = 0;
		return DM_ERR_NOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		du_row *r = &(*rows)[i];
		r->inst = insts[i];
		row_get(d, r->inst, "UUID", r->uuid, sizeof r->uuid);
		row_get(d, r->inst, "Version", r->version, sizeof r->version);
		row_get(d, r->inst, "URL", r->url, sizeof r->url);
		row_get(d, r->inst, "ExecutionEnvRef", r->ee, sizeof r->ee);
	}
	free(insts);
	return 0;
}

static bool given(const char *s)
{
	return s && *s;
}

/* Which rows an operation means (A.4.1.10): Update by UUID, else by URL,
 * else all; Uninstall by UUID, narrowed by Version and EE when given. */
static bool row_selected(const xfer_du_op *o, const du_row *r)
{
	if (o->op == CWMP_DU_UPDATE) {
		if (given(o->uuid))
			return !strcasecmp(r->uuid, o->uuid);
		return !given(o->url) || !strcmp(r->url, o->url);
	}
	return given(o->uuid) && !strcasecmp(r->uuid, o->uuid) &&
	       (!given(o->version) || !strcmp(r->version, o->version)) &&
	       (!given(o->ee_ref) || !strcmp(r->ee, o->ee_ref));
}

/* Keep only the selected rows, in order; returns how many. */
static size_t select_rows(const xfer_du_op *o, du_row *rows, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (row_selected(o, &rows[i]))
			rows[k++] = rows[i];
	return k;
}

static bool ee_exists(dm *d, const char *ref)
{
	char path[300], buf[80];
	dm_errinfo err;

	snprintf(path, sizeof path, "%s.Name", ref);
	return dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err) == DM_OK;
}

/* ---------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------- */

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

static void op_result(xfer_du_op *o, const char *uuid, uint32_t inst, const char *version,
		      const char *state, int resolved)
{
	char ref[96] = "";

	if (inst)
		snprintf(ref, sizeof ref, DU_TABLE "%" PRIu32, inst);
	set_str(&o->r_uuid, uuid);
	set_str(&o->r_ref, ref);
	set_str(&o->r_version, version);
	set_str(&o->r_state, state);
	o->r_resolved = resolved;
	cwmp_now(o->r_complete, sizeof o->r_complete);
}

static void op_fail(xfer_du_op *o, unsigned fault, const char *why)
{
	/* DUStateChangeComplete admits no 9010: a failed fetch is 9017 */
	if (fault == CWMP_FAULT_DOWNLOAD_FAILURE)
		fault = CWMP_FAULT_COMPLETE_DOWNLOAD;
	op_result(o, o->uuid ? o->uuid : "", 0, o->version ? o->version : "",
		  o->op == CWMP_DU_INSTALL ? "Failed" : "Installed", 0);
	o->r_fault = fault;
	set_str(&o->r_fault_string, why && *why ? why : cwmp_fault_text(fault));
	CORE_LOG_W("cwmp", "ChangeDUState operation failed: %u %s", fault, o->r_fault_string ? o->r_fault_string : "");
}

void xfer_du_interrupted(xfer *rec)
{
	for (size_t i = rec->next_op; i < rec->n_ops; i++)
		op_fail(&rec->ops[i], CWMP_FAULT_COMPLETE_DOWNLOAD, "interrupted by a restart");
	rec->next_op = rec->n_ops;
}

/* ---------------------------------------------------------------------------
 * Writing rows
 * ------------------------------------------------------------------------- */

static int row_set(dm_txn *t, uint32_t inst, const char *param, const char *value)
{
	char path[128];
	dm_errinfo err;
	int rc;

	snprintf(path, sizeof path, DU_TABLE "%" PRIu32 ".%s", inst, param);
	rc = dm_set(t, path, value, &err);
	return rc == DM_ERR_NOT_IN_SCHEMA ? 0 : rc; /* older models lack some columns */
}

static unsigned write_install(dm *d, const char *uuid, const char *name, const char *url,
			      const char *version, const char *ee, uint32_t *inst)
{
	char now[XFER_TIME_LEN];
	dm_txn *t;
	dm_errinfo err;
	int rc;

	cwmp_now(now, sizeof now);
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t))
		return CWMP_FAULT_SYSTEM_RESOURCES;
	rc = dm_add(t, DU_TABLE, NULL, inst, &err);
	if (!rc)
		rc = row_set(t, *inst, "UUID", uuid);
	if (!rc)
		rc = row_set(t, *inst, "Name", name);
	if (!rc)
		rc = row_set(t, *inst, "URL", url);
	if (!rc)
		rc = row_set(t, *inst, "Version", version);
	if (!rc)
		rc = row_set(t, *inst, "Status", "Installed");
	if (!rc)
		rc = row_set(t, *inst, "Resolved", "true");
	if (!rc && *ee)
		rc = row_set(t, *inst, "ExecutionEnvRef", ee);
	if (!rc)
		rc = row_set(t, *inst, "Installed", now);
	if (!rc)
		rc = row_set(t, *inst, "LastUpdate", now);
	if (rc) {
		dm_txn_abort(t);
		return rc == DM_ERR_UNIQUE_KEY ? CWMP_FAULT_DUPLICATE_DU : CWMP_FAULT_SYSTEM_RESOURCES;
	}
	return dm_txn_commit(t, NULL, &err) ? CWMP_FAULT_SYSTEM_RESOURCES : 0;
}

/* ---------------------------------------------------------------------------
 * The operations
 * ------------------------------------------------------------------------- */

static const char *install_ee(dm *d, const xfer_du_op *o)
{
	if (given(o->ee_ref))
		return o->ee_ref;
	return ee_exists(d, EE_DEFAULT) ? EE_DEFAULT : "";
}

static bool duplicate(dm *d, const char *uuid, const char *ee)
{
	du_row *rows = NULL;
	size_t n = 0;
	bool dup = false;

	du_rows(d, &rows, &n);
	for (size_t i = 0; i < n && !dup; i++)
		dup = !strcasecmp(rows[i].uuid, uuid) && !strcmp(rows[i].ee, ee);
	free(rows);
	return dup;
}

static void do_install(cwmp_transfers *x, xfer_du_op *o, const char *file)
{
	dm *d = x->a->d;
	char version[33] = "1.0", name[257], uuid[40];
	const char *ee = install_ee(d, o);
	uint32_t inst = 0;
	unsigned fault;

	xfer_file_version(file, version, sizeof version);
	xfer_url_name(o->url, name, sizeof name);
	if (given(o->uuid))
		snprintf(uuid, sizeof uuid, "%s", o->uuid);
	else if (!uuid_v4(uuid, sizeof uuid)) {
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, "no randomness for a UUID");
		return;
	}
	if (duplicate(d, uuid, ee)) {
		op_fail(o, CWMP_FAULT_DUPLICATE_DU, "this DU is already installed");
		return;
	}
	if ((fault = write_install(d, uuid, name, o->url, version, ee, &inst))) {
		op_fail(o, fault, NULL);
		return;
	}
	op_result(o, uuid, inst, version, "Installed", 1);
}

static void do_update(cwmp_transfers *x, xfer_du_op *o, const char *url, const char *file)
{
	dm *d = x->a->d;
	char version[33] = "", now[XFER_TIME_LEN];
	du_row *rows = NULL;
	size_t n = 0;
	dm_txn *t;
	dm_errinfo err;
	int rc = 0;

	du_rows(d, &rows, &n);
	if (!(n = select_rows(o, rows, n))) {
		free(rows);
		op_fail(o, CWMP_FAULT_UNKNOWN_DU, "no such deployment unit");
		return;
	}
	if (!xfer_file_version(file, version, sizeof version))
		snprintf(version, sizeof version, "%s", given(o->version) ? o->version : rows[0].version);
	cwmp_now(now, sizeof now);
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t)) {
		free(rows);
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, NULL);
		return;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		rc = row_set(t, rows[i].inst, "Version", version);
		if (!rc)
			rc = row_set(t, rows[i].inst, "URL", url);
		if (!rc)
			rc = row_set(t, rows[i].inst, "LastUpdate", now);
	}
	if (rc || dm_txn_commit(t, NULL, &err)) {
		if (rc)
			dm_txn_abort(t);
		op_fail(o, rc == DM_ERR_UNIQUE_KEY ? CWMP_FAULT_DU_VERSION_EXISTS : CWMP_FAULT_SYSTEM_RESOURCES, NULL);
	} else {
		op_result(o, rows[0].uuid, rows[0].inst, version, "Installed", 1);
	}
	free(rows);
}

static void do_uninstall(cwmp_transfers *x, xfer_du_op *o)
{
	dm *d = x->a->d;
	du_row *rows = NULL;
	size_t n = 0;
	char path[96];
	dm_txn *t;
	dm_errinfo err;
	int rc = 0;

	if (!xfer_uuid_valid(o->uuid)) {
		op_fail(o, CWMP_FAULT_INVALID_UUID, "invalid UUID");
		return;
	}
	du_rows(d, &rows, &n);
	if (!(n = select_rows(o, rows, n))) {
		free(rows);
		op_fail(o, CWMP_FAULT_UNKNOWN_DU, "no such deployment unit");
		return;
	}
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t)) {
		free(rows);
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, NULL);
		return;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(path, sizeof path, DU_TABLE "%" PRIu32 ".", rows[i].inst);
		rc = dm_delete(t, path, &err);
	}
	if (rc || dm_txn_commit(t, NULL, &err)) {
		if (rc)
			dm_txn_abort(t);
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, NULL);
	} else {
		op_result(o, rows[0].uuid, rows[0].inst, rows[0].version, "Uninstalled", 0);
	}
	free(rows);
}

/* The URL an Install or Update fetches, or a fault found before any
 * download (bad UUID, unknown EE or DU, duplicate, bad URL). */
static unsigned precheck(cwmp_transfers *x, const xfer_du_op *o, char *url, size_t n, const char **why)
{
	dm *d = x->a->d;
	du_row *rows = NULL;
	size_t k = 0;
	unsigned f;

	*why = NULL;
	if (given(o->uuid) && !xfer_uuid_valid(o->uuid))
		return CWMP_FAULT_INVALID_UUID;
	if (o->op == CWMP_DU_INSTALL) {
		if (given(o->ee_ref) && !ee_exists(d, o->ee_ref))
			return CWMP_FAULT_UNKNOWN_EE;
		if (given(o->uuid) && duplicate(d, o->uuid, install_ee(d, o)))
			return CWMP_FAULT_DUPLICATE_DU;
		snprintf(url, n, "%s", o->url ? o->url : "");
	} else {
		du_rows(d, &rows, &k);
		k = select_rows(o, rows, k);
		snprintf(url, n, "%s", given(o->url) ? o->url : k ? rows[0].url : "");
		free(rows);
		if (!k)
			return CWMP_FAULT_UNKNOWN_DU;
	}
	if ((f = xfer_check_url(url, XFER_DU_URL_MAX, why)))
		return f;
	return 0;
}

static void du_fetched(cwmp_transfers *x, xfer_job *j)
{
	xfer *rec = xfer_find(x, j->seq);
	xfer_du_op *o;

	if (!rec || rec->state != XFER_RUNNING || rec->next_op >= rec->n_ops)
		return;
	o = &rec->ops[rec->next_op];
	if (j->fault)
		op_fail(o, j->fault, j->msg);
	else if (o->op == CWMP_DU_INSTALL)
		do_install(x, o, j->file);
	else
		do_update(x, o, j->url, j->file);
	unlink(j->file);
	rec->next_op++;
	xfer_save(x, rec);
	xfer_du_run(x, rec);
}

/* Start the fetch of operation o; false when it failed at once. */
static bool fetch(cwmp_transfers *x, xfer *rec, xfer_du_op *o, const char *url)
{
	char part[4096];
	xfer_job *j = xfer_job_new(x, rec->seq, url, o->username, o->password);

	xfer_part_path(x, rec->seq, part, sizeof part);
	if (!j || !(j->file = strdup(part))) {
		xfer_job_free(j);
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, "out of memory");
		return false;
	}
	if (xfer_job_start(x, j, du_fetched)) {
		op_fail(o, CWMP_FAULT_SYSTEM_RESOURCES, "transfer worker did not start");
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

		cwmp_now(o->r_start, sizeof o->r_start);
		if (o->op == CWMP_DU_UNINSTALL)
			do_uninstall(x, o);
		else if ((fault = precheck(x, o, url, sizeof url, &why)))
			op_fail(o, fault, why);
		else if (fetch(x, rec, o, url))
			return; /* du_fetched goes on */
		rec->next_op++;
		xfer_save(x, rec);
	}
	xfer_finish(x, rec, 0, NULL);
}
