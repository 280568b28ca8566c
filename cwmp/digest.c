/*
 * digest.c - HTTP Digest authentication (RFC 7616), server side: nonces
 * made and checked without state, the Authorization header parser, the
 * response computation (MD5, SHA-256 and their -sess variants, qop=auth)
 * and the replay table. OpenSSL supplies the hashes, the HMAC and the
 * randomness. Where the header comes from is connreq.c's business.
 */
#include "digest.h"
#include "cwmp_int.h"

#include "dm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Nonce layout before hex: issue time, random, truncated MAC. 128 bits of
 * MAC are far beyond what an online forger can try. */
#define NONCE_TS_LEN 8
#define NONCE_RAND_LEN 8
#define NONCE_ID_LEN (NONCE_TS_LEN + NONCE_RAND_LEN)
#define NONCE_MAC_LEN 16
#define NONCE_LEN (NONCE_ID_LEN + NONCE_MAC_LEN)
#define NONCE_HEX_LEN (2 * NONCE_LEN)

#define SECRET_LEN 32
#define OPAQUE_LEN 16
/* Nonces dated this far ahead of our clock are not ours (clock skew does
 * not exist: we are the only issuer). */
#define NONCE_FUTURE_SLACK_S 1
/* Longest Authorization value looked at; real ones are a few hundred bytes. */
#define HEADER_MAX 4096

typedef struct seen_nonce {
	uint8_t id[NONCE_ID_LEN];
	uint64_t ts;
	uint32_t nc; /* highest nonce count accepted */
} seen_nonce;

struct cwmp_digest {
	char realm[128];
	uint8_t secret[SECRET_LEN];
	char opaque[2 * OPAQUE_LEN + 1];
	unsigned ttl_s;
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	seen_nonce *seen;
	size_t n_seen, max_seen;
	/* Nonces issued at or before this time and absent from the table may
	 * have been evicted from it: their counts are unknown, so they are
	 * treated as stale rather than trusted afresh. */
	uint64_t floor_ts;
	bool have_floor;
};

/* The fields of an Authorization header we use. */
typedef struct digest_auth {
	char username[257];
	char realm[128];
	char nonce[2 * NONCE_HEX_LEN + 1]; /* room for foreign ones, refused as such */
	char uri[1024];
	char response[CWMP_DIGEST_HEX_MAX];
	char algorithm[20];
	char cnonce[257];
	char opaque[2 * OPAQUE_LEN + 1];
	char qop[16];
	char nc[9];
	char userhash[8];
	char username_ext[257]; /* username*: only its presence matters */
	unsigned seen;        /* bit per field, to refuse duplicates */
} digest_auth;

#define FIELD(name, member) {name, offsetof(digest_auth, member), sizeof(((digest_auth *)0)->member)}
static const struct auth_field {
	const char *name;
	size_t off, size;
} auth_fields[] = {
	FIELD("username", username), FIELD("realm", realm),       FIELD("nonce", nonce),
	FIELD("uri", uri),           FIELD("response", response), FIELD("algorithm", algorithm),
	FIELD("cnonce", cnonce),     FIELD("opaque", opaque),     FIELD("qop", qop),
	FIELD("nc", nc),             FIELD("userhash", userhash), FIELD("username*", username_ext),
};
#undef FIELD
#define N_FIELDS (sizeof auth_fields / sizeof auth_fields[0])

static const struct alg_row {
	const char *name;
	bool sha256, sess;
} alg_rows[] = {
	[CWMP_DIGEST_MD5] = {"MD5", false, false},
	[CWMP_DIGEST_MD5_SESS] = {"MD5-sess", false, true},
	[CWMP_DIGEST_SHA256] = {"SHA-256", true, false},
	[CWMP_DIGEST_SHA256_SESS] = {"SHA-256-sess", true, true},
};
#define N_ALGS (sizeof alg_rows / sizeof alg_rows[0])

static const char *const verdict_texts[] = {
	[0] = "authenticated",
	[-CWMP_DIGEST_MALFORMED] = "malformed Authorization header",
	[-CWMP_DIGEST_UNSUPPORTED] = "unsupported algorithm, qop or userhash",
	[-CWMP_DIGEST_DENIED] = "wrong credentials or foreign nonce",
	[-CWMP_DIGEST_STALE] = "expired nonce",
	[-CWMP_DIGEST_REPLAY] = "replayed nonce count",
	[-CWMP_DIGEST_NOMEM] = "out of memory",
};

const char *cwmp_digest_verdict_text(int v)
{
	if (v > 0 || (size_t)-v >= sizeof verdict_texts / sizeof verdict_texts[0])
		return "unknown verdict";
	return verdict_texts[-v];
}

const char *cwmp_digest_alg_name(cwmp_digest_alg alg)
{
	return (size_t)alg < N_ALGS ? alg_rows[alg].name : "?";
}

int cwmp_digest_alg_parse(const char *token)
{
	for (size_t i = 0; token && i < N_ALGS; i++)
		if (!strcasecmp(token, alg_rows[i].name))
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------------------
 * Hex and clocks
 * ------------------------------------------------------------------------- */

static void to_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n hex digits into n bytes. */
static bool from_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static uint64_t monotonic_s(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint64_t now_s(const cwmp_digest *g)
{
	return g->now(g->now_ctx);
}

/* ---------------------------------------------------------------------------
 * Hashing
 * ------------------------------------------------------------------------- */

/* H(parts joined by ':') as lower-case hex. */
static int hash_join(bool sha256, const char *const *parts, size_t n, char *hex)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, sha256 ? EVP_sha256() : EVP_md5(), NULL);

	for (size_t i = 0; ok && i < n; i++) {
		if (i)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		ok = ok && EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return DM_ERR_INTERNAL;
	to_hex(md, md_len, hex);
	return DM_OK;
}

int cwmp_digest_response(cwmp_digest_alg alg, const char *username, const char *realm, const char *password,
			 const char *method, const char *uri, const char *nonce, const char *nc,
			 const char *cnonce, char *out, size_t n)
{
	char ha1[CWMP_DIGEST_HEX_MAX], ha2[CWMP_DIGEST_HEX_MAX];

	if ((size_t)alg >= N_ALGS)
		return DM_ERR_INVALID_VALUE;
	bool sha = alg_rows[alg].sha256;
	if (n < (sha ? 65u : 33u))
		return DM_ERR_NOMEM;
	const char *a1[] = {username, realm, password};
	if (hash_join(sha, a1, 3, ha1))
		return DM_ERR_INTERNAL;
	if (alg_rows[alg].sess) {
		char base[CWMP_DIGEST_HEX_MAX];
		memcpy(base, ha1, sizeof base);
		const char *s1[] = {base, nonce, cnonce};
		if (hash_join(sha, s1, 3, ha1))
			return DM_ERR_INTERNAL;
	}
	const char *a2[] = {method, uri};
	if (hash_join(sha, a2, 2, ha2))
		return DM_ERR_INTERNAL;
	const char *kd[] = {ha1, nonce, nc, cnonce, "auth", ha2};
	return hash_join(sha, kd, 6, out);
}

/* ---------------------------------------------------------------------------
 * Nonces
 * ------------------------------------------------------------------------- */

static int nonce_mac(const cwmp_digest *g, const uint8_t id[NONCE_ID_LEN], uint8_t mac[NONCE_MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!HMAC(EVP_sha256(), g->secret, SECRET_LEN, id, NONCE_ID_LEN, full, &len) || len < NONCE_MAC_LEN)
		return DM_ERR_INTERNAL;
	memcpy(mac, full, NONCE_MAC_LEN);
	return DM_OK;
}

static int nonce_make(const cwmp_digest *g, char hex[NONCE_HEX_LEN + 1])
{
	uint8_t raw[NONCE_LEN];
	uint64_t ts = now_s(g);

	for (int i = 0; i < NONCE_TS_LEN; i++)
		raw[i] = (uint8_t)(ts >> (8 * (NONCE_TS_LEN - 1 - i)));
	if (cwmp_random_bytes(raw + NONCE_TS_LEN, NONCE_RAND_LEN) != 1 || nonce_mac(g, raw, raw + NONCE_ID_LEN))
		return DM_ERR_INTERNAL;
	to_hex(raw, NONCE_LEN, hex);
	return DM_OK;
}

/* Is this a nonce we issued? Its id and issue time on success. */
static bool nonce_check(const cwmp_digest *g, const char *hex, uint8_t id[NONCE_ID_LEN], uint64_t *ts)
{
	uint8_t raw[NONCE_LEN], mac[NONCE_MAC_LEN];

	if (!from_hex(hex, raw, NONCE_LEN) || nonce_mac(g, raw, mac))
		return false;
	if (CRYPTO_memcmp(mac, raw + NONCE_ID_LEN, NONCE_MAC_LEN))
		return false;
	*ts = 0;
	for (int i = 0; i < NONCE_TS_LEN; i++)
		*ts = *ts << 8 | raw[i];
	memcpy(id, raw, NONCE_ID_LEN);
	return *ts <= now_s(g) + NONCE_FUTURE_SLACK_S;
}

/* ---------------------------------------------------------------------------
 * The replay table
 * ------------------------------------------------------------------------- */

static seen_nonce *seen_find(cwmp_digest *g, const uint8_t id[NONCE_ID_LEN])
{
	for (size_t i = 0; i < g->n_seen; i++)
		if (!memcmp(g->seen[i].id, id, NONCE_ID_LEN))
			return &g->seen[i];
	return NULL;
}

/* Room for one more: the oldest-issued entry goes, and the floor rises to
 * its issue time. */
static seen_nonce *seen_slot(cwmp_digest *g)
{
	if (g->n_seen < g->max_seen)
		return &g->seen[g->n_seen++];
	size_t old = 0;
	for (size_t i = 1; i < g->n_seen; i++)
		if (g->seen[i].ts < g->seen[old].ts)
			old = i;
	if (!g->have_floor || g->seen[old].ts > g->floor_ts)
		g->floor_ts = g->seen[old].ts;
	g->have_floor = true;
	return &g->seen[old];
}

/* Accept nc for this nonce if it is higher than any accepted before. */
static int seen_accept(cwmp_digest *g, const uint8_t id[NONCE_ID_LEN], uint64_t ts, uint32_t nc)
{
	seen_nonce *s = seen_find(g, id);

	if (s) {
		if (nc <= s->nc)
			return CWMP_DIGEST_REPLAY;
		s->nc = nc;
		return CWMP_DIGEST_OK;
	}
	if (g->have_floor && ts <= g->floor_ts)
		return CWMP_DIGEST_STALE;
	s = seen_slot(g);
	memcpy(s->id, id, NONCE_ID_LEN);
	s->ts = ts;
	s->nc = nc;
	return CWMP_DIGEST_OK;
}

/* ---------------------------------------------------------------------------
 * Parsing the Authorization header (RFC 7616 3.4, RFC 9110 11.4)
 * ------------------------------------------------------------------------- */

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted-string value into out (size n); the next position, or
 * NULL when malformed or too long. */
static const char *parse_value(const char *p, char *out, size_t n)
{
	size_t len = 0;

	if (*p != '"') {
		while (is_tchar(*p)) {
			if (len + 1 >= n)
				return NULL;
			out[len++] = *p++;
		}
		out[len] = '\0';
		return len ? p : NULL;
	}
	for (p++; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		unsigned char c = (unsigned char)*p;
		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f || len + 1 >= n)
			return NULL;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return p + 1;
}

/* Store one name=value pair; unknown names are skipped (with a bounded
 * scratch buffer: their length still counts against HEADER_MAX). */
static const char *parse_param(const char *p, digest_auth *a)
{
	char name[32], scratch[HEADER_MAX];
	size_t len = 0;

	while (is_tchar(*p)) {
		if (len + 1 >= sizeof name)
			return NULL;
		name[len++] = *p++;
	}
	name[len] = '\0';
	if (!len)
		return NULL;
	p = skip_ows(p);
	if (*p++ != '=')
		return NULL;
	p = skip_ows(p);
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (strcasecmp(name, auth_fields[i].name))
			continue;
		if (a->seen & (1u << i))
			return NULL; /* a repeated field is ambiguous */
		a->seen |= 1u << i;
		return parse_value(p, (char *)a + auth_fields[i].off, auth_fields[i].size);
	}
	return parse_value(p, scratch, sizeof scratch);
}

static int parse_header(const char *h, digest_auth *a)
{
	memset(a, 0, sizeof *a);
	if (strnlen(h, HEADER_MAX + 1) > HEADER_MAX)
		return CWMP_DIGEST_MALFORMED;
	const char *p = skip_ows(h);
	if (strncasecmp(p, "Digest", 6) || (p[6] != ' ' && p[6] != '\t'))
		return CWMP_DIGEST_MALFORMED;
	p += 6;
	for (;;) {
		p = skip_ows(p);
		while (*p == ',')
			p = skip_ows(p + 1);
		if (!*p)
			break;
		if (!(p = parse_param(p, a)))
			return CWMP_DIGEST_MALFORMED;
		p = skip_ows(p);
		if (*p && *p != ',')
			return CWMP_DIGEST_MALFORMED;
	}
	return CWMP_DIGEST_OK;
}

static bool has(const digest_auth *a, const char *name)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (!strcmp(auth_fields[i].name, name))
			return a->seen & (1u << i);
	return false;
}

/* RFC 7616 3.4: the fields a qop=auth response carries. */
static int check_fields(const digest_auth *a)
{
	static const char *const required[] = {"username", "realm", "nonce", "uri", "response", "qop", "nc",
					       "cnonce"};

	if (has(a, "username*") || (has(a, "userhash") && strcasecmp(a->userhash, "false")))
		return CWMP_DIGEST_UNSUPPORTED;
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!has(a, required[i]))
			return CWMP_DIGEST_MALFORMED;
	if (strcasecmp(a->qop, "auth"))
		return CWMP_DIGEST_UNSUPPORTED;
	if (has(a, "algorithm") && cwmp_digest_alg_parse(a->algorithm) < 0)
		return CWMP_DIGEST_UNSUPPORTED;
	return CWMP_DIGEST_OK;
}

/* nc is exactly 8 hex digits, and counts from 1. */
static bool parse_nc(const char *s, uint32_t *nc)
{
	uint8_t b[4];

	if (!from_hex(s, b, 4))
		return false;
	*nc = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return *nc != 0;
}

/* Equal strings, in time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && !CRYPTO_memcmp(a, b, n);
}

/* The uri field's path (its query is not ours to judge) is the request's. */
static bool uri_matches(const char *uri, const char *path)
{
	size_t n = strcspn(uri, "?");

	return n == strlen(path) && !memcmp(uri, path, n);
}

/* ---------------------------------------------------------------------------
 * Verifier
 * ------------------------------------------------------------------------- */

static bool realm_ok(const char *realm)
{
	if (!realm || !*realm || strlen(realm) >= sizeof(((cwmp_digest *)0)->realm))
		return false;
	for (const unsigned char *p = (const unsigned char *)realm; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

int cwmp_digest_new(const cwmp_digest_opts *opts, cwmp_digest **out)
{
	uint8_t op[OPAQUE_LEN];

	if (!opts || !realm_ok(opts->realm))
		return DM_ERR_INVALID_VALUE;
	cwmp_digest *g = calloc(1, sizeof *g);
	if (!g)
		return DM_ERR_NOMEM;
	g->max_seen = opts->max_nonces ? opts->max_nonces : CWMP_DIGEST_SEEN_DEFAULT;
	g->seen = calloc(g->max_seen, sizeof *g->seen);
	if (!g->seen) {
		free(g);
		return DM_ERR_NOMEM;
	}
	if (cwmp_random_bytes(g->secret, SECRET_LEN) != 1 || cwmp_random_bytes(op, OPAQUE_LEN) != 1) {
		cwmp_digest_free(g);
		return DM_ERR_INTERNAL;
	}
	to_hex(op, OPAQUE_LEN, g->opaque);
	snprintf(g->realm, sizeof g->realm, "%s", opts->realm);
	g->ttl_s = opts->nonce_ttl_s ? opts->nonce_ttl_s : CWMP_DIGEST_TTL_DEFAULT;
	g->now = opts->now ? opts->now : monotonic_s;
	g->now_ctx = opts->now_ctx;
	*out = g;
	return DM_OK;
}

void cwmp_digest_free(cwmp_digest *g)
{
	if (!g)
		return;
	OPENSSL_cleanse(g->secret, SECRET_LEN);
	free(g->seen);
	free(g);
}

int cwmp_digest_challenge(cwmp_digest *g, cwmp_digest_alg alg, bool stale, char *buf, size_t n)
{
	char nonce[NONCE_HEX_LEN + 1];

	if ((size_t)alg >= N_ALGS)
		return DM_ERR_INVALID_VALUE;
	if (nonce_make(g, nonce))
		return DM_ERR_INTERNAL;
	int len = snprintf(buf, n, "Digest realm=\"%s\", qop=\"auth\", algorithm=%s, nonce=\"%s\", opaque=\"%s\"%s",
			   g->realm, alg_rows[alg].name, nonce, g->opaque, stale ? ", stale=true" : "");
	return len < 0 || (size_t)len >= n ? DM_ERR_NOMEM : DM_OK;
}

/* Response hex digits as the client sent them, lower-cased for comparison. */
static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int cwmp_digest_verify(cwmp_digest *g, const char *header, const char *method, const char *path,
		       const char *username, const char *password)
{
	digest_auth a;
	char want[CWMP_DIGEST_HEX_MAX];
	uint8_t id[NONCE_ID_LEN];
	uint64_t ts;
	uint32_t nc;

	if (!g || !header || !method || !path || !username || !password)
		return CWMP_DIGEST_MALFORMED;
	int rc = parse_header(header, &a);
	if (rc == CWMP_DIGEST_OK)
		rc = check_fields(&a);
	if (rc != CWMP_DIGEST_OK)
		return rc;
	if (!parse_nc(a.nc, &nc))
		return CWMP_DIGEST_MALFORMED;
	int alg = has(&a, "algorithm") ? cwmp_digest_alg_parse(a.algorithm) : CWMP_DIGEST_MD5;
	if (strcmp(a.realm, g->realm) || !uri_matches(a.uri, path) ||
	    (has(&a, "opaque") && strcmp(a.opaque, g->opaque)) || !nonce_check(g, a.nonce, id, &ts))
		return CWMP_DIGEST_DENIED;
	if (cwmp_digest_response((cwmp_digest_alg)alg, username, g->realm, password, method, a.uri, a.nonce,
				 a.nc, a.cnonce, want, sizeof want))
		return CWMP_DIGEST_NOMEM;
	lower(a.response);
	/* Both comparisons always run, so timing does not tell which failed. */
	bool user_ok = same_secret(a.username, username);
	bool resp_ok = same_secret(a.response, want);
	OPENSSL_cleanse(want, sizeof want);
	if (!user_ok || !resp_ok)
		return CWMP_DIGEST_DENIED;
	uint64_t now = now_s(g);
	if (now > ts && now - ts > g->ttl_s)
		return CWMP_DIGEST_STALE;
	return seen_accept(g, id, ts, nc);
}
