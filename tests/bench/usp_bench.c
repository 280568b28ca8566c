/*
 * usp_bench.c - the USP part of `make bench`: the real duetd driven as a
 * Controller would drive it, over WebSocket, its UNIX socket (--usp-socket)
 * and MQTT 5 through a private mosquitto, each figure with its ratio to the
 * reference agent obuspa measured on the same 2-core machine. The load
 * generators are here: a minimal WebSocket client on a plain TCP socket, the
 * UDS framing with its Handshake, and libmosquitto driven from this thread.
 * Requests are encoded once with the generated protobuf-c code and only
 * their msg_id (and Set value) patched per send; answers are checked by a
 * field scan (msg_id, msg_type) and fully decoded only where their content
 * is counted. Prints figures; asserts nothing. The engine alone is bench.c's.
 */
#include "usp-msg-1-4.pb-c.h"
#include "usp-record-1-4.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int usp_bench_run(const char *schema_file);

/* obuspa on this machine (8 outstanding Gets of Device.DeviceInfo.). */
#define OBUSPA_WS_GETS 14800.0
#define OBUSPA_MQTT_GETS 10700.0
#define OBUSPA_SETS 1000.0
#define OBUSPA_TREE_MS 122.0
#define OBUSPA_TREE_PARAMS 11300.0
#define OBUSPA_RSS_MIB 16.0

#define TREE_TARGET 11300 /* parameters in Device. for the whole-tree Get */
#ifndef WARM_S
#define WARM_S 0.2 /* per load run: not measured */
#endif
#ifndef RUN_S
#define RUN_S 1.5 /* per load run: measured */
#endif
#define WAIT_MS 5000      /* longest wait for any one answer */
#define TREE_GETS 15

#define CTL_ID "proto::duet-bench"
#define CTL_TOPIC "usp/controller/duet-bench"
#define AGENT_TOPIC "usp/agent/DG0000000001" /* factory defaults */
#define ECHO_TOPIC "duet-bench/echo"
#define ID_HOLE "@@@@@@@@" /* patched with the request's sequence number */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(const char *what, double value, const char *unit, const char *base_what, double base,
		const char *target)
{
	if (value < 0) {
		printf("%-44s %12s %-8s  (not measured)\n", what, "-", unit);
		return;
	}
	printf("%-44s %12.1f %-8s", what, value, unit);
	if (base > 0)
		printf("  ratio %6.2fx %s", value / base, base_what);
	if (target)
		printf("  (target %s)", target);
	printf("\n");
}

/* ---- processes and the temporary directory ------------------------------------- */

static struct {
	char dir[64];
	pid_t duetd, broker;
	char state[128], defaults[128], admin[128], usp_sock[128], dlog[128], bconf[128], blog[128];
	char duetd_exe[512], schema[1024], agent_id[256];
	int ws_port, mqtt_port;
} U;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void stop_proc(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static void cleanup(void)
{
	stop_proc(&U.duetd);
	stop_proc(&U.broker);
	if (U.dir[0])
		nftw(U.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	U.dir[0] = 0;
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A child that dies with us, whatever way we go. */
static pid_t spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL); /* ignored here, not to be inherited */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int port = -1;
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static bool wait_port(int port, double seconds)
{
	for (double end = now_s() + seconds; now_s() < end; usleep(5000)) {
		int fd = tcp_connect(port);
		if (fd >= 0) {
			close(fd);
			return true;
		}
	}
	return false;
}

static void log_tail(const char *what, const char *path)
{
	char cmd[300];
	printf("---- last lines of the %s log ----\n", what);
	fflush(stdout);
	snprintf(cmd, sizeof cmd, "tail -n 15 '%s'", path);
	if (system(cmd))
		printf("(no log)\n");
}

/* ---- requests: encoded once, msg_id patched per send ------------------------------ */

typedef struct tmpl {
	uint8_t *buf;
	size_t len;
	size_t hole[4];
	int nholes;
	uint32_t next; /* first sequence number of the next run: no value repeats */
} tmpl;

/* A request Msg on the stack: header, body and request linked. */
typedef struct req_msg {
	Usp__Msg msg;
	Usp__Header hdr;
	Usp__Body body;
	Usp__Request req;
} req_msg;

static Usp__Msg *req_init(req_msg *r, const char *msg_id, Usp__Header__MsgType type)
{
	*r = (req_msg){.msg = USP__MSG__INIT, .hdr = USP__HEADER__INIT, .body = USP__BODY__INIT,
		       .req = USP__REQUEST__INIT};
	r->hdr.msg_id = (char *)msg_id;
	r->hdr.msg_type = type;
	r->body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	r->body.request = &r->req;
	r->msg.header = &r->hdr;
	r->msg.body = &r->body;
	return &r->msg;
}

/* A Msg in a NoSessionContext Record from us to the agent (malloc'd). */
static int wrap(const Usp__Msg *m, uint8_t **out, size_t *len)
{
	size_t ml = usp__msg__get_packed_size(m);
	uint8_t *mb = malloc(ml ? ml : 1);
	if (!mb)
		return -1;
	usp__msg__pack(m, mb);
	UspRecord__Record r = USP_RECORD__RECORD__INIT;
	UspRecord__NoSessionContextRecord nsc = USP_RECORD__NO_SESSION_CONTEXT_RECORD__INIT;
	r.version = "1.4";
	r.to_id = U.agent_id;
	r.from_id = CTL_ID;
	nsc.payload.data = mb;
	nsc.payload.len = ml;
	r.record_type_case = USP_RECORD__RECORD__RECORD_TYPE_NO_SESSION_CONTEXT;
	r.no_session_context = &nsc;
	*len = usp_record__record__get_packed_size(&r);
	*out = malloc(*len);
	if (*out)
		usp_record__record__pack(&r, *out);
	free(mb);
	return *out ? 0 : -1;
}

static int tmpl_make(const Usp__Msg *m, tmpl *t)
{
	memset(t, 0, sizeof *t);
	if (wrap(m, &t->buf, &t->len))
		return -1;
	size_t hl = strlen(ID_HOLE);
	for (size_t i = 0; i + hl <= t->len && t->nholes < 4; i++)
		if (!memcmp(t->buf + i, ID_HOLE, hl)) {
			t->hole[t->nholes++] = i;
			i += hl - 1;
		}
	return t->nholes ? 0 : -1;
}

static void tmpl_patch(tmpl *t, uint32_t seq)
{
	char d[9];
	snprintf(d, sizeof d, "%08x", seq);
	for (int i = 0; i < t->nholes; i++)
		memcpy(t->buf + t->hole[i], d, 8);
}

static int tmpl_get(tmpl *t, const char *path, const char *id)
{
	req_msg r;
	Usp__Msg *m = req_init(&r, id, USP__HEADER__MSG_TYPE__GET);
	Usp__Get g = USP__GET__INIT;
	char *paths[] = {(char *)path};
	g.n_param_paths = 1;
	g.param_paths = paths;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	r.req.get = &g;
	return tmpl_make(m, t);
}

static int tmpl_set(tmpl *t, const char *obj, const char *param, const char *value)
{
	req_msg r;
	Usp__Msg *m = req_init(&r, "s-" ID_HOLE, USP__HEADER__MSG_TYPE__SET);
	Usp__Set s = USP__SET__INIT;
	Usp__Set__UpdateObject uo = USP__SET__UPDATE_OBJECT__INIT;
	Usp__Set__UpdateParamSetting ps = USP__SET__UPDATE_PARAM_SETTING__INIT;
	Usp__Set__UpdateObject *uos[] = {&uo};
	Usp__Set__UpdateParamSetting *pss[] = {&ps};
	ps.param = (char *)param;
	ps.value = (char *)value;
	ps.required = true;
	uo.obj_path = (char *)obj;
	uo.n_param_settings = 1;
	uo.param_settings = pss;
	s.n_update_objs = 1;
	s.update_objs = uos;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_SET;
	r.req.set = &s;
	return tmpl_make(m, t);
}

/* ---- answers: the few fields a load run checks, without decoding ------------------- */

typedef struct scan {
	int kind;               /* the Record's record_type field number (7: NoSessionContext) */
	const uint8_t *payload; /* the Msg */
	size_t plen;
	char id[64];
	int msg_type;
} scan;

static int pb_next(const uint8_t **p, const uint8_t *end, uint32_t *num, int *wt, uint64_t *v,
		   const uint8_t **data)
{
	uint64_t key = 0;
	for (int sh = 0;; sh += 7) {
		if (*p >= end || sh > 63)
			return -1;
		uint8_t b = *(*p)++;
		key |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			break;
	}
	*num = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*wt == 1 || *wt == 5) {
		size_t n = *wt == 1 ? 8 : 4;
		if ((size_t)(end - *p) < n)
			return -1;
		*p += n;
		return 0;
	}
	if (*wt != 0 && *wt != 2)
		return -1;
	*v = 0;
	for (int sh = 0;; sh += 7) {
		if (*p >= end || sh > 63)
			return -1;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			break;
	}
	if (*wt == 2) {
		if (*v > (uint64_t)(end - *p))
			return -1;
		*data = *p;
		*p += *v;
	}
	return 0;
}

static int scan_record(const uint8_t *b, size_t n, scan *s)
{
	const uint8_t *p = b, *end = b + n, *d = NULL;
	uint32_t num;
	int wt;
	uint64_t v = 0;
	memset(s, 0, sizeof *s);
	while (p < end) {
		if (pb_next(&p, end, &num, &wt, &v, &d))
			return -1;
		if (num < 7 || num > 13 || wt != 2)
			continue;
		s->kind = (int)num;
		if (num != 7)
			return 0;
		for (const uint8_t *q = d, *qe = d + v; q < qe;) {
			const uint8_t *pd = NULL;
			uint64_t pl = 0;
			if (pb_next(&q, qe, &num, &wt, &pl, &pd))
				return -1;
			if (num == 2 && wt == 2) {
				s->payload = pd;
				s->plen = pl;
			}
		}
	}
	if (s->kind != 7 || !s->payload)
		return s->kind ? 0 : -1;
	/* Msg.header (1) -> msg_id (1), msg_type (2); absent msg_type is ERROR */
	for (const uint8_t *q = s->payload, *qe = q + s->plen; q < qe;) {
		if (pb_next(&q, qe, &num, &wt, &v, &d))
			return -1;
		if (num != 1 || wt != 2)
			continue;
		const uint8_t *hd = d, *he = d + v;
		while (hd < he) {
			const uint8_t *fd = NULL;
			uint64_t fv = 0;
			if (pb_next(&hd, he, &num, &wt, &fv, &fd))
				return -1;
			if (num == 1 && wt == 2 && fv < sizeof s->id) {
				memcpy(s->id, fd, fv);
				s->id[fv] = 0;
			} else if (num == 2 && wt == 0) {
				s->msg_type = (int)fv;
			}
		}
	}
	return 0;
}

/* ---- links: one Controller connection on any MTP ------------------------------------- */

typedef enum link_kind { LINK_WS, LINK_UDS, LINK_MQTT } link_kind;

#define MQ_SLOTS 64

typedef struct ub_link {
	link_kind kind;
	int fd;
	uint8_t *in; /* bytes read and not consumed: in[off..len) */
	size_t in_len, in_cap, in_off;
	uint8_t *msg; /* WebSocket: a fragmented message, reassembled */
	size_t msg_len, msg_cap;
	uint8_t *out;
	size_t out_cap;
	size_t frame_end; /* UDS: end of the frame whose TLVs are being read, 0 = none */
	/* MQTT */
	struct mosquitto *mosq;
	mosquitto_property *props;
	const char *pub_topic;
	bool connected, subscribed, failed;
	struct {
		uint8_t *b;
		size_t len, cap;
	} slot[MQ_SLOTS];
	unsigned q_head, q_tail;
} ub_link;

static int ensure(uint8_t **b, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 65536;
	while (nc < need)
		nc *= 2;
	uint8_t *nb = realloc(*b, nc);
	if (!nb)
		return -1;
	*b = nb;
	*cap = nc;
	return 0;
}

static int send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read what the socket has, waiting up to timeout_ms: 1 read, 0 nothing yet, -1 closed. */
static int fill(ub_link *l, int timeout_ms)
{
	if (l->in_off && (l->in_off == l->in_len || l->in_off > l->in_cap / 2)) {
		memmove(l->in, l->in + l->in_off, l->in_len - l->in_off);
		l->in_len -= l->in_off;
		if (l->frame_end)
			l->frame_end -= l->in_off;
		l->in_off = 0;
	}
	if (ensure(&l->in, &l->in_cap, l->in_len + 65536))
		return -1;
	struct pollfd pf = {.fd = l->fd, .events = POLLIN};
	int pr = poll(&pf, 1, timeout_ms);
	if (pr <= 0)
		return pr < 0 && errno != EINTR ? -1 : 0;
	ssize_t r = recv(l->fd, l->in + l->in_len, l->in_cap - l->in_len, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r > 0)
		l->in_len += (size_t)r;
	return 1;
}

static int ws_send_frame(ub_link *l, int opcode, const uint8_t *p, size_t n)
{
	static const uint8_t key[4] = {0x5a, 0x17, 0xc3, 0x9e};
	if (ensure(&l->out, &l->out_cap, n + 14))
		return -1;
	uint8_t *o = l->out;
	size_t h = 0;
	o[h++] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		o[h++] = (uint8_t)(0x80 | n);
	} else if (n <= 0xffff) {
		o[h++] = 0x80 | 126;
		o[h++] = (uint8_t)(n >> 8);
		o[h++] = (uint8_t)n;
	} else {
		o[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			o[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(o + h, key, 4);
	h += 4;
	for (size_t i = 0; i < n; i++) /* a client masks every frame (RFC 6455 5.3) */
		o[h + i] = p[i] ^ key[i & 3];
	return send_all(l->fd, o, h + n);
}

/* The next binary message: 1 with *rec set (valid until the next call), 0 on
 * timeout, -1 when the session ended. */
static int ws_next(ub_link *l, const uint8_t **rec, size_t *len, double deadline)
{
	for (;;) {
		const uint8_t *p = l->in + l->in_off;
		size_t avail = l->in_len - l->in_off, h = 2;
		if (avail >= 2) {
			uint64_t n = p[1] & 0x7f;
			if (n == 126)
				h += 2;
			else if (n == 127)
				h += 8;
			if (p[1] & 0x80)
				h += 4;
			if (avail >= h) {
				if (n == 126)
					n = (uint64_t)p[2] << 8 | p[3];
				else if (n == 127)
					for (int i = 0; i < 8; i++)
						n = n << 8 | p[2 + i];
				if (avail - h >= n) {
					int op = p[0] & 0x0f;
					bool fin = p[0] & 0x80;
					uint8_t *pl = l->in + l->in_off + h;
					if (p[1] & 0x80)
						for (uint64_t i = 0; i < n; i++)
							pl[i] ^= p[h - 4 + (i & 3)];
					l->in_off += h + n;
					if (op == 0x8)
						return -1;
					if (op == 0x9 && ws_send_frame(l, 0xA, pl, n))
						return -1;
					if (op == 0x2 && fin && !l->msg_len) {
						*rec = pl;
						*len = n;
						return 1;
					}
					if (op == 0x2 || op == 0x0) {
						if (ensure(&l->msg, &l->msg_cap, l->msg_len + n))
							return -1;
						memcpy(l->msg + l->msg_len, pl, n);
						l->msg_len += n;
						if (fin) {
							*rec = l->msg;
							*len = l->msg_len;
							l->msg_len = 0;
							return 1;
						}
					}
					continue;
				}
			}
		}
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			return 0;
		if (fill(l, left) < 0)
			return -1;
	}
}

static int uds_send_frame(ub_link *l, int type, const uint8_t *p, size_t n)
{
	if (ensure(&l->out, &l->out_cap, n + 13))
		return -1;
	uint8_t *o = l->out;
	uint32_t body = (uint32_t)(n + 5), vl = (uint32_t)n;
	memcpy(o, "_USP", 4);
	for (int i = 0; i < 4; i++) {
		o[4 + i] = (uint8_t)(body >> (24 - 8 * i));
		o[9 + i] = (uint8_t)(vl >> (24 - 8 * i));
	}
	o[8] = (uint8_t)type;
	memcpy(o + 13, p, n);
	return send_all(l->fd, o, n + 13);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The next TLV of any type (the Handshake too). Same returns as ws_next. */
static int uds_next(ub_link *l, int *type, const uint8_t **val, size_t *len, double deadline)
{
	for (;;) {
		size_t avail = l->in_len - l->in_off;
		const uint8_t *p = l->in + l->in_off;
		if (l->frame_end && l->in_off >= l->frame_end)
			l->frame_end = 0;
		if (!l->frame_end && avail >= 8) {
			if (memcmp(p, "_USP", 4))
				return -1;
			if (avail >= 8 + (size_t)be32(p + 4)) {
				l->frame_end = l->in_off + 8 + be32(p + 4);
				l->in_off += 8;
				continue;
			}
		} else if (l->frame_end) {
			if (l->frame_end - l->in_off < 5 || l->frame_end - l->in_off - 5 < be32(p + 1))
				return -1;
			*type = p[0];
			*len = be32(p + 1);
			*val = p + 5;
			l->in_off += 5 + *len;
			return 1;
		}
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			return 0;
		if (fill(l, left) < 0)
			return -1;
	}
}

static void mq_on_connect(struct mosquitto *m, void *ud, int rc, int flags, const mosquitto_property *p)
{
	ub_link *l = ud;
	l->connected = rc == 0;
	l->failed = rc != 0;
}

static void mq_on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos,
			    const mosquitto_property *p)
{
	((ub_link *)ud)->subscribed = true;
}

static void mq_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
			  const mosquitto_property *p)
{
	ub_link *l = ud;
	if (l->q_tail - l->q_head >= MQ_SLOTS)
		return; /* cannot happen with our windows: dropped, and the run times out */
	unsigned i = l->q_tail % MQ_SLOTS;
	if (ensure(&l->slot[i].b, &l->slot[i].cap, (size_t)msg->payloadlen + 1))
		return;
	memcpy(l->slot[i].b, msg->payload, (size_t)msg->payloadlen);
	l->slot[i].len = (size_t)msg->payloadlen;
	l->q_tail++;
}

static int link_send(ub_link *l, const uint8_t *rec, size_t len)
{
	if (l->kind == LINK_WS)
		return ws_send_frame(l, 0x2, rec, len);
	if (l->kind == LINK_UDS)
		return uds_send_frame(l, 3, rec, len);
	return mosquitto_publish_v5(l->mosq, NULL, l->pub_topic, (int)len, rec, 1, false, l->props) ? -1 : 0;
}

/* The next Record: 1 (valid until the next call), 0 on timeout, -1 closed. */
static int link_recv(ub_link *l, const uint8_t **rec, size_t *len, double deadline)
{
	if (l->kind == LINK_WS)
		return ws_next(l, rec, len, deadline);
	if (l->kind == LINK_UDS) {
		int type, rc;
		while ((rc = uds_next(l, &type, rec, len, deadline)) == 1)
			if (type == 3)
				return 1;
			else if (type == 2)
				return -1;
		return rc;
	}
	while (l->q_head == l->q_tail) {
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			return 0;
		if (mosquitto_loop(l->mosq, left, 1) != MOSQ_ERR_SUCCESS)
			return -1;
	}
	unsigned i = l->q_head++ % MQ_SLOTS;
	*rec = l->slot[i].b;
	*len = l->slot[i].len;
	return 1;
}

static void link_close(ub_link *l)
{
	if (l->mosq) {
		mosquitto_disconnect(l->mosq);
		mosquitto_destroy(l->mosq);
	}
	mosquitto_property_free_all(&l->props);
	if (l->fd >= 0)
		close(l->fd);
	free(l->in);
	free(l->msg);
	free(l->out);
	for (int i = 0; i < MQ_SLOTS; i++)
		free(l->slot[i].b);
	memset(l, 0, sizeof *l);
	l->fd = -1;
}

static int ws_open(ub_link *l, int port)
{
	memset(l, 0, sizeof *l);
	l->kind = LINK_WS;
	if ((l->fd = tcp_connect(port)) < 0)
		return -1;
	/* R-WS.10b: our Endpoint ID in the eid query parameter, percent-encoded */
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET /usp?eid=proto%%3A%%3Aduet-bench HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ZHVldC1iZW5jaC1rZXkxMg==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v1.usp\r\n\r\n",
			 port);
	if (send_all(l->fd, (const uint8_t *)req, (size_t)n))
		return -1;
	double deadline = now_s() + WAIT_MS / 1000.0;
	for (;;) {
		if (l->in_len >= 4) {
			uint8_t *e = memmem(l->in, l->in_len, "\r\n\r\n", 4);
			if (e) {
				*e = 0;
				if (strncmp((char *)l->in, "HTTP/1.1 101", 12) || !strcasestr((char *)l->in, "v1.usp"))
					return -1;
				l->in_off = (size_t)(e + 4 - l->in);
				return 0;
			}
		}
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0 || fill(l, left) <= 0)
			return -1;
	}
}

/* Connect and exchange Handshakes; the agent's Endpoint ID into agent_id. */
static int uds_open(ub_link *l, const char *path, char *agent_id, size_t idsz)
{
	memset(l, 0, sizeof *l);
	l->kind = LINK_UDS;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%.107s", path);
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || connect(l->fd, (struct sockaddr *)&a, sizeof a))
		return -1;
	if (uds_send_frame(l, 1, (const uint8_t *)CTL_ID, strlen(CTL_ID)))
		return -1;
	double deadline = now_s() + WAIT_MS / 1000.0;
	int type;
	const uint8_t *v;
	size_t n;
	while (uds_next(l, &type, &v, &n, deadline) == 1) {
		if (type == 2)
			return -1;
		if (type == 1 && n < idsz) {
			memcpy(agent_id, v, n);
			agent_id[n] = 0;
			return 0;
		}
	}
	return -1;
}

static int mq_pump_until(ub_link *l, bool *flag, double seconds)
{
	for (double end = now_s() + seconds; !*flag && !l->failed && now_s() < end;)
		if (mosquitto_loop(l->mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			return -1;
	return *flag ? 0 : -1;
}

/* A Controller on the broker: subscribed to sub_topic, publishing to
 * pub_topic with sub_topic as Response Topic (R-MQTT.23). */
static int mqtt_open(ub_link *l, const char *client_id, const char *sub_topic, const char *pub_topic)
{
	memset(l, 0, sizeof *l);
	l->fd = -1;
	l->kind = LINK_MQTT;
	l->pub_topic = pub_topic;
	if (!(l->mosq = mosquitto_new(client_id, true, l)))
		return -1;
	mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(l->mosq, mq_on_connect);
	mosquitto_subscribe_v5_callback_set(l->mosq, mq_on_subscribe);
	mosquitto_message_v5_callback_set(l->mosq, mq_on_message);
	if (mosquitto_property_add_string(&l->props, MQTT_PROP_RESPONSE_TOPIC, sub_topic) ||
	    mosquitto_property_add_string(&l->props, MQTT_PROP_CONTENT_TYPE, "usp.msg"))
		return -1;
	if (mosquitto_connect(l->mosq, "127.0.0.1", U.mqtt_port, 60) || mq_pump_until(l, &l->connected, 5))
		return -1;
	if (mosquitto_subscribe_v5(l->mosq, NULL, sub_topic, 1, 0, NULL) || mq_pump_until(l, &l->subscribed, 5))
		return -1;
	return 0;
}

/* The raw broker round trip: a second client that publishes back whatever
 * reaches ECHO_TOPIC to its Response Topic, on libmosquitto's own thread. */
static void echo_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
			    const mosquitto_property *p)
{
	char *topic = NULL;
	if (mosquitto_property_read_string(p, MQTT_PROP_RESPONSE_TOPIC, &topic, false) && topic)
		mosquitto_publish_v5(m, NULL, topic, msg->payloadlen, msg->payload, 1, false, NULL);
	free(topic);
}

static struct mosquitto *echo_start(void)
{
	ub_link l; /* only for the connect and subscribe flags */
	if (mqtt_open(&l, "duet-bench-echo", ECHO_TOPIC, ECHO_TOPIC)) {
		link_close(&l);
		return NULL;
	}
	struct mosquitto *m = l.mosq;
	l.mosq = NULL;
	link_close(&l);
	mosquitto_user_data_set(m, NULL);
	mosquitto_connect_v5_callback_set(m, NULL);
	mosquitto_subscribe_v5_callback_set(m, NULL);
	mosquitto_message_v5_callback_set(m, echo_on_message);
	if (mosquitto_loop_start(m)) {
		mosquitto_destroy(m);
		return NULL;
	}
	return m;
}

/* ---- request/response for set-up, and load runs ----------------------------------- */

/* Send m and wait for its answer, decoded (free with usp__msg__free_unpacked). */
static Usp__Msg *call(ub_link *l, const Usp__Msg *m, double timeout_s)
{
	uint8_t *rec;
	size_t len;
	if (wrap(m, &rec, &len))
		return NULL;
	int rc = link_send(l, rec, len);
	free(rec);
	double deadline = now_s() + timeout_s;
	const uint8_t *b;
	scan s;
	while (!rc && link_recv(l, &b, &len, deadline) == 1)
		if (!scan_record(b, len, &s) && s.kind == 7 && !strcmp(s.id, m->header->msg_id))
			return usp__msg__unpack(NULL, s.plen, s.payload);
	return NULL;
}

static long count_params(const Usp__Msg *m)
{
	if (!m || !m->body || m->body->msg_body_case != USP__BODY__MSG_BODY_RESPONSE ||
	    m->body->response->resp_type_case != USP__RESPONSE__RESP_TYPE_GET_RESP)
		return -1;
	long n = 0;
	Usp__GetResp *g = m->body->response->get_resp;
	for (size_t i = 0; i < g->n_req_path_results; i++) {
		if (g->req_path_results[i]->err_code)
			return -1;
		for (size_t j = 0; j < g->req_path_results[i]->n_resolved_path_results; j++)
			n += (long)g->req_path_results[i]->resolved_path_results[j]->n_result_params;
	}
	return n;
}

static long get_count(ub_link *l, const char *path, double timeout_s)
{
	static unsigned seq;
	char id[32];
	snprintf(id, sizeof id, "count-%u", ++seq);
	req_msg r;
	Usp__Msg *m = req_init(&r, id, USP__HEADER__MSG_TYPE__GET);
	Usp__Get g = USP__GET__INIT;
	char *paths[] = {(char *)path};
	g.n_param_paths = 1;
	g.param_paths = paths;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_GET;
	r.req.get = &g;
	Usp__Msg *resp = call(l, m, timeout_s);
	long n = count_params(resp);
	if (resp)
		usp__msg__free_unpacked(resp, NULL);
	return n;
}

typedef struct load_out {
	double rps, p50_us, p99_us;
	unsigned long answers, wrong;
} load_out;

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/*
 * Keep `window` requests of t outstanding on l for WARM_S + RUN_S: the rate
 * is the answers that arrived in the measured part, the latencies those of
 * requests sent and answered in it. An answer of another msg_type than
 * want_type counts as wrong. Returns 0, or -1 when an answer did not come.
 */
static int run_load(ub_link *l, tmpl *t, int window, int want_type, load_out *o)
{
	enum { RING = 1024 };
	static double sent_at[RING];
	size_t cap = 1 << 20, nlat = 0;
	float *lat = malloc(cap * sizeof *lat);
	uint32_t seq = 0, answered = 0, base = t->next;
	unsigned long in_window = 0;
	double t0 = now_s(), tw = t0 + WARM_S, te = tw + RUN_S;
	int rc = 0;
	memset(o, 0, sizeof *o);
	if (!lat)
		return -1;
	for (; seq < (uint32_t)window; seq++) {
		tmpl_patch(t, base + seq);
		sent_at[seq % RING] = now_s();
		if (link_send(l, t->buf, t->len))
			rc = -1;
	}
	while (!rc && answered < seq) {
		const uint8_t *b;
		size_t len;
		scan s;
		if (link_recv(l, &b, &len, now_s() + WAIT_MS / 1000.0) != 1) {
			rc = -1;
			break;
		}
		if (scan_record(b, len, &s) || s.kind != 7)
			continue; /* a Connect Record */
		size_t il = strlen(s.id);
		uint32_t id = il >= 8 ? (uint32_t)strtoul(s.id + il - 8, NULL, 16) - base : UINT32_MAX;
		if (id >= seq || seq - id > RING)
			continue; /* not one of ours */
		double now = now_s();
		answered++;
		if (s.msg_type != want_type)
			o->wrong++;
		if (now >= tw && now <= te) {
			in_window++;
			if (sent_at[id % RING] >= tw && nlat < cap)
				lat[nlat++] = (float)((now - sent_at[id % RING]) * 1e6);
		}
		if (now < te) {
			tmpl_patch(t, base + seq);
			sent_at[seq % RING] = now_s();
			if (link_send(l, t->buf, t->len))
				rc = -1;
			seq++;
		}
	}
	t->next = base + seq;
	o->answers = answered;
	o->rps = in_window / RUN_S;
	if (nlat) {
		qsort(lat, nlat, sizeof *lat, cmp_float);
		o->p50_us = lat[nlat / 2];
		o->p99_us = lat[nlat * 99 / 100];
	}
	free(lat);
	return rc;
}

/* ---- populating the store through the agent ------------------------------------------- */

typedef struct pop_key {
	const char *param, *fmt; /* fmt has one %d: the object's number in its row */
} pop_key;

typedef struct pop_row {
	const char *table; /* a "*" adds one instance to every table it matches */
	int count;         /* CreateObjects in the row's Add */
	int ref_row;       /* -1, or the row whose first new instance number %d counts from */
	pop_key keys[2];
} pop_row;

/* A home gateway grown large: interfaces and their addresses, Wi-Fi,
 * bridges, firewall rules, QoS classifiers, DHCP reservations, access
 * control; then port mappings until the tree has about TREE_TARGET
 * parameters (the last row, its count computed). */
static const pop_row pop_rows[] = {
	{"Device.Ethernet.Link.", 8, -1, {{"MACAddress", "02:00:00:00:10:%02d"}}},
	{"Device.IP.Interface.", 8, -1, {{NULL}}},
	{"Device.IP.Interface.*.IPv4Address.", 2, -1, {{"IPAddress", "10.9.%d.1"}, {"SubnetMask", "255.255.255.0"}}},
	{"Device.IP.Interface.*.IPv6Address.", 2, -1, {{"IPAddress", "2001:db8::%d"}}},
	{"Device.IP.Interface.*.IPv6Prefix.", 2, -1, {{"Prefix", "2001:db8:%d::/64"}}},
	{"Device.WiFi.SSID.", 6, -1, {{"SSID", "duet-bench-%d"}}},
	{"Device.WiFi.AccessPoint.", 6, 5, {{"SSIDReference", "Device.WiFi.SSID.%d"}}},
	{"Device.Bridging.Bridge.", 2, -1, {{NULL}}},
	{"Device.Bridging.Bridge.*.Port.", 5, -1, {{NULL}}},
	{"Device.Firewall.Chain.", 2, -1, {{"Name", "chain%d"}}},
	{"Device.Firewall.Chain.*.Rule.", 32, -1, {{NULL}}},
	{"Device.QoS.Classification.", 24, -1, {{NULL}}},
	{"Device.DHCPv4.Server.Pool.*.StaticAddress.", 24, -1, {{"Chaddr", "02:00:00:00:30:%02d"}}},
	{"Device.Hosts.AccessControl.", 16, -1, {{"PhysAddress", "02:00:00:00:40:%02d"}}},
	{"Device.NAT.PortMapping.", 0, -1, {{"ExternalPort", "%d"}, {"Protocol", "TCP"}}},
};
#define POP_ROWS (sizeof pop_rows / sizeof pop_rows[0])

/* One Add of count objects of row r, numbered from first; allow_partial so
 * one refused object does not cost the others. Returns objects created, -1
 * when the Add was not answered; *first_inst the first new instance number. */
static long add_objects(ub_link *l, const pop_row *r, int first, int count, int base, unsigned *first_inst)
{
	static unsigned seq;
	char id[32];
	snprintf(id, sizeof id, "add-%u", ++seq);
	req_msg rm;
	Usp__Msg *m = req_init(&rm, id, USP__HEADER__MSG_TYPE__ADD);
	Usp__Add add = USP__ADD__INIT;
	Usp__Add__CreateObject *co = calloc((size_t)count, sizeof *co);
	Usp__Add__CreateObject **cos = calloc((size_t)count, sizeof *cos);
	Usp__Add__CreateParamSetting *ps = calloc((size_t)count * 2, sizeof *ps);
	Usp__Add__CreateParamSetting **pss = calloc((size_t)count * 2, sizeof *pss);
	char (*vals)[64] = calloc((size_t)count * 2, sizeof *vals);
	long created = -1;
	if (!co || !cos || !ps || !pss || !vals)
		goto out;
	for (int i = 0; i < count; i++) {
		co[i] = (Usp__Add__CreateObject)USP__ADD__CREATE_OBJECT__INIT;
		co[i].obj_path = (char *)r->table;
		co[i].param_settings = pss + 2 * i;
		for (int k = 0; k < 2 && r->keys[k].param; k++) {
			size_t j = 2 * (size_t)i + (size_t)k;
			ps[j] = (Usp__Add__CreateParamSetting)USP__ADD__CREATE_PARAM_SETTING__INIT;
			snprintf(vals[j], sizeof vals[j], r->keys[k].fmt, base + first + i);
			ps[j].param = (char *)r->keys[k].param;
			ps[j].value = vals[j];
			ps[j].required = true;
			pss[j] = &ps[j];
			co[i].n_param_settings++;
		}
		cos[i] = &co[i];
	}
	add.allow_partial = true;
	add.n_create_objs = (size_t)count;
	add.create_objs = cos;
	rm.req.req_type_case = USP__REQUEST__REQ_TYPE_ADD;
	rm.req.add = &add;
	Usp__Msg *resp = call(l, m, WAIT_MS / 1000.0);
	if (!resp || !resp->body || resp->body->msg_body_case != USP__BODY__MSG_BODY_RESPONSE ||
	    resp->body->response->resp_type_case != USP__RESPONSE__RESP_TYPE_ADD_RESP) {
		if (resp && resp->body && resp->body->msg_body_case == USP__BODY__MSG_BODY_ERROR)
			printf("usp bench: Add %s refused: %u %s\n", r->table, resp->body->error->err_code,
			       resp->body->error->err_msg);
		goto out_resp;
	}
	created = 0;
	int failures = 0;
	Usp__AddResp *ar = resp->body->response->add_resp;
	for (size_t i = 0; i < ar->n_created_obj_results; i++) {
		Usp__AddResp__CreatedObjectResult__OperationStatus *st = ar->created_obj_results[i]->oper_status;
		if (st && st->oper_status_case ==
				  USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_FAILURE) {
			if (!failures++)
				printf("usp bench: Add %s: %u %s\n", r->table, st->oper_failure->err_code,
				       st->oper_failure->err_msg);
			continue;
		}
		if (!st || st->oper_status_case !=
				   USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS)
			continue;
		const char *ip = st->oper_success->instantiated_path;
		size_t n = strlen(ip);
		while (n && ip[n - 1] == '.')
			n--;
		while (n && ip[n - 1] >= '0' && ip[n - 1] <= '9')
			n--;
		if (!created && first_inst)
			*first_inst = (unsigned)atoi(ip + n);
		created++;
	}
out_resp:
	if (resp)
		usp__msg__free_unpacked(resp, NULL);
out:
	free(co);
	free(cos);
	free(ps);
	free(pss);
	free(vals);
	return created;
}

/* Returns the parameter count of Device. afterwards, -1 on failure. */
static long populate(ub_link *l, unsigned long *objects)
{
	unsigned first[POP_ROWS] = {0};
	*objects = 0;
	for (size_t i = 0; i + 1 < POP_ROWS; i++) {
		const pop_row *r = &pop_rows[i];
		int base = r->ref_row >= 0 ? (int)first[r->ref_row] - 1 : 0;
		long n = add_objects(l, r, 1, r->count, base, &first[i]);
		if (n < 0)
			return -1;
		if (n < r->count)
			printf("usp bench: %s: %ld of %d objects created\n", r->table, n, r->count);
		*objects += (unsigned long)n;
	}
	/* the filler: one object tells its size, then as many as fit */
	const pop_row *f = &pop_rows[POP_ROWS - 1];
	long before = get_count(l, "Device.", WAIT_MS / 1000.0);
	long n = add_objects(l, f, 1, 1, 10000, NULL);
	long after = get_count(l, "Device.", WAIT_MS / 1000.0);
	if (before < 0 || n != 1 || after <= before)
		return -1;
	*objects += 1;
	long per = after - before, want = (TREE_TARGET - after + per / 2) / per;
	for (long done = 0; done < want;) {
		int batch = want - done > 100 ? 100 : (int)(want - done);
		long c = add_objects(l, f, 2 + (int)done, batch, 10000, NULL);
		if (c <= 0)
			return -1;
		*objects += (unsigned long)c;
		done += batch;
	}
	return get_count(l, "Device.", WAIT_MS / 1000.0);
}

/* ---- the agent ------------------------------------------------------------------------------ */

static int write_defaults(bool mqtt)
{
	FILE *in = fopen("datamodel/factory-defaults.txt", "r"), *out = fopen(U.defaults, "w");
	char line[1024];
	int rc = in && out ? 0 : -1;
	/* the bundled defaults, less the CWMP-variant object the USP file lacks */
	while (!rc && fgets(line, sizeof line, in))
		if (strncmp(line, "Device.ManagementServer.", 24))
			fputs(line, out);
	if (out) {
		fprintf(out, "\n# the bench's Controller, WebSocket listener and broker\n"
			     "Device.LocalAgent.Controller.1.EndpointID " CTL_ID "\n"
			     "Device.LocalAgent.Controller.1.Enable true\n"
			     "Device.LocalAgent.Controller.1.AssignedRole Device.LocalAgent.ControllerTrust.Role.1\n"
			     "Device.LocalAgent.MTP.2.Protocol WebSocket\n"
			     "Device.LocalAgent.MTP.2.Enable true\n"
			     "Device.LocalAgent.MTP.2.WebSocket.Port %d\n"
			     "Device.LocalAgent.MTP.2.WebSocket.Path /usp\n"
			     "Device.LocalAgent.MTP.2.WebSocket.EnableEncryption false\n",
			U.ws_port);
		if (mqtt)
			fprintf(out, "Device.MQTT.Client.1.BrokerPort %d\n"
				     "Device.MQTT.Client.1.ProtocolVersion 5.0\n"
				     "Device.MQTT.Client.1.Enable true\n"
				     "Device.LocalAgent.MTP.1.Enable true\n"
				     "Device.LocalAgent.Controller.1.MTP.1.Protocol MQTT\n"
				     "Device.LocalAgent.Controller.1.MTP.1.Enable true\n"
				     "Device.LocalAgent.Controller.1.MTP.1.MQTT.Topic " CTL_TOPIC "\n",
				U.mqtt_port);
	}
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

/* Start duetd and time it to its first answered Get (over the UNIX socket,
 * Handshake included). Returns ms, or -1. */
static double start_agent(void)
{
	char *argv[] = {U.duetd_exe, "--state", U.state, "--schema", U.schema, "--defaults", U.defaults, "--admin",
			U.admin, "--usp-socket", U.usp_sock, "--log-level", "warn", NULL};
	double t0 = now_s(), ms = -1;
	U.duetd = spawn(U.dlog, argv);
	ub_link l = {.fd = -1};
	while (now_s() - t0 < 10 && ms < 0) {
		if (waitpid(U.duetd, NULL, WNOHANG) == U.duetd) {
			U.duetd = 0;
			break;
		}
		if (uds_open(&l, U.usp_sock, U.agent_id, sizeof U.agent_id)) {
			link_close(&l);
			usleep(200);
			continue;
		}
		long n = get_count(&l, "Device.DeviceInfo.SoftwareVersion", WAIT_MS / 1000.0);
		if (n == 1)
			ms = (now_s() - t0) * 1000;
		link_close(&l);
		if (n != 1)
			break;
	}
	return ms;
}

static int start_broker(void)
{
	const char *cands[] = {"/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"};
	const char *exe = NULL;
	for (size_t i = 0; i < sizeof cands / sizeof cands[0] && !exe; i++)
		if (!access(cands[i], X_OK))
			exe = cands[i];
	if (!exe)
		return -1;
	FILE *f = fopen(U.bconf, "w");
	if (!f)
		return -1;
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
		   "log_dest file %s\nlog_type error\nlog_type warning\n",
		U.mqtt_port, U.blog);
	if (fclose(f))
		return -1;
	char *argv[] = {(char *)exe, "-c", U.bconf, NULL};
	U.broker = spawn(U.blog, argv);
	return wait_port(U.mqtt_port, 5) ? 0 : -1;
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct results {
	load_out ws[2], uds[2], mq[2], raw[2], set[2];
	bool have_mqtt;
	long tree_params;
	unsigned long objects;
	double tree_best, tree_median, tree_kib;
	double first_boot_ms, start_ms;
	long rss_boot, rss_idle, rss_load;
} results;

static const int windows[2] = {1, 8};

static int load_pair(ub_link *l, tmpl *t, int want, load_out out[2], const char *what)
{
	out[0].rps = out[1].rps = -1;
	for (int i = 0; i < 2; i++) {
		if (run_load(l, t, windows[i], want, &out[i])) {
			printf("usp bench: %s with %d outstanding: an answer did not come\n", what, windows[i]);
			out[i].rps = -1;
			return -1;
		}
		if (out[i].wrong)
			printf("usp bench: %s: %lu answers of an unexpected type\n", what, out[i].wrong);
	}
	return 0;
}

static int measure_tree(ub_link *l, results *r)
{
	tmpl t;
	double ms[TREE_GETS];
	if (tmpl_get(&t, "Device.", "tree-" ID_HOLE))
		return -1;
	for (int i = 0; i < TREE_GETS; i++) {
		const uint8_t *b;
		size_t len;
		scan s;
		tmpl_patch(&t, (uint32_t)i);
		double t0 = now_s();
		if (link_send(l, t.buf, t.len))
			goto fail;
		do {
			if (link_recv(l, &b, &len, now_s() + WAIT_MS / 1000.0) != 1)
				goto fail;
		} while (scan_record(b, len, &s) || s.kind != 7);
		ms[i] = (now_s() - t0) * 1000;
		if (s.msg_type != USP__HEADER__MSG_TYPE__GET_RESP)
			goto fail;
		if (i == 0) {
			Usp__Msg *m = usp__msg__unpack(NULL, s.plen, s.payload);
			r->tree_params = count_params(m);
			if (m)
				usp__msg__free_unpacked(m, NULL);
			r->tree_kib = (double)len / 1024;
		}
	}
	for (int i = 1; i < TREE_GETS; i++) /* insertion sort */
		for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
			double x = ms[j];
			ms[j] = ms[j - 1];
			ms[j - 1] = x;
		}
	r->tree_best = ms[0];
	r->tree_median = ms[TREE_GETS / 2];
	free(t.buf);
	return 0;
fail:
	free(t.buf);
	return -1;
}

static void print_load(const char *what, const load_out *o, int window, const char *base_what, double base,
		       const char *target)
{
	char name[64];
	snprintf(name, sizeof name, "%s, %d outstanding", what, window);
	row(name, o->rps, "req/s", base_what, base, target);
	row("  latency p50", o->rps < 0 ? -1 : o->p50_us, "us", "", 0, NULL);
	row("  latency p99", o->rps < 0 ? -1 : o->p99_us, "us", "", 0, NULL);
}

static void print_results(const results *r)
{
	char label[80];
	printf("\n%-44s %12s %-8s  %s\n", "USP figure (duetd, full USP schema)", "value", "unit",
	       "ratio to obuspa on this machine / baseline / target");
	print_load("Get DeviceInfo. WebSocket", &r->ws[0], 1, "", 0, NULL);
	print_load("Get DeviceInfo. WebSocket", &r->ws[1], 8, "of obuspa 14.8k/s", OBUSPA_WS_GETS, ">= 3x obuspa");
	print_load("Get DeviceInfo. UNIX socket", &r->uds[0], 1, "of WebSocket", r->ws[0].rps, NULL);
	print_load("Get DeviceInfo. UNIX socket", &r->uds[1], 8, "of WebSocket", r->ws[1].rps, NULL);
	if (r->have_mqtt) {
		print_load("Get DeviceInfo. MQTT 5", &r->mq[0], 1, "of raw broker", r->raw[0].rps, NULL);
		print_load("Get DeviceInfo. MQTT 5", &r->mq[1], 8, "of obuspa 10.7k/s", OBUSPA_MQTT_GETS, NULL);
		print_load("  raw broker round trip", &r->raw[0], 1, "", 0, NULL);
		print_load("  raw broker round trip", &r->raw[1], 8, "", 0, NULL);
		row("  MQTT 8 outstanding, share of raw broker",
		    r->mq[1].rps < 0 || r->raw[1].rps <= 0 ? -1 : 100 * r->mq[1].rps / r->raw[1].rps, "%", "", 0,
		    "broker-bound: near 100%");
	} else {
		printf("%-44s %12s %-8s  (no mosquitto binary: MQTT not measured)\n", "Get DeviceInfo. MQTT 5", "-",
		       "req/s");
	}
	snprintf(label, sizeof label, "Get Device. (%ld params) WebSocket, best", r->tree_params);
	row(label, r->tree_params > 0 ? r->tree_best : -1, "ms", "of obuspa 122 ms", OBUSPA_TREE_MS, "< 15 ms");
	row("  median", r->tree_params > 0 ? r->tree_median : -1, "ms", "of obuspa 122 ms", OBUSPA_TREE_MS, NULL);
	row("  parameters/s at the median", r->tree_params > 0 ? r->tree_params / r->tree_median : -1, "k par/s",
	    "of obuspa", OBUSPA_TREE_PARAMS / OBUSPA_TREE_MS, NULL);
	row("  response Record size", r->tree_params > 0 ? r->tree_kib : -1, "KiB", "", 0, NULL);
	printf("%-44s %12lu objects added by USP Add\n", "  store", r->objects);
	print_load("durable Set WebSocket", &r->set[0], 1, "of obuspa 1.0k/s", OBUSPA_SETS, ">= 3x obuspa");
	print_load("durable Set WebSocket", &r->set[1], 8, "of obuspa 1.0k/s", OBUSPA_SETS, ">= 3x obuspa");
	row("duetd first boot to first Get (UDS)", r->first_boot_ms, "ms", "", 0, NULL);
	row("duetd start to first answered Get (UDS)", r->start_ms, "ms", "", 0, NULL);
	row("duetd RSS after first boot (empty store)", r->rss_boot < 0 ? -1 : r->rss_boot / 1024.0, "MiB",
	    "of obuspa 16 MB", OBUSPA_RSS_MIB, NULL);
	row("duetd RSS idle, populated store", r->rss_idle < 0 ? -1 : r->rss_idle / 1024.0, "MiB",
	    "of obuspa 16 MB", OBUSPA_RSS_MIB, "< 16 MiB");
	row("duetd RSS after the load above", r->rss_load < 0 ? -1 : r->rss_load / 1024.0, "MiB", "of obuspa 16 MB",
	    OBUSPA_RSS_MIB, "< 16 MiB");
}

static int measure(results *r)
{
	ub_link ws = {.fd = -1}, uds = {.fd = -1}, mq = {.fd = -1};
	struct mosquitto *echo = NULL;
	tmpl get = {0}, set = {0};
	int rc = -1;

	r->first_boot_ms = start_agent();
	if (r->first_boot_ms < 0) {
		printf("usp bench: duetd did not answer a Get over its UNIX socket\n");
		goto out;
	}
	usleep(100000);
	r->rss_boot = rss_kb(U.duetd);
	if (!wait_port(U.ws_port, 5) || ws_open(&ws, U.ws_port)) {
		printf("usp bench: no WebSocket session with duetd on port %d\n", U.ws_port);
		goto out;
	}
	double p0 = now_s();
	r->tree_params = populate(&ws, &r->objects);
	if (r->tree_params < 0) {
		printf("usp bench: populating the store through USP Add failed\n");
		goto out;
	}
	printf("usp bench: %lu objects added in %.2f s; Device. has %ld parameters\n", r->objects, now_s() - p0,
	       r->tree_params);
	link_close(&ws);

	/* start-up on the populated store: best of 3 */
	r->start_ms = -1;
	for (int i = 0; i < 3; i++) {
		stop_proc(&U.duetd);
		double ms = start_agent();
		if (ms < 0) {
			printf("usp bench: duetd did not restart\n");
			goto out;
		}
		if (r->start_ms < 0 || ms < r->start_ms)
			r->start_ms = ms;
	}
	usleep(200000);
	r->rss_idle = rss_kb(U.duetd);

	if (tmpl_get(&get, "Device.DeviceInfo.", "g-" ID_HOLE) ||
	    tmpl_set(&set, "Device.DeviceInfo.", "ProvisioningCode", "bench-" ID_HOLE))
		goto out;
	if (!wait_port(U.ws_port, 5) || ws_open(&ws, U.ws_port)) {
		printf("usp bench: no WebSocket session after the restart\n");
		goto out;
	}
	long dinfo = get_count(&ws, "Device.DeviceInfo.", WAIT_MS / 1000.0);
	printf("usp bench: Get Device.DeviceInfo. answers %ld parameters\n", dinfo);
	if (dinfo <= 0 || load_pair(&ws, &get, USP__HEADER__MSG_TYPE__GET_RESP, r->ws, "WebSocket Get"))
		goto out;
	if (uds_open(&uds, U.usp_sock, U.agent_id, sizeof U.agent_id) ||
	    load_pair(&uds, &get, USP__HEADER__MSG_TYPE__GET_RESP, r->uds, "UNIX socket Get"))
		goto out;
	if (U.broker > 0) {
		r->have_mqtt = true;
		bool up = false;
		if (!mqtt_open(&mq, "duet-bench-ctl", CTL_TOPIC, AGENT_TOPIC))
			for (double end = now_s() + 10; !up && now_s() < end;)
				up = get_count(&mq, "Device.DeviceInfo.SoftwareVersion", 0.3) == 1;
		if (!up) {
			printf("usp bench: duetd does not answer over MQTT\n");
			r->mq[0].rps = r->mq[1].rps = r->raw[0].rps = r->raw[1].rps = -1;
		} else {
			load_pair(&mq, &get, USP__HEADER__MSG_TYPE__GET_RESP, r->mq, "MQTT Get");
			echo = echo_start();
			mq.pub_topic = ECHO_TOPIC;
			if (!echo || load_pair(&mq, &get, USP__HEADER__MSG_TYPE__GET, r->raw, "raw broker round trip"))
				r->raw[0].rps = r->raw[1].rps = -1;
		}
	}
	if (measure_tree(&ws, r)) {
		printf("usp bench: the whole-tree Get failed\n");
		r->tree_params = -1;
	}
	if (load_pair(&ws, &set, USP__HEADER__MSG_TYPE__SET_RESP, r->set, "WebSocket Set"))
		goto out;
	r->rss_load = rss_kb(U.duetd);
	rc = 0;
out:
	if (echo) {
		mosquitto_disconnect(echo);
		mosquitto_loop_stop(echo, true);
		mosquitto_destroy(echo);
	}
	link_close(&ws);
	link_close(&uds);
	link_close(&mq);
	free(get.buf);
	free(set.buf);
	return rc;
}

/*
 * The USP benchmarks: duetd on the full official schema (schema_file), a
 * private mosquitto when one is installed, everything in a temporary
 * directory that goes, with the processes, whatever happens. Prints its
 * figures; returns 0, or 1 when a figure could not be measured.
 */
int usp_bench_run(const char *schema_file)
{
	results r;
	memset(&r, 0, sizeof r);
	r.rss_boot = r.rss_idle = r.rss_load = -1;
	r.tree_params = -1;
	r.first_boot_ms = r.start_ms = -1;
	for (int i = 0; i < 2; i++)
		r.ws[i].rps = r.uds[i].rps = r.mq[i].rps = r.raw[i].rps = r.set[i].rps = -1;
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	snprintf(U.duetd_exe, sizeof U.duetd_exe, "%s/duetd", build);
	snprintf(U.schema, sizeof U.schema, "%s", schema_file);
	printf("\nduet USP bench: duetd over WebSocket, UNIX socket and MQTT 5, schema %s\n", schema_file);
	if (access(U.duetd_exe, X_OK)) {
		printf("usp bench: %s not found\n", U.duetd_exe);
		return 1;
	}
	snprintf(U.dir, sizeof U.dir, "/tmp/duet-uspbench-XXXXXX");
	if (!mkdtemp(U.dir))
		return 1;
	atexit(cleanup);
	void (*old_int)(int) = signal(SIGINT, on_signal);
	void (*old_term)(int) = signal(SIGTERM, on_signal);
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	snprintf(U.state, sizeof U.state, "%s/state", U.dir);
	snprintf(U.defaults, sizeof U.defaults, "%s/defaults.txt", U.dir);
	snprintf(U.admin, sizeof U.admin, "%s/admin.sock", U.dir);
	snprintf(U.usp_sock, sizeof U.usp_sock, "%s/usp.sock", U.dir);
	snprintf(U.dlog, sizeof U.dlog, "%s/duetd.log", U.dir);
	snprintf(U.bconf, sizeof U.bconf, "%s/mosquitto.conf", U.dir);
	snprintf(U.blog, sizeof U.blog, "%s/mosquitto.log", U.dir);
	snprintf(U.agent_id, sizeof U.agent_id, "os::02D0E7-DG0000000001");
	U.ws_port = free_port();
	U.mqtt_port = free_port();
	mosquitto_lib_init();

	double t0 = now_s();
	bool mqtt = start_broker() == 0;
	if (!mqtt) {
		stop_proc(&U.broker);
		printf("usp bench: no mosquitto binary (or it did not start): MQTT rows skipped\n");
	}
	int rc = 1;
	if (U.ws_port <= 0 || U.mqtt_port <= 0 || write_defaults(mqtt))
		printf("usp bench: cannot set up (free ports, datamodel/factory-defaults.txt from the top directory)\n");
	else
		rc = measure(&r) ? 1 : 0;
	if (rc)
		log_tail("duetd", U.dlog);
	print_results(&r);
	printf("(USP bench: %.1f s; %.1f s per load run after %.1f s warm-up)\n", now_s() - t0, RUN_S, WARM_S);
	cleanup();
	mosquitto_lib_cleanup();
	signal(SIGINT, old_int);
	signal(SIGTERM, old_term);
	signal(SIGPIPE, old_pipe);
	return rc;
}
