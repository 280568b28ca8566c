/*
 * log.c - the agent's log: one line per message on stderr,
 * "2026-11-25T07:41:33.123Z duetd[pid] LEVEL module: message".
 * Level filtering and formatting only; where lines go beyond stderr (syslog,
 * files) is the service manager's business.
 */
#include "core.h"

#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Long enough for any sane message; longer ones are cut, never split, so a
 * line stays one write(2) and is never interleaved with another writer's. */
#define LOG_LINE_MAX 4096

static core_log_level log_level = CORE_LOG_INFO;
static const char *log_ident = "duetd";
static int log_fd = -1;

static const struct {
	const char *name;   /* as printed */
	const char *alias;  /* also accepted when parsing */
} level_names[] = {
	[CORE_LOG_ERROR] = { "ERROR", "err" },
	[CORE_LOG_WARN] = { "WARN", "warning" },
	[CORE_LOG_INFO] = { "INFO", NULL },
	[CORE_LOG_DEBUG] = { "DEBUG", NULL },
};

int core_log_parse_level(const char *s, core_log_level *out)
{
	if (!s)
		return CORE_ERR_INVALID;
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (!strcasecmp(s, level_names[i].name) ||
		    (level_names[i].alias && !strcasecmp(s, level_names[i].alias))) {
			*out = (core_log_level)i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

const char *core_log_level_name(core_log_level l)
{
	if ((unsigned)l >= sizeof level_names / sizeof level_names[0])
		return "?";
	return level_names[l].name;
}

void core_log_set_level(core_log_level l)
{
	log_level = l;
}

core_log_level core_log_get_level(void)
{
	return log_level;
}

void core_log_set_ident(const char *ident)
{
	log_ident = ident ? ident : "duetd";
}

void core_log_set_fd(int fd)
{
	log_fd = fd;
}

bool core_log_enabled(core_log_level l)
{
	return l <= log_level;
}

/* UTC with milliseconds: log lines from several hosts sort together. */
static size_t format_time(char *buf, size_t sz)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, sz - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	return n + (m > 0 ? (size_t)m : 0);
}

/* A message with a newline would forge a second log line. */
static void flatten_controls(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' || s[i] == '\r')
			s[i] = ' ';
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0)
			return; /* nowhere left to report it */
		buf += w;
		len -= (size_t)w;
	}
}

void core_vlog(core_log_level l, const char *module, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n, cap = sizeof line - 1; /* room for the final newline */

	if (!core_log_enabled(l))
		return;
	n = format_time(line, cap);
	int m = snprintf(line + n, cap - n, " %s[%ld] %s %s: ", log_ident, (long)getpid(),
			 core_log_level_name(l), module ? module : "-");
	if (m > 0)
		n += (size_t)m < cap - n ? (size_t)m : cap - n - 1;
	size_t start = n;
	m = vsnprintf(line + n, cap - n, fmt, ap);
	if (m > 0)
		n += (size_t)m < cap - n ? (size_t)m : cap - n - 1;
	flatten_controls(line + start, n - start);
	line[n++] = '\n';
	write_all(log_fd >= 0 ? log_fd : STDERR_FILENO, line, n);
}

void core_log(core_log_level l, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	core_vlog(l, module, fmt, ap);
	va_end(ap);
}
