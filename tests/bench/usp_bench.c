/*
 * usp_bench.c - the USP part of `make bench`: the real duetd, on the full
 * official USP schema, driven as a Controller drives it over WebSocket, its
 * UNIX socket (--usp-socket) and MQTT 5 through a private mosquitto; each
 * figure with its ratio to the reference agent obuspa measured on the same
 * 2-core machine. Here: the processes and their temporary directory, the
 * store populated through USP Add, the runs and the figures. The Controller
 * side (sessions, requests, load runs) is usp_bench_link.c's; the engine
 * alone is bench.c's. Prints figures; asserts nothing.
 */
#include "bench.h"
#include "usp_bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* obuspa on this machine: Gets of Device.DeviceInfo. with 8 outstanding,
 * durable one-parameter Sets, the whole-tree Get, resident memory. */
#define OBUSPA_WS_GETS 14800.0
#define OBUSPA_MQTT_GETS 10700.0
#define OBUSPA_SETS 1000.0
#define OBUSPA_TREE_MS 122.0
#define OBUSPA_TREE_PARAMS 11300.0
#define OBUSPA_RSS_MIB 16.0

#define TREE_TARGET 11300 /* parameters in Device. for the whole-tree Get */
#define TREE_GETS 15
#define CTL_TOPIC "usp/controller/duet-bench"
#define AGENT_TOPIC "usp/agent/DG0000000001" /* ResponseTopicConfigured in the factory defaults */
#define ECHO_TOPIC "duet-bench/echo"


/* ---- processes and the temporary directory ------------------------------------------- */

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





static void log_tail(const char *what, const char *path)
{
	char cmd[300];
	printf("---- last lines of the %s log ----\n", what);
	fflush(stdout);
	snprintf(cmd, sizeof cmd, "tail -n 15 '%s' 2>/dev/null", path);
	if (system(cmd))
		printf("(no log)\n");
}

/* ---- populating the store through the agent ------------------------------------------- */

typedef struct pop_key {
	const char *param, *fmt; /* fmt may use one %d: the object's number in its row */
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
	ub_req rm;
	Usp__Msg *m = ub_req_init(&rm, id, USP__HEADER__MSG_TYPE__ADD);
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
	Usp__Msg *resp = ub_call(l, m, UB_WAIT_S);
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

/* Returns the parameter count of Device. afterwards, -1 on failure;
 * *objects the objects added, *fill those of the last row. */
static long populate(ub_link *l, unsigned long *objects, unsigned long *fill)
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
	long before = ub_get_count(l, "Device.", UB_WAIT_S);
	long n = add_objects(l, f, 1, 1, 10000, NULL);
	long after = ub_get_count(l, "Device.", UB_WAIT_S);
	if (before < 0 || n != 1 || after <= before)
		return -1;
	*objects += 1;
	*fill = 1;
	long per = after - before, want = (TREE_TARGET - after + per / 2) / per;
	for (long done = 0; done < want;) {
		int batch = want - done > 100 ? 100 : (int)(want - done);
		long c = add_objects(l, f, 2 + (int)done, batch, 10000, NULL);
		if (c <= 0)
			return -1;
		*objects += (unsigned long)c;
		*fill += (unsigned long)c;
		done += batch;
	}
	return ub_get_count(l, "Device.", UB_WAIT_S);
}

/* ---- the agent and the broker ---------------------------------------------------------- */

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
			     "Device.LocalAgent.Controller.1.EndpointID " UB_CTL_ID "\n"
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

/* Start duetd and time it to its first answered Get over the UNIX socket
 * (connection and Handshake included). Returns ms, or -1. */
static double start_agent(void)
{
	char *argv[] = {U.duetd_exe, "--state", U.state, "--schema", U.schema, "--defaults", U.defaults, "--admin",
			U.admin, "--usp-socket", U.usp_sock, "--log-level", "warn", NULL};
	double t0 = ub_now(), ms = -1;
	U.duetd = bench_spawn(U.dlog, argv);
	while (ub_now() - t0 < 10) {
		if (waitpid(U.duetd, NULL, WNOHANG) == U.duetd) {
			U.duetd = 0;
			break;
		}
		ub_link *l = ub_uds_open(U.usp_sock, U.agent_id, sizeof U.agent_id);
		if (!l) {
			usleep(200);
			continue;
		}
		ub_set_agent_id(U.agent_id);
		long n = ub_get_count(l, "Device.DeviceInfo.SoftwareVersion", UB_WAIT_S);
		if (n == 1)
			ms = (ub_now() - t0) * 1000;
		ub_link_close(l);
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
	U.broker = bench_spawn(U.blog, argv);
	return bench_wait_port(U.mqtt_port, 5) ? 0 : -1;
}

/* ---- the runs --------------------------------------------------------------------------- */

typedef struct results {
	ub_load ws[2], uds[2], mq[2], raw[2], set[2];
	bool broker; /* a mosquitto ran: MQTT rows are due */
	long tree_params;
	unsigned long objects, fill;
	double tree_best, tree_median, tree_kib;
	double first_boot_ms, start_ms;
	long rss_boot, rss_idle, rss_load;
} results;

static const int windows[2] = {1, 8};

static int load_pair(ub_link *l, ub_tmpl *t, int want, ub_load out[2], const char *what)
{
	out[0].rps = out[1].rps = -1;
	for (int i = 0; i < 2; i++) {
		if (ub_run_load(l, t, windows[i], want, U.duetd, U.broker, &out[i])) {
			printf("usp bench: %s with %d outstanding: an answer did not come\n", what, windows[i]);
			out[i].rps = -1;
			return -1;
		}
		if (out[i].wrong)
			printf("usp bench: %s: %lu answers of an unexpected type\n", what, out[i].wrong);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Gets of the whole tree, one at a time, timed to the last byte of the answer. */
static int measure_tree(ub_link *l, results *r)
{
	ub_tmpl t;
	double ms[TREE_GETS];
	int rc = -1;
	if (ub_tmpl_get(&t, "Device.", "tree-" UB_ID_HOLE))
		return -1;
	for (int i = 0; i < TREE_GETS; i++) {
		const uint8_t *b;
		size_t len;
		ub_scan s;
		ub_tmpl_patch(&t, (uint32_t)i);
		double t0 = ub_now();
		if (ub_link_send(l, t.buf, t.len))
			goto out;
		do {
			if (ub_link_recv(l, &b, &len, ub_now() + UB_WAIT_S) != 1)
				goto out;
		} while (ub_scan_record(b, len, &s) || s.kind != 7);
		ms[i] = (ub_now() - t0) * 1000;
		if (s.msg_type != USP__HEADER__MSG_TYPE__GET_RESP)
			goto out;
		if (i == 0) {
			Usp__Msg *m = usp__msg__unpack(NULL, s.plen, s.payload);
			r->tree_params = ub_count_params(m);
			if (m)
				usp__msg__free_unpacked(m, NULL);
			r->tree_kib = (double)len / 1024;
		}
	}
	qsort(ms, TREE_GETS, sizeof ms[0], cmp_double);
	r->tree_best = ms[0];
	r->tree_median = ms[TREE_GETS / 2];
	rc = 0;
out:
	ub_tmpl_free(&t);
	return rc;
}

static int measure_mqtt(results *r, ub_tmpl *get)
{
	ub_link *mq = ub_mqtt_open(U.mqtt_port, "duet-bench-ctl", CTL_TOPIC, AGENT_TOPIC);
	ub_echo *echo = NULL;
	bool up = false;
	int rc = -1;
	/* the agent reconnects to the broker after each restart */
	for (double end = ub_now() + 10; mq && !up && ub_now() < end;)
		up = ub_get_count(mq, "Device.DeviceInfo.SoftwareVersion", 0.3) == 1;
	if (!up) {
		printf("usp bench: duetd does not answer over MQTT\n");
		goto out;
	}
	if (load_pair(mq, get, USP__HEADER__MSG_TYPE__GET_RESP, r->mq, "MQTT Get"))
		goto out;
	/* the same requests, the same session, a client echoing them instead of the agent */
	if (!(echo = ub_echo_start(U.mqtt_port, ECHO_TOPIC)))
		goto out;
	ub_mqtt_retarget(mq, ECHO_TOPIC);
	rc = load_pair(mq, get, USP__HEADER__MSG_TYPE__GET, r->raw, "raw broker round trip");
out:
	ub_echo_stop(echo);
	ub_link_close(mq);
	return rc;
}

static int measure(results *r)
{
	ub_link *ws = NULL, *uds = NULL;
	ub_tmpl get = {0}, set = {0};
	int rc = -1;

	r->first_boot_ms = start_agent();
	if (r->first_boot_ms < 0) {
		printf("usp bench: duetd did not answer a Get over its UNIX socket\n");
		goto out;
	}
	usleep(100000);
	r->rss_boot = bench_rss_kb(U.duetd);
	if (!bench_wait_port(U.ws_port, 5) || !(ws = ub_ws_open(U.ws_port))) {
		printf("usp bench: no WebSocket session with duetd on port %d\n", U.ws_port);
		goto out;
	}
	double p0 = ub_now();
	r->tree_params = populate(ws, &r->objects, &r->fill);
	if (r->tree_params < 0) {
		printf("usp bench: populating the store through USP Add failed\n");
		goto out;
	}
	printf("usp bench: %lu objects added by USP Add in %.2f s; Device. has %ld parameters\n", r->objects,
	       ub_now() - p0, r->tree_params);
	ub_link_close(ws);
	ws = NULL;

	/* start-up on the populated store: the best of 3 */
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
	r->rss_idle = bench_rss_kb(U.duetd);

	if (ub_tmpl_get(&get, "Device.DeviceInfo.", "g-" UB_ID_HOLE) ||
	    ub_tmpl_set(&set, "Device.DeviceInfo.", "ProvisioningCode", "bench-" UB_ID_HOLE))
		goto out;
	if (!bench_wait_port(U.ws_port, 5) || !(ws = ub_ws_open(U.ws_port))) {
		printf("usp bench: no WebSocket session after the restart\n");
		goto out;
	}
	long dinfo = ub_get_count(ws, "Device.DeviceInfo.", UB_WAIT_S);
	printf("usp bench: Get Device.DeviceInfo. answers %ld parameters\n", dinfo);
	if (dinfo <= 0 || load_pair(ws, &get, USP__HEADER__MSG_TYPE__GET_RESP, r->ws, "WebSocket Get"))
		goto out;
	if (!(uds = ub_uds_open(U.usp_sock, U.agent_id, sizeof U.agent_id))) {
		printf("usp bench: no session on the UNIX socket %s\n", U.usp_sock);
		goto out;
	}
	if (load_pair(uds, &get, USP__HEADER__MSG_TYPE__GET_RESP, r->uds, "UNIX socket Get"))
		goto out;
	if (U.broker > 0)
		measure_mqtt(r, &get);
	if (measure_tree(ws, r)) {
		printf("usp bench: the whole-tree Get failed\n");
		r->tree_best = -1;
	}
	if (load_pair(ws, &set, USP__HEADER__MSG_TYPE__SET_RESP, r->set, "WebSocket Set"))
		goto out;
	/* the Sets took: the last value sent is the one read back */
	char want[32], got[64] = "";
	snprintf(want, sizeof want, "bench-%08x", set.next - 1);
	if (ub_get_value(ws, "Device.DeviceInfo.ProvisioningCode", got, sizeof got) || strcmp(got, want))
		printf("usp bench: after the Sets ProvisioningCode is \"%s\", not \"%s\"\n", got, want);
	r->rss_load = bench_rss_kb(U.duetd);
	rc = 0;
out:
	ub_link_close(ws);
	ub_link_close(uds);
	ub_tmpl_free(&get);
	ub_tmpl_free(&set);
	return rc;
}

/* ---- the figures ---------------------------------------------------------------------------- */

static void print_load(const char *what, const ub_load *o, int window, const char *base_what, double base,
		       const char *target)
{
	char name[64];
	snprintf(name, sizeof name, "%s, %d outstanding", what, window);
	bench_row(name, o->rps, "req/s", base_what, base, target);
	if (o->rps < 0)
		return;
	printf("%-44s %12.1f %-8s  p99 %.1f us\n", "  latency p50", o->p50_us, "us", o->p99_us);
	printf("%-44s %12.0f %-8s  ", "  CPU: duetd", o->cpu_agent, "% core");
	if (U.broker > 0)
		printf("mosquitto %.0f%%, ", o->cpu_broker);
	printf("bench %.0f%% (2 cores = 200%%)\n", o->cpu_bench);
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
	if (r->broker) {
		print_load("Get DeviceInfo. MQTT 5", &r->mq[0], 1, "of raw broker", r->raw[0].rps, NULL);
		print_load("Get DeviceInfo. MQTT 5", &r->mq[1], 8, "of obuspa 10.7k/s", OBUSPA_MQTT_GETS, NULL);
		print_load("  raw broker round trip", &r->raw[0], 1, "", 0, NULL);
		print_load("  raw broker round trip", &r->raw[1], 8, "", 0, NULL);
		bench_row("  MQTT agent rate, share of raw broker rate",
		    r->mq[1].rps < 0 || r->raw[1].rps <= 0 ? -1 : 100 * r->mq[1].rps / r->raw[1].rps, "%", "", 0,
		    "broker-bound: near 100%");
	} else {
		printf("%-44s %12s %-8s  (no mosquitto binary: MQTT not measured)\n", "Get DeviceInfo. MQTT 5", "-",
		       "req/s");
	}
	bool tree = r->tree_params > 0 && r->tree_best > 0;
	snprintf(label, sizeof label, "Get Device. (%ld params) WebSocket, best", r->tree_params);
	bench_row(label, tree ? r->tree_best : -1, "ms", "of obuspa 122 ms", OBUSPA_TREE_MS, "< 15 ms");
	bench_row("  median", tree ? r->tree_median : -1, "ms", "of obuspa 122 ms", OBUSPA_TREE_MS, NULL);
	bench_row("  parameters/s at the median", tree ? r->tree_params / r->tree_median : -1, "k par/s", "of obuspa",
	    OBUSPA_TREE_PARAMS / OBUSPA_TREE_MS, NULL);
	bench_row("  response Record size", tree ? r->tree_kib : -1, "KiB", "", 0, NULL);
	printf("%-44s %12lu objects  added by USP Add, %lu of them NAT.PortMapping\n", "  store", r->objects, r->fill);
	print_load("durable Set WebSocket", &r->set[0], 1, "of obuspa 1.0k/s", OBUSPA_SETS, ">= 3x obuspa");
	print_load("durable Set WebSocket", &r->set[1], 8, "of obuspa 1.0k/s", OBUSPA_SETS, ">= 3x obuspa");
	bench_row("duetd first boot to first Get (UDS)", r->first_boot_ms, "ms", "", 0, NULL);
	bench_row("duetd start to first answered Get (UDS)", r->start_ms, "ms", "", 0, NULL);
	bench_row("duetd RSS after first boot (empty store)", r->rss_boot < 0 ? -1 : r->rss_boot / 1024.0, "MiB",
	    "of obuspa 16 MB", OBUSPA_RSS_MIB, NULL);
	bench_row("duetd RSS idle, populated store", r->rss_idle < 0 ? -1 : r->rss_idle / 1024.0, "MiB",
	    "of obuspa 16 MB", OBUSPA_RSS_MIB, "< 16 MiB");
	bench_row("duetd RSS after the load above", r->rss_load < 0 ? -1 : r->rss_load / 1024.0, "MiB", "of obuspa 16 MB",
	    OBUSPA_RSS_MIB, "< 16 MiB");
}

int usp_bench_run(const char *schema_file)
{
	results r;
	memset(&r, 0, sizeof r);
	r.rss_boot = r.rss_idle = r.rss_load = r.tree_params = -1;
	r.first_boot_ms = r.start_ms = -1;
	for (int i = 0; i < 2; i++)
		r.ws[i].rps = r.uds[i].rps = r.mq[i].rps = r.raw[i].rps = r.set[i].rps = -1;
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	snprintf(U.duetd_exe, sizeof U.duetd_exe, "%s/duetd", build);
	snprintf(U.schema, sizeof U.schema, "%s", schema_file);
	printf("\nduet USP bench: duetd over WebSocket, UNIX socket and MQTT 5; schema %s\n", schema_file);
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
	U.ws_port = bench_free_port();
	U.mqtt_port = bench_free_port();
	mosquitto_lib_init();

	double t0 = ub_now();
	bool mqtt = r.broker = start_broker() == 0;
	if (!mqtt) {
		stop_proc(&U.broker);
		printf("usp bench: no mosquitto binary (or it did not start): MQTT rows skipped\n");
	}
	int rc = 1;
	if (U.ws_port <= 0 || U.mqtt_port <= 0 || write_defaults(mqtt))
		printf("usp bench: cannot set up (free ports; datamodel/factory-defaults.txt, from the top directory)\n");
	else if (!measure(&r))
		rc = 0;
	if (rc)
		log_tail("duetd", U.dlog);
	print_results(&r);
	printf("(USP bench: %.1f s; each load run %.1f s measured after %.1f s warm-up)\n", ub_now() - t0,
	       (double)UB_RUN_S, (double)UB_WARM_S);
	cleanup();
	mosquitto_lib_cleanup();
	signal(SIGINT, old_int);
	signal(SIGTERM, old_term);
	signal(SIGPIPE, old_pipe);
	return rc;
}
