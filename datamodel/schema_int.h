/*
 * schema_int.h - what the schema loader (schema_load.c) and the schema
 * queries (schema.c) share beyond schema.h: the allocation wrappers around
 * object nodes and the schema, and the path index primitives. Only those two
 * files include it.
 */
#ifndef DUET_DM_SCHEMA_INT_H
#define DUET_DM_SCHEMA_INT_H

#include "schema.h"

/* Every object node (model objects and argument objects) is allocated as
 * this wrapper, so dm_node_child() can reach a by-name index of the children
 * without growing struct dm_node for parameters, which are most nodes. Hence
 * dm_node_child() only works on objects the loader made, never on a dm_node
 * built by hand. */
typedef struct dm_obj_node {
	struct dm_node node; /* must stay first */
	uint32_t n_children;
	uint32_t child_mask;          /* slots - 1; 0 when there is no index */
	struct dm_node **child_slots; /* NULL: few children, scanned instead */
} dm_obj_node;

/* A pattern array handed out to facets. Arrays are shared between a named
 * dataType and the parameters using it, so dm_schema_free() walks this list to
 * regfree what types.c compiled, once per array. */
typedef struct dm_pattern_block {
	struct dm_pattern_block *next;
	dm_pattern *patterns;
	uint16_t n;
} dm_pattern_block;

/* The schema as allocated (in its own arena). */
typedef struct dm_schema_priv {
	struct dm_schema pub; /* must stay first */
	dm_pattern_block *patterns;
	uint32_t index_used; /* nodes in pub.index */
} dm_schema_priv;

/* Hash of a path or name; the same function feeds both indexes. */
uint32_t dm_schema_hash(const char *s, size_t len);

/* Insert n into the path index, growing it as needed. When a node with the
 * same path is already there, returns DM_OK and sets *dup to it. */
int dm_schema_index_add(dm_schema_priv *sp, struct dm_node *n, struct dm_node **dup);

/* Build the by-name child index of an object once all its children are
 * linked (small objects get none and are scanned). */
int dm_schema_index_children(dm_arena *a, dm_obj_node *o);

#endif /* DUET_DM_SCHEMA_INT_H */
