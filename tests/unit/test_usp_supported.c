/*
 * test_usp_supported.c - GetSupportedDM and GetSupportedProtocol answered
 * from a real engine on the bundled datamodel/device2.xml: the request path
 * forms (supported notation, tables without "{i}.", instance numbers,
 * wildcards, search expressions), per-path errors, first_level_only and the
 * return_* flags, access, value types, value_change, command and event
 * arguments, unique key sets, and whole-tree counts equal to the schema's
 * own statistics; also on the official TR-181 USP file ($SHARED, default
 * ../shared) when present, timed. Read permissions (R-GSP.0) with a real
 * agent's role for a Controller it does not know.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "usp_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MODEL_URI "urn:broadband-forum-org:tr-181-2-19-1-usp"

typedef Usp__GetSupportedDMResp__RequestedObjectResult req_result;
typedef Usp__GetSupportedDMResp__SupportedObjectResult sup_obj;
typedef Usp__GetSupportedDMResp__SupportedParamResult sup_param;
typedef Usp__GetSupportedDMResp__SupportedCommandResult sup_cmd;
typedef Usp__GetSupportedDMResp__SupportedEventResult sup_event;

enum { FLAG_FIRST = 1, FLAG_CMDS = 2, FLAG_EVENTS = 4, FLAG_PARAMS = 8, FLAG_KEYS = 16, FLAG_ALL = 30 };

typedef struct fixture {
	char dir[64];
	dm_schema *schema;
	dm *d;
	usp_mem *mem;
	usp_ctl ctl;
	core_loop *loop;
	usp_agent *a;
	Usp__Response resp;
	Usp__Error err;
} fixture;

static dm_schema *bundled;

/* The factory defaults are written for the bundled model. */
static int open_on(fixture *f, dm_schema *s)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-gsdm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir};
	if (s == bundled)
		o.defaults_file = "datamodel/factory-defaults.txt";
	dm_errinfo err = {0};
	if (dm_open(s, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	f->schema = s;
	snprintf(f->ctl.endpoint_id, sizeof f->ctl.endpoint_id, "proto::controller-1");
	return 0;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	open_on(f, bundled);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	usp_mem_free(f->mem);
	if (f->a)
		usp_agent_stop(f->a);
	if (f->loop)
		core_loop_free(f->loop);
	dm_close(f->d);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	if (f->schema != bundled)
		dm_schema_free(f->schema);
	free(f);
	return 0;
}

/* Run one GetSupportedDM; the response stays in f until the next call. */
static int gsdm_paths(fixture *f, const char **paths, size_t n, unsigned flags)
{
	Usp__GetSupportedDM q = USP__GET_SUPPORTED_DM__INIT;
	q.obj_paths = (char **)paths;
	q.n_obj_paths = n;
	q.first_level_only = (flags & FLAG_FIRST) != 0;
	q.return_commands = (flags & FLAG_CMDS) != 0;
	q.return_events = (flags & FLAG_EVENTS) != 0;
	q.return_params = (flags & FLAG_PARAMS) != 0;
	q.return_unique_key_sets = (flags & FLAG_KEYS) != 0;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_GET_SUPPORTED_DM;
	rq.get_supported_dm = &q;
	Usp__Body body = USP__BODY__INIT;
	body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	body.request = &rq;
	Usp__Msg msg = USP__MSG__INIT;
	msg.body = &body;

	usp_mem_free(f->mem);
	f->mem = usp_mem_new();
	assert_non_null(f->mem);
	f->resp = (Usp__Response)USP__RESPONSE__INIT;
	f->err = (Usp__Error)USP__ERROR__INIT;
	usp_req_ctx c = {.d = f->d, .ctl = &f->ctl, .req = &msg, .mem = f->mem};
	int rc = usp_handle_get_supported_dm(&c, &f->resp, &f->err);
	if (!rc) {
		assert_int_equal(f->resp.resp_type_case, USP__RESPONSE__RESP_TYPE_GET_SUPPORTED_DM_RESP);
		/* every field is encodable */
		assert_true(usp__response__get_packed_size(&f->resp) > 0);
	}
	return rc;
}

static req_result *gsdm(fixture *f, const char *path, unsigned flags)
{
	const char *paths[] = {path};
	assert_int_equal(gsdm_paths(f, paths, 1, flags), 0);
	Usp__GetSupportedDMResp *r = f->resp.get_supported_dm_resp;
	assert_int_equal(r->n_req_obj_results, 1);
	assert_string_equal(r->req_obj_results[0]->req_obj_path, path);
	return r->req_obj_results[0];
}

static req_result *gsdm_ok(fixture *f, const char *path, unsigned flags)
{
	req_result *r = gsdm(f, path, flags);
	if (r->err_code)
		fail_msg("%s: %u %s", path, r->err_code, r->err_msg);
	assert_string_equal(r->data_model_inst_uri, MODEL_URI);
	return r;
}

static const sup_param *find_param(const sup_obj *o, const char *name)
{
	for (size_t i = 0; i < o->n_supported_params; i++)
		if (!strcmp(o->supported_params[i]->param_name, name))
			return o->supported_params[i];
	return NULL;
}

static const sup_cmd *find_cmd(const sup_obj *o, const char *name)
{
	for (size_t i = 0; i < o->n_supported_commands; i++)
		if (!strcmp(o->supported_commands[i]->command_name, name))
			return o->supported_commands[i];
	return NULL;
}

static const sup_obj *find_obj(const req_result *r, const char *path)
{
	for (size_t i = 0; i < r->n_supported_objs; i++)
		if (!strcmp(r->supported_objs[i]->supported_obj_path, path))
			return r->supported_objs[i];
	return NULL;
}

static bool has_name(char **names, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return true;
	return false;
}

/* ------------------------------------------------------------------------- */

static void test_first_level_only(void **state)
{
	fixture *f = *state;
	req_result *r = gsdm_ok(f, "Device.WiFi.", FLAG_FIRST | FLAG_ALL);
	const sup_obj *wifi = r->supported_objs[0];
	assert_string_equal(wifi->supported_obj_path, "Device.WiFi.");
	assert_false(wifi->is_multi_instance);
	assert_int_equal(wifi->access, USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY);
	const sup_param *p = find_param(wifi, "RadioNumberOfEntries");
	assert_non_null(p);
	assert_int_equal(p->access, USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_ONLY);
	assert_int_equal(p->value_type, USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_UNSIGNED_INT);
	assert_int_equal(p->value_change, USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED);
	/* output argument objects in supported notation, as TR-369's example */
	const sup_cmd *c = find_cmd(wifi, "NeighboringWiFiDiagnostic()");
	assert_non_null(c);
	assert_int_equal(c->command_type, USP__GET_SUPPORTED_DMRESP__CMD_TYPE__CMD_ASYNC);
	assert_int_equal(c->n_input_arg_names, 0);
	assert_string_equal(c->output_arg_names[0], "Status");
	assert_string_equal(c->output_arg_names[1], "Result.{i}.Radio");
	assert_true(has_name(c->output_arg_names, c->n_output_arg_names, "Result.{i}.DTIMPeriod"));
	assert_false(has_name(c->output_arg_names, c->n_output_arg_names, "Result.{i}."));
	const sup_cmd *reset = find_cmd(wifi, "Reset()");
	assert_non_null(reset);
	assert_int_equal(reset->command_type, USP__GET_SUPPORTED_DMRESP__CMD_TYPE__CMD_SYNC);

	/* then the immediate sub-objects: key sets, nothing else */
	const sup_obj *radio = find_obj(r, "Device.WiFi.Radio.{i}.");
	assert_non_null(radio);
	assert_true(radio->is_multi_instance);
	assert_int_equal(radio->n_supported_params + radio->n_supported_commands + radio->n_supported_events, 0);
	assert_int_equal(radio->n_unique_key_sets, 2);
	assert_string_equal(radio->unique_key_sets[0]->key_names[0], "Alias");
	assert_string_equal(radio->unique_key_sets[1]->key_names[0], "Name");
	for (size_t i = 1; i < r->n_supported_objs; i++) {
		const char *path = r->supported_objs[i]->supported_obj_path;
		assert_memory_equal(path, "Device.WiFi.", 12);
		/* exactly one more level */
		const char *rest = path + 12;
		const char *dot = strchr(rest, '.');
		assert_true(!dot[1] || !strcmp(dot + 1, "{i}."));
	}
}

static void test_flags_select_elements(void **state)
{
	fixture *f = *state;
	req_result *r = gsdm_ok(f, "Device.", FLAG_FIRST);
	const sup_obj *dev = r->supported_objs[0];
	assert_string_equal(dev->supported_obj_path, "Device.");
	assert_int_equal(dev->n_supported_params + dev->n_supported_commands + dev->n_supported_events +
				 dev->n_unique_key_sets,
			 0);
	assert_true(r->n_supported_objs > 10);

	r = gsdm_ok(f, "Device.", FLAG_FIRST | FLAG_EVENTS);
	dev = r->supported_objs[0];
	assert_int_equal(dev->n_supported_params + dev->n_supported_commands, 0);
	const sup_event *boot = NULL;
	for (size_t i = 0; i < dev->n_supported_events; i++)
		if (!strcmp(dev->supported_events[i]->event_name, "Boot!"))
			boot = dev->supported_events[i];
	assert_non_null(boot);
	assert_true(has_name(boot->arg_names, boot->n_arg_names, "CommandKey"));
	assert_true(has_name(boot->arg_names, boot->n_arg_names, "ParameterMap"));

	r = gsdm_ok(f, "Device.", FLAG_FIRST | FLAG_CMDS);
	dev = r->supported_objs[0];
	const sup_cmd *reboot = find_cmd(dev, "Reboot()");
	assert_non_null(reboot);
	assert_true(has_name(reboot->input_arg_names, reboot->n_input_arg_names, "Cause"));
	assert_int_equal(dev->n_supported_params + dev->n_supported_events, 0);
}

/* Each path form of a request names the same supported object. */
static void test_path_forms(void **state)
{
	fixture *f = *state;
	static const char *forms[] = {
		"Device.IP.Interface.",
		"Device.IP.Interface.{i}.",
		"Device.IP.Interface.1.",
		"Device.IP.Interface.*.",
		"Device.IP.Interface.[Name==\"lo\"].",
		"Device.IP.Interface.[Name==\"a.b]\"].",
	};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		req_result *r = gsdm_ok(f, forms[i], FLAG_FIRST | FLAG_KEYS);
		const sup_obj *o = r->supported_objs[0];
		assert_string_equal(o->supported_obj_path, "Device.IP.Interface.{i}.");
		assert_true(o->is_multi_instance);
		assert_int_equal(o->access, USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_ADD_DELETE);
		assert_int_equal(o->n_unique_key_sets, 2);
		assert_non_null(find_obj(r, "Device.IP.Interface.{i}.IPv4Address.{i}."));
	}
	req_result *r = gsdm_ok(f, "Device.IP.Interface.1.IPv4Address.1.", 0);
	assert_string_equal(r->supported_objs[0]->supported_obj_path, "Device.IP.Interface.{i}.IPv4Address.{i}.");
	r = gsdm_ok(f, "Device.IP.Interface.*.IPv4Address.", 0);
	assert_string_equal(r->supported_objs[0]->supported_obj_path, "Device.IP.Interface.{i}.IPv4Address.{i}.");
}

/* Errors are per path; the other paths of the request are still answered. */
static void test_path_errors(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *path;
		uint32_t code;
	} cases[] = {
		{"Device.Nope.", USP_ERR_INVALID_PATH},
		{"Device.IP.Interface", USP_ERR_INVALID_PATH},
		{"Device.IP.Interface.{i}.Nope", USP_ERR_INVALID_PATH},
		{"Device.Reboot", USP_ERR_INVALID_PATH}, /* a command without its "()" */
		{"Other.", USP_ERR_INVALID_PATH},
		{"", USP_ERR_INVALID_PATH},
		{"Device.IP.Interface.99.", USP_ERR_OBJECT_DOES_NOT_EXIST},
		{"Device.IP.Interface.1.IPv4Address.77.", USP_ERR_OBJECT_DOES_NOT_EXIST},
		{"Device.IP.Interface.[Name==\"none\"].IPv4Address.1.", USP_ERR_OBJECT_DOES_NOT_EXIST},
		{"Device.IP.Interface.{i}.IPv4Address.1.", USP_ERR_INVALID_PATH_SYNTAX},
		{"Device..IP.", USP_ERR_INVALID_PATH_SYNTAX},
		{"Device.IP.Interface.[Name==\"lo\".", USP_ERR_INVALID_PATH_SYNTAX},
		{"Device.IP.Interface.[Name==\"lo\"]x.", USP_ERR_INVALID_PATH_SYNTAX},
	};
	size_t n = sizeof cases / sizeof *cases;
	const char *paths[sizeof cases / sizeof *cases + 1];
	for (size_t i = 0; i < n; i++)
		paths[i] = cases[i].path;
	paths[n] = "Device.DeviceInfo.";
	assert_int_equal(gsdm_paths(f, paths, n + 1, FLAG_ALL), 0);
	Usp__GetSupportedDMResp *r = f->resp.get_supported_dm_resp;
	assert_int_equal(r->n_req_obj_results, n + 1);
	for (size_t i = 0; i < n; i++) {
		req_result *rr = r->req_obj_results[i];
		if (rr->err_code != cases[i].code)
			fail_msg("%s: got %u (%s), want %u", cases[i].path, rr->err_code, rr->err_msg, cases[i].code);
		assert_string_equal(rr->req_obj_path, cases[i].path);
		assert_true(rr->err_msg[0] != '\0');
		assert_int_equal(rr->n_supported_objs, 0);
	}
	assert_int_equal(r->req_obj_results[n]->err_code, 0);
	assert_string_equal(r->req_obj_results[n]->supported_objs[0]->supported_obj_path, "Device.DeviceInfo.");
}

/* A parameter, command or event path: its object with that element only,
 * whatever the flags say. */
static void test_element_paths(void **state)
{
	fixture *f = *state;
	req_result *r = gsdm_ok(f, "Device.IP.Interface.{i}.Name", 0);
	assert_int_equal(r->n_supported_objs, 1);
	const sup_obj *o = r->supported_objs[0];
	assert_string_equal(o->supported_obj_path, "Device.IP.Interface.{i}.");
	assert_true(o->is_multi_instance);
	assert_int_equal(o->n_supported_params, 1);
	assert_string_equal(o->supported_params[0]->param_name, "Name");
	assert_int_equal(o->n_supported_commands + o->n_supported_events + o->n_unique_key_sets, 0);

	r = gsdm_ok(f, "Device.IP.Interface.1.Reset()", FLAG_ALL);
	o = r->supported_objs[0];
	assert_int_equal(o->n_supported_commands, 1);
	assert_string_equal(o->supported_commands[0]->command_name, "Reset()");
	assert_int_equal(o->n_supported_params + o->n_supported_events + o->n_unique_key_sets, 0);

	r = gsdm_ok(f, "Device.Boot!", 0);
	o = r->supported_objs[0];
	assert_string_equal(o->supported_obj_path, "Device.");
	assert_int_equal(o->n_supported_events, 1);
	assert_string_equal(o->supported_events[0]->event_name, "Boot!");
	assert_string_equal(o->supported_events[0]->arg_names[0], "CommandKey");
	assert_int_equal(o->n_supported_params + o->n_supported_commands, 0);

	r = gsdm_ok(f, "Device.IP.Diagnostics.IPPing()", 0);
	const sup_cmd *c = r->supported_objs[0]->supported_commands[0];
	assert_int_equal(c->command_type, USP__GET_SUPPORTED_DMRESP__CMD_TYPE__CMD_ASYNC);
	assert_true(has_name(c->input_arg_names, c->n_input_arg_names, "Host"));
	assert_true(has_name(c->output_arg_names, c->n_output_arg_names, "AverageResponseTime"));
}

/* Access and types, one row per rule. */
static void test_param_access_and_types(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *path;
		Usp__GetSupportedDMResp__ParamAccessType access;
		Usp__GetSupportedDMResp__ParamValueType type;
		Usp__GetSupportedDMResp__ValueChangeType change;
	} rows[] = {
		{"Device.DeviceInfo.UpTime", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_ONLY,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_UNSIGNED_INT,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_WILL_IGNORE},
		{"Device.DeviceInfo.FirstUseDate", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_ONLY,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_DATE_TIME,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		{"Device.IP.Interface.{i}.Enable", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_BOOLEAN,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		{"Device.IP.Interface.{i}.LowerLayers", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_STRING,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		/* writeOnceReadOnly reads as PARAM_READ_WRITE (TR-369) */
		{"Device.LocalAgent.Request.{i}.Alias", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_STRING,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		{"Device.ManagementServer.DelayReboot", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_INT,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		{"Device.Ethernet.Interface.{i}.Stats.BytesSent",
		 USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_ONLY,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_UNSIGNED_LONG,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_WILL_IGNORE},
		{"Device.WiFi.Radio.{i}.CCARequest", USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_HEX_BINARY,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
		{"Device.LocalAgent.ControllerTrust.Challenge.{i}.Value",
		 USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
		 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_BASE_64,
		 USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		req_result *r = gsdm_ok(f, rows[i].path, 0);
		const sup_param *p = r->supported_objs[0]->supported_params[0];
		if (p->access != rows[i].access || p->value_type != rows[i].type || p->value_change != rows[i].change)
			fail_msg("%s: access %d type %d change %d", rows[i].path, p->access, p->value_type,
				 p->value_change);
	}
}

static void test_object_access_and_keys(void **state)
{
	fixture *f = *state;
	req_result *r = gsdm_ok(f, "Device.LocalAgent.Request.", FLAG_ALL);
	const sup_obj *o = r->supported_objs[0];
	assert_string_equal(o->supported_obj_path, "Device.LocalAgent.Request.{i}.");
	assert_true(o->is_multi_instance);
	assert_int_equal(o->access, USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY);
	assert_int_equal(o->n_unique_key_sets, 2);
	assert_int_equal(o->unique_key_sets[0]->n_key_names, 3);
	assert_string_equal(o->unique_key_sets[0]->key_names[0], "Originator");
	assert_string_equal(o->unique_key_sets[0]->key_names[1], "Command");
	assert_string_equal(o->unique_key_sets[0]->key_names[2], "CommandKey");
	assert_string_equal(o->unique_key_sets[1]->key_names[0], "Alias");
	assert_non_null(find_cmd(o, "Cancel()"));
	assert_int_equal(o->n_supported_params, 5);

	/* single-instance objects carry no key sets and are read-only */
	r = gsdm_ok(f, "Device.DeviceInfo.", FLAG_KEYS);
	assert_false(r->supported_objs[0]->is_multi_instance);
	assert_int_equal(r->supported_objs[0]->n_unique_key_sets, 0);
	assert_int_equal(r->supported_objs[0]->access, USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY);
}

typedef struct totals {
	unsigned objects, params, commands, events;
} totals;

static totals count(const req_result *r)
{
	totals t = {0};
	for (size_t i = 0; i < r->n_supported_objs; i++) {
		t.objects++;
		t.params += r->supported_objs[i]->n_supported_params;
		t.commands += r->supported_objs[i]->n_supported_commands;
		t.events += r->supported_objs[i]->n_supported_events;
	}
	return t;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The whole tree, in pre-order, with every element the schema counts. */
static void check_whole_tree(fixture *f, const char *what)
{
	dm_schema_stats st;
	dm_schema_get_stats(f->schema, &st);
	double best = 1e9;
	req_result *r = NULL;
	for (int i = 0; i < 5; i++) {
		double t0 = now_ms();
		r = gsdm_ok(f, "Device.", FLAG_ALL);
		double t = now_ms() - t0;
		best = t < best ? t : best;
	}
	totals t = count(r);
	print_message("%s: GetSupportedDM Device. -> %u objects, %u params, %u commands, %u events in %.2f ms "
		      "(%zu bytes encoded)\n",
		      what, t.objects, t.params, t.commands, t.events, best, usp__response__get_packed_size(&f->resp));
	assert_int_equal(t.objects, st.objects);
	assert_int_equal(t.params, st.parameters);
	assert_int_equal(t.commands, st.commands);
	assert_int_equal(t.events, st.events);
	assert_string_equal(r->supported_objs[0]->supported_obj_path, "Device.");
	/* each object comes after its parent */
	for (size_t i = 1; i < r->n_supported_objs; i++) {
		const dm_node *n = dm_schema_find(f->schema, r->supported_objs[i]->supported_obj_path);
		assert_non_null(n);
		const char *parent = dm_node_path(dm_node_parent(n));
		bool before = false;
		for (size_t j = i; j-- > 0 && !before;)
			before = !strcmp(r->supported_objs[j]->supported_obj_path, parent);
		assert_true(before);
	}
	/* the encoded response decodes to the same counts */
	size_t len = usp__response__get_packed_size(&f->resp);
	uint8_t *buf = malloc(len);
	assert_int_equal(usp__response__pack(&f->resp, buf), len);
	Usp__Response *back = usp__response__unpack(NULL, len, buf);
	assert_non_null(back);
	totals tb = count(back->get_supported_dm_resp->req_obj_results[0]);
	assert_memory_equal(&t, &tb, sizeof t);
	usp__response__free_unpacked(back, NULL);
	free(buf);

	/* without the return_* flags: objects only */
	r = gsdm_ok(f, "Device.", 0);
	t = count(r);
	assert_int_equal(t.objects, st.objects);
	assert_int_equal(t.params + t.commands + t.events, 0);
}

static void test_whole_bundled_tree(void **state)
{
	check_whole_tree(*state, "bundled device2.xml");
}

static const char *official_usp(char *buf, size_t n)
{
	const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
	snprintf(buf, n, "%s/bbf/tr-181-2-19-1-usp-full.xml", shared);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static void test_whole_official_usp_tree(void **state)
{
	char file[512];
	if (!official_usp(file, sizeof file)) {
		print_message("skipping: %s not readable (set SHARED to the shared dir)\n", file);
		skip();
	}
	dm_schema *s;
	dm_errinfo err = {0};
	if (dm_schema_load(file, &s, &err))
		fail_msg("%s", err.msg);
	fixture *f = calloc(1, sizeof *f);
	open_on(f, s);
	*state = f;
	dm_schema_stats st;
	dm_schema_get_stats(s, &st);
	assert_int_equal(st.objects, 822);
	assert_int_equal(st.parameters, 6722);
	assert_int_equal(st.commands, 179);
	assert_int_equal(st.events, 53);
	check_whole_tree(f, "official tr-181-2-19-1-usp");
	/* types the bundled model does not use */
	req_result *r = gsdm_ok(f, "Device.QoS.Queue.{i}.ShapingRate", 0);
	assert_int_equal(r->supported_objs[0]->supported_params[0]->value_type,
			 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_LONG);
	r = gsdm_ok(f, "Device.IoTCapability.{i}.LevelControl.Value", 0);
	assert_int_equal(r->supported_objs[0]->supported_params[0]->value_type,
			 USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_DECIMAL);
}

static int teardown_official(void **state)
{
	return *state ? teardown(state) : 0;
}


/* R-GSP.0: what the Controller may not read is absent. The Untrusted role
 * of the factory defaults reads the Challenge table's objects and only its
 * Alias and Description, and may execute RequestChallenge() but not read it. */
static void test_read_permissions(void **state)
{
	fixture *f = *state;
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	usp_options o = {.live_poll_ms = 1000};
	assert_int_equal(usp_agent_start(f->d, f->loop, &o, &f->a), DM_OK);
	snprintf(f->ctl.endpoint_id, sizeof f->ctl.endpoint_id, "proto::stranger");
	assert_int_equal(usp_trust_identify(f->a, &f->ctl), DM_OK);

	static const char *absent[] = {
		"Device.",
		"Device.IP.Interface.",
		"Device.LocalAgent.ControllerTrust.",
		"Device.LocalAgent.ControllerTrust.RequestChallenge()",
		"Device.LocalAgent.ControllerTrust.Challenge.{i}.Value",
	};
	for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
		req_result *r = gsdm(f, absent[i], FLAG_ALL);
		if (r->err_code != USP_ERR_INVALID_PATH)
			fail_msg("%s: %u", absent[i], r->err_code);
	}
	req_result *r = gsdm_ok(f, "Device.LocalAgent.ControllerTrust.Challenge.", FLAG_ALL);
	assert_int_equal(r->n_supported_objs, 1);
	const sup_obj *o2 = r->supported_objs[0];
	assert_string_equal(o2->supported_obj_path, "Device.LocalAgent.ControllerTrust.Challenge.{i}.");
	assert_int_equal(o2->n_supported_params, 2);
	assert_non_null(find_param(o2, "Alias"));
	assert_non_null(find_param(o2, "Description"));

}

static void test_no_paths(void **state)
{
	fixture *f = *state;
	assert_int_equal(gsdm_paths(f, NULL, 0, FLAG_ALL), 0);
	assert_int_equal(f->resp.get_supported_dm_resp->n_req_obj_results, 0);
}

static void test_supported_protocol(void **state)
{
	fixture *f = *state;
	Usp__GetSupportedProtocol q = USP__GET_SUPPORTED_PROTOCOL__INIT;
	q.controller_supported_protocol_versions = "1.3,1.4";
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_GET_SUPPORTED_PROTOCOL;
	rq.get_supported_protocol = &q;
	Usp__Body body = USP__BODY__INIT;
	body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	body.request = &rq;
	Usp__Msg msg = USP__MSG__INIT;
	msg.body = &body;
	f->mem = usp_mem_new();
	Usp__Response resp = USP__RESPONSE__INIT;
	Usp__Error err = USP__ERROR__INIT;
	usp_req_ctx c = {.d = f->d, .ctl = &f->ctl, .req = &msg, .mem = f->mem};
	assert_int_equal(usp_handle_get_supported_proto(&c, &resp, &err), 0);
	assert_int_equal(resp.resp_type_case, USP__RESPONSE__RESP_TYPE_GET_SUPPORTED_PROTOCOL_RESP);
	assert_string_equal(resp.get_supported_protocol_resp->agent_supported_protocol_versions,
			    "1.0,1.1,1.2,1.3,1.4");
}

static int group_setup(void **state)
{
	core_log_set_level(CORE_LOG_WARN);
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err))
		fail_msg("%s", err.msg);
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(bundled);
	return 0;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as duetd does: a vanished peer is a write error */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_level_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_select_elements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_element_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param_access_and_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_access_and_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_bundled_tree, setup, teardown),
		cmocka_unit_test_teardown(test_whole_official_usp_tree, teardown_official),
		cmocka_unit_test_setup_teardown(test_read_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_supported_protocol, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
