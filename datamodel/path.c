/*
 * path.c - the syntax of data model path expressions: turns a USP or CWMP
 * path string into a dm_path (segments, search conditions, flags). Grammar
 * only; what the names mean and which instances exist is resolve.c's job.
 *
 * Grammar as implemented (TR-369 1.4 "Path Names" to "Data Model Path
 * Grammar"; TR-069 Alias-Based Addressing, §3.6.1):
 *  - The path starts with "Device." (TR-106 single root). "Device" alone
 *    is refused: no idmpath production is a lone name.
 *  - Names are [A-Za-z_][A-Za-z0-9_-]*. The TR-369 BNF omits '-', but
 *    TR-106 vendor names carry a domain with hyphens ("X_EXAMPLE-COM_Foo").
 *  - Instance numbers are [1-9][0-9]* up to 2^32-1 (posnum; instances start
 *    at 1, and "01" would alias "1"). An instance identifier (number, '*',
 *    search, alias) must follow a table name: not the root, not a
 *    reference-following segment, not another identifier (objpath rule).
 *  - USP: a path may end in an instance identifier without the '.', as
 *    reference values and the "Addressing by Unique Key" examples do
 *    ("Device.IP.Interface.[Name==\"eth0\"]"); the last segment's kind tells
 *    the resolver. CWMP object paths always end in '.'.
 *  - Reference following "Name+", "Name#N+", "Name#*+" must be followed by
 *    '.'; the relative path after it is optional ("Reference Following":
 *    "followed by a '.', optionally followed by a Relative ... Path"). "+"
 *    alone means "#1+", so DM_FOLLOW_SINGLE carries list_index 1. "#*+" can
 *    match any number of objects, so it sets has_pattern like '*'.
 *  - "Name()" and "Name!" end the path (cmdpath, evntpath).
 *  - Search expressions: relpath oper value joined by "&&", never empty.
 *    relpath is names and reference following only: it may not descend
 *    into a child table. Operators == != ~= < > <= >=. Blanks (space, tab)
 *    may separate tokens inside the brackets (R-ARC.9a asks tolerance around
 *    operators; allowing it at every token boundary there is unambiguous).
 *  - Quoted values: any bytes but '"', with %HH percent escapes decoded
 *    ("%22" is a quote, "%25" a percent); a bad escape or %00 is refused.
 *    Unquoted values: [A-Za-z0-9_+.:-]+ which covers numbers, booleans,
 *    dateTime and hexBinary; anything else has to be quoted.
 *  - CWMP: "[alias]" with the TR-181 Alias rules (non-empty, starts with a
 *    letter, at most 64 characters, no '[' ']' or control characters). No
 *    '*', search, reference following, commands or events.
 *  - Inputs longer than PATH_MAX_LEN are refused before any other work.
 * Error positions in messages are 0-based byte offsets into the input.
 */
#include "path.h"
#include "chars.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 8192u /* far above any real path; bounds the work */
#define ALIAS_MAX_LEN 64u  /* TR-181 Alias is string(64) */
#define ROOT_PREFIX "Device."

typedef struct parser {
	const char *in;
	size_t pos;          /* offset of the next unread byte */
	dm_grammar g;
	dm_path *out;
	dm_cond *cond_next;  /* next free slot of the condition area */
	char *str_next;      /* next free byte of the string area */
	dm_errinfo *err;
} parser;

/* Upper bounds of what a parse can produce, from one scan of the input. */
typedef struct sizing {
	size_t len, segs, conds;
} sizing;

/* Two-character operators come first so that "<=" is not read as "<". */
static const struct {
	char text[3];
	dm_cmp_op op;
} cmp_ops[] = {
	{"==", DM_CMP_EQ}, {"!=", DM_CMP_NE}, {"~=", DM_CMP_CONTAINS}, {"<=", DM_CMP_LE},
	{">=", DM_CMP_GE}, {"<", DM_CMP_LT},  {">", DM_CMP_GT},
};

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_name_start(char c)
{
	return is_alpha(c) || c == '_';
}

static bool is_name_char(char c)
{
	return is_alpha(c) || dm_is_digit(c) || c == '_' || c == '-';
}

static bool is_bare_value_char(char c)
{
	return is_alpha(c) || dm_is_digit(c) || c == '_' || c == '+' || c == '-' || c == '.' ||
	       c == ':';
}

static bool is_instance_start(char c)
{
	return dm_is_digit(c) || c == '*' || c == '[';
}

/* Report a syntax error at offset at (never beyond the terminating NUL). */
static int fail(parser *p, size_t at, const char *what)
{
	char found[24];
	unsigned char c = (unsigned char)p->in[at];

	if (!c)
		snprintf(found, sizeof found, "end of path");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(found, sizeof found, "'%c'", c);
	else
		snprintf(found, sizeof found, "byte 0x%02x", c);
	return dm_err_set(p->err, DM_ERR_SYNTAX, DM_REASON_NONE, p->in, "position %zu: %s, found %s",
			  at, what, found);
}

/* Segments are separated by '.', and every condition but the first of an
 * expression follows "&&", so counting those bytes bounds both arrays
 * without a second parse. Returns false when the input is too long. */
static bool measure(const char *s, sizing *z)
{
	size_t i, dots = 0, amps = 0, brackets = 0;

	for (i = 0; s[i]; i++) {
		if (i == PATH_MAX_LEN)
			return false;
		if (s[i] == '.')
			dots++;
		else if (s[i] == '&')
			amps++;
		else if (s[i] == '[')
			brackets++;
	}
	z->len = i;
	z->segs = dots + 1;
	z->conds = brackets + amps / 2;
	return true;
}

/* One block: segment array, condition array, then the strings. Every string
 * is a disjoint piece of the input (percent-decoding only shrinks it) plus a
 * NUL, at most one per segment and two per condition. */
static int alloc_path(parser *p, const sizing *z)
{
	size_t seg_bytes = z->segs * sizeof(dm_seg);
	size_t cond_bytes = z->conds * sizeof(dm_cond);
	size_t str_bytes = z->len + z->segs + 2 * z->conds + 1;
	char *mem = malloc(seg_bytes + cond_bytes + str_bytes);

	if (!mem)
		return dm_err_set(p->err, DM_ERR_NOMEM, DM_REASON_NONE, p->in, NULL);
	p->out->mem = mem;
	p->out->segs = (dm_seg *)mem;
	p->cond_next = z->conds ? (dm_cond *)(mem + seg_bytes) : NULL;
	p->str_next = mem + seg_bytes + cond_bytes;
	return DM_OK;
}

static const char *copy_str(parser *p, size_t start, size_t n)
{
	char *s = p->str_next;

	memcpy(s, p->in + start, n);
	s[n] = '\0';
	p->str_next += n + 1;
	return s;
}

static void skip_blanks(parser *p)
{
	while (p->in[p->pos] == ' ' || p->in[p->pos] == '\t')
		p->pos++;
}

/* posnum ::= [1-9][0-9]*, limited to what a uint32_t holds. */
static int scan_posnum(parser *p, uint32_t *out, const char *what)
{
	size_t at = p->pos;
	uint64_t v = 0;

	if (p->in[at] < '1' || p->in[at] > '9')
		return fail(p, at, what);
	while (dm_is_digit(p->in[p->pos])) {
		v = v * 10 + (uint64_t)(p->in[p->pos] - '0');
		if (v > UINT32_MAX)
			return fail(p, at, "number larger than 4294967295");
		p->pos++;
	}
	*out = (uint32_t)v;
	return DM_OK;
}

/* Advance over a name; the caller has checked its first character. */
static void scan_name(parser *p)
{
	p->pos++;
	while (is_name_char(p->in[p->pos]))
		p->pos++;
}

/* Optional reference-following decoration after a name: '+', "#N+", "#*+". */
static int scan_follow(parser *p, dm_ref_follow *follow, uint32_t *index)
{
	char c = p->in[p->pos];
	int rc;

	*follow = DM_FOLLOW_NONE;
	*index = 0;
	if (c != '+' && c != '#')
		return DM_OK;
	if (p->g == DM_GRAMMAR_CWMP)
		return fail(p, p->pos, "reference following is not part of CWMP paths");
	p->pos++;
	if (c == '+') {
		*follow = DM_FOLLOW_SINGLE;
		*index = 1;
		return DM_OK;
	}
	if (p->in[p->pos] == '*') {
		p->pos++;
	} else {
		rc = scan_posnum(p, index, "expected a list item number (from 1) or '*' after '#'");
		if (rc)
			return rc;
	}
	if (p->in[p->pos] != '+')
		return fail(p, p->pos, "expected '+'");
	p->pos++;
	*follow = DM_FOLLOW_LIST;
	return DM_OK;
}

/* relpath ::= name (reffollow? '.' name)*  -- validated, kept as text. */
static int scan_relpath(parser *p)
{
	dm_ref_follow follow;
	uint32_t index;
	int rc;

	for (;;) {
		char c = p->in[p->pos];

		if (is_instance_start(c))
			return fail(p, p->pos, "a search expression cannot descend into a child table");
		if (!is_name_start(c))
			return fail(p, p->pos, "expected a parameter name");
		scan_name(p);
		rc = scan_follow(p, &follow, &index);
		if (rc)
			return rc;
		if (p->in[p->pos] != '.') {
			if (follow != DM_FOLLOW_NONE)
				return fail(p, p->pos, "expected '.' after reference following");
			return DM_OK;
		}
		p->pos++;
	}
}

static int scan_operator(parser *p, dm_cmp_op *op)
{
	const char *s = p->in + p->pos;

	for (size_t i = 0; i < sizeof cmp_ops / sizeof cmp_ops[0]; i++) {
		size_t n = strlen(cmp_ops[i].text);

		/* strncmp stops at the input's NUL, so a short input is safe */
		if (strncmp(s, cmp_ops[i].text, n) == 0) {
			*op = cmp_ops[i].op;
			p->pos += n;
			return DM_OK;
		}
	}
	return fail(p, p->pos, "expected an operator (== != ~= < > <= >=)");
}

/* "..." with %HH escapes, decoded into the string area. */
static int scan_quoted(parser *p, dm_cond *c)
{
	char *dst = p->str_next;

	c->value = dst;
	c->quoted = true;
	p->pos++;
	for (;;) {
		char ch = p->in[p->pos];

		if (ch == '\0')
			return fail(p, p->pos, "expected '\"' to close the string");
		if (ch == '"')
			break;
		if (ch == '%') {
			int hi = dm_hex_value(p->in[p->pos + 1]);
			int lo = hi < 0 ? -1 : dm_hex_value(p->in[p->pos + 2]);

			if (lo < 0)
				return fail(p, p->pos, "expected a percent escape %HH");
			if (hi == 0 && lo == 0)
				return fail(p, p->pos, "%00 cannot be part of a value");
			*dst++ = (char)(hi * 16 + lo);
			p->pos += 3;
			continue;
		}
		*dst++ = ch;
		p->pos++;
	}
	p->pos++;
	*dst++ = '\0';
	p->str_next = dst;
	return DM_OK;
}

static int scan_value(parser *p, dm_cond *c)
{
	size_t start = p->pos;

	if (p->in[start] == '"')
		return scan_quoted(p, c);
	while (is_bare_value_char(p->in[p->pos]))
		p->pos++;
	if (p->pos == start)
		return fail(p, start, "expected a value (a number, true/false or a \"string\")");
	c->value = copy_str(p, start, p->pos - start);
	c->quoted = false;
	return DM_OK;
}

/* exprcomp ::= relpath oper value */
static int parse_cond(parser *p, dm_cond *c)
{
	size_t start = p->pos;
	int rc;

	rc = scan_relpath(p);
	if (rc)
		return rc;
	c->rel_path = copy_str(p, start, p->pos - start);
	skip_blanks(p);
	rc = scan_operator(p, &c->op);
	if (rc)
		return rc;
	skip_blanks(p);
	return scan_value(p, c);
}

/* expr ::= '[' exprcomp ('&&' exprcomp)* ']' */
static int parse_search(parser *p, dm_seg *seg)
{
	int rc;

	seg->kind = DM_SEG_SEARCH;
	seg->conds = p->cond_next;
	p->pos++;
	skip_blanks(p);
	if (p->in[p->pos] == ']')
		return fail(p, p->pos, "empty search expression");
	for (;;) {
		rc = parse_cond(p, p->cond_next);
		if (rc)
			return rc;
		p->cond_next++;
		seg->n_conds++;
		skip_blanks(p);
		if (p->in[p->pos] == '&' && p->in[p->pos + 1] == '&') {
			p->pos += 2;
			skip_blanks(p);
			continue;
		}
		if (p->in[p->pos] == ']')
			break;
		return fail(p, p->pos, "expected '&&' or ']'");
	}
	p->pos++;
	p->out->has_pattern = true;
	return DM_OK;
}

/* CWMP "[alias]" (TR-069 §3.6.1, TR-181 Alias rules). */
static int parse_alias(parser *p, dm_seg *seg)
{
	size_t start = ++p->pos;

	if (!is_alpha(p->in[start]))
		return fail(p, start, "expected an alias starting with a letter");
	for (;;) {
		unsigned char c = (unsigned char)p->in[p->pos];

		if (c == ']')
			break;
		if (c == '\0' || c == '[' || c < 0x20 || c == 0x7f)
			return fail(p, p->pos, "expected ']'");
		p->pos++;
	}
	if (p->pos - start > ALIAS_MAX_LEN)
		return fail(p, start + ALIAS_MAX_LEN, "alias longer than 64 characters");
	seg->kind = DM_SEG_ALIAS;
	seg->alias = copy_str(p, start, p->pos - start);
	p->pos++;
	return DM_OK;
}

static int parse_instance_id(parser *p, dm_seg *seg)
{
	char c = p->in[p->pos];

	if (dm_is_digit(c)) {
		seg->kind = DM_SEG_INSTANCE;
		return scan_posnum(p, &seg->inst, "expected an instance number (from 1, no leading zeros)");
	}
	if (c == '*') {
		if (p->g == DM_GRAMMAR_CWMP)
			return fail(p, p->pos, "'*' is not part of CWMP paths");
		seg->kind = DM_SEG_WILDCARD;
		p->pos++;
		p->out->has_pattern = true;
		return DM_OK;
	}
	return p->g == DM_GRAMMAR_CWMP ? parse_alias(p, seg) : parse_search(p, seg);
}

/* "Name()" or "Name!": USP only, and only as the last segment. */
static int parse_terminal(parser *p, dm_seg *seg, size_t start, size_t n)
{
	bool cmd = p->in[p->pos] == '(';

	if (p->g == DM_GRAMMAR_CWMP)
		return fail(p, p->pos, cmd ? "commands are not part of CWMP paths"
					   : "events are not part of CWMP paths");
	if (cmd && p->in[p->pos + 1] != ')')
		return fail(p, p->pos + 1, "expected ')'");
	p->pos += cmd ? 2 : 1;
	if (p->in[p->pos] != '\0')
		return fail(p, p->pos, cmd ? "expected end of path after '()'"
					   : "expected end of path after '!'");
	seg->kind = cmd ? DM_SEG_COMMAND : DM_SEG_EVENT;
	seg->name = copy_str(p, start, n);
	return DM_OK;
}

static int parse_name(parser *p, dm_seg *seg, bool allow_terminal)
{
	size_t start = p->pos;
	size_t n;
	int rc;

	scan_name(p);
	n = p->pos - start;
	if (allow_terminal && (p->in[p->pos] == '(' || p->in[p->pos] == '!'))
		return parse_terminal(p, seg, start, n);
	rc = scan_follow(p, &seg->follow, &seg->list_index);
	if (rc)
		return rc;
	if (seg->follow == DM_FOLLOW_LIST && seg->list_index == 0)
		p->out->has_pattern = true;
	seg->name = copy_str(p, start, n);
	return DM_OK;
}

/* An instance identifier needs a table name before it (objpath rule). */
static bool instance_allowed(const parser *p)
{
	const dm_path *path = p->out;
	const dm_seg *prev;

	if (path->n_segs < 2)
		return false;
	prev = &path->segs[path->n_segs - 1];
	return prev->kind == DM_SEG_NAME && prev->follow == DM_FOLLOW_NONE;
}

static int parse_segment(parser *p, bool relative)
{
	dm_seg *seg = &p->out->segs[p->out->n_segs];
	char c = p->in[p->pos];
	int rc;

	*seg = (dm_seg){.kind = DM_SEG_NAME};
	if (is_name_start(c)) {
		rc = parse_name(p, seg, !relative);
	} else if (relative) {
		return fail(p, p->pos, "expected a name");
	} else if (is_instance_start(c)) {
		if (!instance_allowed(p))
			return fail(p, p->pos, "an instance identifier must follow a table name");
		rc = parse_instance_id(p, seg);
	} else {
		return fail(p, p->pos, instance_allowed(p) ? "expected a name or an instance identifier"
							   : "expected a name");
	}
	if (rc)
		return rc;
	p->out->n_segs++;
	return DM_OK;
}

/* The path ended right after its last segment (no trailing '.'). */
static int check_end(parser *p, const dm_seg *last)
{
	switch (last->kind) {
	case DM_SEG_NAME:
		if (last->follow != DM_FOLLOW_NONE)
			return fail(p, p->pos, "expected '.' after reference following");
		return DM_OK;
	case DM_SEG_INSTANCE:
	case DM_SEG_WILDCARD:
	case DM_SEG_SEARCH:
	case DM_SEG_ALIAS:
		if (p->g == DM_GRAMMAR_CWMP)
			return fail(p, p->pos, "expected '.' (CWMP object paths end in '.')");
		return DM_OK;
	default:
		return DM_OK;
	}
}

/* Segments after the first, which is in place with p->pos just past it. */
static int parse_rest(parser *p, bool relative)
{
	int rc;

	for (;;) {
		char c = p->in[p->pos];

		if (c == '\0')
			return check_end(p, &p->out->segs[p->out->n_segs - 1]);
		if (c != '.')
			return fail(p, p->pos, "expected '.'");
		p->pos++;
		if (p->in[p->pos] == '\0') {
			if (relative)
				return fail(p, p->pos, "expected a name");
			p->out->trailing_dot = true;
			return DM_OK;
		}
		rc = parse_segment(p, relative);
		if (rc)
			return rc;
	}
}

static int parse_root(parser *p)
{
	dm_seg *seg = &p->out->segs[0];
	size_t i;

	/* stops at the first difference, the input's NUL included */
	for (i = 0; i < sizeof ROOT_PREFIX - 1; i++)
		if (p->in[i] != ROOT_PREFIX[i])
			return fail(p, i, "expected the root 'Device.'");
	*seg = (dm_seg){.kind = DM_SEG_NAME};
	seg->name = copy_str(p, 0, sizeof ROOT_PREFIX - 2);
	p->out->n_segs = 1;
	p->pos = sizeof ROOT_PREFIX - 2;
	return DM_OK;
}

static int parse(const char *expr, dm_grammar g, bool relative, dm_path *out, dm_errinfo *err)
{
	parser p = {.in = expr, .g = g, .out = out, .err = err};
	sizing z;
	int rc;

	*out = (dm_path){0};
	if (!expr)
		return dm_err_set(err, DM_ERR_SYNTAX, DM_REASON_NONE, NULL, "no path given");
	if (!measure(expr, &z))
		return dm_err_set(err, DM_ERR_SYNTAX, DM_REASON_NONE, expr,
				  "position %u: path longer than %u characters", PATH_MAX_LEN,
				  PATH_MAX_LEN);
	rc = alloc_path(&p, &z);
	if (rc)
		return rc;
	rc = relative ? parse_segment(&p, true) : parse_root(&p);
	if (!rc)
		rc = parse_rest(&p, relative);
	if (rc)
		dm_path_free(out);
	return rc;
}

int dm_path_parse(const char *expr, dm_grammar g, dm_path *out, dm_errinfo *err)
{
	return parse(expr, g, false, out, err);
}

int dm_path_parse_relative(const char *expr, dm_path *out, dm_errinfo *err)
{
	return parse(expr, DM_GRAMMAR_USP, true, out, err);
}

void dm_path_free(dm_path *p)
{
	if (!p)
		return;
	free(p->mem);
	*p = (dm_path){0};
}

const char *dm_cmp_op_str(dm_cmp_op op)
{
	for (size_t i = 0; i < sizeof cmp_ops / sizeof cmp_ops[0]; i++)
		if (cmp_ops[i].op == op)
			return cmp_ops[i].text;
	return "?";
}
