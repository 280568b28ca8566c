/*
 * transfer_apply.c - what a file the ACS had downloaded does (1 Firmware
 * Upgrade Image, 6 Stored Firmware Image, 3 Vendor Configuration File) and
 * what an upload sends (the vendor configuration file, the vendor log
 * file). The file formats and the firmware banks are mapping/xfer.h's and
 * core/firmware.h's, the same for a Controller's commands; here are the
 * CWMP choices: which bank, when to reboot, the ACS as the writer.
 */
#include "transfer_priv.h"
#include "firmware.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TR-069 A.3.2.8: the outcome of a firmware download is reported after
 * the reboot that activates it. */
static void apply_firmware(cwmp_transfers *x, xfer *rec, const char *file)
{
	cwmp_agent *a = x->a;
	core_fw_info info;
	uint32_t bank = 0;
	int rc;

	if ((rc = core_firmware_install(a->d, a->state_dir ? a->state_dir : ".", file, 0, &bank, &info)) ||
	    (rc = core_firmware_set_boot(a->d, bank))) {
		xfer_finish(x, rec, map_xfer_firmware_fault(rc), core_firmware_strerror(rc));
		return;
	}
	free(rec->expect_version);
	if (!(rec->expect_version = strdup(info.version))) {
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "out of memory");
		return;
	}
	rec->bank = bank;
	rec->state = XFER_APPLYING;
	if (xfer_save(x, rec)) {
		xfer_finish(x, rec, CWMP_FAULT_INTERNAL, "transfer state could not be stored");
		return;
	}
	remove(file);
	if (a->after_session)
		a->after_session(a, CWMP_AFTER_REBOOT, NULL);
	else
		CORE_LOG_W("cwmp", "firmware %s waits for a reboot nobody will ask for", info.version);
	xfer_kick_soon(x);
}

static unsigned store_firmware(cwmp_transfers *x, xfer *rec, const char *file, char *msg, size_t msgsz)
{
	uint32_t bank = 0;
	int rc;

	/* TargetFileName names the bank; anything else means "the spare one" */
	if (!rec->target || !core_firmware_parse_bank(rec->target, &bank))
		bank = 0;
	rc = core_firmware_install(x->a->d, x->a->state_dir ? x->a->state_dir : ".", file, bank, NULL, NULL);
	if (rc)
		snprintf(msg, msgsz, "%s", core_firmware_strerror(rc));
	return map_xfer_firmware_fault(rc);
}

/* The ACS's own write: its origin, and the row named after TargetFileName
 * or the URL. */
static unsigned apply_config(cwmp_transfers *x, xfer *rec, const char *file, char *msg, size_t msgsz)
{
	char name[65];

	if (rec->target && *rec->target)
		snprintf(name, sizeof name, "%s", rec->target);
	else
		map_xfer_url_name(rec->url, name, sizeof name);
	return map_xfer_config_apply(x->a->d, &x->a->origin, file, 0, name, msg, msgsz);
}

void xfer_apply_download(cwmp_transfers *x, xfer *rec, const char *file)
{
	char msg[256] = "";
	unsigned fault;

	if (!strcmp(rec->file_type, FT_FIRMWARE)) {
		apply_firmware(x, rec, file);
		return;
	}
	if (!strcmp(rec->file_type, FT_STORED_FIRMWARE))
		fault = store_firmware(x, rec, file, msg, sizeof msg);
	else if (!strcmp(rec->file_type, FT_CONFIG))
		fault = apply_config(x, rec, file, msg, sizeof msg);
	else
		fault = CWMP_FAULT_INTERNAL; /* the RPC admits no other type */
	xfer_finish(x, rec, fault, msg);
}

int xfer_upload_body(cwmp_transfers *x, xfer *rec, char **body, size_t *len, unsigned *fault,
		     const char **why)
{
	bool log = !strncmp(rec->file_type, "2 ", 2) || !strncmp(rec->file_type, "4 ", 2);
	unsigned f = log ? map_xfer_log_body(x->runner, x->a->d, body, len) : map_xfer_config_body(x->a->d, body, len);

	if (!f)
		return 0;
	*fault = f;
	*why = f == CWMP_FAULT_UPLOAD_FAILURE ? "configuration could not be read" : "out of memory";
	return -1;
}
