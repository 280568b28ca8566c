/* fuzz_path.c - libFuzzer target: the path parser in both grammars, and
 * relative paths. Any input must give DM_OK or DM_ERR_SYNTAX, nothing else. */
#include "path.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	dm_grammar gs[] = {DM_GRAMMAR_USP, DM_GRAMMAR_CWMP};
	for (int i = 0; i < 2; i++) {
		dm_path p;
		dm_errinfo err;
		int rc = dm_path_parse(s, gs[i], &p, &err);
		if (rc != DM_OK && rc != DM_ERR_SYNTAX)
			abort();
		if (rc == DM_OK)
			dm_path_free(&p);
	}
	dm_path p;
	dm_errinfo err;
	if (dm_path_parse_relative(s, &p, &err) == DM_OK)
		dm_path_free(&p);
	free(s);
	return 0;
}
