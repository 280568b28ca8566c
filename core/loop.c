/*
 * loop.c - the single event loop every socket and timer of the agent runs
 * on, and thin timers over it. Front ends take the uv_loop_t and attach
 * their libraries; nothing here knows what they do.
 */
#include "core.h"

#include <stdlib.h>

struct core_timer {
	uv_timer_t h;
	core_loop *loop;
	core_timer *prev, *next; /* the loop's list, so core_loop_free finds leftovers */
	core_timer_fn cb;
	void *ctx;
	bool self_freeing;       /* started with out == NULL */
	bool in_callback;
	bool stop_requested;
};

struct core_loop {
	uv_loop_t uv;
	core_timer *timers;
};

int core_loop_new(core_loop **out)
{
	core_loop *l = calloc(1, sizeof *l);

	if (!l)
		return CORE_ERR_NOMEM;
	if (uv_loop_init(&l->uv)) {
		free(l);
		return CORE_ERR_UV;
	}
	l->uv.data = l;
	*out = l;
	return CORE_OK;
}

uv_loop_t *core_loop_uv(core_loop *l)
{
	return &l->uv;
}

int core_loop_run(core_loop *l)
{
	uv_run(&l->uv, UV_RUN_DEFAULT);
	return CORE_OK;
}

void core_loop_stop(core_loop *l)
{
	uv_stop(&l->uv);
}

static void close_leftover(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void core_loop_free(core_loop *l)
{
	if (!l)
		return;
	while (l->timers)
		core_timer_stop(l->timers);
	/* Owners close their handles in steps (libwebsockets on a foreign loop
	 * closes its own from close callbacks): let those steps finish before
	 * the safety net, or both would close the same handle. */
	for (int i = 0; i < 64 && uv_loop_alive(&l->uv); i++)
		uv_run(&l->uv, UV_RUN_NOWAIT);
	/* Handles of front ends that did not close theirs: close, never free
	 * (we do not own their memory). */
	uv_walk(&l->uv, close_leftover, NULL);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	if (uv_loop_close(&l->uv) == UV_EBUSY)
		CORE_LOG_W("core", "event loop closed with handles still open");
	free(l);
}

/* ---------------------------------------------------------------------------
 * Timers
 * ------------------------------------------------------------------------- */

static void timer_unlink(core_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else if (t->loop->timers == t)
		t->loop->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

static void timer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void timer_fire(uv_timer_t *h)
{
	core_timer *t = h->data;

	t->in_callback = true;
	t->cb(t->ctx);
	t->in_callback = false;
	if (t->stop_requested || (t->self_freeing && !uv_timer_get_repeat(h))) {
		t->stop_requested = false;
		core_timer_stop(t);
	}
}

int core_timer_start(core_loop *l, uint64_t ms, uint64_t repeat_ms, core_timer_fn cb, void *ctx,
		     core_timer **out)
{
	if (!cb || (!out && repeat_ms))
		return CORE_ERR_INVALID; /* nobody could ever stop it */
	core_timer *t = calloc(1, sizeof *t);
	if (!t)
		return CORE_ERR_NOMEM;
	t->loop = l;
	t->cb = cb;
	t->ctx = ctx;
	t->self_freeing = !out;
	uv_timer_init(&l->uv, &t->h);
	t->h.data = t;
	int uerr = uv_timer_start(&t->h, timer_fire, ms, repeat_ms);
	if (uerr) {
		uv_close((uv_handle_t *)&t->h, timer_closed);
		return CORE_ERR_UV;
	}
	t->next = l->timers;
	if (l->timers)
		l->timers->prev = t;
	l->timers = t;
	if (out)
		*out = t;
	return CORE_OK;
}

void core_timer_stop(core_timer *t)
{
	if (!t)
		return;
	if (t->in_callback) {
		/* Freed once its callback returns: the caller may still be on its stack. */
		t->stop_requested = true;
		uv_timer_stop(&t->h);
		return;
	}
	timer_unlink(t);
	uv_close((uv_handle_t *)&t->h, timer_closed);
}
