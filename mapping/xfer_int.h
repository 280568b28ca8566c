/*
 * xfer_int.h - what the files of the transfer mapping share:
 *   xfer_fetch.c  the runner (worker threads, FIFO), URL and file helpers
 *   xfer_apply.c  vendor configuration and log files, firmware outcomes
 *   xfer_du.c     deployment unit operations
 *   xfer_usp.c    the USP door: command handlers, TransferComplete!,
 *                 firmware activations across a restart
 *   xfer_usp_du.c the USP door's deployment unit commands
 */
#ifndef DUET_MAP_XFER_INT_H
#define DUET_MAP_XFER_INT_H

#include "xfer.h"

/* The runner's recent transfers, oldest first (pointers into x). */
size_t xfer_history(const map_xfer *x, const char **lines, size_t max);

/* Whether j is the one transfer running now (not waiting its turn). */
bool xfer_job_running(const map_xfer *x, const map_xfer_job *j);

/* ---- the USP door ------------------------------------------------------ */

#define XFER_DU_TABLE "Device.SoftwareModules.DeploymentUnit."

typedef enum op_kind {
	OP_FW_DOWNLOAD,
	OP_FW_ACTIVATE,
	OP_BACKUP,
	OP_RESTORE,
	OP_LOG_UPLOAD,
	OP_DU_INSTALL,
	OP_DU_UPDATE,
	OP_DU_UNINSTALL,
	OP_KINDS
} op_kind;

/* One accepted command, from the handler to its completion. */
typedef struct uop {
	map_xfer_usp *u;
	dm_request *req;
	op_kind kind;
	uint32_t inst;
	char part[4096];
	char start[MAP_XFER_TIME_LEN];
	unsigned file_size;
	map_xfer_job *job;
	core_timer *timer; /* Activate(): until its window opens */
	map_xfer_du_op du; /* deployment unit commands */
	struct uop *next;
} uop;

typedef struct resolved resolved;

struct map_xfer_usp {
	dm *d;
	core_loop *loop;
	map_xfer *runner;
	char *state_dir, *ca, *cert, *key;
	uop *ops; /* accepted, not completed, oldest first */
	resolved *after_restart;
	core_timer *report_timer;
	struct map_xfer_usp *next_open;
};

/* An input argument of req, "" when absent. */
const char *xfer_usp_arg(const dm_request *req, const char *name);
/* Forget op without completing its request (refused, or completed
 * already, or left to the next start). */
void xfer_usp_drop(uop *op);
/* Queue op's HTTP transfer: the command's URL, Username and Password
 * where h leaves them NULL, the agent's TLS files, for a download the part
 * file op->part. 0 or a dm_err (then done is never called). */
int xfer_usp_fetch(uop *op, map_xfer_http *h, map_xfer_done_fn done);
/* Start a deployment unit command: DM_OK (op is then the start's: queued
 * or already ended) or the error refusing it. */
int xfer_usp_du_start(uop *op);

#endif
