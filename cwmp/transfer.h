/*
 * transfer.h - file transfers and software module changes asked by the
 * ACS: Download (1 Firmware Upgrade Image, 3 Vendor Configuration File,
 * 6 Stored Firmware Image), Upload (Vendor Configuration / Log File),
 * ScheduleDownload, CancelTransfer, Get(All)QueuedTransfers,
 * ChangeDUState; the persistent queue; and the CPE requests reporting
 * them (TransferComplete, DUStateChangeComplete) and what Controllers did
 * (AutonomousTransferComplete, AutonomousDUStateChangeComplete) until the
 * ACS acknowledges them. The work itself is mapping/xfer.h's, shared with
 * the USP door.
 */
#ifndef DUET_CWMP_TRANSFER_H
#define DUET_CWMP_TRANSFER_H

#include "cwmp_int.h"

/* Load the queue (a transfer interrupted by a restart fails with 9010 or
 * 9011, or completes if the restart was its own firmware activation),
 * register the RPC handlers in a->rpc, set a->next_request,
 * a->request_answered and a->session_ended. */
int cwmp_transfers_open(cwmp_agent *a, cwmp_transfers **out);
void cwmp_transfers_close(cwmp_transfers *x);
/* Factory reset: drop queued transfers and unreported results. */
int cwmp_transfers_reset(cwmp_transfers *x);

#endif
