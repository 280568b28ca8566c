/*
 * offline.c - duetctl without an agent: load the schema (and open the store
 * when the verb needs one) in this process and run the same verb code the
 * agent's admin socket runs (core/admin_verbs.c), through the same union
 * view (mapping/views.h): both TR-181 variants' names of the bridge
 * subtrees work here as they do through the agent. Also schema-stats,
 * which never needs an agent or a store.
 */
#include "duetctl.h"
#include "views.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Flag, then environment, then built-in default: duetd's precedence. */
static const char *setting(const char *flag, const char *env_name, const char *def, bool *by_default)
{
	const char *env = getenv(env_name);

	*by_default = false;
	if (flag)
		return flag;
	if (env && *env)
		return env;
	*by_default = true;
	return def;
}

static int load_schema(const char *file, dm_schema **s, ctl_reply *r)
{
	dm_errinfo err = { 0 };
	int rc = dm_schema_load(file, s, &err);

	if (rc)
		ctl_reply_fail(r, rc, "%s", err.msg[0] ? err.msg : dm_strerror(rc));
	return rc;
}

static int collect(void *ctx, const char *const *fields, size_t n)
{
	return ctl_reply_add(ctx, fields, n);
}

static void run_verb(const core_admin_env *env, const ctl_opts *o, ctl_reply *r)
{
	size_t argc = o->nargs + 1;
	const char **argv = calloc(argc, sizeof *argv);
	dm_errinfo err;

	if (!argv) {
		ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
		return;
	}
	argv[0] = o->verb;
	for (size_t i = 0; i < o->nargs; i++)
		argv[i + 1] = o->args[i];
	int rc = core_admin_run(env, argv, argc, collect, r, &err);
	if (rc)
		ctl_reply_fail(r, rc, "%s", err.msg);
	free(argv);
}

static int open_store(const ctl_opts *o, dm_schema *s, const dm_view *view, const char *admin_path, dm **d,
		      ctl_reply *r)
{
	bool by_default;
	const char *defaults = setting(o->defaults, "DUET_DEFAULTS", CORE_DEFAULT_DEFAULTS, &by_default);
	dm_open_opts opts = {
		.state_dir = o->state,
		/* Same leniency as duetd: only a named defaults file must exist. */
		.defaults_file = by_default && access(defaults, F_OK) < 0 ? NULL : defaults,
		.read_only = !core_admin_verb_writes(o->verb),
		.defaults_view = view,
	};
	dm_errinfo err = { 0 };
	int rc = dm_open(s, &opts, d, &err);

	if (rc == DM_ERR_STORE_BUSY)
		ctl_reply_fail(r, rc,
			       "the store in %s is held by a running agent, but nothing answers on %s",
			       o->state, admin_path);
	else if (rc)
		ctl_reply_fail(r, rc, "%s: %s", o->state, err.msg[0] ? err.msg : dm_strerror(rc));
	else if (dm_providers_builtin(*d) != DM_OK)
		CORE_LOG_W("duetctl", "built-in providers unavailable: live values may be missing");
	return rc;
}

int ctl_offline(const ctl_opts *o, const char *admin_path, ctl_reply *r)
{
	bool by_default;
	const char *file = setting(o->schema, "DUET_SCHEMA", CORE_DEFAULT_SCHEMA, &by_default);
	core_admin_env env = { .who = "duetctl" };
	dm_schema *s = NULL;
	dm *d = NULL;

	if (!strcmp(o->verb, "ping")) {
		/* ping asks about the agent; the store cannot answer for it. */
		ctl_reply_fail(r, DM_ERR_INTERNAL, "no agent answers on %s", admin_path);
		return -1;
	}
	if (load_schema(file, &s, r))
		return -1;
	env.schema = s;
	map_views *views = NULL;
	if (map_views_new(s, NULL, &views))
		CORE_LOG_W("duetctl", "no views: the store's own names only");
	env.view = views ? map_views_union(views) : NULL;
	if (core_admin_verb_needs_store(o->verb)) {
		if (open_store(o, s, env.view, admin_path, &d, r)) {
			map_views_free(views);
			dm_schema_free(s);
			return -1;
		}
		env.engine = d;
	}
	run_verb(&env, o, r);
	if (d)
		dm_close(d);
	map_views_free(views); /* after the engine that used it */
	dm_schema_free(s);
	return r->code ? -1 : 0;
}

int ctl_schema_stats(const ctl_opts *o, ctl_reply *r)
{
	dm_schema *s = NULL;
	dm_schema_stats st;
	char v[4][24];
	const char *names[4] = { "objects", "parameters", "commands", "events" };

	if (load_schema(o->args[0], &s, r))
		return -1;
	dm_schema_get_stats(s, &st);
	unsigned n[4] = { st.objects, st.parameters, st.commands, st.events };
	for (int i = 0; i < 4; i++) {
		snprintf(v[i], sizeof v[i], "%u", n[i]);
		if (ctl_reply_add(r, (const char *const[]){ "K", names[i], v[i] }, 3)) {
			ctl_reply_fail(r, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
			break;
		}
	}
	dm_schema_free(s);
	return r->code ? -1 : 0;
}
