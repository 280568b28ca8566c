/*
 * transfer_apply.c - what a downloaded file does (1 Firmware Upgrade Image,
 * 6 Stored Firmware Image, 3 Vendor Configuration File) and what an upload
 * sends (the vendor configuration file, the vendor log file).
 *
 * A vendor configuration file is text, one "<parameter path> <value>" per
 * line; values that are empty or hold blanks, quotes, backslashes or a
 * leading '#' are double-quoted with \" \\ and \n as escapes; '#' starts a
 * comment line; blank lines are ignored. The file applies as one
 * transaction of the ACS: a single bad line and nothing applies (9018,
 * with the line number).
 */
#include "transfer_priv.h"
#include "firmware.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX (4u << 20) /* larger is not a configuration file */
#define VCF_TABLE "Device.DeviceInfo.VendorConfigFile."

static const dm_origin self = {DM_ORIGIN_INTERNAL, "cwmp-transfer"};

/* ---------------------------------------------------------------------------
 * Small file helpers
 * ------------------------------------------------------------------------- */

static char *read_file(const char *file, size_t max, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	if (!(buf = malloc(max + 1)))
		goto out;
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

bool xfer_file_version(const char *file, char *buf, size_t n)
{
	char line[256];
	FILE *f = fopen(file, "rb");
	bool found = false;

	if (!f)
		return false;
	for (int i = 0; i < 16 && !found && fgets(line, sizeof line, f); i++) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "version=", 8) && line[8] && strlen(line + 8) < n) {
			snprintf(buf, n, "%s", line + 8);
			found = true;
		}
	}
	fclose(f);
	return found;
}

void xfer_url_name(const char *url, char *buf, size_t n)
{
	const char *s = url ? strstr(url, "://") : NULL, *end, *slash;

	s = s ? s + 3 : (url ? url : "");
	end = s + strcspn(s, "?#");
	slash = NULL;
	for (const char *p = s; p < end; p++)
		if (*p == '/')
			slash = p;
	if (!slash || slash + 1 >= end) {
		snprintf(buf, n, "%s", "download");
		return;
	}
	snprintf(buf, n, "%.*s", (int)(end - slash - 1), slash + 1);
}

/* ---------------------------------------------------------------------------
 * Vendor configuration file: reading
 * ------------------------------------------------------------------------- */

static char *skip_blank(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int parse_quoted(char *s, char **value, const char **why)
{
	char *w = s, *r = s + 1;

	*value = s;
	for (; *r && *r != '"'; r++) {
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\' && *r != 'n') {
				*why = "bad escape in quoted value";
				return -1;
			}
			*w++ = *r == 'n' ? '\n' : *r;
		} else {
			*w++ = *r;
		}
	}
	if (*r != '"') {
		*why = "unterminated quote";
		return -1;
	}
	*w = '\0';
	if (*skip_blank(r + 1)) {
		*why = "text after the quoted value";
		return -1;
	}
	return 1;
}

/* One line in place: 0 nothing to apply, 1 an entry, -1 malformed. */
static int parse_config_line(char *line, char **path, char **value, const char **why)
{
	char *s = skip_blank(line), *end;
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (!*s || *s == '#')
		return 0;
	*path = s;
	end = s + strcspn(s, " \t");
	if (!*end) {
		*why = "no value";
		return -1;
	}
	*end = '\0';
	s = skip_blank(end + 1);
	if (*s == '"')
		return parse_quoted(s, value, why);
	*value = s;
	return 1;
}

/* Apply every line in txn t; 0, or the 1-based number of the bad line. */
static unsigned apply_lines(dm_txn *t, char *text, size_t len, char *msg, size_t msgsz)
{
	unsigned lineno = 0;
	char *line = text, *nl;
	dm_errinfo err;

	if (memchr(text, '\0', len)) {
		snprintf(msg, msgsz, "binary data in configuration file");
		return 1;
	}
	for (; line && *line; line = nl) {
		char *path = NULL, *value = NULL;
		const char *why = NULL;
		int kind;

		lineno++;
		if ((nl = strchr(line, '\n')))
			*nl++ = '\0';
		kind = parse_config_line(line, &path, &value, &why);
		if (kind < 0) {
			snprintf(msg, msgsz, "line %u: %s", lineno, why);
			return lineno;
		}
		memset(&err, 0, sizeof err);
		if (kind > 0 && dm_set(t, path, value, &err)) {
			snprintf(msg, msgsz, "line %u: %.120s: %.100s", lineno, path, *err.msg ? err.msg : dm_strerror(err.code));
			return lineno;
		}
	}
	return 0;
}

/* Name the applied file in a VendorConfigFile row (TR-069 12.2: the CPE
 * lists what it applied). Reporting only: a failure here is logged. */
static void note_config_file(cwmp_transfers *x, xfer *rec, const char *file)
{
	dm *d = x->a->d;
	char name[65], path[160], buf[80], now[XFER_TIME_LEN], version[17];
	uint32_t *insts = NULL, inst = 0;
	size_t n = 0;
	dm_txn *t;
	dm_errinfo err;
	int rc;

	if (!dm_schema_find(dm_get_schema(d), VCF_TABLE "{i}."))
		return;
	if (rec->target && *rec->target)
		snprintf(name, sizeof name, "%s", rec->target);
	else
		xfer_url_name(rec->url, name, sizeof name);
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t))
		return;
	if (!dm_list_instances(t, VCF_TABLE, &insts, &n, &err)) {
		for (size_t i = 0; i < n && !inst; i++) {
			snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".Name", insts[i]);
			if (!dm_get_value_buf(d, t, path, buf, sizeof buf, &err) && !strcmp(buf, name))
				inst = insts[i];
		}
		free(insts);
	}
	rc = inst ? 0 : dm_add(t, VCF_TABLE, NULL, &inst, &err);
	cwmp_now(now, sizeof now);
	if (!rc) {
		snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".Name", inst);
		rc = dm_set(t, path, name, &err);
	}
	if (!rc) {
		snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".Date", inst);
		rc = dm_set(t, path, now, &err);
	}
	if (!rc && xfer_file_version(file, version, sizeof version)) {
		snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".Version", inst);
		rc = dm_set(t, path, version, &err);
	}
	if (rc) {
		CORE_LOG_W("cwmp", "VendorConfigFile row not updated: %s", err.msg);
		dm_txn_abort(t);
		return;
	}
	if (dm_txn_commit(t, NULL, &err))
		CORE_LOG_W("cwmp", "VendorConfigFile row not updated: %s", err.msg);
}

static unsigned apply_config(cwmp_transfers *x, xfer *rec, const char *file, char *msg, size_t msgsz)
{
	size_t len = 0;
	char *text = read_file(file, CONFIG_MAX, &len);
	dm_txn *t;
	dm_errinfo err;

	if (!text) {
		snprintf(msg, msgsz, "configuration file unreadable or too large");
		return CWMP_FAULT_FILE_CORRUPTED;
	}
	if (dm_txn_begin(x->a->d, DM_TXN_WRITE, &x->a->origin, &t)) {
		free(text);
		snprintf(msg, msgsz, "data model busy");
		return CWMP_FAULT_INTERNAL;
	}
	if (apply_lines(t, text, len, msg, msgsz)) {
		dm_txn_abort(t);
		free(text);
		return CWMP_FAULT_FILE_CORRUPTED;
	}
	free(text);
	if (dm_txn_commit(t, NULL, &err)) {
		snprintf(msg, msgsz, "configuration not stored: %.200s", err.msg);
		return CWMP_FAULT_INTERNAL;
	}
	note_config_file(x, rec, file);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Firmware
 * ------------------------------------------------------------------------- */

static unsigned fault_of_fw(int rc)
{
	switch (rc) {
	case CORE_FW_OK: return 0;
	case CORE_FW_CORRUPT: return CWMP_FAULT_FILE_CORRUPTED;
	case CORE_FW_IO: return CWMP_FAULT_DOWNLOAD_FAILURE;
	case CORE_FW_NO_BANK:
	case CORE_FW_ACTIVE_BANK: return CWMP_FAULT_REQUEST_DENIED;
	default: return CWMP_FAULT_INTERNAL;
	}
}

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
		xfer_finish(x, rec, fault_of_fw(rc), core_firmware_strerror(rc));
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

unsigned xfer_firmware_outcome(cwmp_transfers *x, xfer *rec, const char **why)
{
	char version[CORE_FW_FIELD_MAX + 1];
	uint32_t bank = 0;

	if (core_firmware_active(x->a->d, &bank, version, sizeof version) || bank != rec->bank ||
	    !rec->expect_version || strcmp(version, rec->expect_version)) {
		*why = "the new firmware is not running after the restart";
		return CWMP_FAULT_DOWNLOAD_FAILURE;
	}
	return 0;
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
	return fault_of_fw(rc);
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

/* ---------------------------------------------------------------------------
 * Upload bodies
 * ------------------------------------------------------------------------- */

typedef struct tbuf {
	char *p;
	size_t len, cap;
	bool oom;
} tbuf;

static void tb_add(tbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void tb_puts(tbuf *b, const char *s)
{
	tb_add(b, s, strlen(s));
}

static bool needs_quotes(const char *v)
{
	return !*v || *v == '#' || *v == '"' || strpbrk(v, " \t\"\\\n\r") != NULL;
}

static void tb_value(tbuf *b, const char *v)
{
	if (!needs_quotes(v)) {
		tb_puts(b, v);
		return;
	}
	tb_add(b, "\"", 1);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			tb_add(b, "\\", 1);
		if (*v == '\n')
			tb_add(b, "\\n", 2);
		else if (*v != '\r')
			tb_add(b, v, 1);
	}
	tb_add(b, "\"", 1);
}

typedef struct dump_ctx {
	dm *d;
	tbuf *b;
} dump_ctx;

/* Every stored writable parameter a manager may read: what a restore
 * through Download type 3 can set again. */
static int dump_one(void *ctx, const dm_item *it)
{
	dump_ctx *c = ctx;

	if (!it->value || dm_node_get_kind(it->node) != DM_NODE_PARAM ||
	    dm_node_access(it->node) != DM_ACCESS_READ_WRITE || dm_node_is_hidden(it->node) ||
	    dm_param_is_live(c->d, it->node))
		return 0;
	tb_puts(c->b, it->path);
	tb_add(c->b, " ", 1);
	tb_value(c->b, it->value);
	tb_add(c->b, "\n", 1);
	return 0;
}

static int config_body(cwmp_transfers *x, tbuf *b)
{
	dump_ctx c = {x->a->d, b};
	dm_txn *t;
	dm_errinfo err;
	char now[XFER_TIME_LEN];
	int rc;

	cwmp_now(now, sizeof now);
	tb_puts(b, "# duet vendor configuration file, ");
	tb_puts(b, now);
	tb_puts(b, "\n");
	if ((rc = dm_txn_begin(x->a->d, DM_TXN_READ, NULL, &t)))
		return rc;
	rc = dm_resolve(t, DM_GRAMMAR_USP, "Device.", DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, dump_one, &c, &err);
	dm_txn_abort(t);
	return rc;
}

static void log_value(cwmp_transfers *x, tbuf *b, const char *label, const char *path)
{
	char buf[128];
	dm_errinfo err;

	if (dm_get_value_buf(x->a->d, NULL, path, buf, sizeof buf, &err))
		snprintf(buf, sizeof buf, "unknown");
	tb_puts(b, label);
	tb_puts(b, buf);
	tb_puts(b, "\n");
}

static void log_body(cwmp_transfers *x, tbuf *b)
{
	char now[XFER_TIME_LEN], *count = NULL;
	dm_txn *t;
	dm_errinfo err;
	unsigned first = x->n_history > 8 ? x->n_history - 8 : 0;

	cwmp_now(now, sizeof now);
	tb_puts(b, "duet vendor log, ");
	tb_puts(b, now);
	tb_puts(b, "\nboot count: ");
	if (!dm_txn_begin(x->a->d, DM_TXN_READ, NULL, &t)) {
		dm_state_get(t, "boot", "count", &count, NULL, &err);
		dm_txn_abort(t);
	}
	tb_puts(b, count ? count : "unknown");
	free(count);
	tb_puts(b, "\n");
	log_value(x, b, "up time (s): ", "Device.DeviceInfo.UpTime");
	log_value(x, b, "software version: ", "Device.DeviceInfo.SoftwareVersion");
	tb_puts(b, "recent transfers:\n");
	for (unsigned i = first; i < x->n_history; i++) {
		tb_puts(b, "  ");
		tb_puts(b, x->history[i % 8]);
		tb_puts(b, "\n");
	}
}

int xfer_upload_body(cwmp_transfers *x, xfer *rec, char **body, size_t *len, unsigned *fault,
		     const char **why)
{
	tbuf b = {0};

	if (!strncmp(rec->file_type, "2 ", 2) || !strncmp(rec->file_type, "4 ", 2))
		log_body(x, &b);
	else if (config_body(x, &b)) {
		free(b.p);
		*fault = CWMP_FAULT_UPLOAD_FAILURE;
		*why = "configuration could not be read";
		return -1;
	}
	if (b.oom || !b.p) {
		free(b.p);
		*fault = CWMP_FAULT_INTERNAL;
		*why = "out of memory";
		return -1;
	}
	*body = b.p;
	*len = b.len;
	return 0;
}
