/*
 * schema.c - queries on a loaded schema: lookup by path and by child name,
 * the dm_node_* accessors, statistics, and freeing. Reading the BBF DM XML
 * file lives in schema_load.c (with schema_facets.c and schema_nodes.c);
 * value checking against facets in types.c.
 */
#include "schema_int.h"

#include <stdlib.h>
#include <string.h>

/* Below this many children a linear scan of the sibling list beats hashing
 * the name; above it (Device.MoCA.Interface.{i}. has 165) it does not. */
#define CHILD_SCAN_MAX 8

/* FNV-1a, then a final mix so the low bits used as the slot index depend
 * on every byte (paths share long prefixes). */
uint32_t dm_schema_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Does the NUL-terminated str equal (s, len)? s need not be terminated. */
static bool str_eq_n(const char *str, const char *s, size_t len)
{
	return strncmp(str, s, len) == 0 && str[len] == '\0';
}

static int index_grow(dm_node_index *ix)
{
	uint32_t cap = ix->cap ? ix->cap * 2 : 1024;
	struct dm_node **slots = calloc(cap, sizeof *slots);

	if (!slots || cap < ix->cap) {
		free(slots);
		return DM_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < ix->cap; i++) {
		struct dm_node *n = ix->slots[i];
		if (!n)
			continue;
		uint32_t j = dm_schema_hash(n->path, strlen(n->path)) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = n;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return DM_OK;
}

int dm_schema_index_add(dm_schema_priv *sp, struct dm_node *n, struct dm_node **dup)
{
	dm_node_index *ix = &sp->pub.index;
	size_t len = strlen(n->path);
	uint32_t j;

	*dup = NULL;
	/* Load factor at most 1/2 keeps misses (every dm_node_child of an
	 * unknown name ends in one) to a probe or two. */
	if ((sp->index_used + 1) * 2 > ix->cap && index_grow(ix) != DM_OK)
		return DM_ERR_NOMEM;
	j = dm_schema_hash(n->path, len) & (ix->cap - 1);
	for (; ix->slots[j]; j = (j + 1) & (ix->cap - 1)) {
		if (str_eq_n(ix->slots[j]->path, n->path, len)) {
			*dup = ix->slots[j];
			return DM_OK;
		}
	}
	ix->slots[j] = n;
	sp->index_used++;
	return DM_OK;
}

int dm_schema_index_children(dm_arena *a, dm_obj_node *o)
{
	uint32_t cap = 16;

	if (o->n_children <= CHILD_SCAN_MAX)
		return DM_OK;
	while (cap < o->n_children * 2)
		cap *= 2;
	o->child_slots = dm_arena_alloc(a, cap * sizeof *o->child_slots);
	if (!o->child_slots)
		return DM_ERR_NOMEM;
	o->child_mask = cap - 1;
	for (struct dm_node *c = o->node.first_child; c; c = c->next_sibling) {
		uint32_t j = dm_schema_hash(c->name, strlen(c->name)) & o->child_mask;
		while (o->child_slots[j])
			j = (j + 1) & o->child_mask;
		o->child_slots[j] = c;
	}
	return DM_OK;
}

const dm_node *dm_schema_find_n(const dm_schema *s, const char *path, size_t len)
{
	const dm_node_index *ix;
	uint32_t j;

	if (!s || !path || !s->index.cap)
		return NULL;
	ix = &s->index;
	j = dm_schema_hash(path, len) & (ix->cap - 1);
	for (; ix->slots[j]; j = (j + 1) & (ix->cap - 1))
		if (str_eq_n(ix->slots[j]->path, path, len))
			return ix->slots[j];
	return NULL;
}

const dm_node *dm_schema_find(const dm_schema *s, const char *schema_path)
{
	return schema_path ? dm_schema_find_n(s, schema_path, strlen(schema_path)) : NULL;
}

/* Object nodes are always dm_obj_node (see schema_int.h); the loader is the
 * only place nodes are made. */
const dm_node *dm_node_child(const dm_node *obj, const char *name, size_t len)
{
	const dm_obj_node *o;

	if (!obj || obj->kind != DM_NODE_OBJECT || !name)
		return NULL;
	o = (const dm_obj_node *)obj;
	if (o->child_slots) {
		uint32_t j = dm_schema_hash(name, len) & o->child_mask;
		for (; o->child_slots[j]; j = (j + 1) & o->child_mask)
			if (str_eq_n(o->child_slots[j]->name, name, len))
				return o->child_slots[j];
		return NULL;
	}
	for (const dm_node *c = obj->first_child; c; c = c->next_sibling)
		if (c->name[0] == name[0] && str_eq_n(c->name, name, len))
			return c;
	return NULL;
}

void dm_schema_free(dm_schema *s)
{
	dm_schema_priv *sp = (dm_schema_priv *)s;

	if (!s)
		return;
	for (dm_pattern_block *b = sp->patterns; b; b = b->next)
		for (uint16_t i = 0; i < b->n; i++)
			if (b->patterns[i].compiled && b->patterns[i].usable)
				regfree(&b->patterns[i].re);
	free(s->index.slots);
	free(s->nodes);
	dm_arena_free(s->arena); /* s itself lives in the arena: last */
}

void dm_schema_get_stats(const dm_schema *s, dm_schema_stats *out)
{
	if (!out)
		return;
	if (!s) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = s->stats;
}

const char *dm_schema_model_name(const dm_schema *s)
{
	return s ? s->model_name : NULL;
}

const dm_node *dm_schema_root(const dm_schema *s)
{
	return s ? s->root : NULL;
}

/* Accessors: a NULL node or a node of the wrong kind gives the neutral
 * answer (NULL, false, readOnly, string) rather than a crash. */

dm_node_kind dm_node_get_kind(const dm_node *n)
{
	return n ? n->kind : DM_NODE_OBJECT;
}

const char *dm_node_name(const dm_node *n)
{
	return n ? n->name : NULL;
}

const char *dm_node_path(const dm_node *n)
{
	return n ? n->path : NULL;
}

const dm_node *dm_node_parent(const dm_node *n)
{
	return n ? n->parent : NULL;
}

const dm_node *dm_node_first_child(const dm_node *n)
{
	return n ? n->first_child : NULL;
}

const dm_node *dm_node_next_sibling(const dm_node *n)
{
	return n ? n->next_sibling : NULL;
}

static bool is_kind(const dm_node *n, dm_node_kind k)
{
	return n && n->kind == k;
}

bool dm_node_is_table(const dm_node *n)
{
	return is_kind(n, DM_NODE_OBJECT) && n->u.obj.table;
}

dm_access dm_node_access(const dm_node *n)
{
	if (is_kind(n, DM_NODE_OBJECT))
		return n->u.obj.access;
	if (is_kind(n, DM_NODE_PARAM))
		return n->u.param.access;
	return DM_ACCESS_READ_ONLY;
}

dm_type dm_node_type(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) ? n->u.param.facets.base : DM_TYPE_STRING;
}

const char *dm_node_type_name(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) ? n->u.param.facets.type_name : NULL;
}

bool dm_node_is_list(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) && n->u.param.facets.is_list;
}

const char *dm_node_default(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) ? n->u.param.default_value : NULL;
}

bool dm_node_is_async(const dm_node *n)
{
	return is_kind(n, DM_NODE_COMMAND) && n->u.cmd.async;
}

const dm_node *dm_node_first_input(const dm_node *n)
{
	if (is_kind(n, DM_NODE_COMMAND))
		return n->u.cmd.first_in;
	if (is_kind(n, DM_NODE_EVENT))
		return n->u.evt.first_arg;
	return NULL;
}

const dm_node *dm_node_first_output(const dm_node *n)
{
	return is_kind(n, DM_NODE_COMMAND) ? n->u.cmd.first_out : NULL;
}

bool dm_node_is_mandatory(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) && n->u.param.mandatory;
}

uint32_t dm_node_min_entries(const dm_node *n)
{
	return is_kind(n, DM_NODE_OBJECT) ? n->u.obj.min_entries : 0;
}

uint32_t dm_node_max_entries(const dm_node *n)
{
	return is_kind(n, DM_NODE_OBJECT) ? n->u.obj.max_entries : 0;
}

unsigned dm_node_unique_key_count(const dm_node *n)
{
	return is_kind(n, DM_NODE_OBJECT) ? n->u.obj.n_keys : 0;
}

int dm_node_unique_key(const dm_node *n, unsigned i, bool *functional, const dm_node *const **params,
		       unsigned *n_params)
{
	if (i >= dm_node_unique_key_count(n))
		return DM_ERR_NOT_IN_SCHEMA;
	const dm_unique_key *k = &n->u.obj.keys[i];
	if (functional)
		*functional = k->functional;
	*params = (const dm_node *const *)k->params;
	*n_params = k->n_params;
	return DM_OK;
}

bool dm_node_is_hidden(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) && n->u.param.hidden;
}

bool dm_node_forced_inform(const dm_node *n)
{
	return is_kind(n, DM_NODE_PARAM) && n->u.param.forced_inform;
}

dm_active_notify dm_node_active_notify(const dm_node *n)
{
	if (!is_kind(n, DM_NODE_PARAM))
		return DM_NOTIFY_NORMAL;
	return (dm_active_notify)n->u.param.active_notify;
}
