/*
 * client.c - duetctl's side of the admin line protocol (core/admin.h):
 * one request per connection, blocking I/O, the reply collected whole.
 * Also the ctl_reply bookkeeping both transports share.
 */
#include "duetctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* A sync command runs inside the agent's loop and should be quick; an agent
 * that says nothing for this long is stuck, and duetctl must not hang. */
#define REPLY_TIMEOUT_S 60
/* Replies carry values, not requests: allow far more than a request line. */
#define REPLY_LINE_MAX (256u * 1024 * 1024)

/* ---------------------------------------------------------------------------
 * ctl_reply
 * ------------------------------------------------------------------------- */

static int reply_reserve(ctl_reply *r)
{
	if (r->n < r->cap)
		return 0;
	size_t cap = r->cap ? r->cap * 2 : 64;
	core_admin_fields *l = realloc(r->lines, cap * sizeof *l);
	if (!l)
		return -1;
	r->lines = l;
	r->cap = cap;
	return 0;
}

int ctl_reply_add(ctl_reply *r, const char *const *fields, size_t n)
{
	core_buf b = { 0 };

	if (reply_reserve(r))
		return -1;
	/* Encode then split: one representation whichever transport made it. */
	int rc = core_admin_put_line(&b, fields, n);
	if (!rc)
		rc = core_admin_split(b.data, b.len - 1, &r->lines[r->n]);
	core_buf_free(&b);
	if (rc)
		return -1;
	r->n++;
	return 0;
}

void ctl_reply_fail(ctl_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
}

void ctl_reply_free(ctl_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		core_admin_fields_free(&r->lines[i]);
	free(r->lines);
	memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------
 * Transport
 * ------------------------------------------------------------------------- */

static int connect_to(const char *path, ctl_reply *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };

	if (strlen(path) >= sizeof sa.sun_path) {
		ctl_reply_fail(r, DM_ERR_INTERNAL, "socket path too long: %s", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		ctl_reply_fail(r, DM_ERR_INTERNAL, "cannot connect to %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static int send_request(int fd, const ctl_opts *o, ctl_reply *r)
{
	core_buf b = { 0 };
	size_t n = o->nargs + 1;
	const char **f = calloc(n, sizeof *f);
	int rc = -1;

	if (!f) {
		ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
		return -1;
	}
	f[0] = o->verb;
	for (size_t i = 0; i < o->nargs; i++)
		f[i + 1] = o->args[i];
	if (core_admin_put_line(&b, f, n)) {
		ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
		goto out;
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t w = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ctl_reply_fail(r, DM_ERR_INTERNAL, "cannot send the request: %s", strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR); /* one request: the agent may close when done */
	rc = 0;
out:
	core_buf_free(&b);
	free(f);
	return rc;
}

/* 1 when the line was the final one, 0 for a data line, -1 on error. */
static int take_line(ctl_reply *r, const char *line, size_t len)
{
	core_admin_fields f;

	if (core_admin_split(line, len, &f)) {
		ctl_reply_fail(r, DM_ERR_INTERNAL, "malformed reply line from the agent");
		return -1;
	}
	int rc = 0;
	if (f.n == 1 && !strcmp(f.v[0], "ok")) {
		r->code = DM_OK;
		rc = 1;
	} else if (f.n >= 3 && !strcmp(f.v[0], "err")) {
		int code = atoi(f.v[1]);
		ctl_reply_fail(r, code ? code : DM_ERR_INTERNAL, "%s", f.v[2]);
		rc = 1;
	} else if (reply_reserve(r)) {
		ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
		rc = -1;
	} else {
		r->lines[r->n++] = f; /* the reply owns the split line now */
		return 0;
	}
	core_admin_fields_free(&f);
	return rc;
}

static int read_reply(int fd, ctl_reply *r)
{
	core_linebuf lb;
	char chunk[65536];
	int rc = -1;

	core_linebuf_init(&lb, REPLY_LINE_MAX);
	for (;;) {
		const char *line;
		size_t len;
		int lrc;
		while ((lrc = core_linebuf_next(&lb, &line, &len)) == CORE_OK) {
			rc = take_line(r, line, len);
			if (rc)
				goto out;
		}
		if (lrc == CORE_ERR_TOO_LONG) {
			ctl_reply_fail(r, DM_ERR_INTERNAL, "reply line from the agent is too long");
			goto out;
		}
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ctl_reply_fail(r, DM_ERR_INTERNAL, "%s",
				       n == 0 ? "the agent closed the connection before answering"
				       : errno == EAGAIN ? "no answer from the agent in time"
							 : strerror(errno));
			goto out;
		}
		if (core_linebuf_feed(&lb, chunk, (size_t)n)) {
			ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
			goto out;
		}
	}
out:
	core_linebuf_free(&lb);
	return rc < 0 ? -1 : 0;
}

int ctl_remote(const char *path, const ctl_opts *o, ctl_reply *r)
{
	int fd = connect_to(path, r);

	if (fd < 0)
		return -1;
	int rc = send_request(fd, o, r);
	if (!rc)
		rc = read_reply(fd, r);
	close(fd);
	return rc;
}
