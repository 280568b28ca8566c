/*
 * arena.c - the bump allocator that holds a loaded schema: nodes, strings and
 * facet arrays. Nothing is freed individually; dm_arena_free() releases it all.
 * What goes into the arena (and string interning) is the loader's business.
 */
#include "schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 64 KiB keeps the number of chunks for the full TR-181 schema in the tens
 * while staying under glibc's mmap threshold, so chunks come from the heap. */
#define ARENA_CHUNK 65536u
#define ARENA_ALIGN 8u

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t off;
	/* payload follows, aligned by the union below */
	union {
		max_align_t align_;
		unsigned char data[1];
	} u;
} arena_chunk;

struct dm_arena {
	arena_chunk *head; /* the chunk being filled; older ones follow */
	size_t used;
};

dm_arena *dm_arena_new(void)
{
	return calloc(1, sizeof(dm_arena));
}

static arena_chunk *chunk_new(size_t need)
{
	size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
	arena_chunk *c = calloc(1, offsetof(arena_chunk, u) + size);

	if (!c)
		return NULL;
	c->size = size;
	return c;
}

/* Strings take byte granularity (align 1), everything else ARENA_ALIGN: the
 * schema holds tens of thousands of short strings. */
static void *arena_take(dm_arena *a, size_t size, size_t align)
{
	arena_chunk *c = a->head;
	size_t off = 0;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	if (c)
		off = (c->off + align - 1) & ~(align - 1);
	if (!c || off > c->size || c->size - off < size) {
		c = chunk_new(size);
		if (!c)
			return NULL;
		/* A big block gets a chunk of its own behind the current one, so
		 * the space left in the current chunk is not wasted. */
		if (a->head && size > ARENA_CHUNK / 4) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		off = 0;
	}
	p = c->u.data + off;
	c->off = off + size;
	a->used += size;
	return p; /* chunks are calloc'd and never reused: already zero */
}

void *dm_arena_alloc(dm_arena *a, size_t size)
{
	if (!a)
		return NULL;
	return arena_take(a, size ? size : 1, ARENA_ALIGN);
}

const char *dm_arena_strndup(dm_arena *a, const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	if (!a)
		return NULL;
	p = arena_take(a, n + 1, 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *dm_arena_strdup(dm_arena *a, const char *s)
{
	return s ? dm_arena_strndup(a, s, strlen(s)) : NULL;
}

void dm_arena_free(dm_arena *a)
{
	arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

size_t dm_arena_used(const dm_arena *a)
{
	return a ? a->used : 0;
}
