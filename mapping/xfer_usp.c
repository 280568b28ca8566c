/*
 * xfer_usp.c - the USP door of the transfers (notes/cwmp-usp-mapping.md
 * 6.3): the async command handlers of Device.DeviceInfo.FirmwareImage.{i}.
 * Download() and Activate(), VendorConfigFile.{i}.Backup() and Restore(),
 * VendorLogFile.{i}.Upload(). Their HTTP work waits its turn in the runner
 * shared with the ACS's transfers. Each ends with the engine's completion
 * (OperationComplete), Device.LocalAgent.TransferComplete! naming the
 * command, its key and the Controller, and the ACS's listener
 * (AutonomousTransferComplete, transfers.c filters). The deployment unit
 * commands are xfer_usp_du.c's, on the same table and queue.
 *
 * A firmware activation restarts the agent under its request (C10): before
 * the restart its record goes to agent state ("map.xfer"), and the next
 * start checks which image runs, reports the transfer and gives the usp
 * front end the outcome to complete the interrupted request with
 * (map_xfer_usp_outcome) instead of "interrupted".
 *
 * duet's choices where TR-181 leaves room:
 *  - Activate() reboots into the bank at once, or at the Start of its first
 *    TimeWindow that needs no confirmation (notes C22: USP windows are
 *    activation windows; the CWMP ones stay download windows); windows
 *    that are malformed, overlap or all need a user fail with 7004.
 *  - Download() into the running bank, or with a URL carrying userinfo,
 *    or a CheckSum without a known CheckSumAlgorithm (or of the wrong
 *    length), is refused before anything is fetched; FileSize, when given,
 *    caps what is fetched.
 */
#include "xfer_int.h"

#include "faults.h"
#include "firmware.h"
#include "transfers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MOD "xfer"
#define USP_ERR_INVALID_ARGS 7004 /* TR-369 Invalid arguments */
#define STATE_NS "map.xfer"
#define STATE_KEY "activation"
#define URL_MAX 2048 /* TR-181 URL data type */
#define FW_TABLE "Device.DeviceInfo.FirmwareImage."
#define VCF_TABLE "Device.DeviceInfo.VendorConfigFile."
#define LOG_TABLE "Device.DeviceInfo.VendorLogFile."

enum { URL_NONE, URL_REQUIRED, URL_OPTIONAL };

/* What the ACS calls each kind, and where its instance lives. */
static const struct kind_spec {
	const char *command; /* schema path */
	const char *table;
	bool upload;
	const char *cwmp_type; /* FileType of the ACS's AutonomousTransferComplete; NULL: not a file transfer */
	int url;
} kinds[OP_KINDS] = {
	[OP_FW_DOWNLOAD] = {FW_TABLE "{i}.Download()", FW_TABLE, false, "1 Firmware Upgrade Image", URL_REQUIRED},
	[OP_FW_ACTIVATE] = {FW_TABLE "{i}.Activate()", FW_TABLE, false, NULL, URL_NONE},
	[OP_BACKUP] = {VCF_TABLE "{i}.Backup()", VCF_TABLE, true, "1 Vendor Configuration File", URL_REQUIRED},
	[OP_RESTORE] = {VCF_TABLE "{i}.Restore()", VCF_TABLE, false, "3 Vendor Configuration File", URL_REQUIRED},
	[OP_LOG_UPLOAD] = {LOG_TABLE "{i}.Upload()", LOG_TABLE, true, "2 Vendor Log File", URL_REQUIRED},
	/* deployment units report through DUStateChange!, not as transfers */
	[OP_DU_INSTALL] = {"Device.SoftwareModules.InstallDU()", "Device.SoftwareModules.", false, NULL, URL_REQUIRED},
	[OP_DU_UPDATE] = {XFER_DU_TABLE "{i}.Update()", XFER_DU_TABLE, false, NULL, URL_OPTIONAL},
	[OP_DU_UNINSTALL] = {XFER_DU_TABLE "{i}.Uninstall()", XFER_DU_TABLE, false, NULL, URL_NONE},
};

/* A restart's outcome waiting for the usp front end and the reports. */
struct resolved {
	uint64_t req_id;
	char *cmd, *key, *who, *url, *start;
	int kind;
	uint32_t bank;
	unsigned fault;
	char msg[160];
	bool taken; /* the usp front end completed the request with it */
};

static map_xfer_usp *open_doors;

static map_xfer_usp *door_of(dm *d)
{
	for (map_xfer_usp *u = open_doors; u; u = u->next_open)
		if (u->d == d)
			return u;
	return NULL;
}

const char *xfer_usp_arg(const dm_request *req, const char *name)
{
	const char *v = dm_request_input(req, name);
	return v ? v : "";
}

/* ---------------------------------------------------------------------------
 * Completion: the engine's, TransferComplete!, the ACS's listener
 * ------------------------------------------------------------------------- */

static void ops_unlink(map_xfer_usp *u, uop *op)
{
	for (uop **pp = &u->ops; *pp; pp = &(*pp)->next)
		if (*pp == op) {
			*pp = op->next;
			return;
		}
}

static void affected_of(op_kind kind, uint32_t inst, char *buf, size_t n)
{
	snprintf(buf, n, "%s%" PRIu32 ".", kinds[kind].table, inst);
}

/* Both managers hear of a transfer that ended, each in its terms. */
static void report(map_xfer_usp *u, op_kind kind, uint32_t inst, const char *cmd, const char *key,
		   const char *who, const char *url, const char *start, unsigned size, unsigned fault,
		   const char *msg)
{
	char affected[96], done[MAP_XFER_TIME_LEN], line[160];
	dm_origin origin = {DM_ORIGIN_USP, who};

	dm_datetime_now(done, sizeof done);
	affected_of(kind, inst, affected, sizeof affected);
	map_transfer_report r = {
		.upload = kinds[kind].upload,
		.url = url,
		.affected = affected,
		.start_time = start,
		.complete_time = done,
		.cwmp_fault = fault,
		.fault_string = msg,
		.command = cmd,
		.command_key = key,
		.requestor = who,
		.file_type = kinds[kind].cwmp_type,
		.file_size = size,
	};
	int rc = map_report_transfer(u->d, &r, &origin);
	if (rc)
		CORE_LOG_W(MOD, "TransferComplete! of %s not sent: %s", cmd, dm_strerror(rc));
	map_transfers_tell(u->d, &r);
	snprintf(line, sizeof line, "%s %.40s \"%.32s\": %s%u %.60s", done, cmd, key, fault ? "fault " : "ok ",
		 fault, fault ? msg : "");
	map_xfer_note(u->runner, line);
}

int xfer_usp_fetch(uop *op, map_xfer_http *h, map_xfer_done_fn done)
{
	map_xfer_usp *u = op->u;

	if (!h->url)
		h->url = xfer_usp_arg(op->req, "URL");
	if (!h->username)
		h->username = xfer_usp_arg(op->req, "Username");
	if (!h->password)
		h->password = xfer_usp_arg(op->req, "Password");
	h->ca = u->ca;
	h->cert = u->cert;
	h->key = u->key;
	if (!h->upload) {
		snprintf(op->part, sizeof op->part, "%s/usp-transfer-%" PRIu64 ".part", u->state_dir,
			 dm_request_id(op->req));
		h->file = op->part;
	}
	return map_xfer_http_start(u->runner, h, done, op, &op->job);
}

/* The USP error a transfer fault completes a request with. */
static int usp_code(unsigned fault)
{
	return fault ? (int)map_cwmp_fault_to_usp_err(fault) : DM_OK;
}

static void op_free(uop *op)
{
	if (op->part[0])
		unlink(op->part);
	free(op);
}

void xfer_usp_drop(uop *op)
{
	ops_unlink(op->u, op);
	op_free(op);
}

/* End op: report, complete the request (its last use), free op. */
static void op_finish(uop *op, unsigned fault, const char *msg)
{
	map_xfer_usp *u = op->u;
	const dm_origin *o = dm_request_origin(op->req);

	if (fault)
		CORE_LOG_W(MOD, "%s failed: %u %s", dm_request_command(op->req), fault, msg ? msg : "");
	else
		CORE_LOG_I(MOD, "%s complete", dm_request_command(op->req));
	ops_unlink(u, op);
	if (kinds[op->kind].cwmp_type)
		report(u, op->kind, op->inst, dm_request_command(op->req), dm_request_command_key(op->req),
		       o && o->who ? o->who : "", xfer_usp_arg(op->req, "URL"), op->start, op->file_size, fault,
		       fault && msg && *msg ? msg : "");
	dm_request_complete(op->req, usp_code(fault), NULL, 0, fault ? msg : NULL);
	op_free(op);
}

/* ---------------------------------------------------------------------------
 * Firmware activation across the restart (C10)
 * ------------------------------------------------------------------------- */

/* NUL-separated fields: req_id, cmd, key, who, url, start, kind, bank,
 * expected version. */
#define ACT_FIELDS 9

static int activation_store(map_xfer_usp *u, uop *op, uint32_t bank, const char *version)
{
	const dm_origin *o = dm_request_origin(op->req);
	char id[24], kind[8], b[16];
	const char *f[ACT_FIELDS] = {id, dm_request_command(op->req), dm_request_command_key(op->req),
				     o && o->who ? o->who : "", xfer_usp_arg(op->req, "URL"), op->start, kind, b, version};
	char rec[8192];
	size_t len = 0;
	dm_txn *t;
	dm_errinfo err;
	int rc;

	snprintf(id, sizeof id, "%" PRIu64, dm_request_id(op->req));
	snprintf(kind, sizeof kind, "%d", (int)op->kind);
	snprintf(b, sizeof b, "%" PRIu32, bank);
	for (int i = 0; i < ACT_FIELDS; i++) {
		size_t l = strlen(f[i]) + 1;
		if (len + l > sizeof rec)
			return DM_ERR_INVALID_VALUE;
		memcpy(rec + len, f[i], l);
		len += l;
	}
	static const dm_origin self = {DM_ORIGIN_INTERNAL, "usp-transfer"};
	if ((rc = dm_txn_begin(u->d, DM_TXN_WRITE, &self, &t)))
		return rc;
	if ((rc = dm_state_put(t, STATE_NS, STATE_KEY, rec, len, &err))) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static void activation_forget(dm *d)
{
	static const dm_origin self = {DM_ORIGIN_INTERNAL, "usp-transfer"};
	dm_txn *t;
	dm_errinfo err;

	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t))
		return;
	if (dm_state_del(t, STATE_NS, STATE_KEY, &err) || dm_txn_commit(t, NULL, &err))
		CORE_LOG_W(MOD, "activation record not removed: %s", err.msg);
}

/* Reboot into the bank set to boot: the request stays recorded in the
 * engine and is completed after the restart. */
static void activate(uop *op, uint32_t bank, const char *version)
{
	map_xfer_usp *u = op->u;
	dm_errinfo err = {0};
	int rc;

	if ((rc = core_firmware_set_boot(u->d, bank))) {
		op_finish(op, map_xfer_firmware_fault(rc), core_firmware_strerror(rc));
		return;
	}
	if ((rc = activation_store(u, op, bank, version))) {
		op_finish(op, MAP_XFER_F_INTERNAL, "activation could not be recorded");
		return;
	}
	/* the Controller's reboot: Boot! says RemoteReboot, FirmwareUpdated */
	const dm_origin *o = dm_request_origin(op->req);
	rc = dm_operate(u->d, "Device.Reboot()", NULL, 0, "", o, NULL, NULL, NULL, &err);
	if (rc) {
		activation_forget(u->d);
		op_finish(op, MAP_XFER_F_INTERNAL, "reboot refused");
		return;
	}
	CORE_LOG_I(MOD, "%s: rebooting into image %s", dm_request_command(op->req), version);
	/* the request is completed after the restart */
	xfer_usp_drop(op);
}

static void resolved_free(resolved *r)
{
	if (!r)
		return;
	free(r->cmd);
	free(r->key);
	free(r->who);
	free(r->url);
	free(r->start);
	free(r);
}

static resolved *activation_load(dm *d)
{
	char *rec = NULL, *end;
	size_t len = 0;
	const char *f[ACT_FIELDS];
	dm_txn *t;
	dm_errinfo err;
	resolved *r;
	int nf = 0;

	if (dm_txn_begin(d, DM_TXN_READ, NULL, &t))
		return NULL;
	int rc = dm_state_get(t, STATE_NS, STATE_KEY, &rec, &len, &err);
	dm_txn_abort(t);
	if (rc || !rec)
		return NULL;
	for (char *p = rec; nf < ACT_FIELDS && p < rec + len; p += strlen(p) + 1)
		f[nf++] = p;
	if (nf < ACT_FIELDS || !(r = calloc(1, sizeof *r))) {
		free(rec);
		return NULL;
	}
	r->req_id = strtoull(f[0], &end, 10);
	r->cmd = strdup(f[1]);
	r->key = strdup(f[2]);
	r->who = strdup(f[3]);
	r->url = strdup(f[4]);
	r->start = strdup(f[5]);
	r->kind = atoi(f[6]);
	r->bank = (uint32_t)strtoul(f[7], NULL, 10);
	const char *why = NULL;
	r->fault = map_xfer_firmware_outcome(d, r->bank, f[8], &why);
	snprintf(r->msg, sizeof r->msg, "%s", r->fault ? why : "");
	free(rec);
	if (!r->cmd || !r->key || !r->who || !r->url || !r->start || r->kind < 0 || r->kind >= OP_KINDS) {
		resolved_free(r);
		return NULL;
	}
	return r;
}

bool map_xfer_usp_outcome(dm *d, uint64_t req_id, int *code, char *msg, size_t msgsz)
{
	map_xfer_usp *u = door_of(d);
	resolved *r = u ? u->after_restart : NULL;

	if (!r || r->req_id != req_id || r->taken)
		return false;
	r->taken = true;
	*code = usp_code(r->fault);
	snprintf(msg, msgsz, "%s", r->msg);
	return true;
}

/* From the loop, once the front ends are up: the transfer's reports. */
static void report_after_restart(void *ctx)
{
	map_xfer_usp *u = ctx;
	resolved *r = u->after_restart;

	core_timer_stop(u->report_timer);
	u->report_timer = NULL;
	if (!r)
		return;
	if (kinds[r->kind].cwmp_type)
		report(u, (op_kind)r->kind, r->bank, r->cmd, r->key, r->who, r->url, r->start, 0, r->fault, r->msg);
	if (!r->taken) {
		/* no usp front end asked: the engine's record goes anyway, so a
		 * later start does not report it as interrupted */
		dm_request_forget(u->d, r->req_id);
	}
	u->after_restart = NULL;
	resolved_free(r);
}

static void resolve_restart(map_xfer_usp *u)
{
	resolved *r = activation_load(u->d);

	if (!r)
		return;
	activation_forget(u->d);
	CORE_LOG_I(MOD, "%s after the restart: %s", r->cmd, r->fault ? r->msg : "new image running");
	u->after_restart = r;
	if (core_timer_start(u->loop, 0, 0, report_after_restart, u, &u->report_timer))
		CORE_LOG_W(MOD, "activation of %s not reported", r->cmd);
}

/* ---------------------------------------------------------------------------
 * FirmwareImage.{i}.Download()
 * ------------------------------------------------------------------------- */

static const struct {
	const char *usp, *evp;
	size_t len; /* digest bytes */
} algos[] = {
	{"SHA-1", "SHA1", 20}, {"SHA-224", "SHA224", 28}, {"SHA-256", "SHA256", 32},
	{"SHA-384", "SHA384", 48}, {"SHA-512", "SHA512", 64},
};

static int algo_index(const char *name)
{
	for (size_t i = 0; i < sizeof algos / sizeof *algos; i++)
		if (!strcmp(algos[i].usp, name))
			return (int)i;
	return -1;
}

/* The file's digest in lower-case hex; false on a read error. */
static bool file_digest(const char *file, int algo, char *hex, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[16384];
	unsigned mdlen = 0;
	FILE *f = fopen(file, "rb");
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const EVP_MD *md_type = EVP_get_digestbyname(algos[algo].evp);
	bool ok = f && c && md_type && EVP_DigestInit_ex(c, md_type, NULL);
	size_t got;

	while (ok && (got = fread(buf, 1, sizeof buf, f)) > 0)
		ok = EVP_DigestUpdate(c, buf, got);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(c, md, &mdlen) && mdlen * 2 < n;
	for (unsigned i = 0; ok && i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (f)
		fclose(f);
	EVP_MD_CTX_free(c);
	return ok;
}

static bool checksum_matches(const char *file, const char *algo, const char *want, char *msg, size_t msgsz)
{
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!*want)
		return true;
	if (!file_digest(file, algo_index(algo), hex, sizeof hex)) {
		snprintf(msg, msgsz, "checksum could not be computed");
		return false;
	}
	if (strcasecmp(hex, want)) {
		snprintf(msg, msgsz, "%s checksum mismatch", algo);
		return false;
	}
	return true;
}

/* FirmwareImage.{i}.Status of the bank a Download goes into (TR-181): the
 * Controller watching it sees Downloading, then Available or why not. */
static void bank_status(uop *op, const char *status)
{
	int rc = core_firmware_set_status(op->u->d, op->inst, status);

	if (rc)
		CORE_LOG_W(MOD, "FirmwareImage.%" PRIu32 ".Status %s not written: %s", op->inst, status,
			   core_firmware_strerror(rc));
}

static void firmware_fetched(void *ctx, const map_xfer_result *r)
{
	uop *op = ctx;
	map_xfer_usp *u = op->u;
	char msg[256] = "";
	core_fw_info info;
	uint32_t bank = 0;
	int rc;

	op->job = NULL;
	if (r->fault) {
		bank_status(op, "DownloadFailed");
		op_finish(op, r->fault, r->msg);
		return;
	}
	if (!checksum_matches(r->file, xfer_usp_arg(op->req, "CheckSumAlgorithm"), xfer_usp_arg(op->req, "CheckSum"), msg, sizeof msg)) {
		bank_status(op, "ValidationFailed");
		op_finish(op, MAP_XFER_F_CORRUPTED, msg);
		return;
	}
	if ((rc = core_firmware_install(u->d, u->state_dir, r->file, op->inst, &bank, &info))) {
		bank_status(op, rc == CORE_FW_CORRUPT ? "ValidationFailed" : "InstallationFailed");
		op_finish(op, map_xfer_firmware_fault(rc), core_firmware_strerror(rc));
		return;
	}
	unlink(op->part);
	op->part[0] = '\0';
	if (!strcmp(xfer_usp_arg(op->req, "AutoActivate"), "true") || !strcmp(xfer_usp_arg(op->req, "AutoActivate"), "1"))
		activate(op, bank, info.version);
	else
		op_finish(op, 0, NULL);
}

/* The bank the command path names ("Device.DeviceInfo.FirmwareImage.2.Download()"). */
static uint32_t inst_of(const dm_request *req, const char *table)
{
	const char *cmd = dm_request_command(req);
	size_t n = strlen(table);

	if (strncmp(cmd, table, n))
		return 0;
	return (uint32_t)strtoul(cmd + n, NULL, 10);
}

/* A CheckSum needs its algorithm and that algorithm's length; *why set
 * when not. */
static void check_checksum_args(const dm_request *req, const char **why)
{
	const char *algo = xfer_usp_arg(req, "CheckSumAlgorithm"), *sum = xfer_usp_arg(req, "CheckSum");
	int i;

	if (!*sum)
		return;
	if ((i = algo_index(algo)) < 0)
		*why = "CheckSum needs a CheckSumAlgorithm";
	else if (strlen(sum) != algos[i].len * 2)
		*why = "CheckSum has the wrong length for its algorithm";
}

static int fw_download_start(uop *op)
{
	map_xfer_usp *u = op->u;
	uint32_t active = 0;
	const char *why = NULL;

	if (!core_firmware_active(u->d, &active, NULL, 0) && active == op->inst)
		why = "the running image's bank cannot be downloaded into";
	else
		check_checksum_args(op->req, &why);
	if (why) {
		CORE_LOG_I(MOD, "%s refused: %s", dm_request_command(op->req), why);
		return DM_ERR_INVALID_ARG;
	}
	op->file_size = (unsigned)strtoul(xfer_usp_arg(op->req, "FileSize"), NULL, 10);
	map_xfer_http h = {.max_size = op->file_size};
	bank_status(op, "Downloading");
	int rc = xfer_usp_fetch(op, &h, firmware_fetched);
	if (rc)
		bank_status(op, "DownloadFailed");
	return rc;
}

/* ---------------------------------------------------------------------------
 * FirmwareImage.{i}.Activate()
 * ------------------------------------------------------------------------- */

#define MAX_WINDOWS 5 /* TimeWindow.{i}: maxEntries */

static bool seconds_arg(const dm_request *req, int i, const char *name, unsigned long *out)
{
	char key[40], *end;
	const char *v;

	snprintf(key, sizeof key, "TimeWindow.%d.%s", i, name);
	if (!(v = dm_request_input(req, key)) || !*v || *v == '-')
		return false;
	*out = strtoul(v, &end, 10);
	return !*end && *out <= 0xffffffffUL;
}

/*
 * Seconds from now until Activate() may act (TR-181 TimeWindow.{i}): the
 * Start of the first window that needs no user's confirmation (this
 * device has no user to ask; WhenIdle counts as AnyTime: a gateway is
 * idle enough at its window's start). No window: now. -1 with *why when
 * the windows are malformed, overlap or all need a confirmation.
 */
static long activation_delay(const dm_request *req, const char **why)
{
	unsigned long start, end, prev_end = 0;
	long first = -1;
	int n = 0;

	for (int i = 1; i <= MAX_WINDOWS; i++) {
		char key[40];
		snprintf(key, sizeof key, "TimeWindow.%d.Mode", i);
		const char *mode = dm_request_input(req, key);
		bool start_ok = seconds_arg(req, i, "Start", &start), end_ok = seconds_arg(req, i, "End", &end);

		if (!mode && !start_ok && !end_ok)
			continue;
		if (!mode || !start_ok || !end_ok || end <= start || (n && start < prev_end)) {
			*why = "each TimeWindow needs Start before End and Mode, and windows must not overlap";
			return -1;
		}
		prev_end = end;
		n++;
		if (first < 0 && strcmp(mode, "ConfirmationNeeded"))
			first = (long)start;
	}
	if (!n)
		return 0;
	if (first < 0)
		*why = "every TimeWindow needs a user's confirmation and this device has no user";
	return first;
}

/* The bank's image may be activated: *version set; else *why. */
static bool activatable(uop *op, char *version, size_t n, const char **why)
{
	char path[128], status[32] = "";
	dm_errinfo err;

	snprintf(path, sizeof path, FW_TABLE "%" PRIu32 ".Status", op->inst);
	dm_get_value_buf(op->u->d, NULL, path, status, sizeof status, &err);
	snprintf(path, sizeof path, FW_TABLE "%" PRIu32 ".Version", op->inst);
	dm_get_value_buf(op->u->d, NULL, path, version, n, &err);
	*why = strcmp(status, "Available") ? "the bank holds no image to activate" : NULL;
	return !*why;
}

static void window_opened(void *ctx)
{
	uop *op = ctx;
	char version[CORE_FW_FIELD_MAX + 1] = "";
	const char *why;

	core_timer_stop(op->timer);
	op->timer = NULL;
	if (!activatable(op, version, sizeof version, &why)) {
		op_finish(op, MAP_XFER_F_DENIED, why);
		return;
	}
	activate(op, op->inst, version);
}

static int fw_activate_start(uop *op)
{
	char version[CORE_FW_FIELD_MAX + 1] = "";
	const char *why = NULL;
	uint32_t active = 0;
	long delay = activation_delay(op->req, &why);

	if (delay < 0) {
		/* accepted, then failed with the reason: the Controller reads it */
		dm_request_complete(op->req, USP_ERR_INVALID_ARGS, NULL, 0, why);
		xfer_usp_drop(op);
		return DM_OK;
	}
	if (!core_firmware_active(op->u->d, &active, NULL, 0) && active == op->inst) {
		dm_request_complete(op->req, DM_OK, NULL, 0, NULL); /* already running */
		xfer_usp_drop(op);
		return DM_OK;
	}
	if (!activatable(op, version, sizeof version, &why)) {
		CORE_LOG_I(MOD, "%s refused: %s", dm_request_command(op->req), why);
		return DM_ERR_INVALID_ARG;
	}
	if (!delay) {
		activate(op, op->inst, version);
		return DM_OK;
	}
	/* a restart before the window fails the request like any other
	 * (TR-369 default): nothing here outlives the agent */
	CORE_LOG_I(MOD, "%s: activation in %ld s", dm_request_command(op->req), delay);
	return core_timer_start(op->u->loop, (uint64_t)delay * 1000, 0, window_opened, op, &op->timer) ? DM_ERR_INTERNAL
													 : DM_OK;
}

/* ---------------------------------------------------------------------------
 * VendorConfigFile.{i}.Backup() / Restore(), VendorLogFile.{i}.Upload()
 * ------------------------------------------------------------------------- */

static void uploaded(void *ctx, const map_xfer_result *r)
{
	uop *op = ctx;

	op->job = NULL;
	op_finish(op, r->fault, r->msg);
}

static void restore_fetched(void *ctx, const map_xfer_result *r)
{
	uop *op = ctx;
	char msg[256] = "";
	unsigned fault;

	op->job = NULL;
	if (r->fault) {
		op_finish(op, r->fault, r->msg);
		return;
	}
	/* the Controller's own write: its permissions, its origin */
	fault = map_xfer_config_apply(op->u->d, dm_request_origin(op->req), r->file, op->inst, NULL, msg, sizeof msg);
	op_finish(op, fault, msg);
}

static int upload_start(uop *op)
{
	map_xfer_usp *u = op->u;
	map_xfer_http h = {.upload = true};
	unsigned fault = op->kind == OP_BACKUP ? map_xfer_config_body(u->d, &h.body, &h.body_len)
					       : map_xfer_log_body(u->runner, u->d, &h.body, &h.body_len);

	if (fault)
		return DM_ERR_INTERNAL;
	return xfer_usp_fetch(op, &h, uploaded);
}

static int restore_start(uop *op)
{
	map_xfer_http h = {0};

	op->file_size = (unsigned)strtoul(xfer_usp_arg(op->req, "FileSize"), NULL, 10);
	return xfer_usp_fetch(op, &h, restore_fetched);
}

/* ---------------------------------------------------------------------------
 * The handlers
 * ------------------------------------------------------------------------- */

static int (*const starts[OP_KINDS])(uop *) = {
	[OP_FW_DOWNLOAD] = fw_download_start,
	[OP_FW_ACTIVATE] = fw_activate_start,
	[OP_BACKUP] = upload_start,
	[OP_RESTORE] = restore_start,
	[OP_LOG_UPLOAD] = upload_start,
	[OP_DU_INSTALL] = xfer_usp_du_start,
	[OP_DU_UPDATE] = xfer_usp_du_start,
	[OP_DU_UNINSTALL] = xfer_usp_du_start,
};

static int handle(map_xfer_usp *u, op_kind kind, dm_request *req)
{
	const char *why = NULL;
	uop *op;
	int rc;

	const char *url = xfer_usp_arg(req, "URL");

	if ((kinds[kind].url == URL_REQUIRED || (kinds[kind].url == URL_OPTIONAL && *url)) &&
	    map_xfer_check_url(url, URL_MAX, &why)) {
		CORE_LOG_I(MOD, "%s refused: %s", dm_request_command(req), why);
		return DM_ERR_INVALID_ARG;
	}
	if (!(op = calloc(1, sizeof *op)))
		return DM_ERR_NOMEM;
	op->u = u;
	op->req = req;
	op->kind = kind;
	op->inst = inst_of(req, kinds[kind].table);
	dm_datetime_now(op->start, sizeof op->start);
	uop **tail = &u->ops;
	while (*tail)
		tail = &(*tail)->next;
	*tail = op;
	/* from DM_OK on, op is the start's (queued, or already ended) */
	if ((rc = starts[kind](op)))
		xfer_usp_drop(op); /* refused: the engine completes the request */
	return rc;
}

#define HANDLER(fn, kind) \
	static int fn(void *ctx, dm_request *req) { return handle(ctx, kind, req); }
HANDLER(on_fw_download, OP_FW_DOWNLOAD)
HANDLER(on_fw_activate, OP_FW_ACTIVATE)
HANDLER(on_backup, OP_BACKUP)
HANDLER(on_restore, OP_RESTORE)
HANDLER(on_log_upload, OP_LOG_UPLOAD)
HANDLER(on_du_install, OP_DU_INSTALL)
HANDLER(on_du_update, OP_DU_UPDATE)
HANDLER(on_du_uninstall, OP_DU_UNINSTALL)
#undef HANDLER

static const dm_command_fn handlers[OP_KINDS] = {
	[OP_FW_DOWNLOAD] = on_fw_download,
	[OP_FW_ACTIVATE] = on_fw_activate,
	[OP_BACKUP] = on_backup,
	[OP_RESTORE] = on_restore,
	[OP_LOG_UPLOAD] = on_log_upload,
	[OP_DU_INSTALL] = on_du_install,
	[OP_DU_UPDATE] = on_du_update,
	[OP_DU_UNINSTALL] = on_du_uninstall,
};

static void register_commands(map_xfer_usp *u, bool on)
{
	const dm_schema *s = dm_get_schema(u->d);

	for (int k = 0; k < OP_KINDS; k++)
		if (dm_schema_find(s, kinds[k].command))
			dm_command_register(u->d, kinds[k].command, on ? handlers[k] : NULL, on ? u : NULL);
}

size_t map_transfers_usp_queued(dm *d, map_queued_transfer *v, size_t max)
{
	map_xfer_usp *u = door_of(d);
	size_t n = 0;

	/* u->ops is oldest first; an activation waits for no transfer */
	for (uop *op = u ? u->ops : NULL; op; op = op->next) {
		if (!kinds[op->kind].cwmp_type || !op->job)
			continue;
		if (v && n >= max)
			break;
		if (v)
			v[n] = (map_queued_transfer){kinds[op->kind].upload, kinds[op->kind].cwmp_type, op->file_size,
						     xfer_job_running(u->runner, op->job) ? 2 : 1};
		n++;
	}
	return n;
}

/* ---------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------- */

static bool dup_opt(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

void map_xfer_usp_stop(map_xfer_usp *u)
{
	if (!u)
		return;
	register_commands(u, false);
	for (map_xfer_usp **pp = &open_doors; *pp; pp = &(*pp)->next_open)
		if (*pp == u) {
			*pp = u->next_open;
			break;
		}
	/* requests left uncompleted stay recorded in the engine: the next
	 * start reports them interrupted */
	while (u->ops) {
		uop *op = u->ops;
		u->ops = op->next;
		map_xfer_cancel(op->job);
		core_timer_stop(op->timer);
		map_xfer_du_op_clear(&op->du);
		op_free(op);
	}
	core_timer_stop(u->report_timer);
	resolved_free(u->after_restart);
	map_xfer_release(u->runner);
	free(u->state_dir);
	free(u->ca);
	free(u->cert);
	free(u->key);
	free(u);
}

int map_xfer_usp_start(dm *d, core_loop *loop, const map_xfer_usp_opts *o, map_xfer_usp **out)
{
	map_xfer_usp *u;
	int rc;

	if (!d || !loop || !out)
		return DM_ERR_INVALID_ARG;
	if (!(u = calloc(1, sizeof *u)))
		return DM_ERR_NOMEM;
	u->d = d;
	u->loop = loop;
	u->next_open = open_doors;
	open_doors = u;
	if (!dup_opt(&u->state_dir, o && o->state_dir ? o->state_dir : ".") || !dup_opt(&u->ca, o ? o->ca : NULL) ||
	    !dup_opt(&u->cert, o ? o->cert : NULL) || !dup_opt(&u->key, o ? o->key : NULL)) {
		map_xfer_usp_stop(u);
		return DM_ERR_NOMEM;
	}
	if ((rc = map_xfer_acquire(d, loop, &u->runner))) {
		map_xfer_usp_stop(u);
		return rc;
	}
	resolve_restart(u);
	register_commands(u, true);
	*out = u;
	return DM_OK;
}
