/*
 * transfer_fetch.c - one HTTP(S) download (GET into a file) or upload (PUT
 * from memory) with libcurl easy, run in a libuv worker thread so that the
 * loop never blocks; the result comes back to the loop in the after-work
 * callback, the only place that touches the module again. Failures become
 * CWMP faults through one table.
 */
#include "transfer_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define CONNECT_TIMEOUT_S 30L
#define STALL_TIMEOUT_S 60L        /* below 1 byte/s for this long: cut short */
#define MAX_DOWNLOAD (256L << 20)  /* a gateway's flash is not larger */

/* How a libcurl failure reads as a download fault (TR-069 A.5). */
static const struct {
	CURLcode cc;
	unsigned fault;
} curl_faults[] = {
	{CURLE_UNSUPPORTED_PROTOCOL, CWMP_FAULT_UNSUPPORTED_PROTOCOL},
	{CURLE_URL_MALFORMAT, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_COULDNT_RESOLVE_PROXY, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_COULDNT_RESOLVE_HOST, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_COULDNT_CONNECT, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_SSL_CONNECT_ERROR, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_PEER_FAILED_VERIFICATION, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_SSL_CACERT_BADFILE, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_SSL_CERTPROBLEM, CWMP_FAULT_CONTACT_FILE_SERVER},
	{CURLE_LOGIN_DENIED, CWMP_FAULT_FILE_SERVER_AUTH},
	{CURLE_REMOTE_ACCESS_DENIED, CWMP_FAULT_FILE_SERVER_AUTH},
	{CURLE_REMOTE_FILE_NOT_FOUND, CWMP_FAULT_ACCESS_FILE},
	{CURLE_TOO_MANY_REDIRECTS, CWMP_FAULT_ACCESS_FILE},
	{CURLE_PARTIAL_FILE, CWMP_FAULT_COMPLETE_DOWNLOAD},
	{CURLE_RECV_ERROR, CWMP_FAULT_COMPLETE_DOWNLOAD},
	{CURLE_GOT_NOTHING, CWMP_FAULT_COMPLETE_DOWNLOAD},
	{CURLE_OPERATION_TIMEDOUT, CWMP_FAULT_COMPLETE_DOWNLOAD},
	{CURLE_ABORTED_BY_CALLBACK, CWMP_FAULT_COMPLETE_DOWNLOAD},
	{CURLE_FILESIZE_EXCEEDED, CWMP_FAULT_DOWNLOAD_FAILURE},
	{CURLE_WRITE_ERROR, CWMP_FAULT_DOWNLOAD_FAILURE},
};

static unsigned fault_of_http(long code)
{
	if (code == 401 || code == 403 || code == 407)
		return CWMP_FAULT_FILE_SERVER_AUTH;
	return code >= 400 ? CWMP_FAULT_ACCESS_FILE : 0;
}

/* An upload keeps the faults that name a cause the ACS can act on
 * (credentials, protocol, server, path); everything else is 9011. */
static unsigned for_direction(unsigned fault, int upload)
{
	if (!upload || !fault)
		return fault;
	if (fault == CWMP_FAULT_DOWNLOAD_FAILURE || fault == CWMP_FAULT_COMPLETE_DOWNLOAD)
		return CWMP_FAULT_UPLOAD_FAILURE;
	return fault;
}

static unsigned fault_of_curl(CURLcode cc)
{
	for (size_t i = 0; i < sizeof curl_faults / sizeof *curl_faults; i++)
		if (curl_faults[i].cc == cc)
			return curl_faults[i].fault;
	return CWMP_FAULT_DOWNLOAD_FAILURE;
}

/* ---------------------------------------------------------------------------
 * Worker side
 * ------------------------------------------------------------------------- */

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	xfer_job *j = ctx;

	return atomic_load(&j->cancel) ? 1 : 0;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	xfer_job *j = ctx;
	size_t left = j->body_len - j->body_off, want = size * n;

	if (want > left)
		want = left;
	memcpy(buf, j->body + j->body_off, want);
	j->body_off += want;
	return want;
}

/* Digest authentication sends the body again after the challenge. */
static int on_seek(void *ctx, curl_off_t off, int origin)
{
	xfer_job *j = ctx;

	if (origin != SEEK_SET || off < 0 || (size_t)off > j->body_len)
		return CURL_SEEKFUNC_FAIL;
	j->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static void set_common(CURL *c, xfer_job *j)
{
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
	if (j->timeout_s > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, j->timeout_s);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, j);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (j->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, j->ca);
	if (j->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, j->cert);
	if (j->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, j->key);
	if (j->username && *j->username) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)(CURLAUTH_BASIC | CURLAUTH_DIGEST));
		curl_easy_setopt(c, CURLOPT_USERNAME, j->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, j->password ? j->password : "");
	}
}

static void set_result(xfer_job *j, CURLcode cc, const char *errbuf)
{
	unsigned fault = 0;

	if (cc != CURLE_OK) {
		fault = fault_of_curl(cc);
		snprintf(j->msg, sizeof j->msg, "%s", *errbuf ? errbuf : curl_easy_strerror(cc));
	} else if ((fault = fault_of_http(j->http_code))) {
		snprintf(j->msg, sizeof j->msg, "file server answered HTTP %ld", j->http_code);
	}
	j->fault = for_direction(fault, j->upload);
}

static void run_job(uv_work_t *w)
{
	xfer_job *j = w->data;
	char errbuf[CURL_ERROR_SIZE] = "";
	FILE *out = NULL;
	CURL *c = curl_easy_init();
	CURLcode cc;

	if (!c) {
		j->fault = CWMP_FAULT_INTERNAL;
		snprintf(j->msg, sizeof j->msg, "HTTP client unavailable");
		return;
	}
	set_common(c, j);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (j->upload) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, j);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, j);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->body_len);
	} else {
		if (!(out = fopen(j->file, "wb"))) {
			curl_easy_cleanup(c);
			j->fault = CWMP_FAULT_DOWNLOAD_FAILURE;
			snprintf(j->msg, sizeof j->msg, "cannot store the file");
			return;
		}
		curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_DOWNLOAD);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->http_code);
	if (out && fclose(out) && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	set_result(j, cc, errbuf);
	curl_easy_cleanup(c);
}

/* ---------------------------------------------------------------------------
 * Loop side
 * ------------------------------------------------------------------------- */

void xfer_job_free(xfer_job *j)
{
	if (!j)
		return;
	free(j->url);
	free(j->username);
	free(j->password);
	free(j->ca);
	free(j->cert);
	free(j->key);
	free(j->file);
	free(j->body);
	free(j);
}

static void after_job(uv_work_t *w, int status)
{
	xfer_job *j = w->data;
	cwmp_transfers *x = j->x;

	if (x) {
		x->job = NULL;
		if (status == UV_ECANCELED && !j->fault) {
			j->fault = CWMP_FAULT_INTERNAL;
			snprintf(j->msg, sizeof j->msg, "transfer cancelled");
		}
		j->done(x, j);
		xfer_kick_soon(x);
	}
	xfer_job_free(j);
}

xfer_job *xfer_job_new(cwmp_transfers *x, uint32_t seq, const char *url, const char *user,
		       const char *pass)
{
	cwmp_agent *a = x->a;
	xfer_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->seq = seq;
	atomic_init(&j->cancel, false);
	j->url = xfer_strdup(url);
	j->username = xfer_strdup(user);
	j->password = xfer_strdup(pass);
	j->ca = xfer_strdup(a->tls_ca);
	j->cert = xfer_strdup(a->tls_cert);
	j->key = xfer_strdup(a->tls_key);
	if (!j->url || (user && !j->username) || (pass && !j->password) || (a->tls_ca && !j->ca) ||
	    (a->tls_cert && !j->cert) || (a->tls_key && !j->key)) {
		xfer_job_free(j);
		return NULL;
	}
	return j;
}

int xfer_job_start(cwmp_transfers *x, xfer_job *j, xfer_job_done done)
{
	if (!x->a->loop || x->job) {
		xfer_job_free(j);
		return DM_ERR_INTERNAL;
	}
	/* here, not in the worker: libcurl's global set-up is not thread-safe */
	if (!x->curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			xfer_job_free(j);
			return DM_ERR_INTERNAL;
		}
		x->curl_ready = true;
	}
	j->x = x;
	j->done = done;
	j->work.data = j;
	if (uv_queue_work(core_loop_uv(x->a->loop), &j->work, run_job, after_job)) {
		xfer_job_free(j);
		return DM_ERR_INTERNAL;
	}
	x->job = j;
	return 0;
}

void xfer_job_orphan(xfer_job *j)
{
	if (!j)
		return;
	j->x = NULL;
	atomic_store(&j->cancel, true);
	uv_cancel((uv_req_t *)&j->work); /* harmless when the worker already runs */
}
