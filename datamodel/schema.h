/*
 * schema.h - the engine's internal view of a loaded schema: node and facet
 * structures shared by the loader (schema.c), value checking (types.c), path
 * resolution and the store. Nothing outside datamodel/ includes this file.
 */
#ifndef DUET_DM_SCHEMA_H
#define DUET_DM_SCHEMA_H

#include "dm.h"

#include <regex.h>

/* One <range> facet: any-of semantics across a facet's ranges. Bounds are
 * kept in the representation of the base type: signed types use s_*,
 * unsigned types u_*, decimal d_*. */
typedef struct dm_range {
	bool has_min, has_max;
	int64_t s_min, s_max;
	uint64_t u_min, u_max;
	double d_min, d_max;
	uint64_t step; /* 0 or 1 = any */
} dm_range;

typedef enum dm_ref_kind {
	DM_REF_NONE,
	DM_REF_PATH,        /* <pathRef> */
	DM_REF_INSTANCE,    /* <instanceRef> */
	DM_REF_ENUMERATION, /* <enumerationRef>: allowed values live in another parameter */
} dm_ref_kind;

/* A compiled pattern facet; compiled on first use (regcomp is costly and most
 * patterns are never exercised), hence the mutable members. */
typedef struct dm_pattern {
	const char *xsd;  /* the pattern as written in the schema (XSD regex) */
	bool compiled;
	bool usable;      /* false when translation/compilation failed: pattern ignored */
	regex_t re;
} dm_pattern;

/* Facets of a parameter after resolving its named dataType chain. */
typedef struct dm_facets {
	dm_type base;
	const char *type_name;     /* outermost named dataType, or NULL */
	bool has_size;             /* string/base64/hexBinary length (bytes for binary) */
	uint32_t min_len, max_len; /* max_len 0 = no upper bound */
	uint16_t n_ranges;
	dm_range *ranges;
	uint16_t n_enums;
	const char **enums;
	uint16_t n_patterns;
	dm_pattern *patterns;
	/* <list>: the value is a comma-separated list of items; the facets above
	 * then apply to each item, the list_* ones to the whole value. */
	bool is_list;
	uint32_t list_min_items, list_max_items; /* max 0 = unbounded */
	bool list_has_size;
	uint32_t list_min_len, list_max_len;
	dm_ref_kind ref_kind;
	const char *ref_target;    /* targetParent / ref path, or NULL */
	bool ref_strong;           /* refType="strong" */
	const char *units;         /* informational */
} dm_facets;

typedef struct dm_unique_key {
	bool functional;
	uint16_t n_params;
	const struct dm_node **params;
} dm_unique_key;

struct dm_node {
	dm_node_kind kind;
	uint32_t id;               /* index in dm_schema.nodes (0 for arguments) */
	const char *name;          /* last segment, without trailing '.' or "{i}" */
	const char *path;          /* full schema path */
	struct dm_node *parent;    /* NULL for the root and for argument lists' heads */
	struct dm_node *first_child, *last_child, *next_sibling;
	const char *version;       /* "2.12" or NULL */
	unsigned line;             /* line in the schema file, for messages */
	union {
		struct {
			bool table;          /* multi-instance ({i}) */
			dm_access access;    /* readWrite: instances can be added/deleted */
			uint32_t min_entries;
			uint32_t max_entries; /* UINT32_MAX = unbounded */
			const char *num_entries_param; /* name of the counting parameter in the parent */
			const char *enable_param;
			uint16_t n_keys;
			dm_unique_key *keys;
			struct dm_node *alias_param;   /* the table's Alias parameter, if any */
		} obj;
		struct {
			dm_access access;
			dm_facets facets;
			const char *default_value; /* NULL = none; object default preferred */
			bool default_is_factory;
			bool mandatory;            /* command/event argument */
			bool forced_inform;
			uint8_t active_notify;     /* dm_active_notify from activeNotify */
			bool hidden;               /* secured/hidden: reads return "" */
			struct dm_node *counts_table; /* a NumberOfEntries parameter: the table it counts */
		} param;
		struct {
			bool async;
			struct dm_node *first_in, *first_out; /* argument lists */
		} cmd;
		struct {
			struct dm_node *first_arg;
		} evt;
	} u;
};

/* Open-addressing hash of full schema path -> node. */
typedef struct dm_node_index {
	uint32_t cap; /* power of two */
	struct dm_node **slots;
} dm_node_index;

struct dm_schema {
	const char *file;
	const char *model_name; /* "Device:2.19" */
	struct dm_node *root;   /* "Device." */
	uint32_t n_nodes;
	struct dm_node **nodes; /* by id */
	dm_node_index index;
	dm_schema_stats stats;
	struct dm_arena *arena; /* every node, string and facet array lives here */
};

/* Bump allocator for the schema: one free at the end, low overhead per node. */
typedef struct dm_arena dm_arena;
dm_arena *dm_arena_new(void);
void *dm_arena_alloc(dm_arena *a, size_t size); /* zeroed, 8-byte aligned, NULL on OOM */
const char *dm_arena_strdup(dm_arena *a, const char *s);
const char *dm_arena_strndup(dm_arena *a, const char *s, size_t n);
void dm_arena_free(dm_arena *a);
size_t dm_arena_used(const dm_arena *a);

/* Find a node by schema path given as (ptr, len), no NUL needed. */
const dm_node *dm_schema_find_n(const dm_schema *s, const char *path, size_t len);
/* Child of an object by name ("Interface", "Name", "Reboot()", "Boot!"). */
const dm_node *dm_node_child(const dm_node *obj, const char *name, size_t len);

/* Check a value against facets; canonical form malloc'd into *canon (may be
 * NULL to only check). Used by dm_value_check and for command arguments. */
int dm_facets_check(const dm_facets *f, const char *value, char **canon, dm_errinfo *err);

/* Zero value of a base type as reads return it when nothing is stored and
 * there is no default: "", "false", "0", "0001-01-01T00:00:00Z". */
const char *dm_type_zero(dm_type t);

/* Fill err (code, reason, path, printf-style message); returns code. */
int dm_err_set(dm_errinfo *err, int code, dm_value_reason reason, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif /* DUET_DM_SCHEMA_H */
