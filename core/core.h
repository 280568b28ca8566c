/*
 * core.h - the public interface of duet's core: the one event loop (libuv)
 * that owns every socket and timer, timers, logging, configuration, signals
 * and the agent's lifecycle (Reboot/FactoryReset, Boot! event).
 *
 * core/ knows no protocol. Front ends attach their libraries to the loop
 * returned by core_loop_uv(). The admin socket and its line protocol live in
 * admin.h.
 *
 * Conventions: functions return CORE_OK (0) or a negative core_err and write
 * results through out-parameters. Strings returned through out-parameters
 * are owned by the caller unless said otherwise.
 */
#ifndef DUET_CORE_H
#define DUET_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

typedef enum core_err {
	CORE_OK = 0,
	CORE_ERR_NOMEM = -1,      /* allocation failed */
	CORE_ERR_USAGE = -2,      /* bad command line (unknown flag, missing value) */
	CORE_ERR_INVALID = -3,    /* a value is malformed (log level, path) */
	CORE_ERR_UV = -4,         /* a libuv call failed; the message says which */
	CORE_ERR_SYS = -5,        /* a system call failed */
	CORE_ERR_BUSY = -6,       /* another agent answers on the admin socket */
	CORE_ERR_TOO_LONG = -7,   /* a line or path exceeds its limit */
	CORE_ERR_AGAIN = -8,      /* no complete line buffered yet */
	CORE_ERR_EXISTS = -9,     /* path exists and is not a socket we may replace */
	CORE_ERR_PROTOCOL = -10,  /* malformed admin protocol line */
	CORE_ERR_CLOSED = -11,    /* the peer closed the connection */
} core_err;

/* Static text for a core_err code. */
const char *core_strerror(int code);

/* ---------------------------------------------------------------------------
 * Logging: "2026-11-25T07:41:33.123Z duetd[pid] LEVEL module: message" on
 * stderr, one write(2) per line so concurrent writers do not interleave.
 * ------------------------------------------------------------------------- */

typedef enum core_log_level {
	CORE_LOG_ERROR = 0,
	CORE_LOG_WARN = 1,
	CORE_LOG_INFO = 2,
	CORE_LOG_DEBUG = 3,
} core_log_level;

/* Parse "error", "warn" (or "warning"), "info", "debug", any case. */
int core_log_parse_level(const char *s, core_log_level *out);
/* Upper-case name as printed in a log line ("WARN"). */
const char *core_log_level_name(core_log_level l);
/* Lines above this level are dropped. Default CORE_LOG_INFO. */
void core_log_set_level(core_log_level l);
core_log_level core_log_get_level(void);
/* Program name printed before [pid]; the string must outlive its use.
 * Default "duetd". */
void core_log_set_ident(const char *ident);
/* Write to this descriptor instead of stderr (tests); -1 restores stderr. */
void core_log_set_fd(int fd);
bool core_log_enabled(core_log_level l);

void core_log(core_log_level l, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void core_vlog(core_log_level l, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define CORE_LOG_E(mod, ...) core_log(CORE_LOG_ERROR, (mod), __VA_ARGS__)
#define CORE_LOG_W(mod, ...) core_log(CORE_LOG_WARN, (mod), __VA_ARGS__)
#define CORE_LOG_I(mod, ...) core_log(CORE_LOG_INFO, (mod), __VA_ARGS__)
/* Debug arguments are not evaluated when debug logging is off. */
#define CORE_LOG_D(mod, ...)                                                   \
	do {                                                                   \
		if (core_log_enabled(CORE_LOG_DEBUG))                          \
			core_log(CORE_LOG_DEBUG, (mod), __VA_ARGS__);          \
	} while (0)

/* ---------------------------------------------------------------------------
 * Configuration of duetd. Precedence: command-line flags > environment
 * (DUET_STATE, DUET_DEFAULTS, DUET_SCHEMA, DUET_ADMIN, DUET_LOG_LEVEL,
 * DUET_REBOOT_HOOK, DUET_FACTORY_RESET_HOOK, DUET_CWMP_CR_ADDRESS,
 * DUET_CWMP_CR_PORT, DUET_USP_BROKER_SOCKET ...) > built-in defaults.
 * ------------------------------------------------------------------------- */

#define CORE_DEFAULT_STATE "./var"
#define CORE_DEFAULT_DEFAULTS "datamodel/factory-defaults.txt"
#define CORE_DEFAULT_SCHEMA "datamodel/device2.xml"
#define CORE_ADMIN_SOCKET_NAME "duetd.sock"

/* Where a setting's value came from (start-up logs say so). */
typedef enum core_source {
	CORE_SRC_DEFAULT,
	CORE_SRC_ENV,
	CORE_SRC_FLAG,
} core_source;

typedef struct core_config {
	char *state_dir;
	char *defaults_file;
	char *schema_file;
	char *admin_path;          /* default: STATE/duetd.sock */
	char *reboot_hook;         /* NULL: re-exec in place */
	char *factory_reset_hook;  /* NULL: re-exec in place */
	char *usp_socket;          /* extra USP UNIX-socket listener, or NULL */
	char *usp_broker_socket;   /* USP Broker socket for USP Services, NULL: no Broker */
	unsigned usp_broker_timeout_ms; /* how long a USP Service may take to answer */
	char *tls_cert, *tls_key;  /* the agent's own certificate and key, or NULL */
	char *tls_ca;              /* CA bundle for TLS peers, NULL: system store */
	char *cwmp_cr_address;     /* CWMP Connection Request listener address, NULL: any */
	int cwmp_cr_port;
	int cwmp_cr_limit;         /* Connection Requests per 10 s; 0 no limit */          /* its TCP port: 0 the default (7547), -1 ephemeral */
	core_log_level log_level;
	core_source defaults_src;  /* a missing built-in default file is tolerated */
	bool help;                 /* --help given: print usage, exit 0 */
	bool version;              /* --version given: print version, exit 0 */
} core_config;

/*
 * Fill cfg from argv (argv[0] is the program) and the environment. Flags
 * take "--flag VALUE" or "--flag=VALUE". On CORE_ERR_USAGE or
 * CORE_ERR_INVALID, msg (may be NULL) receives one line saying what is wrong
 * and cfg holds nothing to free. On success free with core_config_free().
 */
int core_config_load(core_config *cfg, int argc, char *const argv[], char *msg, size_t msgsz);
void core_config_free(core_config *cfg);
/* Print duetd's usage text. */
void core_config_usage(FILE *f, const char *prog);

#define CORE_VERSION "0.1.0"

/* ---------------------------------------------------------------------------
 * The event loop
 * ------------------------------------------------------------------------- */

typedef struct core_loop core_loop;

int core_loop_new(core_loop **out);
/* The libuv loop, for front ends to attach libwebsockets, libcurl, ... */
uv_loop_t *core_loop_uv(core_loop *l);
/* Run until core_loop_stop() or until nothing is active. */
int core_loop_run(core_loop *l);
/* Make core_loop_run() return after the current iteration. */
void core_loop_stop(core_loop *l);
/* Stop the remaining timers, close every handle still open, run the loop
 * until they are closed, free it. Owners should have closed their handles;
 * this is the safety net. */
void core_loop_free(core_loop *l);

/* ---------------------------------------------------------------------------
 * Timers, thin over uv_timer
 * ------------------------------------------------------------------------- */

typedef struct core_timer core_timer;
typedef void (*core_timer_fn)(void *ctx);

/*
 * Call cb(ctx) after ms milliseconds and then every repeat_ms (0 = once).
 * With out non-NULL the timer lives until core_timer_stop(), even after a
 * one-shot timer fired. With out NULL the timer must be one-shot and frees
 * itself after firing ("run this from the loop").
 */
int core_timer_start(core_loop *l, uint64_t ms, uint64_t repeat_ms, core_timer_fn cb, void *ctx,
		     core_timer **out);
/* Cancel and free; safe on NULL and from the timer's own callback. */
void core_timer_stop(core_timer *t);

/* ---------------------------------------------------------------------------
 * Signals: SIGINT/SIGTERM call on_stop; SIGHUP is logged (nothing to reopen);
 * SIGPIPE is ignored so a vanished peer is a write error, not a death.
 * ------------------------------------------------------------------------- */

typedef struct core_signals core_signals;
typedef void (*core_stop_fn)(void *ctx, int signum);

int core_signals_start(core_loop *l, core_stop_fn on_stop, void *ctx, core_signals **out);
void core_signals_stop(core_signals *s);

/* ---------------------------------------------------------------------------
 * Lifecycle: Device.Reboot() / Device.FactoryReset() handlers and Boot!
 * ------------------------------------------------------------------------- */

typedef struct core_lifecycle core_lifecycle;

/* What a restart is for; it becomes the next Boot! event's Cause. */
typedef enum core_restart_cause {
	CORE_RESTART_REBOOT,
	CORE_RESTART_FACTORY_RESET,
} core_restart_cause;

/* Asked to restart the agent in place: the request is already complete. */
typedef void (*core_restart_fn)(void *ctx, core_restart_cause cause, bool remote,
				const char *command_key);

/*
 * Register handlers for Device.Reboot() and Device.FactoryReset() where the
 * schema has them. With a hook (non-NULL, non-empty) the command runs it with
 * /bin/sh -c; without one the request completes and restart() is called from
 * the loop. FactoryReset resets the store (dm_factory_reset) first in both
 * cases. The hook strings are copied.
 */
int core_lifecycle_start(dm *d, core_loop *l, const char *reboot_hook, const char *reset_hook,
			 core_restart_fn restart, void *ctx, core_lifecycle **out);
void core_lifecycle_free(core_lifecycle *lc);

/* Emit the schema's Boot! event once (no-op when the schema has none). Its
 * Cause and CommandKey are those Reboot()/FactoryReset() recorded in the
 * store before the restart (else "LocalReboot": a power cycle or a crash);
 * FirmwareUpdated says whether this start booted a newly installed image.
 * The record is consumed and the boot counted. */
int core_lifecycle_emit_boot(dm *d, bool firmware_updated);

/* The cause core_lifecycle_emit_boot will report ("RemoteReboot",
 * "LocalFactoryReset" ...), read without consuming it: "" when none was
 * recorded (a power cycle). Truncated to fit n. CORE_OK or CORE_ERR_INVALID
 * when the store cannot be read (buf is then ""). */
int core_lifecycle_peek_cause(dm *d, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DUET_CORE_H */
