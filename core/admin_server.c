/*
 * admin_server.c - the admin socket server: a UNIX stream socket on the
 * core loop, one client struct per connection, requests answered in order.
 * What a verb does lives in admin_verbs.c, the byte format in admin_codec.c.
 */
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Responses leave in chunks of about this size, so a whole-tree get starts
 * flowing before it is complete. */
#define FLUSH_AT (64u * 1024)
/* A client that sends requests faster than it reads answers is paused above
 * HIGH bytes queued and resumed below LOW: memory stays bounded per client. */
#define QUEUE_HIGH (4u * 1024 * 1024)
#define QUEUE_LOW (1u * 1024 * 1024)
#define READ_CHUNK (64u * 1024)

typedef struct client {
	uv_pipe_t pipe;
	uv_shutdown_t shutdown_req;
	core_admin *srv;
	struct client *prev, *next;
	core_linebuf in;
	core_buf out;  /* response bytes not yet handed to uv_write */
	bool paused;   /* reading stopped for back-pressure */
	bool closing;
	bool draining; /* no more requests: finish writing, then close */
	bool eof;      /* the client half-closed: answer what it sent, then close */
} client;

typedef struct write_req {
	uv_write_t req;
	char *data;
} write_req;

struct core_admin {
	core_loop *loop;
	uv_pipe_t listener;
	uv_timer_t drain_timer;
	uv_pipe_t reject;      /* takes a connection we have no memory to serve */
	bool rejecting;
	bool missed;           /* a connection arrived while rejecting */
	char *path;
	core_admin_env env;
	client *clients;
	size_t n_clients;
	uint64_t requests;
	uint64_t started_ms;
	unsigned open_handles; /* listener, timer and clients not yet closed */
	bool closing;
	bool timer_running;
	core_admin_closed_fn done;
	void *done_ctx;
	char readbuf[READ_CHUNK];
};

static void client_close(client *c);
static void client_drain(client *c);
static void process_lines(client *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_connection(uv_stream_t *server, int status);

/* ---------------------------------------------------------------------------
 * Probing and binding
 * ------------------------------------------------------------------------- */

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* libuv before 1.46 truncates silently: a cut path would be someone else's. */
	if (strlen(path) >= sizeof sa->sun_path)
		return CORE_ERR_TOO_LONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return CORE_OK;
}

int core_admin_probe(const char *path, bool *answering)
{
	struct sockaddr_un sa;
	struct stat st;

	*answering = false;
	int rc = fill_addr(path, &sa);
	if (rc)
		return rc;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? CORE_OK : CORE_ERR_SYS;
	if (!S_ISSOCK(st.st_mode))
		return CORE_ERR_EXISTS;
	/* Non-blocking: a listener with a full backlog is busy, not stale, and
	 * must not hang us. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CORE_ERR_SYS;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN ||
	    errno == EINPROGRESS)
		*answering = true;
	else if (errno != ECONNREFUSED && errno != ENOENT)
		rc = CORE_ERR_SYS;
	close(fd);
	return rc;
}

static int clear_stale(const char *path, char *msg, size_t msgsz)
{
	bool answering;
	int rc = core_admin_probe(path, &answering);

	if (rc == CORE_ERR_TOO_LONG)
		snprintf(msg, msgsz, "admin socket path too long (at most %zu bytes): %s",
			 sizeof((struct sockaddr_un *)0)->sun_path - 1, path);
	else if (rc == CORE_ERR_EXISTS)
		snprintf(msg, msgsz, "%s exists and is not a socket; not replacing it", path);
	else if (rc)
		snprintf(msg, msgsz, "cannot check %s: %s", path, strerror(errno));
	else if (answering) {
		snprintf(msg, msgsz, "another agent answers on %s; not starting a second one", path);
		rc = CORE_ERR_BUSY;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(msg, msgsz, "cannot remove stale socket %s: %s", path, strerror(errno));
		rc = CORE_ERR_SYS;
	}
	return rc;
}

/* 0600 from the first instant: umask covers the window before chmod. */
static int bind_private(uv_pipe_t *p, const char *path, char *msg, size_t msgsz)
{
	mode_t old = umask(0177);
	int uerr = uv_pipe_bind(p, path);

	umask(old);
	if (!uerr && chmod(path, 0600) < 0) {
		uerr = uv_translate_sys_error(errno);
		unlink(path);
	}
	if (uerr) {
		snprintf(msg, msgsz, "cannot bind admin socket %s: %s", path, uv_strerror(uerr));
		return CORE_ERR_UV;
	}
	return CORE_OK;
}

/* ---------------------------------------------------------------------------
 * Writing responses
 * ------------------------------------------------------------------------- */

static size_t queued(client *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
}

static void resume(client *c)
{
	c->paused = false;
	process_lines(c);
	if (c->paused || c->closing || c->draining)
		return;
	if (c->eof)
		client_drain(c);
	else
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_write(uv_write_t *req, int status)
{
	write_req *w = (write_req *)req;
	client *c = req->handle->data;

	free(w->data);
	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		/* The client left mid-response; SIGPIPE is ignored so this is just an error. */
		CORE_LOG_D("admin", "client write failed: %s", uv_strerror(status));
		client_close(c);
		return;
	}
	if (c->paused && queued(c) < QUEUE_LOW)
		resume(c);
}

static int flush(client *c)
{
	if (c->closing || !c->out.len)
		return c->closing ? -1 : 0;
	write_req *w = malloc(sizeof *w);
	if (!w) {
		client_close(c);
		return -1;
	}
	w->data = c->out.data;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)c->out.len);
	c->out.data = NULL;
	c->out.len = c->out.cap = 0;
	int uerr = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (uerr) {
		free(w->data);
		free(w);
		client_close(c);
		return -1;
	}
	return 0;
}

/* The verbs' data-line sink. */
static int client_line(void *ctx, const char *const *fields, size_t n)
{
	client *c = ctx;

	if (c->closing || core_admin_put_line(&c->out, fields, n))
		return -1;
	return c->out.len >= FLUSH_AT ? flush(c) : 0;
}

/* ---------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------- */

static void answer(client *c, int code, const char *msg)
{
	if (core_admin_put_final(&c->out, code, msg))
		client_close(c);
	else
		flush(c);
}

static void handle_request(client *c, const char *line, size_t len)
{
	core_admin_fields f;
	dm_errinfo err;
	int rc = core_admin_split(line, len, &f);

	c->srv->requests++;
	if (rc) {
		answer(c, rc == CORE_ERR_NOMEM ? DM_ERR_NOMEM : DM_ERR_SYNTAX,
		       rc == CORE_ERR_NOMEM ? dm_strerror(DM_ERR_NOMEM)
					    : "bad escape in request (only \\\\ \\t \\n exist)");
		return;
	}
	CORE_LOG_D("admin", "request %s (%zu field(s))", f.v[0], f.n);
	rc = core_admin_run(&c->srv->env, (const char *const *)f.v, f.n, client_line, c, &err);
	core_admin_fields_free(&f);
	if (!c->closing)
		answer(c, rc, err.msg);
}

static void process_lines(client *c)
{
	const char *line;
	size_t len;

	while (!c->paused && !c->closing) {
		int rc = core_linebuf_next(&c->in, &line, &len);
		if (rc == CORE_ERR_AGAIN)
			return;
		if (rc == CORE_ERR_TOO_LONG) {
			char msg[80];
			snprintf(msg, sizeof msg, "request line longer than %u bytes", CORE_ADMIN_LINE_MAX);
			answer(c, DM_ERR_SYNTAX, msg);
		} else {
			handle_request(c, line, len);
		}
		if (!c->closing && queued(c) > QUEUE_HIGH) {
			c->paused = true;
			uv_read_stop((uv_stream_t *)&c->pipe);
		}
	}
}

/* ---------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h);

static void maybe_finish(core_admin *a)
{
	if (!a->closing)
		return;
	if (!a->n_clients && a->timer_running) {
		a->timer_running = false;
		uv_close((uv_handle_t *)&a->drain_timer, on_handle_closed);
	}
	if (a->open_handles)
		return;
	core_admin_closed_fn done = a->done;
	void *ctx = a->done_ctx;
	free(a->path);
	free(a);
	if (done)
		done(ctx);
}

static void on_client_closed(uv_handle_t *h)
{
	client *c = h->data;
	core_admin *a = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		a->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	a->n_clients--;
	a->open_handles--;
	core_linebuf_free(&c->in);
	core_buf_free(&c->out);
	free(c);
	maybe_finish(a);
}

static void client_close(client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	client_close(req->data);
}

/* Answer what is queued, then close: for EOF from the client and for a
 * draining server. */
static void client_drain(client *c)
{
	if (c->closing || c->draining)
		return;
	c->draining = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	flush(c);
	if (c->closing)
		return;
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->pipe, on_shutdown))
		client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	client *c = h->data;

	/* One buffer per server is enough: each chunk is consumed before the next read. */
	*buf = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	client *c = s->data;

	if (nread == UV_EOF) {
		c->eof = true;
		uv_read_stop(s);
		/* A last request without its newline still deserves an answer. */
		if (c->in.len > c->in.start && !c->in.skipping)
			core_linebuf_feed(&c->in, "\n", 1);
		process_lines(c);
		if (!c->paused)
			client_drain(c);
		return;
	}
	if (nread < 0) {
		CORE_LOG_D("admin", "client read failed: %s", uv_strerror((int)nread));
		client_close(c);
		return;
	}
	if (core_linebuf_feed(&c->in, buf->base, (size_t)nread)) {
		answer(c, DM_ERR_NOMEM, dm_strerror(DM_ERR_NOMEM));
		client_drain(c);
		return;
	}
	process_lines(c);
}

static void free_unaccepted(uv_handle_t *h)
{
	free(h->data);
}

static void on_rejected(uv_handle_t *h)
{
	core_admin *a = h->data;

	a->rejecting = false;
	a->open_handles--;
	if (a->missed && !a->closing) {
		a->missed = false;
		on_connection((uv_stream_t *)&a->listener, 0);
	}
	maybe_finish(a);
}

/* libuv stops listening until the pending connection is accepted, so one
 * we cannot serve is still accepted, then closed at once. */
static void reject_connection(core_admin *a, uv_stream_t *server)
{
	if (a->rejecting) {
		a->missed = true; /* taken when the current rejection is done */
		return;
	}
	uv_pipe_init(core_loop_uv(a->loop), &a->reject, 0);
	a->reject.data = a;
	a->rejecting = true;
	a->open_handles++;
	uv_accept(server, (uv_stream_t *)&a->reject);
	uv_close((uv_handle_t *)&a->reject, on_rejected);
}

static void on_connection(uv_stream_t *server, int status)
{
	core_admin *a = server->data;
	client *c;

	if (status < 0 || a->closing) {
		CORE_LOG_W("admin", "accept failed: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		CORE_LOG_W("admin", "out of memory: connection refused");
		reject_connection(a, server);
		return;
	}
	c->srv = a;
	core_linebuf_init(&c->in, CORE_ADMIN_LINE_MAX);
	uv_pipe_init(core_loop_uv(a->loop), &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe)) {
		uv_close((uv_handle_t *)&c->pipe, free_unaccepted);
		return;
	}
	c->next = a->clients;
	if (a->clients)
		a->clients->prev = c;
	a->clients = c;
	a->n_clients++;
	a->open_handles++;
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ---------------------------------------------------------------------------
 * Server life
 * ------------------------------------------------------------------------- */

static int server_stats(void *ctx, core_admin_line_fn line, void *line_ctx)
{
	core_admin *a = ctx;
	char v[3][24];
	const char *names[3] = { "clients", "requests", "uptime_ms" };

	snprintf(v[0], sizeof v[0], "%zu", a->n_clients);
	snprintf(v[1], sizeof v[1], "%" PRIu64, a->requests);
	snprintf(v[2], sizeof v[2], "%" PRIu64, uv_now(core_loop_uv(a->loop)) - a->started_ms);
	for (int i = 0; i < 3; i++)
		if (line(line_ctx, (const char *const[]){ "K", names[i], v[i] }, 3))
			return -1;
	return 0;
}

int core_admin_start(core_loop *l, const char *path, const core_admin_env *env, core_admin **out,
		     char *msg, size_t msgsz)
{
	core_admin *a;
	int rc = clear_stale(path, msg, msgsz);

	if (rc)
		return rc;
	a = calloc(1, sizeof *a);
	if (!a || !(a->path = strdup(path))) {
		free(a);
		snprintf(msg, msgsz, "%s", core_strerror(CORE_ERR_NOMEM));
		return CORE_ERR_NOMEM;
	}
	a->loop = l;
	a->env = *env;
	a->env.stats = server_stats;
	a->env.stats_ctx = a;
	a->started_ms = uv_now(core_loop_uv(l));
	uv_pipe_init(core_loop_uv(l), &a->listener, 0);
	a->listener.data = a;
	a->open_handles = 1;
	rc = bind_private(&a->listener, path, msg, msgsz);
	if (!rc) {
		int uerr = uv_listen((uv_stream_t *)&a->listener, 128, on_connection);
		if (uerr) {
			snprintf(msg, msgsz, "cannot listen on %s: %s", path, uv_strerror(uerr));
			unlink(path);
			rc = CORE_ERR_UV;
		}
	}
	if (rc) {
		core_admin_close(a, 0, NULL, NULL);
		return rc;
	}
	*out = a;
	return CORE_OK;
}

/* The listener and the drain timer. */
static void on_handle_closed(uv_handle_t *h)
{
	core_admin *a = h->data;

	a->open_handles--;
	maybe_finish(a);
}

static void on_drain_deadline(uv_timer_t *t)
{
	core_admin *a = t->data;

	for (client *c = a->clients; c; c = c->next)
		client_close(c);
}

void core_admin_close(core_admin *a, unsigned drain_ms, core_admin_closed_fn done, void *ctx)
{
	if (!a || a->closing)
		return;
	a->closing = true;
	a->done = done;
	a->done_ctx = ctx;
	/* Unlink first: a new agent may bind the path while we finish. */
	if (a->open_handles && uv_is_active((uv_handle_t *)&a->listener))
		unlink(a->path);
	uv_close((uv_handle_t *)&a->listener, on_handle_closed);
	if (drain_ms && a->clients) {
		uv_timer_init(core_loop_uv(a->loop), &a->drain_timer);
		a->drain_timer.data = a;
		uv_timer_start(&a->drain_timer, on_drain_deadline, drain_ms, 0);
		a->timer_running = true;
		a->open_handles++;
	}
	for (client *c = a->clients, *next; c; c = next) {
		next = c->next;
		if (drain_ms)
			client_drain(c);
		else
			client_close(c);
	}
}
