/*
 * admin.h - the admin socket: a local UNIX stream socket through which
 * duetctl (or anything local with permission to the 0600 socket) inspects
 * and changes a running agent. This header defines the line protocol, its
 * codec, the verbs (shared by the socket server and duetctl's offline mode)
 * and the server.
 *
 * Line protocol
 * -------------
 * A connection carries any number of request/response exchanges in order.
 *
 *   request:  one line: fields separated by TAB, the first field the verb.
 *   response: zero or more data lines, then exactly one final line:
 *               ok
 *               err<TAB>CODE<TAB>MESSAGE
 *             CODE is the engine's dm_err number in decimal ("-6"), MESSAGE
 *             the engine's explanation (dm_errinfo.msg).
 *
 * Lines end with "\n". In every field a backslash, a TAB and a newline are
 * written "\\", "\t", "\n"; no other escape exists and any other byte is
 * literal (so values may carry any byte but NUL). A request line longer than
 * CORE_ADMIN_LINE_MAX bytes is answered with err -2 and skipped.
 *
 * Verbs (data lines in brackets):
 *   ping                              -> ok
 *   get EXPR...                       [P path value]   USP grammar, subtrees
 *   set PATH VALUE [PATH VALUE...]    [T txn_id]       one atomic transaction;
 *                                     on failure nothing applies and the err
 *                                     MESSAGE reads "PATH: reason"
 *   add TABLE [ALIAS]                 [I Device.X.{n}.]
 *   delete OBJ                        -> ok
 *   operate CMD [name=value...]       sync:  [O name value] per output
 *                                     async: [R req_id], completion is logged
 *   instances TABLE                   [I path] per instance
 *   schema [PATH]                     [S path kind type access] per node under
 *                                     PATH (default "Device."): kind is object,
 *                                     parameter, command or event; type is the
 *                                     parameter's base type, "table"/"single"
 *                                     for objects, "sync"/"async" for
 *                                     commands, "-" for events; access is
 *                                     readOnly, readWrite, writeOnceReadOnly
 *                                     or "-"
 *   stats                             [K name value] (objects, parameters,
 *                                     commands, events, model, and server
 *                                     counters when served by the agent)
 *   audit [N]                         [A seq time txn origin who op path old
 *                                     new secret] the newest N (default all)
 *                                     committed changes, newest first: time
 *                                     UTC "YYYY-MM-DDThh:mm:ss.mmmZ", origin
 *                                     internal|cwmp|usp|admin, op
 *                                     set|add|delete, old/new "" for add and
 *                                     delete, secret "1" when a hidden
 *                                     parameter's values were withheld
 *   owner [PREFIX cwmp|usp|shared]    [W prefix owner] per ownership rule;
 *                                     with arguments sets one ("shared"
 *                                     removes it) and answers ok
 *   stacks                            [X stack active|inactive since] for
 *                                     "cwmp" and "usp", since as for audit
 *                                     ("" when never recorded)
 * owner and stacks are served by the agent's mapping layer (see
 * core_admin_ext); without it (duetctl on a stopped store) they give err -29.
 * Unknown verbs give err -29; a wrong argument count gives err -2.
 */
#ifndef DUET_CORE_ADMIN_H
#define DUET_CORE_ADMIN_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest request line the server accepts (without its newline). */
#define CORE_ADMIN_LINE_MAX (1u << 20)

/* ---------------------------------------------------------------------------
 * Codec
 * ------------------------------------------------------------------------- */

/* A growable byte buffer; always NUL-terminated when data is non-NULL. */
typedef struct core_buf {
	char *data;
	size_t len, cap;
} core_buf;

int core_buf_append(core_buf *b, const void *p, size_t n);
int core_buf_append_str(core_buf *b, const char *s);
void core_buf_reset(core_buf *b); /* keep the memory, drop the contents */
void core_buf_free(core_buf *b);

/* Append one field, escaped. */
int core_admin_escape(core_buf *out, const char *s, size_t len);
/* Unescape in place (the result is never longer). CORE_ERR_PROTOCOL for a
 * backslash followed by anything but '\\', 't', 'n' or nothing. *len gets
 * the unescaped length; the result is NUL-terminated. */
int core_admin_unescape(char *s, size_t *len);

/* Append a whole line: fields escaped, TAB-joined, "\n" at the end. */
int core_admin_put_line(core_buf *out, const char *const *fields, size_t n);
/* Append the final line for code (DM_OK -> "ok", else "err\tCODE\tmsg"). */
int core_admin_put_final(core_buf *out, int code, const char *msg);

/* Fields of one line (without its "\n"), split and unescaped. The strings
 * point into a private copy owned by the struct. */
typedef struct core_admin_fields {
	char **v;
	size_t n;
	char *store;
} core_admin_fields;

int core_admin_split(const char *line, size_t len, core_admin_fields *out);
void core_admin_fields_free(core_admin_fields *f);

/* Collects bytes as they arrive and hands out complete lines. */
typedef struct core_linebuf {
	char *data;
	size_t len, cap;
	size_t start;   /* first byte not yet handed out */
	size_t max;     /* longest line accepted */
	bool skipping;  /* discarding the rest of an over-long line */
} core_linebuf;

void core_linebuf_init(core_linebuf *lb, size_t max);
void core_linebuf_free(core_linebuf *lb);
int core_linebuf_feed(core_linebuf *lb, const char *p, size_t n);
/*
 * Next complete line: CORE_OK with *line and *len (valid until the next feed or
 * next call; the "\n" is not included), CORE_ERR_AGAIN when none is complete,
 * CORE_ERR_TOO_LONG once per over-long line (its bytes up to and including
 * its newline are then discarded as they arrive).
 */
int core_linebuf_next(core_linebuf *lb, const char **line, size_t *len);

/* ---------------------------------------------------------------------------
 * Verbs
 * ------------------------------------------------------------------------- */

/* Receives each data line: fields[0] is the tag ("P", "T", ...). Non-zero
 * stops the verb (out of memory, peer gone). */
typedef int (*core_admin_line_fn)(void *ctx, const char *const *fields, size_t n);

/*
 * A verb whose work lives above core. core/ sits below mapping/ and is
 * linked into duetctl without it, so core cannot call mapping's functions;
 * instead core lists the verb's name and arguments (duetctl checks and
 * routes requests before any agent is reached) and the agent's composition
 * root hands the implementation in through this table. run gets the
 * arguments after the verb; it answers like a built-in verb (data lines
 * through line, DM_OK or a dm_err with err filled).
 */
typedef int (*core_admin_ext_fn)(void *ctx, const char *const *args, size_t nargs,
				 core_admin_line_fn line, void *line_ctx, dm_errinfo *err);
typedef struct core_admin_ext {
	const char *verb;
	core_admin_ext_fn run;
	void *ctx;
} core_admin_ext;

typedef struct core_admin_env {
	dm *engine;              /* NULL: only schema verbs work */
	const dm_schema *schema; /* may be NULL when engine is set */
	const char *who;         /* originator recorded with changes, e.g. "duetctl" */
	/* Names the data verbs (get, set, add, delete, instances) take
	 * besides the stored ones, e.g. both TR-181 variants'; NULL: stored
	 * names only. */
	const dm_view *view;
	/* Extra "K" lines for stats (server counters); may be NULL. */
	int (*stats)(void *ctx, core_admin_line_fn line, void *line_ctx);
	void *stats_ctx;
	/* Implementations of the verbs served above core (owner, stacks);
	 * may be NULL. The table must outlive the server. */
	const core_admin_ext *ext;
	size_t n_ext;
} core_admin_env;

/*
 * Run one request (argv[0] the verb). Data lines go to line(line_ctx, ...).
 * Returns DM_OK or a negative dm_err with err filled: the admin protocol
 * carries engine codes, so this function speaks dm_err, not core_err.
 */
int core_admin_run(const core_admin_env *env, const char *const *argv, size_t argc,
		   core_admin_line_fn line, void *line_ctx, dm_errinfo *err);

/* Is verb known, and does it need the store (not only the schema)? */
bool core_admin_verb_known(const char *verb);
bool core_admin_verb_needs_store(const char *verb);
/* Does the verb change the store (duetctl opens read-only otherwise)? */
bool core_admin_verb_writes(const char *verb);

/* A wall-clock time (ms since the epoch) as the audit and stacks lines
 * carry it: UTC "YYYY-MM-DDThh:mm:ss.mmmZ". */
void core_admin_format_ms(int64_t ms, char *out, size_t outsz);

/* Instance path to schema path: numbers become "{i}" ("Device.IP.
 * Interface.1.Name" -> "Device.IP.Interface.{i}.Name"). Malloc'd. */
int core_admin_schema_path(const char *path, char **out);

/* ---------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------- */

typedef struct core_admin core_admin;

/*
 * Probe a socket path: *answering is true when something accepts a
 * connection there. A missing path or a refused connection is "not
 * answering"; a path that exists and is not a socket gives CORE_ERR_EXISTS.
 */
int core_admin_probe(const char *path, bool *answering);

/*
 * Listen on path (mode 0600). A stale socket file is removed only when
 * nothing answers on it; CORE_ERR_BUSY when something does. env is copied
 * (its pointers must outlive the server). On error msg says why.
 */
int core_admin_start(core_loop *l, const char *path, const core_admin_env *env, core_admin **out,
		     char *msg, size_t msgsz);

typedef void (*core_admin_closed_fn)(void *ctx);

/*
 * Stop accepting and unlink the socket at once; then close the clients:
 * with drain_ms 0 immediately, otherwise after their queued responses are
 * written (at most drain_ms). done(ctx) runs once everything is closed and
 * the server freed; it may be NULL.
 */
void core_admin_close(core_admin *a, unsigned drain_ms, core_admin_closed_fn done, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DUET_CORE_ADMIN_H */
