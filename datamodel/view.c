/*
 * view.c - views: what one manager sees of the one store. A view is a short
 * list of aliases (a visible prefix served from a stored one, optionally
 * limited to some names directly under it) and of hidden prefixes. This
 * file owns the path arithmetic: request paths to stored ones
 * (dm_view_store), stored paths to what a manager is shown (dm_view_show),
 * and the helpers that the resolver (resolve_expr.c), the concrete-path
 * calls (resolve.c, write.c) and commits (txn.c) use to apply the view of a
 * transaction. Walking the store under a view is resolve_expr.c's.
 *
 * Every check is a handful of prefix compares: views hold a few entries,
 * and a transaction without a view never reaches this file.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dm_view_new(dm_view **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? DM_OK : DM_ERR_NOMEM;
}

static void alias_free(view_alias *a)
{
	for (size_t i = 0; i < a->n_children; i++)
		free(a->children[i]);
	free(a->children);
	free(a->visible);
	free(a->stored);
}

void dm_view_free(dm_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_aliases; i++)
		alias_free(&v->aliases[i]);
	for (size_t i = 0; i < v->n_hidden; i++)
		free(v->hidden[i].p);
	for (size_t i = 0; i < v->n_hidden_params; i++)
		free(v->hidden_params[i].p);
	free(v->aliases);
	free(v->hidden);
	free(v->hidden_params);
	free(v);
}

/* Prefixes name objects: "Device." or below, ending in '.'. */
static bool is_object_prefix(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	return n >= 7 && !strncmp(p, "Device.", 7) && p[n - 1] == '.' && n < DM_PATH_MAX;
}

/* A child is one name: "EndpointID", "Reboot()", or "MTP." for an object. */
static bool is_child_name(const char *c)
{
	size_t n = strlen(c);
	const char *dot = strchr(c, '.');
	return n > 0 && (!dot || dot == c + n - 1) && c[0] != '.';
}

static int copy_children(view_alias *a, const char *const *children)
{
	size_t n = 0;
	while (children[n])
		n++;
	if (!(a->children = calloc(n ? n : 1, sizeof *a->children)))
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!is_child_name(children[i]))
			return DM_ERR_SYNTAX;
		if (!(a->children[i] = strdup(children[i])))
			return DM_ERR_NOMEM;
		a->n_children++;
	}
	return DM_OK;
}

int dm_view_alias(dm_view *v, const char *visible, const char *stored, const char *const *children)
{
	if (!v || !is_object_prefix(visible) || !is_object_prefix(stored))
		return DM_ERR_SYNTAX;
	view_alias *grown = realloc(v->aliases, (v->n_aliases + 1) * sizeof *grown);
	if (!grown)
		return DM_ERR_NOMEM;
	v->aliases = grown;
	view_alias *a = &v->aliases[v->n_aliases];
	memset(a, 0, sizeof *a);
	a->all = children == NULL;
	a->visible = strdup(visible);
	a->stored = strdup(stored);
	int rc = a->visible && a->stored ? DM_OK : DM_ERR_NOMEM;
	if (!rc && children)
		rc = copy_children(a, children);
	if (rc) {
		alias_free(a);
		return rc;
	}
	a->vlen = strlen(visible);
	a->slen = strlen(stored);
	a->identity = a->vlen == a->slen && !memcmp(visible, stored, a->vlen);
	v->n_aliases++;
	return DM_OK;
}

/* A parameter's schema path: under "Device.", a plain name last. */
static bool is_param_path(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	const char *last = n ? strrchr(p, '.') : NULL;
	return n > 7 && !strncmp(p, "Device.", 7) && n < DM_PATH_MAX && last && last[1] &&
	       !strpbrk(last + 1, "(){}!*[]+#");
}

/* Length of the first two names of a path with their dots ("Device.X."),
 * 0 when it has fewer: a path under a hidden name shares that name's, so
 * a differing one settles most questions at once (a name of 0 is checked
 * whatever the path's). */
static size_t top_len(const char *p, size_t len)
{
	const char *d = memchr(p, '.', len);
	if (d)
		d = memchr(d + 1, '.', len - (size_t)(d + 1 - p));
	return d ? (size_t)(d + 1 - p) : 0;
}

static int add_prefix(view_prefix **list, size_t *n, const char *p)
{
	view_prefix *grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (!grown)
		return DM_ERR_NOMEM;
	*list = grown;
	if (!(grown[*n].p = strdup(p)))
		return DM_ERR_NOMEM;
	grown[*n].len = strlen(p);
	grown[*n].top = top_len(p, grown[*n].len);
	(*n)++;
	return DM_OK;
}

int dm_view_hide(dm_view *v, const char *prefix)
{
	if (v && is_object_prefix(prefix))
		return add_prefix(&v->hidden, &v->n_hidden, prefix);
	if (v && is_param_path(prefix))
		return add_prefix(&v->hidden_params, &v->n_hidden_params, prefix);
	return DM_ERR_SYNTAX;
}

void dm_txn_set_view(dm_txn *t, const dm_view *v)
{
	if (t)
		t->view = v;
}

/* ---- path arithmetic --------------------------------------------------------- */

static bool under(const char *path, size_t len, const char *prefix, size_t plen)
{
	return len >= plen && !memcmp(path, prefix, plen);
}

/*
 * Is rest (what follows the alias prefix) inside the names the alias
 * covers? An object child covers its whole subtree; a parameter child is
 * the parameter alone, or a reference followed from it ("Ref+", "Ref#1+").
 */
static bool child_allowed(const view_alias *a, const char *rest, size_t rl)
{
	if (a->all || rl == 0)
		return true;
	for (size_t i = 0; i < a->n_children; i++) {
		const char *c = a->children[i];
		size_t cl = strlen(c);
		if (rl < cl || memcmp(rest, c, cl))
			continue;
		if (c[cl - 1] == '.' || rl == cl || rest[cl] == '+' || rest[cl] == '#')
			return true;
	}
	return false;
}

bool view_alias_covers(const view_alias *a, const char *stored, size_t len)
{
	return under(stored, len, a->stored, a->slen) && child_allowed(a, stored + a->slen, len - a->slen);
}

static int put(char *out, size_t outsz, const char *a, size_t al, const char *b, size_t bl)
{
	if (al + bl >= outsz)
		return DM_ERR_NOMEM;
	memmove(out + al, b, bl); /* b may live in out already */
	memcpy(out, a, al);
	out[al + bl] = 0;
	return 1;
}

int view_alias_rename(const view_alias *a, const char *stored, size_t len, char *out, size_t outsz)
{
	return put(out, outsz, a->visible, a->vlen, stored + a->slen, len - a->slen);
}

/*
 * The first alias whose visible prefix holds the path decides: it maps
 * the path when it covers the name below the prefix, and otherwise the
 * name is not there (the alias shadows whatever the schema has under its
 * visible prefix). Returns the alias that maps it, NULL when none claims
 * the path; *claimed tells a refusal from no claim.
 */
static const view_alias *alias_claiming(const dm_view *v, const char *path, size_t len, bool *claimed)
{
	*claimed = false;
	for (size_t i = 0; i < v->n_aliases; i++) {
		const view_alias *a = &v->aliases[i];
		if (!under(path, len, a->visible, a->vlen))
			continue;
		*claimed = true;
		if (child_allowed(a, path + a->vlen, len - a->vlen))
			return a;
	}
	return NULL;
}

/* One instance step of a request or stored path: a number, "*" or the
 * schema's "{i}"; its length, 0 when there is none at path. */
static size_t instance_step(const char *path, size_t len)
{
	size_t n = 0;
	if (len >= 3 && !memcmp(path, "{i}", 3))
		return 3;
	if (len >= 1 && path[0] == '*')
		return 1;
	while (n < len && path[n] >= '0' && path[n] <= '9')
		n++;
	return n;
}

/* Does path name the hidden parameter pat ("Device.X.{i}.Name"), in any
 * instance, or a reference followed from it ("Name+", "Name#1+")? */
static bool names_param(const char *path, size_t len, const char *pat)
{
	size_t i = 0;
	while (*pat) {
		if (!strncmp(pat, "{i}", 3)) {
			size_t step = instance_step(path + i, len - i);
			if (!step)
				return false;
			i += step;
			pat += 3;
		} else if (i < len && path[i] == *pat) {
			i++;
			pat++;
		} else {
			return false;
		}
	}
	return i == len || path[i] == '+' || path[i] == '#';
}

static bool hidden(const dm_view *v, const char *path, size_t len)
{
	size_t top = top_len(path, len);
	for (size_t i = 0; i < v->n_hidden; i++)
		if ((!v->hidden[i].top || v->hidden[i].top == top) &&
		    under(path, len, v->hidden[i].p, v->hidden[i].len))
			return true;
	for (size_t i = 0; i < v->n_hidden_params; i++)
		if ((!v->hidden_params[i].top || v->hidden_params[i].top == top) &&
		    names_param(path, len, v->hidden_params[i].p))
			return true;
	return false;
}

int view_to_stored(const dm_view *v, const char *visible, char *out, size_t outsz, const view_alias **via)
{
	size_t len = strlen(visible);
	bool claimed;
	const view_alias *a = alias_claiming(v, visible, len, &claimed);
	if (via)
		*via = a;
	if (a)
		return put(out, outsz, a->stored, a->slen, visible + a->vlen, len - a->vlen);
	if (claimed || hidden(v, visible, len))
		return 0;
	return put(out, outsz, "", 0, visible, len);
}

bool view_native(const dm_view *v, const char *path, size_t len)
{
	bool claimed;
	const view_alias *a = alias_claiming(v, path, len, &claimed);
	if (claimed)
		return a && a->identity;
	return !hidden(v, path, len);
}

bool view_descend(const dm_view *v, const char *path, size_t len)
{
	if (view_native(v, path, len))
		return true;
	/* a name below it may still be visible: an alias served from there,
	 * or one whose visible prefix sits there */
	for (size_t i = 0; i < v->n_aliases; i++) {
		const view_alias *a = &v->aliases[i];
		if ((a->slen > len && !memcmp(a->stored, path, len)) ||
		    (a->vlen > len && !memcmp(a->visible, path, len)))
			return true;
	}
	return false;
}

int dm_view_store(const dm_view *v, const char *visible, char *out, size_t outsz)
{
	if (!v)
		return put(out, outsz, "", 0, visible, strlen(visible));
	return view_to_stored(v, visible, out, outsz, NULL);
}

/* A renaming alias wins over the native name: a manager shown both knows
 * the stored path by the name its own data model gives it. */
int dm_view_show(const dm_view *v, const char *stored, char *out, size_t outsz)
{
	size_t len = strlen(stored);
	if (!v)
		return put(out, outsz, "", 0, stored, len);
	for (size_t i = 0; i < v->n_aliases; i++) {
		const view_alias *a = &v->aliases[i];
		if (!a->identity && view_alias_covers(a, stored, len))
			return view_alias_rename(a, stored, len, out, outsz);
	}
	return view_native(v, stored, len) ? put(out, outsz, "", 0, stored, len) : 0;
}

/* ---- requests in a transaction with a view ------------------------------------- */

int view_req_begin(dm_txn *t, const char *path, view_req *q, dm_errinfo *err)
{
	q->asked = path ? path : "";
	q->via = NULL;
	int rc = view_to_stored(t->view, q->asked, q->buf, sizeof q->buf, &q->via);
	if (rc == 1) {
		q->path = q->buf;
		return DM_OK;
	}
	if (rc == 0)
		return dm_err_set(err, DM_ERR_NOT_IN_SCHEMA, 0, q->asked, "%s is not supported", q->asked);
	return dm_err_set(err, DM_ERR_SYNTAX, 0, q->asked, "path too long");
}

/* Replace every from in s (of size sz) by to, as long as it fits. */
static void replace_all(char *s, size_t sz, const char *from, size_t fl, const char *to, size_t tl)
{
	for (char *p = strstr(s, from); p; p = strstr(p + tl, from)) {
		size_t tail = strlen(p + fl);
		if ((size_t)(p - s) + tl + tail >= sz)
			return;
		memmove(p + tl, p + fl, tail + 1);
		memcpy(p, to, tl);
	}
}

/* An error names paths as the engine found them, in stored names: the
 * manager is told of its own names. */
void view_fix_err(const dm_view *v, const view_alias *via, const char *asked, dm_errinfo *err)
{
	if (!err || !v)
		return;
	char shown[sizeof err->path];
	size_t len = strlen(err->path);
	if (len) {
		int rc = via && view_alias_covers(via, err->path, len)
				 ? view_alias_rename(via, err->path, len, shown, sizeof shown)
				 : dm_view_show(v, err->path, shown, sizeof shown);
		if (rc == 1)
			memcpy(err->path, shown, strlen(shown) + 1);
		else if (asked)
			snprintf(err->path, sizeof err->path, "%s", asked);
	}
	if (via && !via->identity)
		replace_all(err->msg, sizeof err->msg, via->stored, via->slen, via->visible, via->vlen);
}

int view_req_end(dm_txn *t, const view_req *q, int rc, dm_errinfo *err)
{
	if (rc < 0) /* a callback's own stop value is not an error */
		view_fix_err(t->view, q->via, q->asked, err);
	return rc;
}
