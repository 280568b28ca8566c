/*
 * tests/cwmp/test_cwmp_codec.c - the gSOAP serialisers generated from wsdl/
 * write and read CWMP envelopes as the wire needs them.
 *
 * Covers the generated code only (soapC.c); cwmp/'s adapter is tested in
 * test_cwmp_adapter.c. An Inform is written and checked against the official
 * cwmp-1-2.xsd when ../shared/bbf is present; an ACS GetParameterValues
 * envelope, in the 1.2 and in the 1.0 namespace, is read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "soapH.h"
#include "cwmp.nsmap"

#ifndef CWMP_TEST_DIR
#define CWMP_TEST_DIR "tests/cwmp"
#endif

/* Input table: one prefix for every CWMP namespace version. gSOAP matches
 * the third column as a pattern, so cwmp-1-0 and cwmp-1-1 envelopes land on
 * the same generated types; output keeps the version in the second column. */
static struct Namespace any_version_ns[] = {
	{"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", NULL, NULL},
	{"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/", NULL, NULL},
	{"xsi", "http://www.w3.org/2001/XMLSchema-instance", NULL, NULL},
	{"xsd", "http://www.w3.org/2001/XMLSchema", NULL, NULL},
	{"cwmp", "urn:dslforum-org:cwmp-1-2", "urn:dslforum-org:cwmp-1-*", NULL},
	{NULL, NULL, NULL, NULL},
};

static struct soap *new_ctx(void)
{
	struct soap *soap = soap_new1(SOAP_C_UTFSTRING | SOAP_XML_TREE);
	assert_non_null(soap);
	soap_set_namespaces(soap, namespaces);
	soap_set_version(soap, 1);
	return soap;
}

static void free_ctx(struct soap *soap)
{
	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
}

static struct cwmp__ParameterValueStruct *pv(struct soap *soap, const char *name,
					     const char *value, const char *type)
{
	struct cwmp__ParameterValueStruct *p = soap_new_cwmp__ParameterValueStruct(soap, 1);
	p->Name = soap_strdup(soap, name);
	p->Value.__item = soap_strdup(soap, value);
	p->Value.xsi__type = soap_strdup(soap, type);
	return p;
}

/* Writes a 1 BOOT Inform with a cwmp:ID header; returns managed text. */
static const char *write_inform(struct soap *soap)
{
	static struct cwmp__DeviceIdStruct dev = {"duet", "0A1B2C", "Gateway", "SN0001"};
	struct cwmp__EventStruct *ev = soap_new_cwmp__EventStruct(soap, 1);
	struct EventList events = {0};
	struct ParameterValueList params = {0};
	struct _cwmp__Inform inform = {0};
	struct _cwmp__ID id = {0};
	struct SOAP_ENV__Header hdr = {0};
	const char *out = NULL;

	ev->EventCode = "1 BOOT";
	ev->CommandKey = "";
	events.__ptrEventStruct = &ev;
	events.__size = 1;
	params.__ptrParameterValueStruct = soap_malloc(soap, 2 * sizeof(void *));
	params.__ptrParameterValueStruct[0] =
		pv(soap, "Device.DeviceInfo.SoftwareVersion", "1.0.0", "xsd:string");
	params.__ptrParameterValueStruct[1] =
		pv(soap, "Device.ManagementServer.PeriodicInformInterval", "3600", "xsd:unsignedInt");
	params.__size = 2;

	inform.DeviceId = &dev;
	inform.Event = &events;
	inform.MaxEnvelopes = 1;
	inform.CurrentTime = "2026-11-25T09:30:00Z";
	inform.RetryCount = 0;
	inform.ParameterList = &params;

	id.__item = "duet-1";
	id.SOAP_ENV__mustUnderstand = "1";
	hdr.cwmp__ID = &id;
	soap->header = &hdr;

	/* TR-069 3.4.1: SOAP 1.1 with SOAP encoding declared on the envelope */
	soap->encodingStyle = "";
	soap->os = &out;
	soap_serializeheader(soap);
	soap_serialize__cwmp__Inform(soap, &inform);
	if (soap_begin_send(soap) || soap_envelope_begin_out(soap) || soap_putheader(soap) ||
	    soap_body_begin_out(soap) ||
	    soap_put__cwmp__Inform(soap, &inform, "cwmp:Inform", NULL) ||
	    soap_body_end_out(soap) || soap_envelope_end_out(soap) || soap_end_send(soap))
		fail_msg("serialise Inform: gSOAP error %d", soap->error);
	soap->os = NULL;
	soap->header = NULL;
	return out;
}

static void test_inform_serialises(void **state)
{
	struct soap *soap = new_ctx();
	const char *xml = write_inform(soap);

	assert_non_null(xml);
	assert_non_null(strstr(xml, "xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\""));
	assert_non_null(strstr(xml, "<cwmp:ID SOAP-ENV:mustUnderstand=\"1\">duet-1</cwmp:ID>"));
	assert_non_null(strstr(xml, "<cwmp:Inform>"));
	assert_non_null(strstr(xml, "SOAP-ENC:arrayType=\"cwmp:EventStruct[1]\""));
	assert_non_null(strstr(xml, "SOAP-ENC:arrayType=\"cwmp:ParameterValueStruct[2]\""));
	assert_non_null(strstr(xml, "<EventCode>1 BOOT</EventCode>"));
	assert_non_null(strstr(xml, "<MaxEnvelopes>1</MaxEnvelopes>"));
	assert_non_null(strstr(xml, "<RetryCount>0</RetryCount>"));
	assert_non_null(strstr(xml, "<Value xsi:type=\"xsd:unsignedInt\">3600</Value>"));
	assert_non_null(strstr(xml, "<Value xsi:type=\"xsd:string\">1.0.0</Value>"));
	free_ctx(soap);
}

/* Writes a catalog that resolves the schema URLs used by xsd/validate.xsd
 * and by the official schema's imports: SOAP envelope and encoding go to our
 * stand-ins, the CWMP schema to the copy under $SHARED/bbf. */
static int write_catalog(const char *path, const char *xsd_dir, const char *cwmp_xsd)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f,
		"<?xml version=\"1.0\"?>\n"
		"<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n"
		" <uri name=\"http://schemas.xmlsoap.org/soap/envelope/\" uri=\"file://%s/soap-envelope.xsd\"/>\n"
		" <uri name=\"http://schemas.xmlsoap.org/soap/encoding/\" uri=\"file://%s/soap-encoding.xsd\"/>\n"
		" <uri name=\"http://www.broadband-forum.org/cwmp/cwmp-1-2.xsd\" uri=\"file://%s\"/>\n"
		"</catalog>\n",
		xsd_dir, xsd_dir, cwmp_xsd);
	return fclose(f) == 0 ? 0 : -1;
}

/* The serialised Inform, envelope and header included, against the
 * official cwmp-1-2.xsd; skipped when ../shared/bbf or xmllint is absent. */
static void test_inform_validates(void **state)
{
	const char *shared = getenv("SHARED");
	char xsd[1024], cwmp_xsd[PATH_MAX], xsd_dir[PATH_MAX], cmd[8192];
	char doc[] = "/tmp/cwmp-inform-XXXXXX", cat[] = "/tmp/cwmp-catalog-XXXXXX";
	struct soap *soap;
	const char *xml;
	FILE *f;
	int fd, rc;

	if (!shared || !*shared)
		shared = "../shared";
	snprintf(xsd, sizeof xsd, "%s/bbf/cwmp-1-2.xsd", shared);
	if (!realpath(xsd, cwmp_xsd) || system("command -v xmllint >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	assert_non_null(realpath(CWMP_TEST_DIR "/xsd", xsd_dir));

	soap = new_ctx();
	xml = write_inform(soap);
	fd = mkstemp(doc);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(xml, f);
	assert_int_equal(fclose(f), 0);
	fd = mkstemp(cat);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(write_catalog(cat, xsd_dir, cwmp_xsd), 0);

	snprintf(cmd, sizeof cmd,
		 "out=$(XML_CATALOG_FILES='%s' xmllint --nonet --noout --schema '%s/validate.xsd' '%s' 2>&1)"
		 " || { echo \"$out\" >&2; exit 1; }",
		 cat, xsd_dir, doc);
	rc = system(cmd);
	unlink(doc);
	unlink(cat);
	free_ctx(soap);
	assert_int_equal(rc, 0);
}

/* A CPE fault (TR-069 A.5): SOAP-ENV:Fault whose detail holds cwmp:Fault,
 * here with one SetParameterValuesFault entry. */
static void test_fault_serialises(void **state)
{
	struct soap *soap = new_ctx();
	struct cwmp__SetParameterValuesFaultStruct spvf = {
		"Device.ManagementServer.PeriodicInformInterval", 9007, "Invalid parameter value"};
	struct _cwmp__Fault cwmp_fault = {9003, "Invalid arguments", 1, &spvf};
	struct SOAP_ENV__Detail detail = {0};
	const char *xml = NULL;

	soap_fault(soap);
	soap->fault->faultcode = "Client";
	soap->fault->faultstring = "CWMP fault";
	detail.cwmp__Fault = &cwmp_fault;
	soap->fault->detail = &detail;
	soap->encodingStyle = "";
	soap->os = &xml;
	soap_serializefault(soap);
	if (soap_begin_send(soap) || soap_envelope_begin_out(soap) || soap_body_begin_out(soap) ||
	    soap_putfault(soap) || soap_body_end_out(soap) || soap_envelope_end_out(soap) ||
	    soap_end_send(soap))
		fail_msg("serialise Fault: gSOAP error %d", soap->error);
	soap->os = NULL;

	assert_non_null(xml);
	assert_non_null(strstr(xml, "<SOAP-ENV:Fault>"));
	assert_non_null(strstr(xml, "<faultcode>Client</faultcode>"));
	assert_non_null(strstr(xml, "<detail><cwmp:Fault><FaultCode>9003</FaultCode>"
				    "<FaultString>Invalid arguments</FaultString>"
				    "<SetParameterValuesFault><ParameterName>"));
	assert_non_null(strstr(xml, "<FaultCode>9007</FaultCode>"));
	soap->fault->detail = NULL;
	free_ctx(soap);
}

#define GPV_ENVELOPE(NS)                                                                    \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                         \
	"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"\n"            \
	" xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\"\n"                       \
	" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"\n"                                    \
	" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"                           \
	" xmlns:cwmp=\"" NS "\"\n"                                                             \
	" soap:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\n"                 \
	" <soap:Header>\n"                                                                     \
	"  <cwmp:ID soap:mustUnderstand=\"1\">acs-42</cwmp:ID>\n"                              \
	" </soap:Header>\n"                                                                    \
	" <soap:Body>\n"                                                                       \
	"  <cwmp:GetParameterValues>\n"                                                        \
	"   <ParameterNames soapenc:arrayType=\"xsd:string[2]\">\n"                            \
	"    <string>Device.DeviceInfo.</string>\n"                                            \
	"    <string xsi:type=\"xsd:string\">Device.ManagementServer.URL</string>\n"           \
	"   </ParameterNames>\n"                                                               \
	"  </cwmp:GetParameterValues>\n"                                                       \
	" </soap:Body>\n"                                                                      \
	"</soap:Envelope>\n"

static void read_gpv(struct soap *soap, const char *text)
{
	struct _cwmp__GetParameterValues gpv;

	soap->is = text;
	soap_default__cwmp__GetParameterValues(soap, &gpv);
	if (soap_begin_recv(soap) || soap_envelope_begin_in(soap) || soap_recv_header(soap) ||
	    soap_body_begin_in(soap))
		fail_msg("envelope: gSOAP error %d", soap->error);
	if (!soap_get__cwmp__GetParameterValues(soap, &gpv, "cwmp:GetParameterValues", NULL))
		fail_msg("GetParameterValues: gSOAP error %d", soap->error);
	if (soap_body_end_in(soap) || soap_envelope_end_in(soap) || soap_end_recv(soap))
		fail_msg("envelope end: gSOAP error %d", soap->error);
	soap->is = NULL;

	assert_non_null(soap->header);
	assert_non_null(soap->header->cwmp__ID);
	assert_string_equal(soap->header->cwmp__ID->__item, "acs-42");
	assert_string_equal(soap->header->cwmp__ID->SOAP_ENV__mustUnderstand, "1");
	assert_non_null(gpv.ParameterNames);
	assert_int_equal(gpv.ParameterNames->__size, 2);
	assert_string_equal(gpv.ParameterNames->__ptrstring[0], "Device.DeviceInfo.");
	assert_string_equal(gpv.ParameterNames->__ptrstring[1], "Device.ManagementServer.URL");
}

static void test_gpv_deserialises(void **state)
{
	struct soap *soap = new_ctx();

	read_gpv(soap, GPV_ENVELOPE("urn:dslforum-org:cwmp-1-2"));
	free_ctx(soap);
}

/* A CWMP 1.0 ACS uses urn:dslforum-org:cwmp-1-0 for the same elements. */
static void test_gpv_older_namespace(void **state)
{
	struct soap *soap = new_ctx();

	soap_set_namespaces(soap, any_version_ns);
	read_gpv(soap, GPV_ENVELOPE("urn:dslforum-org:cwmp-1-0"));
	free_ctx(soap);
}

/* Without the pattern a 1-0 envelope must not be mistaken for 1-2. */
static void test_gpv_namespace_mismatch(void **state)
{
	struct soap *soap = new_ctx();
	struct _cwmp__GetParameterValues gpv;

	soap->is = GPV_ENVELOPE("urn:dslforum-org:cwmp-1-0");
	soap_default__cwmp__GetParameterValues(soap, &gpv);
	if (soap_begin_recv(soap) == SOAP_OK && soap_envelope_begin_in(soap) == SOAP_OK &&
	    soap_recv_header(soap) == SOAP_OK && soap_body_begin_in(soap) == SOAP_OK)
		assert_null(soap_get__cwmp__GetParameterValues(soap, &gpv,
							       "cwmp:GetParameterValues", NULL));
	assert_int_not_equal(soap->error, SOAP_OK);
	free_ctx(soap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inform_serialises),
		cmocka_unit_test(test_inform_validates),
		cmocka_unit_test(test_fault_serialises),
		cmocka_unit_test(test_gpv_deserialises),
		cmocka_unit_test(test_gpv_older_namespace),
		cmocka_unit_test(test_gpv_namespace_mismatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
