/*
 * firmware.c - firmware banks: image format check, install into a bank,
 * boot selection and the bank switch at start-up. Downloads are not here:
 * the front ends fetch the file and hand it over.
 */
#include "firmware.h"
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BANK_TABLE "Device.DeviceInfo.FirmwareImage."
#define ACTIVE_REF "Device.DeviceInfo.ActiveFirmwareImage"
#define BOOT_REF "Device.DeviceInfo.BootFirmwareImage"
#define SW_VERSION "Device.DeviceInfo.SoftwareVersion"
#define MAGIC "DUET-FIRMWARE 1"
#define HEADER_LINE_MAX 256

static const dm_origin internal = {DM_ORIGIN_INTERNAL, "firmware"};

const char *core_firmware_strerror(int code)
{
	switch (code) {
	case CORE_FW_OK: return "success";
	case CORE_FW_CORRUPT: return "not a valid firmware image";
	case CORE_FW_IO: return "firmware file could not be read or written";
	case CORE_FW_NO_BANK: return "no suitable firmware bank";
	case CORE_FW_ACTIVE_BANK: return "the bank is the active one";
	case CORE_FW_STORE: return "data model update failed";
	case CORE_FW_NOMEM: return "out of memory";
	case CORE_FW_INVALID: return "invalid argument";
	default: return "unknown firmware error";
	}
}

/* ---------------------------------------------------------------------------
 * Image format
 * ------------------------------------------------------------------------- */

/* One header line without its newline; false at EOF, on a line too long
 * or one holding a NUL (a binary file is corrupt, not truncated text). */
static bool read_line(FILE *f, char *buf, size_t n, bool *eof)
{
	size_t len = 0;
	int c;

	*eof = false;
	while ((c = fgetc(f)) != EOF && c != '\n') {
		if (c == 0 || len + 1 >= n)
			return false;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (c == EOF) {
		*eof = true;
		return false;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* "key=value" into the matching field; false for anything unexpected. */
static bool header_field(const char *line, core_fw_info *info, bool *have_version)
{
	const char *eq = strchr(line, '=');
	const char *v = eq ? eq + 1 : NULL;
	char *dst;

	if (!eq)
		return false;
	if ((size_t)(eq - line) == 7 && !strncmp(line, "version", 7)) {
		dst = info->version;
		*have_version = true;
	} else if ((size_t)(eq - line) == 4 && !strncmp(line, "name", 4)) {
		dst = info->name;
	} else {
		return false;
	}
	if (!*v || strlen(v) > CORE_FW_FIELD_MAX || !printable(v))
		return false;
	strcpy(dst, v);
	return true;
}

static int parse_header(FILE *f, core_fw_info *info)
{
	char line[HEADER_LINE_MAX];
	bool eof, have_version = false;

	if (!read_line(f, line, sizeof line, &eof) || strcmp(line, MAGIC))
		return CORE_FW_CORRUPT;
	for (;;) {
		if (!read_line(f, line, sizeof line, &eof))
			return CORE_FW_CORRUPT; /* the blank line must come */
		if (!*line)
			break;
		if (!header_field(line, info, &have_version))
			return CORE_FW_CORRUPT;
	}
	return have_version ? CORE_FW_OK : CORE_FW_CORRUPT;
}

int core_firmware_validate(const char *file, core_fw_info *info)
{
	core_fw_info tmp;
	FILE *f;
	int rc;

	if (!file)
		return CORE_FW_INVALID;
	memset(&tmp, 0, sizeof tmp);
	if (!(f = fopen(file, "rb")))
		return CORE_FW_IO;
	rc = parse_header(f, &tmp);
	if (ferror(f))
		rc = CORE_FW_IO;
	fclose(f);
	if (!rc && info)
		*info = tmp;
	return rc;
}

bool core_firmware_parse_bank(const char *s, uint32_t *bank)
{
	const char *p = s;
	char *end;
	unsigned long v;

	if (!s)
		return false;
	if (!strncmp(p, BANK_TABLE, strlen(BANK_TABLE)))
		p += strlen(BANK_TABLE);
	if (*p < '1' || *p > '9')
		return false;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || v > UINT32_MAX || (*end && (p == s || strcmp(end, "."))))
		return false;
	*bank = (uint32_t)v;
	return true;
}

/* ---------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------- */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			off += w;
		}
	}
	return 0;
}

/* Copy src to dir/name durably: a crash leaves the old file or the new. */
static int copy_durable(const char *src, const char *dir, const char *name)
{
	char tmp[4096], dst[4096];
	int in = -1, out = -1, rc = CORE_FW_IO;

	if ((size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= sizeof tmp)
		return CORE_FW_INVALID;
	if ((in = open(src, O_RDONLY)) < 0)
		goto out;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		goto out;
	if (copy_fd(in, out) || fsync(out))
		goto out;
	if (close(out)) {
		out = -1;
		goto out;
	}
	out = -1;
	if (rename(tmp, dst) || fsync_dir(dir))
		goto out;
	rc = CORE_FW_OK;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc)
		unlink(tmp);
	return rc;
}

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) && errno != EEXIST)
		return CORE_FW_IO;
	return CORE_FW_OK;
}

/* ---------------------------------------------------------------------------
 * Bank rows
 * ------------------------------------------------------------------------- */

static int bank_get(dm *d, dm_txn *t, uint32_t bank, const char *param, char *buf, size_t n)
{
	char path[128];
	dm_errinfo err;

	snprintf(path, sizeof path, BANK_TABLE "%" PRIu32 ".%s", bank, param);
	return dm_get_value_buf(d, t, path, buf, n, &err);
}

static int bank_set(dm_txn *t, uint32_t bank, const char *param, const char *value)
{
	char path[128];
	dm_errinfo err;

	snprintf(path, sizeof path, BANK_TABLE "%" PRIu32 ".%s", bank, param);
	return dm_set(t, path, value, &err);
}

static bool bank_exists(dm *d, dm_txn *t, uint32_t bank)
{
	char buf[CORE_FW_FIELD_MAX + 1];

	return bank_get(d, t, bank, "Status", buf, sizeof buf) == DM_OK;
}

/* The bank a reference parameter names; 0 when it names none. */
static uint32_t ref_bank(dm *d, dm_txn *t, const char *param)
{
	char buf[256];
	dm_errinfo err;
	uint32_t bank;

	if (dm_get_value_buf(d, t, param, buf, sizeof buf, &err) || !*buf ||
	    !core_firmware_parse_bank(buf, &bank))
		return 0;
	return bank;
}

int core_firmware_active(dm *d, uint32_t *bank, char *version, size_t version_sz)
{
	uint32_t b = ref_bank(d, NULL, ACTIVE_REF);

	if (!b)
		return CORE_FW_NO_BANK;
	if (version && bank_get(d, NULL, b, "Version", version, version_sz))
		return CORE_FW_NO_BANK;
	if (bank)
		*bank = b;
	return CORE_FW_OK;
}

/* The first bank that is not the active one; 0 when there is none. */
static uint32_t inactive_bank(dm *d, dm_txn *t)
{
	uint32_t active = ref_bank(d, t, ACTIVE_REF), found = 0;
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_errinfo err;

	if (dm_list_instances(t, BANK_TABLE, &insts, &n, &err))
		return 0;
	for (size_t i = 0; i < n && !found; i++)
		if (insts[i] != active)
			found = insts[i];
	free(insts);
	return found;
}

static int pick_bank(dm *d, dm_txn *t, uint32_t want, uint32_t *bank)
{
	if (!want) {
		*bank = inactive_bank(d, t);
		return *bank ? CORE_FW_OK : CORE_FW_NO_BANK;
	}
	if (!bank_exists(d, t, want))
		return CORE_FW_NO_BANK;
	if (want == ref_bank(d, t, ACTIVE_REF))
		return CORE_FW_ACTIVE_BANK;
	*bank = want;
	return CORE_FW_OK;
}

static const char *base_name(const char *file)
{
	const char *s = strrchr(file, '/');

	return s ? s + 1 : file;
}

static int write_bank_row(dm_txn *t, uint32_t bank, const char *name, const core_fw_info *info)
{
	if (bank_set(t, bank, "Name", name) || bank_set(t, bank, "Version", info->version) ||
	    bank_set(t, bank, "Status", "Available") || bank_set(t, bank, "Available", "true"))
		return CORE_FW_STORE;
	return CORE_FW_OK;
}

int core_firmware_install(dm *d, const char *state_dir, const char *file, uint32_t want,
			  uint32_t *installed, core_fw_info *info_out)
{
	char dir[4096], img[64], name[CORE_FW_FIELD_MAX + 1];
	core_fw_info info;
	dm_txn *t = NULL;
	dm_errinfo err;
	uint32_t bank = 0;
	int rc;

	if (!d || !state_dir || !file)
		return CORE_FW_INVALID;
	if ((rc = core_firmware_validate(file, &info)))
		return rc;
	if (dm_txn_begin(d, DM_TXN_WRITE, &internal, &t))
		return CORE_FW_STORE;
	if ((rc = pick_bank(d, t, want, &bank)))
		goto fail;
	if ((size_t)snprintf(dir, sizeof dir, "%s/firmware", state_dir) >= sizeof dir) {
		rc = CORE_FW_INVALID;
		goto fail;
	}
	snprintf(img, sizeof img, "bank-%" PRIu32 ".img", bank);
	if ((rc = ensure_dir(dir)) || (rc = copy_durable(file, dir, img)))
		goto fail;
	snprintf(name, sizeof name, "%s", *info.name ? info.name : base_name(file));
	if ((rc = write_bank_row(t, bank, name, &info)))
		goto fail;
	if (dm_txn_commit(t, NULL, &err))
		return CORE_FW_STORE;
	CORE_LOG_I("firmware", "version %s installed in bank %" PRIu32, info.version, bank);
	if (installed)
		*installed = bank;
	if (info_out)
		*info_out = info;
	return CORE_FW_OK;
fail:
	dm_txn_abort(t);
	return rc;
}

static void bank_ref(uint32_t bank, char *buf, size_t n)
{
	snprintf(buf, n, BANK_TABLE "%" PRIu32, bank);
}

int core_firmware_set_boot(dm *d, uint32_t bank)
{
	char ref[96], status[32];
	dm_txn *t;
	dm_errinfo err;

	if (!d || !bank)
		return CORE_FW_INVALID;
	if (dm_txn_begin(d, DM_TXN_WRITE, &internal, &t))
		return CORE_FW_STORE;
	if (bank_get(d, t, bank, "Status", status, sizeof status) || !strcmp(status, "NoImage")) {
		dm_txn_abort(t);
		return CORE_FW_NO_BANK;
	}
	bank_ref(bank, ref, sizeof ref);
	if (dm_set(t, BOOT_REF, ref, &err)) {
		dm_txn_abort(t);
		return CORE_FW_STORE;
	}
	return dm_txn_commit(t, NULL, &err) ? CORE_FW_STORE : CORE_FW_OK;
}

/* A bank may boot when it holds an image that passed installation. */
static bool bootable(dm *d, dm_txn *t, uint32_t bank, char *version, size_t n)
{
	char status[32], avail[8];

	if (bank_get(d, t, bank, "Status", status, sizeof status) ||
	    bank_get(d, t, bank, "Available", avail, sizeof avail) ||
	    bank_get(d, t, bank, "Version", version, n))
		return false;
	return !strcmp(avail, "true") && (!strcmp(status, "Available") || !strcmp(status, "Active"));
}

static int activate(dm *d, dm_txn *t, uint32_t from, uint32_t to, bool *switched)
{
	char version[CORE_FW_FIELD_MAX + 1], ref[96];
	dm_errinfo err;

	if (!bootable(d, t, to, version, sizeof version)) {
		/* fall back to the running image rather than boot an empty bank */
		CORE_LOG_W("firmware", "bank %" PRIu32 " cannot boot; staying on bank %" PRIu32, to, from);
		bank_ref(from, ref, sizeof ref);
		if (bank_set(t, to, "Status", "ActivationFailed") || dm_set(t, BOOT_REF, ref, &err))
			return CORE_FW_STORE;
		return CORE_FW_OK;
	}
	bank_ref(to, ref, sizeof ref);
	if (dm_set(t, ACTIVE_REF, ref, &err) || dm_set(t, SW_VERSION, version, &err) ||
	    bank_set(t, to, "Status", "Active"))
		return CORE_FW_STORE;
	if (from && bank_exists(d, t, from) && bank_set(t, from, "Status", "Available"))
		return CORE_FW_STORE;
	CORE_LOG_I("firmware", "booting bank %" PRIu32 ", version %s", to, version);
	*switched = true;
	return CORE_FW_OK;
}

int core_firmware_boot(dm *d, bool *switched)
{
	bool sw = false;
	dm_txn *t;
	dm_errinfo err;
	uint32_t active, boot;
	int rc;

	if (switched)
		*switched = false;
	if (!d)
		return CORE_FW_INVALID;
	if (dm_txn_begin(d, DM_TXN_WRITE, &internal, &t))
		return CORE_FW_STORE;
	active = ref_bank(d, t, ACTIVE_REF);
	boot = ref_bank(d, t, BOOT_REF);
	if (!boot || boot == active) {
		dm_txn_abort(t);
		return CORE_FW_OK;
	}
	if ((rc = activate(d, t, active, boot, &sw))) {
		dm_txn_abort(t);
		return rc;
	}
	if (dm_txn_commit(t, NULL, &err))
		return CORE_FW_STORE;
	if (switched)
		*switched = sw;
	return CORE_FW_OK;
}

int core_firmware_set_status(dm *d, uint32_t bank, const char *status)
{
	dm_txn *t;
	dm_errinfo err;

	if (!d || !bank || !status)
		return CORE_FW_INVALID;
	if (dm_txn_begin(d, DM_TXN_WRITE, &internal, &t))
		return CORE_FW_STORE;
	int rc = !bank_exists(d, t, bank) ? CORE_FW_NO_BANK
		 : ref_bank(d, t, ACTIVE_REF) == bank ? CORE_FW_ACTIVE_BANK
		 : bank_set(t, bank, "Status", status) ? CORE_FW_STORE
						       : CORE_FW_OK;
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err) ? CORE_FW_STORE : CORE_FW_OK;
}

int core_firmware_settle_downloads(dm *d)
{
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_txn *t;
	dm_errinfo err;
	int rc = CORE_FW_OK;

	if (!d)
		return CORE_FW_INVALID;
	if (dm_txn_begin(d, DM_TXN_WRITE, &internal, &t))
		return CORE_FW_STORE;
	if (dm_list_instances(t, BANK_TABLE, &insts, &n, NULL)) {
		dm_txn_abort(t);
		return CORE_FW_OK; /* a model without banks */
	}
	for (size_t i = 0; i < n && !rc; i++) {
		char status[32];
		if (!bank_get(d, t, insts[i], "Status", status, sizeof status) && !strcmp(status, "Downloading") &&
		    bank_set(t, insts[i], "Status", "DownloadFailed"))
			rc = CORE_FW_STORE;
	}
	free(insts);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err) ? CORE_FW_STORE : CORE_FW_OK;
}
