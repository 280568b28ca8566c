/*
 * diag_download.c - the DownloadDiagnostics test, run in a worker thread:
 * one HTTP(S) GET of DownloadURL with libcurl's easy interface (it blocks,
 * hence the worker), the body counted and dropped, the TR-143 instants
 * taken from libcurl's timing points, failures turned into the
 * enumeration's Error_* values by one table.
 *
 * One connection only (DownloadDiagnosticMaxConnections is 1); the
 * time-based mode is not offered: the test always fetches the whole file.
 */
#include "diag_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define CONNECT_TIMEOUT_MS 10000L
/* below 1 byte/s for this long: the server stopped sending */
#define STALL_SECONDS 30L

typedef struct dl_state {
	const diag_cancel *cancel;
	curl_off_t body;
	unsigned dscp;
} dl_state;

/* libcurl's result -> the enumeration; the first matching row wins. */
static const struct {
	CURLcode rc;
	const char *status;
} curl_rows[] = {
	{CURLE_COULDNT_RESOLVE_HOST, "Error_CannotResolveHostName"},
	{CURLE_COULDNT_CONNECT, "Error_InitConnectionFailed"},
	{CURLE_OPERATION_TIMEDOUT, "Error_Timeout"},
	{CURLE_GOT_NOTHING, "Error_NoResponse"},
	{CURLE_LOGIN_DENIED, "Error_LoginFailed"},
	{CURLE_PARTIAL_FILE, "Error_IncorrectSize"},
	{CURLE_RECV_ERROR, "Error_TransferFailed"},
	{CURLE_WEIRD_SERVER_REPLY, "Error_NoResponse"},
	{CURLE_SSL_CONNECT_ERROR, "Error_InitConnectionFailed"},
	{CURLE_PEER_FAILED_VERIFICATION, "Error_InitConnectionFailed"},
	{CURLE_OUT_OF_MEMORY, "Error_Internal"},
};

static const char *status_of_curl(CURLcode rc, long os_errno)
{
	if (rc == CURLE_COULDNT_CONNECT && (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH))
		return "Error_NoRouteToHost";
	for (size_t i = 0; i < sizeof curl_rows / sizeof curl_rows[0]; i++)
		if (curl_rows[i].rc == rc)
			return curl_rows[i].status;
	return "Error_Other";
}

/* A server that answers with an error status sent no file: 401/407 are a
 * refused login, anything else not 2xx a failed transfer. */
static const char *status_of_http(long code)
{
	if (code >= 200 && code < 300)
		return "Complete";
	if (code == 401 || code == 407)
		return "Error_LoginFailed";
	return "Error_TransferFailed";
}

static size_t count_body(char *data, size_t size, size_t n, void *ctx)
{
	dl_state *st = ctx;

	(void)data;
	st->body += (curl_off_t)(size * n);
	return size * n;
}

static int check_cancel(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const dl_state *st = ctx;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(st->cancel) ? 1 : 0;
}

static int mark_dscp(void *ctx, curl_socket_t fd, curlsocktype purpose)
{
	const dl_state *st = ctx;
	int tos = (int)(st->dscp << 2);

	(void)purpose;
	/* the address family is unknown here: try both, one applies */
	setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
	setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
	return CURL_SOCKOPT_OK;
}

static void configure(CURL *c, const diag_download_in *in, dl_state *st)
{
	curl_easy_setopt(c, CURLOPT_URL, in->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "duet-diagnostics/" CORE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_cancel);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, st);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, mark_dscp);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, st);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	/* a measurement of the given server, not of wherever it points */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* no caching proxies: the bytes must cross the access network */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (in->family != DIAG_ANY)
		curl_easy_setopt(c, CURLOPT_IPRESOLVE, in->family == DIAG_IPV4 ? CURL_IPRESOLVE_V4 : CURL_IPRESOLVE_V6);
}

static curl_off_t info_off(CURL *c, CURLINFO what)
{
	curl_off_t v = 0;

	return curl_easy_getinfo(c, what, &v) == CURLE_OK ? v : 0;
}

static long info_long(CURL *c, CURLINFO what)
{
	long v = 0;

	return curl_easy_getinfo(c, what, &v) == CURLE_OK ? v : 0;
}

/* The instants are libcurl's offsets from the start: connect begins after
 * name resolution (TCPOpenRequest), ends at TCPOpenResponse; the GET goes
 * out at pre-transfer (ROM), the first byte (BOM) and the last (EOM). */
static void report(map_diag_outcome *o, CURL *c, const dl_state *st, int64_t start_us, bool complete)
{
	const char *local = NULL;
	curl_off_t head = info_long(c, CURLINFO_HEADER_SIZE), sent = info_long(c, CURLINFO_REQUEST_SIZE);
	curl_off_t bom = info_off(c, CURLINFO_STARTTRANSFER_TIME_T), eom = info_off(c, CURLINFO_TOTAL_TIME_T);
	int64_t t0 = complete ? start_us : 0;

	if (curl_easy_getinfo(c, CURLINFO_LOCAL_IP, &local) != CURLE_OK || !local)
		local = "";
	diag_outcome_set(o, "IPAddressUsed", "%s", local);
	diag_outcome_time(o, "ROMTime", t0 ? t0 + info_off(c, CURLINFO_PRETRANSFER_TIME_T) : 0);
	diag_outcome_time(o, "BOMTime", t0 ? t0 + bom : 0);
	diag_outcome_time(o, "EOMTime", t0 ? t0 + eom : 0);
	diag_outcome_set(o, "TestBytesReceived", "%lld", (long long)st->body);
	diag_outcome_set(o, "TotalBytesReceived", "%lld", (long long)(st->body + head));
	diag_outcome_set(o, "TotalBytesSent", "%lld", (long long)sent);
	/* one connection: it is fully loaded from the first byte to the last */
	diag_outcome_set(o, "TestBytesReceivedUnderFullLoading", "%lld", (long long)st->body);
	diag_outcome_set(o, "TotalBytesReceivedUnderFullLoading", "%lld", (long long)(st->body + head));
	diag_outcome_set(o, "TotalBytesSentUnderFullLoading", "%lld", (long long)sent);
	diag_outcome_set(o, "PeriodOfFullLoading", "%lld", complete ? (long long)(eom - bom) : 0LL);
	diag_outcome_time(o, "TCPOpenRequestTime", t0 ? t0 + info_off(c, CURLINFO_NAMELOOKUP_TIME_T) : 0);
	diag_outcome_time(o, "TCPOpenResponseTime", t0 ? t0 + info_off(c, CURLINFO_CONNECT_TIME_T) : 0);
}

void diag_download_run(const diag_download_in *in, const diag_cancel *cancel, map_diag_outcome *o)
{
	dl_state st = {.cancel = cancel, .dscp = in->dscp};
	CURL *c = curl_easy_init();
	int64_t start;
	CURLcode rc;
	const char *status;

	if (!c) {
		diag_outcome_init(o, "Error_Internal");
		return;
	}
	configure(c, in, &st);
	start = diag_wall_us();
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		status = status_of_http(info_long(c, CURLINFO_RESPONSE_CODE));
	else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
		status = "Error_InitConnectionFailed";
	else
		status = status_of_curl(rc, info_long(c, CURLINFO_OS_ERRNO));
	diag_outcome_init(o, status);
	report(o, c, &st, start, !strcmp(status, "Complete"));
	curl_easy_cleanup(c);
}
