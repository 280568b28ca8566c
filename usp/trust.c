/*
 * trust.c - ControllerTrust: which Controller a message came from and what
 * its Roles let it do (TR-369 "Roles (Access Control)", TR-181
 * Device.LocalAgent.ControllerTrust.).
 *
 * A Controller's Roles are its AssignedRole and InheritedRole lists; a
 * Controller with neither, and one not in the Controller table at all, gets
 * ControllerTrust.UntrustedRole; one holding BannedRole gets nothing. A
 * schema without the Role table has no access control: role NULL, full
 * access. Each Role is compiled once into its enabled Permission entries
 * sorted by Order (highest first) with their Targets as path patterns, and
 * cached per EndpointID until the trust or Controller configuration changes.
 * usp_allowed then costs, per Role, a walk down the entries to the first
 * Order that has a matching Target; a Role that grants everything on
 * "Device." at its highest Order short-cuts to true.
 *
 * The cache lives with the subscriptions state (subs.c owns the change feed
 * callback that drops it); roles handed out are freed one loop iteration
 * after a drop, so a handler holding a usp_ctl never sees one vanish.
 */
#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_KINDS 4
#define ALL_FLAGS (USP_PERM_R | USP_PERM_W | USP_PERM_X | USP_PERM_N)
#define CACHE_MAX 256 /* distinct EndpointIDs kept; more and the cache restarts */

static const char CONTROLLERS[] = "Device.LocalAgent.Controller.";
static const char UNTRUSTED[] = "Device.LocalAgent.ControllerTrust.UntrustedRole";
static const char BANNED[] = "Device.LocalAgent.ControllerTrust.BannedRole";
static const char SECURED[] = "Device.LocalAgent.ControllerTrust.SecuredRoles";
static const char ROLE_TABLE[] = "Device.LocalAgent.ControllerTrust.Role.{i}.";

/* One Permission.{i} entry. */
typedef struct perm {
	uint32_t order;
	uint32_t inst;
	uint8_t flags[N_KINDS]; /* indexed by usp_perm_kind */
	usp_pat **targets;
	size_t *fixed;    /* per target: length of its text before any wildcard */
	size_t n_targets;
} perm;

/* One Role: its entries, highest Order first. */
typedef struct part {
	perm *perms;
	size_t n;
	/* Everything on the whole tree at some Order: a path no entry of a
	 * higher Order names is granted everything, whatever the entries
	 * below say. The shipped Full Access role is of this shape, with one
	 * exception above it (EnableCWMP reserved, C12). */
	bool all_except;
	size_t n_except; /* perms[0 .. n_except) are the exceptions */
} part;

struct usp_role {
	dm *d;
	bool all;               /* some Role grants every flag on the whole tree */
	bool secured;           /* holds one of ControllerTrust.SecuredRoles */
	uint8_t any[N_KINDS];   /* union of every entry's flags: a quick "never" */
	part *parts;
	size_t n_parts;
	struct usp_role *next;  /* retired list */
};

typedef struct entry {
	char endpoint[USP_ENDPOINT_MAX];
	uint32_t inst;
	usp_role *role; /* NULL = full access (no Role table in the schema) */
} entry;

struct usp_trust_cache {
	dm *d;
	core_loop *loop;
	bool no_rbac; /* the schema has no Role table: every Controller has full access */
	entry *entries;
	size_t n, cap;
	usp_role *retired;
	core_timer *reaper;
};

/* A role that allows nothing: what a Controller gets when identification fails. */
static const usp_role deny_all;

/* Rows of a Permission entry: which parameter fills which kind's flags. */
static const struct {
	const char *param;
	usp_perm_kind kind;
} flag_params[] = {
	{"Param", USP_PERM_PARAM},
	{"Obj", USP_PERM_OBJ},
	{"InstantiatedObj", USP_PERM_INST_OBJ},
	{"CommandEvent", USP_PERM_CMD_EVENT},
};

/* ---- reading the data model --------------------------------------------------- */

static void read_buf(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	if (dm_get_value_buf(d, t, path, buf, bufsz, NULL))
		buf[0] = 0;
}

static char *read_alloc(dm *d, dm_txn *t, const char *path)
{
	char *v = NULL;
	if (dm_get_value(d, t, path, &v, NULL))
		return strdup("");
	return v;
}

/* "rwxn" with '-' for a missing permission; anything else grants nothing. */
static uint8_t parse_flags(const char *s)
{
	static const char letters[N_KINDS] = {'r', 'w', 'x', 'n'};
	static const uint8_t bits[N_KINDS] = {USP_PERM_R, USP_PERM_W, USP_PERM_X, USP_PERM_N};
	uint8_t f = 0;
	for (size_t i = 0; i < N_KINDS && s[i]; i++)
		if (s[i] == letters[i] || s[i] == letters[i] - 'a' + 'A')
			f |= bits[i];
	return f;
}

static void perm_free(perm *p)
{
	for (size_t i = 0; i < p->n_targets; i++)
		usp_pat_free(p->targets[i]);
	free(p->targets);
	free(p->fixed);
}

static void role_free(usp_role *r)
{
	if (!r || r == &deny_all)
		return;
	for (size_t i = 0; i < r->n_parts; i++) {
		for (size_t j = 0; j < r->parts[i].n; j++)
			perm_free(&r->parts[i].perms[j]);
		free(r->parts[i].perms);
	}
	free(r->parts);
	free(r);
}

static int compile_targets(perm *p, const char *list)
{
	char **items;
	size_t n;
	int rc = usp_list_split(list, &items, &n);
	if (rc)
		return rc;
	if (n && (!(p->targets = calloc(n, sizeof *p->targets)) || !(p->fixed = calloc(n, sizeof *p->fixed))))
		rc = DM_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		usp_pat *pat;
		int prc = usp_pat_compile(items[i], &pat);
		if (prc == DM_ERR_NOMEM)
			rc = prc;
		else if (prc)
			CORE_LOG_W("usp", "permission target \"%s\" ignored: bad path", items[i]);
		else {
			p->fixed[p->n_targets] = strcspn(usp_pat_text(pat), "*[{+#");
			p->targets[p->n_targets++] = pat;
		}
	}
	usp_list_free(items, n);
	return rc;
}

static int load_perm(dm *d, dm_txn *t, const char *role_path, uint32_t inst, perm *p)
{
	char path[512], val[16];
	memset(p, 0, sizeof *p);
	p->inst = inst;
	snprintf(path, sizeof path, "%s.Permission.%u.Order", role_path, inst);
	read_buf(d, t, path, val, sizeof val);
	p->order = (uint32_t)strtoul(val, NULL, 10);
	for (size_t k = 0; k < sizeof flag_params / sizeof flag_params[0]; k++) {
		snprintf(path, sizeof path, "%s.Permission.%u.%s", role_path, inst, flag_params[k].param);
		read_buf(d, t, path, val, sizeof val);
		p->flags[flag_params[k].kind] = parse_flags(val);
	}
	snprintf(path, sizeof path, "%s.Permission.%u.Targets", role_path, inst);
	char *targets = read_alloc(d, t, path);
	if (!targets)
		return DM_ERR_NOMEM;
	int rc = compile_targets(p, targets);
	free(targets);
	return rc;
}

static bool enabled(dm *d, dm_txn *t, const char *path)
{
	char v[8];
	read_buf(d, t, path, v, sizeof v);
	return !strcmp(v, "true");
}

/* Highest Order first; equal Orders keep instance order. */
static int perm_cmp(const void *a, const void *b)
{
	const perm *x = a, *y = b;
	if (x->order != y->order)
		return x->order > y->order ? -1 : 1;
	return x->inst < y->inst ? -1 : x->inst > y->inst;
}

/* Load one Role ("Device.LocalAgent.ControllerTrust.Role.1"); disabled or
 * missing Roles add nothing. */
static int load_part(dm *d, dm_txn *t, const char *role_path, part *out)
{
	char path[512];
	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "%s.Enable", role_path);
	if (!enabled(d, t, path))
		return DM_OK;
	snprintf(path, sizeof path, "%s.Permission.", role_path);
	uint32_t *insts = NULL;
	size_t n = 0;
	if (dm_list_instances(t, path, &insts, &n, NULL) || !n) {
		free(insts);
		return DM_OK;
	}
	int rc = DM_OK;
	if (!(out->perms = calloc(n, sizeof *out->perms)))
		rc = DM_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(path, sizeof path, "%s.Permission.%u.Enable", role_path, insts[i]);
		if (!enabled(d, t, path))
			continue;
		rc = load_perm(d, t, role_path, insts[i], &out->perms[out->n]);
		out->n++;
	}
	free(insts);
	if (out->n > 1)
		qsort(out->perms, out->n, sizeof *out->perms, perm_cmp);
	return rc;
}

/* Does this entry give every flag on the whole tree? */
static bool grants_root(const perm *e)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (e->flags[k] != ALL_FLAGS)
			return false;
	for (size_t j = 0; j < e->n_targets; j++)
		if (usp_pat_is_root(e->targets[j]))
			return true;
	return false;
}

/* The all-but-a-few shape (part.all_except): the highest-Order entry
 * granting all on the root; the entries of higher Orders are the
 * exceptions. */
static void find_all_except(part *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (grants_root(&p->perms[i])) {
			p->all_except = true;
			p->n_except = i;
			/* entries tied with it at its Order add to it: no exceptions */
			while (p->n_except && p->perms[p->n_except - 1].order == p->perms[i].order)
				p->n_except--;
			return;
		}
	}
}

static bool names(const usp_role *r, const perm *e, const char *path)
{
	for (size_t j = 0; j < e->n_targets; j++) {
		/* a path under a target starts with the target's text up to
		 * its first wildcard, search or reference: most are told apart
		 * by that alone */
		if (strncmp(path, usp_pat_text(e->targets[j]), e->fixed[j]))
			continue;
		if (usp_pat_match(e->targets[j], r->d, NULL, path, USP_PAT_PREFIX))
			return true;
	}
	return false;
}

static void summarise(usp_role *r)
{
	for (size_t i = 0; i < r->n_parts; i++) {
		find_all_except(&r->parts[i]);
		/* all on the whole tree at the highest Order: nothing of the
		 * same Role can override it, it decides every question */
		if (r->parts[i].all_except && r->parts[i].n_except == 0)
			r->all = true;
		for (size_t j = 0; j < r->parts[i].n; j++)
			for (size_t k = 0; k < N_KINDS; k++)
				r->any[k] |= r->parts[i].perms[j].flags[k];
	}
}

/* A Role reference as AssignedRole holds it, without a trailing '.'. */
static void role_ref(const char *item, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s", item);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '.')
		buf[n - 1] = 0;
}

static int build_role(dm *d, dm_txn *t, const char *refs, usp_role **out)
{
	*out = NULL;
	char **items;
	size_t n;
	int rc = usp_list_split(refs, &items, &n);
	if (rc)
		return rc;
	usp_role *r = calloc(1, sizeof *r);
	if (!r || (n && !(r->parts = calloc(n, sizeof *r->parts)))) {
		free(r);
		usp_list_free(items, n);
		return DM_ERR_NOMEM;
	}
	r->d = d;
	for (size_t i = 0; !rc && i < n; i++) {
		char ref[256];
		role_ref(items[i], ref, sizeof ref);
		bool dup = false;
		for (size_t j = 0; j < i; j++) {
			char other[256];
			role_ref(items[j], other, sizeof other);
			dup = dup || !strcmp(ref, other);
		}
		if (!dup)
			rc = load_part(d, t, ref, &r->parts[r->n_parts++]);
	}
	usp_list_free(items, n);
	if (rc) {
		role_free(r);
		return rc;
	}
	summarise(r);
	*out = r;
	return DM_OK;
}

/* The Controller instance whose EndpointID is endpoint, 0 when none. */
static uint32_t find_controller(dm *d, dm_txn *t, const char *endpoint)
{
	uint32_t *insts = NULL, found = 0;
	size_t n = 0;
	if (dm_list_instances(t, CONTROLLERS, &insts, &n, NULL))
		return 0;
	for (size_t i = 0; i < n && !found; i++) {
		char path[128], id[USP_ENDPOINT_MAX];
		snprintf(path, sizeof path, "%s%u.EndpointID", CONTROLLERS, insts[i]);
		read_buf(d, t, path, id, sizeof id);
		if (id[0] && !strcmp(id, endpoint))
			found = insts[i];
	}
	free(insts);
	return found;
}

/* AssignedRole and InheritedRole, or UntrustedRole when the Controller is
 * unknown or has neither (TR-369 "Special Roles"). malloc'd. */
static char *role_refs(dm *d, dm_txn *t, uint32_t inst)
{
	if (inst) {
		char path[128];
		snprintf(path, sizeof path, "%s%u.AssignedRole", CONTROLLERS, inst);
		char *assigned = read_alloc(d, t, path);
		snprintf(path, sizeof path, "%s%u.InheritedRole", CONTROLLERS, inst);
		char *inherited = read_alloc(d, t, path);
		char *both = NULL;
		if (assigned && inherited && (assigned[0] || inherited[0]) &&
		    asprintf(&both, "%s,%s", assigned, inherited) < 0)
			both = NULL;
		free(assigned);
		free(inherited);
		if (both)
			return both;
	}
	return read_alloc(d, t, UNTRUSTED);
}

/* Does the list of Role references hold BannedRole? TR-181 BannedRole: the
 * Agent SHOULD refuse messages from such a Controller, so it gets nothing,
 * whatever else the list holds. */
static bool is_banned(dm *d, dm_txn *t, const char *refs)
{
	char banned[256], *b = read_alloc(d, t, BANNED);
	if (!b)
		return false;
	role_ref(b, banned, sizeof banned);
	free(b);
	if (!banned[0])
		return false;
	char **items;
	size_t n;
	if (usp_list_split(refs, &items, &n))
		return false;
	bool hit = false;
	for (size_t i = 0; i < n && !hit; i++) {
		char ref[256];
		role_ref(items[i], ref, sizeof ref);
		hit = !strcmp(ref, banned);
	}
	usp_list_free(items, n);
	return hit;
}

/* Does the list of Role references share one with SecuredRoles? Those
 * Controllers read secured parameters' values (TR-181 SecuredRoles). */
static bool holds_secured_role(dm *d, dm_txn *t, const char *refs)
{
	char *secured = read_alloc(d, t, SECURED);
	char **mine = NULL, **sec = NULL;
	size_t n_mine = 0, n_sec = 0;
	bool hit = false;

	if (secured && secured[0] && !usp_list_split(refs, &mine, &n_mine) &&
	    !usp_list_split(secured, &sec, &n_sec))
		for (size_t i = 0; i < n_mine && !hit; i++)
			for (size_t j = 0; j < n_sec && !hit; j++) {
				char a[256], b[256];
				role_ref(mine[i], a, sizeof a);
				role_ref(sec[j], b, sizeof b);
				hit = a[0] && !strcmp(a, b);
			}
	usp_list_free(mine, n_mine);
	usp_list_free(sec, n_sec);
	free(secured);
	return hit;
}

bool usp_role_secured(const usp_role *r)
{
	return r && r->secured;
}

/* ---- the cache --------------------------------------------------------------------- */

int usp_trust_cache_new(dm *d, core_loop *loop, usp_trust_cache **out)
{
	usp_trust_cache *c = calloc(1, sizeof *c);
	if (!c)
		return DM_ERR_NOMEM;
	c->d = d;
	c->loop = loop;
	c->no_rbac = !dm_schema_find(dm_get_schema(d), ROLE_TABLE);
	*out = c;
	return DM_OK;
}

static void reap(void *ctx)
{
	usp_trust_cache *c = ctx;
	core_timer_stop(c->reaper);
	c->reaper = NULL;
	while (c->retired) {
		usp_role *r = c->retired;
		c->retired = r->next;
		role_free(r);
	}
}

void usp_trust_cache_drop(usp_trust_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		usp_role *r = c->entries[i].role;
		if (r) {
			r->next = c->retired;
			c->retired = r;
		}
	}
	c->n = 0;
	if (c->retired && !c->reaper && c->loop &&
	    core_timer_start(c->loop, 0, 0, reap, c, &c->reaper))
		c->reaper = NULL;
}

void usp_trust_cache_free(usp_trust_cache *c)
{
	if (!c)
		return;
	usp_trust_cache_drop(c);
	reap(c);
	free(c->entries);
	free(c);
}

static entry *cache_find(usp_trust_cache *c, const char *endpoint)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->entries[i].endpoint, endpoint))
			return &c->entries[i];
	return NULL;
}

static entry *cache_add(usp_trust_cache *c)
{
	if (c->n == CACHE_MAX)
		usp_trust_cache_drop(c);
	if (c->n == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 8;
		entry *ne = realloc(c->entries, nc * sizeof *ne);
		if (!ne)
			return NULL;
		c->entries = ne;
		c->cap = nc;
	}
	entry *e = &c->entries[c->n++];
	memset(e, 0, sizeof *e);
	return e;
}

static int identify_fresh(usp_trust_cache *c, const char *endpoint, entry *e)
{
	dm_txn *t;
	int rc = dm_txn_begin(c->d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	snprintf(e->endpoint, sizeof e->endpoint, "%s", endpoint);
	e->inst = find_controller(c->d, t, endpoint);
	if (!c->no_rbac) {
		char *refs = role_refs(c->d, t, e->inst);
		bool banned = refs && is_banned(c->d, t, refs);
		if (!refs)
			rc = DM_ERR_NOMEM;
		else
			rc = build_role(c->d, t, banned ? "" : refs, &e->role);
		if (!rc && !banned)
			e->role->secured = holds_secured_role(c->d, t, refs);
		free(refs);
	}
	dm_txn_abort(t);
	return rc;
}

int usp_trust_cache_identify(usp_trust_cache *c, usp_ctl *ctl)
{
	ctl->controller_inst = 0;
	ctl->role = &deny_all;
	entry *e = cache_find(c, ctl->endpoint_id);
	if (!e) {
		if (!(e = cache_add(c)))
			return DM_ERR_NOMEM;
		int rc = identify_fresh(c, ctl->endpoint_id, e);
		if (rc) {
			c->n--;
			return rc;
		}
	}
	ctl->controller_inst = e->inst;
	ctl->role = e->role;
	return DM_OK;
}

int usp_trust_role_new(dm *d, const char *refs, usp_role **out)
{
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return rc;
	rc = build_role(d, t, refs, out);
	dm_txn_abort(t);
	return rc;
}

void usp_trust_role_free(usp_role *r)
{
	role_free(r);
}

/* ---- the contract ------------------------------------------------------------------ */

int usp_trust_identify(usp_agent *a, usp_ctl *ctl)
{
	usp_subs *s = usp_agent_subs(a);
	if (!s || !s->trust) {
		ctl->controller_inst = 0;
		ctl->role = &deny_all;
		return DM_ERR_INTERNAL;
	}
	return usp_trust_cache_identify(s->trust, ctl);
}

void usp_trust_invalidate(usp_agent *a)
{
	usp_subs *s = usp_agent_subs(a);
	if (s)
		usp_trust_cache_drop(s->trust);
}

/* The flags one Role gives path: the highest Order with a matching Target
 * decides; entries tied at that Order add up. */
static uint8_t part_flags(const usp_role *r, const part *p, usp_perm_kind kind, const char *path)
{
	if (p->all_except) {
		bool named = false;
		for (size_t i = 0; i < p->n_except && !named; i++)
			named = names(r, &p->perms[i], path);
		if (!named)
			return ALL_FLAGS;
	}
	for (size_t i = 0; i < p->n;) {
		uint32_t order = p->perms[i].order;
		bool hit = false;
		uint8_t f = 0;
		for (; i < p->n && p->perms[i].order == order; i++) {
			const perm *e = &p->perms[i];
			if (names(r, e, path)) {
				hit = true;
				f |= e->flags[kind];
			}
		}
		if (hit)
			return f;
	}
	return 0;
}

bool usp_allowed(const usp_ctl *ctl, usp_perm_kind kind, const char *path, unsigned flag)
{
	if (!ctl)
		return false;
	const usp_role *r = ctl->role;
	if (!r || r->all)
		return true;
	if ((unsigned)kind >= N_KINDS || !path || (r->any[kind] & flag) != flag)
		return false;
	/* Roles add up (TR-369 "A Controller's Role"): the union of each
	 * Role's decision. */
	unsigned have = 0;
	for (size_t i = 0; i < r->n_parts; i++) {
		have |= part_flags(r, &r->parts[i], kind, path);
		if ((have & flag) == flag)
			return true;
	}
	return false;
}
