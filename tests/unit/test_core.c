/*
 * test_core.c - unit tests for core/ parts that need no engine and no
 * socket: the admin line codec (escaping, splitting, line reassembly and
 * its length cap), configuration precedence, and logging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "core.h"

/* ---------------------------------------------------------------------------
 * Escaping
 * ------------------------------------------------------------------------- */

static const struct {
	const char *raw;
	const char *escaped;
} escape_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	{ "a\tb", "a\\tb" },
	{ "a\nb", "a\\nb" },
	{ "back\\slash", "back\\\\slash" },
	{ "\\t", "\\\\t" },
	{ "\t\n\\", "\\t\\n\\\\" },
	{ "trailing\\", "trailing\\\\" },
	{ "cr\rstays", "cr\rstays" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
};

static void test_escape_table(void **state)
{
	for (size_t i = 0; i < sizeof escape_cases / sizeof escape_cases[0]; i++) {
		core_buf b = { 0 };
		const char *raw = escape_cases[i].raw;

		assert_int_equal(core_admin_escape(&b, raw, strlen(raw)), CORE_OK);
		assert_string_equal(b.data, escape_cases[i].escaped);

		size_t len = b.len;
		assert_int_equal(core_admin_unescape(b.data, &len), CORE_OK);
		assert_int_equal(len, strlen(raw));
		assert_memory_equal(b.data, raw, len);
		core_buf_free(&b);
	}
}

static void test_escape_all_bytes_round_trip(void **state)
{
	char raw[255];
	core_buf b = { 0 };

	for (int i = 0; i < 255; i++)
		raw[i] = (char)(i + 1); /* every byte but NUL */
	assert_int_equal(core_admin_escape(&b, raw, sizeof raw), CORE_OK);
	assert_null(memchr(b.data, '\t', b.len));
	assert_null(memchr(b.data, '\n', b.len));
	size_t len = b.len;
	assert_int_equal(core_admin_unescape(b.data, &len), CORE_OK);
	assert_int_equal(len, sizeof raw);
	assert_memory_equal(b.data, raw, sizeof raw);
	core_buf_free(&b);
}

static void test_unescape_rejects_unknown(void **state)
{
	const char *bad[] = { "\\x", "abc\\", "\\r", "\\0", "a\\ b" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[16];
		size_t len = strlen(bad[i]);
		memcpy(buf, bad[i], len + 1);
		assert_int_equal(core_admin_unescape(buf, &len), CORE_ERR_PROTOCOL);
	}
}

/* ---------------------------------------------------------------------------
 * Lines and fields
 * ------------------------------------------------------------------------- */

static void test_split(void **state)
{
	core_admin_fields f;
	const char *line = "set\tDevice.X\ta\\tb\\nc\t";

	assert_int_equal(core_admin_split(line, strlen(line), &f), CORE_OK);
	assert_int_equal(f.n, 4);
	assert_string_equal(f.v[0], "set");
	assert_string_equal(f.v[1], "Device.X");
	assert_string_equal(f.v[2], "a\tb\nc");
	assert_string_equal(f.v[3], "");
	core_admin_fields_free(&f);

	assert_int_equal(core_admin_split("", 0, &f), CORE_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0], "");
	core_admin_fields_free(&f);

	/* Only the first len bytes count. */
	assert_int_equal(core_admin_split("ping\tjunk", 4, &f), CORE_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0], "ping");
	core_admin_fields_free(&f);

	assert_int_equal(core_admin_split("get\t\\q", 6, &f), CORE_ERR_PROTOCOL);
}

static void test_put_line_and_split_round_trip(void **state)
{
	const char *fields[] = { "P", "Device.DeviceInfo.Description", "two\twords\nand \\ more", "" };
	core_buf b = { 0 };
	core_admin_fields f;

	assert_int_equal(core_admin_put_line(&b, fields, 4), CORE_OK);
	assert_string_equal(b.data, "P\tDevice.DeviceInfo.Description\ttwo\\twords\\nand \\\\ more\t\n");
	assert_int_equal(core_admin_split(b.data, b.len - 1, &f), CORE_OK);
	assert_int_equal(f.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(f.v[i], fields[i]);
	core_admin_fields_free(&f);
	core_buf_free(&b);
}

static void test_put_final(void **state)
{
	core_buf b = { 0 };

	assert_int_equal(core_admin_put_final(&b, 0, "ignored"), CORE_OK);
	assert_string_equal(b.data, "ok\n");
	core_buf_reset(&b);
	assert_int_equal(core_admin_put_final(&b, -6, "Device.X: not\twritable"), CORE_OK);
	assert_string_equal(b.data, "err\t-6\tDevice.X: not\\twritable\n");
	core_buf_free(&b);
}

/* ---------------------------------------------------------------------------
 * Line reassembly
 * ------------------------------------------------------------------------- */

static void expect_line(core_linebuf *lb, const char *want)
{
	const char *line;
	size_t len;

	assert_int_equal(core_linebuf_next(lb, &line, &len), CORE_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

static void expect_rc(core_linebuf *lb, int rc)
{
	const char *line;
	size_t len;

	assert_int_equal(core_linebuf_next(lb, &line, &len), rc);
}

static void test_linebuf_partial_reads(void **state)
{
	core_linebuf lb;
	const char *chunks[] = { "pi", "ng\nget\tDev", "ice.\n", "\n", "stats" };

	core_linebuf_init(&lb, 64);
	expect_rc(&lb, CORE_ERR_AGAIN);
	assert_int_equal(core_linebuf_feed(&lb, chunks[0], 2), CORE_OK);
	expect_rc(&lb, CORE_ERR_AGAIN);
	assert_int_equal(core_linebuf_feed(&lb, chunks[1], strlen(chunks[1])), CORE_OK);
	expect_line(&lb, "ping");
	expect_rc(&lb, CORE_ERR_AGAIN);
	assert_int_equal(core_linebuf_feed(&lb, chunks[2], strlen(chunks[2])), CORE_OK);
	expect_line(&lb, "get\tDevice.");
	assert_int_equal(core_linebuf_feed(&lb, chunks[3], 1), CORE_OK);
	expect_line(&lb, "");
	assert_int_equal(core_linebuf_feed(&lb, chunks[4], 5), CORE_OK);
	expect_rc(&lb, CORE_ERR_AGAIN);
	core_linebuf_free(&lb);
}

static void test_linebuf_many_lines_one_chunk(void **state)
{
	core_linebuf lb;
	const char *in = "a\nbb\nccc\n";

	core_linebuf_init(&lb, 8);
	assert_int_equal(core_linebuf_feed(&lb, in, strlen(in)), CORE_OK);
	expect_line(&lb, "a");
	expect_line(&lb, "bb");
	expect_line(&lb, "ccc");
	expect_rc(&lb, CORE_ERR_AGAIN);
	core_linebuf_free(&lb);
}

static void test_linebuf_cap_is_inclusive(void **state)
{
	core_linebuf lb;

	core_linebuf_init(&lb, 4);
	assert_int_equal(core_linebuf_feed(&lb, "abcd\nabcde\nok\n", 14), CORE_OK);
	expect_line(&lb, "abcd");
	expect_rc(&lb, CORE_ERR_TOO_LONG);
	expect_line(&lb, "ok");
	expect_rc(&lb, CORE_ERR_AGAIN);
	core_linebuf_free(&lb);
}

/* An endless line must not grow memory: it is reported once and dropped as
 * it arrives, and the connection goes on with the next line. */
static void test_linebuf_overlong_streaming(void **state)
{
	core_linebuf lb;
	char chunk[100];

	memset(chunk, 'x', sizeof chunk);
	core_linebuf_init(&lb, 150);
	assert_int_equal(core_linebuf_feed(&lb, chunk, sizeof chunk), CORE_OK);
	expect_rc(&lb, CORE_ERR_AGAIN);
	assert_int_equal(core_linebuf_feed(&lb, chunk, sizeof chunk), CORE_OK);
	expect_rc(&lb, CORE_ERR_TOO_LONG);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(core_linebuf_feed(&lb, chunk, sizeof chunk), CORE_OK);
		expect_rc(&lb, CORE_ERR_AGAIN);
	}
	assert_true(lb.cap <= 4096);
	assert_int_equal(core_linebuf_feed(&lb, "xx\nping\n", 8), CORE_OK);
	expect_line(&lb, "ping");
	expect_rc(&lb, CORE_ERR_AGAIN);
	core_linebuf_free(&lb);
}

static void test_linebuf_admin_cap(void **state)
{
	core_linebuf lb;
	size_t n = CORE_ADMIN_LINE_MAX + 1;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, 'y', n);
	core_linebuf_init(&lb, CORE_ADMIN_LINE_MAX);
	assert_int_equal(core_linebuf_feed(&lb, big, n - 1), CORE_OK);
	expect_rc(&lb, CORE_ERR_AGAIN); /* exactly the cap: still acceptable */
	assert_int_equal(core_linebuf_feed(&lb, big, 1), CORE_OK);
	expect_rc(&lb, CORE_ERR_TOO_LONG);
	assert_int_equal(core_linebuf_feed(&lb, "\nping\n", 6), CORE_OK);
	expect_line(&lb, "ping");
	core_linebuf_free(&lb);
	free(big);
}

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------- */

static const char *const env_names[] = {
	"DUET_STATE", "DUET_DEFAULTS", "DUET_SCHEMA", "DUET_ADMIN",
	"DUET_LOG_LEVEL", "DUET_REBOOT_HOOK", "DUET_FACTORY_RESET_HOOK",
};

static int clear_env(void **state)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
	return 0;
}

#define ARGV(...) ((char *const[]){ "duetd", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((char *[]){ "duetd", __VA_ARGS__ }) / sizeof(char *)))
#define LOAD(cfg, msg, ...) core_config_load((cfg), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (msg), sizeof(msg))

static void test_config_defaults(void **state)
{
	core_config c;
	char msg[128];

	assert_int_equal(core_config_load(&c, 1, (char *const[]){ "duetd" }, msg, sizeof msg), CORE_OK);
	assert_string_equal(c.state_dir, CORE_DEFAULT_STATE);
	assert_string_equal(c.defaults_file, CORE_DEFAULT_DEFAULTS);
	assert_string_equal(c.schema_file, CORE_DEFAULT_SCHEMA);
	assert_string_equal(c.admin_path, CORE_DEFAULT_STATE "/duetd.sock");
	assert_int_equal(c.log_level, CORE_LOG_INFO);
	assert_null(c.reboot_hook);
	assert_null(c.factory_reset_hook);
	assert_int_equal(c.defaults_src, CORE_SRC_DEFAULT);
	assert_false(c.help);
	assert_false(c.version);
	core_config_free(&c);
}

static void test_config_env_over_default(void **state)
{
	core_config c;
	char msg[128];

	setenv("DUET_STATE", "/tmp/st", 1);
	setenv("DUET_SCHEMA", "/tmp/s.xml", 1);
	setenv("DUET_LOG_LEVEL", "debug", 1);
	setenv("DUET_REBOOT_HOOK", "echo reboot", 1);
	setenv("DUET_DEFAULTS", "", 1); /* empty counts as unset */
	assert_int_equal(core_config_load(&c, 1, (char *const[]){ "duetd" }, msg, sizeof msg), CORE_OK);
	assert_string_equal(c.state_dir, "/tmp/st");
	assert_string_equal(c.admin_path, "/tmp/st/duetd.sock");
	assert_string_equal(c.schema_file, "/tmp/s.xml");
	assert_string_equal(c.defaults_file, CORE_DEFAULT_DEFAULTS);
	assert_int_equal(c.defaults_src, CORE_SRC_DEFAULT);
	assert_int_equal(c.log_level, CORE_LOG_DEBUG);
	assert_string_equal(c.reboot_hook, "echo reboot");
	core_config_free(&c);
}

static void test_config_flags_over_env(void **state)
{
	core_config c;
	char msg[128];

	setenv("DUET_STATE", "/env/state", 1);
	setenv("DUET_ADMIN", "/env/admin.sock", 1);
	setenv("DUET_LOG_LEVEL", "error", 1);
	setenv("DUET_DEFAULTS", "/env/defaults.txt", 1);
	setenv("DUET_FACTORY_RESET_HOOK", "echo env", 1);
	assert_int_equal(LOAD(&c, msg, "--state", "/flag/state", "--log-level=warn", "--defaults",
			      "/flag/d.txt", "--factory-reset-hook", ""),
			 CORE_OK);
	assert_string_equal(c.state_dir, "/flag/state");
	/* The environment's admin path still beats the one derived from --state. */
	assert_string_equal(c.admin_path, "/env/admin.sock");
	assert_int_equal(c.log_level, CORE_LOG_WARN);
	assert_string_equal(c.defaults_file, "/flag/d.txt");
	assert_int_equal(c.defaults_src, CORE_SRC_FLAG);
	assert_null(c.factory_reset_hook); /* an empty flag turns the env hook off */
	core_config_free(&c);

	setenv("DUET_DEFAULTS", "/env/defaults.txt", 1);
	assert_int_equal(LOAD(&c, msg, "--admin", "/flag/a.sock"), CORE_OK);
	assert_string_equal(c.admin_path, "/flag/a.sock");
	assert_string_equal(c.state_dir, "/env/state");
	assert_int_equal(c.defaults_src, CORE_SRC_ENV);
	core_config_free(&c);
}

static void test_config_admin_derived_from_state_flag(void **state)
{
	core_config c;
	char msg[128];

	assert_int_equal(LOAD(&c, msg, "--state=/s/dir/"), CORE_OK);
	assert_string_equal(c.admin_path, "/s/dir/duetd.sock");
	core_config_free(&c);
}

static void test_config_usage_errors(void **state)
{
	core_config c;
	char msg[128];

	assert_int_equal(LOAD(&c, msg, "--bogus"), CORE_ERR_USAGE);
	assert_non_null(strstr(msg, "--bogus"));
	assert_int_equal(LOAD(&c, msg, "--state"), CORE_ERR_USAGE);
	assert_non_null(strstr(msg, "--state"));
	assert_int_equal(LOAD(&c, msg, "--schema="), CORE_ERR_USAGE);
	assert_int_equal(LOAD(&c, msg, "positional"), CORE_ERR_USAGE);
	assert_int_equal(LOAD(&c, msg, "--log-level", "loud"), CORE_ERR_INVALID);
	assert_non_null(strstr(msg, "loud"));
	setenv("DUET_LOG_LEVEL", "chatty", 1);
	assert_int_equal(core_config_load(&c, 1, (char *const[]){ "duetd" }, msg, sizeof msg),
			 CORE_ERR_INVALID);
	assert_non_null(strstr(msg, "DUET_LOG_LEVEL"));
	/* A good flag hides a bad environment value. */
	assert_int_equal(LOAD(&c, msg, "--log-level", "info"), CORE_OK);
	core_config_free(&c);
}

static void test_config_help_version(void **state)
{
	core_config c;
	char msg[128];

	assert_int_equal(LOAD(&c, msg, "--help"), CORE_OK);
	assert_true(c.help);
	core_config_free(&c);
	assert_int_equal(LOAD(&c, msg, "--version"), CORE_OK);
	assert_true(c.version);
	core_config_free(&c);
}

/* ---------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------- */

static void test_log_level_parse(void **state)
{
	static const struct {
		const char *s;
		int rc;
		core_log_level l;
	} cases[] = {
		{ "error", CORE_OK, CORE_LOG_ERROR }, { "ERROR", CORE_OK, CORE_LOG_ERROR },
		{ "err", CORE_OK, CORE_LOG_ERROR },   { "warn", CORE_OK, CORE_LOG_WARN },
		{ "Warning", CORE_OK, CORE_LOG_WARN }, { "info", CORE_OK, CORE_LOG_INFO },
		{ "debug", CORE_OK, CORE_LOG_DEBUG }, { "", CORE_ERR_INVALID, 0 },
		{ "trace", CORE_ERR_INVALID, 0 },     { "info ", CORE_ERR_INVALID, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		core_log_level l = CORE_LOG_INFO;
		assert_int_equal(core_log_parse_level(cases[i].s, &l), cases[i].rc);
		if (!cases[i].rc)
			assert_int_equal(l, cases[i].l);
	}
	assert_int_equal(core_log_parse_level(NULL, &(core_log_level){ 0 }), CORE_ERR_INVALID);
	assert_string_equal(core_log_level_name(CORE_LOG_WARN), "WARN");
}

static size_t read_log(int fd, char *buf, size_t sz)
{
	ssize_t n = read(fd, buf, sz - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_log_format_and_filter(void **state)
{
	int p[2];
	char buf[512];
	regex_t re;

	assert_int_equal(pipe(p), 0);
	core_log_set_fd(p[1]);
	core_log_set_level(CORE_LOG_WARN);

	CORE_LOG_W("test", "hello %d", 42);
	read_log(p[0], buf, sizeof buf);
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
				 "duetd\\[[0-9]+\\] WARN test: hello 42\n$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_int_equal(regexec(&re, buf, 0, NULL, 0), 0);
	regfree(&re);

	/* Filtered lines write nothing: the next read sees only the error. */
	CORE_LOG_I("test", "dropped");
	CORE_LOG_D("test", "dropped too");
	CORE_LOG_E("test", "two\nlines");
	read_log(p[0], buf, sizeof buf);
	assert_non_null(strstr(buf, " ERROR test: two lines\n"));
	assert_null(strstr(buf, "dropped"));

	core_log_set_fd(-1);
	core_log_set_level(CORE_LOG_INFO);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_all_bytes_round_trip),
		cmocka_unit_test(test_unescape_rejects_unknown),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_put_line_and_split_round_trip),
		cmocka_unit_test(test_put_final),
		cmocka_unit_test(test_linebuf_partial_reads),
		cmocka_unit_test(test_linebuf_many_lines_one_chunk),
		cmocka_unit_test(test_linebuf_cap_is_inclusive),
		cmocka_unit_test(test_linebuf_overlong_streaming),
		cmocka_unit_test(test_linebuf_admin_cap),
		cmocka_unit_test_setup(test_config_defaults, clear_env),
		cmocka_unit_test_setup(test_config_env_over_default, clear_env),
		cmocka_unit_test_setup(test_config_flags_over_env, clear_env),
		cmocka_unit_test_setup(test_config_admin_derived_from_state_flag, clear_env),
		cmocka_unit_test_setup(test_config_usage_errors, clear_env),
		cmocka_unit_test_setup(test_config_help_version, clear_env),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_log_format_and_filter),
	};

	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
