/*
 * schema_load.c - reads a flattened BBF DM XML file (the TR-181 "full" files,
 * datamodel/device2.xml) into a dm_schema with libxml2's streaming reader.
 * This file holds the entry point, the reader loop and the dispatch of each
 * element by what it is inside of, plus the helpers the other loader files
 * share (errors, interning, attributes). Facets and named dataTypes are read
 * in schema_facets.c, the object tree in schema_nodes.c; queries on the
 * loaded schema live in schema.c.
 *
 * Descriptions, profiles, the bibliography and anything unknown are skipped,
 * so newer DM schema versions load as long as the elements used here keep
 * their meaning. Every node, string and facet array goes to the schema's
 * arena (strings other than paths interned); only the path index slots and
 * the by-id node array are malloc'd, and dm_schema_free() releases those.
 */
#include "schema_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Namespaces of every DM schema version, datamodel-1-0 to today's 1-15. */
#define BBF_DM_NS_PREFIX "urn:broadband-forum-org:cwmp:datamodel-1-"

static const struct {
	const char *name;
	elem_id id;
} elements[] = {
	{"description", E_DESCRIPTION},
	{"dataType", E_DATATYPE},
	{"model", E_MODEL},
	{"object", E_OBJECT},
	{"parameter", E_PARAMETER},
	{"command", E_COMMAND},
	{"event", E_EVENT},
	{"input", E_INPUT},
	{"output", E_OUTPUT},
	{"uniqueKey", E_UNIQUE_KEY},
	{"syntax", E_SYNTAX},
	{"list", E_LIST},
	{"default", E_DEFAULT},
	{"size", E_SIZE},
	{"range", E_RANGE},
	{"pattern", E_PATTERN},
	{"enumeration", E_ENUMERATION},
	{"units", E_UNITS},
	{"pathRef", E_PATH_REF},
	{"instanceRef", E_INSTANCE_REF},
	{"enumerationRef", E_ENUMERATION_REF},
};

static const struct {
	const char *name;
	dm_type type;
} base_types[] = {
	{"string", DM_TYPE_STRING},   {"boolean", DM_TYPE_BOOLEAN},
	{"int", DM_TYPE_INT},         {"unsignedInt", DM_TYPE_UNSIGNED_INT},
	{"long", DM_TYPE_LONG},       {"unsignedLong", DM_TYPE_UNSIGNED_LONG},
	{"decimal", DM_TYPE_DECIMAL}, {"dateTime", DM_TYPE_DATETIME},
	{"base64", DM_TYPE_BASE64},   {"hexBinary", DM_TYPE_HEXBINARY},
};

static const struct {
	const char *name;
	dm_access access;
} accesses[] = {
	{"readOnly", DM_ACCESS_READ_ONLY},
	{"readWrite", DM_ACCESS_READ_WRITE},
	{"writeOnceReadOnly", DM_ACCESS_WRITE_ONCE_READ_ONLY},
};

/* ---------------------------------------------------------------------------
 * Errors, growth, interning
 * ------------------------------------------------------------------------- */

int dm_load_fail(loader *ld, unsigned line, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return dm_err_set(ld->err, DM_ERR_SCHEMA_FILE, DM_REASON_NONE, NULL, "%s:%u: %s", ld->file,
			  line, reason);
}

int dm_load_oom(loader *ld)
{
	return dm_err_set(ld->err, DM_ERR_NOMEM, DM_REASON_NONE, NULL,
			  "%s: out of memory loading schema", ld->file);
}

/* Make room for one more element in a malloc'd vector. */
int dm_load_grow(loader *ld, void **v, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return DM_OK;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return dm_load_oom(ld);
	*v = nv;
	*cap = ncap;
	return DM_OK;
}

static int intern_grow(loader *ld)
{
	uint32_t cap = ld->icap ? ld->icap * 2 : 4096;
	const char **t = calloc(cap, sizeof *t);

	if (!t)
		return dm_load_oom(ld);
	for (uint32_t i = 0; i < ld->icap; i++) {
		const char *s = ld->itab[i];
		if (!s)
			continue;
		uint32_t j = dm_schema_hash(s, strlen(s)) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = s;
	}
	free(ld->itab);
	ld->itab = t;
	ld->icap = cap;
	return DM_OK;
}

/* Names, enumeration values, units and defaults repeat thousands of times
 * ("Enable", "Up", "bytes", "false"): one arena copy each. NULL on OOM. */
const char *dm_load_intern(loader *ld, const char *s)
{
	size_t len = strlen(s);
	uint32_t j;

	if ((ld->iused + 1) * 2 > ld->icap && intern_grow(ld) != DM_OK)
		return NULL;
	j = dm_schema_hash(s, len) & (ld->icap - 1);
	for (; ld->itab[j]; j = (j + 1) & (ld->icap - 1))
		if (strcmp(ld->itab[j], s) == 0)
			return ld->itab[j];
	ld->itab[j] = dm_arena_strndup(ld->a, s, len);
	if (!ld->itab[j]) {
		dm_load_oom(ld);
		return NULL;
	}
	ld->iused++;
	return ld->itab[j];
}

/* dm_load_intern() for an optional value: *out = NULL when s is NULL. */
int dm_load_intern_opt(loader *ld, const char *s, const char **out)
{
	*out = NULL;
	if (s && !(*out = dm_load_intern(ld, s)))
		return DM_ERR_NOMEM;
	return DM_OK;
}

/* ---------------------------------------------------------------------------
 * Attributes and values
 * ------------------------------------------------------------------------- */

/* Fetch the wanted attributes of the current element into out[] (NULL when
 * absent). Values are copied because the reader's value buffer is reused
 * from one attribute to the next; they stay valid until the next call.
 * Prefixed attributes (dmr:version) never match an unprefixed name. */
int dm_load_attrs(loader *ld, const char *const *want, size_t n, const char **out)
{
	size_t off[MAX_ATTRS], used = 0;

	if (n > MAX_ATTRS)
		return dm_load_fail(ld, ld->line, "internal: too many attributes asked");
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		off[i] = SIZE_MAX;
	}
	if (xmlTextReaderMoveToFirstAttribute(ld->r) != 1)
		return DM_OK;
	do {
		const char *an = (const char *)xmlTextReaderConstName(ld->r);
		const char *v;
		size_t i, len;

		for (i = 0; i < n && (off[i] != SIZE_MAX || strcmp(an, want[i]) != 0); i++)
			;
		if (i == n)
			continue;
		v = (const char *)xmlTextReaderConstValue(ld->r);
		len = v ? strlen(v) : 0;
		if (used + len + 1 > ld->abuf_cap) {
			size_t cap = (used + len + 1) * 2;
			char *nb = realloc(ld->abuf, cap);
			if (!nb) {
				xmlTextReaderMoveToElement(ld->r);
				return dm_load_oom(ld);
			}
			ld->abuf = nb;
			ld->abuf_cap = cap;
		}
		memcpy(ld->abuf + used, v ? v : "", len + 1);
		off[i] = used;
		used += len + 1;
	} while (xmlTextReaderMoveToNextAttribute(ld->r) == 1);
	xmlTextReaderMoveToElement(ld->r);
	for (size_t i = 0; i < n; i++)
		if (off[i] != SIZE_MAX)
			out[i] = ld->abuf + off[i];
	return DM_OK;
}

bool dm_load_is_true(const char *v)
{
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* A non-negative decimal integer that fits in max. */
bool dm_load_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* Optional uint32 attribute; "unbounded" (maxEntries, maxItems) gives
 * unbounded_as. Absent leaves *out as it is. */
int dm_load_u32(loader *ld, const char *elem, const char *attr, const char *v,
		uint32_t unbounded_as, uint32_t *out)
{
	uint64_t u;

	if (!v)
		return DM_OK;
	if (strcmp(v, "unbounded") == 0) {
		*out = unbounded_as;
		return DM_OK;
	}
	if (!dm_load_parse_uint(v, UINT32_MAX, &u))
		return dm_load_fail(ld, ld->line, "<%s>: bad %s \"%s\"", elem, attr, v);
	*out = (uint32_t)u;
	return DM_OK;
}

int dm_load_access(loader *ld, const char *what, const char *v, dm_access *out)
{
	*out = DM_ACCESS_READ_ONLY;
	if (!v)
		return DM_OK;
	for (size_t i = 0; i < sizeof accesses / sizeof accesses[0]; i++) {
		if (strcmp(v, accesses[i].name) == 0) {
			*out = accesses[i].access;
			return DM_OK;
		}
	}
	return dm_load_fail(ld, ld->line, "%s: unknown access \"%s\"", what, v);
}

static elem_id elem_lookup(const char *name, dm_type *type)
{
	for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++)
		if (name[0] == elements[i].name[0] && strcmp(name, elements[i].name) == 0)
			return elements[i].id;
	for (size_t i = 0; i < sizeof base_types / sizeof base_types[0]; i++) {
		if (strcmp(name, base_types[i].name) == 0) {
			*type = base_types[i].type;
			return E_BASE_TYPE;
		}
	}
	return E_UNKNOWN;
}

/* Line of the current element. libxml2 keeps exact element lines only up
 * to 65535; past that the parser's position (a few lines ahead) is used. */
static unsigned current_line(loader *ld)
{
	xmlNodePtr n = xmlTextReaderCurrentNode(ld->r);

	if (n && n->line > 0 && n->line < 65535)
		return n->line;
	return (unsigned)xmlTextReaderGetParserLineNumber(ld->r);
}

/* ---------------------------------------------------------------------------
 * Element dispatch
 * ------------------------------------------------------------------------- */

static int frame_end(loader *ld, const frame *f)
{
	switch (f->kind) {
	case F_DTDEF:
		return dm_load_dtdef_end(ld);
	case F_OBJECT:
		return dm_load_object_end(ld, f->node);
	case F_PARAM:
		return dm_load_param_end(ld, f->node);
	default:
		return DM_OK;
	}
}

/* Enter the current element as a frame; an empty element ends at once. */
int dm_load_enter(loader *ld, frame_kind kind, struct dm_node *node)
{
	frame f = {kind, node};

	if (ld->empty)
		return frame_end(ld, &f);
	if (ld->depth == MAX_FRAMES)
		return dm_load_fail(ld, ld->line, "elements nested too deep");
	ld->stack[ld->depth++] = f;
	return DM_OK;
}

static int doc_start(loader *ld, const char *name)
{
	const char *local = (const char *)xmlTextReaderConstLocalName(ld->r);
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(ld->r);

	ld->seen_doc = true;
	if (!local || strcmp(local, "document") != 0 || !ns ||
	    strncmp(ns, BBF_DM_NS_PREFIX, strlen(BBF_DM_NS_PREFIX)) != 0)
		return dm_load_fail(ld, ld->line,
				    "not a BBF DM document (document element <%s>%s%s)", name,
				    ns ? " in " : "", ns ? ns : "");
	return dm_load_enter(ld, F_DOC, NULL);
}

static int model_start(loader *ld)
{
	static const char *const names[] = {"name"};
	const char *v[1];
	int rc;

	if (ld->seen_model)
		return dm_load_fail(ld, ld->line, "more than one <model>");
	ld->seen_model = true;
	if ((rc = dm_load_attrs(ld, names, 1, v)))
		return rc;
	if (!v[0])
		return dm_load_fail(ld, ld->line, "<model> without name");
	if (!(ld->sp->pub.model_name = dm_arena_strdup(ld->a, v[0])))
		return dm_load_oom(ld);
	return dm_load_enter(ld, F_MODEL, NULL);
}

static int in_container(loader *ld, const frame *top, elem_id id)
{
	struct dm_node *n;
	int rc;

	switch (top->kind) {
	case F_DOC:
		if (id == E_MODEL)
			return model_start(ld);
		if (id == E_DATATYPE) {
			bool defining;
			if ((rc = dm_load_dtdef_start(ld, &defining)))
				return rc;
			if (defining)
				return dm_load_enter(ld, F_DTDEF, NULL);
		}
		break;
	case F_MODEL:
		if (id == E_OBJECT) {
			if ((rc = dm_load_object_start(ld, &n)))
				return rc;
			return dm_load_enter(ld, F_OBJECT, n);
		}
		if (id == E_PARAMETER || id == E_COMMAND || id == E_EVENT)
			return dm_load_fail(ld, ld->line, "<%s> outside any object",
					    id == E_PARAMETER ? "parameter"
					    : id == E_COMMAND ? "command"
							      : "event");
		break;
	case F_OBJECT:
	case F_ARGOBJ:
		if (id == E_PARAMETER) {
			if ((rc = dm_load_param_start(ld, top->node, top->kind == F_OBJECT, &n)))
				return rc;
			return dm_load_enter(ld, F_PARAM, n);
		}
		if (top->kind == F_ARGOBJ)
			break;
		if (id == E_UNIQUE_KEY) {
			if ((rc = dm_load_ukey_start(ld)))
				return rc;
			return dm_load_enter(ld, F_UKEY, NULL);
		}
		if (id == E_COMMAND || id == E_EVENT) {
			dm_node_kind k = id == E_COMMAND ? DM_NODE_COMMAND : DM_NODE_EVENT;
			if ((rc = dm_load_command_start(ld, top->node, k, &n)))
				return rc;
			return dm_load_enter(ld, id == E_COMMAND ? F_COMMAND : F_EVENT, n);
		}
		break;
	case F_UKEY:
		if (id == E_PARAMETER)
			return dm_load_ukey_param(ld);
		break;
	case F_PARAM:
		if (id == E_SYNTAX) {
			if ((rc = dm_load_syntax_start(ld)))
				return rc;
			return dm_load_enter(ld, F_SYNTAX, NULL);
		}
		break;
	case F_LIST:
		if (id == E_SIZE)
			return dm_load_list_size(ld);
		break;
	case F_COMMAND:
		if (id == E_INPUT || id == E_OUTPUT) {
			dm_load_args_start(ld, top->node, id == E_INPUT);
			return dm_load_enter(ld, F_ARGS, NULL);
		}
		break;
	case F_ARGS:
	case F_EVENT:
		if (id == E_PARAMETER) {
			if ((rc = dm_load_param_start(ld, NULL, false, &n)))
				return rc;
			return dm_load_enter(ld, F_PARAM, n);
		}
		if (id == E_OBJECT) {
			if ((rc = dm_load_argobj_start(ld, &n)))
				return rc;
			return dm_load_enter(ld, F_ARGOBJ, n);
		}
		break;
	default:
		break;
	}
	ld->skip = !ld->empty;
	return DM_OK;
}

static int on_start(loader *ld)
{
	const char *name = (const char *)xmlTextReaderConstName(ld->r);
	dm_type type = DM_TYPE_STRING;
	const frame *top;
	elem_id id;

	if (!name)
		return dm_load_oom(ld);
	ld->empty = xmlTextReaderIsEmptyElement(ld->r) == 1;
	ld->line = current_line(ld);
	if (!ld->seen_doc)
		return doc_start(ld, name);
	if (ld->depth == 0) /* the parser rejects a second document element */
		return dm_load_fail(ld, ld->line, "unexpected <%s> after the document", name);
	top = &ld->stack[ld->depth - 1];
	id = elem_lookup(name, &type);
	if (id == E_DESCRIPTION) { /* a third of the file: drop it unread */
		ld->skip = !ld->empty;
		return DM_OK;
	}
	if (top->kind == F_DTDEF || top->kind == F_SYNTAX || top->kind == F_TYPE)
		return dm_load_in_typed(ld, top, id, type, name);
	return in_container(ld, top, id);
}

static int on_end(loader *ld)
{
	frame f;

	if (ld->depth == 0)
		return DM_OK;
	f = ld->stack[--ld->depth];
	ld->line = current_line(ld);
	return frame_end(ld, &f);
}

/* ---------------------------------------------------------------------------
 * The reader loop and the entry point
 * ------------------------------------------------------------------------- */

static void xml_error(void *ctx, xmlErrorPtr e)
{
	loader *ld = ctx;
	size_t len;

	if (!e || e->level < XML_ERR_ERROR || ld->xml_failed)
		return;
	ld->xml_failed = true;
	ld->xml_line = e->line > 0 ? (unsigned)e->line : 0;
	snprintf(ld->xml_msg, sizeof ld->xml_msg, "%s", e->message ? e->message : "parse error");
	/* libxml2 messages end in (and sometimes contain) newlines. */
	for (char *c = ld->xml_msg; *c; c++)
		if (*c == '\n')
			*c = ' ';
	len = strlen(ld->xml_msg);
	while (len > 0 && ld->xml_msg[len - 1] == ' ')
		ld->xml_msg[--len] = '\0';
}

static int xml_fail(loader *ld)
{
	unsigned line = ld->xml_line;

	if (!line)
		line = (unsigned)xmlTextReaderGetParserLineNumber(ld->r);
	return dm_load_fail(ld, line, "malformed XML: %s",
			    ld->xml_failed ? ld->xml_msg : "parse error");
}

/* After the last element: checks that need the whole file, then the
 * structures built once (child indexes, the by-id array). */
static int finish(loader *ld)
{
	dm_schema *s = &ld->sp->pub;
	unsigned line = (unsigned)xmlTextReaderGetParserLineNumber(ld->r);
	struct dm_node **nodes;
	int rc;

	if (!ld->seen_doc)
		return dm_load_fail(ld, line, "empty document");
	if (!ld->seen_model)
		return dm_load_fail(ld, line, "no <model> element");
	if (!s->root)
		return dm_load_fail(ld, line, "<model> defines no objects");
	if ((rc = dm_load_resolve_types(ld)))
		return rc;
	for (size_t i = 0; i < ld->n_objs; i++)
		if (dm_schema_index_children(ld->a, ld->objs[i]))
			return dm_load_oom(ld);
	nodes = realloc(ld->nodes, ld->n_nodes * sizeof *nodes);
	s->nodes = nodes ? nodes : ld->nodes;
	s->n_nodes = (uint32_t)ld->n_nodes;
	ld->nodes = NULL;
	return DM_OK;
}

static int run(loader *ld)
{
	int ret, rc = DM_OK;

	for (;;) {
		bool skip = ld->skip;

		ld->skip = false;
		ret = skip ? xmlTextReaderNext(ld->r) : xmlTextReaderRead(ld->r);
		if (ret < 0 || ld->xml_failed)
			return xml_fail(ld);
		if (ret == 0)
			break;
		switch (xmlTextReaderNodeType(ld->r)) {
		case XML_READER_TYPE_ELEMENT:
			rc = on_start(ld);
			break;
		case XML_READER_TYPE_END_ELEMENT:
			rc = on_end(ld);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	return finish(ld);
}

static void loader_free(loader *ld)
{
	if (ld->r)
		xmlFreeTextReader(ld->r);
	dm_load_scratch_free(&ld->fs);
	free(ld->abuf);
	free(ld->itab);
	free(ld->nodes);
	free(ld->objs);
	free(ld->dts);
	free(ld->keys);
	free(ld->key_refs);
	free(ld->al.objs);
}

/* Set up arena and schema; the reader reads from fd. */
static int loader_init(loader *ld, int fd)
{
	ld->a = dm_arena_new();
	if (!ld->a)
		return dm_load_oom(ld);
	ld->sp = dm_arena_alloc(ld->a, sizeof *ld->sp);
	if (!ld->sp) {
		dm_arena_free(ld->a);
		return dm_load_oom(ld);
	}
	ld->sp->pub.arena = ld->a;
	if (!(ld->sp->pub.file = dm_arena_strdup(ld->a, ld->file)))
		return dm_load_oom(ld);
	/* No network, no blank nodes, no entity expansion beyond the built-in
	 * limits (no XML_PARSE_HUGE): a hostile file cannot make us fetch or
	 * balloon. */
	ld->r = xmlReaderForFd(fd, ld->file, NULL,
			       XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT |
				       XML_PARSE_NOCDATA);
	if (!ld->r)
		return dm_load_oom(ld);
	xmlTextReaderSetStructuredErrorHandler(ld->r, xml_error, ld);
	return DM_OK;
}

int dm_schema_load(const char *file, dm_schema **out, dm_errinfo *err)
{
	loader ld;
	struct stat st;
	int fd, rc;

	if (!out || !file)
		return dm_err_set(err, DM_ERR_INTERNAL, DM_REASON_NONE, NULL,
				  "dm_schema_load: no file or no result pointer");
	*out = NULL;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dm_err_set(err, DM_ERR_SCHEMA_FILE, DM_REASON_NONE, NULL,
				  "%s: cannot open schema file: %s", file, strerror(errno));
	if (fstat(fd, &st) == 0 && (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && !st.st_size))) {
		close(fd);
		return dm_err_set(err, DM_ERR_SCHEMA_FILE, DM_REASON_NONE, NULL, "%s: %s", file,
				  S_ISDIR(st.st_mode) ? "is a directory, not a schema file"
						      : "empty schema file");
	}
	memset(&ld, 0, sizeof ld);
	ld.file = file;
	ld.err = err;
	rc = loader_init(&ld, fd);
	if (rc == DM_OK)
		rc = run(&ld);
	loader_free(&ld);
	close(fd);
	if (rc != DM_OK) {
		if (ld.sp)
			dm_schema_free(&ld.sp->pub);
		return rc;
	}
	*out = &ld.sp->pub;
	return DM_OK;
}
