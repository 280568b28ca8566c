/*
 * diag_ping.c - the IPPing test, run in a worker thread: resolve Host
 * (getaddrinfo blocks, hence the worker), send NumberOfRepetitions ICMP
 * echo requests one after the other, each waiting up to Timeout ms for
 * its reply, and report counts and round-trip times. The socket and the
 * request are diag_icmp.c's; the socket is connected to the target, so
 * only its datagrams arrive.
 */
#include "diag_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct ping_stats {
	diag_rtt rtt;
	unsigned unreachable; /* failed tries the network said it cannot reach */
} ping_stats;

/* Is this datagram the reply to seq? */
static bool is_reply(const diag_icmp *p, const unsigned char *b, size_t n, uint16_t seq)
{
	uint16_t id, sq;

	if (p->raw && p->family == AF_INET) {
		size_t ihl;
		if (n < 20)
			return false;
		ihl = (size_t)(b[0] & 0x0f) * 4;
		if (n < ihl + DIAG_ICMP_HDR)
			return false;
		b += ihl;
		n -= ihl;
	}
	if (n < DIAG_ICMP_HDR || b[0] != (p->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY))
		return false;
	memcpy(&id, b + 4, 2);
	memcpy(&sq, b + 6, 2);
	/* a ping socket rewrites the identifier and filters by it itself */
	return ntohs(sq) == seq && (!p->raw || ntohs(id) == p->id);
}

/* One echo: its round trip in us, -1 on timeout or failure, -2 when the
 * network says the host cannot be reached, -3 when canceled. */
static int64_t echo_once(diag_icmp *p, uint16_t seq, unsigned timeout_ms, const diag_cancel *cancel)
{
	int64_t start = diag_mono_us(), deadline = start + (int64_t)timeout_ms * 1000;

	diag_icmp_stamp(p, seq);
	if (send(p->fd, p->pkt, p->pkt_len, 0) < 0)
		return errno == EHOSTUNREACH || errno == ENETUNREACH ? -2 : -1;
	for (;;) {
		int w = diag_wait(p->fd, deadline, cancel);
		if (w <= 0)
			return w < 0 ? -3 : -1;
		ssize_t n = recv(p->fd, p->buf, sizeof p->buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EHOSTUNREACH || errno == ENETUNREACH))
			return -2;
		if (n > 0 && is_reply(p, p->buf, (size_t)n, seq))
			return diag_mono_us() - start;
	}
}

static void report(map_diag_outcome *o, const ping_stats *s, const char *local)
{
	const diag_rtt *r = &s->rtt;
	int64_t avg = diag_rtt_avg(r);

	diag_outcome_set(o, "IPAddressUsed", "%s", local);
	diag_outcome_set(o, "SuccessCount", "%u", r->ok);
	diag_outcome_set(o, "FailureCount", "%u", r->failed);
	/* milliseconds rounded to the nearest; the Detailed ones keep the us */
	diag_outcome_set(o, "AverageResponseTime", "%u", (unsigned)((avg + 500) / 1000));
	diag_outcome_set(o, "MinimumResponseTime", "%u", (unsigned)((r->min_us + 500) / 1000));
	diag_outcome_set(o, "MaximumResponseTime", "%u", (unsigned)((r->max_us + 500) / 1000));
	diag_outcome_set(o, "AverageResponseTimeDetailed", "%u", (unsigned)avg);
	diag_outcome_set(o, "MinimumResponseTimeDetailed", "%u", (unsigned)r->min_us);
	diag_outcome_set(o, "MaximumResponseTimeDetailed", "%u", (unsigned)r->max_us);
}

/* The test proper, once the socket is connected to the target. */
static const char *run_echoes(diag_icmp *p, const diag_ping_in *in, const diag_cancel *cancel, ping_stats *s)
{
	for (unsigned i = 0; i < in->repetitions; i++) {
		int64_t rtt = echo_once(p, (uint16_t)(i + 1), in->timeout_ms, cancel);
		if (rtt == -3)
			return NULL;
		diag_rtt_add(&s->rtt, rtt);
		s->unreachable += rtt == -2;
	}
	return s->rtt.ok == 0 && s->unreachable ? "Error_NoRouteToHost" : "Complete";
}

void diag_ping_run(const diag_ping_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	struct sockaddr_storage target;
	socklen_t tlen;
	ping_stats s = {0};
	char local[INET6_ADDRSTRLEN] = "";
	const char *status = "Error_Internal";
	diag_icmp *p = calloc(1, sizeof *p);

	if (!p) {
		diag_outcome_init(o, status);
		report(o, &s, local);
		return;
	}
	p->fd = -1;
	if (diag_icmp_resolve(in->host, in->family, &target, &tlen)) {
		status = "Error_CannotResolveHostName";
		goto out;
	}
	if (diag_icmp_open(p, target.ss_family, in->block_size, in->dscp, false))
		goto out;
	if (connect(p->fd, (struct sockaddr *)&target, tlen)) {
		status = errno == ENETUNREACH || errno == EHOSTUNREACH ? "Error_NoRouteToHost" : "Error_Other";
		goto out;
	}
	diag_icmp_local(p, local, sizeof local);
	status = run_echoes(p, in, cancel, &s);
	if (!status)
		status = "Error_Other"; /* canceled: nobody reads it */
out:
	diag_outcome_init(o, status);
	report(o, &s, local);
	diag_icmp_close(p);
	free(p);
}

/* ---- ServerSelectionDiagnostics: the fastest of HostList ------------------ */

static unsigned long result_num(const map_diag_outcome *o, const char *name)
{
	const char *v = map_diag_outcome_get(o, name);
	return v ? strtoul(v, NULL, 10) : 0;
}

/* Each host pinged as IPPing would; the one with the lowest average round
 * trip of those that answered wins (microseconds, as the model's units). */
void diag_select_run(const diag_select_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	map_diag_outcome *one = malloc(sizeof *one);
	const char *best = NULL, *status;
	unsigned long min = 0, avg = 0, max = 0;
	char local[INET6_ADDRSTRLEN] = "";
	size_t resolved = 0;

	for (size_t i = 0; one && in->icmp && i < in->n_hosts && !atomic_load(cancel); i++) {
		diag_ping_in p = in->ping;
		snprintf(p.host, sizeof p.host, "%s", in->hosts[i]);
		diag_ping_run(&p, cancel, one);
		resolved += strcmp(one->status, "Error_CannotResolveHostName") != 0;
		if (!result_num(one, "SuccessCount"))
			continue;
		unsigned long a = result_num(one, "AverageResponseTimeDetailed");
		if (!best || a < avg) {
			best = in->hosts[i];
			avg = a;
			min = result_num(one, "MinimumResponseTimeDetailed");
			max = result_num(one, "MaximumResponseTimeDetailed");
			snprintf(local, sizeof local, "%s", map_diag_outcome_get(one, "IPAddressUsed"));
		}
	}
	if (!one)
		status = "Error_Internal";
	else if (best)
		status = "Complete";
	else if (in->icmp && in->n_hosts && !resolved)
		status = "Error_CannotResolveHostName";
	else
		status = "Error_Other"; /* nobody answered, or "UDP Echo" */
	free(one);
	diag_outcome_init(o, status);
	diag_outcome_set(o, "FastestHost", "%s", best ? best : "");
	diag_outcome_set(o, "MinimumResponseTime", "%lu", min);
	diag_outcome_set(o, "AverageResponseTime", "%lu", avg);
	diag_outcome_set(o, "MaximumResponseTime", "%lu", max);
	diag_outcome_set(o, "IPAddressUsed", "%s", local);
}

