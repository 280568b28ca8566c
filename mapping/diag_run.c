/*
 * diag_run.c - the protocol-neutral runner: the kinds' table, inputs
 * parsed and checked on the loop, the test run in a libuv worker thread
 * (name resolution and the test itself block, the loop must not), the
 * outcome handed back on the loop. No engine access here.
 */
#include "diag_int.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const ping_inputs[] = {"Interface", "ProtocolVersion", "Host", "NumberOfRepetitions",
					  "Timeout", "DataBlockSize", "DSCP", NULL};
static const char *const download_inputs[] = {"Interface", "DownloadURL", "DSCP", "EthernetPriority",
					      "TimeBasedTestDuration", "TimeBasedTestMeasurementInterval",
					      "TimeBasedTestMeasurementOffset", "ProtocolVersion",
					      "NumberOfConnections", "EnablePerConnectionResults", NULL};

static const char *const upload_inputs[] = {"Interface", "UploadURL", "DSCP", "EthernetPriority", "TestFileLength",
					    "TimeBasedTestDuration", "TimeBasedTestMeasurementInterval",
					    "TimeBasedTestMeasurementOffset", "ProtocolVersion",
					    "NumberOfConnections", "EnablePerConnectionResults", NULL};

static const char *const trace_inputs[] = {"Interface", "ProtocolVersion", "Host", "NumberOfTries", "Timeout",
					   "DataBlockSize", "DSCP", "MaxHopCount", NULL};

static const char *const nslookup_inputs[] = {"Interface", "HostName", "DNSServer", "Timeout", "NumberOfRepetitions",
					      NULL};

static const char *const select_inputs[] = {"Interface", "ProtocolVersion", "Protocol", "HostList",
					    "NumberOfRepetitions", "Timeout", NULL};

static const char *const udpecho_inputs[] = {"Interface", "Host", "Port", "NumberOfRepetitions", "Timeout",
					     "DataBlockSize", "DSCP", "InterTransmissionTime", "ProtocolVersion",
					     "EnableIndividualPacketResults", NULL};

static const diag_spec specs[MAP_DIAG_KINDS] = {
	[MAP_DIAG_IPPING] = {DIAG_PING_OBJECT, "Device.IP.Diagnostics.IPPing()", ping_inputs},
	[MAP_DIAG_DOWNLOAD] = {DIAG_DL_OBJECT, "Device.IP.Diagnostics.DownloadDiagnostics()", download_inputs},
	[MAP_DIAG_UPLOAD] = {DIAG_UL_OBJECT, "Device.IP.Diagnostics.UploadDiagnostics()", upload_inputs},
	[MAP_DIAG_TRACEROUTE] = {DIAG_TR_OBJECT, "Device.IP.Diagnostics.TraceRoute()", trace_inputs},
	[MAP_DIAG_NSLOOKUP] = {DIAG_NS_OBJECT, "Device.DNS.Diagnostics.NSLookupDiagnostics()", nslookup_inputs},
	[MAP_DIAG_SERVER_SELECTION] = {DIAG_SS_OBJECT, "Device.IP.Diagnostics.ServerSelectionDiagnostics()",
				       select_inputs},
	[MAP_DIAG_UDPECHO] = {DIAG_UE_OBJECT, "Device.IP.Diagnostics.UDPEchoDiagnostics()", udpecho_inputs},
};

const diag_spec *diag_spec_of(map_diag_kind kind)
{
	return kind < MAP_DIAG_KINDS ? &specs[kind] : NULL;
}

int map_diag_state_kind(const char *path)
{
	static const char state[] = "DiagnosticsState";

	for (int k = 0; path && k < MAP_DIAG_KINDS; k++) {
		size_t n = strlen(specs[k].object);
		if (!strncmp(path, specs[k].object, n) && !strcmp(path + n, state))
			return k;
	}
	return -1;
}

bool map_diag_state_is_final(const char *value)
{
	return value && (!strcmp(value, "Complete") || !strncmp(value, "Error", 5));
}

/* ---- outcomes ------------------------------------------------------------ */

void diag_outcome_init(map_diag_outcome *o, const char *status)
{
	memset(o, 0, sizeof *o);
	snprintf(o->status, sizeof o->status, "%s", status);
}

void diag_outcome_set(map_diag_outcome *o, const char *name, const char *fmt, ...)
{
	size_t i = 0;
	va_list ap;

	while (i < o->n_out && strcmp(o->out[i].name, name))
		i++;
	if (i == MAP_DIAG_MAX_OUT)
		return;
	va_start(ap, fmt);
	vsnprintf(o->vals[i], sizeof o->vals[i], fmt, ap);
	va_end(ap);
	snprintf(o->names[i], sizeof o->names[i], "%s", name);
	o->out[i].name = o->names[i];
	o->out[i].value = o->vals[i];
	if (i == o->n_out)
		o->n_out++;
}

void diag_outcome_time(map_diag_outcome *o, const char *name, int64_t epoch_us)
{
	time_t secs = (time_t)(epoch_us / 1000000);
	struct tm tm;
	char base[32];

	if (epoch_us <= 0 || !gmtime_r(&secs, &tm)) {
		diag_outcome_set(o, name, "%s", DM_UNKNOWN_TIME);
		return;
	}
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	diag_outcome_set(o, name, "%s.%06dZ", base, (int)(epoch_us % 1000000));
}

void diag_outcome_copy(map_diag_outcome *dst, const map_diag_outcome *src)
{
	*dst = *src;
	for (size_t i = 0; i < dst->n_out; i++) {
		dst->out[i].name = dst->names[i];
		dst->out[i].value = dst->vals[i];
	}
}

const char *map_diag_outcome_get(const map_diag_outcome *o, const char *name)
{
	for (size_t i = 0; o && i < o->n_out; i++)
		if (!strcmp(o->out[i].name, name))
			return o->out[i].value;
	return NULL;
}

int diag_wait(int fd, int64_t deadline_us, const diag_cancel *cancel)
{
	for (;;) {
		int64_t left_ms = (deadline_us - diag_mono_us() + 999) / 1000;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (atomic_load(cancel))
			return -1;
		if (left_ms <= 0)
			return 0;
		if (poll(&pfd, 1, (int)(left_ms < DIAG_POLL_SLICE_MS ? left_ms : DIAG_POLL_SLICE_MS)) > 0)
			return 1;
	}
}

void diag_rtt_add(diag_rtt *r, int64_t rtt_us)
{
	if (rtt_us < 0) {
		r->failed++;
		return;
	}
	if (!r->ok || rtt_us < r->min_us)
		r->min_us = rtt_us;
	if (rtt_us > r->max_us)
		r->max_us = rtt_us;
	r->ok++;
	r->sum_us += rtt_us;
}

int64_t diag_rtt_avg(const diag_rtt *r)
{
	return r->ok ? r->sum_us / r->ok : 0;
}

int64_t diag_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t diag_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- inputs ---------------------------------------------------------------- */

static const char *input(const dm_arg *in, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i].name, name))
			return in[i].value;
	return NULL;
}

/* Absent or malformed numbers take the default: the engine has checked
 * every value against its type and range already. */
static unsigned input_uint(const dm_arg *in, size_t n, const char *name, unsigned dflt)
{
	const char *v = input(in, n, name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return dflt;
	x = strtoul(v, &end, 10);
	return *end || x > 0xffffffffUL ? dflt : (unsigned)x;
}

static diag_family input_family(const dm_arg *in, size_t n)
{
	const char *v = input(in, n, "ProtocolVersion");

	if (v && !strcmp(v, "IPv4"))
		return DIAG_IPV4;
	if (v && !strcmp(v, "IPv6"))
		return DIAG_IPV6;
	return DIAG_ANY;
}

/* http:// or https:// followed by a host: what libcurl is allowed to
 * fetch (DownloadTransports is "HTTP"). */
static bool http_url(const char *v)
{
	size_t skip;

	if (!strncasecmp(v, "http://", 7))
		skip = 7;
	else if (!strncasecmp(v, "https://", 8))
		skip = 8;
	else
		return false;
	return v[skip] && v[skip] != '/' && v[skip] != ':';
}

int map_diag_check_input(map_diag_kind kind, const char *name, const char *value, char *msg, size_t msgsz)
{
	const char *why = NULL;

	if (!name || !value)
		return DM_OK;
	if ((kind == MAP_DIAG_IPPING || kind == MAP_DIAG_TRACEROUTE || kind == MAP_DIAG_UDPECHO) && !strcmp(name, "Host") &&
	    !*value)
		why = "Host is empty";
	else if (kind == MAP_DIAG_NSLOOKUP && !strcmp(name, "HostName") && !*value)
		why = "HostName is empty";
	else if (kind == MAP_DIAG_SERVER_SELECTION && !strcmp(name, "HostList") && !*value)
		why = "HostList is empty";
	else if (kind == MAP_DIAG_DOWNLOAD && !strcmp(name, "DownloadURL") && !http_url(value))
		why = "DownloadURL is not an http:// or https:// URL with a host";
	else if (kind == MAP_DIAG_UPLOAD && !strcmp(name, "UploadURL") && !http_url(value))
		why = "UploadURL is not an http:// or https:// URL with a host";
	if (!why)
		return DM_OK;
	if (msg && msgsz)
		snprintf(msg, msgsz, "%s", why);
	return DM_ERR_INVALID_VALUE;
}

/* ---- the run ---------------------------------------------------------------- */

struct map_diag_run {
	uv_work_t work;
	map_diag_kind kind;
	diag_cancel cancel;
	map_diag_done_fn done; /* NULL once canceled */
	void *ctx;
	union {
		diag_ping_in ping;
		diag_http_in http;
		diag_trace_in trace;
		diag_dns_in dns;
		diag_select_in select;
		diag_udpecho_in udpecho;
	} in;
	map_diag_outcome out;
};

static void parse_inputs(map_diag_run *r, const dm_arg *in, size_t n)
{
	const char *v;

	if (r->kind == MAP_DIAG_IPPING) {
		diag_ping_in *p = &r->in.ping;
		v = input(in, n, "Host");
		snprintf(p->host, sizeof p->host, "%s", v ? v : "");
		p->family = input_family(in, n);
		p->repetitions = input_uint(in, n, "NumberOfRepetitions", 3);
		p->timeout_ms = input_uint(in, n, "Timeout", 1000);
		p->block_size = input_uint(in, n, "DataBlockSize", 64);
		p->dscp = input_uint(in, n, "DSCP", 0);
	} else if (r->kind == MAP_DIAG_TRACEROUTE) {
		diag_trace_in *p = &r->in.trace;
		v = input(in, n, "Host");
		snprintf(p->host, sizeof p->host, "%s", v ? v : "");
		p->family = input_family(in, n);
		p->tries = input_uint(in, n, "NumberOfTries", 3);
		p->timeout_ms = input_uint(in, n, "Timeout", 5000);
		p->block_size = input_uint(in, n, "DataBlockSize", 38);
		p->dscp = input_uint(in, n, "DSCP", 0);
		p->max_hops = input_uint(in, n, "MaxHopCount", 30);
	} else if (r->kind == MAP_DIAG_SERVER_SELECTION) {
		diag_select_in *p = &r->in.select;
		v = input(in, n, "Protocol");
		p->icmp = !v || !*v || !strcmp(v, "ICMP");
		v = input(in, n, "HostList");
		for (const char *h = v ? v : ""; *h && p->n_hosts < DIAG_SS_MAX_HOSTS;) {
			size_t len = strcspn(h, ",");
			snprintf(p->hosts[p->n_hosts++], sizeof p->hosts[0], "%.*s", (int)len, h);
			h += len + (h[len] == ',');
		}
		p->ping.family = input_family(in, n);
		p->ping.repetitions = input_uint(in, n, "NumberOfRepetitions", 3);
		p->ping.timeout_ms = input_uint(in, n, "Timeout", 1000);
		p->ping.block_size = 24;
	} else if (r->kind == MAP_DIAG_UDPECHO) {
		diag_udpecho_in *p = &r->in.udpecho;
		v = input(in, n, "Host");
		snprintf(p->host, sizeof p->host, "%s", v ? v : "");
		p->port = input_uint(in, n, "Port", 7);
		p->family = input_family(in, n);
		p->repetitions = input_uint(in, n, "NumberOfRepetitions", 1);
		p->timeout_ms = input_uint(in, n, "Timeout", 1000);
		p->block_size = input_uint(in, n, "DataBlockSize", 24);
		p->dscp = input_uint(in, n, "DSCP", 0);
		p->inter_ms = input_uint(in, n, "InterTransmissionTime", 1000);
		v = input(in, n, "EnableIndividualPacketResults");
		p->individual = v && (!strcmp(v, "true") || !strcmp(v, "1"));
	} else if (r->kind == MAP_DIAG_NSLOOKUP) {
		diag_dns_in *p = &r->in.dns;
		v = input(in, n, "HostName");
		snprintf(p->host, sizeof p->host, "%s", v ? v : "");
		v = input(in, n, "DNSServer");
		snprintf(p->server, sizeof p->server, "%s", v ? v : "");
		p->timeout_ms = input_uint(in, n, "Timeout", 5000);
		p->repetitions = input_uint(in, n, "NumberOfRepetitions", 1);
		if (p->repetitions > DIAG_NS_MAX_REPETITIONS)
			p->repetitions = DIAG_NS_MAX_REPETITIONS;
	} else {
		bool up = r->kind == MAP_DIAG_UPLOAD;
		diag_http_in *p = &r->in.http;
		v = input(in, n, up ? "UploadURL" : "DownloadURL");
		snprintf(p->url, sizeof p->url, "%s", v ? v : "");
		p->family = input_family(in, n);
		p->dscp = input_uint(in, n, "DSCP", 0);
		p->file_length = up ? input_uint(in, n, "TestFileLength", 0) : 0;
	}
}

static void run_work(uv_work_t *w)
{
	map_diag_run *r = w->data;

	if (r->kind == MAP_DIAG_IPPING)
		diag_ping_run(&r->in.ping, &r->cancel, &r->out);
	else if (r->kind == MAP_DIAG_UPLOAD)
		diag_upload_run(&r->in.http, &r->cancel, &r->out);
	else if (r->kind == MAP_DIAG_TRACEROUTE)
		diag_trace_run(&r->in.trace, &r->cancel, &r->out);
	else if (r->kind == MAP_DIAG_NSLOOKUP)
		diag_dns_run(&r->in.dns, &r->cancel, &r->out);
	else if (r->kind == MAP_DIAG_SERVER_SELECTION)
		diag_select_run(&r->in.select, &r->cancel, &r->out);
	else if (r->kind == MAP_DIAG_UDPECHO)
		diag_udpecho_run(&r->in.udpecho, &r->cancel, &r->out);
	else
		diag_download_run(&r->in.http, &r->cancel, &r->out);
}

static void run_after(uv_work_t *w, int status)
{
	map_diag_run *r = w->data;

	if (r->done && status == 0)
		r->done(r->ctx, &r->out);
	else if (r->done) {
		/* the pool refused it (only cancel does that): report, do not hang */
		diag_outcome_init(&r->out, "Error_Internal");
		r->done(r->ctx, &r->out);
	}
	free(r);
}

/* libcurl's global set-up is not thread safe: done once, on the loop,
 * before a worker may create an easy handle. */
static void curl_ready(void)
{
	static bool done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		done = true;
}

int map_diag_run_start(core_loop *loop, map_diag_kind kind, const dm_arg *in, size_t n_in,
		       map_diag_done_fn done, void *ctx, map_diag_run **out)
{
	map_diag_run *r;

	if (!loop || kind >= MAP_DIAG_KINDS || !done)
		return DM_ERR_INVALID_ARG;
	if (!(r = calloc(1, sizeof *r)))
		return DM_ERR_NOMEM;
	r->kind = kind;
	r->done = done;
	r->ctx = ctx;
	r->work.data = r;
	atomic_init(&r->cancel, false);
	parse_inputs(r, in, n_in);
	if (kind == MAP_DIAG_DOWNLOAD || kind == MAP_DIAG_UPLOAD)
		curl_ready();
	if (uv_queue_work(core_loop_uv(loop), &r->work, run_work, run_after)) {
		free(r);
		return DM_ERR_INTERNAL;
	}
	if (out)
		*out = r;
	return DM_OK;
}

void map_diag_run_cancel(map_diag_run *r)
{
	if (!r)
		return;
	r->done = NULL;
	atomic_store(&r->cancel, true);
	/* not started yet: run_after still comes (status UV_ECANCELED) and frees */
	uv_cancel((uv_req_t *)&r->work);
}
