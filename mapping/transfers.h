/*
 * transfers.h - how a file transfer one manager asked for is reported to
 * the other (notes/cwmp-usp-mapping.md 6.3): a Download or Upload the ACS
 * requested is, for USP, a Device.LocalAgent.TransferComplete! event with
 * no Command, CommandKey or Requestor (nobody operated a command), its
 * fault translated to a USP error code; a transfer a Controller operated
 * is, for the ACS, an AutonomousTransferComplete, filtered by
 * Device.ManagementServer.AutonomousTransferCompletePolicy, and while it
 * waits or runs a row of GetAllQueuedTransfers (C9). The cwmp front end
 * hears of those through a listener it registers here: front ends never
 * call each other.
 */
#ifndef DUET_MAP_TRANSFERS_H
#define DUET_MAP_TRANSFERS_H

#include <stdbool.h>

#include "dm.h"
#include "xfer.h"

/* One finished transfer, in protocol-neutral terms. */
typedef struct map_transfer_report {
	bool upload;
	const char *url;
	const char *affected;   /* the object the file went to or came from ("" none) */
	const char *start_time; /* dateTime; NULL or "" unknown */
	const char *complete_time;
	unsigned cwmp_fault;    /* 0 success, else the TR-069 fault code */
	const char *fault_string;
	/* a Controller's Operate (map_report_transfer, map_transfers_tell): */
	const char *command;     /* the command path */
	const char *command_key;
	const char *requestor;   /* the Controller's EndpointID */
	const char *file_type;   /* CWMP FileType: "1 Firmware Upgrade Image",
				  * "3 Vendor Configuration File" (download),
				  * "1 Vendor Configuration File", "2 Vendor Log
				  * File" (upload) */
	unsigned file_size;      /* 0 unknown */
} map_transfer_report;

/*
 * Publish a transfer the ACS asked for as the schema's
 * Device.LocalAgent.TransferComplete! event (nothing when the schema has
 * no such event). origin is the ACS's. 0 or a negative dm_err.
 */
int map_report_acs_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin);
/* The same for a transfer a Controller operated: Command, CommandKey and
 * Requestor from r. */
int map_report_transfer(dm *d, const map_transfer_report *r, const dm_origin *origin);

/*
 * Publish one deployment unit operation that ended, whoever asked (the
 * ACS's ChangeDUState, one event per operation; a Controller's InstallDU(),
 * Update(), Uninstall()), as Device.SoftwareModules.DUStateChange!
 * (notes 6.5): its result, OperationPerformed, and the fault as a USP
 * code. Nothing when the schema has no such event. 0 or a negative dm_err.
 */
int map_report_du_change(dm *d, const map_xfer_du_op *o, const dm_origin *origin);

/* Told on the loop when a Controller's transfer has ended (a firmware
 * activation: after the restart), in the ACS's terms. t is valid during
 * the call only. */
typedef void (*map_transfer_listener)(void *ctx, const map_transfer_report *t);
/* The same for one deployment unit operation a Controller asked for. */
typedef void (*map_du_listener)(void *ctx, const map_xfer_du_op *o);

typedef struct map_transfer_hooks {
	map_transfer_listener transfer; /* may be NULL */
	map_du_listener du;             /* may be NULL */
	void *ctx;
} map_transfer_hooks;

/* Register the listener of engine d (h copied; NULL removes it; one per
 * engine). 0 or DM_ERR_NOMEM. */
int map_transfers_listen(dm *d, const map_transfer_hooks *h);

/*
 * Whether the ACS is to hear of t: AutonomousTransferCompletePolicy's
 * Enable, TransferTypeFilter (Upload, Download, Both), ResultTypeFilter
 * (Success, Failure, Both) and FileTypeFilter (a list in the policy's
 * numbering: 1 firmware, 3 vendor configuration file either way, 4 vendor
 * log file; empty: every type). False when the schema has no policy.
 */
bool map_atc_policy_allows(dm *d, const map_transfer_report *t);

/* The USP door: tell the listener of d about t when the policy allows. */
void map_transfers_tell(dm *d, const map_transfer_report *t);

/*
 * Whether the ACS is to hear of a Controller's deployment unit operation:
 * DUStateChangeComplPolicy's Enable, OperationTypeFilter (a list of
 * Install, Update, Uninstall; empty: every one), ResultTypeFilter
 * (Success, Failure, Both) and FaultCodeFilter (the faults of failures
 * reported; empty: every one).
 */
bool map_du_policy_allows(dm *d, const map_xfer_du_op *o);
/* The USP door: tell the listener of d about o when the policy allows. */
void map_transfers_tell_du(dm *d, const map_xfer_du_op *o);

/* One transfer a Controller started that has not ended. */
typedef struct map_queued_transfer {
	bool upload;
	const char *file_type; /* as in map_transfer_report; static */
	unsigned file_size;
	int state;             /* 1 not yet started, 2 in progress */
} map_queued_transfer;

/* Up to max of them, oldest first, into v; how many (v NULL: how many
 * there are). Strings are static. */
size_t map_transfers_usp_queued(dm *d, map_queued_transfer *v, size_t max);

#endif
