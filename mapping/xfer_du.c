/*
 * xfer_du.c - one deployment unit operation against
 * Device.SoftwareModules.DeploymentUnit.{i} and its result, for either
 * door: the ACS's ChangeDUState runs its operations through here one after
 * the other. Install and Update act on a package already fetched (the
 * runner's download); Uninstall acts at once.
 */
#include "xfer_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define DU_TABLE XFER_DU_TABLE
#define EE_DEFAULT "Device.SoftwareModules.ExecEnv.1"

static const dm_origin self = {DM_ORIGIN_INTERNAL, "du"};

typedef struct du_row {
	uint32_t inst;
	char uuid[40], version[33], url[MAP_XFER_DU_URL_MAX + 1], ee[260];
} du_row;

bool map_xfer_uuid_valid(const char *s)
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

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
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
static bool row_selected(const map_xfer_du_op *o, const du_row *r)
{
	if (o->op == MAP_XFER_DU_UPDATE) {
		if (given(o->uuid))
			return !strcasecmp(r->uuid, o->uuid);
		return !given(o->url) || !strcmp(r->url, o->url);
	}
	return given(o->uuid) && !strcasecmp(r->uuid, o->uuid) &&
	       (!given(o->version) || !strcmp(r->version, o->version)) &&
	       (!given(o->ee_ref) || !strcmp(r->ee, o->ee_ref));
}

/* Keep only the selected rows, in order; returns how many. */
static size_t select_rows(const map_xfer_du_op *o, du_row *rows, size_t n)
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

static void op_result(map_xfer_du_op *o, const char *uuid, uint32_t inst, const char *version,
		      const char *state, int is_resolved)
{
	char ref[96] = "";

	if (inst)
		snprintf(ref, sizeof ref, DU_TABLE "%" PRIu32, inst);
	set_str(&o->r_uuid, uuid);
	set_str(&o->r_ref, ref);
	set_str(&o->r_version, version);
	set_str(&o->r_state, state);
	o->r_resolved = is_resolved;
	dm_datetime_now(o->r_complete, sizeof o->r_complete);
}

void map_xfer_du_fail(map_xfer_du_op *o, unsigned fault, const char *why)
{
	/* DUStateChangeComplete admits no 9010: a failed fetch is 9017 */
	char fresh[40] = "";

	if (fault == MAP_XFER_F_DOWNLOAD)
		fault = MAP_XFER_F_COMPLETE;
	/* an Install the manager gave no UUID still reports one (the result's
	 * UUID is required): the one the CPE would have made */
	if (o->op == MAP_XFER_DU_INSTALL && !given(o->uuid))
		uuid_v4(fresh, sizeof fresh);
	op_result(o, given(o->uuid) ? o->uuid : fresh, 0, o->version ? o->version : "",
		  o->op == MAP_XFER_DU_INSTALL ? "Failed" : "Installed", 0);
	o->r_fault = fault;
	/* without a reason, each door words the code itself */
	set_str(&o->r_fault_string, why && *why ? why : NULL);
	CORE_LOG_W("xfer", "deployment unit operation failed: %u %s", fault, o->r_fault_string ? o->r_fault_string : "");
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
	char now[MAP_XFER_TIME_LEN];
	dm_txn *t;
	dm_errinfo err;
	int rc;

	dm_datetime_now(now, sizeof now);
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t))
		return MAP_XFER_F_SYSTEM_RESOURCES;
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
		return rc == DM_ERR_UNIQUE_KEY ? MAP_XFER_F_DUPLICATE_DU : MAP_XFER_F_SYSTEM_RESOURCES;
	}
	return dm_txn_commit(t, NULL, &err) ? MAP_XFER_F_SYSTEM_RESOURCES : 0;
}

/* ---------------------------------------------------------------------------
 * The operations
 * ------------------------------------------------------------------------- */

static const char *install_ee(dm *d, const map_xfer_du_op *o)
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

void map_xfer_du_install(dm *d, map_xfer_du_op *o, const char *file)
{
	char version[33] = "1.0", name[257], uuid[40];
	const char *ee = install_ee(d, o);
	uint32_t inst = 0;
	unsigned fault;

	map_xfer_file_version(file, version, sizeof version);
	map_xfer_url_name(o->url, name, sizeof name);
	if (given(o->uuid))
		snprintf(uuid, sizeof uuid, "%s", o->uuid);
	else if (!uuid_v4(uuid, sizeof uuid)) {
		map_xfer_du_fail(o, MAP_XFER_F_SYSTEM_RESOURCES, "no randomness for a UUID");
		return;
	}
	if (duplicate(d, uuid, ee)) {
		map_xfer_du_fail(o, MAP_XFER_F_DUPLICATE_DU, "this DU is already installed");
		return;
	}
	if ((fault = write_install(d, uuid, name, o->url, version, ee, &inst))) {
		map_xfer_du_fail(o, fault, NULL);
		return;
	}
	op_result(o, uuid, inst, version, "Installed", 1);
}

void map_xfer_du_update(dm *d, map_xfer_du_op *o, const char *url, const char *file)
{
	char version[33] = "", now[MAP_XFER_TIME_LEN];
	du_row *rows = NULL;
	size_t n = 0;
	dm_txn *t;
	dm_errinfo err;
	int rc = 0;

	du_rows(d, &rows, &n);
	if (!(n = select_rows(o, rows, n))) {
		free(rows);
		map_xfer_du_fail(o, MAP_XFER_F_UNKNOWN_DU, "no such deployment unit");
		return;
	}
	if (!map_xfer_file_version(file, version, sizeof version))
		snprintf(version, sizeof version, "%s", given(o->version) ? o->version : rows[0].version);
	dm_datetime_now(now, sizeof now);
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t)) {
		free(rows);
		map_xfer_du_fail(o, MAP_XFER_F_SYSTEM_RESOURCES, NULL);
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
		map_xfer_du_fail(o, rc == DM_ERR_UNIQUE_KEY ? MAP_XFER_F_DU_VERSION_EXISTS : MAP_XFER_F_SYSTEM_RESOURCES, NULL);
	} else {
		op_result(o, rows[0].uuid, rows[0].inst, version, "Installed", 1);
	}
	free(rows);
}

void map_xfer_du_uninstall(dm *d, map_xfer_du_op *o)
{
	du_row *rows = NULL;
	size_t n = 0;
	char path[96];
	dm_txn *t;
	dm_errinfo err;
	int rc = 0;

	if (!map_xfer_uuid_valid(o->uuid)) {
		map_xfer_du_fail(o, MAP_XFER_F_INVALID_UUID, "invalid UUID");
		return;
	}
	du_rows(d, &rows, &n);
	if (!(n = select_rows(o, rows, n))) {
		free(rows);
		map_xfer_du_fail(o, MAP_XFER_F_UNKNOWN_DU, "no such deployment unit");
		return;
	}
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t)) {
		free(rows);
		map_xfer_du_fail(o, MAP_XFER_F_SYSTEM_RESOURCES, NULL);
		return;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(path, sizeof path, DU_TABLE "%" PRIu32 ".", rows[i].inst);
		rc = dm_delete(t, path, &err);
	}
	if (rc || dm_txn_commit(t, NULL, &err)) {
		if (rc)
			dm_txn_abort(t);
		map_xfer_du_fail(o, MAP_XFER_F_SYSTEM_RESOURCES, NULL);
	} else {
		op_result(o, rows[0].uuid, rows[0].inst, rows[0].version, "Uninstalled", 0);
	}
	free(rows);
}

unsigned map_xfer_du_precheck(dm *d, const map_xfer_du_op *o, char *url, size_t n, const char **why)
{
	du_row *rows = NULL;
	size_t k = 0;
	unsigned f;

	*why = NULL;
	if (given(o->uuid) && !map_xfer_uuid_valid(o->uuid))
		return MAP_XFER_F_INVALID_UUID;
	if (o->op == MAP_XFER_DU_INSTALL) {
		if (given(o->ee_ref) && !ee_exists(d, o->ee_ref))
			return MAP_XFER_F_UNKNOWN_EE;
		if (given(o->uuid) && duplicate(d, o->uuid, install_ee(d, o)))
			return MAP_XFER_F_DUPLICATE_DU;
		snprintf(url, n, "%s", o->url ? o->url : "");
	} else {
		du_rows(d, &rows, &k);
		k = select_rows(o, rows, k);
		snprintf(url, n, "%s", given(o->url) ? o->url : k ? rows[0].url : "");
		free(rows);
		if (!k)
			return MAP_XFER_F_UNKNOWN_DU;
	}
	if ((f = map_xfer_check_url(url, MAP_XFER_DU_URL_MAX, why)))
		return f;
	return 0;
}

void map_xfer_du_op_clear(map_xfer_du_op *o)
{
	char **strs[] = {&o->url, &o->uuid, &o->version, &o->username, &o->password, &o->ee_ref,
			 &o->r_uuid, &o->r_ref, &o->r_version, &o->r_state, &o->r_fault_string};

	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}
