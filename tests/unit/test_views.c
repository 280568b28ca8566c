/*
 * test_views.c - views on the bundled schema (datamodel/device2.xml): the
 * path arithmetic of dm_view_store/dm_view_show, and every engine call of a
 * transaction with a view (reads, writes, walks, searches, errors), checked
 * against the stored values a transaction without a view reads.
 *
 * The view under test is the one a CWMP manager needs: Device.USPAgent.
 * served from Device.LocalAgent. (EndpointID, MTP., Controller.), with
 * Device.LocalAgent. hidden; and one with a restriction (an alias onto
 * itself) as a USP manager needs for Device.ManagementServer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *bundled;

static const char *const defaults_text = "Device.LocalAgent.EndpointID proto::agent\n"
					 "Device.LocalAgent.Controller.1.EndpointID proto::a\n"
					 "Device.LocalAgent.Controller.2.EndpointID proto::b\n"
					 "Device.LocalAgent.Controller.2.Enable true\n"
					 "Device.ManagementServer.EnableCWMP true\n"
					 "Device.ManagementServer.URL http://acs.example/\n"
					 "Device.CWMPManagementServer.EnableCWMP false\n";

static const char *const agent_children[] = {"EndpointID", "MTP.", "Controller.", NULL};
static const char *const enable_only[] = {"EnableCWMP", NULL};

typedef struct fixture {
	char dir[256];
	dm *d;
	dm_view *acs;   /* USPAgent -> LocalAgent, LocalAgent hidden */
	dm_view *ctl;   /* CWMPManagementServer -> ManagementServer, ManagementServer restricted */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char defaults[300];
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-views-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(defaults, sizeof defaults, "%s/defaults.txt", f->dir);
	FILE *fp = fopen(defaults, "w");
	assert_non_null(fp);
	fputs(defaults_text, fp);
	fclose(fp);
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = defaults};
	dm_errinfo err = {0};
	assert_int_equal(dm_open(bundled, &o, &f->d, &err), DM_OK);

	assert_int_equal(dm_view_new(&f->acs), DM_OK);
	assert_int_equal(dm_view_alias(f->acs, "Device.USPAgent.", "Device.LocalAgent.", agent_children), DM_OK);
	assert_int_equal(dm_view_hide(f->acs, "Device.LocalAgent."), DM_OK);
	assert_int_equal(dm_view_new(&f->ctl), DM_OK);
	assert_int_equal(dm_view_alias(f->ctl, "Device.CWMPManagementServer.", "Device.ManagementServer.", enable_only),
			 DM_OK);
	assert_int_equal(dm_view_alias(f->ctl, "Device.ManagementServer.", "Device.ManagementServer.", enable_only),
			 DM_OK);
	assert_int_equal(dm_view_hide(f->ctl, "Device.ManagementServer."), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dm_close(f->d);
	dm_view_free(f->acs);
	dm_view_free(f->ctl);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static dm_txn *begin(fixture *f, dm_txn_mode mode, const dm_view *v)
{
	dm_origin o = {DM_ORIGIN_CWMP, "test"};
	dm_txn *t;
	assert_int_equal(dm_txn_begin(f->d, mode, &o, &t), DM_OK);
	dm_txn_set_view(t, v);
	return t;
}

/* The stored value, read without a view. */
static void assert_stored(fixture *f, const char *path, const char *want)
{
	char buf[256];
	dm_errinfo err = {0};
	if (dm_get_value_buf(f->d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

/* ---- path arithmetic ------------------------------------------------------------ */

typedef struct path_case {
	const char *in;
	int rc;
	const char *out;
} path_case;

static void test_store_and_show(void **state)
{
	fixture *f = *state;
	static const path_case store[] = {
		{"Device.USPAgent.EndpointID", 1, "Device.LocalAgent.EndpointID"},
		{"Device.USPAgent.", 1, "Device.LocalAgent."},
		{"Device.USPAgent.Controller.*.EndpointID", 1, "Device.LocalAgent.Controller.*.EndpointID"},
		{"Device.USPAgent.Controller.[Enable==true].", 1, "Device.LocalAgent.Controller.[Enable==true]."},
		{"Device.USPAgent.Controller.{i}.", 1, "Device.LocalAgent.Controller.{i}."},
		{"Device.USPAgent.Subscription.", 0, NULL},        /* not a listed child */
		{"Device.USPAgent.SoftwareVersion", 0, NULL},
		{"Device.USPAgent.MTPNumberOfEntries", 0, NULL},   /* "MTP." covers the object only */
		{"Device.LocalAgent.EndpointID", 0, NULL},         /* hidden */
		{"Device.LocalAgent.", 0, NULL},
		{"Device.DeviceInfo.HostName", 1, "Device.DeviceInfo.HostName"},
		{"Device.LocalAgentX.", 1, "Device.LocalAgentX."}, /* prefixes end at a dot */
	};
	static const path_case show[] = {
		{"Device.LocalAgent.EndpointID", 1, "Device.USPAgent.EndpointID"},
		{"Device.LocalAgent.Controller.{i}.MTP.{i}.", 1, "Device.USPAgent.Controller.{i}.MTP.{i}."},
		{"Device.LocalAgent.", 1, "Device.USPAgent."},
		{"Device.LocalAgent.Subscription.3.Enable", 0, NULL},
		{"Device.LocalAgent.UpTime", 0, NULL},
		{"Device.IP.Interface.1.Name", 1, "Device.IP.Interface.1.Name"},
	};
	char out[128];
	for (size_t i = 0; i < sizeof store / sizeof store[0]; i++) {
		int rc = dm_view_store(f->acs, store[i].in, out, sizeof out);
		if (rc != store[i].rc)
			fail_msg("store %s: %d, want %d", store[i].in, rc, store[i].rc);
		if (rc == 1)
			assert_string_equal(out, store[i].out);
	}
	for (size_t i = 0; i < sizeof show / sizeof show[0]; i++) {
		int rc = dm_view_show(f->acs, show[i].in, out, sizeof out);
		if (rc != show[i].rc)
			fail_msg("show %s: %d, want %d", show[i].in, rc, show[i].rc);
		if (rc == 1)
			assert_string_equal(out, show[i].out);
	}
	assert_int_equal(dm_view_store(f->acs, "Device.USPAgent.EndpointID", out, 10), DM_ERR_NOMEM);
	assert_int_equal(dm_view_show(NULL, "Device.LocalAgent.UpTime", out, sizeof out), 1);
	assert_string_equal(out, "Device.LocalAgent.UpTime");
}

static void test_restriction_by_an_alias_onto_itself(void **state)
{
	fixture *f = *state;
	char out[128];
	assert_int_equal(dm_view_store(f->ctl, "Device.ManagementServer.URL", out, sizeof out), 0);
	assert_int_equal(dm_view_store(f->ctl, "Device.ManagementServer.EnableCWMP", out, sizeof out), 1);
	assert_string_equal(out, "Device.ManagementServer.EnableCWMP");
	assert_int_equal(dm_view_store(f->ctl, "Device.CWMPManagementServer.EnableCWMP", out, sizeof out), 1);
	assert_string_equal(out, "Device.ManagementServer.EnableCWMP");
	/* the renaming alias is the name shown; the schema's own
	 * CWMPManagementServer object is shadowed by it */
	assert_int_equal(dm_view_show(f->ctl, "Device.ManagementServer.EnableCWMP", out, sizeof out), 1);
	assert_string_equal(out, "Device.CWMPManagementServer.EnableCWMP");
	assert_int_equal(dm_view_show(f->ctl, "Device.ManagementServer.URL", out, sizeof out), 0);
	assert_int_equal(dm_view_show(f->ctl, "Device.CWMPManagementServer.EnableCWMP", out, sizeof out), 0);
}

static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	static const char *const bad_child[] = {"MTP.Enable", NULL};
	assert_int_equal(dm_view_alias(f->acs, "Device.USPAgent", "Device.LocalAgent.", NULL), DM_ERR_SYNTAX);
	assert_int_equal(dm_view_alias(f->acs, "Other.X.", "Device.LocalAgent.", NULL), DM_ERR_SYNTAX);
	assert_int_equal(dm_view_alias(f->acs, "Device.X.", "Device.LocalAgent.", bad_child), DM_ERR_SYNTAX);
	assert_int_equal(dm_view_hide(f->acs, "Device.LocalAgent.Reboot()"), DM_ERR_SYNTAX);
	assert_int_equal(dm_view_hide(f->acs, "Device.LocalAgent.MTP.{i}"), DM_ERR_SYNTAX);
	assert_int_equal(dm_view_hide(f->acs, "Other.X.Name"), DM_ERR_SYNTAX);
}

/* A parameter hidden by its schema path, in every instance and in every
 * form a request may name it; its neighbours and a command of the same
 * name with "()" stay. */
static void test_hide_one_parameter(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *path;
		int shown;
	} rows[] = {
		{"Device.IP.Interface.1.Stats.BytesSent", 0},
		{"Device.IP.Interface.12.Stats.BytesSent", 0},
		{"Device.IP.Interface.*.Stats.BytesSent", 0},
		{"Device.IP.Interface.{i}.Stats.BytesSent", 0},
		{"Device.IP.Interface.1.Stats.BytesSentX", 1},
		{"Device.IP.Interface.1.Stats.BytesReceived", 1},
		{"Device.IP.Interface.1.Stats.", 1},
		{"Device.IP.Interface.x.Stats.BytesSent", 1},
	};
	dm_view *v;
	char out[256];

	(void)f;
	assert_int_equal(dm_view_new(&v), DM_OK);
	assert_int_equal(dm_view_hide(v, "Device.IP.Interface.{i}.Stats.BytesSent"), DM_OK);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (dm_view_store(v, rows[i].path, out, sizeof out) != rows[i].shown)
			fail_msg("%s: want %s", rows[i].path, rows[i].shown ? "shown" : "hidden");
	dm_view_free(v);
}

/* ---- reads and writes through the view ------------------------------------------------ */

static void test_get_through_alias(void **state)
{
	fixture *f = *state;
	dm_txn *t = begin(f, DM_TXN_READ, f->acs);
	char buf[64];
	char *v = NULL;
	dm_errinfo err = {0};
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.USPAgent.EndpointID", buf, sizeof buf, &err), DM_OK);
	assert_string_equal(buf, "proto::agent");
	assert_int_equal(dm_get_value(f->d, t, "Device.USPAgent.Controller.2.EndpointID", &v, &err), DM_OK);
	assert_string_equal(v, "proto::b");
	free(v);
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.LocalAgent.EndpointID", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	assert_string_equal(err.path, "Device.LocalAgent.EndpointID");
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.USPAgent.UpTime", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	/* an error found below the alias names the manager's path */
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.USPAgent.Controller.9.EndpointID", buf, sizeof buf, &err),
			 DM_ERR_NOT_INSTANTIATED);
	assert_string_equal(err.path, "Device.USPAgent.Controller.9.EndpointID");
	assert_null(strstr(err.msg, "LocalAgent"));
	uint32_t *insts = NULL;
	size_t n = 0;
	assert_int_equal(dm_list_instances(t, "Device.USPAgent.Controller.", &insts, &n, &err), DM_OK);
	assert_int_equal(n, 2);
	assert_int_equal(insts[1], 2);
	free(insts);
	dm_txn_abort(t);
}

static void test_set_add_delete_through_alias(void **state)
{
	fixture *f = *state;
	dm_txn *t = begin(f, DM_TXN_WRITE, f->acs);
	dm_errinfo err = {0};
	uint32_t inst = 0;
	assert_int_equal(dm_set(t, "Device.USPAgent.EndpointID", "proto::renamed", &err), DM_ERR_NOT_WRITABLE);
	assert_string_equal(err.path, "Device.USPAgent.EndpointID");
	assert_int_equal(dm_set_as_agent(t, "Device.USPAgent.EndpointID", "proto::renamed", &err), DM_OK);
	assert_int_equal(dm_add(t, "Device.USPAgent.Controller.", NULL, &inst, &err), DM_OK);
	assert_int_equal(inst, 3);
	assert_int_equal(dm_set(t, "Device.USPAgent.Controller.3.EndpointID", "proto::c", &err), DM_OK);
	assert_int_equal(dm_delete(t, "Device.USPAgent.Controller.1.", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.USPAgent.Controller.2.Enable", "perhaps", &err), DM_ERR_INVALID_VALUE);
	assert_string_equal(err.path, "Device.USPAgent.Controller.2.Enable");
	assert_int_equal(dm_add(t, "Device.USPAgent.Subscription.", NULL, &inst, &err), DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(dm_set(t, "Device.LocalAgent.EndpointID", "x", &err), DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);

	assert_stored(f, "Device.LocalAgent.EndpointID", "proto::renamed");
	assert_stored(f, "Device.LocalAgent.Controller.3.EndpointID", "proto::c");
	char buf[64];
	assert_int_equal(dm_get_value_buf(f->d, NULL, "Device.LocalAgent.Controller.1.EndpointID", buf, sizeof buf,
					  &err),
			 DM_ERR_NOT_INSTANTIATED);
}

static void test_unique_key_error_in_visible_names(void **state)
{
	fixture *f = *state;
	dm_txn *t = begin(f, DM_TXN_WRITE, f->acs);
	dm_errinfo err = {0};
	assert_int_equal(dm_set(t, "Device.USPAgent.Controller.1.EndpointID", "proto::b", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_ERR_UNIQUE_KEY);
	assert_string_equal(err.path, "Device.USPAgent.Controller.1.");
	assert_stored(f, "Device.LocalAgent.Controller.1.EndpointID", "proto::a");
}

/* ---- walks ------------------------------------------------------------------------------ */

typedef struct seen {
	char **paths;
	size_t n;
} seen;

static int note(void *ctx, const dm_item *it)
{
	seen *s = ctx;
	s->paths = realloc(s->paths, (s->n + 1) * sizeof *s->paths);
	s->paths[s->n++] = strdup(it->path);
	return 0;
}

static bool has(const seen *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->paths[i], path))
			return true;
	return false;
}

static size_t count_prefix(const seen *s, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += !strncmp(s->paths[i], prefix, strlen(prefix));
	return n;
}

static void seen_free(seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	free(s->paths);
	memset(s, 0, sizeof *s);
}

static void walk(fixture *f, const dm_view *v, const char *expr, unsigned flags, seen *s)
{
	dm_txn *t = begin(f, DM_TXN_READ, v);
	dm_errinfo err = {0};
	int rc = dm_resolve(t, DM_GRAMMAR_USP, expr, flags, 0, note, s, &err);
	dm_txn_abort(t);
	if (rc)
		fail_msg("%s: %s", expr, err.msg);
}

static void test_walk_from_the_root(void **state)
{
	fixture *f = *state;
	unsigned all = DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_TABLES | DM_RESOLVE_COMMANDS |
		       DM_RESOLVE_EVENTS | DM_RESOLVE_SUBTREE;
	seen s = {0};
	walk(f, f->acs, "Device.", all, &s);
	assert_int_equal(count_prefix(&s, "Device.LocalAgent."), 0);
	assert_true(has(&s, "Device.USPAgent."));
	assert_true(has(&s, "Device.USPAgent.EndpointID"));
	assert_true(has(&s, "Device.USPAgent.Controller."));
	assert_true(has(&s, "Device.USPAgent.Controller.2.EndpointID"));
	assert_true(has(&s, "Device.USPAgent.MTP."));
	assert_false(has(&s, "Device.USPAgent.SoftwareVersion"));
	assert_false(has(&s, "Device.USPAgent.Subscription."));
	assert_false(has(&s, "Device.USPAgent.ControllerNumberOfEntries"));
	assert_true(has(&s, "Device.DeviceInfo.HostName"));
	/* the alias's names come once each, in one run (its object's
	 * parameters follow it) */
	size_t at = 0;
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.paths[i], "Device.USPAgent."))
			at = i;
	assert_string_equal(s.paths[at + 1], "Device.USPAgent.EndpointID");
	assert_int_equal(count_prefix(&s, "Device.USPAgent.EndpointID"), 1);
	seen_free(&s);

	/* without the view, the stored names and no USPAgent */
	walk(f, NULL, "Device.", all, &s);
	assert_int_equal(count_prefix(&s, "Device.USPAgent."), 0);
	assert_true(has(&s, "Device.LocalAgent.Subscription."));
	assert_true(has(&s, "Device.LocalAgent.Controller.2.EndpointID"));
	seen_free(&s);
}

static void test_walk_below_the_alias(void **state)
{
	fixture *f = *state;
	seen s = {0};
	walk(f, f->acs, "Device.USPAgent.", DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, &s);
	assert_true(s.n > 0);
	assert_string_equal(s.paths[0], "Device.USPAgent.");
	assert_int_equal(count_prefix(&s, "Device.USPAgent."), s.n);
	assert_true(has(&s, "Device.USPAgent.Controller.1.EndpointID"));
	assert_false(has(&s, "Device.USPAgent.UpTime"));
	seen_free(&s);
	walk(f, f->acs, "Device.USPAgent.Controller.*.EndpointID", DM_RESOLVE_PARAMS, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.paths[0], "Device.USPAgent.Controller.1.EndpointID");
	seen_free(&s);
}

static void test_search_inside_the_alias(void **state)
{
	fixture *f = *state;
	seen s = {0};
	walk(f, f->acs, "Device.USPAgent.Controller.[EndpointID==\"proto::b\"].Enable", DM_RESOLVE_PARAMS, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.paths[0], "Device.USPAgent.Controller.2.Enable");
	seen_free(&s);
	walk(f, f->acs, "Device.USPAgent.Controller.[Enable==true].", DM_RESOLVE_OBJECTS, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.paths[0], "Device.USPAgent.Controller.2.");
	seen_free(&s);
}

static void test_restricted_walk(void **state)
{
	fixture *f = *state;
	unsigned all = DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE;
	seen s = {0};
	char buf[16];
	dm_errinfo err = {0};
	dm_txn *t = begin(f, DM_TXN_READ, f->ctl);
	/* the schema's own CWMPManagementServer value (false) is out of reach:
	 * the name reads ManagementServer's */
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.CWMPManagementServer.EnableCWMP", buf, sizeof buf, &err),
			 DM_OK);
	assert_string_equal(buf, "true");
	dm_txn_abort(t);

	t = begin(f, DM_TXN_WRITE, f->ctl);
	assert_int_equal(dm_set(t, "Device.CWMPManagementServer.EnableCWMP", "false", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.ManagementServer.URL", "http://x/", &err), DM_ERR_NOT_IN_SCHEMA);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_stored(f, "Device.ManagementServer.EnableCWMP", "false");
	assert_stored(f, "Device.ManagementServer.URL", "http://acs.example/");

	walk(f, f->ctl, "Device.", all, &s);
	assert_true(has(&s, "Device.CWMPManagementServer.EnableCWMP"));
	assert_true(has(&s, "Device.ManagementServer.EnableCWMP"));
	assert_int_equal(count_prefix(&s, "Device.CWMPManagementServer.EnableCWMP"), 1);
	assert_false(has(&s, "Device.ManagementServer.URL"));
	assert_int_equal(count_prefix(&s, "Device.ManagementServer."), 2); /* the object and EnableCWMP */
	seen_free(&s);
	walk(f, f->ctl, "Device.ManagementServer.", all, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.paths[1], "Device.ManagementServer.EnableCWMP");
	seen_free(&s);
}

static void test_no_view_is_unchanged(void **state)
{
	fixture *f = *state;
	dm_txn *t = begin(f, DM_TXN_WRITE, NULL);
	dm_errinfo err = {0};
	char buf[64];
	assert_int_equal(dm_set_as_agent(t, "Device.LocalAgent.EndpointID", "proto::native", &err), DM_OK);
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.LocalAgent.EndpointID", buf, sizeof buf, &err), DM_OK);
	assert_string_equal(buf, "proto::native");
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.USPAgent.EndpointID", buf, sizeof buf, &err),
			 DM_ERR_NOT_IN_SCHEMA);
	/* setting the view to NULL again means stored names */
	dm_txn_set_view(t, f->acs);
	dm_txn_set_view(t, NULL);
	assert_int_equal(dm_get_value_buf(f->d, t, "Device.LocalAgent.EndpointID", buf, sizeof buf, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_stored(f, "Device.CWMPManagementServer.EnableCWMP", "false");
	assert_stored(f, "Device.ManagementServer.EnableCWMP", "true");
}

int main(void)
{
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_and_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restriction_by_an_alias_onto_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hide_one_parameter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_through_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_add_delete_through_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_key_error_in_visible_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_from_the_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_below_the_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_inside_the_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restricted_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_view_is_unchanged, setup, teardown),
	};
	int rc = cmocka_run_group_tests_name("views", tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
