/*
 * duetctl.h - pieces of duetctl shared between its files: the parsed
 * command line, a reply (data lines + final status) as both transports
 * produce it, and the functions that fill and print one. Internal to
 * tools/duetctl/.
 */
#ifndef DUETCTL_H
#define DUETCTL_H

#include "admin.h"
#include "core.h"
#include "dm.h"

typedef struct ctl_opts {
	const char *admin;    /* --admin */
	const char *state;    /* --state (or DUET_STATE) */
	const char *schema;   /* --schema */
	const char *defaults; /* --defaults */
	bool json;
	const char *verb;
	char **args;
	size_t nargs;
} ctl_opts;

/* Everything one request produced, whichever way it ran. */
typedef struct ctl_reply {
	core_admin_fields *lines; /* data lines: v[0] is the tag */
	size_t n, cap;
	int code;                 /* DM_OK or a dm_err */
	char msg[512];
} ctl_reply;

int ctl_reply_add(ctl_reply *r, const char *const *fields, size_t n);
/* A failure that is not the engine's (no agent, no socket): code
 * DM_ERR_INTERNAL unless the caller knows better. */
void ctl_reply_fail(ctl_reply *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_reply_free(ctl_reply *r);

/* Talk the line protocol on a socket. */
int ctl_remote(const char *path, const ctl_opts *o, ctl_reply *r);
/* Run the verb in this process on the store or schema files. */
int ctl_offline(const ctl_opts *o, const char *admin_path, ctl_reply *r);
/* schema-stats FILE */
int ctl_schema_stats(const ctl_opts *o, ctl_reply *r);

/* Print the reply (stdout, or the error on stderr); returns the exit code. */
int ctl_print(const ctl_opts *o, const ctl_reply *r);

#endif
