/*
 * test_mtp_uds.c - the UNIX domain socket MTP's wire rules against a real
 * agent on its --usp-socket path: the Handshake and the UDSConnect Record,
 * frames split across reads, and what each malformed or unexpected frame
 * earns (TR-369 R-UDS.6 to R-UDS.25), one table row per case. The loop is
 * turned by hand between the test's blocking socket calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "usp_int.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AGENT_ID "os::02D0E7-DG0000000001" /* datamodel/factory-defaults.txt */
#define CTL_ID "proto::uds-test"

typedef struct fixture {
	char dir[64];
	char sock[100];
	dm_schema *schema;
	dm *d;
	core_loop *loop;
	usp_agent *a;
	int fd;
	uint8_t buf[65536];
	size_t len;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	dm_errinfo err = {0};

	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-uds-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof f->sock, "%s/usp.sock", f->dir);
	if (dm_schema_load("datamodel/device2.xml", &f->schema, &err))
		fail_msg("schema: %s", err.msg);
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	if (dm_open(f->schema, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	usp_options uo = {.uds_path = f->sock};
	assert_int_equal(usp_agent_start(f->d, f->loop, &uo, &f->a), DM_OK);
	f->fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	if (f->fd >= 0)
		close(f->fd);
	usp_agent_stop(f->a);
	core_loop_free(f->loop);
	dm_close(f->d);
	dm_schema_free(f->schema);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Turn the loop until the socket is readable or ms pass; true if readable. */
static bool pump(fixture *f, int ms)
{
	long end = now_ms() + ms;

	do {
		uv_run(core_loop_uv(f->loop), UV_RUN_NOWAIT);
		struct pollfd p = {.fd = f->fd, .events = POLLIN};
		if (poll(&p, 1, 1) > 0)
			return true;
	} while (now_ms() < end);
	return false;
}

static void connect_client(fixture *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock);
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(connect(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	f->len = 0;
}

static void send_bytes(fixture *f, const void *p, size_t n)
{
	assert_int_equal(send(f->fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
	uv_run(core_loop_uv(f->loop), UV_RUN_NOWAIT);
}

/* One frame holding one TLV. */
static size_t frame(uint8_t *out, uint8_t type, const void *v, uint32_t n)
{
	uint32_t body = 5 + n;
	uint8_t h[13] = {'_', 'U', 'S', 'P', body >> 24, body >> 16, body >> 8, body, type,
			 n >> 24, n >> 16, n >> 8, n};

	memcpy(out, h, sizeof h);
	memcpy(out + sizeof h, v, n);
	return sizeof h + n;
}

static void send_tlv(fixture *f, uint8_t type, const void *v, uint32_t n)
{
	uint8_t b[1024];

	send_bytes(f, b, frame(b, type, v, n));
}

/* The next frame's first TLV; false at EOF or when nothing comes. */
static bool recv_tlv(fixture *f, uint8_t *type, const uint8_t **v, uint32_t *n)
{
	static uint8_t frame_copy[65536];

	for (;;) {
		if (f->len >= 8) {
			assert_memory_equal(f->buf, "_USP", 4);
			uint32_t flen = (uint32_t)f->buf[4] << 24 | f->buf[5] << 16 | f->buf[6] << 8 | f->buf[7];
			if (f->len >= 8 + flen) {
				memcpy(frame_copy, f->buf, 8 + flen);
				memmove(f->buf, f->buf + 8 + flen, f->len - 8 - flen);
				f->len -= 8 + flen;
				*type = frame_copy[8];
				*n = (uint32_t)frame_copy[9] << 24 | frame_copy[10] << 16 | frame_copy[11] << 8 |
				     frame_copy[12];
				*v = frame_copy + 13;
				return true;
			}
		}
		if (!pump(f, 2000))
			return false;
		ssize_t r = recv(f->fd, f->buf + f->len, sizeof f->buf - f->len, MSG_DONTWAIT);
		if (r <= 0)
			return false;
		f->len += (size_t)r;
	}
}

/* True once the agent has closed the connection (EOF within 2 s). */
static bool closed_by_agent(fixture *f)
{
	uint8_t t;
	const uint8_t *v;
	uint32_t n;

	while (recv_tlv(f, &t, &v, &n))
		;
	return recv(f->fd, f->buf, 1, MSG_DONTWAIT) == 0;
}

/* Ours, then the agent's Handshake and its UDSConnect Record (R-UDS.16,
 * R-UDS.17, R-MTP.6). */
static void handshake(fixture *f)
{
	uint8_t t;
	const uint8_t *v;
	uint32_t n;
	usp_record r;

	send_tlv(f, 1, CTL_ID, strlen(CTL_ID));
	assert_true(recv_tlv(f, &t, &v, &n));
	assert_int_equal(t, 1);
	assert_int_equal(n, strlen(AGENT_ID));
	assert_memory_equal(v, AGENT_ID, n);
	assert_true(recv_tlv(f, &t, &v, &n));
	assert_int_equal(t, 3);
	assert_int_equal(usp_record_parse(v, n, &r), DM_OK);
	assert_int_equal(r.kind, USP_REC_UDS_CONNECT);
	assert_string_equal(r.to_id, CTL_ID);
	assert_string_equal(r.from_id, AGENT_ID);
	usp_record_free(&r);
}

static void test_handshake_split_byte_by_byte(void **state)
{
	fixture *f = *state;
	uint8_t b[256], t;
	const uint8_t *v;
	uint32_t n;

	connect_client(f);
	size_t len = frame(b, 1, CTL_ID, strlen(CTL_ID));
	for (size_t i = 0; i < len; i++)
		send_bytes(f, b + i, 1);
	assert_true(recv_tlv(f, &t, &v, &n));
	assert_int_equal(t, 1);
	assert_memory_equal(v, AGENT_ID, n);
}

/* What the agent does with a frame, after the Handshake or instead of it. */
enum outcome {
	ERROR_AND_CLOSE, /* an Error TLV, then EOF (R-UDS.21, R-UDS.23, R-UDS.24) */
	CLOSE,           /* EOF without an Error (R-UDS.25) */
	IGNORED,         /* nothing, and the connection still serves */
};

static const struct frame_case {
	const char *name;
	bool after_handshake;
	const char *bytes;
	size_t len;
	enum outcome outcome;
} frame_cases[] = {
	{"bad sync", true, "XUSP\0\0\0\5\3\0\0\0\0", 13, ERROR_AND_CLOSE},
	{"length over the limit", true, "_USP\377\377\377\377", 8, ERROR_AND_CLOSE},
	{"frame without a TLV", true, "_USP\0\0\0\0", 8, ERROR_AND_CLOSE},
	{"TLV header cut short", true, "_USP\0\0\0\3\3\0\0", 11, ERROR_AND_CLOSE},
	{"TLV longer than its frame", true, "_USP\0\0\0\6\3\0\0\0\11x", 14, ERROR_AND_CLOSE},
	{"Record that is not one", true, "_USP\0\0\0\11\3\0\0\0\4\377\377\377\377", 17, ERROR_AND_CLOSE},
	{"empty Handshake", false, "_USP\0\0\0\5\1\0\0\0\0", 13, ERROR_AND_CLOSE},
	{"Handshake with a control character", false, "_USP\0\0\0\7\1\0\0\0\2a\n", 15, ERROR_AND_CLOSE},
	{"Error from the peer", true, "_USP\0\0\0\10\2\0\0\0\3bye", 16, CLOSE},
	{"unknown TLV type", true, "_USP\0\0\0\10\11\0\0\0\3abc", 16, IGNORED},
	{"Record before the Handshake", false, "_USP\0\0\0\10\3\0\0\0\3abc", 16, IGNORED},
	{"second Handshake", true, "_USP\0\0\0\10\1\0\0\0\3abc", 16, IGNORED},
};

static void test_frames(void **state)
{
	fixture *f = *state;

	for (size_t i = 0; i < sizeof frame_cases / sizeof *frame_cases; i++) {
		const struct frame_case *c = &frame_cases[i];
		uint8_t t;
		const uint8_t *v;
		uint32_t n;

		connect_client(f);
		if (c->after_handshake)
			handshake(f);
		send_bytes(f, c->bytes, c->len);
		switch (c->outcome) {
		case ERROR_AND_CLOSE:
			if (!recv_tlv(f, &t, &v, &n) || t != 2)
				fail_msg("%s: no Error frame", c->name);
			if (!closed_by_agent(f))
				fail_msg("%s: connection left open", c->name);
			break;
		case CLOSE:
			if (recv_tlv(f, &t, &v, &n) || !closed_by_agent(f))
				fail_msg("%s: not closed quietly", c->name);
			break;
		case IGNORED:
			if (pump(f, 200))
				fail_msg("%s: got an answer", c->name);
			/* Still serving: the Handshake (again) is answered or ignored,
			 * and an Error from us still closes. */
			if (!c->after_handshake)
				handshake(f);
			send_tlv(f, 2, "done", 4);
			if (!closed_by_agent(f))
				fail_msg("%s: connection not serving afterwards", c->name);
			break;
		}
		close(f->fd);
		f->fd = -1;
	}
}

/* Several connections at once, and the agent stopping while they are open. */
static void test_stop_with_connections(void **state)
{
	fixture *f = *state;
	int fds[3];

	for (int i = 0; i < 3; i++) {
		connect_client(f);
		handshake(f);
		fds[i] = f->fd;
	}
	usp_agent_stop(f->a);
	f->a = NULL;
	core_loop_free(f->loop);
	f->loop = NULL;
	for (int i = 0; i < 3; i++) {
		/* frames still unread (the UDSConnect record, the closing
		 * DisconnectRecord of R-MTP.7) may come first, then the end of
		 * the stream: the agent closed every connection */
		char buf[4096];
		ssize_t n;
		int reads = 0;
		while ((n = recv(fds[i], buf, sizeof buf, 0)) > 0 && reads < 64)
			reads++;
		assert_int_equal(n, 0);
		close(fds[i]);
	}
	f->fd = -1;
	assert_int_equal(access(f->sock, F_OK), -1); /* the socket file is gone */
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	usp_options uo = {0};
	assert_int_equal(usp_agent_start(f->d, f->loop, &uo, &f->a), DM_OK);
}

int main(void)
{
	/* as duetd does (core signals): a peer gone mid-write is an error
	 * return, not the end of the process */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_split_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_connections, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
