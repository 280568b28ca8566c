/*
 * transfers.h - how a file transfer one manager asked for is reported to
 * the other (notes/cwmp-usp-mapping.md 6.3): a Download or Upload the ACS
 * requested is, for USP, a Device.LocalAgent.TransferComplete! event with
 * no Command, CommandKey or Requestor (nobody operated a command), its
 * fault translated to a USP error code.
 */
#ifndef DUET_MAP_TRANSFERS_H
#define DUET_MAP_TRANSFERS_H

#include <stdbool.h>

#include "dm.h"

/* One finished transfer, in protocol-neutral terms. */
typedef struct map_transfer_report {
	bool upload;
	const char *url;
	const char *affected;   /* the object the file went to or came from ("" none) */
	const char *start_time; /* dateTime; NULL or "" unknown */
	const char *complete_time;
	unsigned cwmp_fault;    /* 0 success, else the TR-069 fault code */
	const char *fault_string;
} map_transfer_report;

/*
 * Publish a transfer the ACS asked for as the schema's
 * Device.LocalAgent.TransferComplete! event (nothing when the schema has
 * no such event). origin is the ACS's. 0 or a negative dm_err.
 */
int map_report_acs_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin);

#endif
