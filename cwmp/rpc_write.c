/*
 * rpc_write.c - the data model writes of the ACS: SetParameterValues,
 * AddObject and DeleteObject. Each request is one write transaction of
 * the ACS's origin that also records its ParameterKey, committed durably
 * before the answer, or aborted whole with a fault (A.3.2.1: no partial
 * effect).
 */
#include "rpc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTO_CREATE_PATH "Device.ManagementServer.AutoCreateInstances"
#define NAME_MAX_LEN 1024 /* beyond the engine's longest path: let it refuse */

static bool key_too_long(const char *key)
{
	return key && strlen(key) > CWMP_PARAMETER_KEY_MAX;
}

/* The fault of a failed engine call in this RPC, with its message. */
static void dm_fault(cwmp_reply *rep, int rc, dm_errinfo *err, cwmp_fault_ctx ctx)
{
	if (!err->code)
		err->code = rc;
	cwmp_reply_fault(rep, cwmp_fault_from_dm(err, ctx), err->msg);
}

/*
 * The end of every write: record the ParameterKey as the agent's own state
 * (the ACS cannot write it) in the same transaction, then commit. TR-069
 * A.3.2.1: the key changes exactly when the request succeeds. t is gone
 * on return.
 */
static int commit_with_key(dm_txn *t, const char *key, dm_errinfo *err)
{
	int rc = dm_set_as_agent(t, CWMP_PARAMETER_KEY_PATH, key ? key : "", err);

	if (rc) {
		/* the schema or the store fails us, not the request */
		dm_txn_abort(t);
		err->code = DM_ERR_INTERNAL;
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

int cwmp_rpc_record_key(cwmp_agent *a, const char *key)
{
	dm_errinfo err = {0};
	dm_txn *t;
	int rc = cwmp_acs_txn_begin(a, DM_TXN_WRITE, &a->origin, &t);

	return rc ? rc : commit_with_key(t, key, &err);
}

/* ---- names and the schema -------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/*
 * The schema path of a CWMP name: instance numbers and [alias] segments
 * become "{i}" ("Device.IP.Interface.[wan].Name" gives
 * "Device.IP.Interface.{i}.Name"). An alias may hold '.', so brackets are
 * matched before dots. false when the name does not fit out.
 */
static bool schema_path_of(const char *name, size_t len, char *out, size_t outsz)
{
	size_t o = 0, i = 0;

	while (i < len) {
		size_t j = i;
		if (name[i] == '[') {
			const char *close = memchr(name + i, ']', len - i);
			if (!close)
				return false;
			j = (size_t)(close - name) + 1;
		} else {
			while (j < len && name[j] != '.')
				j++;
		}
		bool inst = name[i] == '[' || all_digits(name + i, j - i);
		const char *seg = inst ? "{i}" : name + i;
		size_t sl = inst ? 3 : j - i;
		if (o + sl + 2 > outsz)
			return false;
		memcpy(out + o, seg, sl);
		o += sl;
		if (j < len && name[j] != '.')
			return false; /* "[alias]x" */
		if (j < len)
			out[o++] = '.';
		i = j + 1;
	}
	out[o] = '\0';
	return true;
}

/* The node a name of the ACS's names; NULL when its view hides it. */
static const dm_node *schema_node_of(const cwmp_agent *a, const char *name)
{
	char sp[NAME_MAX_LEN + 8], stored[NAME_MAX_LEN + 8];

	if (dm_view_store(a->view, name, stored, sizeof stored) != 1 ||
	    !schema_path_of(stored, strlen(stored), sp, sizeof sp))
		return NULL;
	return dm_schema_find(dm_get_schema(a->d), sp);
}

/* ---- SetParameterValues (A.3.2.1) ------------------------------------------ */

#define XSI(t) (1u << (t))
#define XSI_NUMERIC                                                                                   \
	(XSI(CWMP_TYPE_INT) | XSI(CWMP_TYPE_UNSIGNED_INT) | XSI(CWMP_TYPE_LONG) | XSI(CWMP_TYPE_UNSIGNED_LONG))

/*
 * Which xsi:types each parameter type accepts. xsd:string fits everything
 * (many ACSs type every value as a string); a string parameter takes any
 * lexical value; numbers of any width fit any numeric parameter, whose own
 * range the engine then checks (9007). The rest must match.
 */
static const unsigned xsi_accepted[] = {
	[DM_TYPE_STRING] = ~0u,
	[DM_TYPE_BOOLEAN] = XSI(CWMP_TYPE_STRING) | XSI(CWMP_TYPE_BOOLEAN),
	[DM_TYPE_INT] = XSI(CWMP_TYPE_STRING) | XSI_NUMERIC,
	[DM_TYPE_UNSIGNED_INT] = XSI(CWMP_TYPE_STRING) | XSI_NUMERIC,
	[DM_TYPE_LONG] = XSI(CWMP_TYPE_STRING) | XSI_NUMERIC,
	[DM_TYPE_UNSIGNED_LONG] = XSI(CWMP_TYPE_STRING) | XSI_NUMERIC,
	[DM_TYPE_DECIMAL] = XSI(CWMP_TYPE_STRING) | XSI_NUMERIC,
	[DM_TYPE_DATETIME] = XSI(CWMP_TYPE_STRING) | XSI(CWMP_TYPE_DATETIME),
	[DM_TYPE_BASE64] = XSI(CWMP_TYPE_STRING) | XSI(CWMP_TYPE_BASE64),
	[DM_TYPE_HEXBINARY] = XSI(CWMP_TYPE_STRING) | XSI(CWMP_TYPE_HEXBINARY),
};

static bool xsi_type_fits(cwmp_value_type xsi, const dm_node *param)
{
	dm_type t = dm_node_type(param);

	if (xsi == CWMP_TYPE_UNKNOWN)
		return true; /* an xsi:type we cannot name: the value's text decides */
	if ((unsigned)t >= sizeof xsi_accepted / sizeof xsi_accepted[0])
		return false;
	return (xsi_accepted[t] & XSI(xsi)) != 0;
}

typedef struct spv_run {
	cwmp_agent *a;
	cwmp_reply *rep;
	dm_txn *t;
	bool auto_create;
	size_t n_bad;     /* SetParameterValuesFault entries so far */
	unsigned general; /* a fault about the request, not one parameter (9002, 9004) */
} spv_run;

static bool auto_create_enabled(cwmp_agent *a, dm_txn *t)
{
	char v[16];
	dm_errinfo err = {0};

	return dm_get_value_buf(a->d, t, AUTO_CREATE_PATH, v, sizeof v, &err) == DM_OK && !strcmp(v, "true");
}

static int ignore_item(void *ctx, const dm_item *it)
{
	(void)ctx;
	(void)it;
	return 0;
}

/*
 * TR-069 3.6.1: with AutoCreateInstances, a name whose [alias] segment
 * names no instance creates one with that Alias, in the same transaction.
 * Segments are taken left to right, so each table's parent exists when it
 * is reached.
 */
static int create_missing_aliases(dm_txn *t, const char *name, dm_errinfo *err)
{
	char prefix[NAME_MAX_LEN + 2];
	size_t len = strlen(name);

	for (const char *open = strchr(name, '['); open; open = strchr(open + 1, '[')) {
		const char *close = strchr(open, ']');
		if (!close || close[1] != '.' || open == name || open[-1] != '.')
			return DM_OK; /* malformed: the engine names the fault */
		size_t pl = (size_t)(close - name) + 2, tl = (size_t)(open - name);
		if (pl >= sizeof prefix || pl > len)
			return DM_OK;
		memcpy(prefix, name, pl);
		prefix[pl] = '\0';
		int rc = dm_resolve(t, DM_GRAMMAR_CWMP, prefix, DM_RESOLVE_OBJECTS, 0, ignore_item, NULL, err);
		if (rc != DM_ERR_NOT_INSTANTIATED)
			continue; /* there, or wrong for a reason dm_set reports */
		char alias[NAME_MAX_LEN];
		snprintf(alias, sizeof alias, "%.*s", (int)(close - open - 1), open + 1);
		prefix[tl] = '\0';
		memset(err, 0, sizeof *err);
		if ((rc = dm_add(t, prefix, alias, NULL, err)))
			return rc;
	}
	return DM_OK;
}

/* Faults of one parameter go in the list; the others answer the request. */
static bool about_one_parameter(unsigned code)
{
	return code != CWMP_FAULT_INTERNAL && code != CWMP_FAULT_RESOURCES_EXCEEDED;
}

static void note_bad(spv_run *r, const char *name, unsigned code, const char *detail)
{
	if (r->general)
		return;
	if (!about_one_parameter(code)) {
		r->general = code;
		cwmp_reply_fault(r->rep, code, detail);
		return;
	}
	if (r->n_bad == 0 && cwmp_reply_fault(r->rep, CWMP_FAULT_INVALID_ARGUMENTS, NULL)) {
		r->general = CWMP_FAULT_RESOURCES_EXCEEDED;
		return;
	}
	if (cwmp_reply_spv_fault(r->rep, name, code, detail)) {
		r->general = CWMP_FAULT_RESOURCES_EXCEEDED;
		cwmp_reply_fault(r->rep, r->general, NULL);
		return;
	}
	r->n_bad++;
}

/*
 * ManagementServer.InformParameter rows (TR-181): a forced Inform
 * parameter is in every Inform already and "4 VALUE CHANGE" has its own
 * rules, so a row may name neither; the value is refused (9007).
 */
static const char *inform_parameter_refusal(const cwmp_agent *a, const dm_node *param, const char *value)
{
	const char *col = dm_node_name(param);
	const dm_node *row = dm_node_parent(param);

	if (!row || strcmp(dm_node_path(row), "Device.ManagementServer.InformParameter.{i}."))
		return NULL;
	if (!strcmp(col, "EventList")) {
		for (const char *p = value; (p = strstr(p, "4 VALUE CHANGE")); p++)
			if ((p == value || p[-1] == ',') && (p[14] == ',' || p[14] == '\0'))
				return "4 VALUE CHANGE may not be in an InformParameter EventList";
		return NULL;
	}
	if (strcmp(col, "ParameterName"))
		return NULL;
	const dm_node *named = schema_node_of(a, value);
	if (named && dm_node_get_kind(named) == DM_NODE_PARAM && dm_node_forced_inform(named))
		return "a forced Inform parameter is in every Inform already";
	return NULL;
}

/* Check and apply one entry; a failure is noted, never stops the others. */
static void set_one(spv_run *r, const cwmp_param_value *pv)
{
	const char *name = pv->name ? pv->name : "";
	const char *value = pv->value ? pv->value : "";
	const dm_node *param = schema_node_of(r->a, name);
	dm_errinfo err = {0};
	char detail[160];
	int rc;

	if (!param || dm_node_get_kind(param) != DM_NODE_PARAM) {
		note_bad(r, name, CWMP_FAULT_INVALID_PARAMETER_NAME, NULL);
		return;
	}
	if (!xsi_type_fits(pv->type, param)) {
		snprintf(detail, sizeof detail, "%s is not a type for a parameter of type %s",
			 cwmp_value_type_name(pv->type), dm_type_name(dm_node_type(param)));
		note_bad(r, name, CWMP_FAULT_INVALID_PARAMETER_TYPE, detail);
		return;
	}
	const char *refusal = inform_parameter_refusal(r->a, param, value);
	if (refusal) {
		note_bad(r, name, CWMP_FAULT_INVALID_PARAMETER_VALUE, refusal);
		return;
	}
	if (r->auto_create && strchr(name, '[') && (rc = create_missing_aliases(r->t, name, &err))) {
		if (!err.code)
			err.code = rc;
		unsigned code = cwmp_fault_from_dm(&err, CWMP_CTX_ADD_OBJECT);
		/* an alias the table refuses makes the name invalid */
		note_bad(r, name, code == CWMP_FAULT_INVALID_ARGUMENTS ? CWMP_FAULT_INVALID_PARAMETER_NAME : code,
			 err.msg);
		return;
	}
	if ((rc = dm_set(r->t, name, value, &err))) {
		if (!err.code)
			err.code = rc;
		note_bad(r, name, cwmp_fault_from_dm(&err, CWMP_CTX_SET_PARAM), err.msg);
	}
}

static int cmp_names(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;

	return strcmp(a ? a : "", b ? b : "");
}

/* A.3.2.1: a name given twice makes the request invalid. The first
 * duplicate found is returned, NULL when there is none; *nomem on failure. */
static const char *first_duplicate(const cwmp_param_value *v, size_t n, bool *nomem)
{
	const char *dup = NULL;
	const char **names;

	*nomem = false;
	if (n < 2)
		return NULL;
	if (!(names = malloc(n * sizeof *names))) {
		*nomem = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		names[i] = v[i].name ? v[i].name : "";
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 1; i < n && !dup; i++)
		if (!strcmp(names[i - 1], names[i]))
			dup = names[i];
	free(names);
	return dup;
}

/* The request's own checks, before the engine is touched: 0 or a fault. */
static unsigned spv_check_request(const cwmp_msg *req, cwmp_reply *rep)
{
	char detail[300];
	bool nomem;

	if (key_too_long(req->u.spv.parameter_key)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "ParameterKey longer than 32 characters");
		return CWMP_FAULT_INVALID_ARGUMENTS;
	}
	const char *dup = first_duplicate(req->u.spv.v, req->u.spv.n, &nomem);
	if (nomem) {
		cwmp_reply_fault(rep, CWMP_FAULT_RESOURCES_EXCEEDED, NULL);
		return CWMP_FAULT_RESOURCES_EXCEEDED;
	}
	if (dup) {
		snprintf(detail, sizeof detail, "%.256s is given more than once", dup);
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, detail);
		return CWMP_FAULT_INVALID_ARGUMENTS;
	}
	return 0;
}

/*
 * A failed commit: deferred checks (unique keys) are about the parameters
 * of the instance the engine names; list each of those the request set.
 * Without one to name, the fault stands alone.
 */
static void spv_commit_fault(const cwmp_msg *req, cwmp_reply *rep, dm_errinfo *err)
{
	unsigned code = cwmp_fault_from_dm(err, CWMP_CTX_SET_PARAM);
	size_t pl = strlen(err->path);
	bool listed = false;

	if (!about_one_parameter(code) || pl == 0) {
		cwmp_reply_fault(rep, about_one_parameter(code) ? CWMP_FAULT_INVALID_ARGUMENTS : code, err->msg);
		return;
	}
	cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, NULL);
	for (size_t i = 0; i < req->u.spv.n; i++) {
		const char *name = req->u.spv.v[i].name;
		if (name && !strncmp(name, err->path, pl)) {
			cwmp_reply_spv_fault(rep, name, code, err->msg);
			listed = true;
		}
	}
	if (!listed)
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, err->msg);
}

void cwmp_rpc_set_parameter_values(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	spv_run r = {.a = a, .rep = rep};
	dm_errinfo err = {0};
	int rc;

	if (spv_check_request(req, rep) || cwmp_rpc_proxy_spv(a, req, rep))
		return;
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_WRITE, &a->origin, &r.t))) {
		dm_fault(rep, rc, &err, CWMP_CTX_OTHER);
		return;
	}
	r.auto_create = auto_create_enabled(a, r.t);
	/* every entry is tried, so that the fault lists every bad one */
	for (size_t i = 0; i < req->u.spv.n && !r.general; i++)
		set_one(&r, &req->u.spv.v[i]);
	if (r.n_bad || r.general) {
		dm_txn_abort(r.t);
		return;
	}
	if ((rc = commit_with_key(r.t, req->u.spv.parameter_key, &err))) {
		if (!err.code)
			err.code = rc;
		spv_commit_fault(req, rep, &err);
		return;
	}
	rep->msg.kind = CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE;
	rep->msg.u.status = 0; /* applied: none of our parameters waits for a reboot */
}

/* ---- AddObject (A.3.2.6) and DeleteObject (A.3.2.7) ------------------------ */

/*
 * The object names of both RPCs end in '.'; anything else is no object,
 * so 9005 (the name is invalid) rather than 9003. 0 or the fault given.
 */
static unsigned object_request_fault(const cwmp_msg *req, cwmp_reply *rep)
{
	const char *name = req->u.object.object_name;
	size_t n = name ? strlen(name) : 0;

	if (key_too_long(req->u.object.parameter_key)) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "ParameterKey longer than 32 characters");
		return CWMP_FAULT_INVALID_ARGUMENTS;
	}
	if (n == 0 || name[n - 1] != '.' || n > NAME_MAX_LEN) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_PARAMETER_NAME, "an object name ends in '.'");
		return CWMP_FAULT_INVALID_PARAMETER_NAME;
	}
	return 0;
}

/*
 * "Table.[alias]." asks for a new instance with that Alias (TR-069 3.6.1):
 * split it into the table path (into table) and the alias (into alias).
 * false when the name is a plain table path.
 */
static bool split_new_alias(const char *name, char *table, char *alias)
{
	size_t n = strlen(name);
	const char *open = NULL;

	strcpy(table, name);
	alias[0] = '\0';
	if (n < 4 || name[n - 2] != ']')
		return false;
	for (const char *p = name + n - 2; p > name && !open; p--)
		if (*p == '[' && p[-1] == '.')
			open = p;
	if (!open)
		return false;
	size_t tl = (size_t)(open - name), al = n - tl - 3; /* less "[", "]." */
	table[tl] = '\0';
	memcpy(alias, open + 1, al);
	alias[al] = '\0';
	return true;
}

/*
 * The instance "Table.[alias]." must not exist yet, and the name must be
 * one the ACS could address it by afterwards: the engine's reading of it
 * tells both (a malformed alias, or a table without Alias, is a bad name).
 * 0 or the fault given.
 */
static unsigned new_alias_fault(dm_txn *t, const char *name, cwmp_reply *rep)
{
	dm_errinfo err = {0};
	int rc = dm_resolve(t, DM_GRAMMAR_CWMP, name, DM_RESOLVE_OBJECTS, 0, ignore_item, NULL, &err);

	if (rc == DM_ERR_NOT_INSTANTIATED)
		return 0;
	if (rc == DM_OK) {
		cwmp_reply_fault(rep, CWMP_FAULT_INVALID_ARGUMENTS, "an instance with this Alias exists");
		return CWMP_FAULT_INVALID_ARGUMENTS;
	}
	dm_fault(rep, rc, &err, CWMP_CTX_ADD_OBJECT);
	return rep->msg.u.fault.code;
}

void cwmp_rpc_add_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	char table[NAME_MAX_LEN + 1], alias[NAME_MAX_LEN + 1];
	dm_errinfo err = {0};
	uint32_t inst = 0;
	dm_txn *t;
	int rc;

	if (object_request_fault(req, rep) || cwmp_rpc_proxy_object(a, req, rep))
		return;
	bool by_alias = split_new_alias(req->u.object.object_name, table, alias);
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_WRITE, &a->origin, &t))) {
		dm_fault(rep, rc, &err, CWMP_CTX_OTHER);
		return;
	}
	if (by_alias && new_alias_fault(t, req->u.object.object_name, rep)) {
		dm_txn_abort(t);
		return;
	}
	if ((rc = dm_add(t, table, by_alias ? alias : NULL, &inst, &err))) {
		dm_txn_abort(t);
		dm_fault(rep, rc, &err, CWMP_CTX_ADD_OBJECT);
		return;
	}
	if ((rc = commit_with_key(t, req->u.object.parameter_key, &err))) {
		dm_fault(rep, rc, &err, CWMP_CTX_ADD_OBJECT);
		return;
	}
	rep->msg.kind = CWMP_MSG_ADD_OBJECT_RESPONSE;
	rep->msg.u.add_object.instance = inst;
	rep->msg.u.add_object.status = 0;
}

void cwmp_rpc_delete_object(cwmp_agent *a, const cwmp_msg *req, cwmp_reply *rep)
{
	dm_errinfo err = {0};
	dm_txn *t;
	int rc;

	if (object_request_fault(req, rep) || cwmp_rpc_proxy_object(a, req, rep))
		return;
	if ((rc = cwmp_acs_txn_begin(a, DM_TXN_WRITE, &a->origin, &t))) {
		dm_fault(rep, rc, &err, CWMP_CTX_OTHER);
		return;
	}
	if ((rc = dm_delete(t, req->u.object.object_name, &err))) {
		dm_txn_abort(t);
		dm_fault(rep, rc, &err, CWMP_CTX_DELETE_OBJECT);
		return;
	}
	if ((rc = commit_with_key(t, req->u.object.parameter_key, &err))) {
		dm_fault(rep, rc, &err, CWMP_CTX_DELETE_OBJECT);
		return;
	}
	rep->msg.kind = CWMP_MSG_DELETE_OBJECT_RESPONSE;
	rep->msg.u.status = 0;
}
