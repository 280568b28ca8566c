/*
 * test_types.c - value validation and canonical forms (datamodel/types.c)
 * and the XSD pattern translation (datamodel/pattern.c). Facets are built by
 * hand here, as the schema loader would build them, so no schema file is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pattern.h"
#include "schema.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One value and what must come of it: canon set = accepted with that
 * canonical form; canon NULL = rejected with reason (and msg in the text). */
typedef struct vcase {
	const char *value;
	const char *canon;
	dm_value_reason reason;
	const char *msg;
} vcase;

#define OK(v, c) { (v), (c), DM_REASON_NONE, NULL }
#define BAD(v, r, m) { (v), NULL, (r), (m) }

static void run_cases(const dm_facets *f, const vcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const vcase *c = &cases[i];
		dm_errinfo err = { 0 };
		char *canon = (char *)"untouched";
		int rc = dm_facets_check(f, c->value, &canon, &err);

		if (c->canon) {
			if (rc != DM_OK)
				fail_msg("\"%s\" (%s) rejected: %s", c->value, dm_type_name(f->base), err.msg);
			assert_string_equal(canon, c->canon);
			free(canon);
			/* Checking only must agree, and the canonical form is a fixed point. */
			assert_int_equal(dm_facets_check(f, c->value, NULL, NULL), DM_OK);
			assert_int_equal(dm_facets_check(f, c->canon, &canon, NULL), DM_OK);
			assert_string_equal(canon, c->canon);
			free(canon);
			continue;
		}
		if (rc != DM_ERR_INVALID_VALUE)
			fail_msg("\"%s\" (%s) accepted or wrong code %d", c->value,
				 dm_type_name(f->base), rc);
		assert_int_equal(err.code, DM_ERR_INVALID_VALUE);
		if (err.reason != c->reason)
			fail_msg("\"%s\": reason %d, expected %d (%s)", c->value, err.reason, c->reason,
				 err.msg);
		assert_true(err.msg[0] != '\0');
		if (c->msg && !strstr(err.msg, c->msg))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->value, err.msg, c->msg);
		assert_string_equal(canon, "untouched");
		assert_int_equal(dm_facets_check(f, c->value, NULL, NULL), DM_ERR_INVALID_VALUE);
	}
}

static void release_patterns(dm_facets *f)
{
	for (unsigned i = 0; i < f->n_patterns; i++)
		dm_pattern_release(&f->patterns[i]);
}

/* ------------------------------------------------------------------------- */

static void test_names_and_zeros(void **state)
{
	static const struct {
		dm_type t;
		const char *name, *zero;
	} rows[] = {
		{ DM_TYPE_STRING, "string", "" },
		{ DM_TYPE_BOOLEAN, "boolean", "false" },
		{ DM_TYPE_INT, "int", "0" },
		{ DM_TYPE_UNSIGNED_INT, "unsignedInt", "0" },
		{ DM_TYPE_LONG, "long", "0" },
		{ DM_TYPE_UNSIGNED_LONG, "unsignedLong", "0" },
		{ DM_TYPE_DECIMAL, "decimal", "0" },
		{ DM_TYPE_DATETIME, "dateTime", "0001-01-01T00:00:00Z" },
		{ DM_TYPE_BASE64, "base64", "" },
		{ DM_TYPE_HEXBINARY, "hexBinary", "" },
	};
	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		dm_facets f = { .base = rows[i].t };
		char *canon = NULL;

		assert_string_equal(dm_type_name(rows[i].t), rows[i].name);
		assert_string_equal(dm_type_zero(rows[i].t), rows[i].zero);
		/* a zero value is a valid, canonical value of its type */
		assert_int_equal(dm_facets_check(&f, rows[i].zero, &canon, NULL), DM_OK);
		assert_string_equal(canon, rows[i].zero);
		free(canon);
	}
	assert_string_equal(dm_type_name((dm_type)99), "unknown");
	assert_string_equal(dm_type_zero((dm_type)99), "");
}

static void test_boolean(void **state)
{
	static const vcase cases[] = {
		OK("true", "true"), OK("false", "false"), OK("1", "true"), OK("0", "false"),
		BAD("", DM_REASON_TYPE, "not a valid boolean"),
		BAD("TRUE", DM_REASON_TYPE, "\"TRUE\" is not a valid boolean"),
		BAD("yes", DM_REASON_TYPE, NULL), BAD(" true", DM_REASON_TYPE, NULL),
		BAD("true ", DM_REASON_TYPE, NULL), BAD("01", DM_REASON_TYPE, NULL),
		BAD("2", DM_REASON_TYPE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_BOOLEAN };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_int(void **state)
{
	static const vcase cases[] = {
		OK("0", "0"), OK("-0", "0"), OK("+0", "0"), OK("+5", "5"), OK("007", "7"),
		OK("-007", "-7"), OK("2147483647", "2147483647"), OK("-2147483648", "-2147483648"),
		OK("+0002147483647", "2147483647"),
		BAD("2147483648", DM_REASON_RANGE, "out of int range [-2147483648:2147483647]"),
		BAD("-2147483649", DM_REASON_RANGE, NULL),
		BAD("99999999999999999999999999", DM_REASON_RANGE, NULL),
		BAD("", DM_REASON_TYPE, "is not a valid int"), BAD("-", DM_REASON_TYPE, NULL),
		BAD("+", DM_REASON_TYPE, NULL), BAD("--1", DM_REASON_TYPE, NULL),
		BAD("+-1", DM_REASON_TYPE, NULL), BAD(" 1", DM_REASON_TYPE, NULL),
		BAD("1 ", DM_REASON_TYPE, NULL), BAD("1 2", DM_REASON_TYPE, NULL),
		BAD("0x10", DM_REASON_TYPE, NULL), BAD("1.5", DM_REASON_TYPE, NULL),
		BAD("1.0", DM_REASON_TYPE, NULL), BAD("1e3", DM_REASON_TYPE, NULL),
		BAD("abc", DM_REASON_TYPE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_INT };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_unsigned_int(void **state)
{
	static const vcase cases[] = {
		OK("0", "0"), OK("-0", "0"), OK("-000", "0"), OK("+42", "42"),
		OK("4294967295", "4294967295"), OK("00004294967295", "4294967295"),
		BAD("4294967296", DM_REASON_RANGE, "value 4294967296 out of unsignedInt range [0:4294967295]"),
		BAD("-1", DM_REASON_RANGE, NULL),
		BAD("", DM_REASON_TYPE, NULL), BAD("1,2", DM_REASON_TYPE, NULL),
		BAD("\t1", DM_REASON_TYPE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_UNSIGNED_INT };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_long(void **state)
{
	static const vcase cases[] = {
		OK("9223372036854775807", "9223372036854775807"),
		OK("-9223372036854775808", "-9223372036854775808"),
		OK("-0009223372036854775808", "-9223372036854775808"),
		OK("4294967296", "4294967296"), OK("-4294967296", "-4294967296"),
		BAD("9223372036854775808", DM_REASON_RANGE, "out of long range"),
		BAD("-9223372036854775809", DM_REASON_RANGE, NULL),
		BAD("18446744073709551616", DM_REASON_RANGE, NULL),
		BAD("1.", DM_REASON_TYPE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_LONG };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_unsigned_long(void **state)
{
	static const vcase cases[] = {
		OK("18446744073709551615", "18446744073709551615"), OK("-0", "0"),
		OK("+018446744073709551615", "18446744073709551615"),
		BAD("18446744073709551616", DM_REASON_RANGE,
		    "value 18446744073709551616 out of unsignedLong range [0:18446744073709551615]"),
		BAD("184467440737095516150", DM_REASON_RANGE, NULL),
		BAD("-1", DM_REASON_RANGE, NULL), BAD("0xFFFFFFFFFFFFFFFF", DM_REASON_TYPE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_UNSIGNED_LONG };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_ranges_unsigned(void **state)
{
	static dm_range port[] = { { .has_min = true, .has_max = true, .u_min = 0, .u_max = 65535 } };
	static dm_range multi[] = {
		{ .has_min = true, .has_max = true, .u_min = 0, .u_max = 100, .step = 5 },
		{ .has_min = true, .has_max = true, .u_min = 1000, .u_max = 1000 },
		{ .has_min = true, .u_min = 5000 },
	};
	static dm_range order[] = { { .has_min = true, .u_min = 1 } };
	static const vcase port_cases[] = {
		OK("0", "0"), OK("65535", "65535"), OK("080", "80"),
		BAD("70000", DM_REASON_RANGE, "value 70000 out of range [0:65535]"),
		BAD("65536", DM_REASON_RANGE, NULL),
	};
	static const vcase multi_cases[] = {
		OK("0", "0"), OK("15", "15"), OK("100", "100"), OK("1000", "1000"),
		OK("5000", "5000"), OK("4294967295", "4294967295"),
		BAD("17", DM_REASON_RANGE, "value 17 out of range [0:100 step 5], [1000:1000], [5000:]"),
		BAD("105", DM_REASON_RANGE, NULL), BAD("999", DM_REASON_RANGE, NULL),
		BAD("4999", DM_REASON_RANGE, NULL),
	};
	static const vcase order_cases[] = {
		OK("1", "1"), BAD("0", DM_REASON_RANGE, "value 0 out of range [1:]"),
	};
	dm_facets f = { .base = DM_TYPE_UNSIGNED_INT, .n_ranges = 1, .ranges = port };
	(void)state;
	run_cases(&f, port_cases, N(port_cases));
	f.n_ranges = N(multi);
	f.ranges = multi;
	run_cases(&f, multi_cases, N(multi_cases));
	f.n_ranges = 1;
	f.ranges = order;
	run_cases(&f, order_cases, N(order_cases));
}

static void test_ranges_signed(void **state)
{
	static dm_range stepped[] = {
		{ .has_min = true, .has_max = true, .s_min = -10, .s_max = 10, .step = 5 },
	};
	static dm_range no_min[] = { { .has_max = true, .s_max = 100, .step = 10 } };
	static dm_range whole[] = {
		{ .has_min = true, .has_max = true, .s_min = INT64_MIN, .s_max = INT64_MAX, .step = 2 },
	};
	static const vcase stepped_cases[] = {
		OK("-10", "-10"), OK("-5", "-5"), OK("0", "0"), OK("+10", "10"),
		BAD("-3", DM_REASON_RANGE, "value -3 out of range [-10:10 step 5]"),
		BAD("-15", DM_REASON_RANGE, NULL), BAD("11", DM_REASON_RANGE, NULL),
	};
	static const vcase no_min_cases[] = {
		OK("-20", "-20"), OK("100", "100"), OK("-2147483640", "-2147483640"),
		BAD("-15", DM_REASON_RANGE, "[:100 step 10]"), BAD("110", DM_REASON_RANGE, NULL),
	};
	/* the step is counted from INT64_MIN without overflowing */
	static const vcase whole_cases[] = {
		OK("-9223372036854775808", "-9223372036854775808"),
		OK("9223372036854775806", "9223372036854775806"), OK("0", "0"),
		BAD("9223372036854775807", DM_REASON_RANGE, NULL), BAD("-1", DM_REASON_RANGE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_INT, .n_ranges = 1, .ranges = stepped };
	(void)state;
	run_cases(&f, stepped_cases, N(stepped_cases));
	f.ranges = no_min;
	run_cases(&f, no_min_cases, N(no_min_cases));
	f.base = DM_TYPE_LONG;
	f.ranges = whole;
	run_cases(&f, whole_cases, N(whole_cases));
}

static void test_decimal(void **state)
{
	static dm_range unit[] = { { .has_min = true, .has_max = true, .d_min = -1, .d_max = 1 } };
	static const vcase plain[] = {
		OK("0", "0"), OK("-0", "0"), OK("-0.000", "0"), OK("+1.50", "1.5"), OK(".5", "0.5"),
		OK("5.", "5"), OK("007.100", "7.1"), OK("-12.034", "-12.034"), OK("+3", "3"),
		OK("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
		BAD("", DM_REASON_TYPE, "is not a valid decimal"), BAD(".", DM_REASON_TYPE, NULL),
		BAD("-", DM_REASON_TYPE, NULL), BAD("1e3", DM_REASON_TYPE, NULL),
		BAD("1.2.3", DM_REASON_TYPE, NULL), BAD(" 1", DM_REASON_TYPE, NULL),
		BAD("1,5", DM_REASON_TYPE, NULL), BAD("NaN", DM_REASON_TYPE, NULL),
		BAD("inf", DM_REASON_TYPE, NULL),
	};
	static const vcase ranged[] = {
		OK("1", "1"), OK("-1.000", "-1"), OK("0.25", "0.25"),
		BAD("1.5", DM_REASON_RANGE, "value 1.5 out of range [-1:1]"),
		BAD("-1.0001", DM_REASON_RANGE, NULL),
	};
	dm_facets f = { .base = DM_TYPE_DECIMAL };
	(void)state;
	run_cases(&f, plain, N(plain));
	f.n_ranges = 1;
	f.ranges = unit;
	run_cases(&f, ranged, N(ranged));
}

static void test_datetime(void **state)
{
	static const vcase cases[] = {
		OK("2024-03-01T12:00:00Z", "2024-03-01T12:00:00Z"),
		OK("2024-03-01T12:00:00+00:00", "2024-03-01T12:00:00Z"),
		OK("2024-03-01T12:00:00-00:00", "2024-03-01T12:00:00Z"),
		OK("2024-03-01T12:00:00+01:00", "2024-03-01T11:00:00Z"),
		OK("2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z"),
		OK("2023-03-01T00:30:00+01:00", "2023-02-28T23:30:00Z"),
		OK("2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00Z"),
		OK("2024-01-01T00:00:00.123456+05:30", "2023-12-31T18:30:00.123456Z"),
		OK("2024-06-30T20:00:00-14:00", "2024-07-01T10:00:00Z"),
		OK("2024-06-30T10:00:00+14:00", "2024-06-29T20:00:00Z"),
		OK("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.5Z"),
		OK("2024-01-01T00:00:00.500Z", "2024-01-01T00:00:00.500Z"),
		OK("2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00.123456Z"),
		OK("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
		OK("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
		OK("1000-01-01T00:30:00+01:00", "0999-12-31T23:30:00Z"),
		/* TR-106 Unknown Time and times since boot: never shifted */
		OK("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
		OK("0001-01-01T00:00:05Z", "0001-01-01T00:00:05Z"),
		OK("0001-01-01T00:00:05+02:00", "0001-01-01T00:00:05Z"),
		OK("0001-01-01T00:00:00-05:00", "0001-01-01T00:00:00Z"),
		OK("0001-01-03T03:04:05", "0001-01-03T03:04:05"),
		OK("0001-01-01T00:00:00", "0001-01-01T00:00:00"),
		/* untimezoned absolute time: zone unknown, kept as given */
		OK("2024-05-06T07:08:09", "2024-05-06T07:08:09"),
		OK("2024-05-06T07:08:09.25", "2024-05-06T07:08:09.25"),
		BAD("", DM_REASON_TYPE, "is not a valid dateTime"),
		BAD("2024-03-01", DM_REASON_TYPE, NULL),
		BAD("2024-03-01 12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01t12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00:00z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-3-01T12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("24-03-01T12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("12024-03-01T12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("-2024-03-01T12:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00:00.Z", DM_REASON_TYPE, "empty fraction"),
		BAD("2024-03-01T12:00:00+0100", DM_REASON_TYPE, "zone offset"),
		BAD("2024-03-01T12:00:00+01", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00:00+14:01", DM_REASON_TYPE, "+/-14:00"),
		BAD("2024-03-01T12:00:00+15:00", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00:00+01:60", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T12:00:00Z ", DM_REASON_TYPE, "trailing"),
		BAD("2024-03-01T12:00:00ZZ", DM_REASON_TYPE, NULL),
		BAD("2023-02-29T00:00:00Z", DM_REASON_TYPE, "no such date"),
		BAD("1900-02-29T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-02-30T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-04-31T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-13-01T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-00-01T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-01-00T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("0000-01-01T00:00:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T24:00:00Z", DM_REASON_TYPE, "no such time"),
		BAD("2024-03-01T23:60:00Z", DM_REASON_TYPE, NULL),
		BAD("2024-03-01T23:59:60Z", DM_REASON_TYPE, NULL),
		BAD("9999-12-31T23:00:00-02:00", DM_REASON_TYPE, "0001-9999"),
	};
	dm_facets f = { .base = DM_TYPE_DATETIME };
	(void)state;
	run_cases(&f, cases, N(cases));
}

static void test_base64(void **state)
{
	static const vcase plain[] = {
		OK("", ""), OK("TWFu", "TWFu"), OK("TWE=", "TWE="), OK("TQ==", "TQ=="),
		OK("+/+/", "+/+/"), OK("AAAAAAAA", "AAAAAAAA"),
		BAD("TQ=", DM_REASON_TYPE, "not a multiple of 4"), BAD("TWF", DM_REASON_TYPE, NULL),
		BAD("T===", DM_REASON_TYPE, "padding"), BAD("====", DM_REASON_TYPE, NULL),
		BAD("TQ==TQ==", DM_REASON_TYPE, "padding inside"), BAD("TW=u", DM_REASON_TYPE, NULL),
		BAD("TW u", DM_REASON_TYPE, "bad character 0x20"), BAD("TWFu\n", DM_REASON_TYPE, NULL),
		BAD("TWF-", DM_REASON_TYPE, NULL), BAD("TWF_", DM_REASON_TYPE, NULL),
	};
	static const vcase sized[] = {
		OK("TWE=", "TWE="), OK("TWFu", "TWFu"),
		BAD("", DM_REASON_LENGTH, "length 0 bytes is below minLength 2"),
		BAD("TQ==", DM_REASON_LENGTH, NULL),
		BAD("TWFuTQ==", DM_REASON_LENGTH, "length 4 bytes exceeds maxLength 3"),
	};
	dm_facets f = { .base = DM_TYPE_BASE64 };
	(void)state;
	run_cases(&f, plain, N(plain));
	f.has_size = true;
	f.min_len = 2;
	f.max_len = 3;
	run_cases(&f, sized, N(sized));
}

static void test_hexbinary(void **state)
{
	static const vcase plain[] = {
		OK("", ""), OK("00", "00"), OK("00FFaB", "00ffab"), OK("DEADBEEF", "deadbeef"),
		BAD("abc", DM_REASON_TYPE, "odd number"), BAD("0g", DM_REASON_TYPE, "bad character"),
		BAD(" 00", DM_REASON_TYPE, NULL), BAD("0x00", DM_REASON_TYPE, NULL),
		BAD("00:11", DM_REASON_TYPE, NULL),
	};
	static const vcase sized[] = {
		OK("0011", "0011"), OK("", ""),
		BAD("001122", DM_REASON_LENGTH, "length 3 bytes exceeds maxLength 2"),
	};
	dm_facets f = { .base = DM_TYPE_HEXBINARY };
	(void)state;
	run_cases(&f, plain, N(plain));
	f.has_size = true;
	f.max_len = 2;
	run_cases(&f, sized, N(sized));
}

static void test_string_utf8(void **state)
{
	static const vcase sized[] = {
		OK("", ""), OK("abcd", "abcd"), OK("h\xc3\xa9ll", "h\xc3\xa9ll"),
		OK("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
		OK("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
		   "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"),
		OK(" sp ", " sp "),
		BAD("h\xc3\xa9llo", DM_REASON_LENGTH, "length 5 exceeds maxLength 4"),
		BAD("\xc3", DM_REASON_TYPE, "not valid UTF-8"),
		BAD("\xc0\xaf", DM_REASON_TYPE, NULL),         /* overlong '/' */
		BAD("\xe0\x80\xaf", DM_REASON_TYPE, NULL),     /* overlong */
		BAD("\xed\xa0\x80", DM_REASON_TYPE, NULL),     /* surrogate */
		BAD("\xf4\x90\x80\x80", DM_REASON_TYPE, NULL), /* beyond U+10FFFF */
		BAD("\xff", DM_REASON_TYPE, NULL), BAD("a\x80", DM_REASON_TYPE, NULL),
	};
	static const vcase min36[] = {
		OK("123456789012345678901234567890123456", "123456789012345678901234567890123456"),
		BAD("short", DM_REASON_LENGTH, "length 5 is below minLength 36"),
	};
	dm_facets f = { .base = DM_TYPE_STRING, .has_size = true, .max_len = 4 };
	(void)state;
	run_cases(&f, sized, N(sized));
	f.min_len = 36;
	f.max_len = 36;
	run_cases(&f, min36, N(min36));
}

static void test_enumeration(void **state)
{
	static const char *status[] = { "Up", "Down", "Unknown" };
	static const vcase cases[] = {
		OK("Up", "Up"), OK("Down", "Down"), OK("Unknown", "Unknown"),
		BAD("Foo", DM_REASON_ENUMERATION, "\"Foo\" is not one of: Up, Down, Unknown"),
		BAD("up", DM_REASON_ENUMERATION, NULL), BAD("Up ", DM_REASON_ENUMERATION, NULL),
		BAD("", DM_REASON_ENUMERATION, NULL),
	};
	dm_facets f = { .base = DM_TYPE_STRING, .n_enums = N(status), .enums = status };
	(void)state;
	run_cases(&f, cases, N(cases));
}

/* Named data types of tr-106-types.xml, entities expanded. */
#define OCTET "(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
#define IPV4_PREFIX_RANGE "(3[0-2]|[012]?[0-9])"

static void test_patterns_tr106(void **state)
{
	dm_pattern ipv4[] = { { .xsd = "" }, { .xsd = "(" OCTET "\\.){3}" OCTET } };
	dm_pattern mac[] = { { .xsd = "" },
			     { .xsd = "([0-9A-Fa-f][0-9A-Fa-f]:){5}([0-9A-Fa-f][0-9A-Fa-f])" } };
	dm_pattern prefix[] = { { .xsd = "" },
				{ .xsd = "/" IPV4_PREFIX_RANGE },
				{ .xsd = "(" OCTET "\\.){3}" OCTET "/" IPV4_PREFIX_RANGE } };
	dm_pattern uuid[] = { { .xsd = "[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-"
				       "[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}" } };
	dm_pattern urn[] = { { .xsd = "urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:.+" } };
	dm_pattern zigbee[] = { { .xsd = "" }, { .xsd = "([0-9A-Fa-f]){4}" } };
	static const vcase ipv4_cases[] = {
		OK("", ""), OK("192.168.1.254", "192.168.1.254"), OK("0.0.0.0", "0.0.0.0"),
		OK("255.255.255.255", "255.255.255.255"), OK("01.002.3.4", "01.002.3.4"),
		BAD("256.1.1.1", DM_REASON_PATTERN, "does not match any of the patterns \"\", \"(("),
		BAD("1.2.3", DM_REASON_PATTERN, NULL), BAD("1.2.3.4.", DM_REASON_PATTERN, NULL),
		BAD("1a2.3.4", DM_REASON_PATTERN, NULL), BAD("1.2.3.4x", DM_REASON_PATTERN, NULL),
		BAD("1.2.3.4/24", DM_REASON_PATTERN, NULL),
		BAD("1000.200.300.400", DM_REASON_LENGTH, "exceeds maxLength 15"),
	};
	static const vcase mac_cases[] = {
		OK("", ""), OK("00:1A:2b:3C:4d:5E", "00:1A:2b:3C:4d:5E"),
		BAD("00-1A-2b-3C-4d-5E", DM_REASON_PATTERN, NULL),
		BAD("00:1A:2b:3C:4d", DM_REASON_PATTERN, NULL),
		BAD("00:1A:2b:3C:4d:5G", DM_REASON_PATTERN, NULL),
		BAD("00:1A:2b:3C:4d:5E:", DM_REASON_LENGTH, NULL),
	};
	static const vcase prefix_cases[] = {
		OK("", ""), OK("/24", "/24"), OK("192.168.1.0/24", "192.168.1.0/24"),
		OK("10.0.0.0/8", "10.0.0.0/8"),
		BAD("192.168.1.0/33", DM_REASON_PATTERN, NULL), BAD("192.168.1.0", DM_REASON_PATTERN, NULL),
		BAD("/", DM_REASON_PATTERN, NULL),
	};
	static const vcase uuid_cases[] = {
		OK("123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
		BAD("123e4567-e89b-12d3-a456-42661417400g", DM_REASON_PATTERN, "does not match pattern \"[A-F"),
		BAD("123e4567e89b12d3a456426614174000xxxx", DM_REASON_PATTERN, NULL),
		BAD("", DM_REASON_LENGTH, NULL),
	};
	static const vcase urn_cases[] = {
		OK("urn:bbf:usp:id", "urn:bbf:usp:id"), OK("urn:a-b:x", "urn:a-b:x"),
		BAD("urn:a:x", DM_REASON_PATTERN, NULL), BAD("urn:-ab:x", DM_REASON_PATTERN, NULL),
		BAD("URN:bbf:x", DM_REASON_PATTERN, NULL), BAD("urn:bbf:", DM_REASON_PATTERN, NULL),
	};
	static const vcase zigbee_cases[] = {
		OK("", ""), OK("0aF9", "0aF9"), BAD("0aF", DM_REASON_PATTERN, NULL),
		BAD("0aFx", DM_REASON_PATTERN, NULL),
	};
	dm_facets f = { .base = DM_TYPE_STRING, .has_size = true };
	(void)state;

	f.max_len = 15, f.n_patterns = N(ipv4), f.patterns = ipv4;
	run_cases(&f, ipv4_cases, N(ipv4_cases));
	release_patterns(&f);
	f.max_len = 17, f.n_patterns = N(mac), f.patterns = mac;
	run_cases(&f, mac_cases, N(mac_cases));
	release_patterns(&f);
	f.max_len = 18, f.n_patterns = N(prefix), f.patterns = prefix;
	run_cases(&f, prefix_cases, N(prefix_cases));
	release_patterns(&f);
	f.min_len = 36, f.max_len = 36, f.n_patterns = N(uuid), f.patterns = uuid;
	run_cases(&f, uuid_cases, N(uuid_cases));
	release_patterns(&f);
	f.min_len = 0, f.max_len = 2048, f.n_patterns = N(urn), f.patterns = urn;
	run_cases(&f, urn_cases, N(urn_cases));
	release_patterns(&f);
	f.max_len = 4, f.n_patterns = N(zigbee), f.patterns = zigbee;
	run_cases(&f, zigbee_cases, N(zigbee_cases));
	release_patterns(&f);
}

/* Enumerations and patterns together: either admits the value. */
static void test_enum_or_pattern(void **state)
{
	static const char *actions[] = { "Null", "Drop" };
	dm_pattern dscp[] = { { .xsd = "[0-9]|[1-5][0-9]|6[0-3]" } };
	static const vcase cases[] = {
		OK("Null", "Null"), OK("Drop", "Drop"), OK("0", "0"), OK("63", "63"),
		BAD("64", DM_REASON_ENUMERATION, "is not one of: Null, Drop and does not match pattern"),
		BAD("drop", DM_REASON_ENUMERATION, NULL),
	};
	dm_facets f = { .base = DM_TYPE_STRING, .n_enums = N(actions), .enums = actions,
			.n_patterns = N(dscp), .patterns = dscp };
	(void)state;
	run_cases(&f, cases, N(cases));
	release_patterns(&f);
}

/* XSD constructs POSIX lacks, each with values that must and must not match. */
static void test_pattern_translation(void **state)
{
	static const struct {
		const char *xsd;
		const char *yes[3];
		const char *no[3];
	} rows[] = {
		{ "[\\-\\.]+", { "-", ".-.", NULL }, { "", "a", "-a" } },
		{ "\\d{3}", { "123", "000", NULL }, { "12", "1234", "12a" } },
		{ "\\D+", { "abc", "-", NULL }, { "a1", "", NULL } },
		{ "a^b$", { "a^b$", NULL }, { "ab", "a", NULL } },
		{ "[^abc]", { "d", "^", NULL }, { "a", "c", "" } },
		{ "[a-z-[aeiou]]+", { "bcd", "xyz", NULL }, { "bad", "B", NULL } },
		{ "[^a-z-[xyz]]", { "A", "1", NULL }, { "a", "x", NULL } },
		{ "\\p{Lu}\\p{Ll}+", { "Hello", NULL }, { "hello", "HELLO", NULL } },
		{ "\\P{Nd}", { "a", NULL }, { "5", NULL } },
		{ "\\p{IsBasicLatin}*", { "plain", NULL }, { "caf\xc3\xa9", NULL } },
		{ "\\w+", { "abc", "a$b", NULL }, { "a_b", "a b", "a.b" } },
		{ "\\W", { "_", ".", NULL }, { "a", "1", NULL } },
		{ "\\s\\S", { " x", "\tx", NULL }, { "xx", "  ", NULL } },
		{ "[\\d\\s]+", { "1 2", "3", NULL }, { "1a", NULL } },
		{ "\\i\\c*", { "_a1.b-c", "a", NULL }, { "1a", "-", NULL } },
		{ "\\{\\}\\(\\)\\*\\+\\?\\|\\\\", { "{}()*+?|\\", NULL }, { "", NULL } },
		{ "[\\^]", { "^", NULL }, { "a", "", NULL } },
		{ "[\\^\\-]", { "^", "-", NULL }, { "a", NULL } },
		{ "[\\[\\]]", { "[", "]", NULL }, { "a", NULL } },
		{ "[^^]", { "a", NULL }, { "^", NULL } },
		{ "[:a]", { ":", "a", NULL }, { "b", NULL } },
		{ "[\\[:]", { "[", ":", NULL }, { "a", NULL } },
		{ "a|", { "a", "", NULL }, { "b", NULL } },
		{ "(ab)?c", { "c", "abc", NULL }, { "ac", NULL } },
		{ "x{2,}", { "xx", "xxxxx", NULL }, { "x", NULL } },
		{ "x{0}", { "", NULL }, { "x", NULL } },
		{ "[0-9]{1,3}?[BK]", { "B", "12K", NULL }, { "1234K", "1", NULL } },
		{ "a.c", { "abc", "a.c", NULL }, { "ac", NULL } },
		{ "caf\xc3\xa9", { "caf\xc3\xa9", NULL }, { "cafe", NULL } },
		{ "\\n?x", { "x", "\nx", NULL }, { "nx", NULL } },
	};
	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		dm_pattern p = { .xsd = rows[i].xsd };

		for (size_t j = 0; j < 3 && rows[i].yes[j]; j++)
			if (!dm_pattern_matches(&p, rows[i].yes[j]))
				fail_msg("%s should match \"%s\"", rows[i].xsd, rows[i].yes[j]);
		if (!p.usable)
			fail_msg("%s not usable", rows[i].xsd);
		for (size_t j = 0; j < 3 && rows[i].no[j]; j++)
			if (dm_pattern_matches(&p, rows[i].no[j]))
				fail_msg("%s should not match \"%s\"", rows[i].xsd, rows[i].no[j]);
		dm_pattern_release(&p);
	}
}

/* Patterns the translator cannot handle are ignored, never used to refuse. */
static void test_pattern_unusable(void **state)
{
	static const char *untranslatable[] = {
		"(a)\\1", "[\xc3\xa9]", "(", "a)", "*a", "a{2,1}", "\\p{Foo}", "[]", "[a",
		"a{99999}", "\\q", "[z-a]",
	};
	static const char *values[] = { "", "anything" };
	(void)state;
	for (size_t i = 0; i < N(untranslatable); i++) {
		dm_pattern p = { .xsd = untranslatable[i] };
		dm_facets f = { .base = DM_TYPE_STRING, .n_patterns = 1, .patterns = &p };
		char *ere = NULL;

		assert_int_equal(dm_pattern_translate(untranslatable[i], &ere), DM_ERR_NOT_SUPPORTED);
		assert_null(ere);
		for (size_t j = 0; j < N(values); j++)
			assert_int_equal(dm_facets_check(&f, values[j], NULL, NULL), DM_OK);
		assert_true(p.compiled);
		assert_false(p.usable);
		dm_pattern_release(&p);
	}
	/* one usable pattern failing and one unusable: the value passes */
	dm_pattern two[] = { { .xsd = "[0-9]+" }, { .xsd = "(" } };
	dm_facets f = { .base = DM_TYPE_STRING, .n_patterns = 2, .patterns = two };
	assert_int_equal(dm_facets_check(&f, "abc", NULL, NULL), DM_OK);
	release_patterns(&f);
}

/* Every distinct pattern of tr-181-2-19-1-usp-full.xml, tr-181-2-19-1-cwmp-full.xml
 * and tr-106-types.xml (entities expanded) translates and compiles. */
static void test_pattern_bbf_all(void **state)
{
	static const struct {
		const char *xsd, *sample;
	} rows[] = {
		{ "", "" },
		{ "((25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])",
		  "10.0.0.1" },
		{ "((25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
		  "/(3[0-2]|[012]?[0-9])",
		  "10.0.0.0/8" },
		{ "([0-7],){15}[0-7]", "0,1,2,3,4,5,6,7,0,1,2,3,4,5,6,7" },
		{ "([0-7],[0-1],){7}[0-7],[0-1]", "0,1,1,0,2,1,3,0,4,1,5,0,6,1,7,0" },
		{ "([0-9A-Fa-f]){4}", "beef" },
		{ "([0-9A-Fa-f][0-9A-Fa-f]:){5}([0-9A-Fa-f][0-9A-Fa-f])", "00:11:22:33:44:55" },
		{ "([0-9A-Fa-f][0-9A-Fa-f]:){7}([0-9A-Fa-f][0-9A-Fa-f])", "00:11:22:33:44:55:66:77" },
		{ "([0-9]{1,15}?[BKMGT])", "100M" },
		{ "([0-9]|[1-5][0-9]|6[0-3]):[0-7]", "63:7" },
		{ "([01][0-9]|2[0-3]):[0-5][0-9]", "23:59" },
		{ "/(3[0-2]|[012]?[0-9])", "/32" },
		{ "1 Firmware Upgrade Image", "1 Firmware Upgrade Image" },
		{ "2 Web Content", "2 Web Content" },
		{ "2\\.\\d+", "2.19" },
		{ "3 Vendor Configuration File", "3 Vendor Configuration File" },
		{ "4 Vendor Log File", "4 Vendor Log File" },
		{ ":[0-7]", ":5" },
		{ "Drop", "Drop" },
		{ "Null", "Null" },
		{ "X [0-9A-F]{6} .*", "X 00D09E Vendor thing" },
		{ "YYYYMMDD.HHMMSS", "YYYYMMDD.HHMMSS" },
		{ "[0-9A-F]{6}", "00D09E" },
		{ "[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}",
		  "123e4567-e89b-12d3-a456-426614174000" },
		{ "[0-9]{14,15}", "35209900176148" },
		{ "[0-9]{15,15}", "352099001761481" },
		{ "[0-9]{6,20}", "123456" },
		{ "[0-9]|[1-5][0-9]|6[0-3]", "42" },
		{ "[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}",
		  "123E4567-E89B-12D3-A456-426614174000" },
		{ "[A-Z][A-Z][ OI]", "US " },
		{ "\\d+", "7" },
		{ "\\d+(\\.\\d+)*", "1.2.3" },
		{ "\\d+/\\d+", "1/2" },
		{ "\\d+\\.\\d+", "1.5" },
		{ "\\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\\d|3[01])[A-Za-z0-9]{0,2}", "240229a1" },
		{ "\\d{4}|\\d{8}", "12345678" },
		{ "urn:[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:.+", "urn:bbf:x" },
	};
	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		dm_pattern p = { .xsd = rows[i].xsd };

		if (!dm_pattern_matches(&p, rows[i].sample))
			fail_msg("%s does not match its sample %s", rows[i].xsd, rows[i].sample);
		if (!p.compiled || !p.usable)
			fail_msg("%s does not translate and compile", rows[i].xsd);
		if (rows[i].xsd[0] && dm_pattern_matches(&p, ""))
			fail_msg("%s matches the empty string", rows[i].xsd);
		dm_pattern_release(&p);
	}
}

static void test_lists(void **state)
{
	static dm_range port[] = { { .has_min = true, .has_max = true, .u_min = 0, .u_max = 65535 } };
	static const vcase uint_cases[] = {
		OK("", ""), OK("  ", ""), OK("1", "1"), OK("1, 2,3", "1,2,3"),
		OK(" 01 ,\t+2 ", "1,2"), OK("1,2,3,4", "1,2,3,4"),
		BAD("1,,2", DM_REASON_TYPE, "item 2: \"\" is not a valid unsignedInt"),
		BAD("1,", DM_REASON_TYPE, "item 2"),
		BAD("1,70000", DM_REASON_RANGE, "item 2: value 70000 out of range [0:65535]"),
		BAD("1,2,3,4,5", DM_REASON_LIST, "list has 5 items, at most 4 allowed"),
		BAD("1 2", DM_REASON_TYPE, "item 1"),
	};
	static const vcase min_cases[] = {
		OK("7", "7"), BAD("", DM_REASON_LIST, "list has 0 items, at least 1 required"),
		BAD(" ", DM_REASON_LIST, NULL),
	};
	static const vcase size_cases[] = {
		OK("100, 200", "100,200"), OK("1,2,3,4,5", "1,2,3,4,5"),
		BAD("100,200,300", DM_REASON_LIST, "list length 11 exceeds maxLength 10"),
	};
	static const vcase bool_cases[] = {
		OK("1,0, true", "true,false,true"), BAD("true,maybe", DM_REASON_TYPE, "item 2"),
	};
	dm_pattern ipv4[] = { { .xsd = "" }, { .xsd = "(" OCTET "\\.){3}" OCTET } };
	static const vcase ipv4_cases[] = {
		OK("1.2.3.4, 5.6.7.8", "1.2.3.4,5.6.7.8"), OK("1.2.3.4,", "1.2.3.4,"),
		BAD("1.2.3.4,1.2.3", DM_REASON_PATTERN, "item 2"),
	};
	dm_facets f = { .base = DM_TYPE_UNSIGNED_INT, .n_ranges = 1, .ranges = port,
			.is_list = true, .list_max_items = 4 };
	(void)state;

	run_cases(&f, uint_cases, N(uint_cases));
	f.list_min_items = 1;
	run_cases(&f, min_cases, N(min_cases));
	f.list_min_items = 0, f.list_max_items = 0;
	f.list_has_size = true, f.list_max_len = 10;
	run_cases(&f, size_cases, N(size_cases));

	dm_facets b = { .base = DM_TYPE_BOOLEAN, .is_list = true };
	run_cases(&b, bool_cases, N(bool_cases));

	dm_facets s = { .base = DM_TYPE_STRING, .is_list = true, .has_size = true, .max_len = 15,
			.n_patterns = N(ipv4), .patterns = ipv4 };
	run_cases(&s, ipv4_cases, N(ipv4_cases));
	release_patterns(&s);
}

static void test_list_of_datetime_and_hex(void **state)
{
	static const vcase dt_cases[] = {
		OK("2024-01-01T01:00:00+01:00, 0001-01-01T00:00:00Z",
		   "2024-01-01T00:00:00Z,0001-01-01T00:00:00Z"),
		BAD("2024-01-01T00:00:00Z,2024-02-30T00:00:00Z", DM_REASON_TYPE, "item 2"),
	};
	/* item size facets count bytes; a malformed item is a type error first */
	static const vcase hex_cases[] = {
		OK("AA, bb,00", "aa,bb,00"),
		BAD("aa,abc", DM_REASON_TYPE, "item 2: not valid hexBinary"),
		BAD("aa,abcd", DM_REASON_LENGTH, "item 2: length 2 bytes exceeds maxLength 1"),
	};
	dm_facets d = { .base = DM_TYPE_DATETIME, .is_list = true };
	dm_facets h = { .base = DM_TYPE_HEXBINARY, .is_list = true, .has_size = true, .max_len = 1 };
	(void)state;
	run_cases(&d, dt_cases, N(dt_cases));
	run_cases(&h, hex_cases, N(hex_cases));
}

static void test_references(void **state)
{
	static const vcase cases[] = {
		OK("", ""), OK("Device.IP.Interface.1", "Device.IP.Interface.1"),
		OK("Device.IP.Interface.1.", "Device.IP.Interface.1."),
		OK("Device.DeviceInfo.UpTime", "Device.DeviceInfo.UpTime"),
		OK("Device.IP.Interface.[cpe-1].", "Device.IP.Interface.[cpe-1]."),
		BAD("Device..IP", DM_REASON_REFERENCE, "empty path segment"),
		BAD("Device.IP Interface", DM_REASON_REFERENCE, "whitespace"),
		BAD("1.Device", DM_REASON_REFERENCE, "start with a letter"),
		BAD(".Device", DM_REASON_REFERENCE, NULL),
	};
	static const vcase list_cases[] = {
		OK("Device.Ethernet.Interface.1, Device.PPP.Interface.2",
		   "Device.Ethernet.Interface.1,Device.PPP.Interface.2"),
		OK("", ""), BAD("Device.A.1,Dev ice", DM_REASON_REFERENCE, "item 2"),
	};
	dm_facets f = { .base = DM_TYPE_STRING, .ref_kind = DM_REF_PATH };
	dm_facets l = { .base = DM_TYPE_STRING, .ref_kind = DM_REF_PATH, .is_list = true,
			.list_has_size = true, .list_max_len = 1024 };
	dm_facets n = { .base = DM_TYPE_INT, .ref_kind = DM_REF_INSTANCE };
	static const vcase inst_cases[] = { OK("-1", "-1"), OK("3", "3") };
	(void)state;
	run_cases(&f, cases, N(cases));
	f.ref_kind = DM_REF_INSTANCE;
	run_cases(&f, cases, N(cases));
	run_cases(&l, list_cases, N(list_cases));
	run_cases(&n, inst_cases, N(inst_cases));
}

static void test_value_check_node(void **state)
{
	static dm_range port[] = { { .has_min = true, .has_max = true, .u_max = 65535 } };
	dm_node param = { .kind = DM_NODE_PARAM, .name = "Port",
			  .path = "Device.Services.X.{i}.Port" };
	dm_node obj = { .kind = DM_NODE_OBJECT, .name = "X", .path = "Device.Services.X.{i}." };
	dm_errinfo err = { 0 };
	char *canon = NULL;
	(void)state;

	param.u.param.facets = (dm_facets){ .base = DM_TYPE_UNSIGNED_INT, .n_ranges = 1,
					    .ranges = port };
	assert_int_equal(dm_value_check(&param, "+0080", &canon, &err), DM_OK);
	assert_string_equal(canon, "80");
	free(canon);
	assert_int_equal(dm_value_check(&param, "80", NULL, NULL), DM_OK);

	canon = NULL;
	assert_int_equal(dm_value_check(&param, "70000", &canon, &err), DM_ERR_INVALID_VALUE);
	assert_null(canon);
	assert_int_equal(err.code, DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_RANGE);
	assert_string_equal(err.path, "Device.Services.X.{i}.Port");
	assert_string_equal(err.msg, "value 70000 out of range [0:65535]");
	assert_int_equal(dm_value_check(&param, "x", NULL, NULL), DM_ERR_INVALID_VALUE);

	memset(&err, 0, sizeof err);
	assert_int_equal(dm_value_check(&param, NULL, &canon, &err), DM_ERR_INVALID_VALUE);
	assert_int_equal(err.reason, DM_REASON_TYPE);

	memset(&err, 0, sizeof err);
	assert_int_equal(dm_value_check(&obj, "1", &canon, &err), DM_ERR_NOT_PARAM);
	assert_int_equal(err.code, DM_ERR_NOT_PARAM);
	assert_string_equal(err.path, "Device.Services.X.{i}.");
	assert_true(err.msg[0] != '\0');
	assert_int_equal(dm_value_check(NULL, "1", &canon, NULL), DM_ERR_NOT_PARAM);
	assert_null(canon);
}

/* Messages quote long values in part, and never carry control characters. */
static void test_message_quoting(void **state)
{
	char longv[300];
	dm_facets f = { .base = DM_TYPE_BOOLEAN };
	dm_errinfo err = { 0 };
	(void)state;

	memset(longv, 'x', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	assert_int_equal(dm_facets_check(&f, longv, NULL, &err), DM_ERR_INVALID_VALUE);
	assert_non_null(strstr(err.msg, "...\" is not a valid boolean"));
	assert_int_equal(dm_facets_check(&f, "a\nb", NULL, &err), DM_ERR_INVALID_VALUE);
	assert_null(strchr(err.msg, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_zeros),
		cmocka_unit_test(test_boolean),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_unsigned_int),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_unsigned_long),
		cmocka_unit_test(test_ranges_unsigned),
		cmocka_unit_test(test_ranges_signed),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hexbinary),
		cmocka_unit_test(test_string_utf8),
		cmocka_unit_test(test_enumeration),
		cmocka_unit_test(test_patterns_tr106),
		cmocka_unit_test(test_enum_or_pattern),
		cmocka_unit_test(test_pattern_translation),
		cmocka_unit_test(test_pattern_unusable),
		cmocka_unit_test(test_pattern_bbf_all),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_list_of_datetime_and_hex),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_value_check_node),
		cmocka_unit_test(test_message_quoting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
