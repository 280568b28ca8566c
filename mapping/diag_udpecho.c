/*
 * diag_udpecho.c - the UDPEchoDiagnostics test (TR-143 UDPEcho), run in a
 * worker thread: NumberOfRepetitions datagrams of DataBlockSize bytes to
 * Host:Port, InterTransmissionTime ms apart, each waiting up to Timeout
 * ms for its echo; counts and round trips in microseconds.
 *
 * The datagram is laid out as UDPEchoPlus has it: TestGenSN first, then
 * room for the server's TestRespSN, receive and reply timestamps and
 * failure count. A plain echo server sends it back unchanged (those read
 * 0); an UDPEchoPlus server fills them, and the per-packet results show
 * what it said. Per-packet results (EnableIndividualPacketResults) are
 * kept for the first DIAG_UE_MAX_RESULTS datagrams.
 */
#include "diag_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLUS_HDR 20 /* TestGenSN, TestRespSN, RcvTimeStamp, ReplyTimeStamp, ReplyFailureCount */

static uint32_t get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static void row_set(map_diag_outcome *o, unsigned row, const char *name, const char *fmt, unsigned long v)
{
	char n[MAP_DIAG_NAME_MAX];

	snprintf(n, sizeof n, "IndividualPacketResult.%u.%s", row, name);
	diag_outcome_set(o, n, fmt, v);
}

static void report_packet(map_diag_outcome *o, unsigned row, bool ok, int64_t sent_us, int64_t recv_us,
			  uint32_t sn, const unsigned char *reply)
{
	char n[MAP_DIAG_NAME_MAX];

	snprintf(n, sizeof n, "IndividualPacketResult.%u.PacketSuccess", row);
	diag_outcome_set(o, n, "%s", ok ? "true" : "false");
	snprintf(n, sizeof n, "IndividualPacketResult.%u.PacketSendTime", row);
	diag_outcome_time(o, n, sent_us);
	snprintf(n, sizeof n, "IndividualPacketResult.%u.PacketReceiveTime", row);
	diag_outcome_time(o, n, ok ? recv_us : 0);
	row_set(o, row, "TestGenSN", "%lu", sn);
	row_set(o, row, "TestRespSN", "%lu", ok ? get32(reply + 4) : 0);
	row_set(o, row, "TestRespRcvTimeStamp", "%lu", ok ? get32(reply + 8) : 0);
	row_set(o, row, "TestRespReplyTimeStamp", "%lu", ok ? get32(reply + 12) : 0);
	row_set(o, row, "TestRespReplyFailureCount", "%lu", ok ? get32(reply + 16) : 0);
}

/* One datagram and its echo: the round trip in us, -1 none, -2 canceled. */
static int64_t echo_once(int fd, unsigned char *pkt, size_t len, unsigned char *reply, uint32_t sn,
			 unsigned timeout_ms, const diag_cancel *cancel)
{
	int64_t start = diag_mono_us(), deadline = start + (int64_t)timeout_ms * 1000;

	put32(pkt, sn);
	if (send(fd, pkt, len, 0) < 0)
		return -1;
	for (;;) {
		int w = diag_wait(fd, deadline, cancel);
		if (w <= 0)
			return w < 0 ? -2 : -1;
		ssize_t n = recv(fd, reply, len, MSG_DONTWAIT);
		if (n < 0 && errno == ECONNREFUSED)
			return -1; /* nobody listens: this one failed */
		if (n >= 4 && get32(reply) == sn)
			return diag_mono_us() - start;
	}
}

void diag_udpecho_run(const diag_udpecho_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	struct sockaddr_storage target;
	socklen_t tlen;
	diag_rtt s = {0};
	char local[INET6_ADDRSTRLEN] = "";
	const char *status = "Error_Internal";
	size_t len = in->block_size < PLUS_HDR ? PLUS_HDR : in->block_size;
	unsigned char *pkt = calloc(1, len), *reply = calloc(1, len);
	int fd = -1;

	diag_outcome_init(o, status); /* the rows go in as they come */
	if (!pkt || !reply)
		goto out;
	if (diag_icmp_resolve(in->host, in->family, &target, &tlen)) {
		status = "Error_CannotResolveHostName";
		goto out;
	}
	if (target.ss_family == AF_INET)
		((struct sockaddr_in *)&target)->sin_port = htons((uint16_t)in->port);
	else
		((struct sockaddr_in6 *)&target)->sin6_port = htons((uint16_t)in->port);
	if ((fd = socket(target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		goto out;
	int tos = (int)(in->dscp << 2);
	setsockopt(fd, target.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		   target.ss_family == AF_INET ? IP_TOS : IPV6_TCLASS, &tos, sizeof tos);
	if (connect(fd, (struct sockaddr *)&target, tlen)) {
		status = "Error_Other";
		goto out;
	}
	struct sockaddr_storage me;
	socklen_t ml = sizeof me;
	if (!getsockname(fd, (struct sockaddr *)&me, &ml))
		diag_addr_text(&me, local, sizeof local);
	status = "Complete";
	for (unsigned i = 0; i < in->repetitions; i++) {
		if (i)
			diag_wait(-1, diag_mono_us() + (int64_t)in->inter_ms * 1000, cancel);
		int64_t sent = diag_wall_us(), rtt = echo_once(fd, pkt, len, reply, i + 1, in->timeout_ms, cancel);
		if (rtt == -2 || atomic_load(cancel))
			break;
		diag_rtt_add(&s, rtt);
		if (in->individual && i < DIAG_UE_MAX_RESULTS)
			report_packet(o, i + 1, rtt >= 0, sent, sent + (rtt > 0 ? rtt : 0), i + 1, reply);
	}
out:
	snprintf(o->status, sizeof o->status, "%s", status);
	diag_outcome_set(o, "IPAddressUsed", "%s", local);
	diag_outcome_set(o, "SuccessCount", "%u", s.ok);
	diag_outcome_set(o, "FailureCount", "%u", s.failed);
	diag_outcome_set(o, "AverageResponseTime", "%lld", (long long)diag_rtt_avg(&s));
	diag_outcome_set(o, "MinimumResponseTime", "%lld", (long long)s.min_us);
	diag_outcome_set(o, "MaximumResponseTime", "%lld", (long long)s.max_us);
	if (fd >= 0)
		close(fd);
	free(pkt);
	free(reply);
}
