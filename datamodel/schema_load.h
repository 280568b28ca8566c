/*
 * schema_load.h - the loader's state, shared by the three files that read a
 * BBF DM XML file: schema_load.c (the XML reader, element dispatch, entry
 * point), schema_facets.c (syntax, facets, named dataTypes) and
 * schema_nodes.c (objects, parameters, commands, events, arguments, unique
 * keys). Nothing else includes it.
 */
#ifndef DUET_DM_SCHEMA_LOAD_H
#define DUET_DM_SCHEMA_LOAD_H

#include "schema_int.h"

#include <libxml/xmlreader.h>

#define MAX_FRAMES 16 /* the grammar nests 9 deep at most */
#define MAX_ATTRS  9

typedef enum elem_id {
	E_UNKNOWN,
	E_DESCRIPTION,
	E_DATATYPE,
	E_MODEL,
	E_OBJECT,
	E_PARAMETER,
	E_COMMAND,
	E_EVENT,
	E_INPUT,
	E_OUTPUT,
	E_UNIQUE_KEY,
	E_SYNTAX,
	E_LIST,
	E_DEFAULT,
	E_SIZE,
	E_RANGE,
	E_PATTERN,
	E_ENUMERATION,
	E_UNITS,
	E_PATH_REF,
	E_INSTANCE_REF,
	E_ENUMERATION_REF,
	E_BASE_TYPE, /* one of base_types[] */
} elem_id;

/* What the element being read is inside of. */
typedef enum frame_kind {
	F_DOC,   /* dm:document */
	F_DTDEF, /* top-level <dataType name=...> */
	F_MODEL,
	F_OBJECT, /* model object */
	F_UKEY,   /* <uniqueKey> */
	F_PARAM,  /* parameter or argument parameter */
	F_SYNTAX,
	F_TYPE, /* base type element or <dataType ref|base> holding facets */
	F_LIST,
	F_COMMAND,
	F_ARGS, /* <input> or <output> */
	F_EVENT,
	F_ARGOBJ, /* argument object */
} frame_kind;

typedef struct frame {
	frame_kind kind;
	struct dm_node *node;
} frame;

/* Which facets a syntax or dataType definition states itself; set ones
 * override what a named dataType provides. */
enum {
	FS_BASE = 1u << 0,
	FS_SIZE = 1u << 1,
	FS_LIST = 1u << 2,
	FS_LIST_SIZE = 1u << 3,
	FS_REF = 1u << 4,
	FS_UNITS = 1u << 5,
};

/* Facets of the syntax or dataType definition being read. */
typedef struct facet_scratch {
	unsigned set;
	dm_facets f;        /* scalar facets; arrays below */
	unsigned n_types;   /* type elements seen: more than one is an error */
	const char *dt_ref; /* <dataType ref|base> */
	unsigned dt_line;
	bool size_open, list_size_open; /* a <size> without maxLength was seen */
	char unknown[48];               /* first unrecognised element where a type may be */
	dm_range *ranges;
	size_t n_ranges, cap_ranges;
	const char **enums;
	size_t n_enums, cap_enums;
	const char **patterns;
	size_t n_patterns, cap_patterns;
	const char *dt_base; /* <dataType name base=...> being defined */
	const char *def_object, *def_factory, *def_param;
	bool hidden;
} facet_scratch;

typedef struct ukey_desc {
	bool functional;
	unsigned line;
	size_t first, n; /* into loader.key_refs */
} ukey_desc;

/* The argument list being read (<input>, <output> or an <event>). */
typedef struct arglist {
	struct dm_node **head;
	struct dm_node *tail;
	dm_obj_node **objs; /* argument objects so far: parents of nested ones */
	size_t n_objs, cap_objs;
} arglist;

typedef struct loader {
	xmlTextReaderPtr r;
	const char *file;
	dm_errinfo *err;
	dm_schema_priv *sp;
	dm_arena *a;
	frame stack[MAX_FRAMES];
	unsigned depth;
	bool skip;     /* skip the current element's subtree */
	bool empty;    /* current element is <x/> */
	unsigned line; /* current element's line */
	bool seen_doc, seen_model;
	bool xml_failed;
	unsigned xml_line;
	char xml_msg[160];
	char *abuf; /* attribute values of the current element */
	size_t abuf_cap;
	const char **itab; /* interned strings, open addressing */
	uint32_t icap, iused;
	struct dm_node **nodes;
	size_t n_nodes, cap_nodes;
	dm_obj_node **objs; /* every object, for the child indexes */
	size_t n_objs, cap_objs;
	struct dtdef **dts;
	size_t n_dts, cap_dts;
	facet_scratch fs;
	bool have_syntax;
	ukey_desc *keys;
	size_t n_keys, cap_keys;
	const char **key_refs;
	size_t n_key_refs, cap_key_refs;
	arglist al;
} loader;

/* ---------------------------------------------------------------------------
 * schema_load.c: errors, memory, attributes
 * ------------------------------------------------------------------------- */

/* Fail with DM_ERR_SCHEMA_FILE, err->msg "FILE:LINE: reason". */
int dm_load_fail(loader *ld, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fail with DM_ERR_NOMEM. */
int dm_load_oom(loader *ld);
/* Make room for one more element in a malloc'd vector. */
int dm_load_grow(loader *ld, void **v, size_t n, size_t *cap, size_t elem);
#define DM_LOAD_PUSH(ld, vec, n, cap, item)                              \
	(dm_load_grow((ld), (void **)&(vec), (n), &(cap), sizeof *(vec)) \
		 ? DM_ERR_NOMEM                                          \
		 : ((vec)[(n)++] = (item), DM_OK))
/* The arena copy of s, shared with every equal string; NULL on OOM. */
const char *dm_load_intern(loader *ld, const char *s);
/* Same for an optional value: *out = NULL when s is NULL. */
int dm_load_intern_opt(loader *ld, const char *s, const char **out);
/* The wanted attributes of the current element (NULL when absent); valid
 * until the next call. */
int dm_load_attrs(loader *ld, const char *const *want, size_t n, const char **out);
bool dm_load_is_true(const char *v);
/* A non-negative decimal integer no greater than max. */
bool dm_load_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Optional uint32 attribute v of <elem>; "unbounded" gives unbounded_as;
 * absent leaves *out alone. */
int dm_load_u32(loader *ld, const char *elem, const char *attr, const char *v,
		uint32_t unbounded_as, uint32_t *out);
/* access="..." of what (for the message); absent is readOnly. */
int dm_load_access(loader *ld, const char *what, const char *v, dm_access *out);
/* Enter the current element as a frame; an empty element ends at once. */
int dm_load_enter(loader *ld, frame_kind kind, struct dm_node *node);

/* ---------------------------------------------------------------------------
 * schema_facets.c
 * ------------------------------------------------------------------------- */

void dm_load_scratch_reset(facet_scratch *fs);
void dm_load_scratch_free(facet_scratch *fs);
/* An element inside a dataType definition, a syntax or a type element. */
int dm_load_in_typed(loader *ld, const frame *top, elem_id id, dm_type type, const char *name);
/* A top-level <dataType>; *defining is false for one without a name,
 * which defines nothing. */
int dm_load_dtdef_start(loader *ld, bool *defining);
int dm_load_dtdef_end(loader *ld);
int dm_load_syntax_start(loader *ld);
/* <size> inside <list>. */
int dm_load_list_size(loader *ld);
/* At </parameter>: facets, default and flags from the syntax just read. */
int dm_load_param_end(loader *ld, struct dm_node *p);
/* Resolve every named dataType (unused ones too). */
int dm_load_resolve_types(loader *ld);

/* ---------------------------------------------------------------------------
 * schema_nodes.c
 * ------------------------------------------------------------------------- */

int dm_load_object_start(loader *ld, struct dm_node **out);
int dm_load_object_end(loader *ld, struct dm_node *o);
int dm_load_ukey_start(loader *ld);
int dm_load_ukey_param(loader *ld);
/* A parameter in container (a model object when model, an argument object,
 * or NULL: the argument list being read). */
int dm_load_param_start(loader *ld, struct dm_node *container, bool model, struct dm_node **out);
/* A command or event of a model object. */
int dm_load_command_start(loader *ld, struct dm_node *obj, dm_node_kind kind, struct dm_node **out);
void dm_load_args_start(loader *ld, struct dm_node *cmd, bool input);
int dm_load_argobj_start(loader *ld, struct dm_node **out);

#endif /* DUET_DM_SCHEMA_LOAD_H */
