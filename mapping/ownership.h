/*
 * ownership.h - the A/B trial ownership policy (notes/cwmp-usp-mapping.md
 * §15 C4): per subtree, which manager may write it while both stacks run.
 * A rule "PREFIX -> cwmp" refuses writes by USP Controllers under PREFIX;
 * "PREFIX -> usp" refuses the ACS's; without a rule a subtree is shared
 * (both may write). The longest matching prefix wins. The agent itself
 * (INTERNAL) and the admin socket (ADMIN) are never refused.
 *
 * Rules are kept in agent state (namespace "map.owner", key = prefix,
 * value = "cwmp" or "usp") and enforced through the engine's write guard,
 * which is installed only while at least one rule exists: a device with no
 * policy pays nothing per write.
 */
#ifndef DUET_MAP_OWNERSHIP_H
#define DUET_MAP_OWNERSHIP_H

#include <stdbool.h>
#include <stddef.h>

#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum map_owner {
	MAP_OWNER_SHARED, /* both may write (no rule) */
	MAP_OWNER_CWMP,   /* only the ACS (and the agent, admin) may write */
	MAP_OWNER_USP,    /* only USP Controllers (and the agent, admin) may write */
} map_owner;

/* "shared", "cwmp", "usp"; and back (DM_ERR_INVALID_VALUE for anything else). */
const char *map_owner_name(map_owner o);
int map_owner_parse(const char *s, map_owner *out);

typedef struct map_ownership map_ownership;

/*
 * Load the rules from d's agent state and, when there are any, install the
 * write guard on d. One policy per engine (the guard has one slot). Free
 * with map_ownership_stop(), before dm_close(). 0 or a negative dm_err.
 */
int map_ownership_start(dm *d, map_ownership **out, dm_errinfo *err);
/* Remove the guard and free the policy; NULL is a no-op. */
void map_ownership_stop(map_ownership *o);

/*
 * Set the owner of a subtree, durably (one write transaction of origin
 * ADMIN, committed before this returns). prefix is an instantiated path
 * of the schema: a parameter ("Device.DeviceInfo.HostName"), an object or
 * instance ("Device.LocalAgent.", "Device.IP.Interface.2.") or a table
 * ("Device.IP.Interface.", covering adds and deletes). MAP_OWNER_SHARED
 * removes the rule. DM_ERR_NOT_IN_SCHEMA for a prefix the schema lacks,
 * DM_ERR_SYNTAX for one that is not a path.
 */
int map_ownership_set(map_ownership *o, const char *prefix, map_owner owner, dm_errinfo *err);

/* The owner of a path: the rule with the longest prefix covering it. */
map_owner map_ownership_of(const map_ownership *o, const char *path);

/* Would the guard let origin do op at path? (The guard's own decision.) */
bool map_ownership_allows(const map_ownership *o, const dm_origin *origin, dm_change_kind op,
			  const char *path);

/* Visit the rules in prefix order; non-zero from cb stops (and is returned). */
typedef int (*map_owner_cb)(void *ctx, const char *prefix, map_owner owner);
int map_ownership_each(const map_ownership *o, map_owner_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
