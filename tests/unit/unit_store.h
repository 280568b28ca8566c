/*
 * unit_store.h - for unit tests on a real engine: the bundled schema and
 * throwaway state directories.
 */
#ifndef DUET_TEST_UNIT_STORE_H
#define DUET_TEST_UNIT_STORE_H

#include <stdio.h>
#include <stdlib.h>

#include "dm.h"

/* datamodel/device2.xml (tests run from the source tree), or NULL with
 * the reason on stderr. */
static inline dm_schema *unit_bundled_schema(void)
{
	dm_schema *s = NULL;
	dm_errinfo err = {0};

	if (dm_schema_load("datamodel/device2.xml", &s, &err)) {
		fprintf(stderr, "cannot load datamodel/device2.xml: %s\n", err.msg);
		return NULL;
	}
	return s;
}

/* A new state directory "/tmp/<name>.XXXXXX" into dir and a fresh engine
 * on schema in it: 0, or -1 with the reason on stderr. */
static inline int unit_open_store(const char *name, dm_schema *schema, char *dir, size_t dirsz, dm **d)
{
	dm_errinfo err = {0};

	if (snprintf(dir, dirsz, "/tmp/%s.XXXXXX", name) >= (int)dirsz || !mkdtemp(dir)) {
		fprintf(stderr, "cannot make a state directory for %s\n", name);
		return -1;
	}
	dm_open_opts o = {.state_dir = dir};
	if (dm_open(schema, &o, d, &err)) {
		fprintf(stderr, "dm_open %s: %s\n", dir, err.msg);
		return -1;
	}
	return 0;
}

/* Remove a state directory made with mkdtemp; 0 on success. */
static inline int unit_remove_dir(const char *dir)
{
	char cmd[128];

	if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) >= (int)sizeof cmd)
		return -1;
	return system(cmd);
}

#endif /* DUET_TEST_UNIT_STORE_H */
