/*
 * reply.c - storage of a reply under construction: strings in chunks,
 * arrays tracked one by one, all released by cwmp_reply_free.
 */
#include "cwmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <errno.h>
#include <time.h>

#define CHUNK_MIN 4096

typedef struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
} chunk;

typedef struct tracked {
	struct tracked *next;
	void *p;
} tracked;

struct cwmp_reply_mem {
	chunk *chunks;
	tracked *arrays;
};

void cwmp_reply_init(cwmp_reply *r)
{
	memset(r, 0, sizeof *r);
	r->msg.kind = CWMP_MSG_EMPTY;
	r->msg.hdr.hold_requests = -1; /* the CPE never sends HoldRequests */
}

void cwmp_reply_free(cwmp_reply *r)
{
	if (r->mem) {
		for (chunk *c = r->mem->chunks, *n; c; c = n) {
			n = c->next;
			free(c);
		}
		for (tracked *t = r->mem->arrays, *n; t; t = n) {
			n = t->next;
			free(t->p);
			free(t);
		}
		free(r->mem);
	}
	cwmp_reply_init(r);
}

static cwmp_reply_mem *mem_of(cwmp_reply *r)
{
	if (!r->mem)
		r->mem = calloc(1, sizeof *r->mem);
	return r->mem;
}

void *cwmp_reply_alloc(cwmp_reply *r, size_t n)
{
	cwmp_reply_mem *m = mem_of(r);
	const size_t align = sizeof(max_align_t);
	chunk *c;

	if (!m)
		return NULL;
	n = (n + align - 1) / align * align;
	if (!n)
		n = align;
	c = m->chunks;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;

		/* grow chunk sizes with the reply: a whole-tree answer makes few */
		if (c && c->size * 2 > size && c->size < (1u << 22))
			size = c->size * 2;
		if (!(c = malloc(sizeof *c + size)))
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = m->chunks;
		m->chunks = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *cwmp_reply_strndup(cwmp_reply *r, const char *s, size_t n)
{
	char *p = cwmp_reply_alloc(r, n + 1);

	if (p && n)
		memcpy(p, s, n);
	return p;
}

char *cwmp_reply_strdup(cwmp_reply *r, const char *s)
{
	return s ? cwmp_reply_strndup(r, s, strlen(s)) : cwmp_reply_strndup(r, "", 0);
}

char *cwmp_reply_printf(cwmp_reply *r, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof small)
		return cwmp_reply_strndup(r, small, (size_t)n);
	char *p = cwmp_reply_alloc(r, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int cwmp_reply_reserve(cwmp_reply *r, void **arr, size_t *cap, size_t need, size_t elem)
{
	cwmp_reply_mem *m = mem_of(r);
	tracked *t = NULL;

	if (!m)
		return DM_ERR_NOMEM;
	if (*arr && need <= *cap)
		return 0;
	if (*arr) {
		for (t = m->arrays; t && t->p != *arr; t = t->next)
			;
		if (!t)
			return DM_ERR_INTERNAL; /* not an array of this reply */
	}
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > ((size_t)-1 / 2) / elem)
			return DM_ERR_NOMEM;
		ncap *= 2;
	}
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return DM_ERR_NOMEM;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	if (!t) {
		if (!(t = malloc(sizeof *t))) {
			free(p);
			return DM_ERR_NOMEM;
		}
		t->next = m->arrays;
		m->arrays = t;
	}
	t->p = p;
	*arr = p;
	*cap = ncap;
	return 0;
}

int cwmp_reply_fault(cwmp_reply *r, unsigned code, const char *detail)
{
	cwmp_header hdr = r->msg.hdr;

	memset(&r->msg, 0, sizeof r->msg);
	r->msg.hdr = hdr;
	r->msg.kind = CWMP_MSG_FAULT;
	r->msg.u.fault.faultcode = (char *)cwmp_fault_faultcode(code);
	r->msg.u.fault.faultstring = "CWMP fault";
	r->msg.u.fault.code = code;
	r->msg.u.fault.string = cwmp_reply_strdup(r, detail && *detail ? detail : cwmp_fault_text(code));
	return r->msg.u.fault.string ? 0 : DM_ERR_NOMEM;
}

int cwmp_reply_spv_fault(cwmp_reply *r, const char *name, unsigned code, const char *detail)
{
	cwmp_fault *f = &r->msg.u.fault;
	size_t cap = f->n_spv; /* exact capacity: grow one by one through reserve's doubling */

	if (r->msg.kind != CWMP_MSG_FAULT)
		return DM_ERR_TXN_STATE;
	/* reserve doubles from 16; keep the capacity rounded the same way */
	if (cap) {
		size_t c = 16;
		while (c < cap)
			c *= 2;
		cap = c;
	}
	if (cwmp_reply_reserve(r, (void **)&f->spv, &cap, f->n_spv + 1, sizeof *f->spv))
		return DM_ERR_NOMEM;
	cwmp_spv_fault *e = &f->spv[f->n_spv];
	e->name = cwmp_reply_strdup(r, name);
	e->code = code;
	e->string = cwmp_reply_strdup(r, detail && *detail ? detail : cwmp_fault_text(code));
	if (!e->name || !e->string)
		return DM_ERR_NOMEM;
	f->n_spv++;
	return 0;
}

int cwmp_random_bytes(unsigned char *buf, size_t n)
{
	while (n) {
		ssize_t got = getrandom(buf, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		buf += got;
		n -= (size_t)got;
	}
	return 1;
}
