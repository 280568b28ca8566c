/*
 * mem.c - response memory (usp_mem): a bump arena holding every allocation
 * made while one response Msg is built, freed at once after it is packed.
 * protobuf-c trees are many small nodes, strings and pointer arrays; an
 * arena turns their clean-up into one walk over a few blocks. Nothing here
 * knows a message type beyond protobuf-c's generic descriptor.
 */
#include "usp_int.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 8192
#define ALIGN alignof(max_align_t)

typedef struct block {
	struct block *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
} block;

struct usp_mem {
	block *head; /* the block being filled; older and oversized ones follow */
};

usp_mem *usp_mem_new(void)
{
	return calloc(1, sizeof(usp_mem));
}

static block *block_new(size_t size)
{
	block *b = calloc(1, sizeof *b + size);
	if (b)
		b->size = size;
	return b;
}

void *usp_mem_alloc(usp_mem *m, size_t size)
{
	if (!m)
		return NULL;
	size_t need = (size + ALIGN - 1) & ~(ALIGN - 1);
	if (need < size)
		return NULL;
	if (!need)
		need = ALIGN;
	block *h = m->head;
	if (h && h->size - h->used >= need) {
		void *p = h->data + h->used;
		h->used += need;
		return p; /* blocks come zeroed from calloc and are never reused */
	}
	if (need > BLOCK_SIZE / 4) {
		/* a large item gets its own block behind the head, so the space
		 * left in the head still serves the small ones */
		block *b = block_new(need);
		if (!b)
			return NULL;
		b->used = need;
		if (h) {
			b->next = h->next;
			h->next = b;
		} else {
			m->head = b;
		}
		return b->data;
	}
	block *b = block_new(BLOCK_SIZE);
	if (!b)
		return NULL;
	b->next = h;
	m->head = b;
	b->used = need;
	return b->data;
}

char *usp_mem_strdup(usp_mem *m, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = usp_mem_alloc(m, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *usp_mem_printf(usp_mem *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = usp_mem_alloc(m, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Capacity is implied by the count (4, then powers of two), so an array
 * grown only through this function needs no stored capacity; the old copy
 * stays in the arena, which at most doubles the space arrays take. */
int usp_mem_push(usp_mem *m, void ***arr, size_t *n, void *item)
{
	size_t cur = *n;
	if (cur == 0 || (cur >= 4 && (cur & (cur - 1)) == 0)) {
		size_t cap = cur ? cur * 2 : 4;
		if (cap < cur)
			return DM_ERR_NOMEM;
		void **na = usp_mem_alloc(m, cap * sizeof *na);
		if (!na)
			return DM_ERR_NOMEM;
		if (cur)
			memcpy(na, *arr, cur * sizeof *na);
		*arr = na;
	}
	(*arr)[cur] = item;
	*n = cur + 1;
	return 0;
}

void *usp_mem_new_msg(usp_mem *m, const ProtobufCMessageDescriptor *desc)
{
	void *p = usp_mem_alloc(m, desc->sizeof_message);
	if (p)
		protobuf_c_message_init(desc, p);
	return p;
}

void usp_mem_free(usp_mem *m)
{
	if (!m)
		return;
	for (block *b = m->head, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(m);
}
