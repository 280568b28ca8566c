/*
 * transfer_priv.h - what the files of the transfer module share (never
 * included outside cwmp/transfer*.c):
 *
 *   transfer.c        the queue: records, scheduling, the completion
 *                     reports (next_request/request_answered)
 *   transfer_store.c  a record as agent state
 *   transfer_rpc.c    the RPC handlers
 *   transfer_fetch.c  one HTTP(S) transfer in a libuv worker thread (libcurl
 *                     easy) and its failure -> fault table
 *   transfer_apply.c  what a finished download does (firmware, vendor
 *                     configuration file) and what an upload sends
 *   transfer_du.c     ChangeDUState operations on SoftwareModules
 */
#ifndef DUET_CWMP_TRANSFER_PRIV_H
#define DUET_CWMP_TRANSFER_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

#include "transfer.h"

#define XFER_NS "cwmp.xfer"
#define XFER_MAX 16       /* queued + running + unreported, as A.4.1.1 lists them */
#define XFER_TIME_LEN 32
#define XFER_KEY_MAX 32   /* CommandKey: string(32) */
#define XFER_URL_MAX 256  /* Download/Upload URL: string(256) */
#define XFER_DU_URL_MAX 1024
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
} xfer_kind;

typedef enum xfer_state {
	XFER_QUEUED = 1,
	XFER_RUNNING,
	XFER_APPLYING, /* firmware installed, waiting for the reboot */
	XFER_DONE,     /* result waiting for the ACS's acknowledgement */
} xfer_state;

/* One ChangeDUState operation and its OpResult. */
typedef struct xfer_du_op {
	int op; /* cwmp_du_op_kind */
	char *url, *uuid, *version, *username, *password, *ee_ref;
	char *r_uuid, *r_ref, *r_version, *r_state;
	int r_resolved;
	char r_start[XFER_TIME_LEN], r_complete[XFER_TIME_LEN];
	unsigned r_fault;
	char *r_fault_string;
} xfer_du_op;

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
	/* not stored */
	int deferred; /* the ACS asked to retry later (8005): not in this session */
} xfer;

typedef struct xfer_job xfer_job;
typedef void (*xfer_job_done)(cwmp_transfers *x, xfer_job *j);

/* One HTTP transfer run in a worker. Strings are the job's own. */
struct xfer_job {
	uv_work_t work;
	cwmp_transfers *x; /* NULL once the module closed under it */
	uint32_t seq;
	int upload;
	char *url, *username, *password, *ca, *cert, *key;
	char *file;             /* download: where the body goes */
	char *body;             /* upload: what is sent */
	size_t body_len, body_off;
	long timeout_s;         /* 0: no overall limit */
	atomic_bool cancel;
	xfer_job_done done;
	/* results, written by the worker */
	unsigned fault;         /* 0: success */
	char msg[256];
	long http_code;
};

struct cwmp_transfers {
	cwmp_agent *a;
	xfer *list; /* ascending seq */
	uint32_t next_seq;
	core_timer *timer;
	xfer_job *job;     /* the one transfer running, or NULL */
	uint32_t offered;  /* seq next_request handed out last, 0 none */
	char history[8][160]; /* last results, for the vendor log file */
	unsigned n_history;
	/* libcurl's globals (OpenSSL under them) start with the first
	 * transfer, on the loop thread: a CPE that never transfers a file
	 * never pays their memory */
	bool curl_ready;
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
/* 0 when url is an http(s) URL we may fetch, else the CWMP fault (9003,
 * 9013) with a reason in why. */
unsigned xfer_check_url(const char *url, size_t max, const char **why);

/* transfer_fetch.c */
xfer_job *xfer_job_new(cwmp_transfers *x, uint32_t seq, const char *url, const char *user,
		       const char *pass);
int xfer_job_start(cwmp_transfers *x, xfer_job *j, xfer_job_done done);
void xfer_job_free(xfer_job *j);
/* Close: stop waiting for the job (it frees itself when its worker ends). */
void xfer_job_orphan(xfer_job *j);

/* transfer_apply.c */
void xfer_apply_download(cwmp_transfers *x, xfer *rec, const char *file);
int xfer_upload_body(cwmp_transfers *x, xfer *rec, char **body, size_t *len, unsigned *fault,
		     const char **why);
/* Check an applying firmware transfer after a restart: 0 or the fault. */
unsigned xfer_firmware_outcome(cwmp_transfers *x, xfer *rec, const char **why);
/* "version=" line of a file, if any, into buf; false when none. */
bool xfer_file_version(const char *file, char *buf, size_t n);
/* Last path segment of a URL, without query or fragment, into buf. */
void xfer_url_name(const char *url, char *buf, size_t n);

/* transfer_du.c */
void xfer_du_run(cwmp_transfers *x, xfer *rec);
/* A DU record found running at open: its remaining operations fail. */
void xfer_du_interrupted(xfer *rec);
bool xfer_uuid_valid(const char *s);

#endif /* DUET_CWMP_TRANSFER_PRIV_H */
