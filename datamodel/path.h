/*
 * path.h - parsed form of a data model path expression (internal to
 * datamodel/). path.c turns a string into segments and checks the grammar
 * only; resolving segments against the schema and the store is resolve.c's job.
 *
 * USP grammar (TR-369 "Path Names", "Searching", "Reference Following"):
 *   Device.IP.Interface.1.Name            instance number
 *   Device.IP.Interface.*.Name            wildcard
 *   Device.IP.Interface.[Type=="Normal"&&Stats.BytesSent>1000].Name
 *                                         search expression / unique-key addressing
 *   Device.NAT.PortMapping.1.Interface+.Name     follow a single reference
 *   Device.WiFi.SSID.1.LowerLayers#1+.Name       follow item 1 of a list reference
 *   Device.WiFi.SSID.1.LowerLayers#*+.Name       follow every item
 *   Device.LocalAgent.Reboot()  Device.Boot!     commands and events
 * CWMP grammar (TR-069): instance numbers, "[alias]" in place of a number
 * (Alias-based addressing), partial paths ending in '.'; no '*', no search,
 * no reference following.
 */
#ifndef DUET_DM_PATH_H
#define DUET_DM_PATH_H

#include "dm.h"

typedef enum dm_seg_kind {
	DM_SEG_NAME,     /* an object or parameter name: "IP", "Interface", "Name" */
	DM_SEG_INSTANCE, /* an instance number: "1" */
	DM_SEG_WILDCARD, /* "*" (USP) */
	DM_SEG_SEARCH,   /* "[cond&&cond...]" (USP) */
	DM_SEG_ALIAS,    /* "[alias]" (CWMP) */
	DM_SEG_COMMAND,  /* last segment "Name()" (name without the parentheses) */
	DM_SEG_EVENT,    /* last segment "Name!" (name without the '!') */
} dm_seg_kind;

typedef enum dm_ref_follow {
	DM_FOLLOW_NONE,
	DM_FOLLOW_SINGLE, /* "Name+" */
	DM_FOLLOW_LIST,   /* "Name#N+" or "Name#*+" */
} dm_ref_follow;

typedef enum dm_cmp_op {
	DM_CMP_EQ, /* == */
	DM_CMP_NE, /* != */
	DM_CMP_LT, /* <  */
	DM_CMP_GT, /* >  */
	DM_CMP_LE, /* <= */
	DM_CMP_GE, /* >= */
	DM_CMP_CONTAINS, /* ~= list contains the item (TR-369 "Searching with Expressions") */
} dm_cmp_op;

/* One condition of a search expression: relative path, operator, literal. */
typedef struct dm_cond {
	const char *rel_path;  /* relative to the instance: "Type", "Stats.BytesSent", "Interface+.Name" */
	dm_cmp_op op;
	const char *value;     /* literal, unquoted and unescaped */
	bool quoted;           /* the literal was a "string" */
} dm_cond;

typedef struct dm_seg {
	dm_seg_kind kind;
	const char *name;      /* NAME, COMMAND, EVENT */
	uint32_t inst;         /* INSTANCE */
	const char *alias;     /* ALIAS */
	uint16_t n_conds;      /* SEARCH */
	dm_cond *conds;
	dm_ref_follow follow;  /* NAME only */
	uint32_t list_index;   /* DM_FOLLOW_LIST: 1-based item, 0 = '*' */
} dm_seg;

typedef struct dm_path {
	uint16_t n_segs;
	dm_seg *segs;
	bool trailing_dot;     /* ends in '.': an object or partial path */
	bool has_pattern;      /* contains '*' or a search expression (matching nothing is fine) */
	char *mem;             /* one allocation holding every string and array above */
} dm_path;

/*
 * Parse expr in grammar g. The first segment must be "Device" (the root).
 * On error returns DM_ERR_SYNTAX with err->msg naming the offending position.
 * On success free with dm_path_free().
 */
int dm_path_parse(const char *expr, dm_grammar g, dm_path *out, dm_errinfo *err);
void dm_path_free(dm_path *p);

/* Parse a relative path as used inside a search expression ("Stats.BytesSent",
 * "Interface+.Name"); same segments, no root requirement. */
int dm_path_parse_relative(const char *expr, dm_path *out, dm_errinfo *err);

/* Text of an operator ("==", ...). */
const char *dm_cmp_op_str(dm_cmp_op op);

#endif /* DUET_DM_PATH_H */
