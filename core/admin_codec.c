/*
 * admin_codec.c - byte level of the admin line protocol (see admin.h):
 * field escaping, splitting lines into fields, and reassembling lines from
 * arbitrary read chunks with a length cap. No sockets, no engine.
 */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * core_buf
 * ------------------------------------------------------------------------- */

static int buf_reserve(core_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return CORE_ERR_NOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return CORE_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return CORE_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return CORE_OK;
}

int core_buf_append(core_buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CORE_OK;
}

int core_buf_append_str(core_buf *b, const char *s)
{
	return core_buf_append(b, s, strlen(s));
}

void core_buf_reset(core_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void core_buf_free(core_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------------------------
 * Escaping
 * ------------------------------------------------------------------------- */

int core_admin_escape(core_buf *out, const char *s, size_t len)
{
	size_t run = 0; /* bytes copied in one go between escapes */

	for (size_t i = 0; i < len; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		int rc = core_buf_append(out, s + run, i - run);
		if (!rc)
			rc = core_buf_append(out, esc, 2);
		if (rc)
			return rc;
		run = i + 1;
	}
	return core_buf_append(out, s + run, len - run);
}

int core_admin_unescape(char *s, size_t *len)
{
	size_t r = 0, w = 0, n = *len;

	while (r < n) {
		char c = s[r++];
		if (c == '\\') {
			if (r >= n)
				return CORE_ERR_PROTOCOL;
			char e = s[r++];
			c = e == '\\' ? '\\' : e == 't' ? '\t' : e == 'n' ? '\n' : 0;
			if (!c)
				return CORE_ERR_PROTOCOL;
		}
		s[w++] = c;
	}
	s[w] = '\0';
	*len = w;
	return CORE_OK;
}

int core_admin_put_line(core_buf *out, const char *const *fields, size_t n)
{
	size_t mark = out->len;
	int rc = CORE_OK;

	for (size_t i = 0; i < n && !rc; i++) {
		if (i)
			rc = core_buf_append(out, "\t", 1);
		if (!rc)
			rc = core_admin_escape(out, fields[i] ? fields[i] : "",
					       fields[i] ? strlen(fields[i]) : 0);
	}
	if (!rc)
		rc = core_buf_append(out, "\n", 1);
	if (rc) /* never leave half a line behind */
		out->len = mark;
	return rc;
}

int core_admin_put_final(core_buf *out, int code, const char *msg)
{
	char num[24];

	if (code == 0)
		return core_admin_put_line(out, (const char *const[]){ "ok" }, 1);
	snprintf(num, sizeof num, "%d", code);
	return core_admin_put_line(out, (const char *const[]){ "err", num, msg ? msg : "" }, 3);
}

/* ---------------------------------------------------------------------------
 * Splitting
 * ------------------------------------------------------------------------- */

int core_admin_split(const char *line, size_t len, core_admin_fields *out)
{
	size_t n = 1;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < len; i++)
		n += line[i] == '\t';
	out->store = malloc(len + 1);
	out->v = calloc(n, sizeof *out->v);
	if (!out->store || !out->v) {
		core_admin_fields_free(out);
		return CORE_ERR_NOMEM;
	}
	memcpy(out->store, line, len);
	out->store[len] = '\0';

	char *p = out->store;
	for (size_t i = 0; i < n; i++) {
		char *tab = memchr(p, '\t', (size_t)(out->store + len - p));
		size_t flen = tab ? (size_t)(tab - p) : (size_t)(out->store + len - p);
		/* Escapes never contain a raw TAB, so splitting first is safe. */
		int rc = core_admin_unescape(p, &flen);
		if (rc) {
			core_admin_fields_free(out);
			return rc;
		}
		out->v[i] = p;
		p = tab ? tab + 1 : p + flen;
	}
	out->n = n;
	return CORE_OK;
}

void core_admin_fields_free(core_admin_fields *f)
{
	free(f->v);
	free(f->store);
	memset(f, 0, sizeof *f);
}

/* ---------------------------------------------------------------------------
 * Line reassembly
 * ------------------------------------------------------------------------- */

void core_linebuf_init(core_linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof *lb);
	lb->max = max;
}

void core_linebuf_free(core_linebuf *lb)
{
	free(lb->data);
	memset(lb, 0, sizeof *lb);
}

static int linebuf_append(core_linebuf *lb, const char *p, size_t n)
{
	if (lb->start) { /* drop what was handed out before growing */
		memmove(lb->data, lb->data + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	if (lb->len + n > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		while (cap < lb->len + n)
			cap *= 2;
		char *d = realloc(lb->data, cap);
		if (!d)
			return CORE_ERR_NOMEM;
		lb->data = d;
		lb->cap = cap;
	}
	memcpy(lb->data + lb->len, p, n);
	lb->len += n;
	return CORE_OK;
}

int core_linebuf_feed(core_linebuf *lb, const char *p, size_t n)
{
	if (lb->skipping) {
		const char *nl = memchr(p, '\n', n);
		if (!nl)
			return CORE_OK;
		lb->skipping = false;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return n ? linebuf_append(lb, p, n) : CORE_OK;
}

int core_linebuf_next(core_linebuf *lb, const char **line, size_t *len)
{
	size_t avail = lb->len - lb->start;
	const char *s = lb->data + lb->start;
	const char *nl = avail ? memchr(s, '\n', avail) : NULL;

	if (nl) {
		size_t l = (size_t)(nl - s);
		lb->start += l + 1;
		if (lb->start == lb->len)
			lb->start = lb->len = 0; /* data stays valid: nothing is moved */
		if (l > lb->max)
			return CORE_ERR_TOO_LONG;
		*line = s;
		*len = l;
		return CORE_OK;
	}
	if (avail > lb->max) {
		/* Keep no more than the cap in memory: the rest is dropped on arrival. */
		lb->start = lb->len = 0;
		lb->skipping = true;
		return CORE_ERR_TOO_LONG;
	}
	return CORE_ERR_AGAIN;
}
