/*
 * main.c - duetd: read the configuration, load the schema, open the store,
 * wire the agent's commands, the admin socket and signals onto the loop,
 * start the protocol front ends, run it, and shut down (or restart in
 * place) cleanly. This is duetd's composition root: it knows which front
 * ends exist, none of their logic belongs in this file.
 *
 * Exit codes: 0 clean shutdown, 1 start-up failure, 2 usage error.
 */
#include "admin.h"
#include "alias.h"
#include "cmdparams.h"
#include "core.h"
#include "cwmp.h"
#include "firmware.h"
#include "diag.h"
#include "xfer.h"
#include "migration.h"
#include "timers.h"
#include "proxy.h"
#include "usp.h"
#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

enum { EXIT_CLEAN = 0, EXIT_STARTUP = 1, EXIT_USAGE = 2 };

/* Long enough for queued answers (the one to Reboot() itself) to leave;
 * short enough that a client that stopped reading cannot delay a restart. */
#define RESTART_DRAIN_MS 500
/* How long a restart one manager asked for waits for the other's running
 * CWMP session to end (notes/cwmp-usp-mapping.md C6): a session that
 * lasts longer is cut. */
#define RESTART_SESSION_WAIT_MS 60000
#define RESTART_POLL_MS 20

typedef struct agent {
	char **argv; /* as given: a restart re-executes with exactly these */
	core_config cfg;
	core_loop *loop;
	dm_schema *schema;
	dm *dm;
	map_views *views; /* what the ACS and the Controllers each see */
	core_signals *signals;
	core_lifecycle *lifecycle;
	core_admin *admin;
	usp_agent *usp;
	bool firmware_switched; /* this start booted a newly installed image */
	cwmp_agent *cwmp;
	map_migration *migration; /* A/B trial control: ownership, stack status */
	map_diag *diag;           /* diagnostics both managers run */
	map_xfer_usp *xfer;       /* the Controllers' file transfers */
	map_timers *timers;       /* Device.ScheduleTimer(), kept across restarts */
	map_alias *alias;         /* who may rename an Alias (C11) */
	map_cmdparams *cmdparams; /* CWMP command-style parameters (C20) */
	core_admin_ext verbs[4];  /* the admin verbs served above core */
	map_proxy *proxy;         /* USP Broker: paths USP Services registered */
	bool stopping;
	bool restart;
	core_timer *restart_timer; /* waiting for the ACS's session to end */
	uint64_t restart_waited_ms;
} agent;

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------- */

/* Returns -1 to go on, else the exit code. */
static int configure(agent *a, int argc, char **argv)
{
	char msg[256];
	int rc = core_config_load(&a->cfg, argc, argv, msg, sizeof msg);

	if (rc == CORE_ERR_USAGE || rc == CORE_ERR_INVALID) {
		fprintf(stderr, "duetd: %s\n", msg);
		core_config_usage(stderr, "duetd");
		return EXIT_USAGE;
	}
	if (rc) {
		fprintf(stderr, "duetd: %s\n", msg[0] ? msg : core_strerror(rc));
		return EXIT_STARTUP;
	}
	if (a->cfg.help) {
		core_config_usage(stdout, "duetd");
		return EXIT_CLEAN;
	}
	if (a->cfg.version) {
		printf("duetd %s\n", CORE_VERSION);
		return EXIT_CLEAN;
	}
	core_log_set_level(a->cfg.log_level);
	return -1;
}

/* The built-in defaults path is relative to the source tree; run from
 * elsewhere, starting with no defaults beats refusing to start. A file
 * someone named explicitly must exist (the engine says so if not). */
static const char *defaults_file(const core_config *cfg)
{
	if (cfg->defaults_src == CORE_SRC_DEFAULT && access(cfg->defaults_file, F_OK) < 0) {
		CORE_LOG_I("main", "no factory-defaults file at %s: starting without one",
			   cfg->defaults_file);
		return NULL;
	}
	return cfg->defaults_file;
}

/* ---------------------------------------------------------------------------
 * Shutdown and restart
 * ------------------------------------------------------------------------- */

static void on_admin_closed(void *ctx)
{
	agent *a = ctx;

	core_loop_stop(a->loop);
}

static void agent_stop(agent *a, unsigned drain_ms)
{
	if (a->stopping)
		return;
	a->stopping = true;
	core_admin *admin = a->admin;
	a->admin = NULL;
	if (admin)
		core_admin_close(admin, drain_ms, on_admin_closed, a);
	else
		core_loop_stop(a->loop);
}

static void on_signal_stop(void *ctx, int signum)
{
	agent *a = ctx;

	a->restart = false; /* asked to stop, even in the middle of a restart */
	agent_stop(a, 0);
}

static void restart_when_idle(void *ctx)
{
	agent *a = ctx;

	core_timer_stop(a->restart_timer);
	a->restart_timer = NULL;
	if (a->stopping || !a->restart)
		return;
	if (cwmp_agent_in_session(a->cwmp) && a->restart_waited_ms < RESTART_SESSION_WAIT_MS &&
	    !core_timer_start(a->loop, RESTART_POLL_MS, 0, restart_when_idle, a, &a->restart_timer)) {
		if (!a->restart_waited_ms)
			CORE_LOG_I("main", "restart waits for the running CWMP session to end");
		a->restart_waited_ms += RESTART_POLL_MS;
		return;
	}
	if (a->restart_waited_ms >= RESTART_SESSION_WAIT_MS)
		CORE_LOG_W("main", "the CWMP session outlasted %u s: cut by the restart", RESTART_SESSION_WAIT_MS / 1000);
	agent_stop(a, RESTART_DRAIN_MS);
}

static void on_restart(void *ctx, core_restart_cause cause, bool remote, const char *command_key)
{
	agent *a = ctx;

	if (a->stopping)
		return;
	CORE_LOG_I("main", "restarting in place (%s%s, command key \"%s\")",
		   remote ? "remote " : "local ", cause == CORE_RESTART_FACTORY_RESET ? "factory reset" : "reboot",
		   command_key ? command_key : "");
	a->restart = true;
	/* the ACS's session ends first (it may be the one that asked); the
	 * Reboot() answer to a Controller is on its way meanwhile */
	cwmp_agent_hold_sessions(a->cwmp);
	restart_when_idle(a);
}

static void agent_teardown(agent *a)
{
	core_timer_stop(a->restart_timer);
	a->restart_timer = NULL;
	core_lifecycle_free(a->lifecycle);
	a->lifecycle = NULL;
	cwmp_agent_stop(a->cwmp);
	a->cwmp = NULL;
	usp_agent_stop(a->usp);
	a->usp = NULL;
	map_proxy_free(a->proxy); /* after both front ends that forward to it */
	a->proxy = NULL;
	map_diag_stop(a->diag);
	a->diag = NULL;
	map_xfer_usp_stop(a->xfer);
	a->xfer = NULL;
	map_timers_stop(a->timers);
	a->timers = NULL;
	core_signals_stop(a->signals);
	a->signals = NULL;
	map_alias_stop(a->alias);
	a->alias = NULL;
	map_cmdparams_stop(a->cmdparams);
	a->cmdparams = NULL;
	map_migration_stop(a->migration);
	a->migration = NULL;
	if (a->admin) /* start-up failed after the socket was up */
		core_admin_close(a->admin, 0, NULL, NULL);
	a->admin = NULL;
	/* Close the loop's handles before the engine whose callbacks they may hold. */
	core_loop_free(a->loop);
	a->loop = NULL;
	if (a->dm)
		dm_close(a->dm);
	a->dm = NULL;
	map_views_free(a->views); /* after every user of a view is gone */
	a->views = NULL;
	if (a->schema)
		dm_schema_free(a->schema);
	a->schema = NULL;
}

/* Executed through /proc/self/exe the kernel names the process "exe";
 * ps, pgrep and service scripts look for the program's own name. */
static void restore_process_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0)
		prctl(PR_SET_NAME, slash ? slash + 1 : argv0, 0, 0, 0);
}

/* The same binary, same arguments and environment, same pid: a service
 * manager sees no exit, and the new process emits Boot! with the cause. */
static int reexec(agent *a)
{
	execv("/proc/self/exe", a->argv);
	CORE_LOG_E("main", "cannot re-execute /proc/self/exe: %s", strerror(errno));
	return EXIT_STARTUP;
}

/* ---------------------------------------------------------------------------
 * Start-up
 * ------------------------------------------------------------------------- */

static int open_engine(agent *a)
{
	dm_errinfo err = { 0 };
	dm_open_opts o = {
		.state_dir = a->cfg.state_dir,
		.defaults_file = defaults_file(&a->cfg),
	};

	int rc = dm_schema_load(a->cfg.schema_file, &a->schema, &err);
	if (rc) {
		CORE_LOG_E("main", "%s", err.msg[0] ? err.msg : dm_strerror(rc));
		return rc;
	}
	CORE_LOG_D("main", "schema %s loaded from %s", dm_schema_model_name(a->schema),
		   a->cfg.schema_file);
	/* before the store opens: the defaults file may use both variants' names */
	if ((rc = map_views_new(a->schema, NULL, &a->views))) {
		CORE_LOG_E("main", "cannot build the managers' views: %s", dm_strerror(rc));
		return rc;
	}
	o.defaults_view = map_views_union(a->views);
	rc = dm_open(a->schema, &o, &a->dm, &err);
	if (rc) {
		CORE_LOG_E("main", "cannot open the store in %s: %s%s", a->cfg.state_dir,
			   err.msg[0] ? err.msg : dm_strerror(rc),
			   rc == DM_ERR_STORE_BUSY ? " (is another duetd running?)" : "");
		return rc;
	}
	rc = dm_providers_builtin(a->dm);
	if (rc)
		CORE_LOG_W("main", "built-in providers: %s", dm_strerror(rc));
	return CORE_OK;
}

static int start_admin(agent *a)
{
	char msg[256];
	/* duetctl takes both variants' names */
	core_admin_env env = { .engine = a->dm, .who = "duetctl", .view = map_views_union(a->views) };
	size_t nm, na;
	const core_admin_ext *mv = map_migration_admin_verbs(a->migration, &nm);
	const core_admin_ext *av = map_alias_admin_verbs(a->alias, &na);
	size_t room = sizeof a->verbs / sizeof a->verbs[0];
	if (nm > room)
		nm = room;
	if (na > room - nm)
		na = room - nm; /* never reached: the tables are fixed and small */
	memcpy(a->verbs, mv, nm * sizeof *mv);
	memcpy(a->verbs + nm, av, na * sizeof *av);
	env.ext = a->verbs;
	env.n_ext = nm + na;
	int rc = core_admin_start(a->loop, a->cfg.admin_path, &env, &a->admin, msg, sizeof msg);

	if (rc)
		CORE_LOG_E("main", "%s", msg);
	else
		CORE_LOG_D("main", "admin socket %s", a->cfg.admin_path);
	return rc;
}

/* Before Boot! consumes the boot record: the CPE reads its cause from it
 * (a factory reset restarts CWMP from scratch). */
static int start_cwmp(agent *a)
{
	char cause[64];

	if (core_lifecycle_peek_cause(a->dm, cause, sizeof cause))
		CORE_LOG_W("main", "cannot read the boot cause");
	cwmp_options co = {
		.state_dir = a->cfg.state_dir,
		.cr_address = a->cfg.cwmp_cr_address,
		.cr_port = a->cfg.cwmp_cr_port,
		.cr_limit = a->cfg.cwmp_cr_limit ? a->cfg.cwmp_cr_limit : -1,
		.tls_ca = a->cfg.tls_ca,
		.tls_cert = a->cfg.tls_cert,
		.tls_key = a->cfg.tls_key,
		.boot_cause = cause[0] ? cause : NULL,
		.view = map_views_cwmp(a->views),
		.proxy = a->proxy,
	};
	int rc = cwmp_agent_start(a->dm, a->loop, &co, &a->cwmp);
	if (rc)
		CORE_LOG_E("main", "cannot start the CWMP agent: %s", dm_strerror(rc));
	return rc;
}

/* A firmware image installed for the next boot becomes the running one
 * before anything reports the software version. */
static int boot_firmware(agent *a)
{
	int rc = core_firmware_boot(a->dm, &a->firmware_switched);

	if (rc)
		CORE_LOG_W("main", "firmware banks: %s (staying on the running image)", core_firmware_strerror(rc));
	else if (a->firmware_switched)
		CORE_LOG_I("main", "booted the newly installed firmware image");
	if ((rc = core_firmware_settle_downloads(a->dm)))
		CORE_LOG_W("main", "firmware banks: %s", core_firmware_strerror(rc));
	return CORE_OK;
}

/* A timer accepted before the restart reports to Controllers only (C19). */
static void report_resumed(void *ctx, const char *requester, const char *cmd_path, const char *command_key)
{
	agent *a = ctx;

	usp_agent_operation_complete(a->usp, requester, cmd_path, command_key, 0, NULL);
}

static int agent_start(agent *a)
{
	int rc = core_loop_new(&a->loop);

	if (rc) {
		CORE_LOG_E("main", "cannot create the event loop: %s", core_strerror(rc));
		return rc;
	}
	if ((rc = open_engine(a)))
		return rc;
	if ((rc = boot_firmware(a)))
		return rc;
	if ((rc = core_signals_start(a->loop, on_signal_stop, a, &a->signals))) {
		CORE_LOG_E("main", "cannot watch signals: %s", core_strerror(rc));
		return rc;
	}
	rc = core_lifecycle_start(a->dm, a->loop, a->cfg.reboot_hook, a->cfg.factory_reset_hook,
				  on_restart, a, &a->lifecycle);
	if (rc) {
		CORE_LOG_E("main", "cannot register agent commands: %s", core_strerror(rc));
		return rc;
	}
	dm_errinfo err = { 0 };
	if ((rc = map_migration_start(a->dm, a->loop, &a->migration, &err))) {
		CORE_LOG_E("main", "migration control: %s", err.msg[0] ? err.msg : dm_strerror(rc));
		return rc;
	}
	if ((rc = map_cmdparams_start(a->dm, a->loop, &a->cmdparams)))
		CORE_LOG_W("main", "command-style parameters unavailable: %s", dm_strerror(rc));
	if ((rc = map_alias_start(a->dm, a->migration, &a->alias))) {
		CORE_LOG_E("main", "alias rule: %s", dm_strerror(rc));
		return rc;
	}
	if ((rc = start_admin(a)))
		return rc;
	if ((rc = map_diag_start(a->dm, a->loop, &a->diag)))
		CORE_LOG_W("main", "diagnostics unavailable: %s", dm_strerror(rc));
	map_xfer_usp_opts xo = { a->cfg.state_dir, a->cfg.tls_ca, a->cfg.tls_cert, a->cfg.tls_key };
	if ((rc = map_xfer_usp_start(a->dm, a->loop, &xo, &a->xfer)))
		CORE_LOG_W("main", "file transfers for Controllers unavailable: %s", dm_strerror(rc));
	/* before USP starts: it fails every operation a restart interrupted */
	if ((rc = map_timers_start(a->dm, a->loop, &a->timers)))
		CORE_LOG_W("main", "Device.ScheduleTimer() unavailable: %s", dm_strerror(rc));
	if (a->cfg.usp_broker_socket && !map_proxy_new(a->schema, &a->proxy))
		map_proxy_set_timeout_ms(a->proxy, a->cfg.usp_broker_timeout_ms);
	usp_options uo = {
		.uds_path = a->cfg.usp_socket,
		.tls_cert = a->cfg.tls_cert,
		.tls_key = a->cfg.tls_key,
		.tls_ca = a->cfg.tls_ca,
		.view = map_views_usp(a->views),
		.broker_path = a->cfg.usp_broker_socket,
		.proxy = a->proxy,
	};
	if ((rc = usp_agent_start(a->dm, a->loop, &uo, &a->usp))) {
		CORE_LOG_E("main", "cannot start the USP agent: %s", dm_strerror(rc));
		return rc;
	}
	map_timers_set_reporter(a->timers, report_resumed, a);
	if ((rc = start_cwmp(a)))
		return rc;
	/* After the front ends subscribed: Boot! reaches their subscriptions. */
	core_lifecycle_emit_boot(a->dm, a->firmware_switched);
	return CORE_OK;
}

int main(int argc, char **argv)
{
	uint64_t t0 = uv_hrtime(); /* CLOCK_MONOTONIC */
	agent a = { .argv = argv };
	int code = configure(&a, argc, argv);

	restore_process_name(argv[0]);
	if (code >= 0) {
		core_config_free(&a.cfg);
		return code;
	}
	if (agent_start(&a)) {
		agent_teardown(&a);
		core_config_free(&a.cfg);
		return EXIT_STARTUP;
	}
	CORE_LOG_I("main", "ready in %llu ms (state %s, admin %s)",
		   (unsigned long long)((uv_hrtime() - t0) / 1000000u), a.cfg.state_dir,
		   a.cfg.admin_path);
	core_loop_run(a.loop);
	agent_teardown(&a);
	code = a.restart ? reexec(&a) : EXIT_CLEAN;
	if (!a.restart)
		CORE_LOG_I("main", "stopped");
	core_config_free(&a.cfg);
	return code;
}
