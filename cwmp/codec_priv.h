/*
 * cwmp/codec_priv.h - what the adapter's files share: the gSOAP context
 * set-up, the value-type table, decoded-message storage and the software
 * module readers and writer. Included only by cwmp/codec*.c,
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

/* Storage of one decoded message (codec_decode.c): every block hangs on
 * chain; failed sticks once an allocation fails, so readers may check it
 * once at the end. */
struct block;
struct conv {
	struct block **chain;
	int failed;
};
void *cwmp_conv_alloc(struct conv *c, size_t size);
char *cwmp_conv_str(struct conv *c, const char *s);

/* Software module management (codec_du.c): ChangeDUState and
 * DUStateChangeComplete readers, DUStateChangeComplete writer. Readers
 * return 0, -1 (no memory) or -2 (malformed), as codec_decode.c's do. */
int cwmp_codec_rd_change_du_state(struct conv *c, const void *p, cwmp_msg *m);
int cwmp_codec_rd_du_state_change_complete(struct conv *c, const void *p, cwmp_msg *m);
void *cwmp_codec_wr_du_state_change_complete(struct soap *soap, const cwmp_msg *m);
void *cwmp_codec_wr_autonomous_du_state_change_complete(struct soap *soap, const cwmp_msg *m);

static inline char *cwmp_codec_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

/* The direct writers of codec_fast.c: CWMP_CODEC_EUNSUPPORTED when the
 * message is not one they write (gSOAP then does). */
int cwmp_codec_encode_fast(const cwmp_msg *m, int ns_version, char **xml, size_t *len);

#endif
