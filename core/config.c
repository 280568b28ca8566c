/*
 * config.c - duetd's settings from the command line, the environment and
 * built-in defaults, in that order of precedence. What the factory-defaults
 * file contains is the engine's business (dm_open); here it is only a path.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

/* One row per setting: the flag, the environment variable that stands in
 * for it, and the built-in default (NULL: unset unless derived). */
enum opt_id {
	OPT_STATE,
	OPT_DEFAULTS,
	OPT_SCHEMA,
	OPT_ADMIN,
	OPT_LOG_LEVEL,
	OPT_REBOOT_HOOK,
	OPT_RESET_HOOK,
	OPT_USP_SOCKET,
	OPT_USP_BROKER_SOCKET,
	OPT_USP_BROKER_TIMEOUT,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_CWMP_CR_ADDRESS,
	OPT_CWMP_CR_PORT,
	OPT_CWMP_CR_LIMIT,
	OPT_COUNT
};

static const struct opt {
	const char *flag;
	const char *env;
	const char *def;
	const char *metavar;
	const char *help;
	bool may_be_empty; /* hooks: an empty value means "no hook" */
} opts[OPT_COUNT] = {
	[OPT_STATE] = { "state", "DUET_STATE", CORE_DEFAULT_STATE, "DIR",
			"state directory holding the store", false },
	[OPT_DEFAULTS] = { "defaults", "DUET_DEFAULTS", CORE_DEFAULT_DEFAULTS, "FILE",
			   "factory-defaults file", false },
	[OPT_SCHEMA] = { "schema", "DUET_SCHEMA", CORE_DEFAULT_SCHEMA, "FILE",
			 "BBF DM XML schema file", false },
	[OPT_ADMIN] = { "admin", "DUET_ADMIN", NULL, "PATH",
			"admin socket (default STATE/" CORE_ADMIN_SOCKET_NAME ")", false },
	[OPT_LOG_LEVEL] = { "log-level", "DUET_LOG_LEVEL", "info", "LEVEL",
			    "error, warn, info or debug", false },
	[OPT_REBOOT_HOOK] = { "reboot-hook", "DUET_REBOOT_HOOK", NULL, "CMD",
			      "run by Device.Reboot() (default: restart in place)", true },
	[OPT_RESET_HOOK] = { "factory-reset-hook", "DUET_FACTORY_RESET_HOOK", NULL, "CMD",
			     "run by Device.FactoryReset() after the store reset", true },
	[OPT_USP_SOCKET] = { "usp-socket", "DUET_USP_SOCKET", NULL, "PATH",
			     "extra USP UNIX-socket listener for local Controllers", true },
	[OPT_USP_BROKER_SOCKET] = { "usp-broker-socket", "DUET_USP_BROKER_SOCKET", NULL, "PATH",
				    "USP Broker socket where USP Services register (default: no Broker)", true },
	[OPT_USP_BROKER_TIMEOUT] = { "usp-broker-timeout", "DUET_USP_BROKER_TIMEOUT", "5000", "MS",
				     "how long a USP Service may take to answer (100..600000 ms)", false },
	[OPT_TLS_CERT] = { "tls-cert", "DUET_TLS_CERT", NULL, "FILE",
			   "the agent's certificate (PEM) for its TLS servers", true },
	[OPT_TLS_KEY] = { "tls-key", "DUET_TLS_KEY", NULL, "FILE",
			  "the private key (PEM) of --tls-cert", true },
	[OPT_TLS_CA] = { "tls-ca", "DUET_TLS_CA", NULL, "FILE",
			 "CA bundle (PEM) for TLS peers (default: the system store)", true },
	[OPT_CWMP_CR_ADDRESS] = { "cwmp-cr-address", "DUET_CWMP_CR_ADDRESS", NULL, "ADDR",
				  "CWMP Connection Request listener address (default: any)", true },
	[OPT_CWMP_CR_PORT] = { "cwmp-cr-port", "DUET_CWMP_CR_PORT", "7547", "N",
			       "its TCP port; -1 picks a free one (tests)", false },
	[OPT_CWMP_CR_LIMIT] = { "cwmp-cr-limit", "DUET_CWMP_CR_LIMIT", "5", "N",
				"Connection Requests accepted per 10 s (1..32; 0: no limit)", false },
};

typedef struct raw_config {
	const char *val[OPT_COUNT];
	core_source src[OPT_COUNT];
	bool set[OPT_COUNT];
	bool help, version;
} raw_config;

static void say(char *msg, size_t msgsz, const char *fmt, const char *a, const char *b)
{
	if (msg && msgsz)
		snprintf(msg, msgsz, fmt, a, b ? b : "");
}

static int find_flag(const char *name, size_t len)
{
	for (int i = 0; i < OPT_COUNT; i++)
		if (strlen(opts[i].flag) == len && !strncmp(opts[i].flag, name, len))
			return i;
	return -1;
}

/* One argv element (and maybe its value); *used says how many it took. */
static int parse_one(raw_config *raw, int argc, char *const argv[], int i, int *used, char *msg,
		     size_t msgsz)
{
	const char *arg = argv[i];

	*used = 1;
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		raw->help = true;
		return CORE_OK;
	}
	if (!strcmp(arg, "--version")) {
		raw->version = true;
		return CORE_OK;
	}
	if (strncmp(arg, "--", 2) || !arg[2]) {
		say(msg, msgsz, "unexpected argument '%s'", arg, NULL);
		return CORE_ERR_USAGE;
	}
	const char *name = arg + 2, *eq = strchr(name, '=');
	int id = find_flag(name, eq ? (size_t)(eq - name) : strlen(name));
	if (id < 0) {
		say(msg, msgsz, "unknown option '%s'", arg, NULL);
		return CORE_ERR_USAGE;
	}
	const char *val = eq ? eq + 1 : NULL;
	if (!val) {
		if (i + 1 >= argc) {
			say(msg, msgsz, "option '--%s' needs a value", opts[id].flag, NULL);
			return CORE_ERR_USAGE;
		}
		val = argv[i + 1];
		*used = 2;
	}
	if (!*val && !opts[id].may_be_empty) {
		say(msg, msgsz, "option '--%s' needs a non-empty value", opts[id].flag, NULL);
		return CORE_ERR_USAGE;
	}
	raw->val[id] = val;
	raw->src[id] = CORE_SRC_FLAG;
	raw->set[id] = true;
	return CORE_OK;
}

static int parse_flags(raw_config *raw, int argc, char *const argv[], char *msg, size_t msgsz)
{
	for (int i = 1; i < argc;) {
		int used, rc = parse_one(raw, argc, argv, i, &used, msg, msgsz);
		if (rc)
			return rc;
		i += used;
	}
	return CORE_OK;
}

/* An empty variable counts as unset: "DUET_STATE= duetd" means the default. */
static void apply_env_and_defaults(raw_config *raw)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		if (raw->set[i])
			continue;
		const char *e = getenv(opts[i].env);
		if (e && *e) {
			raw->val[i] = e;
			raw->src[i] = CORE_SRC_ENV;
		} else {
			raw->val[i] = opts[i].def;
			raw->src[i] = CORE_SRC_DEFAULT;
		}
	}
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src || !*src)
		return CORE_OK;
	*dst = strdup(src);
	return *dst ? CORE_OK : CORE_ERR_NOMEM;
}

static int derive_admin_path(const char *state_dir, char **out)
{
	size_t len = strlen(state_dir);

	while (len > 1 && state_dir[len - 1] == '/')
		len--;
	size_t sz = len + 1 + sizeof CORE_ADMIN_SOCKET_NAME;
	*out = malloc(sz);
	if (!*out)
		return CORE_ERR_NOMEM;
	snprintf(*out, sz, "%.*s/%s", (int)len, state_dir, CORE_ADMIN_SOCKET_NAME);
	return CORE_OK;
}

/* A whole number in lo..hi. */
static int parse_range(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return CORE_ERR_INVALID;
	*out = v;
	return CORE_OK;
}

/* -1 (an ephemeral port, for tests) or 0..65535, 0 meaning the default. */
static int parse_port(const char *s, int *out)
{
	long v;
	int rc = parse_range(s, -1, 65535, &v);

	if (!rc)
		*out = (int)v;
	return rc;
}

/* 0 (no limit) or 1..32 requests per window. */
static int parse_cr_limit(const char *s, int *out)
{
	long v;
	int rc = parse_range(s, 0, 32, &v);

	if (!rc)
		*out = (int)v;
	return rc;
}

/* A USP Service's answer time: a tenth of a second to ten minutes. */
static int parse_broker_timeout(const char *s, unsigned *out)
{
	long v;
	int rc = parse_range(s, 100, 600000, &v);

	if (!rc)
		*out = (unsigned)v;
	return rc;
}

static int build_config(core_config *cfg, const raw_config *raw, char *msg, size_t msgsz)
{
	int rc = core_log_parse_level(raw->val[OPT_LOG_LEVEL], &cfg->log_level);
	if (rc) {
		say(msg, msgsz, "bad log level '%s' (from %s): use error, warn, info or debug",
		    raw->val[OPT_LOG_LEVEL],
		    raw->src[OPT_LOG_LEVEL] == CORE_SRC_FLAG ? "--log-level" : "DUET_LOG_LEVEL");
		return CORE_ERR_INVALID;
	}
	if (parse_port(raw->val[OPT_CWMP_CR_PORT], &cfg->cwmp_cr_port)) {
		say(msg, msgsz, "bad port '%s' (from %s): use -1 or 0 to 65535", raw->val[OPT_CWMP_CR_PORT],
		    raw->src[OPT_CWMP_CR_PORT] == CORE_SRC_FLAG ? "--cwmp-cr-port" : "DUET_CWMP_CR_PORT");
		return CORE_ERR_INVALID;
	}
	if (parse_cr_limit(raw->val[OPT_CWMP_CR_LIMIT], &cfg->cwmp_cr_limit)) {
		say(msg, msgsz, "bad limit '%s' (from %s): use 0 (no limit) or 1 to 32",
		    raw->val[OPT_CWMP_CR_LIMIT],
		    raw->src[OPT_CWMP_CR_LIMIT] == CORE_SRC_FLAG ? "--cwmp-cr-limit" : "DUET_CWMP_CR_LIMIT");
		return CORE_ERR_INVALID;
	}
	if (parse_broker_timeout(raw->val[OPT_USP_BROKER_TIMEOUT], &cfg->usp_broker_timeout_ms)) {
		say(msg, msgsz, "bad timeout '%s' (from %s): use 100 to 600000 ms", raw->val[OPT_USP_BROKER_TIMEOUT],
		    raw->src[OPT_USP_BROKER_TIMEOUT] == CORE_SRC_FLAG ? "--usp-broker-timeout"
								      : "DUET_USP_BROKER_TIMEOUT");
		return CORE_ERR_INVALID;
	}
	cfg->defaults_src = raw->src[OPT_DEFAULTS];
	cfg->help = raw->help;
	cfg->version = raw->version;
	if ((rc = dup_opt(&cfg->state_dir, raw->val[OPT_STATE])) ||
	    (rc = dup_opt(&cfg->defaults_file, raw->val[OPT_DEFAULTS])) ||
	    (rc = dup_opt(&cfg->schema_file, raw->val[OPT_SCHEMA])) ||
	    (rc = dup_opt(&cfg->admin_path, raw->val[OPT_ADMIN])) ||
	    (rc = dup_opt(&cfg->reboot_hook, raw->val[OPT_REBOOT_HOOK])) ||
	    (rc = dup_opt(&cfg->factory_reset_hook, raw->val[OPT_RESET_HOOK])) ||
	    (rc = dup_opt(&cfg->usp_socket, raw->val[OPT_USP_SOCKET])) ||
	    (rc = dup_opt(&cfg->usp_broker_socket, raw->val[OPT_USP_BROKER_SOCKET])) ||
	    (rc = dup_opt(&cfg->tls_cert, raw->val[OPT_TLS_CERT])) ||
	    (rc = dup_opt(&cfg->tls_key, raw->val[OPT_TLS_KEY])) ||
	    (rc = dup_opt(&cfg->tls_ca, raw->val[OPT_TLS_CA])) ||
	    (rc = dup_opt(&cfg->cwmp_cr_address, raw->val[OPT_CWMP_CR_ADDRESS])))
		return rc;
	if (!cfg->admin_path)
		return derive_admin_path(cfg->state_dir, &cfg->admin_path);
	return CORE_OK;
}

int core_config_load(core_config *cfg, int argc, char *const argv[], char *msg, size_t msgsz)
{
	raw_config raw;

	memset(cfg, 0, sizeof *cfg);
	memset(&raw, 0, sizeof raw);
	if (msg && msgsz)
		msg[0] = '\0';
	int rc = parse_flags(&raw, argc, argv, msg, msgsz);
	if (rc)
		return rc;
	apply_env_and_defaults(&raw);
	rc = build_config(cfg, &raw, msg, msgsz);
	if (rc) {
		if (rc == CORE_ERR_NOMEM)
			say(msg, msgsz, "out of memory%s%s", "", NULL);
		core_config_free(cfg);
	}
	return rc;
}

void core_config_free(core_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->state_dir);
	free(cfg->defaults_file);
	free(cfg->schema_file);
	free(cfg->admin_path);
	free(cfg->reboot_hook);
	free(cfg->factory_reset_hook);
	free(cfg->usp_socket);
	free(cfg->usp_broker_socket);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ca);
	free(cfg->cwmp_cr_address);
	memset(cfg, 0, sizeof *cfg);
}

void core_config_usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [options]\n\noptions (environment variable in brackets):\n",
		prog ? prog : "duetd");
	for (int i = 0; i < OPT_COUNT; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s %s", opts[i].flag, opts[i].metavar);
		fprintf(f, "  %-28s %s [%s]", left, opts[i].help, opts[i].env);
		if (opts[i].def)
			fprintf(f, " default: %s", opts[i].def);
		fputc('\n', f);
	}
	fprintf(f, "  %-28s %s\n  %-28s %s\n", "--help", "print this text and exit",
		"--version", "print the version and exit");
}
