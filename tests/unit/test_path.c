/*
 * test_path.c - unit tests of the path expression parser (datamodel/path.c):
 * one table of USP, CWMP and relative paths with the expected parse or the
 * expected error position, plus allocation, limit and mutation tests.
 * Resolution against a schema is tested with resolve.c, not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

enum mode { USP, CWMP, REL };

/*
 * want is either the parse written out by dump() below, or "@N" for
 * DM_ERR_SYNTAX reported at byte offset N. Dump format, one token per
 * segment: "n:Name" (with "+" / "#N+" / "#*+" when following a reference),
 * "i:N", "*", "a:alias", "c:Command", "e:Event",
 * "s:[rel op value && ...]" (quoted values in double quotes, as decoded);
 * then " |" and "." for trailing_dot, "P" for has_pattern.
 */
struct path_case {
	enum mode mode;
	const char *in;
	const char *want;
};

#define A64 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"

static const struct path_case cases[] = {
	/* TR-369 "Path Names": mixed unique key and search */
	{USP, "Device.IP.Interface.[Name==\"eth0\"].IPv4Address.[Status==\"Enabled\"].IPAddress",
	 "n:Device n:IP n:Interface s:[Name == \"eth0\"] n:IPv4Address s:[Status == \"Enabled\"] "
	 "n:IPAddress |P"},
	/* "Relative Paths" */
	{USP, "Device.WiFi.Radio.1.", "n:Device n:WiFi n:Radio i:1 |."},
	{REL, "Status", "n:Status |"},
	{REL, "Stats.BytesSent", "n:Stats n:BytesSent |"},
	{REL, "Stats.BytesReceived", "n:Stats n:BytesReceived |"},
	/* "Addressing by Instance Number" / "by Unique Key": no trailing dot */
	{USP, "Device.IP.Interface.3", "n:Device n:IP n:Interface i:3 |"},
	{USP, "Device.IP.Interface.[Name==\"eth0\"]", "n:Device n:IP n:Interface s:[Name == \"eth0\"] |P"},
	{USP, "Device.IP.Interface.[Alias==\"WAN\"]", "n:Device n:IP n:Interface s:[Alias == \"WAN\"] |P"},
	{USP, "Device.NAT.PortMapping.[RemoteHost==\"\"&&ExternalPort==0&&Protocol==\"TCP\"].",
	 "n:Device n:NAT n:PortMapping "
	 "s:[RemoteHost == \"\" && ExternalPort == 0 && Protocol == \"TCP\"] |.P"},
	/* "Search Expression Examples", valid */
	{USP, "Device.IP.Interface.[Type==\"Normal\"].Status",
	 "n:Device n:IP n:Interface s:[Type == \"Normal\"] n:Status |P"},
	{USP, "Device.IP.Interface.[Type==\"Normal\"].IPv4Address.[AddressingType==\"Static\"].IPAddress",
	 "n:Device n:IP n:Interface s:[Type == \"Normal\"] n:IPv4Address "
	 "s:[AddressingType == \"Static\"] n:IPAddress |P"},
	{USP, "Device.IP.Interface.[Type==\"Normal\"&&Stats.ErrorsSent>0].IPv4Address."
	      "[AddressingType==\"Static\"].IPAddress",
	 "n:Device n:IP n:Interface s:[Type == \"Normal\" && Stats.ErrorsSent > 0] n:IPv4Address "
	 "s:[AddressingType == \"Static\"] n:IPAddress |P"},
	{USP, "Device.DSL.Line.[Enable==true].CurrentProfile",
	 "n:Device n:DSL n:Line s:[Enable == true] n:CurrentProfile |P"},
	{USP, "Device.DSL.Line.[Enable==1].CurrentProfile",
	 "n:Device n:DSL n:Line s:[Enable == 1] n:CurrentProfile |P"},
	{USP, "Device.IP.Interface.*.IPv6Address.[ValidLifetime<2021-06-06T08:00:00Z].IPAddress",
	 "n:Device n:IP n:Interface * n:IPv6Address s:[ValidLifetime < 2021-06-06T08:00:00Z] "
	 "n:IPAddress |P"},
	{USP, "Device.USB.USBHosts.Host.*.Device.[DeviceClass==08].",
	 "n:Device n:USB n:USBHosts n:Host * n:Device s:[DeviceClass == 08] |.P"},
	{USP, "Device.PCP.Client.*.Server.[Capabilities~=\"IPv6Firewall\"].",
	 "n:Device n:PCP n:Client * n:Server s:[Capabilities ~= \"IPv6Firewall\"] |.P"},
	{USP, "Device.PeriodicStatistics.SampleSet.[SampleSeconds~=5].",
	 "n:Device n:PeriodicStatistics n:SampleSet s:[SampleSeconds ~= 5] |.P"},
	/* "Search Expression Examples", not valid: empty, child table, braces */
	{USP, "Device.IP.Interface.[].", "@21"},
	{USP, "Device.IP.Interface.[Type==\"Normal\"&&IPv4Address.*.AddressingType==\"Static\"].Status",
	 "@49"},
	{USP, "Device.IP.Interface.{Type==\"Normal\"}.Status", "@20"},
	/* invalid only by type (boolean compared to a string): syntax is fine */
	{USP, "Device.DSL.Line.[Enable==\"true\"].CurrentProfile",
	 "n:Device n:DSL n:Line s:[Enable == \"true\"] n:CurrentProfile |P"},
	/* "Searching by Wildcard" */
	{USP, "Device.IP.Interface.*.", "n:Device n:IP n:Interface * |.P"},
	{USP, "Device.IP.Interface.*.Type", "n:Device n:IP n:Interface * n:Type |P"},
	/* "Reference Following", "List of References" */
	{USP, "Device.NAT.PortMapping.1.Interface+.Name",
	 "n:Device n:NAT n:PortMapping i:1 n:Interface+ n:Name |"},
	{USP, "Device.NAT.PortMapping.1.Interface+", "@35"},
	{USP, "Device.NAT.PortMapping.1.Interface+.", "n:Device n:NAT n:PortMapping i:1 n:Interface+ |."},
	{USP, "Device.WiFi.SSID.1.LowerLayers#1+.Name",
	 "n:Device n:WiFi n:SSID i:1 n:LowerLayers#1+ n:Name |"},
	{USP, "Device.WiFi.SSID.1.LowerLayers#*+.Name",
	 "n:Device n:WiFi n:SSID i:1 n:LowerLayers#*+ n:Name |P"},
	{USP, "Device.WiFi.SSID.1.LowerLayers#12+.Name",
	 "n:Device n:WiFi n:SSID i:1 n:LowerLayers#12+ n:Name |"},
	{USP, "Device.WiFi.AccessPoint.[SSIDReference+.SSID==\"MyHome\"].AssociatedDevice."
	      "[OperatingStandard==\"ac\"].SignalStrength",
	 "n:Device n:WiFi n:AccessPoint s:[SSIDReference+.SSID == \"MyHome\"] n:AssociatedDevice "
	 "s:[OperatingStandard == \"ac\"] n:SignalStrength |P"},
	/* "Operations and Command Path Names", "Event Path Names" */
	{USP, "Device.IP.Interface.[Name==\"eth0\"].Reset()",
	 "n:Device n:IP n:Interface s:[Name == \"eth0\"] c:Reset |P"},
	{USP, "Device.Boot!", "n:Device e:Boot |"},
	{USP, "Device.LocalAgent.Threshold.1.Triggered!",
	 "n:Device n:LocalAgent n:Threshold i:1 e:Triggered |"},
	{USP, "Device.SelfTestDiagnostics()", "n:Device c:SelfTestDiagnostics |"},
	/* message examples of TR-369 (Add, Delete, Get, Operate) */
	{USP, "Device.LocalAgent.Controller.[EndpointID==\"controller-temp\"].",
	 "n:Device n:LocalAgent n:Controller s:[EndpointID == \"controller-temp\"] |.P"},
	{USP, "Device.WiFi.SSID.[SSID==\"HomeNetwork\"&&BSSID==\"00:11:22:33:44:55\"].Status",
	 "n:Device n:WiFi n:SSID s:[SSID == \"HomeNetwork\" && BSSID == \"00:11:22:33:44:55\"] "
	 "n:Status |P"},
	{USP, "Device.LocalAgent.Subscription.[ID==\"boot-1\"&&Recipient==\"Device.LocalAgent."
	      "Controller.1\"].Enable",
	 "n:Device n:LocalAgent n:Subscription s:[ID == \"boot-1\" && Recipient == "
	 "\"Device.LocalAgent.Controller.1\"] n:Enable |P"},
	{USP, "Device.LocalAgent.MTP.[Alias==\"WS-MTP1\"].",
	 "n:Device n:LocalAgent n:MTP s:[Alias == \"WS-MTP1\"] |.P"},
	{USP, "Device.LocalAgent.Controller.[EndpointID==\"controller\"].SendOnBoardRequest()",
	 "n:Device n:LocalAgent n:Controller s:[EndpointID == \"controller\"] c:SendOnBoardRequest |P"},
	{USP, "Device.MoCA.Interface.*.Stats.", "n:Device n:MoCA n:Interface * n:Stats |.P"},
	{USP, "Device.MoCA.Interface.1.Stats.BroadPktSent",
	 "n:Device n:MoCA n:Interface i:1 n:Stats n:BroadPktSent |"},
	/* supported-model "{i}" is not an instantiated path */
	{USP, "Device.DeviceInfo.FirmwareImage.{i}.Activate()", "@32"},
	/* root */
	{USP, "Device.", "n:Device |."},
	{USP, "Device", "@6"},
	{USP, "Devices.IP.", "@6"},
	{USP, "device.IP.", "@0"},
	{USP, "Device.GatewayInfo", "n:Device n:GatewayInfo |"},
	{USP, "", "@0"},
	/* TR-106 vendor-specific names carry hyphens */
	{USP, "Device.X_EXAMPLE-COM_MyConfig.Status", "n:Device n:X_EXAMPLE-COM_MyConfig n:Status |"},
	{USP, "Device.X_EXAMPLE-COM_MyCommand()", "n:Device c:X_EXAMPLE-COM_MyCommand |"},
	{USP, "Device.X_EXAMPLE-COM_MyEvent!", "n:Device e:X_EXAMPLE-COM_MyEvent |"},
	{USP, "Device.UserInterface.X_012345_AdBanner", "n:Device n:UserInterface n:X_012345_AdBanner |"},
	{USP, "Device._Hidden9.a_b", "n:Device n:_Hidden9 n:a_b |"},
	/* whitespace around operators (R-ARC.9a) and at token boundaries */
	{USP, "Device.IP.Interface.[Type == \"Normal\"].Status",
	 "n:Device n:IP n:Interface s:[Type == \"Normal\"] n:Status |P"},
	{USP, "Device.IP.Interface.[ Type==\"Normal\" &&\tEnable==true ].",
	 "n:Device n:IP n:Interface s:[Type == \"Normal\" && Enable == true] |.P"},
	{USP, "Device.IP.Interface.[Ty pe==\"Normal\"].", "@24"},
	{USP, "Device.IP Interface", "@9"},
	{USP, " Device.IP", "@0"},
	{USP, "Device.IP.Interface.1.Name ", "@26"},
	/* quoted literals and percent escapes */
	{USP, "Device.T.[Name==\"a%22b%25c\"].", "n:Device n:T s:[Name == \"a\"b%c\"] |.P"},
	{USP, "Device.T.[Name==\"%4a%4A%2e\"].", "n:Device n:T s:[Name == \"JJ.\"] |.P"},
	{USP, "Device.T.[Name==\"a]b&&c==d [x]\"].", "n:Device n:T s:[Name == \"a]b&&c==d [x]\"] |.P"},
	{USP, "Device.T.[Name==\"%2\"].", "@17"},
	{USP, "Device.T.[Name==\"%zz\"].", "@17"},
	{USP, "Device.T.[Name==\"%0g\"].", "@17"},
	{USP, "Device.T.[Name==\"%00\"].", "@17"},
	{USP, "Device.T.[Name==\"abc].", "@22"},
	{USP, "Device.T.[Name==\"abc", "@20"},
	{USP, "Device.T.[Name==\"a\"\"b\"].", "@19"},
	/* operators */
	{USP, "Device.T.[A!=1&&B<=2&&C>=3&&D<4&&E>-5&&F~=x&&G==-1.5].",
	 "n:Device n:T s:[A != 1 && B <= 2 && C >= 3 && D < 4 && E > -5 && F ~= x && G == -1.5] |.P"},
	{USP, "Device.T.[A=1].", "@11"},
	{USP, "Device.T.[A=>1].", "@11"},
	{USP, "Device.T.[A<>1].", "@12"},
	{USP, "Device.T.[A!1].", "@11"},
	{USP, "Device.T.[A~1].", "@11"},
	{USP, "Device.T.[A].", "@11"},
	{USP, "Device.T.[A==].", "@13"},
	{USP, "Device.T.[A== ].", "@14"},
	{USP, "Device.T.[A==1 2].", "@15"},
	{USP, "Device.T.[A==x/y].", "@14"},
	/* "&&" placement, brackets */
	{USP, "Device.T.[A==1&&].", "@16"},
	{USP, "Device.T.[&&A==1].", "@10"},
	{USP, "Device.T.[A==1&B==2].", "@14"},
	{USP, "Device.T.[A==1||B==2].", "@14"},
	{USP, "Device.T.[A==1", "@14"},
	{USP, "Device.T.[A==1.", "@15"},
	{USP, "Device.T.[A==[1]].", "@13"},
	{USP, "Device.T.[[A==1]].", "@10"},
	{USP, "Device.T.A==1].", "@10"},
	{USP, "Device.T.1].", "@10"},
	{USP, "Device.T.[A==1]]", "@15"},
	{USP, "Device.T.[A==1][B==2].", "@15"},
	{USP, "Device.T.[A==1].[B==2].", "@16"},
	{USP, "Device.T.[", "@10"},
	{USP, "Device.T.]", "@9"},
	/* relative paths inside expressions */
	{USP, "Device.T.[Interface+==1].", "@20"},
	{USP, "Device.T.[Stats.==1].", "@16"},
	{USP, "Device.T.[Stats.1.X==1].", "@16"},
	{USP, "Device.T.[A#2+.B==\"x\"].", "n:Device n:T s:[A#2+.B == \"x\"] |.P"},
	{USP, "Device.T.[A#*+.B==\"x\"&&C+.D.E<=7].", "n:Device n:T s:[A#*+.B == \"x\" && C+.D.E <= 7] |.P"},
	{USP, "Device.T.[A#0+.B==\"x\"].", "@12"},
	/* segment structure */
	{USP, "Device..IP", "@7"},
	{USP, ".Device.IP", "@0"},
	{USP, "Device.IP.", "n:Device n:IP |."},
	{USP, "Device.IP..", "@10"},
	{USP, "Device.IP.Interface..Name", "@20"},
	{USP, "Device.IP.Interface.0.", "@20"},
	{USP, "Device.IP.Interface.01.", "@20"},
	{USP, "Device.IP.Interface.4294967295.", "n:Device n:IP n:Interface i:4294967295 |."},
	{USP, "Device.IP.Interface.4294967296.", "@20"},
	{USP, "Device.IP.Interface.1.2.", "@22"},
	{USP, "Device.IP.Interface.1.*.", "@22"},
	{USP, "Device.1.", "@7"},
	{USP, "Device.*.", "@7"},
	{USP, "Device.[A==1].", "@7"},
	{USP, "Device.IP.Interface.1a.", "@21"},
	{USP, "Device.IP.Interface.*a", "@21"},
	{USP, "Device.IP.Interface.-1.", "@20"},
	{USP, "Device.\xc3\x84IP.", "@7"},
	/* commands, events, reference following */
	{USP, "Device.Reboot().", "@15"},
	{USP, "Device.Reboot(", "@14"},
	{USP, "Device.Reboot(x)", "@14"},
	{USP, "Device.Boot!.", "@12"},
	{USP, "Device.Boot!x", "@12"},
	{USP, "Device.IP.Interface.1.Name+", "@27"},
	{USP, "Device.IP.Interface.1.Name#0+.X", "@27"},
	{USP, "Device.IP.Interface.1.Name#1.X", "@28"},
	{USP, "Device.IP.Interface.1.Name#+.X", "@27"},
	{USP, "Device.IP.Interface.1.Name#", "@27"},
	{USP, "Device.IP.Interface.1.Name++.X", "@27"},
	{USP, "Device.IP.Interface.1.Name+.2.", "@28"},
	{USP, "Device.IP.Interface.1.Name+.*.", "@28"},
	{USP, "Device.IP.Interface.1.Name+()", "@27"},
	{USP, "Device.IP.Interface.1.Name+.Reset()", "n:Device n:IP n:Interface i:1 n:Name+ c:Reset |"},
	{USP, "Device.A+.B#3+.C#*+.D",
	 "n:Device n:A+ n:B#3+ n:C#*+ n:D |P"},
	/* CWMP: instance numbers and Alias-based addressing only */
	{CWMP, "Device.IP.Interface.[wan].IPv4Address.[cpe-1].IPAddress",
	 "n:Device n:IP n:Interface a:wan n:IPv4Address a:cpe-1 n:IPAddress |"},
	{CWMP, "Device.IP.Interface.[wan].", "n:Device n:IP n:Interface a:wan |."},
	{CWMP, "Device.IP.Interface.1.Name", "n:Device n:IP n:Interface i:1 n:Name |"},
	{CWMP, "Device.IP.", "n:Device n:IP |."},
	{CWMP, "Device.", "n:Device |."},
	{CWMP, "Device.IP.Interface.[my wan.2].", "n:Device n:IP n:Interface a:my wan.2 |."},
	{CWMP, "Device.IP.Interface.[" A64 "].", "n:Device n:IP n:Interface a:" A64 " |."},
	{CWMP, "Device.IP.Interface.[" A64 "x].", "@85"},
	/* the brackets delimit an alias, whatever it holds */
	{CWMP, "Device.IP.Interface.[Name==\"eth0\"].", "n:Device n:IP n:Interface a:Name==\"eth0\" |."},
	{CWMP, "", "@0"},
	{CWMP, "Device", "@6"},
	{CWMP, "Device.IP.Interface.*.", "@20"},
	{CWMP, "Device.IP.Interface.[].", "@21"},
	{CWMP, "Device.IP.Interface.[1wan].", "@21"},
	{CWMP, "Device.IP.Interface.[-wan].", "@21"},
	{CWMP, "Device.IP.Interface.[wan", "@24"},
	{CWMP, "Device.IP.Interface.[w[an].", "@22"},
	{CWMP, "Device.IP.Interface.[w\tan].", "@22"},
	{CWMP, "Device.IP.Interface.[wan]", "@25"},
	{CWMP, "Device.IP.Interface.[wan].[lan].", "@26"},
	{CWMP, "Device.IP.Interface.1", "@21"},
	{CWMP, "Device.IP.Interface.0.", "@20"},
	{CWMP, "Device.Boot!", "@11"},
	{CWMP, "Device.Reboot()", "@13"},
	{CWMP, "Device.NAT.PortMapping.1.Interface+.Name", "@34"},
	{CWMP, "Device.WiFi.SSID.1.LowerLayers#1+.Name", "@30"},
	{CWMP, "Device.IP..", "@10"},
	/* relative paths (as inside search expressions) */
	{REL, "Interface+.Name", "n:Interface+ n:Name |"},
	{REL, "LowerLayers#*+.Name", "n:LowerLayers#*+ n:Name |P"},
	{REL, "SSIDReference+.SSID", "n:SSIDReference+ n:SSID |"},
	{REL, "Stats.", "@6"},
	{REL, "1.Name", "@0"},
	{REL, "Interface+", "@10"},
	{REL, "Reset()", "@5"},
	{REL, "Boot!", "@4"},
	{REL, "", "@0"},
	{REL, "A.*.B", "@2"},
	{REL, "A..B", "@2"},
	{REL, "A.[B==1].C", "@2"},
	{REL, ".A", "@0"},
};

/* ---- dump of a parsed path into the table's notation ---- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < b->cap - b->len);
	b->len += (size_t)n;
}

static void put_follow(sbuf *b, const dm_seg *s)
{
	if (s->follow == DM_FOLLOW_SINGLE) {
		assert_int_equal(s->list_index, 1);
		put(b, "+");
	} else if (s->follow == DM_FOLLOW_LIST) {
		if (s->list_index)
			put(b, "#%u+", (unsigned)s->list_index);
		else
			put(b, "#*+");
	}
}

static void put_seg(sbuf *b, const dm_seg *s)
{
	switch (s->kind) {
	case DM_SEG_NAME:
		put(b, "n:%s", s->name);
		put_follow(b, s);
		break;
	case DM_SEG_INSTANCE:
		put(b, "i:%u", (unsigned)s->inst);
		break;
	case DM_SEG_WILDCARD:
		put(b, "*");
		break;
	case DM_SEG_ALIAS:
		put(b, "a:%s", s->alias);
		break;
	case DM_SEG_COMMAND:
		put(b, "c:%s", s->name);
		break;
	case DM_SEG_EVENT:
		put(b, "e:%s", s->name);
		break;
	case DM_SEG_SEARCH:
		assert_true(s->n_conds > 0);
		put(b, "s:[");
		for (unsigned i = 0; i < s->n_conds; i++) {
			const dm_cond *c = &s->conds[i];

			put(b, "%s%s %s ", i ? " && " : "", c->rel_path, dm_cmp_op_str(c->op));
			put(b, c->quoted ? "\"%s\"" : "%s", c->value);
		}
		put(b, "]");
		break;
	}
	if (s->kind != DM_SEG_NAME)
		assert_int_equal(s->follow, DM_FOLLOW_NONE);
}

static void dump(const dm_path *p, char *out, size_t cap)
{
	sbuf b = {out, 0, cap};

	out[0] = '\0';
	for (unsigned i = 0; i < p->n_segs; i++) {
		if (i)
			put(&b, " ");
		put_seg(&b, &p->segs[i]);
	}
	put(&b, " |%s%s", p->trailing_dot ? "." : "", p->has_pattern ? "P" : "");
}

static int parse_mode(enum mode m, const char *in, dm_path *out, dm_errinfo *err)
{
	if (m == REL)
		return dm_path_parse_relative(in, out, err);
	return dm_path_parse(in, m == CWMP ? DM_GRAMMAR_CWMP : DM_GRAMMAR_USP, out, err);
}

/* Offset from a "position N: ..." message, or -1. */
static long msg_position(const char *msg)
{
	char *end;
	long v;

	if (strncmp(msg, "position ", 9) != 0)
		return -1;
	v = strtol(msg + 9, &end, 10);
	return *end == ':' ? v : -1;
}

/* ---- tests ---- */

/* Checks one case; returns false (after printing why) on a mismatch. */
static bool check_case(size_t i, const struct path_case *c)
{
	dm_errinfo err = {0};
	char got[2048];
	dm_path p;
	int rc = parse_mode(c->mode, c->in, &p, &err);

	if (c->want[0] == '@') {
		if (rc != DM_ERR_SYNTAX || err.code != DM_ERR_SYNTAX ||
		    msg_position(err.msg) != atol(c->want + 1)) {
			print_error("case %zu \"%s\": want error %s, got rc %d \"%s\"\n", i, c->in,
				    c->want, rc, rc ? err.msg : "");
			dm_path_free(&p);
			return false;
		}
		assert_string_equal(err.path, c->in);
		assert_null(p.mem);
		assert_int_equal(p.n_segs, 0);
		return true;
	}
	if (rc != DM_OK) {
		print_error("case %zu \"%s\": want ok, got %d \"%s\"\n", i, c->in, rc, err.msg);
		return false;
	}
	dump(&p, got, sizeof got);
	dm_path_free(&p);
	assert_null(p.mem);
	if (strcmp(got, c->want) != 0) {
		print_error("case %zu \"%s\":\n want %s\n  got %s\n", i, c->in, c->want, got);
		return false;
	}
	return true;
}

static void test_table(void **state)
{
	size_t n = sizeof cases / sizeof cases[0], bad = 0;

	(void)state;
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++)
		bad += !check_case(i, &cases[i]);
	if (bad)
		fail_msg("%zu of %zu cases failed", bad, n);
}

/* Every string and array lives in the one block, so free is one free(). */
static void assert_inside(const dm_path *p, const void *ptr, size_t n)
{
	const char *lo = p->mem, *hi = p->mem + malloc_usable_size(p->mem);

	assert_true((const char *)ptr >= lo && (const char *)ptr + n <= hi);
}

static void test_one_allocation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		dm_path p;

		if (cases[i].want[0] == '@' || parse_mode(cases[i].mode, cases[i].in, &p, NULL))
			continue;
		assert_ptr_equal(p.segs, p.mem);
		for (unsigned s = 0; s < p.n_segs; s++) {
			const dm_seg *g = &p.segs[s];

			assert_inside(&p, g, sizeof *g);
			if (g->name)
				assert_inside(&p, g->name, strlen(g->name) + 1);
			if (g->alias)
				assert_inside(&p, g->alias, strlen(g->alias) + 1);
			for (unsigned k = 0; k < g->n_conds; k++) {
				assert_inside(&p, &g->conds[k], sizeof g->conds[k]);
				assert_inside(&p, g->conds[k].rel_path, strlen(g->conds[k].rel_path) + 1);
				assert_inside(&p, g->conds[k].value, strlen(g->conds[k].value) + 1);
			}
		}
		dm_path_free(&p);
	}
}

static void test_cmp_op_str(void **state)
{
	static const struct {
		dm_cmp_op op;
		const char *text;
	} ops[] = {
		{DM_CMP_EQ, "=="}, {DM_CMP_NE, "!="}, {DM_CMP_LT, "<"},        {DM_CMP_GT, ">"},
		{DM_CMP_LE, "<="}, {DM_CMP_GE, ">="}, {DM_CMP_CONTAINS, "~="},
	};

	(void)state;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		assert_string_equal(dm_cmp_op_str(ops[i].op), ops[i].text);
	assert_string_equal(dm_cmp_op_str((dm_cmp_op)99), "?");
}

static void test_null_and_free(void **state)
{
	dm_errinfo err = {0};
	dm_path p;

	(void)state;
	assert_int_equal(dm_path_parse(NULL, DM_GRAMMAR_USP, &p, &err), DM_ERR_SYNTAX);
	assert_int_equal(err.code, DM_ERR_SYNTAX);
	assert_true(err.msg[0] != '\0');
	dm_path_free(&p);
	dm_path_free(NULL);
	/* err is optional */
	assert_int_equal(dm_path_parse("Device..", DM_GRAMMAR_USP, &p, NULL), DM_ERR_SYNTAX);
	assert_int_equal(dm_path_parse("Device.A", DM_GRAMMAR_USP, &p, NULL), DM_OK);
	dm_path_free(&p);
}

/* "Device." + "A." * k, cut to len bytes (a valid path ending in '.' or 'A'). */
static char *long_path(size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memcpy(s, "Device.", 7);
	for (size_t i = 7; i < len; i++)
		s[i] = (i % 2) ? 'A' : '.';
	s[len] = '\0';
	return s;
}

static void test_length_limit(void **state)
{
	dm_errinfo err = {0};
	dm_path p;
	char *s;

	(void)state;
	s = long_path(8192);
	assert_int_equal(dm_path_parse(s, DM_GRAMMAR_USP, &p, &err), DM_OK);
	assert_int_equal(p.n_segs, 1 + (8192 - 7 + 1) / 2);
	dm_path_free(&p);
	free(s);

	s = long_path(8193);
	assert_int_equal(dm_path_parse(s, DM_GRAMMAR_USP, &p, &err), DM_ERR_SYNTAX);
	assert_int_equal(msg_position(err.msg), 8192);
	free(s);

	s = long_path(1 << 20);
	assert_int_equal(dm_path_parse(s, DM_GRAMMAR_CWMP, &p, &err), DM_ERR_SYNTAX);
	assert_null(p.mem);
	free(s);
}

/* Many conditions in one expression: counts beyond a small fixed array. */
static void test_many_conditions(void **state)
{
	char buf[8192];
	size_t len = 0;
	dm_path p;
	dm_errinfo err = {0};

	(void)state;
	len += (size_t)snprintf(buf, sizeof buf, "Device.T.[");
	for (int i = 0; i < 500; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%sP%d==\"%%25%d\"", i ? "&&" : "", i, i);
	snprintf(buf + len, sizeof buf - len, "].");
	assert_int_equal(dm_path_parse(buf, DM_GRAMMAR_USP, &p, &err), DM_OK);
	assert_int_equal(p.n_segs, 3);
	assert_int_equal(p.segs[2].n_conds, 500);
	assert_string_equal(p.segs[2].conds[499].rel_path, "P499");
	assert_string_equal(p.segs[2].conds[499].value, "%499");
	dm_path_free(&p);
}

/* ---- mutation fuzzing: no crash, only DM_OK or DM_ERR_SYNTAX ---- */

static const char *const seeds[] = {
	"Device.WiFi.AccessPoint.[SSIDReference+.SSID==\"My%22Home\"&&Enable==true].AssociatedDevice."
	"[OperatingStandard!=\"ac\"].SignalStrength",
	"Device.NAT.PortMapping.[RemoteHost==\"\" && ExternalPort>=0&&Protocol~=\"TCP\"].Interface#*+.Name",
	"Device.IP.Interface.*.IPv6Address.[ValidLifetime<2021-06-06T08:00:00Z].Reset()",
	"Device.WiFi.SSID.12.LowerLayers#3+.X_EXAMPLE-COM_Event!",
	"Device.IP.Interface.[wan].IPv4Address.[cpe-1].IPAddress",
};

/* Walk everything a successful parse produced so that valgrind sees any
 * uninitialised or out-of-block byte. */
static void touch(const dm_path *p)
{
	size_t sum = 0;

	for (unsigned s = 0; s < p->n_segs; s++) {
		const dm_seg *g = &p->segs[s];

		sum += g->kind + g->inst + g->follow + g->list_index;
		if (g->name)
			sum += strlen(g->name);
		if (g->alias)
			sum += strlen(g->alias);
		for (unsigned k = 0; k < g->n_conds; k++)
			sum += strlen(g->conds[k].rel_path) + strlen(g->conds[k].value) +
			       g->conds[k].op + g->conds[k].quoted;
	}
	assert_true(sum > 0 || p->n_segs == 0);
}

/* Parse a heap copy of exactly n bytes so reading past the end is caught. */
static void fuzz_one(const char *src, size_t n, enum mode m)
{
	char *s = malloc(n + 1);
	dm_errinfo err = {0};
	dm_path p;
	int rc;

	assert_non_null(s);
	memcpy(s, src, n);
	s[n] = '\0';
	rc = parse_mode(m, s, &p, &err);
	if (rc == DM_OK) {
		touch(&p);
		dm_path_free(&p);
	} else {
		long pos = msg_position(err.msg);

		if (rc != DM_ERR_SYNTAX || pos < 0 || (size_t)pos > strlen(s))
			fail_msg("\"%s\": rc %d \"%s\"", s, rc, err.msg);
		assert_null(p.mem);
	}
	free(s);
}

static void test_fuzz_mutations(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
		const char *seed = seeds[k];
		size_t len = strlen(seed);
		char *buf = malloc(len + 1);

		assert_non_null(buf);
		for (enum mode m = USP; m <= REL; m++) {
			for (size_t n = 0; n <= len; n++)
				fuzz_one(seed, n, m);
		}
		for (size_t i = 0; i < len; i++) {
			for (int c = 1; c < 256; c++) {
				memcpy(buf, seed, len + 1);
				buf[i] = (char)c;
				fuzz_one(buf, len, USP);
				fuzz_one(buf, len, CWMP);
			}
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_one_allocation),
		cmocka_unit_test(test_cmp_op_str),
		cmocka_unit_test(test_null_and_free),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_many_conditions),
		cmocka_unit_test(test_fuzz_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
