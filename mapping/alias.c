/*
 * alias.c - the rewrite rule for writeOnceReadOnly keys (alias.h): one
 * table of the parameters whose access differs between the TR-181
 * variants, the "freeze aliases" policy in agent state, and its admin
 * verb. Uniqueness is the engine's (unique keys at commit), not here.
 */
#include "alias.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a second write by the ACS may do. */
typedef enum acs_rule {
	ACS_NEVER,      /* readOnly in the CWMP variant (Origin): engine rule */
	ACS_ALWAYS,     /* readWrite in the CWMP variant */
	ACS_UNFROZEN,   /* readWrite, unless the freeze policy holds */
} acs_rule;

/* What a second write by a Controller may do. */
typedef enum usp_rule {
	USP_NEVER,          /* set once, then read-only (TR-369 R-KEY.1) */
	USP_AGENT_ASSIGNED, /* once more while the value is still the agent's */
} usp_rule;

typedef struct rewrite_row {
	const char *under; /* path prefix the parameter sits under */
	const char *name;  /* the parameter's own name */
	acs_rule acs;
	usp_rule usp;
} rewrite_row;

/* From comparing tr-181-2-19-1-usp-full.xml with -cwmp-full.xml: every
 * writeOnceReadOnly parameter of the USP variant is readWrite (Alias,
 * Babel secrets) or readOnly (Origin, not listed: the engine refuses it)
 * in the CWMP variant. */
static const rewrite_row rows[] = {
	{"Device.", "Alias", ACS_UNFROZEN, USP_AGENT_ASSIGNED},
	{"Device.Routing.Babel.MACKeySet.", "KeyValue", ACS_ALWAYS, USP_NEVER},
	{"Device.Routing.Babel.DTLSCertSet.", "CertValue", ACS_ALWAYS, USP_NEVER},
	{"Device.Routing.Babel.DTLSCertSet.", "CertPrivateKey", ACS_ALWAYS, USP_NEVER},
};

/* TR-181 _AliasUSP/_AliasCWMP: a value the manager did not choose starts
 * with "cpe-". */
#define AGENT_PREFIX "cpe-"

struct map_alias {
	dm *d;
	const map_migration *mig;
	bool freeze;
	core_admin_ext verbs[1];
};

/* Agent state written on behalf of the admin socket. */
static const dm_origin alias_origin = {DM_ORIGIN_ADMIN, "alias-policy"};

static const rewrite_row *row_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *name = dot ? dot + 1 : path;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (!strcmp(name, rows[i].name) && !strncmp(path, rows[i].under, strlen(rows[i].under)))
			return &rows[i];
	return NULL;
}

bool map_alias_acs_writable(const char *path)
{
	const rewrite_row *r = row_of(path);

	return r && r->acs != ACS_NEVER;
}

static bool usp_active(const map_alias *a)
{
	map_stack_status st = {.active = true};

	if (a->mig)
		map_migration_stack(a->mig, MAP_STACK_USP, &st);
	return st.active;
}

bool map_alias_may_rewrite(const map_alias *a, const dm_origin *origin, const char *path, const char *current)
{
	const rewrite_row *r = row_of(path);

	if (!r || !origin)
		return false;
	switch (origin->kind) {
	case DM_ORIGIN_CWMP:
		return r->acs == ACS_ALWAYS || (r->acs == ACS_UNFROZEN && !(a->freeze && usp_active(a)));
	case DM_ORIGIN_USP:
		return r->usp == USP_AGENT_ASSIGNED &&
		       (!current[0] || !strncmp(current, AGENT_PREFIX, strlen(AGENT_PREFIX)));
	default:
		/* the agent writes anything; the admin socket keeps the
		 * engine's rule */
		return false;
	}
}

static bool rewrite_hook(void *ctx, const dm_origin *origin, const char *path, const char *current)
{
	return map_alias_may_rewrite(ctx, origin, path, current);
}

/* ---- the freeze policy --------------------------------------------------------------- */

static void load_freeze(map_alias *a)
{
	dm_txn *t;
	char *v = NULL;

	if (dm_txn_begin(a->d, DM_TXN_READ, NULL, &t))
		return;
	if (!dm_state_get(t, MAP_ALIAS_NS, "freeze", &v, NULL, NULL))
		a->freeze = !strcmp(v, "on");
	free(v);
	dm_txn_abort(t);
}

int map_alias_set_freeze(map_alias *a, bool on, dm_errinfo *err)
{
	dm_txn *t;
	const char *v = on ? "on" : "off";
	int rc = dm_txn_begin(a->d, DM_TXN_WRITE, &alias_origin, &t);

	if (rc)
		return rc;
	if ((rc = dm_state_put(t, MAP_ALIAS_NS, "freeze", v, strlen(v), err))) {
		dm_txn_abort(t);
		return rc;
	}
	if (!(rc = dm_txn_commit(t, NULL, err)))
		a->freeze = on;
	return rc;
}

bool map_alias_frozen(const map_alias *a)
{
	return a && a->freeze;
}

/* ---- admin verb ------------------------------------------------------------------------ */

static int verb_aliases(void *ctx, const char *const *args, size_t nargs, core_admin_line_fn line,
			void *line_ctx, dm_errinfo *err)
{
	map_alias *a = ctx;

	if (nargs == 1 && (!strcmp(args[0], "freeze") || !strcmp(args[0], "thaw")))
		return map_alias_set_freeze(a, !strcmp(args[0], "freeze"), err);
	if (nargs) {
		memset(err, 0, sizeof *err);
		err->code = DM_ERR_SYNTAX;
		snprintf(err->msg, sizeof err->msg, "usage: aliases [freeze|thaw]");
		return DM_ERR_SYNTAX;
	}
	const char *fields[] = {"V", a->freeze ? "frozen" : "open"};
	return line(line_ctx, fields, 2) ? DM_ERR_NOMEM : DM_OK;
}

const core_admin_ext *map_alias_admin_verbs(map_alias *a, size_t *n)
{
	a->verbs[0] = (core_admin_ext){"aliases", verb_aliases, a};
	*n = 1;
	return a->verbs;
}

/* ---- life cycle ------------------------------------------------------------------------- */

int map_alias_start(dm *d, const map_migration *mig, map_alias **out)
{
	map_alias *a = calloc(1, sizeof *a);

	if (!a)
		return DM_ERR_NOMEM;
	a->d = d;
	a->mig = mig;
	load_freeze(a);
	int rc = dm_rewrite_set(d, rewrite_hook, a);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	return DM_OK;
}

void map_alias_stop(map_alias *a)
{
	if (!a)
		return;
	dm_rewrite_set(a->d, NULL, NULL);
	free(a);
}
