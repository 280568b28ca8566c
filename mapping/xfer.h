/*
 * xfer.h - file transfers and software module operations run from either
 * door (notes/cwmp-usp-mapping.md 6.3, 6.5, C9, C10, C21, C22): the ACS's
 * Download/Upload/ChangeDUState (cwmp/transfer*.c keeps their queue, RPCs
 * and completion reports) and a Controller's FirmwareImage.{i}.Download(),
 * Activate(), VendorConfigFile.{i}.Backup()/Restore(),
 * VendorLogFile.{i}.Upload() (the USP door here, xfer_usp.c) share one
 * implementation:
 *
 *   - the runner: one HTTP(S) transfer at a time (GET into a file, PUT
 *     from memory) in a libuv worker thread with libcurl easy; the others
 *     wait in a FIFO queue, whichever door asked;
 *   - what a file does once here or what an upload sends: vendor
 *     configuration file apply and backup body, vendor log file body,
 *     firmware install outcome, deployment unit install/update/uninstall.
 *
 * Outcomes are TR-069 fault numbers (A.5): the one vocabulary both doors
 * already report in (the ACS as is, Controllers through
 * map_cwmp_fault_to_usp_err). Everything runs on the loop thread except
 * the worker, which never touches the engine.
 */
#ifndef DUET_MAP_XFER_H
#define DUET_MAP_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "dm.h"

/* Transfer outcomes, TR-069 A.5 numbering (0 = success). */
enum map_xfer_fault {
	MAP_XFER_OK = 0,
	MAP_XFER_F_DENIED = 9001,
	MAP_XFER_F_INTERNAL = 9002,
	MAP_XFER_F_INVALID_ARGS = 9003,
	MAP_XFER_F_RESOURCES = 9004,
	MAP_XFER_F_DOWNLOAD = 9010,
	MAP_XFER_F_UPLOAD = 9011,
	MAP_XFER_F_SERVER_AUTH = 9012,
	MAP_XFER_F_PROTOCOL = 9013,
	MAP_XFER_F_CONTACT = 9015,
	MAP_XFER_F_ACCESS = 9016,
	MAP_XFER_F_COMPLETE = 9017,
	MAP_XFER_F_CORRUPTED = 9018,
	MAP_XFER_F_FILE_AUTH = 9019,
	MAP_XFER_F_INVALID_UUID = 9022,
	MAP_XFER_F_UNKNOWN_EE = 9023,
	MAP_XFER_F_DUPLICATE_DU = 9026,
	MAP_XFER_F_SYSTEM_RESOURCES = 9027,
	MAP_XFER_F_UNKNOWN_DU = 9028,
	MAP_XFER_F_DU_VERSION_EXISTS = 9032,
};

#define MAP_XFER_TIME_LEN 32
#define MAP_XFER_DU_URL_MAX 1024

/* 0 when url is an http(s) URL with a host and no userinfo, at most max
 * long; else MAP_XFER_F_INVALID_ARGS or MAP_XFER_F_PROTOCOL with a static
 * reason in *why. */
unsigned map_xfer_check_url(const char *url, size_t max, const char **why);
/* "version=" line among a file's first lines into buf; false when none. */
bool map_xfer_file_version(const char *file, char *buf, size_t n);
/* Last path segment of a URL, without query or fragment ("download" when
 * it has none), into buf. */
void map_xfer_url_name(const char *url, char *buf, size_t n);

/* ---------------------------------------------------------------------------
 * The runner: one per engine, shared by both doors
 * ------------------------------------------------------------------------- */

typedef struct map_xfer map_xfer;
typedef struct map_xfer_job map_xfer_job;

/*
 * The runner of engine d, made on first use: each acquire is paired with
 * a release; the last release cancels what still waits or runs (done is
 * then never called) and frees it. 0 or DM_ERR_NOMEM / DM_ERR_INVALID_ARG.
 */
int map_xfer_acquire(dm *d, core_loop *loop, map_xfer **out);
void map_xfer_release(map_xfer *x);

/* One HTTP transfer. Strings are copied; body (upload) is taken over
 * (freed by the runner) even when the start fails. */
typedef struct map_xfer_http {
	bool upload;
	const char *url, *username, *password;
	const char *ca, *cert, *key; /* TLS files, NULL: the system's */
	const char *file;            /* download: where the body goes */
	char *body;                  /* upload: what is sent */
	size_t body_len;
	long timeout_s;              /* 0: no overall limit */
	uint64_t max_size;           /* download: 0 the runner's limit */
} map_xfer_http;

/* What a transfer gave; valid during the done call only. */
typedef struct map_xfer_result {
	unsigned fault; /* 0 success, else map_xfer_fault */
	const char *msg;
	long http_code;
	const char *file; /* download: the file written */
	const char *url;
} map_xfer_result;

typedef void (*map_xfer_done_fn)(void *ctx, const map_xfer_result *r);

/*
 * Queue one transfer: it starts when the runner is free (FIFO, one at a
 * time). done is called exactly once on the loop unless the job is
 * canceled first. *out (may be NULL) names the job for map_xfer_cancel
 * until done is called. 0 or a negative dm_err (then done is never
 * called).
 */
int map_xfer_http_start(map_xfer *x, const map_xfer_http *h, map_xfer_done_fn done, void *ctx,
			map_xfer_job **out);
/* Abandon a job: done is never called; a worker stops at its next progress
 * check and its memory goes when it has. */
void map_xfer_cancel(map_xfer_job *j);

/* One line for the vendor log file's "recent transfers" (last eight kept). */
void map_xfer_note(map_xfer *x, const char *line);

/* ---------------------------------------------------------------------------
 * What a file does, what an upload sends
 * ------------------------------------------------------------------------- */

/*
 * Apply a vendor configuration file (text, one "<parameter path> <value>"
 * per line; values quoted with \" \\ \n escapes when empty or holding
 * blanks, quotes, backslashes or a leading '#'; '#' comment lines) as one
 * transaction of origin: one bad line and nothing applies (9018, the line
 * number in msg). Then the VendorConfigFile row is noted (Name, Date,
 * Version from a "version=" line): row when non-zero, else the row named
 * name (added when missing). 0 or the fault, with msg filled.
 */
unsigned map_xfer_config_apply(dm *d, const dm_origin *origin, const char *file, uint32_t row,
			       const char *name, char *msg, size_t msgsz);

/* Body of a configuration backup: every stored writable readable
 * parameter, in the format config_apply reads. 0 or the fault (*body
 * malloc'd). */
unsigned map_xfer_config_body(dm *d, char **body, size_t *len);
/* Body of the vendor log file: boot count, uptime, software version and
 * the runner's recent transfers. 0 or the fault. */
unsigned map_xfer_log_body(map_xfer *x, dm *d, char **body, size_t *len);

/* The fault of a core_firmware_ status (core/firmware.h). */
unsigned map_xfer_firmware_fault(int core_fw_rc);
/* After the restart that should have activated bank: 0 when bank runs
 * expect_version, else 9010 with *why. */
unsigned map_xfer_firmware_outcome(dm *d, uint32_t bank, const char *expect_version, const char **why);

/* ---------------------------------------------------------------------------
 * Deployment units (Device.SoftwareModules.DeploymentUnit.{i}): one
 * operation with its result, whichever door asked. A DU needs no real
 * package here (simulated gateway): its Version comes from a "version="
 * line among the file's first lines, else "1.0"; its Name is the URL's
 * last segment; a UUID left out is a random (version 4) one.
 * ------------------------------------------------------------------------- */

enum { MAP_XFER_DU_INSTALL = 0, MAP_XFER_DU_UPDATE, MAP_XFER_DU_UNINSTALL };

typedef struct map_xfer_du_op {
	int op; /* MAP_XFER_DU_* */
	char *url, *uuid, *version, *username, *password, *ee_ref;
	/* the result: */
	char *r_uuid, *r_ref, *r_version, *r_state;
	int r_resolved;
	char r_start[MAP_XFER_TIME_LEN], r_complete[MAP_XFER_TIME_LEN];
	unsigned r_fault;
	char *r_fault_string;
} map_xfer_du_op;

/* Free the strings of o (not o). */
void map_xfer_du_op_clear(map_xfer_du_op *o);
bool map_xfer_uuid_valid(const char *s);
/* The URL an Install or Update fetches, or a fault found before any
 * download (bad UUID, unknown EE or DU, duplicate, bad URL). */
unsigned map_xfer_du_precheck(dm *d, const map_xfer_du_op *o, char *url, size_t n, const char **why);
/* Record a failure as o's result (9010 becomes 9017: a DU result admits no
 * 9010). */
void map_xfer_du_fail(map_xfer_du_op *o, unsigned fault, const char *why);
/* The operations, with file the fetched package (Install, Update). */
void map_xfer_du_install(dm *d, map_xfer_du_op *o, const char *file);
void map_xfer_du_update(dm *d, map_xfer_du_op *o, const char *url, const char *file);
void map_xfer_du_uninstall(dm *d, map_xfer_du_op *o);

/* ---------------------------------------------------------------------------
 * The USP door (xfer_usp.c)
 * ------------------------------------------------------------------------- */

typedef struct map_xfer_usp map_xfer_usp;

typedef struct map_xfer_usp_opts {
	const char *state_dir;       /* where downloads land and firmware banks live */
	const char *ca, *cert, *key; /* TLS files for https file servers */
} map_xfer_usp_opts;

/*
 * Register the USP command handlers the schema has; resolve a firmware
 * activation a restart ended (its TransferComplete! and listeners' report
 * go out from the loop, once the front ends are up). Call after the
 * engine opened and before the front ends start.
 */
int map_xfer_usp_start(dm *d, core_loop *loop, const map_xfer_usp_opts *o, map_xfer_usp **out);
/*
 * C10, for the usp front end when it finds a USP request a restart
 * interrupted: true when the restart was that request's own firmware
 * activation, with the outcome to complete it with (code 0 or a USP error
 * code, msg). Each outcome is handed out once.
 */
bool map_xfer_usp_outcome(dm *d, uint64_t req_id, int *code, char *msg, size_t msgsz);
/* Unregister, drop waiting work (the engine keeps USP requests recorded). */
void map_xfer_usp_stop(map_xfer_usp *u);

#endif /* DUET_MAP_XFER_H */
