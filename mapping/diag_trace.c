/*
 * diag_trace.c - the TraceRoute test, run in a worker thread: ICMP echo
 * requests to Host with the hop limit raised from 1 to MaxHopCount, each
 * tried NumberOfTries times, each try waiting up to Timeout ms. A router
 * where the limit runs out answers Time Exceeded and is that hop; the
 * target's Echo Reply ends the trace; Destination Unreachable ends it with
 * an error. Each hop becomes a RouteHops row: Host (its name where the
 * reverse lookup gives one, else the address), HostAddress, ErrorCode (the
 * ICMP code of an Unreachable, else 0) and RTTimes (ms, one per try; 0 for
 * a try that had no answer, as the list may not hold anything else).
 *
 * Routers answer the sender, not a socket: only a raw socket sees Time
 * Exceeded for our probes, so the test needs one (root or CAP_NET_RAW) and
 * ends with Error_Internal without it. The socket stays unconnected (a
 * connected raw socket would drop the routers' answers); replies are
 * matched by identifier and sequence number.
 */
#include "diag_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPV6_HDR 40
#define MAX_TRIES 16 /* RTTimes kept per hop: more tries are run, not listed */

typedef enum probe_result { PROBE_TIMEOUT, PROBE_HOP, PROBE_TARGET, PROBE_UNREACHABLE, PROBE_CANCELED } probe_result;

typedef struct probe {
	probe_result what;
	struct sockaddr_storage from;
	int64_t rtt_us;
	unsigned code; /* ICMP code of an Unreachable */
} probe;

typedef struct hop {
	struct sockaddr_storage addr;
	bool answered;
	unsigned code;
	unsigned n_rtt;
	unsigned rtt_ms[MAX_TRIES];
} hop;

static int set_hop_limit(diag_icmp *p, unsigned ttl)
{
	int v = (int)ttl;

	if (p->family == AF_INET)
		return setsockopt(p->fd, IPPROTO_IP, IP_TTL, &v, sizeof v);
	return setsockopt(p->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v);
}

/* Does an echo header (type, id, seq at b) name our probe seq? */
static bool our_echo(const diag_icmp *p, const unsigned char *b, size_t n, unsigned type, uint16_t seq)
{
	uint16_t id, sq;

	if (n < DIAG_ICMP_HDR || b[0] != type)
		return false;
	memcpy(&id, b + 4, 2);
	memcpy(&sq, b + 6, 2);
	return ntohs(id) == p->id && ntohs(sq) == seq;
}

/* Classify one datagram of the raw socket: is it about probe seq? */
static bool classify(const diag_icmp *p, const unsigned char *b, size_t n, uint16_t seq, probe *out)
{
	bool v4 = p->family == AF_INET;
	unsigned reply = v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY, request = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	unsigned exceeded = v4 ? ICMP_TIME_EXCEEDED : ICMP6_TIME_EXCEEDED,
		 unreachable = v4 ? ICMP_DEST_UNREACH : ICMP6_DST_UNREACH;

	if (v4) { /* a raw IPv4 socket hands over the IP header too */
		size_t ihl;
		if (n < 20 || (ihl = (size_t)(b[0] & 0x0f) * 4) > n)
			return false;
		b += ihl;
		n -= ihl;
	}
	if (n < DIAG_ICMP_HDR)
		return false;
	if (our_echo(p, b, n, reply, seq)) {
		out->what = PROBE_TARGET;
		return true;
	}
	if (b[0] != exceeded && b[0] != unreachable)
		return false;
	/* the error quotes our datagram: its IP header, then our echo header */
	const unsigned char *q = b + DIAG_ICMP_HDR;
	size_t qn = n - DIAG_ICMP_HDR, qhl = v4 ? (size_t)(q[0] & 0x0f) * 4 : IPV6_HDR;
	if (qn < qhl + DIAG_ICMP_HDR || !our_echo(p, q + qhl, qn - qhl, request, seq))
		return false;
	out->what = b[0] == exceeded ? PROBE_HOP : PROBE_UNREACHABLE;
	out->code = b[0] == exceeded ? 0 : b[1];
	return true;
}

static probe send_probe(diag_icmp *p, const struct sockaddr_storage *target, socklen_t tlen, uint16_t seq,
			unsigned timeout_ms, const diag_cancel *cancel)
{
	probe pr = {.what = PROBE_TIMEOUT};
	int64_t start = diag_mono_us(), deadline = start + (int64_t)timeout_ms * 1000;

	diag_icmp_stamp(p, seq);
	if (sendto(p->fd, p->pkt, p->pkt_len, 0, (const struct sockaddr *)target, tlen) < 0) {
		if (errno == EHOSTUNREACH || errno == ENETUNREACH)
			pr.what = PROBE_UNREACHABLE;
		return pr;
	}
	for (;;) {
		socklen_t flen = sizeof pr.from;
		ssize_t n;
		int w = diag_wait(p->fd, deadline, cancel);

		if (w <= 0) {
			if (w < 0)
				pr.what = PROBE_CANCELED;
			return pr;
		}
		n = recvfrom(p->fd, p->buf, sizeof p->buf, MSG_DONTWAIT, (struct sockaddr *)&pr.from, &flen);
		if (n > 0 && classify(p, p->buf, (size_t)n, seq, &pr)) {
			pr.rtt_us = diag_mono_us() - start;
			return pr;
		}
	}
}

/* Host: the name a reverse lookup gives, else the address. */
static void hop_host(const struct sockaddr_storage *a, char *out, size_t n)
{
	socklen_t len = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	if (getnameinfo((const struct sockaddr *)a, len, out, (socklen_t)n, NULL, 0, NI_NAMEREQD))
		diag_addr_text(a, out, n);
}

static void report_hop(map_diag_outcome *o, unsigned row, const hop *h)
{
	char name[MAP_DIAG_NAME_MAX], host[NI_MAXHOST] = "", addr[INET6_ADDRSTRLEN] = "", rtts[MAP_DIAG_VALUE_MAX] = "";
	size_t used = 0;

	if (h->answered) {
		hop_host(&h->addr, host, sizeof host);
		diag_addr_text(&h->addr, addr, sizeof addr);
	}
	for (unsigned i = 0; i < h->n_rtt && used < sizeof rtts; i++)
		used += (size_t)snprintf(rtts + used, sizeof rtts - used, "%s%u", i ? "," : "", h->rtt_ms[i]);
	snprintf(name, sizeof name, "RouteHops.%u.Host", row);
	diag_outcome_set(o, name, "%s", host);
	snprintf(name, sizeof name, "RouteHops.%u.HostAddress", row);
	diag_outcome_set(o, name, "%s", addr);
	snprintf(name, sizeof name, "RouteHops.%u.ErrorCode", row);
	diag_outcome_set(o, name, "%u", h->code);
	snprintf(name, sizeof name, "RouteHops.%u.RTTimes", row);
	diag_outcome_set(o, name, "%s", rtts);
}

/* All tries of one hop limit; the hop's outcome in h. */
static probe_result trace_hop(diag_icmp *p, const diag_trace_in *in, const struct sockaddr_storage *target,
			      socklen_t tlen, uint16_t *seq, const diag_cancel *cancel, hop *h, int64_t *target_rtt)
{
	probe_result end = PROBE_TIMEOUT;

	for (unsigned t = 0; t < in->tries; t++) {
		probe pr = send_probe(p, target, tlen, ++*seq, in->timeout_ms, cancel);
		if (pr.what == PROBE_CANCELED)
			return PROBE_CANCELED;
		if (pr.what == PROBE_TIMEOUT) {
			if (h->n_rtt < MAX_TRIES)
				h->rtt_ms[h->n_rtt++] = 0;
			continue;
		}
		if (!h->answered && pr.from.ss_family) {
			h->addr = pr.from;
			h->answered = true;
		}
		if (h->n_rtt < MAX_TRIES)
			h->rtt_ms[h->n_rtt++] = (unsigned)((pr.rtt_us + 500) / 1000);
		if (pr.what == PROBE_UNREACHABLE)
			h->code = pr.code;
		if (pr.what == PROBE_TARGET)
			*target_rtt = pr.rtt_us;
		if (pr.what != PROBE_HOP)
			end = pr.what;
	}
	return end;
}

void diag_trace_run(const diag_trace_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	struct sockaddr_storage target;
	socklen_t tlen;
	char local[INET6_ADDRSTRLEN] = "";
	const char *status = "Error_Internal";
	int64_t target_rtt = -1;
	unsigned rows = 0;
	uint16_t seq = 0;
	diag_icmp *p = calloc(1, sizeof *p);
	hop *hops = calloc(in->max_hops ? in->max_hops : 1, sizeof *hops);

	if (p)
		p->fd = -1;
	if (!p || !hops)
		goto out;
	if (diag_icmp_resolve(in->host, in->family, &target, &tlen)) {
		status = "Error_CannotResolveHostName";
		goto out;
	}
	if (diag_icmp_open(p, target.ss_family, in->block_size, in->dscp, true))
		goto out; /* no raw socket: Error_Internal */
	diag_source_for(&target, tlen, local, sizeof local);
	status = "Error_MaxHopCountExceeded";
	for (unsigned ttl = 1; ttl <= in->max_hops; ttl++) {
		if (set_hop_limit(p, ttl)) {
			status = "Error_Internal";
			break;
		}
		probe_result r = trace_hop(p, in, &target, tlen, &seq, cancel, &hops[rows++], &target_rtt);
		if (r == PROBE_CANCELED) {
			status = "Error_Other"; /* nobody reads it */
			break;
		}
		if (r == PROBE_TARGET) {
			status = "Complete";
			break;
		}
		if (r == PROBE_UNREACHABLE) {
			status = "Error_NoRouteToHost";
			break;
		}
	}
out:
	diag_outcome_init(o, status);
	diag_outcome_set(o, "IPAddressUsed", "%s", local);
	diag_outcome_set(o, "ResponseTime", "%u", target_rtt < 0 ? 0u : (unsigned)((target_rtt + 500) / 1000));
	for (unsigned i = 0; i < rows; i++)
		report_hop(o, i + 1, &hops[i]);
	if (p)
		diag_icmp_close(p);
	free(p);
	free(hops);
}
