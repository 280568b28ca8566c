/*
 * cwmp_bench.c - the CWMP part of `make bench`.
 *
 * 1. GetParameterValues of the whole Device. tree of the full official
 *    CWMP schema (every table holding up to 4 instances), answered and
 *    encoded in this process by the CPE's own RPC code: ms, params/s, bytes.
 * 2. Full sessions with the real duetd against an ACS in this process
 *    (plain HTTP on 127.0.0.1): each is triggered by a Connection Request
 *    (Digest, through libcurl) and runs Inform, the empty POST,
 *    GetParameterValues of 50 parameters, SetParameterValues of 10 and 204.
 *    Figures: sessions/s back to back, session time p50/p99 (Inform in to
 *    204 out), Connection Request to Inform latency p50/p99, duetd RSS.
 *    Then both managers at once (a Controller on the UNIX socket), and the
 *    latency from a change on one side to its report on the other: the
 *    ACS's SetParameterValues to the Controller's ValueChange Notify, and
 *    the Controller's Set to the Inform with 4 VALUE CHANGE.
 * Prints figures; asserts nothing.
 */
#include "bench.h"

#include "codec.h"
#include "cwmp_int.h"
#include "rpc.h"
#include "usp_bench.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GPV_PARAMS 50
#define SPV_PARAMS 10
#define RUN_S 3.0
#define MAX_SAMPLES 100000
#define LAT_RING 4096
#define LAT_SAMPLES 300

/* ---- 1. whole-tree GetParameterValues in process ---------------------------- */

static int whole_tree_gpv(const char *schema_file, const char *dir)
{
	dm_schema *s;
	dm_errinfo err;
	dm *d;

	if (dm_schema_load(schema_file, &s, &err)) {
		printf("cwmp bench: cannot load %s: %s\n", schema_file, err.msg);
		return 1;
	}
	dm_open_opts o = {.state_dir = dir, .map_size = (size_t)2 << 30};
	if (dm_open(s, &o, &d, &err)) {
		printf("cwmp bench: cannot open a store: %s\n", err.msg);
		dm_schema_free(s);
		return 1;
	}
	dm_origin internal = {DM_ORIGIN_INTERNAL, "bench"};
	dm_txn *t;
	dm_txn_begin(d, DM_TXN_WRITE, &internal, &t);
	unsigned long added = bench_populate(t, s, 4);
	if (dm_txn_commit(t, NULL, &err)) {
		printf("cwmp bench: populate failed: %s\n", err.msg);
		dm_close(d);
		dm_schema_free(s);
		return 1;
	}

	cwmp_agent a = {.d = d, .origin = {DM_ORIGIN_CWMP, "http://bench.invalid/acs"}};
	cwmp_rpc_register_dm(&a);
	char *root = "Device.";
	cwmp_msg req = {.kind = CWMP_MSG_GET_PARAMETER_VALUES, .u.names = {&root, 1}};
	double best_rpc = 1e9, best_all = 1e9;
	size_t n = 0, bytes = 0;
	for (int i = 0; i < 5; i++) {
		cwmp_reply rep;
		char *xml = NULL;
		size_t len = 0;
		cwmp_reply_init(&rep);
		double t0 = bench_now();
		cwmp_rpc_handle(&a, &req, &rep);
		double t1 = bench_now();
		int rc = cwmp_codec_encode(&rep.msg, CWMP_NS_1_2, &xml, &len);
		double t2 = bench_now();
		if (rep.msg.kind != CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE || rc) {
			printf("cwmp bench: whole-tree GetParameterValues failed (kind %d, encode %d)\n",
			       (int)rep.msg.kind, rc);
			cwmp_reply_free(&rep);
			free(xml);
			break;
		}
		n = rep.msg.u.values.n;
		bytes = len;
		if (t1 - t0 < best_rpc)
			best_rpc = t1 - t0;
		if (t2 - t0 < best_all)
			best_all = t2 - t0;
		cwmp_reply_free(&rep);
		free(xml);
	}
	dm_close(d);
	dm_schema_free(s);

	printf("\n%-44s %12s %-8s  %s\n", "CWMP figure (in process, full CWMP schema)", "value", "unit",
	       "ratio to baseline / target");
	printf("%-44s %12lu instances, %zu parameters\n", "  tree size", added, n);
	if (!n)
		return 1;
	bench_row("GetParameterValues Device. answer + encode", best_all * 1000, "ms", "of target 100 ms", 100,
		  "< 100 ms");
	bench_row("  answer (engine walk into the reply)", best_rpc * 1000, "ms", "", 0, NULL);
	bench_row("  encode (SOAP envelope)", (best_all - best_rpc) * 1000, "ms", "", 0, NULL);
	bench_row("  parameters per second", (double)n / best_all / 1e6, "M/s", "", 0, NULL);
	bench_row("  envelope size", (double)bytes / (1024 * 1024), "MiB", "", 0, NULL);
	return 0;
}

/* ---- 2. the ACS ------------------------------------------------------------------ */

/* What one session of the ACS's script is at. */
enum acs_step { STEP_INFORM, STEP_GPV, STEP_SPV, STEP_DONE };

static struct {
	int listen_fd, port;
	pthread_t thread;
	volatile int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	unsigned long sessions_done, informs;
	double inform_at; /* when the latest Inform arrived */
	double session_s[MAX_SAMPLES];
	size_t n_session;
	char cr_url[512];
	unsigned long faults;
	/* the script's fixed parts */
	char *gpv_xml;
	size_t gpv_len;
	char *names[GPV_PARAMS];
	unsigned instance; /* the DHCP pool the SetParameterValues write */
	/* cross-side latency: when each session's SetParameterValues went
	 * out (by sequence number, mod LAT_RING), and the latest Inform
	 * that carried 4 VALUE CHANGE with the ProvisioningCode it named */
	double spv_at[LAT_RING];
	double vc_at;
	char vc_code[64];
} A;

/* One connection's input, read in large pieces: a load generator that
 * reads byte by byte spends more on system calls than the agent does. */
typedef struct conn_in {
	int fd;
	char *buf;
	size_t len, cap;
} conn_in;

static int fill(conn_in *c, size_t want)
{
	while (c->len < want) {
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b = realloc(c->buf, cap);
			if (!b)
				return -1;
			c->buf = b;
			c->cap = cap;
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
		c->buf[c->len] = 0;
	}
	return 0;
}

/* One HTTP request: headers into hdr, the body malloc'd (NULL when empty). */
static int read_request(conn_in *c, char *hdr, size_t hsz, char **body, size_t *blen)
{
	char *end;
	*body = NULL;
	*blen = 0;
	while (!c->len || !(end = strstr(c->buf, "\r\n\r\n")))
		if (fill(c, c->len + 1))
			return -1;
	size_t hl = (size_t)(end - c->buf) + 4;
	snprintf(hdr, hsz, "%.*s", (int)hl, c->buf);
	const char *cl = strcasestr(hdr, "\r\nContent-Length:");
	size_t len = cl ? strtoul(cl + 17, NULL, 10) : 0;
	if (fill(c, hl + len))
		return -1;
	if (len) {
		if (!(*body = malloc(len + 1)))
			return -1;
		memcpy(*body, c->buf + hl, len);
		(*body)[len] = 0;
		*blen = len;
	}
	memmove(c->buf, c->buf + hl + len, c->len - hl - len);
	c->len -= hl + len;
	c->buf[c->len] = 0;
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Status line, headers and body in one send: one segment, not two. */
static int send_xml(int fd, const char *xml, size_t len)
{
	char h[160];
	int hl = snprintf(h, sizeof h,
			  "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nContent-Length: %zu\r\n\r\n",
			  len);
	char *all = malloc((size_t)hl + len);
	if (!all)
		return -1;
	memcpy(all, h, (size_t)hl);
	memcpy(all + hl, xml, len);
	int rc = send_all(fd, all, (size_t)hl + len);
	free(all);
	return rc;
}

static int send_empty(int fd)
{
	static const char r[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
	return send_all(fd, r, sizeof r - 1);
}

/* The ACS's side of the exchange is written and read here with plain
 * text: the project's codec speaks only the CPE's side. */
#define ENV_OPEN                                                                                   \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soap:Envelope "                                \
	"xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "                                  \
	"xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" "                               \
	"xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "                                            \
	"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\">" \
	"<soap:Body>"
#define ENV_CLOSE "</soap:Body></soap:Envelope>"

static int send_text(int fd, const char *body)
{
	return send_xml(fd, body, strlen(body));
}

/* The text between the first `after` and the next '<', into out. */
static bool text_after(const char *body, const char *after, char *out, size_t outsz)
{
	const char *p = strstr(body, after);
	if (!p)
		return false;
	p += strlen(after);
	size_t n = strcspn(p, "<");
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

static void note_inform(const char *body)
{
	char url[512];
	bool have = text_after(body, "ConnectionRequestURL</Name><Value xsi:type=\"xsd:string\">", url,
			       sizeof url);
	pthread_mutex_lock(&A.mu);
	A.informs++;
	A.inform_at = bench_now();
	if (strstr(body, "<EventCode>4 VALUE CHANGE</EventCode>")) {
		A.vc_at = A.inform_at;
		if (!text_after(body, "ProvisioningCode</Name><Value xsi:type=\"xsd:string\">", A.vc_code,
				sizeof A.vc_code))
			A.vc_code[0] = 0;
	}
	if (have)
		snprintf(A.cr_url, sizeof A.cr_url, "%s", url);
	pthread_cond_broadcast(&A.cv);
	pthread_mutex_unlock(&A.mu);
}

static void note_session_end(void)
{
	pthread_mutex_lock(&A.mu);
	if (A.n_session < MAX_SAMPLES)
		A.session_s[A.n_session++] = bench_now() - A.inform_at;
	A.sessions_done++;
	pthread_cond_broadcast(&A.cv);
	pthread_mutex_unlock(&A.mu);
}

/* The SetParameterValues of a session: 10 parameters of one DHCP
 * server pool, values that change every session so each is a real write. */
static int send_spv(int fd, unsigned long seq)
{
	char body[4096];
	unsigned long b = seq % 250 + 1;
	const char *flag = seq & 1 ? "true" : "false";
	unsigned inst = A.instance;
#define PV(name, type, fmt) "<ParameterValueStruct><Name>Device.DHCPv4.Server.Pool.%u." name "</Name>" \
			    "<Value xsi:type=\"xsd:" type "\">" fmt "</Value></ParameterValueStruct>"
	snprintf(body, sizeof body,
		 ENV_OPEN "<cwmp:SetParameterValues><ParameterList soapenc:arrayType=\"cwmp:ParameterValueStruct[10]\">"
		 PV("VendorClassID", "string", "bench-%lu") PV("VendorClassIDExclude", "boolean", "%s")
		 PV("ClientIDExclude", "boolean", "%s") PV("UserClassIDExclude", "boolean", "%s")
		 PV("ChaddrExclude", "boolean", "%s") PV("MinAddress", "string", "10.%lu.0.10")
		 PV("MaxAddress", "string", "10.%lu.0.200") PV("DomainName", "string", "b%lu.example")
		 PV("LeaseTime", "int", "%lu") PV("DSCPMark", "unsignedInt", "%lu")
		 "</ParameterList><ParameterKey>bench-%lu</ParameterKey></cwmp:SetParameterValues>" ENV_CLOSE,
		 inst, seq, inst, flag, inst, flag, inst, flag, inst, flag, inst, b, inst, b, inst, seq, inst,
		 3600 + seq % 1000, inst, seq % 64, seq);
#undef PV
	pthread_mutex_lock(&A.mu);
	A.spv_at[seq % LAT_RING] = bench_now();
	pthread_mutex_unlock(&A.mu);
	return send_text(fd, body);
}

/* One connection: the CPE's POSTs answered by the script until it closes. */
static void serve_connection(int fd)
{
	static const char inform_response[] =
		ENV_OPEN "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>" ENV_CLOSE;
	static const char add_object[] = ENV_OPEN "<cwmp:AddObject><ObjectName>Device.DHCPv4.Server.Pool.</ObjectName>"
						  "<ParameterKey>bench</ParameterKey></cwmp:AddObject>" ENV_CLOSE;
	enum acs_step step = STEP_INFORM;
	unsigned long seq = 0;
	char hdr[4096];
	conn_in in = {.fd = fd};

	for (;;) {
		char *body, num[32];
		size_t blen;
		int rc;
		if (read_request(&in, hdr, sizeof hdr, &body, &blen))
			break;
		if (blen && strstr(body, ":Inform>")) {
			note_inform(body);
			step = STEP_GPV;
			seq = A.informs;
			rc = send_text(fd, inform_response);
		} else if (blen && text_after(body, "<InstanceNumber>", num, sizeof num)) {
			A.instance = (unsigned)strtoul(num, NULL, 10);
			rc = send_empty(fd);
			note_session_end();
		} else if (!A.instance && step == STEP_GPV) {
			/* the first session creates the DHCP pool the others write */
			rc = send_text(fd, add_object);
		} else if (step == STEP_GPV) {
			rc = send_xml(fd, A.gpv_xml, A.gpv_len);
			step = STEP_SPV;
		} else if (step == STEP_SPV) {
			if (!blen || !strstr(body, "GetParameterValuesResponse"))
				A.faults++;
			rc = send_spv(fd, seq);
			step = STEP_DONE;
		} else {
			if (!blen || !strstr(body, "SetParameterValuesResponse"))
				A.faults++;
			rc = send_empty(fd);
			step = STEP_INFORM;
			note_session_end();
		}
		free(body);
		if (rc)
			break;
	}
	free(in.buf);
	close(fd);
}

static void *connection_main(void *arg)
{
	serve_connection((int)(intptr_t)arg);
	return NULL;
}

/* A thread per connection: the CPE may keep an idle one open while it
 * starts the next session on another. */
static void *acs_main(void *arg)
{
	(void)arg;
	while (!A.stop) {
		int fd = accept(A.listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1;
		pthread_t th;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (pthread_create(&th, NULL, connection_main, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(th);
	}
	return NULL;
}

static int acs_start(const dm_schema *s)
{
	/* the GetParameterValues: 50 parameters of ManagementServer and DeviceInfo */
	size_t n = 0;
	const char *objs[] = {"Device.ManagementServer.", "Device.DeviceInfo."};
	for (size_t o = 0; o < 2 && n < GPV_PARAMS; o++) {
		const dm_node *obj = dm_schema_find(s, objs[o]);
		for (const dm_node *c = obj ? dm_node_first_child(obj) : NULL; c && n < GPV_PARAMS;
		     c = dm_node_next_sibling(c))
			if (dm_node_get_kind(c) == DM_NODE_PARAM)
				A.names[n++] = strdup(dm_node_path(c));
	}
	size_t cap = 1024;
	for (size_t i = 0; i < n; i++)
		cap += strlen(A.names[i]) + 32;
	A.gpv_xml = malloc(cap);
	if (A.gpv_xml) {
		int k = snprintf(A.gpv_xml, cap,
				 ENV_OPEN "<cwmp:GetParameterValues><ParameterNames soapenc:arrayType=\"xsd:string[%zu]\">",
				 n);
		for (size_t i = 0; i < n; i++)
			k += snprintf(A.gpv_xml + k, cap - (size_t)k, "<string>%s</string>", A.names[i]);
		k += snprintf(A.gpv_xml + k, cap - (size_t)k, "</ParameterNames></cwmp:GetParameterValues>" ENV_CLOSE);
		A.gpv_len = (size_t)k;
	}
	if (n != GPV_PARAMS || !A.gpv_xml) {
		printf("cwmp bench: only %zu parameters for the GetParameterValues\n", n);
		return -1;
	}

	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	A.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (A.listen_fd < 0 || bind(A.listen_fd, (struct sockaddr *)&a, sizeof a) || listen(A.listen_fd, 16) ||
	    getsockname(A.listen_fd, (struct sockaddr *)&a, &al)) {
		printf("cwmp bench: cannot listen for the ACS\n");
		return -1;
	}
	A.port = ntohs(a.sin_port);
	pthread_mutex_init(&A.mu, NULL);
	pthread_cond_init(&A.cv, NULL);
	return pthread_create(&A.thread, NULL, acs_main, NULL) ? -1 : 0;
}

static void acs_stop(void)
{
	A.stop = 1;
	shutdown(A.listen_fd, SHUT_RDWR);
	close(A.listen_fd);
	pthread_join(A.thread, NULL);
	for (size_t i = 0; i < GPV_PARAMS; i++)
		free(A.names[i]);
	free(A.gpv_xml);
}

/* Wait until *counter (one of the ACS's, guarded by A.mu) reaches count;
 * false at the deadline. */
static bool wait_count(const unsigned long *counter, unsigned long count, double timeout_s)
{
	double end = bench_now() + timeout_s;
	bool ok;
	pthread_mutex_lock(&A.mu);
	while (*counter < count && bench_now() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&A.cv, &A.mu, &ts);
	}
	ok = *counter >= count;
	pthread_mutex_unlock(&A.mu);
	return ok;
}

static bool wait_sessions(unsigned long count, double timeout_s)
{
	return wait_count(&A.sessions_done, count, timeout_s);
}

static bool wait_informs(unsigned long count, double timeout_s)
{
	return wait_count(&A.informs, count, timeout_s);
}

/* ---- 2. the agent and the measured runs -------------------------------------------- */

static int write_defaults(const char *path)
{
	FILE *in = fopen("datamodel/factory-defaults.txt", "r"), *out = fopen(path, "w");
	char line[1024];
	int rc = in && out ? 0 : -1;
	while (!rc && fgets(line, sizeof line, in))
		if (strncmp(line, "Device.ManagementServer.URL ", 28) &&
		    strncmp(line, "Device.ManagementServer.PeriodicInformEnable ", 45))
			fputs(line, out);
	if (out)
		fprintf(out, "Device.ManagementServer.URL http://127.0.0.1:%d/acs\n"
			     "Device.ManagementServer.PeriodicInformEnable false\n"
			     "Device.LocalAgent.Controller.1.EndpointID " UB_CTL_ID "\n"
			     "Device.LocalAgent.Controller.1.Enable true\n"
			     "Device.LocalAgent.Controller.1.AssignedRole Device.LocalAgent.ControllerTrust.Role.1\n",
			A.port);
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* The Connection Request as an ACS sends it: GET with Digest. */
static int connection_request(CURL *c)
{
	long code = 0;
	curl_easy_setopt(c, CURLOPT_URL, A.cr_url);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code == 200 || code == 204 ? 0 : (int)code;
}

/*
 * Throughput: the next Connection Request goes out as soon as a session
 * has started, so the CPE opens the next session the moment the current
 * one ends (TR-069 3.2.2), as an ACS with work queued for the device would
 * have it. Sessions per second over `seconds`.
 */
static double pipelined_sessions(CURL *c, double seconds, unsigned long *failures)
{
	unsigned long start = A.sessions_done;
	double r0 = bench_now(), end = r0 + seconds;

	while (bench_now() < end) {
		unsigned long informs = A.informs;
		if (connection_request(c)) {
			(*failures)++;
			usleep(10000);
			continue;
		}
		if (!wait_informs(informs + 1, 5)) {
			printf("cwmp bench: a session did not start\n");
			break;
		}
	}
	wait_sessions(A.informs, 5);
	return (double)(A.sessions_done - start) / (bench_now() - r0);
}

/* The Controller's side of the both-managers run: Gets of DeviceInfo, one
 * outstanding (a Controller at work, not a flood that alone saturates the
 * agent's one loop), over the UNIX socket, on its own thread. */
typedef struct usp_side {
	ub_link *link;
	ub_tmpl tmpl;
	pid_t agent;
	ub_load out;
	int rc;
} usp_side;

static void *usp_load_main(void *arg)
{
	usp_side *u = arg;
	u->rc = ub_run_load(u->link, &u->tmpl, 1, USP__HEADER__MSG_TYPE__GET_RESP, u->agent, 0, &u->out);
	return NULL;
}

/*
 * Both managers at once (issue: each keeps at least 80% of its solo
 * figure): the Controller's Get load alone, then together with the ACS's
 * back-to-back sessions for the same time.
 */
static void both_managers(CURL *c, pid_t agent, const char *usp_sock, double cwmp_solo, unsigned long *failures)
{
	usp_side u = {.agent = agent};
	char agent_id[256];
	pthread_t th;

	if (!(u.link = ub_uds_open(usp_sock, agent_id, sizeof agent_id))) {
		printf("cwmp bench: no USP session over %s; both-managers run skipped\n", usp_sock);
		return;
	}
	ub_set_agent_id(agent_id);
	if (ub_tmpl_get(&u.tmpl, "Device.DeviceInfo.", "both-" UB_ID_HOLE) ||
	    ub_run_load(u.link, &u.tmpl, 1, USP__HEADER__MSG_TYPE__GET_RESP, agent, 0, &u.out)) {
		printf("cwmp bench: the USP solo run failed\n");
		ub_tmpl_free(&u.tmpl);
		ub_link_close(u.link);
		return;
	}
	double usp_solo = u.out.rps;
	if (pthread_create(&th, NULL, usp_load_main, &u)) {
		ub_tmpl_free(&u.tmpl);
		ub_link_close(u.link);
		return;
	}
	double cwmp_both = pipelined_sessions(c, UB_WARM_S + UB_RUN_S, failures);
	pthread_join(th, NULL);
	printf("\n%-44s %12s %-8s  %s\n", "Both managers at once (duetd, bundled schema)", "value", "unit",
	       "ratio to solo / target");
	bench_row("ACS: full sessions/s with the Controller busy", cwmp_both, "sess/s", "of solo", cwmp_solo,
		  ">= 0.8x solo");
	bench_row("Controller: Get DeviceInfo., ACS busy", u.rc ? -1 : u.out.rps, "req/s", "of solo",
		  usp_solo, ">= 0.8x solo");
	bench_row("  Controller solo on the same duetd", usp_solo, "req/s", "", 0, NULL);
	ub_tmpl_free(&u.tmpl);
	ub_link_close(u.link);
}

/* ---- 3. from a change on one side to its notification on the other ------------ */

/* A Subscription of the Controller (NotifRetry false: no NotifyResp owed). */
static int subscribe(ub_link *l, const char *kind, const char *refs)
{
	ub_req r;
	Usp__Msg *m = ub_req_init(&r, "lat-sub", USP__HEADER__MSG_TYPE__ADD);
	Usp__Add add = USP__ADD__INIT;
	Usp__Add__CreateObject co = USP__ADD__CREATE_OBJECT__INIT;
	Usp__Add__CreateParamSetting ps[4];
	Usp__Add__CreateParamSetting *pps[4];
	const char *names[4] = {"ID", "NotifType", "ReferenceList", "Enable"};
	const char *values[4] = {"bench-latency", kind, refs, "true"};
	for (int i = 0; i < 4; i++) {
		ps[i] = (Usp__Add__CreateParamSetting)USP__ADD__CREATE_PARAM_SETTING__INIT;
		ps[i].param = (char *)names[i];
		ps[i].value = (char *)values[i];
		ps[i].required = true;
		pps[i] = &ps[i];
	}
	co.obj_path = "Device.LocalAgent.Subscription.";
	co.n_param_settings = 4;
	co.param_settings = pps;
	Usp__Add__CreateObject *cos[] = {&co};
	add.n_create_objs = 1;
	add.create_objs = cos;
	r.req.req_type_case = USP__REQUEST__REQ_TYPE_ADD;
	r.req.add = &add;
	Usp__Msg *resp = ub_call(l, m, UB_WAIT_S);
	int ok = resp && resp->body && resp->body->msg_body_case == USP__BODY__MSG_BODY_RESPONSE &&
		 resp->body->response->resp_type_case == USP__RESPONSE__RESP_TYPE_ADD_RESP &&
		 resp->body->response->add_resp->n_created_obj_results == 1 &&
		 resp->body->response->add_resp->created_obj_results[0]->oper_status->oper_status_case ==
			 USP__ADD_RESP__CREATED_OBJECT_RESULT__OPERATION_STATUS__OPER_STATUS_OPER_SUCCESS;
	if (resp)
		usp__msg__free_unpacked(resp, NULL);
	return ok ? 0 : -1;
}

/* The value a ValueChange Notify in a Record carries, into out; false when
 * the Record is something else. */
static bool value_change_of(const uint8_t *b, size_t len, char *out, size_t outsz)
{
	ub_scan sc;
	if (ub_scan_record(b, len, &sc) || sc.msg_type != USP__HEADER__MSG_TYPE__NOTIFY)
		return false;
	Usp__Msg *m = usp__msg__unpack(NULL, sc.plen, sc.payload);
	bool ok = m && m->body && m->body->msg_body_case == USP__BODY__MSG_BODY_REQUEST &&
		  m->body->request->req_type_case == USP__REQUEST__REQ_TYPE_NOTIFY &&
		  m->body->request->notify->notification_case == USP__NOTIFY__NOTIFICATION_VALUE_CHANGE;
	if (ok)
		snprintf(out, outsz, "%s", m->body->request->notify->value_change->param_value);
	if (m)
		usp__msg__free_unpacked(m, NULL);
	return ok;
}

typedef struct notify_watch {
	ub_link *link;
	volatile int stop;
	double lat[LAT_SAMPLES];
	size_t n;
} notify_watch;

/* The Controller's side: each ValueChange of the ACS's VendorClassID
 * ("bench-<seq>") against the time the ACS sent that SetParameterValues. */
static void *notify_watch_main(void *arg)
{
	notify_watch *w = arg;
	while (!w->stop && w->n < LAT_SAMPLES) {
		const uint8_t *b;
		size_t len;
		char v[64];
		int rc = ub_link_recv(w->link, &b, &len, ub_now() + 0.1);
		if (rc < 0)
			break;
		if (rc == 0 || !value_change_of(b, len, v, sizeof v) || strncmp(v, "bench-", 6))
			continue;
		double now = bench_now();
		unsigned long seq = strtoul(v + 6, NULL, 10);
		pthread_mutex_lock(&A.mu);
		double sent = A.spv_at[seq % LAT_RING];
		pthread_mutex_unlock(&A.mu);
		if (sent > 0 && now >= sent)
			w->lat[w->n++] = (now - sent) * 1e6;
	}
	return NULL;
}

/* ACS -> Controller: the ACS's SetParameterValues in back-to-back
 * sessions, the Controller subscribed to one of the parameters written. */
static void acs_to_controller(CURL *c, ub_link *l, unsigned long *failures)
{
	char refs[128];
	snprintf(refs, sizeof refs, "Device.DHCPv4.Server.Pool.%u.VendorClassID", A.instance);
	notify_watch *w = calloc(1, sizeof *w);
	pthread_t th;
	if (!w || subscribe(l, "ValueChange", refs)) {
		printf("cwmp bench: no ValueChange subscription; ACS -> Controller latency skipped\n");
		free(w);
		return;
	}
	w->link = l;
	if (pthread_create(&th, NULL, notify_watch_main, w)) {
		free(w);
		return;
	}
	double end = bench_now() + 5;
	while (bench_now() < end && w->n < LAT_SAMPLES) {
		unsigned long want = A.sessions_done + 1;
		if (connection_request(c)) {
			(*failures)++;
			usleep(10000);
			continue;
		}
		if (!wait_sessions(want, 5))
			break;
	}
	usleep(20000); /* the last Notify */
	w->stop = 1;
	pthread_join(th, NULL);
	bench_row("ACS SPV -> Controller ValueChange p50", w->n ? pct(w->lat, w->n, 0.5) : -1, "us", "", 0, NULL);
	bench_row("ACS SPV -> Controller ValueChange p99", w->n ? pct(w->lat, w->n, 0.99) : -1, "us",
		  "of target 10 ms", 10000, "p99 < 10 ms");
	free(w);
}

/* Controller -> ACS: a Controller's Set of ProvisioningCode (active
 * notification by default: forceDefaultEnabled) until the Inform with
 * 4 VALUE CHANGE and the new value reaches the ACS, one at a time. The
 * throttle (DefaultActiveNotificationThrottle) is 0 here: the figure is
 * the agent's own path. */
static void controller_to_acs(ub_link *l)
{
	static double lat[LAT_SAMPLES];
	size_t n = 0;
	ub_tmpl t = {0};
	if (ub_tmpl_set(&t, "Device.DeviceInfo.", "ProvisioningCode", "lat." UB_ID_HOLE)) {
		printf("cwmp bench: no Set template; Controller -> ACS latency skipped\n");
		return;
	}
	for (int i = 0; i < LAT_SAMPLES; i++) {
		char want[64];
		unsigned long done = A.sessions_done;
		uint32_t seq = t.next++;
		snprintf(want, sizeof want, "lat.%08x", seq); /* the hole takes hex digits */
		ub_tmpl_patch(&t, seq);
		double t0 = bench_now();
		if (ub_link_send(l, t.buf, t.len))
			break;
		double deadline = t0 + 5;
		bool seen = false;
		while (!seen && bench_now() < deadline) {
			const uint8_t *b;
			size_t len;
			ub_link_recv(l, &b, &len, ub_now() + 0.0005); /* the SetResp */
			pthread_mutex_lock(&A.mu);
			seen = A.vc_at > t0 && !strcmp(A.vc_code, want);
			double at = A.vc_at;
			pthread_mutex_unlock(&A.mu);
			if (seen)
				lat[n++] = (at - t0) * 1e6;
		}
		if (!seen || !wait_sessions(done + 1, 5))
			break;
	}
	ub_tmpl_free(&t);
	bench_row("Controller Set -> ACS 4 VALUE CHANGE p50", n ? pct(lat, n, 0.5) : -1, "us", "", 0, NULL);
	bench_row("Controller Set -> ACS 4 VALUE CHANGE p99", n ? pct(lat, n, 0.99) : -1, "us", "", 0,
		  "throttle 0 s");
	if (n < LAT_SAMPLES)
		printf("  (%zu of %d value-change sessions seen)\n", n, LAT_SAMPLES);
}

static void cross_side_latency(CURL *c, const char *usp_sock, unsigned long *failures)
{
	char agent_id[256];
	ub_link *l = ub_uds_open(usp_sock, agent_id, sizeof agent_id);
	if (!l) {
		printf("cwmp bench: no USP session over %s; cross-side latency skipped\n", usp_sock);
		return;
	}
	ub_set_agent_id(agent_id);
	printf("\n%-44s %12s %-8s  %s\n", "From a change to the other side's report", "value", "unit",
	       "ratio / target");
	acs_to_controller(c, l, failures);
	controller_to_acs(l);
	ub_link_close(l);
}

static int sessions_run(const char *dir, pid_t *agent)
{
	char defaults[1100], state[1100], admin[1100], log[1100], exe[1024], usp_sock[1100];
	snprintf(defaults, sizeof defaults, "%s/cwmp-defaults.txt", dir);
	snprintf(state, sizeof state, "%s/cwmp-state", dir);
	snprintf(admin, sizeof admin, "%s/cwmp-admin.sock", dir);
	snprintf(log, sizeof log, "%s/cwmp-duetd.log", dir);
	snprintf(usp_sock, sizeof usp_sock, "%s/usp.sock", dir);
	snprintf(exe, sizeof exe, "%s/duetd", getenv("BUILD") ? getenv("BUILD") : "build");
	if (write_defaults(defaults))
		return -1;
	char *argv[] = {exe, "--state", state, "--schema", "datamodel/device2.xml", "--defaults", defaults,
			"--admin", admin, "--usp-socket", usp_sock, "--cwmp-cr-port", "-1", "--cwmp-cr-limit", "0", "--log-level", "warn",
			NULL};
	double t0 = bench_now();
	*agent = bench_spawn(log, argv);
	/* the bootstrap session creates the DHCP pool */
	if (!wait_sessions(1, 10) || !A.instance || !A.cr_url[0]) {
		printf("cwmp bench: no bootstrap session with duetd (%lu sessions, %lu Informs, instance %u, "
		       "connection request URL \"%s\"); its log:\n",
		       A.sessions_done, A.informs, A.instance, A.cr_url);
		fflush(stdout);
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "tail -n 20 '%s'", log);
		if (system(cmd))
			printf("(no log)\n");
		return -1;
	}
	double first_ms = (bench_now() - t0) * 1000;
	long rss_idle = bench_rss_kb(*agent), pss_idle = bench_pss_kb(*agent);

	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
	curl_easy_setopt(c, CURLOPT_USERPWD, "DG0000000001:duet-cr");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	static double cr_lat[MAX_SAMPLES];
	size_t n_cr = 0;
	unsigned long start_done = A.sessions_done, failures = 0;
	pthread_mutex_lock(&A.mu);
	A.n_session = 0;
	pthread_mutex_unlock(&A.mu);
	double r0 = bench_now(), end = r0 + RUN_S;
	while (bench_now() < end && n_cr < MAX_SAMPLES) {
		unsigned long want = A.sessions_done + 1;
		unsigned long informs = A.informs;
		double c0 = bench_now();
		if (connection_request(c)) {
			failures++;
			usleep(10000);
			continue;
		}
		if (!wait_sessions(want, 5)) {
			printf("cwmp bench: a session did not complete\n");
			break;
		}
		if (A.informs > informs)
			cr_lat[n_cr++] = A.inform_at - c0;
	}
	double seq_rate = (double)(A.sessions_done - start_done) / (bench_now() - r0);

	/* Throughput: the next Connection Request goes out as soon as a
	 * session has started, so the CPE opens the next session the moment
	 * the current one ends (TR-069 3.2.2), as an ACS with work queued for
	 * the device would have it. */
	double pipelined = pipelined_sessions(c, RUN_S, &failures);
	long rss_load = bench_rss_kb(*agent);
	both_managers(c, *agent, usp_sock, pipelined, &failures);
	cross_side_latency(c, usp_sock, &failures);
	curl_easy_cleanup(c);

	for (size_t i = 0; i < n_cr; i++)
		cr_lat[i] *= 1e6;
	for (size_t i = 0; i < A.n_session; i++)
		A.session_s[i] *= 1e6;
	double sess_p50 = pct(A.session_s, A.n_session, 0.5), sess_p99 = pct(A.session_s, A.n_session, 0.99);
	double mean = 0;
	for (size_t i = 0; i < A.n_session; i++)
		mean += A.session_s[i];
	mean = A.n_session ? mean / (double)A.n_session : -1;

	printf("\n%-44s %12s %-8s  %s\n", "CWMP figure (duetd, bundled schema)", "value", "unit",
	       "ratio to baseline / target");
	bench_row("first start to bootstrap session done", first_ms, "ms", "", 0, NULL);
	bench_row("full sessions back to back (CR-triggered)", pipelined, "sess/s", "of target 1000",
		  1000, ">= 1000/s");
	bench_row("  one at a time: CR, wait for the end, repeat", seq_rate, "sess/s", "", 0, NULL);
	bench_row("  session time only, as sessions/s", mean > 0 ? 1e6 / mean : -1, "sess/s", "of target 1000",
		  1000, NULL);
	bench_row("  session time p50 (Inform in to 204 out)", sess_p50, "us", "", 0, NULL);
	bench_row("  session time p99", sess_p99, "us", "", 0, NULL);
	bench_row("connection request to Inform p50", pct(cr_lat, n_cr, 0.5), "us", "", 0, NULL);
	bench_row("connection request to Inform p99", pct(cr_lat, n_cr, 0.99), "us", "", 0, NULL);
	bench_row("duetd RSS idle after bootstrap", (double)rss_idle / 1024, "MiB", "", 0, NULL);
	bench_row("duetd RSS after the session run", (double)rss_load / 1024, "MiB", "", 0, NULL);
	bench_row("duetd PSS idle (shared libraries shared)", (double)pss_idle / 1024, "MiB", "", 0, NULL);
	if (failures || A.faults)
		printf("  (%lu connection requests refused, %lu unexpected answers)\n", failures, A.faults);
	return pipelined > 0 ? 0 : -1;
}

int cwmp_bench_run(const char *cwmp_schema_file)
{
	char dir[] = "/tmp/duet-cwmp-bench-XXXXXX";
	char sub[64], cmd[128];
	int rc = 0;
	if (!mkdtemp(dir))
		return 1;
	snprintf(sub, sizeof sub, "%s/gpv", dir);
	mkdir(sub, 0700);
	if (cwmp_schema_file)
		rc |= whole_tree_gpv(cwmp_schema_file, sub);
	else
		printf("\ncwmp bench: no official CWMP schema; whole-tree GetParameterValues skipped\n");

	dm_schema *s;
	dm_errinfo err;
	pid_t agent = 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dm_schema_load("datamodel/device2.xml", &s, &err)) {
		printf("cwmp bench: %s\n", err.msg);
		rc = 1;
	} else {
		if (acs_start(s) || sessions_run(dir, &agent))
			rc = 1;
		if (agent > 0) {
			kill(agent, SIGTERM);
			waitpid(agent, NULL, 0);
		}
		acs_stop();
		dm_schema_free(s);
	}
	curl_global_cleanup();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		rc = 1;
	return rc;
}
