/*
 * schema_nodes.c - the loader's object tree: model objects linked to their
 * parents and indexed by path, their parameters, commands and events,
 * command/event arguments (outside the path tree), unique keys, Alias and
 * NumberOfEntries links. Facets of parameters are read in schema_facets.c.
 */
#include "schema_load.h"

#include <string.h>

static struct dm_node *node_new(loader *ld, dm_node_kind kind, const char *path, const char *name)
{
	size_t sz = kind == DM_NODE_OBJECT ? sizeof(dm_obj_node) : sizeof(struct dm_node);
	struct dm_node *n = dm_arena_alloc(ld->a, sz);

	if (!n) {
		dm_load_oom(ld);
		return NULL;
	}
	n->kind = kind;
	n->path = path;
	n->name = name;
	n->line = ld->line;
	if (kind == DM_NODE_OBJECT &&
	    DM_LOAD_PUSH(ld, ld->objs, ld->n_objs, ld->cap_objs, (dm_obj_node *)n)) {
		dm_load_oom(ld);
		return NULL;
	}
	return n;
}

/* Names are unique among an object's children whatever their kind, or
 * dm_node_child() would be ambiguous ("Stats" the parameter against
 * "Stats." the object); the same holds in an argument list. */
static int name_clash(loader *ld, const struct dm_node *first, const struct dm_node *n)
{
	for (const struct dm_node *c = first; c; c = c->next_sibling)
		if (strcmp(c->name, n->name) == 0)
			return dm_load_fail(ld, n->line, "%s: name %s already used (line %u)",
					    n->path, n->name, c->line);
	return DM_OK;
}

static int link_child(loader *ld, struct dm_node *parent, struct dm_node *n)
{
	int rc;

	if ((rc = name_clash(ld, parent->first_child, n)))
		return rc;
	n->parent = parent;
	if (parent->last_child)
		parent->last_child->next_sibling = n;
	else
		parent->first_child = n;
	parent->last_child = n;
	((dm_obj_node *)parent)->n_children++;
	return DM_OK;
}

/* Append a top-level argument to the list being read. */
static int link_arg(loader *ld, struct dm_node *n)
{
	int rc;

	if ((rc = name_clash(ld, *ld->al.head, n)))
		return rc;
	if (ld->al.tail)
		ld->al.tail->next_sibling = n;
	else
		*ld->al.head = n;
	ld->al.tail = n;
	return DM_OK;
}

/* A node of the model tree: numbered and indexed by path. */
static int node_register(loader *ld, struct dm_node *n)
{
	struct dm_node *dup;

	if (dm_schema_index_add(ld->sp, n, &dup))
		return dm_load_oom(ld);
	if (dup)
		return dm_load_fail(ld, n->line, "%s defined twice (first at line %u)", n->path,
				    dup->line);
	n->id = (uint32_t)ld->n_nodes;
	return DM_LOAD_PUSH(ld, ld->nodes, ld->n_nodes, ld->cap_nodes, n) ? dm_load_oom(ld) : DM_OK;
}

static const char *path_join(loader *ld, const char *prefix, const char *name)
{
	size_t pl = strlen(prefix), nl = strlen(name);
	char *p = dm_arena_alloc(ld->a, pl + nl + 1);

	if (!p) {
		dm_load_oom(ld);
		return NULL;
	}
	memcpy(p, prefix, pl);
	memcpy(p + pl, name, nl + 1);
	return p;
}

/* Split an object name ("Device.IP.Interface.{i}.", "Nodes.Node.{i}.")
 * into table flag, last segment and the length of the parent's name
 * ("Device.IP."; 0 for a single segment). */
static bool objname_split(const char *path, bool *table, const char **seg, size_t *seg_len,
			  size_t *parent_len)
{
	size_t len = strlen(path), stem;

	if (len < 2 || path[len - 1] != '.' || path[0] == '.' || strstr(path, ".."))
		return false;
	*table = len > 5 && strcmp(path + len - 5, ".{i}.") == 0;
	stem = len - 1 - (*table ? 4 : 0);
	*parent_len = stem;
	while (*parent_len > 0 && path[*parent_len - 1] != '.')
		(*parent_len)--;
	*seg = path + *parent_len;
	*seg_len = stem - *parent_len;
	return *seg_len > 0 && memchr(*seg, '{', *seg_len) == NULL;
}

static int object_attrs(loader *ld, struct dm_node *o, const char **v)
{
	o->u.obj.min_entries = 1; /* BBF defaults for both */
	o->u.obj.max_entries = 1;
	if (dm_load_access(ld, o->path, v[1], &o->u.obj.access) ||
	    dm_load_u32(ld, "object", "minEntries", v[2], 0, &o->u.obj.min_entries) ||
	    dm_load_u32(ld, "object", "maxEntries", v[3], UINT32_MAX, &o->u.obj.max_entries))
		return DM_ERR_SCHEMA_FILE;
	if (dm_load_intern_opt(ld, v[4], &o->u.obj.num_entries_param) ||
	    dm_load_intern_opt(ld, v[5], &o->u.obj.enable_param) ||
	    dm_load_intern_opt(ld, v[6], &o->version))
		return DM_ERR_NOMEM;
	return DM_OK;
}

static const char *const object_attr_names[] = {
	"name",   "access", "minEntries", "maxEntries", "numEntriesParameter", "enableParameter",
	"version"};

/* Create an object node from the current <object>; *parent_len etc. from
 * objname_split. */
static int object_make(loader *ld, const char **v, struct dm_node **out, size_t *parent_len)
{
	const char *seg, *name, *path;
	size_t seg_len;
	bool table;
	char segbuf[256];

	*out = NULL;
	if (!v[0])
		return dm_load_fail(ld, ld->line, "<object> without name");
	if (!objname_split(v[0], &table, &seg, &seg_len, parent_len) || seg_len >= sizeof segbuf)
		return dm_load_fail(ld, ld->line, "bad object name \"%s\"", v[0]);
	memcpy(segbuf, seg, seg_len);
	segbuf[seg_len] = '\0';
	if (!(name = dm_load_intern(ld, segbuf)) || !(path = dm_arena_strdup(ld->a, v[0])))
		return dm_load_oom(ld);
	if (!(*out = node_new(ld, DM_NODE_OBJECT, path, name)))
		return DM_ERR_NOMEM;
	(*out)->u.obj.table = table;
	return object_attrs(ld, *out, v);
}

int dm_load_object_start(loader *ld, struct dm_node **out)
{
	dm_schema *s = &ld->sp->pub;
	const char *v[7];
	struct dm_node *o, *parent = NULL;
	size_t plen;
	int rc;

	if ((rc = dm_load_attrs(ld, object_attr_names, 7, v)))
		return rc;
	if ((rc = object_make(ld, v, &o, &plen)))
		return rc;
	if (plen == 0 && s->root)
		return dm_load_fail(ld, ld->line, "second root object %s (root is %s)", o->path,
				    s->root->path);
	if (plen > 0) {
		parent = (struct dm_node *)dm_schema_find_n(s, o->path, plen);
		if (!parent || parent->kind != DM_NODE_OBJECT)
			return dm_load_fail(ld, ld->line,
					    "object %s: parent object %.*s is not defined", o->path,
					    (int)plen, o->path);
	}
	if ((rc = node_register(ld, o)))
		return rc;
	if (parent && (rc = link_child(ld, parent, o)))
		return rc;
	if (!parent)
		s->root = o;
	/* The counter lives in the parent, which the file closed already. */
	if (parent && o->u.obj.num_entries_param) {
		const char *cn = o->u.obj.num_entries_param;
		struct dm_node *c = (struct dm_node *)dm_node_child(parent, cn, strlen(cn));
		if (c && c->kind == DM_NODE_PARAM)
			c->u.param.counts_table = o;
	}
	s->stats.objects++;
	ld->n_keys = 0;
	ld->n_key_refs = 0;
	*out = o;
	return DM_OK;
}

int dm_load_ukey_start(loader *ld)
{
	static const char *const names[] = {"functional"};
	const char *v[1];
	ukey_desc k = {0};
	int rc;

	if ((rc = dm_load_attrs(ld, names, 1, v)))
		return rc;
	k.functional = !v[0] || dm_load_is_true(v[0]); /* the DM schema default is true */
	k.line = ld->line;
	k.first = ld->n_key_refs;
	return DM_LOAD_PUSH(ld, ld->keys, ld->n_keys, ld->cap_keys, k) ? dm_load_oom(ld) : DM_OK;
}

int dm_load_ukey_param(loader *ld)
{
	static const char *const names[] = {"ref"};
	const char *v[1], *ref;
	int rc;

	ld->skip = !ld->empty;
	if ((rc = dm_load_attrs(ld, names, 1, v)))
		return rc;
	if (!v[0])
		return dm_load_fail(ld, ld->line, "unique key <parameter> without ref");
	if (!(ref = dm_load_intern(ld, v[0])))
		return DM_ERR_NOMEM;
	if (DM_LOAD_PUSH(ld, ld->key_refs, ld->n_key_refs, ld->cap_key_refs, ref))
		return dm_load_oom(ld);
	ld->keys[ld->n_keys - 1].n++;
	return DM_OK;
}

/* At </object>: unique keys name parameters that follow them in the file. */
int dm_load_object_end(loader *ld, struct dm_node *o)
{
	if (o->u.obj.table) {
		const dm_node *al = dm_node_child(o, "Alias", 5);
		if (al && al->kind == DM_NODE_PARAM)
			o->u.obj.alias_param = (struct dm_node *)al;
	}
	if (!ld->n_keys)
		return DM_OK;
	o->u.obj.keys = dm_arena_alloc(ld->a, ld->n_keys * sizeof *o->u.obj.keys);
	if (!o->u.obj.keys)
		return dm_load_oom(ld);
	o->u.obj.n_keys = (uint16_t)ld->n_keys;
	for (size_t i = 0; i < ld->n_keys; i++) {
		const ukey_desc *d = &ld->keys[i];
		dm_unique_key *k = &o->u.obj.keys[i];

		k->functional = d->functional;
		k->n_params = (uint16_t)d->n;
		k->params = dm_arena_alloc(ld->a, (d->n ? d->n : 1) * sizeof *k->params);
		if (!k->params)
			return dm_load_oom(ld);
		for (size_t j = 0; j < d->n; j++) {
			const char *ref = ld->key_refs[d->first + j];
			const dm_node *p = dm_node_child(o, ref, strlen(ref));
			if (!p || p->kind != DM_NODE_PARAM)
				return dm_load_fail(
					ld, d->line,
					"object %s: unique key parameter %s is not defined",
					o->path, ref);
			k->params[j] = p;
		}
	}
	return DM_OK;
}

/* Attach a parameter, command or event named name to container: a model
 * object (indexed), an argument object, or the argument list (container NULL). */
static int member_attach(loader *ld, struct dm_node *container, bool model, dm_node_kind kind,
			 const char *name, struct dm_node **out)
{
	const char *path =
		container ? path_join(ld, container->path, name) : dm_load_intern(ld, name);
	size_t plen = container ? strlen(container->path) : 0;
	struct dm_node *n;
	int rc;

	if (!path)
		return dm_load_oom(ld);
	if (!(n = node_new(ld, kind, path, path + plen)))
		return DM_ERR_NOMEM;
	if (model && (rc = node_register(ld, n)))
		return rc;
	if ((rc = container ? link_child(ld, container, n) : link_arg(ld, n)))
		return rc;
	*out = n;
	return DM_OK;
}

static bool name_ok(const char *name, dm_node_kind kind)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '.'))
		return false;
	if (kind == DM_NODE_COMMAND)
		return len > 2 && strcmp(name + len - 2, "()") == 0;
	if (kind == DM_NODE_EVENT)
		return len > 1 && name[len - 1] == '!';
	return strpbrk(name, "()!{}") == NULL;
}

/* activeNotify values of the BBF DM schema; absent or "normal" (and any
 * value a later schema may add) leave the ACS free to choose. */
static dm_active_notify active_notify_of(const char *attr)
{
	static const struct {
		const char *name;
		dm_active_notify value;
	} table[] = {
		{"canDeny", DM_NOTIFY_CAN_DENY},
		{"forceEnabled", DM_NOTIFY_FORCED},
		{"forceDefaultEnabled", DM_NOTIFY_DEFAULT_ACTIVE},
	};

	for (size_t i = 0; attr && i < sizeof table / sizeof table[0]; i++)
		if (strcmp(attr, table[i].name) == 0)
			return table[i].value;
	return DM_NOTIFY_NORMAL;
}

int dm_load_param_start(loader *ld, struct dm_node *container, bool model, struct dm_node **out)
{
	static const char *const names[] = {"name",         "access",  "activeNotify",
					    "forcedInform", "version", "mandatory"};
	const char *v[6];
	struct dm_node *p;
	int rc;

	if ((rc = dm_load_attrs(ld, names, 6, v)))
		return rc;
	if (!v[0])
		return dm_load_fail(ld, ld->line, "<parameter> without name");
	if (!name_ok(v[0], DM_NODE_PARAM))
		return dm_load_fail(ld, ld->line, "bad parameter name \"%s\"", v[0]);
	if ((rc = member_attach(ld, container, model, DM_NODE_PARAM, v[0], &p)))
		return rc;
	if ((rc = dm_load_access(ld, p->path, v[1], &p->u.param.access)))
		return rc;
	p->u.param.active_notify = active_notify_of(v[2]);
	p->u.param.forced_inform = dm_load_is_true(v[3]);
	p->u.param.mandatory = dm_load_is_true(v[5]);
	if (dm_load_intern_opt(ld, v[4], &p->version))
		return DM_ERR_NOMEM;
	if (model)
		ld->sp->pub.stats.parameters++;
	dm_load_scratch_reset(&ld->fs);
	ld->have_syntax = false;
	*out = p;
	return DM_OK;
}

int dm_load_command_start(loader *ld, struct dm_node *obj, dm_node_kind kind, struct dm_node **out)
{
	static const char *const names[] = {"name", "async", "version"};
	const char *what = kind == DM_NODE_COMMAND ? "command" : "event";
	const char *v[3];
	struct dm_node *c;
	int rc;

	if ((rc = dm_load_attrs(ld, names, 3, v)))
		return rc;
	if (!v[0])
		return dm_load_fail(ld, ld->line, "<%s> without name", what);
	if (!name_ok(v[0], kind))
		return dm_load_fail(ld, ld->line, "bad %s name \"%s\"", what, v[0]);
	if ((rc = member_attach(ld, obj, true, kind, v[0], &c)))
		return rc;
	if (dm_load_intern_opt(ld, v[2], &c->version))
		return DM_ERR_NOMEM;
	if (kind == DM_NODE_COMMAND) {
		c->u.cmd.async = dm_load_is_true(v[1]);
		ld->sp->pub.stats.commands++;
	} else {
		ld->sp->pub.stats.events++;
		ld->al.head = &c->u.evt.first_arg;
		ld->al.tail = NULL;
		ld->al.n_objs = 0;
	}
	*out = c;
	return DM_OK;
}

void dm_load_args_start(loader *ld, struct dm_node *cmd, bool input)
{
	struct dm_node **head = input ? &cmd->u.cmd.first_in : &cmd->u.cmd.first_out;

	ld->al.head = head;
	ld->al.tail = *head;
	while (ld->al.tail && ld->al.tail->next_sibling)
		ld->al.tail = ld->al.tail->next_sibling;
	ld->al.n_objs = 0;
}

/* An argument object: "Result.{i}." heads the list, "Nodes.Node.{i}."
 * hangs below the "Nodes." argument read before it. */
int dm_load_argobj_start(loader *ld, struct dm_node **out)
{
	const char *v[7];
	struct dm_node *o, *parent = NULL;
	size_t plen;
	int rc;

	if ((rc = dm_load_attrs(ld, object_attr_names, 7, v)))
		return rc;
	if ((rc = object_make(ld, v, &o, &plen)))
		return rc;
	for (size_t i = 0; i < ld->al.n_objs && plen; i++) {
		struct dm_node *a = &ld->al.objs[i]->node;
		if (strncmp(a->path, o->path, plen) == 0 && a->path[plen] == '\0')
			parent = a;
	}
	if (plen && !parent)
		return dm_load_fail(ld, ld->line, "argument object %s: parent %.*s is not defined",
				    o->path, (int)plen, o->path);
	if ((rc = parent ? link_child(ld, parent, o) : link_arg(ld, o)))
		return rc;
	*out = o;
	return DM_LOAD_PUSH(ld, ld->al.objs, ld->al.n_objs, ld->al.cap_objs, (dm_obj_node *)o)
		       ? dm_load_oom(ld)
		       : DM_OK;
}
