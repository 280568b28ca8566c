/*
 * mtp_uds_cfg.c - where the UNIX domain socket MTP listens and what it
 * connects to, read from the data model: Device.UnixDomainSockets sockets
 * (Path, Mode) referenced by the UDS objects of enabled
 * Device.LocalAgent.MTP.{i} and Device.LocalAgent.Controller.{i}.MTP.{j}.
 * Sockets, frames and connections are mtp_uds.c's.
 */
#include "mtp_uds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "usp-uds"

bool uds_paths_has(const uds_paths *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return true;
	return false;
}

static int paths_add(uds_paths *s, const char *x)
{
	if (uds_paths_has(s, x))
		return DM_OK;
	char **v = realloc(s->v, (s->n + 1) * sizeof *v);
	if (!v)
		return DM_ERR_NOMEM;
	s->v = v;
	if (!(s->v[s->n] = strdup(x)))
		return DM_ERR_NOMEM;
	s->n++;
	return DM_OK;
}

void uds_paths_free(uds_paths *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static bool get_bool(dm *d, dm_txn *t, const char *path)
{
	char v[8];
	dm_errinfo err;

	return dm_get_value_buf(d, t, path, v, sizeof v, &err) == DM_OK && !strcmp(v, "true");
}

static bool get_str(dm *d, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	dm_errinfo err;

	if (dm_get_value_buf(d, t, path, buf, bufsz, &err) != DM_OK) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

/*
 * Follow a UnixDomainSocketRef to the socket's Path and Mode. References
 * are full paths ("Device.UnixDomainSockets.UnixDomainSocket.1"); the short
 * form TR-369's examples use ("UnixDomainSocket.1") is accepted too.
 */
static bool read_socket(dm *d, dm_txn *t, const char *ref, char *path, size_t pathsz, bool *listen)
{
	char obj[512], p[600], mode[16];

	if (!ref[0])
		return false;
	size_t n = strlen(ref);
	if (ref[n - 1] == '.')
		n--;
	if (!strncmp(ref, "Device.", 7))
		snprintf(obj, sizeof obj, "%.*s", (int)n, ref);
	else
		snprintf(obj, sizeof obj, "Device.UnixDomainSockets.%.*s", (int)n, ref);
	snprintf(p, sizeof p, "%s.Path", obj);
	if (!get_str(d, t, p, path, pathsz) || !path[0]) {
		CORE_LOG_W(LOG_MOD, "UnixDomainSocketRef %s names no socket with a Path", ref);
		return false;
	}
	snprintf(p, sizeof p, "%s.Mode", obj);
	get_str(d, t, p, mode, sizeof mode);
	*listen = strcmp(mode, "Connect") != 0;
	return true;
}

/* Add the socket a UDS object references to the listen or connect set. */
static int add_ref(dm *d, dm_txn *t, const char *uds_obj, bool agent_mtp, uds_paths *listen, uds_paths *connect)
{
	char p[300], ref[512], path[4097];
	bool is_listen;

	snprintf(p, sizeof p, "%sUnixDomainSocketRef", uds_obj);
	if (!get_str(d, t, p, ref, sizeof ref) || !read_socket(d, t, ref, path, sizeof path, &is_listen))
		return DM_OK;
	/* A Controller's Listen socket is where it reaches us: the Agent MTP
	 * that references the same socket does the listening. */
	if (is_listen)
		return agent_mtp ? paths_add(listen, path) : DM_OK;
	return paths_add(connect, path);
}

static int read_agent_mtps(dm *d, dm_txn *t, uds_paths *listen, uds_paths *connect)
{
	uint32_t *inst = NULL;
	size_t n = 0;
	dm_errinfo err;
	int rc = DM_OK;

	if (dm_list_instances(t, "Device.LocalAgent.MTP.", &inst, &n, &err))
		return DM_OK;
	for (size_t i = 0; i < n && rc == DM_OK; i++) {
		char base[64], p[96], proto[16];
		snprintf(base, sizeof base, "Device.LocalAgent.MTP.%u.", inst[i]);
		snprintf(p, sizeof p, "%sEnable", base);
		if (!get_bool(d, t, p))
			continue;
		snprintf(p, sizeof p, "%sProtocol", base);
		if (!get_str(d, t, p, proto, sizeof proto) || strcmp(proto, "UDS"))
			continue;
		snprintf(p, sizeof p, "%sUDS.", base);
		rc = add_ref(d, t, p, true, listen, connect);
	}
	free(inst);
	return rc;
}

static int read_controller_mtps(dm *d, dm_txn *t, uint32_t ctl, uds_paths *listen, uds_paths *connect)
{
	char base[96], p[128], proto[16];
	uint32_t *inst = NULL;
	size_t n = 0;
	dm_errinfo err;
	int rc = DM_OK;

	snprintf(base, sizeof base, "Device.LocalAgent.Controller.%u.", ctl);
	snprintf(p, sizeof p, "%sEnable", base);
	if (!get_bool(d, t, p))
		return DM_OK;
	snprintf(p, sizeof p, "%sMTP.", base);
	if (dm_list_instances(t, p, &inst, &n, &err))
		return DM_OK;
	for (size_t i = 0; i < n && rc == DM_OK; i++) {
		snprintf(p, sizeof p, "%sMTP.%u.Enable", base, inst[i]);
		if (!get_bool(d, t, p))
			continue;
		snprintf(p, sizeof p, "%sMTP.%u.Protocol", base, inst[i]);
		if (!get_str(d, t, p, proto, sizeof proto) || strcmp(proto, "UDS"))
			continue;
		snprintf(p, sizeof p, "%sMTP.%u.UDS.", base, inst[i]);
		rc = add_ref(d, t, p, false, listen, connect);
	}
	free(inst);
	return rc;
}

int uds_read_config(dm *d, uds_paths *listen, uds_paths *connect)
{
	dm_txn *t = NULL;
	uint32_t *ctl = NULL;
	size_t n = 0;
	dm_errinfo err;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);

	if (rc)
		return rc;
	rc = read_agent_mtps(d, t, listen, connect);
	if (rc == DM_OK && dm_list_instances(t, "Device.LocalAgent.Controller.", &ctl, &n, &err) == DM_OK)
		for (size_t i = 0; i < n && rc == DM_OK; i++)
			rc = read_controller_mtps(d, t, ctl[i], listen, connect);
	free(ctl);
	dm_txn_abort(t);
	return rc;
}
