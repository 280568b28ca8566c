/*
 * transfer_store.c - a transfer record as agent state (namespace
 * "cwmp.xfer", key = the zero-padded sequence number): "name=value" lines,
 * values with '\\' and '\n' escaped, absent strings left out. One field
 * table serves both directions. Credentials are stored too: agent state is
 * not readable by any manager.
 */
#include "transfer_priv.h"
#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum ftype { F_STR, F_TIME, F_UINT, F_INT, F_I64, F_SIZE } ftype;

typedef struct field {
	const char *name;
	ftype type;
	size_t off;
} field;

#define R(n, t, m) {n, t, offsetof(xfer, m)}
static const field rec_fields[] = {
	R("kind", F_INT, kind),         R("state", F_INT, state),
	R("key", F_STR, command_key),   R("type", F_STR, file_type),
	R("url", F_STR, url),           R("user", F_STR, username),
	R("pass", F_STR, password),     R("target", F_STR, target),
	R("size", F_UINT, file_size),   R("due", F_I64, due),
	R("deadline", F_I64, deadline), R("after", F_INT, after_session),
	R("confirm", F_INT, confirm),   R("start", F_TIME, start),
	R("complete", F_TIME, complete), R("fault", F_UINT, fault),
	R("fstr", F_STR, fault_string), R("bank", F_UINT, bank),
	R("expect", F_STR, expect_version), R("nops", F_SIZE, n_ops),
	R("nextop", F_SIZE, next_op),  R("up", F_INT, upload),
};
#undef R

#define O(n, t, m) {n, t, offsetof(xfer_du_op, m)}
static const field op_fields[] = {
	O("op", F_INT, op),           O("url", F_STR, url),
	O("uuid", F_STR, uuid),       O("ver", F_STR, version),
	O("user", F_STR, username),   O("pass", F_STR, password),
	O("ee", F_STR, ee_ref),       O("ruuid", F_STR, r_uuid),
	O("rref", F_STR, r_ref),      O("rver", F_STR, r_version),
	O("rstate", F_STR, r_state),  O("rres", F_INT, r_resolved),
	O("rstart", F_TIME, r_start), O("rcomplete", F_TIME, r_complete),
	O("rfault", F_UINT, r_fault), O("rfstr", F_STR, r_fault_string),
};
#undef O

#define N_FIELDS(t) (sizeof(t) / sizeof *(t))
#define MAX_OPS 64

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------- */

/* A record under construction: a failed append is remembered, not
 * checked at every call. */
typedef struct sbuf {
	core_buf buf;
	bool oom;
} sbuf;

static void sb_putc(sbuf *b, char c)
{
	if (!b->oom && core_buf_append(&b->buf, &c, 1))
		b->oom = true;
}

static void sb_puts(sbuf *b, const char *s)
{
	for (; *s; s++)
		sb_putc(b, *s);
}

static void sb_escaped(sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '\n') {
			sb_putc(b, '\\');
			sb_putc(b, *s == '\n' ? 'n' : '\\');
		} else {
			sb_putc(b, *s);
		}
	}
}

static void put_field(sbuf *b, const char *prefix, const field *f, const void *base)
{
	const char *p = (const char *)base + f->off;
	char num[32];
	const char *v = num;

	switch (f->type) {
	case F_STR:
		v = *(char *const *)p;
		if (!v)
			return;
		break;
	case F_TIME: v = p; break;
	case F_UINT: snprintf(num, sizeof num, "%u", *(const unsigned *)p); break;
	case F_INT: snprintf(num, sizeof num, "%d", *(const int *)p); break;
	case F_I64: snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)p); break;
	case F_SIZE: snprintf(num, sizeof num, "%zu", *(const size_t *)p); break;
	}
	sb_puts(b, prefix);
	sb_puts(b, f->name);
	sb_putc(b, '=');
	sb_escaped(b, v);
	sb_putc(b, '\n');
}

static char *serialise(const xfer *rec, size_t *len)
{
	sbuf b = {0};
	char prefix[24];

	for (size_t i = 0; i < N_FIELDS(rec_fields); i++)
		put_field(&b, "", &rec_fields[i], rec);
	for (size_t k = 0; k < rec->n_ops; k++) {
		snprintf(prefix, sizeof prefix, "o%zu.", k);
		for (size_t i = 0; i < N_FIELDS(op_fields); i++)
			put_field(&b, prefix, &op_fields[i], &rec->ops[k]);
	}
	if (b.oom) {
		core_buf_free(&b.buf);
		return NULL;
	}
	*len = b.buf.len;
	return b.buf.data;
}

/* ---------------------------------------------------------------------------
 * Reading: unknown names are skipped (a newer agent may add some); a bad
 * number or an impossible op index makes the record unreadable.
 * ------------------------------------------------------------------------- */

static bool set_field(const field *f, void *base, const char *v)
{
	char *p = (char *)base + f->off, *end;
	long long n;
	unsigned long long u;

	errno = 0;
	switch (f->type) {
	case F_STR:
		free(*(char **)p);
		return (*(char **)p = strdup(v)) != NULL;
	case F_TIME:
		snprintf(p, XFER_TIME_LEN, "%s", v);
		return true;
	case F_INT:
	case F_I64:
		n = strtoll(v, &end, 10);
		if (errno || *end || end == v)
			return false;
		if (f->type == F_INT)
			*(int *)p = (int)n;
		else
			*(int64_t *)p = n;
		return true;
	case F_UINT:
	case F_SIZE:
		u = strtoull(v, &end, 10);
		if (errno || *end || end == v || *v == '-')
			return false;
		if (f->type == F_UINT)
			*(unsigned *)p = (unsigned)u;
		else
			*(size_t *)p = (size_t)u;
		return true;
	}
	return false;
}

static bool set_named(const field *t, size_t n, void *base, const char *name, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return set_field(&t[i], base, v);
	return true;
}

static bool set_op_field(xfer *rec, const char *name, const char *v)
{
	char *end;
	unsigned long k = strtoul(name + 1, &end, 10);

	if (*end != '.' || k >= MAX_OPS)
		return false;
	if (k >= rec->n_ops) {
		xfer_du_op *ops = realloc(rec->ops, (k + 1) * sizeof *ops);
		if (!ops)
			return false;
		memset(ops + rec->n_ops, 0, (k + 1 - rec->n_ops) * sizeof *ops);
		rec->ops = ops;
		rec->n_ops = k + 1;
	}
	return set_named(op_fields, N_FIELDS(op_fields), &rec->ops[k], end + 1, v);
}

static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*w++ = *s == 'n' ? '\n' : *s;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static bool parse_line(xfer *rec, char *line)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return false;
	*eq = '\0';
	unescape(eq + 1);
	if (line[0] == 'o' && line[1] >= '0' && line[1] <= '9')
		return set_op_field(rec, line, eq + 1);
	if (!strcmp(line, "nops"))
		return true; /* n_ops follows the op fields present */
	return set_named(rec_fields, N_FIELDS(rec_fields), rec, line, eq + 1);
}

static xfer *deserialise(const char *value, size_t len)
{
	xfer *rec = calloc(1, sizeof *rec);
	char *copy = malloc(len + 1), *save = NULL;
	bool ok = rec && copy;

	if (ok) {
		memcpy(copy, value, len);
		copy[len] = '\0';
		for (char *l = strtok_r(copy, "\n", &save); l && ok; l = strtok_r(NULL, "\n", &save))
			ok = parse_line(rec, l);
	}
	free(copy);
	if (ok && (rec->kind < XFER_DOWNLOAD || rec->kind > XFER_AUTONOMOUS_DU || rec->state < XFER_QUEUED ||
		   rec->state > XFER_DONE || rec->next_op > rec->n_ops))
		ok = false;
	if (!ok) {
		xfer_free(rec);
		return NULL;
	}
	return rec;
}

/* ---------------------------------------------------------------------------
 * Store access
 * ------------------------------------------------------------------------- */

static const dm_origin self = {DM_ORIGIN_INTERNAL, "cwmp-transfer"};

static void seq_key(uint32_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "%010" PRIu32, seq);
}

int xfer_store_put(dm *d, const xfer *rec, uint32_t next_seq)
{
	char key[16], next[16];
	size_t len = 0;
	char *v = serialise(rec, &len);
	dm_txn *t;
	dm_errinfo err;
	int rc;

	if (!v)
		return DM_ERR_NOMEM;
	seq_key(rec->seq, key, sizeof key);
	snprintf(next, sizeof next, "%" PRIu32, next_seq);
	if ((rc = dm_txn_begin(d, DM_TXN_WRITE, &self, &t))) {
		free(v);
		return rc;
	}
	rc = dm_state_put(t, XFER_NS, key, v, len, &err);
	if (!rc)
		rc = dm_state_put(t, XFER_NS, "next", next, strlen(next), &err);
	free(v);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

int xfer_store_del(dm *d, uint32_t seq)
{
	char key[16];
	dm_txn *t;
	dm_errinfo err;
	int rc;

	seq_key(seq, key, sizeof key);
	if ((rc = dm_txn_begin(d, DM_TXN_WRITE, &self, &t)))
		return rc;
	if ((rc = dm_state_del(t, XFER_NS, key, &err))) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

typedef struct load_ctx {
	xfer **tail;
	uint32_t next_seq;
	bool oom;
} load_ctx;

static int load_one(void *ctx, const char *key, const void *value, size_t len)
{
	load_ctx *c = ctx;
	char *end;
	unsigned long seq;
	xfer *rec;

	if (!strcmp(key, "next")) {
		char num[16];
		snprintf(num, sizeof num, "%.*s", (int)(len < 15 ? len : 15), (const char *)value);
		seq = strtoul(num, &end, 10);
		if (seq > c->next_seq && seq <= UINT32_MAX)
			c->next_seq = (uint32_t)seq;
		return 0;
	}
	seq = strtoul(key, &end, 10);
	if (*end || !seq || seq >= UINT32_MAX)
		return 0;
	if (!(rec = deserialise(value, len))) {
		CORE_LOG_W("cwmp", "transfer record %s unreadable, skipped", key);
		return 0;
	}
	rec->seq = (uint32_t)seq;
	if (rec->seq >= c->next_seq)
		c->next_seq = rec->seq + 1;
	*c->tail = rec;
	c->tail = &rec->next;
	return 0;
}

int xfer_store_load(dm *d, xfer **list, uint32_t *next_seq)
{
	load_ctx c = {list, 1, false};
	dm_txn *t;
	int rc;

	*list = NULL;
	if ((rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t)))
		return rc;
	rc = dm_state_each(t, XFER_NS, load_one, &c);
	dm_txn_abort(t);
	*next_seq = c.next_seq;
	return rc;
}

static int collect_key(void *ctx, const char *key, const void *value, size_t len)
{
	sbuf *b = ctx;

	if (strcmp(key, "next")) {
		sb_puts(b, key);
		sb_putc(b, '\n');
	}
	return 0;
}

int xfer_store_clear(dm *d)
{
	sbuf keys = {0};
	dm_txn *t;
	dm_errinfo err;
	char *save = NULL;
	int rc;

	if ((rc = dm_txn_begin(d, DM_TXN_WRITE, &self, &t)))
		return rc;
	/* collect first: records are not deleted under the walk */
	rc = dm_state_each(t, XFER_NS, collect_key, &keys);
	if (!rc && keys.oom)
		rc = DM_ERR_NOMEM;
	for (char *k = keys.buf.data ? strtok_r(keys.buf.data, "\n", &save) : NULL; k && !rc; k = strtok_r(NULL, "\n", &save))
		rc = dm_state_del(t, XFER_NS, k, &err);
	core_buf_free(&keys.buf);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}
