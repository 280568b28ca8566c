/*
 * diag_dns.c - the NSLookupDiagnostics test, run in a worker thread: ask
 * DNSServer (the first nameserver of /etc/resolv.conf when empty; a name
 * is resolved first) NumberOfRepetitions times for the A and AAAA records
 * of HostName, each question over UDP waiting up to Timeout ms, and report
 * one Result row per repetition: Status, AnswerType (the server's
 * Authoritative Answer bit), HostNameReturned (the name the addresses
 * belong to, after any CNAME), IPAddresses, DNSServerIP, ResponseTime (ms,
 * both questions).
 *
 * The client is ours, small and strict: one question per datagram, the
 * answer matched by id and source, names decompressed with a bound on
 * pointers. The system resolver could not be pointed at one server
 * reliably from a thread, nor report what TR-143 asks for.
 */
#include "diag_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define DNS_PORT 53
#define DNS_HDR 12
#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28
#define CLASS_IN 1
#define RCODE_NXDOMAIN 3
#define MAX_ADDRS 10 /* IPAddresses holds at most 10 */

typedef struct dns_answer {
	bool authoritative;
	int rcode;
	char name[256];  /* the owner of the first address ("" none) */
	char addrs[MAX_ADDRS][INET6_ADDRSTRLEN];
	unsigned n_addrs;
} dns_answer;

typedef enum ask_result { ASK_OK, ASK_TIMEOUT, ASK_UNREACHABLE, ASK_BAD, ASK_CANCELED } ask_result;

/* ---- the question -------------------------------------------------------- */

static int put_name(unsigned char *q, size_t cap, const char *host)
{
	size_t at = 0;
	const char *p = host;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len > 63 || at + len + 2 > cap)
			return -1;
		q[at++] = (unsigned char)len;
		memcpy(q + at, p, len);
		at += len;
		p += len + (dot ? 1 : 0);
		if (dot && !*p)
			break; /* a trailing dot: the root */
	}
	if (at + 1 > cap || at > 254)
		return -1;
	q[at++] = 0;
	return (int)at;
}

static int build_question(unsigned char *q, size_t cap, uint16_t id, const char *host, unsigned type)
{
	if (cap < DNS_HDR + 4)
		return -1;
	memset(q, 0, DNS_HDR);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01; /* RD: the server may recurse for us */
	q[5] = 1;    /* one question */
	int n = put_name(q + DNS_HDR, cap - DNS_HDR - 4, host);
	if (n < 0)
		return -1;
	size_t at = DNS_HDR + (size_t)n;
	q[at++] = (unsigned char)(type >> 8);
	q[at++] = (unsigned char)type;
	q[at++] = 0;
	q[at++] = CLASS_IN;
	return (int)at;
}

/* ---- the answer ---------------------------------------------------------- */

/* The name at *at into out (dotted, no final dot); *at moves past it in the
 * record. Compression pointers are followed, at most 32 of them. */
static int read_name(const unsigned char *m, size_t len, size_t *at, char *out, size_t cap)
{
	size_t pos = *at, used = 0;
	bool jumped = false;
	unsigned jumps = 0;

	out[0] = '\0';
	for (;;) {
		if (pos >= len)
			return -1;
		unsigned c = m[pos];
		if ((c & 0xC0) == 0xC0) {
			if (pos + 1 >= len || ++jumps > 32)
				return -1;
			if (!jumped)
				*at = pos + 2;
			jumped = true;
			pos = (size_t)(c & 0x3F) << 8 | m[pos + 1];
			continue;
		}
		if (c & 0xC0)
			return -1;
		if (c == 0) {
			if (!jumped)
				*at = pos + 1;
			return 0;
		}
		if (pos + 1 + c > len || used + c + 2 > cap)
			return -1;
		if (used)
			out[used++] = '.';
		memcpy(out + used, m + pos + 1, c);
		used += c;
		out[used] = '\0';
		pos += 1 + c;
	}
}

static void take_address(dns_answer *a, const char *owner, unsigned type, const unsigned char *rd, size_t rdlen)
{
	int family = type == TYPE_A ? AF_INET : AF_INET6;

	if ((type == TYPE_A && rdlen != 4) || (type == TYPE_AAAA && rdlen != 16) || a->n_addrs == MAX_ADDRS)
		return;
	if (!inet_ntop(family, rd, a->addrs[a->n_addrs], sizeof a->addrs[0]))
		return;
	a->n_addrs++;
	if (!a->name[0])
		snprintf(a->name, sizeof a->name, "%s", owner);
}

static int parse_answer(const unsigned char *m, size_t len, uint16_t id, dns_answer *a)
{
	char name[256];
	size_t at = DNS_HDR;

	if (len < DNS_HDR || (m[0] << 8 | m[1]) != id || !(m[2] & 0x80))
		return -1; /* not the answer to our question */
	a->authoritative |= (m[2] & 0x04) != 0;
	a->rcode = m[3] & 0x0F;
	unsigned qd = (unsigned)(m[4] << 8 | m[5]), an = (unsigned)(m[6] << 8 | m[7]);
	for (unsigned i = 0; i < qd; i++) {
		if (read_name(m, len, &at, name, sizeof name) || at + 4 > len)
			return -1;
		at += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (read_name(m, len, &at, name, sizeof name) || at + 10 > len)
			return -1;
		unsigned type = (unsigned)(m[at] << 8 | m[at + 1]);
		size_t rdlen = (size_t)(m[at + 8] << 8 | m[at + 9]);
		at += 10;
		if (at + rdlen > len)
			return -1;
		if (type == TYPE_A || type == TYPE_AAAA)
			take_address(a, name, type, m + at, rdlen);
		at += rdlen;
	}
	return 0;
}

/* ---- one exchange ---------------------------------------------------------- */

static uint16_t random_id(void)
{
	uint16_t id = 0;

	if (getrandom(&id, sizeof id, 0) != sizeof id)
		id = (uint16_t)(diag_mono_us() ^ getpid());
	return id;
}

static ask_result ask(int fd, const char *host, unsigned type, unsigned timeout_ms, const diag_cancel *cancel,
		      dns_answer *a)
{
	unsigned char q[512], r[4096];
	uint16_t id = random_id();
	int qn = build_question(q, sizeof q, id, host, type);
	int64_t deadline = diag_mono_us() + (int64_t)timeout_ms * 1000;

	if (qn < 0)
		return ASK_BAD;
	if (send(fd, q, (size_t)qn, 0) < 0)
		return errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ? ASK_UNREACHABLE
											     : ASK_BAD;
	for (;;) {
		int w = diag_wait(fd, deadline, cancel);
		if (w <= 0)
			return w < 0 ? ASK_CANCELED : ASK_TIMEOUT;
		ssize_t n = recv(fd, r, sizeof r, MSG_DONTWAIT);
		if (n < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH))
			return ASK_UNREACHABLE; /* the server's host said no one listens */
		if (n > 0 && !parse_answer(r, (size_t)n, id, a))
			return ASK_OK;
	}
}

/* ---- the test ---------------------------------------------------------------- */

/* The first nameserver line of /etc/resolv.conf into out. */
static void system_server(char *out, size_t n)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512], addr[256];

	out[0] = '\0';
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, " nameserver %255s", addr) == 1) {
			snprintf(out, n, "%s", addr);
			break;
		}
	if (f)
		fclose(f);
}

static const char *result_status(ask_result r, const dns_answer *a)
{
	if (r == ASK_TIMEOUT)
		return "Error_Timeout";
	if (r == ASK_UNREACHABLE)
		return "Error_DNSServerNotAvailable";
	if (r != ASK_OK)
		return "Error_Other";
	return a->n_addrs ? "Success" : "Error_HostNameNotResolved";
}

static void report_result(map_diag_outcome *o, unsigned row, const char *status, const dns_answer *a,
			  const char *server_ip, int64_t us)
{
	char name[MAP_DIAG_NAME_MAX], list[MAP_DIAG_VALUE_MAX] = "";
	size_t used = 0;
	bool ok = !strcmp(status, "Success");

	for (unsigned i = 0; ok && i < a->n_addrs && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? "," : "", a->addrs[i]);
	snprintf(name, sizeof name, "Result.%u.Status", row);
	diag_outcome_set(o, name, "%s", status);
	snprintf(name, sizeof name, "Result.%u.AnswerType", row);
	diag_outcome_set(o, name, "%s", !ok ? "None" : a->authoritative ? "Authoritative" : "NonAuthoritative");
	snprintf(name, sizeof name, "Result.%u.HostNameReturned", row);
	diag_outcome_set(o, name, "%s", ok ? a->name : "");
	snprintf(name, sizeof name, "Result.%u.IPAddresses", row);
	diag_outcome_set(o, name, "%s", list);
	snprintf(name, sizeof name, "Result.%u.DNSServerIP", row);
	diag_outcome_set(o, name, "%s", server_ip);
	snprintf(name, sizeof name, "Result.%u.ResponseTime", row);
	diag_outcome_set(o, name, "%u", ok ? (unsigned)((us + 500) / 1000) : 0u);
}

/* One repetition: A, then AAAA unless A failed outright. */
static bool one_lookup(int fd, const diag_dns_in *in, const diag_cancel *cancel, map_diag_outcome *o, unsigned row,
		       const char *server_ip)
{
	dns_answer a = {0};
	int64_t start = diag_mono_us();
	ask_result r = ask(fd, in->host, TYPE_A, in->timeout_ms, cancel, &a);

	if (r == ASK_OK && a.rcode != RCODE_NXDOMAIN)
		r = ask(fd, in->host, TYPE_AAAA, in->timeout_ms, cancel, &a);
	if (r == ASK_CANCELED)
		return false;
	const char *status = result_status(r, &a);
	report_result(o, row, status, &a, server_ip, diag_mono_us() - start);
	return !strcmp(status, "Success");
}

void diag_dns_run(const diag_dns_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	char server[257], server_ip[INET6_ADDRSTRLEN] = "";
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned ok = 0;
	int fd = -1;

	snprintf(server, sizeof server, "%s", in->server);
	if (!server[0])
		system_server(server, sizeof server);
	if (diag_icmp_resolve(server, DIAG_ANY, &ss, &sl)) {
		diag_outcome_init(o, "Error_DNSServerNotResolved");
		diag_outcome_set(o, "SuccessCount", "0");
		return;
	}
	diag_addr_text(&ss, server_ip, sizeof server_ip);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(DNS_PORT);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(DNS_PORT);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl)) {
		diag_outcome_init(o, fd < 0 ? "Error_Internal" : "Error_Other");
		diag_outcome_set(o, "SuccessCount", "0");
		if (fd >= 0)
			close(fd);
		return;
	}
	diag_outcome_init(o, "Complete");
	diag_outcome_set(o, "SuccessCount", "0"); /* first: the count leads the rows */
	for (unsigned i = 0; i < in->repetitions; i++) {
		if (atomic_load(cancel))
			break;
		ok += one_lookup(fd, in, cancel, o, i + 1, server_ip);
	}
	diag_outcome_set(o, "SuccessCount", "%u", ok);
	close(fd);
}
