/* fuzz_schema.c - libFuzzer target: the BBF DM XML loader on arbitrary
 * documents. Loads either succeed or fail with DM_ERR_SCHEMA_FILE. */
#include "dm.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/duet-fuzz-schema-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	dm_schema *s = NULL;
	dm_errinfo err;
	int rc = dm_schema_load(path, &s, &err);
	if (rc == DM_OK)
		dm_schema_free(s);
	else if (rc != DM_ERR_SCHEMA_FILE && rc != DM_ERR_NOMEM)
		abort();
	unlink(path);
	return 0;
}
