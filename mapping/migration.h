/*
 * migration.h - migration control for A/B trials: which management stacks
 * are active and since when, the ownership policy (ownership.h), and the
 * admin verbs that show and change them (owner, stacks).
 *
 * A stack is active when (TR-181):
 *   cwmp: Device.ManagementServer.EnableCWMP is true and .URL is not empty;
 *   usp:  at least one Device.LocalAgent.MTP.{i} or
 *         Device.LocalAgent.Controller.{i} has Enable true.
 * The wall time each stack last became active or inactive is durable in
 * agent state (namespace "map.stacks", keys "cwmp" and "usp", value
 * "1 <ms>" or "0 <ms>"). Changes are noticed on the change feed and
 * recorded from the loop, never inside the feed's callback (which runs
 * after a commit, where no new transaction may start).
 */
#ifndef DUET_MAP_MIGRATION_H
#define DUET_MAP_MIGRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "admin.h"
#include "core.h"
#include "dm.h"
#include "ownership.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum map_stack {
	MAP_STACK_CWMP,
	MAP_STACK_USP,
	MAP_STACK_COUNT
} map_stack;

typedef struct map_stack_status {
	bool active;
	int64_t since_ms; /* wall clock, ms since the epoch; 0 = never recorded */
} map_stack_status;

/* "cwmp", "usp". */
const char *map_stack_name(map_stack s);

typedef struct map_migration map_migration;

/*
 * Start migration control on d: load the ownership policy (installing the
 * write guard when it has rules), work out which stacks are active now and
 * record any difference from the stored status, and follow the change
 * feed. Status changes are recorded from a zero-delay timer on loop; with
 * loop NULL (tests) the caller runs map_migration_flush() instead. Stop
 * with map_migration_stop() before the loop and the engine are freed.
 */
int map_migration_start(dm *d, core_loop *loop, map_migration **out, dm_errinfo *err);
void map_migration_stop(map_migration *m);

/* The policy, for its setters and lookups. */
map_ownership *map_migration_ownership(map_migration *m);

/* Record a pending status change now (what the loop's timer does). */
int map_migration_flush(map_migration *m);

/* The recorded status of one stack. */
int map_migration_stack(const map_migration *m, map_stack s, map_stack_status *out);

/*
 * The admin verbs served here, for core_admin_env.ext: "owner" and
 * "stacks" (line formats in core/admin.h). *n gets the row count. The
 * table lives as long as m.
 */
const core_admin_ext *map_migration_admin_verbs(map_migration *m, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
