/*
 * broker_table.c - Device.USPServices.USPService.{i}: the USP Services the
 * Broker serves, as TR-181 shows them to managers. One row per Service
 * holding registered paths (EndpointID, Protocol "UDS", DataModelPaths);
 * a row goes with the Service's last path. Registrations live as long as
 * the Service's connection, so a start empties the table.
 *
 * The table is brought in line with the registry after every change, in
 * one transaction of the agent's own: a Service keeps its instance number
 * while it stays.
 */
#include "usp_int.h"

#include "proxy.h"

#include <stdlib.h>
#include <string.h>

#define TABLE "Device.USPServices.USPService."

static const dm_origin broker_origin = {DM_ORIGIN_INTERNAL, "usp-broker"};

typedef struct service_row {
	const char *endpoint;
	char *paths; /* comma-separated, registration order */
	bool placed; /* its row exists (found or added) */
} service_row;

/* The Services of the registry and their paths. */
static service_row *collect(const map_proxy *reg, size_t *n_out)
{
	size_t n = map_proxy_count(reg), used = 0;
	service_row *rows = calloc(n ? n : 1, sizeof *rows);

	for (size_t i = 0; rows && i < n; i++) {
		const char *owner = "", *path = map_proxy_path(reg, i, &owner);
		size_t k = 0;
		while (k < used && strcmp(rows[k].endpoint, owner))
			k++;
		if (k == used)
			rows[used++].endpoint = owner;
		size_t have = rows[k].paths ? strlen(rows[k].paths) : 0;
		char *grown = realloc(rows[k].paths, have + strlen(path) + 2);
		if (!grown)
			continue; /* that path is left out of the list */
		snprintf(grown + have, strlen(path) + 2, "%s%s", have ? "," : "", path);
		rows[k].paths = grown;
	}
	*n_out = used;
	return rows;
}

static int set_param(dm_txn *t, uint32_t inst, const char *name, const char *value)
{
	char path[128];
	dm_errinfo err;

	snprintf(path, sizeof path, TABLE "%u.%s", inst, name);
	return dm_set(t, path, value, &err);
}

/* Rows of Services still registered get their paths, the others go. */
static int update_rows(dm *d, dm_txn *t, service_row *rows, size_t n)
{
	uint32_t *insts = NULL;
	size_t n_insts = 0;
	int rc = dm_list_instances(t, TABLE, &insts, &n_insts, NULL);

	for (size_t i = 0; !rc && i < n_insts; i++) {
		char path[128], endpoint[USP_ENDPOINT_MAX] = "";
		snprintf(path, sizeof path, TABLE "%u.EndpointID", insts[i]);
		dm_get_value_buf(d, t, path, endpoint, sizeof endpoint, NULL);
		size_t k = 0;
		while (k < n && strcmp(rows[k].endpoint, endpoint))
			k++;
		if (k < n && rows[k].paths && !rows[k].placed) {
			rows[k].placed = true;
			rc = set_param(t, insts[i], "DataModelPaths", rows[k].paths);
		} else {
			dm_errinfo err;
			snprintf(path, sizeof path, TABLE "%u.", insts[i]);
			rc = dm_delete(t, path, &err);
		}
	}
	free(insts);
	return rc;
}

static int add_rows(dm_txn *t, service_row *rows, size_t n)
{
	int rc = DM_OK;

	for (size_t k = 0; !rc && k < n; k++) {
		uint32_t inst;
		dm_errinfo err;
		if (rows[k].placed || !rows[k].paths)
			continue;
		if (!(rc = dm_add(t, TABLE, NULL, &inst, &err)) && !(rc = set_param(t, inst, "EndpointID", rows[k].endpoint)) &&
		    !(rc = set_param(t, inst, "Protocol", "UDS")) && !(rc = set_param(t, inst, "HasController", "false")))
			rc = set_param(t, inst, "DataModelPaths", rows[k].paths);
	}
	return rc;
}

void usp_broker_table_sync(usp_agent *a, const map_proxy *reg)
{
	dm *d = usp_agent_dm(a);
	size_t n = 0;
	dm_txn *t;
	dm_errinfo err = {0};
	int rc;

	if (!d || !reg || !dm_schema_find(dm_get_schema(d), TABLE "{i}."))
		return;
	service_row *rows = collect(reg, &n);
	if (!rows)
		return;
	if (!(rc = dm_txn_begin(d, DM_TXN_WRITE, &broker_origin, &t))) {
		if ((rc = update_rows(d, t, rows, n)) || (rc = add_rows(t, rows, n)))
			dm_txn_abort(t);
		else
			rc = dm_txn_commit(t, NULL, &err);
	}
	if (rc)
		CORE_LOG_W("usp", "Device.USPServices not brought up to date: %s", err.msg[0] ? err.msg : dm_strerror(rc));
	for (size_t k = 0; k < n; k++)
		free(rows[k].paths);
	free(rows);
}
