/*
 * events.c - the queue of Inform EventCodes: which codes are single and
 * which multiple, which survive a reboot or a failed session (TR-069
 * 3.7.1.5, as read in the requirement notes 9.2), and their records in the
 * store (agent state "cwmp.events"). When a session is opened and what the
 * Inform carries besides its events is session.c's business.
 */
#include "events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_NS "cwmp.events"
#define MAX_PER_INFORM 64 /* cwmp-1-2.xsd: EventStruct[0..64] */
#define SEQ_KEY_LEN 21    /* 20 digits keep key order = raise order */

/* One row per standard single code. "M ..." codes are multiple and kept
 * until delivered; codes not listed (vendor "X ...") are treated as single
 * and kept, the cautious choice for something we cannot classify. */
typedef struct code_rule {
	const char *code;
	bool survives_reboot;
	bool survives_failure;
} code_rule;

static const code_rule code_rules[] = {
	{ "0 BOOTSTRAP", true, true },
	{ "1 BOOT", false, true }, /* a new one is raised at every start */
	{ "2 PERIODIC", false, true },
	{ "3 SCHEDULED", true, true },
	{ "4 VALUE CHANGE", false, true }, /* post-boot differences are detected anew */
	{ "5 KICKED", true, true },
	{ "6 CONNECTION REQUEST", false, false }, /* the ACS asks again if it still cares */
	{ "7 TRANSFER COMPLETE", true, true },
	{ "8 DIAGNOSTICS COMPLETE", false, true }, /* results are not kept over a reboot */
	{ "9 REQUEST DOWNLOAD", true, true },
	{ "10 AUTONOMOUS TRANSFER COMPLETE", true, true },
	{ "11 DU STATE CHANGE COMPLETE", true, true },
	{ "12 AUTONOMOUS DU STATE CHANGE COMPLETE", true, true },
	{ "13 WAKEUP", true, true },
	{ "14 HEARTBEAT", false, false }, /* the next beat supersedes it */
};

typedef struct ev_entry {
	uint64_t seq;
	char *code;
	char *key;
	bool stored;  /* has a record in the store */
	bool unsaved; /* should have one, but writing it failed: retried */
} ev_entry;

struct cwmp_events {
	dm *d;
	ev_entry *v;
	size_t n, cap;
	uint64_t next_seq;
	/* the mark handed to the Inform in flight (0: none): a single code
	 * raised after it was taken is a new occurrence, not a repeat */
	uint64_t taken;
	cwmp_event inform[MAX_PER_INFORM];
};

static bool is_multiple(const char *code)
{
	return !strncmp(code, "M ", 2);
}

static const code_rule *rule_of(const char *code)
{
	for (size_t i = 0; i < sizeof code_rules / sizeof code_rules[0]; i++)
		if (!strcmp(code_rules[i].code, code))
			return &code_rules[i];
	return NULL;
}

static bool survives_reboot(const char *code)
{
	const code_rule *r = rule_of(code);
	return !r || r->survives_reboot;
}

static bool survives_failure(const char *code)
{
	const code_rule *r = rule_of(code);
	return !r || r->survives_failure;
}

static void seq_key(uint64_t seq, char key[SEQ_KEY_LEN])
{
	snprintf(key, SEQ_KEY_LEN, "%020" PRIu64, seq);
}

static void entry_free(ev_entry *x)
{
	free(x->code);
	free(x->key);
}

/* ---------------------------------------------------------------------------
 * The store
 * ------------------------------------------------------------------------- */

/* One write transaction: put one record and/or delete some. */
static int store_write(cwmp_events *e, const ev_entry *put, const uint64_t *dels, size_t n_dels)
{
	dm_origin o = { DM_ORIGIN_INTERNAL, "cwmp" };
	dm_errinfo err = { 0 };
	char key[SEQ_KEY_LEN];
	dm_txn *t;
	int rc = dm_txn_begin(e->d, DM_TXN_WRITE, &o, &t);

	if (rc)
		return rc;
	if (put) {
		size_t cl = strlen(put->code), kl = strlen(put->key);
		char *val = malloc(cl + 1 + kl);
		if (!val) {
			dm_txn_abort(t);
			return DM_ERR_NOMEM;
		}
		/* code NUL key: neither may hold a NUL, the key may hold anything else */
		memcpy(val, put->code, cl + 1);
		memcpy(val + cl + 1, put->key, kl);
		seq_key(put->seq, key);
		rc = dm_state_put(t, STATE_NS, key, val, cl + 1 + kl, &err);
		free(val);
	}
	for (size_t i = 0; !rc && i < n_dels; i++) {
		seq_key(dels[i], key);
		rc = dm_state_del(t, STATE_NS, key, &err);
	}
	if (rc) {
		dm_txn_abort(t);
		return rc;
	}
	return dm_txn_commit(t, NULL, &err);
}

static void flush_unsaved(cwmp_events *e)
{
	for (size_t i = 0; i < e->n; i++) {
		ev_entry *x = &e->v[i];
		if (x->unsaved && !store_write(e, x, NULL, 0)) {
			x->unsaved = false;
			x->stored = true;
		}
	}
}

/* Drop the entries drop() selects, from memory and from the store. */
static int drop_where(cwmp_events *e, bool (*drop)(const ev_entry *x, const void *arg), const void *arg)
{
	uint64_t *dels = malloc((e->n ? e->n : 1) * sizeof *dels);
	size_t n_dels = 0, w = 0;

	if (!dels)
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < e->n; i++) {
		ev_entry *x = &e->v[i];
		if (!drop(x, arg)) {
			e->v[w++] = *x;
			continue;
		}
		if (x->stored)
			dels[n_dels++] = x->seq;
		entry_free(x);
	}
	e->n = w;
	int rc = n_dels ? store_write(e, NULL, dels, n_dels) : 0;
	if (rc)
		CORE_LOG_W("cwmp", "cannot remove %zu event records: %s", n_dels, dm_strerror(rc));
	free(dels);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------- */

static ev_entry *entry_append(cwmp_events *e, uint64_t seq, const char *code, size_t code_len,
			      const char *key, size_t key_len)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		ev_entry *v = realloc(e->v, cap * sizeof *v);
		if (!v)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	ev_entry *x = &e->v[e->n];
	memset(x, 0, sizeof *x);
	x->seq = seq;
	x->code = strndup(code, code_len);
	x->key = strndup(key, key_len);
	if (!x->code || !x->key) {
		entry_free(x);
		return NULL;
	}
	e->n++;
	return x;
}

/* A record is "<20-digit seq>" -> "code NUL key"; anything else is not
 * ours to interpret and is skipped (and removed after a boot). */
static int load_record(void *ctx, const char *key, const void *value, size_t len)
{
	cwmp_events *e = ctx;
	const char *val = value, *nul = memchr(val, '\0', len);
	char *end;
	uint64_t seq = strtoull(key, &end, 10);

	if (!nul || nul == val || *end || !seq) {
		CORE_LOG_W("cwmp", "ignoring malformed event record '%s'", key);
		return 0;
	}
	size_t cl = (size_t)(nul - val);
	ev_entry *x = entry_append(e, seq, val, cl, nul + 1, len - cl - 1);
	if (!x)
		return DM_ERR_NOMEM;
	x->stored = true;
	if (seq >= e->next_seq)
		e->next_seq = seq + 1;
	return 0;
}

static bool lost_at_reboot(const ev_entry *x, const void *arg)
{
	(void)arg;
	return !survives_reboot(x->code);
}

int cwmp_events_open(dm *d, bool after_boot, cwmp_events **out)
{
	cwmp_events *e = calloc(1, sizeof *e);
	dm_txn *t;

	if (!e)
		return DM_ERR_NOMEM;
	e->d = d;
	e->next_seq = 1;
	int rc = dm_txn_begin(d, DM_TXN_READ, NULL, &t);
	if (!rc) {
		rc = dm_state_each(t, STATE_NS, load_record, e);
		dm_txn_abort(t);
	}
	if (!rc && after_boot)
		rc = drop_where(e, lost_at_reboot, NULL);
	if (rc) {
		cwmp_events_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

void cwmp_events_close(cwmp_events *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		entry_free(&e->v[i]);
	free(e->v);
	free(e);
}

/* ---------------------------------------------------------------------------
 * The queue
 * ------------------------------------------------------------------------- */

/* Is this event waiting for an Inform already (not in one in flight)?
 * key NULL: any occurrence of the code; else only one with that key. */
static bool queued_untaken(const cwmp_events *e, const char *code, const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].seq > e->taken && !strcmp(e->v[i].code, code) &&
		    (!key || !strcmp(e->v[i].key ? e->v[i].key : "", key)))
			return true;
	return false;
}

static int add_event(cwmp_events *e, const char *code, const char *command_key, bool once)
{
	if (!e || !code || !*code)
		return DM_ERR_INVALID_ARG;
	if (!command_key)
		command_key = "";
	flush_unsaved(e);
	if (!is_multiple(code) && queued_untaken(e, code, NULL))
		return 0;
	if (once && queued_untaken(e, code, command_key))
		return 0;
	ev_entry *x = entry_append(e, e->next_seq, code, strlen(code), command_key, strlen(command_key));
	if (!x)
		return DM_ERR_NOMEM;
	e->next_seq++;
	if (!survives_reboot(code))
		return 0;
	int rc = store_write(e, x, NULL, 0);
	if (rc) {
		/* kept in memory: losing an M Reboot is worse than a late record */
		x->unsaved = true;
		CORE_LOG_W("cwmp", "event %s not yet durable: %s", code, dm_strerror(rc));
		return rc;
	}
	x->stored = true;
	return 0;
}

int cwmp_events_add(cwmp_events *e, const char *code, const char *command_key)
{
	return add_event(e, code, command_key, false);
}

int cwmp_events_add_once(cwmp_events *e, const char *code, const char *command_key)
{
	return add_event(e, code, command_key, true);
}

bool cwmp_events_has(const cwmp_events *e, const char *code)
{
	for (size_t i = 0; e && code && i < e->n; i++)
		if (!strcmp(e->v[i].code, code))
			return true;
	return false;
}

size_t cwmp_events_count(const cwmp_events *e)
{
	return e ? e->n : 0;
}

static bool listed(const cwmp_event *list, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].code, code))
			return true;
	return false;
}

const cwmp_event *cwmp_events_for_inform(cwmp_events *e, size_t *n, uint64_t *mark)
{
	size_t k = 0;
	uint64_t last = 0;

	flush_unsaved(e);
	for (size_t i = 0; i < e->n; i++) {
		ev_entry *x = &e->v[i];
		/* a single code twice (raised again while an Inform that failed
		 * carried it) goes once; both are delivered with it */
		if (!is_multiple(x->code) && listed(e->inform, k, x->code)) {
			last = x->seq;
			continue;
		}
		if (k == MAX_PER_INFORM)
			break;
		e->inform[k].code = x->code;
		e->inform[k].command_key = x->key;
		k++;
		last = x->seq;
	}
	e->taken = last;
	*n = k;
	*mark = last;
	return e->inform;
}

static bool at_or_before(const ev_entry *x, const void *arg)
{
	return x->seq <= *(const uint64_t *)arg;
}

int cwmp_events_delivered(cwmp_events *e, uint64_t mark)
{
	e->taken = 0;
	return drop_where(e, at_or_before, &mark);
}

static bool lost_on_failure(const ev_entry *x, const void *arg)
{
	(void)arg;
	return !survives_failure(x->code);
}

int cwmp_events_session_failed(cwmp_events *e)
{
	e->taken = 0;
	return drop_where(e, lost_on_failure, NULL);
}

static bool everything(const ev_entry *x, const void *arg)
{
	(void)x;
	(void)arg;
	return true;
}

int cwmp_events_clear(cwmp_events *e)
{
	e->taken = 0;
	return drop_where(e, everything, NULL);
}
