/*
 * xfer_apply.c - what a downloaded vendor configuration file does, what a
 * configuration backup and the vendor log file send, and how a firmware
 * install reads as a transfer outcome; for either door.
 *
 * A vendor configuration file is text, one "<parameter path> <value>" per
 * line; values that are empty or hold blanks, quotes, backslashes or a
 * leading '#' are double-quoted with \" \\ and \n as escapes; '#' starts a
 * comment line; blank lines are ignored. The file applies as one
 * transaction of the manager who asked: a single bad line and nothing
 * applies (9018, with the line number).
 */
#include "xfer_int.h"
#include "admin.h"
#include "firmware.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX (4u << 20) /* larger is not a configuration file */
#define VCF_TABLE "Device.DeviceInfo.VendorConfigFile."

static const dm_origin self = {DM_ORIGIN_INTERNAL, "transfer"};

/* ---------------------------------------------------------------------------
 * Vendor configuration file: reading
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

/* The row a file is noted in: row itself, else the one called name (added
 * when missing). 0 when there is none to use. */
static uint32_t config_row(dm_txn *t, dm *d, uint32_t row, const char *name)
{
	char path[160], buf[80];
	uint32_t *insts = NULL, inst = 0;
	size_t n = 0;
	dm_errinfo err;

	if (row)
		return row;
	if (!dm_list_instances(t, VCF_TABLE, &insts, &n, &err)) {
		for (size_t i = 0; i < n && !inst; i++) {
			snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".Name", insts[i]);
			if (!dm_get_value_buf(d, t, path, buf, sizeof buf, &err) && !strcmp(buf, name))
				inst = insts[i];
		}
		free(insts);
	}
	if (!inst && dm_add(t, VCF_TABLE, NULL, &inst, &err))
		return 0;
	return inst;
}

static int row_put(dm_txn *t, uint32_t inst, const char *param, const char *value)
{
	char path[160];
	dm_errinfo err;

	snprintf(path, sizeof path, VCF_TABLE "%" PRIu32 ".%s", inst, param);
	return dm_set(t, path, value, &err);
}

/* Name the applied file in a VendorConfigFile row (TR-069 12.2: the CPE
 * lists what it applied). Reporting only: a failure here is logged. */
static void note_config_file(dm *d, uint32_t row, const char *name, const char *file)
{
	char now[MAP_XFER_TIME_LEN], version[17];
	uint32_t inst;
	dm_txn *t;
	dm_errinfo err;
	int rc;

	if (!dm_schema_find(dm_get_schema(d), VCF_TABLE "{i}."))
		return;
	if (dm_txn_begin(d, DM_TXN_WRITE, &self, &t))
		return;
	dm_datetime_now(now, sizeof now);
	inst = config_row(t, d, row, name);
	rc = inst ? 0 : DM_ERR_NOT_INSTANTIATED;
	if (!rc && !row)
		rc = row_put(t, inst, "Name", name);
	if (!rc)
		rc = row_put(t, inst, "Date", now);
	if (!rc && map_xfer_file_version(file, version, sizeof version))
		rc = row_put(t, inst, "Version", version);
	if (rc) {
		CORE_LOG_W("xfer", "VendorConfigFile row not updated: %s", dm_strerror(rc));
		dm_txn_abort(t);
		return;
	}
	if (dm_txn_commit(t, NULL, &err))
		CORE_LOG_W("xfer", "VendorConfigFile row not updated: %s", err.msg);
}

unsigned map_xfer_config_apply(dm *d, const dm_origin *origin, const char *file, uint32_t row,
			       const char *name, char *msg, size_t msgsz)
{
	size_t len = 0;
	char *text = read_file(file, CONFIG_MAX, &len);
	dm_txn *t;
	dm_errinfo err;

	if (!text) {
		snprintf(msg, msgsz, "configuration file unreadable or too large");
		return MAP_XFER_F_CORRUPTED;
	}
	if (dm_txn_begin(d, DM_TXN_WRITE, origin, &t)) {
		free(text);
		snprintf(msg, msgsz, "data model busy");
		return MAP_XFER_F_INTERNAL;
	}
	if (apply_lines(t, text, len, msg, msgsz)) {
		dm_txn_abort(t);
		free(text);
		return MAP_XFER_F_CORRUPTED;
	}
	free(text);
	if (dm_txn_commit(t, NULL, &err)) {
		snprintf(msg, msgsz, "configuration not stored: %.200s", err.msg);
		return MAP_XFER_F_INTERNAL;
	}
	note_config_file(d, row, name ? name : "", file);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Firmware
 * ------------------------------------------------------------------------- */

unsigned map_xfer_firmware_fault(int rc)
{
	switch (rc) {
	case CORE_FW_OK: return 0;
	case CORE_FW_CORRUPT: return MAP_XFER_F_CORRUPTED;
	case CORE_FW_IO: return MAP_XFER_F_DOWNLOAD;
	case CORE_FW_NO_BANK:
	case CORE_FW_ACTIVE_BANK: return MAP_XFER_F_DENIED;
	default: return MAP_XFER_F_INTERNAL;
	}
}

unsigned map_xfer_firmware_outcome(dm *d, uint32_t bank, const char *expect_version, const char **why)
{
	char version[CORE_FW_FIELD_MAX + 1];
	uint32_t active = 0;

	if (core_firmware_active(d, &active, version, sizeof version) || active != bank || !expect_version ||
	    strcmp(version, expect_version)) {
		*why = "the new firmware is not running after the restart";
		return MAP_XFER_F_DOWNLOAD;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Upload bodies
 * ------------------------------------------------------------------------- */

/* The body under construction: a failed append is remembered, not
 * checked at every call. */
typedef struct tbuf {
	core_buf buf;
	bool oom;
} tbuf;

static void tb_add(tbuf *b, const char *s, size_t n)
{
	if (!b->oom && core_buf_append(&b->buf, s, n))
		b->oom = true;
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

static int config_dump(dm *d, tbuf *b)
{
	dump_ctx c = {d, b};
	dm_txn *t;
	dm_errinfo err;
	char now[MAP_XFER_TIME_LEN];
	int rc;

	dm_datetime_now(now, sizeof now);
	tb_puts(b, "# duet vendor configuration file, ");
	tb_puts(b, now);
	tb_puts(b, "\n");
	if ((rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t)))
		return rc;
	rc = dm_resolve(t, DM_GRAMMAR_USP, "Device.", DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, dump_one, &c, &err);
	dm_txn_abort(t);
	return rc;
}

static void log_value(dm *d, tbuf *b, const char *label, const char *path)
{
	char buf[128];
	dm_errinfo err;

	if (dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err))
		snprintf(buf, sizeof buf, "unknown");
	tb_puts(b, label);
	tb_puts(b, buf);
	tb_puts(b, "\n");
}

static void log_dump(map_xfer *x, dm *d, tbuf *b)
{
	char now[MAP_XFER_TIME_LEN], *count = NULL;
	const char *lines[16];
	size_t n = x ? xfer_history(x, lines, 16) : 0;
	dm_txn *t;
	dm_errinfo err;

	dm_datetime_now(now, sizeof now);
	tb_puts(b, "duet vendor log, ");
	tb_puts(b, now);
	tb_puts(b, "\nboot count: ");
	if (!dm_txn_begin(d, DM_TXN_READ, NULL, &t)) {
		dm_state_get(t, "boot", "count", &count, NULL, &err);
		dm_txn_abort(t);
	}
	tb_puts(b, count ? count : "unknown");
	free(count);
	tb_puts(b, "\n");
	log_value(d, b, "up time (s): ", "Device.DeviceInfo.UpTime");
	log_value(d, b, "software version: ", "Device.DeviceInfo.SoftwareVersion");
	tb_puts(b, "recent transfers:\n");
	for (size_t i = 0; i < n; i++) {
		tb_puts(b, "  ");
		tb_puts(b, lines[i]);
		tb_puts(b, "\n");
	}
}

static unsigned body_out(tbuf *b, char **body, size_t *len)
{
	if (b->oom || !b->buf.data) {
		core_buf_free(&b->buf);
		return MAP_XFER_F_INTERNAL;
	}
	*body = b->buf.data;
	*len = b->buf.len;
	return 0;
}

unsigned map_xfer_config_body(dm *d, char **body, size_t *len)
{
	tbuf b = {0};

	if (config_dump(d, &b)) {
		core_buf_free(&b.buf);
		return MAP_XFER_F_UPLOAD;
	}
	return body_out(&b, body, len);
}

unsigned map_xfer_log_body(map_xfer *x, dm *d, char **body, size_t *len)
{
	tbuf b = {0};

	log_dump(x, d, &b);
	return body_out(&b, body, len);
}
