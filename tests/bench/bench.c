/*
 * bench.c - `make bench`: the engine's speed and memory figures, each with
 * its ratio to a raw-LMDB baseline measured in the same run (or to its target
 * where no LMDB equivalent exists). Store: the full official USP schema with
 * up to 4 instances in every table. Prints figures; asserts nothing.
 */
#include "bench.h"
#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INSTANCES 4





/* ---- populate: up to 4 instances in every table, recursively ---------------- */

static unsigned long added;
static int per_table_n = INSTANCES;

static void populate(dm_txn *t, const dm_node *obj, char *path, size_t len, int depth)
{
	for (const dm_node *c = dm_node_first_child(obj); c; c = dm_node_next_sibling(c)) {
		if (dm_node_get_kind(c) != DM_NODE_OBJECT)
			continue;
		size_t nl = strlen(dm_node_name(c));
		memcpy(path + len, dm_node_name(c), nl);
		path[len + nl] = '.';
		path[len + nl + 1] = 0;
		if (!dm_node_is_table(c)) {
			populate(t, c, path, len + nl + 1, depth);
			continue;
		}
		for (int i = 0; i < per_table_n; i++) {
			dm_errinfo err;
			uint32_t inst;
			/* a group per instance: a table whose defaults clash on a
			 * unique key simply ends up with fewer instances */
			dm_txn_group_begin(t);
			int rc = dm_add(t, path, NULL, &inst, &err);
			if (dm_txn_group_end(t, rc == DM_OK, &err) || rc)
				break;
			added++;
			int n = snprintf(path + len + nl + 1, 1024 - (len + nl + 1), "%u.", inst);
			populate(t, c, path, len + nl + 1 + (size_t)n, depth + 1);
			path[len + nl + 1] = 0;
		}
	}
	path[len] = 0;
}

unsigned long bench_populate(dm_txn *t, const dm_schema *s, int per_table)
{
	char path[1024] = "Device.";
	unsigned long before = added;

	per_table_n = per_table;
	populate(t, dm_schema_root(s), path, 7, 0);
	return added - before;
}

/* ---- the walk, also used to copy every value into the raw baseline ----------- */

typedef struct walk_ctx {
	unsigned long n;
	MDB_txn *raw;
	MDB_dbi dbi;
} walk_ctx;

static int count_item(void *ctx, const dm_item *it)
{
	walk_ctx *w = ctx;
	w->n++;
	if (w->raw) {
		MDB_val k = {strlen(it->path), (void *)it->path}, v = {it->value_len, (void *)it->value};
		mdb_put(w->raw, w->dbi, &k, &v, 0);
	}
	return 0;
}

static double walk_once(dm *d, unsigned long *n)
{
	dm_txn *t;
	dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	walk_ctx w = {0};
	double t0 = bench_now();
	dm_resolve(t, DM_GRAMMAR_USP, "Device.", DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, count_item, &w, NULL);
	double el = bench_now() - t0;
	dm_txn_abort(t);
	*n = w.n;
	return el;
}

/* ---- start-up of the real daemon ------------------------------------------------ */

static bool admin_ping(const char *sock)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%.107s", sock);
	bool ok = false;
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
		char buf[64];
		ok = write(fd, "ping\n", 5) == 5 && read(fd, buf, sizeof buf) > 0 && !strncmp(buf, "ok", 2);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Start duetd on an existing store and time it until the admin socket
 * answers; report its RSS then. Returns ms, or -1. */
static double startup_ms(const char *state, const char *schema, const char *defaults, long *rss,
			 double *stop_ms)
{
	char sock[512];
	snprintf(sock, sizeof sock, "%s/bench.sock", state);
	double best = -1;
	for (int round = 0; round < 4; round++) {
		double t0 = bench_now();
		pid_t pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", 1);
			dup2(devnull, 2);
			char exe[512];
			snprintf(exe, sizeof exe, "%s/duetd", getenv("BUILD") ? getenv("BUILD") : "build");
			execl(exe, "duetd", "--state", state, "--schema", schema, "--defaults", defaults,
			      "--admin", sock, "--log-level", "error", (char *)NULL);
			_exit(127);
		}
		double el = -1;
		while (bench_now() - t0 < 10) {
			if (admin_ping(sock)) {
				el = (bench_now() - t0) * 1000;
				break;
			}
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				pid = 0;
				break;
			}
			usleep(200);
		}
		if (pid > 0) {
			*rss = bench_rss_kb(pid);
			double k0 = bench_now();
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			double stop = (bench_now() - k0) * 1000;
			if (round > 0 && (*stop_ms < 0 || stop > *stop_ms))
				*stop_ms = stop; /* the worst one: the target is a bound */
		}
		if (el < 0)
			return -1;
		/* the first round creates the store; the others open it */
		if (round > 0 && (best < 0 || el < best))
			best = el;
	}
	return best;
}

/* ---- raw LMDB baselines ------------------------------------------------------------ */

typedef struct raw_env {
	MDB_env *env;
	MDB_dbi dbi;
} raw_env;

static int raw_open(raw_env *r, const char *dir)
{
	mkdir(dir, 0700);
	if (mdb_env_create(&r->env) || mdb_env_set_mapsize(r->env, (size_t)1 << 30) ||
	    mdb_env_open(r->env, dir, MDB_NOTLS, 0600))
		return -1;
	MDB_txn *t;
	mdb_txn_begin(r->env, NULL, 0, &t);
	mdb_dbi_open(t, NULL, 0, &r->dbi);
	return mdb_txn_commit(t);
}

int main(int argc, char **argv)
{
	const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
	char schema_file[1024];
	snprintf(schema_file, sizeof schema_file, "%s/bbf/tr-181-2-19-1-usp-full.xml", shared);
	if (argc > 1)
		snprintf(schema_file, sizeof schema_file, "%s", argv[1]);
	char cwmp_schema[1024];
	snprintf(cwmp_schema, sizeof cwmp_schema, "%s/bbf/tr-181-2-19-1-cwmp-full.xml", shared);
	const char *only = getenv("DUET_BENCH_ONLY"); /* "cwmp": that part alone */
	if (only && !strcmp(only, "cwmp"))
		return cwmp_bench_run(access(cwmp_schema, R_OK) ? NULL : cwmp_schema);
	if (access(schema_file, R_OK)) {
		printf("bench: %s not found; the benchmarks need the official USP schema\n", schema_file);
		return 0;
	}
	char dir[] = "/tmp/duet-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char state[1100], rawdir[1100], cmd[1200];
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(rawdir, sizeof rawdir, "%s/raw", dir);
	printf("duet bench: schema %s, up to %d instances per table\n\n", schema_file, INSTANCES);

	/* schema load: best of 5 */
	dm_schema *s = NULL;
	dm_errinfo err = {0};
	double load = 1e9;
	long rss_before = bench_rss_kb(getpid());
	for (int i = 0; i < 5; i++) {
		dm_schema *tmp;
		double t0 = bench_now();
		if (dm_schema_load(schema_file, &tmp, &err)) {
			printf("bench: cannot load schema: %s\n", err.msg);
			return 1;
		}
		double el = bench_now() - t0;
		if (el < load)
			load = el;
		if (s)
			dm_schema_free(s);
		s = tmp;
	}
	long rss_schema = bench_rss_kb(getpid()) - rss_before;

	dm *d;
	dm_open_opts o = {.state_dir = state, .map_size = (size_t)2 << 30};
	if (dm_open(s, &o, &d, &err)) {
		printf("bench: cannot open store: %s\n", err.msg);
		return 1;
	}
	dm_origin internal = {DM_ORIGIN_INTERNAL, "bench"};
	dm_txn *t;
	double t0 = bench_now();
	dm_txn_begin(d, DM_TXN_WRITE, &internal, &t);
	bench_populate(t, s, INSTANCES);
	dm_set(t, "Device.DeviceInfo.SoftwareVersion", "1.2.3", &err);
	if (dm_txn_commit(t, NULL, &err)) {
		printf("bench: populate failed: %s\n", err.msg);
		return 1;
	}
	printf("populated %lu instances in %.2f s\n", added, bench_now() - t0);

	/* walk, and copy the walked tree into the raw store for the baselines */
	unsigned long nparams = 0;
	double walk = 1e9;
	for (int i = 0; i < 3; i++) {
		double el = walk_once(d, &nparams);
		if (el < walk)
			walk = el;
	}
	raw_env raw;
	if (raw_open(&raw, rawdir)) {
		printf("bench: raw LMDB open failed\n");
		return 1;
	}
	{
		dm_txn *rt;
		dm_txn_begin(d, DM_TXN_READ, NULL, &rt);
		walk_ctx w = {0};
		mdb_txn_begin(raw.env, NULL, 0, &w.raw);
		w.dbi = raw.dbi;
		dm_resolve(rt, DM_GRAMMAR_USP, "Device.", DM_RESOLVE_PARAMS | DM_RESOLVE_SUBTREE, 0, count_item, &w,
			   NULL);
		mdb_txn_commit(w.raw);
		dm_txn_abort(rt);
	}
	double raw_walk = 1e9;
	for (int i = 0; i < 3; i++) {
		MDB_txn *rt;
		MDB_cursor *c;
		MDB_val k, v;
		unsigned long n = 0;
		double s0 = bench_now();
		mdb_txn_begin(raw.env, NULL, MDB_RDONLY, &rt);
		mdb_cursor_open(rt, raw.dbi, &c);
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
			n++;
		mdb_cursor_close(c);
		mdb_txn_abort(rt);
		double el = bench_now() - s0;
		if (el < raw_walk)
			raw_walk = el;
		(void)n;
	}

	/* one-parameter Get vs mdb_get, both in a fresh snapshot per call */
	const char *key = "Device.DeviceInfo.SoftwareVersion";
	const int N = 300000;
	char buf[256];
	double g0 = bench_now();
	for (int i = 0; i < N; i++)
		dm_get_value_buf(d, NULL, key, buf, sizeof buf, NULL);
	double get_ns = (bench_now() - g0) / N * 1e9;
	MDB_txn *rt;
	mdb_txn_begin(raw.env, NULL, MDB_RDONLY, &rt);
	mdb_txn_reset(rt);
	MDB_val rk = {strlen(key), (void *)key}, rv;
	g0 = bench_now();
	for (int i = 0; i < N; i++) {
		mdb_txn_renew(rt);
		mdb_get(rt, raw.dbi, &rk, &rv);
		memcpy(buf, rv.mv_data, rv.mv_size < sizeof buf ? rv.mv_size : sizeof buf - 1);
		mdb_txn_reset(rt);
	}
	double raw_get_ns = (bench_now() - g0) / N * 1e9;
	mdb_txn_abort(rt);
	/* a deep instance parameter too */
	const char *deep = "Device.IP.Interface.3.IPv4Address.2.Enable";
	g0 = bench_now();
	for (int i = 0; i < N; i++)
		dm_get_value_buf(d, NULL, deep, buf, sizeof buf, NULL);
	double deep_ns = (bench_now() - g0) / N * 1e9;

	/* durable atomic Sets of 1 and 100 parameters */
	dm_origin ctl = {DM_ORIGIN_USP, "bench"};
	const int R = 200;
	double set1 = 0, set100 = 0, raw1 = 0, raw100 = 0;
	char val[32];
	for (int r = 0; r < R; r++) {
		snprintf(val, sizeof val, "bench-%d", r);
		double s0 = bench_now();
		dm_txn_begin(d, DM_TXN_WRITE, &ctl, &t);
		dm_set(t, "Device.DeviceInfo.ProvisioningCode", val, &err);
		dm_txn_commit(t, NULL, &err);
		set1 += bench_now() - s0;
		s0 = bench_now();
		dm_txn_begin(d, DM_TXN_WRITE, &ctl, &t);
		for (int i = 0; i < 100; i++) {
			char p[128];
			snprintf(p, sizeof p, "Device.IP.Interface.%d.IPv4Address.%d.IPAddress", i % 4 + 1, i / 4 % 4 + 1);
			snprintf(val, sizeof val, "10.%d.%d.%d", r % 200, i / 4 % 4, i % 4 + 1);
			if (i >= 16) /* beyond 16 addresses: other writable parameters */
				snprintf(p, sizeof p, "Device.IP.Interface.%d.IPv4Address.%d.Alias", i % 4 + 1,
					 i / 4 % 4 + 1);
			if (i >= 16)
				snprintf(val, sizeof val, "a%d-%d", r, i);
			dm_set(t, p, val, &err);
		}
		if (dm_txn_commit(t, NULL, &err))
			printf("set100 failed: %s\n", err.msg);
		set100 += bench_now() - s0;
		MDB_txn *wt;
		s0 = bench_now();
		mdb_txn_begin(raw.env, NULL, 0, &wt);
		MDB_val k1 = {strlen(key), (void *)key}, v1 = {strlen(val), val};
		mdb_put(wt, raw.dbi, &k1, &v1, 0);
		mdb_txn_commit(wt);
		raw1 += bench_now() - s0;
		s0 = bench_now();
		mdb_txn_begin(raw.env, NULL, 0, &wt);
		for (int i = 0; i < 100; i++) {
			char p[128];
			snprintf(p, sizeof p, "Device.IP.Interface.%d.IPv4Address.%d.X%d", i % 4 + 1, i / 4 % 4 + 1, i);
			MDB_val k = {strlen(p), p}, v = {strlen(val), val};
			mdb_put(wt, raw.dbi, &k, &v, 0);
		}
		mdb_txn_commit(wt);
		raw100 += bench_now() - s0;
	}
	dm_close(d);

	/* start-up of the real daemon on an existing store */
	long rss_full = -1, rss_bundled = -1;
	char state2[1100];
	snprintf(state2, sizeof state2, "%s/bundled", dir);
	double stop_bundled = -1, stop_full = -1;
	double up_bundled = startup_ms(state2, "datamodel/device2.xml", "datamodel/factory-defaults.txt",
				       &rss_bundled, &stop_bundled);
	double up_full = startup_ms(state, schema_file, "/dev/null", &rss_full, &stop_full);

	printf("\n%-44s %12s %-8s  %s\n", "figure", "value", "unit", "ratio to baseline / target");
	bench_row("schema load (full USP file)", load * 1000, "ms", "of target 150 ms", 150, "< 150 ms");
	bench_row("schema memory in this process (RSS delta)", (double)rss_schema / 1024, "MiB", "", 0, NULL);
	bench_row("Get one parameter", get_ns, "ns", "of raw mdb_get", raw_get_ns, "< 3x");
	bench_row("Get one parameter (2 instance levels deep)", deep_ns, "ns", "of raw mdb_get", raw_get_ns, "< 3x");
	bench_row("  raw mdb_get in a renewed snapshot", raw_get_ns, "ns", "", 0, NULL);
	bench_row("walk whole Device. tree", nparams / walk / 1e6, "M par/s", "of raw cursor scan",
	    nparams / raw_walk / 1e6, ">= 2 M/s");
	printf("%-44s %12lu params, %lu instances\n", "  tree size", nparams, added);
	bench_row("  raw LMDB cursor scan", nparams / raw_walk / 1e6, "M ent/s", "", 0, NULL);
	bench_row("durable atomic Set, 1 parameter", set1 / R * 1e6, "us", "of raw put+commit", raw1 / R * 1e6, NULL);
	bench_row("durable atomic Set, 100 parameters", set100 / R * 1e6, "us", "of raw 100 puts+commit",
	    raw100 / R * 1e6, NULL);
	bench_row("  raw put+commit, 1 key", raw1 / R * 1e6, "us", "", 0, NULL);
	bench_row("  raw 100 puts+commit", raw100 / R * 1e6, "us", "", 0, NULL);
	bench_row("duetd start-up to ready, bundled schema", up_bundled, "ms", "of target 50 ms", 50, "< 50 ms");
	bench_row("duetd start-up to ready, full USP schema", up_full, "ms", "of target 50 ms", 50, NULL);
	bench_row("duetd shutdown, SIGTERM to exit (worst of 3)", stop_full > stop_bundled ? stop_full : stop_bundled,
	    "ms", "of target 100 ms", 100, "< 100 ms");
	bench_row("duetd RSS, bundled schema", (double)rss_bundled / 1024, "MiB", "of target 16 MiB", 16, NULL);
	bench_row("duetd RSS, full USP schema + store", (double)rss_full / 1024, "MiB", "of target 16 MiB", 16,
	    "< 16 MiB");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	dm_schema_free(s);
	int rc = usp_bench_run(schema_file);
	return cwmp_bench_run(access(cwmp_schema, R_OK) ? NULL : cwmp_schema) | rc;
}
