/*
 * bench_util.c - what every part of `make bench` shares: the clock,
 * child processes that die with the bench, ports, memory, and the one way
 * a figure is printed.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_row(const char *what, double value, const char *unit, const char *base_what, double base,
		const char *target)
{
	if (value < 0) {
		printf("%-44s %12s %-8s  (not measured)\n", what, "-", unit);
		return;
	}
	printf("%-44s %12.1f %-8s", what, value, unit);
	if (base > 0)
		printf("  ratio %6.2fx %s", value / base, base_what);
	if (target)
		printf("  (target %s)", target);
	printf("\n");
}

/* A child that dies with us, whatever way we go; its output goes to log. */
pid_t bench_spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL); /* ignored here, not to be inherited */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The kB figure of the line starting with key in /proc/<pid>/<file>, -1
 * when there is none. */
static long proc_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl))
			kb = atol(line + kl);
	if (f)
		fclose(f);
	return kb;
}

long bench_rss_kb(pid_t pid)
{
	return proc_kb(pid, "status", "VmRSS:");
}

int bench_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int port = -1;
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool bench_wait_port(int port, double seconds)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (double end = bench_now() + seconds; bench_now() < end; usleep(5000)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		bool up = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof a);
		if (fd >= 0)
			close(fd);
		if (up)
			return true;
	}
	return false;
}

/* Proportional set size: shared library pages count by the share of each
 * process mapping them, which is what a device with several processes
 * really pays. */
long bench_pss_kb(pid_t pid)
{
	return proc_kb(pid, "smaps_rollup", "Pss:");
}
