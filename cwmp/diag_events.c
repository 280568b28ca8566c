/*
 * diag_events.c - the CWMP side of a diagnostics test's end: which
 * DiagnosticsState changes are the end of a test the ACS asked for, and
 * the event that tells it (notes/cwmp-usp-mapping.md 6.4: only ACS
 * requested runs give 8 DIAGNOSTICS COMPLETE). The test itself and the
 * state machine are mapping/diag*.c's.
 *
 * The agent structure has no slot for this watcher, so open watchers are
 * kept in a short list, found again by their agent.
 */
#include "diag_events.h"

#include "diag.h"

#include <stdlib.h>
#include <string.h>

#define EV_DIAGNOSTICS "8 DIAGNOSTICS COMPLETE"

typedef struct diag_watch {
	cwmp_agent *a;
	dm_sub *sub;
	/* per kind: the request now in force came from the ACS */
	bool acs_requested[MAP_DIAG_KINDS];
	struct diag_watch *next;
} diag_watch;

static diag_watch *watches;

static void on_change(void *ctx, const dm_change *c)
{
	diag_watch *w = ctx;
	int kind;

	if (c->kind != DM_CHANGE_VALUE || (kind = map_diag_state_kind(c->path)) < 0)
		return;
	if (!strcmp(c->new_value, "Requested")) {
		w->acs_requested[kind] = c->origin && c->origin->kind == DM_ORIGIN_CWMP;
		return;
	}
	/* only the agent ends a test; a test that ends without running (reset
	 * to None: an input written, a restart) is not reported */
	if (c->origin && c->origin->kind == DM_ORIGIN_INTERNAL && !strcmp(c->old_value, "Requested") &&
	    map_diag_state_is_final(c->new_value) && w->acs_requested[kind]) {
		int rc = w->a->raise ? w->a->raise(w->a, EV_DIAGNOSTICS, "", CWMP_RAISE_NOW) : DM_ERR_INTERNAL;
		if (rc)
			CORE_LOG_W("cwmp", EV_DIAGNOSTICS ": %s", dm_strerror(rc));
	}
	w->acs_requested[kind] = false;
}

void cwmp_diag_events_open(cwmp_agent *a)
{
	diag_watch *w = calloc(1, sizeof *w);
	int rc = w ? DM_OK : DM_ERR_NOMEM;

	if (w) {
		w->a = a;
		rc = dm_subscribe(a->d, on_change, w, &w->sub);
	}
	if (rc) {
		CORE_LOG_E("cwmp", "diagnostics completion events unavailable: %s", dm_strerror(rc));
		free(w);
		return;
	}
	w->next = watches;
	watches = w;
}

void cwmp_diag_events_close(cwmp_agent *a)
{
	for (diag_watch **pp = &watches; *pp; pp = &(*pp)->next) {
		diag_watch *w = *pp;
		if (w->a != a)
			continue;
		*pp = w->next;
		dm_unsubscribe(a->d, w->sub);
		free(w);
		return;
	}
}
