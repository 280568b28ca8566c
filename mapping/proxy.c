/*
 * proxy.c - the USP Broker's registry (proxy.h): registered paths with
 * their forwarders, the Register rules of TR-369 ("Usage of the Register
 * Operation": no path of one Service inside, above or equal to another's),
 * the requests in flight, and the names a GetParameterNames-style listing
 * derives from a Service's values. Speaking USP to a Service is
 * usp/broker.c's; answering a manager is its front end's.
 */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 5000
#define SCHEMA_PATH_MAX 1024

typedef struct reg {
	char *path;  /* ends in '.' */
	char *owner; /* the Service's EndpointID */
	const map_proxy_fwd_ops *ops;
	void *fwd;
} reg;

struct map_proxy_op {
	map_proxy *p;
	const map_proxy_fwd_ops *ops;
	void *fwd;
	map_proxy_done_fn done;
	void *ctx;
	map_proxy_op *prev, *next;
};

struct map_proxy {
	const dm_schema *schema;
	unsigned timeout_ms;
	reg *regs;
	size_t n_regs, cap_regs;
	map_proxy_op *ops; /* in flight */
};

/* Room for one more element in an array of n (capacity *cap). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return DM_OK;
	size_t c = *cap ? *cap * 2 : 8;
	void *v = realloc(*arr, c * elem);
	if (!v)
		return DM_ERR_NOMEM;
	*arr = v;
	*cap = c;
	return DM_OK;
}

int map_proxy_new(const dm_schema *schema, map_proxy **out)
{
	map_proxy *p = calloc(1, sizeof *p);

	if (!p)
		return DM_ERR_NOMEM;
	p->schema = schema;
	p->timeout_ms = DEFAULT_TIMEOUT_MS;
	*out = p;
	return DM_OK;
}

static void op_unlink(map_proxy_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		op->p->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
}

/* End op without its forwarder's answer, telling its requester why. */
static void op_abandon(map_proxy_op *op, const char *why)
{
	map_proxy_result r = {.status = DM_ERR_INTERNAL, .usp_err = 7003, .msg = why};

	op_unlink(op);
	op->ops->forget(op->fwd, op);
	op->done(op->ctx, &r);
	free(op);
}

void map_proxy_free(map_proxy *p)
{
	if (!p)
		return;
	while (p->ops)
		op_abandon(p->ops, "the USP Broker is stopping");
	for (size_t i = 0; i < p->n_regs; i++) {
		free(p->regs[i].path);
		free(p->regs[i].owner);
	}
	free(p->regs);
	free(p);
}

void map_proxy_set_timeout_ms(map_proxy *p, unsigned ms)
{
	p->timeout_ms = ms ? ms : DEFAULT_TIMEOUT_MS;
}

unsigned map_proxy_timeout_ms(const map_proxy *p)
{
	return p->timeout_ms;
}

/* ---- registration rules ------------------------------------------------- */

/* TR-369 error codes: 7028 Register failure, 7029 Already in use, 7030
 * Deregister failure, 7031 Path already registered (by another Service). */
static const struct {
	map_proxy_reg reg;
	uint32_t usp_err;
	const char *text;
} reg_rows[] = {
	{MAP_PROXY_REG_OK, 0, "ok"},
	{MAP_PROXY_REG_BAD_PATH, 7028, "not an object path without instance numbers, wildcards or {i}"},
	{MAP_PROXY_REG_NOT_IN_SCHEMA, 7028, "the agent's data model has no such object"},
	{MAP_PROXY_REG_IN_USE, 7029, "the path or a part of it is registered by another USP Service"},
	{MAP_PROXY_REG_OVERLAP, 7028, "the path overlaps another path this USP Service registered"},
	{MAP_PROXY_REG_NOT_FOUND, 7030, "the path is not registered by this USP Service"},
	{MAP_PROXY_REG_NOT_OWNER, 7031, "the path is registered by another USP Service"},
	{MAP_PROXY_REG_NOMEM, 7005, "out of memory"},
};

uint32_t map_proxy_reg_usp_err(map_proxy_reg r)
{
	for (size_t i = 0; i < sizeof reg_rows / sizeof reg_rows[0]; i++)
		if (reg_rows[i].reg == r)
			return reg_rows[i].usp_err;
	return 7003;
}

const char *map_proxy_reg_text(map_proxy_reg r)
{
	for (size_t i = 0; i < sizeof reg_rows / sizeof reg_rows[0]; i++)
		if (reg_rows[i].reg == r)
			return reg_rows[i].text;
	return "unknown";
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/*
 * The schema path of an instantiated path: instance numbers become "{i}".
 * false when it does not fit.
 */
static bool to_schema_path(const char *path, char *out, size_t outsz)
{
	size_t o = 0;

	for (const char *s = path; *s;) {
		size_t n = strcspn(s, ".");
		const char *seg = all_digits(s, n) ? "{i}" : s;
		size_t sl = seg == s ? n : 3;
		if (o + sl + 2 > outsz)
			return false;
		memcpy(out + o, seg, sl);
		o += sl;
		s += n;
		if (*s == '.')
			out[o++] = *s++;
	}
	out[o] = '\0';
	return true;
}

/* The schema node of an instantiated path; a table named without an
 * instance ("Device.X.") is its "{i}" node, as the engine reports tables. */
static const dm_node *schema_node(const dm_schema *schema, const char *path)
{
	char sp[SCHEMA_PATH_MAX];

	if (!schema || !to_schema_path(path, sp, sizeof sp - 4))
		return NULL;
	const dm_node *n = dm_schema_find(schema, sp);
	size_t len = strlen(sp);
	if (!n && len && sp[len - 1] == '.') {
		memcpy(sp + len, "{i}.", 5);
		n = dm_schema_find(schema, sp);
	}
	return n;
}

/* R-REG.2: an object path of plain names, no instance numbers, no {i},
 * no wildcards or search expressions. The root is not a Service's. */
static bool register_grammar(const char *path)
{
	size_t len = strlen(path);

	if (strncmp(path, "Device.", 7) || len <= 7 || path[len - 1] != '.')
		return false;
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, ".");
		if (n == 0 || all_digits(s, n) || strcspn(s, "{}*[]+#()!") < n)
			return false;
		s += n + 1;
	}
	return true;
}

static bool is_prefix(const char *prefix, const char *path)
{
	return !strncmp(path, prefix, strlen(prefix));
}

map_proxy_reg map_proxy_check(const map_proxy *p, const char *path, const void *fwd)
{
	if (!path || !register_grammar(path))
		return MAP_PROXY_REG_BAD_PATH;
	const dm_node *n = schema_node(p->schema, path);
	if (!n || dm_node_get_kind(n) != DM_NODE_OBJECT)
		return MAP_PROXY_REG_NOT_IN_SCHEMA;
	for (size_t i = 0; i < p->n_regs; i++) {
		const reg *r = &p->regs[i];
		if (!is_prefix(r->path, path) && !is_prefix(path, r->path))
			continue;
		if (r->fwd != fwd)
			return MAP_PROXY_REG_IN_USE;
		if (strcmp(r->path, path))
			return MAP_PROXY_REG_OVERLAP;
	}
	return MAP_PROXY_REG_OK;
}

static reg *find_reg(const map_proxy *p, const char *path)
{
	for (size_t i = 0; i < p->n_regs; i++)
		if (!strcmp(p->regs[i].path, path))
			return &p->regs[i];
	return NULL;
}

map_proxy_reg map_proxy_register(map_proxy *p, const char *path, const char *owner,
				 const map_proxy_fwd_ops *ops, void *fwd)
{
	map_proxy_reg rc = map_proxy_check(p, path, fwd);

	if (rc != MAP_PROXY_REG_OK || find_reg(p, path))
		return rc;
	if (grow((void **)&p->regs, &p->cap_regs, p->n_regs, sizeof *p->regs))
		return MAP_PROXY_REG_NOMEM;
	reg *r = &p->regs[p->n_regs];
	r->path = strdup(path);
	r->owner = strdup(owner ? owner : "");
	if (!r->path || !r->owner) {
		free(r->path);
		free(r->owner);
		return MAP_PROXY_REG_NOMEM;
	}
	r->ops = ops;
	r->fwd = fwd;
	p->n_regs++;
	return MAP_PROXY_REG_OK;
}

static void remove_reg(map_proxy *p, reg *r)
{
	free(r->path);
	free(r->owner);
	size_t i = (size_t)(r - p->regs);
	memmove(r, r + 1, (p->n_regs - i - 1) * sizeof *r);
	p->n_regs--;
}

map_proxy_reg map_proxy_deregister(map_proxy *p, const char *path, const void *fwd)
{
	reg *r = path ? find_reg(p, path) : NULL;

	if (!r)
		return MAP_PROXY_REG_NOT_FOUND;
	if (r->fwd != fwd)
		return MAP_PROXY_REG_NOT_OWNER;
	remove_reg(p, r);
	return MAP_PROXY_REG_OK;
}

size_t map_proxy_deregister_all(map_proxy *p, const void *fwd, void (*each)(void *ctx, const char *path),
				void *ctx)
{
	size_t removed = 0;

	for (size_t i = 0; i < p->n_regs;) {
		if (p->regs[i].fwd != fwd) {
			i++;
			continue;
		}
		if (each)
			each(ctx, p->regs[i].path);
		remove_reg(p, &p->regs[i]);
		removed++;
	}
	for (map_proxy_op *op = p->ops, *next; op; op = next) {
		next = op->next;
		if (op->fwd == fwd)
			op_abandon(op, "the USP Service went away");
	}
	return removed;
}

const char *map_proxy_match(const map_proxy *p, const char *path, void **fwd)
{
	if (!p || !path)
		return NULL;
	for (size_t i = 0; i < p->n_regs; i++)
		if (is_prefix(p->regs[i].path, path)) {
			if (fwd)
				*fwd = p->regs[i].fwd;
			return p->regs[i].path;
		}
	return NULL;
}

const dm_node *map_proxy_node(const map_proxy *p, const char *path)
{
	return p && path ? schema_node(p->schema, path) : NULL;
}

size_t map_proxy_count(const map_proxy *p)
{
	return p ? p->n_regs : 0;
}

const char *map_proxy_path(const map_proxy *p, size_t i, const char **owner)
{
	if (!p || i >= p->n_regs)
		return NULL;
	if (owner)
		*owner = p->regs[i].owner;
	return p->regs[i].path;
}

/* ---- requests ------------------------------------------------------------ */

/* The one registration serving every path of req: 0, or why not. */
static int route(const map_proxy *p, const map_proxy_req *req, const reg **out)
{
	const reg *found = NULL;
	size_t n = req->kind == MAP_PROXY_SET ? req->n_params : req->n_paths;

	if (!n)
		return DM_ERR_INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		const char *path = req->kind == MAP_PROXY_SET ? req->params[i].path : req->paths[i];
		const reg *r = NULL;
		for (size_t k = 0; path && k < p->n_regs && !r; k++)
			if (is_prefix(p->regs[k].path, path))
				r = &p->regs[k];
		if (!r)
			return DM_ERR_NOT_IN_SCHEMA;
		if (found && found->fwd != r->fwd)
			return DM_ERR_DENIED;
		found = r;
	}
	*out = found;
	return DM_OK;
}

int map_proxy_start(map_proxy *p, const map_proxy_req *req, map_proxy_done_fn done, void *ctx,
		    map_proxy_op **out)
{
	const reg *r;
	int rc = p && req && done ? route(p, req, &r) : DM_ERR_INVALID_ARG;

	if (rc)
		return rc;
	map_proxy_op *op = calloc(1, sizeof *op);
	if (!op)
		return DM_ERR_NOMEM;
	*op = (map_proxy_op){.p = p, .ops = r->ops, .fwd = r->fwd, .done = done, .ctx = ctx};
	op->next = p->ops;
	if (p->ops)
		p->ops->prev = op;
	p->ops = op;
	if ((rc = op->ops->start(op->fwd, op, req))) {
		op_unlink(op);
		free(op);
		return rc;
	}
	if (out)
		*out = op;
	return DM_OK;
}

void map_proxy_cancel(map_proxy_op *op)
{
	if (!op)
		return;
	op_unlink(op);
	op->ops->forget(op->fwd, op);
	free(op);
}

void map_proxy_finish(map_proxy_op *op, const map_proxy_result *r)
{
	map_proxy_result fixed = *r;

	if (fixed.status && !fixed.msg)
		fixed.msg = "the USP Service refused the request";
	op_unlink(op);
	op->done(op->ctx, &fixed);
	free(op);
}

/* ---- names from values -------------------------------------------------- */

typedef struct name_list {
	map_proxy_name *v;
	size_t n, cap;
} name_list;

static bool name_seen(const name_list *l, const char *path, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].path) == len && !strncmp(l->v[i].path, path, len))
			return true;
	return false;
}

static int name_push(const map_proxy *p, name_list *l, const char *path, size_t len)
{
	if (name_seen(l, path, len))
		return DM_OK;
	if (grow((void **)&l->v, &l->cap, l->n, sizeof *l->v))
		return DM_ERR_NOMEM;
	char *s = strndup(path, len);
	if (!s)
		return DM_ERR_NOMEM;
	l->v[l->n].path = s;
	l->v[l->n].node = schema_node(p->schema, s);
	l->n++;
	return DM_OK;
}

/* One level below base: the rest holds no '.' but a final one. */
static bool next_level_of(const char *base, const char *path, size_t len)
{
	size_t bl = strlen(base);

	if (len <= bl)
		return false;
	const char *dot = memchr(path + bl, '.', len - bl);
	return !dot || dot == path + len - 1;
}

static int push_if(const map_proxy *p, name_list *l, const char *base, bool next_level, const char *path,
		   size_t len)
{
	if (next_level && !next_level_of(base, path, len))
		return DM_OK;
	return name_push(p, l, path, len);
}

int map_proxy_names(const map_proxy *p, const char *base, const map_proxy_param *params, size_t n_params,
		    bool next_level, map_proxy_name **names, size_t *n)
{
	name_list l = {0};
	size_t bl = strlen(base);
	bool object = bl && base[bl - 1] == '.';
	int rc = object && !next_level ? name_push(p, &l, base, bl) : DM_OK;

	for (size_t i = 0; !rc && i < n_params; i++) {
		const char *path = params[i].path;
		if (!path || strncmp(path, base, bl))
			continue;
		if (!object) {
			/* a parameter's listing is the parameter itself */
			if (!path[bl] && !next_level)
				rc = name_push(p, &l, path, bl);
			continue;
		}
		/* every object between base and the parameter, then the parameter */
		for (const char *dot = strchr(path + bl, '.'); !rc && dot; dot = strchr(dot + 1, '.'))
			rc = push_if(p, &l, base, next_level, path, (size_t)(dot - path) + 1);
		if (!rc && strlen(path) > bl)
			rc = push_if(p, &l, base, next_level, path, strlen(path));
	}
	if (rc) {
		map_proxy_names_free(l.v, l.n);
		return rc;
	}
	*names = l.v;
	*n = l.n;
	return DM_OK;
}

void map_proxy_names_free(map_proxy_name *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i].path);
	free(names);
}
