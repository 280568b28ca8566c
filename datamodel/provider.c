/*
 * provider.c - binding providers (live values and vendor hooks) to schema
 * nodes, and the demo device's own providers: uptime, local time, and
 * interface statistics read from /proc/net/dev.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const dm_provider *provider_of(const dm *d, const dm_node *n)
{
	return n->id ? d->providers[n->id] : NULL;
}

bool dm_param_is_live(const dm *d, const dm_node *param)
{
	const dm_provider *p = param && param->kind == DM_NODE_PARAM ? provider_of(d, param) : NULL;
	return p && p->get;
}

/* Put p in slot id; a provider no slot refers to any more is freed
 * (registration is rare: the scan costs nothing that matters). */
static void replace(dm *d, uint32_t id, dm_provider *p)
{
	dm_provider *old = d->providers[id];

	d->providers[id] = p;
	if (!old || old == p)
		return;
	for (uint32_t i = 0; i <= d->schema->n_nodes; i++)
		if (d->providers[i] == old)
			return;
	free(old);
}

int dm_provider_register(dm *d, const char *schema_path, const dm_provider *p)
{
	const dm_node *n = dm_schema_find(d->schema, schema_path);
	if (!n)
		return DM_ERR_NOT_IN_SCHEMA;
	dm_provider *copy = malloc(sizeof *copy);
	if (!copy)
		return DM_ERR_NOMEM;
	*copy = *p;
	/* An object registration covers its own parameters (for get/set) and the
	 * object itself (for add/del); a later, more specific one wins. */
	if (n->kind == DM_NODE_OBJECT) {
		replace(d, n->id, copy);
		for (const dm_node *c = n->first_child; c; c = c->next_sibling)
			if (c->kind == DM_NODE_PARAM)
				replace(d, c->id, copy);
	} else {
		replace(d, n->id, copy);
	}
	return DM_OK;
}

/* ---- the demo device ------------------------------------------------------ */

/* Seconds since the device booted: what /proc/uptime says, without opening
 * a file on every read (UpTime is in every Get of DeviceInfo). */
static int get_uptime(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	(void)ctx;
	(void)t;
	(void)path;
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	snprintf(buf, bufsz, "%lu", (unsigned long)ts.tv_sec);
	return 0;
}

static struct timespec agent_start;

static int get_agent_uptime(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(buf, bufsz, "%ld", (long)(now.tv_sec - agent_start.tv_sec));
	return 0;
}

/* dateTime with the local offset, as TR-181 CurrentLocalTime asks. */
static int get_local_time(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	size_t n = strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, bufsz - n, "%c%02ld:%02ld", sign, off / 60, off % 60);
	return 0;
}

/* /proc/net/dev columns after "name:": rx bytes packets errs drop fifo frame
 * compressed multicast, then tx bytes packets errs drop fifo colls carrier
 * compressed. */
enum { RX_BYTES, RX_PACKETS, RX_ERRS, RX_DROP, RX_FIFO, RX_FRAME, RX_COMP, RX_MCAST,
       TX_BYTES, TX_PACKETS, TX_ERRS, TX_DROP, N_COLS = 16 };

static const struct stat_col {
	const char *param;
	int col;
} stat_cols[] = {
	{"BytesSent", TX_BYTES},
	{"BytesReceived", RX_BYTES},
	{"PacketsSent", TX_PACKETS},
	{"PacketsReceived", RX_PACKETS},
	{"ErrorsSent", TX_ERRS},
	{"ErrorsReceived", RX_ERRS},
	{"DiscardPacketsSent", TX_DROP},
	{"DiscardPacketsReceived", RX_DROP},
	{"MulticastPacketsReceived", RX_MCAST},
};

/* /proc/net/dev parsed at most every NETDEV_TTL_MS: a Get of a Stats object
 * reads a dozen counters of one interface in a row. */
#define NETDEV_TTL_MS 100
#define NETDEV_MAX 64

static struct netdev_cache {
	struct timespec at;
	size_t n;
	struct {
		char name[32];
		unsigned long long cols[N_COLS];
	} ifs[NETDEV_MAX];
} netdev;

static bool netdev_fresh(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - netdev.at.tv_sec) * 1000 + (now.tv_nsec - netdev.at.tv_nsec) / 1000000;
	if (netdev.at.tv_sec && ms >= 0 && ms < NETDEV_TTL_MS)
		return true;
	netdev.at = now;
	return false;
}

static void netdev_refresh(void)
{
	netdev.n = 0;
	FILE *f = fopen("/proc/net/dev", "r");
	if (!f)
		return;
	char line[512];
	while (netdev.n < NETDEV_MAX && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		/* interface names are at most IFNAMSIZ; a longer one is cut */
		size_t nl = strnlen(name, sizeof netdev.ifs[0].name - 1);
		memcpy(netdev.ifs[netdev.n].name, name, nl);
		netdev.ifs[netdev.n].name[nl] = 0;
		char *p = colon + 1;
		for (int i = 0; i < N_COLS; i++)
			netdev.ifs[netdev.n].cols[i] = strtoull(p, &p, 10);
		netdev.n++;
	}
	fclose(f);
}

static bool netdev_counters(const char *ifname, unsigned long long cols[N_COLS])
{
	if (!netdev_fresh())
		netdev_refresh();
	for (size_t i = 0; i < netdev.n; i++) {
		if (!strcmp(netdev.ifs[i].name, ifname)) {
			memcpy(cols, netdev.ifs[i].cols, sizeof netdev.ifs[i].cols);
			return true;
		}
	}
	return false;
}

/* "Device.Ethernet.Interface.1.Stats.BytesSent": the interface's Name is
 * read from the same instance; unknown names and counters read as 0. */
static int get_if_stat(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	(void)ctx;
	const char *stats = strstr(path, ".Stats.");
	snprintf(buf, bufsz, "0");
	if (!stats)
		return 0;
	const char *param = stats + 7;
	char name_path[DM_PATH_MAX], ifname[64];
	snprintf(name_path, sizeof name_path, "%.*s.Name", (int)(stats - path), path);
	if (dm_get_value_buf(t->d, t, name_path, ifname, sizeof ifname, NULL) || !ifname[0])
		return 0;
	unsigned long long cols[N_COLS];
	if (!netdev_counters(ifname, cols))
		return 0;
	for (size_t i = 0; i < sizeof stat_cols / sizeof stat_cols[0]; i++)
		if (!strcmp(param, stat_cols[i].param))
			snprintf(buf, bufsz, "%llu", cols[stat_cols[i].col]);
	return 0;
}

/* Register a provider where the schema has the node; a schema without it
 * (an official file lacking a subtree) is not an error. */
static void bind_if_present(dm *d, const char *path, const dm_provider *p)
{
	if (dm_schema_find(d->schema, path))
		dm_provider_register(d, path, p);
}

int dm_providers_builtin(dm *d)
{
	clock_gettime(CLOCK_MONOTONIC, &agent_start);
	const dm_provider uptime = {.get = get_uptime};
	const dm_provider agent_uptime = {.get = get_agent_uptime};
	const dm_provider local_time = {.get = get_local_time};
	const dm_provider if_stat = {.get = get_if_stat};
	bind_if_present(d, "Device.DeviceInfo.UpTime", &uptime);
	bind_if_present(d, "Device.LocalAgent.UpTime", &agent_uptime);
	bind_if_present(d, "Device.Time.CurrentLocalTime", &local_time);
	bind_if_present(d, "Device.Ethernet.Interface.{i}.Stats.", &if_stat);
	bind_if_present(d, "Device.IP.Interface.{i}.Stats.", &if_stat);
	return DM_OK;
}
