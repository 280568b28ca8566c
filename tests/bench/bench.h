/*
 * bench.h - the parts of `make bench` and what they share (bench_util.c).
 * bench.c runs the engine figures, then usp_bench_run and cwmp_bench_run.
 */
#ifndef DUET_BENCH_H
#define DUET_BENCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "dm.h"

/* The USP front end over real MTPs (usp_bench.c). */
int usp_bench_run(const char *schema_file);
/* The CWMP front end: whole-tree GetParameterValues on the full CWMP
 * schema (cwmp_schema_file; skipped when NULL) and full sessions with the
 * real duetd (cwmp_bench.c). */
int cwmp_bench_run(const char *cwmp_schema_file);

/* Up to `per_table` instances in every table of the schema, recursively,
 * added in the write transaction t; returns how many were added. */
unsigned long bench_populate(dm_txn *t, const dm_schema *s, int per_table);

/* Monotonic seconds. */
double bench_now(void);
/* One figure: value with its unit, the ratio to a baseline when base > 0,
 * the target when not NULL; a negative value prints as not measured. */
void bench_row(const char *what, double value, const char *unit, const char *base_what, double base,
	       const char *target);
/* A child running argv (stdout and stderr to log) killed when we die. */
pid_t bench_spawn(const char *log, char *const argv[]);
/* Resident memory of a process in KiB, -1 when unknown. */
long bench_rss_kb(pid_t pid);
/* Its proportional set size (shared pages divided among their users). */
long bench_pss_kb(pid_t pid);
/* A TCP port free on 127.0.0.1 right now, -1 on failure. */
int bench_free_port(void);
/* Wait up to seconds for something to accept on 127.0.0.1:port. */
bool bench_wait_port(int port, double seconds);

#endif /* DUET_BENCH_H */
