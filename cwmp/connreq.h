/*
 * connreq.h - the HTTP Connection Request listener (TR-069 3.2.2):
 * libwebsockets' HTTP server on the core loop, Digest authentication
 * (MD5 and SHA-256, nonces that expire, replays refused) against
 * ManagementServer.ConnectionRequestUsername/Password, rate limiting, and
 * ManagementServer.ConnectionRequestURL published. An accepted request
 * calls a->connection_request.
 */
#ifndef DUET_CWMP_CONNREQ_H
#define DUET_CWMP_CONNREQ_H

#include "cwmp_int.h"

/* Listen on a->cr_address:a->cr_port (-1: ephemeral) unless
 * HTTPConnectionRequestEnable is false; follows that parameter and
 * EnableCWMP at run time. */
int cwmp_connreq_start(cwmp_agent *a, cwmp_connreq **out);
void cwmp_connreq_stop(cwmp_connreq *c);
/* The published URL ("http://127.0.0.1:7547/<path>"), "" when closed. */
const char *cwmp_connreq_url(const cwmp_connreq *c);

#endif
