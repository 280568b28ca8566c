/*
 * xfer_fetch.c - the runner: one HTTP(S) download (GET into a file) or
 * upload (PUT from memory) at a time with libcurl easy, run in a libuv
 * worker thread so that the loop never blocks; the next waits in a FIFO
 * whichever door queued it. The result comes back to the loop in the
 * after-work callback, the only place that touches the runner again.
 * libcurl failures become transfer faults through one table. Also the
 * small helpers both doors use on URLs and files.
 */
#include "xfer_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define CONNECT_TIMEOUT_S 30L
#define STALL_TIMEOUT_S 60L             /* below 1 byte/s for this long: cut short */
#define MAX_DOWNLOAD ((uint64_t)256 << 20) /* a gateway's flash is not larger */
#define HISTORY 8

struct map_xfer_job {
	uv_work_t work;
	map_xfer *x; /* NULL once canceled: nobody waits for it */
	struct map_xfer_job *next; /* in the FIFO */
	int upload;
	char *url, *username, *password, *ca, *cert, *key;
	char *file;
	char *body;
	size_t body_len, body_off;
	long timeout_s;
	uint64_t max_size;
	atomic_bool cancel;
	map_xfer_done_fn done;
	void *ctx;
	/* results, written by the worker */
	unsigned fault;
	char msg[256];
	long http_code;
};

struct map_xfer {
	dm *d;
	core_loop *loop;
	unsigned refs;
	map_xfer_job *running;
	map_xfer_job *head, *tail;
	/* libcurl's globals (OpenSSL under them) start with the first
	 * transfer, on the loop thread: an agent that never transfers a file
	 * never pays their memory */
	bool curl_ready;
	unsigned orphans; /* workers left running after a cancel */
	char history[HISTORY][160];
	unsigned n_history;
	struct map_xfer *next_open;
};

/* One runner per engine: both doors find the same one. */
static map_xfer *open_runners;

/* ---------------------------------------------------------------------------
 * Helpers on URLs, files and time
 * ------------------------------------------------------------------------- */

unsigned map_xfer_check_url(const char *url, size_t max, const char **why)
{
	const char *sep, *auth_end;

	if (!url || !*url || strlen(url) > max) {
		*why = "URL missing or too long";
		return MAP_XFER_F_INVALID_ARGS;
	}
	if (!(sep = strstr(url, "://")) || sep == url) {
		*why = "URL has no scheme";
		return MAP_XFER_F_INVALID_ARGS;
	}
	if (!((sep - url == 4 && !strncasecmp(url, "http", 4)) || (sep - url == 5 && !strncasecmp(url, "https", 5)))) {
		*why = "only http and https are supported";
		return MAP_XFER_F_PROTOCOL;
	}
	auth_end = sep + 3 + strcspn(sep + 3, "/?#");
	if (memchr(sep + 3, '@', (size_t)(auth_end - (sep + 3)))) {
		*why = "credentials belong in Username and Password, not in the URL";
		return MAP_XFER_F_INVALID_ARGS;
	}
	if (auth_end == sep + 3) {
		*why = "URL has no host";
		return MAP_XFER_F_INVALID_ARGS;
	}
	return 0;
}

bool map_xfer_file_version(const char *file, char *buf, size_t n)
{
	char line[256];
	FILE *f = fopen(file, "rb");
	bool found = false;

	if (!f)
		return false;
	for (int i = 0; i < 16 && !found && fgets(line, sizeof line, f); i++) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "version=", 8) && line[8] && strlen(line + 8) < n) {
			snprintf(buf, n, "%s", line + 8);
			found = true;
		}
	}
	fclose(f);
	return found;
}

void map_xfer_url_name(const char *url, char *buf, size_t n)
{
	const char *s = url ? strstr(url, "://") : NULL, *end, *slash;

	s = s ? s + 3 : (url ? url : "");
	end = s + strcspn(s, "?#");
	slash = NULL;
	for (const char *p = s; p < end; p++)
		if (*p == '/')
			slash = p;
	if (!slash || slash + 1 >= end) {
		snprintf(buf, n, "%s", "download");
		return;
	}
	snprintf(buf, n, "%.*s", (int)(end - slash - 1), slash + 1);
}

/* ---------------------------------------------------------------------------
 * Failures as faults (TR-069 A.5)
 * ------------------------------------------------------------------------- */

static const struct {
	CURLcode cc;
	unsigned fault;
} curl_faults[] = {
	{CURLE_UNSUPPORTED_PROTOCOL, MAP_XFER_F_PROTOCOL},
	{CURLE_URL_MALFORMAT, MAP_XFER_F_CONTACT},
	{CURLE_COULDNT_RESOLVE_PROXY, MAP_XFER_F_CONTACT},
	{CURLE_COULDNT_RESOLVE_HOST, MAP_XFER_F_CONTACT},
	{CURLE_COULDNT_CONNECT, MAP_XFER_F_CONTACT},
	{CURLE_SSL_CONNECT_ERROR, MAP_XFER_F_CONTACT},
	{CURLE_PEER_FAILED_VERIFICATION, MAP_XFER_F_CONTACT},
	{CURLE_SSL_CACERT_BADFILE, MAP_XFER_F_CONTACT},
	{CURLE_SSL_CERTPROBLEM, MAP_XFER_F_CONTACT},
	{CURLE_LOGIN_DENIED, MAP_XFER_F_SERVER_AUTH},
	{CURLE_REMOTE_ACCESS_DENIED, MAP_XFER_F_SERVER_AUTH},
	{CURLE_REMOTE_FILE_NOT_FOUND, MAP_XFER_F_ACCESS},
	{CURLE_TOO_MANY_REDIRECTS, MAP_XFER_F_ACCESS},
	{CURLE_PARTIAL_FILE, MAP_XFER_F_COMPLETE},
	{CURLE_RECV_ERROR, MAP_XFER_F_COMPLETE},
	{CURLE_GOT_NOTHING, MAP_XFER_F_COMPLETE},
	{CURLE_OPERATION_TIMEDOUT, MAP_XFER_F_COMPLETE},
	{CURLE_ABORTED_BY_CALLBACK, MAP_XFER_F_COMPLETE},
	{CURLE_FILESIZE_EXCEEDED, MAP_XFER_F_DOWNLOAD},
	{CURLE_WRITE_ERROR, MAP_XFER_F_DOWNLOAD},
};

static unsigned fault_of_http(long code)
{
	if (code == 401 || code == 403 || code == 407)
		return MAP_XFER_F_SERVER_AUTH;
	return code >= 400 ? MAP_XFER_F_ACCESS : 0;
}

/* An upload keeps the faults that name a cause the manager can act on
 * (credentials, protocol, server, path); everything else is 9011. */
static unsigned for_direction(unsigned fault, int upload)
{
	if (!upload || !fault)
		return fault;
	if (fault == MAP_XFER_F_DOWNLOAD || fault == MAP_XFER_F_COMPLETE)
		return MAP_XFER_F_UPLOAD;
	return fault;
}

static unsigned fault_of_curl(CURLcode cc)
{
	for (size_t i = 0; i < sizeof curl_faults / sizeof *curl_faults; i++)
		if (curl_faults[i].cc == cc)
			return curl_faults[i].fault;
	return MAP_XFER_F_DOWNLOAD;
}

/* ---------------------------------------------------------------------------
 * Worker side
 * ------------------------------------------------------------------------- */

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	map_xfer_job *j = ctx;

	return atomic_load(&j->cancel) ? 1 : 0;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	map_xfer_job *j = ctx;
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
	map_xfer_job *j = ctx;

	if (origin != SEEK_SET || off < 0 || (size_t)off > j->body_len)
		return CURL_SEEKFUNC_FAIL;
	j->body_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static void set_common(CURL *c, map_xfer_job *j)
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

static void set_result(map_xfer_job *j, CURLcode cc, const char *errbuf)
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
	map_xfer_job *j = w->data;
	char errbuf[CURL_ERROR_SIZE] = "";
	FILE *out = NULL;
	CURL *c = curl_easy_init();
	CURLcode cc;

	if (!c) {
		j->fault = MAP_XFER_F_INTERNAL;
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
			j->fault = MAP_XFER_F_DOWNLOAD;
			snprintf(j->msg, sizeof j->msg, "cannot store the file");
			return;
		}
		curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)j->max_size);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->http_code);
	if (out && fclose(out) && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	set_result(j, cc, errbuf);
	curl_easy_cleanup(c);
}

/* ---------------------------------------------------------------------------
 * Loop side: the FIFO
 * ------------------------------------------------------------------------- */

static void job_free(map_xfer_job *j)
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

static void runner_free(map_xfer *x)
{
	for (map_xfer **pp = &open_runners; *pp; pp = &(*pp)->next_open)
		if (*pp == x) {
			*pp = x->next_open;
			break;
		}
	/* a worker still inside libcurl must not see its globals go */
	if (x->curl_ready && !x->orphans)
		curl_global_cleanup();
	free(x);
}

static void kick(map_xfer *x);

static void after_job(uv_work_t *w, int status)
{
	map_xfer_job *j = w->data;
	map_xfer *x = j->x;

	if (!x) {
		job_free(j);
		return;
	}
	x->running = NULL;
	if (status == UV_ECANCELED && !j->fault) {
		j->fault = MAP_XFER_F_INTERNAL;
		snprintf(j->msg, sizeof j->msg, "transfer cancelled");
	}
	map_xfer_result r = {j->fault, j->msg, j->http_code, j->file, j->url};
	j->done(j->ctx, &r);
	job_free(j);
	kick(x);
}

/* Start the job at the head of the FIFO when nothing runs. */
static void kick(map_xfer *x)
{
	while (!x->running && x->head) {
		map_xfer_job *j = x->head;

		x->head = j->next;
		if (!x->head)
			x->tail = NULL;
		j->next = NULL;
		j->work.data = j;
		if (!uv_queue_work(core_loop_uv(x->loop), &j->work, run_job, after_job)) {
			x->running = j;
			return;
		}
		map_xfer_result r = {MAP_XFER_F_INTERNAL, "transfer worker did not start", 0, j->file, j->url};
		j->done(j->ctx, &r);
		job_free(j);
	}
}

static bool copy_str(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

static map_xfer_job *job_new(const map_xfer_http *h)
{
	map_xfer_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	atomic_init(&j->cancel, false);
	j->upload = h->upload;
	j->timeout_s = h->timeout_s;
	j->max_size = h->max_size ? h->max_size : MAX_DOWNLOAD;
	if (!copy_str(&j->url, h->url) || !copy_str(&j->username, h->username) ||
	    !copy_str(&j->password, h->password) || !copy_str(&j->ca, h->ca) || !copy_str(&j->cert, h->cert) ||
	    !copy_str(&j->key, h->key) || !copy_str(&j->file, h->file) || !j->url || (!h->upload && !j->file)) {
		job_free(j);
		return NULL;
	}
	return j;
}

int map_xfer_http_start(map_xfer *x, const map_xfer_http *h, map_xfer_done_fn done, void *ctx,
			map_xfer_job **out)
{
	map_xfer_job *j;

	if (!x || !h || !done) {
		if (h)
			free(h->body);
		return DM_ERR_INVALID_ARG;
	}
	if (!(j = job_new(h))) {
		free(h->body);
		return DM_ERR_NOMEM;
	}
	j->body = h->body;
	j->body_len = h->body_len;
	/* here, not in the worker: libcurl's global set-up is not thread-safe */
	if (!x->curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			job_free(j);
			return DM_ERR_INTERNAL;
		}
		x->curl_ready = true;
	}
	j->x = x;
	j->done = done;
	j->ctx = ctx;
	if (x->tail)
		x->tail->next = j;
	else
		x->head = j;
	x->tail = j;
	if (out)
		*out = j;
	kick(x);
	return DM_OK;
}

void map_xfer_cancel(map_xfer_job *j)
{
	map_xfer *x = j ? j->x : NULL;

	if (!x)
		return;
	if (x->running == j) {
		/* the worker may be inside libcurl: it ends on its own */
		j->x = NULL;
		x->orphans++;
		atomic_store(&j->cancel, true);
		uv_cancel((uv_req_t *)&j->work); /* harmless when the worker already runs */
		x->running = NULL;
		kick(x);
		return;
	}
	for (map_xfer_job **pp = &x->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		*pp = j->next;
		if (x->tail == j)
			x->tail = prev;
		job_free(j);
		return;
	}
}

void map_xfer_note(map_xfer *x, const char *line)
{
	if (x)
		snprintf(x->history[x->n_history++ % HISTORY], sizeof x->history[0], "%s", line);
}

bool xfer_job_running(const map_xfer *x, const map_xfer_job *j)
{
	return x && j && x->running == j;
}

size_t xfer_history(const map_xfer *x, const char **lines, size_t max)
{
	unsigned first = x->n_history > HISTORY ? x->n_history - HISTORY : 0;
	size_t n = 0;

	for (unsigned i = first; i < x->n_history && n < max; i++)
		lines[n++] = x->history[i % HISTORY];
	return n;
}

/* ---------------------------------------------------------------------------
 * One runner per engine
 * ------------------------------------------------------------------------- */

int map_xfer_acquire(dm *d, core_loop *loop, map_xfer **out)
{
	map_xfer *x;

	if (!d || !loop || !out)
		return DM_ERR_INVALID_ARG;
	for (x = open_runners; x; x = x->next_open)
		if (x->d == d)
			break;
	if (!x) {
		if (!(x = calloc(1, sizeof *x)))
			return DM_ERR_NOMEM;
		x->d = d;
		x->loop = loop;
		x->next_open = open_runners;
		open_runners = x;
	}
	x->refs++;
	*out = x;
	return DM_OK;
}

void map_xfer_release(map_xfer *x)
{
	if (!x || --x->refs)
		return;
	if (x->running)
		map_xfer_cancel(x->running);
	while (x->head) {
		map_xfer_job *j = x->head;
		x->head = j->next;
		job_free(j);
	}
	x->tail = NULL;
	runner_free(x);
}
