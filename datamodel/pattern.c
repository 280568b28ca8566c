/*
 * pattern.c - XSD regular expressions (the <pattern> facets of BBF data
 * models) rewritten as POSIX extended regular expressions and matched with
 * regcomp/regexec. XSD patterns always match the whole value, treat ^ and $
 * as ordinary characters, allow escapes inside brackets, subtract classes
 * ([a-z-[aeiou]]) and offer \d \s \w \i \c \p{..}; POSIX has none of these,
 * so each is rewritten here. Value types and the other facets live in types.c.
 *
 * Matching is bytewise in the C locale: a class can hold ASCII members
 * exactly, while non-ASCII characters are either all admitted or all refused.
 * Every approximation errs towards admitting, so that no value the schema
 * allows is ever refused by the translation.
 */
#include "pattern.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bound on group and class-subtraction nesting: recursion over a malformed
 * schema must stay shallow. */
#define MAX_DEPTH 32

/* Growable output string; an allocation failure sticks until the end. */
typedef struct obuf {
	char *s;
	size_t len, cap;
	bool oom;
} obuf;

static void ob_put(obuf *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 64;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *ns = realloc(o->s, cap);
		if (!ns) {
			o->oom = true;
			return;
		}
		o->s = ns;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void ob_putc(obuf *o, char c)
{
	ob_put(o, &c, 1);
}

/* Insert c at pos: wraps an already written piece into a group. */
static void ob_insert(obuf *o, size_t pos, char c)
{
	ob_putc(o, c);
	if (o->oom)
		return;
	memmove(o->s + pos + 1, o->s + pos, o->len - 1 - pos);
	o->s[pos] = c;
}

/* A character class: ASCII members (1..127) as a bitmap, and whether
 * characters beyond ASCII are admitted. */
typedef struct cset {
	uint8_t bits[16];
	bool nonascii;
} cset;

static void cs_add(cset *s, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi && c < 128; c++)
		s->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool cs_has(const cset *s, unsigned c)
{
	return c < 128 && (s->bits[c >> 3] & (1u << (c & 7)));
}

/* Complement. Non-ASCII is admitted whatever it was before: the sets that
 * admit it are over-approximations, so their complement cannot exclude it. */
static void cs_invert(cset *s)
{
	for (unsigned i = 0; i < sizeof s->bits; i++)
		s->bits[i] = (uint8_t)~s->bits[i];
	s->bits[0] &= (uint8_t)~1u; /* NUL never occurs in a value */
	s->nonascii = true;
}

static void cs_union(cset *s, const cset *t)
{
	for (unsigned i = 0; i < sizeof s->bits; i++)
		s->bits[i] |= t->bits[i];
	s->nonascii = s->nonascii || t->nonascii;
}

/* Subtraction keeps s's non-ASCII admission: t may be an approximation. */
static void cs_subtract(cset *s, const cset *t)
{
	for (unsigned i = 0; i < sizeof s->bits; i++)
		s->bits[i] &= (uint8_t)~t->bits[i];
}

static bool cs_empty(const cset *s)
{
	for (unsigned i = 0; i < sizeof s->bits; i++)
		if (s->bits[i])
			return false;
	return true;
}

/* Members written as in a bracket ("a-z_"), built from the tables below. */
static void cs_from(cset *s, const char *members, bool nonascii)
{
	memset(s, 0, sizeof *s);
	for (const unsigned char *m = (const unsigned char *)members; *m; m++) {
		if (m[1] == '-' && m[2]) {
			cs_add(s, m[0], m[2]);
			m += 2;
		} else {
			cs_add(s, m[0], m[0]);
		}
	}
	s->nonascii = nonascii;
}

/* XSD multi-character escapes; the upper-case ones are the complements.
 * \w is "everything but punctuation, separators and others" (XSD F.1), so
 * the ASCII symbols are members and '_' is not. */
static const struct class_escape {
	char name;
	const char *members;
	bool nonascii;
} class_escapes[] = {
	{ 'd', "0-9", false },
	{ 's', " \t\n\r", false },
	{ 'w', "0-9A-Za-z$+<=>^`|~", true },
	{ 'i', "A-Za-z_:", true },
	{ 'c', "0-9A-Za-z._:-", true },
};

/* \p{..} categories: ASCII members exact, non-ASCII admitted when the
 * category has any non-ASCII member. Unlisted names are not translated. */
static const struct category {
	const char *name;
	const char *members;
	bool nonascii;
} categories[] = {
	{ "L", "A-Za-z", true },  { "Lu", "A-Z", true },   { "Ll", "a-z", true },
	{ "Lt", "", true },       { "Lm", "", true },      { "Lo", "", true },
	{ "M", "", true },        { "Mn", "", true },      { "Mc", "", true },
	{ "Me", "", true },       { "N", "0-9", true },    { "Nd", "0-9", true },
	{ "Nl", "", true },       { "No", "", true },
	{ "P", "!-#%-*,-/:;?@[-]_{}", true },
	{ "Pc", "_", true },      { "Pd", "-", true },     { "Ps", "([{", true },
	{ "Pe", ")]}", true },    { "Pi", "", true },      { "Pf", "", true },
	{ "Po", "!-#%-'*,./:;?@\\", true },
	{ "S", "$+<=>^`|~", true }, { "Sm", "+<=>|~", true }, { "Sc", "$", true },
	{ "Sk", "^`", true },     { "So", "", true },
	{ "Z", " ", true },       { "Zs", " ", true },     { "Zl", "", true },
	{ "Zp", "", true },
	{ "C", "\x01-\x1f\x7f", true }, { "Cc", "\x01-\x1f\x7f", true },
	{ "Cf", "", true },       { "Co", "", true },      { "Cn", "", true },
	{ "IsBasicLatin", "\x01-\x7f", false },
};

/* Write a class as a bracket expression. Bracket syntax has no escapes: ']'
 * goes first, '[' where it cannot start "[:", '^' never first, '-' last.
 * Returns false for a class that can match nothing. */
static bool cs_emit(obuf *o, const cset *s)
{
	cset m = *s;
	bool neg = s->nonascii;

	if (neg) {
		/* Admitting non-ASCII is only expressible as a negated bracket. */
		for (unsigned i = 0; i < sizeof m.bits; i++)
			m.bits[i] = (uint8_t)~m.bits[i];
		m.bits[0] &= (uint8_t)~1u;
		if (cs_empty(&m)) {
			ob_putc(o, '.');
			return true;
		}
	} else if (cs_empty(&m)) {
		return false;
	}
	if (!neg && cs_has(&m, '^')) {
		cset rest = m;
		rest.bits['^' >> 3] &= (uint8_t)~(1u << ('^' & 7));
		rest.bits['-' >> 3] &= (uint8_t)~(1u << ('-' & 7));
		if (cs_empty(&rest)) {
			ob_put(o, cs_has(&m, '-') ? "[-^]" : "\\^", cs_has(&m, '-') ? 4 : 2);
			return true;
		}
	}
	ob_put(o, neg ? "[^" : "[", neg ? 2 : 1);
	if (cs_has(&m, ']'))
		ob_putc(o, ']');
	for (unsigned c = 1; c < 128; c++) {
		if (!cs_has(&m, c) || strchr("][^-", (int)c))
			continue;
		unsigned end = c;
		while (end + 1 < 128 && cs_has(&m, end + 1) && !strchr("][^-", (int)(end + 1)))
			end++;
		ob_putc(o, (char)c);
		if (end - c >= 2) {
			ob_putc(o, '-');
			ob_putc(o, (char)end);
		} else if (end > c) {
			ob_putc(o, (char)end);
		}
		c = end;
	}
	if (cs_has(&m, '['))
		ob_putc(o, '[');
	if (cs_has(&m, '^'))
		ob_putc(o, '^');
	if (cs_has(&m, '-'))
		ob_putc(o, '-');
	ob_putc(o, ']');
	return true;
}

typedef struct xlate {
	const char *p; /* next input character */
	obuf o;
	bool bad;      /* malformed or beyond translation */
	unsigned depth;
} xlate;

enum { ESC_BAD, ESC_CHAR, ESC_CLASS };

/* \p{Name} or \P{Name}; p is at the 'p'/'P'. */
static int parse_category(xlate *x, cset *set)
{
	bool complement = *x->p == 'P';
	const char *name = x->p + 2, *end;

	if (x->p[1] != '{' || !(end = strchr(name, '}')))
		return ESC_BAD;
	for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++) {
		const struct category *c = &categories[i];
		if (strlen(c->name) == (size_t)(end - name) && !memcmp(c->name, name, (size_t)(end - name))) {
			cs_from(set, c->members, c->nonascii);
			if (complement)
				cs_invert(set);
			x->p = end + 1;
			return ESC_CLASS;
		}
	}
	return ESC_BAD;
}

/* An escape after its backslash: one character into *ch, or a class. */
static int parse_escape(xlate *x, unsigned *ch, cset *set)
{
	static const char single[] = "nrt\\|.-^?*+{}()[]";
	char c = *x->p;

	if (c && strchr(single, c)) {
		x->p++;
		*ch = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : (unsigned char)c;
		return ESC_CHAR;
	}
	if (c == 'p' || c == 'P')
		return parse_category(x, set);
	for (size_t i = 0; c && i < sizeof class_escapes / sizeof class_escapes[0]; i++) {
		const struct class_escape *e = &class_escapes[i];
		if (c == e->name || c == e->name - 'a' + 'A') {
			cs_from(set, e->members, e->nonascii);
			if (c != e->name)
				cs_invert(set);
			x->p++;
			return ESC_CLASS;
		}
	}
	return ESC_BAD; /* includes back-references, which XSD does not have */
}

/* One character or escape inside a bracket. */
static int class_char(xlate *x, unsigned *ch, cset *set)
{
	unsigned char c = (unsigned char)*x->p;

	if (c == '\\') {
		x->p++;
		return parse_escape(x, ch, set);
	}
	if (c == '\0' || c >= 0x80) /* a non-ASCII member cannot go in a bytewise bracket */
		return ESC_BAD;
	x->p++;
	*ch = c;
	return ESC_CHAR;
}

/* The inside of "[...]" after the '[', through the closing ']'. */
static void parse_class(xlate *x, cset *s)
{
	bool neg = false, first = true;

	memset(s, 0, sizeof *s);
	if (++x->depth > MAX_DEPTH) {
		x->bad = true;
		return;
	}
	if (*x->p == '^') {
		neg = true;
		x->p++;
	}
	while (!x->bad) {
		unsigned lo, hi;
		cset esc;
		int kind;

		if (*x->p == ']' && !first) {
			x->p++;
			break;
		}
		if (*x->p == '-' && x->p[1] == '[' && !first) {
			cset sub;
			x->p += 2;
			parse_class(x, &sub);
			if (x->bad || *x->p != ']') {
				x->bad = true;
				break;
			}
			x->p++;
			if (neg)
				cs_invert(s);
			neg = false;
			cs_subtract(s, &sub);
			break;
		}
		kind = class_char(x, &lo, &esc);
		if (kind == ESC_BAD) {
			x->bad = true;
			break;
		}
		first = false;
		if (kind == ESC_CLASS) {
			cs_union(s, &esc);
			continue;
		}
		if (*x->p == '-' && x->p[1] && x->p[1] != ']' && x->p[1] != '[') {
			x->p++;
			if (class_char(x, &hi, &esc) != ESC_CHAR || hi < lo) {
				x->bad = true;
				break;
			}
			cs_add(s, lo, hi);
		} else {
			cs_add(s, lo, lo);
		}
	}
	if (neg)
		cs_invert(s);
	x->depth--;
}

/* A character standing for itself, escaped where ERE gives it a meaning. */
static void emit_literal(obuf *o, unsigned c)
{
	if (strchr(".[\\()*+?{|^$", (int)c))
		ob_putc(o, '\\');
	ob_putc(o, (char)c);
}

static void parse_regexp(xlate *x);

static void parse_atom(xlate *x)
{
	unsigned char c = (unsigned char)*x->p;
	unsigned ch;
	cset set;

	switch (c) {
	case '(':
		x->p++;
		ob_putc(&x->o, '(');
		parse_regexp(x);
		if (x->bad || *x->p != ')') {
			x->bad = true;
			return;
		}
		x->p++;
		ob_putc(&x->o, ')');
		return;
	case '[':
		x->p++;
		parse_class(x, &set);
		if (!x->bad && !cs_emit(&x->o, &set))
			x->bad = true;
		return;
	case '\\':
		x->p++;
		switch (parse_escape(x, &ch, &set)) {
		case ESC_CHAR:
			emit_literal(&x->o, ch);
			return;
		case ESC_CLASS:
			if (!cs_emit(&x->o, &set))
				x->bad = true;
			return;
		default:
			x->bad = true;
			return;
		}
	case '.':
		x->p++;
		ob_putc(&x->o, '.');
		return;
	case '?':
	case '*':
	case '+':
	case '{':
		x->bad = true; /* a quantifier with nothing to repeat */
		return;
	default:
		x->p++;
		emit_literal(&x->o, c);
		return;
	}
}

static bool read_count(xlate *x, unsigned long *n)
{
	if (*x->p < '0' || *x->p > '9')
		return false;
	*n = 0;
	while (*x->p >= '0' && *x->p <= '9') {
		*n = *n * 10 + (unsigned long)(*x->p++ - '0');
		if (*n > RE_DUP_MAX)
			return false;
	}
	return true;
}

/* ?, *, + or {n}, {n,}, {n,m}. */
static void parse_quantifier(xlate *x)
{
	unsigned long n, m = 0;
	bool has_max = true;
	char tmp[48];

	if (*x->p != '{') {
		ob_putc(&x->o, *x->p++);
		return;
	}
	x->p++;
	if (!read_count(x, &n)) {
		x->bad = true;
		return;
	}
	m = n;
	if (*x->p == ',') {
		x->p++;
		has_max = *x->p != '}';
		if (has_max && !read_count(x, &m)) {
			x->bad = true;
			return;
		}
	}
	if (*x->p != '}' || m < n) {
		x->bad = true;
		return;
	}
	x->p++;
	if (!has_max)
		snprintf(tmp, sizeof tmp, "{%lu,}", n);
	else if (m == n)
		snprintf(tmp, sizeof tmp, "{%lu}", n);
	else
		snprintf(tmp, sizeof tmp, "{%lu,%lu}", n, m);
	ob_put(&x->o, tmp, strlen(tmp));
}

/* An atom and its quantifiers. XSD allows one quantifier, but BBF schemas
 * contain "[0-9]{1,15}?": a repeated quantifier applies to the quantified
 * piece, which is grouped so that POSIX gives it a defined meaning. */
static void parse_piece(xlate *x)
{
	size_t start = x->o.len;
	bool quantified = false;

	parse_atom(x);
	while (!x->bad && *x->p && strchr("?*+{", *x->p)) {
		if (quantified) {
			ob_insert(&x->o, start, '(');
			ob_putc(&x->o, ')');
		}
		parse_quantifier(x);
		quantified = true;
	}
}

static void parse_regexp(xlate *x)
{
	if (++x->depth > MAX_DEPTH) {
		x->bad = true;
		return;
	}
	for (;;) {
		while (!x->bad && *x->p && *x->p != '|' && *x->p != ')')
			parse_piece(x);
		if (x->bad || *x->p != '|')
			break;
		x->p++;
		ob_putc(&x->o, '|');
	}
	x->depth--;
}

int dm_pattern_translate(const char *xsd, char **ere)
{
	xlate x = { .p = xsd };

	if (!xsd)
		return DM_ERR_NOT_SUPPORTED;
	ob_put(&x.o, "", 0);
	parse_regexp(&x);
	if (*x.p) /* an unmatched ')' */
		x.bad = true;
	if (x.o.oom || x.bad) {
		free(x.o.s);
		return x.o.oom ? DM_ERR_NOMEM : DM_ERR_NOT_SUPPORTED;
	}
	*ere = x.o.s;
	return DM_OK;
}

/* Compilation mutates the schema's patterns while dm.h promises a schema
 * shared by threads, so it is serialised; regexec on a compiled regex_t is
 * thread-safe in glibc and runs outside the lock. */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called with compile_lock held. An allocation failure leaves the pattern
 * uncompiled so that the next use tries again. */
static void pattern_compile(dm_pattern *p)
{
	char *ere = NULL, *anchored;
	int rc = dm_pattern_translate(p->xsd, &ere);

	if (rc == DM_ERR_NOMEM)
		return;
	p->usable = false;
	if (rc == DM_OK) {
		size_t n = strlen(ere) + sizeof "^()$";
		anchored = malloc(n);
		if (!anchored) {
			free(ere);
			return;
		}
		snprintf(anchored, n, "^(%s)$", ere);
		free(ere);
		rc = regcomp(&p->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc == REG_ESPACE)
			return;
		p->usable = rc == 0;
	}
	p->compiled = true;
}

bool dm_pattern_matches(dm_pattern *p, const char *value)
{
	bool usable;

	pthread_mutex_lock(&compile_lock);
	if (!p->compiled)
		pattern_compile(p);
	usable = p->compiled && p->usable;
	pthread_mutex_unlock(&compile_lock);
	if (!usable)
		return true;
	return regexec(&p->re, value, 0, NULL, 0) == 0;
}

void dm_pattern_release(dm_pattern *p)
{
	if (p->compiled && p->usable)
		regfree(&p->re);
	p->compiled = false;
	p->usable = false;
}
