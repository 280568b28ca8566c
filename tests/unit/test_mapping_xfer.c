/*
 * test_mapping_xfer.c - the transfer mapping both doors share
 * (mapping/xfer*.c, transfers.c) on a real engine (bundled
 * datamodel/device2.xml): URL rules, the vendor configuration file (apply
 * as one transaction, backup body read back by apply), deployment unit
 * operations and their faults, AutonomousTransferCompletePolicy and the
 * ACS's listener, and the runner on a real loop (one transfer at a time,
 * in order, whoever queued it; a cancelled job never reports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transfers.h"
#include "unit_store.h"
#include "xfer.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POLICY "Device.ManagementServer.AutonomousTransferCompletePolicy."
#define DU "Device.SoftwareModules.DeploymentUnit."

static const dm_origin admin = {DM_ORIGIN_ADMIN, "test"};

typedef struct fixture {
	char dir[64];
	dm_schema *schema;
	dm *d;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	assert_non_null(f->schema = unit_bundled_schema());
	assert_int_equal(unit_open_store("test_mapping_xfer", f->schema, f->dir, sizeof f->dir, &f->d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	dm_close(f->d);
	dm_schema_free(f->schema);
	assert_int_equal(unit_remove_dir(f->dir), 0);
	free(f);
	return 0;
}

static void set_values(fixture *f, const char *const *pairs)
{
	dm_txn *t;
	dm_errinfo err = {0};

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &admin, &t), DM_OK);
	for (size_t i = 0; pairs[i]; i += 2)
		if (dm_set(t, pairs[i], pairs[i + 1], &err))
			fail_msg("%s: %s", pairs[i], err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static const char *value(fixture *f, const char *path, char *buf, size_t n)
{
	dm_errinfo err = {0};

	if (dm_get_value_buf(f->d, NULL, path, buf, n, &err))
		snprintf(buf, n, "<%s>", dm_strerror(err.code));
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* ---------------------------------------------------------------------------
 * URLs
 * ------------------------------------------------------------------------- */

static void test_check_url(void **state)
{
	static const struct {
		const char *url;
		unsigned fault;
	} rows[] = {
		{"http://files.example/fw.img", 0},
		{"HTTPS://files.example:8443/a/b?c=d", 0},
		{"ftp://files.example/fw.img", MAP_XFER_F_PROTOCOL},
		{"http://user:pw@files.example/fw.img", MAP_XFER_F_INVALID_ARGS},
		{"http://files.example/path@with-at", 0}, /* '@' after the host is a path */
		{"http:///fw.img", MAP_XFER_F_INVALID_ARGS},
		{"files.example/fw.img", MAP_XFER_F_INVALID_ARGS},
		{"", MAP_XFER_F_INVALID_ARGS},
	};
	const char *why;

	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		why = NULL;
		if (map_xfer_check_url(rows[i].url, 256, &why) != rows[i].fault)
			fail_msg("%s: expected %u", rows[i].url, rows[i].fault);
		if (rows[i].fault)
			assert_non_null(why);
	}
	char name[64];
	map_xfer_url_name("http://h/a/b/duet.cfg?x=1#y", name, sizeof name);
	assert_string_equal(name, "duet.cfg");
	map_xfer_url_name("http://h", name, sizeof name);
	assert_string_equal(name, "download");
}

/* ---------------------------------------------------------------------------
 * Vendor configuration file
 * ------------------------------------------------------------------------- */

static void test_config_apply_is_one_transaction(void **state)
{
	fixture *f = *state;
	char file[128], msg[256], buf[128];
	const dm_origin acs = {DM_ORIGIN_CWMP, "http://acs"};

	snprintf(file, sizeof file, "%s/good.cfg", f->dir);
	write_file(file, "# comment\n\nDevice.DeviceInfo.FriendlyName \"two words\"\n"
			 "Device.DeviceInfo.HostName plain\n");
	assert_int_equal(map_xfer_config_apply(f->d, &acs, file, 0, "good.cfg", msg, sizeof msg), 0);
	assert_string_equal(value(f, "Device.DeviceInfo.FriendlyName", buf, sizeof buf), "two words");
	assert_string_equal(value(f, "Device.DeviceInfo.HostName", buf, sizeof buf), "plain");
	/* the row it is noted in */
	assert_string_equal(value(f, "Device.DeviceInfo.VendorConfigFile.1.Name", buf, sizeof buf), "good.cfg");

	snprintf(file, sizeof file, "%s/bad.cfg", f->dir);
	write_file(file, "Device.DeviceInfo.HostName changed\nDevice.DeviceInfo.NoSuchThing 1\n");
	assert_int_equal(map_xfer_config_apply(f->d, &acs, file, 0, "bad.cfg", msg, sizeof msg), MAP_XFER_F_CORRUPTED);
	assert_non_null(strstr(msg, "line 2"));
	assert_string_equal(value(f, "Device.DeviceInfo.HostName", buf, sizeof buf), "plain");

	snprintf(file, sizeof file, "%s/missing.cfg", f->dir);
	assert_int_equal(map_xfer_config_apply(f->d, &acs, file, 0, "x", msg, sizeof msg), MAP_XFER_F_CORRUPTED);
}

static void test_backup_body_restores(void **state)
{
	fixture *f = *state;
	static const char *const before[] = {"Device.DeviceInfo.FriendlyName", "a \"quoted\" \\ name", NULL};
	static const char *const after[] = {"Device.DeviceInfo.FriendlyName", "overwritten", NULL};
	char *body = NULL, file[128], msg[256], buf[128];
	size_t len = 0;

	set_values(f, before);
	assert_int_equal(map_xfer_config_body(f->d, &body, &len), 0);
	static const char want[] = "Device.DeviceInfo.FriendlyName \"a \\\"quoted\\\" \\\\ name\"\n";
	const char *line = strstr(body, "Device.DeviceInfo.FriendlyName ");
	char one[sizeof want];
	assert_non_null(line);
	snprintf(one, sizeof one, "%s", line);
	assert_string_equal(one, want);
	/* read back by the parser (the line alone: a bare engine's other
	 * values are not all valid ones) */
	snprintf(file, sizeof file, "%s/backup.cfg", f->dir);
	write_file(file, one);
	free(body);
	set_values(f, after);
	if (map_xfer_config_apply(f->d, &admin, file, 0, "backup.cfg", msg, sizeof msg))
		fail_msg("%s", msg);
	assert_string_equal(value(f, "Device.DeviceInfo.FriendlyName", buf, sizeof buf), "a \"quoted\" \\ name");
}

static void test_log_body(void **state)
{
	fixture *f = *state;
	char *body = NULL;
	size_t len = 0;

	assert_int_equal(map_xfer_log_body(NULL, f->d, &body, &len), 0);
	assert_true(len > 0);
	assert_non_null(strstr(body, "duet vendor log"));
	assert_non_null(strstr(body, "recent transfers:"));
	free(body);
}

/* ---------------------------------------------------------------------------
 * Deployment units
 * ------------------------------------------------------------------------- */

static void test_du_operations(void **state)
{
	fixture *f = *state;
	char file[128], url[MAP_XFER_DU_URL_MAX + 1], buf[128];
	const char *why;
	map_xfer_du_op in = {.op = MAP_XFER_DU_INSTALL, .url = "http://h/apps/app-1.pkg",
			     .uuid = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"};

	snprintf(file, sizeof file, "%s/app.pkg", f->dir);
	write_file(file, "version=2.5\npayload\n");
	assert_int_equal(map_xfer_du_precheck(f->d, &in, url, sizeof url, &why), 0);
	assert_string_equal(url, in.url);
	map_xfer_du_install(f->d, &in, file);
	assert_int_equal(in.r_fault, 0);
	assert_string_equal(in.r_state, "Installed");
	assert_string_equal(in.r_version, "2.5");
	assert_string_equal(value(f, DU "1.Name", buf, sizeof buf), "app-1.pkg");

	/* the same UUID again is a duplicate, found before any download */
	assert_int_equal(map_xfer_du_precheck(f->d, &in, url, sizeof url, &why), MAP_XFER_F_DUPLICATE_DU);

	map_xfer_du_op bad = {.op = MAP_XFER_DU_UNINSTALL, .uuid = "not-a-uuid"};
	map_xfer_du_uninstall(f->d, &bad);
	assert_int_equal(bad.r_fault, MAP_XFER_F_INVALID_UUID);
	map_xfer_du_op unknown = {.op = MAP_XFER_DU_UNINSTALL, .uuid = "00000000-0000-4000-8000-000000000000"};
	map_xfer_du_uninstall(f->d, &unknown);
	assert_int_equal(unknown.r_fault, MAP_XFER_F_UNKNOWN_DU);
	assert_non_null(unknown.r_fault_string); /* the reason given */

	map_xfer_du_op un = {.op = MAP_XFER_DU_UNINSTALL, .uuid = in.uuid};
	map_xfer_du_uninstall(f->d, &un);
	assert_int_equal(un.r_fault, 0);
	assert_string_equal(un.r_state, "Uninstalled");
	assert_string_equal(value(f, DU "1.Name", buf, sizeof buf), "<no such instance>");

	/* a failed fetch reads as 9017 in a DU result */
	map_xfer_du_fail(&bad, MAP_XFER_F_DOWNLOAD, NULL);
	assert_int_equal(bad.r_fault, MAP_XFER_F_COMPLETE);
	assert_null(bad.r_fault_string);

	/* a failed Install without a UUID still reports a valid one */
	map_xfer_du_op anon = {.op = MAP_XFER_DU_INSTALL};
	map_xfer_du_fail(&anon, MAP_XFER_F_ACCESS, "HTTP 404");
	assert_true(map_xfer_uuid_valid(anon.r_uuid));
	assert_string_equal(anon.r_state, "Failed");
	map_xfer_du_op_clear(&anon);

	in.url = in.uuid = NULL; /* not ours */
	bad.uuid = unknown.uuid = un.uuid = NULL;
	map_xfer_du_op_clear(&in);
	map_xfer_du_op_clear(&bad);
	map_xfer_du_op_clear(&unknown);
	map_xfer_du_op_clear(&un);
}

/* ---------------------------------------------------------------------------
 * AutonomousTransferCompletePolicy and the listener
 * ------------------------------------------------------------------------- */

static void test_policy(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *enable, *ttype, *rtype, *ftypes;
		bool upload;
		const char *file_type;
		unsigned fault;
		bool allowed;
	} rows[] = {
		{"false", "Both", "Both", "", false, "1 Firmware Upgrade Image", 0, false},
		{"true", "Both", "Both", "", false, "1 Firmware Upgrade Image", 0, true},
		{"true", "Upload", "Both", "", false, "1 Firmware Upgrade Image", 0, false},
		{"true", "Download", "Both", "", false, "1 Firmware Upgrade Image", 0, true},
		{"true", "Both", "Failure", "", false, "1 Firmware Upgrade Image", 0, false},
		{"true", "Both", "Failure", "", false, "1 Firmware Upgrade Image", 9010, true},
		{"true", "Both", "Success", "", true, "2 Vendor Log File", 9011, false},
		{"true", "Both", "Both", "1 Firmware Upgrade Image", true, "2 Vendor Log File", 0, false},
		{"true", "Both", "Both", "1 Firmware Upgrade Image,4 Vendor Log File", true, "2 Vendor Log File", 0, true},
		/* a configuration file is 3 in the policy's list, whichever way */
		{"true", "Both", "Both", "3 Vendor Configuration File", true, "1 Vendor Configuration File", 0, true},
		{"true", "Both", "Both", "3 Vendor Configuration File", false, "3 Vendor Configuration File", 0, true},
	};

	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		const char *const pairs[] = {POLICY "Enable", rows[i].enable, POLICY "TransferTypeFilter", rows[i].ttype,
					     POLICY "ResultTypeFilter", rows[i].rtype, POLICY "FileTypeFilter",
					     rows[i].ftypes, NULL};
		set_values(f, pairs);
		map_transfer_report t = {.upload = rows[i].upload, .file_type = rows[i].file_type, .url = "http://h/f",
				      .cwmp_fault = rows[i].fault};
		if (map_atc_policy_allows(f->d, &t) != rows[i].allowed)
			fail_msg("row %zu: expected %s", i, rows[i].allowed ? "allowed" : "filtered");
	}
}

#define DU_POLICY "Device.ManagementServer.DUStateChangeComplPolicy."

static void test_du_policy(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *enable, *otypes, *rtype, *faults;
		int op;
		unsigned fault;
		bool allowed;
	} rows[] = {
		{"false", "", "Both", "", MAP_XFER_DU_INSTALL, 0, false},
		{"true", "", "Both", "", MAP_XFER_DU_INSTALL, 0, true},
		{"true", "Update,Uninstall", "Both", "", MAP_XFER_DU_INSTALL, 0, false},
		{"true", "Update,Uninstall", "Both", "", MAP_XFER_DU_UNINSTALL, 0, true},
		{"true", "", "Success", "", MAP_XFER_DU_UPDATE, 9028, false},
		{"true", "", "Failure", "", MAP_XFER_DU_UPDATE, 9028, true},
		{"true", "", "Failure", "9017,9026", MAP_XFER_DU_INSTALL, 9028, false},
		{"true", "", "Both", "9017,9026", MAP_XFER_DU_INSTALL, 9026, true},
		/* the fault filter is about failures: a success passes it */
		{"true", "", "Both", "9017", MAP_XFER_DU_INSTALL, 0, true},
	};

	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		const char *const pairs[] = {DU_POLICY "Enable", rows[i].enable, DU_POLICY "OperationTypeFilter",
					     rows[i].otypes, DU_POLICY "ResultTypeFilter", rows[i].rtype,
					     DU_POLICY "FaultCodeFilter", rows[i].faults, NULL};
		set_values(f, pairs);
		map_xfer_du_op o = {.op = rows[i].op, .r_fault = rows[i].fault};
		if (map_du_policy_allows(f->d, &o) != rows[i].allowed)
			fail_msg("row %zu: expected %s", i, rows[i].allowed ? "allowed" : "filtered");
	}
}

static int heard;
static char heard_url[64];

static void on_transfer(void *ctx, const map_transfer_report *t)
{
	heard++;
	snprintf(heard_url, sizeof heard_url, "%s", t->url);
}

static void test_listener_hears_what_the_policy_allows(void **state)
{
	fixture *f = *state;
	static const char *const on[] = {POLICY "Enable", "true", NULL};
	static const char *const off[] = {POLICY "Enable", "false", NULL};
	map_transfer_report t = {.file_type = "1 Firmware Upgrade Image", .url = "http://h/fw"};

	heard = 0;
	const map_transfer_hooks h = {.transfer = on_transfer};

	assert_int_equal(map_transfers_listen(f->d, &h), DM_OK);
	set_values(f, off);
	map_transfers_tell(f->d, &t);
	assert_int_equal(heard, 0);
	set_values(f, on);
	map_transfers_tell(f->d, &t);
	assert_int_equal(heard, 1);
	assert_string_equal(heard_url, "http://h/fw");
	assert_int_equal(map_transfers_listen(f->d, NULL), DM_OK);
	map_transfers_tell(f->d, &t);
	assert_int_equal(heard, 1);
	/* nothing of a Controller's is running */
	assert_int_equal(map_transfers_usp_queued(f->d, NULL, 0), 0);
}

/* ---------------------------------------------------------------------------
 * The runner: one at a time, in order
 * ------------------------------------------------------------------------- */

typedef struct order {
	core_loop *loop;
	int seen[4];
	unsigned faults[4];
	int n, expect;
} order;

typedef struct job_ctx {
	order *o;
	int id;
} job_ctx;

static void job_done(void *ctx, const map_xfer_result *r)
{
	job_ctx *c = ctx;

	c->o->faults[c->o->n] = r->fault;
	c->o->seen[c->o->n++] = c->id;
	if (c->o->n == c->o->expect)
		core_loop_stop(c->o->loop);
}

static void on_timeout(void *ctx)
{
	core_loop_stop(ctx);
}

/* A port nothing listens on: connections are refused at once. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_runner_fifo(void **state)
{
	fixture *f = *state;
	core_loop *loop;
	map_xfer *x, *y;
	map_xfer_job *cancelled = NULL;
	char url[64], file[128];
	order o = {.expect = 2};
	job_ctx c[3] = {{&o, 1}, {&o, 2}, {&o, 3}};

	assert_int_equal(core_loop_new(&loop), 0);
	o.loop = loop;
	/* both doors get the same runner of the engine */
	assert_int_equal(map_xfer_acquire(f->d, loop, &x), DM_OK);
	assert_int_equal(map_xfer_acquire(f->d, loop, &y), DM_OK);
	assert_ptr_equal(x, y);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/f", closed_port());
	snprintf(file, sizeof file, "%s/part", f->dir);
	map_xfer_http h = {.url = url, .file = file};
	assert_int_equal(map_xfer_http_start(x, &h, job_done, &c[0], NULL), DM_OK);
	assert_int_equal(map_xfer_http_start(y, &h, job_done, &c[1], &cancelled), DM_OK);
	assert_int_equal(map_xfer_http_start(x, &h, job_done, &c[2], NULL), DM_OK);
	map_xfer_cancel(cancelled); /* waiting: never reported */
	assert_int_equal(core_timer_start(loop, 10000, 0, on_timeout, loop, NULL), 0);
	core_loop_run(loop);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.seen[0], 1);
	assert_int_equal(o.seen[1], 3);
	assert_int_equal(o.faults[0], MAP_XFER_F_CONTACT);
	map_xfer_release(y);
	map_xfer_release(x);
	core_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_url),
		cmocka_unit_test_setup_teardown(test_config_apply_is_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_body_restores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_du_operations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_du_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_hears_what_the_policy_allows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_fifo, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
