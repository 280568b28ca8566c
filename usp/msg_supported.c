/*
 * msg_supported.c - GetSupportedDM and GetSupportedProtocol: what the agent
 * understands, read from the loaded schema (TR-369 "The GetSupportedDM
 * Message", "GetSupportedProtocol"). Instances are looked at only to check
 * that an instantiated path in a request exists. Values, instances and
 * anything of the store are msg_get.c's and msg_instances.c's.
 *
 * Names and paths in the response point into the schema, which outlives
 * every response; the response itself lives in the request's usp_mem and is
 * never freed by protobuf-c.
 */
#include "usp_int.h"

#include <stdio.h>
#include <string.h>

typedef Usp__GetSupportedDMResp__RequestedObjectResult sdm_req_result;
typedef Usp__GetSupportedDMResp__SupportedObjectResult sdm_obj;
typedef Usp__GetSupportedDMResp__SupportedParamResult sdm_param;
typedef Usp__GetSupportedDMResp__SupportedCommandResult sdm_cmd;
typedef Usp__GetSupportedDMResp__SupportedEventResult sdm_event;
typedef Usp__GetSupportedDMResp__SupportedUniqueKeySet sdm_keyset;

/* Base types as ParamValueType names them (value_type, USP 1.2+). */
static const Usp__GetSupportedDMResp__ParamValueType value_types[] = {
	[DM_TYPE_STRING] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_STRING,
	[DM_TYPE_BOOLEAN] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_BOOLEAN,
	[DM_TYPE_INT] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_INT,
	[DM_TYPE_UNSIGNED_INT] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_UNSIGNED_INT,
	[DM_TYPE_LONG] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_LONG,
	[DM_TYPE_UNSIGNED_LONG] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_UNSIGNED_LONG,
	[DM_TYPE_DECIMAL] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_DECIMAL,
	[DM_TYPE_DATETIME] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_DATE_TIME,
	[DM_TYPE_BASE64] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_BASE_64,
	[DM_TYPE_HEXBINARY] = USP__GET_SUPPORTED_DMRESP__PARAM_VALUE_TYPE__PARAM_HEX_BINARY,
};

/* writeOnceReadOnly is reported as PARAM_READ_WRITE (TR-369 SupportedParamResult).
 * PARAM_WRITE_ONLY is never used: hidden parameters can be read (as ""). */
static const Usp__GetSupportedDMResp__ParamAccessType param_access[] = {
	[DM_ACCESS_READ_ONLY] = USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_ONLY,
	[DM_ACCESS_READ_WRITE] = USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
	[DM_ACCESS_WRITE_ONCE_READ_ONLY] = USP__GET_SUPPORTED_DMRESP__PARAM_ACCESS_TYPE__PARAM_READ_WRITE,
};

/* A readWrite table lets Controllers add and delete; BBF data model
 * definitions have no add-only or delete-only objects, so OBJ_ADD_ONLY and
 * OBJ_DELETE_ONLY never appear. Single-instance objects are read-only. */
static const Usp__GetSupportedDMResp__ObjAccessType table_access[] = {
	[DM_ACCESS_READ_ONLY] = USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY,
	[DM_ACCESS_READ_WRITE] = USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_ADD_DELETE,
	[DM_ACCESS_WRITE_ONCE_READ_ONLY] = USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY,
};

/* The latest corrigendum of each TR-181 amendment we ship a schema for: the
 * model name says "Device:2.19" but the data model's URN also names the
 * corrigendum (tr-181-2-19-1). Unknown amendments get corrigendum 0. */
static const struct {
	const char *model;
	unsigned corrigendum;
} model_corrigenda[] = {
	{"Device:2.19", 1},
};

/* One GetSupportedDM request being answered. */
typedef struct sdm_ctx {
	usp_mem *mem;
	const usp_ctl *ctl; /* no role: full access, and no per-node checks (a
			     * whole-tree answer then costs no permission lookups) */
	const dm_schema *schema;
	const Usp__GetSupportedDM *q;
	const char *uri;
	const dm_view *view; /* the Controllers' names; NULL: the schema's */
	const char *prefix;  /* the requested object in those names: every name reported starts so */
} sdm_ctx;

/* Names and paths the response points to belong to the schema (see the top
 * of the file); protobuf-c's fields are not const. */
static char *schema_str(const char *s)
{
	return (char *)s;
}

bool usp_value_change_ignored(const dm_node *param)
{
	/* canDeny marks values that change too often to be worth notifying
	 * (counters, uptime, free memory): the one rule for both ValueChange
	 * handling (subs.c) and what GetSupportedDM says about it. */
	return dm_node_active_notify(param) == DM_NOTIFY_CAN_DENY;
}

/* R-GSP.0: without Read permission an element is treated as absent. Obj
 * governs objects, Param parameters, CommandEvent commands and events.
 * name is n's supported path as the Controller sees it. */
static bool readable(const sdm_ctx *c, const dm_node *n, const char *name)
{
	if (!c->ctl || !c->ctl->role)
		return true;
	static const usp_perm_kind kinds[] = {
		[DM_NODE_OBJECT] = USP_PERM_OBJ,
		[DM_NODE_PARAM] = USP_PERM_PARAM,
		[DM_NODE_COMMAND] = USP_PERM_CMD_EVENT,
		[DM_NODE_EVENT] = USP_PERM_CMD_EVENT,
	};
	return usp_allowed(c->ctl, kinds[dm_node_get_kind(n)], name, USP_PERM_R);
}

/* ---------------------------------------------------------------------------
 * Names under a view (mapping/views.h): a subtree the view renames is
 * reported under its visible name, limited to what the view shows there; a
 * hidden one is left out. Without a view every name is the schema's own.
 * ------------------------------------------------------------------------- */

/*
 * The supported path of n below its object obj, which is reported as
 * obj_name: *out is NULL when the view does not show n there. A name
 * shows n when the view maps it back to n's own path.
 */
static int child_name(const sdm_ctx *c, const char *obj_name, const dm_node *obj, const dm_node *n, char **out)
{
	const char *np = dm_node_path(n);
	*out = NULL;
	if (!c->view) {
		*out = schema_str(np);
		return DM_OK;
	}
	char name[1024], stored[1024];
	int len = snprintf(name, sizeof name, "%s%s", obj_name, np + strlen(dm_node_path(obj)));
	if (len < 0 || (size_t)len >= sizeof name || dm_view_store(c->view, name, stored, sizeof stored) != 1 ||
	    strcmp(stored, np))
		return DM_OK;
	*out = strcmp(name, np) ? usp_mem_strdup(c->mem, name) : schema_str(np);
	return *out ? DM_OK : DM_ERR_NOMEM;
}

/* The name the view renames the object n to, NULL when it keeps n's own
 * name (or hides it), when its parent is renamed already (n's new name
 * comes with the parent's), or when the name is outside the request. */
static int renamed(const sdm_ctx *c, const dm_node *n, char **out)
{
	char shown[1024], parent[1024];
	const dm_node *up = dm_node_parent(n);
	*out = NULL;
	if (dm_view_show(c->view, dm_node_path(n), shown, sizeof shown) != 1 || !strcmp(shown, dm_node_path(n)))
		return DM_OK;
	if (up && dm_view_show(c->view, dm_node_path(up), parent, sizeof parent) == 1 &&
	    strcmp(parent, dm_node_path(up)))
		return DM_OK;
	if (strncmp(shown, c->prefix, strlen(c->prefix)))
		return DM_OK;
	*out = usp_mem_strdup(c->mem, shown);
	return *out ? DM_OK : DM_ERR_NOMEM;
}

static const char *model_uri(usp_mem *m, const dm_schema *s)
{
	const char *name = dm_schema_model_name(s);
	unsigned major, minor;
	if (!name || sscanf(name, "Device:%u.%u", &major, &minor) != 2)
		return "";
	unsigned corr = 0;
	for (size_t i = 0; i < sizeof model_corrigenda / sizeof *model_corrigenda; i++)
		if (!strcmp(model_corrigenda[i].model, name))
			corr = model_corrigenda[i].corrigendum;
	const char *uri = usp_mem_printf(m, "urn:broadband-forum-org:tr-181-%u-%u-%u-usp", major, minor, corr);
	return uri ? uri : "";
}

/* ---------------------------------------------------------------------------
 * Arguments of commands and events: Relative Paths of their parameters in
 * Supported Data Model notation ("Status", "Result.{i}.Radio"), as the
 * schema already spells them. An argument object with no parameters is
 * named itself so that it is not lost.
 * ------------------------------------------------------------------------- */

static size_t args_count(const dm_node *a)
{
	size_t n = 0;
	for (; a; a = dm_node_next_sibling(a)) {
		size_t below = dm_node_get_kind(a) == DM_NODE_OBJECT ? args_count(dm_node_first_child(a)) : 0;
		n += below ? below : 1;
	}
	return n;
}

static void args_fill(const dm_node *a, char **names, size_t *n)
{
	for (; a; a = dm_node_next_sibling(a)) {
		size_t before = *n;
		if (dm_node_get_kind(a) == DM_NODE_OBJECT)
			args_fill(dm_node_first_child(a), names, n);
		if (*n == before)
			names[(*n)++] = schema_str(dm_node_path(a));
	}
}

static int args_list(usp_mem *m, const dm_node *first, char ***names, size_t *n)
{
	size_t count = args_count(first);
	*n = 0;
	if (!count)
		return DM_OK;
	if (!(*names = usp_mem_alloc(m, count * sizeof **names)))
		return DM_ERR_NOMEM;
	args_fill(first, *names, n);
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * One supported object and its elements
 * ------------------------------------------------------------------------- */

static sdm_param *param_result(usp_mem *m, const dm_node *p)
{
	sdm_param *r = usp_mem_new_msg(m, &usp__get_supported_dmresp__supported_param_result__descriptor);
	if (!r)
		return NULL;
	r->param_name = schema_str(dm_node_name(p));
	r->access = param_access[dm_node_access(p)];
	r->value_type = value_types[dm_node_type(p)];
	r->value_change = usp_value_change_ignored(p)
				  ? USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_WILL_IGNORE
				  : USP__GET_SUPPORTED_DMRESP__VALUE_CHANGE_TYPE__VALUE_CHANGE_ALLOWED;
	return r;
}

static sdm_cmd *command_result(usp_mem *m, const dm_node *cmd)
{
	sdm_cmd *r = usp_mem_new_msg(m, &usp__get_supported_dmresp__supported_command_result__descriptor);
	if (!r)
		return NULL;
	r->command_name = schema_str(dm_node_name(cmd));
	r->command_type = dm_node_is_async(cmd) ? USP__GET_SUPPORTED_DMRESP__CMD_TYPE__CMD_ASYNC
						: USP__GET_SUPPORTED_DMRESP__CMD_TYPE__CMD_SYNC;
	if (args_list(m, dm_node_first_input(cmd), &r->input_arg_names, &r->n_input_arg_names) ||
	    args_list(m, dm_node_first_output(cmd), &r->output_arg_names, &r->n_output_arg_names))
		return NULL;
	return r;
}

static sdm_event *event_result(usp_mem *m, const dm_node *ev)
{
	sdm_event *r = usp_mem_new_msg(m, &usp__get_supported_dmresp__supported_event_result__descriptor);
	if (!r)
		return NULL;
	r->event_name = schema_str(dm_node_name(ev));
	if (args_list(m, dm_node_first_input(ev), &r->arg_names, &r->n_arg_names))
		return NULL;
	return r;
}

static int add_keysets(usp_mem *m, const dm_node *table, sdm_obj *o)
{
	unsigned n = dm_node_unique_key_count(table);
	if (!n)
		return DM_OK;
	if (!(o->unique_key_sets = usp_mem_alloc(m, n * sizeof *o->unique_key_sets)))
		return DM_ERR_NOMEM;
	for (unsigned i = 0; i < n; i++) {
		const dm_node *const *params;
		unsigned np;
		if (dm_node_unique_key(table, i, NULL, &params, &np))
			continue;
		sdm_keyset *k = usp_mem_new_msg(m, &usp__get_supported_dmresp__supported_unique_key_set__descriptor);
		if (!k || !(k->key_names = usp_mem_alloc(m, (np ? np : 1) * sizeof *k->key_names)))
			return DM_ERR_NOMEM;
		for (unsigned j = 0; j < np; j++)
			k->key_names[k->n_key_names++] = schema_str(dm_node_name(params[j]));
		o->unique_key_sets[o->n_unique_key_sets++] = k;
	}
	return DM_OK;
}

/* Which of an object's own elements a result carries. */
typedef struct sdm_want {
	bool params, commands, events, keys;
	const dm_node *only; /* a requested parameter, command or event: just it */
} sdm_want;

/* Room for each kind of element, counted before filling so that every
 * repeated field is allocated once. */
static int alloc_elements(usp_mem *m, const dm_node *obj, const sdm_want *w, sdm_obj *o)
{
	size_t np = 0, nc = 0, ne = 0;
	for (const dm_node *ch = w->only ? w->only : dm_node_first_child(obj); ch;
	     ch = w->only ? NULL : dm_node_next_sibling(ch)) {
		dm_node_kind k = dm_node_get_kind(ch);
		np += k == DM_NODE_PARAM;
		nc += k == DM_NODE_COMMAND;
		ne += k == DM_NODE_EVENT;
	}
	if (w->params && np && !(o->supported_params = usp_mem_alloc(m, np * sizeof *o->supported_params)))
		return DM_ERR_NOMEM;
	if (w->commands && nc && !(o->supported_commands = usp_mem_alloc(m, nc * sizeof *o->supported_commands)))
		return DM_ERR_NOMEM;
	if (w->events && ne && !(o->supported_events = usp_mem_alloc(m, ne * sizeof *o->supported_events)))
		return DM_ERR_NOMEM;
	return DM_OK;
}

static int add_element(const sdm_ctx *c, const dm_node *ch, const sdm_want *w, sdm_obj *o)
{
	dm_node_kind k = dm_node_get_kind(ch);
	if (k == DM_NODE_PARAM && w->params) {
		sdm_param *p = param_result(c->mem, ch);
		if (!p)
			return DM_ERR_NOMEM;
		o->supported_params[o->n_supported_params++] = p;
	} else if (k == DM_NODE_COMMAND && w->commands) {
		sdm_cmd *cmd = command_result(c->mem, ch);
		if (!cmd)
			return DM_ERR_NOMEM;
		o->supported_commands[o->n_supported_commands++] = cmd;
	} else if (k == DM_NODE_EVENT && w->events) {
		sdm_event *ev = event_result(c->mem, ch);
		if (!ev)
			return DM_ERR_NOMEM;
		o->supported_events[o->n_supported_events++] = ev;
	}
	return DM_OK;
}

static int add_elements(const sdm_ctx *c, const dm_node *obj, const char *name, const sdm_want *w, sdm_obj *o)
{
	int rc = alloc_elements(c->mem, obj, w, o);
	if (w->only)
		return rc ? rc : add_element(c, w->only, w, o);
	for (const dm_node *ch = dm_node_first_child(obj); ch && !rc; ch = dm_node_next_sibling(ch)) {
		char *el;
		if (dm_node_get_kind(ch) == DM_NODE_OBJECT || (rc = child_name(c, name, obj, ch, &el)) || !el)
			continue;
		if (readable(c, ch, el))
			rc = add_element(c, ch, w, o);
	}
	return rc;
}

static sdm_obj *object_result(const sdm_ctx *c, const dm_node *obj, const char *name, const sdm_want *w)
{
	sdm_obj *o = usp_mem_new_msg(c->mem, &usp__get_supported_dmresp__supported_object_result__descriptor);
	if (!o)
		return NULL;
	o->supported_obj_path = (char *)name;
	o->is_multi_instance = dm_node_is_table(obj);
	o->access = o->is_multi_instance ? table_access[dm_node_access(obj)]
					 : USP__GET_SUPPORTED_DMRESP__OBJ_ACCESS_TYPE__OBJ_READ_ONLY;
	if (add_elements(c, obj, name, w, o))
		return NULL;
	if (w->keys && !w->only && add_keysets(c->mem, obj, o))
		return NULL;
	return o;
}

/* ---------------------------------------------------------------------------
 * The objects one requested path reports
 * ------------------------------------------------------------------------- */

static size_t subtree_objects(const dm_node *obj, bool first_level)
{
	size_t n = 1;
	for (const dm_node *ch = dm_node_first_child(obj); ch; ch = dm_node_next_sibling(ch))
		if (dm_node_get_kind(ch) == DM_NODE_OBJECT)
			n += first_level ? 1 : subtree_objects(ch, false);
	return n;
}

static int add_object(const sdm_ctx *c, const dm_node *obj, const char *name, const sdm_want *w,
		      sdm_req_result *r)
{
	if (!readable(c, obj, name))
		return DM_OK;
	sdm_obj *o = object_result(c, obj, name, w);
	if (!o)
		return DM_ERR_NOMEM;
	r->supported_objs[r->n_supported_objs++] = o;
	return DM_OK;
}

static int add_subtree(const sdm_ctx *c, const dm_node *obj, const char *name, bool in_rename, const sdm_want *w,
		       sdm_req_result *r);

/* A sub-object under its name below name, and once more under the name
 * the view renames it to (the subtree an alias serves), unless the walk
 * is in a renamed subtree already. */
static int add_child_subtree(const sdm_ctx *c, const dm_node *obj, const char *name, bool in_rename,
			     const dm_node *ch, const sdm_want *w, sdm_req_result *r)
{
	char *cn, *rn = NULL;
	int rc = child_name(c, name, obj, ch, &cn);
	if (!rc && cn)
		rc = add_subtree(c, ch, cn, in_rename, w, r);
	if (!rc && c->view && !in_rename && !(rc = renamed(c, ch, &rn)) && rn)
		rc = add_subtree(c, ch, rn, true, w, r);
	return rc;
}

/* Pre-order, document order: each object before its sub-objects, as a
 * flattened BBF file lists them. An object the Controller may not read is
 * left out, but its sub-objects may still be readable. */
static int add_subtree(const sdm_ctx *c, const dm_node *obj, const char *name, bool in_rename, const sdm_want *w,
		       sdm_req_result *r)
{
	int rc = add_object(c, obj, name, w, r);
	for (const dm_node *ch = dm_node_first_child(obj); ch && !rc; ch = dm_node_next_sibling(ch))
		if (dm_node_get_kind(ch) == DM_NODE_OBJECT)
			rc = add_child_subtree(c, obj, name, in_rename, ch, w, r);
	return rc;
}

/* first_level_only: the object and its immediate sub-objects, the latter
 * without parameters, commands or events whatever the flags ask; their
 * unique key sets are still given (TR-369 GetSupportedDM examples). */
static int add_first_level(const sdm_ctx *c, const dm_node *obj, const char *name, bool in_rename,
			   const sdm_want *w, sdm_req_result *r)
{
	int rc = add_object(c, obj, name, w, r);
	sdm_want child = {.keys = w->keys};
	for (const dm_node *ch = dm_node_first_child(obj); ch && !rc; ch = dm_node_next_sibling(ch)) {
		char *cn, *rn = NULL;
		if (dm_node_get_kind(ch) != DM_NODE_OBJECT || (rc = child_name(c, name, obj, ch, &cn)))
			continue;
		if (cn)
			rc = add_object(c, ch, cn, &child, r);
		if (!rc && c->view && !in_rename && !(rc = renamed(c, ch, &rn)) && rn)
			rc = add_object(c, ch, rn, &child, r);
	}
	return rc;
}

static int report_object(const sdm_ctx *c, const dm_node *obj, const char *name, sdm_req_result *r)
{
	const Usp__GetSupportedDM *q = c->q;
	sdm_want w = {
		.params = q->return_params,
		.commands = q->return_commands,
		.events = q->return_events,
		.keys = q->return_unique_key_sets,
	};
	/* under a view an object is reported at most twice: under its own
	 * name and under the one an alias gives it */
	size_t n = subtree_objects(obj, q->first_level_only) * (c->view ? 2 : 1);
	if (!(r->supported_objs = usp_mem_alloc(c->mem, n * sizeof *r->supported_objs)))
		return DM_ERR_NOMEM;
	bool in_rename = strcmp(name, dm_node_path(obj)) != 0;
	return q->first_level_only ? add_first_level(c, obj, name, in_rename, &w, r)
				   : add_subtree(c, obj, name, in_rename, &w, r);
}

/* A parameter, command or event path: its object with that element alone;
 * the flags do not apply (TR-369 GetSupportedDM Request Fields). */
static int report_element(const sdm_ctx *c, const dm_node *el, const char *name, sdm_req_result *r)
{
	const dm_node *obj = dm_node_parent(el);
	sdm_want w = {.params = true, .commands = true, .events = true, .only = el};
	/* its object's name is the requested one less the element's */
	size_t ol = strlen(name) - strlen(dm_node_name(el));
	char *obj_name = usp_mem_alloc(c->mem, ol + 1);
	if (!obj_name || !(r->supported_objs = usp_mem_alloc(c->mem, sizeof *r->supported_objs)))
		return DM_ERR_NOMEM;
	memcpy(obj_name, name, ol);
	sdm_obj *o = object_result(c, obj, obj_name, &w);
	if (!o)
		return DM_ERR_NOMEM;
	r->supported_objs[r->n_supported_objs++] = o;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Requested paths: Supported Data Model notation ("{i}", or a table named
 * without its final "{i}."), or Instantiated Data Model paths with instance
 * numbers, wildcards or search expressions, which name the same supported
 * object once the instances exist.
 * ------------------------------------------------------------------------- */

typedef struct sdm_path {
	char *schema;      /* the requested path in schema notation */
	size_t inst_end;   /* length of the prefix up to the last instance number; 0 = none */
} sdm_path;

/* Length of a search expression "[...]" at s (quoted strings may hold ']'),
 * 0 when unterminated. */
static size_t expr_len(const char *s)
{
	bool quoted = false;
	for (size_t i = 1; s[i]; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ']' && !quoted)
			return i + 1;
	}
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* USP error code, 0 when the path could be translated. */
static uint32_t to_schema_notation(usp_mem *m, const char *in, sdm_path *out)
{
	size_t len = strlen(in);
	/* "1" becomes "{i}": at most three times as long */
	char *o = usp_mem_alloc(m, 3 * len + 8);
	if (!o)
		return USP_ERR_RESOURCES_EXCEEDED;
	size_t ol = 0;
	bool placeholder_seen = false;
	out->inst_end = 0;
	for (size_t i = 0; i < len;) {
		size_t seg = in[i] == '[' ? expr_len(in + i) : strcspn(in + i, ".");
		if (!seg || (in[i + seg] && in[i + seg] != '.'))
			return USP_ERR_INVALID_PATH_SYNTAX;
		bool number = all_digits(in + i, seg);
		bool is_inst = number || in[i] == '[' || (seg == 1 && in[i] == '*') ||
			       (seg == 3 && !strncmp(in + i, "{i}", 3));
		/* after a "{i}" the path is in supported notation: no instance
		 * identifier may follow (TR-369 GetSupportedDM) */
		if (number && placeholder_seen)
			return USP_ERR_INVALID_PATH_SYNTAX;
		placeholder_seen |= seg == 3 && !strncmp(in + i, "{i}", 3);
		memcpy(o + ol, is_inst ? "{i}" : in + i, is_inst ? 3 : seg);
		ol += is_inst ? 3 : seg;
		i += seg;
		if (in[i] == '.') {
			o[ol++] = '.';
			i++;
		}
		if (number)
			out->inst_end = i;
	}
	o[ol] = '\0';
	out->schema = o;
	return 0;
}

static int count_item(void *ctx, const dm_item *item)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* An instantiated path is answered only when its objects exist. */
static uint32_t check_instances(const sdm_ctx *c, dm *d, const char *req_path, size_t inst_end, const char **msg)
{
	usp_mem *m = c->mem;
	char *prefix = usp_mem_alloc(m, inst_end + 1);
	if (!prefix)
		return USP_ERR_RESOURCES_EXCEEDED;
	memcpy(prefix, req_path, inst_end);
	dm_txn *t;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (rc)
		return usp_err_code(rc, USP_OP_GET_SUPPORTED_DM);
	dm_txn_set_view(t, c->view);
	dm_errinfo e = {0};
	size_t n = 0;
	rc = dm_resolve(t, DM_GRAMMAR_USP, prefix, DM_RESOLVE_OBJECTS, 0, count_item, &n, &e);
	dm_txn_abort(t);
	if (rc) {
		*msg = usp_mem_strdup(m, e.msg);
		/* 7026 is about the Supported Data Model in GetSupportedDM; an
		 * instance that does not exist is 7016 (TR-369 GetSupportedDM
		 * Error Codes) */
		return rc == DM_ERR_NOT_INSTANTIATED ? USP_ERR_OBJECT_DOES_NOT_EXIST
						     : usp_err_code(rc, USP_OP_GET_SUPPORTED_DM);
	}
	if (!n) {
		*msg = usp_mem_printf(m, "%s matches no object instance", prefix);
		return USP_ERR_OBJECT_DOES_NOT_EXIST;
	}
	return 0;
}

/* The node a supported path names, in the Controller's names (*name gets
 * the path as reported); NULL when the view or the schema has none. */
static const dm_node *find_supported(const sdm_ctx *c, const char *schema_path, const char **name)
{
	char stored[1024];
	const char *sp = schema_path;
	if (c->view) {
		if (dm_view_store(c->view, schema_path, stored, sizeof stored) != 1)
			return NULL;
		sp = stored;
	}
	const dm_node *n = dm_schema_find(c->schema, sp);
	size_t len = strlen(sp);
	*name = schema_path;
	/* "Device.WiFi.Radio." names the table "Device.WiFi.Radio.{i}." */
	if (!n && len && sp[len - 1] == '.') {
		char *table = usp_mem_printf(c->mem, "%s{i}.", sp);
		n = table ? dm_schema_find(c->schema, table) : NULL;
		if (n && !(*name = usp_mem_printf(c->mem, "%s{i}.", schema_path)))
			return NULL;
	}
	return n;
}

static int fail(sdm_req_result *r, uint32_t code, const char *msg)
{
	r->err_code = code;
	r->err_msg = msg ? (char *)msg : (char *)usp_err_text(code);
	if (!r->err_msg)
		r->err_msg = (char *)"";
	return DM_OK;
}

static int answer_path(sdm_ctx *c, dm *d, const char *req_path, sdm_req_result *r)
{
	sdm_path p;
	const char *name = NULL;
	uint32_t code = to_schema_notation(c->mem, req_path, &p);
	if (code)
		return fail(r, code, usp_mem_printf(c->mem, "%s is not a valid path", req_path));
	const dm_node *n = find_supported(c, p.schema, &name);
	/* R-GSP.0: what the Controller may not read is reported as absent */
	if (!n || !readable(c, n, name))
		return fail(r, USP_ERR_INVALID_PATH,
			    usp_mem_printf(c->mem, "%s is not in the supported data model", req_path));
	const char *msg = NULL;
	if (p.inst_end && (code = check_instances(c, d, req_path, p.inst_end, &msg)))
		return fail(r, code, msg);
	r->data_model_inst_uri = (char *)c->uri;
	c->prefix = name;
	return dm_node_get_kind(n) == DM_NODE_OBJECT ? report_object(c, n, name, r) : report_element(c, n, name, r);
}

int usp_handle_get_supported_dm(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	const Usp__Request *rq = c->req && c->req->body ? c->req->body->request : NULL;
	const Usp__GetSupportedDM *q = rq ? rq->get_supported_dm : NULL;
	if (!q)
		return USP_ERR_INVALID_ARGUMENTS;
	sdm_ctx sc = {.mem = c->mem, .ctl = c->ctl, .schema = dm_get_schema(c->d), .q = q, .view = c->view};
	sc.uri = model_uri(c->mem, sc.schema);
	Usp__GetSupportedDMResp *gr = usp_mem_new_msg(c->mem, &usp__get_supported_dmresp__descriptor);
	if (!gr || (q->n_obj_paths &&
		    !(gr->req_obj_results = usp_mem_alloc(c->mem, q->n_obj_paths * sizeof *gr->req_obj_results))))
		return usp_err_code(DM_ERR_NOMEM, USP_OP_GET_SUPPORTED_DM);
	/* errors are per path (err_code in each RequestedObjectResult); only
	 * running out of memory fails the whole message */
	for (size_t i = 0; i < q->n_obj_paths; i++) {
		sdm_req_result *r =
			usp_mem_new_msg(c->mem, &usp__get_supported_dmresp__requested_object_result__descriptor);
		if (!r || answer_path(&sc, c->d, q->obj_paths[i], r))
			return usp_err_code(DM_ERR_NOMEM, USP_OP_GET_SUPPORTED_DM);
		if (!(r->req_obj_path = usp_mem_strdup(c->mem, q->obj_paths[i])))
			return usp_err_code(DM_ERR_NOMEM, USP_OP_GET_SUPPORTED_DM);
		gr->req_obj_results[gr->n_req_obj_results++] = r;
	}
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_GET_SUPPORTED_DM_RESP;
	resp->get_supported_dm_resp = gr;
	return 0;
}

int usp_handle_get_supported_proto(usp_req_ctx *c, Usp__Response *resp, Usp__Error *err)
{
	Usp__GetSupportedProtocolResp *pr =
		usp_mem_new_msg(c->mem, &usp__get_supported_protocol_resp__descriptor);
	if (!pr)
		return usp_err_code(DM_ERR_NOMEM, USP_OP_GET_SUPPORTED_DM);
	pr->agent_supported_protocol_versions = (char *)USP_SUPPORTED_VERSIONS;
	resp->resp_type_case = USP__RESPONSE__RESP_TYPE_GET_SUPPORTED_PROTOCOL_RESP;
	resp->get_supported_protocol_resp = pr;
	return 0;
}
