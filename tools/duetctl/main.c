/*
 * main.c - duetctl: inspect and change a running duet agent through its
 * admin socket, or a stopped agent's store directly. This file parses the
 * command line and picks the transport; the verbs themselves are core's
 * (core/admin_verbs.c), so both transports behave the same.
 *
 * Exit codes: 0 success, 1 the request failed, 2 usage error.
 */
#include "duetctl.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: duetctl [--admin PATH | --state DIR [--schema FILE] [--defaults FILE]] [--json]\n"
		"               VERB [ARGS...]\n"
		"verbs:\n"
		"  get EXPR...                     values under each path or expression\n"
		"  set PATH VALUE [PATH VALUE...]  one atomic change\n"
		"  add TABLE [ALIAS]               create an instance\n"
		"  delete OBJ                      delete an instance\n"
		"  operate CMD [name=value...]     run a command\n"
		"  instances TABLE                 list a table's instances\n"
		"  schema [PATH]                   dump the supported data model\n"
		"  schema-stats FILE               count a schema file's nodes\n"
		"  stats                           counters of the agent\n"
		"  audit [N]                       the newest N recorded changes, with who made them\n"
		"  owner [PREFIX cwmp|usp|shared]  list or set which manager may write a subtree\n"
		"  stacks                          which management stacks are active, since when\n"
		"  aliases [freeze|thaw]           whether the ACS may rename an Alias while USP is active\n"
		"  ping                            is the agent answering?\n"
		"Without --admin, duetctl talks to the agent on STATE/%s (STATE from\n"
		"--state, DUET_STATE or %s); with --state and no agent answering it\n"
		"works on the store directly.\n",
		CORE_ADMIN_SOCKET_NAME, CORE_DEFAULT_STATE);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "duetctl: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	return 2;
}

/* Options come before the verb; everything after it is the verb's, so that
 * values may start with "--". Returns -1 to go on, else the exit code. */
static int parse_args(ctl_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
		{ "--admin", offsetof(ctl_opts, admin) },
		{ "--state", offsetof(ctl_opts, state) },
		{ "--schema", offsetof(ctl_opts, schema) },
		{ "--defaults", offsetof(ctl_opts, defaults) },
	};
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		size_t k = 0, nv = sizeof valued / sizeof valued[0];
		size_t len = strcspn(a, "=");
		while (k < nv && (strlen(valued[k].name) != len || strncmp(valued[k].name, a, len)))
			k++;
		if (k == nv)
			return usage_error("unknown option '%s'", a);
		const char *val = a[len] == '=' ? a + len + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!val || !*val)
			return usage_error("option '%s' needs a value", valued[k].name);
		*(const char **)((char *)o + valued[k].off) = val;
	}
	if (i >= argc)
		return usage_error("no verb given%s", "");
	o->verb = argv[i];
	o->args = argv + i + 1;
	o->nargs = (size_t)(argc - i - 1);
	if (strcmp(o->verb, "schema-stats") && !core_admin_verb_known(o->verb))
		return usage_error("unknown verb '%s'", o->verb);
	if (!strcmp(o->verb, "schema-stats") && o->nargs != 1)
		return usage_error("usage: duetctl schema-stats FILE%s", "");
	return -1;
}

static char *socket_path(const ctl_opts *o)
{
	const char *env = getenv("DUET_ADMIN");
	const char *state = o->state ? o->state : CORE_DEFAULT_STATE;
	size_t sz;
	char *p;

	if (o->admin)
		return strdup(o->admin);
	if (env && *env)
		return strdup(env);
	sz = strlen(state) + sizeof CORE_ADMIN_SOCKET_NAME + 1;
	p = malloc(sz);
	if (p)
		snprintf(p, sz, "%s/%s", state, CORE_ADMIN_SOCKET_NAME);
	return p;
}

/* The agent if it answers; the store itself only when the user named one. */
static void run(const ctl_opts *o, ctl_reply *r)
{
	char *path;
	bool answering = false;

	if (!strcmp(o->verb, "schema-stats")) {
		ctl_schema_stats(o, r);
		return;
	}
	path = socket_path(o);
	if (!path) {
		ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
		return;
	}
	int rc = core_admin_probe(path, &answering);
	if (answering)
		ctl_remote(path, o, r);
	else if (o->state && !o->admin)
		ctl_offline(o, path, r);
	else if (rc == CORE_ERR_EXISTS)
		ctl_reply_fail(r, DM_ERR_INTERNAL, "%s is not a socket", path);
	else if (o->admin)
		ctl_reply_fail(r, DM_ERR_INTERNAL, "no agent answers on %s", path);
	else
		ctl_reply_fail(r, DM_ERR_INTERNAL,
			       "no agent answers on %s (give --state DIR to work on a stopped agent's store)",
			       path);
	free(path);
}

int main(int argc, char **argv)
{
	ctl_opts o = { 0 };
	ctl_reply r = { 0 };
	int code = parse_args(&o, argc, argv);

	if (code >= 0)
		return code;
	if (!o.state) {
		const char *env = getenv("DUET_STATE");
		o.state = env && *env ? env : NULL;
	}
	signal(SIGPIPE, SIG_IGN); /* an agent that goes away is an error, not a kill */
	core_log_set_ident("duetctl");
	core_log_set_level(CORE_LOG_WARN);
	run(&o, &r);
	code = ctl_print(&o, &r);
	ctl_reply_free(&r);
	return code;
}
