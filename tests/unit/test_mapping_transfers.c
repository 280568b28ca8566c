/*
 * test_mapping_transfers.c - a transfer the ACS asked for, told to USP
 * subscribers as Device.LocalAgent.TransferComplete! in USP terms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transfers.h"
#include "unit_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
	char dir[64];
	dm_schema *schema;
	dm *d;
	dm_sub *sub;
	int events;
	char args[16][2][300];
	size_t n_args;
	dm_origin_kind origin;
} fixture;

static void on_change(void *ctx, const dm_change *c)
{
	fixture *f = ctx;

	if (c->kind != DM_CHANGE_EVENT || strcmp(c->path, "Device.LocalAgent.TransferComplete!"))
		return;
	f->events++;
	f->origin = c->origin->kind;
	f->n_args = c->n_args < 16 ? c->n_args : 16;
	for (size_t i = 0; i < f->n_args; i++) {
		snprintf(f->args[i][0], sizeof f->args[i][0], "%s", c->args[i].name);
		snprintf(f->args[i][1], sizeof f->args[i][1], "%s", c->args[i].value);
	}
}

static const char *arg(fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n_args; i++)
		if (!strcmp(f->args[i][0], name))
			return f->args[i][1];
	fail_msg("no argument %s", name);
	return NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	assert_non_null(f->schema = unit_bundled_schema());
	assert_int_equal(unit_open_store("test_mapping_transfers", f->schema, f->dir, sizeof f->dir, &f->d), 0);
	assert_int_equal(dm_subscribe(f->d, on_change, f, &f->sub), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	dm_unsubscribe(f->d, f->sub);
	dm_close(f->d);
	dm_schema_free(f->schema);
	assert_int_equal(unit_remove_dir(f->dir), 0);
	free(f);
	return 0;
}

static const dm_origin acs = {DM_ORIGIN_CWMP, "http://acs.example/"};

/* A firmware Download: nobody operated a command, so the USP side sees
 * empty Command, CommandKey and Requestor and the bank it went to. */
static void test_download_success(void **state)
{
	fixture *f = *state;
	map_transfer_report r = {
		.url = "http://files.example/fw.img",
		.affected = "Device.DeviceInfo.FirmwareImage.2.",
		.start_time = "2026-11-25T10:00:00Z",
		.complete_time = "2026-11-25T10:00:05Z",
	};

	assert_int_equal(map_report_acs_transfer(f->d, &r, &acs), DM_OK);
	assert_int_equal(f->events, 1);
	assert_int_equal(f->origin, DM_ORIGIN_CWMP);
	assert_string_equal(arg(f, "Command"), "");
	assert_string_equal(arg(f, "CommandKey"), "");
	assert_string_equal(arg(f, "Requestor"), "");
	assert_string_equal(arg(f, "TransferType"), "Download");
	assert_string_equal(arg(f, "TransferURL"), "http://files.example/fw.img");
	assert_string_equal(arg(f, "Affected"), "Device.DeviceInfo.FirmwareImage.2.");
	assert_string_equal(arg(f, "CompleteTime"), "2026-11-25T10:00:05Z");
	assert_string_equal(arg(f, "FaultCode"), "0");
	assert_string_equal(arg(f, "FaultString"), "");
}

/* A failed Upload: the CWMP fault becomes its USP code, times unknown
 * when the transfer never started. */
static void test_upload_failure(void **state)
{
	fixture *f = *state;
	map_transfer_report r = {
		.upload = true,
		.url = "http://files.example/up",
		.cwmp_fault = 9011,
		.fault_string = "server said 500",
	};

	assert_int_equal(map_report_acs_transfer(f->d, &r, &acs), DM_OK);
	assert_int_equal(f->events, 1);
	assert_string_equal(arg(f, "TransferType"), "Upload");
	assert_string_equal(arg(f, "StartTime"), "0001-01-01T00:00:00Z");
	assert_string_equal(arg(f, "FaultCode"), "7022");
	assert_string_equal(arg(f, "FaultString"), "server said 500");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_download_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
