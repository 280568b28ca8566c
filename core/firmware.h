/*
 * firmware.h - the firmware banks of Device.DeviceInfo.FirmwareImage.{i}:
 * checking an image, installing it into a bank, choosing the bank to boot
 * and switching banks at start-up. Protocol neutral: the CWMP Download and
 * the USP FirmwareImage.{i}.Download() both end here.
 *
 * duet simulates a gateway, so an image is checked for format, not for a
 * signature. An image is a file whose first line is "DUET-FIRMWARE 1",
 * then "version=<v>" (required) and "name=<n>" (optional) lines, a blank
 * line, then any payload. Anything else is corrupt.
 *
 * Images live in STATE_DIR/firmware/bank-<i>.img; the bank rows of the data
 * model say what each holds. Every data model change here is made with an
 * INTERNAL origin, in one transaction per call.
 */
#ifndef DUET_CORE_FIRMWARE_H
#define DUET_CORE_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm.h"

/* Status codes of core_firmware_ functions (0 = success). */
enum core_fw_status {
	CORE_FW_OK = 0,
	CORE_FW_CORRUPT = -101,     /* not an image of our format */
	CORE_FW_IO = -102,          /* the file could not be read or written */
	CORE_FW_NO_BANK = -103,     /* no such bank, or no bank but the active one */
	CORE_FW_ACTIVE_BANK = -104, /* the bank named is the running one */
	CORE_FW_STORE = -105,       /* the data model refused or the store failed */
	CORE_FW_NOMEM = -106,
	CORE_FW_INVALID = -107,     /* bad argument */
};

/* Static text for a core_fw_status code. */
const char *core_firmware_strerror(int code);

#define CORE_FW_FIELD_MAX 64 /* FirmwareImage.{i}.Name and .Version: string(64) */

/* What an image header declares. name is "" when the header has none. */
typedef struct core_fw_info {
	char version[CORE_FW_FIELD_MAX + 1];
	char name[CORE_FW_FIELD_MAX + 1];
} core_fw_info;

/*
 * Check that file is an image of our format and read its header into info
 * (may be NULL). Returns CORE_FW_OK, CORE_FW_CORRUPT or CORE_FW_IO.
 */
int core_firmware_validate(const char *file, core_fw_info *info);

/*
 * Parse a bank reference: "Device.DeviceInfo.FirmwareImage.2" (with or
 * without the final dot) or a bare instance number "2". Returns true and
 * sets *bank when s is one of those forms (whether the bank exists is not
 * checked here).
 */
bool core_firmware_parse_bank(const char *s, uint32_t *bank);

/*
 * Install the image file into a bank: bank 0 picks the first bank that is
 * not the active one; a named bank must exist and not be the active one.
 * The file is copied to state_dir/firmware/bank-<i>.img (temp file, fsync,
 * rename, fsync of the directory), then the bank row gets Name (the
 * header's, else the file name), Version, Status "Available" and Available
 * true. *installed (may be NULL) receives the bank used, info (may be NULL)
 * the header. Returns CORE_FW_OK, CORRUPT, IO, NO_BANK, ACTIVE_BANK, STORE
 * or NOMEM; on failure the bank row is unchanged.
 */
int core_firmware_install(dm *d, const char *state_dir, const char *file, uint32_t bank,
			  uint32_t *installed, core_fw_info *info);

/* Make bank the one to boot next (DeviceInfo.BootFirmwareImage). Returns
 * CORE_FW_OK, NO_BANK (missing, or holding no image) or STORE. */
int core_firmware_set_boot(dm *d, uint32_t bank);

/*
 * The active bank (DeviceInfo.ActiveFirmwareImage) and its Version (into
 * version, may be NULL). Returns CORE_FW_OK or NO_BANK.
 */
int core_firmware_active(dm *d, uint32_t *bank, char *version, size_t version_sz);

/*
 * Start-up, before any front end runs: when BootFirmwareImage names
 * another bank than ActiveFirmwareImage, activate it: ActiveFirmwareImage,
 * DeviceInfo.SoftwareVersion = the bank's Version, its Status "Active" and
 * the previous bank's "Available", in one durable transaction. A boot bank
 * without an image is not activated: its Status becomes "ActivationFailed"
 * and BootFirmwareImage points back at the active bank. *switched (may be
 * NULL) says whether the banks changed. Returns CORE_FW_OK or STORE.
 */
int core_firmware_boot(dm *d, bool *switched);

/*
 * A bank's FirmwareImage.{i}.Status while a Download runs into it and
 * after one failed: "Downloading", "DownloadFailed", "ValidationFailed",
 * "InstallationFailed" (a successful install sets "Available" itself).
 * Never for the active bank. One durable transaction of the device's own.
 * Returns CORE_FW_OK, NO_BANK, ACTIVE_BANK or STORE.
 */
int core_firmware_set_status(dm *d, uint32_t bank, const char *status);

/* Start-up: a bank left "Downloading" by a download the restart cut short
 * becomes "DownloadFailed". Returns CORE_FW_OK or STORE. */
int core_firmware_settle_downloads(dm *d);

#endif /* DUET_CORE_FIRMWARE_H */
