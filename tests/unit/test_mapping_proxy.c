/*
 * test_mapping_proxy.c - mapping/proxy.c, the USP Broker's registry, on the
 * bundled schema (datamodel/device2.xml and its Device.X_DUET_Sensor.{i}.
 * test object): the Register grammar and overlap rules with their TR-369
 * codes, Deregister, lookups, requests through a fake forwarder (answer,
 * cancel, a Service that goes away, a registry that stops, requests that
 * span Services), and the names a GetParameterNames-style listing derives
 * from values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SENSOR "Device.X_DUET_Sensor."

static dm_schema *schema;

/* ---- a fake forwarder ------------------------------------------------------- */

typedef struct fake_fwd {
	int start_rc;         /* what start returns */
	map_proxy_op *last;   /* the op start saw last */
	map_proxy_kind kind;
	size_t started, forgotten;
} fake_fwd;

static int fake_start(void *fwd, map_proxy_op *op, const map_proxy_req *req)
{
	fake_fwd *f = fwd;

	if (f->start_rc)
		return f->start_rc;
	f->last = op;
	f->kind = req->kind;
	f->started++;
	return DM_OK;
}

static void fake_forget(void *fwd, map_proxy_op *op)
{
	fake_fwd *f = fwd;

	if (f->last == op)
		f->last = NULL;
	f->forgotten++;
}

static const map_proxy_fwd_ops fake_ops = {.start = fake_start, .forget = fake_forget};

/* What a requester's callback saw. */
typedef struct seen {
	int calls;
	int status;
	uint32_t usp_err;
	char msg[128];
	size_t n_params;
	char first[128];
	uint32_t instance;
} seen;

static void on_done(void *ctx, const map_proxy_result *r)
{
	seen *s = ctx;

	s->calls++;
	s->status = r->status;
	s->usp_err = r->usp_err;
	snprintf(s->msg, sizeof s->msg, "%s", r->msg ? r->msg : "(null)");
	s->n_params = r->n_params;
	snprintf(s->first, sizeof s->first, "%s", r->n_params ? r->params[0].path : "");
	s->instance = r->instance;
}

static map_proxy *new_registry(void)
{
	map_proxy *p = NULL;

	assert_int_equal(map_proxy_new(schema, &p), DM_OK);
	return p;
}

/* ---- registration -------------------------------------------------------------- */

static void test_register_rules(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0}, b = {0};
	const struct {
		const char *path;
		fake_fwd *who;
		map_proxy_reg want;
	} rows[] = {
		{SENSOR, &a, MAP_PROXY_REG_OK},
		{SENSOR, &a, MAP_PROXY_REG_OK}, /* again: still ok */
		{SENSOR, &b, MAP_PROXY_REG_IN_USE},
		{"Device.Hosts.", &b, MAP_PROXY_REG_OK},
		{"Device.Hosts.Host.", &a, MAP_PROXY_REG_IN_USE}, /* inside another's */
		{"Device.Hosts.Host.", &b, MAP_PROXY_REG_OVERLAP}, /* inside its own */
		{"Device.", &a, MAP_PROXY_REG_BAD_PATH},
		{SENSOR "1.", &b, MAP_PROXY_REG_BAD_PATH}, /* R-REG.2: no instance numbers */
		{SENSOR "{i}.", &b, MAP_PROXY_REG_BAD_PATH},
		{"Device.*.", &b, MAP_PROXY_REG_BAD_PATH},
		{"Device.Time", &b, MAP_PROXY_REG_BAD_PATH},
		{"Device..Time.", &b, MAP_PROXY_REG_BAD_PATH},
		{"Internet.Time.", &b, MAP_PROXY_REG_BAD_PATH},
		{"Device.NoSuchThing.", &b, MAP_PROXY_REG_NOT_IN_SCHEMA},
		{"Device.Time.Enable.", &b, MAP_PROXY_REG_NOT_IN_SCHEMA}, /* a parameter */
		{"Device.Time.", &b, MAP_PROXY_REG_OK},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		map_proxy_reg got = map_proxy_register(p, rows[i].path, "svc", &fake_ops, rows[i].who);
		if (got != rows[i].want)
			fail_msg("%s: %d (%s), expected %d", rows[i].path, got, map_proxy_reg_text(got), rows[i].want);
	}
	assert_int_equal(map_proxy_count(p), 3);
	/* "Device." above another's path is refused by grammar first; a
	 * parent object holding another Service's path is IN_USE */
	assert_int_equal(map_proxy_check(p, "Device.Hosts.", &a), MAP_PROXY_REG_IN_USE);
	map_proxy_free(p);
}

static void test_codes(void **state)
{
	(void)state;
	static const struct {
		map_proxy_reg r;
		uint32_t code;
	} rows[] = {
		{MAP_PROXY_REG_OK, 0},         {MAP_PROXY_REG_BAD_PATH, 7028},  {MAP_PROXY_REG_NOT_IN_SCHEMA, 7028},
		{MAP_PROXY_REG_IN_USE, 7029},  {MAP_PROXY_REG_OVERLAP, 7028},   {MAP_PROXY_REG_NOT_FOUND, 7030},
		{MAP_PROXY_REG_NOT_OWNER, 7031}, {MAP_PROXY_REG_NOMEM, 7005},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		assert_int_equal(map_proxy_reg_usp_err(rows[i].r), rows[i].code);
		assert_true(strlen(map_proxy_reg_text(rows[i].r)) > 0);
	}
}

static void collect(void *ctx, const char *path)
{
	char *buf = ctx;

	strcat(buf, path);
	strcat(buf, ";");
}

static void test_deregister(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0}, b = {0};
	char removed[256] = "";

	assert_int_equal(map_proxy_register(p, SENSOR, "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_register(p, "Device.Time.", "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_register(p, "Device.Hosts.", "b", &fake_ops, &b), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_deregister(p, "Device.Hosts.", &a), MAP_PROXY_REG_NOT_OWNER);
	assert_int_equal(map_proxy_deregister(p, "Device.DNS.", &a), MAP_PROXY_REG_NOT_FOUND);
	assert_int_equal(map_proxy_deregister(p, NULL, &a), MAP_PROXY_REG_NOT_FOUND);
	assert_int_equal(map_proxy_deregister(p, "Device.Time.", &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_register(p, "Device.Time.", "b", &fake_ops, &b), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_deregister_all(p, &b, collect, removed), 2);
	assert_string_equal(removed, "Device.Hosts.;Device.Time.;");
	assert_int_equal(map_proxy_count(p), 1);
	const char *owner = NULL;
	assert_string_equal(map_proxy_path(p, 0, &owner), SENSOR);
	assert_string_equal(owner, "a");
	assert_null(map_proxy_path(p, 1, NULL));
	map_proxy_free(p);
}

static void test_match(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0};
	void *fwd = NULL;

	assert_null(map_proxy_match(NULL, SENSOR "1.Name", NULL));
	assert_int_equal(map_proxy_register(p, SENSOR, "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_string_equal(map_proxy_match(p, SENSOR "1.Name", &fwd), SENSOR);
	assert_ptr_equal(fwd, &a);
	assert_string_equal(map_proxy_match(p, SENSOR "*.Value", NULL), SENSOR);
	assert_string_equal(map_proxy_match(p, SENSOR, NULL), SENSOR);
	assert_null(map_proxy_match(p, "Device.X_DUET_SensorX.1.", NULL));
	assert_null(map_proxy_match(p, "Device.", NULL));
	assert_null(map_proxy_match(p, "Device.X_DUET_Sensor", NULL));
	assert_non_null(map_proxy_node(p, SENSOR "7.Value"));
	assert_int_equal(dm_node_get_kind(map_proxy_node(p, SENSOR "7.Value")), DM_NODE_PARAM);
	assert_true(dm_node_is_table(map_proxy_node(p, SENSOR)));
	assert_null(map_proxy_node(p, SENSOR "7.Nope"));
	map_proxy_free(p);
}

/* ---- requests --------------------------------------------------------------------- */

static void test_request_answered(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0};
	seen s = {0};
	const char *path = SENSOR "1.";
	map_proxy_req req = {.kind = MAP_PROXY_GET, .paths = &path, .n_paths = 1};
	map_proxy_param vals[] = {{SENSOR "1.Name", "kitchen"}, {SENSOR "1.Value", "21"}};

	assert_int_equal(map_proxy_register(p, SENSOR, "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_start(p, &req, on_done, &s, NULL), DM_OK);
	assert_int_equal(a.started, 1);
	assert_int_equal(a.kind, MAP_PROXY_GET);
	assert_int_equal(s.calls, 0); /* never from inside start */
	map_proxy_finish(a.last, &(map_proxy_result){.params = vals, .n_params = 2});
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, DM_OK);
	assert_int_equal(s.n_params, 2);
	assert_string_equal(s.first, SENSOR "1.Name");
	/* a refusal without a text still says something */
	assert_int_equal(map_proxy_start(p, &req, on_done, &s, NULL), DM_OK);
	map_proxy_finish(a.last, &(map_proxy_result){.status = DM_ERR_PROVIDER, .usp_err = 7026});
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.usp_err, 7026);
	assert_true(strlen(s.msg) > 0);
	map_proxy_free(p);
}

static void test_request_routing(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0}, b = {0};
	seen s = {0};
	map_proxy_param two[] = {{SENSOR "1.Value", "1"}, {"Device.Time.NTPServer1", "x"}};
	map_proxy_req set = {.kind = MAP_PROXY_SET, .params = two, .n_params = 2};
	const char *local = "Device.DeviceInfo.UpTime";
	map_proxy_req get = {.kind = MAP_PROXY_GET, .paths = &local, .n_paths = 1};
	map_proxy_req none = {.kind = MAP_PROXY_GET};

	assert_int_equal(map_proxy_register(p, SENSOR, "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_register(p, "Device.Time.", "b", &fake_ops, &b), MAP_PROXY_REG_OK);
	/* one atomic SET cannot span two Services */
	assert_int_equal(map_proxy_start(p, &set, on_done, &s, NULL), DM_ERR_DENIED);
	assert_int_equal(map_proxy_start(p, &get, on_done, &s, NULL), DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(map_proxy_start(p, &none, on_done, &s, NULL), DM_ERR_INVALID_ARG);
	assert_int_equal(map_proxy_start(NULL, &get, on_done, &s, NULL), DM_ERR_INVALID_ARG);
	/* a forwarder that cannot start: the error, no callback ever */
	two[1].path = SENSOR "2.Value";
	a.start_rc = DM_ERR_NOMEM;
	assert_int_equal(map_proxy_start(p, &set, on_done, &s, NULL), DM_ERR_NOMEM);
	assert_int_equal(a.started + b.started, 0);
	map_proxy_free(p);
	assert_int_equal(s.calls, 0);
}

static void test_cancel_and_abandon(void **state)
{
	(void)state;
	map_proxy *p = new_registry();
	fake_fwd a = {0}, b = {0};
	seen s1 = {0}, s2 = {0}, s3 = {0};
	const char *pa = SENSOR "1.Name", *pb = "Device.Time.Enable";
	map_proxy_req ra = {.kind = MAP_PROXY_GET, .paths = &pa, .n_paths = 1};
	map_proxy_req rb = {.kind = MAP_PROXY_DELETE, .paths = &pb, .n_paths = 1};
	map_proxy_op *op = NULL;

	assert_int_equal(map_proxy_register(p, SENSOR, "a", &fake_ops, &a), MAP_PROXY_REG_OK);
	assert_int_equal(map_proxy_register(p, "Device.Time.", "b", &fake_ops, &b), MAP_PROXY_REG_OK);
	/* cancelled: the forwarder forgets it, the requester hears nothing */
	assert_int_equal(map_proxy_start(p, &ra, on_done, &s1, &op), DM_OK);
	map_proxy_cancel(op);
	map_proxy_cancel(NULL);
	assert_int_equal(a.forgotten, 1);
	assert_int_equal(s1.calls, 0);
	/* the Service goes away: its requests end with 7003, others stay */
	assert_int_equal(map_proxy_start(p, &ra, on_done, &s2, NULL), DM_OK);
	assert_int_equal(map_proxy_start(p, &rb, on_done, &s3, NULL), DM_OK);
	assert_int_equal(map_proxy_deregister_all(p, &a, NULL, NULL), 1);
	assert_int_equal(s2.calls, 1);
	assert_int_equal(s2.status, DM_ERR_INTERNAL);
	assert_int_equal(s2.usp_err, 7003);
	assert_int_equal(s3.calls, 0);
	assert_null(map_proxy_match(p, pa, NULL));
	/* the registry stops: what is left ends too */
	map_proxy_free(p);
	assert_int_equal(s3.calls, 1);
	assert_int_equal(s3.usp_err, 7003);
	assert_int_equal(b.forgotten, 1);
}

static void test_timeout_setting(void **state)
{
	(void)state;
	map_proxy *p = new_registry();

	assert_int_equal(map_proxy_timeout_ms(p), 5000);
	map_proxy_set_timeout_ms(p, 1500);
	assert_int_equal(map_proxy_timeout_ms(p), 1500);
	map_proxy_set_timeout_ms(p, 0);
	assert_int_equal(map_proxy_timeout_ms(p), 5000);
	map_proxy_free(p);
	map_proxy_free(NULL);
}

/* ---- names from values ------------------------------------------------------------- */

static void check_names(map_proxy *p, const char *base, bool next_level, const char *want)
{
	static const map_proxy_param vals[] = {
		{SENSOR "1.Name", "a"}, {SENSOR "1.Value", "1"}, {SENSOR "2.Name", "b"}, {"Device.Time.Enable", "x"},
	};
	map_proxy_name *names = NULL;
	size_t n = 0;
	char got[512] = "";

	assert_int_equal(map_proxy_names(p, base, vals, 4, next_level, &names, &n), DM_OK);
	for (size_t i = 0; i < n; i++) {
		strcat(got, names[i].path);
		strcat(got, names[i].node ? (dm_node_get_kind(names[i].node) == DM_NODE_PARAM ? "(p)" : "(o)") : "(?)");
		strcat(got, " ");
	}
	map_proxy_names_free(names, n);
	if (strcmp(got, want))
		fail_msg("%s%s:\n got  %s\n want %s", base, next_level ? " next level" : "", got, want);
}

static void test_names(void **state)
{
	(void)state;
	map_proxy *p = new_registry();

	check_names(p, SENSOR, false,
		    SENSOR "(o) " SENSOR "1.(o) " SENSOR "1.Name(p) " SENSOR "1.Value(p) " SENSOR "2.(o) " SENSOR
			   "2.Name(p) ");
	check_names(p, SENSOR, true, SENSOR "1.(o) " SENSOR "2.(o) ");
	check_names(p, SENSOR "1.", true, SENSOR "1.Name(p) " SENSOR "1.Value(p) ");
	check_names(p, SENSOR "1.Name", false, SENSOR "1.Name(p) ");
	check_names(p, SENSOR "1.Name", true, "");
	check_names(p, SENSOR "3.", false, SENSOR "3.(o) ");
	map_proxy_free(p);
}

int main(void)
{
	dm_errinfo err = {0};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_rules),   cmocka_unit_test(test_codes),
		cmocka_unit_test(test_deregister),       cmocka_unit_test(test_match),
		cmocka_unit_test(test_request_answered), cmocka_unit_test(test_request_routing),
		cmocka_unit_test(test_cancel_and_abandon), cmocka_unit_test(test_timeout_setting),
		cmocka_unit_test(test_names),
	};

	if (dm_schema_load("datamodel/device2.xml", &schema, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return 1;
	}
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(schema);
	return rc;
}
