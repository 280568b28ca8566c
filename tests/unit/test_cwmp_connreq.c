/*
 * test_cwmp_connreq.c - the Connection Request listener on a real engine
 * and the core loop, on an ephemeral port: the published URL, Digest
 * through libcurl (SHA-256, the first challenge) and by hand over a raw
 * socket (MD5, and a replayed header), wrong credentials, paths and
 * methods, both rate limits, and HTTPConnectionRequestEnable / EnableCWMP
 * followed at run time. The client runs in a thread of its own while the
 * main thread turns the loop; it records what it saw and the main thread
 * asserts once it is done.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "connreq.h"
#include "digest.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* datamodel/factory-defaults.txt */
#define CR_USER "DG0000000001"
#define CR_PASS "duet-cr"
#define P_URL "Device.ManagementServer.ConnectionRequestURL"
#define MAX_RESULTS 64

typedef struct fixture fixture;
typedef void (*client_fn)(fixture *f);

struct fixture {
	char dir[64];
	dm_schema *schema;
	dm *d;
	core_loop *loop;
	cwmp_agent a;
	cwmp_connreq *cr;
	char url[320];
	char path[64];
	unsigned port;
	/* the client thread's findings */
	client_fn client;
	uv_async_t done;
	long status[MAX_RESULTS];
	size_t n_status;
	char text[4][2048]; /* raw answers kept for inspection */
};

static int hook_calls;

static void count_hook(cwmp_agent *a)
{
	(void)a;
	hook_calls++;
}

/* "http://HOST:PORT/PATH" into its port and path. */
static void parse_url(fixture *f)
{
	char host[64];

	snprintf(f->url, sizeof f->url, "%s", cwmp_connreq_url(f->cr));
	if (sscanf(f->url, "http://%63[^/]", host) != 1)
		fail_msg("URL %s", f->url);
	char *colon = strrchr(host, ':');
	assert_non_null(colon);
	f->port = (unsigned)atoi(colon + 1);
	assert_true(f->port > 0 && f->port < 65536);
	const char *p = strchr(f->url + 7, '/');
	assert_non_null(p);
	snprintf(f->path, sizeof f->path, "%s", p);
}

static int start_listener(fixture *f, const char *address)
{
	f->a.cr_address = (char *)address;
	int rc = cwmp_connreq_start(&f->a, &f->cr);
	if (rc == DM_OK)
		parse_url(f);
	return rc;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-connreq-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (dm_schema_load("datamodel/device2.xml", &f->schema, &err))
		fail_msg("schema: %s", err.msg);
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	if (dm_open(f->schema, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	f->a.d = f->d;
	f->a.loop = f->loop;
	f->a.cr_port = -1;
	f->a.connection_request = count_hook;
	hook_calls = 0;
	assert_int_equal(start_listener(f, "127.0.0.1"), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	cwmp_connreq_stop(f->cr);
	core_loop_free(f->loop);
	dm_close(f->d);
	dm_schema_free(f->schema);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Running a client thread against the loop
 * ------------------------------------------------------------------------- */

static void on_client_done(uv_async_t *h)
{
	core_loop_stop(((fixture *)h->data)->loop);
}

static void *client_main(void *arg)
{
	fixture *f = arg;

	f->client(f);
	uv_async_send(&f->done);
	return NULL;
}

static void run_client(fixture *f, client_fn fn)
{
	pthread_t th;

	f->n_status = 0;
	f->client = fn;
	assert_int_equal(uv_async_init(core_loop_uv(f->loop), &f->done, on_client_done), 0);
	f->done.data = f;
	assert_int_equal(pthread_create(&th, NULL, client_main, f), 0);
	core_loop_run(f->loop);
	assert_int_equal(pthread_join(th, NULL), 0);
	uv_close((uv_handle_t *)&f->done, NULL);
	uv_run(core_loop_uv(f->loop), UV_RUN_NOWAIT);
}

static void record(fixture *f, long status)
{
	if (f->n_status < MAX_RESULTS)
		f->status[f->n_status++] = status;
}

/* Let deferred work (a changed setting) run. */
static void turn_loop(fixture *f)
{
	for (int i = 0; i < 5; i++)
		uv_run(core_loop_uv(f->loop), UV_RUN_NOWAIT);
}

/* ---------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------- */

typedef struct get_opts {
	const char *url;  /* NULL: the fixture's */
	const char *user; /* NULL: no credentials */
	const char *pass;
	bool head, post;
} get_opts;

/* The final status of one libcurl exchange (Digest takes two requests);
 * 0 when no answer came (connection refused). */
static long curl_get(fixture *f, const get_opts *o)
{
	CURL *h = curl_easy_init();
	long code = 0;

	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, o->url ? o->url : f->url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L); /* a hung server fails the test, not the suite */
	if (o->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->pass);
	}
	if (o->head)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (o->post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "ignored=1");
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

static long good_get(fixture *f)
{
	return curl_get(f, &(get_opts){.user = CR_USER, .pass = CR_PASS});
}

/* One request on a fresh connection; the answer's head into out. Returns
 * the status, 0 when the connection failed. */
static long raw_request(fixture *f, const char *req, char *out, size_t n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	size_t len = 0;
	long status = 0;

	out[0] = '\0';
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
		/* every answer is headers only */
		while (len + 1 < n && !strstr(out, "\r\n\r\n")) {
			ssize_t r = recv(fd, out + len, n - 1 - len, 0);
			if (r <= 0)
				break;
			len += (size_t)r;
			out[len] = '\0';
		}
		sscanf(out, "HTTP/1.1 %ld", &status);
	}
	close(fd);
	return status;
}

/* The quoted value of name="..." inside the n-th WWW-Authenticate header. */
static bool challenge_field(const char *answer, int nth, const char *name, char *out, size_t n)
{
	const char *p = answer;
	char key[32];

	for (int i = 0; i <= nth; i++) {
		p = strcasestr(p, "\nwww-authenticate:");
		if (!p)
			return false;
		p++;
	}
	const char *eol = strstr(p, "\r\n");
	snprintf(key, sizeof key, "%s=\"", name);
	const char *v = strstr(p, key);
	if (!v || (eol && v > eol))
		return false;
	v += strlen(key);
	size_t len = strcspn(v, "\"");
	if (len >= n)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

/* ---------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------- */

static bool all_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == strlen(s);
}

static void test_url_published(void **state)
{
	fixture *f = *state;
	char *v = NULL;

	assert_true(!strncmp(f->url, "http://127.0.0.1:", 17));
	assert_int_equal(strlen(f->path), 20);
	assert_true(!strncmp(f->path, "/cr-", 4) && all_hex(f->path + 4));
	assert_int_equal(dm_get_value(f->d, NULL, P_URL, &v, NULL), DM_OK);
	assert_string_equal(v, f->url);
	free(v);

	/* the path is made once: a restart keeps it */
	char path[64];
	snprintf(path, sizeof path, "%s", f->path);
	cwmp_connreq_stop(f->cr);
	f->cr = NULL;
	assert_int_equal(start_listener(f, "127.0.0.1"), DM_OK);
	assert_string_equal(f->path, path);
}

static void client_good(fixture *f)
{
	record(f, good_get(f));
	record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = CR_PASS, .head = true}));
}

/* The URL's port is the bound one: the ACS reaches us through it. */
static void test_good_credentials(void **state)
{
	fixture *f = *state;

	run_client(f, client_good);
	assert_int_equal(f->n_status, 2);
	assert_int_equal(f->status[0], 200);
	assert_int_equal(f->status[1], 200); /* HEAD too */
	assert_int_equal(hook_calls, 2);
}

static void client_wrong(fixture *f)
{
	record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = "not-the-password"}));
	record(f, curl_get(f, &(get_opts){.user = "someone", .pass = CR_PASS}));
	record(f, curl_get(f, &(get_opts){0}));
}

static void test_wrong_credentials(void **state)
{
	fixture *f = *state;

	run_client(f, client_wrong);
	assert_int_equal(f->n_status, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(f->status[i], 401);
	assert_int_equal(hook_calls, 0);
}

static void client_paths(fixture *f)
{
	char url[400];

	snprintf(url, sizeof url, "http://127.0.0.1:%u/other", f->port);
	record(f, curl_get(f, &(get_opts){.url = url, .user = CR_USER, .pass = CR_PASS}));
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s/x", f->port, f->path);
	record(f, curl_get(f, &(get_opts){.url = url, .user = CR_USER, .pass = CR_PASS}));
	record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = CR_PASS, .post = true}));
	/* a query is ignored, and the Digest uri carrying it still matches */
	snprintf(url, sizeof url, "%s?from=acs", f->url);
	record(f, curl_get(f, &(get_opts){.url = url, .user = CR_USER, .pass = CR_PASS}));
}

static void test_wrong_path_and_method(void **state)
{
	fixture *f = *state;

	run_client(f, client_paths);
	assert_int_equal(f->n_status, 4);
	assert_int_equal(f->status[0], 404);
	assert_int_equal(f->status[1], 404);
	assert_int_equal(f->status[2], 405);
	assert_int_equal(f->status[3], 200);
	assert_int_equal(hook_calls, 1);
}

/* An MD5 exchange by hand; the same Authorization header sent again is a
 * replay and is refused. */
static void client_replay(fixture *f)
{
	char req[2048], auth[1024], nonce[256], opaque[128], realm[128], resp[CWMP_DIGEST_HEX_MAX];

	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", f->path);
	record(f, raw_request(f, req, f->text[0], sizeof f->text[0]));
	if (!challenge_field(f->text[0], 1, "nonce", nonce, sizeof nonce) ||
	    !challenge_field(f->text[0], 1, "opaque", opaque, sizeof opaque) ||
	    !challenge_field(f->text[0], 1, "realm", realm, sizeof realm))
		return;
	if (cwmp_digest_response(CWMP_DIGEST_MD5, CR_USER, realm, CR_PASS, "GET", f->path, nonce, "00000001",
				 "c0ffee", resp, sizeof resp))
		return;
	snprintf(auth, sizeof auth,
		 "Digest username=\"" CR_USER "\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", algorithm=MD5, "
		 "response=\"%s\", opaque=\"%s\", qop=auth, nc=00000001, cnonce=\"c0ffee\"",
		 realm, nonce, f->path, resp, opaque);
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n\r\n", f->path, auth);
	record(f, raw_request(f, req, f->text[1], sizeof f->text[1]));
	record(f, raw_request(f, req, f->text[2], sizeof f->text[2]));
}

static void test_replayed_header_refused(void **state)
{
	fixture *f = *state;

	run_client(f, client_replay);
	assert_int_equal(f->n_status, 3);
	assert_int_equal(f->status[0], 401);
	/* two challenges, SHA-256 first */
	const char *first = strcasestr(f->text[0], "\nwww-authenticate: Digest");
	assert_non_null(first);
	const char *second = strcasestr(first + 1, "\nwww-authenticate: Digest");
	assert_non_null(second);
	assert_non_null(strstr(first, "algorithm=SHA-256"));
	assert_true(strstr(first, "algorithm=SHA-256") < second);
	assert_non_null(strstr(second, "algorithm=MD5"));
	assert_non_null(strcasestr(f->text[0], "content-length: 0"));
	assert_int_equal(f->status[1], 200);
	assert_non_null(strcasestr(f->text[1], "content-length: 0"));
	assert_int_equal(f->status[2], 401);
	assert_int_equal(hook_calls, 1);
}

static void client_burst(fixture *f)
{
	for (int i = 0; i < 6; i++)
		record(f, good_get(f));
}

static void test_accept_rate_limit(void **state)
{
	fixture *f = *state;

	run_client(f, client_burst);
	assert_int_equal(f->n_status, 6);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f->status[i], 200);
	assert_int_equal(f->status[5], 503);
	assert_int_equal(hook_calls, 5);
}

static void client_guessing(fixture *f)
{
	for (int i = 0; i < 30; i++)
		record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = "guess"}));
	record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = "guess"}));
	record(f, good_get(f));
}

/* Thirty failed authentications lock everyone out for the window: the
 * thirty-first guess, and even the right password, get 503. */
static void test_failure_rate_limit(void **state)
{
	fixture *f = *state;

	run_client(f, client_guessing);
	assert_int_equal(f->n_status, 32);
	for (size_t i = 0; i < 30; i++)
		assert_int_equal(f->status[i], 401);
	assert_int_equal(f->status[30], 503);
	assert_int_equal(f->status[31], 503);
	assert_int_equal(hook_calls, 0);
}

static void set_param(fixture *f, const char *path, const char *value)
{
	dm_origin o = {.kind = DM_ORIGIN_CWMP, .who = "http://acs.example/"};
	dm_errinfo err = {0};
	dm_txn *t;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	if (dm_set(t, path, value, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	turn_loop(f);
}

static bool port_refuses(fixture *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(fd);
	return rc != 0 && e == ECONNREFUSED;
}

static void client_one_good(fixture *f)
{
	record(f, good_get(f));
}

/* Either switch closes the port and empties the URL; switching back
 * reopens it on the same port. */
static void test_enable_switches(void **state)
{
	static const char *const switches[] = {"Device.ManagementServer.HTTPConnectionRequestEnable",
					       "Device.ManagementServer.EnableCWMP"};
	fixture *f = *state;
	char url[320], *v = NULL;

	snprintf(url, sizeof url, "%s", f->url);
	for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
		set_param(f, switches[i], "false");
		assert_string_equal(cwmp_connreq_url(f->cr), "");
		assert_int_equal(dm_get_value(f->d, NULL, P_URL, &v, NULL), DM_OK);
		assert_string_equal(v, "");
		free(v);
		assert_true(port_refuses(f));

		set_param(f, switches[i], "true");
		assert_string_equal(cwmp_connreq_url(f->cr), url);
		assert_int_equal(dm_get_value(f->d, NULL, P_URL, &v, NULL), DM_OK);
		assert_string_equal(v, url);
		free(v);
		run_client(f, client_one_good);
		assert_int_equal(f->status[0], 200);
	}
	assert_int_equal(hook_calls, 2);
}

static int connect_port(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* Has the server closed its end (EOF waiting)? */
static bool peer_closed(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}

/* Closing the port drops the connections it accepted, and so does
 * stopping the listener. */
static void test_open_connections_dropped(void **state)
{
	fixture *f = *state;

	int fd = connect_port(f->port);
	turn_loop(f); /* accepted and handed to lws */
	assert_false(peer_closed(fd));
	set_param(f, "Device.ManagementServer.HTTPConnectionRequestEnable", "false");
	turn_loop(f);
	assert_true(peer_closed(fd));
	close(fd);

	set_param(f, "Device.ManagementServer.HTTPConnectionRequestEnable", "true");
	fd = connect_port(f->port);
	turn_loop(f);
	cwmp_connreq_stop(f->cr);
	f->cr = NULL;
	turn_loop(f);
	assert_true(peer_closed(fd));
	close(fd);
}

/* Credentials are read at each request: a change applies at once, and an
 * empty username refuses everything. */
static void client_old_and_new(fixture *f)
{
	record(f, good_get(f));
	record(f, curl_get(f, &(get_opts){.user = CR_USER, .pass = "fresh secret"}));
}

static void test_credentials_follow_the_model(void **state)
{
	fixture *f = *state;

	set_param(f, "Device.ManagementServer.ConnectionRequestPassword", "fresh secret");
	run_client(f, client_old_and_new);
	assert_int_equal(f->status[0], 401);
	assert_int_equal(f->status[1], 200);
	assert_int_equal(hook_calls, 1);

	set_param(f, "Device.ManagementServer.ConnectionRequestUsername", "");
	run_client(f, client_old_and_new);
	assert_int_equal(f->status[0], 401);
	assert_int_equal(f->status[1], 401);
	assert_int_equal(hook_calls, 1);
}

/* No address: every interface; the URL names a real one, and loopback
 * reaches the same port. */
static void test_wildcard_address(void **state)
{
	fixture *f = *state;
	char url[sizeof f->url];

	cwmp_connreq_stop(f->cr);
	f->cr = NULL;
	assert_int_equal(start_listener(f, NULL), DM_OK);
	assert_true(!strncmp(f->url, "http://", 7));
	assert_null(strstr(f->url, "0.0.0.0"));
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port, f->path);
	snprintf(f->url, sizeof f->url, "%s", url);
	run_client(f, client_one_good);
	assert_int_equal(f->status[0], 200);
	assert_int_equal(hook_calls, 1);
}

/* A port out of range is an error; a port someone else holds is not: the
 * agent runs on without Connection Requests, and the URL says so. */
static void test_unusable_ports(void **state)
{
	fixture *f = *state;
	cwmp_agent a = f->a;
	cwmp_connreq *c = NULL;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	char *v = NULL;

	a.cr_port = 70000;
	assert_int_equal(cwmp_connreq_start(&a, &c), DM_ERR_INVALID_VALUE);
	assert_null(c);
	assert_string_equal(cwmp_connreq_url(NULL), "");

	cwmp_connreq_stop(f->cr);
	f->cr = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	a.cr_port = ntohs(sa.sin_port);
	assert_int_equal(cwmp_connreq_start(&a, &c), DM_OK);
	assert_string_equal(cwmp_connreq_url(c), "");
	assert_int_equal(dm_get_value(f->d, NULL, P_URL, &v, NULL), DM_OK);
	assert_string_equal(v, "");
	free(v);
	cwmp_connreq_stop(c);
	close(fd);
}

/* Garbage in the Authorization header earns a 401, an oversized request
 * whatever lws says, and the listener carries on. */
static void client_garbage(fixture *f)
{
	static const char *const auths[] = {
		"Digest",
		"Digest username=\"unterminated",
		"Digest ,,,,=,=\"\\",
		"Basic RzAwMDAwMDAwMDE6ZHVldC1jcg==",
		"Digest username=\"DG0000000001\", realm=\"duet Connection Request\", nonce=\"00\", uri=\"/\", "
		"qop=auth, nc=00000001, cnonce=\"x\", response=\"00\"",
	};
	char req[12000];

	for (size_t i = 0; i < sizeof auths / sizeof auths[0]; i++) {
		snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", f->path, auths[i]);
		record(f, raw_request(f, req, f->text[0], sizeof f->text[0]));
	}
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Digest username=\"", f->path);
	memset(req + n, 'A', 10000);
	snprintf(req + n + 10000, sizeof req - (size_t)n - 10000, "\"\r\n\r\n");
	record(f, raw_request(f, req, f->text[0], sizeof f->text[0]));
	record(f, good_get(f));
}

static void test_garbage_on_the_wire(void **state)
{
	fixture *f = *state;

	run_client(f, client_garbage);
	assert_int_equal(f->n_status, 7);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(f->status[i], 401);
	assert_true(f->status[5] != 200);
	assert_int_equal(f->status[6], 200);
	assert_int_equal(hook_calls, 1);
}

static int group_setup(void **state)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_url_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_path_and_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replayed_header_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_switches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_connections_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_follow_the_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_on_the_wire, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
