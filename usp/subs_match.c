/*
 * subs_match.c - compiled path patterns: does a concrete path (what the
 * change feed reports, what a permission check asks about) match a
 * Subscription's ReferenceList entry or a Permission's Targets entry?
 *
 * Matching is structural, segment by segment, without the data model for
 * names, instance numbers, '*' and "{i}". A search expression segment is
 * decided against the current state by resolving the concrete prefix plus
 * that one segment ("Device.IP.Interface.[Type==\"Normal\"].") and looking
 * for the changed instance among the results, so it costs one walk of that
 * table, and only after every cheaper segment matched. Reference following
 * ('+', '#') cannot be decided structurally: such patterns are resolved whole
 * and the path looked up among the results. The path grammar itself is the
 * engine's; this file only splits segments and never judges a condition.
 */
#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum seg_kind {
	SEG_NAME,     /* literal: an object, parameter, command or event name */
	SEG_INST,     /* an instance number */
	SEG_ANY,      /* '*' or the supported-path "{i}" */
	SEG_SEARCH,   /* "[...]" */
	SEG_FOLLOW,   /* reference following: "Name+", "Name#1+" */
} seg_kind;

typedef struct seg {
	seg_kind kind;
	const char *text; /* points into usp_pat.text */
	size_t len;
} seg;

struct usp_pat {
	char *text;
	size_t lit_len;  /* leading literal part a matching path must start with */
	size_t n_segs;
	seg *segs;
	bool object;     /* text ends in '.' */
	bool root;       /* "Device" or "Device." */
	bool has_search;
	bool follow;     /* resolved whole (reference following) */
};

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* End of the segment starting at s: the next '.' outside brackets and quotes. */
static const char *seg_end(const char *s, bool *bad)
{
	int depth = 0;
	bool quoted = false;
	for (; *s; s++) {
		if (quoted) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				quoted = false;
		} else if (*s == '"' && depth) {
			quoted = true;
		} else if (*s == '[') {
			depth++;
		} else if (*s == ']') {
			if (--depth < 0)
				break;
		} else if (*s == '.' && !depth) {
			return s;
		}
	}
	*bad = depth != 0 || quoted;
	return s;
}

static seg_kind classify(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		return SEG_SEARCH;
	if ((n == 1 && s[0] == '*') || (n == 3 && !memcmp(s, "{i}", 3)))
		return SEG_ANY;
	if (all_digits(s, n))
		return SEG_INST;
	if (memchr(s, '+', n) || memchr(s, '#', n))
		return SEG_FOLLOW;
	return SEG_NAME;
}

static int split(usp_pat *p)
{
	size_t cap = 8;
	if (!(p->segs = malloc(cap * sizeof *p->segs)))
		return DM_ERR_NOMEM;
	const char *s = p->text;
	while (*s) {
		bool bad = false;
		const char *e = seg_end(s, &bad);
		if (bad || e == s)
			return DM_ERR_SYNTAX;
		if (p->n_segs == cap) {
			seg *ns = realloc(p->segs, 2 * cap * sizeof *ns);
			if (!ns)
				return DM_ERR_NOMEM;
			p->segs = ns;
			cap *= 2;
		}
		seg *g = &p->segs[p->n_segs++];
		g->text = s;
		g->len = (size_t)(e - s);
		g->kind = classify(s, g->len);
		if (!*e)
			break;
		s = e + 1;
	}
	return p->n_segs ? DM_OK : DM_ERR_SYNTAX;
}

static void summarise(usp_pat *p)
{
	p->lit_len = 0;
	bool literal = true;
	for (size_t i = 0; i < p->n_segs; i++) {
		const seg *g = &p->segs[i];
		if (g->kind == SEG_SEARCH)
			p->has_search = true;
		if (g->kind == SEG_FOLLOW)
			p->follow = true;
		if (literal && (g->kind == SEG_NAME || g->kind == SEG_INST))
			p->lit_len = (size_t)(g->text + g->len - p->text);
		else
			literal = false;
	}
	p->root = p->n_segs == 1 && p->segs[0].len == 6 && !memcmp(p->segs[0].text, "Device", 6);
}

int usp_pat_compile(const char *text, usp_pat **out)
{
	*out = NULL;
	if (!text)
		return DM_ERR_SYNTAX;
	while (*text == ' ')
		text++;
	usp_pat *p = calloc(1, sizeof *p);
	if (!p || !(p->text = strdup(text))) {
		free(p);
		return DM_ERR_NOMEM;
	}
	size_t n = strlen(p->text);
	while (n && p->text[n - 1] == ' ')
		p->text[--n] = 0;
	p->object = n && p->text[n - 1] == '.';
	int rc = split(p);
	if (rc) {
		usp_pat_free(p);
		return rc;
	}
	summarise(p);
	*out = p;
	return DM_OK;
}

void usp_pat_free(usp_pat *p)
{
	if (!p)
		return;
	free(p->segs);
	free(p->text);
	free(p);
}

const char *usp_pat_text(const usp_pat *p) { return p->text; }
bool usp_pat_is_object(const usp_pat *p) { return p->object; }
bool usp_pat_is_root(const usp_pat *p) { return p->root; }
bool usp_pat_is_dynamic(const usp_pat *p) { return p->has_search || p->follow; }

/* ---- dynamic checks ----------------------------------------------------- */

typedef struct find_ctx {
	const char *want;
	size_t want_len;  /* compared without a trailing '.' */
	usp_pat_mode mode;
} find_ctx;

static size_t strip_dot(const char *s, size_t n)
{
	return n && s[n - 1] == '.' ? n - 1 : n;
}

static int find_cb(void *ctx, const dm_item *it)
{
	find_ctx *f = ctx;
	size_t n = strip_dot(it->path, strlen(it->path));
	if (n == f->want_len && !memcmp(it->path, f->want, n))
		return 1;
	/* a partial path found covers everything below it */
	if (f->mode == USP_PAT_PREFIX && n < f->want_len && f->want[n] == '.' && !memcmp(it->path, f->want, n))
		return 1;
	return 0;
}

static bool resolve_has(dm *d, dm_txn *t, const char *expr, unsigned flags, find_ctx *f)
{
	if (!d && !t)
		return false;
	dm_txn *own = NULL;
	if (!t) {
		if (dm_txn_begin(d, DM_TXN_READ, NULL, &own))
			return false;
		t = own;
	}
	int rc = dm_resolve(t, DM_GRAMMAR_USP, expr, flags, 0, find_cb, f, NULL);
	if (own)
		dm_txn_abort(own);
	return rc == 1;
}

/* Is the instance path[0..inst_end) among "<path[0..seg_start)><search>."? */
static bool search_holds(dm *d, dm_txn *t, const char *path, size_t seg_start, size_t inst_end, const seg *g)
{
	size_t need = seg_start + g->len + 2;
	char small[512];
	char *expr = need <= sizeof small ? small : malloc(need);
	if (!expr)
		return false;
	memcpy(expr, path, seg_start);
	memcpy(expr + seg_start, g->text, g->len);
	expr[seg_start + g->len] = '.';
	expr[seg_start + g->len + 1] = 0;
	find_ctx f = {.want = path, .want_len = inst_end, .mode = USP_PAT_EXACT};
	bool ok = resolve_has(d, t, expr, DM_RESOLVE_OBJECTS, &f);
	if (expr != small)
		free(expr);
	return ok;
}

static bool match_follow(const usp_pat *p, dm *d, dm_txn *t, const char *path, size_t n, usp_pat_mode mode)
{
	find_ctx f = {.want = path, .want_len = n, .mode = mode};
	unsigned flags = DM_RESOLVE_OBJECTS | DM_RESOLVE_PARAMS | DM_RESOLVE_COMMANDS | DM_RESOLVE_EVENTS;
	return resolve_has(d, t, p->text, flags, &f);
}

/* ---- matching -------------------------------------------------------------- */

static bool seg_static_match(const seg *g, const char *s, size_t n)
{
	switch (g->kind) {
	case SEG_NAME:
	case SEG_INST:
		return g->len == n && !memcmp(g->text, s, n);
	case SEG_ANY:
		return n > 0;
	case SEG_SEARCH:
		return all_digits(s, n) || (n == 3 && !memcmp(s, "{i}", 3));
	case SEG_FOLLOW:
		return false;
	}
	return false;
}

bool usp_pat_match(const usp_pat *p, dm *d, dm_txn *t, const char *path, usp_pat_mode mode)
{
	size_t n = strip_dot(path, strlen(path));
	if (p->follow)
		return match_follow(p, d, t, path, n, mode);
	if (p->lit_len > n || memcmp(path, p->text, p->lit_len))
		return false;
	/* pass 1: structure only; search segments remembered for pass 2 */
	size_t starts[64], ends[64], n_search = 0, search_at[64];
	size_t pos = 0, i = 0;
	for (; i < p->n_segs; i++) {
		if (pos >= n)
			return false;
		const char *dot = memchr(path + pos, '.', n - pos);
		size_t e = dot ? (size_t)(dot - path) : n;
		const seg *g = &p->segs[i];
		if (!seg_static_match(g, path + pos, e - pos))
			return false;
		if (g->kind == SEG_SEARCH) {
			if (n_search == 64)
				return false;
			starts[n_search] = pos;
			ends[n_search] = e;
			search_at[n_search++] = i;
		}
		pos = e + 1;
	}
	if (mode == USP_PAT_EXACT && pos <= n)
		return false;
	for (size_t k = 0; k < n_search; k++) {
		/* a supported path ("{i}") could hold matching instances */
		if (ends[k] - starts[k] == 3 && path[starts[k]] == '{')
			continue;
		if (!search_holds(d, t, path, starts[k], ends[k], &p->segs[search_at[k]]))
			return false;
	}
	return true;
}

/* The supported-path node a pattern names ("Device.IP.Interface.*.Name" ->
 * "Device.IP.Interface.{i}.Name"), NULL when it follows references or the
 * schema has no such node. */
const dm_node *usp_pat_schema_node(const usp_pat *p, const dm_schema *schema)
{
	if (p->follow)
		return NULL;
	size_t need = 1;
	for (size_t i = 0; i < p->n_segs; i++)
		need += (p->segs[i].kind == SEG_NAME ? p->segs[i].len : 3) + 1;
	char small[512];
	char *buf = need <= sizeof small ? small : malloc(need);
	if (!buf)
		return NULL;
	size_t w = 0;
	for (size_t i = 0; i < p->n_segs; i++) {
		const seg *g = &p->segs[i];
		if (i)
			buf[w++] = '.';
		memcpy(buf + w, g->kind == SEG_NAME ? g->text : "{i}", g->kind == SEG_NAME ? g->len : 3);
		w += g->kind == SEG_NAME ? g->len : 3;
	}
	if (p->object)
		buf[w++] = '.';
	buf[w] = 0;
	const dm_node *n = dm_schema_find(schema, buf);
	if (buf != small)
		free(buf);
	return n;
}

/* ---- lists ------------------------------------------------------------------ */

/*
 * Split a TR-106 comma-separated list into trimmed items. Commas inside a
 * search expression ("[Name==\"a,b\"]") belong to the item, so the split
 * respects brackets and quotes as segment splitting does.
 */
int usp_list_split(const char *list, char ***items, size_t *n)
{
	*items = NULL;
	*n = 0;
	size_t cap = 0;
	const char *s = list ? list : "";
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		const char *e = s;
		int depth = 0;
		bool quoted = false;
		for (; *e && (quoted || depth || *e != ','); e++) {
			if (quoted && *e == '\\' && e[1])
				e++;
			else if (*e == '"' && depth)
				quoted = !quoted;
			else if (!quoted && *e == '[')
				depth++;
			else if (!quoted && *e == ']' && depth)
				depth--;
		}
		size_t len = (size_t)(e - s);
		while (len && s[len - 1] == ' ')
			len--;
		if (*n == cap) {
			size_t nc = cap ? 2 * cap : 4;
			char **ni = realloc(*items, nc * sizeof *ni);
			if (!ni)
				goto nomem;
			*items = ni;
			cap = nc;
		}
		if (!((*items)[*n] = strndup(s, len)))
			goto nomem;
		(*n)++;
		s = e;
	}
	return DM_OK;
nomem:
	usp_list_free(*items, *n);
	*items = NULL;
	*n = 0;
	return DM_ERR_NOMEM;
}

void usp_list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}
