/* fuzz_value.c - libFuzzer target: every parameter type of the bundled model
 * checks arbitrary values; a canonical form, once produced, must check again
 * to itself. */
#include "dm.h"

#include <stdlib.h>
#include <string.h>

static dm_schema *schema;
static const dm_node *params[64];
static size_t n_params;

static void collect(const dm_node *obj)
{
	for (const dm_node *c = dm_node_first_child(obj); c && n_params < 64; c = dm_node_next_sibling(c)) {
		if (dm_node_get_kind(c) == DM_NODE_OBJECT)
			collect(c);
		else if (dm_node_get_kind(c) == DM_NODE_PARAM)
			params[n_params++] = c;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	dm_errinfo err;
	if (dm_schema_load("datamodel/device2.xml", &schema, &err))
		abort();
	/* a spread of types: the first parameters of a few subtrees */
	const char *roots[] = {"Device.DeviceInfo.", "Device.IP.Interface.{i}.", "Device.WiFi.Radio.{i}.",
			       "Device.Time.", "Device.LocalAgent.Controller.{i}."};
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
		collect(dm_schema_find(schema, roots[i]));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const dm_node *p = params[data[0] % n_params];
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	char *canon = NULL, *again = NULL;
	dm_errinfo err;
	if (dm_value_check(p, s, &canon, &err) == DM_OK) {
		if (dm_value_check(p, canon, &again, &err) != DM_OK || strcmp(canon, again))
			abort();
	}
	free(canon);
	free(again);
	free(s);
	return 0;
}
