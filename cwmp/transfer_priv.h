/*
 * transfer_priv.h - what the files of the transfer module share (never
 * included outside cwmp/transfer*.c):
 *
 *   transfer.c        the queue: records, scheduling, the completion
 *                     reports (next_request/request_answered)
 *   transfer_store.c  a record as agent state
 *   transfer_rpc.c    the RPC handlers
 *   transfer_apply.c  what a finished download does (firmware, vendor
 *                     configuration file) and what an upload sends
 *   transfer_du.c     ChangeDUState: its operations one after the other
 *   transfer_auto.c   transfers a Controller started, reported to the ACS
 *                     (AutonomousTransferComplete) and listed (C9)
 *
 * The HTTP work, the file formats and the deployment unit operations are
 * mapping/xfer.h's, shared with the USP door: one transfer at a time
 * whichever manager asked.
 */
#ifndef DUET_CWMP_TRANSFER_PRIV_H
#define DUET_CWMP_TRANSFER_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

#include "transfer.h"
#include "xfer.h"

#define XFER_NS "cwmp.xfer"
#define XFER_MAX 16       /* queued + running + unreported, as A.4.1.1 lists them */
#define XFER_TIME_LEN MAP_XFER_TIME_LEN
#define XFER_KEY_MAX 32   /* CommandKey: string(32) */
#define XFER_URL_MAX 256  /* Download/Upload URL: string(256) */
#define XFER_DU_URL_MAX MAP_XFER_DU_URL_MAX
#define XFER_CRED_MAX 256

#define FT_FIRMWARE "1 Firmware Upgrade Image"
#define FT_CONFIG "3 Vendor Configuration File"
#define FT_STORED_FIRMWARE "6 Stored Firmware Image"
#define FT_UP_CONFIG "1 Vendor Configuration File"
#define FT_UP_LOG "2 Vendor Log File"

typedef enum xfer_kind {
	XFER_DOWNLOAD,
	XFER_SCHEDULE_DOWNLOAD,
	XFER_UPLOAD,
	XFER_DU, /* one ChangeDUState with all its operations */
	XFER_AUTONOMOUS, /* a Controller's transfer: AutonomousTransferComplete only */
	XFER_AUTONOMOUS_DU, /* a Controller's DU operation (one op): AutonomousDUStateChangeComplete */
} xfer_kind;

typedef enum xfer_state {
	XFER_QUEUED = 1,
	XFER_RUNNING,
	XFER_APPLYING, /* firmware installed, waiting for the reboot */
	XFER_DONE,     /* result waiting for the ACS's acknowledgement */
} xfer_state;

/* One ChangeDUState operation and its OpResult. */
typedef map_xfer_du_op xfer_du_op;

typedef struct xfer {
	struct xfer *next;
	uint32_t seq;
	xfer_kind kind;
	xfer_state state;
	char *command_key, *file_type, *url, *username, *password, *target;
	unsigned file_size;
	int64_t due;      /* wall clock seconds */
	int64_t deadline; /* ScheduleDownload: end of the last window; 0 none */
	int after_session; /* DelaySeconds 0: start when the session has ended */
	int confirm;       /* no window may start without a user's consent */
	char start[XFER_TIME_LEN], complete[XFER_TIME_LEN];
	unsigned fault;
	char *fault_string;
	uint32_t bank;         /* firmware: the bank set to boot */
	char *expect_version;  /* firmware: what must run after the reboot */
	xfer_du_op *ops;
	size_t n_ops, next_op;
	int upload; /* XFER_AUTONOMOUS: the direction (file_type is the CWMP name) */
	/* not stored */
	int deferred; /* the ACS asked to retry later (8005): not in this session */
} xfer;

struct cwmp_transfers {
	cwmp_agent *a;
	xfer *list; /* ascending seq */
	uint32_t next_seq;
	core_timer *timer;
	map_xfer *runner;   /* shared with the USP door; NULL without a loop */
	map_xfer_job *job;  /* our one transfer queued or running there, or NULL */
	uint32_t job_seq;   /* ... and the record it is for */
	void (*job_done)(cwmp_transfers *x, xfer *rec, const map_xfer_result *r);
	uint32_t offered;   /* seq next_request handed out last, 0 none */
};

/* transfer.c */
xfer *xfer_find(cwmp_transfers *x, uint32_t seq);
size_t xfer_count_active(cwmp_transfers *x);
/* Give rec a sequence number, link it and store it; 0 or a dm_err (then
 * rec is freed). */
int xfer_enqueue(cwmp_transfers *x, xfer *rec);
int xfer_save(cwmp_transfers *x, xfer *rec);
/* Unlink, forget durably and free. */
void xfer_remove(cwmp_transfers *x, xfer *rec);
void xfer_free(xfer *rec);
/* Record the outcome (fault 0 = success) durably and report it. */
void xfer_finish(cwmp_transfers *x, xfer *rec, unsigned fault, const char *msg);
/* Look for due transfers from the loop soon (never re-entrantly). */
void xfer_kick_soon(cwmp_transfers *x);
/* Raise the report's events (M + numbered, or 10 alone). */
void xfer_report(cwmp_transfers *x, xfer *rec, cwmp_urgency urgency);
void xfer_part_path(cwmp_transfers *x, uint32_t seq, char *buf, size_t n);
int64_t xfer_wall_now(void);
char *xfer_strdup(const char *s); /* NULL stays NULL */

/* transfer_store.c: the records as agent state */
int xfer_store_put(dm *d, const xfer *rec, uint32_t next_seq);
int xfer_store_del(dm *d, uint32_t seq);
int xfer_store_load(dm *d, xfer **list, uint32_t *next_seq);
int xfer_store_clear(dm *d);

/* transfer_rpc.c */
void xfer_rpc_register(cwmp_agent *a, bool on);

/* transfer.c: one HTTP transfer for rec through the shared runner; done
 * gets the record back (NULL when it went meanwhile). 0 or a dm_err. */
typedef void (*xfer_http_done)(cwmp_transfers *x, xfer *rec, const map_xfer_result *r);
int xfer_http(cwmp_transfers *x, xfer *rec, map_xfer_http *h, xfer_http_done done);

/* transfer_apply.c */
void xfer_apply_download(cwmp_transfers *x, xfer *rec, const char *file);
int xfer_upload_body(cwmp_transfers *x, xfer *rec, char **body, size_t *len, unsigned *fault,
		     const char **why);

/* transfer_du.c */
void xfer_du_run(cwmp_transfers *x, xfer *rec);
/* A DU record found running at open: its remaining operations fail. */
void xfer_du_interrupted(xfer *rec);

/* transfer_auto.c */
/* Whether rec only reports what a Controller did (no RPC, no CommandKey). */
bool xfer_is_autonomous(const xfer *rec);
/* Listen to the USP door's transfers (on) or stop. */
void xfer_auto_listen(cwmp_transfers *x, bool on);
/* The AutonomousTransferComplete of rec into rep. */
bool xfer_auto_fill(const xfer *rec, cwmp_reply *rep);
/* The USP door's transfers still queued or running, for
 * GetAllQueuedTransfers (C9: listed with an empty CommandKey). */
size_t xfer_auto_queued(cwmp_transfers *x, cwmp_queued_transfer *v, size_t max, bool all, cwmp_reply *rep);

#endif /* DUET_CWMP_TRANSFER_PRIV_H */
