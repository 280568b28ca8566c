/*
 * ownership.c - the A/B trial ownership policy: rules "subtree -> owner"
 * loaded from and saved to agent state, the longest-prefix lookup, and the
 * engine write guard that refuses a manager's write into the other
 * manager's subtree. The codes a refusal becomes (9001 / 7006) are
 * mapping/faults.c's; the stacks' status lives in migration.c.
 */
#include "ownership.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER_NS "map.owner"
#define PREFIX_MAX 1024

typedef struct owner_rule {
	char *prefix;
	map_owner owner;
} owner_rule;

struct map_ownership {
	dm *d;
	owner_rule *rules; /* sorted by prefix (strcmp) */
	size_t n, cap;
};

static int fail(dm_errinfo *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(dm_errinfo *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	memset(err, 0, sizeof *err);
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

static const char *const owner_names[] = {
	[MAP_OWNER_SHARED] = "shared",
	[MAP_OWNER_CWMP] = "cwmp",
	[MAP_OWNER_USP] = "usp",
};

const char *map_owner_name(map_owner o)
{
	return (unsigned)o < sizeof owner_names / sizeof owner_names[0] ? owner_names[o] : "?";
}

int map_owner_parse(const char *s, map_owner *out)
{
	for (size_t i = 0; s && i < sizeof owner_names / sizeof owner_names[0]; i++)
		if (!strcmp(s, owner_names[i])) {
			*out = (map_owner)i;
			return DM_OK;
		}
	return DM_ERR_INVALID_VALUE;
}

/* ---- rules in memory ----------------------------------------------------- */

/* An object prefix ("...Interface.") covers its subtree; a parameter
 * prefix covers that parameter only ("HostName" is not "HostNames"). */
static bool covers(const char *prefix, size_t pl, const char *path)
{
	if (strncmp(path, prefix, pl))
		return false;
	return prefix[pl - 1] == '.' || path[pl] == '\0';
}

static size_t rule_index(const map_ownership *o, const char *prefix, bool *found)
{
	size_t lo = 0, hi = o->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->rules[mid].prefix, prefix);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int rule_put(map_ownership *o, const char *prefix, map_owner owner)
{
	bool found;
	size_t i = rule_index(o, prefix, &found);

	if (found) {
		o->rules[i].owner = owner;
		return DM_OK;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		owner_rule *r = realloc(o->rules, cap * sizeof *r);
		if (!r)
			return DM_ERR_NOMEM;
		o->rules = r;
		o->cap = cap;
	}
	char *copy = strdup(prefix);
	if (!copy)
		return DM_ERR_NOMEM;
	memmove(&o->rules[i + 1], &o->rules[i], (o->n - i) * sizeof *o->rules);
	o->rules[i] = (owner_rule){copy, owner};
	o->n++;
	return DM_OK;
}

static void rule_drop(map_ownership *o, const char *prefix)
{
	bool found;
	size_t i = rule_index(o, prefix, &found);

	if (!found)
		return;
	free(o->rules[i].prefix);
	memmove(&o->rules[i], &o->rules[i + 1], (o->n - i - 1) * sizeof *o->rules);
	o->n--;
}

map_owner map_ownership_of(const map_ownership *o, const char *path)
{
	size_t best = 0;
	map_owner owner = MAP_OWNER_SHARED;

	for (size_t i = 0; o && path && i < o->n; i++) {
		size_t pl = strlen(o->rules[i].prefix);
		if (pl > best && covers(o->rules[i].prefix, pl, path)) {
			best = pl;
			owner = o->rules[i].owner;
		}
	}
	return owner;
}

/* ---- the guard ------------------------------------------------------------ */

static bool refuses(map_owner owner, dm_origin_kind kind)
{
	return (owner == MAP_OWNER_CWMP && kind == DM_ORIGIN_USP) ||
	       (owner == MAP_OWNER_USP && kind == DM_ORIGIN_CWMP);
}

bool map_ownership_allows(const map_ownership *o, const dm_origin *origin, dm_change_kind op,
			  const char *path)
{
	if (!o || !origin || (origin->kind != DM_ORIGIN_CWMP && origin->kind != DM_ORIGIN_USP))
		return true;
	if (refuses(map_ownership_of(o, path), origin->kind))
		return false;
	if (op != DM_CHANGE_DELETE)
		return true;
	/* deleting an instance deletes every subtree under it, owned ones too */
	size_t len = strlen(path);
	for (size_t i = 0; i < o->n; i++)
		if (!strncmp(o->rules[i].prefix, path, len) && refuses(o->rules[i].owner, origin->kind))
			return false;
	return true;
}

static int guard(void *ctx, const dm_origin *origin, dm_change_kind op, const char *path)
{
	return map_ownership_allows(ctx, origin, op, path) ? 0 : 1;
}

/* Only a policy with rules costs the engine a call per write. */
static void sync_guard(map_ownership *o)
{
	dm_guard_set(o->d, o->n ? guard : NULL, o);
}

/* ---- persistence ----------------------------------------------------------- */

static int load_rule(void *ctx, const char *key, const void *value, size_t len)
{
	map_ownership *o = ctx;
	char v[16];
	map_owner owner;

	if (len >= sizeof v)
		return 0; /* not ours to read: skipped, left in place */
	memcpy(v, value, len);
	v[len] = '\0';
	if (map_owner_parse(v, &owner) || owner == MAP_OWNER_SHARED)
		return 0;
	return rule_put(o, key, owner) ? 1 : 0;
}

int map_ownership_start(dm *d, map_ownership **out, dm_errinfo *err)
{
	map_ownership *o = calloc(1, sizeof *o);
	dm_txn *t = NULL;

	if (!o)
		return fail(err, DM_ERR_NOMEM, "%s", dm_strerror(DM_ERR_NOMEM));
	o->d = d;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (!rc) {
		if (dm_state_each(t, OWNER_NS, load_rule, o))
			rc = DM_ERR_NOMEM;
		dm_txn_abort(t);
	}
	if (rc) {
		map_ownership_stop(o);
		return fail(err, rc, "ownership rules: %s", dm_strerror(rc));
	}
	sync_guard(o);
	*out = o;
	return DM_OK;
}

void map_ownership_stop(map_ownership *o)
{
	if (!o)
		return;
	if (o->d)
		dm_guard_set(o->d, NULL, NULL);
	for (size_t i = 0; i < o->n; i++)
		free(o->rules[i].prefix);
	free(o->rules);
	free(o);
}

/* The schema path of an instantiated prefix: instance numbers become "{i}"
 * ("Device.IP.Interface.2." -> "Device.IP.Interface.{i}."). */
static int schema_path(const char *p, char *out, size_t outsz)
{
	size_t o = 0;

	while (*p) {
		size_t len = strcspn(p, ".");
		bool number = len > 0 && strspn(p, "0123456789") == len;
		const char *seg = number ? "{i}" : p;
		size_t sl = number ? 3 : len;
		if (o + sl + 2 > outsz)
			return DM_ERR_SYNTAX;
		memcpy(out + o, seg, sl);
		o += sl;
		p += len;
		if (*p == '.') {
			out[o++] = '.';
			p++;
		}
	}
	out[o] = '\0';
	return DM_OK;
}

/* A prefix must name something the schema supports; a table path names its
 * instances' object ("Device.IP.Interface." is "Device.IP.Interface.{i}."). */
static int check_prefix(const map_ownership *o, const char *prefix, bool in_schema, dm_errinfo *err)
{
	char sp[PREFIX_MAX + 8];
	size_t len = strlen(prefix);

	if (!len || len >= PREFIX_MAX || strncmp(prefix, "Device.", 7) || strstr(prefix, "..") ||
	    strpbrk(prefix, " \t\n[]*{}+#"))
		return fail(err, DM_ERR_SYNTAX, "%s: not a subtree path", prefix);
	if (schema_path(prefix, sp, sizeof sp))
		return fail(err, DM_ERR_SYNTAX, "%s: not a subtree path", prefix);
	if (!in_schema)
		return DM_OK;
	const dm_schema *s = dm_get_schema(o->d);
	const dm_node *n = dm_schema_find(s, sp);
	if (!n && sp[strlen(sp) - 1] == '.') {
		strcat(sp, "{i}.");
		n = dm_schema_find(s, sp);
		if (n && !dm_node_is_table(n))
			n = NULL;
	}
	if (!n || (dm_node_get_kind(n) != DM_NODE_OBJECT && dm_node_get_kind(n) != DM_NODE_PARAM))
		return fail(err, DM_ERR_NOT_IN_SCHEMA, "%s: %s", prefix, dm_strerror(DM_ERR_NOT_IN_SCHEMA));
	return DM_OK;
}

static int save_rule(map_ownership *o, const char *prefix, map_owner owner, dm_errinfo *err)
{
	dm_origin origin = {DM_ORIGIN_ADMIN, "ownership"};
	dm_txn *t;
	int rc = dm_txn_begin(o->d, DM_TXN_WRITE, &origin, &t);

	if (rc)
		return fail(err, rc, "ownership rules: %s", dm_strerror(rc));
	if (owner == MAP_OWNER_SHARED)
		rc = dm_state_del(t, OWNER_NS, prefix, err);
	else
		rc = dm_state_put(t, OWNER_NS, prefix, map_owner_name(owner), strlen(map_owner_name(owner)), err);
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, err);
}

int map_ownership_set(map_ownership *o, const char *prefix, map_owner owner, dm_errinfo *err)
{
	/* a rule left by an older schema must stay removable */
	int rc = check_prefix(o, prefix, owner != MAP_OWNER_SHARED, err);

	if (rc)
		return rc;
	/* durable first: memory never holds a rule the store would forget */
	if ((rc = save_rule(o, prefix, owner, err)))
		return rc;
	if (owner == MAP_OWNER_SHARED)
		rule_drop(o, prefix);
	else if ((rc = rule_put(o, prefix, owner)))
		return fail(err, rc, "%s", dm_strerror(rc));
	sync_guard(o);
	return DM_OK;
}

int map_ownership_each(const map_ownership *o, map_owner_cb cb, void *ctx)
{
	for (size_t i = 0; o && i < o->n; i++) {
		int rc = cb(ctx, o->rules[i].prefix, o->rules[i].owner);
		if (rc)
			return rc;
	}
	return DM_OK;
}
