/*
 * subs.c - Device.LocalAgent.Subscription: which changes fire which
 * subscription (TR-369 "Notifications and Subscription Mechanism", TR-181
 * Subscription.{i}.). Building and delivering the Notify is subs_notify.c's
 * job; path patterns are subs_match.c's.
 *
 * An index of the enabled subscriptions, with their ReferenceList entries
 * compiled, is rebuilt after the Subscription or Controller table changes.
 * Every change the engine publishes (whatever its origin, R-NOT.0 note) is
 * matched against the subscriptions of its kind: a linear walk with a
 * literal-prefix reject per entry, plus one table walk per search expression
 * segment that survives the structural match. Values that providers compute
 * never reach the change feed; they are polled, and only those that a
 * ValueChange subscription references.
 *
 * Also here: removal of non-Persistent subscriptions at start, CreationDate
 * and Recipient filled in for new instances, the Recipient reference's
 * delete semantics, the Config trigger action and the OperationComplete
 * entry point. Writes the feed callback wants are queued and run from the
 * loop. TimeToLive, Periodic! and the live-value poll are in subs_time.c.
 */
#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const char SUB_TABLE[] = USP_SUB_TABLE;
static const char CTL_TABLE[] = "Device.LocalAgent.Controller.";
static const char TRUST_TREE[] = "Device.LocalAgent.ControllerTrust.";

#define WORK_RETRY_MS 200 /* the single writer was busy: try again */

/* Who made a change: the Config trigger action's own writes never trigger
 * another Config action, so two subscriptions cannot ping-pong. */
static const dm_origin origin_housekeeping = {DM_ORIGIN_INTERNAL, "usp-subscriptions"};
static const dm_origin origin_config = {DM_ORIGIN_INTERNAL, "usp-subscription-config"};

static const struct {
	const char *name;
	usp_sub_type type;
} notif_types[] = {
	{"ValueChange", USP_SUB_VALUE_CHANGE},   {"ObjectCreation", USP_SUB_OBJ_CREATION},
	{"ObjectDeletion", USP_SUB_OBJ_DELETION}, {"OperationComplete", USP_SUB_OPER_COMPLETE},
	{"Event", USP_SUB_EVENT},
};

static const struct {
	const char *name;
	bool notify, config;
} trigger_actions[] = {
	{"Notify", true, false},
	{"Config", false, true},
	{"NotifyAndConfig", true, true},
};

/* Which subscriptions a change kind can fire. */
static const usp_sub_type type_of_change[] = {
	[DM_CHANGE_VALUE] = USP_SUB_VALUE_CHANGE,
	[DM_CHANGE_ADD] = USP_SUB_OBJ_CREATION,
	[DM_CHANGE_DELETE] = USP_SUB_OBJ_DELETION,
	[DM_CHANGE_EVENT] = USP_SUB_EVENT,
};

static void rebuild(usp_subs *s);

/* ---- small helpers -------------------------------------------------------------- */

/* The loop's clock, refreshed: retry deadlines and the timers that serve
 * them must count from the same instant. */
uint64_t usp_subs_now_ms(usp_subs *s)
{
	uv_loop_t *uv = core_loop_uv(s->loop);
	uv_update_time(uv);
	return uv_now(uv);
}

/* xorshift64*: retry jitter and msg_id prefixes need spread, not secrecy. */
uint64_t usp_subs_random(usp_subs *s)
{
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void usp_subs_read(usp_subs *s, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	if (dm_get_value_buf(s->d, t, path, buf, bufsz, NULL))
		buf[0] = 0;
}

static char *read_alloc(usp_subs *s, dm_txn *t, const char *path)
{
	char *v = NULL;
	if (dm_get_value(s->d, t, path, &v, NULL))
		return strdup("");
	return v;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* TR-106 dateTime to wall-clock seconds; 0 for the unknown times. */
time_t usp_subs_parse_datetime(const char *v)
{
	struct tm tm = {0};
	if (sscanf(v, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6 || tm.tm_year <= 1)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void format_datetime(time_t t, char *buf, size_t bufsz)
{
	dm_datetime((int64_t)t, buf, bufsz);
}

/* "Device.LocalAgent.Controller.1." and ".1" name the same Controller. */
static char *ref_dup(const char *v)
{
	size_t n = strlen(v);
	if (n && v[n - 1] == '.')
		n--;
	return strndup(v, n);
}

/* ---- deferred writes ---------------------------------------------------------------- */

static void work_free(usp_work *w)
{
	free(w->path);
	free(w->value);
	free(w);
}

static void work_run(void *ctx);

void usp_subs_work_push(usp_subs *s, usp_work_kind kind, const char *path, const char *value, bool config)
{
	usp_work *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path)) || (value && !(w->value = strdup(value)))) {
		if (w)
			work_free(w);
		CORE_LOG_W("usp", "subscription housekeeping for %s lost: out of memory", path);
		return;
	}
	w->kind = kind;
	w->config = config;
	*s->work_tail = w;
	s->work_tail = &w->next;
	if (!s->work_timer && core_timer_start(s->loop, 0, 0, work_run, s, &s->work_timer))
		s->work_timer = NULL;
}

/* Delete every Subscription whose Recipient is ctl_ref: Recipient is a
 * strong reference with "delete" semantics (TR-181). */
static void drop_recipient(usp_subs *s, dm_txn *t, const char *ctl_ref)
{
	uint32_t *insts = NULL;
	size_t n = 0;
	if (dm_list_instances(t, SUB_TABLE, &insts, &n, NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		char path[128], val[256];
		snprintf(path, sizeof path, "%s%u.Recipient", SUB_TABLE, insts[i]);
		usp_subs_read(s, t, path, val, sizeof val);
		size_t l = strlen(val);
		if (l && val[l - 1] == '.')
			val[--l] = 0;
		if (!strcmp(val, ctl_ref)) {
			snprintf(path, sizeof path, "%s%u.", SUB_TABLE, insts[i]);
			dm_delete(t, path, NULL);
		}
	}
	free(insts);
}

/* TR-181 Subscription.{i}.Recipient "is automatically populated by the USP
 * Agent upon Subscription object creation using the reference to the USP
 * Controller that created the instance". */
static int fill_recipient(usp_subs *s, dm_txn *t, const char *path, const char *endpoint, dm_errinfo *err)
{
	char cur[256];
	if (dm_get_value_buf(s->d, t, path, cur, sizeof cur, NULL) || cur[0])
		return DM_OK;
	uint32_t *insts = NULL;
	size_t n = 0;
	if (dm_list_instances(t, CTL_TABLE, &insts, &n, NULL))
		return DM_OK;
	int rc = DM_OK;
	for (size_t i = 0; i < n; i++) {
		char p[128], id[USP_ENDPOINT_MAX];
		snprintf(p, sizeof p, "%s%u.EndpointID", CTL_TABLE, insts[i]);
		usp_subs_read(s, t, p, id, sizeof id);
		if (strcmp(id, endpoint))
			continue;
		snprintf(p, sizeof p, "%s%u", CTL_TABLE, insts[i]);
		rc = dm_set(t, path, p, err);
		break;
	}
	free(insts);
	return rc;
}

static void work_apply(usp_subs *s, dm_txn *t, const usp_work *w)
{
	dm_errinfo err = {0};
	int rc = DM_OK;
	char cur[64];
	switch (w->kind) {
	case USP_WORK_SET:
		rc = dm_set(t, w->path, w->value, &err);
		break;
	case USP_WORK_SET_IF_UNSET:
		/* the instance may be gone by now; a time already there stays */
		if (!dm_get_value_buf(s->d, t, w->path, cur, sizeof cur, NULL) && !usp_subs_parse_datetime(cur))
			rc = dm_set(t, w->path, w->value, &err);
		break;
	case USP_WORK_DELETE:
		rc = dm_delete(t, w->path, &err);
		if (rc == DM_ERR_NOT_INSTANTIATED)
			rc = DM_OK;
		break;
	case USP_WORK_DROP_RECIPIENT:
		drop_recipient(s, t, w->path);
		break;
	case USP_WORK_RECIPIENT:
		rc = fill_recipient(s, t, w->path, w->value, &err);
		break;
	}
	if (rc)
		CORE_LOG_W("usp", "subscription %s of %s failed: %s", w->config ? "config action" : "housekeeping",
			   w->path, err.msg[0] ? err.msg : dm_strerror(rc));
}

/* Run the queued writes of one origin in one transaction. */
static int work_commit(usp_subs *s, bool config)
{
	bool any = false;
	for (usp_work *w = s->work; w && !any; w = w->next)
		any = w->config == config;
	if (!any)
		return DM_OK;
	dm_txn *t;
	int rc = dm_txn_begin(s->d, DM_TXN_WRITE, config ? &origin_config : &origin_housekeeping, &t);
	if (rc)
		return rc;
	usp_work **pp = &s->work;
	while (*pp) {
		usp_work *w = *pp;
		if (w->config != config) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		work_apply(s, t, w);
		work_free(w);
	}
	s->work_tail = &s->work;
	for (usp_work *w = s->work; w; w = w->next)
		s->work_tail = &w->next;
	dm_errinfo err = {0};
	if ((rc = dm_txn_commit(t, NULL, &err)))
		CORE_LOG_W("usp", "subscription housekeeping not stored: %s", err.msg);
	return DM_OK;
}

static void work_run(void *ctx)
{
	usp_subs *s = ctx;
	core_timer_stop(s->work_timer);
	s->work_timer = NULL;
	if (work_commit(s, false) || work_commit(s, true)) {
		/* another writer holds the store: come back shortly */
		if (core_timer_start(s->loop, WORK_RETRY_MS, 0, work_run, s, &s->work_timer))
			s->work_timer = NULL;
	}
}

/* ---- the index ------------------------------------------------------------------------ */

static void sub_clear(usp_sub *sub)
{
	core_timer_stop(sub->periodic);
	for (size_t i = 0; i < sub->n_refs; i++)
		usp_pat_free(sub->refs[i]);
	free(sub->refs);
	usp_list_free(sub->del_set, sub->n_del);
	free(sub->id);
	free(sub->recipient);
	free(sub->endpoint);
	free(sub->role_refs);
	free(sub->config_settings);
	memset(sub, 0, sizeof *sub);
}

static void index_free(usp_sub *subs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sub_clear(&subs[i]);
	free(subs);
}

static usp_sub_type parse_type(const char *v)
{
	for (size_t i = 0; i < sizeof notif_types / sizeof notif_types[0]; i++)
		if (!strcmp(v, notif_types[i].name))
			return notif_types[i].type;
	return USP_SUB_NONE;
}

static void parse_action(const char *v, usp_sub *sub)
{
	sub->notify = true; /* the default, and what an unknown value falls back to */
	sub->config = false;
	for (size_t i = 0; i < sizeof trigger_actions / sizeof trigger_actions[0]; i++)
		if (!strcmp(v, trigger_actions[i].name)) {
			sub->notify = trigger_actions[i].notify;
			sub->config = trigger_actions[i].config;
		}
}

static int compile_refs(usp_sub *sub, const char *list)
{
	char **items;
	size_t n;
	int rc = usp_list_split(list, &items, &n);
	if (rc)
		return rc;
	if (n && !(sub->refs = calloc(n, sizeof *sub->refs)))
		rc = DM_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		int prc = usp_pat_compile(items[i], &sub->refs[sub->n_refs]);
		if (prc == DM_ERR_NOMEM)
			rc = prc;
		else if (prc)
			CORE_LOG_W("usp", "Subscription %u: ReferenceList entry \"%s\" ignored", sub->inst, items[i]);
		else
			sub->n_refs++;
	}
	usp_list_free(items, n);
	return rc;
}

/* When the instance expires (TimeToLive from CreationDate), 0 = never. */
time_t usp_subs_expiry(usp_subs *s, dm_txn *t, uint32_t inst)
{
	char path[128], val[64];
	snprintf(path, sizeof path, "%s%u.TimeToLive", SUB_TABLE, inst);
	usp_subs_read(s, t, path, val, sizeof val);
	unsigned long ttl = strtoul(val, NULL, 10);
	if (!ttl)
		return 0;
	snprintf(path, sizeof path, "%s%u.CreationDate", SUB_TABLE, inst);
	usp_subs_read(s, t, path, val, sizeof val);
	time_t created = usp_subs_parse_datetime(val);
	if (!created) {
		/* created behind our back (defaults, a restore): the clock starts now */
		char now[32];
		created = time(NULL);
		format_datetime(created, now, sizeof now);
		usp_subs_work_push(s, USP_WORK_SET_IF_UNSET, path, now, false);
	}
	return created + (time_t)ttl;
}

static void sub_field(usp_subs *s, dm_txn *t, uint32_t inst, const char *name, char *buf, size_t bufsz)
{
	char path[128];
	snprintf(path, sizeof path, "%s%u.%s", SUB_TABLE, inst, name);
	usp_subs_read(s, t, path, buf, bufsz);
}

static char *sub_field_alloc(usp_subs *s, dm_txn *t, uint32_t inst, const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "%s%u.%s", SUB_TABLE, inst, name);
	return read_alloc(s, t, path);
}

static char *endpoint_of(usp_subs *s, dm_txn *t, const char *recipient)
{
	char path[300], id[USP_ENDPOINT_MAX];
	id[0] = 0;
	if (recipient[0]) {
		snprintf(path, sizeof path, "%s.EndpointID", recipient);
		usp_subs_read(s, t, path, id, sizeof id);
	}
	return strdup(id);
}

/* "AssignedRole,InheritedRole" of the Recipient ("" when it has none). */
static char *roles_of(usp_subs *s, dm_txn *t, const char *recipient)
{
	char path[300];
	snprintf(path, sizeof path, "%s.AssignedRole", recipient);
	char *assigned = read_alloc(s, t, path);
	snprintf(path, sizeof path, "%s.InheritedRole", recipient);
	char *inherited = read_alloc(s, t, path);
	char *both = NULL;
	if (assigned && inherited && asprintf(&both, "%s%s%s", assigned, assigned[0] && inherited[0] ? "," : "",
					      inherited) < 0)
		both = NULL;
	free(assigned);
	free(inherited);
	return both;
}

static int load_sub(usp_subs *s, dm_txn *t, uint32_t inst, usp_sub *sub)
{
	char v[128];
	sub->inst = inst;
	sub->owner = s;
	sub_field(s, t, inst, "NotifType", v, sizeof v);
	sub->type = parse_type(v);
	sub_field(s, t, inst, "TriggerAction", v, sizeof v);
	parse_action(v, sub);
	sub_field(s, t, inst, "NotifRetry", v, sizeof v);
	sub->retry = !strcmp(v, "true");
	sub_field(s, t, inst, "NotifExpiration", v, sizeof v);
	sub->expiration = (uint32_t)strtoul(v, NULL, 10);
	char *recipient = sub_field_alloc(s, t, inst, "Recipient");
	sub->recipient = recipient ? ref_dup(recipient) : NULL;
	free(recipient);
	sub->id = sub_field_alloc(s, t, inst, "ID");
	sub->config_settings = sub_field_alloc(s, t, inst, "TriggerConfigSettings");
	char *refs = sub_field_alloc(s, t, inst, "ReferenceList");
	if (!sub->recipient || !sub->id || !sub->config_settings || !refs) {
		free(refs);
		return DM_ERR_NOMEM;
	}
	sub->endpoint = endpoint_of(s, t, sub->recipient);
	sub->role_refs = roles_of(s, t, sub->recipient);
	int rc = sub->endpoint && sub->role_refs ? compile_refs(sub, refs) : DM_ERR_NOMEM;
	free(refs);
	return rc;
}

/* A rebuild after the Recipient Controller was deleted still knows where
 * the final ObjectDeletion goes (TR-181 Controller.{i}.). */
static void carry_over(usp_sub *sub, const usp_sub *old, size_t n_old)
{
	for (size_t i = 0; i < n_old; i++) {
		if (old[i].inst != sub->inst)
			continue;
		if (!sub->endpoint[0] && old[i].endpoint && old[i].endpoint[0] && old[i].recipient &&
		    !strcmp(old[i].recipient, sub->recipient)) {
			char *e = strdup(old[i].endpoint);
			char *r = strdup(old[i].role_refs);
			if (e && r) {
				free(sub->endpoint);
				free(sub->role_refs);
				sub->endpoint = e;
				sub->role_refs = r;
			} else {
				free(e);
				free(r);
			}
		}
		sub->periodic_ref = old[i].periodic_ref;
		return;
	}
}

static bool sub_enabled(usp_subs *s, dm_txn *t, uint32_t inst)
{
	char v[8];
	sub_field(s, t, inst, "Enable", v, sizeof v);
	return !strcmp(v, "true");
}

/* Read every enabled subscription; *next_expiry gets the earliest
 * TimeToLive end of any instance, enabled or not. */
static int index_load(usp_subs *s, dm_txn *t, usp_sub **out, size_t *n_out, time_t *next_expiry)
{
	uint32_t *insts = NULL;
	size_t n = 0;
	*out = NULL;
	*n_out = 0;
	*next_expiry = 0;
	if (dm_list_instances(t, SUB_TABLE, &insts, &n, NULL) || !n) {
		free(insts);
		return DM_OK;
	}
	usp_sub *subs = calloc(n, sizeof *subs);
	if (!subs) {
		free(insts);
		return DM_ERR_NOMEM;
	}
	size_t used = 0;
	int rc = DM_OK;
	for (size_t i = 0; !rc && i < n; i++) {
		time_t exp = usp_subs_expiry(s, t, insts[i]);
		if (exp && (!*next_expiry || exp < *next_expiry))
			*next_expiry = exp;
		if (!sub_enabled(s, t, insts[i]))
			continue;
		rc = load_sub(s, t, insts[i], &subs[used]);
		used++;
	}
	free(insts);
	if (rc) {
		index_free(subs, used);
		return rc;
	}
	*out = subs;
	*n_out = used;
	return DM_OK;
}

/* ---- ObjectDeletion with search expressions ------------------------------------------ */

/*
 * A deleted instance can no longer be searched, so a deletion subscription
 * whose ReferenceList holds a search expression remembers which instances
 * matched before: the set is refreshed from the loop after changes.
 */
static bool needs_del_set(const usp_sub *sub)
{
	if (sub->type != USP_SUB_OBJ_DELETION)
		return false;
	for (size_t i = 0; i < sub->n_refs; i++)
		if (usp_pat_is_dynamic(sub->refs[i]))
			return true;
	return false;
}

typedef struct collect {
	char **items;
	size_t n, cap;
	bool oom;
} collect;

static int collect_path(void *ctx, const dm_item *it)
{
	collect *c = ctx;
	if (c->n == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 8;
		char **ni = realloc(c->items, nc * sizeof *ni);
		if (!ni) {
			c->oom = true;
			return 1;
		}
		c->items = ni;
		c->cap = nc;
	}
	if (!(c->items[c->n] = strdup(it->path))) {
		c->oom = true;
		return 1;
	}
	c->n++;
	return 0;
}

static void refresh_del_sets(usp_subs *s, dm_txn *t)
{
	for (size_t i = 0; i < s->n_subs; i++) {
		usp_sub *sub = &s->subs[i];
		if (!needs_del_set(sub))
			continue;
		collect c = {0};
		for (size_t j = 0; j < sub->n_refs && !c.oom; j++)
			if (usp_pat_is_dynamic(sub->refs[j]))
				dm_resolve(t, DM_GRAMMAR_USP, usp_pat_text(sub->refs[j]), DM_RESOLVE_OBJECTS, 0,
					   collect_path, &c, NULL);
		usp_list_free(sub->del_set, sub->n_del);
		sub->del_set = c.items;
		sub->n_del = c.n;
	}
	s->del_refresh = false;
}

static bool in_del_set(const usp_sub *sub, const char *path)
{
	for (size_t i = 0; i < sub->n_del; i++)
		if (!strcmp(sub->del_set[i], path))
			return true;
	return false;
}

/* ---- matching ------------------------------------------------------------------------- */

bool usp_subs_ref_match(usp_subs *s, const usp_pat *p, const char *path)
{
	return usp_pat_match(p, s->d, NULL, path, usp_pat_is_object(p) ? USP_PAT_PREFIX : USP_PAT_EXACT);
}

/* ObjectCreation/ObjectDeletion name the table ("...AssociatedDevice.") or
 * its instances ("...AssociatedDevice.*."); a change names the instance. */
static bool object_match(usp_subs *s, const usp_sub *sub, const usp_pat *p, const char *inst_path)
{
	if (sub->type == USP_SUB_OBJ_DELETION && usp_pat_is_dynamic(p))
		return in_del_set(sub, inst_path);
	size_t n = strlen(inst_path);
	if (n < 2 || inst_path[n - 1] != '.')
		return false;
	size_t cut = n - 1;
	while (cut && inst_path[cut - 1] != '.')
		cut--;
	char table[1024];
	if (cut >= sizeof table)
		return false;
	memcpy(table, inst_path, cut);
	table[cut] = 0;
	return usp_pat_match(p, s->d, NULL, table, USP_PAT_EXACT) ||
	       usp_pat_match(p, s->d, NULL, inst_path, USP_PAT_EXACT);
}

static bool sub_matches(usp_subs *s, const usp_sub *sub, const char *path)
{
	for (size_t i = 0; i < sub->n_refs; i++) {
		const usp_pat *p = sub->refs[i];
		bool hit = sub->type == USP_SUB_OBJ_CREATION || sub->type == USP_SUB_OBJ_DELETION
				   ? object_match(s, sub, p, path)
				   : usp_subs_ref_match(s, p, path);
		if (hit)
			return true;
	}
	return false;
}

/* TriggerConfigSettings: "Path=Value" items, string values quoted. */
static void queue_config(usp_subs *s, const usp_sub *sub)
{
	char **items;
	size_t n;
	if (usp_list_split(sub->config_settings, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(items[i], '=');
		if (!eq) {
			CORE_LOG_W("usp", "Subscription %u: TriggerConfigSettings item \"%s\" ignored", sub->inst,
				   items[i]);
			continue;
		}
		*eq = 0;
		char *v = eq + 1;
		size_t l = strlen(v);
		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v[l - 1] = 0;
			v++;
		}
		usp_subs_work_push(s, USP_WORK_SET, items[i], v, true);
	}
	usp_list_free(items, n);
}

static void fire(usp_subs *s, const usp_sub *sub, const usp_event *ev, const usp_oper_done *op,
		 const dm_origin *origin)
{
	if (sub->notify) {
		if (op)
			usp_subs_notify_oper(s, sub, op);
		else
			usp_subs_notify(s, sub, ev);
	}
	bool own = origin && origin->who && !strcmp(origin->who, origin_config.who);
	if (sub->config && sub->config_settings[0] && !own)
		queue_config(s, sub);
}

const dm_view *usp_subs_view(const usp_subs *s)
{
	return s->a ? usp_agent_options(s->a)->view : NULL;
}

/* The schema node of an instantiated path: instance numbers become "{i}". */
static const dm_node *schema_node(usp_subs *s, const char *path)
{
	char buf[1024];
	size_t w = 0;
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '.');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		bool number = n && strspn(p, "0123456789") == n;
		const char *seg = number ? "{i}" : p;
		size_t sl = number ? 3 : n;
		if (w + sl + 2 > sizeof buf)
			return NULL;
		memcpy(buf + w, seg, sl);
		w += sl;
		if (e)
			buf[w++] = '.';
		p = e ? e + 1 : p + n;
	}
	buf[w] = 0;
	return dm_schema_find(dm_get_schema(s->d), buf);
}

/* GetSupportedDM tells Controllers which parameters ValueChange ignores;
 * the same rule applies here (usp_value_change_ignored). */
static bool value_ignored(usp_subs *s, const char *path)
{
	char stored[1024];
	if (dm_view_store(usp_subs_view(s), path, stored, sizeof stored) != 1)
		return false;
	const dm_node *n = schema_node(s, stored);
	return n && usp_value_change_ignored(n);
}

int usp_subs_read_txn(usp_subs *s, dm_txn **t)
{
	int rc = dm_txn_begin(s->d, DM_TXN_READ, NULL, t);
	if (!rc)
		dm_txn_set_view(*t, usp_subs_view(s));
	return rc;
}

/* Which of the event's names the subscription matches: NULL for none. */
static const char *matched_name(usp_subs *s, const usp_sub *sub, const usp_event *ev)
{
	if (sub_matches(s, sub, ev->path))
		return ev->path;
	if (ev->alt_path && sub_matches(s, sub, ev->alt_path))
		return ev->alt_path;
	return NULL;
}

/* A send may commit (an MTP writing its status) and so re-enter the feed
 * callback: while busy, the index is left alone and rebuilt from the loop. */
void usp_subs_dispatch(usp_subs *s, const usp_event *ev, const dm_origin *origin)
{
	if ((size_t)ev->kind >= sizeof type_of_change / sizeof type_of_change[0])
		return;
	usp_sub_type want = type_of_change[ev->kind];
	int ignored = -1; /* decided on the first match only */
	s->busy++;
	for (size_t i = 0; i < s->n_subs; i++) {
		const usp_sub *sub = &s->subs[i];
		const char *name = sub->type == want ? matched_name(s, sub, ev) : NULL;
		if (!name)
			continue;
		if (want == USP_SUB_VALUE_CHANGE && ignored < 0)
			ignored = value_ignored(s, ev->path);
		if (ignored == 1)
			break;
		usp_event named = *ev; /* notified by the name subscribed to */
		named.path = name;
		fire(s, sub, &named, NULL, origin);
	}
	s->busy--;
}

/* ---- rebuild ------------------------------------------------------------------------------ */

static void rebuild(usp_subs *s)
{
	if (s->busy) {
		usp_subs_schedule_rebuild(s);
		return;
	}
	s->dirty = false;
	dm_txn *t;
	if (usp_subs_read_txn(s, &t))
		return;
	usp_sub *subs = NULL;
	size_t n = 0;
	time_t next_expiry = 0;
	int rc = index_load(s, t, &subs, &n, &next_expiry);
	if (rc) {
		dm_txn_abort(t);
		CORE_LOG_E("usp", "subscriptions not reloaded: %s", dm_strerror(rc));
		return;
	}
	for (size_t i = 0; i < n; i++)
		carry_over(&subs[i], s->subs, s->n_subs);
	index_free(s->subs, s->n_subs);
	s->subs = subs;
	s->n_subs = n;
	refresh_del_sets(s, t);
	dm_txn_abort(t);
	usp_subs_ttl_arm(s, next_expiry);
	usp_subs_periodic_arm_all(s);
	usp_subs_live_arm(s);
	CORE_LOG_D("usp", "%zu enabled subscriptions", s->n_subs);
}

void usp_subs_rebuild(usp_subs *s)
{
	rebuild(s);
}

static void rebuild_run(void *ctx)
{
	usp_subs *s = ctx;
	core_timer_stop(s->rebuild_timer);
	s->rebuild_timer = NULL;
	if (s->dirty) {
		rebuild(s);
	} else if (s->del_refresh) {
		dm_txn *t;
		if (!usp_subs_read_txn(s, &t)) {
			refresh_del_sets(s, t);
			dm_txn_abort(t);
		}
	}
}

void usp_subs_schedule_rebuild(usp_subs *s)
{
	if (!s->rebuild_timer && core_timer_start(s->loop, 0, 0, rebuild_run, s, &s->rebuild_timer))
		s->rebuild_timer = NULL;
}

static void mark_dirty(usp_subs *s, uint64_t txn_id)
{
	if (!s->dirty)
		s->dirty_txn = txn_id;
	s->dirty = true;
	usp_subs_schedule_rebuild(s);
}

/* ---- the change feed ---------------------------------------------------------------------- */

/* "Device.LocalAgent.Controller.3." exactly: a Controller instance. */
static bool is_controller_instance(const char *path)
{
	size_t l = sizeof CTL_TABLE - 1;
	if (!starts_with(path, CTL_TABLE))
		return false;
	const char *p = path + l;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == '.' && !p[1];
}

/* Changes to the tables this module reads its own configuration from. */
static void watch(usp_subs *s, const dm_change *c)
{
	if (starts_with(c->path, SUB_TABLE)) {
		mark_dirty(s, c->txn_id);
		if (c->kind == DM_CHANGE_ADD) {
			char path[160], now[32];
			snprintf(path, sizeof path, "%sCreationDate", c->path);
			format_datetime(time(NULL), now, sizeof now);
			usp_subs_work_push(s, USP_WORK_SET_IF_UNSET, path, now, false);
			if (c->origin && c->origin->kind == DM_ORIGIN_USP && c->origin->who) {
				snprintf(path, sizeof path, "%sRecipient", c->path);
				usp_subs_work_push(s, USP_WORK_RECIPIENT, path, c->origin->who, false);
			}
		}
	} else if (starts_with(c->path, CTL_TABLE)) {
		mark_dirty(s, c->txn_id);
		usp_trust_cache_drop(s->trust);
		if (c->kind == DM_CHANGE_DELETE && is_controller_instance(c->path)) {
			char *ref = ref_dup(c->path);
			if (ref)
				usp_subs_work_push(s, USP_WORK_DROP_RECIPIENT, ref, NULL, false);
			free(ref);
		}
	} else if (starts_with(c->path, TRUST_TREE)) {
		usp_trust_cache_drop(s->trust);
	}
	if (c->kind != DM_CHANGE_EVENT && !s->del_refresh) {
		for (size_t i = 0; i < s->n_subs; i++)
			if (needs_del_set(&s->subs[i])) {
				s->del_refresh = true;
				usp_subs_schedule_rebuild(s);
				break;
			}
	}
}

/*
 * The names Controllers know a stored path by (mapping/views.h): the one
 * the view shows, and the stored name too when the view also serves it
 * as itself. false when the view hides it: nothing is notified.
 */
static bool visible_names(usp_subs *s, const char *stored, char *shown, size_t n, usp_event *ev)
{
	const dm_view *v = usp_subs_view(s);
	char back[1024];
	ev->path = stored;
	ev->alt_path = NULL;
	if (!v)
		return true;
	bool native = dm_view_store(v, stored, back, sizeof back) == 1 && !strcmp(back, stored);
	if (dm_view_show(v, stored, shown, n) != 1)
		return native;
	ev->path = shown;
	if (native && strcmp(shown, stored))
		ev->alt_path = stored;
	return true;
}

static void on_change(void *ctx, const dm_change *c)
{
	usp_subs *s = ctx;
	char shown[1024];
	usp_event ev = {
		.kind = c->kind,
		.value = c->new_value,
		.args = c->args,
		.n_args = c->n_args,
	};
	bool visible = visible_names(s, c->path, shown, sizeof shown, &ev);
	if (visible && c->kind == DM_CHANGE_VALUE)
		usp_subs_live_seen(s, ev.path, c->new_value);
	/* a later transaction sees the subscriptions an earlier one made */
	if (s->dirty && c->txn_id != s->dirty_txn)
		rebuild(s);
	if (visible)
		usp_subs_dispatch(s, &ev, c->origin);
	watch(s, c);
}

/* ---- start and stop ------------------------------------------------------------------------- */

/*
 * At start every non-Persistent subscription goes (TR-181 Subscription.{i}.
 * Persistent), as does any whose TimeToLive ran out while we were down.
 * This runs before the feed subscription: nobody is told of a restart's
 * clean-up.
 */
static int purge_at_start(usp_subs *s)
{
	dm_txn *t;
	int rc = dm_txn_begin(s->d, DM_TXN_WRITE, &origin_housekeeping, &t);
	if (rc)
		return rc;
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_list_instances(t, SUB_TABLE, &insts, &n, NULL);
	time_t now = time(NULL);
	unsigned dropped = 0;
	for (size_t i = 0; i < n; i++) {
		char v[8], path[128];
		sub_field(s, t, insts[i], "Persistent", v, sizeof v);
		time_t exp = usp_subs_expiry(s, t, insts[i]);
		if (!strcmp(v, "true") && (!exp || exp > now))
			continue;
		snprintf(path, sizeof path, "%s%u.", SUB_TABLE, insts[i]);
		if (!dm_delete(t, path, NULL))
			dropped++;
	}
	free(insts);
	dm_errinfo err = {0};
	if ((rc = dm_txn_commit(t, NULL, &err)))
		return rc;
	if (dropped)
		CORE_LOG_I("usp", "%u non-persistent or expired subscriptions removed at start", dropped);
	return DM_OK;
}

static void seed(usp_subs *s)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
	s->rng = r ? r : 0x9E3779B97F4A7C15ULL;
	snprintf(s->msg_prefix, sizeof s->msg_prefix, "notify-%08x", (unsigned)(usp_subs_random(s) >> 32));
}

static int default_send(void *ctx, const char *to, const Usp__Msg *msg)
{
	return usp_send_msg(ctx, to, msg);
}

int usp_subs_start(usp_agent *a, usp_subs **out)
{
	*out = NULL;
	usp_subs *s = calloc(1, sizeof *s);
	if (!s)
		return DM_ERR_NOMEM;
	s->a = a;
	s->d = usp_agent_dm(a);
	s->loop = usp_agent_loop(a);
	const usp_options *o = usp_agent_options(a);
	s->poll_ms = o && o->live_poll_ms ? o->live_poll_ms : 10000;
	s->send = default_send;
	s->send_ctx = a;
	s->work_tail = &s->work;
	seed(s);
	int rc = usp_trust_cache_new(s->d, s->loop, &s->trust);
	if (rc) {
		free(s);
		return rc;
	}
	s->have_table = dm_schema_find(dm_get_schema(s->d), "Device.LocalAgent.Subscription.{i}.") != NULL;
	if (s->have_table && (rc = purge_at_start(s)))
		CORE_LOG_W("usp", "stale subscriptions not removed: %s", dm_strerror(rc));
	if ((rc = dm_subscribe(s->d, on_change, s, &s->feed))) {
		usp_subs_stop(s);
		return rc;
	}
	if (s->have_table)
		rebuild(s);
	*out = s;
	return DM_OK;
}

void usp_subs_stop(usp_subs *s)
{
	if (!s)
		return;
	if (s->feed)
		dm_unsubscribe(s->d, s->feed);
	core_timer_stop(s->rebuild_timer);
	core_timer_stop(s->work_timer);
	usp_subs_time_stop(s);
	while (s->work) {
		usp_work *w = s->work;
		s->work = w->next;
		work_free(w);
	}
	index_free(s->subs, s->n_subs);
	usp_subs_pending_free_all(s);
	usp_trust_cache_free(s->trust);
	free(s);
}

void usp_subs_set_sender(usp_subs *s, usp_subs_send_fn fn, void *ctx)
{
	if (!s)
		return;
	s->send = fn ? fn : default_send;
	s->send_ctx = fn ? ctx : s->a;
}

void usp_subs_controller_up(usp_subs *s, const char *endpoint_id)
{
	if (s && endpoint_id)
		usp_subs_pending_kick(s, endpoint_id);
}

/* ---- OperationComplete ---------------------------------------------------------------------- */

/* Engine errors map through the error table; a handler may already give a
 * USP code; anything else is a plain command failure. */
static uint32_t oper_code(int code)
{
	if (code == 0)
		return 0;
	if (code < 0)
		return usp_err_code(code, USP_OP_OPERATE);
	return code >= 7000 ? (uint32_t)code : USP_ERR_COMMAND_FAILURE;
}

/*
 * Every Controller whose OperationComplete subscription references the
 * command (or an object above it) hears of the completion, not only the
 * requester (TR-369 "Asynchronous Operations").
 */
void usp_subs_operation_complete(usp_subs *s, const char *requester, const char *cmd_path,
				 const char *command_key, int code, const char *err_msg, const dm_arg *out,
				 size_t n_out)
{
	if (!s || !cmd_path)
		return;
	if (s->dirty)
		rebuild(s);
	usp_oper_done op = {
		.cmd_path = cmd_path,
		.command_key = command_key ? command_key : "",
		.err_code = oper_code(code),
		.err_msg = err_msg ? err_msg : "",
		.out = out,
		.n_out = n_out,
	};
	if (op.err_code && !err_msg)
		op.err_msg = usp_err_text(op.err_code);
	CORE_LOG_D("usp", "%s completed (%u) for %s", cmd_path, op.err_code, requester ? requester : "?");
	s->busy++;
	for (size_t i = 0; i < s->n_subs; i++) {
		const usp_sub *sub = &s->subs[i];
		if (sub->type == USP_SUB_OPER_COMPLETE && sub_matches(s, sub, cmd_path))
			fire(s, sub, NULL, &op, NULL);
	}
	s->busy--;
}
