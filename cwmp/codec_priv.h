/*
 * cwmp/codec_priv.h - what the adapter's three files share: the gSOAP
 * context set-up and the value-type table. Included only by cwmp/codec*.c,
 * the only files that see soapH.h.
 */
#ifndef DUET_CWMP_CODEC_PRIV_H
#define DUET_CWMP_CODEC_PRIV_H

#include "cwmp/codec.h"
#include "soapH.h"

#define CWMP_URN "urn:dslforum-org:cwmp-1-"

/* Fills t (6 rows) with the namespace table: input accepts cwmp-1-0 to
 * cwmp-1-4; output writes cwmp_out, or cwmp-1-2 when NULL. */
void cwmp_codec_ns_table(struct Namespace t[6], const char *cwmp_out);

/* A gSOAP context for one SOAP 1.1 message with table ns; NULL on ENOMEM.
 * cwmp_codec_ctx_free releases it and everything it allocated. */
struct soap *cwmp_codec_ctx_new(struct Namespace *ns);
void cwmp_codec_ctx_free(struct soap *soap);

/* xsi:type text (any prefix, or none) to our type; none is a string. */
cwmp_value_type cwmp_codec_type_from_wire(const char *xsi);

static inline char *cwmp_codec_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

#endif
