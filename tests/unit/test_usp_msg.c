/*
 * test_usp_msg.c - USP Msg handling end to end on a real engine (the bundled
 * Device:2 model and factory defaults in a fresh store): request Msgs built
 * with protobuf-c, handled by usp_msg_process as a full-access Controller,
 * and the decoded responses checked field by field against TR-369: Get,
 * Set, Add, Delete, GetInstances, malformed and unsupported messages,
 * responses that get no reply; plus the error table and response memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "usp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *schema;
static const usp_ctl ctl = {"proto::test-controller", 1, NULL};

typedef struct fixture {
	char dir[256];
	dm *d;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-usp-msg-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err = {0};
	assert_int_equal(dm_open(schema, &o, &f->d, &err), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dm_close(f->d);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- sending ------------------------------------------------------------ */

/* Handle raw bytes; the decoded reply, or NULL when none is due. */
static Usp__Msg *exchange_raw(fixture *f, const uint8_t *buf, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(usp_msg_process(NULL, f->d, &ctl, buf, len, &out, &out_len), 0);
	if (!out)
		return NULL;
	Usp__Msg *m = usp__msg__unpack(NULL, out_len, out);
	free(out);
	assert_non_null(m);
	assert_non_null(m->header);
	assert_non_null(m->body);
	return m;
}

static Usp__Msg *exchange(fixture *f, Usp__Body *b, const char *id, Usp__Header__MsgType type)
{
	Usp__Header h = USP__HEADER__INIT;
	h.msg_id = (char *)id;
	h.msg_type = type;
	Usp__Msg m = USP__MSG__INIT;
	m.header = &h;
	m.body = b;
	size_t len = usp__msg__get_packed_size(&m);
	uint8_t *buf = malloc(len + 1);
	usp__msg__pack(&m, buf);
	Usp__Msg *r = exchange_raw(f, buf, len);
	free(buf);
	return r;
}

static Usp__Msg *request(fixture *f, Usp__Request *rq, Usp__Header__MsgType type)
{
	Usp__Body b = USP__BODY__INIT;
	b.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	b.request = rq;
	Usp__Msg *r = exchange(f, &b, "req-42", type);
	assert_non_null(r);
	assert_string_equal(r->header->msg_id, "req-42"); /* R-MSG.9 */
	return r;
}

static Usp__Msg *do_get(fixture *f, const char *const *paths, size_t n, unsigned depth)
{
	Usp__Get g = USP__GET__INIT;
	g.n_param_paths = n;
	g.param_paths = (char **)paths;
	g.max_depth = depth;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	rq.get = &g;
	return request(f, &rq, USP__HEADER__MSG_TYPE__GET);
}

/* One parameter setting of a Set or Add; rows with the same obj are one
 * UpdateObject / CreateObject; param NULL: an object without settings. */
typedef struct setting {
	const char *obj, *param, *value;
	bool required;
} setting;

static size_t group_objects(const setting *s, size_t n, size_t *starts)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(s[i].obj, s[i - 1].obj))
			starts[k++] = i;
	starts[k] = n;
	return k;
}

static Usp__Msg *do_set(fixture *f, bool partial, const setting *s, size_t n)
{
	size_t starts[32], k = group_objects(s, n, starts);
	Usp__Set__UpdateObject objs[32], *objp[32];
	Usp__Set__UpdateParamSetting ps[64], *psp[64];
	for (size_t o = 0; o < k; o++) {
		usp__set__update_object__init(&objs[o]);
		objs[o].obj_path = (char *)s[starts[o]].obj;
		objs[o].param_settings = &psp[starts[o]];
		for (size_t i = starts[o]; i < starts[o + 1]; i++) {
			if (!s[i].param)
				continue;
			usp__set__update_param_setting__init(&ps[i]);
			ps[i].param = (char *)s[i].param;
			ps[i].value = (char *)s[i].value;
			ps[i].required = s[i].required;
			psp[starts[o] + objs[o].n_param_settings++] = &ps[i];
		}
		objp[o] = &objs[o];
	}
	Usp__Set st = USP__SET__INIT;
	st.allow_partial = partial;
	st.n_update_objs = k;
	st.update_objs = objp;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_SET;
	rq.set = &st;
	return request(f, &rq, USP__HEADER__MSG_TYPE__SET);
}

static Usp__Msg *do_add(fixture *f, bool partial, const setting *s, size_t n)
{
	size_t starts[32], k = group_objects(s, n, starts);
	Usp__Add__CreateObject objs[32], *objp[32];
	Usp__Add__CreateParamSetting ps[64], *psp[64];
	for (size_t o = 0; o < k; o++) {
		usp__add__create_object__init(&objs[o]);
		objs[o].obj_path = (char *)s[starts[o]].obj;
		objs[o].param_settings = &psp[starts[o]];
		for (size_t i = starts[o]; i < starts[o + 1]; i++) {
			if (!s[i].param)
				continue;
			usp__add__create_param_setting__init(&ps[i]);
			ps[i].param = (char *)s[i].param;
			ps[i].value = (char *)s[i].value;
			ps[i].required = s[i].required;
			psp[starts[o] + objs[o].n_param_settings++] = &ps[i];
		}
		objp[o] = &objs[o];
	}
	Usp__Add ad = USP__ADD__INIT;
	ad.allow_partial = partial;
	ad.n_create_objs = k;
	ad.create_objs = objp;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_ADD;
	rq.add = &ad;
	return request(f, &rq, USP__HEADER__MSG_TYPE__ADD);
}

static Usp__Msg *do_delete(fixture *f, bool partial, const char *const *paths, size_t n)
{
	Usp__Delete del = USP__DELETE__INIT;
	del.allow_partial = partial;
	del.n_obj_paths = n;
	del.obj_paths = (char **)paths;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_DELETE;
	rq.delete_ = &del;
	return request(f, &rq, USP__HEADER__MSG_TYPE__DELETE);
}

static Usp__Msg *do_instances(fixture *f, const char *const *paths, size_t n, bool first_level_only)
{
	Usp__GetInstances gi = USP__GET_INSTANCES__INIT;
	gi.n_obj_paths = n;
	gi.obj_paths = (char **)paths;
	gi.first_level_only = first_level_only;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_GET_INSTANCES;
	rq.get_instances = &gi;
	return request(f, &rq, USP__HEADER__MSG_TYPE__GET_INSTANCES);
}

/* ---- reading responses -------------------------------------------------- */

static const Usp__Response *response_of(const Usp__Msg *m, Usp__Header__MsgType type)
{
	assert_int_equal(m->header->msg_type, type);
	assert_int_equal(m->body->msg_body_case, USP__BODY__MSG_BODY_RESPONSE);
	return m->body->response;
}

static const Usp__Error *error_of(const Usp__Msg *m, uint32_t code)
{
	assert_int_equal(m->header->msg_type, USP__HEADER__MSG_TYPE__ERROR);
	assert_int_equal(m->body->msg_body_case, USP__BODY__MSG_BODY_ERROR);
	assert_int_equal(m->body->error->err_code, code);
	assert_true(m->body->error->err_msg[0] != 0);
	return m->body->error;
}

static const Usp__GetResp__ResolvedPathResult *resolved(const Usp__GetResp__RequestedPathResult *r,
							 const char *path)
{
	for (size_t i = 0; i < r->n_resolved_path_results; i++)
		if (!strcmp(r->resolved_path_results[i]->resolved_path, path))
			return r->resolved_path_results[i];
	return NULL;
}

static const char *result_param(const Usp__GetResp__ResolvedPathResult *r, const char *key)
{
	for (size_t i = 0; r && i < r->n_result_params; i++)
		if (!strcmp(r->result_params[i]->key, key))
			return r->result_params[i]->value;
	return NULL;
}

/* The value of one parameter through a Get. */
static char *get_one(fixture *f, const char *path)
{
	const char *paths[] = {path};
	Usp__Msg *m = do_get(f, paths, 1, 0);
	const Usp__GetResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp;
	char *v = NULL;
	const Usp__GetResp__RequestedPathResult *r = gr->req_path_results[0];
	if (r->err_code == 0 && r->n_resolved_path_results == 1 && r->resolved_path_results[0]->n_result_params == 1)
		v = strdup(r->resolved_path_results[0]->result_params[0]->value);
	usp__msg__free_unpacked(m, NULL);
	return v;
}

static void assert_value(fixture *f, const char *path, const char *expected)
{
	char *v = get_one(f, path);
	assert_non_null(v);
	assert_string_equal(v, expected);
	free(v);
}

static uint32_t get_error(fixture *f, const char *path)
{
	const char *paths[] = {path};
	Usp__Msg *m = do_get(f, paths, 1, 0);
	const Usp__GetResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp;
	assert_int_equal(gr->n_req_path_results, 1);
	uint32_t code = gr->req_path_results[0]->err_code;
	if (code)
		assert_int_equal(gr->req_path_results[0]->n_resolved_path_results, 0);
	usp__msg__free_unpacked(m, NULL);
	return code;
}

/* ---- Get ---------------------------------------------------------------- */

static void test_get_parameter(void **state)
{
	fixture *f = *state;
	const char *paths[] = {"Device.DeviceInfo.Manufacturer", "Device.DeviceInfo.ModelName"};
	Usp__Msg *m = do_get(f, paths, 2, 0);
	const Usp__GetResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp;
	assert_int_equal(gr->n_req_path_results, 2);
	const Usp__GetResp__RequestedPathResult *r = gr->req_path_results[0];
	assert_string_equal(r->requested_path, "Device.DeviceInfo.Manufacturer");
	assert_int_equal(r->err_code, 0);
	/* R-GET.2, R-GET.3: the parent object, and only that parameter */
	assert_int_equal(r->n_resolved_path_results, 1);
	assert_string_equal(r->resolved_path_results[0]->resolved_path, "Device.DeviceInfo.");
	assert_int_equal(r->resolved_path_results[0]->n_result_params, 1);
	assert_string_equal(result_param(r->resolved_path_results[0], "Manufacturer"), "Duet Networks");
	assert_string_equal(result_param(gr->req_path_results[1]->resolved_path_results[0], "ModelName"),
			    "DuetGW-1000");
	usp__msg__free_unpacked(m, NULL);
	/* hidden values read as "" */
	assert_value(f, "Device.ManagementServer.Password", "");
}

static void test_get_object_max_depth(void **state)
{
	fixture *f = *state;
	const char *paths[] = {"Device.IP."};
	/* max_depth 1: the object's own parameters only */
	Usp__Msg *m = do_get(f, paths, 1, 1);
	const Usp__GetResp__RequestedPathResult *r =
		response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp->req_path_results[0];
	assert_int_equal(r->err_code, 0);
	assert_int_equal(r->n_resolved_path_results, 1);
	assert_string_equal(result_param(resolved(r, "Device.IP."), "IPv4Capable"), "true");
	/* relative keys: no dotted sub-object names in an object's result */
	for (size_t i = 0; i < r->resolved_path_results[0]->n_result_params; i++)
		assert_null(strchr(r->resolved_path_results[0]->result_params[i]->key, '.'));
	usp__msg__free_unpacked(m, NULL);

	/* max_depth 2: first-level sub-objects too, one result each */
	m = do_get(f, paths, 1, 2);
	r = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp->req_path_results[0];
	assert_non_null(resolved(r, "Device.IP."));
	assert_string_equal(result_param(resolved(r, "Device.IP.Interface.1."), "Name"), "lo");
	assert_null(resolved(r, "Device.IP.Interface.1.IPv4Address.1."));
	size_t n2 = r->n_resolved_path_results;
	usp__msg__free_unpacked(m, NULL);

	/* max_depth 0: the whole tree */
	m = do_get(f, paths, 1, 0);
	r = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp->req_path_results[0];
	assert_true(r->n_resolved_path_results > n2);
	assert_string_equal(result_param(resolved(r, "Device.IP.Interface.1.IPv4Address.1."), "IPAddress"),
			    "127.0.0.1");
	assert_int_equal(result_param(resolved(r, "Device.IP.Interface.1."), "IPv4Address.1.IPAddress") == NULL,
			 1);
	usp__msg__free_unpacked(m, NULL);
}

static void test_get_wildcard_and_search(void **state)
{
	fixture *f = *state;
	const char *paths[] = {
		"Device.WiFi.SSID.*.SSID",
		"Device.WiFi.SSID.[SSID==\"Duet-5G\"].Name",
		"Device.WiFi.SSID.[SSID==\"nothing\"].",
		"Device.IP.Interface.[Alias==\"cpe-1\"].Name",
		"Device.WiFi.AccessPoint.1.SSIDReference+.SSID",
	};
	Usp__Msg *m = do_get(f, paths, 5, 0);
	const Usp__GetResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp;
	assert_int_equal(gr->n_req_path_results, 5);
	const Usp__GetResp__RequestedPathResult *r = gr->req_path_results[0];
	assert_int_equal(r->n_resolved_path_results, 2);
	assert_string_equal(r->resolved_path_results[0]->resolved_path, "Device.WiFi.SSID.1.");
	assert_string_equal(result_param(r->resolved_path_results[0], "SSID"), "Duet-2G");
	assert_string_equal(result_param(r->resolved_path_results[1], "SSID"), "Duet-5G");
	r = gr->req_path_results[1];
	assert_int_equal(r->n_resolved_path_results, 1);
	assert_string_equal(result_param(resolved(r, "Device.WiFi.SSID.2."), "Name"), "wlan1");
	/* R-GET.1a: a search that matches nothing is no error */
	assert_int_equal(gr->req_path_results[2]->err_code, 0);
	assert_int_equal(gr->req_path_results[2]->n_resolved_path_results, 0);
	/* unique-key addressing and reference following */
	assert_string_equal(result_param(resolved(gr->req_path_results[3], "Device.IP.Interface.1."), "Name"), "lo");
	assert_string_equal(result_param(resolved(gr->req_path_results[4], "Device.WiFi.SSID.1."), "SSID"),
			    "Duet-2G");
	usp__msg__free_unpacked(m, NULL);
}

static void test_get_errors(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *path;
		uint32_t code;
	} cases[] = {
		{"Device.Bogus.", USP_ERR_INVALID_PATH},
		{"Device.DeviceInfo.Bogus", USP_ERR_INVALID_PATH},
		{"Device.IP.Interface.9.", USP_ERR_INVALID_PATH},      /* R-GET.0 */
		{"Device.IP.Interface.9.Name", USP_ERR_INVALID_PATH},
		{"Device.IP.Interface.*.Bogus", USP_ERR_INVALID_PATH}, /* not in the supported model */
		{"Device.DeviceInfo..Manufacturer", USP_ERR_INVALID_PATH_SYNTAX},
		{"Device.Reboot()", USP_ERR_INVALID_PATH},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t code = get_error(f, cases[i].path);
		if (code != cases[i].code)
			fail_msg("%s: %u, expected %u", cases[i].path, code, cases[i].code);
	}
	/* one bad path does not fail the others */
	const char *paths[] = {"Device.Bogus", "Device.DeviceInfo.Manufacturer"};
	Usp__Msg *m = do_get(f, paths, 2, 0);
	const Usp__GetResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_RESP)->get_resp;
	assert_int_equal(gr->req_path_results[0]->err_code, USP_ERR_INVALID_PATH);
	assert_true(gr->req_path_results[0]->err_msg[0] != 0);
	assert_int_equal(gr->req_path_results[1]->err_code, 0);
	usp__msg__free_unpacked(m, NULL);
}

/* ---- Set ---------------------------------------------------------------- */

static const Usp__SetResp__UpdatedObjectResult *set_result(const Usp__Msg *m, size_t i)
{
	const Usp__SetResp *sr = response_of(m, USP__HEADER__MSG_TYPE__SET_RESP)->set_resp;
	assert_true(i < sr->n_updated_obj_results);
	return sr->updated_obj_results[i];
}

static void test_set_atomic(void **state)
{
	fixture *f = *state;
	const setting ok[] = {{"Device.DeviceInfo.", "FriendlyName", "Living room", true},
			      {"Device.DeviceInfo.", "Bogus", "x", false}};
	Usp__Msg *m = do_set(f, false, ok, 2);
	const Usp__SetResp__UpdatedObjectResult *r = set_result(m, 0);
	assert_string_equal(r->requested_path, "Device.DeviceInfo.");
	assert_int_equal(r->oper_status->oper_status_case,
			 USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS);
	const Usp__SetResp__UpdatedInstanceResult *ir = r->oper_status->oper_success->updated_inst_results[0];
	assert_string_equal(ir->affected_path, "Device.DeviceInfo.");
	assert_int_equal(ir->n_updated_params, 1);
	assert_string_equal(ir->updated_params[0]->key, "FriendlyName");
	assert_string_equal(ir->updated_params[0]->value, "Living room");
	/* a failed non-required parameter is reported, the object still updated */
	assert_int_equal(ir->n_param_errs, 1);
	assert_string_equal(ir->param_errs[0]->param, "Bogus");
	assert_int_equal(ir->param_errs[0]->err_code, USP_ERR_UNSUPPORTED_PARAM);
	usp__msg__free_unpacked(m, NULL);
	assert_value(f, "Device.DeviceInfo.FriendlyName", "Living room");

	/* a required failure fails the message: Error, nothing applied */
	const setting bad[] = {{"Device.DeviceInfo.", "FriendlyName", "Kitchen", true},
			       {"Device.ManagementServer.", "PeriodicInformInterval", "60", true},
			       {"Device.ManagementServer.", "PeriodicInformEnable", "maybe", true}};
	m = do_set(f, false, bad, 3);
	const Usp__Error *e = error_of(m, USP_ERR_REQUIRED_PARAM_FAILED);
	assert_int_equal(e->n_param_errs, 1);
	assert_string_equal(e->param_errs[0]->param_path, "Device.ManagementServer.PeriodicInformEnable");
	assert_int_equal(e->param_errs[0]->err_code, USP_ERR_INVALID_TYPE);
	usp__msg__free_unpacked(m, NULL);
	assert_value(f, "Device.DeviceInfo.FriendlyName", "Living room");
	assert_value(f, "Device.ManagementServer.PeriodicInformInterval", "3600");
}

static void test_set_param_error_codes(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *obj, *param, *value;
		uint32_t code;
	} cases[] = {
		{"Device.ManagementServer.", "PeriodicInformInterval", "abc", USP_ERR_INVALID_TYPE},
		{"Device.ManagementServer.", "PeriodicInformInterval", "0", USP_ERR_INVALID_VALUE},
		{"Device.DeviceInfo.", "Manufacturer", "ACME", USP_ERR_PARAM_NOT_WRITABLE},
		{"Device.DeviceInfo.", "NoSuchParam", "1", USP_ERR_UNSUPPORTED_PARAM},
		{"Device.IP.Interface.1.", "Alias", "again", USP_ERR_PARAM_NOT_WRITABLE}, /* writeOnceReadOnly */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const setting s[] = {{cases[i].obj, cases[i].param, cases[i].value, true}};
		Usp__Msg *m = do_set(f, false, s, 1);
		const Usp__Error *e = error_of(m, USP_ERR_REQUIRED_PARAM_FAILED);
		assert_int_equal(e->n_param_errs, 1);
		if (e->param_errs[0]->err_code != cases[i].code)
			fail_msg("%s%s=%s: %u, expected %u", cases[i].obj, cases[i].param, cases[i].value,
				 e->param_errs[0]->err_code, cases[i].code);
		usp__msg__free_unpacked(m, NULL);
	}
	/* object-level failures */
	const setting nopath[] = {{"Device.Bogus.", "X", "1", true}};
	Usp__Msg *m = do_set(f, false, nopath, 1);
	const Usp__Error *e = error_of(m, USP_ERR_INVALID_PATH);
	assert_int_equal(e->n_param_errs, 1);
	assert_string_equal(e->param_errs[0]->param_path, "Device.Bogus.");
	usp__msg__free_unpacked(m, NULL);
	const setting noinst[] = {{"Device.IP.Interface.7.", "Enable", "true", true}};
	m = do_set(f, false, noinst, 1);
	error_of(m, USP_ERR_OBJECT_DOES_NOT_EXIST);
	usp__msg__free_unpacked(m, NULL);
}

static void test_set_partial(void **state)
{
	fixture *f = *state;
	const setting s[] = {
		{"Device.DeviceInfo.", "FriendlyName", "Hall", true},
		{"Device.ManagementServer.", "PeriodicInformEnable", "false", true},
		{"Device.ManagementServer.", "PeriodicInformInterval", "abc", true},
		{"Device.Bogus.", "X", "1", false},
		{"Device.WiFi.SSID.*.", "Enable", "false", true},
		{"Device.WiFi.SSID.[SSID==\"none\"].", "Enable", "true", true},
	};
	Usp__Msg *m = do_set(f, true, s, 6);
	const Usp__SetResp *sr = response_of(m, USP__HEADER__MSG_TYPE__SET_RESP)->set_resp;
	assert_int_equal(sr->n_updated_obj_results, 5);
	assert_int_equal(set_result(m, 0)->oper_status->oper_status_case,
			 USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS);
	/* a required parameter failed: the object failed, with the reason */
	const Usp__SetResp__UpdatedObjectResult__OperationStatus *st = set_result(m, 1)->oper_status;
	assert_int_equal(st->oper_status_case,
			 USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE);
	assert_int_equal(st->oper_failure->err_code, USP_ERR_REQUIRED_PARAM_FAILED);
	assert_int_equal(st->oper_failure->n_updated_inst_failures, 1);
	const Usp__SetResp__UpdatedInstanceFailure *fl = st->oper_failure->updated_inst_failures[0];
	assert_string_equal(fl->affected_path, "Device.ManagementServer.");
	assert_int_equal(fl->n_param_errs, 1);
	assert_string_equal(fl->param_errs[0]->param, "PeriodicInformInterval");
	assert_int_equal(fl->param_errs[0]->err_code, USP_ERR_INVALID_TYPE);
	st = set_result(m, 2)->oper_status;
	assert_int_equal(st->oper_failure->err_code, USP_ERR_INVALID_PATH);
	/* a wildcard updates every instance; a search matching none succeeds */
	st = set_result(m, 3)->oper_status;
	assert_int_equal(st->oper_success->n_updated_inst_results, 2);
	assert_string_equal(st->oper_success->updated_inst_results[1]->affected_path, "Device.WiFi.SSID.2.");
	st = set_result(m, 4)->oper_status;
	assert_int_equal(st->oper_status_case,
			 USP__SET_RESP__UPDATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS);
	assert_int_equal(st->oper_success->n_updated_inst_results, 0);
	usp__msg__free_unpacked(m, NULL);
	assert_value(f, "Device.DeviceInfo.FriendlyName", "Hall");
	/* the failed object was undone as a whole */
	assert_value(f, "Device.ManagementServer.PeriodicInformEnable", "true");
	assert_value(f, "Device.WiFi.SSID.2.Enable", "false");
}

/* ---- Add ---------------------------------------------------------------- */

static const Usp__AddResp__CreatedObjectResult__OperationStatus *add_status_of(const Usp__Msg *m, size_t i)
{
	const Usp__AddResp *ar = response_of(m, USP__HEADER__MSG_TYPE__ADD_RESP)->add_resp;
	assert_true(i < ar->n_created_obj_results);
	return ar->created_obj_results[i]->oper_status;
}

static const char *unique_key(const Usp__AddResp__CreatedObjectResult__OperationStatus__OperationSuccess *ok,
			      const char *key)
{
	for (size_t i = 0; i < ok->n_unique_keys; i++)
		if (!strcmp(ok->unique_keys[i]->key, key))
			return ok->unique_keys[i]->value;
	return NULL;
}

static void test_add(void **state)
{
	fixture *f = *state;
	const setting s[] = {{"Device.IP.Interface.", "Alias", "wan", true},
			     {"Device.IP.Interface.", "Enable", "true", true},
			     {"Device.IP.Interface.", "MaxMTUSize", "huge", false}};
	Usp__Msg *m = do_add(f, false, s, 3);
	const Usp__AddResp *ar = response_of(m, USP__HEADER__MSG_TYPE__ADD_RESP)->add_resp;
	assert_string_equal(ar->created_obj_results[0]->requested_path, "Device.IP.Interface.");
	const Usp__AddResp__CreatedObjectResult__OperationStatus *st = add_status_of(m, 0);
	assert_int_equal(st->oper_status_case,
			 USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS);
	assert_string_equal(st->oper_success->instantiated_path, "Device.IP.Interface.2.");
	/* R-ADD.5: every unique key, the ones the Agent chose too */
	assert_string_equal(unique_key(st->oper_success, "Alias"), "wan");
	assert_non_null(unique_key(st->oper_success, "Name"));
	/* R-ADD.4: the failed non-required setting */
	assert_int_equal(st->oper_success->n_param_errs, 1);
	assert_string_equal(st->oper_success->param_errs[0]->param, "MaxMTUSize");
	assert_int_equal(st->oper_success->param_errs[0]->err_code, USP_ERR_INVALID_TYPE);
	usp__msg__free_unpacked(m, NULL);
	assert_value(f, "Device.IP.Interface.2.Alias", "wan");
	assert_value(f, "Device.IP.Interface.2.Enable", "true");

	/* without settings: the Agent picks the alias */
	const setting bare[] = {{"Device.DNS.Client.Server.", NULL, NULL, false}};
	m = do_add(f, true, bare, 1);
	st = add_status_of(m, 0);
	assert_string_equal(st->oper_success->instantiated_path, "Device.DNS.Client.Server.1.");
	assert_string_equal(unique_key(st->oper_success, "Alias"), "cpe-1");
	usp__msg__free_unpacked(m, NULL);

	/* a wildcard parent: one result per table, same requested_path */
	const setting wild[] = {{"Device.IP.Interface.*.IPv4Address.", "IPAddress", "10.0.0.1", true}};
	m = do_add(f, false, wild, 1);
	ar = response_of(m, USP__HEADER__MSG_TYPE__ADD_RESP)->add_resp;
	assert_int_equal(ar->n_created_obj_results, 2);
	assert_string_equal(ar->created_obj_results[1]->oper_status->oper_success->instantiated_path,
			    "Device.IP.Interface.2.IPv4Address.1.");
	usp__msg__free_unpacked(m, NULL);
}

static void test_add_errors(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *obj, *param, *value;
		uint32_t code;
	} cases[] = {
		{"Device.DeviceInfo.", NULL, NULL, USP_ERR_NOT_A_TABLE},
		{"Device.IP.Interface.1.", NULL, NULL, USP_ERR_NOT_A_TABLE},
		{"Device.DeviceInfo.FirmwareImage.", NULL, NULL, USP_ERR_OBJECT_NOT_CREATABLE},
		{"Device.Bogus.", NULL, NULL, USP_ERR_INVALID_PATH},
		{"Device.IP.Interface.8.IPv4Address.", NULL, NULL, USP_ERR_OBJECT_DOES_NOT_EXIST},
		{"Device.IP.Interface.", "Alias", "cpe-1", USP_ERR_DUPLICATE_KEY},
		{"Device.IP.Interface.", "Enable", "perhaps", USP_ERR_REQUIRED_PARAM_FAILED},
	};
	for (int partial = 0; partial < 2; partial++) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			const setting s[] = {{cases[i].obj, cases[i].param, cases[i].value, true}};
			Usp__Msg *m = do_add(f, partial, s, 1);
			uint32_t code;
			if (partial) {
				const Usp__AddResp__CreatedObjectResult__OperationStatus *st = add_status_of(m, 0);
				assert_int_equal(st->oper_status_case,
						 USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE);
				code = st->oper_failure->err_code;
				assert_true(st->oper_failure->err_msg[0] != 0);
			} else {
				assert_int_equal(m->body->msg_body_case, USP__BODY__MSG_BODY_ERROR);
				code = m->body->error->err_code;
				assert_true(m->body->error->n_param_errs >= 1);
			}
			if (code != cases[i].code)
				fail_msg("%s %s (partial %d): %u, expected %u", cases[i].obj,
					 cases[i].param ? cases[i].param : "", partial, code, cases[i].code);
			usp__msg__free_unpacked(m, NULL);
		}
	}
	/* nothing of it was created */
	const char *paths[] = {"Device.IP.Interface."};
	Usp__Msg *m = do_instances(f, paths, 1, true);
	assert_int_equal(response_of(m, USP__HEADER__MSG_TYPE__GET_INSTANCES_RESP)
				 ->get_instances_resp->req_path_results[0]->n_curr_insts,
			 1);
	usp__msg__free_unpacked(m, NULL);
}

/* ---- Delete ------------------------------------------------------------- */

static const Usp__DeleteResp__DeletedObjectResult__OperationStatus *del_status_of(const Usp__Msg *m, size_t i)
{
	const Usp__DeleteResp *dr = response_of(m, USP__HEADER__MSG_TYPE__DELETE_RESP)->delete_resp;
	assert_true(i < dr->n_deleted_obj_results);
	return dr->deleted_obj_results[i]->oper_status;
}

static void add_dns_servers(fixture *f, int n)
{
	for (int i = 0; i < n; i++) {
		const setting s[] = {{"Device.DNS.Client.Server.", NULL, NULL, false}};
		usp__msg__free_unpacked(do_add(f, false, s, 1), NULL);
	}
}

static void test_delete(void **state)
{
	fixture *f = *state;
	add_dns_servers(f, 3);
	const char *paths[] = {"Device.DNS.Client.Server.2.", "Device.DNS.Client.Server.*.",
			       "Device.DNS.Client.Server.[Alias==\"none\"].", "Device.IP.Interface.1.IPv4Address.1."};
	Usp__Msg *m = do_delete(f, false, paths, 4);
	const Usp__DeleteResp__DeletedObjectResult__OperationStatus *st = del_status_of(m, 0);
	assert_int_equal(st->oper_success->n_affected_paths, 1);
	assert_string_equal(st->oper_success->affected_paths[0], "Device.DNS.Client.Server.2.");
	/* the wildcard was resolved with the request: 1, 2 and 3 */
	st = del_status_of(m, 1);
	assert_int_equal(st->oper_success->n_affected_paths, 3);
	assert_string_equal(st->oper_success->affected_paths[2], "Device.DNS.Client.Server.3.");
	st = del_status_of(m, 2); /* R-DEL.2a */
	assert_int_equal(st->oper_status_case,
			 USP__DELETE_RESP__DELETED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS);
	assert_int_equal(st->oper_success->n_affected_paths, 0);
	assert_int_equal(del_status_of(m, 3)->oper_success->n_affected_paths, 1);
	usp__msg__free_unpacked(m, NULL);
	assert_int_equal(get_error(f, "Device.IP.Interface.1.IPv4Address.1."), USP_ERR_INVALID_PATH);
	assert_int_equal(get_error(f, "Device.DNS.Client.Server.1."), USP_ERR_INVALID_PATH);
}

static void test_delete_failures(void **state)
{
	fixture *f = *state;
	add_dns_servers(f, 1);
	/* allow_partial=true: failures are reported per instance and path */
	const char *paths[] = {"Device.DeviceInfo.FirmwareImage.*.", "Device.DNS.Client.Server.1.",
			       "Device.IP.Interface.5.", "Device.DeviceInfo.", "Device.Bogus.1.",
			       "Device.IP.Interface."};
	Usp__Msg *m = do_delete(f, true, paths, 6);
	const Usp__DeleteResp__DeletedObjectResult__OperationStatus *st = del_status_of(m, 0);
	assert_int_equal(st->oper_success->n_affected_paths, 0);
	assert_int_equal(st->oper_success->n_unaffected_path_errs, 2);
	assert_string_equal(st->oper_success->unaffected_path_errs[0]->unaffected_path,
			    "Device.DeviceInfo.FirmwareImage.1.");
	assert_int_equal(st->oper_success->unaffected_path_errs[0]->err_code, USP_ERR_DELETE_FAILURE);
	assert_int_equal(del_status_of(m, 1)->oper_success->n_affected_paths, 1);
	st = del_status_of(m, 2); /* R-DEL.2a */
	assert_int_equal(st->oper_success->n_affected_paths, 0);
	assert_int_equal(del_status_of(m, 3)->oper_failure->err_code, USP_ERR_NOT_A_TABLE);
	assert_int_equal(del_status_of(m, 4)->oper_failure->err_code, USP_ERR_INVALID_PATH);
	assert_int_equal(del_status_of(m, 5)->oper_failure->err_code, USP_ERR_INVALID_PATH);
	usp__msg__free_unpacked(m, NULL);

	/* allow_partial=false: any failure is an Error and nothing is deleted */
	add_dns_servers(f, 1);
	static const struct {
		const char *path;
		uint32_t code;
	} cases[] = {
		{"Device.DeviceInfo.FirmwareImage.1.", USP_ERR_DELETE_FAILURE},
		{"Device.IP.Interface.5.", USP_ERR_OBJECT_DOES_NOT_EXIST}, /* R-DEL.1 */
		{"Device.DeviceInfo.", USP_ERR_NOT_A_TABLE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *two[] = {"Device.DNS.Client.Server.2.", cases[i].path};
		m = do_delete(f, false, two, 2);
		const Usp__Error *e = error_of(m, cases[i].code);
		assert_int_equal(e->n_param_errs, 1);
		assert_string_equal(e->param_errs[0]->param_path, cases[i].path);
		usp__msg__free_unpacked(m, NULL);
	}
	assert_value(f, "Device.DNS.Client.Server.2.Alias", "cpe-2");
}

/* ---- GetInstances ------------------------------------------------------- */

static void test_get_instances(void **state)
{
	fixture *f = *state;
	const char *paths[] = {"Device.WiFi.SSID.", "Device.IP.Interface."};
	Usp__Msg *m = do_instances(f, paths, 2, true);
	const Usp__GetInstancesResp *gr = response_of(m, USP__HEADER__MSG_TYPE__GET_INSTANCES_RESP)->get_instances_resp;
	const Usp__GetInstancesResp__RequestedPathResult *r = gr->req_path_results[0];
	assert_int_equal(r->err_code, 0);
	assert_int_equal(r->n_curr_insts, 2);
	const Usp__GetInstancesResp__CurrInstance *ci = r->curr_insts[1];
	assert_string_equal(ci->instantiated_obj_path, "Device.WiFi.SSID.2.");
	/* every unique key of every key set, once */
	assert_int_equal(ci->n_unique_keys, 3);
	bool bssid = false;
	for (size_t i = 0; i < ci->n_unique_keys; i++)
		if (!strcmp(ci->unique_keys[i]->key, "BSSID"))
			bssid = !strcmp(ci->unique_keys[i]->value, "02:d0:e7:00:01:20");
	assert_true(bssid);
	assert_int_equal(gr->req_path_results[1]->n_curr_insts, 1);
	usp__msg__free_unpacked(m, NULL);

	/* first_level_only=false: sub-table instances after each instance */
	m = do_instances(f, paths + 1, 1, false);
	r = response_of(m, USP__HEADER__MSG_TYPE__GET_INSTANCES_RESP)->get_instances_resp->req_path_results[0];
	assert_int_equal(r->n_curr_insts, 3);
	assert_string_equal(r->curr_insts[0]->instantiated_obj_path, "Device.IP.Interface.1.");
	assert_string_equal(r->curr_insts[1]->instantiated_obj_path, "Device.IP.Interface.1.IPv4Address.1.");
	assert_string_equal(r->curr_insts[2]->instantiated_obj_path, "Device.IP.Interface.1.IPv6Address.1.");
	usp__msg__free_unpacked(m, NULL);

	const char *bad[] = {"Device.DeviceInfo.", "Device.Bogus.", "Device.IP.Interface.7.",
			     "Device.WiFi.SSID.[Name==\"wlan1\"]."};
	m = do_instances(f, bad, 4, true);
	gr = response_of(m, USP__HEADER__MSG_TYPE__GET_INSTANCES_RESP)->get_instances_resp;
	assert_int_equal(gr->req_path_results[0]->err_code, USP_ERR_NOT_A_TABLE);
	assert_int_equal(gr->req_path_results[1]->err_code, USP_ERR_INVALID_PATH);
	assert_int_equal(gr->req_path_results[2]->err_code, USP_ERR_OBJECT_DOES_NOT_EXIST);
	assert_int_equal(gr->req_path_results[3]->err_code, 0);
	assert_int_equal(gr->req_path_results[3]->n_curr_insts, 1);
	assert_string_equal(gr->req_path_results[3]->curr_insts[0]->instantiated_obj_path, "Device.WiFi.SSID.2.");
	usp__msg__free_unpacked(m, NULL);
}

/* ---- message level ------------------------------------------------------ */

static void test_malformed(void **state)
{
	fixture *f = *state;
	/* unreadable: no msg_id, no reply */
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
	assert_null(exchange_raw(f, junk, sizeof junk));
	/* a readable header before a broken body: Error with that msg_id */
	static const uint8_t broken[] = {0x0a, 0x05, 0x0a, 0x03, 'm', '-', '1', 0x12, 0x7f, 0x00};
	Usp__Msg *m = exchange_raw(f, broken, sizeof broken);
	assert_non_null(m);
	assert_string_equal(m->header->msg_id, "m-1");
	error_of(m, USP_ERR_INVALID_ARGUMENTS);
	usp__msg__free_unpacked(m, NULL);
	/* a header and no body */
	static const uint8_t nobody[] = {0x0a, 0x05, 0x0a, 0x03, 'm', '-', '2'};
	m = exchange_raw(f, nobody, sizeof nobody);
	assert_string_equal(m->header->msg_id, "m-2");
	error_of(m, USP_ERR_INVALID_ARGUMENTS);
	usp__msg__free_unpacked(m, NULL);
	/* a request with no request type set */
	Usp__Request rq = USP__REQUEST__INIT;
	m = request(f, &rq, USP__HEADER__MSG_TYPE__GET);
	error_of(m, USP_ERR_MESSAGE_NOT_SUPPORTED);
	usp__msg__free_unpacked(m, NULL);
	/* a string that is not UTF-8 (protobuf-c decodes it all the same): the
	 * Msg is undecodable, answered by its msg_id, never echoed back */
	char *bad_path[] = {"Device.DeviceInfo.\xff."};
	Usp__Get g = USP__GET__INIT;
	g.n_param_paths = 1;
	g.param_paths = bad_path;
	Usp__Request get = USP__REQUEST__INIT;
	get.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	get.get = &g;
	m = request(f, &get, USP__HEADER__MSG_TYPE__GET);
	error_of(m, USP_ERR_INVALID_ARGUMENTS);
	usp__msg__free_unpacked(m, NULL);
	/* ... and without a msg_id that is text, not answered at all */
	Usp__Body b = USP__BODY__INIT;
	b.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	b.request = &get;
	assert_null(exchange(f, &b, "m-\xc0\x80", USP__HEADER__MSG_TYPE__GET));
}

static void test_unsupported_and_responses(void **state)
{
	fixture *f = *state;
	/* Register goes from an Agent to a Controller (or Broker) */
	Usp__Register reg = USP__REGISTER__INIT;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_REGISTER;
	rq.register_ = &reg;
	Usp__Msg *m = request(f, &rq, USP__HEADER__MSG_TYPE__REGISTER);
	error_of(m, USP_ERR_MESSAGE_NOT_SUPPORTED);
	usp__msg__free_unpacked(m, NULL);

	/* a NotifyResp settles a Notify: no reply */
	Usp__NotifyResp nr = USP__NOTIFY_RESP__INIT;
	nr.subscription_id = "sub-1";
	Usp__Response resp = USP__RESPONSE__INIT;
	resp.resp_type_case = USP__RESPONSE__RESP_TYPE_NOTIFY_RESP;
	resp.notify_resp = &nr;
	Usp__Body b = USP__BODY__INIT;
	b.msg_body_case = USP__BODY__MSG_BODY_RESPONSE;
	b.response = &resp;
	assert_null(exchange(f, &b, "notify-7", USP__HEADER__MSG_TYPE__NOTIFY_RESP));

	/* an Error from a Controller is logged, not answered */
	Usp__Error err = USP__ERROR__INIT;
	err.err_code = USP_ERR_MESSAGE_FAILED;
	err.err_msg = "no";
	Usp__Body eb = USP__BODY__INIT;
	eb.msg_body_case = USP__BODY__MSG_BODY_ERROR;
	eb.error = &err;
	assert_null(exchange(f, &eb, "notify-8", USP__HEADER__MSG_TYPE__ERROR));
}

static int reset_done(void *ctx, dm_request *r)
{
	(*(int *)ctx)++;
	return dm_request_complete(r, DM_OK, NULL, 0, NULL);
}

static Usp__Msg *do_operate(fixture *f, const char *cmd, bool send_resp)
{
	Usp__Operate op = USP__OPERATE__INIT;
	op.command = (char *)cmd;
	op.command_key = "k1";
	op.send_resp = send_resp;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_OPERATE;
	rq.operate = &op;
	Usp__Body b = USP__BODY__INIT;
	b.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	b.request = &rq;
	return exchange(f, &b, "op-1", USP__HEADER__MSG_TYPE__OPERATE);
}

static void test_no_response_due(void **state)
{
	fixture *f = *state;
	int runs = 0;
	assert_int_equal(dm_command_register(f->d, "Device.WiFi.Reset()", reset_done, &runs), DM_OK);
	/* a handler may carry a request out with nothing to answer */
	assert_null(do_operate(f, "Device.WiFi.Reset()", false));
	assert_int_equal(runs, 1);
	Usp__Msg *m = do_operate(f, "Device.WiFi.Reset()", true);
	assert_non_null(m);
	response_of(m, USP__HEADER__MSG_TYPE__OPERATE_RESP);
	usp__msg__free_unpacked(m, NULL);
	assert_int_equal(runs, 2);
}

/* ---- error table and response memory ------------------------------------ */

static void test_error_table(void **state)
{
	(void)state;
	static const struct {
		int err;
		dm_value_reason reason;
		usp_op op;
		bool param;
		uint32_t code;
	} rows[] = {
		{DM_ERR_NOT_IN_SCHEMA, 0, USP_OP_GET, false, 7026},
		{DM_ERR_NOT_IN_SCHEMA, 0, USP_OP_SET, true, 7010},
		{DM_ERR_NOT_IN_SCHEMA, 0, USP_OP_ADD, false, 7026},
		{DM_ERR_SYNTAX, 0, USP_OP_DELETE, false, 7008},
		{DM_ERR_NOT_INSTANTIATED, 0, USP_OP_GET, false, 7026},
		{DM_ERR_NOT_INSTANTIATED, 0, USP_OP_DELETE, false, 7016},
		{DM_ERR_NOT_WRITABLE, 0, USP_OP_SET, true, 7013},
		{DM_ERR_NOT_WRITABLE, 0, USP_OP_ADD, false, 7019},
		{DM_ERR_NOT_WRITABLE, 0, USP_OP_DELETE, false, 7024},
		{DM_ERR_INVALID_VALUE, DM_REASON_RANGE, USP_OP_SET, true, 7012},
		{DM_ERR_INVALID_VALUE, DM_REASON_TYPE, USP_OP_ADD, true, 7011},
		{DM_ERR_UNIQUE_KEY, 0, USP_OP_ADD, false, 7025},
		{DM_ERR_MAX_ENTRIES, 0, USP_OP_ADD, false, 7017},
		{DM_ERR_MIN_ENTRIES, 0, USP_OP_DELETE, false, 7024},
		{DM_ERR_NOT_TABLE, 0, USP_OP_GET_INSTANCES, false, 7018},
		{DM_ERR_STORE, 0, USP_OP_SET, false, 7003},
		{DM_ERR_DISK_FULL, 0, USP_OP_ADD, false, 7005},
		{DM_ERR_INVALID_ARG, 0, USP_OP_OPERATE, false, 7027},
		{DM_OK, 0, USP_OP_GET, false, 0},
		{-999, 0, USP_OP_GET, false, 7003},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		dm_errinfo e = {.code = rows[i].err, .reason = rows[i].reason};
		uint32_t code = usp_err_code_ex(&e, rows[i].op, rows[i].param);
		if (code != rows[i].code)
			fail_msg("row %zu: %u, expected %u", i, code, rows[i].code);
	}
	assert_int_equal(usp_err_code(DM_ERR_NOT_WRITABLE, USP_OP_SET), 7020);
	/* every engine code has a row: none falls back to the default */
	for (int err = DM_ERR_NOMEM; err >= DM_ERR_NOT_SUPPORTED; err--)
		for (int op = USP_OP_GET; op <= USP_OP_NOTIFY; op++)
			assert_true(usp_err_code(err, (usp_op)op) >= 7000);
	assert_string_equal(usp_err_text(7026), "Invalid path");
	assert_string_equal(usp_err_text(7100), "Record could not be parsed");
	assert_string_equal(usp_err_text(7850), "Vendor defined error");
}

static void test_mem(void **state)
{
	(void)state;
	usp_mem *m = usp_mem_new();
	assert_non_null(m);
	void **arr = NULL;
	size_t n = 0;
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(usp_mem_push(m, &arr, &n, (void *)(i + 1)), 0);
	assert_int_equal(n, 5000);
	for (size_t i = 0; i < n; i++)
		assert_true(arr[i] == (void *)(i + 1));
	char *big = usp_mem_alloc(m, 100000);
	assert_non_null(big);
	for (size_t i = 0; i < 100000; i++)
		assert_int_equal(big[i], 0);
	assert_string_equal(usp_mem_printf(m, "%s-%d", "x", 42), "x-42");
	Usp__GetResp *gr = usp_mem_new_msg(m, &usp__get_resp__descriptor);
	assert_non_null(gr);
	assert_int_equal(usp__get_resp__get_packed_size(gr), 0);
	usp_mem_free(m);
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &schema, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return 1;
	}
	core_log_set_level(CORE_LOG_ERROR); /* malformed input is logged as a warning */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_parameter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_object_max_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_wildcard_and_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_param_error_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_and_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_response_due, setup, teardown),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_mem),
	};
	int rc = cmocka_run_group_tests_name("usp_msg", tests, NULL, NULL);
	dm_schema_free(schema);
	return rc;
}
