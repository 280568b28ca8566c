/*
 * codec_fast.c - direct writers for the two answers that can hold the
 * whole tree: GetParameterValuesResponse and GetParameterNamesResponse.
 * gSOAP's serialiser spends about four times as long as the engine's walk
 * on such an envelope; these write the very same bytes (the adapter test
 * compares them with gSOAP's output) in one sized allocation. Any other
 * message, or a header beyond cwmp:ID, goes through gSOAP.
 */
#include "cwmp/codec_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fast_writers = true;

void cwmp_codec_use_fast_writers(bool on)
{
	fast_writers = on;
}

/* Bytes a text needs once escaped as gSOAP escapes element content: the
 * three markup characters, and control characters as references (tab and
 * line feed stay as they are). */
static size_t escaped_len(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != 0x7f)
			n++;
		else if (c == '&')
			n += 5;
		else if (c == '<' || c == '>')
			n += 4;
		else if (c == '\t' || c == '\n')
			n++;
		else
			n += c >= 0x10 ? 6 : 5; /* &#xHH; or &#xH; */
	}
	return n;
}

static char *put_escaped(char *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != 0x7f) {
			*o++ = (char)c;
		} else if (c == '&') {
			memcpy(o, "&amp;", 5);
			o += 5;
		} else if (c == '<' || c == '>') {
			memcpy(o, c == '<' ? "&lt;" : "&gt;", 4);
			o += 4;
		} else if (c == '\t' || c == '\n') {
			*o++ = (char)c;
		} else {
			*o++ = '&';
			*o++ = '#';
			*o++ = 'x';
			if (c >= 0x10)
				*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
			*o++ = ';';
		}
	}
	return o;
}

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}
#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

static const char env_open[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	"xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" "
	"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
	"xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:cwmp=\"" CWMP_URN;
static const char hdr_open[] = "<SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand=\"1\">";
static const char hdr_close[] = "</cwmp:ID></SOAP-ENV:Header>";
static const char body_open[] =
	"<SOAP-ENV:Body SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">";
static const char env_close[] = "</SOAP-ENV:Body></SOAP-ENV:Envelope>\r\n";

/* The parts of one answer's shape. */
typedef struct shape {
	const char *method;  /* "GetParameterValuesResponse" */
	const char *element; /* "ParameterValueStruct" */
} shape;

static const shape gpv_shape = {"GetParameterValuesResponse", "ParameterValueStruct"};
static const shape gpn_shape = {"GetParameterNamesResponse", "ParameterInfoStruct"};

/* Envelope, header, body and list openings; returns the end. */
static char *open_answer(char *o, const cwmp_msg *m, int ns_version, const shape *sh, size_t n)
{
	char tmp[160];
	int k;

	o = PUT_LIT(o, env_open);
	*o++ = (char)('0' + ns_version);
	o = PUT_LIT(o, "\">");
	if (m->hdr.id) {
		o = PUT_LIT(o, hdr_open);
		o = put_escaped(o, m->hdr.id);
		o = PUT_LIT(o, hdr_close);
	}
	o = PUT_LIT(o, body_open);
	k = snprintf(tmp, sizeof tmp, "<cwmp:%s>", sh->method);
	o = put(o, tmp, (size_t)k);
	k = snprintf(tmp, sizeof tmp, "<ParameterList SOAP-ENC:arrayType=\"cwmp:%s[%zu]\">", sh->element, n);
	return put(o, tmp, (size_t)k);
}

static char *close_answer(char *o, const shape *sh)
{
	char tmp[160];
	int k = snprintf(tmp, sizeof tmp, "</ParameterList></cwmp:%s>", sh->method);

	o = put(o, tmp, (size_t)k);
	return PUT_LIT(o, env_close);
}

/* Room for everything but the entries. */
static size_t frame_len(const cwmp_msg *m, const shape *sh)
{
	size_t n = sizeof env_open + 4 + sizeof body_open + sizeof env_close + 2 * strlen(sh->method) +
		   strlen(sh->element) + 128;

	if (m->hdr.id)
		n += sizeof hdr_open + sizeof hdr_close + escaped_len(m->hdr.id);
	return n;
}

static int finish(char *buf, char *end, char **xml, size_t *len)
{
	*end = 0;
	*xml = buf;
	*len = (size_t)(end - buf);
	return CWMP_CODEC_OK;
}

/* <Name>..</Name>, self-closed when empty as gSOAP writes it. */
static char *put_name(char *o, const char *name)
{
	if (!name || !*name)
		return PUT_LIT(o, "<Name/>");
	o = PUT_LIT(o, "<Name>");
	o = put_escaped(o, name);
	return PUT_LIT(o, "</Name>");
}

static const char val_open[] = "<ParameterValueStruct>";
static const char val_mid[] = "<Name></Name><Value xsi:type=\"";
static const char val_close[] = "</Value></ParameterValueStruct>";

static int write_gpv(const cwmp_msg *m, int ns_version, char **xml, size_t *len)
{
	const cwmp_param_value *v = m->u.values.v;
	size_t n = m->u.values.n, total = frame_len(m, &gpv_shape);

	for (size_t i = 0; i < n; i++)
		total += sizeof val_open + sizeof val_mid + sizeof val_close + 2 +
			 strlen(cwmp_value_type_name(v[i].type)) + escaped_len(v[i].name ? v[i].name : "") +
			 escaped_len(v[i].value ? v[i].value : "");
	char *buf = malloc(total), *o;
	if (!buf)
		return CWMP_CODEC_ENOMEM;
	o = open_answer(buf, m, ns_version, &gpv_shape, n);
	for (size_t i = 0; i < n; i++) {
		const char *t = cwmp_value_type_name(v[i].type);
		o = PUT_LIT(o, val_open);
		o = put_name(o, v[i].name);
		o = PUT_LIT(o, "<Value xsi:type=\"");
		o = put(o, t, strlen(t));
		if (v[i].value && *v[i].value) {
			o = PUT_LIT(o, "\">");
			o = put_escaped(o, v[i].value);
			o = PUT_LIT(o, val_close);
		} else {
			/* an empty value is a self-closed element, as gSOAP writes it */
			o = PUT_LIT(o, "\"/></ParameterValueStruct>");
		}
	}
	return finish(buf, close_answer(o, &gpv_shape), xml, len);
}

static const char info_open[] = "<ParameterInfoStruct>";
static const char info_mid[] = "<Name></Name><Writable>";
static const char info_close[] = "</Writable></ParameterInfoStruct>";

static int write_gpn(const cwmp_msg *m, int ns_version, char **xml, size_t *len)
{
	const cwmp_param_info *v = m->u.infos.v;
	size_t n = m->u.infos.n, total = frame_len(m, &gpn_shape);

	for (size_t i = 0; i < n; i++)
		total += sizeof info_open + sizeof info_mid + sizeof info_close + 5 +
			 escaped_len(v[i].name ? v[i].name : "");
	char *buf = malloc(total), *o;
	if (!buf)
		return CWMP_CODEC_ENOMEM;
	o = open_answer(buf, m, ns_version, &gpn_shape, n);
	for (size_t i = 0; i < n; i++) {
		o = PUT_LIT(o, info_open);
		o = put_name(o, v[i].name);
		o = PUT_LIT(o, "<Writable>");
		o = v[i].writable ? PUT_LIT(o, "true") : PUT_LIT(o, "false");
		o = PUT_LIT(o, info_close);
	}
	return finish(buf, close_answer(o, &gpn_shape), xml, len);
}

int cwmp_codec_encode_fast(const cwmp_msg *m, int ns_version, char **xml, size_t *len)
{
	const cwmp_header *h = &m->hdr;

	if (!fast_writers || h->hold_requests >= 0 || h->session_timeout || h->supported_versions ||
	    h->use_version)
		return CWMP_CODEC_EUNSUPPORTED;
	if (m->kind == CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE)
		return write_gpv(m, ns_version, xml, len);
	if (m->kind == CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE)
		return write_gpn(m, ns_version, xml, len);
	return CWMP_CODEC_EUNSUPPORTED;
}
