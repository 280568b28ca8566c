/*
 * alias.h - who may rewrite a writeOnceReadOnly key once it is set
 * (notes/cwmp-usp-mapping.md 11.2, 11.3 and C11). The store keeps one
 * access per parameter, the USP variant's; the CWMP variant differs on:
 *
 *   Alias: readWrite for the ACS (it may rename), write-once for
 *     Controllers (TR-369 "writeOnceReadOnly Parameter Access": set in
 *     the Add, or once on an instance whose Alias is still the agent's,
 *     empty or "cpe-"; a later Set is refused with 7013);
 *   Babel DTLSCert CertValue/CertPrivateKey and MACKey KeyValue:
 *     readWrite for the ACS, write-once for Controllers;
 *   Origin (DNS, Firewall, NAT, Hosts tables): readOnly for the ACS,
 *     write-once for Controllers: the engine's own rule already.
 *
 * Uniqueness of Alias holds in both views: it is a unique key of its
 * table, checked by the engine at commit whoever writes. An ACS rename is
 * a change like any other: Controllers' ValueChange subscriptions hear it.
 *
 * Migration policy "freeze aliases" (off by default; agent state
 * "map.alias", key "freeze", value "on"/"off"; duetctl aliases
 * [freeze|thaw]): while it is on and the USP stack is active, the ACS's
 * renames are refused as not writable (9008), so that Controllers holding
 * [Alias=="x"] addresses keep them.
 */
#ifndef DUET_MAP_ALIAS_H
#define DUET_MAP_ALIAS_H

#include <stdbool.h>

#include "admin.h"
#include "dm.h"
#include "migration.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MAP_ALIAS_NS "map.alias"

typedef struct map_alias map_alias;

/*
 * Install the rewrite rule on d (dm_rewrite_set: one per engine) with the
 * freeze policy read from agent state. mig tells whether the USP stack is
 * active (NULL: taken as active). Free with map_alias_stop before
 * dm_close. 0 or a negative dm_err.
 */
int map_alias_start(dm *d, const map_migration *mig, map_alias **out);
void map_alias_stop(map_alias *a);

/* Turn the freeze policy on or off, durably (one ADMIN transaction). */
int map_alias_set_freeze(map_alias *a, bool on, dm_errinfo *err);
bool map_alias_frozen(const map_alias *a);

/* The rule itself: may origin write path (a writeOnceReadOnly parameter
 * already holding current)? */
bool map_alias_may_rewrite(const map_alias *a, const dm_origin *origin, const char *path, const char *current);

/* Is the write-once parameter at path (schema or instance path) readWrite
 * in the CWMP variant, as the ACS's GetParameterNames reports it? The
 * freeze policy is a run-time refusal, not a change of the model. */
bool map_alias_acs_writable(const char *path);

/* The admin verb "aliases [freeze|thaw]" for core_admin_env.ext. */
const core_admin_ext *map_alias_admin_verbs(map_alias *a, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* DUET_MAP_ALIAS_H */
