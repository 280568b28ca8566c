/*
 * timers.h - Device.ScheduleTimer(), the USP side of scheduled contacts
 * (notes/cwmp-usp-mapping.md 6.6, C19). TR-181 says the timer MUST persist
 * across a reboot: each one is recorded in agent state ("map.timers") when
 * it is accepted and fires at its original due time after a restart, or at
 * once when that passed while the agent was down. It completes with
 * OperationComplete to Controllers only; the ACS's ScheduleInform is
 * cwmp/'s own and the two never meet.
 */
#ifndef DUET_MAP_TIMERS_H
#define DUET_MAP_TIMERS_H

#include "core.h"
#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct map_timers map_timers;

/* Agent-state namespace of the timer records. */
#define MAP_TIMERS_NS "map.timers"
#define MAP_TIMERS_CMD "Device.ScheduleTimer()"

/*
 * Told when a timer accepted before a restart fires: no Operate of this
 * run is there to hear it, so the front end that reports completions
 * (usp/) is handed the requester, command path and command key.
 */
typedef void (*map_timers_report_fn)(void *ctx, const char *requester, const char *cmd_path,
				     const char *command_key);

/*
 * Register the ScheduleTimer() handler and take over the timers recorded
 * before a restart (their engine requests are forgotten so that nothing
 * reports them as interrupted). Call before the USP front end starts.
 * 0 or a negative dm_err; a schema without the command gives DM_OK and no
 * handler. Free with map_timers_stop.
 */
int map_timers_start(dm *d, core_loop *loop, map_timers **out);
/* Who reports timers resumed after a restart (NULL: they are logged only). */
void map_timers_set_reporter(map_timers *t, map_timers_report_fn fn, void *ctx);
/* How many timers are armed. */
size_t map_timers_pending(const map_timers *t);
/* Disarm every timer; the records stay for the next start. */
void map_timers_stop(map_timers *t);

#ifdef __cplusplus
}
#endif
#endif /* DUET_MAP_TIMERS_H */
