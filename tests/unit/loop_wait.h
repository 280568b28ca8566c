/*
 * loop_wait.h - for unit tests that drive a real core loop: run it until
 * a condition holds or a time passes. A repeating tick keeps uv_run from
 * sleeping past the deadline when nothing else is due.
 */
#ifndef DUET_TEST_LOOP_WAIT_H
#define DUET_TEST_LOOP_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

typedef bool (*loop_until_fn)(void *ctx);

static void loop_wait_tick(void *ctx)
{
	(void)ctx; /* only wakes the loop up */
}

/* Run l until done(ctx) or ms pass; returns done(ctx), or false when the
 * tick could not be started. */
static inline bool loop_run_until(core_loop *l, loop_until_fn done, void *ctx, unsigned ms)
{
	core_timer *t;
	uint64_t end = uv_now(core_loop_uv(l)) + ms;

	if (core_timer_start(l, 10, 10, loop_wait_tick, NULL, &t) != CORE_OK)
		return false;
	while (!done(ctx) && uv_now(core_loop_uv(l)) < end)
		uv_run(core_loop_uv(l), UV_RUN_ONCE);
	core_timer_stop(t);
	return done(ctx);
}

#endif /* DUET_TEST_LOOP_WAIT_H */
