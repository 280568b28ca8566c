/*
 * cwmp/codec.c - the thin adapter between cwmp_msg (cwmp/codec.h) and the
 * gSOAP serialisers generated from wsdl/ into $(BUILD)/cwmp/gen: what both
 * directions share (namespace tables, gSOAP contexts, value types, status
 * texts). Reading is in codec_decode.c, writing in codec_encode.c, the
 * software module RPCs in codec_du.c; no gSOAP type leaves these files.
 * Session rules are not here.
 */
#include "cwmp/codec_priv.h"

#include <string.h>

/* the generated namespace table; defined here once for the program */
#include "cwmp.nsmap"

/* ---- value types (TR-069 Table 12): a rule is a row ---- */

static const char *const type_names[] = {
	[CWMP_TYPE_STRING] = "string",           [CWMP_TYPE_INT] = "int",
	[CWMP_TYPE_UNSIGNED_INT] = "unsignedInt", [CWMP_TYPE_LONG] = "long",
	[CWMP_TYPE_UNSIGNED_LONG] = "unsignedLong", [CWMP_TYPE_BOOLEAN] = "boolean",
	[CWMP_TYPE_DATETIME] = "dateTime",       [CWMP_TYPE_BASE64] = "base64",
	[CWMP_TYPE_HEXBINARY] = "hexBinary",
};

static const char *const type_wire[] = {
	[CWMP_TYPE_STRING] = "xsd:string",           [CWMP_TYPE_INT] = "xsd:int",
	[CWMP_TYPE_UNSIGNED_INT] = "xsd:unsignedInt", [CWMP_TYPE_LONG] = "xsd:long",
	[CWMP_TYPE_UNSIGNED_LONG] = "xsd:unsignedLong", [CWMP_TYPE_BOOLEAN] = "xsd:boolean",
	[CWMP_TYPE_DATETIME] = "xsd:dateTime",       [CWMP_TYPE_BASE64] = "xsd:base64Binary",
	[CWMP_TYPE_HEXBINARY] = "xsd:hexBinary",
};

/* Table 12 calls the type base64; XML Schema has no "base64", only
 * base64Binary (SOAP encoding's is SOAP-ENC:base64): an ACS checking
 * xsi:type against XML Schema rejects "xsd:base64". Both names are taken. */
static const char *const type_aliases[][2] = {
	{"base64Binary", "base64"},
};

static const char *local_type_name(const char *local)
{
	for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++)
		if (!strcmp(local, type_aliases[i][0]))
			return type_aliases[i][1];
	return local;
}

const char *cwmp_value_type_name(cwmp_value_type t)
{
	if ((unsigned)t >= CWMP_TYPE_UNKNOWN)
		return "xsd:string";
	return type_wire[t];
}

/* xsi:type arrives with whatever prefix the ACS bound to XML Schema
 * ("xsd:", "xs:", none); only the local name is compared. A missing
 * xsi:type is a string (Table 12: anySimpleType defaults to string). */
cwmp_value_type cwmp_codec_type_from_wire(const char *xsi)
{
	const char *local;
	size_t i;

	if (!xsi || !*xsi)
		return CWMP_TYPE_STRING;
	local = strchr(xsi, ':');
	local = local_type_name(local ? local + 1 : xsi);
	for (i = 0; i < CWMP_TYPE_UNKNOWN; i++)
		if (!strcmp(local, type_names[i]))
			return (cwmp_value_type)i;
	return CWMP_TYPE_UNKNOWN;
}

/* ---- namespace tables ---- */

/* Input: gSOAP matches the third column as a pattern, so cwmp-1-0 to
 * cwmp-1-4 all land on the generated types. */
void cwmp_codec_ns_table(struct Namespace t[6], const char *cwmp_out)
{
	static const struct Namespace base[6] = {
		{"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", NULL, NULL},
		{"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/", NULL, NULL},
		{"xsi", "http://www.w3.org/2001/XMLSchema-instance", NULL, NULL},
		{"xsd", "http://www.w3.org/2001/XMLSchema", NULL, NULL},
		{"cwmp", "urn:dslforum-org:cwmp-1-2", "urn:dslforum-org:cwmp-1-*", NULL},
		{NULL, NULL, NULL, NULL},
	};

	memcpy(t, base, sizeof base);
	if (cwmp_out)
		t[4].ns = cwmp_out;
}

struct soap *cwmp_codec_ctx_new(struct Namespace *ns)
{
	struct soap *soap = soap_new1(SOAP_C_UTFSTRING | SOAP_XML_TREE);

	if (!soap)
		return NULL;
	soap_set_namespaces(soap, ns);
	soap_set_version(soap, 1);
	return soap;
}

void cwmp_codec_ctx_free(struct soap *soap)
{
	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
}

const char *cwmp_codec_strerror(int status)
{
	static const char *const text[] = {
		"success", "invalid argument", "out of memory", "malformed envelope",
		"unsupported method", "header not understood",
	};

	if (status > 0 || -status >= (int)(sizeof text / sizeof text[0]))
		return "unknown status";
	return text[-status];
}
