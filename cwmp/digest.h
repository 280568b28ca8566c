/*
 * digest.h - HTTP Digest authentication (RFC 7616), server side, as the
 * Connection Request listener needs it: challenges, parsing of an
 * Authorization header, and verification of its response. Knows no socket
 * and no HTTP library; connreq.c feeds it header values.
 *
 * Nonces are stateless: hex(issue time || random || HMAC-SHA256 of both
 * under a secret drawn when the verifier is made, truncated), so any nonce
 * can be checked for authenticity and age without remembering it. Replays
 * are caught by a small table of the nonces that authenticated recently,
 * each with the highest nonce count accepted for it.
 */
#ifndef DUET_CWMP_DIGEST_H
#define DUET_CWMP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cwmp_digest cwmp_digest;

typedef enum cwmp_digest_alg {
	CWMP_DIGEST_MD5,
	CWMP_DIGEST_MD5_SESS,
	CWMP_DIGEST_SHA256,
	CWMP_DIGEST_SHA256_SESS,
} cwmp_digest_alg;

/* What verification concluded. Only CWMP_DIGEST_OK authenticates. */
typedef enum cwmp_digest_verdict {
	CWMP_DIGEST_OK = 0,
	CWMP_DIGEST_MALFORMED = -1,   /* not a well-formed Digest header, or fields missing */
	CWMP_DIGEST_UNSUPPORTED = -2, /* algorithm, qop or userhash we do not offer */
	CWMP_DIGEST_DENIED = -3,      /* wrong credentials, realm, uri or opaque, or a nonce not ours */
	CWMP_DIGEST_STALE = -4,       /* right credentials on an expired nonce: challenge with stale=true */
	CWMP_DIGEST_REPLAY = -5,      /* nonce count not above the last one accepted for this nonce */
	CWMP_DIGEST_NOMEM = -6,
} cwmp_digest_verdict;

/* Static text for a verdict ("replayed nonce count"). */
const char *cwmp_digest_verdict_text(int v);

typedef struct cwmp_digest_opts {
	/* Realm announced and required; no '"', '\\' or control characters. */
	const char *realm;
	/* Nonce lifetime in seconds; 0: CWMP_DIGEST_TTL_DEFAULT. */
	unsigned nonce_ttl_s;
	/* Nonces remembered for replay detection; 0: CWMP_DIGEST_SEEN_DEFAULT. */
	size_t max_nonces;
	/* Clock in seconds (tests); NULL: CLOCK_MONOTONIC. */
	uint64_t (*now)(void *ctx);
	void *now_ctx;
} cwmp_digest_opts;

#define CWMP_DIGEST_TTL_DEFAULT 300
#define CWMP_DIGEST_SEEN_DEFAULT 64

/* Make a verifier with a fresh random secret and opaque. 0, DM_ERR_NOMEM,
 * DM_ERR_INVALID_VALUE (bad realm) or DM_ERR_INTERNAL (no randomness). */
int cwmp_digest_new(const cwmp_digest_opts *opts, cwmp_digest **out);
void cwmp_digest_free(cwmp_digest *g);

/*
 * The value of one WWW-Authenticate header offering alg with a fresh nonce:
 * `Digest realm="...", qop="auth", algorithm=SHA-256, nonce="...",
 * opaque="..."` and `, stale=true` when stale. 0, or DM_ERR_NOMEM when buf
 * (CWMP_DIGEST_CHALLENGE_MAX is enough) is too small, DM_ERR_INTERNAL.
 */
int cwmp_digest_challenge(cwmp_digest *g, cwmp_digest_alg alg, bool stale, char *buf, size_t n);
#define CWMP_DIGEST_CHALLENGE_MAX 512

/*
 * Check an Authorization header value ("Digest username=..., ...") for a
 * request with this method ("GET", "HEAD") and request path (no query),
 * against the expected username and password. qop=auth only; the uri
 * field's path must equal path (its query, if any, is hashed but not
 * compared); opaque, when returned, must be ours. On CWMP_DIGEST_OK the
 * nonce count is recorded so that the same request cannot be replayed.
 * Never reads beyond the NUL of any argument; any NULL argument gives
 * CWMP_DIGEST_MALFORMED.
 */
int cwmp_digest_verify(cwmp_digest *g, const char *header, const char *method, const char *path,
		       const char *username, const char *password);

/*
 * The response a client computes (RFC 7616 3.4.1, qop=auth), as lower-case
 * hex into out (CWMP_DIGEST_HEX_MAX is enough). For tests and for
 * verification. 0 or DM_ERR_NOMEM (out too small), DM_ERR_INTERNAL.
 */
int cwmp_digest_response(cwmp_digest_alg alg, const char *username, const char *realm, const char *password,
			 const char *method, const char *uri, const char *nonce, const char *nc,
			 const char *cnonce, char *out, size_t n);
#define CWMP_DIGEST_HEX_MAX 65

/* The algorithm token ("SHA-256-sess") for alg, and back (any case); -1
 * when the token names none. */
const char *cwmp_digest_alg_name(cwmp_digest_alg alg);
int cwmp_digest_alg_parse(const char *token);

#endif /* DUET_CWMP_DIGEST_H */
