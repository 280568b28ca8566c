/*
 * diag_ping.c - the IPPing test, run in a worker thread: resolve Host
 * (getaddrinfo blocks, hence the worker), send NumberOfRepetitions ICMP
 * echo requests one after the other, each waiting up to Timeout ms for
 * its reply, and report counts and round-trip times.
 *
 * Socket: an unprivileged ICMP "ping" socket (SOCK_DGRAM, allowed by
 * net.ipv4.ping_group_range) where the system allows one, else a raw
 * socket (root or CAP_NET_RAW). On a ping socket the kernel owns the echo
 * identifier and filters replies; on a raw one we match it ourselves and
 * skip the IPv4 header the kernel hands us.
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

/* How often a waiting worker looks at the cancel flag. */
#define POLL_SLICE_MS 100
#define ICMP_HDR 8

typedef struct pinger {
	int fd;
	int family;
	bool raw;
	uint16_t id;
	unsigned char *pkt; /* request: header + DataBlockSize bytes */
	size_t pkt_len;
	unsigned char buf[65536 + 64];
} pinger;

typedef struct ping_stats {
	unsigned ok, failed, unreachable;
	int64_t sum_us, min_us, max_us;
} ping_stats;

static int resolve(const diag_ping_in *in, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;

	hints.ai_family = in->family == DIAG_IPV4 ? AF_INET : in->family == DIAG_IPV6 ? AF_INET6 : AF_UNSPEC;
	if (!in->host[0] || getaddrinfo(in->host, NULL, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int open_socket(pinger *p)
{
	int proto = p->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	p->fd = socket(p->family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	p->raw = p->fd < 0;
	if (p->fd < 0)
		p->fd = socket(p->family, SOCK_RAW | SOCK_CLOEXEC, proto);
	return p->fd < 0 ? -1 : 0;
}

/* DSCP is the upper six bits of the TOS / traffic class octet. */
static void set_dscp(pinger *p, unsigned dscp)
{
	int tos = (int)(dscp << 2);

	if (p->family == AF_INET)
		setsockopt(p->fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
	else
		setsockopt(p->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
}

static uint16_t checksum(const unsigned char *b, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)(b[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int build_request(pinger *p, unsigned block_size)
{
	p->pkt_len = ICMP_HDR + block_size;
	if (!(p->pkt = calloc(1, p->pkt_len)))
		return -1;
	p->pkt[0] = p->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	for (size_t i = ICMP_HDR; i < p->pkt_len; i++)
		p->pkt[i] = (unsigned char)i;
	return 0;
}

/* Identifier and sequence in place, checksum last (ICMPv6's is the
 * kernel's: it covers a pseudo-header only the kernel knows). */
static void stamp(pinger *p, uint16_t seq)
{
	uint16_t id = htons(p->id), sq = htons(seq);

	memcpy(p->pkt + 4, &id, 2);
	memcpy(p->pkt + 6, &sq, 2);
	p->pkt[2] = p->pkt[3] = 0;
	if (p->family == AF_INET) {
		uint16_t c = checksum(p->pkt, p->pkt_len);
		memcpy(p->pkt + 2, &c, 2);
	}
}

/* Is this datagram the reply to seq? */
static bool is_reply(const pinger *p, const unsigned char *b, size_t n, uint16_t seq)
{
	uint16_t id, sq;

	if (p->raw && p->family == AF_INET) {
		size_t ihl;
		if (n < 20)
			return false;
		ihl = (size_t)(b[0] & 0x0f) * 4;
		if (n < ihl + ICMP_HDR)
			return false;
		b += ihl;
		n -= ihl;
	}
	if (n < ICMP_HDR || b[0] != (p->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY))
		return false;
	memcpy(&id, b + 4, 2);
	memcpy(&sq, b + 6, 2);
	/* a ping socket rewrites the identifier and filters by it itself */
	return ntohs(sq) == seq && (!p->raw || ntohs(id) == p->id);
}

/* One echo: its round trip in us, -1 on timeout or failure, -2 when the
 * network says the host cannot be reached, -3 when canceled. */
static int64_t echo_once(pinger *p, uint16_t seq, unsigned timeout_ms, const diag_cancel *cancel)
{
	int64_t start = diag_mono_us(), deadline = start + (int64_t)timeout_ms * 1000;

	stamp(p, seq);
	if (send(p->fd, p->pkt, p->pkt_len, 0) < 0)
		return errno == EHOSTUNREACH || errno == ENETUNREACH ? -2 : -1;
	for (;;) {
		int64_t now = diag_mono_us(), left_ms = (deadline - now + 999) / 1000;
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		ssize_t n;

		if (atomic_load(cancel))
			return -3;
		if (left_ms <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left_ms < POLL_SLICE_MS ? left_ms : POLL_SLICE_MS)) <= 0)
			continue;
		n = recv(p->fd, p->buf, sizeof p->buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EHOSTUNREACH || errno == ENETUNREACH))
			return -2;
		if (n > 0 && is_reply(p, p->buf, (size_t)n, seq))
			return diag_mono_us() - start;
	}
}

static void record(ping_stats *s, int64_t rtt)
{
	if (rtt < 0) {
		s->failed++;
		s->unreachable += rtt == -2;
		return;
	}
	if (!s->ok || rtt < s->min_us)
		s->min_us = rtt;
	if (rtt > s->max_us)
		s->max_us = rtt;
	s->ok++;
	s->sum_us += rtt;
}

static void report(map_diag_outcome *o, const ping_stats *s, const char *local)
{
	int64_t avg = s->ok ? s->sum_us / s->ok : 0;

	diag_outcome_set(o, "IPAddressUsed", "%s", local);
	diag_outcome_set(o, "SuccessCount", "%u", s->ok);
	diag_outcome_set(o, "FailureCount", "%u", s->failed);
	/* milliseconds rounded to the nearest; the Detailed ones keep the us */
	diag_outcome_set(o, "AverageResponseTime", "%u", (unsigned)((avg + 500) / 1000));
	diag_outcome_set(o, "MinimumResponseTime", "%u", (unsigned)((s->min_us + 500) / 1000));
	diag_outcome_set(o, "MaximumResponseTime", "%u", (unsigned)((s->max_us + 500) / 1000));
	diag_outcome_set(o, "AverageResponseTimeDetailed", "%u", (unsigned)avg);
	diag_outcome_set(o, "MinimumResponseTimeDetailed", "%u", (unsigned)s->min_us);
	diag_outcome_set(o, "MaximumResponseTimeDetailed", "%u", (unsigned)s->max_us);
}

static void local_address(const pinger *p, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	const void *a;

	out[0] = '\0';
	if (getsockname(p->fd, (struct sockaddr *)&ss, &len))
		return;
	a = ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
				    : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (!inet_ntop(ss.ss_family, a, out, (socklen_t)n))
		out[0] = '\0';
}

static uint16_t next_id(void)
{
	static atomic_uint counter;

	return (uint16_t)((unsigned)getpid() * 31u + atomic_fetch_add(&counter, 1u));
}

/* The test proper, once the socket is connected to the target. */
static const char *run_echoes(pinger *p, const diag_ping_in *in, const diag_cancel *cancel, ping_stats *s)
{
	for (unsigned i = 0; i < in->repetitions; i++) {
		int64_t rtt = echo_once(p, (uint16_t)(i + 1), in->timeout_ms, cancel);
		if (rtt == -3)
			return NULL;
		record(s, rtt);
	}
	return s->ok == 0 && s->unreachable ? "Error_NoRouteToHost" : "Complete";
}

void diag_ping_run(const diag_ping_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	struct sockaddr_storage target;
	socklen_t tlen;
	ping_stats s = {0};
	char local[INET6_ADDRSTRLEN] = "";
	const char *status = "Error_Internal";
	pinger *p = calloc(1, sizeof *p);

	if (!p) {
		diag_outcome_init(o, status);
		report(o, &s, local);
		return;
	}
	p->fd = -1;
	if (resolve(in, &target, &tlen)) {
		status = "Error_CannotResolveHostName";
		goto out;
	}
	p->family = target.ss_family;
	p->id = next_id();
	if (open_socket(p) || build_request(p, in->block_size))
		goto out;
	set_dscp(p, in->dscp);
	if (connect(p->fd, (struct sockaddr *)&target, tlen)) {
		status = errno == ENETUNREACH || errno == EHOSTUNREACH ? "Error_NoRouteToHost" : "Error_Other";
		goto out;
	}
	local_address(p, local, sizeof local);
	status = run_echoes(p, in, cancel, &s);
	if (!status)
		status = "Error_Other"; /* canceled: nobody reads it */
out:
	diag_outcome_init(o, status);
	report(o, &s, local);
	if (p->fd >= 0)
		close(p->fd);
	free(p->pkt);
	free(p);
}
