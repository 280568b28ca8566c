/*
 * test_mapping_diag.c - diagnostics from either door (mapping/diag*.c) on a
 * real engine (bundled datamodel/device2.xml) and a real loop: the runner
 * alone (ICMP echo of 127.0.0.1, a name that does not resolve, an HTTP GET
 * from a small server thread of this test: byte counts, instants, error
 * states, one test of a kind at a time), the CWMP door (inputs and
 * DiagnosticsState=Requested in a CWMP transaction end in Complete and
 * results; an input written afterwards or during the wait resets to None;
 * Requested again, even unchanged, starts over; a restart drops a request;
 * managers may write nothing but Requested), the USP door (dm_operate of
 * IPPing() completes with its output arguments and leaves the CWMP object
 * alone), and cwmp/diag_events.c (8 DIAGNOSTICS COMPLETE only for a test
 * the ACS requested).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diag.h"
#include "diag_events.h"
#include "loop_wait.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PING "Device.IP.Diagnostics.IPPing."
#define DL "Device.IP.Diagnostics.DownloadDiagnostics."
#define UL "Device.IP.Diagnostics.UploadDiagnostics."
#define TR "Device.IP.Diagnostics.TraceRoute."
#define NS "Device.DNS.Diagnostics.NSLookupDiagnostics."
#define SS "Device.IP.Diagnostics.ServerSelectionDiagnostics."
#define UE "Device.IP.Diagnostics.UDPEchoDiagnostics."
/* DNS has no port in the model: the test server takes port 53 on a
 * loopback address of its own */
#define DNS_TEST_ADDR "127.0.0.153"
#define BODY_BYTES 12345
#define UPLOAD_BYTES 54321
#define WAIT_MS 10000

static dm_schema *bundled;

/* ---------------------------------------------------------------------------
 * A tiny HTTP server: GET /file and /slow (after 400 ms) answer BODY_BYTES
 * bytes; PUT /up takes its body (counted in put_bytes) and answers 204;
 * anything else 404.
 * ------------------------------------------------------------------------- */

typedef struct http_server {
	int fd;
	int port;
	pthread_t th;
	atomic_int served, active, max_active;
	atomic_long put_bytes;
} http_server;

typedef struct http_conn {
	http_server *s;
	int fd;
} http_conn;

static void serve_one(http_server *s, int c)
{
	char req[2048], head[256];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof req - 1 && (n = recv(c, req + got, sizeof req - 1 - got, 0)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[got] = '\0';
	if (!strncmp(req, "PUT /up ", 8)) {
		const char *cl = strcasestr(req, "\r\nContent-Length:"), *end = strstr(req, "\r\n\r\n");
		long want = cl ? strtol(cl + 17, NULL, 10) : 0, have = end ? (long)(got - (size_t)(end + 4 - req)) : 0;
		char buf[8192];
		while (have < want && (n = recv(c, buf, sizeof buf, 0)) > 0)
			have += n;
		atomic_fetch_add(&s->put_bytes, have);
		snprintf(head, sizeof head, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
		send(c, head, strlen(head), MSG_NOSIGNAL);
		return;
	}
	bool slow = !strncmp(req, "GET /slow ", 10);
	if (slow)
		usleep(400 * 1000);
	if (slow || !strncmp(req, "GET /file ", 10)) {
		static char body[BODY_BYTES];
		memset(body, 'd', sizeof body);
		snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
			 BODY_BYTES);
		send(c, head, strlen(head), MSG_NOSIGNAL);
		send(c, body, sizeof body, MSG_NOSIGNAL);
	} else {
		snprintf(head, sizeof head, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		send(c, head, strlen(head), MSG_NOSIGNAL);
	}
}

/* One thread per connection: the server itself never serialises the
 * clients, so any one-at-a-time seen here is the agent's. */
static void *conn_main(void *arg)
{
	http_conn *hc = arg;
	http_server *s = hc->s;
	int now = atomic_fetch_add(&s->active, 1) + 1, seen = atomic_load(&s->max_active);

	while (now > seen && !atomic_compare_exchange_weak(&s->max_active, &seen, now))
		;
	serve_one(s, hc->fd);
	close(hc->fd);
	atomic_fetch_add(&s->served, 1);
	atomic_fetch_sub(&s->active, 1);
	free(hc);
	return NULL;
}

static void *server_main(void *arg)
{
	http_server *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		http_conn *hc = malloc(sizeof *hc);
		pthread_t th;
		*hc = (http_conn){s, c};
		if (pthread_create(&th, NULL, conn_main, hc)) {
			close(c);
			free(hc);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

static void server_start(http_server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(http_server *s)
{
	shutdown(s->fd, SHUT_RDWR); /* accept() returns */
	pthread_join(s->th, NULL);
	close(s->fd);
	for (int i = 0; i < 500 && atomic_load(&s->active); i++)
		usleep(10 * 1000);
}

/* A port nobody listens on: bound, never listened to, closed. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---------------------------------------------------------------------------
 * Fixture: an engine, a loop, the doors (map_diag), a record of the
 * DiagnosticsState changes and their origins, raised CWMP events
 * ------------------------------------------------------------------------- */

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	map_diag *md;
	dm_sub *sub;
	char states[16][48];
	dm_origin_kind state_origins[16];
	int n_states;
	/* runner and operate results */
	int runs_done;
	map_diag_outcome outs[4];
	int ops_done;
	int op_code;
	char op_status[48], op_success[16];
	/* CWMP events raised */
	int raised;
	char raised_code[64];
} fixture;

static void on_change(void *ctx, const dm_change *c)
{
	fixture *f = ctx;

	if (c->kind == DM_CHANGE_VALUE && !strcmp(c->path, PING "DiagnosticsState") && f->n_states < 16) {
		snprintf(f->states[f->n_states], sizeof f->states[0], "%s", c->new_value);
		f->state_origins[f->n_states++] = c->origin->kind;
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};

	snprintf(f->dir, sizeof f->dir, "/tmp/test_mapping_diag.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir};
	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	assert_int_equal(dm_subscribe(f->d, on_change, f, &f->sub), DM_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	map_diag_stop(f->md);
	dm_unsubscribe(f->d, f->sub);
	core_loop_free(f->loop); /* waits for workers still running */
	dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void start_doors(fixture *f)
{
	assert_int_equal(map_diag_start(f->d, f->loop, &f->md), DM_OK);
}

/* ---- running the loop ------------------------------------------------------- */

typedef bool (*until_fn)(fixture *f);

typedef struct until_call {
	fixture *f;
	until_fn done;
} until_call;

static bool until_holds(void *ctx)
{
	until_call *c = ctx;

	return c->done(c->f);
}

/* Run the loop until done(f) or ms pass; returns done(f). */
static bool run_until(fixture *f, until_fn done, unsigned ms)
{
	until_call c = {f, done};

	return loop_run_until(f->loop, until_holds, &c, ms);
}

static bool never(fixture *f)
{
	(void)f;
	return false;
}

static void value(fixture *f, const char *path, char *buf, size_t n)
{
	dm_errinfo err = {0};

	if (dm_get_value_buf(f->d, NULL, path, buf, n, &err))
		fail_msg("%s: %s", path, err.msg);
}

static bool ping_state_is(fixture *f, const char *want)
{
	char v[64];

	value(f, PING "DiagnosticsState", v, sizeof v);
	return !strcmp(v, want);
}

static bool ping_not_requested(fixture *f)
{
	return !ping_state_is(f, "Requested");
}

static void assert_value(fixture *f, const char *path, const char *want)
{
	char v[256];

	value(f, path, v, sizeof v);
	assert_string_equal(v, want);
}

/* One transaction of that origin: pairs of path, value, NULL-ended.
 * Returns the first failure's code. */
static int write_as(fixture *f, dm_origin_kind who, ...)
{
	dm_origin o = {who, "test"};
	dm_errinfo err = {0};
	dm_txn *t;
	va_list ap;
	const char *p;
	int rc = 0;

	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	va_start(ap, who);
	while (!rc && (p = va_arg(ap, const char *)))
		rc = dm_set(t, p, va_arg(ap, const char *), &err);
	va_end(ap);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

/* ---------------------------------------------------------------------------
 * The runner
 * ------------------------------------------------------------------------- */

static void run_done(void *ctx, const map_diag_outcome *o)
{
	fixture *f = ctx;
	map_diag_outcome *dst = &f->outs[f->runs_done++ % 4];

	*dst = *o;
	for (size_t i = 0; i < dst->n_out; i++)
		dst->out[i].value = dst->vals[i];
}

static bool one_run(fixture *f)
{
	return f->runs_done >= 1;
}

static unsigned long out_num(const map_diag_outcome *o, const char *name)
{
	const char *v = map_diag_outcome_get(o, name);

	if (!v)
		fail_msg("no result %s", name);
	return strtoul(v, NULL, 10);
}

static void run_ping(fixture *f, const char *host, const char *reps)
{
	const dm_arg in[] = {{"Host", host}, {"NumberOfRepetitions", reps}, {"Timeout", "1000"},
			     {"DataBlockSize", "56"}, {"ProtocolVersion", "Any"}, {"DSCP", "10"}};

	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_IPPING, in, 6, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_ping_loopback(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	run_ping(f, "127.0.0.1", "3");
	assert_string_equal(o->status, "Complete");
	assert_int_equal(out_num(o, "SuccessCount"), 3);
	assert_int_equal(out_num(o, "FailureCount"), 0);
	assert_string_equal(map_diag_outcome_get(o, "IPAddressUsed"), "127.0.0.1");
	unsigned long mn = out_num(o, "MinimumResponseTimeDetailed"), avg = out_num(o, "AverageResponseTimeDetailed"),
		      mx = out_num(o, "MaximumResponseTimeDetailed");
	assert_true(mn > 0);
	assert_true(mn <= avg && avg <= mx);
	assert_true(mx < 1000000); /* within the Timeout */
	assert_true(out_num(o, "MaximumResponseTime") <= 1000);
}

static void test_ping_bad_host(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	run_ping(f, "no-such-host.invalid", "2");
	assert_string_equal(o->status, "Error_CannotResolveHostName");
	assert_int_equal(out_num(o, "SuccessCount"), 0);
}

/* The CWMP-style object (and so the command's output arguments, which
 * share its names and types) takes every value an outcome gives. */
static void assert_object_takes(const map_diag_outcome *o, const char *object)
{
	for (size_t i = 0; i < o->n_out; i++) {
		char path[256];
		const dm_node *n;
		dm_errinfo err = {0};
		const char *name = o->out[i].name, *dot = strchr(name, '.');
		if (dot) /* a row's result: "RouteHops.1.Host" is "RouteHops.{i}.Host" */
			snprintf(path, sizeof path, "%s%.*s{i}%s", object, (int)(dot - name + 1), name,
				 strchr(dot + 1, '.'));
		else
			snprintf(path, sizeof path, "%s%s", object, name);
		assert_non_null(n = dm_schema_find(bundled, path));
		if (dm_value_check(n, o->out[i].value, NULL, &err))
			fail_msg("%s = %s: %s", path, o->out[i].value, err.msg);
	}
}

static void run_download(fixture *f, const char *url)
{
	const dm_arg in[] = {{"DownloadURL", url}};

	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_DOWNLOAD, in, 1, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_download(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];
	http_server s = {0};
	char url[128];

	server_start(&s);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/file", s.port);
	run_download(f, url);
	server_stop(&s);
	assert_string_equal(o->status, "Complete");
	assert_int_equal(out_num(o, "TestBytesReceived"), BODY_BYTES);
	assert_true(out_num(o, "TotalBytesReceived") > BODY_BYTES); /* and the headers */
	assert_true(out_num(o, "TotalBytesSent") > 0);
	assert_string_equal(map_diag_outcome_get(o, "IPAddressUsed"), "127.0.0.1");
	/* same fixed-width format: the strings order as the instants */
	const char *tcp_req = map_diag_outcome_get(o, "TCPOpenRequestTime"),
		   *tcp_resp = map_diag_outcome_get(o, "TCPOpenResponseTime"), *rom = map_diag_outcome_get(o, "ROMTime"),
		   *bom = map_diag_outcome_get(o, "BOMTime"), *eom = map_diag_outcome_get(o, "EOMTime");
	assert_string_not_equal(rom, "0001-01-01T00:00:00Z");
	assert_true(strcmp(tcp_req, tcp_resp) <= 0 && strcmp(tcp_resp, rom) <= 0);
	assert_true(strcmp(rom, bom) <= 0 && strcmp(bom, eom) <= 0);
	assert_object_takes(o, DL);
}

/* One failing run per row; the row at index 1 aims at a port nobody
 * listens on. Every failure reports the Unknown Time as EOMTime. */
typedef struct error_row {
	const char *fmt;
	const char *want;
} error_row;

static void check_error_rows(fixture *f, void (*run)(fixture *f, const char *url), const error_row *rows, size_t n)
{
	http_server s = {0};
	char url[128];

	server_start(&s);
	for (size_t i = 0; i < n; i++) {
		f->runs_done = 0;
		snprintf(url, sizeof url, rows[i].fmt, i == 1 ? closed_port() : s.port);
		run(f, url);
		if (strcmp(f->outs[0].status, rows[i].want))
			fail_msg("%s: %s, expected %s", url, f->outs[0].status, rows[i].want);
		assert_string_equal(map_diag_outcome_get(&f->outs[0], "EOMTime"), "0001-01-01T00:00:00Z");
	}
	server_stop(&s);
}

static void test_download_errors(void **state)
{
	const error_row rows[] = {
		{"http://127.0.0.1:%d/missing", "Error_TransferFailed"},
		{"http://127.0.0.1:%d/file", "Error_InitConnectionFailed"},
		{"http://no-such-host.invalid:%d/file", "Error_CannotResolveHostName"},
	};

	check_error_rows(*state, run_download, rows, sizeof rows / sizeof rows[0]);
}

static void run_upload(fixture *f, const char *url, const char *length)
{
	const dm_arg in[] = {{"UploadURL", url}, {"TestFileLength", length}};

	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_UPLOAD, in, 2, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_upload(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];
	http_server s = {0};
	char url[128];

	server_start(&s);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/up", s.port);
	run_upload(f, url, "54321");
	server_stop(&s);
	assert_string_equal(o->status, "Complete");
	assert_int_equal(atomic_load(&s.put_bytes), UPLOAD_BYTES);
	assert_int_equal(out_num(o, "TestBytesSent"), UPLOAD_BYTES);
	assert_true(out_num(o, "TotalBytesSent") > UPLOAD_BYTES); /* and the request's headers */
	assert_true(out_num(o, "TotalBytesReceived") > 0);
	assert_string_equal(map_diag_outcome_get(o, "IPAddressUsed"), "127.0.0.1");
	const char *rom = map_diag_outcome_get(o, "ROMTime"), *bom = map_diag_outcome_get(o, "BOMTime"),
		   *eom = map_diag_outcome_get(o, "EOMTime");
	assert_string_not_equal(rom, "0001-01-01T00:00:00Z");
	assert_true(strcmp(rom, bom) <= 0 && strcmp(bom, eom) <= 0);
	assert_object_takes(o, UL);
}

static void run_small_upload(fixture *f, const char *url)
{
	run_upload(f, url, "1000");
}

static void test_upload_errors(void **state)
{
	const error_row rows[] = {
		/* the enumeration has no TransferFailed: a refused PUT did not complete */
		{"http://127.0.0.1:%d/elsewhere", "Error_NoTransferComplete"},
		{"http://127.0.0.1:%d/up", "Error_InitConnectionFailed"},
	};

	check_error_rows(*state, run_small_upload, rows, sizeof rows / sizeof rows[0]);
}

static void run_trace(fixture *f, const char *host)
{
	const dm_arg in[] = {{"Host", host}, {"NumberOfTries", "2"}, {"Timeout", "1000"}, {"MaxHopCount", "5"},
			     {"ProtocolVersion", "IPv4"}};

	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_TRACEROUTE, in, 5, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_trace_loopback(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	run_trace(f, "127.0.0.1");
	if (!strcmp(o->status, "Error_Internal"))
		skip(); /* no raw socket for this process: the test says so, nothing to trace */
	assert_string_equal(o->status, "Complete");
	assert_string_equal(map_diag_outcome_get(o, "IPAddressUsed"), "127.0.0.1");
	/* the target is the first hop, answered both tries */
	assert_string_equal(map_diag_outcome_get(o, "RouteHops.1.HostAddress"), "127.0.0.1");
	assert_null(map_diag_outcome_get(o, "RouteHops.2.HostAddress"));
	const char *rtts = map_diag_outcome_get(o, "RouteHops.1.RTTimes");
	assert_non_null(strchr(rtts, ','));
	assert_null(strchr(strchr(rtts, ',') + 1, ','));
	assert_string_equal(map_diag_outcome_get(o, "RouteHops.1.ErrorCode"), "0");
	assert_true(map_diag_outcome_get(o, "RouteHops.1.Host")[0]);
	assert_object_takes(o, TR);
}

static void test_trace_bad_host(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	run_trace(f, "no-such-host.invalid");
	assert_string_equal(o->status, "Error_CannotResolveHostName");
	assert_string_equal(map_diag_outcome_get(o, "ResponseTime"), "0");
	assert_null(map_diag_outcome_get(o, "RouteHops.1.Host"));
}

/* ---------------------------------------------------------------------------
 * A tiny DNS server: gw.duet.test has 192.0.2.10 and 2001:db8::10 (an
 * authoritative answer), www.duet.test is a CNAME of it, anything else
 * does not exist.
 * ------------------------------------------------------------------------- */

typedef struct dns_server {
	int fd;
	pthread_t th;
	atomic_int questions;
} dns_server;

static size_t put_u16(unsigned char *b, size_t at, unsigned v)
{
	b[at] = (unsigned char)(v >> 8);
	b[at + 1] = (unsigned char)v;
	return at + 2;
}

/* One answer record owned by the name at offset owner. */
static size_t put_record(unsigned char *b, size_t at, unsigned owner, unsigned type, const void *data, size_t len)
{
	at = put_u16(b, at, 0xC000 | owner);
	at = put_u16(b, at, type);
	at = put_u16(b, at, 1);
	at = put_u16(b, at, 0);
	at = put_u16(b, at, 60);
	at = put_u16(b, at, (unsigned)len);
	memcpy(b + at, data, len);
	return at + len;
}

static size_t dns_answer_to(const unsigned char *q, size_t qn, unsigned char *b)
{
	static const unsigned char gw[] = "\002gw\004duet\004test", www[] = "\003www\004duet\004test";
	size_t name_end = 12;

	while (name_end < qn && q[name_end])
		name_end += q[name_end] + 1;
	if (name_end + 5 > qn)
		return 0;
	unsigned type = (unsigned)(q[name_end + 1] << 8 | q[name_end + 2]);
	size_t at = name_end + 5;
	memcpy(b, q, at);
	b[2] = 0x85; /* answer, authoritative, recursion desired */
	b[3] = 0x00;
	bool is_gw = name_end - 12 == sizeof gw - 1 && !memcmp(q + 12, gw, sizeof gw - 1);
	bool is_www = name_end - 12 == sizeof www - 1 && !memcmp(q + 12, www, sizeof www - 1);
	unsigned n = 0, owner = 12; /* the question's name */
	if (is_www) {
		/* the alias, then the addresses under the name it stands for */
		at = put_record(b, at, owner, 5, gw, sizeof gw);
		owner = (unsigned)(at - sizeof gw);
		n++;
		b[2] = 0x81; /* not authoritative for the alias */
	}
	if (is_gw || is_www) {
		struct in_addr a4;
		struct in6_addr a6;
		inet_pton(AF_INET, "192.0.2.10", &a4);
		inet_pton(AF_INET6, "2001:db8::10", &a6);
		if (type == 1)
			at = put_record(b, at, owner, 1, &a4, 4), n++;
		else if (type == 28)
			at = put_record(b, at, owner, 28, &a6, 16), n++;
	} else {
		b[3] = 0x03; /* no such name */
	}
	put_u16(b, 6, n);
	return at;
}

static void *dns_main(void *arg)
{
	dns_server *s = arg;
	unsigned char q[512], b[1024];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(s->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return NULL;
		atomic_fetch_add(&s->questions, 1);
		size_t len = dns_answer_to(q, (size_t)n, b);
		if (len)
			sendto(s->fd, b, len, 0, (struct sockaddr *)&from, fl);
	}
}

static bool dns_start(dns_server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};

	inet_pton(AF_INET, DNS_TEST_ADDR, &a.sin_addr);
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a)) {
		if (s->fd >= 0)
			close(s->fd);
		return false;
	}
	assert_int_equal(pthread_create(&s->th, NULL, dns_main, s), 0);
	return true;
}

static void dns_stop(dns_server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->th, NULL);
}

static void run_nslookup(fixture *f, const char *host, const char *server, const char *reps)
{
	const dm_arg in[] = {{"HostName", host}, {"DNSServer", server}, {"Timeout", "500"},
			     {"NumberOfRepetitions", reps}};

	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_NSLOOKUP, in, 4, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_nslookup(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];
	dns_server s = {0};

	if (!dns_start(&s))
		skip(); /* port 53 on a loopback address is not ours here */
	run_nslookup(f, "gw.duet.test", DNS_TEST_ADDR, "2");
	assert_string_equal(o->status, "Complete");
	assert_string_equal(map_diag_outcome_get(o, "SuccessCount"), "2");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.Status"), "Success");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.AnswerType"), "Authoritative");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.HostNameReturned"), "gw.duet.test");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.IPAddresses"), "192.0.2.10,2001:db8::10");
	assert_string_equal(map_diag_outcome_get(o, "Result.2.DNSServerIP"), DNS_TEST_ADDR);
	assert_object_takes(o, NS);

	/* an alias: the addresses belong to the name it stands for */
	f->runs_done = 0;
	run_nslookup(f, "www.duet.test", DNS_TEST_ADDR, "1");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.HostNameReturned"), "gw.duet.test");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.AnswerType"), "NonAuthoritative");

	/* no such name: the test completes, the lookup did not */
	f->runs_done = 0;
	run_nslookup(f, "nope.duet.test", DNS_TEST_ADDR, "1");
	assert_string_equal(o->status, "Complete");
	assert_string_equal(map_diag_outcome_get(o, "SuccessCount"), "0");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.Status"), "Error_HostNameNotResolved");
	assert_string_equal(map_diag_outcome_get(o, "Result.1.AnswerType"), "None");
	int asked = atomic_load(&s.questions);
	dns_stop(&s);
	assert_int_equal(asked, 2 * 2 + 2 + 1); /* A and AAAA, but no AAAA after "no such name" */
}

static void test_nslookup_errors(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	/* nobody listens: the host says so, or the question times out */
	run_nslookup(f, "gw.duet.test", "127.0.0.154", "1");
	assert_string_equal(o->status, "Complete");
	const char *st = map_diag_outcome_get(o, "Result.1.Status");
	assert_true(!strcmp(st, "Error_DNSServerNotAvailable") || !strcmp(st, "Error_Timeout"));
	f->runs_done = 0;
	run_nslookup(f, "gw.duet.test", "no-such-server.invalid", "1");
	assert_string_equal(o->status, "Error_DNSServerNotResolved");
}

static void run_selection(fixture *f, const char *hosts, const char *protocol)
{
	const dm_arg in[] = {{"HostList", hosts}, {"Protocol", protocol}, {"NumberOfRepetitions", "2"},
			     {"Timeout", "500"}, {"ProtocolVersion", "IPv4"}};

	f->runs_done = 0;
	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_SERVER_SELECTION, in, 5, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_server_selection(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];

	/* the one that answers is the fastest */
	run_selection(f, "no-such-host.invalid,127.0.0.1", "ICMP");
	assert_string_equal(o->status, "Complete");
	assert_string_equal(map_diag_outcome_get(o, "FastestHost"), "127.0.0.1");
	assert_string_equal(map_diag_outcome_get(o, "IPAddressUsed"), "127.0.0.1");
	unsigned long mn = out_num(o, "MinimumResponseTime"), avg = out_num(o, "AverageResponseTime"),
		      mx = out_num(o, "MaximumResponseTime");
	assert_true(mn > 0 && mn <= avg && avg <= mx && mx < 500000); /* microseconds */
	assert_object_takes(o, SS);
	run_selection(f, "no-such-host.invalid,nor-this.invalid", "ICMP");
	assert_string_equal(o->status, "Error_CannotResolveHostName");
	assert_string_equal(map_diag_outcome_get(o, "FastestHost"), "");
	run_selection(f, "127.0.0.1", "UDP Echo"); /* not offered */
	assert_string_equal(o->status, "Error_Other");
}

/* A plain UDP echo server: every datagram back as it came. */
typedef struct echo_server {
	int fd;
	int port;
	pthread_t th;
} echo_server;

static void *echo_main(void *arg)
{
	echo_server *e = arg;
	unsigned char b[2048];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(e->fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return NULL;
		sendto(e->fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static void echo_start(echo_server *e)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;

	e->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(e->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(e->fd, (struct sockaddr *)&a, &len), 0);
	e->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&e->th, NULL, echo_main, e), 0);
}

static void echo_stop(echo_server *e)
{
	shutdown(e->fd, SHUT_RDWR);
	close(e->fd);
	pthread_join(e->th, NULL);
}

static void run_udpecho(fixture *f, int port, const char *individual)
{
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	const dm_arg in[] = {{"Host", "127.0.0.1"}, {"Port", p}, {"NumberOfRepetitions", "3"}, {"Timeout", "300"},
			     {"InterTransmissionTime", "1"}, {"EnableIndividualPacketResults", individual}};

	f->runs_done = 0;
	assert_int_equal(map_diag_run_start(f->loop, MAP_DIAG_UDPECHO, in, 6, run_done, f, NULL), DM_OK);
	assert_true(run_until(f, one_run, WAIT_MS));
}

static void test_udpecho(void **state)
{
	fixture *f = *state;
	const map_diag_outcome *o = &f->outs[0];
	echo_server e;

	echo_start(&e);
	run_udpecho(f, e.port, "true");
	echo_stop(&e);
	assert_string_equal(o->status, "Complete");
	assert_int_equal(out_num(o, "SuccessCount"), 3);
	assert_int_equal(out_num(o, "FailureCount"), 0);
	assert_true(out_num(o, "MinimumResponseTime") <= out_num(o, "AverageResponseTime"));
	assert_true(out_num(o, "AverageResponseTime") <= out_num(o, "MaximumResponseTime"));
	assert_string_equal(map_diag_outcome_get(o, "IndividualPacketResult.3.PacketSuccess"), "true");
	assert_string_equal(map_diag_outcome_get(o, "IndividualPacketResult.3.TestGenSN"), "3");
	assert_null(map_diag_outcome_get(o, "IndividualPacketResult.4.PacketSuccess"));
	assert_object_takes(o, UE);
	/* nobody listens: each datagram fails, no rows unless asked */
	run_udpecho(f, closed_port(), "false");
	assert_string_equal(o->status, "Complete");
	assert_int_equal(out_num(o, "SuccessCount"), 0);
	assert_int_equal(out_num(o, "FailureCount"), 3);
	assert_null(map_diag_outcome_get(o, "IndividualPacketResult.1.PacketSuccess"));
}

static void test_check_input(void **state)
{
	const struct {
		map_diag_kind kind;
		const char *name, *value;
		int want;
	} rows[] = {
		{MAP_DIAG_IPPING, "Host", "", DM_ERR_INVALID_VALUE},
		{MAP_DIAG_IPPING, "Host", "127.0.0.1", DM_OK},
		{MAP_DIAG_DOWNLOAD, "DownloadURL", "ftp://h/f", DM_ERR_INVALID_VALUE},
		{MAP_DIAG_DOWNLOAD, "DownloadURL", "http:///f", DM_ERR_INVALID_VALUE},
		{MAP_DIAG_DOWNLOAD, "DownloadURL", "", DM_ERR_INVALID_VALUE},
		{MAP_DIAG_DOWNLOAD, "DownloadURL", "HTTPS://h:8443/f", DM_OK},
		{MAP_DIAG_DOWNLOAD, "DSCP", "", DM_OK},
		{MAP_DIAG_UPLOAD, "UploadURL", "ftp://h/f", DM_ERR_INVALID_VALUE},
		{MAP_DIAG_UPLOAD, "UploadURL", "http://127.0.0.1:8080/up", DM_OK},
	};
	char msg[160];

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		msg[0] = '\0';
		int rc = map_diag_check_input(rows[i].kind, rows[i].name, rows[i].value, msg, sizeof msg);
		if (rc != rows[i].want)
			fail_msg("%s=%s: %d", rows[i].name, rows[i].value, rc);
		assert_true(rc == DM_OK || msg[0]);
	}
	assert_int_equal(map_diag_state_kind(PING "DiagnosticsState"), MAP_DIAG_IPPING);
	assert_int_equal(map_diag_state_kind(DL "DiagnosticsState"), MAP_DIAG_DOWNLOAD);
	assert_int_equal(map_diag_state_kind(UL "DiagnosticsState"), MAP_DIAG_UPLOAD);
	assert_int_equal(map_diag_state_kind(PING "Host"), -1);
	assert_true(map_diag_state_is_final("Error_Other") && map_diag_state_is_final("Complete"));
	assert_false(map_diag_state_is_final("None") || map_diag_state_is_final("Requested"));
}

/* ---------------------------------------------------------------------------
 * The CWMP door
 * ------------------------------------------------------------------------- */

static int request_ping(fixture *f, const char *reps)
{
	return write_as(f, DM_ORIGIN_CWMP, PING "Host", "127.0.0.1", PING "NumberOfRepetitions", reps,
			PING "Timeout", "1000", PING "DiagnosticsState", "Requested", NULL);
}

static void test_cwmp_door_complete_then_input_resets(void **state)
{
	fixture *f = *state;

	start_doors(f);
	assert_int_equal(request_ping(f, "2"), DM_OK);
	/* not before the session had time to end */
	run_until(f, never, 300);
	assert_true(ping_state_is(f, "Requested"));
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_value(f, PING "DiagnosticsState", "Complete");
	assert_value(f, PING "SuccessCount", "2");
	assert_value(f, PING "FailureCount", "0");
	assert_value(f, PING "IPAddressUsed", "127.0.0.1");
	char v[32];
	value(f, PING "MaximumResponseTimeDetailed", v, sizeof v);
	assert_true(strtoul(v, NULL, 10) > 0);
	/* the end was written by the agent itself */
	assert_int_equal(f->n_states, 2);
	assert_int_equal(f->state_origins[0], DM_ORIGIN_CWMP);
	assert_int_equal(f->state_origins[1], DM_ORIGIN_INTERNAL);

	/* results are kept until an input changes */
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "DataBlockSize", "100", NULL), DM_OK);
	run_until(f, never, 100);
	assert_value(f, PING "DiagnosticsState", "None");
}

static void test_cwmp_door_input_during_wait_aborts(void **state)
{
	fixture *f = *state;

	start_doors(f);
	assert_int_equal(request_ping(f, "2"), DM_OK);
	run_until(f, never, 200);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "Timeout", "500", NULL), DM_OK);
	run_until(f, never, 1500); /* past the moment the test would have run */
	assert_value(f, PING "DiagnosticsState", "None");
	assert_value(f, PING "SuccessCount", "0");
}

static void test_cwmp_door_rerequest_restarts(void **state)
{
	fixture *f = *state;

	start_doors(f);
	assert_int_equal(request_ping(f, "2"), DM_OK);
	run_until(f, never, 500);
	/* "Requested" again (unchanged) with a new input in the same call:
	 * the run starts over with it */
	uint64_t t0 = uv_now(core_loop_uv(f->loop));
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "NumberOfRepetitions", "4", PING "DiagnosticsState",
				  "Requested", NULL),
			 DM_OK);
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_value(f, PING "DiagnosticsState", "Complete");
	assert_value(f, PING "SuccessCount", "4");
	assert_true(uv_now(core_loop_uv(f->loop)) - t0 >= 900);

	/* and "Requested" alone, unchanged, while waiting: it waits anew */
	assert_int_equal(request_ping(f, "1"), DM_OK);
	run_until(f, never, 600);
	t0 = uv_now(core_loop_uv(f->loop));
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "DiagnosticsState", "Requested", NULL), DM_OK);
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_value(f, PING "SuccessCount", "1");
	assert_true(uv_now(core_loop_uv(f->loop)) - t0 >= 900);
}

static void test_cwmp_door_rules(void **state)
{
	fixture *f = *state;

	start_doors(f);
	/* the agent's values are the agent's */
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "DiagnosticsState", "Complete", NULL), DM_ERR_PROVIDER);
	assert_int_equal(write_as(f, DM_ORIGIN_USP, DL "DiagnosticsState", "None", NULL), DM_ERR_PROVIDER);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "DiagnosticsState", "Canceled", NULL),
			 DM_ERR_INVALID_VALUE);
	assert_value(f, PING "DiagnosticsState", "None");
	/* an input the test cannot use is refused when set, not when run */
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, DL "DownloadURL", "ftp://h/f", NULL), DM_ERR_PROVIDER);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, DL "DownloadURL", "http://h/f", NULL), DM_OK);

	/* a restart runs nothing: Requested before it is None after */
	assert_int_equal(request_ping(f, "1"), DM_OK);
	map_diag_stop(f->md);
	f->md = NULL;
	assert_value(f, PING "DiagnosticsState", "Requested");
	start_doors(f);
	assert_value(f, PING "DiagnosticsState", "None");
	run_until(f, never, 1300);
	assert_value(f, PING "SuccessCount", "0");
}

static bool dl_done(fixture *f)
{
	char v[64];

	value(f, DL "DiagnosticsState", v, sizeof v);
	return strcmp(v, "Requested") != 0;
}

static bool trace_done(fixture *f)
{
	char v[64];

	value(f, TR "DiagnosticsState", v, sizeof v);
	return strcmp(v, "Requested") != 0;
}

/* The result rows land in the object's table, and a second run replaces
 * the first run's rows. */
static void test_cwmp_door_trace_rows(void **state)
{
	fixture *f = *state;
	char v[64];

	start_doors(f);
	for (int run = 0; run < 2; run++) {
		assert_int_equal(write_as(f, DM_ORIGIN_CWMP, TR "Host", "127.0.0.1", TR "NumberOfTries", "1",
					  TR "DiagnosticsState", "Requested", NULL),
				 DM_OK);
		assert_true(run_until(f, trace_done, WAIT_MS));
		value(f, TR "DiagnosticsState", v, sizeof v);
		if (!strcmp(v, "Error_Internal"))
			skip(); /* no raw socket */
		assert_string_equal(v, "Complete");
		assert_value(f, TR "RouteHopsNumberOfEntries", "1");
	}
	/* numbers are never reused: the second run's row is the second */
	assert_value(f, TR "RouteHops.2.HostAddress", "127.0.0.1");
}

static void test_cwmp_door_download(void **state)
{
	fixture *f = *state;
	http_server s = {0};
	char url[128];

	server_start(&s);
	start_doors(f);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/file", s.port);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, DL "DownloadURL", url, DL "DiagnosticsState", "Requested", NULL),
			 DM_OK);
	assert_true(run_until(f, dl_done, WAIT_MS));
	server_stop(&s);
	assert_value(f, DL "DiagnosticsState", "Complete");
	char v[32];
	snprintf(v, sizeof v, "%d", BODY_BYTES);
	assert_value(f, DL "TestBytesReceived", v);
}

/* ---------------------------------------------------------------------------
 * The USP door
 * ------------------------------------------------------------------------- */

static void op_done(void *ctx, uint64_t id, int code, const dm_arg *out, size_t n_out, const char *msg)
{
	fixture *f = ctx;

	(void)id, (void)msg;
	f->ops_done++;
	f->op_code = code;
	for (size_t i = 0; i < n_out; i++) {
		if (!strcmp(out[i].name, "Status"))
			snprintf(f->op_status, sizeof f->op_status, "%s", out[i].value);
		if (!strcmp(out[i].name, "SuccessCount"))
			snprintf(f->op_success, sizeof f->op_success, "%s", out[i].value);
	}
}

static bool op_finished(fixture *f)
{
	return f->ops_done > 0;
}

static int operate_ping(fixture *f, const char *host, dm_errinfo *err)
{
	const dm_arg in[] = {{"Host", host}, {"NumberOfRepetitions", "3"}, {"Timeout", "1000"},
			     {"DataBlockSize", "32"}, {"ProtocolVersion", "IPv4"}};
	dm_origin usp = {DM_ORIGIN_USP, "proto::controller"};

	return dm_operate(f->d, "Device.IP.Diagnostics.IPPing()", in, 5, "ck", &usp, op_done, f, NULL, err);
}

static void test_usp_door(void **state)
{
	fixture *f = *state;
	dm_errinfo err = {0};

	start_doors(f);
	assert_int_equal(operate_ping(f, "127.0.0.1", &err), DM_OK);
	assert_true(run_until(f, op_finished, WAIT_MS));
	assert_int_equal(f->op_code, DM_OK);
	assert_string_equal(f->op_status, "Complete");
	assert_string_equal(f->op_success, "3");
	/* a USP run leaves the ACS's object as it was (notes C8) */
	assert_value(f, PING "SuccessCount", "0");
	assert_value(f, PING "DiagnosticsState", "None");
	assert_int_equal(f->n_states, 0);

	/* an input the test cannot use is refused before anything runs */
	f->ops_done = 0;
	assert_int_equal(operate_ping(f, "", &err), DM_ERR_INVALID_ARG);
	run_until(f, never, 50);
	assert_int_equal(f->ops_done, 0);
}

/* Both doors share the test: a USP request while a CWMP run is going waits
 * for it, and so does a second USP request for the first. */
static bool all_three_done(fixture *f)
{
	return f->ops_done >= 2 && dl_done(f);
}

static void test_one_test_of_a_kind_at_a_time(void **state)
{
	fixture *f = *state;
	http_server s = {0};
	char url[128];
	const dm_arg in[1] = {{"DownloadURL", url}};
	dm_origin usp = {DM_ORIGIN_USP, "proto::controller"};
	dm_errinfo err = {0};

	server_start(&s);
	start_doors(f);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", s.port);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, DL "DownloadURL", url, DL "DiagnosticsState", "Requested", NULL),
			 DM_OK);
	run_until(f, never, 1150); /* the CWMP run has started */
	for (int i = 0; i < 2; i++)
		assert_int_equal(dm_operate(f->d, "Device.IP.Diagnostics.DownloadDiagnostics()", in, 1, "", &usp,
					    op_done, f, NULL, &err),
				 DM_OK);
	assert_true(run_until(f, all_three_done, WAIT_MS));
	server_stop(&s);
	assert_value(f, DL "DiagnosticsState", "Complete");
	assert_int_equal(f->op_code, DM_OK);
	assert_string_equal(f->op_status, "Complete");
	assert_int_equal(atomic_load(&s.served), 3);
	assert_int_equal(atomic_load(&s.max_active), 1);
}

/* ---------------------------------------------------------------------------
 * cwmp/diag_events.c: 8 DIAGNOSTICS COMPLETE for the ACS's own tests only
 * ------------------------------------------------------------------------- */

static fixture *raise_fixture;

static int fake_raise(cwmp_agent *a, const char *code, const char *key, cwmp_urgency urgency)
{
	(void)a, (void)key;
	assert_int_equal(urgency, CWMP_RAISE_NOW);
	raise_fixture->raised++;
	snprintf(raise_fixture->raised_code, sizeof raise_fixture->raised_code, "%s", code);
	return 0;
}

static void test_diag_events(void **state)
{
	fixture *f = *state;
	cwmp_agent a = {.d = f->d, .raise = fake_raise};
	dm_errinfo err = {0};

	raise_fixture = f;
	start_doors(f);
	cwmp_diag_events_open(&a);

	/* requested by the ACS: the end is told */
	assert_int_equal(request_ping(f, "1"), DM_OK);
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_int_equal(f->raised, 1);
	assert_string_equal(f->raised_code, "8 DIAGNOSTICS COMPLETE");

	/* requested through the object by a Controller: not the ACS's */
	assert_int_equal(write_as(f, DM_ORIGIN_USP, PING "DiagnosticsState", "Requested", NULL), DM_OK);
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_value(f, PING "DiagnosticsState", "Complete");
	/* nor is a test operated through the command */
	f->ops_done = 0;
	assert_int_equal(operate_ping(f, "127.0.0.1", &err), DM_OK);
	assert_true(run_until(f, op_finished, WAIT_MS));
	/* nor a request reset by an input before it ran */
	assert_int_equal(request_ping(f, "1"), DM_OK);
	assert_int_equal(write_as(f, DM_ORIGIN_CWMP, PING "DSCP", "8", NULL), DM_OK);
	run_until(f, never, 1300);
	assert_value(f, PING "DiagnosticsState", "None");
	assert_int_equal(f->raised, 1);

	cwmp_diag_events_close(&a);
	assert_int_equal(request_ping(f, "1"), DM_OK);
	assert_true(run_until(f, ping_not_requested, WAIT_MS));
	assert_int_equal(f->raised, 1);
}

int main(void)
{
	dm_errinfo err = {0};

	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return 1;
	}
	core_log_set_level(CORE_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_bad_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_bad_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nslookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nslookup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udpecho, setup, teardown),
		cmocka_unit_test(test_check_input),
		cmocka_unit_test_setup_teardown(test_cwmp_door_complete_then_input_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwmp_door_input_during_wait_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwmp_door_rerequest_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwmp_door_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwmp_door_download, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cwmp_door_trace_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usp_door, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_test_of_a_kind_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diag_events, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(bundled);
	return rc;
}
