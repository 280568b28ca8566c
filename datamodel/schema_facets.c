/*
 * schema_facets.c - the loader's reading of <syntax> and of top-level
 * <dataType> definitions: base type, size, range, pattern, enumeration,
 * units, list, pathRef/instanceRef/enumerationRef and defaults, and the
 * resolution of named dataTypes (base chains, merged facets). Checking
 * values against the resulting facets is types.c's job.
 */
#include "schema_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A named dataType: its own facets, resolved on first use against its base. */
typedef struct dtdef {
	const char *name, *base;
	unsigned line;
	enum { DT_RAW, DT_BUSY, DT_DONE } state;
	unsigned own_set;
	dm_facets own, resolved;
} dtdef;

void dm_load_scratch_reset(facet_scratch *fs)
{
	size_t cr = fs->cap_ranges, ce = fs->cap_enums, cp = fs->cap_patterns;
	dm_range *r = fs->ranges;
	const char **e = fs->enums, **p = fs->patterns;

	memset(fs, 0, sizeof *fs);
	fs->ranges = r;
	fs->cap_ranges = cr;
	fs->enums = e;
	fs->cap_enums = ce;
	fs->patterns = p;
	fs->cap_patterns = cp;
}

void dm_load_scratch_free(facet_scratch *fs)
{
	free(fs->ranges);
	free(fs->enums);
	free(fs->patterns);
}

static void note_unknown(loader *ld, const char *name)
{
	if (!ld->fs.unknown[0])
		snprintf(ld->fs.unknown, sizeof ld->fs.unknown, "%s", name);
}

/* A range bound, kept in every representation (the base type may only be
 * known once the dataType chain is resolved): [-]digits[.digits]. */
static bool parse_bound(const char *s, int64_t *sv, uint64_t *uv, double *dv)
{
	const char *p = s + (*s == '-' || *s == '+');
	char *end;
	double d;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.' && p[1] >= '0' && p[1] <= '9')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p)
		return false;
	d = strtod(s, &end);
	*dv = d;
	errno = 0;
	*sv = strtoll(s, &end, 10);
	if (*end || errno)
		*sv = d <= -9.2e18 ? INT64_MIN : d >= 9.2e18 ? INT64_MAX : (int64_t)d;
	if (*s == '-') {
		*uv = 0;
	} else {
		errno = 0;
		*uv = strtoull(s, &end, 10);
		if (*end || errno)
			*uv = d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
	}
	return true;
}

static int facet_size(loader *ld, const char **v, bool list)
{
	uint32_t mn = 0, mx = 0;
	facet_scratch *fs = &ld->fs;
	unsigned bit = list ? FS_LIST_SIZE : FS_SIZE;
	uint32_t *pmin = list ? &fs->f.list_min_len : &fs->f.min_len;
	uint32_t *pmax = list ? &fs->f.list_max_len : &fs->f.max_len;
	bool *open = list ? &fs->list_size_open : &fs->size_open;

	if (dm_load_u32(ld, "size", "minLength", v[0], 0, &mn) ||
	    dm_load_u32(ld, "size", "maxLength", v[1], 0, &mx))
		return DM_ERR_SCHEMA_FILE;
	/* Several <size> elements mean any of them (DocsEqualizerData: 0..0 or
	 * 36..260); one size facet can only hold their envelope. An explicit
	 * maxLength="0" is a bound there, only a missing one is open. */
	if (fs->set & bit) {
		mn = mn < *pmin ? mn : *pmin;
		mx = mx > *pmax ? mx : *pmax;
	}
	*open = *open || !v[1];
	*pmin = mn;
	*pmax = *open ? 0 : mx;
	fs->set |= bit;
	if (list)
		fs->f.list_has_size = true;
	else
		fs->f.has_size = true;
	return DM_OK;
}

static int facet_range(loader *ld, const char **v)
{
	dm_range r = {0};
	uint64_t step = 0;

	if (v[0]) {
		if (!parse_bound(v[0], &r.s_min, &r.u_min, &r.d_min))
			return dm_load_fail(ld, ld->line, "<range>: bad minInclusive \"%s\"", v[0]);
		r.has_min = true;
	}
	if (v[1]) {
		if (!parse_bound(v[1], &r.s_max, &r.u_max, &r.d_max))
			return dm_load_fail(ld, ld->line, "<range>: bad maxInclusive \"%s\"", v[1]);
		r.has_max = true;
	}
	if (v[2] && !dm_load_parse_uint(v[2], UINT64_MAX, &step))
		return dm_load_fail(ld, ld->line, "<range>: bad step \"%s\"", v[2]);
	r.step = step;
	return DM_LOAD_PUSH(ld, ld->fs.ranges, ld->fs.n_ranges, ld->fs.cap_ranges, r)
		       ? dm_load_oom(ld)
		       : DM_OK;
}

static int facet_ref(loader *ld, elem_id id, const char **v)
{
	facet_scratch *fs = &ld->fs;

	fs->set |= FS_REF;
	fs->f.ref_kind = id == E_PATH_REF       ? DM_REF_PATH
			 : id == E_INSTANCE_REF ? DM_REF_INSTANCE
						: DM_REF_ENUMERATION;
	fs->f.ref_strong = v[1] && strcmp(v[1], "strong") == 0;
	return dm_load_intern_opt(ld, id == E_ENUMERATION_REF ? v[2] : v[0], &fs->f.ref_target);
}

/* Facet elements valid inside a type element or a dataType definition.
 * Returns 1 when id is not one of them. */
static int facet_leaf(loader *ld, elem_id id)
{
	static const char *const names[] = {"minLength",    "maxLength", "minInclusive",
					    "maxInclusive", "step",      "value",
					    "targetParent", "refType",   "targetParam"};
	enum { MINL, MAXL, MINI, MAXI, STEP, VALUE, TPARENT, REFTYPE, TPARAM };
	facet_scratch *fs = &ld->fs;
	const char *v[9], *s;
	int rc;

	if (id < E_SIZE || id > E_ENUMERATION_REF)
		return 1;
	ld->skip = !ld->empty; /* descriptions of enumerations and the like */
	if ((rc = dm_load_attrs(ld, names, 9, v)))
		return rc;
	switch (id) {
	case E_SIZE:
		return facet_size(ld, v + MINL, false);
	case E_RANGE:
		return facet_range(ld, v + MINI);
	case E_PATTERN: /* "" is a real pattern: the empty string is allowed */
		if (!(s = dm_load_intern(ld, v[VALUE] ? v[VALUE] : "")))
			return DM_ERR_NOMEM;
		return DM_LOAD_PUSH(ld, fs->patterns, fs->n_patterns, fs->cap_patterns, s)
			       ? dm_load_oom(ld)
			       : DM_OK;
	case E_ENUMERATION:
		if (!v[VALUE])
			return dm_load_fail(ld, ld->line, "<enumeration> without value");
		if (!(s = dm_load_intern(ld, v[VALUE])))
			return DM_ERR_NOMEM;
		return DM_LOAD_PUSH(ld, fs->enums, fs->n_enums, fs->cap_enums, s) ? dm_load_oom(ld)
										  : DM_OK;
	case E_UNITS:
		fs->set |= FS_UNITS;
		return dm_load_intern_opt(ld, v[VALUE], &fs->f.units);
	default: {
		const char *rv[3] = {v[TPARENT], v[REFTYPE], v[TPARAM]};
		return facet_ref(ld, id, rv);
	}
	}
}

static int list_start(loader *ld)
{
	static const char *const names[] = {"minItems", "maxItems"};
	const char *v[2];
	facet_scratch *fs = &ld->fs;
	int rc;

	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	fs->set |= FS_LIST;
	fs->f.is_list = true;
	if (dm_load_u32(ld, "list", "minItems", v[0], 0, &fs->f.list_min_items) ||
	    dm_load_u32(ld, "list", "maxItems", v[1], 0, &fs->f.list_max_items))
		return DM_ERR_SCHEMA_FILE;
	return DM_OK;
}

/* Move the scratch arrays into the arena as *own (scalars copied too). */
static int scratch_commit(loader *ld, dm_facets *own)
{
	facet_scratch *fs = &ld->fs;

	*own = fs->f;
	own->ranges = NULL;
	own->enums = NULL;
	own->patterns = NULL;
	if (fs->n_ranges > UINT16_MAX || fs->n_enums > UINT16_MAX || fs->n_patterns > UINT16_MAX)
		return dm_load_fail(ld, ld->line, "too many facets");
	if (fs->n_ranges) {
		if (!(own->ranges = dm_arena_alloc(ld->a, fs->n_ranges * sizeof *own->ranges)))
			return dm_load_oom(ld);
		memcpy(own->ranges, fs->ranges, fs->n_ranges * sizeof *own->ranges);
	}
	if (fs->n_enums) {
		if (!(own->enums = dm_arena_alloc(ld->a, fs->n_enums * sizeof *own->enums)))
			return dm_load_oom(ld);
		memcpy(own->enums, fs->enums, fs->n_enums * sizeof *own->enums);
	}
	if (fs->n_patterns) {
		dm_pattern_block *b = dm_arena_alloc(ld->a, sizeof *b);
		own->patterns = dm_arena_alloc(ld->a, fs->n_patterns * sizeof *own->patterns);
		if (!b || !own->patterns)
			return dm_load_oom(ld);
		for (size_t i = 0; i < fs->n_patterns; i++)
			own->patterns[i].xsd = fs->patterns[i];
		b->patterns = own->patterns;
		b->n = (uint16_t)fs->n_patterns;
		b->next = ld->sp->patterns;
		ld->sp->patterns = b;
	}
	own->n_ranges = (uint16_t)fs->n_ranges;
	own->n_enums = (uint16_t)fs->n_enums;
	own->n_patterns = (uint16_t)fs->n_patterns;
	return DM_OK;
}

/* out = base with the facets own states itself laid over it. */
static void facets_overlay(const dm_facets *base, const dm_facets *own, unsigned set,
			   dm_facets *out)
{
	*out = *base;
	if (set & FS_BASE)
		out->base = own->base;
	if (set & FS_SIZE) {
		out->has_size = true;
		out->min_len = own->min_len;
		out->max_len = own->max_len;
	}
	if (own->n_ranges) {
		out->n_ranges = own->n_ranges;
		out->ranges = own->ranges;
	}
	if (own->n_enums) {
		out->n_enums = own->n_enums;
		out->enums = own->enums;
	}
	if (own->n_patterns) {
		out->n_patterns = own->n_patterns;
		out->patterns = own->patterns;
	}
	if (set & FS_LIST) {
		out->is_list = true;
		out->list_min_items = own->list_min_items;
		out->list_max_items = own->list_max_items;
	}
	if (set & FS_LIST_SIZE) {
		out->list_has_size = true;
		out->list_min_len = own->list_min_len;
		out->list_max_len = own->list_max_len;
	}
	if (set & FS_REF) {
		out->ref_kind = own->ref_kind;
		out->ref_target = own->ref_target;
		out->ref_strong = own->ref_strong;
	}
	if (set & FS_UNITS)
		out->units = own->units;
}

static dtdef *dt_find(loader *ld, const char *name)
{
	for (size_t i = 0; i < ld->n_dts; i++)
		if (strcmp(ld->dts[i]->name, name) == 0)
			return ld->dts[i];
	return NULL;
}

/* Resolve a dataType against its base chain, once. */
static int dt_resolve(loader *ld, dtdef *dt)
{
	dm_facets base = {0};
	int rc;

	if (dt->state == DT_DONE)
		return DM_OK;
	if (dt->state == DT_BUSY)
		return dm_load_fail(ld, dt->line, "dataType %s: circular base chain", dt->name);
	dt->state = DT_BUSY;
	if (dt->base) {
		dtdef *b = dt_find(ld, dt->base);
		if (!b)
			return dm_load_fail(ld, dt->line,
					    "dataType %s: base dataType %s is not defined",
					    dt->name, dt->base);
		if ((rc = dt_resolve(ld, b)))
			return rc;
		base = b->resolved;
	}
	facets_overlay(&base, &dt->own, dt->own_set, &dt->resolved);
	dt->resolved.type_name = dt->name;
	dt->state = DT_DONE;
	return DM_OK;
}

int dm_load_dtdef_start(loader *ld, bool *defining)
{
	static const char *const names[] = {"name", "base"};
	const char *v[2];
	int rc;

	*defining = false;
	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	if (!v[0]) /* a dataType reference outside a syntax means nothing here */
		return DM_OK;
	*defining = true;
	dm_load_scratch_reset(&ld->fs);
	ld->fs.dt_line = ld->line;
	if (dm_load_intern_opt(ld, v[0], &ld->fs.dt_ref) ||
	    dm_load_intern_opt(ld, v[1], &ld->fs.dt_base))
		return DM_ERR_NOMEM;
	return DM_OK;
}

/* The scratch holds the name (dt_ref) and base (dt_base) from dtdef_start. */
int dm_load_dtdef_end(loader *ld)
{
	facet_scratch *fs = &ld->fs;
	dtdef *dt;

	if (dt_find(ld, fs->dt_ref))
		return dm_load_fail(ld, fs->dt_line, "dataType %s defined twice", fs->dt_ref);
	if (!fs->dt_base && !(fs->set & FS_BASE))
		return dm_load_fail(ld, fs->dt_line,
				    "dataType %s: unknown or missing base type%s%s%s", fs->dt_ref,
				    fs->unknown[0] ? " <" : "", fs->unknown,
				    fs->unknown[0] ? ">" : "");
	if (fs->n_types > 1)
		return dm_load_fail(ld, fs->dt_line, "dataType %s: more than one base type",
				    fs->dt_ref);
	if (!(dt = dm_arena_alloc(ld->a, sizeof *dt)))
		return dm_load_oom(ld);
	dt->name = fs->dt_ref;
	dt->base = fs->dt_base;
	dt->line = fs->dt_line;
	dt->own_set = fs->set;
	if (scratch_commit(ld, &dt->own))
		return DM_ERR_SCHEMA_FILE;
	return DM_LOAD_PUSH(ld, ld->dts, ld->n_dts, ld->cap_dts, dt) ? dm_load_oom(ld) : DM_OK;
}

int dm_load_syntax_start(loader *ld)
{
	static const char *const names[] = {"hidden", "secured"};
	const char *v[2];
	int rc;

	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	ld->have_syntax = true;
	ld->fs.hidden = dm_load_is_true(v[0]) || dm_load_is_true(v[1]);
	return DM_OK;
}

static int default_elem(loader *ld)
{
	static const char *const names[] = {"type", "value"};
	const char *v[2], *val, **slot = NULL;
	int rc;

	ld->skip = !ld->empty;
	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	if (!v[0] || strcmp(v[0], "object") == 0)
		slot = &ld->fs.def_object;
	else if (strcmp(v[0], "factory") == 0)
		slot = &ld->fs.def_factory;
	else if (strcmp(v[0], "parameter") == 0) /* command/event arguments */
		slot = &ld->fs.def_param;
	if (!slot) /* "implementation": nothing the agent can apply */
		return DM_OK;
	if (!(val = dm_load_intern(ld, v[1] ? v[1] : "")))
		return DM_ERR_NOMEM;
	*slot = val;
	return DM_OK;
}

static int typeref_start(loader *ld)
{
	static const char *const names[] = {"ref", "base"};
	const char *v[2];
	int rc;

	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	if (!v[0] && !v[1])
		return dm_load_fail(ld, ld->line, "<dataType> in <syntax> without ref or base");
	ld->fs.n_types++;
	ld->fs.dt_line = ld->line;
	return dm_load_intern_opt(ld, v[0] ? v[0] : v[1], &ld->fs.dt_ref);
}

/* Type elements and facets: in a dataType definition or a syntax. */
int dm_load_in_typed(loader *ld, const frame *top, elem_id id, dm_type type, const char *name)
{
	int rc;

	if (id == E_BASE_TYPE && top->kind != F_TYPE) {
		ld->fs.n_types++;
		ld->fs.set |= FS_BASE;
		ld->fs.f.base = type;
		return dm_load_enter(ld, F_TYPE, NULL);
	}
	if (id == E_DATATYPE && top->kind == F_SYNTAX) {
		if ((rc = typeref_start(ld)))
			return rc;
		return dm_load_enter(ld, F_TYPE, NULL);
	}
	if (id == E_LIST && top->kind != F_TYPE) {
		if ((rc = list_start(ld)))
			return rc;
		return dm_load_enter(ld, F_LIST, NULL);
	}
	if (id == E_DEFAULT && top->kind == F_SYNTAX)
		return default_elem(ld);
	if (top->kind != F_SYNTAX && (rc = facet_leaf(ld, id)) != 1)
		return rc;
	if (top->kind != F_TYPE && id != E_DESCRIPTION)
		note_unknown(ld, name);
	ld->skip = !ld->empty;
	return DM_OK;
}

/* BBF DM XML writes list defaults in brackets ("[]", "[a,b]"); the value
 * itself is the text between them. */
static int list_default_unwrap(loader *ld, dm_node *p)
{
	const char *d = p->u.param.default_value;
	size_t n = d ? strlen(d) : 0;
	if (!p->u.param.facets.is_list || n < 2 || d[0] != '[' || d[n - 1] != ']')
		return DM_OK;
	const char *inner = dm_arena_strndup(ld->a, d + 1, n - 2);
	if (!inner)
		return DM_ERR_NOMEM;
	p->u.param.default_value = inner;
	return DM_OK;
}

int dm_load_param_end(loader *ld, struct dm_node *p)
{
	facet_scratch *fs = &ld->fs;
	dm_facets base = {0}, own;
	dtdef *dt = NULL;
	int rc;

	if (!ld->have_syntax)
		return dm_load_fail(ld, p->line, "parameter %s has no <syntax>", p->path);
	if (fs->n_types > 1)
		return dm_load_fail(ld, p->line, "parameter %s: more than one type in <syntax>",
				    p->path);
	if (fs->dt_ref) {
		if (!(dt = dt_find(ld, fs->dt_ref)))
			return dm_load_fail(ld, fs->dt_line,
					    "parameter %s: dataType %s is not defined", p->path,
					    fs->dt_ref);
		if ((rc = dt_resolve(ld, dt)))
			return rc;
		base = dt->resolved;
	} else if (!(fs->set & FS_BASE)) {
		return dm_load_fail(ld, p->line, "parameter %s: unknown or missing base type%s%s%s",
				    p->path, fs->unknown[0] ? " <" : "", fs->unknown,
				    fs->unknown[0] ? ">" : "");
	}
	if ((rc = scratch_commit(ld, &own)))
		return rc;
	facets_overlay(&base, &own, fs->set, &p->u.param.facets);
	/* The object default is what a new instance gets; a factory default
	 * only what a factory reset restores. */
	p->u.param.default_value = fs->def_object    ? fs->def_object
				   : fs->def_factory ? fs->def_factory
						     : fs->def_param;
	p->u.param.default_is_factory = !fs->def_object && fs->def_factory;
	p->u.param.hidden = fs->hidden;
	return list_default_unwrap(ld, p);
}

int dm_load_list_size(loader *ld)
{
	static const char *const names[] = {"minLength", "maxLength"};
	const char *v[2];
	int rc;

	ld->skip = !ld->empty;
	if ((rc = dm_load_attrs(ld, names, 2, v)))
		return rc;
	return facet_size(ld, v, true);
}

int dm_load_resolve_types(loader *ld)
{
	int rc;

	/* Unused dataTypes too: a broken definition is a broken file. */
	for (size_t i = 0; i < ld->n_dts; i++)
		if ((rc = dt_resolve(ld, ld->dts[i])))
			return rc;
	return DM_OK;
}
