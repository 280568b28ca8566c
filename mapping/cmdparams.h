/*
 * cmdparams.h - CWMP command-style parameters (notes/cwmp-usp-mapping.md
 * section 2, C20): writable parameters of the CWMP variant ("Stats.Reset",
 * "Renew", "ForceReconnect", ...) that are the commands of the same name
 * with "()" in the USP variant. One table of the pairs, from comparing the
 * two TR-181 2.19.1 files; a pair is active where the loaded schema has
 * both halves (the bundled model does for the commands it implements).
 *
 *   - The ACS writes true to the parameter in a SetParameterValues; the
 *     engine command runs after that transaction commits, from the loop,
 *     never when the SPV fails (false runs nothing). Input arguments of
 *     the command are taken from sibling parameters of the same name
 *     (Ethernet.WoL.SendMagicPacket: MACAddress, Password).
 *   - Reads return false: the parameter is live (a provider), never stored.
 *   - Controllers do not see the parameter (mapping/views.c hides it from
 *     the USP view); they operate the command.
 */
#ifndef DUET_MAP_CMDPARAMS_H
#define DUET_MAP_CMDPARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CWMP variant's command-style parameters, schema paths, NULL-ended;
 * each one's command is its path with "()" added. */
extern const char *const map_cmdparam_paths[];

/* Does schema s have both halves of row i? */
bool map_cmdparam_active(const dm_schema *s, size_t i);

typedef struct map_cmdparams map_cmdparams;

/*
 * Bind the active pairs of d's schema: a provider on each parameter (reads
 * false, writes accepted and never stored) and a change-feed subscription
 * that runs the command after the writing transaction commits. Call after
 * dm_providers_builtin (a statistics object's provider would otherwise
 * answer for its Reset). 0 or a negative dm_err. Free with
 * map_cmdparams_stop before dm_close.
 */
int map_cmdparams_start(dm *d, core_loop *loop, map_cmdparams **out);
/* How many pairs are bound. */
size_t map_cmdparams_bound(const map_cmdparams *c);
/* How many commands ran (started, whatever their outcome). */
size_t map_cmdparams_runs(const map_cmdparams *c);
void map_cmdparams_stop(map_cmdparams *c);

#ifdef __cplusplus
}
#endif
#endif /* DUET_MAP_CMDPARAMS_H */
