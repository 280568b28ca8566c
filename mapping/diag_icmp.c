/*
 * diag_icmp.c - ICMP echo requests, shared by the IPPing and TraceRoute
 * tests (worker side): name resolution, the socket, the request packet,
 * addresses as text.
 *
 * Socket: an unprivileged ICMP "ping" socket (SOCK_DGRAM, allowed by
 * net.ipv4.ping_group_range) where the system allows one and the test can
 * use it, else a raw socket (root or CAP_NET_RAW). On a ping socket the
 * kernel owns the echo identifier and filters replies; on a raw one the
 * test matches them itself and skips the IPv4 header the kernel hands it.
 */
#include "diag_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int diag_icmp_resolve(const char *host, diag_family family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;

	hints.ai_family = family == DIAG_IPV4 ? AF_INET : family == DIAG_IPV6 ? AF_INET6 : AF_UNSPEC;
	if (!host[0] || getaddrinfo(host, NULL, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
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

static uint16_t next_id(void)
{
	static atomic_uint counter;

	return (uint16_t)((unsigned)getpid() * 31u + atomic_fetch_add(&counter, 1u));
}

/* DSCP is the upper six bits of the TOS / traffic class octet. */
static void set_dscp(diag_icmp *p, unsigned dscp)
{
	int tos = (int)(dscp << 2);

	if (p->family == AF_INET)
		setsockopt(p->fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
	else
		setsockopt(p->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
}

int diag_icmp_open(diag_icmp *p, int family, unsigned block_size, unsigned dscp, bool raw_only)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	p->family = family;
	p->id = next_id();
	p->fd = raw_only ? -1 : socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	p->raw = p->fd < 0;
	if (p->fd < 0)
		p->fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (p->fd < 0)
		return -1;
	set_dscp(p, dscp);
	p->pkt_len = DIAG_ICMP_HDR + block_size;
	if (!(p->pkt = calloc(1, p->pkt_len)))
		return -1;
	p->pkt[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	for (size_t i = DIAG_ICMP_HDR; i < p->pkt_len; i++)
		p->pkt[i] = (unsigned char)i;
	return 0;
}

void diag_icmp_stamp(diag_icmp *p, uint16_t seq)
{
	uint16_t id = htons(p->id), sq = htons(seq);

	memcpy(p->pkt + 4, &id, 2);
	memcpy(p->pkt + 6, &sq, 2);
	p->pkt[2] = p->pkt[3] = 0;
	/* ICMPv6's checksum is the kernel's: it covers a pseudo-header only
	 * the kernel knows */
	if (p->family == AF_INET) {
		uint16_t c = checksum(p->pkt, p->pkt_len);
		memcpy(p->pkt + 2, &c, 2);
	}
}

void diag_icmp_close(diag_icmp *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->pkt);
	p->pkt = NULL;
}

void diag_addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	const void *a = ss->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
						 : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (!inet_ntop(ss->ss_family, a, out, (socklen_t)n))
		out[0] = '\0';
}

void diag_icmp_local(const diag_icmp *p, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	out[0] = '\0';
	if (!getsockname(p->fd, (struct sockaddr *)&ss, &len))
		diag_addr_text(&ss, out, n);
}

void diag_source_for(const struct sockaddr_storage *target, socklen_t tlen, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	/* a UDP "connect" sends nothing: it only asks the routing table */
	int fd = socket(target->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	if (fd < 0)
		return;
	struct sockaddr_storage t = *target;
	if (t.ss_family == AF_INET)
		((struct sockaddr_in *)&t)->sin_port = htons(9);
	else
		((struct sockaddr_in6 *)&t)->sin6_port = htons(9);
	if (!connect(fd, (struct sockaddr *)&t, tlen) && !getsockname(fd, (struct sockaddr *)&ss, &len))
		diag_addr_text(&ss, out, n);
	close(fd);
}
