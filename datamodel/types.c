/*
 * types.c - TR-106 data types: checks a value against a parameter's base
 * type and facets (size, range, enumeration, pattern, list) and produces its
 * canonical form, the one the store keeps and reads return. The XSD pattern
 * translation lives in pattern.c; whether a reference names an existing,
 * suitable object is decided by the store, not here.
 */
#include "pattern.h"
#include "chars.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVALID DM_ERR_INVALID_VALUE

/* How much of a value a message quotes: enough to recognise it. */
#define QUOTE_MAX 48

/* The TR-106 Unknown Time; also the zero dateTime. */

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

/* A value as messages show it: cut short, control characters masked. */
typedef struct quoted {
	char s[QUOTE_MAX + 4];
} quoted;

static const char *quote(quoted *q, const char *v)
{
	size_t n = strlen(v), cut = n > QUOTE_MAX ? QUOTE_MAX : n;

	while (cut < n && cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80)
		cut--; /* never split a UTF-8 sequence */
	for (size_t i = 0; i < cut; i++)
		q->s[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	snprintf(q->s + cut, sizeof q->s - cut, "%s", cut < n ? "..." : "");
	return q->s;
}

/* Append to a fixed message buffer, silently truncating. */
static void append(char *buf, size_t sz, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t sz, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= sz)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *n, sz - *n, fmt, ap);
	va_end(ap);
	*n = r < 0 ? sz : *n + (size_t)r;
}

static int nomem(dm_errinfo *err)
{
	return dm_err_set(err, DM_ERR_NOMEM, DM_REASON_NONE, NULL, "out of memory");
}

static int give(char *s, char **canon, dm_errinfo *err)
{
	if (!s)
		return nomem(err);
	*canon = s;
	return DM_OK;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Count the code points of a UTF-8 string. False when it is not well-formed
 * (RFC 3629: no overlong forms, no surrogates, nothing beyond U+10FFFF). */
static bool utf8_count(const char *s, size_t *count)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		unsigned need;
		uint32_t cp, min;

		if (*p < 0x80) {
			p++;
			n++;
			continue;
		}
		if (*p >= 0xC2 && *p <= 0xDF) {
			need = 1, cp = *p & 0x1Fu, min = 0x80;
		} else if ((*p & 0xF0) == 0xE0) {
			need = 2, cp = *p & 0x0Fu, min = 0x800;
		} else if (*p >= 0xF0 && *p <= 0xF4) {
			need = 3, cp = *p & 0x07u, min = 0x10000;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += need + 1;
		n++;
	}
	*count = n;
	return true;
}

void dm_datetime(int64_t secs, char *buf, size_t n)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (secs < 86400 * 365 || !gmtime_r(&t, &tm)) {
		snprintf(buf, n, "%s", DM_UNKNOWN_TIME);
		return;
	}
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dm_datetime_now(char *buf, size_t n)
{
	dm_datetime((int64_t)time(NULL), buf, n);
}

bool dm_utf8_valid(const char *s)
{
	size_t n;

	return s && utf8_count(s, &n);
}

/* The size facet; unit is "" for characters, " bytes" for binary types. */
static int check_size(const dm_facets *f, size_t len, const char *unit, dm_errinfo *err)
{
	if (!f->has_size)
		return DM_OK;
	if (len < f->min_len)
		return dm_err_set(err, INVALID, DM_REASON_LENGTH, NULL,
				  "length %zu%s is below minLength %" PRIu32, len, unit, f->min_len);
	if (f->max_len && len > f->max_len)
		return dm_err_set(err, INVALID, DM_REASON_LENGTH, NULL,
				  "length %zu%s exceeds maxLength %" PRIu32, len, unit, f->max_len);
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Numbers: int, unsignedInt, long, unsignedLong, decimal
 * ------------------------------------------------------------------------- */

/* Value space of each integer type; neg_max is the magnitude of the most
 * negative value (0 for unsigned types, where XSD still allows "-0"). */
static const struct int_limits {
	bool is_signed;
	uint64_t max, neg_max;
	const char *range;
} int_limits[] = {
	[DM_TYPE_INT] = { true, INT32_MAX, 2147483648u, "[-2147483648:2147483647]" },
	[DM_TYPE_UNSIGNED_INT] = { false, UINT32_MAX, 0, "[0:4294967295]" },
	[DM_TYPE_LONG] = { true, INT64_MAX, (uint64_t)INT64_MAX + 1,
			   "[-9223372036854775808:9223372036854775807]" },
	[DM_TYPE_UNSIGNED_LONG] = { false, UINT64_MAX, 0, "[0:18446744073709551615]" },
};

/* An integer as sign and magnitude: covers every integer type's values. */
typedef struct integer {
	bool neg;
	uint64_t mag;
} integer;

/* xsd:integer lexical form: optional sign, at least one digit, nothing else
 * (no spaces, no "0x", no fraction). *overflow when beyond 64 bits. */
static bool parse_integer(const char *v, integer *n, bool *overflow)
{
	const char *p = v;

	n->neg = false;
	n->mag = 0;
	*overflow = false;
	if (*p == '+' || *p == '-')
		n->neg = *p++ == '-';
	if (!dm_is_digit(*p))
		return false;
	for (; dm_is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n->mag > (UINT64_MAX - d) / 10)
			*overflow = true;
		n->mag = n->mag * 10 + d;
	}
	if (n->mag == 0)
		n->neg = false; /* "-0" is zero */
	return *p == '\0';
}

static int64_t to_signed(const integer *n)
{
	if (!n->neg)
		return (int64_t)n->mag;
	return n->mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)n->mag;
}

/* Steps count from the lower bound, or from 0 when there is none. */
static bool range_has_signed(const dm_range *r, int64_t v)
{
	int64_t base = r->has_min ? r->s_min : 0;
	uint64_t diff;

	if ((r->has_min && v < r->s_min) || (r->has_max && v > r->s_max))
		return false;
	if (r->step <= 1)
		return true;
	diff = v >= base ? (uint64_t)v - (uint64_t)base : (uint64_t)base - (uint64_t)v;
	return diff % r->step == 0;
}

static bool range_has_unsigned(const dm_range *r, uint64_t v)
{
	uint64_t base = r->has_min ? r->u_min : 0;

	if ((r->has_min && v < r->u_min) || (r->has_max && v > r->u_max))
		return false;
	if (r->step <= 1)
		return true;
	return (v - base) % r->step == 0;
}

/* Steps apply to integers only: a decimal step has no exact meaning. */
static bool range_has_decimal(const dm_range *r, double v)
{
	return !(r->has_min && v < r->d_min) && !(r->has_max && v > r->d_max);
}

static void bound_text(const dm_facets *f, const dm_range *r, bool upper, char *buf, size_t sz)
{
	if (!(upper ? r->has_max : r->has_min))
		buf[0] = '\0';
	else if (f->base == DM_TYPE_DECIMAL)
		snprintf(buf, sz, "%g", upper ? r->d_max : r->d_min);
	else if (f->base == DM_TYPE_INT || f->base == DM_TYPE_LONG)
		snprintf(buf, sz, "%" PRId64, upper ? r->s_max : r->s_min);
	else
		snprintf(buf, sz, "%" PRIu64, upper ? r->u_max : r->u_min);
}

/* "[0:65535]", "[1:]", "[0:100 step 5], [200:300]". */
static void ranges_text(const dm_facets *f, char *buf, size_t sz)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < f->n_ranges; i++) {
		const dm_range *r = &f->ranges[i];
		char lo[32], hi[32];

		bound_text(f, r, false, lo, sizeof lo);
		bound_text(f, r, true, hi, sizeof hi);
		append(buf, sz, &n, "%s[%s:%s", i ? ", " : "", lo, hi);
		if (r->step > 1)
			append(buf, sz, &n, " step %" PRIu64, r->step);
		append(buf, sz, &n, "]");
	}
}

/* The range facet: any one of the ranges admits the value. */
static int check_ranges(const dm_facets *f, const char *shown, const integer *n, double d,
			dm_errinfo *err)
{
	char text[160];

	for (unsigned i = 0; i < f->n_ranges; i++) {
		const dm_range *r = &f->ranges[i];
		bool ok;

		if (f->base == DM_TYPE_DECIMAL)
			ok = range_has_decimal(r, d);
		else if (int_limits[f->base].is_signed)
			ok = range_has_signed(r, to_signed(n));
		else
			ok = range_has_unsigned(r, n->mag);
		if (ok)
			return DM_OK;
	}
	if (!f->n_ranges)
		return DM_OK;
	ranges_text(f, text, sizeof text);
	return dm_err_set(err, INVALID, DM_REASON_RANGE, NULL, "value %s out of range %s", shown, text);
}

static int check_integer(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	const struct int_limits *lim = &int_limits[f->base];
	const char *name = dm_type_name(f->base);
	char text[24];
	integer n;
	bool overflow;
	quoted q;
	int rc;

	if (!parse_integer(v, &n, &overflow))
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL, "\"%s\" is not a valid %s",
				  quote(&q, v), name);
	/* Well-formed but beyond the type: a range failure, not a type one. */
	if (overflow || n.mag > (n.neg ? lim->neg_max : lim->max))
		return dm_err_set(err, INVALID, DM_REASON_RANGE, NULL, "value %s out of %s range %s",
				  quote(&q, v), name, lim->range);
	if (lim->is_signed)
		snprintf(text, sizeof text, "%" PRId64, to_signed(&n));
	else
		snprintf(text, sizeof text, "%" PRIu64, n.mag);
	rc = check_ranges(f, text, &n, 0, err);
	if (rc)
		return rc;
	return give(strdup(text), canon, err);
}

/* xsd:decimal: optional sign, digits, optional '.' and fraction digits, at
 * least one digit in all. Canonical: no '+', no leading zeros in the integer
 * part (at least "0"), no trailing zeros in the fraction and no '.' when the
 * fraction is empty, "0" rather than "-0". No exponents (xsd:decimal has
 * none). Ranges compare as doubles, exact enough for facet bounds. */
static int check_decimal(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	const char *p = v, *ip, *fp = "";
	size_t il, fl = 0;
	bool neg = false;
	char *c;
	quoted q;
	int rc;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (ip = p; dm_is_digit(*p); p++)
		;
	il = (size_t)(p - ip);
	if (*p == '.') {
		for (fp = ++p; dm_is_digit(*p); p++)
			;
		fl = (size_t)(p - fp);
	}
	if (*p || il + fl == 0)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL, "\"%s\" is not a valid decimal",
				  quote(&q, v));
	while (il > 1 && *ip == '0')
		ip++, il--;
	if (il == 0)
		ip = "0", il = 1;
	while (fl && fp[fl - 1] == '0')
		fl--;
	if (il == 1 && *ip == '0' && fl == 0)
		neg = false;
	c = malloc(il + fl + 4);
	if (!c)
		return nomem(err);
	snprintf(c, il + fl + 4, "%s%.*s%s%.*s", neg ? "-" : "", (int)il, ip,
		 fl ? "." : "", (int)fl, fp);
	rc = check_ranges(f, c, NULL, strtod(c, NULL), err);
	if (rc) {
		free(c);
		return rc;
	}
	*canon = c;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * boolean, string
 * ------------------------------------------------------------------------- */

/* The xsd:boolean lexical forms and what each stands for. */
static const struct boolean_form {
	const char *text;
	const char *canon;
} boolean_forms[] = {
	{ "true", "true" },
	{ "false", "false" },
	{ "1", "true" },
	{ "0", "false" },
};

static int check_boolean(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	quoted q;

	for (size_t i = 0; i < sizeof boolean_forms / sizeof boolean_forms[0]; i++)
		if (!strcmp(v, boolean_forms[i].text))
			return give(strdup(boolean_forms[i].canon), canon, err);
	return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL, "\"%s\" is not a valid boolean",
			  quote(&q, v));
}

/* A path or instance reference holds a path or nothing. Only the shape is
 * checked here, loosely: paths may be partial, end in '.', carry instance
 * numbers, aliases ("[cpe-1]"), "()" or '!'. */
static const char *path_shape(const char *v)
{
	if (!*v)
		return NULL;
	if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z')))
		return "does not start with a letter";
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "contains whitespace or control characters";
		if (*p == '.' && p[1] == '.')
			return "has an empty path segment";
	}
	return NULL;
}

/* Strings are UTF-8 (XML and protobuf strings both are); sizes count
 * characters, as XSD length facets do. */
static int check_string(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	size_t len;
	const char *why;
	quoted q;
	int rc;

	if (!utf8_count(v, &len))
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL, "not valid UTF-8");
	rc = check_size(f, len, "", err);
	if (rc)
		return rc;
	if ((f->ref_kind == DM_REF_PATH || f->ref_kind == DM_REF_INSTANCE) && (why = path_shape(v)))
		return dm_err_set(err, INVALID, DM_REASON_REFERENCE, NULL,
				  "reference \"%s\" is not a path: %s", quote(&q, v), why);
	return give(strdup(v), canon, err);
}

/* ---------------------------------------------------------------------------
 * base64, hexBinary: sizes count decoded bytes
 * ------------------------------------------------------------------------- */

static bool is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || dm_is_digit(c) || c == '+' ||
	       c == '/';
}

/* RFC 4648 section 4 with padding; no whitespace, no line breaks. */
static int check_base64(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	size_t n = strlen(v), pad = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (v[i] == '=') {
			pad++;
		} else if (pad) {
			return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
					  "not valid base64: padding inside the value at offset %zu", i);
		} else if (!is_base64_char(v[i])) {
			return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
					  "not valid base64: bad character 0x%02x at offset %zu",
					  (unsigned char)v[i], i);
		}
	}
	if (n % 4)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
				  "not valid base64: length %zu is not a multiple of 4", n);
	if (pad > 2)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
				  "not valid base64: %zu padding characters", pad);
	rc = check_size(f, n / 4 * 3 - pad, " bytes", err);
	if (rc)
		return rc;
	return give(strdup(v), canon, err);
}

static int check_hexbinary(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = strlen(v);
	char *c;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (dm_hex_value(v[i]) < 0)
			return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
					  "not valid hexBinary: bad character 0x%02x at offset %zu",
					  (unsigned char)v[i], i);
	if (n % 2)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
				  "not valid hexBinary: odd number of hex digits (%zu)", n);
	rc = check_size(f, n / 2, " bytes", err);
	if (rc)
		return rc;
	c = malloc(n + 1);
	if (!c)
		return nomem(err);
	for (size_t i = 0; i <= n; i++)
		c[i] = i < n ? digits[dm_hex_value(v[i])] : '\0';
	*canon = c;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * dateTime
 * ------------------------------------------------------------------------- */

typedef struct datetime {
	int year, mon, day, hour, min, sec;
	char frac[7];   /* fractional second digits as given, at most 6 */
	bool zoned;     /* 'Z' or an offset was given */
	int offset;     /* minutes east of UTC */
} datetime;

static bool fixed_digits(const char **p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!dm_is_digit(**p))
			return false;
		*out = *out * 10 + (**p - '0');
	}
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int days_in_month(int year, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

/* Lexical form and field ranges; NULL when good, else why not. Years have
 * exactly four digits (0001-9999): TR-106 values never need more, and
 * xsd:dateTime's negative and five-digit years have no use here. Leap
 * seconds and the "24:00:00" end-of-day form are refused. Digits past the
 * sixth of a fraction are dropped (microsecond resolution). */
static const char *parse_datetime(const char *v, datetime *t)
{
	const char *p = v;
	size_t nf = 0;

	memset(t, 0, sizeof *t);
	if (!fixed_digits(&p, 4, &t->year) || !expect(&p, '-') || !fixed_digits(&p, 2, &t->mon) ||
	    !expect(&p, '-') || !fixed_digits(&p, 2, &t->day) || !expect(&p, 'T') ||
	    !fixed_digits(&p, 2, &t->hour) || !expect(&p, ':') || !fixed_digits(&p, 2, &t->min) ||
	    !expect(&p, ':') || !fixed_digits(&p, 2, &t->sec))
		return "expected YYYY-MM-DDThh:mm:ss[.ffffff][Z|(+|-)hh:mm]";
	if (*p == '.') {
		if (!dm_is_digit(*++p))
			return "empty fraction of a second";
		for (; dm_is_digit(*p); p++)
			if (nf < 6)
				t->frac[nf++] = *p;
	}
	if (*p == 'Z') {
		t->zoned = true;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (!fixed_digits(&p, 2, &oh) || !expect(&p, ':') || !fixed_digits(&p, 2, &om))
			return "malformed zone offset";
		if (om > 59 || oh > 14 || (oh == 14 && om))
			return "zone offset beyond +/-14:00";
		t->zoned = true;
		t->offset = sign * (oh * 60 + om);
	}
	if (*p)
		return "trailing characters";
	if (t->year == 0 || t->mon < 1 || t->mon > 12 || t->day < 1 ||
	    t->day > days_in_month(t->year, t->mon))
		return "no such date";
	if (t->hour > 23 || t->min > 59 || t->sec > 59)
		return "no such time of day";
	return NULL;
}

/* Move the date by one day either way. */
static void shift_day(datetime *t, int dir)
{
	t->day += dir;
	if (t->day < 1) {
		if (--t->mon < 1) {
			t->mon = 12;
			t->year--;
		}
		t->day = days_in_month(t->year < 1 ? 1 : t->year, t->mon);
	} else if (t->day > days_in_month(t->year, t->mon)) {
		t->day = 1;
		if (++t->mon > 12) {
			t->mon = 1;
			t->year++;
		}
	}
}

/* Offsets are at most 14 hours, so UTC is at most one day away. */
static void to_utc(datetime *t)
{
	int m = t->hour * 60 + t->min - t->offset;

	if (m < 0) {
		m += 24 * 60;
		shift_day(t, -1);
	} else if (m >= 24 * 60) {
		m -= 24 * 60;
		shift_day(t, 1);
	}
	t->hour = m / 60;
	t->min = m % 60;
	t->offset = 0;
}

/*
 * TR-106 (3.2.1) gives dateTime three kinds of value:
 *  - absolute times, which we store in UTC: an offset is applied and the
 *    value written with 'Z';
 *  - years before 1000, which are not calendar dates: the Unknown Time
 *    "0001-01-01T00:00:00Z" and relative times since boot
 *    ("0001-01-03T03:04:05" is 2 days 3 h 4 min 5 s after boot). Shifting
 *    them by an offset would change a duration, so their fields are kept
 *    as given and any zone is written as 'Z';
 *  - values without a zone: TR-106 reads an untimezoned year below 1000 as
 *    time since boot, which adding 'Z' would turn into an absolute time (and
 *    "0001-01-01T00:00:00", boot itself, into the Unknown Time). Their zone
 *    is unknown, not UTC, so they are kept untimezoned as given.
 * The empty string is not a dateTime: "no time" is the Unknown Time.
 */
static int check_datetime(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	char buf[48];
	datetime t;
	const char *why = parse_datetime(v, &t);
	quoted q;

	if (why)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
				  "\"%s\" is not a valid dateTime: %s", quote(&q, v), why);
	if (t.zoned && t.year >= 1000 && t.offset)
		to_utc(&t);
	if (t.year < 1 || t.year > 9999)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL,
				  "\"%s\" is not a valid dateTime: outside years 0001-9999 in UTC",
				  quote(&q, v));
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%s%s", t.year, t.mon, t.day,
		 t.hour, t.min, t.sec, t.frac[0] ? "." : "", t.frac, t.zoned ? "Z" : "");
	return give(strdup(buf), canon, err);
}

/* ---------------------------------------------------------------------------
 * Facets common to all types: enumeration and pattern
 * ------------------------------------------------------------------------- */

/* BBF strings carry enumerations or patterns, in practice not both. Should a
 * type chain leave both, matching either is enough: each lists values the
 * schema offers, and refusing an offered value is the worse mistake. */
static int check_choices(const dm_facets *f, const char *c, dm_errinfo *err)
{
	char msg[256];
	size_t n = 0;
	quoted q;

	if (!f->n_enums && !f->n_patterns)
		return DM_OK;
	for (unsigned i = 0; i < f->n_enums; i++)
		if (!strcmp(c, f->enums[i]))
			return DM_OK;
	for (unsigned i = 0; i < f->n_patterns; i++)
		if (dm_pattern_matches(&f->patterns[i], c))
			return DM_OK;
	append(msg, sizeof msg, &n, "\"%s\"", quote(&q, c));
	if (f->n_enums) {
		append(msg, sizeof msg, &n, " is not one of:");
		for (unsigned i = 0; i < f->n_enums; i++)
			append(msg, sizeof msg, &n, "%s %s", i ? "," : "", f->enums[i]);
	}
	if (f->n_patterns) {
		append(msg, sizeof msg, &n, "%s does not match %s", f->n_enums ? " and" : "",
		       f->n_patterns > 1 ? "any of the patterns" : "pattern");
		for (unsigned i = 0; i < f->n_patterns; i++)
			append(msg, sizeof msg, &n, "%s \"%s\"", i ? "," : "",
			       f->patterns[i].xsd ? f->patterns[i].xsd : "");
	}
	return dm_err_set(err, INVALID, f->n_enums ? DM_REASON_ENUMERATION : DM_REASON_PATTERN,
			  NULL, "%s", msg);
}

/* ---------------------------------------------------------------------------
 * Type table and single values
 * ------------------------------------------------------------------------- */

typedef int (*type_check_fn)(const dm_facets *f, const char *v, char **canon, dm_errinfo *err);

static const struct type_row {
	const char *name;
	const char *zero;
	type_check_fn check;
} type_rows[] = {
	[DM_TYPE_STRING] = { "string", "", check_string },
	[DM_TYPE_BOOLEAN] = { "boolean", "false", check_boolean },
	[DM_TYPE_INT] = { "int", "0", check_integer },
	[DM_TYPE_UNSIGNED_INT] = { "unsignedInt", "0", check_integer },
	[DM_TYPE_LONG] = { "long", "0", check_integer },
	[DM_TYPE_UNSIGNED_LONG] = { "unsignedLong", "0", check_integer },
	[DM_TYPE_DECIMAL] = { "decimal", "0", check_decimal },
	[DM_TYPE_DATETIME] = { "dateTime", DM_UNKNOWN_TIME, check_datetime },
	[DM_TYPE_BASE64] = { "base64", "", check_base64 },
	[DM_TYPE_HEXBINARY] = { "hexBinary", "", check_hexbinary },
};

static const struct type_row *type_row(dm_type t)
{
	if ((unsigned)t >= sizeof type_rows / sizeof type_rows[0] || !type_rows[t].name)
		return NULL;
	return &type_rows[t];
}

const char *dm_type_name(dm_type t)
{
	const struct type_row *r = type_row(t);
	return r ? r->name : "unknown";
}

const char *dm_type_zero(dm_type t)
{
	const struct type_row *r = type_row(t);
	return r ? r->zero : "";
}

/* One value (or list item) against the base type and the item facets. */
static int check_value(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	const struct type_row *r = type_row(f->base);
	char *c = NULL;
	int rc;

	if (!r)
		return dm_err_set(err, DM_ERR_INTERNAL, DM_REASON_NONE, NULL, "unknown base type %d",
				  (int)f->base);
	rc = r->check(f, v, &c, err);
	if (!rc)
		rc = check_choices(f, c, err);
	if (rc) {
		free(c);
		return rc;
	}
	*canon = c;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Lists
 * ------------------------------------------------------------------------- */

/* Items are separated by commas. Whitespace around an item is tolerated
 * (writers often put ", " between items) and is not part of the item; the
 * canonical form has none. An empty or blank value is the empty list, never
 * one empty item. */
static size_t list_count(const char *v)
{
	const char *p = v;
	size_t n = 1;

	while (is_space(*p))
		p++;
	if (!*p)
		return 0;
	for (; *p; p++)
		n += *p == ',';
	return n;
}

static int check_list_items(const dm_facets *f, size_t count, dm_errinfo *err)
{
	if (count < f->list_min_items)
		return dm_err_set(err, INVALID, DM_REASON_LIST, NULL,
				  "list has %zu items, at least %" PRIu32 " required", count,
				  f->list_min_items);
	if (f->list_max_items && count > f->list_max_items)
		return dm_err_set(err, INVALID, DM_REASON_LIST, NULL,
				  "list has %zu items, at most %" PRIu32 " allowed", count,
				  f->list_max_items);
	return DM_OK;
}

/* The list size facet bounds the canonical list string, in characters. */
static int check_list_size(const dm_facets *f, const char *c, dm_errinfo *err)
{
	size_t len = 0;

	if (!f->list_has_size)
		return DM_OK;
	utf8_count(c, &len);
	if (len < f->list_min_len)
		return dm_err_set(err, INVALID, DM_REASON_LIST, NULL,
				  "list length %zu is below minLength %" PRIu32, len, f->list_min_len);
	if (f->list_max_len && len > f->list_max_len)
		return dm_err_set(err, INVALID, DM_REASON_LIST, NULL,
				  "list length %zu exceeds maxLength %" PRIu32, len, f->list_max_len);
	return DM_OK;
}

/* Check item number idx (1-based) starting at *p; on success its canonical
 * form is appended to out, and *p moves past the item's comma. */
static int check_list_item(const dm_facets *f, const char **p, size_t idx, char **out,
			   size_t *out_len, dm_errinfo *err)
{
	const char *s = *p, *e = strchr(s, ',');
	char *item, *c = NULL, *grown;
	dm_errinfo ie = { 0 };
	size_t cl;
	int rc;

	if (!e)
		e = s + strlen(s);
	*p = *e ? e + 1 : e;
	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	item = strndup(s, (size_t)(e - s));
	if (!item)
		return nomem(err);
	rc = check_value(f, item, &c, &ie);
	free(item);
	if (rc)
		return dm_err_set(err, rc, ie.reason, NULL, "item %zu: %s", idx, ie.msg);
	cl = strlen(c);
	grown = realloc(*out, *out_len + cl + 2);
	if (!grown) {
		free(c);
		return nomem(err);
	}
	*out = grown;
	snprintf(*out + *out_len, cl + 2, "%s%s", idx > 1 ? "," : "", c);
	*out_len += cl + (idx > 1);
	free(c);
	return DM_OK;
}

static int check_list(const dm_facets *f, const char *v, char **canon, dm_errinfo *err)
{
	size_t count = list_count(v), len = 0;
	const char *p = v;
	char *out = strdup("");
	int rc;

	if (!out)
		return nomem(err);
	rc = check_list_items(f, count, err);
	for (size_t i = 1; !rc && i <= count; i++)
		rc = check_list_item(f, &p, i, &out, &len, err);
	if (!rc)
		rc = check_list_size(f, out, err);
	if (rc) {
		free(out);
		return rc;
	}
	*canon = out;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------- */

int dm_facets_check(const dm_facets *f, const char *value, char **canon, dm_errinfo *err)
{
	char *c = NULL;
	int rc;

	if (!f)
		return dm_err_set(err, DM_ERR_INTERNAL, DM_REASON_NONE, NULL, "no facets");
	if (!value)
		return dm_err_set(err, INVALID, DM_REASON_TYPE, NULL, "no value");
	rc = f->is_list ? check_list(f, value, &c, err) : check_value(f, value, &c, err);
	if (rc)
		return rc;
	if (canon)
		*canon = c;
	else
		free(c);
	return DM_OK;
}

int dm_value_check(const dm_node *param, const char *value, char **canon, dm_errinfo *err)
{
	int rc;

	if (!param || param->kind != DM_NODE_PARAM)
		return dm_err_set(err, DM_ERR_NOT_PARAM, DM_REASON_NONE,
				  param ? param->path : NULL, "values belong to parameters only");
	rc = dm_facets_check(&param->u.param.facets, value, canon, err);
	if (rc && err)
		snprintf(err->path, sizeof err->path, "%s", param->path ? param->path : "");
	return rc;
}
