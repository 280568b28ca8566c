/*
 * test_cwmp_transfer.c - the transfer module on a real engine (bundled
 * model and factory defaults), a real core loop and a small HTTP file
 * server running in a thread of the test (GET of registered files, Basic
 * authentication under /auth/, 404, PUT bodies kept, /slow never answers
 * until released). The agent is filled by hand; its raise and
 * after_session hooks record their calls, and each test runs the loop
 * until the call it waits for arrives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cwmp_int.h"
#include "firmware.h"
#include "transfer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * The file server
 * ------------------------------------------------------------------------- */

#define MAX_FILES 8
#define BASIC_USER_PASS "Basic dXNlcjpwYXNz" /* user:pass */

typedef struct srv {
	int fd, port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		char path[64];
		char *body;
		size_t len;
	} files[MAX_FILES];
	int n_files;
	char put_path[256];
	char *put_body;
	int n_put;
	int slow_seen, release, stop;
} srv;

static void srv_file(srv *s, const char *path, const char *body, size_t len)
{
	pthread_mutex_lock(&s->mu);
	assert_true(s->n_files < MAX_FILES);
	snprintf(s->files[s->n_files].path, sizeof s->files[0].path, "%s", path);
	s->files[s->n_files].body = malloc(len + 1);
	memcpy(s->files[s->n_files].body, body, len);
	s->files[s->n_files].len = len;
	s->n_files++;
	pthread_mutex_unlock(&s->mu);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int code, const char *reason, const char *extra, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", code, reason,
			 len, extra ? extra : "");
	send_all(fd, head, (size_t)n);
	if (len)
		send_all(fd, body, len);
}

static const char *header(const char *head, const char *name, char *buf, size_t n)
{
	const char *p = head;
	size_t nl = strlen(name);
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(buf, n, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return buf;
		}
	}
	return NULL;
}

static void serve_get(srv *s, int fd, const char *path)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_files; i++) {
		if (!strcmp(s->files[i].path, path)) {
			respond(fd, 200, "OK", NULL, s->files[i].body, s->files[i].len);
			pthread_mutex_unlock(&s->mu);
			return;
		}
	}
	pthread_mutex_unlock(&s->mu);
	respond(fd, 404, "Not Found", NULL, "", 0);
}

static void serve_one(srv *s, int fd)
{
	char req[16384], method[16], path[256], hv[128];
	size_t len = 0;
	char *end = NULL;

	while (len < sizeof req - 1 && !end) {
		ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		end = strstr(req, "\r\n\r\n");
	}
	if (!end || sscanf(req, "%15s %255s", method, path) != 2)
		return;
	if (!strncmp(path, "/auth/", 6) &&
	    (!header(req, "Authorization", hv, sizeof hv) || strcmp(hv, BASIC_USER_PASS))) {
		respond(fd, 401, "Unauthorized", "WWW-Authenticate: Basic realm=\"duet\"\r\n", "", 0);
		return;
	}
	if (!strcmp(path, "/slow")) {
		pthread_mutex_lock(&s->mu);
		s->slow_seen = 1;
		while (!s->release)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (!strcmp(method, "PUT")) {
		size_t want = header(req, "Content-Length", hv, sizeof hv) ? strtoul(hv, NULL, 10) : 0;
		size_t have = len - (size_t)(end + 4 - req);
		char *body = malloc(want + 1);
		if (header(req, "Expect", hv, sizeof hv))
			send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		memcpy(body, end + 4, have < want ? have : want);
		while (have < want) {
			ssize_t n = recv(fd, body + have, want - have, 0);
			if (n <= 0)
				break;
			have += (size_t)n;
		}
		body[have < want ? have : want] = '\0';
		pthread_mutex_lock(&s->mu);
		free(s->put_body);
		s->put_body = body;
		snprintf(s->put_path, sizeof s->put_path, "%s", path);
		s->n_put++;
		pthread_mutex_unlock(&s->mu);
		respond(fd, 200, "OK", NULL, "", 0);
		return;
	}
	serve_get(s, fd, path);
}

static void *srv_main(void *arg)
{
	srv *s = arg;
	for (;;) {
		struct pollfd p = {s->fd, POLLIN, 0};
		pthread_mutex_lock(&s->mu);
		int stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

static int listen_any(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void srv_start(srv *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->fd = listen_any(&s->port);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	s->release = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->fd);
	for (int i = 0; i < s->n_files; i++)
		free(s->files[i].body);
	free(s->put_body);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

/* ---------------------------------------------------------------------------
 * Fixture: engine, loop, agent with recording hooks, server
 * ------------------------------------------------------------------------- */

#define MAX_CALLS 64

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	cwmp_agent *a;
	cwmp_transfers *x;
	srv s;
	char raised[MAX_CALLS][48];
	char raised_key[MAX_CALLS][48];
	int n_raised;
	int reboots;
	/* run_until */
	const char *want_code;
	int want_n;
	int ticks;
} fixture;

static dm_schema *bundled;
static fixture *current;

static int fake_raise(cwmp_agent *a, const char *code, const char *key, cwmp_urgency u)
{
	fixture *f = current;
	assert_true(f->n_raised < MAX_CALLS);
	snprintf(f->raised[f->n_raised], sizeof f->raised[0], "%s", code);
	snprintf(f->raised_key[f->n_raised], sizeof f->raised_key[0], "%s", key ? key : "");
	f->n_raised++;
	return 0;
}

static void fake_after_session(cwmp_agent *a, cwmp_after after, const char *key)
{
	if (after == CWMP_AFTER_REBOOT)
		current->reboots++;
}

static int count_raised(fixture *f, const char *code, const char *key)
{
	int n = 0;
	for (int i = 0; i < f->n_raised; i++)
		if (!strcmp(f->raised[i], code) && (!key || !strcmp(f->raised_key[i], key)))
			n++;
	return n;
}

static void open_transfers(fixture *f)
{
	assert_int_equal(cwmp_transfers_open(f->a, &f->x), 0);
}

static void close_transfers(fixture *f)
{
	cwmp_transfers_close(f->x);
	f->x = NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	current = f;
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-xfer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err = {0};
	assert_int_equal(dm_open(bundled, &o, &f->d, &err), DM_OK);
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	f->a = calloc(1, sizeof *f->a);
	f->a->d = f->d;
	f->a->loop = f->loop;
	f->a->state_dir = strdup(f->dir);
	snprintf(f->a->origin_who, sizeof f->a->origin_who, "http://acs.test/");
	f->a->origin.kind = DM_ORIGIN_CWMP;
	f->a->origin.who = f->a->origin_who;
	f->a->raise = fake_raise;
	f->a->after_session = fake_after_session;
	srv_start(&f->s);
	open_transfers(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	if (f->x)
		close_transfers(f);
	srv_stop(&f->s); /* releases /slow so that an orphaned worker ends */
	core_loop_free(f->loop);
	dm_close(f->d);
	free(f->a->state_dir);
	free(f->a);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	current = NULL;
	return 0;
}

static void poll_cb(void *ctx)
{
	fixture *f = ctx;
	/* the cap only keeps a broken build from hanging the suite */
	if (count_raised(f, f->want_code, NULL) >= f->want_n || ++f->ticks > 6000)
		core_loop_stop(f->loop);
}

/* Run the loop until code has been raised n times in all. */
static void run_until_raised(fixture *f, const char *code, int n)
{
	core_timer *t = NULL;
	f->want_code = code;
	f->want_n = n;
	f->ticks = 0;
	assert_int_equal(core_timer_start(f->loop, 5, 5, poll_cb, f, &t), CORE_OK);
	core_loop_run(f->loop);
	core_timer_stop(t);
	if (count_raised(f, code, NULL) < n)
		fail_msg("%s never raised %d times", code, n);
}

static int srv_slow_seen(fixture *f)
{
	pthread_mutex_lock(&f->s.mu);
	int seen = f->s.slow_seen;
	pthread_mutex_unlock(&f->s.mu);
	return seen;
}

static void poll_slow(void *ctx)
{
	fixture *f = ctx;
	if (srv_slow_seen(f) || ++f->ticks > 6000)
		core_loop_stop(f->loop);
}

static void assert_value(dm *d, const char *path, const char *want)
{
	char buf[512];
	dm_errinfo err = {0};
	if (dm_get_value_buf(d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

static char *url(fixture *f, const char *path)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "http://127.0.0.1:%d%s", f->s.port, path);
	return b;
}

/* ---------------------------------------------------------------------------
 * Requests and reports
 * ------------------------------------------------------------------------- */

static cwmp_msg transfer_req(cwmp_msg_kind kind, const char *key, const char *type, const char *u,
			     unsigned delay)
{
	cwmp_msg m;
	memset(&m, 0, sizeof m);
	m.kind = kind;
	m.u.transfer.command_key = (char *)key;
	m.u.transfer.file_type = (char *)type;
	m.u.transfer.url = (char *)u;
	m.u.transfer.username = "";
	m.u.transfer.password = "";
	m.u.transfer.delay_seconds = delay;
	return m;
}

/* Call the registered handler; returns the fault code, 0 for a response
 * (whose kind must be want). */
static unsigned call(fixture *f, const cwmp_msg *m, cwmp_msg_kind want)
{
	cwmp_reply rep;
	unsigned code = 0;
	cwmp_reply_init(&rep);
	assert_non_null(f->a->rpc[m->kind]);
	f->a->rpc[m->kind](f->a, m, &rep);
	if (rep.msg.kind == CWMP_MSG_FAULT)
		code = rep.msg.u.fault.code;
	else
		assert_int_equal(rep.msg.kind, want);
	if (want == CWMP_MSG_DOWNLOAD_RESPONSE && !code) {
		assert_int_equal(rep.msg.u.transfer_response.status, 1);
		assert_string_equal(rep.msg.u.transfer_response.start_time, CWMP_UNKNOWN_TIME);
		assert_string_equal(rep.msg.u.transfer_response.complete_time, CWMP_UNKNOWN_TIME);
	}
	cwmp_reply_free(&rep);
	return code;
}

static unsigned download(fixture *f, const char *key, const char *type, const char *u, unsigned delay)
{
	cwmp_msg m = transfer_req(CWMP_MSG_DOWNLOAD, key, type, u, delay);
	return call(f, &m, CWMP_MSG_DOWNLOAD_RESPONSE);
}

/* The next TransferComplete: its fault code and string; acknowledged
 * unless keep. */
static unsigned take_report(fixture *f, const char *key, char *fstr, size_t n, bool keep)
{
	cwmp_reply rep;
	cwmp_msg ack;
	unsigned code;
	cwmp_reply_init(&rep);
	assert_true(f->a->next_request(f->a, &rep));
	assert_int_equal(rep.msg.kind, CWMP_MSG_TRANSFER_COMPLETE);
	assert_string_equal(rep.msg.u.transfer_complete.command_key, key);
	code = rep.msg.u.transfer_complete.fault_code;
	if (fstr)
		snprintf(fstr, n, "%s", rep.msg.u.transfer_complete.fault_string);
	assert_string_not_equal(rep.msg.u.transfer_complete.complete_time, CWMP_UNKNOWN_TIME);
	cwmp_reply_free(&rep);
	if (!keep) {
		memset(&ack, 0, sizeof ack);
		ack.kind = CWMP_MSG_TRANSFER_COMPLETE_RESPONSE;
		f->a->request_answered(f->a, &ack);
	}
	return code;
}

static bool has_report(fixture *f)
{
	cwmp_reply rep;
	cwmp_reply_init(&rep);
	bool any = f->a->next_request(f->a, &rep);
	cwmp_reply_free(&rep);
	return any;
}

/* Download with DelaySeconds 0: queued, started by the end of the session,
 * run until it reports. */
static unsigned download_now(fixture *f, const char *key, const char *type, const char *u, char *fstr,
			     size_t n)
{
	int before = count_raised(f, "7 TRANSFER COMPLETE", NULL);
	assert_int_equal(download(f, key, type, u, 0), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", before + 1);
	assert_true(count_raised(f, "M Download", key) >= 1);
	return take_report(f, key, fstr, n, false);
}

static const char fw_image[] = "DUET-FIRMWARE 1\nversion=0.3.0\nname=duetgw-0.3.0.img\n\npayload";

/* ---------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------- */

static void test_config_file_applies(void **state)
{
	fixture *f = *state;
	const char *cfg = "# restore\n"
			  "Device.DeviceInfo.ProvisioningCode NEW.CODE\n"
			  "\n"
			  "Device.DeviceInfo.FriendlyName \"Kitchen \\\"GW\\\"\"\r\n"
			  "  Device.ManagementServer.PeriodicInformInterval 600\n";
	srv_file(&f->s, "/cfg/site.cfg", cfg, strlen(cfg));
	assert_int_equal(download_now(f, "cfg1", "3 Vendor Configuration File", url(f, "/cfg/site.cfg"), NULL, 0), 0);
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "NEW.CODE");
	assert_value(f->d, "Device.DeviceInfo.FriendlyName", "Kitchen \"GW\"");
	assert_value(f->d, "Device.ManagementServer.PeriodicInformInterval", "600");
	assert_value(f->d, "Device.DeviceInfo.VendorConfigFile.1.Name", "site.cfg");
	assert_false(has_report(f));
}

static void test_config_file_bad_line_applies_nothing(void **state)
{
	fixture *f = *state;
	char fstr[300];
	const char *cfg = "Device.DeviceInfo.ProvisioningCode CHANGED\n"
			  "# fine so far\n"
			  "Device.DeviceInfo.NoSuchParameter 1\n";
	const char *cfg2 = "Device.DeviceInfo.ProvisioningCode CHANGED\n"
			   "Device.DeviceInfo.FriendlyName \"unterminated\n";
	srv_file(&f->s, "/bad.cfg", cfg, strlen(cfg));
	srv_file(&f->s, "/bad2.cfg", cfg2, strlen(cfg2));
	assert_int_equal(download_now(f, "bad", "3 Vendor Configuration File", url(f, "/bad.cfg"), fstr, sizeof fstr),
			 CWMP_FAULT_FILE_CORRUPTED);
	assert_non_null(strstr(fstr, "line 3"));
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "DUET.DEMO");
	assert_int_equal(download_now(f, "bad2", "3 Vendor Configuration File", url(f, "/bad2.cfg"), fstr, sizeof fstr),
			 CWMP_FAULT_FILE_CORRUPTED);
	assert_non_null(strstr(fstr, "line 2"));
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "DUET.DEMO");
}

static void test_firmware_installs_and_reports_after_reboot(void **state)
{
	fixture *f = *state;
	bool switched = false;
	srv_file(&f->s, "/fw.img", fw_image, sizeof fw_image - 1);
	assert_int_equal(download(f, "fw", "1 Firmware Upgrade Image", url(f, "/fw.img"), 0), 0);
	f->a->session_ended(f->a, true);
	/* nothing is reported before the reboot: wait for the reboot request */
	for (int i = 0; i < 6000 && !f->reboots; i++)
		uv_run(core_loop_uv(f->loop), UV_RUN_ONCE);
	assert_int_equal(f->reboots, 1);
	assert_int_equal(count_raised(f, "7 TRANSFER COMPLETE", NULL), 0);
	assert_false(has_report(f));
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Version", "0.3.0");
	assert_value(f->d, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.2");
	assert_value(f->d, "Device.DeviceInfo.SoftwareVersion", "0.1.0");
	/* GetQueuedTransfers shows it in progress while it waits */
	cwmp_msg q = {.kind = CWMP_MSG_GET_QUEUED_TRANSFERS};
	cwmp_reply rep;
	cwmp_reply_init(&rep);
	f->a->rpc[q.kind](f->a, &q, &rep);
	assert_int_equal(rep.msg.u.queued.n, 1);
	assert_int_equal(rep.msg.u.queued.v[0].state, 2);
	cwmp_reply_free(&rep);

	/* the restart: main switches banks before the front ends open */
	close_transfers(f);
	assert_int_equal(core_firmware_boot(f->d, &switched), CORE_FW_OK);
	assert_true(switched);
	open_transfers(f);
	assert_int_equal(count_raised(f, "7 TRANSFER COMPLETE", NULL), 1);
	assert_int_equal(count_raised(f, "M Download", "fw"), 1);
	assert_int_equal(take_report(f, "fw", NULL, 0, false), 0);
	assert_value(f->d, "Device.DeviceInfo.SoftwareVersion", "0.3.0");
}

static void test_firmware_not_activated_fails(void **state)
{
	fixture *f = *state;
	srv_file(&f->s, "/fw.img", fw_image, sizeof fw_image - 1);
	assert_int_equal(download(f, "fw", "1 Firmware Upgrade Image", url(f, "/fw.img"), 0), 0);
	f->a->session_ended(f->a, true);
	for (int i = 0; i < 6000 && !f->reboots; i++)
		uv_run(core_loop_uv(f->loop), UV_RUN_ONCE);
	assert_int_equal(f->reboots, 1);
	/* restarted without the bank switch */
	close_transfers(f);
	open_transfers(f);
	assert_int_equal(take_report(f, "fw", NULL, 0, false), CWMP_FAULT_DOWNLOAD_FAILURE);
}

static void test_firmware_corrupt_and_stored(void **state)
{
	fixture *f = *state;
	const char junk[] = "MZ\x90\x00 not an image";
	srv_file(&f->s, "/junk.img", junk, sizeof junk - 1);
	srv_file(&f->s, "/fw.img", fw_image, sizeof fw_image - 1);
	assert_int_equal(download_now(f, "j", "1 Firmware Upgrade Image", url(f, "/junk.img"), NULL, 0),
			 CWMP_FAULT_FILE_CORRUPTED);
	assert_int_equal(f->reboots, 0);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Version", "0.0.9");
	assert_value(f->d, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");

	/* 6 Stored Firmware Image: into the bank named, no activation */
	cwmp_msg m = transfer_req(CWMP_MSG_DOWNLOAD, "st", "6 Stored Firmware Image", url(f, "/fw.img"), 0);
	m.u.transfer.target_file_name = "Device.DeviceInfo.FirmwareImage.2";
	assert_int_equal(call(f, &m, CWMP_MSG_DOWNLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 2);
	assert_int_equal(take_report(f, "st", NULL, 0, false), 0);
	assert_int_equal(f->reboots, 0);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.2.Version", "0.3.0");
	assert_value(f->d, "Device.DeviceInfo.BootFirmwareImage", "Device.DeviceInfo.FirmwareImage.1");
	/* not over the running image */
	m.u.transfer.command_key = "st1";
	m.u.transfer.target_file_name = "1";
	assert_int_equal(call(f, &m, CWMP_MSG_DOWNLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 3);
	assert_int_equal(take_report(f, "st1", NULL, 0, false), CWMP_FAULT_REQUEST_DENIED);
	assert_value(f->d, "Device.DeviceInfo.FirmwareImage.1.Version", "0.1.0");
}

static void test_fetch_failures(void **state)
{
	fixture *f = *state;
	char refused[64];
	int port;
	int fd = listen_any(&port);
	close(fd); /* nothing listens there now */
	snprintf(refused, sizeof refused, "http://127.0.0.1:%d/x.cfg", port);
	const char *cfg = "Device.DeviceInfo.ProvisioningCode AUTHED\n";
	srv_file(&f->s, "/auth/a.cfg", cfg, strlen(cfg));

	assert_int_equal(download_now(f, "nf", "3 Vendor Configuration File", url(f, "/missing.cfg"), NULL, 0),
			 CWMP_FAULT_ACCESS_FILE);
	assert_int_equal(download_now(f, "rf", "3 Vendor Configuration File", refused, NULL, 0),
			 CWMP_FAULT_CONTACT_FILE_SERVER);
	assert_int_equal(download_now(f, "au", "3 Vendor Configuration File", url(f, "/auth/a.cfg"), NULL, 0),
			 CWMP_FAULT_FILE_SERVER_AUTH);
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "DUET.DEMO");
	/* with the right credentials */
	cwmp_msg m = transfer_req(CWMP_MSG_DOWNLOAD, "ok", "3 Vendor Configuration File", url(f, "/auth/a.cfg"), 0);
	m.u.transfer.username = "user";
	m.u.transfer.password = "pass";
	assert_int_equal(call(f, &m, CWMP_MSG_DOWNLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 4);
	assert_int_equal(take_report(f, "ok", NULL, 0, false), 0);
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "AUTHED");
}

static void test_download_refusals(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *key, *type, *url;
		unsigned fault;
	} rows[] = {
		{"k", "3 Vendor Configuration File", "ftp://127.0.0.1/x.cfg", CWMP_FAULT_UNSUPPORTED_PROTOCOL},
		{"k", "3 Vendor Configuration File", "http://u:p@127.0.0.1/x.cfg", CWMP_FAULT_INVALID_ARGUMENTS},
		{"k", "3 Vendor Configuration File", "127.0.0.1/x.cfg", CWMP_FAULT_INVALID_ARGUMENTS},
		{"k", "3 Vendor Configuration File", "", CWMP_FAULT_INVALID_ARGUMENTS},
		{"k", "2 Web Content", "http://127.0.0.1/x", CWMP_FAULT_INVALID_ARGUMENTS},
		{"k", "X 02D0E7 Thing", "http://127.0.0.1/x", CWMP_FAULT_INVALID_ARGUMENTS},
		{"012345678901234567890123456789012", "3 Vendor Configuration File", "http://127.0.0.1/x",
		 CWMP_FAULT_INVALID_ARGUMENTS},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		unsigned got = download(f, rows[i].key, rows[i].type, rows[i].url, 0);
		if (got != rows[i].fault)
			fail_msg("row %zu: fault %u, want %u", i, got, rows[i].fault);
	}
	/* the queue holds 16 */
	for (int i = 0; i < 16; i++)
		assert_int_equal(download(f, "q", "3 Vendor Configuration File", "https://127.0.0.1/x", 3600), 0);
	assert_int_equal(download(f, "q", "3 Vendor Configuration File", "https://127.0.0.1/x", 3600),
			 CWMP_FAULT_RESOURCES_EXCEEDED);
	assert_int_equal(f->n_raised, 0);
}

static void test_upload_config_and_log(void **state)
{
	fixture *f = *state;
	cwmp_msg m = transfer_req(CWMP_MSG_UPLOAD, "up", "1 Vendor Configuration File", url(f, "/put/cfg"), 0);
	assert_int_equal(call(f, &m, CWMP_MSG_UPLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 1);
	assert_int_equal(count_raised(f, "M Upload", "up"), 1);
	assert_int_equal(take_report(f, "up", NULL, 0, false), 0);
	pthread_mutex_lock(&f->s.mu);
	assert_int_equal(f->s.n_put, 1);
	assert_string_equal(f->s.put_path, "/put/cfg");
	assert_non_null(strstr(f->s.put_body, "\nDevice.ManagementServer.PeriodicInformInterval 3600\n"));
	assert_non_null(strstr(f->s.put_body, "\nDevice.DeviceInfo.FriendlyName \"Duet Gateway\"\n"));
	/* read-only and hidden parameters stay out */
	assert_null(strstr(f->s.put_body, "Device.DeviceInfo.SerialNumber"));
	assert_null(strstr(f->s.put_body, "Device.ManagementServer.Password"));
	pthread_mutex_unlock(&f->s.mu);

	m = transfer_req(CWMP_MSG_UPLOAD, "log", "2 Vendor Log File", url(f, "/auth/log"), 0);
	m.u.transfer.username = "user";
	m.u.transfer.password = "pass";
	assert_int_equal(call(f, &m, CWMP_MSG_UPLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 2);
	assert_int_equal(take_report(f, "log", NULL, 0, false), 0);
	pthread_mutex_lock(&f->s.mu);
	assert_string_equal(f->s.put_path, "/auth/log");
	assert_non_null(strstr(f->s.put_body, "boot count"));
	assert_non_null(strstr(f->s.put_body, "Upload \"up\": ok"));
	pthread_mutex_unlock(&f->s.mu);

	/* a row that does not exist, and no credentials for /auth/ */
	m = transfer_req(CWMP_MSG_UPLOAD, "x", "3 Vendor Configuration File 7", url(f, "/put/cfg"), 0);
	assert_int_equal(call(f, &m, CWMP_MSG_UPLOAD_RESPONSE), CWMP_FAULT_INVALID_ARGUMENTS);
	m = transfer_req(CWMP_MSG_UPLOAD, "na", "2 Vendor Log File", url(f, "/auth/log"), 0);
	assert_int_equal(call(f, &m, CWMP_MSG_UPLOAD_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 3);
	assert_int_equal(take_report(f, "na", NULL, 0, false), CWMP_FAULT_FILE_SERVER_AUTH);
}

static void test_cancel_transfer(void **state)
{
	fixture *f = *state;
	cwmp_msg c = {.kind = CWMP_MSG_CANCEL_TRANSFER};
	cwmp_msg q = {.kind = CWMP_MSG_GET_QUEUED_TRANSFERS};
	cwmp_reply rep;
	assert_int_equal(download(f, "later", "3 Vendor Configuration File", url(f, "/x"), 3600), 0);
	assert_int_equal(download(f, "keep", "3 Vendor Configuration File", url(f, "/x"), 3600), 0);
	c.u.command_key = "later";
	assert_int_equal(call(f, &c, CWMP_MSG_CANCEL_TRANSFER_RESPONSE), 0);
	c.u.command_key = "never-seen";
	assert_int_equal(call(f, &c, CWMP_MSG_CANCEL_TRANSFER_RESPONSE), CWMP_FAULT_INVALID_ARGUMENTS);
	c.u.command_key = "later";
	assert_int_equal(call(f, &c, CWMP_MSG_CANCEL_TRANSFER_RESPONSE), CWMP_FAULT_INVALID_ARGUMENTS);

	cwmp_reply_init(&rep);
	f->a->rpc[q.kind](f->a, &q, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_GET_QUEUED_TRANSFERS_RESPONSE);
	assert_int_equal(rep.msg.u.queued.n, 1);
	assert_string_equal(rep.msg.u.queued.v[0].command_key, "keep");
	cwmp_reply_free(&rep);
	/* the cancellation is durable and reports nothing */
	close_transfers(f);
	open_transfers(f);
	cwmp_reply_init(&rep);
	f->a->rpc[q.kind](f->a, &q, &rep);
	assert_int_equal(rep.msg.u.queued.n, 1);
	cwmp_reply_free(&rep);
	assert_int_equal(f->n_raised, 0);
	assert_false(has_report(f));
}

static void test_cancel_running_refused(void **state)
{
	fixture *f = *state;
	cwmp_msg c = {.kind = CWMP_MSG_CANCEL_TRANSFER};
	core_timer *t = NULL;
	assert_int_equal(download(f, "slow", "3 Vendor Configuration File", url(f, "/slow"), 0), 0);
	f->a->session_ended(f->a, true);
	f->ticks = 0;
	assert_int_equal(core_timer_start(f->loop, 5, 5, poll_slow, f, &t), CORE_OK);
	core_loop_run(f->loop);
	core_timer_stop(t);
	assert_true(srv_slow_seen(f));
	c.u.command_key = "slow";
	assert_int_equal(call(f, &c, CWMP_MSG_CANCEL_TRANSFER_RESPONSE), CWMP_FAULT_CANCEL_NOT_PERMITTED);

	/* the agent stops while the download runs: after the restart it is
	 * reported failed */
	close_transfers(f);
	open_transfers(f);
	assert_int_equal(count_raised(f, "M Download", "slow"), 1);
	char fstr[256];
	assert_int_equal(take_report(f, "slow", fstr, sizeof fstr, false), CWMP_FAULT_DOWNLOAD_FAILURE);
	assert_non_null(strstr(fstr, "restart"));
}

static void test_queued_listing(void **state)
{
	fixture *f = *state;
	cwmp_msg m = transfer_req(CWMP_MSG_DOWNLOAD, "d1", "1 Firmware Upgrade Image", url(f, "/fw.img"), 600);
	m.u.transfer.file_size = 1234;
	m.u.transfer.target_file_name = "fw.img";
	assert_int_equal(call(f, &m, CWMP_MSG_DOWNLOAD_RESPONSE), 0);
	m = transfer_req(CWMP_MSG_UPLOAD, "u1", "2 Vendor Log File", url(f, "/put/log"), 600);
	assert_int_equal(call(f, &m, CWMP_MSG_UPLOAD_RESPONSE), 0);

	cwmp_msg q = {.kind = CWMP_MSG_GET_ALL_QUEUED_TRANSFERS};
	cwmp_reply rep;
	cwmp_reply_init(&rep);
	f->a->rpc[q.kind](f->a, &q, &rep);
	assert_int_equal(rep.msg.kind, CWMP_MSG_GET_ALL_QUEUED_TRANSFERS_RESPONSE);
	assert_int_equal(rep.msg.u.queued.n, 2);
	cwmp_queued_transfer *v = rep.msg.u.queued.v;
	assert_string_equal(v[0].command_key, "d1");
	assert_int_equal(v[0].state, 1);
	assert_int_equal(v[0].is_download, 1);
	assert_string_equal(v[0].file_type, "1 Firmware Upgrade Image");
	assert_int_equal(v[0].file_size, 1234);
	assert_string_equal(v[0].target_file_name, "fw.img");
	assert_string_equal(v[1].command_key, "u1");
	assert_int_equal(v[1].is_download, 0);
	assert_string_equal(v[1].file_type, "2 Vendor Log File");
	cwmp_reply_free(&rep);

	/* factory reset empties the queue, durably */
	assert_int_equal(cwmp_transfers_reset(f->x), 0);
	close_transfers(f);
	open_transfers(f);
	q.kind = CWMP_MSG_GET_QUEUED_TRANSFERS;
	cwmp_reply_init(&rep);
	f->a->rpc[q.kind](f->a, &q, &rep);
	assert_int_equal(rep.msg.u.queued.n, 0);
	cwmp_reply_free(&rep);
}

static void test_schedule_download_windows(void **state)
{
	fixture *f = *state;
	static const struct {
		cwmp_time_window w[2];
		size_t n;
		unsigned fault;
	} rows[] = {
		{{{10, 10, "1 At Any Time", NULL, -1}}, 1, CWMP_FAULT_INVALID_ARGUMENTS},
		{{{20, 10, "1 At Any Time", NULL, -1}}, 1, CWMP_FAULT_INVALID_ARGUMENTS},
		{{{0, 100, "1 At Any Time", NULL, -1}, {50, 200, "1 At Any Time", NULL, -1}}, 2,
		 CWMP_FAULT_INVALID_ARGUMENTS},
		{{{300, 400, "1 At Any Time", NULL, -1}, {0, 100, "1 At Any Time", NULL, -1}}, 2,
		 CWMP_FAULT_INVALID_ARGUMENTS},
		{{{0, 100, "9 Whenever", NULL, -1}}, 1, CWMP_FAULT_INVALID_ARGUMENTS},
		{{{0, 0, NULL, NULL, -1}}, 0, CWMP_FAULT_INVALID_ARGUMENTS},
		{{{3600, 7200, "1 At Any Time", NULL, -1}, {7200, 9000, "3 When Idle", NULL, -1}}, 2, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		cwmp_msg m = transfer_req(CWMP_MSG_SCHEDULE_DOWNLOAD, "sd", "1 Firmware Upgrade Image", url(f, "/fw"), 0);
		cwmp_time_window w[2];
		memcpy(w, rows[i].w, sizeof w);
		m.u.transfer.windows = w;
		m.u.transfer.n_windows = rows[i].n;
		unsigned got = call(f, &m, CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE);
		if (got != rows[i].fault)
			fail_msg("row %zu: fault %u, want %u", i, got, rows[i].fault);
	}
	/* no user to confirm: 9020 once the window has passed */
	cwmp_time_window w = {0, 1, "4 Confirmation Needed", "Upgrade now?", -1};
	cwmp_msg m = transfer_req(CWMP_MSG_SCHEDULE_DOWNLOAD, "ask", "1 Firmware Upgrade Image", url(f, "/fw"), 0);
	m.u.transfer.windows = &w;
	m.u.transfer.n_windows = 1;
	assert_int_equal(call(f, &m, CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE), 0);
	run_until_raised(f, "7 TRANSFER COMPLETE", 1);
	assert_int_equal(count_raised(f, "M ScheduleDownload", "ask"), 1);
	assert_int_equal(take_report(f, "ask", NULL, 0, false), CWMP_FAULT_TIME_WINDOWS);
}

static void test_reports_retry_and_persist(void **state)
{
	fixture *f = *state;
	cwmp_msg resp;
	assert_int_equal(download(f, "r1", "3 Vendor Configuration File", url(f, "/none"), 0), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 1);

	/* 8005: kept, but not offered again in this session */
	assert_int_equal(take_report(f, "r1", NULL, 0, true), CWMP_FAULT_ACCESS_FILE);
	memset(&resp, 0, sizeof resp);
	resp.kind = CWMP_MSG_FAULT;
	resp.u.fault.code = CWMP_ACS_FAULT_RETRY_REQUEST;
	f->a->request_answered(f->a, &resp);
	assert_false(has_report(f));
	f->a->session_ended(f->a, false);
	assert_true(has_report(f));

	/* unacknowledged reports survive a restart and are announced again */
	close_transfers(f);
	f->n_raised = 0;
	open_transfers(f);
	assert_true(count_raised(f, "7 TRANSFER COMPLETE", NULL) >= 1);
	assert_int_equal(take_report(f, "r1", NULL, 0, false), CWMP_FAULT_ACCESS_FILE);
	assert_false(has_report(f));
	close_transfers(f);
	open_transfers(f);
	assert_false(has_report(f));

	/* another ACS fault drops the report */
	assert_int_equal(download(f, "r2", "3 Vendor Configuration File", url(f, "/none"), 0), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "7 TRANSFER COMPLETE", 2);
	take_report(f, "r2", NULL, 0, true);
	resp.u.fault.code = CWMP_ACS_FAULT_INVALID_ARGUMENTS;
	f->a->request_answered(f->a, &resp);
	f->a->session_ended(f->a, true);
	assert_false(has_report(f));
}

static void test_delay_waits_for_timer(void **state)
{
	fixture *f = *state;
	const char *cfg = "Device.DeviceInfo.ProvisioningCode TIMED\n";
	srv_file(&f->s, "/t.cfg", cfg, strlen(cfg));
	/* DelaySeconds 1: no session end needed, the timer starts it */
	assert_int_equal(download(f, "t", "3 Vendor Configuration File", url(f, "/t.cfg"), 1), 0);
	run_until_raised(f, "7 TRANSFER COMPLETE", 1);
	assert_int_equal(take_report(f, "t", NULL, 0, false), 0);
	assert_value(f->d, "Device.DeviceInfo.ProvisioningCode", "TIMED");
}

/* ---------------------------------------------------------------------------
 * ChangeDUState
 * ------------------------------------------------------------------------- */

static bool uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static void du_call(fixture *f, cwmp_du_op *ops, size_t n, const char *key)
{
	cwmp_msg m;
	memset(&m, 0, sizeof m);
	m.kind = CWMP_MSG_CHANGE_DU_STATE;
	m.u.du_ops.v = ops;
	m.u.du_ops.n = n;
	m.u.du_ops.command_key = (char *)key;
	assert_int_equal(call(f, &m, CWMP_MSG_CHANGE_DU_STATE_RESPONSE), 0);
	f->a->session_ended(f->a, true);
	run_until_raised(f, "11 DU STATE CHANGE COMPLETE", count_raised(f, "11 DU STATE CHANGE COMPLETE", NULL) + 1);
	assert_true(count_raised(f, "M ChangeDUState", key) >= 1);
}

static void test_change_du_state(void **state)
{
	fixture *f = *state;
	const char *pkg = "version=2.5\nbinary stuff\n";
	char uuid[40];
	cwmp_reply rep;
	cwmp_msg ack = {.kind = CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE};
	srv_file(&f->s, "/du/app.pkg", pkg, strlen(pkg));

	cwmp_du_op install[] = {
		{.op = CWMP_DU_INSTALL, .url = url(f, "/du/app.pkg")},
		{.op = CWMP_DU_INSTALL, .url = url(f, "/du/app.pkg"), .uuid = "not-a-uuid"},
		{.op = CWMP_DU_INSTALL, .url = url(f, "/du/missing.pkg")},
	};
	du_call(f, install, 3, "du1");
	cwmp_reply_init(&rep);
	assert_true(f->a->next_request(f->a, &rep));
	assert_int_equal(rep.msg.kind, CWMP_MSG_DU_STATE_CHANGE_COMPLETE);
	assert_string_equal(rep.msg.u.du_results.command_key, "du1");
	assert_int_equal(rep.msg.u.du_results.n, 3);
	cwmp_du_result *r = rep.msg.u.du_results.v;
	assert_int_equal(r[0].fault_code, 0);
	assert_string_equal(r[0].current_state, "Installed");
	assert_string_equal(r[0].version, "2.5");
	assert_string_equal(r[0].deployment_unit_ref, "Device.SoftwareModules.DeploymentUnit.1");
	assert_true(uuid_shaped(r[0].uuid));
	assert_int_equal(r[0].uuid[14], '4');
	snprintf(uuid, sizeof uuid, "%s", r[0].uuid);
	assert_int_equal(r[1].fault_code, CWMP_FAULT_INVALID_UUID);
	assert_int_equal(r[2].fault_code, CWMP_FAULT_ACCESS_FILE);
	assert_string_equal(r[2].current_state, "Failed");
	cwmp_reply_free(&rep);
	f->a->request_answered(f->a, &ack);
	assert_false(has_report(f));
	assert_value(f->d, "Device.SoftwareModules.DeploymentUnit.1.Name", "app.pkg");
	assert_value(f->d, "Device.SoftwareModules.DeploymentUnit.1.UUID", uuid);
	assert_value(f->d, "Device.SoftwareModules.DeploymentUnit.1.Status", "Installed");

	cwmp_du_op remove[] = {
		{.op = CWMP_DU_INSTALL, .url = url(f, "/du/app.pkg"), .uuid = uuid},
		{.op = CWMP_DU_UNINSTALL, .uuid = uuid},
		{.op = CWMP_DU_UNINSTALL, .uuid = uuid},
	};
	du_call(f, remove, 3, "du2");
	cwmp_reply_init(&rep);
	assert_true(f->a->next_request(f->a, &rep));
	r = rep.msg.u.du_results.v;
	assert_int_equal(r[0].fault_code, CWMP_FAULT_DUPLICATE_DU);
	assert_int_equal(r[1].fault_code, 0);
	assert_string_equal(r[1].current_state, "Uninstalled");
	assert_int_equal(r[2].fault_code, CWMP_FAULT_UNKNOWN_DU);
	cwmp_reply_free(&rep);
	f->a->request_answered(f->a, &ack);
	char buf[64];
	dm_errinfo err;
	assert_int_not_equal(dm_get_value_buf(f->d, NULL, "Device.SoftwareModules.DeploymentUnit.1.Name", buf,
					      sizeof buf, &err),
			     DM_OK);

	/* an operation without its mandatory part is refused whole */
	cwmp_du_op bad[] = {{.op = CWMP_DU_UNINSTALL}};
	cwmp_msg m;
	memset(&m, 0, sizeof m);
	m.kind = CWMP_MSG_CHANGE_DU_STATE;
	m.u.du_ops.v = bad;
	m.u.du_ops.n = 1;
	assert_int_equal(call(f, &m, CWMP_MSG_CHANGE_DU_STATE_RESPONSE), CWMP_FAULT_INVALID_ARGUMENTS);
}

static int group_setup(void **state)
{
	dm_errinfo err = {0};
	core_log_set_level(CORE_LOG_ERROR);
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(bundled);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_file_applies),
		T(test_config_file_bad_line_applies_nothing),
		T(test_firmware_installs_and_reports_after_reboot),
		T(test_firmware_not_activated_fails),
		T(test_firmware_corrupt_and_stored),
		T(test_fetch_failures),
		T(test_download_refusals),
		T(test_upload_config_and_log),
		T(test_cancel_transfer),
		T(test_cancel_running_refused),
		T(test_queued_listing),
		T(test_schedule_download_windows),
		T(test_reports_retry_and_persist),
		T(test_delay_waits_for_timer),
		T(test_change_du_state),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
