/*
 * diag.h - diagnostics run from either door (notes/cwmp-usp-mapping.md 6.4
 * and contradiction C8): one real test per kind, started by a USP
 * Controller through the async command (Device.IP.Diagnostics.IPPing())
 * or by the ACS through the CWMP-style object
 * (Device.IP.Diagnostics.IPPing.DiagnosticsState = "Requested").
 *
 * Two layers:
 *   - the runner: a protocol-neutral test (ICMP echo, HTTP GET) run in a
 *     libuv worker thread, its outcome handed back on the loop as the
 *     names the Device:2 model gives them (Status plus the command's
 *     output arguments, which are also the object's result parameters);
 *   - the doors (map_diag_start): the command handlers for USP, and a
 *     change-feed watcher that runs the test a CWMP-style object asks for
 *     and writes its results into the object.
 *
 * Conventions: 0 (DM_OK) or a negative dm_err; everything runs on the
 * loop thread except the tests themselves, which never touch the engine.
 */
#ifndef DUET_MAP_DIAG_H
#define DUET_MAP_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "dm.h"

/* The kinds of test. */
typedef enum map_diag_kind {
	MAP_DIAG_IPPING,
	MAP_DIAG_DOWNLOAD,
	MAP_DIAG_UPLOAD,
	MAP_DIAG_TRACEROUTE,
	MAP_DIAG_NSLOOKUP,
	MAP_DIAG_SERVER_SELECTION,
	MAP_DIAG_UDPECHO,
	MAP_DIAG_KINDS
} map_diag_kind;

/* ---------------------------------------------------------------------------
 * The runner
 * ------------------------------------------------------------------------- */

/* Room for a TraceRoute of the most hops the model allows (64), four
 * results a hop, and the test's own results. */
#define MAP_DIAG_MAX_OUT 272
#define MAP_DIAG_NAME_MAX 64
#define MAP_DIAG_VALUE_MAX 96

/* What one test gave: Status ("Complete" or an "Error_..." value of the
 * kind's enumeration) and every result, also on error (zeros, the Unknown
 * Time), so that a CWMP object never keeps a former run's numbers. A
 * result of a table row is named "<Table>.<n>.<Name>" ("RouteHops.1.Host"),
 * rows numbered from 1 in order. */
typedef struct map_diag_outcome {
	char status[48];
	size_t n_out;
	dm_arg out[MAP_DIAG_MAX_OUT]; /* names and values point into names and vals */
	char names[MAP_DIAG_MAX_OUT][MAP_DIAG_NAME_MAX];
	char vals[MAP_DIAG_MAX_OUT][MAP_DIAG_VALUE_MAX];
} map_diag_outcome;

/* The value of one result in o, or NULL. */
const char *map_diag_outcome_get(const map_diag_outcome *o, const char *name);

typedef struct map_diag_run map_diag_run;

/* Told on the loop when a test ends; o is valid during the call only. */
typedef void (*map_diag_done_fn)(void *ctx, const map_diag_outcome *o);

/*
 * Run one test of kind in a worker thread of loop. in holds the inputs by
 * the names the command and the object share ("Host", "Timeout",
 * "DownloadURL" ...); absent optional ones take their defaults. in is
 * copied. done is called exactly once, on the loop, unless the run is
 * canceled first. *out (may be NULL) identifies the run for
 * map_diag_run_cancel until done is called.
 */
int map_diag_run_start(core_loop *loop, map_diag_kind kind, const dm_arg *in, size_t n_in,
		       map_diag_done_fn done, void *ctx, map_diag_run **out);
/* Abandon a run: done is never called; the worker stops at its next
 * check (within about 100 ms) and its memory goes when it has. */
void map_diag_run_cancel(map_diag_run *r);

/*
 * Inputs the model's types do not rule out but a test cannot use (an
 * empty Host, a DownloadURL that is not http(s)://host...): checked by both
 * doors: the USP one refuses the Operate, the CWMP one the write of a
 * DownloadURL. 0, or DM_ERR_INVALID_VALUE with msg filled.
 */
int map_diag_check_input(map_diag_kind kind, const char *name, const char *value, char *msg, size_t msgsz);

/* ---------------------------------------------------------------------------
 * The CWMP-style objects, for the front ends
 * ------------------------------------------------------------------------- */

/* The kind whose CWMP-style DiagnosticsState parameter path names
 * ("Device.IP.Diagnostics.IPPing.DiagnosticsState"), or -1. */
int map_diag_state_kind(const char *path);
/* A DiagnosticsState value that ends a run: "Complete" or "Error...". */
bool map_diag_state_is_final(const char *value);

/* ---------------------------------------------------------------------------
 * The doors
 * ------------------------------------------------------------------------- */

typedef struct map_diag map_diag;

/*
 * Register the USP command handlers and watch the CWMP-style objects of
 * the engine's schema (kinds the schema lacks are left out). A test left
 * "Requested" by the previous run of the agent is set back to "None": a
 * restart leaves no test running. Call after the engine opened and before
 * the front ends start; stop before the loop and the engine go.
 */
int map_diag_start(dm *d, core_loop *loop, map_diag **out);
/* Stop watching, cancel the running and waiting tests (USP requests stay
 * recorded as interrupted), unregister the handlers. NULL is a no-op. */
void map_diag_stop(map_diag *md);

#endif
