/*
 * signals.c - process signals as loop events: SIGINT/SIGTERM ask the owner
 * to shut down, SIGHUP is only logged (the agent holds no files to reopen),
 * SIGPIPE is ignored so that a peer vanishing mid-write is a write error.
 */
#include "core.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const int watched[] = { SIGINT, SIGTERM, SIGHUP };
#define N_WATCHED (sizeof watched / sizeof watched[0])

struct core_signals {
	uv_signal_t h[N_WATCHED];
	unsigned open;
	core_stop_fn on_stop;
	void *ctx;
};

static void on_signal(uv_signal_t *h, int signum)
{
	core_signals *s = h->data;

	if (signum == SIGHUP) {
		CORE_LOG_I("core", "SIGHUP received: nothing to reopen");
		return;
	}
	CORE_LOG_I("core", "%s received: shutting down", strsignal(signum));
	s->on_stop(s->ctx, signum);
}

static void ignore_sigpipe(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
}

static void on_closed(uv_handle_t *h)
{
	core_signals *s = h->data;

	if (--s->open == 0)
		free(s);
}

int core_signals_start(core_loop *l, core_stop_fn on_stop, void *ctx, core_signals **out)
{
	core_signals *s = calloc(1, sizeof *s);

	if (!s)
		return CORE_ERR_NOMEM;
	s->on_stop = on_stop;
	s->ctx = ctx;
	ignore_sigpipe();
	for (size_t i = 0; i < N_WATCHED; i++) {
		uv_signal_init(core_loop_uv(l), &s->h[i]);
		s->h[i].data = s;
		s->open++;
		if (uv_signal_start(&s->h[i], on_signal, watched[i])) {
			core_signals_stop(s);
			return CORE_ERR_UV;
		}
		/* Watching signals alone must not keep the loop running. */
		uv_unref((uv_handle_t *)&s->h[i]);
	}
	*out = s;
	return CORE_OK;
}

void core_signals_stop(core_signals *s)
{
	if (!s)
		return;
	unsigned n = s->open; /* on_closed may free s on the last one */
	for (unsigned i = 0; i < n; i++)
		uv_close((uv_handle_t *)&s->h[i], on_closed);
}
