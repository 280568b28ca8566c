/*
 * mtp_uds.h - what the two files of the UNIX domain socket MTP share, and
 * nothing else includes: mtp_uds.c (sockets, frames, the Handshake,
 * connections) asks mtp_uds_cfg.c which paths the data model wants.
 */
#ifndef DUET_MTP_UDS_H
#define DUET_MTP_UDS_H

#include "usp_int.h"

/* A set of socket paths (malloc'd strings). */
typedef struct uds_paths {
	char **v;
	size_t n;
} uds_paths;

bool uds_paths_has(const uds_paths *s, const char *path);
void uds_paths_free(uds_paths *s);

/*
 * The sockets the configuration wants: listen gets the Mode Listen sockets
 * of enabled LocalAgent.MTP.{i} with Protocol UDS; connect gets the Mode
 * Connect sockets of those and of enabled Controller.{i}.MTP.{j} with
 * Protocol UDS (of enabled Controllers). 0 or a negative dm_err; the sets
 * are the caller's to free either way.
 */
int uds_read_config(dm *d, uds_paths *listen, uds_paths *connect);

#endif /* DUET_MTP_UDS_H */
