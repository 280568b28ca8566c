/*
 * test_cwmp_digest.c - HTTP Digest (RFC 7616) as the Connection Request
 * listener verifies it: the RFC's worked example for MD5 and SHA-256,
 * round trips through our own challenges (all four algorithms), every
 * tampered field refused, foreign and expired nonces, nonce counts that
 * replay, the replay table's eviction, and headers malformed in every way
 * we could think of (each truncation of a good one included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "digest.h"
#include "dm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REALM "duet test realm"
#define USER "Mufasa"
#define PASS "Circle of Life"
#define PATH "/cr-0123456789abcdef"

static uint64_t clock_s = 1000;

static uint64_t test_clock(void *ctx)
{
	(void)ctx;
	return clock_s;
}

static cwmp_digest *make(size_t max_nonces)
{
	cwmp_digest_opts o = {.realm = REALM, .nonce_ttl_s = 300, .max_nonces = max_nonces, .now = test_clock};
	cwmp_digest *g = NULL;

	assert_int_equal(cwmp_digest_new(&o, &g), DM_OK);
	return g;
}

/* The quoted value of name="..." in a challenge. */
static void challenge_field(const char *ch, const char *name, char *out, size_t n)
{
	char key[32];

	snprintf(key, sizeof key, "%s=\"", name);
	const char *p = strstr(ch, key);
	assert_non_null(p);
	p += strlen(key);
	size_t len = strcspn(p, "\"");
	assert_true(len < n);
	memcpy(out, p, len);
	out[len] = '\0';
}

typedef struct client {
	cwmp_digest_alg alg;
	const char *user, *pass, *uri, *nc, *cnonce;
	char nonce[256], opaque[64];
} client;

static void challenge(cwmp_digest *g, client *c)
{
	char ch[CWMP_DIGEST_CHALLENGE_MAX];

	assert_int_equal(cwmp_digest_challenge(g, c->alg, false, ch, sizeof ch), DM_OK);
	challenge_field(ch, "nonce", c->nonce, sizeof c->nonce);
	challenge_field(ch, "opaque", c->opaque, sizeof c->opaque);
}

static client new_client(cwmp_digest *g, cwmp_digest_alg alg)
{
	client c = {.alg = alg, .user = USER, .pass = PASS, .uri = PATH, .nc = "00000001", .cnonce = "0a4f113b"};

	challenge(g, &c);
	return c;
}

/* The Authorization header a correct client would send. */
static void header(const client *c, char *out, size_t n)
{
	char resp[CWMP_DIGEST_HEX_MAX];

	assert_int_equal(cwmp_digest_response(c->alg, c->user, REALM, c->pass, "GET", c->uri, c->nonce, c->nc,
					      c->cnonce, resp, sizeof resp),
			 DM_OK);
	snprintf(out, n,
		 "Digest username=\"%s\", realm=\"" REALM "\", nonce=\"%s\", uri=\"%s\", algorithm=%s, qop=auth, "
		 "nc=%s, cnonce=\"%s\", opaque=\"%s\", response=\"%s\"",
		 c->user, c->nonce, c->uri, cwmp_digest_alg_name(c->alg), c->nc, c->cnonce, c->opaque, resp);
}

static int verify(cwmp_digest *g, const char *h)
{
	return cwmp_digest_verify(g, h, "GET", PATH, USER, PASS);
}

/* RFC 7616 3.9.1. */
static void test_rfc7616_example(void **state)
{
	static const struct {
		cwmp_digest_alg alg;
		const char *want;
	} rows[] = {
		{CWMP_DIGEST_MD5, "8ca523f5e9506fed4657c9700eebdbec"},
		{CWMP_DIGEST_SHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	};
	char out[CWMP_DIGEST_HEX_MAX];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		assert_int_equal(cwmp_digest_response(rows[i].alg, "Mufasa", "http-auth@example.org", "Circle of Life",
						      "GET", "/dir/index.html",
						      "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
						      "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", out, sizeof out),
				 DM_OK);
		assert_string_equal(out, rows[i].want);
	}
	/* too small an output buffer is refused, not overrun */
	assert_int_equal(cwmp_digest_response(CWMP_DIGEST_SHA256, "u", "r", "p", "GET", "/", "n", "00000001", "c", out,
					      40),
			 DM_ERR_NOMEM);
}

static void test_alg_names(void **state)
{
	assert_int_equal(cwmp_digest_alg_parse("md5"), CWMP_DIGEST_MD5);
	assert_int_equal(cwmp_digest_alg_parse("SHA-256-SESS"), CWMP_DIGEST_SHA256_SESS);
	assert_int_equal(cwmp_digest_alg_parse("SHA-512-256"), -1);
	assert_int_equal(cwmp_digest_alg_parse(NULL), -1);
	assert_string_equal(cwmp_digest_alg_name(CWMP_DIGEST_MD5_SESS), "MD5-sess");
}

static void test_challenge_shape(void **state)
{
	cwmp_digest *g = make(0);
	char a[CWMP_DIGEST_CHALLENGE_MAX], b[CWMP_DIGEST_CHALLENGE_MAX], na[256], nb[256];

	assert_int_equal(cwmp_digest_challenge(g, CWMP_DIGEST_SHA256, false, a, sizeof a), DM_OK);
	assert_int_equal(cwmp_digest_challenge(g, CWMP_DIGEST_MD5, true, b, sizeof b), DM_OK);
	static const char prefix[] = "Digest realm=\"" REALM "\", qop=\"auth\", algorithm=SHA-256, nonce=\"";
	assert_memory_equal(a, prefix, strlen(prefix));
	assert_null(strstr(a, "stale"));
	assert_non_null(strstr(b, "algorithm=MD5,"));
	assert_non_null(strstr(b, ", stale=true"));
	challenge_field(a, "nonce", na, sizeof na);
	challenge_field(b, "nonce", nb, sizeof nb);
	assert_string_not_equal(na, nb); /* every challenge gets its own */
	assert_int_equal(cwmp_digest_challenge(g, CWMP_DIGEST_MD5, false, a, 20), DM_ERR_NOMEM);
	cwmp_digest_free(g);

	cwmp_digest_opts bad = {.realm = "a \"quoted\" realm"};
	assert_int_equal(cwmp_digest_new(&bad, &g), DM_ERR_INVALID_VALUE);
}

static void test_round_trip_each_algorithm(void **state)
{
	static const cwmp_digest_alg algs[] = {CWMP_DIGEST_MD5, CWMP_DIGEST_MD5_SESS, CWMP_DIGEST_SHA256,
					       CWMP_DIGEST_SHA256_SESS};
	cwmp_digest *g = make(0);
	char h[2048];

	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
		client c = new_client(g, algs[i]);
		header(&c, h, sizeof h);
		assert_int_equal(verify(g, h), CWMP_DIGEST_OK);
		/* the same credentials for HEAD do not pass as GET */
		c.nc = "00000002";
		header(&c, h, sizeof h);
		assert_int_equal(cwmp_digest_verify(g, h, "HEAD", PATH, USER, PASS), CWMP_DIGEST_DENIED);
	}
	cwmp_digest_free(g);
}

/* The client's algorithm absent means MD5 (RFC 7616 3.3). */
static void test_algorithm_absent_is_md5(void **state)
{
	cwmp_digest *g = make(0);
	client c = new_client(g, CWMP_DIGEST_MD5);
	char resp[CWMP_DIGEST_HEX_MAX], h[1024];

	assert_int_equal(cwmp_digest_response(CWMP_DIGEST_MD5, USER, REALM, PASS, "GET", PATH, c.nonce, "00000001",
					      "xyz", resp, sizeof resp),
			 DM_OK);
	snprintf(h, sizeof h,
		 "Digest username=\"" USER "\", realm=\"" REALM "\", nonce=\"%s\", uri=\"" PATH
		 "\", qop=auth, nc=00000001, cnonce=\"xyz\", response=\"%s\"",
		 c.nonce, resp);
	assert_int_equal(verify(g, h), CWMP_DIGEST_OK); /* opaque may be left out */
	cwmp_digest_free(g);
}

/* Odd but valid formatting: scheme case, order, whitespace, tabs, empty
 * list elements, unknown parameters, escapes, upper-case hex. */
static void test_liberal_formatting(void **state)
{
	cwmp_digest *g = make(0);
	client c = new_client(g, CWMP_DIGEST_SHA256);
	char resp[CWMP_DIGEST_HEX_MAX], h[2048];

	c.user = "Mu\"fa\\sa";
	assert_int_equal(cwmp_digest_response(CWMP_DIGEST_SHA256, c.user, REALM, PASS, "GET", PATH "?x=1", c.nonce,
					      "0000000a", "c n", resp, sizeof resp),
			 DM_OK);
	for (char *p = resp; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(h, sizeof h,
		 "  dIgEsT\t response=\"%s\" ,, cnonce=\"c n\",nc=0000000a ,qop=\"auth\", future=token,"
		 " algorithm=\"sha-256\", uri = \"" PATH "?x=1\", nonce=\"%s\", realm=\"" REALM "\","
		 " username=\"Mu\\\"fa\\\\sa\", other=\"with, comma\", userhash=false,",
		 resp, c.nonce);
	assert_int_equal(cwmp_digest_verify(g, h, "GET", PATH, c.user, PASS), CWMP_DIGEST_OK);
	cwmp_digest_free(g);
}

static void test_tampering_refused(void **state)
{
	cwmp_digest *g = make(0);
	char h[2048], good[2048];

	client c = new_client(g, CWMP_DIGEST_SHA256);
	header(&c, good, sizeof good);

	/* wrong expectations on our side */
	assert_int_equal(cwmp_digest_verify(g, good, "GET", PATH, "Simba", PASS), CWMP_DIGEST_DENIED);
	assert_int_equal(cwmp_digest_verify(g, good, "GET", PATH, USER, "Circle of Life!"), CWMP_DIGEST_DENIED);
	assert_int_equal(cwmp_digest_verify(g, good, "GET", "/cr-other", USER, PASS), CWMP_DIGEST_DENIED);

	/* the response altered in one digit */
	snprintf(h, sizeof h, "%s", good);
	char *r = strstr(h, "response=\"") + 10;
	*r = *r == '0' ? '1' : '0';
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);

	/* another uri, user, realm or opaque, correctly hashed by the client */
	client t = c;
	t.uri = "/elsewhere";
	header(&t, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	t = c;
	t.user = "Simba";
	header(&t, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	t = c;
	snprintf(t.opaque, sizeof t.opaque, "00112233445566778899aabbccddeeff");
	header(&t, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	snprintf(h, sizeof h, "%s", good);
	memcpy(strstr(h, "realm=\"") + 7, "DUET", 4);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);

	/* none of those used the nonce up: the genuine request still passes */
	assert_int_equal(verify(g, good), CWMP_DIGEST_OK);
	cwmp_digest_free(g);
}

static void test_foreign_nonce(void **state)
{
	cwmp_digest *g = make(0), *other = make(0);
	char h[2048];

	client c = new_client(other, CWMP_DIGEST_MD5);
	header(&c, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	assert_int_equal(verify(other, h), CWMP_DIGEST_OK);

	/* ours, with its time changed: the MAC no longer matches */
	c = new_client(g, CWMP_DIGEST_MD5);
	c.nonce[15] = c.nonce[15] == '0' ? '1' : '0';
	header(&c, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);

	/* not even hex, or the RFC's example nonce */
	snprintf(c.nonce, sizeof c.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	header(&c, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	cwmp_digest_free(g);
	cwmp_digest_free(other);
}

static void test_expired_nonce_is_stale(void **state)
{
	cwmp_digest *g = make(0);
	char h[2048];

	clock_s = 1000;
	client c = new_client(g, CWMP_DIGEST_SHA256);
	header(&c, h, sizeof h);
	clock_s = 1300; /* at the limit: still good */
	assert_int_equal(verify(g, h), CWMP_DIGEST_OK);
	c.nc = "00000002";
	header(&c, h, sizeof h);
	clock_s = 1301;
	assert_int_equal(verify(g, h), CWMP_DIGEST_STALE);
	/* stale only for the right credentials */
	assert_int_equal(cwmp_digest_verify(g, h, "GET", PATH, USER, "wrong"), CWMP_DIGEST_DENIED);
	/* a nonce dated in the future is not one we issued */
	clock_s = 5000;
	c = new_client(g, CWMP_DIGEST_SHA256);
	header(&c, h, sizeof h);
	clock_s = 1000;
	assert_int_equal(verify(g, h), CWMP_DIGEST_DENIED);
	cwmp_digest_free(g);
}

static void test_replay(void **state)
{
	static const struct {
		const char *nc;
		int want;
	} rows[] = {
		{"00000001", CWMP_DIGEST_OK},     {"00000001", CWMP_DIGEST_REPLAY}, {"00000002", CWMP_DIGEST_OK},
		{"00000001", CWMP_DIGEST_REPLAY}, {"00000002", CWMP_DIGEST_REPLAY}, {"00000010", CWMP_DIGEST_OK},
		{"0000000F", CWMP_DIGEST_REPLAY}, {"00000011", CWMP_DIGEST_OK},
	};
	cwmp_digest *g = make(0);
	char h[2048];

	clock_s = 1000;
	client c = new_client(g, CWMP_DIGEST_MD5);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		c.nc = rows[i].nc;
		header(&c, h, sizeof h);
		assert_int_equal(verify(g, h), rows[i].want);
	}
	/* a second nonce keeps its own count */
	client d = new_client(g, CWMP_DIGEST_MD5);
	header(&d, h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_OK);
	cwmp_digest_free(g);
}

/* With room for two, a third nonce evicts the oldest; the evicted one's
 * count is forgotten, so it is stale from then on, never trusted afresh. */
static void test_replay_table_eviction(void **state)
{
	cwmp_digest *g = make(2);
	char h[2048];
	client c[3];

	for (int i = 0; i < 3; i++) {
		clock_s = 1000 + (uint64_t)i;
		c[i] = new_client(g, CWMP_DIGEST_SHA256);
	}
	for (int i = 0; i < 3; i++) {
		header(&c[i], h, sizeof h);
		assert_int_equal(verify(g, h), CWMP_DIGEST_OK);
	}
	c[0].nc = "00000002";
	header(&c[0], h, sizeof h);
	assert_int_equal(verify(g, h), CWMP_DIGEST_STALE);
	header(&c[2], h, sizeof h); /* still remembered: nc 1 again */
	assert_int_equal(verify(g, h), CWMP_DIGEST_REPLAY);
	cwmp_digest_free(g);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *h;
		int want;
	} rows[] = {
		{"", CWMP_DIGEST_MALFORMED},
		{"Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl", CWMP_DIGEST_MALFORMED},
		{"Digest", CWMP_DIGEST_MALFORMED},
		{"Digestusername=\"a\"", CWMP_DIGEST_MALFORMED},
		{"Digest username=\"unterminated", CWMP_DIGEST_MALFORMED},
		{"Digest username=\"a\\", CWMP_DIGEST_MALFORMED},
		{"Digest username=\"a\" realm=\"b\"", CWMP_DIGEST_MALFORMED},
		{"Digest username=", CWMP_DIGEST_MALFORMED},
		{"Digest =x", CWMP_DIGEST_MALFORMED},
		{"Digest username", CWMP_DIGEST_MALFORMED},
		{"Digest username=a b", CWMP_DIGEST_MALFORMED},
		{"Digest username=\"a\x01\"", CWMP_DIGEST_MALFORMED},
		{"Digest username=\"a\", username=\"b\"", CWMP_DIGEST_MALFORMED},
		/* RFC 2069 style: no qop, no nc, no cnonce */
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", response=\"8ca523f5e9506fed4657c9700eebdbec\"",
		 CWMP_DIGEST_MALFORMED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth-int, nc=00000001, cnonce=\"c\", response=\"00\"",
		 CWMP_DIGEST_UNSUPPORTED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=00000001, cnonce=\"c\", response=\"00\", algorithm=SHA-512-256",
		 CWMP_DIGEST_UNSUPPORTED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=00000001, cnonce=\"c\", response=\"00\", userhash=true",
		 CWMP_DIGEST_UNSUPPORTED},
		{"Digest username*=UTF-8''Mufasa, realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=00000001, cnonce=\"c\", response=\"00\"",
		 CWMP_DIGEST_UNSUPPORTED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=1, cnonce=\"c\", response=\"00\"",
		 CWMP_DIGEST_MALFORMED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=00000000, cnonce=\"c\", response=\"00\"",
		 CWMP_DIGEST_MALFORMED},
		{"Digest username=\"Mufasa\", realm=\"" REALM "\", nonce=\"00\", uri=\"" PATH
		 "\", qop=auth, nc=0000000g, cnonce=\"c\", response=\"00\"",
		 CWMP_DIGEST_MALFORMED},
	};
	cwmp_digest *g = make(0);

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int v = verify(g, rows[i].h);
		if (v != rows[i].want)
			fail_msg("row %zu (%s): %d, want %d", i, rows[i].h, v, rows[i].want);
	}
	assert_int_equal(cwmp_digest_verify(g, NULL, "GET", PATH, USER, PASS), CWMP_DIGEST_MALFORMED);
	assert_int_equal(cwmp_digest_verify(g, "Digest a=b", NULL, PATH, USER, PASS), CWMP_DIGEST_MALFORMED);
	assert_int_equal(cwmp_digest_verify(NULL, "Digest a=b", "GET", PATH, USER, PASS), CWMP_DIGEST_MALFORMED);
	assert_string_equal(cwmp_digest_verdict_text(CWMP_DIGEST_REPLAY), "replayed nonce count");
	assert_string_equal(cwmp_digest_verdict_text(-99), "unknown verdict");
	cwmp_digest_free(g);
}

/* Oversized: the whole header, and single fields beyond their room. */
static void test_huge(void **state)
{
	cwmp_digest *g = make(0);
	size_t n = 1 << 20;
	char *h = malloc(n + 64), h2[2048];

	assert_non_null(h);
	strcpy(h, "Digest username=\"");
	memset(h + strlen(h), 'a', n);
	h[n + 17] = '\0';
	assert_int_equal(verify(g, h), CWMP_DIGEST_MALFORMED);
	strcat(h, "\"");
	assert_int_equal(verify(g, h), CWMP_DIGEST_MALFORMED);
	/* a 1 MiB unknown parameter, a 300-byte username */
	memcpy(h, "Digest xxxxxxxx=\"", 17);
	assert_int_equal(verify(g, h), CWMP_DIGEST_MALFORMED);
	client c = new_client(g, CWMP_DIGEST_MD5);
	char user[301];
	memset(user, 'u', 300);
	user[300] = '\0';
	c.user = user;
	header(&c, h2, sizeof h2);
	assert_int_equal(cwmp_digest_verify(g, h2, "GET", PATH, user, PASS), CWMP_DIGEST_MALFORMED);
	free(h);
	cwmp_digest_free(g);
}

/* Every prefix of a good header is refused (and none crashes); only the
 * whole passes. The response comes last, so every prefix lacks part of it. */
static void test_truncations(void **state)
{
	cwmp_digest *g = make(0);
	char good[2048], cut[2048];

	client c = new_client(g, CWMP_DIGEST_SHA256);
	header(&c, good, sizeof good);
	size_t len = strlen(good);
	for (size_t i = 0; i < len; i++) {
		memcpy(cut, good, i);
		cut[i] = '\0';
		int v = verify(g, cut);
		if (v == CWMP_DIGEST_OK)
			fail_msg("prefix of %zu bytes accepted: %s", i, cut);
	}
	assert_int_equal(verify(g, good), CWMP_DIGEST_OK);
	cwmp_digest_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616_example),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_challenge_shape),
		cmocka_unit_test(test_round_trip_each_algorithm),
		cmocka_unit_test(test_algorithm_absent_is_md5),
		cmocka_unit_test(test_liberal_formatting),
		cmocka_unit_test(test_tampering_refused),
		cmocka_unit_test(test_foreign_nonce),
		cmocka_unit_test(test_expired_nonce_is_stale),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_table_eviction),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
