/*
 * test_firmware.c - firmware banks on the bundled model and factory
 * defaults: the image format (valid and a table of corrupt ones), install
 * into the inactive bank or a named one, the refusals, and the bank switch
 * at start-up, which must survive a reopen of the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "firmware.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	char file[128];
	dm *d;
} fixture;

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

static void open_engine(fixture *f)
{
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err = {0};
	assert_int_equal(dm_open(bundled, &o, &f->d, &err), DM_OK);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-fw-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof f->file, "%s/image.bin", f->dir);
	open_engine(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void assert_value(dm *d, const char *path, const char *want)
{
	char buf[256];
	dm_errinfo err = {0};
	if (dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

static const char good_image[] = "DUET-FIRMWARE 1\nversion=0.2.0\nname=duetgw-0.2.0.img\n\n"
				 "\x7f" "ELF payload\x00\x01\x02";

static void test_validate_good(void **state)
{
	fixture *f = *state;
	core_fw_info info;
	write_file(f->file, good_image, sizeof good_image - 1);
	assert_int_equal(core_firmware_validate(f->file, &info), CORE_FW_OK);
	assert_string_equal(info.version, "0.2.0");
	assert_string_equal(info.name, "duetgw-0.2.0.img");

	write_text(f->file, "DUET-FIRMWARE 1\nversion=7\n\n");
	assert_int_equal(core_firmware_validate(f->file, &info), CORE_FW_OK);
	assert_string_equal(info.version, "7");
	assert_string_equal(info.name, "");
}

static void test_validate_corrupt(void **state)
{
	static const char *bad[] = {
		"",
		"DUET-FIRMWARE 2\nversion=1\n\n",
		"duet-firmware 1\nversion=1\n\n",
		"DUET-FIRMWARE 1\n\n",                 /* no version */
		"DUET-FIRMWARE 1\nversion=1\n",        /* no blank line */
		"DUET-FIRMWARE 1\nversion=1",          /* cut short */
		"DUET-FIRMWARE 1\nversion=\n\n",       /* empty version */
		"DUET-FIRMWARE 1\nversion=1\nsize=9\n\n", /* unknown field */
		"DUET-FIRMWARE 1\nversion 1\n\n",
		"DUET-FIRMWARE 1\nversion=1\tx\n\n",   /* control character */
		"DUET-FIRMWARE 1\nversion=0123456789012345678901234567890123456789012345678901234567890123456789\n\n",
		"#!/bin/sh\necho hello\n",
	};
	fixture *f = *state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_text(f->file, bad[i]);
		if (core_firmware_validate(f->file, NULL) != CORE_FW_CORRUPT)
			fail_msg("case %zu accepted", i);
	}
	write_file(f->file, "DUET-FIRMWARE 1\nversion=1\0\n\n", 28);
	assert_int_equal(core_firmware_validate(f->file, NULL), CORE_FW_CORRUPT);
	assert_int_equal(core_firmware_validate("/nonexistent/file", NULL), CORE_FW_IO);
}

static void test_parse_bank(void **state)
{
	uint32_t b = 0;
	assert_true(core_firmware_parse_bank("2", &b));
	assert_int_equal(b, 2);
	assert_true(core_firmware_parse_bank("Device.DeviceInfo.FirmwareImage.3", &b));
	assert_int_equal(b, 3);
	assert_true(core_firmware_parse_bank("Device.DeviceInfo.FirmwareImage.4.", &b));
	assert_int_equal(b, 4);
	assert_false(core_firmware_parse_bank("2.", &b));
	assert_false(core_firmware_parse_bank("0", &b));
	assert_false(core_firmware_parse_bank("image.img", &b));
	assert_false(core_firmware_parse_bank("Device.DeviceInfo.FirmwareImage.", &b));
	assert_false(core_firmware_parse_bank("Device.DeviceInfo.FirmwareImage.2.Name", &b));
	assert_false(core_firmware_parse_bank(NULL, &b));
}

static void test_install_inactive_bank(void **state)
{
	fixture *f = *state;
	uint32_t bank = 0;
	char path[128];
	struct stat st;
	write_file(f->file, good_image, sizeof good_image - 1);
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 0, &bank, NULL), CORE_FW_OK);
	assert_int_equal(bank, 2);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Version", "0.2.0");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Name", "duetgw-0.2.0.img");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "Available");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Status", "Active");
	snprintf(path, sizeof path, "%s/firmware/bank-2.img", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof good_image - 1);
	/* installing does not switch anything */
	assert_value(f->d, "Device.DeviceInfo.ActiveFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");
	assert_value(f->d, "Device.DeviceInfo.SoftwareVersion", "0.1.0");
}

static void test_install_refusals(void **state)
{
	fixture *f = *state;
	write_text(f->file, "not firmware\n");
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 0, NULL, NULL), CORE_FW_CORRUPT);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Version", "0.0.9");
	write_file(f->file, good_image, sizeof good_image - 1);
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 1, NULL, NULL), CORE_FW_ACTIVE_BANK);
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 9, NULL, NULL), CORE_FW_NO_BANK);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Version", "0.1.0");
	assert_int_equal(core_firmware_set_boot(f->d, 9), CORE_FW_NO_BANK);
}

static void test_download_status(void **state)
{
	fixture *f = *state;
	assert_int_equal(core_firmware_set_status(f->d, 2, "Downloading"), CORE_FW_OK);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "Downloading");
	/* the running bank keeps "Active"; a bank must exist */
	assert_int_equal(core_firmware_set_status(f->d, 1, "Downloading"), CORE_FW_ACTIVE_BANK);
	assert_int_equal(core_firmware_set_status(f->d, 9, "Downloading"), CORE_FW_NO_BANK);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Status", "Active");
	/* a start after a cut-short download */
	assert_int_equal(core_firmware_settle_downloads(f->d), CORE_FW_OK);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "DownloadFailed");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Status", "Active");
	/* a later good install is Available again */
	uint32_t bank = 0;
	write_file(f->file, good_image, sizeof good_image - 1);
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 2, &bank, NULL), CORE_FW_OK);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "Available");
}

static void test_boot_switch_durable(void **state)
{
	fixture *f = *state;
	bool switched = true;
	write_file(f->file, good_image, sizeof good_image - 1);
	assert_int_equal(core_firmware_boot(f->d, &switched), CORE_FW_OK);
	assert_false(switched);

	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 0, NULL, NULL), CORE_FW_OK);
	assert_int_equal(core_firmware_set_boot(f->d, 2), CORE_FW_OK);
	assert_value(f->d, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.2");
	assert_value(f->d, "Device.DeviceInfo.ActiveFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");

	assert_int_equal(core_firmware_boot(f->d, &switched), CORE_FW_OK);
	assert_true(switched);
	dm_close(f->d);
	open_engine(f);
	assert_value(f->d, "Device.DeviceInfo.ActiveFirmwareImage", "Device.DeviceInfo.FirmwareImage.2");
	assert_value(f->d, "Device.DeviceInfo.SoftwareVersion", "0.2.0");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "Active");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Status", "Available");
	uint32_t bank = 0;
	char version[32];
	assert_int_equal(core_firmware_active(f->d, &bank, version, sizeof version), CORE_FW_OK);
	assert_int_equal(bank, 2);
	assert_string_equal(version, "0.2.0");

	/* a second boot changes nothing; the next install goes to bank 1 */
	assert_int_equal(core_firmware_boot(f->d, &switched), CORE_FW_OK);
	assert_false(switched);
	assert_int_equal(core_firmware_install(f->d, f->dir, f->file, 0, &bank, NULL), CORE_FW_OK);
	assert_int_equal(bank, 1);
}

static void test_boot_bank_without_image(void **state)
{
	fixture *f = *state;
	dm_origin o = {DM_ORIGIN_INTERNAL, "test"};
	dm_txn *t;
	dm_errinfo err = {0};
	bool switched = true;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_set(t, "Device.DeviceInfo.FirmwareImage.2.Available", "false", &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.2", &err),
			 DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(core_firmware_boot(f->d, &switched), CORE_FW_OK);
	assert_false(switched);
	assert_value(f->d, "Device.DeviceInfo.ActiveFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");
	assert_value(f->d, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Status", "ActivationFailed");
	assert_value(f->d, "Device.DeviceInfo.SoftwareVersion", "0.1.0");
}

static int group_setup(void **state)
{
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(bundled);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_validate_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validate_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_bank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_inactive_bank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_switch_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_bank_without_image, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
