/*
 * test_schema.c - the BBF DM XML schema loader (datamodel/schema_load.c,
 * schema_facets.c, schema_nodes.c) and the schema queries (datamodel/schema.c).
 * A small synthetic schema written to a temp dir covers each construct the
 * loader reads; the official TR-181 2.19.1 files (found through $SHARED,
 * default ../shared) check counts and real lookups and are skipped when absent.
 * Malformed files must fail with DM_ERR_SCHEMA_FILE and "FILE:LINE: reason".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "schema.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/test_schema.XXXXXX";
static char tmpfiles[32][600];
static size_t n_tmpfiles;

/* Write content to tmpdir/name; the path is returned (static storage). */
static const char *write_file(const char *name, const char *content)
{
	char *path;
	FILE *f;

	assert_true(n_tmpfiles < N(tmpfiles));
	path = tmpfiles[n_tmpfiles++];
	snprintf(path, sizeof tmpfiles[0], "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The official file, or NULL (and a message) when the shared dir is absent. */
static const char *official(const char *name, char *buf, size_t len)
{
	const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";

	snprintf(buf, len, "%s/bbf/%s", shared, name);
	if (access(buf, R_OK) != 0) {
		print_message("skipping: %s not readable (set SHARED to the shared dir)\n", buf);
		return NULL;
	}
	return buf;
}

static const dm_node *find(const dm_schema *s, const char *path)
{
	const dm_node *n = dm_schema_find(s, path);

	if (!n)
		fail_msg("%s not in schema", path);
	return n;
}

static const dm_node *arg(const dm_node *first, const char *name)
{
	for (const dm_node *a = first; a; a = dm_node_next_sibling(a))
		if (strcmp(dm_node_name(a), name) == 0)
			return a;
	fail_msg("argument %s missing", name);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * A synthetic schema: every construct once
 * ------------------------------------------------------------------------- */

static const char synthetic[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!-- an older schema version: any datamodel-1-x namespace loads -->\n"
	"<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-3\"\n"
	"    xmlns:dmr=\"urn:broadband-forum-org:cwmp:datamodel-report-1-0\" spec=\"t\">\n"
	"  <import file=\"elsewhere.xml\"/>\n"
	"  <dataType name=\"Base\">\n"
	"    <description>Not read. <b>Markup</b> too.</description>\n"
	"    <string><size maxLength=\"64\"/><pattern value=\"\"/><pattern "
	"value=\"[a-z]+\"/></string>\n"
	"  </dataType>\n"
	"  <dataType name=\"Derived\" base=\"Base\"><size maxLength=\"16\"/></dataType>\n"
	"  <dataType name=\"Counter\"><unsignedLong/></dataType>\n"
	"  <dataType name=\"Pair\"><list minItems=\"2\" maxItems=\"2\"/>\n"
	"    <int><range minInclusive=\"-5\" maxInclusive=\"5\"/></int></dataType>\n"
	"  <dataType name=\"Early\" base=\"Later\"/>\n"
	"  <dataType name=\"Later\"><decimal><range minInclusive=\"-1.5\" maxInclusive=\"2.25\"/>"
	"</decimal></dataType>\n"
	"  <model name=\"Test:1.0\" isService=\"false\">\n"
	"    <object name=\"Device.\" access=\"readOnly\" dmr:future=\"x\">\n"
	"      <parameter name=\"ThingNumberOfEntries\" access=\"readOnly\">\n"
	"        <syntax><unsignedInt/></syntax></parameter>\n"
	"      <parameter name=\"Secret\" access=\"readWrite\" activeNotify=\"canDeny\"\n"
	"          forcedInform=\"true\" version=\"1.1\">\n"
	"        <syntax secured=\"true\"><string/><default type=\"factory\" "
	"value=\"f\"/></syntax>\n"
	"      </parameter>\n"
	"      <command name=\"Do()\" async=\"true\">\n"
	"        <input>\n"
	"          <parameter name=\"Arg\" mandatory=\"true\">\n"
	"            <syntax><dataType ref=\"Derived\"/></syntax></parameter>\n"
	"          <object name=\"Opt.{i}.\" minEntries=\"0\" maxEntries=\"unbounded\">\n"
	"            <parameter name=\"X\"><syntax><boolean/></syntax></parameter>\n"
	"          </object>\n"
	"          <object name=\"Opt.{i}.Sub.\"><parameter name=\"Y\">\n"
	"            <syntax><int/><default type=\"parameter\" value=\"3\"/></syntax></parameter>\n"
	"          </object>\n"
	"        </input>\n"
	"        <output><parameter "
	"name=\"Result\"><syntax><string/></syntax></parameter></output>\n"
	"      </command>\n"
	"      <event name=\"Ping!\"><parameter name=\"Seq\"><syntax><unsignedInt/></syntax>"
	"</parameter></event>\n"
	"      <futureElement foo=\"bar\"><parameter name=\"Ignored\"/></futureElement>\n"
	"    </object>\n"
	"    <object name=\"Device.Thing.{i}.\" access=\"readWrite\" minEntries=\"0\"\n"
	"        maxEntries=\"8\" numEntriesParameter=\"ThingNumberOfEntries\"\n"
	"        enableParameter=\"Enable\">\n"
	"      <uniqueKey functional=\"false\"><parameter ref=\"Alias\"/></uniqueKey>\n"
	"      <uniqueKey><parameter ref=\"Name\"/><parameter ref=\"Kind\"/></uniqueKey>\n"
	"      <parameter name=\"Alias\" access=\"writeOnceReadOnly\">\n"
	"        <syntax><dataType ref=\"Derived\"/></syntax></parameter>\n"
	"      <parameter name=\"Enable\" access=\"readWrite\"><syntax><boolean/>\n"
	"        <default type=\"factory\" value=\"true\"/><default type=\"object\" "
	"value=\"false\"/>\n"
	"      </syntax></parameter>\n"
	"      <parameter name=\"Name\" access=\"readWrite\"><syntax><hexBinary>\n"
	"        <size minLength=\"0\" maxLength=\"0\"/><size minLength=\"4\" maxLength=\"32\"/>\n"
	"      </hexBinary></syntax></parameter>\n"
	"      <parameter name=\"Kind\" access=\"readWrite\"><syntax><string>\n"
	"        <enumeration value=\"A\"><description>first</description></enumeration>\n"
	"        <enumeration value=\"B\"/></string></syntax></parameter>\n"
	"      <parameter name=\"Bytes\"><syntax><dataType ref=\"Counter\">\n"
	"        <units value=\"bytes\"/></dataType></syntax></parameter>\n"
	"      <parameter name=\"Pairs\"><syntax><dataType ref=\"Pair\"/></syntax></parameter>\n"
	"      <parameter name=\"Level\"><syntax><dataType base=\"Later\">\n"
	"        <range minInclusive=\"0\" maxInclusive=\"1\"/></dataType></syntax></parameter>\n"
	"      <parameter name=\"Ref\" access=\"readWrite\"><syntax>\n"
	"        <list maxItems=\"4\"><size maxLength=\"256\"/></list>\n"
	"        <string><pathRef refType=\"strong\" targetParent=\"Device.Thing.\""
	" targetType=\"row\"/></string>\n"
	"      </syntax></parameter>\n"
	"      <parameter name=\"Step\"><syntax><unsignedInt>\n"
	"        <range minInclusive=\"0\" maxInclusive=\"100\" step=\"5\"/>\n"
	"        <range minInclusive=\"200\"/></unsignedInt></syntax></parameter>\n"
	"      <parameter name=\"Choice\"><syntax><string>\n"
	"        <enumerationRef targetParam=\"Kind\"/></string></syntax></parameter>\n"
	"    </object>\n"
	"    <object name=\"Device.Thing.{i}.Stats.\" access=\"readOnly\">\n"
	"      <parameter name=\"Ratio\"><syntax hidden=\"true\"><dataType ref=\"Early\"/>"
	"</syntax></parameter>\n"
	"    </object>\n"
	"    <profile name=\"P:1\"><object ref=\"Device.\" requirement=\"present\"/></profile>\n"
	"  </model>\n"
	"</dm:document>\n";

static dm_schema *load_synthetic(void)
{
	dm_schema *s = NULL;
	dm_errinfo err = {0};
	const char *path = write_file("synthetic.xml", synthetic);

	if (dm_schema_load(path, &s, &err) != DM_OK)
		fail_msg("synthetic schema: %s", err.msg);
	return s;
}

static void test_synthetic_tree(void **state)
{
	dm_schema *s = load_synthetic();
	const dm_node *root = dm_schema_root(s), *thing, *stats, *c;
	dm_schema_stats st;
	static const char *const order[] = {"ThingNumberOfEntries", "Secret", "Do()", "Ping!",
					    "Thing"};
	size_t i = 0;

	dm_schema_get_stats(s, &st);
	assert_int_equal(st.objects, 3);
	assert_int_equal(st.parameters, 13);
	assert_int_equal(st.commands, 1);
	assert_int_equal(st.events, 1);
	assert_string_equal(dm_schema_model_name(s), "Test:1.0");
	assert_string_equal(dm_node_path(root), "Device.");
	assert_string_equal(dm_node_name(root), "Device");
	assert_null(dm_node_parent(root));
	for (c = dm_node_first_child(root); c; c = dm_node_next_sibling(c), i++)
		assert_string_equal(dm_node_name(c), order[i]);
	assert_int_equal(i, N(order));

	thing = find(s, "Device.Thing.{i}.");
	assert_ptr_equal(dm_node_parent(thing), root);
	assert_string_equal(dm_node_name(thing), "Thing");
	assert_true(dm_node_is_table(thing));
	assert_int_equal(dm_node_access(thing), DM_ACCESS_READ_WRITE);
	assert_int_equal(thing->u.obj.min_entries, 0);
	assert_int_equal(thing->u.obj.max_entries, 8);
	assert_string_equal(thing->u.obj.enable_param, "Enable");
	assert_ptr_equal(thing->u.obj.alias_param, find(s, "Device.Thing.{i}.Alias"));
	assert_ptr_equal(find(s, "Device.ThingNumberOfEntries")->u.param.counts_table, thing);
	assert_int_equal(thing->u.obj.n_keys, 2);
	assert_false(thing->u.obj.keys[0].functional);
	assert_int_equal(thing->u.obj.keys[0].n_params, 1);
	assert_ptr_equal(thing->u.obj.keys[0].params[0], find(s, "Device.Thing.{i}.Alias"));
	assert_true(thing->u.obj.keys[1].functional);
	assert_int_equal(thing->u.obj.keys[1].n_params, 2);
	assert_ptr_equal(thing->u.obj.keys[1].params[1], find(s, "Device.Thing.{i}.Kind"));

	stats = find(s, "Device.Thing.{i}.Stats.");
	assert_false(dm_node_is_table(stats));
	assert_int_equal(stats->u.obj.min_entries, 1); /* BBF defaults */
	assert_int_equal(stats->u.obj.max_entries, 1);
	assert_int_equal(dm_node_access(stats), DM_ACCESS_READ_ONLY);
	assert_null(stats->u.obj.alias_param);
	/* Thing has more children than are scanned, so its lookups are hashed;
	 * Device. has few: both ways of dm_node_child are covered. */
	assert_ptr_equal(dm_node_child(thing, "Stats", 5), stats);
	assert_ptr_equal(dm_node_child(thing, "Choice", 6), find(s, "Device.Thing.{i}.Choice"));
	assert_ptr_equal(dm_node_child(root, "Thing", 5), thing);
	assert_ptr_equal(dm_node_child(root, "Ping!", 5), find(s, "Device.Ping!"));
	assert_ptr_equal(dm_node_child(root, "ThingX", 5), thing); /* len counts */
	assert_null(dm_node_child(root, "Thin", 4));
	assert_null(dm_node_child(thing, "Stat", 4));
	assert_null(dm_node_child(find(s, "Device.Secret"), "x", 1));

	/* Unknown elements and profiles are skipped, not read as members. */
	assert_null(dm_schema_find(s, "Device.Ignored"));
	assert_null(dm_schema_find(s, "Device.Thing.{i}")); /* objects end in '.' */
	dm_schema_free(s);
}

static void test_synthetic_facets(void **state)
{
	dm_schema *s = load_synthetic();
	const dm_node *p;
	const dm_facets *f;

	p = find(s, "Device.Secret");
	assert_true(p->u.param.hidden);
	assert_true(p->u.param.forced_inform);
	assert_int_equal(dm_node_active_notify(p), DM_NOTIFY_CAN_DENY);
	assert_string_equal(dm_node_default(p), "f");
	assert_true(p->u.param.default_is_factory);
	assert_string_equal(p->version, "1.1");

	p = find(s, "Device.Thing.{i}.Alias"); /* Derived: Base's patterns, own size */
	f = &p->u.param.facets;
	assert_int_equal(dm_node_access(p), DM_ACCESS_WRITE_ONCE_READ_ONLY);
	assert_string_equal(dm_node_type_name(p), "Derived");
	assert_int_equal(dm_node_type(p), DM_TYPE_STRING);
	assert_true(f->has_size);
	assert_int_equal(f->max_len, 16);
	assert_int_equal(f->n_patterns, 2);
	assert_string_equal(f->patterns[0].xsd, "");
	assert_string_equal(f->patterns[1].xsd, "[a-z]+");
	assert_false(f->patterns[1].compiled);

	p = find(s, "Device.Thing.{i}.Enable"); /* object default wins */
	assert_string_equal(dm_node_default(p), "false");
	assert_false(p->u.param.default_is_factory);

	f = &find(s, "Device.Thing.{i}.Name")->u.param.facets; /* two sizes: envelope */
	assert_int_equal(f->base, DM_TYPE_HEXBINARY);
	assert_int_equal(f->min_len, 0);
	assert_int_equal(f->max_len, 32);

	f = &find(s, "Device.Thing.{i}.Kind")->u.param.facets;
	assert_int_equal(f->n_enums, 2);
	assert_string_equal(f->enums[0], "A");
	assert_string_equal(f->enums[1], "B");

	p = find(s, "Device.Thing.{i}.Bytes");
	assert_int_equal(dm_node_type(p), DM_TYPE_UNSIGNED_LONG);
	assert_string_equal(dm_node_type_name(p), "Counter");
	assert_string_equal(p->u.param.facets.units, "bytes");

	p = find(s, "Device.Thing.{i}.Pairs"); /* list and range from the dataType */
	f = &p->u.param.facets;
	assert_true(dm_node_is_list(p));
	assert_int_equal(f->list_min_items, 2);
	assert_int_equal(f->list_max_items, 2);
	assert_int_equal(f->base, DM_TYPE_INT);
	assert_int_equal(f->n_ranges, 1);
	assert_int_equal(f->ranges[0].s_min, -5);
	assert_int_equal(f->ranges[0].s_max, 5);

	p = find(s, "Device.Thing.{i}.Level"); /* inline base: own range replaces */
	f = &p->u.param.facets;
	assert_int_equal(f->base, DM_TYPE_DECIMAL);
	assert_string_equal(f->type_name, "Later");
	assert_int_equal(f->n_ranges, 1);
	assert_true(f->ranges[0].d_max == 1.0);

	f = &find(s, "Device.Thing.{i}.Stats.Ratio")->u.param.facets; /* base defined later */
	assert_string_equal(f->type_name, "Early");
	assert_int_equal(f->base, DM_TYPE_DECIMAL);
	assert_true(f->ranges[0].d_min == -1.5 && f->ranges[0].d_max == 2.25);
	assert_true(find(s, "Device.Thing.{i}.Stats.Ratio")->u.param.hidden);

	f = &find(s, "Device.Thing.{i}.Ref")->u.param.facets;
	assert_true(f->is_list);
	assert_int_equal(f->list_max_items, 4);
	assert_true(f->list_has_size);
	assert_int_equal(f->list_max_len, 256);
	assert_int_equal(f->ref_kind, DM_REF_PATH);
	assert_string_equal(f->ref_target, "Device.Thing.");
	assert_true(f->ref_strong);

	f = &find(s, "Device.Thing.{i}.Step")->u.param.facets;
	assert_int_equal(f->n_ranges, 2);
	assert_int_equal(f->ranges[0].u_max, 100);
	assert_int_equal(f->ranges[0].step, 5);
	assert_true(f->ranges[1].has_min && !f->ranges[1].has_max);
	assert_int_equal(f->ranges[1].u_min, 200);

	f = &find(s, "Device.Thing.{i}.Choice")->u.param.facets;
	assert_int_equal(f->ref_kind, DM_REF_ENUMERATION);
	assert_string_equal(f->ref_target, "Kind");
	dm_schema_free(s);
}

static void test_synthetic_arguments(void **state)
{
	dm_schema *s = load_synthetic();
	const dm_node *cmd = find(s, "Device.Do()"), *evt = find(s, "Device.Ping!");
	const dm_node *a, *opt, *sub;

	assert_int_equal(dm_node_get_kind(cmd), DM_NODE_COMMAND);
	assert_string_equal(dm_node_name(cmd), "Do()");
	assert_true(dm_node_is_async(cmd));
	a = arg(dm_node_first_input(cmd), "Arg");
	assert_true(dm_node_is_mandatory(a));
	assert_string_equal(dm_node_type_name(a), "Derived");
	assert_null(dm_node_parent(a)); /* top-level arguments head their list */
	opt = arg(dm_node_first_input(cmd), "Opt");
	assert_int_equal(dm_node_get_kind(opt), DM_NODE_OBJECT);
	assert_true(dm_node_is_table(opt));
	assert_int_equal(opt->u.obj.max_entries, UINT32_MAX);
	assert_int_equal(opt->id, 0);
	/* "Opt.{i}.Sub." hangs below "Opt.{i}.", not in the input list. */
	sub = dm_node_child(opt, "Sub", 3);
	assert_non_null(sub);
	assert_string_equal(dm_node_path(sub), "Opt.{i}.Sub.");
	assert_ptr_equal(dm_node_parent(sub), opt);
	assert_null(dm_node_next_sibling(opt));
	a = dm_node_child(sub, "Y", 1);
	assert_non_null(a);
	assert_string_equal(dm_node_path(a), "Opt.{i}.Sub.Y");
	assert_string_equal(dm_node_default(a), "3"); /* type="parameter" default */
	assert_false(dm_node_is_mandatory(a));
	a = dm_node_first_output(cmd);
	assert_string_equal(dm_node_name(a), "Result");
	assert_null(dm_node_next_sibling(a));

	assert_int_equal(dm_node_get_kind(evt), DM_NODE_EVENT);
	assert_null(dm_node_first_output(evt));
	a = dm_node_first_input(evt);
	assert_string_equal(dm_node_name(a), "Seq");
	assert_int_equal(dm_node_type(a), DM_TYPE_UNSIGNED_INT);

	/* Arguments are outside the path index. */
	assert_null(dm_schema_find(s, "Device.Do().Arg"));
	assert_null(dm_schema_find(s, "Opt.{i}."));
	dm_schema_free(s);
}

/* Accessors are total: NULL and nodes of another kind give neutral answers. */
static void test_accessors_neutral(void **state)
{
	dm_schema *s = load_synthetic();
	const dm_node *obj = find(s, "Device."), *cmd = find(s, "Device.Do()");
	dm_schema_stats st = {1, 1, 1, 1};

	assert_null(dm_node_name(NULL));
	assert_null(dm_node_first_child(NULL));
	assert_false(dm_node_is_table(NULL));
	assert_null(dm_node_type_name(obj));
	assert_null(dm_node_default(cmd));
	assert_false(dm_node_is_list(cmd));
	assert_false(dm_node_is_async(obj));
	assert_null(dm_node_first_input(obj));
	assert_int_equal(dm_node_access(cmd), DM_ACCESS_READ_ONLY);
	assert_null(dm_schema_find(NULL, "Device."));
	assert_null(dm_schema_find(s, NULL));
	assert_null(dm_schema_find(s, ""));
	dm_schema_get_stats(NULL, &st);
	assert_int_equal(st.objects, 0);
	dm_schema_free(s);
	dm_schema_free(NULL);
}

/* ---------------------------------------------------------------------------
 * Malformed files
 * ------------------------------------------------------------------------- */

#define HEAD                                                                       \
	"<?xml version=\"1.0\"?>\n"                                                \
	"<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-15\">\n" \
	"<model name=\"T:1\">\n"
#define TAIL         "</model>\n</dm:document>\n"
#define STR_PARAM(n) "<parameter name=\"" n "\"><syntax><string/></syntax></parameter>\n"

typedef struct bad_case {
	const char *name;
	const char *content;
	unsigned line; /* expected line, 0 = any */
	const char *reason;
} bad_case;

static const bad_case bad_cases[] = {
	{"truncated.xml", HEAD "<object name=\"Device.\">\n<parameter name=\"P\"", 0,
	 "malformed XML"},
	{"mismatched.xml", HEAD "<object name=\"Device.\">\n</model>\n", 5, "malformed XML"},
	{"bad_base.xml",
	 HEAD "<object name=\"Device.\">\n<parameter name=\"P\">\n<syntax><integer/></syntax>\n"
	      "</parameter>\n</object>\n" TAIL,
	 5, "unknown or missing base type <integer>"},
	{"bad_dt_base.xml",
	 "<?xml version=\"1.0\"?>\n"
	 "<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-15\">\n"
	 "<dataType name=\"T\"><float/></dataType>\n"
	 "<model name=\"T:1\"><object name=\"Device.\"/></model></dm:document>\n",
	 3, "dataType T: unknown or missing base type <float>"},
	{"orphan.xml", HEAD "<object name=\"Device.\"/>\n<object name=\"Device.A.B.\"/>\n" TAIL, 5,
	 "parent object Device.A. is not defined"},
	{"no_root.xml", HEAD "<object name=\"Device.A.\"/>\n" TAIL, 4,
	 "parent object Device. is not defined"},
	{"undefined_ref.xml",
	 HEAD "<object name=\"Device.\">\n<parameter name=\"P\">\n<syntax>\n"
	      "<dataType ref=\"Nope\"/>\n</syntax>\n</parameter>\n</object>\n" TAIL,
	 7, "dataType Nope is not defined"},
	{"undefined_base.xml",
	 "<?xml version=\"1.0\"?>\n"
	 "<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-15\">\n"
	 "<dataType name=\"A\" base=\"Gone\"/>\n"
	 "<model name=\"T:1\"><object name=\"Device.\"/></model></dm:document>\n",
	 3, "base dataType Gone is not defined"},
	{"cycle.xml",
	 "<?xml version=\"1.0\"?>\n"
	 "<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-15\">\n"
	 "<dataType name=\"A\" base=\"B\"/>\n<dataType name=\"B\" base=\"A\"/>\n"
	 "<model name=\"T:1\"><object name=\"Device.\"/></model></dm:document>\n",
	 0, "circular base chain"},
	{"param_outside.xml", HEAD STR_PARAM("P") TAIL, 4, "<parameter> outside any object"},
	{"duplicate.xml",
	 HEAD "<object name=\"Device.\">\n" STR_PARAM("P") STR_PARAM("P") "</object>\n" TAIL, 6,
	 "Device.P defined twice (first at line 5)"},
	{"duplicate_obj.xml", HEAD "<object name=\"Device.\"/>\n<object name=\"Device.\"/>\n" TAIL,
	 5, "second root object"},
	{"name_clash.xml",
	 HEAD
	 "<object name=\"Device.\">\n" STR_PARAM("Sub") "</object>\n"
							"<object name=\"Device.Sub.\"/>\n" TAIL,
	 7, "name Sub already used (line 5)"},
	{"orphan_table.xml", HEAD "<object name=\"Device.X.{i}.\"/>\n" TAIL, 4,
	 "parent object Device. is not defined"},
	{"bad_key_ref.xml",
	 HEAD
	 "<object name=\"Device.\"/>\n<object name=\"Device.T.{i}.\" maxEntries=\"9\">\n"
	 "<uniqueKey><parameter ref=\"Name\"/></uniqueKey>\n" STR_PARAM("Alias") "</object>\n" TAIL,
	 6, "unique key parameter Name is not defined"},
	{"bad_number.xml", HEAD "<object name=\"Device.\" maxEntries=\"lots\"/>\n" TAIL, 4,
	 "bad maxEntries \"lots\""},
	{"bad_access.xml", HEAD "<object name=\"Device.\" access=\"readSometimes\"/>\n" TAIL, 4,
	 "unknown access"},
	{"bad_command.xml",
	 HEAD "<object name=\"Device.\">\n<command name=\"Go\"/>\n</object>\n" TAIL, 5,
	 "bad command name \"Go\""},
	{"no_syntax.xml",
	 HEAD "<object name=\"Device.\">\n<parameter name=\"P\"/>\n</object>\n" TAIL, 5,
	 "parameter Device.P has no <syntax>"},
	{"wrong_root.xml", "<?xml version=\"1.0\"?>\n<document/>\n", 2, "not a BBF DM document"},
	{"report_ns.xml",
	 "<?xml version=\"1.0\"?>\n"
	 "<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-report-1-0\"/>\n",
	 2, "not a BBF DM document"},
	{"no_model.xml",
	 "<?xml version=\"1.0\"?>\n"
	 "<dm:document xmlns:dm=\"urn:broadband-forum-org:cwmp:datamodel-1-15\"/>\n",
	 0, "no <model> element"},
	{"empty_model.xml", HEAD TAIL, 0, "<model> defines no objects"},
	{"garbage.xml", "\x01\x02 this is not XML at all \xff\xfe", 0, "malformed XML"},
	{"empty.xml", "", 0, "empty schema file"},
};

static void test_malformed(void **state)
{
	for (size_t i = 0; i < N(bad_cases); i++) {
		const bad_case *c = &bad_cases[i];
		const char *path = write_file(c->name, c->content);
		dm_errinfo err = {0};
		dm_schema *s = (dm_schema *)&err; /* anything but NULL: load must clear it */
		char where[700];
		int rc = dm_schema_load(path, &s, &err);

		if (rc != DM_ERR_SCHEMA_FILE)
			fail_msg("%s: rc %d, msg \"%s\"", c->name, rc, err.msg);
		assert_null(s);
		assert_int_equal(err.code, DM_ERR_SCHEMA_FILE);
		if (!strstr(err.msg, c->reason))
			fail_msg("%s: \"%s\" lacks \"%s\"", c->name, err.msg, c->reason);
		/* "FILE:LINE: reason", except for files with no line to point at */
		if (strcmp(c->name, "empty.xml") == 0)
			continue;
		if (c->line) {
			snprintf(where, sizeof where, "%s:%u: ", path, c->line);
			if (strncmp(err.msg, where, strlen(where)) != 0)
				fail_msg("%s: \"%s\" does not start with \"%s\"", c->name, err.msg,
					 where);
		} else {
			unsigned line = 0;
			size_t pl = strlen(path);
			if (strncmp(err.msg, path, pl) != 0 ||
			    sscanf(err.msg + pl, ":%u: ", &line) != 1 || line == 0)
				fail_msg("%s: \"%s\" is not FILE:LINE: reason", c->name, err.msg);
		}
	}
}

static void test_missing_file(void **state)
{
	dm_schema *s = NULL;
	dm_errinfo err = {0};
	char path[600];

	snprintf(path, sizeof path, "%s/no-such-schema.xml", tmpdir);
	assert_int_equal(dm_schema_load(path, &s, &err), DM_ERR_SCHEMA_FILE);
	assert_null(s);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_int_equal(dm_schema_load(tmpdir, &s, &err), DM_ERR_SCHEMA_FILE);
	assert_non_null(strstr(err.msg, "directory"));
}

/* ---------------------------------------------------------------------------
 * The official TR-181 2.19.1 files
 * ------------------------------------------------------------------------- */

typedef struct stats_case {
	const char *file;
	dm_schema_stats want;
} stats_case;

static const stats_case stats_cases[] = {
	{"tr-181-2-19-1-usp-full.xml", {822, 6722, 179, 53}},
	{"tr-181-2-19-1-cwmp-full.xml", {873, 7343, 0, 0}},
};

static void check_official_stats(const stats_case *c)
{
	char buf[600];
	const char *path = official(c->file, buf, sizeof buf);
	dm_schema *s = NULL;
	dm_errinfo err = {0};
	dm_schema_stats st;

	if (!path)
		skip();
	if (dm_schema_load(path, &s, &err) != DM_OK)
		fail_msg("%s", err.msg);
	dm_schema_get_stats(s, &st);
	assert_int_equal(st.objects, c->want.objects);
	assert_int_equal(st.parameters, c->want.parameters);
	assert_int_equal(st.commands, c->want.commands);
	assert_int_equal(st.events, c->want.events);
	assert_string_equal(dm_schema_model_name(s), "Device:2.19");
	assert_int_equal(s->n_nodes, st.objects + st.parameters + st.commands + st.events);
	dm_schema_free(s);
}

static void test_official_stats_usp(void **state)
{
	check_official_stats(&stats_cases[0]);
}

static void test_official_stats_cwmp(void **state)
{
	check_official_stats(&stats_cases[1]);
}

/* Every default a schema carries must be a valid value of its parameter:
 * defaults are materialised on Add without another check. */
static unsigned check_defaults(const dm_node *obj, unsigned *total)
{
	unsigned bad = 0;
	for (const dm_node *c = dm_node_first_child(obj); c; c = dm_node_next_sibling(c)) {
		if (dm_node_get_kind(c) == DM_NODE_OBJECT) {
			bad += check_defaults(c, total);
			continue;
		}
		if (dm_node_get_kind(c) != DM_NODE_PARAM || !dm_node_default(c))
			continue;
		dm_errinfo err = {0};
		(*total)++;
		if (dm_value_check(c, dm_node_default(c), NULL, &err) != DM_OK) {
			print_message("%s default '%s': %s\n", dm_node_path(c), dm_node_default(c), err.msg);
			bad++;
		}
	}
	return bad;
}

static void check_defaults_of(const char *path)
{
	dm_schema *s = NULL;
	dm_errinfo err = {0};
	unsigned total = 0;
	if (dm_schema_load(path, &s, &err) != DM_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(check_defaults(dm_schema_root(s), &total), 0);
	assert_true(total > 100);
	dm_schema_free(s);
}

/* activeNotify: forceEnabled and forceDefaultEnabled differ for the ACS
 * (only the second may be switched off), so they stay apart. */
static void check_active_notify_of(const char *file)
{
	static const struct {
		const char *path;
		dm_active_notify want;
	} cases[] = {
		{"Device.DeviceInfo.SoftwareVersion", DM_NOTIFY_FORCED},
		{"Device.DeviceInfo.ProvisioningCode", DM_NOTIFY_FORCED},
		{"Device.ManagementServer.ConnectionRequestURL", DM_NOTIFY_DEFAULT_ACTIVE},
		{"Device.ManagementServer.ConnReqJabberID", DM_NOTIFY_DEFAULT_ACTIVE},
		{"Device.DeviceInfo.UpTime", DM_NOTIFY_CAN_DENY},
		{"Device.DeviceInfo.Manufacturer", DM_NOTIFY_NORMAL},
	};
	dm_schema *s = NULL;
	dm_errinfo err = {0};

	if (dm_schema_load(file, &s, &err) != DM_OK)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < N(cases); i++) {
		const dm_node *p = find(s, cases[i].path);
		if (dm_node_active_notify(p) != cases[i].want)
			fail_msg("%s: %s activeNotify %d, want %d", file, cases[i].path,
				 (int)dm_node_active_notify(p), (int)cases[i].want);
	}
	assert_int_equal(dm_node_active_notify(find(s, "Device.DeviceInfo.")), DM_NOTIFY_NORMAL);
	dm_schema_free(s);
}

static void test_active_notify(void **state)
{
	char buf[600];
	const char *path = official("tr-181-2-19-1-cwmp-full.xml", buf, sizeof buf);

	(void)state;
	check_active_notify_of("datamodel/device2.xml");
	if (path)
		check_active_notify_of(path);
}

static void test_defaults_are_valid(void **state)
{
	char buf[600];
	const char *files[] = {"tr-181-2-19-1-usp-full.xml", "tr-181-2-19-1-cwmp-full.xml"};
	check_defaults_of("datamodel/device2.xml");
	for (size_t i = 0; i < 2; i++) {
		const char *path = official(files[i], buf, sizeof buf);
		if (!path)
			skip();
		check_defaults_of(path);
	}
}

static dm_schema *usp(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static void test_usp_interface(void **state)
{
	dm_schema *s = usp(state);
	const dm_node *ip = find(s, "Device.IP."), *itf = find(s, "Device.IP.Interface.{i}.");
	const dm_node *p;

	assert_true(dm_node_is_table(itf));
	assert_string_equal(dm_node_name(itf), "Interface");
	assert_ptr_equal(dm_node_parent(itf), ip);
	assert_ptr_equal(dm_node_child(ip, "Interface", 9), itf);
	assert_int_equal(itf->u.obj.max_entries, UINT32_MAX);
	assert_int_equal(itf->u.obj.min_entries, 0);
	assert_ptr_equal(itf->u.obj.alias_param, find(s, "Device.IP.Interface.{i}.Alias"));
	assert_ptr_equal(find(s, "Device.IP.InterfaceNumberOfEntries")->u.param.counts_table, itf);

	assert_int_equal(itf->u.obj.n_keys, 2); /* Alias and Name, neither functional */
	assert_false(itf->u.obj.keys[0].functional);
	assert_string_equal(dm_node_name(itf->u.obj.keys[0].params[0]), "Alias");
	assert_false(itf->u.obj.keys[1].functional);
	assert_string_equal(dm_node_name(itf->u.obj.keys[1].params[0]), "Name");
	p = find(s, "Device.DeviceInfo.VendorConfigFile.{i}.");
	assert_int_equal(p->u.obj.n_keys, 2);
	assert_true(p->u.obj.keys[1].functional);
	assert_int_equal(p->u.obj.keys[1].n_params, 1);
	assert_ptr_equal(p->u.obj.keys[1].params[0],
			 find(s, "Device.DeviceInfo.VendorConfigFile.{i}.Name"));

	p = find(s, "Device.IP.Interface.{i}.Stats.BytesSent");
	assert_int_equal(dm_node_type(p), DM_TYPE_UNSIGNED_LONG);
	assert_string_equal(dm_node_type_name(p), "StatsCounter64");
	assert_int_equal(dm_node_active_notify(p), DM_NOTIFY_CAN_DENY);

	p = find(s, "Device.IP.Interface.{i}.Alias");
	assert_int_equal(dm_node_access(p), DM_ACCESS_WRITE_ONCE_READ_ONLY);
	assert_string_equal(dm_node_type_name(p), "_AliasUSP");
	assert_int_equal(p->u.param.facets.max_len, 64);

	p = find(s, "Device.IP.Interface.{i}.Enable");
	assert_string_equal(dm_node_default(p), "false");
	assert_false(p->u.param.default_is_factory);
	p = find(s, "Device.UserInterface.Enable");
	assert_string_equal(dm_node_default(p), "true");
	assert_true(p->u.param.default_is_factory);
	assert_true(find(s, "Device.Cellular.AccessPoint.{i}.Password")->u.param.hidden);
}

static void test_usp_types(void **state)
{
	dm_schema *s = usp(state);
	const dm_node *p = find(s, "Device.DNS.Client.Server.{i}.DNSServer");
	const dm_facets *f = &p->u.param.facets;

	assert_string_equal(f->type_name, "IPAddress");
	assert_int_equal(f->base, DM_TYPE_STRING);
	assert_int_equal(f->max_len, 45);

	f = &find(s, "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress")->u.param.facets;
	assert_string_equal(f->type_name, "IPv4Address"); /* base IPAddress, own facets */
	assert_int_equal(f->max_len, 15);
	assert_int_equal(f->n_patterns, 2);
	assert_string_equal(f->patterns[0].xsd, "");

	f = &find(s, "Device.Ethernet.Interface.{i}.MACAddress")->u.param.facets;
	assert_string_equal(f->type_name, "MACAddress");
	assert_int_equal(f->max_len, 17);

	/* Two <size>s in the dataType (0..0 or 36..260): their envelope. */
	f = &find(s, "Device.DOCSIS.DownstreamChannel.{i}.SignalQuality.EqualizationData")
		     ->u.param.facets;
	assert_string_equal(f->type_name, "DocsEqualizerData");
	assert_int_equal(f->base, DM_TYPE_HEXBINARY);
	assert_true(f->has_size);
	assert_int_equal(f->min_len, 0);
	assert_int_equal(f->max_len, 260);

	f = &find(s, "Device.DeviceInfo.AdditionalHardwareVersion")->u.param.facets;
	assert_true(f->is_list && f->list_has_size);
	assert_int_equal(f->list_max_len, 64);

	f = &find(s, "Device.DeviceInfo.TemperatureStatus.TemperatureSensor.{i}.Value")
		     ->u.param.facets;
	assert_int_equal(f->base, DM_TYPE_INT);
	assert_int_equal(f->ranges[0].s_min, -274);
	assert_false(f->ranges[0].has_max);
}

static void test_usp_commands_events(void **state)
{
	dm_schema *s = usp(state);
	const dm_node *root = dm_schema_root(s);
	const dm_node *reboot = find(s, "Device.Reboot()"), *boot = find(s, "Device.Boot!");
	const dm_node *backup = find(s, "Device.DeviceInfo.VendorConfigFile.{i}.Backup()");
	const dm_node *pm = find(s, "Device.HPNA.Diagnostics.PerformanceMonitoring()");
	const dm_node *a;

	assert_ptr_equal(dm_node_child(root, "Reboot()", 8), reboot);
	assert_ptr_equal(dm_node_child(root, "Boot!", 5), boot);
	assert_false(dm_node_is_async(reboot));
	assert_string_equal(dm_node_name(dm_node_first_input(reboot)), "Cause");
	assert_null(dm_node_first_output(reboot));

	assert_string_equal(dm_node_name(boot), "Boot!");
	assert_string_equal(dm_node_name(dm_node_first_input(boot)), "CommandKey");
	assert_int_equal(dm_node_type(arg(dm_node_first_input(boot), "FirmwareUpdated")),
			 DM_TYPE_BOOLEAN);
	assert_string_equal(dm_node_type_name(arg(dm_node_first_input(boot), "ParameterMap")),
			    "JSONObject");

	assert_true(dm_node_is_async(backup));
	a = arg(dm_node_first_input(backup), "URL");
	assert_true(dm_node_is_mandatory(a));
	assert_string_equal(dm_node_type_name(a), "URL");
	assert_false(dm_node_is_mandatory(arg(
		dm_node_first_input(find(s, "Device.DeviceInfo.VendorConfigFile.{i}.Restore()")),
		"FileSize")));

	/* Output argument objects nest: Nodes. holds Node.{i}. */
	a = arg(dm_node_first_output(pm), "Nodes");
	a = dm_node_child(a, "Node", 4);
	assert_non_null(a);
	assert_true(dm_node_is_table(a));
	assert_string_equal(dm_node_path(dm_node_child(a, "MACAddress", 10)),
			    "Nodes.Node.{i}.MACAddress");
}

/* Every indexed node is found by its path and by name from its parent. */
static void test_usp_table_accessors(void **state)
{
	dm_schema *s = usp(state);
	const dm_node *ctl = find(s, "Device.LocalAgent.Controller.{i}.");
	assert_int_equal(dm_node_min_entries(ctl), 0);
	assert_int_equal(dm_node_max_entries(ctl), UINT32_MAX);
	assert_true(dm_node_unique_key_count(ctl) >= 2);
	bool functional = false, saw_endpoint = false;
	const dm_node *const *params;
	unsigned n;
	for (unsigned i = 0; i < dm_node_unique_key_count(ctl); i++) {
		assert_int_equal(dm_node_unique_key(ctl, i, &functional, &params, &n), DM_OK);
		if (n == 1 && !strcmp(dm_node_name(params[0]), "EndpointID"))
			saw_endpoint = functional;
	}
	assert_true(saw_endpoint);
	assert_int_equal(dm_node_unique_key(ctl, 99, &functional, &params, &n), DM_ERR_NOT_IN_SCHEMA);
	assert_true(dm_node_is_hidden(find(s, "Device.Cellular.AccessPoint.{i}.Password")));
	assert_false(dm_node_is_hidden(find(s, "Device.Cellular.AccessPoint.{i}.Enable")));
	assert_int_equal(dm_node_max_entries(find(s, "Device.DeviceInfo.")), 1);
}

static void test_usp_index_consistent(void **state)
{
	dm_schema *s = usp(state);

	for (uint32_t i = 0; i < s->n_nodes; i++) {
		const dm_node *n = s->nodes[i], *parent = dm_node_parent(n);
		const char *name = dm_node_name(n);

		assert_int_equal(n->id, i);
		if (dm_schema_find(s, dm_node_path(n)) != n)
			fail_msg("find(%s) failed", dm_node_path(n));
		if (parent && dm_node_child(parent, name, strlen(name)) != n)
			fail_msg("child(%s, %s) failed", dm_node_path(parent), name);
		if (!parent)
			assert_ptr_equal(n, dm_schema_root(s));
	}
	assert_null(dm_schema_find(s, "Device.IP.Interface.1."));
	assert_null(dm_schema_find(s, "Device.IP.Interface."));
	assert_null(dm_schema_find_n(s, "Device.IP.Interface.{i}.Name", 9));
	assert_ptr_equal(dm_schema_find_n(s, "Device.IP.Interface.{i}.Name", 10 + 14),
			 find(s, "Device.IP.Interface.{i}."));
}

/* ---------------------------------------------------------------------------
 * Runner
 * ------------------------------------------------------------------------- */

/* One group (tests/run.sh reads one summary per binary): a temp dir for the
 * written files, and the USP file loaded once for the lookup tests (their
 * group state; NULL when the file is absent). */
static int group_setup(void **state)
{
	char buf[600];
	const char *path;
	dm_schema *s = NULL;
	dm_errinfo err = {0};

	*state = NULL;
	if (!mkdtemp(tmpdir))
		return -1;
	path = official("tr-181-2-19-1-usp-full.xml", buf, sizeof buf);
	if (path && dm_schema_load(path, &s, &err) != DM_OK) {
		print_error("%s\n", err.msg);
		return -1;
	}
	*state = s;
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(*state);
	for (size_t i = 0; i < n_tmpfiles; i++)
		unlink(tmpfiles[i]);
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_tree),
		cmocka_unit_test(test_synthetic_facets),
		cmocka_unit_test(test_synthetic_arguments),
		cmocka_unit_test(test_accessors_neutral),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_official_stats_usp),
		cmocka_unit_test(test_official_stats_cwmp),
		cmocka_unit_test(test_usp_interface),
		cmocka_unit_test(test_usp_types),
		cmocka_unit_test(test_usp_commands_events),
		cmocka_unit_test(test_usp_index_consistent),
		cmocka_unit_test(test_usp_table_accessors),
		cmocka_unit_test(test_defaults_are_valid),
		cmocka_unit_test(test_active_notify),
	};

	return cmocka_run_group_tests_name("schema", tests, group_setup, group_teardown);
}
